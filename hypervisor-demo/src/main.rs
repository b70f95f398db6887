//! A tiny EL2 hypervisor for QEMU's `virt` board that drives the GICv2 with
//! `gic-driver`, gives its guest a virtual GIC whose distributor is the
//! architectural model (`gic-vgic`), and boots either its own tiny EL1
//! guest or an unmodified arm64 kernel such as Debian's Linux.
//!
//! Run it with `scripts/demo` (or `cargo demo`). It boots at EL2 ([`boot`]),
//! installs its exception vectors ([`exceptions`]), reads QEMU's device
//! tree ([`dtb`]) and its command line ([`cmdline`]) from it, sets up the
//! GIC Distributor and its CPU interface (split EOI mode) at the addresses
//! of QEMU's board ([`board`]), then does one of two things. This file
//! tells the story in that order; [`verdict`] holds the checks that decide
//! the built-in demo.
//!
//! **The built-in demo** (no `guest=` argument). Phase 1, EL2 alone: two
//! interrupts must arrive through the GIC, in order:
//!
//! 1. SGI 3, sent by this CPU to itself through GICD_SGIR;
//! 2. PPI 10 (INTID 26), raised by the EL2 physical timer ([`timer`]) a few
//!    milliseconds later.
//!
//! Phase 2, a guest at EL1 ([`guest`]) behind stage-2 translation
//! ([`stage2`]), run by [`vm`] on a [`vcpu`]: the guest programs its
//! distributor, which is the vGIC, through trapped accesses ([`mmio`]);
//! the hypervisor then raises 8 virtual SPIs of mixed priorities in the
//! vGIC, which reach the guest through QEMU's 4 list registers by priority,
//! refilled around each exit; the guest's virtual timer is forwarded with
//! HW = 1. The guest must see the 8 in priority order and its timer once;
//! the vGIC must see each completed exactly once; the guest's EOI must have
//! deactivated the physical timer interrupt.
//!
//! After each phase the demo measures interrupt latency ([`latency`]):
//! 1000 EL2 physical timer interrupts from the timer's compare value to
//! EL2's IRQ vector, and 1000 virtual SPIs from their injection to the IRQ
//! vector of a second small guest ([`guest_latency`]), printed as
//! min/median/max in counter ticks.
//!
//! **An external guest** (`guest=ADDR,SIZE`, where `qemu-runner` loaded
//! it): the hypervisor checks the kernel ([`loader`]), writes the guest's
//! device tree ([`dtb`]), maps the guest's RAM and devices at stage 2, and
//! enters the kernel at EL1 with x0 = its device tree. It serves PSCI
//! ([`psci`]) and the vGIC, forwards the timers and the UART, injects an
//! external abort for an access to nothing ([`inject`]), and leaves with
//! the guest's status when it powers off, after logging what it handled
//! ([`stats`]).
//!
//! The hypervisor logs with defmt ([`defmt_log`]): its frames travel on
//! the semihosting console, which `qemu-runner` decodes with this ELF's
//! `.defmt` table, while the UART ([`uart`]) stays the guest's console
//! (the built-in guest's and an external one's). `DEFMT_LOG` picks the
//! level at build time (`info` by default).
//!
//! Either way the run ends with an exit status through semihosting
//! ([`semihosting`]): 0 when the demo passed or the guest powered off.
#![no_std]
#![no_main]
#![deny(clippy::undocumented_unsafe_blocks)]
#![deny(missing_docs)]

extern crate alloc;

// First: its macros are used by the modules below.
#[macro_use]
mod asm;
mod board;
mod boot;
mod cmdline;
mod defmt_log;
mod dtb;
mod exceptions;
mod guest;
mod guest_latency;
mod heap;
mod inject;
mod irq;
mod latency;
mod loader;
mod mmio;
mod mmu;
mod psci;
mod semihosting;
mod smp;
mod smp_guest;
mod stage2;
mod stats;
mod timer;
mod uart;
mod vcpu;
mod verdict;
mod vm;

use core::fmt;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{CurrentEL, Readable};
use fdt::Fdt;
use gic_driver::bus::Mmio;
use gic_driver::regs::gicd;
use gic_driver::{Acknowledged, Distributor, DistributorConfig, IntId, IntIdKind, SgiTarget};
use gic_model::{Frame, Width};

