//! A virtual machine with one vCPU per physical CPU: its virtual GIC, the
//! vCPUs' PSCI power states, and the run loop that handles every exit.
//!
//! The guest's distributor is `gic-vgic`'s [`Vgic`] (the architectural
//! model of GICD, served from trapped accesses to the unmapped GICD page),
//! shared by the vCPUs (it locks its distributor itself, and an exit with
//! nothing to do takes no lock); each vCPU's CPU interface is the
//! hardware GICV frame of the physical CPU running it, fed through the
//! list registers of that CPU's GICH frame, which the driver's
//! [`VirtualInterface`] manages ([`Cpu`]). Around every guest entry and
//! exit the run loop moves interrupt state between the two
//! ([`Vgic::flush`] before entry, [`Vgic::fold`] after exit), so each
//! interrupt's pending and active state has one owner at a time.
//!
//! vCPU n runs on CPU n. When a trapped GICD write (a guest's GICD_SGIR,
//! say) makes an interrupt pending for another vCPU that is in the guest,
//! that vCPU's CPU is kicked: the physical SGI [`board::KICK_SGI`] makes
//! it exit, and its flush lists the interrupt; a vCPU waiting in WFI
//! (not trapped) wakes the same way. A vCPU marks itself in the guest
//! before its flush looks for work, and a writer looks whether it is in
//! the guest after it gave it work, each with a full barrier between
//! (SeqCst fences), so at least one of the two sees the other and a kick
//! is never lost.
//!
//! Physical interrupts reach EL2 (HCR_EL2.IMO) while the guest runs:
//!
//! * a forwarded one (the EL1 timers, the UART, the PMU: [`FORWARDED`]) is
//!   acknowledged and only its priority dropped (EL2's GICC runs split
//!   EOI), and [`Vgic::physical_fired`] makes its virtual twin pending;
//!   the guest's EOI of that HW = 1 list register deactivates it;
//! * the maintenance interrupt (INTID 25) and the kick only make the guest
//!   exit: the fold and flush around the exit do the refill they ask for;
//! * the EL2 physical timer is the vCPU's watchdog, and makes the guest
//!   exit while an interrupt is listed ([`RECHECK_US`]).
//!
//! Traps ([`Vm::run`]): `hvc` and `smc` (HCR_EL2.TSC) carry PSCI calls
//! ([`psci`]: CPU_ON starts another vCPU on its CPU, which waits for it
//! in WFI) and the built-in guests' own calls; stage-2 data aborts on the
//! GICD page are served by the vGIC, and other stage-2 faults become
//! synchronous external aborts injected into the guest ([`mmio`]); any
//! other trap injects an undefined-instruction exception ([`inject`]).
//!
//! A run ends when a vCPU stops it (PSCI SYSTEM_OFF or SYSTEM_RESET, the
//! built-in guest's report, a watchdog, a failure): its CPU tells the
//! others, which leave their guests and park, gathers their counts and
//! ends the run ([`run_cpu`]).

use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

use aarch64_cpu::asm::{barrier, wfi};
use aarch64_cpu::registers::{
    Readable, Writeable, CNTP_CTL_EL0, CNTV_CTL_EL0, ESR_EL2, FAR_EL2, HPFAR_EL2,
};
use gic_driver::bus::Mmio;
use gic_driver::virt::{VirtualInterface, VtrInfo};
use gic_driver::{CpuMask, Deactivation, IntId, SgiTarget};
use gic_vgic::{Vgic, VgicConfig};

use crate::board::MAX_CPUS;
use crate::inject::{self, Exception};
use crate::psci::{self, Outcome, Power, PowerControl};
use crate::stats::{ExitReason, Stats};
use crate::vcpu::{Exit, GuestRegs, Vcpu};
use crate::{board, irq, mmio, stage2, timer};

