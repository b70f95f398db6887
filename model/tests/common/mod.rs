//! Helpers shared by the model's integration tests: a [`Gic`] with raw
//! register access by frame (offsets and fields of `gic_driver::regs`), the
//! set-up steps several test files need, and list-register values for tests
//! of one [`VirtualCpuInterface`].
#![allow(dead_code, unused_imports)]

pub use gic_driver::regs::{gicc, gicd, gich};
pub use gic_model::{Config, Frame, Gic, Width};

/// `gic` saved ([`Gic::to_bytes`]) into a buffer of exactly
/// [`Gic::snapshot_len`] bytes, which it fills.
pub fn snapshot_bytes(gic: &Gic) -> Vec<u8> {
    let mut buf = vec![0; gic.snapshot_len()];
    let n = gic
        .to_bytes(&mut buf)
        .expect("buffer of snapshot_len bytes");
    assert_eq!(n, buf.len());
    buf
}

/// A model under test, with one accessor per frame and access width.
pub struct TestGic {
    pub gic: Gic,
}

impl TestGic {
    /// A model of shape `config`, in its reset state.
    pub fn new(config: Config) -> TestGic {
        TestGic {
            gic: Gic::new(config).expect("valid config"),
        }
    }

    /// 8 priority bits, 4 CPUs, 96 lines, no virtualization.
    pub fn four_cpus() -> TestGic {
        TestGic::new(Config {
            cpus: 4,
            lines: 96,
            priority_bits: 8,
            virtualization: None,
        })
    }

    /// QEMU's `virt` board with two CPUs and the Virtualization Extensions
    /// ([`Config::qemu_virt`]).
    pub fn qemu_virt() -> TestGic {
        TestGic::new(Config::qemu_virt(2))
    }

