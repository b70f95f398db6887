//! The device trees: the one QEMU writes for the board, read with the
//! `fdt` crate, and the one the hypervisor writes for an external guest,
//! derived from it with `vm-fdt` (see [`heap`](crate::heap) for why that
//! needs an allocator).
//!
//! QEMU passes an ELF kernel no device-tree pointer, but writes its tree at
//! the start of RAM ([`board::RAM_BASE`]) when the ELF starts at or above
//! 0x4020_0000, which is why the hypervisor is linked there. From it the
//! hypervisor reads `/chosen/bootargs` (its own arguments and the guest's,
//! [`cmdline`](crate::cmdline)), the RAM (`/memory`) and its CPU's `reg`.
//!
//! The guest's tree ([`write_guest_tree`]) is QEMU's with what the guest may
//! use, as the hypervisor presents it:
//!
//! | node | in the guest's tree |
//! |---|---|
//! | `/memory` | one node: the guest's RAM only, never the hypervisor's |
//! | `/psci` | PSCI 1.0 (`arm,psci-1.0`, `arm,psci-0.2`) on the `hvc` conduit ([`psci`](crate::psci)) |
//! | `/cpus` | the vCPU's node only (`enable-method = "psci"`), no `cpu-map` |
//! | `/chosen` | the guest's `bootargs`, `linux,initrd-start`/`-end` when there is an initrd; QEMU's `stdout-path` and seeds |
//! | the GIC | `reg` = GICD (4 KiB, trapped to the vGIC) and GICC (8 KiB, stage 2 maps it onto GICV); no maintenance interrupt, no GICv2m child |
//! | removed | virtio-mmio transports, the PCIe host (its ECAM is beyond the 32-bit IPA space), fw-cfg, flash, the PL061 GPIO and gpio-keys, the PL031 RTC, the platform bus |
//! | kept as is | the PL011 (passed through), the timer, the PMU (their PPIs forwarded), the APB clock |

use alloc::vec::Vec;
use core::fmt;

use fdt::node::FdtNode;
use fdt::Fdt;
use gic_driver::regs::{gicc, gicd};
use vm_fdt::FdtWriter;

use crate::board;

/// The device-tree header's magic number (big-endian in memory).
const FDT_MAGIC: u32 = 0xD00D_FEED;

/// Why a device tree could not be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// No device tree at the start of RAM (the ELF was linked below
    /// 0x4020_0000, or QEMU did not write one).
    Missing,
    /// QEMU's tree is not valid (`fdt` refused it).
    Invalid,
    /// The tree has no memory node.
    NoMemory,
    /// `vm-fdt` refused to write the guest's tree.
    Write,
    /// The guest's tree is larger than [`board::GUEST_DTB_SIZE`].
    TooLarge(usize),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Missing => write!(f, "no device tree at {:#x}", board::RAM_BASE),
            Error::Invalid => f.write_str("QEMU's device tree is not valid"),
            Error::NoMemory => f.write_str("the device tree has no memory node"),
            Error::Write => f.write_str("the guest's device tree could not be written"),
            Error::TooLarge(n) => write!(f, "the guest's device tree takes {n} bytes"),
        }
    }
}

/// QEMU's device tree at the start of RAM.
pub fn qemu_tree() -> Result<Fdt<'static>, Error> {
    let base = board::RAM_BASE as *const u32;
    // SAFETY: RAM_BASE is RAM (the MMU is off: the address is physical);
    // the first 1 MiB is QEMU's device tree or unused, and nothing writes
    // it. Reading the two header words is always in bounds.
    let (magic, size) = unsafe {
        (
            u32::from_be(base.read_volatile()),
            u32::from_be(base.add(1).read_volatile()) as usize,
        )
    };
    if magic != FDT_MAGIC {
        return Err(Error::Missing);
    }
    if size > board::QEMU_DTB_SIZE {
        return Err(Error::Invalid);
    }
    // SAFETY: the header says the tree takes `size` bytes, at most the
    // 1 MiB below the hypervisor's image that QEMU reserves for it, and no
    // one writes that memory for the rest of the run.
    let bytes = unsafe { core::slice::from_raw_parts(base.cast::<u8>(), size) };
    Fdt::new(bytes).map_err(|_| Error::Invalid)
}

/// `/chosen/bootargs` (QEMU's `-append`), empty when there is none.
pub fn bootargs<'a>(tree: &Fdt<'a>) -> &'a str {
    tree.find_node("/chosen")
        .and_then(|c| c.property("bootargs"))
        .and_then(|p| p.as_str())
        .unwrap_or("")
}

/// A range of physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The first address.
    pub base: u64,
    /// Bytes.
    pub size: u64,
}

