//! The driver's world-switch and vCPU-context calls, in one place: the
//! harnesses, the soak and the access counts name them only through these.

use gic_driver::bus::RegisterBus;
use gic_driver::snapshot::{SnapshotError, VcpuRecord};
use gic_driver::{Error, VcpuContext, VirtualInterface};

/// Switch-out, hot half: the resident vCPU's list registers in use and
/// GICH_HCR, as its context (`VirtualInterface::save`).
pub fn save_lists<B: RegisterBus, const Q: usize>(
    vif: &mut VirtualInterface<B, Q>,
) -> Result<VcpuContext<Q>, Error> {
    vif.save()
}

/// Switch-in, hot half: `ctx`'s list registers and GICH_HCR into the GIC
/// (`VirtualInterface::restore`); a refused context comes back with the
/// reason.
// The refused context comes back by value, as the driver's `Refused` does.
#[allow(clippy::result_large_err)]
pub fn restore_lists<B: RegisterBus, const Q: usize>(
    vif: &mut VirtualInterface<B, Q>,
    ctx: VcpuContext<Q>,
) -> Result<(), (Error, VcpuContext<Q>)> {
    vif.restore(ctx).map_err(|r| (r.error, r.context))
}

/// Whether a vCPU is resident in the interface.
pub fn has_resident_vcpu<B: RegisterBus, const Q: usize>(vif: &VirtualInterface<B, Q>) -> bool {
    vif.has_resident_vcpu()
}

/// Switch-out, cold half: GICH_VMCR and GICH_APR into `ctx`.
pub fn put_vmcr_apr<B: RegisterBus, const Q: usize>(
    vif: &VirtualInterface<B, Q>,
    ctx: &mut VcpuContext<Q>,
) {
    vif.put(ctx)
}

/// Switch-in, cold half: GICH_VMCR and GICH_APR from `ctx`.
pub fn load_vmcr_apr<B: RegisterBus, const Q: usize>(
    vif: &VirtualInterface<B, Q>,
    ctx: &VcpuContext<Q>,
) {
    vif.load(ctx)
}

/// Both halves of a switch-out: the resident vCPU's context.
pub fn switch_out<B: RegisterBus, const Q: usize>(
    vif: &mut VirtualInterface<B, Q>,
) -> Result<VcpuContext<Q>, Error> {
    vif.switch_out()
}

/// Both halves of a switch-in; a refused context comes back.
#[allow(clippy::result_large_err)] // as restore_lists
pub fn switch_in<B: RegisterBus, const Q: usize>(
    vif: &mut VirtualInterface<B, Q>,
    ctx: VcpuContext<Q>,
) -> Result<(), (Error, VcpuContext<Q>)> {
    vif.switch_in(ctx).map_err(|r| (r.error, r.context))
}

/// `ctx` in the snapshot format, into `buf`; the length written.
pub fn context_to_bytes<const Q: usize>(
    ctx: &VcpuContext<Q>,
    buf: &mut [u8],
) -> Result<usize, Error> {
    ctx.to_bytes(buf)
}

/// A context read back from the snapshot format.
pub fn context_from_bytes<const Q: usize>(data: &[u8]) -> Result<VcpuContext<Q>, Error> {
    VcpuContext::from_bytes(data)
}

/// A vCPU record in the snapshot format, into `buf`.
pub fn record_to_bytes(record: &VcpuRecord, buf: &mut [u8]) -> Result<usize, SnapshotError> {
    record.to_bytes(buf)
}

/// A vCPU record read back from the snapshot format.
pub fn record_from_bytes(data: &[u8]) -> Result<VcpuRecord, SnapshotError> {
    VcpuRecord::from_bytes(data)
}
