//! Typed values of the GICH control registers (IHI 0048B 5.3.1-5.3.4):
//! GICH_VTR, GICH_HCR, GICH_VMCR and GICH_MISR. Each wraps the raw word and
//! reads and writes it only through the fields declared in
//! [`regs::gich`](crate::regs::gich).

use core::fmt;

use tock_registers::LocalRegisterCopy;

use super::low_bits;
use crate::regs::gich::{HCR, MISR, VMCR, VTR};
use crate::{EoiMode, Error, Priority};

/// What GICH_VTR (5.3.2) says about this CPU's virtual interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct VtrInfo {
    /// List registers implemented, 1-64 (ListRegs, a six-bit field, + 1).
    pub list_registers: u8,
    /// Virtual priority bits implemented (PRIbits + 1): 5 on GICv2, whose
    /// GICH_LRn.Priority and GICH_VMCR.VMPriMask hold bits \[7:3\].
    pub priority_bits: u8,
    /// Virtual preemption bits implemented (PREbits + 1).
    pub preemption_bits: u8,
}

impl VtrInfo {
    /// Decodes a GICH_VTR value.
    pub fn from_raw(raw: u32) -> Self {
        let v = LocalRegisterCopy::<u32, VTR::Register>::new(raw);
        VtrInfo {
            list_registers: v.read(VTR::ListRegs) as u8 + 1,
            priority_bits: v.read(VTR::PRIbits) as u8 + 1,
            preemption_bits: v.read(VTR::PREbits) as u8 + 1,
        }
    }

    /// A bitmap with one bit per implemented list register (the bits
    /// GICH_ELRSR and GICH_EISR can set).
    pub const fn list_register_mask(&self) -> u64 {
        low_bits(self.list_registers as usize)
    }
}

/// Defines a getter and a setter for a one-bit field of a `u32` newtype.
macro_rules! flag {
    ($(#[$doc:meta])* $get:ident, $set:ident, $field:expr) => {
        $(#[$doc])*
        #[inline]
        pub fn $get(&self) -> bool {
            $field.is_set(self.0)
        }
        #[doc = concat!("Sets or clears the bit [`", stringify!($get), "`](Self::", stringify!($get), ") reads.")]
        #[inline]
        pub fn $set(&mut self, on: bool) {
            self.0 = $field.val(on as u32).modify(self.0);
        }
    };
}

/// A GICH_HCR value (5.3.1): the hypervisor's control of the virtual CPU
/// interface and of the maintenance interrupt's conditions.
///
/// [`VirtualInterface`](super::VirtualInterface) manages UIE and NPIE
/// itself (to refill list registers from its queue); the other enables are
/// the caller's.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Hcr(u32);

impl Hcr {
    /// Everything clear: the virtual CPU interface disabled.
    pub const DISABLED: Hcr = Hcr(0);
    /// Only En set: the virtual CPU interface signals its list registers,
    /// and no maintenance condition is enabled.
    pub const ENABLED: Hcr = Hcr(HCR::En::SET.value);

    /// Wraps a raw GICH_HCR value.
    pub const fn from_raw(raw: u32) -> Self {
        Hcr(raw)
    }
    /// The raw value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    flag!(
        /// En: the virtual CPU interface is enabled.
        en, set_en, HCR::En);
    flag!(
        /// UIE: maintenance interrupt while at most one list register is valid (underflow).
        uie, set_uie, HCR::UIE);
    flag!(
        /// LRENPIE: maintenance interrupt while EOICount is non-zero.
        lrenpie, set_lrenpie, HCR::LRENPIE);
    flag!(
        /// NPIE: maintenance interrupt while no list register is pending.
        npie, set_npie, HCR::NPIE);
    flag!(
        /// VGrp0EIE: maintenance interrupt while virtual Group 0 is enabled.
        vgrp0eie, set_vgrp0eie, HCR::VGrp0EIE);
    flag!(
        /// VGrp0DIE: maintenance interrupt while virtual Group 0 is disabled.
        vgrp0die, set_vgrp0die, HCR::VGrp0DIE);
    flag!(
        /// VGrp1EIE: maintenance interrupt while virtual Group 1 is enabled.
        vgrp1eie, set_vgrp1eie, HCR::VGrp1EIE);
    flag!(
        /// VGrp1DIE: maintenance interrupt while virtual Group 1 is disabled.
        vgrp1die, set_vgrp1die, HCR::VGrp1DIE);

    /// EOICount: guest EOIs (or, with EOImode 1, deactivations) that matched
    /// no list register, since the count was last cleared.
    pub fn eoi_count(&self) -> u8 {
        HCR::EOICount.read(self.0) as u8
    }
    /// Sets EOICount to zero (the field is writable).
    pub fn clear_eoi_count(&mut self) {
        self.0 = HCR::EOICount::CLEAR.modify(self.0);
    }

    /// The enables other than En (bits that can raise a maintenance
    /// interrupt by themselves).
    pub(crate) const CONDITIONS: u32 = HCR::UIE::SET.value
        | HCR::LRENPIE::SET.value
        | HCR::NPIE::SET.value
        | HCR::VGrp0EIE::SET.value
        | HCR::VGrp0DIE::SET.value
        | HCR::VGrp1EIE::SET.value
        | HCR::VGrp1DIE::SET.value;
    /// The enables the driver manages (UIE, NPIE).
    pub(crate) const DRIVER: u32 = HCR::UIE::SET.value | HCR::NPIE::SET.value;
    /// The EOICount field.
    pub(crate) const EOI_COUNT: u32 = HCR::EOICount::SET.value;

    /// Whether any maintenance condition other than EOI can be raised.
    pub(crate) const fn has_conditions(self) -> bool {
        self.0 & Self::CONDITIONS != 0
    }
}

impl fmt::Debug for Hcr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hcr")
            .field("raw", &format_args!("{:#010x}", self.0))
            .field("en", &self.en())
            .field("uie", &self.uie())
            .field("lrenpie", &self.lrenpie())
            .field("npie", &self.npie())
            .field("vgrp0eie", &self.vgrp0eie())
            .field("vgrp0die", &self.vgrp0die())
            .field("vgrp1eie", &self.vgrp1eie())
            .field("vgrp1die", &self.vgrp1die())
            .field("eoi_count", &self.eoi_count())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Hcr {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "Hcr({=u32:#010x})", self.0)
    }
}

