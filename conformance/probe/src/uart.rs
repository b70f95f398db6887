//! The console: QEMU virt's PL011 at 0x0900_0000, transmit only. Only CPU 0
//! prints (the others only report through their mailboxes), except for a
//! fatal exception.

use core::fmt;

use qemu_virt_baremetal::pl011::{Pl011, VIRT_BASE};

/// The PL011's registers.
fn pl011() -> &'static Pl011 {
    // SAFETY: VIRT_BASE is the PL011's frame on QEMU virt, Device memory
    // with the MMU off, valid for the whole run.
    unsafe { Pl011::at(VIRT_BASE) }
}

/// A `core::fmt::Write` sink on the UART; use [`println!`](crate::println).
pub struct Console;

impl Console {
    /// Enables the transmitter (QEMU needs no baud rate).
    pub fn init() {
        pl011().enable_transmitter();
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        pl011().write_text(s);
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
