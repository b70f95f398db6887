//! The whole GIC: Distributor, physical CPU interfaces and optional
//! virtual interfaces, with frame dispatch, input lines and outputs.

use gic_driver::IntId;

use crate::config::{Config, ConfigError, MAX_CPUS};
use crate::cpu_interface::{CpuInterface, Signal};
use crate::distributor::Distributor;
use crate::{Frame, IntIdSet, ModelError, VirtualCpuInterface, Width};

/// The maintenance interrupt: PPI 9, INTID 25 (IHI 0048B 5.3.4; the
/// INTID Arm recommends and QEMU's `virt` board uses). With the
/// Virtualization Extensions it is a level-sensitive input driven by each
/// CPU's virtual interface.
/// Enforced by `maintenance_interrupt_drives_ppi_25_of_its_cpu`.
pub const MAINTENANCE_INTID: u32 = 25;

/// An interrupt the Distributor forwards to a CPU interface: what
/// [`Gic::highest_pending_except`] selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct PendingInterrupt {
    /// Its INTID.
    pub intid: u32,
    /// For an SGI, the lowest-numbered CPU it is pending from.
    pub source: Option<u8>,
    /// Its priority (GICD_IPRIORITYR, implemented bits only).
    pub priority: u8,
    /// It is in Group 1 (GICD_IGROUPR).
    pub group1: bool,
}

/// An architectural GICv2 model. See the [crate documentation](crate).
///
/// Accesses with a CPU number beyond the configured CPUs read as zero and
/// ignore writes; no input makes it panic.
/// Enforced by `accesses_by_absent_cpus_read_zero_and_change_nothing` and
/// `random_accesses_never_panic_and_keep_invariants`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gic {
    pub(crate) config: Config,
    pub(crate) dist: Distributor,
    pub(crate) cpus: [CpuInterface; MAX_CPUS],
    pub(crate) virt: Option<[VirtualCpuInterface; MAX_CPUS]>,
}

impl Gic {
    /// A GIC of shape `config`, in its reset state.
    pub fn new(config: Config) -> Result<Gic, ConfigError> {
        config.validate()?;
        Ok(Gic {
            config,
            dist: Distributor::new(&config),
            cpus: core::array::from_fn(|_| CpuInterface::new(&config)),
            virt: config
                .virtualization
                .map(|v| core::array::from_fn(|_| VirtualCpuInterface::new(v))),
        })
    }

    /// The configuration this model was built with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Back to the reset state; input lines go low.
    pub fn reset(&mut self) {
        let config = self.config;
        self.dist = Distributor::new(&config);
        self.cpus = core::array::from_fn(|_| CpuInterface::new(&config));
        if let Some(virt) = &mut self.virt {
            virt.iter_mut().for_each(VirtualCpuInterface::reset);
        }
        self.update_maintenance();
    }

    /// The index of CPU `cpu`, if it exists.
    fn cpu(&self, cpu: u8) -> Option<usize> {
        (cpu < self.config.cpus).then_some(cpu as usize)
    }

    /// A read of `width` at `offset` in `frame`, by CPU `cpu` (for GICH and
    /// GICV: of CPU `cpu`'s virtual interface). A byte read returns the
    /// byte in bits 7:0. Reads of GICC_IAR and GICV_IAR acknowledge.
    /// Offsets beyond the [frame](Frame::size) read as zero.
    pub fn read(&mut self, frame: Frame, cpu: u8, offset: usize, width: Width) -> u32 {
        let Some(c) = self.cpu(cpu) else {
            return 0;
        };
        if offset >= frame.size() {
            return 0;
        }
        match frame {
            Frame::Gicd => self.dist.read(c, offset, width),
            Frame::Gicc => match self.cpus.get_mut(c) {
                Some(cif) => cif.read(&mut self.dist, c, offset, width),
                None => 0,
            },
            Frame::Gich => match self.virt_word(c, offset, width) {
                Some(v) => v.read_gich(offset),
                None => 0,
            },
            Frame::Gicv => {
                let value = match self.virt_word(c, offset, width) {
                    Some(v) => v.read_gicv(offset),
                    None => 0,
                };
                // GICV_IAR and GICV_AIAR move a list register to active.
                self.drive_maintenance(c);
                value
            }
        }
    }

