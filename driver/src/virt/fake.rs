//! A small GICH frame for unit tests: list registers, HCR, VMCR and APR
//! are stored; MISR, EISR and ELRSR are computed from them (IHI 0048B
//! 5.3.4-5.3.6). A few guest-side operations (acknowledge, EOI) move list
//! registers the way GICV accesses would. Not an architectural model: no
//! priority masking, preemption or active priorities.

extern crate std;

use core::cell::{Cell, RefCell};
use std::vec::Vec;

use crate::bus::RegisterBus;
use crate::regs::gich::{offset, HCR, LR, MISR, VMCR, VTR};

const STATE_INVALID: u32 = 0;
const STATE_PENDING: u32 = 1;
const STATE_ACTIVE: u32 = 2;
const STATE_PA: u32 = 3;

pub(crate) struct FakeGich {
    pub nlr: usize,
    pub hcr: Cell<u32>,
    pub vmcr: Cell<u32>,
    pub apr: Cell<u32>,
    pub lrs: [Cell<u32>; 64],
    /// NP counts pending+active list registers as pending (QEMU: no).
    pub np_counts_pending_active: Cell<bool>,
    /// Physical IDs the guest deactivated through HW = 1 list registers.
    pub deactivated: RefCell<Vec<u32>>,
}

fn state(v: u32) -> u32 {
    LR::State.read(v)
}
fn is_hw(v: u32) -> bool {
    LR::HW.is_set(v)
}
fn eoi_bit(v: u32) -> bool {
    LR::EOI.is_set(v)
}
fn with_state(v: u32, s: u32) -> u32 {
    LR::State.val(s).modify(v)
}

impl FakeGich {
    pub fn new(nlr: usize) -> Self {
        assert!((1..=64).contains(&nlr));
        FakeGich {
            nlr,
            hcr: Cell::new(0),
            vmcr: Cell::new(0),
            apr: Cell::new(0),
            lrs: core::array::from_fn(|_| Cell::new(0)),
            np_counts_pending_active: Cell::new(false),
            deactivated: RefCell::new(Vec::new()),
        }
    }

    pub fn lr(&self, n: usize) -> u32 {
        self.lrs[n].get()
    }

