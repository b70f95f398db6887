//! One CPU's virtual interface (IHI 0048B chapter 5): the GICH control
//! registers the hypervisor sees (5.3) and the GICV virtual CPU interface the
//! guest sees (5.4), over one stored state.
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
//! GICH_MISR, GICH_EISR0-1 and GICH_ELRSR0-1 are computed on every read from
//! the list registers, HCR and VMCR; nothing derived is ever stored, so a
//! restored state needs no recomputation step.
//!
//! # Decisions where the specification leaves room
//!
//! * Virtual priorities have five bits: the LR Priority and VMCR.VMPriMask
//!   fields are five bits wide, and GICH_VTR reports 5 priority and 5
//!   preemption bits ([`VirtConfig`] allows no other value). The active
//!   priority bit for group priority `g` is `g >> 3` (bits \[7:3\]), so
//!   GICH_APR's 32 bits cover every level (5.3.7).
//! * Minimum binary points: VMBP >= 7 - preemption bits (2 with 5 bits),
//!   VMABP >= VMBP minimum + 1 (3). A smaller value written through GICV_BPR,
//!   GICV_ABPR or GICH_VMCR is replaced by the minimum (4.4.3). These minima
//!   are also the reset values (GIC-400: VMCR resets to 0x004C0000).
//! * EOICount wraps from 31 to 0 (5.3.1).
//! * GICV_EOIR with no active priority drops nothing (UNPREDICTABLE in the
//!   spec); with EOImode 0 it still deactivates a matching list register, but
//!   EOICount only counts EOIs that cleared an APR bit (5.3.1). GICC_EOIR
//!   makes the same choice. Enforced by
//!   `gicv_eoir_without_an_active_priority_still_deactivates_in_eoimode_0`.
//! * EOIR/DIR/AEOIR with an INTID of 1020-1023 are ignored.
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
//!   HW = 0 whose CPUID equals the written CPUID.
//! * GICV_AIAR, GICV_AEOIR and GICV_AHPPIR are the Group 1 (Non-secure)
//!   forms: AIAR/AHPPIR return 1023 when the highest-priority pending
//!   interrupt is Group 0 and ignore AckCtl; AEOIR acts like EOIR except that
//!   it is ignored when its matching LR is Group 0 (UNPREDICTABLE in the
//!   spec). QEMU leaves them RAZ/WI.
//! * GICV_HPPIR ignores the running priority (like GICC_HPPIR) but honours
//!   the priority mask, the group enables and HCR.En.
//! * A HW = 1 deactivation asks the distributor to deactivate PhysicalID only
//!   when it names a PPI or SPI (16-1019).

use gic_driver::regs::field_mask;
use gic_driver::regs::gicc::{self, BPR, CTLR, IAR, IIDR_GIC400, PMR};
use gic_driver::regs::gich::{
    self, lr_state, HCR, HCR_DEFINED, LR, LR_DEFINED, MAX_LIST_REGISTERS, MISR, VMCR, VMCR_DEFINED,
    VTR,
};
use gic_driver::snapshot::{SnapshotError, VcpuRecord};
use gic_driver::IntId;
use tock_registers::fields::Field;
use tock_registers::RegisterLongName;

// The state of a list register (GICH_LR.State, 5.3.8), as the driver's
// register definitions decode it.
use gich::LR::State::Value as LrState;

/// The width of a register field in bits.
const fn width<R: RegisterLongName>(f: Field<u32, R>) -> u32 {
    f.mask.count_ones()
}

/// GICV_CTLR fields and the GICH_VMCR fields that hold them (5.3.3).
const CTLR_IN_VMCR: [(Field<u32, CTLR::Register>, Field<u32, VMCR::Register>); 6] = [
    (CTLR::EnableGrp0, VMCR::VMGrp0En),
    (CTLR::EnableGrp1, VMCR::VMGrp1En),
    (CTLR::AckCtl, VMCR::VMAckCtl),
    (CTLR::FIQEn, VMCR::VMFIQEn),
    (CTLR::CBPR, VMCR::VMCBPR),
    (CTLR::EOImode, VMCR::VEM),
];

/// An 8-bit virtual priority is the LR Priority field shifted up by this.
const LR_PRIO_SHIFT: u32 = 8 - width(LR::Priority);
/// GICV_PMR is VMCR.VMPriMask shifted up by this.
const PMR_SHIFT: u32 = width(PMR::Priority) - width(VMCR::VMPriMask);
/// The idle running priority (GICV_RPR with no active priority).
const IDLE_PRIORITY: u32 = 0xFF;
/// The spurious INTID: nothing to acknowledge.
const SPURIOUS: u32 = IntId::SPURIOUS.get();
/// The INTID returned for a Group 1 interrupt when AckCtl is clear.
const SPURIOUS_GROUP1: u32 = IntId::GROUP1_NOT_ACKNOWLEDGED.get();
/// INTIDs from this value up are special (1020-1023).
const FIRST_SPECIAL_INTID: u32 = IntId::SPECIAL_START;
/// INTIDs below this are SGIs (IAR/EOIR carry a CPUID for them).
const SGI_COUNT: u32 = IntId::SGI_COUNT;
/// The second word of GICH_EISR (LRs 32-63).
const GICH_EISR1: usize = gich::offset::EISR + 4;
/// The second word of GICH_ELRSR (LRs 32-63).
const GICH_ELRSR1: usize = gich::offset::ELRSR + 4;
/// One past the last GICH_LRn.
const GICH_LR_END: usize = gich::lr(MAX_LIST_REGISTERS);

/// GICV_IIDR (5.4): the same value as the model's GICC_IIDR (4.4.15), a
/// GIC-400 r0p1 ([`gicc::IIDR_GIC400`]).
pub const GICV_IIDR: u32 = IIDR_GIC400;

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
}

impl VirtConfig {
    /// QEMU's GICv2: 4 list registers, 5 priority and 5 preemption bits.
    pub const QEMU: VirtConfig = VirtConfig {
        list_registers: 4,
        priority_bits: 5,
        preemption_bits: 5,
    };

