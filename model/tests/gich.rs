//! GICH, the virtual interface control registers (IHI 0048B 5.3), of one
//! [`VirtualCpuInterface`] accessed directly: reset values and reserved bits,
//! the computed status (GICH_MISR, EISR, ELRSR) and maintenance output, and
//! saved records.

mod common;

use common::*;
use gic_driver::regs::field_mask;
use gic_driver::regs::gicc::offset as v;
use gic_driver::regs::gicc::CTLR;
use gic_driver::regs::gich::offset as h;
use gic_driver::regs::gich::{HCR, LR, MAX_LIST_REGISTERS, MISR, VTR};
use gic_driver::snapshot::{SnapshotError, VcpuRecord};
use gic_model::virtual_interface::GICV_IIDR;

#[test]
fn reset_state_matches_gic400_reset_values() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    assert_eq!(vi.read_gich(h::HCR), 0);
    assert_eq!(vi.read_gich(h::VTR), 0x9000_0003);
    assert_eq!(vi.read_gich(h::VMCR), 0x004C_0000);
    assert_eq!(vi.read_gich(h::MISR), 0);
    assert_eq!(vi.read_gich(h::EISR), 0);
    assert_eq!(vi.read_gich(h::ELRSR), 0xF);
    assert_eq!(vi.read_gich(h::ELRSR + 4), 0);
    assert_eq!(vi.read_gich(h::APR), 0);
    assert_eq!(vi.read_gicv(v::BPR), 2);
    assert_eq!(vi.read_gicv(v::ABPR), 3);
    assert_eq!(vi.read_gicv(v::RPR), 0xFF);
    assert_eq!(vi.read_gicv(v::IAR), 1023);
    assert!(!vi.maintenance() && !vi.virq() && !vi.vfiq());
}

#[test]
fn reset_restores_reset_state() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    vi.write_gich(h::APR, 5);
    vi.reset();
    assert_eq!(vi, VirtualCpuInterface::new(VirtConfig::QEMU));
}

#[test]
fn vtr_encodes_64_lrs_in_six_bits() {
    let vi = VirtualCpuInterface::new(VirtConfig {
        list_registers: 64,
        ..VirtConfig::QEMU
    });
    let vtr = vi.read_gich(h::VTR);
    assert_eq!(VTR::ListRegs.read(vtr), 63);
    assert_eq!(vtr & 0x3F, 0x3F);
    assert_eq!(VTR::PREbits.read(vtr), 4);
    assert_eq!(VTR::PRIbits.read(vtr), 4);
    assert_eq!(vi.elrsr(), u64::MAX);
    assert_eq!(vi.read_gich(h::ELRSR + 4), 0xFFFF_FFFF);
}

#[test]
fn config_is_normalized_into_architectural_ranges() {
    let vi = VirtualCpuInterface::new(VirtConfig {
        list_registers: 200,
        priority_bits: 2,
        preemption_bits: 9,
        np_counts_pending_active: true,
    });
    assert_eq!(
        vi.config(),
        VirtConfig {
            list_registers: 64,
            priority_bits: 5,
            preemption_bits: 5,
            np_counts_pending_active: true,
        }
    );
    let vi = VirtualCpuInterface::new(VirtConfig {
        list_registers: 0,
        priority_bits: 6,
        preemption_bits: 8,
        np_counts_pending_active: false,
    });
    assert_eq!(vi.config().list_registers, 1);
    assert_eq!(vi.config().priority_bits, 5);
    assert_eq!(vi.config().preemption_bits, 5);
}

#[test]
fn hcr_reserved_bits_read_as_zero() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gich(h::HCR, !0);
    assert_eq!(vi.read_gich(h::HCR), 0xF800_00FF);
    assert_eq!(vi.eoi_count(), 31);
}

#[test]
fn lr_reserved_bits_read_as_zero() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gich(gich::lr(3), !0);
    assert_eq!(vi.read_gich(gich::lr(3)), 0xFF8F_FFFF);
}

#[test]
fn lrs_beyond_count_are_raz_wi() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gich(gich::lr(4), lr(pending_lr(40, 0)));
    vi.write_gich(gich::lr(63), !0);
    assert_eq!(vi.read_gich(gich::lr(4)), 0);
    assert_eq!(vi.read_gich(gich::lr(63)), 0);
    assert_eq!(vi.lr(4), 0);
    assert_eq!(vi, VirtualCpuInterface::new(VirtConfig::QEMU));
}

