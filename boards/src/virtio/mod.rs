//! virtio over MMIO (virtio 1.2): the transport register block at each of QEMU `virt`'s
//! eight slots ([`mmio`]), split virtqueues ([`queue`]) reached only through DMA leases
//! ([`guest`]), and the devices ([`blk`], [`rng`], [`console`], [`net`]) whose host back
//! ends are traits the embedding implements ([`blk::BlockBackend`],
//! [`rng::EntropySource`], [`console::ConsoleBackend`], [`net::NetBackend`]).
//!
//! A slot with no device answers as QEMU's empty transports do: magic `"virt"`, its
//! version, device ID 0 and QEMU's vendor ID; every other register reads 0 and ignores
//! writes, so a driver that probes all eight slots skips it.
//!
//! Requests are not served in MMIO callbacks: a `QueueNotify` marks the queue pending and
//! rings the slot's doorbell; whoever drives the device (DMA worker threads on the host,
//! [`Virt::run`](crate::virt::Virt::run) between hart slices) calls
//! [`VirtioMmio::step`], which takes one request, serves it through the device and puts
//! it on the used ring.

pub mod blk;
pub mod console;
pub mod guest;
pub mod mmio;
pub mod net;
pub mod queue;
pub mod rng;

pub use mmio::{Transport, VirtioMmio, VIRTIO_MMIO_SIZE};

use guest::GuestMem;
use queue::{Chain, QueueError};

/// `MagicValue`: `"virt"` little-endian.
pub const MAGIC: u32 = 0x7472_6976;
/// `VendorID`: QEMU's (`"QEMU"` little-endian), as QEMU answers.
pub const VENDOR_ID: u32 = 0x554d_4551;

/// Device IDs (virtio 1.2, section 5).
pub mod device_id {
    /// Network card.
    pub const NET: u32 = 1;
    /// Block device.
    pub const BLOCK: u32 = 2;
    /// Console.
    pub const CONSOLE: u32 = 3;
    /// Entropy source.
    pub const RNG: u32 = 4;
}

/// Device status bits.
pub mod status {
    /// The guest noticed the device.
    pub const ACKNOWLEDGE: u32 = 1;
    /// The guest has a driver.
    pub const DRIVER: u32 = 2;
    /// The driver is ready.
    pub const DRIVER_OK: u32 = 4;
    /// Feature negotiation is complete.
    pub const FEATURES_OK: u32 = 8;
    /// The device hit an error it cannot recover from; the driver must reset it.
    pub const DEVICE_NEEDS_RESET: u32 = 64;
    /// The driver gave up.
    pub const FAILED: u32 = 128;
}

/// Transport feature bits.
pub mod features {
    /// QEMU's legacy "notify on empty".
    pub const NOTIFY_ON_EMPTY: u64 = 1 << 24;
    /// Legacy "any layout".
    pub const ANY_LAYOUT: u64 = 1 << 27;
    /// Indirect descriptors.
    pub const INDIRECT_DESC: u64 = 1 << 28;
    /// `used_event` / `avail_event`.
    pub const EVENT_IDX: u64 = 1 << 29;
    /// virtio 1.0 or later (modern transport only).
    pub const VERSION_1: u64 = 1 << 32;
}

/// Why a request could not be served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// The guest broke the protocol: the device needs a reset.
    Queue(QueueError),
    /// Guest memory went away (unplugged, revoked) during the request; the device reports
    /// what it can to the guest (an I/O error status) and the request ends.
    Memory(fief_core::memory::DmaError),
}

impl From<QueueError> for RequestError {
    fn from(e: QueueError) -> Self {
        RequestError::Queue(e)
    }
}

/// A device model behind a virtio-mmio transport.
pub trait VirtioDevice: Sync {
    /// `DeviceID`.
    fn device_id(&self) -> u32;
    /// Device-specific feature bits offered.
    fn features(&self) -> u64;
    /// Queues the device has (at most [`mmio::MAX_QUEUES`]).
    fn queues(&self) -> usize;
    /// Reads device configuration at `offset` into `buf` (zeros past its end).
    fn read_config(&self, offset: u64, buf: &mut [u8]);
    /// A driver write to the configuration (ignored unless the device has writable fields).
    fn write_config(&self, _offset: u64, _data: &[u8]) {}
    /// The driver reset the device.
    fn reset(&self) {}
    /// Whether queue `queue` has something to serve its buffers with now (a receive queue
    /// waits for input: its buffers stay with the device until then).
    fn ready(&self, _queue: usize) -> bool {
        true
    }
    /// Called under the slot's lock with the chain just taken from queue `queue`: whether
    /// the device serves it now. `false` puts it back on the available ring, untouched (a
    /// receive queue whose input is being delivered by another worker, or went away).
    fn claim(&self, _queue: usize, _chain: &Chain) -> bool {
        true
    }
    /// The driver's accepted features changed (a `DriverFeatures` write).
    fn negotiated(&self, _driver_features: u64) {}
    /// Serves the request `chain` of queue `queue`; returns the bytes written into the
    /// chain's writable part (the used ring's `len`).
    fn serve(&self, queue: usize, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError>;
}
