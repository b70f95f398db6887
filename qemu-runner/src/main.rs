//! `qemu-runner`: boots an EL2 ELF (the hypervisor demo) under
//! `qemu-system-aarch64` on the `virt` board with a GICv2, streams its
//! output, enforces a time limit, and exits with the demo's own status.
//!
//! ```text
//! qemu-runner [--timeout SECS] [--qemu PATH] [--smp N] [--expect LINE]... <ELF>
//! qemu-runner --build [...]        # build hypervisor-demo first and boot it
//! ```
//!
//! Exit status: the demo's (0 = success) when QEMU exits; 124 when the time
//! limit killed QEMU; 128 + N when signal N did; 1 when the demo succeeded
//! but an `--expect`ed line is missing; 125 when the runner itself failed.
#![deny(missing_docs)]

mod demo_build;
mod qemu;
mod verdict;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Result;
use clap::Parser;

/// Boots an EL2 ELF under qemu-system-aarch64 (virt board, GICv2,
/// virtualization=on, semihosting) and exits with the status it reports.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Kill QEMU and fail (status 124) after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: u64,

    /// The QEMU binary [default: qemu-system-aarch64 on PATH].
    #[arg(long, value_name = "PATH", env = "QEMU_SYSTEM_AARCH64")]
    qemu: Option<PathBuf>,

    /// Build hypervisor-demo (release, aarch64-unknown-none) and boot it.
    #[arg(long, conflicts_with = "elf")]
    build: bool,

    /// CPUs on the board (QEMU's `-smp`); the GIC has one CPU interface each.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u8).range(1..=8))]
    smp: u8,

    /// Fail unless the output has this line (repeatable).
    #[arg(long, value_name = "LINE")]
    expect: Vec<String>,

    /// Print the QEMU command before running it.
    #[arg(long, short)]
    verbose: bool,

    /// The ELF to boot.
    #[arg(value_name = "ELF", required_unless_present = "build")]
    elf: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("qemu-runner: {e:#}");
            ExitCode::from(verdict::RUNNER_FAILED)
        }
    }
}

fn run(cli: &Cli) -> Result<u8> {
    let qemu = qemu::find(cli.qemu.as_deref(), std::env::var_os("PATH").as_deref())?;
    let elf = match &cli.elf {
        Some(elf) => elf.clone(),
        None => demo_build::build()?,
    };
    anyhow::ensure!(elf.is_file(), "{} is not a file", elf.display());

    let args = qemu::args(&elf, cli.smp);
    if cli.verbose {
        let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        eprintln!("qemu-runner: {} {}", qemu.display(), shown.join(" "));
    }
    let (ending, output) = qemu::run(
        &qemu,
        &args,
        Duration::from_secs(cli.timeout),
        std::io::stdout(),
    )?;
    let output = String::from_utf8_lossy(&output);
    let missing = verdict::missing_lines(&output, &cli.expect);
    let verdict = verdict::verdict(ending, &missing);
    eprintln!("qemu-runner: {}", verdict.message);
    Ok(verdict.code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("qemu-runner").chain(args.iter().copied()))
    }

    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cli = parse(&["demo.elf"]).unwrap();
        assert_eq!(cli.elf, Some(PathBuf::from("demo.elf")));
        assert_eq!(cli.timeout, 60);
        assert!(!cli.build);
        assert!(cli.expect.is_empty());
        assert_eq!(cli.smp, 1);
    }

    #[test]
    fn smp_is_one_to_eight_cpus() {
        assert_eq!(parse(&["--smp", "4", "x"]).unwrap().smp, 4);
        assert!(parse(&["--smp", "0", "x"]).is_err());
        assert!(parse(&["--smp", "9", "x"]).is_err());
    }

    #[test]
    fn all_options() {
        let cli = parse(&[
            "--timeout",
            "5",
            "--qemu",
            "/opt/qemu",
            "--expect",
            "verdict: PASS",
            "--expect",
            "received SGI 3 from CPU 0",
            "demo.elf",
        ])
        .unwrap();
        assert_eq!(cli.timeout, 5);
        assert_eq!(cli.qemu, Some(PathBuf::from("/opt/qemu")));
        assert_eq!(cli.expect, ["verdict: PASS", "received SGI 3 from CPU 0"]);
    }

    #[test]
    fn an_elf_or_build_is_required() {
        assert!(parse(&[]).is_err());
        let cli = parse(&["--build"]).unwrap();
        assert!(cli.build && cli.elf.is_none());
        assert!(parse(&["--build", "demo.elf"]).is_err());
    }

    #[test]
    fn timeout_must_be_a_positive_number() {
        assert!(parse(&["--timeout", "0", "x"]).is_err());
        assert!(parse(&["--timeout", "soon", "x"]).is_err());
    }
}
