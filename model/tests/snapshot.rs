//! Model snapshots: round trips, compatibility (older writers, unknown
//! sections), refusal of foreign or damaged input without any change, vCPU
//! records, and the golden files in `tests/golden/`.
//!
//! Regenerate the golden files after an intended format or model change
//! with `GIC_MODEL_BLESS=1 cargo test -p gic-model --test snapshot`.

mod common;

use std::path::PathBuf;

use common::*;
use gic_driver::regs::gicc::offset as c;
use gic_driver::regs::gicd::offset as d;
use gic_driver::regs::gich::{offset as h, HCR, LR, VMCR};
use gic_driver::snapshot::{tag, SnapshotError, VcpuRecord, Writer};
use gic_model::{ModelError, VirtConfig, MAINTENANCE_INTID, MAX_SNAPSHOT_LEN};

/// Physical state exercising every saved field: groups, enables, pending
/// latches and line levels, active, priorities, targets, triggers, SGI
/// sources, CPU interface control, PMR, binary points, active priorities.
fn physical_state(t: &mut TestGic) {
    let cpus = t.gic.config().cpus;
    t.enable_all();
    t.gicc_write(0, c::BPR, 3);
    t.gicc_write(0, c::ABPR, 4);
    t.gicc_write(1 % cpus, c::PMR, 0xE0);
    for (i, id) in [33u32, 40, 47, 63].into_iter().enumerate() {
        t.set_priority(0, id, 0x20 * (i as u8 + 1));
        t.set_targets(id, if cpus > 1 { 0b11 } else { 1 });
        t.enable_intid(0, id);
    }
    t.set_group1(0, 47);
    t.set_edge_triggered(0, 63);
    t.gic.set_line(0, 63, true).unwrap();
    t.gic.set_line(0, 47, true).unwrap();
    t.set_pending(0, 33);
    t.enable_intid(0, 27);
    t.set_priority(0, 27, 0x10);
    t.gic.set_line(0, 27, true).unwrap();
    // CPU 0 takes PPI 27 (active and pending: its line stays high) and
    // SPI 33, nested.
    assert_eq!(t.gicc_iar(0), 27);
    t.set_priority(0, 27, 0x60);
    t.set_priority(0, 33, 0x08);
    assert_eq!(t.gicc_iar(0), 33);
    t.set_intid_bit(0, d::ISACTIVER, 50);
    t.send_sgi(0, 0, 0xFF, 2);
    t.send_sgi(cpus - 1, 1, 0, 9);
}

/// Virtual interface state on top: CPU 0 runs a guest with two LRs, one
/// acknowledged; CPU 1 (if any) has an underflow maintenance interrupt.
fn virtual_state(t: &mut TestGic) {
    let vmcr = VMCR::VMGrp0En::SET + VMCR::VMGrp1En::SET + VMCR::VMAckCtl::SET;
    t.gich_write(0, h::HCR, (HCR::En::SET + HCR::NPIE::SET).value);
    t.gich_write(0, h::VMCR, (vmcr + VMCR::VMPriMask.val(0x1E)).value);
    let lr0 = LR::VirtualID.val(40)
        + LR::PhysicalID.val(40)
        + LR::Priority.val(0x04)
        + LR::State::Pending
        + LR::HW::SET;
    let lr1 = LR::VirtualID.val(3)
        + LR::CPUID.val(1)
        + LR::Priority.val(0x08)
        + LR::State::Pending
        + LR::EOI::SET
        + LR::Grp1::SET;
    t.gich_write(0, gich::lr(0), lr0.value);
    t.gich_write(0, gich::lr(1), lr1.value);
    assert_eq!(t.gicv_read(0, c::IAR), 40);
    if t.gic.config().cpus > 1 {
        t.gich_write(1, h::HCR, (HCR::En::SET + HCR::UIE::SET).value);
        t.enable_intid(1, MAINTENANCE_INTID);
    }
}

