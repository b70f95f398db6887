//! The built-in guest's latency run: a second small EL1 program, entered
//! after the demo's guest has reported, that takes [`SAMPLES`] virtual
//! interrupts one at a time so that [`latency`](crate::latency) can time
//! each one from its injection to the guest's handler.
//!
//! It has its own entry point, vector table and stack, and shares nothing
//! with [`guest`](crate::guest) but the board: it keeps the measured path
//! free of the demo guest's logging. Entered by `eret` in EL1h with every
//! exception masked, it
//!
//! 1. lets FP/SIMD run (CPACR_EL1.FPEN) and installs its vector table
//!    (VBAR_EL1);
//! 2. makes [`INTID`] (SPI 16, INTID 48) edge-triggered at [`PRIORITY`] and
//!    enabled in its distributor (trapped accesses the vGIC serves), enables
//!    the distributor, and initialises its CPU interface (GICV underneath:
//!    priority mask 0xF8, combined EOI);
//! 3. unmasks IRQs and, in a loop, calls `hvc #0` with x0 = [`hvc::NEXT`]
//!    and x1 = the entry time of the previous interrupt (0 on the first
//!    call). The hypervisor records it, raises [`INTID`] in the vGIC and
//!    returns; the interrupt, listed at the entry, is taken as soon as the
//!    `eret` lands, before the instruction after the `hvc`. Then it waits
//!    for its handler to have taken the interrupt. The hypervisor ends the
//!    run on the call after the last sample.
//!
//! The IRQ vector's first instructions read the physical counter
//! (CNTPCT_EL0, which CNTHCTL_EL2.EL1PCTEN lets EL1 read untrapped: the
//! hypervisor's clock, no offset): exception entry is a context
//! synchronization event, so the read cannot happen before the exception
//! is taken. The handler acknowledges (GICV_IAR), records that time for
//! [`INTID`] and ends the interrupt (GICV_EOIR).
//!
//! [`SAMPLES`]: crate::latency::SAMPLES

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{ReadWriteable, Readable, CNTFRQ_EL0, CNTPCT_EL0, DAIF, ESR_EL1};
use gic_driver::bus::Mmio;
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, Distributor, EoiMode, IntId, Priority, Trigger,
};

use crate::board;

/// The latency run's hypercalls: `hvc #0`, the call in x0 (outside the
/// range of PSCI's function IDs and of [`guest::hvc`](crate::guest::hvc)).
pub mod hvc {
    /// x1 = the CNTPCT_EL0 value at which the guest's IRQ vector was
    /// entered for the previous interrupt (0 on the first call): record
    /// it, and inject the next interrupt. Returns 0, or does not return
    /// once the hypervisor has its samples.
    pub const NEXT: u64 = 0x10;
    /// Something went wrong; x1 says what: [`FAIL_GIC`], [`FAIL_MISSED`],
    /// or ESR_EL1 of an unexpected exception. Does not return.
    pub const FAIL: u64 = 0x11;
    /// x1 of [`FAIL`]: the driver refused to program the distributor or the
    /// CPU interface.
    pub const FAIL_GIC: u64 = 1;
    /// x1 of [`FAIL`]: the injected interrupt did not arrive in time.
    pub const FAIL_MISSED: u64 = 2;
}

/// The virtual interrupt whose latency is measured: SPI 16, INTID 48 (the
/// first after the demo guest's software interrupts).
pub const INTID: IntId = match IntId::spi(16) {
    Ok(id) => id,
    Err(_) => panic!("SPI 16 exists on QEMU virt's 288 lines"),
};
/// Its priority (a multiple of 8: GICV implements 5 priority bits).
pub const PRIORITY: Priority = Priority(0x80);
/// How long the guest waits for an injected interrupt before it reports
/// [`hvc::FAIL_MISSED`].
const WAIT_US: u64 = 100_000;

/// The latency guest's GIC CPU interface: its GICC address, GICV underneath.
static GICV: CpuInterface<Mmio> = CpuInterface::new(
    // SAFETY: stage 2 maps the guest's GICC address to the GICV frame as
    // Device memory, and only guest code (this run, after the demo guest's
    // has ended) uses it.
    unsafe { Mmio::new(board::GICC_BASE) },
);

