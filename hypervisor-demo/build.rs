//! Links the demo with `link.x` and defmt's `defmt.x` (the `.defmt`
//! section of log format strings that the runner decodes with), for the
//! bare-metal target only; writes the `MEMORY` region `link.x` includes
//! from the constants in `src/layout.rs` (the same ones `board.rs` uses);
//! and picks the default log level.

use std::env;
use std::fs;
use std::path::PathBuf;

#[allow(dead_code)]
mod layout {
    include!("src/layout.rs");
}

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    println!("cargo:rerun-if-changed=link.x");
    println!("cargo:rerun-if-changed=src/layout.rs");
    println!("cargo:rerun-if-changed=build.rs");
    let memory = format!(
        "/* Written by build.rs from src/layout.rs. */\nMEMORY\n{{\n    RAM (rwx) : ORIGIN = {:#x}, LENGTH = {:#x}\n}}\n",
        layout::HYPERVISOR_BASE,
        layout::HYPERVISOR_END - layout::HYPERVISOR_BASE,
    );
    fs::write(out.join("memory.x"), memory).expect("OUT_DIR is writable");
    // defmt keeps the log calls at or above DEFMT_LOG, read when the demo
    // is compiled; `DEFMT_LOG=debug cargo demo` shows more. Unset, defmt
    // would keep errors only: the demo's story is told at `info`.
    println!("cargo:rerun-if-env-changed=DEFMT_LOG");
    if env::var_os("DEFMT_LOG").is_none() {
        println!("cargo:rustc-env=DEFMT_LOG=info");
    }
    // The linker script describes QEMU virt's RAM; it means nothing on a host.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("none") {
        println!("cargo:rustc-link-search={dir}");
        println!("cargo:rustc-link-search={}", out.display());
        println!("cargo:rustc-link-arg-bins=-Tlink.x");
        // defmt's build script puts defmt.x on the link search path.
        println!("cargo:rustc-link-arg-bins=-Tdefmt.x");
    }
}
