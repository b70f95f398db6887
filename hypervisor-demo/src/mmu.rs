//! EL2's own stage-1 translation: an identity map, so that the hypervisor
//! runs with its data cache on and its memory Normal.
//!
//! Why: with the EL2 MMU off every data access is Device-nGnRnE, and the
//! architecture does not promise that exclusive loads and stores (the spin
//! locks and atomic read-modify-writes the CPUs share) work on Device
//! memory, nor that caches are coherent with it. QEMU emulates both anyway;
//! real hardware does not have to. So every CPU turns its MMU on
//! ([`enable`]) before it takes a lock or uses an atomic read-modify-write.
//!
//! The map (4 KiB granule, 32-bit virtual addresses, walk starting at level
//! 1, virtual = physical), built once by the boot CPU ([`build`]) from the
//! RAM its device tree names:
//!
//! | range | descriptors | memory type (MAIR_EL2 index) |
//! |---|---|---|
//! | 0 - 1 GiB (QEMU virt's devices: GIC, UART, ...) | one level-1 block | Device-nGnRE (1), execute-never |
//! | the RAM | 2 MiB level-2 blocks | Normal, inner and outer write-back read/write-allocate, inner shareable (0) |
//! | everything else | invalid | (a fault) |
//!
//! The tables are walked with the same attributes as RAM (TCR_EL2.IRGN0,
//! ORGN0, SH0), so the walker sees the descriptors the CPUs wrote.
//!
//! Caches and a guest that runs with its own MMU off: such a guest's
//! accesses are non-cacheable, so whatever EL2 wrote for it through the
//! cache (the guest's device tree) must be cleaned to the point of
//! coherency first ([`clean_range`]), and whatever it wrote for EL2 read
//! past any stale line ([`clean_invalidate_range`]).

use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Writeable, MAIR_EL2, SCTLR_EL2, TCR_EL2, TTBR0_EL2};
use tock_registers::fields::FieldValue;
use tock_registers::register_bitfields;

use crate::dtb::Region;

/// log2 of the translation granule, 4 KiB.
const PAGE_SHIFT: u32 = 12;
/// Bytes one level-1 entry covers.
const L1_SPAN: u64 = 1 << 30;
/// Bytes one level-2 entry covers.
const L2_SPAN: u64 = 2 << 20;
/// The end of the 32-bit virtual (and physical) address space mapped.
const VA_END: u64 = 1 << 32;
/// Bytes in a data cache line, at least (CTR_EL0.DminLine is read for the
/// real size; this is the smallest the architecture allows, 16 bytes).
const MIN_LINE: usize = 16;

/// MAIR_EL2 index of Normal write-back memory.
const ATTR_NORMAL: u64 = 0;
/// MAIR_EL2 index of Device-nGnRE memory.
const ATTR_DEVICE: u64 = 1;

register_bitfields! {u64,
    /// A VMSAv8-64 stage-1 descriptor for the EL2 translation regime with
    /// a 4 KiB granule: a block (levels 1-2) or a table (levels 0-2),
    /// which uses only VALID, TYPE and OUTPUT_ADDR (Arm ARM D8.3).
    DESCRIPTOR [
        /// XN, execute-never (EL2 has one execute-never bit).
        XN OFFSET(54) NUMBITS(1) [],
        /// Bits 47:12 of the output address.
        OUTPUT_ADDR OFFSET(12) NUMBITS(36) [],
        /// AF, the access flag: set, so that no access faults for it.
        AF OFFSET(10) NUMBITS(1) [],
        /// SH, shareability (of Normal memory).
        SH OFFSET(8) NUMBITS(2) [
            InnerShareable = 0b11,
        ],
        /// AP[2:1]: read/write at EL2.
        AP OFFSET(6) NUMBITS(2) [
            ReadWrite = 0b00,
        ],
        /// AttrIndx: the MAIR_EL2 attribute.
        ATTR_INDEX OFFSET(2) NUMBITS(3) [],
        /// Block (levels 1-2), or table (levels 0-2).
        TYPE OFFSET(1) NUMBITS(1) [
            Block = 0,
            Table = 1,
        ],
        /// The descriptor is valid.
        VALID OFFSET(0) NUMBITS(1) [],
    ],
    /// The SCTLR_EL2 bits that are RES1 with HCR_EL2.E2H = 0 (Armv8.0) and
    /// that aarch64-cpu does not name (it names EIS and EOS, RES1 in
    /// Armv8.0 too).
    SCTLR_EL2_RES1 [
        /// Bits 29:28.
        RES1_29_28 OFFSET(28) NUMBITS(2) [],
        /// Bit 23.
        RES1_23 OFFSET(23) NUMBITS(1) [],
        /// Bit 18.
        RES1_18 OFFSET(18) NUMBITS(1) [],
        /// Bit 16.
        RES1_16 OFFSET(16) NUMBITS(1) [],
        /// Bits 5:4.
        RES1_5_4 OFFSET(4) NUMBITS(2) [],
    ],
    /// TCR_EL2 bits that are RES1 with HCR_EL2.E2H = 0.
    TCR_EL2_RES1 [
        /// Bit 31.
        RES1_31 OFFSET(31) NUMBITS(1) [],
        /// Bit 23.
        RES1_23 OFFSET(23) NUMBITS(1) [],
    ],
}