fn physical_visible(t: &mut TestGic) {
    assert_eq!(t.gicd_read(0, d::CTLR), 0b11);
    assert!(t.gic.is_active(0, 27) && t.gic.is_pending(0, 27));
    assert!(t.gic.is_active(0, 33) && !t.gic.is_pending(0, 33));
    assert!(t.gic.is_active(0, 50));
    assert!(t.gic.is_pending(0, 63), "edge latched");
    assert!(t.gic.line_level(0, 47) && t.gic.is_pending(0, 47));
    assert_eq!(t.gicd_read_byte(0, d::IPRIORITYR + 40), 0x40);
    assert_eq!(t.gicd_read(0, d::ICFGR + 12) >> 30, 0b10, "SPI 63 edge");
    assert!(t.intid_bit(0, d::IGROUPR, 47));
    assert_eq!(t.gic.sgi_sources(0, 2), 1);
    assert_eq!(t.gicc_read(0, c::BPR), 3);
    assert_eq!(t.gicc_read(0, c::ABPR), 4);
    assert_eq!(t.gicc_rpr(0), 0x00, "SPI 33 at 0x08 with BPR 3");
    assert_ne!(t.gicc_apr(0, 0), 0);
}

fn qemu_physical() -> Config {
    Config::qemu_virt(2).with_virtualization(None)
}

fn wide_five_bits() -> Config {
    Config {
        cpus: 4,
        lines: 1024,
        priority_bits: 5,
        virtualization: None,
    }
}

fn build(config: Config) -> TestGic {
    let mut t = TestGic::new(config);
    physical_state(&mut t);
    if config.virtualization.is_some() {
        virtual_state(&mut t);
    }
    t
}

#[test]
fn round_trip_restores_an_equal_model() {
    for config in [
        qemu_physical(),
        wide_five_bits(),
        Config::qemu_virt(2),
        Config::default(),
    ] {
        let t = build(config);
        let bytes = snapshot_bytes(&t.gic);
        let mut fresh = Gic::new(config).unwrap();
        fresh.set_from_bytes(&bytes).unwrap();
        assert_eq!(fresh, t.gic, "{config:?}");
        assert_eq!(snapshot_bytes(&fresh), bytes);
    }
}

#[test]
fn derived_outputs_are_recomputed_after_restore() {
    let t = build(Config::qemu_virt(2));
    let mut fresh = Gic::new(Config::qemu_virt(2)).unwrap();
    fresh.set_from_bytes(&snapshot_bytes(&t.gic)).unwrap();
    for cpu in 0..2 {
        assert_eq!(fresh.irq(cpu), t.gic.irq(cpu));
        assert_eq!(fresh.virq(cpu), t.gic.virq(cpu));
        assert_eq!(fresh.maintenance(cpu), t.gic.maintenance(cpu));
        assert_eq!(fresh.running_priority(cpu), t.gic.running_priority(cpu));
    }
    assert!(fresh.maintenance(1) && fresh.line_level(1, MAINTENANCE_INTID));
}

#[test]
fn snapshot_len_is_what_save_needs_and_a_small_buffer_reports_it() {
    let t = build(Config::qemu_virt(2));
    let n = t.gic.snapshot_len();
    assert!(n <= MAX_SNAPSHOT_LEN);
    let mut small = vec![0; n - 1];
    assert_eq!(
        t.gic.to_bytes(&mut small),
        Err(SnapshotError::BufferTooSmall { needed: n })
    );
    let mut big = vec![0; n + 10];
    assert_eq!(t.gic.to_bytes(&mut big), Ok(n));
}

#[test]
fn virt_section_is_written_only_with_virtualization() {
    let has_virt = |gic: &Gic| {
        let bytes = snapshot_bytes(gic);
        gic_driver::snapshot::Reader::new(&bytes)
            .unwrap()
            .find(tag::VIRT)
            .unwrap()
            .is_some()
    };
    assert!(!has_virt(&build(qemu_physical()).gic));
    assert!(has_virt(&build(Config::qemu_virt(2)).gic));
}

