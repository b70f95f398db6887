//! An architectural model of the Arm Generic Interrupt Controller v2
//! (IHI 0048B) with its Virtualization Extensions, for host-side tests of
//! GIC software and as the virtual distributor of a hypervisor.
//!
//! [`Gic`] holds the Distributor (GICD), the physical CPU interfaces (GICC)
//! and, when configured, one virtual interface (GICH/GICV) per CPU. Every
//! register access goes through [`Gic::read`] and [`Gic::write`], with the
//! frame, the accessing CPU, the offset and the width; input lines are
//! driven with [`Gic::set_line`]; the outputs ([`Gic::irq`], [`Gic::fiq`],
//! [`Gic::virq`], [`Gic::vfiq`], [`Gic::maintenance`]) are computed from the
//! state. [`bus::SharedGic`] puts a model behind the driver's
//! [`RegisterBus`](gic_driver::bus::RegisterBus), so the `gic-driver` crate
//! runs against it unchanged.
//!
//! The model decodes offsets and fields with the driver's definitions
//! (`gic_driver::regs`), never panics on any input, uses no allocator and no
//! `unsafe`, and saves its state in the shared snapshot format
//! (`gic_driver::snapshot`; see [`Gic::to_bytes`]). The no-panic promise is
//! enforced by the random tests in `model/tests/random.rs`
//! (`random_accesses_never_panic_and_keep_invariants`,
//! `arbitrary_bytes_never_restore_into_a_changed_model_on_error`) and
//! `model/tests/virtual_random.rs`; each documented rule names the test
//! that enforces it.
//!
//! ```
//! use gic_model::{Config, Frame, Gic, Width};
//!
//! let mut gic = Gic::new(Config::default()).unwrap();
//! // Enable the distributor, SPI 40, and CPU 0's interface.
//! gic.write(Frame::Gicd, 0, 0x000, Width::Word, 0b11);
//! gic.write(Frame::Gicd, 0, 0x104, Width::Word, 1 << 8);
//! gic.write(Frame::Gicc, 0, 0x004, Width::Word, 0xF0);
//! gic.write(Frame::Gicc, 0, 0x000, Width::Word, 0b111);
//! gic.set_line(0, 40, true).unwrap();
//! assert!(gic.irq(0));
//! assert_eq!(gic.read(Frame::Gicc, 0, 0x00C, Width::Word), 40);
//! ```
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod bus;
mod config;
mod cpu_interface;
mod distributor;
mod gic;
mod intid_set;
mod snapshot;
pub mod virtual_interface;

use core::fmt;

pub use bus::{FrameBus, SharedGic};
pub use config::{Config, ConfigError, MAX_CPUS, MAX_LINES};
pub use gic::{Gic, PendingInterrupt, MAINTENANCE_INTID};
pub use intid_set::IntIdSet;
pub use snapshot::MAX_SNAPSHOT_LEN;
pub use virtual_interface::{VirtConfig, VirtEffect, VirtualCpuInterface};

use gic_driver::regs::{gicc, gicd, gich};
use gic_driver::snapshot::SnapshotError;

/// The crate's README (the one crates.io shows), compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The register frames of a GICv2 (IHI 0048B 1.3, 5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Frame {
    /// The Distributor, shared by all CPUs.
    Gicd,
    /// The accessing CPU's physical CPU interface.
    Gicc,
    /// The virtual interface control registers of the selected CPU.
    Gich,
    /// The virtual CPU interface of the selected CPU.
    Gicv,
}

impl Frame {
    /// The size of the frame in bytes (IHI 0048B 4.1.2, 5.1): 4 KiB for GICD
    /// and GICH, 8 KiB for GICC and GICV (GICC_DIR is at 0x1000). Accesses
    /// at or beyond it are RAZ/WI.
    pub const fn size(self) -> usize {
        match self {
            Frame::Gicd => gicd::offset::FRAME_SIZE,
            Frame::Gicc | Frame::Gicv => gicc::offset::FRAME_SIZE,
            Frame::Gich => gich::offset::FRAME_SIZE,
        }
    }
}

/// The width of a register access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Width {
    /// 8 bits: allowed only for GICD_IPRIORITYR, GICD_ITARGETSR,
    /// GICD_CPENDSGIR and GICD_SPENDSGIR; elsewhere RAZ/WI (4.1.4).
    Byte,
    /// 32 bits, 4-byte aligned; unaligned word accesses are RAZ/WI.
    Word,
}

/// Why a model call was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ModelError {
    /// The CPU interface does not exist.
    InvalidCpu(u8),
    /// SGIs have no input line; they are generated through GICD_SGIR.
    IsAnSgi(u32),
    /// The INTID is beyond the implemented lines (or special).
    NotImplemented {
        /// The requested INTID.
        intid: u32,
        /// The implemented lines.
        lines: u32,
    },
    /// The line is driven by the model itself (the maintenance interrupt,
    /// PPI 9 = INTID 25, when the Virtualization Extensions are configured).
    DrivenByModel(u32),
    /// The model has no Virtualization Extensions.
    NoVirtualization,
    /// Saved state could not be written or read.
    Snapshot(SnapshotError),
}

impl fmt::Display for ModelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ModelError::InvalidCpu(c) => write!(f, "CPU interface {c} does not exist"),
            ModelError::IsAnSgi(n) => write!(f, "INTID {n} is an SGI and has no input line"),
            ModelError::NotImplemented { intid, lines } => {
                write!(f, "INTID {intid} is beyond the {lines} implemented lines")
            }
            ModelError::DrivenByModel(n) => {
                write!(f, "line {n} is driven by the model (maintenance interrupt)")
            }
            ModelError::NoVirtualization => {
                f.write_str("the model has no Virtualization Extensions")
            }
            ModelError::Snapshot(e) => write!(f, "saved state: {e}"),
        }
    }
}

impl core::error::Error for ModelError {}

impl From<SnapshotError> for ModelError {
    fn from(e: SnapshotError) -> Self {
        ModelError::Snapshot(e)
    }
}
