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

    /// Any ID 0-1023.
    pub const fn new(id: u32) -> Result<Self, Error> {
        if id < 1024 {
            Ok(IntId(id))
        } else {
            Err(Error::InvalidIntId(id))
        }
    }

    /// SGI `n`, 0-15.
    pub const fn sgi(n: u32) -> Result<Self, Error> {
        if n < Self::SGI_COUNT {
            Ok(IntId(n))
        } else {
            Err(Error::NotAnSgi(n))
        }
    }

    /// PPI `n`, 0-15 (INTID 16 + n).
    pub const fn ppi(n: u32) -> Result<Self, Error> {
        if n < 16 {
            Ok(IntId(Self::PPI_START + n))
        } else {
            Err(Error::InvalidIntId(Self::PPI_START + n))
        }
    }

    /// SPI `n`, 0-987 (INTID 32 + n).
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