    /// This shape with every field brought into its architectural range
    /// (5.3.2): 1-64 list registers, and 5 priority and 5 preemption bits,
    /// the only values GICv2's register layout can hold. [`VirtualInterface::new`] applies
    /// it, so no configuration can make the model misbehave.
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

/// The 8-bit virtual priority of a list register.
fn lr_priority(lr: u32) -> u32 {
    LR::Priority.read(lr) << LR_PRIO_SHIFT
}

/// The GICV_IAR / GICV_HPPIR value for a list register: VirtualID, plus
/// CPUID for an SGI with HW = 0 (5.4, 4.4.4).
fn lr_intid(lr: u32) -> u32 {
    let id = LR::VirtualID.read(lr);
    let cpuid = if !LR::HW.is_set(lr) && id < SGI_COUNT {
        LR::CPUID.read(lr)
    } else {
        0
    };
    (IAR::InterruptID.val(id) + IAR::CPUID.val(cpuid)).value
}

/// One CPU's virtual interface state: HCR, VMCR, APR and the list registers.
/// EISR, ELRSR and MISR are computed from these, never stored
/// (IHI 0048B 5.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualInterface {
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

impl VirtualInterface {
    /// A virtual interface in its reset state (5.3): HCR, APR and every list
    /// register zero; VMCR holds only the minimum binary points (0x004C0000
    /// with five preemption bits, as on a GIC-400). `config` is
    /// [normalized](VirtConfig::normalized) first.
    pub fn new(config: VirtConfig) -> Self {
        let config = config.normalized();
        let vmcr = (VMCR::VMBP.val(u32::from(config.min_binary_point()))
            + VMCR::VMABP.val(u32::from(config.min_aliased_binary_point())))
        .value;
        VirtualInterface {
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

    // ---------------------------------------------------------------- GICH

    /// A 32-bit read of the GICH frame at `offset` (5.3). Never panics;
    /// unknown or unaligned offsets and unimplemented list registers read
    /// as zero. MISR, EISR and ELRSR are computed here.
    pub fn read_gich(&self, offset: usize) -> u32 {
        if !offset.is_multiple_of(4) {
            return 0;
        }
        match offset {
            gich::offset::HCR => self.hcr,
            gich::offset::VTR => self.vtr(),
            gich::offset::VMCR => self.vmcr,
            gich::offset::MISR => self.misr(),
            gich::offset::EISR => self.eisr() as u32,
            GICH_EISR1 => (self.eisr() >> 32) as u32,
            gich::offset::ELRSR => self.elrsr() as u32,
            GICH_ELRSR1 => (self.elrsr() >> 32) as u32,
            gich::offset::APR => self.apr,
            o if (gich::offset::LR..GICH_LR_END).contains(&o) => {
                self.lr((o - gich::offset::LR) / 4)
            }
            _ => 0,
        }
    }

    /// A 32-bit write of the GICH frame at `offset` (5.3). Never panics;
    /// read-only, unknown and unaligned offsets and unimplemented list
    /// registers ignore writes. Reserved bits are dropped; VMCR binary points
    /// below their minimum are raised to it.
    pub fn write_gich(&mut self, offset: usize, value: u32) {
        if !offset.is_multiple_of(4) {
            return;
        }
        match offset {
            gich::offset::HCR => self.hcr = value & HCR_DEFINED,
            gich::offset::VMCR => self.vmcr = self.sanitize_vmcr(value),
            gich::offset::APR => self.apr = value,
            o if (gich::offset::LR..GICH_LR_END).contains(&o) => {
                let n = (o - gich::offset::LR) / 4;
                if n < self.lr_count() {
                    self.lrs[n] = value & LR_DEFINED;
                }
            }
            _ => {}
        }
    }

    /// GICH_HCR (5.3.1), including EOICount.
    pub fn hcr(&self) -> u32 {
        self.hcr
    }

    /// GICH_VTR (5.3.2): ListRegs = LRs - 1 in six bits, PREbits and PRIbits
    /// minus one.
    pub fn vtr(&self) -> u32 {
        let c = self.config;
        (VTR::ListRegs.val(u32::from(c.list_registers).saturating_sub(1))
            + VTR::PREbits.val(u32::from(c.preemption_bits).saturating_sub(1))
            + VTR::PRIbits.val(u32::from(c.priority_bits).saturating_sub(1)))
        .value
    }

    /// GICH_VMCR (5.3.3): the guest's GICV_CTLR, PMR, BPR and ABPR.
    pub fn vmcr(&self) -> u32 {
        self.vmcr
    }

    /// GICH_APR (5.3.7), which is also GICV_APR0. Bit `n` is set while an
    /// interrupt of group priority `n << 3` is active.
    pub fn apr(&self) -> u32 {
        self.apr
    }

    /// GICH_LRn (5.3.8); zero for `n` at or beyond the implemented count.
    pub fn lr(&self, n: usize) -> u32 {
        self.implemented_lrs().get(n).copied().unwrap_or(0)
    }

    /// GICH_HCR.EOICount (5.3.1): EOIs that matched no list register,
    /// modulo 32.
    pub fn eoi_count(&self) -> u32 {
        HCR::EOICount.read(self.hcr)
    }

    /// GICH_EISR1:GICH_EISR0 (5.3.5), computed: bit `n` is set when LRn is
    /// invalid with HW = 0 and EOI = 1 (an EOI maintenance request).
    pub fn eisr(&self) -> u64 {
        self.lr_bits(|lr| {
            lr_state(lr) == LrState::Invalid && !LR::HW.is_set(lr) && LR::EOI.is_set(lr)
        })
    }

    /// GICH_ELRSR1:GICH_ELRSR0 (5.3.6), computed: bit `n` is set when LRn
    /// is invalid and has no EOI maintenance request (HW = 1 or EOI = 0), so
    /// the hypervisor may reuse it.
    pub fn elrsr(&self) -> u64 {
        self.lr_bits(|lr| {
            lr_state(lr) == LrState::Invalid && (LR::HW.is_set(lr) || !LR::EOI.is_set(lr))
        })
    }

    fn lr_bits(&self, f: impl Fn(u32) -> bool) -> u64 {
        self.implemented_lrs()
            .iter()
            .enumerate()
            .filter(|&(_, &lr)| f(lr))
            .fold(0, |acc, (n, _)| acc | (1u64 << n))
    }

    /// GICH_MISR (5.3.4), computed from the list registers, HCR and VMCR:
    /// EOI (some EISR bit set), U (UIE and at most one valid LR), LRENP
    /// (LRENPIE and EOICount != 0), NP (NPIE and no LR in state pending),
    /// VGrp0E/D and VGrp1E/D (the interrupt enables against GICV_CTLR's
    /// group enables).
    pub fn misr(&self) -> u32 {
        let hcr = self.hcr;
        let valid = self
            .implemented_lrs()
            .iter()
            .filter(|&&lr| lr_state(lr) != LrState::Invalid)
            .count();
        let any_pending = self
            .implemented_lrs()
            .iter()
            .any(|&lr| lr_state(lr) == LrState::Pending);
        let grp0 = VMCR::VMGrp0En.is_set(self.vmcr);
        let grp1 = VMCR::VMGrp1En.is_set(self.vmcr);
        let flag = |b: bool| u32::from(b);
        (MISR::EOI.val(flag(self.eisr() != 0))
            + MISR::U.val(flag(HCR::UIE.is_set(hcr) && valid <= 1))
            + MISR::LRENP.val(flag(
                HCR::LRENPIE.is_set(hcr) && HCR::EOICount.read(hcr) != 0,
            ))
            + MISR::NP.val(flag(HCR::NPIE.is_set(hcr) && !any_pending))
            + MISR::VGrp0E.val(flag(HCR::VGrp0EIE.is_set(hcr) && grp0))
            + MISR::VGrp0D.val(flag(HCR::VGrp0DIE.is_set(hcr) && !grp0))
            + MISR::VGrp1E.val(flag(HCR::VGrp1EIE.is_set(hcr) && grp1))
            + MISR::VGrp1D.val(flag(HCR::VGrp1DIE.is_set(hcr) && !grp1)))
        .value
    }

    fn sanitize_vmcr(&self, value: u32) -> u32 {
        let mut v = value & VMCR_DEFINED;
        let bp_min = u32::from(self.config.min_binary_point());
        let abp_min = u32::from(self.config.min_aliased_binary_point());
        if VMCR::VMBP.read(v) < bp_min {
            v = VMCR::VMBP.val(bp_min).modify(v);
        }
        if VMCR::VMABP.read(v) < abp_min {
            v = VMCR::VMABP.val(abp_min).modify(v);
        }
        v
    }

    // ---------------------------------------------------------------- GICV

    /// A 32-bit read of the GICV frame at `offset` (GICC layout, 5.4).
    /// GICV_IAR and GICV_AIAR acknowledge. Never panics; write-only,
    /// unknown and unaligned offsets read as zero.
    pub fn read_gicv(&mut self, offset: usize) -> u32 {
        if !offset.is_multiple_of(4) {
            return 0;
        }
        match offset {
            gicc::offset::CTLR => self.gicv_ctlr(),
            gicc::offset::PMR => self.gicv_pmr(),
            gicc::offset::BPR => VMCR::VMBP.read(self.vmcr),
            gicc::offset::IAR => self.acknowledge(false),
            gicc::offset::RPR => self.running_priority(),
            gicc::offset::HPPIR => self.highest_pending(false),
            gicc::offset::ABPR => VMCR::VMABP.read(self.vmcr),
            gicc::offset::AIAR => self.acknowledge(true),
            gicc::offset::AHPPIR => self.highest_pending(true),
            gicc::offset::APR => self.apr,
            gicc::offset::IIDR => GICV_IIDR,
            _ => 0,
        }
    }

    /// A 32-bit write of the GICV frame at `offset` (5.4). Never panics;
    /// read-only, unknown and unaligned offsets ignore writes. EOIR, AEOIR
    /// and DIR may ask for a physical deactivation (HW = 1 list registers).
    pub fn write_gicv(&mut self, offset: usize, value: u32) -> VirtEffect {
        if !offset.is_multiple_of(4) {
            return VirtEffect::default();
        }
        match offset {
            gicc::offset::CTLR => {
                for (ctlr, vmcr) in CTLR_IN_VMCR {
                    self.vmcr = vmcr.val(ctlr.read(value)).modify(self.vmcr);
                }
            }
            gicc::offset::PMR => {
                let mask = PMR::Priority.read(value) >> PMR_SHIFT;
                self.vmcr = VMCR::VMPriMask.val(mask).modify(self.vmcr);
            }
            gicc::offset::BPR => {
                let bp = BPR::BinaryPoint.read(value);
                self.vmcr = self.sanitize_vmcr(VMCR::VMBP.val(bp).modify(self.vmcr));
            }
            gicc::offset::ABPR => {
                let bp = BPR::BinaryPoint.read(value);
                self.vmcr = self.sanitize_vmcr(VMCR::VMABP.val(bp).modify(self.vmcr));
            }
            gicc::offset::EOIR => return self.end_of_interrupt(value, false),
            gicc::offset::AEOIR => return self.end_of_interrupt(value, true),
            gicc::offset::DIR => return self.deactivate_interrupt(value),
            gicc::offset::APR => self.apr = value,
            _ => {}
        }
        VirtEffect::default()
    }

    /// GICV_CTLR (5.4, 4.4.1): VMCR's control bits in GICC_CTLR positions.
    pub fn gicv_ctlr(&self) -> u32 {
        CTLR_IN_VMCR
            .iter()
            .filter(|(_, vmcr)| vmcr.is_set(self.vmcr))
            .fold(0, |acc, (ctlr, _)| acc | field_mask(ctlr))
    }

    /// GICV_PMR (5.4, 4.4.2): VMCR.VMPriMask as PMR\[7:3\].
    pub fn gicv_pmr(&self) -> u32 {
        VMCR::VMPriMask.read(self.vmcr) << PMR_SHIFT
    }

    /// GICV_RPR (5.4, 4.4.6): the group priority of the lowest set APR bit
    /// (`bit << 3`), or 0xFF when no interrupt is active.
    pub fn running_priority(&self) -> u32 {
        if self.apr == 0 {
            IDLE_PRIORITY
        } else {
            self.apr.trailing_zeros() << LR_PRIO_SHIFT
        }
    }

    /// The group priority of a list register's interrupt (3.3.3): its
    /// priority masked by VMBP, or for Group 1 with CBPR clear by VMABP - 1.
    fn group_priority(&self, lr: u32) -> u32 {
        let bp = if LR::Grp1.is_set(lr) && !VMCR::VMCBPR.is_set(self.vmcr) {
            VMCR::VMABP.read(self.vmcr).saturating_sub(1)
        } else {
            VMCR::VMBP.read(self.vmcr)
        };
        let mask = 0xFFu32.checked_shl(bp + 1).unwrap_or(0);
        lr_priority(lr) & mask
    }

    fn group_enabled(&self, lr: u32) -> bool {
        if LR::Grp1.is_set(lr) {
            VMCR::VMGrp1En.is_set(self.vmcr)
        } else {
            VMCR::VMGrp0En.is_set(self.vmcr)
        }
    }

    /// The highest-priority pending list register the guest could see:
    /// state pending (not pending+active), a VirtualID that is not special
    /// (1020-1023), group enabled in GICV_CTLR, priority below GICV_PMR,
    /// HCR.En set. Lowest priority value wins, ties to the lowest index.
    fn best_pending(&self) -> Option<usize> {
        if !HCR::En.is_set(self.hcr) {
            return None;
        }
        let pmr = self.gicv_pmr();
        self.implemented_lrs()
            .iter()
            .enumerate()
            .filter(|&(_, &lr)| {
                lr_state(lr) == LrState::Pending
                    && LR::VirtualID.read(lr) < FIRST_SPECIAL_INTID
                    && self.group_enabled(lr)
            })
            .min_by_key(|&(n, &lr)| (lr_priority(lr), n))
            .filter(|&(_, &lr)| lr_priority(lr) < pmr)
            .map(|(n, _)| n)
    }

    /// The list register that is signalled to the guest: the best pending
    /// one if its group priority preempts the running priority.
    fn signalled(&self) -> Option<usize> {
        self.best_pending()
            .filter(|&n| self.group_priority(self.lrs[n]) < self.running_priority())
    }

    /// GICV_IAR (`aliased` false) or GICV_AIAR (true), 5.4 and 4.4.4.
    fn acknowledge(&mut self, aliased: bool) -> u32 {
        let Some(n) = self.signalled() else {
            return SPURIOUS;
        };
        let lr = self.lrs[n];
        let grp1 = LR::Grp1.is_set(lr);
        if aliased && !grp1 {
            return SPURIOUS;
        }
        if !aliased && grp1 && !VMCR::VMAckCtl.is_set(self.vmcr) {
            return SPURIOUS_GROUP1;
        }
        let level = self.group_priority(lr) >> LR_PRIO_SHIFT;
        self.apr |= 1u32.checked_shl(level).unwrap_or(0);
        self.lrs[n] = LR::State::Active.modify(lr);
        lr_intid(lr)
    }

    /// GICV_HPPIR (`aliased` false) or GICV_AHPPIR (true), 5.4 and 4.4.7.
    fn highest_pending(&self, aliased: bool) -> u32 {
        let Some(n) = self.best_pending() else {
            return SPURIOUS;
        };
        let lr = self.lrs[n];
        let grp1 = LR::Grp1.is_set(lr);
        if aliased && !grp1 {
            SPURIOUS
        } else if !aliased && grp1 && !VMCR::VMAckCtl.is_set(self.vmcr) {
            SPURIOUS_GROUP1
        } else {
            lr_intid(lr)
        }
    }

    /// The list register a deactivation of `value` (IAR layout) applies to.
    fn matching_lr(&self, value: u32) -> Option<usize> {
        let id = IAR::InterruptID.read(value);
        let cpuid = IAR::CPUID.read(value);
        self.implemented_lrs().iter().position(|&lr| {
            LR::VirtualID.read(lr) == id
                && matches!(lr_state(lr), LrState::Active | LrState::PendingActive)
                && (LR::HW.is_set(lr) || id >= SGI_COUNT || LR::CPUID.read(lr) == cpuid)
        })
    }

    /// Deactivates LRn: active -> invalid, pending+active -> pending
    /// (5.3.8). With HW = 1 the physical interrupt is deactivated too.
    fn deactivate_lr(&mut self, n: usize) -> VirtEffect {
        let lr = self.lrs[n];
        self.lrs[n] = if lr_state(lr) == LrState::PendingActive {
            LR::State::Pending.modify(lr)
        } else {
            LR::State::Invalid.modify(lr)
        };
        let physical = LR::PhysicalID.read(lr);
        VirtEffect {
            deactivate_physical: (LR::HW.is_set(lr)
                && (SGI_COUNT..FIRST_SPECIAL_INTID).contains(&physical))
            .then_some(physical),
        }
    }

    /// Adds one to HCR.EOICount, wrapping from 31 to 0 (5.3.1).
    fn count_unmatched_eoi(&mut self) {
        let count = (HCR::EOICount.read(self.hcr) + 1) & HCR::EOICount.mask;
        self.hcr = HCR::EOICount.val(count).modify(self.hcr);
    }

    /// GICV_EOIR (`aliased` false) or GICV_AEOIR (true), 5.4 and 4.4.5:
    /// priority drop, and with EOImode 0 deactivation.
    fn end_of_interrupt(&mut self, value: u32, aliased: bool) -> VirtEffect {
        if IAR::InterruptID.read(value) >= FIRST_SPECIAL_INTID {
            return VirtEffect::default();
        }
        let matched = self.matching_lr(value);
        if aliased && matched.is_some_and(|n| !LR::Grp1.is_set(self.lrs[n])) {
            return VirtEffect::default();
        }
        let dropped = self.apr != 0;
        self.apr &= self.apr.wrapping_sub(1);
        if VMCR::VEM.is_set(self.vmcr) {
            return VirtEffect::default();
        }
        match matched {
            Some(n) => self.deactivate_lr(n),
            None => {
                if dropped {
                    self.count_unmatched_eoi();
                }
                VirtEffect::default()
            }
        }
    }

    /// GICV_DIR (5.4, 4.4.16): deactivation when EOImode is 1; ignored
    /// otherwise.
    fn deactivate_interrupt(&mut self, value: u32) -> VirtEffect {
        if !VMCR::VEM.is_set(self.vmcr) || IAR::InterruptID.read(value) >= FIRST_SPECIAL_INTID {
            return VirtEffect::default();
        }
        match self.matching_lr(value) {
            Some(n) => self.deactivate_lr(n),
            None => {
                self.count_unmatched_eoi();
                VirtEffect::default()
            }
        }
    }

    // ------------------------------------------------------------- outputs

    /// The maintenance interrupt output (5.3.4): HCR.En set and MISR
    /// non-zero.
    pub fn maintenance(&self) -> bool {
        HCR::En.is_set(self.hcr) && self.misr() != 0
    }

    /// Whether the signalled virtual interrupt goes to FIQ: Group 0 with
    /// GICV_CTLR.FIQEn set (5.4, 3.6).
    fn signalled_as_fiq(&self) -> Option<bool> {
        self.signalled()
            .map(|n| !LR::Grp1.is_set(self.lrs[n]) && VMCR::VMFIQEn.is_set(self.vmcr))
    }

    /// The virtual IRQ output to the guest (5.1): a pending list register
    /// of an enabled group, below GICV_PMR, preempting the running priority,
    /// with HCR.En set, and not routed to FIQ.
    pub fn virq(&self) -> bool {
        self.signalled_as_fiq() == Some(false)
    }

    /// The virtual FIQ output to the guest (5.1): as [`virq`](Self::virq),
    /// for a Group 0 interrupt while GICV_CTLR.FIQEn is set.
    pub fn vfiq(&self) -> bool {
        self.signalled_as_fiq() == Some(true)
    }

    // ----------------------------------------------------------- snapshots

    /// The state as a saved record (HCR, VMCR, APR, the implemented LRs;
    /// 5.3). Nothing derived is saved.
    pub fn record(&self) -> VcpuRecord {
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

    /// Loads a saved record. Fails, changing nothing, with
    /// [`SnapshotError::Oversized`] if it claims more than 64 list registers
    /// or [`SnapshotError::ConfigMismatch`] if more than this interface
    /// implements. A record with fewer LRs leaves the rest invalid. Reserved
    /// bits are dropped and binary points raised to their minimum, as a
    /// register write would. EISR, ELRSR and MISR follow from the loaded
    /// state (5.3).
    pub fn restore(&mut self, record: &VcpuRecord) -> Result<(), SnapshotError> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use gic_driver::regs::gicc::offset as v;
    use gic_driver::regs::gicc::IIDR;
    use gic_driver::regs::gich::offset as h;
    use tock_registers::fields::FieldValue;

    type LrValue = FieldValue<u32, LR::Register>;

    /// An LR value built from fields.
    fn lr(fields: LrValue) -> u32 {
        fields.value
    }

    /// A pending HW = 0 LR for `id` at 8-bit `priority`, Group 0.
    fn pending(id: u32, priority: u32) -> LrValue {
        LR::VirtualID.val(id) + LR::Priority.val(priority >> 3) + LR::State::Pending
    }

    /// QEMU-shaped interface with HCR.En and both guest groups enabled,
    /// AckCtl set, PMR 0xF8.
    fn enabled() -> VirtualInterface {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gich(h::HCR, HCR::En::SET.value);
        vi.write_gicv(
            v::CTLR,
            (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value,
        );
        vi.write_gicv(v::PMR, 0xFF);
        vi
    }

    fn state(vi: &VirtualInterface, n: usize) -> LrState {
        lr_state(vi.lr(n))
    }

    #[test]
    fn reset_state_matches_gic400_reset_values() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        assert_eq!(vi.read_gich(h::HCR), 0);
        assert_eq!(vi.read_gich(h::VTR), 0x9000_0003);
        assert_eq!(vi.read_gich(h::VMCR), 0x004C_0000);
        assert_eq!(vi.read_gich(h::MISR), 0);
        assert_eq!(vi.read_gich(h::EISR), 0);
        assert_eq!(vi.read_gich(h::ELRSR), 0xF);
        assert_eq!(vi.read_gich(h::ELRSR + 4), 0);
        assert_eq!(vi.read_gich(h::APR), 0);
        assert_eq!(vi.read_gicv(v::BPR), 2);
        assert_eq!(vi.read_gicv(v::ABPR), 3);
        assert_eq!(vi.read_gicv(v::RPR), 0xFF);
        assert_eq!(vi.read_gicv(v::IAR), 1023);
        assert!(!vi.maintenance() && !vi.virq() && !vi.vfiq());
    }

    #[test]
    fn reset_restores_reset_state() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        vi.write_gich(h::APR, 5);
        vi.reset();
        assert_eq!(vi, VirtualInterface::new(VirtConfig::QEMU));
    }

    #[test]
    fn vtr_encodes_64_lrs_in_six_bits() {
        let vi = VirtualInterface::new(VirtConfig {
            list_registers: 64,
            ..VirtConfig::QEMU
        });
        let vtr = vi.read_gich(h::VTR);
        assert_eq!(VTR::ListRegs.read(vtr), 63);
        assert_eq!(vtr & 0x3F, 0x3F);
        assert_eq!(VTR::PREbits.read(vtr), 4);
        assert_eq!(VTR::PRIbits.read(vtr), 4);
        assert_eq!(vi.elrsr(), u64::MAX);
        assert_eq!(vi.read_gich(h::ELRSR + 4), 0xFFFF_FFFF);
    }

    #[test]
    fn config_is_normalized_into_architectural_ranges() {
        let vi = VirtualInterface::new(VirtConfig {
            list_registers: 200,
            priority_bits: 2,
            preemption_bits: 9,
        });
        assert_eq!(
            vi.config(),
            VirtConfig {
                list_registers: 64,
                priority_bits: 5,
                preemption_bits: 5
            }
        );
        let vi = VirtualInterface::new(VirtConfig {
            list_registers: 0,
            priority_bits: 6,
            preemption_bits: 8,
        });
        assert_eq!(vi.config().list_registers, 1);
        assert_eq!(vi.config().priority_bits, 5);
        assert_eq!(vi.config().preemption_bits, 5);
    }

    #[test]
    fn hcr_reserved_bits_read_as_zero() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gich(h::HCR, !0);
        assert_eq!(vi.read_gich(h::HCR), 0xF800_00FF);
        assert_eq!(vi.eoi_count(), 31);
    }

    #[test]
    fn lr_reserved_bits_read_as_zero() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gich(gich::lr(3), !0);
        assert_eq!(vi.read_gich(gich::lr(3)), 0xFF8F_FFFF);
    }

