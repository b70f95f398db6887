//! The model behind the driver's register bus: one [`FrameBus`] per frame
//! and CPU, all sharing one [`Gic`] behind a spin lock.
//!
//! ```
//! use gic_driver::Distributor;
//! use gic_model::bus::SharedGic;
//! use gic_model::{Config, Frame};
//!
//! let shared = SharedGic::new(Config::qemu_virt(2)).unwrap();
//! let gicd = Distributor::new(shared.frame(Frame::Gicd, 0));
//! assert_eq!(gicd.info().lines, 288);
//! assert_eq!(gicd.info().cpus, 2);
//! ```

use gic_driver::bus::RegisterBus;

use crate::{Config, ConfigError, Frame, Gic, Width};

/// A [`Gic`] shared by the buses of its frames.
#[derive(Debug)]
pub struct SharedGic {
    gic: spin::Mutex<Gic>,
}

impl SharedGic {
    /// A shared model of shape `config`, in its reset state.
    pub fn new(config: Config) -> Result<SharedGic, ConfigError> {
        Gic::new(config).map(SharedGic::from)
    }

    /// Locks the model, for driving lines, reading outputs or inspecting
    /// state. Bus accesses through a [`FrameBus`] lock it themselves, so
    /// do not hold the guard across them.
    pub fn lock(&self) -> spin::MutexGuard<'_, Gic> {
        self.gic.lock()
    }

    /// The bus of `frame` as CPU `cpu` sees it (for GICH and GICV: CPU
    /// `cpu`'s virtual interface).
    pub fn frame(&self, frame: Frame, cpu: u8) -> FrameBus<'_> {
        FrameBus {
            gic: self,
            frame,
            cpu,
        }
    }

    /// The model, unshared.
    pub fn into_inner(self) -> Gic {
        self.gic.into_inner()
    }
}

impl From<Gic> for SharedGic {
    fn from(gic: Gic) -> Self {
        SharedGic {
            gic: spin::Mutex::new(gic),
        }
    }
}

/// One frame of a [`SharedGic`], as one CPU sees it: implements the
/// driver's [`RegisterBus`] with [`Gic::read`] and [`Gic::write`].
#[derive(Debug, Clone, Copy)]
pub struct FrameBus<'a> {
    gic: &'a SharedGic,
    frame: Frame,
    cpu: u8,
}

impl FrameBus<'_> {
    /// The frame accessed.
    pub fn frame(&self) -> Frame {
        self.frame
    }

    /// The CPU accessing.
    pub fn cpu(&self) -> u8 {
        self.cpu
    }
}

impl RegisterBus for FrameBus<'_> {
    fn read32(&self, offset: usize) -> u32 {
        self.gic
            .lock()
            .read(self.frame, self.cpu, offset, Width::Word)
    }

    fn write32(&self, offset: usize, value: u32) {
        self.gic
            .lock()
            .write(self.frame, self.cpu, offset, Width::Word, value)
    }

    fn read8(&self, offset: usize) -> u8 {
        self.gic
            .lock()
            .read(self.frame, self.cpu, offset, Width::Byte) as u8
    }

    fn write8(&self, offset: usize, value: u8) {
        self.gic
            .lock()
            .write(self.frame, self.cpu, offset, Width::Byte, value as u32)
    }
}
