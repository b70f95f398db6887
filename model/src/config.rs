//! The shape of a modelled GIC: CPU interfaces, interrupt lines, priority
//! bits and the optional Virtualization Extensions.

use core::fmt;

use gic_driver::regs::gicd::TYPER;
use gic_driver::IntId;

use crate::VirtConfig;

/// Most CPU interfaces a GICv2 can have (IHI 0048B 1.3: up to eight).
pub const MAX_CPUS: usize = 8;
/// Most interrupt lines a GICv2 can describe in GICD_TYPER (32 * 32). INTIDs
/// 1020-1023 are special, so at most 1020 of them are real interrupts.
pub const MAX_LINES: u32 = (TYPER::ITLinesNumber.mask + 1) * 32;
/// First special INTID (IHI 0048B 2.2.1).
pub const SPECIAL_START: u32 = IntId::SPECIAL_START;

/// Configuration of a modelled GIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// CPU interfaces, 1-8 (GICD_TYPER.CPUNumber + 1).
    pub cpus: u8,
    /// Interrupt lines including SGIs and PPIs: 32-1024 in multiples of 32
    /// (GICD_TYPER.ITLinesNumber). 1024 implements INTIDs up to 1019.
    pub lines: u32,
    /// Implemented priority bits, 4-8: the top bits of each 8-bit priority
    /// (IHI 0048B 3.3: at least 16 levels).
    pub priority_bits: u8,
    /// The Virtualization Extensions (GICH, GICV), or `None`.
    pub virtualization: Option<VirtConfig>,
}

impl Default for Config {
    /// A plain GIC: one CPU interface, 64 lines, 8 priority bits, no
    /// Virtualization Extensions.
    fn default() -> Self {
        Config {
            cpus: 1,
            lines: 64,
            priority_bits: 8,
            virtualization: None,
        }
    }
}

impl Config {
    /// The GICv2 of QEMU's `virt` board (`gic-version=2,virtualization=on`):
    /// 288 lines (256 SPIs), all 8 priority bits in the distributor and
    /// [`VirtConfig::QEMU`] for the virtual interface.
    /// Enforced by `qemu_virt_preset_is_valid_and_matches_qemu`.
    pub const fn qemu_virt(cpus: u8) -> Config {
        Config {
            cpus,
            lines: 288,
            priority_bits: 8,
            virtualization: Some(VirtConfig::QEMU),
        }
    }

    /// The same configuration with `virtualization` instead.
    pub const fn with_virtualization(self, virtualization: Option<VirtConfig>) -> Config {
        Config {
            virtualization,
            ..self
        }
    }

    /// Checks every field is in its architectural range.
    /// Enforced by `out_of_range_fields_are_refused_with_the_field` and
    /// `any_config_is_accepted_or_refused_without_panic`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cpus == 0 || self.cpus as usize > MAX_CPUS {
            return Err(ConfigError::Cpus(self.cpus));
        }
        if self.lines < 32 || self.lines > MAX_LINES || !self.lines.is_multiple_of(32) {
            return Err(ConfigError::Lines(self.lines));
        }
        if !(4..=8).contains(&self.priority_bits) {
            return Err(ConfigError::PriorityBits(self.priority_bits));
        }
        if let Some(v) = self.virtualization {
            if v.list_registers == 0
                || v.list_registers as usize > gic_driver::regs::gich::MAX_LIST_REGISTERS
            {
                return Err(ConfigError::ListRegisters(v.list_registers));
            }
            if v.priority_bits != 5 {
                return Err(ConfigError::VirtualPriorityBits(v.priority_bits));
            }
            if v.preemption_bits != 5 {
                return Err(ConfigError::VirtualPreemptionBits(v.preemption_bits));
            }
        }
        Ok(())
    }

    /// Mask of the implemented bits of an 8-bit priority (0xF8 for 5 bits).
    pub const fn implemented_priority(&self) -> u8 {
        let bits = clamp_bits(self.priority_bits);
        (0xFF00u16 >> bits) as u8
    }

    /// Implemented preemption (group priority) bits: the priority bits, at
    /// most 7, since the smallest binary point, 0, leaves one subpriority bit
    /// (IHI 0048B 3.3.3).
    pub const fn preemption_bits(&self) -> u8 {
        let bits = clamp_bits(self.priority_bits);
        if bits > 7 {
            7
        } else {
            bits
        }
    }

    /// Smallest GICC_BPR value: 7 - preemption bits (IHI 0048B 3.3.3,
    /// table "minimum binary point"). GICC_ABPR's minimum is one more.
    /// Enforced by `minimum_binary_point_follows_priority_bits`.
    pub const fn min_binary_point(&self) -> u8 {
        7 - self.preemption_bits()
    }

    /// INTIDs below this are implemented interrupts: `lines`, capped at 1020.
    pub const fn implemented_intids(&self) -> u32 {
        if self.lines > SPECIAL_START {
            SPECIAL_START
        } else {
            self.lines
        }
    }
}

