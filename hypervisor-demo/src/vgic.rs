//! The hypervisor's side of the virtual GIC: list registers, the
//! maintenance interrupt, and the forwarded timer.
//!
//! The guest gets interrupts only through the list registers of this CPU's
//! virtual interface control frame (GICH, at 0x0803_0000), which the
//! driver's [`VirtualInterface`] manages:
//!
//! * [`inject_software`] injects 8 virtual SPIs (INTIDs 40-47, HW = 0, each
//!   with the EOI maintenance bit) of mixed priorities before the guest
//!   runs. QEMU has 4 list registers: the driver keeps the 4 most urgent
//!   in list registers and queues the others by priority.
//! * Each guest EOI of one of them raises the physical maintenance
//!   interrupt (PPI 9, INTID 25) at EL2; [`on_maintenance`] lets the driver
//!   retire the completed list registers and refill them from the queue,
//!   and counts what it reports.
//! * The guest's virtual timer raises the physical PPI 11 (INTID 27) at
//!   EL2. EL2's CPU interface runs in split EOI mode, so the IRQ handler
//!   only drops its priority (GICC_EOIR) and [`forward_vtimer`] injects it
//!   with HW = 1 (virtual INTID 27 backed by physical INTID 27): the
//!   physical interrupt stays active until the guest's EOI in GICV
//!   deactivates it, so it cannot fire again at EL2 in the meantime.

use gic_driver::bus::Mmio;
use gic_driver::virt::{Hcr, Injection, ListRegister, VirtualInterface, VtrInfo};
use gic_driver::{Distributor, Error, Group, IntId, Priority};

use crate::board;
use crate::exceptions::IrqLocked;

/// The software interrupts injected, in injection order: virtual INTID
/// 40 + n at priority `SOFTWARE[n]` (multiples of 8: the list register's
/// priority field has 5 bits).
pub const SOFTWARE: [u8; 8] = [0xA0, 0x40, 0x80, 0x20, 0xC0, 0x60, 0x10, 0x90];
/// The first software INTID.
const FIRST_SOFTWARE: u32 = 40;
/// Priority of the forwarded timer in its list register.
const VTIMER_PRIORITY: Priority = Priority(0xA0);

/// The virtual INTID of software interrupt `n` (0-7).
pub fn software_intid(n: usize) -> IntId {
    IntId::new(FIRST_SOFTWARE + n as u32).unwrap_or(IntId::SPURIOUS)
}

/// What the maintenance interrupts and the timer forwarding did.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// Maintenance interrupts taken.
    pub maintenance_irqs: u32,
    /// Completions reported per software interrupt (index n: INTID 40 + n).
    pub completed: [u32; SOFTWARE.len()],
    /// Completions of interrupts that were not injected.
    pub stray_completions: u32,
    /// List registers refilled from the queue.
    pub refills: usize,
    /// Times the physical timer interrupt was forwarded.
    pub vtimer_forwards: u32,
    /// The first error the driver reported from an interrupt handler.
    pub error: Option<Error>,
}

impl Stats {
    /// Completions reported in total.
    pub fn completions(&self) -> u32 {
        self.completed.iter().sum::<u32>() + self.stray_completions
    }
}

struct State {
    vif: VirtualInterface<Mmio>,
    stats: Stats,
}

/// The virtual interface and its statistics: set up by [`init`], used by
/// the IRQ handler while the guest runs.
static STATE: IrqLocked<Option<State>> = IrqLocked::new(None);

/// Sets up the virtual interface and the physical interrupts behind it.
///
/// [`VirtualInterface::init`] clears GICH_HCR, the list registers, GICH_APR
/// and GICH_VMCR (the guest programs its own GICV_CTLR/PMR/BPR, which are
/// views of VMCR). GICH_HCR.En lets the virtual CPU interface signal its
/// list registers; the driver writes it with the first injection, adding
/// the refill conditions (NPIE/UIE) itself while interrupts are queued.
/// The maintenance interrupt and the virtual timer's PPI are enabled in
/// the Distributor, targeting EL2 (HCR_EL2.IMO).
pub fn init(gicd: &Distributor<Mmio>) -> Result<VtrInfo, Error> {
    // SAFETY: board::GICH_BASE is QEMU virt's GICH frame (this CPU's view);
    // the MMU is off at EL2, so it is Device memory, and only this interface
    // uses it.
    let mut vif = VirtualInterface::new(unsafe { Mmio::new(board::GICH_BASE) });
    vif.init();
    vif.set_hcr(Hcr::ENABLED)?;
    let info = vif.info();
    gicd.enable_interrupt(board::MAINTENANCE_INTID)?;
    gicd.enable_interrupt(board::VIRT_TIMER_INTID)?;
    STATE.with(|s| {
        *s = Some(State {
            vif,
            stats: Stats::default(),
        })
    });
    Ok(info)
}

