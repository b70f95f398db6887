//! Whole flows with four vCPUs, each on its own physical CPU's GICH and
//! GICV: the guests' own drivers program the shared GICD through the
//! vGIC's trap path, send SGIs to each other, and take their interrupts
//! from GICV; the hypervisor folds and flushes on every exit and kicks
//! the vCPUs the vGIC names with a physical SGI.

mod smp;

use gic_driver::regs::gicd::offset;
use gic_driver::virt::LrState;
use gic_driver::{CpuMask, Priority, SgiTarget, Trigger};
use gic_vgic::trap::AccessWidth;
use smp::*;

/// SPI `n` edge-triggered, targeted at `targets`, enabled, by vCPU 0.
fn edge_spi(g: &Guest, n: u32, targets: u8) {
    g.gicd.set_trigger(id(n), Trigger::Edge).unwrap();
    g.gicd
        .set_targets(id(n), CpuMask::from_bits(targets))
        .unwrap();
    g.gicd.enable_interrupt(id(n)).unwrap();
}

/// A device pulses SPI `n` (from EL2 on CPU 0); returns the kick mask of
/// the rising edge.
fn pulse(m: &Smp, n: u32) -> u8 {
    let mut kick = 0;
    m.exit(0, |vgic| {
        kick = vgic.set_line(0, id(n), true).unwrap();
        kick |= vgic.set_line(0, id(n), false).unwrap();
        kick
    });
    kick
}

fn takes(guests: &[Guest]) -> Vec<Vec<(u32, Option<u8>)>> {
    guests.iter().map(Guest::take_all).collect()
}

fn sgir(filter: u32, list: u8, sgi: u32) -> u32 {
    filter << 24 | (list as u32) << 16 | sgi
}

#[test]
fn gicd_typer_reports_four_vcpus_and_itargetsr0_to_7_read_the_readers_own_bit() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    for v in 0..VCPUS {
        let typer = m.trapped_read(v, offset::TYPER, AccessWidth::Word);
        assert_eq!((typer >> 5) & 0x7, 3, "CPUNumber: four vCPUs");
        assert_eq!(guests[v as usize].gicd.info().cpus, 4);
        assert_eq!(guests[v as usize].gicd.this_cpu(), CpuMask::cpu(v).unwrap());
        for b in 0..32 {
            let byte = m.trapped_read(v, offset::ITARGETSR + b, AccessWidth::Byte);
            assert_eq!(byte, 1 << v, "vCPU {v}: ITARGETSR byte {b}");
        }
        for w in 0..8 {
            let word = m.trapped_read(v, offset::ITARGETSR + 4 * w, AccessWidth::Word);
            assert_eq!(word, 0x0101_0101 << v, "vCPU {v}: ITARGETSR{w}");
        }
        // Read-only.
        m.trapped_write(v, offset::ITARGETSR, AccessWidth::Word, 0x0F0F_0F0F);
        m.trapped_write(v, offset::ITARGETSR + 20, AccessWidth::Byte, 0x0F);
        assert_eq!(
            m.trapped_read(v, offset::ITARGETSR, AccessWidth::Word),
            0x0101_0101 << v
        );
        assert_eq!(
            m.trapped_read(v, offset::ITARGETSR + 20, AccessWidth::Byte),
            1 << v
        );
    }
}

