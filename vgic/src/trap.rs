//! Decoding a guest's trapped MMIO access: a data abort taken to EL2 from a
//! lower exception level (ESR_EL2.EC = 0x24) on a page stage 2 leaves
//! unmapped, such as the guest's GICD page.
//!
//! The syndrome (ESR_EL2.ISS, Arm ARM D13.2.37 "ISS encoding for an
//! exception from a Data Abort") says, when ISV = 1, the access width (SAS),
//! whether a load sign-extends (SSE) into a 32- or 64-bit register (SF),
//! which general-purpose register it uses (SRT) and its direction (WnR).
//! The faulting IPA is HPFAR_EL2.FIPA (bits \[47:12\] of the IPA, held in
//! HPFAR_EL2\[39:4\]) with the page offset from FAR_EL2\[11:0\].
//!
//! Without a valid syndrome (ISV = 0: a load/store pair, a register
//! write-back, SIMD registers) the access cannot be emulated;
//! [`MmioAccess::decode`] refuses it with [`DecodeError::NoSyndrome`], and
//! a hypervisor injects a synchronous external abort into the guest, as
//! KVM does.

use core::fmt;

use tock_registers::LocalRegisterCopy;

// The macro's generated items carry the field docs below, not their own.
#[allow(missing_docs)]
mod syndrome {
    use tock_registers::register_bitfields;
    register_bitfields! [u64,
        /// ESR_EL2 for a data abort from a lower exception level.
        pub ESR_EL2 [
            /// Exception class: 0x24 is a data abort from a lower EL.
            EC OFFSET(26) NUMBITS(6) [],
            /// Instruction length: the trapped instruction is 32 bits wide.
            IL OFFSET(25) NUMBITS(1) [],
            /// ISS bits \[23:14\] hold a valid instruction syndrome.
            ISV OFFSET(24) NUMBITS(1) [],
            /// Syndrome access size: byte, halfword, word, doubleword.
            SAS OFFSET(22) NUMBITS(2) [
                Byte = 0,
                Halfword = 1,
                Word = 2,
                Doubleword = 3
            ],
            /// Syndrome sign extend: the load sign-extends the value.
            SSE OFFSET(21) NUMBITS(1) [],
            /// Syndrome register transfer: the general-purpose register (31 = XZR).
            SRT OFFSET(16) NUMBITS(5) [],
            /// Sixty-four: the register is `X<n>` (1) or `W<n>` (0).
            SF OFFSET(15) NUMBITS(1) [],
            /// Acquire/release semantics.
            AR OFFSET(14) NUMBITS(1) [],
            /// FAR is not valid.
            FnV OFFSET(10) NUMBITS(1) [],
            /// External abort type.
            EA OFFSET(9) NUMBITS(1) [],
            /// Cache maintenance operation.
            CM OFFSET(8) NUMBITS(1) [],
            /// The fault came from a stage-2 walk for a stage-1 translation.
            S1PTW OFFSET(7) NUMBITS(1) [],
            /// Write not Read.
            WnR OFFSET(6) NUMBITS(1) [],
            /// Data fault status code.
            DFSC OFFSET(0) NUMBITS(6) []
        ],
        /// HPFAR_EL2: the faulting IPA of a stage-2 fault.
        pub HPFAR_EL2 [
            /// Faulting IPA bits \[47:12\].
            FIPA OFFSET(4) NUMBITS(36) []
        ]
    ];
}
pub use syndrome::{ESR_EL2, HPFAR_EL2};

/// ESR_EL2.EC of a data abort from a lower exception level.
pub const EC_DATA_ABORT_LOWER: u64 = 0x24;

/// The size of a trapped access (ESR_EL2.ISS.SAS).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum AccessWidth {
    /// 8 bits.
    Byte,
    /// 16 bits.
    Halfword,
    /// 32 bits.
    Word,
    /// 64 bits.
    Doubleword,
}

impl AccessWidth {
    /// The width in bytes.
    pub const fn bytes(self) -> u64 {
        match self {
            AccessWidth::Byte => 1,
            AccessWidth::Halfword => 2,
            AccessWidth::Word => 4,
            AccessWidth::Doubleword => 8,
        }
    }

    /// The mask of the bits an access of this width carries.
    pub const fn mask(self) -> u64 {
        match self {
            AccessWidth::Doubleword => u64::MAX,
            w => (1u64 << (8 * w.bytes())) - 1,
        }
    }
}

