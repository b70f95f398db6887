//! What a list register means to the guest (IHI 0048B 5.3.8, 5.4): its
//! 8-bit priority, group priority and GICV_IAR value, which pending list
//! register is presented, and which one a deactivation matches.

use gic_driver::regs::gicc::IAR;
use gic_driver::regs::gich::{lr_state, HCR, LR, VMCR};
use gic_driver::IntId;
use tock_registers::fields::Field;
use tock_registers::RegisterLongName;

use super::{VirtEffect, VirtualCpuInterface};

/// The state of a list register (GICH_LR.State, 5.3.8), as the driver's
/// register definitions decode it.
pub(super) use gic_driver::regs::gich::LR::State::Value as LrState;

/// The width of a register field in bits.
pub(super) const fn width<R: RegisterLongName>(f: Field<u32, R>) -> u32 {
    f.mask.count_ones()
}

/// An 8-bit virtual priority is the LR Priority field shifted up by this.
pub(super) const LR_PRIO_SHIFT: u32 = 8 - width(LR::Priority);
/// INTIDs from this value up are special (1020-1023).
pub(super) const FIRST_SPECIAL_INTID: u32 = IntId::SPECIAL_START;
/// INTIDs below this are SGIs (IAR/EOIR carry a CPUID for them).
const SGI_COUNT: u32 = IntId::SGI_COUNT;

/// The 8-bit virtual priority of a list register.
pub(super) fn lr_priority(lr: u32) -> u32 {
    LR::Priority.read(lr) << LR_PRIO_SHIFT
}

/// The GICV_IAR / GICV_HPPIR value for a list register: VirtualID, plus
/// CPUID for an SGI with HW = 0 (5.4, 4.4.4).
/// Enforced by `sgi_iar_carries_lr_cpuid` and `hw_lr_iar_carries_no_cpuid`.
pub(super) fn lr_intid(lr: u32) -> u32 {
    let id = LR::VirtualID.read(lr);
    let cpuid = if !LR::HW.is_set(lr) && id < SGI_COUNT {
        LR::CPUID.read(lr)
    } else {
        0
    };
    (IAR::InterruptID.val(id) + IAR::CPUID.val(cpuid)).value
}

impl VirtualCpuInterface {
    /// The group priority of a list register's interrupt (3.3.3): its
    /// priority masked by VMBP, or for Group 1 with CBPR clear by VMABP - 1.
    /// Enforced by `group1_uses_abpr_unless_cbpr_is_set` and
    /// `guest_preemption_follows_priority_and_binary_point`.
    pub(super) fn group_priority(&self, lr: u32) -> u32 {
        let bp = if LR::Grp1.is_set(lr) && !VMCR::VMCBPR.is_set(self.vmcr) {
            VMCR::VMABP.read(self.vmcr).saturating_sub(1)
        } else {
            VMCR::VMBP.read(self.vmcr)
        };
        let mask = 0xFFu32.checked_shl(bp + 1).unwrap_or(0);
        lr_priority(lr) & mask
    }

    pub(super) fn group_enabled(&self, lr: u32) -> bool {
        if LR::Grp1.is_set(lr) {
            VMCR::VMGrp1En.is_set(self.vmcr)
        } else {
            VMCR::VMGrp0En.is_set(self.vmcr)
        }
    }

    /// The highest-priority pending list register the guest could see:
    /// state pending (not pending+active), a VirtualID that is not special
    /// (1020-1023), group enabled in GICV_CTLR, priority below GICV_PMR,
    /// HCR.En set. Lowest priority value wins, ties to the lowest index.
    /// Enforced by `pending_and_active_lr_is_not_a_candidate`,
    /// `lowest_priority_value_wins_ties_to_lowest_lr`,
    /// `list_register_with_a_special_virtual_id_is_never_presented`, `pmr_masks_signalling`,
    /// `lr_of_disabled_group_is_skipped` and `iar_returns_1023_when_hcr_en_clear`.
    pub(super) fn best_pending(&self) -> Option<usize> {
        if !HCR::En.is_set(self.hcr) {
            return None;
        }
        let pmr = self.gicv_pmr();
        self.implemented_lrs()
            .iter()
            .enumerate()
            .filter(|&(_, &lr)| {
                lr_state(lr) == LrState::Pending
                    && LR::VirtualID.read(lr) < FIRST_SPECIAL_INTID
                    && self.group_enabled(lr)
            })
            .min_by_key(|&(n, &lr)| (lr_priority(lr), n))
            .filter(|&(_, &lr)| lr_priority(lr) < pmr)
            .map(|(n, _)| n)
    }

    /// The list register that is signalled to the guest: the best pending
    /// one if its group priority preempts the running priority.
    /// Enforced by `guest_preemption_follows_priority_and_binary_point`.
    pub(super) fn signalled(&self) -> Option<usize> {
        self.best_pending()
            .filter(|&n| self.group_priority(self.lrs[n]) < self.running_priority())
    }

    /// The list register a deactivation of `value` (IAR layout) applies to.
    /// Enforced by `sgi_deactivation_matches_cpuid`.
    pub(super) fn matching_lr(&self, value: u32) -> Option<usize> {
        let id = IAR::InterruptID.read(value);
        let cpuid = IAR::CPUID.read(value);
        self.implemented_lrs().iter().position(|&lr| {
            LR::VirtualID.read(lr) == id
                && matches!(lr_state(lr), LrState::Active | LrState::PendingActive)
                && (LR::HW.is_set(lr) || id >= SGI_COUNT || LR::CPUID.read(lr) == cpuid)
        })
    }

    /// Deactivates LRn: active -> invalid, pending+active -> pending
    /// (5.3.8). With HW = 1 the physical interrupt is deactivated too.
    /// Enforced by `eoi_of_pending_and_active_lr_leaves_it_pending`,
    /// `hw_lr_deactivation_reports_physical_id` and
    /// `hw_lr_with_special_physical_id_deactivates_only_virtually`.
    pub(super) fn deactivate_lr(&mut self, n: usize) -> VirtEffect {
        let lr = self.lrs[n];
        self.lrs[n] = if lr_state(lr) == LrState::PendingActive {
            LR::State::Pending.modify(lr)
        } else {
            LR::State::Invalid.modify(lr)
        };
        let physical = LR::PhysicalID.read(lr);
        VirtEffect {
            deactivate_physical: (LR::HW.is_set(lr)
                && (SGI_COUNT..FIRST_SPECIAL_INTID).contains(&physical))
            .then_some(physical),
        }
    }
}
