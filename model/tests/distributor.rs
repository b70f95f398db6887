//! Distributor (GICD) rules of IHI 0048B chapter 4.3, checked through raw
//! register accesses on the model.

mod common;

use common::*;
use gic_driver::regs::gicd::offset as d;
use gic_driver::regs::gicd::{IIDR, TYPER};
use gic_model::ModelError;
use tock_registers::LocalRegisterCopy;

#[test]
fn typer_reports_lines_cpus_and_no_security_extensions() {
    let mut t = TestGic::four_cpus();
    let typer = LocalRegisterCopy::<u32, TYPER::Register>::new(t.gicd_read(0, d::TYPER));
    assert_eq!(typer.read(TYPER::ITLinesNumber), 96 / 32 - 1);
    assert_eq!(typer.read(TYPER::CPUNumber), 3);
    assert!(!typer.is_set(TYPER::SecurityExtn));
    // QEMU virt with 2 CPUs reads 0x28.
    let mut q = TestGic::qemu_virt();
    assert_eq!(q.gicd_read(0, d::TYPER), 0x28);
    let mut big = TestGic::new(Config {
        lines: 1024,
        ..Config::default()
    });
    assert_eq!(big.gicd_read(0, d::TYPER) & 0x1F, 31);
}

#[test]
fn identification_registers_name_architecture_version_2() {
    let mut t = TestGic::four_cpus();
    assert_eq!(t.gicd_read(0, d::PIDR2) >> 4 & 0xF, 2);
    assert_eq!(t.gicd_read(0, d::PIDR2), 0x2B);
    let iidr = LocalRegisterCopy::<u32, IIDR::Register>::new(t.gicd_read(0, d::IIDR));
    assert_eq!(iidr.read(IIDR::Implementer), 0x43B);
    let gicc_iidr = t.gicc_read(0, gicc::offset::IIDR);
    assert_eq!(gicc_iidr >> 16 & 0xF, 2, "GICC_IIDR.ArchitectureVersion");
    // Component ID registers read the standard preamble.
    let cidr: Vec<u32> = (0..4).map(|i| t.gicd_read(0, 0xFF0 + 4 * i)).collect();
    assert_eq!(cidr, [0x0D, 0xF0, 0x05, 0xB1]);
}

#[test]
fn ctlr_keeps_only_the_two_group_enables() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::CTLR, u32::MAX);
    assert_eq!(t.gicd_read(0, d::CTLR), 0b11);
    t.gicd_write(1, d::CTLR, 0);
    assert_eq!(t.gicd_read(3, d::CTLR), 0, "GICD_CTLR is not banked");
}

#[test]
fn sgi_enable_bits_read_as_one_and_ignore_writes() {
    let mut t = TestGic::four_cpus();
    assert_eq!(t.gicd_read(0, d::ISENABLER), 0x0000_FFFF);
    t.gicd_write(0, d::ICENABLER, 0xFFFF);
    assert_eq!(t.gicd_read(0, d::ISENABLER), 0x0000_FFFF);
    assert_eq!(t.gicd_read(0, d::ICENABLER), 0x0000_FFFF);
}

#[test]
fn isenabler_and_icenabler_set_and_clear_ppis_and_spis() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::ISENABLER, 1 << 27);
    t.gicd_write(0, d::ISENABLER + 4, 0b101);
    assert_eq!(t.gicd_read(0, d::ISENABLER), 0x0800_FFFF);
    assert_eq!(t.gicd_read(0, d::ISENABLER + 4), 0b101);
    t.gicd_write(0, d::ICENABLER + 4, 0b001);
    assert_eq!(t.gicd_read(0, d::ICENABLER + 4), 0b100);
    assert!(t.gic.is_enabled(0, 34) && !t.gic.is_enabled(0, 32));
}

#[test]
fn ispendr_and_icpendr_ignore_sgi_bits() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::ISPENDR, u32::MAX);
    assert_eq!(t.gicd_read(0, d::ISPENDR), 0xFFFF_0000);
    t.send_sgi(0, 2, 0, 3);
    assert_eq!(t.gicd_read(0, d::ISPENDR), 0xFFFF_0008);
    t.gicd_write(0, d::ICPENDR, u32::MAX);
    assert_eq!(t.gicd_read(0, d::ICPENDR), 0x0000_0008, "SGI stays pending");
}

