//! GICD, the Distributor (IHI 0048B 4.3): per-interrupt enable, pending,
//! active, group, priority, target and trigger state, the banked copies for
//! SGIs and PPIs, the SGI source bits, and the input line levels.
//!
//! Accesses are decoded by a table, one row per register (or register
//! array) with its bits per interrupt and whether byte accesses are allowed,
//! using the offsets and fields of `gic_driver::regs::gicd`.
//!
//! The tests named in this module's documentation are in
//! `model/tests/distributor.rs` (a few, about acknowledge, in
//! `model/tests/cpu_interface.rs`).

use gic_driver::regs::field_mask;
use gic_driver::regs::gicd::{
    offset, BIT_ARRAY_BYTES, BYTE_ARRAY_BYTES, CTLR, ICFGR_BYTES, ICFGR_EDGE_BIT, ID_REGS_GIC400,
    IIDR_GIC400, SGIR, TYPER,
};
use gic_driver::IntId;
use tock_registers::LocalRegisterCopy;

use crate::config::{Config, MAX_CPUS, MAX_LINES};

/// SGIs, 0-15: one per INTID below this.
const SGIS: u32 = IntId::SGI_COUNT;
/// SGIs and PPIs, 0-31: banked per CPU; SPIs start here.
const PRIVATE: u32 = IntId::SPI_START;
use crate::Width;

/// INTIDs 0-15 are SGIs: the bits of word 0 they occupy.
pub(crate) const SGI_BITS: u32 = 0x0000_FFFF;
/// INTIDs 16-31 are PPIs: the bits of word 0 they occupy.
pub(crate) const PPI_BITS: u32 = 0xFFFF_0000;
/// Words of 32 INTIDs in the largest GIC.
pub(crate) const WORDS: usize = (MAX_LINES / 32) as usize;
/// GICD_CTLR bits that exist without the Security Extensions (4.3.1).
/// Enforced by `ctlr_keeps_only_the_two_group_enables`.
pub(crate) const CTLR_WRITABLE: u32 = field_mask(&CTLR::EnableGrp0) | field_mask(&CTLR::EnableGrp1);

/// The parts of a [`Config`] the Distributor and CPU interfaces decode with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shape {
    /// CPU interfaces, 1-8.
    pub cpus: u8,
    /// Lines as reported in GICD_TYPER (multiple of 32, up to 1024).
    pub lines: u32,
    /// Implemented INTIDs: `lines` capped at 1020.
    pub intids: u32,
    /// Implemented priority bits.
    pub priority_bits: u8,
    /// Mask of the implemented priority bits.
    pub prio_mask: u8,
    /// Preemption bits (priority bits, at most 7).
    pub pre_bits: u8,
    /// Minimum GICC_BPR.
    pub min_bpr: u8,
}

impl Shape {
    /// The shape of a validated configuration.
    pub fn new(config: &Config) -> Shape {
        Shape {
            cpus: config.cpus,
            lines: config.lines,
            intids: config.implemented_intids(),
            priority_bits: config.priority_bits,
            prio_mask: config.implemented_priority(),
            pre_bits: config.preemption_bits(),
            min_bpr: config.min_binary_point(),
        }
    }

    /// Mask of the implemented CPU interfaces (bit n = CPU n).
    pub fn cpu_mask(&self) -> u8 {
        (0xFFu16 >> (8 - self.cpus.clamp(1, 8))) as u8
    }

    /// Words of 32 INTIDs holding implemented interrupts.
    pub fn words(&self) -> usize {
        (self.lines as usize).div_ceil(32).min(WORDS)
    }

    /// Bits of word `w` that are implemented INTIDs.
    pub fn valid_mask(&self, w: usize) -> u32 {
        let first = (w as u32).saturating_mul(32);
        if first >= self.intids {
            0
        } else if self.intids - first >= 32 {
            u32::MAX
        } else {
            (1u32 << (self.intids - first)) - 1
        }
    }
}

/// One-bit-per-interrupt state of 32 INTIDs (4.3.4-4.3.10, 4.3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Word {
    /// Forwarding enabled (GICD_ISENABLER). SGI bits are always set.
    pub enabled: u32,
    /// Pending state latched by an edge or GICD_ISPENDR (3.2.4). Never set
    /// for SGIs, whose pending state is the per-source bits.
    pub latch: u32,
    /// Active (GICD_ISACTIVER).
    pub active: u32,
    /// Group 1 (GICD_IGROUPR).
    pub group: u32,
    /// Edge-triggered (GICD_ICFGR). SGI bits are always set.
    pub edge: u32,
    /// Input line level. SGI bits are always clear.
    pub level: u32,
}

