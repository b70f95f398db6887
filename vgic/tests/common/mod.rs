//! The host test bench of the virtual GIC, end to end:
//!
//! * the physical GIC is the model shaped like QEMU's `virt` board with
//!   the Virtualization Extensions (one CPU, 288 lines, 4 list registers);
//! * the hypervisor owns the driver's `VirtualInterface` on GICH (behind a
//!   [`Counting`] bus, to measure fold and flush), the `Vgic`, and its own
//!   physical `Distributor` and `CpuInterface` (split EOI, for forwarded
//!   interrupts);
//! * the guest runs the driver's `Distributor` on a bus whose every access
//!   is a trapped data abort: an exit that decodes a synthesized ESR_EL2 /
//!   FAR_EL2 / HPFAR_EL2 with `MmioAccess::decode`, folds, serves the access
//!   with `Vgic::read` / `Vgic::write`, flushes and re-enters; and the
//!   driver's `CpuInterface` on the physical model's GICV frame, untrapped.
//!
//! The maintenance interrupt and physical IRQs are exits as well (see
//! [`Machine::service`]). After every fold and flush the bench checks that
//! each interrupt's state has exactly one owner.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};

use gic_driver::bus::{Counting, RegisterBus};
use gic_driver::virt::{ListRegister, LrState};
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, Distributor, DistributorConfig, EoiMode, IntId,
    Priority, VirtualInterface,
};
use gic_model::{Config, Frame, FrameBus, SharedGic};
use gic_vgic::trap::{AccessWidth, MmioAccess, EC_DATA_ABORT_LOWER};
use gic_vgic::{Vgic, VgicConfig, WriteEffects};

/// The guest-physical address of the guest's GICD page (QEMU virt's).
pub const GICD_IPA: u64 = 0x0800_0000;
/// The maintenance interrupt, PPI 9.
pub const MAINTENANCE: u32 = 25;
/// The EL1 virtual timer, PPI 11.
pub const VTIMER: u32 = 27;

/// The physical GIC: QEMU virt with one CPU and 4 list registers.
pub fn physical_gic() -> SharedGic {
    SharedGic::new(Config::qemu_virt(1)).expect("valid configuration")
}

pub fn id(n: u32) -> IntId {
    IntId::new(n).unwrap()
}

/// ESR_EL2 of a stage-2 data abort with a valid syndrome: SAS from
/// `width`, SRT 5, SF for a doubleword, WnR for a store.
pub fn esr(width: AccessWidth, write: bool) -> u64 {
    let sas = match width {
        AccessWidth::Byte => 0,
        AccessWidth::Halfword => 1,
        AccessWidth::Word => 2,
        AccessWidth::Doubleword => 3,
    };
    EC_DATA_ABORT_LOWER << 26
        | 1 << 25
        | 1 << 24
        | sas << 22
        | 5 << 16
        | ((width == AccessWidth::Doubleword) as u64) << 15
        | (write as u64) << 6
        | 0x07
}

/// The hypervisor, its physical GIC and the one vCPU's virtual GIC.
pub struct Machine<'g> {
    pub gic: &'g SharedGic,
    pub vgic: RefCell<Vgic>,
    pub vif: RefCell<VirtualInterface<Counting<FrameBus<'g>>>>,
    /// EL2's own distributor and CPU interface (split EOI).
    pub host_dist: Distributor<FrameBus<'g>>,
    pub host_cpu: CpuInterface<FrameBus<'g>>,
    /// Guest exits taken (each a fold and a flush).
    pub exits: Cell<u32>,
    /// Physical interrupts the vGIC asked EL2 to deactivate
    /// (`WriteEffects::deactivate`), which EL2 did with GICC_DIR.
    pub deactivated: RefCell<Vec<u32>>,
    /// Check the one-owner invariants at every exit.
    pub check: Cell<bool>,
}

impl<'g> Machine<'g> {
    pub fn new(gic: &'g SharedGic) -> Self {
        let host_dist = Distributor::new(gic.frame(Frame::Gicd, 0));
        host_dist.init(&DistributorConfig::default());
        host_dist.enable();
        let host_cpu = CpuInterface::new(gic.frame(Frame::Gicc, 0));
        host_cpu
            .init(&CpuInterfaceConfig {
                eoi_mode: EoiMode::Split,
                ..CpuInterfaceConfig::default()
            })
            .unwrap();
        let mut vif = VirtualInterface::new(Counting::new(gic.frame(Frame::Gich, 0)));
        vif.init();
        assert_eq!(vif.info().list_registers, 4);
        let vgic = Vgic::new(VgicConfig {
            vcpus: 1,
            lines: 288,
        })
        .unwrap();
        Machine {
            gic,
            vgic: RefCell::new(vgic),
            vif: RefCell::new(vif),
            host_dist,
            host_cpu,
            exits: Cell::new(0),
            deactivated: RefCell::new(Vec::new()),
            check: Cell::new(true),
        }
    }

