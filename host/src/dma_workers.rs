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
