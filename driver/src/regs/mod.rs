//! Register definitions for the four GICv2 frames, declared once.
//!
//! Each frame module declares its registers once, in offset order, each
//! with its offset, fields and access kind: as typed constants
//! ([`Register`], [`RegisterArray`], [`ByteArray`]; `gicc::IAR` is a
//! read-only [`Register`]) and as plain offsets (module `offset`), with a
//! compile-time check that the offsets are in order, do not overlap and
//! stay within the frame (as tock-registers' `register_structs!` checks a
//! memory-mapped block). The fields come from tock-registers'
//! `register_bitfields!`. The driver reaches registers only through the
//! typed constants' handles ([`Reg`], [`ByteReg`]) over a [`RegisterBus`],
//! so it cannot write a read-only register or read a write-only one; the
//! model decodes incoming accesses with the same offsets and fields. No bit
//! position is written down anywhere else.
//!
//! | module | frame | IHI 0048B |
//! |---|---|---|
//! | [`gicd`] | Distributor | 4.3 |
//! | [`gicc`] | CPU interface, and the virtual CPU interface GICV (same layout) | 4.4, 5.4 |
//! | [`gich`] | Virtual interface control | 5.3 |

#[macro_use]
mod frame;
pub mod access;
pub mod gicc;
pub mod gicd;
pub mod gich;

use core::marker::PhantomData;

use tock_registers::fields::Field;
pub use tock_registers::interfaces::{ReadWriteable, Readable, Writeable};
use tock_registers::RegisterLongName;

use crate::bus::RegisterBus;
use access::{CanRead, CanWrite};

/// One 32-bit register of a frame: its offset, its fields `R` (`()` for a
/// register without named fields) and its access kind `A`
/// ([`access::ReadOnly`], [`access::WriteOnly`] or [`access::ReadWrite`]).
/// Each frame module declares its registers once, as constants of these
/// types (`gicc::IAR`, `gich::MISR`, ...).
pub struct Register<R: RegisterLongName, A> {
    offset: usize,
    _kind: PhantomData<fn() -> (R, A)>,
}

impl<R: RegisterLongName, A> Clone for Register<R, A> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R: RegisterLongName, A> Copy for Register<R, A> {}

impl<R: RegisterLongName, A> Register<R, A> {
    pub(crate) const fn at(offset: usize) -> Self {
        Register {
            offset,
            _kind: PhantomData,
        }
    }

    /// The register's byte offset in its frame.
    pub const fn offset(self) -> usize {
        self.offset
    }

    /// Bytes the register takes in its frame (4).
    pub const fn bytes(self) -> usize {
        4
    }

    /// A handle for this register in the frame behind `bus`. The handle
    /// implements [`Readable`] only for a readable register and
    /// [`Writeable`] only for a writable one, so a write to a read-only
    /// register, or a read of a write-only one, does not compile:
    ///
    /// ```
    /// use gic_driver::bus::RegisterBus;
    /// use gic_driver::regs::{gicc, Readable, Writeable};
    ///
    /// fn acknowledge_and_end<B: RegisterBus>(gicc_frame: &B) {
    ///     let iar = gicc::IAR.on(gicc_frame).get(); // GICC_IAR: read-only
    ///     gicc::EOIR.on(gicc_frame).set(iar); // GICC_EOIR: write-only
    /// }
    /// ```
    ///
    /// ```compile_fail
    /// use gic_driver::bus::RegisterBus;
    /// use gic_driver::regs::{gicc, Readable, Writeable};
    ///
    /// fn write_iar<B: RegisterBus>(gicc_frame: &B) {
    ///     gicc::IAR.on(gicc_frame).set(0); // GICC_IAR is read-only
    /// }
    /// ```
    ///
    /// ```compile_fail
    /// use gic_driver::bus::RegisterBus;
    /// use gic_driver::regs::{gicc, Readable, Writeable};
    ///
    /// fn read_eoir<B: RegisterBus>(gicc_frame: &B) -> u32 {
    ///     gicc::EOIR.on(gicc_frame).get() // GICC_EOIR is write-only
    /// }
    /// ```
    #[inline(always)]
    pub fn on<B: RegisterBus + ?Sized>(self, bus: &B) -> Reg<'_, B, R, A> {
        Reg {
            bus,
            offset: self.offset,
            _kind: PhantomData,
        }
    }
}

