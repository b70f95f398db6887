//! Report: GICH register accesses for a world switch and for one injected
//! and completed interrupt, counted on the model's bus with
//! `bus::Counting`, beside Linux 5-6 KVM's figures (vgic-v2 save/restore).
//!
//! Run with `cargo run -p gic-driver --example world_switch_cost`.
//! `driver/tests/virtual_flows.rs` asserts the same figures stay at or
//! below KVM's.

use gic_driver::bus::{Counting, RegisterBus};
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, Group, IntId, ListRegister, Priority, VirtualInterface,
};
use gic_model::{Config, Frame, SharedGic};

/// One row of the report: what was measured, our count, KVM's count.
pub struct Row {
    /// What the row measures.
    pub what: &'static str,
    /// GICH accesses by this driver.
    pub ours: u32,
    /// GICH accesses by Linux 5-6 KVM for the same work.
    pub kvm: u32,
}

fn software(n: u32) -> ListRegister {
    ListRegister::software(IntId::new(n).unwrap(), Priority(0x80), Group::Group0)
        .unwrap()
        .with_eoi_maintenance()
}

fn interface(g: &SharedGic) -> VirtualInterface<Counting<impl RegisterBus + '_>> {
    let mut vif = VirtualInterface::new(Counting::new(g.frame(Frame::Gich, 0)));
    vif.init();
    vif
}

/// Accesses for `save` then `restore` of a vCPU with `used` list registers
/// holding pending interrupts.
pub fn switch(used: u32) -> (u32, u32) {
    let g = SharedGic::new(Config::qemu_virt(1)).unwrap();
    let mut vif = interface(&g);
    for n in 0..used {
        vif.inject(software(40 + n)).unwrap();
    }
    let mut ctx = vif.new_context();
    vif.bus().reset();
    vif.save(&mut ctx).unwrap();
    let save = vif.bus().accesses();
    vif.bus().reset();
    vif.restore(&mut ctx).unwrap();
    (save, vif.bus().accesses())
}

/// Accesses for `put` then `load` (GICH_VMCR and GICH_APR).
pub fn put_load() -> (u32, u32) {
    let g = SharedGic::new(Config::qemu_virt(1)).unwrap();
    let vif = interface(&g);
    let mut ctx = vif.new_context();
    vif.bus().reset();
    vif.put(&mut ctx);
    let put = vif.bus().accesses();
    vif.bus().reset();
    vif.load(&ctx);
    (put, vif.bus().accesses())
}

/// Accesses for one software interrupt injected, taken and ended by the
/// guest, and retired on its EOI maintenance interrupt, with the vCPU
/// already running (GICH_HCR.En set).
pub fn inject_and_complete() -> u32 {
    let g = SharedGic::new(Config::qemu_virt(1)).unwrap();
    let mut vif = interface(&g);
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    guest
        .init(&CpuInterfaceConfig {
            priority_mask: Priority(0xF8),
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
    let mut bus_counts = [0; 2];
    for (round, n) in [33, 34].into_iter().enumerate() {
        vif.bus().reset();
        vif.inject(software(n)).unwrap();
        let ack = guest.acknowledge().unwrap();
        guest.end_of_interrupt(ack);
        assert_eq!(vif.handle_maintenance().completed.len(), 1);
        bus_counts[round] = vif.bus().accesses();
    }
    // The first round also wrote GICH_HCR.En: the vCPU went live.
    bus_counts[1]
}

/// Every row of the report. KVM (Linux 5-6, k = 0 LRs found empty):
/// save = ELRSR + 2u LR accesses + HCR, restore = HCR + u LRs, nothing
/// when no LR is in use; VMCR and APR on vcpu put/load; one interrupt
/// taken and completed = 3 on save + 2 on restore.
pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (used, kvm_save, kvm_restore, save_name, restore_name) in [
        (0, 0, 0, "save, 0 LRs in use", "restore, 0 LRs in use"),
        (1, 4, 2, "save, 1 LR in use", "restore, 1 LR in use"),
        (4, 10, 5, "save, 4 LRs in use", "restore, 4 LRs in use"),
    ] {
        let (save, restore) = switch(used);
        rows.push(Row {
            what: save_name,
            ours: save,
            kvm: kvm_save,
        });
        rows.push(Row {
            what: restore_name,
            ours: restore,
            kvm: kvm_restore,
        });
    }
    let (put, load) = put_load();
    rows.push(Row {
        what: "put (VMCR, APR)",
        ours: put,
        kvm: 2,
    });
    rows.push(Row {
        what: "load (VMCR, APR)",
        ours: load,
        kvm: 2,
    });
    rows.push(Row {
        what: "one interrupt injected and completed",
        ours: inject_and_complete(),
        kvm: 5,
    });
    rows
}

#[allow(dead_code)] // also compiled into the tests, which do not call main
fn main() {
    println!("GICH register accesses, QEMU-shaped model (4 LRs), counted on the bus\n");
    println!(
        "| {:<38} | {:>4} | {:>13} |",
        "operation", "ours", "Linux 5-6 KVM"
    );
    println!("|{:-<40}|{:->6}|{:->15}|", "", "", "");
    for r in rows() {
        println!("| {:<38} | {:>4} | {:>13} |", r.what, r.ours, r.kvm);
    }
}
