//! The CPU interface (GICC, IHI 0048B 4.4): acknowledge, end and deactivate
//! interrupts on one CPU. A guest uses the same type on the virtual CPU
//! interface (GICV), which has the same layout.

use tock_registers::interfaces::{Readable, Writeable};
use tock_registers::LocalRegisterCopy;

use crate::bus::RegisterBus;
use crate::regs::gicc::{self, APR_COUNT, BPR, CTLR, IAR, PMR, RPR};
use crate::{Error, IntId, Priority};

/// How an interrupt is completed (GICC_CTLR.EOImode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EoiMode {
    /// GICC_EOIR drops the running priority and deactivates the interrupt.
    Combined,
    /// GICC_EOIR only drops the running priority; GICC_DIR deactivates. A
    /// hypervisor uses this to leave a forwarded interrupt active until
    /// its guest completes it.
    Split,
}

/// How [`CpuInterface::init`] sets up the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct CpuInterfaceConfig {
    /// GICC_PMR: interrupts with a priority value at or above this are masked.
    pub priority_mask: Priority,
    /// GICC_BPR, 0-7: bits below `binary_point + 1` are subpriority.
    pub binary_point: u8,
    /// GICC_CTLR.EnableGrp0.
    pub group0: bool,
    /// GICC_CTLR.EnableGrp1.
    pub group1: bool,
    /// GICC_CTLR.AckCtl: IAR acknowledges Group 1 interrupts too (else it
    /// returns 1022 for them).
    pub ack_ctl: bool,
    /// GICC_CTLR.FIQEn: Group 0 interrupts are signalled as FIQ.
    pub fiq_group0: bool,
    /// GICC_CTLR.EOImode.
    pub eoi_mode: EoiMode,
}

impl Default for CpuInterfaceConfig {
    /// Linux's choice: PMR 0xF0, binary point 0, both groups signalled as
    /// IRQ and acknowledged, combined EOI.
    fn default() -> Self {
        CpuInterfaceConfig {
            priority_mask: Priority(0xF0),
            binary_point: 0,
            group0: true,
            group1: true,
            ack_ctl: true,
            fiq_group0: false,
            eoi_mode: EoiMode::Combined,
        }
    }
}

/// What a [`CpuInterface::handle_pending_with`] handler wants done with its
/// interrupt after the priority drop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Deactivation {
    /// Deactivate it (GICC_DIR in split mode): the handler dealt with it.
    Deactivate,
    /// Leave it active (no GICC_DIR): something else deactivates it later,
    /// typically a guest's EOI through a list register with HW = 1, which
    /// a hypervisor uses to forward a physical interrupt. Honoured only in
    /// split mode: in combined mode GICC_EOIR has already deactivated it.
    LeaveActive,
}

/// An acknowledged interrupt: the GICC_IAR value, which must be written
/// back unchanged to GICC_EOIR (and GICC_DIR in split mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Acknowledged(u32);

impl Acknowledged {
    /// Wraps a raw IAR value (as read from GICC_IAR or GICV_IAR).
    pub const fn from_raw(raw: u32) -> Self {
        Acknowledged(raw)
    }
    /// The interrupt ID (IAR.InterruptID).
    pub fn intid(self) -> IntId {
        // The field is 10 bits wide, so the value is always below 1024.
        IntId::new(IAR::InterruptID.read(self.0)).unwrap_or(IntId::SPURIOUS)
    }
    /// For an SGI, the CPU that sent it (IAR.CPUID).
    pub fn source_cpu(self) -> Option<u8> {
        self.intid().is_sgi().then(|| IAR::CPUID.read(self.0) as u8)
    }
    /// The raw IAR value.
    pub const fn raw(self) -> u32 {
        self.0
    }
}

/// One CPU's interface to the GIC (GICC), or a guest's virtual one (GICV).
pub struct CpuInterface<B> {
    bus: B,
}

impl<B: RegisterBus> CpuInterface<B> {
    /// The most interrupts one call of [`handle_pending`](Self::handle_pending)
    /// or [`handle_pending_with`](Self::handle_pending_with) acknowledges:
    /// 1132, every interrupt one CPU interface can have pending at once,
    /// each taken once (INTIDs 0-1019, with SGIs 0-15 pending from up to
    /// eight source CPUs each: 1020 + 7 x 16).
    ///
    /// The bound matters only for a frame whose GICC_IAR never reads a
    /// special ID: one that reads as 0 (INTID 0, a valid SGI) because no
    /// CPU interface is behind it, such as an absent CPU's GICV frame or a
    /// GICV frame without the Virtualization Extensions, or an interrupt
    /// that keeps firing while it is handled. The call then returns
    /// instead of looping for ever; whatever is still pending keeps the
    /// interrupt line asserted, so the CPU takes the exception again and
    /// nothing is lost.
    pub const MAX_HANDLED_PER_CALL: usize = 1020 + 7 * 16;

