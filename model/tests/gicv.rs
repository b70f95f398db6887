//! The virtual CPU interface (GICV, IHI 0048B 5.4) over the list
//! registers of one [`VirtualCpuInterface`], accessed directly: GICV views of
//! GICH_VMCR and GICH_APR, which list register is presented, acknowledge,
//! preemption, priority drop and deactivation, EOICount.

mod common;

use common::*;
use gic_driver::regs::field_mask;
use gic_driver::regs::gicc::offset as v;
use gic_driver::regs::gicc::{CTLR, IIDR};
use gic_driver::regs::gich::offset as h;
use gic_driver::regs::gich::{HCR, LR, MISR, VMCR};
use gic_model::virtual_interface::GICV_IIDR;

#[test]
fn list_register_with_a_special_virtual_id_is_never_presented() {
    for id in 1020..=1023 {
        for grp1 in [false, true] {
            let mut vi = enabled_virtual_cpu_interface();
            if grp1 {
                // AckCtl clear: a presented Group 1 LR would read 1022.
                vi.write_gicv(
                    v::CTLR,
                    (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET).value,
                );
            }
            let special = lr(pending_lr(id, 0x00) + LR::Grp1.val(u32::from(grp1)));
            vi.write_gich(gich::lr(0), special);
            assert!(!vi.virq() && !vi.vfiq(), "vINTID {id}: no virtual IRQ");
            for off in [v::HPPIR, v::AHPPIR, v::IAR, v::AIAR] {
                assert_eq!(vi.read_gicv(off), 1023, "vINTID {id}, offset {off:#x}");
            }
            assert_eq!(vi.lr(0), special, "vINTID {id}: never acknowledged");
            assert_eq!(vi.apr(), 0);
            assert_eq!(vi.running_priority(), 0xFF);
            // A real interrupt behind it is presented and completes.
            vi.write_gicv(v::CTLR, vi.gicv_ctlr() | CTLR::AckCtl::SET.value);
            vi.write_gich(gich::lr(1), lr(pending_lr(40, 0x80)));
            assert!(vi.virq());
            assert_eq!(vi.read_gicv(v::IAR), 40);
            vi.write_gicv(v::EOIR, 40);
            assert_eq!(vi.running_priority(), 0xFF);
            assert_eq!(vi.lr(0), special);
        }
    }
}

#[test]
fn gicv_eoir_without_an_active_priority_still_deactivates_in_eoimode_0() {
    // UNPREDICTABLE in the spec; the model's choice, the same on GICC.
    let mut vi = enabled_virtual_cpu_interface();
    let active = |id| lr(LR::VirtualID.val(id) + LR::Priority.val(0x10) + LR::State::Active);
    vi.write_gich(gich::lr(0), active(40));
    vi.write_gich(gich::lr(1), active(41));
    assert_eq!(vi.apr(), 0, "no active priority");
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(LR::State.read(vi.lr(0)), 0, "EOImode 0: deactivated");
    assert_eq!(vi.apr(), 0);
    assert_eq!(vi.eoi_count(), 0, "only EOIs that drop a priority count");
    // EOImode 1: nothing to drop, and EOIR never deactivates.
    vi.write_gicv(v::CTLR, vi.gicv_ctlr() | CTLR::EOImode::SET.value);
    vi.write_gicv(v::EOIR, 41);
    assert_eq!(vi.lr(1), active(41));
    assert_eq!(vi.eoi_count(), 0);
}

#[test]
fn gicv_hppir_reports_1023_for_a_group_gicv_ctlr_disables() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::CTLR, (CTLR::EnableGrp0::SET + CTLR::AckCtl::SET).value);
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80) + LR::Grp1::SET));
    assert_eq!(vi.read_gicv(v::HPPIR), 1023);
    assert_eq!(vi.read_gicv(v::AHPPIR), 1023);
    assert!(!vi.virq() && !vi.vfiq());
    assert_eq!(vi.read_gicv(v::IAR), 1023);
}

#[test]
fn gicv_highest_pending_interrupt_skips_groups_gicv_ctlr_disables() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::CTLR, (CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value);
    vi.write_gich(gich::lr(0), lr(pending_lr(41, 0x40)));
    vi.write_gich(gich::lr(1), lr(pending_lr(40, 0x80) + LR::Grp1::SET));
    assert_eq!(vi.read_gicv(v::HPPIR), 40);
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 40);
}

