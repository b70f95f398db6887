//! The Distributor (GICD, IHI 0048B 4.3): which interrupts are enabled,
//! pending and active, their priority, target CPUs, trigger and group.

use tock_registers::interfaces::{Readable, Writeable};

use crate::bus::RegisterBus;
use crate::regs::gicd::{self, BitArray, CTLR, ICFGR_EDGE_BIT, SGIR, TYPER};
use crate::{CpuMask, Error, Group, IntId, Priority, SgiTarget, Trigger};

/// What GICD_TYPER, GICD_IIDR and a priority probe say about this GIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DistributorInfo {
    /// Interrupt lines implemented, 32 * (ITLinesNumber + 1), capped at 1020.
    pub lines: u32,
    /// CPU interfaces implemented, 1-8.
    pub cpus: u8,
    /// The GIC implements the Security Extensions.
    pub security_extensions: bool,
    /// GICD_IIDR as read.
    pub iidr: u32,
    /// Implemented priority bits, as a mask of the top bits (0xF0 for 16
    /// levels), found by writing 0xFF to SGI 0's GICD_IPRIORITYR byte and
    /// reading it back. Not the CPU interface's priority mask (GICC_PMR).
    pub implemented_priority: u8,
}

/// How [`Distributor::init`] leaves every SPI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct DistributorConfig {
    /// Priority given to every interrupt.
    pub priority: Priority,
    /// Trigger given to every SPI.
    pub spi_trigger: Trigger,
    /// Group given to every interrupt.
    pub group: Group,
}

impl Default for DistributorConfig {
    /// Linux's choice: priority 0xA0, level-triggered SPIs, Group 0.
    fn default() -> Self {
        DistributorConfig {
            priority: Priority::DEFAULT,
            spi_trigger: Trigger::Level,
            group: Group::Group0,
        }
    }
}

/// The GIC Distributor, shared by all CPUs.
///
/// Set/clear register pairs need no lock; read-modify-write sequences on
/// shared words (GICD_ICFGR, GICD_IGROUPR) hold a spin lock, and
/// priorities and targets are written a byte at a time, so concurrent calls
/// from several CPUs never undo each other.
///
/// Only [`set_trigger`](Self::set_trigger) and [`set_group`](Self::set_group)
/// take the lock. Its atomic instructions need the `Distributor` itself in
/// Normal cacheable memory on real hardware (with the MMU off every access
/// is Device memory, where exclusives are not guaranteed to work); `init`,
/// `enable` and everything else use no atomics.
pub struct Distributor<B> {
    bus: B,
    info: DistributorInfo,
    rmw: spin::Mutex<()>,
}

impl<B: RegisterBus> Distributor<B> {
    /// Reads the GIC's shape (GICD_TYPER, GICD_IIDR) and probes the
    /// implemented priority bits on the caller's SGI 0 (restoring it).
    pub fn new(bus: B) -> Self {
        let typer = gicd::TYPER.on(&bus);
        let lines = (32 * (typer.read(TYPER::ITLinesNumber) + 1)).min(IntId::SPECIAL_START);
        let cpus = typer.read(TYPER::CPUNumber) as u8 + 1;
        let security_extensions = typer.is_set(TYPER::SecurityExtn);
        let iidr = gicd::IIDR.on(&bus).get();
        let sgi0 = gicd::IPRIORITYR.on(&bus, 0);
        let saved = sgi0.get();
        sgi0.set(0xFF);
        let implemented_priority = sgi0.get();
        sgi0.set(saved);
        Distributor {
            bus,
            info: DistributorInfo {
                lines,
                cpus,
                security_extensions,
                iidr,
                implemented_priority,
            },
            rmw: spin::Mutex::new(()),
        }
    }

    /// The GIC's shape as read by [`new`](Self::new).
    pub fn info(&self) -> &DistributorInfo {
        &self.info
    }

    /// The bus this distributor uses.
    pub fn bus(&self) -> &B {
        &self.bus
    }

