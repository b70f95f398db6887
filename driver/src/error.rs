//! The driver's error type: every out-of-range argument is rejected with one
//! of these before any register is touched.

use core::fmt;

/// Why a driver call was refused. Nothing was written to the GIC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Error {
    /// The number is not an interrupt ID (0-1019, or 1020-1023 where special IDs are allowed).
    InvalidIntId(u32),
    /// The interrupt ID is valid but beyond the lines this GIC implements (GICD_TYPER).
    IntIdNotImplemented {
        /// The requested INTID.
        intid: u32,
        /// The number of lines implemented.
        lines: u32,
    },
    /// The operation needs an SGI (0-15).
    NotAnSgi(u32),
    /// The operation needs a PPI (16-31): the INTID asked for (u32::MAX if
    /// it is not representable).
    NotAPpi(u32),
    /// The operation needs an SPI (32-1019): SGI and PPI targets and SGI
    /// trigger modes are fixed by the architecture.
    NotAnSpi(u32),
    /// The operation does not apply to SGIs (their enable bits and trigger are fixed).
    IsAnSgi(u32),
    /// The priority has bits set below the implemented priority bits, so the
    /// GIC would silently change it.
    PriorityNotImplemented {
        /// The requested priority.
        priority: u8,
        /// The mask of implemented bits (for example 0xF8 with 5 bits).
        implemented: u8,
    },
    /// The CPU mask is empty or names a CPU interface that does not exist.
    InvalidCpuMask {
        /// The requested mask.
        mask: u8,
        /// The number of CPU interfaces implemented.
        cpus: u8,
    },
    /// A CPU number outside 0-7, or beyond the implemented CPU interfaces.
    InvalidCpu(u8),
    /// The binary point is outside 0-7.
    InvalidBinaryPoint(u8),
    /// A list-register index beyond the implemented list registers (GICH_VTR).
    InvalidListRegister(usize),
    /// A list-register value the architecture does not allow (for example
    /// HW = 1 with a physical ID below 16, or a CPUID for a non-SGI).
    InvalidListRegisterValue(u32),
    /// The interrupt is already waiting for injection or held in a list register.
    AlreadyQueued(u32),
    /// The pending-interrupt queue is full; the interrupt was not accepted.
    QueueFull(u32),
    /// List register `list_register` already holds virtual interrupt
    /// `intid` as the other kind (HW = 0 against HW = 1), or forwarding
    /// another physical interrupt: merging the request into it would either
    /// rewrite the hardware register's PhysicalID or drop the request's
    /// physical link. The request was not accepted and the register is
    /// unchanged; inject it again once the guest has completed the
    /// interrupt held there.
    ConflictsWithListRegister {
        /// The virtual INTID of the request.
        intid: u32,
        /// The list register holding it (GICH_LRn).
        list_register: usize,
    },
    /// The pending queue already holds virtual interrupt `intid` as the
    /// other kind (HW = 0 against HW = 1), or forwarding another physical
    /// interrupt, `position` entries from its head (0: next to be
    /// delivered). As for [`ConflictsWithListRegister`](Self::ConflictsWithListRegister),
    /// nothing was changed.
    ConflictsWithQueued {
        /// The virtual INTID of the request.
        intid: u32,
        /// Where the queued entry is, counted from the head (0).
        position: usize,
    },
    /// Every list register is in use (GICH_LRn), so an interrupt that must
    /// be listed as it is (for example an active one) has no place.
    NoFreeListRegister,
    /// No vCPU is resident on the virtual interface: it was saved and
    /// nothing was restored since.
    NoResidentVcpu,
    /// The vCPU resident on the virtual interface still holds interrupts
    /// (in list registers or queued): restoring another would lose them.
    /// Save it first.
    VcpuResident,
    /// A saved context could not be decoded.
    Snapshot(crate::snapshot::SnapshotError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::InvalidIntId(n) => write!(f, "{n} is not an interrupt ID"),
            Error::IntIdNotImplemented { intid, lines } => {
                write!(
                    f,
                    "INTID {intid} is beyond the {lines} lines this GIC implements"
                )
            }
            Error::NotAnSgi(n) => write!(f, "INTID {n} is not an SGI (0-15)"),
            Error::NotAPpi(n) => write!(f, "INTID {n} is not a PPI (16-31)"),
            Error::NotAnSpi(n) => write!(f, "INTID {n} is not an SPI (32-1019)"),
            Error::IsAnSgi(n) => write!(f, "INTID {n} is an SGI, whose setting is fixed"),
            Error::PriorityNotImplemented {
                priority,
                implemented,
            } => write!(
                f,
                "priority {priority:#04x} uses bits outside the implemented mask {implemented:#04x}"
            ),
            Error::InvalidCpuMask { mask, cpus } => {
                write!(
                    f,
                    "CPU mask {mask:#04x} is empty or names CPUs beyond the {cpus} present"
                )
            }
            Error::InvalidCpu(c) => write!(f, "CPU {c} does not exist"),
            Error::InvalidBinaryPoint(b) => write!(f, "binary point {b} is outside 0-7"),
            Error::InvalidListRegister(n) => write!(f, "list register {n} is not implemented"),
            Error::InvalidListRegisterValue(v) => {
                write!(f, "{v:#010x} is not a valid list register value")
            }
            Error::AlreadyQueued(n) => write!(
                f,
                "virtual INTID {n} is already queued or in a list register"
            ),
            Error::QueueFull(n) => write!(f, "pending queue full; virtual INTID {n} not accepted"),
            Error::ConflictsWithListRegister {
                intid,
                list_register,
            } => write!(
                f,
                "list register {list_register} holds virtual INTID {intid} with another HW setting or physical ID"
            ),
            Error::ConflictsWithQueued { intid, position } => write!(
                f,
                "queue entry {position} holds virtual INTID {intid} with another HW setting or physical ID"
            ),
            Error::NoFreeListRegister => f.write_str("every list register is in use"),
            Error::NoResidentVcpu => f.write_str("no vCPU is resident on the virtual interface"),
            Error::VcpuResident => f.write_str(
                "the vCPU resident on the virtual interface still holds interrupts: save it first",
            ),
            Error::Snapshot(e) => write!(f, "saved context: {e}"),
        }
    }
}

impl core::error::Error for Error {}

impl From<crate::snapshot::SnapshotError> for Error {
    fn from(e: crate::snapshot::SnapshotError) -> Self {
        Error::Snapshot(e)
    }
}
