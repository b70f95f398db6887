//! `qemu-runner initramfs`: the Linux guest's initramfs, a gzipped newc
//! cpio archive built without root (the archive's headers say owner root
//! and hold the device node; nothing is created on the host's disk but the
//! output file).
//!
//! It holds a static arm64 busybox at `/bin/busybox`, symbolic links to it
//! for the applets [`INIT`] and a person at the shell use, the mount points
//! `/proc` and `/sys`, `/dev/console`, and `/init`: a shell script that
//! mounts /proc and /sys, prints [`MARKER`], the vCPU count and
//! `/proc/interrupts`, and powers the machine off with `poweroff -f` (the
//! `reboot(2)` power-off, which Linux performs with PSCI SYSTEM_OFF).

use std::io::{self, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use flate2::write::GzEncoder;
use flate2::Compression;

/// The line `/init` prints first: the guest reached its user space.
pub const MARKER: &str = "gic-toolkit: init reached";

/// The line `/init` prints just before it powers off.
pub const POWERING_OFF: &str = "gic-toolkit: powering off";

/// The guest's `/init`.
pub const INIT: &str = "#!/bin/sh
# gic-toolkit's Linux guest: show what the kernel made of its GIC, then off.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
echo 'gic-toolkit: init reached'
echo \"gic-toolkit: nproc $(nproc)\"
cat /proc/interrupts
echo 'gic-toolkit: powering off'
poweroff -f
";

/// The applets linked to `/bin/busybox`: what [`INIT`] runs, and a few more
/// for looking around.
pub const APPLETS: &[&str] = &[
    "cat", "dmesg", "echo", "grep", "halt", "head", "ls", "mkdir", "mount", "nproc", "poweroff",
    "ps", "reboot", "sh", "sleep", "uname", "umount",
];

/// The ELF machine number of AArch64 (`e_machine`).
const EM_AARCH64: u16 = 183;
/// The program header type of an interpreter request (a dynamic binary).
const PT_INTERP: u32 = 3;

/// Checks that `elf` is a 64-bit little-endian AArch64 executable without an
/// interpreter (statically linked), as the initramfs's only program must be.
pub fn check_busybox(elf: &[u8]) -> Result<(), String> {
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" {
        return Err("is not an ELF file".into());
    }
    if elf[4] != 2 || elf[5] != 1 {
        return Err("is not a 64-bit little-endian ELF file".into());
    }
    let u16_at = |at: usize| u16::from_le_bytes([elf[at], elf[at + 1]]);
    let machine = u16_at(0x12);
    if machine != EM_AARCH64 {
        return Err(format!(
            "is built for ELF machine {machine}, not AArch64 ({EM_AARCH64})"
        ));
    }
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().expect("8 bytes"));
    let phentsize = u64::from(u16_at(0x36));
    let phnum = u64::from(u16_at(0x38));
    for i in 0..phnum {
        let at = phoff.saturating_add(i.saturating_mul(phentsize));
        let Some(header) = usize::try_from(at)
            .ok()
            .and_then(|at| elf.get(at..at.checked_add(4)?))
        else {
            return Err("has program headers beyond its end".into());
        };
        if u32::from_le_bytes(header.try_into().expect("4 bytes")) == PT_INTERP {
            return Err(
                "is dynamically linked (it names an interpreter): use busybox-static's".into(),
            );
        }
    }
    Ok(())
}

/// One cpio entry's metadata: owner root, time 0, so that the same busybox
/// always gives the same archive.
fn entry(name: &str, ino: u32, mode: u32, nlink: u32) -> cpio::NewcBuilder {
    cpio::NewcBuilder::new(name)
        .ino(ino)
        .mode(mode)
        .uid(0)
        .gid(0)
        .nlink(nlink)
        .mtime(0)
}

/// Writes one entry with `data` as its contents.
fn put<W: Write>(out: W, builder: cpio::NewcBuilder, data: &[u8]) -> io::Result<W> {
    let size = u32::try_from(data.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "entry over 4 GiB"))?;
    let mut writer = builder.write(out, size);
    writer.write_all(data)?;
    writer.finish()
}

