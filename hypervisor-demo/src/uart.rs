//! The console: QEMU virt's PL011 UART ([`board::UART_BASE`]), transmit only.
//!
//! It is the guest's console (the guest maps the same UART page), and
//! QEMU's standard output. The hypervisor logs through defmt instead
//! ([`defmt_log`](crate::defmt_log)), on a channel of its own; it prints
//! here only when it cannot log (a panic or exception inside a log call,
//! or semihosting missing).
//!
//! [`Console`] is stateless (every write goes straight to the device), so
//! the panic handler and the exception handlers can print without taking a
//! lock that the interrupted code might hold. The hypervisor prints here
//! only on its way out (a failure), so lines of several CPUs rarely meet;
//! a guest's CPUs share the device as on hardware.

use core::fmt;

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs};

use crate::board;

register_bitfields! {u32,
    /// UARTFR, the flag register (PL011 TRM 3.3.3).
    FR [
        /// TXFF: the transmit FIFO is full.
        TXFF OFFSET(5) NUMBITS(1) [],
        /// BUSY: still transmitting.
        BUSY OFFSET(3) NUMBITS(1) [],
    ],
    /// UARTLCR_H, line control (PL011 TRM 3.3.7).
    LCR_H [
        /// WLEN: bits in a word.
        WLEN OFFSET(5) NUMBITS(2) [
            Bits8 = 0b11,
        ],
        /// FEN: FIFOs enabled.
        FEN OFFSET(4) NUMBITS(1) [],
    ],
    /// UARTCR, control (PL011 TRM 3.3.8).
    CR [
        /// TXE: transmitter enabled.
        TXE OFFSET(8) NUMBITS(1) [],
        /// UARTEN: UART enabled.
        UARTEN OFFSET(0) NUMBITS(1) [],
    ],
}

register_structs! {
    /// The PL011 registers the console uses (Arm DDI 0183G, 3.2).
    Pl011 {
        /// UARTDR: data register; a write sends a character.
        (0x00 => dr: ReadWrite<u32>),
        (0x04 => _reserved0),
        /// UARTFR: flag register.
        (0x18 => fr: ReadOnly<u32, FR::Register>),
        (0x1C => _reserved1),
        /// UARTIBRD: integer part of the baud-rate divisor.
        (0x24 => ibrd: ReadWrite<u32>),
        /// UARTFBRD: fractional part of the baud-rate divisor, in 64ths.
        (0x28 => fbrd: ReadWrite<u32>),
        /// UARTLCR_H: line control.
        (0x2C => lcr_h: ReadWrite<u32, LCR_H::Register>),
        /// UARTCR: control.
        (0x30 => cr: ReadWrite<u32, CR::Register>),
        (0x34 => @END),
    }
}

/// The line speed, in bits per second.
const BAUD: u32 = 115_200;
/// The baud-rate divisor UARTCLK / (16 * BAUD), in 64ths, rounded to the
/// nearest (PL011 TRM 3.3.6): 24 MHz / (16 * 115200) = 13.02, so 833 =
/// 13 * 64 + 1, that is IBRD 13 and FBRD 1.
const DIVISOR_64THS: u32 = (board::UART_CLOCK_HZ * 4 + BAUD / 2) / BAUD;

/// The PL011's registers.
fn pl011() -> &'static Pl011 {
    // SAFETY: board::UART_BASE is the PL011 frame on QEMU virt, Device memory
    // in EL2's map, valid for the whole run and laid out as `Pl011`;
    // its registers are only reached through volatile accesses.
    unsafe { &*(board::UART_BASE as *const Pl011) }
}

/// A `core::fmt::Write` sink on the UART; use the [`println!`](crate::println) macro.
pub struct Console;

impl Console {
    /// Programs the PL011 for 115200 8N1 with FIFOs, as firmware would.
    /// QEMU transmits without it, but real hardware (and newer QEMU) need
    /// UARTEN and TXE set.
    pub fn init() {
        let uart = pl011();
        // Disable the UART and let any character in flight drain before
        // changing the line settings (PL011 TRM 3.3.8).
        uart.cr.set(0);
        while uart.fr.is_set(FR::BUSY) {
            core::hint::spin_loop();
        }
        uart.ibrd.set(DIVISOR_64THS / 64);
        uart.fbrd.set(DIVISOR_64THS % 64);
        // LCR_H must be written after the divisors to latch them.
        uart.lcr_h.write(LCR_H::WLEN::Bits8 + LCR_H::FEN::SET);
        uart.cr.write(CR::UARTEN::SET + CR::TXE::SET);
    }

    /// Sends one byte, waiting while the transmit FIFO is full.
    fn put(byte: u8) {
        let uart = pl011();
        while uart.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        uart.dr.set(byte as u32);
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for byte in s.bytes() {
            if byte == b'\n' {
                Self::put(b'\r');
            }
            Self::put(byte);
        }
        Ok(())
    }
}

/// Prints to the UART, like `std::print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => {{
        // The console never fails.
        let _ = core::fmt::Write::write_fmt(&mut $crate::uart::Console, format_args!($($arg)*));
    }};
}

/// Prints a line to the UART, like `std::println!`.
#[macro_export]
macro_rules! println {
    () => { $crate::print!("\n") };
    ($($arg:tt)*) => {{
        $crate::print!($($arg)*);
        $crate::print!("\n");
    }};
}
