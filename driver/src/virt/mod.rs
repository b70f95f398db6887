//! The Virtualization Extensions, hypervisor side (GICH, IHI 0048B chapter 5).
//!
//! | item | what it is |
//! |---|---|
//! | [`ListRegister`] | one GICH_LRn value, typed: encode/decode round-trip exactly |
//! | [`Hcr`], [`Vmcr`], [`Misr`], [`VtrInfo`] | typed GICH_HCR, GICH_VMCR, GICH_MISR, GICH_VTR |
//! | [`VirtualInterface`] | one CPU's GICH frame: injection, pending queue, maintenance, world switch |
//! | [`VcpuContext`] | a vCPU's saved virtual-interface state, convertible to [`VcpuRecord`](crate::snapshot::VcpuRecord) |
//! | [`MaintenanceSummary`] | what [`VirtualInterface::handle_maintenance`] did |
//!
//! The guest needs nothing from this module: it drives its virtual CPU
//! interface (GICV, which has the GICC layout) with [`CpuInterface`](crate::CpuInterface).
//!
//! # Glossary
//!
//! One word for each operation of [`VirtualInterface`] (KVM's where it has
//! one), and the GICH registers it touches:
//!
//! | verb | what and when | GICH registers |
//! |---|---|---|
//! | [`init`](VirtualInterface::init) | reset, with an empty vCPU resident | writes HCR = 0, every LRn = 0, APR = 0, VMCR = 0 |
//! | [`inject`](VirtualInterface::inject) | make a virtual interrupt pending for the resident vCPU | writes a free LRn (reads it first if the interrupt is already there); reads ELRSR only when the record shows none free; writes HCR when UIE/NPIE change |
//! | [`list`](VirtualInterface::list) | a virtual GIC lists an interrupt as it is (active, pending+active) | writes one free LRn |
//! | [`refill`](VirtualInterface::refill) | move queued interrupts into free list registers | ELRSR (only if the record shows none free), LRn, HCR |
//! | [`handle_maintenance`](VirtualInterface::handle_maintenance) | the maintenance interrupt (PPI 9): retire, report, refill | MISR (unless only EOI can fire), EISR, HCR (EOICount on LRENP, VGrp enables, UIE/NPIE), LRn of retired registers |
//! | [`drain`](VirtualInterface::drain) | a virtual GIC takes every listed and queued interrupt back (KVM's *fold*), on every exit | reads and zeroes each LRn in use; HCR if UIE/NPIE were set |
//! | [`save`](VirtualInterface::save) | the hot half of switching out, on every exit that may switch vCPUs (KVM's `vgic_v2_save_state`): hands out the vCPU's [`VcpuContext`] | reads each LRn in use; reads HCR with LRENPIE; writes HCR = 0 |
//! | [`restore`](VirtualInterface::restore) | the hot half of switching in, on every entry after a switch (`vgic_v2_restore_state`): takes a context back | writes each LRn in use, zeroes LRs another vCPU left, writes HCR last |
//! | [`put`](VirtualInterface::put) | the cold half of switching out, when the vCPU leaves this CPU (`vgic_v2_put`) | reads VMCR, APR |
//! | [`load`](VirtualInterface::load) | the cold half of switching in, when the vCPU comes to this CPU (`vgic_v2_load`) | writes VMCR, APR |
//! | [`switch_out`](VirtualInterface::switch_out), [`switch_in`](VirtualInterface::switch_in) | save then put; restore then load | both halves' |
//! | [`VcpuContext::inject`] | make a virtual interrupt pending for a saved vCPU | none: in memory, it reaches the GIC at restore |
//! | [`to_bytes`](VcpuContext::to_bytes), [`from_bytes`](VcpuContext::from_bytes) | a saved context as snapshot bytes (also [`VcpuRecord`](crate::snapshot::VcpuRecord)'s) | none |
//! | [`to_record`](VcpuContext::to_record), [`from_record`](VcpuContext::from_record) | its architectural part as the model's record | none |
//!
//! `list` and `drain` serve a virtual GIC whose distributor owns the
//! interrupt state (the `gic-vgic` crate: its flush and fold).
//!
//! And the states:
//!
//! * *resident*: the vCPU whose state is in the interface, from `init` or
//!   `restore` until `save` ([`has_resident_vcpu`](VirtualInterface::has_resident_vcpu)).
//!   `inject`, `refill`, `handle_maintenance`, `list` and `drain` act on it;
//!   with none resident they refuse ([`Error::NoResidentVcpu`](crate::Error::NoResidentVcpu))
//!   or do nothing.
//! * *saved*: a vCPU whose state is in a [`VcpuContext`]. Only `save` (or
//!   [`new_context`](VirtualInterface::new_context) for a vCPU that has not
//!   run, `from_bytes`, `from_record`) makes a context and only `restore`
//!   consumes one, so no vCPU is ever both.
//! * *in use*: a list register the driver's record says holds one of the
//!   resident vCPU's interrupts ([`in_use`](VirtualInterface::in_use)).
//! * *queued*: waiting for a list register ([`queued`](VirtualInterface::queued)).
//!
//! # Register cost
//!
//! The driver keeps its own record of the list registers it filled (an
//! occupancy bitmap and the last value it wrote or read for each), so it
//! touches the GIC only when it has to:
//!
//! * injecting into a free list register: 1 write;
//! * GICH_ELRSR is read only when the record says every list register is
//!   taken (a guest completes interrupts without telling the hypervisor);
//! * an EOI maintenance interrupt: GICH_EISR read + 1 write per completed LR
//!   (GICH_MISR is read only when a condition other than EOI is enabled);
//! * `save`: 1 read per LR in use + GICH_HCR = 0; `restore`: 1 write per
//!   LR in use + GICH_HCR; both cost nothing when no LR is in use and
//!   GICH_HCR enables nothing but En. VMCR and APR move in `put` / `load`.
//!
//! The record keeps, per list register, the value last written or read.
//! The guest changes only the State field, so every other field is exact;
//! the state is re-read whenever a decision depends on it (an interrupt
//! injected again, an eviction, a save).
//!
//! # One list register per interrupt
//!
//! An interrupt (virtual ID, plus source CPU for a software SGI) already in
//! a list register is never given a second one: pending stays pending,
//! active with HW = 0 becomes pending+active in place (or has its pending
//! state held back in the queue, see below), active with HW = 1
//! is left alone (the physical distributor keeps it pending). One already
//! queued is merged ([`Injection::AlreadyQueued`]).
//!
//! A request merges only into an entry of its own kind: HW = 0 into HW = 0
//! (from the same source CPU), HW = 1 into HW = 1 forwarding the same
//! physical interrupt. Any other meeting of the same virtual ID, in a list
//! register that is still valid or in the queue, is refused and changes
//! nothing ([`Error::ConflictsWithListRegister`](crate::Error::ConflictsWithListRegister),
//! [`Error::ConflictsWithQueued`](crate::Error::ConflictsWithQueued)):
//!
//! * software into hardware: the EOI bit is bit 19 of a HW = 1 register,
//!   PhysicalID\[9\], so adding it would make the guest's EOI deactivate
//!   another physical interrupt and leave the forwarded one active;
//! * hardware into software (or into hardware with another physical ID):
//!   the software entry has no physical link to take the request's, so the
//!   physical interrupt would stay active with nobody to deactivate it.
//!
//! The caller keeps the refused interrupt (a physical one stays active, as
//! EL2 left it) and injects it again once the guest has completed the one
//! held; nothing is lost silently.
//!
//! # Refilling, and no maintenance storm
//!
//! More pending interrupts than list registers wait in a fixed-capacity
//! queue ordered by priority, then arrival. A more urgent interrupt may
//! evict the least urgent *pending* list register (read first: the guest
//! may have acknowledged it since) back to the head of its priority in the
//! queue; active ones are never evicted. A full queue is an error
//! ([`Error::QueueFull`](crate::Error::QueueFull)); nothing is dropped.
//!
//! # No priority inversion through pending+active
//!
//! A pending+active list register returns to pending when the guest
//! deactivates its active instance, and no maintenance condition fires for
//! that transition: left in place, it would be delivered before a more
//! urgent interrupt waiting in the queue. So whenever a queued interrupt is
//! more urgent than a software interrupt that is, or would be made,
//! pending+active, the driver holds its pending state back: the register
//! stays (or is rewritten) active only, with an EOI bit of the driver's,
//! and the pending state waits in the queue by priority. The guest's
//! deactivation then raises the EOI maintenance interrupt, whose refill
//! delivers the more urgent interrupt first. A held-back interrupt takes
//! no second list register while its active one is valid; its completion
//! (if the caller asked for one) is reported once, when the last instance
//! completes, as for a pending+active register. Cost: 1 read and at most
//! 1 write, only when such a register meets a more urgent queued interrupt.
//!
//! The one exception: with the queue full there is no room to hold the
//! pending state back, and the register is left pending+active. Its
//! interrupt may then be delivered ahead of more urgent queued ones at
//! most once per injection that made it pending+active (the guest takes
//! it, and it is active only again), and only until the driver next
//! balances the queue with room in it ([`refill`](VirtualInterface::refill),
//! [`handle_maintenance`](VirtualInterface::handle_maintenance), or an
//! [`inject`](VirtualInterface::inject) that has to queue), which holds
//! it back.
//!
//! While something is queued the driver enables one refill condition in
//! GICH_HCR, and none when the queue is empty:
//!
//! * NPIE while some list register is pending: "no LR pending" is exactly
//!   when the guest has taken everything offered and a register may be free.
//! * UIE when every list register is active (nested, or EOImode 1 guests):
//!   NP would be asserted at once and stay asserted with nothing to refill
//!   (the interrupt storm); "at most one LR valid" means at least one is
//!   free. NP seen with nothing free switches to UIE.
//! * With a single list register UIE storms too: the driver sets the EOI
//!   bit of that active software interrupt itself (its completion is not
//!   reported, and [`VcpuContext::to_bytes`] records that the bit is the
//!   driver's, so it stays unreported after a byte round trip; an evicted
//!   interrupt goes back to the queue without it), so its EOI maintenance
//!   interrupt triggers the refill. An
//!   active hardware interrupt cannot carry the EOI bit: then the queue is
//!   refilled at the next `inject`, `refill` or `handle_maintenance`.
//!
//! After [`handle_maintenance`](VirtualInterface::handle_maintenance) no
//! condition stays asserted (one extra interrupt at most when the record
//! thought a register pending that the guest had already taken).