impl Region {
    /// One past the last address.
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// The RAM: the first `reg` entry of the first memory node.
pub fn ram(tree: &Fdt) -> Result<Region, Error> {
    tree.all_nodes()
        .find(|n| {
            n.property("device_type")
                .and_then(|p| p.as_str())
                .is_some_and(|t| t == "memory")
        })
        .and_then(|n| n.reg())
        .and_then(|mut r| r.next())
        .and_then(|r| {
            Some(Region {
                base: r.starting_address as u64,
                size: r.size? as u64,
            })
        })
        .ok_or(Error::NoMemory)
}

/// The `reg` of the first CPU node (its MPIDR affinity), 0 if none says.
pub fn boot_cpu_mpidr(tree: &Fdt) -> u64 {
    tree.find_node("/cpus")
        .and_then(|cpus| {
            cpus.children()
                .find(|c| c.name.starts_with("cpu@"))
                .and_then(|c| c.property("reg"))
                .and_then(|p| p.as_usize())
        })
        .unwrap_or(0) as u64
}

/// What the guest's tree says beyond QEMU's.
pub struct GuestTree<'a> {
    /// The guest's RAM (the memory node).
    pub ram: Region,
    /// The vCPU's MPIDR affinity (its cpu node's `reg`).
    pub vcpu_mpidr: u64,
    /// `/chosen/bootargs`.
    pub bootargs: &'a str,
    /// `/chosen/linux,initrd-start` and `-end`.
    pub initrd: Option<Region>,
}

/// Nodes (by a `compatible` string) the guest cannot use: no device
/// behind them in its stage 2, or beyond its IPA space.
const REMOVED: &[&str] = &[
    "virtio,mmio",
    "pci-host-ecam-generic",
    "arm,gic-v2m-frame",
    "qemu,fw-cfg-mmio",
    "cfi-flash",
    "arm,pl061",
    "gpio-keys",
    "arm,pl031",
    "qemu,platform",
];

/// `compatible` strings of a GICv2 node.
const GIC: &[&str] = &["arm,cortex-a15-gic", "arm,gic-400", "arm,cortex-a9-gic"];

/// Writes the guest's device tree (see the [module docs](self)) from
/// QEMU's `tree` into `out`; returns its size.
pub fn write_guest_tree(tree: &Fdt, guest: &GuestTree, out: &mut [u8]) -> Result<usize, Error> {
    let blob = build(tree, guest).map_err(|_| Error::Write)?;
    let dst = out
        .get_mut(..blob.len())
        .ok_or(Error::TooLarge(blob.len()))?;
    dst.copy_from_slice(&blob);
    Ok(blob.len())
}

/// The root's `#address-cells` and `#size-cells`.
#[derive(Clone, Copy)]
struct Cells {
    address: usize,
    size: usize,
}

fn build(tree: &Fdt, guest: &GuestTree) -> Result<Vec<u8>, vm_fdt::Error> {
    let root = tree.find_node("/").ok_or(vm_fdt::Error::InvalidNodeName)?;
    let sizes = root.cell_sizes();
    let cells = Cells {
        address: sizes.address_cells,
        size: sizes.size_cells,
    };
    let mut w = FdtWriter::new()?;
    w.set_boot_cpuid_phys(guest.vcpu_mpidr as u32);
    let top = w.begin_node("")?;
    for p in root.properties() {
        w.property(p.name, p.value)?;
    }
    let mut memory_written = false;
    for node in root.children() {
        match node_kind(node) {
            Kind::Removed => {}
            Kind::Memory => {
                if !memory_written {
                    memory_node(&mut w, guest.ram, cells)?;
                    memory_written = true;
                }
            }
            Kind::Psci => psci_node(&mut w)?,
            Kind::Cpus => cpus_node(&mut w, node, guest.vcpu_mpidr)?,
            Kind::Chosen => chosen_node(&mut w, node, guest)?,
            Kind::Gic => gic_node(&mut w, node, cells)?,
            Kind::Copied => copy_node(&mut w, node)?,
        }
    }
    if !memory_written {
        memory_node(&mut w, guest.ram, cells)?;
    }
    w.end_node(top)?;
    w.finish()
}

/// What becomes of a node of QEMU's root in the guest's tree.
enum Kind {
    Removed,
    Memory,
    Psci,
    Cpus,
    Chosen,
    Gic,
    Copied,
}

