//! Switching vCPUs on one CPU's virtual interface: what `save`/`restore`
//! and `put`/`load` move, what they cost in GICH accesses beside Linux
//! KVM, and a saved context as a snapshot record and as bytes, with the
//! model playing the GIC.

use gic_driver::snapshot::{SnapshotError, VcpuRecord};
use gic_driver::virt::{Hcr, Injection, LrState, Vmcr};
use gic_driver::{Acknowledged, CpuInterface, EoiMode, Error, Priority, VcpuContext};
use gic_model::Frame;

mod common;
use common::*;

/// The report's measurements and KVM's figures
/// (`cargo run -p gic-driver --example world_switch_cost`).
#[path = "../examples/world_switch_cost.rs"]
mod report;

// ---------------------------------------------------------------------
// Register cost
// ---------------------------------------------------------------------

#[test]
fn register_costs_are_at_or_below_linux_kvm_in_every_row() {
    for row in report::rows() {
        assert!(
            row.ours <= row.kvm,
            "{}: {} accesses, KVM {}",
            row.what,
            row.ours,
            row.kvm
        );
    }
}

#[test]
fn save_and_restore_cost_no_more_than_linux() {
    for u in [0u32, 1, 4] {
        let g = qemu();
        let mut v = counted::<32>(&g);
        for n in 0..u {
            v.inject(software(40 + n, 0xA0)).unwrap();
        }
        cost(&v);
        let ctx = v.save().unwrap();
        let (sr, sw) = cost(&v);
        v.restore(ctx).unwrap();
        let (rr, rw) = cost(&v);
        println!("u={u}: save {sr}r+{sw}w, restore {rr}r+{rw}w");
        assert!(sr + sw <= report::kvm_save(u, 0), "save u={u}");
        assert!(rr + rw <= report::kvm_restore(u), "restore u={u}");
        assert_eq!((sr, sw), (u, (u > 0) as u32));
        assert_eq!((rr, rw), (0, if u > 0 { u + 1 } else { 0 }));
        assert_eq!(lr_ids(&g, LrState::Pending).len(), u as usize);
        // put/load: VMCR and APR.
        let mut ctx = v.new_context();
        v.put(&mut ctx);
        assert_eq!(cost(&v), (2, 0));
        v.load(&ctx);
        assert_eq!(cost(&v), (0, 2));
    }
}

#[test]
fn register_costs_per_interrupt_and_per_round_trip() {
    // A software interrupt with the EOI bit, injected and completed.
    let g = qemu();
    let mut v = counted::<32>(&g);
    let guest = guest(&g, EoiMode::Split);
    v.inject(software(39, 0xA0)).unwrap(); // makes HCR live
    cost(&v);
    v.inject(software_eoi(40, 0x80)).unwrap();
    let inject = cost(&v);
    let ack = take(&guest).unwrap();
    assert_eq!(ack.raw(), 40);
    complete(&guest, ack);
    assert_eq!(v.handle_maintenance().completed.len(), 1);
    let maint = cost(&v);
    println!("inject {inject:?}, EOI maintenance {maint:?}");
    assert_eq!((inject, maint), ((0, 1), (1, 1)));

    // Linux 5-6's "took one interrupt and completed it": 2 (restore: HCR +
    // LR) + 3 (save: ELRSR, LR = 0, HCR = 0) = 5 accesses.
    let g = qemu();
    let mut v = counted::<32>(&g);
    let guest = self::guest(&g, EoiMode::Split);
    let ctx = v.save().unwrap();
    v.restore(ctx).unwrap();
    cost(&v);
    v.inject(software(40, 0xA0)).unwrap(); // entry: LR + HCR
    let entry = cost(&v);
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    let ctx = v.save().unwrap(); // exit: LR read; completed, so HCR left at En
    let exit = cost(&v);
    v.restore(ctx).unwrap();
    let back = cost(&v);
    println!("round trip: inject {entry:?}, save {exit:?}, restore {back:?}");
    assert_eq!((entry, exit, back), ((0, 2), (1, 0), (0, 0)));
}

