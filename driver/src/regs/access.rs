//! Access kinds of the GIC's registers, as the type parameter `A` of
//! [`Register`](super::Register) and its handles: what the driver may do
//! with a register is checked by the compiler.

mod sealed {
    pub trait Sealed {}
}

/// A register the driver may read.
pub trait CanRead: sealed::Sealed {}
/// A register the driver may write.
pub trait CanWrite: sealed::Sealed {}

/// Read-only: GICC_IAR, GICC_RPR, GICC_HPPIR, GICD_TYPER, GICH_MISR, ...
#[derive(Debug, Clone, Copy)]
pub enum ReadOnly {}
/// Write-only: GICC_EOIR, GICC_DIR, GICD_SGIR, ...
#[derive(Debug, Clone, Copy)]
pub enum WriteOnly {}
/// Readable and writable.
#[derive(Debug, Clone, Copy)]
pub enum ReadWrite {}

impl sealed::Sealed for ReadOnly {}
impl sealed::Sealed for WriteOnly {}
impl sealed::Sealed for ReadWrite {}
impl CanRead for ReadOnly {}
impl CanRead for ReadWrite {}
impl CanWrite for WriteOnly {}
impl CanWrite for ReadWrite {}
