//! Booting an external guest (`--guest FILE [--initrd FILE]`): the arm64
//! Linux `Image` header, where the guest, its initrd and its device tree go
//! in guest RAM, and the QEMU arguments that put them there and tell the
//! hypervisor about them.
//!
//! The contract with the hypervisor (README, "Booting your own guest"):
//!
//! * RAM starts at [`RAM_BASE`]; its first 64 MiB (up to [`GUEST_RAM_BASE`])
//!   are the hypervisor's (QEMU's DTB, the hypervisor image, its stacks and
//!   tables); the rest, up to `RAM_BASE + --memory MiB`, is the guest's.
//! * The hypervisor writes the guest's DTB at [`GUEST_RAM_BASE`] (at most
//!   [`GUEST_DTB_MAX`]).
//! * The guest is loaded at `GUEST_LOAD` = [`GUEST_IMAGE_BASE`] +
//!   `text_offset` (0 for a raw binary) with `-device loader,...,force-raw=on`
//!   and entered there at EL1h with its MMU off and x0 = the DTB.
//! * The initrd is loaded at `align_up(GUEST_LOAD + max(image_size, file
//!   size), 2 MiB) + 2 MiB`.
//! * `-append "guest=<addr>,<size> [initrd=<addr>,<size>] -- [ARGS]"`: the
//!   hypervisor's arguments (hexadecimal with `0x`), then the guest's
//!   command line exactly as `--append` gave it.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

/// One mebibyte.
pub const MIB: u64 = 1 << 20;
/// The alignment of the guest's load base and of the initrd (2 MiB).
pub const ALIGN: u64 = 2 * MIB;
/// Where QEMU virt's RAM starts; QEMU's own DTB lies here.
pub const RAM_BASE: u64 = 0x4000_0000;
/// The first byte of RAM that belongs to the guest: below it, 64 MiB are
/// the hypervisor's.
pub const GUEST_RAM_BASE: u64 = 0x4400_0000;
/// The most the hypervisor's copy of the guest's DTB (at
/// [`GUEST_RAM_BASE`]) may take.
pub const GUEST_DTB_MAX: u64 = 2 * MIB;
/// The 2 MiB-aligned base the guest is loaded at (plus its `text_offset`).
pub const GUEST_IMAGE_BASE: u64 = GUEST_RAM_BASE + GUEST_DTB_MAX;
/// The default of `--memory`, in MiB.
pub const DEFAULT_MEMORY_MIB: u64 = 512;
/// The most `--memory` a guest can have, in MiB: the hypervisor's stage 2
/// covers a 32-bit IPA space, so RAM must end at 4 GiB at the latest.
pub const MAX_GUEST_MEMORY_MIB: u64 = ((1 << 32) - RAM_BASE) / MIB;

/// The offset of the arm64 Image header's magic number.
const MAGIC_OFFSET: usize = 0x38;
/// The magic number "ARM\x64".
const MAGIC: &[u8; 4] = b"ARM\x64";
/// The header's length: everything up to and including the PE offset.
pub const HEADER_LEN: usize = 0x40;

/// The fields of an arm64 Linux `Image` header that decide where it goes
/// (Linux's Documentation/arch/arm64/booting.rst; all little endian).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Bytes 0x08..0x10: how far above a 2 MiB-aligned base the image
    /// must be loaded.
    pub text_offset: u64,
    /// Bytes 0x10..0x18: the memory the image occupies once running
    /// (its BSS included), from its load address; 0 in kernels older than
    /// 3.17, which the file size then stands in for.
    pub image_size: u64,
    /// Bytes 0x18..0x20: bit 0 the kernel's endianness (1 = big), bits 1-2
    /// its page size (0 unspecified, 1 4K, 2 16K, 3 64K), bit 3 whether it
    /// may be placed anywhere in memory.
    pub flags: u64,
}

impl ImageHeader {
    /// Whether flags bit 0 says the kernel is big-endian.
    pub fn big_endian(&self) -> bool {
        self.flags & 1 != 0
    }

    /// The page size flags bits 1-2 name, in KiB (`None`: unspecified).
    pub fn page_size_kib(&self) -> Option<u32> {
        match (self.flags >> 1) & 3 {
            1 => Some(4),
            2 => Some(16),
            3 => Some(64),
            _ => None,
        }
    }
}

/// What kind of file `--guest` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuestKind {
    /// An arm64 Linux `Image` (the magic "ARM\x64" at 0x38).
    LinuxImage(ImageHeader),
    /// Anything else: a raw binary, loaded at [`GUEST_IMAGE_BASE`] and
    /// entered at its first byte.
    Raw,
}

