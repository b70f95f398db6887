//! QEMU's `virt` board with a GICv2 (`-machine virt,virtualization=on,gic-version=2`):
//! where its devices sit in the physical address space and which interrupt
//! each raises. Every other module takes these facts from here.
//!
//! | what | base | notes |
//! |---|---|---|
//! | GICD, the Distributor | 0x0800_0000 | one 4 KiB frame |
//! | GICC, the CPU interface | 0x0801_0000 | 8 KiB: GICC_DIR is at +0x1000 |
//! | GICH, the virtual interface control | 0x0803_0000 | this CPU's view |
//! | GICV, the virtual CPU interface | 0x0804_0000 | GICC's layout |
//! | PL011 UART | 0x0900_0000 | UARTCLK 24 MHz |
//! | RAM | 0x4000_0000 | as much as `-m` gives |
//!
//! How a run divides RAM (the boot contract with `qemu-runner`, in the
//! README's "Booting your own guest"):
//!
//! | what | from | to |
//! |---|---|---|
//! | QEMU's device tree | 0x4000_0000 | 1 MiB |
//! | the hypervisor's image, stacks, tables | 0x4020_0000 ([`HYPERVISOR_BASE`], the link address) | 0x4400_0000 ([`HYPERVISOR_END`]) |
//! | an external guest's RAM | 0x4400_0000 ([`GUEST_RAM_BASE`]) | the end of RAM |
//! | in it: the guest's device tree | 0x4400_0000 ([`GUEST_DTB`]) | at most 2 MiB |
//! | in it: the guest's kernel | 0x4420_0000 ([`GUEST_LOAD_BASE`]) + its text_offset | |
//!
//! The link address is written once, in `layout.rs`, which `build.rs`
//! turns into the linker script's memory region.
//!
//! The frame sizes are the GIC architecture's, in
//! [`gic_driver::regs`]. The interrupts are the PPIs the board wires to the
//! GIC (the numbers the Arm Server Base System Architecture recommends):
//!
//! | PPI | INTID | source |
//! |---|---|---|
//! | 7 | 23 | the PMU (performance monitors) |
//! | 9 | 25 | the GIC's virtual interface maintenance interrupt |
//! | 10 | 26 | the EL2 physical timer (CNTHP) |
//! | 11 | 27 | the EL1 virtual timer (CNTV) |
//! | 14 | 30 | the EL1 physical timer (CNTP) |
//!
//! and the PL011 UART raises SPI 1 (INTID 33).

use gic_driver::IntId;

/// Physical base address of the GIC Distributor (GICD).
pub const GICD_BASE: usize = 0x0800_0000;
/// Physical base address of the GIC CPU interface (GICC).
pub const GICC_BASE: usize = 0x0801_0000;
/// Physical base address of the virtual interface control frame (GICH),
/// the view of the CPU that accesses it.
pub const GICH_BASE: usize = 0x0803_0000;
/// Physical base address of the virtual CPU interface (GICV).
pub const GICV_BASE: usize = 0x0804_0000;
/// Physical base address of the PL011 UART.
pub const UART_BASE: usize = 0x0900_0000;
/// The frequency of the PL011's reference clock, UARTCLK, in Hz.
pub const UART_CLOCK_HZ: u32 = 24_000_000;
include!("layout.rs");

/// Where an external guest's RAM starts: right after the hypervisor's.
pub const GUEST_RAM_BASE: usize = HYPERVISOR_END;
/// Where the hypervisor writes the guest's device tree (x0 at entry).
pub const GUEST_DTB: usize = GUEST_RAM_BASE;
/// The most the guest's device tree may take.
pub const GUEST_DTB_SIZE: usize = 0x20_0000;
/// The 2 MiB-aligned base the guest's kernel is loaded at (plus its
/// Image header's text_offset); a raw binary starts here.
pub const GUEST_LOAD_BASE: usize = GUEST_DTB + GUEST_DTB_SIZE;

/// The GIC's maintenance interrupt (from GICH): PPI 9, INTID 25.
pub const MAINTENANCE_INTID: IntId = ppi(9);
/// The EL2 physical timer's interrupt: PPI 10, INTID 26.
pub const EL2_PHYS_TIMER_INTID: IntId = ppi(10);
/// The EL1 virtual timer's interrupt: PPI 11, INTID 27.
pub const VIRT_TIMER_INTID: IntId = ppi(11);
/// The EL1 physical timer's interrupt: PPI 14, INTID 30.
pub const EL1_PHYS_TIMER_INTID: IntId = ppi(14);
/// The PMU's overflow interrupt: PPI 7, INTID 23.
pub const PMU_INTID: IntId = ppi(7);
/// The PL011 UART's interrupt: SPI 1, INTID 33.
pub const UART_INTID: IntId = match IntId::spi(1) {
    Ok(id) => id,
    Err(_) => panic!("1 is an SPI number"),
};

/// PPI `n` as an INTID, checked at compile time.
const fn ppi(n: u32) -> IntId {
    match IntId::ppi(n) {
        Ok(id) => id,
        Err(_) => panic!("not a PPI number"),
    }
}
