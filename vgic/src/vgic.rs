//! [`Vgic`]: one VM's virtual GIC. Its distributor is a [`gic_model::Gic`]
//! (the guest's GICD, reached through trapped accesses); delivery goes
//! through the driver's [`VirtualInterface`] on the physical CPU that runs
//! each vCPU. The rules it keeps are in the [crate docs](crate).
//!
//! The distributor and every vCPU's bookkeeping sit behind one
//! test-and-set spin lock ([`Inner`]); beside it, per vCPU, two atomic flags let a fold or
//! flush with nothing to move skip the lock (see the crate docs, "Several
//! vCPUs").

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use gic_driver::bus::RegisterBus;
use gic_driver::regs::bit_per_irq;
use gic_driver::regs::gicd::{offset, CTLR};
use gic_driver::virt::{Injection, ListRegister, LrState, VirtualInterface};
use gic_driver::{Group, IntId, Priority};
use gic_model::{Config, Frame, Gic, IntIdSet, Width, MAX_CPUS};
use heapless::Vec;
use spin::mutex::SpinMutex;

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
    /// vCPUs (bit n = vCPU n) that gained work: an interrupt became
    /// pending for them (or more urgent than what they had), or the write
    /// changed an interrupt they have listed. Kick those that are running
    /// (a physical SGI to their CPU, so that they exit); wake those
    /// waiting in WFI. The writer's own bit needs nothing: its flush
    /// follows.
    pub kick: u8,
}

/// What [`Vgic::fold`] asks of the hypervisor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Fold {
    /// Other vCPUs (bit n = vCPU n) that gained work from what this fold
    /// gave back: an SPI the folding vCPU had listed, still pending, that
    /// targets them (retargeted, or 1-of-N) and is theirs to take now.
    /// Kick or wake them as for [`WriteEffects::kick`].
    pub kick: u8,
    /// Forwarded physical interrupts to deactivate now (GICC_DIR or
    /// GICD_ICACTIVER): another vCPU cleared, through GICD_ICPENDR or
    /// GICD_ICACTIVER, the state of their virtual interrupt while this
    /// vCPU had it listed, so no guest EOI will deactivate them.
    pub deactivate: Vec<IntId, MAX_FORWARDED>,
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

/// Per-vCPU bookkeeping of what is listed. Kept under the lock with the
/// distributor: a GICD write by one vCPU must see what another has listed.
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
    /// Listed interrupts whose list register was written pending (the
    /// state as of the last flush, less what other vCPUs cleared since):
    /// what GICD_ISPENDR reads of them.
    listed_pending: IntIdSet,
    /// Listed interrupts whose list register was written active: what
    /// GICD_ISACTIVER reads of them.
    listed_active: IntIdSet,
    /// Listed interrupts whose pending state another vCPU cleared
    /// (GICD_ICPENDR): the next fold drops the pending state their list
    /// registers hold.
    pending_cleared: IntIdSet,
    /// Listed interrupts whose active state another vCPU cleared
    /// (GICD_ICACTIVER): the next fold drops their active state.
    active_cleared: IntIdSet,
}

/// A vCPU's most urgent interrupt that its flush would list: INTID,
/// source (SGIs), priority.
type Best = Option<(u32, Option<u8>, u8)>;

/// The state behind the lock: the distributor and every vCPU's
/// bookkeeping.
#[derive(Debug, Clone)]
struct Inner {
    dist: Gic,
    vcpus: [VcpuState; MAX_CPUS],
    forwarded: Vec<Forwarded, MAX_FORWARDED>,
    /// Counts, except folds and flushes (counted per vCPU, lock-free).
    stats: Stats,
}

/// What each vCPU keeps outside the lock.
#[derive(Debug, Default)]
struct VcpuFlags {
    /// The distributor may hold something this vCPU's flush would list
    /// (pending for it, or active on it and not listed). Set, under the
    /// lock, by every operation that could give it work; recomputed, under
    /// the lock, by its own flush. Clear: its flush takes no lock.
    work: AtomicBool,
    /// Its list registers or the driver's queue hold something. Written
    /// only by its own flush and fold. Clear: its fold takes no lock.
    listed: AtomicBool,
    /// Folds and flushes, written only by the vCPU's own fold and flush
    /// (a load and a store, no atomic read-modify-write).
    folds: AtomicU64,
    flushes: AtomicU64,
}