/// A descriptor, built from [`DESCRIPTOR`] fields.
type Descriptor = FieldValue<u64, DESCRIPTOR::Register>;

/// One translation table: 512 eight-byte descriptors in a 4 KiB page.
/// Written with plain stores (Relaxed atomic stores) by the boot CPU
/// before any CPU turns its MMU on; atomics only so that a `static` needs
/// no `unsafe`.
#[repr(C, align(4096))]
struct Table([AtomicU64; 512]);

impl Table {
    const fn new() -> Self {
        Table([const { AtomicU64::new(0) }; 512])
    }

    fn addr(&self) -> u64 {
        self as *const Table as u64
    }

    fn set(&self, index: u64, descriptor: Descriptor) {
        if let Some(entry) = self.0.get(index as usize) {
            entry.store(descriptor.value, Ordering::Relaxed);
        }
    }
}

/// The level-1 table: 4 entries used, one per GiB.
static LEVEL1: Table = Table::new();
/// Level-2 tables for the three GiB of the 32-bit space that can hold RAM.
static LEVEL2_RAM: [Table; 3] = [const { Table::new() }; 3];

/// Normal write-back memory (MAIR_EL2 attribute 0), inner shareable.
fn normal() -> Descriptor {
    DESCRIPTOR::ATTR_INDEX.val(ATTR_NORMAL)
        + DESCRIPTOR::SH::InnerShareable
        + DESCRIPTOR::AP::ReadWrite
        + DESCRIPTOR::AF::SET
}

/// Device-nGnRE memory (MAIR_EL2 attribute 1), never executable.
fn device() -> Descriptor {
    DESCRIPTOR::ATTR_INDEX.val(ATTR_DEVICE)
        + DESCRIPTOR::AP::ReadWrite
        + DESCRIPTOR::AF::SET
        + DESCRIPTOR::XN::SET
}

fn block(pa: u64, attributes: Descriptor) -> Descriptor {
    DESCRIPTOR::VALID::SET
        + DESCRIPTOR::TYPE::Block
        + DESCRIPTOR::OUTPUT_ADDR.val(pa >> PAGE_SHIFT)
        + attributes
}

fn table(next: &Table) -> Descriptor {
    DESCRIPTOR::VALID::SET
        + DESCRIPTOR::TYPE::Table
        + DESCRIPTOR::OUTPUT_ADDR.val(next.addr() >> PAGE_SHIFT)
}

/// Builds the identity map with `ram` as RAM (clipped to 2 MiB blocks
/// inside the 32-bit space, the rest of the first GiB as devices). The
/// boot CPU calls it once, MMU off, before any CPU calls [`enable`].
/// Returns the RAM mapped.
pub fn build(ram: Region) -> Region {
    let first = ram.base.max(L1_SPAN).div_ceil(L2_SPAN) * L2_SPAN;
    let last = (ram.end().min(VA_END) / L2_SPAN * L2_SPAN).max(first);
    LEVEL1.set(0, block(0, device()));
    for (gib, level2) in (1..).zip(&LEVEL2_RAM) {
        let span = gib * L1_SPAN..(gib + 1) * L1_SPAN;
        let mut used = false;
        for pa in (first..last).step_by(L2_SPAN as usize) {
            if span.contains(&pa) {
                level2.set((pa % L1_SPAN) / L2_SPAN, block(pa, normal()));
                used = true;
            }
        }
        if used {
            LEVEL1.set(gib, table(level2));
        }
    }
    // The CPUs' walks are cacheable: no line may hold an older copy of
    // the tables (the MMU is off, so these stores went to memory).
    clean_invalidate_range(LEVEL1.addr() as usize, 4096);
    for level2 in &LEVEL2_RAM {
        clean_invalidate_range(level2.addr() as usize, 4096);
    }
    Region {
        base: first,
        size: last - first,
    }
}

