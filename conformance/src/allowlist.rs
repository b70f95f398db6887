//! `docs/CONFORMANCE.md`, the only allowlist of the comparison: the counts
//! it opens with, and one entry per explained difference.
//!
//! ```text
//! - scenarios: 97                        (the counts, before the first ##)
//! - reads: 1500
//! ...
//! ## QEMU deviations                     (or: ## Implementation defined,
//! ### Q4 · GICD_SGIR filter 0b11          ##  Model defects, to fix)
//! - Rule: IHI 0048B 4.3.15: ...
//! - Newer QEMU: not fixed                (required for QEMU deviations)
//! - Differences: `sgir-filter:3` `sgir-filter:5-7`
//! ```
//!
//! A difference is named `scenario:step` (or a range of steps,
//! `scenario:first-last`), inside backquotes on a `- Differences:` line.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// `docs/CONFORMANCE.md` of this repository.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/CONFORMANCE.md")
}

/// How a difference is explained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Class {
    /// QEMU does not do what the specification requires.
    QemuDeviation,
    /// The specification allows both answers.
    ImplementationDefined,
    /// The model does not do what the specification requires: to fix.
    ModelDefect,
}

impl Class {
    /// Every class, in the order CONFORMANCE.md lists them.
    pub const ALL: [Class; 3] = [
        Class::QemuDeviation,
        Class::ImplementationDefined,
        Class::ModelDefect,
    ];

    /// The section heading of the class (after `## `).
    pub const fn heading(self) -> &'static str {
        match self {
            Class::QemuDeviation => "QEMU deviations",
            Class::ImplementationDefined => "Implementation defined",
            Class::ModelDefect => "Model defects, to fix",
        }
    }

    /// The label of its count at the top of the file.
    pub const fn count_label(self) -> &'static str {
        match self {
            Class::QemuDeviation => "QEMU deviations",
            Class::ImplementationDefined => "implementation defined",
            Class::ModelDefect => "model defects, to fix",
        }
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Class::QemuDeviation => "QEMU deviation",
            Class::ImplementationDefined => "implementation defined",
            Class::ModelDefect => "model defect",
        })
    }
}

/// One explained difference (or group of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its id (`Q4`).
    pub id: String,
    /// Its heading after the id.
    pub title: String,
    /// Its class.
    pub class: Class,
    /// The specification's rule (the `- Rule:` line).
    pub rule: String,
    /// Whether newer QEMU fixed it (`- Newer QEMU:`), for deviations.
    pub newer_qemu: Option<String>,
    /// The reads it explains: scenario and step.
    pub reads: Vec<(String, u32)>,
    /// The line of its heading.
    pub line: usize,
}

/// The parsed file.
#[derive(Debug, Clone, Default)]
pub struct Allowlist {
    /// The counts the file opens with: label and number, in order.
    pub counts: Vec<(String, usize)>,
    /// Its entries, in order.
    pub entries: Vec<Entry>,
}

impl Allowlist {
    /// The allowlist in `text`, checked: every entry has a rule citing IHI
    /// 0048B with a section number, deviations say whether newer QEMU fixed
    /// them, every entry names at least one read, and no read is named twice.
    pub fn parse(text: &str) -> Result<Allowlist> {
        let mut list = Allowlist::default();
        let mut class: Option<Class> = None;
        let mut in_header = true;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if let Some(h) = line.strip_prefix("## ") {
                in_header = false;
                class = Class::ALL.into_iter().find(|c| c.heading() == h.trim());
                continue;
            }
            if in_header {
                if let Some((label, count)) =
                    line.strip_prefix("- ").and_then(|l| l.rsplit_once(':'))
                {
                    if let Ok(count) = count.trim().parse() {
                        list.counts.push((label.trim().to_owned(), count));
                    }
                }
                continue;
            }
            let Some(class) = class else { continue };
            if let Some(h) = line.strip_prefix("### ") {
                let (id, title) = h.split_once(' ').unwrap_or((h, ""));
                list.entries.push(Entry {
                    id: id.to_owned(),
                    title: title.trim_start_matches(['·', ' ', ':']).trim().to_owned(),
                    class,
                    rule: String::new(),
                    newer_qemu: None,
                    reads: Vec::new(),
                    line: n + 1,
                });
                continue;
            }
            let Some(entry) = list.entries.last_mut() else {
                continue;
            };
            if entry.class != class {
                continue;
            }
            if let Some(rule) = line.strip_prefix("- Rule:") {
                entry.rule = rule.trim().to_owned();
            } else if let Some(newer) = line.strip_prefix("- Newer QEMU:") {
                entry.newer_qemu = Some(newer.trim().to_owned());
            } else if let Some(reads) = line.strip_prefix("- Differences:") {
                for token in reads.split('`').skip(1).step_by(2) {
                    entry
                        .reads
                        .extend(parse_reads(token).with_context(|| format!("line {}", n + 1))?);
                }
            }
        }
        list.check()?;
        Ok(list)
    }

    /// The allowlist in the file at `path`.
    pub fn load(path: &Path) -> Result<Allowlist> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Allowlist::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    fn check(&self) -> Result<()> {
        let mut problems = Vec::new();
        let mut ids = HashMap::new();
        let mut named: HashMap<&(String, u32), &str> = HashMap::new();
        for e in &self.entries {
            let at = format!("line {}: {}", e.line, e.id);
            if ids.insert(e.id.as_str(), e.line).is_some() {
                problems.push(format!("{at}: the id is used twice"));
            }
            if !cites_a_section(&e.rule) {
                problems.push(format!(
                    "{at}: needs `- Rule:` citing IHI 0048B and a section number (like 4.3.15)"
                ));
            }
            if e.class == Class::QemuDeviation && e.newer_qemu.as_deref().is_none_or(str::is_empty)
            {
                problems.push(format!(
                    "{at}: a QEMU deviation needs `- Newer QEMU:` (fixed or not)"
                ));
            }
            if e.reads.is_empty() {
                problems.push(format!(
                    "{at}: names no difference (`- Differences: `scenario:step``)"
                ));
            }
            for r in &e.reads {
                if let Some(other) = named.insert(r, &e.id) {
                    problems.push(format!(
                        "{at}: {}:{} is also listed under {other}",
                        r.0, r.1
                    ));
                }
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        Ok(())
    }

    /// The entry that lists `scenario:step`, if any.
    pub fn find(&self, scenario: &str, step: u32) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| e.reads.iter().any(|(s, n)| s == scenario && *n == step))
    }

    /// The count labelled `label` at the top of the file.
    pub fn count(&self, label: &str) -> Option<usize> {
        self.counts
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, c)| *c)
    }
}