/// The initramfs as an uncompressed newc cpio archive.
pub fn archive(busybox: &[u8]) -> io::Result<Vec<u8>> {
    const DIR: u32 = 0o040_755;
    const EXECUTABLE: u32 = 0o100_755;
    const SYMLINK: u32 = 0o120_777;
    const CHAR_DEVICE: u32 = 0o020_600;
    let mut out = Vec::with_capacity(busybox.len() + 4096);
    let mut ino = 1..;
    let mut next = || ino.next().expect("unbounded");
    for dir in ["bin", "dev", "proc", "sys"] {
        out = put(out, entry(dir, next(), DIR, 2), &[])?;
    }
    // /dev/console, character device 5:1: the kernel opens it for init's
    // standard input and output.
    out = put(
        out,
        entry("dev/console", next(), CHAR_DEVICE, 1)
            .rdev_major(5)
            .rdev_minor(1),
        &[],
    )?;
    out = put(out, entry("bin/busybox", next(), EXECUTABLE, 1), busybox)?;
    for applet in APPLETS {
        let name = format!("bin/{applet}");
        out = put(out, entry(&name, next(), SYMLINK, 1), b"busybox")?;
    }
    out = put(out, entry("init", next(), EXECUTABLE, 1), INIT.as_bytes())?;
    cpio::newc::trailer(out)
}

/// The initramfs, gzipped (the form Debian's kernel unpacks).
pub fn gzipped(busybox: &[u8]) -> io::Result<Vec<u8>> {
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&archive(busybox)?)?;
    gz.finish()
}