/// Why a trapped data abort cannot be emulated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// ESR_EL2.EC is not a data abort from a lower EL (the value given).
    NotDataAbort(u8),
    /// ESR_EL2.ISS.ISV = 0: no instruction syndrome, so the width and the
    /// register are unknown. Inject an external abort into the guest.
    NoSyndrome,
    /// ESR_EL2.ISS.FnV = 1: FAR_EL2 does not hold the faulting address.
    NoFaultAddress,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::NotDataAbort(ec) => {
                write!(f, "ESR_EL2.EC {ec:#x} is not a data abort from a lower EL")
            }
            DecodeError::NoSyndrome => f.write_str("data abort without a valid syndrome (ISV = 0)"),
            DecodeError::NoFaultAddress => f.write_str("FAR_EL2 not valid (FnV = 1)"),
        }
    }
}

impl core::error::Error for DecodeError {}

/// The IPA of a stage-2 fault: HPFAR_EL2.FIPA (IPA bits \[47:12\]) with the
/// offset in the page from FAR_EL2\[11:0\]. Valid for any stage-2 data
/// abort, with or without an instruction syndrome (unless ESR_EL2.FnV).
pub fn fault_ipa(far: u64, hpfar: u64) -> u64 {
    let page = LocalRegisterCopy::<u64, HPFAR_EL2::Register>::new(hpfar).read(HPFAR_EL2::FIPA);
    page << 12 | (far & 0xFFF)
}

/// Whether the trapped instruction is 32 bits wide (ESR_EL2.IL), as every
/// A64 instruction is: an exception returned past it skips 4 bytes.
pub fn is_32bit_instruction(esr: u64) -> bool {
    LocalRegisterCopy::<u64, ESR_EL2::Register>::new(esr).is_set(ESR_EL2::IL)
}

/// One trapped guest load or store, decoded from ESR_EL2, FAR_EL2 and
/// HPFAR_EL2.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct MmioAccess {
    /// The intermediate physical address accessed.
    pub ipa: u64,
    /// The access size.
    pub width: AccessWidth,
    /// A store (ESR_EL2.ISS.WnR = 1) or a load.
    pub write: bool,
    /// The general-purpose register transferred (ISS.SRT); 31 is XZR.
    pub register: u8,
    /// A load sign-extends into the register (ISS.SSE).
    pub sign_extend: bool,
    /// The register is 64 bits wide, `X<n>` (ISS.SF), or 32 bits, `W<n>`.
    pub sixty_four: bool,
}

impl MmioAccess {
    /// Decodes the syndrome of a data abort from a lower EL.
    pub fn decode(esr: u64, far: u64, hpfar: u64) -> Result<MmioAccess, DecodeError> {
        let esr = LocalRegisterCopy::<u64, ESR_EL2::Register>::new(esr);
        let ec = esr.read(ESR_EL2::EC);
        if ec != EC_DATA_ABORT_LOWER {
            return Err(DecodeError::NotDataAbort(ec as u8));
        }
        if !esr.is_set(ESR_EL2::ISV) {
            return Err(DecodeError::NoSyndrome);
        }
        if esr.is_set(ESR_EL2::FnV) {
            return Err(DecodeError::NoFaultAddress);
        }
        let width = match esr.read_as_enum(ESR_EL2::SAS) {
            Some(ESR_EL2::SAS::Value::Byte) => AccessWidth::Byte,
            Some(ESR_EL2::SAS::Value::Halfword) => AccessWidth::Halfword,
            Some(ESR_EL2::SAS::Value::Word) => AccessWidth::Word,
            _ => AccessWidth::Doubleword,
        };
        Ok(MmioAccess {
            ipa: fault_ipa(far, hpfar),
            width,
            write: esr.is_set(ESR_EL2::WnR),
            register: esr.read(ESR_EL2::SRT) as u8,
            sign_extend: esr.is_set(ESR_EL2::SSE),
            sixty_four: esr.is_set(ESR_EL2::SF),
        })
    }

    /// The value a store writes, from its register's contents: the low
    /// `width` bits (XZR stores 0).
    pub const fn store_value(&self, register_value: u64) -> u64 {
        if self.register == 31 {
            0
        } else {
            register_value & self.width.mask()
        }
    }

    /// The value a load leaves in its register, from the `width` bits read:
    /// zero- or sign-extended (SSE), then cut to 32 bits for a W register
    /// (SF = 0), as the architecture's load instructions do.
    pub const fn load_value(&self, read: u64) -> u64 {
        let bits = 8 * self.width.bytes() as u32;
        let v = read & self.width.mask();
        let v = if self.sign_extend && bits < 64 {
            let shift = 64 - bits;
            (((v << shift) as i64) >> shift) as u64
        } else {
            v
        };
        if self.sixty_four {
            v
        } else {
            v & 0xFFFF_FFFF
        }
    }