#[test]
fn gicv_pmr_is_vmcr_vmprimask() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gicv(v::PMR, 0xFF);
    assert_eq!(vi.read_gicv(v::PMR), 0xF8);
    assert_eq!(VMCR::VMPriMask.read(vi.read_gich(h::VMCR)), 0x1F);
    vi.write_gich(h::VMCR, VMCR::VMPriMask.val(0x14).modify(vi.vmcr()));
    assert_eq!(vi.read_gicv(v::PMR), 0xA0);
    vi.write_gicv(v::PMR, 0x1_0007);
    assert_eq!(vi.read_gicv(v::PMR), 0);
}

#[test]
fn gicv_ctlr_is_vmcr_control_bits() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gicv(v::CTLR, !0);
    assert_eq!(vi.read_gicv(v::CTLR), 0x21F);
    assert_eq!(vi.read_gich(h::VMCR) & 0x3FF, 0x21F);
    vi.write_gich(
        h::VMCR,
        vi.vmcr() & !field_mask(&VMCR::VMGrp1En) & !field_mask(&VMCR::VEM),
    );
    assert_eq!(vi.read_gicv(v::CTLR), 0x01D);
    vi.write_gicv(v::CTLR, 0);
    assert_eq!(vi.read_gich(h::VMCR), 0x004C_0000);
}

#[test]
fn binary_points_clamp_to_the_minimum() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gicv(v::BPR, 0);
    vi.write_gicv(v::ABPR, 0);
    assert_eq!(vi.read_gicv(v::BPR), 2);
    assert_eq!(vi.read_gicv(v::ABPR), 3);
    vi.write_gicv(v::BPR, 5);
    vi.write_gicv(v::ABPR, 0xF7);
    assert_eq!(vi.read_gicv(v::BPR), 5);
    assert_eq!(vi.read_gicv(v::ABPR), 7);
    vi.write_gich(h::VMCR, 0);
    assert_eq!(vi.read_gich(h::VMCR), 0x004C_0000);
}

#[test]
fn gicv_apr0_is_gich_apr_and_apr1_3_are_raz_wi() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gicv(v::APR, 0x0001_0000);
    assert_eq!(vi.read_gich(h::APR), 0x0001_0000);
    assert_eq!(vi.read_gicv(v::RPR), 0x80);
    vi.write_gich(h::APR, 0x8000_0000);
    assert_eq!(vi.read_gicv(v::APR), 0x8000_0000);
    assert_eq!(vi.read_gicv(v::RPR), 0xF8);
    for n in 1..4 {
        vi.write_gicv(v::APR + 4 * n, !0);
        assert_eq!(vi.read_gicv(v::APR + 4 * n), 0);
    }
    assert_eq!(vi.apr(), 0x8000_0000);
}

#[test]
fn gicv_iidr_matches_gicc_iidr_of_a_gic400() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    assert_eq!(vi.read_gicv(v::IIDR), 0x0202_143B);
    assert_eq!(IIDR::ArchitectureVersion.read(GICV_IIDR), 2);
}

#[test]
fn pending_and_active_lr_is_not_a_candidate() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(
        gich::lr(0),
        lr(LR::VirtualID.val(40) + LR::Priority.val(0) + LR::State::PendingActive),
    );
    assert!(!vi.virq());
    assert_eq!(vi.read_gicv(v::HPPIR), 1023);
    assert_eq!(vi.read_gicv(v::IAR), 1023);
    assert_eq!(lr_state_of(&vi, 0), LrState::PendingActive);
    vi.write_gich(gich::lr(1), lr(pending_lr(41, 0xF0)));
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 41);
}

#[test]
fn lowest_priority_value_wins_ties_to_lowest_lr() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(50, 0x80)));
    vi.write_gich(gich::lr(1), lr(pending_lr(51, 0x40)));
    vi.write_gich(gich::lr(2), lr(pending_lr(52, 0x40)));
    vi.write_gich(gich::lr(3), lr(pending_lr(53, 0x60)));
    assert_eq!(vi.read_gicv(v::HPPIR), 51);
    assert_eq!(vi.read_gicv(v::IAR), 51);
    assert_eq!(lr_state_of(&vi, 1), LrState::Active);
    assert_eq!(vi.read_gicv(v::HPPIR), 52);
}