/// Reads the busybox at `busybox`, checks it, and writes the gzipped
/// initramfs to `output`; returns the output's size.
pub fn build(busybox: &Path, output: &Path) -> Result<u64> {
    let elf = std::fs::read(busybox).with_context(|| {
        format!(
            "cannot read busybox at {}: give --busybox the bin/busybox of Debian's \
             busybox-static:arm64 (scripts/linux-assets fetches it)",
            busybox.display()
        )
    })?;
    if let Err(why) = check_busybox(&elf) {
        bail!(
            "{} {why}: the initramfs needs a static arm64 busybox (Debian's busybox-static:arm64)",
            busybox.display()
        );
    }
    let bytes = gzipped(&elf).context("building the cpio archive")?;
    // Write beside the output and rename, so a reader never sees half a file.
    let partial = output.with_extension("partial");
    std::fs::write(&partial, &bytes)
        .and_then(|()| std::fs::rename(&partial, output))
        .with_context(|| format!("cannot write {}", output.display()))?;
    Ok(bytes.len() as u64)
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// The smallest ELF header `check_busybox` accepts: 64-bit, little
    /// endian, AArch64, with `phnum` program headers of type `ptype` right
    /// after it.
    fn elf(machine: u16, ptypes: &[u32]) -> Vec<u8> {
        let mut e = vec![0u8; 64];
        e[..4].copy_from_slice(b"\x7fELF");
        e[4] = 2;
        e[5] = 1;
        e[0x12..0x14].copy_from_slice(&machine.to_le_bytes());
        e[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
        e[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        e[0x38..0x3a].copy_from_slice(&(ptypes.len() as u16).to_le_bytes());
        for &p in ptypes {
            let mut ph = vec![0u8; 56];
            ph[..4].copy_from_slice(&p.to_le_bytes());
            e.extend(ph);
        }
        e
    }

    #[test]
    fn only_a_static_aarch64_elf_is_taken_for_busybox() {
        assert_eq!(check_busybox(&elf(EM_AARCH64, &[1, 1, 4])), Ok(()));
        let dynamic = check_busybox(&elf(EM_AARCH64, &[6, PT_INTERP, 1])).unwrap_err();
        assert!(dynamic.contains("dynamically linked"), "{dynamic}");
        let x86 = check_busybox(&elf(62, &[1])).unwrap_err();
        assert!(x86.contains("machine 62, not AArch64"), "{x86}");
        assert!(check_busybox(b"#!/bin/sh\n").is_err());
        let mut elf32 = elf(EM_AARCH64, &[]);
        elf32[4] = 1;
        assert!(check_busybox(&elf32).unwrap_err().contains("64-bit"));
        let mut truncated = elf(EM_AARCH64, &[1, 1]);
        truncated.truncate(64 + 56);
        assert!(check_busybox(&truncated)
            .unwrap_err()
            .contains("beyond its end"));
    }

    /// One entry of an archive, read back.
    struct Item {
        name: String,
        mode: u32,
        rdev: (u32, u32),
        data: Vec<u8>,
    }

    /// Every entry of a newc archive.
    fn entries(mut archive: &[u8]) -> Vec<Item> {
        let mut all = Vec::new();
        loop {
            let mut reader = cpio::NewcReader::new(archive).unwrap();
            let e = reader.entry();
            if e.is_trailer() {
                return all;
            }
            assert_eq!((e.uid(), e.gid(), e.mtime()), (0, 0, 0), "{}", e.name());
            let mut item = Item {
                name: e.name().to_string(),
                mode: e.mode(),
                rdev: (e.rdev_major(), e.rdev_minor()),
                data: Vec::new(),
            };
            reader.read_to_end(&mut item.data).unwrap();
            all.push(item);
            archive = reader.finish().unwrap();
        }
    }

    #[test]
    fn the_archive_holds_busybox_its_applets_the_console_and_init() {
        let busybox = elf(EM_AARCH64, &[1]);
        let all = entries(&archive(&busybox).unwrap());
        let find = |name: &str| {
            all.iter()
                .find(|e| e.name == name)
                .unwrap_or_else(|| panic!("{name} missing"))
        };
        let bb = find("bin/busybox");
        assert_eq!((bb.mode, &bb.data), (0o100_755, &busybox));
        for applet in ["sh", "mount", "cat", "nproc", "poweroff"] {
            let link = find(&format!("bin/{applet}"));
            assert_eq!(
                (link.mode, link.data.as_slice()),
                (0o120_777, &b"busybox"[..])
            );
        }
        let console = find("dev/console");
        assert_eq!((console.mode, console.rdev), (0o020_600, (5, 1)));
        for dir in ["bin", "dev", "proc", "sys"] {
            assert_eq!(find(dir).mode, 0o040_755, "{dir}");
        }
        let init = find("init");
        assert_eq!(
            (init.mode, init.data.as_slice()),
            (0o100_755, INIT.as_bytes())
        );
        // Parents come before what they hold.
        let position = |name: &str| all.iter().position(|e| e.name == name).unwrap();
        assert!(position("bin") < position("bin/busybox"));
        assert!(position("dev") < position("dev/console"));
    }

    #[test]
    fn init_mounts_prints_the_marker_and_interrupts_and_powers_off() {
        let lines: Vec<&str> = INIT.lines().collect();
        assert_eq!(lines[0], "#!/bin/sh");
        let at = |what: &str| {
            lines
                .iter()
                .position(|l| l.contains(what))
                .unwrap_or_else(|| panic!("{what} missing from /init"))
        };
        assert!(at("mount -t proc proc /proc") < at(MARKER));
        assert!(at("mount -t sysfs sysfs /sys") < at(MARKER));
        assert!(at(MARKER) < at("cat /proc/interrupts"));
        assert!(at("nproc") < at("cat /proc/interrupts"));
        assert!(at("cat /proc/interrupts") < at(POWERING_OFF));
        assert_eq!(*lines.last().unwrap(), "poweroff -f");
        // Every command it runs is an applet in the archive.
        for command in ["mount", "echo", "nproc", "cat", "poweroff"] {
            assert!(APPLETS.contains(&command), "{command}");
        }
    }

    #[test]
    fn the_initramfs_is_gzip_and_the_same_busybox_gives_the_same_bytes() {
        let busybox = elf(EM_AARCH64, &[1]);
        let gz = gzipped(&busybox).unwrap();
        assert_eq!(gz[..2], [0x1f, 0x8b], "gzip magic");
        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(gz.as_slice())
            .read_to_end(&mut cpio)
            .unwrap();
        assert_eq!(cpio, archive(&busybox).unwrap());
        assert_eq!(gz, gzipped(&busybox).unwrap());
    }

    #[test]
    fn build_refuses_a_missing_or_wrong_busybox_naming_it() {
        let dir = std::env::temp_dir();
        let out = dir.join(format!("qemu-runner-initramfs-{}.gz", std::process::id()));
        let message = format!(
            "{:#}",
            build(Path::new("/nonexistent/busybox"), &out).unwrap_err()
        );
        assert!(message.contains("/nonexistent/busybox"), "{message}");
        assert!(message.contains("busybox-static"), "{message}");
        let script = dir.join(format!("qemu-runner-initramfs-{}.sh", std::process::id()));
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        let message = format!("{:#}", build(&script, &out).unwrap_err());
        assert!(message.contains("is not an ELF file"), "{message}");
        assert!(!out.exists());
        std::fs::write(&script, elf(EM_AARCH64, &[1])).unwrap();
        let size = build(&script, &out).unwrap();
        assert_eq!(std::fs::metadata(&out).unwrap().len(), size);
        std::fs::remove_file(script).unwrap();
        std::fs::remove_file(out).unwrap();
    }
}
