//! Randomized virtualization flows: interleaved injection, guest
//! acknowledge and EOI, maintenance handling and world switches, driver
//! against model. Every interrupt injected is acknowledged and completed
//! exactly once, in an order its priority allows, and no maintenance
//! interrupt stays asserted once handled.

use std::collections::{BTreeMap, BTreeSet};

use gic_driver::{Acknowledged, CpuInterface, EoiMode, Priority, VcpuContext, VirtualInterface};
use gic_model::{FrameBus, SharedGic};
use proptest::prelude::*;

mod common;
use common::*;

#[derive(Debug, Clone)]
enum Op {
    /// Inject virtual SPI 32 + id at priority 8 * prio (below the guest PMR
    /// 0xF8), unless it is outstanding.
    Inject { id: u32, prio: u8 },
    /// Inject again the `k`-th (mod how many) interrupt the guest holds
    /// active and that is not pending again already: it becomes pending
    /// and active.
    Reinject { k: usize },
    /// The guest acknowledges whatever GICV_IAR gives it.
    Ack,
    /// The guest ends its most recently acknowledged interrupt.
    Eoi,
    /// World switch out and back in; through snapshot bytes if `bytes`.
    Switch { bytes: bool },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u32..20, 0u8..31).prop_map(|(id, prio)| Op::Inject { id, prio }),
        1 => any::<usize>().prop_map(|k| Op::Reinject { k }),
        3 => Just(Op::Ack),
        3 => Just(Op::Eoi),
        1 => any::<bool>().prop_map(|bytes| Op::Switch { bytes }),
    ]
}

struct World<'g> {
    gic: &'g SharedGic,
    vif: VirtualInterface<FrameBus<'g>>,
    guest: CpuInterface<FrameBus<'g>>,
    /// Injected, not yet acknowledged: id -> priority.
    waiting: BTreeMap<u32, u8>,
    /// Acknowledged, not yet ended, innermost last.
    active: Vec<(Acknowledged, u8)>,
    /// Ended by the guest, completion not yet reported.
    ended: BTreeSet<u32>,
    /// Every id ever injected (once per instance made pending),
    /// acknowledged, reported completed.
    injected: Vec<u32>,
    acked: Vec<u32>,
    completed: Vec<u32>,
}

impl<'g> World<'g> {
    fn new(gic: &'g SharedGic) -> Self {
        let vif = hypervisor(gic);
        let guest = guest(gic, EoiMode::Combined);
        World {
            gic,
            vif,
            guest,
            waiting: BTreeMap::new(),
            active: Vec::new(),
            ended: BTreeSet::new(),
            injected: Vec::new(),
            acked: Vec::new(),
            completed: Vec::new(),
        }
    }

    fn outstanding(&self, id: u32) -> bool {
        self.waiting.contains_key(&id)
            || self.active.iter().any(|(a, _)| a.intid().get() == id)
            || self.ended.contains(&id)
    }

    /// EL2 takes the maintenance interrupt as soon as it is asserted.
    fn take_maintenance(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..2 {
            if !maintenance(self.gic) {
                break;
            }
            let s = self.vif.handle_maintenance();
            for c in &s.completed {
                let id = c.intid().get();
                prop_assert!(self.ended.remove(&id), "{id} completed but not ended");
                // One completion for a list register's whole life: every
                // instance made pending in it has ended.
                prop_assert!(
                    !self.waiting.contains_key(&id)
                        && !self.active.iter().any(|(a, _)| a.intid().get() == id),
                    "{id} completed with an instance still outstanding"
                );
                self.completed.push(id);
            }
        }
        prop_assert!(!self.gic.lock().maintenance(0), "maintenance left asserted");
        Ok(())
    }

