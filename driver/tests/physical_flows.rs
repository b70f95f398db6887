//! Whole flows of the driver's Distributor and CpuInterface against the
//! architectural model: what a hypervisor or kernel does at start-up and in
//! its IRQ handler, checked against what the GIC must do (IHI 0048B).

use gic_driver::{
    CpuInterface, CpuInterfaceConfig, CpuMask, Deactivation, Distributor, DistributorConfig,
    EoiMode, Error, Group, IntId, Priority, SgiTarget, Trigger,
};
use gic_model::{Config, Frame, FrameBus, SharedGic};

fn gic(cpus: u8, lines: u32, priority_bits: u8) -> SharedGic {
    SharedGic::new(Config {
        cpus,
        lines,
        priority_bits,
        virtualization: None,
    })
    .expect("valid configuration")
}

fn spi(n: u32) -> IntId {
    IntId::spi(n).unwrap()
}

/// The distributor seen from `cpu`, initialised and enabled (boot CPU only
/// runs `init`; the others `init_cpu`).
fn dist(gic: &SharedGic, cpu: u8) -> Distributor<FrameBus<'_>> {
    let d = Distributor::new(gic.frame(Frame::Gicd, cpu));
    if cpu == 0 {
        d.init(&DistributorConfig::default());
    } else {
        d.init_cpu(&DistributorConfig::default());
    }
    d.enable();
    d
}

fn cpu_if(gic: &SharedGic, cpu: u8, config: CpuInterfaceConfig) -> CpuInterface<FrameBus<'_>> {
    let c = CpuInterface::new(gic.frame(Frame::Gicc, cpu));
    c.init(&config).unwrap();
    c
}

fn open_config() -> CpuInterfaceConfig {
    CpuInterfaceConfig {
        priority_mask: Priority(0xFF),
        ..CpuInterfaceConfig::default()
    }
}

#[test]
fn distributor_reads_the_gic_shape() {
    let g = gic(4, 96, 5);
    let d = Distributor::new(g.frame(Frame::Gicd, 2));
    let info = *d.info();
    assert_eq!(info.lines, 96);
    assert_eq!(info.cpus, 4);
    assert!(!info.security_extensions);
    assert_eq!(info.implemented_priority, 0xF8);
    assert_eq!(d.this_cpu(), CpuMask::cpu(2).unwrap());
}

#[test]
fn a_uniprocessor_gic_routes_everything_to_cpu_0() {
    // GICD_ITARGETSR is RAZ/WI with one CPU interface (IHI 0048B 4.3.12).
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    assert_eq!(
        g.lock()
            .read(gic_model::Frame::Gicd, 0, 0x800, gic_model::Width::Byte),
        0
    );
    assert_eq!(d.this_cpu(), CpuMask::cpu(0).unwrap());
    assert_eq!(d.targets(spi(3)).unwrap(), CpuMask::cpu(0).unwrap());
    d.set_targets(spi(3), CpuMask::cpu(0).unwrap()).unwrap();
    assert_eq!(
        d.set_targets(spi(3), CpuMask::cpu(1).unwrap()),
        Err(Error::InvalidCpuMask { mask: 2, cpus: 1 })
    );
}

#[test]
fn init_leaves_spis_disabled_idle_and_targeted_at_the_boot_cpu() {
    let g = gic(2, 64, 8);
    let d0 = Distributor::new(g.frame(Frame::Gicd, 1));
    // Leave junk behind that init must clear.
    d0.enable_interrupt(spi(3)).unwrap();
    d0.set_pending(spi(3)).unwrap();
    d0.set_active(spi(4)).unwrap();
    d0.init(&DistributorConfig::default());
    assert_eq!(d0.is_enabled(), (false, false));
    d0.enable();
    assert_eq!(d0.is_enabled(), (true, true));
    d0.disable();
    assert_eq!(d0.is_enabled(), (false, false));
    for n in 32..64 {
        let id = IntId::new(n).unwrap();
        assert!(!d0.is_interrupt_enabled(id).unwrap(), "{id:?} enabled");
        assert!(!d0.is_pending(id).unwrap(), "{id:?} pending");
        assert!(!d0.is_active(id).unwrap(), "{id:?} active");
        assert_eq!(d0.priority(id).unwrap(), Priority::DEFAULT);
        assert_eq!(d0.targets(id).unwrap(), CpuMask::cpu(1).unwrap());
        assert_eq!(d0.trigger(id).unwrap(), Trigger::Level);
        assert_eq!(d0.group(id).unwrap(), Group::Group0);
    }
}

