//! The virtio-mmio transport and its devices against a guest memory: a little driver in
//! the test writes the slot's registers through the bus and the rings into RAM, and the
//! device serves requests through leases ([`VirtioMmio::step`]). Legacy and modern
//! layouts, feature negotiation, reset, interrupts, indirect descriptors, event index,
//! virtio-blk and virtio-rng, and every kind of bad input the transport must survive.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use std::sync::Mutex;

use fief_boards::dma::{LeaseBus, StepOutcome};
use fief_boards::virtio::blk::{blk_status, req, BackendError, BlockBackend, VirtioBlk};
use fief_boards::virtio::mmio::{isr, reg};
use fief_boards::virtio::queue::{desc_flags, QueueError};
use fief_boards::virtio::rng::{EntropySource, VirtioRng};
use fief_boards::virtio::{features, status, Transport, VirtioDevice, VirtioMmio};
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, MmioOps, RegionOffset};

mod common;

use common::{leak, SlotBoard, RAM, SLOT};

const DESC: u64 = RAM + 0x1000;
const AVAIL: u64 = RAM + 0x1800;
const USED: u64 = RAM + 0x2000;
const BUF: u64 = RAM + 0x8000;

/// A disk in memory that counts flushes.
struct MemDisk {
    bytes: Mutex<Vec<u8>>,
    read_only: bool,
    flushes: AtomicU32,
}

