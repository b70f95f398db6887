//! Bare-metal support shared by the workspace's binaries for QEMU's `virt`
//! board (`hypervisor-demo` and `gic-conformance-probe`): the PL011
//! console ([`pl011`]).
//!
//! It is built for `aarch64-unknown-none` with them; on a host (a
//! `cargo clippy --workspace`) the parts that need no AArch64 instruction
//! build too, so the workspace lints.
#![no_std]

pub mod pl011;
