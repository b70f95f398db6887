//! The first instructions after reset: from `_start` to Rust's [`hypervisor_main`](crate::hypervisor_main).
//!
//! QEMU starts every CPU at the ELF entry point, at EL2 when the board has
//! `virtualization=on` and no firmware, with the MMU and caches off and every
//! interrupt masked (PSTATE.DAIF all set). Before any Rust code runs we:
//!
//! 1. park every CPU but the boot CPU (MPIDR_EL1 affinity 0.0.0.0) in a
//!    `wfe` loop: the demo is single-core;
//! 2. point SP at the stack that `link.x` reserves (SP_EL2, since SPSel = 1
//!    out of reset);
//! 3. zero `.bss`, which Rust assumes holds zeroes;
//! 4. stop FP/SIMD instructions from trapping (CPTR_EL2.TFP = 0 at EL2,
//!    CPACR_EL1.FPEN = 0b11 if started at EL1), because the compiler may use
//!    the SIMD registers for copies and formatting;
//! 5. call [`hypervisor_main`](crate::hypervisor_main), which never returns.
//!
//! The vector table, the interrupt routing and the unmasking of IRQs are set
//! up from Rust, in [`exceptions`](crate::exceptions).

use core::arch::global_asm;

// SAFETY (of the whole block): this is the reset entry; it runs before any
// Rust code, touches only the registers named above, the stack and `.bss`
// that the linker script reserves for this purpose, and branches to `hypervisor_main`
// with a valid, 16-byte aligned stack.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    // 1. Only the boot CPU (all affinity fields zero) continues.
    mrs     x0, mpidr_el1
    mov     x1, #0xffffff           // Aff2:Aff1:Aff0
    orr     x1, x1, #(0xff << 32)   // Aff3
    tst     x0, x1
    b.ne    park

    // 2. The stack grows down from the end of the region link.x reserves.
    adrp    x0, __stack_top
    add     x0, x0, :lo12:__stack_top
    mov     sp, x0

    // 3. Zero .bss, 16 bytes at a time (link.x aligns both ends to 16).
    adrp    x0, __bss_start
    add     x0, x0, :lo12:__bss_start
    adrp    x1, __bss_end
    add     x1, x1, :lo12:__bss_end
1:  cmp     x0, x1
    b.hs    2f
    stp     xzr, xzr, [x0], #16
    b       1b
2:

    // 4. Let FP/SIMD instructions execute at the current exception level.
    mrs     x0, CurrentEL
    cmp     x0, #(2 << 2)
    b.ne    3f
    // CPTR_EL2: RES1 bits 13:12 and 9:0 set, TFP (bit 10) = 0, TCPAC = 0.
    mov     x0, #0x33ff
    msr     cptr_el2, x0
    b       4f
3:  // Not at EL2 (QEMU without virtualization=on): enable FP at EL1 so
    // that hypervisor_main can still report the problem.
    mov     x0, #(3 << 20)          // CPACR_EL1.FPEN = 0b11
    msr     cpacr_el1, x0
4:  isb

    // 5. Enter Rust. hypervisor_main never returns; park if it somehow did.
    bl      hypervisor_main

park:
    wfe
    b       park
    "#
);