#[test]
fn iar_returns_1023_when_hcr_en_clear() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0)));
    vi.write_gich(h::HCR, 0);
    assert!(!vi.virq() && !vi.vfiq());
    assert_eq!(vi.read_gicv(v::HPPIR), 1023);
    assert_eq!(vi.read_gicv(v::IAR), 1023);
    assert_eq!(lr_state_of(&vi, 0), LrState::Pending);
    assert_eq!(vi.apr(), 0);
}

#[test]
fn iar_returns_1022_for_group1_with_ackctl_clear() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(
        v::CTLR,
        (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET).value,
    );
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80) + LR::Grp1::SET));
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::HPPIR), 1022);
    assert_eq!(vi.read_gicv(v::IAR), 1022);
    assert_eq!(lr_state_of(&vi, 0), LrState::Pending);
    assert_eq!(vi.apr(), 0);
    vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::AckCtl));
    assert_eq!(vi.read_gicv(v::IAR), 40);
}

#[test]
fn iar_activates_lr_and_sets_apr_bit_for_group_priority() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(2), lr(pending_lr(40, 0xA0)));
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(lr_state_of(&vi, 2), LrState::Active);
    assert_eq!(vi.read_gich(h::APR), 1 << (0xA0 >> 3));
    assert_eq!(vi.read_gicv(v::RPR), 0xA0);
    assert!(!vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 1023);
}

#[test]
fn sgi_iar_carries_lr_cpuid() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(3, 0x80) + LR::CPUID.val(5)));
    assert_eq!(vi.read_gicv(v::HPPIR), 0x1403);
    assert_eq!(vi.read_gicv(v::IAR), 0x1403);
}

#[test]
fn hw_lr_iar_carries_no_cpuid() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(
        gich::lr(0),
        lr(pending_lr(3, 0x80) + LR::HW::SET + LR::PhysicalID.val(0x1D)),
    );
    assert_eq!(vi.read_gicv(v::IAR), 3);
    // A non-SGI never carries CPUID bits either.
    vi.write_gich(gich::lr(1), lr(pending_lr(27, 0x40) + LR::CPUID.val(5)));
    assert_eq!(vi.read_gicv(v::IAR), 27);
}

#[test]
fn guest_preemption_follows_priority_and_binary_point() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::BPR, 0);
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0xA0)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.read_gicv(v::RPR), 0xA0);
    // Lower priority: visible in HPPIR but not signalled.
    vi.write_gich(gich::lr(1), lr(pending_lr(41, 0xA8)));
    assert_eq!(vi.read_gicv(v::HPPIR), 41);
    assert!(!vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 1023);
    // Higher priority preempts.
    vi.write_gich(gich::lr(2), lr(pending_lr(42, 0x90)));
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 42);
    assert_eq!(vi.read_gicv(v::RPR), 0x90);
    assert_eq!(vi.apr(), (1 << (0xA0 >> 3)) | (1 << (0x90 >> 3)));
    // Completing 42 returns to the 0xA0 level.
    vi.write_gicv(v::EOIR, 42);
    assert_eq!(vi.read_gicv(v::RPR), 0xA0);

    // With BPR 5 the group priority of 0xA0 is 0x80, and 0x90 no
    // longer preempts.
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::BPR, 5);
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0xA0)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.read_gicv(v::RPR), 0x80);
    assert_eq!(vi.apr(), 1 << (0x80 >> 3));
    vi.write_gich(gich::lr(1), lr(pending_lr(42, 0x90)));
    assert!(!vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 1023);
    vi.write_gich(gich::lr(2), lr(pending_lr(43, 0x70)));
    assert_eq!(vi.read_gicv(v::IAR), 43);
}

#[test]
fn group1_uses_abpr_unless_cbpr_is_set() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::BPR, 2);
    vi.write_gicv(v::ABPR, 7); // Group 1 group priority field [7:7]
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0xA8) + LR::Grp1::SET));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.read_gicv(v::RPR), 0x80);
    vi.write_gicv(v::EOIR, 40);
    vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::CBPR));
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0xA8) + LR::Grp1::SET));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.read_gicv(v::RPR), 0xA8);
}

#[test]
fn pmr_masks_signalling() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::PMR, 0x80);
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert!(!vi.virq());
    assert_eq!(vi.read_gicv(v::HPPIR), 1023);
    assert_eq!(vi.read_gicv(v::IAR), 1023);
    vi.write_gicv(v::PMR, 0x88);
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 40);
}