/// Runs `f` on the state set up by [`init`]; `None` before that.
fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> Option<R> {
    STATE.with(|s| s.as_mut().map(f))
}

/// Injects the 8 software interrupts (HW = 0, EOI maintenance bit set, so
/// the guest's EOI tells the hypervisor), logging where each went.
pub fn inject_software() -> Result<(), Error> {
    for (n, &priority) in SOFTWARE.iter().enumerate() {
        let lr = ListRegister::software(software_intid(n), Priority(priority), Group::Group1)?
            .with_eoi_maintenance();
        let placed = with_state(|s| s.vif.inject(lr)).unwrap_or(Err(Error::NoResidentVcpu))?;
        defmt::info!(
            "injected vINTID {=u32} (priority {=u8:#04x}, HW=0, EOI maintenance): {}",
            software_intid(n).get(),
            priority,
            Where(placed)
        );
        defmt::debug!("{}: {}", lr, placed);
    }
    let (in_lrs, queued) =
        with_state(|s| (s.vif.in_use().count_ones(), s.vif.queued_len())).unwrap_or_default();
    defmt::info!(
        "{=u32} in list registers, {=usize} queued by priority",
        in_lrs,
        queued
    );
    Ok(())
}

/// Where an injection went, for the log.
struct Where(Injection);

impl defmt::Format for Where {
    fn format(&self, f: defmt::Formatter) {
        match self.0 {
            Injection::Written(n) => defmt::write!(f, "list register {=usize}", n),
            Injection::EvictedLessUrgent(n) => defmt::write!(
                f,
                "list register {=usize}, its less urgent interrupt back to the queue",
                n
            ),
            Injection::Queued => defmt::write!(f, "queued"),
            other => defmt::write!(f, "{}", other),
        }
    }
}

/// The maintenance interrupt: the driver reads GICH_MISR/EISR, retires the
/// list registers whose interrupts the guest completed, and refills them
/// from the queue, leaving no condition asserted.
pub fn on_maintenance() {
    with_state(|s| {
        let summary = s.vif.handle_maintenance();
        defmt::debug!("maintenance interrupt: {}", summary);
        let stats = &mut s.stats;
        stats.maintenance_irqs += 1;
        for done in &summary.completed {
            let n = done.intid().get().wrapping_sub(FIRST_SOFTWARE) as usize;
            match stats.completed.get_mut(n) {
                Some(count) => *count += 1,
                None => stats.stray_completions += 1,
            }
        }
        stats.refills += summary.refilled;
    });
}

/// The guest's virtual timer fired (physical INTID 27, already
/// acknowledged, priority dropped but still active): forward it to the
/// guest as a hardware interrupt, virtual INTID 27 backed by physical 27.
pub fn forward_vtimer() {
    with_state(|s| {
        s.stats.vtimer_forwards += 1;
        let injected = ListRegister::hardware(
            board::VIRT_TIMER_INTID,
            board::VIRT_TIMER_INTID,
            VTIMER_PRIORITY,
            Group::Group1,
        )
        .and_then(|lr| s.vif.inject(lr).map(|placed| (lr, placed)));
        match injected {
            Ok((lr, placed)) => defmt::debug!("forwarded the timer: {}: {}", lr, placed),
            Err(e) => {
                defmt::warn!("forwarding the timer failed: {}", e);
                s.stats.error.get_or_insert(e);
            }
        }
    });
}

/// What happened so far, and whether the virtual interface is now idle:
/// nothing queued and every list register empty (GICH_ELRSR).
pub fn stats() -> (Stats, bool) {
    with_state(|s| {
        let all = s.vif.info().list_register_mask();
        let idle = s.vif.queued_len() == 0 && s.vif.elrsr() & all == all;
        (s.stats, idle)
    })
    .unwrap_or_default()
}
