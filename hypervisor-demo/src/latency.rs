//! Interrupt latency, measured by the built-in demo in ticks of the system
//! counter (CNTPCT_EL0, CNTFRQ_EL0 Hz) and printed as min/median/max over
//! [`SAMPLES`] interrupts of one run.
//!
//! **Physical** ([`physical`], after phase 1): from the EL2 physical timer's
//! line rising to EL2's IRQ vector. The timer's compare value
//! (CNTHP_CVAL_EL2) is set [`PHYSICAL_DELAY_US`] ahead; its
//! level-sensitive line (PPI 10, INTID 26) rises when CNTPCT_EL0 reaches
//! it. While the measurement runs, VBAR_EL2 points at this module's own
//! vector table, whose IRQ entry reads CNTPCT_EL0 as its second
//! instruction (after freeing x0): exception entry is a context
//! synchronization event, so that read cannot happen before the exception
//! is taken. One sample is entry − CNTHP_CVAL_EL2: the GIC's delivery
//! (GICD to GICC to the CPU's IRQ input) and the CPU's taking of the
//! exception, nothing of the handler's own save. The CPU waits in a
//! polling loop (not `wfi`) meanwhile, on memory (the counter only now and
//! then). A deadline that had already passed
//! when the timer was enabled (its line rose at the enable, not at the
//! compare value) is not sampled, and the timer is armed again.
//!
//! **Virtual** ([`virtual_interrupts`], after phase 2): from the
//! hypervisor's injection to the guest's IRQ vector. A second small guest
//! ([`guest_latency`]) asks for each interrupt with an `hvc`; the
//! hypervisor reads CNTPCT_EL0 and raises the edge-triggered virtual SPI
//! [`guest_latency::INTID`] in the vGIC (that read is "injection"), then
//! returns to the run loop, which flushes the vGIC into a list register
//! (GICH_LRn), switches to the guest and `eret`s; the guest, with IRQs
//! unmasked, takes the virtual IRQ at once, and its vector reads
//! CNTPCT_EL0 (the same counter; CNTHCTL_EL2.EL1PCTEN lets EL1 read it).
//! A sample is that read − the injection's: the vGIC's bookkeeping, the
//! list-register write, the world switch and the GIC's virtual CPU
//! interface signalling the guest, the cost a hypervisor pays to deliver
//! a software interrupt to a guest that is waiting for it. The guest hands
//! its reading back in the next `hvc`.
//!
//! Under QEMU (TCG) these are the emulator's timings, not a CPU's: the
//! counter follows the host's clock, the timer fires from QEMU's timer
//! list, and an interrupt is noticed between translated blocks.

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, CNTHP_CTL_EL2, ELR_EL2, ESR_EL2, VBAR_EL2};
use gic_driver::bus::Mmio;
use gic_driver::{Deactivation, Distributor};

use crate::vcpu::Vcpu;
use crate::verdict::Failure;
use crate::vm::{Cpu, Hypercall, Stop, Vm};
use crate::{board, exceptions, guest_latency, irq, timer};

/// Interrupts measured of each kind, in one run.
pub const SAMPLES: usize = 1000;
/// How far ahead of the current count the physical timer's compare value
/// is set. Under QEMU, writing the timer's registers now and then takes
/// longer than 20 us (on a loaded host), and a deadline that passes before
/// the enable is not sampled: 50 us leaves that rare.
const PHYSICAL_DELAY_US: u64 = 50;
/// How many deadlines may pass before the timer is enabled, in total,
/// before the measurement gives up.
const PHYSICAL_LATE_LIMIT: usize = 10 * SAMPLES;
/// How long to wait for one physical interrupt before giving up.
const PHYSICAL_WAIT_US: u64 = 100_000;
/// How long the whole virtual measurement may take.
const VIRTUAL_WATCHDOG_US: u64 = 5_000_000;
/// The vCPU's index in the vGIC (the VM's only one).
const VCPU: u8 = 0;

/// The latencies of one kind, in counter ticks.
struct Samples {
    ticks: [u32; SAMPLES],
    len: usize,
}

impl Samples {
    fn new() -> Self {
        Samples {
            ticks: [0; SAMPLES],
            len: 0,
        }
    }

    fn full(&self) -> bool {
        self.len == SAMPLES
    }

    fn push(&mut self, ticks: u64) {
        if let Some(slot) = self.ticks.get_mut(self.len) {
            *slot = u32::try_from(ticks).unwrap_or(u32::MAX);
            self.len += 1;
        }
    }

