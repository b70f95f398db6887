//! GICH, the virtual interface control registers (IHI 0048B 5.3): the
//! stored registers as the hypervisor reads and writes them, and the status
//! computed from them on every read (GICH_MISR, GICH_EISR, GICH_ELRSR) and
//! the maintenance interrupt output. Nothing here is stored.

use gic_driver::regs::gich::{
    self, lr_state, HCR, HCR_DEFINED, LR, LR_DEFINED, MAX_LIST_REGISTERS, MISR, VMCR, VMCR_DEFINED,
    VTR,
};

use super::list_registers::LrState;
use super::VirtualCpuInterface;

/// The second word of GICH_EISR (LRs 32-63).
const GICH_EISR1: usize = gich::offset::EISR + 4;
/// The second word of GICH_ELRSR (LRs 32-63).
const GICH_ELRSR1: usize = gich::offset::ELRSR + 4;
/// One past the last GICH_LRn.
const GICH_LR_END: usize = gich::lr(MAX_LIST_REGISTERS);

impl VirtualCpuInterface {
    /// A 32-bit read of the GICH frame at `offset` (5.3). Never panics;
    /// unknown or unaligned offsets and unimplemented list registers read
    /// as zero. MISR, EISR and ELRSR are computed here.
    /// Enforced by `read_only_unknown_and_unaligned_offsets_are_raz_wi` and
    /// `lrs_beyond_count_are_raz_wi`.
    pub fn read_gich(&self, offset: usize) -> u32 {
        if !offset.is_multiple_of(4) {
            return 0;
        }
        match offset {
            gich::offset::HCR => self.hcr,
            gich::offset::VTR => self.vtr(),
            gich::offset::VMCR => self.vmcr,
            gich::offset::MISR => self.misr(),
            gich::offset::EISR => self.eisr() as u32,
            GICH_EISR1 => (self.eisr() >> 32) as u32,
            gich::offset::ELRSR => self.elrsr() as u32,
            GICH_ELRSR1 => (self.elrsr() >> 32) as u32,
            gich::offset::APR => self.apr,
            o if (gich::offset::LR..GICH_LR_END).contains(&o) => {
                self.lr((o - gich::offset::LR) / 4)
            }
            _ => 0,
        }
    }

    /// A 32-bit write of the GICH frame at `offset` (5.3). Never panics;
    /// read-only, unknown and unaligned offsets and unimplemented list
    /// registers ignore writes. Reserved bits are dropped; VMCR binary points
    /// below their minimum are raised to it.
    /// Enforced by `hcr_reserved_bits_read_as_zero`, `lr_reserved_bits_read_as_zero`,
    /// `lrs_beyond_count_are_raz_wi` and `binary_points_clamp_to_the_minimum`.
    pub fn write_gich(&mut self, offset: usize, value: u32) {
        if !offset.is_multiple_of(4) {
            return;
        }
        match offset {
            gich::offset::HCR => self.hcr = value & HCR_DEFINED,
            gich::offset::VMCR => self.vmcr = self.sanitize_vmcr(value),
            gich::offset::APR => self.apr = value,
            o if (gich::offset::LR..GICH_LR_END).contains(&o) => {
                let n = (o - gich::offset::LR) / 4;
                if n < self.lr_count() {
                    self.lrs[n] = value & LR_DEFINED;
                }
            }
            _ => {}
        }
    }

    /// GICH_HCR (5.3.1), including EOICount.
    pub fn hcr(&self) -> u32 {
        self.hcr
    }

    /// GICH_VTR (5.3.2): ListRegs = LRs - 1 in six bits, PREbits and PRIbits
    /// minus one.
    /// Enforced by `vtr_encodes_64_lrs_in_six_bits` and
    /// `reset_state_matches_gic400_reset_values`.
    pub fn vtr(&self) -> u32 {
        let c = self.config;
        (VTR::ListRegs.val(u32::from(c.list_registers).saturating_sub(1))
            + VTR::PREbits.val(u32::from(c.preemption_bits).saturating_sub(1))
            + VTR::PRIbits.val(u32::from(c.priority_bits).saturating_sub(1)))
        .value
    }

    /// GICH_VMCR (5.3.3): the guest's GICV_CTLR, PMR, BPR and ABPR.
    pub fn vmcr(&self) -> u32 {
        self.vmcr
    }

    /// GICH_APR (5.3.7), which is also GICV_APR0. Bit `n` is set while an
    /// interrupt of group priority `n << 3` is active.
    pub fn apr(&self) -> u32 {
        self.apr
    }

    /// GICH_LRn (5.3.8); zero for `n` at or beyond the implemented count.
    pub fn lr(&self, n: usize) -> u32 {
        self.implemented_lrs().get(n).copied().unwrap_or(0)
    }

    /// GICH_HCR.EOICount (5.3.1): EOIs that matched no list register,
    /// modulo 32.
    /// Enforced by `eoi_with_no_matching_lr_increments_eoicount` and
    /// `eoicount_wraps_from_31_to_0`.
    pub fn eoi_count(&self) -> u32 {
        HCR::EOICount.read(self.hcr)
    }

