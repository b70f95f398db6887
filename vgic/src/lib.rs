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
//!
//! # One owner for each interrupt's state
//!
//! An interrupt's pending and active state lives in exactly one place: in
//! the distributor while it is not listed, in its list register (or the
//! driver's queue behind the list registers) while it is. [`Vgic::flush`],
//! before every guest entry, moves the state of the interrupts it lists out
//! of the distributor; [`Vgic::fold`], on every guest exit, moves whatever
//! the guest left in the list registers back. A trapped GICD access is
//! served between the two, so the guest always reads and changes the true
//! state (an ICACTIVER write on an interrupt the guest had acknowledged
//! clears it, and it is not listed again).
//!
//! What moves, per kind of interrupt (IHI 0048B 3.2.4, 5.3.8):
//!
//! | interrupt | flush takes from the distributor | fold gives back |
//! |---|---|---|
//! | edge-triggered, HW = 0 | the pending latch (GICD_ICPENDR), active | pending latch if the LR is still pending; active if active |
//! | level-sensitive, HW = 0 | the latch set by GICD_ISPENDR, active; the LR carries the EOI bit | that latch if the LR is still pending; active. The line is an input and stays: a line still high after the guest's EOI is pending again (re-sampled) |
//! | SGI, HW = 0 | one source's pending bit (GICD_CPENDSGIR), active | that source's bit if still pending; active, with its source |
//! | forwarded, HW = 1 | the pending latch set by [`Vgic::physical_fired`], active | as edge-triggered; an LR the guest completed has deactivated the physical interrupt |
//!
//! An SPI a vCPU sets active with GICD_ISACTIVER is that vCPU's, as one
//! it acknowledged: listed active, so that its EOI (or GICV_DIR)
//! deactivates it. SGIs and PPIs are banked, so always the vCPU's own.
//!
//! An interrupt is listed at most once: an SGI pending from several
//! sources is listed one source at a time, with the EOI bit so that its
//! completion brings the next. Level-sensitive interrupts carry the EOI bit
//! so that their completion re-samples the line at once.
//!
//! An active interrupt that is pending again is listed pending+active only
//! when the distributor forwards it (enabled, its group enabled); otherwise,
//! and always for HW = 1 (whose list register cannot be pending+active),
//! the pending state stays in the distributor and a later flush lists it.
//! A HW = 1 completion raises no maintenance interrupt, so that is at the
//! next exit. When the driver holds back the pending half of a
//! pending+active interrupt in its queue (its list register stays active),
//! [`Vgic::fold`] takes back both: the pending state goes to the
//! distributor, and the interrupt stays active on the vCPU, listed again by
//! the next flush so that the guest's EOI finds it.
//!
//! Limits: at most as many active interrupts as list registers are listed
//! (the others wait in the distributor, see [`Vgic::flush`]); while every
//! list register holds an active interrupt, a more urgent pending one waits
//! in the driver's queue until the guest has completed all but one of them
//! (GICH_HCR.UIE), where a GIC would let it preempt.
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