/// The physical interrupts forwarded to the guest with HW = 1, each as
/// the same virtual INTID: the EL1 virtual timer (27), the EL1 physical
/// timer (30), the PMU (23) (each vCPU's own PPIs) and the PL011 UART
/// (SPI 1, INTID 33, to vCPU 0), in the order they are forwarded while
/// the vGIC has room ([`gic_vgic::MAX_FORWARDED`]: with 8 vCPUs the last
/// PMU and physical-timer PPIs are not).
pub const FORWARDED: [IntId; 4] = [
    board::VIRT_TIMER_INTID,
    board::EL1_PHYS_TIMER_INTID,
    board::PMU_INTID,
    board::UART_INTID,
];

/// While an interrupt is listed, the guest is made to exit at least this
/// often (the EL2 physical timer), so that the fold sees it completed and
/// the hypervisor can prod QEMU's GIC (its deviation 11: a HW = 1
/// interrupt the guest's EOI deactivates while its line is still high is
/// pending, but not signalled until the next write to the physical GIC).
/// Without it a guest that EOIs its timer just after re-arming it for a
/// deadline already passed, then waits in WFI (not trapped), would wait
/// for ever.
const RECHECK_US: u64 = 1_000;

/// How long the CPU that ends a run waits for the others to park.
const HALT_TIMEOUT_US: u64 = 200_000;

/// How a run (or one vCPU's part of it) ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum Stop {
    /// The built-in guest reported DONE.
    Done,
    /// The built-in guest reported a failure; its ESR_EL1.
    GuestFailed(u64),
    /// PSCI SYSTEM_OFF.
    SystemOff,
    /// PSCI SYSTEM_RESET.
    SystemReset,
    /// PSCI CPU_OFF of the last vCPU on: nothing can turn one on again.
    CpuOff,
    /// The watchdog fired first.
    Timeout,
    /// An exit the hypervisor cannot handle (a physical FIQ or SError), or
    /// a vGIC call the hypervisor's own state made fail.
    Unexpected,
    /// Another CPU ended the run.
    Halted,
}

/// What a guest's own hypercall (an `hvc` that is not PSCI) asks.
pub enum Hypercall {
    /// Resume the guest, with this in x0.
    Return(u64),
    /// End the run.
    Stop(Stop),
}

/// A guest's own hypercalls: the VM, the calling vCPU, its registers.
pub type HypercallFn = fn(&Vm, u8, &mut GuestRegs) -> Hypercall;
/// What ends a shared VM's run, on the CPU whose vCPU stopped it: the
/// VM, that vCPU, how, and every CPU's counts added up.
pub type EndFn = fn(&Vm, u8, Stop, &Stats) -> !;

/// [`Power`] as stored: off, being claimed by a CPU_ON (its entry not yet
/// written: reads as on-pending), on-pending, on.
const OFF: u8 = 0;
const CLAIMED: u8 = 1;
const ON_PENDING: u8 = 2;
const ON: u8 = 3;

/// One vCPU's state shared between the CPUs.
struct Slot {
    /// Its MPIDR affinity (its cpu node's `reg`).
    mpidr: u64,
    power: AtomicU8,
    /// CPU_ON's entry point and context id, valid while on-pending.
    entry: AtomicU64,
    context: AtomicU64,
    /// Its CPU is in the guest, or about to enter it (set before the
    /// flush): a write that pends an interrupt for it must kick.
    in_guest: AtomicBool,
    /// Its CPU's physical CPU interface (one bit), once attached.
    interface: AtomicU8,
    /// Its CPU has parked at the end of the run.
    halted: AtomicBool,
    /// Its CPU's counts, once the run ended.
    stats: spin::Mutex<Option<Stats>>,
}

/// The VM: its virtual GIC and vCPUs, shared by the CPUs that run them.
pub struct Vm {
    vgic: Vgic,
    slots: heapless::Vec<Slot, MAX_CPUS>,
    /// For each vCPU, the PPIs forwarded to it (bit n: INTID n).
    forwarded_ppis: [u32; MAX_CPUS],
    /// Whether the UART's SPI is forwarded (to vCPU 0).
    uart_forwarded: bool,
    /// Set by the vCPU that ends the run.
    stopping: AtomicBool,
    /// Kicks sent, by every CPU.
    kicks: AtomicU32,
    hypercall: HypercallFn,
    end: EndFn,
    /// Each vCPU's run may last this long before it stops the run.
    watchdog_us: Option<u64>,
}

