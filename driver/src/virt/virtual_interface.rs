//! One CPU's virtual interface control frame (GICH, IHI 0048B 5.3): inject
//! virtual interrupts through the list registers, refill them from a queue,
//! handle the maintenance interrupt, and switch vCPUs.

use tock_registers::interfaces::{Readable, Writeable};

use super::bits;
use super::context::{Refused, VcpuContext};
use super::control::{Hcr, Misr, Vmcr, VtrInfo};
use super::list_register::{raw, ListRegister};
use super::maintenance::MaintenanceSummary;
use super::queue::{InMemory, Injection, Ledger, Port};
use crate::bus::RegisterBus;
use crate::regs::access::{ReadOnly, ReadWrite};
use crate::regs::gich::{self, HCR};
use crate::regs::{Reg, RegisterArray};
use crate::Error;

/// The list registers of the resident vCPU, in the GIC.
struct Hw<'a, B> {
    bus: &'a B,
    nlr: usize,
}

impl<B: RegisterBus> Port for Hw<'_, B> {
    #[inline(always)]
    fn fetch(&self, n: usize) -> Option<u32> {
        Some(gich::LR.nth(n).on(self.bus).get())
    }
    #[inline(always)]
    fn store(&self, n: usize, value: u32) {
        gich::LR.nth(n).on(self.bus).set(value)
    }
    #[inline(always)]
    fn empty_map(&self) -> Option<u64> {
        Some(read_bitmap(self.bus, gich::ELRSR, self.nlr))
    }
}

/// A one-bit-per-list-register status register pair (GICH_EISR0/1,
/// GICH_ELRSR0/1); the second word is read only with more than 32 LRs.
#[inline(always)]
fn read_bitmap<B: RegisterBus>(bus: &B, map: RegisterArray<(), ReadOnly, 2>, nlr: usize) -> u64 {
    let low = map.nth(0).on(bus).get() as u64;
    if nlr > 32 {
        low | (map.nth(1).on(bus).get() as u64) << 32
    } else {
        low
    }
}

/// One CPU's virtual interface control (GICH): the hypervisor's side of the
/// virtual CPU interface its guest uses through GICV.
///
/// It holds the *resident* vCPU's injection state: which list registers the
/// driver filled (an occupancy bitmap and the value last written or read
/// for each), and a queue of up to `Q` interrupts waiting for a list
/// register, ordered by priority then arrival. Other vCPUs' state lives in
/// [`VcpuContext`]s, which [`save`](Self::save) hands out and
/// [`restore`](Self::restore) takes back (the hot half of a switch, on
/// every exit/entry that switches), while [`put`](Self::put) /
/// [`load`](Self::load) move GICH_VMCR and GICH_APR (the cold half, when a
/// vCPU leaves or comes to this CPU). See the [glossary](super#glossary).
///
/// A new interface holds an empty vCPU, so a hypervisor with one vCPU per
/// CPU never needs a context at all:
///
/// ```
/// # use gic_driver::virt::{VirtualInterface, ListRegister, Injection};
/// # use gic_driver::{Group, IntId, Priority};
/// # fn demo<B: gic_driver::bus::RegisterBus>(gich: B) -> Result<(), gic_driver::Error> {
/// let mut vif: VirtualInterface<B> = VirtualInterface::new(gich);
/// vif.init();
/// let timer = ListRegister::hardware(IntId::ppi(11)?, IntId::ppi(11)?, Priority(0xA0), Group::Group1)?;
/// vif.inject(timer)?;
/// let uart = ListRegister::software(IntId::spi(1)?, Priority(0xA0), Group::Group1)?.with_eoi_maintenance();
/// vif.inject(uart)?;
/// // ... on the maintenance interrupt (PPI 9):
/// let summary = vif.handle_maintenance();
/// for done in &summary.completed {
///     // resample the emulated line of done.intid()
/// #   let _ = done;
/// }
/// # Ok(()) }
/// ```
pub struct VirtualInterface<B, const Q: usize = 32> {
    bus: B,
    info: VtrInfo,
    /// One bit per implemented list register.
    avail: u64,
    /// The resident vCPU's GICH_HCR (EOICount as last written).
    hcr: Hcr,
    /// The resident vCPU's GICH_VMCR and GICH_APR as its context held them
    /// when restored (from its last `put`); `save` hands them back.
    saved_vmcr: Vmcr,
    saved_apr: u32,
    /// GICH_HCR in the GIC is `hcr`, and the list registers in `in_use` are
    /// the resident vCPU's. When false, GICH_HCR is 0, or En alone with no
    /// valid list register, and nothing of the resident vCPU is in the GIC.
    live: bool,
    /// List registers that may still hold another vCPU's interrupts (left
    /// by `save`); zeroed before this vCPU's state goes live.
    stale: u64,
    /// A vCPU is resident (false between `save` and `restore`).
    resident: bool,
    ledger: Ledger<Q>,
}

