//! Running the guest: the world switch between EL2 and EL1, and the run
//! loop that handles the guest's exits.
//!
//! [`Vcpu::run`] saves the hypervisor's callee-saved registers, loads the
//! guest's general-purpose and FP/SIMD registers, ELR_EL2 and SPSR_EL2, and
//! `eret`s to EL1. The next exception from EL1 (a trap, or a physical
//! interrupt, routed to EL2 by HCR_EL2.IMO) enters a "lower EL, AArch64"
//! vector ([`exceptions`](crate::exceptions)), which branches to
//! `vcpu_exit`: it saves the guest's registers back and returns from
//! `Vcpu::run` with the kind of exception, as if it were an ordinary call.
//!
//! The guest's EL1 system registers (SP_EL1, VBAR_EL1, SCTLR_EL1, the
//! virtual timer, ...) stay in the CPU across exits: the hypervisor never
//! uses EL1, and there is only one guest.
//!
//! The run loop that handles the exits is [`vm`](crate::vm)'s.

use core::arch::global_asm;
use core::mem::offset_of;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    Readable, Writeable, CNTHCTL_EL2, CNTVOFF_EL2, CNTV_CTL_EL0, MIDR_EL1, SCTLR_EL1, SPSR_EL2,
    SP_EL1, VMPIDR_EL2,
};
use tock_registers::register_bitfields;

/// The guest's registers while it is not running.
#[repr(C)]
pub struct GuestRegs {
    /// x0-x30.
    pub x: [u64; 31],
    /// ELR_EL2: where the guest resumes.
    pub elr: u64,
    /// SPSR_EL2: the guest's PSTATE when it resumes.
    pub spsr: u64,
    fpcr: u64,
    fpsr: u64,
    q: [u128; 32],
}

// The assembly below stores x0-x30 from offset 0, and pairs of registers
// with `stp`, so these fields must be laid out as it assumes.
const _: () = assert!(offset_of!(GuestRegs, x) == 0);
const _: () = assert!(offset_of!(GuestRegs, spsr) == offset_of!(GuestRegs, elr) + 8);
const _: () = assert!(offset_of!(GuestRegs, fpsr) == offset_of!(GuestRegs, fpcr) + 8);

/// The hypervisor's callee-saved registers (AAPCS64: x19-x29, and x30,
/// the return address; d8-d15) at `[sp]`: 160 bytes.
macro_rules! callee_saved {
    ($op:ident) => {
        pairs!($op, sp, 0, 16:
            x19 x20 0, x21 x22 1, x23 x24 2, x25 x26 3, x27 x28 4, x29 x30 5,
            d8 d9 6, d10 d11 7, d12 d13 8, d14 d15 9)
    };
}

/// The guest's x2-x29 in `GuestRegs::x` at `$base`. The code around it
/// moves x0 and x1 (which hold pointers until the last moment) and x30
/// (the odd one out of the pairs).
macro_rules! guest_x2_to_x29 {
    ($op:ident, $base:ident) => {
        pairs!($op, $base, 0, 16:
            x2 x3 1, x4 x5 2, x6 x7 3, x8 x9 4, x10 x11 5, x12 x13 6, x14 x15 7,
            x16 x17 8, x18 x19 9, x20 x21 10, x22 x23 11, x24 x25 12, x26 x27 13, x28 x29 14)
    };
}