impl VcpuFlags {
    fn count(counter: &AtomicU64) {
        counter.store(
            counter.load(Ordering::Relaxed).wrapping_add(1),
            Ordering::Relaxed,
        );
    }
}

/// One VM's virtual GIC: the guest's distributor (a model of GICD,
/// served through [`read`](Self::read) and [`write`](Self::write) from
/// trapped accesses) and the synchronisation with the list registers of
/// the physical CPU running each vCPU ([`flush`](Self::flush) before entry,
/// [`fold`](Self::fold) after exit).
///
/// `Vgic` is `Sync`: every method takes `&self`, so the CPUs running the
/// vCPUs share one (a `static`, or a reference). The distributor state is
/// behind a spin (test-and-set) lock; what takes it is in the [crate
/// docs](crate), "Several vCPUs".
#[derive(Debug)]
pub struct Vgic {
    vcpus: u8,
    inner: SpinMutex<Inner>,
    flags: [VcpuFlags; MAX_CPUS],
}

impl Clone for Vgic {
    /// A copy of the whole state (takes the lock).
    fn clone(&self) -> Self {
        let inner = self.inner.lock().clone();
        Vgic {
            vcpus: self.vcpus,
            inner: SpinMutex::new(inner),
            flags: core::array::from_fn(|v| {
                let f = self.flags.get(v);
                let load = |a: Option<&AtomicBool>| a.is_some_and(|a| a.load(Ordering::Acquire));
                let count = |a: Option<&AtomicU64>| a.map_or(0, |a| a.load(Ordering::Relaxed));
                VcpuFlags {
                    work: AtomicBool::new(load(f.map(|f| &f.work))),
                    listed: AtomicBool::new(load(f.map(|f| &f.listed))),
                    folds: AtomicU64::new(count(f.map(|f| &f.folds))),
                    flushes: AtomicU64::new(count(f.map(|f| &f.flushes))),
                }
            }),
        }
    }
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
            vcpus: config.vcpus,
            inner: SpinMutex::new(Inner {
                dist,
                vcpus: [VcpuState::default(); MAX_CPUS],
                forwarded: Vec::new(),
                stats: Stats::default(),
            }),
            flags: core::array::from_fn(|_| VcpuFlags::default()),
        })
    }

    /// A copy of the guest's distributor as it is now, for inspection
    /// (pending, active, enabled, priorities). Listed interrupts' state is
    /// in the list registers. Takes the lock.
    pub fn distributor(&self) -> Gic {
        self.inner.lock().dist.clone()
    }

    /// Counts of what the virtual GIC has done. Takes the lock.
    pub fn stats(&self) -> Stats {
        let mut stats = self.inner.lock().stats;
        for f in self.flags.iter().take(self.vcpus as usize) {
            stats.folds += f.folds.load(Ordering::Relaxed);
            stats.flushes += f.flushes.load(Ordering::Relaxed);
        }
        stats
    }

    /// The interrupts whose state `vcpu`'s list registers or the driver's
    /// queue own (between [`flush`](Self::flush) and [`fold`](Self::fold));
    /// empty after a fold, and for a vCPU that does not exist. Takes the
    /// lock.
    pub fn listed(&self, vcpu: u8) -> IntIdSet {
        if vcpu >= self.vcpus {
            return IntIdSet::EMPTY;
        }
        self.inner
            .lock()
            .vcpus
            .get(vcpu as usize)
            .map_or(IntIdSet::EMPTY, |s| s.listed)
    }

    /// Number of vCPUs.
    pub fn vcpus(&self) -> u8 {
        self.vcpus
    }

    fn check_vcpu(&self, vcpu: u8) -> Result<usize, Error> {
        if vcpu < self.vcpus {
            Ok(vcpu as usize)
        } else {
            Err(Error::InvalidVcpu(vcpu))
        }
    }

    /// Marks every vCPU with something to list as having work, from the
    /// state `inner` is in (under the lock). Never clears a flag: only a
    /// vCPU's own flush does.
    fn publish(&self, inner: &Inner, best: &[Best; MAX_CPUS]) {
        for (v, f) in self.flags.iter().enumerate().take(self.vcpus as usize) {
            let v8 = v as u8;
            if best.get(v).is_some_and(Option::is_some) || inner.unlisted_active(v8) {
                f.work.store(true, Ordering::Release);
            }
        }
    }

    // ---------------------------------------------------------------
    // The guest's GICD
    // ---------------------------------------------------------------

    /// A trapped guest read of its GICD at `offset` by `vcpu`. Byte reads
    /// are served where the architecture allows them (IPRIORITYR,
    /// ITARGETSR, CPENDSGIR, SPENDSGIR) and words everywhere; halfword and
    /// doubleword accesses, and unknown or reserved offsets, read as zero
    /// (IHI 0048B 4.1.4). Call it after [`fold`](Self::fold), so the
    /// reader's own listed interrupts read their true state; an SPI
    /// another vCPU has listed reads (GICD_ISPENDR, ISACTIVER and their
    /// clear twins) as that vCPU's list register was written at its last
    /// entry, with the changes other vCPUs made since. Takes the lock.
    /// Never panics.
    pub fn read(&self, vcpu: u8, offset: usize, width: AccessWidth) -> u32 {
        let mut inner = self.inner.lock();
        inner.stats.gicd_reads += 1;
        match model_width(width) {
            Some(w) if vcpu < self.vcpus => inner.read(vcpu, offset, w),
            _ => {
                inner.stats.unsupported_accesses += 1;
                0
            }
        }
    }

    /// A trapped guest write of its GICD at `offset` by `vcpu` (widths as
    /// for [`read`](Self::read); unsupported ones are ignored). Call it
    /// after [`fold`](Self::fold) and before [`flush`](Self::flush).
    /// Returns the forwarded physical interrupts the hypervisor must now
    /// deactivate, and the vCPUs to kick. A change to an interrupt another
    /// vCPU has listed takes effect as the crate docs say ("Several
    /// vCPUs"). Takes the lock. Never panics.
    pub fn write(&self, vcpu: u8, offset: usize, width: AccessWidth, value: u32) -> WriteEffects {
        let mut inner = self.inner.lock();
        inner.stats.gicd_writes += 1;
        let Some(w) = model_width(width).filter(|_| vcpu < self.vcpus) else {
            inner.stats.unsupported_accesses += 1;
            return WriteEffects::default();
        };
        let (effects, best) = inner.write(vcpu, offset, w, value);
        self.publish(&inner, &best);
        effects
    }

    /// Drives the input line of an emulated device's PPI (`vcpu`'s) or SPI:
    /// a rising edge latches an edge-triggered interrupt; a level-sensitive
    /// one is pending while the line is high. Returns the vCPUs to kick
    /// (as [`WriteEffects::kick`]). Takes the lock.
    pub fn set_line(&self, vcpu: u8, intid: IntId, level: bool) -> Result<u8, Error> {
        self.check_vcpu(vcpu)?;
        let mut inner = self.inner.lock();
        let (kick, best) = inner.set_line(vcpu, intid, level)?;
        self.publish(&inner, &best);
        Ok(kick)
    }

    /// Whether `vcpu` has an interrupt pending in the distributor that its
    /// flush would list (enabled, its group enabled in GICD_CTLR, targeted
    /// at it, not listed by any vCPU): a vCPU waiting in WFI should wake.
    /// Call it after the vCPU's fold (its WFI exit), so that what its list
    /// registers held is counted. Takes the lock.
    pub fn has_pending(&self, vcpu: u8) -> bool {
        vcpu < self.vcpus && self.inner.lock().best(vcpu).is_some()
    }

    // ---------------------------------------------------------------
    // Forwarded physical interrupts (HW = 1)
    // ---------------------------------------------------------------

    /// Forwards physical interrupt `physical_id` to `vcpu` as `virtual_id`
    /// (a PPI is `vcpu`'s own; an SPI may be given to one vCPU). Its
    /// virtual state is then driven by [`physical_fired`](Self::physical_fired)
    /// instead of a line, and the guest's EOI deactivates the physical
    /// interrupt (GICH_LRn.HW = 1). Takes the lock.
    pub fn forward(&self, vcpu: u8, virtual_id: IntId, physical_id: IntId) -> Result<(), Error> {
        self.check_vcpu(vcpu)?;
        self.inner.lock().forward(vcpu, virtual_id, physical_id)
    }

    /// The hypervisor took forwarded physical interrupt `physical_id` at
    /// EL2 on the CPU running `vcpu` and left it active (split EOI: priority
    /// dropped, not deactivated): its virtual interrupt becomes pending.
    /// Returns the vCPUs to kick (as [`WriteEffects::kick`]; a forwarded SPI
    /// may target a vCPU other than `vcpu`). Takes the lock.
    pub fn physical_fired(&self, vcpu: u8, physical_id: IntId) -> Result<u8, Error> {
        self.check_vcpu(vcpu)?;
        let mut inner = self.inner.lock();
        let (kick, best) = inner.physical_fired(vcpu, physical_id)?;
        self.publish(&inner, &best);
        Ok(kick)
    }

    // ---------------------------------------------------------------
    // Synchronisation with the list registers
    // ---------------------------------------------------------------

    /// On every guest exit of `vcpu`, before its traps are served: takes
    /// every interrupt back from `vif`'s list registers and queue
    /// ([`VirtualInterface::drain`]) into the distributor, with the state
    /// the guest left it in (see the [crate docs](crate)), less what other
    /// vCPUs cleared meanwhile. A level-sensitive interrupt the guest
    /// completed whose line is still high is pending again. Costs 1 read
    /// and 1 write per list register in use (+1 GICH_HCR write when the
    /// last flush armed a refill).
    ///
    /// With nothing listed (and `vif` holding nothing) it touches neither
    /// `vif` nor the lock. Otherwise it drains `vif` without the lock, then
    /// takes the lock to give the state back. Returns the other vCPUs to
    /// kick and the physical interrupts to deactivate.
    pub fn fold<B: RegisterBus, const Q: usize>(
        &self,
        vcpu: u8,
        vif: &mut VirtualInterface<B, Q>,
    ) -> Result<Fold, Error> {
        let v = self.check_vcpu(vcpu)?;
        let flags = self.flags.get(v).ok_or(Error::InvalidVcpu(vcpu))?;
        VcpuFlags::count(&flags.folds);
        if !flags.listed.load(Ordering::Acquire) && vif.in_use() == 0 && vif.queued_len() == 0 {
            return Ok(Fold::default());
        }
        let mut taken: Vec<ListRegister, 128> = Vec::new();
        vif.drain(|lr| {
            // 64 list registers and a queue of up to 64: never full.
            let _ = taken.push(lr);
        })
        .map_err(Error::Driver)?;
        let mut inner = self.inner.lock();
        inner.stats.locked_folds += 1;
        let (out, best) = inner.fold(vcpu, v, &taken);
        flags.listed.store(false, Ordering::Release);
        self.publish(&inner, &best);
        Ok(out)
    }

    /// Before every guest entry of `vcpu`: lists in `vif` first the
    /// interrupts active on `vcpu` (so the guest can deactivate them),
    /// then the most urgent pending ones the distributor forwards to it
    /// (and no other vCPU has listed), in priority order, taking their
    /// state out of the distributor. When more are pending than list
    /// registers are free, one waits in the driver's queue and the driver
    /// arms a refill maintenance interrupt, whose exit brings the rest.
    /// Costs 1 write per interrupt listed (+1 GICH_ELRSR read and 1
    /// GICH_HCR write when a refill is armed).
    ///
    /// Active interrupts beyond the list registers (a guest that set more
    /// active with GICD_ISACTIVER, or nests deeper) wait, active, in the
    /// distributor, where GICD_ICACTIVER clears them; a guest EOI of one
    /// finds no list register (GICH_HCR.EOICount counts it) and leaves it
    /// active.
    ///
    /// When nothing has given `vcpu` work since its last flush it returns
    /// at once, touching neither `vif` nor the lock; otherwise it holds the
    /// lock while it writes the list registers.
    pub fn flush<B: RegisterBus, const Q: usize>(
        &self,
        vcpu: u8,
        vif: &mut VirtualInterface<B, Q>,
    ) -> Result<Flush, Error> {
        let v = self.check_vcpu(vcpu)?;
        let flags = self.flags.get(v).ok_or(Error::InvalidVcpu(vcpu))?;
        VcpuFlags::count(&flags.flushes);
        if !flags.work.load(Ordering::Acquire) {
            return Ok(Flush::default());
        }
        let mut inner = self.inner.lock();
        inner.stats.locked_flushes += 1;
        let result = inner.flush(vcpu, v, vif);
        if let Ok(out) = &result {
            inner.stats.listed += out.listed as u64;
        }
        let listed = inner.vcpus.get(v).is_some_and(|s| !s.listed.is_empty());
        flags.listed.store(listed, Ordering::Release);
        flags.work.store(inner.has_work(vcpu), Ordering::Release);
        result
    }
}

