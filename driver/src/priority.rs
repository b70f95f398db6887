//! Interrupt priorities (IHI 0048B 3.3): lower values are more urgent.

/// An 8-bit GIC priority; 0 is the highest priority, 0xFF the lowest.
///
/// A GIC implements between 4 and 8 of the top bits (GICv2: at least 16
/// levels); the driver refuses a priority that uses bits the GIC does not
/// implement rather than let the hardware round it silently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(transparent)]
pub struct Priority(pub u8);

impl Priority {
    /// The highest priority, 0.
    pub const HIGHEST: Priority = Priority(0);
    /// The lowest priority, 0xFF (also the idle running priority).
    pub const LOWEST: Priority = Priority(0xFF);
    /// The priority Linux gives every interrupt by default, 0xA0.
    pub const DEFAULT: Priority = Priority(0xA0);

    /// The raw 8-bit value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// Group priority under binary point `bpr` (3.3.3): the bits above
    /// bit `bpr`, with the subpriority bits cleared.
    pub const fn group_priority(self, bpr: u8) -> Priority {
        let bpr = if bpr > 7 { 7 } else { bpr };
        Priority(self.0 & (0xFFu16 << (bpr + 1)) as u8)
    }
}

impl From<u8> for Priority {
    fn from(p: u8) -> Self {
        Priority(p)
    }
}