/// A GICH_VMCR value (5.3.3): the guest's GICV control state (GICV_CTLR,
/// GICV_PMR, GICV_BPR, GICV_ABPR) as the hypervisor saves and restores it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Vmcr(u32);

/// Bits of the 8-bit priority mask below VMPriMask (3).
const PRIMASK_SHIFT: u32 = 8 - VMCR::VMPriMask.mask.count_ones();
/// The priority masks VMPriMask can hold (0xF8).
const PRIMASK_BITS: u8 = (VMCR::VMPriMask.mask << PRIMASK_SHIFT) as u8;

impl Vmcr {
    /// Wraps a raw GICH_VMCR value.
    pub const fn from_raw(raw: u32) -> Self {
        Vmcr(raw)
    }
    /// The raw value.
    pub const fn raw(self) -> u32 {
        self.0
    }

    flag!(
        /// VMGrp0En: GICV_CTLR.EnableGrp0.
        grp0_enabled, set_grp0_enabled, VMCR::VMGrp0En);
    flag!(
        /// VMGrp1En: GICV_CTLR.EnableGrp1.
        grp1_enabled, set_grp1_enabled, VMCR::VMGrp1En);
    flag!(
        /// VMAckCtl: GICV_CTLR.AckCtl.
        ack_ctl, set_ack_ctl, VMCR::VMAckCtl);
    flag!(
        /// VMFIQEn: GICV_CTLR.FIQEn (virtual Group 0 as virtual FIQ).
        fiq_en, set_fiq_en, VMCR::VMFIQEn);
    flag!(
        /// VMCBPR: GICV_CTLR.CBPR.
        cbpr, set_cbpr, VMCR::VMCBPR);

    /// VEM: GICV_CTLR.EOImode.
    pub fn eoi_mode(&self) -> EoiMode {
        if VMCR::VEM.is_set(self.0) {
            EoiMode::Split
        } else {
            EoiMode::Combined
        }
    }
    /// Sets VEM (GICV_CTLR.EOImode).
    pub fn set_eoi_mode(&mut self, mode: EoiMode) {
        self.0 = VMCR::VEM
            .val((mode == EoiMode::Split) as u32)
            .modify(self.0);
    }

