//! The console: QEMU virt's PL011 at 0x0900_0000, transmit only. Only CPU 0
//! prints (the others only report through their mailboxes), except for a
//! fatal exception.

use core::fmt;
use core::ptr;

/// PL011 base address on QEMU virt.
const UART_BASE: usize = 0x0900_0000;
/// UARTDR, data register.
const DR: usize = 0x00;
/// UARTFR, flag register; bit 5 TXFF, transmit FIFO full.
const FR: usize = 0x18;
const FR_TXFF: u32 = 1 << 5;
/// UARTCR, control register: UARTEN (bit 0), TXE (bit 8).
const CR: usize = 0x30;
const CR_UARTEN_TXE: u32 = (1 << 8) | 1;

/// A `core::fmt::Write` sink on the UART; use [`println!`](crate::println).
pub struct Console;

impl Console {
    /// Enables the transmitter (QEMU needs no baud rate).
    pub fn init() {
        // SAFETY: UART_BASE + CR is the PL011's control register, Device
        // memory with the MMU off, valid for the whole run.
        unsafe { ptr::write_volatile((UART_BASE + CR) as *mut u32, CR_UARTEN_TXE) };
    }

    fn put(byte: u8) {
        // SAFETY: UART_BASE + FR and + DR are the PL011's flag and data
        // registers (see `init`).
        unsafe {
            while ptr::read_volatile((UART_BASE + FR) as *const u32) & FR_TXFF != 0 {
                core::hint::spin_loop();
            }
            ptr::write_volatile((UART_BASE + DR) as *mut u32, byte as u32);
        }
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

/// Prints a line to the UART.
#[macro_export]
macro_rules! println {
    ($($arg:tt)*) => {{
        let _ = core::fmt::Write::write_fmt(&mut $crate::uart::Console, format_args!($($arg)*));
        let _ = core::fmt::Write::write_str(&mut $crate::uart::Console, "\n");
    }};
}