impl MemDisk {
    fn new(sectors: usize, read_only: bool) -> MemDisk {
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

struct Counter(AtomicU8);

impl EntropySource for Counter {
    fn fill(&self, buf: &mut [u8]) -> bool {
        for b in buf {
            *b = self.0.fetch_add(1, Ordering::SeqCst);
        }
        true
    }
}

struct Rig {
    board: SlotBoard,
    num: u16,
    avail_idx: u16,
    /// Legacy: write `GuestPageSize` once before the reset, as Linux does at probe, instead
    /// of after it.
    page_size_before_reset: bool,
}

impl std::ops::Deref for Rig {
    type Target = SlotBoard;

    fn deref(&self) -> &SlotBoard {
        &self.board
    }
}

impl Rig {
    fn new(transport: Transport, device: Option<&'static dyn VirtioDevice>) -> Rig {
        Rig {
            board: SlotBoard::new(transport, device),
            num: 8,
            avail_idx: 0,
            page_size_before_reset: false,
        }
    }

    /// The driver's init sequence; `features` accepted (low word).
    fn init(&mut self, accept: u64) {
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

    fn avail(&self) -> u64 {
        if self.slot.transport() == Transport::Legacy {
            DESC + 16 * self.num as u64
        } else {
            AVAIL
        }
    }

    fn used(&self) -> u64 {
        if self.slot.transport() == Transport::Legacy {
            (self.avail() + 6 + 2 * self.num as u64).div_ceil(4096) * 4096
        } else {
            USED
        }
    }

    fn desc_at(&self, table: u64, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&len.to_le_bytes());
        d[12..14].copy_from_slice(&flags.to_le_bytes());
        d[14..].copy_from_slice(&next.to_le_bytes());
        self.poke(table + 16 * i as u64, &d);
    }

    fn desc(&self, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        self.desc_at(DESC, i, addr, len, flags, next);
    }

    /// Offers `head` and notifies queue 0.
    fn offer(&mut self, head: u16) {
        let ring = self.avail() + 4 + 2 * (self.avail_idx % self.num) as u64;
        self.poke(ring, &head.to_le_bytes());
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.poke(self.avail() + 2, &self.avail_idx.to_le_bytes());
        self.w(reg::QUEUE_NOTIFY, 0);
    }

    fn step(&self) -> StepOutcome {
        self.slot.step(&self.bus(), 0)
    }

    fn used_idx(&self) -> u16 {
        self.u16_at(self.used() + 2)
    }

    /// Used element `i`: (head, len).
    fn used_elem(&self, i: u16) -> (u32, u32) {
        let e = self.peek(self.used() + 4 + 8 * (i % self.num) as u64, 8);
        (
            u32::from_le_bytes(e[..4].try_into().unwrap()),
            u32::from_le_bytes(e[4..].try_into().unwrap()),
        )
    }

    /// A three-descriptor blk request at descriptors `first..first + 3`.
    fn blk(&mut self, first: u16, kind: u32, sector: u64, data: u64, len: u32, status_at: u64) {
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

fn disk(sectors: usize, read_only: bool) -> (&'static MemDisk, &'static VirtioBlk<'static>) {
    let d: &'static MemDisk = leak(MemDisk::new(sectors, read_only));
    (d, leak(VirtioBlk::new(d, "fief-test")))
}

#[test]
fn an_empty_slot_answers_as_qemus() {
    let v = VirtioMmio::new();
    let rd = |off: u64, size| v.read(RegionOffset(off), size, MemTxAttrs::UNSPECIFIED).0;
    assert_eq!(rd(reg::MAGIC, AccessSize::Word), 0x7472_6976);
    assert_eq!(rd(reg::VERSION, AccessSize::Word), 1);
    assert_eq!(rd(reg::DEVICE_ID, AccessSize::Word), 0);
    assert_eq!(rd(reg::VENDOR_ID, AccessSize::Word), 0x554d_4551);
    for off in (0x10..0x200).step_by(4) {
        let _ = v.write(
            RegionOffset(off),
            0xffff_ffff,
            AccessSize::Word,
            MemTxAttrs::UNSPECIFIED,
        );
        assert_eq!(rd(off, AccessSize::Word), 0, "{off:#x}");
    }
    // As on QEMU, an empty slot answers a byte read of the magic with its low byte.
    assert_eq!(rd(reg::MAGIC, AccessSize::Byte), 0x76);
    assert_eq!(rd(reg::MAGIC + 1, AccessSize::Byte), 0);
    v.set_transport(Transport::Modern);
    assert_eq!(rd(reg::VERSION, AccessSize::Word), 2);
}

#[test]
fn legacy_blk_writes_reads_and_flushes_through_the_rings() {
    let (d, blk) = disk(64, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    assert_eq!(rig.r(reg::VERSION), 1);
    assert_eq!(rig.r(reg::DEVICE_ID), 2);
    let offered = rig.r(reg::DEVICE_FEATURES) as u64;
    assert_ne!(offered & features::INDIRECT_DESC, 0);
    assert_ne!(offered & features::EVENT_IDX, 0);
    assert_ne!(offered & (1 << 9), 0, "FLUSH");
    rig.w(reg::DEVICE_FEATURES_SEL, 1);
    assert_eq!(rig.r(reg::DEVICE_FEATURES), 0, "legacy: 32 feature bits");
    // Capacity in sectors, a 64-bit config field read in two words and bytewise.
    assert_eq!(rig.r(reg::CONFIG), 64);
    assert_eq!(rig.r(reg::CONFIG + 4), 0);
    let (b, _) = rig.space().read(
        GuestAddress(SLOT + reg::CONFIG),
        AccessSize::Byte,
        MemTxAttrs::UNSPECIFIED,
    );
    assert_eq!(b, 64);
    rig.init(1 << 9);
    // Write 1024 bytes at sector 3.
    let data: Vec<u8> = (0..1024u32).map(|i| (i * 7 + 1) as u8).collect();
    rig.poke(BUF + 0x1000, &data);
    rig.blk(0, req::OUT, 3, BUF + 0x1000, 1024, BUF + 0x3000);
    assert_eq!(rig.slot.pending(), 1, "the notify only marks the queue");
    assert_eq!(rig.used_idx(), 0, "no work in the MMIO callback");
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.used_elem(0), (0, 1));
    assert_eq!(rig.peek(BUF + 0x3000, 1), [blk_status::OK]);
    assert_eq!(&d.bytes.lock().unwrap()[3 * 512..3 * 512 + 1024], &data[..]);
    assert_eq!(rig.r(reg::INTERRUPT_STATUS), isr::USED_BUFFER);
    assert!(rig.slot.irq.level());
    rig.w(reg::INTERRUPT_ACK, isr::USED_BUFFER);
    assert!(!rig.slot.irq.level());
    // Read it back, and sector 10 untouched.
    rig.blk(3, req::IN, 3, BUF + 0x2000, 1536, BUF + 0x3001);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.used_elem(1), (3, 1537));
    assert_eq!(rig.peek(BUF + 0x2000, 1024), data);
    assert_eq!(rig.peek(BUF + 0x2400, 512), vec![5u8; 512]);
    assert_eq!(rig.peek(BUF + 0x3001, 1), [blk_status::OK]);
    // Flush reaches the back end before the status says OK.
    let mut h = [0u8; 16];
    h[..4].copy_from_slice(&req::FLUSH.to_le_bytes());
    rig.poke(BUF, &h);
    rig.desc(6, BUF, 16, desc_flags::NEXT, 7);
    rig.desc(7, BUF + 0x3002, 1, desc_flags::WRITE, 0);
    rig.offer(6);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(d.flushes.load(Ordering::SeqCst), 1);
    assert_eq!(rig.peek(BUF + 0x3002, 1), [blk_status::OK]);
    // Past the end of the disk: IOERR, nothing written.
    rig.blk(0, req::OUT, 63, BUF + 0x1000, 1024, BUF + 0x3003);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.peek(BUF + 0x3003, 1), [blk_status::IOERR]);
    assert_eq!(d.bytes.lock().unwrap()[63 * 512], 63);
    // An unknown request type: UNSUPP.
    rig.blk(3, 99, 0, BUF + 0x1000, 512, BUF + 0x3004);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.peek(BUF + 0x3004, 1), [blk_status::UNSUPP]);
    assert_eq!(rig.used_idx(), 5);
    assert!(!rig.slot.is_broken());
}

/// Linux writes `GuestPageSize` at probe and then resets the device (`Status` 0) before the
/// driver sets its queues up: the driver's reset keeps the page size (as QEMU 7.2's
/// `virtio_reset`), so `QueuePFN` still means pages, not bytes.
#[test]
fn the_drivers_reset_keeps_the_legacy_guest_page_size() {
    let (d, blk) = disk(64, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.page_size_before_reset = true;
    rig.init(0);
    let data = vec![0x5au8; 512];
    rig.poke(BUF + 0x1000, &data);
    rig.blk(0, req::OUT, 2, BUF + 0x1000, 512, BUF + 0x3000);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert!(!rig.slot.is_broken(), "rings at QueuePFN bytes, not pages");
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.peek(BUF + 0x3000, 1), [blk_status::OK]);
    assert_eq!(&d.bytes.lock().unwrap()[2 * 512..3 * 512], &data[..]);
}

#[test]
fn a_read_only_disk_refuses_writes() {
    let (d, blk) = disk(8, true);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    assert_ne!(rig.r(reg::DEVICE_FEATURES) & (1 << 5), 0, "VIRTIO_BLK_F_RO");
    rig.init(0);
    rig.poke(BUF + 0x1000, &[0xaa; 512]);
    rig.blk(0, req::OUT, 1, BUF + 0x1000, 512, BUF + 0x3000);
    rig.step();
    assert_eq!(rig.peek(BUF + 0x3000, 1), [blk_status::IOERR]);
    assert_eq!(d.bytes.lock().unwrap()[512], 1);
}

#[test]
fn modern_indirect_descriptors_event_index_and_rng() {
    let rng: &'static VirtioRng<'static> = leak(VirtioRng::new(leak(Counter(AtomicU8::new(0)))));
    let mut rig = Rig::new(Transport::Modern, Some(rng));
    assert_eq!(rig.r(reg::VERSION), 2);
    assert_eq!(rig.r(reg::DEVICE_ID), 4);
    rig.w(reg::DEVICE_FEATURES_SEL, 1);
    assert_eq!(rig.r(reg::DEVICE_FEATURES), 1, "VERSION_1");
    rig.init(features::VERSION_1 | features::INDIRECT_DESC | features::EVENT_IDX);
    assert_eq!(rig.r(reg::QUEUE_READY), 1);
    assert_eq!(rig.r(reg::QUEUE_DESC_LOW), DESC as u32);
    // An indirect table of two writable buffers (16 + 48 bytes).
    let table = BUF + 0x4000;
    rig.desc_at(
        table,
        0,
        BUF + 0x1000,
        16,
        desc_flags::WRITE | desc_flags::NEXT,
        1,
    );
    rig.desc_at(table, 1, BUF + 0x1100, 48, desc_flags::WRITE, 0);
    rig.desc(0, table, 32, desc_flags::INDIRECT, 0);
    // used_event = 0: interrupt after the first used buffer.
    rig.poke(AVAIL + 4 + 2 * 8, &0u16.to_le_bytes());
    rig.offer(0);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.used_elem(0), (0, 64));
    assert_eq!(rig.peek(BUF + 0x1000, 16), (0..16).collect::<Vec<u8>>());
    assert_eq!(rig.peek(BUF + 0x1100, 48), (16..64).collect::<Vec<u8>>());
    assert!(rig.slot.irq.level());
    // The device published avail_event = 1 (notify me past what I took).
    assert_eq!(rig.u16_at(USED + 4 + 8 * 8), 1);
    rig.w(reg::INTERRUPT_ACK, 1);
    // used_event = 5: no interrupt for the second one.
    rig.poke(AVAIL + 4 + 2 * 8, &5u16.to_le_bytes());
    rig.desc(1, BUF + 0x1200, 8, desc_flags::WRITE, 0);
    rig.offer(1);
    rig.step();
    assert_eq!(rig.used_idx(), 2);
    assert!(
        !rig.slot.irq.level(),
        "event index suppresses the interrupt"
    );
    // Status 0 resets: queues gone, notifications ignored.
    rig.w(reg::STATUS, 0);
    assert_eq!(rig.r(reg::QUEUE_READY), 0);
    assert_eq!(rig.r(reg::STATUS), 0);
    rig.w(reg::QUEUE_NOTIFY, 0);
    assert_eq!(rig.slot.pending(), 0);
}

