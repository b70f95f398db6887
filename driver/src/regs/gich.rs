//! GICH: the virtual interface control registers (IHI 0048B 5.3), used by
//! the hypervisor. 4 KiB per CPU; holds the state the guest sees in GICV.

use super::access::{ReadOnly, ReadWrite};
use super::{Register, RegisterArray};

/// The architectural maximum number of list registers.
pub const MAX_LIST_REGISTERS: usize = 64;

frame! {
    size: 0x1000;
    /// GICH_HCR, Hypervisor Control Register (5.3.1).
    HCR: Register<HCR::Register, ReadWrite> = 0x000;
    /// GICH_VTR, VGIC Type Register (5.3.2), read-only.
    VTR: Register<VTR::Register, ReadOnly> = 0x004;
    /// GICH_VMCR, Virtual Machine Control Register (5.3.3).
    VMCR: Register<VMCR::Register, ReadWrite> = 0x008;
    /// GICH_MISR, Maintenance Interrupt Status Register (5.3.4), read-only.
    MISR: Register<MISR::Register, ReadOnly> = 0x010;
    /// GICH_EISR0-1, End of Interrupt Status Registers (5.3.5), read-only, 1 bit per LR.
    EISR: RegisterArray<(), ReadOnly, 2> = 0x020;
    /// GICH_ELRSR0-1, Empty List Register Status Registers (5.3.6), read-only, 1 bit per LR.
    ELRSR: RegisterArray<(), ReadOnly, 2> = 0x030;
    /// GICH_APR, Active Priorities Register (5.3.7); the same state as GICV_APR0.
    APR: Register<(), ReadWrite> = 0x0F0;
    /// GICH_LR0-63, List Registers (5.3.8), one word each.
    LR: RegisterArray<LR::Register, ReadWrite, MAX_LIST_REGISTERS> = 0x100;
}

/// Register fields, from tock-registers' `register_bitfields!` (the macro's
/// generated helper items carry no docs of their own).
#[allow(missing_docs)]
mod fields {
    use tock_registers::register_bitfields;

    register_bitfields![u32,
        /// GICH_HCR (5.3.1).
        pub HCR [
            /// Enable the virtual CPU interface.
            En OFFSET(0) NUMBITS(1) [],
            /// Underflow interrupt enable: maintenance when at most one LR is valid.
            UIE OFFSET(1) NUMBITS(1) [],
            /// List Register Entry Not Present interrupt enable (EOICount non-zero).
            LRENPIE OFFSET(2) NUMBITS(1) [],
            /// No Pending interrupt enable: maintenance when no LR is pending.
            NPIE OFFSET(3) NUMBITS(1) [],
            /// Maintenance when virtual Group 0 is enabled.
            VGrp0EIE OFFSET(4) NUMBITS(1) [],
            /// Maintenance when virtual Group 0 is disabled.
            VGrp0DIE OFFSET(5) NUMBITS(1) [],
            /// Maintenance when virtual Group 1 is enabled.
            VGrp1EIE OFFSET(6) NUMBITS(1) [],
            /// Maintenance when virtual Group 1 is disabled.
            VGrp1DIE OFFSET(7) NUMBITS(1) [],
            /// Count of EOIs that matched no list register.
            EOICount OFFSET(27) NUMBITS(5) []
        ],
        /// GICH_VTR (5.3.2).
        pub VTR [
            /// Number of implemented list registers, minus one (six bits).
            ListRegs OFFSET(0) NUMBITS(6) [],
            /// Number of preemption bits implemented, minus one.
            PREbits OFFSET(26) NUMBITS(3) [],
            /// Number of priority bits implemented, minus one.
            PRIbits OFFSET(29) NUMBITS(3) []
        ],
        /// GICH_VMCR (5.3.3): the guest-visible GICV state.
        pub VMCR [
            /// GICV_CTLR.EnableGrp0.
            VMGrp0En OFFSET(0) NUMBITS(1) [],
            /// GICV_CTLR.EnableGrp1.
            VMGrp1En OFFSET(1) NUMBITS(1) [],
            /// GICV_CTLR.AckCtl.
            VMAckCtl OFFSET(2) NUMBITS(1) [],
            /// GICV_CTLR.FIQEn.
            VMFIQEn OFFSET(3) NUMBITS(1) [],
            /// GICV_CTLR.CBPR.
            VMCBPR OFFSET(4) NUMBITS(1) [],
            /// GICV_CTLR.EOImode.
            VEM OFFSET(9) NUMBITS(1) [],
            /// GICV_ABPR.
            VMABP OFFSET(18) NUMBITS(3) [],
            /// GICV_BPR.
            VMBP OFFSET(21) NUMBITS(3) [],
            /// GICV_PMR[7:3].
            VMPriMask OFFSET(27) NUMBITS(5) []
        ],
        /// GICH_MISR (5.3.4).
        pub MISR [
            /// Some LR is invalid with HW = 0 and EOI = 1 (an EOI to report).
            EOI OFFSET(0) NUMBITS(1) [],
            /// Underflow: UIE set and at most one LR valid.
            U OFFSET(1) NUMBITS(1) [],
            /// LRENPIE set and EOICount non-zero.
            LRENP OFFSET(2) NUMBITS(1) [],
            /// NPIE set and no LR pending.
            NP OFFSET(3) NUMBITS(1) [],
            /// VGrp0EIE set and virtual Group 0 enabled.
            VGrp0E OFFSET(4) NUMBITS(1) [],
            /// VGrp0DIE set and virtual Group 0 disabled.
            VGrp0D OFFSET(5) NUMBITS(1) [],
            /// VGrp1EIE set and virtual Group 1 enabled.
            VGrp1E OFFSET(6) NUMBITS(1) [],
            /// VGrp1DIE set and virtual Group 1 disabled.
            VGrp1D OFFSET(7) NUMBITS(1) []
        ],
        /// GICH_LRn (5.3.8).
        pub LR [
            /// The interrupt ID the guest sees.
            VirtualID OFFSET(0) NUMBITS(10) [],
            /// HW = 1: the physical interrupt deactivated when the guest deactivates this one.
            PhysicalID OFFSET(10) NUMBITS(10) [],
            /// HW = 0, SGIs: the requesting CPU reported in GICV_IAR (bits [12:10]).
            CPUID OFFSET(10) NUMBITS(3) [],
            /// HW = 0: raise the EOI maintenance condition when the guest deactivates.
            EOI OFFSET(19) NUMBITS(1) [],
            /// Virtual priority, bits [7:3] of the 8-bit priority.
            Priority OFFSET(23) NUMBITS(5) [],
            /// The state of the virtual interrupt.
            State OFFSET(28) NUMBITS(2) [
                /// Not in use.
                Invalid = 0,
                /// Pending.
                Pending = 1,
                /// Active.
                Active = 2,
                /// Active and pending.
                PendingActive = 3
            ],
            /// The virtual interrupt is Group 1.
            Grp1 OFFSET(30) NUMBITS(1) [],
            /// The virtual interrupt is tied to a physical one (PhysicalID).
            HW OFFSET(31) NUMBITS(1) []
        ]
    ];
}
pub use fields::*;