    #[test]
    fn lrs_beyond_count_are_raz_wi() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gich(gich::lr(4), lr(pending(40, 0)));
        vi.write_gich(gich::lr(63), !0);
        assert_eq!(vi.read_gich(gich::lr(4)), 0);
        assert_eq!(vi.read_gich(gich::lr(63)), 0);
        assert_eq!(vi.lr(4), 0);
        assert_eq!(vi, VirtualInterface::new(VirtConfig::QEMU));
    }

    #[test]
    fn read_only_unknown_and_unaligned_offsets_are_raz_wi() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        let reset = vi.clone();
        for off in [
            h::VTR,
            h::MISR,
            h::EISR,
            h::ELRSR,
            0x00C,
            0x0EC,
            0x200,
            0xFFC,
            0x1000,
            0x101,
            usize::MAX,
            usize::MAX - 3,
        ] {
            vi.write_gich(off, !0);
        }
        assert_eq!(vi.read_gich(h::VTR), 0x9000_0003);
        assert_eq!(vi.read_gich(0x00C), 0);
        assert_eq!(vi.read_gich(h::HCR + 1), 0);
        assert_eq!(vi.read_gich(usize::MAX), 0);
        assert_eq!(vi.read_gich(usize::MAX - 3), 0);
        for off in [
            v::IAR,
            v::RPR,
            v::HPPIR,
            v::AIAR,
            v::AHPPIR,
            v::IIDR,
            v::APR + 4,
            v::NSAPR,
            0x2C,
            0x3,
            0x2000,
            usize::MAX,
            usize::MAX - 3,
        ] {
            assert_eq!(vi.write_gicv(off, !0), VirtEffect::default());
            assert_eq!(
                vi.read_gicv(off),
                if off == v::IIDR {
                    GICV_IIDR
                } else if off == v::IAR || off == v::HPPIR || off == v::AIAR || off == v::AHPPIR {
                    1023
                } else if off == v::RPR {
                    0xFF
                } else {
                    0
                }
            );
        }
        assert_eq!(vi.read_gicv(v::EOIR), 0);
        assert_eq!(vi.read_gicv(v::DIR), 0);
        assert_eq!(vi.read_gicv(v::CTLR + 1), 0);
        assert_eq!(vi, reset);
    }

    #[test]
    fn gicv_pmr_is_vmcr_vmprimask() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gicv(v::PMR, 0xFF);
        assert_eq!(vi.read_gicv(v::PMR), 0xF8);
        assert_eq!(VMCR::VMPriMask.read(vi.read_gich(h::VMCR)), 0x1F);
        vi.write_gich(h::VMCR, VMCR::VMPriMask.val(0x14).modify(vi.vmcr()));
        assert_eq!(vi.read_gicv(v::PMR), 0xA0);
        vi.write_gicv(v::PMR, 0x1_0007);
        assert_eq!(vi.read_gicv(v::PMR), 0);
    }

    #[test]
    fn gicv_ctlr_is_vmcr_control_bits() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gicv(v::CTLR, !0);
        assert_eq!(vi.read_gicv(v::CTLR), 0x21F);
        assert_eq!(vi.read_gich(h::VMCR) & 0x3FF, 0x21F);
        vi.write_gich(
            h::VMCR,
            vi.vmcr() & !field_mask(&VMCR::VMGrp1En) & !field_mask(&VMCR::VEM),
        );
        assert_eq!(vi.read_gicv(v::CTLR), 0x01D);
        vi.write_gicv(v::CTLR, 0);
        assert_eq!(vi.read_gich(h::VMCR), 0x004C_0000);
    }

    #[test]
    fn binary_points_clamp_to_the_minimum() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gicv(v::BPR, 0);
        vi.write_gicv(v::ABPR, 0);
        assert_eq!(vi.read_gicv(v::BPR), 2);
        assert_eq!(vi.read_gicv(v::ABPR), 3);
        vi.write_gicv(v::BPR, 5);
        vi.write_gicv(v::ABPR, 0xF7);
        assert_eq!(vi.read_gicv(v::BPR), 5);
        assert_eq!(vi.read_gicv(v::ABPR), 7);
        vi.write_gich(h::VMCR, 0);
        assert_eq!(vi.read_gich(h::VMCR), 0x004C_0000);
    }

    #[test]
    fn gicv_apr0_is_gich_apr_and_apr1_3_are_raz_wi() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gicv(v::APR, 0x0001_0000);
        assert_eq!(vi.read_gich(h::APR), 0x0001_0000);
        assert_eq!(vi.read_gicv(v::RPR), 0x80);
        vi.write_gich(h::APR, 0x8000_0000);
        assert_eq!(vi.read_gicv(v::APR), 0x8000_0000);
        assert_eq!(vi.read_gicv(v::RPR), 0xF8);
        for n in 1..4 {
            vi.write_gicv(v::APR + 4 * n, !0);
            assert_eq!(vi.read_gicv(v::APR + 4 * n), 0);
        }
        assert_eq!(vi.apr(), 0x8000_0000);
    }

    #[test]
    fn gicv_iidr_matches_gicc_iidr_of_a_gic400() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        assert_eq!(vi.read_gicv(v::IIDR), 0x0202_143B);
        assert_eq!(IIDR::ArchitectureVersion.read(GICV_IIDR), 2);
    }

    #[test]
    fn pending_and_active_lr_is_not_a_candidate() {
        let mut vi = enabled();
        vi.write_gich(
            gich::lr(0),
            lr(LR::VirtualID.val(40) + LR::Priority.val(0) + LR::State::PendingActive),
        );
        assert!(!vi.virq());
        assert_eq!(vi.read_gicv(v::HPPIR), 1023);
        assert_eq!(vi.read_gicv(v::IAR), 1023);
        assert_eq!(state(&vi, 0), LrState::PendingActive);
        vi.write_gich(gich::lr(1), lr(pending(41, 0xF0)));
        assert!(vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 41);
    }

    #[test]
    fn lowest_priority_value_wins_ties_to_lowest_lr() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(50, 0x80)));
        vi.write_gich(gich::lr(1), lr(pending(51, 0x40)));
        vi.write_gich(gich::lr(2), lr(pending(52, 0x40)));
        vi.write_gich(gich::lr(3), lr(pending(53, 0x60)));
        assert_eq!(vi.read_gicv(v::HPPIR), 51);
        assert_eq!(vi.read_gicv(v::IAR), 51);
        assert_eq!(state(&vi, 1), LrState::Active);
        assert_eq!(vi.read_gicv(v::HPPIR), 52);
    }

    #[test]
    fn iar_returns_1023_when_hcr_en_clear() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0)));
        vi.write_gich(h::HCR, 0);
        assert!(!vi.virq() && !vi.vfiq());
        assert_eq!(vi.read_gicv(v::HPPIR), 1023);
        assert_eq!(vi.read_gicv(v::IAR), 1023);
        assert_eq!(state(&vi, 0), LrState::Pending);
        assert_eq!(vi.apr(), 0);
    }

    #[test]
    fn iar_returns_1022_for_group1_with_ackctl_clear() {
        let mut vi = enabled();
        vi.write_gicv(
            v::CTLR,
            (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET).value,
        );
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80) + LR::Grp1::SET));
        assert!(vi.virq());
        assert_eq!(vi.read_gicv(v::HPPIR), 1022);
        assert_eq!(vi.read_gicv(v::IAR), 1022);
        assert_eq!(state(&vi, 0), LrState::Pending);
        assert_eq!(vi.apr(), 0);
        vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::AckCtl));
        assert_eq!(vi.read_gicv(v::IAR), 40);
    }

    #[test]
    fn iar_activates_lr_and_sets_apr_bit_for_group_priority() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(2), lr(pending(40, 0xA0)));
        assert!(vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(state(&vi, 2), LrState::Active);
        assert_eq!(vi.read_gich(h::APR), 1 << (0xA0 >> 3));
        assert_eq!(vi.read_gicv(v::RPR), 0xA0);
        assert!(!vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 1023);
    }

    #[test]
    fn sgi_iar_carries_lr_cpuid() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(3, 0x80) + LR::CPUID.val(5)));
        assert_eq!(vi.read_gicv(v::HPPIR), 0x1403);
        assert_eq!(vi.read_gicv(v::IAR), 0x1403);
    }

    #[test]
    fn hw_lr_iar_carries_no_cpuid() {
        let mut vi = enabled();
        vi.write_gich(
            gich::lr(0),
            lr(pending(3, 0x80) + LR::HW::SET + LR::PhysicalID.val(0x1D)),
        );
        assert_eq!(vi.read_gicv(v::IAR), 3);
        // A non-SGI never carries CPUID bits either.
        vi.write_gich(gich::lr(1), lr(pending(27, 0x40) + LR::CPUID.val(5)));
        assert_eq!(vi.read_gicv(v::IAR), 27);
    }

    #[test]
    fn guest_preemption_follows_priority_and_binary_point() {
        let mut vi = enabled();
        vi.write_gicv(v::BPR, 0);
        vi.write_gich(gich::lr(0), lr(pending(40, 0xA0)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.read_gicv(v::RPR), 0xA0);
        // Lower priority: visible in HPPIR but not signalled.
        vi.write_gich(gich::lr(1), lr(pending(41, 0xA8)));
        assert_eq!(vi.read_gicv(v::HPPIR), 41);
        assert!(!vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 1023);
        // Higher priority preempts.
        vi.write_gich(gich::lr(2), lr(pending(42, 0x90)));
        assert!(vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 42);
        assert_eq!(vi.read_gicv(v::RPR), 0x90);
        assert_eq!(vi.apr(), (1 << (0xA0 >> 3)) | (1 << (0x90 >> 3)));
        // Completing 42 returns to the 0xA0 level.
        vi.write_gicv(v::EOIR, 42);
        assert_eq!(vi.read_gicv(v::RPR), 0xA0);

        // With BPR 5 the group priority of 0xA0 is 0x80, and 0x90 no
        // longer preempts.
        let mut vi = enabled();
        vi.write_gicv(v::BPR, 5);
        vi.write_gich(gich::lr(0), lr(pending(40, 0xA0)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.read_gicv(v::RPR), 0x80);
        assert_eq!(vi.apr(), 1 << (0x80 >> 3));
        vi.write_gich(gich::lr(1), lr(pending(42, 0x90)));
        assert!(!vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 1023);
        vi.write_gich(gich::lr(2), lr(pending(43, 0x70)));
        assert_eq!(vi.read_gicv(v::IAR), 43);
    }

    #[test]
    fn group1_uses_abpr_unless_cbpr_is_set() {
        let mut vi = enabled();
        vi.write_gicv(v::BPR, 2);
        vi.write_gicv(v::ABPR, 7); // Group 1 group priority field [7:7]
        vi.write_gich(gich::lr(0), lr(pending(40, 0xA8) + LR::Grp1::SET));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.read_gicv(v::RPR), 0x80);
        vi.write_gicv(v::EOIR, 40);
        vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::CBPR));
        vi.write_gich(gich::lr(0), lr(pending(40, 0xA8) + LR::Grp1::SET));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.read_gicv(v::RPR), 0xA8);
    }

    #[test]
    fn pmr_masks_signalling() {
        let mut vi = enabled();
        vi.write_gicv(v::PMR, 0x80);
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert!(!vi.virq());
        assert_eq!(vi.read_gicv(v::HPPIR), 1023);
        assert_eq!(vi.read_gicv(v::IAR), 1023);
        vi.write_gicv(v::PMR, 0x88);
        assert!(vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 40);
    }

    #[test]
    fn lr_of_disabled_group_is_skipped() {
        let mut vi = enabled();
        vi.write_gicv(v::CTLR, (CTLR::EnableGrp1::SET + CTLR::AckCtl::SET).value);
        vi.write_gich(gich::lr(0), lr(pending(40, 0x00)));
        vi.write_gich(gich::lr(1), lr(pending(41, 0x80) + LR::Grp1::SET));
        assert!(vi.virq());
        assert_eq!(vi.read_gicv(v::IAR), 41);
        vi.write_gicv(v::CTLR, CTLR::AckCtl::SET.value);
        assert!(!vi.virq() && !vi.vfiq());
        assert_eq!(vi.read_gicv(v::IAR), 1023);
    }

    #[test]
    fn group0_goes_to_vfiq_when_fiqen_is_set() {
        let mut vi = enabled();
        vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::FIQEn));
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert!(vi.vfiq() && !vi.virq());
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80) + LR::Grp1::SET));
        assert!(vi.virq() && !vi.vfiq());
    }

    #[test]
    fn eoi_drops_priority_and_deactivates() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.write_gicv(v::EOIR, 40), VirtEffect::default());
        assert_eq!(state(&vi, 0), LrState::Invalid);
        assert_eq!(vi.apr(), 0);
        assert_eq!(vi.read_gicv(v::RPR), 0xFF);
        assert_eq!(vi.eoi_count(), 0);
        assert_eq!(vi.elrsr() & 1, 1);
        assert_eq!(vi.eisr(), 0);
    }

    #[test]
    fn eoi_of_pending_and_active_lr_leaves_it_pending() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        vi.write_gich(gich::lr(0), LR::State::PendingActive.modify(vi.lr(0)));
        vi.write_gicv(v::EOIR, 40);
        assert_eq!(state(&vi, 0), LrState::Pending);
        assert!(vi.virq());
    }

    #[test]
    fn eoi_with_no_matching_lr_increments_eoicount() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        // The hypervisor reclaimed the LR while the interrupt was active.
        vi.write_gich(gich::lr(0), 0);
        vi.write_gicv(v::EOIR, 40);
        assert_eq!(vi.eoi_count(), 1);
        assert_eq!(HCR::EOICount.read(vi.read_gich(h::HCR)), 1);
        assert_eq!(vi.apr(), 0);
        // Without LRENPIE nothing is signalled; with it, LRENP is.
        assert!(!vi.maintenance());
        vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::LRENPIE));
        assert_eq!(vi.misr(), field_mask(&MISR::LRENP));
        assert!(vi.maintenance());
    }

    #[test]
    fn eoi_without_active_priority_does_not_count() {
        let mut vi = enabled();
        vi.write_gicv(v::EOIR, 40);
        assert_eq!(vi.eoi_count(), 0);
        assert_eq!(vi.apr(), 0);
    }

    #[test]
    fn eoicount_wraps_from_31_to_0() {
        let mut vi = enabled();
        vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::EOICount));
        assert_eq!(vi.eoi_count(), 31);
        vi.write_gich(h::APR, 1);
        vi.write_gicv(v::EOIR, 99);
        assert_eq!(vi.eoi_count(), 0);
        assert!(HCR::En.is_set(vi.hcr()));
    }

    #[test]
    fn eoi_with_special_intid_is_ignored() {
        let mut vi = enabled();
        vi.write_gich(h::APR, 1);
        vi.write_gicv(v::EOIR, 1023);
        vi.write_gicv(v::EOIR, 1020);
        assert_eq!(vi.apr(), 1);
        assert_eq!(vi.eoi_count(), 0);
    }

    #[test]
    fn hw_lr_deactivation_reports_physical_id() {
        let mut vi = enabled();
        vi.write_gich(
            gich::lr(1),
            lr(pending(27, 0x80) + LR::HW::SET + LR::PhysicalID.val(30)),
        );
        assert_eq!(vi.read_gicv(v::IAR), 27);
        assert_eq!(
            vi.write_gicv(v::EOIR, 27),
            VirtEffect {
                deactivate_physical: Some(30)
            }
        );
        assert_eq!(state(&vi, 1), LrState::Invalid);
        // HW LRs never raise the EOI maintenance condition.
        assert_eq!(vi.eisr(), 0);
        assert_eq!(vi.elrsr() & 0b10, 0b10);
    }

    #[test]
    fn hw_lr_with_special_physical_id_deactivates_only_virtually() {
        let mut vi = enabled();
        vi.write_gich(
            gich::lr(0),
            lr(pending(27, 0x80) + LR::HW::SET + LR::PhysicalID.val(1023)),
        );
        assert_eq!(vi.read_gicv(v::IAR), 27);
        assert_eq!(vi.write_gicv(v::EOIR, 27), VirtEffect::default());
        assert_eq!(state(&vi, 0), LrState::Invalid);
    }

    #[test]
    fn eoi_bit_lr_raises_eoi_maintenance_after_deactivation() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80) + LR::EOI::SET));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.eisr(), 0);
        assert!(!vi.maintenance());
        vi.write_gicv(v::EOIR, 40);
        assert_eq!(vi.read_gich(h::EISR), 1);
        assert_eq!(vi.read_gich(h::ELRSR) & 1, 0);
        assert_eq!(vi.read_gich(h::MISR), 1);
        assert!(vi.maintenance());
        // The hypervisor clears the LR: the condition goes away.
        vi.write_gich(gich::lr(0), 0);
        assert_eq!(vi.read_gich(h::MISR), 0);
        assert_eq!(vi.read_gich(h::ELRSR) & 1, 1);
        assert!(!vi.maintenance());
    }

    #[test]
    fn split_eoi_drops_priority_and_dir_deactivates() {
        let mut vi = enabled();
        vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::EOImode));
        assert!(VMCR::VEM.is_set(vi.vmcr()));
        vi.write_gich(
            gich::lr(0),
            lr(pending(27, 0x80) + LR::HW::SET + LR::PhysicalID.val(27)),
        );
        assert_eq!(vi.read_gicv(v::IAR), 27);
        assert_eq!(vi.write_gicv(v::EOIR, 27), VirtEffect::default());
        assert_eq!(vi.apr(), 0);
        assert_eq!(state(&vi, 0), LrState::Active);
        assert_eq!(
            vi.write_gicv(v::DIR, 27),
            VirtEffect {
                deactivate_physical: Some(27)
            }
        );
        assert_eq!(state(&vi, 0), LrState::Invalid);
        assert_eq!(vi.eoi_count(), 0);
    }

    #[test]
    fn dir_is_ignored_when_eoimode_is_clear() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.write_gicv(v::DIR, 40), VirtEffect::default());
        assert_eq!(state(&vi, 0), LrState::Active);
        vi.write_gicv(v::DIR, 41);
        assert_eq!(vi.eoi_count(), 0);
    }

    #[test]
    fn dir_with_no_matching_lr_increments_eoicount() {
        let mut vi = enabled();
        vi.write_gicv(v::CTLR, vi.gicv_ctlr() | field_mask(&CTLR::EOImode));
        vi.write_gicv(v::DIR, 40);
        assert_eq!(vi.eoi_count(), 1);
        // A pending (not active) LR does not match either.
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        vi.write_gicv(v::DIR, 40);
        assert_eq!(vi.eoi_count(), 2);
        assert_eq!(state(&vi, 0), LrState::Pending);
    }

    #[test]
    fn sgi_deactivation_matches_cpuid() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(3, 0x80) + LR::CPUID.val(1)));
        vi.write_gich(gich::lr(1), lr(pending(3, 0x80) + LR::CPUID.val(2)));
        assert_eq!(vi.read_gicv(v::IAR), 0x0403);
        vi.write_gich(gich::lr(1), LR::State::Active.modify(vi.lr(1)));
        vi.write_gich(h::APR, vi.apr() | 1 << 17);
        vi.write_gicv(v::EOIR, 0x0803);
        assert_eq!(state(&vi, 0), LrState::Active);
        assert_eq!(state(&vi, 1), LrState::Invalid);
        vi.write_gicv(v::EOIR, 0x0403);
        assert_eq!(state(&vi, 0), LrState::Invalid);
        assert_eq!(vi.eoi_count(), 0);
    }

    #[test]
    fn aliased_registers_serve_group1_only() {
        let mut vi = enabled();
        vi.write_gicv(
            v::CTLR,
            (CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET).value,
        );
        vi.write_gich(gich::lr(0), lr(pending(40, 0x40)));
        vi.write_gich(gich::lr(1), lr(pending(41, 0x80) + LR::Grp1::SET));
        // Group 0 is the winner: the aliased views see nothing.
        assert_eq!(vi.read_gicv(v::AHPPIR), 1023);
        assert_eq!(vi.read_gicv(v::AIAR), 1023);
        assert_eq!(state(&vi, 0), LrState::Pending);
        assert_eq!(vi.read_gicv(v::IAR), 40);
        vi.write_gicv(v::EOIR, 40);
        // Group 1 with AckCtl clear: IAR says 1022, AIAR acknowledges.
        assert_eq!(vi.read_gicv(v::HPPIR), 1022);
        assert_eq!(vi.read_gicv(v::IAR), 1022);
        assert_eq!(vi.read_gicv(v::AHPPIR), 41);
        assert_eq!(vi.read_gicv(v::AIAR), 41);
        assert_eq!(vi.read_gicv(v::RPR), 0x80);
        // AEOIR ignores a Group 0 interrupt, completes a Group 1 one.
        vi.write_gich(gich::lr(0), lr(LR::VirtualID.val(40) + LR::State::Active));
        vi.write_gicv(v::AEOIR, 40);
        assert_eq!(state(&vi, 0), LrState::Active);
        assert_eq!(vi.apr(), 1 << 16);
        vi.write_gicv(v::AEOIR, 41);
        assert_eq!(state(&vi, 1), LrState::Invalid);
        assert_eq!(vi.apr(), 0);
        vi.write_gicv(v::EOIR, 40);
        assert_eq!(state(&vi, 0), LrState::Invalid);
        assert_eq!(vi.eoi_count(), 0);
    }

    #[test]
    fn np_condition_clears_when_lr_refilled() {
        let mut vi = enabled();
        vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::NPIE));
        assert_eq!(vi.misr(), field_mask(&MISR::NP));
        assert!(vi.maintenance());
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert_eq!(vi.misr(), 0);
        assert!(!vi.maintenance());
        // Once acknowledged (every LR active) NP is back.
        assert_eq!(vi.read_gicv(v::IAR), 40);
        assert_eq!(vi.misr(), field_mask(&MISR::NP));
        // Pending+active is not "pending".
        vi.write_gich(gich::lr(0), LR::State::PendingActive.modify(vi.lr(0)));
        assert_eq!(vi.misr(), field_mask(&MISR::NP));
    }

    #[test]
    fn underflow_condition_needs_at_most_one_valid_lr() {
        let mut vi = enabled();
        vi.write_gich(h::HCR, vi.hcr() | field_mask(&HCR::UIE));
        assert_eq!(vi.misr(), field_mask(&MISR::U));
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        assert_eq!(vi.misr(), field_mask(&MISR::U));
        vi.write_gich(gich::lr(3), lr(pending(41, 0x80)));
        assert_eq!(vi.misr(), 0);
        assert_eq!(vi.read_gicv(v::IAR), 40);
        vi.write_gicv(v::EOIR, 40);
        assert_eq!(vi.misr(), field_mask(&MISR::U));
    }

    #[test]
    fn group_enable_conditions_track_gicv_ctlr() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        let ie = (HCR::En::SET
            + HCR::VGrp0EIE::SET
            + HCR::VGrp0DIE::SET
            + HCR::VGrp1EIE::SET
            + HCR::VGrp1DIE::SET)
            .value;
        vi.write_gich(h::HCR, ie);
        assert_eq!(
            vi.misr(),
            field_mask(&MISR::VGrp0D) | field_mask(&MISR::VGrp1D)
        );
        vi.write_gicv(v::CTLR, CTLR::EnableGrp0::SET.value);
        assert_eq!(
            vi.misr(),
            field_mask(&MISR::VGrp0E) | field_mask(&MISR::VGrp1D)
        );
        vi.write_gicv(v::CTLR, CTLR::EnableGrp1::SET.value);
        assert_eq!(
            vi.misr(),
            field_mask(&MISR::VGrp0D) | field_mask(&MISR::VGrp1E)
        );
        assert!(vi.maintenance());
    }

    #[test]
    fn maintenance_requires_hcr_en() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        vi.write_gich(h::HCR, field_mask(&HCR::NPIE));
        assert_eq!(vi.read_gich(h::MISR), field_mask(&MISR::NP));
        assert!(!vi.maintenance());
        vi.write_gich(h::HCR, field_mask(&HCR::NPIE) | field_mask(&HCR::En));
        assert!(vi.maintenance());
    }

    #[test]
    fn record_holds_registers_and_implemented_lrs_only() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80) + LR::EOI::SET));
        vi.write_gich(gich::lr(3), lr(pending(41, 0x88)));
        assert_eq!(vi.read_gicv(v::IAR), 40);
        let r = vi.record();
        assert_eq!(r.hcr, vi.hcr());
        assert_eq!(r.vmcr, vi.vmcr());
        assert_eq!(r.apr, 1 << 16);
        assert_eq!(r.lr_count, 4);
        assert_eq!(&r.lrs[..4], &[vi.lr(0), 0, 0, vi.lr(3)]);
        assert!(r.lrs[4..].iter().all(|&x| x == 0));
        let mut other = VirtualInterface::new(VirtConfig::QEMU);
        other.restore(&r).unwrap();
        assert_eq!(other, vi);
    }

    #[test]
    fn eisr_elrsr_misr_are_recomputed_after_restore() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        let mut r = VcpuRecord {
            hcr: (HCR::En::SET + HCR::NPIE::SET + HCR::LRENPIE::SET + HCR::EOICount.val(2)).value,
            vmcr: 0x004C_0000,
            apr: 0,
            lr_count: 4,
            ..VcpuRecord::default()
        };
        r.lrs[0] = lr(LR::VirtualID.val(40) + LR::EOI::SET); // invalid, EOI
        r.lrs[1] = lr(LR::VirtualID.val(41) + LR::State::Active);
        r.lrs[2] = lr(LR::VirtualID.val(42) + LR::HW::SET + LR::PhysicalID.val(42));
        vi.restore(&r).unwrap();
        assert_eq!(vi.read_gich(h::EISR), 0b0001);
        assert_eq!(vi.read_gich(h::ELRSR), 0b1100);
        assert_eq!(
            vi.read_gich(h::MISR),
            field_mask(&MISR::EOI) | field_mask(&MISR::LRENP) | field_mask(&MISR::NP)
        );
        assert!(vi.maintenance());
        // A second restore replaces everything derived as well.
        r.lrs = [0; MAX_LIST_REGISTERS];
        r.hcr = HCR::En::SET.value;
        vi.restore(&r).unwrap();
        assert_eq!(vi.read_gich(h::EISR), 0);
        assert_eq!(vi.read_gich(h::ELRSR), 0xF);
        assert_eq!(vi.read_gich(h::MISR), 0);
    }

    #[test]
    fn restore_rejects_more_lrs_than_implemented_and_changes_nothing() {
        let mut vi = enabled();
        vi.write_gich(gich::lr(0), lr(pending(40, 0x80)));
        let before = vi.clone();
        let r = VcpuRecord {
            lr_count: 5,
            ..VcpuRecord::default()
        };
        assert_eq!(vi.restore(&r), Err(SnapshotError::ConfigMismatch));
        let r = VcpuRecord {
            lr_count: 65,
            ..VcpuRecord::default()
        };
        assert_eq!(vi.restore(&r), Err(SnapshotError::Oversized));
        assert_eq!(vi, before);
    }

    #[test]
    fn restore_with_fewer_lrs_leaves_the_rest_invalid() {
        let mut vi = enabled();
        for n in 0..4 {
            vi.write_gich(gich::lr(n), lr(pending(40 + n as u32, 0x80)));
        }
        let mut r = VcpuRecord {
            hcr: HCR::En::SET.value,
            vmcr: 0x004C_0000,
            lr_count: 2,
            ..VcpuRecord::default()
        };
        r.lrs[0] = lr(pending(50, 0x10));
        r.lrs[1] = lr(pending(51, 0x20));
        r.lrs[2] = lr(pending(52, 0x30)); // beyond lr_count: not loaded
        vi.restore(&r).unwrap();
        assert_eq!(vi.lr(0), r.lrs[0]);
        assert_eq!(vi.lr(1), r.lrs[1]);
        assert_eq!(vi.lr(2), 0);
        assert_eq!(vi.lr(3), 0);
        assert_eq!(vi.elrsr(), 0b1100);
    }

    #[test]
    fn restore_masks_reserved_bits_and_clamps_binary_points() {
        let mut vi = VirtualInterface::new(VirtConfig::QEMU);
        let mut r = VcpuRecord {
            hcr: !0,
            vmcr: 0x0000_FC00,
            apr: 0x8000_0001,
            lr_count: 1,
            ..VcpuRecord::default()
        };
        r.lrs[0] = !0;
        vi.restore(&r).unwrap();
        assert_eq!(vi.hcr(), 0xF800_00FF);
        assert_eq!(vi.vmcr(), 0x004C_0000);
        assert_eq!(vi.apr(), 0x8000_0001);
        assert_eq!(vi.lr(0), 0xFF8F_FFFF);
    }

    #[test]
    fn record_restores_into_a_larger_interface() {
        let mut small = enabled();
        small.write_gich(gich::lr(3), lr(pending(40, 0x80)));
        let mut big = VirtualInterface::new(VirtConfig {
            list_registers: 64,
            priority_bits: 5,
            preemption_bits: 5,
        });
        big.restore(&small.record()).unwrap();
        assert_eq!(big.lr(3), small.lr(3));
        assert_eq!(big.elrsr(), !(1u64 << 3));
        assert_eq!(big.read_gicv(v::IAR), 40);
    }

    mod random {
        use super::*;
        use proptest::prelude::*;
        use proptest::test_runner::{Config, TestRunner};

        #[derive(Debug, Clone)]
        enum Op {
            GichRead(usize),
            GichWrite(usize, u32),
            GicvRead(usize),
            GicvWrite(usize, u32),
        }

        static GICH_OFFSETS: [usize; 9] = [
            h::HCR,
            h::VTR,
            h::VMCR,
            h::MISR,
            h::EISR,
            h::EISR + 4,
            h::ELRSR,
            h::ELRSR + 4,
            h::APR,
        ];

        static GICV_OFFSETS: [usize; 16] = [
            v::CTLR,
            v::PMR,
            v::BPR,
            v::IAR,
            v::EOIR,
            v::RPR,
            v::HPPIR,
            v::ABPR,
            v::AIAR,
            v::AEOIR,
            v::AHPPIR,
            v::APR,
            v::APR + 4,
            v::NSAPR,
            v::IIDR,
            v::DIR,
        ];

        fn gich_offset() -> impl Strategy<Value = usize> {
            prop_oneof![
                prop::sample::select(&GICH_OFFSETS[..]),
                (0..MAX_LIST_REGISTERS + 2).prop_map(gich::lr),
                any::<usize>(),
                0..0x1004usize,
            ]
        }

        fn gicv_offset() -> impl Strategy<Value = usize> {
            prop_oneof![
                prop::sample::select(&GICV_OFFSETS[..]),
                any::<usize>(),
                0..0x2004usize,
            ]
        }

        /// LR-shaped values are more interesting than uniform ones.
        fn value() -> impl Strategy<Value = u32> {
            prop_oneof![
                any::<u32>(),
                (
                    0u32..64,
                    0u32..4,
                    0u32..32,
                    any::<bool>(),
                    any::<bool>(),
                    any::<bool>()
                )
                    .prop_map(|(id, st, prio, eoi, grp1, hw)| {
                        (LR::VirtualID.val(id)
                            + LR::State.val(st)
                            + LR::Priority.val(prio)
                            + LR::EOI.val(u32::from(eoi))
                            + LR::Grp1.val(u32::from(grp1))
                            + LR::HW.val(u32::from(hw))
                            + LR::PhysicalID.val(if hw { id + 16 } else { u32::from(eoi) << 9 }))
                        .value
                    }),
                0u32..1024,
                Just(HCR::En::SET.value | 0xFE),
                Just(0x21F),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                gich_offset().prop_map(Op::GichRead),
                (gich_offset(), value()).prop_map(|(o, x)| Op::GichWrite(o, x)),
                gicv_offset().prop_map(Op::GicvRead),
                (gicv_offset(), value()).prop_map(|(o, x)| Op::GicvWrite(o, x)),
            ]
        }

        fn config() -> impl Strategy<Value = VirtConfig> {
            (any::<u8>(), any::<u8>(), any::<u8>()).prop_map(|(l, pri, pre)| VirtConfig {
                list_registers: l,
                priority_bits: pri,
                preemption_bits: pre,
            })
        }

        fn check_invariants(vi: &VirtualInterface) -> Result<(), TestCaseError> {
            let n = usize::from(vi.config().list_registers);
            prop_assert!((1..=MAX_LIST_REGISTERS).contains(&n));
            let (eisr, elrsr) = (vi.eisr(), vi.elrsr());
            for i in 0..MAX_LIST_REGISTERS {
                let lr = vi.lr(i);
                let invalid = lr_state(lr) == LrState::Invalid;
                let hw = LR::HW.is_set(lr);
                let eoi = LR::EOI.is_set(lr);
                let e = eisr >> i & 1 == 1;
                let l = elrsr >> i & 1 == 1;
                if i < n {
                    prop_assert_eq!(e, invalid && !hw && eoi);
                    prop_assert_eq!(l, invalid && (hw || !eoi));
                    prop_assert_eq!(lr & !LR_DEFINED, 0);
                } else {
                    prop_assert!(!e && !l && lr == 0);
                }
            }
            prop_assert_eq!(
                u64::from(vi.read_gich(h::EISR)) | u64::from(vi.read_gich(h::EISR + 4)) << 32,
                eisr
            );
            prop_assert_eq!(
                u64::from(vi.read_gich(h::ELRSR)) | u64::from(vi.read_gich(h::ELRSR + 4)) << 32,
                elrsr
            );
            let misr = vi.read_gich(h::MISR);
            prop_assert_eq!(misr, vi.misr());
            prop_assert_eq!(misr & !0xFF, 0);
            prop_assert_eq!(misr & 1 == 1, eisr != 0);
            prop_assert_eq!(vi.maintenance(), HCR::En.is_set(vi.hcr()) && misr != 0);
            prop_assert!(!(vi.virq() && vi.vfiq()));
            if !HCR::En.is_set(vi.hcr()) {
                prop_assert!(!vi.virq() && !vi.vfiq());
            }
            prop_assert_eq!(vi.hcr() & !HCR_DEFINED, 0);
            prop_assert_eq!(vi.vmcr() & !VMCR_DEFINED, 0);
            prop_assert!(VMCR::VMBP.read(vi.vmcr()) >= u32::from(vi.config().min_binary_point()));
            prop_assert!(
                VMCR::VMABP.read(vi.vmcr()) >= u32::from(vi.config().min_aliased_binary_point())
            );
            let rpr = vi.running_priority();
            prop_assert!(rpr == 0xFF || rpr.is_multiple_of(8));
            // Saved state restores to the same state.
            let mut copy = VirtualInterface::new(vi.config());
            prop_assert!(copy.restore(&vi.record()).is_ok());
            prop_assert_eq!(&copy, vi);
            Ok(())
        }

        #[test]
        fn random_gich_and_gicv_accesses_keep_derived_state_consistent() {
            let mut runner = TestRunner::new(Config {
                cases: 256,
                ..Config::default()
            });
            let strategy = (config(), prop::collection::vec(op(), 0..200));
            runner
                .run(&strategy, |(config, ops)| {
                    let mut vi = VirtualInterface::new(config);
                    for op in &ops {
                        match *op {
                            Op::GichRead(o) => {
                                vi.read_gich(o);
                            }
                            Op::GichWrite(o, x) => vi.write_gich(o, x),
                            Op::GicvRead(o) => {
                                let id = vi.read_gicv(o);
                                if o == v::IAR || o == v::AIAR || o == v::HPPIR {
                                    prop_assert!(IAR::InterruptID.read(id) < 1024);
                                }
                            }
                            Op::GicvWrite(o, x) => {
                                let effect = vi.write_gicv(o, x);
                                if let Some(p) = effect.deactivate_physical {
                                    prop_assert!((16..1020).contains(&p));
                                }
                            }
                        }
                        check_invariants(&vi)?;
                    }
                    Ok(())
                })
                .unwrap();
        }
    }
}
