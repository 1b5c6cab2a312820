//! The slot's guest-visible register interface: the register offsets and `InterruptStatus`
//! bits, what each register reads and what a write to it does, and the MMIO callbacks (an
//! empty slot's answers; the device taken from the state, under its lock, as [`super`] says).

use fief_core::atomic::Ordering;
use fief_core::memory::{AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset};

use super::{State, VirtioMmio, MAX_QUEUES};
use crate::virtio::queue::QUEUE_MAX;
use crate::virtio::{status, VirtioDevice, MAGIC, VENDOR_ID};

/// Register offsets (virtio 1.2, 4.2.2; legacy-only ones from 4.2.4).
pub mod reg {
    /// `MagicValue`.
    pub const MAGIC: u64 = 0x000;
    /// `Version`.
    pub const VERSION: u64 = 0x004;
    /// `DeviceID`.
    pub const DEVICE_ID: u64 = 0x008;
    /// `VendorID`.
    pub const VENDOR_ID: u64 = 0x00c;
    /// `DeviceFeatures`.
    pub const DEVICE_FEATURES: u64 = 0x010;
    /// `DeviceFeaturesSel`.
    pub const DEVICE_FEATURES_SEL: u64 = 0x014;
    /// `DriverFeatures`.
    pub const DRIVER_FEATURES: u64 = 0x020;
    /// `DriverFeaturesSel`.
    pub const DRIVER_FEATURES_SEL: u64 = 0x024;
    /// Legacy `GuestPageSize`.
    pub const GUEST_PAGE_SIZE: u64 = 0x028;
    /// `QueueSel`.
    pub const QUEUE_SEL: u64 = 0x030;
    /// `QueueNumMax`.
    pub const QUEUE_NUM_MAX: u64 = 0x034;
    /// `QueueNum`.
    pub const QUEUE_NUM: u64 = 0x038;
    /// Legacy `QueueAlign`.
    pub const QUEUE_ALIGN: u64 = 0x03c;
    /// Legacy `QueuePFN`.
    pub const QUEUE_PFN: u64 = 0x040;
    /// `QueueReady`.
    pub const QUEUE_READY: u64 = 0x044;
    /// `QueueNotify`.
    pub const QUEUE_NOTIFY: u64 = 0x050;
    /// `InterruptStatus`.
    pub const INTERRUPT_STATUS: u64 = 0x060;
    /// `InterruptACK`.
    pub const INTERRUPT_ACK: u64 = 0x064;
    /// `Status`.
    pub const STATUS: u64 = 0x070;
    /// `QueueDescLow`.
    pub const QUEUE_DESC_LOW: u64 = 0x080;
    /// `QueueDescHigh`.
    pub const QUEUE_DESC_HIGH: u64 = 0x084;
    /// `QueueDriverLow` (available ring).
    pub const QUEUE_DRIVER_LOW: u64 = 0x090;
    /// `QueueDriverHigh`.
    pub const QUEUE_DRIVER_HIGH: u64 = 0x094;
    /// `QueueDeviceLow` (used ring).
    pub const QUEUE_DEVICE_LOW: u64 = 0x0a0;
    /// `QueueDeviceHigh`.
    pub const QUEUE_DEVICE_HIGH: u64 = 0x0a4;
    /// `ConfigGeneration`.
    pub const CONFIG_GENERATION: u64 = 0x0fc;
    /// Device configuration.
    pub const CONFIG: u64 = 0x100;
}

/// `InterruptStatus` bits.
pub mod isr {
    /// A used buffer was added.
    pub const USED_BUFFER: u32 = 1;
    /// The configuration (or the device status) changed.
    pub const CONFIG_CHANGE: u32 = 2;
}

fn size_mask(size: AccessSize) -> u64 {
    match size {
        AccessSize::Byte => 0xff,
        AccessSize::Half => 0xffff,
        AccessSize::Word => 0xffff_ffff,
        AccessSize::Double => u64::MAX,
    }
}

fn set_low(v: &mut u64, low: u64) {
    *v = *v & !0xffff_ffff | low & 0xffff_ffff;
}

fn set_high(v: &mut u64, high: u64) {
    *v = *v & 0xffff_ffff | (high & 0xffff_ffff) << 32;
}

impl<'a> VirtioMmio<'a> {
    fn notify(&self, s: &mut State<'_>, device: &dyn VirtioDevice, value: u64) {
        let q = value as usize;
        if q >= device.queues() || q >= MAX_QUEUES {
            return; // as QEMU: no such queue, ignored
        }
        let queue = s.queues[q];
        if !queue.ready {
            return; // never set up: ignored, as QEMU does
        }
        if let Err(e) = queue.check() {
            self.fail(s, q, e);
            return;
        }
        self.pending.fetch_or(1 << q, Ordering::SeqCst);
        s.ring |= 1 << q;
    }