/// A physical CPU's side of running a vCPU: its GICH (the list registers),
/// what it handled.
pub struct Cpu {
    vif: VirtualInterface<Mmio>,
    /// What the run loop handled on this CPU.
    pub stats: Stats,
    /// The trap classes logged so far (the first of each is).
    seen: u32,
}

impl Cpu {
    /// This CPU's virtual interface, reset ([`VirtualInterface::init`]:
    /// GICH_HCR, the list registers, GICH_APR and GICH_VMCR cleared).
    pub fn new() -> Self {
        // SAFETY: board::GICH_BASE is QEMU virt's GICH frame (this CPU's
        // view, banked), Device memory in EL2's map, and only this
        // interface uses it on this CPU.
        let mut vif = VirtualInterface::new(unsafe { Mmio::new(board::GICH_BASE) });
        vif.init();
        Cpu {
            vif,
            stats: Stats::default(),
            seen: 0,
        }
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
}

/// The VM every secondary CPU serves, once the boot CPU publishes it.
static CURRENT: spin::Once<Vm> = spin::Once::new();

/// Makes `vm` the VM the secondary CPUs serve, and wakes them.
pub fn publish(vm: Vm) -> &'static Vm {
    let vm = CURRENT.call_once(|| vm);
    barrier::dsb(barrier::ISH);
    if crate::smp::count() > 1 {
        let _ = irq::gicd().send_sgi(board::KICK_SGI, SgiTarget::AllOthers);
        vm.kicks.fetch_add(1, Ordering::Relaxed);
    }
    vm
}

/// A secondary CPU's life after start-up: wait (WFI) until a VM is
/// published, then serve its vCPU of this CPU's number ([`run_cpu`]).
pub fn secondary_loop(n: u8) -> ! {
    loop {
        if let Some(vm) = CURRENT.get() {
            run_cpu(vm, n)
        }
        wait_for_kick(None);
    }
}

/// Runs vCPU `v` of `vm` on this CPU (CPU `v`) until the run ends, then
/// parks, or, on the CPU whose vCPU ended it, stops the others, adds up
/// every CPU's counts and calls the VM's end.
pub fn run_cpu(vm: &'static Vm, v: u8) -> ! {
    let mut cpu = Cpu::new();
    let stop = if v < vm.vcpus() {
        vm.serve(v, &mut cpu)
    } else {
        Stop::Halted
    };
    let first = stop != Stop::Halted
        && vm
            .stopping
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
    let slot = vm.slots.get(v as usize);
    if let Some(slot) = slot {
        *slot.stats.lock() = Some(cpu.stats.clone());
    }
    if !first {
        if let Some(slot) = slot {
            slot.halted.store(true, Ordering::Release);
        }
        park()
    }
    vm.wake_others(v);
    let deadline = timer::now() + timer::ticks_from_micros(HALT_TIMEOUT_US);
    for (n, other) in vm.slots.iter().enumerate() {
        while n != v as usize && !other.halted.load(Ordering::Acquire) {
            if timer::now() >= deadline {
                defmt::warn!("CPU {=usize} did not stop", n);
                break;
            }
            core::hint::spin_loop();
        }
    }
    let mut total = Stats::default();
    for other in vm.slots.iter() {
        if let Some(stats) = other.stats.lock().as_ref() {
            total.merge(stats);
        }
    }
    total.kicks_sent = vm.kicks.load(Ordering::Relaxed);
    (vm.end)(vm, v, stop, &total)
}

/// Stops this CPU for the rest of the run: its GICC signals nothing any
/// more (GICC_CTLR = 0), its timer is off, and it waits in WFI.
fn park() -> ! {
    irq::GICC.disable();
    timer::disarm();
    loop {
        wfi();
    }
}

/// Waits in WFI until a physical interrupt is pending (a kick), then
/// takes and deactivates every pending one (counted in `stats`).
fn wait_for_kick(mut stats: Option<&mut Stats>) {
    wfi();
    irq::GICC.handle_pending_with(|ack| {
        if let Some(s) = stats.as_deref_mut() {
            s.irq(ack.intid().get());
        }
        Deactivation::Deactivate
    });
}

