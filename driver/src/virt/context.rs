//! A vCPU's saved virtual-interface state: what a world switch moves out of
//! and back into GICH, plus the driver's record and queue so that nothing is
//! lost in between.

use super::control::{Hcr, Vmcr};
use super::list_register::{raw, ListRegister, LrState};
use super::low_bits;
use super::queue::{InMemory, Injection, Ledger};
use crate::regs::gich::MAX_LIST_REGISTERS;
use crate::snapshot::{tag, Reader, SnapshotError, VcpuRecord, Writer};
use crate::Error;

/// One saved vCPU's virtual-interface state: GICH_HCR, GICH_VMCR,
/// GICH_APR, the list registers it had in use, and the driver's occupancy
/// record and pending queue (up to `Q` interrupts).
///
/// A context is always a saved vCPU's: [`VirtualInterface::save`](super::VirtualInterface::save)
/// hands it out and [`restore`](super::VirtualInterface::restore) takes it
/// back by value, so while a vCPU is resident on the interface no context
/// of it exists to be restored twice or injected into behind the
/// interface's back. [`put`](super::VirtualInterface::put) and
/// [`load`](super::VirtualInterface::load) move GICH_VMCR and GICH_APR
/// into and out of it.
///
/// It converts to and from the [`VcpuRecord`] the model uses
/// ([`to_record`](Self::to_record), [`from_record`](Self::from_record)), and
/// to and from the same snapshot bytes ([`to_bytes`](Self::to_bytes),
/// [`from_bytes`](Self::from_bytes)), so a vCPU saved from a real or
/// emulated GIC restores into the model and back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcpuContext<const Q: usize = 32> {
    pub(crate) hcr: Hcr,
    pub(crate) vmcr: Vmcr,
    pub(crate) apr: u32,
    pub(crate) lr_count: u8,
    pub(crate) ledger: Ledger<Q>,
}

/// A context [`VirtualInterface::restore`](super::VirtualInterface::restore)
/// or [`switch_in`](super::VirtualInterface::switch_in) refused, handed back
/// unchanged with the reason; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused<const Q: usize = 32> {
    /// Why: [`Error::VcpuResident`] or [`Error::InvalidListRegister`].
    pub error: Error,
    /// The context, as it was passed.
    pub context: VcpuContext<Q>,
}

impl<const Q: usize> Default for VcpuContext<Q> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const Q: usize> VcpuContext<Q> {
    /// A vCPU that has not run: GICH_HCR.En set, GICH_VMCR and GICH_APR 0,
    /// no list registers. Interrupts injected into it are queued until it
    /// is first restored.
    pub const fn new() -> Self {
        Self::with_list_registers(0)
    }

    /// As [`new`](Self::new), shaped for a GIC with `count` list registers
    /// (capped at 64), so [`inject`](Self::inject) can place interrupts in
    /// them directly.
    pub const fn with_list_registers(count: u8) -> Self {
        VcpuContext {
            hcr: Hcr::ENABLED,
            vmcr: Vmcr::from_raw(0),
            apr: 0,
            lr_count: if count as usize > MAX_LIST_REGISTERS {
                MAX_LIST_REGISTERS as u8
            } else {
                count
            },
            ledger: Ledger::new(),
        }
    }

