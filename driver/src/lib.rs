//! A `no_std` driver for the Arm Generic Interrupt Controller v2 (IHI 0048B)
//! and its Virtualization Extensions.
//!
//! Every register is reached through a [`bus::RegisterBus`]: [`bus::Mmio`] on
//! hardware, the `gic-model` crate's frames in host tests. Register offsets
//! and fields are declared once, in [`regs`].
//!
//! | type | frame | for |
//! |---|---|---|
//! | [`Distributor`] | GICD | enabling, routing and prioritising interrupts |
//! | [`CpuInterface`] | GICC (or GICV, in a guest) | acknowledging and completing interrupts |
//! | [`VirtualInterface`] | GICH | list registers: injecting virtual interrupts, maintenance, world switch |
//! | [`VcpuContext`] | (memory) | a vCPU's saved GICH state; same bytes as the model's snapshots |
#![no_std]
#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod bus;
mod cpu_interface;
mod cpu_mask;
mod distributor;
mod error;
mod intid;
mod priority;
pub mod regs;
pub mod snapshot;
mod types;
pub mod virt;

pub use cpu_interface::{Acknowledged, CpuInterface, CpuInterfaceConfig, Deactivation, EoiMode};
pub use cpu_mask::CpuMask;
pub use distributor::{Distributor, DistributorConfig, DistributorInfo};
pub use error::Error;
pub use intid::{IntId, IntIdKind};
pub use priority::Priority;
pub use types::{Group, SgiTarget, Trigger};
pub use virt::{ListRegister, VcpuContext, VirtualInterface};

/// The workspace README's examples (the quick start among them), compiled
/// and run as doctests. Only in the workspace: the published crate does not
/// carry that file, and `cfg(doctest)` keeps the build from needing it.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeDoctests;

/// The crate's own README (the one crates.io shows), compiled and run as
/// doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct CrateReadmeDoctests;
