//! Whole virtualization flows: the hypervisor drives GICH with the driver's
//! `VirtualInterface`, the guest drives GICV with `CpuInterface`, and the
//! model plays the GIC (IHI 0048B chapter 5) underneath both.

use gic_driver::bus::RegisterBus;
use std::collections::HashMap;

use gic_driver::virt::{Hcr, Injection, LrState};
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, Distributor, EoiMode, Error, Group,
    ListRegister, Priority, Trigger, VcpuContext, VirtualInterface,
};
use gic_model::{Frame, SharedGic};

mod common;
use common::*;

#[test]
fn injected_interrupt_is_acknowledged_completed_and_its_list_register_retired() {
    let g = qemu();
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    assert_eq!(vif.info().list_registers, 4);

    assert_eq!(
        vif.inject(software_eoi(40, 0x80)).unwrap(),
        Injection::Written(0)
    );
    assert!(g.lock().virq(0), "a pending LR signals VIRQ");
    assert!(!maintenance(&g));

    let ack = guest.acknowledge().unwrap();
    assert_eq!(ack.intid(), id(40));
    assert_eq!(guest.running_priority(), Priority(0x80));
    assert_eq!(vif.read_list_register(0).unwrap().state(), LrState::Active);
    assert!(!g.lock().virq(0));

    guest.end_of_interrupt(ack);
    assert!(maintenance(&g), "EOI bit: maintenance interrupt");
    assert!(
        g.lock().is_pending(0, MAINTENANCE),
        "seen as INTID 25 (PPI 9) pending"
    );
    assert_eq!(vif.eisr(), 1);

    let s = vif.handle_maintenance();
    assert!(s.misr.eoi());
    assert_eq!(
        s.completed.iter().map(|c| c.intid()).collect::<Vec<_>>(),
        [id(40)]
    );
    assert!(!maintenance(&g));
    assert!(
        !g.lock().is_pending(0, MAINTENANCE),
        "the level input dropped"
    );
    assert_eq!(vif.in_use(), 0);
    assert_eq!(vif.elrsr() & 0xF, 0xF, "every LR empty again");
    assert_eq!(guest.running_priority(), Priority::LOWEST);
    assert!(guest.acknowledge().is_none());
}