use crate::cmdline::BootArgs;
use crate::dtb::Region;
use crate::semihosting::status;
use crate::stats::{ExitReason, Stats};
use crate::vcpu::GuestRegs;
use crate::vcpu::Vcpu;
use crate::verdict::{Failure, ForwardedTimer, GuestRun};
use crate::vm::{Cpu, Hypercall, Stop, Vm};

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
/// How long the built-in guest may run before the hypervisor gives up on it.
const GUEST_TIMEOUT_US: u64 = 2_000_000;

/// The Rust entry point, called by [`boot`] on the boot CPU with a stack and
/// a zeroed `.bss`, at EL2, with every interrupt masked.
#[no_mangle]
pub extern "C" fn hypervisor_main() -> ! {
    // The UART is the guest's console; the hypervisor logs through defmt.
    uart::Console::init();

    let el = CurrentEL.read(CurrentEL::EL);
    if el != 2 {
        // Logging takes a lock meant for Normal memory; QEMU serves it on
        // this Device memory too, and the run ends here.
        defmt::error!(
            "started at EL{=u64}, not EL2: run QEMU with -machine virt,virtualization=on",
            el
        );
        semihosting::exit(status::NOT_AT_EL2);
    }
    // EL2's identity map over the RAM QEMU's device tree names (or the
    // hypervisor's own 64 MiB when there is none, to report that), then
    // the MMU and caches on: before the first lock or atomic.
    let tree = dtb::qemu_tree();
    let ram = tree
        .as_ref()
        .ok()
        .and_then(|t| dtb::ram(t).ok())
        .unwrap_or(Region {
            base: board::RAM_BASE as u64,
            size: (board::HYPERVISOR_END - board::RAM_BASE) as u64,
        });
    let mapped = mmu::build(ram);
    mmu::enable();
    defmt::info!("gic-demo: EL2 hypervisor on QEMU virt (GICv2)");
    defmt::info!(
        "EL2 MMU on: identity map, RAM {=u64:#x}-{=u64:#x} Normal write-back (inner shareable), devices below 1 GiB Device-nGnRE",
        mapped.base,
        mapped.end()
    );
    exceptions::install();
    heap::init();

    // QEMU's device tree, at the start of RAM, and the command line in it.
    let tree = match tree {
        Ok(tree) => tree,
        Err(e) => {
            defmt::error!(
                "{}: QEMU writes it only for an ELF linked at or above {=usize:#x}",
                defmt::Display2Format(&e),
                board::HYPERVISOR_BASE
            );
            verdict::report(Err(Failure::Boot))
        }
    };
    let args = match BootArgs::parse(dtb::bootargs(&tree)) {
        Ok(args) => args,
        Err(e) => {
            defmt::error!("{}", defmt::Display2Format(&e));
            verdict::report(Err(Failure::Boot))
        }
    };
    let gicd = match initialise() {
        Ok(gicd) => gicd,
        Err(failure) => verdict::report(Err(failure)),
    };
    start_cpus(&tree);
    match args.guest {
        None => verdict::report(demo(&tree, gicd)),
        Some(file) => external_guest(&tree, file, &args),
    }
}

/// Starts every other CPU QEMU's device tree names (PSCI CPU_ON through
/// SMC); each initialises its banked GIC state and waits for a vCPU.
fn start_cpus(tree: &Fdt) {
    let n = smp::discover(tree);
    let (running, failure) = smp::start_secondaries();
    if let Some((cpu, e)) = failure {
        defmt::error!("CPU {=usize} did not start: {}", cpu, e);
        verdict::report(Err(Failure::Boot));
    }
    defmt::info!(
        "{=usize} of {=usize} CPU(s) running at EL2, each with its own stack, vectors, MMU, GICC and GICH; kick SGI {=u32}",
        running,
        n,
        board::KICK_SGI.get()
    );
}

/// The MPIDR affinities of the CPUs, one vCPU each.
fn vcpu_mpidrs() -> heapless::Vec<u64, { board::MAX_CPUS }> {
    (0..smp::count()).map(smp::mpidr).collect()
}

