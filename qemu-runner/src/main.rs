//! `qemu-runner`: boots an EL2 ELF (the hypervisor demo) under
//! `qemu-system-aarch64` on the `virt` board with a GICv2, streams its UART,
//! decodes the defmt logs it writes on the semihosting console ([`logs`]),
//! merges the two ([`console`]), enforces a time limit, and exits with the
//! demo's own status.
//!
//! ```text
//! qemu-runner [--timeout SECS] [--qemu PATH] [--expect LINE]... [--verbose] [--gdb[=PORT]] <ELF>
//! qemu-runner --build [...]        # build hypervisor-demo first and boot it
//! qemu-runner [...] --guest FILE [--initrd FILE] [--append ARGS] [--smp N] [--memory MIB] <ELF>
//! qemu-runner initramfs --busybox FILE --output FILE
//! qemu-runner check-linux [LOG]
//! ```
//!
//! With `--guest`, the hypervisor boots that guest (see [`guest`] for where
//! it and its initrd go); the two subcommands build and check the Linux
//! guest of `scripts/demo linux` ([`initramfs`], [`linux_check`]).
//!
//! Exit statuses: see [`verdict::EXIT_STATUS_HELP`] (also in `--help`).
#![deny(missing_docs)]

mod console;
mod demo_build;
mod guest;
mod initramfs;
mod linux_check;
mod logs;
mod qemu;
mod tools;
mod verdict;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use console::Console;
use logs::Logs;

use anyhow::{bail, Context, Result};
use clap::Parser;

/// The port of QEMU's gdb stub when `--gdb` names none.
const DEFAULT_GDB_PORT: &str = "1234";

/// The time limit when `--timeout` is not given and `--gdb` is not either.
const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Boots an EL2 ELF under qemu-system-aarch64 (virt board, GICv2,
/// virtualization=on, semihosting) and exits with the status it reports.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, after_help = verdict::EXIT_STATUS_HELP,
          args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    /// Kill QEMU and fail (status 124) after this many seconds
    /// [default: 60; none with --gdb].
    #[arg(long, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..))]
    timeout: Option<u64>,

    /// The QEMU binary [default: qemu-system-aarch64 on PATH].
    #[arg(long, value_name = "PATH", env = "QEMU_SYSTEM_AARCH64")]
    qemu: Option<PathBuf>,

    /// Build hypervisor-demo (release, aarch64-unknown-none) and boot it.
    #[arg(long, conflicts_with = "elf")]
    build: bool,

    /// Fail unless the output has this line (repeatable).
    #[arg(long, value_name = "LINE")]
    expect: Vec<String>,

    /// Print the QEMU command line before running it, and each defmt log
    /// line's source location.
    #[arg(long, short)]
    verbose: bool,

    /// Start QEMU halted, its gdb stub on this local port [default: 1234],
    /// and print how to attach. Give the port as --gdb=PORT.
    #[arg(long, value_name = "PORT", num_args = 0..=1, require_equals = true,
          default_missing_value = DEFAULT_GDB_PORT)]
    gdb: Option<u16>,

    /// The guest, the board's CPUs and memory.
    #[command(flatten)]
    board: guest::BoardOptions,

    /// The ELF to boot.
    #[arg(value_name = "ELF", required_unless_present = "build")]
    elf: Option<PathBuf>,

    /// A subcommand for the Linux guest instead of a boot.
    #[command(subcommand)]
    tool: Option<tools::Tool>,
}

impl Cli {
    /// The time limit: `--timeout`, else none under a debugger, else the default.
    fn time_limit(&self) -> Option<Duration> {
        match (self.timeout, self.gdb) {
            (Some(secs), _) => Some(Duration::from_secs(secs)),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(DEFAULT_TIMEOUT_SECS)),
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version print to stdout and succeed; a usage
            // error is the runner's failure (clap's own 2 is a demo status).
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                verdict::RUNNER_FAILED
            } else {
                0
            });
        }
    };
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("qemu-runner: {e:#}");
            ExitCode::from(verdict::RUNNER_FAILED)
        }
    }
}

