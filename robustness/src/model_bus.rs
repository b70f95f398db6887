//! The model's register bus, fuzzed: a model of random shape (optionally
//! enabled so that interrupts flow), then random accesses on random
//! frames, CPUs (absent ones too), offsets and widths, line changes,
//! acknowledges and completions on GICC and GICV, and snapshot and vCPU
//! round trips. After every step [`check`] verifies what the model derives
//! against an independent computation.

use gic_driver::regs::gicc::offset as c;
use gic_driver::regs::gicd::offset as d;
use gic_driver::regs::gich::offset as h;
use gic_model::{Config, Frame, Gic, VirtConfig, Width, MAINTENANCE_INTID};

use crate::Input;

/// Steps of one run, at most.
pub const MAX_STEPS: usize = 400;

/// A configuration in the architecture's ranges, from the input.
pub fn config(inp: &mut Input<'_>) -> Config {
    let virtualization = inp.bool().then(|| VirtConfig {
        list_registers: 1 + inp.u8() % 64,
        np_counts_pending_active: inp.bool(),
        ..VirtConfig::QEMU
    });
    Config {
        cpus: 1 + inp.u8() % 8,
        lines: 32 * (1 + u32::from(inp.u8() % 32)),
        priority_bits: 4 + inp.u8() % 5,
        virtualization,
    }
}

/// Distributor forwarding both groups, every interrupt enabled at mixed
/// priorities and targeted at every CPU; each CPU interface and virtual
/// CPU interface enabled with the widest priority mask.
pub fn enable_all(gic: &mut Gic) {
    let w = Width::Word;
    let cfg = *gic.config();
    gic.write(Frame::Gicd, 0, d::CTLR, w, 0b11);
    for n in 0..(cfg.lines as usize / 32) {
        gic.write(Frame::Gicd, 0, d::ISENABLER + 4 * n, w, u32::MAX);
    }
    for off in (0..cfg.lines as usize).step_by(4) {
        gic.write(Frame::Gicd, 0, d::IPRIORITYR + off, w, 0x4080_C010);
        gic.write(Frame::Gicd, 0, d::ITARGETSR + off, w, u32::MAX);
    }
    for cpu in 0..cfg.cpus {
        gic.write(Frame::Gicd, cpu, d::ISENABLER, w, u32::MAX);
        gic.write(Frame::Gicc, cpu, c::PMR, w, 0xFF);
        gic.write(Frame::Gicc, cpu, c::CTLR, w, 0b111);
        gic.write(Frame::Gicv, cpu, c::PMR, w, 0xFF);
        gic.write(Frame::Gicv, cpu, c::CTLR, w, 0b111);
        gic.write(Frame::Gich, cpu, h::HCR, w, 1);
    }
}

fn frame(inp: &mut Input<'_>) -> Frame {
    inp.pick(&[
        Frame::Gicd,
        Frame::Gicd,
        Frame::Gicd,
        Frame::Gicc,
        Frame::Gicc,
        Frame::Gich,
        Frame::Gich,
        Frame::Gicv,
    ])
}

/// An offset in `frame`: a register (or a word or byte of an array)
/// most of the time, anything otherwise.
fn offset(inp: &mut Input<'_>, frame: Frame) -> usize {
    let bases: &[usize] = match frame {
        Frame::Gicd => &[
            d::CTLR,
            d::TYPER,
            d::IGROUPR,
            d::ISENABLER,
            d::ICENABLER,
            d::ISPENDR,
            d::ICPENDR,
            d::ISACTIVER,
            d::ICACTIVER,
            d::IPRIORITYR,
            d::ITARGETSR,
            d::ICFGR,
            d::SGIR,
            d::CPENDSGIR,
            d::SPENDSGIR,
        ],
        Frame::Gicc | Frame::Gicv => &[
            c::CTLR,
            c::PMR,
            c::BPR,
            c::IAR,
            c::EOIR,
            c::RPR,
            c::HPPIR,
            c::ABPR,
            c::AIAR,
            c::AEOIR,
            c::AHPPIR,
            c::APR,
            c::DIR,
        ],
        Frame::Gich => &[
            h::HCR,
            h::VTR,
            h::VMCR,
            h::MISR,
            h::EISR,
            h::ELRSR,
            h::APR,
            h::LR,
        ],
    };
    match inp.u8() % 8 {
        0..=4 => inp.pick(bases) + 4 * (inp.u8() as usize % 68),
        5 => inp.pick(bases) + inp.u8() as usize % 64,
        6 => inp.u16() as usize % 0x2100,
        _ => inp.u64() as usize,
    }
}

