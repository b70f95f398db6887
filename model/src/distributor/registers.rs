//! The Distributor's register map (IHI 0048B Table 4-1) decoded onto its
//! state: a table of rows, one per register or register array, and one
//! handler per row for reads and writes of a field.

use gic_driver::regs::gicd::{
    offset, BIT_ARRAY_BYTES, BYTE_ARRAY_BYTES, ICFGR_BYTES, ICFGR_EDGE_BIT, ID_REGS_GIC400,
    IIDR_GIC400, SGIR, TYPER,
};
use tock_registers::LocalRegisterCopy;

use super::{Distributor, CTLR_WRITABLE, PRIVATE, SGIS};
use crate::Width;

/// Which register of a frame a table row covers, and how to index it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Index {
    /// One field per INTID; fields of unimplemented INTIDs are RAZ/WI.
    IntId,
    /// One field per SGI (CPENDSGIR/SPENDSGIR).
    Sgi,
    /// A plain register; the index is the word within the row.
    Word,
}

type ReadFn = fn(&Distributor, usize, u32) -> u32;
type WriteFn = fn(&mut Distributor, usize, u32, u32);

/// One register or register array of the Distributor.
struct Row {
    base: usize,
    len: usize,
    /// Bits per field: 1, 2, 8 or 32.
    bits: u32,
    /// Byte accesses allowed (IPRIORITYR, ITARGETSR, CPENDSGIR, SPENDSGIR: 4.3).
    bytes: bool,
    index: Index,
    read: Option<ReadFn>,
    write: Option<WriteFn>,
}

impl Row {
    #[allow(clippy::too_many_arguments)]
    const fn new(
        base: usize,
        len: usize,
        bits: u32,
        bytes: bool,
        index: Index,
        read: Option<ReadFn>,
        write: Option<WriteFn>,
    ) -> Row {
        Row {
            base,
            len,
            bits,
            bytes,
            index,
            read,
            write,
        }
    }
}

/// The Distributor register map (IHI 0048B Table 4-1). Offsets not listed
/// are reserved: RAZ/WI.
/// Enforced by `reserved_offsets_read_as_zero_and_ignore_writes`.
#[rustfmt::skip]
static TABLE: [Row; 17] = {
    use Distributor as D;
    use Index::{IntId, Sgi, Word};
    const BITS: usize = BIT_ARRAY_BYTES;
    const BYTES: usize = BYTE_ARRAY_BYTES;
    const IDS: usize = ID_REGS_GIC400.len() * 4;
    const SGI_REGS: usize = SGIS as usize; // one byte per SGI
    [
        //       base                 len          bits bytes  index  read                        write
        Row::new(offset::CTLR,       4,           32, false, Word,  Some(D::read_ctlr),         Some(D::write_ctlr)),
        Row::new(offset::TYPER,      4,           32, false, Word,  Some(D::read_typer),        None),
        Row::new(offset::IIDR,       4,           32, false, Word,  Some(D::read_iidr),         None),
        Row::new(offset::IGROUPR,    BITS,         1, false, IntId, Some(D::read_group),        Some(D::write_group)),
        Row::new(offset::ISENABLER,  BITS,         1, false, IntId, Some(D::read_enabled),      Some(D::set_enable)),
        Row::new(offset::ICENABLER,  BITS,         1, false, IntId, Some(D::read_enabled),      Some(D::clear_enable)),
        Row::new(offset::ISPENDR,    BITS,         1, false, IntId, Some(D::read_pending),      Some(D::set_pending)),
        Row::new(offset::ICPENDR,    BITS,         1, false, IntId, Some(D::read_pending),      Some(D::clear_pending)),
        Row::new(offset::ISACTIVER,  BITS,         1, false, IntId, Some(D::read_active),       Some(D::set_active)),
        Row::new(offset::ICACTIVER,  BITS,         1, false, IntId, Some(D::read_active),       Some(D::clear_active)),
        Row::new(offset::IPRIORITYR, BYTES,        8, true,  IntId, Some(D::read_priority),     Some(D::write_priority)),
        Row::new(offset::ITARGETSR,  BYTES,        8, true,  IntId, Some(D::read_targets),      Some(D::write_targets)),
        Row::new(offset::ICFGR,      ICFGR_BYTES,  2, false, IntId, Some(D::read_config),       Some(D::write_config)),
        Row::new(offset::SGIR,       4,           32, false, Word,  None,                       Some(D::write_sgir)),
        Row::new(offset::CPENDSGIR,  SGI_REGS,     8, true,  Sgi,   Some(D::read_sgi_sources),  Some(D::clear_sgi_sources)),
        Row::new(offset::SPENDSGIR,  SGI_REGS,     8, true,  Sgi,   Some(D::read_sgi_sources),  Some(D::set_sgi_sources)),
        Row::new(offset::PIDR4,      IDS,         32, false, Word,  Some(D::read_id),           None),
    ]
};