#[test]
fn level_interrupt_is_pending_while_its_line_is_high() {
    let mut t = TestGic::four_cpus();
    t.gic.set_line(0, 40, true).unwrap();
    assert!(t.intid_bit(0, d::ISPENDR, 40));
    t.gic.set_line(0, 40, false).unwrap();
    assert!(!t.intid_bit(0, d::ISPENDR, 40));
    assert!(!t.gic.is_pending(0, 40));
}

#[test]
fn icpendr_of_level_interrupt_with_line_high_leaves_it_pending() {
    let mut t = TestGic::four_cpus();
    t.gic.set_line(0, 40, true).unwrap();
    t.set_intid_bit(0, d::ICPENDR, 40);
    assert!(t.intid_bit(0, d::ISPENDR, 40));
}

#[test]
fn ispendr_latches_level_interrupt_until_cleared() {
    let mut t = TestGic::four_cpus();
    t.set_pending(0, 40);
    assert!(t.gic.is_pending(0, 40));
    t.gic.set_line(0, 40, true).unwrap();
    t.gic.set_line(0, 40, false).unwrap();
    assert!(t.gic.is_pending(0, 40), "latched, line level irrelevant");
    t.set_intid_bit(0, d::ICPENDR, 40);
    assert!(!t.gic.is_pending(0, 40));
}

#[test]
fn edge_interrupt_latches_on_rising_edge_only() {
    let mut t = TestGic::four_cpus();
    t.set_edge_triggered(0, 40);
    t.gic.set_line(0, 40, true).unwrap();
    assert!(t.gic.is_pending(0, 40));
    t.gic.set_line(0, 40, false).unwrap();
    assert!(
        t.gic.is_pending(0, 40),
        "stays pending after the line drops"
    );
    t.set_intid_bit(0, d::ICPENDR, 40);
    assert!(!t.gic.is_pending(0, 40));
    t.gic.set_line(0, 40, false).unwrap();
    assert!(!t.gic.is_pending(0, 40), "no edge, no pending");
    // A level that stays high is one edge: clearing it is final.
    t.gic.set_line(0, 40, true).unwrap();
    t.set_intid_bit(0, d::ICPENDR, 40);
    t.gic.set_line(0, 40, true).unwrap();
    assert!(!t.gic.is_pending(0, 40));
}

#[test]
fn second_rising_edge_while_pending_is_one_event() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.set_edge_triggered(0, 40);
    t.pending_spi(40, 0x80);
    t.set_intid_bit(0, d::ICPENDR, 40);
    for _ in 0..2 {
        t.gic.set_line(0, 40, true).unwrap();
        t.gic.set_line(0, 40, false).unwrap();
    }
    assert_eq!(t.gicc_iar(0), 40);
    t.gicc_eoir(0, 40);
    assert_eq!(t.gicc_iar(0), 1023, "the two edges were one interrupt");
}

#[test]
fn ppi_state_is_banked_per_cpu() {
    let mut t = TestGic::four_cpus();
    t.enable_intid(1, 27);
    t.set_priority(1, 27, 0x40);
    t.set_group1(1, 27);
    t.set_edge_triggered(1, 27);
    t.gic.set_line(1, 27, true).unwrap();
    assert!(t.gic.is_enabled(1, 27) && !t.gic.is_enabled(0, 27));
    assert_eq!(t.gicd_read_byte(1, d::IPRIORITYR + 27), 0x40);
    assert_eq!(t.gicd_read_byte(0, d::IPRIORITYR + 27), 0);
    assert_eq!(t.gicd_read(1, d::IGROUPR), 1 << 27);
    assert_eq!(t.gicd_read(0, d::IGROUPR), 0);
    assert_eq!(t.gicd_read(1, d::ICFGR + 4) >> 22 & 0b11, 0b10);
    assert_eq!(t.gicd_read(0, d::ICFGR + 4), 0);
    assert!(t.gic.is_pending(1, 27) && !t.gic.is_pending(0, 27));
    assert!(t.gic.line_level(1, 27) && !t.gic.line_level(0, 27));
    t.set_intid_bit(2, d::ISACTIVER, 27);
    assert!(t.gic.is_active(2, 27) && !t.gic.is_active(1, 27));
}