#[test]
fn read_only_unknown_and_unaligned_offsets_are_raz_wi() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    let reset = vi.clone();
    for off in [
        h::VTR,
        h::MISR,
        h::EISR,
        h::ELRSR,
        0x00C,
        0x0EC,
        0x200,
        0xFFC,
        0x1000,
        0x101,
        usize::MAX,
        usize::MAX - 3,
    ] {
        vi.write_gich(off, !0);
    }
    assert_eq!(vi.read_gich(h::VTR), 0x9000_0003);
    assert_eq!(vi.read_gich(0x00C), 0);
    assert_eq!(vi.read_gich(h::HCR + 1), 0);
    assert_eq!(vi.read_gich(usize::MAX), 0);
    assert_eq!(vi.read_gich(usize::MAX - 3), 0);
    for off in [
        v::IAR,
        v::RPR,
        v::HPPIR,
        v::AIAR,
        v::AHPPIR,
        v::IIDR,
        v::APR + 4,
        v::NSAPR,
        0x2C,
        0x3,
        0x2000,
        usize::MAX,
        usize::MAX - 3,
    ] {
        assert_eq!(vi.write_gicv(off, !0), VirtEffect::default());
        assert_eq!(
            vi.read_gicv(off),
            if off == v::IIDR {
                GICV_IIDR
            } else if off == v::IAR || off == v::HPPIR || off == v::AIAR || off == v::AHPPIR {
                1023
            } else if off == v::RPR {
                0xFF
            } else {
                0
            }
        );
    }
    assert_eq!(vi.read_gicv(v::EOIR), 0);
    assert_eq!(vi.read_gicv(v::DIR), 0);
    assert_eq!(vi.read_gicv(v::CTLR + 1), 0);
    assert_eq!(vi, reset);
}

#[test]
fn eoi_bit_lr_raises_eoi_maintenance_after_deactivation() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80) + LR::EOI::SET));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.eisr(), 0);
    assert!(!vi.maintenance());
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(vi.read_gich(h::EISR), 1);
    assert_eq!(vi.read_gich(h::ELRSR) & 1, 0);
    assert_eq!(vi.read_gich(h::MISR), 1);
    assert!(vi.maintenance());
    // The hypervisor clears the LR: the condition goes away.
    vi.write_gich(gich::lr(0), 0);
    assert_eq!(vi.read_gich(h::MISR), 0);
    assert_eq!(vi.read_gich(h::ELRSR) & 1, 1);
    assert!(!vi.maintenance());
}

#[test]
fn np_condition_clears_when_lr_refilled() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::NPIE));
    assert_eq!(vi.misr(), field_mask(&MISR::NP));
    assert!(vi.maintenance());
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.misr(), 0);
    assert!(!vi.maintenance());
    // Once acknowledged (every LR active) NP is back.
    assert_eq!(vi.read_gicv(v::IAR), 40);
    assert_eq!(vi.misr(), field_mask(&MISR::NP));
    // Pending+active is not "pending".
    vi.write_gich(gich::lr(0), LR::State::PendingActive.modify(vi.lr(0)));
    assert_eq!(vi.misr(), field_mask(&MISR::NP));
}

#[test]
fn np_ignores_pending_and_active_list_registers_by_default() {
    // IHI 0048B 5.3.4: NP while no list register is in the pending state;
    // pending+active (0b11) is another state.
    const { assert!(!VirtConfig::QEMU.np_counts_pending_active) };
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::NPIE));
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.misr(), 0);
    vi.write_gich(gich::lr(0), LR::State::PendingActive.modify(vi.lr(0)));
    assert_eq!(vi.misr(), field_mask(&MISR::NP));
    assert!(vi.maintenance());
}

