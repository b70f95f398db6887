//! GICD, the Distributor (IHI 0048B 4.3): per-interrupt enable, pending,
//! active, group, priority, target and trigger state, the banked copies for
//! SGIs and PPIs, the SGI source bits, and the input line levels.
//!
//! This module holds the state and what follows from it (pending state,
//! the highest-priority pending interrupt, acknowledge and deactivation);
//! the `registers` submodule decodes GICD accesses onto it with a table,
//! one row per register (or register array) with its bits per interrupt
//! and whether byte accesses are allowed, using the offsets and fields of
//! `gic_driver::regs::gicd`.
//!
//! The tests named in this module's documentation are in
//! `model/tests/distributor.rs` (a few, about acknowledge, in
//! `model/tests/cpu_interface.rs`).

use gic_driver::regs::field_mask;
use gic_driver::regs::gicd::CTLR;
use gic_driver::IntId;
use tock_registers::LocalRegisterCopy;

use crate::config::{Config, MAX_CPUS, MAX_LINES};
use crate::intid_set::IntIdSet;

mod registers;

/// SGIs, 0-15: one per INTID below this.
const SGIS: u32 = IntId::SGI_COUNT;
/// SGIs and PPIs, 0-31: banked per CPU; SPIs start here.
const PRIVATE: u32 = IntId::SPI_START;

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
    /// Active (GICD_ISACTIVER).
    pub active: u32,
    /// Group 1 (GICD_IGROUPR).
    pub group: u32,
    /// Edge-triggered (GICD_ICFGR). SGI bits are always set.
    pub edge: u32,
}

/// The inputs of the pending state of 32 INTIDs per word (3.2.4), kept
/// apart from [`Word`] so that the selection reads them as two dense
/// arrays. Index 0 is unused in the shared copy (word 0 is banked).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Inputs<const N: usize> {
    /// Pending state latched by an edge or GICD_ISPENDR. Never set for
    /// SGIs, whose pending state is the per-source bits.
    pub latch: [u32; N],
    /// Input line levels. SGI bits are always clear.
    pub level: [u32; N],
}

impl<const N: usize> Inputs<N> {
    const RESET: Self = Inputs {
        latch: [0; N],
        level: [0; N],
    };
}