#[test]
fn restore_into_another_shape_is_a_config_mismatch_and_changes_nothing() {
    let bytes = snapshot_bytes(&build(qemu_physical()).gic);
    let others = [
        Config {
            cpus: 3,
            ..qemu_physical()
        },
        Config {
            lines: 320,
            ..qemu_physical()
        },
        Config {
            priority_bits: 7,
            ..qemu_physical()
        },
    ];
    for config in others {
        let mut t = build(config);
        let before = t.gic.clone();
        assert_eq!(
            t.gic.set_from_bytes(&bytes),
            Err(SnapshotError::ConfigMismatch)
        );
        assert_eq!(t.gic, before);
    }
}

#[test]
fn virt_section_into_a_model_without_virtualization_is_a_config_mismatch() {
    let bytes = snapshot_bytes(&build(Config::qemu_virt(2)).gic);
    let mut t = build(qemu_physical());
    let before = t.gic.clone();
    assert_eq!(
        t.gic.set_from_bytes(&bytes),
        Err(SnapshotError::ConfigMismatch)
    );
    assert_eq!(t.gic, before);
}

#[test]
fn snapshot_without_virt_section_restores_with_reset_virtual_interfaces() {
    let bytes = snapshot_bytes(&build(qemu_physical()).gic);
    let mut t = build(Config::qemu_virt(2));
    t.gic.set_from_bytes(&bytes).unwrap();
    physical_visible(&mut t);
    let reset = gic_model::VirtualCpuInterface::new(VirtConfig::QEMU);
    for cpu in 0..2 {
        assert_eq!(t.gic.virtual_cpu_interface(cpu), Some(&reset));
        assert!(!t.gic.maintenance(cpu) && !t.gic.line_level(cpu, MAINTENANCE_INTID));
    }
}

/// A BASE section written by hand, following the documented layout, as an
/// older writer (one without the VIRT section) would have: 1 CPU, 64
/// lines, 8 priority bits; GICD_CTLR = 3; SPI 40 enabled, latched pending,
/// priority 0x80; CPU 0 with PMR 0xF0, BPR 0, AckCtl and both groups on.
fn hand_written_base(w: &mut Writer<'_>) {
    w.begin_section(tag::BASE);
    w.u8(1);
    w.u8(8);
    w.u16(64);
    w.u32(0b11);
    // Word 1 (INTIDs 32-63): enabled, latch, active, group, edge, level.
    for v in [1 << 8, 1 << 8, 0, 0, 0, 0] {
        w.u32(v);
    }
    for id in 32..64 {
        w.u8(if id == 40 { 0x80 } else { 0 });
    }
    w.bytes(&[0; 32]); // targets: RAZ/WI on one CPU
                       // CPU 0: word 0 with SGIs enabled and edge-triggered.
    for v in [0xFFFF, 0, 0, 0, 0xFFFF, 0] {
        w.u32(v);
    }
    w.bytes(&[0; 32]);
    w.bytes(&[0; 16]);
    w.u32(0b111);
    w.u8(0xF0);
    w.u8(0);
    w.u8(1);
    for _ in 0..4 {
        w.u32(0);
    }
}

fn hand_written(extra_before: bool, extra_after: bool) -> Vec<u8> {
    let mut buf = vec![0; 1024];
    let mut w = Writer::new(&mut buf);
    if extra_before {
        w.begin_section(0x7777);
        w.u64(0x0123_4567_89AB_CDEF);
    }
    hand_written_base(&mut w);
    if extra_after {
        w.begin_section(0x7778);
        w.bytes(b"a newer writer's section");
    }
    let n = w.finish().unwrap();
    buf.truncate(n);
    buf
}