#[test]
fn ipriorityr_masks_unimplemented_bits() {
    let mut t = TestGic::new(Config {
        priority_bits: 5,
        cpus: 2,
        ..Config::default()
    });
    t.gicd_write_byte(0, d::IPRIORITYR + 40, 0xFF);
    assert_eq!(t.gicd_read_byte(0, d::IPRIORITYR + 40), 0xF8);
    t.gicd_write(0, d::IPRIORITYR + 4, 0xFFFF_FFFF);
    assert_eq!(t.gicd_read(0, d::IPRIORITYR + 4), 0xF8F8_F8F8);
    assert_eq!(t.gic.priority(0, 5), Some(0xF8));
}

#[test]
fn ipriorityr_byte_write_leaves_neighbours_unchanged() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::IPRIORITYR + 40, 0x1122_3344);
    t.gicd_write_byte(0, d::IPRIORITYR + 42, 0xA0);
    assert_eq!(t.gicd_read(0, d::IPRIORITYR + 40), 0x11A0_3344);
    assert_eq!(t.gicd_read_byte(0, d::IPRIORITYR + 43), 0x11);
}

#[test]
fn itargetsr0_to_7_read_the_reading_cpu_mask_and_ignore_writes() {
    let mut t = TestGic::four_cpus();
    for cpu in 0..4u8 {
        assert_eq!(t.gicd_read(cpu, d::ITARGETSR), 0x0101_0101 << cpu);
        assert_eq!(t.gicd_read_byte(cpu, d::ITARGETSR + 31), 1 << cpu);
    }
    t.gicd_write(0, d::ITARGETSR + 16, 0x0F0F_0F0F);
    assert_eq!(t.gicd_read(0, d::ITARGETSR + 16), 0x0101_0101);
}

#[test]
fn itargetsr_spi_writes_are_masked_to_present_cpus() {
    let mut t = TestGic::four_cpus();
    t.gicd_write_byte(0, d::ITARGETSR + 40, 0xFF);
    assert_eq!(t.gicd_read_byte(0, d::ITARGETSR + 40), 0x0F);
    t.gicd_write(1, d::ITARGETSR + 44, 0x0102_0408);
    assert_eq!(t.gicd_read(2, d::ITARGETSR + 44), 0x0102_0408);
}

#[test]
fn itargetsr_is_raz_wi_on_a_uniprocessor_gic_and_spis_reach_cpu_0() {
    let mut t = TestGic::new(Config::default());
    assert_eq!(t.gicd_read(0, d::ITARGETSR), 0);
    t.gicd_write_byte(0, d::ITARGETSR + 40, 1);
    assert_eq!(t.gicd_read_byte(0, d::ITARGETSR + 40), 0);
    t.enable_all();
    t.enable_intid(0, 40);
    t.set_pending(0, 40);
    assert_eq!(t.gicc_iar(0), 40);
}

#[test]
fn icfgr0_reads_0xaaaaaaaa_and_is_read_only() {
    let mut t = TestGic::four_cpus();
    assert_eq!(t.gicd_read(0, d::ICFGR), 0xAAAA_AAAA);
    t.gicd_write(0, d::ICFGR, 0);
    assert_eq!(t.gicd_read(0, d::ICFGR), 0xAAAA_AAAA);
}

#[test]
fn icfgr_edge_bits_of_ppis_and_spis_are_programmable_and_bit0_is_reserved() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::ICFGR + 4, u32::MAX);
    assert_eq!(t.gicd_read(0, d::ICFGR + 4), 0xAAAA_AAAA);
    t.gicd_write(0, d::ICFGR + 8, 0x5555_5555);
    assert_eq!(t.gicd_read(0, d::ICFGR + 8), 0);
    t.gicd_write(0, d::ICFGR + 8, 0x0000_0008);
    assert_eq!(t.gicd_read(0, d::ICFGR + 8), 0x0000_0008);
}

#[test]
fn sgir_target_list_sets_the_source_bit_on_listed_cpus_only() {
    let mut t = TestGic::four_cpus();
    t.send_sgi(2, 0, 0b0101, 7);
    assert_eq!(t.gic.sgi_sources(0, 7), 1 << 2);
    assert_eq!(t.gic.sgi_sources(2, 7), 1 << 2);
    assert_eq!(t.gic.sgi_sources(1, 7), 0);
    assert_eq!(t.gic.sgi_sources(3, 7), 0);
    assert_eq!(t.gicd_read_byte(0, d::SPENDSGIR + 7), 1 << 2);
}