impl<B: RegisterBus, const Q: usize> VirtualInterface<B, Q> {
    /// The virtual interface behind `bus` (this CPU's GICH frame). Reads
    /// GICH_VTR and nothing else; the list registers are treated as holding
    /// unknown values until first used or [`init`](Self::init).
    ///
    /// Rust does not fill in a default const parameter by inference: name
    /// the type where nothing else does, `let v: VirtualInterface<_> = ...`
    /// for the default queue of 32, `VirtualInterface<_, 8>` for another.
    pub fn new(bus: B) -> Self {
        let info = VtrInfo::from_raw(gich::VTR.on(&bus).get());
        let avail = info.list_register_mask();
        VirtualInterface {
            bus,
            info,
            avail,
            hcr: Hcr::ENABLED,
            saved_vmcr: Vmcr::from_raw(0),
            saved_apr: 0,
            live: false,
            stale: avail,
            resident: true,
            ledger: Ledger::new(),
        }
    }

    /// Resets the interface, with an empty vCPU resident: GICH_HCR = 0,
    /// every GICH_LRn = 0, GICH_APR = 0, GICH_VMCR = 0 (the GIC raises the
    /// binary points to its minimum). Drops any resident state and queue.
    pub fn init(&mut self) {
        self.hcr_reg().set(0);
        for n in 0..self.nlr() {
            self.lr(n).set(0);
        }
        gich::APR.on(&self.bus).set(0);
        gich::VMCR.on(&self.bus).set(0);
        self.ledger = Ledger::new();
        self.hcr = Hcr::ENABLED;
        self.saved_vmcr = Vmcr::from_raw(0);
        self.saved_apr = 0;
        self.live = false;
        self.stale = 0;
        self.resident = true;
    }

    /// What GICH_VTR reported.
    pub fn info(&self) -> VtrInfo {
        self.info
    }

    /// The bus this interface uses.
    pub fn bus(&self) -> &B {
        &self.bus
    }

    /// A context for a vCPU that has not run yet, shaped for this
    /// interface (no register access).
    pub fn new_context(&self) -> VcpuContext<Q> {
        VcpuContext::with_list_registers(self.info.list_registers)
    }

    #[inline(always)]
    fn nlr(&self) -> usize {
        self.info.list_registers as usize
    }

