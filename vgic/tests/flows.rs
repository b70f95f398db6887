//! Whole flows on the host: the guest's own driver programs its GICD through
//! the vGIC's trap path and takes its interrupts from GICV, the hypervisor
//! folds and flushes on every exit, the model plays the physical GIC.

mod common;

use common::*;
use gic_driver::regs::gicd::offset;
use gic_driver::virt::LrState;
use gic_driver::{CpuMask, Priority, SgiTarget, Trigger};
use gic_vgic::trap::AccessWidth;

/// SPI `n`, edge-triggered, enabled by the guest.
fn edge_spi(guest: &Guest, n: u32) {
    guest.gicd.set_trigger(id(n), Trigger::Edge).unwrap();
    guest.gicd.enable_interrupt(id(n)).unwrap();
}

fn vdist_idle(m: &Machine, n: u32) -> bool {
    let v = m.vgic.borrow();
    !v.distributor().is_pending(0, n) && !v.distributor().is_active(0, n)
}

#[test]
fn the_guest_programs_its_gicd_through_traps_and_reads_its_shape() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    assert_eq!(guest.gicd.info().lines, 288);
    assert_eq!(guest.gicd.info().cpus, 1);
    assert_eq!(
        guest.gicd.info().implemented_priority,
        0xF8,
        "five virtual priority bits"
    );
    let typer = m.trapped_read(offset::TYPER, AccessWidth::Word);
    assert_eq!(typer & 0x1F, 288 / 32 - 1, "ITLinesNumber");
    assert_eq!((typer >> 5) & 0x7, 0, "CPUNumber: one vCPU");
    assert!(m.exits.get() > 500, "every GICD access was an exit");
    assert_eq!(guest.gicd.is_enabled(), (true, true));

    guest.gicd.set_priority(id(40), Priority(0x60)).unwrap();
    guest.gicd.set_trigger(id(40), Trigger::Edge).unwrap();
    guest.gicd.enable_interrupt(id(40)).unwrap();
    let v = m.vgic.borrow();
    let d = v.distributor();
    assert_eq!(d.priority(0, 40), Some(0x60));
    assert_eq!(
        d.priority(0, 41),
        Some(0xA0),
        "Distributor::init's priority"
    );
    assert!(d.is_enabled(0, 40) && !d.is_enabled(0, 41));
    assert!(d.is_edge_triggered(0, 40) && !d.is_edge_triggered(0, 41));
    drop(v);
    assert_eq!(guest.gicd.priority(id(40)).unwrap(), Priority(0x60));
    assert_eq!(guest.gicd.trigger(id(40)).unwrap(), Trigger::Edge);
    assert_eq!(
        guest.gicd.targets(id(40)).unwrap(),
        CpuMask::cpu(0).unwrap()
    );
}

#[test]
fn a_virtual_edge_spi_arrives_in_gicv_and_its_eoi_completes_it() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    edge_spi(&guest, 40);
    m.set_line(40, true);
    assert!(g.lock().virq(0), "listed and signalled");
    let a = guest.ack().expect("delivered");
    assert_eq!(a.intid(), id(40));
    guest.eoi(a);
    m.plain_exit();
    assert!(vdist_idle(&m, 40), "completed: neither pending nor active");
    assert!(guest.ack().is_none());
    assert!(m.list_registers().iter().all(|&v| v == 0));
}

#[test]
fn a_virtual_level_spi_arrives_in_gicv_and_its_eoi_completes_it() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    guest.gicd.enable_interrupt(id(41)).unwrap();
    m.set_line(41, true);
    let a = guest.ack().expect("delivered");
    assert_eq!(a.intid(), id(41));
    // The handler quiets the device (an exit to its emulation), then EOIs.
    m.set_line(41, false);
    guest.eoi(a);
    m.plain_exit();
    assert!(vdist_idle(&m, 41));
    assert!(guest.ack().is_none());
}

