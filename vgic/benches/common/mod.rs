//! What the vGIC benchmark (`benches/vgic.rs`) and its minimum-of-batches
//! companion (`examples/vgic_min.rs`) share.
#![allow(dead_code)]

use gic_driver::regs::gicd::offset as d;
use gic_vgic::trap::{AccessWidth, EC_DATA_ABORT_LOWER};
use gic_vgic::{Vgic, VgicConfig};

pub const GICD_IPA: u64 = 0x0800_0000;

/// ESR_EL2 of a 32-bit load or store through W5 (ISV set).
pub fn esr(write: bool) -> u64 {
    EC_DATA_ABORT_LOWER << 26 | 1 << 25 | 1 << 24 | 2 << 22 | 5 << 16 | u64::from(write) << 6 | 0x07
}

/// A guest's distributor with forwarding on and `n` edge-triggered SPIs
/// (40..) enabled and pending.
pub fn vgic_with_pending(n: u32) -> Vgic {
    let vgic = Vgic::new(VgicConfig::default()).unwrap();
    let w = AccessWidth::Word;
    vgic.write(0, d::CTLR, w, 1);
    vgic.write(0, d::ICFGR + 8, w, 0xAAAA_AAAA);
    for i in 0..n {
        vgic.write(0, d::ISENABLER + 4, w, 1 << (8 + i));
        vgic.write(0, d::ISPENDR + 4, w, 1 << (8 + i));
    }
    vgic
}
