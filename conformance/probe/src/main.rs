//! The conformance probe: plays every scenario of the corpus
//! (`conformance/scenarios/*.gic`, embedded at build time) on QEMU's real
//! GICv2 and prints each read on the UART, then ends QEMU through
//! semihosting.
//!
//! It boots at EL2 on `virt,virtualization=on,gic-version=2` (through
//! `qemu-runner --smp N`), learns the number of CPUs from GICD_TYPER, starts
//! the other CPUs with PSCI, and runs the scenarios written for that many
//! CPUs, in corpus order: the prologue (unless the scenario is `reset`),
//! then each step on the CPU it names. Output, one line each:
//!
//! ```text
//! probe: QEMU virt, 2 CPU(s), GICD_TYPER 0x00000028
//! S <scenario> <fingerprint, 16 hex digits>
//! R <scenario> <step> <value: 0x%08x for a word, 0x%02x for a byte, or abort>
//! probe: done, <n> scenarios, <n> reads
//! ```
//!
//! The host (`gic-conformance --record`) boots it once per CPU count and
//! keeps these lines in `conformance/recorded/`.
//!
//! On any other target (a host `cargo clippy --workspace`) it builds as a
//! stub that says where it runs.
#![cfg_attr(target_os = "none", no_std)]
#![cfg_attr(target_os = "none", no_main)]

#[cfg(target_os = "none")]
mod boot;
#[cfg(target_os = "none")]
mod cpus;
#[cfg(target_os = "none")]
mod exceptions;
#[cfg(target_os = "none")]
mod gic;
#[cfg(target_os = "none")]
mod probe;
#[cfg(target_os = "none")]
mod semihosting;
#[cfg(target_os = "none")]
mod uart;

/// The host stub.
#[cfg(not(target_os = "none"))]
fn main() {
    eprintln!(
        "gic-conformance-probe runs on QEMU's virt board: build it for aarch64-unknown-none \
         (`cargo run -p gic-conformance -- --record` builds and boots it)"
    );
    std::process::exit(2);
}
