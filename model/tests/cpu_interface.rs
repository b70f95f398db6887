//! Physical CPU interface (GICC) rules of IHI 0048B chapters 3 and 4.4,
//! and the glue between the virtual interfaces and the Distributor,
//! checked through raw register accesses on the model.

mod common;

use common::*;
use gic_driver::regs::gicc::offset as c;
use gic_driver::regs::gicc::{CTLR, IAR};
use gic_driver::regs::gicd::offset as d;
use gic_model::{ModelError, MAINTENANCE_INTID};

fn ctlr(fields: &[tock_registers::fields::FieldValue<u32, CTLR::Register>]) -> u32 {
    fields.iter().fold(0, |acc, f| acc | f.value)
}

fn iar(id: u32, cpuid: u32) -> u32 {
    (IAR::InterruptID.val(id) + IAR::CPUID.val(cpuid)).value
}

#[test]
fn iar_returns_1023_when_nothing_is_pending() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    assert_eq!(t.gicc_iar(0), 1023);
    assert_eq!(t.gicc_hppir(0), 1023);
    assert!(!t.gic.irq(0) && !t.gic.fiq(0));
}

#[test]
fn iar_acknowledges_the_highest_priority_interrupt_and_activates_it() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.pending_spi(41, 0x40);
    assert!(t.gic.irq(0));
    assert_eq!(t.gicc_hppir(0), 41);
    assert_eq!(t.gicc_iar(0), 41);
    assert!(t.gic.is_active(0, 41) && !t.gic.is_pending(0, 41));
    assert_eq!(t.gicc_rpr(0), 0x40);
    assert!(!t.gic.irq(0), "0x80 does not preempt 0x40");
}

#[test]
fn equal_priorities_go_to_the_lowest_intid() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(45, 0x80);
    t.pending_spi(41, 0x80);
    t.enable_intid(0, 20);
    t.set_priority(0, 20, 0x80);
    t.set_pending(0, 20);
    assert_eq!(t.gicc_iar(0), 20);
    t.gicc_eoir(0, 20);
    assert_eq!(t.gicc_iar(0), 41);
    t.gicc_eoir(0, 41);
    assert_eq!(t.gicc_iar(0), 45);
}

#[test]
fn ack_of_group1_with_ackctl_clear_returns_1022() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[CTLR::EnableGrp0::SET, CTLR::EnableGrp1::SET]),
    );
    t.pending_spi(40, 0x80);
    t.set_group1(0, 40);
    assert!(t.gic.irq(0));
    assert_eq!(t.gicc_hppir(0), 1022);
    assert_eq!(t.gicc_iar(0), 1022);
    assert!(t.gic.is_pending(0, 40) && !t.gic.is_active(0, 40));
    assert_eq!(t.gicc_rpr(0), 0xFF);
}

#[test]
fn ack_of_group1_with_ackctl_set_acknowledges_it() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.set_group1(0, 40);
    assert_eq!(t.gicc_iar(0), 40);
    assert!(t.gic.is_active(0, 40));
}

#[test]
fn group0_is_acknowledged_whatever_ackctl() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[CTLR::EnableGrp0::SET, CTLR::EnableGrp1::SET]),
    );
    t.pending_spi(40, 0x80);
    assert_eq!(t.gicc_iar(0), 40);
}

#[test]
fn priority_at_or_above_pmr_is_masked() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.gicc_write(0, c::PMR, 0x80);
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_hppir(0), 1023);
    assert_eq!(t.gicc_iar(0), 1023);
    t.gicc_write(0, c::PMR, 0x81);
    assert!(t.gic.irq(0));
    assert_eq!(t.gicc_hppir(0), 40);
}

#[test]
fn pmr_keeps_only_implemented_priority_bits() {
    let mut t = TestGic::new(Config {
        priority_bits: 4,
        ..Config::default()
    });
    t.gicc_write(0, c::PMR, 0xFFFF_FFFF);
    assert_eq!(t.gicc_read(0, c::PMR), 0xF0);
}

