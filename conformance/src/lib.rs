//! Differential conformance of `gic_model::Gic` against QEMU's GICv2.
//!
//! The corpus (`conformance/scenarios/*.gic`, format in
//! [`gic_conformance_format`]) is played twice: on QEMU's real GIC by the
//! bare-metal probe (`conformance/probe`), whose answers are kept in
//! `conformance/recorded/qemu-7.2.txt`, and here on the model configured
//! like QEMU's board ([`gic_model::Config::qemu_virt`]), each scenario on a
//! fresh model with the same prologue. Every read that differs is named by
//! scenario and step, with the register fields that differ
//! ([`registers`]), and must be explained in `docs/CONFORMANCE.md`
//! ([`allowlist`]), which the test `tests/conformance.rs` enforces.
//!
//! `cargo run -p gic-conformance` prints every difference;
//! `cargo run -p gic-conformance -- --record` boots the probe under QEMU
//! (once per CPU count) and rewrites the record.
#![deny(missing_docs)]

pub mod allowlist;
pub mod compare;
pub mod corpus;
pub mod record;
pub mod recorded;
pub mod registers;