    /// Puts the shared state in a known order, on the boot CPU: forwarding
    /// off, every SPI disabled, not pending, not active, at `config`'s
    /// priority, trigger and group, and targeted at the calling CPU; then the
    /// caller's banked SGIs and PPIs as [`init_cpu`](Self::init_cpu) does.
    /// Forwarding stays off: call [`enable`](Self::enable) when ready.
    pub fn init(&self, config: &DistributorConfig) {
        self.disable();
        let own = gicd::ITARGETSR.on(&self.bus, 0).get();
        let group_word = match config.group {
            Group::Group0 => 0,
            Group::Group1 => u32::MAX,
        };
        let cfg_word = match config.spi_trigger {
            Trigger::Level => 0,
            Trigger::Edge => 0xAAAA_AAAA,
        };
        let prio = config.priority.get() & self.info.implemented_priority;
        // Rounded up: with 1020 lines the last word holds INTIDs 992-1019.
        let words = (self.info.lines as usize).div_ceil(32);
        for w in 1..words {
            gicd::ICENABLER.nth(w).on(&self.bus).set(u32::MAX);
            gicd::ICPENDR.nth(w).on(&self.bus).set(u32::MAX);
            gicd::ICACTIVER.nth(w).on(&self.bus).set(u32::MAX);
            gicd::IGROUPR.nth(w).on(&self.bus).set(group_word);
        }
        for w in 2..(self.info.lines as usize).div_ceil(16) {
            gicd::ICFGR.nth(w).on(&self.bus).set(cfg_word);
        }
        for id in IntId::SPI_START as usize..self.info.lines as usize {
            gicd::IPRIORITYR.on(&self.bus, id).set(prio);
            gicd::ITARGETSR.on(&self.bus, id).set(own);
        }
        self.init_cpu(config);
    }

    /// Puts the calling CPU's banked SGIs and PPIs (INTIDs 0-31) in a known
    /// state: PPIs disabled, none pending or active, SGI pending bits from
    /// every source cleared, `config`'s priority and group. Each CPU calls it
    /// once at start-up ([`init`](Self::init) does it for the boot CPU).
    pub fn init_cpu(&self, config: &DistributorConfig) {
        gicd::ICENABLER.nth(0).on(&self.bus).set(0xFFFF_0000);
        gicd::ICPENDR.nth(0).on(&self.bus).set(u32::MAX);
        gicd::ICACTIVER.nth(0).on(&self.bus).set(u32::MAX);
        for sgi in 0..16 {
            gicd::CPENDSGIR.on(&self.bus, sgi).set(0xFF);
        }
        let group_word = match config.group {
            Group::Group0 => 0,
            Group::Group1 => u32::MAX,
        };
        gicd::IGROUPR.nth(0).on(&self.bus).set(group_word);
        let prio = config.priority.get() & self.info.implemented_priority;
        for id in 0..IntId::SPI_START as usize {
            gicd::IPRIORITYR.on(&self.bus, id).set(prio);
        }
    }

    /// Starts forwarding both groups to the CPU interfaces (GICD_CTLR).
    /// Without the Security Extensions the register holds only the two
    /// group enables, so this is one write, with no lock.
    pub fn enable(&self) {
        gicd::CTLR
            .on(&self.bus)
            .write(CTLR::EnableGrp0::SET + CTLR::EnableGrp1::SET);
    }

    /// Stops forwarding any interrupt (GICD_CTLR = 0; one write, no lock).
    pub fn disable(&self) {
        gicd::CTLR.on(&self.bus).set(0);
    }

    /// Whether the Distributor forwards Group 0 and Group 1 (GICD_CTLR).
    pub fn is_enabled(&self) -> (bool, bool) {
        let c = gicd::CTLR.on(&self.bus);
        (c.is_set(CTLR::EnableGrp0), c.is_set(CTLR::EnableGrp1))
    }

    /// Checks `id` is 0-1019 and implemented.
    fn check(&self, id: IntId) -> Result<u32, Error> {
        let n = id.get();
        if id.is_special() {
            Err(Error::InvalidIntId(n))
        } else if n >= self.info.lines {
            Err(Error::IntIdNotImplemented {
                intid: n,
                lines: self.info.lines,
            })
        } else {
            Ok(n)
        }
    }

    fn write_bit(&self, array: BitArray, id: IntId) -> Result<(), Error> {
        let (reg, bit) = array.bit(self.check(id)?);
        reg.on(&self.bus).set(bit);
        Ok(())
    }

    fn read_bit(&self, array: BitArray, id: IntId) -> Result<bool, Error> {
        let (reg, bit) = array.bit(self.check(id)?);
        Ok(reg.on(&self.bus).get() & bit != 0)
    }

