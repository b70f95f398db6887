//! One virtual machine with one vCPU: its virtual GIC and the run loop
//! that handles every exit.
//!
//! The guest's distributor is `gic-vgic`'s [`Vgic`] (the architectural
//! model of GICD, served from trapped accesses to the unmapped GICD page);
//! its CPU interface is the hardware GICV frame, fed through the list
//! registers of this CPU's GICH frame, which the driver's
//! [`VirtualInterface`] manages. Around every guest entry and exit the run
//! loop moves interrupt state between the two ([`Vgic::flush`] before
//! entry, [`Vgic::fold`] after exit), so each interrupt's pending and
//! active state has one owner at a time.
//!
//! Physical interrupts reach EL2 (HCR_EL2.IMO) while the guest runs:
//!
//! * a forwarded one (the EL1 timers, the UART, the PMU: [`FORWARDED`]) is
//!   acknowledged and only its priority dropped (EL2's GICC runs split
//!   EOI), and [`Vgic::physical_fired`] makes its virtual twin pending;
//!   the guest's EOI of that HW = 1 list register deactivates it;
//! * the maintenance interrupt (INTID 25) only makes the guest exit: the
//!   fold and flush around the exit do the refill it asks for;
//! * the EL2 physical timer is the built-in guest's watchdog, and makes
//!   the guest exit while an interrupt is listed ([`RECHECK_US`]).
//!
//! Traps ([`Vm::run`]): `hvc` and `smc` (HCR_EL2.TSC) carry PSCI calls
//! ([`psci`]) and the built-in guest's own calls; stage-2 data aborts on
//! the GICD page are served by the vGIC, and other stage-2 faults become
//! synchronous external aborts injected into the guest ([`mmio`]); any
//! other trap injects an undefined-instruction exception ([`inject`]).

use aarch64_cpu::registers::{Readable, ESR_EL2, FAR_EL2, HPFAR_EL2};
use gic_driver::bus::Mmio;
use gic_driver::virt::{VirtualInterface, VtrInfo};
use gic_driver::{Deactivation, Distributor, IntId};
use gic_vgic::{Vgic, VgicConfig};

use crate::inject::{self, Exception};
use crate::psci::{self, Outcome};
use crate::stats::{ExitReason, Stats};
use crate::vcpu::{Exit, GuestRegs, Vcpu};
use crate::{board, irq, mmio, timer};

/// The physical interrupts forwarded to the guest with HW = 1, each as
/// the same virtual INTID: the EL1 virtual timer (27), the EL1 physical
/// timer (30), the PMU (23) and the PL011 UART (SPI 1, INTID 33).
pub const FORWARDED: [IntId; 4] = [
    board::VIRT_TIMER_INTID,
    board::EL1_PHYS_TIMER_INTID,
    board::PMU_INTID,
    board::UART_INTID,
];

/// The vCPU's index in the vGIC.
const VCPU: u8 = 0;

/// While an interrupt is listed, the guest is made to exit at least this
/// often (the EL2 physical timer), so that the fold sees it completed and
/// the hypervisor can prod QEMU's GIC (its deviation 11: a HW = 1
/// interrupt the guest's EOI deactivates while its line is still high is
/// pending, but not signalled until the next write to the physical GIC).
/// Without it a guest that EOIs its timer just after re-arming it for a
/// deadline already passed, then waits in WFI (not trapped), would wait
/// for ever.
const RECHECK_US: u64 = 1_000;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The built-in guest reported DONE.
    Done,
    /// The built-in guest reported a failure; its ESR_EL1.
    GuestFailed(u64),
    /// PSCI SYSTEM_OFF.
    SystemOff,
    /// PSCI SYSTEM_RESET.
    SystemReset,
    /// PSCI CPU_OFF of the only vCPU: nothing can turn it on again.
    CpuOff,
    /// The watchdog fired first.
    Timeout,
    /// An exit the hypervisor cannot handle (a physical FIQ or SError), or
    /// a vGIC call the hypervisor's own state made fail.
    Unexpected,
}

/// What a guest's own hypercall (an `hvc` that is not PSCI) asks.
pub enum Hypercall {
    /// Resume the guest, with this in x0.
    Return(u64),
    /// End the run.
    Stop(Stop),
}

/// The VM: its virtual GIC, the physical GIC behind it, what happened.
pub struct Vm<'a> {
    /// The guest's virtual GIC.
    pub vgic: Vgic,
    vif: VirtualInterface<Mmio>,
    gicd: &'a Distributor<Mmio>,
    /// What the run loop handled.
    pub stats: Stats,
    /// The vCPU's MPIDR affinity, as the guest reads it.
    mpidr: u64,
    /// The trap classes logged so far (the first of each is).
    seen: u32,
}

