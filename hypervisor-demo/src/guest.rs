//! The guest: a tiny program that runs at EL1 under the hypervisor.
//!
//! It shares the image with the hypervisor but only runs through
//! `guest_start`, entered by `eret` from EL2 in EL1h with every exception
//! masked and SP_EL1 at the top of [`GUEST_STACK`](stack_top). It sees the
//! world through stage 2 ([`stage2`](crate::stage2)), with its own stage 1
//! off:
//!
//! 1. it lets FP/SIMD run (CPACR_EL1.FPEN) and installs its vector table
//!    (VBAR_EL1);
//! 2. it reads its GICD_TYPER once: the page is unmapped, so the read traps
//!    to EL2, which emulates it as zero;
//! 3. it initialises its GIC CPU interface at 0x0801_0000 with the driver's
//!    [`CpuInterface`] (underneath, the GICV frame): priority mask 0xF8
//!    (GICV implements 5 priority bits), combined EOI;
//! 4. it arms its virtual timer (CNTV_*_EL0, PPI 11 = INTID 27);
//! 5. it unmasks IRQs and logs every virtual interrupt it acknowledges
//!    (GICV_IAR), with the running priority (GICV_RPR) while it is active;
//! 6. once it has [`EXPECTED`] interrupts (or after a deadline on the
//!    virtual counter), it reports to the hypervisor with `hvc #0`,
//!    x0 = [`hvc::DONE`]. The log stays in memory for the hypervisor.
//!
//! Its IRQ handler masks the virtual timer before the EOI: the timer's line
//! is level-sensitive, and that EOI is what deactivates the physical
//! interrupt behind it (the hypervisor forwarded it with HW = 1).

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    CurrentEL, ReadWriteable, Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0,
    CNTV_TVAL_EL0, DAIF, ELR_EL1, ESR_EL1, FAR_EL1,
};
use gic_driver::bus::{Mmio, RegisterBus};
use gic_driver::regs::gicd;
use gic_driver::{CpuInterface, CpuInterfaceConfig, EoiMode, IntId, Priority};
use tock_registers::{register_bitfields, LocalRegisterCopy};

use crate::board;

/// Hypercalls: `hvc #0` with the call number in x0.
pub mod hvc {
    /// The guest is done; its log is complete. Does not return.
    pub const DONE: u64 = 1;
    /// The guest took an exception it did not expect; x1 = ESR_EL1. Does
    /// not return.
    pub const FAIL: u64 = 2;
}

/// How many interrupts the guest waits for: 8 software interrupts and its timer.
pub const EXPECTED: usize = 9;
/// How far ahead the guest's virtual timer fires.
pub const TIMER_DELAY_US: u64 = 5_000;
/// How long the guest waits for [`EXPECTED`] interrupts.
const DEADLINE_US: u64 = 500_000;
/// How long it keeps listening afterwards, to catch interrupts that repeat.
const LINGER_US: u64 = 2_000;

/// The guest's GIC CPU interface: its GICC address, GICV underneath.
static GICV: CpuInterface<Mmio> = CpuInterface::new(
    // SAFETY: stage 2 maps the guest's GICC address to the GICV frame as
    // Device memory, and only the guest uses it.
    unsafe { Mmio::new(board::GICC_BASE) },
);

/// How many acknowledged interrupts the log holds.
const LOG_CAPACITY: usize = 16;
register_bitfields! {u32,
    /// One entry of [`LOG`].
    LOG_ENTRY [
        /// The running priority (GICV_RPR) while the interrupt was active.
        PRIORITY OFFSET(16) NUMBITS(8) [],
        /// The acknowledged INTID (GICV_IAR.InterruptID).
        INTID OFFSET(0) NUMBITS(16) [],
    ]
}

/// The interrupts the guest acknowledged, in order, as [`LOG_ENTRY`]
/// values. Written by the guest's IRQ handler,
/// read by the hypervisor once the guest is done (plain loads and stores:
/// the guest's memory is Device memory with its stage 1 off, where
/// exclusive accesses are not guaranteed to work).
static LOG: [AtomicU32; LOG_CAPACITY] = [const { AtomicU32::new(0) }; LOG_CAPACITY];
/// Interrupts acknowledged so far, including any beyond [`LOG_CAPACITY`].
static LOG_LEN: AtomicUsize = AtomicUsize::new(0);

