//! cargo-fuzz target: `gic_robustness::model_bus::run` on each input.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| gic_robustness::model_bus::run(data));
