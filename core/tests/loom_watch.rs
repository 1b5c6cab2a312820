//! Loom model of the write watch of `fief_core::watch` (a hart told of writes behind its
//! back through its interrupt word).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" cargo test -p fief-core --release --test loom_watch --target-dir target/loom`
//!
//! Guest RAM is a loom `UnsafeCell`: a writer writes it and then counts the write
//! ([`WriteWatch::note_write`]); a hart reads it only after it saw the count move and
//! put `fence(Acquire)` (as the run loop does), so loom reports a data race if the
//! orderings let a hart see the count without the bytes. The asserts check that a
//! watching hart misses no write: each one is in the count it read after its watch
//! began (or its last clear of the bit), or its bit is set. A slot's cell is written by
//! the next watch of the slot, so loom also reports a writer still reading it after
//! the watch ended.
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use fief_core::watch::WriteWatch;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{fence, AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

const BIT: u32 = 1 << 30;

struct Shared {
    watch: WriteWatch,
    ram: UnsafeCell<u32>,
    word: AtomicU32,
}

impl Shared {
    fn new() -> Arc<Shared> {
        Arc::new(Shared {
            watch: WriteWatch::new(),
            ram: UnsafeCell::new(0),
            word: AtomicU32::new(0),
        })
    }

    /// A DMA write: the bytes, then the count.
    fn dma(&self) {
        // SAFETY: readers read only after they saw the count (what the model checks).
        self.ram.with_mut(|p| unsafe { *p = 7 });
        self.watch.note_write();
    }

    /// What a hart does when the count moved since `seen`: reads the new bytes.
    fn read_if_moved(&self, seen: u32) -> u32 {
        let now = self.watch.writes();
        if now != seen {
            fence(Ordering::Acquire);
            // SAFETY: the count moved and the fence pairs with its `Release` (checked).
            let v = self.ram.with(|p| unsafe { *p });
            assert_eq!(v, 7, "saw the count, not the bytes");
        }
        now
    }
}

/// A watch that begins while a write is made: the count read inside it has the write,
/// or the write set the bit.
#[test]
fn a_watch_misses_no_write_made_while_it_begins() {
    loom::model(|| {
        let s = Shared::new();
        let w = s.clone();
        let writer = thread::spawn(move || w.dma());
        s.watch.watching(&s.word, BIT, |on| {
            assert!(on);
            let count = s.read_if_moved(0);
            writer.join().unwrap();
            if count == 0 {
                assert_eq!(s.word.load(Ordering::Relaxed), BIT, "write missed");
            }
        });
    });
}

/// The run loop's side: clear the bit, then read the count. A write is either in the
/// count or its bit is still set afterwards.
#[test]
fn a_cleared_bit_leaves_its_write_in_the_count_read_after() {
    loom::model(|| {
        let s = Shared::new();
        let w = s.clone();
        s.watch.watching(&s.word, BIT, |on| {
            assert!(on);
            let writer = thread::spawn(move || w.dma());
            s.word.fetch_and(!BIT, Ordering::Acquire);
            let count = s.read_if_moved(0);
            writer.join().unwrap();
            if count == 0 {
                assert_eq!(s.word.load(Ordering::Relaxed), BIT, "write missed");
            }
        });
    });
}

/// A watch ends while a writer may be setting its bit; the slot is then watched again
/// with another word: no writer reads the slot's cell after the first watch ended (loom
/// reports the race otherwise), and a write is in the count or in one of the words.
#[test]
fn no_writer_uses_a_watch_after_it_ended() {
    loom::model(|| {
        let s = Shared::new();
        let w = s.clone();
        let writer = thread::spawn(move || w.dma());
        let other = AtomicU32::new(0);
        let first = s.watch.watching(&s.word, BIT, |_| s.read_if_moved(0));
        s.watch.watching(&other, BIT, |on| {
            assert!(on);
            let second = s.read_if_moved(first);
            writer.join().unwrap();
            if second == 0 {
                assert_eq!(other.load(Ordering::Relaxed), BIT, "write missed");
            }
        });
    });
}