    fn each(&self) -> impl Iterator<Item = (usize, u32)> + '_ {
        (0..self.nlr).map(|n| (n, self.lrs[n].get()))
    }

    pub fn elrsr(&self) -> u64 {
        self.each()
            .filter(|&(_, v)| state(v) == STATE_INVALID && (is_hw(v) || !eoi_bit(v)))
            .fold(0, |m, (n, _)| m | 1 << n)
    }

    pub fn eisr(&self) -> u64 {
        self.each()
            .filter(|&(_, v)| state(v) == STATE_INVALID && !is_hw(v) && eoi_bit(v))
            .fold(0, |m, (n, _)| m | 1 << n)
    }

    pub fn misr(&self) -> u32 {
        let hcr = self.hcr.get();
        let vmcr = self.vmcr.get();
        let valid = self.each().filter(|&(_, v)| state(v) != 0).count();
        let np_pa = self.np_counts_pending_active.get();
        let pending = self
            .each()
            .any(|(_, v)| state(v) == STATE_PENDING || (np_pa && state(v) == STATE_PA));
        let g0 = VMCR::VMGrp0En.is_set(vmcr);
        let g1 = VMCR::VMGrp1En.is_set(vmcr);
        let mut m = MISR::EOI.val((self.eisr() != 0) as u32);
        m += MISR::U.val((HCR::UIE.is_set(hcr) && valid <= 1) as u32);
        m += MISR::LRENP.val((HCR::LRENPIE.is_set(hcr) && HCR::EOICount.read(hcr) != 0) as u32);
        m += MISR::NP.val((HCR::NPIE.is_set(hcr) && !pending) as u32);
        m += MISR::VGrp0E.val((HCR::VGrp0EIE.is_set(hcr) && g0) as u32);
        m += MISR::VGrp0D.val((HCR::VGrp0DIE.is_set(hcr) && !g0) as u32);
        m += MISR::VGrp1E.val((HCR::VGrp1EIE.is_set(hcr) && g1) as u32);
        m += MISR::VGrp1D.val((HCR::VGrp1DIE.is_set(hcr) && !g1) as u32);
        m.value
    }

    /// The maintenance interrupt output: HCR.En and MISR non-zero.
    pub fn maintenance(&self) -> bool {
        HCR::En.is_set(self.hcr.get()) && self.misr() != 0
    }

    /// The guest reads GICV_IAR: the highest-priority pending list register
    /// becomes active. Returns the IAR value, or None (1023).
    pub fn ack(&self) -> Option<u32> {
        if !HCR::En.is_set(self.hcr.get()) {
            return None;
        }
        let (n, v) = self
            .each()
            .filter(|&(_, v)| state(v) == STATE_PENDING)
            .min_by_key(|&(n, v)| (LR::Priority.read(v), n))?;
        self.lrs[n].set(with_state(v, STATE_ACTIVE));
        let id = LR::VirtualID.read(v);
        let cpu = if !is_hw(v) && id < 16 {
            LR::CPUID.read(v)
        } else {
            0
        };
        Some(id | cpu << 10)
    }

    /// The guest writes GICV_EOIR (EOImode 0) with `iar`.
    pub fn eoi(&self, iar: u32) {
        let id = iar & 0x3FF;
        let cpu = (iar >> 10) & 7;
        let hit = self.each().find(|&(_, v)| {
            (state(v) == STATE_ACTIVE || state(v) == STATE_PA)
                && LR::VirtualID.read(v) == id
                && (is_hw(v) || LR::CPUID.read(v) == cpu)
        });
        match hit {
            Some((n, v)) => {
                let next = if state(v) == STATE_PA {
                    STATE_PENDING
                } else {
                    STATE_INVALID
                };
                self.lrs[n].set(with_state(v, next));
                if is_hw(v) {
                    self.deactivated.borrow_mut().push(LR::PhysicalID.read(v));
                }
            }
            None => {
                let hcr = self.hcr.get();
                let count = (HCR::EOICount.read(hcr) + 1).min(31);
                self.hcr.set(HCR::EOICount.val(count).modify(hcr));
            }
        }
    }
}

impl RegisterBus for FakeGich {
    fn read32(&self, off: usize) -> u32 {
        match off {
            offset::HCR => self.hcr.get(),
            offset::VTR => {
                (VTR::ListRegs.val(self.nlr as u32 - 1) + VTR::PREbits.val(4) + VTR::PRIbits.val(4))
                    .value
            }
            offset::VMCR => self.vmcr.get(),
            offset::MISR => self.misr(),
            o if o == offset::EISR => self.eisr() as u32,
            o if o == offset::EISR + 4 => (self.eisr() >> 32) as u32,
            o if o == offset::ELRSR => self.elrsr() as u32,
            o if o == offset::ELRSR + 4 => (self.elrsr() >> 32) as u32,
            offset::APR => self.apr.get(),
            o if (offset::LR..offset::LR + 4 * self.nlr).contains(&o) && o % 4 == 0 => {
                self.lrs[(o - offset::LR) / 4].get()
            }
            _ => 0,
        }
    }

    fn write32(&self, off: usize, value: u32) {
        match off {
            offset::HCR => self.hcr.set(value & 0xF800_00FF),
            offset::VMCR => self.vmcr.set(value),
            offset::APR => self.apr.set(value),
            o if (offset::LR..offset::LR + 4 * self.nlr).contains(&o) && o % 4 == 0 => {
                // Reserved bits [22:20] read as zero.
                self.lrs[(o - offset::LR) / 4].set(value & !0x0070_0000)
            }
            _ => {}
        }
    }

    fn read8(&self, _: usize) -> u8 {
        0
    }
    fn write8(&self, _: usize, _: u8) {}
}
