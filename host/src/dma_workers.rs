//! DMA worker threads: a pool of threads that run a DMA engine's transfers and the virtio
//! devices' requests concurrently with the harts (never on a hart thread). A channel is a
//! doorbell number below [`CHANNELS`]: the runner gives the DMA engine's channels the low
//! numbers and each virtio queue its own.
//!
//! The engine's MMIO handler only marks a channel busy and rings the pool's
//! [`DmaDoorbell`] (rule: no work in callbacks); a worker wakes on the condition variable,
//! takes a channel from the pending mask and steps it
//! ([`DmaEngine::step`](fief_boards::dma::DmaEngine::step)) a few chunks at a time until the
//! channel stops.
//! When several channels are pending, a worker moves on to the next one after each step, so
//! that a long transfer does not starve the others. `Blocked` (no bounce buffer) backs off
//! briefly and retries; `Contended` (another worker is on the channel) drops it: the other
//! worker finishes it.
//!
//! After every step that did something, a worker signals the pool's [`Activity`]: a hart
//! waiting in `wfi` waits on it (with its own timeout), so an interrupt raised by a
//! completion wakes the hart at once instead of at its next timed check.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use fief_boards::dma::{DmaDoorbell, StepOutcome};

/// Channels (doorbell numbers) a pool serves: the DMA engine's and each virtio queue's.
pub const CHANNELS: usize = 64;
/// Chunks a worker moves per step before it looks at other channels.
pub const CHUNKS_PER_STEP: usize = 16;

/// The shared half: the pending mask and its condition variable.
struct Shared {
    pending: Mutex<u64>,
    wake: Condvar,
    stop: AtomicBool,
    steps: AtomicU64,
    activity: Activity,
}

/// A generation counter the workers bump after each step that did something, which other
/// threads (a hart in `wfi`) can wait on: read [`Activity::generation`], check what you
/// wait for, then [`Activity::wait`] with the generation read; a step finished in between
/// makes the wait return at once, so no wakeup is lost.
pub struct Activity {
    /// The generation and how many threads wait for it to change.
    state: Mutex<(u64, usize)>,
    changed: Condvar,
}

impl Activity {
    const fn new() -> Activity {
        Activity {
            state: Mutex::new((0, 0)),
            changed: Condvar::new(),
        }
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.state.lock().map_or(0, |s| s.0)
    }

    /// Something happened: the generation moves on and waiters wake (no system call when
    /// nobody waits).
    pub fn bump(&self) {
        if let Ok(mut s) = self.state.lock() {
            s.0 = s.0.wrapping_add(1);
            if s.1 != 0 {
                self.changed.notify_all();
            }
        }
    }

    /// Waits until the generation differs from `seen`, or for `timeout`.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let Ok(mut s) = self.state.lock() else {
            return;
        };
        if s.0 != seen {
            return;
        }
        s.1 += 1;
        let (mut s, _) = match self.changed.wait_timeout_while(s, timeout, |s| s.0 == seen) {
            Ok(r) => r,
            Err(_) => return,
        };
        s.1 -= 1;
    }
}

impl Shared {
    fn requeue(&self, channel: usize) {
        if let Ok(mut p) = self.pending.lock() {
            *p |= 1u64 << channel;
        }
    }
}

impl DmaDoorbell for Shared {
    fn ring(&self, channel: usize) {
        if channel >= CHANNELS {
            return;
        }
        if let Ok(mut p) = self.pending.lock() {
            *p |= 1u64 << channel;
        }
        self.wake.notify_one();
    }
}

/// A pool of DMA worker threads (see the [module docs](self)). Dropping it stops and joins
/// the threads.
pub struct DmaWorkers {
    shared: &'static Shared,
    threads: Vec<JoinHandle<()>>,
}

