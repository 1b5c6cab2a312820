//! Memory regions: what each kind is, the attributes every region has, and the links that
//! place a region in the containment tree (rule L5) and in its owner's list (rule L3).
//!
//! Containment is not ownership: a container's child list says where a subregion is mapped,
//! never that it is kept alive. The lists are intrusive (`first_child`/`next_sibling`,
//! `next_owned`) so a region costs one pool slot and nothing else.

use bitflags::bitflags;

use super::addr::{Priority, RegionOffset, RegionSize};
use super::name::Name;
use super::ops::MmioOps;
use super::ram::RamBlock;
use crate::owner::OwnerHandle;
use crate::pool::Handle;

/// Handle-kind marker for regions.
#[derive(Debug)]
pub enum RegionTag {}

/// A handle to a memory region.
pub type RegionHandle = Handle<RegionTag>;

bitflags! {
    /// Boolean attributes of a region.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct RegionFlags: u8 {
        /// Rendered at all. A disabled region and its subtree vanish without hiding what is
        /// below them.
        const ENABLED = 1 << 0;
        /// Writes refused (decode error) except debug writes.
        const READONLY = 1 << 1;
        /// ROM device in ROMD mode: reads go straight to its memory, writes to its callbacks.
        const ROMD = 1 << 2;
    }
}

/// The kinds of region.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// Guest RAM over a [`RamBlock`].
    Ram,
    /// Read-only memory over a [`RamBlock`]; writes are decode errors, debug writes go in.
    Rom,
    /// Memory read directly in ROMD mode and through callbacks otherwise; writes always go
    /// to the callbacks (flash with a command interface).
    RomDevice,
    /// Device registers served by [`MmioOps`] callbacks.
    Mmio,
    /// Holds subregions; may have its own callbacks to serve its holes.
    Container,
    /// A window onto another region: `target[offset, offset + size)`.
    Alias,
    /// Address space claimed by nobody: hides what is below it, accesses are decode errors.
    Reservation,
}

pub(crate) enum Kind<'a> {
    Ram(RamBlock<'a>),
    Rom(RamBlock<'a>),
    RomDevice(RamBlock<'a>, &'a dyn MmioOps),
    Mmio(&'a dyn MmioOps),
    Container(Option<&'a dyn MmioOps>),
    Alias {
        target: RegionHandle,
        offset: RegionOffset,
    },
    Reservation,
}

impl Kind<'_> {
    pub(crate) fn public(&self) -> RegionKind {
        match self {
            Kind::Ram(_) => RegionKind::Ram,
            Kind::Rom(_) => RegionKind::Rom,
            Kind::RomDevice(..) => RegionKind::RomDevice,
            Kind::Mmio(_) => RegionKind::Mmio,
            Kind::Container(_) => RegionKind::Container,
            Kind::Alias { .. } => RegionKind::Alias,
            Kind::Reservation => RegionKind::Reservation,
        }
    }
}

/// One region's record in the region pool.
pub(crate) struct RegionNode<'a> {
    pub(crate) name: Name,
    pub(crate) owner: OwnerHandle,
    pub(crate) kind: Kind<'a>,
    pub(crate) size: RegionSize,
    pub(crate) flags: RegionFlags,
    pub(crate) priority: Priority,
    /// Where it sits in its container (meaningless while unmapped).
    pub(crate) addr: RegionOffset,
    pub(crate) container: Option<RegionHandle>,
    pub(crate) first_child: Option<RegionHandle>,
    pub(crate) next_sibling: Option<RegionHandle>,
    pub(crate) next_owned: Option<RegionHandle>,
}

impl<'a> RegionNode<'a> {
    pub(crate) fn new(name: Name, owner: OwnerHandle, kind: Kind<'a>, size: RegionSize) -> Self {
        let mut flags = RegionFlags::ENABLED;
        if matches!(kind, Kind::RomDevice(..)) {
            flags |= RegionFlags::ROMD;
        }
        RegionNode {
            name,
            owner,
            kind,
            size,
            flags,
            priority: Priority(0),
            addr: RegionOffset(0),
            container: None,
            first_child: None,
            next_sibling: None,
            next_owned: None,
        }
    }
}

/// A snapshot of a region's attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionInfo {
    /// Its name.
    pub name: Name,
    /// What kind of region.
    pub kind: RegionKind,
    /// Its owner.
    pub owner: OwnerHandle,
    /// Its size.
    pub size: RegionSize,
    /// Enabled, read-only, ROMD.
    pub flags: RegionFlags,
    /// Its priority in its container.
    pub priority: Priority,
    /// The container it is mapped in, and where.
    pub mapped: Option<(RegionHandle, RegionOffset)>,
}
