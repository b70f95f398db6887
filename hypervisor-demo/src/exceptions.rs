//! EL2 exception handling: the vector table, interrupt routing, IRQ masking.
//!
//! An exception taken to EL2 jumps to VBAR_EL2 plus an offset chosen by its
//! origin and type (Arm ARM D1.10.2): four groups of four 0x80-byte entries,
//!
//! | offset | taken from | entries (+0x000, +0x080, +0x100, +0x180) |
//! |---|---|---|
//! | 0x000 | EL2, using SP_EL0 | Synchronous, IRQ, FIQ, SError |
//! | 0x200 | EL2, using SP_EL2 | Synchronous, IRQ, FIQ, SError |
//! | 0x400 | EL1/EL0 in AArch64 | Synchronous, IRQ, FIQ, SError |
//! | 0x600 | EL1/EL0 in AArch32 | Synchronous, IRQ, FIQ, SError |
//!
//! The hypervisor itself runs at EL2 on SP_EL2. There, the one expected
//! exception is an IRQ (phase 1, while EL2 has IRQs unmasked). That entry
//! saves the state the interrupted code may still need (every register the
//! AAPCS64 lets a Rust function clobber, plus ELR_EL2/SPSR_EL2), calls
//! [`crate::irq::handle`], restores and returns with `eret`.
//!
//! Every exception from the guest (EL1 in AArch64: a trap, or a physical
//! interrupt, which HCR_EL2.IMO routes to EL2) is a *guest exit*: the entry
//! hands over to [`vcpu`](crate::vcpu), which saves the guest's registers
//! and returns to the hypervisor's run loop. Every other entry reports the
//! exception on the UART and ends the run with a failure status.

use core::arch::global_asm;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    ReadWriteable, Readable, Writeable, DAIF, ELR_EL2, ESR_EL2, FAR_EL2, HCR_EL2, VBAR_EL2,
};

use crate::semihosting::{self, status};

