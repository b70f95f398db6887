//! Saving and restoring a model, in the snapshot format of
//! `gic_driver::snapshot` (a header and tagged, length-prefixed sections).
//!
//! Sections written:
//!
//! * [`tag::BASE`], always: the configuration, the Distributor, the
//!   physical CPU interfaces and the input line levels (layout below);
//! * [`tag::VIRT`], only with the Virtualization Extensions: a CPU count
//!   (u8) and one [`VcpuRecord`] per CPU.
//!
//! BASE payload, little-endian:
//!
//! ```text
//! cpus u8 | priority_bits u8 | lines u16
//! GICD_CTLR u32
//! for each word w of 32 INTIDs, 1 .. lines/32:
//!     enabled u32 | latched pending u32 | active u32 | group u32 | edge u32 | line level u32
//! for each SPI 32 .. min(lines, 1020): priority u8
//! for each SPI 32 .. min(lines, 1020): targets u8
//! for each CPU:
//!     word 0 (SGIs, PPIs): enabled | latched pending | active | group | edge | line level (u32 each)
//!     priorities of INTIDs 0-31 (32 x u8)
//!     SGI 0-15 pending source CPUs (16 x u8)
//!     GICC_CTLR u32 | GICC_PMR u8 | GICC_BPR u8 | GICC_ABPR u8 | GICC_APR0-3 (4 x u32)
//! ```
//!
//! Derived state is not saved: outputs, GICC_RPR (from GICC_APRn),
//! GICC_HPPIR, the pending state of level-sensitive interrupts (from the
//! line levels), GICH_EISR/ELRSR/MISR and the maintenance line (from the
//! virtual interfaces).
//!
//! Restoring decodes into a fresh model and replaces the state only when
//! everything decoded: on any error the model is unchanged. Unknown
//! sections are skipped. A snapshot without a VIRT section (written before
//! the Virtualization Extensions were modelled, or by a model without them)
//! restores into a model with them, leaving its virtual interfaces reset. A
//! VIRT section restoring into a model without them is refused with
//! [`SnapshotError::ConfigMismatch`]: it would silently drop guest state.

use gic_driver::regs::gich::MAX_LIST_REGISTERS;
use gic_driver::snapshot::{
    tag, Cursor, Reader, SnapshotError, VcpuRecord, Writer, HEADER_LEN, SECTION_HEADER_LEN,
};

use crate::config::{MAX_CPUS, SPECIAL_START};
use crate::cpu_interface::{self, CpuInterface};
use crate::distributor::{self, Distributor, Word, SGI_BITS};
use crate::{Gic, ModelError};

/// Bytes of the per-CPU part of the BASE section.
const PER_CPU_LEN: usize = 6 * 4 + 32 + 16 + 4 + 3 + 4 * 4;
/// Bytes of the largest BASE payload (8 CPUs, 1024 lines).
const MAX_BASE_LEN: usize =
    4 + 4 + 31 * 6 * 4 + 2 * (SPECIAL_START as usize - 32) + MAX_CPUS * PER_CPU_LEN;
/// Bytes of the largest VIRT payload (8 CPUs, 64 list registers each).
const MAX_VIRT_LEN: usize = 1 + MAX_CPUS * (13 + 4 * MAX_LIST_REGISTERS);

/// An upper bound of [`Gic::snapshot_len`] for any configuration, for
/// callers that want a static buffer.
pub const MAX_SNAPSHOT_LEN: usize =
    HEADER_LEN + SECTION_HEADER_LEN + MAX_BASE_LEN + SECTION_HEADER_LEN + MAX_VIRT_LEN;

/// The saved state of one group of 32 interrupts: its [`Word`] and its
/// pending latch and line level words.
#[derive(Clone, Copy)]
struct Saved {
    word: Word,
    latch: u32,
    level: u32,
}

impl Saved {
    /// Word `w` as CPU `cpu` sees it (word 0 is banked).
    fn of(d: &Distributor, cpu: usize, w: usize) -> Option<Saved> {
        let word = if w == 0 {
            d.banked.get(cpu)
        } else {
            d.shared.get(w)
        };
        let (latch, level) = d.inputs_of(cpu, w);
        word.map(|&word| Saved { word, latch, level })
    }

