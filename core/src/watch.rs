//! The count of writes to guest RAM made behind the harts' backs, and the harts told of
//! each one at once: [`WriteWatch`], small enough for the loom model
//! (`core/tests/loom_watch.rs`); [`Memory`](crate::memory::Memory) keeps one, its DMA
//! leases and sections count their writes in it, and a hart running with a translating
//! tier watches it for its time slice.
//!
//! **The count.** [`WriteWatch::note_write`] adds one after the bytes are written
//! (`Release`); a reader that sees a new count puts `fence(Acquire)` before it reads
//! memory and then sees those bytes.
//!
//! **The watchers.** Up to [`WATCH_SLOTS`] words (a hart's interrupt word) watch the
//! count while a closure runs ([`WriteWatch::watching`]): every write counted meanwhile
//! also sets the watcher's bit in its word (`fetch_or`, `Release`), after the count and
//! before `note_write` returns, so before anything the writer does next (a flag it
//! writes, an interrupt it raises). One word, `state`, says which slots are claimed and
//! watching and how many writers are inside: a writer adds itself (`AcqRel`), sets the
//! bit of every slot its add saw watching, and leaves (`Release`).
//!
//! Why a watcher misses no write. Each write `W` makes its count add `C` and then its
//! `state` add `A` (`AcqRel`); a watcher's registration is a `state` RMW `R` (`AcqRel`)
//! followed by its reads of the count. RMWs of one word are in one order: if `A` comes
//! before `R`, `R` reads from `A`'s release sequence, so `C` happens before the
//! watcher's count reads, which see it; if `R` comes first, `A` sees the slot watching
//! and sets the bit. The watcher clears its bit with an RMW `P` (`Acquire`) **before**
//! it reads the count: if `W`'s `fetch_or` comes before `P` in the word's order, `P`
//! reads from it and `C` happens before the read that follows; if after, the bit stays
//! set for the watcher to see. So at every moment a write is either in the count the
//! watcher read last after its last clear, or its bit is set.
//!
//! Why no writer touches a word after its watch ended. A writer reads a slot's word
//! only when its add saw the slot watching; the watch ends by clearing the slot's
//! watching bit and then waiting until no writer is inside (`Acquire`, pairing with the
//! writers' `Release` leave), so every writer that saw the bit has finished with the
//! word before [`WriteWatch::watching`] returns. At most `u16::MAX` writers may be inside
//! at once (the count of them is 16 bits of `state`): one per thread writing guest
//! memory at that instant.

use crate::sync::{AtomicU32, Ordering, UnsafeCell};

/// How many words may watch one [`WriteWatch`] at once (a `virt` machine's harts).
pub const WATCH_SLOTS: usize = 8;

/// `state`'s bits: slot `i` watching (its word may be written), slot `i` claimed (its
/// cell is its registrant's), and the count of writers inside.
const WATCHING: u32 = (1 << WATCH_SLOTS) - 1;
const CLAIMED_SHIFT: u32 = WATCH_SLOTS as u32;
const WRITER: u32 = 1 << 16;

/// A write count and the words watching it (see the [module docs](self)).
pub struct WriteWatch {
    count: AtomicU32,
    state: AtomicU32,
    /// Slot `i`'s word and bit: written by its registrant while the slot is claimed and
    /// not watching, read by writers whose add saw it watching.
    words: [UnsafeCell<(*const AtomicU32, u32)>; WATCH_SLOTS],
}

// SAFETY: the raw pointers in `words` are only dereferenced by `note_write` while the
// slot is watching, and `watching` keeps the word it points to borrowed until no writer
// that saw it watching is inside (module docs); everything else is atomics.
unsafe impl Sync for WriteWatch {}
// SAFETY: as above; the pointers are never dereferenced outside that protocol.
unsafe impl Send for WriteWatch {}

impl core::fmt::Debug for WriteWatch {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WriteWatch")
            .field("count", &self.count)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl Default for WriteWatch {
    fn default() -> Self {
        Self::new()
    }
}

/// Ends a watch when dropped, also when the closure unwinds (internal: a caller cannot
/// forget it).
struct Unwatch<'w> {
    watch: &'w WriteWatch,
    slot: usize,
}

impl Drop for Unwatch<'_> {
    fn drop(&mut self) {
        let w = self.watch;
        w.state.fetch_and(!(1 << self.slot), Ordering::Relaxed);
        // Every writer that saw the slot watching leaves before we go on.
        while w.state.load(Ordering::Acquire) >= WRITER {
            core::hint::spin_loop();
            #[cfg(loom)]
            loom::thread::yield_now();
        }
        w.words[self.slot].with_mut(|p| {
            // SAFETY: the slot is claimed by us and no writer reads its cell (above).
            unsafe { *p = (core::ptr::null(), 0) }
        });
        w.state.fetch_and(
            !(1 << (CLAIMED_SHIFT as usize + self.slot)),
            Ordering::Release,
        );
    }
}

