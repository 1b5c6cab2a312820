//! Loom model of the publish / grace-period protocol of `fief_core::grace` (rules L6, L7).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" cargo test -p fief-core --release --test loom_grace --target-dir target/loom`
//!
//! One writer publishes new versions of a pair that must always read `[v, v]`; readers pin
//! and check the pair (loom's `UnsafeCell` tracking catches a writer overwriting a copy that
//! a reader holds). Version 0 also refers to a "resource" (a loom `UnsafeCell`) that the
//! writer retires when it publishes version 1 and reclaims (overwrites) once
//! `pinned_before` says no reader can still hold a copy older than that epoch: a reader that
//! reads the resource through a version-0 pin must never race with the reclaim.
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use fief_core::grace::{ConstInit, Published};
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::Arc;
use loom::thread;

#[derive(Debug)]
struct Pair([u32; 2]);

impl ConstInit for Pair {
    const INIT: Self = Pair([u32::MAX, u32::MAX]);
}

/// Epoch at which version `v` is published.
fn epoch_of(v: u32) -> u32 {
    v + 1
}

struct Shared<const SLOTS: usize> {
    published: Published<Pair, SLOTS>,
    /// Reachable only from version 0; retired at `epoch_of(1)`.
    resource: UnsafeCell<u32>,
    freed: AtomicBool,
}

impl<const SLOTS: usize> Shared<SLOTS> {
    fn new() -> Self {
        let shared = Shared {
            published: Published::new(),
            resource: UnsafeCell::new(7),
            freed: AtomicBool::new(false),
        };
        // SAFETY: single writer (no other thread exists yet).
        unsafe {
            let j = shared.published.free_copy().unwrap();
            shared.published.write_copy(j, |p| p.0 = [0, 0]);
            shared.published.publish(j, epoch_of(0));
        }
        shared
    }

    /// The writer: publishes versions `1..=versions`, reclaiming the resource as soon as the
    /// grace period of epoch_of(1) is over.
    fn writer(&self, versions: u32) {
        for v in 1..=versions {
            let j = loop {
                // SAFETY: this is the only writer thread.
                match unsafe { self.published.free_copy() } {
                    Some(j) => break j,
                    None => thread::yield_now(),
                }
            };
            // SAFETY: single writer; `j` came from `free_copy` with no publish in between.
            unsafe {
                self.published.write_copy(j, |p| {
                    p.0[0] = v;
                    p.0[1] = v;
                });
                // Read the current copy as `publish` in topology.rs does.
                self.published.read_current(|c| {
                    let c = c.unwrap();
                    assert_eq!(c.0, [v - 1, v - 1]);
                });
                self.published.publish(j, epoch_of(v));
            }
            self.try_reclaim();
        }
        while !self.freed.load(Ordering::SeqCst) {
            self.try_reclaim();
            if !self.freed.load(Ordering::SeqCst) {
                thread::yield_now();
            }
        }
    }

    fn try_reclaim(&self) {
        if !self.freed.load(Ordering::SeqCst) && !self.published.pinned_before(epoch_of(1)) {
            // "Reuse" the retired resource: a plain write, which loom flags if a reader's
            // read of it is not ordered before.
            self.resource.with_mut(|p| {
                // SAFETY: the resource is no longer reachable (that is what we check).
                unsafe { *p = 0xdead }
            });
            self.freed.store(true, Ordering::SeqCst);
        }
    }

    /// A reader: pins `pins` times, checks the pair and, on version 0, the resource.
    fn reader(&self, pins: usize) {
        let mut last = 0;
        for _ in 0..pins {
            let pin = self.published.pin().unwrap();
            let v = pin.with(|p| {
                assert_eq!(p.0[0], p.0[1], "torn pair");
                p.0[0]
            });
            assert!(v >= last, "went back in time: {v} after {last}");
            last = v;
            assert_eq!(pin.epoch(), epoch_of(v));
            if v == 0 {
                assert!(!self.freed.load(Ordering::SeqCst), "reclaimed while pinned");
                // SAFETY: reachable from version 0, which is pinned.
                let r = self.resource.with(|p| unsafe { *p });
                assert_eq!(r, 7, "resource reused while reachable");
                assert!(!self.freed.load(Ordering::SeqCst), "reclaimed while pinned");
            }
            drop(pin);
        }
    }
}

/// Checks every interleaving with at most `bound` preemptions (`None`: all of them), unless
/// `LOOM_MAX_PREEMPTIONS` says otherwise.
fn run<const SLOTS: usize>(versions: u32, readers: &'static [usize], bound: Option<usize>) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = bound;
    }
    builder.check(move || {
        let shared = Arc::new(Shared::<SLOTS>::new());
        let handles: Vec<_> = readers
            .iter()
            .map(|&pins| {
                let shared = shared.clone();
                thread::spawn(move || shared.reader(pins))
            })
            .collect();
        shared.writer(versions);
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(shared.published.readers(), 0);
        assert!(shared.freed.load(Ordering::SeqCst));
    });
}

/// Three copies (as `VIEW_COPIES`), two versions, one reader pinning twice: exhaustive.
#[test]
fn three_copies_one_reader_two_pins() {
    run::<3>(2, &[2], None);
}

/// Two copies: the writer must wait for the reader to let go of the spare copy, and reuses
/// copies while the reader may still be trying to pin them: exhaustive.
#[test]
fn two_copies_one_reader_two_pins() {
    run::<2>(2, &[2], None);
}

/// Two copies, three versions, one reader pinning three times: exhaustive.
#[test]
fn two_copies_three_versions() {
    run::<2>(3, &[3], None);
}

/// Two readers pinning once each (the full state space takes too long: bounded).
#[test]
fn three_copies_two_readers() {
    run::<3>(2, &[1, 1], Some(5));
}