impl Inner {
    fn vcpus(&self) -> u8 {
        self.dist.config().cpus
    }

    /// Every SPI some vCPU has listed: no other vCPU lists it, or takes
    /// its pending state, until that vCPU's fold gives it back.
    fn spis_listed(&self) -> IntIdSet {
        let mut all = IntIdSet::EMPTY;
        for s in self.vcpus.iter().take(self.vcpus() as usize) {
            for id in s.listed.iter().filter(|&id| id >= 32) {
                all.insert(id);
            }
        }
        all
    }

    /// What `vcpu`'s flush must not list: its own listed interrupts and
    /// every SPI listed anywhere.
    fn exclusion(&self, vcpu: u8) -> IntIdSet {
        let mut e = self.spis_listed();
        if let Some(s) = self.vcpus.get(vcpu as usize) {
            for id in s.listed.iter() {
                e.insert(id);
            }
        }
        e
    }

    /// `vcpu`'s most urgent interrupt that its flush would list.
    fn best(&self, vcpu: u8) -> Best {
        self.dist
            .highest_pending_except(vcpu, &self.exclusion(vcpu))
            .map(|p| (p.intid, p.source, p.priority))
    }

    /// [`best`](Self::best) of every vCPU.
    fn bests(&self) -> [Best; MAX_CPUS] {
        let spis = self.spis_listed();
        core::array::from_fn(|v| {
            let s = self.vcpus.get(v).filter(|_| v < self.vcpus() as usize)?;
            let mut e = spis;
            for id in s.listed.iter() {
                e.insert(id);
            }
            self.dist
                .highest_pending_except(v as u8, &e)
                .map(|p| (p.intid, p.source, p.priority))
        })
    }

