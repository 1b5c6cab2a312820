//! The DMA pin protocol of one region slot (rule L8), small enough for the loom model
//! (`core/tests/loom_lease.rs`); [`Memory`](crate::memory::Memory) keeps one [`PinSlot`] per
//! region slot.
//!
//! A slot holds the raw handle of the live region in it (`0` once destroyed) and a count of
//! DMA pins. A mapper pins by incrementing the count **and then** checking that the region
//! is still live (undoing the increment if not); the destroyer clears the live tag **and
//! then** (at reclaim) frees the slot's memory only if the count is zero. Each side is a
//! store followed by a load of the other side's variable, all `SeqCst` (Dekker's pattern):
//! in the single total order either the mapper's increment comes first, and the reclaimer
//! sees the pin and waits, or the destroyer's clear comes first, and the mapper sees the
//! region dead and backs out. So the memory is never freed while a successful pin holds.

use crate::sync::{model_seqcst_fence, AtomicU32, Ordering};

/// One region slot's live tag and DMA pin count (see the [module docs](self)).
#[derive(Debug)]
pub struct PinSlot {
    live: AtomicU32,
    pins: AtomicU32,
}

impl Default for PinSlot {
    fn default() -> Self {
        Self::new()
    }
}

impl PinSlot {
    /// A slot with no live region and no pin. `const` outside the loom model.
    #[cfg(not(loom))]
    pub const fn new() -> PinSlot {
        PinSlot {
            live: AtomicU32::new(0),
            pins: AtomicU32::new(0),
        }
    }

    /// A slot with no live region and no pin.
    #[cfg(loom)]
    pub fn new() -> PinSlot {
        PinSlot {
            live: AtomicU32::new(0),
            pins: AtomicU32::new(0),
        }
    }

    /// A region tagged `tag` (not 0) now lives in the slot.
    pub fn set_live(&self, tag: u32) {
        self.live.store(tag, Ordering::SeqCst);
    }

    /// The region is destroyed: pins fail from now on. Call before checking
    /// [`PinSlot::pinned`] to reclaim.
    pub fn revoke(&self) {
        self.live.store(0, Ordering::SeqCst);
        model_seqcst_fence();
    }

    /// Whether the region tagged `tag` is still live.
    pub fn is_live(&self, tag: u32) -> bool {
        tag != 0 && self.live.load(Ordering::SeqCst) == tag
    }

    /// Pins the region tagged `tag`; false (pinning nothing) if it was destroyed.
    pub fn pin(&self, tag: u32) -> bool {
        self.pins.fetch_add(1, Ordering::SeqCst);
        model_seqcst_fence();
        if self.is_live(tag) {
            true
        } else {
            self.pins.fetch_sub(1, Ordering::SeqCst);
            false
        }
    }

    /// Releases a pin taken by a successful [`PinSlot::pin`].
    pub fn unpin(&self) {
        self.pins.fetch_sub(1, Ordering::SeqCst);
    }

    /// Whether any pin holds the slot (a reclaimer frees only when this is false, after
    /// [`PinSlot::revoke`]).
    pub fn pinned(&self) -> bool {
        model_seqcst_fence();
        self.pins.load(Ordering::SeqCst) != 0
    }
}
