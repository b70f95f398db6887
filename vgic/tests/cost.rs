//! What fold and flush cost in GICH accesses, counted on the bus, against
//! what their rustdoc claims: fold reads and zeroes each list register in
//! use; flush writes each interrupt it lists.

mod common;

use common::*;
use gic_driver::{Priority, Trigger};

/// Reads and writes of one fold, then of the flush after it, with `n`
/// edge SPIs pending and listed, the first `acked` of them acknowledged
/// (each more urgent than the last, so they nest).
fn measure(n: u32, acked: u32) -> ((u32, u32), (u32, u32)) {
    let g = physical_gic();
    let m = Machine::new(&g);
    let guest = Guest::boot(&m);
    for i in 0..n {
        let s = id(40 + i);
        guest
            .gicd
            .set_priority(s, Priority(0xC0 - 8 * i as u8))
            .unwrap();
        guest.gicd.set_trigger(s, Trigger::Edge).unwrap();
        guest.gicd.enable_interrupt(s).unwrap();
        m.set_line(40 + i, true);
        if i < acked {
            assert_eq!(guest.ack().unwrap().intid(), s);
        }
    }
    let vgic = m.vgic.borrow_mut();
    let mut vif = m.vif.borrow_mut();
    vif.bus().reset();
    vgic.fold(0, &mut vif).unwrap();
    let fold = (vif.bus().reads(), vif.bus().writes());
    vif.bus().reset();
    vgic.flush(0, &mut vif).unwrap();
    let flush = (vif.bus().reads(), vif.bus().writes());
    println!("{n} listed ({acked} active): fold {fold:?}, flush {flush:?} (reads, writes)");
    (fold, flush)
}

#[test]
fn fold_reads_and_zeroes_each_list_register_in_use_and_flush_writes_each_one_listed() {
    assert_eq!(measure(0, 0), ((0, 0), (0, 0)), "nothing listed: no access");
    assert_eq!(measure(1, 0), ((1, 1), (0, 1)));
    assert_eq!(measure(4, 0), ((4, 4), (0, 4)));
    assert_eq!(measure(4, 2), ((4, 4), (0, 4)), "active ones cost the same");
}

#[test]
fn a_flush_that_arms_a_refill_costs_one_gich_elrsr_read_and_one_gich_hcr_write_more() {
    // Five pending on four list registers: one waits in the driver's queue.
    let (fold, flush) = measure(5, 0);
    assert_eq!(flush, (1, 5), "4 LRs, GICH_ELRSR, GICH_HCR (NPIE)");
    assert_eq!(
        fold,
        (4, 5),
        "4 LRs read and zeroed, GICH_HCR (NPIE cleared)"
    );
}
