//! EL2 exceptions: a register access that aborts is recorded and skipped;
//! anything else ends the run.
//!
//! A scenario may access an offset where QEMU's GIC answers with a bus
//! error (a synchronous external abort, a Data Abort taken to EL2, ESR_EL2.EC
//! 0x25). The vector for a synchronous exception from EL2 on SP_EL2 sets
//! this CPU's flag in [`ABORTED`] and returns past the faulting instruction,
//! so the access reads as `abort`. Every other exception prints ESR_EL2,
//! ELR_EL2 and FAR_EL2 and exits with status 3.

use core::arch::global_asm;
use core::sync::atomic::AtomicU32;

use crate::{cpus::MAX_CPUS, println, semihosting};

/// Per CPU (MPIDR_EL1.Aff0, QEMU virt's CPU number): set to 1 by the
/// vector when an access aborted. Read and cleared with plain loads and
/// stores (see [`crate::gic::access`]).
#[no_mangle]
pub static ABORTED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// ESR_EL2.EC of a Data Abort taken without a change in exception level.
const EC_DATA_ABORT_SAME_EL: u64 = 0x25;

// SAFETY (of the whole block): the table is 2 KiB aligned as VBAR_EL2
// requires and every entry fits in its 0x80 bytes. `el2_sync` saves the two
// registers it uses on the current stack (no red zone in AAPCS64) and
// restores them before `eret`; it writes only this CPU's word of ABORTED
// and ELR_EL2. The other entries never return.
global_asm!(
    r#"
    .macro unexpected index
    .balign 0x80
    mov     x0, #\index
    b       el2_unexpected
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global el2_vectors
el2_vectors:
    unexpected 0
    unexpected 1
    unexpected 2
    unexpected 3
    .balign 0x80
    b       el2_sync
    unexpected 5
    unexpected 6
    unexpected 7
    unexpected 8
    unexpected 9
    unexpected 10
    unexpected 11
    unexpected 12
    unexpected 13
    unexpected 14
    unexpected 15

el2_sync:
    stp     x0, x1, [sp, #-16]!
    mrs     x0, esr_el2
    lsr     x0, x0, #26
    cmp     x0, #{EC_DATA_ABORT_SAME_EL}
    b.ne    1f
    mrs     x0, mpidr_el1
    and     x0, x0, #0xff
    adrp    x1, ABORTED
    add     x1, x1, :lo12:ABORTED
    add     x1, x1, x0, lsl #2
    mov     w0, #1
    str     w0, [x1]
    mrs     x0, elr_el2
    add     x0, x0, #4
    msr     elr_el2, x0
    ldp     x0, x1, [sp], #16
    eret
1:  ldp     x0, x1, [sp], #16
    mov     x0, #4
    b       el2_unexpected

el2_unexpected:
    mrs     x1, esr_el2
    mrs     x2, elr_el2
    mrs     x3, far_el2
    bl      unexpected_exception
2:  wfe
    b       2b
    "#,
    EC_DATA_ABORT_SAME_EL = const EC_DATA_ABORT_SAME_EL,
);

/// Reports an exception the probe does not handle, and ends the run.
#[no_mangle]
extern "C" fn unexpected_exception(vector: u64, esr: u64, elr: u64, far: u64) -> ! {
    println!(
        "probe: unexpected exception (vector {vector}): ESR_EL2 {esr:#x}, ELR_EL2 {elr:#x}, FAR_EL2 {far:#x}"
    );
    semihosting::exit(semihosting::UNEXPECTED_EXCEPTION)
}
