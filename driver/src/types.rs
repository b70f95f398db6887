//! Small enumerations shared by the distributor and the virtual interface.

/// How an interrupt is triggered (GICD_ICFGR, IHI 0048B 4.3.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Trigger {
    /// Pending while the line is asserted.
    Level,
    /// Pending on a rising edge; stays pending until acknowledged.
    Edge,
}

/// The interrupt group (GICD_IGROUPR, IHI 0048B 4.3.4). Without the Security
/// Extensions both groups are available to the one security state; Group 0
/// may be signalled as FIQ (GICC_CTLR.FIQEn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Group {
    /// Group 0.
    Group0,
    /// Group 1.
    Group1,
}

/// Who receives an SGI (GICD_SGIR.TargetListFilter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SgiTarget {
    /// The CPUs in the mask.
    List(crate::CpuMask),
    /// Every CPU interface except the one sending.
    AllOthers,
    /// Only the CPU sending.
    SelfOnly,
}