impl GuestKind {
    /// Reads the kind from the first bytes of the file (up to
    /// [`HEADER_LEN`]; a shorter file is raw).
    pub fn from_header(bytes: &[u8]) -> Self {
        let Some(header) = bytes.get(..HEADER_LEN) else {
            return GuestKind::Raw;
        };
        if &header[MAGIC_OFFSET..MAGIC_OFFSET + 4] != MAGIC {
            return GuestKind::Raw;
        }
        let field = |at: usize| {
            let mut word = [0u8; 8];
            word.copy_from_slice(&header[at..at + 8]);
            u64::from_le_bytes(word)
        };
        GuestKind::LinuxImage(ImageHeader {
            text_offset: field(0x08),
            image_size: field(0x10),
            flags: field(0x18),
        })
    }

    /// The offset of the load address above [`GUEST_IMAGE_BASE`].
    pub fn text_offset(&self) -> u64 {
        match self {
            GuestKind::LinuxImage(h) => h.text_offset,
            GuestKind::Raw => 0,
        }
    }

    /// The memory the guest occupies from its load address: the larger of
    /// the header's `image_size` and the file's size.
    pub fn extent(&self, file_size: u64) -> u64 {
        match self {
            GuestKind::LinuxImage(h) => h.image_size.max(file_size),
            GuestKind::Raw => file_size,
        }
    }
}

impl fmt::Display for GuestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GuestKind::LinuxImage(h) => {
                write!(
                    f,
                    "arm64 Linux Image (text_offset {:#x}, image_size {:#x}, flags {:#x}: {}, ",
                    h.text_offset,
                    h.image_size,
                    h.flags,
                    if h.big_endian() {
                        "big-endian"
                    } else {
                        "little-endian"
                    },
                )?;
                match h.page_size_kib() {
                    Some(k) => write!(f, "{k}K pages)"),
                    None => write!(f, "page size unspecified)"),
                }
            }
            GuestKind::Raw => write!(
                f,
                "raw binary (no arm64 Image header), entered at its first byte"
            ),
        }
    }
}

/// A region of guest-physical memory that QEMU fills from a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The first byte.
    pub addr: u64,
    /// The file's size.
    pub size: u64,
}

/// Where everything of one guest boot lies in guest-physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// `--memory`, in MiB: RAM is `RAM_BASE .. RAM_BASE + memory_mib MiB`.
    pub memory_mib: u64,
    /// The guest file: `addr` is `GUEST_LOAD`, its entry point.
    pub guest: Region,
    /// The memory the guest occupies from `GUEST_LOAD` (its image_size, or
    /// its file size if larger).
    pub guest_extent: u64,
    /// The initrd file, with `--initrd`.
    pub initrd: Option<Region>,
}

impl Layout {
    /// The end (exclusive) of RAM, which is the end of the guest's RAM.
    pub fn ram_end(&self) -> u64 {
        ram_end(self.memory_mib)
    }
}

fn ram_end(memory_mib: u64) -> u64 {
    RAM_BASE.saturating_add(memory_mib.saturating_mul(MIB))
}