#[test]
fn sgir_all_but_self_excludes_the_sender() {
    let mut t = TestGic::four_cpus();
    t.send_sgi(1, 1, 0, 3);
    let targets: Vec<bool> = (0..4).map(|c| t.gic.is_pending(c, 3)).collect();
    assert_eq!(targets, [true, false, true, true]);
}

#[test]
fn sgir_self_targets_the_sender_only() {
    let mut t = TestGic::four_cpus();
    t.send_sgi(3, 2, 0xFF, 1);
    let targets: Vec<u8> = (0..4).map(|c| t.gic.sgi_sources(c, 1)).collect();
    assert_eq!(targets, [0, 0, 0, 1 << 3]);
}

#[test]
fn sgir_reserved_filter_does_nothing() {
    let mut t = TestGic::four_cpus();
    t.send_sgi(0, 3, 0xFF, 1);
    assert!((0..4).all(|c| !t.gic.is_pending(c, 1)));
}

#[test]
fn sgir_ignores_absent_cpus_in_the_list_and_reads_as_zero() {
    let mut t = TestGic::four_cpus();
    t.send_sgi(0, 0, 0xF0, 1);
    assert!((0..4).all(|c| !t.gic.is_pending(c, 1)));
    t.send_sgi(0, 0, 0x12, 1);
    assert_eq!(t.gicd_read_byte(1, d::SPENDSGIR + 1), 1);
    assert_eq!(t.gicd_read(0, d::SGIR), 0, "GICD_SGIR is write-only");
}

#[test]
fn spendsgir_and_cpendsgir_are_banked_per_target_cpu() {
    let mut t = TestGic::four_cpus();
    t.gicd_write_byte(1, d::SPENDSGIR + 5, 0xFF);
    assert_eq!(
        t.gicd_read_byte(1, d::SPENDSGIR + 5),
        0x0F,
        "absent sources ignored"
    );
    assert_eq!(t.gicd_read_byte(0, d::SPENDSGIR + 5), 0);
    assert_eq!(t.gicd_read(1, d::CPENDSGIR + 4), 0x0000_0F00);
    t.gicd_write_byte(1, d::CPENDSGIR + 5, 0b0110);
    assert_eq!(t.gicd_read_byte(1, d::SPENDSGIR + 5), 0b1001);
    t.gicd_write(1, d::CPENDSGIR + 4, 0xFFFF_FFFF);
    assert!(!t.gic.is_pending(1, 5));
}

#[test]
fn byte_access_outside_the_byte_registers_is_raz_wi() {
    let mut t = TestGic::four_cpus();
    t.gicd_write_byte(0, d::CTLR, 0b11);
    assert_eq!(t.gicd_read(0, d::CTLR), 0);
    t.gicd_write_byte(0, d::ISENABLER + 5, 0xFF);
    assert_eq!(t.gicd_read(0, d::ISENABLER + 4), 0);
    t.gicd_write(0, d::CTLR, 0b11);
    assert_eq!(t.gicd_read_byte(0, d::CTLR), 0);
    assert_eq!(t.gicd_read_byte(0, d::TYPER), 0);
    assert_eq!(t.gicd_read_byte(0, d::ICFGR), 0);
}

#[test]
fn unaligned_word_access_is_raz_wi() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::IPRIORITYR + 41, u32::MAX);
    assert_eq!(t.gicd_read(0, d::IPRIORITYR + 40), 0);
    t.gicd_write(0, d::IPRIORITYR + 40, 0x1122_3344);
    assert_eq!(t.gicd_read(0, d::IPRIORITYR + 41), 0);
    assert_eq!(t.gicd_read(0, d::TYPER + 1), 0);
}

#[test]
fn reserved_offsets_read_as_zero_and_ignore_writes() {
    let mut t = TestGic::four_cpus();
    let before = t.gic.clone();
    for off in [
        0x00C, 0x040, 0x07C, 0xD00, 0xEFC, 0xF04, 0xF30, 0xFCC, 0x1000, 0x1FFC,
    ] {
        t.gicd_write(0, off, u32::MAX);
        assert_eq!(t.gicd_read(0, off), 0, "offset {off:#x}");
    }
    for off in [usize::MAX, usize::MAX - 3, 1 << 40] {
        t.gicd_write(0, off, u32::MAX);
        t.gicd_write_byte(0, off, 0xFF);
        assert_eq!(t.gicd_read(0, off), 0);
    }
    assert_eq!(t.gic, before);
}

