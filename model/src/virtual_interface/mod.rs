//! One CPU's virtual interface (IHI 0048B chapter 5): the GICH control
//! registers the hypervisor sees (5.3) and the GICV virtual CPU interface the
//! guest sees (5.4), over one stored state.
//!
//! The code follows the concepts: this module holds the state, its shape
//! ([`VirtConfig`]) and its saved form ([`VirtualCpuInterface::to_record`]); the
//! `gich` submodule the control registers and the derived status
//! (GICH_MISR, EISR, ELRSR, the maintenance output); `gicv` the guest's
//! registers and outputs; `list_registers` what a list register means to
//! the guest (its priority and INTID, which one is presented, which one a
//! deactivation matches). The tests are in `model/tests/gich.rs`,
//! `model/tests/gicv.rs` and `model/tests/virtual_random.rs`.
//!
//! # One state, two views
//!
//! Only GICH_HCR (with EOICount), GICH_VMCR, GICH_APR and the list registers
//! are stored. Every GICV register is a mapping onto them (5.3.3, 5.4):
//!
//! | GICV | stored as |
//! |---|---|
//! | CTLR | VMCR.{VMGrp0En, VMGrp1En, VMAckCtl, VMFIQEn, VMCBPR, VEM} |
//! | PMR | VMCR.VMPriMask (PMR\[7:3\]; PMR\[2:0\] read as zero) |
//! | BPR / ABPR | VMCR.VMBP / VMCR.VMABP |
//! | APR0 | GICH_APR (APR1-3 and NSAPR0-3 are RAZ/WI) |
//! | RPR, HPPIR | computed from APR and the list registers |
//!
//! (Enforced by `gicv_ctlr_is_vmcr_control_bits`, `gicv_pmr_is_vmcr_vmprimask`,
//! `binary_points_clamp_to_the_minimum` and
//! `gicv_apr0_is_gich_apr_and_apr1_3_are_raz_wi`.)
//!
//! GICH_MISR, GICH_EISR0-1 and GICH_ELRSR0-1 are computed on every read from
//! the list registers, HCR and VMCR; nothing derived is ever stored, so a
//! restored state needs no recomputation step. Enforced by
//! `eisr_elrsr_misr_are_recomputed_after_restore` and
//! `random_gich_and_gicv_accesses_keep_derived_state_consistent`.
//!
//! The tests named in this module's documentation are in
//! `model/tests/gich.rs`, `model/tests/gicv.rs` and
//! `model/tests/virtual_random.rs`.
//!
//! # Decisions where the specification leaves room
//!
//! * Virtual priorities have five bits: the LR Priority and VMCR.VMPriMask
//!   fields are five bits wide, and GICH_VTR reports 5 priority and 5
//!   preemption bits ([`VirtConfig`] allows no other value). The active
//!   priority bit for group priority `g` is `g >> 3` (bits \[7:3\]), so
//!   GICH_APR's 32 bits cover every level (5.3.7). Enforced by
//!   `reset_state_matches_gic400_reset_values` and
//!   `iar_activates_lr_and_sets_apr_bit_for_group_priority`.
//! * Minimum binary points: VMBP >= 7 - preemption bits (2 with 5 bits),
//!   VMABP >= VMBP minimum + 1 (3). A smaller value written through GICV_BPR,
//!   GICV_ABPR or GICH_VMCR is replaced by the minimum (4.4.3). These minima
//!   are also the reset values (GIC-400: VMCR resets to 0x004C0000).
//!   Enforced by `binary_points_clamp_to_the_minimum`.
//! * EOICount wraps from 31 to 0 (5.3.1). Enforced by
//!   `eoicount_wraps_from_31_to_0`.
//! * GICV_EOIR with no active priority drops nothing (UNPREDICTABLE in the
//!   spec); with EOImode 0 it still deactivates a matching list register, but
//!   EOICount only counts EOIs that cleared an APR bit (5.3.1). GICC_EOIR
//!   makes the same choice. Enforced by
//!   `gicv_eoir_without_an_active_priority_still_deactivates_in_eoimode_0`.
//! * EOIR/DIR/AEOIR with an INTID of 1020-1023 are ignored. Enforced by
//!   `eoi_with_special_intid_is_ignored`.
//! * A list register whose VirtualID is a special INTID (1020-1023) is
//!   never presented to the guest: such contents are UNPREDICTABLE
//!   (IHI 0048B 5.3.8, GICH_LRn.VirtualID; 2.2.1, special INTIDs), and an
//!   acknowledge of one could never be completed, since EOIR of 1020-1023
//!   is ignored. It asserts no virtual IRQ or FIQ, GICV_IAR, GICV_AIAR,
//!   GICV_HPPIR and GICV_AHPPIR look past it, and it never becomes active
//!   or sets a GICV_APR bit. Its State still counts where GICH reports
//!   list-register states (GICH_EISR, GICH_ELRSR, GICH_MISR.U and NP).
//!   Enforced by `list_register_with_a_special_virtual_id_is_never_presented`.
//! * A deactivation matches the lowest-numbered LR whose VirtualID equals the
//!   written INTID, in state active or pending+active, and for SGIs with
//!   HW = 0 whose CPUID equals the written CPUID. Enforced by
//!   `sgi_deactivation_matches_cpuid`.
//! * GICV_AIAR, GICV_AEOIR and GICV_AHPPIR are the Group 1 (Non-secure)
//!   forms: AIAR/AHPPIR return 1023 when the highest-priority pending
//!   interrupt is Group 0 and ignore AckCtl; AEOIR acts like EOIR except that
//!   it is ignored when its matching LR is Group 0 (UNPREDICTABLE in the
//!   spec). QEMU leaves them RAZ/WI. Enforced by
//!   `aliased_registers_serve_group1_only`.
//! * GICV_HPPIR ignores the running priority (like GICC_HPPIR) but honours
//!   the priority mask, the group enables and HCR.En. Enforced by
//!   `guest_preemption_follows_priority_and_binary_point`,
//!   `pmr_masks_signalling`,
//!   `gicv_hppir_reports_1023_for_a_group_gicv_ctlr_disables` and
//!   `iar_returns_1023_when_hcr_en_clear`.
//! * A HW = 1 deactivation asks the distributor to deactivate PhysicalID only
//!   when it names a PPI or SPI (16-1019). Enforced by
//!   `hw_lr_with_special_physical_id_deactivates_only_virtually`.