#[test]
fn ack_sets_running_priority_and_the_active_priority_bit() {
    // QEMU [V]: BPR 0, ack of a 0xA0 interrupt: RPR 0xA0, APR2 = 0x00010000.
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0xA0);
    assert_eq!(t.gicc_rpr(0), 0xFF);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0xA0);
    assert_eq!(
        (0..4).map(|n| t.gicc_apr(0, n)).collect::<Vec<_>>(),
        [0, 0, 0x0001_0000, 0]
    );
}

#[test]
fn lower_priority_pending_shows_in_hppir_but_is_not_acknowledged() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0xA0);
    assert_eq!(t.gicc_iar(0), 40);
    t.pending_spi(41, 0xA8);
    assert_eq!(t.gicc_hppir(0), 41);
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 1023);
}

#[test]
fn higher_group_priority_preempts_the_running_priority() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0xA0);
    assert_eq!(t.gicc_iar(0), 40);
    t.pending_spi(42, 0x90);
    assert!(t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 42);
    assert_eq!(t.gicc_rpr(0), 0x90);
}

#[test]
fn binary_point_5_prevents_preemption_within_a_group_priority() {
    // QEMU [V]: with BPR 5, RPR reads 0x80 and 0x90 no longer preempts.
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(0, c::BPR, 5);
    t.pending_spi(40, 0xA0);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0x80);
    t.pending_spi(42, 0x90);
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 1023);
    t.pending_spi(43, 0x70);
    assert_eq!(t.gicc_iar(0), 43);
}

#[test]
fn binary_point_7_disables_preemption() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(0, c::BPR, 7);
    t.pending_spi(40, 0xF0);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0);
    t.pending_spi(41, 0x00);
    assert!(!t.gic.irq(0));
    t.gicc_eoir(0, 40);
    assert_eq!(t.gicc_iar(0), 41);
}

#[test]
fn group1_uses_abpr_unless_cbpr_is_set() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(0, c::BPR, 0);
    t.gicc_write(0, c::ABPR, 5); // Group 1 group priority: bits [7:5]
    t.pending_spi(40, 0xB0);
    t.set_group1(0, 40);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0xA0, "ABPR 5 acts as binary point 4");
    t.gicc_eoir(0, 40);
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[
            CTLR::EnableGrp0::SET,
            CTLR::EnableGrp1::SET,
            CTLR::AckCtl::SET,
            CTLR::CBPR::SET,
        ]),
    );
    t.pending_spi(40, 0xB0);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0xB0, "CBPR: BPR 0 for Group 1 too");
}

#[test]
fn group0_ignores_abpr() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(0, c::ABPR, 7);
    t.pending_spi(40, 0xB2);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0xB2);
}

#[test]
fn binary_points_below_the_minimum_read_the_minimum() {
    let mut t = TestGic::new(Config {
        priority_bits: 5,
        ..Config::default()
    });
    assert_eq!(t.gicc_read(0, c::BPR), 2, "reset at the minimum");
    assert_eq!(t.gicc_read(0, c::ABPR), 3);
    t.gicc_write(0, c::BPR, 0);
    t.gicc_write(0, c::ABPR, 0);
    assert_eq!(t.gicc_read(0, c::BPR), 2);
    assert_eq!(t.gicc_read(0, c::ABPR), 3);
    t.gicc_write(0, c::BPR, 0xFFFF_FFFF);
    assert_eq!(t.gicc_read(0, c::BPR), 7);
    let mut t8 = TestGic::four_cpus();
    t8.gicc_write(0, c::BPR, 0);
    t8.gicc_write(0, c::ABPR, 0);
    assert_eq!((t8.gicc_read(0, c::BPR), t8.gicc_read(0, c::ABPR)), (0, 1));
}