#[test]
fn a_forwarded_hw_interrupt_is_deactivated_by_the_guests_eoi_and_never_storms() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    let timer = id(VTIMER);
    m.host_dist.enable_interrupt(timer).unwrap();
    m.vgic.borrow_mut().forward(0, timer, timer).unwrap();
    guest.gicd.enable_interrupt(timer).unwrap();

    // The physical timer fires: EL2 takes it, drops its priority only.
    g.lock().set_line(0, VTIMER, true).unwrap();
    assert_eq!(m.service(), 1, "one exit for the physical IRQ");
    assert!(
        m.host_dist.is_active(timer).unwrap(),
        "left active for the guest"
    );
    assert_eq!(m.vgic.borrow().stats().forwarded, 1);
    let lr = m.listed(&m.vif.borrow());
    assert_eq!(lr.len(), 1);
    assert_eq!(lr[0].physical_id(), Some(timer), "listed with HW = 1");

    let a = guest.ack().expect("delivered");
    assert_eq!(a.intid(), timer);
    assert!(m.host_dist.is_active(timer).unwrap());
    g.lock().set_line(0, VTIMER, false).unwrap();
    guest.eoi(a);
    assert!(
        !m.host_dist.is_active(timer).unwrap(),
        "the guest's EOI deactivated it"
    );
    assert!(!m.host_dist.is_pending(timer).unwrap());
    assert!(!g.lock().irq(0) && !g.lock().maintenance(0));
    let exits = m.exits.get();
    m.plain_exit();
    assert!(vdist_idle(&m, VTIMER));
    assert!(guest.ack().is_none(), "not delivered again");
    assert_eq!(m.service(), 0, "no storm");
    assert_eq!(m.exits.get(), exits + 1);
    assert!(!m.host_dist.is_active(timer).unwrap());

    // It fires again: delivered once more, the same way.
    g.lock().set_line(0, VTIMER, true).unwrap();
    m.service();
    let a = guest.ack().expect("delivered again");
    g.lock().set_line(0, VTIMER, false).unwrap();
    guest.eoi(a);
    assert!(!m.host_dist.is_active(timer).unwrap());
    assert!(guest.take_all().is_empty());
}

#[test]
fn an_interrupt_pending_while_disabled_stays_pending_and_is_delivered_once_enabled() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    guest.gicd.set_trigger(id(42), Trigger::Edge).unwrap();
    m.set_line(42, true);
    m.set_line(42, false);
    m.set_line(43, true); // level, stays high
    assert!(guest.ack().is_none());
    assert!(guest.gicd.is_pending(id(42)).unwrap());
    assert!(guest.gicd.is_pending(id(43)).unwrap());
    m.plain_exit();
    assert!(guest.gicd.is_pending(id(42)).unwrap(), "still pending");
    guest.gicd.enable_interrupt(id(42)).unwrap();
    assert_eq!(guest.take_all(), [42], "delivered once");
    guest.gicd.enable_interrupt(id(43)).unwrap();
    let a = guest.ack().expect("the level interrupt too");
    assert_eq!(a.intid(), id(43));
    m.set_line(43, false);
    guest.eoi(a);
    assert!(guest.take_all().is_empty());
    assert!(vdist_idle(&m, 42) && vdist_idle(&m, 43));
}

#[test]
fn a_level_interrupt_is_resampled_after_its_eoi() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    guest.gicd.enable_interrupt(id(44)).unwrap();
    m.set_line(44, true);
    let a = guest.ack().unwrap();
    assert_eq!(a.intid(), id(44));
    let exits = m.exits.get();
    guest.eoi(a); // the line is still high
    assert_eq!(m.exits.get(), exits + 1, "one EOI-maintenance exit");
    let a = guest.ack().expect("pending again: its line is high");
    assert_eq!(a.intid(), id(44));
    m.set_line(44, false);
    guest.eoi(a);
    assert!(guest.ack().is_none(), "not after the line dropped");
    m.plain_exit();
    assert!(guest.ack().is_none());
    assert!(vdist_idle(&m, 44));
}

