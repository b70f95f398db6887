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
//! [`Vcpu::run_until_stopped`] is the run loop: physical interrupts go to
//! [`irq::handle`](crate::irq::handle) (the maintenance interrupt, the
//! guest's timer), hypercalls (`hvc #0`, ESR_EL2.EC = 0x16) end the run,
//! and accesses to the guest's unmapped GICD page (stage-2 data aborts,
//! EC = 0x24) are emulated as read-as-zero / write-ignored.

use core::arch::global_asm;
use core::mem::offset_of;

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    Readable, Writeable, CNTHCTL_EL2, CNTVOFF_EL2, CNTV_CTL_EL0, ESR_EL2, FAR_EL2, HPFAR_EL2,
    SCTLR_EL1, SPSR_EL2, SP_EL1,
};
use tock_registers::register_bitfields;
use tock_registers::LocalRegisterCopy;

use gic_driver::regs::gicd;

use crate::{board, guest, timer};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, defmt::Format)]
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

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The guest called `hvc #0` with [`guest::hvc::DONE`].
    Done,
    /// The guest called `hvc #0` with [`guest::hvc::FAIL`]; the value is
    /// its ESR_EL1 (it took an exception it did not expect).
    GuestFailed(u64),
    /// An exit the hypervisor cannot handle (already reported on the UART).
    Unexpected,
    /// The watchdog fired before the guest finished.
    Timeout,
}

/// How often the guest exited, by cause.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExitCounts {
    /// Physical interrupts.
    pub irqs: u32,
    /// Hypercalls.
    pub hvcs: u32,
    /// Emulated accesses to the guest's GICD page.
    pub gicd_accesses: u32,
}

/// A virtual CPU: the guest's registers between runs.
pub struct Vcpu {
    regs: GuestRegs,
    /// Exits so far.
    pub exits: ExitCounts,
}

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
    /// ESR_EL2.ISS of a Data Abort (Arm ARM D17.2.37, "ISS encoding for an
    /// exception from a Data Abort"). Bits 23:14 are valid only with ISV set.
    DATA_ABORT_ISS [
        /// ISV: SAS, SSE, SRT, SF and AR hold a valid syndrome for the access.
        ISV OFFSET(24) NUMBITS(1) [],
        /// SAS: the access size, 2^SAS bytes.
        SAS OFFSET(22) NUMBITS(2) [
            Byte = 0b00,
            Halfword = 0b01,
            Word = 0b10,
            Doubleword = 0b11,
        ],
        /// SSE: a load sign-extends the value.
        SSE OFFSET(21) NUMBITS(1) [],
        /// SRT: the register transferred, Xt or Wt (31: XZR).
        SRT OFFSET(16) NUMBITS(5) [],
        /// SF: the register is 64 bits wide (Xt), else 32 (Wt).
        SF OFFSET(15) NUMBITS(1) [],
        /// AR: the access has acquire or release semantics.
        AR OFFSET(14) NUMBITS(1) [],
        /// FnV: FAR_EL2 is not valid.
        FNV OFFSET(10) NUMBITS(1) [],
        /// EA: external abort type.
        EA OFFSET(9) NUMBITS(1) [],
        /// CM: a cache maintenance instruction faulted.
        CM OFFSET(8) NUMBITS(1) [],
        /// S1PTW: the fault was on a stage-2 access of a stage-1 table walk.
        S1PTW OFFSET(7) NUMBITS(1) [],
        /// WnR: the access was a write.
        WNR OFFSET(6) NUMBITS(1) [],
        /// DFSC: the data fault status code.
        DFSC OFFSET(0) NUMBITS(6) [],
    ],
}

/// HPFAR_EL2.FIPA holds bits 47:12 of the faulting IPA, whatever the
/// translation granule; FAR_EL2 supplies bits 11:0.
const FIPA_SHIFT: u32 = 12;