/// `N` consecutive 32-bit registers of a frame with the same fields and
/// access kind (GICD_ISENABLERn, GICH_LRn, GICC_APRn, ...).
pub struct RegisterArray<R: RegisterLongName, A, const N: usize> {
    offset: usize,
    _kind: PhantomData<fn() -> (R, A)>,
}

impl<R: RegisterLongName, A, const N: usize> Clone for RegisterArray<R, A, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<R: RegisterLongName, A, const N: usize> Copy for RegisterArray<R, A, N> {}

impl<R: RegisterLongName, A, const N: usize> RegisterArray<R, A, N> {
    /// Registers in the array.
    pub const LEN: usize = N;

    pub(crate) const fn at(offset: usize) -> Self {
        RegisterArray {
            offset,
            _kind: PhantomData,
        }
    }

    /// The first register's byte offset in its frame.
    pub const fn offset(self) -> usize {
        self.offset
    }

    /// Bytes the array takes in its frame (4 per register).
    pub const fn bytes(self) -> usize {
        4 * N
    }

    /// Register `n` of the array (`n` below [`LEN`](Self::LEN); the
    /// driver's callers check their indices first).
    #[inline(always)]
    pub const fn nth(self, n: usize) -> Register<R, A> {
        debug_assert!(n < N);
        Register::at(self.offset + 4 * n)
    }

    /// For a one-bit-per-interrupt array (GICD_ISENABLERn, GICD_IGROUPRn,
    /// ...): the register holding bit `bit`, and that bit in it.
    #[inline(always)]
    pub const fn bit(self, bit: u32) -> (Register<R, A>, u32) {
        (self.nth(bit as usize / 32), 1 << (bit % 32))
    }
}

/// `N` byte-wide registers of a frame, accessed a byte at a time
/// (GICD_IPRIORITYRn, GICD_ITARGETSRn, GICD_CPENDSGIRn, GICD_SPENDSGIRn).
pub struct ByteArray<A, const N: usize> {
    offset: usize,
    _kind: PhantomData<fn() -> A>,
}

impl<A, const N: usize> Clone for ByteArray<A, N> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<A, const N: usize> Copy for ByteArray<A, N> {}

impl<A, const N: usize> ByteArray<A, N> {
    pub(crate) const fn at(offset: usize) -> Self {
        ByteArray {
            offset,
            _kind: PhantomData,
        }
    }

    /// The first byte's offset in its frame.
    pub const fn offset(self) -> usize {
        self.offset
    }

    /// Bytes the array takes in its frame.
    pub const fn bytes(self) -> usize {
        N
    }

    /// A handle for byte `n` of the array (`n` below `N`) in the frame
    /// behind `bus`.
    #[inline(always)]
    pub fn on<B: RegisterBus + ?Sized>(self, bus: &B, n: usize) -> ByteReg<'_, B, A> {
        debug_assert!(n < N);
        ByteReg {
            bus,
            offset: self.offset + n,
            _kind: PhantomData,
        }
    }
}

/// A 32-bit register reached through a bus: what [`Register::on`] returns.
///
/// Implements tock-registers' [`Readable`] when the register's access kind
/// allows reads and [`Writeable`] when it allows writes (and so
/// [`ReadWriteable`]'s `modify` for a read-write one), so driver code reads
/// `reg.modify(CTLR::EnableGrp1::SET)` on any bus: MMIO on hardware, the
/// model in host tests.
pub struct Reg<'a, B: ?Sized, R: RegisterLongName, A> {
    bus: &'a B,
    offset: usize,
    _kind: PhantomData<fn() -> (R, A)>,
}

impl<B: RegisterBus + ?Sized, R: RegisterLongName, A: CanRead> Readable for Reg<'_, B, R, A> {
    type T = u32;
    type R = R;

    #[inline(always)]
    fn get(&self) -> u32 {
        self.bus.read32(self.offset)
    }
}