#[test]
fn a_priority_change_of_a_listed_interrupt_takes_effect() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    for (n, p) in [(45, 0x80), (46, 0x90)] {
        guest.gicd.set_priority(id(n), Priority(p)).unwrap();
        edge_spi(&guest, n);
        m.set_line(n, true);
    }
    assert_eq!(m.listed(&m.vif.borrow()).len(), 2);
    guest.gicd.set_priority(id(46), Priority(0x40)).unwrap();
    let prio = m
        .listed(&m.vif.borrow())
        .iter()
        .find(|lr| lr.virtual_id() == id(46))
        .map(|lr| lr.priority());
    assert_eq!(
        prio,
        Some(Priority(0x40)),
        "its list register has the new priority"
    );
    assert_eq!(guest.take_all(), [46, 45], "the order changed");
}

#[test]
fn a_listed_interrupt_disabled_is_never_presented_afterwards() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    edge_spi(&guest, 47);
    m.set_line(47, true);
    assert_eq!(m.listed(&m.vif.borrow()).len(), 1);
    guest.gicd.disable_interrupt(id(47)).unwrap();
    assert!(
        m.listed(&m.vif.borrow()).is_empty(),
        "taken out of its list register"
    );
    assert!(guest.ack().is_none());
    assert!(
        guest.gicd.is_pending(id(47)).unwrap(),
        "still pending, disabled"
    );
    m.plain_exit();
    assert!(guest.ack().is_none());
}

#[test]
fn a_listed_active_interrupt_disabled_while_pending_again_is_not_presented_after_its_eoi() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    edge_spi(&guest, 48);
    m.set_line(48, true);
    let a = guest.ack().unwrap();
    // A second edge while it is active: pending and active.
    m.set_line(48, false);
    m.set_line(48, true);
    guest.gicd.disable_interrupt(id(48)).unwrap();
    guest.eoi(a);
    assert!(guest.ack().is_none(), "disabled: not presented");
    m.plain_exit();
    assert!(guest.ack().is_none(), "disabled: not presented");
    assert!(guest.gicd.is_pending(id(48)).unwrap(), "still pending");
    guest.gicd.enable_interrupt(id(48)).unwrap();
    assert_eq!(guest.take_all(), [48], "delivered once enabled");

    // An SGI sent again while active, then its group disabled in GICD_CTLR.
    guest.gicd.send_sgi(id(6), SgiTarget::SelfOnly).unwrap();
    let a = guest.ack().unwrap();
    guest.gicd.send_sgi(id(6), SgiTarget::SelfOnly).unwrap();
    guest.gicd.disable();
    guest.eoi(a);
    m.plain_exit();
    assert!(guest.ack().is_none(), "its group disabled: not presented");
    guest.gicd.enable();
    assert_eq!(guest.take_all(), [6]);
}

#[test]
fn an_interrupt_disabled_in_gicd_is_never_presented() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    m.set_line(49, true);
    guest.gicd.set_trigger(id(50), Trigger::Edge).unwrap();
    m.set_line(50, true);
    guest.gicd.set_pending(id(51)).unwrap();
    for _ in 0..3 {
        assert!(guest.ack().is_none());
        assert!(m.listed(&m.vif.borrow()).is_empty());
        m.plain_exit();
    }
    // Nor with the distributor's group disabled.
    edge_spi(&guest, 52);
    guest.gicd.disable();
    m.set_line(52, true);
    assert!(guest.ack().is_none());
    assert!(m.listed(&m.vif.borrow()).is_empty());
    guest.gicd.enable();
    assert_eq!(guest.take_all(), [52]);
}

