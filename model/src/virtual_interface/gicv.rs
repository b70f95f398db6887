//! GICV, the virtual CPU interface the guest sees (IHI 0048B 5.4, with the
//! GICC layout of 4.4): every register a view of GICH_VMCR, GICH_APR and the
//! list registers; acknowledge, priority drop and deactivation; the virtual
//! IRQ and FIQ outputs.

use gic_driver::regs::field_mask;
use gic_driver::regs::gicc::{self, BPR, CTLR, IAR, IIDR_GIC400, PMR};
use gic_driver::regs::gich::{HCR, LR, VMCR};
use gic_driver::IntId;
use tock_registers::fields::Field;

use super::list_registers::{lr_intid, width, FIRST_SPECIAL_INTID, LR_PRIO_SHIFT};
use super::{VirtEffect, VirtualCpuInterface};

/// GICV_CTLR fields and the GICH_VMCR fields that hold them (5.3.3).
/// Enforced by `gicv_ctlr_is_vmcr_control_bits`.
const CTLR_IN_VMCR: [(Field<u32, CTLR::Register>, Field<u32, VMCR::Register>); 6] = [
    (CTLR::EnableGrp0, VMCR::VMGrp0En),
    (CTLR::EnableGrp1, VMCR::VMGrp1En),
    (CTLR::AckCtl, VMCR::VMAckCtl),
    (CTLR::FIQEn, VMCR::VMFIQEn),
    (CTLR::CBPR, VMCR::VMCBPR),
    (CTLR::EOImode, VMCR::VEM),
];

/// GICV_PMR is VMCR.VMPriMask shifted up by this.
const PMR_SHIFT: u32 = width(PMR::Priority) - width(VMCR::VMPriMask);
/// The idle running priority (GICV_RPR with no active priority).
const IDLE_PRIORITY: u32 = 0xFF;
/// The spurious INTID: nothing to acknowledge.
const SPURIOUS: u32 = IntId::SPURIOUS.get();
/// The INTID returned for a Group 1 interrupt when AckCtl is clear.
const SPURIOUS_GROUP1: u32 = IntId::GROUP1_NOT_ACKNOWLEDGED.get();

/// GICV_IIDR (5.4): the same value as the model's GICC_IIDR (4.4.15), a
/// GIC-400 r0p1 ([`gicc::IIDR_GIC400`]).
pub const GICV_IIDR: u32 = IIDR_GIC400;

impl VirtualCpuInterface {
    /// A 32-bit read of the GICV frame at `offset` (GICC layout, 5.4).
    /// GICV_IAR and GICV_AIAR acknowledge. Never panics; write-only,
    /// unknown and unaligned offsets read as zero.
    /// Enforced by `read_only_unknown_and_unaligned_offsets_are_raz_wi` and
    /// `gicv_apr0_is_gich_apr_and_apr1_3_are_raz_wi`.
    pub fn read_gicv(&mut self, offset: usize) -> u32 {
        if !offset.is_multiple_of(4) {
            return 0;
        }
        match offset {
            gicc::offset::CTLR => self.gicv_ctlr(),
            gicc::offset::PMR => self.gicv_pmr(),
            gicc::offset::BPR => VMCR::VMBP.read(self.vmcr),
            gicc::offset::IAR => self.acknowledge(false),
            gicc::offset::RPR => self.running_priority(),
            gicc::offset::HPPIR => self.highest_pending(false),
            gicc::offset::ABPR => VMCR::VMABP.read(self.vmcr),
            gicc::offset::AIAR => self.acknowledge(true),
            gicc::offset::AHPPIR => self.highest_pending(true),
            gicc::offset::APR => self.apr,
            gicc::offset::IIDR => GICV_IIDR,
            _ => 0,
        }
    }

