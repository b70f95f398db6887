//! Finding `qemu-system-aarch64`, building its command line, and running it
//! with live output and a time limit.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The QEMU binary looked up on `PATH` when none is given.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// The board the demo is built for: QEMU's `virt` machine with EL2
/// (`virtualization=on`) and a GICv2, `smp` Cortex-A57s (1 for the demo;
/// the GIC gets one CPU interface per CPU), 128 MiB of RAM.
///
/// * `-nographic -serial stdio -monitor none`: the PL011 UART is QEMU's
///   standard output and nothing else is; standard input is not read.
/// * `-nic none`: no default network card (whose option ROM Debian ships in
///   a separate package, and which the demo does not use).
/// * `-semihosting`: lets the demo end QEMU with an exit status.
/// * `-kernel ELF`: QEMU loads the ELF's segments and starts the CPU at its
///   entry point, at EL2, with no firmware.
pub fn args(elf: &Path, smp: u8) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-machine",
        "virt,virtualization=on,gic-version=2",
        "-cpu",
        "cortex-a57",
        "-smp",
        &smp.to_string(),
        "-m",
        "128M",
        "-nographic",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-nic",
        "none",
        "-semihosting",
        "-kernel",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.push(elf.as_os_str().to_owned());
    args
}

/// The QEMU to run: `explicit` if given, else the first executable
/// [`QEMU_BINARY`] on `path` (the value of `PATH`).
pub fn find(explicit: Option<&Path>, path: Option<&OsStr>) -> Result<PathBuf> {
    if let Some(qemu) = explicit {
        if is_executable(qemu) {
            return Ok(qemu.to_owned());
        }
        bail!("{} is not an executable file", qemu.display());
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(QEMU_BINARY))
        .find(|candidate| is_executable(candidate))
        .with_context(|| {
            format!(
                "{QEMU_BINARY} not found on PATH; it is in Debian's qemu-system-arm package: \
                 apt-get install qemu-system-arm"
            )
        })
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

/// How a QEMU run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// QEMU exited with this status (the demo's, through semihosting).
    Exited(i32),
    /// QEMU was ended by this signal.
    Signalled(Option<i32>),
    /// QEMU ran past the time limit and was killed.
    TimedOut(Duration),
}

impl Ending {
    fn from_status(status: ExitStatus) -> Self {
        match status.code() {
            Some(code) => Ending::Exited(code),
            None => {
                #[cfg(unix)]
                let signal = std::os::unix::process::ExitStatusExt::signal(&status);
                #[cfg(not(unix))]
                let signal = None;
                Ending::Signalled(signal)
            }
        }
    }
}

/// Runs `qemu args`, copying its standard output to `echo` (normally our
/// standard output) as it arrives, and kills it after `timeout`. Returns how
/// it ended and everything it printed on standard output.
pub fn run(
    qemu: &Path,
    args: &[OsString],
    timeout: Duration,
    mut echo: impl Write + Send + 'static,
) -> Result<(Ending, Vec<u8>)> {
    let mut child = Command::new(qemu)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", qemu.display()))?;

    let mut pipe = child.stdout.take().context("QEMU's standard output")?;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (done, copier_finished) = mpsc::channel::<io::Result<()>>();
    let copier_seen = Arc::clone(&seen);
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let result = loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            lock(&copier_seen).extend_from_slice(&buf[..n]);
            // A closed stdout (e.g. `| head`) must not stop QEMU's output
            // from being collected for --expect.
            let _ = echo.write_all(&buf[..n]).and_then(|()| echo.flush());
        };
        let _ = done.send(result);
    });

    let start = Instant::now();
    let ending = loop {
        if let Some(status) = child.try_wait().context("waiting for QEMU")? {
            break Ending::from_status(status);
        }
        if start.elapsed() >= timeout {
            // Ignore "already exited": the race is harmless.
            let _ = child.kill();
            child.wait().context("waiting for the killed QEMU")?;
            break Ending::TimedOut(timeout);
        }
        thread::sleep(Duration::from_millis(10));
    };

    // The pipe reaches end-of-file once QEMU is gone, unless a process it
    // started still holds it: then keep what arrived so far and move on.
    match copier_finished.recv_timeout(Duration::from_secs(2)) {
        Ok(result) => result.context("reading QEMU's output")?,
        Err(_) => {
            eprintln!("qemu-runner: QEMU's output is still open after it ended; ignoring the rest")
        }
    }
    let output = std::mem::take(&mut *lock(&seen));
    Ok((ending, output))
}