    /// Stores it as word `w` of CPU `cpu`.
    fn store(self, d: &mut Distributor, cpu: usize, w: usize) {
        let word = if w == 0 {
            d.banked.get_mut(cpu)
        } else {
            d.shared.get_mut(w)
        };
        if let Some(word) = word {
            *word = self.word;
        }
        if let Some((latch, level)) = d.inputs_mut(cpu, w) {
            *latch = self.latch;
            *level = self.level;
        }
    }

    /// The words in the order written.
    fn fields(&self) -> [u32; 6] {
        let w = &self.word;
        [w.enabled, self.latch, w.active, w.group, w.edge, self.level]
    }

    fn write(&self, w: &mut Writer<'_>) {
        for v in self.fields() {
            w.u32(v);
        }
    }

    fn read(c: &mut Cursor<'_>) -> Result<Saved, SnapshotError> {
        let enabled = c.u32()?;
        let latch = c.u32()?;
        let active = c.u32()?;
        let group = c.u32()?;
        let edge = c.u32()?;
        let level = c.u32()?;
        Ok(Saved {
            word: Word {
                enabled,
                active,
                group,
                edge,
            },
            latch,
            level,
        })
    }
}

/// Fails with `Corrupt` unless `ok`.
fn check(ok: bool) -> Result<(), SnapshotError> {
    if ok {
        Ok(())
    } else {
        Err(SnapshotError::Corrupt)
    }
}

impl Gic {
    /// Writes the model's state into `buf` in the format of
    /// [`gic_driver::snapshot`]: a [`tag::BASE`] section (configuration,
    /// Distributor, GICC interfaces, input line levels) and, with the
    /// Virtualization Extensions, a [`tag::VIRT`] section holding one
    /// [`VcpuRecord`] per CPU (byte layout: `model/src/snapshot.rs`). Derived
    /// state (outputs, RPR, HPPIR, GICH_EISR/ELRSR/MISR) is not saved.
    /// Returns the length written, or
    /// [`SnapshotError::BufferTooSmall`] with the length needed.
    pub fn to_bytes(&self, buf: &mut [u8]) -> Result<usize, SnapshotError> {
        let mut w = Writer::new(buf);
        self.write_sections(&mut w);
        w.finish()
    }

    /// The number of bytes [`to_bytes`](Self::to_bytes) writes (at most
    /// [`MAX_SNAPSHOT_LEN`](crate::MAX_SNAPSHOT_LEN)).
    pub fn snapshot_len(&self) -> usize {
        let mut w = Writer::new(&mut []);
        self.write_sections(&mut w);
        match w.finish() {
            Ok(n) | Err(SnapshotError::BufferTooSmall { needed: n }) => n,
            Err(_) => MAX_SNAPSHOT_LEN,
        }
    }

    fn write_sections(&self, w: &mut Writer<'_>) {
        let s = self.dist.shape;
        let cpus = s.cpus as usize;
        w.begin_section(tag::BASE);
        w.u8(s.cpus);
        w.u8(s.priority_bits);
        w.u16(s.lines as u16);
        w.u32(self.dist.ctlr);
        for n in 1..s.words() {
            if let Some(saved) = Saved::of(&self.dist, 0, n) {
                saved.write(w);
            }
        }
        let spis = 32..s.intids as usize;
        w.bytes(self.dist.priority.get(spis.clone()).unwrap_or(&[]));
        w.bytes(self.dist.targets.get(spis).unwrap_or(&[]));
        for c in 0..cpus.min(MAX_CPUS) {
            if let (Some(word), Some(prio), Some(sgi), Some(cif)) = (
                Saved::of(&self.dist, c, 0),
                self.dist.banked_priority.get(c),
                self.dist.sgi_sources.get(c),
                self.cpus.get(c),
            ) {
                word.write(w);
                w.bytes(prio);
                w.bytes(sgi);
                w.u32(cif.ctlr);
                w.u8(cif.pmr);
                w.u8(cif.bpr);
                w.u8(cif.abpr);
                for a in cif.apr {
                    w.u32(a);
                }
            }
        }
        if let Some(virt) = &self.virt {
            w.begin_section(tag::VIRT);
            w.u8(s.cpus);
            for v in virt.iter().take(cpus) {
                v.to_record().write(w);
            }
        }
    }