#[test]
fn typer_cpunumber_and_the_target_masks_follow_the_vcpu_count_from_1_to_8() {
    for n in 1..=8u8 {
        let vgic = gic_vgic::Vgic::new(gic_vgic::VgicConfig {
            vcpus: n,
            lines: 288,
        })
        .unwrap();
        let typer = vgic.read(0, offset::TYPER, AccessWidth::Word);
        assert_eq!((typer >> 5) & 0x7, n as u32 - 1, "{n} vCPUs");
        let last = n - 1;
        let own = vgic.read(last, offset::ITARGETSR + 3, AccessWidth::Byte);
        vgic.write(last, offset::ITARGETSR + 40, AccessWidth::Byte, 0xFF);
        let spi = vgic.read(0, offset::ITARGETSR + 40, AccessWidth::Byte);
        vgic.write(0, offset::ITARGETSR + 44, AccessWidth::Word, u32::MAX);
        let word = vgic.read(last, offset::ITARGETSR + 44, AccessWidth::Word);
        if n == 1 {
            // A uniprocessor GIC: GICD_ITARGETSR is RAZ/WI (4.3.12).
            assert_eq!((own, spi, word), (0, 0, 0));
        } else {
            let mask = 0xFFu32 >> (8 - n);
            assert_eq!(own, 1 << last, "{n} vCPUs: ITARGETSR0 of vCPU {last}");
            assert_eq!(spi, mask, "{n} vCPUs: an SPI's targets");
            assert_eq!(word, mask * 0x0101_0101, "{n} vCPUs: a word of targets");
        }
        // vCPU numbers beyond the VM read as zero.
        assert_eq!(vgic.read(n, offset::TYPER, AccessWidth::Word), 0);
    }
}

#[test]
fn itargetsr_bits_of_absent_vcpus_read_as_zero_and_ignore_writes_word_and_byte() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let _guests = Guest::boot_all(&m);
    m.trapped_write(0, offset::ITARGETSR + 40, AccessWidth::Byte, 0xFF);
    assert_eq!(
        m.trapped_read(1, offset::ITARGETSR + 40, AccessWidth::Byte),
        0x0F
    );
    m.trapped_write(1, offset::ITARGETSR + 44, AccessWidth::Word, 0xFFFF_FFFF);
    assert_eq!(
        m.trapped_read(2, offset::ITARGETSR + 44, AccessWidth::Word),
        0x0F0F_0F0F
    );
    for b in 44..48 {
        assert_eq!(
            m.trapped_read(3, offset::ITARGETSR + b, AccessWidth::Byte),
            0x0F
        );
    }
    // Only absent vCPUs' bits: no target at all.
    m.trapped_write(2, offset::ITARGETSR + 41, AccessWidth::Byte, 0xF0);
    assert_eq!(
        m.trapped_read(0, offset::ITARGETSR + 41, AccessWidth::Byte),
        0
    );
    m.trapped_write(3, offset::ITARGETSR + 48, AccessWidth::Word, 0x8040_2010);
    assert_eq!(
        m.trapped_read(0, offset::ITARGETSR + 48, AccessWidth::Word),
        0
    );
}

#[test]
fn each_spi_goes_to_the_vcpu_its_targets_name_and_the_line_kicks_that_vcpu() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    for t in 0..VCPUS {
        edge_spi(&guests[0], 40 + t as u32, 1 << t);
    }
    for t in 0..VCPUS {
        assert_eq!(
            pulse(&m, 40 + t as u32),
            1 << t,
            "SPI {} kicks vCPU {t}",
            40 + t
        );
    }
    let got = takes(&guests);
    for (t, got) in got.iter().enumerate() {
        assert_eq!(*got, vec![(40 + t as u32, None)], "vCPU {t}");
    }
}

#[test]
fn an_spi_targeting_several_vcpus_is_delivered_once_to_one_of_them() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 52, 0b1110);
    assert_eq!(pulse(&m, 52), 0b1110);
    m.settle();
    let got: Vec<_> = takes(&guests).into_iter().flatten().collect();
    assert_eq!(got, vec![(52, None)]);
}

#[test]
fn retargeting_a_pending_spi_no_vcpu_listed_moves_it_and_kicks_the_new_target() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 41, 1);
    m.trapped_write(0, offset::ITARGETSR + 41, AccessWidth::Byte, 0);
    assert_eq!(pulse(&m, 41), 0, "targets no vCPU");
    assert!((0..VCPUS).all(|v| !m.vgic.has_pending(v)));
    assert!(m.vgic.distributor().is_pending(0, 41));
    let kick = m.write_kicks(0, offset::ITARGETSR + 41, AccessWidth::Byte, 1 << 2);
    assert_eq!(kick, 1 << 2);
    let got = takes(&guests);
    assert_eq!(got, vec![vec![], vec![], vec![(41, None)], vec![]]);
}