/// Why a guest cannot be placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutError {
    /// `--memory` leaves no RAM for the guest after the hypervisor's 64 MiB
    /// and the DTB.
    NoGuestRam {
        /// The `--memory` given.
        memory_mib: u64,
    },
    /// `--memory` puts the end of RAM beyond the 32-bit IPA space.
    BeyondIpaSpace {
        /// The `--memory` given.
        memory_mib: u64,
    },
    /// The guest (or its initrd) ends beyond RAM.
    DoesNotFit {
        /// "the guest" or "the initrd".
        what: &'static str,
        /// Where it would start.
        start: u64,
        /// Where it would end (exclusive).
        end: u64,
        /// The `--memory` given.
        memory_mib: u64,
        /// The smallest `--memory` with which it fits.
        needed_mib: u64,
    },
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LayoutError::NoGuestRam { memory_mib } => write!(
                f,
                "--memory {memory_mib} leaves the guest no RAM: the first 64 MiB \
                 ({RAM_BASE:#x}..{GUEST_RAM_BASE:#x}) are the hypervisor's and the guest's \
                 DTB takes 2 MiB after them; give --memory {} or more",
                (GUEST_IMAGE_BASE - RAM_BASE) / MIB + 1
            ),
            LayoutError::BeyondIpaSpace { memory_mib } => write!(
                f,
                "--memory {memory_mib} would end RAM at {:#x}, beyond the 4 GiB of the \
                 hypervisor's 32-bit IPA space: give --memory {MAX_GUEST_MEMORY_MIB} or less",
                ram_end(memory_mib)
            ),
            LayoutError::DoesNotFit {
                what,
                start,
                end,
                memory_mib,
                needed_mib,
            } => write!(
                f,
                "{what} does not fit: it would occupy {start:#x}..{end:#x}, but the guest's RAM \
                 with --memory {memory_mib} is {GUEST_RAM_BASE:#x}..{:#x}; give --memory \
                 {needed_mib} or more",
                ram_end(memory_mib)
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// Places a guest of `kind` whose file has `guest_size` bytes, and an
/// initrd of `initrd_size` bytes, in `memory_mib` MiB of RAM, by the
/// contract (see the module's documentation).
pub fn layout(
    kind: GuestKind,
    guest_size: u64,
    initrd_size: Option<u64>,
    memory_mib: u64,
) -> Result<Layout, LayoutError> {
    let end = ram_end(memory_mib);
    if end <= GUEST_IMAGE_BASE {
        return Err(LayoutError::NoGuestRam { memory_mib });
    }
    if memory_mib > MAX_GUEST_MEMORY_MIB {
        return Err(LayoutError::BeyondIpaSpace { memory_mib });
    }
    let needed_mib = |end: u64| (end - RAM_BASE).div_ceil(MIB);
    let guest_load = GUEST_IMAGE_BASE.saturating_add(kind.text_offset());
    let guest_extent = kind.extent(guest_size);
    let guest_end = guest_load.saturating_add(guest_extent);
    if guest_end > end {
        return Err(LayoutError::DoesNotFit {
            what: "the guest",
            start: guest_load,
            end: guest_end,
            memory_mib,
            needed_mib: needed_mib(guest_end),
        });
    }
    let initrd = match initrd_size {
        None => None,
        Some(size) => {
            let addr = guest_end
                .checked_next_multiple_of(ALIGN)
                .and_then(|a| a.checked_add(ALIGN))
                .unwrap_or(u64::MAX);
            let initrd_end = addr.saturating_add(size);
            if initrd_end > end || addr == u64::MAX {
                return Err(LayoutError::DoesNotFit {
                    what: "the initrd",
                    start: addr,
                    end: initrd_end,
                    memory_mib,
                    needed_mib: needed_mib(initrd_end),
                });
            }
            Some(Region { addr, size })
        }
    };
    Ok(Layout {
        memory_mib,
        guest: Region {
            addr: guest_load,
            size: guest_size,
        },
        guest_extent,
        initrd,
    })
}

/// The hypervisor's part of `-append`: `guest=<addr>,<size>` and, with an
/// initrd, `initrd=<addr>,<size>`.
pub fn hypervisor_args(layout: &Layout) -> String {
    let mut args = format!("guest={:#x},{:#x}", layout.guest.addr, layout.guest.size);
    if let Some(initrd) = layout.initrd {
        args.push_str(&format!(" initrd={:#x},{:#x}", initrd.addr, initrd.size));
    }
    args
}

/// The whole `-append` value: the hypervisor's arguments, `--`, and the
/// guest's command line exactly as given (nothing after `--` without one).
pub fn append(layout: &Layout, guest_args: Option<&str>) -> String {
    match guest_args {
        Some(args) if !args.is_empty() => format!("{} -- {args}", hypervisor_args(layout)),
        _ => format!("{} --", hypervisor_args(layout)),
    }
}

/// A path as a QEMU option value: commas doubled (QEMU's escape, since a
/// single comma separates properties).
fn option_value(path: &Path) -> Result<String> {
    let text = path.to_str().with_context(|| {
        format!(
            "{} is not valid UTF-8, which QEMU's -device option cannot carry: rename it",
            path.display()
        )
    })?;
    Ok(text.replace(',', ",,"))
}

/// `-device loader,file=FILE,addr=ADDR,force-raw=on`: QEMU copies the file
/// to guest-physical ADDR as it is (no ELF or U-Boot parsing) and does not
/// touch the CPU's registers.
pub fn loader_args(file: &Path, addr: u64) -> Result<[OsString; 2]> {
    Ok([
        "-device".into(),
        format!(
            "loader,file={},addr={addr:#x},force-raw=on",
            option_value(file)?
        )
        .into(),
    ])
}

/// A guest ready to boot: its files, their kind and layout, and the guest's
/// command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guest {
    /// The guest file (`--guest`).
    pub file: PathBuf,
    /// The initrd file (`--initrd`).
    pub initrd: Option<PathBuf>,
    /// What the guest file is.
    pub kind: GuestKind,
    /// Where it all goes.
    pub layout: Layout,
    /// The guest's command line (`--append`), as given.
    pub guest_args: Option<String>,
}

