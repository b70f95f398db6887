//! The reset prologue: the writes that start every scenario (but `reset`
//! ones), on QEMU and on the model alike, so that no scenario sees what an
//! earlier one left behind.
//!
//! Each CPU makes its own accesses to its banked registers (GICH, GICV,
//! GICC, and the Distributor's registers for INTIDs 0-31); CPU 0 clears the
//! shared Distributor state. The CPUs take turns ([`prologue_order`]: CPU
//! 1, 2, ..., then 0); each CPU's share is, in order:
//!
//! 1. the virtual interface: GICH_HCR = 0 (disabled, EOICount 0),
//!    GICH_LR0-7 = 0 (QEMU has 4, and keeps a fifth as storage), GICH_APR = 0, GICH_VMCR = VMBP 2,
//!    VMABP 3 (GICV_BPR and GICV_ABPR at their minimum, everything else 0);
//! 2. the CPU interface: GICC_CTLR = 0, GICC_PMR = 0, GICC_BPR = 0,
//!    GICC_ABPR = 1, every GICC_APRn and GICC_NSAPRn = 0, then one
//!    GICC_EOIR of INTID 0: with no active priority left, that drops
//!    nothing, but makes a GIC that keeps its running priority apart from
//!    the active priorities (QEMU does) recompute it as idle; GICV_EOIR of
//!    INTID 0 does the same for the virtual CPU interface and GICH_HCR = 0
//!    clears the EOICount that EOI may count;
//! 3. the Distributor: GICD_CTLR = 0 (CPU 0); GICD_ICENABLER0,
//!    GICD_ICPENDR0, GICD_ICACTIVER0 = all ones, GICD_IGROUPR0 = 0,
//!    GICD_IPRIORITYR0-7 = 0, GICD_ICFGR1 = 0 (PPIs level-sensitive),
//!    GICD_CPENDSGIR0-3 = all ones; CPU 0: the same for the SPIs of QEMU's
//!    `virt` board ([`QEMU_VIRT_LINES`]), with GICD_ITARGETSR8+ = 0 and
//!    GICD_ICFGR2+ = 0; every CPU: GICD_ICACTIVER1+ and GICD_ICPENDR1+ = all
//!    ones again (where an SPI can be active or pending on several CPUs at
//!    once, as on QEMU, each CPU clears its own), GICC_PMR = 0 and
//!    GICC_CTLR = 0.
//!
//! The prologue makes no read, so it records nothing.

use gic_driver::regs::{gicc, gicd, gich};

use crate::{Access, Frame, Op, Width};

/// Interrupt lines of QEMU's `virt` board with a GICv2 (INTIDs 0-287:
/// GICD_TYPER.ITLinesNumber = 8).
pub const QEMU_VIRT_LINES: u32 = 288;

/// List registers the prologue clears: QEMU's 4, and LR4, which QEMU 7.2
/// keeps as storage (its bounds check is off by one), with room to spare.
const PROLOGUE_LIST_REGISTERS: usize = 8;

/// Which CPUs make the accesses of a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    /// Every CPU, each to its own banked registers.
    Each,
    /// CPU 0 only (shared Distributor state).
    Boot,
}

/// Writes of `value` at `start..end`, one per `width`, by `who`.
#[derive(Debug, Clone, Copy)]
struct Block {
    who: Who,
    frame: Frame,
    start: usize,
    end: usize,
    width: Width,
    value: u32,
}

const fn one(who: Who, frame: Frame, offset: usize, value: u32) -> Block {
    many(who, frame, offset, offset + 4, value)
}

const fn many(who: Who, frame: Frame, start: usize, end: usize, value: u32) -> Block {
    Block {
        who,
        frame,
        start,
        end,
        width: Width::Word,
        value,
    }
}

/// Bytes of a one-bit-per-INTID array for `lines` lines, from `first` INTID.
const fn bits(first: u32, lines: u32) -> usize {
    ((lines - first) / 8) as usize
}

/// GICH_VMCR with GICV_BPR = 2 and GICV_ABPR = 3 (their minimum with 5
/// virtual preemption bits) and every other field 0.
const VMCR_MINIMUM_BINARY_POINTS: u32 =
    gich::VMCR::VMBP.val(2).value | gich::VMCR::VMABP.val(3).value;

