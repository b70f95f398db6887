//! Unit tests for the GICH side, against the small computed-register fake
//! in `fake.rs`. Register costs are measured with `bus::Counting`.

extern crate std;

use std::vec::Vec;

use super::fake::FakeGich;
use super::*;
use crate::bus::{Counting, RegisterBus};
use crate::regs::gich::{offset, HCR};
use crate::{EoiMode, Error, Group, IntId, Priority};

type Vif<const Q: usize = 32> = VirtualInterface<Counting<FakeGich>, Q>;

fn id(n: u32) -> IntId {
    IntId::new(n).unwrap()
}
fn sw(n: u32, prio: u8) -> ListRegister {
    ListRegister::software(id(n), Priority(prio), Group::Group1).unwrap()
}
fn sw_eoi(n: u32, prio: u8) -> ListRegister {
    sw(n, prio).with_eoi_maintenance()
}
fn hw(n: u32, p: u32, prio: u8) -> ListRegister {
    ListRegister::hardware(id(n), id(p), Priority(prio), Group::Group1).unwrap()
}

fn setup<const Q: usize>(nlr: usize) -> Vif<Q> {
    let mut v = VirtualInterface::new(Counting::new(FakeGich::new(nlr)));
    v.init();
    v.bus().reset();
    v
}
fn guest<const Q: usize>(v: &Vif<Q>) -> &FakeGich {
    v.bus().inner()
}
/// Handles maintenance interrupts while asserted; the line must drop
/// within two calls (no storm). Returns the completions.
fn service<const Q: usize>(v: &mut Vif<Q>) -> Vec<u32> {
    let mut done = Vec::new();
    for _ in 0..2 {
        if !guest(v).maintenance() {
            return done;
        }
        let s = v.handle_maintenance();
        done.extend(s.completed.iter().map(|c| c.intid().get()));
    }
    assert!(!guest(v).maintenance(), "maintenance interrupt storm");
    done
}
/// The guest takes and completes everything it is offered, servicing
/// maintenance interrupts; returns the IDs in delivery order.
fn drain<const Q: usize>(v: &mut Vif<Q>) -> Vec<u32> {
    let mut order = Vec::new();
    for _ in 0..1000 {
        service(v);
        match guest(v).ack() {
            Some(iar) => {
                order.push(iar & 0x3FF);
                guest(v).eoi(iar);
            }
            None => {
                if v.queued_len() == 0 {
                    service(v);
                    return order;
                }
                // Nothing offered yet something queued: the driver must have
                // asked for a maintenance interrupt. The one exception: a
                // single list register whose active interrupt was a hardware
                // one (no EOI bit possible), refilled at the next driver call.
                if !guest(v).maintenance() {
                    assert_eq!(guest(v).nlr, 1, "queued interrupts stranded");
                    assert!(v.refill() > 0, "queued interrupts stranded");
                }
            }
        }
    }
    panic!("did not drain");
}

// -------------------------------------------------------------------
// ListRegister
// -------------------------------------------------------------------

#[test]
fn software_sgi_encoding_matches_the_register_layout() {
    let lr = ListRegister::software(IntId::sgi(3).unwrap(), Priority(0xA0), Group::Group1)
        .unwrap()
        .with_source_cpu(5)
        .unwrap()
        .with_eoi_maintenance();
    // Grp1 | Pending | priority 0xA0 >> 3 = 0x14 | EOI | CPUID 5 | VirtualID 3
    assert_eq!(lr.encode(), 0x5A08_1403);
    assert_eq!(ListRegister::decode(0x5A08_1403).unwrap(), lr);
    assert_eq!(lr.source_cpu(), Some(5));
    assert!(lr.eoi_maintenance());
}

#[test]
fn hardware_encoding_matches_the_register_layout() {
    let lr = hw(27, 27, 0xA0);
    assert_eq!(lr.encode(), 0xDA00_6C1B);
    assert_eq!(lr.physical_id(), Some(id(27)));
    assert_eq!(lr.source_cpu(), None);
    assert!(!lr.with_eoi_maintenance().eoi_maintenance());
    assert_eq!(ListRegister::decode(0xDA00_6C1B).unwrap(), lr);
}

