//! Injection: the driver's record of the list registers it filled, the
//! queue of interrupts waiting for one, and the placement rules.
//!
//! The same logic serves the resident vCPU (list registers in the GIC, reached
//! through a [`Port`] over the GICH bus) and a saved one (list registers
//! held in a [`VcpuContext`](super::VcpuContext), exact in memory).
//!
//! # Rules
//!
//! * One list register per interrupt. An interrupt is identified by its
//!   virtual ID, plus the source CPU for a software SGI. If it is already in
//!   a list register, that register is read (the guest may have moved it on):
//!   pending or pending+active: nothing to do; active with HW = 0: made
//!   pending+active in place (one write); active with HW = 1: nothing to do,
//!   the physical distributor holds the pending state until the guest
//!   deactivates; completed: the register is free again.
//! * An interrupt already queued is merged (pending is a state, not a count):
//!   [`Injection::AlreadyQueued`].
//! * Merging needs the same kind: HW = 0 into HW = 0, HW = 1 into HW = 1
//!   with the same physical ID ([`raw::same_link`]). A request meeting a
//!   valid register or a queue entry of the same virtual ID but another
//!   kind or link is refused ([`Error::ConflictsWithListRegister`],
//!   [`Error::ConflictsWithQueued`]) and nothing changes.
//! * A merged request with the EOI bit (HW = 0) adds it to the register or
//!   queue entry it merges into, and its completion is reported even if the
//!   driver had set that bit itself ([`Ledger::settle`]).
//! * A free list register is taken from the record without touching the GIC;
//!   GICH_ELRSR is read only when the record says all are taken.
//! * Otherwise the interrupt is queued, ordered by priority then arrival. An
//!   interrupt that outranks the lowest-priority *pending* list register
//!   takes it (after reading it, to be sure the guest has not acknowledged it
//!   since); the evicted interrupt goes back to the head of its priority in
//!   the queue. Active list registers are never evicted.
//! * A software interrupt active in a list register whose pending state
//!   would be delivered ahead of a more urgent queued interrupt (it is, or
//!   would become, pending+active) has that pending state held back in the
//!   queue instead; the register stays active with an EOI bit of the
//!   driver's, whose maintenance interrupt releases it (see the module
//!   docs of `virt`, "No priority inversion through pending+active").
//! * A full queue refuses with [`Error::QueueFull`]; nothing is dropped.

use heapless::Vec;

use super::list_register::{raw, ListRegister};
use super::maintenance::Completion;
use super::{bits, low_bits};
use crate::regs::gich::{LR, MAX_LIST_REGISTERS};
use crate::Error;

/// Where an injected interrupt went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Injection {
    /// Written, pending, into the free list register `n`.
    Written(usize),
    /// Written into list register `n`, evicting the less urgent pending
    /// interrupt there back to the head of its priority in the queue.
    EvictedLessUrgent(usize),
    /// Was active in list register `n` (HW = 0); now pending+active there.
    MadePendingActive(usize),
    /// Already pending in list register `n`, or active there with HW = 1
    /// (its pending state is the physical distributor's): nothing written,
    /// unless the request added the EOI bit the register lacked (1 write).
    AlreadyInListRegister(usize),
    /// Waiting in the queue for a list register. Also the new pending
    /// state of an interrupt active in a list register while a more urgent
    /// one waits: it is held back in the queue rather than made
    /// pending+active.
    Queued,
    /// Already waiting in the queue; merged with that entry.
    AlreadyQueued,
}

/// Access to the list registers the logic works on.
pub(crate) trait Port {
    /// The current value of list register `n`, or `None` if the record
    /// already holds it exactly (a saved context).
    fn fetch(&self, n: usize) -> Option<u32>;
    /// Writes list register `n`.
    fn store(&self, n: usize, value: u32);
    /// GICH_ELRSR, or `None` to compute it from the record.
    fn empty_map(&self) -> Option<u64>;
}

