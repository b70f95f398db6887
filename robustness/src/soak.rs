//! A soak of the virtual-interrupt lifecycle on one physical CPU shared by
//! several vCPUs: interrupts injected into the running vCPU or into a
//! switched-out one's context, the guest acknowledging and completing them
//! on GICV (nested, in any order the priorities allow), the maintenance
//! interrupt taken at EL2 through GICC and handled, and world switches
//! between vCPUs at random points, on a GIC with 1, 2 or 4 list
//! registers. Checked throughout: the guest acknowledges only interrupts
//! injected into the vCPU it is, each once; each completion is reported
//! once, after the guest's EOI, for the vCPU it belongs to; handling the
//! maintenance interrupt leaves it deasserted. At the end every injected
//! interrupt has been completed exactly once.

use gic_driver::bus::RegisterBus;
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, Distributor, DistributorConfig, Error, Group,
    IntId, ListRegister, Priority, VcpuContext, VirtualInterface,
};
use gic_model::{Config, Frame, SharedGic, VirtConfig, MAINTENANCE_INTID};

use crate::world_switch::{load_vmcr_apr, put_vmcr_apr, restore_lists, save_lists};

/// vCPUs sharing the physical CPU.
pub const VCPUS: usize = 3;
/// Virtual INTIDs each vCPU's interrupts are drawn from (SPIs 32-63).
const FIRST_ID: u32 = 32;
const IDS: u32 = 32;
/// The driver's queue behind the list registers.
const Q: usize = 16;

/// What a soak did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SoakReport {
    /// Operations performed (each one inject, acknowledge, EOI,
    /// maintenance check or switch).
    pub ops: u64,
    /// Interrupts accepted by `inject` (into the interface or a context).
    pub injected: u64,
    /// Completions reported by `handle_maintenance`.
    pub completed: u64,
    /// Guest acknowledges.
    pub acknowledged: u64,
    /// Maintenance interrupts taken at EL2.
    pub maintenance: u64,
    /// Of those, ones `handle_maintenance` found nothing to do for.
    pub spurious_maintenance: u64,
    /// World switches.
    pub switches: u64,
    /// Injections refused because the queue was full.
    pub queue_full: u64,
}

