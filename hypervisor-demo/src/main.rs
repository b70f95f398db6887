//! A tiny EL2 hypervisor for QEMU's `virt` board that drives the GICv2 with
//! `gic-driver`, and runs a tiny EL1 guest that receives virtual interrupts
//! through list registers only.
//!
//! Run it with `scripts/demo` (or `cargo demo`). It boots at EL2 ([`boot`]),
//! installs its exception vectors ([`exceptions`]), sets up the GIC
//! Distributor and its CPU interface (split EOI mode), then runs two phases.
//!
//! Phase 1, EL2 alone: two interrupts must arrive through the GIC, in order:
//!
//! 1. SGI 3, sent by this CPU to itself through GICD_SGIR;
//! 2. PPI 10 (INTID 26), raised by the EL2 physical timer ([`timer`]) a few
//!    milliseconds later.
//!
//! Phase 2, a guest at EL1 ([`guest`]) behind stage-2 translation
//! ([`stage2`]), run by [`vcpu`]: before it starts, the hypervisor injects
//! 8 virtual SPIs of mixed priorities into 4 list registers through the
//! driver's `VirtualInterface` ([`vgic`]), refilling them on the
//! maintenance interrupt; the guest's virtual timer is forwarded with
//! HW = 1. The guest must see the 8 in priority order and its timer once;
//! every software interrupt must be reported completed exactly once; the
//! guest's EOI must have deactivated the physical timer interrupt.
//!
//! The IRQ handler ([`irq`]) acknowledges and ends each physical interrupt
//! through the driver's [`CpuInterface`](gic_driver::CpuInterface). The
//! verdict leaves QEMU as its exit status via semihosting ([`semihosting`]):
//! 0 when everything arrived as expected.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

// First: its macros are used by the modules below.
#[macro_use]
mod asm;
mod board;
mod boot;
mod exceptions;
mod guest;
mod irq;
mod semihosting;
mod stage2;
mod timer;
mod uart;
mod vcpu;
mod vgic;

use core::fmt;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{CurrentEL, Readable};
use gic_driver::bus::Mmio;
use gic_driver::{
    Acknowledged, CpuInterfaceConfig, Distributor, DistributorConfig, EoiMode, IntId, Priority,
    SgiTarget,
};

use crate::semihosting::status;
use crate::vcpu::{Stop, Vcpu};

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
/// How long the guest may run before the hypervisor gives up on it.
const GUEST_TIMEOUT_US: u64 = 2_000_000;

/// Why the demo failed, with the exit status that reports it.
enum Failure {
    /// The driver refused a call.
    Gic(gic_driver::Error),
    /// Not every expected interrupt arrived in time.
    Timeout(&'static str),
    /// Other interrupts, or the expected ones in another order.
    WrongInterrupts(&'static str),
    /// The guest took or caused an exception nobody expected.
    Exception(&'static str),
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
            Failure::Timeout(_) => status::TIMEOUT,
            Failure::WrongInterrupts(_) => status::WRONG_INTERRUPTS,
            Failure::Exception(_) => status::UNEXPECTED_EXCEPTION,
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
                Failure::Timeout(why) | Failure::WrongInterrupts(why) | Failure::Exception(why) => {
                    println!("verdict: FAIL: {why}")
                }
            }
            semihosting::exit(failure.status())
        }
    }
}

