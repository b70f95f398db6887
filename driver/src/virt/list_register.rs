//! One list register (GICH_LRn, IHI 0048B 5.3.8) as a typed value.
//!
//! A list register presents one virtual interrupt to the guest: its virtual
//! ID, 5-bit priority, group, state, and what the guest's deactivation does:
//! with HW = 1 it deactivates a physical interrupt (PhysicalID); with HW = 0
//! it may raise the EOI maintenance condition (EOI bit), and for a virtual
//! SGI the CPUID field names the requesting CPU the guest reads in GICV_IAR.

use tock_registers::fields::FieldValue;

use super::field_mask;
use crate::regs::gich::LR;
use crate::{Error, Group, IntId, Priority};

/// The state of a virtual interrupt in a list register (GICH_LRn.State).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LrState {
    /// Not in use (0b00). The list register is free once its EOI
    /// maintenance condition, if any, has been handled.
    Invalid,
    /// Pending (0b01): a candidate for the guest's GICV_IAR.
    Pending,
    /// Active (0b10): acknowledged by the guest, not yet deactivated.
    Active,
    /// Active and pending (0b11): active, and fired again since.
    PendingActive,
}

impl LrState {
    fn field(self) -> FieldValue<u32, LR::Register> {
        match self {
            LrState::Invalid => LR::State::Invalid,
            LrState::Pending => LR::State::Pending,
            LrState::Active => LR::State::Active,
            LrState::PendingActive => LR::State::PendingActive,
        }
    }

    fn from_raw(v: u32) -> LrState {
        match LR::State.read_as_enum(v) {
            Some(LR::State::Value::Pending) => LrState::Pending,
            Some(LR::State::Value::Active) => LrState::Active,
            Some(LR::State::Value::PendingActive) => LrState::PendingActive,
            _ => LrState::Invalid,
        }
    }
}

/// What the guest's deactivation of the virtual interrupt does (GICH_LRn.HW
/// and the fields it selects).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LrKind {
    /// HW = 0: a purely virtual interrupt.
    Software {
        /// GICH_LRn.EOI: raise the EOI maintenance condition (GICH_EISR,
        /// GICH_MISR.EOI) when the guest deactivates it, so the hypervisor
        /// learns of the completion (needed for level-sensitive and
        /// emulated interrupts).
        eoi_maintenance: bool,
        /// GICH_LRn.CPUID: the requesting CPU reported in GICV_IAR for a
        /// virtual SGI (0-7); always 0 for other interrupts.
        source_cpu: u8,
    },
    /// HW = 1: tied to a physical interrupt, deactivated in the distributor
    /// when the guest deactivates the virtual one.
    Hardware {
        /// GICH_LRn.PhysicalID, a PPI or SPI (16-1019).
        physical_id: IntId,
    },
}

/// One list register value (GICH_LRn), checked: every `ListRegister`
/// encodes to a value the architecture allows, and
/// [`decode`](Self::decode) accepts exactly the values
/// [`encode`](Self::encode) can produce.
///
/// ```
/// use gic_driver::virt::ListRegister;
/// use gic_driver::{Group, IntId, Priority};
///
/// let lr = ListRegister::software(IntId::sgi(3)?, Priority(0xA0), Group::Group1)?
///     .with_source_cpu(5)?
///     .with_eoi_maintenance();
/// assert_eq!(ListRegister::decode(lr.encode())?, lr);
/// // 0xA1 has bits below the five the list register holds: refused.
/// assert!(ListRegister::software(IntId::spi(0)?, Priority(0xA1), Group::Group1).is_err());
/// # Ok::<(), gic_driver::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ListRegister {
    virtual_id: IntId,
    priority: Priority,
    group: Group,
    state: LrState,
    kind: LrKind,
}

/// Bits of the 8-bit priority below those the list register holds (3).
const PRIORITY_SHIFT: u32 = 8 - LR::Priority.mask.count_ones();
/// The 8-bit priorities a list register can hold: the top five bits (0xF8).
pub(crate) const PRIORITY_MASK: u8 = (LR::Priority.mask << PRIORITY_SHIFT) as u8;

/// Every bit GICH_LRn defines; the rest ([22:20]) is reserved.
const DEFINED: u32 = field_mask(&LR::VirtualID)
    | field_mask(&LR::PhysicalID)
    | field_mask(&LR::Priority)
    | field_mask(&LR::State)
    | field_mask(&LR::Grp1)
    | field_mask(&LR::HW);
/// With HW = 0, PhysicalID bits that are neither CPUID nor EOI ([18:13]) are reserved.
const SW_RESERVED: u32 =
    field_mask(&LR::PhysicalID) & !(field_mask(&LR::CPUID) | field_mask(&LR::EOI));