    /// A write of `width` at `offset` in `frame`, by CPU `cpu` (for GICH
    /// and GICV: of CPU `cpu`'s virtual interface). A byte write uses bits
    /// 7:0 of `value`.
    ///
    /// A GICV write that deactivates a list register with HW = 1
    /// deactivates its physical interrupt in the Distributor (5.4.2; for a
    /// PPI on this CPU; IDs below 16 or not implemented are ignored).
    /// Offsets beyond the [frame](Frame::size) ignore writes.
    /// Enforced by `guest_eoi_of_a_hardware_list_register_deactivates_the_physical_interrupt`
    /// and `hardware_deactivation_of_a_ppi_applies_to_the_guest_cpu_only`.
    pub fn write(&mut self, frame: Frame, cpu: u8, offset: usize, width: Width, value: u32) {
        let Some(c) = self.cpu(cpu) else {
            return;
        };
        if offset >= frame.size() {
            return;
        }
        let value = match width {
            Width::Byte => value & 0xFF,
            Width::Word => value,
        };
        match frame {
            Frame::Gicd => self.dist.write(c, offset, width, value),
            Frame::Gicc => {
                if let Some(cif) = self.cpus.get_mut(c) {
                    cif.write(&mut self.dist, c, offset, width, value);
                }
            }
            Frame::Gich => {
                if let Some(v) = self.virt_word(c, offset, width) {
                    v.write_gich(offset, value);
                }
                self.drive_maintenance(c);
            }
            Frame::Gicv => {
                if let Some(v) = self.virt_word(c, offset, width) {
                    let effect = v.write_gicv(offset, value);
                    if let Some(id) = effect.deactivate_physical {
                        if id >= IntId::PPI_START {
                            self.dist.deactivate(c, id);
                        }
                    }
                }
                self.drive_maintenance(c);
            }
        }
    }

    /// CPU `c`'s virtual interface, for an aligned word access; `None`
    /// (RAZ/WI) otherwise.
    fn virt_word(
        &mut self,
        c: usize,
        offset: usize,
        width: Width,
    ) -> Option<&mut VirtualCpuInterface> {
        if width != Width::Word || !offset.is_multiple_of(4) {
            return None;
        }
        self.virt.as_mut()?.get_mut(c)
    }

    /// Drives the input line of a PPI (`intid` 16-31, banked: CPU `cpu`'s)
    /// or an SPI (32 and up; `cpu` is ignored). Edge-triggered interrupts
    /// latch pending on a rising edge; level-sensitive ones are pending
    /// while the line is high (IHI 0048B 1.4.2, 3.2.4).
    /// Enforced by `set_line_rejects_sgis_unimplemented_lines_and_absent_cpus`,
    /// `level_interrupt_is_pending_while_its_line_is_high` and
    /// `edge_interrupt_latches_on_rising_edge_only`.
    pub fn set_line(&mut self, cpu: u8, intid: u32, level: bool) -> Result<(), ModelError> {
        let lines = self.config.implemented_intids();
        if intid < IntId::SGI_COUNT {
            return Err(ModelError::IsAnSgi(intid));
        }
        if intid >= lines {
            return Err(ModelError::NotImplemented {
                intid,
                lines: self.config.lines,
            });
        }
        let c = if intid < IntId::SPI_START {
            if intid == MAINTENANCE_INTID && self.virt.is_some() {
                return Err(ModelError::DrivenByModel(intid));
            }
            self.cpu(cpu).ok_or(ModelError::InvalidCpu(cpu))?
        } else {
            0
        };
        self.dist.set_level(c, intid, level);
        Ok(())
    }