/// The command that builds the ELF the runner boots by default.
const BUILD_COMMAND: &str =
    "cargo build -p hypervisor-demo --target aarch64-unknown-none --release";

/// Checks that `elf` is there and is an ELF file, saying what to do if not.
fn check_elf(elf: &Path) -> Result<()> {
    let hint = format!(
        "build the demo with `{BUILD_COMMAND}`, or let the runner build it: `qemu-runner --build`"
    );
    let mut magic = [0u8; 4];
    match std::fs::File::open(elf) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("{} does not exist: {hint}", elf.display())
        }
        Err(e) => Err(e).with_context(|| format!("cannot read {}", elf.display())),
        Ok(_) if !elf.is_file() => bail!("{} is not a file: {hint}", elf.display()),
        Ok(mut file) => {
            use std::io::Read;
            if file.read_exact(&mut magic).is_err() || magic != *b"\x7fELF" {
                bail!(
                    "{} is not an ELF file: pass the executable cargo built \
                     (target/aarch64-unknown-none/release/hypervisor-demo), or {hint}",
                    elf.display()
                );
            }
            Ok(())
        }
    }
}

fn run(cli: &Cli) -> Result<u8> {
    if let Some(tool) = &cli.tool {
        return tools::run(tool);
    }
    // The guest's files are checked first: a wrong path fails at once.
    let guest = cli.board.prepare()?;
    let qemu = qemu::find(cli.qemu.as_deref(), std::env::var_os("PATH").as_deref())?;
    let version = qemu::probe_version(&qemu)?;
    let elf = match &cli.elf {
        Some(elf) => elf.clone(),
        None => demo_build::build()?,
    };
    check_elf(&elf)?;
    let elf_bytes =
        std::fs::read(&elf).with_context(|| format!("cannot read {}", elf.display()))?;
    let logs = match Logs::from_elf(&elf_bytes) {
        Ok(logs) => logs,
        Err(e) => {
            eprintln!(
                "qemu-runner: {e:#}: the hypervisor's defmt logs cannot be decoded \
                 (the guest's UART output is shown as usual)"
            );
            None
        }
    };
    drop(elf_bytes);

    let scratch = qemu::ScratchDir::new()?;
    let log_socket = scratch.path().join("log.sock");
    let options = qemu::Options {
        gdb: cli.gdb,
        log_socket: Some(log_socket.clone()),
        memory_mib: cli.board.memory,
        smp: cli.board.smp,
        extra: match &guest {
            Some(guest) => guest.qemu_args()?,
            None => Vec::new(),
        },
    };
    let args = qemu::args(&elf, &options);
    if cli.verbose {
        match version {
            Some(v) => eprintln!("qemu-runner: QEMU {v}"),
            None => eprintln!("qemu-runner: QEMU of unknown version (its --version printed none)"),
        }
        for line in guest.iter().flat_map(guest::Guest::describe) {
            eprintln!("qemu-runner: {line}");
        }
        eprintln!("qemu-runner: {}", qemu::command_line(&qemu, &args));
        if logs.is_none() {
            eprintln!(
                "qemu-runner: the ELF has no defmt table: its semihosting output is shown as text"
            );
        }
    }
    if let Some(port) = cli.gdb {
        eprintln!("qemu-runner: {}", qemu::gdb_instructions(&elf, port));
    }

    let console = Arc::new(Mutex::new(Console::new(std::io::stdout(), cli.verbose)));
    let uart_console = Arc::clone(&console);
    let mut decoder = logs.as_ref().map(Logs::decoder);
    let mut on_log = |bytes: &[u8]| {
        let mut console = qemu::lock(&console);
        match &mut decoder {
            _ if bytes.is_empty() => console.tick(Instant::now()),
            Some(decoder) => show(&mut console, decoder.feed(bytes)),
            None => console.text(bytes),
        }
    };
    let ending = qemu::run(
        &qemu,
        &args,
        cli.time_limit(),
        move |bytes| qemu::lock(&uart_console).uart(bytes),
        Some(qemu::SideChannel {
            path: &log_socket,
            on_bytes: &mut on_log,
        }),
    )?;
    let mut console = qemu::lock(&console);
    if let Some(decoder) = &mut decoder {
        show(&mut console, decoder.finish());
    }
    console.finish();
    let output = console.expect_text();
    let missing = verdict::missing_lines(&output, &cli.expect);
    let verdict = match &guest {
        Some(_) => verdict::guest_verdict(ending, &missing),
        None => verdict::verdict(ending, &missing),
    };
    eprintln!("qemu-runner: {}", verdict.message);
    Ok(verdict.code)
}

