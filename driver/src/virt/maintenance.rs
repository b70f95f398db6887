//! What one maintenance interrupt (IHI 0048B 5.3.4, 5.3.5) meant, as
//! reported by [`VirtualInterface::handle_maintenance`](super::VirtualInterface::handle_maintenance).

use core::fmt;

use heapless::Vec;

use super::control::Misr;
use super::list_register::raw;
use crate::regs::gich::{LR, MAX_LIST_REGISTERS};
use crate::IntId;

/// A virtual interrupt the guest completed (deactivated) whose list
/// register had the EOI maintenance bit: its virtual ID, and for a virtual
/// SGI the source CPU it was injected with.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Completion(u16);

impl Completion {
    /// From a software list-register value.
    pub(crate) fn from_lr(v: u32) -> Self {
        // VirtualID and CPUID: the low 13 bits of a HW = 0 value.
        Completion(raw::key(v) as u16)
    }

    /// The virtual interrupt ID.
    pub fn intid(&self) -> IntId {
        // A 10-bit field is always below 1024.
        IntId::new(LR::VirtualID.read(self.0 as u32)).unwrap_or(IntId::SPURIOUS)
    }

    /// For a virtual SGI, the source CPU it was injected with.
    pub fn source_cpu(&self) -> Option<u8> {
        self.intid()
            .is_sgi()
            .then(|| LR::CPUID.read(self.0 as u32) as u8)
    }
}

impl fmt::Debug for Completion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.source_cpu() {
            Some(cpu) => write!(f, "{:?} from CPU {cpu}", self.intid()),
            None => write!(f, "{:?}", self.intid()),
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Completion {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(f, "{} (source {})", self.intid(), self.source_cpu())
    }
}

/// The outcome of one [`handle_maintenance`](super::VirtualInterface::handle_maintenance)
/// call: what was asserted and what the driver did about it. After the
/// call, no condition the driver handles remains asserted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MaintenanceSummary {
    /// GICH_MISR as read. When no condition but EOI was enabled the driver
    /// skips that read, and this holds only the EOI bit, from GICH_EISR.
    pub misr: Misr,
    /// Interrupts the guest completed whose list register had the EOI bit,
    /// in list-register order. Their list registers are free again.
    pub completed: Vec<Completion, MAX_LIST_REGISTERS>,
    /// Guest EOIs that matched no list register (GICH_HCR.EOICount, consumed
    /// and reset to zero when GICH_MISR.LRENP was set).
    pub unmatched_eois: u8,
    /// List registers written from the queue.
    pub refilled: usize,
    /// Interrupts still waiting in the queue.
    pub queued: usize,
}

impl MaintenanceSummary {
    /// Whether nothing was asserted (a spurious or already-handled interrupt).
    pub fn is_spurious(&self) -> bool {
        self.misr.is_empty()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for MaintenanceSummary {
    fn format(&self, f: defmt::Formatter) {
        defmt::write!(
            f,
            "MaintenanceSummary {{ misr: {}, completed: {}, unmatched_eois: {}, refilled: {}, queued: {} }}",
            self.misr,
            self.completed.as_slice(),
            self.unmatched_eois,
            self.refilled,
            self.queued
        )
    }
}
