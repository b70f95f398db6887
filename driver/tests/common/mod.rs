//! Set-up shared by the driver's integration tests: a model GIC, the
//! hypervisor's `VirtualInterface` on its GICH frame, the guest's
//! `CpuInterface` on its GICV frame, EL2 servicing the maintenance
//! interrupt, and the guest taking what it is offered.
#![allow(dead_code)]

use gic_driver::bus::{Counting, RegisterBus};
use gic_driver::regs::gich;
use gic_driver::virt::LrState;
use gic_driver::{
    Acknowledged, CpuInterface, CpuInterfaceConfig, Distributor, DistributorConfig, EoiMode, Group,
    IntId, ListRegister, Priority, VcpuContext, VirtualInterface,
};
use gic_model::{Config, Frame, FrameBus, SharedGic, VirtConfig};

/// The maintenance interrupt on QEMU's virt: PPI 9.
pub const MAINTENANCE: u32 = 25;
/// The virtual timer: PPI 11.
pub const VTIMER: u32 = 27;

/// The GIC of QEMU's virt board with one CPU: 4 list registers.
pub fn qemu() -> SharedGic {
    SharedGic::new(Config::qemu_virt(1)).expect("valid configuration")
}

/// QEMU's virt GIC with one CPU and `list_registers` list registers.
pub fn qemu_with_list_registers(list_registers: u8) -> SharedGic {
    qemu_with(VirtConfig {
        list_registers,
        ..VirtConfig::QEMU
    })
}

/// QEMU's virt GIC with one CPU and the virtual interface `virt`.
pub fn qemu_with(virt: VirtConfig) -> SharedGic {
    SharedGic::new(Config::qemu_virt(1).with_virtualization(Some(virt)))
        .expect("valid configuration")
}

pub fn id(n: u32) -> IntId {
    IntId::new(n).unwrap()
}

/// A pending Group 0 software interrupt (HW = 0) whose completion nobody
/// asked to hear of.
pub fn software(n: u32, prio: u8) -> ListRegister {
    ListRegister::software(id(n), Priority(prio), Group::Group0).unwrap()
}

/// As [`software`], with the EOI maintenance bit: its completion is
/// reported by `handle_maintenance`.
pub fn software_eoi(n: u32, prio: u8) -> ListRegister {
    software(n, prio).with_eoi_maintenance()
}

/// A pending Group 0 virtual interrupt `n` forwarding physical interrupt
/// `physical` (HW = 1).
pub fn hardware(n: u32, physical: u32, prio: u8) -> ListRegister {
    ListRegister::hardware(id(n), id(physical), Priority(prio), Group::Group0).unwrap()
}

/// The hypervisor's virtual interface on CPU 0's GICH frame, initialised.
pub fn hypervisor(g: &SharedGic) -> VirtualInterface<FrameBus<'_>> {
    hypervisor_with_queue(g)
}

/// As [`hypervisor`], with a queue of `Q` interrupts.
pub fn hypervisor_with_queue<const Q: usize>(g: &SharedGic) -> VirtualInterface<FrameBus<'_>, Q> {
    let mut vif = VirtualInterface::new(g.frame(Frame::Gich, 0));
    vif.init();
    vif
}

/// A virtual interface whose GICH accesses are counted.
pub type Counted<'g, const Q: usize = 32> = VirtualInterface<Counting<FrameBus<'g>>, Q>;

/// As [`hypervisor_with_queue`], counting its GICH accesses (from zero).
pub fn counted<const Q: usize>(g: &SharedGic) -> Counted<'_, Q> {
    let mut vif = VirtualInterface::new(Counting::new(g.frame(Frame::Gich, 0)));
    vif.init();
    vif.bus().reset();
    vif
}

/// (reads, writes) of GICH since the last call, then reset.
pub fn cost<const Q: usize>(vif: &Counted<'_, Q>) -> (u32, u32) {
    let c = (vif.bus().reads(), vif.bus().writes());
    vif.bus().reset();
    c
}

/// The guest's CPU interface on GICV: everything unmasked (PMR 0xF8 with
/// five priority bits), binary point at its minimum, both groups enabled.
/// Set it up after the hypervisor's `init`, which clears GICH_VMCR.
pub fn guest(g: &SharedGic, eoi_mode: EoiMode) -> CpuInterface<FrameBus<'_>> {
    let c = CpuInterface::new(g.frame(Frame::Gicv, 0));
    c.init(&CpuInterfaceConfig {
        priority_mask: Priority(0xF8),
        eoi_mode,
        ..CpuInterfaceConfig::default()
    })
    .unwrap();
    c
}

/// EL2's own view of the GIC: the distributor initialised and enabled, and
/// its CPU interface in split EOI mode (EOIR only drops priority), as a
/// hypervisor that forwards hardware interrupts runs it.
pub fn physical(g: &SharedGic) -> (Distributor<FrameBus<'_>>, CpuInterface<FrameBus<'_>>) {
    let d = Distributor::new(g.frame(Frame::Gicd, 0));
    d.init(&DistributorConfig::default());
    d.enable();
    let host = CpuInterface::new(g.frame(Frame::Gicc, 0));
    host.init(&CpuInterfaceConfig {
        eoi_mode: EoiMode::Split,
        ..CpuInterfaceConfig::default()
    })
    .unwrap();
    (d, host)
}