    /// Whether an interrupt is active on `vcpu` (its banked ones, SPIs it
    /// acknowledged) without being listed: its flush lists it.
    fn unlisted_active(&self, vcpu: u8) -> bool {
        let Some(s) = self.vcpus.get(vcpu as usize) else {
            return false;
        };
        let banked = self.dist.active_word(vcpu, 0) & !s.listed.word(0);
        banked != 0 || s.active_spis.iter().any(|id| !s.listed.contains(id))
    }

    /// Whether `vcpu`'s flush has anything to list.
    fn has_work(&self, vcpu: u8) -> bool {
        self.best(vcpu).is_some() || self.unlisted_active(vcpu)
    }

    fn read(&mut self, vcpu: u8, off: usize, w: Width) -> u32 {
        let mut value = self.dist.read(Frame::Gicd, vcpu, off, w);
        if w != Width::Word || !off.is_multiple_of(4) {
            return value;
        }
        // SPI words of the pending and active arrays: add what other
        // vCPUs' list registers hold.
        let word_in = |base: usize| {
            off.checked_sub(base)
                .map(|o| o / 4)
                .filter(|n| (1..32).contains(n))
        };
        let n = self.vcpus() as usize;
        if let Some(word) = word_in(offset::ISPENDR).or_else(|| word_in(offset::ICPENDR)) {
            for s in self.vcpus.iter().take(n) {
                value |= s.listed_pending.word(word);
            }
        }
        if let Some(word) = word_in(offset::ISACTIVER).or_else(|| word_in(offset::ICACTIVER)) {
            for s in self.vcpus.iter().take(n) {
                value |= s.listed_active.word(word);
            }
        }
        value
    }

