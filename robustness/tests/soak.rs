//! The virtual-interrupt lifecycle soak (`gic_robustness::soak`): a
//! bounded run in every `cargo test`, and the long run of 10^7
//! operations per list-register count (1, 2 and 4), by hand:
//! `cargo test --release -p gic-robustness --test soak -- --ignored --nocapture`.

use gic_robustness::soak;

#[test]
fn every_injected_interrupt_completes_exactly_once_and_maintenance_never_stays_asserted() {
    for lrs in [1, 2, 4] {
        for seed in [1, 2] {
            let r = soak::run(lrs, 20_000, seed);
            assert_eq!(r.injected, r.completed, "{lrs} LRs: {r:?}");
            assert!(
                r.completed > 1000 && r.switches > 100,
                "{lrs} LRs did little: {r:?}"
            );
        }
    }
}

#[test]
#[ignore = "long: run with --release -- --ignored"]
fn soak_ten_million_operations_on_each_of_1_2_and_4_list_registers() {
    for lrs in [1, 2, 4] {
        let start = std::time::Instant::now();
        let r = soak::run(lrs, 10_000_000, 0x5EED + u64::from(lrs));
        let secs = start.elapsed().as_secs_f64();
        println!("{lrs} list registers: {r:?} in {secs:.2} s");
        assert_eq!(r.injected, r.completed);
    }
}