#[test]
fn retargeting_an_spi_listed_pending_on_one_vcpu_moves_it_at_that_vcpus_next_exit() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 42, 1 << 1);
    pulse(&m, 42);
    m.service(1);
    assert_eq!(m.vgic.listed(1).iter().collect::<Vec<_>>(), vec![42]);
    // vCPU 3 moves it to itself: vCPU 1 (which has it listed) is kicked.
    let kick = m.write_kicks(3, offset::ITARGETSR + 42, AccessWidth::Byte, 1 << 3);
    assert_eq!(kick, 1 << 1, "the vCPU that listed it");
    // vCPU 1 exits; its fold gives the SPI back and names vCPU 3.
    let before = m.kicks.get();
    m.service(1);
    assert_eq!(m.kicks.get(), before + 1, "the fold kicked vCPU 3");
    assert!(m.vgic.listed(1).is_empty());
    let got = takes(&guests);
    assert_eq!(got, vec![vec![], vec![], vec![], vec![(42, None)]]);
}

#[test]
fn an_spi_pending_again_while_active_on_one_vcpu_reaches_its_new_target_at_the_eoi() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 51, 1 << 1);
    pulse(&m, 51);
    let a = guests[1].ack().unwrap();
    assert_eq!(a.intid().get(), 51);
    guests[0]
        .gicd
        .set_targets(id(51), CpuMask::cpu(2).unwrap())
        .unwrap();
    pulse(&m, 51);
    m.settle();
    assert!(guests[2].ack().is_none(), "active on vCPU 1: not forwarded");
    // vCPU 1's EOI completes it; the completion exits (EOI maintenance)
    // and the fold hands the pending state to vCPU 2.
    guests[1].eoi(a);
    let got = takes(&guests);
    assert_eq!(got, vec![vec![], vec![], vec![(51, None)], vec![]]);
}

#[test]
fn an_sgi_sent_with_a_target_list_is_pending_on_each_listed_vcpu_with_the_sender_as_source() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    guests[1]
        .gicd
        .send_sgi(id(3), SgiTarget::List(CpuMask::from_bits(0b1101)))
        .unwrap();
    let got = takes(&guests);
    assert_eq!(
        got,
        vec![
            vec![(3, Some(1))],
            vec![],
            vec![(3, Some(1))],
            vec![(3, Some(1))]
        ]
    );
}

#[test]
fn an_sgi_sent_to_all_but_self_reaches_every_other_vcpu() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    let kick = m.write_kicks(2, offset::SGIR, AccessWidth::Word, sgir(1, 0, 4));
    assert_eq!(kick, 0b1011);
    let got = takes(&guests);
    assert_eq!(
        got,
        vec![
            vec![(4, Some(2))],
            vec![(4, Some(2))],
            vec![],
            vec![(4, Some(2))]
        ]
    );
}

#[test]
fn an_sgi_sent_to_self_reaches_the_sender_only() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    guests[3].gicd.send_sgi(id(5), SgiTarget::SelfOnly).unwrap();
    let got = takes(&guests);
    assert_eq!(got, vec![vec![], vec![], vec![], vec![(5, Some(3))]]);
}