fn hand_written_visible(t: &mut TestGic) {
    assert_eq!(t.gicd_read(0, d::CTLR), 0b11);
    assert_eq!(t.gicc_read(0, c::PMR), 0xF0);
    assert!(t.gic.irq(0));
    assert_eq!(t.gicc_iar(0), 40);
    assert_eq!(t.gicc_rpr(0), 0x80);
}

#[test]
fn older_writer_base_only_snapshot_loads_into_a_virtualization_model() {
    let config = Config {
        virtualization: Some(VirtConfig::QEMU),
        ..Config::default()
    };
    let mut t = TestGic::new(config);
    t.gich_write(0, h::HCR, HCR::En::SET.value);
    t.gic.set_from_bytes(&hand_written(false, false)).unwrap();
    assert_eq!(
        t.gic.virtual_cpu_interface(0),
        Some(&gic_model::VirtualCpuInterface::new(VirtConfig::QEMU))
    );
    hand_written_visible(&mut t);
}

#[test]
fn unknown_sections_are_skipped() {
    for (before, after) in [(true, false), (false, true), (true, true)] {
        let mut t = TestGic::new(Config::default());
        t.gic.set_from_bytes(&hand_written(before, after)).unwrap();
        hand_written_visible(&mut t);
    }
}

fn assert_refused(config: Config, bytes: &[u8], err: SnapshotError) {
    let mut t = build(config);
    let before = t.gic.clone();
    assert_eq!(t.gic.set_from_bytes(bytes), Err(err));
    assert_eq!(t.gic, before, "model changed on {err:?}");
}

#[test]
fn damaged_snapshots_are_refused_and_change_nothing() {
    let config = Config::default();
    let good = hand_written(false, false);
    // Truncated anywhere inside the BASE section.
    for n in [9, 16, 20, 100, good.len() - 1] {
        assert_refused(config, &good[..n], SnapshotError::Truncated);
    }
    assert_refused(config, &good[..3], SnapshotError::BadMagic);
    assert_refused(config, b"", SnapshotError::BadMagic);
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    assert_refused(config, &bad_magic, SnapshotError::BadMagic);
    let mut newer = good.clone();
    newer[4] = 9;
    assert_refused(config, &newer, SnapshotError::UnsupportedVersion(9));
    // Header only: no BASE section.
    assert_refused(config, &good[..8], SnapshotError::MissingSection(tag::BASE));
    // A priority using an unimplemented bit is not a state this model can hold.
    let mut t5 = TestGic::new(Config {
        priority_bits: 5,
        ..config
    });
    let mut five = snapshot_bytes(&t5.gic);
    let prio40 = 8 + 8 + 4 + 4 + 6 * 4 + (40 - 32);
    five[prio40] = 0x81;
    let before = t5.gic.clone();
    assert_eq!(t5.gic.set_from_bytes(&five), Err(SnapshotError::Corrupt));
    assert_eq!(t5.gic, before);
    // GICD_CTLR with a reserved bit; an SGI made disabled.
    let mut ctlr = good.clone();
    ctlr[8 + 8 + 4] = 0b111;
    assert_refused(config, &ctlr, SnapshotError::Corrupt);
    let mut sgi_off = good.clone();
    let word0 = 8 + 8 + 4 + 4 + 6 * 4 + 32 + 32;
    sgi_off[word0] = 0xFE;
    assert_refused(config, &sgi_off, SnapshotError::Corrupt);
    // BPR below the minimum; APR bits beyond the implemented levels.
    let mut bpr = good.clone();
    let gicc = word0 + 6 * 4 + 32 + 16;
    bpr[gicc + 6] = 0; // ABPR 0 < 1
    assert_refused(config, &bpr, SnapshotError::Corrupt);
}

#[test]
fn trailing_bytes_in_a_section_are_corrupt() {
    let mut buf = vec![0; 1024];
    let mut w = Writer::new(&mut buf);
    hand_written_base(&mut w);
    w.u8(0);
    let n = w.finish().unwrap();
    assert_refused(Config::default(), &buf[..n], SnapshotError::Corrupt);
}