#[test]
fn registers_of_unimplemented_intids_are_raz_wi() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::ISENABLER + 12, u32::MAX); // INTIDs 96-127
    assert_eq!(t.gicd_read(0, d::ISENABLER + 12), 0);
    t.gicd_write_byte(0, d::IPRIORITYR + 100, 0xFF);
    assert_eq!(t.gicd_read_byte(0, d::IPRIORITYR + 100), 0);
    // 1024 lines: INTIDs 1020-1023 are not interrupts.
    let mut big = TestGic::new(Config {
        lines: 1024,
        cpus: 2,
        ..Config::default()
    });
    big.gicd_write(0, d::ISENABLER + 124, u32::MAX);
    assert_eq!(big.gicd_read(0, d::ISENABLER + 124), 0x0FFF_FFFF);
    big.gicd_write(0, d::IPRIORITYR + 1020, u32::MAX);
    assert_eq!(big.gicd_read(0, d::IPRIORITYR + 1020), 0);
}

#[test]
fn isactiver_and_icactiver_set_and_clear_active() {
    let mut t = TestGic::four_cpus();
    t.gicd_write(0, d::ISACTIVER + 4, 0b11);
    t.gicd_write(0, d::ISACTIVER, 0b1);
    assert_eq!(t.gicd_read(0, d::ICACTIVER + 4), 0b11);
    assert!(t.gic.is_active(0, 0) && !t.gic.is_active(1, 0));
    t.gicd_write(0, d::ICACTIVER + 4, 0b01);
    assert_eq!(t.gicd_read(0, d::ISACTIVER + 4), 0b10);
}

#[test]
fn set_line_rejects_sgis_unimplemented_lines_and_absent_cpus() {
    let mut t = TestGic::four_cpus();
    assert_eq!(t.gic.set_line(0, 3, true), Err(ModelError::IsAnSgi(3)));
    assert_eq!(
        t.gic.set_line(0, 96, true),
        Err(ModelError::NotImplemented {
            intid: 96,
            lines: 96
        })
    );
    assert_eq!(t.gic.set_line(4, 20, true), Err(ModelError::InvalidCpu(4)));
    assert_eq!(
        t.gic.set_line(200, 40, true),
        Ok(()),
        "cpu ignored for SPIs"
    );
    assert!(t.gic.line_level(0, 40));
}

#[test]
fn pending_spi_follows_its_targets_when_retargeted() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    assert!(t.gic.irq(0) && !t.gic.irq(1));
    t.set_targets(40, 0b10);
    assert!(!t.gic.irq(0) && t.gic.irq(1));
    assert_eq!(t.gicc_iar(1), 40);
}

#[test]
fn group_disabled_in_gicd_ctlr_is_not_forwarded() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.set_group1(0, 40);
    t.gicd_write(0, d::CTLR, 0b01); // Group 0 only
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_hppir(0), 1023);
    assert_eq!(t.gicc_iar(0), 1023);
    t.gicd_write(0, d::CTLR, 0b10);
    assert!(t.gic.irq(0));
}

#[test]
fn disabled_interrupt_can_be_pending_but_is_not_forwarded() {
    let mut t = TestGic::four_cpus();
    t.enable_all();
    t.pending_spi(40, 0x80);
    t.set_intid_bit(0, d::ICENABLER, 40);
    assert!(t.gic.is_pending(0, 40));
    assert!(!t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 1023);
}

#[test]
fn accesses_by_absent_cpus_read_zero_and_change_nothing() {
    let mut t = TestGic::four_cpus();
    let before = t.gic.clone();
    t.gicd_write(4, d::CTLR, 0b11);
    t.gicd_write(200, d::ISENABLER + 4, u32::MAX);
    assert_eq!(t.gicd_read(4, d::TYPER), 0);
    assert_eq!(t.gicc_read(7, gicc::offset::IAR), 0);
    assert_eq!(t.gic, before);
}
