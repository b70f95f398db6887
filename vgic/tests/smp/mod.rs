//! The host test bench of the virtual GIC with four vCPUs:
//!
//! * the physical GIC is the model shaped like QEMU's `virt` board with
//!   four CPUs and the Virtualization Extensions (4 list registers each);
//! * vCPU n runs on physical CPU n: the hypervisor there owns CPU n's
//!   `VirtualInterface` (GICH, behind a [`Counting`] bus) and its own
//!   `CpuInterface` (GICC, split EOI); all share one `Vgic`;
//! * each vCPU's guest runs the driver's `Distributor` on a bus whose
//!   every access is a trapped data abort of that vCPU (fold, serve,
//!   flush), and its `CpuInterface` on CPU n's GICV frame, untrapped;
//! * a kick is what the hypervisor would send: a physical SGI
//!   ([`KICK`]) from the kicking CPU to the kicked one, taken (an exit)
//!   before the kicked vCPU's guest does anything more.
//!
//! After every fold and flush the bench checks that each interrupt's state
//! has exactly one owner, and that no SPI is listed by two vCPUs.

#![allow(dead_code)]

use std::cell::{Cell, RefCell};

use gic_driver::bus::{Counting, RegisterBus};
use gic_driver::virt::{ListRegister, LrState};
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, CpuMask, Distributor, DistributorConfig,
    EoiMode, IntId, Priority, SgiTarget, VirtualInterface,
};
use gic_model::{Config, Frame, FrameBus, SharedGic};
use gic_vgic::trap::{AccessWidth, MmioAccess, EC_DATA_ABORT_LOWER};
use gic_vgic::{Vgic, VgicConfig};

/// vCPUs (and physical CPUs) of the bench.
pub const VCPUS: u8 = 4;
/// The guest-physical address of the guest's GICD page (QEMU virt's).
pub const GICD_IPA: u64 = 0x0800_0000;
/// The physical SGI the hypervisor kicks a CPU with.
pub const KICK: u32 = 15;
/// The guest's priority mask: every virtual priority (5 bits) below it.
pub const GUEST_PMR: u8 = 0xF8;

pub fn id(n: u32) -> IntId {
    IntId::new(n).unwrap()
}

/// The physical GIC: QEMU virt with four CPUs and 4 list registers each.
pub fn physical_gic() -> SharedGic {
    SharedGic::new(Config::qemu_virt(VCPUS)).expect("valid configuration")
}

/// ESR_EL2 of a stage-2 data abort with a valid syndrome: SAS from
/// `width`, SRT 5, WnR for a store.
pub fn esr(width: AccessWidth, write: bool) -> u64 {
    let sas = match width {
        AccessWidth::Byte => 0,
        AccessWidth::Halfword => 1,
        AccessWidth::Word => 2,
        AccessWidth::Doubleword => 3,
    };
    EC_DATA_ABORT_LOWER << 26 | 1 << 25 | 1 << 24 | sas << 22 | 5 << 16 | (write as u64) << 6 | 0x07
}

/// One physical CPU's hypervisor: its GICH, its GICC and its view of the
/// physical GICD (to send kicks).
pub struct Cpu<'g> {
    pub vif: RefCell<VirtualInterface<Counting<FrameBus<'g>>>>,
    pub gicc: CpuInterface<FrameBus<'g>>,
    pub gicd: Distributor<FrameBus<'g>>,
    /// Guest exits taken on this CPU.
    pub exits: Cell<u32>,
}

/// The hypervisor on four CPUs and the VM's shared virtual GIC.
pub struct Smp<'g> {
    pub gic: &'g SharedGic,
    pub vgic: Vgic,
    pub cpus: Vec<Cpu<'g>>,
    /// Kicks sent (physical SGIs).
    pub kicks: Cell<u32>,
    /// Physical interrupts the vGIC asked EL2 to deactivate.
    pub deactivated: RefCell<Vec<u32>>,
    /// Check the one-owner invariants at every exit.
    pub check: Cell<bool>,
}