/// Sets up a blk rig, has it serve one good request, then runs `bad` and checks the device
/// ends broken with `expected`, the good request's completion kept, and a reset heals it.
fn bad_input(transport: Transport, bad: impl FnOnce(&mut Rig), expected: fn(&QueueError) -> bool) {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(transport, Some(blk));
    rig.init(
        features::INDIRECT_DESC
            | if transport == Transport::Modern {
                features::VERSION_1
            } else {
                0
            },
    );
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    rig.step();
    assert_eq!(rig.used_idx(), 1);
    bad(&mut rig);
    rig.step();
    assert!(rig.slot.is_broken(), "{transport:?}: not broken");
    let fault = rig.slot.take_error().expect("a fault to report");
    assert!(expected(&fault.error), "{:?}", fault.error);
    assert!(!fault.error.to_string().is_empty());
    assert_eq!(
        rig.used_idx(),
        1,
        "the completed request stays, nothing more"
    );
    if transport == Transport::Modern {
        assert_ne!(rig.r(reg::STATUS) & status::DEVICE_NEEDS_RESET, 0);
        assert_ne!(rig.r(reg::INTERRUPT_STATUS) & isr::CONFIG_CHANGE, 0);
    }
    // Broken: further notifications serve nothing until a reset.
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    assert_eq!(rig.step(), StepOutcome::Idle);
    rig.init(0);
    assert!(!rig.slot.is_broken());
    assert_eq!(rig.r(reg::STATUS) & status::DEVICE_NEEDS_RESET, 0);
    rig.blk(0, req::IN, 2, BUF + 0x1000, 512, BUF + 0x3000);
    rig.step();
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.peek(BUF + 0x1000, 512), vec![2u8; 512]);
}