#[test]
fn priority_with_low_bits_is_an_error_not_a_truncation() {
    assert_eq!(
        ListRegister::software(id(40), Priority(0xA1), Group::Group0),
        Err(Error::PriorityNotImplemented {
            priority: 0xA1,
            implemented: 0xF8
        })
    );
    assert!(ListRegister::hardware(id(40), id(40), Priority(0x07), Group::Group0).is_err());
    let lr = sw(40, 0xF8);
    assert_eq!(
        ListRegister::decode(lr.encode()).unwrap().priority(),
        Priority(0xF8)
    );
}

#[test]
fn hardware_needs_a_ppi_or_spi_physical_id() {
    let p = Priority(0x80);
    assert_eq!(
        ListRegister::hardware(id(40), id(15), p, Group::Group1),
        Err(Error::IsAnSgi(15))
    );
    assert_eq!(
        ListRegister::hardware(id(40), id(1020), p, Group::Group1),
        Err(Error::InvalidIntId(1020))
    );
    assert!(ListRegister::hardware(id(40), id(16), p, Group::Group1).is_ok());
    assert!(ListRegister::hardware(id(40), id(1019), p, Group::Group1).is_ok());
    assert_eq!(
        ListRegister::software(id(1023), p, Group::Group1),
        Err(Error::InvalidIntId(1023))
    );
}

#[test]
fn source_cpu_only_for_software_sgis() {
    assert_eq!(sw(16, 0).with_source_cpu(1), Err(Error::NotAnSgi(16)));
    assert_eq!(sw(1, 0).with_source_cpu(8), Err(Error::InvalidCpu(8)));
    assert_eq!(hw(2, 20, 0).with_source_cpu(1), Err(Error::NotAnSgi(2)));
    assert_eq!(sw(15, 0).with_source_cpu(7).unwrap().source_cpu(), Some(7));
}

#[test]
fn decode_rejects_what_encode_cannot_produce() {
    let good = sw(40, 0xA0).encode();
    for bad in [
        good | 1 << 20,            // reserved [22:20]
        good | 1 << 13,            // HW = 0: reserved [18:13]
        good | 1 << 10,            // CPUID for a non-SGI
        (good & !0x3FF) | 1020,    // special virtual ID
        1 << 31 | 15 << 10 | 40,   // HW = 1, physical SGI
        1 << 31 | 1023 << 10 | 40, // HW = 1, physical special
    ] {
        assert_eq!(
            ListRegister::decode(bad),
            Err(Error::InvalidListRegisterValue(bad)),
            "{bad:#x}"
        );
    }
    let zero = ListRegister::decode(0).unwrap();
    assert_eq!(zero.state(), LrState::Invalid);
    assert_eq!(zero.encode(), 0);
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    fn any_lr() -> impl Strategy<Value = ListRegister> {
        (
            0u32..1020,
            16u32..1020,
            0u8..32,
            any::<bool>(),
            0u8..4,
            any::<bool>(),
            any::<bool>(),
            0u8..8,
        )
            .prop_map(|(v, p, prio, g1, st, is_hw, eoi, cpu)| {
                let group = if g1 { Group::Group1 } else { Group::Group0 };
                let state = [
                    LrState::Invalid,
                    LrState::Pending,
                    LrState::Active,
                    LrState::PendingActive,
                ][st as usize];
                let prio = Priority(prio << 3);
                let lr = if is_hw {
                    ListRegister::hardware(id(v), id(p), prio, group).unwrap()
                } else {
                    let mut lr = ListRegister::software(id(v), prio, group).unwrap();
                    if eoi {
                        lr = lr.with_eoi_maintenance();
                    }
                    if v < 16 {
                        lr = lr.with_source_cpu(cpu).unwrap();
                    }
                    lr
                };
                lr.with_state(state)
            })
    }

    proptest! {
        #[test]
        fn list_register_round_trips(lr in any_lr()) {
            prop_assert_eq!(ListRegister::decode(lr.encode()), Ok(lr));
        }

        #[test]
        fn every_decodable_word_encodes_back_exactly(raw in any::<u32>()) {
            if let Ok(lr) = ListRegister::decode(raw) {
                prop_assert_eq!(lr.encode(), raw);
            }
        }
    }
}

