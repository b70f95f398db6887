//! GICD: the Distributor (IHI 0048B 4.3). 4 KiB frame, shared by all CPUs;
//! the registers for INTIDs 0-31 are banked per CPU.

use super::access::{ReadOnly, ReadWrite, WriteOnly};
use super::{ByteArray, Register, RegisterArray};

/// Number of bytes of one one-bit-per-INTID register array (1020 INTIDs, 32 words).
pub const BIT_ARRAY_BYTES: usize = 0x80;
/// Number of bytes of one one-byte-per-INTID register array (IPRIORITYR, ITARGETSR).
pub const BYTE_ARRAY_BYTES: usize = 0x400;
/// Number of bytes of the ICFGR array (2 bits per INTID).
pub const ICFGR_BYTES: usize = 0x100;

/// A one-bit-per-INTID register array: 32 words, bit `n % 32` of word
/// `n / 32` for INTID `n`.
pub type BitArray = RegisterArray<(), ReadWrite, { BIT_ARRAY_BYTES / 4 }>;

frame! {
    size: 0x1000;
    /// GICD_CTLR, Distributor Control Register (4.3.1).
    CTLR: Register<CTLR::Register, ReadWrite> = 0x000;
    /// GICD_TYPER, Interrupt Controller Type Register (4.3.2), read-only.
    TYPER: Register<TYPER::Register, ReadOnly> = 0x004;
    /// GICD_IIDR, Distributor Implementer Identification Register (4.3.3), read-only.
    IIDR: Register<IIDR::Register, ReadOnly> = 0x008;
    /// GICD_IGROUPRn, Interrupt Group Registers (4.3.4), 1 bit per INTID.
    IGROUPR: BitArray = 0x080;
    /// GICD_ISENABLERn, Interrupt Set-Enable Registers (4.3.5), 1 bit per INTID.
    ISENABLER: BitArray = 0x100;
    /// GICD_ICENABLERn, Interrupt Clear-Enable Registers (4.3.6), 1 bit per INTID.
    ICENABLER: BitArray = 0x180;
    /// GICD_ISPENDRn, Interrupt Set-Pending Registers (4.3.7), 1 bit per INTID.
    ISPENDR: BitArray = 0x200;
    /// GICD_ICPENDRn, Interrupt Clear-Pending Registers (4.3.8), 1 bit per INTID.
    ICPENDR: BitArray = 0x280;
    /// GICD_ISACTIVERn, Interrupt Set-Active Registers (4.3.9), 1 bit per INTID.
    ISACTIVER: BitArray = 0x300;
    /// GICD_ICACTIVERn, Interrupt Clear-Active Registers (4.3.10), 1 bit per INTID.
    ICACTIVER: BitArray = 0x380;
    /// GICD_IPRIORITYRn, Interrupt Priority Registers (4.3.11), 1 byte per INTID, byte-accessible.
    IPRIORITYR: ByteArray<ReadWrite, BYTE_ARRAY_BYTES> = 0x400;
    /// GICD_ITARGETSRn, Interrupt Processor Targets Registers (4.3.12), 1 byte per INTID, byte-accessible.
    ITARGETSR: ByteArray<ReadWrite, BYTE_ARRAY_BYTES> = 0x800;
    /// GICD_ICFGRn, Interrupt Configuration Registers (4.3.13), 2 bits per INTID.
    ICFGR: RegisterArray<(), ReadWrite, { ICFGR_BYTES / 4 }> = 0xC00;
    /// GICD_SGIR, Software Generated Interrupt Register (4.3.15), write-only.
    SGIR: Register<SGIR::Register, WriteOnly> = 0xF00;
    /// GICD_CPENDSGIRn, SGI Clear-Pending Registers (4.3.16), 1 byte per SGI, bit = source CPU.
    CPENDSGIR: ByteArray<ReadWrite, 16> = 0xF10;
    /// GICD_SPENDSGIRn, SGI Set-Pending Registers (4.3.17), 1 byte per SGI, bit = source CPU.
    SPENDSGIR: ByteArray<ReadWrite, 16> = 0xF20;
    /// GICD_PIDR4-7, the first identification registers (4.3.18), read-only.
    PIDR4: RegisterArray<(), ReadOnly, 4> = 0xFD0;
    /// GICD_PIDR0 (4.3.18), read-only.
    PIDR0: Register<(), ReadOnly> = 0xFE0;
    /// GICD_PIDR1 (4.3.18), read-only.
    PIDR1: Register<(), ReadOnly> = 0xFE4;
    /// GICD_PIDR2 (ICPIDR2): bits \[7:4\] give the architecture version (2 for GICv2), read-only.
    PIDR2: Register<(), ReadOnly> = 0xFE8;
    /// GICD_PIDR3 (4.3.18), read-only.
    PIDR3: Register<(), ReadOnly> = 0xFEC;
    /// GICD_CIDR0-3, Component ID Registers (4.3.19), read-only.
    CIDR: RegisterArray<(), ReadOnly, 4> = 0xFF0;
}