/// A small deterministic generator (xorshift64*).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (any value).
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number below `n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n
    }
}

/// One vCPU as the soak sees it.
#[derive(Default)]
struct Vcpu {
    /// Its context while switched out; `None` while resident (the
    /// interface holds it).
    ctx: Option<VcpuContext<Q>>,
    /// Injected, not yet reported completed.
    outstanding: u64,
    /// Acknowledged by the guest and not yet EOId (innermost last).
    active: Vec<Acknowledged>,
    /// EOId by the guest, completion not yet reported.
    ended: u64,
    /// The guest has initialised its GICV (GICV_CTLR, GICV_PMR).
    booted: bool,
}

fn bit(id: IntId) -> u64 {
    1 << (id.get() - FIRST_ID)
}

struct Soak<'g, B: RegisterBus> {
    gic: &'g SharedGic,
    vif: VirtualInterface<B, Q>,
    host: CpuInterface<gic_model::FrameBus<'g>>,
    guest: CpuInterface<gic_model::FrameBus<'g>>,
    vcpus: [Vcpu; VCPUS],
    loaded: usize,
    report: SoakReport,
}

/// Runs `ops` random operations with `list_registers` list registers,
/// then lets every vCPU finish, and checks every interrupt was completed
/// exactly once. Panics on any broken rule.
pub fn run(list_registers: u8, ops: u64, seed: u64) -> SoakReport {
    let config = Config {
        virtualization: Some(VirtConfig {
            list_registers,
            ..VirtConfig::QEMU
        }),
        ..Config::qemu_virt(1)
    };
    let gic = SharedGic::new(config).expect("valid");
    let gicd = Distributor::new(gic.frame(Frame::Gicd, 0));
    gicd.init(&DistributorConfig::default());
    gicd.enable_interrupt(IntId::new(MAINTENANCE_INTID).expect("25"))
        .expect("PPI 25 exists");
    gicd.enable();
    let host = CpuInterface::new(gic.frame(Frame::Gicc, 0));
    host.init(&CpuInterfaceConfig::default()).expect("valid");
    let mut vif: VirtualInterface<_, Q> = VirtualInterface::new(gic.frame(Frame::Gich, 0));
    vif.init();
    let mut s = Soak {
        gic: &gic,
        vif,
        host,
        guest: CpuInterface::new(gic.frame(Frame::Gicv, 0)),
        vcpus: Default::default(),
        loaded: 0,
        report: SoakReport::default(),
    };
    // vCPU 0 is resident (a new interface holds an empty vCPU); the
    // others start switched out.
    for k in 1..VCPUS {
        s.vcpus[k].ctx = Some(s.vif.new_context());
    }
    s.boot_guest();
    let mut rng = Rng::new(seed);
    for _ in 0..ops {
        s.step(&mut rng);
        s.report.ops += 1;
    }
    s.finish(&mut rng);
    s.report
}

impl<B: RegisterBus> Soak<'_, B> {
    fn boot_guest(&mut self) {
        let v = &mut self.vcpus[self.loaded];
        if !v.booted {
            self.guest
                .init(&CpuInterfaceConfig {
                    priority_mask: Priority(0xF8),
                    ..CpuInterfaceConfig::default()
                })
                .expect("valid");
            v.booted = true;
        }
    }

    fn step(&mut self, rng: &mut Rng) {
        match rng.below(16) {
            0..=4 => {
                let k = if rng.below(4) == 0 {
                    rng.below(VCPUS as u64) as usize
                } else {
                    self.loaded
                };
                self.inject(k, rng);
            }
            5..=8 => self.acknowledge(),
            9..=11 => self.end(rng),
            12..=14 => self.service(),
            _ => self.switch(rng.below(VCPUS as u64) as usize),
        }
    }

    /// A new interrupt for vCPU `k`, one not already outstanding there.
    fn inject(&mut self, k: usize, rng: &mut Rng) {
        let free = !self.vcpus[k].outstanding & ((1u64 << IDS) - 1);
        if free == 0 {
            return;
        }
        let mut pick = rng.below(u64::from(free.count_ones()));
        let mut n = free.trailing_zeros();
        while pick > 0 {
            n = (free & !((2u64 << n) - 1)).trailing_zeros();
            pick -= 1;
        }
        let id = IntId::new(FIRST_ID + n).expect("an SPI");
        let priority = Priority((rng.below(31) as u8) << 3);
        let lr = ListRegister::software(id, priority, Group::Group0)
            .expect("valid")
            .with_eoi_maintenance();
        let r = if k == self.loaded {
            self.vif.inject(lr)
        } else {
            match self.vcpus[k].ctx.as_mut() {
                Some(ctx) => ctx.inject(lr),
                None => panic!("vCPU {k} is switched out but has no context"),
            }
        };
        match r {
            Ok(_) => {
                self.vcpus[k].outstanding |= bit(id);
                self.report.injected += 1;
            }
            Err(Error::QueueFull(_)) => self.report.queue_full += 1,
            Err(e) => panic!("inject {id:?} into vCPU {k}: {e:?}"),
        }
    }

    fn acknowledge(&mut self) {
        let Some(ack) = self.guest.acknowledge() else {
            return;
        };
        let v = &mut self.vcpus[self.loaded];
        let id = ack.intid();
        assert!(
            id.get() >= FIRST_ID && id.get() < FIRST_ID + IDS,
            "vCPU {} acknowledged {id:?}, never injected",
            self.loaded
        );
        let b = bit(id);
        assert!(
            v.outstanding & b != 0,
            "vCPU {} acknowledged {id:?}, not injected into it",
            self.loaded
        );
        assert!(
            v.ended & b == 0 && !v.active.iter().any(|a| a.intid() == id),
            "vCPU {} acknowledged {id:?} twice",
            self.loaded
        );
        v.active.push(ack);
        self.report.acknowledged += 1;
    }

    /// The guest ends its innermost active interrupt (or, rarely, another:
    /// an EOI out of order is the guest's business, the GIC drops the
    /// running priority all the same).
    fn end(&mut self, rng: &mut Rng) {
        let v = &mut self.vcpus[self.loaded];
        if v.active.is_empty() {
            return;
        }
        let i = if rng.below(8) == 0 {
            rng.below(v.active.len() as u64) as usize
        } else {
            v.active.len() - 1
        };
        let ack = v.active.remove(i);
        self.guest.end_of_interrupt(ack);
        v.ended |= bit(ack.intid());
    }

    /// EL2 takes its pending physical interrupts: the maintenance interrupt
    /// is handled, and must be left deasserted.
    fn service(&mut self) {
        while self.gic.lock().irq(0) {
            let Some(ack) = self.host.acknowledge() else {
                break;
            };
            assert_eq!(
                ack.intid().get(),
                MAINTENANCE_INTID,
                "only the maintenance interrupt is enabled"
            );
            self.report.maintenance += 1;
            let summary = self.vif.handle_maintenance();
            if summary.is_spurious() {
                self.report.spurious_maintenance += 1;
            }
            let v = &mut self.vcpus[self.loaded];
            for c in &summary.completed {
                let b = bit(c.intid());
                assert!(
                    v.ended & b != 0,
                    "vCPU {}: {:?} reported completed before the guest's EOI",
                    self.loaded,
                    c.intid()
                );
                v.ended &= !b;
                v.outstanding &= !b;
                self.report.completed += 1;
            }
            assert!(
                !self.gic.lock().maintenance(0),
                "maintenance still asserted after handle_maintenance ({summary:?}, MISR {:?})",
                self.vif.misr()
            );
            self.host.end_of_interrupt(ack);
        }
    }

    fn switch(&mut self, to: usize) {
        if to == self.loaded {
            return;
        }
        let from = self.loaded;
        let mut out = save_lists(&mut self.vif).expect("a vCPU is resident");
        put_vmcr_apr(&self.vif, &mut out);
        self.vcpus[from].ctx = Some(out);
        assert!(
            !self.gic.lock().maintenance(0),
            "maintenance asserted with no vCPU loaded"
        );
        let next = self.vcpus[to]
            .ctx
            .take()
            .expect("a switched-out vCPU has its context");
        load_vmcr_apr(&self.vif, &next);
        if let Err((e, _)) = restore_lists(&mut self.vif, next) {
            panic!("restore of vCPU {to} refused: {e:?}");
        }
        self.loaded = to;
        self.boot_guest();
        self.report.switches += 1;
    }

    /// Every vCPU runs until it has nothing outstanding.
    fn finish(&mut self, rng: &mut Rng) {
        for round in 0..200 * VCPUS {
            if self.vcpus.iter().all(|v| v.outstanding == 0) {
                return;
            }
            self.switch(round % VCPUS);
            for _ in 0..4 * IDS {
                self.service();
                self.acknowledge();
                self.end(rng);
            }
            self.service();
        }
        let left: Vec<u64> = self.vcpus.iter().map(|v| v.outstanding).collect();
        panic!("interrupts never completed (bitmaps per vCPU from INTID {FIRST_ID}): {left:x?}");
    }
}