/// The model and what the run has acknowledged and not yet completed.
struct Run {
    gic: Gic,
    /// Per CPU, GICC_IAR values.
    physical: [Vec<u32>; 8],
    /// Per CPU, GICV_IAR values.
    virtual_: [Vec<u32>; 8],
}

/// One fuzz run of the model's register bus on `data`.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let config = config(&mut inp);
    let mut gic = Gic::new(config).expect("config() stays in range");
    if inp.bool() {
        enable_all(&mut gic);
    }
    let mut run = Run {
        gic,
        physical: Default::default(),
        virtual_: Default::default(),
    };
    check(&run.gic);
    for _ in 0..MAX_STEPS {
        if inp.is_empty() {
            break;
        }
        run.step(&mut inp);
        check(&run.gic);
    }
}

impl Run {
    fn step(&mut self, inp: &mut Input<'_>) {
        let cpus = self.gic.config().cpus;
        let sel = inp.u8() % 18;
        match sel {
            0..=4 => {
                let f = frame(inp);
                let cpu = inp.u8() % 10;
                let off = offset(inp, f);
                let width = if inp.u8().is_multiple_of(4) {
                    Width::Byte
                } else {
                    Width::Word
                };
                let v = inp.value();
                self.gic.write(f, cpu, off, width, v);
            }
            5..=6 => {
                let f = frame(inp);
                let cpu = inp.u8() % 10;
                let off = offset(inp, f);
                let width = if inp.u8().is_multiple_of(4) {
                    Width::Byte
                } else {
                    Width::Word
                };
                // GICC_IAR, GICV_IAR and GICV_AIAR acknowledge; GICC_AIAR is
                // RAZ/WI here (no Security Extensions). Every other read has
                // no side effect.
                let acknowledges = width == Width::Word
                    && matches!(f, Frame::Gicc | Frame::Gicv)
                    && (off == c::IAR || off == c::AIAR && f == Frame::Gicv);
                let before = (!acknowledges).then(|| self.gic.clone());
                let v = self.gic.read(f, cpu, off, width);
                if let Some(before) = before {
                    assert!(
                        before == self.gic,
                        "a {width:?} read of {f:?} {off:#x} by CPU {cpu} changed the model"
                    );
                }
                if width == Width::Byte {
                    assert!(v <= 0xFF, "byte read {v:#x}");
                }
                if cpu >= cpus {
                    assert_eq!(v, 0, "an absent CPU reads zero");
                }
                if acknowledges {
                    self.acknowledged(f, cpu, v);
                }
            }
            7..=8 => {
                let cpu = inp.u8() % 9;
                let id = match inp.u8() % 3 {
                    0 => 16 + u32::from(inp.u8() % 16),
                    1 => 32 + inp.below(1024),
                    _ => inp.below(1100),
                };
                let level = inp.bool();
                let before = self.gic.clone();
                if self.gic.set_line(cpu, id, level).is_err() {
                    assert!(self.gic == before, "a refused set_line changed the model");
                }
            }
            9 => {
                let cpu = inp.u8() % cpus;
                let v = self.gic.read(Frame::Gicc, cpu, c::IAR, Width::Word);
                self.acknowledged(Frame::Gicc, cpu, v);
            }
            10 => {
                let cpu = inp.u8() % cpus;
                let v = self.gic.read(Frame::Gicv, cpu, c::IAR, Width::Word);
                self.acknowledged(Frame::Gicv, cpu, v);
            }
            11 | 12 => {
                let f = if inp.bool() { Frame::Gicc } else { Frame::Gicv };
                let cpu = inp.u8() % cpus;
                let dir = inp.bool();
                let list = match f {
                    Frame::Gicc => &mut self.physical[cpu as usize],
                    _ => &mut self.virtual_[cpu as usize],
                };
                if let Some(v) = list.pop() {
                    self.gic.write(f, cpu, c::EOIR, Width::Word, v);
                    if dir {
                        self.gic.write(f, cpu, c::DIR, Width::Word, v);
                    }
                }
            }
            13 => save_load_save(&self.gic),
            14 => {
                let cpu = inp.u8() % cpus;
                vcpu_save_load_save(&self.gic, cpu);
            }
            16 | 17 => {
                // A list register as a hypervisor writes one: pending (or
                // another state), some priority, group, HW or EOI bit.
                let cpu = inp.u8() % cpus;
                let n = u32::from(inp.u8() % 64);
                let id = inp.below(1024);
                let hw = inp.u8().is_multiple_of(4);
                let physical = if hw {
                    inp.below(1024)
                } else {
                    u32::from(inp.u8() % 8) | u32::from(inp.bool()) << 9
                };
                let state = if inp.u8().is_multiple_of(4) {
                    u32::from(inp.u8() % 4)
                } else {
                    1
                };
                let lr = u32::from(hw) << 31
                    | u32::from(inp.bool()) << 30
                    | state << 28
                    | u32::from(inp.u8() % 32) << 23
                    | physical << 10
                    | id;
                self.gic
                    .write(Frame::Gich, cpu, h::LR + 4 * n as usize, Width::Word, lr);
            }
            _ => {
                // A damaged snapshot: refused without a change, or loaded
                // into a model that keeps every invariant.
                let mut bytes = snapshot(&self.gic);
                for _ in 0..1 + inp.u8() % 4 {
                    let at = inp.u16() as usize % bytes.len();
                    bytes[at] ^= 1 << (inp.u8() % 8);
                }
                if inp.bool() {
                    bytes.truncate(inp.u16() as usize % (bytes.len() + 1));
                }
                let mut target = self.gic.clone();
                match target.set_from_bytes(&bytes) {
                    Ok(()) => {
                        check(&target);
                        save_load_save(&target);
                    }
                    Err(_) => assert!(target == self.gic, "a refused restore changed the model"),
                }
            }
        }
    }

