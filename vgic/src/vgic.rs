//! [`Vgic`]: one VM's virtual GIC. Its distributor is a [`gic_model::Gic`]
//! (the guest's GICD, reached through trapped accesses); delivery goes
//! through the driver's [`VirtualInterface`] on the physical CPU that runs
//! each vCPU. The rules it keeps are in the [crate docs](crate).

use gic_driver::bus::RegisterBus;
use gic_driver::regs::bit_per_irq;
use gic_driver::regs::gicd::{offset, CTLR};
use gic_driver::virt::{Injection, ListRegister, LrState, VirtualInterface};
use gic_driver::{Group, IntId, Priority};
use gic_model::{Config, Frame, Gic, IntIdSet, Width, MAX_CPUS};
use heapless::Vec;

use crate::trap::AccessWidth;
use crate::{Error, Stats};

/// Most forwarded (HW = 1) interrupts a [`Vgic`] holds.
pub const MAX_FORWARDED: usize = 16;

/// The shape of a VM's virtual GIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VgicConfig {
    /// vCPUs, 1-8 (GICD_TYPER.CPUNumber + 1).
    pub vcpus: u8,
    /// Interrupt lines including SGIs and PPIs, 32-1024 in multiples of 32
    /// (GICD_TYPER.ITLinesNumber).
    pub lines: u32,
}

impl Default for VgicConfig {
    /// One vCPU and QEMU virt's 288 lines.
    fn default() -> Self {
        VgicConfig {
            vcpus: 1,
            lines: 288,
        }
    }
}

/// A physical interrupt forwarded to a vCPU with HW = 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Forwarded {
    vcpu: u8,
    virtual_id: u32,
    physical_id: u32,
    /// The physical interrupt is active in the physical GIC (taken at EL2
    /// and not yet deactivated by the guest or by the hypervisor).
    physical_active: bool,
}

/// What a trapped GICD write asks of the hypervisor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct WriteEffects {
    /// Forwarded physical interrupts to deactivate now (GICC_DIR or
    /// GICD_ICACTIVER on the physical GIC): the guest cleared the pending
    /// or active state of their virtual interrupts with GICD_ICPENDR or
    /// GICD_ICACTIVER, so no guest EOI will deactivate them.
    pub deactivate: Vec<IntId, MAX_FORWARDED>,
    /// vCPUs (one bit each) for which the write made an interrupt pending
    /// that they may need to take: kick them if they are running.
    pub kick: u8,
}

/// What [`Vgic::flush`] put in front of the guest.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Flush {
    /// Interrupts written into list registers.
    pub listed: u8,
    /// Of those, active interrupts listed again so the guest can
    /// deactivate them.
    pub relisted_active: u8,
    /// A pending interrupt had to wait in the driver's queue: a refill
    /// maintenance interrupt (GICH_HCR.NPIE or UIE) is armed.
    pub refill_armed: bool,
}

/// Per-vCPU bookkeeping of what is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct VcpuState {
    /// Interrupts whose state a list register or the driver's queue owns.
    listed: IntIdSet,
    /// Level-sensitive interrupts listed while their GICD_ISPENDR latch
    /// was set: the latch goes back if the guest has not taken them.
    latched: IntIdSet,
    /// SPIs this vCPU has acknowledged, or set active through
    /// GICD_ISACTIVER, and not deactivated.
    active_spis: IntIdSet,
    /// For each SGI active on this vCPU, the source the guest acknowledged.
    active_sgi_source: [u8; 16],
}

/// One VM's virtual GIC: the guest's distributor (a model of GICD,
/// served through [`read`](Self::read) and [`write`](Self::write) from
/// trapped accesses) and the synchronisation with the list registers of
/// the physical CPU running each vCPU ([`flush`](Self::flush) before entry,
/// [`fold`](Self::fold) after exit). See the [crate docs](crate).
#[derive(Debug, Clone)]
pub struct Vgic {
    dist: Gic,
    vcpus: [VcpuState; MAX_CPUS],
    forwarded: Vec<Forwarded, MAX_FORWARDED>,
    stats: Stats,
}

/// Virtual priorities have the list registers' five bits (GICH_LRn.Priority).
const VIRTUAL_PRIORITY_BITS: u8 = 5;