    #[inline(always)]
    fn hcr_reg(&self) -> Reg<'_, B, HCR::Register, ReadWrite> {
        gich::HCR.on(&self.bus)
    }

    /// GICH_LRn, `n` below the implemented list registers.
    #[inline(always)]
    fn lr(&self, n: usize) -> Reg<'_, B, gich::LR::Register, ReadWrite> {
        gich::LR.nth(n).on(&self.bus)
    }

    // ---------------------------------------------------------------
    // Registers
    // ---------------------------------------------------------------

    /// Reads GICH_HCR (1 read).
    pub fn read_hcr(&self) -> Hcr {
        Hcr::from_raw(self.hcr_reg().get())
    }

    /// The resident vCPU's GICH_HCR as the driver last wrote it (no access;
    /// EOICount may since have been incremented by the guest).
    pub fn hcr(&self) -> Hcr {
        self.hcr
    }

    /// Sets the resident vCPU's GICH_HCR bits that are the caller's: En,
    /// LRENPIE, VGrp0EIE/DIE and VGrp1EIE/DIE. UIE and NPIE stay under the
    /// driver's control (they follow the queue), and EOICount is the
    /// guest's: it is kept as the GIC counted it (1 read of GICH_HCR when
    /// the vCPU's state is in the GIC), so a value from [`hcr`](Self::hcr)
    /// passed back cannot erase EOIs counted since. Writes GICH_HCR once if
    /// the vCPU's state is in the GIC or now needs to be.
    ///
    /// [`handle_maintenance`](Self::handle_maintenance) clears a VGrp
    /// enable whose condition it reports (the conditions are levels and
    /// would otherwise fire continuously); set it again to re-arm.
    pub fn set_hcr(&mut self, hcr: Hcr) -> Result<(), Error> {
        if !self.resident {
            return Err(Error::NoResidentVcpu);
        }
        let counted = if self.live {
            self.hcr_reg().get() & Hcr::EOI_COUNT
        } else {
            self.hcr.raw() & Hcr::EOI_COUNT
        };
        self.hcr = Hcr::from_raw(
            (hcr.raw() & !(Hcr::DRIVER | Hcr::EOI_COUNT))
                | (self.hcr.raw() & Hcr::DRIVER)
                | counted,
        );
        self.sync(true);
        Ok(())
    }

    /// Reads GICH_VMCR (1 read): the guest's GICV_CTLR, PMR, BPR and ABPR.
    pub fn vmcr(&self) -> Vmcr {
        Vmcr::from_raw(gich::VMCR.on(&self.bus).get())
    }

    /// Writes GICH_VMCR (1 write).
    pub fn set_vmcr(&self, vmcr: Vmcr) {
        gich::VMCR.on(&self.bus).set(vmcr.raw())
    }

    /// Reads GICH_MISR (1 read).
    pub fn misr(&self) -> Misr {
        Misr::from_raw(gich::MISR.on(&self.bus).get())
    }

    /// Reads GICH_EISR0 (and GICH_EISR1 with more than 32 list registers):
    /// one bit per list register with an EOI maintenance condition.
    pub fn eisr(&self) -> u64 {
        read_bitmap(&self.bus, gich::EISR, self.nlr())
    }

    /// Reads GICH_ELRSR0 (and GICH_ELRSR1 with more than 32 list
    /// registers): one bit per free list register.
    pub fn elrsr(&self) -> u64 {
        read_bitmap(&self.bus, gich::ELRSR, self.nlr())
    }

    /// Reads GICH_APR (1 read): the guest's active priorities (GICV_APR0).
    pub fn apr(&self) -> u32 {
        gich::APR.on(&self.bus).get()
    }

    /// Writes GICH_APR (1 write).
    pub fn set_apr(&self, apr: u32) {
        gich::APR.on(&self.bus).set(apr)
    }

    /// Reads GICH_LRn (1 read), raw.
    pub fn read_list_register_raw(&self, n: usize) -> Result<u32, Error> {
        if n >= self.nlr() {
            return Err(Error::InvalidListRegister(n));
        }
        Ok(self.lr(n).get())
    }

    /// Reads and decodes GICH_LRn (1 read).
    pub fn read_list_register(&self, n: usize) -> Result<ListRegister, Error> {
        ListRegister::decode(self.read_list_register_raw(n)?)
    }

    // ---------------------------------------------------------------
    // Injection
    // ---------------------------------------------------------------

    /// Makes `lr`'s interrupt pending for the resident vCPU (its state field
    /// is ignored). See [`Injection`] for where it went; in short:
    ///
    /// * already in a list register: that register is read (1 read);
    ///   pending: nothing more; active with HW = 0: made pending+active in
    ///   place (1 write), or, if a more urgent interrupt is queued, kept
    ///   active with the new pending state queued behind it (returns
    ///   [`Injection::Queued`]; see the [module rules](super#no-priority-inversion-through-pendingactive));
    ///   active with HW = 1: nothing (the distributor holds
    ///   the physical pending state); a request with the EOI bit adds it
    ///   to a software register that lacks it (1 write), and that
    ///   completion is then reported;
    /// * already queued: merged (keeping a requested EOI bit);
    /// * held as the other kind (a HW = 0 request meeting a HW = 1 register
    ///   or queue entry of the same virtual ID, or the reverse), or HW = 1
    ///   forwarding another physical interrupt: refused, nothing written.
    ///   A software request never touches a hardware register (its EOI bit
    ///   would be PhysicalID\[9\] there), and a hardware request never
    ///   loses its physical link in a software entry: the caller still
    ///   holds the physical interrupt, active, and injects it again once
    ///   the guest has completed the one held (see the [module
    ///   rules](super#one-list-register-per-interrupt));
    /// * a list register free by the driver's record: 1 write, no read;
    /// * otherwise GICH_ELRSR is read for registers the guest finished
    ///   with; if none, the interrupt is queued (or takes a lower-priority
    ///   pending register, 1 read + 1 write) and GICH_HCR.NPIE or UIE is set
    ///   so a maintenance interrupt asks for the refill.
    ///
    /// Fails, changing nothing, with [`Error::ConflictsWithListRegister`] or
    /// [`Error::ConflictsWithQueued`] for a request of the other kind (see
    /// above), with [`Error::QueueFull`] when it must wait and the queue is
    /// full, and with [`Error::NoResidentVcpu`] between `save` and `restore`.
    pub fn inject(&mut self, lr: ListRegister) -> Result<Injection, Error> {
        if !self.resident {
            return Err(Error::NoResidentVcpu);
        }
        let req = raw::as_pending(lr.encode());
        let port = Hw {
            bus: &self.bus,
            nlr: self.info.list_registers as usize,
        };
        let placed = self.ledger.inject(&port, self.avail, req)?;
        self.sync(false);
        Ok(placed)
    }

    /// Moves queued interrupts into free list registers now (reading
    /// GICH_ELRSR only if the record shows none free), and updates
    /// GICH_HCR.UIE/NPIE. Returns how many list registers were written.
    /// [`handle_maintenance`](Self::handle_maintenance) does this too.
    pub fn refill(&mut self) -> usize {
        if !self.resident {
            return 0;
        }
        let port = Hw {
            bus: &self.bus,
            nlr: self.info.list_registers as usize,
        };
        let n = self.ledger.refill(&port, self.avail);
        self.sync(false);
        n
    }

    /// Handles the maintenance interrupt (PPI 9, INTID 25 on QEMU's virt),
    /// leaving none of its conditions asserted:
    ///
    /// 1. reads GICH_MISR, unless GICH_HCR enables no condition but EOI
    ///    (then the EOI condition is the only possible cause);
    /// 2. on EOI: reads GICH_EISR and retires those list registers,
    ///    reporting their interrupts as [`completed`](MaintenanceSummary::completed);
    /// 3. on LRENP: reads GICH_HCR, reports EOICount and resets it to 0;
    /// 4. on a VGrp condition: reports it and clears its enable (one-shot);
    /// 5. refills free list registers from the queue, best first, writing
    ///    retired registers with the next queued interrupt or 0;
    /// 6. updates UIE/NPIE for what is still queued and writes GICH_HCR if
    ///    anything changed.
    ///
    /// One software interrupt with the EOI bit, completed, costs 2
    /// accesses here: the EISR read and the LR write.
    pub fn handle_maintenance(&mut self) -> MaintenanceSummary {
        let mut s = MaintenanceSummary::default();
        if !self.resident || !self.live {
            return s;
        }
        let misr = self.hcr.has_conditions().then(|| self.misr());
        let eisr = if misr.is_none_or(|m| m.eoi()) {
            self.eisr() & self.avail
        } else {
            0
        };
        s.misr = misr.unwrap_or(Misr::eoi_only(eisr != 0));
        if s.misr.is_empty() {
            return s;
        }
        if s.misr.no_pending() {
            self.ledger.note_none_pending();
        }
        self.ledger.retire(eisr, &mut s.completed);

        let mut force = false;
        if s.misr.lr_entry_not_present() {
            s.unmatched_eois = self.read_hcr().eoi_count();
            self.hcr.clear_eoi_count();
            force = true;
        }
        let h = &mut self.hcr;
        for (fired, armed, disarm) in [
            (
                s.misr.vgrp0_enabled(),
                h.vgrp0eie(),
                Hcr::set_vgrp0eie as fn(&mut Hcr, bool),
            ),
            (s.misr.vgrp0_disabled(), h.vgrp0die(), Hcr::set_vgrp0die),
            (s.misr.vgrp1_enabled(), h.vgrp1eie(), Hcr::set_vgrp1eie),
            (s.misr.vgrp1_disabled(), h.vgrp1die(), Hcr::set_vgrp1die),
        ] {
            if fired && armed {
                disarm(h, false);
                force = true;
            }
        }

        let port = Hw {
            bus: &self.bus,
            nlr: self.info.list_registers as usize,
        };
        s.refilled = self.ledger.refill(&port, self.avail);
        for n in bits(eisr & !self.ledger.in_use) {
            self.lr(n).set(0);
        }
        self.sync(force);
        s.queued = self.ledger.queue.len();
        s
    }

    /// Writes GICH_HCR if the resident vCPU needs it: UIE/NPIE follow the
    /// queue ([`Ledger::wants`]); the first time the vCPU's state goes into
    /// the GIC after a `restore` that wrote nothing, list registers left by
    /// another vCPU are zeroed first.
    fn sync(&mut self, force: bool) {
        let port = Hw {
            bus: &self.bus,
            nlr: self.info.list_registers as usize,
        };
        self.ledger.settle(&port, self.avail, self.nlr());
        let (uie, npie) = self.ledger.wants(self.nlr());
        let mut want = self.hcr;
        want.set_uie(uie);
        want.set_npie(npie);
        if !self.live {
            if self.ledger.in_use == 0 && !want.has_conditions() {
                self.hcr = want;
                return;
            }
            for n in bits(self.stale & !self.ledger.in_use) {
                self.lr(n).set(0);
            }
            self.stale = 0;
            self.live = true;
        } else if want == self.hcr && !force {
            return;
        } else if want.lrenpie() && !force {
            // Keep the EOIs the guest counted since GICH_HCR was last written.
            let counted = self.hcr_reg().get() & Hcr::EOI_COUNT;
            want = Hcr::from_raw((want.raw() & !Hcr::EOI_COUNT) | counted);
        }
        self.hcr_reg().set(want.raw());
        self.hcr = want;
    }

    // ---------------------------------------------------------------
    // Introspection
    // ---------------------------------------------------------------

    /// Whether a vCPU is resident (false between [`save`](Self::save) and
    /// [`restore`](Self::restore)).
    pub fn has_resident_vcpu(&self) -> bool {
        self.resident
    }

    /// The list registers the driver believes hold one of the resident vCPU's
    /// interrupts, one bit each (no access). The guest may have completed
    /// some since; they are reclaimed lazily.
    pub fn in_use(&self) -> u64 {
        self.ledger.in_use
    }

    /// How many interrupts wait in the queue.
    pub fn queued_len(&self) -> usize {
        self.ledger.queue.len()
    }

    /// The queued interrupts, next to be delivered first.
    pub fn queued(&self) -> impl Iterator<Item = ListRegister> + '_ {
        self.ledger.queued()
    }

    // ---------------------------------------------------------------
    // World switch
    // ---------------------------------------------------------------

    /// The hot half of switching out (every exit that may switch vCPUs;
    /// KVM's `vgic_v2_save_state`): reads each list register in use (1 read
    /// each; those the guest finished with leave the record), reads
    /// GICH_HCR only if LRENPIE is set (to keep EOICount), and writes
    /// GICH_HCR = 0, unless no list register is still valid and GICH_HCR
    /// enables nothing but En (then nothing is written). Returns the vCPU's
    /// context, with its occupancy record and queue; the interface then
    /// holds no vCPU until the next [`restore`](Self::restore). The context
    /// carries the GICH_VMCR and GICH_APR it was restored with:
    /// [`put`](Self::put) them into it when the vCPU leaves this CPU.
    ///
    /// The list registers are left as they are (restore zeroes them if the
    /// next vCPU does not overwrite them), so the cost is
    /// `u` reads + at most 1 write (+1 read with LRENPIE), `u` = list
    /// registers in use; nothing with none in use.
    ///
    /// Fails with [`Error::NoResidentVcpu`] if it was already saved.
    ///
    /// ```
    /// # use gic_driver::{Error, ListRegister, VirtualInterface};
    /// # fn f<B: gic_driver::bus::RegisterBus>(vif: &mut VirtualInterface<B>, lr: ListRegister) -> Result<(), Error> {
    /// let mut ctx = vif.save()?; // the vCPU exits
    /// ctx.inject(lr)?; // a device raises its line while it is out
    /// vif.restore(ctx).map_err(|refused| refused.error)?; // it runs again
    /// # Ok(()) }
    /// ```
    pub fn save(&mut self) -> Result<VcpuContext<Q>, Error> {
        if !self.resident {
            return Err(Error::NoResidentVcpu);
        }
        let mut hcr = self.hcr;
        if self.live {
            for n in bits(self.ledger.in_use) {
                let v = self.lr(n).get();
                self.ledger.lrs[n] = v;
                if raw::is_empty(v) {
                    self.ledger.in_use &= !(1 << n);
                }
            }
            if hcr.lrenpie() {
                let counted = self.hcr_reg().get() & Hcr::EOI_COUNT;
                hcr = Hcr::from_raw((hcr.raw() & !Hcr::EOI_COUNT) | counted);
            }
            if self.ledger.in_use != 0 || hcr.has_conditions() {
                self.hcr_reg().set(0);
            }
            self.stale = self.ledger.in_use;
        }
        self.resident = false;
        self.live = false;
        Ok(VcpuContext {
            hcr,
            vmcr: self.saved_vmcr,
            apr: self.saved_apr,
            lr_count: self.info.list_registers,
            ledger: core::mem::replace(&mut self.ledger, Ledger::new()),
        })
    }

    /// Why [`restore`](Self::restore) would refuse `ctx`, if it would.
    fn refusal(&self, ctx: &VcpuContext<Q>) -> Option<Error> {
        if self.resident && !self.ledger.is_empty() {
            return Some(Error::VcpuResident);
        }
        let beyond = ctx.ledger.in_use & !self.avail;
        (beyond != 0).then(|| Error::InvalidListRegister(63 - beyond.leading_zeros() as usize))
    }

    /// The hot half of switching in (every entry after a switch; KVM's
    /// `vgic_v2_restore_state`): `ctx` becomes the resident vCPU. Writes
    /// each list register `ctx` has in use (1 write each), zeroes list
    /// registers another vCPU left valid that `ctx` does not overwrite, and
    /// writes GICH_HCR last, with UIE/NPIE recomputed for `ctx`'s queue.
    /// Writes nothing at all if `ctx` has no list register in use and its
    /// GICH_HCR enables nothing but En. Queued interrupts are first moved
    /// into free list registers (a context saved on a GIC with fewer list
    /// registers, or one injected into before it ever ran).
    ///
    /// The context moves into the interface, so a resident vCPU's context
    /// cannot be restored twice, or injected into behind the interface's
    /// back; [`save`](Self::save) hands it out again:
    ///
    /// ```compile_fail
    /// # use gic_driver::{ListRegister, VcpuContext, VirtualInterface};
    /// # fn f<B: gic_driver::bus::RegisterBus>(vif: &mut VirtualInterface<B>, lr: ListRegister) {
    /// let mut ctx: VcpuContext = vif.new_context();
    /// vif.restore(ctx).unwrap();
    /// ctx.inject(lr); // moved into the interface: does not compile
    /// # }
    /// ```
    ///
    /// Fails, changing nothing and handing `ctx` back in [`Refused`], with
    /// [`Error::VcpuResident`] if the resident vCPU still has interrupts in
    /// list registers or queued (save it first), and with
    /// [`Error::InvalidListRegister`] if `ctx` uses a list register this
    /// GIC does not implement.
    // The refused context comes back by value: there is no allocator to box it in.
    #[allow(clippy::result_large_err)]
    pub fn restore(&mut self, ctx: VcpuContext<Q>) -> Result<(), Refused<Q>> {
        if let Some(error) = self.refusal(&ctx) {
            return Err(Refused {
                error,
                context: ctx,
            });
        }
        self.saved_vmcr = ctx.vmcr;
        self.saved_apr = ctx.apr;
        self.ledger = ctx.ledger;
        self.ledger.refill(&InMemory, self.avail);
        self.ledger.settle(&InMemory, self.avail, self.nlr());
        self.resident = true;
        let was_live = self.live;
        let (uie, npie) = self.ledger.wants(self.nlr());
        let mut want = ctx.hcr;
        want.set_uie(uie);
        want.set_npie(npie);
        self.hcr = want;
        if self.ledger.in_use == 0 && !want.has_conditions() && !was_live {
            self.live = false;
            return Ok(());
        }
        for n in bits(self.ledger.in_use) {
            self.lr(n).set(self.ledger.lrs[n]);
        }
        for n in bits(self.stale & !self.ledger.in_use) {
            self.lr(n).set(0);
        }
        self.stale = 0;
        self.hcr_reg().set(want.raw());
        self.live = true;
        Ok(())
    }

    /// The cold half of switching out (when the vCPU leaves this CPU; KVM's
    /// `vgic_v2_put`): reads GICH_VMCR and GICH_APR into `ctx` (2 reads).
    pub fn put(&self, ctx: &mut VcpuContext<Q>) {
        ctx.vmcr = self.vmcr();
        ctx.apr = self.apr();
    }

    /// The cold half of switching in (when the vCPU comes to this CPU;
    /// KVM's `vgic_v2_load`): writes GICH_VMCR and GICH_APR from `ctx` (2
    /// writes).
    pub fn load(&self, ctx: &VcpuContext<Q>) {
        self.set_vmcr(ctx.vmcr);
        self.set_apr(ctx.apr);
    }

    // ---------------------------------------------------------------
    // For a virtual GIC that keeps each interrupt's state elsewhere
    // ---------------------------------------------------------------

    /// Writes `lr` exactly as it is (its state included: an active
    /// interrupt the guest must still deactivate, or a pending+active one)
    /// into the first list register free by the driver's record (1 write),
    /// and returns its index. A virtual GIC whose distributor owns the
    /// interrupt state re-lists active interrupts this way on every entry;
    /// pending ones go through [`inject`](Self::inject), which queues and
    /// arms the refill when the list registers run out.
    ///
    /// Fails, changing nothing, with [`Error::NoFreeListRegister`] when the
    /// record shows every list register in use, with
    /// [`Error::AlreadyQueued`] when the interrupt (virtual ID, and source
    /// CPU for a software SGI) is already listed or queued, and with
    /// [`Error::NoResidentVcpu`] between `save` and `restore`.
    pub fn list(&mut self, lr: ListRegister) -> Result<usize, Error> {
        if !self.resident {
            return Err(Error::NoResidentVcpu);
        }
        let v = lr.encode();
        let n = self
            .ledger
            .try_list(self.avail, v)?
            .ok_or(Error::NoFreeListRegister)?;
        self.lr(n).set(v);
        self.sync(false);
        Ok(n)
    }

    /// Takes every interrupt of the resident vCPU back from the list
    /// registers and the queue (KVM's *fold*, on every guest exit): each
    /// list register in use is read (1 read), handed to `f` with the state
    /// the guest left it in (invalid once completed), and zeroed (1 write);
    /// then each queued interrupt is handed to `f` as pending, and UIE and
    /// NPIE are cleared in GICH_HCR (1 write if either was set). Afterwards
    /// nothing of the vCPU is in a list register, GICH_APR and GICH_VMCR
    /// are untouched, and no maintenance condition of the list registers
    /// stays asserted.
    ///
    /// Fails with [`Error::NoResidentVcpu`] between `save` and `restore`.
    pub fn drain(&mut self, mut f: impl FnMut(ListRegister)) -> Result<(), Error> {
        if !self.resident {
            return Err(Error::NoResidentVcpu);
        }
        for n in bits(self.ledger.in_use) {
            let v = if self.live {
                let v = self.lr(n).get();
                self.lr(n).set(0);
                v
            } else {
                self.ledger.lrs[n]
            };
            self.ledger.lrs[n] = 0;
            if let Ok(lr) = ListRegister::decode(v) {
                f(lr);
            }
        }
        for lr in self.ledger.queued() {
            f(lr);
        }
        self.ledger.clear();
        self.sync(false);
        Ok(())
    }

    /// [`save`](Self::save) then [`put`](Self::put): everything about the
    /// resident vCPU, as its context.
    pub fn switch_out(&mut self) -> Result<VcpuContext<Q>, Error> {
        let mut ctx = self.save()?;
        self.put(&mut ctx);
        Ok(ctx)
    }

    /// [`restore`](Self::restore) then [`load`](Self::load): `ctx` becomes
    /// the resident vCPU. Nothing is written if `restore` refuses it.
    #[allow(clippy::result_large_err)] // as restore
    pub fn switch_in(&mut self, ctx: VcpuContext<Q>) -> Result<(), Refused<Q>> {
        let (vmcr, apr) = (ctx.vmcr, ctx.apr);
        self.restore(ctx)?;
        self.set_vmcr(vmcr);
        self.set_apr(apr);
        Ok(())
    }
}