/// Register fields, from tock-registers' `register_bitfields!` (the macro's
/// generated helper items carry no docs of their own).
#[allow(missing_docs)]
mod fields {
    use tock_registers::register_bitfields;

    register_bitfields![u32,
        /// GICD_CTLR without the Security Extensions (4.3.1).
        pub CTLR [
            /// Forward pending Group 0 interrupts to the CPU interfaces.
            EnableGrp0 OFFSET(0) NUMBITS(1) [],
            /// Forward pending Group 1 interrupts to the CPU interfaces.
            EnableGrp1 OFFSET(1) NUMBITS(1) []
        ],
        /// GICD_TYPER (4.3.2).
        pub TYPER [
            /// Number of implemented interrupt lines: 32 * (N + 1).
            ITLinesNumber OFFSET(0) NUMBITS(5) [],
            /// Number of implemented CPU interfaces, minus one.
            CPUNumber OFFSET(5) NUMBITS(3) [],
            /// The GIC implements the Security Extensions.
            SecurityExtn OFFSET(10) NUMBITS(1) [],
            /// Number of lockable SPIs (Security Extensions only).
            LSPI OFFSET(11) NUMBITS(5) []
        ],
        /// GICD_IIDR (4.3.3).
        pub IIDR [
            /// JEP106 code of the implementer (0x43B for Arm).
            Implementer OFFSET(0) NUMBITS(12) [],
            /// Revision number.
            Revision OFFSET(12) NUMBITS(4) [],
            /// Variant number.
            Variant OFFSET(16) NUMBITS(4) [],
            /// Product identifier.
            ProductID OFFSET(24) NUMBITS(8) []
        ],
        /// GICD_SGIR (4.3.15).
        pub SGIR [
            /// The SGI to generate, 0-15.
            SGIINTID OFFSET(0) NUMBITS(4) [],
            /// Security Extensions only: which group the SGI may be forwarded as.
            NSATT OFFSET(15) NUMBITS(1) [],
            /// CPUs to forward to when TargetListFilter is TargetList.
            CPUTargetList OFFSET(16) NUMBITS(8) [],
            /// How the target CPUs are chosen.
            TargetListFilter OFFSET(24) NUMBITS(2) [
                /// The CPUs in CPUTargetList.
                TargetList = 0,
                /// Every CPU except the requesting one.
                AllOthers = 1,
                /// Only the requesting CPU.
                SelfOnly = 2
            ]
        ]
    ];
}
pub use fields::*;

/// ICFGR: bit `2i+1` of the pair for interrupt `i` set means edge-triggered.
pub const ICFGR_EDGE_BIT: u32 = 0b10;

/// Offset of the GICD_ICFGRn word holding the configuration of interrupt
/// `n` (16 interrupts per word, 2 bits each), and the interrupt's
/// edge-triggered bit in that word (4.3.13).
#[inline(always)]
pub const fn icfgr_edge(n: u32) -> (usize, u32) {
    (
        offset::ICFGR + (n as usize / 16) * 4,
        ICFGR_EDGE_BIT << (2 * (n % 16)),
    )
}

/// GICD_IIDR of a GIC-400 r0p1 (4.3.3; GIC-400 TRM): Arm (JEP106 0x43B),
/// revision 1, variant 0, product 0x02.
pub const IIDR_GIC400: u32 = IIDR::ProductID.val(0x02).value
    | IIDR::Variant.val(0).value
    | IIDR::Revision.val(1).value
    | IIDR::Implementer.val(0x43B).value;

/// GICD_PIDR4-7, GICD_PIDR0-3 and GICD_CIDR0-3 of a GIC-400, in offset
/// order from [`offset::PIDR4`] (4.3.18, 4.3.19): PIDR2 = 0x2B names
/// architecture version 2; CIDR0-3 are the standard component preamble.
pub const ID_REGS_GIC400: [u32; 12] = [
    0x04, 0x00, 0x00, 0x00, 0x90, 0xB4, 0x2B, 0x00, 0x0D, 0xF0, 0x05, 0xB1,
];
