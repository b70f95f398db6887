//! GICC: the CPU interface (IHI 0048B 4.4), 8 KiB per CPU. The virtual CPU
//! interface GICV (5.4) has the same layout and uses these definitions.

use super::access::{ReadOnly, ReadWrite, WriteOnly};
use super::{Register, RegisterArray};

/// Number of GICC_APRn (and GICC_NSAPRn) registers.
pub const APR_COUNT: usize = 4;

frame! {
    size: 0x2000;
    /// GICC_CTLR, CPU Interface Control Register (4.4.1).
    CTLR: Register<CTLR::Register, ReadWrite> = 0x00;
    /// GICC_PMR, Interrupt Priority Mask Register (4.4.2).
    PMR: Register<PMR::Register, ReadWrite> = 0x04;
    /// GICC_BPR, Binary Point Register (4.4.3).
    BPR: Register<BPR::Register, ReadWrite> = 0x08;
    /// GICC_IAR, Interrupt Acknowledge Register (4.4.4), read-only, read has side effects.
    IAR: Register<IAR::Register, ReadOnly> = 0x0C;
    /// GICC_EOIR, End of Interrupt Register (4.4.5), write-only.
    EOIR: Register<IAR::Register, WriteOnly> = 0x10;
    /// GICC_RPR, Running Priority Register (4.4.6), read-only.
    RPR: Register<RPR::Register, ReadOnly> = 0x14;
    /// GICC_HPPIR, Highest Priority Pending Interrupt Register (4.4.7), read-only.
    HPPIR: Register<IAR::Register, ReadOnly> = 0x18;
    /// GICC_ABPR, Aliased Binary Point Register (4.4.8).
    ABPR: Register<BPR::Register, ReadWrite> = 0x1C;
    /// GICC_AIAR, Aliased Interrupt Acknowledge Register (4.4.9), read-only.
    AIAR: Register<IAR::Register, ReadOnly> = 0x20;
    /// GICC_AEOIR, Aliased End of Interrupt Register (4.4.10), write-only.
    AEOIR: Register<IAR::Register, WriteOnly> = 0x24;
    /// GICC_AHPPIR, Aliased Highest Priority Pending Interrupt Register (4.4.11), read-only.
    AHPPIR: Register<IAR::Register, ReadOnly> = 0x28;
    /// GICC_APR0-3, Active Priorities Registers (4.4.13), 4 words.
    APR: RegisterArray<(), ReadWrite, APR_COUNT> = 0xD0;
    /// GICC_NSAPR0-3, Non-secure Active Priorities Registers (4.4.14), 4 words.
    NSAPR: RegisterArray<(), ReadWrite, APR_COUNT> = 0xE0;
    /// GICC_IIDR, CPU Interface Identification Register (4.4.15), read-only.
    IIDR: Register<IIDR::Register, ReadOnly> = 0xFC;
    /// GICC_DIR, Deactivate Interrupt Register (4.4.16), write-only.
    DIR: Register<IAR::Register, WriteOnly> = 0x1000;
}

/// Register fields, from tock-registers' `register_bitfields!` (the macro's
/// generated helper items carry no docs of their own).
#[allow(missing_docs)]
mod fields {
    use tock_registers::register_bitfields;

    register_bitfields![u32,
        /// GICC_CTLR without the Security Extensions, and GICV_CTLR (4.4.1, 5.4.1).
        pub CTLR [
            /// Signal Group 0 interrupts.
            EnableGrp0 OFFSET(0) NUMBITS(1) [],
            /// Signal Group 1 interrupts.
            EnableGrp1 OFFSET(1) NUMBITS(1) [],
            /// Acknowledge Group 1 interrupts through IAR (else IAR returns 1022 for them).
            AckCtl OFFSET(2) NUMBITS(1) [],
            /// Signal Group 0 interrupts on FIQ.
            FIQEn OFFSET(3) NUMBITS(1) [],
            /// Use BPR for both groups (ABPR unused).
            CBPR OFFSET(4) NUMBITS(1) [],
            /// Bypass disables, FIQ then IRQ, for each group (not in GICV_CTLR).
            Bypass OFFSET(5) NUMBITS(4) [],
            /// EOIR only drops priority; GICC_DIR deactivates (split EOI mode).
            EOImode OFFSET(9) NUMBITS(1) []
        ],
        /// GICC_PMR (4.4.2).
        pub PMR [
            /// Only interrupts with a priority value lower than this are signalled.
            Priority OFFSET(0) NUMBITS(8) []
        ],
        /// GICC_BPR and GICC_ABPR (4.4.3, 4.4.8).
        pub BPR [
            /// Split point between group priority and subpriority.
            BinaryPoint OFFSET(0) NUMBITS(3) []
        ],
        /// GICC_IAR, GICC_EOIR, GICC_HPPIR, GICC_DIR and the aliased forms (4.4.4).
        pub IAR [
            /// The interrupt ID.
            InterruptID OFFSET(0) NUMBITS(10) [],
            /// For SGIs, the CPU that requested the interrupt.
            CPUID OFFSET(10) NUMBITS(3) []
        ],
        /// GICC_RPR (4.4.6).
        pub RPR [
            /// Group priority of the highest-priority active interrupt; 0xFF when idle.
            Priority OFFSET(0) NUMBITS(8) []
        ],
        /// GICC_IIDR (4.4.15).
        pub IIDR [
            /// JEP106 code of the implementer.
            Implementer OFFSET(0) NUMBITS(12) [],
            /// Revision number.
            Revision OFFSET(12) NUMBITS(4) [],
            /// Architecture version: 2 for GICv2.
            ArchitectureVersion OFFSET(16) NUMBITS(4) [],
            /// Product identifier.
            ProductID OFFSET(20) NUMBITS(12) []
        ]
    ];
}
pub use fields::*;

/// GICC_IIDR of a GIC-400 r0p1 (4.4.15; GIC-400 TRM), also its GICV_IIDR
/// (5.4): Arm (JEP106 0x43B), revision 1, architecture version 2, product
/// 0x020.
pub const IIDR_GIC400: u32 = IIDR::ProductID.val(0x020).value
    | IIDR::ArchitectureVersion.val(2).value
    | IIDR::Revision.val(1).value
    | IIDR::Implementer.val(0x43B).value;
