//! A tiny EL2 hypervisor for QEMU's `virt` board that drives the GICv2 with
//! `gic-driver`, and runs a tiny EL1 guest that receives virtual interrupts
//! through list registers only.
//!
//! Run it with `scripts/demo` (or `cargo demo`). It boots at EL2 ([`boot`]),
//! installs its exception vectors ([`exceptions`]), sets up the GIC
//! Distributor and its CPU interface (split EOI mode) at the addresses of
//! QEMU's board ([`board`]), then runs two phases. This file tells the
//! story in that order; [`verdict`] holds the checks that decide it.
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
//! verdict ([`verdict`]) leaves QEMU as its exit status via semihosting
//! ([`semihosting`]): 0 when everything arrived as expected.
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
mod verdict;
mod vgic;

use core::fmt;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{CurrentEL, Readable};
use gic_driver::bus::Mmio;
use gic_driver::{
    Acknowledged, CpuInterfaceConfig, Distributor, DistributorConfig, EoiMode, IntId, SgiTarget,
};

use crate::semihosting::status;
use crate::vcpu::{ExitCounts, Stop, Vcpu};
use crate::verdict::{Failure, ForwardedTimer, GuestRun};

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

    verdict::report(run())
}

/// The whole demo: initialise the GIC, phase 1 at EL2 alone, then phase 2:
/// stage 2, inject, run the guest, report what it saw.
fn run() -> Result<(), Failure> {
    let gicd = initialise()?;
    phase1(&gicd)?;

    println!("phase 2: an EL1 guest that gets interrupts only through list registers");
    let irqs_before = irq::count();
    virtual_interface(&gicd)?;
    stage_2();
    vgic::inject_software()?;
    let (stop, exits) = run_guest();
    report_guest(&gicd, stop, exits, irqs_before)
}

/// Sets up the Distributor and this CPU's interface.
fn initialise() -> Result<Distributor<Mmio>, Failure> {
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
    Ok(gicd)
}

/// Phase 1: provokes two interrupts at EL2, waits for them, shows them.
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
    let arrived = wait_for(2, DEADLINE_US);
    // Then listen a little longer: a level interrupt that was not lowered
    // before its EOI would show up again here.
    if arrived {
        wait_for(usize::MAX, LINGER_US);
    }
    exceptions::mask_irqs();
    timer::disarm();

    for ack in irq::received() {
        println!("received {}", Describe(ack));
    }
    if irq::count() > irq::CAPACITY {
        println!("... and {} more", irq::count() - irq::CAPACITY);
    }
    verdict::phase1(arrived, DEMO_SGI, this_cpu, irq::received(), irq::count())
}

/// Sets up the virtual interface (GICH) and the physical interrupts behind
/// it: the maintenance interrupt and the guest's timer.
fn virtual_interface(gicd: &Distributor<Mmio>) -> Result<(), Failure> {
    let vtr = vgic::init(gicd)?;
    println!(
        "GICH: {} list registers, {} priority bits; maintenance interrupt INTID {}, guest timer INTID {} enabled at EL2",
        vtr.list_registers,
        vtr.priority_bits,
        board::MAINTENANCE_INTID.get(),
        board::VIRT_TIMER_INTID.get(),
    );
    Ok(())
}

/// Turns on stage-2 translation, the guest's view of memory.
fn stage_2() {
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
}

/// Runs the guest until it reports, fails or times out.
fn run_guest() -> (Stop, ExitCounts) {
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
    if let Stop::GuestFailed(esr) = stop {
        println!("the guest took an unexpected exception, ESR_EL1 {esr:#x}");
    }
    (stop, exits)
}

/// Shows what the guest received and what the hypervisor saw meanwhile,
/// and hands both to the verdict. `irqs_before` is [`irq::count`] before
/// the guest ran.
fn report_guest(
    gicd: &Distributor<Mmio>,
    stop: Stop,
    exits: ExitCounts,
    irqs_before: usize,
) -> Result<(), Failure> {
    verdict::guest_stop(stop)?;

    for (id, priority) in guest::log() {
        let what = if id == board::VIRT_TIMER_INTID {
            ": its virtual timer"
        } else {
            ""
        };
        println!(
            "guest received vINTID {} (priority {:#04x}){what}",
            id.get(),
            priority.get()
        );
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
    let timer = ForwardedTimer {
        forwards: stats.vtimer_forwards,
        active: gicd.is_active(board::VIRT_TIMER_INTID)?,
        pending: gicd.is_pending(board::VIRT_TIMER_INTID)?,
    };
    if timer.deactivated_by_guest() {
        println!(
            "virtual timer forwarded with HW=1; physical INTID {} deactivated by the guest's EOI",
            board::VIRT_TIMER_INTID.get()
        );
    } else {
        println!(
            "virtual timer forwarded {} time(s); physical INTID {}: active {}, pending {}",
            timer.forwards,
            board::VIRT_TIMER_INTID.get(),
            timer.active,
            timer.pending,
        );
    }

    verdict::phase2(GuestRun {
        log: guest::log(),
        stats,
        idle,
        timer,
        other_irqs: irq::count() - irqs_before,
        gicd_accesses: exits.gicd_accesses,
    })
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
