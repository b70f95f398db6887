//! No guest access makes the virtual GIC panic: any GICD offset, width and
//! value, from any vCPU number, served between a fold and a flush (whose
//! one-owner checks keep holding), and any trapped syndrome decoded.

mod common;

use common::*;
use gic_vgic::trap::{AccessWidth, MmioAccess};
use proptest::prelude::*;

fn width() -> impl Strategy<Value = AccessWidth> {
    prop_oneof![
        Just(AccessWidth::Byte),
        Just(AccessWidth::Halfword),
        Just(AccessWidth::Word),
        Just(AccessWidth::Doubleword),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    Read(u8, usize, AccessWidth),
    Write(u8, usize, AccessWidth, u32),
    Line(u8, u32, bool),
    Ack,
    Eoi,
}

fn offset() -> impl Strategy<Value = usize> {
    prop_oneof![
        6 => 0usize..0x1000,
        1 => any::<usize>(),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..3, offset(), width()).prop_map(|(c, o, w)| Op::Read(c, o, w)),
        6 => (0u8..3, offset(), width(), any::<u32>()).prop_map(|(c, o, w, v)| Op::Write(c, o, w, v)),
        2 => (0u8..3, 0u32..1100, any::<bool>()).prop_map(|(c, n, l)| Op::Line(c, n, l)),
        1 => Just(Op::Ack),
        1 => Just(Op::Eoi),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn no_gicd_access_of_any_offset_width_or_value_panics(
        ops in proptest::collection::vec(op(), 1..80)
    ) {
        let g = physical_gic();
        let m = Machine::new(&g);
        let guest = Guest::boot(&m);
        let mut stack = Vec::new();
        for op in ops {
            match op {
                Op::Read(c, o, w) => {
                    let v = m.exit(|vgic| vgic.read(c, o, w));
                    if w != AccessWidth::Word && w != AccessWidth::Byte || c != 0 {
                        prop_assert_eq!(v, 0, "unsupported: reads as zero");
                    }
                }
                Op::Write(c, o, w, v) => {
                    m.exit(|vgic| vgic.write(c, o, w, v));
                }
                Op::Line(c, n, l) => {
                    if let Ok(n) = gic_driver::IntId::new(n) {
                        m.exit(|vgic| {
                            let _ = vgic.set_line(c, n, l);
                        });
                    }
                }
                Op::Ack => {
                    if let Some(a) = guest.ack() {
                        stack.push(a);
                    }
                }
                Op::Eoi => {
                    if let Some(a) = stack.pop() {
                        guest.eoi(a);
                    }
                }
            }
            m.service();
        }
    }

    #[test]
    fn any_trapped_syndrome_decodes_or_is_refused_without_panicking(
        esr in any::<u64>(),
        far in any::<u64>(),
        hpfar in any::<u64>(),
        reg in any::<u64>(),
        base in any::<u64>(),
        size in any::<u64>(),
    ) {
        if let Ok(a) = MmioAccess::decode(esr, far, hpfar) {
            prop_assert_eq!(a.ipa & 0xFFF, far & 0xFFF);
            prop_assert!(a.store_value(reg) <= a.width.mask());
            let loaded = a.load_value(reg);
            if !a.sixty_four {
                prop_assert!(loaded <= u32::MAX as u64);
            }
            let _ = a.offset_in(base, size);
        }
    }
}
