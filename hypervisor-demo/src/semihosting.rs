//! Ending the run with an exit status, and the log channel, through Arm
//! semihosting.
//!
//! With semihosting enabled, QEMU treats `hlt #0xf000` on AArch64 as a
//! request to the host (Arm's "Semihosting for AArch32 and AArch64", 4.1).
//! Operation SYS_EXIT (0x18) takes in x1 the address of two 64-bit words:
//! the reason, ADP_Stopped_ApplicationExit (0x20026), and the exit status,
//! which QEMU then uses as its own process exit status. That is how the
//! demo's verdict reaches the runner.
//!
//! SYS_WRITEC (0x03) and SYS_WRITE0 (0x04) write a byte and a NUL-ended
//! string to the semihosting console, which the runner sends to a file of
//! its own (`-semihosting-config chardev=`): the hypervisor's defmt frames
//! ([`defmt_log`](crate::defmt_log)) travel there, apart from the UART that
//! carries the guest's text. (SYS_WRITE to `:tt` would not do: QEMU 7.2
//! writes it to its standard output, the UART's stream.)

use core::arch::asm;
use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, MPIDR_EL1};

/// Semihosting operation number of SYS_WRITEC.
const SYS_WRITEC: u64 = 0x03;
/// Semihosting operation number of SYS_WRITE0.
const SYS_WRITE0: u64 = 0x04;
/// Semihosting operation number of SYS_EXIT.
const SYS_EXIT: u64 = 0x18;
/// Reason code ADP_Stopped_ApplicationExit: a normal exit with a status.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Exit statuses of the demo, as seen by the runner.
pub mod status {
    /// Every expected interrupt arrived, in order; or an external guest
    /// powered off (PSCI SYSTEM_OFF).
    pub const SUCCESS: u32 = 0;
    /// Interrupts arrived, but not the expected ones or not in order.
    pub const WRONG_INTERRUPTS: u32 = 1;
    /// Not every expected interrupt arrived before the deadline.
    pub const TIMEOUT: u32 = 2;
    /// An exception other than an IRQ was taken, the guest exited in a
    /// way the hypervisor does not handle (or turned its last vCPU off),
    /// or an external guest could not be started.
    pub const UNEXPECTED_EXCEPTION: u32 = 3;
    /// The demo did not start at EL2 (QEMU without `virtualization=on`).
    pub const NOT_AT_EL2: u32 = 4;
    /// The GIC could not be set up.
    pub const GIC_ERROR: u32 = 5;
    /// An external guest asked for a reset (PSCI SYSTEM_RESET).
    pub const GUEST_RESET: u32 = 6;
    /// A Rust panic.
    pub const PANIC: u32 = 101;
}

/// Writes `byte` to the semihosting console (SYS_WRITEC).
pub fn write_byte(byte: u8) {
    // SAFETY: SYS_WRITEC only reads the byte at x1, which lives on this
    // stack frame for the duration of the call; it returns with x0
    // corrupted, which the asm declares.
    unsafe {
        asm!(
            "hlt #0xf000",
            inlateout("x0") SYS_WRITEC => _,
            in("x1") &byte as *const u8,
            options(nostack, readonly),
        );
    }
}

/// Writes the bytes of `text` before its first zero byte to the
/// semihosting console (SYS_WRITE0). `text` must contain a zero byte.
pub fn write_until_nul(text: &[u8]) {
    if !text.contains(&0) {
        return;
    }
    // SAFETY: SYS_WRITE0 reads from x1 up to the first zero byte, which
    // lies within `text` (checked above), borrowed for the call; x0 comes
    // back corrupted, which the asm declares.
    unsafe {
        asm!(
            "hlt #0xf000",
            inlateout("x0") SYS_WRITE0 => _,
            in("x1") text.as_ptr(),
            options(nostack, readonly),
        );
    }
}

/// The CPU that made the first call to [`exit`] (its MPIDR affinity with
/// bit 63 set), or 0: of several CPUs exiting at once, one makes the call,
/// and a failing call does not recurse.
///
/// Compared and swapped (an exclusive read-modify-write, on the Normal memory of EL2's
/// map); the only way back into `exit` on that CPU is the exception that
/// the `hlt` itself raises, after it.
static EXITING: AtomicU64 = AtomicU64::new(0);

/// Ends the emulation with `status` as QEMU's exit status.
///
/// Without semihosting, `hlt` is an undefined instruction; the exception
/// handler then calls `exit` again, which finds [`EXITING`] set by this
/// CPU, says so and parks the CPU instead (the runner's time limit then
/// ends the run). Another CPU that calls `exit` meanwhile parks.
pub fn exit(status: u32) -> ! {
    let me = (MPIDR_EL1.get() & 0xFF_00FF_FFFF) | 1 << 63;
    let first = EXITING
        .compare_exchange(0, me, Ordering::AcqRel, Ordering::Acquire)
        .map_or_else(|owner| owner, |_| 0);
    if first == 0 {
        // The parameter block: plain memory on this stack frame.
        let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, status as u64];
        // SAFETY: the semihosting call only reads the two words at x1, which
        // live on this stack frame for the duration of the call; with
        // semihosting enabled it does not return.
        unsafe {
            asm!(
                "hlt #0xf000",
                in("x0") SYS_EXIT,
                in("x1") block.as_ptr(),
                options(nostack, readonly),
            );
        }
    } else if first == me {
        crate::println!("semihosting exit failed (run QEMU with -semihosting); halting");
    }
    loop {
        aarch64_cpu::asm::wfe();
    }
}
