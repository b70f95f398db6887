//! The virtual GIC's trapped-GICD entry point, fuzzed: arbitrary
//! syndromes through [`MmioAccess::decode`], and the accesses that land on
//! the guest's GICD page served by [`Vgic::read`] / [`Vgic::write`]
//! between a fold and a flush, interleaved with emulated lines, forwarded
//! physical interrupts, guest acknowledges and EOIs on GICV, and plain
//! exits, on 1-4 vCPUs (vCPU `n` on physical CPU `n`).
//!
//! Checked: nothing panics; after a fold the vCPU has nothing listed, no
//! list register valid and no maintenance interrupt asserted; after a
//! flush no virtual INTID (with its source, for an SGI) is in two valid
//! list registers and every valid one is listed by the vGIC.

use gic_driver::virt::{ListRegister, LrState};
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, IntId, Priority, VirtualInterface,
};
use gic_model::{Config, Frame, FrameBus, SharedGic};
use gic_vgic::trap::{AccessWidth, MmioAccess, EC_DATA_ABORT_LOWER};
use gic_vgic::{Vgic, VgicConfig};

use crate::Input;

/// The guest-physical address of the guest's GICD page.
pub const GICD_IPA: u64 = 0x0800_0000;
/// Events of one run, at most.
pub const MAX_EVENTS: usize = 300;

/// ESR_EL2 of a stage-2 data abort with a valid syndrome.
pub fn esr(width: AccessWidth, write: bool, register: u8) -> u64 {
    let sas = match width {
        AccessWidth::Byte => 0,
        AccessWidth::Halfword => 1,
        AccessWidth::Word => 2,
        AccessWidth::Doubleword => 3,
    };
    EC_DATA_ABORT_LOWER << 26
        | 1 << 25
        | 1 << 24
        | sas << 22
        | u64::from(register % 32) << 16
        | u64::from(width == AccessWidth::Doubleword) << 15
        | u64::from(write) << 6
        | 0x07
}

/// What runs one vCPU: the driver's virtual interface on its physical
/// CPU's GICH frame, the guest's CPU interface on GICV, and whether the
/// vCPU is in the guest (flushed) or out (folded).
struct Vcpu<'g> {
    vif: VirtualInterface<FrameBus<'g>, 8>,
    guest: CpuInterface<FrameBus<'g>>,
    acked: Vec<Acknowledged>,
    inside: bool,
}