impl Word {
    /// The reset state of word 0: SGIs enabled and edge-triggered (4.3.5, 4.3.13).
    /// Enforced by `sgi_enable_bits_read_as_one_and_ignore_writes` and
    /// `icfgr0_reads_0xaaaaaaaa_and_is_read_only`.
    const BANKED_RESET: Word = Word {
        enabled: SGI_BITS,
        latch: 0,
        active: 0,
        group: 0,
        edge: SGI_BITS,
        level: 0,
    };
}

/// The highest-priority pending interrupt of a CPU interface (3.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Candidate {
    /// Its INTID.
    pub id: u32,
    /// For an SGI, the lowest-numbered CPU it is pending from.
    pub source: u8,
    /// Its priority.
    pub priority: u8,
    /// It is in Group 1.
    pub group1: bool,
}

/// Distributor state. Derived state (the pending state of level-sensitive
/// interrupts, the highest-priority pending interrupt) is computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Distributor {
    /// The configuration decoded with.
    pub shape: Shape,
    /// GICD_CTLR.
    pub ctlr: u32,
    /// Words 1.. for SPIs; word 0 is unused (banked).
    pub shared: [Word; WORDS],
    /// Word 0 (SGIs and PPIs) for each CPU interface.
    pub banked: [Word; MAX_CPUS],
    /// SPI priorities, indexed by INTID; 0-31 unused.
    pub priority: [u8; MAX_LINES as usize],
    /// SGI and PPI priorities of each CPU interface.
    pub banked_priority: [[u8; PRIVATE as usize]; MAX_CPUS],
    /// SPI target CPUs, indexed by INTID; 0-31 unused.
    pub targets: [u8; MAX_LINES as usize],
    /// For each target CPU and SGI, the CPUs it is pending from (4.3.16).
    pub sgi_sources: [[u8; SGIS as usize]; MAX_CPUS],
}

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
    /// The reset state (4.3): everything disabled, inactive, not pending,
    /// Group 0, priority 0, level-sensitive PPIs and SPIs, SPIs targeting no CPU.
    pub fn new(config: &Config) -> Distributor {
        Distributor {
            shape: Shape::new(config),
            ctlr: 0,
            shared: [Word::default(); WORDS],
            banked: [Word::BANKED_RESET; MAX_CPUS],
            priority: [0; MAX_LINES as usize],
            banked_priority: [[0; PRIVATE as usize]; MAX_CPUS],
            targets: [0; MAX_LINES as usize],
            sgi_sources: [[0; SGIS as usize]; MAX_CPUS],
        }
    }

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

    // ---- state access -------------------------------------------------

    /// The word holding `id` as seen by `cpu` (banked for INTIDs 0-31).
    fn word(&self, cpu: usize, id: u32) -> Option<&Word> {
        let w = (id / 32) as usize;
        if w == 0 {
            self.banked.get(cpu)
        } else {
            self.shared.get(w)
        }
    }

    fn word_mut(&mut self, cpu: usize, id: u32) -> Option<&mut Word> {
        let w = (id / 32) as usize;
        if w == 0 {
            self.banked.get_mut(cpu)
        } else {
            self.shared.get_mut(w)
        }
    }

    fn bit(&self, cpu: usize, id: u32, f: fn(&Word) -> u32) -> bool {
        self.word(cpu, id)
            .is_some_and(|w| f(w) & (1 << (id % 32)) != 0)
    }

    fn update(&mut self, cpu: usize, id: u32, f: impl FnOnce(&mut Word, u32)) {
        if let Some(w) = self.word_mut(cpu, id) {
            f(w, 1 << (id % 32));
        }
    }

    /// Pending bits of word `w` for `cpu`: latched, or a level-sensitive
    /// interrupt whose line is asserted (3.2.4); for SGIs, pending from any
    /// source (4.3.16).
    /// Enforced by `level_interrupt_is_pending_while_its_line_is_high` and
    /// `ispendr_latches_level_interrupt_until_cleared`.
    pub fn pending_word(&self, cpu: usize, w: usize) -> u32 {
        let word = if w == 0 {
            self.banked.get(cpu)
        } else {
            self.shared.get(w)
        };
        let Some(b) = word else {
            return 0;
        };
        let mut p = b.latch | (b.level & !b.edge);
        if w == 0 {
            p = (p & PPI_BITS) | self.sgi_pending_bits(cpu);
        }
        p & self.shape.valid_mask(w)
    }

    fn sgi_pending_bits(&self, cpu: usize) -> u32 {
        self.sgi_sources.get(cpu).map_or(0, |s| {
            s.iter()
                .enumerate()
                .filter(|(_, &src)| src != 0)
                .fold(0, |acc, (i, _)| acc | 1 << i)
        })
    }

    /// Whether `id` is pending for `cpu`.
    pub fn is_pending(&self, cpu: usize, id: u32) -> bool {
        id < self.shape.intids && self.pending_word(cpu, (id / 32) as usize) & (1 << (id % 32)) != 0
    }

    /// Whether `id` is active (on `cpu`, for SGIs and PPIs).
    pub fn is_active(&self, cpu: usize, id: u32) -> bool {
        id < self.shape.intids && self.bit(cpu, id, |w| w.active)
    }

    /// Whether `id` is enabled (for `cpu`, for SGIs and PPIs).
    pub fn is_enabled(&self, cpu: usize, id: u32) -> bool {
        id < self.shape.intids && self.bit(cpu, id, |w| w.enabled)
    }

    /// Whether `id` is in Group 1.
    pub fn is_group1(&self, cpu: usize, id: u32) -> bool {
        id < self.shape.intids && self.bit(cpu, id, |w| w.group)
    }

    /// Whether `id` is edge-triggered.
    pub fn is_edge(&self, cpu: usize, id: u32) -> bool {
        id < self.shape.intids && self.bit(cpu, id, |w| w.edge)
    }

    /// The level of the input line of `id` (of `cpu`, for PPIs).
    pub fn line_level(&self, cpu: usize, id: u32) -> bool {
        id < self.shape.intids && self.bit(cpu, id, |w| w.level)
    }

    /// The priority of `id` (banked for INTIDs 0-31).
    pub fn priority_of(&self, cpu: usize, id: u32) -> u8 {
        let i = id as usize;
        if i < PRIVATE as usize {
            self.banked_priority
                .get(cpu)
                .and_then(|p| p.get(i))
                .copied()
                .unwrap_or(0)
        } else {
            self.priority.get(i).copied().unwrap_or(0)
        }
    }

    /// Whether SPI `id` targets `cpu`. In a uniprocessor GIC every SPI
    /// targets the one CPU and GICD_ITARGETSR is RAZ/WI (4.3.12).
    /// Enforced by `itargetsr_is_raz_wi_on_a_uniprocessor_gic_and_spis_reach_cpu_0` and
    /// `pending_spi_follows_its_targets_when_retargeted`.
    fn targets_cpu(&self, cpu: usize, id: u32) -> bool {
        self.shape.cpus == 1
            || self
                .targets
                .get(id as usize)
                .is_some_and(|t| cpu < 8 && t & (1 << cpu) != 0)
    }

    /// The CPUs SGI `sgi` is pending from, on target `cpu`.
    pub fn sgi_sources_of(&self, cpu: usize, sgi: u32) -> u8 {
        self.sgi_sources
            .get(cpu)
            .and_then(|s| s.get(sgi as usize))
            .copied()
            .unwrap_or(0)
    }

    /// Drives the input line of PPI or SPI `id` (of `cpu` for a PPI). A
    /// rising edge latches an edge-triggered interrupt pending; a
    /// level-sensitive one is pending while the line is high (3.2.4).
    /// Enforced by `edge_interrupt_latches_on_rising_edge_only`,
    /// `second_rising_edge_while_pending_is_one_event` and
    /// `level_interrupt_is_pending_while_its_line_is_high`.
    pub fn set_level(&mut self, cpu: usize, id: u32, level: bool) {
        if id < SGIS || id >= self.shape.intids {
            return;
        }
        self.update(cpu, id, |w, bit| {
            let rising = level && w.level & bit == 0;
            if level {
                w.level |= bit;
            } else {
                w.level &= !bit;
            }
            if rising && w.edge & bit != 0 {
                w.latch |= bit;
            }
        });
    }

    /// The highest-priority pending interrupt for `cpu` (3.2.2, 3.3): among
    /// interrupts that are enabled, pending, not active, targeted at `cpu`
    /// and whose group is both forwarded by the Distributor (GICD_CTLR) and
    /// accepted here (`group0`, `group1`: the CPU interface's
    /// GICC_CTLR.EnableGrp0/1), the lowest priority value, ties going to
    /// the lowest INTID.
    /// Enforced by `group_disabled_in_gicd_ctlr_is_not_forwarded`,
    /// `disabled_interrupt_can_be_pending_but_is_not_forwarded`,
    /// `equal_priorities_go_to_the_lowest_intid` and
    /// `highest_pending_interrupt_skips_groups_the_cpu_interface_disables`.
    pub fn highest_pending(&self, cpu: usize, group0: bool, group1: bool) -> Option<Candidate> {
        let ctlr = LocalRegisterCopy::<u32, CTLR::Register>::new(self.ctlr);
        let g0 = group0 && ctlr.is_set(CTLR::EnableGrp0);
        let g1 = group1 && ctlr.is_set(CTLR::EnableGrp1);
        if !(g0 || g1) || cpu >= self.shape.cpus as usize {
            return None;
        }
        let mut best: Option<(u8, u32)> = None;
        for w in 0..self.shape.words() {
            let b = if w == 0 {
                self.banked.get(cpu)?
            } else {
                self.shared.get(w)?
            };
            let groups = if g0 { !b.group } else { 0 } | if g1 { b.group } else { 0 };
            let mut cand = b.enabled & self.pending_word(cpu, w) & !b.active & groups;
            while cand != 0 {
                let id = w as u32 * 32 + cand.trailing_zeros();
                cand &= cand - 1;
                if w != 0 && !self.targets_cpu(cpu, id) {
                    continue;
                }
                let p = self.priority_of(cpu, id);
                if best.is_none_or(|(bp, _)| p < bp) {
                    best = Some((p, id));
                }
            }
        }
        best.map(|(priority, id)| Candidate {
            id,
            source: if id < SGIS {
                self.sgi_sources_of(cpu, id).trailing_zeros().min(7) as u8
            } else {
                0
            },
            priority,
            group1: self.is_group1(cpu, id),
        })
    }

    /// Acknowledges `c` on `cpu` (4.4.4): it becomes active and its latched
    /// pending state is cleared (a level-sensitive interrupt whose line is
    /// still high stays pending: active and pending). For an SGI only the
    /// pending bit of the source returned is cleared.
    /// Enforced by `level_interrupt_acknowledged_with_its_line_high_is_active_and_pending` and
    /// `sgi_acknowledge_returns_the_source_and_clears_only_that_source`.
    pub fn acknowledge(&mut self, cpu: usize, c: &Candidate) {
        if c.id < SGIS {
            if let Some(src) = self
                .sgi_sources
                .get_mut(cpu)
                .and_then(|s| s.get_mut(c.id as usize))
            {
                *src &= !(1u8 << (c.source % 8));
            }
        }
        self.update(cpu, c.id, |w, bit| {
            w.latch &= !bit;
            w.active |= bit;
        });
    }

    /// Deactivates `id` (on `cpu`, for SGIs and PPIs); unimplemented IDs
    /// are ignored (4.4.5, 4.4.16).
    pub fn deactivate(&mut self, cpu: usize, id: u32) {
        if id < self.shape.intids {
            self.update(cpu, id, |w, bit| w.active &= !bit);
        }
    }

    // ---- register handlers: (cpu, field index, field value) ------------

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
            self.update(cpu, id, |w, bit| w.latch |= bit);
        }
    }

    /// GICD_ICPENDR (4.3.8): clears the latched pending state; a
    /// level-sensitive interrupt whose line is asserted remains pending.
    /// SGI bits are WI (use CPENDSGIR).
    /// Enforced by `ispendr_and_icpendr_ignore_sgi_bits` and
    /// `icpendr_of_level_interrupt_with_line_high_leaves_it_pending`.
    fn clear_pending(&mut self, cpu: usize, id: u32, v: u32) {
        if v != 0 && id >= SGIS {
            self.update(cpu, id, |w, bit| w.latch &= !bit);
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