    /// One guest exit: fold, `serve` (the exit's reason), flush, re-enter.
    pub fn exit<R>(&self, serve: impl FnOnce(&mut Vgic) -> R) -> R {
        self.exits.set(self.exits.get() + 1);
        let mut vgic = self.vgic.borrow_mut();
        let mut vif = self.vif.borrow_mut();
        vgic.fold(0, &mut vif).expect("fold");
        if self.check.get() {
            self.check_folded(&vgic, &vif);
        }
        let r = serve(&mut vgic);
        vgic.flush(0, &mut vif).expect("flush");
        if self.check.get() {
            self.check_flushed(&vgic, &vif);
        }
        r
    }

    /// An exit for no reason of the vGIC's (a hypercall, a timer tick).
    pub fn plain_exit(&self) {
        self.exit(|_| ());
    }

    /// What the model's list registers hold now.
    pub fn list_registers(&self) -> Vec<u32> {
        let g = self.gic.lock();
        let v = g.virtual_cpu_interface(0).unwrap();
        (0..4).map(|n| v.lr(n)).collect()
    }

    /// The valid list registers and the driver's queue, decoded.
    pub fn listed(&self, vif: &VirtualInterface<Counting<FrameBus<'g>>>) -> Vec<ListRegister> {
        let mut out: Vec<ListRegister> = self
            .list_registers()
            .into_iter()
            .map(|v| ListRegister::decode(v).unwrap())
            .filter(|lr| lr.state() != LrState::Invalid)
            .collect();
        out.extend(vif.queued());
        out
    }

    /// After a fold: nothing of the vCPU is in a list register or queued,
    /// and the vGIC lists nothing.
    fn check_folded(&self, vgic: &Vgic, vif: &VirtualInterface<Counting<FrameBus<'g>>>) {
        assert_eq!(vif.in_use(), 0, "a list register still in use after fold");
        assert_eq!(vif.queued_len(), 0, "the queue not drained by fold");
        assert!(
            self.list_registers().iter().all(|&v| v == 0),
            "a list register not zeroed by fold: {:x?}",
            self.list_registers()
        );
        assert!(
            vgic.listed(0).is_empty(),
            "listed after fold: {:?}",
            vgic.listed(0).iter().collect::<Vec<_>>()
        );
        assert!(!self.gic.lock().maintenance(0), "maintenance after fold");
    }

    /// After a flush: every interrupt in a list register or the queue is
    /// listed by the vGIC, at most once, and the distributor does not hold
    /// the state the list register holds (a pending latch for a pending
    /// list register, the active state for an active one).
    fn check_flushed(&self, vgic: &Vgic, vif: &VirtualInterface<Counting<FrameBus<'g>>>) {
        let listed = vgic.listed(0);
        let held = self.listed(vif);
        let d = vgic.distributor();
        let mut seen = Vec::new();
        let in_list_registers = held.len() - vif.queued_len();
        for (i, lr) in held.iter().enumerate() {
            let n = lr.virtual_id().get();
            // The driver may hold back the pending half of a pending+active
            // interrupt in its queue while a more urgent one waits: its list
            // register stays active, and the queue holds it pending.
            let held_back = i >= in_list_registers
                && lr.state() == LrState::Pending
                && held[..in_list_registers]
                    .iter()
                    .any(|a| a.virtual_id() == lr.virtual_id() && a.state() == LrState::Active);
            assert!(
                held_back || !seen.contains(&n),
                "INTID {n} listed twice: {held:?}"
            );
            seen.push(n);
            assert!(listed.contains(n), "INTID {n} held but not listed");
            let (pending, active) = match lr.state() {
                LrState::Pending => (true, false),
                LrState::Active => (false, true),
                LrState::PendingActive => (true, true),
                LrState::Invalid => (false, false),
            };
            if pending {
                assert!(
                    !d.is_latched(0, n),
                    "INTID {n} pending in both its list register and the distributor"
                );
            }
            if active {
                assert!(
                    !d.is_active(0, n),
                    "INTID {n} active in both its list register and the distributor"
                );
            }
        }
        for n in listed.iter() {
            assert!(
                seen.contains(&n),
                "INTID {n} listed but in no list register"
            );
        }
    }

    /// EL2 takes what is asserted at once, before the guest runs on: the
    /// maintenance interrupt (an exit: fold and flush) and physical IRQs
    /// (an exit that acknowledges them; a forwarded one is left active,
    /// split EOI, and made pending in the vGIC; any other is completed).
    /// Returns the exits taken; panics on a storm.
    pub fn service(&self) -> u32 {
        let mut n = 0;
        loop {
            let maintenance = self.gic.lock().maintenance(0);
            let irq = self.gic.lock().irq(0);
            if !maintenance && !irq {
                return n;
            }
            n += 1;
            assert!(n <= 8, "interrupt storm at EL2");
            self.exit(|vgic| {
                while let Some(ack) = self.host_cpu.acknowledge() {
                    self.host_cpu.end_of_interrupt(ack);
                    if vgic.physical_fired(0, ack.intid()).is_err() {
                        self.host_cpu.deactivate(ack);
                    }
                }
            });
        }
    }

