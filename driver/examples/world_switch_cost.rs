//! Report: GICH register accesses for a world switch and for one injected
//! and completed interrupt, counted on the model's bus with
//! `bus::Counting`, beside Linux 5-6 KVM's figures (vgic-v2 save/restore).
//!
//! Run with `cargo run -p gic-driver --example world_switch_cost`.
//! `driver/tests/world_switch.rs` asserts the same figures stay at or
//! below KVM's, which are written down here only.

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
    vif.bus().reset();
    let ctx = vif.save().unwrap();
    let save = vif.bus().accesses();
    vif.bus().reset();
    vif.restore(ctx).unwrap();
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

/// Linux 5-6 KVM's GICH accesses to save a vCPU with `used` list
/// registers in use, `empty` of them found empty in GICH_ELRSR
/// (vgic-v2-sr.c): GICH_ELRSR, then each LR in use read and cleared unless
/// empty, then GICH_HCR = 0; nothing when no LR is in use.
pub fn kvm_save(used: u32, empty: u32) -> u32 {
    if used == 0 {
        0
    } else {
        1 + 2 * used - empty + 1
    }
}

/// Linux 5-6 KVM's GICH accesses to restore a vCPU with `used` list
/// registers in use: GICH_HCR and each LR; nothing when none is in use.
pub fn kvm_restore(used: u32) -> u32 {
    if used == 0 {
        0
    } else {
        1 + used
    }
}

/// Linux 5-6 KVM's vcpu put and load: GICH_VMCR and GICH_APR, each way.
pub const KVM_PUT: u32 = 2;
/// See [`KVM_PUT`].
pub const KVM_LOAD: u32 = 2;

/// Linux 5-6 KVM's accesses for one interrupt injected and completed: its
/// list register written on restore, then found empty on save.
pub fn kvm_one_interrupt() -> u32 {
    kvm_restore(1) + kvm_save(1, 1)
}

/// Every row of the report, with KVM's figure beside ours (k = 0 list
/// registers found empty on save).
pub fn rows() -> Vec<Row> {
    let mut rows = Vec::new();
    for (used, save_name, restore_name) in [
        (0, "save, 0 LRs in use", "restore, 0 LRs in use"),
        (1, "save, 1 LR in use", "restore, 1 LR in use"),
        (4, "save, 4 LRs in use", "restore, 4 LRs in use"),
    ] {
        let (save, restore) = switch(used);
        rows.push(Row {
            what: save_name,
            ours: save,
            kvm: kvm_save(used, 0),
        });
        rows.push(Row {
            what: restore_name,
            ours: restore,
            kvm: kvm_restore(used),
        });
    }
    let (put, load) = put_load();
    rows.push(Row {
        what: "put (VMCR, APR)",
        ours: put,
        kvm: KVM_PUT,
    });
    rows.push(Row {
        what: "load (VMCR, APR)",
        ours: load,
        kvm: KVM_LOAD,
    });
    rows.push(Row {
        what: "one interrupt injected and completed",
        ours: inject_and_complete(),
        kvm: kvm_one_interrupt(),
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
