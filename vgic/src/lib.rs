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
//! A hypervisor's run loop for one vCPU, on the physical CPU that runs it
//! (`vgic` is shared by every CPU: it is `Sync` and takes `&self`; `gich`
//! is this CPU's own [`VirtualInterface`](gic_driver::virt::VirtualInterface)):
//!
//! ```text
//! loop {
//!     vgic.flush(vcpu, &mut gich)?;     // list what is pending (GICH_LRn)
//!     let exit = enter_guest();
//!     let f = vgic.fold(vcpu, &mut gich)?;  // take the list registers back
//!     kick(f.kick); deactivate(f.deactivate);
//!     match exit {
//!         DataAbort on the GICD page => vgic.read, or
//!             let e = vgic.write(..); kick(e.kick); deactivate(e.deactivate),
//!         Irq(forwarded physical) => kick(vgic.physical_fired(vcpu, intid)?),
//!         Irq(the kick SGI) => {}     // the exit was the point
//!         Wfi => while !vgic.has_pending(vcpu) { wait for a physical IRQ },
//!         _ => ...
//!     }
//! }
//! ```
//!
//! where `kick(mask)` sends a physical SGI to the CPU of every vCPU in
//! `mask` (but its own) that is running or waiting in WFI.
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
//!
//! # Several vCPUs
//!
//! The distributor is shared: GICD_TYPER.CPUNumber is `vcpus - 1`,
//! GICD_ITARGETSR0-7 read as the reading vCPU's own bit, SPI target bits
//! of absent vCPUs read as zero and ignore writes (word and byte), SPIs go
//! to the vCPUs their targets name (the first to flush takes a 1-of-N one),
//! and a pending SPI follows its targets when retargeted. GICD_SGIR pends
//! an SGI on each target (list, all but self, self) with the writer as its
//! source; an SGI pending from several sources is listed once per source,
//! with the source in GICV_IAR.CPUID; GICD_SPENDSGIR and GICD_CPENDSGIR
//! act on the writer's own per-source bits.
//!
//! ## Locking
//!
//! The distributor and every vCPU's bookkeeping (what it has listed) are
//! behind one spin lock (test-and-set: whoever finds it free takes it; a
//! ticket lock, first come first served, hands it to the next in line even
//! when that CPU is not running, and a hypervisor whose physical CPUs are
//! themselves threads of a host, QEMU's TCG on fewer host cores, then
//! spends most of its time waiting: Linux on 4 vCPUs took 15 s to its init
//! with one, 3 s with this). No call
//! holds it while it waits for anything but the lock, no call takes another
//! lock, and no call re-enters the vGIC, so CPUs trapping at once only
//! queue; do not call the vGIC from an EL2 interrupt handler that can
//! interrupt a call in progress (run EL2 with IRQs masked). The list
//! registers are the physical CPU's own and need no lock. What takes the
//! lock:
//!
//! | call | lock |
//! |---|---|
//! | [`Vgic::read`], [`write`](Vgic::write), [`set_line`](Vgic::set_line), [`physical_fired`](Vgic::physical_fired), [`forward`](Vgic::forward), [`has_pending`](Vgic::has_pending), [`listed`](Vgic::listed), [`distributor`](Vgic::distributor), [`stats`](Vgic::stats) | always |
//! | [`Vgic::fold`] | only if the last flush listed something; the list registers are read and cleared before it is taken |
//! | [`Vgic::flush`] | only if something gave the vCPU work since its last flush (an atomic flag per vCPU, set under the lock by whoever made something pending for it or gave state back to it); held while the list registers are written |
//!
//! So an exit with nothing listed and nothing new (a hypercall, a trapped
//! access to something else, a kick that found nothing) takes no lock.
//! Each vCPU's fold and flush must run on one CPU at a time (the one
//! running it).
//!
//! ## A vCPU changing what another has listed
//!
//! What vCPU A has listed is in A's list registers, which only A's CPU can
//! reach. A GICD write by vCPU B (or a line, or a forwarded interrupt) on
//! an interrupt A has listed therefore takes effect in two steps: at once
//! in the distributor, and in A's list registers at A's next exit, whose
//! fold applies it. B's result names A in its kick mask, so that this exit
//! comes promptly. What A's guest did in between (acknowledging or
//! completing the interrupt) counts as done before B's write.
//!
//! | B's write on an interrupt A has listed | at once | at A's next fold |
//! |---|---|---|
//! | GICD_ICPENDR | distributor latch cleared; reads as not pending | the pending state A's list register still holds is dropped (not given back), and a forwarded interrupt left with no state is reported in [`Fold::deactivate`] |
//! | GICD_ICACTIVER | reads as not active | the active state is dropped likewise (A's later EOI of it finds no list register) |
//! | GICD_ISPENDR, GICD_SGIR (same SGI and source) | distributor pending | merged with the list register's state: still pending there, one delivery; already acknowledged, pending again (delivered again) |
//! | GICD_ISACTIVER | distributor active | merged; it stays A's to list active |
//! | GICD_ICENABLER, ISENABLER, IPRIORITYR, ITARGETSR, IGROUPR, ICFGR, GICD_CTLR | the new setting | given back as usual; the next flush lists it (or not, or on another vCPU) under the new setting; an SPI now pending for another vCPU is in [`Fold::kick`] |
//!
//! Until A's fold, no other vCPU lists an SPI that A has listed (so it is
//! never in two vCPUs' list registers); GICD_ISPENDR and GICD_ISACTIVER
//! reads show it as A's list register was written, with the changes above.
//!
//! ## Kicks and WFI
//!
//! [`WriteEffects::kick`], the results of [`Vgic::set_line`] and
//! [`Vgic::physical_fired`], and [`Fold::kick`] name the vCPUs that gained
//! work: one whose most urgent interrupt to list appeared or changed, or
//! one that has listed an interrupt the call changed. The hypervisor sends
//! each of them that is running a physical SGI so that it exits (its fold
//! and flush then do the work), and wakes each that waits in WFI. For
//! this a vCPU counts as running from before its flush, not from its
//! entry: its flush may read its work flag (lock-free) just before another
//! CPU sets it, so a kick skipped because it had not entered yet would be
//! lost until its next exit. (Mark it running, with a full barrier, before
//! the flush; the kicking CPU reads that mark after the vGIC call, which
//! set the flag, with a full barrier too.) A vCPU
//! trapped in WFI waits while [`Vgic::has_pending`] is false; a kick that
//! arrives between that check and the wait is a pending physical interrupt,
//! which ends the wait.
#![no_std]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod trap;
mod vgic;

use core::fmt;

pub use vgic::{Flush, Fold, Vgic, VgicConfig, WriteEffects, MAX_FORWARDED};

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
    /// Of those, folds that took the lock (something was listed).
    pub locked_folds: u64,
    /// Flushes (guest entries).
    pub flushes: u64,
    /// Of those, flushes that took the lock (something gave the vCPU work).
    pub locked_flushes: u64,
    /// Interrupts written into list registers.
    pub listed: u64,
    /// List registers found completed (invalid) by a fold.
    pub completed: u64,
    /// GICD_ICPENDR and GICD_ICACTIVER changes to an interrupt another
    /// vCPU had listed, applied at that vCPU's next fold (one per
    /// interrupt and vCPU).
    pub deferred: u64,
}