    /// The saved GICH_HCR.
    pub fn hcr(&self) -> Hcr {
        self.hcr
    }
    /// Sets the saved GICH_HCR's caller bits (En, LRENPIE, VGrp enables);
    /// UIE and NPIE follow the queue, and the saved EOICount (the guest's)
    /// is kept.
    pub fn set_hcr(&mut self, hcr: Hcr) {
        let ours = Hcr::DRIVER | Hcr::EOI_COUNT;
        self.hcr = Hcr::from_raw((hcr.raw() & !ours) | (self.hcr.raw() & ours));
    }
    /// The saved GICH_VMCR (from the last [`put`](super::VirtualInterface::put)).
    pub fn vmcr(&self) -> Vmcr {
        self.vmcr
    }
    /// Sets the GICH_VMCR the next [`load`](super::VirtualInterface::load) writes.
    pub fn set_vmcr(&mut self, vmcr: Vmcr) {
        self.vmcr = vmcr;
    }
    /// The saved GICH_APR.
    pub fn apr(&self) -> u32 {
        self.apr
    }
    /// Sets the GICH_APR the next [`load`](super::VirtualInterface::load) writes.
    pub fn set_apr(&mut self, apr: u32) {
        self.apr = apr;
    }
    /// List registers of the GIC this context was saved on (0 for one that never ran).
    pub fn list_register_count(&self) -> u8 {
        self.lr_count
    }
    /// The list registers holding one of this vCPU's interrupts, one bit each.
    pub fn in_use(&self) -> u64 {
        self.ledger.in_use
    }
    /// The saved value of list register `n`, decoded.
    pub fn list_register(&self, n: usize) -> Result<ListRegister, Error> {
        if n >= self.lr_count as usize {
            return Err(Error::InvalidListRegister(n));
        }
        ListRegister::decode(self.ledger.lrs[n])
    }
    /// How many interrupts wait in the queue.
    pub fn queued_len(&self) -> usize {
        self.ledger.queue.len()
    }
    /// The queued interrupts, next to be delivered first.
    pub fn queued(&self) -> impl Iterator<Item = ListRegister> + '_ {
        self.ledger.queued()
    }
    /// Makes `lr`'s interrupt pending for this saved vCPU, by the same rules
    /// as [`VirtualInterface::inject`](super::VirtualInterface::inject), in
    /// memory: it reaches the GIC at the next restore. Fails with
    /// [`Error::ConflictsWithListRegister`] or
    /// [`Error::ConflictsWithQueued`] if the virtual ID is held as the
    /// other kind, and [`Error::QueueFull`] if it must wait and the queue
    /// is full.
    pub fn inject(&mut self, lr: ListRegister) -> Result<Injection, Error> {
        let avail = low_bits(self.lr_count as usize);
        let placed = self
            .ledger
            .inject(&InMemory, avail, raw::as_pending(lr.encode()))?;
        self.ledger.settle(&InMemory, avail, self.lr_count as usize);
        let (uie, npie) = self.ledger.wants(self.lr_count as usize);
        self.hcr.set_uie(uie);
        self.hcr.set_npie(npie);
        Ok(placed)
    }

    /// The architectural state as the snapshot record the model uses: HCR,
    /// VMCR, APR and the list registers. The driver's own record, the queue
    /// and which EOI bits it set itself, is not part of it (see
    /// [`to_bytes`](Self::to_bytes)).
    pub fn to_record(&self) -> VcpuRecord {
        let mut r = VcpuRecord {
            hcr: self.hcr.raw(),
            vmcr: self.vmcr.raw(),
            apr: self.apr,
            lr_count: self.lr_count,
            ..VcpuRecord::default()
        };
        let n = self.lr_count as usize;
        r.lrs[..n].copy_from_slice(&self.ledger.lrs[..n]);
        r
    }

    /// A context from a snapshot record, with an empty queue; every EOI
    /// bit in it is taken as the caller's (its completion is reported). The list
    /// registers that are valid, or hold an EOI maintenance condition, are
    /// in use. Fails if a list register value is not architecturally valid
    /// ([`Error::InvalidListRegisterValue`]), if two valid list registers
    /// hold the same interrupt (UNPREDICTABLE), or if the record claims more
    /// than 64 list registers.
    pub fn from_record(record: &VcpuRecord) -> Result<Self, Error> {
        let n = record.lr_count as usize;
        if n > MAX_LIST_REGISTERS {
            return Err(Error::Snapshot(SnapshotError::Oversized));
        }
        let mut ctx = Self::with_list_registers(record.lr_count);
        ctx.hcr = Hcr::from_raw(record.hcr);
        ctx.vmcr = Vmcr::from_raw(record.vmcr);
        ctx.apr = record.apr;
        for (i, &v) in record.lrs[..n].iter().enumerate() {
            if v != 0 {
                ListRegister::decode(v)?;
            }
            if !raw::is_invalid(v)
                && record.lrs[..i]
                    .iter()
                    .any(|&w| !raw::is_invalid(w) && raw::same_virtual_id(w, v))
            {
                return Err(Error::InvalidListRegisterValue(v));
            }
            ctx.ledger.lrs[i] = v;
            if !raw::is_empty(v) {
                ctx.ledger.in_use |= 1 << i;
            }
        }
        Ok(ctx)
    }

    /// Writes a standalone snapshot: the [`tag::VIRT`] section exactly as
    /// [`VcpuRecord::to_bytes`] writes it, then, only if interrupts are queued,
    /// a [`tag::PENDING_QUEUE`] section, and only if the driver set a list
    /// register's EOI bit itself, a [`tag::DRIVER_EOI`] section, so the
    /// context reads back meaning exactly the same. Returns the length
    /// written.
    pub fn to_bytes(&self, buf: &mut [u8]) -> Result<usize, Error> {
        let mut w = Writer::new(buf);
        w.begin_section(tag::VIRT);
        w.u8(1);
        self.to_record().write(&mut w);
        if !self.ledger.queue.is_empty() {
            w.begin_section(tag::PENDING_QUEUE);
            w.u32(self.ledger.queue.len() as u32);
            for v in self.ledger.queue.iter() {
                w.u32(v);
            }
        }
        let added = self.ledger.eoi_added & self.ledger.in_use;
        if added != 0 {
            w.begin_section(tag::DRIVER_EOI);
            w.u64(added);
        }
        Ok(w.finish()?)
    }

    /// Reads a snapshot written by [`to_bytes`](Self::to_bytes) or by
    /// the model (the first CPU's record of its [`tag::VIRT`] section), and
    /// the queue and driver-EOI sections if present. Fails if the queue
    /// holds more than `Q` interrupts, or values that are not pending list
    /// registers, or interrupts queued twice or already in a valid list
    /// register (except the pending half of one held back there, active
    /// with the driver's EOI bit, see the [module rules](super)), and with
    /// [`SnapshotError::Corrupt`] if the driver-EOI section names a list
    /// register not in use, HW = 1, or without its EOI bit.
    pub fn from_bytes(data: &[u8]) -> Result<Self, Error> {
        let mut ctx = Self::from_record(&VcpuRecord::from_bytes(data)?)?;
        let reader = Reader::new(data)?;
        if let Some(mut c) = reader.find(tag::DRIVER_EOI)? {
            let added = c.u64()?;
            c.finish()?;
            let ours = |n: usize| {
                let v = ctx.ledger.lrs[n];
                !raw::is_hw(v) && v & raw::EOI != 0
            };
            if added & !ctx.ledger.in_use != 0 || !super::bits(added).all(ours) {
                return Err(Error::Snapshot(SnapshotError::Corrupt));
            }
            ctx.ledger.eoi_added = added;
        }
        if let Some(mut c) = reader.find(tag::PENDING_QUEUE)? {
            let count = c.u32()? as usize;
            if count > Q {
                return Err(Error::Snapshot(SnapshotError::Oversized));
            }
            for _ in 0..count {
                let v = c.u32()?;
                let lr = ListRegister::decode(v)?;
                let l = &ctx.ledger;
                let in_lr = super::bits(l.in_use).any(|n| {
                    let w = l.lrs[n];
                    let held_back =
                        raw::is_active_only(w) && raw::same_link(w, v) && l.eoi_added & 1 << n != 0;
                    !raw::is_invalid(w) && raw::same_virtual_id(w, v) && !held_back
                });
                if lr.state() != LrState::Pending || in_lr || l.queue.claims(v) {
                    return Err(Error::InvalidListRegisterValue(v));
                }
                ctx.ledger
                    .queue
                    .push(v)
                    .map_err(|_| Error::Snapshot(SnapshotError::Oversized))?;
            }
            c.finish()?;
        }
        Ok(ctx)
    }
}