mod gich;
mod gicv;
mod list_registers;

use gic_driver::regs::gich::{HCR_DEFINED, LR_DEFINED, MAX_LIST_REGISTERS, VMCR};
use gic_driver::snapshot::{SnapshotError, VcpuRecord};

pub use gicv::GICV_IIDR;

/// Shape of the virtual interface (reported in GICH_VTR, IHI 0048B 5.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtConfig {
    /// Implemented list registers, 1-64.
    pub list_registers: u8,
    /// Implemented virtual priority bits (GICH_VTR.PRIbits + 1). GICv2 has
    /// exactly 5: the list-register Priority field and GICH_VMCR.VMPriMask
    /// hold bits \[7:3\] only (5.3.3, 5.3.8).
    pub priority_bits: u8,
    /// Implemented virtual preemption bits (GICH_VTR.PREbits + 1). GICv2
    /// has exactly 5: GICH_APR is one 32-bit register, one bit per
    /// preemption level (5.3.7).
    pub preemption_bits: u8,
    /// Whether GICH_MISR.NP counts a list register in state pending+active
    /// as "pending". The architecture asserts NP when NPIE is set and no
    /// list register is in the pending state (5.3.4), and names pending
    /// (0b01) and active and pending (0b11) as distinct states (1.4.1,
    /// 5.3.8 State): `false`, the default in [`VirtConfig::QEMU`] and what
    /// QEMU does. `true` models an implementation that reads "pending" as
    /// any state with the pending bit set, for testing software against
    /// both. Enforced by `np_ignores_pending_and_active_list_registers_by_default`
    /// and `np_counts_pending_and_active_list_registers_when_configured`.
    pub np_counts_pending_active: bool,
}

impl VirtConfig {
    /// QEMU's GICv2: 4 list registers, 5 priority and 5 preemption bits,
    /// GICH_MISR.NP as the architecture defines it.
    pub const QEMU: VirtConfig = VirtConfig {
        list_registers: 4,
        priority_bits: 5,
        preemption_bits: 5,
        np_counts_pending_active: false,
    };

    /// This shape with every field brought into its architectural range
    /// (5.3.2): 1-64 list registers, and 5 priority and 5 preemption bits,
    /// the only values GICv2's register layout can hold; the NP choice is
    /// kept. [`VirtualCpuInterface::new`] applies it, so no configuration can
    /// make the model misbehave.
    /// Enforced by `config_is_normalized_into_architectural_ranges`.
    pub const fn normalized(self) -> VirtConfig {
        const fn clamp(v: u8, lo: u8, hi: u8) -> u8 {
            if v < lo {
                lo
            } else if v > hi {
                hi
            } else {
                v
            }
        }
        VirtConfig {
            list_registers: clamp(self.list_registers, 1, MAX_LIST_REGISTERS as u8),
            priority_bits: 5,
            preemption_bits: 5,
            np_counts_pending_active: self.np_counts_pending_active,
        }
    }

    /// The smallest GICV_BPR (GICH_VMCR.VMBP) value: 7 - preemption bits,
    /// at least 0 (4.4.3, 5.3.3). 2 with five preemption bits.
    pub const fn min_binary_point(self) -> u8 {
        7u8.saturating_sub(self.normalized().preemption_bits)
    }

