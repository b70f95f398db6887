// The physical memory map of a run, as plain constants: `board.rs`
// includes this file for the Rust code, and `build.rs` includes it to
// write the linker script's MEMORY region, so the link address is written
// down once. No `use`, no items but constants: both crates compile it.

/// Where QEMU virt's RAM starts; QEMU writes its device tree (at most
/// [`QEMU_DTB_SIZE`]) here when the ELF starts at or above
/// [`HYPERVISOR_BASE`].
pub const RAM_BASE: usize = 0x4000_0000;
/// The most QEMU's device tree at [`RAM_BASE`] may take (QEMU 7.2 writes
/// 1 MiB).
pub const QEMU_DTB_SIZE: usize = 0x10_0000;
/// The hypervisor's link address: the start of its image.
pub const HYPERVISOR_BASE: usize = 0x4020_0000;
/// Where the hypervisor's 64 MiB end (QEMU's DTB, the image, its stacks,
/// tables and scratch): an external guest's RAM starts here.
pub const HYPERVISOR_END: usize = 0x4400_0000;