mod context;
mod control;
mod list_register;
mod maintenance;
mod queue;
mod virtual_interface;

pub use context::{Refused, VcpuContext};
pub use control::{Hcr, Misr, Vmcr, VtrInfo};
pub use list_register::{ListRegister, LrKind, LrState};
pub use maintenance::{Completion, MaintenanceSummary};
pub use queue::Injection;
pub use virtual_interface::VirtualInterface;

use tock_registers::fields::Field;
use tock_registers::RegisterLongName;

/// The in-register mask of a tock-registers field (its bits at their position).
#[inline(always)]
pub(crate) const fn field_mask<R: RegisterLongName>(f: &Field<u32, R>) -> u32 {
    f.mask << f.shift
}

/// A bitmap with the low `n` bits set (`n` up to 64).
#[inline(always)]
pub(crate) const fn low_bits(n: usize) -> u64 {
    if n >= 64 {
        u64::MAX
    } else {
        (1u64 << n) - 1
    }
}

/// Iterates over the set bits of a 64-bit map, lowest first.
#[inline(always)]
pub(crate) fn bits(mut map: u64) -> impl Iterator<Item = usize> {
    core::iter::from_fn(move || {
        if map == 0 {
            None
        } else {
            let n = map.trailing_zeros() as usize;
            map &= map - 1;
            Some(n)
        }
    })
}
