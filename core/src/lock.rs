//! The one lock the core and the boards use: the topology writer lock, the DMA lease table
//! and bounce buffers, interrupt wiring and per-device state (see `docs/design.md`,
//! section 6.1).
//!
//! [`Mutex`] is [`lock_api::Mutex`] over [`RawLock`], the `spin` crate's test-and-test-and-set
//! [`spin::mutex::SpinMutex`]. On `thumbv6m`, which has no compare-and-swap, spin takes its
//! atomics from `portable-atomic` (its `portable-atomic` feature, enabled for that target
//! only), whose read-modify-writes run in a critical section, as [`crate::atomic`]'s do.
//! `Mutex::new` is `const`, so locks live in statics.
//!
//! Only the way a contended lock waits depends on the build, through spin's relax strategy
//! ([`Relax`]):
//!
//! * bare metal (default): [`spin::Spin`], a spin-loop hint per wait. Critical sections are
//!   short and nothing preempts a holder for long, so spinning is the cheapest wait.
//! * `std` feature (the host, `fief-host`): [`spin::Yield`], which yields the thread
//!   ([`std::thread::yield_now`]) between attempts. A holder that the OS has preempted then
//!   gets the CPU back instead of every waiting hart burning its time slice.
//!
//! Acquisition, release and memory ordering are the same code in both builds (an `Acquire`
//! compare-exchange to take the lock, a `Release` store to drop it): the feature changes no
//! semantics, only how waiting happens. The lock is not fair and not reentrant (taking it
//! twice on one thread deadlocks).
//!
//! ```
//! use fief_core::lock::Mutex;
//!
//! static COUNTER: Mutex<u32> = Mutex::new(0);
//!
//! *COUNTER.lock() += 1;
//! let guard = COUNTER.lock();
//! assert_eq!(*guard, 1);
//! assert!(COUNTER.try_lock().is_none()); // held by `guard`
//! drop(guard);
//! assert_eq!(COUNTER.try_lock().map(|g| *g), Some(1));
//! ```

/// How a contended [`Mutex`] waits: yield the thread on a hosted build.
#[cfg(feature = "std")]
pub type Relax = spin::Yield;

/// How a contended [`Mutex`] waits: spin (a spin-loop hint per attempt) on bare metal.
#[cfg(not(feature = "std"))]
pub type Relax = spin::Spin;

/// The raw lock under [`Mutex`]: spin's one-flag mutex with the build's [`Relax`] strategy.
pub type RawLock = spin::mutex::SpinMutex<(), Relax>;

/// A mutual-exclusion lock over `T`: [`Mutex::lock`] returns a guard that unlocks on drop.
pub type Mutex<T> = lock_api::Mutex<RawLock, T>;

/// The guard of a locked [`Mutex`].
pub type MutexGuard<'a, T> = lock_api::MutexGuard<'a, RawLock, T>;

#[cfg(test)]
mod tests {
    use super::{Mutex, RawLock};
    use lock_api::RawMutex;
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

        // The raw lock through lock_api's trait (spin's inherent methods of the same names
        // return guards instead).
        let raw = RawLock::INIT;
        assert!(RawMutex::try_lock(&raw));
        assert!(!RawMutex::try_lock(&raw));
        // SAFETY: this thread took the lock just above.
        unsafe { RawMutex::unlock(&raw) };
        assert!(!RawMutex::is_locked(&raw));
        RawMutex::lock(&raw);
        assert!(RawMutex::is_locked(&raw));
        // SAFETY: this thread holds the lock.
        unsafe { RawMutex::unlock(&raw) };
    }
}