#[test]
fn active_priority_bits_follow_the_preemption_bits() {
    // 5 priority bits: 32 preemption levels in APR0, bit = priority >> 3.
    let mut t = TestGic::new(Config {
        priority_bits: 5,
        cpus: 1,
        lines: 64,
        virtualization: None,
    });
    t.enable_all();
    t.pending_spi(40, 0xA0);
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_apr(0, 0), 1 << (0xA0 >> 3));
    t.gicc_write(0, c::APR + 4, u32::MAX);
    assert_eq!(t.gicc_apr(0, 1), 0, "APR1-3 not implemented");
    // 4 bits: 16 levels.
    let mut t4 = TestGic::new(Config {
        priority_bits: 4,
        ..Config::default()
    });
    t4.gicc_write(0, c::APR, u32::MAX);
    assert_eq!(t4.gicc_apr(0, 0), 0xFFFF);
    assert_eq!(t4.gicc_rpr(0), 0);
}

#[test]
fn rpr_is_0xff_when_idle_and_follows_restored_active_priorities() {
    let mut t = TestGic::four_cpus();
    assert_eq!(t.gicc_rpr(0), 0xFF);
    t.gicc_write(0, c::APR + 8, 0x0001_0000);
    assert_eq!(t.gicc_rpr(0), 0xA0);
    t.gicc_write(0, c::APR, 0x8000_0000);
    assert_eq!(t.gicc_rpr(0), 0x3E);
    for n in 0..4 {
        t.gicc_write(0, c::APR + 4 * n, 0);
    }
    assert_eq!(t.gicc_rpr(0), 0xFF);
    assert_eq!(t.gic.running_priority(0), 0xFF);
}

#[test]
fn eoi_in_mode_0_drops_priority_and_deactivates() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    let v = t.gicc_iar(0);
    t.gicc_eoir(0, v);
    assert_eq!(t.gicc_rpr(0), 0xFF);
    assert!(!t.gic.is_active(0, 40));
}

#[test]
fn eoi_in_mode_1_only_drops_priority_and_dir_deactivates() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[
            CTLR::EnableGrp0::SET,
            CTLR::EnableGrp1::SET,
            CTLR::AckCtl::SET,
            CTLR::EOImode::SET,
        ]),
    );
    t.pending_spi(40, 0x80);
    let v = t.gicc_iar(0);
    t.gicc_eoir(0, v);
    assert_eq!(t.gicc_rpr(0), 0xFF);
    assert!(t.gic.is_active(0, 40));
    t.set_pending(0, 40);
    assert_eq!(t.gicc_iar(0), 1023, "still active: not a candidate");
    t.gicc_dir(0, v);
    assert!(!t.gic.is_active(0, 40));
    assert_eq!(t.gicc_iar(0), 40);
}

#[test]
fn dir_with_eoimode_0_is_ignored() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    let v = t.gicc_iar(0);
    t.gicc_dir(0, v);
    assert!(t.gic.is_active(0, 40));
    assert_eq!(t.gicc_rpr(0), 0x80);
}

#[test]
fn eoir_and_dir_with_unimplemented_or_special_ids_are_ignored() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    assert_eq!(t.gicc_iar(0), 40);
    let before = t.gic.clone();
    for id in [96, 500, 1020, 1022, 1023] {
        t.gicc_eoir(0, id);
        t.gicc_dir(0, id);
    }
    assert_eq!(t.gic, before);
}

#[test]
fn eoir_without_an_active_priority_still_deactivates_in_eoimode_0() {
    // UNPREDICTABLE in the spec; the model's choice, the same on GICV.
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.set_intid_bit(0, d::ISACTIVER, 40);
    t.set_intid_bit(0, d::ISACTIVER, 41);
    assert_eq!(t.gicc_rpr(0), 0xFF, "no active priority");
    t.gicc_eoir(0, 40);
    assert!(!t.gic.is_active(0, 40), "EOImode 0: deactivated");
    assert_eq!(t.gicc_rpr(0), 0xFF);
    assert!((0..4).all(|n| t.gicc_apr(0, n) == 0));
    // EOImode 1: nothing to drop, and EOIR never deactivates.
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[
            CTLR::EnableGrp0::SET,
            CTLR::EnableGrp1::SET,
            CTLR::AckCtl::SET,
            CTLR::EOImode::SET,
        ]),
    );
    t.gicc_eoir(0, 41);
    assert!(t.gic.is_active(0, 41));
}

