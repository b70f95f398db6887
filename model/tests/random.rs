//! Long random sequences of accesses to every frame (any offset, width,
//! value, CPU number, including absent CPUs and unaligned offsets) and
//! input line changes, on models of random shape. After every step the
//! model must not have panicked and the architectural invariants must
//! hold; snapshots must round-trip, and damaged snapshots must be refused
//! without changing anything.

mod common;

use common::*;
use gic_driver::regs::gicc::offset as c;
use gic_driver::regs::gicd::offset as d;
use gic_model::{VirtConfig, MAINTENANCE_INTID};
use proptest::prelude::*;

fn config() -> impl Strategy<Value = Config> {
    let virt = prop_oneof![
        Just(None),
        (1u8..=64).prop_map(|list_registers| Some(VirtConfig {
            list_registers,
            ..VirtConfig::QEMU
        })),
    ];
    (1u8..=8, 1u32..=32, 4u8..=8, virt).prop_map(|(cpus, words, priority_bits, virtualization)| {
        Config {
            cpus,
            lines: words * 32,
            priority_bits,
            virtualization,
        }
    })
}

#[derive(Debug, Clone)]
enum Op {
    Read(Frame, u8, usize, Width),
    Write(Frame, u8, usize, Width, u32),
    Line(u8, u32, bool),
    /// Read GICC_IAR of a CPU (word, aligned).
    Ack(u8),
    /// Complete the CPU's most recent acknowledged interrupt: EOIR, then
    /// DIR too if the flag is set.
    Complete(u8, bool),
    Snapshot(Vec<(usize, u8)>, Option<usize>),
}

/// Offsets that hit registers more often than a uniform draw would.
fn offset(frame: Frame) -> BoxedStrategy<usize> {
    let bases: &[usize] = match frame {
        Frame::Gicd => &[
            d::CTLR,
            d::TYPER,
            d::IGROUPR,
            d::ISENABLER,
            d::ICENABLER,
            d::ISPENDR,
            d::ICPENDR,
            d::ISACTIVER,
            d::ICACTIVER,
            d::IPRIORITYR,
            d::ITARGETSR,
            d::ICFGR,
            d::SGIR,
            d::SGIR,
            d::CPENDSGIR,
            d::SPENDSGIR,
        ],
        Frame::Gicc | Frame::Gicv => &[
            c::CTLR,
            c::PMR,
            c::BPR,
            c::IAR,
            c::IAR,
            c::IAR,
            c::EOIR,
            c::EOIR,
            c::HPPIR,
            c::ABPR,
            c::APR,
            c::DIR,
        ],
        Frame::Gich => &[0x0, 0x8, 0x10, 0x20, 0x30, 0xF0, 0x100, 0x104, 0x108, 0x10C],
    };
    let bases = bases.to_vec();
    prop_oneof![
        3 => (proptest::sample::select(bases.clone()), 0usize..8).prop_map(|(b, k)| b + 4 * k),
        1 => (proptest::sample::select(bases), 0usize..40).prop_map(|(b, k)| b + k),
        1 => 0usize..0x2100,
        1 => any::<usize>(),
    ]
    .boxed()
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        4 => Just(Frame::Gicd),
        4 => Just(Frame::Gicc),
        1 => Just(Frame::Gich),
        1 => Just(Frame::Gicv),
    ]
}

fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        Just(0),
        Just(u32::MAX),
        0u32..64,
        (0u32..4, 0u32..256, 0u32..16).prop_map(|(f, t, id)| f << 24 | t << 16 | id),
        (0u32..1024, 0u32..8).prop_map(|(id, cpu)| id | cpu << 10),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let cpu = prop_oneof![8 => 0u8..4, 1 => 0u8..10, 1 => any::<u8>()];
    let width = prop_oneof![3 => Just(Width::Word), 1 => Just(Width::Byte)];
    let access = (frame(), cpu.clone(), width).prop_flat_map(|(f, cpu, w)| {
        (
            Just(f),
            Just(cpu),
            offset(f),
            Just(w),
            value(),
            any::<bool>(),
        )
    });
    prop_oneof![
        8 => access.prop_map(|(f, cpu, off, w, v, write)| if write {
            Op::Write(f, cpu, off, w, v)
        } else {
            Op::Read(f, cpu, off, w)
        }),
        3 => (cpu.clone(), prop_oneof![0u32..64, 0u32..1100], any::<bool>())
            .prop_map(|(cpu, id, level)| Op::Line(cpu, id, level)),
        2 => (0u8..9).prop_map(Op::Ack),
        2 => (0u8..9, any::<bool>()).prop_map(|(cpu, dir)| Op::Complete(cpu, dir)),
        1 => (
            proptest::collection::vec((any::<usize>(), 1u8..=255), 0..3),
            proptest::option::of(any::<usize>()),
        )
            .prop_map(|(flips, cut)| Op::Snapshot(flips, cut)),
    ]
}

