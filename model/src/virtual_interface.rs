//! One CPU's virtual interface (IHI 0048B chapter 5): the GICH control
//! registers the hypervisor sees and the GICV CPU interface the guest sees,
//! over one stored state.
//!
//! STUB: to be implemented. The signatures below are the contract with the
//! rest of the model (lib.rs dispatches GICH/GICV accesses here).

use gic_driver::snapshot::{SnapshotError, VcpuRecord};

/// Shape of the virtual interface (reported in GICH_VTR).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtConfig {
    /// Implemented list registers, 1-64.
    pub list_registers: u8,
    /// Implemented virtual priority bits, 5-8 (GICH_VTR.PRIbits + 1).
    pub priority_bits: u8,
    /// Implemented preemption bits, 5..=priority_bits (GICH_VTR.PREbits + 1).
    pub preemption_bits: u8,
}

impl VirtConfig {
    /// QEMU's GICv2: 4 list registers, 5 priority and 5 preemption bits.
    pub const QEMU: VirtConfig = VirtConfig {
        list_registers: 4,
        priority_bits: 5,
        preemption_bits: 5,
    };
}

/// What a GICV access asks of the rest of the GIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VirtEffect {
    /// Deactivate this physical INTID in the distributor, for this CPU
    /// (a guest deactivated an LR with HW = 1).
    pub deactivate_physical: Option<u32>,
}

/// One CPU's virtual interface state: HCR, VMCR, APR and the list registers.
/// EISR, ELRSR and MISR are computed from these, never stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualInterface {
    config: VirtConfig,
}

impl VirtualInterface {
    /// A virtual interface in its reset state.
    pub fn new(config: VirtConfig) -> Self {
        VirtualInterface { config }
    }

    /// The shape this interface was built with.
    pub fn config(&self) -> VirtConfig {
        self.config
    }

    /// Back to the reset state.
    pub fn reset(&mut self) {
        *self = Self::new(self.config);
    }

    /// A 32-bit read of the GICH frame at `offset`. Never panics; unknown
    /// offsets read as zero.
    pub fn read_gich(&self, _offset: usize) -> u32 {
        0
    }

    /// A 32-bit write of the GICH frame at `offset`. Never panics; read-only
    /// and unknown offsets ignore writes.
    pub fn write_gich(&mut self, _offset: usize, _value: u32) {}

    /// A 32-bit read of the GICV frame at `offset` (GICC layout). GICV_IAR
    /// acknowledges. Never panics.
    pub fn read_gicv(&mut self, _offset: usize) -> u32 {
        0
    }

    /// A 32-bit write of the GICV frame at `offset`. Never panics.
    pub fn write_gicv(&mut self, _offset: usize, _value: u32) -> VirtEffect {
        VirtEffect::default()
    }

    /// The maintenance interrupt output: HCR.En set and MISR non-zero.
    pub fn maintenance(&self) -> bool {
        false
    }

    /// The virtual IRQ output to the guest.
    pub fn virq(&self) -> bool {
        false
    }

    /// The virtual FIQ output to the guest.
    pub fn vfiq(&self) -> bool {
        false
    }

    /// The state as a saved record (HCR, VMCR, APR, LRs).
    pub fn record(&self) -> VcpuRecord {
        VcpuRecord::default()
    }

    /// Loads a saved record. Fails, changing nothing, if it holds more list
    /// registers than this interface implements or invalid values.
    pub fn restore(&mut self, _record: &VcpuRecord) -> Result<(), SnapshotError> {
        Ok(())
    }
}