    /// Enables forwarding of `id` (GICD_ISENABLER). SGIs are always enabled.
    pub fn enable_interrupt(&self, id: IntId) -> Result<(), Error> {
        self.write_bit(gicd::ISENABLER, id)
    }

    /// Disables forwarding of `id` (GICD_ICENABLER). SGIs cannot be disabled
    /// in GICv2 and are refused.
    pub fn disable_interrupt(&self, id: IntId) -> Result<(), Error> {
        if id.is_sgi() {
            return Err(Error::IsAnSgi(id.get()));
        }
        self.write_bit(gicd::ICENABLER, id)
    }

    /// Whether `id` is enabled (GICD_ISENABLER).
    pub fn is_interrupt_enabled(&self, id: IntId) -> Result<bool, Error> {
        self.read_bit(gicd::ISENABLER, id)
    }

    /// Makes `id` pending (GICD_ISPENDR). SGIs are made pending with
    /// [`send_sgi`](Self::send_sgi) and are refused here.
    pub fn set_pending(&self, id: IntId) -> Result<(), Error> {
        if id.is_sgi() {
            return Err(Error::IsAnSgi(id.get()));
        }
        self.write_bit(gicd::ISPENDR, id)
    }

    /// Clears the pending state of `id` (GICD_ICPENDR; for SGIs,
    /// GICD_CPENDSGIR for every source CPU).
    pub fn clear_pending(&self, id: IntId) -> Result<(), Error> {
        if id.is_sgi() {
            gicd::CPENDSGIR.on(&self.bus, id.get() as usize).set(0xFF);
            return Ok(());
        }
        self.write_bit(gicd::ICPENDR, id)
    }

    /// Whether `id` is pending (GICD_ISPENDR).
    pub fn is_pending(&self, id: IntId) -> Result<bool, Error> {
        self.read_bit(gicd::ISPENDR, id)
    }

    /// Whether `id` is active (GICD_ISACTIVER).
    pub fn is_active(&self, id: IntId) -> Result<bool, Error> {
        self.read_bit(gicd::ISACTIVER, id)
    }

    /// Makes `id` active (GICD_ISACTIVER), as when restoring saved state.
    pub fn set_active(&self, id: IntId) -> Result<(), Error> {
        self.write_bit(gicd::ISACTIVER, id)
    }

    /// Clears the active state of `id` (GICD_ICACTIVER).
    pub fn clear_active(&self, id: IntId) -> Result<(), Error> {
        self.write_bit(gicd::ICACTIVER, id)
    }

    /// Sets the priority of `id` with a byte write to GICD_IPRIORITYR, so no
    /// neighbour changes. Refuses priorities using unimplemented bits.
    pub fn set_priority(&self, id: IntId, priority: Priority) -> Result<(), Error> {
        let n = self.check(id)?;
        if priority.get() & !self.info.implemented_priority != 0 {
            return Err(Error::PriorityNotImplemented {
                priority: priority.get(),
                implemented: self.info.implemented_priority,
            });
        }
        gicd::IPRIORITYR
            .on(&self.bus, n as usize)
            .set(priority.get());
        Ok(())
    }

    /// The priority of `id` (GICD_IPRIORITYR).
    pub fn priority(&self, id: IntId) -> Result<Priority, Error> {
        let n = self.check(id)?;
        Ok(Priority(gicd::IPRIORITYR.on(&self.bus, n as usize).get()))
    }

    /// Routes SPI `id` to the CPUs in `targets` (byte write to GICD_ITARGETSR).
    /// SGI and PPI targets are fixed; the mask must be non-empty and name
    /// only implemented CPUs.
    pub fn set_targets(&self, id: IntId, targets: CpuMask) -> Result<(), Error> {
        let n = self.check(id)?;
        if !id.is_spi() {
            return Err(Error::NotAnSpi(n));
        }
        let targets = targets.check(self.info.cpus)?;
        gicd::ITARGETSR
            .on(&self.bus, n as usize)
            .set(targets.bits());
        Ok(())
    }

    /// The CPUs `id` is routed to (GICD_ITARGETSR); for SGIs and PPIs, the
    /// calling CPU. On a GIC with one CPU interface, whose GICD_ITARGETSR
    /// registers are RAZ/WI (IHI 0048B 4.3.12), every interrupt goes to CPU 0
    /// and this says so without reading anything.
    pub fn targets(&self, id: IntId) -> Result<CpuMask, Error> {
        let n = self.check(id)?;
        Ok(self.read_targets(n as usize))
    }

