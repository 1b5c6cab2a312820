//! The rig `virtio.rs` and `virtio_plug.rs` drive the transport with: a disk in memory
//! (`MemDisk`), a device whose configuration the test sets and which records what the
//! transport told it (`Tunable`), and `Rig`, a little driver of queue 0 over a
//! [`SlotBoard`] (its init sequence, descriptors, offers, blk requests, the used ring).
//! (Each test crate uses part of it.)
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Mutex;

use fief_boards::dma::StepOutcome;
use fief_boards::virtio::blk::{req, BackendError, BlockBackend, VirtioBlk};
use fief_boards::virtio::mmio::reg;
use fief_boards::virtio::queue::desc_flags;
use fief_boards::virtio::{status, Transport, VirtioDevice};

use crate::common::{leak, SlotBoard, RAM};

pub const DESC: u64 = RAM + 0x1000;
pub const AVAIL: u64 = RAM + 0x1800;
pub const USED: u64 = RAM + 0x2000;
pub const BUF: u64 = RAM + 0x8000;

/// A disk in memory that counts flushes.
pub struct MemDisk {
    pub bytes: Mutex<Vec<u8>>,
    pub read_only: bool,
    pub flushes: AtomicU32,
}

impl MemDisk {
    pub fn new(sectors: usize, read_only: bool) -> MemDisk {
        MemDisk {
            bytes: Mutex::new((0..sectors * 512).map(|i| (i / 512) as u8).collect()),
            read_only,
            flushes: AtomicU32::new(0),
        }
    }
}

impl BlockBackend for MemDisk {
    fn capacity(&self) -> u64 {
        self.bytes.lock().unwrap().len() as u64
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BackendError> {
        let b = self.bytes.lock().unwrap();
        let o = offset as usize;
        buf.copy_from_slice(b.get(o..o + buf.len()).ok_or(BackendError)?);
        Ok(())
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        let mut b = self.bytes.lock().unwrap();
        let o = offset as usize;
        b.get_mut(o..o + data.len())
            .ok_or(BackendError)?
            .copy_from_slice(data);
        Ok(())
    }
    fn flush(&self) -> Result<(), BackendError> {
        self.flushes.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
    fn zero(&self, offset: u64, len: u64) -> Result<(), BackendError> {
        let mut b = self.bytes.lock().unwrap();
        b.get_mut(offset as usize..(offset + len) as usize)
            .ok_or(BackendError)?
            .fill(0);
        Ok(())
    }
}

/// A slot board and a little driver of queue 0: its init sequence, descriptors, offers
/// and blk requests, written into the guest's RAM and the slot's registers.
pub struct Rig {
    pub board: SlotBoard,
    /// Queue 0's size.
    pub num: u16,
    avail_idx: u16,
    /// Legacy: write `GuestPageSize` once before the reset, as Linux does at probe, instead
    /// of after it.
    pub page_size_before_reset: bool,
}

impl std::ops::Deref for Rig {
    type Target = SlotBoard;

    fn deref(&self) -> &SlotBoard {
        &self.board
    }
}

impl Rig {
    pub fn new(transport: Transport, device: Option<&'static dyn VirtioDevice>) -> Rig {
        Rig {
            board: SlotBoard::new(transport, device),
            num: 8,
            avail_idx: 0,
            page_size_before_reset: false,
        }
    }

    /// The driver's init sequence; `features` accepted (low word).
    pub fn init(&mut self, accept: u64) {
        let legacy = self.slot.transport() == Transport::Legacy;
        if legacy && self.page_size_before_reset {
            self.w(reg::GUEST_PAGE_SIZE, 4096);
        }
        self.w(reg::STATUS, 0);
        self.w(reg::STATUS, status::ACKNOWLEDGE);
        self.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        self.w(reg::DRIVER_FEATURES_SEL, 0);
        self.w(reg::DRIVER_FEATURES, accept as u32);
        self.w(reg::DRIVER_FEATURES_SEL, 1);
        self.w(reg::DRIVER_FEATURES, (accept >> 32) as u32);
        self.w(reg::QUEUE_SEL, 0);
        assert_eq!(self.r(reg::QUEUE_NUM_MAX), 1024);
        self.w(reg::QUEUE_NUM, self.num as u32);
        if legacy {
            if !self.page_size_before_reset {
                self.w(reg::GUEST_PAGE_SIZE, 4096);
            }
            self.w(reg::QUEUE_ALIGN, 4096);
            // The legacy layout: table, then avail, used at the next page: DESC's page.
            self.w(reg::QUEUE_PFN, (DESC >> 12) as u32);
        } else {
            self.w(
                reg::STATUS,
                status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
            );
            self.w(reg::QUEUE_DESC_LOW, DESC as u32);
            self.w(reg::QUEUE_DESC_HIGH, 0);
            self.w(reg::QUEUE_DRIVER_LOW, AVAIL as u32);
            self.w(reg::QUEUE_DRIVER_HIGH, 0);
            self.w(reg::QUEUE_DEVICE_LOW, USED as u32);
            self.w(reg::QUEUE_DEVICE_HIGH, 0);
            self.w(reg::QUEUE_READY, 1);
        }
        self.w(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        );
        self.avail_idx = 0;
    }

    pub fn avail(&self) -> u64 {
        if self.slot.transport() == Transport::Legacy {
            DESC + 16 * self.num as u64
        } else {
            AVAIL
        }
    }

    pub fn used(&self) -> u64 {
        if self.slot.transport() == Transport::Legacy {
            (self.avail() + 6 + 2 * self.num as u64).div_ceil(4096) * 4096
        } else {
            USED
        }
    }

    pub fn desc_at(&self, table: u64, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&len.to_le_bytes());
        d[12..14].copy_from_slice(&flags.to_le_bytes());
        d[14..].copy_from_slice(&next.to_le_bytes());
        self.poke(table + 16 * i as u64, &d);
    }

    pub fn desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        self.desc_at(DESC, i, addr, len, flags, next);
    }