#[test]
fn more_pending_interrupts_than_list_registers_are_delivered_in_priority_order_through_refills() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    // Ten SPIs raised in an order unrelated to their priorities.
    let prios = [0x90, 0x20, 0x70, 0x20, 0xE0, 0x08, 0x50, 0xB8, 0x30, 0x60];
    for (i, &p) in prios.iter().enumerate() {
        let n = 60 + i as u32;
        guest.gicd.set_priority(id(n), Priority(p)).unwrap();
        edge_spi(&guest, n);
    }
    for i in [3, 7, 0, 9, 1, 5, 2, 8, 4, 6] {
        m.set_line(60 + i, true);
        assert!(m.listed(&m.vif.borrow()).len() <= 5, "4 LRs and one queued");
    }
    let mut want: Vec<(u8, u32)> = prios
        .iter()
        .enumerate()
        .map(|(i, &p)| (p, 60 + i as u32))
        .collect();
    want.sort();
    let exits = m.exits.get();
    let got = guest.take_all();
    assert_eq!(got, want.iter().map(|&(_, n)| n).collect::<Vec<_>>());
    let refills = m.exits.get() - exits;
    assert!((2..=4).contains(&refills), "{refills} refill exits");
    for n in 60..70 {
        assert!(vdist_idle(&m, n));
    }
}

#[test]
fn gicd_icactiver_on_an_active_sgi_in_a_list_register_clears_it_there() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    guest.gicd.send_sgi(id(3), SgiTarget::SelfOnly).unwrap();
    let a = guest.ack().unwrap();
    assert_eq!(a.intid(), id(3));
    assert!(
        guest.gicd.is_active(id(3)).unwrap(),
        "reads its list register's state"
    );
    guest.gicd.clear_active(id(3)).unwrap();
    assert!(!guest.gicd.is_active(id(3)).unwrap());
    assert!(
        m.listed(&m.vif.borrow()).is_empty(),
        "cleared in its list register"
    );
    guest.eoi(a); // drops the running priority
    assert_eq!(guest.gicc.running_priority(), Priority::LOWEST);
    m.plain_exit();
    assert!(guest.take_all().is_empty(), "not delivered again");
    assert!(vdist_idle(&m, 3));
}

#[test]
fn gicd_icpendr_on_a_pending_listed_interrupt_removes_it() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    edge_spi(&guest, 53);
    m.set_line(53, true);
    assert!(guest.gicd.is_pending(id(53)).unwrap());
    guest.gicd.clear_pending(id(53)).unwrap();
    assert!(m.listed(&m.vif.borrow()).is_empty());
    assert!(!guest.gicd.is_pending(id(53)).unwrap());
    assert!(guest.take_all().is_empty());
    // A pending SGI too (GICD_CPENDSGIR).
    guest.gicd.send_sgi(id(5), SgiTarget::SelfOnly).unwrap();
    m.trapped_write(offset::CPENDSGIR + 5, AccessWidth::Byte, 1);
    assert!(guest.take_all().is_empty());
}

#[test]
fn gicd_ispendr_on_a_level_interrupt_with_its_line_low_delivers_it_once() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    guest.gicd.enable_interrupt(id(54)).unwrap();
    guest.gicd.set_pending(id(54)).unwrap();
    let a = guest.ack().expect("delivered");
    assert_eq!(a.intid(), id(54));
    m.plain_exit(); // while active
    guest.eoi(a);
    m.plain_exit();
    assert!(guest.take_all().is_empty(), "once");
    assert!(vdist_idle(&m, 54));
    // Pending from the latch without being taken survives exits.
    guest.gicd.set_pending(id(54)).unwrap();
    m.plain_exit();
    m.plain_exit();
    assert_eq!(guest.take_all(), [54]);
}

#[test]
fn a_virtual_sgi_to_self_through_gicd_sgir_arrives_with_its_source_cpuid() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    for (sgi, target) in [
        (1, SgiTarget::SelfOnly),
        (2, SgiTarget::List(CpuMask::cpu(0).unwrap())),
    ] {
        guest.gicd.send_sgi(id(sgi), target).unwrap();
        let a = guest.ack().expect("delivered");
        assert_eq!(a.intid(), id(sgi));
        assert_eq!(a.source_cpu(), Some(0));
        assert_eq!(a.raw(), sgi, "GICV_IAR: CPUID 0, the sender");
        guest.eoi(a);
        assert!(guest.take_all().is_empty());
    }
    // Others: no other vCPU.
    guest.gicd.send_sgi(id(4), SgiTarget::AllOthers).unwrap();
    assert!(guest.take_all().is_empty());
}

