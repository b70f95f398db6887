//! The physical CPUs: which there are (the cpu nodes of QEMU's device
//! tree), starting the secondaries with PSCI CPU_ON, and what each does
//! first.
//!
//! With `virtualization=on` and no firmware, QEMU's `virt` board emulates
//! PSCI on the SMC conduit and keeps every CPU but the boot CPU powered
//! off. The boot CPU calls CPU_ON (function 0xC400_0003: x1 the target's
//! MPIDR, x2 the entry point, x3 the context id, which arrives in x0) for
//! each other CPU with [`boot::secondary_entry`] and the CPU's number n;
//! the CPU takes stack n there and enters [`secondary_main`], which
//!
//! 1. turns its EL2 MMU and caches on ([`mmu::enable`]), before it reads
//!    anything the boot CPU wrote;
//! 2. installs its vector table and interrupt routing (VBAR_EL2, HCR_EL2:
//!    [`exceptions::install`]);
//! 3. initialises its banked part of the GIC: its SGIs and PPIs in GICD
//!    (`Distributor::init_cpu`), its GICC (split EOI, as the boot CPU's),
//!    the kick SGI enabled ([`board::KICK_SGI`]);
//! 4. says it is alive, then serves the VM's vCPU of its own number
//!    whenever there is one ([`vm::secondary_loop`](crate::vm::secondary_loop)).
//!
//! CPU n runs vCPU n, and the guest sees the same MPIDR: VMPIDR_EL2 is the
//! CPU's cpu-node `reg`.

use core::arch::asm;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use fdt::Fdt;
use gic_driver::{CpuInterfaceConfig, DistributorConfig, EoiMode};

use crate::board::MAX_CPUS;
use crate::{boot, dtb, exceptions, irq, mmu, timer, vm};

/// PSCI CPU_ON, SMC64 calling convention.
const PSCI_CPU_ON: u64 = 0xC400_0003;
/// MPIDR_EL1's affinity fields: Aff3 (39:32), Aff2, Aff1, Aff0 (23:0).
pub const AFFINITY_MASK: u64 = 0xFF_00FF_FFFF;
/// How long the boot CPU waits for a started CPU to say it is alive.
const START_TIMEOUT_US: u64 = 1_000_000;

/// The CPUs' MPIDR affinities, in the device tree's order (CPU n is the
/// n-th cpu node); written by the boot CPU before it starts any other.
static MPIDRS: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// How many CPUs the device tree names (at most [`MAX_CPUS`]).
static COUNT: AtomicUsize = AtomicUsize::new(1);
/// Set by each secondary CPU once it runs with its MMU on.
static ALIVE: [AtomicBool; MAX_CPUS] = [const { AtomicBool::new(false) }; MAX_CPUS];

/// Why a CPU could not be started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum StartError {
    /// PSCI CPU_ON returned this error.
    Psci(i64),
    /// It did not say it was alive in time.
    Silent,
}

/// Reads the CPUs from QEMU's device tree (the boot CPU, MPIDR 0, first).
/// Returns how many there are.
pub fn discover(tree: &Fdt) -> usize {
    let mpidrs = dtb::cpu_mpidrs(tree);
    let n = mpidrs.len().clamp(1, MAX_CPUS);
    for (slot, &mpidr) in MPIDRS.iter().zip(&mpidrs) {
        slot.store(mpidr & AFFINITY_MASK, Ordering::Relaxed);
    }
    COUNT.store(n, Ordering::Release);
    n
}

/// How many CPUs there are.
pub fn count() -> usize {
    COUNT.load(Ordering::Acquire)
}

/// CPU `n`'s MPIDR affinity (its cpu node's `reg`).
pub fn mpidr(n: usize) -> u64 {
    MPIDRS.get(n).map_or(0, |m| m.load(Ordering::Relaxed))
}

/// Starts every CPU but the boot CPU (PSCI CPU_ON through SMC) and waits
/// until each runs Rust with its MMU on. Returns how many run, and the
/// first failure.
pub fn start_secondaries() -> (usize, Option<(usize, StartError)>) {
    let mut running = 1;
    for n in 1..count() {
        match start(n) {
            Ok(()) => running += 1,
            Err(e) => return (running, Some((n, e))),
        }
    }
    (running, None)
}

fn start(n: usize) -> Result<(), StartError> {
    let status: i64;
    // SAFETY: a PSCI call through the SMC conduit QEMU emulates (no EL3
    // code runs); it starts CPU `n` at `secondary_entry` with x0 = n, and
    // changes no memory of this CPU. An SMCCC 1.0 callee may clobber
    // x1-x17.
    unsafe {
        asm!(
            "smc #0",
            inout("x0") PSCI_CPU_ON => status,
            inout("x1") mpidr(n) => _,
            inout("x2") boot::secondary_entry as *const () as u64 => _,
            inout("x3") n as u64 => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _,
            out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    if status != 0 {
        return Err(StartError::Psci(status));
    }
    let deadline = timer::now() + timer::ticks_from_micros(START_TIMEOUT_US);
    while !ALIVE[n].load(Ordering::Acquire) {
        if timer::now() >= deadline {
            return Err(StartError::Silent);
        }
        core::hint::spin_loop();
    }
    Ok(())
}

/// The GICC configuration of every CPU: split EOI (GICC_EOIR drops the
/// running priority, GICC_DIR deactivates), as a hypervisor needs to leave
/// a forwarded interrupt active for its guest.
pub fn gicc_config() -> CpuInterfaceConfig {
    CpuInterfaceConfig {
        eoi_mode: EoiMode::Split,
        ..CpuInterfaceConfig::default()
    }
}

/// A secondary CPU's Rust entry, from [`boot`] with CPU number `n` (see
/// the [module docs](self)). Never returns.
#[no_mangle]
pub extern "C" fn secondary_main(n: u64) -> ! {
    mmu::enable();
    exceptions::install();
    let gicd = irq::gicd();
    gicd.init_cpu(&DistributorConfig::default());
    // The configuration is the boot CPU's, which accepted it.
    let _ = irq::GICC.init(&gicc_config());
    let _ = gicd.enable_interrupt(crate::board::KICK_SGI);
    let n = (n as usize).min(MAX_CPUS - 1);
    ALIVE[n].store(true, Ordering::Release);
    vm::secondary_loop(n as u8)
}