#[test]
fn init_reaches_the_last_spis_of_a_1020_line_gic() {
    // ITLinesNumber 31: 1024 lines, INTIDs up to 1019. The last
    // GICD_ICENABLER/ICPENDR/ICACTIVER/IGROUPR word (992-1019) and the last
    // GICD_ICFGR word (1008-1019) must be written too.
    let g = gic(1, 1024, 8);
    let d = Distributor::new(g.frame(Frame::Gicd, 0));
    assert_eq!(d.info().lines, 1020);
    for n in [992, 1008, 1019] {
        let id = IntId::new(n).unwrap();
        d.enable_interrupt(id).unwrap();
        d.set_pending(id).unwrap();
        d.set_active(id).unwrap();
        d.set_group(id, Group::Group1).unwrap();
        d.set_trigger(id, Trigger::Edge).unwrap();
    }
    d.init(&DistributorConfig::default());
    for n in [992, 1008, 1019] {
        let id = IntId::new(n).unwrap();
        assert!(!d.is_interrupt_enabled(id).unwrap(), "{id:?} enabled");
        assert!(!d.is_pending(id).unwrap(), "{id:?} pending");
        assert!(!d.is_active(id).unwrap(), "{id:?} active");
        assert_eq!(d.group(id).unwrap(), Group::Group0, "{id:?} group");
        assert_eq!(d.trigger(id).unwrap(), Trigger::Level, "{id:?} trigger");
    }
}

#[test]
fn level_spi_is_acknowledged_ended_and_idle_once_the_line_drops() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    let id = spi(8);
    d.enable_interrupt(id).unwrap();
    assert!(!g.lock().irq(0));

    g.lock().set_line(0, id.get(), true).unwrap();
    assert!(g.lock().irq(0), "a raised, enabled SPI signals IRQ");
    let ack = c.acknowledge().expect("an interrupt to acknowledge");
    assert_eq!(ack.intid(), id);
    assert_eq!(ack.source_cpu(), None);
    assert!(d.is_active(id).unwrap());
    assert_eq!(c.running_priority(), Priority::DEFAULT);
    // The device is serviced: its line drops before the EOI.
    g.lock().set_line(0, id.get(), false).unwrap();
    c.end_of_interrupt(ack);
    assert!(!d.is_active(id).unwrap());
    assert!(!d.is_pending(id).unwrap());
    assert_eq!(c.running_priority(), Priority::LOWEST);
    assert!(!g.lock().irq(0));
    assert!(c.acknowledge().is_none(), "nothing left: spurious 1023");
}

#[test]
fn level_interrupt_still_asserted_after_eoi_is_taken_again() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    let id = spi(1);
    d.enable_interrupt(id).unwrap();
    g.lock().set_line(0, id.get(), true).unwrap();
    let ack = c.acknowledge().unwrap();
    assert!(
        d.is_pending(id).unwrap(),
        "level line high: active and pending"
    );
    c.end_of_interrupt(ack);
    assert_eq!(c.acknowledge().map(|a| a.intid()), Some(id));
}

#[test]
fn edge_interrupt_latches_a_pulse_and_level_interrupt_does_not() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    let (edge, level) = (spi(2), spi(3));
    d.set_trigger(edge, Trigger::Edge).unwrap();
    assert_eq!(d.trigger(edge).unwrap(), Trigger::Edge);
    assert_eq!(d.trigger(level).unwrap(), Trigger::Level);
    for id in [edge, level] {
        d.enable_interrupt(id).unwrap();
        let mut m = g.lock();
        m.set_line(0, id.get(), true).unwrap();
        m.set_line(0, id.get(), false).unwrap();
    }
    assert!(d.is_pending(edge).unwrap());
    assert!(!d.is_pending(level).unwrap());
    let ack = c.acknowledge().unwrap();
    assert_eq!(ack.intid(), edge);
    c.end_of_interrupt(ack);
    assert!(c.acknowledge().is_none());
}

#[test]
fn pending_interrupts_are_taken_in_priority_order_lowest_intid_first_on_ties() {
    let g = gic(1, 128, 8);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    let prios = [0xC0u8, 0x40, 0x80, 0x40, 0x00, 0xF0, 0x80, 0x20, 0x40, 0x10];
    let mut expected = Vec::new();
    for (i, &p) in prios.iter().enumerate() {
        let id = spi(10 + 7 * i as u32);
        d.set_priority(id, Priority(p)).unwrap();
        d.enable_interrupt(id).unwrap();
        d.set_pending(id).unwrap();
        expected.push((p, id));
    }
    expected.sort();
    let mut taken = Vec::new();
    c.handle_pending(|ack| taken.push(ack.intid()));
    let expected: Vec<IntId> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(taken, expected);
}

