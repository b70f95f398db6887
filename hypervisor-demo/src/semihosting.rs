//! Ending the run with an exit status, through Arm semihosting.
//!
//! With `-semihosting`, QEMU treats `hlt #0xf000` on AArch64 as a request to
//! the host (Arm's "Semihosting for AArch32 and AArch64", 4.1). Operation
//! SYS_EXIT (0x18) takes in x1 the address of two 64-bit words: the reason,
//! ADP_Stopped_ApplicationExit (0x20026), and the exit status, which QEMU
//! then uses as its own process exit status. That is how the demo's verdict
//! reaches the runner.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, Ordering};

/// Semihosting operation number of SYS_EXIT.
const SYS_EXIT: u64 = 0x18;
/// Reason code ADP_Stopped_ApplicationExit: a normal exit with a status.
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Exit statuses of the demo, as seen by the runner.
pub mod status {
    /// Every expected interrupt arrived, in order.
    pub const SUCCESS: u32 = 0;
    /// Interrupts arrived, but not the expected ones or not in order.
    pub const WRONG_INTERRUPTS: u32 = 1;
    /// Not every expected interrupt arrived before the deadline.
    pub const TIMEOUT: u32 = 2;
    /// An exception other than an IRQ was taken, or the guest exited in a
    /// way the hypervisor does not handle.
    pub const UNEXPECTED_EXCEPTION: u32 = 3;
    /// The demo did not start at EL2 (QEMU without `virtualization=on`).
    pub const NOT_AT_EL2: u32 = 4;
    /// The GIC could not be set up.
    pub const GIC_ERROR: u32 = 5;
    /// A Rust panic.
    pub const PANIC: u32 = 101;
}

/// Set by the first call to [`exit`], so that a failing exit does not recurse.
///
/// Read and written with plain loads and stores, never an exclusive
/// read-modify-write such as `swap`: with the MMU off every access is to
/// Device memory, where exclusives are not guaranteed to work. Plain
/// accesses suffice because one CPU runs, and the only way back into `exit`
/// is the exception that the `hlt` itself raises, after the store.
static EXITING: AtomicBool = AtomicBool::new(false);

/// Ends the emulation with `status` as QEMU's exit status.
///
/// Without `-semihosting`, `hlt` is an undefined instruction; the exception
/// handler then calls `exit` again, which finds [`EXITING`] set and parks
/// the CPU instead (the runner's time limit then ends the run).
pub fn exit(status: u32) -> ! {
    if !EXITING.load(Ordering::Relaxed) {
        EXITING.store(true, Ordering::Relaxed);
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
    } else {
        crate::println!("semihosting exit failed (run QEMU with -semihosting); halting");
    }
    loop {
        aarch64_cpu::asm::wfe();
    }
}