/// One fuzz run of the trapped-GICD entry point on `data`.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let vcpus = 1 + inp.u8() % 4;
    let lines = 32 * (2 + u32::from(inp.u8() % 8));
    let mut physical = Config::qemu_virt(vcpus);
    if let Some(v) = physical.virtualization.as_mut() {
        v.list_registers = 1 + inp.u8() % 4;
    }
    let gic = SharedGic::new(physical).expect("valid");
    let mut vgic = Vgic::new(VgicConfig { vcpus, lines }).expect("valid");
    let mut cpus: Vec<Vcpu<'_>> = (0..vcpus)
        .map(|c| {
            let mut vif = VirtualInterface::new(gic.frame(Frame::Gich, c));
            vif.init();
            let guest = CpuInterface::new(gic.frame(Frame::Gicv, c));
            let _ = guest.init(&CpuInterfaceConfig {
                priority_mask: Priority(0xF8),
                ..CpuInterfaceConfig::default()
            });
            Vcpu {
                vif,
                guest,
                acked: Vec::new(),
                inside: false,
            }
        })
        .collect();
    for _ in 0..MAX_EVENTS {
        if inp.is_empty() {
            break;
        }
        let v = inp.u8() % vcpus;
        let cpu = &mut cpus[v as usize];
        match inp.u8() % 12 {
            0..=4 => {
                let (esr_value, far, hpfar) = if inp.u8().is_multiple_of(8) {
                    (inp.u64(), inp.u64(), inp.u64())
                } else {
                    let width = inp.pick(&[
                        AccessWidth::Word,
                        AccessWidth::Word,
                        AccessWidth::Byte,
                        AccessWidth::Halfword,
                        AccessWidth::Doubleword,
                    ]);
                    let off = if inp.bool() {
                        u64::from(inp.u16() % 0x1000)
                    } else {
                        u64::from(inp.u16() % 0x400) & !3
                    };
                    let ipa = GICD_IPA + off;
                    (esr(width, inp.bool(), inp.u8()), ipa, ipa >> 12 << 4)
                };
                let register = inp.u64();
                let Ok(access) = MmioAccess::decode(esr_value, far, hpfar) else {
                    continue;
                };
                assert_eq!(access.ipa & 0xFFF, far & 0xFFF);
                let Some(off) = access.offset_in(GICD_IPA, 0x1000) else {
                    continue;
                };
                exit(&mut vgic, v, cpu, &gic);
                if access.write {
                    let value = access.store_value(register) as u32;
                    let effects = vgic.write(v, off, access.width, value);
                    assert!(
                        effects.kick >> vcpus == 0,
                        "kicked a vCPU that does not exist"
                    );
                } else {
                    let value = vgic.read(v, off, access.width);
                    let loaded = access.load_value(u64::from(value));
                    if !access.sixty_four {
                        assert!(loaded <= u64::from(u32::MAX));
                    }
                }
                enter(&mut vgic, v, cpu, &gic);
            }
            5 => {
                let Ok(id) = IntId::new(16 + inp.below(lines + 8)) else {
                    continue;
                };
                exit(&mut vgic, v, cpu, &gic);
                let _ = vgic.set_line(inp.u8() % 5, id, inp.bool());
                enter(&mut vgic, v, cpu, &gic);
            }
            6 => {
                let (Ok(virt), Ok(phys)) = (
                    IntId::new(16 + inp.below(lines)),
                    IntId::new(16 + inp.below(272)),
                ) else {
                    continue;
                };
                exit(&mut vgic, v, cpu, &gic);
                if inp.bool() {
                    let _ = vgic.forward(v, virt, phys);
                } else {
                    let _ = vgic.physical_fired(v, phys);
                }
                enter(&mut vgic, v, cpu, &gic);
            }
            7 | 8 => {
                if cpu.inside {
                    if let Some(a) = cpu.guest.acknowledge() {
                        cpu.acked.push(a);
                    }
                }
            }
            9 => {
                if let Some(a) = cpu.acked.pop() {
                    cpu.guest.end_of_interrupt(a);
                }
            }
            10 => exit(&mut vgic, v, cpu, &gic),
            _ => {
                exit(&mut vgic, v, cpu, &gic);
                enter(&mut vgic, v, cpu, &gic);
            }
        }
    }
}

/// A guest exit of `v`: fold, if it was in the guest.
fn exit(vgic: &mut Vgic, v: u8, cpu: &mut Vcpu<'_>, gic: &SharedGic) {
    if !cpu.inside {
        return;
    }
    vgic.fold(v, &mut cpu.vif)
        .expect("fold of an existing vCPU");
    cpu.inside = false;
    assert!(vgic.listed(v).is_empty(), "vCPU {v}: listed after a fold");
    assert_eq!(
        cpu.vif.in_use(),
        0,
        "vCPU {v}: a list register in use after a fold"
    );
    assert_eq!(cpu.vif.queued_len(), 0, "vCPU {v}: queued after a fold");
    let g = gic.lock();
    let vi = g
        .virtual_cpu_interface(v)
        .expect("virtualization configured");
    let n = vi.config().list_registers as usize;
    assert!(
        (0..n).all(|i| vi.lr(i) >> 28 & 0b11 == 0),
        "vCPU {v}: a valid list register after a fold"
    );
    assert!(
        !g.maintenance(v),
        "vCPU {v}: maintenance asserted after a fold"
    );
}

/// A guest entry of `v`: flush, if it was out.
fn enter(vgic: &mut Vgic, v: u8, cpu: &mut Vcpu<'_>, gic: &SharedGic) {
    if cpu.inside {
        return;
    }
    vgic.flush(v, &mut cpu.vif)
        .expect("flush of an existing vCPU");
    cpu.inside = true;
    let listed = vgic.listed(v);
    let g = gic.lock();
    let vi = g
        .virtual_cpu_interface(v)
        .expect("virtualization configured");
    let n = vi.config().list_registers as usize;
    let valid: Vec<ListRegister> = (0..n)
        .filter_map(|i| ListRegister::decode(vi.lr(i)).ok())
        .filter(|lr| lr.state() != LrState::Invalid)
        .collect();
    for (i, lr) in valid.iter().enumerate() {
        let id = lr.virtual_id().get();
        assert!(
            listed.contains(id),
            "vCPU {v}: INTID {id} in a list register, not listed"
        );
        assert!(
            !valid[..i]
                .iter()
                .any(|o| o.virtual_id() == lr.virtual_id() && o.source_cpu() == lr.source_cpu()),
            "vCPU {v}: INTID {id} in two list registers: {valid:?}"
        );
    }
}
