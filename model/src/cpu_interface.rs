//! GICC, a physical CPU interface (IHI 0048B 4.4), without the Security
//! Extensions: priority masking, binary point and preemption, acknowledge,
//! priority drop and deactivation, and the IRQ/FIQ outputs.
//!
//! The running priority (GICC_RPR) and the highest-priority pending
//! interrupt (GICC_HPPIR) are computed from the active priorities
//! (GICC_APRn) and the Distributor, never stored.
//!
//! The tests named in this module's documentation are in
//! `model/tests/cpu_interface.rs`.

use gic_driver::regs::field_mask;
use gic_driver::regs::gicc::{offset, APR_COUNT, BPR, CTLR, IAR, IIDR_GIC400, PMR, RPR};
use gic_driver::IntId;
use tock_registers::LocalRegisterCopy;

use crate::config::{Config, SPECIAL_START};
use crate::distributor::{Candidate, Distributor};
use crate::Width;

/// GICC_CTLR bits that exist without the Security Extensions (4.4.1).
/// Enforced by `gicc_ctlr_keeps_the_bits_defined_without_security_extensions`.
pub(crate) const CTLR_WRITABLE: u32 = field_mask(&CTLR::EnableGrp0)
    | field_mask(&CTLR::EnableGrp1)
    | field_mask(&CTLR::AckCtl)
    | field_mask(&CTLR::FIQEn)
    | field_mask(&CTLR::CBPR)
    | field_mask(&CTLR::Bypass)
    | field_mask(&CTLR::EOImode);

/// IAR value when no interrupt can be acknowledged (3.7 "spurious interrupts").
pub(crate) const SPURIOUS: u32 = IntId::SPURIOUS.get();
/// IAR/HPPIR value for a Group 1 interrupt when GICC_CTLR.AckCtl is clear.
pub(crate) const GROUP1_NOT_ACKNOWLEDGED: u32 = IntId::GROUP1_NOT_ACKNOWLEDGED.get();
/// Internal running priority when no interrupt is active: lower than any.
const IDLE: u16 = 0x100;

/// Which exception a CPU interface signals (4.4.1 FIQEn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// The IRQ output.
    Irq,
    /// The FIQ output (Group 0 with FIQEn set).
    Fiq,
}

/// State of one physical CPU interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CpuInterface {
    /// GICC_CTLR.
    pub ctlr: u32,
    /// GICC_PMR, implemented bits only.
    pub pmr: u8,
    /// GICC_BPR, at least the implementation's minimum.
    pub bpr: u8,
    /// GICC_ABPR, at least one more than the minimum GICC_BPR.
    pub abpr: u8,
    /// GICC_APR0-3: bit n set = an interrupt of group priority
    /// `n << (8 - preemption bits)` is active (4.4.13, recommended layout).
    pub apr: [u32; APR_COUNT],
}

