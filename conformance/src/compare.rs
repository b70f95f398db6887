//! Playing the corpus on the model and comparing with QEMU's record.

use std::collections::BTreeMap;

use gic_conformance_format::{prologue, Access, Frame, Op, Scenario, Step, Width};
use gic_model::{Config, Gic};

use crate::allowlist::{Allowlist, Class};
use crate::corpus::Entry;
use crate::recorded::{Answer, Recorded};
use crate::registers;

fn frame(f: Frame) -> gic_model::Frame {
    match f {
        Frame::Gicd => gic_model::Frame::Gicd,
        Frame::Gicc => gic_model::Frame::Gicc,
        Frame::Gich => gic_model::Frame::Gich,
        Frame::Gicv => gic_model::Frame::Gicv,
    }
}

fn width(w: Width) -> gic_model::Width {
    match w {
        Width::Byte => gic_model::Width::Byte,
        Width::Word => gic_model::Width::Word,
    }
}

/// Makes `a` on the model; returns what a read read.
pub fn apply(gic: &mut Gic, a: &Access) -> Option<u32> {
    let (f, off, w) = (frame(a.frame), a.offset as usize, width(a.width));
    match a.op {
        Op::Read => Some(gic.read(f, a.cpu, off, w)),
        Op::Write(v) => {
            gic.write(f, a.cpu, off, w, v);
            None
        }
    }
}

/// The model of QEMU's board for `cpus` CPUs, as a scenario starts: fresh,
/// with the prologue applied unless the scenario is `reset`.
pub fn board(s: &Scenario) -> Gic {
    let mut gic = Gic::new(Config::qemu_virt(s.cpus))
        .unwrap_or_else(|e| panic!("Config::qemu_virt({}) is valid: {e}", s.cpus));
    if !s.reset {
        for a in prologue(s.cpus) {
            apply(&mut gic, &a);
        }
    }
    gic
}

/// Plays `s` on the model: every read's step and value.
pub fn play(s: &Scenario) -> Vec<(Step, u32)> {
    let mut gic = board(s);
    s.steps()
        .filter_map(|step| apply(&mut gic, &step.access).map(|v| (step, v)))
        .collect()
}

/// A read where QEMU and the model disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The scenario's file.
    pub file: String,
    /// The scenario.
    pub scenario: String,
    /// The step, and the read.
    pub step: Step,
    /// QEMU's answer.
    pub qemu: Answer,
    /// The model's.
    pub model: u32,
    /// The fields that differ, QEMU's value first.
    pub fields: Vec<String>,
}

impl Difference {
    /// `scenario:step`, as CONFORMANCE.md names it.
    pub fn id(&self) -> String {
        format!("{}:{}", self.scenario, self.step.number)
    }
}

/// The comparison of the whole corpus.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    /// Scenarios played.
    pub scenarios: usize,
    /// Reads compared.
    pub reads: usize,
    /// Reads with the same answer.
    pub identical: usize,
    /// Reads with different answers, in corpus order.
    pub differences: Vec<Difference>,
    /// What the record lacks: scenarios not recorded or changed since.
    pub unrecorded: Vec<String>,
}

/// Plays every scenario on the model and compares each read with `rec`.
pub fn compare(entries: &[Entry], rec: &Recorded) -> Comparison {
    let mut c = Comparison::default();
    for e in entries {
        let s = &e.scenario;
        c.scenarios += 1;
        match rec.fingerprints.get(s.name) {
            None => c
                .unrecorded
                .push(format!("{} ({}) is not recorded", s.name, e.file)),
            Some(&fp) if fp != s.fingerprint() => c.unrecorded.push(format!(
                "{} ({}) changed since it was recorded",
                s.name, e.file
            )),
            Some(_) => {}
        }
        for (step, model) in play(s) {
            c.reads += 1;
            let Some(&qemu) = rec.answers.get(&(s.name.to_owned(), step.number)) else {
                c.unrecorded
                    .push(format!("{}:{} has no recorded answer", s.name, step.number));
                continue;
            };
            let a = step.access;
            let fields = match qemu {
                Answer::Value(q) if q == model => {
                    c.identical += 1;
                    continue;
                }
                Answer::Value(q) => {
                    registers::differing_fields(a.frame, a.offset, a.width, q, model)
                }
                Answer::Abort => vec!["the access aborted on QEMU".to_owned()],
            };
            c.differences.push(Difference {
                file: e.file.to_owned(),
                scenario: s.name.to_owned(),
                step,
                qemu,
                model,
                fields,
            });
        }
    }
    c
}

/// The comparison judged against the allowlist.
#[derive(Debug, Clone, Default)]
pub struct Judgement {
    /// Differences per class.
    pub per_class: BTreeMap<Class, usize>,
    /// Differences CONFORMANCE.md does not list.
    pub unlisted: Vec<Difference>,
    /// Reads CONFORMANCE.md lists that do not differ (any more), with the
    /// entry that lists them.
    pub stale: Vec<(String, String)>,
    /// Counts at the top of CONFORMANCE.md that are not current: label,
    /// written, actual.
    pub wrong_counts: Vec<(String, Option<usize>, usize)>,
}

impl Judgement {
    /// Nothing unlisted, stale or miscounted.
    pub fn is_clean(&self) -> bool {
        self.unlisted.is_empty() && self.stale.is_empty() && self.wrong_counts.is_empty()
    }
}

/// Judges `c` against `list`.
pub fn judge(c: &Comparison, list: &Allowlist) -> Judgement {
    let mut j = Judgement::default();
    for d in &c.differences {
        match list.find(&d.scenario, d.step.number) {
            Some(e) => *j.per_class.entry(e.class).or_default() += 1,
            None => j.unlisted.push(d.clone()),
        }
    }
    for e in &list.entries {
        for (s, n) in &e.reads {
            if !c
                .differences
                .iter()
                .any(|d| d.scenario == *s && d.step.number == *n)
            {
                j.stale.push((format!("{s}:{n}"), e.id.clone()));
            }
        }
    }
    for (label, actual) in counts(c, &j) {
        let written = list.count(&label);
        if written != Some(actual) {
            j.wrong_counts.push((label, written, actual));
        }
    }
    j
}

/// The counts CONFORMANCE.md opens with, as they are: label and number.
pub fn counts(c: &Comparison, j: &Judgement) -> Vec<(String, usize)> {
    let mut v = vec![
        ("scenarios".to_owned(), c.scenarios),
        ("reads".to_owned(), c.reads),
        ("identical".to_owned(), c.identical),
    ];
    for class in Class::ALL {
        v.push((
            class.count_label().to_owned(),
            j.per_class.get(&class).copied().unwrap_or(0),
        ));
    }
    v
}

/// One difference as the command prints it.
pub fn describe(d: &Difference, class: Option<(&str, Class)>) -> String {
    let a = d.step.access;
    let model = match a.width {
        Width::Byte => format!("{:#04x}", d.model),
        Width::Word => format!("{:#010x}", d.model),
    };
    let qemu = match (d.qemu, a.width) {
        (Answer::Value(v), Width::Byte) => format!("{v:#04x}"),
        (q, _) => q.to_string(),
    };
    let verdict = match class {
        Some((id, class)) => format!("{id}, {class}"),
        None => "NOT LISTED in docs/CONFORMANCE.md".to_owned(),
    };
    let mut s = format!(
        "{} ({}:{}, {a}): QEMU {qemu}, model {model} [{verdict}]",
        d.id(),
        d.file,
        d.step.line
    );
    for f in &d.fields {
        s.push_str("\n    ");
        s.push_str(f);
    }
    s
}