/// Finds the row covering `off` and, for an access of `width` there, the
/// first field index and the number of fields. `None`: RAZ/WI.
/// Enforced by `unaligned_word_access_is_raz_wi`,
/// `byte_access_outside_the_byte_registers_is_raz_wi` and
/// `ipriorityr_byte_write_leaves_neighbours_unchanged`.
fn decode(off: usize, width: Width) -> Option<(&'static Row, u32, u32)> {
    let row = TABLE
        .iter()
        .find(|r| off >= r.base && off - r.base < r.len)?;
    let rel = off - row.base;
    match width {
        // IHI 0048B 4.1.4: word accesses must be aligned.
        Width::Word if off.is_multiple_of(4) => {
            Some((row, (rel * 8) as u32 / row.bits, 32 / row.bits))
        }
        // Byte accesses only to the byte-per-interrupt registers.
        Width::Byte if row.bytes && row.bits == 8 => Some((row, rel as u32, 1)),
        _ => None,
    }
}

impl Distributor {
    /// A read of `width` at `off` by CPU interface `cpu`.
    pub fn read(&self, cpu: usize, off: usize, width: Width) -> u32 {
        let Some((row, first, count)) = decode(off, width) else {
            return 0;
        };
        let Some(read) = row.read else {
            return 0;
        };
        let field = low_bits(row.bits);
        let mut value = 0;
        for i in 0..count {
            let idx = first + i;
            if self.index_ok(row.index, idx) {
                value |= (read(self, cpu, idx) & field) << (i * row.bits % 32);
            }
        }
        value
    }

    /// A write of `width` at `off` by CPU interface `cpu`.
    pub fn write(&mut self, cpu: usize, off: usize, width: Width, value: u32) {
        let Some((row, first, count)) = decode(off, width) else {
            return;
        };
        let Some(write) = row.write else {
            return;
        };
        let field = low_bits(row.bits);
        for i in 0..count {
            let idx = first + i;
            if self.index_ok(row.index, idx) {
                write(self, cpu, idx, (value >> (i * row.bits % 32)) & field);
            }
        }
    }

    /// Whether field `idx` of a row exists: an implemented INTID, one of the
    /// 16 SGIs, or any word of a plain register. Fields that do not are
    /// RAZ/WI.
    /// Enforced by `registers_of_unimplemented_intids_are_raz_wi`.
    fn index_ok(&self, index: Index, idx: u32) -> bool {
        match index {
            Index::IntId => idx < self.shape.intids,
            Index::Sgi => idx < SGIS,
            Index::Word => true,
        }
    }

    fn read_ctlr(&self, _cpu: usize, _: u32) -> u32 {
        self.ctlr
    }

    /// GICD_CTLR (4.3.1): EnableGrp0 and EnableGrp1; other bits RAZ/WI.
    /// Enforced by `ctlr_keeps_only_the_two_group_enables`.
    fn write_ctlr(&mut self, _cpu: usize, _: u32, value: u32) {
        self.ctlr = value & CTLR_WRITABLE;
    }

    /// GICD_TYPER (4.3.2): lines, CPUs, no Security Extensions.
    /// Enforced by `typer_reports_lines_cpus_and_no_security_extensions`.
    fn read_typer(&self, _cpu: usize, _: u32) -> u32 {
        let mut t = LocalRegisterCopy::<u32, TYPER::Register>::new(0);
        t.write(
            TYPER::ITLinesNumber.val((self.shape.lines / 32).saturating_sub(1))
                + TYPER::CPUNumber.val(self.shape.cpus.saturating_sub(1) as u32)
                + TYPER::SecurityExtn.val(0),
        );
        t.get()
    }

    /// GICD_IIDR (4.3.3), as a GIC-400 r0p1 reports it.
    /// Enforced by `identification_registers_name_architecture_version_2`.
    fn read_iidr(&self, _cpu: usize, _: u32) -> u32 {
        IIDR_GIC400
    }

    fn read_group(&self, cpu: usize, id: u32) -> u32 {
        self.bit(cpu, id, |w| w.group) as u32
    }

    /// GICD_IGROUPR (4.3.4): 1 = Group 1; banked for INTIDs 0-31.
    /// Enforced by `ppi_state_is_banked_per_cpu`.
    fn write_group(&mut self, cpu: usize, id: u32, v: u32) {
        self.update(cpu, id, |w, bit| {
            if v != 0 {
                w.group |= bit
            } else {
                w.group &= !bit
            }
        });
    }