impl ListRegister {
    /// A pending purely virtual interrupt (HW = 0), without the EOI
    /// maintenance bit and with source CPU 0.
    ///
    /// Fails if `virtual_id` is a special ID (1020-1023), or if `priority`
    /// has any of its low three bits set: the list register holds only
    /// bits \[7:3\], and the driver refuses rather than truncate.
    pub fn software(virtual_id: IntId, priority: Priority, group: Group) -> Result<Self, Error> {
        check_virtual(virtual_id)?;
        check_priority(priority)?;
        Ok(ListRegister {
            virtual_id,
            priority,
            group,
            state: LrState::Pending,
            kind: LrKind::Software {
                eoi_maintenance: false,
                source_cpu: 0,
            },
        })
    }

    /// A pending virtual interrupt tied to the physical interrupt
    /// `physical_id` (HW = 1): the guest's deactivation deactivates it.
    ///
    /// Fails if `virtual_id` is special, if `physical_id` is an SGI or a
    /// special ID (only PPIs and SPIs, 16-1019, can be forwarded), or if
    /// `priority` has any of its low three bits set.
    pub fn hardware(
        virtual_id: IntId,
        physical_id: IntId,
        priority: Priority,
        group: Group,
    ) -> Result<Self, Error> {
        check_virtual(virtual_id)?;
        if physical_id.is_sgi() {
            return Err(Error::IsAnSgi(physical_id.get()));
        }
        if physical_id.is_special() {
            return Err(Error::InvalidIntId(physical_id.get()));
        }
        check_priority(priority)?;
        Ok(ListRegister {
            virtual_id,
            priority,
            group,
            state: LrState::Pending,
            kind: LrKind::Hardware { physical_id },
        })
    }

    /// Sets the EOI bit (HW = 0 only; a hardware interrupt is unchanged):
    /// the guest's deactivation raises the EOI maintenance interrupt, and
    /// [`VirtualInterface::handle_maintenance`](super::VirtualInterface::handle_maintenance)
    /// reports the completion.
    #[must_use]
    pub const fn with_eoi_maintenance(mut self) -> Self {
        if let LrKind::Software { source_cpu, .. } = self.kind {
            self.kind = LrKind::Software {
                eoi_maintenance: true,
                source_cpu,
            };
        }
        self
    }

    /// Sets the requesting CPU a virtual SGI reports in GICV_IAR (CPUID).
    ///
    /// Fails with [`Error::NotAnSgi`] unless the virtual ID is 0-15 and the
    /// interrupt is HW = 0, and with [`Error::InvalidCpu`] for a CPU above 7.
    pub fn with_source_cpu(mut self, cpu: u8) -> Result<Self, Error> {
        if cpu as u32 > LR::CPUID.mask {
            return Err(Error::InvalidCpu(cpu));
        }
        match self.kind {
            LrKind::Software {
                eoi_maintenance, ..
            } if self.virtual_id.is_sgi() => {
                self.kind = LrKind::Software {
                    eoi_maintenance,
                    source_cpu: cpu,
                };
                Ok(self)
            }
            _ => Err(Error::NotAnSgi(self.virtual_id.get())),
        }
    }

    /// The same interrupt in another state.
    #[must_use]
    pub const fn with_state(mut self, state: LrState) -> Self {
        self.state = state;
        self
    }

    /// The interrupt ID the guest sees (VirtualID).
    pub const fn virtual_id(&self) -> IntId {
        self.virtual_id
    }
    /// The 8-bit virtual priority (the Priority field << 3).
    pub const fn priority(&self) -> Priority {
        self.priority
    }
    /// The virtual interrupt's group (Grp1).
    pub const fn group(&self) -> Group {
        self.group
    }
    /// The state (State).
    pub const fn state(&self) -> LrState {
        self.state
    }
    /// Software or hardware, with the fields that go with each.
    pub const fn kind(&self) -> LrKind {
        self.kind
    }
    /// The forwarded physical interrupt, for HW = 1.
    pub const fn physical_id(&self) -> Option<IntId> {
        match self.kind {
            LrKind::Hardware { physical_id } => Some(physical_id),
            LrKind::Software { .. } => None,
        }
    }
    /// For a software virtual SGI, the requesting CPU (CPUID).
    pub const fn source_cpu(&self) -> Option<u8> {
        match self.kind {
            LrKind::Software { source_cpu, .. } if self.virtual_id.is_sgi() => Some(source_cpu),
            _ => None,
        }
    }
    /// Whether the guest's deactivation raises the EOI maintenance condition
    /// (HW = 0 and EOI = 1).
    pub const fn eoi_maintenance(&self) -> bool {
        matches!(
            self.kind,
            LrKind::Software {
                eoi_maintenance: true,
                ..
            }
        )
    }