impl Vm {
    /// A VM with one vCPU for each MPIDR in `mpidrs` (vCPU n runs on CPU
    /// n), vCPU 0 on-pending at `entry` with `context` in x0; the vGIC in
    /// its reset state with QEMU's 288 lines and `mpidrs.len()` CPU
    /// interfaces, [`FORWARDED`] forwarded while it has room. The guest's
    /// own hypercalls go to `hypercall`; `end` ends a run that
    /// [`run_cpu`] serves; each vCPU's run may last `watchdog_us`.
    pub fn new(
        mpidrs: &[u64],
        (entry, context): (u64, u64),
        hypercall: HypercallFn,
        end: EndFn,
        watchdog_us: Option<u64>,
    ) -> Result<Self, gic_vgic::Error> {
        let n = mpidrs.len().clamp(1, MAX_CPUS);
        let vgic = Vgic::new(VgicConfig {
            vcpus: n as u8,
            ..VgicConfig::default()
        })?;
        let mut forwarded_ppis = [0; MAX_CPUS];
        let mut uart_forwarded = false;
        // Each vCPU's virtual timer first, then the UART, then the rest.
        let each = |id: IntId| {
            let vcpus = if id.get() < 32 { 0..n as u8 } else { 0..1 };
            vcpus.map(move |v| (v, id))
        };
        let first = [board::VIRT_TIMER_INTID, board::UART_INTID];
        let rest = FORWARDED.into_iter().filter(|id| !first.contains(id));
        for (v, id) in first.into_iter().chain(rest).flat_map(each) {
            match vgic.forward(v, id, id) {
                Ok(()) if id.get() < 32 => forwarded_ppis[v as usize] |= 1 << id.get(),
                Ok(()) => uart_forwarded = true,
                Err(gic_vgic::Error::TooManyForwarded) => {
                    defmt::debug!("vGIC full: {} not forwarded to vCPU {=u8}", id, v)
                }
                Err(e) => return Err(e),
            }
        }
        let mut slots = heapless::Vec::new();
        for (v, &mpidr) in mpidrs.iter().take(n).enumerate() {
            let slot = Slot {
                mpidr: mpidr & crate::smp::AFFINITY_MASK,
                power: AtomicU8::new(if v == 0 { ON_PENDING } else { OFF }),
                entry: AtomicU64::new(entry),
                context: AtomicU64::new(context),
                in_guest: AtomicBool::new(false),
                interface: AtomicU8::new(0),
                halted: AtomicBool::new(false),
                stats: spin::Mutex::new(None),
            };
            // At most MAX_CPUS: never full.
            let _ = slots.push(slot);
        }
        Ok(Vm {
            vgic,
            slots,
            forwarded_ppis,
            uart_forwarded,
            stopping: AtomicBool::new(false),
            kicks: AtomicU32::new(0),
            hypercall,
            end,
            watchdog_us,
        })
    }

    /// The virtual GIC.
    pub fn vgic(&self) -> &Vgic {
        &self.vgic
    }

    /// Readies this CPU to run vCPU `v`: enables in the physical GICD the
    /// maintenance interrupt, the EL2 physical timer's, the kick and the
    /// interrupts forwarded to `v` (this CPU's banked PPIs; the UART's
    /// SPI for vCPU 0, targeting this CPU as `Distributor::init` left it),
    /// targeting EL2 (HCR_EL2.IMO), and forwarding (GICD_CTLR); records
    /// this CPU's interface for kicks.
    pub fn attach(&self, v: u8) -> Result<(), gic_driver::Error> {
        let gicd = irq::gicd();
        let ppis = self.forwarded_ppis.get(v as usize).copied().unwrap_or(0);
        let own = [
            board::MAINTENANCE_INTID,
            board::EL2_PHYS_TIMER_INTID,
            board::KICK_SGI,
        ];
        for id in own.iter().chain(&FORWARDED) {
            let forwarded = if id.get() < 32 {
                ppis & (1 << id.get()) != 0
            } else {
                v == 0 && self.uart_forwarded
            };
            if own.contains(id) || forwarded {
                gicd.enable_interrupt(*id)?;
            }
        }
        gicd.enable();
        if let Some(slot) = self.slots.get(v as usize) {
            slot.interface
                .store(gicd.this_cpu().bits(), Ordering::Release);
        }
        // Before this CPU first looks at its vCPU's power state and the
        // run's end (see `kick_cpu`).
        fence(Ordering::SeqCst);
        Ok(())
    }

