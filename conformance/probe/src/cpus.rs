//! The secondary CPUs: started with PSCI CPU_ON, then each serves register
//! accesses that CPU 0 hands it through its mailbox.
//!
//! With `virtualization=on` and no firmware, QEMU's `virt` board emulates
//! PSCI on the SMC conduit and keeps the secondary CPUs powered off until
//! CPU_ON (PSCI 1.1, 5.1.4: function 0xC400_0003, x1 the target's MPIDR,
//! x2 the entry point, x3 the context id passed in x0).
//!
//! The mailbox protocol works with the MMU off, where RAM is Device
//! memory and exclusives are not guaranteed: only plain loads and stores
//! (Relaxed atomic loads and stores compile to those), ordered by DSB and
//! DMB, with SEV for a CPU that waits in WFE (the probe polls instead:
//! QEMU's WFE is a yield that slows everything down). CPU 0 writes the request,
//! DSB, then bumps `request`, DSB, SEV; the secondary sees the new
//! sequence number, DMB, reads the request, makes the access, writes the
//! answer, DSB, sets `done` to the sequence number, DSB, SEV; CPU 0 sees
//! `done`, DMB, reads the answer.

use core::arch::asm;
use core::sync::atomic::{AtomicU32, Ordering::Relaxed};

use aarch64_cpu::asm::barrier::{dmb, dsb, SY};
use aarch64_cpu::asm::{sev, wfe};
use gic_conformance_format::{prologue_for, prologue_order, Access, Frame, Op, Width};

use crate::gic::{self, Answer};

/// Most CPUs the probe supports (a GICv2 has at most 8 CPU interfaces).
pub const MAX_CPUS: usize = 8;

/// A request: read, write, or the CPU's share of the prologue (for
/// `value` CPUs).
const ACCESS_READ: u32 = 0;
const ACCESS_WRITE: u32 = 1;
const RUN_PROLOGUE: u32 = 2;

/// PSCI CPU_ON, SMC64 calling convention.
const PSCI_CPU_ON: u64 = 0xC400_0003;

/// One secondary CPU's mailbox.
struct Mailbox {
    /// 1 once the CPU runs Rust.
    alive: AtomicU32,
    /// Sequence number of the last request CPU 0 made.
    request: AtomicU32,
    frame: AtomicU32,
    offset: AtomicU32,
    /// 1 for a byte access, 4 for a word.
    width: AtomicU32,
    /// [`ACCESS_READ`], [`ACCESS_WRITE`] or [`RUN_PROLOGUE`].
    kind: AtomicU32,
    value: AtomicU32,
    /// The value read.
    result: AtomicU32,
    /// 1 if the access aborted.
    aborted: AtomicU32,
    /// Sequence number of the last request served.
    done: AtomicU32,
}

impl Mailbox {
    const fn new() -> Mailbox {
        Mailbox {
            alive: AtomicU32::new(0),
            request: AtomicU32::new(0),
            frame: AtomicU32::new(0),
            offset: AtomicU32::new(0),
            width: AtomicU32::new(0),
            kind: AtomicU32::new(0),
            value: AtomicU32::new(0),
            result: AtomicU32::new(0),
            aborted: AtomicU32::new(0),
            done: AtomicU32::new(0),
        }
    }
}

static MAILBOXES: [Mailbox; MAX_CPUS] = [const { Mailbox::new() }; MAX_CPUS];

extern "C" {
    /// The secondary CPUs' entry point, in [`boot`](crate::boot).
    fn secondary_entry();
}

/// Starts CPU `cpu` (MPIDR Aff0 = `cpu` on QEMU virt) and waits until it
/// runs Rust. Returns PSCI's error code if CPU_ON failed.
pub fn start(cpu: usize) -> Result<(), i64> {
    let status: i64;
    // SAFETY: a PSCI call through the SMC conduit QEMU emulates; it starts
    // the named CPU at `secondary_entry` with x0 = `cpu`, and changes no
    // memory of this CPU. x1-x17 may be clobbered by an SMCCC 1.0 callee.
    unsafe {
        asm!(
            "smc #0",
            inout("x0") PSCI_CPU_ON => status,
            inout("x1") cpu as u64 => _,
            inout("x2") secondary_entry as *const () as u64 => _,
            inout("x3") cpu as u64 => _,
            out("x4") _, out("x5") _, out("x6") _, out("x7") _,
            out("x8") _, out("x9") _, out("x10") _, out("x11") _,
            out("x12") _, out("x13") _, out("x14") _, out("x15") _,
            out("x16") _, out("x17") _,
            options(nostack),
        );
    }
    if status != 0 {
        return Err(status);
    }
    let m = &MAILBOXES[cpu];
    while m.alive.load(Relaxed) == 0 {
        wfe();
    }
    dmb(SY);
    Ok(())
}

