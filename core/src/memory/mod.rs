//! The memory API: regions, owners' regions, transactions, flat views, address spaces and
//! accesses — QEMU's memory API rebuilt on pools and generational handles.
//!
//! * [`region`]: the kinds of region and their attributes; [`ram`]: the memory behind RAM
//!   and ROM; [`ops`]: MMIO callbacks and access rules.
//! * [`topology`]: the [`Memory`] value and [`TopologyGuard`], where every change happens
//!   inside transactions (rules L3–L6).
//! * [`render`] and [`flatview`]: what a commit produces.
//! * [`access`]: reads and writes against a pinned flat view (rules L7, L9).

pub mod access;
pub mod addr;
pub mod dma;
pub mod error;
pub mod flatview;
pub mod name;
pub mod ops;
pub mod ram;
pub mod region;
pub mod render;
pub mod topology;
pub mod tx;

pub use access::{AddressSpace, CachedSection, ReadSection, CACHED_PAGE};
pub use addr::{AccessSize, GuestAddress, Priority, RegionOffset, RegionSize};
pub use dma::{DmaDirection, DmaError, Lease, LeaseHandle, LeaseTable};
pub use error::{Error, Object, Rejected};
pub use flatview::{FlatRange, FlatView, Section};
pub use name::Name;
pub use ops::{AccessRules, Endianness, MmioOps, SizeRule};
pub use ram::RamBlock;
pub use region::{RegionFlags, RegionHandle, RegionInfo, RegionKind};
pub use topology::{Memory, SpaceId, TopologyGuard, VIEW_COPIES};
pub use tx::{MemTxAttrs, MemTxFlags, MemTxResult};
