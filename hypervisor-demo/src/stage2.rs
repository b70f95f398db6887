//! Stage-2 translation: the guest's view of the physical address space.
//!
//! With HCR_EL2.VM = 1 every access from EL1/EL0 goes through a second
//! translation, owned by EL2, from the guest's intermediate physical address
//! (IPA) to a physical address (Arm ARM D8 "The AArch64 Virtual Memory
//! System Architecture", stage 2). The guest's own stage 1 stays off, so its
//! addresses are IPAs directly.
//!
//! The guest's memory map (4 KiB granule, 32-bit IPA space, walk starting
//! at level 1), at the addresses of QEMU virt's devices ([`board`]); the
//! descriptors are built from the [`DESCRIPTOR`] fields:
//!
//! | IPA | size | maps to | attributes |
//! |---|---|---|---|
//! | 0x0800_0000 (its GICD) | 4 KiB | nothing: any access is a stage-2 fault, taken to EL2 | |
//! | 0x0801_0000 (its GICC) | 8 KiB | 0x0804_0000, the physical GICV frame | Device-nGnRE, XN |
//! | 0x0900_0000 | 4 KiB | the PL011 UART (same address) | Device-nGnRE, XN |
//! | guest RAM (same address) | the RAM given | itself, in 2 MiB blocks | Normal write-back |
//!
//! Everything else is unmapped: an access there is a stage-2 fault taken to
//! EL2, which serves the GICD page through the vGIC and injects an external
//! abort for the rest ([`mmio`](crate::mmio)).
//!
//! Guest RAM is what [`enable`] is given: for an external guest, RAM from
//! [`board::GUEST_RAM_BASE`] to the end of the board's RAM, never the
//! hypervisor's; for the built-in guest, which is part of the hypervisor's
//! image, all of RAM (the hypervisor included: fine for a demo, not for
//! isolation).
//!
//! The tables are static and page-aligned (no allocator): a level-1 table
//! (4 entries used, 1 GiB each), the level-2 table of the first GiB (the
//! devices), three level-2 tables for RAM (2 MiB blocks, up to the end of
//! the 32-bit IPA space), and two level-3 tables (4 KiB pages) for the GIC
//! and UART regions. They are filled at run time because they hold their
//! own addresses, which only the linker knows.

use core::sync::atomic::{AtomicU64, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ReadWriteable, Writeable, HCR_EL2, VTCR_EL2, VTTBR_EL2};
use tock_registers::fields::FieldValue;
use tock_registers::register_bitfields;

use gic_driver::regs::gicc;

use crate::board;
use crate::dtb::Region;

/// The VMID tagging the guest's TLB entries (VTTBR_EL2.VMID).
pub const VMID: u64 = 1;

// The guest sees QEMU virt's memory map: each IPA below is the board's
// address of the device the guest believes is there.
/// Where the guest finds its GIC CPU interface: the board's GICC address.
const GUEST_GICC: u64 = board::GICC_BASE as u64;
/// The physical virtual CPU interface (GICV) that backs it.
const GICV: u64 = board::GICV_BASE as u64;
/// The guest's GICD page, the board's GICD address: deliberately left unmapped.
const GUEST_GICD: u64 = board::GICD_BASE as u64;
/// The PL011 UART, mapped at its own address.
const UART: u64 = board::UART_BASE as u64;
/// The end of the 32-bit IPA space (VTCR_EL2.T0SZ = 32).
const IPA_END: u64 = 1 << 32;

/// log2 of the translation granule, 4 KiB.
const PAGE_SHIFT: u32 = 12;
/// The translation granule: bytes one level-3 entry covers.
const PAGE: u64 = 1 << PAGE_SHIFT;
/// Bytes one entry covers at levels 1 and 2 (4 KiB granule).
const L1_SPAN: u64 = 1 << 30;
const L2_SPAN: u64 = 2 << 20;