#[test]
fn the_same_sgi_from_several_sources_is_delivered_once_per_source_with_each_source_in_iar() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    let to3 = SgiTarget::List(CpuMask::cpu(3).unwrap());
    for s in [2, 0, 1, 0] {
        guests[s].gicd.send_sgi(id(6), to3).unwrap();
    }
    // vCPU 3 took the first (from 2) at its kick; the others wait behind
    // it, one source at a time; vCPU 0's second send merged with its first.
    assert_eq!(
        guests[3].gicd.sgi_pending_sources(id(6)).unwrap().bits(),
        0b0111
    );
    let mut got = guests[3].take_all();
    got.sort();
    assert_eq!(got, vec![(6, Some(0)), (6, Some(1)), (6, Some(2))]);
    assert!(takes(&guests).iter().all(Vec::is_empty));
}

#[test]
fn spendsgir_and_cpendsgir_act_on_the_writers_own_per_source_state() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    // vCPU 1 makes its own SGI 7 pending from sources 0 and 2.
    m.trapped_write(1, offset::SPENDSGIR + 7, AccessWidth::Byte, 0b0101);
    assert_eq!(
        m.trapped_read(0, offset::SPENDSGIR + 7, AccessWidth::Byte),
        0,
        "banked: vCPU 0's own SGI 7"
    );
    assert_eq!(guests[1].take_all(), vec![(7, Some(0)), (7, Some(2))]);
    // SGI 8 from vCPUs 0 and 3 on vCPU 2; vCPU 2 clears source 0 itself.
    let to2 = SgiTarget::List(CpuMask::cpu(2).unwrap());
    guests[0].gicd.send_sgi(id(8), to2).unwrap();
    guests[3].gicd.send_sgi(id(8), to2).unwrap();
    assert_eq!(
        m.trapped_read(2, offset::SPENDSGIR + 8, AccessWidth::Byte),
        0b1001
    );
    m.trapped_write(2, offset::CPENDSGIR + 8, AccessWidth::Byte, 0b0001);
    assert_eq!(
        m.trapped_read(2, offset::CPENDSGIR + 8, AccessWidth::Byte),
        0b1000
    );
    assert_eq!(guests[2].take_all(), vec![(8, Some(3))]);
    assert!(takes(&guests).iter().all(Vec::is_empty));
}

#[test]
fn a_pending_clear_by_another_vcpu_is_not_undone_by_the_fold_of_the_vcpu_that_listed_it() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 45, 1 << 1);
    pulse(&m, 45);
    m.service(1);
    assert_eq!(m.listed(1)[0].state(), LrState::Pending);
    // Listed on vCPU 1, read as pending by vCPU 0.
    assert!(guests[0].gicd.is_pending(id(45)).unwrap());
    let kick = m.write_kicks(0, offset::ICPENDR + 4, AccessWidth::Word, 1 << (45 - 32));
    assert_eq!(kick, 1 << 1, "the vCPU that listed it must exit");
    assert!(
        !guests[0].gicd.is_pending(id(45)).unwrap(),
        "reads as cleared at once"
    );
    assert_eq!(guests[1].take_all(), vec![], "vCPU 1's fold dropped it");
    assert!(!m.vgic.distributor().is_pending(0, 45));
    assert_eq!(m.vgic.stats().deferred, 1);
    assert!(takes(&guests).iter().all(Vec::is_empty));
}

#[test]
fn an_acknowledge_before_the_listing_vcpus_exit_counts_as_before_another_vcpus_clear() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 45, 1 << 1);
    pulse(&m, 45);
    m.service(1);
    guests[0].gicd.clear_pending(id(45)).unwrap();
    // vCPU 1's guest runs on before the kick arrives and takes it.
    let a = guests[1].gicc.acknowledge().unwrap();
    assert_eq!(a.intid().get(), 45);
    m.service(1);
    assert_eq!(m.listed(1)[0].state(), LrState::Active, "still active");
    guests[1].eoi(a);
    assert!(takes(&guests).iter().all(Vec::is_empty), "delivered once");
    let d = m.vgic.distributor();
    assert!(!d.is_pending(0, 45) && !d.is_active(0, 45));
}

