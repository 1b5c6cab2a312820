//! Host memory behind hot-plugged RAM (`device_add ram`): one anonymous mapping per device,
//! given back to the host (`munmap`) when the core hands the device's RAM block back,
//! that is once its unplug is complete and no access or DMA lease can reach it (rules L7,
//! L8). Blocks that did not come from here (a test's own) are kept for
//! [`HotplugRam::take_kept`], and so are this module's own blocks while
//! [`HotplugRam::keep_released`] is on (tests that look at what was written into an
//! unplugged device; their mappings then stay for the life of the process).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use fief_core::memory::RamBlock;
use memmap2::MmapMut;

/// The mappings of hot-plugged RAM (see the [module docs](self)).
#[derive(Default)]
pub struct HotplugRam {
    /// Mappings that back a block the core holds (or a kept one).
    live: Mutex<Vec<MmapMut>>,
    keep: AtomicBool,
    kept: Mutex<Vec<RamBlock<'static>>>,
}

impl HotplugRam {
    /// No mappings yet.
    pub fn new() -> HotplugRam {
        HotplugRam::default()
    }

    /// A zeroed block of `size` bytes on a fresh anonymous mapping.
    pub fn alloc(&self, size: u64) -> Result<RamBlock<'static>, String> {
        let len = usize::try_from(size).map_err(|_| "device_add: size too large")?;
        let mut map = MmapMut::map_anon(len)
            .map_err(|e| format!("device_add: cannot map {size} bytes: {e}"))?;
        // SAFETY: the mapping is `len` bytes, readable and writable, and moves into `live`
        // below (moving an `MmapMut` does not move its pages). It is unmapped only in
        // `release`, after the core has handed this block back, that is when nothing can
        // reach it any more, and after the block (the only reference) has been dropped.
        let bytes: &'static mut [u8] =
            unsafe { std::slice::from_raw_parts_mut(map.as_mut_ptr(), len) };
        self.live
            .lock()
            .map_err(|_| "device_add: the RAM table is poisoned")?
            .push(map);
        Ok(RamBlock::new(bytes))
    }

    /// Takes back a block the core released: unmapped if it is one of ours (and
    /// [`HotplugRam::keep_released`] is off), kept otherwise.
    pub fn release(&self, block: RamBlock<'static>) {
        let ptr = block.as_ptr();
        if !self.keep.load(Ordering::Acquire) {
            if let Ok(mut live) = self.live.lock() {
                if let Some(i) = live.iter().position(|m| m.as_ptr() == ptr) {
                    // The block's reference ends here, before its pages go.
                    let _ = block.into_slice();
                    drop(live.swap_remove(i));
                    return;
                }
            }
        }
        if let Ok(mut kept) = self.kept.lock() {
            kept.push(block);
        }
    }

    /// Keeps this module's released blocks too (for tests), instead of unmapping them.
    pub fn keep_released(&self, on: bool) {
        self.keep.store(on, Ordering::Release);
    }

    /// The blocks kept so far.
    pub fn take_kept(&self) -> Vec<RamBlock<'static>> {
        self.kept
            .lock()
            .map(|mut k| std::mem::take(&mut *k))
            .unwrap_or_default()
    }

    /// Mappings alive (plugged devices' RAM, and kept blocks).
    pub fn mappings(&self) -> usize {
        self.live.lock().map(|l| l.len()).unwrap_or(0)
    }
}