/// The built-in demo: phase 1 at EL2 alone, then phase 2: the vGIC,
/// stage 2, the guest, and what it saw.
fn demo(tree: &Fdt, gicd: &'static Distributor<Mmio>) -> Result<(), Failure> {
    phase1(gicd)?;
    latency::physical(gicd)?;

    defmt::info!(
        "phase 2: an EL1 guest whose distributor is the vGIC, its interrupts through list registers"
    );
    let mpidr = smp::mpidr(0);
    let vm = Vm::new(
        &[mpidr],
        (guest::entry(), 0),
        builtin_hypercall,
        unreachable_end,
        Some(GUEST_TIMEOUT_US),
    )?;
    vm.attach(0)?;
    let mut cpu = Cpu::new();
    virtual_interface(&cpu);
    let ram = dtb::ram(tree).map_err(|_| Failure::Boot)?;
    stage_2(ram);
    let stop = run_guest(&vm, &mut cpu, mpidr);
    report_guest(gicd, &vm, &cpu, stop)?;
    latency::virtual_interrupts(&vm, &mut cpu, mpidr)?;
    if smp::count() > 1 {
        smp_phase()?;
    }
    Ok(())
}

/// How long each vCPU of the SMP guest may run.
const SMP_TIMEOUT_US: u64 = 10_000_000;

/// Phase 3, with more than one CPU: the SMP guest ([`smp_guest`]) on one
/// vCPU per CPU, vCPU 0 here; the others start when the guest's vCPU 0
/// calls PSCI CPU_ON. Ends the run through [`smp_end`] on the CPU whose
/// vCPU ends it; returns only if the VM cannot be made.
fn smp_phase() -> Result<(), Failure> {
    let mpidrs = vcpu_mpidrs();
    defmt::info!(
        "phase 3: the SMP guest on {=usize} vCPUs, one per CPU: virtual SGIs between every pair, with each GICD_SGIR filter",
        mpidrs.len()
    );
    let vm = Vm::new(
        &mpidrs,
        (smp_guest::entry(), 0),
        smp_hypercall,
        smp_end,
        Some(SMP_TIMEOUT_US),
    )?;
    // The guest's accesses do not look in EL2's cache (see run_guest).
    let (shared, len) = guest::shared_memory();
    mmu::clean_invalidate_range(shared, len);
    vm::run_cpu(vm::publish(vm), 0)
}

/// The SMP guest's own calls.
fn smp_hypercall(_: &Vm, vcpu: u8, regs: &mut GuestRegs) -> Hypercall {
    match regs.x[0] {
        smp_guest::hvc::DONE => Hypercall::Stop(Stop::Done),
        smp_guest::hvc::FAIL => {
            defmt::error!("SMP guest: vCPU {=u8} failed: {=u64:#x}", vcpu, regs.x[1]);
            Hypercall::Stop(Stop::GuestFailed(regs.x[1]))
        }
        _ => Hypercall::Return(u64::MAX),
    }
}

/// The end of phase 3: what each vCPU received, the counts of every CPU,
/// the verdict.
fn smp_end(_: &Vm, vcpu: u8, stop: Stop, stats: &Stats) -> ! {
    let (shared, len) = guest::shared_memory();
    mmu::clean_invalidate_range(shared, len);
    let n = vcpu_mpidrs().len();
    let from = |v: usize, s: usize| {
        (0..n).fold(0u8, |m, src| {
            m | u8::from(smp_guest::counts(v, s, src) != 0) << src
        })
    };
    let mut mpidrs_ok = true;
    let mut total = 0usize;
    let mut others = 0;
    for v in 0..n {
        let mpidr = smp_guest::mpidr(v);
        mpidrs_ok &= mpidr == Some(smp::mpidr(v));
        total += (0..3)
            .flat_map(|s| (0..n).map(move |src| smp_guest::counts(v, s, src) as usize))
            .sum::<usize>();
        others += smp_guest::others(v);
        defmt::info!(
            "SMP: vCPU {=usize} (MPIDR {=u64:#x}) received SGI 1 from vCPUs {=u8:#010b}, SGI 2 from {=u8:#010b}, SGI 3 from {=u8:#010b}",
            v,
            mpidr.unwrap_or(u64::MAX),
            from(v, 0),
            from(v, 1),
            from(v, 2),
        );
    }
    let psci = smp_guest::psci_results();
    let run = verdict::SmpRun {
        stop,
        vcpus: n,
        counts: smp_guest::counts,
        others,
        mpidrs_ok,
        psci,
    };
    let result = verdict::smp(&run);
    if result.is_ok() {
        defmt::info!(
            "SMP: {=usize} vCPUs, each SGI received exactly once from each source ({=usize} SGIs, every filter)",
            n,
            total
        );
        defmt::info!(
            "SMP: PSCI CPU_ON of a vCPU that is on: {=i64}, of an MPIDR no vCPU has: {=i64}; {=usize} vCPUs started by CPU_ON, off again by CPU_OFF (AFFINITY_INFO)",
            psci[0],
            psci[1],
            n - 1
        );
    } else {
        defmt::error!(
            "SMP: {=usize} SGIs, {=u32} other interrupts, PSCI {=i64} {=i64} {=i64} {=i64}, stopped by vCPU {=u8}: {}",
            total,
            others,
            psci[0],
            psci[1],
            psci[2],
            psci[3],
            vcpu,
            stop
        );
    }
    stats.log();
    verdict::report(result)
}

