//! PSCI 1.0 for the guest (Arm DEN 0022, the Power State Coordination
//! Interface), called with `hvc #0` (the conduit the guest's device tree
//! names) or `smc #0` (trapped to EL2 by HCR_EL2.TSC; same handler).
//!
//! The function ID is in w0 (SMC Calling Convention, DEN 0028: bit 31 fast
//! call, bit 30 the 64-bit convention, bits 29:24 the owning service, 4
//! for standard secure services such as PSCI), arguments in x1-x3, the
//! result in x0. The guest has one vCPU, always on:
//!
//! | function | result |
//! |---|---|
//! | PSCI_VERSION | 1.0 |
//! | PSCI_FEATURES(f) | 0 for each function below, NOT_SUPPORTED for others |
//! | MIGRATE_INFO_TYPE | 2: no Trusted OS that needs migrating |
//! | CPU_ON(target, ...) | ALREADY_ON for the vCPU's own MPIDR, INVALID_PARAMETERS for any other |
//! | AFFINITY_INFO(target, level) | ON for the vCPU's affinity at that level, INVALID_PARAMETERS for others |
//! | CPU_OFF | the vCPU stops; nothing can turn it on again, so the run ends |
//! | SYSTEM_OFF | the run ends with status 0 |
//! | SYSTEM_RESET | the run ends with status 6 |
//! | anything else (SMCCC_VERSION too) | NOT_SUPPORTED (-1) |

/// A PSCI function ID (w0).
pub mod function {
    /// PSCI_VERSION.
    pub const VERSION: u32 = 0x8400_0000;
    /// CPU_OFF.
    pub const CPU_OFF: u32 = 0x8400_0002;
    /// CPU_ON, SMC32 convention.
    pub const CPU_ON_32: u32 = 0x8400_0003;
    /// CPU_ON, SMC64 convention.
    pub const CPU_ON_64: u32 = 0xC400_0003;
    /// AFFINITY_INFO, SMC32 convention.
    pub const AFFINITY_INFO_32: u32 = 0x8400_0004;
    /// AFFINITY_INFO, SMC64 convention.
    pub const AFFINITY_INFO_64: u32 = 0xC400_0004;
    /// MIGRATE_INFO_TYPE.
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    /// SYSTEM_OFF.
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    /// SYSTEM_RESET.
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    /// PSCI_FEATURES.
    pub const FEATURES: u32 = 0x8400_000A;
}

/// PSCI return codes.
mod ret {
    pub const SUCCESS: i64 = 0;
    pub const NOT_SUPPORTED: i64 = -1;
    pub const INVALID_PARAMETERS: i64 = -2;
    pub const ALREADY_ON: i64 = -4;
    /// AFFINITY_INFO: the affinity instance is on.
    pub const ON: i64 = 0;
}

/// PSCI_VERSION's answer: major 1 (bits 31:16), minor 0.
const VERSION_1_0: i64 = 1 << 16;
/// MIGRATE_INFO_TYPE's answer: a Trusted OS is not present or does not
/// require migration.
const MIGRATE_NOT_REQUIRED: i64 = 2;

/// The functions implemented (what PSCI_FEATURES says 0 for).
const IMPLEMENTED: [u32; 10] = [
    function::VERSION,
    function::CPU_OFF,
    function::CPU_ON_32,
    function::CPU_ON_64,
    function::AFFINITY_INFO_32,
    function::AFFINITY_INFO_64,
    function::MIGRATE_INFO_TYPE,
    function::SYSTEM_OFF,
    function::SYSTEM_RESET,
    function::FEATURES,
];

/// MPIDR_EL1's affinity fields: Aff3 (39:32), Aff2, Aff1, Aff0 (23:0).
const AFFINITY_MASK: u64 = 0xFF_00FF_FFFF;

/// What a call asks of the hypervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Resume the guest with this in x0.
    Return(u64),
    /// CPU_OFF: the only vCPU is off.
    CpuOff,
    /// SYSTEM_OFF.
    SystemOff,
    /// SYSTEM_RESET.
    SystemReset,
}

/// Whether `function` (w0 of an HVC or SMC) is a PSCI call: a fast call
/// owned by the standard secure service (owner 4), functions 0x00-0x1F.
pub fn is_psci(function: u32) -> bool {
    function & 0xBFFF_FFE0 == 0x8400_0000
}

/// Serves PSCI call `function` with arguments `args` (x1-x3) for the
/// vCPU whose MPIDR affinity is `vcpu_mpidr`.
pub fn call(function: u32, args: [u64; 3], vcpu_mpidr: u64) -> Outcome {
    let smc64 = function & (1 << 30) != 0;
    // An SMC32 call's arguments are the low 32 bits of their registers.
    let arg = |n: usize| {
        let v = args.get(n).copied().unwrap_or(0);
        if smc64 {
            v
        } else {
            v & 0xFFFF_FFFF
        }
    };
    let value = match function {
        function::VERSION => VERSION_1_0,
        function::FEATURES => {
            if IMPLEMENTED.contains(&(arg(0) as u32)) {
                ret::SUCCESS
            } else {
                ret::NOT_SUPPORTED
            }
        }
        function::MIGRATE_INFO_TYPE => MIGRATE_NOT_REQUIRED,
        function::CPU_ON_32 | function::CPU_ON_64 => {
            if arg(0) & AFFINITY_MASK == vcpu_mpidr & AFFINITY_MASK {
                ret::ALREADY_ON
            } else {
                ret::INVALID_PARAMETERS
            }
        }
        function::AFFINITY_INFO_32 | function::AFFINITY_INFO_64 => {
            affinity_info(arg(0), arg(1), vcpu_mpidr)
        }
        function::CPU_OFF => return Outcome::CpuOff,
        function::SYSTEM_OFF => return Outcome::SystemOff,
        function::SYSTEM_RESET => return Outcome::SystemReset,
        _ => ret::NOT_SUPPORTED,
    };
    Outcome::Return(value as u64)
}

/// AFFINITY_INFO: ON when `target`'s affinity fields from `level` up
/// (those below are ignored) name the vCPU's group.
fn affinity_info(target: u64, level: u64, vcpu_mpidr: u64) -> i64 {
    // Aff0 is bits 7:0, Aff1 15:8, Aff2 23:16, Aff3 39:32.
    let ignored: u64 = match level {
        0 => 0,
        1 => 0xFF,
        2 => 0xFFFF,
        3 => 0xFF_FFFF,
        _ => return ret::INVALID_PARAMETERS,
    };
    let mask = AFFINITY_MASK & !ignored;
    if target & !AFFINITY_MASK != 0 || target & mask != vcpu_mpidr & mask {
        ret::INVALID_PARAMETERS
    } else {
        ret::ON
    }
}

/// The function's name, for the hypervisor's log.
pub fn name(function: u32) -> &'static str {
    match function {
        function::VERSION => "PSCI_VERSION",
        function::FEATURES => "PSCI_FEATURES",
        function::MIGRATE_INFO_TYPE => "MIGRATE_INFO_TYPE",
        function::CPU_ON_32 | function::CPU_ON_64 => "CPU_ON",
        function::AFFINITY_INFO_32 | function::AFFINITY_INFO_64 => "AFFINITY_INFO",
        function::CPU_OFF => "CPU_OFF",
        function::SYSTEM_OFF => "SYSTEM_OFF",
        function::SYSTEM_RESET => "SYSTEM_RESET",
        _ => "other",
    }
}
