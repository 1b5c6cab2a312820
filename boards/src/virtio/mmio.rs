//! The virtio-mmio transport register block (virtio 1.2, section 4.2.2 and the legacy
//! layout of 4.2.4) of one slot: what the guest reads and writes at `0x000..0x100`.
//!
//! A slot has a [`Transport`] version, fixed when the board is built: `Legacy` (version 1,
//! QEMU 7.2's default for virtio-mmio) or `Modern` (version 2, QEMU's
//! `-global virtio-mmio.force-legacy=false`). Registers are 32-bit; as on QEMU any access of
//! 1, 2 or 4 aligned bytes is taken.
//!
//! With no device in the slot it answers as QEMU's empty transport, whatever the access
//! size: `MagicValue`, `Version` and `VendorID` (a narrower read gets their low bytes),
//! everything else reads 0 (device ID 0: no driver claims it) and writes are ignored.

use fief_core::atomic::{AtomicU8, Ordering};
use fief_core::irq::IrqLine;
use fief_core::memory::{AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset};

use super::{MAGIC, VENDOR_ID};

/// Size of one slot's window in the memory map (QEMU's device tree says `0x1000`; its
/// region is `0x200` bytes: registers and 256 bytes of device configuration).
pub const VIRTIO_MMIO_SIZE: u64 = 0x1000;

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
}

/// Which register layout a slot speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Transport {
    /// Version 1: `GuestPageSize`, `QueuePFN`, `QueueAlign` (QEMU 7.2's default).
    Legacy = 1,
    /// Version 2: split queue addresses, `QueueReady`, 64-bit features.
    Modern = 2,
}

/// One virtio-mmio slot (see the [module docs](self)).
pub struct VirtioMmio<'a> {
    version: AtomicU8,
    /// The interrupt output (PLIC source 1 to 8 on `virt32`).
    pub irq: IrqLine<'a>,
}

impl Default for VirtioMmio<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> VirtioMmio<'a> {
    /// An empty legacy slot.
    pub const fn new() -> VirtioMmio<'a> {
        VirtioMmio {
            version: AtomicU8::new(Transport::Legacy as u8),
            irq: IrqLine::new(),
        }
    }

    /// Selects the register layout (before the guest runs).
    pub fn set_transport(&self, transport: Transport) {
        self.version.store(transport as u8, Ordering::SeqCst);
    }

    /// The register layout.
    pub fn transport(&self) -> Transport {
        match self.version.load(Ordering::SeqCst) {
            2 => Transport::Modern,
            _ => Transport::Legacy,
        }
    }
}

fn size_mask(size: AccessSize) -> u64 {
    match size {
        AccessSize::Byte => 0xff,
        AccessSize::Half => 0xffff,
        AccessSize::Word => 0xffff_ffff,
        AccessSize::Double => u64::MAX,
    }
}

impl MmioOps for VirtioMmio<'_> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        // An empty slot answers before any size check, as QEMU's: a byte read of
        // `MagicValue` gets its low byte.
        let v = match offset.0 {
            reg::MAGIC => MAGIC,
            reg::VERSION => self.transport() as u32,
            reg::VENDOR_ID => VENDOR_ID,
            _ => 0,
        };
        (v as u64 & size_mask(size), MemTxResult::OK)
    }

    fn write(&self, _: RegionOffset, _: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        AccessRules::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rd(v: &VirtioMmio<'_>, off: u64, size: AccessSize) -> u64 {
        v.read(RegionOffset(off), size, MemTxAttrs::UNSPECIFIED).0
    }

    #[test]
    fn an_empty_slot_answers_as_qemus() {
        let v = VirtioMmio::new();
        assert_eq!(rd(&v, reg::MAGIC, AccessSize::Word), 0x7472_6976);
        assert_eq!(rd(&v, reg::VERSION, AccessSize::Word), 1);
        assert_eq!(rd(&v, reg::DEVICE_ID, AccessSize::Word), 0);
        assert_eq!(rd(&v, reg::VENDOR_ID, AccessSize::Word), 0x554d_4551);
        // Anything else reads 0; writes change nothing.
        for off in (0x10..0x200).step_by(4) {
            let _ = v.write(
                RegionOffset(off),
                0xffff_ffff,
                AccessSize::Word,
                MemTxAttrs::UNSPECIFIED,
            );
            assert_eq!(rd(&v, off, AccessSize::Word), 0, "{off:#x}");
        }
        // As on QEMU, an empty slot answers a byte read of the magic with its low byte.
        assert_eq!(rd(&v, reg::MAGIC, AccessSize::Byte), 0x76);
        assert_eq!(rd(&v, reg::MAGIC + 1, AccessSize::Byte), 0);
        v.set_transport(Transport::Modern);
        assert_eq!(rd(&v, reg::VERSION, AccessSize::Word), 2);
        assert_eq!(rd(&v, reg::MAGIC, AccessSize::Word), 0x7472_6976);
    }
}
