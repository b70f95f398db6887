//! Stage-2 data aborts: a guest load or store to an IPA that stage 2 does
//! not map (ESR_EL2.EC 0x24).
//!
//! The syndrome is decoded by `gic-vgic`'s [`MmioAccess::decode`] (ISV,
//! SAS, SSE, SRT, SF, WnR from ESR_EL2; the IPA from HPFAR_EL2 and
//! FAR_EL2). Then:
//!
//! | where, what | handled as |
//! |---|---|
//! | the GICD page, with a syndrome | served by the vGIC ([`Vgic::read`](gic_vgic::Vgic::read) / [`write`](gic_vgic::Vgic::write)); a load's value goes to its register (SSE/SF applied, XZR ignored); a width GICD does not allow (halfword, doubleword) reads as zero and ignores writes (the vGIC's RAZ/WI); the instruction is skipped (ELR_EL2 += 4) |
//! | the GICD page, no syndrome (ISV = 0: a pair, a write-back, a SIMD register) | a synchronous external abort injected: the access cannot be emulated, as KVM does |
//! | anywhere else (no RAM, no device there) | a synchronous external abort injected |
//!
//! None of these can hang or crash the hypervisor.

use gic_driver::regs::gicd;
use gic_vgic::trap::MmioAccess;

use crate::board;
use crate::inject::{self, Exception};
use crate::stats::ExitReason;
use crate::vcpu::GuestRegs;
use crate::vm::Vm;

/// ESR_EL2.IL: the trapped instruction is 32 bits wide.
const ESR_IL: u64 = 1 << 25;

/// Handles the data abort whose syndrome is `esr`, `far`, `hpfar`; returns
/// how it was handled, for the counts.
pub fn data_abort(vm: &mut Vm, regs: &mut GuestRegs, esr: u64, far: u64, hpfar: u64) -> ExitReason {
    let il = esr & ESR_IL != 0;
    // The IPA of the page, for aborts without a syndrome too.
    let page = ((hpfar >> 4) & ((1 << 36) - 1)) << 12;
    let gicd_base = board::GICD_BASE as u64;
    let in_gicd = page == gicd_base;
    match MmioAccess::decode(esr, far, hpfar) {
        Ok(access) => match access.offset_in(gicd_base, gicd::offset::FRAME_SIZE as u64) {
            Some(offset) => {
                vm.gicd_access(offset, &access, regs);
                regs.elr += 4;
                ExitReason::GicdAccess
            }
            None => {
                inject::inject(regs, Exception::DataAbort { far }, il);
                ExitReason::DataAbort
            }
        },
        Err(_) => {
            if in_gicd {
                vm.stats.gicd_refused += 1;
            }
            inject::inject(regs, Exception::DataAbort { far }, il);
            ExitReason::DataAbort
        }
    }
}
