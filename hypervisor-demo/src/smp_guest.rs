//! The built-in SMP guest (phase 3 of the demo, with more than one CPU):
//! the same small program on every vCPU, at EL1 with its MMU off, that
//! sends virtual SGIs to every other vCPU with each GICD_SGIR target
//! filter and counts what it receives by source.
//!
//! vCPU 0 starts at [`entry`] (the hypervisor's CPU_ON of it, x0 = 0); it
//! enables its distributor (GICD_CTLR, through the vGIC), checks two PSCI
//! CPU_ON errors (its own MPIDR: ALREADY_ON; an MPIDR no vCPU has:
//! INVALID_PARAMETERS) and starts every other vCPU n with PSCI CPU_ON at
//! the same entry, x0 = n. Then each vCPU n:
//!
//! 1. checks that MPIDR_EL1 (the hypervisor's VMPIDR_EL2) says n;
//! 2. enables SGIs [`SGI_LIST`], [`SGI_OTHERS`], [`SGI_SELF`] in its banked
//!    GICD_ISENABLER0 and its CPU interface (GICV, through its GICC
//!    address), and unmasks IRQs;
//! 3. says it is ready and waits until every vCPU is;
//! 4. writes GICD_SGIR: [`SGI_LIST`] to each other vCPU by target list,
//!    [`SGI_OTHERS`] with the all-but-self filter, [`SGI_SELF`] with the
//!    self filter;
//! 5. counts each SGI it acknowledges (GICV_IAR) by INTID and source
//!    (GICV_IAR.CPUID) until it has the 2 (N - 1) + 1 it expects, then
//!    listens a little longer for any that repeat;
//! 6. vCPUs other than 0 turn themselves off (PSCI CPU_OFF); vCPU 0 waits
//!    until AFFINITY_INFO says each is off, then reports DONE (`hvc`).
//!
//! The counts, the checks and the ready flags are in the guest's shared
//! section (`.bss.guest_shared`): plain loads and stores (each count has
//! one writer), which with every vCPU's MMU off go to memory; the
//! hypervisor reads them once the run is over ([`counts`]).

use core::arch::{asm, global_asm};
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};

use aarch64_cpu::asm::barrier;
use aarch64_cpu::registers::{
    ReadWriteable, Readable, CNTFRQ_EL0, CNTVCT_EL0, DAIF, ESR_EL1, MPIDR_EL1,
};
use gic_driver::bus::Mmio;
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, CpuMask, Distributor, EoiMode, IntId, Priority, SgiTarget,
};

use crate::board::{self, MAX_CPUS};

/// Hypercalls: `hvc #0` with the call number in x0.
pub mod hvc {
    /// vCPU 0: every vCPU is done and off. Does not return.
    pub const DONE: u64 = 0x10;
    /// A vCPU failed; x1 = ESR_EL1 of an unexpected exception, or one of
    /// the `FAIL_` codes. Does not return.
    pub const FAIL: u64 = 0x11;
    /// The guest's GIC refused to be programmed.
    pub const FAIL_GIC: u64 = 1 << 32;
}

/// The SGI each vCPU sends to every other by target list.
pub const SGI_LIST: u32 = 1;
/// The SGI each vCPU sends with the all-but-self filter.
pub const SGI_OTHERS: u32 = 2;
/// The SGI each vCPU sends with the self filter.
pub const SGI_SELF: u32 = 3;
/// The SGIs, in the order of the counts.
pub const SGIS: [u32; 3] = [SGI_LIST, SGI_OTHERS, SGI_SELF];

/// PSCI function IDs the guest calls (SMC64 where there are two).
const PSCI_CPU_ON: u64 = 0xC400_0003;
const PSCI_CPU_OFF: u64 = 0x8400_0002;
const PSCI_AFFINITY_INFO: u64 = 0xC400_0004;
/// AFFINITY_INFO's answer for an affinity instance that is off.
const AFFINITY_OFF: u64 = 1;
/// An MPIDR no vCPU has.
const NO_SUCH_MPIDR: u64 = 0xFF;

/// How long a vCPU waits for the others, and for its SGIs.
const DEADLINE_US: u64 = 2_000_000;
/// How long it listens once it has them all.
const LINGER_US: u64 = 5_000;