/// The maintenance interrupt output of CPU 0.
pub fn maintenance(g: &SharedGic) -> bool {
    g.lock().maintenance(0)
}

/// EL2 takes the maintenance interrupt as soon as it is asserted, before
/// the guest runs on: handle it (twice at most: no storm) and return the
/// completions reported.
pub fn service<B: RegisterBus, const Q: usize>(
    g: &SharedGic,
    vif: &mut VirtualInterface<B, Q>,
) -> Vec<u32> {
    let mut done = Vec::new();
    for _ in 0..2 {
        if !maintenance(g) {
            break;
        }
        let s = vif.handle_maintenance();
        done.extend(s.completed.iter().map(|c| c.intid().get()));
    }
    assert!(!maintenance(g), "maintenance interrupt left asserted");
    done
}

/// The guest takes and completes everything offered (EOIR, and DIR in
/// split mode) while EL2 services its maintenance interrupts; returns
/// (taken in order, completions reported). Fails if interrupts stay
/// queued with no maintenance interrupt to refill them; the one exception
/// is a single list register left active by a hardware interrupt (which
/// cannot carry the EOI bit), refilled at the next driver call.
pub fn run_guest<B: RegisterBus, G: RegisterBus, const Q: usize>(
    g: &SharedGic,
    vif: &mut VirtualInterface<B, Q>,
    guest: &CpuInterface<G>,
) -> (Vec<u32>, Vec<u32>) {
    let split = guest.eoi_mode() == EoiMode::Split;
    let (mut taken, mut completed) = (Vec::new(), Vec::new());
    for _ in 0..1000 {
        completed.extend(service(g, vif));
        match guest.acknowledge() {
            Some(ack) => {
                taken.push(ack.intid().get());
                guest.end_of_interrupt(ack);
                if split {
                    guest.deactivate(ack);
                }
            }
            None if vif.queued_len() == 0 => {
                completed.extend(service(g, vif));
                return (taken, completed);
            }
            None => {
                if !maintenance(g) {
                    assert_eq!(vif.info().list_registers, 1, "queued interrupts stranded");
                    assert!(vif.refill() > 0, "queued interrupts stranded");
                }
            }
        }
    }
    panic!("the guest never ran out of interrupts");
}

/// The guest (in split EOI mode) acknowledges the interrupt it is offered
/// and drops its priority at once (GICV_IAR, GICV_EOIR): it stays active
/// in its list register until [`complete`], and the next one can be taken
/// whatever its priority.
pub fn take<B: RegisterBus>(guest: &CpuInterface<B>) -> Option<Acknowledged> {
    assert_eq!(guest.eoi_mode(), EoiMode::Split);
    let ack = guest.acknowledge()?;
    guest.end_of_interrupt(ack);
    Some(ack)
}

/// The guest deactivates `ack` (GICV_DIR, split EOI mode): the matching
/// list register goes from active to invalid (or pending+active to
/// pending); with none matching, GICH_HCR.EOICount counts it.
pub fn complete<B: RegisterBus>(guest: &CpuInterface<B>, ack: Acknowledged) {
    guest.deactivate(ack);
}

/// Reads GICH register `offset` of CPU 0 behind the driver's back.
pub fn gich_read(g: &SharedGic, offset: usize) -> u32 {
    g.frame(Frame::Gich, 0).read32(offset)
}

/// Writes GICH register `offset` of CPU 0 behind the driver's back.
pub fn gich_write(g: &SharedGic, offset: usize, value: u32) {
    g.frame(Frame::Gich, 0).write32(offset, value)
}

/// GICH_LRn of CPU 0, raw.
pub fn lr(g: &SharedGic, n: usize) -> u32 {
    gich_read(g, gich::lr(n))
}

/// The virtual IDs of CPU 0's list registers in `state`, in list-register
/// order.
pub fn lr_ids(g: &SharedGic, state: LrState) -> Vec<u32> {
    let implemented = g.lock().config().virtualization.unwrap().list_registers as usize;
    (0..implemented)
        .map(|n| lr(g, n))
        .filter(|&v| ListRegister::decode(v).is_ok_and(|l| l.state() == state))
        .map(|v| gich::LR::VirtualID.read(v))
        .collect()
}

/// The list registers, APR and VMCR of CPU 0's virtual interface, read
/// through GICH, with free (invalid) list registers as 0.
pub fn visible_state(g: &SharedGic) -> (u32, u32, Vec<u32>) {
    let lrs = (0..4)
        .map(|n| lr(g, n))
        .map(|v| if gich::LR::State.read(v) == 0 { 0 } else { v })
        .collect();
    (
        gich_read(g, gich::offset::VMCR),
        gich_read(g, gich::offset::APR),
        lrs,
    )
}

/// `ctx` after a round trip through its snapshot bytes.
pub fn through_bytes<const Q: usize>(ctx: &VcpuContext<Q>) -> VcpuContext<Q> {
    let mut buf = [0u8; 1024];
    let n = ctx.to_bytes(&mut buf).unwrap();
    VcpuContext::from_bytes(&buf[..n]).unwrap()
}
