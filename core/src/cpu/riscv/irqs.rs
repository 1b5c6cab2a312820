//! The interrupt word: [`HartIrqs`], the one atomic that other threads (interrupt
//! controllers, the embedding) use to raise and lower a hart's device-driven `mip` bits
//! and to ask it to stop, and in which the memory tells a hart running translated code
//! of writes behind its back ([`CODE_WRITTEN`]). The hart reads it once per block in the
//! run loop (`run`).

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
/// Bit of [`HartIrqs`]' word that the memory sets at every write to guest RAM behind the
/// hart's back (DMA, section writes) while the hart runs a slice with a translating
/// tier ([`WriteWatch::watching`](crate::watch::WriteWatch::watching)), so that
/// translated code sees those writes and interrupts in one load; the run loop clears it
/// before it reads the write count (`run`). Not an interrupt: no mask has it but the
/// tier's ([`TierCtx::exit_mask`](super::tier::TierCtx::exit_mask)), and nothing else
/// reads it.
pub(super) const CODE_WRITTEN: u32 = 1 << 30;
/// Bit of [`HartIrqs`]' word held while a hart watches the write count through it
/// ([`HartIrqs::claim_watch`]): one watcher per word, so that no hart clears
/// [`CODE_WRITTEN`] that another sharing the word still has to see. Nothing else reads it.
const WATCHED: u32 = 1 << 29;

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

    /// Makes the caller the word's only watcher of a write count ([`CODE_WRITTEN`]) until
    /// the claim is dropped; `None` when another hart sharing the word watches already.
    pub(super) fn claim_watch(&self) -> Option<WatchClaim<'_>> {
        if self.pending.fetch_or(WATCHED, Ordering::Relaxed) & WATCHED != 0 {
            return None;
        }
        Some(WatchClaim(self))
    }
}

/// A hart's claim on its interrupt word for a watch ([`HartIrqs::claim_watch`]): released
/// when dropped.
pub(super) struct WatchClaim<'a>(&'a HartIrqs);

impl Drop for WatchClaim<'_> {
    fn drop(&mut self) {
        self.0.pending.fetch_and(!WATCHED, Ordering::Relaxed);
    }
}

/// The shared word of harts made without [`Hart::with_irqs`]: nothing ever raises an
/// interrupt in it.
pub(super) static UNCONNECTED: HartIrqs = HartIrqs::new();

/// What a tier reads as the interrupt word when its hart could not watch the bus's write
/// count ([`CODE_WRITTEN`] always set): every block boundary returns to the run loop.
pub(super) static ALWAYS_WRITTEN: AtomicU32 = AtomicU32::new(CODE_WRITTEN);