    /// The GICH_LRn value. Reserved bits are zero.
    pub fn encode(self) -> u32 {
        let mut v = LR::VirtualID.val(self.virtual_id.get())
            + LR::Priority.val((self.priority.get() >> PRIORITY_SHIFT) as u32)
            + self.state.field()
            + LR::Grp1.val((self.group == Group::Group1) as u32);
        match self.kind {
            LrKind::Software {
                eoi_maintenance,
                source_cpu,
            } => {
                v += LR::HW::CLEAR
                    + LR::EOI.val(eoi_maintenance as u32)
                    + LR::CPUID.val(source_cpu as u32);
            }
            LrKind::Hardware { physical_id } => {
                v += LR::HW::SET + LR::PhysicalID.val(physical_id.get());
            }
        }
        v.into()
    }

    /// Reads a GICH_LRn value. Fails with
    /// [`Error::InvalidListRegisterValue`] for anything
    /// [`encode`](Self::encode) cannot produce: reserved bits set, a special
    /// virtual ID, HW = 1 with a physical ID that is an SGI or special, or
    /// HW = 0 with a CPUID for a virtual ID that is not an SGI.
    pub fn decode(raw: u32) -> Result<Self, Error> {
        let bad = Error::InvalidListRegisterValue(raw);
        if raw & !DEFINED != 0 {
            return Err(bad);
        }
        let virtual_id = IntId::new(LR::VirtualID.read(raw)).map_err(|_| bad)?;
        if virtual_id.is_special() {
            return Err(bad);
        }
        let kind = if LR::HW.is_set(raw) {
            let physical_id = IntId::new(LR::PhysicalID.read(raw)).map_err(|_| bad)?;
            if physical_id.is_sgi() || physical_id.is_special() {
                return Err(bad);
            }
            LrKind::Hardware { physical_id }
        } else {
            let source_cpu = LR::CPUID.read(raw) as u8;
            if raw & SW_RESERVED != 0 || (source_cpu != 0 && !virtual_id.is_sgi()) {
                return Err(bad);
            }
            LrKind::Software {
                eoi_maintenance: LR::EOI.is_set(raw),
                source_cpu,
            }
        };
        Ok(ListRegister {
            virtual_id,
            priority: Priority((LR::Priority.read(raw) << PRIORITY_SHIFT) as u8),
            group: if LR::Grp1.is_set(raw) {
                Group::Group1
            } else {
                Group::Group0
            },
            state: LrState::from_raw(raw),
            kind,
        })
    }
}

impl From<ListRegister> for u32 {
    fn from(lr: ListRegister) -> u32 {
        lr.encode()
    }
}

impl TryFrom<u32> for ListRegister {
    type Error = Error;
    fn try_from(raw: u32) -> Result<Self, Error> {
        ListRegister::decode(raw)
    }
}

fn check_virtual(id: IntId) -> Result<(), Error> {
    if id.is_special() {
        Err(Error::InvalidIntId(id.get()))
    } else {
        Ok(())
    }
}

fn check_priority(p: Priority) -> Result<(), Error> {
    if p.get() & !PRIORITY_MASK != 0 {
        Err(Error::PriorityNotImplemented {
            priority: p.get(),
            implemented: PRIORITY_MASK,
        })
    } else {
        Ok(())
    }
}

/// Helpers on raw list-register values for the hot paths: no decoding, no
/// `Result`, only the field definitions of [`LR`].
pub(crate) mod raw {
    use super::{field_mask, LR};

    const STATE: u32 = field_mask(&LR::State);
    const PENDING: u32 = field_mask(&LR::State) & LR::State::Pending.value;
    const ACTIVE: u32 = field_mask(&LR::State) & LR::State::Active.value;
    const HW: u32 = field_mask(&LR::HW);
    /// The EOI bit.
    pub const EOI: u32 = field_mask(&LR::EOI);
    const KEY_SW: u32 = field_mask(&LR::VirtualID) | field_mask(&LR::CPUID);
    const KEY_HW: u32 = field_mask(&LR::VirtualID);
    const VIRTUAL_ID: u32 = field_mask(&LR::VirtualID);
    const PHYSICAL_ID: u32 = field_mask(&LR::PhysicalID);