/// Architectural invariants visible through the registers and outputs.
fn check_invariants(gic: &Gic) -> Result<(), TestCaseError> {
    let config = *gic.config();
    // Reads other than IAR have no side effects: check on a copy, then
    // compare.
    let mut t = TestGic { gic: gic.clone() };
    let typer = t.gicd_read(0, d::TYPER);
    prop_assert_eq!(typer & 0x1F, config.lines / 32 - 1);
    prop_assert_eq!(typer >> 5 & 0x7, config.cpus as u32 - 1);
    for cpu in 0..config.cpus {
        let rpr = t.gicc_rpr(cpu);
        let aprs: Vec<u32> = (0..4).map(|n| t.gicc_apr(cpu, n)).collect();
        prop_assert_eq!(
            rpr == 0xFF,
            aprs.iter().all(|&a| a == 0),
            "RPR {:#x} APR {:x?}",
            rpr,
            aprs
        );
        prop_assert_eq!(rpr, gic.running_priority(cpu) as u32);
        let own = if config.cpus > 1 {
            0x0101_0101u32 << cpu
        } else {
            0
        };
        prop_assert_eq!(t.gicd_read(cpu, d::ITARGETSR), own);
        prop_assert_eq!(t.gicd_read(cpu, d::ICFGR), 0xAAAA_AAAA);
        prop_assert_eq!(t.gicd_read(cpu, d::ISENABLER) & 0xFFFF, 0xFFFF);
        let pmr = t.gicc_read(cpu, c::PMR);
        prop_assert_eq!(pmr & !(config.implemented_priority() as u32), 0);
        prop_assert!(t.gicc_read(cpu, c::BPR) >= config.min_binary_point() as u32);
        prop_assert!(t.gicc_read(cpu, c::ABPR) > config.min_binary_point() as u32);
        let (irq, fiq) = (gic.irq(cpu), gic.fiq(cpu));
        prop_assert!(!(irq && fiq));
        let hppir = t.gicc_hppir(cpu) & 0x3FF;
        prop_assert!(hppir < config.lines.min(1020) || hppir == 1022 || hppir == 1023);
        if irq || fiq {
            let id = gic.highest_pending(cpu).expect("signalled implies pending");
            prop_assert!(hppir == id || hppir == 1022);
            prop_assert!((gic.priority(cpu, id).unwrap() as u32) < pmr);
            prop_assert!(gic.is_pending(cpu, id) && gic.is_enabled(cpu, id));
            prop_assert!(!gic.is_active(cpu, id));
            let mut ack = TestGic { gic: gic.clone() };
            let v = ack.gicc_iar(cpu) & 0x3FF;
            prop_assert!(v == id || v == 1022, "signalled {} but IAR {}", id, v);
        }
        if config.virtualization.is_some() {
            prop_assert_eq!(gic.maintenance(cpu), gic.line_level(cpu, MAINTENANCE_INTID));
        } else {
            prop_assert!(!gic.virq(cpu) && !gic.vfiq(cpu) && !gic.maintenance(cpu));
        }
    }
    prop_assert!(&t.gic == gic, "a side-effect-free read changed the model");
    Ok(())
}

/// The model and, per CPU, the IAR values not yet completed.
struct Run {
    gic: Gic,
    acked: [Vec<u32>; 9],
}

impl Run {
    fn new(gic: Gic) -> Run {
        Run {
            gic,
            acked: Default::default(),
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Ack(cpu) => {
                let v = self.gic.read(Frame::Gicc, cpu, c::IAR, Width::Word);
                check_iar(&self.gic, cpu, v)?;
                if v & 0x3FF < 1020 {
                    self.acked[cpu as usize].push(v);
                }
            }
            Op::Complete(cpu, dir) => {
                if let Some(v) = self.acked[cpu as usize].pop() {
                    self.gic.write(Frame::Gicc, cpu, c::EOIR, Width::Word, v);
                    if dir {
                        self.gic.write(Frame::Gicc, cpu, c::DIR, Width::Word, v);
                    }
                }
            }
            _ => step(&mut self.gic, op)?,
        }
        check_invariants(&self.gic)
    }
}

/// Checks an IAR value `v` just read by `cpu`.
fn check_iar(gic: &Gic, cpu: u8, v: u32) -> Result<(), TestCaseError> {
    if cpu >= gic.config().cpus {
        prop_assert_eq!(v, 0);
        return Ok(());
    }
    let id = v & 0x3FF;
    prop_assert_eq!(v & !0x1FFF, 0);
    if id < 1020 {
        prop_assert!(id < gic.config().lines, "IAR {} beyond lines", id);
        prop_assert!(gic.is_active(cpu, id), "acknowledged {} not active", id);
        if id >= 16 {
            prop_assert_eq!(v >> 10, 0, "CPUID only for SGIs");
        }
    } else {
        prop_assert!(id == 1022 || id == 1023, "IAR {}", id);
    }
    Ok(())
}

