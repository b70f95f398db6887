//! The driver's public API over the model, fuzzed with arbitrary
//! arguments: every call returns a value or a typed [`Error`], and never
//! panics. A call refused with an error has written nothing: the model is
//! compared before and after (the driver's rule, `gic_driver::Error`).

use gic_driver::bus::RegisterBus;
use gic_driver::virt::{Hcr, LrState, Vmcr};
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, CpuMask, Deactivation, Distributor,
    DistributorConfig, EoiMode, Error, Group, IntId, ListRegister, Priority, SgiTarget, Trigger,
    VcpuContext, VirtualInterface,
};
use gic_model::{Config, Frame, Gic, SharedGic, VirtConfig};

use crate::world_switch::{
    context_from_bytes, context_to_bytes, has_resident_vcpu, load_vmcr_apr, put_vmcr_apr,
    restore_lists, save_lists, switch_in, switch_out,
};
use crate::Input;

/// Calls of one run, at most.
pub const MAX_CALLS: usize = 300;
/// The queue length of the fuzzed virtual interfaces.
const Q: usize = 4;

/// An INTID argument: often implemented, sometimes beyond the lines,
/// special, or no INTID at all (then the call cannot be made and
/// [`IntId::new`]'s own refusal is checked instead).
fn intid(inp: &mut Input<'_>, lines: u32) -> Option<IntId> {
    let raw = match inp.u8() % 6 {
        0 => u32::from(inp.u8() % 16),
        1 => 16 + u32::from(inp.u8() % 16),
        2 | 3 => 32 + inp.below(lines.saturating_sub(32).max(1)),
        4 => inp.below(1024),
        _ => inp.u32(),
    };
    match IntId::new(raw) {
        Ok(id) => Some(id),
        Err(e) => {
            assert_eq!(e, Error::InvalidIntId(raw));
            None
        }
    }
}

fn priority(inp: &mut Input<'_>) -> Priority {
    Priority(if inp.bool() {
        inp.u8() & 0xF8
    } else {
        inp.u8()
    })
}

fn group(inp: &mut Input<'_>) -> Group {
    if inp.bool() {
        Group::Group1
    } else {
        Group::Group0
    }
}

fn list_register(inp: &mut Input<'_>, lines: u32) -> Option<ListRegister> {
    let lr = match inp.u8() % 4 {
        0 => ListRegister::decode(inp.u32()).ok()?,
        1 => {
            let v = intid(inp, lines)?;
            let p = intid(inp, lines)?;
            ListRegister::hardware(v, p, priority(inp), group(inp)).ok()?
        }
        _ => {
            let mut lr =
                ListRegister::software(intid(inp, lines)?, priority(inp), group(inp)).ok()?;
            if inp.bool() {
                lr = lr.with_eoi_maintenance();
            }
            if inp.u8().is_multiple_of(4) {
                lr = lr.with_source_cpu(inp.u8() % 10).ok()?;
            }
            lr
        }
    };
    Some(match inp.u8() % 8 {
        0 => lr.with_state(LrState::Active),
        1 => lr.with_state(LrState::PendingActive),
        2 => lr.with_state(LrState::Invalid),
        _ => lr,
    })
}

/// Runs `call` and, if it fails, checks the model did not change.
fn refused_writes_nothing<T>(
    gic: &SharedGic,
    call: impl FnOnce() -> Result<T, Error>,
) -> Option<T> {
    let before = gic.lock().clone();
    match call() {
        Ok(v) => Some(v),
        Err(e) => {
            let after = gic.lock().clone();
            assert!(before == after, "refused with {e:?} but the model changed");
            None
        }
    }
}