// SAFETY (of the whole block): `vcpu_run` follows the AAPCS64: it saves
// every callee-saved register (x19-x30, d8-d15) on its own 16-byte aligned
// frame before loading the guest's, and `vcpu_exit` restores them and the
// stack pointer before returning to its caller. SP_EL2 is not used by the
// guest, so at an exit it is where `vcpu_run` left it, minus the 16 bytes
// the vector entry pushed. TPIDR_EL2 carries the `GuestRegs` pointer from
// the entry to the exit; nothing else in the program uses it.
global_asm!(
    r#"
    .section .text.vcpu, "ax"
    .balign 4

    // u64 vcpu_run(GuestRegs *regs)
    .global vcpu_run
vcpu_run:
    // The hypervisor's callee-saved registers.
    sub     sp, sp, #160
    "#,
    callee_saved!(stp),
    r#"
    msr     tpidr_el2, x0

    // The guest's state: where and how to return, FP/SIMD, then x0-x30.
    ldp     x1, x2, [x0, #{ELR}]
    msr     elr_el2, x1
    msr     spsr_el2, x2
    ldp     x1, x2, [x0, #{FPCR}]
    msr     fpcr, x1
    msr     fpsr, x2
    add     x1, x0, #{Q}
    "#,
    q_regs!(ldp, x1),
    guest_x2_to_x29!(ldp, x0),
    r#"
    ldr     x30, [x0, #(8 * 30)]
    ldp     x0, x1, [x0, #(16 * 0)]
    eret

    // Entered from a guest-exit vector: x0 = the exit kind, the guest's
    // x0 and x1 on the stack, every other register still the guest's.
    .global vcpu_exit
vcpu_exit:
    mrs     x1, tpidr_el2
    "#,
    guest_x2_to_x29!(stp, x1),
    r#"
    str     x30, [x1, #(8 * 30)]
    ldp     x2, x3, [sp], #16
    stp     x2, x3, [x1, #(16 * 0)]
    mrs     x2, elr_el2
    mrs     x3, spsr_el2
    stp     x2, x3, [x1, #{ELR}]
    mrs     x2, fpcr
    mrs     x3, fpsr
    stp     x2, x3, [x1, #{FPCR}]
    add     x2, x1, #{Q}
    "#,
    q_regs!(stp, x2),
    r#"
    // Back to the hypervisor, returning x0 from vcpu_run.
    "#,
    callee_saved!(ldp),
    r#"
    add     sp, sp, #160
    ret
    "#,
    ELR = const offset_of!(GuestRegs, elr),
    FPCR = const offset_of!(GuestRegs, fpcr),
    Q = const offset_of!(GuestRegs, q),
);

extern "C" {
    /// Runs the guest until its next exception; returns the exit kind (the
    /// vector entry's index within the "lower EL, AArch64" group).
    fn vcpu_run(regs: *mut GuestRegs) -> u64;
}

/// Why the guest stopped running (one per vector entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// A synchronous exception: a trap (ESR_EL2 says which).
    Sync,
    /// A physical IRQ.
    Irq,
    /// A physical FIQ.
    Fiq,
    /// A physical SError.
    SError,
}

/// A virtual CPU: the guest's registers between runs.
pub struct Vcpu {
    regs: GuestRegs,
}

/// SPSR_EL2 of a guest entered at EL1 using SP_EL1 ("EL1h") with every
/// exception masked (D, A, I, F): the guest's first entry, and the PSTATE
/// of an exception injected into it.
pub const GUEST_ENTRY_SPSR: u64 = SPSR_EL2::M::EL1h.value
    | SPSR_EL2::D::Masked.value
    | SPSR_EL2::A::Masked.value
    | SPSR_EL2::I::Masked.value
    | SPSR_EL2::F::Masked.value;

register_bitfields! {u64,
    /// The SCTLR_EL1 bits that are RES1 in Armv8.0 and that aarch64-cpu does
    /// not name. Later versions of the architecture give them meanings, for
    /// which 1 keeps the Armv8.0 behaviour.
    SCTLR_EL1_RES1 [
        /// LSMAOE (AArch32 load/store multiple ordering).
        LSMAOE OFFSET(29) NUMBITS(1) [],
        /// nTLSMD (AArch32 load/store multiple to Device memory).
        NTLSMD OFFSET(28) NUMBITS(1) [],
        /// SPAN: PSTATE.PAN unchanged on taking an exception to EL1.
        SPAN OFFSET(23) NUMBITS(1) [],
        /// EIS: exception entry is context synchronizing.
        EIS OFFSET(22) NUMBITS(1) [],
        /// TSCXT: EL0 access to SCXTNUM_EL0 disabled.
        TSCXT OFFSET(20) NUMBITS(1) [],
        /// EOS: exception return is context synchronizing.
        EOS OFFSET(11) NUMBITS(1) [],
    ],
}

impl Vcpu {
    /// A vCPU that starts at `entry` in EL1h with every exception masked,
    /// with `x0` in x0 (x1-x30 zero) and SP_EL1 = `stack_top`, and resets
    /// the EL1 state a guest may rely on at entry (Linux's booting.rst):
    ///
    /// * SCTLR_EL1: MMU (M), caches (C, I) and alignment checks (A) off,
    ///   little-endian, the bits that are RES1 in Armv8.0 set;
    /// * the timers: the guest reads both counters and programs both EL1
    ///   timers without trapping (CNTHCTL_EL2.EL1PCTEN and EL1PCEN), its
    ///   virtual counter equals the physical one (CNTVOFF_EL2 = 0), and its
    ///   virtual timer starts disabled;
    /// * VMPIDR_EL2 = `mpidr` (what the guest reads as MPIDR_EL1: its cpu
    ///   node's `reg` in the device tree, with bit 31 RES1) and VPIDR_EL2 =
    ///   MIDR_EL1.
    pub fn new(entry: u64, x0: u64, stack_top: u64, mpidr: u64) -> Self {
        SP_EL1.set(stack_top);
        let sctlr = SCTLR_EL1::M::Disable
            + SCTLR_EL1::A::Disable
            + SCTLR_EL1::C::NonCacheable
            + SCTLR_EL1::I::NonCacheable
            + SCTLR_EL1::EE::LittleEndian
            + SCTLR_EL1::E0E::LittleEndian;
        let res1 = SCTLR_EL1_RES1::LSMAOE::SET
            + SCTLR_EL1_RES1::NTLSMD::SET
            + SCTLR_EL1_RES1::SPAN::SET
            + SCTLR_EL1_RES1::EIS::SET
            + SCTLR_EL1_RES1::TSCXT::SET
            + SCTLR_EL1_RES1::EOS::SET;
        SCTLR_EL1.set(sctlr.value | res1.value);
        CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCTEN::SET + CNTHCTL_EL2::EL1PCEN::SET);
        CNTVOFF_EL2.set(0);
        CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR);
        VMPIDR_EL2.set(MPIDR_RES1 | mpidr);
        // aarch64-cpu 11 does not define VPIDR_EL2.
        // SAFETY: writing VPIDR_EL2 only changes what EL1 reads as
        // MIDR_EL1; it touches no memory.
        unsafe {
            core::arch::asm!("msr vpidr_el2, {}", in(reg) MIDR_EL1.get(), options(nomem, nostack))
        };
        barrier::isb(barrier::SY);
        let mut x = [0; 31];
        x[0] = x0;
        Vcpu {
            regs: GuestRegs {
                x,
                elr: entry,
                spsr: GUEST_ENTRY_SPSR,
                fpcr: 0,
                fpsr: 0,
                q: [0; 32],
            },
        }
    }

    /// The guest's registers.
    pub fn regs(&self) -> &GuestRegs {
        &self.regs
    }

    /// The guest's registers, to change before it resumes.
    pub fn regs_mut(&mut self) -> &mut GuestRegs {
        &mut self.regs
    }

    /// Runs the guest until its next exit.
    pub fn run(&mut self) -> Exit {
        // SAFETY: `vcpu_run` is an AAPCS64 function (see the assembly's
        // SAFETY note) that reads and writes only `self.regs` in memory.
        // EL2 has IRQs masked, so nothing at EL2 runs while the guest does;
        // the guest runs with stage 2 on, in the memory it maps.
        let kind = unsafe { vcpu_run(&mut self.regs) };
        match kind {
            0 => Exit::Sync,
            1 => Exit::Irq,
            2 => Exit::Fiq,
            _ => Exit::SError,
        }
    }
}

/// MPIDR_EL1 bit 31 is RES1.
const MPIDR_RES1: u64 = 1 << 31;

impl GuestRegs {
    /// General-purpose register `n` as an instruction reads it: x0-x30,
    /// and 31 is XZR (zero).
    pub fn read(&self, n: u8) -> u64 {
        self.x.get(n as usize).copied().unwrap_or(0)
    }

    /// Writes general-purpose register `n`; writes to 31 (XZR) are ignored.
    pub fn write(&mut self, n: u8, value: u64) {
        if let Some(x) = self.x.get_mut(n as usize) {
            *x = value;
        }
    }
}