impl<'g> Smp<'g> {
    pub fn new(gic: &'g SharedGic) -> Self {
        let cpus: Vec<Cpu<'g>> = (0..VCPUS)
            .map(|c| {
                let gicd = Distributor::new(gic.frame(Frame::Gicd, c));
                if c == 0 {
                    gicd.init(&DistributorConfig::default());
                    gicd.enable();
                } else {
                    gicd.init_cpu(&DistributorConfig::default());
                }
                let gicc = CpuInterface::new(gic.frame(Frame::Gicc, c));
                gicc.init(&CpuInterfaceConfig {
                    eoi_mode: EoiMode::Split,
                    ..CpuInterfaceConfig::default()
                })
                .unwrap();
                let mut vif = VirtualInterface::new(Counting::new(gic.frame(Frame::Gich, c)));
                vif.init();
                assert_eq!(vif.info().list_registers, 4);
                Cpu {
                    vif: RefCell::new(vif),
                    gicc,
                    gicd,
                    exits: Cell::new(0),
                }
            })
            .collect();
        let vgic = Vgic::new(VgicConfig {
            vcpus: VCPUS,
            lines: 288,
        })
        .unwrap();
        Smp {
            gic,
            vgic,
            cpus,
            kicks: Cell::new(0),
            deactivated: RefCell::new(Vec::new()),
            check: Cell::new(true),
        }
    }