    /// Offers `head` and notifies queue 0.
    pub fn offer(&mut self, head: u16) {
        let ring = self.avail() + 4 + 2 * (self.avail_idx % self.num) as u64;
        self.poke(ring, &head.to_le_bytes());
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.poke(self.avail() + 2, &self.avail_idx.to_le_bytes());
        self.w(reg::QUEUE_NOTIFY, 0);
    }

    pub fn step(&self) -> StepOutcome {
        self.slot.step(&self.bus(), 0)
    }

    pub fn used_idx(&self) -> u16 {
        self.u16_at(self.used() + 2)
    }

    /// Used element `i`: (head, len).
    pub fn used_elem(&self, i: u16) -> (u32, u32) {
        let e = self.peek(self.used() + 4 + 8 * (i % self.num) as u64, 8);
        (
            u32::from_le_bytes(e[..4].try_into().unwrap()),
            u32::from_le_bytes(e[4..].try_into().unwrap()),
        )
    }

    /// A three-descriptor blk request at descriptors `first..first + 3`.
    pub fn blk(&mut self, first: u16, kind: u32, sector: u64, data: u64, len: u32, status_at: u64) {
        let mut h = [0u8; 16];
        h[..4].copy_from_slice(&kind.to_le_bytes());
        h[8..].copy_from_slice(&sector.to_le_bytes());
        let header = BUF + 0x100 * first as u64;
        self.poke(header, &h);
        let data_flags = if kind == req::IN {
            desc_flags::WRITE
        } else {
            0
        };
        self.desc(first, header, 16, desc_flags::NEXT, first + 1);
        self.desc(
            first + 1,
            data,
            len,
            desc_flags::NEXT | data_flags,
            first + 2,
        );
        self.desc(first + 2, status_at, 1, desc_flags::WRITE, 0);
        self.poke(status_at, &[0xff]);
        self.offer(first);
    }
}

/// A disk of `sectors` (sector n filled with n) and its virtio-blk model.
pub fn disk(sectors: usize, read_only: bool) -> (&'static MemDisk, &'static VirtioBlk<'static>) {
    let d: &'static MemDisk = leak(MemDisk::new(sectors, read_only));
    (d, leak(VirtioBlk::new(d, "fief-test")))
}

/// A device whose configuration (one `u32`) the test changes, and which records the
/// features the driver negotiated and counts its resets.
pub struct Tunable {
    pub value: AtomicU32,
    pub negotiated: AtomicU64,
    pub resets: AtomicU32,
}

impl VirtioDevice for Tunable {
    fn device_id(&self) -> u32 {
        fief_boards::virtio::device_id::RNG
    }
    fn features(&self) -> u64 {
        1 << 3
    }
    fn queues(&self) -> usize {
        1
    }
    fn read_config(&self, offset: u64, buf: &mut [u8]) {
        let bytes = self.value.load(Ordering::SeqCst).to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = bytes.get(offset as usize + i).copied().unwrap_or(0);
        }
    }
    fn reset(&self) {
        self.resets.fetch_add(1, Ordering::SeqCst);
    }
    fn negotiated(&self, driver_features: u64) {
        self.negotiated.store(driver_features, Ordering::SeqCst);
    }
    fn serve(
        &self,
        _: usize,
        _: &fief_boards::virtio::queue::Chain,
        _: &fief_boards::virtio::guest::GuestMem<'_>,
    ) -> Result<u32, fief_boards::virtio::RequestError> {
        Ok(0)
    }
}

/// A [`Tunable`] whose configuration reads 7.
pub fn tunable() -> &'static Tunable {
    leak(Tunable {
        value: AtomicU32::new(7),
        negotiated: AtomicU64::new(0),
        resets: AtomicU32::new(0),
    })
}
