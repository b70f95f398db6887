//! The first instructions after reset: from `_start` to Rust's [`hypervisor_main`](crate::hypervisor_main).
//!
//! QEMU starts the boot CPU at the ELF entry point `_start`, at EL2 when
//! the board has `virtualization=on` and no firmware, with the MMU and
//! caches off and every interrupt masked (PSTATE.DAIF all set); the other
//! CPUs stay powered off until the boot CPU starts them with PSCI CPU_ON
//! at `secondary_entry` ([`smp`](crate::smp)), their CPU number as the
//! context id in x0. Before any Rust code runs, `_start`:
//!
//! 1. parks any CPU but the boot CPU (MPIDR_EL1 affinity 0.0.0.0) in a
//!    `wfe` loop (none is expected: the others start powered off);
//! 2. points SP at the top of the stack region `link.x` reserves (SP_EL2,
//!    since SPSel = 1 out of reset): CPU 0's stack;
//! 3. zeroes `.bss`, which Rust assumes holds zeroes;
//! 4. stops FP/SIMD instructions from trapping (CPTR_EL2.TFP = 0 at EL2,
//!    CPACR_EL1.FPEN = 0b11 if started at EL1), because the compiler may use
//!    the SIMD registers for copies and formatting;
//! 5. calls [`hypervisor_main`](crate::hypervisor_main), which never returns.
//!
//! `secondary_entry` takes the stack of its CPU number n (`STACK_SIZE`
//! bytes below CPU n - 1's), does step 4 and calls
//! [`secondary_main`](crate::smp::secondary_main)`(n)`. Neither path reads
//! memory: a secondary CPU's caches are off until its Rust code turns its
//! MMU on, and memory the boot CPU wrote may still be in the boot CPU's
//! cache.
//!
use core::arch::global_asm;

use aarch64_cpu::registers::{CurrentEL, CPACR_EL1, MPIDR_EL1};
use tock_registers::fields::Field;
use tock_registers::register_bitfields;

register_bitfields! {u64,
    /// CPTR_EL2 as Armv8.0 defines it with HCR_EL2.E2H = 0 (aarch64-cpu 11
    /// names only its TAM bit). Later versions give some RES1 bits meanings
    /// (TZ, bit 8, and TSM, bit 12, trap SVE and SME when set).
    CPTR_EL2 [
        /// TCPAC: traps EL1 accesses to CPACR_EL1.
        TCPAC OFFSET(31) NUMBITS(1) [],
        /// TTA: traps trace register accesses.
        TTA OFFSET(20) NUMBITS(1) [],
        /// Bits 13:12, RES1.
        RES1_13_12 OFFSET(12) NUMBITS(2) [],
        /// TFP: traps FP/SIMD instructions and registers at EL2 and below.
        TFP OFFSET(10) NUMBITS(1) [],
        /// Bits 9:0, RES1.
        RES1_9_0 OFFSET(0) NUMBITS(10) [],
    ]
}

/// The bits of `field` in its register.
const fn bits(field: Field<u64, MPIDR_EL1::Register>) -> u64 {
    field.mask << field.shift
}

/// MPIDR_EL1.{Aff2, Aff1, Aff0}: zero on the boot CPU.
const AFF2_TO_AFF0: u64 = bits(MPIDR_EL1::Aff2) | bits(MPIDR_EL1::Aff1) | bits(MPIDR_EL1::Aff0);
/// MPIDR_EL1.Aff3: zero on the boot CPU.
const AFF3: u64 = bits(MPIDR_EL1::Aff3);
/// CurrentEL when running at EL2.
const AT_EL2: u64 = CurrentEL::EL::EL2.value;
/// CPTR_EL2: the RES1 bits set, nothing trapped (TFP = 0: FP/SIMD runs;
/// TCPAC = 0, TTA = 0).
const CPTR_EL2_NO_TRAPS: u64 = CPTR_EL2::RES1_13_12.val(0b11).value
    | CPTR_EL2::RES1_9_0.val(0x3FF).value
    | CPTR_EL2::TFP::CLEAR.value
    | CPTR_EL2::TCPAC::CLEAR.value
    | CPTR_EL2::TTA::CLEAR.value;
/// CPACR_EL1.FPEN = 0b11: FP/SIMD does not trap at EL1 or EL0.
pub const CPACR_EL1_FP_ON: u64 = CPACR_EL1::FPEN::TrapNothing.value;

// SAFETY (of the whole block): these are the entries of the boot CPU
// (reset) and of the secondaries (PSCI CPU_ON); they run before any Rust
// code, touch only the registers named above, the CPU's own stack and
// (the boot CPU, before any other CPU runs) `.bss`, which the linker
// script reserves for this purpose, and branch to Rust with a valid,
// 16-byte aligned stack.
global_asm!(
    r#"
    .section .text.boot, "ax"
    .global _start
_start:
    // 1. Only the boot CPU (all affinity fields zero) continues.
    mrs     x0, mpidr_el1
    mov     x1, #{AFF2_TO_AFF0}
    orr     x1, x1, #{AFF3}
    tst     x0, x1
    b.ne    park

    // 2. The stack grows down from the end of the region link.x reserves.
    adrp    x0, __stack_top
    add     x0, x0, :lo12:__stack_top
    mov     sp, x0
    mov     x19, #0

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

    b       fp_on

    // A secondary CPU, started by PSCI CPU_ON: x0 = its CPU number, the
    // context id. Its stack: __stack_top - n * STACK_SIZE.
    .global secondary_entry
secondary_entry:
    mov     x19, x0
    adrp    x1, __stack_top
    add     x1, x1, :lo12:__stack_top
    mov     x2, #{STACK_SIZE}
    msub    x1, x0, x2, x1
    mov     sp, x1

    // 4. Let FP/SIMD instructions execute at the current exception level.
fp_on:
    mrs     x0, CurrentEL
    cmp     x0, #{AT_EL2}
    b.ne    3f
    mov     x0, #{CPTR_EL2_NO_TRAPS}
    msr     cptr_el2, x0
    b       4f
3:  // Not at EL2 (QEMU without virtualization=on): enable FP at EL1 so
    // that hypervisor_main can still report the problem.
    mov     x0, #{CPACR_EL1_FP_ON}
    msr     cpacr_el1, x0
4:  isb

    // 5. Enter Rust (x19: the CPU number, 0 on the boot CPU). Neither
    // function returns; park if one somehow did.
    cbnz    x19, 5f
    bl      hypervisor_main
    b       park
5:  mov     x0, x19
    bl      secondary_main

park:
    wfe
    b       park
    "#,
    AFF2_TO_AFF0 = const AFF2_TO_AFF0,
    AFF3 = const AFF3,
    AT_EL2 = const AT_EL2,
    CPTR_EL2_NO_TRAPS = const CPTR_EL2_NO_TRAPS,
    CPACR_EL1_FP_ON = const CPACR_EL1_FP_ON,
    STACK_SIZE = const STACK_SIZE,
);

/// Bytes of each CPU's stack (`STACK_SIZE` in `link.x`).
const STACK_SIZE: u64 = 256 * 1024;

extern "C" {
    /// The secondary CPUs' entry point, above (only its address is used).
    pub fn secondary_entry();
}