    /// The calling CPU's own interface mask (GICD_ITARGETSR0 reads it; CPU 0
    /// on a GIC with one CPU interface).
    pub fn this_cpu(&self) -> CpuMask {
        self.read_targets(0)
    }

    /// GICD_ITARGETSR byte `n`, or CPU 0 on a GIC with one CPU interface.
    fn read_targets(&self, n: usize) -> CpuMask {
        if self.info.cpus == 1 {
            CpuMask::from_bits(1)
        } else {
            CpuMask::from_bits(gicd::ITARGETSR.on(&self.bus, n).get())
        }
    }

    /// Sets level or edge triggering of `id` (GICD_ICFGR, under the lock).
    /// SGIs are always edge-triggered and refused; whether a PPI's trigger
    /// is programmable is implementation defined.
    pub fn set_trigger(&self, id: IntId, trigger: Trigger) -> Result<(), Error> {
        let n = self.check(id)?;
        if id.is_sgi() {
            return Err(Error::IsAnSgi(n));
        }
        let reg = gicd::ICFGR.nth(n as usize / 16).on(&self.bus);
        let bit = ICFGR_EDGE_BIT << (2 * (n % 16));
        let _g = self.rmw.lock();
        let v = reg.get();
        reg.set(match trigger {
            Trigger::Edge => v | bit,
            Trigger::Level => v & !bit,
        });
        Ok(())
    }

    /// Whether `id` is level- or edge-triggered (GICD_ICFGR).
    pub fn trigger(&self, id: IntId) -> Result<Trigger, Error> {
        let n = self.check(id)?;
        let v = gicd::ICFGR.nth(n as usize / 16).on(&self.bus).get();
        Ok(if v & (ICFGR_EDGE_BIT << (2 * (n % 16))) != 0 {
            Trigger::Edge
        } else {
            Trigger::Level
        })
    }

    /// Puts `id` in `group` (GICD_IGROUPR, under the lock).
    pub fn set_group(&self, id: IntId, group: Group) -> Result<(), Error> {
        let (reg, bit) = gicd::IGROUPR.bit(self.check(id)?);
        let reg = reg.on(&self.bus);
        let _g = self.rmw.lock();
        let v = reg.get();
        reg.set(match group {
            Group::Group1 => v | bit,
            Group::Group0 => v & !bit,
        });
        Ok(())
    }

    /// The group of `id` (GICD_IGROUPR).
    pub fn group(&self, id: IntId) -> Result<Group, Error> {
        Ok(if self.read_bit(gicd::IGROUPR, id)? {
            Group::Group1
        } else {
            Group::Group0
        })
    }

    /// Sends SGI `sgi` (GICD_SGIR). With [`SgiTarget::List`] the mask must
    /// be non-empty and name only implemented CPUs. The caller issues the
    /// barrier that orders earlier memory writes before the SGI.
    pub fn send_sgi(&self, sgi: IntId, target: SgiTarget) -> Result<(), Error> {
        if !sgi.is_sgi() {
            return Err(Error::NotAnSgi(sgi.get()));
        }
        let fields = match target {
            SgiTarget::List(mask) => {
                SGIR::TargetListFilter::TargetList
                    + SGIR::CPUTargetList.val(mask.check(self.info.cpus)?.bits() as u32)
            }
            SgiTarget::AllOthers => SGIR::TargetListFilter::AllOthers,
            SgiTarget::SelfOnly => SGIR::TargetListFilter::SelfOnly,
        };
        gicd::SGIR
            .on(&self.bus)
            .write(fields + SGIR::SGIINTID.val(sgi.get()));
        Ok(())
    }

    /// The CPUs from which SGI `sgi` is pending on the calling CPU (GICD_SPENDSGIR).
    pub fn sgi_pending_sources(&self, sgi: IntId) -> Result<CpuMask, Error> {
        if !sgi.is_sgi() {
            return Err(Error::NotAnSgi(sgi.get()));
        }
        Ok(CpuMask::from_bits(
            gicd::SPENDSGIR.on(&self.bus, sgi.get() as usize).get(),
        ))
    }
}