impl<'a> Vm<'a> {
    /// A VM whose vCPU has MPIDR affinity `mpidr`: the vGIC in its reset
    /// state with QEMU's 288 lines, the virtual interface reset
    /// ([`VirtualInterface::init`]: GICH_HCR, the list registers, GICH_APR
    /// and GICH_VMCR cleared), [`FORWARDED`] forwarded, the maintenance
    /// interrupt, the EL2 physical timer's and the forwarded ones enabled
    /// in the physical `gicd`, targeting EL2 (HCR_EL2.IMO), and `gicd`
    /// forwarding (GICD_CTLR).
    pub fn new(gicd: &'a Distributor<Mmio>, mpidr: u64) -> Result<Self, gic_vgic::Error> {
        // SAFETY: board::GICH_BASE is QEMU virt's GICH frame (this CPU's
        // view); the MMU is off at EL2, so it is Device memory, and only
        // this interface uses it.
        let mut vif = VirtualInterface::new(unsafe { Mmio::new(board::GICH_BASE) });
        vif.init();
        let mut vgic = Vgic::new(VgicConfig::default())?;
        for id in FORWARDED {
            vgic.forward(VCPU, id, id)?;
        }
        let own = [board::MAINTENANCE_INTID, board::EL2_PHYS_TIMER_INTID];
        for id in FORWARDED.iter().chain(&own) {
            gicd.enable_interrupt(*id)
                .map_err(gic_vgic::Error::Driver)?;
        }
        gicd.enable();
        Ok(Vm {
            vgic,
            vif,
            gicd,
            stats: Stats::default(),
            mpidr,
            seen: 0,
        })
    }

    /// GICH_VTR: list registers and priority bits.
    pub fn virtual_interface(&self) -> VtrInfo {
        self.vif.info()
    }

    /// Whether no interrupt is listed or queued (every list register empty
    /// by GICH_ELRSR, nothing in the driver's queue).
    pub fn interface_idle(&self) -> bool {
        let all = self.vif.info().list_register_mask();
        self.vif.queued_len() == 0 && self.vif.elrsr() & all == all
    }

    /// Runs `vcpu` until the guest stops: powers off, resets, reports (the
    /// built-in guest, through `hypercall`), or `watchdog_us` passes.
    pub fn run(
        &mut self,
        vcpu: &mut Vcpu,
        watchdog_us: Option<u64>,
        mut hypercall: impl FnMut(&mut Self, &mut GuestRegs) -> Hypercall,
    ) -> Stop {
        let deadline = watchdog_us.map(|us| timer::now() + timer::ticks_from_micros(us));
        let recheck = timer::ticks_from_micros(RECHECK_US);
        let mut completed_before = 0;
        let stop = loop {
            if self.vgic.flush(VCPU, &mut self.vif).is_err() {
                break Stop::Unexpected;
            }
            // The EL2 physical timer: the watchdog's deadline, and, while
            // an interrupt is listed, a look again in RECHECK_US (see
            // RECHECK_US for why).
            let now = timer::now();
            let listed = self.vif.in_use() != 0;
            match (deadline, listed) {
                (Some(d), true) => timer::arm_in(d.saturating_sub(now).min(recheck)),
                (Some(d), false) => timer::arm_in(d.saturating_sub(now)),
                (None, true) => timer::arm_in(recheck),
                (None, false) => timer::disarm(),
            }
            let exit = vcpu.run();
            if exit == Exit::Irq && !self.vif.misr().is_empty() {
                // The maintenance interrupt's conditions are about the list
                // registers, which the fold takes back: count it now, while
                // GICH_MISR still says so.
                self.stats.maintenance += 1;
            }
            if self.vgic.fold(VCPU, &mut self.vif).is_err() {
                break Stop::Unexpected;
            }
            let completed = self.vgic.stats().completed;
            if completed != completed_before {
                // QEMU 7.2 (the reference's deviation 11): when the guest's
                // EOI deactivates a HW = 1 interrupt whose line is still
                // high, the physical interrupt is pending again but not
                // signalled until the next write to the physical GIC. One
                // idempotent write (the timer's GICD_ISENABLER0 bit)
                // makes QEMU look again.
                let _ = self.gicd.enable_interrupt(board::VIRT_TIMER_INTID);
                completed_before = completed;
            }
            let stop = match exit {
                Exit::Irq => {
                    self.stats.exit(ExitReason::Irq);
                    self.physical_irqs(deadline)
                }
                Exit::Sync => self.trap(vcpu.regs_mut(), &mut hypercall),
                Exit::Fiq | Exit::SError => {
                    self.stats.exit(ExitReason::Unexpected);
                    Some(Stop::Unexpected)
                }
            };
            if let Some(stop) = stop {
                break stop;
            }
        };
        timer::disarm();
        stop
    }

