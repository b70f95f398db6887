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

use qemu_virt_baremetal::pl011::Pl011;

use crate::board;

/// The line speed, in bits per second.
const BAUD: u32 = 115_200;

/// The PL011's registers.
fn pl011() -> &'static Pl011 {
    // SAFETY: board::UART_BASE is the PL011 frame on QEMU virt, Device memory
    // in EL2's map, valid for the whole run.
    unsafe { Pl011::at(board::UART_BASE) }
}

/// A `core::fmt::Write` sink on the UART; use the [`println!`](crate::println) macro.
pub struct Console;

impl Console {
    /// Programs the PL011 for 115200 8N1 with FIFOs, as firmware would.
    /// QEMU transmits without it, but real hardware (and newer QEMU) need
    /// UARTEN and TXE set.
    pub fn init() {
        pl011().configure(board::UART_CLOCK_HZ, BAUD);
    }
}

impl fmt::Write for Console {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        pl011().write_text(s);
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
