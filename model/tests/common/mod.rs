//! Helpers shared by the model's integration tests: raw register access by
//! frame, with the offsets of `gic_driver::regs`.
#![allow(dead_code, unused_imports)]

pub use gic_driver::regs::{gicc, gicd, gich};
pub use gic_model::{Config, Frame, Gic, Width};

/// A model and short-hand accessors.
pub struct T {
    pub gic: Gic,
}

impl T {
    pub fn new(config: Config) -> T {
        T {
            gic: Gic::new(config).expect("valid config"),
        }
    }

    /// 8 priority bits, 4 CPUs, 96 lines, no virtualization.
    pub fn four_cpus() -> T {
        T::new(Config {
            cpus: 4,
            lines: 96,
            priority_bits: 8,
            virtualization: None,
        })
    }

    pub fn d(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicd, cpu, off, Width::Word)
    }
    pub fn dw(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gicd, cpu, off, Width::Word, v)
    }
    pub fn db(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicd, cpu, off, Width::Byte)
    }
    pub fn dbw(&mut self, cpu: u8, off: usize, v: u8) {
        self.gic.write(Frame::Gicd, cpu, off, Width::Byte, v as u32)
    }
    pub fn c(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicc, cpu, off, Width::Word)
    }
    pub fn cw(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gicc, cpu, off, Width::Word, v)
    }
    pub fn h(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gich, cpu, off, Width::Word)
    }
    pub fn hw(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gich, cpu, off, Width::Word, v)
    }
    pub fn v(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicv, cpu, off, Width::Word)
    }
    pub fn vw(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gicv, cpu, off, Width::Word, v)
    }

    /// Sets the bit of `id` in a one-bit-per-interrupt register array.
    pub fn set_bit(&mut self, cpu: u8, base: usize, id: u32) {
        let (off, bit) = gic_driver::regs::bit_per_irq(base, id);
        self.dw(cpu, off, bit);
    }
    pub fn get_bit(&mut self, cpu: u8, base: usize, id: u32) -> bool {
        let (off, bit) = gic_driver::regs::bit_per_irq(base, id);
        self.d(cpu, off) & bit != 0
    }
    pub fn enable(&mut self, cpu: u8, id: u32) {
        self.set_bit(cpu, gicd::offset::ISENABLER, id)
    }
    pub fn pend(&mut self, cpu: u8, id: u32) {
        self.set_bit(cpu, gicd::offset::ISPENDR, id)
    }
    pub fn prio(&mut self, cpu: u8, id: u32, p: u8) {
        self.dbw(cpu, gicd::offset::IPRIORITYR + id as usize, p)
    }
    pub fn target(&mut self, id: u32, mask: u8) {
        self.dbw(0, gicd::offset::ITARGETSR + id as usize, mask)
    }
    pub fn group1(&mut self, cpu: u8, id: u32) {
        let (off, bit) = gic_driver::regs::bit_per_irq(gicd::offset::IGROUPR, id);
        let v = self.d(cpu, off);
        self.dw(cpu, off, v | bit);
    }
    pub fn edge(&mut self, cpu: u8, id: u32) {
        let off = gicd::offset::ICFGR + (id as usize / 16) * 4;
        let v = self.d(cpu, off);
        self.dw(cpu, off, v | gicd::ICFGR_EDGE_BIT << (2 * (id % 16)));
    }

    /// Distributor forwarding both groups; CPU interfaces `0..cpus` with
    /// both groups enabled, AckCtl set, PMR 0xFF, BPR at minimum.
    pub fn enable_all(&mut self) {
        let both = gicd::CTLR::EnableGrp0::SET + gicd::CTLR::EnableGrp1::SET;
        self.dw(0, gicd::offset::CTLR, both.value);
        use gicc::CTLR;
        let ctlr = CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET + CTLR::AckCtl::SET;
        for cpu in 0..self.gic.config().cpus {
            self.cw(cpu, gicc::offset::PMR, 0xFF);
            self.cw(cpu, gicc::offset::BPR, 0);
            self.cw(cpu, gicc::offset::CTLR, ctlr.value);
        }
    }

    /// SPI `id` enabled, targeted at CPU 0, at priority `p`, made pending.
    pub fn pending_spi(&mut self, id: u32, p: u8) {
        self.prio(0, id, p);
        self.target(id, 1);
        self.enable(0, id);
        self.pend(0, id);
    }

    pub fn iar(&mut self, cpu: u8) -> u32 {
        self.c(cpu, gicc::offset::IAR)
    }
    pub fn eoi(&mut self, cpu: u8, v: u32) {
        self.cw(cpu, gicc::offset::EOIR, v)
    }
    pub fn dir(&mut self, cpu: u8, v: u32) {
        self.cw(cpu, gicc::offset::DIR, v)
    }
    pub fn rpr(&mut self, cpu: u8) -> u32 {
        self.c(cpu, gicc::offset::RPR)
    }
    pub fn hppir(&mut self, cpu: u8) -> u32 {
        self.c(cpu, gicc::offset::HPPIR)
    }
    pub fn apr(&mut self, cpu: u8, n: usize) -> u32 {
        self.c(cpu, gicc::offset::APR + 4 * n)
    }
    pub fn sgi(&mut self, from: u8, filter: u32, targets: u8, sgi: u32) {
        use gicd::SGIR;
        let v = SGIR::TargetListFilter.val(filter)
            + SGIR::CPUTargetList.val(targets as u32)
            + SGIR::SGIINTID.val(sgi);
        self.dw(from, gicd::offset::SGIR, v.value)
    }
}

// ---- one virtual interface, accessed directly -------------------------

pub use gic_model::{VirtConfig, VirtEffect, VirtualInterface};
use tock_registers::fields::FieldValue;

/// A GICH_LRn value built from fields.
pub fn lr(fields: FieldValue<u32, gich::LR::Register>) -> u32 {
    fields.value
}

/// The fields of a pending HW = 0, Group 0 list register for virtual
/// `id` at 8-bit `priority` (the LR keeps bits \[7:3\]).
pub fn pending_lr(id: u32, priority: u32) -> FieldValue<u32, gich::LR::Register> {
    use gich::LR;
    LR::VirtualID.val(id) + LR::Priority.val(priority >> 3) + LR::State::Pending
}

/// A QEMU-shaped virtual interface with GICH_HCR.En set, both virtual
/// groups enabled with AckCtl set (GICV_CTLR), and GICV_PMR 0xF8.
pub fn enabled_virtual_interface() -> VirtualInterface {
    use gicc::CTLR;
    let mut vi = VirtualInterface::new(VirtConfig::QEMU);
    vi.write_gich(gich::offset::HCR, gich::HCR::En::SET.value);
    vi.write_gicv(
        gicc::offset::CTLR,
        (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value,
    );
    vi.write_gicv(gicc::offset::PMR, 0xFF);
    vi
}
