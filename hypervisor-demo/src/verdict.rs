//! What the demo must observe to pass, and how the verdict leaves QEMU.
//!
//! [`main`](crate::hypervisor_main) tells the story and logs what happened;
//! the functions here only decide. Each check names the [`Failure`] it
//! reports, and [`report`] logs the verdict line and ends the run with the
//! matching exit status ([`semihosting`]).
//!
//! Phase 1 passes when, before the deadline, exactly two interrupts arrived:
//! the SGI from this CPU interface, then the EL2 physical timer's PPI.
//!
//! Phase 2 passes when the guest reported DONE and
//!
//! * it acknowledged each of the 8 software interrupts exactly once, in
//!   priority order (all were pending before it unmasked IRQs), each at the
//!   priority it was injected with, and its timer exactly once;
//! * the maintenance interrupt reported each software interrupt completed
//!   exactly once, nothing else completed, and the virtual interface is
//!   idle (nothing queued, every list register empty);
//! * the timer was forwarded once and the guest's EOI deactivated the
//!   physical interrupt (neither active nor pending now);
//! * no other physical interrupt arrived, and the guest touched its GICD
//!   page exactly once.

use gic_driver::{Acknowledged, IntId, Priority};

use crate::semihosting::{self, status};
use crate::vcpu::Stop;
use crate::{board, irq, vgic};

