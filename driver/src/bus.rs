//! The register bus: the one seam between the driver and a GIC frame.
//!
//! On hardware a frame is an [`Mmio`] bus (a base address and volatile
//! accesses, which inline to the bare load or store). In host tests the
//! model implements [`RegisterBus`] for each frame, so the same driver code
//! runs against an architectural GIC.

use core::cell::Cell;

/// Word and byte access to one GIC register frame, at byte offsets.
///
/// Offsets are relative to the frame's base. 32-bit accesses must be
/// 4-byte aligned. Byte accesses are architecturally allowed only for the
/// byte-per-interrupt registers (GICD_IPRIORITYR, GICD_ITARGETSR,
/// GICD_CPENDSGIR, GICD_SPENDSGIR); the driver uses them nowhere else.
pub trait RegisterBus {
    /// Read the 32-bit register at `offset`.
    fn read32(&self, offset: usize) -> u32;
    /// Write the 32-bit register at `offset`.
    fn write32(&self, offset: usize, value: u32);
    /// Read the byte at `offset`.
    fn read8(&self, offset: usize) -> u8;
    /// Write the byte at `offset`.
    fn write8(&self, offset: usize, value: u8);
}

impl<B: RegisterBus + ?Sized> RegisterBus for &B {
    #[inline(always)]
    fn read32(&self, offset: usize) -> u32 {
        (**self).read32(offset)
    }
    #[inline(always)]
    fn write32(&self, offset: usize, value: u32) {
        (**self).write32(offset, value)
    }
    #[inline(always)]
    fn read8(&self, offset: usize) -> u8 {
        (**self).read8(offset)
    }
    #[inline(always)]
    fn write8(&self, offset: usize, value: u8) {
        (**self).write8(offset, value)
    }
}

/// A memory-mapped GIC frame: volatile accesses at `base + offset`.
#[derive(Debug)]
pub struct Mmio {
    base: *mut u8,
}

// SAFETY: the frame is device memory shared by design; every access is a
// single volatile load or store, and the driver serializes read-modify-write
// sequences on shared registers with its own locks.
unsafe impl Send for Mmio {}
// SAFETY: as above; `&Mmio` only performs single volatile accesses.
unsafe impl Sync for Mmio {}

impl Mmio {
    /// A bus over the frame mapped at `base`.
    ///
    /// # Safety
    /// `base` must be the address of a GIC register frame (GICD, GICC, GICH
    /// or GICV) mapped as Device memory for the lifetime of the bus, and
    /// nothing else may use that memory as ordinary memory.
    pub const unsafe fn new(base: usize) -> Self {
        Self {
            base: base as *mut u8,
        }
    }

    /// The frame's base address.
    pub fn base(&self) -> usize {
        self.base as usize
    }
}

impl RegisterBus for Mmio {
    #[inline(always)]
    fn read32(&self, offset: usize) -> u32 {
        // SAFETY: `new`'s contract makes base + offset a register in a mapped
        // device frame; the access is aligned by the callers' offsets.
        unsafe { self.base.add(offset).cast::<u32>().read_volatile() }
    }
    #[inline(always)]
    fn write32(&self, offset: usize, value: u32) {
        // SAFETY: as in `read32`.
        unsafe { self.base.add(offset).cast::<u32>().write_volatile(value) }
    }
    #[inline(always)]
    fn read8(&self, offset: usize) -> u8 {
        // SAFETY: as in `read32`; byte accesses are used only on byte-accessible registers.
        unsafe { self.base.add(offset).read_volatile() }
    }
    #[inline(always)]
    fn write8(&self, offset: usize, value: u8) {
        // SAFETY: as in `read8`.
        unsafe { self.base.add(offset).write_volatile(value) }
    }
}

/// A bus wrapper that counts the accesses passing through it.
///
/// Used to measure register cost (world switch, injection) on any bus.
#[derive(Debug, Default)]
pub struct Counting<B> {
    inner: B,
    reads: Cell<u32>,
    writes: Cell<u32>,
}

impl<B> Counting<B> {
    /// Wrap `inner`, with both counters at zero.
    pub fn new(inner: B) -> Self {
        Self {
            inner,
            reads: Cell::new(0),
            writes: Cell::new(0),
        }
    }
    /// Reads (of either width) since creation or the last [`reset`](Self::reset).
    pub fn reads(&self) -> u32 {
        self.reads.get()
    }
    /// Writes (of either width) since creation or the last [`reset`](Self::reset).
    pub fn writes(&self) -> u32 {
        self.writes.get()
    }
    /// Reads plus writes.
    pub fn accesses(&self) -> u32 {
        self.reads() + self.writes()
    }
    /// Set both counters to zero.
    pub fn reset(&self) {
        self.reads.set(0);
        self.writes.set(0);
    }
    /// The wrapped bus.
    pub fn inner(&self) -> &B {
        &self.inner
    }
}

impl<B: RegisterBus> RegisterBus for Counting<B> {
    fn read32(&self, offset: usize) -> u32 {
        self.reads.set(self.reads.get() + 1);
        self.inner.read32(offset)
    }
    fn write32(&self, offset: usize, value: u32) {
        self.writes.set(self.writes.get() + 1);
        self.inner.write32(offset, value)
    }
    fn read8(&self, offset: usize) -> u8 {
        self.reads.set(self.reads.get() + 1);
        self.inner.read8(offset)
    }
    fn write8(&self, offset: usize, value: u8) {
        self.writes.set(self.writes.get() + 1);
        self.inner.write8(offset, value)
    }
}