    /// The interface behind `bus`: the calling CPU's GICC, or GICV in a guest.
    pub const fn new(bus: B) -> Self {
        CpuInterface { bus }
    }

    /// The bus this interface uses.
    pub fn bus(&self) -> &B {
        &self.bus
    }

    /// Sets the priority mask and binary point, clears the active
    /// priorities (GICC_APRn), then enables the interface per `config`
    /// (GICC_CTLR, keeping the bypass bits).
    pub fn init(&self, config: &CpuInterfaceConfig) -> Result<(), Error> {
        if config.binary_point > 7 {
            return Err(Error::InvalidBinaryPoint(config.binary_point));
        }
        gicc::PMR
            .on(&self.bus)
            .write(PMR::Priority.val(config.priority_mask.get() as u32));
        gicc::BPR
            .on(&self.bus)
            .write(BPR::BinaryPoint.val(config.binary_point as u32));
        for n in 0..APR_COUNT {
            gicc::APR.nth(n).on(&self.bus).set(0);
        }
        let ctlr = gicc::CTLR.on(&self.bus);
        let bypass = ctlr.read(CTLR::Bypass);
        ctlr.write(
            CTLR::Bypass.val(bypass)
                + CTLR::EnableGrp0.val(config.group0 as u32)
                + CTLR::EnableGrp1.val(config.group1 as u32)
                + CTLR::AckCtl.val(config.ack_ctl as u32)
                + CTLR::FIQEn.val(config.fiq_group0 as u32)
                + CTLR::EOImode.val((config.eoi_mode == EoiMode::Split) as u32),
        );
        Ok(())
    }

    /// Stops signalling both groups: writes GICC_CTLR keeping only the
    /// bypass bits, so EnableGrp0/1, AckCtl, FIQEn, CBPR and EOImode are
    /// cleared too ([`init`](Self::init) sets them again).
    pub fn disable(&self) {
        let ctlr = gicc::CTLR.on(&self.bus);
        ctlr.write(CTLR::Bypass.val(ctlr.read(CTLR::Bypass)));
    }

    /// The EOI mode in force (GICC_CTLR.EOImode).
    pub fn eoi_mode(&self) -> EoiMode {
        if gicc::CTLR.on(&self.bus).is_set(CTLR::EOImode) {
            EoiMode::Split
        } else {
            EoiMode::Combined
        }
    }

    /// Acknowledges the highest-priority pending interrupt (reads
    /// GICC_IAR), making it active. `None` when nothing was acknowledged:
    /// the spurious ID 1023, or 1022 (a Group 1 interrupt with AckCtl clear).
    #[inline]
    pub fn acknowledge(&self) -> Option<Acknowledged> {
        let ack = Acknowledged(gicc::IAR.on(&self.bus).get());
        (!ack.intid().is_special()).then_some(ack)
    }

    /// Signals the end of `ack` (writes GICC_EOIR): drops the running
    /// priority and, in combined mode, deactivates it.
    #[inline]
    pub fn end_of_interrupt(&self, ack: Acknowledged) {
        gicc::EOIR.on(&self.bus).set(ack.raw());
    }

    /// Deactivates `ack` (writes GICC_DIR). Only meaningful in split mode.
    #[inline]
    pub fn deactivate(&self, ack: Acknowledged) {
        gicc::DIR.on(&self.bus).set(ack.raw());
    }

    /// Acknowledges every pending interrupt in turn, calls `handler` for
    /// each, and ends it afterwards (EOIR, plus DIR in split mode) so no
    /// handler can forget. Returns how many were handled: stops when
    /// GICC_IAR reads a special ID, or after
    /// [`MAX_HANDLED_PER_CALL`](Self::MAX_HANDLED_PER_CALL). A handler that
    /// must leave some interrupts active uses
    /// [`handle_pending_with`](Self::handle_pending_with).
    pub fn handle_pending(&self, mut handler: impl FnMut(Acknowledged)) -> usize {
        let split = self.eoi_mode() == EoiMode::Split;
        let mut n = 0;
        while n < Self::MAX_HANDLED_PER_CALL {
            let Some(ack) = self.acknowledge() else {
                break;
            };
            handler(ack);
            self.end_of_interrupt(ack);
            if split {
                self.deactivate(ack);
            }
            n += 1;
        }
        n
    }

