//! The Distributor's selection of the highest-priority pending interrupt
//! (IHI 0048B 3.2.2, 3.3) against a line-by-line reference built only from
//! the model's public per-interrupt state: on random states of random
//! shape, the model's word-summary selection picks exactly what a scan of
//! every INTID picks.

mod common;

use common::*;
use gic_driver::regs::gicd::offset as d;
use gic_model::IntIdSet;
use proptest::prelude::*;

/// What a scan of every INTID picks for `cpu`: enabled, pending, not
/// active, targeted at `cpu` (SPIs), its group forwarded and accepted, not
/// in `except`; the lowest priority value, ties to the lowest INTID.
fn reference(gic: &Gic, cpu: u8, groups: (bool, bool), except: &IntIdSet) -> Option<u32> {
    let mut probe = gic.clone();
    let ctlr = probe.read(Frame::Gicd, 0, d::CTLR, Width::Word);
    let (g0, g1) = (groups.0 && ctlr & 1 != 0, groups.1 && ctlr & 2 != 0);
    let cpus = gic.config().cpus;
    let mut best: Option<(u8, u32)> = None;
    for id in 0..gic.config().lines.min(1020) {
        let targeted = id < 32
            || cpus == 1
            || probe.read(Frame::Gicd, 0, d::ITARGETSR + id as usize, Width::Byte) & (1 << cpu)
                != 0;
        let group_ok = if gic.is_group1(cpu, id) { g1 } else { g0 };
        if gic.is_enabled(cpu, id)
            && gic.is_pending(cpu, id)
            && !gic.is_active(cpu, id)
            && targeted
            && group_ok
            && !except.contains(id)
        {
            let p = gic.priority(cpu, id).unwrap();
            if best.is_none_or(|(bp, _)| p < bp) {
                best = Some((p, id));
            }
        }
    }
    best.map(|(_, id)| id)
}

#[derive(Debug, Clone)]
struct State {
    config: Config,
    ctlr: u32,
    /// (word index, ISENABLER, ISPENDR, ISACTIVER, IGROUPR, ICFGR edge bits) per word.
    words: Vec<(usize, u32, u32, u32, u32, u32)>,
    priorities: Vec<(u32, u8)>,
    targets: Vec<(u32, u8)>,
    lines: Vec<(u8, u32, bool)>,
    sgis: Vec<(u8, u32, u8)>,
    gicc_ctlr: u32,
    except: Vec<u32>,
}

fn state() -> impl Strategy<Value = State> {
    (1u8..=8, 1u32..=32, 4u8..=8).prop_flat_map(|(cpus, words, bits)| {
        let lines = words * 32;
        let sparse =
            prop_oneof![3 => Just(0u32), 1 => any::<u32>(), 1 => (0u32..32).prop_map(|b| 1 << b)];
        (
            Just(Config {
                cpus,
                lines,
                priority_bits: bits,
                virtualization: None,
            }),
            0u32..4,
            proptest::collection::vec(
                (
                    0usize..words as usize,
                    prop_oneof![Just(u32::MAX), any::<u32>()],
                    sparse.clone(),
                    sparse.clone(),
                    sparse.clone(),
                    sparse,
                ),
                0..8,
            ),
            proptest::collection::vec((0u32..lines, any::<u8>()), 0..24),
            proptest::collection::vec((32u32..lines.max(33), any::<u8>()), 0..24),
            proptest::collection::vec((0u8..cpus, 16u32..lines, any::<bool>()), 0..16),
            proptest::collection::vec((0u8..cpus, 0u32..16, any::<u8>()), 0..4),
            0u32..4,
            proptest::collection::vec(0u32..lines, 0..6),
        )
            .prop_map(
                |(config, ctlr, words, priorities, targets, lines, sgis, gicc_ctlr, except)| {
                    State {
                        config,
                        ctlr,
                        words,
                        priorities,
                        targets,
                        lines,
                        sgis,
                        gicc_ctlr,
                        except,
                    }
                },
            )
    })
}

fn build(s: &State) -> (Gic, IntIdSet) {
    let mut gic = Gic::new(s.config).unwrap();
    let w = Width::Word;
    gic.write(Frame::Gicd, 0, d::CTLR, w, s.ctlr);
    for cpu in 0..s.config.cpus {
        gic.write(Frame::Gicc, cpu, gicc::offset::CTLR, w, s.gicc_ctlr);
    }
    for &(n, en, pend, act, grp, edge) in &s.words {
        let cpu = (n as u8) % s.config.cpus;
        for (base, v) in [
            (d::ISENABLER, en),
            (d::IGROUPR, grp),
            (d::ISPENDR, pend),
            (d::ISACTIVER, act),
        ] {
            gic.write(Frame::Gicd, cpu, base + 4 * n, w, v);
        }
        // Two ICFGR words per 32 INTIDs: the odd bit of each field is "edge".
        let spread = |half: u32| (0..16).fold(0, |a, i| a | ((half >> i) & 1) << (2 * i + 1));
        gic.write(Frame::Gicd, cpu, d::ICFGR + 8 * n, w, spread(edge & 0xFFFF));
        gic.write(
            Frame::Gicd,
            cpu,
            d::ICFGR + 8 * n + 4,
            w,
            spread(edge >> 16),
        );
    }
    for &(id, p) in &s.priorities {
        gic.write(
            Frame::Gicd,
            0,
            d::IPRIORITYR + id as usize,
            Width::Byte,
            p as u32,
        );
    }
    for &(id, t) in &s.targets {
        gic.write(
            Frame::Gicd,
            0,
            d::ITARGETSR + id as usize,
            Width::Byte,
            t as u32,
        );
    }
    for &(cpu, id, level) in &s.lines {
        let _ = gic.set_line(cpu, id, level);
    }
    for &(cpu, sgi, targets) in &s.sgis {
        gic.write(Frame::Gicd, cpu, d::SGIR, w, (targets as u32) << 16 | sgi);
    }
    let mut except = IntIdSet::EMPTY;
    for &id in &s.except {
        except.insert(id);
    }
    (gic, except)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn selection_is_the_lowest_priority_value_then_the_lowest_intid(s in state()) {
        let (gic, except) = build(&s);
        let groups = (s.gicc_ctlr & 1 != 0, s.gicc_ctlr & 2 != 0);
        for cpu in 0..s.config.cpus {
            prop_assert_eq!(gic.highest_pending(cpu), reference(&gic, cpu, groups, &IntIdSet::EMPTY));
            prop_assert_eq!(
                gic.highest_pending_except(cpu, &except).map(|p| p.intid),
                reference(&gic, cpu, (true, true), &except)
            );
        }
    }
}