impl<B: RegisterBus + ?Sized, R: RegisterLongName, A: CanWrite> Writeable for Reg<'_, B, R, A> {
    type T = u32;
    type R = R;

    #[inline(always)]
    fn set(&self, value: u32) {
        self.bus.write32(self.offset, value)
    }
}

/// One byte of a [`ByteArray`] reached through a bus.
pub struct ByteReg<'a, B: ?Sized, A> {
    bus: &'a B,
    offset: usize,
    _kind: PhantomData<fn() -> A>,
}

impl<B: RegisterBus + ?Sized, A: CanRead> ByteReg<'_, B, A> {
    /// Reads the byte.
    #[inline(always)]
    pub fn get(&self) -> u8 {
        self.bus.read8(self.offset)
    }
}

impl<B: RegisterBus + ?Sized, A: CanWrite> ByteReg<'_, B, A> {
    /// Writes the byte.
    #[inline(always)]
    pub fn set(&self, value: u8) {
        self.bus.write8(self.offset, value)
    }
}

/// Whether a frame's registers, as (offset, bytes) in declaration order,
/// are in offset order, do not overlap and end within the frame. Every
/// frame module asserts it of its register table at compile time.
pub(crate) const fn in_order(layout: &[(usize, usize)], frame_size: usize) -> bool {
    let mut end = 0;
    let mut i = 0;
    while i < layout.len() {
        let (start, bytes) = layout[i];
        if start < end {
            return false;
        }
        end = start + bytes;
        i += 1;
    }
    end <= frame_size
}

/// Offset of the 32-bit word holding bit `n` of a one-bit-per-interrupt
/// register array starting at `base` (ISENABLER, IGROUPR, ...), and the bit.
#[inline(always)]
pub const fn bit_per_irq(base: usize, n: u32) -> (usize, u32) {
    (base + (n as usize / 32) * 4, 1 << (n % 32))
}

/// The bits a register field covers, in place: its mask shifted to its
/// position (`field_mask(&gich::LR::State)` is `0x3000_0000`).
#[inline(always)]
pub const fn field_mask<R: RegisterLongName>(field: &Field<u32, R>) -> u32 {
    field.mask << field.shift
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_register_table_is_in_order_only_without_overlaps_and_within_its_frame() {
        assert!(in_order(&[(0, 4), (4, 8), (0x20, 4)], 0x24));
        assert!(!in_order(&[(0, 4), (2, 4)], 0x10), "overlap");
        assert!(!in_order(&[(8, 4), (4, 4)], 0x10), "out of order");
        assert!(!in_order(&[(0, 4), (0x10, 4)], 0x10), "beyond the frame");
    }

    #[test]
    fn defined_bit_masks_match_the_manual() {
        assert_eq!(field_mask(&gich::LR::State), 0x3000_0000);
        assert_eq!(gich::HCR_DEFINED, 0xF800_00FF);
        assert_eq!(gich::LR_DEFINED, 0xFF8F_FFFF);
        assert_eq!(gich::VMCR_DEFINED, 0xF8FC_021F);
    }

    #[test]
    fn icfgr_edge_names_bit_2i_plus_1_of_word_n_over_16() {
        assert_eq!(gicd::icfgr_edge(0), (gicd::offset::ICFGR, 0b10));
        assert_eq!(gicd::icfgr_edge(31), (gicd::offset::ICFGR + 4, 1 << 31));
        assert_eq!(gicd::icfgr_edge(40), (gicd::offset::ICFGR + 8, 1 << 17));
    }

    #[test]
    fn gic400_identification_values() {
        assert_eq!(gicd::IIDR_GIC400, 0x0200_143B);
        assert_eq!(gicc::IIDR_GIC400, 0x0202_143B);
        assert_eq!(gicd::ID_REGS_GIC400[6], 0x2B);
    }

    #[test]
    fn lr_state_decodes_every_state_value() {
        use gich::LR::State::Value as S;
        let states = [S::Invalid, S::Pending, S::Active, S::PendingActive];
        for (n, s) in states.into_iter().enumerate() {
            assert_eq!(gich::lr_state((n as u32) << 28 | 0x8F_FFFF), s);
        }
    }
}
