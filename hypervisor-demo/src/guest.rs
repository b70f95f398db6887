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
//! 2. it programs its distributor with the driver's [`Distributor`] at
//!    0x0800_0000: the page is unmapped at stage 2, so every access traps
//!    to EL2, where the vGIC serves it ([`vm`](crate::vm)). It reads
//!    GICD_TYPER, makes the software interrupts (SPIs 40-47, [`SOFTWARE`])
//!    edge-triggered at their priorities and enables them, enables its
//!    timer's PPI 11 (INTID 27) at 0xA0, and enables the distributor;
//! 3. it probes three accesses the hypervisor cannot serve as loads
//!    ([`probe_aborts`]): a halfword GICD read (reads zero), a GICD load
//!    pair without a syndrome and a load from an IPA with nothing behind it
//!    (each takes an injected synchronous external abort, which its
//!    synchronous vector records and skips);
//! 4. it tells the hypervisor with `hvc #0`, x0 = [`hvc::READY`]: the
//!    hypervisor raises the 8 software interrupts' lines in the vGIC;
//! 5. it initialises its GIC CPU interface at 0x0801_0000 with the driver's
//!    [`CpuInterface`] (underneath, the GICV frame): priority mask 0xF8
//!    (GICV implements 5 priority bits), combined EOI;
//! 6. it arms its virtual timer (CNTV_*_EL0, PPI 11 = INTID 27);
//! 7. it unmasks IRQs and logs every virtual interrupt it acknowledges
//!    (GICV_IAR), with the running priority (GICV_RPR) while it is active;
//! 8. once it has [`EXPECTED`] interrupts (or after a deadline on the
//!    virtual counter), it reports to the hypervisor with `hvc #0`,
//!    x0 = [`hvc::DONE`]. The log stays in memory for the hypervisor.
//!
//! Its IRQ handler masks the virtual timer before the EOI: the timer's line
//! is level-sensitive, and that EOI is what deactivates the physical
//! interrupt behind it (the hypervisor forwarded it with HW = 1).

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    CurrentEL, ReadWriteable, Readable, Writeable, CNTFRQ_EL0, CNTVCT_EL0, CNTV_CTL_EL0,
    CNTV_TVAL_EL0, DAIF, ELR_EL1, ESR_EL1, FAR_EL1,
};
use gic_driver::bus::{Mmio, RegisterBus};
use gic_driver::regs::gicd;
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, Distributor, EoiMode, IntId, Priority, Trigger,
};
use tock_registers::{register_bitfields, LocalRegisterCopy};

use crate::board;

/// Hypercalls: `hvc #0` with the call number in x0 (numbers outside the
/// range of PSCI's function IDs).
pub mod hvc {
    /// The guest is done; its log is complete. Does not return.
    pub const DONE: u64 = 1;
    /// The guest took an exception it did not expect; x1 = ESR_EL1. Does
    /// not return.
    pub const FAIL: u64 = 2;
    /// The guest has programmed its distributor: raise the software
    /// interrupts. Returns 0.
    pub const READY: u64 = 3;
}

/// The software interrupts, virtual SPIs 40-47: INTID 40 + n at priority
/// `SOFTWARE[n]` (multiples of 8: the vGIC implements 5 priority bits).
pub const SOFTWARE: [u8; 8] = [0xA0, 0x40, 0x80, 0x20, 0xC0, 0x60, 0x10, 0x90];
/// The first software INTID.
const FIRST_SOFTWARE: u32 = 40;
/// The priority the guest gives its timer's PPI.
pub const TIMER_PRIORITY: Priority = Priority(0xA0);

