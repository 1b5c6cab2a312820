//! virtio-net (virtio 1.2, section 5.1): queue 0 receives, queue 1 transmits, over a
//! [`NetBackend`] (a UDP socket on `fief`, QEMU's `-netdev socket,udp=` / `dgram`). No
//! control queue, no offloads, no mergeable receive buffers.
//!
//! * **Features**: `VIRTIO_NET_F_MAC` (the configuration's `mac`) and
//!   `VIRTIO_NET_F_STATUS` (`status`: link up). QEMU 7.2's `virtio-net-device` over a
//!   socket back end (no vnet header on the peer) offers these too, plus the control
//!   queue's bits, `GUEST_ANNOUNCE` and `MRG_RXBUF`, which a driver may go without.
//! * **The header**: every buffer starts with a `virtio_net_hdr`, 10 bytes in the legacy
//!   layout without `MRG_RXBUF`, 12 bytes (with `num_buffers`) once `VIRTIO_F_VERSION_1`
//!   is negotiated. Transmit skips it (no offload is offered, so its fields mean nothing);
//!   receive writes zeros (and `num_buffers` 1).
//! * **Receive**: a frame waits in the back end until the driver has posted a buffer (as
//!   QEMU's queue holds it while `can_receive` is false); the back end bounds how many
//!   wait. A frame larger than the buffer it would go into is dropped and the buffer
//!   stays posted, as QEMU does without mergeable buffers. Frames are delivered one at a
//!   time, in arrival order ([`VirtioDevice::claim`] holds the queue while one is
//!   written).
//! * **Transmit**: a chain shorter than the header is a protocol error (the device waits
//!   for a reset, as QEMU's `virtio_error`); a frame longer than [`MAX_FRAME`] is dropped;
//!   everything else goes to the back end as one frame.

use fief_core::atomic::{AtomicBool, AtomicU32, Ordering};
use fief_core::lock::Mutex;

use super::guest::GuestMem;
use super::queue::{Chain, QueueError};
use super::{device_id, features, RequestError, VirtioDevice};

/// Feature bits.
pub mod feature {
    /// The configuration has the card's MAC address.
    pub const MAC: u64 = 1 << 5;
    /// Mergeable receive buffers (not offered).
    pub const MRG_RXBUF: u64 = 1 << 15;
    /// The configuration has the link status.
    pub const STATUS: u64 = 1 << 16;
    /// A control queue (not offered).
    pub const CTRL_VQ: u64 = 1 << 17;
}

/// `status`: the link is up.
pub const LINK_UP: u16 = 1;
/// The receive queue.
pub const RX: usize = 0;
/// The transmit queue.
pub const TX: usize = 1;
/// The legacy header's size (no `MRG_RXBUF`).
pub const HDR_LEGACY: u32 = 10;
/// The header's size with `VIRTIO_F_VERSION_1` (or `MRG_RXBUF`).
pub const HDR_MODERN: u32 = 12;
/// The largest frame sent or received (a UDP datagram's payload on loopback; QEMU's
/// `NET_BUFSIZE` is 68 KiB).
pub const MAX_FRAME: usize = 65507;

/// Where frames go and come from.
pub trait NetBackend: Sync {
    /// Sends one frame; `false` if it was dropped.
    fn send(&self, frame: &[u8]) -> bool;
    /// The length of the next received frame, if one waits.
    fn peek(&self) -> Option<usize>;
    /// Takes the next received frame into `buf` (at least [`NetBackend::peek`]'s length);
    /// returns its length.
    fn recv(&self, buf: &mut [u8]) -> Option<usize>;
    /// Drops the next received frame (it did not fit the driver's buffer).
    fn drop_next(&self);
}

/// What a card is bound to: set by [`VirtioNet::new`], changed only by
/// [`VirtioNet::power_on`].
#[derive(Clone, Copy)]
struct Binding<'a> {
    backend: &'a dyn NetBackend,
    mac: [u8; 6],
}

/// The network card (see the [module docs](self)).
pub struct VirtioNet<'a> {
    binding: Mutex<Binding<'a>>,
    /// The header's size, from the negotiated features (set when the device is told).
    modern: AtomicBool,
    /// A frame is being written into a receive buffer.
    rx_busy: AtomicBool,
    /// Frames dropped (too large for the buffer, or for the back end).
    dropped: AtomicU32,
}