#[test]
fn a_descriptor_loop_breaks_the_device_not_the_host() {
    for t in [Transport::Legacy, Transport::Modern] {
        bad_input(
            t,
            |rig| {
                rig.desc(4, BUF, 16, desc_flags::NEXT, 5);
                rig.desc(5, BUF + 0x100, 16, desc_flags::NEXT, 4);
                rig.offer(4);
            },
            |e| matches!(e, QueueError::Loop { walked: 8 }),
        );
        // A loop inside an indirect table is bounded by the table's length.
        bad_input(
            t,
            |rig| {
                let table = BUF + 0x4000;
                rig.desc_at(table, 0, BUF, 16, desc_flags::NEXT, 1);
                rig.desc_at(table, 1, BUF, 16, desc_flags::NEXT, 0);
                rig.desc(4, table, 32, desc_flags::INDIRECT, 0);
                rig.offer(4);
            },
            |e| matches!(e, QueueError::Loop { walked: 2 }),
        );
    }
}

#[test]
fn bad_chains_are_clear_errors() {
    let t = Transport::Modern;
    // A next index past the table.
    bad_input(
        t,
        |rig| {
            rig.desc(4, BUF, 16, desc_flags::NEXT, 200);
            rig.offer(4);
        },
        |e| {
            matches!(
                e,
                QueueError::IndexOutOfRange {
                    index: 200,
                    table: 8
                }
            )
        },
    );
    // A head past the table.
    bad_input(
        t,
        |rig| rig.offer(9),
        |e| matches!(e, QueueError::IndexOutOfRange { index: 9, .. }),
    );
    // Zero-length buffer.
    bad_input(
        t,
        |rig| {
            rig.desc(4, BUF, 0, 0, 0);
            rig.offer(4);
        },
        |e| *e == QueueError::ZeroLength,
    );
    // Oversized: 200 buffers through an indirect table.
    bad_input(
        t,
        |rig| {
            let table = BUF + 0x4000;
            for i in 0..200u16 {
                rig.desc_at(
                    table,
                    i,
                    BUF,
                    16,
                    if i < 199 { desc_flags::NEXT } else { 0 },
                    i + 1,
                );
            }
            rig.desc(4, table, 200 * 16, desc_flags::INDIRECT, 0);
            rig.offer(4);
        },
        |e| *e == QueueError::TooManySegments,
    );
    // Oversized: more than 4 GiB in one chain.
    bad_input(
        t,
        |rig| {
            rig.desc(4, BUF, 0xffff_ff00, desc_flags::NEXT, 5);
            rig.desc(5, BUF, 0x200, 0, 0);
            rig.offer(4);
        },
        |e| *e == QueueError::Oversized,
    );
    // A descriptor table outside RAM.
    bad_input(
        t,
        |rig| {
            rig.desc(4, 0x4000_0000, 16, desc_flags::INDIRECT, 0);
            rig.offer(4);
        },
        |e| {
            matches!(
                e,
                QueueError::Memory {
                    addr: 0x4000_0000,
                    ..
                }
            )
        },
    );
    // A readable buffer after a writable one.
    bad_input(
        t,
        |rig| {
            rig.desc(4, BUF, 16, desc_flags::WRITE | desc_flags::NEXT, 5);
            rig.desc(5, BUF, 16, 0, 0);
            rig.offer(4);
        },
        |e| *e == QueueError::ReadAfterWrite,
    );
    // A blk request with no header.
    bad_input(
        t,
        |rig| {
            rig.desc(4, BUF, 1, desc_flags::WRITE, 0);
            rig.offer(4);
        },
        |e| matches!(e, QueueError::Malformed(_)),
    );
}