    /// The offset of the access in the frame of `size` bytes at `base`, if
    /// it falls inside it.
    pub const fn offset_in(&self, base: u64, size: u64) -> Option<usize> {
        if self.ipa >= base && self.ipa - base < size {
            Some((self.ipa - base) as usize)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ESR_EL2 for a data abort with a syndrome.
    fn esr(sas: u64, sse: bool, srt: u64, sf: bool, wnr: bool) -> u64 {
        EC_DATA_ABORT_LOWER << 26
            | 1 << 25
            | 1 << 24
            | sas << 22
            | (sse as u64) << 21
            | srt << 16
            | (sf as u64) << 15
            | (wnr as u64) << 6
            | 0x07
    }

    #[test]
    fn the_ipa_is_hpfar_fipa_with_the_page_offset_from_far() {
        // The demo's measured syndrome: a 32-bit read of GICD_TYPER into W8.
        let a = MmioAccess::decode(0x9388_0007, 0x800_0004, 0x80000).unwrap();
        assert_eq!(a.ipa, 0x0800_0004);
        assert_eq!(a.width, AccessWidth::Word);
        assert!(!a.write);
        assert_eq!(a.register, 8);
        assert!(!a.sign_extend && !a.sixty_four);
        // FAR's bits above the page are the guest's VA, not the IPA.
        let a = MmioAccess::decode(0x9388_0007, 0xFFFF_0000_1234_5FFC, 0x80000).unwrap();
        assert_eq!(a.ipa, 0x0800_0FFC);
    }

    #[test]
    fn every_sas_width_and_direction_decodes() {
        for (sas, width) in [
            (0, AccessWidth::Byte),
            (1, AccessWidth::Halfword),
            (2, AccessWidth::Word),
            (3, AccessWidth::Doubleword),
        ] {
            for wnr in [false, true] {
                let a = MmioAccess::decode(esr(sas, false, 3, true, wnr), 0x10, 0x80000).unwrap();
                assert_eq!((a.width, a.write, a.register), (width, wnr, 3));
            }
        }
    }

    #[test]
    fn an_abort_without_a_valid_syndrome_is_refused() {
        let no_isv = esr(2, false, 1, false, false) & !(1 << 24);
        assert_eq!(
            MmioAccess::decode(no_isv, 0, 0),
            Err(DecodeError::NoSyndrome)
        );
        let fnv = esr(2, false, 1, false, false) | 1 << 10;
        assert_eq!(
            MmioAccess::decode(fnv, 0, 0),
            Err(DecodeError::NoFaultAddress)
        );
        let hvc = 0x16 << 26 | 1 << 25;
        assert_eq!(
            MmioAccess::decode(hvc, 0, 0),
            Err(DecodeError::NotDataAbort(0x16))
        );
    }

    #[test]
    fn loads_extend_as_sse_and_sf_say() {
        let decode = |sas, sse, sf| MmioAccess::decode(esr(sas, sse, 0, sf, false), 0, 0).unwrap();
        // LDRB W0: zero-extended.
        assert_eq!(decode(0, false, false).load_value(0x1_80), 0x80);
        // LDRSB W0: sign-extended to 32 bits only.
        assert_eq!(decode(0, true, false).load_value(0x80), 0xFFFF_FF80);
        // LDRSB X0: sign-extended to 64 bits.
        assert_eq!(
            decode(0, true, true).load_value(0x80),
            0xFFFF_FFFF_FFFF_FF80
        );
        // LDRSH X0 of a positive value.
        assert_eq!(decode(1, true, true).load_value(0x7FFF), 0x7FFF);
        // LDRSW X0.
        assert_eq!(
            decode(2, true, true).load_value(0x8000_0000),
            0xFFFF_FFFF_8000_0000
        );
        // LDR X0.
        assert_eq!(decode(3, false, true).load_value(u64::MAX), u64::MAX);
    }

    #[test]
    fn stores_carry_the_low_bits_of_their_register_and_xzr_stores_zero() {
        let strb = MmioAccess::decode(esr(0, false, 2, false, true), 0, 0).unwrap();
        assert_eq!(strb.store_value(0x1234), 0x34);
        let str_w = MmioAccess::decode(esr(2, false, 2, false, true), 0, 0).unwrap();
        assert_eq!(str_w.store_value(0xDEAD_BEEF_CAFE_F00D), 0xCAFE_F00D);
        let str_wzr = MmioAccess::decode(esr(2, false, 31, false, true), 0, 0).unwrap();
        assert_eq!(str_wzr.store_value(0x1234), 0);
    }

    #[test]
    fn offset_in_is_inside_the_frame_only() {
        let a = MmioAccess::decode(esr(2, false, 0, false, false), 0xFFC, 0x80000).unwrap();
        assert_eq!(a.offset_in(0x0800_0000, 0x1000), Some(0xFFC));
        assert_eq!(a.offset_in(0x0800_0000, 0xFFC), None);
        assert_eq!(a.offset_in(0x0800_1000, 0x1000), None);
    }
}
