//! Handling physical interrupts at EL2 through the GIC's CPU interface in
//! phase 1, and recording what arrived for [`main`](crate::hypervisor_main)
//! to check.
//!
//! EL2's CPU interface runs in split EOI mode (GICC_CTLR.EOImode = 1):
//! GICC_EOIR only drops the running priority, GICC_DIR deactivates. This
//! handler does both for every interrupt; while a guest runs, the run loop
//! takes the physical interrupts itself and leaves the forwarded ones
//! active for the guest to deactivate ([`vm`](crate::vm)).

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use gic_driver::bus::Mmio;
use gic_driver::{Acknowledged, CpuInterface, Deactivation};

use crate::verdict::{self, Failure};
use crate::{board, timer};

/// This CPU's GIC CPU interface. It is a `static` so that the IRQ handler,
/// which the vector table calls with no arguments, can reach it.
pub static GICC: CpuInterface<Mmio> = CpuInterface::new(
    // SAFETY: board::GICC_BASE is QEMU virt's GICC frame; the MMU is off, so
    // it is Device memory, and nothing else in the program uses that address.
    unsafe { Mmio::new(board::GICC_BASE) },
);

/// How many acknowledged interrupts are remembered; later ones are counted only.
pub const CAPACITY: usize = 8;

/// After this many interrupts, in total or in one call, the handler gives
/// up: something keeps firing (for example a level interrupt that is never
/// lowered, or deactivated while its line is still high), and `main` would
/// never run again to notice.
pub const STORM_LIMIT: usize = 1000;

/// The raw GICC_IAR values of the interrupts handled so far, in order.
///
/// Only the IRQ handler writes (and it is never re-entered: IRQs stay masked
/// while it runs); `main` reads. Plain atomic loads and stores suffice: no
/// read-modify-write, so no exclusive accesses on memory that, with the MMU
/// off, is Device memory.
static RECEIVED: [AtomicU32; CAPACITY] = [const { AtomicU32::new(0) }; CAPACITY];
/// How many interrupts the handler has acknowledged, including any beyond
/// [`CAPACITY`]. Published with release ordering after the entry is written.
static COUNT: AtomicUsize = AtomicUsize::new(0);

/// The IRQ handler, called from the vector table for an IRQ taken at EL2
/// (phase 1).
///
/// Acknowledges each pending interrupt (GICC_IAR) and records it for
/// `main` to check; the EL2 timer's level-triggered line is lowered first,
/// or it would fire again at once. [`CpuInterface::handle_pending_with`]
/// then writes GICC_EOIR (priority drop) and GICC_DIR (deactivation).
pub fn handle() {
    let mut handled = 0;
    GICC.handle_pending_with(|ack| {
        handled += 1;
        if handled >= STORM_LIMIT {
            storm(ack);
        }
        if ack.intid() == board::EL2_PHYS_TIMER_INTID {
            timer::disarm();
        }
        record(ack);
        Deactivation::Deactivate
    });
}

/// Appends `ack` to the log.
fn record(ack: Acknowledged) {
    let n = COUNT.load(Ordering::Relaxed);
    if let Some(slot) = RECEIVED.get(n) {
        slot.store(ack.raw(), Ordering::Relaxed);
    }
    COUNT.store(n + 1, Ordering::Release);
    if n + 1 >= STORM_LIMIT {
        storm(ack);
    }
}

/// Ends the run: `ack` is the last of [`STORM_LIMIT`] interrupts.
fn storm(ack: Acknowledged) -> ! {
    verdict::report(Err(Failure::Storm(ack.intid())))
}

/// How many interrupts have been handled so far.
pub fn count() -> usize {
    COUNT.load(Ordering::Acquire)
}

/// The interrupts handled so far, in the order they were acknowledged (at
/// most the first [`CAPACITY`]).
pub fn received() -> impl Iterator<Item = Acknowledged> {
    let n = count().min(CAPACITY);
    RECEIVED[..n]
        .iter()
        .map(|raw| Acknowledged::from_raw(raw.load(Ordering::Relaxed)))
}