#[test]
fn higher_priority_preempts_an_active_interrupt_and_lower_does_not() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    let (low, high, lower) = (spi(0), spi(1), spi(2));
    for (id, p) in [(low, 0xA0), (high, 0x80), (lower, 0xC0)] {
        d.set_priority(id, Priority(p)).unwrap();
        d.enable_interrupt(id).unwrap();
    }
    d.set_pending(low).unwrap();
    let first = c.acknowledge().unwrap();
    assert_eq!(first.intid(), low);
    assert_eq!(c.running_priority(), Priority(0xA0));

    d.set_pending(lower).unwrap();
    assert!(!g.lock().irq(0), "0xC0 does not preempt 0xA0");
    assert_eq!(c.highest_pending().map(|a| a.intid()), Some(lower));
    assert!(c.acknowledge().is_none());

    d.set_pending(high).unwrap();
    assert!(g.lock().irq(0), "0x80 preempts 0xA0");
    let nested = c.acknowledge().unwrap();
    assert_eq!(nested.intid(), high);
    assert_eq!(c.running_priority(), Priority(0x80));
    c.end_of_interrupt(nested);
    assert_eq!(c.running_priority(), Priority(0xA0));
    c.end_of_interrupt(first);
    assert_eq!(c.running_priority(), Priority::LOWEST);
    assert_eq!(c.acknowledge().map(|a| a.intid()), Some(lower));
}

#[test]
fn binary_point_groups_priorities_so_close_ones_do_not_preempt() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(
        &g,
        0,
        CpuInterfaceConfig {
            binary_point: 5,
            ..open_config()
        },
    );
    let (a, b) = (spi(0), spi(1));
    d.set_priority(a, Priority(0xA0)).unwrap();
    d.set_priority(b, Priority(0x90)).unwrap();
    d.enable_interrupt(a).unwrap();
    d.enable_interrupt(b).unwrap();
    d.set_pending(a).unwrap();
    let ack = c.acknowledge().unwrap();
    assert_eq!(
        c.running_priority(),
        Priority(0x80),
        "group priority of 0xA0 with BPR 5"
    );
    d.set_pending(b).unwrap();
    assert!(!g.lock().irq(0), "0x90 has the same group priority 0x80");
    assert!(c.acknowledge().is_none());
    c.end_of_interrupt(ack);
    assert_eq!(c.acknowledge().map(|a| a.intid()), Some(b));
}

#[test]
fn priority_mask_hides_interrupts_at_or_below_it() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    c.set_priority_mask(Priority(0x80));
    assert_eq!(c.priority_mask(), Priority(0x80));
    let (masked, visible) = (spi(5), spi(6));
    d.set_priority(masked, Priority(0x80)).unwrap();
    d.set_priority(visible, Priority(0x70)).unwrap();
    d.enable_interrupt(masked).unwrap();
    d.enable_interrupt(visible).unwrap();
    d.set_pending(masked).unwrap();
    assert!(!g.lock().irq(0));
    assert!(c.highest_pending().is_none());
    assert!(c.acknowledge().is_none());
    d.set_pending(visible).unwrap();
    assert!(g.lock().irq(0));
    assert_eq!(c.acknowledge().map(|a| a.intid()), Some(visible));
}

#[test]
fn handle_pending_with_leaves_active_only_what_the_handler_forwards() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(
        &g,
        0,
        CpuInterfaceConfig {
            eoi_mode: EoiMode::Split,
            ..open_config()
        },
    );
    let (own, forwarded) = (spi(3), spi(4));
    for id in [own, forwarded] {
        d.set_trigger(id, Trigger::Edge).unwrap();
        d.enable_interrupt(id).unwrap();
        d.set_pending(id).unwrap();
    }
    let mut seen = Vec::new();
    let n = c.handle_pending_with(|ack| {
        seen.push(ack.intid());
        if ack.intid() == forwarded {
            Deactivation::LeaveActive
        } else {
            Deactivation::Deactivate
        }
    });
    assert_eq!(n, 2);
    assert_eq!(seen, [own, forwarded]);
    assert_eq!(
        c.running_priority(),
        Priority(0xFF),
        "both priorities dropped"
    );
    assert!(!d.is_active(own).unwrap());
    assert!(d.is_active(forwarded).unwrap(), "no GICC_DIR for it");
    // Pending again, it cannot be taken until deactivated.
    d.set_pending(forwarded).unwrap();
    assert!(c.acknowledge().is_none());
    d.clear_active(forwarded).unwrap();
    assert_eq!(c.acknowledge().map(|a| a.intid()), Some(forwarded));
}