impl<'a> VirtioNet<'a> {
    /// A card with address `mac` over `backend`.
    pub const fn new(backend: &'a dyn NetBackend, mac: [u8; 6]) -> VirtioNet<'a> {
        VirtioNet {
            binding: Mutex::new(Binding { backend, mac }),
            modern: AtomicBool::new(false),
            rx_busy: AtomicBool::new(false),
            dropped: AtomicU32::new(0),
        }
    }

    /// Back to the state [`VirtioNet::new`]`(backend, mac)` makes, for a card reused by a
    /// new device (a hot-plug host keeps unplugged models for the next plug): bound to
    /// `backend` with address `mac`, the negotiated header and a frame being received
    /// forgotten (as by a driver reset), no frame dropped. Only for a card no transport
    /// serves any more (its unplug is complete): a request in service meanwhile would see
    /// either life's back end.
    pub fn power_on(&self, backend: &'a dyn NetBackend, mac: [u8; 6]) {
        *self.binding.lock() = Binding { backend, mac };
        self.reset();
        self.dropped.store(0, Ordering::Relaxed);
    }

    /// The card's MAC address.
    pub fn mac(&self) -> [u8; 6] {
        self.binding.lock().mac
    }

    fn backend(&self) -> &'a dyn NetBackend {
        self.binding.lock().backend
    }

    /// Frames dropped so far.
    pub fn dropped(&self) -> u32 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn hdr_len(&self) -> u32 {
        if self.modern.load(Ordering::SeqCst) {
            HDR_MODERN
        } else {
            HDR_LEGACY
        }
    }

