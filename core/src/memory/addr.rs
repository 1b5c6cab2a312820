//! Address, offset, size and priority newtypes of the memory API, so that an address in a
//! space, an offset in a region and a size can never be mixed up.

use core::fmt;

/// An address in an address space (the guest's physical address for the system bus).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct GuestAddress(pub u64);

/// An offset inside a region: where a subregion sits in its container, or which byte of a
/// region an access reaches.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct RegionOffset(pub u64);

impl GuestAddress {
    /// `self + bytes`, or `None` past the end of the 64-bit space.
    pub fn checked_add(self, bytes: u64) -> Option<GuestAddress> {
        self.0.checked_add(bytes).map(GuestAddress)
    }
}

impl fmt::Display for GuestAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#018x}", self.0)
    }
}

impl fmt::Display for RegionOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{:#x}", self.0)
    }
}

/// The size of a region, from 1 byte to the whole 64-bit space (2^64 bytes, which does not
/// fit a `u64`: QEMU uses 128-bit sizes for the same reason).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionSize(u128);

impl RegionSize {
    /// The whole 64-bit space: the usual size of a root container.
    pub const FULL: RegionSize = RegionSize(1 << 64);

    /// A size of `bytes` bytes; `None` for 0 (a region is never empty).
    pub const fn new(bytes: u64) -> Option<RegionSize> {
        if bytes == 0 {
            None
        } else {
            Some(RegionSize(bytes as u128))
        }
    }

    /// The size in bytes (up to 2^64).
    pub const fn bytes(self) -> u128 {
        self.0
    }

    /// The size as a `u64`, saturating at `u64::MAX` for [`RegionSize::FULL`].
    pub const fn saturating_u64(self) -> u64 {
        if self.0 > u64::MAX as u128 {
            u64::MAX
        } else {
            self.0 as u64
        }
    }
}

impl fmt::Display for RegionSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// The priority of a subregion among its siblings in one container. Signed, local to the
/// container (a child's priority never competes with its container's siblings); among equal
/// priorities the most recently added or moved subregion wins.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Priority(pub i32);

/// The width of one bus access.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccessSize {
    /// 1 byte.
    Byte = 1,
    /// 2 bytes.
    Half = 2,
    /// 4 bytes.
    Word = 4,
    /// 8 bytes.
    Double = 8,
}

impl AccessSize {
    /// Width in bytes.
    pub const fn bytes(self) -> u32 {
        self as u32
    }

    /// The access size of `bytes` bytes (1, 2, 4 or 8).
    pub const fn from_bytes(bytes: u32) -> Option<AccessSize> {
        match bytes {
            1 => Some(AccessSize::Byte),
            2 => Some(AccessSize::Half),
            4 => Some(AccessSize::Word),
            8 => Some(AccessSize::Double),
            _ => None,
        }
    }

    /// Mask of the value bits an access of this size carries.
    pub const fn value_mask(self) -> u64 {
        match self {
            AccessSize::Double => u64::MAX,
            other => (1u64 << (other.bytes() * 8)) - 1,
        }
    }
}
