//! The virtio-mmio transport and its devices against a guest memory: a little driver in
//! the test (`virtio_rig`) writes the slot's registers through the bus and the rings into
//! RAM, and the device serves requests through leases ([`VirtioMmio::step`]). Legacy and
//! modern layouts, feature negotiation, reset, interrupts, indirect descriptors, event
//! index, virtio-blk and virtio-rng, and every kind of bad input the transport must
//! survive. (Plugging, unplugging and the races with them: `virtio_plug.rs`.)
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, AtomicU8, Ordering};

use fief_boards::dma::StepOutcome;
use fief_boards::virtio::blk::{blk_status, req};
use fief_boards::virtio::mmio::{isr, reg};
use fief_boards::virtio::queue::{desc_flags, QueueError};
use fief_boards::virtio::rng::{EntropySource, VirtioRng};
use fief_boards::virtio::{features, status, Transport, VirtioMmio};
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, MmioOps, RegionOffset};

mod common;
mod virtio_rig;

use common::{leak, SLOT};
use virtio_rig::{disk, tunable, Rig, AVAIL, BUF, DESC, USED};

struct Counter(AtomicU8);

impl EntropySource for Counter {
    fn fill(&self, buf: &mut [u8]) -> bool {
        for b in buf {
            *b = self.0.fetch_add(1, Ordering::SeqCst);
        }
        true
    }
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
