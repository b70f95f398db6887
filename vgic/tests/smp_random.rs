//! Randomized runs with four vCPUs, each on its own physical CPU: SGIs
//! with every target filter (list, all but self, self, and the reserved
//! one) between the vCPUs, edge SPIs raised by a device or by GICD_ISPENDR
//! and cleared by GICD_ICPENDR from any vCPU, their targets and priorities
//! changed by any vCPU, acknowledges, EOIs and exits, interleaved. Kicks
//! are physical SGIs, taken before the kicked vCPU's guest runs on.
//!
//! A small reference of the architecture's state (per target and source
//! for SGIs, per SPI its pending and active state and targets) checks
//! every acknowledge: the interrupt is pending for that vCPU in the
//! reference, not active, targeted at it, and an SGI carries the source
//! that sent it. After the run, with everything completed, every pending
//! state is delivered and nothing is left: each interrupt is delivered
//! exactly once. The bench checks the one-owner rules at every exit.

mod smp;

use gic_driver::regs::gicd::offset;
use gic_driver::{Acknowledged, CpuMask, Priority, Trigger};
use gic_vgic::trap::AccessWidth;
use proptest::prelude::*;
use smp::*;

const SGIS: [u32; 3] = [1, 2, 3];
const SPIS: [u32; 6] = [40, 41, 42, 43, 44, 45];

#[derive(Debug, Clone, Copy)]
enum Filter {
    /// GICD_SGIR.TargetListFilter 0b00 with this CPUTargetList (maybe
    /// empty, maybe naming absent vCPUs).
    List(u8),
    AllOthers,
    SelfOnly,
    /// 0b11: sends nothing.
    Reserved,
}

#[derive(Debug, Clone)]
enum Op {
    /// vCPU `from` writes GICD_SGIR.
    Sgi {
        from: u8,
        sgi: usize,
        filter: Filter,
    },
    /// A device pulses an SPI's line, from EL2 on CPU `cpu`.
    Pulse { cpu: u8, spi: usize },
    /// vCPU `by` writes GICD_ISPENDR.
    SetPending { by: u8, spi: usize },
    /// vCPU `by` writes GICD_ICPENDR.
    ClearPending { by: u8, spi: usize },
    /// vCPU `by` writes an SPI's GICD_ITARGETSR byte.
    Retarget { by: u8, spi: usize, targets: u8 },
    /// vCPU `by` writes an SPI's GICD_IPRIORITYR byte (8 * p).
    Priority { by: u8, spi: usize, p: u8 },
    /// vCPU `v` reads GICV_IAR.
    Ack(u8),
    /// vCPU `v` ends its most recently acknowledged interrupt.
    Eoi(u8),
    /// vCPU `v` exits for another reason.
    Exit(u8),
}

fn vcpu() -> impl Strategy<Value = u8> {
    0..VCPUS
}

