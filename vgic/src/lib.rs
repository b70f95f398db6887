//! A GICv2 virtual GIC for a hypervisor at EL2: the guest's distributor is
//! the architectural model of [`gic_model`], served from trapped accesses
//! to the guest's GICD page; its CPU interface is the hardware GICV frame,
//! fed through the list registers that [`gic_driver`]'s
//! [`VirtualInterface`](gic_driver::virt::VirtualInterface) manages.
//!
//! | item | what it is |
//! |---|---|
//! | [`Vgic`] | one VM's virtual GIC: trapped GICD reads and writes, emulated lines, forwarded physical interrupts, fold and flush |
//! | [`trap::MmioAccess`] | a trapped load or store decoded from ESR_EL2, FAR_EL2 and HPFAR_EL2 |
//!
//! A hypervisor's run loop for one vCPU:
//!
//! ```text
//! loop {
//!     vgic.flush(vcpu, &mut gich)?;     // list what is pending (GICH_LRn)
//!     let exit = enter_guest();
//!     vgic.fold(vcpu, &mut gich)?;      // take the list registers back
//!     match exit {
//!         DataAbort on the GICD page => vgic.read / vgic.write,
//!         Irq(forwarded physical) => vgic.physical_fired(vcpu, intid),
//!         _ => ...
//!     }
//! }
//! ```
//!
//! No `unsafe`, no allocator, and no panic on any guest access.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod trap;
mod vgic;

use core::fmt;

pub use vgic::{Flush, Vgic, VgicConfig, WriteEffects, MAX_FORWARDED};

/// Why a virtual GIC call was refused. Nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The vCPU does not exist.
    InvalidVcpu(u8),
    /// The configuration is outside the architecture's ranges.
    Config(gic_model::ConfigError),
    /// The model refused (for example a line of an SGI).
    Model(gic_model::ModelError),
    /// The driver refused (for example no vCPU loaded in the interface).
    Driver(gic_driver::Error),
    /// The virtual interrupt is forwarded from a physical one: its state
    /// follows the physical interrupt, not a line.
    Forwarded(u32),
    /// The physical interrupt is not forwarded to this vCPU.
    NotForwarded(u32),
    /// Already [`MAX_FORWARDED`] forwarded interrupts.
    TooManyForwarded,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidVcpu(v) => write!(f, "vCPU {v} does not exist"),
            Error::Config(e) => write!(f, "virtual GIC configuration: {e}"),
            Error::Model(e) => write!(f, "virtual distributor: {e}"),
            Error::Driver(e) => write!(f, "virtual interface: {e}"),
            Error::Forwarded(n) => write!(f, "virtual INTID {n} is forwarded from a physical one"),
            Error::NotForwarded(n) => write!(f, "physical INTID {n} is not forwarded"),
            Error::TooManyForwarded => {
                write!(f, "at most {MAX_FORWARDED} forwarded interrupts")
            }
        }
    }
}

impl core::error::Error for Error {}

/// What a [`Vgic`] has done, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Trapped GICD reads served.
    pub gicd_reads: u64,
    /// Trapped GICD writes served.
    pub gicd_writes: u64,
    /// Of those, accesses of a width GICD does not allow (RAZ/WI).
    pub unsupported_accesses: u64,
    /// Forwarded physical interrupts made pending.
    pub forwarded: u64,
    /// Folds (guest exits).
    pub folds: u64,
    /// Flushes (guest entries).
    pub flushes: u64,
    /// Interrupts written into list registers.
    pub listed: u64,
    /// List registers found completed (invalid) by a fold.
    pub completed: u64,
}