const ALL: u32 = u32::MAX;
const SPI_WORD_0: usize = 4;
const SPI_BYTE_0: usize = 32;

/// The prologue, block by block.
#[rustfmt::skip]
static BLOCKS: [Block; 32] = {
    use Frame::{Gicc, Gicd, Gich, Gicv};
    use Who::{Boot, Each};
    const L: u32 = QEMU_VIRT_LINES;
    const LR_END: usize = gich::lr(PROLOGUE_LIST_REGISTERS);
    const APR_END: usize = gicc::offset::APR + 4 * gicc::APR_COUNT;
    const NSAPR_END: usize = gicc::offset::NSAPR + 4 * gicc::APR_COUNT;
    [
        one(Each, Gich, gich::offset::HCR, 0),
        many(Each, Gich, gich::offset::LR, LR_END, 0),
        one(Each, Gich, gich::offset::APR, 0),
        one(Each, Gich, gich::offset::VMCR, VMCR_MINIMUM_BINARY_POINTS),
        one(Each, Gicc, gicc::offset::CTLR, 0),
        one(Each, Gicc, gicc::offset::PMR, 0),
        one(Each, Gicc, gicc::offset::BPR, 0),
        one(Each, Gicc, gicc::offset::ABPR, 1),
        many(Each, Gicc, gicc::offset::APR, APR_END, 0),
        many(Each, Gicc, gicc::offset::NSAPR, NSAPR_END, 0),
        one(Each, Gicc, gicc::offset::EOIR, 0),
        one(Each, Gicv, gicc::offset::EOIR, 0),
        one(Each, Gich, gich::offset::HCR, 0),
        one(Boot, Gicd, gicd::offset::CTLR, 0),
        one(Each, Gicd, gicd::offset::ICENABLER, ALL),
        one(Each, Gicd, gicd::offset::ICPENDR, ALL),
        one(Each, Gicd, gicd::offset::ICACTIVER, ALL),
        one(Each, Gicd, gicd::offset::IGROUPR, 0),
        many(Each, Gicd, gicd::offset::IPRIORITYR, gicd::offset::IPRIORITYR + 32, 0),
        one(Each, Gicd, gicd::offset::ICFGR + 4, 0),
        many(Each, Gicd, gicd::offset::CPENDSGIR, gicd::offset::CPENDSGIR + 16, ALL),
        many(Boot, Gicd, gicd::offset::ICENABLER + SPI_WORD_0, gicd::offset::ICENABLER + SPI_WORD_0 + bits(32, L), ALL),
        many(Boot, Gicd, gicd::offset::ICPENDR + SPI_WORD_0, gicd::offset::ICPENDR + SPI_WORD_0 + bits(32, L), ALL),
        many(Boot, Gicd, gicd::offset::ICACTIVER + SPI_WORD_0, gicd::offset::ICACTIVER + SPI_WORD_0 + bits(32, L), ALL),
        many(Boot, Gicd, gicd::offset::IGROUPR + SPI_WORD_0, gicd::offset::IGROUPR + SPI_WORD_0 + bits(32, L), 0),
        many(Boot, Gicd, gicd::offset::IPRIORITYR + SPI_BYTE_0, gicd::offset::IPRIORITYR + L as usize, 0),
        many(Boot, Gicd, gicd::offset::ITARGETSR + SPI_BYTE_0, gicd::offset::ITARGETSR + L as usize, 0),
        many(Boot, Gicd, gicd::offset::ICFGR + 8, gicd::offset::ICFGR + (L / 4) as usize, 0),
        // Active SPIs: on a GIC whose SPIs can be active on several CPUs at
        // once (QEMU's), every CPU clears its own.
        many(Each, Gicd, gicd::offset::ICACTIVER + SPI_WORD_0, gicd::offset::ICACTIVER + SPI_WORD_0 + bits(32, L), ALL),
        many(Each, Gicd, gicd::offset::ICPENDR + SPI_WORD_0, gicd::offset::ICPENDR + SPI_WORD_0 + bits(32, L), ALL),
        one(Each, Gicc, gicc::offset::PMR, 0),
        one(Each, Gicc, gicc::offset::CTLR, 0),
    ]
};

/// The prologue for a board of `cpus` CPUs: every access, CPU by CPU in
/// [`prologue_order`], each CPU's accesses in block order.
pub fn prologue(cpus: u8) -> Prologue {
    Prologue {
        cpus,
        only: None,
        position: 0,
        block: 0,
        offset: BLOCKS[0].start,
    }
}

