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
//! * the vGIC's folds found each of those 9 list registers completed
//!   exactly once, and the virtual interface is idle (nothing queued,
//!   every list register empty);
//! * the timer was forwarded once and the guest's EOI deactivated the
//!   physical interrupt (neither active nor pending now);
//! * the guest programmed its distributor through the vGIC: it is enabled,
//!   the software interrupts and the timer are enabled at their
//!   priorities, and none of them is left pending or active;
//! * the guest's probes got the architecture's answers: a halfword GICD
//!   read reads zero (RAZ), a GICD load pair (no syndrome) and a load from
//!   an IPA with nothing behind it each take a synchronous external abort
//!   (ESR_EL1 0x96000010) at their address; exactly those two accesses
//!   were refused and those two aborts injected;
//! * no other physical interrupt arrived.

use gic_driver::{Acknowledged, IntId, Priority};

use crate::semihosting::{self, status};
use crate::vm::Stop;
use crate::{board, guest, irq};

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
    /// The virtual GIC refused a call.
    Vgic(gic_vgic::Error),
    /// An external guest could not be started.
    Boot,
}

impl From<gic_vgic::Error> for Failure {
    fn from(e: gic_vgic::Error) -> Self {
        Failure::Vgic(e)
    }
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
            Failure::Gic(_) | Failure::Vgic(_) => status::GIC_ERROR,
            Failure::Boot => status::UNEXPECTED_EXCEPTION,
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
            Failure::Vgic(e) => defmt::write!(f, "the virtual GIC refused a call: {}", e),
            Failure::Boot => defmt::write!(f, "the guest could not be started"),
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
        Stop::Timeout => Err(Failure::Timeout("the guest did not report in time")),
        _ => Err(Failure::Exception("unexpected exit from the guest")),
    }
}

/// The physical interrupt behind the guest's forwarded virtual timer, as
/// the hypervisor sees it after the guest's run.
#[derive(Clone, Copy)]
pub struct ForwardedTimer {
    /// How often it was taken at EL2 and forwarded.
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
    /// Whether the guest's distributor is as it programmed it: enabled,
    /// the software interrupts and the timer enabled at their priorities,
    /// none of them pending or active any more.
    pub programmed_and_quiet: bool,
    /// List registers the vGIC's folds found completed.
    pub completions: u64,
    /// Whether the virtual interface is idle: nothing queued, every list
    /// register empty.
    pub idle: bool,
    /// The forwarded timer's physical interrupt.
    pub timer: ForwardedTimer,
    /// Physical interrupts, other than the maintenance interrupt, the EL2
    /// physical timer (the hypervisor's) and the forwarded timer, that the
    /// hypervisor took during the run.
    pub other_irqs: u32,
    /// Trapped accesses to the guest's GICD page, and of those the ones the
    /// vGIC could not serve (a width GICD does not allow, no syndrome).
    pub gicd_accesses: (u32, u32),
    /// Exceptions the hypervisor injected into the guest.
    pub injected: u32,
    /// What the guest's probes of unservable accesses saw.
    pub probes: guest::Probes,
}

/// ESR_EL1 of the synchronous external abort the hypervisor injects for a
/// data access from EL1: EC 0x25 (data abort, same EL), IL, FSC 0b010000.
pub const INJECTED_DATA_ABORT: u64 = 0x25 << 26 | 1 << 25 | 0b01_0000;
/// The probes' accesses the vGIC cannot serve: a halfword read (RAZ) and a
/// load pair without a syndrome (an abort).
const REFUSED: u32 = 2;
/// The probes' aborts: the GICD load pair, the unmapped IPA.
const INJECTED: u32 = 2;

impl guest::Probes {
    /// Each probe saw what the architecture says: the halfword read as
    /// zero; both loads took a synchronous external abort at their
    /// address.
    pub fn as_architected(&self) -> bool {
        self.halfword == 0
            && self.pair == (INJECTED_DATA_ABORT, board::GICD_BASE as u64)
            && self.unmapped == (INJECTED_DATA_ABORT, guest::UNMAPPED_IPA)
    }
}

/// Every interrupt the guest gets: the software ones and its timer.
pub const COMPLETIONS: u64 = guest::SOFTWARE.len() as u64 + 1;

/// Phase 2, then: what the guest received and what the hypervisor saw.
pub fn phase2(run: GuestRun<impl Iterator<Item = (IntId, Priority)>>) -> Result<(), Failure> {
    if !each_once_in_priority_order(run.log) {
        return Err(Failure::WrongInterrupts(
            "the guest did not get each interrupt once, in priority order",
        ));
    }
    if run.completions != COMPLETIONS || !run.idle {
        return Err(Failure::WrongInterrupts(
            "the vGIC did not see each interrupt completed exactly once",
        ));
    }
    if !run.timer.deactivated_by_guest() {
        return Err(Failure::WrongInterrupts(
            "the forwarded timer was not deactivated by the guest",
        ));
    }
    let (accesses, refused) = run.gicd_accesses;
    if !run.programmed_and_quiet || accesses == 0 || refused != REFUSED {
        return Err(Failure::WrongInterrupts(
            "the guest's distributor was not programmed through the vGIC, or interrupts were left in it",
        ));
    }
    if !run.probes.as_architected() || run.injected != INJECTED {
        return Err(Failure::Exception(
            "an access the vGIC cannot serve, or to nothing, was not answered as the architecture says",
        ));
    }
    if run.other_irqs != 0 {
        return Err(Failure::WrongInterrupts(
            "unexpected physical interrupts during the guest's run",
        ));
    }
    Ok(())
}

/// Whether `log` holds each software interrupt once, at the priority it
/// was given, in strictly rising priority value (most urgent first), and
/// the virtual timer once, anywhere.
fn each_once_in_priority_order(log: impl Iterator<Item = (IntId, Priority)>) -> bool {
    let mut seen = [0u32; guest::SOFTWARE.len()];
    let mut timer_seen = 0;
    let mut in_order = true;
    let mut last: Option<Priority> = None;
    for (id, priority) in log {
        if id == board::VIRT_TIMER_INTID {
            timer_seen += 1;
            continue;
        }
        match (0..seen.len()).find(|&n| guest::software_intid(n) == id) {
            Some(n) => {
                seen[n] += 1;
                in_order &= priority.get() == guest::SOFTWARE[n];
            }
            None => in_order = false,
        }
        in_order &= last.is_none_or(|p| p < priority);
        last = Some(priority);
    }
    seen.iter().all(|&n| n == 1) && timer_seen == 1 && in_order
}