/// Why the demo failed, with the exit status that reports it.
pub enum Failure {
    /// The driver refused a call.
    Gic(gic_driver::Error),
    /// Not every expected interrupt arrived in time.
    Timeout(&'static str),
    /// Other interrupts, or the expected ones in another order.
    WrongInterrupts(&'static str),
    /// The guest took or caused an exception nobody expected.
    Exception(&'static str),
    /// The IRQ handler gave up after [`irq::STORM_LIMIT`] interrupts; the
    /// last one had this INTID.
    Storm(IntId),
}

impl From<gic_driver::Error> for Failure {
    fn from(e: gic_driver::Error) -> Self {
        Failure::Gic(e)
    }
}

impl Failure {
    /// The exit status that reports this failure to the runner.
    fn status(&self) -> u32 {
        match self {
            Failure::Gic(_) => status::GIC_ERROR,
            Failure::Timeout(_) => status::TIMEOUT,
            Failure::WrongInterrupts(_) | Failure::Storm(_) => status::WRONG_INTERRUPTS,
            Failure::Exception(_) => status::UNEXPECTED_EXCEPTION,
        }
    }
}

impl defmt::Format for Failure {
    fn format(&self, f: defmt::Formatter) {
        match self {
            Failure::Gic(e) => defmt::write!(f, "the GIC driver refused a call: {}", e),
            Failure::Timeout(why) | Failure::WrongInterrupts(why) | Failure::Exception(why) => {
                defmt::write!(f, "{=str}", why)
            }
            Failure::Storm(last) => defmt::write!(
                f,
                "interrupt storm, {=usize} interrupts, the last {}",
                irq::STORM_LIMIT,
                last
            ),
        }
    }
}

/// Logs the verdict and ends the run: status 0 for a pass, the failure's
/// status otherwise.
pub fn report(result: Result<(), Failure>) -> ! {
    match result {
        Ok(()) => {
            defmt::info!("verdict: PASS");
            semihosting::exit(status::SUCCESS)
        }
        Err(failure) => {
            defmt::error!("verdict: FAIL: {}", failure);
            semihosting::exit(failure.status())
        }
    }
}

/// Phase 1: `arrived` says whether two interrupts arrived before the
/// deadline; `received` is the handler's log (the first [`irq::CAPACITY`])
/// and `count` how many it handled in all. The first must be `sgi`, from
/// `this_cpu`.
pub fn phase1(
    arrived: bool,
    sgi: IntId,
    this_cpu: u8,
    received: impl Iterator<Item = Acknowledged>,
    count: usize,
) -> Result<(), Failure> {
    if !arrived {
        return Err(Failure::Timeout("timed out waiting for interrupts"));
    }
    let expected = [Expected::Sgi(sgi, this_cpu), Expected::El2PhysTimer];
    let as_expected = count == expected.len()
        && received
            .zip(expected)
            .all(|(ack, expected)| expected.matches(ack));
    if !as_expected {
        return Err(Failure::WrongInterrupts("unexpected interrupts or order"));
    }
    Ok(())
}

/// An interrupt phase 1 expects.
#[derive(Clone, Copy)]
enum Expected {
    /// This SGI, from this CPU interface.
    Sgi(IntId, u8),
    /// The EL2 physical timer's PPI.
    El2PhysTimer,
}

impl Expected {
    fn matches(self, ack: Acknowledged) -> bool {
        match self {
            Expected::Sgi(id, cpu) => ack.intid() == id && ack.source_cpu() == Some(cpu),
            Expected::El2PhysTimer => ack.intid() == board::EL2_PHYS_TIMER_INTID,
        }
    }
}

/// Phase 2, first: the guest must have reported DONE.
pub fn guest_stop(stop: Stop) -> Result<(), Failure> {
    match stop {
        Stop::Done => Ok(()),
        Stop::GuestFailed(_) => Err(Failure::Exception("the guest took an unexpected exception")),
        Stop::Unexpected => Err(Failure::Exception("unexpected exit from the guest")),
        Stop::Timeout => Err(Failure::Timeout("the guest did not report in time")),
    }
}

/// The physical interrupt behind the guest's forwarded virtual timer, as
/// the hypervisor sees it after the guest's run.
#[derive(Clone, Copy)]
pub struct ForwardedTimer {
    /// How often the IRQ handler forwarded it.
    pub forwards: u32,
    /// Whether the physical INTID is still active in the Distributor.
    pub active: bool,
    /// Whether the physical INTID is pending in the Distributor.
    pub pending: bool,
}

impl ForwardedTimer {
    /// Forwarded once, and the guest's EOI deactivated the physical
    /// interrupt: it is neither active nor pending any more.
    pub fn deactivated_by_guest(&self) -> bool {
        self.forwards == 1 && !self.active && !self.pending
    }
}

/// What phase 2 observed once the guest reported.
pub struct GuestRun<L> {
    /// The guest's log: each virtual interrupt it acknowledged, with the
    /// running priority it saw.
    pub log: L,
    /// What the maintenance interrupts and the timer forwarding did.
    pub stats: vgic::Stats,
    /// Whether the virtual interface is idle: nothing queued, every list
    /// register empty.
    pub idle: bool,
    /// The forwarded timer's physical interrupt.
    pub timer: ForwardedTimer,
    /// Physical interrupts, other than the maintenance interrupt and the
    /// forwarded timer, that the hypervisor handled during the run.
    pub other_irqs: usize,
    /// Trapped accesses to the guest's GICD page.
    pub gicd_accesses: u32,
}

/// Phase 2, then: what the guest received and what the hypervisor saw.
pub fn phase2(run: GuestRun<impl Iterator<Item = (IntId, Priority)>>) -> Result<(), Failure> {
    if let Some(e) = run.stats.error {
        return Err(Failure::Gic(e));
    }
    if !each_once_in_priority_order(run.log) {
        return Err(Failure::WrongInterrupts(
            "the guest did not get each interrupt once, in priority order",
        ));
    }
    let stats = &run.stats;
    if stats.completed.iter().any(|&n| n != 1) || stats.stray_completions != 0 || !run.idle {
        return Err(Failure::WrongInterrupts(
            "maintenance did not complete each software interrupt exactly once",
        ));
    }
    if !run.timer.deactivated_by_guest() {
        return Err(Failure::WrongInterrupts(
            "the forwarded timer was not deactivated by the guest",
        ));
    }
    if run.other_irqs != 0 || run.gicd_accesses != 1 {
        return Err(Failure::WrongInterrupts(
            "unexpected physical interrupts or GICD accesses during the guest's run",
        ));
    }
    Ok(())
}

/// Whether `log` holds each software interrupt once, at the priority it
/// was injected with, in strictly rising priority value (most urgent
/// first), and the virtual timer once, anywhere.
fn each_once_in_priority_order(log: impl Iterator<Item = (IntId, Priority)>) -> bool {
    let mut seen = [0u32; vgic::SOFTWARE.len()];
    let mut timer_seen = 0;
    let mut in_order = true;
    let mut last: Option<Priority> = None;
    for (id, priority) in log {
        if id == board::VIRT_TIMER_INTID {
            timer_seen += 1;
            continue;
        }
        match (0..seen.len()).find(|&n| vgic::software_intid(n) == id) {
            Some(n) => {
                seen[n] += 1;
                in_order &= priority.get() == vgic::SOFTWARE[n];
            }
            None => in_order = false,
        }
        in_order &= last.is_none_or(|p| p < priority);
        last = Some(priority);
    }
    seen.iter().all(|&n| n == 1) && timer_seen == 1 && in_order
}