impl Word {
    /// The reset state of word 0: SGIs enabled and edge-triggered (4.3.5, 4.3.13).
    /// Enforced by `sgi_enable_bits_read_as_one_and_ignore_writes` and
    /// `icfgr0_reads_0xaaaaaaaa_and_is_read_only`.
    const BANKED_RESET: Word = Word {
        enabled: SGI_BITS,
        active: 0,
        group: 0,
        edge: SGI_BITS,
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
    /// Latches and line levels of words 1.. (SPIs); index 0 unused.
    pub inputs: Inputs<WORDS>,
    /// Latches and line levels of word 0 (PPIs) for each CPU interface.
    pub banked_inputs: Inputs<MAX_CPUS>,
    /// SPI priorities, indexed by INTID; 0-31 unused.
    pub priority: [u8; MAX_LINES as usize],
    /// SGI and PPI priorities of each CPU interface.
    pub banked_priority: [[u8; PRIVATE as usize]; MAX_CPUS],
    /// SPI target CPUs, indexed by INTID; 0-31 unused.
    pub targets: [u8; MAX_LINES as usize],
    /// For each target CPU and SGI, the CPUs it is pending from (4.3.16).
    pub sgi_sources: [[u8; SGIS as usize]; MAX_CPUS],
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
            inputs: Inputs::RESET,
            banked_inputs: Inputs::RESET,
            priority: [0; MAX_LINES as usize],
            banked_priority: [[0; PRIVATE as usize]; MAX_CPUS],
            targets: [0; MAX_LINES as usize],
            sgi_sources: [[0; SGIS as usize]; MAX_CPUS],
        }
    }

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

    /// The latch and line-level words of word `w` as `cpu` sees it.
    #[inline]
    pub fn inputs_of(&self, cpu: usize, w: usize) -> (u32, u32) {
        let (latch, level) = if w == 0 {
            (
                self.banked_inputs.latch.get(cpu),
                self.banked_inputs.level.get(cpu),
            )
        } else {
            (self.inputs.latch.get(w), self.inputs.level.get(w))
        };
        (latch.copied().unwrap_or(0), level.copied().unwrap_or(0))
    }

    /// The latch and line-level words of word `w` as `cpu` sees it, for
    /// changing.
    #[inline]
    pub fn inputs_mut(&mut self, cpu: usize, w: usize) -> Option<(&mut u32, &mut u32)> {
        if w == 0 {
            let i = &mut self.banked_inputs;
            Some((i.latch.get_mut(cpu)?, i.level.get_mut(cpu)?))
        } else {
            let i = &mut self.inputs;
            Some((i.latch.get_mut(w)?, i.level.get_mut(w)?))
        }
    }

    /// Applies `f` to the pending latch word holding `id` (of `cpu`, for
    /// INTIDs 0-31), with the bit of `id`.
    pub fn update_latch(&mut self, cpu: usize, id: u32, f: impl FnOnce(&mut u32, u32)) {
        if let Some((latch, _)) = self.inputs_mut(cpu, (id / 32) as usize) {
            f(latch, 1 << (id % 32));
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
        let (latch, level) = self.inputs_of(cpu, w);
        let mut p = latch | (level & !b.edge);
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

    /// Whether `id`'s pending state is latched (an edge or GICD_ISPENDR),
    /// apart from a level-sensitive line; for SGIs, pending from any source.
    pub fn is_latched(&self, cpu: usize, id: u32) -> bool {
        if id < SGIS {
            self.sgi_sources_of(cpu, id) != 0
        } else {
            id < self.shape.intids
                && self.inputs_of(cpu, (id / 32) as usize).0 & (1 << (id % 32)) != 0
        }
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
        id < self.shape.intids && self.inputs_of(cpu, (id / 32) as usize).1 & (1 << (id % 32)) != 0
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
        let edge = self.is_edge(cpu, id);
        let bit = 1 << (id % 32);
        if let Some((latch, line)) = self.inputs_mut(cpu, (id / 32) as usize) {
            let rising = level && *line & bit == 0;
            if level {
                *line |= bit;
            } else {
                *line &= !bit;
            }
            if rising && edge {
                *latch |= bit;
            }
        }
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
        self.highest_pending_except(cpu, group0, group1, &IntIdSet::EMPTY)
    }

    /// [`highest_pending`](Self::highest_pending) among the interrupts not
    /// in `except` (a hypervisor's listed interrupts).
    ///
    /// A pure function of the state, with no cached copy: one branch-free
    /// pass over the SPI words builds a summary of the words holding any
    /// pending state (latched, or a level-sensitive line high), and only
    /// those words are examined bit by bit. A delivered interrupt therefore
    /// costs about the same with 64 and 1024 lines (`model/benches/delivery.rs`).
    /// Enforced by `selection_is_the_lowest_priority_value_then_the_lowest_intid`
    /// (against a line-by-line scan) and the tests named at
    /// [`highest_pending`](Self::highest_pending).
    pub fn highest_pending_except(
        &self,
        cpu: usize,
        group0: bool,
        group1: bool,
        except: &IntIdSet,
    ) -> Option<Candidate> {
        let ctlr = LocalRegisterCopy::<u32, CTLR::Register>::new(self.ctlr);
        let g0 = group0 && ctlr.is_set(CTLR::EnableGrp0);
        let g1 = group1 && ctlr.is_set(CTLR::EnableGrp1);
        if !(g0 || g1) || cpu >= self.shape.cpus as usize {
            return None;
        }
        let g0_mask = if g0 { u32::MAX } else { 0 };
        let g1_mask = if g1 { u32::MAX } else { 0 };
        // The interrupts of word `w` the Distributor forwards to `cpu`.
        let forwarded = |b: &Word, w: usize| {
            b.enabled
                & self.pending_word(cpu, w)
                & !b.active
                & ((!b.group & g0_mask) | (b.group & g1_mask))
                & !except.word(w)
        };
        let mut best: Option<(u8, u32)> = None;
        let mut consider = |w: usize, mut cand: u32| {
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
        };
        let banked = self.banked.get(cpu)?;
        consider(0, forwarded(banked, 0));
        // Only SPI words with a latch set or a line high can hold a
        // pending SPI: a branch-free pass over the two dense arrays of
        // latches and levels sums them up in one bit per word (at most 32
        // words; word 0 is banked), and only those words are examined.
        let words = self.shape.words().min(WORDS);
        let latch = self.inputs.latch.get(..words).unwrap_or(&[]);
        let level = self.inputs.level.get(..words).unwrap_or(&[]);
        let mut summary = latch
            .iter()
            .zip(level)
            .enumerate()
            .fold(0u32, |s, (w, (l, v))| s | u32::from(l | v != 0) << (w % 32))
            & !1;
        while summary != 0 {
            let w = summary.trailing_zeros() as usize;
            summary &= summary - 1;
            if let Some(b) = self.shared.get(w) {
                consider(w, forwarded(b, w));
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
        self.update_latch(cpu, c.id, |latch, bit| *latch &= !bit);
        self.update(cpu, c.id, |w, bit| w.active |= bit);
    }

    /// Deactivates `id` (on `cpu`, for SGIs and PPIs); unimplemented IDs
    /// are ignored (4.4.5, 4.4.16).
    pub fn deactivate(&mut self, cpu: usize, id: u32) {
        if id < self.shape.intids {
            self.update(cpu, id, |w, bit| w.active &= !bit);
        }
    }
}
