//! Published values and grace periods (rules L6 and L7), without locks and without a heap.
//!
//! [`Published`] holds `SLOTS` copies of a value (a flat view). One of them is *current*.
//! Readers [`pin`](Published::pin) the current copy and read it for as long as they hold the
//! [`Pinned`] guard; a writer (one at a time, serialised by the caller) renders the next
//! value into a copy that is neither current nor pinned, then publishes it with one atomic
//! store. A reader therefore sees the old value or the new one, never a mix, and never waits
//! for a writer: pinning is two atomic read-modify-writes and retries only when a publish
//! happened between its two loads.
//!
//! Every publish carries an *epoch*. Something retired at epoch `E` (a region slot, a RAM
//! block) is safe to reuse once [`Published::pinned_before`] says no reader holds a copy
//! published before `E`: that is the grace period.
//!
//! # The protocol, and why it is sound
//!
//! * Reader: `i = current`; `readers[i] += 1`; if `current` is still `i` the pin holds,
//!   otherwise `readers[i] -= 1` and start again.
//! * Writer: pick `j != current` with `readers[j] == 0`; write copy `j`; `epoch[j] = E`;
//!   `current = j`.
//!
//! All four steps that race are `SeqCst`, so they sit in one total order. If a reader's
//! increment of `readers[j]` comes before the writer's check, the writer skips `j`. If it
//! comes after, the reader's second load of `current` also comes after the check; it sees
//! `j` only once the writer has stored `current = j`, which is after every write to copy
//! `j`, and the writer does not touch `j` again while it is current or pinned. The loom
//! model in `tests/loom_grace.rs` checks this.

use crate::sync::{model_seqcst_fence, AtomicU32, Ordering, UnsafeCell};

const NONE: u32 = u32::MAX;

struct Copy_<T> {
    value: UnsafeCell<T>,
    readers: AtomicU32,
    epoch: AtomicU32,
}

/// A value that readers can pin without locks while one writer publishes new versions.
pub struct Published<T, const SLOTS: usize> {
    copies: [Copy_<T>; SLOTS],
    current: AtomicU32,
}

// SAFETY: readers only get `&T` to a copy that is current or pinned, and the single writer
// (see the `# Safety` sections) only writes copies that are neither; the atomics carry the
// happens-before edges (module docs). Sharing `&T` across threads needs `T: Sync`; moving the
// writer's values in from any thread needs `T: Send`.
unsafe impl<T: Send + Sync, const SLOTS: usize> Sync for Published<T, SLOTS> {}

/// A reader's hold on the current copy. While it lives, the copy is neither rewritten nor
/// considered reclaimable.
pub struct Pinned<'p, T, const SLOTS: usize> {
    published: &'p Published<T, SLOTS>,
    index: usize,
}

/// Equality of epochs modulo wrap-around: is `a` earlier than `b`?
pub fn epoch_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

impl<T, const SLOTS: usize> Published<T, SLOTS> {
    /// A published value with every copy set to `T::INIT` and none current yet. `const`, so
    /// it can live in a `static`.
    #[cfg(not(loom))]
    pub const fn new() -> Self
    where
        T: ConstInit,
    {
        let () = Self::CHECK;
        Published {
            copies: [const {
                Copy_ {
                    value: UnsafeCell::new(T::INIT),
                    readers: AtomicU32::new(0),
                    epoch: AtomicU32::new(0),
                }
            }; SLOTS],
            current: AtomicU32::new(NONE),
        }
    }

    /// A published value with every copy set to `T::INIT` and none current yet (loom build).
    #[cfg(loom)]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self
    where
        T: ConstInit,
    {
        let () = Self::CHECK;
        Published {
            copies: core::array::from_fn(|_| Copy_ {
                value: UnsafeCell::new(T::INIT),
                readers: AtomicU32::new(0),
                epoch: AtomicU32::new(0),
            }),
            current: AtomicU32::new(NONE),
        }
    }

    const CHECK: () = assert!(SLOTS >= 2 && SLOTS < 32, "need at least two copies");