/// Keeps a priority-bit count in 4..=8 so derived masks never overflow.
const fn clamp_bits(bits: u8) -> u8 {
    if bits < 4 {
        4
    } else if bits > 8 {
        8
    } else {
        bits
    }
}

/// Why a [`Config`] was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// CPU interfaces outside 1-8.
    Cpus(u8),
    /// Lines outside 32-1024 or not a multiple of 32.
    Lines(u32),
    /// Priority bits outside 4-8.
    PriorityBits(u8),
    /// List registers outside 1-64.
    ListRegisters(u8),
    /// Virtual priority bits other than 5 (GICv2 list registers hold 5).
    VirtualPriorityBits(u8),
    /// Virtual preemption bits other than 5 (GICv2's GICH_APR holds 5).
    VirtualPreemptionBits(u8),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConfigError::Cpus(n) => write!(f, "{n} CPU interfaces (1-8 allowed)"),
            ConfigError::Lines(n) => {
                write!(
                    f,
                    "{n} interrupt lines (32-1024 in multiples of 32 allowed)"
                )
            }
            ConfigError::PriorityBits(n) => write!(f, "{n} priority bits (4-8 allowed)"),
            ConfigError::ListRegisters(n) => write!(f, "{n} list registers (1-64 allowed)"),
            ConfigError::VirtualPriorityBits(n) => {
                write!(f, "{n} virtual priority bits (GICv2 list registers hold 5)")
            }
            ConfigError::VirtualPreemptionBits(n) => {
                write!(f, "{n} virtual preemption bits (GICv2's GICH_APR holds 5)")
            }
        }
    }
}

impl core::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qemu_virt_preset_is_valid_and_matches_qemu() {
        let c = Config::qemu_virt(2);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.lines, 288);
        assert_eq!(c.implemented_priority(), 0xFF);
        assert_eq!(c.min_binary_point(), 0);
        assert_eq!(c.virtualization, Some(VirtConfig::QEMU));
    }

    #[test]
    fn out_of_range_fields_are_refused_with_the_field() {
        let ok = Config::default();
        assert_eq!(ok.validate(), Ok(()));
        let bad = |c: Config| c.validate().unwrap_err();
        assert_eq!(bad(Config { cpus: 0, ..ok }), ConfigError::Cpus(0));
        assert_eq!(bad(Config { cpus: 9, ..ok }), ConfigError::Cpus(9));
        assert_eq!(bad(Config { lines: 0, ..ok }), ConfigError::Lines(0));
        assert_eq!(bad(Config { lines: 48, ..ok }), ConfigError::Lines(48));
        assert_eq!(bad(Config { lines: 1056, ..ok }), ConfigError::Lines(1056));
        assert_eq!(
            bad(Config {
                priority_bits: 3,
                ..ok
            }),
            ConfigError::PriorityBits(3)
        );
        let v = |list_registers, priority_bits, preemption_bits| Config {
            virtualization: Some(VirtConfig {
                list_registers,
                priority_bits,
                preemption_bits,
                np_counts_pending_active: false,
            }),
            ..ok
        };
        assert_eq!(bad(v(0, 5, 5)), ConfigError::ListRegisters(0));
        assert_eq!(bad(v(65, 5, 5)), ConfigError::ListRegisters(65));
        assert_eq!(bad(v(4, 4, 4)), ConfigError::VirtualPriorityBits(4));
        assert_eq!(bad(v(4, 5, 6)), ConfigError::VirtualPreemptionBits(6));
        assert_eq!(bad(v(4, 8, 5)), ConfigError::VirtualPriorityBits(8));
        assert_eq!(bad(v(4, 5, 4)), ConfigError::VirtualPreemptionBits(4));
        assert_eq!(v(64, 5, 5).validate(), Ok(()));
    }

    #[test]
    fn minimum_binary_point_follows_priority_bits() {
        let mbp = |priority_bits| {
            Config {
                priority_bits,
                ..Config::default()
            }
            .min_binary_point()
        };
        assert_eq!([mbp(8), mbp(7), mbp(6), mbp(5), mbp(4)], [0, 0, 1, 2, 3]);
    }
}
