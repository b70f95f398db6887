//! Finding `qemu-system-aarch64`, building its command line, and running it
//! with live output and a time limit.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The QEMU binary looked up on `PATH` when none is given.
pub const QEMU_BINARY: &str = "qemu-system-aarch64";

/// The minimum QEMU version: the one the demo's behaviour is checked
/// against (Debian 12's `qemu-system-arm`), which also has everything the
/// command line uses (`virt` with `virtualization=on` and `gic-version=2`,
/// semihosting on a character device, the gdb stub).
pub const MIN_VERSION: Version = Version(7, 2, 0);

/// The Debian package that provides [`QEMU_BINARY`].
pub const DEBIAN_PACKAGE: &str = "qemu-system-arm";

/// The id of the character device that takes the semihosting console.
const LOG_CHARDEV: &str = "hvlog";

/// How to start QEMU, beyond the board itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Start halted with the gdb stub listening on this local TCP port.
    pub gdb: Option<u16>,
    /// Send the semihosting console (SYS_WRITEC, SYS_WRITE0: the
    /// hypervisor's defmt frames) to the Unix socket the runner listens on
    /// at this path, instead of QEMU's stderr.
    pub log_socket: Option<PathBuf>,
    /// RAM, in MiB (`-m`; `--memory`).
    pub memory_mib: u64,
    /// CPUs (`-smp`; `--smp`).
    pub smp: u32,
    /// More arguments, placed before `-kernel`: an external guest's
    /// loaders and `-append` (see [`crate::guest::Guest::qemu_args`]).
    pub extra: Vec<OsString>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gdb: None,
            log_socket: None,
            memory_mib: crate::guest::DEFAULT_MEMORY_MIB,
            smp: 1,
            extra: Vec::new(),
        }
    }
}

/// The board the demo is built for: QEMU's `virt` machine with EL2
/// (`virtualization=on`) and a GICv2, [`Options::smp`] Cortex-A57s and
/// [`Options::memory_mib`] MiB of RAM (`-smp`, `-m`).
///
/// * `-nographic -serial stdio -monitor none`: the PL011 UART is QEMU's
///   standard output and nothing else is; standard input is not read.
/// * `-nic none`: no default network card (whose option ROM Debian ships in
///   a separate package, and which the demo does not use).
/// * `-semihosting-config enable=on,target=native`: lets the demo end QEMU
///   with an exit status (SYS_EXIT), handled by QEMU itself even when gdb
///   is attached; with [`Options::log_socket`], `chardev=` and a
///   `-chardev socket` (QEMU connects, as a client) send the semihosting
///   console there: the hypervisor's log channel, kept apart from the
///   guest's UART and, unlike a file, delivered as it is written.
/// * `-kernel ELF`: QEMU loads the ELF's segments and starts the CPU at its
///   entry point, at EL2, with no firmware.
/// * with [`Options::gdb`]: `-S` (the CPU waits for the debugger) and
///   `-gdb tcp:127.0.0.1:PORT` (the stub, reachable from this machine only).
pub fn args(elf: &Path, options: &Options) -> Vec<OsString> {
    let mut args: Vec<OsString> = [
        "-machine",
        "virt,virtualization=on,gic-version=2",
        "-cpu",
        "cortex-a57",
        "-nographic",
        "-serial",
        "stdio",
        "-monitor",
        "none",
        "-nic",
        "none",
    ]
    .iter()
    .map(OsString::from)
    .collect();
    args.splice(
        4..4,
        [
            "-smp".into(),
            options.smp.to_string().into(),
            "-m".into(),
            format!("{}M", options.memory_mib).into(),
        ],
    );
    args.push("-semihosting-config".into());
    match &options.log_socket {
        Some(path) => {
            args.push(format!("enable=on,target=native,chardev={LOG_CHARDEV}").into());
            args.push("-chardev".into());
            let mut chardev = OsString::from(format!("socket,id={LOG_CHARDEV},path="));
            // QEMU's option syntax doubles a comma inside a value.
            chardev.push(path.to_string_lossy().replace(',', ",,"));
            args.push(chardev);
        }
        None => args.push("enable=on,target=native".into()),
    }
    if let Some(port) = options.gdb {
        args.push("-S".into());
        args.push("-gdb".into());
        args.push(format!("tcp:127.0.0.1:{port}").into());
    }
    args.extend(options.extra.iter().cloned());
    args.push("-kernel".into());
    args.push(elf.as_os_str().to_owned());
    args
}