/// Locks `m`, ignoring poisoning: the bytes are valid whatever happened.
fn lock(m: &Mutex<Vec<u8>>) -> MutexGuard<'_, Vec<u8>> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[OsString]) -> Vec<&str> {
        args.iter().map(|a| a.to_str().unwrap()).collect()
    }

    #[test]
    fn args_select_the_virt_board_with_el2_and_gicv2() {
        let args = args(Path::new("/tmp/demo.elf"), 1);
        let args = strings(&args);
        let machine = args.iter().position(|&a| a == "-machine").unwrap();
        assert_eq!(args[machine + 1], "virt,virtualization=on,gic-version=2");
        let cpu = args.iter().position(|&a| a == "-cpu").unwrap();
        assert_eq!(args[cpu + 1], "cortex-a57");
        assert!(args.contains(&"-semihosting"));
        assert!(args.contains(&"-nographic"));
        let smp = args.iter().position(|&a| a == "-smp").unwrap();
        assert_eq!(args[smp + 1], "1");
    }

    #[test]
    fn args_give_smp_cpus() {
        let args = args(Path::new("probe"), 4);
        let args = strings(&args);
        let smp = args.iter().position(|&a| a == "-smp").unwrap();
        assert_eq!(args[smp + 1], "4");
    }

    #[test]
    fn args_end_with_the_kernel() {
        let args = args(Path::new("/some where/demo"), 1);
        let args = strings(&args);
        assert_eq!(args[args.len() - 2..], ["-kernel", "/some where/demo"]);
    }

    #[test]
    fn args_route_the_uart_to_stdout_without_a_monitor() {
        let args = args(Path::new("demo"), 1);
        let joined = strings(&args).join(" ");
        assert!(joined.contains("-serial stdio"), "{joined}");
        assert!(joined.contains("-monitor none"), "{joined}");
        assert!(joined.contains("-nic none"), "{joined}");
    }

    /// A fresh directory under the system's temporary directory.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qemu-runner-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[cfg(unix)]
    fn make_file(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn find_takes_the_first_executable_on_path() {
        let root = temp_dir("find");
        let (a, b, c) = (root.join("a"), root.join("b"), root.join("c"));
        for d in [&a, &b, &c] {
            std::fs::create_dir_all(d).unwrap();
        }
        make_file(&b.join(QEMU_BINARY), 0o644); // not executable: skipped
        make_file(&c.join(QEMU_BINARY), 0o755);
        let path = std::env::join_paths([&a, &b, &c]).unwrap();
        assert_eq!(
            find(None, Some(&path)).unwrap(),
            c.join(QEMU_BINARY),
            "a has none, b's is not executable"
        );
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn find_without_qemu_names_the_debian_package() {
        let root = temp_dir("missing");
        let path = std::env::join_paths([&root]).unwrap();
        let message = format!("{:#}", find(None, Some(&path)).unwrap_err());
        assert!(message.contains("qemu-system-arm"), "{message}");
        assert!(message.contains("apt-get install"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
        std::fs::remove_dir_all(root).unwrap();
    }

    #[test]
    fn find_with_an_explicit_path_checks_it() {
        let root = temp_dir("explicit");
        assert!(find(Some(&root.join("nope")), None).is_err());
        std::fs::remove_dir_all(root).unwrap();
    }

    /// `sh -c script` with the QEMU arguments as `$@`: a stand-in for QEMU
    /// that needs no file (executing a file just written can fail with
    /// ETXTBSY while other test threads fork).
    #[cfg(unix)]
    fn sh(script: &str, qemu_args: &[OsString]) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec!["-c".into(), script.into(), "sh".into()];
        args.extend_from_slice(qemu_args);
        args
    }

    #[cfg(unix)]
    #[test]
    fn run_streams_output_and_returns_the_status() {
        let script = sh(r#"echo "args: $*"; exit 3"#, &args(Path::new("x.elf"), 1));
        let (ending, output) = run(
            Path::new("/bin/sh"),
            &script,
            Duration::from_secs(30),
            io::sink(),
        )
        .unwrap();
        assert_eq!(ending, Ending::Exited(3));
        let output = String::from_utf8(output).unwrap();
        assert!(output.contains("-kernel x.elf"), "{output}");
    }

    #[cfg(unix)]
    #[test]
    fn run_reports_a_signal() {
        let script = sh("kill -TERM $$", &[]);
        let (ending, _) = run(
            Path::new("/bin/sh"),
            &script,
            Duration::from_secs(30),
            io::sink(),
        )
        .unwrap();
        assert_eq!(ending, Ending::Signalled(Some(15)));
    }

    #[cfg(unix)]
    #[test]
    fn run_kills_qemu_at_the_time_limit() {
        // `sleep` in the background keeps the output pipe open after the
        // shell is killed: the runner must not wait for it.
        let script = sh("echo started; sleep 5 & exec sleep 30", &[]);
        let start = Instant::now();
        let limit = Duration::from_millis(300);
        let (ending, output) = run(Path::new("/bin/sh"), &script, limit, io::sink()).unwrap();
        assert_eq!(ending, Ending::TimedOut(limit));
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(output, b"started\n");
    }
}