#[test]
fn nested_eois_drop_the_highest_active_priority_first() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0xA0);
    assert_eq!(t.gicc_iar(0), 40);
    t.pending_spi(41, 0x80);
    assert_eq!(t.gicc_iar(0), 41);
    assert_eq!(t.gicc_rpr(0), 0x80);
    t.gicc_eoir(0, 41);
    assert_eq!(t.gicc_rpr(0), 0xA0);
    assert!(t.gic.is_active(0, 40) && !t.gic.is_active(0, 41));
    t.gicc_eoir(0, 40);
    assert_eq!(t.gicc_rpr(0), 0xFF);
}

#[test]
fn level_interrupt_acknowledged_with_its_line_high_is_active_and_pending() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.set_priority(0, 40, 0x80);
    t.set_targets(40, 1);
    t.enable_intid(0, 40);
    t.gic.set_line(0, 40, true).unwrap();
    assert_eq!(t.gicc_iar(0), 40);
    assert!(t.gic.is_active(0, 40) && t.gic.is_pending(0, 40));
    t.gicc_eoir(0, 40);
    assert!(t.gic.irq(0), "still asserted: pending again once inactive");
    t.gic.set_line(0, 40, false).unwrap();
    assert!(!t.gic.irq(0));
}

#[test]
fn edge_interrupt_pending_again_while_active_waits_for_deactivation() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.set_edge_triggered(0, 40);
    t.pending_spi(40, 0x80);
    assert_eq!(t.gicc_iar(0), 40);
    t.gic.set_line(0, 40, true).unwrap();
    assert!(t.gic.is_active(0, 40) && t.gic.is_pending(0, 40));
    t.gicc_write(0, c::PMR, 0xFF);
    assert_eq!(
        t.gicc_hppir(0),
        1023,
        "active interrupts are not candidates"
    );
    t.gicc_eoir(0, 40);
    assert_eq!(t.gicc_iar(0), 40);
}

#[test]
fn sgi_acknowledge_returns_the_source_and_clears_only_that_source() {
    // QEMU [V]: SPENDSGIR1 = 0x300 (SGI 5 from CPUs 0 and 1), then IAR
    // 0x005, then 0x405.
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicd_write(0, d::SPENDSGIR + 4, 0x300);
    assert_eq!(t.gicc_hppir(0), iar(5, 0));
    let first = t.gicc_iar(0);
    assert_eq!(first, 0x005);
    assert_eq!(t.gic.sgi_sources(0, 5), 0b10);
    t.gicc_eoir(0, first);
    assert_eq!(t.gicc_hppir(0), iar(5, 1));
    assert_eq!(t.gicc_iar(0), 0x405);
    assert_eq!(t.gic.sgi_sources(0, 5), 0);
}

#[test]
fn sgi_active_state_is_per_target_cpu_not_per_source() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.send_sgi(1, 0, 0b1, 5);
    t.send_sgi(2, 0, 0b1, 5);
    t.send_sgi(2, 0, 0b10, 5);
    assert_eq!(t.gicc_iar(0), iar(5, 1));
    assert!(t.gic.is_active(0, 5) && t.gic.is_pending(0, 5));
    assert_eq!(
        t.gicc_iar(0),
        1023,
        "SGI 5 from CPU 2 waits for deactivation"
    );
    assert_eq!(t.gicc_iar(1), iar(5, 2), "other targets are independent");
    t.gicc_eoir(0, iar(5, 1));
    assert_eq!(t.gicc_iar(0), iar(5, 2));
}

#[test]
fn spi_targeting_two_cpus_is_acknowledged_by_one_only() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.set_targets(40, 0b11);
    assert!(t.gic.irq(0) && t.gic.irq(1));
    assert_eq!(t.gicc_iar(1), 40);
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 1023);
    t.gicc_eoir(1, 40);
    assert!(!t.gic.is_active(0, 40));
}