    fn receive(&self, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError> {
        let hdr = self.hdr_len();
        if chain.writable < hdr {
            return Err(QueueError::Malformed(
                "virtio-net receive buffer without room for its header",
            )
            .into());
        }
        let mut frame = [0u8; MAX_FRAME];
        let Some(n) = self.backend().recv(&mut frame) else {
            // Nothing after all (claimed, then reset): an empty buffer back.
            return Ok(0);
        };
        let n = n.min(MAX_FRAME);
        let mut h = [0u8; HDR_MODERN as usize];
        if hdr == HDR_MODERN {
            h[10..12].copy_from_slice(&1u16.to_le_bytes()); // num_buffers
        }
        chain
            .write(mem, 0, &h[..hdr as usize])
            .map_err(RequestError::Memory)?;
        let room = (chain.writable - hdr) as usize;
        let n = n.min(room);
        chain
            .write(mem, hdr, &frame[..n])
            .map_err(RequestError::Memory)?;
        Ok(hdr + n as u32)
    }

    fn transmit(&self, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError> {
        let hdr = self.hdr_len();
        if chain.readable < hdr {
            return Err(QueueError::Malformed("virtio-net transmit without its header").into());
        }
        let len = (chain.readable - hdr) as usize;
        if len == 0 || len > MAX_FRAME {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(0);
        }
        let mut frame = [0u8; MAX_FRAME];
        chain
            .read(mem, hdr, &mut frame[..len])
            .map_err(RequestError::Memory)?;
        if !self.backend().send(&frame[..len]) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        Ok(0)
    }
}

impl VirtioDevice for VirtioNet<'_> {
    fn device_id(&self) -> u32 {
        device_id::NET
    }

    fn features(&self) -> u64 {
        feature::MAC | feature::STATUS
    }

    fn queues(&self) -> usize {
        2
    }

    fn read_config(&self, offset: u64, buf: &mut [u8]) {
        // struct virtio_net_config: mac, status (max_virtqueue_pairs, mtu: not offered).
        let mut config = [0u8; 8];
        config[..6].copy_from_slice(&self.mac());
        config[6..8].copy_from_slice(&LINK_UP.to_le_bytes());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|at| config.get(at).copied())
                .unwrap_or(0);
        }
    }

    fn reset(&self) {
        self.modern.store(false, Ordering::SeqCst);
        self.rx_busy.store(false, Ordering::SeqCst);
    }

    fn negotiated(&self, driver_features: u64) {
        self.modern.store(
            driver_features & (features::VERSION_1 | feature::MRG_RXBUF) != 0,
            Ordering::SeqCst,
        );
    }

    fn ready(&self, queue: usize) -> bool {
        queue != RX || (!self.rx_busy.load(Ordering::SeqCst) && self.backend().peek().is_some())
    }

    fn claim(&self, queue: usize, chain: &Chain) -> bool {
        if queue != RX {
            return true;
        }
        if self.rx_busy.load(Ordering::SeqCst) {
            return false;
        }
        let room = chain.writable.saturating_sub(self.hdr_len()) as usize;
        loop {
            match self.backend().peek() {
                None => return false,
                // Without mergeable buffers a frame must fit one buffer: QEMU drops it
                // and leaves the buffer posted. (A buffer without room for the header is
                // the driver's error: `receive` reports it.)
                Some(n) if n > room && chain.writable >= self.hdr_len() => {
                    self.backend().drop_next();
                    self.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Some(_) => {
                    self.rx_busy.store(true, Ordering::SeqCst);
                    return true;
                }
            }
        }
    }

    fn serve(&self, queue: usize, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError> {
        if queue == RX {
            let r = self.receive(chain, mem);
            self.rx_busy.store(false, Ordering::SeqCst);
            r
        } else {
            self.transmit(chain, mem)
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::virtio::queue::Chain;
    use heapless::Deque;

    /// A back end whose waiting frames are only lengths (their bytes are zeros).
    struct Wire(Mutex<Deque<usize, 4>>);

    impl Wire {
        const fn new() -> Wire {
            Wire(Mutex::new(Deque::new()))
        }
        fn arrive(&self, len: usize) {
            self.0.lock().push_back(len).unwrap();
        }
    }

    impl NetBackend for Wire {
        fn send(&self, _frame: &[u8]) -> bool {
            true
        }
        fn peek(&self) -> Option<usize> {
            self.0.lock().front().copied()
        }
        fn recv(&self, buf: &mut [u8]) -> Option<usize> {
            let n = self.0.lock().pop_front()?.min(buf.len());
            buf[..n].fill(0);
            Some(n)
        }
        fn drop_next(&self) {
            self.0.lock().pop_front();
        }
    }

    const OLD_MAC: [u8; 6] = [0x52, 0x54, 0, 0x12, 0x34, 0x56];
    const NEW_MAC: [u8; 6] = [0x52, 0x54, 0, 0xab, 0xcd, 0xef];

    /// What a host and a driver can tell of `card` over `wire`: its configuration, its
    /// features, its address, the frames dropped so far; then, with a 30-byte frame
    /// arrived, whether the receive queue is ready and whether a buffer of the legacy
    /// header plus 30 bytes is taken for it (it is not with the modern header: the frame
    /// no longer fits and is dropped), and the frames dropped after that.
    fn looks(card: &VirtioNet<'_>, wire: &Wire) -> ([u8; 8], u64, [u8; 6], u32, bool, bool, u32) {
        let mut config = [0u8; 8];
        card.read_config(0, &mut config);
        let dropped = card.dropped();
        wire.arrive(30);
        let ready = card.ready(RX);
        let taken = card.claim(RX, &Chain::sized(0, HDR_LEGACY + 30));
        (
            config,
            card.features(),
            card.mac(),
            dropped,
            ready,
            taken,
            card.dropped(),
        )
    }

    /// A card reused for a new device (`fief`'s hot-plug keeps unplugged models) must carry
    /// nothing from its previous life: after `power_on` it looks like a card just made over
    /// the new back end with the new address. The previous life here negotiated the modern
    /// header, dropped a frame and was receiving one; each of those, and the old back end
    /// and address, would show if `power_on` kept it.
    #[test]
    fn power_on_leaves_nothing_of_the_previous_life() {
        static OLD: Wire = Wire::new();
        static NEW: Wire = Wire::new();
        static FRESH: Wire = Wire::new();
        let card = VirtioNet::new(&OLD, OLD_MAC);
        card.negotiated(features::VERSION_1);
        OLD.arrive(100);
        assert!(!card.claim(RX, &Chain::sized(0, HDR_MODERN + 50)));
        assert_eq!(card.dropped(), 1, "too large: dropped");
        OLD.arrive(20);
        assert!(card.claim(RX, &Chain::sized(0, 100)), "being received");
        // The old life's frame taken by its receive in flight when it was unplugged.
        assert_eq!(OLD.recv(&mut [0u8; 20]), Some(20));
        card.power_on(&NEW, NEW_MAC);
        let reused = looks(&card, &NEW);
        let fresh = looks(&VirtioNet::new(&FRESH, NEW_MAC), &FRESH);
        assert_eq!(reused, fresh);
        assert_eq!(fresh.2, NEW_MAC);
        assert!(fresh.4 && fresh.5, "a new card takes the frame: {fresh:?}");
    }
}
