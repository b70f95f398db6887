//! The hypervisor's `VirtualInterface` placing interrupts: list registers,
//! the queue, eviction, refilling without a maintenance storm, and the
//! maintenance conditions, with their GICH costs, against the model. The
//! guest runs split EOI so it can hold several interrupts active in any
//! order: `take` acknowledges and drops the priority, `complete`
//! deactivates.

use gic_driver::bus::RegisterBus;
use gic_driver::regs::gicc;
use gic_driver::regs::gich::offset;
use gic_driver::virt::{Hcr, Injection, LrState};
use gic_driver::{Acknowledged, CpuInterface, EoiMode, Error};
use gic_model::{Frame, FrameBus, SharedGic};

mod common;
use common::*;

/// The hypervisor's counted virtual interface on `g` (queue of `Q`) and
/// its guest's CPU interface, split EOI, everything unmasked.
fn setup<const Q: usize>(g: &SharedGic) -> (Counted<'_, Q>, CpuInterface<FrameBus<'_>>) {
    let v = counted::<Q>(g);
    let guest = guest(g, EoiMode::Split);
    (v, guest)
}

fn hcr(g: &SharedGic) -> Hcr {
    Hcr::from_raw(gich_read(g, offset::HCR))
}

// ---------------------------------------------------------------------
// Injection
// ---------------------------------------------------------------------

#[test]
fn inject_into_a_free_list_register_is_one_write() {
    let g = qemu();
    let (mut v, _guest) = setup::<32>(&g);
    // First injection also makes the vCPU's HCR live.
    assert_eq!(v.inject(software(40, 0xA0)), Ok(Injection::Written(0)));
    assert_eq!(cost(&v), (0, 2));
    assert_eq!(v.inject(software(41, 0xA0)), Ok(Injection::Written(1)));
    assert_eq!(cost(&v), (0, 1));
    assert_eq!(lr_ids(&g, LrState::Pending), [40, 41]);
    assert_eq!(gich_read(&g, offset::HCR), 1);
}

#[test]
fn elrsr_is_read_only_when_the_record_is_full() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    for n in 0..4 {
        v.inject(software(40 + n, 0xA0)).unwrap();
    }
    cost(&v);
    // The guest completes LR 0 without telling us (no EOI bit).
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    assert_eq!(v.inject(software(50, 0xA0)), Ok(Injection::Written(0)));
    assert_eq!(cost(&v), (1, 1), "ELRSR read + LR write");
    assert_eq!(v.queued_len(), 0);
}

#[test]
fn elrsr1_is_read_only_with_more_than_32_list_registers() {
    let g = qemu_with_list_registers(40);
    let (mut v, _guest) = setup::<32>(&g);
    for n in 0..40 {
        v.inject(software(100 + n, 0xA0)).unwrap();
    }
    cost(&v);
    assert_eq!(v.inject(software(200, 0xA0)), Ok(Injection::Queued));
    let (reads, _) = cost(&v);
    assert_eq!(reads, 2, "ELRSR0 and ELRSR1");
    let g = qemu_with_list_registers(32);
    let (mut v, _guest) = setup::<32>(&g);
    for n in 0..32 {
        v.inject(software(100 + n, 0xA0)).unwrap();
    }
    cost(&v);
    v.inject(software(200, 0xA0)).unwrap();
    assert_eq!(cost(&v).0, 1, "ELRSR0 only");
}

#[test]
fn an_interrupt_already_in_a_list_register_gets_no_second_one() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    cost(&v);
    // Still pending: one read, nothing written.
    assert_eq!(
        v.inject(software(40, 0xA0)),
        Ok(Injection::AlreadyInListRegister(0))
    );
    assert_eq!(cost(&v), (1, 0));
    // Active with HW = 0: pending+active in place, one write.
    let ack = take(&guest).unwrap();
    assert_eq!(
        v.inject(software(40, 0xA0)),
        Ok(Injection::MadePendingActive(0))
    );
    assert_eq!(cost(&v), (1, 1));
    assert_eq!(lr_ids(&g, LrState::PendingActive), [40]);
    assert_eq!(v.in_use(), 1, "one list register for one interrupt");
    // The guest sees it again after completing it.
    complete(&guest, ack);
    assert_eq!(take(&guest).map(|a| a.raw()), Some(40));
    assert_eq!(v.in_use(), 1);
}

