//! The EL2 physical timer (CNTHP_*_EL2, Arm ARM D11 "The Generic Timer").
//!
//! Each CPU has a "hypervisor physical timer" that only EL2 can program. It
//! compares the system counter (CNTPCT_EL0, ticking at CNTFRQ_EL0 Hz) with a
//! deadline; once the deadline passes and the timer is enabled and not
//! masked, it raises its interrupt line, which QEMU virt wires to PPI 10
//! (INTID 26, [`board::EL2_PHYS_TIMER_INTID`](crate::board::EL2_PHYS_TIMER_INTID)) of the GIC. The line is level-sensitive: it stays high until
//! the timer is disabled, masked or given a later deadline, so the handler
//! must do one of those before ending the interrupt.

use core::arch::asm;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{Readable, Writeable, CNTFRQ_EL0, CNTHP_CTL_EL2, CNTPCT_EL0};

/// The system counter's frequency, in Hz (CNTFRQ_EL0; 62.5 MHz on QEMU 7.2).
pub fn frequency() -> u64 {
    CNTFRQ_EL0.get()
}

/// The current value of the system counter (CNTPCT_EL0).
pub fn now() -> u64 {
    // Without the ISB the read could be performed early, before the
    // instructions that precede it in program order.
    barrier::isb(barrier::SY);
    CNTPCT_EL0.get()
}

/// Converts microseconds to counter ticks.
pub fn ticks_from_micros(us: u64) -> u64 {
    frequency() * us / 1_000_000
}

/// Arms the timer to fire `ticks` counter ticks from now.
pub fn arm_in(ticks: u64) {
    // CNTHP_TVAL_EL2 is the signed 32-bit distance to the deadline; writing
    // it sets CNTHP_CVAL_EL2 = CNTPCT_EL0 + value. aarch64-cpu does not
    // define this register, so it is written directly.
    let tval = ticks.min(i32::MAX as u64);
    // SAFETY: writing CNTHP_TVAL_EL2 at EL2 only changes the deadline of
    // this CPU's EL2 physical timer; it touches no memory.
    unsafe { asm!("msr cnthp_tval_el2, {}", in(reg) tval, options(nomem, nostack)) };
    CNTHP_CTL_EL2.write(CNTHP_CTL_EL2::ENABLE::SET + CNTHP_CTL_EL2::IMASK::CLEAR);
    barrier::isb(barrier::SY);
}

/// Disables the timer, which lowers its interrupt line.
pub fn disarm() {
    CNTHP_CTL_EL2.write(CNTHP_CTL_EL2::ENABLE::CLEAR + CNTHP_CTL_EL2::IMASK::SET);
    barrier::isb(barrier::SY);
}