    /// Notes, for every vCPU that has listed one of the interrupts `t`
    /// names, that it must exit (its bit in the result) and, for a
    /// GICD_ICPENDR or GICD_ICACTIVER, which state its next fold drops.
    /// Banked INTIDs are the writer's (`vcpu`) only; an SGI of GICD_SGIR
    /// is its targets'.
    fn note_listed(&mut self, vcpu: u8, t: &Touched) -> u8 {
        let mut kick = 0;
        let n = self.vcpus() as usize;
        for (v, s) in self.vcpus.iter_mut().enumerate().take(n) {
            if s.listed.is_empty() {
                continue;
            }
            let mut hit = t.all;
            if let Some((sgi, targets)) = t.sgi {
                hit |= targets & (1 << v) != 0 && s.listed.contains(sgi);
            }
            for id in t.ids.iter() {
                if (id < 32 && v != vcpu as usize) || !s.listed.contains(id) {
                    continue;
                }
                hit = true;
                match t.change {
                    Change::ClearPending => {
                        s.pending_cleared.insert(id);
                        s.latched.remove(id);
                        s.listed_pending.remove(id);
                    }
                    Change::ClearActive => {
                        s.active_cleared.insert(id);
                        s.listed_active.remove(id);
                    }
                    Change::Other => {}
                }
                if t.change != Change::Other && v != vcpu as usize {
                    self.stats.deferred += 1;
                }
            }
            if hit {
                kick |= 1 << v;
            }
        }
        kick
    }