    fn read_enabled(&self, cpu: usize, id: u32) -> u32 {
        self.bit(cpu, id, |w| w.enabled) as u32
    }

    /// GICD_ISENABLER (4.3.5). SGIs are always enabled: RAO/WI.
    /// Enforced by `sgi_enable_bits_read_as_one_and_ignore_writes` and
    /// `isenabler_and_icenabler_set_and_clear_ppis_and_spis`.
    fn set_enable(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 && id >= SGIS {
            self.update(cpu, id, |w, bit| w.enabled |= bit);
        }
    }

    /// GICD_ICENABLER (4.3.6). SGIs cannot be disabled: RAO/WI.
    /// Enforced by `sgi_enable_bits_read_as_one_and_ignore_writes` and
    /// `isenabler_and_icenabler_set_and_clear_ppis_and_spis`.
    fn clear_enable(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 && id >= SGIS {
            self.update(cpu, id, |w, bit| w.enabled &= !bit);
        }
    }

    fn read_pending(&self, cpu: usize, id: u32) -> u32 {
        self.is_pending(cpu, id) as u32
    }

    /// GICD_ISPENDR (4.3.7): latches pending. SGI bits are WI (use SPENDSGIR).
    /// Enforced by `ispendr_and_icpendr_ignore_sgi_bits` and
    /// `ispendr_latches_level_interrupt_until_cleared`.
    fn set_pending(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 && id >= SGIS {
            self.update_latch(cpu, id, |latch, bit| *latch |= bit);
        }
    }

    /// GICD_ICPENDR (4.3.8): clears the latched pending state; a
    /// level-sensitive interrupt whose line is asserted remains pending.
    /// SGI bits are WI (use CPENDSGIR).
    /// Enforced by `ispendr_and_icpendr_ignore_sgi_bits` and
    /// `icpendr_of_level_interrupt_with_line_high_leaves_it_pending`.
    fn clear_pending(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 && id >= SGIS {
            self.update_latch(cpu, id, |latch, bit| *latch &= !bit);
        }
    }

    fn read_active(&self, cpu: usize, id: u32) -> u32 {
        self.bit(cpu, id, |w| w.active) as u32
    }

    /// GICD_ISACTIVER (4.3.9).
    /// Enforced by `isactiver_and_icactiver_set_and_clear_active`.
    fn set_active(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 {
            self.update(cpu, id, |w, bit| w.active |= bit);
        }
    }

    /// GICD_ICACTIVER (4.3.10).
    /// Enforced by `isactiver_and_icactiver_set_and_clear_active`.
    fn clear_active(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 {
            self.deactivate(cpu, id);
        }
    }

    fn read_priority(&self, cpu: usize, id: u32) -> u32 {
        self.priority_of(cpu, id) as u32
    }

    /// GICD_IPRIORITYR (4.3.11): unimplemented low-order bits are RAZ/WI;
    /// banked for INTIDs 0-31.
    /// Enforced by `ipriorityr_masks_unimplemented_bits` and
    /// `ipriorityr_byte_write_leaves_neighbours_unchanged`.
    fn write_priority(&mut self, cpu: usize, id: u32, v: u32) {
        let p = v as u8 & self.shape.prio_mask;
        let i = id as usize;
        let slot = if i < PRIVATE as usize {
            self.banked_priority.get_mut(cpu).and_then(|b| b.get_mut(i))
        } else {
            self.priority.get_mut(i)
        };
        if let Some(slot) = slot {
            *slot = p;
        }
    }

    /// GICD_ITARGETSR (4.3.12): for INTIDs 0-31, read-only, each field
    /// reads as the reading CPU's own bit. RAZ/WI in a uniprocessor GIC.
    /// Enforced by `itargetsr0_to_7_read_the_reading_cpu_mask_and_ignore_writes` and
    /// `itargetsr_is_raz_wi_on_a_uniprocessor_gic_and_spis_reach_cpu_0`.
    fn read_targets(&self, cpu: usize, id: u32) -> u32 {
        if self.shape.cpus == 1 {
            0
        } else if id < PRIVATE {
            1 << (cpu % 8)
        } else {
            self.targets.get(id as usize).copied().unwrap_or(0) as u32
        }
    }

    /// GICD_ITARGETSR (4.3.12): SPI targets, bits for absent CPUs RAZ/WI.
    /// A pending SPI follows its new targets at once.
    /// Enforced by `itargetsr_spi_writes_are_masked_to_present_cpus` and
    /// `pending_spi_follows_its_targets_when_retargeted`.
    fn write_targets(&mut self, _cpu: usize, id: u32, v: u32) {
        let mask = self.shape.cpu_mask();
        if self.shape.cpus > 1 && id >= PRIVATE {
            if let Some(t) = self.targets.get_mut(id as usize) {
                *t = v as u8 & mask;
            }
        }
    }