/// Opens `path` (the `what` file: "guest" or "initrd") and returns its size
/// and its first [`HEADER_LEN`] bytes (fewer for a shorter file), with an
/// error that names the path and says what to do.
fn inspect(what: &str, option: &str, path: &Path) -> Result<(u64, Vec<u8>)> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!(
                "the {what} file {} does not exist: check the path given to {option}",
                path.display()
            )
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => bail!(
            "cannot read the {what} file {}: {e}; check its permissions",
            path.display()
        ),
        Err(e) => bail!("cannot read the {what} file {}: {e}", path.display()),
    };
    let metadata = file
        .metadata()
        .with_context(|| format!("cannot read the {what} file {}", path.display()))?;
    if !metadata.is_file() {
        bail!(
            "the {what} file {} is not a regular file: give {option} a file",
            path.display()
        );
    }
    if metadata.len() == 0 {
        bail!(
            "the {what} file {} is empty: give {option} a kernel or binary",
            path.display()
        );
    }
    let mut head = Vec::with_capacity(HEADER_LEN);
    (&mut file)
        .take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| anyhow::anyhow!("cannot read the {what} file {}: {e}", path.display()))?;
    Ok((metadata.len(), head))
}

impl Guest {
    /// Checks the files (each error names the path), reads the guest's
    /// header and places both in `memory_mib` MiB of RAM.
    pub fn prepare(
        file: &Path,
        initrd: Option<&Path>,
        guest_args: Option<&str>,
        memory_mib: u64,
    ) -> Result<Self> {
        let (size, head) = inspect("guest", "--guest", file)?;
        let kind = GuestKind::from_header(&head);
        if let GuestKind::LinuxImage(header) = kind {
            if header.big_endian() {
                bail!(
                    "the guest file {} is a big-endian arm64 Image (flags {:#x}): the hypervisor \
                     enters guests little-endian; build the kernel little-endian",
                    file.display(),
                    header.flags
                );
            }
        }
        let initrd_size = match initrd {
            Some(path) => Some(inspect("initrd", "--initrd", path)?.0),
            None => None,
        };
        let layout = layout(kind, size, initrd_size, memory_mib)
            .map_err(|e| anyhow::anyhow!("cannot place {}: {e}", file.display()))?;
        Ok(Guest {
            file: file.to_owned(),
            initrd: initrd.map(Path::to_owned),
            kind,
            layout,
            guest_args: guest_args.map(str::to_owned),
        })
    }

    /// The QEMU arguments that load the guest (and initrd) and pass the
    /// `-append` line.
    pub fn qemu_args(&self) -> Result<Vec<OsString>> {
        let mut args: Vec<OsString> = loader_args(&self.file, self.layout.guest.addr)?.into();
        if let (Some(path), Some(region)) = (&self.initrd, self.layout.initrd) {
            args.extend(loader_args(path, region.addr)?);
        }
        args.push("-append".into());
        args.push(append(&self.layout, self.guest_args.as_deref()).into());
        Ok(args)
    }

    /// A few lines for `--verbose`: what the guest is and where it all goes.
    pub fn describe(&self) -> Vec<String> {
        let l = &self.layout;
        let mut lines = vec![
            format!("guest {}: {}", self.file.display(), self.kind),
            format!(
                "guest RAM {GUEST_RAM_BASE:#x}..{:#x} ({} MiB); its DTB at {GUEST_RAM_BASE:#x}",
                l.ram_end(),
                (l.ram_end() - GUEST_RAM_BASE) / MIB
            ),
            format!(
                "guest loaded at {:#x} ({:#x} bytes, occupies {:#x}..{:#x}), entered there",
                l.guest.addr,
                l.guest.size,
                l.guest.addr,
                l.guest.addr + l.guest_extent
            ),
        ];
        if let (Some(path), Some(r)) = (&self.initrd, l.initrd) {
            lines.push(format!(
                "initrd {} at {:#x}..{:#x}",
                path.display(),
                r.addr,
                r.addr + r.size
            ));
        }
        lines
    }
}

