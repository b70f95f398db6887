//! The fuzz targets of `fuzz/`, bounded, on the pinned toolchain: each
//! harness of `gic_robustness` runs on random inputs (the snapshot
//! readers on mutated golden files too) for a few seconds, as part of
//! `cargo test`. `docs/ROBUSTNESS.md` says how to run the unbounded ones.

use gic_robustness::{driver_api, model_bus, readers, vgic_trap};
use proptest::prelude::*;

/// The golden files of the model and the driver: the readers' seeds.
const GOLDEN: [&[u8]; 4] = [
    include_bytes!("../../model/tests/golden/physical_qemu_2cpu.bin"),
    include_bytes!("../../model/tests/golden/physical_4cpu_1024lines_5bits.bin"),
    include_bytes!("../../model/tests/golden/virt_qemu_2cpu.bin"),
    include_bytes!("../../driver/tests/golden/vcpu_context_v1.bin"),
];

fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..max)
}

/// A golden file with a few bytes flipped, maybe cut short or extended.
fn mutated_golden() -> impl Strategy<Value = Vec<u8>> {
    (
        0..GOLDEN.len(),
        proptest::collection::vec((any::<usize>(), 1u8..=255), 0..4),
        proptest::option::of(any::<usize>()),
        bytes(8),
    )
        .prop_map(|(g, flips, cut, tail)| {
            let mut b = GOLDEN[g].to_vec();
            for (at, x) in flips {
                let n = b.len();
                b[at % n] ^= x;
            }
            if let Some(cut) = cut {
                b.truncate(cut % (b.len() + 1));
            }
            b.extend(tail);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn model_bus_keeps_derived_registers_maintenance_acknowledge_and_snapshot_invariants(
        data in bytes(1500)
    ) {
        model_bus::run(&data);
    }

    #[test]
    fn driver_calls_with_arbitrary_arguments_return_typed_errors_and_refusals_write_nothing(
        data in bytes(1500)
    ) {
        driver_api::run(&data);
    }

    #[test]
    fn trapped_gicd_accesses_between_fold_and_flush_never_panic_or_list_twice(
        data in bytes(1500)
    ) {
        vgic_trap::run(&data);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn snapshot_readers_leave_the_model_unchanged_on_error_and_round_trip_what_loads(
        data in prop_oneof![3 => mutated_golden(), 1 => bytes(256)]
    ) {
        readers::run(&data);
    }
}

#[test]
fn every_golden_file_loads_in_some_reader_and_the_harness_accepts_it() {
    for g in &GOLDEN[..3] {
        let loads = readers::configs()
            .into_iter()
            .filter(|&c| readers::busy_model(c).set_from_bytes(g).is_ok())
            .count();
        assert!(
            loads >= 1,
            "a model golden file loads into one of the shapes"
        );
    }
    assert!(gic_robustness::world_switch::context_from_bytes::<32>(GOLDEN[3]).is_ok());
    for g in GOLDEN {
        readers::run(g);
    }
    // The empty input is a complete run of every harness.
    model_bus::run(&[]);
    driver_api::run(&[]);
    vgic_trap::run(&[]);
    readers::run(&[]);
}
