//! Random sequences of GICH and GICV accesses (any offset, LR-shaped and
//! arbitrary values) on one [`VirtualCpuInterface`] of random shape: after
//! every access the derived registers agree with the stored ones, reserved
//! bits stay zero, binary points stay at or above their minimum, and the
//! saved record restores to an equal interface.

mod common;

use common::*;
use gic_driver::regs::gicc::offset as v;
use gic_driver::regs::gicc::IAR;
use gic_driver::regs::gich::offset as h;
use gic_driver::regs::gich::{
    lr_state, HCR, HCR_DEFINED, LR, LR_DEFINED, MAX_LIST_REGISTERS, VMCR, VMCR_DEFINED,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

#[derive(Debug, Clone)]
enum Op {
    GichRead(usize),
    GichWrite(usize, u32),
    GicvRead(usize),
    GicvWrite(usize, u32),
}

static GICH_OFFSETS: [usize; 9] = [
    h::HCR,
    h::VTR,
    h::VMCR,
    h::MISR,
    h::EISR,
    h::EISR + 4,
    h::ELRSR,
    h::ELRSR + 4,
    h::APR,
];

static GICV_OFFSETS: [usize; 16] = [
    v::CTLR,
    v::PMR,
    v::BPR,
    v::IAR,
    v::EOIR,
    v::RPR,
    v::HPPIR,
    v::ABPR,
    v::AIAR,
    v::AEOIR,
    v::AHPPIR,
    v::APR,
    v::APR + 4,
    v::NSAPR,
    v::IIDR,
    v::DIR,
];

fn gich_offset() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(&GICH_OFFSETS[..]),
        (0..MAX_LIST_REGISTERS + 2).prop_map(gich::lr),
        any::<usize>(),
        0..0x1004usize,
    ]
}

fn gicv_offset() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(&GICV_OFFSETS[..]),
        any::<usize>(),
        0..0x2004usize,
    ]
}

/// LR-shaped values are more interesting than uniform ones.
fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (
            0u32..64,
            0u32..4,
            0u32..32,
            any::<bool>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(id, st, prio, eoi, grp1, hw)| {
                (LR::VirtualID.val(id)
                    + LR::State.val(st)
                    + LR::Priority.val(prio)
                    + LR::EOI.val(u32::from(eoi))
                    + LR::Grp1.val(u32::from(grp1))
                    + LR::HW.val(u32::from(hw))
                    + LR::PhysicalID.val(if hw { id + 16 } else { u32::from(eoi) << 9 }))
                .value
            }),
        0u32..1024,
        Just(HCR::En::SET.value | 0xFE),
        Just(0x21F),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        gich_offset().prop_map(Op::GichRead),
        (gich_offset(), value()).prop_map(|(o, x)| Op::GichWrite(o, x)),
        gicv_offset().prop_map(Op::GicvRead),
        (gicv_offset(), value()).prop_map(|(o, x)| Op::GicvWrite(o, x)),
    ]
}

fn config() -> impl Strategy<Value = VirtConfig> {
    (any::<u8>(), any::<u8>(), any::<u8>(), any::<bool>()).prop_map(|(l, pri, pre, np)| {
        VirtConfig {
            list_registers: l,
            priority_bits: pri,
            preemption_bits: pre,
            np_counts_pending_active: np,
        }
    })
}

fn check_invariants(vi: &VirtualCpuInterface) -> Result<(), TestCaseError> {
    let n = usize::from(vi.config().list_registers);
    prop_assert!((1..=MAX_LIST_REGISTERS).contains(&n));
    let (eisr, elrsr) = (vi.eisr(), vi.elrsr());
    for i in 0..MAX_LIST_REGISTERS {
        let lr = vi.lr(i);
        let invalid = lr_state(lr) == LrState::Invalid;
        let hw = LR::HW.is_set(lr);
        let eoi = LR::EOI.is_set(lr);
        let e = eisr >> i & 1 == 1;
        let l = elrsr >> i & 1 == 1;
        if i < n {
            prop_assert_eq!(e, invalid && !hw && eoi);
            prop_assert_eq!(l, invalid && (hw || !eoi));
            prop_assert_eq!(lr & !LR_DEFINED, 0);
        } else {
            prop_assert!(!e && !l && lr == 0);
        }
    }
    prop_assert_eq!(
        u64::from(vi.read_gich(h::EISR)) | u64::from(vi.read_gich(h::EISR + 4)) << 32,
        eisr
    );
    prop_assert_eq!(
        u64::from(vi.read_gich(h::ELRSR)) | u64::from(vi.read_gich(h::ELRSR + 4)) << 32,
        elrsr
    );
    let misr = vi.read_gich(h::MISR);
    prop_assert_eq!(misr, vi.misr());
    prop_assert_eq!(misr & !0xFF, 0);
    prop_assert_eq!(misr & 1 == 1, eisr != 0);
    let np_pa = vi.config().np_counts_pending_active;
    let pending = (0..MAX_LIST_REGISTERS).any(|i| match lr_state(vi.lr(i)) {
        LrState::Pending => true,
        LrState::PendingActive => np_pa,
        _ => false,
    });
    prop_assert_eq!(
        misr & 0b1000 != 0,
        HCR::NPIE.is_set(vi.hcr()) && !pending,
        "GICH_MISR.NP"
    );
    prop_assert_eq!(vi.maintenance(), HCR::En.is_set(vi.hcr()) && misr != 0);
    prop_assert!(!(vi.virq() && vi.vfiq()));
    if !HCR::En.is_set(vi.hcr()) {
        prop_assert!(!vi.virq() && !vi.vfiq());
    }
    prop_assert_eq!(vi.hcr() & !HCR_DEFINED, 0);
    prop_assert_eq!(vi.vmcr() & !VMCR_DEFINED, 0);
    prop_assert!(VMCR::VMBP.read(vi.vmcr()) >= u32::from(vi.config().min_binary_point()));
    prop_assert!(VMCR::VMABP.read(vi.vmcr()) >= u32::from(vi.config().min_aliased_binary_point()));
    let rpr = vi.running_priority();
    prop_assert!(rpr == 0xFF || rpr.is_multiple_of(8));
    // Saved state restores to the same state.
    let mut copy = VirtualCpuInterface::new(vi.config());
    prop_assert!(copy.set_record(&vi.to_record()).is_ok());
    prop_assert_eq!(&copy, vi);
    Ok(())
}

#[test]
fn random_gich_and_gicv_accesses_keep_derived_state_consistent() {
    let mut runner = TestRunner::new(Config {
        cases: 256,
        ..Config::default()
    });
    let strategy = (config(), prop::collection::vec(op(), 0..200));
    runner
        .run(&strategy, |(config, ops)| {
            let mut vi = VirtualCpuInterface::new(config);
            for op in &ops {
                match *op {
                    Op::GichRead(o) => {
                        vi.read_gich(o);
                    }
                    Op::GichWrite(o, x) => vi.write_gich(o, x),
                    Op::GicvRead(o) => {
                        let id = vi.read_gicv(o);
                        if o == v::IAR || o == v::AIAR || o == v::HPPIR {
                            prop_assert!(IAR::InterruptID.read(id) < 1024);
                        }
                    }
                    Op::GicvWrite(o, x) => {
                        let effect = vi.write_gicv(o, x);
                        if let Some(p) = effect.deactivate_physical {
                            prop_assert!((16..1020).contains(&p));
                        }
                    }
                }
                check_invariants(&vi)?;
            }
            Ok(())
        })
        .unwrap();
}