#[test]
fn a_guest_icpendr_or_icactiver_of_a_forwarded_interrupt_asks_el2_to_deactivate_it() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    let timer = id(VTIMER);
    m.host_dist.enable_interrupt(timer).unwrap();
    m.vgic.borrow_mut().forward(0, timer, timer).unwrap();
    guest.gicd.enable_interrupt(timer).unwrap();

    // Pending, cleared by GICD_ICPENDR.
    g.lock().set_line(0, VTIMER, true).unwrap();
    m.service();
    assert!(m.host_dist.is_active(timer).unwrap());
    g.lock().set_line(0, VTIMER, false).unwrap();
    guest.gicd.clear_pending(timer).unwrap();
    assert_eq!(*m.deactivated.borrow(), [VTIMER]);
    assert!(!m.host_dist.is_active(timer).unwrap());
    assert!(guest.take_all().is_empty());

    // Acknowledged, cleared by GICD_ICACTIVER.
    g.lock().set_line(0, VTIMER, true).unwrap();
    m.service();
    let a = guest.ack().unwrap();
    g.lock().set_line(0, VTIMER, false).unwrap();
    guest.gicd.clear_active(timer).unwrap();
    assert_eq!(*m.deactivated.borrow(), [VTIMER, VTIMER]);
    assert!(!m.host_dist.is_active(timer).unwrap());
    guest.eoi(a);
    assert!(guest.take_all().is_empty());
    assert!(!m.host_dist.is_active(timer).unwrap() && !m.host_dist.is_pending(timer).unwrap());
}

#[test]
fn a_pending_state_set_on_an_active_forwarded_interrupt_is_delivered_after_its_eoi() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    let timer = id(VTIMER);
    m.host_dist.enable_interrupt(timer).unwrap();
    m.vgic.borrow_mut().forward(0, timer, timer).unwrap();
    guest.gicd.enable_interrupt(timer).unwrap();
    g.lock().set_line(0, VTIMER, true).unwrap();
    m.service();
    let a = guest.ack().unwrap();
    g.lock().set_line(0, VTIMER, false).unwrap();
    guest.gicd.set_pending(timer).unwrap();
    assert!(guest.gicd.is_pending(timer).unwrap() && guest.gicd.is_active(timer).unwrap());
    guest.eoi(a);
    assert!(!m.host_dist.is_active(timer).unwrap());
    m.plain_exit();
    let a = guest.ack().expect("the pending state the guest set");
    assert_eq!(a.intid(), timer);
    guest.eoi(a);
    assert!(guest.take_all().is_empty());
    m.plain_exit();
    assert!(vdist_idle(&m, VTIMER));
}

#[test]
fn active_interrupts_beyond_the_list_registers_wait_in_the_distributor() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    // The guest sets six interrupts active (GICD_ISACTIVER): four fit.
    for n in 0..6 {
        guest.gicd.set_active(id(n)).unwrap();
    }
    assert_eq!(m.listed(&m.vif.borrow()).len(), 4);
    for n in 0..6 {
        assert!(guest.gicd.is_active(id(n)).unwrap(), "SGI {n} still active");
    }
    for n in 0..6 {
        guest.gicd.clear_active(id(n)).unwrap();
    }
    m.plain_exit();
    assert!(m.listed(&m.vif.borrow()).is_empty());
    for n in 0..6 {
        assert!(vdist_idle(&m, n));
    }
    // Nothing is stuck listed: each is delivered when sent.
    for n in 0..6 {
        guest.gicd.send_sgi(id(n), SgiTarget::SelfOnly).unwrap();
    }
    assert_eq!(guest.take_all(), [0, 1, 2, 3, 4, 5]);
}

