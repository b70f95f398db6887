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
//!
//! The hypervisor logs with defmt ([`defmt_log`]): its frames travel on
//! the semihosting console, which `qemu-runner` decodes with this ELF's
//! `.defmt` table, while the UART ([`uart`]) stays the guest's console.
//! `DEFMT_LOG` picks the level at build time (`info` by default).
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

// First: its macros are used by the modules below.
#[macro_use]
mod asm;
mod board;
mod boot;
mod defmt_log;
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

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{CurrentEL, Readable};
use gic_driver::bus::Mmio;
use gic_driver::{
    Acknowledged, CpuInterfaceConfig, Distributor, DistributorConfig, EoiMode, IntId, IntIdKind,
    SgiTarget,
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
    // The UART is the guest's console; the hypervisor logs through defmt.
    uart::Console::init();
    defmt::info!("gic-demo: EL2 hypervisor on QEMU virt (GICv2)");

    let el = CurrentEL.read(CurrentEL::EL);
    if el != 2 {
        defmt::error!(
            "started at EL{=u64}, not EL2: run QEMU with -machine virt,virtualization=on",
            el
        );
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

    defmt::info!("phase 2: an EL1 guest that gets interrupts only through list registers");
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
    defmt::info!(
        "GICD: {=u32} interrupt lines, {=u8} CPU interface(s), security extensions {=str}, IIDR {=u32:#010x}, implemented priority bits {=u8:#04x}",
        info.lines,
        info.cpus,
        if info.security_extensions { "present" } else { "absent" },
        info.iidr,
        info.implemented_priority,
    );
    defmt::debug!("{}", info);

    // This CPU's interface: priority mask 0xF0 (everything at 0xA0 passes),
    // both groups signalled as IRQ, and split EOI: GICC_EOIR drops the
    // running priority, GICC_DIR deactivates. A hypervisor needs the split
    // to leave a forwarded interrupt active for its guest to complete.
    irq::GICC.init(&CpuInterfaceConfig {
        eoi_mode: EoiMode::Split,
        ..CpuInterfaceConfig::default()
    })?;
    defmt::info!(
        "GICC: CTLR {=u32:#x} (split EOI), priority mask {=u8:#04x}, running priority {=u8:#04x}",
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
    defmt::info!(
        "sent {} to this CPU (CPU interface {=u8})",
        DEMO_SGI,
        this_cpu
    );

    let delay = timer::ticks_from_micros(TIMER_DELAY_US);
    timer::arm_in(delay);
    defmt::info!(
        "armed the EL2 physical timer: {=u64} ticks at {=u64} Hz ({=u64} ms)",
        delay,
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
        defmt::info!("received {}", Describe(ack));
        defmt::debug!("as acknowledged: {}", ack);
    }
    if irq::count() > irq::CAPACITY {
        defmt::info!("... and {=usize} more", irq::count() - irq::CAPACITY);
    }
    verdict::phase1(arrived, DEMO_SGI, this_cpu, irq::received(), irq::count())
}

/// Sets up the virtual interface (GICH) and the physical interrupts behind
/// it: the maintenance interrupt and the guest's timer.
fn virtual_interface(gicd: &Distributor<Mmio>) -> Result<(), Failure> {
    let vtr = vgic::init(gicd)?;
    defmt::info!(
        "GICH: {=u8} list registers, {=u8} priority bits; maintenance interrupt {}, guest timer {} enabled at EL2",
        vtr.list_registers,
        vtr.priority_bits,
        board::MAINTENANCE_INTID,
        board::VIRT_TIMER_INTID,
    );
    defmt::debug!("{}", vtr);
    Ok(())
}

/// Turns on stage-2 translation, the guest's view of memory.
fn stage_2() {
    let s2 = stage2::enable();
    defmt::info!(
        "stage 2 on: VTCR_EL2 {=u64:#x} (4 KiB granule, 32-bit IPA, walk from level 1), VTTBR_EL2 {=u64:#x} (VMID {})",
        s2.vtcr,
        s2.vttbr,
        stage2::VMID,
    );
    defmt::info!(
        "guest map: RAM {=usize:#010x} (1 GiB, Normal), UART {=usize:#010x}, GICC {=usize:#010x} -> GICV {=usize:#010x} (Device), GICD {=usize:#010x} unmapped",
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
    defmt::info!(
        "entering the guest: ELR_EL2 {=u64:#x}, SPSR_EL2 {=u64:#x} (EL1h, DAIF masked), SP_EL1 {=u64:#x}",
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
    defmt::info!(
        "guest {=str} after {=u32} exits to EL2 (physical IRQ {=u32}, stage-2 abort {=u32}, HVC {=u32})",
        how,
        exits.irqs + exits.gicd_accesses + exits.hvcs,
        exits.irqs,
        exits.gicd_accesses,
        exits.hvcs
    );
    if let Stop::GuestFailed(esr) = stop {
        defmt::error!(
            "the guest took an unexpected exception, ESR_EL1 {=u64:#x}",
            esr
        );
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
        defmt::info!(
            "guest received vINTID {=u32} (priority {=u8:#04x}){=str}",
            id.get(),
            priority.get(),
            what
        );
    }
    if guest::received() > guest::log().count() {
        defmt::info!(
            "... and {=usize} more",
            guest::received() - guest::log().count()
        );
    }

    let (stats, idle) = vgic::stats();
    defmt::info!(
        "maintenance: {=u32} interrupts, {=u32} completions, {=usize} refills",
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
        defmt::info!(
            "virtual timer forwarded with HW=1; physical INTID {=u32} deactivated by the guest's EOI",
            board::VIRT_TIMER_INTID.get()
        );
    } else {
        defmt::info!(
            "virtual timer forwarded {=u32} time(s); physical INTID {=u32}: active {=bool}, pending {=bool}",
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

/// Logs an acknowledged interrupt the way the GIC architecture names it,
/// e.g. "SGI 3 from CPU 0" or "PPI 10 (INTID 26): EL2 physical timer".
struct Describe(Acknowledged);

impl defmt::Format for Describe {
    fn format(&self, f: defmt::Formatter) {
        let id = self.0.intid();
        let n = id.get();
        match (id.kind(), self.0.source_cpu()) {
            (IntIdKind::Sgi, Some(cpu)) => defmt::write!(f, "SGI {=u32} from CPU {=u8}", n, cpu),
            (IntIdKind::Sgi, None) => defmt::write!(f, "SGI {=u32}", n),
            (IntIdKind::Ppi, _) => {
                defmt::write!(f, "PPI {=u32} (INTID {=u32})", n - 16, n);
                if id == board::EL2_PHYS_TIMER_INTID {
                    defmt::write!(f, ": EL2 physical timer");
                }
            }
            (IntIdKind::Spi, _) => defmt::write!(f, "SPI {=u32} (INTID {=u32})", n - 32, n),
            (IntIdKind::Special, _) => defmt::write!(f, "special INTID {=u32}", n),
        }
    }
}

/// Logs the panic and ends the run with a failure status. A panic inside a
/// log call goes to the UART: that log call's frame is still open.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    if defmt_log::busy() {
        println!("\npanic while logging: {info}");
    } else {
        defmt::error!("{}", defmt::Display2Format(info));
    }
    semihosting::exit(status::PANIC)
}