    /// Drives an emulated line (an exit: device emulation runs at EL2).
    pub fn set_line(&self, intid: u32, level: bool) {
        self.exit(|vgic| vgic.set_line(0, id(intid), level).unwrap());
    }

    fn effects(&self, e: WriteEffects) {
        for p in e.deactivate {
            self.deactivated.borrow_mut().push(p.get());
            // EL2 deactivates the physical interrupt (split EOI: GICC_DIR).
            self.host_cpu.deactivate(Acknowledged::from_raw(p.get()));
        }
    }

    /// A trapped guest load from its GICD page at `offset`.
    pub fn trapped_read(&self, offset: usize, width: AccessWidth) -> u64 {
        let ipa = GICD_IPA + offset as u64;
        let a = MmioAccess::decode(esr(width, false), ipa, (ipa >> 12) << 4).unwrap();
        assert!(!a.write && a.width == width);
        let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
        let v = self.exit(|vgic| vgic.read(0, off, a.width));
        a.load_value(v as u64)
    }

    /// A trapped guest store of `value` to its GICD page at `offset`.
    pub fn trapped_write(&self, offset: usize, width: AccessWidth, value: u64) {
        let ipa = GICD_IPA + offset as u64;
        let a = MmioAccess::decode(esr(width, true), ipa, (ipa >> 12) << 4).unwrap();
        assert!(a.write && a.width == width);
        let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
        let e = self.exit(|vgic| vgic.write(0, off, a.width, a.store_value(value) as u32));
        self.effects(e);
    }

    /// GICH accesses (reads, writes) counted since the last call.
    pub fn gich_accesses(&self) -> (u32, u32) {
        let vif = self.vif.borrow();
        let c = vif.bus();
        let r = (c.reads(), c.writes());
        c.reset();
        r
    }
}

/// The guest's GICD bus: every access traps to the hypervisor.
#[derive(Clone, Copy)]
pub struct TrapBus<'m, 'g> {
    pub m: &'m Machine<'g>,
}

impl RegisterBus for TrapBus<'_, '_> {
    fn read32(&self, offset: usize) -> u32 {
        self.m.trapped_read(offset, AccessWidth::Word) as u32
    }
    fn write32(&self, offset: usize, value: u32) {
        self.m
            .trapped_write(offset, AccessWidth::Word, value as u64)
    }
    fn read8(&self, offset: usize) -> u8 {
        self.m.trapped_read(offset, AccessWidth::Byte) as u8
    }
    fn write8(&self, offset: usize, value: u8) {
        self.m
            .trapped_write(offset, AccessWidth::Byte, value as u64)
    }
}

/// The guest: the driver's `Distributor` on its trapped GICD, its
/// `CpuInterface` on GICV.
pub struct Guest<'m, 'g> {
    pub m: &'m Machine<'g>,
    pub gicd: Distributor<TrapBus<'m, 'g>>,
    pub gicc: CpuInterface<FrameBus<'g>>,
}

/// The guest's priority mask: every virtual priority (5 bits) below it.
pub const GUEST_PMR: u8 = 0xF8;

impl<'m, 'g> Guest<'m, 'g> {
    /// Boots the guest's GIC code as Linux would: `Distributor::init`
    /// (every SPI disabled, level-sensitive, priority 0xA0, Group 0), then
    /// enable, then its CPU interface (combined EOI).
    pub fn boot(m: &'m Machine<'g>) -> Self {
        let gicd = Distributor::new(TrapBus { m });
        // Nothing is pending yet: skip the per-exit checks of init's
        // ~600 accesses.
        let check = m.check.replace(false);
        gicd.init(&DistributorConfig::default());
        m.check.set(check);
        gicd.enable();
        let gicc = CpuInterface::new(m.gic.frame(Frame::Gicv, 0));
        gicc.init(&CpuInterfaceConfig {
            priority_mask: Priority(GUEST_PMR),
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
        Guest { m, gicd, gicc }
    }

    /// Reads GICV_IAR; EL2 then takes whatever that asserted.
    pub fn ack(&self) -> Option<Acknowledged> {
        let a = self.gicc.acknowledge();
        self.m.service();
        a
    }

    /// Writes GICV_EOIR; EL2 then takes whatever that asserted.
    pub fn eoi(&self, a: Acknowledged) {
        self.gicc.end_of_interrupt(a);
        self.m.service();
    }

    /// Acknowledges and ends everything the guest is offered, in order.
    pub fn take_all(&self) -> Vec<u32> {
        let mut got = Vec::new();
        while let Some(a) = self.ack() {
            got.push(a.intid().get());
            self.eoi(a);
            assert!(got.len() < 64, "endless deliveries: {got:?}");
        }
        got
    }
}