    /// A 32-bit write of the GICV frame at `offset` (5.4). Never panics;
    /// read-only, unknown and unaligned offsets ignore writes. EOIR, AEOIR
    /// and DIR may ask for a physical deactivation (HW = 1 list registers).
    /// Enforced by `read_only_unknown_and_unaligned_offsets_are_raz_wi` and
    /// `binary_points_clamp_to_the_minimum`.
    pub fn write_gicv(&mut self, offset: usize, value: u32) -> VirtEffect {
        if !offset.is_multiple_of(4) {
            return VirtEffect::default();
        }
        match offset {
            gicc::offset::CTLR => {
                for (ctlr, vmcr) in CTLR_IN_VMCR {
                    self.vmcr = vmcr.val(ctlr.read(value)).modify(self.vmcr);
                }
            }
            gicc::offset::PMR => {
                let mask = PMR::Priority.read(value) >> PMR_SHIFT;
                self.vmcr = VMCR::VMPriMask.val(mask).modify(self.vmcr);
            }
            gicc::offset::BPR => {
                let bp = BPR::BinaryPoint.read(value);
                self.vmcr = self.sanitize_vmcr(VMCR::VMBP.val(bp).modify(self.vmcr));
            }
            gicc::offset::ABPR => {
                let bp = BPR::BinaryPoint.read(value);
                self.vmcr = self.sanitize_vmcr(VMCR::VMABP.val(bp).modify(self.vmcr));
            }
            gicc::offset::EOIR => return self.end_of_interrupt(value, false),
            gicc::offset::AEOIR => return self.end_of_interrupt(value, true),
            gicc::offset::DIR => return self.deactivate_interrupt(value),
            gicc::offset::APR => self.apr = value,
            _ => {}
        }
        VirtEffect::default()
    }

    /// GICV_CTLR (5.4, 4.4.1): VMCR's control bits in GICC_CTLR positions.
    /// Enforced by `gicv_ctlr_is_vmcr_control_bits`.
    pub fn gicv_ctlr(&self) -> u32 {
        CTLR_IN_VMCR
            .iter()
            .filter(|(_, vmcr)| vmcr.is_set(self.vmcr))
            .fold(0, |acc, (ctlr, _)| acc | field_mask(ctlr))
    }

    /// GICV_PMR (5.4, 4.4.2): VMCR.VMPriMask as PMR\[7:3\].
    /// Enforced by `gicv_pmr_is_vmcr_vmprimask`.
    pub fn gicv_pmr(&self) -> u32 {
        VMCR::VMPriMask.read(self.vmcr) << PMR_SHIFT
    }

    /// GICV_RPR (5.4, 4.4.6): the group priority of the lowest set APR bit
    /// (`bit << 3`), or 0xFF when no interrupt is active.
    /// Enforced by `gicv_apr0_is_gich_apr_and_apr1_3_are_raz_wi` and
    /// `iar_activates_lr_and_sets_apr_bit_for_group_priority`.
    pub fn running_priority(&self) -> u32 {
        if self.apr == 0 {
            IDLE_PRIORITY
        } else {
            self.apr.trailing_zeros() << LR_PRIO_SHIFT
        }
    }

    /// GICV_IAR (`aliased` false) or GICV_AIAR (true), 5.4 and 4.4.4.
    /// Enforced by `iar_activates_lr_and_sets_apr_bit_for_group_priority`,
    /// `iar_returns_1022_for_group1_with_ackctl_clear` and
    /// `aliased_registers_serve_group1_only`.
    fn acknowledge(&mut self, aliased: bool) -> u32 {
        let Some(n) = self.signalled() else {
            return SPURIOUS;
        };
        let lr = self.lrs[n];
        let grp1 = LR::Grp1.is_set(lr);
        if aliased && !grp1 {
            return SPURIOUS;
        }
        if !aliased && grp1 && !VMCR::VMAckCtl.is_set(self.vmcr) {
            return SPURIOUS_GROUP1;
        }
        let level = self.group_priority(lr) >> LR_PRIO_SHIFT;
        self.apr |= 1u32.checked_shl(level).unwrap_or(0);
        self.lrs[n] = LR::State::Active.modify(lr);
        lr_intid(lr)
    }

