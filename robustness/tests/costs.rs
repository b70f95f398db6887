//! The driver's hot paths cost what `docs`/BENCHMARKS.md says, counted on
//! the model's bus: never above Linux except where BENCHMARKS.md explains
//! it, and at the architectural minimum for the virtual interface.

use gic_robustness::costs::rows;

#[test]
fn virtual_interface_hot_paths_cost_the_architectural_minimum_and_no_more_than_kvm() {
    for r in rows().iter().filter(|r| !r.what.starts_with("physical")) {
        assert_eq!(r.ours, r.minimum, "{r:?}");
        if !r.what.starts_with("restore another vCPU") {
            assert!(r.ours <= r.linux, "{r:?}");
        }
    }
}

#[test]
fn a_restore_after_another_vcpu_pays_the_zeroing_kvm_does_in_its_save() {
    // Restore alone is above KVM's, the switch as a whole below it.
    let rows = rows();
    let find = |w: &str| *rows.iter().find(|r| r.what == w).expect(w);
    let restore = find("restore another vCPU, 1 LR, after one with 4");
    assert_eq!((restore.ours, restore.linux), (5, 2));
    let total = find("switch 4 LRs -> another vCPU's 1 (save + restore)");
    assert_eq!((total.ours, total.linux), (10, 12));
}

#[test]
fn physical_acknowledge_and_eoi_cost_the_architectural_minimum() {
    for r in rows().iter().filter(|r| r.what.starts_with("physical")) {
        if r.what.contains("handle_pending") {
            // One GICC_CTLR read per call for the EOI mode, one final
            // GICC_IAR read of 1023: 2 more than the minimum.
            assert_eq!(r.ours, r.minimum + 2, "{r:?}");
        } else {
            assert_eq!(r.ours, r.minimum, "{r:?}");
        }
    }
}