#[test]
fn a_queue_size_that_is_not_a_power_of_two_is_refused_at_the_notify() {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Modern, Some(blk));
    rig.num = 6;
    rig.init(features::VERSION_1);
    rig.w(reg::QUEUE_NOTIFY, 0);
    assert!(rig.slot.is_broken());
    assert_eq!(rig.slot.take_error().unwrap().error, QueueError::BadSize(6));
    assert_eq!(rig.slot.pending(), 0);
}

#[test]
fn notifications_for_queues_never_set_up_are_ignored() {
    let (_, blk) = disk(16, false);
    let rig = Rig::new(Transport::Legacy, Some(blk));
    rig.w(
        reg::STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK,
    );
    for q in [0, 1, 7, 5000] {
        rig.w(reg::QUEUE_NOTIFY, q);
    }
    assert_eq!(rig.slot.pending(), 0);
    assert_eq!(rig.step(), StepOutcome::Idle);
    assert!(!rig.slot.is_broken());
    assert!(rig.slot.take_error().is_none());
}

#[test]
fn a_data_buffer_outside_ram_is_an_io_error_for_that_request() {
    let (d, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.init(0);
    rig.blk(0, req::OUT, 1, 0x4000_0000, 512, BUF + 0x3000);
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.used_idx(), 1, "the request ends");
    assert_eq!(rig.peek(BUF + 0x3000, 1), [blk_status::IOERR]);
    assert_eq!(d.bytes.lock().unwrap()[512], 1, "nothing written");
    assert!(!rig.slot.is_broken());
    assert_eq!(rig.leases.active(), 0, "every lease ended");
}

#[test]
fn unplug_mid_queue_stops_taking_requests() {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.init(0);
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    rig.blk(3, req::IN, 2, BUF + 0x1400, 512, BUF + 0x3001);
    assert_eq!(rig.step(), StepOutcome::Progress, "more waiting");
    assert!(rig.slot.unplug().is_some());
    assert_eq!(rig.step(), StepOutcome::Idle);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.slot.in_flight(), 0);
    assert_eq!(rig.r(reg::DEVICE_ID), 0, "an empty slot again");
    assert!(rig.slot.release());
    assert!(rig.slot.plug(blk));
    assert!(!rig.slot.plug(blk), "taken");
}

/// An rng whose requests wait for the test's go-ahead: a request held in flight.
struct Gated {
    entered: std::sync::Barrier,
    go: std::sync::Barrier,
}

impl EntropySource for Gated {
    fn fill(&self, buf: &mut [u8]) -> bool {
        self.entered.wait();
        self.go.wait();
        buf.fill(0x5a);
        true
    }
}

