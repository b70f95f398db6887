//! The external guest's kernel, where `qemu-runner` loaded it: an arm64
//! Linux `Image` or a raw binary, and the checks before it may run.
//!
//! An `Image` starts with a 64-byte header (Linux's
//! Documentation/arch/arm64/booting.rst): `text_offset` at 0x08 (the
//! offset from a 2 MiB-aligned base the image expects), `image_size` at
//! 0x10 (the memory it takes, its `.bss` included), `flags` at 0x18 (bit
//! 0: big-endian; bits 1-2: page size; bit 3: may be placed anywhere in
//! RAM), and the magic `ARM\x64` at 0x38, all little-endian. It is entered
//! at its first byte. A file without the magic is a raw binary, entered at
//! its first byte too, at the 2 MiB-aligned load base.
//!
//! The runner places the file at [`board::GUEST_LOAD_BASE`] (+ text_offset)
//! and the initrd after it; the hypervisor checks what it was told against
//! the guest's RAM, the device tree's 2 MiB at the start of it, and each
//! other, and refuses to start a guest that does not fit.

use core::fmt;

use crate::board;
use crate::dtb::Region;

/// The `Image` header's magic, "ARM\x64", read as a little-endian word.
const IMAGE_MAGIC: u32 = u32::from_le_bytes(*b"ARM\x64");
/// The header's size: a smaller file cannot be an `Image`.
const IMAGE_HEADER_SIZE: u64 = 64;
/// `flags` bit 0: the kernel is big-endian.
const FLAG_BIG_ENDIAN: u64 = 1 << 0;
/// The alignment of an `Image`'s base, and of a raw binary.
const LOAD_ALIGN: u64 = 2 << 20;

/// What the guest's kernel file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An arm64 Linux `Image`, with its header's fields.
    LinuxImage {
        /// Offset of the image from its 2 MiB-aligned base.
        text_offset: u64,
        /// Bytes of memory the image takes once running (0 in kernels
        /// before 3.17: the file's size is used).
        image_size: u64,
        /// The header's flags.
        flags: u64,
    },
    /// A raw binary, entered at its first byte.
    Raw,
}

/// The guest's kernel, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kernel {
    /// What the file is.
    pub format: Format,
    /// Where it starts running (PC at entry): its first byte.
    pub entry: u64,
    /// The memory it occupies once running.
    pub footprint: Region,
}

/// Why the guest cannot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// The kernel is not where an `Image` or raw binary must be (2 MiB
    /// aligned, plus text_offset for an `Image`).
    Misaligned(u64),
    /// A big-endian kernel: the vCPU runs little-endian.
    BigEndian,
    /// This region is not inside the guest's RAM.
    OutsideRam(&'static str, Region),
    /// These two overlap.
    Overlap(&'static str, &'static str),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Misaligned(a) => write!(
                f,
                "the kernel at {a:#x} is not at a 2 MiB-aligned base (+ text_offset), such as {:#x}",
                board::GUEST_LOAD_BASE
            ),
            LoadError::BigEndian => f.write_str("the kernel is big-endian"),
            LoadError::OutsideRam(what, r) => write!(
                f,
                "the {what} ({:#x}..{:#x}) is not inside the guest's RAM",
                r.base,
                r.end()
            ),
            LoadError::Overlap(a, b) => write!(f, "the {a} overlaps the {b}"),
        }
    }
}

/// Reads the header of the kernel file at `file` (in RAM, where the runner
/// loaded it) and checks that it, `initrd` and the device tree fit in
/// `ram` without overlapping.
pub fn inspect(file: Region, initrd: Option<Region>, ram: Region) -> Result<Kernel, LoadError> {
    if !inside(file, ram) {
        return Err(LoadError::OutsideRam("kernel file", file));
    }
    let format = read_format(file);
    let (base, size) = match format {
        Format::LinuxImage {
            text_offset,
            image_size,
            flags,
        } => {
            if flags & FLAG_BIG_ENDIAN != 0 {
                return Err(LoadError::BigEndian);
            }
            (
                file.base.wrapping_sub(text_offset),
                image_size.max(file.size),
            )
        }
        Format::Raw => (file.base, file.size),
    };
    if base % LOAD_ALIGN != 0 {
        return Err(LoadError::Misaligned(file.base));
    }
    let footprint = Region {
        base: file.base,
        size,
    };
    let dtb = Region {
        base: board::GUEST_DTB as u64,
        size: board::GUEST_DTB_SIZE as u64,
    };
    if !inside(footprint, ram) {
        return Err(LoadError::OutsideRam("kernel", footprint));
    }
    if overlap(footprint, dtb) {
        return Err(LoadError::Overlap("kernel", "device tree"));
    }
    if let Some(initrd) = initrd {
        if !inside(initrd, ram) {
            return Err(LoadError::OutsideRam("initrd", initrd));
        }
        if overlap(initrd, footprint) {
            return Err(LoadError::Overlap("initrd", "kernel"));
        }
        if overlap(initrd, dtb) {
            return Err(LoadError::Overlap("initrd", "device tree"));
        }
    }
    Ok(Kernel {
        format,
        entry: file.base,
        footprint,
    })
}

/// An `Image` if the file is large enough and has the magic, else raw.
fn read_format(file: Region) -> Format {
    if file.size < IMAGE_HEADER_SIZE {
        return Format::Raw;
    }
    let word = |offset: u64| -> u64 {
        // SAFETY: `file` lies inside the guest's RAM (checked by the
        // caller) and is at least a header long; the MMU is off, so these
        // are the physical addresses the runner loaded the file at, and
        // nothing else uses them yet. `read_unaligned`: the alignment is
        // checked only once the header is known.
        u64::from_le(unsafe { ((file.base + offset) as *const u64).read_unaligned() })
    };
    if word(0x38) as u32 != IMAGE_MAGIC {
        return Format::Raw;
    }
    Format::LinuxImage {
        text_offset: word(0x08),
        image_size: word(0x10),
        flags: word(0x18),
    }
}

fn inside(r: Region, ram: Region) -> bool {
    r.base >= ram.base && r.end() <= ram.end() && r.base <= r.end()
}

fn overlap(a: Region, b: Region) -> bool {
    a.base < b.end() && b.base < a.end()
}