    fn write(
        &mut self,
        vcpu: u8,
        off: usize,
        w: Width,
        value: u32,
    ) -> (WriteEffects, [Best; MAX_CPUS]) {
        let mut effects = WriteEffects::default();
        let before = self.bests();
        let t = touched(vcpu, self.vcpus(), off, w, value);
        let listed_kick = self.note_listed(vcpu, &t);
        // A GICD_ISACTIVER word of SPIs, and what was active in it.
        let spi_active_word = off
            .checked_sub(offset::ISACTIVER)
            .filter(|o| o.is_multiple_of(4))
            .map(|o| o / 4)
            .filter(|n| (1..32).contains(n))
            .map(|n| (n, self.dist.active_word(vcpu, n)));
        self.dist.write(Frame::Gicd, vcpu, off, w, value);
        self.forget_inactive_spis();
        if let Some((n, was)) = spi_active_word {
            let now = self.dist.active_word(vcpu, n);
            self.adopt_spis_set_active(vcpu, n, now & !was);
        }
        // A forwarded interrupt some vCPU has listed is that vCPU's fold's
        // to deactivate (its list register holds the state).
        let mut listed = IntIdSet::EMPTY;
        for s in self.vcpus.iter() {
            for id in s.listed.iter() {
                listed.insert(id);
            }
        }
        for f in self.forwarded.iter_mut() {
            if f.physical_active
                && !listed.contains(f.virtual_id)
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
        let after = self.bests();
        effects.kick = listed_kick | gained(&before, &after);
        (effects, after)
    }

    fn set_line(
        &mut self,
        vcpu: u8,
        intid: IntId,
        level: bool,
    ) -> Result<(u8, [Best; MAX_CPUS]), Error> {
        if self.forwarded_index(vcpu, intid.get()).is_some() {
            return Err(Error::Forwarded(intid.get()));
        }
        let before = self.bests();
        self.dist
            .set_line(vcpu, intid.get(), level)
            .map_err(Error::Model)?;
        let mut ids = IntIdSet::EMPTY;
        ids.insert(intid.get());
        let listed_kick = self.note_listed(
            vcpu,
            &Touched {
                ids,
                ..Touched::NONE
            },
        );
        let after = self.bests();
        Ok((listed_kick | gained(&before, &after), after))
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

    fn forward(&mut self, vcpu: u8, virtual_id: IntId, physical_id: IntId) -> Result<(), Error> {
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

    fn physical_fired(
        &mut self,
        vcpu: u8,
        physical_id: IntId,
    ) -> Result<(u8, [Best; MAX_CPUS]), Error> {
        let before = self.bests();
        let f = self
            .forwarded
            .iter_mut()
            .find(|f| f.physical_id == physical_id.get() && (f.vcpu == vcpu || f.virtual_id >= 32))
            .ok_or(Error::NotForwarded(physical_id.get()))?;
        f.physical_active = true;
        let (owner, id) = (f.vcpu, f.virtual_id);
        self.stats.forwarded += 1;
        write_one(&mut self.dist, owner, offset::ISPENDR, id);
        let mut ids = IntIdSet::EMPTY;
        ids.insert(id);
        let listed_kick = self.note_listed(
            owner,
            &Touched {
                ids,
                ..Touched::NONE
            },
        );
        let after = self.bests();
        Ok((listed_kick | gained(&before, &after), after))
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

    /// Gives back everything `vcpu`'s fold took from its list registers
    /// and queue; forgets what other vCPUs changed meanwhile once applied.
    fn fold(&mut self, vcpu: u8, v: usize, taken: &[ListRegister]) -> (Fold, [Best; MAX_CPUS]) {
        let before = self.bests();
        let mut out = Fold::default();
        for lr in taken.iter() {
            // The driver may hold back the pending half of a pending+active
            // interrupt in its queue while its list register stays active:
            // that pending entry does not end the active state.
            let active_elsewhere = taken.iter().any(|o| {
                o.virtual_id() == lr.virtual_id()
                    && o.source_cpu() == lr.source_cpu()
                    && matches!(o.state(), LrState::Active | LrState::PendingActive)
            });
            if let Some(pid) = self.give_back(vcpu, v, *lr, active_elsewhere) {
                if !out.deactivate.contains(&pid) {
                    // At most one entry per forwarded interrupt: never full.
                    let _ = out.deactivate.push(pid);
                }
            }
        }
        if let Some(s) = self.vcpus.get_mut(v) {
            s.listed = IntIdSet::EMPTY;
            s.latched = IntIdSet::EMPTY;
            s.listed_pending = IntIdSet::EMPTY;
            s.listed_active = IntIdSet::EMPTY;
            s.pending_cleared = IntIdSet::EMPTY;
            s.active_cleared = IntIdSet::EMPTY;
        }
        let after = self.bests();
        out.kick = gained(&before, &after) & !(1 << v);
        (out, after)
    }

    /// Moves the state `lr` holds back into the distributor, less what
    /// other vCPUs cleared while it was listed. `active_elsewhere`: another
    /// entry of the same interrupt taken back with it is active (a
    /// held-back pair), so a pending-only `lr` leaves the interrupt active
    /// on `vcpu`. Returns the physical interrupt to deactivate when a
    /// cleared state was a forwarded one's last.
    fn give_back(
        &mut self,
        vcpu: u8,
        v: usize,
        lr: ListRegister,
        active_elsewhere: bool,
    ) -> Option<IntId> {
        let id = lr.virtual_id().get();
        let state = lr.state();
        let mut pending = matches!(state, LrState::Pending | LrState::PendingActive);
        let mut active = matches!(state, LrState::Active | LrState::PendingActive);
        let held = pending || active;
        let hw = lr.physical_id().is_some();
        let edge = hw || self.dist.is_edge_triggered(vcpu, id);
        let s = self.vcpus.get_mut(v)?;
        if s.pending_cleared.contains(id) {
            pending = false;
        }
        if s.active_cleared.contains(id) {
            active = false;
        }
        // A forwarded interrupt whose whole virtual state another vCPU
        // cleared: no guest EOI will deactivate its physical interrupt.
        let deactivate = (hw && held && !pending && !active && !active_elsewhere)
            .then(|| lr.physical_id())
            .flatten();
        s.listed.remove(id);
        s.listed_pending.remove(id);
        s.listed_active.remove(id);
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
            // An SPI another vCPU set active (GICD_ISACTIVER) while this
            // one had it listed stays this vCPU's to list active.
            let adopt =
                id >= 32
                    && self.dist.is_active(vcpu, id)
                    && !self.vcpus.iter().enumerate().any(|(o, s)| {
                        o != v && (s.active_spis.contains(id) || s.listed.contains(id))
                    });
            if let Some(s) = self.vcpus.get_mut(v) {
                if adopt {
                    s.active_spis.insert(id);
                } else if !active_elsewhere {
                    s.active_spis.remove(id);
                }
            }
            if state == LrState::Invalid {
                self.stats.completed += 1;
                if hw {
                    // The guest's EOI deactivated the physical interrupt (5.4.2).
                    self.physical_deactivated(vcpu, id);
                }
            }
        }
        if deactivate.is_some() {
            self.physical_deactivated(vcpu, id);
        }
        deactivate
    }

    fn flush<B: RegisterBus, const Q: usize>(
        &mut self,
        vcpu: u8,
        v: usize,
        vif: &mut VirtualInterface<B, Q>,
    ) -> Result<Flush, Error> {
        let mut out = Flush::default();
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
        // Then pending interrupts, most urgent first, of those no vCPU
        // has listed.
        let mut except = self.exclusion(vcpu);
        while let Some(c) = self.dist.highest_pending_except(vcpu, &except) {
            let lr = self.take_pending(vcpu, v, c.intid, c.source, c.priority, c.group1)?;
            except.insert(c.intid);
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
                } else if id >= 32
                    && self.dist.is_pending(vcpu, id)
                    && (0..self.vcpus()).any(|o| o != vcpu && self.forwards(o, id))
                {
                    // Pending again for another vCPU (retargeted): it is
                    // theirs once this one completes it, so the completion
                    // must exit (and the fold's kick name them).
                    lr = lr.with_eoi_maintenance();
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
        let pending_too = lr.state() == LrState::PendingActive;
        if let Some(s) = self.vcpus.get_mut(v) {
            s.listed.insert(id);
            s.active_spis.remove(id);
            s.listed_active.insert(id);
            if pending_too {
                s.listed_pending.insert(id);
            }
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
        s.listed_pending.insert(id);
        if latched {
            s.latched.insert(id);
        }
        Ok(lr)
    }
}

/// The vCPUs whose most urgent listable interrupt appeared or changed.
fn gained(before: &[Best; MAX_CPUS], after: &[Best; MAX_CPUS]) -> u8 {
    before
        .iter()
        .zip(after.iter())
        .enumerate()
        .fold(
            0,
            |m, (v, (b, a))| {
                if a.is_some() && a != b {
                    m | 1 << v
                } else {
                    m
                }
            },
        )
}

/// How a GICD write changes the interrupts it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// GICD_ICPENDR: their pending state is cleared.
    ClearPending,
    /// GICD_ICACTIVER: their active state is cleared.
    ClearActive,
    /// Anything else (enable, priority, targets, group, configuration,
    /// set pending or active, an input line).
    Other,
}

/// The interrupts a GICD write (or a line, or a forwarded interrupt)
/// names.
#[derive(Debug, Clone, Copy)]
struct Touched {
    change: Change,
    /// INTIDs named (banked ones: the writer's copies).
    ids: IntIdSet,
    /// GICD_CTLR: every interrupt.
    all: bool,
    /// GICD_SGIR: the SGI and the vCPUs it targets.
    sgi: Option<(u32, u8)>,
}

impl Touched {
    const NONE: Touched = Touched {
        change: Change::Other,
        ids: IntIdSet::EMPTY,
        all: false,
        sgi: None,
    };
}

/// What a write of `value` at GICD offset `off` by `vcpu` names, decoded
/// as the distributor decodes it (IHI 0048B Table 4-1): bit arrays by
/// aligned words, byte arrays by bytes or words, GICD_ICFGR by words.
fn touched(vcpu: u8, vcpus: u8, off: usize, w: Width, value: u32) -> Touched {
    let mut t = Touched::NONE;
    let word = w == Width::Word && off.is_multiple_of(4);
    let bit_arrays = [
        (offset::IGROUPR, Change::Other, true),
        (offset::ISENABLER, Change::Other, false),
        (offset::ICENABLER, Change::Other, false),
        (offset::ISPENDR, Change::Other, false),
        (offset::ICPENDR, Change::ClearPending, false),
        (offset::ISACTIVER, Change::Other, false),
        (offset::ICACTIVER, Change::ClearActive, false),
    ];
    if off == offset::CTLR && word {
        t.all = true;
    } else if off == offset::SGIR && word {
        let present = (0xFFu16 >> (8 - vcpus.clamp(1, 8))) as u8;
        let me = 1u8 << (vcpu % 8);
        let targets = match (value >> 24) & 0x3 {
            0 => ((value >> 16) & 0xFF) as u8 & present,
            1 => present & !me,
            2 => me,
            _ => 0,
        };
        t.sgi = Some((value & 0xF, targets));
    } else if let Some(&(base, change, all_bits)) = bit_arrays
        .iter()
        .find(|(base, _, _)| off >= *base && off < base + 0x80)
    {
        if word {
            let n = ((off - base) / 4) as u32;
            let bits = if all_bits { u32::MAX } else { value };
            for b in (0..32).filter(|b| bits & (1 << b) != 0) {
                t.ids.insert(n * 32 + b);
            }
            t.change = change;
        }
    } else if let Some(base) = [offset::IPRIORITYR, offset::ITARGETSR]
        .into_iter()
        .find(|base| off >= *base && off < base + 0x400)
    {
        let first = (off - base) as u32;
        let count = match w {
            Width::Word if word => 4,
            Width::Byte => 1,
            _ => 0,
        };
        for id in first..first + count {
            t.ids.insert(id);
        }
    } else if (offset::ICFGR..offset::ICFGR + 0x100).contains(&off) && word {
        let first = ((off - offset::ICFGR) * 4) as u32;
        for id in first..first + 16 {
            t.ids.insert(id);
        }
    }
    t
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