    /// GICH_EISR1:GICH_EISR0 (5.3.5), computed: bit `n` is set when LRn is
    /// invalid with HW = 0 and EOI = 1 (an EOI maintenance request).
    /// Enforced by `eoi_bit_lr_raises_eoi_maintenance_after_deactivation`,
    /// `hw_lr_deactivation_reports_physical_id` and
    /// `random_gich_and_gicv_accesses_keep_derived_state_consistent`.
    pub fn eisr(&self) -> u64 {
        self.lr_bits(|lr| {
            lr_state(lr) == LrState::Invalid && !LR::HW.is_set(lr) && LR::EOI.is_set(lr)
        })
    }

    /// GICH_ELRSR1:GICH_ELRSR0 (5.3.6), computed: bit `n` is set when LRn
    /// is invalid and has no EOI maintenance request (HW = 1 or EOI = 0), so
    /// the hypervisor may reuse it.
    /// Enforced by `eoi_bit_lr_raises_eoi_maintenance_after_deactivation`,
    /// `set_record_with_fewer_lrs_leaves_the_rest_invalid` and
    /// `random_gich_and_gicv_accesses_keep_derived_state_consistent`.
    pub fn elrsr(&self) -> u64 {
        self.lr_bits(|lr| {
            lr_state(lr) == LrState::Invalid && (LR::HW.is_set(lr) || !LR::EOI.is_set(lr))
        })
    }

    fn lr_bits(&self, f: impl Fn(u32) -> bool) -> u64 {
        self.implemented_lrs()
            .iter()
            .enumerate()
            .filter(|&(_, &lr)| f(lr))
            .fold(0, |acc, (n, _)| acc | (1u64 << n))
    }

    /// GICH_MISR (5.3.4), computed from the list registers, HCR and VMCR:
    /// EOI (some EISR bit set), U (UIE and at most one valid LR), LRENP
    /// (LRENPIE and EOICount != 0), NP (NPIE and no LR in state pending;
    /// pending+active too if
    /// [`VirtConfig::np_counts_pending_active`](super::VirtConfig::np_counts_pending_active)),
    /// VGrp0E/D and VGrp1E/D (the interrupt enables against GICV_CTLR's
    /// group enables).
    /// Enforced by `np_condition_clears_when_lr_refilled`,
    /// `underflow_condition_needs_at_most_one_valid_lr`,
    /// `group_enable_conditions_track_gicv_ctlr` and
    /// `eoi_with_no_matching_lr_increments_eoicount`.
    pub fn misr(&self) -> u32 {
        let hcr = self.hcr;
        let valid = self
            .implemented_lrs()
            .iter()
            .filter(|&&lr| lr_state(lr) != LrState::Invalid)
            .count();
        let np_pa = self.config.np_counts_pending_active;
        let any_pending = self.implemented_lrs().iter().any(|&lr| match lr_state(lr) {
            LrState::Pending => true,
            LrState::PendingActive => np_pa,
            LrState::Invalid | LrState::Active => false,
        });
        let grp0 = VMCR::VMGrp0En.is_set(self.vmcr);
        let grp1 = VMCR::VMGrp1En.is_set(self.vmcr);
        let flag = |b: bool| u32::from(b);
        (MISR::EOI.val(flag(self.eisr() != 0))
            + MISR::U.val(flag(HCR::UIE.is_set(hcr) && valid <= 1))
            + MISR::LRENP.val(flag(
                HCR::LRENPIE.is_set(hcr) && HCR::EOICount.read(hcr) != 0,
            ))
            + MISR::NP.val(flag(HCR::NPIE.is_set(hcr) && !any_pending))
            + MISR::VGrp0E.val(flag(HCR::VGrp0EIE.is_set(hcr) && grp0))
            + MISR::VGrp0D.val(flag(HCR::VGrp0DIE.is_set(hcr) && !grp0))
            + MISR::VGrp1E.val(flag(HCR::VGrp1EIE.is_set(hcr) && grp1))
            + MISR::VGrp1D.val(flag(HCR::VGrp1DIE.is_set(hcr) && !grp1)))
        .value
    }

    /// The maintenance interrupt output (5.3.4): HCR.En set and MISR
    /// non-zero.
    /// Enforced by `maintenance_requires_hcr_en` and
    /// `eoi_bit_lr_raises_eoi_maintenance_after_deactivation`.
    pub fn maintenance(&self) -> bool {
        HCR::En.is_set(self.hcr) && self.misr() != 0
    }

    pub(super) fn sanitize_vmcr(&self, value: u32) -> u32 {
        let mut v = value & VMCR_DEFINED;
        let bp_min = u32::from(self.config.min_binary_point());
        let abp_min = u32::from(self.config.min_aliased_binary_point());
        if VMCR::VMBP.read(v) < bp_min {
            v = VMCR::VMBP.val(bp_min).modify(v);
        }
        if VMCR::VMABP.read(v) < abp_min {
            v = VMCR::VMABP.val(abp_min).modify(v);
        }
        v
    }
}