#[test]
fn split_eoi_drops_priority_on_eoir_and_deactivates_on_dir() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(
        &g,
        0,
        CpuInterfaceConfig {
            eoi_mode: EoiMode::Split,
            ..open_config()
        },
    );
    assert_eq!(c.eoi_mode(), EoiMode::Split);
    let id = spi(9);
    d.set_trigger(id, Trigger::Edge).unwrap();
    d.enable_interrupt(id).unwrap();
    d.set_pending(id).unwrap();
    let ack = c.acknowledge().unwrap();
    c.end_of_interrupt(ack);
    assert_eq!(c.running_priority(), Priority::LOWEST, "priority dropped");
    assert!(d.is_active(id).unwrap(), "still active until DIR");
    d.set_pending(id).unwrap();
    assert!(
        c.acknowledge().is_none(),
        "an active interrupt is not taken again"
    );
    c.deactivate(ack);
    assert!(!d.is_active(id).unwrap());
    assert_eq!(c.acknowledge().map(|a| a.intid()), Some(id));
}

#[test]
fn sgis_reach_their_targets_with_the_source_cpu() {
    let g = gic(3, 64, 8);
    let d: Vec<_> = (0..3).map(|n| dist(&g, n)).collect();
    let c: Vec<_> = (0..3).map(|n| cpu_if(&g, n, open_config())).collect();
    let sgi = IntId::sgi(5).unwrap();

    d[0].send_sgi(sgi, SgiTarget::List(CpuMask::cpu(1).unwrap()))
        .unwrap();
    assert!(!g.lock().irq(0) && g.lock().irq(1) && !g.lock().irq(2));
    let ack = c[1].acknowledge().unwrap();
    assert_eq!((ack.intid(), ack.source_cpu()), (sgi, Some(0)));
    c[1].end_of_interrupt(ack);

    d[1].send_sgi(sgi, SgiTarget::AllOthers).unwrap();
    assert!(
        c[1].acknowledge().is_none(),
        "all-but-self excludes the sender"
    );
    for cpu in [0, 2] {
        let ack = c[cpu].acknowledge().unwrap();
        assert_eq!((ack.intid(), ack.source_cpu()), (sgi, Some(1)));
        c[cpu].end_of_interrupt(ack);
    }

    d[2].send_sgi(sgi, SgiTarget::SelfOnly).unwrap();
    assert!(c[0].acknowledge().is_none() && c[1].acknowledge().is_none());
    assert_eq!(c[2].acknowledge().unwrap().source_cpu(), Some(2));
}

#[test]
fn one_sgi_from_two_sources_is_delivered_once_per_source() {
    let g = gic(2, 64, 8);
    let d0 = dist(&g, 0);
    let d1 = dist(&g, 1);
    let c0 = cpu_if(&g, 0, open_config());
    let sgi = IntId::sgi(2).unwrap();
    d0.send_sgi(sgi, SgiTarget::SelfOnly).unwrap();
    d1.send_sgi(sgi, SgiTarget::List(CpuMask::cpu(0).unwrap()))
        .unwrap();
    assert_eq!(d0.sgi_pending_sources(sgi).unwrap().bits(), 0b11);
    let mut sources = Vec::new();
    c0.handle_pending(|ack| {
        assert_eq!(ack.intid(), sgi);
        sources.push(ack.source_cpu().unwrap());
    });
    assert_eq!(sources, [0, 1]);
}

#[test]
fn ppis_are_banked_per_cpu() {
    let g = gic(2, 32, 8);
    let d0 = dist(&g, 0);
    let d1 = dist(&g, 1);
    let c0 = cpu_if(&g, 0, open_config());
    let c1 = cpu_if(&g, 1, open_config());
    let timer = IntId::ppi(10).unwrap();
    d0.enable_interrupt(timer).unwrap();
    d0.set_priority(timer, Priority(0x20)).unwrap();
    assert!(
        !d1.is_interrupt_enabled(timer).unwrap(),
        "CPU 1's copy untouched"
    );
    assert_eq!(d1.priority(timer).unwrap(), Priority::DEFAULT);
    {
        let mut m = g.lock();
        m.set_line(0, timer.get(), true).unwrap();
        m.set_line(1, timer.get(), true).unwrap();
    }
    assert!(g.lock().irq(0));
    assert!(!g.lock().irq(1), "disabled on CPU 1");
    assert_eq!(c0.acknowledge().map(|a| a.intid()), Some(timer));
    assert!(c1.acknowledge().is_none());
    d1.enable_interrupt(timer).unwrap();
    assert_eq!(c1.acknowledge().map(|a| a.intid()), Some(timer));
}