/// The guest's GIC CPU interface: its GICC address, the GICV frame of the
/// CPU it runs on underneath.
static GICV: CpuInterface<Mmio> = CpuInterface::new(
    // SAFETY: stage 2 maps the guest's GICC address to the GICV frame as
    // Device memory, and only the guest uses it.
    unsafe { Mmio::new(board::GICC_BASE) },
);

/// `COUNTS[v][s][src]`: how many times vCPU v acknowledged `SGIS[s]` from
/// vCPU `src`.
#[link_section = ".bss.guest_shared"]
static COUNTS: [[[AtomicU8; MAX_CPUS]; 3]; MAX_CPUS] =
    [const { [const { [const { AtomicU8::new(0) }; MAX_CPUS] }; 3] }; MAX_CPUS];
/// Interrupts other than those SGIs each vCPU acknowledged.
#[link_section = ".bss.guest_shared"]
static OTHERS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Set by each vCPU once it is ready to receive.
#[link_section = ".bss.guest_shared"]
static READY: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// What each vCPU read as MPIDR_EL1 (affinity, with bit 63 set once read).
#[link_section = ".bss.guest_shared"]
static MPIDR: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
/// vCPU 0's PSCI results: CPU_ON of itself, CPU_ON of [`NO_SUCH_MPIDR`],
/// the worst CPU_ON of another vCPU, the vCPUs AFFINITY_INFO found off.
#[link_section = ".bss.guest_shared"]
static PSCI: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];