    /// State is Invalid.
    #[inline(always)]
    pub const fn is_invalid(v: u32) -> bool {
        v & STATE == 0
    }
    /// State is exactly Pending (not pending+active).
    #[inline(always)]
    pub const fn is_pending_only(v: u32) -> bool {
        v & STATE == PENDING
    }
    /// State has the pending bit (Pending or PendingActive).
    #[inline(always)]
    pub const fn has_pending(v: u32) -> bool {
        v & PENDING != 0
    }
    /// State is PendingActive.
    #[inline(always)]
    pub const fn is_pending_active(v: u32) -> bool {
        v & STATE == STATE
    }
    /// State is exactly Active.
    #[inline(always)]
    pub const fn is_active_only(v: u32) -> bool {
        v & STATE == ACTIVE
    }
    /// HW = 1.
    #[inline(always)]
    pub const fn is_hw(v: u32) -> bool {
        v & HW != 0
    }
    /// The GICH_ELRSR condition: Invalid and (HW = 1 or EOI = 0): the LR is free.
    #[inline(always)]
    pub const fn is_empty(v: u32) -> bool {
        is_invalid(v) && (v & (HW | EOI)) != EOI
    }
    /// Which interrupt this is, for "already in a list register": the
    /// virtual ID, plus the source CPU for a software SGI.
    #[inline(always)]
    pub const fn key(v: u32) -> u32 {
        v & if is_hw(v) { KEY_HW } else { KEY_SW }
    }
    /// The VirtualID field.
    #[inline(always)]
    pub const fn virtual_id(v: u32) -> u32 {
        v & VIRTUAL_ID
    }
    /// Whether `a` and `b` claim the same virtual interrupt of the guest:
    /// the same virtual ID, unless both are software SGIs from different
    /// source CPUs (which the guest tells apart by GICV_IAR.CPUID). At most
    /// one such entry may be valid or queued at a time.
    #[inline(always)]
    pub const fn same_virtual_id(a: u32, b: u32) -> bool {
        virtual_id(a) == virtual_id(b) && (is_hw(a) || is_hw(b) || key(a) == key(b))
    }
    /// Whether `b` can merge into `a` (both claiming the same virtual
    /// interrupt) without changing what either means: the same kind, and
    /// for HW = 1 the same physical interrupt.
    #[inline(always)]
    pub const fn same_link(a: u32, b: u32) -> bool {
        if is_hw(a) != is_hw(b) {
            false
        } else if is_hw(a) {
            a & PHYSICAL_ID == b & PHYSICAL_ID
        } else {
            key(a) == key(b)
        }
    }
    /// The Priority field (5 bits; lower is more urgent).
    #[inline(always)]
    pub const fn priority(v: u32) -> u32 {
        (v & field_mask(&LR::Priority)) >> LR::Priority.shift
    }
    /// The same value with the state set to pending+active.
    #[inline(always)]
    pub const fn to_pending_active(v: u32) -> u32 {
        v | STATE
    }
    /// The same value in state Pending.
    #[inline(always)]
    pub const fn as_pending(v: u32) -> u32 {
        (v & !STATE) | PENDING
    }
    /// The same value in state Invalid.
    #[inline(always)]
    pub const fn as_invalid(v: u32) -> u32 {
        v & !STATE
    }
    /// The same value in state Active.
    #[inline(always)]
    pub const fn as_active(v: u32) -> u32 {
        (v & !STATE) | ACTIVE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Error, Group, IntId, Priority};

    fn id(n: u32) -> IntId {
        IntId::new(n).unwrap()
    }
    fn sw(n: u32, prio: u8) -> ListRegister {
        ListRegister::software(id(n), Priority(prio), Group::Group1).unwrap()
    }
    fn hw(n: u32, p: u32, prio: u8) -> ListRegister {
        ListRegister::hardware(id(n), id(p), Priority(prio), Group::Group1).unwrap()
    }

    #[test]
    fn software_sgi_encoding_matches_the_register_layout() {
        let lr = ListRegister::software(IntId::sgi(3).unwrap(), Priority(0xA0), Group::Group1)
            .unwrap()
            .with_source_cpu(5)
            .unwrap()
            .with_eoi_maintenance();
        // Grp1 | Pending | priority 0xA0 >> 3 = 0x14 | EOI | CPUID 5 | VirtualID 3
        assert_eq!(lr.encode(), 0x5A08_1403);
        assert_eq!(ListRegister::decode(0x5A08_1403).unwrap(), lr);
        assert_eq!(lr.source_cpu(), Some(5));
        assert!(lr.eoi_maintenance());
    }