    /// Drives CPU `c`'s maintenance interrupt input, PPI 25 in the
    /// Distributor, from its virtual interface (GICH_HCR.En and a non-zero
    /// GICH_MISR, 5.3.4).
    ///
    /// The maintenance output itself is derived when read
    /// ([`maintenance`](Self::maintenance), GICH_MISR). Its copy in the
    /// Distributor is an input line like any other, kept as a level so that
    /// an edge-triggered configuration sees the rising edge; it can change
    /// only when CPU `c`'s virtual interface changes, so only GICH writes,
    /// GICV reads and writes of that CPU, reset and restore drive it.
    /// GICD and GICC accesses and [`set_line`](Self::set_line) cannot (the
    /// random test `random_accesses_never_panic_and_keep_invariants` checks
    /// after every step that the line equals the output on every CPU).
    fn drive_maintenance(&mut self, c: usize) {
        if let Some(level) = self
            .virt
            .as_ref()
            .and_then(|v| v.get(c))
            .map(VirtualCpuInterface::maintenance)
        {
            self.dist.set_level(c, MAINTENANCE_INTID, level);
        }
    }

    /// Drives every CPU's maintenance interrupt input (after reset or a
    /// restore), as [`drive_maintenance`](Self::drive_maintenance) does for one.
    pub(crate) fn update_maintenance(&mut self) {
        for c in 0..self.config.cpus as usize {
            self.drive_maintenance(c);
        }
    }

    fn signal(&self, cpu: u8) -> Option<Signal> {
        let c = self.cpu(cpu)?;
        self.cpus.get(c)?.signal(&self.dist, c)
    }

    /// CPU `cpu`'s IRQ output.
    pub fn irq(&self, cpu: u8) -> bool {
        self.signal(cpu) == Some(Signal::Irq)
    }

    /// CPU `cpu`'s FIQ output (Group 0 interrupts with GICC_CTLR.FIQEn).
    pub fn fiq(&self, cpu: u8) -> bool {
        self.signal(cpu) == Some(Signal::Fiq)
    }

    /// CPU `cpu`'s virtual IRQ output (false without virtualization).
    pub fn virq(&self, cpu: u8) -> bool {
        self.virtual_cpu_interface(cpu).is_some_and(|v| v.virq())
    }

    /// CPU `cpu`'s virtual FIQ output (false without virtualization).
    pub fn vfiq(&self, cpu: u8) -> bool {
        self.virtual_cpu_interface(cpu).is_some_and(|v| v.vfiq())
    }

    /// CPU `cpu`'s maintenance interrupt output (false without virtualization).
    pub fn maintenance(&self, cpu: u8) -> bool {
        self.virtual_cpu_interface(cpu)
            .is_some_and(|v| v.maintenance())
    }

    /// CPU `cpu`'s virtual interface, if configured.
    pub fn virtual_cpu_interface(&self, cpu: u8) -> Option<&VirtualCpuInterface> {
        let c = self.cpu(cpu)?;
        self.virt.as_ref()?.get(c)
    }

