//! Host cost of the virtual GIC's hot paths: one trapped GICD access
//! (syndrome decoded with `MmioAccess::decode`, then `Vgic::read` or
//! `Vgic::write`), and one guest exit and entry (`Vgic::fold` then
//! `Vgic::flush`) with 0, 1 and 4 interrupts listed, on the model shaped
//! like QEMU's virt board (4 list registers).
//!
//! `cargo bench -p gic-vgic --bench vgic`; BENCHMARKS.md has the numbers.

mod common;

use common::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gic_driver::regs::gicd::offset as d;
use gic_driver::VirtualInterface;
use gic_model::{Config, Frame, SharedGic};
use gic_vgic::trap::MmioAccess;
use std::hint::black_box;

fn trapped_access(c: &mut Criterion) {
    let vgic = vgic_with_pending(1);
    let mut group = c.benchmark_group("vgic_trapped_gicd_access");
    let far = GICD_IPA + d::ISENABLER as u64 + 4;
    let hpfar = GICD_IPA >> 12 << 4;
    group.bench_function("decode+read ISENABLER1", |b| {
        b.iter(|| {
            let a = MmioAccess::decode(black_box(esr(false)), black_box(far), hpfar).unwrap();
            let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
            a.load_value(u64::from(vgic.read(0, off, a.width)))
        })
    });
    group.bench_function("decode+write ISENABLER1", |b| {
        b.iter(|| {
            let a = MmioAccess::decode(black_box(esr(true)), black_box(far), hpfar).unwrap();
            let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
            vgic.write(0, off, a.width, a.store_value(black_box(1 << 8)) as u32)
        })
    });
    group.finish();
}

fn exit_entry(c: &mut Criterion) {
    let mut group = c.benchmark_group("vgic_exit_entry_fold_flush");
    for n in [0u32, 1, 4] {
        let gic = SharedGic::new(Config::qemu_virt(1)).unwrap();
        let mut vif: VirtualInterface<_> = VirtualInterface::new(gic.frame(Frame::Gich, 0));
        vif.init();
        let vgic = vgic_with_pending(n);
        let flushed = vgic.flush(0, &mut vif).unwrap();
        assert_eq!(u32::from(flushed.listed), n);
        group.bench_with_input(BenchmarkId::new("listed", n), &n, |b, _| {
            b.iter(|| {
                vgic.fold(0, &mut vif).unwrap();
                vgic.flush(0, &mut vif).unwrap()
            })
        });
        assert_eq!(vgic.listed(0).iter().count() as u32, n);
    }
    group.finish();
}

criterion_group!(benches, trapped_access, exit_entry);
criterion_main!(benches);