// -------------------------------------------------------------------
// Control registers
// -------------------------------------------------------------------

#[test]
fn vtr_list_regs_is_six_bits_plus_one() {
    assert_eq!(
        VtrInfo::from_raw(0x9000_0003),
        VtrInfo {
            list_registers: 4,
            priority_bits: 5,
            preemption_bits: 5
        }
    );
    let max = VtrInfo::from_raw(0x9000_003F);
    assert_eq!(max.list_registers, 64);
    assert_eq!(max.list_register_mask(), u64::MAX);
    assert_eq!(VtrInfo::from_raw(0x20).list_registers, 33);
}

#[test]
fn hcr_fields() {
    let mut h = Hcr::from_raw(0xF800_00FF);
    assert!(h.en() && h.uie() && h.lrenpie() && h.npie());
    assert!(h.vgrp0eie() && h.vgrp0die() && h.vgrp1eie() && h.vgrp1die());
    assert_eq!(h.eoi_count(), 31);
    h.clear_eoi_count();
    h.set_uie(false);
    assert_eq!(h.raw(), 0xFD);
    assert_eq!(Hcr::ENABLED.raw(), 1);
}

#[test]
fn vmcr_fields_and_checks() {
    let mut v = Vmcr::from_raw(0x004C_0000); // QEMU's reset value
    assert_eq!((v.abpr(), v.bpr()), (3, 2));
    assert!(!v.grp0_enabled() && !v.grp1_enabled() && !v.ack_ctl());
    assert_eq!(v.eoi_mode(), EoiMode::Combined);
    v.set_priority_mask(Priority(0xF0)).unwrap();
    assert_eq!(v.raw() >> 27, 0x1E);
    assert_eq!(v.priority_mask(), Priority(0xF0));
    assert!(v.set_priority_mask(Priority(0xF1)).is_err());
    assert_eq!(v.set_bpr(8), Err(Error::InvalidBinaryPoint(8)));
    v.set_grp1_enabled(true);
    v.set_eoi_mode(EoiMode::Split);
    v.set_fiq_en(true);
    v.set_cbpr(true);
    v.set_ack_ctl(true);
    v.set_abpr(5).unwrap();
    assert!(v.grp1_enabled() && v.fiq_en() && v.cbpr() && v.ack_ctl());
    assert_eq!(v.eoi_mode(), EoiMode::Split);
    assert_eq!(v.abpr(), 5);
    assert_eq!(v.raw() & 0x3FF, 0x21E);
}

#[test]
fn misr_fields() {
    let m = Misr::from_raw(0xFF);
    assert!(m.eoi() && m.underflow() && m.lr_entry_not_present() && m.no_pending());
    assert!(m.vgrp0_enabled() && m.vgrp0_disabled() && m.vgrp1_enabled() && m.vgrp1_disabled());
    assert!(Misr::from_raw(0).is_empty());
}

// -------------------------------------------------------------------
// Randomized: nothing lost, nothing doubled, no storm
// -------------------------------------------------------------------