    /// VMABP: GICV_ABPR.
    pub fn abpr(&self) -> u8 {
        VMCR::VMABP.read(self.0) as u8
    }
    /// Sets VMABP (GICV_ABPR), 0-7. The GIC may raise it to its minimum.
    pub fn set_abpr(&mut self, bp: u8) -> Result<(), Error> {
        if bp as u32 > VMCR::VMABP.mask {
            return Err(Error::InvalidBinaryPoint(bp));
        }
        self.0 = VMCR::VMABP.val(bp as u32).modify(self.0);
        Ok(())
    }

    /// VMBP: GICV_BPR.
    pub fn bpr(&self) -> u8 {
        VMCR::VMBP.read(self.0) as u8
    }
    /// Sets VMBP (GICV_BPR), 0-7. The GIC may raise it to its minimum.
    pub fn set_bpr(&mut self, bp: u8) -> Result<(), Error> {
        if bp as u32 > VMCR::VMBP.mask {
            return Err(Error::InvalidBinaryPoint(bp));
        }
        self.0 = VMCR::VMBP.val(bp as u32).modify(self.0);
        Ok(())
    }

    /// VMPriMask: GICV_PMR, as an 8-bit priority (the field << 3).
    pub fn priority_mask(&self) -> Priority {
        Priority((VMCR::VMPriMask.read(self.0) << PRIMASK_SHIFT) as u8)
    }
    /// Sets VMPriMask (GICV_PMR bits \[7:3\]). Fails if `mask` has any of its low
    /// three bits set, which the field cannot hold.
    pub fn set_priority_mask(&mut self, mask: Priority) -> Result<(), Error> {
        if mask.get() & !PRIMASK_BITS != 0 {
            return Err(Error::PriorityNotImplemented {
                priority: mask.get(),
                implemented: PRIMASK_BITS,
            });
        }
        self.0 = VMCR::VMPriMask
            .val((mask.get() >> PRIMASK_SHIFT) as u32)
            .modify(self.0);
        Ok(())
    }
}

impl fmt::Debug for Vmcr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vmcr")
            .field("raw", &format_args!("{:#010x}", self.0))
            .field("grp0_enabled", &self.grp0_enabled())
            .field("grp1_enabled", &self.grp1_enabled())
            .field("ack_ctl", &self.ack_ctl())
            .field("fiq_en", &self.fiq_en())
            .field("cbpr", &self.cbpr())
            .field("eoi_mode", &self.eoi_mode())
            .field("abpr", &self.abpr())
            .field("bpr", &self.bpr())
            .field("priority_mask", &self.priority_mask())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Vmcr {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "Vmcr({=u32:#010x})", self.0)
    }
}

/// A GICH_MISR value (5.3.4): which maintenance conditions are asserted.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(transparent)]
pub struct Misr(u32);

impl Misr {
    /// Wraps a raw GICH_MISR value.
    pub const fn from_raw(raw: u32) -> Self {
        Misr(raw)
    }
    /// The raw value.
    pub const fn raw(self) -> u32 {
        self.0
    }
    /// No condition asserted.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// EOI: some list register is invalid with HW = 0 and EOI = 1 (see GICH_EISR).
    pub fn eoi(&self) -> bool {
        MISR::EOI.is_set(self.0)
    }
    /// U: underflow, UIE set and at most one list register valid.
    pub fn underflow(&self) -> bool {
        MISR::U.is_set(self.0)
    }
    /// LRENP: LRENPIE set and EOICount non-zero.
    pub fn lr_entry_not_present(&self) -> bool {
        MISR::LRENP.is_set(self.0)
    }
    /// NP: NPIE set and no list register pending.
    pub fn no_pending(&self) -> bool {
        MISR::NP.is_set(self.0)
    }
    /// VGrp0E: VGrp0EIE set and virtual Group 0 enabled.
    pub fn vgrp0_enabled(&self) -> bool {
        MISR::VGrp0E.is_set(self.0)
    }
    /// VGrp0D: VGrp0DIE set and virtual Group 0 disabled.
    pub fn vgrp0_disabled(&self) -> bool {
        MISR::VGrp0D.is_set(self.0)
    }
    /// VGrp1E: VGrp1EIE set and virtual Group 1 enabled.
    pub fn vgrp1_enabled(&self) -> bool {
        MISR::VGrp1E.is_set(self.0)
    }
    /// VGrp1D: VGrp1DIE set and virtual Group 1 disabled.
    pub fn vgrp1_disabled(&self) -> bool {
        MISR::VGrp1D.is_set(self.0)
    }

