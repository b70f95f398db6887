//! The first instructions of every CPU, up to Rust.
//!
//! QEMU starts CPU 0 at the ELF entry point `_start`, at EL2 (the board has
//! `virtualization=on` and no firmware), MMU and caches off, interrupts
//! masked; the other CPUs stay powered off until CPU 0 starts them with
//! PSCI CPU_ON at `secondary_entry`, with their CPU number as the context
//! id in x0 (see [`cpus`](crate::cpus)). Both paths then:
//!
//! 1. take the stack of their CPU number (`link.x` reserves one per CPU);
//! 2. let FP/SIMD instructions run (CPTR_EL2.TFP = 0; CPACR_EL1 if QEMU
//!    started us at EL1, so the probe can say so);
//! 3. install the vector table ([`exceptions`](crate::exceptions));
//! 4. CPU 0 zeroes `.bss` and calls [`probe_main`](crate::probe_main), the
//!    others call [`secondary_main`](crate::cpus::secondary_main).

use core::arch::global_asm;

use aarch64_cpu::registers::{CurrentEL, CPACR_EL1};

/// CPTR_EL2 with HCR_EL2.E2H = 0 (Armv8.0): its RES1 bits (13:12, 9:0) set
/// and nothing trapped (TFP, bit 10, clear).
const CPTR_EL2_NO_TRAPS: u64 = (0b11 << 12) | 0x3FF;
/// CurrentEL when running at EL2.
const AT_EL2: u64 = CurrentEL::EL::EL2.value;
/// CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap at EL1.
const CPACR_EL1_FP_ON: u64 = CPACR_EL1::FPEN::TrapNothing.value;
/// Bytes of stack per CPU (`STACK_SIZE` in link.x).
const STACK_SIZE: u64 = 64 * 1024;
/// MPIDR_EL1 affinity fields (Aff3, Aff2, Aff1, Aff0): zero on CPU 0.
const AFFINITY: u64 = 0xFF_00FF_FFFF;

// SAFETY (of the whole block): these are the entry points of each CPU; they
// run before any Rust code, touch only the registers named above, the
// CPU's own stack and (CPU 0 only, before any other CPU runs) `.bss`, and
// call Rust with a valid, 16-byte aligned stack.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    // Only CPU 0 starts here; park any other (it is never released).
    mrs     x0, mpidr_el1
    mov     x1, #{AFFINITY_LO}
    movk    x1, #{AFFINITY_HI}, lsl #32
    tst     x0, x1
    b.ne    park
    mov     x0, #0
    b       common

    .global secondary_entry
secondary_entry:
    // x0: the CPU number, the context id given to PSCI CPU_ON.

common:
    // 1. This CPU's stack: __stacks_top - n * STACK_SIZE.
    adrp    x1, __stacks_top
    add     x1, x1, :lo12:__stacks_top
    mov     x2, #{STACK_SIZE}
    msub    x1, x0, x2, x1
    mov     sp, x1

    // 2. FP/SIMD.
    mrs     x1, CurrentEL
    cmp     x1, #{AT_EL2}
    b.ne    1f
    mov     x1, #{CPTR_EL2_NO_TRAPS}
    msr     cptr_el2, x1
    // 3. Vectors (EL2 only: at EL1 the probe just reports and exits).
    adrp    x1, el2_vectors
    add     x1, x1, :lo12:el2_vectors
    msr     vbar_el2, x1
    b       2f
1:  mov     x1, #{CPACR_EL1_FP_ON}
    msr     cpacr_el1, x1
2:  isb

    // 4. CPU 0: zero .bss (16 bytes at a time), then probe_main.
    cbnz    x0, 4f
    adrp    x1, __bss_start
    add     x1, x1, :lo12:__bss_start
    adrp    x2, __bss_end
    add     x2, x2, :lo12:__bss_end
3:  cmp     x1, x2
    b.hs    5f
    stp     xzr, xzr, [x1], #16
    b       3b
5:  bl      probe_main
    b       park
4:  bl      secondary_main

park:
    wfe
    b       park
    "#,
    AFFINITY_LO = const AFFINITY & 0xFFFF_FFFF,
    AFFINITY_HI = const AFFINITY >> 32,
    STACK_SIZE = const STACK_SIZE,
    AT_EL2 = const AT_EL2,
    CPTR_EL2_NO_TRAPS = const CPTR_EL2_NO_TRAPS,
    CPACR_EL1_FP_ON = const CPACR_EL1_FP_ON,
);