// SAFETY (of the whole block): the vector table is 2 KiB aligned as
// VBAR_EL1 requires and every entry fits in 0x80 bytes. `guest_irq` saves
// every register the AAPCS64 lets the Rust handler clobber (x0-x18, x30,
// q0-q31, FPCR, FPSR) on a 16-byte aligned frame on the guest's stack and
// restores them before `eret`. `guest_start` only writes CPACR_EL1 and
// VBAR_EL1 before calling Rust on the stack the hypervisor set up, and
// the guest stack is a `.bss` region used by nothing else.
global_asm!(
    r#"
    .macro guest_trap index
    .balign 0x80
    mov     x0, #\index
    b       guest_unexpected
    .endm

    .section .text.guest, "ax"
    .balign 0x800
    .global guest_vectors
guest_vectors:
    // Current EL with SP_EL0.
    guest_trap 0
    guest_trap 1
    guest_trap 2
    guest_trap 3
    // Current EL with SP_EL1: an IRQ (from GICV) is the one expected.
    guest_trap 4
    .balign 0x80
    b       guest_irq
    guest_trap 6
    guest_trap 7
    // Lower EL (the guest has no EL0).
    guest_trap 8
    guest_trap 9
    guest_trap 10
    guest_trap 11
    guest_trap 12
    guest_trap 13
    guest_trap 14
    guest_trap 15

    .equ    GUEST_FRAME, 688
    .equ    GUEST_FRAME_FPCR, 160
    .equ    GUEST_FRAME_Q, 176

guest_irq:
    sub     sp, sp, #GUEST_FRAME
    "#,
    caller_saved_x!(stp),
    r#"
    mrs     x0, fpcr
    mrs     x1, fpsr
    stp     x0, x1, [sp, #GUEST_FRAME_FPCR]
    add     x0, sp, #GUEST_FRAME_Q
    "#,
    q_regs!(stp, x0),
    r#"
    bl      guest_irq_handler

    add     x0, sp, #GUEST_FRAME_Q
    "#,
    q_regs!(ldp, x0),
    r#"
    ldp     x0, x1, [sp, #GUEST_FRAME_FPCR]
    msr     fpcr, x0
    msr     fpsr, x1
    "#,
    caller_saved_x!(ldp),
    r#"
    add     sp, sp, #GUEST_FRAME
    eret

    // The guest's entry point (ELR_EL2 of its first entry).
    .global guest_start
guest_start:
    // FP/SIMD must not trap at EL1 (CPACR_EL1.FPEN = 0b11): Rust code may
    // use the SIMD registers. CPTR_EL2.TFP = 0 already lets them past EL2.
    mov     x0, #{CPACR_EL1_FP_ON}
    msr     cpacr_el1, x0
    adrp    x0, guest_vectors
    add     x0, x0, :lo12:guest_vectors
    msr     vbar_el1, x0
    isb
    bl      guest_main
1:  wfi
    b       1b

    // The guest's stack (SP_EL1), 16 KiB.
    .section .bss.guest_stack, "aw", %nobits
    .balign 16
guest_stack:
    .space  0x4000
    .global guest_stack_top
guest_stack_top:
    "#,
    CPACR_EL1_FP_ON = const crate::boot::CPACR_EL1_FP_ON,
);

extern "C" {
    /// The guest's entry point (only its address is used).
    fn guest_start() -> !;
    /// The end of the guest's stack (only its address is used).
    static guest_stack_top: [u64; 0];
}

/// The address the guest starts at.
pub fn entry() -> u64 {
    guest_start as *const () as u64
}

/// The initial value of the guest's SP_EL1: the top of its stack.
pub fn stack_top() -> u64 {
    core::ptr::addr_of!(guest_stack_top) as u64
}

/// The interrupts the guest acknowledged, in order, with the running
/// priority it saw while each was active (at most the first 16).
pub fn log() -> impl Iterator<Item = (IntId, Priority)> {
    let n = received().min(LOG_CAPACITY);
    LOG[..n].iter().map(|entry| {
        let entry =
            LocalRegisterCopy::<u32, LOG_ENTRY::Register>::new(entry.load(Ordering::Relaxed));
        let id = IntId::new(entry.read(LOG_ENTRY::INTID)).unwrap_or(IntId::SPURIOUS);
        (id, Priority(entry.read(LOG_ENTRY::PRIORITY) as u8))
    })
}

/// How many interrupts the guest acknowledged.
pub fn received() -> usize {
    LOG_LEN.load(Ordering::Acquire)
}

/// The virtual counter (CNTVCT_EL0), after an ISB so it is not read early.
fn now() -> u64 {
    barrier::isb(barrier::SY);
    CNTVCT_EL0.get()
}

fn ticks_from_micros(us: u64) -> u64 {
    CNTFRQ_EL0.get() * us / 1_000_000
}

/// The guest's Rust entry point, at EL1 with every exception masked.
#[no_mangle]
extern "C" fn guest_main() -> ! {
    crate::println!(
        "guest: running at EL{} with its MMU off, SP_EL1 {:#x}",
        CurrentEL.read(CurrentEL::EL),
        stack_top()
    );

    // Its distributor is not mapped at stage 2: this read exits to EL2.
    // SAFETY: the guest's GICD address; the hypervisor emulates the page.
    let distributor = unsafe { Mmio::new(board::GICD_BASE) };
    let typer = distributor.read32(gicd::offset::TYPER);
    crate::println!("guest: its GICD_TYPER reads {typer:#x}");

    // Its CPU interface: a priority mask of 0xF8 lets every implemented
    // priority through; EOIR both drops priority and deactivates.
    let config = CpuInterfaceConfig {
        priority_mask: Priority(0xF8),
        eoi_mode: EoiMode::Combined,
        ..CpuInterfaceConfig::default()
    };
    if GICV.init(&config).is_err() {
        fail(0);
    }

    // The virtual timer: CNTV_TVAL_EL0 sets the deadline relative to
    // CNTVCT_EL0; ENABLE = 1, IMASK = 0 lets it raise PPI 11.
    let ticks = ticks_from_micros(TIMER_DELAY_US);
    CNTV_TVAL_EL0.set(ticks);
    CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::SET + CNTV_CTL_EL0::IMASK::CLEAR);
    crate::println!(
        "guest: GICC_CTLR {:#x}, priority mask {:#04x}; virtual timer armed ({ticks} ticks); unmasking IRQs",
        GICV.control().get(),
        GICV.priority_mask().get()
    );

    // Everything the hypervisor injected is already pending: the first
    // interrupt is taken as soon as PSTATE.I is cleared.
    DAIF.modify(DAIF::I::Unmasked);
    barrier::isb(barrier::SY);
    let deadline = now() + ticks_from_micros(DEADLINE_US);
    while received() < EXPECTED && now() < deadline {
        core::hint::spin_loop();
    }
    let linger = now() + ticks_from_micros(LINGER_US);
    while now() < linger {
        core::hint::spin_loop();
    }
    DAIF.modify(DAIF::I::Masked);

    hypercall(hvc::DONE, received() as u64);
}

/// Called by `guest_irq` for each virtual IRQ.
#[no_mangle]
extern "C" fn guest_irq_handler() {
    // Acknowledge (GICV_IAR) each pending virtual interrupt, log it, end it
    // (GICV_EOIR). For a software interrupt with the EOI bit, the EOI
    // raises the hypervisor's maintenance interrupt; for the forwarded
    // timer (HW = 1) it deactivates the physical INTID 27.
    GICV.handle_pending(|ack| {
        if ack.intid() == board::VIRT_TIMER_INTID {
            // Lower the timer's line before the EOI (IMASK = 1, disabled).
            CNTV_CTL_EL0.write(CNTV_CTL_EL0::ENABLE::CLEAR + CNTV_CTL_EL0::IMASK::SET);
            barrier::isb(barrier::SY);
        }
        let n = LOG_LEN.load(Ordering::Relaxed);
        if let Some(slot) = LOG.get(n) {
            let entry = LOG_ENTRY::INTID.val(ack.intid().get())
                + LOG_ENTRY::PRIORITY.val(GICV.running_priority().get().into());
            slot.store(entry.value, Ordering::Relaxed);
        }
        LOG_LEN.store(n + 1, Ordering::Release);
    });
}

/// Called by the vector table for any other exception: report and stop.
#[no_mangle]
extern "C" fn guest_unexpected(index: u64) -> ! {
    let esr = ESR_EL1.get();
    crate::println!(
        "guest: unexpected exception (vector {index}): ESR_EL1 {esr:#x}, ELR_EL1 {:#x}, FAR_EL1 {:#x}",
        ELR_EL1.get(),
        FAR_EL1.get()
    );
    fail(esr)
}

/// Reports a failure to the hypervisor.
fn fail(esr: u64) -> ! {
    hypercall(hvc::FAIL, esr)
}

/// `hvc #0` with the call in x0 and its argument in x1. The calls the guest
/// makes do not return.
fn hypercall(call: u64, arg: u64) -> ! {
    // SAFETY: HVC traps to EL2 (ESR_EL2.EC = 0x16), which handles `call`
    // and does not resume the guest; no memory is touched.
    unsafe { asm!("hvc #0", in("x0") call, in("x1") arg, options(nomem, nostack)) };
    loop {
        aarch64_cpu::asm::wfi();
    }
}