    /// GICV_HPPIR (`aliased` false) or GICV_AHPPIR (true), 5.4 and 4.4.7.
    /// Enforced by `guest_preemption_follows_priority_and_binary_point`,
    /// `aliased_registers_serve_group1_only` and
    /// `gicv_hppir_reports_1023_for_a_group_gicv_ctlr_disables`.
    fn highest_pending(&self, aliased: bool) -> u32 {
        let Some(n) = self.best_pending() else {
            return SPURIOUS;
        };
        let lr = self.lrs[n];
        let grp1 = LR::Grp1.is_set(lr);
        if aliased && !grp1 {
            SPURIOUS
        } else if !aliased && grp1 && !VMCR::VMAckCtl.is_set(self.vmcr) {
            SPURIOUS_GROUP1
        } else {
            lr_intid(lr)
        }
    }

    /// Adds one to HCR.EOICount, wrapping from 31 to 0 (5.3.1).
    /// Enforced by `eoicount_wraps_from_31_to_0`.
    fn count_unmatched_eoi(&mut self) {
        let count = (HCR::EOICount.read(self.hcr) + 1) & HCR::EOICount.mask;
        self.hcr = HCR::EOICount.val(count).modify(self.hcr);
    }

    /// GICV_EOIR (`aliased` false) or GICV_AEOIR (true), 5.4 and 4.4.5:
    /// priority drop, and with EOImode 0 deactivation.
    /// Enforced by `eoi_drops_priority_and_deactivates`,
    /// `eoi_with_no_matching_lr_increments_eoicount`,
    /// `eoi_without_active_priority_does_not_count`,
    /// `split_eoi_drops_priority_and_dir_deactivates` and `eoi_with_special_intid_is_ignored`.
    fn end_of_interrupt(&mut self, value: u32, aliased: bool) -> VirtEffect {
        if IAR::InterruptID.read(value) >= FIRST_SPECIAL_INTID {
            return VirtEffect::default();
        }
        let matched = self.matching_lr(value);
        if aliased && matched.is_some_and(|n| !LR::Grp1.is_set(self.lrs[n])) {
            return VirtEffect::default();
        }
        let dropped = self.apr != 0;
        self.apr &= self.apr.wrapping_sub(1);
        if VMCR::VEM.is_set(self.vmcr) {
            return VirtEffect::default();
        }
        match matched {
            Some(n) => self.deactivate_lr(n),
            None => {
                if dropped {
                    self.count_unmatched_eoi();
                }
                VirtEffect::default()
            }
        }
    }

    /// GICV_DIR (5.4, 4.4.16): deactivation when EOImode is 1; ignored
    /// otherwise.
    /// Enforced by `dir_is_ignored_when_eoimode_is_clear`,
    /// `dir_with_no_matching_lr_increments_eoicount` and
    /// `split_eoi_drops_priority_and_dir_deactivates`.
    fn deactivate_interrupt(&mut self, value: u32) -> VirtEffect {
        if !VMCR::VEM.is_set(self.vmcr) || IAR::InterruptID.read(value) >= FIRST_SPECIAL_INTID {
            return VirtEffect::default();
        }
        match self.matching_lr(value) {
            Some(n) => self.deactivate_lr(n),
            None => {
                self.count_unmatched_eoi();
                VirtEffect::default()
            }
        }
    }

    /// Whether the signalled virtual interrupt goes to FIQ: Group 0 with
    /// GICV_CTLR.FIQEn set (5.4, 3.6).
    fn signalled_as_fiq(&self) -> Option<bool> {
        self.signalled()
            .map(|n| !LR::Grp1.is_set(self.lrs[n]) && VMCR::VMFIQEn.is_set(self.vmcr))
    }

    /// The virtual IRQ output to the guest (5.1): a pending list register
    /// of an enabled group, below GICV_PMR, preempting the running priority,
    /// with HCR.En set, and not routed to FIQ.
    /// Enforced by `pmr_masks_signalling`, `lr_of_disabled_group_is_skipped` and
    /// `iar_returns_1023_when_hcr_en_clear`.
    pub fn virq(&self) -> bool {
        self.signalled_as_fiq() == Some(false)
    }

    /// The virtual FIQ output to the guest (5.1): as [`virq`](Self::virq),
    /// for a Group 0 interrupt while GICV_CTLR.FIQEn is set.
    /// Enforced by `group0_goes_to_vfiq_when_fiqen_is_set`.
    pub fn vfiq(&self) -> bool {
        self.signalled_as_fiq() == Some(true)
    }
}
