//! The `gic-driver` crate running against the model through
//! `SharedGic::frame`: the seam the driver's host tests use.

use gic_driver::{
    CpuInterface, CpuInterfaceConfig, CpuMask, Distributor, DistributorConfig, EoiMode, IntId,
    Priority, SgiTarget, Trigger,
};
use gic_model::bus::SharedGic;
use gic_model::{Config, Frame};

#[test]
fn driver_reads_the_model_shape_and_probes_priority_bits() {
    let shared = SharedGic::new(Config {
        cpus: 4,
        lines: 160,
        priority_bits: 5,
        virtualization: None,
    })
    .unwrap();
    let gicd = Distributor::new(shared.frame(Frame::Gicd, 2));
    let info = *gicd.info();
    assert_eq!((info.lines, info.cpus), (160, 4));
    assert!(!info.security_extensions);
    assert_eq!(info.implemented_priority, 0xF8);
    assert_eq!(gicd.this_cpu(), CpuMask::from_bits(1 << 2));
    assert_eq!(shared.lock().priority(2, 0), Some(0), "probe restored");
}

#[test]
fn driver_init_then_level_spi_is_handled_once_per_assertion() {
    let shared = SharedGic::new(Config::qemu_virt(2)).unwrap();
    let gicd = Distributor::new(shared.frame(Frame::Gicd, 0));
    let gicc = CpuInterface::new(shared.frame(Frame::Gicc, 0));
    gicd.init(&DistributorConfig::default());
    gicc.init(&CpuInterfaceConfig::default()).unwrap();
    gicd.enable();
    let spi = IntId::spi(8).unwrap();
    gicd.enable_interrupt(spi).unwrap();
    assert_eq!(gicd.targets(spi).unwrap(), CpuMask::from_bits(1));
    assert_eq!(gicd.trigger(spi).unwrap(), Trigger::Level);

    shared.lock().set_line(0, spi.get(), true).unwrap();
    assert!(shared.lock().irq(0));
    let mut seen = Vec::new();
    let n = gicc.handle_pending(|ack| {
        seen.push(ack.intid());
        // The device is serviced: the line drops before EOI.
        shared.lock().set_line(0, spi.get(), false).unwrap();
    });
    assert_eq!((n, seen), (1, vec![spi]));
    assert!(!shared.lock().irq(0));
    assert_eq!(gicc.running_priority(), Priority::LOWEST);
}

#[test]
fn driver_sgi_reaches_the_other_cpu_with_its_source() {
    let shared = SharedGic::new(Config::qemu_virt(2)).unwrap();
    let cfg = DistributorConfig::default();
    let gicd0 = Distributor::new(shared.frame(Frame::Gicd, 0));
    let gicd1 = Distributor::new(shared.frame(Frame::Gicd, 1));
    gicd0.init(&cfg);
    gicd1.init_cpu(&cfg);
    gicd0.enable();
    let gicc1 = CpuInterface::new(shared.frame(Frame::Gicc, 1));
    gicc1.init(&CpuInterfaceConfig::default()).unwrap();

    let sgi = IntId::sgi(3).unwrap();
    gicd0.send_sgi(sgi, SgiTarget::AllOthers).unwrap();
    assert_eq!(
        gicd1.sgi_pending_sources(sgi).unwrap(),
        CpuMask::from_bits(1)
    );
    assert!(shared.lock().irq(1) && !shared.lock().irq(0));
    let ack = gicc1.acknowledge().unwrap();
    assert_eq!((ack.intid(), ack.source_cpu()), (sgi, Some(0)));
    gicc1.end_of_interrupt(ack);
    assert!(!shared.lock().is_active(1, 3));
}

#[test]
fn driver_split_eoi_leaves_the_interrupt_active_until_deactivated() {
    let shared = SharedGic::new(Config::qemu_virt(1)).unwrap();
    let gicd = Distributor::new(shared.frame(Frame::Gicd, 0));
    let gicc = CpuInterface::new(shared.frame(Frame::Gicc, 0));
    gicd.init(&DistributorConfig::default());
    gicc.init(&CpuInterfaceConfig {
        eoi_mode: EoiMode::Split,
        ..CpuInterfaceConfig::default()
    })
    .unwrap();
    gicd.enable();
    let ppi = IntId::ppi(14).unwrap();
    gicd.enable_interrupt(ppi).unwrap();
    gicd.set_pending(ppi).unwrap();
    let ack = gicc.acknowledge().unwrap();
    gicc.end_of_interrupt(ack);
    assert_eq!(gicc.running_priority(), Priority::LOWEST);
    assert!(gicd.is_active(ppi).unwrap());
    gicc.deactivate(ack);
    assert!(!gicd.is_active(ppi).unwrap());
}
