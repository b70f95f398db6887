//! What the delivery benchmark (`benches/delivery.rs`) and its
//! minimum-of-batches companion (`examples/delivery_min.rs`) share: the
//! model set up with every SPI enabled, one delivered interrupt, and the
//! QEMU-style reference that rescans every line after every update.
#![allow(dead_code)]

use gic_driver::regs::gicc::offset as c;
use gic_driver::regs::gicd::offset as d;
use gic_model::{Config, Frame, Gic, Width};

pub const LINES: [u32; 3] = [64, 256, 1024];
pub const CPUS: [u8; 3] = [1, 4, 8];

/// The highest implemented SPI.
pub fn last_spi(lines: u32) -> u32 {
    lines.min(1020) - 1
}

/// A model with every SPI enabled, at priority 0x80, targeted at CPU 0,
/// level-sensitive (the reset configuration), both groups forwarded and
/// every CPU interface enabled with GICC_PMR 0xFF.
pub fn model(cpus: u8, lines: u32) -> Gic {
    let mut gic = Gic::new(Config {
        cpus,
        lines,
        priority_bits: 8,
        virtualization: None,
    })
    .unwrap();
    let w = Width::Word;
    gic.write(Frame::Gicd, 0, d::CTLR, w, 0b11);
    for n in 1..(lines as usize / 32) {
        gic.write(Frame::Gicd, 0, d::ISENABLER + 4 * n, w, u32::MAX);
    }
    for off in (32..lines as usize).step_by(4) {
        gic.write(Frame::Gicd, 0, d::IPRIORITYR + off, w, 0x8080_8080);
        gic.write(Frame::Gicd, 0, d::ITARGETSR + off, w, 0x0101_0101);
    }
    for cpu in 0..cpus {
        gic.write(Frame::Gicc, cpu, c::PMR, w, 0xFF);
        gic.write(Frame::Gicc, cpu, c::CTLR, w, 0b11);
    }
    gic
}

/// Raise, acknowledge, lower, end: one interrupt delivered to CPU 0.
pub fn deliver(gic: &mut Gic, id: u32) {
    gic.set_line(0, id, true).unwrap();
    let iar = gic.read(Frame::Gicc, 0, c::IAR, Width::Word);
    gic.set_line(0, id, false).unwrap();
    gic.write(Frame::Gicc, 0, c::EOIR, Width::Word, iar);
    debug_assert_eq!(iar, id);
}

/// A distributor as QEMU's `arm_gic` keeps it: per-line flags and
/// priorities, and after every change a full rescan of every line for
/// every CPU to find each CPU's best pending interrupt.
pub struct Scanning {
    cpus: usize,
    lines: usize,
    enabled: Vec<bool>,
    level: Vec<bool>,
    pending: Vec<bool>,
    active: Vec<bool>,
    priority: Vec<u8>,
    targets: Vec<u8>,
    /// Each CPU's best pending interrupt and its priority (1023 if none).
    best: Vec<(usize, u8)>,
    running: Vec<u8>,
}

impl Scanning {
    pub fn new(cpus: u8, lines: u32) -> Scanning {
        let n = lines as usize;
        let mut s = Scanning {
            cpus: cpus as usize,
            lines: n,
            enabled: vec![true; n],
            level: vec![false; n],
            pending: vec![false; n],
            active: vec![false; n],
            priority: vec![0x80; n],
            targets: vec![1; n],
            best: vec![(1023, 0xFF); cpus as usize],
            running: vec![0xFF; cpus as usize],
        };
        s.update();
        s
    }

    /// Every line, for every CPU: the scan QEMU runs after each change.
    fn update(&mut self) {
        for cpu in 0..self.cpus {
            let mut best = (1023, 0xFF);
            for irq in 0..self.lines.min(1020) {
                let pending = self.pending[irq] || self.level[irq];
                if self.enabled[irq]
                    && pending
                    && !self.active[irq]
                    && (irq < 32 || self.targets[irq] & (1 << cpu) != 0)
                    && self.priority[irq] < best.1
                {
                    best = (irq, self.priority[irq]);
                }
            }
            self.best[cpu] = best;
        }
    }

    pub fn set_line(&mut self, irq: usize, level: bool) {
        self.level[irq] = level;
        self.update();
    }

    pub fn acknowledge(&mut self, cpu: usize) -> usize {
        let (irq, prio) = self.best[cpu];
        if irq == 1023 || prio >= self.running[cpu] {
            return 1023;
        }
        self.pending[irq] = false;
        self.active[irq] = true;
        self.running[cpu] = prio;
        self.update();
        irq
    }

    pub fn end_of_interrupt(&mut self, cpu: usize, irq: usize) {
        if irq < self.lines {
            self.active[irq] = false;
            self.running[cpu] = 0xFF;
            self.update();
        }
    }
}

pub fn deliver_scanning(s: &mut Scanning, id: usize) {
    s.set_line(id, true);
    let iar = s.acknowledge(0);
    s.set_line(id, false);
    s.end_of_interrupt(0, iar);
    debug_assert_eq!(iar, id);
}