#[test]
fn an_active_clear_by_another_vcpu_ends_the_active_state_listed_elsewhere() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 46, 1 << 2);
    pulse(&m, 46);
    let a = guests[2].ack().unwrap();
    assert_eq!(a.intid().get(), 46);
    // Another vCPU reads what vCPU 2's list register held at its last
    // entry: after its next exit (a timer tick), active.
    assert!(guests[0].gicd.is_pending(id(46)).unwrap());
    m.plain_exit(2);
    assert!(
        guests[0].gicd.is_active(id(46)).unwrap(),
        "active on vCPU 2"
    );
    assert!(!guests[0].gicd.is_pending(id(46)).unwrap());
    let kick = m.write_kicks(0, offset::ICACTIVER + 4, AccessWidth::Word, 1 << (46 - 32));
    assert_eq!(kick, 1 << 2);
    assert!(!guests[0].gicd.is_active(id(46)).unwrap());
    m.service(2);
    assert!(m.vgic.listed(2).is_empty(), "not listed again");
    assert!(!m.vgic.distributor().is_active(0, 46), "not active again");
    // Pending again: it is delivered again once vCPU 2 has dropped its
    // running priority (its EOI finds no list register).
    pulse(&m, 46);
    guests[2].eoi(a);
    assert_eq!(guests[2].take_all(), vec![(46, None)]);
}

#[test]
fn disabling_an_spi_listed_on_another_vcpu_takes_it_back_at_that_vcpus_next_exit() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 48, 1 << 3);
    pulse(&m, 48);
    m.service(3);
    let kick = m.write_kicks(1, offset::ICENABLER + 4, AccessWidth::Word, 1 << (48 - 32));
    assert_eq!(kick, 1 << 3);
    assert_eq!(guests[3].take_all(), vec![]);
    assert!(m.vgic.distributor().is_pending(0, 48), "still pending");
    let kick = m.write_kicks(1, offset::ISENABLER + 4, AccessWidth::Word, 1 << (48 - 32));
    assert_eq!(kick, 1 << 3);
    assert_eq!(guests[3].take_all(), vec![(48, None)]);
}

#[test]
fn a_priority_change_by_another_vcpu_reaches_the_listed_interrupt_at_the_next_exit() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 49, 1 << 1);
    pulse(&m, 49);
    m.service(1);
    assert_eq!(m.listed(1)[0].priority(), Priority(0xA0));
    let kick = m.write_kicks(2, offset::IPRIORITYR + 49, AccessWidth::Byte, 0x40);
    assert_eq!(kick, 1 << 1);
    m.service(1);
    assert_eq!(m.listed(1)[0].priority(), Priority(0x40));
    assert_eq!(guests[1].take_all(), vec![(49, None)]);
}

#[test]
fn a_kick_names_the_vcpus_that_gained_work_and_only_them() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    edge_spi(&guests[0], 60, 1 << 2);
    m.settle();
    let list = sgir(0, 0b1010, 9);
    assert_eq!(
        m.write_kicks(0, offset::SGIR, AccessWidth::Word, list),
        0b1010
    );
    // Still pending there (vCPUs 1 and 3 have not exited): merged, no work.
    assert_eq!(m.write_kicks(0, offset::SGIR, AccessWidth::Word, list), 0);
    // A setting of an interrupt nobody has pending or listed.
    assert_eq!(
        m.write_kicks(0, offset::IPRIORITYR + 61, AccessWidth::Byte, 0x20),
        0
    );
    assert_eq!(pulse(&m, 60), 1 << 2);
    let got = takes(&guests);
    assert_eq!(
        got,
        vec![
            vec![],
            vec![(9, Some(0))],
            vec![(60, None)],
            vec![(9, Some(0))]
        ]
    );
}