/// The runner's options for an external guest and for the board's size.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct BoardOptions {
    /// Boot this guest under the hypervisor: an arm64 Linux Image (loaded
    /// 2 MiB-aligned plus its text_offset) or a raw binary (entered at its
    /// first byte). Exit 0 when it powers off through PSCI SYSTEM_OFF.
    #[arg(long, value_name = "FILE", help_heading = "Guest")]
    pub guest: Option<PathBuf>,

    /// Load this initrd for the guest, 2 MiB past its image.
    #[arg(long, value_name = "FILE", requires = "guest", help_heading = "Guest")]
    pub initrd: Option<PathBuf>,

    /// The guest's command line, passed as given (e.g. 'console=ttyAMA0').
    #[arg(
        long,
        value_name = "ARGS",
        requires = "guest",
        allow_hyphen_values = true,
        help_heading = "Guest"
    )]
    pub append: Option<String>,

    /// CPUs on the board (GICv2 has at most 8).
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=8), help_heading = "Guest")]
    pub smp: u32,

    /// RAM in MiB; with --guest, all but the hypervisor's first 64 MiB is
    /// the guest's.
    #[arg(long, value_name = "MIB", default_value_t = DEFAULT_MEMORY_MIB,
          value_parser = clap::value_parser!(u64).range(1..), help_heading = "Guest")]
    pub memory: u64,
}