#[test]
fn virt_section_for_another_cpu_count_or_lr_count_is_refused() {
    let config = Config::qemu_virt(2);
    let phys = snapshot_bytes(&build(qemu_physical()).gic);
    // The physical snapshot plus a VIRT section of `count` records, each
    // claiming `lr_count` list registers (all zero).
    let with_virt = |count: u8, lr_count: u8| {
        let mut extra = vec![0; 16 + 64 * 1024];
        let mut w = Writer::new(&mut extra);
        w.begin_section(tag::VIRT);
        w.u8(count);
        for _ in 0..count {
            w.u32(0);
            w.u32(0);
            w.u32(0);
            w.u8(lr_count);
            for _ in 0..lr_count {
                w.u32(0);
            }
        }
        let n = w.finish().unwrap();
        let mut buf = phys.clone();
        buf.extend_from_slice(&extra[8..n]); // without the second header
        buf
    };
    assert!(build(config)
        .gic
        .clone()
        .set_from_bytes(&with_virt(2, 4))
        .is_ok());
    assert_refused(config, &with_virt(1, 4), SnapshotError::ConfigMismatch);
    assert_refused(config, &with_virt(3, 4), SnapshotError::ConfigMismatch);
    assert_refused(config, &with_virt(9, 0), SnapshotError::Oversized);
    assert_refused(config, &with_virt(2, 5), SnapshotError::ConfigMismatch);
    assert_refused(config, &with_virt(2, 65), SnapshotError::Oversized);
}

#[test]
fn vcpu_records_round_trip_and_are_refused_where_they_do_not_fit() {
    let config = Config::qemu_virt(2);
    let t = build(config);
    let mut buf = [0u8; 512];
    let n = t.gic.vcpu_to_bytes(0, &mut buf).unwrap();
    let record = VcpuRecord::from_bytes(&buf[..n]).unwrap();
    assert_eq!(record.lr_count, 4);
    assert_ne!(record.hcr, 0);
    let mut other = Gic::new(config).unwrap();
    other.set_vcpu_from_bytes(1, &buf[..n]).unwrap();
    assert_eq!(
        other.virtual_cpu_interface(1),
        t.gic.virtual_cpu_interface(0)
    );
    let mut o = TestGic { gic: other.clone() };
    assert_eq!(o.gicv_read(1, c::RPR), 0x20);

    let mut phys = Gic::new(qemu_physical()).unwrap();
    assert_eq!(
        phys.vcpu_to_bytes(0, &mut buf),
        Err(ModelError::NoVirtualization)
    );
    assert_eq!(
        phys.set_vcpu_from_bytes(0, &buf[..n]),
        Err(ModelError::NoVirtualization)
    );
    assert_eq!(
        t.gic.vcpu_to_bytes(2, &mut buf),
        Err(ModelError::InvalidCpu(2))
    );
    assert_eq!(
        other.set_vcpu_from_bytes(5, &buf[..n]),
        Err(ModelError::InvalidCpu(5))
    );

    let eight = VcpuRecord {
        lr_count: 8,
        ..VcpuRecord::default()
    };
    let n8 = eight.to_bytes(&mut buf).unwrap();
    let before = other.clone();
    assert_eq!(
        other.set_vcpu_from_bytes(0, &buf[..n8]),
        Err(ModelError::Snapshot(SnapshotError::ConfigMismatch))
    );
    assert_eq!(
        other.set_vcpu_from_bytes(0, &buf[..n8 - 1]),
        Err(ModelError::Snapshot(SnapshotError::Truncated))
    );
    assert_eq!(other, before);
    let mut tiny = [0u8; 4];
    assert!(matches!(
        t.gic.vcpu_to_bytes(0, &mut tiny),
        Err(ModelError::Snapshot(SnapshotError::BufferTooSmall { .. }))
    ));
}

// ---- every reader, the same damaged input (issue 6, item 5) -------------

