//! The virtual GIC driven from four threads at once, one per vCPU (each
//! with its own physical CPU's GICH, GICC and GICV of the physical model),
//! as four physical CPUs would: every thread folds, serves GICD writes
//! (SGIs to the others, retargets and priorities of a shared SPI), kicks,
//! flushes and takes its interrupts, all concurrently. No deadlock (a
//! watchdog ends the process if the run does not finish), and every SGI
//! sent is received exactly once, by its target, with its source.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use gic_driver::regs::gicd::offset;
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, CpuMask, Distributor, DistributorConfig, EoiMode, IntId,
    Priority, SgiTarget, VirtualInterface,
};
use gic_model::{Config, Frame, SharedGic};
use gic_vgic::trap::AccessWidth;
use gic_vgic::{Vgic, VgicConfig};

const VCPUS: usize = 4;
/// SGIs each vCPU sends.
const SENDS: u32 = 100;
/// The SGIs sent between vCPUs.
const SGIS: [u32; 2] = [1, 2];
/// The physical SGI that kicks a CPU.
const KICK: u32 = 15;

fn id(n: u32) -> IntId {
    IntId::new(n).unwrap()
}

/// What the threads share besides the GICs: for each (source, target,
/// SGI) whether one is in flight (sent, not yet received), and counts.
struct Ledger {
    in_flight: [[[AtomicBool; 2]; VCPUS]; VCPUS],
    received: [[AtomicU32; VCPUS]; VCPUS],
    sent: [[AtomicU32; VCPUS]; VCPUS],
    total_received: AtomicU32,
}

impl Ledger {
    fn new() -> Self {
        Ledger {
            in_flight: Default::default(),
            received: Default::default(),
            sent: Default::default(),
            total_received: AtomicU32::new(0),
        }
    }
}