#[test]
fn lr_of_disabled_group_is_skipped() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::CTLR, (CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value);
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x00)));
    vi.write_gich(gich::lr(1), lr(pending_lr(41, 0x80) + LR::Grp1::SET));
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 41);
    vi.write_gicv(v::CTLR, CTLR::AckCtl::SET.value);
    assert!(!vi.virq() && !vi.vfiq());
    assert_eq!(vi.read_gicv(v::IAR), 1023);
}

#[test]
fn group0_goes_to_vfiq_when_fiqen_is_set() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::FIQEn));
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert!(vi.vfiq() && !vi.virq());
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80) + LR::Grp1::SET));
    assert!(vi.virq() && !vi.vfiq());
}

#[test]
fn eoi_drops_priority_and_deactivates() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.write_gicv(v::EOIR, 40), VirtEffect::default());
    assert_eq!(lr_state_of(&vi, 0), LrState::Invalid);
    assert_eq!(vi.apr(), 0);
    assert_eq!(vi.read_gicv(v::RPR), 0xFF);
    assert_eq!(vi.eoi_count(), 0);
    assert_eq!(vi.elrsr() & 1, 1);
    assert_eq!(vi.eisr(), 0);
}

#[test]
fn eoi_of_pending_and_active_lr_leaves_it_pending() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    vi.write_gich(gich::lr(0), LR::State::PendingActive.modify(vi.lr(0)));
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(lr_state_of(&vi, 0), LrState::Pending);
    assert!(vi.virq());
}

#[test]
fn eoi_with_no_matching_lr_increments_eoicount() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    // The hypervisor reclaimed the LR while the interrupt was active.
    vi.write_gich(gich::lr(0), 0);
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(vi.eoi_count(), 1);
    assert_eq!(HCR::EOICount.read(vi.read_gich(h::HCR)), 1);
    assert_eq!(vi.apr(), 0);
    // Without LRENPIE nothing is signalled; with it, LRENP is.
    assert!(!vi.maintenance());
    vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::LRENPIE));
    assert_eq!(vi.misr(), field_mask(&MISR::LRENP));
    assert!(vi.maintenance());
}

#[test]
fn eoi_without_active_priority_does_not_count() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(vi.eoi_count(), 0);
    assert_eq!(vi.apr(), 0);
}

#[test]
fn eoicount_wraps_from_31_to_0() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::EOICount));
    assert_eq!(vi.eoi_count(), 31);
    vi.write_gich(h::APR, 1);
    vi.write_gicv(v::EOIR, 99);
    assert_eq!(vi.eoi_count(), 0);
    assert!(HCR::En.is_set(vi.hcr()));
}

#[test]
fn eoi_with_special_intid_is_ignored() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(h::APR, 1);
    vi.write_gicv(v::EOIR, 1023);
    vi.write_gicv(v::EOIR, 1020);
    assert_eq!(vi.apr(), 1);
    assert_eq!(vi.eoi_count(), 0);
}

#[test]
fn hw_lr_deactivation_reports_physical_id() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(
        gich::lr(1),
        lr(pending_lr(27, 0x80) + LR::HW::SET + LR::PhysicalID.val(30)),
    );
    assert_eq!(vi.read_gicv(v::IAR), 27);
    assert_eq!(
        vi.write_gicv(v::EOIR, 27),
        VirtEffect {
            deactivate_physical: Some(30)
        }
    );
    assert_eq!(lr_state_of(&vi, 1), LrState::Invalid);
    // HW LRs never raise the EOI maintenance condition.
    assert_eq!(vi.eisr(), 0);
    assert_eq!(vi.elrsr() & 0b10, 0b10);
}

#[test]
fn hw_lr_with_special_physical_id_deactivates_only_virtually() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(
        gich::lr(0),
        lr(pending_lr(27, 0x80) + LR::HW::SET + LR::PhysicalID.val(1023)),
    );
    assert_eq!(vi.read_gicv(v::IAR), 27);
    assert_eq!(vi.write_gicv(v::EOIR, 27), VirtEffect::default());
    assert_eq!(lr_state_of(&vi, 0), LrState::Invalid);
}