    /// Checks an IAR (or AIAR) value `v` just read from `frame` by `cpu`,
    /// and remembers it for completion.
    fn acknowledged(&mut self, frame: Frame, cpu: u8, v: u32) {
        let id = v & 0x3FF;
        if cpu >= self.gic.config().cpus
            || !matches!(frame, Frame::Gicc | Frame::Gicv)
            || id >= 1020
        {
            return;
        }
        match frame {
            Frame::Gicc => {
                assert!(
                    self.gic.is_active(cpu, id),
                    "GICC acknowledged {id} but it is not active"
                );
                self.physical[cpu as usize].push(v);
            }
            _ => {
                let Some(vi) = self.gic.virtual_cpu_interface(cpu) else {
                    assert_eq!(v, 0, "GICV without virtualization reads zero");
                    return;
                };
                let n = vi.config().list_registers as usize;
                let active = (0..n)
                    .map(|i| vi.lr(i))
                    .any(|lr| lr & 0x3FF == id && lr >> 28 & 0b10 != 0);
                assert!(
                    active,
                    "GICV acknowledged {id} but no list register holds it active"
                );
                if let Some(l) = self.virtual_.get_mut(cpu as usize) {
                    l.push(v);
                }
            }
        }
    }
}

/// `gic` saved into a buffer of exactly its snapshot length.
pub fn snapshot(gic: &Gic) -> Vec<u8> {
    let mut buf = vec![0; gic.snapshot_len()];
    let n = gic.to_bytes(&mut buf).expect("snapshot_len bytes suffice");
    assert_eq!(n, buf.len(), "save writes snapshot_len bytes");
    buf
}

/// Save, load into a fresh model of the same shape, save again: the same
/// model and the same bytes.
pub fn save_load_save(gic: &Gic) {
    let first = snapshot(gic);
    let mut fresh = Gic::new(*gic.config()).expect("the model's own config");
    fresh
        .set_from_bytes(&first)
        .expect("a model loads its own snapshot");
    assert!(&fresh == gic, "snapshot round trip changed the model");
    assert_eq!(
        snapshot(&fresh),
        first,
        "save-load-save is not byte-identical"
    );
}

/// The same for CPU `cpu`'s virtual interface alone.
pub fn vcpu_save_load_save(gic: &Gic, cpu: u8) {
    let mut buf = [0u8; 1024];
    let Ok(n) = gic.vcpu_to_bytes(cpu, &mut buf) else {
        assert!(gic.config().virtualization.is_none() || cpu >= gic.config().cpus);
        return;
    };
    let first = buf.get(..n).expect("n fits").to_vec();
    let mut other = Gic::new(*gic.config()).expect("the model's own config");
    other
        .set_vcpu_from_bytes(cpu, &first)
        .expect("a vCPU record loads back");
    let mut again = [0u8; 1024];
    let m = other
        .vcpu_to_bytes(cpu, &mut again)
        .expect("saved once, saves again");
    assert_eq!(
        again.get(..m),
        Some(&first[..]),
        "vCPU save-load-save is not byte-identical"
    );
    assert_eq!(
        gic.virtual_cpu_interface(cpu),
        other.virtual_cpu_interface(cpu)
    );
    assert_eq!(gic.maintenance(cpu), other.maintenance(cpu));
}