/// Puts decoded lines on the console and problems on standard error.
fn show(console: &mut Console<std::io::Stdout>, outputs: Vec<logs::Output>) {
    for output in outputs {
        match output {
            logs::Output::Line(line) => console.log(&line),
            logs::Output::Problem(problem) => eprintln!("qemu-runner: {problem}"),
        }
    }
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
        assert_eq!(cli.time_limit(), Some(Duration::from_secs(60)));
        assert!(!cli.build);
        assert!(!cli.verbose);
        assert_eq!(cli.gdb, None);
        assert!(cli.expect.is_empty());
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
        assert_eq!(cli.time_limit(), Some(Duration::from_secs(5)));
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

    #[test]
    fn gdb_takes_an_optional_port_after_an_equals_sign() {
        let cli = parse(&["--gdb", "demo.elf"]).unwrap();
        assert_eq!(cli.gdb, Some(1234));
        assert_eq!(cli.elf, Some(PathBuf::from("demo.elf")));
        let cli = parse(&["--gdb=4321", "demo.elf"]).unwrap();
        assert_eq!(cli.gdb, Some(4321));
        assert!(parse(&["--gdb=gdb", "demo.elf"]).is_err());
        assert!(parse(&["--gdb=70000", "demo.elf"]).is_err());
    }

    #[test]
    fn gdb_lifts_the_default_time_limit_but_not_an_explicit_one() {
        assert_eq!(parse(&["--gdb", "x"]).unwrap().time_limit(), None);
        assert_eq!(
            parse(&["--gdb", "--timeout", "9", "x"])
                .unwrap()
                .time_limit(),
            Some(Duration::from_secs(9))
        );
    }

    #[test]
    fn guest_options_parse_and_default_to_one_cpu_and_512_mib() {
        let cli = parse(&["demo.elf"]).unwrap();
        assert_eq!((cli.board.smp, cli.board.memory), (1, 512));
        assert_eq!(cli.board.guest, None);
        let cli = parse(&[
            "--build",
            "--guest",
            "Image",
            "--initrd",
            "initrd.gz",
            "--append",
            "console=ttyAMA0 panic=-1",
            "--smp",
            "2",
            "--memory",
            "1024",
        ])
        .unwrap();
        assert!(cli.build);
        assert_eq!(cli.board.guest, Some(PathBuf::from("Image")));
        assert_eq!(cli.board.initrd, Some(PathBuf::from("initrd.gz")));
        assert_eq!(
            cli.board.append.as_deref(),
            Some("console=ttyAMA0 panic=-1")
        );
        assert_eq!((cli.board.smp, cli.board.memory), (2, 1024));
        // A command line that starts with a dash is the guest's, not ours.
        let cli = parse(&["--guest", "g", "--append", "-x", "e"]).unwrap();
        assert_eq!(cli.board.append.as_deref(), Some("-x"));
    }

    #[test]
    fn initrd_and_append_need_a_guest() {
        assert!(parse(&["--initrd", "initrd.gz", "demo.elf"]).is_err());
        assert!(parse(&["--append", "console=ttyAMA0", "demo.elf"]).is_err());
    }

    #[test]
    fn smp_is_one_to_eight_and_memory_positive() {
        assert!(parse(&["--smp", "8", "x"]).is_ok());
        for bad in [
            ["--smp", "0"],
            ["--smp", "9"],
            ["--memory", "0"],
            ["--memory", "lots"],
        ] {
            assert!(parse(&[bad[0], bad[1], "x"]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn subcommands_need_no_elf() {
        let cli = parse(&["initramfs", "--busybox", "bb", "--output", "out.gz"]).unwrap();
        assert_eq!(
            cli.tool,
            Some(tools::Tool::Initramfs {
                busybox: PathBuf::from("bb"),
                output: PathBuf::from("out.gz"),
            })
        );
        let cli = parse(&["check-linux", "boot.log", "--cpus", "1"]).unwrap();
        assert_eq!(
            cli.tool,
            Some(tools::Tool::CheckLinux {
                log: Some(PathBuf::from("boot.log")),
                cpus: Some(1),
            })
        );
        assert!(
            parse(&["initramfs"]).is_err(),
            "--busybox and --output are required"
        );
    }

    #[test]
    fn a_missing_guest_fails_before_qemu_is_looked_for() {
        let cli = parse(&[
            "--qemu",
            "/nonexistent/qemu",
            "--guest",
            "/nonexistent/Image",
            "x",
        ])
        .unwrap();
        let message = format!("{:#}", run(&cli).unwrap_err());
        assert!(
            message.contains("the guest file /nonexistent/Image does not exist"),
            "{message}"
        );
    }

    #[test]
    fn verbose_has_a_short_form() {
        assert!(parse(&["-v", "x"]).unwrap().verbose);
        assert!(parse(&["--verbose", "x"]).unwrap().verbose);
    }

    #[test]
    fn help_lists_every_exit_status() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for status in ["0 ", "1 ", "1-5,101", "6 ", "124", "125", "128+N"] {
            assert!(help.contains(&format!("\n  {status}")), "{status}: {help}");
        }
        assert!(help.contains("--gdb[=<PORT>]"), "{help}");
    }

    #[test]
    fn usage_errors_are_not_mistaken_for_a_demo_status() {
        let e = parse(&["--no-such-option", "x"]).unwrap_err();
        assert!(e.use_stderr());
        let e = parse(&["--help"]).unwrap_err();
        assert!(!e.use_stderr(), "--help goes to stdout and succeeds");
    }

    #[test]
    fn readme_documents_the_same_exit_statuses() {
        let readme = include_str!("../../README.md");
        for line in verdict::EXIT_STATUS_HELP.lines().skip(1) {
            assert!(readme.contains(line), "README.md lacks the line {line:?}");
        }
    }

    /// A fresh file under the system's temporary directory.
    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("qemu-runner-main-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_missing_elf_names_the_build_command() {
        let message = format!(
            "{:#}",
            check_elf(Path::new("/nonexistent/hypervisor-demo")).unwrap_err()
        );
        assert!(
            message.contains("/nonexistent/hypervisor-demo does not exist"),
            "{message}"
        );
        assert!(message.contains(BUILD_COMMAND), "{message}");
        assert!(message.contains("--build"), "{message}");
    }

    #[test]
    fn a_file_that_is_not_an_elf_is_refused_before_qemu_starts() {
        let text = temp_file("not-elf", b"#!/bin/sh\n");
        let message = format!("{:#}", check_elf(&text).unwrap_err());
        assert!(message.contains("is not an ELF file"), "{message}");
        let elf = temp_file("elf", b"\x7fELF\x02\x01\x01");
        check_elf(&elf).unwrap();
        let message = format!("{:#}", check_elf(&std::env::temp_dir()).unwrap_err());
        assert!(message.contains("is not a file"), "{message}");
        std::fs::remove_file(text).unwrap();
        std::fs::remove_file(elf).unwrap();
    }
}
