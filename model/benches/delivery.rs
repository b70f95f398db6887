//! One delivered interrupt on the model: an SPI's line raised, GICC_IAR,
//! the line lowered, GICC_EOIR, with 64, 256 and 1024 lines and 1, 4 and 8
//! CPUs, every SPI enabled and targeted at CPU 0. The interrupt is the
//! highest-numbered SPI, the last one a scan from INTID 0 reaches.
//!
//! Beside it, the reference: a QEMU-style distributor (one byte of state
//! per line and CPU) that rescans every line for every CPU after every
//! update, as QEMU's `gic_update` does.
//!
//! `cargo bench -p gic-model --bench delivery`; BENCHMARKS.md has the
//! numbers.

mod common;

use common::*;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use std::hint::black_box;

fn delivered_interrupt(c: &mut Criterion) {
    let mut group = c.benchmark_group("delivered_interrupt");
    for cpus in CPUS {
        for lines in LINES {
            let id = last_spi(lines);
            let mut gic = model(cpus, lines);
            deliver(&mut gic, id);
            assert!(!gic.is_active(0, id) && !gic.is_pending(0, id));
            group.bench_with_input(
                BenchmarkId::new(format!("model/{cpus}cpu"), lines),
                &id,
                |b, &id| b.iter(|| deliver(black_box(&mut gic), id)),
            );
        }
    }
    for cpus in CPUS {
        for lines in LINES {
            let id = last_spi(lines) as usize;
            let mut s = Scanning::new(cpus, lines);
            deliver_scanning(&mut s, id);
            group.bench_with_input(
                BenchmarkId::new(format!("qemu_style_scan/{cpus}cpu"), lines),
                &id,
                |b, &id| b.iter(|| deliver_scanning(black_box(&mut s), id)),
            );
        }
    }
    group.finish();
}

/// The selection alone: CPU 0's highest-priority pending interrupt with
/// the last SPI pending (`Gic::highest_pending`, what GICC_IAR and
/// GICC_HPPIR compute).
fn selection(c: &mut Criterion) {
    let mut group = c.benchmark_group("selection");
    for lines in LINES {
        let id = last_spi(lines);
        let mut gic = model(1, lines);
        gic.set_line(0, id, true).unwrap();
        assert_eq!(gic.highest_pending(0), Some(id));
        group.bench_with_input(BenchmarkId::new("model/1cpu", lines), &id, |b, _| {
            b.iter(|| black_box(&gic).highest_pending(0))
        });
    }
    group.finish();
}

criterion_group!(benches, delivered_interrupt, selection);
criterion_main!(benches);