#[test]
fn spi_routed_to_another_cpu_is_not_seen_here() {
    let g = gic(2, 64, 8);
    let d = dist(&g, 0);
    let _d1 = dist(&g, 1);
    let c0 = cpu_if(&g, 0, open_config());
    let c1 = cpu_if(&g, 1, open_config());
    let id = spi(4);
    d.set_targets(id, CpuMask::cpu(1).unwrap()).unwrap();
    d.enable_interrupt(id).unwrap();
    d.set_pending(id).unwrap();
    assert!(c0.acknowledge().is_none());
    assert_eq!(c1.acknowledge().map(|a| a.intid()), Some(id));
}

#[test]
fn group1_interrupt_with_ackctl_clear_is_not_acknowledged() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    let c = cpu_if(
        &g,
        0,
        CpuInterfaceConfig {
            ack_ctl: false,
            ..open_config()
        },
    );
    let id = spi(7);
    d.set_group(id, Group::Group1).unwrap();
    assert_eq!(d.group(id).unwrap(), Group::Group1);
    d.enable_interrupt(id).unwrap();
    d.set_pending(id).unwrap();
    assert!(c.acknowledge().is_none(), "IAR reads 1022");
    assert!(d.is_pending(id).unwrap(), "and the interrupt stays pending");
}

#[test]
fn out_of_range_arguments_are_refused_and_change_nothing() {
    let g = gic(2, 64, 5);
    let d = dist(&g, 0);
    let c = cpu_if(&g, 0, open_config());
    assert_eq!(IntId::new(1024), Err(Error::InvalidIntId(1024)));
    assert_eq!(IntId::sgi(16), Err(Error::NotAnSgi(16)));
    assert!(IntId::spi(988).is_err());
    assert_eq!(
        d.enable_interrupt(IntId::new(64).unwrap()),
        Err(Error::IntIdNotImplemented {
            intid: 64,
            lines: 64
        })
    );
    assert_eq!(
        d.enable_interrupt(IntId::SPURIOUS),
        Err(Error::InvalidIntId(1023))
    );
    let id = spi(1);
    assert_eq!(
        d.set_priority(id, Priority(0xA4)),
        Err(Error::PriorityNotImplemented {
            priority: 0xA4,
            implemented: 0xF8
        })
    );
    assert_eq!(d.priority(id).unwrap(), Priority::DEFAULT);
    assert_eq!(
        d.set_targets(id, CpuMask::from_bits(0b100)),
        Err(Error::InvalidCpuMask { mask: 4, cpus: 2 })
    );
    assert_eq!(
        d.set_targets(id, CpuMask::EMPTY),
        Err(Error::InvalidCpuMask { mask: 0, cpus: 2 })
    );
    assert_eq!(d.targets(id).unwrap(), CpuMask::cpu(0).unwrap());
    assert_eq!(
        d.set_targets(IntId::ppi(1).unwrap(), CpuMask::cpu(0).unwrap()),
        Err(Error::NotAnSpi(17))
    );
    assert_eq!(
        d.set_trigger(IntId::sgi(1).unwrap(), Trigger::Level),
        Err(Error::IsAnSgi(1))
    );
    assert_eq!(
        d.send_sgi(spi(0), SgiTarget::SelfOnly),
        Err(Error::NotAnSgi(32))
    );
    assert_eq!(
        d.send_sgi(
            IntId::sgi(0).unwrap(),
            SgiTarget::List(CpuMask::from_bits(0x80))
        ),
        Err(Error::InvalidCpuMask {
            mask: 0x80,
            cpus: 2
        })
    );
    assert!(c.acknowledge().is_none(), "no refused call sent an SGI");
    assert_eq!(c.set_binary_point(8), Err(Error::InvalidBinaryPoint(8)));
    assert_eq!(CpuMask::cpu(8), Err(Error::InvalidCpu(8)));
}

#[test]
fn priority_writes_are_byte_wide_and_leave_neighbours_alone() {
    let g = gic(1, 64, 8);
    let d = dist(&g, 0);
    for n in 0..4 {
        d.set_priority(spi(n), Priority(0x10 * n as u8)).unwrap();
    }
    d.set_priority(spi(1), Priority(0xE0)).unwrap();
    let got: Vec<u8> = (0..4).map(|n| d.priority(spi(n)).unwrap().get()).collect();
    assert_eq!(got, [0x00, 0xE0, 0x20, 0x30]);
}