#[test]
fn an_unplug_completes_only_after_the_request_in_flight_ends_on_the_used_ring() {
    let gated: &'static Gated = leak(Gated {
        entered: std::sync::Barrier::new(2),
        go: std::sync::Barrier::new(2),
    });
    let rng: &'static VirtioRng<'static> = leak(VirtioRng::new(gated));
    let mut rig = Rig::new(Transport::Legacy, Some(rng));
    rig.init(0);
    rig.desc(0, BUF, 16, desc_flags::WRITE, 0);
    rig.offer(0);
    let (mem, space, leases, slot) = (rig.mem, rig.space, rig.leases, rig.slot);
    let worker = std::thread::spawn(move || {
        let bus = LeaseBus {
            memory: mem,
            space,
            leases,
        };
        slot.step(&bus, 0)
    });
    gated.entered.wait();
    // The request is being served: unplug now.
    assert!(rig.slot.unplug().is_some());
    assert_eq!(rig.slot.in_flight(), 1);
    assert!(!rig.slot.release(), "released with a request in flight");
    assert_eq!(rig.r(reg::DEVICE_ID), 0, "the slot looks empty at once");
    gated.go.wait();
    assert_eq!(worker.join().unwrap(), StepOutcome::Finished);
    // The request taken before the unplug completed onto the used ring.
    assert_eq!(rig.slot.in_flight(), 0);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.used_elem(0), (0, 16));
    assert_eq!(rig.peek(BUF, 16), vec![0x5a; 16]);
    assert_eq!(rig.leases.active(), 0);
    assert!(rig.slot.release());
}

/// A doorbell that checks, when rung, that the slot's locks are free: another thread must
/// be able to read the slot's registers at once.
struct LockCheckingBell {
    slot: std::sync::OnceLock<&'static VirtioMmio<'static>>,
    rings: AtomicU32,
    blocked: AtomicU32,
}

impl fief_boards::dma::DmaDoorbell for LockCheckingBell {
    fn ring(&self, channel: usize) {
        self.rings.fetch_add(1, Ordering::SeqCst);
        let slot = *self.slot.get().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(slot.status());
        });
        if rx.recv_timeout(std::time::Duration::from_secs(2)).is_err() {
            self.blocked.fetch_add(1, Ordering::SeqCst);
        }
        assert_eq!(channel, 40, "the slot's base plus queue 0");
    }
}

/// The doorbell is rung with no lock of the slot held, by the notify and the kick at
/// `DRIVER_OK` (register writes) and by a worker's step that sees more requests waiting: ringing wakes a worker that may
/// preempt the ringing thread at once and whose first act is to take those locks (with
/// them held, a polling driver waited a scheduler round per request: BENCHMARKS.md).
#[test]
fn the_doorbell_rings_with_the_slots_locks_free() {
    let bell: &'static LockCheckingBell = leak(LockCheckingBell {
        slot: std::sync::OnceLock::new(),
        rings: AtomicU32::new(0),
        blocked: AtomicU32::new(0),
    });
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    bell.slot.set(rig.slot).ok().unwrap();
    rig.slot.set_doorbell(bell, 40);
    rig.init(0);
    // DRIVER_OK kicks the queue that is ready (a register write too).
    assert_eq!(
        bell.rings.load(Ordering::SeqCst),
        1,
        "the kick at DRIVER_OK"
    );
    assert_eq!(rig.step(), StepOutcome::Idle);
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    rig.blk(3, req::IN, 2, BUF + 0x1400, 512, BUF + 0x3001);
    assert_eq!(bell.rings.load(Ordering::SeqCst), 3, "one ring per notify");
    assert_eq!(rig.step(), StepOutcome::Progress);
    let rings = bell.rings.load(Ordering::SeqCst);
    assert_eq!(rings, 4, "the step rang for the next one");
    assert_eq!(rig.step(), StepOutcome::Finished);
    assert_eq!(rig.used_idx(), 2);
    assert_eq!(rig.r(reg::INTERRUPT_STATUS), isr::USED_BUFFER);
    rig.w(reg::INTERRUPT_ACK, isr::USED_BUFFER);
    assert_eq!(rig.r(reg::INTERRUPT_STATUS), 0);
    assert_eq!(
        bell.blocked.load(Ordering::SeqCst),
        0,
        "rung with a lock held"
    );
}

/// A device whose configuration (one `u32`) the test changes, and which records the
/// features the driver negotiated.
struct Tunable {
    value: AtomicU32,
    negotiated: std::sync::atomic::AtomicU64,
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

fn tunable() -> &'static Tunable {
    leak(Tunable {
        value: AtomicU32::new(7),
        negotiated: std::sync::atomic::AtomicU64::new(0),
    })
}

