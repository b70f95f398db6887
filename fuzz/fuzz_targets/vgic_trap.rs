//! cargo-fuzz target: `gic_robustness::vgic_trap::run` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gic_robustness::vgic_trap::run(data));