mod random {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Inject { n: u32, prio: u8, eoi: bool },
        InjectHw { n: u32, prio: u8 },
        Ack,
        Eoi,
        Switch,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u32..8, 0u8..4, any::<bool>()).prop_map(|(n, p, eoi)| Op::Inject {
                n: 32 + n,
                prio: 0x80 + (p << 4),
                eoi
            }),
            1 => (0u32..4, 0u8..4).prop_map(|(n, p)| Op::InjectHw {
                n: 48 + n,
                prio: 0x80 + (p << 4),
            }),
            3 => Just(Op::Ack),
            3 => Just(Op::Eoi),
            1 => Just(Op::Switch),
        ]
    }

    fn check_invariants(v: &Vif<8>) {
        let g = guest(v);
        let mut seen = Vec::new();
        for n in 0..g.nlr {
            let lr = g.lr(n);
            if lr >> 28 & 3 != 0 {
                assert!(v.in_use() & 1 << n != 0, "LR{n} valid but untracked");
                let key = lr & 0x3FF;
                assert!(!seen.contains(&key), "interrupt {key} in two LRs");
                seen.push(key);
            }
        }
        for q in v.queued() {
            // Only a pending half held back from a more urgent interrupt is
            // queued while its interrupt is in an LR: active, with EOI set.
            let held = (0..g.nlr)
                .map(|n| g.lr(n))
                .find(|lr| lr >> 28 & 3 != 0 && lr & 0x3FF == q.virtual_id().get());
            assert!(
                held.is_none_or(|lr| lr >> 28 & 3 == 2 && lr & 1 << 19 != 0),
                "queued and in an LR"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn injected_interrupts_are_delivered_exactly_as_pending_states(
            nlr in 1usize..5,
            np_counts_pending_active in any::<bool>(),
            ops in proptest::collection::vec(op(), 1..80),
        ) {
            let mut v = setup::<8>(nlr);
            guest(&v).np_counts_pending_active.set(np_counts_pending_active);
            let mut ctx = v.new_context();
            let mut switched_out = false;
            // Interrupts made pending and not yet acknowledged since.
            let mut owed: Vec<u32> = Vec::new();
            let mut active: Vec<u32> = Vec::new();
            for op in ops {
                if switched_out && !matches!(op, Op::Switch | Op::Inject { .. }) {
                    continue;
                }
                match op {
                    Op::Inject { n, prio, eoi } => {
                        let lr = if eoi { sw_eoi(n, prio) } else { sw(n, prio) };
                        // A saved vCPU is injected into in memory.
                        let r = if switched_out { ctx.inject(lr) } else { v.inject(lr) };
                        match r {
                            Ok(_) => if !owed.contains(&n) { owed.push(n) },
                            Err(Error::QueueFull(_)) => {}
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    Op::InjectHw { n, prio } => {
                        // The physical interrupt cannot fire again while the
                        // guest holds it pending or active.
                        if owed.contains(&n) || active.iter().any(|a| a & 0x3FF == n) {
                            continue;
                        }
                        match v.inject(hw(n, n, prio)) {
                            Ok(_) => owed.push(n),
                            Err(Error::QueueFull(_)) => {}
                            Err(e) => panic!("{e:?}"),
                        }
                    }
                    Op::Ack => {
                        if let Some(iar) = guest(&v).ack() {
                            let n = iar & 0x3FF;
                            prop_assert!(owed.contains(&n), "{n} delivered but not owed");
                            owed.retain(|&x| x != n);
                            active.push(iar);
                        }
                    }
                    Op::Eoi => {
                        if let Some(iar) = active.pop() {
                            guest(&v).eoi(iar);
                        }
                    }
                    Op::Switch => {
                        if switched_out {
                            v.switch_in(&mut ctx).unwrap();
                        } else {
                            v.switch_out(&mut ctx).unwrap();
                        }
                        switched_out = !switched_out;
                    }
                }
                if !switched_out {
                    service(&mut v);
                    check_invariants(&v);
                }
            }
            if switched_out {
                v.switch_in(&mut ctx).unwrap();
            }
            for iar in active.drain(..).rev() {
                guest(&v).eoi(iar);
            }
            for n in drain(&mut v) {
                prop_assert!(owed.contains(&n), "{n} delivered twice");
                owed.retain(|&x| x != n);
            }
            prop_assert!(owed.is_empty(), "lost: {owed:?}");
            prop_assert_eq!(v.queued_len(), 0);
            prop_assert!(!guest(&v).maintenance());
        }
    }
}

#[test]
fn hcr_register_field_used_by_fake_matches() {
    // Guards the fake: HCR writes keep EOICount and the enables only.
    let f = FakeGich::new(4);
    f.write32(offset::HCR, u32::MAX);
    assert_eq!(f.read32(offset::HCR), 0xF800_00FF);
    assert_eq!(HCR::EOICount.read(f.read32(offset::HCR)), 31);
}