    /// A MISR with only the EOI condition (as inferred from GICH_EISR).
    pub(crate) fn eoi_only(eoi: bool) -> Self {
        Misr(MISR::EOI.val(eoi as u32).value)
    }
}

impl fmt::Debug for Misr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Misr")
            .field("raw", &format_args!("{:#04x}", self.0))
            .field("eoi", &self.eoi())
            .field("underflow", &self.underflow())
            .field("lr_entry_not_present", &self.lr_entry_not_present())
            .field("no_pending", &self.no_pending())
            .field("vgrp0_enabled", &self.vgrp0_enabled())
            .field("vgrp0_disabled", &self.vgrp0_disabled())
            .field("vgrp1_enabled", &self.vgrp1_enabled())
            .field("vgrp1_disabled", &self.vgrp1_disabled())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Misr {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "Misr({=u32:#04x})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtr_list_regs_is_six_bits_plus_one() {
        assert_eq!(
            VtrInfo::from_raw(0x9000_0003),
            VtrInfo {
                list_registers: 4,
                priority_bits: 5,
                preemption_bits: 5
            }
        );
        let max = VtrInfo::from_raw(0x9000_003F);
        assert_eq!(max.list_registers, 64);
        assert_eq!(max.list_register_mask(), u64::MAX);
        assert_eq!(VtrInfo::from_raw(0x20).list_registers, 33);
    }

    #[test]
    fn hcr_fields() {
        let mut h = Hcr::from_raw(0xF800_00FF);
        assert!(h.en() && h.uie() && h.lrenpie() && h.npie());
        assert!(h.vgrp0eie() && h.vgrp0die() && h.vgrp1eie() && h.vgrp1die());
        assert_eq!(h.eoi_count(), 31);
        h.clear_eoi_count();
        h.set_uie(false);
        assert_eq!(h.raw(), 0xFD);
        assert_eq!(Hcr::ENABLED.raw(), 1);
    }

    #[test]
    fn vmcr_fields_and_checks() {
        let mut v = Vmcr::from_raw(0x004C_0000); // QEMU's reset value
        assert_eq!((v.abpr(), v.bpr()), (3, 2));
        assert!(!v.grp0_enabled() && !v.grp1_enabled() && !v.ack_ctl());
        assert_eq!(v.eoi_mode(), EoiMode::Combined);
        v.set_priority_mask(Priority(0xF0)).unwrap();
        assert_eq!(v.raw() >> 27, 0x1E);
        assert_eq!(v.priority_mask(), Priority(0xF0));
        assert!(v.set_priority_mask(Priority(0xF1)).is_err());
        assert_eq!(v.set_bpr(8), Err(Error::InvalidBinaryPoint(8)));
        v.set_grp1_enabled(true);
        v.set_eoi_mode(EoiMode::Split);
        v.set_fiq_en(true);
        v.set_cbpr(true);
        v.set_ack_ctl(true);
        v.set_abpr(5).unwrap();
        assert!(v.grp1_enabled() && v.fiq_en() && v.cbpr() && v.ack_ctl());
        assert_eq!(v.eoi_mode(), EoiMode::Split);
        assert_eq!(v.abpr(), 5);
        assert_eq!(v.raw() & 0x3FF, 0x21E);
    }

    #[test]
    fn misr_fields() {
        let m = Misr::from_raw(0xFF);
        assert!(m.eoi() && m.underflow() && m.lr_entry_not_present() && m.no_pending());
        assert!(m.vgrp0_enabled() && m.vgrp0_disabled() && m.vgrp1_enabled() && m.vgrp1_disabled());
        assert!(Misr::from_raw(0).is_empty());
    }
}
