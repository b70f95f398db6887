//! The runner's subcommands for the Linux guest: building its initramfs
//! (`qemu-runner initramfs`) and checking what it printed
//! (`qemu-runner check-linux`).

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use crate::{initramfs, linux_check};

/// A subcommand instead of a boot.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Tool {
    /// Build the Linux guest's initramfs (a gzipped newc cpio archive, no
    /// root needed) around a static arm64 busybox: /bin/busybox and its
    /// applet links, /dev/console, and an /init that mounts /proc and /sys,
    /// prints "gic-toolkit: init reached", the CPU count and
    /// /proc/interrupts, and powers off (PSCI SYSTEM_OFF).
    Initramfs {
        /// The static arm64 busybox (bin/busybox of Debian's
        /// busybox-static:arm64).
        #[arg(long, value_name = "FILE")]
        busybox: PathBuf,
        /// Where to write the initramfs.
        #[arg(long, short, value_name = "FILE")]
        output: PathBuf,
    },
    /// Check the console output of a boot of that initramfs: its init ran,
    /// /proc/interrupts lists the GIC's arch timer (INTID 27, count above
    /// zero) and UART (INTID 33), the kernel logged no GIC warning, and it
    /// powered off. Exits 0 when every check passes, 1 otherwise.
    CheckLinux {
        /// The output to check [default: standard input].
        #[arg(value_name = "LOG")]
        log: Option<PathBuf>,
        /// Also require `nproc` to have printed this number.
        #[arg(long, value_name = "N")]
        cpus: Option<u32>,
    },
}

/// Runs `tool`; returns the exit status.
pub fn run(tool: &Tool) -> Result<u8> {
    match tool {
        Tool::Initramfs { busybox, output } => {
            let size = initramfs::build(busybox, output)?;
            eprintln!(
                "qemu-runner: wrote {} ({size} bytes): busybox from {} and /init",
                output.display(),
                busybox.display()
            );
            Ok(0)
        }
        Tool::CheckLinux { log, cpus } => {
            let mut bytes = Vec::new();
            match log {
                Some(path) => {
                    bytes = std::fs::read(path)
                        .with_context(|| format!("cannot read {}", path.display()))?
                }
                None => {
                    std::io::stdin()
                        .read_to_end(&mut bytes)
                        .context("reading standard input")?;
                }
            }
            let report = linux_check::check(&String::from_utf8_lossy(&bytes), *cpus);
            for line in report.lines() {
                println!("{line}");
            }
            Ok(if report.passed() { 0 } else { 1 })
        }
    }
}