    /// The smallest GICV_ABPR (GICH_VMCR.VMABP) value: one more than
    /// [`min_binary_point`](Self::min_binary_point) (4.4.8). 3 with five
    /// preemption bits.
    pub const fn min_aliased_binary_point(self) -> u8 {
        self.min_binary_point() + 1
    }
}

/// What a GICV access asks of the rest of the GIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VirtEffect {
    /// Deactivate this physical INTID in the distributor, for this CPU
    /// (a guest deactivated an LR with HW = 1, IHI 0048B 5.3.8).
    pub deactivate_physical: Option<u32>,
}

/// One CPU's virtual CPU interface as the model holds it: the state behind
/// its GICH control registers and its GICV frame, HCR, VMCR, APR and the
/// list registers. EISR, ELRSR and MISR are computed from these, never
/// stored (IHI 0048B 5.3). (The driver's `gic_driver::VirtualInterface` is
/// the hypervisor's handle on a GICH frame, this model's or a real one.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualCpuInterface {
    config: VirtConfig,
    /// GICH_HCR, including EOICount; reserved bits zero.
    hcr: u32,
    /// GICH_VMCR: GICV_CTLR, PMR, BPR and ABPR; reserved bits zero.
    vmcr: u32,
    /// GICH_APR, which is also GICV_APR0.
    apr: u32,
    /// GICH_LR0-63; entries at and beyond `config.list_registers` stay zero.
    lrs: [u32; MAX_LIST_REGISTERS],
}

impl VirtualCpuInterface {
    /// A virtual interface in its reset state (5.3): HCR, APR and every list
    /// register zero; VMCR holds only the minimum binary points (0x004C0000
    /// with five preemption bits, as on a GIC-400). `config` is
    /// [normalized](VirtConfig::normalized) first.
    /// Enforced by `reset_state_matches_gic400_reset_values` and `reset_restores_reset_state`.
    pub fn new(config: VirtConfig) -> Self {
        let config = config.normalized();
        let vmcr = (VMCR::VMBP.val(u32::from(config.min_binary_point()))
            + VMCR::VMABP.val(u32::from(config.min_aliased_binary_point())))
        .value;
        VirtualCpuInterface {
            config,
            hcr: 0,
            vmcr,
            apr: 0,
            lrs: [0; MAX_LIST_REGISTERS],
        }
    }

    /// The shape this interface was built with (after normalization).
    pub fn config(&self) -> VirtConfig {
        self.config
    }

    /// Back to the reset state.
    pub fn reset(&mut self) {
        *self = Self::new(self.config);
    }

    fn lr_count(&self) -> usize {
        usize::from(self.config.list_registers).min(MAX_LIST_REGISTERS)
    }

    fn implemented_lrs(&self) -> &[u32] {
        &self.lrs[..self.lr_count()]
    }

    // ----------------------------------------------------------- snapshots

    /// The state as a saved record (HCR, VMCR, APR, the implemented LRs;
    /// 5.3). Nothing derived is saved.
    /// Enforced by `record_holds_registers_and_implemented_lrs_only` and
    /// `a_record_sets_a_larger_interface`.
    pub fn to_record(&self) -> VcpuRecord {
        let mut record = VcpuRecord {
            hcr: self.hcr,
            vmcr: self.vmcr,
            apr: self.apr,
            lr_count: self.config.list_registers,
            ..VcpuRecord::default()
        };
        let n = self.lr_count();
        record.lrs[..n].copy_from_slice(&self.lrs[..n]);
        record
    }

    /// Sets the state from a saved record. Fails, changing nothing, with
    /// [`SnapshotError::Oversized`] if it claims more than 64 list registers
    /// or [`SnapshotError::ConfigMismatch`] if more than this interface
    /// implements. A record with fewer LRs leaves the rest invalid. Reserved
    /// bits are dropped and binary points raised to their minimum, as a
    /// register write would. EISR, ELRSR and MISR follow from the loaded
    /// state (5.3).
    /// Enforced by `set_record_rejects_more_lrs_than_implemented_and_changes_nothing`,
    /// `set_record_with_fewer_lrs_leaves_the_rest_invalid`,
    /// `set_record_masks_reserved_bits_and_clamps_binary_points` and
    /// `eisr_elrsr_misr_are_recomputed_after_restore`.
    pub fn set_record(&mut self, record: &VcpuRecord) -> Result<(), SnapshotError> {
        let count = usize::from(record.lr_count);
        if count > MAX_LIST_REGISTERS {
            return Err(SnapshotError::Oversized);
        }
        if count > self.lr_count() {
            return Err(SnapshotError::ConfigMismatch);
        }
        self.hcr = record.hcr & HCR_DEFINED;
        self.vmcr = self.sanitize_vmcr(record.vmcr);
        self.apr = record.apr;
        self.lrs = [0; MAX_LIST_REGISTERS];
        for (dst, src) in self.lrs.iter_mut().zip(&record.lrs[..count]) {
            *dst = src & LR_DEFINED;
        }
        Ok(())
    }
}