/// The built-in guest's own calls (phase 2).
fn builtin_hypercall(vm: &Vm, _vcpu: u8, regs: &mut GuestRegs) -> Hypercall {
    match regs.x[0] {
        guest::hvc::READY => {
            raise_software(vm);
            Hypercall::Return(0)
        }
        guest::hvc::DONE => Hypercall::Stop(Stop::Done),
        guest::hvc::FAIL => Hypercall::Stop(Stop::GuestFailed(regs.x[1])),
        // Unknown call: -1 in x0, as SMCCC does.
        _ => Hypercall::Return(u64::MAX),
    }
}

/// Phase 2's VM is run directly ([`Vm::run`]), never through
/// [`vm::run_cpu`], which alone calls a VM's end.
fn unreachable_end(_: &Vm, _: u8, stop: Stop, _: &Stats) -> ! {
    defmt::error!("phase 2's VM ended through run_cpu: {}", stop);
    verdict::report(Err(Failure::Exception("phase 2's VM was served")))
}

/// Sets up the Distributor and this CPU's interface.
fn initialise() -> Result<&'static Distributor<Mmio>, Failure> {
    // The Distributor: probe its shape, then put every interrupt in a known
    // state (disabled, inactive, priority 0xA0, Group 0, SPIs routed to us)
    // with forwarding to the CPU interfaces off.
    let gicd = irq::gicd();
    gicd.init(&DistributorConfig::default());
    // The kick between CPUs (SGIs may be always enabled: harmless).
    gicd.enable_interrupt(board::KICK_SGI)?;
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
    irq::GICC.init(&smp::gicc_config())?;
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

/// Shows the virtual interface (GICH) and what the VM forwards to it.
fn virtual_interface(cpu: &Cpu) {
    let vtr = cpu.virtual_interface();
    defmt::info!(
        "GICH: {=u8} list registers, {=u8} priority bits; maintenance interrupt {}; forwarded with HW=1: {}",
        vtr.list_registers,
        vtr.priority_bits,
        board::MAINTENANCE_INTID,
        vm::FORWARDED,
    );
    defmt::debug!("{}", vtr);
}

/// Turns on stage-2 translation with `ram` as guest RAM.
fn stage_2(ram: Region) {
    let s2 = stage2::enable(ram);
    defmt::info!(
        "stage 2 on: VTCR_EL2 {=u64:#x} (4 KiB granule, 32-bit IPA, walk from level 1), VTTBR_EL2 {=u64:#x} (VMID {=u64})",
        s2.vtcr,
        s2.vttbr,
        stage2::VMID,
    );
    defmt::info!(
        "guest map: RAM {=u64:#010x}-{=u64:#010x} (2 MiB blocks, Normal), UART {=usize:#010x}, GICC {=usize:#010x} -> GICV {=usize:#010x} (Device), GICD {=usize:#010x} trapped to the vGIC",
        s2.ram.base,
        s2.ram.end(),
        board::UART_BASE,
        board::GICC_BASE,
        board::GICV_BASE,
        board::GICD_BASE,
    );
}

