//! Interrupt identifiers (IHI 0048B 2.2.1).

use core::fmt;

use crate::Error;

/// A GIC interrupt ID: SGI 0-15, PPI 16-31, SPI 32-1019, special 1020-1023.
///
/// Constructors check the range, so an `IntId` is always one of those.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct IntId(u32);

/// The class of an interrupt ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum IntIdKind {
    /// Software Generated Interrupt, 0-15.
    Sgi,
    /// Private Peripheral Interrupt, 16-31 (banked per CPU).
    Ppi,
    /// Shared Peripheral Interrupt, 32-1019.
    Spi,
    /// Special ID 1020-1023 (1022: Group 1 not acknowledgeable; 1023: spurious).
    Special,
}

impl IntId {
    /// Number of SGIs.
    pub const SGI_COUNT: u32 = 16;
    /// First PPI.
    pub const PPI_START: u32 = 16;
    /// First SPI.
    pub const SPI_START: u32 = 32;
    /// First special ID.
    pub const SPECIAL_START: u32 = 1020;
    /// 1022: returned by IAR for a Group 1 interrupt when AckCtl is clear.
    pub const GROUP1_NOT_ACKNOWLEDGED: IntId = IntId(1022);
    /// 1023: no pending interrupt could be acknowledged.
    pub const SPURIOUS: IntId = IntId(1023);

    /// Any ID 0-1023; fails with [`Error::InvalidIntId`] for any other u32.
    pub const fn new(id: u32) -> Result<Self, Error> {
        if id < 1024 {
            Ok(IntId(id))
        } else {
            Err(Error::InvalidIntId(id))
        }
    }

    /// SGI `n`, 0-15; fails with [`Error::NotAnSgi`] for any other u32.
    pub const fn sgi(n: u32) -> Result<Self, Error> {
        if n < Self::SGI_COUNT {
            Ok(IntId(n))
        } else {
            Err(Error::NotAnSgi(n))
        }
    }

    /// PPI `n`, 0-15 (INTID 16 + n). Fails with [`Error::NotAPpi`] naming
    /// INTID 16 + n (u32::MAX where that does not fit in a u32).
    pub const fn ppi(n: u32) -> Result<Self, Error> {
        if n < Self::SPI_START - Self::PPI_START {
            Ok(IntId(Self::PPI_START + n))
        } else {
            Err(Error::NotAPpi(n.saturating_add(Self::PPI_START)))
        }
    }

    /// SPI `n`, 0-987 (INTID 32 + n). Fails with [`Error::NotAnSpi`]
    /// naming INTID 32 + n (u32::MAX where that does not fit in a u32).
    pub const fn spi(n: u32) -> Result<Self, Error> {
        if n < Self::SPECIAL_START - Self::SPI_START {
            Ok(IntId(Self::SPI_START + n))
        } else {
            Err(Error::NotAnSpi(n.saturating_add(Self::SPI_START)))
        }
    }

    /// The raw ID.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// The class of this ID.
    pub const fn kind(self) -> IntIdKind {
        match self.0 {
            0..=15 => IntIdKind::Sgi,
            16..=31 => IntIdKind::Ppi,
            32..=1019 => IntIdKind::Spi,
            _ => IntIdKind::Special,
        }
    }

    /// SGI?
    pub const fn is_sgi(self) -> bool {
        self.0 < Self::PPI_START
    }
    /// PPI?
    pub const fn is_ppi(self) -> bool {
        self.0 >= Self::PPI_START && self.0 < Self::SPI_START
    }
    /// SGI or PPI: banked per CPU.
    pub const fn is_private(self) -> bool {
        self.0 < Self::SPI_START
    }
    /// SPI?
    pub const fn is_spi(self) -> bool {
        self.0 >= Self::SPI_START && self.0 < Self::SPECIAL_START
    }
    /// 1020-1023?
    pub const fn is_special(self) -> bool {
        self.0 >= Self::SPECIAL_START
    }
}

impl TryFrom<u32> for IntId {
    type Error = Error;
    fn try_from(id: u32) -> Result<Self, Error> {
        IntId::new(id)
    }
}

impl From<IntId> for u32 {
    fn from(id: IntId) -> u32 {
        id.0
    }
}

impl fmt::Debug for IntId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind() {
            IntIdKind::Sgi => write!(f, "SGI {}", self.0),
            IntIdKind::Ppi => write!(f, "PPI {} (INTID {})", self.0 - 16, self.0),
            IntIdKind::Spi => write!(f, "SPI {} (INTID {})", self.0 - 32, self.0),
            IntIdKind::Special => write!(f, "special {}", self.0),
        }
    }
}

impl fmt::Display for IntId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for IntId {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "INTID {}", self.0)
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use proptest::prelude::*;

    /// What each constructor must return for `n`, computed in u64 so no
    /// boundary can wrap: the ID, or its error naming the INTID asked for
    /// (u32::MAX where that is not representable).
    fn expected(n: u32) -> [Result<IntId, Error>; 5] {
        let intid = |base: u64| (base + n as u64).min(u32::MAX as u64) as u32;
        [
            if n < 1024 {
                Ok(IntId(n))
            } else {
                Err(Error::InvalidIntId(n))
            },
            if n < 16 {
                Ok(IntId(n))
            } else {
                Err(Error::NotAnSgi(n))
            },
            if n < 16 {
                Ok(IntId(16 + n))
            } else {
                Err(Error::NotAPpi(intid(16)))
            },
            if n < 988 {
                Ok(IntId(32 + n))
            } else {
                Err(Error::NotAnSpi(intid(32)))
            },
            if n < 1024 {
                Ok(IntId(n))
            } else {
                Err(Error::InvalidIntId(n))
            },
        ]
    }

    fn actual(n: u32) -> [Result<IntId, Error>; 5] {
        [
            IntId::new(n),
            IntId::sgi(n),
            IntId::ppi(n),
            IntId::spi(n),
            IntId::try_from(n),
        ]
    }

    #[test]
    fn every_constructor_refuses_every_out_of_range_u32_with_its_error() {
        let mut values = std::vec::Vec::new();
        for edge in [0u32, 15, 16, 31, 32, 987, 988, 1019, 1020, 1023, 1024] {
            values.extend([edge.wrapping_sub(1), edge, edge + 1]);
        }
        for k in 0..=40 {
            values.push(u32::MAX - k);
            values.push(i32::MAX as u32 - 16 + k);
        }
        for n in values {
            assert_eq!(actual(n), expected(n), "n = {n}");
        }
        assert_eq!(IntId::ppi(u32::MAX), Err(Error::NotAPpi(u32::MAX)));
        assert_eq!(IntId::spi(u32::MAX - 31), Err(Error::NotAnSpi(u32::MAX)));
        assert_eq!(IntId::ppi(16), Err(Error::NotAPpi(32)));
    }

    #[test]
    fn constructed_ids_are_of_the_class_their_constructor_names() {
        for n in 0..16 {
            assert_eq!(IntId::sgi(n).unwrap().kind(), IntIdKind::Sgi);
            assert_eq!(IntId::ppi(n).unwrap().kind(), IntIdKind::Ppi);
        }
        for n in 0..988 {
            assert_eq!(IntId::spi(n).unwrap().kind(), IntIdKind::Spi);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]
        #[test]
        fn every_constructor_agrees_with_its_range_for_any_u32(n in any::<u32>()) {
            prop_assert_eq!(actual(n), expected(n));
        }
    }
}