/// What each of the four snapshot readers makes of `bytes`, as a
/// `SnapshotError` (Ok(()) if accepted): `Gic::set_from_bytes`,
/// `Gic::set_vcpu_from_bytes`, `VcpuRecord::from_bytes`, `VcpuContext::from_bytes`.
fn readers(config: Config, bytes: &[u8]) -> [Result<(), SnapshotError>; 4] {
    let fresh = Gic::new(config).unwrap();
    let mut g = fresh.clone();
    let restore = g.set_from_bytes(bytes);
    assert!(restore.is_ok() || g == fresh, "restore changed the model");
    let mut g = fresh.clone();
    let set_vcpu_from_bytes = g.set_vcpu_from_bytes(0, bytes).map_err(|e| match e {
        ModelError::Snapshot(e) => e,
        other => panic!("set_vcpu_from_bytes: {other:?}"),
    });
    assert!(
        set_vcpu_from_bytes.is_ok() || g == fresh,
        "set_vcpu_from_bytes changed the model"
    );
    let record = VcpuRecord::from_bytes(bytes).map(|_| ());
    let context = gic_driver::VcpuContext::<32>::from_bytes(bytes)
        .map(|_| ())
        .map_err(|e| match e {
            gic_driver::Error::Snapshot(e) => e,
            other => panic!("VcpuContext::from_bytes: {other:?}"),
        });
    [restore, set_vcpu_from_bytes, record, context]
}

/// `good`, damaged in each way that breaks the framing of its sections,
/// with the error every reader must give.
fn framing_damage(good: &[u8]) -> Vec<(&'static str, Vec<u8>, SnapshotError)> {
    let with = |extra: &[u8]| [good, extra].concat();
    // The VIRT section one byte longer: a byte no record accounts for.
    let (virt, len) = virt_payload(good);
    let mut grown = good.to_vec();
    grown.insert(virt + len, 0);
    grown[virt - 4..virt].copy_from_slice(&(len as u32 + 1).to_le_bytes());
    vec![
        ("3 stray bytes", with(&[0; 3]), SnapshotError::Truncated),
        (
            "7 stray bytes",
            with(&[7, 0, 0, 0, 9, 0, 0]),
            SnapshotError::Truncated,
        ),
        (
            "a section shorter than its length",
            with(&[0x70, 0x77, 0, 0, 4, 0, 0, 0, 1, 2]),
            SnapshotError::Truncated,
        ),
        (
            "the last byte cut",
            good[..good.len() - 1].to_vec(),
            SnapshotError::Truncated,
        ),
        (
            "a section header with its reserved field set",
            with(&[0x70, 0x77, 1, 0, 0, 0, 0, 0]),
            SnapshotError::Corrupt,
        ),
        (
            "a byte after the VIRT records",
            grown,
            SnapshotError::Corrupt,
        ),
    ]
}

/// Where the VIRT section's payload starts in `bytes`, and its length.
fn virt_payload(bytes: &[u8]) -> (usize, usize) {
    let mut at = 8;
    loop {
        let t = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let len = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().unwrap()) as usize;
        if t == tag::VIRT {
            return (at + 8, len);
        }
        at += 8 + len;
    }
}

#[test]
fn every_snapshot_reader_refuses_the_same_damaged_input_with_the_same_error() {
    let config = Config::qemu_virt(1);
    let good = snapshot_bytes(&build(config).gic);
    assert_eq!(readers(config, &good), [Ok(()); 4]);
    for (what, bytes, err) in framing_damage(&good) {
        assert_eq!(readers(config, &bytes), [Err(err); 4], "{what}");
    }
    // Damage to the VIRT record itself.
    let (virt, _) = virt_payload(&good);
    let mut lrs = good.clone();
    lrs[virt + 1 + 12] = 65;
    assert_eq!(readers(config, &lrs), [Err(SnapshotError::Oversized); 4]);
    let mut cpus = good.clone();
    cpus[virt] = 9;
    assert_eq!(readers(config, &cpus), [Err(SnapshotError::Oversized); 4]);
}