/// `ConfigGeneration` moves on at a configuration change once the driver is ready, with a
/// configuration-change interrupt (both `InterruptStatus` bits, as QEMU's
/// `virtio_notify_config`); the driver's reset does not take it back; the legacy layout
/// has no such register.
#[test]
fn config_generation_moves_on_when_the_configuration_changes() {
    let dev = tunable();
    let mut rig = Rig::new(Transport::Modern, Some(dev));
    assert_eq!(rig.r(reg::CONFIG_GENERATION), 0);
    dev.value.store(8, Ordering::SeqCst);
    assert!(!rig.slot.config_changed(), "no driver yet: nothing to tell");
    assert_eq!(rig.r(reg::CONFIG_GENERATION), 0);
    assert_eq!(rig.r(reg::INTERRUPT_STATUS), 0);
    rig.init(features::VERSION_1);
    assert_eq!(rig.r(reg::CONFIG), 8);
    dev.value.store(9, Ordering::SeqCst);
    assert!(rig.slot.config_changed());
    assert_eq!(rig.r(reg::CONFIG_GENERATION), 1);
    assert_eq!(rig.r(reg::CONFIG), 9);
    assert_eq!(
        rig.r(reg::INTERRUPT_STATUS),
        isr::USED_BUFFER | isr::CONFIG_CHANGE
    );
    assert!(rig.slot.irq.level());
    rig.w(reg::INTERRUPT_ACK, isr::USED_BUFFER | isr::CONFIG_CHANGE);
    assert!(!rig.slot.irq.level());
    assert!(rig.slot.config_changed());
    assert_eq!(rig.r(reg::CONFIG_GENERATION), 2);
    rig.w(reg::STATUS, 0);
    assert_eq!(rig.r(reg::CONFIG_GENERATION), 2, "a reset keeps it");
    assert!(!rig.slot.irq.level(), "the reset lowers the interrupt");

    let dev = tunable();
    let mut rig = Rig::new(Transport::Legacy, Some(dev));
    rig.init(0);
    assert!(rig.slot.config_changed());
    assert_eq!(rig.r(reg::CONFIG_GENERATION), 0, "not a legacy register");
    assert_ne!(rig.r(reg::INTERRUPT_STATUS) & isr::CONFIG_CHANGE, 0);
}

/// Modern layout: a driver that accepted a feature the device did not offer reads
/// `FEATURES_OK` back clear (virtio 1.2, 3.1.1; QEMU 7.2 keeps it and drops the bits);
/// offered features negotiate; once `FEATURES_OK` is set, feature writes are ignored.
#[test]
fn features_ok_does_not_stick_with_a_feature_the_device_did_not_offer() {
    let dev = tunable();
    let rig = Rig::new(Transport::Modern, Some(dev));
    let negotiate = |low: u32, high: u32| -> u32 {
        rig.w(reg::STATUS, 0);
        rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        rig.w(reg::DRIVER_FEATURES_SEL, 0);
        rig.w(reg::DRIVER_FEATURES, low);
        rig.w(reg::DRIVER_FEATURES_SEL, 1);
        rig.w(reg::DRIVER_FEATURES, high);
        rig.w(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
        );
        rig.r(reg::STATUS)
    };
    let ok = status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK;
    assert_eq!(negotiate(1 << 3, 1), ok, "offered: negotiated");
    assert_eq!(dev.negotiated.load(Ordering::SeqCst), 1 << 3 | 1 << 32);
    assert_eq!(negotiate(1 << 3 | 1 << 4, 1), ok & !status::FEATURES_OK);
    assert_eq!(negotiate(1 << 3, 1 | 1 << 5), ok & !status::FEATURES_OK);
    assert_eq!(negotiate(0, 1), ok, "the reset forgets the refused attempt");
    // After FEATURES_OK the features stay what was negotiated.
    rig.w(reg::DRIVER_FEATURES_SEL, 0);
    rig.w(reg::DRIVER_FEATURES, 1 << 3);
    assert_eq!(dev.negotiated.load(Ordering::SeqCst), 1 << 32);
    rig.w(reg::STATUS, ok | status::DRIVER_OK);
    assert_eq!(rig.r(reg::STATUS), ok | status::DRIVER_OK);

    // The legacy layout has no FEATURES_OK: unoffered bits are dropped, as QEMU's.
    let dev = tunable();
    let rig = Rig::new(Transport::Legacy, Some(dev));
    rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
    rig.w(reg::DRIVER_FEATURES, 1 << 3 | 1 << 4);
    assert_eq!(dev.negotiated.load(Ordering::SeqCst), 1 << 3);
}