#[test]
fn split_eoi_drops_priority_and_dir_deactivates() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::EOImode));
    assert!(VMCR::VEM.is_set(vi.vmcr()));
    vi.write_gich(
        gich::lr(0),
        lr(pending_lr(27, 0x80) + LR::HW::SET + LR::PhysicalID.val(27)),
    );
    assert_eq!(vi.read_gicv(v::IAR), 27);
    assert_eq!(vi.write_gicv(v::EOIR, 27), VirtEffect::default());
    assert_eq!(vi.apr(), 0);
    assert_eq!(lr_state_of(&vi, 0), LrState::Active);
    assert_eq!(
        vi.write_gicv(v::DIR, 27),
        VirtEffect {
            deactivate_physical: Some(27)
        }
    );
    assert_eq!(lr_state_of(&vi, 0), LrState::Invalid);
    assert_eq!(vi.eoi_count(), 0);
}

#[test]
fn dir_is_ignored_when_eoimode_is_clear() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.write_gicv(v::DIR, 40), VirtEffect::default());
    assert_eq!(lr_state_of(&vi, 0), LrState::Active);
    vi.write_gicv(v::DIR, 41);
    assert_eq!(vi.eoi_count(), 0);
}

#[test]
fn dir_with_no_matching_lr_increments_eoicount() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::EOImode));
    vi.write_gicv(v::DIR, 40);
    assert_eq!(vi.eoi_count(), 1);
    // A pending (not active) LR does not match either.
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    vi.write_gicv(v::DIR, 40);
    assert_eq!(vi.eoi_count(), 2);
    assert_eq!(lr_state_of(&vi, 0), LrState::Pending);
}

#[test]
fn sgi_deactivation_matches_cpuid() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(3, 0x80) + LR::CPUID.val(1)));
    vi.write_gich(gich::lr(1), lr(pending_lr(3, 0x80) + LR::CPUID.val(2)));
    assert_eq!(vi.read_gicv(v::IAR), 0x0403);
    vi.write_gich(gich::lr(1), LR::State::Active.modify(vi.lr(1)));
    vi.write_gich(h::APR, vi.apr() | 1 << 17);
    vi.write_gicv(v::EOIR, 0x0803);
    assert_eq!(lr_state_of(&vi, 0), LrState::Active);
    assert_eq!(lr_state_of(&vi, 1), LrState::Invalid);
    vi.write_gicv(v::EOIR, 0x0403);
    assert_eq!(lr_state_of(&vi, 0), LrState::Invalid);
    assert_eq!(vi.eoi_count(), 0);
}

#[test]
fn aliased_registers_serve_group1_only() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gicv(
        v::CTLR,
        (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET).value,
    );
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x40)));
    vi.write_gich(gich::lr(1), lr(pending_lr(41, 0x80) + LR::Grp1::SET));
    // Group 0 is the winner: the aliased views see nothing.
    assert_eq!(vi.read_gicv(v::AHPPIR), 1023);
    assert_eq!(vi.read_gicv(v::AIAR), 1023);
    assert_eq!(lr_state_of(&vi, 0), LrState::Pending);
    assert_eq!(vi.read_gicv(v::IAR), 40);
    vi.write_gicv(v::EOIR, 40);
    // Group 1 with AckCtl clear: IAR says 1022, AIAR acknowledges.
    assert_eq!(vi.read_gicv(v::HPPIR), 1022);
    assert_eq!(vi.read_gicv(v::IAR), 1022);
    assert_eq!(vi.read_gicv(v::AHPPIR), 41);
    assert_eq!(vi.read_gicv(v::AIAR), 41);
    assert_eq!(vi.read_gicv(v::RPR), 0x80);
    // AEOIR ignores a Group 0 interrupt, completes a Group 1 one.
    vi.write_gich(gich::lr(0), lr(LR::VirtualID.val(40) + LR::State::Active));
    vi.write_gicv(v::AEOIR, 40);
    assert_eq!(lr_state_of(&vi, 0), LrState::Active);
    assert_eq!(vi.apr(), 1 << 16);
    vi.write_gicv(v::AEOIR, 41);
    assert_eq!(lr_state_of(&vi, 1), LrState::Invalid);
    assert_eq!(vi.apr(), 0);
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(lr_state_of(&vi, 0), LrState::Invalid);
    assert_eq!(vi.eoi_count(), 0);
}
