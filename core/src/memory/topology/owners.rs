//! Owners on the writer side: the root owner, creating, realizing and destroying owners
//! (depth first, with everything they own: rule L4), their queries, and the iterators over
//! an owner's children and regions.

use crate::memory::error::{Error, Object};
use crate::memory::name::name;
use crate::memory::region::RegionHandle;
use crate::owner::{Lifecycle, OwnerHandle, OwnerInfo, OwnerNode};

use super::{stale_owner, Topology, TopologyGuard};

impl<'a, const R: usize, const O: usize, const S: usize, const F: usize>
    TopologyGuard<'_, 'a, R, O, S, F>
{
    /// The machine's root owner, which owns free-floating regions.
    pub fn root_owner(&self) -> Result<OwnerHandle, Error> {
        self.topology.root_owner.ok_or(Error::PoolFull {
            what: Object::Owner,
        })
    }

    pub(super) fn live_owner(&self, owner: OwnerHandle) -> Result<&OwnerNode, Error> {
        let node = self.topology.owners.get(owner).map_err(stale_owner)?;
        if node.state == Lifecycle::Unplugging {
            return Err(Error::OwnerUnplugging);
        }
        Ok(node)
    }

    /// Makes a device owned by `parent` (the root owner for a top-level device).
    pub fn create_owner(&mut self, parent: OwnerHandle, label: &str) -> Result<OwnerHandle, Error> {
        self.live_owner(parent)?;
        let topo = &mut *self.topology;
        let handle = topo
            .owners
            .insert(OwnerNode::new(name(label), Some(parent)))
            .map_err(|_| Error::PoolFull {
                what: Object::Owner,
            })?;
        let parent_node = topo.owners.get_mut(parent).map_err(stale_owner)?;
        let first = parent_node.first_child.replace(handle);
        if let Ok(node) = topo.owners.get_mut(handle) {
            node.next_sibling = first;
        }
        Ok(handle)
    }

    /// Marks a device realized (wired up and running).
    pub fn realize(&mut self, owner: OwnerHandle) -> Result<(), Error> {
        self.live_owner(owner)?;
        let node = self.topology.owners.get_mut(owner).map_err(stale_owner)?;
        node.state = Lifecycle::Realized;
        Ok(())
    }

    /// An owner's name, state and parent.
    pub fn owner_info(&self, owner: OwnerHandle) -> Result<OwnerInfo, Error> {
        let node = self.topology.owners.get(owner).map_err(stale_owner)?;
        Ok(OwnerInfo {
            name: node.name.clone(),
            state: node.state,
            parent: node.parent,
        })
    }

    /// An owner's child devices, most recently created first.
    pub fn owner_children(
        &self,
        owner: OwnerHandle,
    ) -> Result<OwnerChildren<'_, 'a, R, O, S, F>, Error> {
        let node = self.topology.owners.get(owner).map_err(stale_owner)?;
        Ok(OwnerChildren {
            topology: &self.topology,
            next: node.first_child,
        })
    }

    /// The regions an owner owns, most recently created first.
    pub fn owned_regions(
        &self,
        owner: OwnerHandle,
    ) -> Result<OwnedRegions<'_, 'a, R, O, S, F>, Error> {
        let node = self.topology.owners.get(owner).map_err(stale_owner)?;
        Ok(OwnedRegions {
            topology: &self.topology,
            next: node.first_region,
        })
    }

    /// Number of live owners, the root owner included.
    pub fn owner_count(&self) -> usize {
        self.topology.owners.len()
    }

    /// Destroys `owner` and everything it owns, in one transaction (rule L4): its child
    /// devices first (depth first), then its regions — each unmapped from whatever container
    /// holds it, including containers of other owners; its containers release foreign
    /// subregions, which stay alive and unmapped. Aliases elsewhere that point at its regions
    /// render nothing from the commit on. The owner is `Unplugging` until the outermost
    /// commit, then dead (its handle stale).
    pub fn destroy_owner(&mut self, owner: OwnerHandle) -> Result<(), Error> {
        if Some(owner) == self.topology.root_owner {
            return Err(Error::RootOwner);
        }
        self.live_owner(owner)?;
        fief_debug!("memory: destroying owner {}", owner.to_raw());
        self.atomically(|g| {
            loop {
                // The deepest first descendant still standing.
                let mut victim = owner;
                while let Some(child) = g
                    .topology
                    .owners
                    .get(victim)
                    .ok()
                    .and_then(|n| n.first_child)
                {
                    victim = child;
                }
                g.tear_down_owner(victim);
                if victim == owner {
                    return Ok(());
                }
            }
        })
    }

    /// Destroys one owner's regions and unlinks it from its parent; its children are gone.
    fn tear_down_owner(&mut self, owner: OwnerHandle) {
        while let Some(region) = self
            .topology
            .owners
            .get(owner)
            .ok()
            .and_then(|n| n.first_region)
        {
            self.destroy_region_links(region);
        }
        let topo = &mut *self.topology;
        let Ok(node) = topo.owners.get_mut(owner) else {
            return;
        };
        node.state = Lifecycle::Unplugging;
        let (parent, next) = (node.parent, node.next_sibling);
        node.next_sibling = None;
        if let Some(parent) = parent {
            let mut link = topo.owners.get(parent).ok().and_then(|p| p.first_child);
            if link == Some(owner) {
                if let Ok(p) = topo.owners.get_mut(parent) {
                    p.first_child = next;
                }
            } else {
                while let Some(h) = link {
                    let sibling = topo.owners.get(h).ok().and_then(|n| n.next_sibling);
                    if sibling == Some(owner) {
                        if let Ok(n) = topo.owners.get_mut(h) {
                            n.next_sibling = next;
                        }
                        break;
                    }
                    link = sibling;
                }
            }
        }
        topo.dirty = true;
    }
}

/// Iterator over an owner's regions.
pub struct OwnedRegions<'g, 'a, const R: usize, const O: usize, const S: usize, const F: usize> {
    topology: &'g Topology<'a, R, O, S, F>,
    next: Option<RegionHandle>,
}

impl<const R: usize, const O: usize, const S: usize, const F: usize> Iterator
    for OwnedRegions<'_, '_, R, O, S, F>
{
    type Item = RegionHandle;
    fn next(&mut self) -> Option<RegionHandle> {
        let h = self.next?;
        self.next = self.topology.regions.get(h).ok().and_then(|n| n.next_owned);
        Some(h)
    }
}

/// Iterator over an owner's child devices.
pub struct OwnerChildren<'g, 'a, const R: usize, const O: usize, const S: usize, const F: usize> {
    topology: &'g Topology<'a, R, O, S, F>,
    next: Option<OwnerHandle>,
}

impl<const R: usize, const O: usize, const S: usize, const F: usize> Iterator
    for OwnerChildren<'_, '_, R, O, S, F>
{
    type Item = OwnerHandle;
    fn next(&mut self) -> Option<OwnerHandle> {
        let h = self.next?;
        self.next = self
            .topology
            .owners
            .get(h)
            .ok()
            .and_then(|n| n.next_sibling);
        Some(h)
    }
}
