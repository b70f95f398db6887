//! Register accesses of the driver's hot paths, counted on the model's bus
//! with [`Counting`], beside the architectural minimum and what Linux
//! does (its GICv2 driver, `irq-gic.c`, for the physical side; KVM's
//! vgic-v2, Linux 5-6, for the virtual side). Printed by
//! `cargo run -p gic-robustness --example hot_path_accesses`; asserted by
//! `tests/costs.rs`; written up in BENCHMARKS.md.

use gic_driver::bus::Counting;
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, Deactivation, Distributor, DistributorConfig, EoiMode, Group,
    IntId, ListRegister, Priority, VcpuContext, VirtualInterface,
};
use gic_model::{Config, Frame, SharedGic};

use crate::world_switch::{restore_lists, save_lists};

/// One measured operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// What is measured.
    pub what: &'static str,
    /// Accesses by this driver.
    pub ours: u32,
    /// The fewest accesses the architecture allows for the same work.
    pub minimum: u32,
    /// Accesses by Linux for the same work.
    pub linux: u32,
}

fn spi(n: u32) -> IntId {
    IntId::spi(n).expect("an SPI")
}

fn software(n: u32) -> ListRegister {
    ListRegister::software(spi(n), Priority(0x80), Group::Group0)
        .expect("valid")
        .with_eoi_maintenance()
}

/// GICC accesses to take one pending SPI and end it, with `mode`; `loop_`
/// through `handle_pending` (which reads GICC_IAR until it returns 1023).
pub fn physical(mode: EoiMode, loop_: bool) -> u32 {
    let g = SharedGic::new(Config::qemu_virt(1)).expect("valid");
    let gicd = Distributor::new(g.frame(Frame::Gicd, 0));
    gicd.init(&DistributorConfig::default());
    gicd.enable_interrupt(spi(8)).expect("SPI 8");
    gicd.enable();
    let gicc = CpuInterface::new(Counting::new(g.frame(Frame::Gicc, 0)));
    gicc.init(&CpuInterfaceConfig {
        eoi_mode: mode,
        ..CpuInterfaceConfig::default()
    })
    .expect("valid");
    gicd.set_pending(spi(8)).expect("SPI 8");
    gicc.bus().reset();
    if loop_ {
        assert_eq!(gicc.handle_pending_with(|_| Deactivation::Deactivate), 1);
    } else {
        let ack = gicc.acknowledge().expect("pending");
        gicc.end_of_interrupt(ack);
        if mode == EoiMode::Split {
            gicc.deactivate(ack);
        }
    }
    assert!(!gicd.is_active(spi(8)).expect("SPI 8"));
    gicc.bus().accesses()
}

fn interface(g: &SharedGic) -> VirtualInterface<Counting<gic_model::FrameBus<'_>>> {
    let mut vif = VirtualInterface::new(Counting::new(g.frame(Frame::Gich, 0)));
    vif.init();
    vif
}

/// GICH accesses for one software interrupt injected into the running
/// vCPU, taken and ended by the guest, and retired on its EOI
/// maintenance interrupt (the second of two, so GICH_HCR.En is set).
pub fn inject_and_complete() -> u32 {
    let g = SharedGic::new(Config::qemu_virt(1)).expect("valid");
    let mut vif = interface(&g);
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    guest
        .init(&CpuInterfaceConfig {
            priority_mask: Priority(0xF8),
            ..CpuInterfaceConfig::default()
        })
        .expect("valid");
    let mut last = 0;
    for n in [33, 34] {
        vif.bus().reset();
        vif.inject(software(n)).expect("a free list register");
        let ack = guest.acknowledge().expect("listed");
        guest.end_of_interrupt(ack);
        assert_eq!(vif.handle_maintenance().completed.len(), 1);
        last = vif.bus().accesses();
    }
    last
}

