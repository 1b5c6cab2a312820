//! The one lock the core and the boards use (DESIGN.md §5): the topology writer lock, the
//! DMA lease table and bounce buffers, interrupt wiring and per-device state.
//!
//! [`Mutex`] is [`lock_api::Mutex`] over [`RawLock`], a test-and-test-and-set lock on
//! [`crate::atomic::AtomicBool`] (so `thumbv6m`, without compare-and-swap, takes it through
//! `portable-atomic`'s critical section). `Mutex::new` is `const`, so locks live in statics.
//!
//! Only the way a contended `RawLock::lock` waits depends on the build:
//!
//! * bare metal (default): it spins. Critical sections are short and nothing preempts a
//!   holder for long, so spinning is the cheapest wait.
//! * `std` feature (the host, `fief-host`): it spins a little, then yields its thread
//!   ([`std::thread::yield_now`]) between attempts. A holder that the OS has preempted then
//!   gets the CPU back instead of every waiting hart burning its time slice.
//!
//! Acquisition, release and memory ordering are the same code in both builds: the feature
//! changes no semantics, only how waiting happens. The lock is not fair and not reentrant
//! (taking it twice on one thread deadlocks, as with `spin::Mutex`).

use crate::atomic::{AtomicBool, Ordering};

/// A mutual-exclusion lock over `T`: [`Mutex::lock`] returns a guard that unlocks on drop.
pub type Mutex<T> = lock_api::Mutex<RawLock, T>;

/// The guard of a locked [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawLock, T>;

/// How many times a contended lock spins (with [`core::hint::spin_loop`]) before it starts
/// yielding its thread, in the `std` build.
#[cfg(feature = "std")]
const SPINS_BEFORE_YIELD: u32 = 64;

/// The raw lock under [`Mutex`]: one flag, set while the lock is held.
#[derive(Debug)]
pub struct RawLock {
    locked: AtomicBool,
}

impl RawLock {
    /// One attempt to take the lock: `Acquire` on success pairs with `unlock`'s `Release`.
    #[inline]
    fn try_acquire(&self) -> bool {
        self.locked
            .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// The contended path: wait (reading only, so the flag's cache line stays shared) until
    /// the lock looks free, then try again.
    #[cold]
    fn lock_contended(&self) {
        let mut waits: u32 = 0;
        loop {
            while self.locked.load(Ordering::Relaxed) {
                wait(&mut waits);
            }
            if self.try_acquire() {
                return;
            }
        }
    }
}

/// One wait of a contended lock; `waits` counts the waits so far.
#[inline]
fn wait(waits: &mut u32) {
    #[cfg(feature = "std")]
    if *waits >= SPINS_BEFORE_YIELD {
        std::thread::yield_now();
        return;
    }
    *waits = waits.saturating_add(1);
    core::hint::spin_loop();
}

// SAFETY: `locked` is set by exactly one successful compare-exchange (`try_acquire`) and
// cleared only by `unlock`, whose caller holds the lock; so at most one holder exists at a
// time. Acquiring is an `Acquire` read-modify-write and unlocking a `Release` store, so all
// that one holder did happens before the next holder's critical section. Unlocking from another
// thread is sound (it is one store), hence `GuardSend`.
unsafe impl lock_api::RawMutex for RawLock {
    #[allow(clippy::declare_interior_mutable_const)] // lock_api's initialiser, copied per lock
    const INIT: Self = RawLock {
        locked: AtomicBool::new(false),
    };

    type GuardMarker = lock_api::GuardSend;

    #[inline]
    fn lock(&self) {
        if !self.try_acquire() {
            self.lock_contended();
        }
    }

    #[inline]
    fn try_lock(&self) -> bool {
        // Strong compare-exchange: `try_lock` must not fail spuriously on a free lock.
        self.try_acquire()
    }

    #[inline]
    unsafe fn unlock(&self) {
        self.locked.store(false, Ordering::Release);
    }

    #[inline]
    fn is_locked(&self) -> bool {
        self.locked.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::{Mutex, RawLock};
    use lock_api::RawMutex as _;
    use std::cell::UnsafeCell;
    use std::sync::Arc;
    use std::vec::Vec;

    /// A plain (non-atomic) counter: only the lock keeps the increments from racing, and
    /// Miri reports a data race if it does not.
    struct Racy(UnsafeCell<u64>);

    // SAFETY: the tests only touch the counter while holding the `Mutex<()>` beside it.
    unsafe impl Sync for Racy {}

    #[test]
    fn mutual_exclusion_across_threads() {
        let (threads, rounds) = if cfg!(miri) { (3, 20) } else { (4, 20_000) };
        let lock = Arc::new((Mutex::new(()), Racy(UnsafeCell::new(0))));
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let lock = Arc::clone(&lock);
                std::thread::spawn(move || {
                    for _ in 0..rounds {
                        let _guard = lock.0.lock();
                        // SAFETY: the guard is held, so no other thread touches the counter.
                        unsafe {
                            let value = lock.1 .0.get().read();
                            // Widen the window a racy lock would lose an increment in.
                            std::hint::spin_loop();
                            lock.1 .0.get().write(value + 1);
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("thread");
        }
        // SAFETY: every thread has been joined; nothing else touches the counter.
        let total = unsafe { lock.1 .0.get().read() };
        assert_eq!(total, threads * rounds);
    }

    #[test]
    fn data_behind_the_lock() {
        let counter = Arc::new(Mutex::new(0u32));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let counter = Arc::clone(&counter);
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 10 } else { 1000 } {
                        *counter.lock() += 1;
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().expect("thread");
        }
        assert_eq!(*counter.lock(), if cfg!(miri) { 20 } else { 2000 });
    }

    static STATIC: Mutex<[u8; 4]> = Mutex::new([0; 4]);
    static ARRAY: [Mutex<u32>; 2] = [const { Mutex::new(7) }; 2];

    #[test]
    fn const_statics() {
        STATIC.lock()[1] = 5;
        assert_eq!(*STATIC.lock(), [0, 5, 0, 0]);
        *ARRAY[1].lock() += 1;
        assert_eq!((*ARRAY[0].lock(), *ARRAY[1].lock()), (7, 8));
    }

    #[test]
    fn try_lock_and_is_locked() {
        let lock = Mutex::new(1);
        let guard = lock.lock();
        assert!(lock.is_locked());
        assert!(lock.try_lock().is_none());
        drop(guard);
        assert!(!lock.is_locked());
        assert_eq!(lock.try_lock().map(|g| *g), Some(1));

        let raw = RawLock::INIT;
        assert!(raw.try_lock());
        assert!(!raw.try_lock());
        // SAFETY: this thread took the lock just above.
        unsafe { raw.unlock() };
        raw.lock();
        assert!(raw.is_locked());
        // SAFETY: this thread holds the lock.
        unsafe { raw.unlock() };
    }
}