/// Sets up the GIC, then runs both phases.
fn run() -> Result<(), Failure> {
    // The Distributor: probe its shape, then put every interrupt in a known
    // state (disabled, inactive, priority 0xA0, Group 0, SPIs routed to us)
    // with forwarding to the CPU interfaces off.
    // SAFETY: board::GICD_BASE is QEMU virt's GICD frame; the MMU is off, so
    // it is Device memory, and only this Distributor uses that address.
    let gicd = Distributor::new(unsafe { Mmio::new(board::GICD_BASE) });
    gicd.init(&DistributorConfig::default());
    let info = gicd.info();
    println!(
        "GICD: {} interrupt lines, {} CPU interface(s), security extensions {}, IIDR {:#010x}, implemented priority bits {:#04x}",
        info.lines,
        info.cpus,
        if info.security_extensions { "present" } else { "absent" },
        info.iidr,
        info.implemented_priority,
    );

    // This CPU's interface: priority mask 0xF0 (everything at 0xA0 passes),
    // both groups signalled as IRQ, and split EOI: GICC_EOIR drops the
    // running priority, GICC_DIR deactivates. A hypervisor needs the split
    // to leave a forwarded interrupt active for its guest to complete.
    irq::GICC.init(&CpuInterfaceConfig {
        eoi_mode: EoiMode::Split,
        ..CpuInterfaceConfig::default()
    })?;
    println!(
        "GICC: CTLR {:#x} (split EOI), priority mask {:#04x}, running priority {:#04x}",
        irq::GICC.control().get(),
        irq::GICC.priority_mask().get(),
        irq::GICC.running_priority().get(),
    );

    phase1(&gicd)?;
    phase2(&gicd)
}

/// Phase 1: provokes two interrupts at EL2, waits for them and checks them.
fn phase1(gicd: &Distributor<Mmio>) -> Result<(), Failure> {
    // The SGI's source field names our own CPU interface.
    let this_cpu = gicd.this_cpu().iter().next().unwrap_or(0);

    // SGIs are always enabled in GICv2 (the write is ignored); the timer's
    // PPI must be enabled. Then let the Distributor forward interrupts, and
    // the CPU take them.
    gicd.enable_interrupt(DEMO_SGI)?;
    gicd.enable_interrupt(board::EL2_PHYS_TIMER_INTID)?;
    gicd.enable();
    exceptions::unmask_irqs();

    // Make every earlier memory write visible before the SGI can be taken
    // (the pattern Linux uses before writing GICD_SGIR).
    barrier::dsb(barrier::SY);
    gicd.send_sgi(DEMO_SGI, SgiTarget::SelfOnly)?;
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
        return Err(Failure::Timeout("timed out waiting for interrupts"));
    }
    if !as_expected || irq::count() != 2 {
        return Err(Failure::WrongInterrupts("unexpected interrupts or order"));
    }
    Ok(())
}