register_bitfields! {u64,
    /// A VMSAv8-64 stage-2 descriptor with a 4 KiB granule: a block (levels
    /// 1-2), a page (level 3), or a table (levels 0-2), which uses only VALID,
    /// TYPE and OUTPUT_ADDR (Arm ARM D8.3; no FEAT_S2FWB, no FEAT_LPA).
    DESCRIPTOR [
        /// XN[1:0], execute-never.
        XN OFFSET(53) NUMBITS(2) [
            Executable = 0b00,
            NeverExecutable = 0b10,
        ],
        /// Bits 47:12 of the output address: the block, the page, or the
        /// next-level table.
        OUTPUT_ADDR OFFSET(12) NUMBITS(36) [],
        /// AF, the access flag: set, so that the first access does not
        /// fault (no hardware access-flag management, VTCR_EL2.HA = 0).
        AF OFFSET(10) NUMBITS(1) [],
        /// SH, shareability (of Normal memory).
        SH OFFSET(8) NUMBITS(2) [
            NonShareable = 0b00,
            OuterShareable = 0b10,
            InnerShareable = 0b11,
        ],
        /// S2AP, the guest's access permission.
        S2AP OFFSET(6) NUMBITS(2) [
            ReadWrite = 0b11,
        ],
        /// MemAttr[3:0], the memory type.
        MEMATTR OFFSET(2) NUMBITS(4) [
            DeviceNGnRE = 0b0001,
            NormalWriteBack = 0b1111,
        ],
        /// Block (levels 1-2), or table (levels 0-2) or page (level 3).
        TYPE OFFSET(1) NUMBITS(1) [
            Block = 0,
            TableOrPage = 1,
        ],
        /// The descriptor is valid; when clear, any access faults to EL2.
        VALID OFFSET(0) NUMBITS(1) [],
    ]
}

/// A descriptor, built from [`DESCRIPTOR`] fields.
type Descriptor = FieldValue<u64, DESCRIPTOR::Register>;

/// The attributes of guest RAM: Normal, outer and inner write-back
/// cacheable, inner shareable, read/write, executable.
fn normal_memory() -> Descriptor {
    DESCRIPTOR::MEMATTR::NormalWriteBack
        + DESCRIPTOR::SH::InnerShareable
        + DESCRIPTOR::S2AP::ReadWrite
        + DESCRIPTOR::AF::SET
}

/// The attributes of a device page: Device-nGnRE, read/write, never
/// executable.
fn device_memory() -> Descriptor {
    DESCRIPTOR::MEMATTR::DeviceNGnRE
        + DESCRIPTOR::S2AP::ReadWrite
        + DESCRIPTOR::AF::SET
        + DESCRIPTOR::XN::NeverExecutable
}

/// A block descriptor mapping to `pa` with `attributes`.
fn block(pa: u64, attributes: Descriptor) -> Descriptor {
    DESCRIPTOR::VALID::SET
        + DESCRIPTOR::TYPE::Block
        + DESCRIPTOR::OUTPUT_ADDR.val(pa >> PAGE_SHIFT)
        + attributes
}

/// A page descriptor (level 3) mapping to `pa` with `attributes`.
fn page(pa: u64, attributes: Descriptor) -> Descriptor {
    DESCRIPTOR::VALID::SET
        + DESCRIPTOR::TYPE::TableOrPage
        + DESCRIPTOR::OUTPUT_ADDR.val(pa >> PAGE_SHIFT)
        + attributes
}

/// One translation table: 512 eight-byte descriptors in a 4 KiB page.
///
/// The entries are atomics only so that a `static` can be written without
/// `unsafe`; they are written with plain stores before stage 2 is enabled.
#[repr(C, align(4096))]
struct Table([AtomicU64; 512]);

impl Table {
    const fn new() -> Self {
        Table([const { AtomicU64::new(0) }; 512])
    }

    /// The table's physical address (the MMU is off at EL2, so its address).
    fn addr(&self) -> u64 {
        self as *const Table as u64
    }

    fn set(&self, index: usize, descriptor: Descriptor) {
        self.0[index].store(descriptor.value, Ordering::Relaxed);
    }

    /// Points entry `index` at the next-level table `next`.
    fn link(&self, index: usize, next: &Table) {
        let table = DESCRIPTOR::VALID::SET
            + DESCRIPTOR::TYPE::TableOrPage
            + DESCRIPTOR::OUTPUT_ADDR.val(next.addr() >> PAGE_SHIFT);
        self.set(index, table);
    }
}

static LEVEL1: Table = Table::new();
/// IPAs 0 to 1 GiB, in 2 MiB entries.
static LEVEL2_LOW: Table = Table::new();
/// IPAs 1 GiB to 4 GiB (RAM), in 2 MiB blocks, one table per GiB.
static LEVEL2_RAM: [Table; 3] = [const { Table::new() }; 3];
/// IPAs 0x0800_0000 to 0x081F_FFFF (the GIC), in 4 KiB pages.
static LEVEL3_GIC: Table = Table::new();
/// IPAs 0x0900_0000 to 0x091F_FFFF (the UART), in 4 KiB pages.
static LEVEL3_UART: Table = Table::new();

