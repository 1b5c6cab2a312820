//! The few synchronisation primitives the core uses, in one place so that the loom model
//! checker can replace them (`RUSTFLAGS="--cfg loom"`).

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, Ordering};

#[cfg(not(loom))]
pub(crate) use crate::atomic::{AtomicU32, Ordering};

/// `UnsafeCell` with loom's closure-style access, so the same code runs under loom.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(core::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;

/// A `SeqCst` fence in the loom model only. Loom treats `SeqCst` loads, stores and
/// read-modify-writes as `AcqRel` (tokio-rs/loom#180), which loses the single total order the
/// grace protocol relies on (a store-then-load on each side, as in Dekker's algorithm), and
/// then reports races that cannot happen. A `SeqCst` fence between each such store and load
/// gives the model that order back. The real build needs nothing: its `SeqCst` accesses are
/// already in one total order.
#[inline(always)]
pub(crate) fn model_seqcst_fence() {
    #[cfg(loom)]
    loom::sync::atomic::fence(Ordering::SeqCst);
}
