//! The differential comparison with QEMU's GICv2, as part of `cargo test`:
//! the corpus is played on the model and compared with QEMU's recorded
//! answers, and every difference must be explained in docs/CONFORMANCE.md,
//! the only allowlist. `cargo run -p gic-conformance` shows the details.

use std::collections::BTreeSet;

use gic_conformance::allowlist::{self, Allowlist};
use gic_conformance::compare::{self, compare, judge, Comparison};
use gic_conformance::corpus::{self, Corpus};
use gic_conformance::recorded::{self, Recorded};
use gic_conformance::registers;
use gic_conformance_format::{Frame, Op};

fn corpus() -> Corpus {
    Corpus::load(&corpus::default_dir()).expect("the corpus is readable")
}

fn comparison(c: &Corpus) -> Comparison {
    let entries = c.entries().expect("the corpus is well-formed");
    let rec = Recorded::load(&recorded::default_path()).expect("the record is readable");
    compare(&entries, &rec)
}

fn allowlist() -> Allowlist {
    Allowlist::load(&allowlist::default_path()).expect("docs/CONFORMANCE.md is well-formed")
}

#[test]
fn the_corpus_is_well_formed_and_has_at_least_80_scenarios() {
    let c = corpus();
    let n = c.entries().unwrap_or_else(|e| panic!("{e:#}")).len();
    assert!(n >= 80, "{n} scenarios; the corpus needs at least 80");
}

#[test]
fn the_corpus_reads_and_writes_every_register_of_the_four_frames() {
    let c = corpus();
    let entries = c.entries().unwrap();
    let (mut read, mut written) = (BTreeSet::new(), BTreeSet::new());
    for e in &entries {
        for s in e.scenario.steps() {
            let a = s.access;
            if let Some((kind, _, _)) = registers::describe(a.frame, a.offset, 0, 0) {
                match a.op {
                    Op::Read => read.insert(kind),
                    Op::Write(_) => written.insert(kind),
                };
            }
        }
    }
    let mut missing = Vec::new();
    for f in Frame::ALL {
        for k in registers::kinds(f) {
            if !read.contains(&k) {
                missing.push(format!("{k} is never read"));
            }
            if !written.contains(&k) {
                missing.push(format!("{k} is never written"));
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn every_read_is_recorded_for_the_scenario_as_it_is_now() {
    let c = comparison(&corpus());
    assert!(
        c.unrecorded.is_empty(),
        "re-record with `cargo run -p gic-conformance -- --record`:\n{}",
        c.unrecorded.join("\n")
    );
}

#[test]
fn every_difference_from_qemu_is_explained_in_conformance_md() {
    let c = comparison(&corpus());
    let list = allowlist();
    let j = judge(&c, &list);
    let mut problems: Vec<String> = j
        .unlisted
        .iter()
        .map(|d| compare::describe(d, None))
        .collect();
    problems.extend(
        j.stale
            .iter()
            .map(|(read, id)| format!("{id} lists {read}, which no longer differs: remove it")),
    );
    assert!(
        problems.is_empty(),
        "{} unexplained or stale (see docs/CONFORMANCE.md):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn conformance_md_opens_with_the_current_counts() {
    let c = comparison(&corpus());
    let j = judge(&c, &allowlist());
    let current: Vec<String> = compare::counts(&c, &j)
        .iter()
        .map(|(label, n)| format!("- {label}: {n}"))
        .collect();
    assert!(
        j.wrong_counts.is_empty(),
        "docs/CONFORMANCE.md must open with:\n{}",
        current.join("\n")
    );
}
