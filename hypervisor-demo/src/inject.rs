//! Exceptions the hypervisor injects into the guest at EL1, as the CPU
//! would take them (Arm ARM D1.3 "Exception entry"), the way KVM does for
//! an access it cannot emulate:
//!
//! * a synchronous external abort for a load or store to an IPA where
//!   stage 2 maps nothing (no RAM, no device) or that cannot be emulated
//!   (a GICD access without a syndrome), and for an instruction fetch
//!   there: ESR_EL1.EC 0x25/0x24 (data abort from the current/a lower EL)
//!   or 0x21/0x20 (instruction abort), FSC 0b010000 ("synchronous external
//!   abort, not on a translation table walk"), FAR_EL1 the faulting
//!   virtual address;
//! * an undefined-instruction exception (EC 0x00, "unknown reason") for a
//!   trapped instruction the hypervisor does not emulate.
//!
//! Entry: ELR_EL1 and SPSR_EL1 take the guest's PC and PSTATE, PSTATE
//! becomes EL1h with D, A, I and F masked, and the guest resumes at
//! VBAR_EL1 + the vector of its origin (+0x000 from EL1 with SP_EL0,
//! +0x200 from EL1 with SP_EL1, +0x400 from EL0 in AArch64, +0x600 from
//! AArch32), synchronous entry (+0). The guest's EL1 registers are live in
//! the CPU (the hypervisor never uses EL1), so they are written directly.

use aarch64_cpu::registers::{Readable, Writeable, ELR_EL1, ESR_EL1, FAR_EL1, SPSR_EL1, VBAR_EL1};
use tock_registers::{register_bitfields, LocalRegisterCopy};

use crate::vcpu::{GuestRegs, GUEST_ENTRY_SPSR};

register_bitfields! {u64,
    /// The SPSR fields that say where an exception came from.
    SPSR_ORIGIN [
        /// M\[4\]: the interrupted state was AArch32.
        AARCH32 OFFSET(4) NUMBITS(1) [],
        /// M\[3:2\]: its exception level.
        EL OFFSET(2) NUMBITS(2) [],
        /// M\[0\]: SP_ELx (1) or SP_EL0 (0).
        SP OFFSET(0) NUMBITS(1) [],
    ],
    /// ESR_EL1 as the hypervisor writes it.
    SYNDROME [
        /// Exception class.
        EC OFFSET(26) NUMBITS(6) [],
        /// The trapped instruction was 32 bits wide.
        IL OFFSET(25) NUMBITS(1) [],
        /// The fault status code of an abort.
        FSC OFFSET(0) NUMBITS(6) [],
    ],
}

/// What to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    /// A synchronous external abort on a data access at virtual address
    /// `far`.
    DataAbort {
        /// The faulting virtual address (FAR_EL2 of the trap).
        far: u64,
    },
    /// A synchronous external abort on an instruction fetch at `far`.
    InstructionAbort {
        /// The faulting virtual address.
        far: u64,
    },
    /// An undefined instruction.
    Undefined,
}

/// ESR ECs.
const EC_UNKNOWN: u64 = 0x00;
const EC_IABT_LOWER: u64 = 0x20;
const EC_IABT_CURRENT: u64 = 0x21;
const EC_DABT_LOWER: u64 = 0x24;
const EC_DABT_CURRENT: u64 = 0x25;
/// FSC: synchronous external abort, not on a translation table walk.
const FSC_EXTERNAL_ABORT: u64 = 0b01_0000;

/// Injects `exception` into the guest whose registers are `regs` (as
/// saved at the exit); `il` is ESR_EL2.IL of the trap (a 32-bit
/// instruction). The guest resumes in its EL1 vector.
pub fn inject(regs: &mut GuestRegs, exception: Exception, il: bool) {
    let origin = LocalRegisterCopy::<u64, SPSR_ORIGIN::Register>::new(regs.spsr);
    let aarch32 = origin.is_set(SPSR_ORIGIN::AARCH32);
    let from_el1 = !aarch32 && origin.read(SPSR_ORIGIN::EL) == 1;
    let vector = if aarch32 {
        0x600
    } else if !from_el1 {
        0x400
    } else if origin.is_set(SPSR_ORIGIN::SP) {
        0x200
    } else {
        0x000
    };
    let (ec, far) = match exception {
        Exception::DataAbort { far } => (
            if from_el1 {
                EC_DABT_CURRENT
            } else {
                EC_DABT_LOWER
            },
            Some(far),
        ),
        Exception::InstructionAbort { far } => (
            if from_el1 {
                EC_IABT_CURRENT
            } else {
                EC_IABT_LOWER
            },
            Some(far),
        ),
        Exception::Undefined => (EC_UNKNOWN, None),
    };
    let mut esr = SYNDROME::EC.val(ec) + SYNDROME::IL.val(il as u64);
    if far.is_some() {
        esr += SYNDROME::FSC.val(FSC_EXTERNAL_ABORT);
    }
    ESR_EL1.set(esr.value);
    if let Some(far) = far {
        FAR_EL1.set(far);
    }
    ELR_EL1.set(regs.elr);
    SPSR_EL1.set(regs.spsr);
    regs.spsr = GUEST_ENTRY_SPSR;
    regs.elr = VBAR_EL1.get() + vector;
}