#[test]
fn merging_into_an_active_register_keeps_the_requested_eoi_maintenance() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    // Injected again, this time asking to hear of the completion.
    assert_eq!(
        v.inject(software_eoi(40, 0xA0)),
        Ok(Injection::MadePendingActive(0))
    );
    complete(&guest, ack);
    assert_eq!(run_guest(&g, &mut v, &guest).1, [40]);
}

#[test]
fn merging_into_a_pending_register_keeps_the_requested_eoi_maintenance() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    assert_eq!(
        v.inject(software_eoi(40, 0xA0)),
        Ok(Injection::AlreadyInListRegister(0))
    );
    assert_eq!(run_guest(&g, &mut v, &guest).1, [40]);
}

#[test]
fn merging_into_a_queued_entry_keeps_the_requested_eoi_maintenance() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(41, 0x10)).unwrap();
    assert_eq!(v.inject(software(40, 0xA0)), Ok(Injection::Queued));
    assert_eq!(
        v.inject(software_eoi(40, 0xA0)),
        Ok(Injection::AlreadyQueued)
    );
    assert_eq!(run_guest(&g, &mut v, &guest).1, [40]);
}

#[test]
fn a_requested_completion_is_reported_even_where_the_driver_set_the_eoi_bit() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    // Something queued behind the single active LR: the driver sets its EOI bit itself.
    v.inject(software(41, 0xA0)).unwrap();
    service(&g, &mut v);
    assert_eq!(lr(&g, 0) & 1 << 19, 1 << 19);
    // Now the caller asks for that completion.
    assert_eq!(
        v.inject(software_eoi(40, 0xA0)),
        Ok(Injection::MadePendingActive(0))
    );
    complete(&guest, ack);
    assert_eq!(run_guest(&g, &mut v, &guest).1, [40]);
}

#[test]
fn a_completed_interrupt_reuses_its_register() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    v.inject(software(41, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    cost(&v);
    assert_eq!(v.inject(software(40, 0xA0)), Ok(Injection::Written(0)));
    assert_eq!(cost(&v), (1, 1));
}

#[test]
fn active_hardware_interrupt_is_not_made_pending_active() {
    let g = qemu();
    let (d, _host) = physical(&g);
    let (mut v, guest) = setup::<32>(&g);
    d.set_active(id(VTIMER)).unwrap(); // EL2 forwards its timer
    v.inject(hardware(VTIMER, VTIMER, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    assert_eq!(
        v.inject(hardware(VTIMER, VTIMER, 0xA0)),
        Ok(Injection::AlreadyInListRegister(0))
    );
    assert_eq!(lr_ids(&g, LrState::Active), [VTIMER]);
    complete(&guest, ack);
    assert!(
        !d.is_active(id(VTIMER)).unwrap(),
        "the guest's deactivation deactivated the physical timer"
    );
}

#[test]
fn sgis_from_different_sources_are_different_interrupts() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    let sgi = |cpu| software(1, 0x80).with_source_cpu(cpu).unwrap();
    assert_eq!(v.inject(sgi(0)), Ok(Injection::Written(0)));
    assert_eq!(v.inject(sgi(2)), Ok(Injection::Written(1)));
    assert_eq!(v.inject(sgi(2)), Ok(Injection::AlreadyInListRegister(1)));
    assert_eq!(take(&guest).map(|a| a.raw()), Some(1));
    assert_eq!(take(&guest).map(|a| a.raw()), Some(1 | 2 << 10));
}

// ---------------------------------------------------------------------
// The queue and eviction
// ---------------------------------------------------------------------

#[test]
fn more_interrupts_than_list_registers_queue_by_priority_then_arrival() {
    let g = qemu_with_list_registers(2);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xC0)).unwrap();
    v.inject(software(41, 0xC0)).unwrap();
    // Both LRs pending at 0xC0; these are not more urgent, so they queue.
    for (n, p) in [(50, 0xE0), (51, 0xC0), (52, 0xE0), (53, 0xC0)] {
        assert_eq!(v.inject(software(n, p)), Ok(Injection::Queued));
    }
    assert_eq!(v.inject(software(52, 0xE0)), Ok(Injection::AlreadyQueued));
    let queued: Vec<u32> = v.queued().map(|l| l.virtual_id().get()).collect();
    assert_eq!(queued, [51, 53, 50, 52]);
    // Something is pending in an LR: NPIE asks for the refill.
    assert!(hcr(&g).npie() && !hcr(&g).uie());
    assert_eq!(run_guest(&g, &mut v, &guest).0, [40, 41, 51, 53, 50, 52]);
    // Nothing queued: no refill condition left enabled.
    assert_eq!(gich_read(&g, offset::HCR), 1);
    assert!(!maintenance(&g));
}

