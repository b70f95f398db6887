//! The PL011 UART as a transmit-only console (Arm DDI 0183G), on QEMU
//! virt at [`VIRT_BASE`].

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::registers::{ReadOnly, ReadWrite};
use tock_registers::{register_bitfields, register_structs};

/// Physical base address of the PL011 UART on QEMU virt.
pub const VIRT_BASE: usize = 0x0900_0000;

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
    pub Pl011 {
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

impl Pl011 {
    /// The PL011 whose register frame starts at `base`.
    ///
    /// # Safety
    ///
    /// `base` must be the address of a PL011's register frame, mapped as
    /// Device memory (or reached with the MMU off) for the rest of the run.
    pub unsafe fn at(base: usize) -> &'static Pl011 {
        // SAFETY: the caller guarantees a PL011 frame at `base`, valid for
        // the whole run and laid out as `Pl011`; its registers are only
        // reached through volatile accesses.
        unsafe { &*(base as *const Pl011) }
    }

    /// Sets UARTEN and TXE in UARTCR (and clears the rest): enough for
    /// QEMU, which needs no baud rate.
    pub fn enable_transmitter(&self) {
        self.cr.write(CR::UARTEN::SET + CR::TXE::SET);
    }

    /// Programs the line for `baud` bits per second, 8N1 with FIFOs, from a
    /// UARTCLK of `clock_hz`, as firmware would: clears UARTCR, waits while
    /// UARTFR.BUSY, writes UARTIBRD and UARTFBRD, then UARTLCR_H (which
    /// latches the divisors), then sets UARTEN and TXE.
    pub fn configure(&self, clock_hz: u32, baud: u32) {
        // The divisor UARTCLK / (16 * baud), in 64ths, rounded to the
        // nearest (PL011 TRM 3.3.6).
        let divisor_64ths = (clock_hz * 4 + baud / 2) / baud;
        // Disable the UART and let any character in flight drain before
        // changing the line settings (PL011 TRM 3.3.8).
        self.cr.set(0);
        while self.fr.is_set(FR::BUSY) {
            core::hint::spin_loop();
        }
        self.ibrd.set(divisor_64ths / 64);
        self.fbrd.set(divisor_64ths % 64);
        // LCR_H must be written after the divisors to latch them.
        self.lcr_h.write(LCR_H::WLEN::Bits8 + LCR_H::FEN::SET);
        self.enable_transmitter();
    }

    /// Sends one byte through UARTDR, waiting while UARTFR.TXFF says the
    /// transmit FIFO is full.
    pub fn put(&self, byte: u8) {
        while self.fr.is_set(FR::TXFF) {
            core::hint::spin_loop();
        }
        self.dr.set(byte as u32);
    }

    /// Sends `text`, each `\n` as `\r\n`.
    pub fn write_text(&self, text: &str) {
        for byte in text.bytes() {
            if byte == b'\n' {
                self.put(b'\r');
            }
            self.put(byte);
        }
    }
}