/// The list registers of a saved context: the record is the state.
pub(crate) struct InMemory;

impl Port for InMemory {
    #[inline(always)]
    fn fetch(&self, _: usize) -> Option<u32> {
        None
    }
    #[inline(always)]
    fn store(&self, _: usize, _: u32) {}
    #[inline(always)]
    fn empty_map(&self) -> Option<u64> {
        None
    }
}

/// A queued interrupt: its list-register value (pending) and its order key,
/// priority field above a sequence number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: u64,
    lr: u32,
}

const SEQ_BITS: u32 = 58;
/// First sequence number for arrivals; evicted interrupts count down from below it.
const SEQ_START: u64 = 1 << (SEQ_BITS - 1);

/// Interrupts waiting for a list register, by priority then arrival.
///
/// Kept sorted so that the next to deliver is last: `pop` is O(1), an
/// insertion shifts at most `Q` entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PendingQueue<const Q: usize> {
    entries: Vec<Entry, Q>,
    next_seq: u64,
    front_seq: u64,
}

impl<const Q: usize> PendingQueue<Q> {
    pub(crate) const fn new() -> Self {
        PendingQueue {
            entries: Vec::new(),
            next_seq: SEQ_START,
            front_seq: SEQ_START - 1,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub(crate) fn is_full(&self) -> bool {
        self.entries.is_full()
    }
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    fn order_key(lr: u32, seq: u64) -> u64 {
        ((raw::priority(lr) as u64) << SEQ_BITS) | (seq & low_bits(SEQ_BITS as usize))
    }

    fn insert(&mut self, e: Entry) -> Result<(), ()> {
        let at = self.entries.partition_point(|x| x.key > e.key);
        self.entries.insert(at, e).map_err(|_| ())
    }

    /// Queues `lr` behind everything of its priority.
    pub(crate) fn push(&mut self, lr: u32) -> Result<(), ()> {
        let key = Self::order_key(lr, self.next_seq);
        self.insert(Entry { key, lr })?;
        self.next_seq += 1;
        Ok(())
    }

    /// Queues `lr` ahead of everything of its priority (an evicted interrupt
    /// arrived before any queued one).
    pub(crate) fn push_front(&mut self, lr: u32) -> Result<(), ()> {
        let key = Self::order_key(lr, self.front_seq);
        self.insert(Entry { key, lr })?;
        self.front_seq -= 1;
        Ok(())
    }

    /// The next interrupt to deliver.
    pub(crate) fn peek(&self) -> Option<u32> {
        self.entries.last().map(|e| e.lr)
    }
    /// The first entry in delivery order for which `ok` holds: its index
    /// (for [`remove_at`](Self::remove_at)) and value.
    pub(crate) fn first_where(&self, mut ok: impl FnMut(u32) -> bool) -> Option<(usize, u32)> {
        self.entries
            .iter()
            .enumerate()
            .rev()
            .find(|(_, e)| ok(e.lr))
            .map(|(i, e)| (i, e.lr))
    }
    /// Takes the entry at `index` (from [`first_where`](Self::first_where)).
    pub(crate) fn remove_at(&mut self, index: usize) -> u32 {
        self.entries.remove(index).lr
    }

    /// Merges the request `req` into a queued entry claiming the same
    /// virtual interrupt ([`raw::same_virtual_id`]), adding the bits
    /// `extra` (the EOI bit) to it: `Ok(true)` if merged, `Ok(false)` if
    /// none is queued, and `Err(position)` (0: the head) if the entry is of
    /// another kind or physical link ([`raw::same_link`]), which is left
    /// unchanged.
    pub(crate) fn merge(&mut self, req: u32, extra: u32) -> Result<bool, usize> {
        for (position, e) in self.entries.iter_mut().rev().enumerate() {
            if !raw::same_virtual_id(e.lr, req) {
                continue;
            }
            if !raw::same_link(e.lr, req) {
                return Err(position);
            }
            e.lr |= extra;
            return Ok(true);
        }
        Ok(false)
    }

    /// Whether an entry claiming the same virtual interrupt as `v` is
    /// queued ([`raw::same_virtual_id`]).
    pub(crate) fn claims(&self, v: u32) -> bool {
        self.entries.iter().any(|e| raw::same_virtual_id(e.lr, v))
    }

    /// The queued list-register values, next to deliver first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.entries.iter().rev().map(|e| e.lr)
    }
}

/// The driver's record of one vCPU's list registers and queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ledger<const Q: usize> {
    /// List registers holding one of this vCPU's interrupts (valid, or
    /// completed with an EOI maintenance condition not yet handled).
    pub(crate) in_use: u64,
    /// The last value written to or read from each list register. The
    /// guest changes only the State field, so every other field is exact;
    /// registers not in use hold a value that is free (GICH_ELRSR set).
    pub(crate) lrs: [u32; MAX_LIST_REGISTERS],
    pub(crate) queue: PendingQueue<Q>,
    /// List registers whose EOI bit the driver set itself (see
    /// [`settle`](Self::settle)): their completion is not reported.
    pub(crate) eoi_added: u64,
}