#[test]
fn group0_is_signalled_as_fiq_when_fiqen_is_set() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    let fiq = ctlr(&[
        CTLR::EnableGrp0::SET,
        CTLR::EnableGrp1::SET,
        CTLR::AckCtl::SET,
        CTLR::FIQEn::SET,
    ]);
    t.gicc_write(0, c::CTLR, fiq);
    t.pending_spi(40, 0x80);
    assert!(t.gic.fiq(0) && !t.gic.irq(0));
    t.set_group1(0, 40);
    assert!(t.gic.irq(0) && !t.gic.fiq(0), "Group 1 is always IRQ");
}

#[test]
fn outputs_need_the_group_enabled_in_gicd_and_gicc() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[CTLR::EnableGrp1::SET, CTLR::AckCtl::SET]),
    );
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 1023);
    assert_eq!(
        t.gicc_hppir(0),
        1023,
        "HPPIR honours the CPU interface enables"
    );
    t.gicc_write(0, c::CTLR, ctlr(&[CTLR::EnableGrp0::SET]));
    assert!(t.gic.irq(0));
    t.gicd_write(0, d::CTLR, 0b10);
    assert!(!t.gic.irq(0));
}

#[test]
fn hppir_reports_1023_for_a_group_the_cpu_interface_disables() {
    // Group 1 forwarded by GICD_CTLR but disabled in GICC_CTLR.
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[CTLR::EnableGrp0::SET, CTLR::AckCtl::SET]),
    );
    t.pending_spi(40, 0x80);
    t.set_group1(0, 40);
    assert_eq!(t.gicc_hppir(0), 1023);
    assert!(!t.gic.irq(0) && !t.gic.fiq(0));
    assert_eq!(t.gicc_iar(0), 1023);
    assert!(t.gic.is_pending(0, 40));
}

#[test]
fn highest_pending_interrupt_skips_groups_the_cpu_interface_disables() {
    // A more urgent Group 0 interrupt does not hide a Group 1 one while
    // only Group 1 is enabled in GICC_CTLR (and the other way round).
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(41, 0x40);
    t.pending_spi(40, 0x80);
    t.set_group1(0, 40);
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[CTLR::EnableGrp1::SET, CTLR::AckCtl::SET]),
    );
    assert_eq!(t.gicc_hppir(0), 40);
    assert!(t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 40);
    t.gicc_eoir(0, 40);
    t.gicc_write(0, c::CTLR, ctlr(&[CTLR::EnableGrp0::SET]));
    t.set_pending(0, 40);
    assert_eq!(t.gicc_hppir(0), 41);
    assert_eq!(t.gicc_iar(0), 41);
}

#[test]
fn gic_highest_pending_is_chosen_among_the_groups_the_cpu_interface_enables() {
    // Gic::highest_pending names what HPPIR and the IRQ output see.
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(41, 0x40);
    t.pending_spi(40, 0x80);
    t.set_group1(0, 40);
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[CTLR::EnableGrp1::SET, CTLR::AckCtl::SET]),
    );
    assert!(t.gic.irq(0));
    assert_eq!(t.gic.highest_pending(0), Some(40));
    t.gicc_write(0, c::CTLR, 0);
    assert_eq!(t.gic.highest_pending(0), None);
}

#[test]
fn gicc_ctlr_keeps_the_bits_defined_without_security_extensions() {
    let mut t = TestGic::four_cpus();
    t.gicc_write(0, c::CTLR, u32::MAX);
    assert_eq!(t.gicc_read(0, c::CTLR), 0x3FF);
    assert_eq!(t.gicc_read(1, c::CTLR), 0, "banked per CPU");
}

#[test]
fn gicc_byte_unaligned_aliased_and_nonsecure_registers_are_raz_wi() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    let before = t.gic.clone();
    for off in [
        c::AIAR,
        c::AEOIR,
        c::AHPPIR,
        c::NSAPR,
        c::NSAPR + 12,
        0x40,
        0xFF8,
        0x1004,
        0x2000,
    ] {
        t.gicc_write(0, off, u32::MAX);
        assert_eq!(t.gicc_read(0, off), 0, "offset {off:#x}");
    }
    assert_eq!(t.gic.read(Frame::Gicc, 0, c::IAR, Width::Byte), 0);
    assert_eq!(t.gicc_read(0, c::IAR + 1), 0);
    t.gic.write(Frame::Gicc, 0, c::PMR, Width::Byte, 0);
    assert_eq!(t.gic, before, "nothing acknowledged or changed");
}