/// `qemu args` as one line a shell accepts: arguments with characters a
/// shell treats specially are single-quoted.
pub fn command_line(qemu: &Path, args: &[OsString]) -> String {
    std::iter::once(qemu.as_os_str())
        .chain(args.iter().map(OsString::as_os_str))
        .map(|arg| shell_quote(&arg.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

fn shell_quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=,+@%".contains(c);
    if !arg.is_empty() && arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// What to tell the user once QEMU waits for a debugger on `port`.
pub fn gdb_instructions(elf: &Path, port: u16) -> String {
    format!(
        "QEMU is halted before the first instruction, its gdb stub on port {port}. \
         Attach from another terminal with:\n    \
         gdb-multiarch {} -ex 'target remote localhost:{port}'\n\
         (Debian package gdb-multiarch); `continue` starts the demo, and QEMU's exit ends the run.",
        shell_quote(&elf.to_string_lossy())
    )
}

/// A QEMU version: major, minor, micro.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// The version in the first line of `qemu-system-aarch64 --version`
/// ("QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18)").
pub fn parse_version(output: &str) -> Option<Version> {
    let line = output.lines().next()?;
    let rest = &line[line.find("version ")? + "version ".len()..];
    let number = rest
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()?;
    let mut parts = number.split('.').map(|p| p.parse::<u32>().ok());
    let major = parts.next()??;
    let minor = parts.next().flatten().unwrap_or(0);
    let micro = parts.next().flatten().unwrap_or(0);
    Some(Version(major, minor, micro))
}

/// Checks what `qemu --version` printed against [`MIN_VERSION`]. Output
/// without a version is let through (a build of one's own may print
/// something else); an older version is an error that names the package.
pub fn check_version(qemu: &Path, output: &str) -> Result<Option<Version>> {
    let Some(version) = parse_version(output) else {
        return Ok(None);
    };
    if version < MIN_VERSION {
        bail!(
            "{} is QEMU {version}, older than the {MIN_VERSION} this runner needs: \
             install a newer {QEMU_BINARY} (Debian 12 and later: apt-get install {DEBIAN_PACKAGE}) \
             or name one with --qemu PATH",
            qemu.display()
        );
    }
    Ok(Some(version))
}

/// Runs `qemu --version` and checks it with [`check_version`].
pub fn probe_version(qemu: &Path) -> Result<Option<Version>> {
    let output = Command::new(qemu)
        .arg("--version")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .with_context(|| {
            format!(
                "cannot run {} --version; {QEMU_BINARY} is in Debian's {DEBIAN_PACKAGE} package: \
                 apt-get install {DEBIAN_PACKAGE}",
                qemu.display()
            )
        })?;
    check_version(qemu, &String::from_utf8_lossy(&output.stdout))
}

/// The QEMU to run: `explicit` if given, else the first executable
/// [`QEMU_BINARY`] on `path` (the value of `PATH`).
pub fn find(explicit: Option<&Path>, path: Option<&OsStr>) -> Result<PathBuf> {
    if let Some(qemu) = explicit {
        if is_executable(qemu) {
            return Ok(qemu.to_owned());
        }
        bail!(
            "{} is not an executable file: point --qemu (or QEMU_SYSTEM_AARCH64) at \
             {QEMU_BINARY}, or leave it out to use the one on PATH",
            qemu.display()
        );
    }
    path.into_iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(QEMU_BINARY))
        .find(|candidate| is_executable(candidate))
        .with_context(|| {
            format!(
                "{QEMU_BINARY} not found on PATH: install Debian's {DEBIAN_PACKAGE} package \
                 (apt-get install {DEBIAN_PACKAGE}) or name the binary with --qemu PATH"
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

/// A second output of QEMU, read while it runs: a Unix socket the runner
/// listens on and QEMU connects to (the semihosting console's character
/// device).
pub struct SideChannel<'a> {
    /// Where to listen; nothing may exist there yet.
    pub path: &'a Path,
    /// Called with each chunk as it arrives, and with an empty slice every
    /// [`POLL`] when nothing did.
    pub on_bytes: &'a mut (dyn FnMut(&[u8]) + Send),
}

/// How long the side channel's reader waits for bytes before it reports
/// that nothing came (so held log lines can be released).
pub const POLL: Duration = Duration::from_millis(10);

/// How long the side channel may stay open after QEMU is gone.
const LINGER: Duration = Duration::from_secs(2);

/// Runs `qemu args`, handing its standard output (the UART) to `on_uart`
/// as it arrives, and the bytes QEMU writes to `side`'s file to its
/// callback, and kills it after `timeout` (if any). Returns how it ended,
/// once both outputs are read to their end.
pub fn run(
    qemu: &Path,
    args: &[OsString],
    timeout: Option<Duration>,
    mut on_uart: impl FnMut(&[u8]) + Send + 'static,
    side: Option<SideChannel<'_>>,
) -> Result<Ending> {
    let listener = match &side {
        Some(side) => Some(
            std::os::unix::net::UnixListener::bind(side.path)
                .with_context(|| format!("cannot listen on {}", side.path.display()))?,
        ),
        None => None,
    };
    let mut child = Command::new(qemu)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("cannot start {}", qemu.display()))?;

    let mut pipe = child.stdout.take().context("QEMU's standard output")?;
    let (done, copier_finished) = mpsc::channel::<io::Result<()>>();
    // Not scoped: a process QEMU started may keep the pipe open after QEMU
    // is gone, and then this thread is left behind.
    thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let result = loop {
            match pipe.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => on_uart(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            }
        };
        let _ = done.send(result);
    });

    let qemu_gone = AtomicBool::new(false);
    thread::scope(|scope| {
        let reader = side.zip(listener).map(|(side, listener)| {
            let qemu_gone = &qemu_gone;
            scope.spawn(move || follow(listener, side.on_bytes, qemu_gone))
        });
        let ending = wait(&mut child, timeout);
        qemu_gone.store(true, Ordering::Release);
        let side_result = reader.map(|r| r.join());
        let ending = ending?;
        if let Some(result) = side_result {
            match result {
                Ok(result) => result.context("reading QEMU's semihosting output")?,
                Err(_) => bail!("the semihosting output reader failed"),
            }
        }
        // The pipe reaches end-of-file once QEMU is gone, unless a process
        // it started still holds it: then keep what arrived and move on.
        match copier_finished.recv_timeout(Duration::from_secs(2)) {
            Ok(result) => result.context("reading QEMU's output")?,
            Err(_) => eprintln!(
                "qemu-runner: QEMU's output is still open after it ended; ignoring the rest"
            ),
        }
        Ok(ending)
    })
}

/// Waits for QEMU to exit, killing it at the time limit.
fn wait(child: &mut std::process::Child, timeout: Option<Duration>) -> Result<Ending> {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().context("waiting for QEMU")? {
            return Ok(Ending::from_status(status));
        }
        if let Some(limit) = timeout.filter(|&limit| start.elapsed() >= limit) {
            // Ignore "already exited": the race is harmless.
            let _ = child.kill();
            child.wait().context("waiting for the killed QEMU")?;
            return Ok(Ending::TimedOut(limit));
        }
        thread::sleep(Duration::from_millis(10));
    }
}

/// Takes QEMU's connection on `listener` and reads it to its end (QEMU
/// closes it when it exits), reporting idle [`POLL`]s as empty slices.
/// Returns when QEMU is gone and the stream ended, or QEMU is gone and
/// never connected, or [`LINGER`] after QEMU is gone whatever holds the
/// stream open.
fn follow(
    listener: std::os::unix::net::UnixListener,
    on_bytes: &mut (dyn FnMut(&[u8]) + Send),
    qemu_gone: &AtomicBool,
) -> io::Result<()> {
    let gone_since = |since: &mut Option<Instant>| {
        if qemu_gone.load(Ordering::Acquire) {
            since.get_or_insert_with(Instant::now);
        }
        since.is_some_and(|t| t.elapsed() >= LINGER)
    };
    let mut since = None;
    listener.set_nonblocking(true)?;
    let mut stream = loop {
        match listener.accept() {
            Ok((stream, _)) => break stream,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if qemu_gone.load(Ordering::Acquire) {
                    // One more try: QEMU may have connected just before exiting.
                    match listener.accept() {
                        Ok((stream, _)) => break stream,
                        Err(_) => return Ok(()),
                    }
                }
                on_bytes(&[]);
                thread::sleep(POLL);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    };
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(POLL))?;
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => on_bytes(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                on_bytes(&[]);
                if gone_since(&mut since) {
                    return Ok(());
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// A directory of the runner's own under the system's temporary
/// directory, removed with everything in it when dropped.
pub struct ScratchDir(PathBuf);

impl ScratchDir {
    /// Creates a fresh one.
    pub fn new() -> Result<Self> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("qemu-runner-{}-{nanos:08x}", std::process::id()));
        std::fs::create_dir(&dir)
            .with_context(|| format!("cannot create the directory {}", dir.display()))?;
        Ok(ScratchDir(dir))
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Locks `m`, ignoring poisoning: what it guards (bytes, the console)
/// stays usable whatever a panicking holder did.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    fn strings(args: &[OsString]) -> Vec<&str> {
        args.iter().map(|a| a.to_str().unwrap()).collect()
    }

    #[test]
    fn args_select_the_virt_board_with_el2_and_gicv2() {
        let args = args(Path::new("/tmp/demo.elf"), &Options::default());
        let args = strings(&args);
        let machine = args.iter().position(|&a| a == "-machine").unwrap();
        assert_eq!(args[machine + 1], "virt,virtualization=on,gic-version=2");
        let cpu = args.iter().position(|&a| a == "-cpu").unwrap();
        assert_eq!(args[cpu + 1], "cortex-a57");
        assert!(args.contains(&"-semihosting-config"));
        assert!(args.contains(&"-nographic"));
    }

    #[test]
    fn args_end_with_the_kernel() {
        let args = args(Path::new("/some where/demo"), &Options::default());
        let args = strings(&args);
        assert_eq!(args[args.len() - 2..], ["-kernel", "/some where/demo"]);
    }

    #[test]
    fn args_give_the_memory_and_cpus_asked_for_and_the_guest_before_the_kernel() {
        let plain = args(Path::new("demo"), &Options::default());
        let joined = strings(&plain).join(" ");
        assert!(joined.contains(" -smp 1 -m 512M "), "{joined}");
        let options = Options {
            memory_mib: 1024,
            smp: 2,
            extra: vec!["-append".into(), "guest=0x44200000,0x10 --".into()],
            ..Options::default()
        };
        let args = args(Path::new("hv.elf"), &options);
        let args = strings(&args);
        let joined = args.join(" ");
        assert!(joined.contains(" -smp 2 -m 1024M "), "{joined}");
        assert_eq!(
            args[args.len() - 4..],
            ["-append", "guest=0x44200000,0x10 --", "-kernel", "hv.elf"]
        );
    }

    #[test]
    fn args_route_the_uart_to_stdout_without_a_monitor() {
        let args = args(Path::new("demo"), &Options::default());
        let joined = strings(&args).join(" ");
        assert!(joined.contains("-serial stdio"), "{joined}");
        assert!(joined.contains("-monitor none"), "{joined}");
        assert!(joined.contains("-nic none"), "{joined}");
    }

    #[test]
    fn gdb_starts_halted_with_the_stub_on_the_loopback_port() {
        let options = Options {
            gdb: Some(4321),
            ..Options::default()
        };
        let args = args(Path::new("demo"), &options);
        let args = strings(&args);
        let gdb = args.iter().position(|&a| a == "-gdb").unwrap();
        assert_eq!(args[gdb + 1], "tcp:127.0.0.1:4321");
        assert!(args.contains(&"-S"));
        assert_eq!(args[args.len() - 2..], ["-kernel", "demo"]);
        let plain = args_without_gdb();
        assert!(!plain.iter().any(|a| a == "-S" || a == "-gdb"), "{plain:?}");
    }

    fn args_without_gdb() -> Vec<String> {
        args(Path::new("demo"), &Options::default())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn gdb_instructions_name_the_debugger_the_elf_and_the_port() {
        let text = gdb_instructions(Path::new("/t/hypervisor-demo"), 1234);
        assert!(text.contains("gdb-multiarch /t/hypervisor-demo"), "{text}");
        assert!(text.contains("target remote localhost:1234"), "{text}");
    }

    #[test]
    fn command_line_quotes_what_a_shell_would_split() {
        let args: Vec<OsString> = ["-kernel", "/some where/it's"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(
            command_line(Path::new("/usr/bin/qemu-system-aarch64"), &args),
            r"/usr/bin/qemu-system-aarch64 -kernel '/some where/it'\''s'"
        );
        let args = args_without_gdb();
        let line = command_line(
            Path::new("qemu-system-aarch64"),
            &args.iter().map(OsString::from).collect::<Vec<_>>(),
        );
        assert!(
            line.contains(" -machine virt,virtualization=on,gic-version=2 "),
            "{line}"
        );
    }

    #[test]
    fn parse_version_reads_the_first_line() {
        let debian = "QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\n\
                      Copyright (c) 2003-2022 Fabrice Bellard and the QEMU Project developers\n";
        assert_eq!(parse_version(debian), Some(Version(7, 2, 22)));
        assert_eq!(
            parse_version("QEMU emulator version 9.1.0\n"),
            Some(Version(9, 1, 0))
        );
        assert_eq!(
            parse_version("QEMU emulator version 8.0"),
            Some(Version(8, 0, 0))
        );
        assert_eq!(parse_version("something else"), None);
        assert_eq!(parse_version(""), None);
    }

    #[test]
    fn versions_older_than_the_minimum_are_refused_naming_the_debian_package() {
        let qemu = Path::new("/usr/bin/qemu-system-aarch64");
        let old = "QEMU emulator version 5.2.0 (Debian 1:5.2+dfsg-11+deb11u2)\n";
        let message = format!("{:#}", check_version(qemu, old).unwrap_err());
        assert!(message.contains("QEMU 5.2.0"), "{message}");
        assert!(message.contains("7.2.0"), "{message}");
        assert!(
            message.contains("apt-get install qemu-system-arm"),
            "{message}"
        );
        assert!(message.contains("--qemu"), "{message}");
        for ok in [
            "QEMU emulator version 7.2.0",
            "QEMU emulator version 10.0.2",
        ] {
            assert!(check_version(qemu, ok).unwrap().is_some(), "{ok}");
        }
        assert_eq!(check_version(qemu, "my own build").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn probe_version_of_a_missing_binary_names_the_debian_package() {
        let message = format!(
            "{:#}",
            probe_version(Path::new("/nonexistent/qemu-system-aarch64")).unwrap_err()
        );
        assert!(
            message.contains("apt-get install qemu-system-arm"),
            "{message}"
        );
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

    /// A UART sink that keeps what it is given.
    type Seen = Arc<Mutex<Vec<u8>>>;

    fn collector() -> (Seen, impl FnMut(&[u8]) + Send + 'static) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&seen);
        (seen, move |b: &[u8]| lock(&sink).extend_from_slice(b))
    }

    #[cfg(unix)]
    #[test]
    fn run_streams_output_and_returns_the_status() {
        let script = sh(
            r#"echo "args: $*"; exit 3"#,
            &args(Path::new("x.elf"), &Options::default()),
        );
        let (seen, uart) = collector();
        let ending = run(
            Path::new("/bin/sh"),
            &script,
            Some(Duration::from_secs(30)),
            uart,
            None,
        )
        .unwrap();
        assert_eq!(ending, Ending::Exited(3));
        let output = String::from_utf8(lock(&seen).clone()).unwrap();
        assert!(output.contains("-kernel x.elf"), "{output}");
    }

    #[cfg(unix)]
    #[test]
    fn run_reports_a_signal() {
        let script = sh("kill -TERM $$", &[]);
        let (_, uart) = collector();
        let ending = run(
            Path::new("/bin/sh"),
            &script,
            Some(Duration::from_secs(30)),
            uart,
            None,
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
        let (seen, uart) = collector();
        let ending = run(Path::new("/bin/sh"), &script, Some(limit), uart, None).unwrap();
        assert_eq!(ending, Ending::TimedOut(limit));
        assert!(start.elapsed() < Duration::from_secs(10));
        assert_eq!(*lock(&seen), b"started\n");
    }

    #[cfg(unix)]
    #[test]
    fn run_reads_the_side_channel_to_its_end_apart_from_the_uart() {
        use std::io::Write;
        let dir = ScratchDir::new().unwrap();
        let socket = dir.path().join("log.sock");
        // A stand-in for QEMU that prints on its stdout while "QEMU's"
        // semihosting console (a thread here) connects and writes in
        // pieces, the last just before the process exits.
        let script = sh("printf 'uart\\n'; sleep 0.5; exit 0", &[]);
        let client_socket = socket.clone();
        let client = thread::spawn(move || {
            let mut conn = loop {
                match std::os::unix::net::UnixStream::connect(&client_socket) {
                    Ok(conn) => break conn,
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            };
            conn.write_all(b"a\0b").unwrap();
            thread::sleep(Duration::from_millis(100));
            conn.write_all(b"cd").unwrap();
        });
        let (seen, uart) = collector();
        let mut side = Vec::new();
        let mut idle = 0;
        let mut on_bytes = |b: &[u8]| {
            if b.is_empty() {
                idle += 1;
            }
            side.extend_from_slice(b)
        };
        let ending = run(
            Path::new("/bin/sh"),
            &script,
            Some(Duration::from_secs(30)),
            uart,
            Some(SideChannel {
                path: &socket,
                on_bytes: &mut on_bytes,
            }),
        )
        .unwrap();
        client.join().unwrap();
        assert_eq!(ending, Ending::Exited(0));
        assert_eq!(side, b"a\0bcd");
        assert!(idle > 0, "idle ticks while nothing arrives");
        assert_eq!(*lock(&seen), b"uart\n");
        let path = dir.path().to_owned();
        drop(dir);
        assert!(!path.exists(), "the scratch directory is removed");
    }

    #[cfg(unix)]
    #[test]
    fn run_ends_when_qemu_never_connects_to_the_side_channel() {
        let dir = ScratchDir::new().unwrap();
        let socket = dir.path().join("log.sock");
        let script = sh("exit 7", &[]);
        let (_, uart) = collector();
        let mut on_bytes = |_: &[u8]| {};
        let start = Instant::now();
        let ending = run(
            Path::new("/bin/sh"),
            &script,
            Some(Duration::from_secs(30)),
            uart,
            Some(SideChannel {
                path: &socket,
                on_bytes: &mut on_bytes,
            }),
        )
        .unwrap();
        assert_eq!(ending, Ending::Exited(7));
        assert!(start.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn args_send_the_semihosting_console_to_the_log_socket() {
        let options = Options {
            log_socket: Some(PathBuf::from("/tmp/a,b/log.sock")),
            ..Options::default()
        };
        let args = args(Path::new("demo"), &options);
        let args = strings(&args);
        let config = args
            .iter()
            .position(|&a| a == "-semihosting-config")
            .unwrap();
        assert_eq!(args[config + 1], "enable=on,target=native,chardev=hvlog");
        let chardev = args.iter().position(|&a| a == "-chardev").unwrap();
        assert_eq!(args[chardev + 1], "socket,id=hvlog,path=/tmp/a,,b/log.sock");
        assert!(
            args.contains(&"-serial") && args.contains(&"stdio"),
            "the UART stays on stdout"
        );
        let plain = args_without_gdb();
        let config = plain
            .iter()
            .position(|a| a == "-semihosting-config")
            .unwrap();
        assert_eq!(plain[config + 1], "enable=on,target=native");
        assert!(!plain.iter().any(|a| a == "-chardev"));
    }
}