    fn read_reg(&self, s: &State<'_>, device: &dyn VirtioDevice, offset: u64) -> u32 {
        let legacy = self.legacy();
        let sel = s.queue_sel as usize;
        let queue = s.queues.get(sel).filter(|_| sel < device.queues());
        match offset {
            reg::MAGIC => MAGIC,
            reg::VERSION => self.transport() as u32,
            reg::DEVICE_ID => device.device_id(),
            reg::VENDOR_ID => VENDOR_ID,
            reg::DEVICE_FEATURES => {
                let f = self.host_features(device);
                match (legacy, s.device_features_sel) {
                    (_, 0) => f as u32,
                    (false, 1) => (f >> 32) as u32,
                    _ => 0,
                }
            }
            reg::QUEUE_NUM_MAX => queue.map_or(0, |_| QUEUE_MAX as u32),
            reg::QUEUE_PFN if legacy => queue.map_or(0, |q| q.pfn),
            reg::QUEUE_READY if !legacy => queue.map_or(0, |q| q.ready as u32),
            reg::INTERRUPT_STATUS => s.isr,
            reg::STATUS => s.status,
            reg::CONFIG_GENERATION if !legacy => self.generation.load(Ordering::SeqCst),
            reg::QUEUE_DESC_LOW if !legacy => queue.map_or(0, |q| q.desc as u32),
            reg::QUEUE_DESC_HIGH if !legacy => queue.map_or(0, |q| (q.desc >> 32) as u32),
            reg::QUEUE_DRIVER_LOW if !legacy => queue.map_or(0, |q| q.avail as u32),
            reg::QUEUE_DRIVER_HIGH if !legacy => queue.map_or(0, |q| (q.avail >> 32) as u32),
            reg::QUEUE_DEVICE_LOW if !legacy => queue.map_or(0, |q| q.used as u32),
            reg::QUEUE_DEVICE_HIGH if !legacy => queue.map_or(0, |q| (q.used >> 32) as u32),
            _ => 0,
        }
    }