fn node_kind(node: FdtNode) -> Kind {
    let base_name = node.name.split('@').next().unwrap_or("");
    let compatible = |list: &[&str]| {
        node.compatible()
            .is_some_and(|c| c.all().any(|s| list.contains(&s)))
    };
    let device_type = node.property("device_type").and_then(|p| p.as_str());
    if device_type == Some("memory") {
        Kind::Memory
    } else if base_name == "psci" {
        Kind::Psci
    } else if base_name == "cpus" {
        Kind::Cpus
    } else if base_name == "chosen" {
        Kind::Chosen
    } else if compatible(GIC) {
        Kind::Gic
    } else if compatible(REMOVED) {
        Kind::Removed
    } else {
        Kind::Copied
    }
}

/// Copies `node` and everything below it, except removed nodes.
fn copy_node(w: &mut FdtWriter, node: FdtNode) -> Result<(), vm_fdt::Error> {
    let n = w.begin_node(node.name)?;
    for p in node.properties() {
        w.property(p.name, p.value)?;
    }
    for child in node.children() {
        if !matches!(node_kind(child), Kind::Removed) {
            copy_node(w, child)?;
        }
    }
    w.end_node(n)
}

/// `reg` cells for `regions` with the root's cell sizes.
fn reg(regions: &[(u64, u64)], cells: Cells) -> Vec<u8> {
    let mut v = Vec::new();
    for &(base, size) in regions {
        for (value, n) in [(base, cells.address), (size, cells.size)] {
            for i in (0..n).rev() {
                let cell = if i >= 2 {
                    0
                } else {
                    (value >> (32 * i)) as u32
                };
                v.extend_from_slice(&cell.to_be_bytes());
            }
        }
    }
    v
}

fn memory_node(w: &mut FdtWriter, ram: Region, cells: Cells) -> Result<(), vm_fdt::Error> {
    let mut name = heapless::String::<32>::new();
    // 32 bytes hold "memory@" and 16 hex digits.
    let _ = fmt::write(&mut name, format_args!("memory@{:x}", ram.base));
    let n = w.begin_node(&name)?;
    w.property_string("device_type", "memory")?;
    w.property("reg", &reg(&[(ram.base, ram.size)], cells))?;
    w.end_node(n)
}

fn psci_node(w: &mut FdtWriter) -> Result<(), vm_fdt::Error> {
    let n = w.begin_node("psci")?;
    w.property("compatible", b"arm,psci-1.0\0arm,psci-0.2\0")?;
    w.property_string("method", "hvc")?;
    w.end_node(n)
}

fn cpus_node(w: &mut FdtWriter, node: FdtNode, vcpu_mpidr: u64) -> Result<(), vm_fdt::Error> {
    let n = w.begin_node(node.name)?;
    for p in node.properties() {
        w.property(p.name, p.value)?;
    }
    for cpu in node.children() {
        let is_cpu = cpu.property("device_type").and_then(|p| p.as_str()) == Some("cpu");
        let reg = cpu.property("reg").and_then(|p| p.as_usize());
        if !is_cpu || reg != Some(vcpu_mpidr as usize) {
            // Other CPUs, and cpu-map (it names them).
            continue;
        }
        let c = w.begin_node(cpu.name)?;
        for p in cpu.properties().filter(|p| p.name != "enable-method") {
            w.property(p.name, p.value)?;
        }
        w.property_string("enable-method", "psci")?;
        w.end_node(c)?;
    }
    w.end_node(n)
}

fn chosen_node(w: &mut FdtWriter, node: FdtNode, guest: &GuestTree) -> Result<(), vm_fdt::Error> {
    const REPLACED: &[&str] = &["bootargs", "linux,initrd-start", "linux,initrd-end"];
    let n = w.begin_node(node.name)?;
    for p in node.properties().filter(|p| !REPLACED.contains(&p.name)) {
        w.property(p.name, p.value)?;
    }
    w.property_string("bootargs", guest.bootargs)?;
    if let Some(initrd) = guest.initrd {
        w.property_u64("linux,initrd-start", initrd.base)?;
        w.property_u64("linux,initrd-end", initrd.end())?;
    }
    w.end_node(n)
}

fn gic_node(w: &mut FdtWriter, node: FdtNode, cells: Cells) -> Result<(), vm_fdt::Error> {
    let n = w.begin_node(node.name)?;
    for p in node
        .properties()
        .filter(|p| p.name != "reg" && p.name != "interrupts")
    {
        w.property(p.name, p.value)?;
    }
    let frames = [
        (board::GICD_BASE as u64, gicd::offset::FRAME_SIZE as u64),
        (board::GICC_BASE as u64, gicc::offset::FRAME_SIZE as u64),
    ];
    w.property("reg", &reg(&frames, cells))?;
    // No children: the GICv2m frame is not the guest's.
    w.end_node(n)
}