#[test]
fn np_counts_pending_and_active_list_registers_when_configured() {
    let config = VirtConfig {
        np_counts_pending_active: true,
        ..VirtConfig::QEMU
    };
    let mut t = TestGic::new(Config::qemu_virt(1).with_virtualization(Some(config)));
    t.enable_virtual_cpu_interface(0);
    t.gich_write(0, h::HCR, (HCR::En::SET + HCR::NPIE::SET).value);
    assert_eq!(t.gich_read(0, h::MISR), field_mask(&MISR::NP));
    let pending_active = LR::State::PendingActive.modify(lr(pending_lr(40, 0x80)));
    t.gich_write(0, gich::lr(0), pending_active);
    assert_eq!(
        t.gich_read(0, h::MISR),
        0,
        "pending+active counts as pending"
    );
    assert!(!t.gic.maintenance(0));
    // Active alone still does not.
    t.gich_write(0, gich::lr(0), LR::State::Active.modify(pending_active));
    assert_eq!(t.gich_read(0, h::MISR), field_mask(&MISR::NP));
    assert!(t.gic.maintenance(0));
    // The choice survives a snapshot round trip of the model.
    let bytes = snapshot_bytes(&t.gic);
    t.gic.set_from_bytes(&bytes).unwrap();
    assert_eq!(t.gic.config().virtualization, Some(config));
}

#[test]
fn underflow_condition_needs_at_most_one_valid_lr() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::UIE));
    assert_eq!(vi.misr(), field_mask(&MISR::U));
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    assert_eq!(vi.misr(), field_mask(&MISR::U));
    vi.write_gich(gich::lr(3), lr(pending_lr(41, 0x80)));
    assert_eq!(vi.misr(), 0);
    assert_eq!(vi.read_gicv(v::IAR), 40);
    vi.write_gicv(v::EOIR, 40);
    assert_eq!(vi.misr(), field_mask(&MISR::U));
}

#[test]
fn group_enable_conditions_track_gicv_ctlr() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    let ie = (HCR::En::SET
        + HCR::VGrp0EIE::SET
        + HCR::VGrp0DIE::SET
        + HCR::VGrp1EIE::SET
        + HCR::VGrp1DIE::SET)
        .value;
    vi.write_gich(h::HCR, ie);
    assert_eq!(
        vi.misr(),
        field_mask(&MISR::VGrp0D) | field_mask(&MISR::VGrp1D)
    );
    vi.write_gicv(v::CTLR, CTLR::EnableGrp0::SET.value);
    assert_eq!(
        vi.misr(),
        field_mask(&MISR::VGrp0E) | field_mask(&MISR::VGrp1D)
    );
    vi.write_gicv(v::CTLR, CTLR::EnableGrp1::SET.value);
    assert_eq!(
        vi.misr(),
        field_mask(&MISR::VGrp0D) | field_mask(&MISR::VGrp1E)
    );
    assert!(vi.maintenance());
}

#[test]
fn maintenance_requires_hcr_en() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gich(h::HCR, field_mask(&HCR::NPIE));
    assert_eq!(vi.read_gich(h::MISR), field_mask(&MISR::NP));
    assert!(!vi.maintenance());
    vi.write_gich(h::HCR, field_mask(&HCR::NPIE) | field_mask(&HCR::En));
    assert!(vi.maintenance());
}

#[test]
fn record_holds_registers_and_implemented_lrs_only() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80) + LR::EOI::SET));
    vi.write_gich(gich::lr(3), lr(pending_lr(41, 0x88)));
    assert_eq!(vi.read_gicv(v::IAR), 40);
    let r = vi.to_record();
    assert_eq!(r.hcr, vi.hcr());
    assert_eq!(r.vmcr, vi.vmcr());
    assert_eq!(r.apr, 1 << 16);
    assert_eq!(r.lr_count, 4);
    assert_eq!(&r.lrs[..4], &[vi.lr(0), 0, 0, vi.lr(3)]);
    assert!(r.lrs[4..].iter().all(|&x| x == 0));
    let mut other = VirtualCpuInterface::new(VirtConfig::QEMU);
    other.set_record(&r).unwrap();
    assert_eq!(other, vi);
}

