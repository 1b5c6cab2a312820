//! Errors of the memory API's topology side. Accesses never fail with these: they answer a
//! [`MemTxResult`](super::MemTxResult) instead (rule L9).

use core::fmt;

use super::addr::RegionSize;

/// Which kind of pooled object an error is about.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Object {
    /// A device or the root owner.
    Owner,
    /// A memory region.
    Region,
    /// An address space.
    AddressSpace,
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Object::Owner => "owner",
            Object::Region => "region",
            Object::AddressSpace => "address space",
        })
    }
}

/// Why a topology operation was refused. A refused operation changes nothing.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The handle's object was destroyed (rule L2).
    Stale {
        /// What the handle named.
        what: Object,
    },
    /// The pool for this kind of object is full (rule L1).
    PoolFull {
        /// Which pool.
        what: Object,
    },
    /// The owner is being unplugged and takes no new regions or children.
    OwnerUnplugging,
    /// The root owner lives as long as the machine.
    RootOwner,
    /// The operation needs a container.
    NotAContainer,
    /// The operation needs an alias.
    NotAnAlias,
    /// The operation needs a ROM device.
    NotARomDevice,
    /// The subregion is already mapped in a container; remove it first (rule L5).
    AlreadyMapped,
    /// The subregion is not mapped in that container.
    NotMapped,
    /// The change would make a region contain or alias itself.
    WouldCycle,
    /// A region size that is not allowed here.
    BadSize {
        /// The size asked for.
        size: RegionSize,
    },
    /// A ROM/RAM block of zero bytes, or larger than the 64-bit space.
    EmptyBlock,
    /// The address space's flat view would need more ranges than its capacity; the
    /// topology changes are kept and the old view stays published.
    ViewFull {
        /// Ranges the view can hold.
        capacity: usize,
    },
    /// Every spare copy of a flat view is pinned by a reader; the changes are kept and are
    /// published by the next commit.
    ViewsBusy,
    /// Regions nest (through containers and aliases) deeper than the renderer allows.
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// `commit` without a matching `begin`.
    NoTransaction,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Stale { what } => write!(f, "stale {what} handle: it was destroyed"),
            Error::PoolFull { what } => write!(f, "no free {what} slot: the pool is full"),
            Error::OwnerUnplugging => f.write_str("the owner is being unplugged"),
            Error::RootOwner => f.write_str("the root owner cannot be destroyed"),
            Error::NotAContainer => f.write_str("the region is not a container"),
            Error::NotAnAlias => f.write_str("the region is not an alias"),
            Error::NotARomDevice => f.write_str("the region is not a ROM device"),
            Error::AlreadyMapped => f.write_str("the region is already mapped in a container"),
            Error::NotMapped => f.write_str("the region is not mapped in that container"),
            Error::WouldCycle => f.write_str("the region would contain or alias itself"),
            Error::BadSize { size } => write!(f, "region size {size} is not allowed here"),
            Error::EmptyBlock => f.write_str("a memory block must hold 1 to 2^64-1 bytes"),
            Error::ViewFull { capacity } => {
                write!(f, "the flat view needs more than its {capacity} ranges")
            }
            Error::ViewsBusy => f.write_str("every spare flat view copy is pinned by a reader"),
            Error::TooDeep { limit } => write!(f, "regions nest deeper than {limit} levels"),
            Error::NoTransaction => f.write_str("commit without begin"),
        }
    }
}

impl core::error::Error for Error {}

/// A create call that failed hands back what it was given (like `heapless::Vec::push`).
#[derive(Debug)]
pub struct Rejected<T> {
    /// Why.
    pub error: Error,
    /// The value that was not taken.
    pub value: T,
}

#[cfg(feature = "defmt")]
impl<T> defmt::Format for Rejected<T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Rejected({})", self.error)
    }
}

impl<T> fmt::Display for Rejected<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}