/// A worker that began a step just before an unplug, and waits for the state lock to
/// take a request, cannot take one after the unplug has returned: the unplug takes the
/// device out of the state under that lock (so it waits for it here), and a step that
/// gets the lock after it takes nothing. Either way the request is never half taken, the slot releases
/// once nothing is in flight and takes a device again. (Before, the unplug returned at
/// once, the release saw nothing in flight, and the waiting worker then took and served
/// a request of the released slot: the stress test's occasional "slot still busy" on a
/// replug.)
#[test]
fn a_step_racing_an_unplug_takes_no_request_after_the_slot_is_released() {
    let (_, blk) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(blk));
    rig.init(0);
    rig.blk(0, req::IN, 1, BUF + 0x1000, 512, BUF + 0x3000);
    let (mem, space, leases, slot) = (rig.mem, rig.space, rig.leases, rig.slot);
    let held = slot.hold_state_lock();
    let worker = std::thread::spawn(move || {
        let bus = LeaseBus {
            memory: mem,
            space,
            leases,
        };
        slot.step(&bus, 0)
    });
    // Let the worker read the device and reach the state lock.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let unplug = std::thread::spawn(move || slot.unplug().is_some());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !unplug.is_finished(),
        "the unplug returned while a worker that saw the device could still take a request"
    );
    drop(held);
    assert!(unplug.join().unwrap());
    let outcome = worker.join().unwrap();
    match outcome {
        StepOutcome::Idle => assert_eq!(rig.used_idx(), 0),
        _ => {
            assert_eq!(outcome, StepOutcome::Finished);
            assert_eq!(rig.used_idx(), 1, "taken before the unplug: completed");
        }
    }
    assert_eq!(rig.slot.in_flight(), 0);
    assert!(rig.slot.release());
    assert_eq!(rig.step(), StepOutcome::Idle);
    assert!(rig.slot.plug(blk), "the slot takes a device again");
}

/// A worker preempted at the start of a step while the monitor unplugs the slot's device
/// and plugs another (`device_del`, then `device_add`; the new driver sets it up and
/// notifies) serves the new device's request with the new model, never with the old one:
/// the step takes its device from the state, under the state lock it takes the request
/// with. (Before, it read the device first and took the state lock after: the old model,
/// by then perhaps re-bound to another back end, served the new device's request, here
/// writing the old disk.)
#[test]
fn a_step_preempted_across_an_unplug_and_a_plug_serves_with_the_new_model() {
    let (old_disk, old) = disk(16, false);
    let (new_disk, new) = disk(16, false);
    let mut rig = Rig::new(Transport::Legacy, Some(old));
    rig.init(0);
    let (mem, space, leases, slot) = (rig.mem, rig.space, rig.leases, rig.slot);
    let bus = LeaseBus {
        memory: mem,
        space,
        leases,
    };
    let data = vec![0xa5u8; 512];
    let outcome = slot.step_after(&bus, 0, || {
        assert!(slot.unplug().is_some());
        assert!(slot.release());
        assert!(slot.plug(new));
        rig.init(0);
        rig.poke(BUF + 0x1000, &data);
        rig.blk(0, req::OUT, 2, BUF + 0x1000, 512, BUF + 0x3000);
    });
    assert!(
        old_disk.bytes.lock().unwrap()[2 * 512..3 * 512] == [2u8; 512],
        "the old model wrote the new device's request to its disk"
    );
    assert_eq!(outcome, StepOutcome::Finished);
    assert_eq!(rig.used_idx(), 1);
    assert_eq!(rig.peek(BUF + 0x3000, 1), [blk_status::OK]);
    assert!(new_disk.bytes.lock().unwrap()[2 * 512..3 * 512] == data[..]);
    assert_eq!(slot.in_flight(), 0);
}

/// The same for the driver's register and configuration accesses: a hart preempted in an
/// access while the device is replaced reaches the new model (its negotiated features, its
/// configuration), never the old one. (Before, the access read the device before the
/// state lock: a `DriverFeatures` write set the old model's features, a configuration read
/// answered with the old model's configuration.)
#[test]
fn an_access_preempted_across_an_unplug_and_a_plug_reaches_the_new_model() {
    let (old, new) = (tunable(), tunable());
    new.value.store(9, Ordering::SeqCst);
    let rig = Rig::new(Transport::Modern, Some(old));
    let slot = rig.slot;
    let replace = |by: &'static Tunable| {
        let gone = slot.unplug().is_some();
        assert!(gone && slot.release() && slot.plug(by));
        rig.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        rig.w(reg::DRIVER_FEATURES_SEL, 0);
    };
    let word = AccessSize::Word;
    let _ = slot.write_after(RegionOffset(reg::DRIVER_FEATURES), 1 << 3, word, || {
        replace(new)
    });
    assert_eq!(
        old.negotiated.load(Ordering::SeqCst),
        0,
        "old model negotiated"
    );
    assert_eq!(new.negotiated.load(Ordering::SeqCst), 1 << 3);
    let (v, _) = slot.read_after(RegionOffset(reg::CONFIG), word, || replace(old));
    assert_eq!(v, 7, "the configuration of the model plugged now");
}
