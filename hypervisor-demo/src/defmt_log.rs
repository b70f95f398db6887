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
//! The critical section spans the CPUs: [`acquire`](Logger::acquire)
//! masks this CPU's IRQs and FIQs (DAIF), then takes a spin lock whose
//! value is the owner's MPIDR affinity, and [`release`](Logger::release)
//! frees it and restores DAIF, so frames from several CPUs never
//! interleave and the IRQ handler can log too. The lock is an exclusive
//! compare-and-swap, valid because every CPU turns its EL2 MMU on (RAM
//! Normal cacheable, [`mmu`](crate::mmu)) before it logs. Re-entry on the
//! owning CPU (a fault or panic inside a log call) writes nothing: a
//! half-written frame must not swallow another; the panic and exception
//! handlers check [`busy`] and use the UART then.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, DAIF, MPIDR_EL1};

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

// SAFETY: the channel is only touched between `acquire` and `release` by
// the CPU that owns `OWNER`, with its IRQs and FIQs masked, so no two
// references to it exist at once.
unsafe impl Sync for Shared {}

static CHANNEL: Shared = Shared(UnsafeCell::new(Channel {
    encoder: defmt::Encoder::new(),
    buf: [0; BUFFER],
    len: 0,
    daif: 0,
}));

/// The CPU writing a frame ([`this_cpu`]), or 0.
static OWNER: AtomicU64 = AtomicU64::new(0);
/// Log calls entered by the owner while it wrote a frame (their frames are
/// dropped). Only the owner touches it.
static NESTED: AtomicU32 = AtomicU32::new(0);

/// This CPU, as [`OWNER`] holds it: its MPIDR affinity with bit 63 set,
/// never 0.
fn this_cpu() -> u64 {
    (MPIDR_EL1.get() & 0xFF_00FF_FFFF) | 1 << 63
}

/// Whether a log call is in progress on this CPU: a panic or exception
/// handler that finds it so must not log through defmt (its frame would be
/// dropped) and prints on the UART instead.
pub fn busy() -> bool {
    OWNER.load(Ordering::Relaxed) == this_cpu()
}

/// DAIF.I and DAIF.F: IRQs and FIQs masked.
const DAIF_IRQ_FIQ: u64 = DAIF::I::Masked.value | DAIF::F::Masked.value;

// SAFETY: `acquire` masks interrupts, takes `OWNER` and refuses re-entry,
// so the calls between it and `release` are never interleaved with another
// frame's; `write`, `flush` and `release` run only after `acquire`, as
// defmt guarantees.
unsafe impl defmt::Logger for SemihostingLogger {
    fn acquire() {
        let daif = DAIF.get();
        DAIF.set(daif | DAIF_IRQ_FIQ);
        let me = this_cpu();
        loop {
            match OWNER.compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => break,
                Err(owner) if owner == me => {
                    NESTED.store(NESTED.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
                    return;
                }
                Err(_) => core::hint::spin_loop(),
            }
        }
        // SAFETY: this CPU now owns OWNER, with its interrupts masked: this
        // is the only reference until `release`.
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
        OWNER.store(0, Ordering::Release);
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
