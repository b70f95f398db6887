//! `gic-conformance`: compares the model with QEMU's recorded answers and
//! prints every difference (scenario, step, both values, the fields that
//! differ, and how docs/CONFORMANCE.md explains it).
//!
//! ```text
//! gic-conformance            # compare; exit 1 if anything is unexplained
//! gic-conformance --record   # boot the probe under QEMU and rewrite the record
//! ```

use std::process::ExitCode;

use anyhow::Result;
use gic_conformance::allowlist::{self, Allowlist};
use gic_conformance::compare::{self, compare, judge};
use gic_conformance::corpus::{self, Corpus};
use gic_conformance::record;
use gic_conformance::recorded::{self, Recorded};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => run(),
        [a] if a == "--record" => Corpus::load(&corpus::default_dir())
            .and_then(|c| record::record(&c, &recorded::default_path()))
            .map(|()| true),
        _ => {
            eprintln!("usage: gic-conformance [--record]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("gic-conformance: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool> {
    let corpus = Corpus::load(&corpus::default_dir())?;
    let entries = corpus.entries()?;
    let rec = Recorded::load(&recorded::default_path())?;
    let list = Allowlist::load(&allowlist::default_path())?;
    let c = compare(&entries, &rec);
    let j = judge(&c, &list);
    for d in &c.differences {
        let class = list
            .find(&d.scenario, d.step.number)
            .map(|e| (e.id.as_str(), e.class));
        println!("{}", compare::describe(d, class));
    }
    for u in &c.unrecorded {
        println!("not recorded: {u} (run with --record)");
    }
    for (read, id) in &j.stale {
        println!("stale: {id} lists {read}, which no longer differs");
    }
    println!();
    for (label, n) in compare::counts(&c, &j) {
        println!("- {label}: {n}");
    }
    for (label, written, actual) in &j.wrong_counts {
        let written = written.map_or("missing".to_owned(), |w| w.to_string());
        println!("docs/CONFORMANCE.md says {label}: {written}, but it is {actual}");
    }
    if !j.unlisted.is_empty() {
        println!(
            "{} difference(s) not listed in docs/CONFORMANCE.md",
            j.unlisted.len()
        );
    }
    Ok(j.is_clean() && c.unrecorded.is_empty())
}