// SAFETY (of the whole block): the table is 2 KiB aligned as VBAR_EL2
// requires, every entry fits in its 0x80 bytes, and `el2_irq` restores every
// register it or the Rust handler may change before `eret`, on a frame it
// allocates and frees on the current stack (kept 16-byte aligned). The
// guest-exit entries run only while `vcpu_run` has a guest running; they
// push 16 bytes on SP_EL2, which `vcpu_exit` pops before it saves the guest
// and resumes the hypervisor.
global_asm!(
    r#"
    // An entry that reports exception `index` (0-15) and never returns.
    .macro unexpected index
    .balign 0x80
    mov     x0, #\index
    b       el2_unexpected
    .endm

    // A guest exit of kind `kind` (the order of vcpu::Exit): free x0 and x1
    // on the hypervisor's stack, then let vcpu_exit save the guest.
    .macro guest_exit kind
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mov     x0, #\kind
    b       vcpu_exit
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global el2_vectors
el2_vectors:
    // Current EL with SP_EL0.
    unexpected 0
    unexpected 1
    unexpected 2
    unexpected 3
    // Current EL with SP_EL2: an IRQ is the one expected exception.
    unexpected 4
    .balign 0x80
    b       el2_irq
    unexpected 6
    unexpected 7
    // Lower EL using AArch64: the guest.
    guest_exit 0
    guest_exit 1
    guest_exit 2
    guest_exit 3
    // Lower EL using AArch32.
    unexpected 12
    unexpected 13
    unexpected 14
    unexpected 15

    // Frame: x0-x18 and x30 (160 bytes), ELR_EL2 and SPSR_EL2 (16), FPCR
    // and FPSR (16), q0-q31 (512: the interrupted code may be using any of
    // them, and a callee need not preserve the upper halves of v8-v15).
    .equ    FRAME_SIZE, 704
    .equ    FRAME_ELR, 160
    .equ    FRAME_FPCR, 176
    .equ    FRAME_Q, 192

el2_irq:
    sub     sp, sp, #FRAME_SIZE
    "#,
    caller_saved_x!(stp),
    r#"
    // A nested exception would overwrite these; save them with the rest.
    mrs     x0, elr_el2
    mrs     x1, spsr_el2
    stp     x0, x1, [sp, #FRAME_ELR]
    "#,
    q_regs!(stp, sp, FRAME_Q),
    r#"
    mrs     x0, fpcr
    mrs     x1, fpsr
    stp     x0, x1, [sp, #FRAME_FPCR]

    bl      el2_irq_handler

    ldp     x0, x1, [sp, #FRAME_FPCR]
    msr     fpcr, x0
    msr     fpsr, x1
    "#,
    q_regs!(ldp, sp, FRAME_Q),
    r#"
    ldp     x0, x1, [sp, #FRAME_ELR]
    msr     elr_el2, x0
    msr     spsr_el2, x1
    "#,
    caller_saved_x!(ldp),
    r#"
    add     sp, sp, #FRAME_SIZE
    eret
    "#
);

extern "C" {
    /// The vector table above (only its address is used).
    static el2_vectors: [u8; 0x800];
}

/// Installs the EL2 vector table and routes physical interrupts to EL2.
///
/// HCR_EL2.IMO/FMO/AMO route physical IRQs, FIQs and SErrors to EL2. Without
/// them they target EL1, and an interrupt targeting a lower exception level
/// is never taken while the CPU runs at EL2, whatever PSTATE.I says. With
/// them, a physical interrupt that arrives while the guest runs exits to
/// EL2 whatever the guest's PSTATE.I, and the virtual IRQ and FIQ (here the
/// GIC's virtual CPU interface output) are taken at EL1 instead: IMO/FMO
/// are what enable virtual interrupts at all. RW declares that EL1 (the
/// guest) runs in AArch64. TSC traps the guest's SMC instructions to EL2
/// (its PSCI calls on that conduit; there is no EL3 behind it). WFI and
/// WFE are not trapped (TWI = TWE = 0): a guest waiting for an interrupt
/// sleeps in the CPU, which any physical or virtual interrupt wakes. Stage
/// 2 (HCR_EL2.VM) is turned on later, by
/// [`stage2::enable`](crate::stage2::enable).
pub fn install() {
    let vectors = core::ptr::addr_of!(el2_vectors) as u64;
    VBAR_EL2.set(vectors);
    HCR_EL2.write(
        HCR_EL2::RW::EL1IsAarch64
            + HCR_EL2::IMO::SET
            + HCR_EL2::FMO::SET
            + HCR_EL2::AMO::SET
            + HCR_EL2::TSC::SET,
    );
    barrier::isb(barrier::SY);
}

/// Lets IRQs interrupt the CPU (clears PSTATE.I).
pub fn unmask_irqs() {
    DAIF.modify(DAIF::I::Unmasked);
    barrier::isb(barrier::SY);
}

/// Stops IRQs from interrupting the CPU (sets PSTATE.I).
pub fn mask_irqs() {
    DAIF.modify(DAIF::I::Masked);
    barrier::isb(barrier::SY);
}

/// Called by the vector table for an IRQ taken at EL2, with IRQs masked.
#[no_mangle]
extern "C" fn el2_irq_handler() {
    crate::irq::handle();
}

/// Called by the vector table for every other exception: logs what
/// happened and where, then ends the run.
#[no_mangle]
extern "C" fn el2_unexpected(index: u64) -> ! {
    const ORIGIN: [&str; 4] = [
        "EL2 with SP_EL0",
        "EL2 with SP_EL2",
        "a lower EL in AArch64",
        "a lower EL in AArch32",
    ];
    const KIND: [&str; 4] = ["synchronous exception", "IRQ", "FIQ", "SError"];
    let index = (index & 0xF) as usize;
    let esr = ESR_EL2.get();
    let (kind, origin) = (KIND[index % 4], ORIGIN[index / 4]);
    let (ec, iss) = (ESR_EL2.read(ESR_EL2::EC), ESR_EL2.read(ESR_EL2::ISS));
    let (elr, far) = (ELR_EL2.get(), FAR_EL2.get());
    if crate::defmt_log::busy() {
        // Taken inside a log call (its frame is open): the UART, then.
        crate::println!(
            "\nunexpected {kind} from {origin} while logging: ESR_EL2 {esr:#010x} (EC {ec:#04x}, ISS {iss:#x}), ELR_EL2 {elr:#x}, FAR_EL2 {far:#x}"
        );
    } else {
        defmt::error!(
            "unexpected {=str} from {=str}: ESR_EL2 {=u64:#010x} (EC {=u64:#04x}, ISS {=u64:#x}), ELR_EL2 {=u64:#x}, FAR_EL2 {=u64:#x}",
            kind,
            origin,
            esr,
            ec,
            iss,
            elr,
            far,
        );
    }
    semihosting::exit(status::UNEXPECTED_EXCEPTION)
}