impl Vgic {
    /// A virtual GIC in its reset state: distributor disabled, every
    /// interrupt disabled, inactive and not pending.
    pub fn new(config: VgicConfig) -> Result<Vgic, Error> {
        let dist = Gic::new(Config {
            cpus: config.vcpus,
            lines: config.lines,
            priority_bits: VIRTUAL_PRIORITY_BITS,
            virtualization: None,
        })
        .map_err(Error::Config)?;
        Ok(Vgic {
            dist,
            vcpus: [VcpuState::default(); MAX_CPUS],
            forwarded: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// The guest's distributor, for inspection (pending, active, enabled,
    /// priorities). Listed interrupts' state is in the list registers.
    pub fn distributor(&self) -> &Gic {
        &self.dist
    }

    /// Counts of what the virtual GIC has done.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The interrupts whose state `vcpu`'s list registers or the driver's
    /// queue own (between [`flush`](Self::flush) and [`fold`](Self::fold));
    /// empty after a fold, and for a vCPU that does not exist.
    pub fn listed(&self, vcpu: u8) -> IntIdSet {
        self.vcpus
            .get(vcpu as usize)
            .filter(|_| vcpu < self.vcpus())
            .map_or(IntIdSet::EMPTY, |s| s.listed)
    }

    /// Number of vCPUs.
    pub fn vcpus(&self) -> u8 {
        self.dist.config().cpus
    }

    fn check_vcpu(&self, vcpu: u8) -> Result<usize, Error> {
        if vcpu < self.vcpus() {
            Ok(vcpu as usize)
        } else {
            Err(Error::InvalidVcpu(vcpu))
        }
    }

    // ---------------------------------------------------------------
    // The guest's GICD
    // ---------------------------------------------------------------

    /// A trapped guest read of its GICD at `offset` by `vcpu`. Byte reads
    /// are served where the architecture allows them (IPRIORITYR,
    /// ITARGETSR, CPENDSGIR, SPENDSGIR) and words everywhere; halfword and
    /// doubleword accesses, and unknown or reserved offsets, read as zero
    /// (IHI 0048B 4.1.4). Call it after [`fold`](Self::fold), so listed
    /// interrupts read their true state. Never panics.
    pub fn read(&mut self, vcpu: u8, offset: usize, width: AccessWidth) -> u32 {
        self.stats.gicd_reads += 1;
        match model_width(width) {
            Some(w) if vcpu < self.vcpus() => self.dist.read(Frame::Gicd, vcpu, offset, w),
            _ => {
                self.stats.unsupported_accesses += 1;
                0
            }
        }
    }

    /// A trapped guest write of its GICD at `offset` by `vcpu` (widths as
    /// for [`read`](Self::read); unsupported ones are ignored). Call it
    /// after [`fold`](Self::fold) and before [`flush`](Self::flush).
    /// Returns the forwarded physical interrupts the hypervisor must now
    /// deactivate, and the vCPUs to kick. Never panics.
    pub fn write(
        &mut self,
        vcpu: u8,
        offset: usize,
        width: AccessWidth,
        value: u32,
    ) -> WriteEffects {
        self.stats.gicd_writes += 1;
        let mut effects = WriteEffects::default();
        let Some(w) = model_width(width).filter(|_| vcpu < self.vcpus()) else {
            self.stats.unsupported_accesses += 1;
            return effects;
        };
        let before = self.pending_mask();
        // A GICD_ISACTIVER word of SPIs, and what was active in it.
        let spi_active_word = offset
            .checked_sub(offset::ISACTIVER)
            .map(|o| o / 4)
            .filter(|n| (1..32).contains(n))
            .map(|n| (n, self.dist.active_word(vcpu, n)));
        self.dist.write(Frame::Gicd, vcpu, offset, w, value);
        self.forget_inactive_spis();
        if let Some((n, was)) = spi_active_word {
            let now = self.dist.active_word(vcpu, n);
            self.adopt_spis_set_active(vcpu, n, now & !was);
        }
        for f in self.forwarded.iter_mut() {
            if f.physical_active
                && !self.dist.is_pending(f.vcpu, f.virtual_id)
                && !self.dist.is_active(f.vcpu, f.virtual_id)
            {
                f.physical_active = false;
                if let Ok(id) = IntId::new(f.physical_id) {
                    // At most one entry per forwarded interrupt: never full.
                    let _ = effects.deactivate.push(id);
                }
            }
        }
        effects.kick = self.pending_mask() & !before;
        effects
    }

    /// Drives the input line of an emulated device's PPI (`vcpu`'s) or SPI:
    /// a rising edge latches an edge-triggered interrupt; a level-sensitive
    /// one is pending while the line is high. Returns the vCPUs to kick.
    pub fn set_line(&mut self, vcpu: u8, intid: IntId, level: bool) -> Result<u8, Error> {
        self.check_vcpu(vcpu)?;
        if self.forwarded_index(vcpu, intid.get()).is_some() {
            return Err(Error::Forwarded(intid.get()));
        }
        let before = self.pending_mask();
        self.dist
            .set_line(vcpu, intid.get(), level)
            .map_err(Error::Model)?;
        Ok(self.pending_mask() & !before)
    }

    /// One bit per vCPU with an interrupt the distributor would forward to
    /// it that is not listed yet.
    fn pending_mask(&self) -> u8 {
        (0..self.vcpus()).fold(0, |m, v| m | (self.has_pending(v) as u8) << v)
    }

    /// Whether `vcpu` has an interrupt pending in the distributor that is
    /// not yet listed (enabled, its group enabled in GICD_CTLR, targeted at
    /// it): a vCPU waiting in WFI should wake.
    pub fn has_pending(&self, vcpu: u8) -> bool {
        self.vcpus
            .get(vcpu as usize)
            .is_some_and(|s| self.dist.highest_pending_except(vcpu, &s.listed).is_some())
    }

    /// SPIs of word `n` that `vcpu` made active through GICD_ISACTIVER
    /// (bits `set`) become its own to list, as if it had acknowledged
    /// them, so that its EOI or GICV_DIR can deactivate them (the virtual
    /// CPU interface deactivates only what a list register holds). An SPI
    /// another vCPU already holds stays with it.
    fn adopt_spis_set_active(&mut self, vcpu: u8, n: usize, set: u32) {
        for bit in (0..32).filter(|b| set & (1 << b) != 0) {
            let id = n as u32 * 32 + bit;
            let held = self
                .vcpus
                .iter()
                .any(|s| s.active_spis.contains(id) || s.listed.contains(id));
            if let Some(s) = self.vcpus.get_mut(vcpu as usize).filter(|_| !held) {
                s.active_spis.insert(id);
            }
        }
    }

    /// SPIs a guest deactivated through GICD_ICACTIVER are no longer any
    /// vCPU's to re-list.
    fn forget_inactive_spis(&mut self) {
        for v in 0..self.vcpus() {
            let Some(state) = self.vcpus.get_mut(v as usize) else {
                continue;
            };
            let dist = &self.dist;
            let gone: IntIdSet = state
                .active_spis
                .iter()
                .filter(|&id| !dist.is_active(v, id))
                .fold(IntIdSet::EMPTY, |mut s, id| {
                    s.insert(id);
                    s
                });
            for id in gone.iter() {
                state.active_spis.remove(id);
            }
        }
    }

    // ---------------------------------------------------------------
    // Forwarded physical interrupts (HW = 1)
    // ---------------------------------------------------------------

    /// Forwards physical interrupt `physical_id` to `vcpu` as `virtual_id`
    /// (a PPI is `vcpu`'s own; an SPI may be given to one vCPU). Its
    /// virtual state is then driven by [`physical_fired`](Self::physical_fired)
    /// instead of a line, and the guest's EOI deactivates the physical
    /// interrupt (GICH_LRn.HW = 1).
    pub fn forward(
        &mut self,
        vcpu: u8,
        virtual_id: IntId,
        physical_id: IntId,
    ) -> Result<(), Error> {
        self.check_vcpu(vcpu)?;
        if virtual_id.is_sgi() || physical_id.is_sgi() || virtual_id.is_special() {
            return Err(Error::Driver(gic_driver::Error::IsAnSgi(virtual_id.get())));
        }
        if virtual_id.get() >= self.dist.config().implemented_intids() {
            return Err(Error::Driver(gic_driver::Error::IntIdNotImplemented {
                intid: virtual_id.get(),
                lines: self.dist.config().lines,
            }));
        }
        if self.forwarded_index(vcpu, virtual_id.get()).is_some() {
            return Err(Error::Forwarded(virtual_id.get()));
        }
        self.forwarded
            .push(Forwarded {
                vcpu,
                virtual_id: virtual_id.get(),
                physical_id: physical_id.get(),
                physical_active: false,
            })
            .map_err(|_| Error::TooManyForwarded)
    }

    fn forwarded_index(&self, vcpu: u8, virtual_id: u32) -> Option<usize> {
        self.forwarded
            .iter()
            .position(|f| f.virtual_id == virtual_id && (f.vcpu == vcpu || virtual_id >= 32))
    }

    /// The hypervisor took forwarded physical interrupt `physical_id` at
    /// EL2 on the CPU running `vcpu` and left it active (split EOI: priority
    /// dropped, not deactivated): its virtual interrupt becomes pending.
    /// Returns the virtual INTID.
    pub fn physical_fired(&mut self, vcpu: u8, physical_id: IntId) -> Result<IntId, Error> {
        self.check_vcpu(vcpu)?;
        let f = self
            .forwarded
            .iter_mut()
            .find(|f| f.physical_id == physical_id.get() && (f.vcpu == vcpu || f.virtual_id >= 32))
            .ok_or(Error::NotForwarded(physical_id.get()))?;
        f.physical_active = true;
        let (owner, id) = (f.vcpu, f.virtual_id);
        self.stats.forwarded += 1;
        write_one(&mut self.dist, owner, offset::ISPENDR, id);
        IntId::new(id).map_err(Error::Driver)
    }

    fn forwarded_physical(&self, vcpu: u8, virtual_id: u32) -> Option<IntId> {
        self.forwarded_index(vcpu, virtual_id)
            .and_then(|i| self.forwarded.get(i))
            .and_then(|f| IntId::new(f.physical_id).ok())
    }

    fn physical_deactivated(&mut self, vcpu: u8, virtual_id: u32) {
        if let Some(i) = self.forwarded_index(vcpu, virtual_id) {
            if let Some(f) = self.forwarded.get_mut(i) {
                f.physical_active = false;
            }
        }
    }

    // ---------------------------------------------------------------
    // Synchronisation with the list registers
    // ---------------------------------------------------------------

    /// On every guest exit of `vcpu`, before its traps are served: takes
    /// every interrupt back from `vif`'s list registers and queue
    /// ([`VirtualInterface::drain`]) into the distributor, with the state
    /// the guest left it in (see the [crate docs](crate)). A
    /// level-sensitive interrupt the guest completed whose line is still
    /// high is pending again. Costs 1 read and 1 write per list register
    /// in use (+1 GICH_HCR write when the last flush armed a refill).
    pub fn fold<B: RegisterBus, const Q: usize>(
        &mut self,
        vcpu: u8,
        vif: &mut VirtualInterface<B, Q>,
    ) -> Result<(), Error> {
        let v = self.check_vcpu(vcpu)?;
        let mut taken: Vec<ListRegister, 128> = Vec::new();
        vif.drain(|lr| {
            // 64 list registers and a queue of up to 64: never full.
            let _ = taken.push(lr);
        })
        .map_err(Error::Driver)?;
        self.stats.folds += 1;
        for lr in taken.iter() {
            // The driver may hold back the pending half of a pending+active
            // interrupt in its queue while its list register stays active:
            // that pending entry does not end the active state.
            let active_elsewhere = taken.iter().any(|o| {
                o.virtual_id() == lr.virtual_id()
                    && o.source_cpu() == lr.source_cpu()
                    && matches!(o.state(), LrState::Active | LrState::PendingActive)
            });
            self.give_back(vcpu, v, *lr, active_elsewhere);
        }
        Ok(())
    }

    /// Moves the state `lr` holds back into the distributor.
    /// `active_elsewhere`: another entry of the same interrupt taken back
    /// with it is active (a held-back pair), so a pending-only `lr` leaves
    /// the interrupt active on `vcpu`.
    fn give_back(&mut self, vcpu: u8, v: usize, lr: ListRegister, active_elsewhere: bool) {
        let id = lr.virtual_id().get();
        let state = lr.state();
        let pending = matches!(state, LrState::Pending | LrState::PendingActive);
        let active = matches!(state, LrState::Active | LrState::PendingActive);
        let hw = lr.physical_id().is_some();
        let edge = hw || self.dist.is_edge_triggered(vcpu, id);
        let Some(s) = self.vcpus.get_mut(v) else {
            return;
        };
        s.listed.remove(id);
        let was_latched = s.latched.contains(id);
        s.latched.remove(id);
        if pending && (edge || was_latched) {
            match lr.source_cpu() {
                Some(src) => set_sgi_source(&mut self.dist, vcpu, id, src),
                None => write_one(&mut self.dist, vcpu, offset::ISPENDR, id),
            }
        }
        if active {
            write_one(&mut self.dist, vcpu, offset::ISACTIVER, id);
            if let Some(s) = self.vcpus.get_mut(v) {
                if id >= 32 {
                    s.active_spis.insert(id);
                } else if let (Some(src), Some(slot)) =
                    (lr.source_cpu(), s.active_sgi_source.get_mut(id as usize))
                {
                    *slot = src;
                }
            }
        } else {
            if let Some(s) = self.vcpus.get_mut(v).filter(|_| !active_elsewhere) {
                s.active_spis.remove(id);
            }
            if state == LrState::Invalid {
                self.stats.completed += 1;
                if hw {
                    // The guest's EOI deactivated the physical interrupt (5.4.2).
                    self.physical_deactivated(vcpu, id);
                }
            }
        }
    }

    /// Before every guest entry of `vcpu`: lists in `vif` first the
    /// interrupts active on `vcpu` (so the guest can deactivate them),
    /// then the most urgent pending ones the distributor forwards to it, in
    /// priority order, taking their state out of the distributor. When
    /// more are pending than list registers are free, one waits in the
    /// driver's queue and the driver arms a refill maintenance interrupt,
    /// whose exit brings the rest. Costs 1 write per interrupt listed (+1
    /// GICH_ELRSR read and 1 GICH_HCR write when a refill is armed).
    ///
    /// Active interrupts beyond the list registers (a guest that set more
    /// active with GICD_ISACTIVER, or nests deeper) wait, active, in the
    /// distributor, where GICD_ICACTIVER clears them; a guest EOI of one
    /// finds no list register (GICH_HCR.EOICount counts it) and leaves it
    /// active.
    pub fn flush<B: RegisterBus, const Q: usize>(
        &mut self,
        vcpu: u8,
        vif: &mut VirtualInterface<B, Q>,
    ) -> Result<Flush, Error> {
        let v = self.check_vcpu(vcpu)?;
        let mut out = Flush::default();
        self.stats.flushes += 1;
        // Active interrupts first: banked ones from the distributor, SPIs
        // this vCPU acknowledged or set active.
        let Some(s) = self.vcpus.get(v) else {
            return Ok(out);
        };
        let mut active = s.active_spis;
        let banked = self.dist.active_word(vcpu, 0);
        for id in (0..32).filter(|id| banked & (1 << id) != 0) {
            active.insert(id);
        }
        for id in active.iter() {
            if self.vcpus.get(v).is_some_and(|s| s.listed.contains(id)) {
                continue;
            }
            let lr = self.active_list_register(vcpu, v, id)?;
            match vif.list(lr) {
                Ok(_) => {
                    out.listed += 1;
                    out.relisted_active += 1;
                }
                // More active interrupts than list registers: this one and
                // the rest wait, active, in the distributor. Its state goes
                // back there (it was taken out for the list register).
                Err(gic_driver::Error::NoFreeListRegister) => {
                    self.give_back(vcpu, v, lr, false);
                    break;
                }
                Err(e) => {
                    self.give_back(vcpu, v, lr, false);
                    return Err(Error::Driver(e));
                }
            }
        }
        // Then pending interrupts, most urgent first.
        while let Some(c) = self
            .vcpus
            .get(v)
            .and_then(|s| self.dist.highest_pending_except(vcpu, &s.listed))
        {
            let lr = self.take_pending(vcpu, v, c.intid, c.source, c.priority, c.group1)?;
            match vif.inject(lr) {
                Ok(Injection::Queued) => {
                    out.refill_armed = true;
                    break;
                }
                Ok(_) => out.listed += 1,
                Err(e) => {
                    // Nothing was placed: give the state back.
                    self.give_back(vcpu, v, lr, false);
                    return Err(Error::Driver(e));
                }
            }
        }
        self.stats.listed += out.listed as u64;
        Ok(out)
    }

    /// The list register for interrupt `id`, active on `vcpu`; takes its
    /// active state (and, for an edge-triggered HW = 0 interrupt, a pending
    /// latch: pending+active) out of the distributor.
    fn active_list_register(&mut self, vcpu: u8, v: usize, id: u32) -> Result<ListRegister, Error> {
        let intid = IntId::new(id).map_err(Error::Driver)?;
        let priority = Priority(self.dist.priority(vcpu, id).unwrap_or(0));
        let group = group(self.dist.is_group1(vcpu, id));
        let edge = self.dist.is_edge_triggered(vcpu, id);
        let s = self.vcpus.get(v).ok_or(Error::InvalidVcpu(vcpu))?;
        let source = s.active_sgi_source.get(id as usize).copied().unwrap_or(0);
        let mut lr = match self.forwarded_physical(vcpu, id) {
            Some(pid) => ListRegister::hardware(intid, pid, priority, group),
            None => ListRegister::software(intid, priority, group),
        }
        .map_err(Error::Driver)?
        .with_state(LrState::Active);
        let hw = lr.physical_id().is_some();
        // A pending state moves into the list register (pending+active)
        // only if the distributor would forward it: otherwise the guest
        // would take it after its EOI, disabled (GICD_ICENABLER) or with
        // its group off (GICD_CTLR). It then stays in the distributor,
        // and a later flush lists it once it is forwarded again.
        let forwarded = self.forwards(vcpu, id);
        write_one(&mut self.dist, vcpu, offset::ICACTIVER, id);
        if !hw {
            if id < 16 {
                lr = lr.with_source_cpu(source).map_err(Error::Driver)?;
                if forwarded && self.dist.sgi_sources(vcpu, id) & (1 << source) != 0 {
                    clear_sgi_source(&mut self.dist, vcpu, id, source);
                    lr = lr.with_state(LrState::PendingActive);
                }
                if self.dist.sgi_sources(vcpu, id) != 0 {
                    lr = lr.with_eoi_maintenance();
                }
            } else if edge {
                if forwarded && self.dist.is_pending(vcpu, id) {
                    write_one(&mut self.dist, vcpu, offset::ICPENDR, id);
                    lr = lr.with_state(LrState::PendingActive);
                }
            } else {
                // Level-sensitive: re-sample on EOI.
                lr = lr.with_eoi_maintenance();
            }
        }
        // HW = 1: never pending+active (the physical distributor holds the
        // pending state of a forwarded interrupt). A pending state the guest
        // set with GICD_ISPENDR while it was active stays in the
        // distributor, and the first flush after the guest's EOI lists it
        // (a HW = 1 completion raises no maintenance interrupt).
        if let Some(s) = self.vcpus.get_mut(v) {
            s.listed.insert(id);
            s.active_spis.remove(id);
        }
        Ok(lr)
    }

    /// Whether the distributor forwards `id` to `vcpu` when it is pending
    /// and inactive (IHI 0048B 3.2.2): enabled (GICD_ISENABLER), its group
    /// enabled (GICD_CTLR), and for an SPI targeted at `vcpu`
    /// (GICD_ITARGETSR; every SPI with one vCPU).
    fn forwards(&mut self, vcpu: u8, id: u32) -> bool {
        let ctlr = self.dist.read(Frame::Gicd, vcpu, offset::CTLR, Width::Word);
        let group = if self.dist.is_group1(vcpu, id) {
            CTLR::EnableGrp1.is_set(ctlr)
        } else {
            CTLR::EnableGrp0.is_set(ctlr)
        };
        let targeted = id < 32
            || self.vcpus() == 1
            || self.dist.read(
                Frame::Gicd,
                vcpu,
                offset::ITARGETSR + id as usize,
                Width::Byte,
            ) & (1 << vcpu)
                != 0;
        group && targeted && self.dist.is_enabled(vcpu, id)
    }

    /// The list register for pending interrupt `id` on `vcpu`; takes its
    /// pending state out of the distributor and marks it listed.
    fn take_pending(
        &mut self,
        vcpu: u8,
        v: usize,
        id: u32,
        source: Option<u8>,
        priority: u8,
        group1: bool,
    ) -> Result<ListRegister, Error> {
        let intid = IntId::new(id).map_err(Error::Driver)?;
        let physical = self.forwarded_physical(vcpu, id);
        let edge = physical.is_some() || self.dist.is_edge_triggered(vcpu, id);
        let mut lr = match physical {
            Some(pid) => ListRegister::hardware(intid, pid, Priority(priority), group(group1)),
            None => ListRegister::software(intid, Priority(priority), group(group1)),
        }
        .map_err(Error::Driver)?;
        let mut latched = false;
        match source {
            Some(src) => {
                lr = lr.with_source_cpu(src).map_err(Error::Driver)?;
                clear_sgi_source(&mut self.dist, vcpu, id, src);
                if self.dist.sgi_sources(vcpu, id) != 0 {
                    lr = lr.with_eoi_maintenance();
                }
            }
            None if edge => write_one(&mut self.dist, vcpu, offset::ICPENDR, id),
            None => {
                // Level-sensitive: the latch (if GICD_ISPENDR set one) moves;
                // the line stays an input, re-sampled after the EOI.
                latched = self.dist.is_latched(vcpu, id);
                if latched {
                    write_one(&mut self.dist, vcpu, offset::ICPENDR, id);
                }
                lr = lr.with_eoi_maintenance();
            }
        }
        let s = self.vcpus.get_mut(v).ok_or(Error::InvalidVcpu(vcpu))?;
        s.listed.insert(id);
        if latched {
            s.latched.insert(id);
        }
        Ok(lr)
    }
}

/// The model's access width for a guest access, if GICD allows it.
fn model_width(width: AccessWidth) -> Option<Width> {
    match width {
        AccessWidth::Byte => Some(Width::Byte),
        AccessWidth::Word => Some(Width::Word),
        AccessWidth::Halfword | AccessWidth::Doubleword => None,
    }
}

fn group(group1: bool) -> Group {
    if group1 {
        Group::Group1
    } else {
        Group::Group0
    }
}

/// Writes 1 to the bit of `id` in the set-or-clear register array at
/// `base` (GICD_ISPENDR, ICPENDR, ISACTIVER, ICACTIVER), as `vcpu`.
fn write_one(dist: &mut Gic, vcpu: u8, base: usize, id: u32) {
    let (offset, bit) = bit_per_irq(base, id);
    dist.write(Frame::Gicd, vcpu, offset, Width::Word, bit);
}

/// Writes 1 to SGI `sgi`'s bit for `source` in the per-source byte array
/// at `base` (GICD_SPENDSGIR sets it, GICD_CPENDSGIR clears it), as `vcpu`.
fn write_sgi_source(dist: &mut Gic, vcpu: u8, base: usize, sgi: u32, source: u8) {
    dist.write(
        Frame::Gicd,
        vcpu,
        base + sgi as usize,
        Width::Byte,
        1 << (source % 8),
    );
}

/// Sets SGI `sgi`'s pending bit from `source` on `vcpu` (GICD_SPENDSGIR).
fn set_sgi_source(dist: &mut Gic, vcpu: u8, sgi: u32, source: u8) {
    write_sgi_source(dist, vcpu, offset::SPENDSGIR, sgi, source)
}

/// Clears SGI `sgi`'s pending bit from `source` on `vcpu` (GICD_CPENDSGIR).
fn clear_sgi_source(dist: &mut Gic, vcpu: u8, sgi: u32, source: u8) {
    write_sgi_source(dist, vcpu, offset::CPENDSGIR, sgi, source)
}
