//! Ending the run with an exit status: Arm semihosting SYS_EXIT (`hlt
//! #0xf000` with operation 0x18 in x0 and, in x1, the address of the reason
//! ADP_Stopped_ApplicationExit and the status). QEMU's `-semihosting`
//! makes the status its own exit status.

use core::arch::asm;

/// Every scenario ran.
pub const SUCCESS: u32 = 0;
/// An exception other than an access abort.
pub const UNEXPECTED_EXCEPTION: u32 = 3;
/// Not started at EL2.
pub const NOT_AT_EL2: u32 = 4;
/// A secondary CPU could not be started.
pub const CPU_START_FAILED: u32 = 5;
/// The embedded corpus does not parse.
pub const BAD_CORPUS: u32 = 6;
/// A Rust panic.
pub const PANIC: u32 = 101;

const SYS_EXIT: u64 = 0x18;
const ADP_STOPPED_APPLICATION_EXIT: u64 = 0x20026;

/// Ends the emulation with `status`.
pub fn exit(status: u32) -> ! {
    let block: [u64; 2] = [ADP_STOPPED_APPLICATION_EXIT, status as u64];
    // SAFETY: the semihosting call reads the two words at x1, on this stack
    // frame for the duration of the call; with -semihosting it does not
    // return (without it, `hlt` is undefined and the vector ends the run).
    unsafe {
        asm!(
            "hlt #0xf000",
            in("x0") SYS_EXIT,
            in("x1") block.as_ptr(),
            options(nostack, readonly),
        );
    }
    loop {
        aarch64_cpu::asm::wfe();
    }
}