#[test]
fn a_more_urgent_interrupt_evicts_the_least_urgent_pending_one() {
    let g = qemu_with_list_registers(2);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xC0)).unwrap();
    v.inject(software(41, 0xE0)).unwrap();
    v.inject(software(42, 0xE0)).unwrap(); // queued behind 41
    cost(&v);
    assert_eq!(
        v.inject(software(43, 0x80)),
        Ok(Injection::EvictedLessUrgent(1))
    );
    // ELRSR, the victim read, the LR write (HCR unchanged: NPIE already set).
    assert_eq!(cost(&v), (2, 1));
    let queued: Vec<u32> = v.queued().map(|l| l.virtual_id().get()).collect();
    assert_eq!(queued, [41, 42], "the evicted one keeps its place ahead");
    assert_eq!(run_guest(&g, &mut v, &guest).0, [43, 40, 41, 42]);
}

#[test]
fn the_no_pending_condition_says_nothing_of_a_pending_and_active_register() {
    // GICH_MISR.NP is "no list register in state pending": a pending and
    // active one does not hold it off (QEMU, the model). So NP does not
    // mean that the guest took a pending+active register's pending half,
    // and the register, pending again once the guest deactivates its
    // active half, must stay a candidate for eviction.
    let g = qemu_with_list_registers(2);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(34, 0x50)).unwrap();
    let first = take(&guest).unwrap();
    assert_eq!(
        v.inject(software(34, 0x50)),
        Ok(Injection::MadePendingActive(0))
    );
    v.inject(software(36, 0x00)).unwrap();
    assert_eq!(v.inject(software(37, 0x50)), Ok(Injection::Queued));
    let urgent = take(&guest).unwrap();
    assert_eq!(urgent.intid(), id(36));
    assert!(v.misr().no_pending(), "LR0 pending+active, LR1 active");
    service(&g, &mut v);
    complete(&guest, first); // LR0: pending again
    assert_eq!(lr_ids(&g, LrState::Pending), [34]);
    assert_eq!(
        v.inject(software(60, 0x00)),
        Ok(Injection::EvictedLessUrgent(0)),
        "34 (0x50) makes way for 60 (0x00)"
    );
    assert_eq!(take(&guest).map(|a| a.intid()), Some(id(60)));
    complete(&guest, urgent);
}

#[test]
fn active_list_registers_are_never_evicted() {
    let g = qemu_with_list_registers(2);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xE0)).unwrap();
    v.inject(software(41, 0xE0)).unwrap();
    let a = take(&guest).unwrap();
    let b = take(&guest).unwrap();
    assert_eq!(v.inject(software(42, 0x00)), Ok(Injection::Queued));
    assert_eq!(lr_ids(&g, LrState::Active), [40, 41]);
    // NPIE was chosen from the stale record; NP fires, the driver learns
    // that every LR is active and switches to UIE: no storm.
    service(&g, &mut v);
    assert!(hcr(&g).uie() && !hcr(&g).npie());
    assert!(!maintenance(&g));
    complete(&guest, b);
    // One valid LR left: underflow, refill.
    assert!(maintenance(&g));
    let s = v.handle_maintenance();
    assert!(s.misr.underflow());
    assert_eq!((s.refilled, s.queued), (1, 0));
    assert!(!maintenance(&g));
    assert_eq!(take(&guest).map(|a| a.raw()), Some(42));
    complete(&guest, a);
}

#[test]
fn no_pending_storm_when_every_list_register_is_active() {
    // The mistake to avoid: NPIE left set with all LRs active.
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    for n in 0..4 {
        v.inject(software(40 + n, 0xA0)).unwrap();
    }
    v.inject(software(50, 0xA0)).unwrap();
    let acks: Vec<Acknowledged> = (0..4).map(|_| take(&guest).unwrap()).collect();
    for _ in 0..3 {
        service(&g, &mut v);
    }
    assert!(!maintenance(&g));
    for ack in acks {
        complete(&guest, ack);
    }
    assert_eq!(run_guest(&g, &mut v, &guest).0, [50]);
}