/// Runs the built-in guest until it reports, fails or times out.
fn run_guest(vm: &Vm, cpu: &mut Cpu, mpidr: u64) -> Stop {
    let mut vcpu = Vcpu::new(guest::entry(), 0, guest::stack_top(), mpidr);
    defmt::info!(
        "entering the guest: ELR_EL2 {=u64:#x}, SPSR_EL2 {=u64:#x} (EL1h, DAIF masked), SP_EL1 {=u64:#x}",
        vcpu.regs().elr,
        vcpu.regs().spsr,
        guest::stack_top(),
    );
    // The guest's memory accesses do not look in EL2's cache (its MMU is
    // off): no line may hold its data while it runs, and EL2 reads what
    // it wrote from memory afterwards.
    let (shared, len) = guest::shared_memory();
    mmu::clean_invalidate_range(shared, len);
    let stop = vm.run(0, cpu, &mut vcpu);
    mmu::clean_invalidate_range(shared, len);
    let how = match stop {
        Stop::Done => "reported DONE",
        Stop::GuestFailed(_) => "reported a failure",
        Stop::Timeout => "timed out",
        _ => "was stopped",
    };
    let s = &cpu.stats;
    defmt::info!(
        "guest {=str} after {=u32} exits to EL2 (physical IRQ {=u32}, GICD access {=u32}, HVC {=u32})",
        how,
        s.total_exits(),
        s.exits(ExitReason::Irq),
        s.exits(ExitReason::GicdAccess),
        s.exits(ExitReason::Hvc),
    );
    if let Stop::GuestFailed(esr) = stop {
        defmt::error!(
            "the guest took an unexpected exception, ESR_EL1 {=u64:#x}",
            esr
        );
    }
    stop
}

/// The guest has programmed its distributor: each software interrupt's
/// line gets a rising edge in the vGIC (an edge-triggered SPI latches it
/// pending) and falls again.
fn raise_software(vm: &Vm) {
    let vgic = vm.vgic();
    for n in 0..guest::SOFTWARE.len() {
        let id = guest::software_intid(n);
        let raised = vgic
            .set_line(0, id, true)
            .and_then(|_| vgic.set_line(0, id, false));
        if raised.is_err() {
            defmt::error!("the vGIC refused to raise {}", id);
        }
    }
    defmt::info!(
        "raised vINTIDs {=u32}-{=u32} in the vGIC (edge-triggered): pending, to be listed by priority",
        guest::software_intid(0).get(),
        guest::software_intid(guest::SOFTWARE.len() - 1).get()
    );
}