/// GICH_EISR, GICH_ELRSR and GICH_MISR as IHI 0048B 5.3.4-5.3.6 define
/// them, computed here from the list registers, GICH_HCR and GICH_VMCR
/// with the bit positions of the specification.
pub fn derived(
    lrs: &[u32],
    hcr: u32,
    vmcr: u32,
    np_counts_pending_active: bool,
) -> (u64, u64, u32) {
    let state = |lr: u32| lr >> 28 & 0b11;
    let hw = |lr: u32| lr >> 31 & 1 != 0;
    let eoi = |lr: u32| lr >> 19 & 1 != 0;
    let mut eisr = 0u64;
    let mut elrsr = 0u64;
    for (n, &lr) in lrs.iter().enumerate() {
        if state(lr) == 0 {
            if !hw(lr) && eoi(lr) {
                eisr |= 1 << n;
            } else {
                elrsr |= 1 << n;
            }
        }
    }
    let valid = lrs.iter().filter(|&&lr| state(lr) != 0).count();
    let pending = lrs
        .iter()
        .any(|&lr| state(lr) == 0b01 || np_counts_pending_active && state(lr) == 0b11);
    let bit = |n: u32| hcr >> n & 1 != 0;
    let grp0 = vmcr & 1 != 0;
    let grp1 = vmcr & 2 != 0;
    let eoi_count = hcr >> 27;
    let misr = [
        eisr != 0,
        bit(1) && valid <= 1,
        bit(2) && eoi_count != 0,
        bit(3) && !pending,
        bit(4) && grp0,
        bit(5) && !grp0,
        bit(6) && grp1,
        bit(7) && !grp1,
    ]
    .iter()
    .enumerate()
    .fold(0, |m, (n, &on)| m | u32::from(on) << n);
    (eisr, elrsr, misr)
}

/// The invariants checked after every step.
pub fn check(gic: &Gic) {
    let config = *gic.config();
    for cpu in 0..config.cpus {
        let rpr = gic.running_priority(cpu);
        assert!(
            !(gic.irq(cpu) && gic.fiq(cpu)),
            "CPU {cpu}: IRQ and FIQ at once"
        );
        let Some(vi) = gic.virtual_cpu_interface(cpu) else {
            assert!(!gic.maintenance(cpu) && !gic.virq(cpu) && !gic.vfiq(cpu));
            let _ = rpr;
            continue;
        };
        let n = vi.config().list_registers as usize;
        let lrs: Vec<u32> = (0..n).map(|i| vi.read_gich(h::LR + 4 * i)).collect();
        let hcr = vi.read_gich(h::HCR);
        let vmcr = vi.read_gich(h::VMCR);
        let (eisr, elrsr, misr) = derived(&lrs, hcr, vmcr, vi.config().np_counts_pending_active);
        let pair = |o: usize| u64::from(vi.read_gich(o)) | u64::from(vi.read_gich(o + 4)) << 32;
        assert_eq!(pair(h::EISR), eisr, "CPU {cpu}: GICH_EISR, LRs {lrs:x?}");
        assert_eq!(pair(h::ELRSR), elrsr, "CPU {cpu}: GICH_ELRSR, LRs {lrs:x?}");
        assert_eq!(
            vi.read_gich(h::MISR),
            misr,
            "CPU {cpu}: GICH_MISR, HCR {hcr:#x} LRs {lrs:x?}"
        );
        let maintenance = hcr & 1 != 0 && misr != 0;
        assert_eq!(
            gic.maintenance(cpu),
            maintenance,
            "CPU {cpu}: maintenance output"
        );
        assert_eq!(
            gic.line_level(cpu, MAINTENANCE_INTID),
            maintenance,
            "CPU {cpu}: PPI 25 does not follow the maintenance output"
        );
        assert!(
            !(gic.virq(cpu) && gic.vfiq(cpu)),
            "CPU {cpu}: vIRQ and vFIQ at once"
        );
        if gic.virq(cpu) || gic.vfiq(cpu) {
            assert!(
                hcr & 1 != 0,
                "CPU {cpu}: a virtual interrupt signalled with GICH_HCR.En clear"
            );
        }
    }
}