    /// Takes every pending physical interrupt (GICC_IAR), and drops its
    /// priority (GICC_EOIR); deactivates (GICC_DIR) all but the forwarded
    /// ones, which the guest deactivates.
    fn physical_irqs(&mut self, deadline: Option<u64>) -> Option<Stop> {
        let mut stop = None;
        irq::GICC.handle_pending_with(|ack| {
            let id = ack.intid();
            self.stats.irq(id.get());
            if self.stats.irqs_of(id.get()) == 1 {
                defmt::info!("first physical IRQ of {}", id);
            }
            if id == board::MAINTENANCE_INTID {
                // Counted before the fold; the fold and the flush after
                // this refill the list registers.
            } else if FORWARDED.contains(&id) {
                if self.vgic.physical_fired(VCPU, id).is_ok() {
                    return Deactivation::LeaveActive;
                }
            } else if id == board::EL2_PHYS_TIMER_INTID {
                // Re-armed (or not) before the next entry.
                timer::disarm();
                if deadline.is_some_and(|d| timer::now() >= d) {
                    stop = Some(Stop::Timeout);
                }
            }
            Deactivation::Deactivate
        });
        stop
    }

    /// A synchronous exit: ESR_EL2.EC says which trap.
    fn trap(
        &mut self,
        regs: &mut GuestRegs,
        hypercall: &mut impl FnMut(&mut Self, &mut GuestRegs) -> Hypercall,
    ) -> Option<Stop> {
        let esr = ESR_EL2.extract();
        let il = esr.is_set(ESR_EL2::IL);
        let elr = regs.elr;
        match esr.read_as_enum(ESR_EL2::EC) {
            // ELR_EL2 already points after the `hvc`.
            Some(ESR_EL2::EC::Value::HVC64) => {
                self.stats.exit(ExitReason::Hvc);
                self.first(ExitReason::Hvc, elr);
                self.call(regs, hypercall)
            }
            // A trapped SMC's preferred return address is the `smc` itself.
            Some(ESR_EL2::EC::Value::SMC64) => {
                self.stats.exit(ExitReason::Smc);
                self.first(ExitReason::Smc, elr);
                regs.elr += 4;
                self.call(regs, hypercall)
            }
            Some(ESR_EL2::EC::Value::DataAbortLowerEL) => {
                let reason =
                    mmio::data_abort(self, regs, esr.get(), FAR_EL2.get(), HPFAR_EL2.get());
                self.stats.exit(reason);
                self.first(reason, elr);
                None
            }
            Some(ESR_EL2::EC::Value::InstrAbortLowerEL) => {
                self.stats.exit(ExitReason::InstructionAbort);
                self.first(ExitReason::InstructionAbort, elr);
                let far = FAR_EL2.get();
                inject::inject(regs, Exception::InstructionAbort { far }, il);
                None
            }
            _ => {
                self.stats.exit(ExitReason::OtherTrap);
                self.first(ExitReason::OtherTrap, elr);
                inject::inject(regs, Exception::Undefined, il);
                None
            }
        }
    }

    /// An `hvc` or `smc`: PSCI, or the guest's own call.
    fn call(
        &mut self,
        regs: &mut GuestRegs,
        hypercall: &mut impl FnMut(&mut Self, &mut GuestRegs) -> Hypercall,
    ) -> Option<Stop> {
        let function = regs.x[0] as u32;
        if !psci::is_psci(function) {
            return match hypercall(self, regs) {
                Hypercall::Return(x0) => {
                    regs.x[0] = x0;
                    None
                }
                Hypercall::Stop(stop) => Some(stop),
            };
        }
        self.stats.psci(psci::name(function));
        defmt::info!(
            "PSCI {=str} ({=u32:#x}, x1 {=u64:#x})",
            psci::name(function),
            function,
            regs.x[1]
        );
        match psci::call(function, [regs.x[1], regs.x[2], regs.x[3]], self.mpidr) {
            Outcome::Return(x0) => {
                regs.x[0] = x0;
                None
            }
            Outcome::CpuOff => Some(Stop::CpuOff),
            Outcome::SystemOff => Some(Stop::SystemOff),
            Outcome::SystemReset => Some(Stop::SystemReset),
        }
    }

    /// A trapped GICD access, served by the vGIC: loads are written back to
    /// their register, stores' effects on forwarded interrupts applied to
    /// the physical GIC.
    pub(crate) fn gicd_access(
        &mut self,
        offset: usize,
        access: &gic_vgic::trap::MmioAccess,
        regs: &mut GuestRegs,
    ) {
        self.stats.gicd(offset, access.write);
        if access.write {
            let value = access.store_value(regs.read(access.register)) as u32;
            let effects = self.vgic.write(VCPU, offset, access.width, value);
            for id in effects.deactivate {
                // The guest cleared a forwarded interrupt's virtual state
                // (ICPENDR, ICACTIVER): no EOI will deactivate it.
                let _ = self.gicd.clear_active(id);
            }
        } else {
            let value = self.vgic.read(VCPU, offset, access.width);
            regs.write(access.register, access.load_value(value.into()));
        }
    }

    /// Logs the first trap of each class.
    fn first(&mut self, reason: ExitReason, elr: u64) {
        let bit = 1 << reason as u32;
        if self.seen & bit == 0 {
            self.seen |= bit;
            defmt::info!(
                "first {} exit: ESR_EL2 {=u64:#010x}, ELR_EL2 {=u64:#x}, FAR_EL2 {=u64:#x}",
                reason,
                ESR_EL2.get(),
                elr,
                FAR_EL2.get()
            );
        }
    }
}
