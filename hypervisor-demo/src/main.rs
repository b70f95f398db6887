//! A tiny EL2 hypervisor for QEMU's `virt` board that drives the GICv2 with
//! `gic-driver`.
//!
//! Run it with `scripts/demo` (or `cargo demo`). It boots at EL2 ([`boot`]),
//! installs its exception vectors ([`exceptions`]), sets up the GIC
//! Distributor and CPU interface, then provokes two interrupts and checks
//! that both arrive through the GIC, in order:
//!
//! 1. SGI 3, sent by this CPU to itself through GICD_SGIR;
//! 2. PPI 10 (INTID 26), raised by the EL2 physical timer ([`timer`]) a few
//!    milliseconds later.
//!
//! The IRQ handler ([`irq`]) acknowledges and ends each interrupt through
//! the driver's [`CpuInterface`](gic_driver::CpuInterface) and records it.
//! The verdict leaves QEMU as its exit status via semihosting
//! ([`semihosting`]): 0 when everything arrived as expected.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

mod boot;
mod exceptions;
mod irq;
mod semihosting;
mod timer;
mod uart;

use core::fmt;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{CurrentEL, Readable};
use gic_driver::bus::Mmio;
use gic_driver::{
    Acknowledged, CpuInterfaceConfig, Distributor, DistributorConfig, IntId, SgiTarget,
};

use crate::semihosting::status;

/// Physical base address of the GIC Distributor (GICD) on QEMU virt.
const GICD_BASE: usize = 0x0800_0000;

/// The SGI the demo sends to itself.
const DEMO_SGI: IntId = match IntId::sgi(3) {
    Ok(id) => id,
    Err(_) => panic!("3 is a valid SGI"),
};

/// How long after the SGI the timer fires.
const TIMER_DELAY_US: u64 = 5_000;
/// How long to wait for both interrupts before declaring a timeout.
const DEADLINE_US: u64 = 1_000_000;
/// How long to keep listening after both arrived, to catch any that repeat.
const LINGER_US: u64 = 2_000;

/// Why the demo failed, with the exit status that reports it.
enum Failure {
    /// The driver refused a call.
    Gic(gic_driver::Error),
    /// Not every expected interrupt arrived in time.
    Timeout,
    /// Other interrupts, or the expected ones in another order.
    WrongInterrupts,
}

impl From<gic_driver::Error> for Failure {
    fn from(e: gic_driver::Error) -> Self {
        Failure::Gic(e)
    }
}

impl Failure {
    fn status(&self) -> u32 {
        match self {
            Failure::Gic(_) => status::GIC_ERROR,
            Failure::Timeout => status::TIMEOUT,
            Failure::WrongInterrupts => status::WRONG_INTERRUPTS,
        }
    }
}

/// The Rust entry point, called by [`boot`] on the boot CPU with a stack and
/// a zeroed `.bss`, at EL2, with every interrupt masked.
#[no_mangle]
pub extern "C" fn hypervisor_main() -> ! {
    uart::Console::init();
    println!("gic-demo: EL2 hypervisor on QEMU virt (GICv2)");

    let el = CurrentEL.read(CurrentEL::EL);
    if el != 2 {
        println!("started at EL{el}, not EL2: run QEMU with -machine virt,virtualization=on");
        semihosting::exit(status::NOT_AT_EL2);
    }
    exceptions::install();

    match run() {
        Ok(()) => {
            println!("verdict: PASS");
            semihosting::exit(status::SUCCESS)
        }
        Err(failure) => {
            match &failure {
                Failure::Gic(e) => println!("verdict: FAIL: the GIC driver refused a call: {e:?}"),
                Failure::Timeout => println!("verdict: FAIL: timed out waiting for interrupts"),
                Failure::WrongInterrupts => {
                    println!("verdict: FAIL: unexpected interrupts or order")
                }
            }
            semihosting::exit(failure.status())
        }
    }
}

