//! cargo-fuzz target: `gic_robustness::driver_api::run` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gic_robustness::driver_api::run(data));