/// One physical CPU running vCPU `v` until every SGI of the run arrived.
fn run_cpu(v: u8, gic: &SharedGic, vgic: &Vgic, ledger: &Ledger) {
    let host_gicd = Distributor::new(gic.frame(Frame::Gicd, v));
    let host_gicc = CpuInterface::new(gic.frame(Frame::Gicc, v));
    host_gicc
        .init(&CpuInterfaceConfig {
            eoi_mode: EoiMode::Split,
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
    let mut vif: VirtualInterface<_> = VirtualInterface::new(gic.frame(Frame::Gich, v));
    vif.init();
    let guest = CpuInterface::new(gic.frame(Frame::Gicv, v));
    guest
        .init(&CpuInterfaceConfig {
            priority_mask: Priority(0xF8),
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
    let kick = |mask: u8| {
        let others = mask & !(1 << v) & 0x0F;
        if others != 0 {
            host_gicd
                .send_sgi(id(KICK), SgiTarget::List(CpuMask::from_bits(others)))
                .unwrap();
        }
    };
    let total = SENDS * VCPUS as u32;
    let mut sent = 0u32;
    let mut step = 0u32;
    let deadline = Instant::now() + Duration::from_secs(60);
    while ledger.total_received.load(Ordering::Acquire) < total {
        assert!(
            Instant::now() < deadline,
            "vCPU {v}: the run did not finish"
        );
        step = step.wrapping_add(1);
        // An exit: fold, serve (EL2's interrupts, trapped GICD writes),
        // flush.
        let fold = vgic.fold(v, &mut vif).expect("fold");
        kick(fold.kick);
        while let Some(a) = host_gicc.acknowledge() {
            host_gicc.end_of_interrupt(a);
            host_gicc.deactivate(a);
        }
        if sent < SENDS {
            let t = ((v as u32 + 1 + step % 3) % VCPUS as u32) as usize;
            let k = (step / 3 % 2) as usize;
            if !ledger.in_flight[v as usize][t][k].swap(true, Ordering::AcqRel) {
                ledger.sent[v as usize][t].fetch_add(1, Ordering::Relaxed);
                let sgir = (1u32 << t) << 16 | SGIS[k];
                let e = vgic.write(v, offset::SGIR, AccessWidth::Word, sgir);
                kick(e.kick);
                sent += 1;
            }
        }
        if step.is_multiple_of(7) {
            // The shared SPI's target and priority: lock traffic.
            let e = vgic.write(
                v,
                offset::ITARGETSR + 40,
                AccessWidth::Byte,
                1 << (step % 4),
            );
            kick(e.kick);
            let e = vgic.write(v, offset::IPRIORITYR + 40, AccessWidth::Byte, step & 0xF8);
            kick(e.kick);
        }
        vgic.flush(v, &mut vif).expect("flush");
        // The guest runs: takes what it is offered until EL2 must take
        // something (a kick, the maintenance interrupt).
        loop {
            let (irq, maintenance) = {
                let g = gic.lock();
                (g.irq(v), g.maintenance(v))
            };
            if irq || maintenance {
                break;
            }
            let Some(a) = guest.acknowledge() else {
                break;
            };
            let n = a.intid().get();
            let src = a.source_cpu().expect("only SGIs are sent") as usize;
            let k = SGIS.iter().position(|&s| s == n).expect("an SGI sent");
            assert!(src != v as usize, "vCPU {v} sent itself SGI {n}");
            assert!(
                ledger.in_flight[src][v as usize][k].swap(false, Ordering::AcqRel),
                "SGI {n} from vCPU {src} received by vCPU {v} twice"
            );
            ledger.received[src][v as usize].fetch_add(1, Ordering::Relaxed);
            ledger.total_received.fetch_add(1, Ordering::AcqRel);
            guest.end_of_interrupt(a);
        }
        // More threads than host cores spin on the locks: let the others on.
        thread::yield_now();
    }
    // Leave nothing listed.
    vgic.fold(v, &mut vif).expect("fold");
}

#[test]
fn four_vcpus_on_four_threads_trap_at_once_without_deadlock_and_receive_each_sgi_once() {
    let gic = SharedGic::new(Config::qemu_virt(VCPUS as u8)).unwrap();
    {
        let gicd = Distributor::new(gic.frame(Frame::Gicd, 0));
        gicd.init(&DistributorConfig::default());
        gicd.enable();
        for c in 1..VCPUS as u8 {
            Distributor::new(gic.frame(Frame::Gicd, c)).init_cpu(&DistributorConfig::default());
        }
    }
    let vgic = Vgic::new(VgicConfig {
        vcpus: VCPUS as u8,
        lines: 288,
    })
    .unwrap();
    // The guest's distributor forwards both groups.
    vgic.write(0, offset::CTLR, AccessWidth::Word, 0b11);
    let ledger = Ledger::new();
    let finished = std::sync::Arc::new(AtomicBool::new(false));
    let watchdog = {
        let finished = finished.clone();
        thread::spawn(move || {
            let start = Instant::now();
            while !finished.load(Ordering::Acquire) {
                if start.elapsed() > Duration::from_secs(120) {
                    eprintln!("deadlock: the threads did not finish in 120 s");
                    std::process::abort();
                }
                thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let start = Instant::now();
    thread::scope(|s| {
        for v in 0..VCPUS as u8 {
            let (gic, vgic, ledger) = (&gic, &vgic, &ledger);
            s.spawn(move || run_cpu(v, gic, vgic, ledger));
        }
    });
    finished.store(true, Ordering::Release);
    watchdog.join().unwrap();
    let elapsed = start.elapsed();
    for src in 0..VCPUS {
        for t in 0..VCPUS {
            let sent = ledger.sent[src][t].load(Ordering::Relaxed);
            let got = ledger.received[src][t].load(Ordering::Relaxed);
            assert_eq!(got, sent, "SGIs from vCPU {src} to vCPU {t}");
        }
    }
    assert_eq!(
        ledger.total_received.load(Ordering::Relaxed),
        SENDS * VCPUS as u32
    );
    let stats = vgic.stats();
    println!(
        "{} SGIs in {elapsed:?}: {} GICD writes, {} folds ({} locked), {} flushes ({} locked)",
        SENDS * VCPUS as u32,
        stats.gicd_writes,
        stats.folds,
        stats.locked_folds,
        stats.flushes,
        stats.locked_flushes
    );
    for v in 0..VCPUS as u8 {
        assert!(vgic.listed(v).is_empty());
    }
}