impl BoardOptions {
    /// With `--guest`: the guest, its files checked and placed.
    pub fn prepare(&self) -> Result<Option<Guest>> {
        self.guest
            .as_deref()
            .map(|file| {
                Guest::prepare(
                    file,
                    self.initrd.as_deref(),
                    self.append.as_deref(),
                    self.memory,
                )
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The first 64 bytes of Debian 12's linux-image-6.1.0-57-arm64
    /// `vmlinuz` (an EFI-stub Image): "MZ" and a branch, text_offset 0,
    /// image_size 0x2010000, flags 0xa (little-endian, 4K pages, anywhere),
    /// the magic at 0x38 and the PE header offset 0x40.
    const DEBIAN_HEADER: [u8; 64] = [
        0x4d, 0x5a, 0x40, 0xfa, 0x56, 0xa3, 0x59, 0x14, // code0 ("MZ"), code1
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // text_offset
        0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, // image_size
        0x0a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // flags
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // res2
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // res3
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // res4
        0x41, 0x52, 0x4d, 0x64, 0x40, 0x00, 0x00, 0x00, // magic, PE offset
    ];

    /// The Debian kernel file's size (32,956,352 bytes).
    const DEBIAN_FILE_SIZE: u64 = 0x1f6_dfc0;

    fn debian_kind() -> GuestKind {
        GuestKind::from_header(&DEBIAN_HEADER)
    }

    #[test]
    fn a_debian_image_header_is_read_little_endian() {
        let GuestKind::LinuxImage(header) = debian_kind() else {
            panic!("not recognised as an Image");
        };
        assert_eq!(header.text_offset, 0);
        assert_eq!(header.image_size, 0x0201_0000);
        assert_eq!(header.flags, 0xa);
        assert!(!header.big_endian());
        assert_eq!(header.page_size_kib(), Some(4));
    }

    #[test]
    fn the_header_fields_are_read_from_their_offsets() {
        let mut bytes = DEBIAN_HEADER;
        bytes[0x08..0x10].copy_from_slice(&0x8_0000u64.to_le_bytes());
        bytes[0x10..0x18].copy_from_slice(&0x1234_5678_9abc_def0u64.to_le_bytes());
        bytes[0x18..0x20].copy_from_slice(&0x7u64.to_le_bytes());
        assert_eq!(
            GuestKind::from_header(&bytes),
            GuestKind::LinuxImage(ImageHeader {
                text_offset: 0x8_0000,
                image_size: 0x1234_5678_9abc_def0,
                flags: 7,
            })
        );
        let GuestKind::LinuxImage(h) = GuestKind::from_header(&bytes) else {
            unreachable!()
        };
        assert!(h.big_endian());
        assert_eq!(h.page_size_kib(), Some(64));
    }

    #[test]
    fn a_file_without_the_magic_is_raw() {
        let mut bytes = DEBIAN_HEADER;
        bytes[0x3b] = 0x65; // "ARMe"
        assert_eq!(GuestKind::from_header(&bytes), GuestKind::Raw);
        // A raw binary: a few instructions, shorter than a header.
        assert_eq!(
            GuestKind::from_header(&[0x1f, 0x20, 0x03, 0xd5]),
            GuestKind::Raw
        );
        assert_eq!(GuestKind::from_header(&[]), GuestKind::Raw);
        // The magic elsewhere does not count.
        let mut shifted = [0u8; 64];
        shifted[0x30..0x34].copy_from_slice(b"ARM\x64");
        assert_eq!(GuestKind::from_header(&shifted), GuestKind::Raw);
    }

    #[test]
    fn a_debian_kernel_is_loaded_at_the_2mib_base_and_its_initrd_after_its_image_size() {
        let layout = layout(debian_kind(), DEBIAN_FILE_SIZE, Some(0x12_3456), 512).unwrap();
        assert_eq!(layout.guest.addr, 0x4420_0000);
        assert_eq!(layout.guest.size, DEBIAN_FILE_SIZE);
        // image_size (0x2010000) exceeds the file: it decides the extent.
        assert_eq!(layout.guest_extent, 0x0201_0000);
        // align_up(0x4421_0000 + ..., 2 MiB) = 0x4640_0000, plus 2 MiB.
        assert_eq!(
            layout.initrd,
            Some(Region {
                addr: 0x4660_0000,
                size: 0x12_3456
            })
        );
        assert_eq!(layout.ram_end(), 0x6000_0000);
    }

    #[test]
    fn text_offset_is_added_to_the_2mib_aligned_base() {
        let mut bytes = DEBIAN_HEADER;
        bytes[0x08..0x10].copy_from_slice(&0x8_0000u64.to_le_bytes());
        bytes[0x10..0x18].copy_from_slice(&0x10_0000u64.to_le_bytes());
        let kind = GuestKind::from_header(&bytes);
        let layout = layout(kind, 0x1000, Some(16), 512).unwrap();
        assert_eq!(layout.guest.addr, 0x4428_0000);
        assert_eq!(layout.guest.addr % ALIGN, 0x8_0000);
        // 0x4428_0000 + 1 MiB = 0x4438_0000 -> 0x4440_0000, + 2 MiB.
        assert_eq!(layout.initrd.unwrap().addr, 0x4460_0000);
    }

    #[test]
    fn the_file_size_counts_when_it_exceeds_image_size() {
        // Kernels before 3.17 have image_size 0.
        let mut bytes = DEBIAN_HEADER;
        bytes[0x10..0x18].copy_from_slice(&0u64.to_le_bytes());
        let layout = layout(GuestKind::from_header(&bytes), 0x40_0001, Some(1), 512).unwrap();
        assert_eq!(layout.guest_extent, 0x40_0001);
        // 0x4420_0000 + 0x40_0001 -> 0x4480_0000 (aligned up), + 2 MiB.
        assert_eq!(layout.initrd.unwrap().addr, 0x44a0_0000);
    }

    #[test]
    fn a_raw_binary_is_entered_at_the_base_and_its_size_is_the_file() {
        let layout = layout(GuestKind::Raw, 4096, None, 128).unwrap();
        assert_eq!(layout.guest.addr, GUEST_IMAGE_BASE);
        assert_eq!(layout.guest_extent, 4096);
        assert_eq!(layout.initrd, None);
        // Exactly 2 MiB: the initrd starts 2 MiB above the next boundary.
        let layout = layout_with_initrd(GuestKind::Raw, ALIGN);
        assert_eq!(layout.initrd.unwrap().addr, GUEST_IMAGE_BASE + 2 * ALIGN);
    }

    fn layout_with_initrd(kind: GuestKind, size: u64) -> Layout {
        layout(kind, size, Some(1), 512).unwrap()
    }

    #[test]
    fn every_address_is_where_the_contract_puts_it() {
        for (size, initrd) in [(1u64, 1u64), (ALIGN - 1, MIB), (ALIGN + 1, 3 * MIB)] {
            let l = layout(GuestKind::Raw, size, Some(initrd), 1024).unwrap();
            let r = l.initrd.unwrap();
            assert_eq!(r.addr % ALIGN, 0, "initrd 2 MiB aligned");
            assert!(
                r.addr >= l.guest.addr + l.guest_extent + ALIGN,
                "a 2 MiB gap"
            );
            assert!(r.addr < l.guest.addr + l.guest_extent + 2 * ALIGN);
            assert!(
                l.guest.addr >= GUEST_RAM_BASE + GUEST_DTB_MAX,
                "above the DTB"
            );
        }
    }

    #[test]
    fn a_guest_that_fills_ram_exactly_fits_and_one_byte_more_does_not() {
        // 128 MiB: guest RAM 0x4400_0000..0x4800_0000, image from 0x4420_0000.
        let room = 0x4800_0000 - GUEST_IMAGE_BASE;
        assert!(layout(GuestKind::Raw, room, None, 128).is_ok());
        let e = layout(GuestKind::Raw, room + 1, None, 128).unwrap_err();
        assert_eq!(
            e,
            LayoutError::DoesNotFit {
                what: "the guest",
                start: GUEST_IMAGE_BASE,
                end: 0x4800_0001,
                memory_mib: 128,
                needed_mib: 129,
            }
        );
    }

    #[test]
    fn an_initrd_that_does_not_fit_is_refused_naming_the_memory_it_needs() {
        // Debian's kernel ends at 0x4621_0000, the initrd starts at
        // 0x4660_0000; 100 MiB of RAM end at 0x4640_0000.
        let e = layout(debian_kind(), DEBIAN_FILE_SIZE, Some(8 * MIB), 100).unwrap_err();
        let text = e.to_string();
        assert!(text.starts_with("the initrd does not fit"), "{text}");
        assert!(text.contains("0x46600000..0x46e00000"), "{text}");
        assert!(
            text.contains("--memory 100 is 0x44000000..0x46400000"),
            "{text}"
        );
        assert!(text.contains("give --memory 110 or more"), "{text}");
        // The same with what it asks for fits.
        assert!(layout(debian_kind(), DEBIAN_FILE_SIZE, Some(8 * MIB), 110).is_ok());
    }

    #[test]
    fn the_image_size_not_the_file_size_decides_whether_a_kernel_fits() {
        // 0x4420_0000 + 0x201_0000 = 0x4621_0000: 99 MiB of RAM end at
        // 0x4630_0000, 98 MiB at 0x4620_0000.
        assert!(layout(debian_kind(), DEBIAN_FILE_SIZE, None, 99).is_ok());
        let e = layout(debian_kind(), DEBIAN_FILE_SIZE, None, 98).unwrap_err();
        assert!(matches!(
            e,
            LayoutError::DoesNotFit {
                what: "the guest",
                end: 0x4621_0000,
                needed_mib: 99,
                ..
            }
        ));
    }

    #[test]
    fn memory_that_leaves_the_guest_nothing_is_refused() {
        for memory in [0, 64, 66] {
            let e = layout(GuestKind::Raw, 1, None, memory).unwrap_err();
            assert_eq!(e, LayoutError::NoGuestRam { memory_mib: memory });
            assert!(e.to_string().contains("give --memory 67 or more"), "{e}");
        }
        assert!(layout(GuestKind::Raw, 1, None, 67).is_ok());
        // Absurd sizes do not overflow.
        assert!(layout(GuestKind::Raw, u64::MAX, Some(u64::MAX), u64::MAX).is_err());
        assert!(layout(GuestKind::Raw, u64::MAX, Some(u64::MAX), 3072).is_err());
        assert!(layout(GuestKind::Raw, 1 << 30, Some(u64::MAX), 3072).is_err());
    }

    #[test]
    fn memory_beyond_the_32_bit_ipa_space_is_refused() {
        assert_eq!(MAX_GUEST_MEMORY_MIB, 3072);
        let l = layout(GuestKind::Raw, 1, Some(1), 3072).unwrap();
        assert_eq!(l.ram_end(), 1 << 32);
        let e = layout(GuestKind::Raw, 1, None, 3073).unwrap_err();
        assert_eq!(e, LayoutError::BeyondIpaSpace { memory_mib: 3073 });
        let text = e.to_string();
        assert!(text.contains("end RAM at 0x100100000"), "{text}");
        assert!(text.contains("give --memory 3072 or less"), "{text}");
    }

    #[test]
    fn append_passes_the_layout_in_hex_then_the_guest_args_as_given() {
        let l = layout(debian_kind(), DEBIAN_FILE_SIZE, Some(0x9_a000), 512).unwrap();
        assert_eq!(
            append(&l, Some("console=ttyAMA0 panic=-1")),
            "guest=0x44200000,0x1f6dfc0 initrd=0x46600000,0x9a000 -- console=ttyAMA0 panic=-1"
        );
        let l = layout(GuestKind::Raw, 0x100, None, 512).unwrap();
        assert_eq!(append(&l, None), "guest=0x44200000,0x100 --");
        assert_eq!(append(&l, Some("")), "guest=0x44200000,0x100 --");
        assert_eq!(
            append(&l, Some("a  -- b")),
            "guest=0x44200000,0x100 -- a  -- b",
            "exactly what the user gave"
        );
    }

    #[test]
    fn loader_args_load_the_file_raw_and_escape_commas() {
        let [device, value] = loader_args(Path::new("/cache/Image"), 0x4420_0000).unwrap();
        assert_eq!(device, "-device");
        assert_eq!(
            value,
            "loader,file=/cache/Image,addr=0x44200000,force-raw=on"
        );
        let [_, value] = loader_args(Path::new("/a,b/initrd.gz"), 0x4660_0000).unwrap();
        assert_eq!(
            value,
            "loader,file=/a,,b/initrd.gz,addr=0x46600000,force-raw=on"
        );
    }

    /// A fresh file under the system's temporary directory.
    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("qemu-runner-guest-{}-{name}", std::process::id()));
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn prepare_builds_the_loader_and_append_arguments() {
        let mut kernel = DEBIAN_HEADER.to_vec();
        kernel.resize(0x10_0000, 0);
        let kernel_path = temp_file("Image", &kernel);
        let initrd_path = temp_file("initrd.gz", &[0x1f, 0x8b, 8, 0]);
        let guest = Guest::prepare(
            &kernel_path,
            Some(&initrd_path),
            Some("console=ttyAMA0"),
            512,
        )
        .unwrap();
        let args: Vec<String> = guest
            .qemu_args()
            .unwrap()
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect();
        assert_eq!(
            args,
            [
                "-device".to_string(),
                format!(
                    "loader,file={},addr=0x44200000,force-raw=on",
                    kernel_path.display()
                ),
                "-device".to_string(),
                format!(
                    "loader,file={},addr=0x46600000,force-raw=on",
                    initrd_path.display()
                ),
                "-append".to_string(),
                "guest=0x44200000,0x100000 initrd=0x46600000,0x4 -- console=ttyAMA0".to_string(),
            ]
        );
        let described = guest.describe().join("\n");
        assert!(
            described.contains("arm64 Linux Image (text_offset 0x0"),
            "{described}"
        );
        assert!(described.contains("its DTB at 0x44000000"), "{described}");
        std::fs::remove_file(kernel_path).unwrap();
        std::fs::remove_file(initrd_path).unwrap();
    }

    fn prepare_error(file: &Path, initrd: Option<&Path>, memory: u64) -> String {
        format!(
            "{:#}",
            Guest::prepare(file, initrd, None, memory).unwrap_err()
        )
    }

    #[test]
    fn a_missing_guest_or_initrd_is_named() {
        let message = prepare_error(Path::new("/nonexistent/Image"), None, 512);
        assert_eq!(
            message,
            "the guest file /nonexistent/Image does not exist: check the path given to --guest"
        );
        let kernel = temp_file("present", b"\x00\x00\x00\x14");
        let message = prepare_error(&kernel, Some(Path::new("/nonexistent/initrd.gz")), 512);
        assert_eq!(
            message,
            "the initrd file /nonexistent/initrd.gz does not exist: check the path given to --initrd"
        );
        std::fs::remove_file(kernel).unwrap();
    }

    #[test]
    fn a_directory_or_an_empty_file_is_refused() {
        let dir = std::env::temp_dir();
        let message = prepare_error(&dir, None, 512);
        assert!(message.contains("is not a regular file"), "{message}");
        let empty = temp_file("empty", b"");
        let message = prepare_error(&empty, None, 512);
        assert!(message.contains("is empty"), "{message}");
        std::fs::remove_file(empty).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_unreadable_guest_or_initrd_is_refused_naming_it() {
        use std::os::unix::fs::PermissionsExt;
        // Below a plain file (ENOTDIR): unreadable for root too.
        let plain = temp_file("plain", b"\x00\x00\x00\x14");
        let below = plain.join("Image");
        let message = prepare_error(&below, None, 512);
        assert!(
            message.starts_with(&format!("cannot read the guest file {}: ", below.display())),
            "{message}"
        );
        let message = prepare_error(&plain, Some(&below), 512);
        assert!(
            message.starts_with(&format!(
                "cannot read the initrd file {}: ",
                below.display()
            )),
            "{message}"
        );
        // No read permission (root reads it anyway: then nothing to check).
        let path = temp_file("unreadable", b"\x00\x00\x00\x14");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        if std::fs::File::open(&path).is_err() {
            let message = prepare_error(&path, None, 512);
            assert!(message.contains("check its permissions"), "{message}");
        }
        std::fs::remove_file(path).unwrap();
        std::fs::remove_file(plain).unwrap();
    }

    #[test]
    fn a_guest_too_big_for_memory_is_refused_naming_it_and_the_memory_needed() {
        let mut kernel = DEBIAN_HEADER.to_vec();
        kernel.resize(4096, 0);
        let path = temp_file("big-image", &kernel);
        // image_size 0x201_0000 from 0x4420_0000 needs 99 MiB.
        let message = prepare_error(&path, None, 80);
        assert!(
            message.starts_with(&format!("cannot place {}", path.display())),
            "{message}"
        );
        assert!(message.contains("the guest does not fit"), "{message}");
        assert!(message.contains("give --memory 99 or more"), "{message}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn a_big_endian_image_is_refused() {
        let mut kernel = DEBIAN_HEADER.to_vec();
        kernel[0x18] = 0xb;
        let path = temp_file("be-image", &kernel);
        let message = prepare_error(&path, None, 512);
        assert!(message.contains("big-endian"), "{message}");
        std::fs::remove_file(path).unwrap();
    }
}
