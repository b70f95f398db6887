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
//! The frame sizes are the GIC architecture's, in
//! [`gic_driver::regs`]. The interrupts are the PPIs the board wires to the
//! GIC (the numbers the Arm Server Base System Architecture recommends):
//!
//! | PPI | INTID | source |
//! |---|---|---|
//! | 9 | 25 | the GIC's virtual interface maintenance interrupt |
//! | 10 | 26 | the EL2 physical timer (CNTHP) |
//! | 11 | 27 | the EL1 virtual timer (CNTV) |
//! | 14 | 30 | the EL1 physical timer (CNTP) |

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
/// Physical address where RAM starts.
pub const RAM_BASE: usize = 0x4000_0000;

/// The GIC's maintenance interrupt (from GICH): PPI 9, INTID 25.
pub const MAINTENANCE_INTID: IntId = ppi(9);
/// The EL2 physical timer's interrupt: PPI 10, INTID 26.
pub const EL2_PHYS_TIMER_INTID: IntId = ppi(10);
/// The EL1 virtual timer's interrupt: PPI 11, INTID 27.
pub const VIRT_TIMER_INTID: IntId = ppi(11);
/// The EL1 physical timer's interrupt: PPI 14, INTID 30. The demo does not
/// use it: its guest may not program that timer (CNTHCTL_EL2.EL1PCEN = 0).
#[allow(dead_code)]
pub const EL1_PHYS_TIMER_INTID: IntId = ppi(14);

/// PPI `n` as an INTID, checked at compile time.
const fn ppi(n: u32) -> IntId {
    match IntId::ppi(n) {
        Ok(id) => id,
        Err(_) => panic!("not a PPI number"),
    }
}
