//! A vCPU context saved by this version of the driver, checked into
//! `tests/golden/`: every later version must load it, save the very same
//! bytes, and restore it into the model. Regenerate (only on an intended
//! format change, which must stay readable) with
//! `GIC_DRIVER_BLESS=1 cargo test -p gic-driver --test golden_context`.

use std::path::PathBuf;

use gic_driver::virt::LrState;
use gic_driver::{
    CpuInterface, CpuInterfaceConfig, EoiMode, Group, ListRegister, Priority, VcpuContext,
};
use gic_model::Frame;

mod common;
use common::*;

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/vcpu_context_v1.bin")
}

/// A Group 1 software interrupt with the EOI maintenance bit.
fn group1_eoi(n: u32, prio: u8) -> ListRegister {
    ListRegister::software(id(n), Priority(prio), Group::Group1)
        .unwrap()
        .with_eoi_maintenance()
}

/// A vCPU with one interrupt active, three pending in list registers and
/// two waiting in the queue, switched out of a QEMU-shaped GIC.
fn build() -> Vec<u8> {
    let g = qemu();
    let mut vif = hypervisor(&g);
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    guest
        .init(&CpuInterfaceConfig {
            priority_mask: Priority(0xF0),
            binary_point: 3,
            eoi_mode: EoiMode::Split,
            ..CpuInterfaceConfig::default()
        })
        .unwrap();
    for (n, p) in [
        (40, 0x20),
        (41, 0x40),
        (42, 0x60),
        (43, 0x80),
        (44, 0xA0),
        (45, 0xC0),
    ] {
        vif.inject(group1_eoi(n, p)).unwrap();
    }
    let ack = guest.acknowledge().unwrap();
    assert_eq!(ack.intid().get(), 40);
    let ctx: VcpuContext = vif.switch_out().unwrap();
    let mut buf = [0u8; 256];
    let n = ctx.to_bytes(&mut buf).unwrap();
    buf[..n].to_vec()
}

#[test]
fn golden_vcpu_context_loads_saves_unchanged_and_restores_into_the_model() {
    if std::env::var_os("GIC_DRIVER_BLESS").is_some() {
        std::fs::write(golden_path(), build()).unwrap();
    }
    let bytes = std::fs::read(golden_path()).expect("golden file");
    assert_eq!(build(), bytes, "this version writes the golden bytes");

    let ctx: VcpuContext = VcpuContext::from_bytes(&bytes).unwrap();
    let mut again = [0u8; 256];
    let n = ctx.to_bytes(&mut again).unwrap();
    assert_eq!(&again[..n], &bytes[..], "re-saved bytes differ");
    assert_eq!(ctx.queued_len(), 2);
    assert_eq!(ctx.list_register(0).unwrap().state(), LrState::Active);
    assert_eq!(ctx.vmcr().eoi_mode(), EoiMode::Split);

    // The model reads the same bytes (skipping the driver's queue section).
    let g = qemu();
    g.lock().set_vcpu_from_bytes(0, &bytes).unwrap();
    let guest = CpuInterface::new(g.frame(Frame::Gicv, 0));
    assert_eq!(guest.running_priority(), Priority(0x20));
    assert_eq!(guest.eoi_mode(), EoiMode::Split);
    assert_eq!(guest.priority_mask(), Priority(0xF0));
    assert_eq!(guest.highest_pending().map(|a| a.intid().get()), Some(41));
}

mod damaged {
    use gic_driver::VcpuContext;
    use proptest::prelude::*;

    proptest! {
        /// Flipped bytes and truncations of a real context never panic:
        /// either a typed error, or a context that saves to bytes which
        /// load back to the same context.
        #[test]
        fn damaged_contexts_are_refused_or_load_consistently(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..6),
            cut in any::<usize>(),
        ) {
            let mut bytes = super::build();
            for (at, x) in flips {
                let n = bytes.len();
                bytes[at % n] ^= x;
            }
            bytes.truncate(cut % (bytes.len() + 1));
            if let Ok(ctx) = VcpuContext::<32>::from_bytes(&bytes) {
                let mut buf = [0u8; 512];
                let n = ctx.to_bytes(&mut buf).unwrap();
                let again = VcpuContext::<32>::from_bytes(&buf[..n]).unwrap();
                prop_assert_eq!(again, ctx);
            }
        }
    }
}