    #[test]
    fn hardware_encoding_matches_the_register_layout() {
        let lr = hw(27, 27, 0xA0);
        assert_eq!(lr.encode(), 0xDA00_6C1B);
        assert_eq!(lr.physical_id(), Some(id(27)));
        assert_eq!(lr.source_cpu(), None);
        assert!(!lr.with_eoi_maintenance().eoi_maintenance());
        assert_eq!(ListRegister::decode(0xDA00_6C1B).unwrap(), lr);
    }

    #[test]
    fn priority_with_low_bits_is_an_error_not_a_truncation() {
        assert_eq!(
            ListRegister::software(id(40), Priority(0xA1), Group::Group0),
            Err(Error::PriorityNotImplemented {
                priority: 0xA1,
                implemented: 0xF8
            })
        );
        assert!(ListRegister::hardware(id(40), id(40), Priority(0x07), Group::Group0).is_err());
        let lr = sw(40, 0xF8);
        assert_eq!(
            ListRegister::decode(lr.encode()).unwrap().priority(),
            Priority(0xF8)
        );
    }

    #[test]
    fn hardware_needs_a_ppi_or_spi_physical_id() {
        let p = Priority(0x80);
        assert_eq!(
            ListRegister::hardware(id(40), id(15), p, Group::Group1),
            Err(Error::IsAnSgi(15))
        );
        assert_eq!(
            ListRegister::hardware(id(40), id(1020), p, Group::Group1),
            Err(Error::InvalidIntId(1020))
        );
        assert!(ListRegister::hardware(id(40), id(16), p, Group::Group1).is_ok());
        assert!(ListRegister::hardware(id(40), id(1019), p, Group::Group1).is_ok());
        assert_eq!(
            ListRegister::software(id(1023), p, Group::Group1),
            Err(Error::InvalidIntId(1023))
        );
    }

    #[test]
    fn source_cpu_only_for_software_sgis() {
        assert_eq!(sw(16, 0).with_source_cpu(1), Err(Error::NotAnSgi(16)));
        assert_eq!(sw(1, 0).with_source_cpu(8), Err(Error::InvalidCpu(8)));
        assert_eq!(hw(2, 20, 0).with_source_cpu(1), Err(Error::NotAnSgi(2)));
        assert_eq!(sw(15, 0).with_source_cpu(7).unwrap().source_cpu(), Some(7));
    }

    #[test]
    fn decode_rejects_what_encode_cannot_produce() {
        let good = sw(40, 0xA0).encode();
        for bad in [
            good | 1 << 20,            // reserved [22:20]
            good | 1 << 13,            // HW = 0: reserved [18:13]
            good | 1 << 10,            // CPUID for a non-SGI
            (good & !0x3FF) | 1020,    // special virtual ID
            1 << 31 | 15 << 10 | 40,   // HW = 1, physical SGI
            1 << 31 | 1023 << 10 | 40, // HW = 1, physical special
        ] {
            assert_eq!(
                ListRegister::decode(bad),
                Err(Error::InvalidListRegisterValue(bad)),
                "{bad:#x}"
            );
        }
        let zero = ListRegister::decode(0).unwrap();
        assert_eq!(zero.state(), LrState::Invalid);
        assert_eq!(zero.encode(), 0);
    }

    mod prop {
        use super::*;
        use proptest::prelude::*;

        fn any_lr() -> impl Strategy<Value = ListRegister> {
            (
                0u32..1020,
                16u32..1020,
                0u8..32,
                any::<bool>(),
                0u8..4,
                any::<bool>(),
                any::<bool>(),
                0u8..8,
            )
                .prop_map(|(v, p, prio, g1, st, is_hw, eoi, cpu)| {
                    let group = if g1 { Group::Group1 } else { Group::Group0 };
                    let state = [
                        LrState::Invalid,
                        LrState::Pending,
                        LrState::Active,
                        LrState::PendingActive,
                    ][st as usize];
                    let prio = Priority(prio << 3);
                    let lr = if is_hw {
                        ListRegister::hardware(id(v), id(p), prio, group).unwrap()
                    } else {
                        let mut lr = ListRegister::software(id(v), prio, group).unwrap();
                        if eoi {
                            lr = lr.with_eoi_maintenance();
                        }
                        if v < 16 {
                            lr = lr.with_source_cpu(cpu).unwrap();
                        }
                        lr
                    };
                    lr.with_state(state)
                })
        }

        proptest! {
            #[test]
            fn list_register_round_trips(lr in any_lr()) {
                prop_assert_eq!(ListRegister::decode(lr.encode()), Ok(lr));
            }

            #[test]
            fn every_decodable_word_encodes_back_exactly(raw in any::<u32>()) {
                if let Ok(lr) = ListRegister::decode(raw) {
                    prop_assert_eq!(lr.encode(), raw);
                }
            }
        }
    }
}
