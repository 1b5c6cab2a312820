//! Loom model of the DMA lease / unplug protocol of `fief_core::pin` (rule L8).
//!
//! Run with:
//! `RUSTFLAGS="--cfg loom" cargo test -p fief-core --release --test loom_lease --target-dir target/loom`
//!
//! A region slot's memory is a loom `UnsafeCell`. Mappers pin the region (increment, then
//! check it is live) and read the memory while the pin holds; the destroyer revokes the
//! region (clear the live tag) and then frees (writes) the memory once no pin holds, as
//! `TopologyGuard::reclaim` does. Loom reports a data race if the free can overlap a read
//! made under a successful pin; the asserts check that a pin after the revoke fails and that
//! an old region's tag cannot pin the slot's next region.
#![cfg(loom)]
#![allow(clippy::unwrap_used)]

use fief_core::pin::PinSlot;
use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::thread;

const OLD: u32 = 0x0001_0001;
const NEW: u32 = 0x0002_0001;

struct Shared {
    slot: PinSlot,
    memory: UnsafeCell<u32>,
}

impl Shared {
    fn new() -> Arc<Shared> {
        let s = Arc::new(Shared {
            slot: PinSlot::new(),
            memory: UnsafeCell::new(7),
        });
        s.slot.set_live(OLD);
        s
    }

    /// A DMA chunk: pin, touch the memory, unpin. True if the pin succeeded.
    fn map_and_read(&self) -> bool {
        if !self.slot.pin(OLD) {
            return false;
        }
        // SAFETY: the pin keeps the memory from being freed (what the model checks).
        let v = self.memory.with(|p| unsafe { *p });
        assert_eq!(v, 7, "read freed memory under a pin");
        self.slot.unpin();
        true
    }

    /// The unplug: revoke, then reclaim once unpinned; then the slot's next region.
    fn destroy_and_reclaim(&self) {
        self.slot.revoke();
        while self.slot.pinned() {
            thread::yield_now();
        }
        // SAFETY: no pin holds and none can succeed any more (what the model checks).
        self.memory.with_mut(|p| unsafe { *p = 0 });
        assert!(!self.slot.pin(OLD), "pinned a revoked region");
        self.slot.set_live(NEW);
        assert!(
            !self.slot.pin(OLD),
            "an old tag pinned the slot's next region"
        );
    }
}

#[test]
fn reclaim_never_frees_memory_under_a_successful_pin() {
    loom::model(|| {
        let s = Shared::new();
        let m = s.clone();
        let mapper = thread::spawn(move || m.map_and_read());
        s.destroy_and_reclaim();
        mapper.join().unwrap();
    });
}

#[test]
fn two_mappers_racing_an_unplug() {
    loom::model(|| {
        let s = Shared::new();
        let mappers: Vec<_> = (0..2)
            .map(|_| {
                let m = s.clone();
                thread::spawn(move || {
                    // Two chunks, each under its own lease, as the DMA engine does.
                    let first = m.map_and_read();
                    let second = m.map_and_read();
                    assert!(first || !second, "a chunk pinned after one was revoked");
                })
            })
            .collect();
        s.destroy_and_reclaim();
        for m in mappers {
            m.join().unwrap();
        }
    });
}
