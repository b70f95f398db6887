//! Sets of CPU interfaces, as used by GICD_ITARGETSR and GICD_SGIR.

use crate::Error;

/// A set of CPU interfaces 0-7, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct CpuMask(u8);

impl CpuMask {
    /// No CPU.
    pub const EMPTY: CpuMask = CpuMask(0);

    /// The mask with the given bits (bit n = CPU interface n).
    pub const fn from_bits(bits: u8) -> Self {
        CpuMask(bits)
    }

    /// Only CPU interface `cpu` (0-7).
    pub const fn cpu(cpu: u8) -> Result<Self, Error> {
        if cpu < 8 {
            Ok(CpuMask(1 << cpu))
        } else {
            Err(Error::InvalidCpu(cpu))
        }
    }

    /// CPU interfaces 0 to `cpus - 1`.
    pub const fn first(cpus: u8) -> Self {
        if cpus >= 8 {
            CpuMask(0xFF)
        } else {
            CpuMask((1u8 << cpus) - 1)
        }
    }

    /// The raw bits.
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// Whether CPU interface `cpu` is in the set.
    pub const fn contains(self, cpu: u8) -> bool {
        cpu < 8 && self.0 & (1 << cpu) != 0
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Checks the mask is non-empty and names only CPUs below `cpus`.
    pub const fn check(self, cpus: u8) -> Result<Self, Error> {
        if self.0 == 0 || self.0 & !Self::first(cpus).0 != 0 {
            Err(Error::InvalidCpuMask { mask: self.0, cpus })
        } else {
            Ok(self)
        }
    }

    /// Iterates over the CPU numbers in the set, lowest first.
    pub fn iter(self) -> impl Iterator<Item = u8> {
        (0..8).filter(move |&c| self.contains(c))
    }
}