    fn cpu(&self, v: u8) -> &Cpu<'g> {
        &self.cpus[v as usize]
    }

    /// EL2 on `v`'s CPU kicks every other vCPU in `mask`: a physical SGI.
    pub fn kick(&self, v: u8, mask: u8) {
        let others = mask & !(1 << v) & ((1 << VCPUS) - 1);
        if others != 0 {
            self.kicks.set(self.kicks.get() + others.count_ones());
            self.cpu(v)
                .gicd
                .send_sgi(id(KICK), SgiTarget::List(CpuMask::from_bits(others)))
                .unwrap();
        }
    }

    /// EL2 on `v`'s CPU deactivates physical interrupts (GICC_DIR).
    fn deactivate(&self, v: u8, ids: impl IntoIterator<Item = IntId>) {
        for p in ids {
            self.deactivated.borrow_mut().push(p.get());
            self.cpu(v).gicc.deactivate(Acknowledged::from_raw(p.get()));
        }
    }

    /// One guest exit of `v`: fold, `serve` (the exit's reason, which
    /// returns the vCPUs to kick), flush, re-enter.
    pub fn exit(&self, v: u8, serve: impl FnOnce(&Vgic) -> u8) {
        let cpu = self.cpu(v);
        cpu.exits.set(cpu.exits.get() + 1);
        let mut vif = cpu.vif.borrow_mut();
        let fold = self.vgic.fold(v, &mut vif).expect("fold");
        if self.check.get() {
            self.check_folded(v, &vif);
        }
        assert_eq!(fold.kick & (1 << v), 0, "a fold kicks only others");
        self.deactivate(v, fold.deactivate);
        let kick = serve(&self.vgic);
        self.vgic.flush(v, &mut vif).expect("flush");
        if self.check.get() {
            self.check_flushed(v, &vif);
        }
        drop(vif);
        self.kick(v, fold.kick | kick);
    }

    /// An exit of `v` for no reason of the vGIC's.
    pub fn plain_exit(&self, v: u8) {
        self.exit(v, |_| 0);
    }

    /// What CPU `v`'s list registers hold, decoded (valid ones), and the
    /// driver's queue.
    pub fn held(&self, v: u8, vif: &VirtualInterface<Counting<FrameBus<'g>>>) -> Vec<ListRegister> {
        let g = self.gic.lock();
        let vi = g.virtual_cpu_interface(v).unwrap();
        let mut out: Vec<ListRegister> = (0..4)
            .map(|n| ListRegister::decode(vi.lr(n)).unwrap())
            .filter(|lr| lr.state() != LrState::Invalid)
            .collect();
        drop(g);
        out.extend(vif.queued());
        out
    }

    /// What `v`'s list registers and queue hold now.
    pub fn listed(&self, v: u8) -> Vec<ListRegister> {
        let vif = self.cpu(v).vif.borrow();
        self.held(v, &vif)
    }

    fn check_folded(&self, v: u8, vif: &VirtualInterface<Counting<FrameBus<'g>>>) {
        assert_eq!(
            vif.in_use(),
            0,
            "vCPU {v}: a list register in use after fold"
        );
        assert_eq!(
            vif.queued_len(),
            0,
            "vCPU {v}: the queue not drained by fold"
        );
        assert!(
            self.vgic.listed(v).is_empty(),
            "vCPU {v}: listed after fold"
        );
        assert!(
            !self.gic.lock().maintenance(v),
            "vCPU {v}: maintenance after fold"
        );
    }

    /// After `v`'s flush: every interrupt in its list registers or queue is
    /// listed by the vGIC for `v`, at most once (but a held-back pair), the
    /// distributor does not hold the state the list register holds, and no
    /// SPI is listed by two vCPUs.
    fn check_flushed(&self, v: u8, vif: &VirtualInterface<Counting<FrameBus<'g>>>) {
        let listed = self.vgic.listed(v);
        let held = self.held(v, vif);
        let d = self.vgic.distributor();
        let in_lrs = held.len() - vif.queued_len();
        let mut seen = Vec::new();
        for (i, lr) in held.iter().enumerate() {
            let n = lr.virtual_id().get();
            let held_back = i >= in_lrs
                && lr.state() == LrState::Pending
                && held[..in_lrs]
                    .iter()
                    .any(|a| a.virtual_id() == lr.virtual_id() && a.state() == LrState::Active);
            assert!(
                held_back || !seen.contains(&n),
                "vCPU {v}: INTID {n} listed twice: {held:?}"
            );
            seen.push(n);
            assert!(
                listed.contains(n),
                "vCPU {v}: INTID {n} held but not listed"
            );
            let pending = matches!(lr.state(), LrState::Pending | LrState::PendingActive);
            let active = matches!(lr.state(), LrState::Active | LrState::PendingActive);
            if pending {
                let in_dist = match lr.source_cpu() {
                    Some(src) => d.sgi_sources(v, n) & (1 << src) != 0,
                    None => d.is_latched(v, n),
                };
                assert!(
                    !in_dist,
                    "vCPU {v}: INTID {n} pending in its list register and the distributor"
                );
            }
            if active {
                assert!(
                    !d.is_active(v, n),
                    "vCPU {v}: INTID {n} active in its list register and the distributor"
                );
            }
        }
        for n in listed.iter() {
            assert!(
                seen.contains(&n),
                "vCPU {v}: INTID {n} listed but in no list register"
            );
        }
        for o in (0..VCPUS).filter(|&o| o != v) {
            for n in self.vgic.listed(o).iter().filter(|&n| n >= 32) {
                assert!(!listed.contains(n), "SPI {n} listed by vCPUs {v} and {o}");
            }
        }
    }

    /// EL2 on `v`'s CPU takes what is asserted there before the guest runs
    /// on: the maintenance interrupt and physical IRQs (a kick, or a
    /// forwarded interrupt: left active, split EOI, and made pending in the
    /// vGIC; anything else is completed), each an exit. Returns the exits.
    pub fn service(&self, v: u8) -> u32 {
        let mut n = 0;
        loop {
            let (maintenance, irq) = {
                let g = self.gic.lock();
                (g.maintenance(v), g.irq(v))
            };
            if !maintenance && !irq {
                return n;
            }
            n += 1;
            assert!(n <= 16, "interrupt storm at EL2 on CPU {v}");
            let gicc = &self.cpu(v).gicc;
            self.exit(v, |vgic| {
                let mut kick = 0;
                while let Some(ack) = gicc.acknowledge() {
                    gicc.end_of_interrupt(ack);
                    if ack.intid().get() == KICK {
                        gicc.deactivate(ack);
                    } else {
                        match vgic.physical_fired(v, ack.intid()) {
                            Ok(k) => kick |= k,
                            Err(_) => gicc.deactivate(ack),
                        }
                    }
                }
                kick
            });
        }
    }

    /// Every CPU takes what is asserted, until none has anything.
    pub fn settle(&self) {
        for _ in 0..32 {
            if (0..VCPUS).map(|v| self.service(v)).sum::<u32>() == 0 {
                return;
            }
        }
        panic!("the CPUs never settle");
    }

    /// Drives an emulated line, from EL2 on `v`'s CPU (an exit of `v`).
    pub fn set_line(&self, v: u8, intid: u32, level: bool) {
        self.exit(v, |vgic| vgic.set_line(v, id(intid), level).unwrap());
    }

    /// A trapped load of vCPU `v` from its GICD page at `offset`.
    pub fn trapped_read(&self, v: u8, offset: usize, width: AccessWidth) -> u64 {
        self.service(v);
        let ipa = GICD_IPA + offset as u64;
        let a = MmioAccess::decode(esr(width, false), ipa, (ipa >> 12) << 4).unwrap();
        let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
        let value = Cell::new(0);
        self.exit(v, |vgic| {
            value.set(vgic.read(v, off, a.width));
            0
        });
        a.load_value(value.get() as u64)
    }

    /// A trapped store of vCPU `v` of `value` to its GICD page at `offset`.
    pub fn trapped_write(&self, v: u8, offset: usize, width: AccessWidth, value: u64) {
        self.service(v);
        let ipa = GICD_IPA + offset as u64;
        let a = MmioAccess::decode(esr(width, true), ipa, (ipa >> 12) << 4).unwrap();
        let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
        let deactivate = RefCell::new(Vec::new());
        self.exit(v, |vgic| {
            let e = vgic.write(v, off, a.width, a.store_value(value) as u32);
            deactivate.borrow_mut().extend(e.deactivate);
            e.kick
        });
        self.deactivate(v, deactivate.into_inner());
    }

    /// A trapped store of vCPU `v` (as [`trapped_write`](Self::trapped_write))
    /// that returns the vCPUs the vGIC named in its kick mask.
    pub fn write_kicks(&self, v: u8, offset: usize, width: AccessWidth, value: u32) -> u8 {
        self.service(v);
        let cell = Cell::new(0);
        let deactivate = RefCell::new(Vec::new());
        self.exit(v, |vgic| {
            let e = vgic.write(v, offset, width, value);
            cell.set(e.kick);
            deactivate.borrow_mut().extend(e.deactivate);
            e.kick
        });
        self.deactivate(v, deactivate.into_inner());
        cell.get()
    }

    /// GICH accesses of CPU `v` (reads, writes) since the last call.
    pub fn gich_accesses(&self, v: u8) -> (u32, u32) {
        let vif = self.cpu(v).vif.borrow();
        let c = vif.bus();
        let r = (c.reads(), c.writes());
        c.reset();
        r
    }
}

