//! virtio over MMIO (virtio 1.2, section 4.2): the transport register block at each of
//! QEMU `virt`'s eight slots ([`mmio`]), and the constants the transport and its devices
//! share (device IDs, status bits, feature bits).
//!
//! A slot with no device answers as QEMU's empty transports do: magic `"virt"`, its
//! version, device ID 0 and QEMU's vendor ID; every other register reads 0 and ignores
//! writes, so a driver that probes all eight slots skips it.

pub mod mmio;

pub use mmio::{Transport, VirtioMmio, VIRTIO_MMIO_SIZE};

/// `MagicValue`: `"virt"` little-endian.
pub const MAGIC: u32 = 0x7472_6976;
/// `VendorID`: QEMU's (`"QEMU"` little-endian), as QEMU answers.
pub const VENDOR_ID: u32 = 0x554d_4551;