#[test]
fn halfword_and_doubleword_accesses_read_zero_and_are_ignored() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    let before = m.vgic.borrow().stats().unsupported_accesses;
    assert_eq!(before, 0, "the driver uses bytes and words only");
    for w in [AccessWidth::Halfword, AccessWidth::Doubleword] {
        assert_eq!(m.trapped_read(offset::TYPER, w), 0);
        m.trapped_write(offset::ISENABLER + 4, w, 0xFFFF_FFFF_FFFF_FFFF);
    }
    assert!(!guest.gicd.is_interrupt_enabled(id(32)).unwrap());
    assert_eq!(m.vgic.borrow().stats().unsupported_accesses, 4);
    // Byte accesses where GICD allows none: RAZ/WI (not counted: a width
    // GICD has, at an offset that ignores it).
    assert_eq!(m.trapped_read(offset::TYPER, AccessWidth::Byte), 0);
    m.trapped_write(offset::ISENABLER + 4, AccessWidth::Byte, 0xFF);
    assert!(!guest.gicd.is_interrupt_enabled(id(32)).unwrap());
}

#[test]
fn the_list_registers_hold_what_the_guest_sees_between_exits() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    edge_spi(&guest, 55);
    m.set_line(55, true);
    let lrs = m.listed(&m.vif.borrow());
    assert_eq!(lrs.len(), 1);
    assert_eq!(lrs[0].state(), LrState::Pending);
    let a = guest.ack().unwrap();
    m.plain_exit();
    let lrs = m.listed(&m.vif.borrow());
    assert_eq!(
        lrs[0].state(),
        LrState::Active,
        "re-listed active after a fold"
    );
    guest.eoi(a);
    m.plain_exit();
    assert!(m.listed(&m.vif.borrow()).is_empty());
}

/// IHI 0048B 5.4.2, 4.4.5: the virtual CPU interface deactivates only an
/// interrupt in a list register, so one the guest acknowledged stays listed
/// active until its EOI. The driver may hold back the pending half of a
/// pending+active interrupt in its queue behind a more urgent one (its list
/// register stays active): folding that pair gives back an active list
/// register and a pending queued entry, and the pending one must not make
/// the vGIC forget that the guest has it active.
#[test]
fn an_acknowledged_interrupt_whose_pending_half_is_held_back_stays_listed_until_its_eoi() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    guest.gicd.set_trigger(id(20), Trigger::Edge).unwrap();
    guest.gicd.set_active(id(20)).unwrap();
    guest.gicd.enable_interrupt(id(40)).unwrap();
    edge_spi(&guest, 38);
    guest.gicd.set_pending(id(38)).unwrap();
    let a = guest.ack().unwrap();
    assert_eq!(a.intid(), id(38));
    guest.gicd.set_priority(id(38), Priority(0xA8)).unwrap();
    // 38 pending again while active: pending+active.
    m.exit(|v| {
        v.set_line(0, id(38), true).unwrap();
        v.set_line(0, id(38), false).unwrap();
    });
    // Three more urgent ones: every list register taken (20 active, 38
    // pending+active, SGIs 1 and 2), 40 queued, 38's pending half held back.
    m.trapped_write(offset::SPENDSGIR + 2, AccessWidth::Byte, 1);
    guest.gicd.send_sgi(id(1), SgiTarget::SelfOnly).unwrap();
    m.set_line(40, true);
    let held = m.listed(&m.vif.borrow());
    assert!(
        held.iter()
            .any(|lr| lr.virtual_id() == id(38) && lr.state() == LrState::Active),
        "38's list register active: {held:?}"
    );
    // An exit folds the pair and flushes again.
    m.plain_exit();
    assert!(
        m.listed(&m.vif.borrow())
            .iter()
            .any(|lr| lr.virtual_id() == id(38) && lr.state() != LrState::Pending),
        "38 still listed active"
    );
    guest.eoi(a);
    m.plain_exit();
    assert!(
        !guest.gicd.is_active(id(38)).unwrap(),
        "deactivated by its EOI"
    );
    assert!(guest.gicd.is_pending(id(38)).unwrap(), "and pending again");
    guest.gicd.clear_active(id(20)).unwrap();
    m.set_line(40, false);
    assert_eq!(guest.take_all(), [1, 2, 38]);
}

