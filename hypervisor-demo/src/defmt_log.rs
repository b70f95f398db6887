//! The hypervisor's log channel: a defmt global logger whose frames go to
//! the semihosting console, apart from the UART that carries the guest's
//! own text.
//!
//! `defmt::info!` and friends do not format on the target: each call
//! sends the index of its format string in the ELF's `.defmt` section and
//! its arguments in binary, rzCOBS-encoded (defmt's default encoding) so
//! that no frame contains a zero byte and each ends with one. The runner
//! (`qemu-runner`) reads the console's file, decodes each frame with the
//! ELF's table and prints it with its level. The level kept in the build
//! is `DEFMT_LOG` at compile time (`info` unless set, see `build.rs`).
//!
//! Each frame's non-zero bytes are gathered in a small buffer and written
//! with one SYS_WRITE0 (a NUL-ended string); each zero byte, a frame's
//! end, with one SYS_WRITEC ([`semihosting`](crate::semihosting)). A short
//! log line costs two exits to QEMU.
//!
//! The critical section is this CPU's alone: [`acquire`](Logger::acquire)
//! masks IRQs and FIQs (DAIF) and [`release`](Logger::release) restores
//! them, so the IRQ handler can log too. The `TAKEN` flag uses plain loads
//! and stores, never an exclusive read-modify-write: with the MMU off every
//! access is to Device memory, where exclusives are not guaranteed to work,
//! and with one CPU and interrupts masked nothing runs between the load and
//! the store. Re-entry (a fault or panic inside a log call) writes nothing:
//! a half-written frame must not swallow another; the panic and exception
//! handlers check [`busy`] and use the UART then.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, DAIF};

use crate::semihosting;

/// Bytes gathered before a SYS_WRITE0, the closing NUL included.
const BUFFER: usize = 128;

/// The defmt global logger: frames to the semihosting console.
#[defmt::global_logger]
struct SemihostingLogger;

/// The state of the frame being written.
struct Channel {
    encoder: defmt::Encoder,
    /// Non-zero frame bytes not yet written, and room for the NUL.
    buf: [u8; BUFFER],
    len: usize,
    /// DAIF as it was before [`SemihostingLogger::acquire`].
    daif: u64,
}

/// [`Channel`], shared between the log calls of the one running CPU.
struct Shared(UnsafeCell<Channel>);

// SAFETY: only one CPU runs, and the channel is only touched between
// `acquire` and `release`, with IRQs and FIQs masked and `TAKEN` set, so
// no two references to it exist at once.
unsafe impl Sync for Shared {}

static CHANNEL: Shared = Shared(UnsafeCell::new(Channel {
    encoder: defmt::Encoder::new(),
    buf: [0; BUFFER],
    len: 0,
    daif: 0,
}));

/// A frame is being written.
static TAKEN: AtomicBool = AtomicBool::new(false);
/// Log calls entered while [`TAKEN`] was set (their frames are dropped).
static NESTED: AtomicU32 = AtomicU32::new(0);

/// Whether a log call is in progress on this CPU: a panic or exception
/// handler that finds it so must not log through defmt (its frame would be
/// dropped) and prints on the UART instead.
pub fn busy() -> bool {
    TAKEN.load(Ordering::Relaxed)
}

/// DAIF.I and DAIF.F: IRQs and FIQs masked.
const DAIF_IRQ_FIQ: u64 = (1 << 7) | (1 << 6);

// SAFETY: `acquire` masks interrupts and refuses re-entry (`TAKEN`), so
// the calls between it and `release` are never interleaved with another
// frame's; `write`, `flush` and `release` run only after `acquire`, as
// defmt guarantees.
unsafe impl defmt::Logger for SemihostingLogger {
    fn acquire() {
        let daif = DAIF.get();
        DAIF.set(daif | DAIF_IRQ_FIQ);
        if TAKEN.load(Ordering::Relaxed) {
            NESTED.store(NESTED.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            return;
        }
        TAKEN.store(true, Ordering::Relaxed);
        // SAFETY: TAKEN was clear and is now set, with interrupts masked on
        // the only CPU: this is the only reference until `release`.
        let ch = unsafe { &mut *CHANNEL.0.get() };
        ch.daif = daif;
        let Channel {
            encoder, buf, len, ..
        } = ch;
        encoder.start_frame(|bytes| emit(buf, len, bytes));
    }

    unsafe fn flush() {
        if NESTED.load(Ordering::Relaxed) != 0 {
            return;
        }
        // SAFETY: between acquire and release (defmt's contract), not nested.
        let ch = unsafe { &mut *CHANNEL.0.get() };
        drain(&mut ch.buf, &mut ch.len);
    }

    unsafe fn release() {
        let nested = NESTED.load(Ordering::Relaxed);
        if nested != 0 {
            NESTED.store(nested - 1, Ordering::Relaxed);
            return;
        }
        // SAFETY: between acquire and release (defmt's contract), not nested.
        let ch = unsafe { &mut *CHANNEL.0.get() };
        let Channel {
            encoder, buf, len, ..
        } = ch;
        encoder.end_frame(|bytes| emit(buf, len, bytes));
        drain(buf, len);
        let daif = ch.daif;
        TAKEN.store(false, Ordering::Relaxed);
        DAIF.set(daif);
    }

    unsafe fn write(bytes: &[u8]) {
        if NESTED.load(Ordering::Relaxed) != 0 {
            return;
        }
        // SAFETY: between acquire and release (defmt's contract), not nested.
        let ch = unsafe { &mut *CHANNEL.0.get() };
        let Channel {
            encoder, buf, len, ..
        } = ch;
        encoder.write(bytes, |bytes| emit(buf, len, bytes));
    }
}

/// Sends encoded bytes: non-zero ones gathered in `buf`, each zero byte
/// (a frame's end) after what was gathered, on its own.
fn emit(buf: &mut [u8; BUFFER], len: &mut usize, bytes: &[u8]) {
    for &byte in bytes {
        if byte == 0 {
            drain(buf, len);
            semihosting::write_byte(0);
        } else {
            buf[*len] = byte;
            *len += 1;
            if *len == BUFFER - 1 {
                drain(buf, len);
            }
        }
    }
}

/// Writes the gathered bytes with one SYS_WRITE0.
fn drain(buf: &mut [u8; BUFFER], len: &mut usize) {
    if *len == 0 {
        return;
    }
    buf[*len] = 0;
    semihosting::write_until_nul(&buf[..=*len]);
    *len = 0;
}