/// Shows what the guest received and what the hypervisor saw meanwhile,
/// and hands both to the verdict.
fn report_guest(gicd: &Distributor<Mmio>, vm: &Vm, cpu: &Cpu, stop: Stop) -> Result<(), Failure> {
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

    let vgic = vm.vgic().stats();
    let s = &cpu.stats;
    defmt::info!(
        "vGIC: {=usize} software interrupts through {=u8} list registers, {=u64} completions",
        guest::SOFTWARE.len(),
        cpu.virtual_interface().list_registers,
        vgic.completed,
    );
    defmt::info!(
        "vGIC: {=u64} listed, {=u64} folds, {=u64} flushes; {=u32} maintenance interrupts",
        vgic.listed,
        vgic.folds,
        vgic.flushes,
        s.maintenance
    );
    let timer = ForwardedTimer {
        forwards: s.irqs_of(board::VIRT_TIMER_INTID.get()),
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
    s.log();

    // The EL2 physical timer is the hypervisor's own (watchdog, re-check).
    let other_irqs = s.irqs_total()
        - s.irqs_of(board::MAINTENANCE_INTID.get())
        - s.irqs_of(board::EL2_PHYS_TIMER_INTID.get())
        - s.irqs_of(board::VIRT_TIMER_INTID.get());
    let injected = s.exits(ExitReason::DataAbort)
        + s.exits(ExitReason::InstructionAbort)
        + s.exits(ExitReason::OtherTrap);
    verdict::phase2(GuestRun {
        log: guest::log(),
        programmed_and_quiet: programmed_and_quiet(vm),
        completions: vgic.completed,
        idle: cpu.interface_idle(),
        timer,
        other_irqs,
        gicd_accesses: (
            s.gicd_total(),
            s.gicd_refused + vgic.unsupported_accesses as u32,
        ),
        injected,
        probes: guest::probes(),
    })
}

/// Whether the guest's distributor (the vGIC's model) is as the guest
/// programmed it, with nothing left pending or active.
fn programmed_and_quiet(vm: &Vm) -> bool {
    let mut dist = vm.vgic().distributor();
    let enabled = dist.read(Frame::Gicd, 0, gicd::offset::CTLR, Width::Word) & 1 != 0;
    let software =
        (0..guest::SOFTWARE.len()).map(|n| (guest::software_intid(n), guest::SOFTWARE[n]));
    let timer = [(board::VIRT_TIMER_INTID, guest::TIMER_PRIORITY.get())];
    enabled
        && software.chain(timer).all(|(id, priority)| {
            let id = id.get();
            dist.is_enabled(0, id)
                && dist.priority(0, id) == Some(priority)
                && !dist.is_pending(0, id)
                && !dist.is_active(0, id)
        })
}

/// Boots the external guest whose kernel file is `file` on every CPU's
/// vCPU, and ends the run with its status (on the CPU whose vCPU ends it).
fn external_guest(tree: &Fdt, file: Region, args: &BootArgs) -> ! {
    match boot_external(tree, file, args) {
        Ok(vm) => vm::run_cpu(vm, 0),
        Err(failure) => verdict::report(Err(failure)),
    }
}

/// How an external guest's run ended, on the CPU whose vCPU `vcpu` ended
/// it: the guest's status, and the counts of every CPU.
fn external_end(_: &Vm, vcpu: u8, stop: Stop, stats: &Stats) -> ! {
    let (what, code) = match stop {
        Stop::SystemOff => ("powered off (PSCI SYSTEM_OFF)", status::SUCCESS),
        Stop::SystemReset => ("asked for a reset (PSCI SYSTEM_RESET)", status::GUEST_RESET),
        Stop::CpuOff => (
            "turned its last vCPU off (PSCI CPU_OFF)",
            status::UNEXPECTED_EXCEPTION,
        ),
        _ => (
            "was stopped: an exit the hypervisor cannot handle",
            status::UNEXPECTED_EXCEPTION,
        ),
    };
    defmt::info!("the guest {=str} (vCPU {=u8})", what, vcpu);
    stats.log();
    semihosting::exit(code)
}

/// Checks and places the external guest, writes its device tree, builds
/// its VM and stage 2; returns the VM, published to every CPU.
fn boot_external(tree: &Fdt, file: Region, args: &BootArgs) -> Result<&'static Vm, Failure> {
    let ram = dtb::ram(tree).map_err(|e| boot_error(&e))?;
    let guest_ram = Region {
        base: board::GUEST_RAM_BASE as u64,
        size: ram.end().saturating_sub(board::GUEST_RAM_BASE as u64),
    };
    let kernel = loader::inspect(file, args.initrd, guest_ram).map_err(|e| boot_error(&e))?;
    let mpidrs = vcpu_mpidrs();

    // The guest's device tree, at the start of its RAM.
    // SAFETY: GUEST_DTB..+GUEST_DTB_SIZE is guest RAM (checked above to be
    // inside the board's RAM) that no kernel or initrd overlaps (checked by
    // `loader::inspect`), and nothing else in the hypervisor uses it.
    let out = unsafe {
        core::slice::from_raw_parts_mut(board::GUEST_DTB as *mut u8, board::GUEST_DTB_SIZE)
    };
    let guest_tree = dtb::GuestTree {
        ram: guest_ram,
        vcpu_mpidrs: &mpidrs,
        bootargs: args.guest_args,
        initrd: args.initrd,
    };
    let dtb_size = dtb::write_guest_tree(tree, &guest_tree, out).map_err(|e| boot_error(&e))?;
    // The guest reads its tree with its MMU off, past EL2's cache.
    mmu::clean_range(board::GUEST_DTB, dtb_size);

    let vm = Vm::new(
        &mpidrs,
        (kernel.entry, board::GUEST_DTB as u64),
        // The guest's own calls: none beyond PSCI.
        |_, _, _| Hypercall::Return(u64::MAX),
        external_end,
        None,
    )?;
    let s2 = stage2::enable(guest_ram);
    defmt::info!(
        "guest: {} at {=u64:#x} (entry), RAM {=u64:#x}-{=u64:#x}, device tree {=usize:#x} ({=usize} bytes), initrd {}; {=usize} vCPU(s); PSCI on HVC/SMC",
        defmt::Debug2Format(&kernel.format),
        kernel.entry,
        s2.ram.base,
        s2.ram.end(),
        board::GUEST_DTB,
        dtb_size,
        defmt::Display2Format(&Initrd(args.initrd)),
        mpidrs.len(),
    );
    Ok(vm::publish(vm))
}

/// Prints why the guest cannot start.
fn boot_error(e: &dyn fmt::Display) -> Failure {
    defmt::error!("cannot start the guest: {}", defmt::Display2Format(e));
    Failure::Boot
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

/// Prints an initrd's place, or "none".
struct Initrd(Option<Region>);

impl fmt::Display for Initrd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(r) => write!(f, "{:#x}-{:#x}", r.base, r.end()),
            None => f.write_str("none"),
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
