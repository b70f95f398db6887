//! The console: QEMU virt's PL011 UART ([`board::UART_BASE`]), transmit only.
//!
//! [`Console`] is stateless (every write goes straight to the device), so
//! the panic handler and the exception handlers can print without taking a
//! lock that the interrupted code might hold. The demo is single-core, so
//! lines never interleave across CPUs.

use core::fmt;

use crate::board;

/// PL011 register offsets and bits (Arm DDI 0183G, 3.2 and 3.3).
mod reg {
    /// UARTDR: data register.
    pub const DR: usize = 0x00;
    /// UARTFR: flag register.
    pub const FR: usize = 0x18;
    /// UARTIBRD: integer part of the baud-rate divisor.
    pub const IBRD: usize = 0x24;
    /// UARTFBRD: fractional part of the baud-rate divisor.
    pub const FBRD: usize = 0x28;
    /// UARTLCR_H: line control.
    pub const LCR_H: usize = 0x2C;
    /// UARTCR: control.
    pub const CR: usize = 0x30;

    /// UARTFR.BUSY: still transmitting.
    pub const FR_BUSY: u32 = 1 << 3;
    /// UARTFR.TXFF: transmit FIFO full.
    pub const FR_TXFF: u32 = 1 << 5;
    /// UARTLCR_H.FEN: FIFOs enabled.
    pub const LCR_H_FEN: u32 = 1 << 4;
    /// UARTLCR_H.WLEN = 0b11: 8-bit words.
    pub const LCR_H_WLEN_8: u32 = 0b11 << 5;
    /// UARTCR.UARTEN: UART enabled.
    pub const CR_UARTEN: u32 = 1 << 0;
    /// UARTCR.TXE: transmitter enabled.
    pub const CR_TXE: u32 = 1 << 8;
}

/// Reads the 32-bit PL011 register at `offset`.
fn read(offset: usize) -> u32 {
    // SAFETY: board::UART_BASE is the PL011 frame on QEMU virt (Device memory
    // while the MMU is off); every offset used is an aligned register in it.
    unsafe { ((board::UART_BASE + offset) as *const u32).read_volatile() }
}

/// Writes the 32-bit PL011 register at `offset`.
fn write(offset: usize, value: u32) {
    // SAFETY: as in `read`.
    unsafe { ((board::UART_BASE + offset) as *mut u32).write_volatile(value) }
}

/// The line speed, in bits per second.
const BAUD: u32 = 115_200;
/// The baud-rate divisor UARTCLK / (16 * BAUD), in 64ths, rounded to the
/// nearest (PL011 TRM 3.3.6): 24 MHz / (16 * 115200) = 13.02, so 833 =
/// 13 * 64 + 1, that is IBRD 13 and FBRD 1.
const DIVISOR_64THS: u32 = (board::UART_CLOCK_HZ * 4 + BAUD / 2) / BAUD;

/// A `core::fmt::Write` sink on the UART; use the [`println!`](crate::println) macro.
pub struct Console;

impl Console {
    /// Programs the PL011 for 115200 8N1 with FIFOs, as firmware would.
    /// QEMU transmits without it, but real hardware (and newer QEMU) need
    /// UARTEN and TXE set.
    pub fn init() {
        // Disable the UART and let any character in flight drain before
        // changing the line settings (PL011 TRM 3.3.8).
        write(reg::CR, 0);
        while read(reg::FR) & reg::FR_BUSY != 0 {
            core::hint::spin_loop();
        }
        write(reg::IBRD, DIVISOR_64THS / 64);
        write(reg::FBRD, DIVISOR_64THS % 64);
        // LCR_H must be written after the divisors to latch them.
        write(reg::LCR_H, reg::LCR_H_WLEN_8 | reg::LCR_H_FEN);
        write(reg::CR, reg::CR_UARTEN | reg::CR_TXE);
    }

    /// Sends one byte, waiting while the transmit FIFO is full.
    fn put(byte: u8) {
        while read(reg::FR) & reg::FR_TXFF != 0 {
            core::hint::spin_loop();
        }
        write(reg::DR, byte as u32);
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
