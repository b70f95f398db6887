//! The driver's world-switch and vCPU-context calls, in one place: the
//! harnesses, the soak and the benchmarks name them only through these.

use gic_driver::bus::RegisterBus;
use gic_driver::{Error, VcpuContext, VirtualInterface};

/// Switch-out, hot half: the list registers in use and GICH_HCR into `ctx`.
pub fn save_lists<B: RegisterBus, const Q: usize>(
    vif: &mut VirtualInterface<B, Q>,
    ctx: &mut VcpuContext<Q>,
) -> Result<(), Error> {
    vif.save(ctx)
}

/// Switch-in, hot half: `ctx`'s list registers and GICH_HCR into the GIC.
pub fn restore_lists<B: RegisterBus, const Q: usize>(
    vif: &mut VirtualInterface<B, Q>,
    ctx: &mut VcpuContext<Q>,
) -> Result<(), Error> {
    vif.restore(ctx)
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

/// `ctx` in the snapshot format, into `buf`; the length written.
pub fn context_to_bytes<const Q: usize>(
    ctx: &VcpuContext<Q>,
    buf: &mut [u8],
) -> Result<usize, Error> {
    ctx.save_bytes(buf)
}

/// A context read back from the snapshot format.
pub fn context_from_bytes<const Q: usize>(data: &[u8]) -> Result<VcpuContext<Q>, Error> {
    VcpuContext::load_bytes(data)
}