#[test]
fn single_list_register_never_storms() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    v.inject(software(41, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    service(&g, &mut v);
    assert!(!maintenance(&g));
    // With one LR neither UIE nor NPIE can be used while it is active: the
    // driver set its EOI bit itself, so its completion asks for the refill.
    assert_eq!(lr(&g, 0) & 1 << 19, 1 << 19);
    complete(&guest, ack);
    assert!(maintenance(&g));
    let s = v.handle_maintenance();
    assert_eq!(s.refilled, 1);
    assert!(
        s.completed.is_empty(),
        "the caller did not ask for this completion"
    );
    assert!(!maintenance(&g));
    assert_eq!(run_guest(&g, &mut v, &guest).0, [41]);
}

#[test]
fn full_queue_refuses_and_changes_nothing() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<2>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    v.inject(software(41, 0xA0)).unwrap();
    v.inject(software(42, 0xA0)).unwrap();
    cost(&v);
    assert_eq!(v.inject(software(43, 0x00)), Err(Error::QueueFull(43)));
    assert_eq!(cost(&v).1, 0, "nothing written");
    assert_eq!(v.queued_len(), 2);
    assert_eq!(run_guest(&g, &mut v, &guest).0, [40, 41, 42]);
}

#[test]
fn full_queue_with_a_free_register_makes_room() {
    let g = qemu_with_list_registers(2);
    let (mut v, guest) = setup::<1>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    v.inject(software(41, 0xA0)).unwrap();
    v.inject(software(42, 0xA0)).unwrap(); // queue full
    let ack = take(&guest).unwrap();
    complete(&guest, ack); // LR 0 free, unknown to the driver
    assert_eq!(v.inject(software(43, 0x80)), Ok(Injection::Written(0)));
    assert_eq!(v.queued().next().unwrap().virtual_id(), id(42));
    assert_eq!(v.inject(software(44, 0xA0)), Err(Error::QueueFull(44)));
    assert_eq!(run_guest(&g, &mut v, &guest).0, [43, 41, 42]);
}

#[test]
fn queue_capacity_zero_still_uses_free_registers() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<0>(&g);
    assert_eq!(v.inject(software(40, 0xA0)), Ok(Injection::Written(0)));
    assert_eq!(v.inject(software(41, 0xA0)), Err(Error::QueueFull(41)));
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    assert_eq!(v.inject(software(41, 0xA0)), Ok(Injection::Written(0)));
}

// ---------------------------------------------------------------------
// Maintenance
// ---------------------------------------------------------------------

#[test]
fn eoi_maintenance_reports_the_completion_in_two_accesses() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    v.inject(software_eoi(41, 0x80)).unwrap();
    let ack = take(&guest).unwrap();
    assert_eq!(ack.raw(), 41);
    complete(&guest, ack);
    assert!(maintenance(&g));
    cost(&v);
    let s = v.handle_maintenance();
    assert_eq!(cost(&v), (1, 1), "EISR read + LR write");
    assert!(s.misr.eoi());
    assert_eq!(s.completed.len(), 1);
    assert_eq!(s.completed[0].intid(), id(41));
    assert_eq!(s.completed[0].source_cpu(), None);
    assert!(!maintenance(&g));
    assert_eq!(v.in_use(), 1);
    assert_eq!(lr(&g, 1), 0);
}

#[test]
fn eoi_maintenance_reports_the_sgi_source() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software_eoi(2, 0x80).with_source_cpu(3).unwrap())
        .unwrap();
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    let s = v.handle_maintenance();
    assert_eq!(s.completed[0].intid(), id(2));
    assert_eq!(s.completed[0].source_cpu(), Some(3));
}

#[test]
fn a_retired_register_is_refilled_directly() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software_eoi(40, 0xA0)).unwrap();
    v.inject(software(41, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    cost(&v);
    let s = v.handle_maintenance();
    assert_eq!(s.refilled, 1);
    // MISR (NPIE was on), EISR; the LR written with 41 instead of 0; HCR NPIE off.
    assert_eq!(cost(&v), (2, 2));
    assert_eq!(lr_ids(&g, LrState::Pending), [41]);
    assert!(!maintenance(&g));
}

#[test]
fn reinjecting_while_the_completion_is_unreported_takes_another_register() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software_eoi(40, 0xA0)).unwrap();
    let ack = take(&guest).unwrap();
    complete(&guest, ack);
    // The EOI condition is outstanding in LR 0; the new one goes elsewhere.
    assert_eq!(v.inject(software_eoi(40, 0xA0)), Ok(Injection::Written(1)));
    let s = v.handle_maintenance();
    assert_eq!(s.completed.len(), 1);
    assert_eq!(lr_ids(&g, LrState::Pending), [40]);
    assert_eq!(v.in_use(), 0b10);
}