impl WriteWatch {
    /// A count of 0, no watcher. `const` outside the loom model.
    #[cfg(not(loom))]
    pub const fn new() -> WriteWatch {
        WriteWatch {
            count: AtomicU32::new(0),
            state: AtomicU32::new(0),
            words: [const { UnsafeCell::new((core::ptr::null(), 0)) }; WATCH_SLOTS],
        }
    }

    /// A count of 0, no watcher.
    #[cfg(loom)]
    pub fn new() -> WriteWatch {
        WriteWatch {
            count: AtomicU32::new(0),
            state: AtomicU32::new(0),
            words: core::array::from_fn(|_| UnsafeCell::new((core::ptr::null(), 0))),
        }
    }

    /// The count (wrapping): a relaxed load (see the module docs for reading memory
    /// after it moved).
    #[inline]
    pub fn writes(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }

    /// The atomic [`WriteWatch::writes`] reads.
    #[inline]
    pub fn counter(&self) -> &AtomicU32 {
        &self.count
    }

    /// Counts a write whose bytes are written, and sets the bit of every watching word
    /// before it returns.
    #[inline]
    pub fn note_write(&self) {
        self.count.fetch_add(1, Ordering::Release);
        self.tell_watchers();
    }

    /// The watchers' part of [`WriteWatch::note_write`], out of line: the writers' paths
    /// (a section's `write`, inlined into the hart's slow store path) stay small.
    #[inline(never)]
    fn tell_watchers(&self) {
        let seen = self.state.fetch_add(WRITER, Ordering::AcqRel) & WATCHING;
        for i in 0..WATCH_SLOTS {
            if seen & (1 << i) != 0 {
                let (word, bit) = self.words[i].with(|p| {
                    // SAFETY: the slot was watching when we entered, so its registrant
                    // wrote the cell before (its `Release` add of the watching bit) and
                    // does not write it again until we leave (module docs).
                    unsafe { *p }
                });
                // SAFETY: the word is borrowed by `watching` until we leave (module docs).
                unsafe { (*word).fetch_or(bit, Ordering::Release) };
            }
        }
        self.state.fetch_sub(WRITER, Ordering::Release);
    }

    /// Runs `f` with `word` watching the count: every write counted while `f` runs sets
    /// `bit` in `word` before its [`WriteWatch::note_write`] returns. `f` is told whether
    /// the watch holds (`false` when all [`WATCH_SLOTS`] slots are taken: then nothing is
    /// set). Counts read inside `f` after the watch began miss no write (module docs).
    pub fn watching<R>(&self, word: &AtomicU32, bit: u32, f: impl FnOnce(bool) -> R) -> R {
        let mut s = self.state.load(Ordering::Relaxed);
        let slot = loop {
            let free = !(s >> CLAIMED_SHIFT) & WATCHING;
            if free == 0 {
                return f(false);
            }
            let i = free.trailing_zeros();
            match self.state.compare_exchange_weak(
                s,
                s | 1 << (CLAIMED_SHIFT + i),
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => break i as usize,
                Err(now) => s = now,
            }
        };
        self.words[slot].with_mut(|p| {
            // SAFETY: the slot is claimed by us and not watching: no writer reads the cell.
            unsafe { *p = (word as *const AtomicU32, bit) }
        });
        let _unwatch = Unwatch { watch: self, slot };
        self.state.fetch_or(1 << slot, Ordering::AcqRel);
        f(true)
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_write_sets_the_bit_of_each_watching_word_and_none_after_its_watch() {
        let w = WriteWatch::new();
        let (a, b) = (AtomicU32::new(0), AtomicU32::new(1));
        w.note_write();
        w.watching(&a, 4, |on| {
            assert!(on);
            w.watching(&b, 8, |on| {
                assert!(on);
                w.note_write();
            });
            assert_eq!(
                (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed)),
                (4, 9)
            );
            a.store(0, Ordering::Relaxed);
            w.note_write();
        });
        assert_eq!(
            (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed)),
            (4, 9)
        );
        w.note_write();
        assert_eq!(
            (a.load(Ordering::Relaxed), b.load(Ordering::Relaxed)),
            (4, 9)
        );
        assert_eq!(w.writes(), 4);
    }

    #[test]
    fn a_watch_with_every_slot_taken_does_not_hold() {
        fn nest(w: &WriteWatch, words: &[AtomicU32], f: &mut dyn FnMut()) {
            match words.split_first() {
                Some((first, rest)) => w.watching(first, 1, |on| {
                    assert!(on);
                    nest(w, rest, f)
                }),
                None => f(),
            }
        }
        let w = WriteWatch::new();
        let words: [AtomicU32; WATCH_SLOTS] = core::array::from_fn(|_| AtomicU32::new(0));
        let extra = AtomicU32::new(0);
        nest(&w, &words, &mut || {
            assert!(!w.watching(&extra, 1, |on| on));
            w.note_write();
        });
        assert!(words.iter().all(|x| x.load(Ordering::Relaxed) == 1));
        assert_eq!(extra.load(Ordering::Relaxed), 0);
        // The slots are free again.
        assert!(w.watching(&extra, 1, |on| on));
    }
}