#[test]
fn eisr_elrsr_misr_are_recomputed_after_restore() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    let mut r = VcpuRecord {
        hcr: (HCR::En::SET + HCR::NPIE::SET + HCR::LRENPIE::SET + HCR::EOICount.val(2)).value,
        vmcr: 0x004C_0000,
        apr: 0,
        lr_count: 4,
        ..VcpuRecord::default()
    };
    r.lrs[0] = lr(LR::VirtualID.val(40) + LR::EOI::SET); // invalid, EOI
    r.lrs[1] = lr(LR::VirtualID.val(41) + LR::State::Active);
    r.lrs[2] = lr(LR::VirtualID.val(42) + LR::HW::SET + LR::PhysicalID.val(42));
    vi.set_record(&r).unwrap();
    assert_eq!(vi.read_gich(h::EISR), 0b0001);
    assert_eq!(vi.read_gich(h::ELRSR), 0b1100);
    assert_eq!(
        vi.read_gich(h::MISR),
        field_mask(&MISR::EOI) | field_mask(&MISR::LRENP) | field_mask(&MISR::NP)
    );
    assert!(vi.maintenance());
    // A second restore replaces everything derived as well.
    r.lrs = [0; MAX_LIST_REGISTERS];
    r.hcr = HCR::En::SET.value;
    vi.set_record(&r).unwrap();
    assert_eq!(vi.read_gich(h::EISR), 0);
    assert_eq!(vi.read_gich(h::ELRSR), 0xF);
    assert_eq!(vi.read_gich(h::MISR), 0);
}

#[test]
fn set_record_rejects_more_lrs_than_implemented_and_changes_nothing() {
    let mut vi = enabled_virtual_cpu_interface();
    vi.write_gich(gich::lr(0), lr(pending_lr(40, 0x80)));
    let before = vi.clone();
    let r = VcpuRecord {
        lr_count: 5,
        ..VcpuRecord::default()
    };
    assert_eq!(vi.set_record(&r), Err(SnapshotError::ConfigMismatch));
    let r = VcpuRecord {
        lr_count: 65,
        ..VcpuRecord::default()
    };
    assert_eq!(vi.set_record(&r), Err(SnapshotError::Oversized));
    assert_eq!(vi, before);
}

#[test]
fn set_record_with_fewer_lrs_leaves_the_rest_invalid() {
    let mut vi = enabled_virtual_cpu_interface();
    for n in 0..4 {
        vi.write_gich(gich::lr(n), lr(pending_lr(40 + n as u32, 0x80)));
    }
    let mut r = VcpuRecord {
        hcr: HCR::En::SET.value,
        vmcr: 0x004C_0000,
        lr_count: 2,
        ..VcpuRecord::default()
    };
    r.lrs[0] = lr(pending_lr(50, 0x10));
    r.lrs[1] = lr(pending_lr(51, 0x20));
    r.lrs[2] = lr(pending_lr(52, 0x30)); // beyond lr_count: not loaded
    vi.set_record(&r).unwrap();
    assert_eq!(vi.lr(0), r.lrs[0]);
    assert_eq!(vi.lr(1), r.lrs[1]);
    assert_eq!(vi.lr(2), 0);
    assert_eq!(vi.lr(3), 0);
    assert_eq!(vi.elrsr(), 0b1100);
}

#[test]
fn set_record_masks_reserved_bits_and_clamps_binary_points() {
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    let mut r = VcpuRecord {
        hcr: !0,
        vmcr: 0x0000_FC00,
        apr: 0x8000_0001,
        lr_count: 1,
        ..VcpuRecord::default()
    };
    r.lrs[0] = !0;
    vi.set_record(&r).unwrap();
    assert_eq!(vi.hcr(), 0xF800_00FF);
    assert_eq!(vi.vmcr(), 0x004C_0000);
    assert_eq!(vi.apr(), 0x8000_0001);
    assert_eq!(vi.lr(0), 0xFF8F_FFFF);
}

#[test]
fn a_record_sets_a_larger_interface() {
    let mut small = enabled_virtual_cpu_interface();
    small.write_gich(gich::lr(3), lr(pending_lr(40, 0x80)));
    let mut big = VirtualCpuInterface::new(VirtConfig {
        list_registers: 64,
        ..VirtConfig::QEMU
    });
    big.set_record(&small.to_record()).unwrap();
    assert_eq!(big.lr(3), small.lr(3));
    assert_eq!(big.elrsr(), !(1u64 << 3));
    assert_eq!(big.read_gicv(v::IAR), 40);
}