/// The INTID of software interrupt `n` (0-7).
pub fn software_intid(n: usize) -> IntId {
    IntId::new(FIRST_SOFTWARE + n as u32).unwrap_or(IntId::SPURIOUS)
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
// VBAR_EL1 requires and every entry fits in 0x80 bytes. `guest_irq` and
// `guest_sync` save
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
    // Current EL with SP_EL1: an IRQ (from GICV), and the synchronous
    // external aborts the probes expect.
    .balign 0x80
    b       guest_sync
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

    // A handler entry: saves what a Rust call may clobber, calls
    // `handler`, restores, returns from the exception.
    .macro guest_handler handler
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
    bl      \handler

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
    .endm

guest_irq:
    guest_handler guest_irq_handler
guest_sync:
    guest_handler guest_sync_handler

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

    // Its distributor is not mapped at stage 2: every access exits to EL2,
    // where the vGIC serves it.
    // SAFETY: the guest's GICD address; the hypervisor emulates the page,
    // and only this Distributor uses it.
    let gicd = Distributor::new(unsafe { Mmio::new(board::GICD_BASE) });
    let typer = gicd.bus().read32(gicd::offset::TYPER);
    crate::println!(
        "guest: its GICD_TYPER reads {typer:#x} ({} lines, {} CPU interface)",
        gicd.info().lines,
        gicd.info().cpus
    );
    if program_distributor(&gicd).is_err() {
        fail(0);
    }
    crate::println!(
        "guest: its distributor enabled: SPIs {}-{} edge-triggered at their priorities, its timer (INTID {}) at {:#04x}",
        software_intid(0).get(),
        software_intid(SOFTWARE.len() - 1).get(),
        board::VIRT_TIMER_INTID.get(),
        TIMER_PRIORITY.get()
    );
    probe_aborts();
    call(hvc::READY, 0);

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

/// The synchronous exception a probe expects: set before the access, and
/// cleared, with ESR_EL1 and FAR_EL1 recorded, by `guest_sync_handler`.
static EXPECTING: AtomicU32 = AtomicU32::new(0);
/// ESR_EL1 of the last expected exception.
static SEEN_ESR: AtomicU64 = AtomicU64::new(0);
/// FAR_EL1 of the last expected exception.
static SEEN_FAR: AtomicU64 = AtomicU64::new(0);

/// An IPA where stage 2 maps nothing (QEMU's first virtio-mmio transport,
/// which the hypervisor does not give the guest).
pub const UNMAPPED_IPA: u64 = 0x0A00_0000;

/// What the probes saw: a halfword GICD read's value, and the ESR_EL1 and
/// FAR_EL1 of the two aborts (a GICD load pair, an unmapped IPA).
#[derive(Clone, Copy, Default)]
pub struct Probes {
    /// LDRH of GICD_TYPER: a width GICD does not allow reads as zero.
    pub halfword: u64,
    /// LDP from GICD (no syndrome, ISV = 0): ESR_EL1, FAR_EL1, or zeros if
    /// no exception was taken.
    pub pair: (u64, u64),
    /// LDR from [`UNMAPPED_IPA`]: ESR_EL1, FAR_EL1.
    pub unmapped: (u64, u64),
}

static PROBES: [AtomicU64; 5] = [const { AtomicU64::new(0) }; 5];

/// What the probes saw (for the hypervisor, once the guest is done).
pub fn probes() -> Probes {
    let v = |i: usize| PROBES[i].load(Ordering::Relaxed);
    Probes {
        halfword: v(0),
        pair: (v(1), v(2)),
        unmapped: (v(3), v(4)),
    }
}

/// Accesses the hypervisor cannot serve as loads and stores: the
/// architecture's answers are RAZ/WI for a width GICD does not allow, and
/// a synchronous external abort (injected by the hypervisor) for a GICD
/// access without a syndrome and for an IPA with nothing behind it. Each
/// abort is taken by `guest_sync_handler`, which skips the instruction.
fn probe_aborts() {
    let halfword: u64;
    // SAFETY: a load from the guest's GICD page, which the hypervisor
    // emulates; it changes no memory.
    unsafe {
        asm!("ldrh {v:w}, [{a}]", v = out(reg) halfword,
             a = in(reg) board::GICD_BASE + gicd::offset::TYPER, options(nostack, readonly))
    };
    PROBES[0].store(halfword, Ordering::Relaxed);
    crate::println!("guest: a halfword read of its GICD_TYPER reads {halfword:#x} (RAZ)");

    let pair = expect_abort(|| {
        // SAFETY: a load pair from the guest's GICD page: it has no
        // syndrome, so the hypervisor injects an external abort, which
        // guest_sync_handler takes and skips; no memory is written.
        unsafe {
            asm!("ldp {a:w}, {b:w}, [{p}]", a = out(reg) _, b = out(reg) _,
                 p = in(reg) board::GICD_BASE, options(nostack, readonly))
        };
    });
    PROBES[1].store(pair.0, Ordering::Relaxed);
    PROBES[2].store(pair.1, Ordering::Relaxed);
    crate::println!(
        "guest: a load pair from its GICD took an external abort: ESR_EL1 {:#x}, FAR_EL1 {:#x}",
        pair.0,
        pair.1
    );

    let unmapped = expect_abort(|| {
        // SAFETY: a load from an IPA stage 2 leaves unmapped: the
        // hypervisor injects an external abort, which guest_sync_handler
        // takes and skips; no memory is written.
        unsafe {
            asm!("ldr {v:w}, [{p}]", v = out(reg) _, p = in(reg) UNMAPPED_IPA,
                 options(nostack, readonly))
        };
    });
    PROBES[3].store(unmapped.0, Ordering::Relaxed);
    PROBES[4].store(unmapped.1, Ordering::Relaxed);
    crate::println!(
        "guest: a read of IPA {UNMAPPED_IPA:#x} (nothing there) took an external abort: ESR_EL1 {:#x}, FAR_EL1 {:#x}",
        unmapped.0,
        unmapped.1
    );
}

/// Runs `access`, which must take one synchronous exception; returns its
/// ESR_EL1 and FAR_EL1 (zeros if none was taken).
fn expect_abort(access: impl FnOnce()) -> (u64, u64) {
    SEEN_ESR.store(0, Ordering::Relaxed);
    SEEN_FAR.store(0, Ordering::Relaxed);
    EXPECTING.store(1, Ordering::Relaxed);
    access();
    EXPECTING.store(0, Ordering::Relaxed);
    (
        SEEN_ESR.load(Ordering::Relaxed),
        SEEN_FAR.load(Ordering::Relaxed),
    )
}

/// Called by `guest_sync` for a synchronous exception at EL1: one a probe
/// expects is recorded and its instruction skipped (ELR_EL1 += 4); any
/// other is a failure.
#[no_mangle]
extern "C" fn guest_sync_handler() {
    let esr = ESR_EL1.get();
    if EXPECTING.load(Ordering::Relaxed) == 0 {
        fail(esr);
    }
    EXPECTING.store(0, Ordering::Relaxed);
    SEEN_ESR.store(esr, Ordering::Relaxed);
    SEEN_FAR.store(FAR_EL1.get(), Ordering::Relaxed);
    ELR_EL1.set(ELR_EL1.get() + 4);
}

/// Programs the guest's distributor (through the vGIC): the software
/// interrupts edge-triggered at their priorities and enabled, the timer's
/// PPI enabled, then GICD_CTLR. On one CPU interface GICD_ITARGETSR is
/// RAZ/WI, so no targets are set.
///
/// `set_trigger` takes the driver's spin lock: an exclusive load/store on
/// memory that, with the guest's MMU off, is Device memory (fine on QEMU,
/// which does not restrict exclusives by memory type).
fn program_distributor(gicd: &Distributor<Mmio>) -> Result<(), gic_driver::Error> {
    for (n, &priority) in SOFTWARE.iter().enumerate() {
        let id = software_intid(n);
        gicd.set_trigger(id, Trigger::Edge)?;
        gicd.set_priority(id, Priority(priority))?;
        gicd.enable_interrupt(id)?;
    }
    gicd.set_priority(board::VIRT_TIMER_INTID, TIMER_PRIORITY)?;
    gicd.enable_interrupt(board::VIRT_TIMER_INTID)?;
    gicd.enable();
    Ok(())
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

/// `hvc #0` with the call in x0 and its argument in x1, for a call that
/// returns: its result (x0).
fn call(call: u64, arg: u64) -> u64 {
    let result;
    // SAFETY: HVC traps to EL2 (ESR_EL2.EC = 0x16), which handles `call`,
    // writes x0 and resumes after the `hvc`; no memory is touched.
    unsafe {
        asm!("hvc #0", inlateout("x0") call => result, in("x1") arg, options(nomem, nostack))
    };
    result
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
