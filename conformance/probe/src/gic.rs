//! One register access on QEMU's GIC, made by the CPU that runs it.

use core::ptr;
use core::sync::atomic::{compiler_fence, Ordering};

use gic_conformance_format::{Access, Frame, Op, Width};

use crate::exceptions::ABORTED;

/// QEMU virt's GICv2 frames: GICD 0x0800_0000, GICC 0x0801_0000, GICH
/// (this CPU's) 0x0803_0000, GICV (this CPU's) 0x0804_0000.
const fn base(frame: Frame) -> usize {
    match frame {
        Frame::Gicd => 0x0800_0000,
        Frame::Gicc => 0x0801_0000,
        Frame::Gich => 0x0803_0000,
        Frame::Gicv => 0x0804_0000,
    }
}

/// What an access returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The value read (0 for a write).
    Value(u32),
    /// The access took a Data Abort.
    Abort,
}

/// Makes `a` on this CPU (`cpu`, its MPIDR_EL1.Aff0) and returns what it
/// read, or that it aborted.
pub fn access(cpu: usize, a: &Access) -> Answer {
    let flag = &ABORTED[cpu % ABORTED.len()];
    flag.store(0, Ordering::Relaxed);
    // The access must not move before the flag is cleared nor after it is read.
    compiler_fence(Ordering::SeqCst);
    let addr = base(a.frame) + a.offset as usize;
    // SAFETY: `addr` is inside one of QEMU virt's GIC frames (the scenario
    // format keeps offsets inside the frame and word accesses aligned),
    // Device memory with the MMU off; an access the GIC refuses aborts, and
    // the vector skips it and sets `flag`.
    let value = unsafe {
        match (a.op, a.width) {
            (Op::Read, Width::Word) => ptr::read_volatile(addr as *const u32),
            (Op::Read, Width::Byte) => ptr::read_volatile(addr as *const u8) as u32,
            (Op::Write(v), Width::Word) => {
                ptr::write_volatile(addr as *mut u32, v);
                0
            }
            (Op::Write(v), Width::Byte) => {
                ptr::write_volatile(addr as *mut u8, v as u8);
                0
            }
        }
    };
    compiler_fence(Ordering::SeqCst);
    if flag.load(Ordering::Relaxed) != 0 {
        Answer::Abort
    } else {
        Answer::Value(value)
    }
}