/// Phase 2: runs the guest with virtual interrupts and checks what it got.
fn phase2(gicd: &Distributor<Mmio>) -> Result<(), Failure> {
    println!("phase 2: an EL1 guest that gets interrupts only through list registers");
    let handled_before = irq::count();

    let vtr = vgic::init(gicd)?;
    println!(
        "GICH: {} list registers, {} priority bits; maintenance interrupt INTID {}, guest timer INTID {} enabled at EL2",
        vtr.list_registers,
        vtr.priority_bits,
        board::MAINTENANCE_INTID.get(),
        board::VIRT_TIMER_INTID.get(),
    );
    let s2 = stage2::enable();
    println!(
        "stage 2 on: VTCR_EL2 {:#x} (4 KiB granule, 32-bit IPA, walk from level 1), VTTBR_EL2 {:#x} (VMID {})",
        s2.vtcr,
        s2.vttbr,
        stage2::VMID,
    );
    println!(
        "guest map: RAM {:#010x} (1 GiB, Normal), UART {:#010x}, GICC {:#010x} -> GICV {:#010x} (Device), GICD {:#010x} unmapped",
        board::RAM_BASE,
        board::UART_BASE,
        board::GICC_BASE,
        board::GICV_BASE,
        board::GICD_BASE,
    );
    vgic::inject_software()?;

    let mut vcpu = Vcpu::new(guest::entry(), guest::stack_top());
    println!(
        "entering the guest: ELR_EL2 {:#x}, SPSR_EL2 {:#x} (EL1h, DAIF masked), SP_EL1 {:#x}",
        vcpu.regs().elr,
        vcpu.regs().spsr,
        guest::stack_top(),
    );
    let stop = vcpu.run_until_stopped(GUEST_TIMEOUT_US);
    let exits = vcpu.exits;
    let how = match stop {
        Stop::Done => "reported DONE",
        Stop::GuestFailed(_) => "reported a failure",
        Stop::Unexpected => "was stopped",
        Stop::Timeout => "timed out",
    };
    println!(
        "guest {how} after {} exits to EL2 (physical IRQ {}, stage-2 abort {}, HVC {})",
        exits.irqs + exits.gicd_accesses + exits.hvcs,
        exits.irqs,
        exits.gicd_accesses,
        exits.hvcs
    );
    match stop {
        Stop::Done => {}
        Stop::GuestFailed(esr) => {
            println!("the guest took an unexpected exception, ESR_EL1 {esr:#x}");
            return Err(Failure::Exception("the guest took an unexpected exception"));
        }
        Stop::Unexpected => return Err(Failure::Exception("unexpected exit from the guest")),
        Stop::Timeout => return Err(Failure::Timeout("the guest did not report in time")),
    }

    // What the guest acknowledged: each software interrupt once, in
    // priority order (all were pending before it unmasked IRQs), at the
    // priority it was injected with; its timer once.
    let mut seen = [0u32; vgic::SOFTWARE.len()];
    let mut timer_seen = 0;
    let mut in_order = true;
    let mut last: Option<Priority> = None;
    for (id, priority) in guest::log() {
        if id == board::VIRT_TIMER_INTID {
            timer_seen += 1;
            println!(
                "guest received vINTID {} (priority {:#04x}): its virtual timer",
                id.get(),
                priority.get()
            );
            continue;
        }
        println!(
            "guest received vINTID {} (priority {:#04x})",
            id.get(),
            priority.get()
        );
        let n = (0..seen.len()).find(|&n| vgic::software_intid(n) == id);
        match n {
            Some(n) => {
                seen[n] += 1;
                in_order &= priority.get() == vgic::SOFTWARE[n];
            }
            None => in_order = false,
        }
        in_order &= last.is_none_or(|p| p < priority);
        last = Some(priority);
    }
    if guest::received() > guest::log().count() {
        println!("... and {} more", guest::received() - guest::log().count());
    }

    let (stats, idle) = vgic::stats();
    println!(
        "maintenance: {} interrupts, {} completions, {} refills",
        stats.maintenance_irqs,
        stats.completions(),
        stats.refills
    );
    let physical_active = gicd.is_active(board::VIRT_TIMER_INTID)?;
    let physical_pending = gicd.is_pending(board::VIRT_TIMER_INTID)?;
    if stats.vtimer_forwards == 1 && !physical_active && !physical_pending {
        println!(
            "virtual timer forwarded with HW=1; physical INTID {} deactivated by the guest's EOI",
            board::VIRT_TIMER_INTID.get()
        );
    } else {
        println!(
            "virtual timer forwarded {} time(s); physical INTID {}: active {physical_active}, pending {physical_pending}",
            stats.vtimer_forwards,
            board::VIRT_TIMER_INTID.get()
        );
    }

    if let Some(e) = stats.error {
        return Err(Failure::Gic(e));
    }
    if seen.iter().any(|&n| n != 1) || timer_seen != 1 || !in_order {
        return Err(Failure::WrongInterrupts(
            "the guest did not get each interrupt once, in priority order",
        ));
    }
    if stats.completed.iter().any(|&n| n != 1) || stats.stray_completions != 0 || !idle {
        return Err(Failure::WrongInterrupts(
            "maintenance did not complete each software interrupt exactly once",
        ));
    }
    if stats.vtimer_forwards != 1 || physical_active || physical_pending {
        return Err(Failure::WrongInterrupts(
            "the forwarded timer was not deactivated by the guest",
        ));
    }
    if irq::count() != handled_before || exits.gicd_accesses != 1 {
        return Err(Failure::WrongInterrupts(
            "unexpected physical interrupts or GICD accesses during the guest's run",
        ));
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
            Expected::Timer => ack.intid() == board::EL2_PHYS_TIMER_INTID,
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
            None if id == board::EL2_PHYS_TIMER_INTID => write!(f, "{id}: EL2 physical timer"),
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