type ReadFn = fn(&mut Access<'_>, usize) -> u32;
type WriteFn = fn(&mut Access<'_>, usize, u32);

/// One access in progress: the interface, the Distributor, the CPU number.
struct Access<'a> {
    cif: &'a mut CpuInterface,
    dist: &'a mut Distributor,
    cpu: usize,
}

/// One register (or array of words) of the CPU interface.
struct Row {
    base: usize,
    len: usize,
    read: Option<ReadFn>,
    write: Option<WriteFn>,
}

/// The CPU interface register map (IHI 0048B Table 4-2). Offsets not
/// listed, including GICC_AIAR, GICC_AEOIR and GICC_AHPPIR (left RAZ/WI
/// here, as QEMU does) and GICC_NSAPRn (no Security Extensions, 4.4.14),
/// are RAZ/WI.
/// Enforced by `gicc_byte_unaligned_aliased_and_nonsecure_registers_are_raz_wi`.
#[rustfmt::skip]
static TABLE: [Row; 11] = [
    //    base                len                read              write
    Row { base: offset::CTLR,  len: 4,             read: Some(read_ctlr),  write: Some(write_ctlr) },
    Row { base: offset::PMR,   len: 4,             read: Some(read_pmr),   write: Some(write_pmr) },
    Row { base: offset::BPR,   len: 4,             read: Some(read_bpr),   write: Some(write_bpr) },
    Row { base: offset::IAR,   len: 4,             read: Some(read_iar),   write: None },
    Row { base: offset::EOIR,  len: 4,             read: None,             write: Some(write_eoir) },
    Row { base: offset::RPR,   len: 4,             read: Some(read_rpr),   write: None },
    Row { base: offset::HPPIR, len: 4,             read: Some(read_hppir), write: None },
    Row { base: offset::ABPR,  len: 4,             read: Some(read_abpr),  write: Some(write_abpr) },
    Row { base: offset::APR,   len: 4 * APR_COUNT, read: Some(read_apr),   write: Some(write_apr) },
    Row { base: offset::IIDR,  len: 4,             read: Some(read_iidr),  write: None },
    Row { base: offset::DIR,   len: 4,             read: None,             write: Some(write_dir) },
];

/// The row and word index of a word access at `off`; `None` for
/// unaligned, byte or unknown accesses (RAZ/WI: every GICC register is
/// word-accessible only, 4.1.4).
/// Enforced by `gicc_byte_unaligned_aliased_and_nonsecure_registers_are_raz_wi`.
fn decode(off: usize, width: Width) -> Option<(&'static Row, usize)> {
    if width != Width::Word || !off.is_multiple_of(4) {
        return None;
    }
    TABLE
        .iter()
        .find(|r| off >= r.base && off - r.base < r.len)
        .map(|r| (r, (off - r.base) / 4))
}

impl CpuInterface {
    /// The reset state: disabled, PMR 0 (everything masked), BPR and ABPR
    /// at their minimums, nothing active.
    /// Enforced by `binary_points_below_the_minimum_read_the_minimum` and
    /// `rpr_is_0xff_when_idle_and_follows_restored_active_priorities`.
    pub fn new(config: &Config) -> CpuInterface {
        CpuInterface {
            ctlr: 0,
            pmr: 0,
            bpr: config.min_binary_point(),
            abpr: config.min_binary_point() + 1,
            apr: [0; APR_COUNT],
        }
    }

    fn ctlr(&self) -> LocalRegisterCopy<u32, CTLR::Register> {
        LocalRegisterCopy::new(self.ctlr)
    }

    /// A read of `width` at `off` of CPU `cpu`'s interface.
    pub fn read(&mut self, dist: &mut Distributor, cpu: usize, off: usize, width: Width) -> u32 {
        let Some((row, idx)) = decode(off, width) else {
            return 0;
        };
        match row.read {
            Some(read) => read(
                &mut Access {
                    cif: self,
                    dist,
                    cpu,
                },
                idx,
            ),
            None => 0,
        }
    }

    /// A write of `width` at `off` of CPU `cpu`'s interface.
    pub fn write(
        &mut self,
        dist: &mut Distributor,
        cpu: usize,
        off: usize,
        width: Width,
        value: u32,
    ) {
        let Some((row, idx)) = decode(off, width) else {
            return;
        };
        if let Some(write) = row.write {
            write(
                &mut Access {
                    cif: self,
                    dist,
                    cpu,
                },
                idx,
                value,
            );
        }
    }

    /// Implemented bits of GICC_APRn: 2^(preemption bits) in all (4.4.13).
    /// Enforced by `active_priority_bits_follow_the_preemption_bits`.
    pub fn apr_mask(pre_bits: u8, n: usize) -> u32 {
        let bits = 1usize << pre_bits.min(7);
        let first = n * 32;
        if first >= bits {
            0
        } else if bits - first >= 32 {
            u32::MAX
        } else {
            (1u32 << (bits - first)) - 1
        }
    }

    /// The running priority (4.4.6): the group priority of the highest
    /// active priority (lowest set GICC_APRn bit), or idle (0x100).
    /// Enforced by `rpr_is_0xff_when_idle_and_follows_restored_active_priorities` and
    /// `ack_sets_running_priority_and_the_active_priority_bit`.
    pub fn running_priority(&self, pre_bits: u8) -> u16 {
        let shift = 8 - pre_bits.min(7);
        self.apr
            .iter()
            .enumerate()
            .find(|(_, &w)| w != 0)
            .map_or(IDLE, |(n, &w)| {
                ((n as u16 * 32 + w.trailing_zeros() as u16) << shift).min(0xFF)
            })
    }

    /// GICC_RPR as read: 0xFF when idle.
    pub fn rpr(&self, pre_bits: u8) -> u8 {
        self.running_priority(pre_bits).min(0xFF) as u8
    }

    /// The group priority of `priority` (3.3.3): the bits above the binary
    /// point. Group 1 uses GICC_ABPR unless CBPR is set, with its
    /// group-priority field one bit narrower ("ABPR - 1", 4.4.8).
    /// Enforced by `group1_uses_abpr_unless_cbpr_is_set`, `group0_ignores_abpr` and
    /// `binary_point_5_prevents_preemption_within_a_group_priority`.
    pub fn group_priority(&self, priority: u8, group1: bool) -> u8 {
        let shift = if group1 && !self.ctlr().is_set(CTLR::CBPR) {
            self.abpr.min(8) as u32
        } else {
            (self.bpr.min(7) + 1) as u32
        };
        priority & (0xFF_u32 << shift) as u8
    }

    fn group_enabled(&self, group1: bool) -> bool {
        let c = self.ctlr();
        if group1 {
            c.is_set(CTLR::EnableGrp1)
        } else {
            c.is_set(CTLR::EnableGrp0)
        }
    }

    /// The highest-priority pending interrupt of this CPU interface (3.2.2,
    /// 3.3; the architecture's HighestPriorityPendingInterrupt): the
    /// Distributor's, among the groups enabled both in GICD_CTLR and in
    /// GICC_CTLR. A more urgent interrupt of a group this interface
    /// disables hides nothing. Enforced by
    /// `hppir_reports_1023_for_a_group_the_cpu_interface_disables` and
    /// `highest_pending_interrupt_skips_groups_the_cpu_interface_disables`.
    pub fn highest_pending(&self, dist: &Distributor, cpu: usize) -> Option<Candidate> {
        dist.highest_pending(cpu, self.group_enabled(false), self.group_enabled(true))
    }

    /// The interrupt the interface signals, if any (3.2.2, 3.3): the
    /// highest-priority pending interrupt of this interface, if its
    /// priority is below GICC_PMR and its group priority below the running
    /// priority.
    /// Enforced by `priority_at_or_above_pmr_is_masked`,
    /// `higher_group_priority_preempts_the_running_priority` and
    /// `binary_point_7_disables_preemption`.
    fn signalled(&self, dist: &Distributor, cpu: usize) -> Option<Candidate> {
        let c = self.highest_pending(dist, cpu)?;
        let running = self.running_priority(dist.shape.pre_bits);
        (c.priority < self.pmr && u16::from(self.group_priority(c.priority, c.group1)) < running)
            .then_some(c)
    }

    /// The output asserted, if any: FIQ for Group 0 with FIQEn, else IRQ.
    /// Legacy bypass is not modelled: a disabled group asserts nothing.
    /// Enforced by `group0_is_signalled_as_fiq_when_fiqen_is_set` and
    /// `outputs_need_the_group_enabled_in_gicd_and_gicc`.
    pub fn signal(&self, dist: &Distributor, cpu: usize) -> Option<Signal> {
        self.signalled(dist, cpu).map(|c| {
            if !c.group1 && self.ctlr().is_set(CTLR::FIQEn) {
                Signal::Fiq
            } else {
                Signal::Irq
            }
        })
    }

    /// GICC_HPPIR's value (4.4.7): the highest-priority pending interrupt of
    /// this interface (groups enabled in GICD_CTLR and GICC_CTLR) if its
    /// priority is below GICC_PMR (the running priority does not matter),
    /// with the source CPU for an SGI; 1022 for a Group 1 interrupt while
    /// AckCtl is clear; else 1023.
    /// Enforced by `lower_priority_pending_shows_in_hppir_but_is_not_acknowledged`,
    /// `ack_of_group1_with_ackctl_clear_returns_1022` and
    /// `hppir_reports_1023_for_a_group_the_cpu_interface_disables`.
    pub fn hppir(&self, dist: &Distributor, cpu: usize) -> u32 {
        match self.highest_pending(dist, cpu) {
            Some(c) if c.priority < self.pmr => self.iar_value(&c),
            _ => SPURIOUS,
        }
    }

    fn iar_value(&self, c: &Candidate) -> u32 {
        if c.group1 && !self.ctlr().is_set(CTLR::AckCtl) {
            GROUP1_NOT_ACKNOWLEDGED
        } else {
            let mut v = LocalRegisterCopy::<u32, IAR::Register>::new(0);
            v.write(IAR::InterruptID.val(c.id) + IAR::CPUID.val(c.source as u32));
            v.get()
        }
    }

    /// Marks group priority `gp` active in GICC_APRn.
    fn activate_priority(&mut self, gp: u8, pre_bits: u8) {
        let bit = (gp >> (8 - pre_bits.min(7))) as usize;
        if let Some(w) = self.apr.get_mut(bit / 32) {
            *w |= 1 << (bit % 32);
        }
    }

    /// Priority drop (4.4.5): clears the highest active priority, if any.
    /// Enforced by `nested_eois_drop_the_highest_active_priority_first`.
    fn drop_priority(&mut self) {
        if let Some(w) = self.apr.iter_mut().find(|w| **w != 0) {
            *w &= *w - 1;
        }
    }
}

// ---- register handlers ------------------------------------------------
fn read_ctlr(a: &mut Access<'_>, _: usize) -> u32 {
    a.cif.ctlr
}

/// GICC_CTLR (4.4.1, no Security Extensions): group enables, AckCtl,
/// FIQEn, CBPR, the bypass disables and EOImode; other bits RAZ/WI.
/// Enforced by `gicc_ctlr_keeps_the_bits_defined_without_security_extensions`.
fn write_ctlr(a: &mut Access<'_>, _: usize, v: u32) {
    a.cif.ctlr = v & CTLR_WRITABLE;
}

fn read_pmr(a: &mut Access<'_>, _: usize) -> u32 {
    a.cif.pmr as u32
}

/// GICC_PMR (4.4.2): unimplemented priority bits RAZ/WI.
/// Enforced by `pmr_keeps_only_implemented_priority_bits`.
fn write_pmr(a: &mut Access<'_>, _: usize, v: u32) {
    let v = LocalRegisterCopy::<u32, PMR::Register>::new(v);
    a.cif.pmr = v.read(PMR::Priority) as u8 & a.dist.shape.prio_mask;
}

fn read_bpr(a: &mut Access<'_>, _: usize) -> u32 {
    a.cif.bpr as u32
}

/// GICC_BPR (4.4.3): a value below the minimum sets the minimum.
/// Enforced by `binary_points_below_the_minimum_read_the_minimum`.
fn write_bpr(a: &mut Access<'_>, _: usize, v: u32) {
    let v = LocalRegisterCopy::<u32, BPR::Register>::new(v);
    a.cif.bpr = (v.read(BPR::BinaryPoint) as u8).max(a.dist.shape.min_bpr);
}

fn read_abpr(a: &mut Access<'_>, _: usize) -> u32 {
    a.cif.abpr as u32
}

/// GICC_ABPR (4.4.8): the Group 1 binary point; its minimum is one
/// more than GICC_BPR's.
/// Enforced by `binary_points_below_the_minimum_read_the_minimum`.
fn write_abpr(a: &mut Access<'_>, _: usize, v: u32) {
    let v = LocalRegisterCopy::<u32, BPR::Register>::new(v);
    a.cif.abpr = (v.read(BPR::BinaryPoint) as u8).max(a.dist.shape.min_bpr + 1);
}

/// GICC_IAR (4.4.4): 1023 unless an interrupt is signalled; 1022 for a
/// Group 1 interrupt while AckCtl is clear (no Security Extensions: the
/// access behaves as Secure, 3.7); otherwise the interrupt becomes
/// active, its pending state is cleared (one source, for an SGI), its
/// group priority becomes the running priority.
/// Enforced by `iar_returns_1023_when_nothing_is_pending`,
/// `ack_of_group1_with_ackctl_clear_returns_1022`,
/// `iar_acknowledges_the_highest_priority_interrupt_and_activates_it` and
/// `sgi_acknowledge_returns_the_source_and_clears_only_that_source`.
fn read_iar(a: &mut Access<'_>, _: usize) -> u32 {
    let Some(c) = a.cif.signalled(a.dist, a.cpu) else {
        return SPURIOUS;
    };
    let v = a.cif.iar_value(&c);
    if v != GROUP1_NOT_ACKNOWLEDGED {
        a.dist.acknowledge(a.cpu, &c);
        let gp = a.cif.group_priority(c.priority, c.group1);
        a.cif.activate_priority(gp, a.dist.shape.pre_bits);
    }
    v
}

/// GICC_EOIR (4.4.5): drops the running priority; with EOImode clear
/// also deactivates the interrupt named (SGI active state is per target
/// CPU, so the CPUID field does not select anything). Ignored for
/// unimplemented or special INTIDs.
///
/// An EOIR with no active priority is UNPREDICTABLE in the spec; the model
/// drops nothing and, with EOImode clear, still deactivates, as GICV_EOIR
/// does (`crate::virtual_interface`), so the two CPU interfaces agree.
/// Enforced by `eoir_without_an_active_priority_still_deactivates_in_eoimode_0`
/// and `gicv_eoir_without_an_active_priority_still_deactivates_in_eoimode_0`.
/// Enforced by `eoi_in_mode_0_drops_priority_and_deactivates`,
/// `eoi_in_mode_1_only_drops_priority_and_dir_deactivates`,
/// `sgi_active_state_is_per_target_cpu_not_per_source` and
/// `eoir_and_dir_with_unimplemented_or_special_ids_are_ignored`.
fn write_eoir(a: &mut Access<'_>, _: usize, v: u32) {
    let id = IAR::InterruptID.read(v);
    if id >= a.dist.shape.intids.min(SPECIAL_START) {
        return;
    }
    a.cif.drop_priority();
    if !a.cif.ctlr().is_set(CTLR::EOImode) {
        a.dist.deactivate(a.cpu, id);
    }
}

/// GICC_RPR (4.4.6): 0xFF when idle.
/// Enforced by `rpr_is_0xff_when_idle_and_follows_restored_active_priorities`.
fn read_rpr(a: &mut Access<'_>, _: usize) -> u32 {
    let mut r = LocalRegisterCopy::<u32, RPR::Register>::new(0);
    r.write(RPR::Priority.val(a.cif.rpr(a.dist.shape.pre_bits) as u32));
    r.get()
}

fn read_hppir(a: &mut Access<'_>, _: usize) -> u32 {
    a.cif.hppir(a.dist, a.cpu)
}

fn read_apr(a: &mut Access<'_>, n: usize) -> u32 {
    a.cif.apr.get(n).copied().unwrap_or(0) & CpuInterface::apr_mask(a.dist.shape.pre_bits, n)
}

/// GICC_APRn (4.4.13): writable for save and restore; bits beyond the
/// implemented preemption levels RAZ/WI.
/// Enforced by `active_priority_bits_follow_the_preemption_bits` and
/// `rpr_is_0xff_when_idle_and_follows_restored_active_priorities`.
fn write_apr(a: &mut Access<'_>, n: usize, v: u32) {
    let mask = CpuInterface::apr_mask(a.dist.shape.pre_bits, n);
    if let Some(w) = a.cif.apr.get_mut(n) {
        *w = v & mask;
    }
}

/// GICC_IIDR (4.4.15), as a GIC-400 reports it: architecture version 2.
/// Enforced by `identification_registers_name_architecture_version_2`.
fn read_iidr(_: &mut Access<'_>, _: usize) -> u32 {
    IIDR_GIC400
}

/// GICC_DIR (4.4.16): with EOImode set, deactivates the interrupt
/// named; ignored with EOImode clear (UNPREDICTABLE in the spec) and for
/// unimplemented or special INTIDs.
/// Enforced by `dir_with_eoimode_0_is_ignored`,
/// `eoi_in_mode_1_only_drops_priority_and_dir_deactivates` and
/// `eoir_and_dir_with_unimplemented_or_special_ids_are_ignored`.
fn write_dir(a: &mut Access<'_>, _: usize, v: u32) {
    let id = IAR::InterruptID.read(v);
    if a.cif.ctlr().is_set(CTLR::EOImode) && id < a.dist.shape.intids {
        a.dist.deactivate(a.cpu, id);
    }
}
