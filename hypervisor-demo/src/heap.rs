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
//! module provides it by masking IRQs (the hypervisor runs on one CPU), so
//! no exclusive load/store is needed on memory that, with the MMU off, is
//! Device memory.

use core::mem::MaybeUninit;
use core::sync::atomic::{AtomicBool, Ordering};

use aarch64_cpu::registers::{Readable, Writeable, DAIF};
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

/// The critical section `embedded-alloc` locks with: IRQs masked on the
/// only running CPU.
struct MaskIrqs;

critical_section::set_impl!(MaskIrqs);

// SAFETY: with one CPU running, masking IRQs (PSTATE.I, and F, A, D with
// it) keeps every other context out until `release` restores PSTATE.DAIF
// as `acquire` found it; nesting works because each level restores the
// state it saw.
unsafe impl critical_section::Impl for MaskIrqs {
    unsafe fn acquire() -> u64 {
        let daif = DAIF.get();
        DAIF.write(DAIF::D::Masked + DAIF::A::Masked + DAIF::I::Masked + DAIF::F::Masked);
        daif
    }

    unsafe fn release(daif: u64) {
        DAIF.set(daif);
    }
}