#[test]
fn eoi_matching_no_list_register_is_counted_and_consumed() {
    let g = qemu();
    let (mut v, guest) = setup::<32>(&g);
    let mut h = Hcr::ENABLED;
    h.set_lrenpie(true);
    v.set_hcr(h).unwrap();
    // The guest deactivates interrupts no list register holds.
    complete(&guest, Acknowledged::from_raw(99));
    complete(&guest, Acknowledged::from_raw(98));
    assert!(maintenance(&g), "LRENP: EOICount is non-zero");
    let s = v.handle_maintenance();
    assert!(s.misr.lr_entry_not_present());
    assert_eq!(s.unmatched_eois, 2);
    assert_eq!(hcr(&g).eoi_count(), 0);
    assert!(!maintenance(&g));

    // With EOImode 0, the guest ends an interrupt no list register holds
    // while another is active.
    let guest = self::guest(&g, EoiMode::Combined);
    v.inject(software_eoi(60, 0x80)).unwrap();
    let ack = guest.acknowledge().unwrap();
    guest.end_of_interrupt(Acknowledged::from_raw(61));
    assert!(maintenance(&g));
    let s = v.handle_maintenance();
    assert!(s.misr.lr_entry_not_present());
    assert_eq!(s.unmatched_eois, 1);
    assert!(!maintenance(&g));
    assert_eq!(v.read_hcr().eoi_count(), 0);
    // Its priority was dropped all the same; the real one is still active.
    assert_eq!(guest.running_priority(), gic_driver::Priority::LOWEST);
    assert_eq!(v.read_list_register(0).unwrap().state(), LrState::Active);
    guest.end_of_interrupt(ack);
    assert_eq!(service(&g, &mut v), [60]);
}

#[test]
fn changing_hcr_enables_keeps_the_eois_the_guest_counted() {
    let g = qemu_with_list_registers(1);
    let (mut v, guest) = setup::<32>(&g);
    v.inject(software_eoi(62, 0x80)).unwrap();
    complete(&guest, Acknowledged::from_raw(63)); // matches no LR
    assert_eq!(v.read_hcr().eoi_count(), 1);
    // The hypervisor turns LRENPIE on with the HCR it last wrote (count 0).
    let mut h = v.hcr();
    assert_eq!(h.eoi_count(), 0);
    h.set_lrenpie(true);
    v.set_hcr(h).unwrap();
    assert_eq!(v.read_hcr().eoi_count(), 1, "the guest's count survives");
    assert!(maintenance(&g));
    assert_eq!(v.handle_maintenance().unmatched_eois, 1);
    assert!(!maintenance(&g));
    // Queuing changes NPIE: the count the guest made since is kept too.
    complete(&guest, Acknowledged::from_raw(63));
    v.inject(software(64, 0x80)).unwrap();
    assert!(hcr(&g).npie());
    assert_eq!(hcr(&g).eoi_count(), 1);
    assert_eq!(v.handle_maintenance().unmatched_eois, 1);
    assert_eq!(run_guest(&g, &mut v, &guest), (vec![62, 64], vec![62]));
}

#[test]
fn group_enable_conditions_are_one_shot() {
    let g = qemu();
    let mut v = counted::<32>(&g);
    let mut h = Hcr::ENABLED;
    h.set_vgrp1eie(true);
    v.set_hcr(h).unwrap();
    assert!(!maintenance(&g));
    // The guest enables Group 1 (GICV_CTLR).
    g.frame(Frame::Gicv, 0)
        .write32(gicc::offset::CTLR, gicc::CTLR::EnableGrp1::SET.value);
    assert!(maintenance(&g));
    let s = v.handle_maintenance();
    assert!(s.misr.vgrp1_enabled());
    assert!(!maintenance(&g));
    assert!(!v.hcr().vgrp1eie());
}

#[test]
fn spurious_maintenance_costs_one_read() {
    let g = qemu();
    let (mut v, _guest) = setup::<32>(&g);
    v.inject(software(40, 0xA0)).unwrap();
    cost(&v);
    let s = v.handle_maintenance();
    assert!(s.is_spurious());
    assert_eq!(cost(&v), (1, 0));
}
