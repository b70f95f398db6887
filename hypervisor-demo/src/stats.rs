//! What the hypervisor handled while a guest ran, counted, and the summary
//! it prints at the end of a run: exits by reason, the guest's GICD
//! accesses by register, maintenance interrupts, physical interrupts by
//! INTID, PSCI calls by function, and the aborts it injected.

use core::fmt;

use gic_driver::regs::gicd::{
    offset, BIT_ARRAY_BYTES, BYTE_ARRAY_BYTES, ICFGR_BYTES, ID_REGS_GIC400,
};
use gic_driver::IntId;
use heapless::LinearMap;

/// Why the guest exited to EL2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
pub enum ExitReason {
    /// A physical IRQ.
    Irq,
    /// `hvc` (ESR_EL2.EC 0x16).
    Hvc,
    /// `smc`, trapped by HCR_EL2.TSC (EC 0x17).
    Smc,
    /// A stage-2 data abort on the guest's GICD page (EC 0x24), served by
    /// the vGIC.
    GicdAccess,
    /// A stage-2 data abort elsewhere: an external abort injected.
    DataAbort,
    /// A stage-2 instruction abort (EC 0x20): an external abort injected.
    InstructionAbort,
    /// Any other trap: an undefined-instruction exception injected.
    OtherTrap,
    /// A physical FIQ or SError (the run ends).
    Unexpected,
}

const REASONS: [(ExitReason, &str); 8] = [
    (ExitReason::Irq, "physical IRQ"),
    (ExitReason::Hvc, "HVC"),
    (ExitReason::Smc, "SMC"),
    (ExitReason::GicdAccess, "GICD access"),
    (ExitReason::DataAbort, "data abort (injected)"),
    (ExitReason::InstructionAbort, "instruction abort (injected)"),
    (ExitReason::OtherTrap, "other trap (UNDEF injected)"),
    (ExitReason::Unexpected, "FIQ/SError"),
];

/// The GICD registers, by name, with the offsets they span
/// (IHI 0048B table 4-1; the sizes are the driver's). Offsets outside them
/// (reserved, or the implementation-defined PPISR/SPISR and NSACR) count as
/// "other".
const GICD_REGISTERS: [(&str, usize, usize); 17] = [
    ("CTLR", offset::CTLR, 4),
    ("TYPER", offset::TYPER, 4),
    ("IIDR", offset::IIDR, 4),
    ("IGROUPR", offset::IGROUPR, BIT_ARRAY_BYTES),
    ("ISENABLER", offset::ISENABLER, BIT_ARRAY_BYTES),
    ("ICENABLER", offset::ICENABLER, BIT_ARRAY_BYTES),
    ("ISPENDR", offset::ISPENDR, BIT_ARRAY_BYTES),
    ("ICPENDR", offset::ICPENDR, BIT_ARRAY_BYTES),
    ("ISACTIVER", offset::ISACTIVER, BIT_ARRAY_BYTES),
    ("ICACTIVER", offset::ICACTIVER, BIT_ARRAY_BYTES),
    ("IPRIORITYR", offset::IPRIORITYR, BYTE_ARRAY_BYTES),
    ("ITARGETSR", offset::ITARGETSR, BYTE_ARRAY_BYTES),
    ("ICFGR", offset::ICFGR, ICFGR_BYTES),
    ("SGIR", offset::SGIR, 4),
    ("CPENDSGIR", offset::CPENDSGIR, SGIS),
    ("SPENDSGIR", offset::SPENDSGIR, SGIS),
    ("ID registers", offset::PIDR4, 4 * ID_REGS_GIC400.len()),
];

/// One byte per SGI in GICD_CPENDSGIR/SPENDSGIR.
const SGIS: usize = IntId::SGI_COUNT as usize;

fn gicd_index(offset: usize) -> Option<usize> {
    GICD_REGISTERS
        .iter()
        .position(|&(_, base, len)| (base..base + len).contains(&offset))
}

/// Counts of one guest run.
#[derive(Debug, Default)]
pub struct Stats {
    exits: [u32; REASONS.len()],
    gicd_reads: [u32; GICD_REGISTERS.len() + 1],
    gicd_writes: [u32; GICD_REGISTERS.len() + 1],
    /// Maintenance interrupts (INTID 25) taken.
    pub maintenance: u32,
    /// Physical interrupts acknowledged at EL2, by INTID.
    irqs: LinearMap<u16, u32, 16>,
    /// Physical interrupts of INTIDs beyond the map's room.
    irqs_other: u32,
    /// PSCI calls, by function name.
    psci: LinearMap<&'static str, u32, 12>,
    /// GICD accesses with no syndrome (ISV = 0): an external abort
    /// injected. (Those of a width GICD does not allow, read as zero and
    /// ignored, are the vGIC's `Stats::unsupported_accesses`.)
    pub gicd_refused: u32,
}