#[test]
fn every_vcpu_reader_refuses_a_damaged_standalone_record_alike() {
    // A standalone record as the driver writes it, with its queue section.
    let config = Config::qemu_virt(1);
    let mut ctx = gic_driver::VcpuContext::<32>::with_list_registers(1);
    for n in [40, 41] {
        let lr = gic_driver::ListRegister::software(
            gic_driver::IntId::new(n).unwrap(),
            gic_driver::Priority(0x80),
            gic_driver::Group::Group1,
        )
        .unwrap();
        ctx.inject(lr).unwrap();
    }
    let mut buf = [0u8; 256];
    let n = ctx.to_bytes(&mut buf).unwrap();
    let good = &buf[..n];
    let vcpu_readers = |bytes: &[u8]| {
        let [_, rest @ ..] = readers(config, bytes);
        rest
    };
    assert_eq!(vcpu_readers(good), [Ok(()); 3]);
    for (what, bytes, err) in framing_damage(good) {
        assert_eq!(vcpu_readers(&bytes), [Err(err); 3], "{what}");
    }
}

// ---- golden files -------------------------------------------------------

struct Golden {
    name: &'static str,
    config: Config,
    visible: fn(&mut TestGic),
}

fn goldens() -> [Golden; 3] {
    [
        Golden {
            name: "physical_qemu_2cpu",
            config: qemu_physical(),
            visible: |t| {
                physical_visible(t);
                assert_eq!(t.gicd_read_byte(0, d::ITARGETSR + 40), 0b11);
                assert_eq!(t.gicc_read(1, c::PMR), 0xE0);
                assert_eq!(t.gic.sgi_sources(0, 9), 0b10);
            },
        },
        Golden {
            name: "physical_4cpu_1024lines_5bits",
            config: wide_five_bits(),
            visible: |t| {
                physical_visible(t);
                assert_eq!(t.gicd_read(0, d::TYPER) & 0x1F, 31);
                assert_eq!(t.gic.sgi_sources(1, 9), 0b1000);
                // BPR 3: 27 taken at 0x10 (bit 0x10 >> 3), then 33 at 0x00.
                assert_eq!(t.gicc_apr(0, 0), 1 << 2 | 1);
            },
        },
        Golden {
            name: "virt_qemu_2cpu",
            config: Config::qemu_virt(2),
            visible: |t| {
                physical_visible(t);
                assert_eq!(t.gich_read(0, gich::lr(0)) >> 28 & 0b11, 0b10, "LR0 active");
                assert_eq!(t.gich_read(0, gich::lr(1)) & 0x3FF, 3);
                assert_eq!(t.gicv_read(0, c::RPR), 0x20, "LR0 acknowledged at 0x20");
                assert!(t.gic.maintenance(1));
                assert!(t.gic.is_pending(1, MAINTENANCE_INTID));
            },
        },
    ]
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.bin"))
}

/// Loads each golden file, checks that saving again reproduces it byte for
/// byte and that the state it holds is visible through the registers.
/// With `GIC_MODEL_BLESS=1`, (re)writes them from the states built above.
#[test]
fn golden_snapshots_load_and_save_unchanged() {
    let bless = std::env::var_os("GIC_MODEL_BLESS").is_some();
    for g in goldens() {
        let path = golden_path(g.name);
        if bless {
            let t = build(g.config);
            std::fs::write(&path, snapshot_bytes(&t.gic)).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap_or_else(|e| {
            panic!("{}: {e}; regenerate with GIC_MODEL_BLESS=1", path.display())
        });
        let mut t = TestGic::new(g.config);
        t.gic
            .set_from_bytes(&bytes)
            .unwrap_or_else(|e| panic!("{}: {e}", g.name));
        assert_eq!(
            snapshot_bytes(&t.gic),
            bytes,
            "{}: re-saved bytes differ",
            g.name
        );
        (g.visible)(&mut t);
    }
}
