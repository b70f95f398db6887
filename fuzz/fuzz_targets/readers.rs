//! cargo-fuzz target: `gic_robustness::readers::run` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gic_robustness::readers::run(data));
