//! The vGIC benchmark's measurements as minimums over 200 batches of 1000
//! iterations (on a shared machine the minimum is what the code costs),
//! with the model's own GICD write beside the vGIC's, to show what the
//! vGIC adds. BENCHMARKS.md has the numbers.
//!
//! `cargo run --release -p gic-vgic --example vgic_min`

#[path = "../benches/common/mod.rs"]
mod common;

use common::*;
use gic_driver::regs::gicd::offset as d;
use gic_driver::VirtualInterface;
use gic_model::{Config, Frame, SharedGic, Width};
use gic_vgic::trap::MmioAccess;
use std::hint::black_box;
use std::time::Instant;

fn min_ns(mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..200 {
        let t = Instant::now();
        for _ in 0..1000 {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / 1000.0);
    }
    best
}

fn main() {
    let far = GICD_IPA + d::ISENABLER as u64 + 4;
    let hpfar = GICD_IPA >> 12 << 4;
    let vgic = vgic_with_pending(1);
    let read = min_ns(|| {
        let a = MmioAccess::decode(black_box(esr(false)), black_box(far), hpfar).unwrap();
        let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
        black_box(a.load_value(u64::from(vgic.read(0, off, a.width))));
    });
    let write = min_ns(|| {
        let a = MmioAccess::decode(black_box(esr(true)), black_box(far), hpfar).unwrap();
        let off = a.offset_in(GICD_IPA, 0x1000).unwrap();
        black_box(vgic.write(0, off, a.width, a.store_value(black_box(1 << 8)) as u32));
    });
    let mut model = vgic.distributor().clone();
    let model_write = min_ns(|| {
        model.write(
            Frame::Gicd,
            0,
            black_box(d::ISENABLER + 4),
            Width::Word,
            1 << 8,
        );
    });
    println!("| operation | ns |");
    println!("|---|---:|");
    println!("| trapped GICD read (decode + Vgic::read) | {read:.0} |");
    println!("| trapped GICD write (decode + Vgic::write) | {write:.0} |");
    println!("| (the model's GICD write alone) | {model_write:.0} |");
    for n in [0u32, 1, 4] {
        let gic = SharedGic::new(Config::qemu_virt(1)).unwrap();
        let mut vif: VirtualInterface<_> = VirtualInterface::new(gic.frame(Frame::Gich, 0));
        vif.init();
        let vgic = vgic_with_pending(n);
        vgic.flush(0, &mut vif).unwrap();
        let ns = min_ns(|| {
            vgic.fold(0, &mut vif).unwrap();
            black_box(vgic.flush(0, &mut vif).unwrap());
        });
        println!("| exit + entry (fold + flush), {n} listed | {ns:.0} |");
    }
}