    /// Sets the model's state from bytes written by
    /// [`to_bytes`](Self::to_bytes). On error nothing changed:
    /// [`SnapshotError::ConfigMismatch`] for a snapshot of another shape
    /// (CPUs, lines, priority bits, list registers) or with virtualization
    /// state for a model without it; `Truncated`, `Corrupt`, `BadMagic`,
    /// `MissingSection(BASE)`, `Oversized` for damaged input.
    pub fn set_from_bytes(&mut self, data: &[u8]) -> Result<(), SnapshotError> {
        // The same framing checks as every other reader of the format.
        let reader = Reader::new(data)?;
        let mut base = reader
            .find(tag::BASE)?
            .ok_or(SnapshotError::MissingSection(tag::BASE))?;
        let mut fresh = Gic::new(self.config).map_err(|_| SnapshotError::ConfigMismatch)?;
        fresh.read_base(&mut base)?;
        base.finish()?;
        if let Some(mut virt) = reader.find(tag::VIRT)? {
            fresh.read_virt(&mut virt)?;
            virt.finish()?;
        }
        fresh.update_maintenance();
        *self = fresh;
        Ok(())
    }

    fn read_base(&mut self, c: &mut Cursor<'_>) -> Result<(), SnapshotError> {
        let s = self.dist.shape;
        let (cpus, bits, lines) = (c.u8()?, c.u8()?, c.u16()?);
        if cpus != s.cpus || bits != s.priority_bits || u32::from(lines) != s.lines {
            return Err(SnapshotError::ConfigMismatch);
        }
        let cpu_mask = s.cpu_mask();
        let d = &mut self.dist;
        d.ctlr = c.u32()?;
        check(d.ctlr & !distributor::CTLR_WRITABLE == 0)?;
        for w in 1..s.words() {
            let saved = Saved::read(c)?;
            let invalid = !s.valid_mask(w);
            check(saved.fields().iter().all(|v| v & invalid == 0))?;
            saved.store(d, 0, w);
        }
        let n = (s.intids as usize).saturating_sub(32);
        let prio = c.bytes(n)?;
        check(prio.iter().all(|p| p & !s.prio_mask == 0))?;
        let targets = c.bytes(n)?;
        // Uniprocessor: GICD_ITARGETSR is RAZ/WI, so targets stay 0.
        let allowed = if s.cpus == 1 { 0 } else { cpu_mask };
        check(targets.iter().all(|t| t & !allowed == 0))?;
        for (i, (p, t)) in prio.iter().zip(targets).enumerate() {
            if let (Some(dp), Some(dt)) = (d.priority.get_mut(32 + i), d.targets.get_mut(32 + i)) {
                *dp = *p;
                *dt = *t;
            }
        }
        for cpu in 0..(s.cpus as usize).min(MAX_CPUS) {
            let word = Saved::read(c)?;
            // SGIs: always enabled and edge-triggered, no latch, no line.
            check(
                word.word.enabled & SGI_BITS == SGI_BITS
                    && word.word.edge & SGI_BITS == SGI_BITS
                    && word.latch & SGI_BITS == 0
                    && word.level & SGI_BITS == 0,
            )?;
            let prio = c.bytes(32)?;
            check(prio.iter().all(|p| p & !s.prio_mask == 0))?;
            let sgi = c.bytes(16)?;
            check(sgi.iter().all(|v| v & !cpu_mask == 0))?;
            let cif = CpuInterface {
                ctlr: c.u32()?,
                pmr: c.u8()?,
                bpr: c.u8()?,
                abpr: c.u8()?,
                apr: [c.u32()?, c.u32()?, c.u32()?, c.u32()?],
            };
            check(
                cif.ctlr & !cpu_interface::CTLR_WRITABLE == 0
                    && cif.pmr & !s.prio_mask == 0
                    && (s.min_bpr..=7).contains(&cif.bpr)
                    && (s.min_bpr + 1..=7).contains(&cif.abpr)
                    && cif
                        .apr
                        .iter()
                        .enumerate()
                        .all(|(n, a)| a & !CpuInterface::apr_mask(s.pre_bits, n) == 0),
            )?;
            word.store(d, cpu, 0);
            if let (Some(dp), Some(ds), Some(dc)) = (
                d.banked_priority.get_mut(cpu),
                d.sgi_sources.get_mut(cpu),
                self.cpus.get_mut(cpu),
            ) {
                dp.copy_from_slice(prio);
                ds.copy_from_slice(sgi);
                *dc = cif;
            }
        }
        Ok(())
    }