#[test]
fn a_vcpu_waiting_in_wfi_wakes_when_an_interrupt_becomes_pending_for_it() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    m.settle();
    // vCPU 2 traps on WFI: its fold ran, nothing is pending for it.
    m.plain_exit(2);
    assert!(!m.vgic.has_pending(2));
    assert!(!g.lock().irq(2), "nothing wakes CPU 2");
    guests[0]
        .gicd
        .send_sgi(id(1), SgiTarget::List(CpuMask::cpu(2).unwrap()))
        .unwrap();
    assert!(m.vgic.has_pending(2), "the WFI loop ends");
    assert!(g.lock().irq(2), "the kick is a physical interrupt at CPU 2");
    assert_eq!(guests[2].take_all(), vec![(1, Some(0))]);
}

#[test]
fn an_exit_with_nothing_listed_or_new_takes_no_lock_and_touches_no_list_register() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    m.settle();
    m.plain_exit(2);
    m.gich_accesses(2);
    let before = m.vgic.stats();
    m.plain_exit(2);
    let after = m.vgic.stats();
    assert_eq!(after.folds, before.folds + 1);
    assert_eq!(after.flushes, before.flushes + 1);
    assert_eq!(after.locked_folds, before.locked_folds, "fold took no lock");
    assert_eq!(
        after.locked_flushes, before.locked_flushes,
        "flush took no lock"
    );
    assert_eq!(m.gich_accesses(2), (0, 0));
    // With an SGI for it, the flush takes the lock and lists it; the next
    // fold takes it back (with the lock).
    guests[0]
        .gicd
        .send_sgi(id(2), SgiTarget::List(CpuMask::cpu(2).unwrap()))
        .unwrap();
    m.service(2);
    let listed = m.vgic.stats();
    assert_eq!(listed.locked_flushes, after.locked_flushes + 1);
    m.plain_exit(2);
    assert_eq!(m.vgic.stats().locked_folds, listed.locked_folds + 1);
    assert_eq!(guests[2].take_all(), vec![(2, Some(0))]);
}

#[test]
fn a_forwarded_spi_cleared_by_another_vcpu_while_listed_is_deactivated_by_the_listing_vcpus_fold() {
    let g = physical_gic();
    let m = Smp::new(&g);
    let guests = Guest::boot_all(&m);
    // Physical SPI 50, edge, at CPU 1, forwarded to vCPU 1 as SPI 50.
    let host = &m.cpus[0].gicd;
    host.set_trigger(id(50), Trigger::Edge).unwrap();
    host.set_targets(id(50), CpuMask::cpu(1).unwrap()).unwrap();
    host.enable_interrupt(id(50)).unwrap();
    m.vgic.forward(1, id(50), id(50)).unwrap();
    edge_spi(&guests[0], 50, 1 << 1);
    g.lock().set_line(0, 50, true).unwrap();
    g.lock().set_line(0, 50, false).unwrap();
    m.service(1);
    let lr = m.listed(1)[0];
    assert_eq!(lr.physical_id(), Some(id(50)), "HW = 1");
    assert!(
        g.lock().is_active(1, 50),
        "active at EL2 until the guest's EOI"
    );
    // vCPU 0 clears it: nothing is deactivated yet (vCPU 1's list register
    // holds it), vCPU 1 is kicked.
    let kick = m.write_kicks(0, offset::ICPENDR + 4, AccessWidth::Word, 1 << (50 - 32));
    assert_eq!(kick, 1 << 1);
    assert!(m.deactivated.borrow().is_empty());
    assert!(g.lock().is_active(1, 50));
    // vCPU 1's fold drops it and has EL2 deactivate the physical one.
    m.service(1);
    assert_eq!(*m.deactivated.borrow(), vec![50]);
    assert!(!g.lock().is_active(1, 50));
    assert!(takes(&guests).iter().all(Vec::is_empty));
    // It fires again and is delivered as usual.
    g.lock().set_line(0, 50, true).unwrap();
    g.lock().set_line(0, 50, false).unwrap();
    assert_eq!(guests[1].take_all(), vec![(50, None)]);
    assert!(!g.lock().is_active(1, 50), "the guest's EOI deactivated it");
}