/// The accesses that CPU `cpu` makes in the prologue for `cpus` CPUs, in
/// order. The probe hands each secondary CPU its share in one request.
pub fn prologue_for(cpus: u8, cpu: u8) -> Prologue {
    Prologue {
        only: Some(cpu),
        ..prologue(cpus)
    }
}

/// The order in which the CPUs make their share of the prologue: CPU 1,
/// 2, ..., then CPU 0, which also clears the shared Distributor state. (No
/// access of one CPU's share undoes or depends on another's.)
pub fn prologue_order(cpus: u8) -> impl Iterator<Item = u8> {
    (1..cpus.max(1)).chain(core::iter::once(0))
}

/// Iterator over the accesses of the prologue; see [`prologue`].
#[derive(Debug, Clone)]
pub struct Prologue {
    cpus: u8,
    only: Option<u8>,
    /// Index into [`prologue_order`] of the CPU whose share is being walked.
    position: u8,
    block: usize,
    offset: usize,
}

impl Prologue {
    /// The CPU at `position` in the prologue order, if any.
    fn cpu_at(&self, position: u8) -> Option<u8> {
        let cpus = self.cpus.max(1);
        if position >= cpus {
            None
        } else if position + 1 == cpus {
            Some(0)
        } else {
            Some(position + 1)
        }
    }
}

impl Iterator for Prologue {
    type Item = Access;

    fn next(&mut self) -> Option<Access> {
        loop {
            let cpu = self.cpu_at(self.position)?;
            let Some(b) = BLOCKS.get(self.block) else {
                self.position += 1;
                self.block = 0;
                self.offset = BLOCKS[0].start;
                continue;
            };
            let mine = self.only.is_none_or(|only| only == cpu);
            if !mine || (b.who == Who::Boot && cpu != 0) || self.offset >= b.end {
                self.block += 1;
                self.offset = BLOCKS.get(self.block).map_or(0, |b| b.start);
                continue;
            }
            let access = Access {
                frame: b.frame,
                cpu,
                offset: self.offset as u32,
                width: b.width,
                op: Op::Write(b.value),
            };
            self.offset += b.width.bytes() as usize;
            return Some(access);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prologue_only_writes_inside_the_frames_with_aligned_words() {
        for cpus in 1..=4 {
            for a in prologue(cpus) {
                assert!(matches!(a.op, Op::Write(_)));
                assert!(a.cpu < cpus);
                assert!(a.offset + a.width.bytes() <= a.frame.size(), "{a}");
                assert_eq!(a.offset % 4, 0);
            }
        }
    }

    #[test]
    fn every_cpu_clears_its_own_banked_state_and_cpu_0_the_shared_state() {
        let count = |cpus, f: fn(&Access) -> bool| prologue(cpus).filter(f).count();
        let gich_hcr = |a: &Access| a.frame == Frame::Gich && a.offset == 0;
        assert_eq!(count(1, gich_hcr), 2);
        assert_eq!(count(4, gich_hcr), 8);
        let targets =
            |a: &Access| a.frame == Frame::Gicd && (0x820..0x920).contains(&(a.offset as usize));
        assert_eq!(count(4, targets), 64);
        assert!(prologue(4).filter(|a| targets(a)).all(|a| a.cpu == 0));
        let lrs = |a: &Access| a.frame == Frame::Gich && (0x100..0x200).contains(&a.offset);
        assert_eq!(count(2, lrs), 16);
    }

    #[test]
    fn the_prologue_is_each_cpus_share_in_turn_cpu_0_last() {
        for cpus in 1..=4u8 {
            let mut whole = prologue(cpus);
            for cpu in prologue_order(cpus) {
                for a in prologue_for(cpus, cpu) {
                    assert_eq!(whole.next(), Some(a));
                }
            }
            assert_eq!(whole.next(), None);
            assert_eq!(prologue_order(cpus).last(), Some(0));
            assert_eq!(prologue_order(cpus).count(), cpus as usize);
        }
        assert!(prologue_for(2, 1).all(|a| a.frame != Frame::Gicd || a.offset != 0));
        assert_eq!(prologue_for(2, 0).next().map(|a| a.cpu), Some(0));
    }
}
