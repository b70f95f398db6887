//! The scenario corpus: `conformance/scenarios/*.gic`, in file-name order
//! (the order the probe embeds them in), checked as a whole.

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use gic_conformance_format::{scenarios, Scenario};

/// The corpus directory of this repository.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// The scenario files, their names and texts, in file-name order.
#[derive(Debug, Clone)]
pub struct Corpus {
    files: Vec<(String, String)>,
}

/// A scenario with the file it is in.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    /// The file name (`10-gicd.gic`).
    pub file: &'a str,
    /// The scenario.
    pub scenario: Scenario<'a>,
}

impl Corpus {
    /// Reads every `*.gic` file of `dir`.
    pub fn load(dir: &Path) -> Result<Corpus> {
        let mut paths: Vec<PathBuf> = fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()?;
        paths.retain(|p| p.extension().is_some_and(|e| e == "gic"));
        paths.sort();
        let files = paths
            .iter()
            .map(|p| {
                let name = p
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned();
                fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))
                    .map(|text| (name, text))
            })
            .collect::<Result<_>>()?;
        Ok(Corpus { files })
    }

    /// A corpus of one text (for tests).
    pub fn from_text(name: &str, text: &str) -> Corpus {
        Corpus {
            files: vec![(name.to_owned(), text.to_owned())],
        }
    }

    /// Every scenario, in corpus order, after checking the whole corpus:
    /// each file parses, names are unique, and a `reset` scenario is the
    /// first of its CPU count.
    pub fn entries(&self) -> Result<Vec<Entry<'_>>> {
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (file, text) in &self.files {
            for s in scenarios(text) {
                match s {
                    Ok(scenario) => out.push(Entry { file, scenario }),
                    Err(e) => problems.push(format!("{file}: {e}")),
                }
            }
        }
        let mut seen: HashMap<&str, &str> = HashMap::new();
        let mut counts_seen = BTreeSet::new();
        for e in &out {
            let s = &e.scenario;
            if let Some(first) = seen.insert(s.name, e.file) {
                problems.push(format!(
                    "{}:{}: scenario {} is also in {first}",
                    e.file, s.line, s.name
                ));
            }
            let first_of_count = counts_seen.insert(s.cpus);
            if s.reset && !first_of_count {
                problems.push(format!(
                    "{}:{}: reset scenario {} is not the first with cpus {} (the probe boots once per CPU count)",
                    e.file, s.line, s.name, s.cpus
                ));
            }
        }
        if !problems.is_empty() {
            bail!("the corpus has problems:\n  {}", problems.join("\n  "));
        }
        Ok(out)
    }

    /// The CPU counts the corpus uses, ascending: one probe boot each.
    pub fn cpu_counts(&self) -> Result<Vec<u8>> {
        let counts: BTreeSet<u8> = self.entries()?.iter().map(|e| e.scenario.cpus).collect();
        Ok(counts.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_names_and_late_reset_scenarios_are_refused() {
        let dup = Corpus::from_text(
            "a.gic",
            "scenario x\ncpus 1\nread gicd 0 0 32\nscenario x\ncpus 1\nread gicd 0 0 32\n",
        );
        let e = format!("{:#}", dup.entries().unwrap_err());
        assert!(e.contains("a.gic:4: scenario x is also in a.gic"), "{e}");
        let late = Corpus::from_text(
            "a.gic",
            "scenario x\ncpus 1\nread gicd 0 0 32\nscenario y\ncpus 1\nreset\nread gicd 0 0 32\n",
        );
        let e = format!("{:#}", late.entries().unwrap_err());
        assert!(e.contains("reset scenario y is not the first"), "{e}");
        let bad = Corpus::from_text("b.gic", "scenario x\ncpus 1\nread gicd 0 1 32\n");
        let e = format!("{:#}", bad.entries().unwrap_err());
        assert!(e.contains("b.gic: line 3"), "{e}");
    }

    #[test]
    fn cpu_counts_are_the_distinct_counts_ascending() {
        let c = Corpus::from_text(
            "a.gic",
            "scenario x\ncpus 4\nread gicd 0 0 32\nscenario y\ncpus 1\nread gicd 0 0 32\nscenario z\ncpus 4\nread gicd 0 0 32\n",
        );
        assert_eq!(c.cpu_counts().unwrap(), [1, 4]);
    }
}
