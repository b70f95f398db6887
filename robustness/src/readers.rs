//! The snapshot and vCPU-context readers, fuzzed on the same bytes (seeds:
//! the golden files in `model/tests/golden/` and `driver/tests/golden/`,
//! used as they are): `Gic::set_from_bytes` into models shaped like each
//! golden file, `Gic::set_vcpu_from_bytes` on each CPU,
//! `VcpuContext::from_bytes`, `VcpuRecord::from_bytes` and the framing
//! `Reader`. A refused input leaves the
//! model exactly as it was; an accepted one leaves a model that keeps the
//! invariants of [`crate::model_bus::check`] and saves back to bytes that
//! load into the same state.

use gic_driver::snapshot::Reader;
use gic_model::{Config, Gic};

use crate::model_bus::{check, enable_all, save_load_save, vcpu_save_load_save};
use crate::world_switch::{
    context_from_bytes, context_to_bytes, record_from_bytes, record_to_bytes,
};

/// The shapes of the golden files, and a wide virtual one.
pub fn configs() -> [Config; 4] {
    [
        Config::qemu_virt(2).with_virtualization(None),
        Config {
            cpus: 4,
            lines: 1024,
            priority_bits: 5,
            virtualization: None,
        },
        Config::qemu_virt(2),
        Config {
            cpus: 8,
            lines: 256,
            priority_bits: 6,
            virtualization: Some(gic_model::VirtConfig {
                list_registers: 64,
                ..gic_model::VirtConfig::QEMU
            }),
        },
    ]
}

/// A model of shape `config` that is not in its reset state: everything
/// enabled, some interrupts pending and acknowledged, list registers
/// filled. A refused restore must leave all of that as it was.
pub fn busy_model(config: Config) -> Gic {
    use gic_driver::regs::gicc::offset as c;
    use gic_driver::regs::gicd::offset as d;
    use gic_driver::regs::gich::offset as h;
    use gic_model::{Frame, Width};
    let mut gic = Gic::new(config).expect("valid config");
    enable_all(&mut gic);
    let w = Width::Word;
    gic.write(Frame::Gicd, 0, d::ISPENDR + 4, w, 0x8000_0101);
    gic.write(Frame::Gicd, 0, d::SGIR, w, 0x00FF_0003);
    let _ = gic.read(Frame::Gicc, 0, c::IAR, w);
    if config.virtualization.is_some() {
        for cpu in 0..config.cpus {
            gic.write(Frame::Gich, cpu, h::LR, w, 0x1000_0000 | 40);
            gic.write(Frame::Gich, cpu, h::LR + 4, w, 0x1008_0000 | 41);
            let _ = gic.read(Frame::Gicv, cpu, c::IAR, w);
        }
    }
    gic
}

/// One fuzz run of every reader on `data`.
pub fn run(data: &[u8]) {
    for config in configs() {
        let before = busy_model(config);
        let mut gic = before.clone();
        match gic.set_from_bytes(data) {
            Ok(()) => {
                check(&gic);
                save_load_save(&gic);
            }
            Err(_) => assert!(gic == before, "a refused restore changed the model"),
        }
        if config.virtualization.is_some() {
            for cpu in 0..config.cpus + 1 {
                let mut gic = before.clone();
                match gic.set_vcpu_from_bytes(cpu, data) {
                    Ok(()) => {
                        check(&gic);
                        vcpu_save_load_save(&gic, cpu);
                    }
                    Err(_) => assert!(
                        gic == before,
                        "a refused set_vcpu_from_bytes changed the model"
                    ),
                }
            }
        }
    }
    if let Ok(ctx) = context_from_bytes::<32>(data) {
        let mut buf = [0u8; 2048];
        let n = context_to_bytes(&ctx, &mut buf).expect("a loaded context saves");
        let first = buf.get(..n).expect("n fits").to_vec();
        let again = context_from_bytes::<32>(&first).expect("saved bytes load");
        let m = context_to_bytes(&again, &mut buf).expect("and save again");
        assert_eq!(
            buf.get(..m),
            Some(&first[..]),
            "context save-load-save is not byte-identical"
        );
    }
    // A smaller queue may refuse what a larger one holds, never panic.
    let _ = context_from_bytes::<1>(data);
    if let Ok(record) = record_from_bytes(data) {
        let mut buf = [0u8; 2048];
        let n = record_to_bytes(&record, &mut buf).expect("a loaded record saves");
        assert_eq!(record_from_bytes(buf.get(..n).expect("n fits")), Ok(record));
    }
    if let Ok(mut reader) = Reader::new(data) {
        let _ = reader.validate();
        let _ = reader.version();
        let mut sections = 0;
        while let Ok(Some((_, mut cursor))) = reader.next_section() {
            let _ = cursor.u64();
            let _ = cursor.bytes(cursor.remaining());
            sections += 1;
            assert!(sections <= data.len(), "more sections than bytes");
        }
    }
}
