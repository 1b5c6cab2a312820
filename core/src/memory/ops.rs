//! The MMIO callback interface a device implements for its registers, and the access-size
//! rules the bus enforces before a callback runs (QEMU's `MemoryRegionOps`).
//!
//! `valid` says what the *guest* may do: an access outside it is a decode error and the
//! callback is not called. `implemented` says what the *callbacks* can do: the bus splits or
//! widens an access to fit, in the device's byte order.

use super::addr::{AccessSize, RegionOffset};
use super::tx::{MemTxAttrs, MemTxResult};

/// Byte order of a device's registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endianness {
    /// Little-endian registers: no swap on a little-endian bus.
    Little,
    /// Big-endian registers: values are byte-swapped between the bus and the callback.
    Big,
}

/// A range of access sizes and whether unaligned accesses are allowed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeRule {
    /// Smallest access in bytes (1, 2, 4 or 8).
    pub min: u8,
    /// Largest access in bytes (1, 2, 4 or 8).
    pub max: u8,
    /// Whether an access need not be aligned to its size.
    pub unaligned: bool,
}

impl SizeRule {
    /// 1 to 4 bytes, aligned: QEMU's default when a device says nothing.
    pub const DEFAULT: SizeRule = SizeRule {
        min: 1,
        max: 4,
        unaligned: false,
    };

    /// Sizes from `min` to `max` bytes, aligned.
    pub const fn aligned(min: u8, max: u8) -> SizeRule {
        SizeRule {
            min,
            max,
            unaligned: false,
        }
    }
}

/// The access rules of an MMIO region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessRules {
    /// What the guest may do.
    pub valid: SizeRule,
    /// What the callbacks implement.
    pub implemented: SizeRule,
    /// Byte order of the registers.
    pub endianness: Endianness,
}

impl AccessRules {
    /// 1 to 4 byte aligned accesses, little-endian.
    pub const DEFAULT: AccessRules = AccessRules {
        valid: SizeRule::DEFAULT,
        implemented: SizeRule::DEFAULT,
        endianness: Endianness::Little,
    };
}

/// A device's MMIO callbacks. The device keeps its own state behind interior mutability
/// (several harts may call in at once on the host), hence `&self` and `Sync`.
pub trait MmioOps: Sync {
    /// Reads `size` bytes at `offset`. The bus has already checked `valid` and `accepts`.
    fn read(&self, offset: RegionOffset, size: AccessSize, attrs: MemTxAttrs)
        -> (u64, MemTxResult);

    /// Writes the low `size` bytes of `value` at `offset`.
    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        attrs: MemTxAttrs,
    ) -> MemTxResult;

    /// The device's access rules; read once per access.
    fn rules(&self) -> AccessRules {
        AccessRules::DEFAULT
    }

    /// The requester id this device puts in the [`MemTxAttrs`] of its own bus accesses
    /// (its DMA, or accesses made from inside its callbacks). An access that carries this id
    /// and reaches this device's registers is re-entrant: it answers
    /// [`MemTxResult::ACCESS_ERROR`] without a callback (rule L9), unless
    /// [`MmioOps::allows_reentrancy`]. Ids must differ from the harts' (use `0x100` and up).
    /// `None` (the default): the device makes no bus accesses of its own.
    fn requester_id(&self) -> Option<u16> {
        None
    }

    /// Opt-out of the re-entrancy guard: the device handles nested accesses to itself.
    fn allows_reentrancy(&self) -> bool {
        false
    }

    /// Finer check than `rules().valid`: may this access happen at all? A refusal is a
    /// decode error and no callback runs.
    fn accepts(
        &self,
        offset: RegionOffset,
        size: AccessSize,
        is_write: bool,
        attrs: MemTxAttrs,
    ) -> bool {
        let _ = (offset, size, is_write, attrs);
        true
    }
}