    fn step(&mut self, op: &Op) -> Result<(), TestCaseError> {
        match *op {
            Op::Inject { id, prio } => {
                let id = 32 + id;
                if !self.outstanding(id) {
                    let prio = prio * 8;
                    self.vif.inject(software_eoi(id, prio)).unwrap();
                    self.waiting.insert(id, prio);
                    self.injected.push(id);
                }
            }
            Op::Reinject { k } => {
                let again: Vec<(u32, u8)> = self
                    .active
                    .iter()
                    .map(|&(a, p)| (a.intid().get(), p))
                    .filter(|(id, _)| !self.waiting.contains_key(id))
                    .collect();
                if !again.is_empty() {
                    let (id, prio) = again[k % again.len()];
                    self.vif.inject(software_eoi(id, prio)).unwrap();
                    self.waiting.insert(id, prio);
                    self.injected.push(id);
                }
            }
            Op::Ack => {
                if let Some(ack) = self.guest.acknowledge() {
                    let id = ack.intid().get();
                    prop_assert!(
                        !self.active.iter().any(|(a, _)| a.intid() == ack.intid()),
                        "{id} acknowledged while active"
                    );
                    let prio = self.waiting.remove(&id);
                    prop_assert!(prio.is_some(), "{id} acknowledged but not waiting");
                    let prio = prio.unwrap();
                    // Only those not active can be taken: an active one's
                    // new instance waits for its deactivation.
                    let takeable = self
                        .waiting
                        .iter()
                        .filter(|(w, _)| !self.active.iter().any(|(a, _)| a.intid().get() == **w))
                        .map(|(_, p)| p);
                    if let Some(best) = takeable.min() {
                        prop_assert!(
                            prio <= *best,
                            "{id} at {prio:#x} taken before a waiting one at {best:#x}"
                        );
                    }
                    if let Some(&(_, outer)) = self.active.last() {
                        prop_assert!(prio < outer, "{id} at {prio:#x} preempted {outer:#x}");
                    }
                    self.acked.push(id);
                    self.active.push((ack, prio));
                }
            }
            Op::Eoi => {
                if let Some((ack, _)) = self.active.pop() {
                    self.guest.end_of_interrupt(ack);
                    self.ended.insert(ack.intid().get());
                }
            }
            Op::Switch { bytes } => {
                let mut ctx: VcpuContext = self.vif.new_context();
                self.vif.switch_out(&mut ctx).unwrap();
                prop_assert!(!self.gic.lock().virq(0));
                prop_assert!(!self.gic.lock().maintenance(0));
                if bytes {
                    let mut buf = [0u8; 1024];
                    let n = ctx.save_bytes(&mut buf).unwrap();
                    ctx = VcpuContext::load_bytes(&buf[..n]).unwrap();
                }
                self.vif.switch_in(&mut ctx).unwrap();
            }
        }
        self.take_maintenance()
    }

    /// The guest takes and ends everything left.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..200 {
            if self.active.is_empty() && self.waiting.is_empty() && self.ended.is_empty() {
                break;
            }
            self.step(&Op::Ack)?;
            self.step(&Op::Eoi)?;
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn every_injected_interrupt_is_completed_once_in_priority_order(
        list_registers in 1u8..=4,
        ops in proptest::collection::vec(op(), 1..160)
    ) {
        let gic = qemu_with_list_registers(list_registers);
        let mut w = World::new(&gic);
        for op in &ops {
            w.step(op)?;
        }
        w.drain()?;
        let mut injected = w.injected.clone();
        injected.sort();
        let mut acked = w.acked.clone();
        acked.sort();
        let mut completed = w.completed.clone();
        completed.sort();
        prop_assert_eq!(&acked, &injected, "each instance acknowledged exactly once");
        // One completion per list register's life: an instance made pending
        // again while active completes with the first.
        let mut ids = injected.clone();
        ids.dedup();
        let mut completed_ids = completed.clone();
        completed_ids.dedup();
        prop_assert_eq!(&completed_ids, &ids, "every interrupt's completion reported");
        prop_assert!(w.ended.is_empty());
        if !w.acked.iter().enumerate().any(|(i, a)| w.acked[..i].contains(a)) {
            prop_assert_eq!(&completed, &injected, "each completion reported exactly once");
        }
        prop_assert_eq!(w.vif.queued_len(), 0);
        prop_assert_eq!(w.vif.in_use(), 0);
        prop_assert!(!gic.lock().maintenance(0));
        prop_assert!(!gic.lock().virq(0));
        prop_assert_eq!(w.guest.running_priority(), Priority::LOWEST);
    }
}

#[test]
fn eoi_mode_is_combined_in_the_random_world() {
    let gic = qemu();
    let w = World::new(&gic);
    assert_eq!(w.guest.eoi_mode(), EoiMode::Combined);
}