/// One fuzz run of the driver's API on `data`.
pub fn run(data: &[u8]) {
    let mut inp = Input::new(data);
    let config = Config {
        cpus: 1 + inp.u8() % 4,
        lines: 32 * (1 + u32::from(inp.u8() % 12)),
        priority_bits: 4 + inp.u8() % 5,
        virtualization: Some(VirtConfig {
            list_registers: 1 + inp.u8() % 6,
            ..VirtConfig::QEMU
        }),
    };
    let lines = config.lines;
    let gic = SharedGic::new(config).expect("in range");
    let cpus = config.cpus;
    let gicd: Vec<_> = (0..cpus)
        .map(|c| Distributor::new(gic.frame(Frame::Gicd, c)))
        .collect();
    let gicc: Vec<_> = (0..cpus)
        .map(|c| CpuInterface::new(gic.frame(Frame::Gicc, c)))
        .collect();
    let gicv: Vec<_> = (0..cpus)
        .map(|c| CpuInterface::new(gic.frame(Frame::Gicv, c)))
        .collect();
    let mut gich: Vec<VirtualInterface<_, Q>> = (0..cpus)
        .map(|c| VirtualInterface::new(gic.frame(Frame::Gich, c)))
        .collect();
    let mut contexts: Vec<Option<VcpuContext<Q>>> =
        (0..3).map(|_| Some(VcpuContext::new())).collect();
    let mut acks: Vec<(usize, bool, Acknowledged)> = Vec::new();
    if !inp.u8().is_multiple_of(4) {
        gicd[0].init(&DistributorConfig::default());
        gicd[0].enable();
        for c in 0..cpus as usize {
            let _ = gicc[c].init(&CpuInterfaceConfig::default());
            let _ = gicv[c].init(&CpuInterfaceConfig {
                priority_mask: Priority(0xF8),
                ..CpuInterfaceConfig::default()
            });
            gich[c].init();
        }
    }
    for _ in 0..MAX_CALLS {
        if inp.is_empty() {
            break;
        }
        let c = (inp.u8() % cpus) as usize;
        let d = &gicd[c];
        match inp.u8() % 46 {
            0 => {
                let cfg = DistributorConfig {
                    priority: priority(&mut inp),
                    spi_trigger: if inp.bool() {
                        Trigger::Edge
                    } else {
                        Trigger::Level
                    },
                    group: group(&mut inp),
                };
                if inp.bool() {
                    d.init(&cfg)
                } else {
                    d.init_cpu(&cfg)
                }
            }
            1 => match inp.u8() % 3 {
                0 => d.enable(),
                1 => d.disable(),
                _ => {
                    let _ = d.is_enabled();
                    let _ = d.info();
                    let _ = d.this_cpu();
                }
            },
            2..=9 => {
                let Some(id) = intid(&mut inp, lines) else {
                    continue;
                };
                let what = inp.u8() % 20;
                let p = priority(&mut inp);
                let mask = CpuMask::from_bits(inp.u8());
                let edge = inp.bool();
                let g = group(&mut inp);
                refused_writes_nothing(&gic, || -> Result<(), Error> {
                    match what {
                        0 => d.enable_interrupt(id),
                        1 => d.disable_interrupt(id),
                        2 => d.is_interrupt_enabled(id).map(drop),
                        3 => d.set_pending(id),
                        4 => d.clear_pending(id),
                        5 => d.is_pending(id).map(drop),
                        6 => d.is_active(id).map(drop),
                        7 => d.set_active(id),
                        8 => d.clear_active(id),
                        9 => d.set_priority(id, p),
                        10 => d.priority(id).map(drop),
                        11 => d.set_targets(id, mask),
                        12 => d.targets(id).map(drop),
                        13 => d.set_trigger(id, if edge { Trigger::Edge } else { Trigger::Level }),
                        14 => d.trigger(id).map(drop),
                        15 => d.set_group(id, g),
                        16 => d.group(id).map(drop),
                        17 => d.send_sgi(id, SgiTarget::List(mask)),
                        18 => d.send_sgi(
                            id,
                            if edge {
                                SgiTarget::AllOthers
                            } else {
                                SgiTarget::SelfOnly
                            },
                        ),
                        _ => d.sgi_pending_sources(id).map(drop),
                    }
                });
            }
            10 => {
                let id = 16 + inp.below(lines.saturating_sub(16).max(1));
                let _ = gic.lock().set_line(c as u8, id, inp.bool());
            }
            11..=18 => {
                let virtual_side = inp.bool();
                let cif = if virtual_side { &gicv[c] } else { &gicc[c] };
                match inp.u8() % 14 {
                    0 => {
                        let cfg = CpuInterfaceConfig {
                            priority_mask: priority(&mut inp),
                            binary_point: inp.u8() % 10,
                            group0: inp.bool(),
                            group1: inp.bool(),
                            ack_ctl: inp.bool(),
                            fiq_group0: inp.bool(),
                            eoi_mode: if inp.bool() {
                                EoiMode::Split
                            } else {
                                EoiMode::Combined
                            },
                        };
                        refused_writes_nothing(&gic, || cif.init(&cfg));
                    }
                    1..=3 => {
                        if let Some(ack) = cif.acknowledge() {
                            assert!(ack.intid().get() < 1020);
                            acks.push((c, virtual_side, ack));
                        }
                    }
                    4 | 5 => {
                        if let Some(i) = acks.iter().rposition(|a| a.0 == c && a.1 == virtual_side)
                        {
                            let (_, _, ack) = acks.remove(i);
                            cif.end_of_interrupt(ack);
                            if inp.bool() {
                                cif.deactivate(ack);
                            }
                        }
                    }
                    6 => {
                        let n = cif.handle_pending(|_| {});
                        assert!(n <= CpuInterface::<gic_model::FrameBus<'_>>::MAX_HANDLED_PER_CALL);
                    }
                    7 => {
                        let keep = inp.bool();
                        cif.handle_pending_with(|_| {
                            if keep {
                                Deactivation::LeaveActive
                            } else {
                                Deactivation::Deactivate
                            }
                        });
                    }
                    8 => {
                        let bp = inp.u8() % 10;
                        refused_writes_nothing(&gic, || cif.set_binary_point(bp));
                    }
                    9 => cif.set_priority_mask(priority(&mut inp)),
                    10 => cif.disable(),
                    _ => {
                        let _ = (cif.eoi_mode(), cif.running_priority(), cif.priority_mask());
                        let _ = (cif.binary_point(), cif.control(), cif.highest_pending());
                    }
                }
            }
            40..=45 => {
                // The guest on GICV: takes its most urgent interrupt and
                // maybe ends it, or ends its latest one.
                if inp.bool() {
                    if let Some(ack) = gicv[c].acknowledge() {
                        acks.push((c, true, ack));
                    }
                } else if let Some(i) = acks.iter().rposition(|a| a.0 == c && a.1) {
                    let (_, _, ack) = acks.remove(i);
                    gicv[c].end_of_interrupt(ack);
                }
            }
            19..=39 => {
                let k = inp.u8() as usize % contexts.len();
                virtual_call(
                    &mut inp,
                    &gic,
                    c as u8,
                    &mut gich[c],
                    &mut contexts,
                    k,
                    lines,
                );
            }
            _ => {}
        }
    }
}

fn virtual_call<B: RegisterBus>(
    inp: &mut Input<'_>,
    gic: &SharedGic,
    cpu: u8,
    vif: &mut VirtualInterface<B, Q>,
    contexts: &mut [Option<VcpuContext<Q>>],
    k: usize,
    lines: u32,
) {
    let slot = &mut contexts[k];
    match inp.u8() % 24 {
        0 => vif.init(),
        1..=5 => {
            if let Some(lr) = list_register(inp, lines) {
                let _ = vif.inject(lr);
            }
        }
        6 => {
            if let Some(lr) = list_register(inp, lines) {
                let _ = vif.list(lr);
            }
        }
        7 => {
            let _ = vif.refill();
        }
        8 | 9 => {
            let s = vif.handle_maintenance();
            let _ = (s.is_spurious(), s.completed.len());
            if has_resident_vcpu(vif) {
                let g = gic.lock();
                assert!(
                    !g.maintenance(cpu),
                    "maintenance still asserted after handle_maintenance: {s:?}, MISR {:#x}, HCR {:#x}, LRs {:x?}",
                    g.virtual_cpu_interface(cpu).map_or(0, |v| v.misr()),
                    g.virtual_cpu_interface(cpu).map_or(0, |v| v.hcr()),
                    g.virtual_cpu_interface(cpu).map(|v| (0..v.config().list_registers as usize).map(|n| v.lr(n)).collect::<Vec<_>>()),
                );
            }
        }
        10 => {
            let mut n = 0;
            let _ = vif.drain(|_| n += 1);
        }
        11 | 12 => {
            let out = if inp.bool() {
                save_lists(vif)
            } else {
                switch_out(vif)
            };
            if let Ok(ctx) = out {
                *slot = Some(ctx);
            }
        }
        13 | 14 => {
            if let Some(ctx) = slot.take() {
                let before = gic.lock().clone();
                let r = if inp.bool() {
                    restore_lists(vif, ctx)
                } else {
                    switch_in(vif, ctx)
                };
                if let Err((e, ctx)) = r {
                    assert!(
                        before == *gic.lock(),
                        "restore refused with {e:?} but the model changed"
                    );
                    *slot = Some(ctx);
                }
            }
        }
        15 => {
            if let Some(ctx) = slot.as_mut() {
                put_vmcr_apr(vif, ctx)
            }
        }
        16 => {
            if let Some(ctx) = slot.as_ref() {
                load_vmcr_apr(vif, ctx)
            }
        }
        17 => {
            let raw = inp.u32();
            let _ = vif.set_hcr(Hcr::from_raw(raw));
        }
        18 => {
            let mut vmcr = Vmcr::from_raw(inp.u32());
            let _ = vmcr.set_bpr(inp.u8() % 10);
            let _ = vmcr.set_abpr(inp.u8() % 10);
            let _ = vmcr.set_priority_mask(priority(inp));
            vmcr.set_eoi_mode(if inp.bool() {
                EoiMode::Split
            } else {
                EoiMode::Combined
            });
            vif.set_vmcr(vmcr);
            if let Some(ctx) = slot.as_mut() {
                ctx.set_vmcr(vmcr);
            }
        }
        19 => {
            let n = inp.u8() as usize % 70;
            let _ = (
                vif.read_list_register_raw(n),
                vif.read_list_register(n),
                slot.as_ref().map(|ctx| ctx.list_register(n)),
            );
            let _ = (
                vif.misr(),
                vif.eisr(),
                vif.elrsr(),
                vif.apr(),
                vif.hcr(),
                vif.read_hcr(),
            );
            let _ = (
                has_resident_vcpu(vif),
                vif.in_use(),
                vif.queued_len(),
                vif.queued().count(),
                vif.info(),
            );
        }
        20 => {
            if let (Some(lr), Some(ctx)) = (list_register(inp, lines), slot.as_mut()) {
                let _ = ctx.inject(lr);
            }
        }
        21 => {
            let (hcr, apr) = (inp.u32(), inp.u32());
            if let Some(ctx) = slot.as_mut() {
                ctx.set_hcr(Hcr::from_raw(hcr));
                ctx.set_apr(apr);
            }
            vif.set_apr(inp.u32());
        }
        22 => {
            let Some(ctx) = slot.as_mut() else {
                return;
            };
            let record = ctx.to_record();
            let _ = VcpuContext::<Q>::from_record(&record);
            let mut buf = [0u8; 1024];
            if let Ok(n) = context_to_bytes(ctx, &mut buf) {
                let mut bytes = buf.get(..n).map(<[u8]>::to_vec).unwrap_or_default();
                if !bytes.is_empty() && inp.bool() {
                    let at = inp.u16() as usize % bytes.len();
                    bytes[at] ^= inp.u8() | 1;
                }
                if let Ok(back) = context_from_bytes::<Q>(&bytes) {
                    *ctx = back;
                }
            }
        }
        _ => {
            // The model's view stays one the model itself accepts.
            let g: Gic = gic.lock().clone();
            crate::model_bus::check(&g);
        }
    }
}