    /// Pins the current copy, or `None` if nothing was ever published. Never blocks.
    pub fn pin(&self) -> Option<Pinned<'_, T, SLOTS>> {
        loop {
            let index = self.current.load(Ordering::SeqCst);
            if index == NONE {
                return None;
            }
            let copy = &self.copies[index as usize];
            copy.readers.fetch_add(1, Ordering::SeqCst);
            model_seqcst_fence();
            if self.current.load(Ordering::SeqCst) == index {
                return Some(Pinned {
                    published: self,
                    index: index as usize,
                });
            }
            copy.readers.fetch_sub(1, Ordering::SeqCst);
        }
    }

    /// Finds a copy the writer may overwrite: not current, not pinned. `None` if every other
    /// copy is pinned right now (the caller may retry or give up).
    ///
    /// # Safety
    ///
    /// Only one writer at a time: the caller serialises every writer-side call on this value
    /// (the topology lock does).
    pub unsafe fn free_copy(&self) -> Option<usize> {
        model_seqcst_fence();
        let current = self.current.load(Ordering::SeqCst);
        (0..SLOTS)
            .find(|&j| j as u32 != current && self.copies[j].readers.load(Ordering::SeqCst) == 0)
    }

    /// Lets the writer fill copy `index` (from [`Published::free_copy`]).
    ///
    /// # Safety
    ///
    /// Single writer, and `index` came from `free_copy` with no publish in between.
    pub unsafe fn write_copy<R>(&self, index: usize, f: impl FnOnce(&mut T) -> R) -> R {
        // SAFETY: the copy is neither current nor pinned (caller's contract), so no reader
        // holds a reference into it, and a reader that races to pin it will see `current`
        // differ and back off without reading (module docs).
        self.copies[index].value.with_mut(|p| f(unsafe { &mut *p }))
    }

    /// Lets the writer read the current copy (to compare with a new rendering).
    ///
    /// # Safety
    ///
    /// Single writer.
    pub unsafe fn read_current<R>(&self, f: impl FnOnce(Option<&T>) -> R) -> R {
        let current = self.current.load(Ordering::SeqCst);
        if current == NONE {
            return f(None);
        }
        // SAFETY: only the writer writes copies, and never the current one; the caller is
        // the writer, so shared access is fine.
        self.copies[current as usize]
            .value
            .with(|p| f(Some(unsafe { &*p })))
    }

    /// Makes copy `index` current, stamped with `epoch`.
    ///
    /// # Safety
    ///
    /// Single writer; `index` was filled through [`Published::write_copy`].
    pub unsafe fn publish(&self, index: usize, epoch: u32) {
        self.copies[index].epoch.store(epoch, Ordering::SeqCst);
        self.current.store(index as u32, Ordering::SeqCst);
    }

    /// Re-stamps the current copy with a newer epoch: used when a commit rendered the same
    /// value again, so the current copy is as good as one published at `epoch`.
    ///
    /// # Safety
    ///
    /// Single writer.
    pub unsafe fn restamp_current(&self, epoch: u32) {
        let current = self.current.load(Ordering::SeqCst);
        if current != NONE {
            self.copies[current as usize]
                .epoch
                .store(epoch, Ordering::SeqCst);
        }
    }

    /// True if some reader holds a copy published before `epoch` (or the current copy is
    /// older than `epoch`): whatever was retired at `epoch` may still be reached.
    pub fn pinned_before(&self, epoch: u32) -> bool {
        model_seqcst_fence();
        let current = self.current.load(Ordering::SeqCst);
        self.copies.iter().enumerate().any(|(j, copy)| {
            (j as u32 == current || copy.readers.load(Ordering::SeqCst) != 0)
                && epoch_before(copy.epoch.load(Ordering::SeqCst), epoch)
        })
    }

    /// Number of readers pinning any copy right now (for tests and statistics).
    pub fn readers(&self) -> u32 {
        self.copies
            .iter()
            .map(|c| c.readers.load(Ordering::SeqCst))
            .sum()
    }
}

/// A value that can be written in a `const` context: the initial content of every copy.
pub trait ConstInit {
    /// The initial value.
    const INIT: Self;
}

impl<T, const SLOTS: usize> Pinned<'_, T, SLOTS> {
    /// Reads the pinned copy.
    pub fn with<R>(&self, f: impl FnOnce(&T) -> R) -> R {
        // SAFETY: the copy is pinned (readers > 0) and was current when pinned, so the writer
        // neither writes it nor will until the pin is dropped (module docs).
        self.published.copies[self.index]
            .value
            .with(|p| f(unsafe { &*p }))
    }

    /// The epoch the pinned copy was published at.
    pub fn epoch(&self) -> u32 {
        self.published.copies[self.index]
            .epoch
            .load(Ordering::SeqCst)
    }
}

#[cfg(not(loom))]
impl<T, const SLOTS: usize> core::ops::Deref for Pinned<'_, T, SLOTS> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: as in `with`: the pinned copy is not written while the pin lives, and the
        // returned reference cannot outlive `self`.
        self.published.copies[self.index]
            .value
            .with(|p| unsafe { &*p })
    }
}

impl<T, const SLOTS: usize> Drop for Pinned<'_, T, SLOTS> {
    fn drop(&mut self) {
        self.published.copies[self.index]
            .readers
            .fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(not(loom))]
impl<T: ConstInit, const SLOTS: usize> Default for Published<T, SLOTS> {
    fn default() -> Self {
        Self::new()
    }
}
