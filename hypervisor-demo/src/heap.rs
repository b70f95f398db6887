//! The hypervisor's heap: a fixed arena in `.bss` behind `embedded-alloc`'s
//! linked-list allocator, used only while the guest's device tree is
//! written (with `vm-fdt`, which builds its blob in `alloc` vectors).
//!
//! Why an allocator at all: `vm-fdt` (rust-vmm's device-tree writer, the
//! one crosvm and Firecracker-era VMMs use) checks what it writes (node
//! nesting, property order, one string table) and needs `alloc`. A fixed
//! arena keeps the rest of the hypervisor allocation-free: nothing else
//! allocates, the arena is sized for QEMU's tree (a few KiB of structure)
//! with a wide margin, and running out is a clean error (`vm-fdt` returns
//! it, or the allocation-error handler panics with a message), never
//! memory corruption.
//!
//! `embedded-alloc` takes a `critical-section` lock around each call; this
//! module provides it by masking this CPU's interrupts and taking a spin
//! lock shared by the CPUs (an exclusive compare-and-swap, valid on the
//! Normal memory of EL2's identity map, [`mmu`](crate::mmu)).

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, DAIF, MPIDR_EL1};
use embedded_alloc::LlffHeap;

/// Bytes in the arena.
const ARENA_SIZE: usize = 256 * 1024;

/// The arena (zeroed at boot with the rest of `.bss`).
static mut ARENA: [MaybeUninit<u8>; ARENA_SIZE] = [MaybeUninit::uninit(); ARENA_SIZE];

#[global_allocator]
static HEAP: LlffHeap = LlffHeap::empty();

/// Set once the arena is handed to the allocator.
static READY: AtomicBool = AtomicBool::new(false);

/// Hands the arena to the allocator (once; later calls do nothing).
pub fn init() {
    if READY.load(Ordering::Relaxed) {
        return;
    }
    READY.store(true, Ordering::Relaxed);
    // SAFETY: called once (READY), before anything allocates; the arena is
    // a static used by nothing else, so the allocator owns it from now on.
    unsafe { HEAP.init(core::ptr::addr_of_mut!(ARENA) as usize, ARENA_SIZE) }
}

/// The critical section `embedded-alloc` locks with: this CPU's
/// interrupts masked and [`CS_OWNER`] held.
struct MaskIrqs;

critical_section::set_impl!(MaskIrqs);

/// The CPU in the critical section (MPIDR affinity with bit 63 set), or 0.
static CS_OWNER: AtomicU64 = AtomicU64::new(0);

/// Bit 62 of `acquire`'s token: this level took the lock (an outer level
/// of the same CPU holds it otherwise). PSTATE.DAIF uses bits 9:6.
const TOOK_LOCK: u64 = 1 << 62;

// SAFETY: masking interrupts (PSTATE.D, A, I, F) keeps this CPU's other
// contexts out, and CS_OWNER the other CPUs, until `release` frees the
// lock and restores PSTATE.DAIF as `acquire` found it; a nested acquire on
// the owning CPU takes nothing and its release frees nothing.
unsafe impl critical_section::Impl for MaskIrqs {
    unsafe fn acquire() -> u64 {
        let daif = DAIF.get();
        DAIF.write(DAIF::D::Masked + DAIF::A::Masked + DAIF::I::Masked + DAIF::F::Masked);
        let me = (MPIDR_EL1.get() & 0xFF_00FF_FFFF) | 1 << 63;
        if CS_OWNER.load(Ordering::Relaxed) == me {
            return daif;
        }
        while CS_OWNER
            .compare_exchange_weak(0, me, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        daif | TOOK_LOCK
    }

    unsafe fn release(token: u64) {
        if token & TOOK_LOCK != 0 {
            CS_OWNER.store(0, Ordering::Release);
        }
        DAIF.set(token & !TOOK_LOCK);
    }
}
