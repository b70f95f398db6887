//! Register definitions for the four GICv2 frames, declared once.
//!
//! Each frame module holds the register offsets (module `offset`) and the
//! register fields (tock-registers `register_bitfields!`). The driver reaches
//! registers through [`Reg`] handles over a [`RegisterBus`];
//! the model decodes incoming accesses with the same offsets and fields. No
//! bit position is written down anywhere else.
//!
//! | module | frame | IHI 0048B |
//! |---|---|---|
//! | [`gicd`] | Distributor | 4.3 |
//! | [`gicc`] | CPU interface, and the virtual CPU interface GICV (same layout) | 4.4, 5.4 |
//! | [`gich`] | Virtual interface control | 5.3 |

pub mod gicc;
pub mod gicd;
pub mod gich;

use core::marker::PhantomData;

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::RegisterLongName;

use crate::bus::RegisterBus;

/// A 32-bit register at a fixed offset of a frame, reached through a bus.
///
/// Implements tock-registers' [`Readable`] and [`Writeable`], so driver code
/// reads `reg.modify(CTLR::EnableGrp1::SET)` on any bus: MMIO on hardware,
/// the model in host tests.
pub struct Reg<'a, B: ?Sized, R: RegisterLongName> {
    bus: &'a B,
    offset: usize,
    _fields: PhantomData<R>,
}

impl<'a, B: RegisterBus + ?Sized, R: RegisterLongName> Reg<'a, B, R> {
    /// A handle for the register at `offset` bytes into the frame behind `bus`.
    #[inline(always)]
    pub fn new(bus: &'a B, offset: usize) -> Self {
        Self {
            bus,
            offset,
            _fields: PhantomData,
        }
    }
}

impl<B: RegisterBus + ?Sized, R: RegisterLongName> Readable for Reg<'_, B, R> {
    type T = u32;
    type R = R;

    #[inline(always)]
    fn get(&self) -> u32 {
        self.bus.read32(self.offset)
    }
}

impl<B: RegisterBus + ?Sized, R: RegisterLongName> Writeable for Reg<'_, B, R> {
    type T = u32;
    type R = R;

    #[inline(always)]
    fn set(&self, value: u32) {
        self.bus.write32(self.offset, value)
    }
}

/// Offset of the 32-bit word holding bit `n` of a one-bit-per-interrupt
/// register array starting at `base` (ISENABLER, IGROUPR, ...), and the bit.
#[inline(always)]
pub const fn bit_per_irq(base: usize, n: u32) -> (usize, u32) {
    (base + (n as usize / 32) * 4, 1 << (n % 32))
}