/// vCPU `v`'s GICD bus: every access traps to the hypervisor on its CPU.
#[derive(Clone, Copy)]
pub struct TrapBus<'m, 'g> {
    pub m: &'m Smp<'g>,
    pub v: u8,
}

impl RegisterBus for TrapBus<'_, '_> {
    fn read32(&self, offset: usize) -> u32 {
        self.m.trapped_read(self.v, offset, AccessWidth::Word) as u32
    }
    fn write32(&self, offset: usize, value: u32) {
        self.m
            .trapped_write(self.v, offset, AccessWidth::Word, value as u64)
    }
    fn read8(&self, offset: usize) -> u8 {
        self.m.trapped_read(self.v, offset, AccessWidth::Byte) as u8
    }
    fn write8(&self, offset: usize, value: u8) {
        self.m
            .trapped_write(self.v, offset, AccessWidth::Byte, value as u64)
    }
}

/// One vCPU's guest: the driver's `Distributor` on its trapped GICD, its
/// `CpuInterface` on its CPU's GICV.
pub struct Guest<'m, 'g> {
    pub m: &'m Smp<'g>,
    pub v: u8,
    pub gicd: Distributor<TrapBus<'m, 'g>>,
    pub gicc: CpuInterface<FrameBus<'g>>,
}

impl<'m, 'g> Guest<'m, 'g> {
    /// Boots vCPU `v`'s GIC code as Linux would: vCPU 0 runs
    /// `Distributor::init` (every SPI disabled, level-sensitive, priority
    /// 0xA0, Group 0, targeted at vCPU 0) and enables forwarding; the
    /// others run `Distributor::init_cpu` (their banked SGIs and PPIs).
    /// Each then enables its CPU interface (combined EOI).
    pub fn boot(m: &'m Smp<'g>, v: u8) -> Self {
        let check = m.check.replace(false);
        let gicd = Distributor::new(TrapBus { m, v });
        if v == 0 {
            gicd.init(&DistributorConfig::default());
            gicd.enable();
        } else {
            gicd.init_cpu(&DistributorConfig::default());
        }
        m.check.set(check);
        let gicc = CpuInterface::new(m.gic.frame(Frame::Gicv, v));
        gicc.init(&CpuInterfaceConfig {
            priority_mask: Priority(GUEST_PMR),
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
        Guest { m, v, gicd, gicc }
    }

    /// Boots every vCPU, vCPU 0 first.
    pub fn boot_all(m: &'m Smp<'g>) -> Vec<Self> {
        (0..VCPUS).map(|v| Guest::boot(m, v)).collect()
    }

    /// Reads GICV_IAR (after EL2 took what was asserted for this CPU); EL2
    /// then takes whatever that asserted.
    pub fn ack(&self) -> Option<Acknowledged> {
        self.m.service(self.v);
        let a = self.gicc.acknowledge();
        self.m.service(self.v);
        a
    }

    /// Writes GICV_EOIR; EL2 then takes whatever that asserted.
    pub fn eoi(&self, a: Acknowledged) {
        self.m.service(self.v);
        self.gicc.end_of_interrupt(a);
        self.m.service(self.v);
    }

    /// Acknowledges and ends everything this vCPU is offered, in order:
    /// (INTID, source) pairs.
    pub fn take_all(&self) -> Vec<(u32, Option<u8>)> {
        let mut got = Vec::new();
        while let Some(a) = self.ack() {
            got.push((a.intid().get(), a.source_cpu()));
            self.eoi(a);
            assert!(got.len() < 64, "endless deliveries: {got:?}");
        }
        got
    }
}