    fn slot(&self, v: u8) -> Option<&Slot> {
        self.slots.get(v as usize)
    }

    fn is_forwarded(&self, v: u8, id: IntId) -> bool {
        if id.get() < 32 {
            self.forwarded_ppis
                .get(v as usize)
                .is_some_and(|m| m & (1 << id.get()) != 0)
        } else {
            id == board::UART_INTID && self.uart_forwarded
        }
    }

    /// Sends the kick to vCPU `t`'s CPU, once that CPU has attached.
    fn kick_cpu(&self, t: u8) {
        let Some(slot) = self.slot(t) else { return };
        // The caller changed what `t`'s CPU waits for (its power state,
        // the run's end); that CPU stores its interface before it looks.
        // A full barrier on both sides: one of the two sees the other.
        fence(Ordering::SeqCst);
        let interface = slot.interface.load(Ordering::Acquire);
        if interface != 0 {
            barrier::dsb(barrier::ISH);
            let _ = irq::gicd().send_sgi(
                board::KICK_SGI,
                SgiTarget::List(CpuMask::from_bits(interface)),
            );
            self.kicks.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Kicks the vCPUs in `mask` (one bit each) that are in the guest, but
    /// not `from`, whose own flush comes next anyway.
    fn kick(&self, mask: u8, from: u8) {
        if mask & !(1 << from) == 0 {
            return;
        }
        // The vGIC gave them work (a flag its flush reads); only now look
        // whether they are in the guest (the flag they set before that
        // flush): with a full barrier on both sides one sees the other.
        fence(Ordering::SeqCst);
        for t in (0..self.vcpus()).filter(|&t| t != from && mask & (1 << t) != 0) {
            if self
                .slot(t)
                .is_some_and(|s| s.in_guest.load(Ordering::Acquire))
            {
                self.kick_cpu(t);
            }
        }
    }

    /// Kicks every CPU but `from`'s: the run is ending.
    fn wake_others(&self, from: u8) {
        for t in (0..self.vcpus()).filter(|&t| t != from) {
            self.kick_cpu(t);
        }
    }

    /// Serves vCPU `v` on this CPU: waits (WFI) until it is on-pending,
    /// runs it, and again after each CPU_OFF, until the run ends. Returns
    /// how: [`Stop::Halted`] when another CPU ended it.
    pub fn serve(&self, v: u8, cpu: &mut Cpu) -> Stop {
        let Some(slot) = self.slot(v) else {
            return Stop::Halted;
        };
        if self.attach(v).is_err() {
            return Stop::Unexpected;
        }
        stage2::load();
        loop {
            while slot.power.load(Ordering::Acquire) != ON_PENDING {
                if self.stopping.load(Ordering::Acquire) {
                    return Stop::Halted;
                }
                wait_for_kick(Some(&mut cpu.stats));
            }
            let entry = slot.entry.load(Ordering::Relaxed);
            let context = slot.context.load(Ordering::Relaxed);
            let mut vcpu = Vcpu::new(entry, context, 0, slot.mpidr);
            slot.power.store(ON, Ordering::Release);
            if v != 0 {
                defmt::info!(
                    "vCPU {=u8} on (MPIDR {=u64:#x}): entry {=u64:#x}, x0 {=u64:#x}",
                    v,
                    slot.mpidr,
                    entry,
                    context
                );
            }
            match self.run(v, cpu, &mut vcpu) {
                Stop::CpuOff => {
                    // PSCI CPU_OFF: the vCPU's context is lost; its timers
                    // must not keep interrupting this CPU.
                    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
                    CNTP_CTL_EL0.write(CNTP_CTL_EL0::ENABLE::CLEAR + CNTP_CTL_EL0::IMASK::SET);
                    slot.power.store(OFF, Ordering::Release);
                    if (0..self.vcpus()).all(|t| self.power(t) == Power::Off) {
                        return Stop::CpuOff;
                    }
                }
                stop => return stop,
            }
        }
    }

    /// Runs `vcpu` (vCPU `v`) on this CPU until it stops: powers off,
    /// resets, turns itself off, reports (the built-in guests, through the
    /// VM's hypercalls), its watchdog fires, or another CPU ends the run.
    pub fn run(&self, v: u8, cpu: &mut Cpu, vcpu: &mut Vcpu) -> Stop {
        let hypercall = self.hypercall;
        self.run_with(v, cpu, vcpu, self.watchdog_us, &mut |vm, v, regs| {
            hypercall(vm, v, regs)
        })
    }

    /// [`run`](Self::run) with this watchdog, and the guest's own calls
    /// served by `hypercall` instead of the VM's (a measurement that keeps
    /// state between calls).
    pub fn run_with(
        &self,
        v: u8,
        cpu: &mut Cpu,
        vcpu: &mut Vcpu,
        watchdog_us: Option<u64>,
        hypercall: &mut dyn FnMut(&Vm, u8, &mut GuestRegs) -> Hypercall,
    ) -> Stop {
        let Some(slot) = self.slot(v) else {
            return Stop::Unexpected;
        };
        let deadline = watchdog_us.map(|us| timer::now() + timer::ticks_from_micros(us));
        let recheck = timer::ticks_from_micros(RECHECK_US);
        let stop = loop {
            if self.stopping.load(Ordering::Acquire) {
                break Stop::Halted;
            }
            // Before the flush looks for work, with a full barrier: a
            // writer that gives this vCPU work after the flush looked
            // finds it in the guest, and kicks it.
            slot.in_guest.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            if self.vgic.flush(v, &mut cpu.vif).is_err() {
                break Stop::Unexpected;
            }
            // The EL2 physical timer: the watchdog's deadline, and, while
            // an interrupt is listed, a look again in RECHECK_US (see
            // RECHECK_US for why).
            let now = timer::now();
            let listed = cpu.vif.in_use() != 0;
            match (deadline, listed) {
                (Some(d), true) => timer::arm_in(d.saturating_sub(now).min(recheck)),
                (Some(d), false) => timer::arm_in(d.saturating_sub(now)),
                (None, true) => timer::arm_in(recheck),
                (None, false) => timer::disarm(),
            }
            let exit = vcpu.run();
            slot.in_guest.store(false, Ordering::Relaxed);
            if exit == Exit::Irq && !cpu.vif.misr().is_empty() {
                // The maintenance interrupt's conditions are about the list
                // registers, which the fold takes back: count it now, while
                // GICH_MISR still says so.
                cpu.stats.maintenance += 1;
            }
            // Whether a list register was in use: only then can the guest
            // have completed one (the driver's record, no register read).
            let was_listed = cpu.vif.in_use() != 0;
            let Ok(fold) = self.vgic.fold(v, &mut cpu.vif) else {
                break Stop::Unexpected;
            };
            for id in fold.deactivate {
                // Another vCPU cleared the state of a forwarded interrupt
                // this one had listed: no EOI will deactivate it.
                let _ = irq::gicd().clear_active(id);
            }
            self.kick(fold.kick, v);
            if was_listed {
                // QEMU 7.2 (the reference's deviation 11): when the guest's
                // EOI deactivates a HW = 1 interrupt whose line is still
                // high, the physical interrupt is pending again but not
                // signalled until the next write to the physical GIC. One
                // idempotent write (the timer's GICD_ISENABLER0 bit)
                // makes QEMU look again, after any exit that may follow a
                // completion (asking the vGIC for its count of completions
                // would take its lock on every exit).
                let _ = irq::gicd().enable_interrupt(board::VIRT_TIMER_INTID);
            }
            let stop = match exit {
                Exit::Irq => {
                    cpu.stats.exit(ExitReason::Irq);
                    self.physical_irqs(v, cpu, deadline)
                }
                Exit::Sync => self.trap(v, cpu, vcpu.regs_mut(), hypercall),
                Exit::Fiq | Exit::SError => {
                    cpu.stats.exit(ExitReason::Unexpected);
                    Some(Stop::Unexpected)
                }
            };
            if let Some(stop) = stop {
                break stop;
            }
        };
        slot.in_guest.store(false, Ordering::Relaxed);
        timer::disarm();
        stop
    }

    /// Takes every pending physical interrupt (GICC_IAR), and drops its
    /// priority (GICC_EOIR); deactivates (GICC_DIR) all but the forwarded
    /// ones, which the guest deactivates.
    fn physical_irqs(&self, v: u8, cpu: &mut Cpu, deadline: Option<u64>) -> Option<Stop> {
        let mut stop = None;
        let stats = &mut cpu.stats;
        irq::GICC.handle_pending_with(|ack| {
            let id = ack.intid();
            stats.irq(id.get());
            if stats.irqs_of(id.get()) == 1 {
                if v == 0 {
                    defmt::info!("first physical IRQ of {}", id);
                } else {
                    defmt::debug!("vCPU {=u8}: first physical IRQ of {}", v, id);
                }
            }
            if id == board::MAINTENANCE_INTID || id == board::KICK_SGI {
                // The fold and the flush around this exit do what they ask
                // (the maintenance interrupt's refill, the kick's listing).
            } else if self.is_forwarded(v, id) {
                if let Ok(kick) = self.vgic.physical_fired(v, id) {
                    self.kick(kick, v);
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
        &self,
        v: u8,
        cpu: &mut Cpu,
        regs: &mut GuestRegs,
        hypercall: &mut dyn FnMut(&Vm, u8, &mut GuestRegs) -> Hypercall,
    ) -> Option<Stop> {
        let esr = ESR_EL2.extract();
        let il = esr.is_set(ESR_EL2::IL);
        let elr = regs.elr;
        match esr.read_as_enum(ESR_EL2::EC) {
            // ELR_EL2 already points after the `hvc`.
            Some(ESR_EL2::EC::Value::HVC64) => {
                cpu.stats.exit(ExitReason::Hvc);
                cpu.first(v, ExitReason::Hvc, elr);
                self.call(v, cpu, regs, hypercall)
            }
            // A trapped SMC's preferred return address is the `smc` itself.
            Some(ESR_EL2::EC::Value::SMC64) => {
                cpu.stats.exit(ExitReason::Smc);
                cpu.first(v, ExitReason::Smc, elr);
                regs.elr += 4;
                self.call(v, cpu, regs, hypercall)
            }
            Some(ESR_EL2::EC::Value::DataAbortLowerEL) => {
                let syndrome = [esr.get(), FAR_EL2.get(), HPFAR_EL2.get()];
                let reason = mmio::data_abort(self, v, &mut cpu.stats, regs, syndrome);
                cpu.stats.exit(reason);
                cpu.first(v, reason, elr);
                None
            }
            Some(ESR_EL2::EC::Value::InstrAbortLowerEL) => {
                cpu.stats.exit(ExitReason::InstructionAbort);
                cpu.first(v, ExitReason::InstructionAbort, elr);
                let far = FAR_EL2.get();
                inject::inject(regs, Exception::InstructionAbort { far }, il);
                None
            }
            _ => {
                cpu.stats.exit(ExitReason::OtherTrap);
                cpu.first(v, ExitReason::OtherTrap, elr);
                inject::inject(regs, Exception::Undefined, il);
                None
            }
        }
    }

    /// An `hvc` or `smc`: PSCI, or the guest's own call.
    fn call(
        &self,
        v: u8,
        cpu: &mut Cpu,
        regs: &mut GuestRegs,
        hypercall: &mut dyn FnMut(&Vm, u8, &mut GuestRegs) -> Hypercall,
    ) -> Option<Stop> {
        let function = regs.x[0] as u32;
        if !psci::is_psci(function) {
            return match hypercall(self, v, regs) {
                Hypercall::Return(x0) => {
                    regs.x[0] = x0;
                    None
                }
                Hypercall::Stop(stop) => Some(stop),
            };
        }
        cpu.stats.psci(psci::name(function));
        defmt::info!(
            "PSCI {=str} ({=u32:#x}, x1 {=u64:#x}) from vCPU {=u8}",
            psci::name(function),
            function,
            regs.x[1],
            v
        );
        match psci::call(function, [regs.x[1], regs.x[2], regs.x[3]], self) {
            Outcome::Return(x0) => {
                regs.x[0] = x0;
                None
            }
            Outcome::CpuOff => Some(Stop::CpuOff),
            Outcome::SystemOff => Some(Stop::SystemOff),
            Outcome::SystemReset => Some(Stop::SystemReset),
        }
    }

    /// A trapped GICD access of vCPU `v`, served by the vGIC (counted in
    /// `stats`): loads are written back to their register; stores' effects
    /// on forwarded interrupts are applied to the physical GIC, and the
    /// vCPUs they pended an interrupt for are kicked.
    pub(crate) fn gicd_access(
        &self,
        v: u8,
        stats: &mut Stats,
        offset: usize,
        access: &gic_vgic::trap::MmioAccess,
        regs: &mut GuestRegs,
    ) {
        stats.gicd(offset, access.write);
        if access.write {
            let value = access.store_value(regs.read(access.register)) as u32;
            let effects = self.vgic.write(v, offset, access.width, value);
            for id in effects.deactivate {
                // The guest cleared a forwarded interrupt's virtual state
                // (ICPENDR, ICACTIVER): no EOI will deactivate it.
                let _ = irq::gicd().clear_active(id);
            }
            self.kick(effects.kick, v);
        } else {
            let value = self.vgic.read(v, offset, access.width);
            regs.write(access.register, access.load_value(value.into()));
        }
    }
}

impl PowerControl for Vm {
    fn vcpus(&self) -> u8 {
        self.slots.len() as u8
    }

    fn mpidr(&self, vcpu: u8) -> u64 {
        self.slot(vcpu).map_or(u64::MAX, |s| s.mpidr)
    }

    fn power(&self, vcpu: u8) -> Power {
        match self.slot(vcpu).map(|s| s.power.load(Ordering::Acquire)) {
            Some(ON) => Power::On,
            Some(CLAIMED) | Some(ON_PENDING) => Power::OnPending,
            _ => Power::Off,
        }
    }

    /// Claims the off vCPU, writes its entry and context, makes it
    /// on-pending and kicks its CPU (waiting in WFI) to start it.
    fn power_on(&self, vcpu: u8, entry: u64, context: u64) -> Result<(), Power> {
        let Some(slot) = self.slot(vcpu) else {
            return Err(Power::Off);
        };
        if slot
            .power
            .compare_exchange(OFF, CLAIMED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(self.power(vcpu));
        }
        slot.entry.store(entry, Ordering::Relaxed);
        slot.context.store(context, Ordering::Relaxed);
        slot.power.store(ON_PENDING, Ordering::Release);
        self.kick_cpu(vcpu);
        Ok(())
    }
}

impl Cpu {
    /// Logs the first trap of each class (vCPU 0's; the others' at debug).
    fn first(&mut self, v: u8, reason: ExitReason, elr: u64) {
        let bit = 1 << reason as u32;
        if self.seen & bit == 0 {
            self.seen |= bit;
            if v == 0 {
                defmt::info!(
                    "first {} exit: ESR_EL2 {=u64:#010x}, ELR_EL2 {=u64:#x}, FAR_EL2 {=u64:#x}",
                    reason,
                    ESR_EL2.get(),
                    elr,
                    FAR_EL2.get()
                );
            } else {
                defmt::debug!(
                    "vCPU {=u8}: first {} exit: ESR_EL2 {=u64:#010x}, ELR_EL2 {=u64:#x}",
                    v,
                    reason,
                    ESR_EL2.get(),
                    elr
                );
            }
        }
    }
}
