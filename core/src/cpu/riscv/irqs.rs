//! The interrupt word: [`HartIrqs`], the one atomic that other threads (interrupt
//! controllers, the embedding) use to raise and lower a hart's device-driven `mip` bits
//! and to ask it to stop. The hart reads it once per block in the run loop (`run`).

use crate::atomic::{AtomicU32, Ordering};

#[cfg(doc)]
use super::hart::Hart;
#[cfg(doc)]
use super::run::Exit;
#[cfg(doc)]
use super::trap::irq;

/// Bit of [`HartIrqs`]' word that requests a stop (not an interrupt).
pub(super) const STOP: u32 = 1 << 31;
/// Interrupt bits a device may raise.
pub(super) const IRQ_BITS: u32 = 0xffff;

/// What other threads signal to a hart: the device-driven `mip` bits (MEIP, MTIP, MSIP,
/// SEIP, ...) and a stop request, in one atomic word. Share it by reference between the
/// hart (see [`Hart::with_irqs`]) and the interrupt controllers.
#[derive(Debug, Default)]
pub struct HartIrqs {
    pub(super) pending: AtomicU32,
}

impl HartIrqs {
    /// No interrupt pending.
    pub const fn new() -> HartIrqs {
        HartIrqs {
            pending: AtomicU32::new(0),
        }
    }

    /// Raises interrupt `bit` (an [`irq`] number, below 16; others are ignored).
    pub fn raise(&self, bit: u32) {
        if bit < 16 {
            self.pending.fetch_or(1 << bit, Ordering::Release);
        }
    }

    /// Lowers interrupt `bit`.
    pub fn lower(&self, bit: u32) {
        if bit < 16 {
            self.pending.fetch_and(!(1 << bit), Ordering::Release);
        }
    }

    /// Raises or lowers interrupt `bit`.
    pub fn set(&self, bit: u32, level: bool) {
        if level {
            self.raise(bit)
        } else {
            self.lower(bit)
        }
    }

    /// The raised interrupt bits.
    pub fn pending(&self) -> u32 {
        self.device_bits()
    }

    /// Asks the hart to leave [`Hart::run`] with [`Exit::Stopped`] before its next
    /// instruction (the request is consumed by that exit).
    pub fn request_stop(&self) {
        self.pending.fetch_or(STOP, Ordering::Release);
    }

    pub(super) fn device_bits(&self) -> u32 {
        self.pending.load(Ordering::Acquire) & IRQ_BITS
    }
}

/// The shared word of harts made without [`Hart::with_irqs`]: nothing ever raises it.
pub(super) static UNCONNECTED: HartIrqs = HartIrqs::new();