/// Makes `a` on CPU `a.cpu`: directly on CPU 0, else through the mailbox.
pub fn access_on(a: &Access) -> Answer {
    let cpu = a.cpu as usize;
    if cpu == 0 {
        return gic::access(0, a);
    }
    let (kind, value) = match a.op {
        Op::Read => (ACCESS_READ, 0),
        Op::Write(v) => (ACCESS_WRITE, v),
    };
    request(
        cpu,
        kind,
        a.frame.index() as u32,
        a.offset,
        a.width.bytes(),
        value,
    )
}

/// Runs the prologue for `cpus` CPUs: each CPU its share, in the order
/// the format defines (the secondaries through their mailboxes, one
/// request each).
pub fn run_prologue(cpus: u8) {
    for cpu in prologue_order(cpus) {
        if cpu == 0 {
            prologue_for(cpus, 0).for_each(|a| {
                gic::access(0, &a);
            });
        } else {
            request(cpu as usize, RUN_PROLOGUE, 0, 0, 0, cpus as u32);
        }
    }
}

/// Hands a request to secondary CPU `cpu` and waits for its answer.
fn request(cpu: usize, kind: u32, frame: u32, offset: u32, width: u32, value: u32) -> Answer {
    let m = &MAILBOXES[cpu % MAX_CPUS];
    m.kind.store(kind, Relaxed);
    m.frame.store(frame, Relaxed);
    m.offset.store(offset, Relaxed);
    m.width.store(width, Relaxed);
    m.value.store(value, Relaxed);
    dsb(SY);
    let seq = m.request.load(Relaxed).wrapping_add(1);
    m.request.store(seq, Relaxed);
    dsb(SY);
    sev();
    // Polling, not WFE: QEMU's TCG implements WFE as a yield to its main
    // loop, which makes every CPU's MMIO access many times slower.
    while m.done.load(Relaxed) != seq {}
    dmb(SY);
    if m.aborted.load(Relaxed) != 0 {
        Answer::Abort
    } else {
        Answer::Value(m.result.load(Relaxed))
    }
}

/// A secondary CPU's life: say it is alive, then serve its mailbox.
#[no_mangle]
extern "C" fn secondary_main(cpu: u64) -> ! {
    let cpu = cpu as usize % MAX_CPUS;
    let m = &MAILBOXES[cpu];
    m.alive.store(1, Relaxed);
    dsb(SY);
    sev();
    let mut served = 0;
    loop {
        let seq = m.request.load(Relaxed);
        if seq == served {
            // Polling (see `request`).
            continue;
        }
        dmb(SY);
        let kind = m.kind.load(Relaxed);
        let value = m.value.load(Relaxed);
        let answer = if kind == RUN_PROLOGUE {
            prologue_for(value as u8, cpu as u8).for_each(|a| {
                gic::access(cpu, &a);
            });
            Answer::Value(0)
        } else {
            let a = Access {
                frame: Frame::ALL[m.frame.load(Relaxed) as usize % 4],
                cpu: cpu as u8,
                offset: m.offset.load(Relaxed),
                width: if m.width.load(Relaxed) == 1 {
                    Width::Byte
                } else {
                    Width::Word
                },
                op: if kind == ACCESS_WRITE {
                    Op::Write(value)
                } else {
                    Op::Read
                },
            };
            gic::access(cpu, &a)
        };
        let (result, aborted) = match answer {
            Answer::Value(v) => (v, 0),
            Answer::Abort => (0, 1),
        };
        m.result.store(result, Relaxed);
        m.aborted.store(aborted, Relaxed);
        dsb(SY);
        m.done.store(seq, Relaxed);
        dsb(SY);
        sev();
        served = seq;
    }
}