fn step(gic: &mut Gic, op: &Op) -> Result<(), TestCaseError> {
    match *op {
        Op::Ack(_) | Op::Complete(..) => {}
        Op::Read(frame, cpu, off, width) => {
            let v = gic.read(frame, cpu, off, width);
            if width == Width::Byte {
                prop_assert!(v <= 0xFF);
            }
            if frame == Frame::Gicc && off == c::IAR && width == Width::Word {
                check_iar(gic, cpu, v)?;
            }
        }
        Op::Write(frame, cpu, off, width, v) => gic.write(frame, cpu, off, width, v),
        Op::Line(cpu, id, level) => {
            let r = gic.set_line(cpu, id, level);
            let c = *gic.config();
            let ok = id >= 16
                && id < c.lines.min(1020)
                && (id >= 32 || cpu < c.cpus)
                && !(id == MAINTENANCE_INTID && c.virtualization.is_some());
            prop_assert_eq!(r.is_ok(), ok, "set_line({}, {}) = {:?}", cpu, id, r);
            if ok {
                prop_assert_eq!(gic.line_level(if id < 32 { cpu } else { 0 }, id), level);
            }
        }
        Op::Snapshot(ref flips, cut) => {
            let bytes = snapshot_bytes(gic);
            let mut fresh = Gic::new(*gic.config()).unwrap();
            fresh.set_from_bytes(&bytes).unwrap();
            prop_assert!(&fresh == gic, "snapshot round trip changed the model");
            let mut damaged = bytes.clone();
            for &(at, x) in flips {
                let n = damaged.len();
                damaged[at % n] ^= x;
            }
            if let Some(cut) = cut {
                damaged.truncate(cut % (bytes.len() + 1));
            }
            let mut target = gic.clone();
            match target.set_from_bytes(&damaged) {
                Ok(()) => check_invariants(&target)?,
                Err(_) => prop_assert!(&target == gic, "failed restore changed the model"),
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 96,
        max_shrink_iters: 2000,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_accesses_never_panic_and_keep_invariants(
        config in config(),
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let mut run = Run::new(Gic::new(config).unwrap());
        check_invariants(&run.gic)?;
        for op in &ops {
            run.step(op)?;
        }
    }

    /// A model driven into an interesting state by an enabling prologue,
    /// then random traffic: the invariants get exercised with interrupts
    /// actually flowing.
    #[test]
    fn random_traffic_on_an_enabled_gic_keeps_invariants(
        config in config(),
        ops in proptest::collection::vec(op(), 1..200),
    ) {
        let mut t = TestGic::new(config);
        t.enable_all();
        let lines = config.lines.min(1020);
        for id in 16..lines {
            t.set_intid_bit(0, d::ISENABLER, id);
        }
        for cpu in 0..config.cpus {
            t.gicd_write(cpu, d::ISENABLER, u32::MAX);
            t.gicd_write(cpu, d::IPRIORITYR + 16, 0x4080_C0F0);
        }
        for off in (d::ITARGETSR + 32..d::ITARGETSR + lines as usize).step_by(4) {
            t.gicd_write(0, off, u32::MAX);
        }
        let mut run = Run::new(t.gic);
        for op in &ops {
            run.step(op)?;
        }
    }

    #[test]
    fn any_config_is_accepted_or_refused_without_panic(
        cpus in any::<u8>(),
        lines in prop_oneof![any::<u32>(), (0u32..40).prop_map(|w| w * 32)],
        priority_bits in any::<u8>(),
        virt in proptest::option::of((any::<u8>(), any::<u8>(), any::<u8>())),
    ) {
        let config = Config {
            cpus,
            lines,
            priority_bits,
            virtualization: virt.map(|(list_registers, priority_bits, preemption_bits)| VirtConfig {
                list_registers,
                priority_bits,
                preemption_bits,
                np_counts_pending_active: list_registers % 2 == 1,
            }),
        };
        let made = Gic::new(config);
        prop_assert_eq!(made.is_ok(), config.validate().is_ok());
        if let Ok(mut gic) = made {
            let probe = snapshot_bytes(&gic);
            prop_assert!(probe.len() <= gic_model::MAX_SNAPSHOT_LEN);
            gic.set_from_bytes(&probe).unwrap();
        }
    }

    #[test]
    fn arbitrary_bytes_never_restore_into_a_changed_model_on_error(
        config in config(),
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        keep_header in any::<bool>(),
    ) {
        let mut gic = Gic::new(config).unwrap();
        let mut data = if keep_header { b"GICS\x01\0\0\0".to_vec() } else { Vec::new() };
        data.extend_from_slice(&bytes);
        let before = gic.clone();
        if gic.set_from_bytes(&data).is_err() {
            prop_assert!(gic == before);
        }
    }
}
