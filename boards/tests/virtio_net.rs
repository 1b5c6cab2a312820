//! virtio-net behind the virtio-mmio transport, against a guest memory and a back end in
//! the test: a little two-queue driver writes the slot's registers through the bus and the
//! rings into RAM. The header of each layout (10 bytes legacy, 12 modern), frames both
//! ways, a frame waiting for a buffer, one too large for its buffer, frames kept in order,
//! and a driver's bad transmit chains.
#![allow(clippy::unwrap_used)]

use std::collections::VecDeque;
use std::sync::Mutex;

use fief_boards::dma::StepOutcome;
use fief_boards::virtio::mmio::reg;
use fief_boards::virtio::net::{feature, NetBackend, VirtioNet, MAX_FRAME, RX, TX};
use fief_boards::virtio::queue::{desc_flags, QueueError};
use fief_boards::virtio::{features, status, Transport};
use fief_core::memory::AccessSize;

mod common;

use common::{leak, SlotBoard, RAM};

/// Queue q's table at `QUEUES + 0x4000 * q` (legacy: avail after it, used a page later).
const QUEUES: u64 = RAM + 0x1_0000;
const BUF: u64 = RAM + 0x2_0000;
const NUM: u16 = 8;

#[derive(Default)]
struct Wire {
    incoming: Mutex<VecDeque<Vec<u8>>>,
    sent: Mutex<Vec<Vec<u8>>>,
}

impl NetBackend for Wire {
    fn send(&self, frame: &[u8]) -> bool {
        self.sent.lock().unwrap().push(frame.to_vec());
        true
    }
    fn peek(&self) -> Option<usize> {
        self.incoming.lock().unwrap().front().map(Vec::len)
    }
    fn recv(&self, buf: &mut [u8]) -> Option<usize> {
        let f = self.incoming.lock().unwrap().pop_front()?;
        buf[..f.len()].copy_from_slice(&f);
        Some(f.len())
    }
    fn drop_next(&self) {
        self.incoming.lock().unwrap().pop_front();
    }
}

struct Rig {
    board: SlotBoard,
    wire: &'static Wire,
    net: &'static VirtioNet<'static>,
    avail_idx: [u16; 2],
    legacy: bool,
}

impl std::ops::Deref for Rig {
    type Target = SlotBoard;

    fn deref(&self) -> &SlotBoard {
        &self.board
    }
}

impl Rig {
    fn new(transport: Transport) -> Rig {
        let wire: &'static Wire = leak(Wire::default());
        let net: &'static VirtioNet<'static> =
            leak(VirtioNet::new(wire, [0x52, 0x54, 0, 0x12, 0x34, 0x56]));
        Rig {
            board: SlotBoard::new(transport, Some(net)),
            wire,
            net,
            avail_idx: [0; 2],
            legacy: transport == Transport::Legacy,
        }
    }

    fn config_byte(&self, off: u64) -> u8 {
        self.read(reg::CONFIG + off, AccessSize::Byte) as u8
    }

    fn desc_table(q: usize) -> u64 {
        QUEUES + 0x4000 * q as u64
    }
    fn avail(q: usize) -> u64 {
        Self::desc_table(q) + 16 * NUM as u64
    }
    fn used(q: usize) -> u64 {
        Self::desc_table(q) + 0x1000
    }