// SAFETY (of the whole block): the vector table is 2 KiB aligned as
// VBAR_EL1 requires and every entry fits in 0x80 bytes. `smp_guest_irq`
// saves every register the AAPCS64 lets the Rust handler clobber on a
// 16-byte aligned frame of the vCPU's stack and restores them before
// `eret`. `smp_guest_start` writes CPACR_EL1, VBAR_EL1 and TPIDR_EL1 (its
// vCPU number) and takes stack n of the `.bss` region below, which only
// vCPU n uses.
global_asm!(
    r#"
    .macro smp_guest_trap index
    .balign 0x80
    mov     x0, #\index
    b       smp_guest_unexpected
    .endm

    .section .text.smp_guest, "ax"
    .balign 0x800
smp_guest_vectors:
    smp_guest_trap 0
    smp_guest_trap 1
    smp_guest_trap 2
    smp_guest_trap 3
    smp_guest_trap 4
    .balign 0x80
    b       smp_guest_irq
    smp_guest_trap 6
    smp_guest_trap 7
    smp_guest_trap 8
    smp_guest_trap 9
    smp_guest_trap 10
    smp_guest_trap 11
    smp_guest_trap 12
    smp_guest_trap 13
    smp_guest_trap 14
    smp_guest_trap 15

    .equ    SMP_FRAME, 688
    .equ    SMP_FRAME_FPCR, 160
    .equ    SMP_FRAME_Q, 176
smp_guest_irq:
    sub     sp, sp, #SMP_FRAME
    "#,
    caller_saved_x!(stp),
    r#"
    mrs     x0, fpcr
    mrs     x1, fpsr
    stp     x0, x1, [sp, #SMP_FRAME_FPCR]
    add     x0, sp, #SMP_FRAME_Q
    "#,
    q_regs!(stp, x0),
    r#"
    bl      smp_guest_irq_handler
    add     x0, sp, #SMP_FRAME_Q
    "#,
    q_regs!(ldp, x0),
    r#"
    ldp     x0, x1, [sp, #SMP_FRAME_FPCR]
    msr     fpcr, x0
    msr     fpsr, x1
    "#,
    caller_saved_x!(ldp),
    r#"
    add     sp, sp, #SMP_FRAME
    eret

    // Every vCPU's entry point, x0 = its number.
    .global smp_guest_start
smp_guest_start:
    mov     x1, #{CPACR_EL1_FP_ON}
    msr     cpacr_el1, x1
    adrp    x1, smp_guest_vectors
    add     x1, x1, :lo12:smp_guest_vectors
    msr     vbar_el1, x1
    msr     tpidr_el1, x0
    adrp    x1, smp_guest_stacks_top
    add     x1, x1, :lo12:smp_guest_stacks_top
    mov     x2, #{STACK}
    msub    x1, x0, x2, x1
    mov     sp, x1
    isb
    bl      smp_guest_main
1:  wfi
    b       1b

    // The vCPUs' stacks (SP_EL1), 16 KiB each.
    .section .bss.smp_guest_stacks, "aw", %nobits
    .balign 16
    .space  {STACK} * {CPUS}
smp_guest_stacks_top:
    "#,
    CPACR_EL1_FP_ON = const crate::boot::CPACR_EL1_FP_ON,
    STACK = const 0x4000,
    CPUS = const MAX_CPUS,
);

extern "C" {
    /// The entry point (only its address is used).
    fn smp_guest_start() -> !;
}

/// Where every vCPU of the SMP guest starts (x0 = its number).
pub fn entry() -> u64 {
    smp_guest_start as *const () as u64
}

/// How many times vCPU `v` acknowledged `SGIS[s]` from vCPU `src`.
pub fn counts(v: usize, s: usize, src: usize) -> u8 {
    COUNTS
        .get(v)
        .and_then(|c| c.get(s))
        .and_then(|c| c.get(src))
        .map_or(0, |c| c.load(Ordering::Relaxed))
}

/// Interrupts other than the three SGIs vCPU `v` acknowledged.
pub fn others(v: usize) -> u32 {
    OTHERS.get(v).map_or(0, |c| c.load(Ordering::Relaxed))
}

/// What vCPU `v` read as its MPIDR_EL1 affinity, if it ran.
pub fn mpidr(v: usize) -> Option<u64> {
    let m = MPIDR.get(v)?.load(Ordering::Relaxed);
    (m & 1 << 63 != 0).then_some(m & crate::smp::AFFINITY_MASK)
}

/// vCPU 0's PSCI results: CPU_ON of itself, of an MPIDR no vCPU has, the
/// first failed CPU_ON of another vCPU (0 if none), and how many vCPUs
/// AFFINITY_INFO found off at the end.
pub fn psci_results() -> [i64; 4] {
    PSCI.each_ref().map(|r| r.load(Ordering::Relaxed) as i64)
}

fn now() -> u64 {
    barrier::isb(barrier::SY);
    CNTVCT_EL0.get()
}

fn deadline(us: u64) -> u64 {
    now() + CNTFRQ_EL0.get() * us / 1_000_000
}

/// This vCPU's number (TPIDR_EL1, set at entry).
fn me() -> usize {
    let n: u64;
    // SAFETY: reading TPIDR_EL1 has no side effect.
    unsafe { asm!("mrs {}, tpidr_el1", out(reg) n, options(nomem, nostack)) };
    (n as usize).min(MAX_CPUS - 1)
}

/// A PSCI call through `hvc #0` (the guest's conduit): x0 = `function`,
/// x1-x3 the arguments; returns x0.
fn psci(function: u64, a: u64, b: u64, c: u64) -> u64 {
    let result;
    // SAFETY: HVC traps to EL2, which serves PSCI and resumes after it
    // with the result in x0 (SMCCC: x1-x3 may be clobbered); no memory is
    // touched.
    unsafe {
        asm!("hvc #0", inlateout("x0") function => result, inlateout("x1") a => _,
             inlateout("x2") b => _, inlateout("x3") c => _, options(nomem, nostack))
    };
    result
}

/// `hvc #0` with `call` and `arg`, for the calls that do not return.
fn hypercall(call: u64, arg: u64) -> ! {
    // SAFETY: HVC traps to EL2, which handles `call` and does not resume
    // this vCPU; no memory is touched.
    unsafe { asm!("hvc #0", in("x0") call, in("x1") arg, options(nomem, nostack)) };
    loop {
        aarch64_cpu::asm::wfi();
    }
}

/// The SMP guest's Rust entry, vCPU `n`, at EL1 with every exception
/// masked.
#[no_mangle]
extern "C" fn smp_guest_main(n: u64) -> ! {
    let n = n as usize;
    if let Some(m) = MPIDR.get(n) {
        m.store(
            (MPIDR_EL1.get() & crate::smp::AFFINITY_MASK) | 1 << 63,
            Ordering::Relaxed,
        );
    }
    // Its distributor is the vGIC: every access traps.
    // SAFETY: the guest's GICD address; the hypervisor emulates the page,
    // and only this Distributor uses it on this vCPU.
    let gicd = Distributor::new(unsafe { Mmio::new(board::GICD_BASE) });
    let vcpus = (gicd.info().cpus as usize).clamp(1, MAX_CPUS);
    if n == 0 {
        gicd.enable();
        let own = psci(
            PSCI_CPU_ON,
            MPIDR_EL1.get() & crate::smp::AFFINITY_MASK,
            entry(),
            0,
        );
        PSCI[0].store(own, Ordering::Relaxed);
        let none = psci(PSCI_CPU_ON, NO_SUCH_MPIDR, entry(), 0);
        PSCI[1].store(none, Ordering::Relaxed);
        for v in 1..vcpus {
            // QEMU virt's MPIDR of CPU v (up to 8): Aff0 = v.
            let r = psci(PSCI_CPU_ON, v as u64, entry(), v as u64);
            if r != 0 && PSCI[2].load(Ordering::Relaxed) == 0 {
                PSCI[2].store(r, Ordering::Relaxed);
            }
        }
    }
    let sgis = SGIS.map(|s| IntId::sgi(s).unwrap_or(IntId::SPURIOUS));
    let programmed = sgis.iter().try_for_each(|&id| {
        gicd.set_priority(id, Priority(0x80))?;
        gicd.enable_interrupt(id)
    });
    let config = CpuInterfaceConfig {
        priority_mask: Priority(0xF8),
        eoi_mode: EoiMode::Combined,
        ..CpuInterfaceConfig::default()
    };
    if programmed.is_err() || GICV.init(&config).is_err() {
        hypercall(hvc::FAIL, hvc::FAIL_GIC);
    }
    DAIF.modify(DAIF::I::Unmasked);
    barrier::isb(barrier::SY);

    READY[n].store(1, Ordering::Relaxed);
    barrier::dsb(barrier::SY);
    let until = deadline(DEADLINE_US);
    while READY[..vcpus]
        .iter()
        .any(|r| r.load(Ordering::Relaxed) == 0)
        && now() < until
    {
        core::hint::spin_loop();
    }

    barrier::dsb(barrier::SY);
    for v in (0..vcpus).filter(|&v| v != n) {
        if let Ok(mask) = CpuMask::cpu(v as u8) {
            let _ = gicd.send_sgi(sgis[0], SgiTarget::List(mask));
        }
    }
    let _ = gicd.send_sgi(sgis[1], SgiTarget::AllOthers);
    let _ = gicd.send_sgi(sgis[2], SgiTarget::SelfOnly);

    let expected = 2 * (vcpus - 1) + 1;
    let until = deadline(DEADLINE_US);
    while received(n) < expected && now() < until {
        core::hint::spin_loop();
    }
    let until = deadline(LINGER_US);
    while now() < until {
        core::hint::spin_loop();
    }
    DAIF.modify(DAIF::I::Masked);
    barrier::isb(barrier::SY);

    if n != 0 {
        psci(PSCI_CPU_OFF, 0, 0, 0);
        // CPU_OFF does not return.
        hypercall(hvc::FAIL, 0);
    }
    let until = deadline(DEADLINE_US);
    let off = loop {
        let off = (1..vcpus)
            .filter(|&v| psci(PSCI_AFFINITY_INFO, v as u64, 0, 0) == AFFINITY_OFF)
            .count();
        if off == vcpus - 1 || now() >= until {
            break off;
        }
    };
    PSCI[3].store(off as u64, Ordering::Relaxed);
    hypercall(hvc::DONE, 0)
}

/// The three SGIs vCPU `n` has acknowledged so far, from any source.
fn received(n: usize) -> usize {
    COUNTS[n]
        .iter()
        .flatten()
        .map(|c| c.load(Ordering::Relaxed) as usize)
        .sum()
}

/// Called by `smp_guest_irq` for each virtual IRQ: acknowledge (GICV_IAR),
/// count by SGI and source, end (GICV_EOIR).
#[no_mangle]
extern "C" fn smp_guest_irq_handler() {
    let n = me();
    GICV.handle_pending(|ack| {
        let id = ack.intid().get();
        let src = ack.source_cpu().unwrap_or(0) as usize;
        match SGIS.iter().position(|&s| s == id) {
            Some(s) if src < MAX_CPUS => {
                let c = &COUNTS[n][s][src];
                c.store(
                    c.load(Ordering::Relaxed).saturating_add(1),
                    Ordering::Relaxed,
                );
            }
            _ => {
                let c = &OTHERS[n];
                c.store(c.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
            }
        }
    });
}

/// Any other exception: report it and stop.
#[no_mangle]
extern "C" fn smp_guest_unexpected(_index: u64) -> ! {
    hypercall(hvc::FAIL, ESR_EL1.get())
}