/// `scenario:step` or `scenario:first-last`.
fn parse_reads(token: &str) -> Result<Vec<(String, u32)>> {
    let Some((name, steps)) = token.rsplit_once(':') else {
        bail!("`{token}` is not scenario:step");
    };
    let (first, last) = match steps.split_once('-') {
        Some((a, b)) => (a.parse::<u32>()?, b.parse::<u32>()?),
        None => {
            let s = steps.parse::<u32>()?;
            (s, s)
        }
    };
    if name.is_empty() || first == 0 || last < first {
        bail!("`{token}` is not scenario:step or scenario:first-last");
    }
    Ok((first..=last).map(|s| (name.to_owned(), s)).collect())
}

/// Whether `rule` cites IHI 0048B and a section number (`4.3.15`).
fn cites_a_section(rule: &str) -> bool {
    rule.contains("IHI 0048B")
        && rule
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .any(|w| {
                let parts: Vec<&str> = w.split('.').collect();
                parts.len() >= 2 && parts.iter().all(|p| !p.is_empty())
            })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
# Conformance
- scenarios: 3
- reads: 10

## QEMU deviations

### Q1 · filter 0b11
- Rule: IHI 0048B 4.3.15: reserved.
- Newer QEMU: not fixed.
- Differences: `a:3` `b:2-4`

## Implementation defined

### I1 · byte reads
- Rule: IHI 0048B 4.1.4: byte accesses elsewhere are UNPREDICTABLE... no, implementation defined.
- Differences: `c:1`
";

    #[test]
    fn entries_counts_and_reads_are_parsed() {
        let a = Allowlist::parse(GOOD).unwrap();
        assert_eq!(a.count("scenarios"), Some(3));
        assert_eq!(a.count("reads"), Some(10));
        assert_eq!(a.entries.len(), 2);
        assert_eq!(a.entries[0].id, "Q1");
        assert_eq!(a.entries[0].title, "filter 0b11");
        assert_eq!(a.entries[0].reads.len(), 4);
        assert_eq!(a.find("b", 3).map(|e| e.class), Some(Class::QemuDeviation));
        assert_eq!(
            a.find("c", 1).map(|e| e.class),
            Some(Class::ImplementationDefined)
        );
        assert!(a.find("a", 1).is_none());
    }

    #[test]
    fn an_entry_without_its_rule_or_qemu_status_is_refused() {
        let no_section = GOOD.replace("IHI 0048B 4.3.15", "IHI 0048B");
        assert!(format!("{:#}", Allowlist::parse(&no_section).unwrap_err())
            .contains("Q1: needs `- Rule:`"));
        let no_newer = GOOD.replace("- Newer QEMU: not fixed.\n", "");
        assert!(format!("{:#}", Allowlist::parse(&no_newer).unwrap_err()).contains("Newer QEMU"));
        let twice = GOOD.replace("`c:1`", "`a:3`");
        assert!(
            format!("{:#}", Allowlist::parse(&twice).unwrap_err()).contains("also listed under Q1")
        );
        let none = GOOD.replace("- Differences: `c:1`\n", "");
        assert!(
            format!("{:#}", Allowlist::parse(&none).unwrap_err()).contains("names no difference")
        );
        assert!(Allowlist::parse(&GOOD.replace("`c:1`", "`c:0`")).is_err());
    }
}