/// Sets up the GIC, provokes the two interrupts, waits for them and checks them.
fn run() -> Result<(), Failure> {
    // The Distributor: probe its shape, then put every interrupt in a known
    // state (disabled, inactive, priority 0xA0, Group 0, SPIs routed to us)
    // with forwarding to the CPU interfaces off.
    // SAFETY: GICD_BASE is QEMU virt's GICD frame; the MMU is off, so it is
    // Device memory, and only this Distributor uses that address.
    let gicd = Distributor::new(unsafe { Mmio::new(GICD_BASE) });
    gicd.init(&DistributorConfig::default());
    let info = gicd.info();
    println!(
        "GICD: {} interrupt lines, {} CPU interface(s), security extensions {}, IIDR {:#010x}, priority mask {:#04x}",
        info.lines,
        info.cpus,
        if info.security_extensions { "present" } else { "absent" },
        info.iidr,
        info.priority_mask,
    );

    // This CPU's interface: priority mask 0xF0 (everything at 0xA0 passes),
    // both groups signalled as IRQ, EOIR both drops priority and deactivates.
    irq::GICC.init(&CpuInterfaceConfig::default())?;
    println!(
        "GICC: CTLR {:#x}, priority mask {:#04x}, running priority {:#04x}",
        irq::GICC.control().get(),
        irq::GICC.priority_mask().get(),
        irq::GICC.running_priority().get(),
    );
    // The SGI's source field names our own CPU interface.
    let this_cpu = gicd.this_cpu().iter().next().unwrap_or(0);

    // SGIs are always enabled in GICv2 (the write is ignored); the timer's
    // PPI must be enabled. Then let the Distributor forward interrupts, and
    // the CPU take them.
    gicd.enable_interrupt(DEMO_SGI)?;
    gicd.enable_interrupt(timer::INTID)?;
    gicd.enable();
    exceptions::unmask_irqs();

    // Make every earlier memory write visible before the SGI can be taken
    // (the pattern Linux uses before writing GICD_SGIR).
    barrier::dsb(barrier::SY);
    gicd.send_sgi(DEMO_SGI, SgiTarget::ToSelf)?;
    println!("sent {DEMO_SGI} to this CPU (CPU interface {this_cpu})");

    let delay = timer::ticks_from_micros(TIMER_DELAY_US);
    timer::arm_in(delay);
    println!(
        "armed the EL2 physical timer: {delay} ticks at {} Hz ({} ms)",
        timer::frequency(),
        TIMER_DELAY_US / 1000
    );

    // Wait for both interrupts. A plain `wfi` would hang forever if an
    // interrupt were lost, so poll the system counter against a deadline.
    let waited = wait_for(2, DEADLINE_US);
    // Then listen a little longer: a level interrupt that was not lowered
    // before its EOI would show up again here.
    if waited {
        wait_for(usize::MAX, LINGER_US);
    }
    exceptions::mask_irqs();
    timer::disarm();

    let mut expected = [Expected::Sgi(DEMO_SGI, this_cpu), Expected::Timer].into_iter();
    let mut as_expected = true;
    for ack in irq::received() {
        let matches = expected.next().is_some_and(|e| e.matches(ack));
        as_expected &= matches;
        println!("received {}", Describe(ack));
    }
    if irq::count() > irq::CAPACITY {
        println!("... and {} more", irq::count() - irq::CAPACITY);
    }
    if !waited {
        return Err(Failure::Timeout);
    }
    if !as_expected || irq::count() != 2 {
        return Err(Failure::WrongInterrupts);
    }
    Ok(())
}

/// Polls until `count` interrupts have been handled or `timeout_us` passed;
/// returns whether the count was reached.
fn wait_for(count: usize, timeout_us: u64) -> bool {
    let deadline = timer::now() + timer::ticks_from_micros(timeout_us);
    while irq::count() < count {
        if timer::now() >= deadline {
            return false;
        }
        core::hint::spin_loop();
    }
    true
}

/// An interrupt the demo expects.
#[derive(Clone, Copy)]
enum Expected {
    /// This SGI, from this CPU interface.
    Sgi(IntId, u8),
    /// The EL2 physical timer's PPI.
    Timer,
}

impl Expected {
    fn matches(self, ack: Acknowledged) -> bool {
        match self {
            Expected::Sgi(id, cpu) => ack.intid() == id && ack.source_cpu() == Some(cpu),
            Expected::Timer => ack.intid() == timer::INTID,
        }
    }
}

/// Prints an acknowledged interrupt, e.g. "SGI 3 from CPU 0".
struct Describe(Acknowledged);

impl fmt::Display for Describe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let id = self.0.intid();
        match self.0.source_cpu() {
            Some(cpu) => write!(f, "{id} from CPU {cpu}"),
            None if id == timer::INTID => write!(f, "{id}: EL2 physical timer"),
            None => write!(f, "{id}"),
        }
    }
}

/// Prints the panic on the UART and ends the run with a failure status.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    println!("\n{info}");
    semihosting::exit(status::PANIC)
}
