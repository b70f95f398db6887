//! Handling physical interrupts at EL2 through the GIC's CPU interface, and
//! recording what arrived for [`main`](crate::hypervisor_main) to check.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use gic_driver::bus::Mmio;
use gic_driver::{Acknowledged, CpuInterface};

use crate::semihosting::{self, status};
use crate::timer;

/// Physical base address of the GIC CPU interface (GICC) on QEMU virt.
const GICC_BASE: usize = 0x0801_0000;

/// This CPU's GIC CPU interface. It is a `static` so that the IRQ handler,
/// which the vector table calls with no arguments, can reach it.
pub static GICC: CpuInterface<Mmio> = CpuInterface::new(
    // SAFETY: GICC_BASE is QEMU virt's GICC frame; the MMU is off, so it is
    // Device memory, and nothing else in the program uses that address.
    unsafe { Mmio::new(GICC_BASE) },
);

/// How many acknowledged interrupts are remembered; later ones are counted only.
pub const CAPACITY: usize = 8;

/// After this many interrupts the handler gives up: something keeps firing
/// (for example a level interrupt that is never lowered), and `main` would
/// never run again to notice.
const STORM_LIMIT: usize = 1000;

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

/// The IRQ handler, called from the vector table.
///
/// Acknowledges each pending interrupt (GICC_IAR), handles it, and ends it
/// (GICC_EOIR) — [`CpuInterface::handle_pending`] does the acknowledge/end
/// pairing so no path can forget the EOI.
pub fn handle() {
    GICC.handle_pending(|ack| {
        // The timer's line is level-sensitive: lower it before the EOI, or
        // the interrupt would be pending again at once.
        if ack.intid() == timer::INTID {
            timer::disarm();
        }
        record(ack);
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
        crate::println!(
            "verdict: FAIL: interrupt storm, {STORM_LIMIT} interrupts, the last {}",
            ack.intid()
        );
        semihosting::exit(status::WRONG_INTERRUPTS);
    }
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
