//! The delivery benchmark's measurements (one delivered interrupt; the
//! selection alone; the QEMU-style reference), reported as the minimum
//! over batches (300 of 2000 iterations; 30 of 20 for the reference): on a shared machine the minimum is what the code costs,
//! the mean what the neighbours cost. BENCHMARKS.md has both.
//!
//! `cargo run --release -p gic-model --example delivery_min`

#[path = "../benches/common/mod.rs"]
mod common;

use common::*;
use std::hint::black_box;
use std::time::Instant;

/// The minimum over `batches` batches of `iters` calls of `f`, per call.
fn min_ns(batches: u32, iters: u32, mut f: impl FnMut()) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..iters {
            f();
        }
        best = best.min(t.elapsed().as_nanos() as f64 / f64::from(iters));
    }
    best
}

fn main() {
    println!("| CPUs | lines | delivered interrupt (ns) | selection alone (ns) | QEMU-style rescan (ns) |");
    println!("|---:|---:|---:|---:|---:|");
    for cpus in CPUS {
        for lines in LINES {
            let id = last_spi(lines);
            let mut gic = model(cpus, lines);
            let deliver_ns = min_ns(300, 2000, || deliver(black_box(&mut gic), id));
            gic.set_line(0, id, true).unwrap();
            let select_ns = min_ns(300, 2000, || {
                black_box(black_box(&gic).highest_pending(0));
            });
            let mut s = Scanning::new(cpus, lines);
            let scan_ns = min_ns(30, 20, || deliver_scanning(black_box(&mut s), id as usize));
            println!("| {cpus} | {lines} | {deliver_ns:.1} | {select_ns:.1} | {scan_ns:.0} |");
        }
    }
}