/// Turns this CPU's EL2 MMU and caches on with the map [`build`] wrote:
/// MAIR_EL2 (attribute 0 Normal write-back, 1 Device-nGnRE), TCR_EL2
/// (32-bit addresses, 4 KiB granule, cacheable inner-shareable walks),
/// TTBR0_EL2, then SCTLR_EL2.M, C, I (stack alignment checked, WXN off).
///
/// Every CPU calls it first thing, before it reads memory another CPU
/// wrote or takes a lock: it reads only registers and link-time addresses.
#[inline(never)]
pub fn enable() {
    MAIR_EL2.write(
        MAIR_EL2::Attr0_Normal_Outer::WriteBack_NonTransient_ReadWriteAlloc
            + MAIR_EL2::Attr0_Normal_Inner::WriteBack_NonTransient_ReadWriteAlloc
            + MAIR_EL2::Attr1_Device::nonGathering_nonReordering_EarlyWriteAck,
    );
    let tcr = TCR_EL2::PS::Bits_32
        + TCR_EL2::TG0::KiB_4
        + TCR_EL2::SH0::Inner
        + TCR_EL2::ORGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
        + TCR_EL2::IRGN0::WriteBack_ReadAlloc_WriteAlloc_Cacheable
        + TCR_EL2::T0SZ.val(32);
    let res1 = TCR_EL2_RES1::RES1_31::SET + TCR_EL2_RES1::RES1_23::SET;
    TCR_EL2.set(tcr.value | res1.value);
    TTBR0_EL2.set_baddr(LEVEL1.addr());
    barrier::isb(barrier::SY);
    // Nothing may be cached from before (reset leaves the TLBs unknown).
    // SAFETY: TLB invalidation only drops cached translations of EL2; it
    // changes no memory and no register the compiler knows about.
    unsafe { core::arch::asm!("tlbi alle2", options(nostack, preserves_flags)) };
    barrier::dsb(barrier::NSH);
    barrier::isb(barrier::SY);
    let sctlr = SCTLR_EL2::M::Enable
        + SCTLR_EL2::C::Cacheable
        + SCTLR_EL2::I::Cacheable
        + SCTLR_EL2::SA::Enable
        + SCTLR_EL2::A::Disable
        + SCTLR_EL2::WXN::Disable
        + SCTLR_EL2::EE::Little
        + SCTLR_EL2::EIS::IsSynch
        + SCTLR_EL2::EOS::IsSynch;
    let res1 = SCTLR_EL2_RES1::RES1_29_28.val(0b11)
        + SCTLR_EL2_RES1::RES1_23::SET
        + SCTLR_EL2_RES1::RES1_18::SET
        + SCTLR_EL2_RES1::RES1_16::SET
        + SCTLR_EL2_RES1::RES1_5_4.val(0b11);
    SCTLR_EL2.set(sctlr.value | res1.value);
    barrier::isb(barrier::SY);
}

/// The data cache's smallest line, in bytes (CTR_EL0.DminLine).
fn line_size() -> usize {
    let ctr: u64;
    // SAFETY: reading CTR_EL0 has no side effect.
    unsafe { core::arch::asm!("mrs {}, ctr_el0", out(reg) ctr, options(nomem, nostack)) };
    (4usize << ((ctr >> 16) & 0xF)).max(MIN_LINE)
}

/// Runs `op` (a `dc` instruction) on every line of `base..base + len`,
/// then waits for completion (DSB SY).
fn each_line(base: usize, len: usize, op: fn(usize)) {
    let line = line_size();
    let mut addr = base & !(line - 1);
    while addr < base + len {
        op(addr);
        addr += line;
    }
    barrier::dsb(barrier::SY);
}

/// Cleans `base..base + len` to the point of coherency (DC CVAC): memory
/// then holds what this CPU wrote, for an observer that does not look in
/// the caches (a guest with its MMU off, a DMA device).
pub fn clean_range(base: usize, len: usize) {
    // SAFETY: a cache clean writes dirty lines back to memory; it does not
    // change what any address reads.
    each_line(base, len, |a| unsafe {
        core::arch::asm!("dc cvac, {}", in(reg) a, options(nostack, preserves_flags))
    });
}

/// Cleans and invalidates `base..base + len` (DC CIVAC): memory holds what
/// this CPU wrote, and the next read fetches from memory what a
/// non-cacheable observer wrote since.
pub fn clean_invalidate_range(base: usize, len: usize) {
    // SAFETY: a clean and invalidate writes dirty lines back and drops
    // them; it does not change what any address reads.
    each_line(base, len, |a| unsafe {
        core::arch::asm!("dc civac, {}", in(reg) a, options(nostack, preserves_flags))
    });
}