    fn read_virt(&mut self, c: &mut Cursor<'_>) -> Result<(), SnapshotError> {
        let cpus = self.config.cpus;
        let Some(virt) = &mut self.virt else {
            return Err(SnapshotError::ConfigMismatch);
        };
        let count = c.u8()?;
        if count as usize > MAX_CPUS {
            return Err(SnapshotError::Oversized);
        }
        if count != cpus {
            return Err(SnapshotError::ConfigMismatch);
        }
        for v in virt.iter_mut().take(cpus as usize) {
            let record = VcpuRecord::read(c)?;
            if record.lr_count > v.config().list_registers {
                return Err(SnapshotError::ConfigMismatch);
            }
            v.set_record(&record)?;
        }
        Ok(())
    }

    /// Saves CPU `cpu`'s virtual interface alone, as
    /// [`VcpuRecord::to_bytes`] does: the format the driver's vCPU context
    /// uses, so a context saved here restores on hardware and back.
    pub fn vcpu_to_bytes(&self, cpu: u8, buf: &mut [u8]) -> Result<usize, ModelError> {
        let v = self.vcpu(cpu)?;
        Ok(v.to_record().to_bytes(buf)?)
    }

    /// Sets CPU `cpu`'s virtual interface from a record written by
    /// [`vcpu_to_bytes`](Self::vcpu_to_bytes) or the driver (the first record of
    /// the VIRT section, read by [`VcpuRecord::from_bytes`], which refuses
    /// damaged framing as [`set_from_bytes`](Self::set_from_bytes) does). Fails, changing
    /// nothing, without virtualization, for an absent CPU, for damaged
    /// input, or for a record with more list registers than configured
    /// ([`SnapshotError::ConfigMismatch`]) or invalid values.
    pub fn set_vcpu_from_bytes(&mut self, cpu: u8, data: &[u8]) -> Result<(), ModelError> {
        self.vcpu(cpu)?;
        let record = VcpuRecord::from_bytes(data)?;
        let c = cpu as usize;
        let v = self
            .virt
            .as_mut()
            .and_then(|v| v.get_mut(c))
            .ok_or(ModelError::NoVirtualization)?;
        if record.lr_count > v.config().list_registers {
            return Err(SnapshotError::ConfigMismatch.into());
        }
        v.set_record(&record)?;
        self.update_maintenance();
        Ok(())
    }

    fn vcpu(&self, cpu: u8) -> Result<&crate::VirtualCpuInterface, ModelError> {
        let virt = self.virt.as_ref().ok_or(ModelError::NoVirtualization)?;
        if cpu >= self.config.cpus {
            return Err(ModelError::InvalidCpu(cpu));
        }
        virt.get(cpu as usize).ok_or(ModelError::InvalidCpu(cpu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Config, VirtConfig};

    #[test]
    fn max_snapshot_len_bounds_the_largest_model() {
        let big = Config {
            cpus: 8,
            lines: 1024,
            priority_bits: 8,
            virtualization: Some(VirtConfig {
                list_registers: 64,
                ..VirtConfig::QEMU
            }),
        };
        let gic = Gic::new(big).unwrap();
        assert!(gic.snapshot_len() <= MAX_SNAPSHOT_LEN);
        let gic = Gic::new(big.with_virtualization(None)).unwrap();
        assert_eq!(
            gic.snapshot_len(),
            HEADER_LEN + SECTION_HEADER_LEN + MAX_BASE_LEN
        );
    }
}