impl<const Q: usize> Ledger<Q> {
    /// The queued interrupts as list-register values, next to deliver first.
    pub(crate) fn queued(&self) -> impl Iterator<Item = ListRegister> + '_ {
        self.queue
            .iter()
            .filter_map(|v| ListRegister::decode(v).ok())
    }

    pub(crate) const fn new() -> Self {
        Ledger {
            in_use: 0,
            lrs: [0; MAX_LIST_REGISTERS],
            queue: PendingQueue::new(),
            eoi_added: 0,
        }
    }

    /// Nothing in a list register and nothing queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.in_use == 0 && self.queue.is_empty()
    }

    /// Forgets every list register in use and every queued interrupt.
    pub(crate) fn clear(&mut self) {
        self.in_use = 0;
        self.eoi_added = 0;
        self.queue.clear();
    }

    #[inline(always)]
    fn refresh<P: Port>(&mut self, port: &P, n: usize) -> u32 {
        if let Some(v) = port.fetch(n) {
            self.lrs[n] = v;
        }
        self.lrs[n]
    }

    /// Writes list register `n` with `v` and records it in use.
    #[inline(always)]
    fn write_lr<P: Port>(&mut self, port: &P, n: usize, v: u32) {
        port.store(n, v);
        self.lrs[n] = v;
        self.in_use |= 1 << n;
    }

    /// Like [`write_lr`](Self::write_lr), for a new interrupt (not the same
    /// one updated in place): any EOI bit of the driver's there is gone.
    #[inline(always)]
    fn write_new_lr<P: Port>(&mut self, port: &P, n: usize, v: u32) {
        self.eoi_added &= !(1 << n);
        self.write_lr(port, n, v);
    }

    /// Records the list-register value `v` in the first register free by
    /// the record (writing it is the caller's) and returns its index, or
    /// `None` when none is free. Refuses an interrupt already listed or
    /// queued.
    pub(crate) fn try_list(&mut self, avail: u64, v: u32) -> Result<Option<usize>, Error> {
        if bits(self.in_use).any(|n| raw::same_virtual_id(self.lrs[n], v)) || self.queue.claims(v) {
            return Err(Error::AlreadyQueued(LR::VirtualID.read(v)));
        }
        let free = avail & !self.in_use;
        if free == 0 {
            return Ok(None);
        }
        let n = free.trailing_zeros() as usize;
        self.eoi_added &= !(1 << n);
        self.lrs[n] = v;
        self.in_use |= 1 << n;
        Ok(Some(n))
    }

    /// Drops from `in_use` the list registers the guest has finished with
    /// (GICH_ELRSR, or computed from the record). Returns them.
    pub(crate) fn reclaim_empty<P: Port>(&mut self, port: &P) -> u64 {
        let empty = match port.empty_map() {
            Some(map) => map,
            None => bits(self.in_use)
                .filter(|&n| raw::is_empty(self.lrs[n]))
                .fold(0, |m, n| m | 1 << n),
        } & self.in_use;
        self.in_use &= !empty;
        // The guest changes only the State field, so the record becomes exact again.
        for n in bits(empty) {
            self.lrs[n] = raw::as_invalid(self.lrs[n]);
        }
        empty
    }

    /// Places the pending list-register value `req` (see the module rules).
    /// `avail` has a bit per implemented list register.
    pub(crate) fn inject<P: Port>(
        &mut self,
        port: &P,
        avail: u64,
        req: u32,
    ) -> Result<Injection, Error> {
        let key = raw::key(req);
        let intid = raw::virtual_id(req);
        // A merged request keeps its EOI bit (HW = 0 only): the caller asked
        // to hear of the completion, and the driver must then report it.
        let eoi = if raw::is_hw(req) { 0 } else { req & raw::EOI };
        let eoi_bit = (eoi != 0) as u64;
        // Already in a list register?
        for n in bits(self.in_use) {
            if !raw::same_virtual_id(self.lrs[n], req) {
                continue;
            }
            let v = self.refresh(port, n);
            if !raw::same_link(v, req) {
                // Another kind or physical link: merging would change the
                // register's meaning or drop the request's.
                if raw::is_invalid(v) {
                    if raw::is_empty(v) {
                        self.in_use &= !(1 << n);
                    }
                    continue;
                }
                return Err(Error::ConflictsWithListRegister {
                    intid,
                    list_register: n,
                });
            }
            if raw::has_pending(v) || (raw::is_active_only(v) && raw::is_hw(v)) {
                if v & eoi != eoi {
                    self.write_lr(port, n, v | eoi);
                }
                self.eoi_added &= !(eoi_bit << n);
                return Ok(Injection::AlreadyInListRegister(n));
            }
            if raw::is_active_only(v) {
                if self.queue.claims(req) {
                    // Its pending half already waits in the queue (held
                    // back from a more urgent interrupt): merge there.
                    break;
                }
                let urgent_waits = self
                    .queue
                    .peek()
                    .is_some_and(|head| raw::priority(head) < raw::priority(v));
                if urgent_waits && !self.queue.is_full() {
                    // Pending+active in place would return to pending ahead
                    // of the more urgent one when the guest deactivates it,
                    // with no maintenance condition to say so: the new
                    // pending state waits in the queue instead.
                    let half = self.hold_back_pending(port, n, v) | eoi;
                    // Room: checked above.
                    let _ = self.queue.push(half);
                    return Ok(Injection::Queued);
                }
                self.write_lr(port, n, raw::to_pending_active(v) | eoi);
                self.eoi_added &= !(eoi_bit << n);
                return Ok(Injection::MadePendingActive(n));
            }
            if raw::is_empty(v) {
                // Completed silently: the register is free again.
                self.in_use &= !(1 << n);
            }
            // else: completed with an EOI to report; it keeps its register
            // until handle_maintenance, and the new one needs another.
        }
        match self.queue.merge(req, eoi) {
            Ok(true) => return Ok(Injection::AlreadyQueued),
            Ok(false) => {}
            Err(position) => return Err(Error::ConflictsWithQueued { intid, position }),
        }
        // Fast path: the record shows a free list register and nothing waits.
        let free = avail & !self.in_use;
        if free != 0 && self.queue.is_empty() {
            let n = free.trailing_zeros() as usize;
            self.write_new_lr(port, n, req);
            return Ok(Injection::Written(n));
        }
        let mut free = free;
        if free == 0 {
            self.reclaim_empty(port);
            free = avail & !self.in_use;
        }
        if self.queue.is_full() {
            if free == 0 {
                return Err(Error::QueueFull(intid));
            }
            // Make room: whichever of the queue's head and `req` comes first
            // takes the free register (the head on a tie: it arrived first).
            let n = free.trailing_zeros() as usize;
            match self.next_placeable() {
                Some((at, head)) if raw::priority(head) <= raw::priority(req) => {
                    self.queue.remove_at(at);
                    self.write_new_lr(port, n, head);
                }
                _ => {
                    self.write_new_lr(port, n, req);
                    self.balance(port, avail, u32::MAX);
                    return Ok(Injection::Written(n));
                }
            }
        }
        // Cannot fail: the queue had room or was just given one.
        self.queue.push(req).map_err(|_| Error::QueueFull(intid))?;
        Ok(self.balance(port, avail, key).0)
    }

    /// The next queued interrupt that may take a list register: the first
    /// in delivery order whose virtual ID no valid list register holds (one
    /// whose pending half was held back waits for its active half to be
    /// deactivated and retired).
    fn next_placeable(&self) -> Option<(usize, u32)> {
        let (in_use, lrs) = (self.in_use, &self.lrs);
        self.queue.first_where(|v| {
            !bits(in_use).any(|n| !raw::is_invalid(lrs[n]) && raw::same_virtual_id(lrs[n], v))
        })
    }

    /// Holds back the pending half of software list register `n` (value
    /// `v`, active or pending+active): writes it active only, with an EOI
    /// bit that is the driver's (1 write, none if it already had the bit),
    /// so the guest's deactivation raises the EOI maintenance interrupt,
    /// which refills. Returns the pending half as a queue value, carrying
    /// the caller's EOI bit if the register had one: the completion is
    /// reported once, when that last instance completes.
    fn hold_back_pending<P: Port>(&mut self, port: &P, n: usize, v: u32) -> u32 {
        let callers = if self.eoi_added & 1 << n != 0 {
            0
        } else {
            v & raw::EOI
        };
        let active = raw::as_active(v) | raw::EOI;
        if active != v {
            self.write_lr(port, n, active);
        }
        self.eoi_added |= 1 << n;
        raw::as_pending(v & !raw::EOI) | callers
    }

    /// Moves queued interrupts into list registers: into free ones first,
    /// then over lower-priority pending ones (evicting them back to the
    /// queue). A lower-priority pending+active one gives up its pending
    /// half to the queue instead ([`hold_back_pending`](Self::hold_back_pending)),
    /// so it cannot return to pending ahead of a more urgent queued one.
    /// Reports where the interrupt with identity `watch` went, and how many
    /// list registers were written.
    pub(crate) fn balance<P: Port>(
        &mut self,
        port: &P,
        avail: u64,
        watch: u32,
    ) -> (Injection, usize) {
        let mut placed = Injection::Queued;
        let mut written = 0;
        while let Some((at, head)) = self.next_placeable() {
            let free = avail & !self.in_use;
            let (n, evicted) = if free != 0 {
                (free.trailing_zeros() as usize, None)
            } else {
                let split_ok = !self.queue.is_full();
                let Some(n) = self.eviction_candidate(raw::priority(head), split_ok) else {
                    break;
                };
                let v = self.refresh(port, n);
                if raw::is_pending_active(v) && !raw::is_hw(v) && split_ok {
                    let half = self.hold_back_pending(port, n, v);
                    // Room: checked above. The evicted half arrived before
                    // anything queued of its priority.
                    let _ = self.queue.push_front(half);
                    continue;
                }
                if !raw::is_pending_only(v) {
                    // The guest moved it on since we wrote it: record that and look again.
                    if raw::is_empty(v) {
                        self.in_use &= !(1 << n);
                    }
                    continue;
                }
                // Back to the queue as the caller injected it: without an
                // EOI bit the driver added itself.
                let v = if self.eoi_added & 1 << n != 0 {
                    v & !raw::EOI
                } else {
                    v
                };
                (n, Some(v))
            };
            self.queue.remove_at(at);
            if let Some(v) = evicted {
                // Room: the head was just taken.
                let _ = self.queue.push_front(v);
            }
            self.write_new_lr(port, n, head);
            written += 1;
            if raw::key(head) == watch {
                placed = match evicted {
                    Some(_) => Injection::EvictedLessUrgent(n),
                    None => Injection::Written(n),
                };
            }
        }
        (placed, written)
    }

    /// The lowest-priority list register the record says is pending (not
    /// active), or with `split_ok` pending+active with HW = 0, if it is
    /// strictly lower in priority than `than`; a pending one before a
    /// pending+active one of the same priority.
    fn eviction_candidate(&self, than: u32, split_ok: bool) -> Option<usize> {
        let mut best: Option<((u32, bool), usize)> = None;
        for n in bits(self.in_use) {
            let v = self.lrs[n];
            let p = raw::priority(v);
            let pending = raw::is_pending_only(v);
            let split = split_ok && raw::is_pending_active(v) && !raw::is_hw(v);
            let score = (p, pending);
            if (pending || split) && p > than && best.is_none_or(|(b, _)| score >= b) {
                best = Some((score, n));
            }
        }
        best.map(|(_, n)| n)
    }

    /// Refills free list registers from the queue, reading GICH_ELRSR only
    /// if the record shows none free. Returns how many were written.
    pub(crate) fn refill<P: Port>(&mut self, port: &P, avail: u64) -> usize {
        if self.queue.is_empty() {
            return 0;
        }
        if avail & !self.in_use == 0 {
            self.reclaim_empty(port);
        }
        self.balance(port, avail, u32::MAX).1
    }

    /// Retires the list registers in `eisr` (their EOI maintenance
    /// condition is being handled): records the completions of those in use
    /// in `out`, and frees them. The caller writes them (refill or 0).
    pub(crate) fn retire(&mut self, eisr: u64, out: &mut Vec<Completion, MAX_LIST_REGISTERS>) {
        for n in bits(eisr & self.in_use & !self.eoi_added) {
            // Capacity is the architectural maximum of list registers.
            let _ = out.push(Completion::from_lr(self.lrs[n]));
        }
        self.in_use &= !eisr;
        self.eoi_added &= !eisr;
        for n in bits(eisr) {
            self.lrs[n] = 0;
        }
    }

    /// With a single list register, neither UIE nor NPIE can ask for a
    /// refill while it is active (both would fire at once and forever). So
    /// while something is queued, the driver sets the EOI bit of that
    /// active software interrupt itself (one read, one write, once), and its
    /// completion raises the EOI maintenance interrupt, which refills; the
    /// completion is not reported, as the caller did not ask for it. An
    /// active hardware interrupt cannot carry the EOI bit: the queue then
    /// waits for the next inject or maintenance call.
    pub(crate) fn settle<P: Port>(&mut self, port: &P, avail: u64, nlr: usize) {
        if nlr != 1 || self.queue.is_empty() || self.eoi_added & 1 != 0 {
            return;
        }
        if self.in_use & 1 != 0 && raw::is_pending_only(self.lrs[0]) {
            // NPIE asks for the refill once the guest takes it.
            return;
        }
        let v = if self.in_use & 1 != 0 {
            self.refresh(port, 0)
        } else {
            0
        };
        if raw::is_empty(v) {
            self.in_use = 0;
            self.balance(port, avail, u32::MAX);
        } else if !raw::is_pending_only(v) && !raw::is_hw(v) && v & raw::EOI == 0 {
            // Active or pending+active.
            self.write_lr(port, 0, v | raw::EOI);
            self.eoi_added |= 1;
        }
    }

    /// GICH_MISR.NP was seen: no list register is in state pending, so
    /// those the record thought pending have been acknowledged. NP says
    /// nothing of a pending+active one (it is not in state pending on
    /// QEMU's GIC and the model): its record is left as it is, to be read
    /// again when a decision depends on it.
    pub(crate) fn note_none_pending(&mut self) {
        for n in bits(self.in_use) {
            if raw::is_pending_only(self.lrs[n]) {
                self.lrs[n] = raw::as_active(self.lrs[n]);
            }
        }
    }

    /// Which of UIE / NPIE the queue needs, given `nlr` list registers.
    ///
    /// * Nothing queued, or only pending halves held back behind their
    ///   active halves (released by those registers' EOI maintenance
    ///   interrupts): neither, so no maintenance interrupt stays asserted.
    /// * Some list register pending (not pending+active): NPIE, which fires
    ///   once the guest has taken them all, when a register may be refilled.
    /// * All taken and active (nested or EOImode 1 guests): NP would be
    ///   asserted at once and nothing could be refilled (a storm); UIE
    ///   instead, which fires when at most one is valid, so at least one can
    ///   be refilled. With a single list register UIE would storm too, so
    ///   neither: the queue is refilled at the next inject or maintenance
    ///   interrupt (an EOI-maintenance interrupt, for instance).
    pub(crate) fn wants(&self, nlr: usize) -> (bool, bool) {
        // A pending half held back behind its active half needs neither:
        // that register's EOI bit raises the maintenance interrupt that
        // releases it (UIE would storm while it waits).
        if self.next_placeable().is_none() {
            return (false, false);
        }
        // Only a purely pending register counts: whether NP treats
        // pending+active as pending is not something to rely on.
        let pending = bits(self.in_use).any(|n| raw::is_pending_only(self.lrs[n]));
        if pending {
            (false, true)
        } else {
            (nlr >= 2, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::regs::gich::LR;
    use crate::{Group, IntId, Priority};

    extern crate std;

    fn pending(n: u32, prio: u8) -> u32 {
        ListRegister::software(IntId::new(n).unwrap(), Priority(prio), Group::Group0)
            .unwrap()
            .encode()
    }

    fn order<const Q: usize>(q: &PendingQueue<Q>) -> std::vec::Vec<u32> {
        q.iter().map(|v| LR::VirtualID.read(v)).collect()
    }

    #[test]
    fn the_queue_delivers_by_priority_then_arrival() {
        let mut q = PendingQueue::<8>::new();
        for (n, p) in [(50, 0xE0), (51, 0xC0), (52, 0xE0), (53, 0xC0)] {
            q.push(pending(n, p)).unwrap();
        }
        assert_eq!(order(&q), [51, 53, 50, 52]);
        assert_eq!(q.peek().map(|v| LR::VirtualID.read(v)), Some(51));
        assert_eq!(
            q.remove_at(q.first_where(|_| true).unwrap().0),
            pending(51, 0xC0)
        );
        assert_eq!(order(&q), [53, 50, 52]);
    }

    #[test]
    fn an_evicted_interrupt_goes_ahead_of_everything_queued_at_its_priority() {
        let mut q = PendingQueue::<8>::new();
        q.push(pending(50, 0xC0)).unwrap();
        q.push(pending(51, 0x80)).unwrap();
        q.push_front(pending(40, 0xC0)).unwrap();
        q.push(pending(52, 0xC0)).unwrap();
        assert_eq!(order(&q), [51, 40, 50, 52]);
    }

    #[test]
    fn a_full_queue_refuses_and_keeps_its_order() {
        let mut q = PendingQueue::<2>::new();
        q.push(pending(40, 0xA0)).unwrap();
        q.push(pending(41, 0x80)).unwrap();
        assert!(q.is_full());
        assert_eq!(q.push(pending(42, 0x00)), Err(()));
        assert_eq!(q.push_front(pending(43, 0x00)), Err(()));
        assert_eq!(order(&q), [41, 40]);
    }
}