impl DmaWorkers {
    /// Starts `count` workers (at least one) that run `step(channel, max_chunks)`.
    pub fn spawn<F>(count: usize, step: F) -> Result<DmaWorkers, String>
    where
        F: Fn(usize, usize) -> StepOutcome + Send + Sync + Clone + 'static,
    {
        // The doorbell is handed to a device that lives for the process: leak the small
        // shared half rather than tie the device's lifetime to the pool.
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            pending: Mutex::new(0),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            steps: AtomicU64::new(0),
            activity: Activity::new(),
        }));
        let mut threads = Vec::new();
        for i in 0..count.max(1) {
            let step = step.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("dma{i}"))
                .spawn(move || worker(shared, step));
            match spawned {
                Ok(t) => threads.push(t),
                Err(e) => {
                    let pool = DmaWorkers { shared, threads };
                    drop(pool);
                    return Err(format!("cannot start a DMA worker thread: {e}"));
                }
            }
        }
        Ok(DmaWorkers { shared, threads })
    }

    /// The doorbell to give the engine
    /// ([`DmaEngine::set_doorbell`](fief_boards::dma::DmaEngine::set_doorbell)).
    pub fn doorbell(&self) -> &'static dyn DmaDoorbell {
        self.shared
    }

    /// What a hart in `wfi` waits on: bumped after every step that did something.
    pub fn activity(&self) -> &'static Activity {
        &self.shared.activity
    }

    /// Steps taken so far by all workers (for tests and statistics).
    pub fn steps(&self) -> u64 {
        self.shared.steps.load(Ordering::Relaxed)
    }

    /// Number of worker threads.
    pub fn len(&self) -> usize {
        self.threads.len()
    }

    /// True if the pool has no thread.
    pub fn is_empty(&self) -> bool {
        self.threads.is_empty()
    }
}

impl Drop for DmaWorkers {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Takes the next pending channel, waiting for one; `None` when stopping.
fn take(shared: &Shared, after: usize) -> Option<usize> {
    let mut p = shared.pending.lock().ok()?;
    loop {
        if shared.stop.load(Ordering::SeqCst) {
            return None;
        }
        if *p != 0 {
            // Round robin: the first pending channel after the last one served.
            let rotated = p.rotate_right(after as u32 + 1);
            let c = (rotated.trailing_zeros() as usize + after + 1) % CHANNELS;
            *p &= !(1u64 << c);
            return Some(c);
        }
        p = shared.wake.wait(p).ok()?;
    }
}

fn worker(shared: &'static Shared, step: impl Fn(usize, usize) -> StepOutcome) {
    let mut last = CHANNELS - 1;
    while let Some(c) = take(shared, last) {
        last = c;
        loop {
            if shared.stop.load(Ordering::SeqCst) {
                return;
            }
            let outcome = step(c, CHUNKS_PER_STEP);
            shared.steps.fetch_add(1, Ordering::Relaxed);
            if matches!(outcome, StepOutcome::Progress | StepOutcome::Finished) {
                shared.activity.bump();
            }
            match outcome {
                StepOutcome::Progress => {
                    let others = shared.pending.lock().map(|p| *p != 0).unwrap_or(false);
                    if others {
                        shared.requeue(c);
                        break;
                    }
                }
                StepOutcome::Blocked => {
                    // No bounce buffer: give the holders a moment, then try again.
                    std::thread::sleep(Duration::from_micros(20));
                }
                StepOutcome::Idle | StepOutcome::Finished | StepOutcome::Contended => break,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn activity_wakes_a_waiter_at_once_and_loses_no_bump() {
        let activity: &'static Activity = Box::leak(Box::new(Activity::new()));
        // A bump between reading the generation and waiting: the wait returns at once.
        let seen = activity.generation();
        activity.bump();
        let t = Instant::now();
        activity.wait(seen, Duration::from_secs(20));
        assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
        // A waiter wakes when another thread bumps.
        let seen = activity.generation();
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            activity.wait(seen, Duration::from_secs(20));
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(50));
        activity.bump();
        let waited = waiter.join().unwrap();
        assert!(waited < Duration::from_secs(10), "{waited:?}");
        // Nothing happening: the timeout.
        let t = Instant::now();
        activity.wait(activity.generation(), Duration::from_millis(30));
        assert!(t.elapsed() >= Duration::from_millis(30));
    }

    #[test]
    fn workers_bump_the_activity_after_a_step_that_did_something() {
        let pool = DmaWorkers::spawn(1, |c, _| {
            if c == 3 {
                StepOutcome::Finished
            } else {
                StepOutcome::Idle
            }
        })
        .unwrap();
        let activity = pool.activity();
        let seen = activity.generation();
        pool.doorbell().ring(5);
        let t = Instant::now();
        while pool.steps() == 0 && t.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert_eq!(activity.generation(), seen, "an idle step is no activity");
        pool.doorbell().ring(3);
        activity.wait(seen, Duration::from_secs(20));
        assert_ne!(activity.generation(), seen);
    }
}