/// IHI 0048B 5.3.8: a HW = 1 list register can be neither pending+active
/// nor carry the EOI bit (bit 19 is PhysicalID\[9\]), so the guest's EOI of a
/// forwarded interrupt pending again raises no maintenance interrupt. Its
/// pending state waits in the distributor, and the next exit lists it,
/// ahead of anything less urgent.
#[test]
fn a_forwarded_interrupt_pending_again_at_its_eoi_is_listed_by_the_next_exit_first() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    let timer = id(VTIMER);
    m.host_dist.enable_interrupt(timer).unwrap();
    m.vgic.borrow_mut().forward(0, timer, timer).unwrap();
    guest.gicd.set_priority(timer, Priority(0)).unwrap();
    guest.gicd.enable_interrupt(timer).unwrap();
    guest.gicd.set_pending(timer).unwrap();
    let a = guest.ack().unwrap();
    assert_eq!(a.intid(), timer);
    // The physical timer fires while the virtual one is active: EL2 takes
    // it, and the virtual interrupt is pending and active.
    g.lock().set_line(0, VTIMER, true).unwrap();
    assert_eq!(m.service(), 1);
    g.lock().set_line(0, VTIMER, false).unwrap();
    assert!(guest.gicd.is_pending(timer).unwrap() && guest.gicd.is_active(timer).unwrap());
    guest.gicd.send_sgi(id(1), SgiTarget::SelfOnly).unwrap();
    let exits = m.exits.get();
    guest.eoi(a);
    assert_eq!(m.exits.get(), exits, "a HW = 1 completion does not exit");
    assert!(
        m.vgic.borrow().distributor().is_pending(0, VTIMER),
        "the pending state waits in the distributor"
    );
    assert!(m
        .listed(&m.vif.borrow())
        .iter()
        .all(|lr| lr.virtual_id() != timer));
    m.plain_exit();
    assert_eq!(guest.take_all(), [VTIMER, 1], "the timer first");
    m.plain_exit();
    assert!(vdist_idle(&m, VTIMER));
    assert!(!m.host_dist.is_active(timer).unwrap());
}

/// IHI 0048B 4.3.3, 5.4.2: GICD_ISACTIVER makes an SPI active, and the
/// guest's EOI deactivates it; its virtual CPU interface deactivates only
/// what a list register holds, so the vGIC lists an SPI the guest set
/// active, as it does one the guest acknowledged (it leaves active
/// interrupts unlisted only when they outnumber the list registers).
#[test]
fn an_spi_set_active_through_gicd_isactiver_is_listed_so_the_guests_eoi_deactivates_it() {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    edge_spi(&guest, 33);
    m.set_line(33, true);
    let a = guest.ack().unwrap();
    assert_eq!(a.intid(), id(33));
    guest.gicd.clear_active(id(33)).unwrap();
    guest.gicd.set_active(id(33)).unwrap();
    assert!(
        m.listed(&m.vif.borrow())
            .iter()
            .any(|lr| lr.virtual_id() == id(33) && lr.state() == LrState::Active),
        "listed active"
    );
    guest.eoi(a);
    m.plain_exit();
    assert!(
        !guest.gicd.is_active(id(33)).unwrap(),
        "deactivated by the EOI"
    );
    assert!(vdist_idle(&m, 33));

    // Set active without an acknowledge, then cleared: not listed again.
    guest.gicd.set_active(id(34)).unwrap();
    assert!(m
        .listed(&m.vif.borrow())
        .iter()
        .any(|lr| lr.virtual_id() == id(34)));
    guest.gicd.clear_active(id(34)).unwrap();
    assert!(m.listed(&m.vif.borrow()).is_empty());
    assert!(vdist_idle(&m, 34));
}