    /// GICD_ICFGR (4.3.13): bit 1 of each pair set = edge-triggered. SGIs
    /// read 0b10 and are read-only; PPIs are programmable (banked), SPIs
    /// programmable. Bit 0 of each pair is reserved (RAZ/WI).
    /// Enforced by `icfgr0_reads_0xaaaaaaaa_and_is_read_only` and
    /// `icfgr_edge_bits_of_ppis_and_spis_are_programmable_and_bit0_is_reserved`.
    fn read_config(&self, cpu: usize, id: u32) -> u32 {
        if self.is_edge(cpu, id) {
            ICFGR_EDGE_BIT
        } else {
            0
        }
    }

    fn write_config(&mut self, cpu: usize, id: u32, v: u32) {
        if id >= SGIS {
            self.update(cpu, id, |w, bit| {
                if v & ICFGR_EDGE_BIT != 0 {
                    w.edge |= bit
                } else {
                    w.edge &= !bit
                }
            });
        }
    }

    /// GICD_SGIR (4.3.15): makes SGI `SGIINTID` pending from `cpu` on the
    /// CPUs the filter selects; the reserved filter 0b11 does nothing, and
    /// absent CPUs in the list are ignored. NSATT has no effect without the
    /// Security Extensions.
    /// Enforced by `sgir_target_list_sets_the_source_bit_on_listed_cpus_only`,
    /// `sgir_all_but_self_excludes_the_sender`, `sgir_self_targets_the_sender_only`,
    /// `sgir_reserved_filter_does_nothing` and
    /// `sgir_ignores_absent_cpus_in_the_list_and_reads_as_zero`.
    fn write_sgir(&mut self, cpu: usize, _: u32, value: u32) {
        let r = LocalRegisterCopy::<u32, SGIR::Register>::new(value);
        let present = self.shape.cpu_mask();
        let me = 1u8 << (cpu % 8);
        let targets = match r.read_as_enum(SGIR::TargetListFilter) {
            Some(SGIR::TargetListFilter::Value::TargetList) => {
                r.read(SGIR::CPUTargetList) as u8 & present
            }
            Some(SGIR::TargetListFilter::Value::AllOthers) => present & !me,
            Some(SGIR::TargetListFilter::Value::SelfOnly) => me,
            None => 0,
        };
        let sgi = r.read(SGIR::SGIINTID) as usize;
        for (t, sources) in self.sgi_sources.iter_mut().enumerate() {
            if targets & (1 << t) != 0 {
                if let Some(s) = sources.get_mut(sgi) {
                    *s |= me;
                }
            }
        }
    }

    fn read_sgi_sources(&self, cpu: usize, sgi: u32) -> u32 {
        self.sgi_sources_of(cpu, sgi) as u32
    }

    /// GICD_CPENDSGIR (4.3.16): clears the source bits written, for the
    /// accessing CPU's SGIs.
    /// Enforced by `spendsgir_and_cpendsgir_are_banked_per_target_cpu`.
    fn clear_sgi_sources(&mut self, cpu: usize, sgi: u32, v: u32) {
        if let Some(s) = self
            .sgi_sources
            .get_mut(cpu)
            .and_then(|s| s.get_mut(sgi as usize))
        {
            *s &= !(v as u8);
        }
    }

    /// GICD_SPENDSGIR (4.3.17): sets the source bits written (present CPUs
    /// only), for the accessing CPU's SGIs.
    /// Enforced by `spendsgir_and_cpendsgir_are_banked_per_target_cpu`.
    fn set_sgi_sources(&mut self, cpu: usize, sgi: u32, v: u32) {
        let present = self.shape.cpu_mask();
        if let Some(s) = self
            .sgi_sources
            .get_mut(cpu)
            .and_then(|s| s.get_mut(sgi as usize))
        {
            *s |= v as u8 & present;
        }
    }

    /// Identification registers (4.3.18, 4.3.19), as on a GIC-400.
    /// Enforced by `identification_registers_name_architecture_version_2`.
    fn read_id(&self, _cpu: usize, word: u32) -> u32 {
        ID_REGS_GIC400.get(word as usize).copied().unwrap_or(0)
    }
}

/// The value mask of one table-row field of `bits` bits, before shifting.
const fn low_bits(bits: u32) -> u32 {
    if bits >= 32 {
        u32::MAX
    } else {
        (1 << bits) - 1
    }
}