    /// Word read of GICD at `off`, as CPU `cpu`.
    pub fn gicd_read(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicd, cpu, off, Width::Word)
    }
    /// Word write of GICD at `off`, as CPU `cpu`.
    pub fn gicd_write(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gicd, cpu, off, Width::Word, v)
    }
    /// Byte read of GICD at `off`, as CPU `cpu`.
    pub fn gicd_read_byte(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicd, cpu, off, Width::Byte)
    }
    /// Byte write of GICD at `off`, as CPU `cpu`.
    pub fn gicd_write_byte(&mut self, cpu: u8, off: usize, v: u8) {
        self.gic.write(Frame::Gicd, cpu, off, Width::Byte, v as u32)
    }
    /// Word read of CPU `cpu`'s GICC at `off`.
    pub fn gicc_read(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicc, cpu, off, Width::Word)
    }
    /// Word write of CPU `cpu`'s GICC at `off`.
    pub fn gicc_write(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gicc, cpu, off, Width::Word, v)
    }
    /// Word read of CPU `cpu`'s GICH at `off`.
    pub fn gich_read(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gich, cpu, off, Width::Word)
    }
    /// Word write of CPU `cpu`'s GICH at `off`.
    pub fn gich_write(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gich, cpu, off, Width::Word, v)
    }
    /// Word read of CPU `cpu`'s GICV at `off`.
    pub fn gicv_read(&mut self, cpu: u8, off: usize) -> u32 {
        self.gic.read(Frame::Gicv, cpu, off, Width::Word)
    }
    /// Word write of CPU `cpu`'s GICV at `off`.
    pub fn gicv_write(&mut self, cpu: u8, off: usize, v: u32) {
        self.gic.write(Frame::Gicv, cpu, off, Width::Word, v)
    }

    /// Writes the bit of `id` alone to the one-bit-per-interrupt GICD array
    /// at `base` (GICD_ISENABLER, GICD_ISPENDR, GICD_ISACTIVER, ...).
    pub fn set_intid_bit(&mut self, cpu: u8, base: usize, id: u32) {
        let (off, bit) = gic_driver::regs::bit_per_irq(base, id);
        self.gicd_write(cpu, off, bit);
    }
    /// Reads the bit of `id` in the one-bit-per-interrupt GICD array at `base`.
    pub fn intid_bit(&mut self, cpu: u8, base: usize, id: u32) -> bool {
        let (off, bit) = gic_driver::regs::bit_per_irq(base, id);
        self.gicd_read(cpu, off) & bit != 0
    }
    /// Enables `id` (GICD_ISENABLER; CPU `cpu`'s copy for an SGI or PPI).
    pub fn enable_intid(&mut self, cpu: u8, id: u32) {
        self.set_intid_bit(cpu, gicd::offset::ISENABLER, id)
    }
    /// Makes `id` pending (GICD_ISPENDR).
    pub fn set_pending(&mut self, cpu: u8, id: u32) {
        self.set_intid_bit(cpu, gicd::offset::ISPENDR, id)
    }
    /// Sets the priority of `id` (GICD_IPRIORITYR, byte write).
    pub fn set_priority(&mut self, cpu: u8, id: u32, p: u8) {
        self.gicd_write_byte(cpu, gicd::offset::IPRIORITYR + id as usize, p)
    }
    /// Sets the target CPUs of SPI `id` (GICD_ITARGETSR, byte write).
    pub fn set_targets(&mut self, id: u32, mask: u8) {
        self.gicd_write_byte(0, gicd::offset::ITARGETSR + id as usize, mask)
    }
    /// Puts `id` in Group 1 (GICD_IGROUPR, read-modify-write).
    pub fn set_group1(&mut self, cpu: u8, id: u32) {
        let (off, bit) = gic_driver::regs::bit_per_irq(gicd::offset::IGROUPR, id);
        let v = self.gicd_read(cpu, off);
        self.gicd_write(cpu, off, v | bit);
    }
    /// Makes `id` edge-triggered (GICD_ICFGR, read-modify-write).
    pub fn set_edge_triggered(&mut self, cpu: u8, id: u32) {
        let (off, bit) = gicd::icfgr_edge(id);
        let v = self.gicd_read(cpu, off);
        self.gicd_write(cpu, off, v | bit);
    }

    /// Distributor forwarding both groups; CPU interfaces `0..cpus` with
    /// both groups enabled, AckCtl set, PMR 0xFF, BPR at minimum.
    pub fn enable_all(&mut self) {
        let both = gicd::CTLR::EnableGrp0::SET + gicd::CTLR::EnableGrp1::SET;
        self.gicd_write(0, gicd::offset::CTLR, both.value);
        use gicc::CTLR;
        let ctlr = CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET + CTLR::AckCtl::SET;
        for cpu in 0..self.gic.config().cpus {
            self.gicc_write(cpu, gicc::offset::PMR, 0xFF);
            self.gicc_write(cpu, gicc::offset::BPR, 0);
            self.gicc_write(cpu, gicc::offset::CTLR, ctlr.value);
        }
    }

    /// SPI `id` enabled, targeted at CPU 0, at priority `p`, made pending.
    pub fn pending_spi(&mut self, id: u32, p: u8) {
        self.set_priority(0, id, p);
        self.set_targets(id, 1);
        self.enable_intid(0, id);
        self.set_pending(0, id);
    }

    /// The guest side of CPU `cpu`'s virtual interface enabled: both groups
    /// in GICV_CTLR (AckCtl clear), GICV_PMR 0xF8, then GICH_HCR.En set.
    pub fn enable_virtual_cpu_interface(&mut self, cpu: u8) {
        use gicc::CTLR;
        let both = CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET;
        self.gicv_write(cpu, gicc::offset::CTLR, both.value);
        self.gicv_write(cpu, gicc::offset::PMR, 0xF8);
        self.gich_write(cpu, gich::offset::HCR, gich::HCR::En::SET.value);
    }

    /// Reads CPU `cpu`'s GICC_IAR (acknowledges).
    pub fn gicc_iar(&mut self, cpu: u8) -> u32 {
        self.gicc_read(cpu, gicc::offset::IAR)
    }
    /// Writes CPU `cpu`'s GICC_EOIR.
    pub fn gicc_eoir(&mut self, cpu: u8, v: u32) {
        self.gicc_write(cpu, gicc::offset::EOIR, v)
    }
    /// Writes CPU `cpu`'s GICC_DIR.
    pub fn gicc_dir(&mut self, cpu: u8, v: u32) {
        self.gicc_write(cpu, gicc::offset::DIR, v)
    }
    /// Reads CPU `cpu`'s GICC_RPR.
    pub fn gicc_rpr(&mut self, cpu: u8) -> u32 {
        self.gicc_read(cpu, gicc::offset::RPR)
    }
    /// Reads CPU `cpu`'s GICC_HPPIR.
    pub fn gicc_hppir(&mut self, cpu: u8) -> u32 {
        self.gicc_read(cpu, gicc::offset::HPPIR)
    }
    /// Reads CPU `cpu`'s GICC_APRn.
    pub fn gicc_apr(&mut self, cpu: u8, n: usize) -> u32 {
        self.gicc_read(cpu, gicc::offset::APR + 4 * n)
    }
    /// Generates SGI `sgi` from CPU `from` through GICD_SGIR, with target
    /// list filter `filter` and CPU target list `targets`.
    pub fn send_sgi(&mut self, from: u8, filter: u32, targets: u8, sgi: u32) {
        use gicd::SGIR;
        let v = SGIR::TargetListFilter.val(filter)
            + SGIR::CPUTargetList.val(targets as u32)
            + SGIR::SGIINTID.val(sgi);
        self.gicd_write(from, gicd::offset::SGIR, v.value)
    }
}

// ---- one virtual interface, accessed directly -------------------------

pub use gic_model::{VirtConfig, VirtEffect, VirtualCpuInterface};
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

/// The fields of a pending HW = 1, Group 0 list register for virtual `id`
/// backed by physical `physical`, at 8-bit `priority`.
pub fn pending_hw_lr(id: u32, physical: u32, priority: u32) -> FieldValue<u32, gich::LR::Register> {
    use gich::LR;
    pending_lr(id, priority) + LR::HW::SET + LR::PhysicalID.val(physical)
}

/// A QEMU-shaped virtual interface with GICH_HCR.En set, both virtual
/// groups enabled with AckCtl set (GICV_CTLR), and GICV_PMR 0xF8.
pub fn enabled_virtual_cpu_interface() -> VirtualCpuInterface {
    use gicc::CTLR;
    let mut vi = VirtualCpuInterface::new(VirtConfig::QEMU);
    vi.write_gich(gich::offset::HCR, gich::HCR::En::SET.value);
    vi.write_gicv(
        gicc::offset::CTLR,
        (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value,
    );
    vi.write_gicv(gicc::offset::PMR, 0xFF);
    vi
}

/// The state of a list register as the driver's register definitions
/// decode it (GICH_LRn.State).
pub use gich::LR::State::Value as LrState;

/// The state of `vi`'s GICH_LRn.
pub fn lr_state_of(vi: &VirtualCpuInterface, n: usize) -> LrState {
    gich::lr_state(vi.lr(n))
}