#[test]
fn save_of_completed_registers_drops_them_and_skips_hcr() {
    let g = qemu();
    let mut v = counted::<32>(&g);
    let guest = guest(&g, EoiMode::Split);
    v.inject(software(40, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    cost(&v);
    let ctx = v.save().unwrap();
    // One LR read; it is free, nothing else valid, HCR holds only En.
    assert_eq!(cost(&v), (1, 0));
    assert_eq!(ctx.in_use(), 0);
    v.restore(ctx).unwrap();
    assert_eq!(cost(&v), (0, 0));
    // Still usable: the next injection makes it live.
    v.inject(software(41, 0xA0)).unwrap();
    assert_eq!(lr_ids(&g, LrState::Pending), [41]);
}

#[test]
fn restore_zeroes_only_registers_left_by_another_vcpu() {
    let g = qemu();
    let mut v = counted::<32>(&g);
    for n in 0..3 {
        v.inject(software(40 + n, 0xA0)).unwrap();
    }
    let _a = v.save().unwrap();
    let mut b = v.new_context();
    b.inject(software(60, 0xA0)).unwrap();
    cost(&v);
    v.restore(b).unwrap();
    // B's LR 0, zero A's LRs 1 and 2, HCR.
    assert_eq!(cost(&v), (0, 4));
    assert_eq!(lr_ids(&g, LrState::Pending), [60]);
}

#[test]
fn restore_with_nothing_to_do_defers_clearing_stale_registers() {
    let g = qemu();
    let mut v = counted::<32>(&g);
    let guest = guest(&g, EoiMode::Split);
    for n in 0..3 {
        v.inject(software(40 + n, 0xA0)).unwrap();
    }
    let _a = v.save().unwrap();
    let b = v.new_context();
    cost(&v);
    v.restore(b).unwrap();
    assert_eq!(cost(&v), (0, 0));
    // HCR is 0: A's interrupts are not visible to B's guest.
    assert!(guest.acknowledge().is_none());
    v.inject(software(60, 0xA0)).unwrap();
    assert_eq!(lr_ids(&g, LrState::Pending), [60]);
    assert_eq!(cost(&v), (0, 4));
}

// ---------------------------------------------------------------------
// What a switch moves
// ---------------------------------------------------------------------

#[test]
fn pending_and_active_states_survive_a_switch() {
    let g = qemu();
    let (d, _host) = physical(&g);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    let vmcr = vif.vmcr(); // the guest's GICV set-up
    d.set_active(id(VTIMER)).unwrap(); // EL2 forwards its timer with HW = 1
    vif.inject(software_eoi(70, 0x40)).unwrap();
    vif.inject(software_eoi(71, 0x80)).unwrap();
    vif.inject(hardware(VTIMER, VTIMER, 0xA0)).unwrap();
    let active = guest.acknowledge().unwrap();
    assert_eq!(active.intid(), id(70));

    let ctx = vif.switch_out().unwrap();
    assert_eq!(vif.read_hcr(), Hcr::DISABLED);
    assert!(!g.lock().virq(0) && !maintenance(&g));
    assert!(guest.acknowledge().is_none(), "GICH_HCR.En clear: nothing");
    assert_eq!(ctx.vmcr(), vmcr);
    assert_eq!(ctx.apr(), 1 << (0x40 >> 3), "70's active priority");
    let before = ctx.to_record().lrs;

    // Another vCPU runs in between and uses every list register.
    let other = vif.new_context();
    vif.switch_in(other).unwrap();
    assert!(
        !guest
            .control()
            .is_set(gic_driver::regs::gicc::CTLR::EnableGrp0),
        "fresh VMCR"
    );
    let guest = self::guest(&g, EoiMode::Combined); // the other guest sets up its GICV
    vif.inject(software_eoi(80, 0x10)).unwrap();
    assert_eq!(
        lr_ids(&g, LrState::Pending),
        [80],
        "the first vCPU's list registers were cleared"
    );
    for n in 1..4 {
        vif.inject(software_eoi(80 + n, 0x10)).unwrap();
    }
    let o = guest.acknowledge().unwrap();
    assert_eq!(o.intid(), id(80));
    guest.end_of_interrupt(o);
    assert_eq!(service(&g, &mut vif), [80]);
    let _other = vif.switch_out().unwrap();

    vif.switch_in(ctx).unwrap();
    assert_eq!(vif.vmcr(), vmcr);
    assert_eq!(vif.apr(), 1 << (0x40 >> 3));
    for (n, &saved) in before.iter().enumerate().take(3) {
        assert_eq!(lr(&g, n), saved, "LR{n}");
    }
    assert_eq!(lr(&g, 3), 0);
    assert_eq!(vif.in_use().count_ones(), 3);
    assert_eq!(guest.running_priority(), Priority(0x40), "APR restored");
    assert!(guest.acknowledge().is_none(), "0x80 does not preempt 0x40");
    guest.end_of_interrupt(active);
    assert_eq!(service(&g, &mut vif), [70]);
    assert_eq!(
        run_guest(&g, &mut vif, &guest),
        (vec![71, VTIMER], vec![71]),
        "nothing of the other vCPU leaked"
    );
    assert!(
        !d.is_active(id(VTIMER)).unwrap(),
        "the guest's EOI deactivated the physical timer"
    );
}

#[test]
fn world_switch_misuse_is_refused() {
    let g = qemu();
    let mut v = counted::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    // Restoring over a resident vCPU that holds interrupts would lose them.
    let refused = v.restore(v.new_context()).unwrap_err();
    assert_eq!(refused.error, Error::VcpuResident);
    assert_eq!(refused.context, v.new_context(), "handed back unchanged");
    let a = v.save().unwrap();
    assert!(!v.has_resident_vcpu());
    assert_eq!(v.inject(software(41, 0xA0)), Err(Error::NoResidentVcpu));
    assert_eq!(v.save().unwrap_err(), Error::NoResidentVcpu);
    v.restore(a).unwrap();
    assert!(v.has_resident_vcpu());
    // The resident vCPU's context moved into the interface: it can be
    // neither injected into nor restored again (a compile error, see
    // VirtualInterface::restore), and another is refused.
    let other = v.new_context();
    assert_eq!(v.restore(other).unwrap_err().error, Error::VcpuResident);
    let a = v.save().unwrap();
    assert_eq!(v.restore(a), Ok(()));
    // A context using more list registers than this GIC has.
    let g8 = qemu_with_list_registers(8);
    let mut big = counted::<32>(&g8);
    for n in 0..6 {
        big.inject(software(40 + n, 0xA0)).unwrap();
    }
    let c = big.save().unwrap();
    let mut small = counted::<32>(&g);
    let refused = small.restore(c.clone()).unwrap_err();
    assert_eq!(refused.error, Error::InvalidListRegister(5));
    assert_eq!(refused.context, c);
}

#[test]
fn a_saved_vcpu_can_be_injected_into() {
    let g = qemu_with_list_registers(2);
    let mut v = counted::<32>(&g);
    let guest = guest(&g, EoiMode::Combined);
    let mut never_ran = VcpuContext::<32>::new();
    for (n, p) in [(40, 0xC0), (41, 0x80), (42, 0xA0)] {
        assert_eq!(never_ran.inject(software(n, p)), Ok(Injection::Queued));
    }
    v.save().unwrap();
    v.restore(never_ran).unwrap();
    assert_eq!(lr_ids(&g, LrState::Pending), [41, 42]);
    assert_eq!(run_guest(&g, &mut v, &guest).0, [41, 42, 40]);

    let mut ctx = v.new_context();
    assert_eq!(ctx.inject(software(50, 0xA0)), Ok(Injection::Written(0)));
    assert_eq!(
        ctx.inject(software(50, 0xA0)),
        Ok(Injection::AlreadyInListRegister(0))
    );
    assert_eq!(ctx.list_register(0).unwrap().virtual_id(), id(50));
}

// ---------------------------------------------------------------------
// A saved context as a record and as bytes
// ---------------------------------------------------------------------

/// A context with two LRs (one pending, one active SGI from CPU 1) and
/// two queued, saved from a GIC with two list registers whose guest runs
/// split EOI with PMR 0xF0; returns it and the active interrupt.
fn busy_context() -> (VcpuContext<32>, Acknowledged) {
    let g = qemu_with_list_registers(2);
    let mut v = hypervisor(&g);
    v.set_vmcr(Vmcr::from_raw(0xF000_0203));
    v.inject(software(40, 0xA0)).unwrap();
    v.inject(software_eoi(2, 0x80).with_source_cpu(1).unwrap())
        .unwrap();
    v.inject(software(42, 0xC0)).unwrap();
    v.inject(hardware(43, 43, 0xC0)).unwrap();
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    let ack = guest.acknowledge().unwrap();
    assert_eq!(ack.raw(), 2 | 1 << 10);
    let ctx = v.switch_out().unwrap();
    (ctx, ack)
}

#[test]
fn context_converts_to_and_from_a_record() {
    let (ctx, _) = busy_context();
    let r = ctx.to_record();
    assert_eq!(r.lr_count, 2);
    // The GIC raised the binary points to their minimum (2 and 3).
    assert_eq!(r.vmcr, 0xF04C_0203);
    assert_eq!(r.apr, 1 << (0x80 >> 3), "the SGI's active priority");
    assert!(Hcr::from_raw(r.hcr).npie());
    let back = VcpuContext::<32>::from_record(&r).unwrap();
    assert_eq!(back.to_record(), r);
    assert_eq!(back.in_use(), ctx.in_use());
    assert_eq!(back.queued_len(), 0, "the queue is not part of the record");
}

#[test]
fn context_bytes_carry_the_queue_and_stay_model_compatible() {
    let (ctx, active) = busy_context();
    let mut buf = [0u8; 512];
    let n = ctx.to_bytes(&mut buf).unwrap();
    // The VIRT section is what the model reads.
    assert_eq!(VcpuRecord::from_bytes(&buf[..n]).unwrap(), ctx.to_record());
    let back = VcpuContext::<32>::from_bytes(&buf[..n]).unwrap();
    assert_eq!(back.to_record(), ctx.to_record());
    let q: Vec<_> = back.queued().collect();
    let q0: Vec<_> = ctx.queued().collect();
    assert_eq!(q, q0);
    assert_eq!(q.len(), 2);
    // A record saved by the model (no queue section) loads too.
    let mut plain = [0u8; 512];
    let m = ctx.to_record().to_bytes(&mut plain).unwrap();
    assert_eq!(m, n - 8 - 4 - 8, "same bytes without the queue section");
    assert_eq!(&plain[..m], &buf[..m]);
    let from_model = VcpuContext::<32>::from_bytes(&plain[..m]).unwrap();
    assert_eq!(from_model.to_record(), ctx.to_record());
    // Too small a queue to hold it.
    assert_eq!(
        VcpuContext::<1>::from_bytes(&buf[..n]),
        Err(Error::Snapshot(SnapshotError::Oversized))
    );
    // Restores and delivers everything.
    let g = qemu_with_list_registers(2);
    let mut v = hypervisor(&g);
    let back = back;
    v.switch_in(back).unwrap();
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    guest.end_of_interrupt(active);
    guest.deactivate(active);
    let s = v.handle_maintenance();
    assert_eq!(s.completed[0].source_cpu(), Some(1));
    assert_eq!(run_guest(&g, &mut v, &guest).0, [40, 42, 43]);
}

#[test]
fn from_record_rejects_impossible_list_registers() {
    let mut r = VcpuRecord {
        lr_count: 2,
        ..VcpuRecord::default()
    };
    r.lrs[0] = 1 << 31 | 5 << 10 | 40; // HW with physical SGI
    assert_eq!(
        VcpuContext::<32>::from_record(&r),
        Err(Error::InvalidListRegisterValue(r.lrs[0]))
    );
    r.lrs[0] = software(40, 0xA0).encode();
    r.lrs[1] = software(40, 0xC0).encode();
    assert!(
        VcpuContext::<32>::from_record(&r).is_err(),
        "duplicate valid interrupt"
    );
    r.lrs[1] = software(40, 0xC0).with_state(LrState::Invalid).encode();
    let ctx = VcpuContext::<32>::from_record(&r).unwrap();
    assert_eq!(ctx.in_use(), 0b01);
}

#[test]
fn context_saved_by_the_driver_restores_into_the_model_and_back() {
    // Driver on GIC A -> bytes -> model B.
    let a = qemu();
    let mut vif = hypervisor(&a);
    let guest_a = guest(&a, EoiMode::Split);
    vif.inject(software_eoi(90, 0x20)).unwrap();
    vif.inject(software_eoi(91, 0x60)).unwrap();
    vif.inject(software(3, 0x80).with_source_cpu(0).unwrap())
        .unwrap();
    let ack = guest_a.acknowledge().unwrap();
    let before = visible_state(&a);
    let ctx = vif.switch_out().unwrap();
    let mut bytes = [0u8; 512];
    let n = ctx.to_bytes(&mut bytes).unwrap();

    let b = qemu();
    b.lock().set_vcpu_from_bytes(0, &bytes[..n]).unwrap();
    assert_eq!(visible_state(&b), before);
    let guest_b = CpuInterface::new(b.frame(Frame::Gicv, 0));
    assert_eq!(guest_b.eoi_mode(), EoiMode::Split, "VMCR travelled");
    assert_eq!(guest_b.running_priority(), Priority(0x20));
    guest_b.end_of_interrupt(ack);
    guest_b.deactivate(ack);

    // Model B -> bytes -> driver on GIC C.
    let mut bytes = [0u8; 512];
    let n = b.lock().vcpu_to_bytes(0, &mut bytes).unwrap();
    let before = visible_state(&b);
    let c = qemu();
    let mut vif_c = hypervisor(&c);
    let ctx_c: VcpuContext = VcpuContext::from_bytes(&bytes[..n]).unwrap();
    vif_c.switch_in(ctx_c).unwrap();
    assert_eq!(visible_state(&c), before);
    assert_eq!(service(&c, &mut vif_c), [90]);
    let guest_c = CpuInterface::new(c.frame(Frame::Gicv, 0));
    let next = guest_c.acknowledge().unwrap();
    assert_eq!(next.intid(), id(91));
}