    /// Logs two lines: `what` with the count (no measured value in it, so
    /// that a test can expect it), then min, median and max in ticks and
    /// nanoseconds. The median is the lower one of an even count (the
    /// 500th smallest of 1000).
    fn log(mut self, what: &str) {
        let sorted = &mut self.ticks[..self.len];
        sorted.sort_unstable();
        let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
            return;
        };
        let median = sorted[(sorted.len() - 1) / 2];
        let hz = timer::frequency().max(1);
        let ns = |ticks: u32| u64::from(ticks) * 1_000_000_000 / hz;
        defmt::info!(
            "latency: {=str}: {=usize} interrupts measured",
            what,
            sorted.len()
        );
        defmt::info!(
            "latency: {=str}: min {=u32} median {=u32} max {=u32} ticks over {=usize} ({=u64} ns median; min {=u64} ns, max {=u64} ns; counter at {=u64} Hz)",
            what,
            min,
            median,
            max,
            sorted.len(),
            ns(median),
            ns(min),
            ns(max),
            hz,
        );
    }
}

/// What [`physical`] logs and what a test expects: the measured path.
pub const PHYSICAL: &str = "physical IRQ, line raised to the EL2 handler";
/// What [`virtual_interrupts`] logs: the measured path.
pub const VIRTUAL: &str = "virtual IRQ, injection to the guest's handler";

/// CNTPCT_EL0 at the IRQ vector's entry, minus CNTHP_CVAL_EL2, for the last
/// timer interrupt. Written by the handler, read by [`physical`] on the
/// same CPU (plain loads and stores: no read-modify-write is needed).
static SAMPLE: AtomicU64 = AtomicU64::new(0);
/// How many timer interrupts the handler has taken.
static TAKEN: AtomicU32 = AtomicU32::new(0);
/// How many other interrupts it has taken (none is expected).
static OTHERS: AtomicU32 = AtomicU32::new(0);