#[test]
fn gich_and_gicv_are_raz_wi_without_virtualization() {
    let mut t = TestGic::four_cpus();
    let before = t.gic.clone();
    for off in [0x0, 0x4, 0x8, 0xC, 0x100, 0x1000] {
        t.gich_write(0, off, u32::MAX);
        t.gicv_write(0, off, u32::MAX);
        assert_eq!(t.gich_read(0, off), 0);
        assert_eq!(t.gicv_read(0, off), 0);
    }
    assert_eq!(t.gic, before);
    assert!(!t.gic.maintenance(0) && !t.gic.virq(0) && !t.gic.vfiq(0));
    assert!(t.gic.virtual_cpu_interface(0).is_none());
}

fn virt_gic() -> TestGic {
    let mut t = TestGic::qemu_virt();
    t.enable_all();
    t
}

#[test]
fn maintenance_interrupt_drives_ppi_25_of_its_cpu() {
    use gich::{offset as h, HCR};
    let mut t = virt_gic();
    t.enable_intid(1, MAINTENANCE_INTID);
    t.set_priority(1, MAINTENANCE_INTID, 0x80);
    // Underflow with no valid LR: MISR.U as soon as En and UIE are set.
    t.gich_write(1, h::HCR, (HCR::En::SET + HCR::UIE::SET).value);
    assert!(t.gic.maintenance(1) && !t.gic.maintenance(0));
    assert!(t.gic.line_level(1, MAINTENANCE_INTID));
    assert!(t.intid_bit(1, d::ISPENDR, MAINTENANCE_INTID));
    assert!(!t.intid_bit(0, d::ISPENDR, MAINTENANCE_INTID));
    assert!(t.gic.irq(1));
    assert_eq!(t.gicc_iar(1), MAINTENANCE_INTID);
    t.gich_write(1, h::HCR, 0);
    assert!(!t.gic.line_level(1, MAINTENANCE_INTID));
    assert_eq!(
        t.gic.set_line(1, MAINTENANCE_INTID, true),
        Err(ModelError::DrivenByModel(MAINTENANCE_INTID))
    );
}

#[test]
fn guest_eoi_of_a_hardware_list_register_deactivates_the_physical_interrupt() {
    let mut t = virt_gic();
    // The hypervisor takes physical SPI 40 with split EOI and leaves it active.
    t.gicc_write(
        0,
        c::CTLR,
        ctlr(&[
            CTLR::EnableGrp0::SET,
            CTLR::EnableGrp1::SET,
            CTLR::AckCtl::SET,
            CTLR::EOImode::SET,
        ]),
    );
    t.pending_spi(40, 0x80);
    assert_eq!(t.gicc_iar(0), 40);
    t.gicc_eoir(0, 40);
    assert!(t.gic.is_active(0, 40));
    // ... and forwards it as virtual 40 with HW = 1.
    t.enable_virtual_cpu_interface(0);
    t.gich_write(0, gich::lr(0), lr(pending_hw_lr(40, 40, 0x80)));
    assert!(t.gic.virq(0));
    assert_eq!(t.gicv_read(0, c::IAR), 40);
    t.gicv_write(0, c::EOIR, 40);
    assert!(!t.gic.is_active(0, 40), "guest EOI deactivated SPI 40");
}

#[test]
fn hardware_deactivation_of_a_ppi_applies_to_the_guest_cpu_only() {
    let mut t = virt_gic();
    for cpu in 0..2 {
        t.set_intid_bit(cpu, d::ISACTIVER, 27);
    }
    t.enable_virtual_cpu_interface(1);
    t.gich_write(1, gich::lr(0), lr(pending_hw_lr(27, 27, 0x80)));
    assert_eq!(t.gicv_read(1, c::IAR), 27);
    t.gicv_write(1, c::EOIR, 27);
    assert!(!t.gic.is_active(1, 27) && t.gic.is_active(0, 27));
}