    /// The driver's init: accepts `accept`, sets up both queues, DRIVER_OK.
    fn init(&mut self, accept: u64) {
        self.w(reg::STATUS, 0);
        self.w(reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        self.w(reg::DRIVER_FEATURES_SEL, 0);
        self.w(reg::DRIVER_FEATURES, accept as u32);
        self.w(reg::DRIVER_FEATURES_SEL, 1);
        self.w(reg::DRIVER_FEATURES, (accept >> 32) as u32);
        if self.legacy {
            self.w(reg::GUEST_PAGE_SIZE, 4096);
        } else {
            self.w(
                reg::STATUS,
                status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
            );
        }
        for q in 0..2 {
            self.w(reg::QUEUE_SEL, q as u32);
            self.w(reg::QUEUE_NUM, NUM as u32);
            let table = Self::desc_table(q);
            if self.legacy {
                self.w(reg::QUEUE_ALIGN, 4096);
                self.w(reg::QUEUE_PFN, (table >> 12) as u32);
            } else {
                self.w(reg::QUEUE_DESC_LOW, table as u32);
                self.w(reg::QUEUE_DRIVER_LOW, Self::avail(q) as u32);
                self.w(reg::QUEUE_DEVICE_LOW, Self::used(q) as u32);
                self.w(reg::QUEUE_READY, 1);
            }
        }
        self.w(
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
        );
        self.avail_idx = [0; 2];
    }

    fn desc(&self, q: usize, i: u16, addr: u64, len: u32, flags: u16, next: u16) {
        let mut d = [0u8; 16];
        d[..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&len.to_le_bytes());
        d[12..14].copy_from_slice(&flags.to_le_bytes());
        d[14..].copy_from_slice(&next.to_le_bytes());
        self.poke(Self::desc_table(q) + 16 * i as u64, &d);
    }

    fn offer(&mut self, q: usize, head: u16) {
        let ring = Self::avail(q) + 4 + 2 * (self.avail_idx[q] % NUM) as u64;
        self.poke(ring, &head.to_le_bytes());
        self.avail_idx[q] = self.avail_idx[q].wrapping_add(1);
        self.poke(Self::avail(q) + 2, &self.avail_idx[q].to_le_bytes());
        self.w(reg::QUEUE_NOTIFY, q as u32);
    }

    /// Posts receive buffer `i` (`len` bytes at `rx_buf(i)`).
    fn post_rx(&mut self, i: u16, len: u32) {
        self.desc(RX, i, Self::rx_buf(i), len, desc_flags::WRITE, 0);
        self.offer(RX, i);
    }

    fn rx_buf(i: u16) -> u64 {
        BUF + 0x1_0000 * i as u64
    }

    /// Sends `frame` after a `hdr`-byte header, in two descriptors.
    fn send(&mut self, i: u16, hdr: u32, frame: &[u8]) {
        let at = BUF + 0x8_0000 + 0x1_0000 * i as u64;
        self.poke(at, &vec![0u8; hdr as usize]);
        self.poke(at + 0x100, frame);
        self.desc(TX, 2 * i, at, hdr, desc_flags::NEXT, 2 * i + 1);
        self.desc(TX, 2 * i + 1, at + 0x100, frame.len() as u32, 0, 0);
        self.offer(TX, 2 * i);
    }

    fn step(&self, q: usize) -> StepOutcome {
        self.slot.step(&self.bus(), q)
    }

    /// Steps queue `q` until it is idle.
    fn drain(&self, q: usize) {
        for _ in 0..64 {
            if self.step(q) == StepOutcome::Idle {
                return;
            }
        }
        panic!("queue {q} never went idle");
    }

    fn used_idx(&self, q: usize) -> u16 {
        u16::from_le_bytes(self.peek(Self::used(q) + 2, 2).try_into().unwrap())
    }

    fn used_elem(&self, q: usize, i: u16) -> (u32, u32) {
        let e = self.peek(Self::used(q) + 4 + 8 * (i % NUM) as u64, 8);
        (
            u32::from_le_bytes(e[..4].try_into().unwrap()),
            u32::from_le_bytes(e[4..].try_into().unwrap()),
        )
    }

    fn arrive(&self, frame: Vec<u8>) {
        self.wire.incoming.lock().unwrap().push_back(frame);
        self.slot.kick(RX);
    }
}

fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn frames_cross_both_ways_with_each_layouts_header() {
    for (transport, hdr) in [(Transport::Legacy, 10u32), (Transport::Modern, 12)] {
        let mut rig = Rig::new(transport);
        assert_eq!(rig.r(reg::DEVICE_ID), 1);
        let offered = rig.r(reg::DEVICE_FEATURES) as u64;
        assert_eq!(
            offered & (feature::MAC | feature::STATUS),
            feature::MAC | feature::STATUS
        );
        assert_eq!(offered & (feature::MRG_RXBUF | feature::CTRL_VQ), 0);
        let mac: Vec<u8> = (0..6).map(|i| rig.config_byte(i)).collect();
        assert_eq!(mac, [0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(rig.config_byte(6), 1, "link up");
        let mut accept = feature::MAC | feature::STATUS;
        if transport == Transport::Modern {
            accept |= features::VERSION_1;
        }
        rig.init(accept);
        rig.post_rx(0, 2048);
        rig.post_rx(1, 2048);
        assert_eq!(
            rig.step(RX),
            StepOutcome::Idle,
            "no frame yet: buffers wait"
        );
        assert_eq!(rig.used_idx(RX), 0);
        let (a, b) = (frame(60, 1), frame(1514, 2));
        rig.arrive(a.clone());
        rig.arrive(b.clone());
        rig.drain(RX);
        assert_eq!(rig.used_idx(RX), 2, "{transport:?}");
        for (i, f) in [(0u16, &a), (1, &b)] {
            assert_eq!(rig.used_elem(RX, i), (i as u32, hdr + f.len() as u32));
            let got = rig.peek(Rig::rx_buf(i), (hdr as usize) + f.len());
            let mut want_hdr = vec![0u8; hdr as usize];
            if hdr == 12 {
                want_hdr[10] = 1; // num_buffers
            }
            assert_eq!(&got[..hdr as usize], &want_hdr[..], "{transport:?} header");
            assert_eq!(&got[hdr as usize..], &f[..], "{transport:?} frame {i}");
        }
        // Transmit: the header is skipped, the frame goes out whole.
        let c = frame(342, 3);
        rig.send(0, hdr, &c);
        rig.drain(TX);
        assert_eq!(rig.used_idx(TX), 1);
        assert_eq!(rig.used_elem(TX, 0), (0, 0));
        assert_eq!(rig.wire.sent.lock().unwrap().as_slice(), &[c]);
        assert!(!rig.slot.is_broken());
    }
}

#[test]
fn a_frame_waits_for_a_buffer_and_one_too_large_for_it_is_dropped() {
    let mut rig = Rig::new(Transport::Legacy);
    rig.init(feature::MAC);
    // No buffer posted: the frame waits (as QEMU holds it while it cannot receive).
    rig.arrive(frame(100, 7));
    rig.drain(RX);
    assert_eq!(rig.wire.incoming.lock().unwrap().len(), 1);
    // A buffer too small for it: the frame is dropped, the buffer stays posted.
    rig.post_rx(0, 10 + 64);
    rig.drain(RX);
    assert_eq!(rig.used_idx(RX), 0);
    assert!(rig.wire.incoming.lock().unwrap().is_empty());
    assert_eq!(rig.net.dropped(), 1);
    // The next frame that fits takes that buffer.
    let small = frame(64, 9);
    rig.arrive(small.clone());
    rig.drain(RX);
    assert_eq!(rig.used_idx(RX), 1);
    assert_eq!(rig.used_elem(RX, 0), (0, 74));
    assert_eq!(rig.peek(Rig::rx_buf(0) + 10, 64), small);
    // Frames that arrived before DRIVER_OK go out once the driver is ready, in order.
    rig.w(reg::STATUS, 0);
    let early: Vec<Vec<u8>> = (0..5).map(|i| frame(70 + i, i as u8)).collect();
    for f in &early {
        rig.wire.incoming.lock().unwrap().push_back(f.clone());
    }
    rig.init(feature::MAC);
    for i in 0..5 {
        rig.post_rx(i, 256);
    }
    rig.drain(RX);
    assert_eq!(rig.used_idx(RX), 5);
    for (i, f) in early.iter().enumerate() {
        let i = i as u16;
        assert_eq!(rig.used_elem(RX, i), (i as u32, 10 + f.len() as u32));
        assert_eq!(
            &rig.peek(Rig::rx_buf(i) + 10, f.len()),
            f,
            "frame {i} in order"
        );
    }
    assert!(!rig.slot.is_broken());
}

#[test]
fn a_receive_buffer_posted_before_driver_ok_takes_a_waiting_frame_at_driver_ok() {
    let mut rig = Rig::new(Transport::Modern);
    rig.init(feature::MAC | features::VERSION_1);
    rig.w(
        reg::STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
    );
    rig.wire.incoming.lock().unwrap().push_back(frame(80, 4));
    rig.post_rx(0, 256);
    rig.drain(RX);
    assert_eq!(rig.used_idx(RX), 0, "not before DRIVER_OK");
    assert_eq!(rig.slot.pending() & 1, 0);
    rig.w(
        reg::STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
    );
    assert_ne!(
        rig.slot.pending() & 1,
        0,
        "DRIVER_OK kicks the receive queue"
    );
    rig.drain(RX);
    assert_eq!(rig.used_idx(RX), 1);
}

#[test]
fn bad_transmit_chains_break_the_device_or_are_dropped_never_panic() {
    // A transmit shorter than its header: the device waits for a reset.
    let mut rig = Rig::new(Transport::Modern);
    rig.init(feature::MAC | features::VERSION_1);
    rig.desc(TX, 0, BUF, 4, 0, 0);
    rig.offer(TX, 0);
    rig.drain(TX);
    assert!(rig.slot.is_broken());
    assert!(matches!(
        rig.slot.take_error().unwrap().error,
        QueueError::Malformed(_)
    ));
    assert!(rig.wire.sent.lock().unwrap().is_empty());
    // A header and no frame: dropped, the chain completes.
    rig.init(feature::MAC | features::VERSION_1);
    rig.desc(TX, 0, BUF, 12, 0, 0);
    rig.offer(TX, 0);
    rig.drain(TX);
    assert!(!rig.slot.is_broken());
    assert_eq!(rig.used_idx(TX), 1);
    // A frame larger than any datagram: dropped, the chain completes.
    rig.desc(TX, 1, BUF, 12, desc_flags::NEXT, 2);
    rig.desc(TX, 2, BUF, MAX_FRAME as u32 + 1, 0, 0);
    rig.offer(TX, 1);
    rig.drain(TX);
    assert_eq!(rig.used_idx(TX), 2);
    assert!(rig.wire.sent.lock().unwrap().is_empty());
    assert_eq!(rig.net.dropped(), 2);
    // A zero-length buffer: the transport's error.
    rig.desc(TX, 3, BUF, 0, 0, 0);
    rig.offer(TX, 3);
    rig.drain(TX);
    assert_eq!(rig.slot.take_error().unwrap().error, QueueError::ZeroLength);
    // A receive buffer without room for the header: broken once a frame comes.
    let mut rig = Rig::new(Transport::Legacy);
    rig.init(feature::MAC);
    rig.desc(RX, 0, BUF, 4, desc_flags::WRITE, 0);
    rig.offer(RX, 0);
    rig.arrive(frame(60, 0));
    rig.drain(RX);
    assert!(rig.slot.is_broken());
}
