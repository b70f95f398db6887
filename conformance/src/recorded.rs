//! QEMU's recorded answers: the `S` and `R` lines the probe prints,
//! gathered from one boot per CPU count into `conformance/recorded/`.
//!
//! ```text
//! # comments
//! S <scenario> <fingerprint: 16 hex digits>
//! R <scenario> <step> <0x%08x | 0x%02x | abort>
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// The recorded file of this repository.
pub fn default_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("recorded/qemu-7.2.txt")
}

/// What a read returned on QEMU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The value (a byte read's in bits 7:0).
    Value(u32),
    /// The access took a Data Abort.
    Abort,
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Value(v) => write!(f, "{v:#010x}"),
            Answer::Abort => f.write_str("abort"),
        }
    }
}

/// One line of the probe's output that the record keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A scenario started: its name and fingerprint.
    Scenario(String, u64),
    /// A read: scenario, step, answer, and the text as printed.
    Read(String, u32, Answer, String),
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Line::Scenario(name, fp) => write!(f, "S {name} {fp:016x}"),
            Line::Read(name, step, _, text) => write!(f, "R {name} {step} {text}"),
        }
    }
}

fn parse_answer(s: &str) -> Option<Answer> {
    if s == "abort" {
        return Some(Answer::Abort);
    }
    let hex = s.strip_prefix("0x")?;
    u32::from_str_radix(hex, 16).ok().map(Answer::Value)
}

/// The `S` and `R` lines of `text` (the probe's output, or a recorded
/// file), in order; every other line is ignored, except a malformed `S` or
/// `R` line, which is an error.
pub fn lines(text: &str) -> Result<Vec<Line>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim_end_matches('\r').trim();
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let parsed = match fields.as_slice() {
            ["S", name, fp] => u64::from_str_radix(fp, 16)
                .ok()
                .map(|fp| Line::Scenario(name.to_string(), fp)),
            ["R", name, step, answer] => match (step.parse(), parse_answer(answer)) {
                (Ok(step), Some(a)) => {
                    Some(Line::Read(name.to_string(), step, a, answer.to_string()))
                }
                _ => None,
            },
            [first, ..] if *first == "S" || *first == "R" => None,
            _ => continue,
        };
        match parsed {
            Some(l) => out.push(l),
            None => bail!("line {}: malformed record line {line:?}", n + 1),
        }
    }
    Ok(out)
}

/// QEMU's answers, by scenario and step.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    /// Each recorded scenario's fingerprint.
    pub fingerprints: HashMap<String, u64>,
    /// Each recorded read.
    pub answers: HashMap<(String, u32), Answer>,
}

impl Recorded {
    /// The record in `text`.
    pub fn parse(text: &str) -> Result<Recorded> {
        let mut r = Recorded::default();
        for l in lines(text)? {
            match l {
                Line::Scenario(name, fp) => {
                    if r.fingerprints.insert(name.clone(), fp).is_some() {
                        bail!("scenario {name} is recorded twice");
                    }
                }
                Line::Read(name, step, answer, _) => {
                    if r.answers.insert((name.clone(), step), answer).is_some() {
                        bail!("read {name}:{step} is recorded twice");
                    }
                }
            }
        }
        Ok(r)
    }

    /// The record in the file at `path`.
    pub fn load(path: &Path) -> Result<Recorded> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Recorded::parse(&text).with_context(|| format!("in {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_output_lines_are_kept_and_the_rest_ignored() {
        let out = "probe: QEMU virt, 1 CPU(s)\r\nS a 00000000000000ff\r\nR a 1 0x0000043b\r\nR a 2 abort\nR a 3 0x2b\nprobe: done\n";
        let l = lines(out).unwrap();
        assert_eq!(l.len(), 4);
        assert_eq!(l[0], Line::Scenario("a".into(), 0xff));
        assert_eq!(l[1].to_string(), "R a 1 0x0000043b");
        let r = Recorded::parse(out).unwrap();
        assert_eq!(r.answers[&("a".to_string(), 2)], Answer::Abort);
        assert_eq!(r.answers[&("a".to_string(), 3)], Answer::Value(0x2b));
        assert_eq!(r.fingerprints["a"], 0xff);
    }

    #[test]
    fn malformed_and_repeated_lines_are_errors() {
        assert!(lines("R a x 0x1\n").is_err());
        assert!(lines("R a 1 12\n").is_err());
        assert!(lines("S a\n").is_err());
        assert!(Recorded::parse("R a 1 0x1\nR a 1 0x2\n").is_err());
    }
}