/// GICH accesses of the hot halves of a world switch: vCPU A, with
/// `from` list registers in use, switched out; then A again (`same`) or
/// vCPU B, saved earlier with `to` list registers in use, switched in.
/// Returns (save, restore).
pub fn switch(from: u32, to: u32, same: bool) -> (u32, u32) {
    let g = SharedGic::new(Config::qemu_virt(1)).expect("valid");
    let mut vif = interface(&g);
    let mut b: Option<VcpuContext> = None;
    if !same {
        // B ran once with `to` interrupts listed, then was switched out.
        for n in 0..to {
            vif.inject(software(60 + n)).expect("free");
        }
        b = Some(save_lists(&mut vif).expect("resident"));
        let a: VcpuContext = vif.new_context();
        restore_lists(&mut vif, a)
            .map_err(|e| e.0)
            .expect("empty interface");
    }
    for n in 0..from {
        vif.inject(software(40 + n)).expect("free");
    }
    vif.bus().reset();
    let a = save_lists(&mut vif).expect("resident");
    let save = vif.bus().accesses();
    vif.bus().reset();
    let next = b.unwrap_or(a);
    restore_lists(&mut vif, next)
        .map_err(|e| e.0)
        .expect("saved");
    (save, vif.bus().accesses())
}

/// KVM's vgic-v2 save with `u` list registers in use: GICH_ELRSR, then
/// each LR read and zeroed, then GICH_HCR = 0; nothing with none in use.
pub const fn kvm_save(u: u32) -> u32 {
    if u == 0 {
        0
    } else {
        2 + 2 * u
    }
}

/// KVM's vgic-v2 restore with `u` list registers in use: GICH_HCR, then
/// each LR written; nothing with none in use.
pub const fn kvm_restore(u: u32) -> u32 {
    if u == 0 {
        0
    } else {
        1 + u
    }
}

/// Every row of the report.
pub fn rows() -> Vec<Row> {
    let mut rows = vec![
        Row {
            what: "physical: acknowledge + EOI (GICC_IAR, GICC_EOIR)",
            ours: physical(EoiMode::Combined, false),
            minimum: 2,
            linux: 2,
        },
        Row {
            what: "physical: handle_pending, one interrupt (+ IAR reading 1023)",
            ours: physical(EoiMode::Combined, true),
            minimum: 2,
            linux: 3,
        },
        Row {
            what: "physical, split EOI: acknowledge + EOI + GICC_DIR",
            ours: physical(EoiMode::Split, false),
            minimum: 3,
            linux: 3,
        },
        Row {
            what: "physical, split EOI: handle_pending, one interrupt",
            ours: physical(EoiMode::Split, true),
            minimum: 3,
            linux: 4,
        },
        Row {
            what: "virtual: inject + guest EOI + maintenance (GICH)",
            ours: inject_and_complete(),
            minimum: 3,
            linux: 5,
        },
    ];
    for (u, save, restore) in [
        (0, "save, 0 LRs in use", "restore (same vCPU), 0 LRs"),
        (1, "save, 1 LR in use", "restore (same vCPU), 1 LR"),
        (4, "save, 4 LRs in use", "restore (same vCPU), 4 LRs"),
    ] {
        let (s, r) = switch(u, u, true);
        let min_save = if u == 0 { 0 } else { u + 1 };
        let min_restore = if u == 0 { 0 } else { u + 1 };
        rows.push(Row {
            what: save,
            ours: s,
            minimum: min_save,
            linux: kvm_save(u),
        });
        rows.push(Row {
            what: restore,
            ours: r,
            minimum: min_restore,
            linux: kvm_restore(u),
        });
    }
    for (from, to, restore, total) in [
        (
            4,
            1,
            "restore another vCPU, 1 LR, after one with 4",
            "switch 4 LRs -> another vCPU's 1 (save + restore)",
        ),
        (
            1,
            4,
            "restore another vCPU, 4 LRs, after one with 1",
            "switch 1 LR -> another vCPU's 4 (save + restore)",
        ),
        (
            4,
            0,
            "restore another vCPU, 0 LRs, after one with 4",
            "switch 4 LRs -> another vCPU's 0 (save + restore)",
        ),
        (
            1,
            1,
            "restore another vCPU, 1 LR, after one with 1",
            "switch 1 LR -> another vCPU's 1 (save + restore)",
        ),
    ] {
        let (s, r) = switch(from, to, false);
        // Restore: the next vCPU's LRs, the old ones it does not
        // overwrite zeroed (a GIC presents every valid LR), GICH_HCR; with
        // nothing to list, nothing (GICH_HCR stays 0 from the save).
        let min_restore = if to == 0 {
            0
        } else {
            to + from.saturating_sub(to) + 1
        };
        rows.push(Row {
            what: restore,
            ours: r,
            minimum: min_restore,
            linux: kvm_restore(to),
        });
        rows.push(Row {
            what: total,
            ours: s + r,
            minimum: from + 1 + min_restore,
            linux: kvm_save(from) + kvm_restore(to),
        });
    }
    rows
}
