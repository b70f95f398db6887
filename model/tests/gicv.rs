//! The virtual CPU interface (GICV, IHI 0048B 5.4) over the list
//! registers of one [`VirtualInterface`], accessed directly.

mod common;

use common::*;
use gic_driver::regs::gicc::offset as v;
use gic_driver::regs::gicc::CTLR;
use gic_driver::regs::gich::LR;

#[test]
fn list_register_with_a_special_virtual_id_is_never_presented() {
    for id in 1020..=1023 {
        for grp1 in [false, true] {
            let mut vi = enabled_virtual_interface();
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
    let mut vi = enabled_virtual_interface();
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
    let mut vi = enabled_virtual_interface();
    vi.write_gicv(v::CTLR, (CTLR::EnableGrp0::SET + CTLR::AckCtl::SET).value);
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80) + LR::Grp1::SET));
    assert_eq!(vi.read_gicv(v::HPPIR), 1023);
    assert_eq!(vi.read_gicv(v::AHPPIR), 1023);
    assert!(!vi.virq() && !vi.vfiq());
    assert_eq!(vi.read_gicv(v::IAR), 1023);
}

#[test]
fn gicv_highest_pending_interrupt_skips_groups_gicv_ctlr_disables() {
    let mut vi = enabled_virtual_interface();
    vi.write_gicv(v::CTLR, (CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value);
    vi.write_gich(gich::lr(0), lr(pending_lr(41, 0x40)));
    vi.write_gich(gich::lr(1), lr(pending_lr(40, 0x80) + LR::Grp1::SET));
    assert_eq!(vi.read_gicv(v::HPPIR), 40);
    assert!(vi.virq());
    assert_eq!(vi.read_gicv(v::IAR), 40);
}
