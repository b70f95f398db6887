//! `--record`: boots the probe under QEMU, once per CPU count of the
//! corpus, through `qemu-runner --smp N`, and writes what it printed.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, ensure, Context, Result};

use crate::corpus::Corpus;
use crate::recorded::{self, Line};

/// The workspace root (the probe and the runner are built there).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The probe's package and binary.
pub const PROBE: &str = "gic-conformance-probe";
/// Its target.
pub const TARGET: &str = "aarch64-unknown-none";

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

/// Builds the probe (release) and returns its ELF's path.
pub fn build_probe() -> Result<PathBuf> {
    let status = cargo()
        .args(["build", "--package", PROBE, "--target", TARGET, "--release"])
        .status()
        .context("running cargo build for the probe")?;
    ensure!(status.success(), "building {PROBE} failed");
    let target_dir = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.is_absolute() {
                d
            } else {
                workspace_root().join(d)
            }
        }
        None => workspace_root().join("target"),
    };
    Ok(target_dir.join(TARGET).join("release").join(PROBE))
}

/// The first line of `qemu-system-aarch64 --version`, if it runs.
fn qemu_version() -> Option<String> {
    let qemu =
        std::env::var_os("QEMU_SYSTEM_AARCH64").unwrap_or_else(|| "qemu-system-aarch64".into());
    let out = Command::new(qemu).arg("--version").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .map(str::to_owned)
}

/// Boots `elf` with `cpus` CPUs and returns its `S`/`R` lines, after
/// checking it ran exactly the corpus's scenarios for that count.
fn boot(elf: &Path, cpus: u8, scenarios: usize, reads: usize) -> Result<Vec<Line>> {
    let done = format!("probe: done, {scenarios} scenarios, {reads} reads");
    eprintln!("gic-conformance: booting the probe with {cpus} CPU(s) ({scenarios} scenarios)");
    let out = cargo()
        .args([
            "run",
            "--quiet",
            "--package",
            "qemu-runner",
            "--release",
            "--",
        ])
        .args([
            "--smp",
            &cpus.to_string(),
            "--timeout",
            "600",
            "--expect",
            &done,
        ])
        .arg(elf)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .context("running qemu-runner")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "the probe with {cpus} CPU(s) failed ({}); its output:\n{text}",
            out.status
        );
    }
    recorded::lines(&text)
}

/// Boots the probe for every CPU count of `corpus` and writes the record
/// to `path`.
pub fn record(corpus: &Corpus, path: &Path) -> Result<()> {
    let entries = corpus.entries()?;
    let elf = build_probe()?;
    let mut text = String::new();
    text.push_str(
        "# QEMU's answers to the conformance corpus (conformance/scenarios), printed by\n",
    );
    text.push_str("# the probe and recorded by `cargo run -p gic-conformance -- --record`.\n");
    if let Some(v) = qemu_version() {
        writeln!(text, "# {v}")?;
    }
    text.push_str(
        "# -machine virt,virtualization=on,gic-version=2 -cpu cortex-a57, one boot per CPU count\n",
    );
    for cpus in corpus.cpu_counts()? {
        let mine: Vec<_> = entries.iter().filter(|e| e.scenario.cpus == cpus).collect();
        let reads: usize = mine.iter().map(|e| e.scenario.read_count() as usize).sum();
        let lines = boot(&elf, cpus, mine.len(), reads)?;
        writeln!(text, "\n# -smp {cpus}")?;
        for l in lines {
            writeln!(text, "{l}")?;
        }
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("gic-conformance: wrote {}", path.display());
    Ok(())
}