#[test]
fn the_guests_cpu_interface_works_unchanged_on_gicv() {
    let g = qemu();
    let mut vif = hypervisor(&g);
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    guest
        .init(&CpuInterfaceConfig {
            priority_mask: Priority(0xF8),
            binary_point: 0,
            ack_ctl: false,
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
    assert_eq!(guest.binary_point(), 2, "GICV_BPR is raised to its minimum");
    assert_eq!(guest.priority_mask(), Priority(0xF8));
    let g1 = ListRegister::software(id(44), Priority(0x80), Group::Group1).unwrap();
    vif.inject(g1).unwrap();
    assert!(
        guest.acknowledge().is_none(),
        "GICV_IAR reads 1022: AckCtl clear"
    );
    assert_eq!(vif.read_list_register(0).unwrap().state(), LrState::Pending);
    let mut config = guest.control();
    config.modify(gic_driver::regs::gicc::CTLR::AckCtl::SET);
    g.frame(Frame::Gicv, 0).write32(0, config.get());
    assert_eq!(guest.acknowledge().map(|a| a.intid()), Some(id(44)));
}

#[test]
fn hardware_interrupt_stays_active_until_the_guest_deactivates_it() {
    let g = qemu();
    let (d, host) = physical(&g);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    let timer = id(VTIMER);
    d.enable_interrupt(timer).unwrap();

    g.lock().set_line(0, VTIMER, true).unwrap();
    let phys = host.acknowledge().unwrap();
    assert_eq!(phys.intid(), timer);
    host.end_of_interrupt(phys);
    assert_eq!(host.running_priority(), Priority::LOWEST);
    assert!(d.is_active(timer).unwrap());

    let lr = ListRegister::hardware(timer, timer, Priority(0xA0), Group::Group0).unwrap();
    vif.inject(lr).unwrap();
    assert!(
        host.acknowledge().is_none(),
        "still active: not taken again"
    );

    let ack = guest.acknowledge().unwrap();
    assert_eq!(ack.intid(), timer);
    assert!(d.is_active(timer).unwrap(), "active until the guest's EOI");
    // The guest's handler quiets its timer, then ends the interrupt.
    g.lock().set_line(0, VTIMER, false).unwrap();
    guest.end_of_interrupt(ack);
    assert!(
        !d.is_active(timer).unwrap(),
        "the guest's EOI deactivated it"
    );
    assert!(!maintenance(&g), "HW interrupts need no maintenance");
    assert_eq!(vif.read_list_register(0).unwrap().state(), LrState::Invalid);
}

#[test]
fn twelve_interrupts_through_four_list_registers_arrive_in_priority_order() {
    let g = qemu();
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    let prios = [
        0x80u8, 0x40, 0xC0, 0x20, 0x80, 0xF0, 0x08, 0x40, 0x60, 0xA0, 0x10, 0x80,
    ];
    let injected: HashMap<u32, u8> = prios
        .iter()
        .enumerate()
        .map(|(i, &p)| (32 + i as u32, p))
        .collect();
    for (i, &p) in prios.iter().enumerate() {
        vif.inject(software_eoi(32 + i as u32, p)).unwrap();
    }
    assert_eq!(vif.queued_len(), 8);

    let mut taken = Vec::new();
    let mut completed = Vec::new();
    loop {
        completed.extend(service(&g, &mut vif));
        let Some(ack) = guest.acknowledge() else {
            break;
        };
        taken.push(ack.intid().get());
        guest.end_of_interrupt(ack);
    }
    completed.extend(service(&g, &mut vif));

    let taken_prios: Vec<u8> = taken.iter().map(|n| injected[n]).collect();
    let mut sorted = taken_prios.clone();
    sorted.sort();
    assert_eq!(taken_prios, sorted, "taken in priority order: {taken:?}");
    let mut all: Vec<u32> = injected.keys().copied().collect();
    all.sort();
    let mut t = taken.clone();
    t.sort();
    assert_eq!(t, all, "every interrupt taken exactly once");
    completed.sort();
    assert_eq!(completed, all, "every completion reported exactly once");
    assert_eq!(vif.queued_len(), 0);
    let hcr = Hcr::from_raw(g.lock().read(Frame::Gich, 0, 0, gic_model::Width::Word));
    assert!(
        !hcr.npie() && !hcr.uie(),
        "refill conditions off once nothing is queued"
    );
}

#[test]
fn more_urgent_interrupt_preempts_inside_the_guest() {
    let g = qemu();
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    vif.inject(software_eoi(40, 0x80)).unwrap();
    let outer = guest.acknowledge().unwrap();

    vif.inject(software_eoi(41, 0xA0)).unwrap();
    assert!(!g.lock().virq(0), "0xA0 does not preempt 0x80");
    assert!(guest.acknowledge().is_none());

    vif.inject(software_eoi(42, 0x40)).unwrap();
    assert!(g.lock().virq(0), "0x40 preempts 0x80");
    let inner = guest.acknowledge().unwrap();
    assert_eq!(inner.intid(), id(42));
    assert_eq!(guest.running_priority(), Priority(0x40));
    guest.end_of_interrupt(inner);
    assert_eq!(service(&g, &mut vif), [42]);
    assert_eq!(guest.running_priority(), Priority(0x80));
    guest.end_of_interrupt(outer);
    assert_eq!(service(&g, &mut vif), [40]);
    let last = guest.acknowledge().unwrap();
    assert_eq!(last.intid(), id(41));
}

#[test]
fn level_trigger_setting_does_not_leak_into_virtual_delivery() {
    // A physical level SPI forwarded with HW=1 stays pending in the
    // distributor while its line is high, so after the guest's EOI it is
    // taken again by EL2 (not by the guest directly).
    let g = qemu();
    let (d, host) = physical(&g);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    let spi = id(48);
    d.set_trigger(spi, Trigger::Level).unwrap();
    d.enable_interrupt(spi).unwrap();
    g.lock().set_line(0, 48, true).unwrap();
    let phys = host.acknowledge().unwrap();
    host.end_of_interrupt(phys);
    vif.inject(ListRegister::hardware(spi, spi, Priority(0x80), Group::Group0).unwrap())
        .unwrap();
    let ack = guest.acknowledge().unwrap();
    guest.end_of_interrupt(ack);
    assert!(!d.is_active(spi).unwrap());
    assert_eq!(
        host.acknowledge().map(|a| a.intid()),
        Some(spi),
        "line still high"
    );
}

// ---------------------------------------------------------------------
// A request never merges into an entry of the other kind (issue 6, item 1)
// ---------------------------------------------------------------------

/// Physical SPI 64 acknowledged by EL2 and its priority dropped (split EOI):
/// active in the distributor, waiting for the guest's deactivation of the
/// virtual interrupt it is forwarded as.
fn forwarded_spi_64<B: RegisterBus>(d: &Distributor<B>, host: &CpuInterface<B>) -> Acknowledged {
    d.enable_interrupt(id(64)).unwrap();
    d.set_pending(id(64)).unwrap();
    let phys = host.acknowledge().unwrap();
    assert_eq!(phys.intid(), id(64));
    host.end_of_interrupt(phys);
    assert!(d.is_active(id(64)).unwrap());
    phys
}

/// Virtual 40 backed by physical 64 (GICH_LRn 0x98010028 when pending).
fn hw_40_on_64() -> ListRegister {
    hardware(40, 64, 0x80)
}

#[test]
fn a_software_request_never_changes_a_hardware_list_register_of_the_same_virtual_id() {
    let g = qemu();
    let (d, host) = physical(&g);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    forwarded_spi_64(&d, &host);
    assert_eq!(vif.inject(hw_40_on_64()).unwrap(), Injection::Written(0));
    assert_eq!(vif.read_list_register_raw(0).unwrap(), 0x9801_0028);

    // Pending HW = 1 register: the software request is refused, LR0 kept.
    assert_eq!(
        vif.inject(software_eoi(40, 0x80)),
        Err(Error::ConflictsWithListRegister {
            intid: 40,
            list_register: 0
        })
    );
    assert_eq!(vif.read_list_register_raw(0).unwrap(), 0x9801_0028);

    // Active HW = 1 register: the same.
    let ack = guest.acknowledge().unwrap();
    assert_eq!(ack.intid(), id(40));
    assert_eq!(
        vif.inject(software_eoi(40, 0x80)),
        Err(Error::ConflictsWithListRegister {
            intid: 40,
            list_register: 0
        })
    );
    assert_eq!(vif.read_list_register_raw(0).unwrap(), 0xA801_0028);

    // The guest's EOI deactivates physical 64, not 576.
    guest.end_of_interrupt(ack);
    assert!(!d.is_active(id(64)).unwrap(), "physical 64 deactivated");
    assert!(!maintenance(&g));
    assert_eq!(service(&g, &mut vif), Vec::<u32>::new());
}

#[test]
fn a_software_request_never_changes_a_queued_hardware_entry_of_the_same_virtual_id() {
    let g = qemu();
    let (d, host) = physical(&g);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    forwarded_spi_64(&d, &host);
    for n in 0..4 {
        vif.inject(software_eoi(80 + n, 0x10)).unwrap();
    }
    assert_eq!(vif.inject(hw_40_on_64()).unwrap(), Injection::Queued);
    assert_eq!(
        vif.inject(software_eoi(40, 0x80)),
        Err(Error::ConflictsWithQueued {
            intid: 40,
            position: 0
        })
    );
    let queued: Vec<ListRegister> = vif.queued().collect();
    assert_eq!(queued, [hw_40_on_64()], "the queued entry is unchanged");

    // Everything delivered: the forwarded interrupt's EOI deactivates 64.
    let mut taken = Vec::new();
    loop {
        service(&g, &mut vif);
        vif.refill();
        let Some(ack) = guest.acknowledge() else {
            break;
        };
        taken.push(ack.intid().get());
        guest.end_of_interrupt(ack);
    }
    assert_eq!(taken, [80, 81, 82, 83, 40]);
    assert!(!d.is_active(id(64)).unwrap(), "physical 64 deactivated");
}

#[test]
fn a_hardware_request_is_refused_where_a_software_entry_holds_its_virtual_id() {
    let g = qemu();
    let (d, host) = physical(&g);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    forwarded_spi_64(&d, &host);

    // Pending software register.
    vif.inject(software_eoi(40, 0x80)).unwrap();
    let before = vif.read_list_register_raw(0).unwrap();
    assert_eq!(
        vif.inject(hw_40_on_64()),
        Err(Error::ConflictsWithListRegister {
            intid: 40,
            list_register: 0
        })
    );
    assert_eq!(vif.read_list_register_raw(0).unwrap(), before);
    // Active software register: not made pending+active without its link.
    let ack = guest.acknowledge().unwrap();
    assert_eq!(
        vif.inject(hw_40_on_64()),
        Err(Error::ConflictsWithListRegister {
            intid: 40,
            list_register: 0
        })
    );
    assert_eq!(vif.read_list_register(0).unwrap().state(), LrState::Active);
    guest.end_of_interrupt(ack);
    assert_eq!(service(&g, &mut vif), [40]);
    assert!(d.is_active(id(64)).unwrap(), "the caller still holds 64");

    // Queued software entry.
    for n in 0..4 {
        vif.inject(software_eoi(80 + n, 0x10)).unwrap();
    }
    vif.inject(software_eoi(41, 0x80)).unwrap();
    vif.inject(software_eoi(40, 0x80)).unwrap();
    assert_eq!(
        vif.inject(hw_40_on_64()),
        Err(Error::ConflictsWithQueued {
            intid: 40,
            position: 1
        })
    );
    assert_eq!(
        vif.queued().map(|q| q.physical_id()).collect::<Vec<_>>(),
        [None, None]
    );

    // Once the software interrupt is gone, the forwarded one is accepted.
    loop {
        service(&g, &mut vif);
        vif.refill();
        let Some(ack) = guest.acknowledge() else {
            break;
        };
        guest.end_of_interrupt(ack);
    }
    service(&g, &mut vif);
    assert!(vif.inject(hw_40_on_64()).is_ok());
    let ack = guest.acknowledge().unwrap();
    guest.end_of_interrupt(ack);
    assert!(!d.is_active(id(64)).unwrap());
}

#[test]
fn a_hardware_request_for_another_physical_interrupt_is_refused() {
    let g = qemu();
    let (d, host) = physical(&g);
    let mut vif = hypervisor(&g);
    forwarded_spi_64(&d, &host);
    vif.inject(hw_40_on_64()).unwrap();
    let on_65 = ListRegister::hardware(id(40), id(65), Priority(0x80), Group::Group0).unwrap();
    assert_eq!(
        vif.inject(on_65),
        Err(Error::ConflictsWithListRegister {
            intid: 40,
            list_register: 0
        })
    );
    assert_eq!(vif.read_list_register_raw(0).unwrap(), 0x9801_0028);
    // The same link again merges as before.
    assert_eq!(
        vif.inject(hw_40_on_64()),
        Ok(Injection::AlreadyInListRegister(0))
    );
}

#[test]
fn a_saved_context_refuses_a_request_of_the_other_kind_too() {
    let mut ctx: VcpuContext = VcpuContext::with_list_registers(1);
    ctx.inject(hw_40_on_64()).unwrap();
    assert_eq!(
        ctx.inject(software_eoi(40, 0x80)),
        Err(Error::ConflictsWithListRegister {
            intid: 40,
            list_register: 0
        })
    );
    assert_eq!(ctx.list_register(0).unwrap(), hw_40_on_64());
    ctx.inject(software_eoi(41, 0x80)).unwrap();
    assert_eq!(
        ctx.inject(ListRegister::hardware(id(41), id(65), Priority(0x80), Group::Group0).unwrap()),
        Err(Error::ConflictsWithQueued {
            intid: 41,
            position: 0
        })
    );
}

// ---------------------------------------------------------------------
// A context means the same after its byte form (issue 6, item 4)
// ---------------------------------------------------------------------

#[test]
fn a_driver_added_eoi_bit_stays_the_drivers_through_the_context_bytes() {
    let g = qemu_with_list_registers(1);
    let mut vif = hypervisor(&g);
    // 1. inject 40 without EOI maintenance (into the saved vCPU); 2. switch in.
    let mut ctx = vif.new_context();
    ctx.inject(software(40, 0x80)).unwrap();
    vif.switch_out().unwrap();
    vif.switch_in(ctx).unwrap();
    let guest = guest(&g, EoiMode::Combined);
    // 3. the guest acknowledges it.
    let ack = guest.acknowledge().unwrap();
    assert_eq!(ack.intid(), id(40));
    // 4. inject 41: queued behind the single list register.
    assert_eq!(vif.inject(software(41, 0x80)).unwrap(), Injection::Queued);
    // 5. handle maintenance: NP (40 was taken), and the driver sets the
    // active LR's EOI bit itself to learn when to refill.
    assert!(maintenance(&g));
    assert!(vif.handle_maintenance().completed.is_empty());
    assert!(!maintenance(&g));
    assert!(vif.read_list_register(0).unwrap().eoi_maintenance());
    // 6. switch out.
    let ctx = vif.switch_out().unwrap();
    // 7. bytes round trip; 8. switch in.
    let ctx = through_bytes(&ctx);
    vif.switch_in(ctx).unwrap();
    // 9. the guest ends 40: its EOI maintenance interrupt refills, and the
    // completion nobody asked for is not reported.
    guest.end_of_interrupt(ack);
    assert!(maintenance(&g), "the driver's EOI bit asks for the refill");
    let s = vif.handle_maintenance();
    assert_eq!(
        s.completed
            .iter()
            .map(|c| c.intid().get())
            .collect::<Vec<_>>(),
        Vec::<u32>::new()
    );
    assert_eq!(s.refilled, 1);
    assert_eq!(run_guest(&g, &mut vif, &guest), (vec![41], vec![]));
}

#[test]
fn an_evicted_interrupt_leaves_the_driver_added_eoi_bit_behind_after_a_round_trip() {
    let g = qemu_with_list_registers(1);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    vif.inject(software(40, 0x80)).unwrap();
    let ack = guest.acknowledge().unwrap();
    vif.inject(software(41, 0x80)).unwrap(); // queued; the driver sets LR0's EOI bit
                                             // 40 fires again while active, and the guest ends the first instance:
                                             // LR0 is pending, with the driver's EOI bit.
    assert_eq!(
        vif.inject(software(40, 0x80)).unwrap(),
        Injection::MadePendingActive(0)
    );
    guest.end_of_interrupt(ack);
    assert!(service(&g, &mut vif).is_empty());
    let ctx = vif.switch_out().unwrap();
    let ctx = through_bytes(&ctx);
    vif.switch_in(ctx).unwrap();
    // A more urgent interrupt evicts 40 back to the queue: as injected,
    // without the driver's bit.
    assert_eq!(
        vif.inject(software(39, 0x10)).unwrap(),
        Injection::EvictedLessUrgent(0)
    );
    assert!(
        vif.queued().all(|q| !q.eoi_maintenance()),
        "queued: {:?}",
        vif.queued().collect::<Vec<_>>()
    );
    let ctx2 = vif.switch_out().unwrap();
    let ctx2 = through_bytes(&ctx2);
    vif.switch_in(ctx2).unwrap();
    assert_eq!(
        run_guest(&g, &mut vif, &guest),
        (vec![39, 40, 41], vec![]),
        "every interrupt delivered, and no completion reported: none was asked for"
    );
}

#[test]
fn a_requested_completion_is_still_reported_after_a_round_trip() {
    let g = qemu_with_list_registers(1);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    vif.inject(software_eoi(40, 0x80)).unwrap();
    let ack = guest.acknowledge().unwrap();
    vif.inject(software(41, 0x80)).unwrap();
    let ctx = vif.switch_out().unwrap();
    let ctx = through_bytes(&ctx);
    vif.switch_in(ctx).unwrap();
    guest.end_of_interrupt(ack);
    assert_eq!(run_guest(&g, &mut vif, &guest), (vec![41], vec![40]));
}

#[test]
fn the_driver_eoi_section_is_read_strictly_and_skipped_by_the_model() {
    use gic_driver::snapshot::{tag, SnapshotError, Writer};
    let g = qemu_with_list_registers(1);
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Combined);
    vif.inject(software(40, 0x80)).unwrap();
    let _ack = guest.acknowledge().unwrap();
    vif.inject(software(41, 0x80)).unwrap();
    service(&g, &mut vif);
    let ctx = vif.switch_out().unwrap();
    let mut buf = [0u8; 512];
    let n = ctx.to_bytes(&mut buf).unwrap();
    let bytes = &buf[..n];
    // The section is the last one: its 8-byte payload names LR0.
    assert_eq!(
        &bytes[n - 16..n - 14],
        &tag::DRIVER_EOI.to_le_bytes()[..],
        "tag"
    );
    assert_eq!(&bytes[n - 8..], &1u64.to_le_bytes()[..]);
    assert_eq!(VcpuContext::<32>::from_bytes(bytes).unwrap(), ctx);
    // The model reads the architectural state and skips the section.
    let m = qemu_with_list_registers(1);
    m.lock().set_vcpu_from_bytes(0, bytes).unwrap();

    // A bit for a list register not in use, or one that is HW = 1 or has
    // no EOI bit, is refused.
    let with_section = |map: u64, lr0: u32| {
        let mut out = [0u8; 128];
        let mut w = Writer::new(&mut out);
        w.begin_section(tag::VIRT);
        w.u8(1);
        gic_driver::snapshot::VcpuRecord {
            hcr: 1,
            lr_count: 1,
            lrs: {
                let mut l = [0; 64];
                l[0] = lr0;
                l
            },
            ..Default::default()
        }
        .write(&mut w);
        w.begin_section(tag::DRIVER_EOI);
        w.u64(map);
        let n = w.finish().unwrap();
        VcpuContext::<32>::from_bytes(&out[..n])
    };
    let active_eoi = software(40, 0x80)
        .with_eoi_maintenance()
        .with_state(LrState::Active)
        .encode();
    let corrupt = Err(Error::Snapshot(SnapshotError::Corrupt));
    assert!(with_section(1, active_eoi).is_ok());
    assert_eq!(with_section(2, active_eoi), corrupt, "LR1 not in use");
    assert_eq!(
        with_section(1, software(40, 0x80).with_state(LrState::Active).encode()),
        corrupt,
        "no EOI bit"
    );
    assert_eq!(
        with_section(1, hw_40_on_64().with_state(LrState::Active).encode()),
        corrupt,
        "HW = 1"
    );
    assert_eq!(with_section(1, 0), corrupt, "LR0 free");
}

// ---------------------------------------------------------------------
// No priority inversion through pending+active (issue 6, also noticed)
// ---------------------------------------------------------------------

/// Every list register active: the guest (EOImode 1) acknowledges 41-43 at
/// 0x20 and 40 at 0xA0 and drops their priority, leaving them active. Then
/// 40 fires again (pending+active) and 50 at 0x40 must wait for a register.
/// Returns the guest's acknowledgements of 40, 41, 42, 43.
fn all_active_then_40_again_and_50_waiting<B: RegisterBus, const Q: usize>(
    g: &SharedGic,
    vif: &mut VirtualInterface<B, Q>,
    guest: &CpuInterface<B>,
) -> Vec<Acknowledged> {
    for (n, p) in [(40, 0xA0), (41, 0x20), (42, 0x20), (43, 0x20)] {
        vif.inject(software(n, p)).unwrap();
    }
    let mut acks = Vec::new();
    for _ in 0..4 {
        let ack = guest.acknowledge().unwrap();
        guest.end_of_interrupt(ack); // priority drop only
        acks.push(ack);
    }
    acks.sort_by_key(|a| a.intid());
    assert_eq!(
        acks.iter().map(|a| a.intid().get()).collect::<Vec<_>>(),
        [40, 41, 42, 43]
    );
    service(g, vif);
    vif.inject(software(40, 0xA0)).unwrap();
    assert_eq!(vif.inject(software(50, 0x40)).unwrap(), Injection::Queued);
    service(g, vif);
    acks
}

#[test]
fn a_pending_and_active_interrupt_never_returns_to_pending_ahead_of_a_more_urgent_waiting_one() {
    fifty_before_forty_again(false);
}

#[test]
fn a_held_back_pending_state_survives_the_context_bytes() {
    fifty_before_forty_again(true);
}

fn fifty_before_forty_again(round_trip: bool) {
    let g = qemu();
    let mut vif = hypervisor(&g);
    let guest = guest(&g, EoiMode::Split);
    let acks = all_active_then_40_again_and_50_waiting(&g, &mut vif, &guest);
    if round_trip {
        let ctx = vif.switch_out().unwrap();
        let ctx = through_bytes(&ctx);
        assert_eq!(ctx.queued_len(), 2, "50, and 40's second instance");
        vif.switch_in(ctx).unwrap();
    }
    // The guest deactivates 40: its second instance is pending again, and
    // no maintenance condition fires for that transition.
    guest.deactivate(acks[0]);
    service(&g, &mut vif);
    let next = guest.acknowledge().map(|a| a.intid().get());
    assert_eq!(next, Some(50), "50 (0x40) is more urgent than 40 (0xA0)");
    let b = Acknowledged::from_raw(50);
    guest.end_of_interrupt(b);
    guest.deactivate(b);
    service(&g, &mut vif);
    // The rest completes; 40 is delivered again, once, after 50.
    let mut taken = vec![50];
    for ack in &acks[1..] {
        guest.deactivate(*ack);
        service(&g, &mut vif);
    }
    for _ in 0..10 {
        service(&g, &mut vif);
        let Some(ack) = guest.acknowledge() else {
            break;
        };
        taken.push(ack.intid().get());
        guest.end_of_interrupt(ack);
        guest.deactivate(ack);
    }
    assert_eq!(taken, [50, 40]);
    assert_eq!(vif.queued_len(), 0);
    assert_eq!(vif.in_use() & !vif.elrsr(), 0, "nothing left valid");
}

#[test]
fn with_the_queue_full_a_pending_and_active_interrupt_goes_ahead_at_most_once() {
    let g = qemu();
    // A queue of one: once 50 waits, there is no room to hold 40 back.
    let mut vif: VirtualInterface<_, 1> = VirtualInterface::new(g.frame(Frame::Gich, 0));
    vif.init();
    let guest = guest(&g, EoiMode::Split);
    let acks = all_active_then_40_again_and_50_waiting(&g, &mut vif, &guest);
    assert_eq!(
        vif.read_list_register(0).unwrap().state(),
        LrState::PendingActive,
        "left in place"
    );
    guest.deactivate(acks[0]);
    service(&g, &mut vif);
    // The bound: 40 is taken once ahead of 50 ...
    let again = guest.acknowledge().unwrap();
    assert_eq!(again.intid(), id(40));
    guest.end_of_interrupt(again);
    vif.refill();
    assert!(guest.acknowledge().is_none(), "50 has no register yet");
    // ... and not again: once 40 is deactivated its register goes to 50.
    guest.deactivate(again);
    service(&g, &mut vif);
    vif.refill();
    assert_eq!(guest.acknowledge().map(|a| a.intid()), Some(id(50)));
    assert_eq!(vif.queued_len(), 0);
}