fn filter() -> impl Strategy<Value = Filter> {
    prop_oneof![
        4 => (0u8..=255).prop_map(Filter::List),
        2 => Just(Filter::AllOthers),
        2 => Just(Filter::SelfOnly),
        1 => Just(Filter::Reserved),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let spi = 0..SPIS.len();
    prop_oneof![
        6 => (vcpu(), 0..SGIS.len(), filter()).prop_map(|(from, sgi, filter)| Op::Sgi { from, sgi, filter }),
        3 => (vcpu(), spi.clone()).prop_map(|(cpu, spi)| Op::Pulse { cpu, spi }),
        1 => (vcpu(), spi.clone()).prop_map(|(by, spi)| Op::SetPending { by, spi }),
        2 => (vcpu(), spi.clone()).prop_map(|(by, spi)| Op::ClearPending { by, spi }),
        3 => (vcpu(), spi.clone(), 0u8..16).prop_map(|(by, spi, targets)| Op::Retarget { by, spi, targets }),
        1 => (vcpu(), spi, 0u8..31).prop_map(|(by, spi, p)| Op::Priority { by, spi, p }),
        8 => vcpu().prop_map(Op::Ack),
        6 => vcpu().prop_map(Op::Eoi),
        2 => vcpu().prop_map(Op::Exit),
    ]
}

/// The architecture's state of one SPI.
#[derive(Debug, Clone, Copy, Default)]
struct Spi {
    pending: bool,
    /// Active, on the vCPU that acknowledged it.
    active: Option<u8>,
    targets: u8,
}

#[derive(Default)]
struct Reference {
    /// For each target vCPU and SGI, the sources it is pending from.
    sgi_pending: [[u8; 16]; VCPUS as usize],
    /// For each vCPU and SGI, the source of the active one.
    sgi_active: [[Option<u8>; 16]; VCPUS as usize],
    spis: [Spi; SPIS.len()],
}

impl Reference {
    fn spi(&mut self, n: u32) -> &mut Spi {
        let k = SPIS.iter().position(|&s| s == n).unwrap();
        &mut self.spis[k]
    }

    fn nothing_pending(&self) -> bool {
        self.sgi_pending.iter().flatten().all(|&s| s == 0) && self.spis.iter().all(|s| !s.pending)
    }
}

struct Run<'m, 'g> {
    m: &'m Smp<'g>,
    guests: Vec<Guest<'m, 'g>>,
    r: Reference,
    /// Each vCPU's acknowledged and not yet ended interrupts, innermost last.
    stacks: Vec<Vec<Acknowledged>>,
    delivered: usize,
}

impl<'m, 'g> Run<'m, 'g> {
    fn new(m: &'m Smp<'g>) -> Self {
        let guests = Guest::boot_all(m);
        let mut r = Reference::default();
        for (k, &n) in SPIS.iter().enumerate() {
            let g = &guests[0];
            g.gicd.set_trigger(id(n), Trigger::Edge).unwrap();
            g.gicd.set_priority(id(n), Priority(0x80)).unwrap();
            let targets = 1 << (k % VCPUS as usize);
            g.gicd
                .set_targets(id(n), CpuMask::from_bits(targets))
                .unwrap();
            g.gicd.enable_interrupt(id(n)).unwrap();
            r.spis[k].targets = targets;
        }
        Run {
            m,
            guests,
            r,
            stacks: vec![Vec::new(); VCPUS as usize],
            delivered: 0,
        }
    }

    fn ack(&mut self, v: u8) -> Result<bool, TestCaseError> {
        let Some(a) = self.guests[v as usize].ack() else {
            return Ok(false);
        };
        let n = a.intid().get();
        if n < 16 {
            let src = a.source_cpu().unwrap();
            prop_assert!(SGIS.contains(&n), "SGI {} never sent", n);
            let pending = &mut self.r.sgi_pending[v as usize][n as usize];
            prop_assert!(
                *pending & (1 << src) != 0,
                "SGI {} from vCPU {} delivered to vCPU {} while not pending from it (pending from {:#b})",
                n,
                src,
                v,
                *pending
            );
            let active = &mut self.r.sgi_active[v as usize][n as usize];
            prop_assert!(
                active.is_none(),
                "SGI {} delivered to vCPU {} while active",
                n,
                v
            );
            *pending &= !(1 << src);
            *active = Some(src);
        } else {
            prop_assert!(SPIS.contains(&n), "INTID {} never used", n);
            let s = self.r.spi(n);
            prop_assert!(
                s.pending,
                "SPI {} delivered to vCPU {} while not pending",
                n,
                v
            );
            prop_assert!(
                s.active.is_none(),
                "SPI {} delivered to vCPU {} while active on {:?}",
                n,
                v,
                s.active
            );
            prop_assert!(
                s.targets & (1 << v) != 0,
                "SPI {} delivered to vCPU {}, targets {:#b}",
                n,
                v,
                s.targets
            );
            s.pending = false;
            s.active = Some(v);
        }
        self.stacks[v as usize].push(a);
        self.delivered += 1;
        Ok(true)
    }

    fn eoi(&mut self, v: u8) {
        let Some(a) = self.stacks[v as usize].pop() else {
            return;
        };
        self.guests[v as usize].eoi(a);
        let n = a.intid().get();
        if n < 16 {
            self.r.sgi_active[v as usize][n as usize] = None;
        } else {
            let s = self.r.spi(n);
            if s.active == Some(v) {
                s.active = None;
            }
        }
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        let m = self.m;
        match *op {
            Op::Sgi { from, sgi, filter } => {
                let n = SGIS[sgi];
                let present = (1u8 << VCPUS) - 1;
                let (code, list, targets) = match filter {
                    Filter::List(l) => (0, l, l & present),
                    Filter::AllOthers => (1, 0, present & !(1 << from)),
                    Filter::SelfOnly => (2, 0, 1 << from),
                    Filter::Reserved => (3, 0xFF, 0),
                };
                let value = code << 24 | (list as u64) << 16 | n as u64;
                m.trapped_write(from, offset::SGIR, AccessWidth::Word, value);
                for t in 0..VCPUS as usize {
                    if targets & (1 << t) != 0 {
                        self.r.sgi_pending[t][n as usize] |= 1 << from;
                    }
                }
            }
            Op::Pulse { cpu, spi } => {
                m.set_line(cpu, SPIS[spi], true);
                m.set_line(cpu, SPIS[spi], false);
                self.r.spis[spi].pending = true;
            }
            Op::SetPending { by, spi } => {
                self.guests[by as usize]
                    .gicd
                    .set_pending(id(SPIS[spi]))
                    .unwrap();
                self.r.spis[spi].pending = true;
            }
            Op::ClearPending { by, spi } => {
                self.guests[by as usize]
                    .gicd
                    .clear_pending(id(SPIS[spi]))
                    .unwrap();
                self.r.spis[spi].pending = false;
            }
            Op::Retarget { by, spi, targets } => {
                let n = SPIS[spi] as usize;
                m.trapped_write(by, offset::ITARGETSR + n, AccessWidth::Byte, targets as u64);
                self.r.spis[spi].targets = targets;
            }
            Op::Priority { by, spi, p } => {
                self.guests[by as usize]
                    .gicd
                    .set_priority(id(SPIS[spi]), Priority(8 * p))
                    .unwrap();
            }
            Op::Ack(v) => {
                self.ack(v)?;
            }
            Op::Eoi(v) => self.eoi(v),
            Op::Exit(v) => m.plain_exit(v),
        }
        Ok(())
    }

    /// Ends everything, targets every SPI at some vCPU, and takes what is
    /// left until nothing comes.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for (k, &n) in SPIS.iter().enumerate() {
            if self.r.spis[k].targets == 0 {
                let t = 1 << (k % VCPUS as usize);
                self.m
                    .trapped_write(0, offset::ITARGETSR + n as usize, AccessWidth::Byte, t);
                self.r.spis[k].targets = t as u8;
            }
        }
        for _round in 0..64 {
            let mut progress = false;
            for v in 0..VCPUS {
                while !self.stacks[v as usize].is_empty() {
                    self.eoi(v);
                    progress = true;
                }
                while self.ack(v)? {
                    self.eoi(v);
                    progress = true;
                    prop_assert!(self.delivered < 100_000, "endless deliveries");
                }
            }
            self.m.settle();
            if !progress {
                break;
            }
        }
        for v in 0..VCPUS {
            self.m.plain_exit(v);
        }
        let r = &self.r;
        prop_assert!(
            r.nothing_pending(),
            "never delivered: SGIs {:?}, SPIs {:?}",
            r.sgi_pending,
            r.spis
        );
        let d = self.m.vgic.distributor();
        for v in 0..VCPUS {
            prop_assert!(
                self.m.vgic.listed(v).is_empty(),
                "vCPU {} lists something",
                v
            );
            for &n in SGIS.iter().chain(SPIS.iter()) {
                prop_assert!(!d.is_pending(v, n), "INTID {} pending for vCPU {}", n, v);
                prop_assert!(!d.is_active(v, n), "INTID {} active on vCPU {}", n, v);
            }
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_interrupt_is_delivered_exactly_once_to_a_vcpu_it_targets_with_its_source(
        ops in proptest::collection::vec(op(), 1..160)
    ) {
        let g = physical_gic();
        let m = Smp::new(&g);
        let mut run = Run::new(&m);
        for op in &ops {
            run.step(op)?;
        }
        run.drain()?;
    }
}