    /// As [`handle_pending`](Self::handle_pending), but `handler` decides
    /// whether each interrupt is deactivated. Every interrupt gets its
    /// GICC_EOIR (the priority drop); in split mode GICC_DIR follows only
    /// for [`Deactivation::Deactivate`]. A hypervisor returns
    /// [`Deactivation::LeaveActive`] for an interrupt it forwards to a guest
    /// with HW = 1, whose EOI through GICV deactivates it: writing GICC_DIR
    /// for it would let it fire again before the guest has handled it. In
    /// combined mode GICC_EOIR deactivates every interrupt whatever the
    /// handler returns. Returns how many were handled, at most
    /// [`MAX_HANDLED_PER_CALL`](Self::MAX_HANDLED_PER_CALL).
    pub fn handle_pending_with(
        &self,
        mut handler: impl FnMut(Acknowledged) -> Deactivation,
    ) -> usize {
        let split = self.eoi_mode() == EoiMode::Split;
        let mut n = 0;
        while n < Self::MAX_HANDLED_PER_CALL {
            let Some(ack) = self.acknowledge() else {
                break;
            };
            let deactivation = handler(ack);
            self.end_of_interrupt(ack);
            if split && deactivation == Deactivation::Deactivate {
                self.deactivate(ack);
            }
            n += 1;
        }
        n
    }

    /// The running priority (GICC_RPR): 0xFF when no interrupt is active.
    pub fn running_priority(&self) -> Priority {
        Priority(gicc::RPR.on(&self.bus).read(RPR::Priority) as u8)
    }

    /// The highest-priority pending interrupt (GICC_HPPIR), without
    /// acknowledging it; `None` when it reads as a special ID.
    pub fn highest_pending(&self) -> Option<Acknowledged> {
        let v = Acknowledged(gicc::HPPIR.on(&self.bus).get());
        (!v.intid().is_special()).then_some(v)
    }

    /// Sets the priority mask (GICC_PMR).
    pub fn set_priority_mask(&self, mask: Priority) {
        gicc::PMR
            .on(&self.bus)
            .write(PMR::Priority.val(mask.get() as u32));
    }

    /// The priority mask (GICC_PMR), with unimplemented bits read as zero.
    pub fn priority_mask(&self) -> Priority {
        Priority(gicc::PMR.on(&self.bus).read(PMR::Priority) as u8)
    }

    /// Sets the binary point (GICC_BPR), 0-7. The GIC may raise it to its minimum.
    pub fn set_binary_point(&self, bpr: u8) -> Result<(), Error> {
        if bpr > 7 {
            return Err(Error::InvalidBinaryPoint(bpr));
        }
        gicc::BPR
            .on(&self.bus)
            .write(BPR::BinaryPoint.val(bpr as u32));
        Ok(())
    }

    /// The binary point (GICC_BPR).
    pub fn binary_point(&self) -> u8 {
        gicc::BPR.on(&self.bus).read(BPR::BinaryPoint) as u8
    }

    /// GICC_CTLR as a field-accessible copy.
    pub fn control(&self) -> LocalRegisterCopy<u32, CTLR::Register> {
        LocalRegisterCopy::new(gicc::CTLR.on(&self.bus).get())
    }
}

#[cfg(test)]
mod tests {
    use core::cell::Cell;

    use super::*;
    use crate::regs::gicc::offset;

    /// A frame that reads every register as 0, as an absent CPU's GICV
    /// frame or a GICV without the Virtualization Extensions may: GICC_IAR
    /// reads INTID 0, a valid SGI, for ever. Counts IAR reads and EOIR
    /// writes, and gives up on a runaway loop.
    #[derive(Default)]
    struct ZeroFrame {
        iar_reads: Cell<usize>,
        eoirs: Cell<usize>,
    }

    impl RegisterBus for ZeroFrame {
        fn read32(&self, offset: usize) -> u32 {
            if offset == offset::IAR {
                self.iar_reads.set(self.iar_reads.get() + 1);
                assert!(self.iar_reads.get() < 100_000, "IAR read for ever");
            }
            0
        }
        fn write32(&self, offset: usize, value: u32) {
            if offset == offset::EOIR {
                assert_eq!(value, 0);
                self.eoirs.set(self.eoirs.get() + 1);
            }
        }
        fn read8(&self, _: usize) -> u8 {
            0
        }
        fn write8(&self, _: usize, _: u8) {}
    }

    #[test]
    fn handling_pending_interrupts_stops_after_a_bound_when_iar_never_reads_special() {
        let cif = CpuInterface::new(ZeroFrame::default());
        let mut seen = 0;
        assert_eq!(
            cif.handle_pending(|ack| {
                assert_eq!(ack.intid(), IntId::new(0).unwrap());
                seen += 1;
            }),
            CpuInterface::<ZeroFrame>::MAX_HANDLED_PER_CALL
        );
        assert_eq!(seen, 1132);
        assert_eq!(cif.bus().iar_reads.get(), 1132);
        assert_eq!(cif.bus().eoirs.get(), 1132, "each one ended");

        let cif = CpuInterface::new(ZeroFrame::default());
        assert_eq!(cif.handle_pending_with(|_| Deactivation::Deactivate), 1132);
        assert_eq!(cif.bus().eoirs.get(), 1132);
    }
}
