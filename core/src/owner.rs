//! Devices as owners (rules L3 and L4): the ownership tree and the device lifecycle.
//!
//! Every region has exactly one owner, fixed at creation: a device, or the machine's root
//! owner for free-floating regions (system RAM, the system bus). Owners form a tree (a device
//! may own child devices). Destroying an owner — done by
//! [`TopologyGuard::destroy_owner`](crate::memory::TopologyGuard::destroy_owner) in one
//! transaction — destroys its children first, depth first, then its regions.
//!
//! Lifecycle: `Created` → `Realized` (the device is wired up and running) → `Unplugging`
//! (destroyed inside a transaction that has not committed yet: the guest still sees the old
//! view) → dead. A dead owner's slot is free again and its handle answers
//! [`Error::Stale`](crate::memory::Error::Stale).

use crate::memory::name::Name;
use crate::memory::RegionHandle;
use crate::pool::Handle;

/// Handle-kind marker for owners.
#[derive(Debug)]
pub enum OwnerKind {}

/// A handle to a device (or the root owner).
pub type OwnerHandle = Handle<OwnerKind>;

/// Where a device is in its life.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Created; its regions may be built but it is not running yet.
    Created,
    /// Realized: wired up and running.
    Realized,
    /// Destroyed in a transaction that has not committed yet.
    Unplugging,
}

/// One owner's record in the owner pool.
pub(crate) struct OwnerNode {
    pub(crate) name: Name,
    pub(crate) state: Lifecycle,
    pub(crate) parent: Option<OwnerHandle>,
    pub(crate) first_child: Option<OwnerHandle>,
    pub(crate) next_sibling: Option<OwnerHandle>,
    pub(crate) first_region: Option<RegionHandle>,
}

impl OwnerNode {
    pub(crate) fn new(name: Name, parent: Option<OwnerHandle>) -> OwnerNode {
        OwnerNode {
            name,
            state: Lifecycle::Created,
            parent,
            first_child: None,
            next_sibling: None,
            first_region: None,
        }
    }
}

/// What a query about an owner answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnerInfo {
    /// The owner's name.
    pub name: Name,
    /// Its lifecycle state.
    pub state: Lifecycle,
    /// Its parent (`None` for the root owner).
    pub parent: Option<OwnerHandle>,
}