/// CNTPCT_EL0 at the IRQ vector's entry for the last [`INTID`] taken.
/// Plain loads and stores: the guest's memory is Device memory with its
/// stage 1 off.
static ENTRY: AtomicU64 = AtomicU64::new(0);
/// How many [`INTID`]s the handler has taken.
static TAKEN: AtomicU32 = AtomicU32::new(0);

// SAFETY (of the whole block): the vector table is 2 KiB aligned as
// VBAR_EL1 requires and every entry fits in 0x80 bytes. The IRQ entry
// pushes x0 and x1 (16 bytes) before it overwrites x0 with the counter;
// `latency_guest_irq` then saves every other register the AAPCS64 lets the
// Rust handler clobber (x2-x18, x30, q0-q31, FPCR, FPSR; x1 unchanged) on a
// 16-byte aligned frame, and restores all of them, x0 and x1 last, before
// `eret`. `latency_guest_start` writes only CPACR_EL1 and VBAR_EL1 before
// calling Rust on the stack the hypervisor set up (SP_EL1 =
// `latency_guest_stack_top`), a `.bss` region nothing else uses. Every
// symbol and macro name is prefixed `latency_guest_`: the crate's
// `global_asm!` blocks share one assembly namespace.
global_asm!(
    r#"
    .macro latency_guest_trap index
    .balign 0x80
    mov     x0, #\index
    b       latency_guest_unexpected
    .endm

    .section .text.latency_guest, "ax"
    .balign 0x800
latency_guest_vectors:
    // Current EL with SP_EL0.
    latency_guest_trap 0
    latency_guest_trap 1
    latency_guest_trap 2
    latency_guest_trap 3
    // Current EL with SP_EL1: the IRQ (from GICV) is the one expected.
    latency_guest_trap 4
    .balign 0x80
    stp     x0, x1, [sp, #-16]!
    mrs     x0, cntpct_el0
    b       latency_guest_irq
    latency_guest_trap 6
    latency_guest_trap 7
    // Lower EL (the guest has no EL0).
    latency_guest_trap 8
    latency_guest_trap 9
    latency_guest_trap 10
    latency_guest_trap 11
    latency_guest_trap 12
    latency_guest_trap 13
    latency_guest_trap 14
    latency_guest_trap 15

    // x0 = CNTPCT_EL0 at the vector's entry; the interrupted x0 and x1 at
    // [sp]. Frame: x0-x18 and x30 (160 bytes), FPCR and FPSR (16), q0-q31
    // (512).
latency_guest_irq:
    sub     sp, sp, #688
    "#,
    caller_saved_x!(stp),
    r#"
    mrs     x1, fpcr
    mrs     x2, fpsr
    stp     x1, x2, [sp, #160]
    "#,
    q_regs!(stp, sp, 176),
    r#"
    bl      latency_guest_irq_handler
    ldp     x1, x2, [sp, #160]
    msr     fpcr, x1
    msr     fpsr, x2
    "#,
    q_regs!(ldp, sp, 176),
    caller_saved_x!(ldp),
    r#"
    add     sp, sp, #688
    ldp     x0, x1, [sp], #16
    eret

    // The latency guest's entry point (ELR_EL2 of its first entry).
    .global latency_guest_start
latency_guest_start:
    mov     x0, #{CPACR_EL1_FP_ON}
    msr     cpacr_el1, x0
    adrp    x0, latency_guest_vectors
    add     x0, x0, :lo12:latency_guest_vectors
    msr     vbar_el1, x0
    isb
    bl      latency_guest_main
1:  wfi
    b       1b

    // The latency guest's stack (SP_EL1), 8 KiB.
    .section .bss.latency_guest_stack, "aw", %nobits
    .balign 16
    .space  0x2000
    .global latency_guest_stack_top
latency_guest_stack_top:
    "#,
    CPACR_EL1_FP_ON = const crate::boot::CPACR_EL1_FP_ON,
);

extern "C" {
    /// The latency guest's entry point (only its address is used).
    fn latency_guest_start() -> !;
    /// The end of its stack (only its address is used).
    static latency_guest_stack_top: [u64; 0];
}

/// The address the latency guest starts at.
pub fn entry() -> u64 {
    latency_guest_start as *const () as u64
}

/// The initial value of the latency guest's SP_EL1: the top of its stack.
pub fn stack_top() -> u64 {
    core::ptr::addr_of!(latency_guest_stack_top) as u64
}

/// The physical counter (CNTPCT_EL0), after an ISB so it is not read early.
fn now() -> u64 {
    barrier::isb(barrier::SY);
    CNTPCT_EL0.get()
}

/// The latency guest's Rust entry point, at EL1 with every exception masked.
#[no_mangle]
extern "C" fn latency_guest_main() -> ! {
    crate::println!(
        "guest: latency run: vINTID {} one at a time, each timed from its injection to this guest's IRQ vector",
        INTID.get()
    );
    // SAFETY: the guest's GICD address; the hypervisor emulates the page,
    // and only this Distributor uses it while this run lasts.
    let gicd = Distributor::new(unsafe { Mmio::new(board::GICD_BASE) });
    let programmed = gicd
        .set_trigger(INTID, Trigger::Edge)
        .and_then(|()| gicd.set_priority(INTID, PRIORITY))
        .and_then(|()| gicd.enable_interrupt(INTID));
    gicd.enable();
    let config = CpuInterfaceConfig {
        priority_mask: Priority(0xF8),
        eoi_mode: EoiMode::Combined,
        ..CpuInterfaceConfig::default()
    };
    if programmed.is_err() || GICV.init(&config).is_err() {
        fail(hvc::FAIL_GIC);
    }
    let wait = CNTFRQ_EL0.get() * WAIT_US / 1_000_000;

    DAIF.modify(DAIF::I::Unmasked);
    barrier::isb(barrier::SY);
    let mut entry = 0;
    loop {
        let taken = TAKEN.load(Ordering::Acquire);
        call(hvc::NEXT, entry);
        // The interrupt is normally taken before this line runs.
        let deadline = now() + wait;
        while TAKEN.load(Ordering::Acquire) == taken {
            if now() > deadline {
                fail(hvc::FAIL_MISSED);
            }
            core::hint::spin_loop();
        }
        entry = ENTRY.load(Ordering::Relaxed);
    }
}

/// Called by `latency_guest_irq` with the counter read at the vector's
/// entry: acknowledges each pending virtual interrupt (GICV_IAR), records
/// `entry` for [`INTID`], and ends it (GICV_EOIR).
#[no_mangle]
extern "C" fn latency_guest_irq_handler(entry: u64) {
    GICV.handle_pending(|ack| {
        if ack.intid() == INTID {
            ENTRY.store(entry, Ordering::Relaxed);
            TAKEN.store(TAKEN.load(Ordering::Relaxed) + 1, Ordering::Release);
        }
    });
}

/// Called by the vector table for any other exception (`_index`: the
/// vector's, 0-15): reports ESR_EL1 and stops.
#[no_mangle]
extern "C" fn latency_guest_unexpected(_index: u64) -> ! {
    fail(ESR_EL1.get())
}

/// Reports a failure to the hypervisor ([`hvc::FAIL`]); does not return.
fn fail(why: u64) -> ! {
    call(hvc::FAIL, why);
    loop {
        aarch64_cpu::asm::wfi();
    }
}

/// `hvc #0` with the call in x0 and its argument in x1; returns x0.
fn call(call: u64, arg: u64) -> u64 {
    let result;
    // SAFETY: HVC traps to EL2 (ESR_EL2.EC = 0x16), which handles `call`,
    // writes x0 and resumes after the `hvc` (or ends the run). Not `nomem`:
    // the interrupt taken as the call returns changes TAKEN, so the
    // compiler must not move memory accesses across it.
    unsafe { asm!("hvc #0", inlateout("x0") call => result, in("x1") arg, options(nostack)) };
    result
}
