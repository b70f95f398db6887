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
use gic_vgic::trap::{self, MmioAccess};

use crate::board;
use crate::inject::{self, Exception};
use crate::stats::ExitReason;
use crate::vcpu::GuestRegs;
use crate::vm::Vm;

/// Handles the data abort whose syndrome is `esr`, `far`, `hpfar`; returns
/// how it was handled, for the counts.
pub fn data_abort(vm: &mut Vm, regs: &mut GuestRegs, esr: u64, far: u64, hpfar: u64) -> ExitReason {
    let il = trap::is_32bit_instruction(esr);
    let gicd_base = board::GICD_BASE as u64;
    let gicd_size = gicd::offset::FRAME_SIZE as u64;
    // Where the access went, for aborts without a syndrome too.
    let ipa = trap::fault_ipa(far, hpfar);
    let in_gicd = (gicd_base..gicd_base + gicd_size).contains(&ipa);
    match MmioAccess::decode(esr, far, hpfar) {
        Ok(access) => match access.offset_in(gicd_base, gicd_size) {
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
