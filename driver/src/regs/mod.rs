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

use tock_registers::fields::Field;
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