impl Stats {
    /// Counts an exit.
    pub fn exit(&mut self, reason: ExitReason) {
        if let Some(i) = REASONS.iter().position(|&(r, _)| r == reason) {
            self.exits[i] += 1;
        }
    }

    /// Exits of one reason so far.
    pub fn exits(&self, reason: ExitReason) -> u32 {
        REASONS
            .iter()
            .position(|&(r, _)| r == reason)
            .map_or(0, |i| self.exits[i])
    }

    /// Exits of every reason so far.
    pub fn total_exits(&self) -> u32 {
        self.exits.iter().sum()
    }

    /// Counts a GICD access at `offset`.
    pub fn gicd(&mut self, offset: usize, write: bool) {
        let i = gicd_index(offset).unwrap_or(GICD_REGISTERS.len());
        let counts = if write {
            &mut self.gicd_writes
        } else {
            &mut self.gicd_reads
        };
        counts[i] += 1;
    }

    /// GICD accesses of every register so far.
    pub fn gicd_total(&self) -> u32 {
        self.gicd_reads.iter().chain(&self.gicd_writes).sum()
    }

    /// Counts a physical interrupt taken at EL2.
    pub fn irq(&mut self, intid: u32) {
        let key = intid as u16;
        match self.irqs.get_mut(&key) {
            Some(n) => *n += 1,
            None => {
                if self.irqs.insert(key, 1).is_err() {
                    self.irqs_other += 1;
                }
            }
        }
    }

    /// Physical interrupts of `intid` taken at EL2 so far.
    pub fn irqs_of(&self, intid: u32) -> u32 {
        self.irqs.get(&(intid as u16)).copied().unwrap_or(0)
    }

    /// Physical interrupts taken at EL2 so far, of every INTID.
    pub fn irqs_total(&self) -> u32 {
        self.irqs.values().sum::<u32>() + self.irqs_other
    }

    /// Counts a PSCI call.
    pub fn psci(&mut self, name: &'static str) {
        match self.psci.get_mut(&name) {
            Some(n) => *n += 1,
            None => {
                // 12 slots for at most 9 names: never full.
                let _ = self.psci.insert(name, 1);
            }
        }
    }

    /// The summary, for printing (one line per kind).
    pub fn summary(&self) -> Summary<'_> {
        Summary(self)
    }

    /// Logs the summary, one defmt line per kind (formatted here with
    /// `core::fmt`: the lists' lengths vary).
    pub fn log(&self) {
        let text = alloc::format!("{}", self.summary());
        for line in text.lines() {
            defmt::info!("{=str}", line);
        }
    }
}

/// [`Stats`] as the lines printed at the end of a run.
pub struct Summary<'a>(&'a Stats);

impl fmt::Display for Summary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        write!(f, "exits: {}", s.total_exits())?;
        for (&(_, name), &n) in REASONS.iter().zip(&s.exits) {
            if n != 0 {
                write!(f, ", {name} {n}")?;
            }
        }
        write!(f, "\nGICD accesses: {}", s.gicd_total())?;
        let names = GICD_REGISTERS.iter().map(|r| r.0).chain(["other"]);
        for ((name, &r), &w) in names.zip(&s.gicd_reads).zip(&s.gicd_writes) {
            if r + w != 0 {
                write!(f, ", {name} {r}r/{w}w")?;
            }
        }
        if s.gicd_refused != 0 {
            write!(f, " ({} without a syndrome)", s.gicd_refused)?;
        }
        write!(
            f,
            "\nphysical IRQs: {}, maintenance {}",
            s.irqs_total(),
            s.maintenance
        )?;
        let mut irqs: heapless::Vec<(u16, u32), 16> =
            s.irqs.iter().map(|(&k, &v)| (k, v)).collect();
        irqs.sort_unstable();
        for (intid, n) in irqs {
            write!(f, ", INTID {intid} x{n}")?;
        }
        if s.irqs_other != 0 {
            write!(f, ", others x{}", s.irqs_other)?;
        }
        if !s.psci.is_empty() {
            f.write_str("\nPSCI calls:")?;
            for (i, (name, n)) in s.psci.iter().enumerate() {
                write!(f, "{} {name} x{n}", if i == 0 { "" } else { "," })?;
            }
        }
        Ok(())
    }
}