/// Offset of GICH_LRn (`lr(MAX_LIST_REGISTERS)` is the end of the list
/// registers), for code that decodes accesses by offset.
#[inline(always)]
pub const fn lr(n: usize) -> usize {
    offset::LR + 4 * n
}

/// GICH_HCR bits the architecture defines (5.3.1); the rest, \[26:8\], are
/// reserved: `0xF800_00FF`.
pub const HCR_DEFINED: u32 = super::field_mask(&HCR::En)
    | super::field_mask(&HCR::UIE)
    | super::field_mask(&HCR::LRENPIE)
    | super::field_mask(&HCR::NPIE)
    | super::field_mask(&HCR::VGrp0EIE)
    | super::field_mask(&HCR::VGrp0DIE)
    | super::field_mask(&HCR::VGrp1EIE)
    | super::field_mask(&HCR::VGrp1DIE)
    | super::field_mask(&HCR::EOICount);

/// GICH_VMCR bits the architecture defines (5.3.3).
pub const VMCR_DEFINED: u32 = super::field_mask(&VMCR::VMGrp0En)
    | super::field_mask(&VMCR::VMGrp1En)
    | super::field_mask(&VMCR::VMAckCtl)
    | super::field_mask(&VMCR::VMFIQEn)
    | super::field_mask(&VMCR::VMCBPR)
    | super::field_mask(&VMCR::VEM)
    | super::field_mask(&VMCR::VMABP)
    | super::field_mask(&VMCR::VMBP)
    | super::field_mask(&VMCR::VMPriMask);

/// GICH_LRn bits the architecture defines (5.3.8); \[22:20\] are reserved:
/// `0xFF8F_FFFF`. PhysicalID covers the HW = 0 layout of the same bits
/// (CPUID and EOI).
pub const LR_DEFINED: u32 = super::field_mask(&LR::VirtualID)
    | super::field_mask(&LR::PhysicalID)
    | super::field_mask(&LR::Priority)
    | super::field_mask(&LR::State)
    | super::field_mask(&LR::Grp1)
    | super::field_mask(&LR::HW);

/// The state of the virtual interrupt in a GICH_LRn value (LR.State,
/// 5.3.8). Every 2-bit value names a state.
#[inline]
pub fn lr_state(lr: u32) -> LR::State::Value {
    LR::State
        .read_as_enum(lr)
        .unwrap_or(LR::State::Value::Invalid)
}