    /// Whether `intid` is pending (for CPU `cpu`, if it is an SGI or PPI).
    pub fn is_pending(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu)
            .is_some_and(|c| self.dist.is_pending(c, intid))
    }

    /// Whether `intid`'s pending state is latched (for CPU `cpu`, if it is
    /// a PPI): by an edge or by GICD_ISPENDR, apart from a level-sensitive
    /// line's level (IHI 0048B 3.2.4). SGIs: whether any source is pending.
    pub fn is_latched(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu)
            .is_some_and(|c| self.dist.is_latched(c, intid))
    }

    /// Whether `intid` is active (on CPU `cpu`, if it is an SGI or PPI).
    pub fn is_active(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu).is_some_and(|c| self.dist.is_active(c, intid))
    }

    /// Whether `intid` is enabled (for CPU `cpu`, if it is an SGI or PPI).
    pub fn is_enabled(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu)
            .is_some_and(|c| self.dist.is_enabled(c, intid))
    }

    /// The priority of `intid` (CPU `cpu`'s copy for an SGI or PPI), or
    /// `None` if the CPU or INTID does not exist.
    pub fn priority(&self, cpu: u8, intid: u32) -> Option<u8> {
        let c = self.cpu(cpu)?;
        (intid < self.config.implemented_intids()).then(|| self.dist.priority_of(c, intid))
    }

    /// The level of the input line of `intid` (CPU `cpu`'s, for a PPI).
    pub fn line_level(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu)
            .is_some_and(|c| self.dist.line_level(c, intid))
    }

    /// The CPUs SGI `sgi` is pending from, on CPU `cpu` (GICD_SPENDSGIR).
    pub fn sgi_sources(&self, cpu: u8, sgi: u32) -> u8 {
        self.cpu(cpu)
            .map_or(0, |c| self.dist.sgi_sources_of(c, sgi))
    }

    /// The INTID of CPU `cpu`'s highest-priority pending interrupt, among
    /// the groups enabled in both GICD_CTLR and CPU `cpu`'s GICC_CTLR,
    /// ignoring GICC_PMR and the running priority; `None` if nothing is
    /// pending. Enforced by
    /// `gic_highest_pending_is_chosen_among_the_groups_the_cpu_interface_enables`.
    pub fn highest_pending(&self, cpu: u8) -> Option<u32> {
        let c = self.cpu(cpu)?;
        let cif = self.cpus.get(c)?;
        cif.highest_pending(&self.dist, c).map(|p| p.id)
    }

    /// CPU `cpu`'s highest-priority pending interrupt among those not in
    /// `except`, as the Distributor would forward it (IHI 0048B 3.2.2:
    /// enabled, pending, not active, targeted at `cpu`, its group enabled
    /// in GICD_CTLR), ignoring the CPU interface (GICC_CTLR, GICC_PMR, the
    /// running priority). A hypervisor that uses this model as a guest's
    /// virtual distributor selects with it what to put in list registers,
    /// excluding those already listed.
    pub fn highest_pending_except(&self, cpu: u8, except: &IntIdSet) -> Option<PendingInterrupt> {
        let c = self.cpu(cpu)?;
        self.dist
            .highest_pending_except(c, true, true, except)
            .map(|p| PendingInterrupt {
                intid: p.id,
                source: (p.id < 16).then_some(p.source),
                priority: p.priority,
                group1: p.group1,
            })
    }

    /// The active bits of GICD_ISACTIVERn word `w` as CPU `cpu` reads them
    /// (word 0 is CPU `cpu`'s banked SGIs and PPIs); 0 beyond the lines.
    pub fn active_word(&self, cpu: u8, w: usize) -> u32 {
        self.cpu(cpu).map_or(0, |c| {
            let word = if w == 0 {
                self.dist.banked.get(c)
            } else {
                self.dist.shared.get(w)
            };
            word.map_or(0, |b| b.active) & self.dist.shape.valid_mask(w)
        })
    }

    /// Whether `intid` is edge-triggered (GICD_ICFGR; CPU `cpu`'s copy for a
    /// PPI). SGIs are always edge-triggered.
    pub fn is_edge_triggered(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu).is_some_and(|c| self.dist.is_edge(c, intid))
    }

    /// Whether `intid` is in Group 1 (GICD_IGROUPR; CPU `cpu`'s copy for an
    /// SGI or PPI).
    pub fn is_group1(&self, cpu: u8, intid: u32) -> bool {
        self.cpu(cpu).is_some_and(|c| self.dist.is_group1(c, intid))
    }

    /// CPU `cpu`'s running priority (GICC_RPR; 0xFF when idle).
    pub fn running_priority(&self, cpu: u8) -> u8 {
        self.cpu(cpu)
            .and_then(|c| self.cpus.get(c))
            .map_or(0xFF, |cif| cif.rpr(self.dist.shape.pre_bits))
    }
}