impl Vcpu {
    /// A vCPU that starts at `entry` in EL1h with every exception masked
    /// and SP_EL1 = `stack_top`, and resets the EL1 state it relies on.
    pub fn new(entry: u64, stack_top: u64) -> Self {
        // The guest's stack pointer, and its system control register: MMU
        // (M), caches (C, I) and alignment checks (A) off, little-endian,
        // with the bits that are RES1 in Armv8.0 set.
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
        // The guest's timers: it may read the physical counter
        // (CNTHCTL_EL2.EL1PCTEN) but not program the physical timer
        // (EL1PCEN = 0: such accesses trap). The virtual timer is the
        // guest's own; its counter equals the physical one (CNTVOFF_EL2 =
        // 0); it starts disabled.
        CNTHCTL_EL2.write(CNTHCTL_EL2::EL1PCTEN::SET + CNTHCTL_EL2::EL1PCEN::CLEAR);
        CNTVOFF_EL2.set(0);
        CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR);
        barrier::isb(barrier::SY);
        Vcpu {
            regs: GuestRegs {
                x: [0; 31],
                elr: entry,
                // Return to EL1 using SP_EL1 ("EL1h"), every exception masked.
                spsr: (SPSR_EL2::M::EL1h
                    + SPSR_EL2::D::Masked
                    + SPSR_EL2::A::Masked
                    + SPSR_EL2::I::Masked
                    + SPSR_EL2::F::Masked)
                    .value,
                fpcr: 0,
                fpsr: 0,
                q: [0; 32],
            },
            exits: ExitCounts::default(),
        }
    }

    /// The guest's registers.
    pub fn regs(&self) -> &GuestRegs {
        &self.regs
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

    /// Runs the guest, handling its exits, until it reports (or fails, or
    /// `timeout_us` passes: the EL2 physical timer is the watchdog, so even
    /// a guest that never exits is interrupted).
    pub fn run_until_stopped(&mut self, timeout_us: u64) -> Stop {
        let deadline = timer::now() + timer::ticks_from_micros(timeout_us);
        timer::arm_in(timer::ticks_from_micros(timeout_us));
        let stop = loop {
            match self.run() {
                Exit::Irq => {
                    self.exits.irqs += 1;
                    crate::irq::handle();
                    if timer::now() >= deadline {
                        break Stop::Timeout;
                    }
                }
                Exit::Sync => {
                    if let Some(stop) = self.handle_trap() {
                        break stop;
                    }
                }
                other => {
                    defmt::error!(
                        "unexpected guest exit: {}, ELR_EL2 {=u64:#x}",
                        other,
                        self.regs.elr
                    );
                    break Stop::Unexpected;
                }
            }
        };
        timer::disarm();
        stop
    }

    /// Handles a synchronous exit; `Some` when the run must end.
    fn handle_trap(&mut self) -> Option<Stop> {
        let esr = ESR_EL2.extract();
        match esr.read_as_enum(ESR_EL2::EC) {
            // HVC from AArch64: x0 is the call. ELR_EL2 already points
            // after the `hvc`.
            Some(ESR_EL2::EC::Value::HVC64) => {
                self.exits.hvcs += 1;
                match self.regs.x[0] {
                    guest::hvc::DONE => Some(Stop::Done),
                    guest::hvc::FAIL => Some(Stop::GuestFailed(self.regs.x[1])),
                    _ => {
                        // Unknown call: return -1 in x0, as SMCCC does.
                        self.regs.x[0] = u64::MAX;
                        None
                    }
                }
            }
            Some(ESR_EL2::EC::Value::DataAbortLowerEL) => {
                self.data_abort(LocalRegisterCopy::new(esr.read(ESR_EL2::ISS)))
            }
            _ => {
                defmt::error!(
                    "unexpected trap from the guest: ESR_EL2 {=u64:#010x} (EC {=u64:#04x}), ELR_EL2 {=u64:#x}, FAR_EL2 {=u64:#x}",
                    esr.get(),
                    esr.read(ESR_EL2::EC),
                    self.regs.elr,
                    FAR_EL2.get()
                );
                Some(Stop::Unexpected)
            }
        }
    }

    /// A stage-2 data abort. The faulting IPA is HPFAR_EL2.FIPA (bits 47:12
    /// of the IPA) plus the page offset from FAR_EL2 (the guest's virtual
    /// address, equal to the IPA with its stage 1 off). Accesses to the
    /// guest's GICD page are emulated as read-as-zero / write-ignored: the
    /// guest learns it has no distributor to program, and its interrupts
    /// come from the hypervisor's list registers alone. Anything else ends
    /// the run.
    fn data_abort(
        &mut self,
        iss: LocalRegisterCopy<u64, DATA_ABORT_ISS::Register>,
    ) -> Option<Stop> {
        let far = FAR_EL2.get();
        let hpfar = HPFAR_EL2.get();
        let ipa = (HPFAR_EL2.read(HPFAR_EL2::FIPA) << FIPA_SHIFT) | (far & ((1 << FIPA_SHIFT) - 1));
        let gicd_base = board::GICD_BASE as u64;
        let in_gicd = (gicd_base..gicd_base + gicd::offset::FRAME_SIZE as u64).contains(&ipa);
        if !in_gicd || !iss.is_set(DATA_ABORT_ISS::ISV) {
            defmt::error!(
                "unexpected stage-2 abort: IPA {=u64:#x}, ESR_EL2 {=u64:#010x}, FAR_EL2 {=u64:#x}, HPFAR_EL2 {=u64:#x}, ELR_EL2 {=u64:#x}",
                ipa,
                ESR_EL2.get(),
                far,
                hpfar,
                self.regs.elr
            );
            return Some(Stop::Unexpected);
        }
        let write = iss.is_set(DATA_ABORT_ISS::WNR);
        let size = 1 << iss.read(DATA_ABORT_ISS::SAS);
        let reg = iss.read(DATA_ABORT_ISS::SRT) as usize;
        // Read as zero into Xt (register 31 is XZR: nothing to write). Zero
        // is zero whether SSE sign-extends it and SF makes it Xt or Wt.
        if !write && reg < 31 {
            self.regs.x[reg] = 0;
        }
        // Resume after the access (ESR_EL2.IL = 1: a 4-byte instruction).
        self.regs.elr += 4;
        self.exits.gicd_accesses += 1;
        defmt::info!(
            "stage-2 abort: guest {=str} of {=u64} bytes at IPA {=u64:#010x} (GICD + {=u64:#x}; ESR_EL2 {=u64:#010x}, FAR_EL2 {=u64:#x}, HPFAR_EL2 {=u64:#x}): emulated as {=str}",
            if write { "write" } else { "read" },
            size,
            ipa,
            ipa - gicd_base,
            ESR_EL2.get(),
            far,
            hpfar,
            if write { "write-ignored" } else { "read-as-zero" },
        );
        None
    }
}