// SAFETY (of the whole block): the table is 2 KiB aligned as VBAR_EL2
// requires and every entry fits in its 0x80 bytes. The IRQ entry (EL2 with
// SP_EL2, the only one expected) pushes x0 and x1 before it overwrites x0
// with the counter; `latency_el2_irq` then saves every other register the
// AAPCS64 lets the Rust handler clobber (x2-x18, x30, q0-q31, FPCR, FPSR;
// x1 unchanged) on a frame it allocates on the current stack, kept 16-byte
// aligned, and restores all of them, x0 and x1 last, before `eret`. The
// handler runs with IRQs masked and nothing in it can take a synchronous
// exception that returns, so ELR_EL2 and SPSR_EL2 stay as the entry left
// them. Every symbol and macro name is prefixed `latency_el2_`: the
// crate's `global_asm!` blocks share one assembly namespace.
global_asm!(
    r#"
    .macro latency_el2_trap index
    .balign 0x80
    mov     x0, #\index
    b       latency_el2_unexpected
    .endm

    .section .text.latency_el2, "ax"
    .balign 0x800
    .global latency_el2_vectors
latency_el2_vectors:
    // Current EL with SP_EL0.
    latency_el2_trap 0
    latency_el2_trap 1
    latency_el2_trap 2
    latency_el2_trap 3
    // Current EL with SP_EL2: the IRQ is the one expected.
    latency_el2_trap 4
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mrs     x0, cntpct_el0
    b       latency_el2_irq
    latency_el2_trap 6
    latency_el2_trap 7
    // Lower EL, AArch64 and AArch32: no guest runs meanwhile.
    latency_el2_trap 8
    latency_el2_trap 9
    latency_el2_trap 10
    latency_el2_trap 11
    latency_el2_trap 12
    latency_el2_trap 13
    latency_el2_trap 14
    latency_el2_trap 15

    // x0 = CNTPCT_EL0 at the vector's entry; the interrupted x0 and x1 at
    // [sp]. Frame: x0-x18 and x30 (160 bytes), FPCR and FPSR (16), q0-q31
    // (512).
latency_el2_irq:
    sub     sp, sp, #688
    "#,
    caller_saved_x!(stp),
    r#"
    mrs     x1, fpcr
    mrs     x2, fpsr
    stp     x1, x2, [sp, #160]
    "#,
    q_regs!(stp, sp, 176),
    r#"
    bl      latency_el2_irq_handler
    ldp     x1, x2, [sp, #160]
    msr     fpcr, x1
    msr     fpsr, x2
    "#,
    q_regs!(ldp, sp, 176),
    caller_saved_x!(ldp),
    r#"
    add     sp, sp, #688
    ldp     x0, x1, [sp], #16
    eret
    "#
);

extern "C" {
    /// The vector table above (only its address is used).
    static latency_el2_vectors: [u8; 0x800];
}

/// CNTHP_CVAL_EL2: the EL2 physical timer's compare value.
fn compare_value() -> u64 {
    let cval;
    // SAFETY: reading CNTHP_CVAL_EL2 at EL2 has no side effect (aarch64-cpu
    // 11 does not define the register).
    unsafe { asm!("mrs {}, cnthp_cval_el2", out(reg) cval, options(nomem, nostack)) };
    cval
}

/// Arms the EL2 physical timer to raise its line when CNTPCT_EL0 reaches
/// `cval` (CNTHP_CVAL_EL2, then CNTHP_CTL_EL2.ENABLE = 1, IMASK = 0).
fn arm_at(cval: u64) {
    // SAFETY: writing CNTHP_CVAL_EL2 at EL2 only changes this CPU's EL2
    // physical timer's deadline; it touches no memory.
    unsafe { asm!("msr cnthp_cval_el2, {}", in(reg) cval, options(nomem, nostack)) };
    CNTHP_CTL_EL2.write(CNTHP_CTL_EL2::ENABLE::SET + CNTHP_CTL_EL2::IMASK::CLEAR);
    barrier::isb(barrier::SY);
}

/// Measures [`SAMPLES`] physical interrupts from the EL2 physical timer's
/// compare value to EL2's IRQ vector (see the module's documentation), and
/// logs them. Needs `gicd` forwarding and IRQs masked at EL2; enables the
/// timer's PPI, and leaves IRQs masked, the timer disarmed and VBAR_EL2 as
/// it found them.
pub fn physical(gicd: &Distributor<Mmio>) -> Result<(), Failure> {
    gicd.enable_interrupt(board::EL2_PHYS_TIMER_INTID)?;
    gicd.enable();
    let vectors_before = VBAR_EL2.get();
    VBAR_EL2.set(core::ptr::addr_of!(latency_el2_vectors) as u64);
    barrier::isb(barrier::SY);

    let delay = timer::ticks_from_micros(PHYSICAL_DELAY_US).max(1);
    let wait = timer::ticks_from_micros(PHYSICAL_WAIT_US);
    let mut samples = Samples::new();
    let mut late: usize = 0;
    let mut result = Ok(());
    exceptions::unmask_irqs();
    while !samples.full() {
        let taken = TAKEN.load(Ordering::Acquire);
        let cval = timer::now() + delay;
        arm_at(cval);
        let on_time = timer::now() < cval;
        let deadline = cval + wait;
        // The counter is read only every 10,000 polls: the waiting loop's
        // own system-register accesses then perturb the delivery little
        // (under QEMU, reading it on every poll measured some 15% slower).
        'wait: while timer::now() < deadline {
            for _ in 0..10_000 {
                if TAKEN.load(Ordering::Acquire) != taken {
                    break 'wait;
                }
                core::hint::spin_loop();
            }
        }
        if TAKEN.load(Ordering::Acquire) == taken {
            result = Err(Failure::Timeout(
                "latency: the EL2 physical timer's interrupt did not arrive",
            ));
            break;
        }
        if on_time {
            samples.push(SAMPLE.load(Ordering::Relaxed));
        } else {
            late += 1;
            if late > PHYSICAL_LATE_LIMIT {
                result = Err(Failure::Timeout(
                    "latency: the EL2 physical timer could not be armed ahead of its deadline",
                ));
                break;
            }
        }
    }
    exceptions::mask_irqs();
    timer::disarm();
    VBAR_EL2.set(vectors_before);
    barrier::isb(barrier::SY);
    result?;
    if OTHERS.load(Ordering::Relaxed) != 0 {
        return Err(Failure::WrongInterrupts(
            "latency: interrupts other than the EL2 physical timer's arrived",
        ));
    }
    if late != 0 {
        defmt::info!(
            "latency: {=usize} compare value(s) passed before the timer was enabled: armed again",
            late
        );
    }
    samples.log(PHYSICAL);
    Ok(())
}

/// Called by `latency_el2_irq` with the counter read at the vector's
/// entry: acknowledges each pending interrupt (GICC_IAR); for the EL2
/// physical timer's, records `entry` − CNTHP_CVAL_EL2 and disarms the
/// timer (its line is level-sensitive); then ends each (GICC_EOIR, and
/// GICC_DIR: EL2's interface runs split EOI).
#[no_mangle]
extern "C" fn latency_el2_irq_handler(entry: u64) {
    irq::GICC.handle_pending_with(|ack| {
        if ack.intid() == board::EL2_PHYS_TIMER_INTID {
            let cval = compare_value();
            timer::disarm();
            SAMPLE.store(entry.saturating_sub(cval), Ordering::Relaxed);
            TAKEN.store(TAKEN.load(Ordering::Relaxed) + 1, Ordering::Release);
        } else {
            OTHERS.store(OTHERS.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        Deactivation::Deactivate
    });
}

/// Called by the vector table for any other exception (`index`: the
/// vector's, 0-15): logs it and ends the run.
#[no_mangle]
extern "C" fn latency_el2_unexpected(index: u64) -> ! {
    defmt::error!(
        "latency: unexpected exception at EL2 (vector {=u64}): ESR_EL2 {=u64:#010x}, ELR_EL2 {=u64:#x}",
        index,
        ESR_EL2.get(),
        ELR_EL2.get()
    );
    crate::verdict::report(Err(Failure::Exception(
        "latency: unexpected exception at EL2",
    )))
}

/// Measures [`SAMPLES`] virtual interrupts from their injection to the
/// guest's IRQ vector (see the module's documentation), with the latency
/// guest ([`guest_latency`]) on `vm`'s vCPU (MPIDR affinity `mpidr`), and
/// logs them. Needs the VM after the demo guest's run; checks that the
/// vGIC saw each interrupt completed once.
pub fn virtual_interrupts(vm: &Vm, cpu: &mut Cpu, mpidr: u64) -> Result<(), Failure> {
    let completed_before = vm.vgic().stats().completed;
    let mut vcpu = Vcpu::new(guest_latency::entry(), 0, guest_latency::stack_top(), mpidr);
    let mut samples = Samples::new();
    let mut injected_at = None;
    let mut refused = false;
    let watchdog = Some(VIRTUAL_WATCHDOG_US);
    let stop = vm.run_with(VCPU, cpu, &mut vcpu, watchdog, &mut |vm, _, regs| {
        match regs.x[0] {
            guest_latency::hvc::NEXT => {
                if let Some(at) = injected_at.take() {
                    samples.push(regs.x[1].saturating_sub(at));
                }
                if samples.full() {
                    return Hypercall::Stop(Stop::Done);
                }
                // Injection: the counter, then the line's rising edge (an
                // edge-triggered SPI latches it pending) and its fall.
                let at = timer::now();
                let id = guest_latency::INTID;
                let vgic = vm.vgic();
                let raised = vgic
                    .set_line(VCPU, id, true)
                    .and_then(|_| vgic.set_line(VCPU, id, false));
                if raised.is_err() {
                    refused = true;
                    return Hypercall::Stop(Stop::Unexpected);
                }
                injected_at = Some(at);
                Hypercall::Return(0)
            }
            guest_latency::hvc::FAIL => Hypercall::Stop(Stop::GuestFailed(regs.x[1])),
            // Unknown call: -1 in x0, as SMCCC does.
            _ => Hypercall::Return(u64::MAX),
        }
    });
    match stop {
        Stop::Done => {}
        Stop::Timeout => {
            return Err(Failure::Timeout(
                "latency: the virtual-interrupt measurement did not finish in time",
            ))
        }
        Stop::GuestFailed(why) => {
            defmt::error!(
                "latency: the latency guest failed: {=u64:#x} ({=str})",
                why,
                match why {
                    guest_latency::hvc::FAIL_GIC => "its GIC refused to be programmed",
                    guest_latency::hvc::FAIL_MISSED => "an injected interrupt did not arrive",
                    _ => "ESR_EL1 of an unexpected exception",
                }
            );
            return Err(Failure::Exception("latency: the latency guest failed"));
        }
        _ if refused => {
            return Err(Failure::Exception(
                "latency: the vGIC refused to raise the measured interrupt",
            ))
        }
        _ => {
            return Err(Failure::Exception(
                "latency: unexpected exit from the latency guest",
            ))
        }
    }
    let completed = vm.vgic().stats().completed - completed_before;
    if completed != SAMPLES as u64 {
        defmt::error!(
            "latency: {=u64} completions in the vGIC for {=usize} interrupts",
            completed,
            SAMPLES
        );
        return Err(Failure::WrongInterrupts(
            "latency: the vGIC did not see each measured interrupt completed once",
        ));
    }
    samples.log(VIRTUAL);
    Ok(())
}