/// Index of `ipa` in a table whose entries each span `span` bytes.
const fn index(ipa: u64, span: u64) -> usize {
    ((ipa / span) % 512) as usize
}

/// The values written to the stage-2 control registers, and the RAM mapped.
pub struct Stage2 {
    /// VTCR_EL2 as written.
    pub vtcr: u64,
    /// VTTBR_EL2 as written.
    pub vttbr: u64,
    /// The guest RAM mapped: `ram` rounded in to 2 MiB blocks, cut at the
    /// end of the IPA space.
    pub ram: Region,
}

/// Builds the tables with `ram` as guest RAM (identity-mapped in 2 MiB
/// blocks), points VTTBR_EL2 at them, invalidates stale TLB entries and
/// turns stage 2 on (HCR_EL2.VM). Call once, with no guest running.
pub fn enable(ram: Region) -> Stage2 {
    let first = ram.base.div_ceil(L2_SPAN) * L2_SPAN;
    let last = (ram.end().min(IPA_END) / L2_SPAN * L2_SPAN).max(first);
    for (gib, table) in (1..).zip(&LEVEL2_RAM) {
        let span = gib * L1_SPAN..(gib + 1) * L1_SPAN;
        let mut used = false;
        for pa in (first..last).step_by(L2_SPAN as usize) {
            if span.contains(&pa) {
                table.set(index(pa, L2_SPAN), block(pa, normal_memory()));
                used = true;
            }
        }
        if used {
            LEVEL1.link(index(span.start, L1_SPAN), table);
        }
    }
    // The first GiB holds the devices: down to level 2, then level 3.
    LEVEL1.link(index(0, L1_SPAN), &LEVEL2_LOW);
    LEVEL2_LOW.link(index(GUEST_GICD, L2_SPAN), &LEVEL3_GIC);
    LEVEL2_LOW.link(index(UART, L2_SPAN), &LEVEL3_UART);
    // The guest's GICC frame (two pages: GICC_DIR is at +0x1000) is the
    // GICV frame; its GICD page stays invalid, so any access faults to EL2.
    for n in 0..gicc::offset::FRAME_SIZE as u64 / PAGE {
        LEVEL3_GIC.set(
            index(GUEST_GICC + n * PAGE, PAGE),
            page(GICV + n * PAGE, device_memory()),
        );
    }
    LEVEL3_UART.set(index(UART, PAGE), page(UART, device_memory()));
    // The table walker must observe the descriptors before it can use them.
    barrier::dsb(barrier::ISHST);

    // VTCR_EL2: a 32-bit IPA space (T0SZ = 64 - 32) walked from level 1
    // with a 4 KiB granule, 32-bit output addresses (PS). EL2 writes the
    // tables with its MMU off, that is non-cacheable, so the walks are
    // non-cacheable too (IRGN0/ORGN0); such memory is outer shareable.
    let vtcr = VTCR_EL2::RES1::SET
        + VTCR_EL2::PS::PA_32B_4GB
        + VTCR_EL2::TG0::Granule4KB
        + VTCR_EL2::SH0::Outer
        + VTCR_EL2::ORGN0::NormalNC
        + VTCR_EL2::IRGN0::NormalNC
        + VTCR_EL2::SL0::Granule4KBLevel1
        + VTCR_EL2::T0SZ.val(64 - 32);
    VTCR_EL2.write(vtcr);
    // VTTBR_EL2: the level-1 table and the guest's VMID.
    let vttbr = VTTBR_EL2::VMID.val(VMID) + VTTBR_EL2::BADDR.val(LEVEL1.addr() >> 1);
    VTTBR_EL2.write(vttbr);
    barrier::isb(barrier::SY);

    // Nothing may be cached for this VMID from before: invalidate its
    // stage 1 and stage 2 entries (TLBI VMALLS12E1IS uses the VMID now in
    // VTTBR_EL2), wait for completion, then synchronise the context.
    // SAFETY: TLB invalidation only drops cached translations; it changes
    // no memory and no register the compiler knows about.
    unsafe { core::arch::asm!("tlbi vmalls12e1is", options(nostack, preserves_flags)) };
    barrier::dsb(barrier::ISH);
    barrier::isb(barrier::SY);

    // HCR_EL2.VM: stage 2 applies to EL1/EL0 from now on.
    HCR_EL2.modify(HCR_EL2::VM::Enable);
    barrier::isb(barrier::SY);

    Stage2 {
        vtcr: vtcr.value,
        vttbr: vttbr.value,
        ram: Region {
            base: first,
            size: last - first,
        },
    }
}