    fn write_reg(&self, s: &mut State<'a>, device: &'a dyn VirtioDevice, offset: u64, v: u64) {
        let legacy = self.legacy();
        let sel = s.queue_sel as usize;
        let has_queue = sel < device.queues() && sel < MAX_QUEUES;
        match offset {
            reg::DEVICE_FEATURES_SEL => s.device_features_sel = v as u32,
            // Negotiation is over once FEATURES_OK is set (modern): later writes are
            // ignored, as QEMU's `virtio_set_features` ignores them.
            reg::DRIVER_FEATURES if !legacy && s.status & status::FEATURES_OK != 0 => {}
            reg::DRIVER_FEATURES => {
                // Only what the device offers sticks; on the modern layout, a bit it did
                // not offer also makes the FEATURES_OK write fail.
                let offered = self.host_features(device);
                let (word, offered_word) = match (legacy, s.driver_features_sel) {
                    (_, 0) => (0, offered & 0xffff_ffff),
                    (false, 1) => (1, offered >> 32),
                    _ => (2, 0),
                };
                match word {
                    0 => set_low(&mut s.driver_features, v & offered_word),
                    1 => set_high(&mut s.driver_features, v & offered_word),
                    _ => {}
                }
                if !legacy && v & !offered_word != 0 {
                    s.unoffered = true;
                }
                device.negotiated(s.driver_features);
            }
            reg::DRIVER_FEATURES_SEL => s.driver_features_sel = v as u32,
            reg::GUEST_PAGE_SIZE if legacy => {
                let shift = (v as u32).trailing_zeros();
                s.page_shift = if shift > 31 { 0 } else { shift };
            }
            reg::QUEUE_SEL if v < 1024 => s.queue_sel = v as u32,
            reg::QUEUE_NUM if has_queue => {
                let q = &mut s.queues[sel];
                q.num = v as u32;
                if legacy && q.pfn != 0 {
                    let addr = (q.pfn as u64) << s.page_shift;
                    s.queues[sel].set_legacy_rings(addr);
                }
            }
            reg::QUEUE_ALIGN if legacy && has_queue => s.queues[sel].align = v as u32,
            reg::QUEUE_PFN if legacy => {
                if v == 0 {
                    self.driver_reset(s, device);
                } else if has_queue {
                    let shift = s.page_shift;
                    let q = &mut s.queues[sel];
                    q.pfn = v as u32;
                    q.set_legacy_rings(v << shift);
                    q.ready = true;
                    q.last_avail = 0;
                    q.used_idx = 0;
                }
            }
            reg::QUEUE_READY if !legacy && has_queue => {
                let q = &mut s.queues[sel];
                q.ready = v & 1 != 0;
                if q.ready {
                    q.last_avail = 0;
                    q.used_idx = 0;
                }
            }
            reg::QUEUE_DESC_LOW if !legacy && has_queue => set_low(&mut s.queues[sel].desc, v),
            reg::QUEUE_DESC_HIGH if !legacy && has_queue => set_high(&mut s.queues[sel].desc, v),
            reg::QUEUE_DRIVER_LOW if !legacy && has_queue => set_low(&mut s.queues[sel].avail, v),
            reg::QUEUE_DRIVER_HIGH if !legacy && has_queue => set_high(&mut s.queues[sel].avail, v),
            reg::QUEUE_DEVICE_LOW if !legacy && has_queue => set_low(&mut s.queues[sel].used, v),
            reg::QUEUE_DEVICE_HIGH if !legacy && has_queue => set_high(&mut s.queues[sel].used, v),
            reg::QUEUE_NOTIFY => self.notify(s, device, v),
            reg::INTERRUPT_ACK => {
                s.isr &= !(v as u32);
                self.update_irq(s);
            }
            reg::STATUS => {
                let v = v as u32 & 0xff;
                if v == 0 {
                    self.driver_reset(s, device);
                } else {
                    // FEATURES_OK (modern) does not stick when the driver accepted a
                    // feature the device did not offer: the driver reads it back and
                    // gives up (virtio 1.2, 3.1.1). QEMU 7.2 keeps it (it drops the
                    // unoffered bits silently); Fief follows the specification.
                    let v = if !legacy && s.unoffered && v & !s.status & status::FEATURES_OK != 0 {
                        v & !status::FEATURES_OK
                    } else {
                        v
                    };
                    let started = v & !s.status & status::DRIVER_OK != 0;
                    // DEVICE_NEEDS_RESET stays until the reset.
                    s.status = v | s.status & status::DEVICE_NEEDS_RESET;
                    if started {
                        // Buffers posted before DRIVER_OK may now take waiting input (as
                        // QEMU flushes its queued packets when the driver is ready).
                        for q in 0..device.queues().min(MAX_QUEUES) {
                            if s.queues[q].ready && s.queues[q].check().is_ok() && !s.broken {
                                // As `kick`, rung once the lock is dropped.
                                self.pending.fetch_or(1 << q, Ordering::SeqCst);
                                s.ring |= 1 << q;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl MmioOps for VirtioMmio<'_> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        self.read_after(offset, size, || {})
    }

    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        _: MemTxAttrs,
    ) -> MemTxResult {
        self.write_after(offset, value, size, || {})
    }

    fn rules(&self) -> AccessRules {
        AccessRules::DEFAULT
    }
}

impl VirtioMmio<'_> {
    /// What an empty slot answers, before any size check, as QEMU's: a byte read of
    /// `MagicValue` gets its low byte.
    fn empty_read(&self, offset: RegionOffset, size: AccessSize) -> u64 {
        let v = match offset.0 {
            reg::MAGIC => MAGIC,
            reg::VERSION => self.transport() as u32,
            reg::VENDOR_ID => VENDOR_ID,
            _ => 0,
        };
        v as u64 & size_mask(size)
    }

    /// For tests: the MMIO read, with `pause` run where a hart may be preempted before
    /// the read takes the state lock.
    #[doc(hidden)]
    pub fn read_after(
        &self,
        offset: RegionOffset,
        size: AccessSize,
        pause: impl FnOnce(),
    ) -> (u64, MemTxResult) {
        if !self.is_plugged() {
            return (self.empty_read(offset, size), MemTxResult::OK);
        }
        let config = offset.0 >= reg::CONFIG;
        if !config && size != AccessSize::Word {
            return (0, MemTxResult::OK);
        }
        if offset.0 == reg::INTERRUPT_STATUS {
            return (self.isr.load(Ordering::SeqCst) as u64, MemTxResult::OK);
        }
        pause();
        // The device from the state, under its lock: the model plugged now.
        let s = self.state.lock();
        let Some(device) = s.device else {
            return (self.empty_read(offset, size), MemTxResult::OK);
        };
        if config {
            let n = size.bytes() as usize;
            let mut b = [0u8; 8];
            device.read_config(offset.0 - reg::CONFIG, &mut b[..n]);
            return (u64::from_le_bytes(b), MemTxResult::OK);
        }
        (self.read_reg(&s, device, offset.0) as u64, MemTxResult::OK)
    }

    /// For tests: the MMIO write, with `pause` run where a hart may be preempted before
    /// the write takes the state lock.
    #[doc(hidden)]
    pub fn write_after(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        pause: impl FnOnce(),
    ) -> MemTxResult {
        let config = offset.0 >= reg::CONFIG;
        if !self.is_plugged() || !config && size != AccessSize::Word {
            return MemTxResult::OK;
        }
        pause();
        // The device from the state, under its lock: the model plugged now.
        let mut s = self.state.lock();
        let Some(device) = s.device else {
            return MemTxResult::OK;
        };
        if config {
            let n = size.bytes() as usize;
            device.write_config(offset.0 - reg::CONFIG, &value.to_le_bytes()[..n]);
            return MemTxResult::OK;
        }
        self.write_reg(&mut s, device, offset.0, value & 0xffff_ffff);
        let ring = core::mem::take(&mut s.ring);
        drop(s);
        for q in 0..MAX_QUEUES {
            if ring & 1 << q != 0 {
                self.ring(q);
            }
        }
        MemTxResult::OK
    }
}
