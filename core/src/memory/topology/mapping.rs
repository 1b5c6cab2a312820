//! Mapping on the writer side: adding and removing subregions and changing a mapped
//! region's attributes (enabled, read-only, ROMD, address, priority, alias target), with
//! the child-list links in QEMU's priority order and the cycle check.

use crate::memory::addr::{Priority, RegionOffset};
use crate::memory::error::Error;
use crate::memory::region::{Kind, RegionFlags, RegionHandle, RegionNode, RegionTag};
use crate::memory::render::MAX_DEPTH;
use crate::pool::Pool;

use super::{stale_region, TopologyGuard};

impl<'a, const R: usize, const O: usize, const S: usize, const F: usize>
    TopologyGuard<'_, 'a, R, O, S, F>
{
    /// Maps `sub` into `container` at `offset` with `priority`. Among equal priorities the
    /// most recently added wins.
    pub fn add_subregion(
        &mut self,
        container: RegionHandle,
        offset: RegionOffset,
        sub: RegionHandle,
        priority: Priority,
    ) -> Result<(), Error> {
        let c = self.topology.regions.get(container).map_err(stale_region)?;
        if !matches!(c.kind, Kind::Container(_)) {
            return Err(Error::NotAContainer);
        }
        let s = self.topology.regions.get(sub).map_err(stale_region)?;
        if s.container.is_some() {
            return Err(Error::AlreadyMapped);
        }
        if sub == container || reaches(&self.topology.regions, sub, container, 0)? {
            return Err(Error::WouldCycle);
        }
        self.atomically(|g| {
            let topo = &mut *g.topology;
            if let Ok(s) = topo.regions.get_mut(sub) {
                s.addr = offset;
                s.priority = priority;
            }
            link_child(&mut topo.regions, container, sub);
            topo.dirty = true;
            Ok(())
        })
    }

    /// Unmaps `sub` from `container`. The region stays alive and can be mapped again.
    pub fn remove_subregion(
        &mut self,
        container: RegionHandle,
        sub: RegionHandle,
    ) -> Result<(), Error> {
        self.topology.regions.get(container).map_err(stale_region)?;
        let s = self.topology.regions.get(sub).map_err(stale_region)?;
        if s.container != Some(container) {
            return Err(Error::NotMapped);
        }
        self.atomically(|g| {
            let topo = &mut *g.topology;
            unlink_child(&mut topo.regions, container, sub);
            topo.dirty = true;
            Ok(())
        })
    }

    fn update(
        &mut self,
        region: RegionHandle,
        f: impl FnOnce(&mut RegionNode<'a>) -> Result<(), Error>,
    ) -> Result<(), Error> {
        self.topology.regions.get(region).map_err(stale_region)?;
        self.atomically(|g| {
            let topo = &mut *g.topology;
            let node = topo.regions.get_mut(region).map_err(stale_region)?;
            f(node)?;
            topo.dirty = true;
            Ok(())
        })
    }

    /// Re-sorts a mapped region among its siblings (after a move or a priority change it
    /// counts as the most recently added).
    fn readd(&mut self, region: RegionHandle) {
        let topo = &mut *self.topology;
        if let Some(container) = topo.regions.get(region).ok().and_then(|n| n.container) {
            unlink_child(&mut topo.regions, container, region);
            link_child(&mut topo.regions, container, region);
        }
    }

    /// Enables or disables a region (a disabled region and its subtree vanish).
    pub fn set_enabled(&mut self, region: RegionHandle, enabled: bool) -> Result<(), Error> {
        self.update(region, |n| {
            n.flags.set(RegionFlags::ENABLED, enabled);
            Ok(())
        })
    }

    /// Makes a region (and, for a container or alias, everything seen through it) refuse
    /// writes.
    pub fn set_readonly(&mut self, region: RegionHandle, readonly: bool) -> Result<(), Error> {
        self.update(region, |n| {
            n.flags.set(RegionFlags::READONLY, readonly);
            Ok(())
        })
    }

    /// Switches a ROM device in (reads from memory) or out of (reads through callbacks) ROMD
    /// mode.
    pub fn set_romd(&mut self, region: RegionHandle, romd: bool) -> Result<(), Error> {
        self.update(region, |n| {
            if !matches!(n.kind, Kind::RomDevice(..)) {
                return Err(Error::NotARomDevice);
            }
            n.flags.set(RegionFlags::ROMD, romd);
            Ok(())
        })
    }

    /// Moves a region within its container (or sets where it will go if unmapped).
    pub fn set_address(&mut self, region: RegionHandle, offset: RegionOffset) -> Result<(), Error> {
        self.atomically(|g| {
            g.update(region, |n| {
                n.addr = offset;
                Ok(())
            })?;
            g.readd(region);
            Ok(())
        })
    }

    /// Changes a region's priority among its siblings.
    pub fn set_priority(&mut self, region: RegionHandle, priority: Priority) -> Result<(), Error> {
        self.atomically(|g| {
            g.update(region, |n| {
                n.priority = priority;
                Ok(())
            })?;
            g.readd(region);
            Ok(())
        })
    }

    /// Points an alias at another target (or another offset in the same one).
    pub fn set_alias_target(
        &mut self,
        alias: RegionHandle,
        target: RegionHandle,
        offset: RegionOffset,
    ) -> Result<(), Error> {
        let node = self.topology.regions.get(alias).map_err(stale_region)?;
        if !matches!(node.kind, Kind::Alias { .. }) {
            return Err(Error::NotAnAlias);
        }
        self.topology.regions.get(target).map_err(stale_region)?;
        if target == alias || reaches(&self.topology.regions, target, alias, 0)? {
            return Err(Error::WouldCycle);
        }
        self.update(alias, |n| {
            n.kind = Kind::Alias { target, offset };
            Ok(())
        })
    }
}

/// Inserts `sub` in `container`'s child list before the first sibling whose priority is
/// not higher, so that among equals the newest comes first (QEMU's order).
pub(super) fn link_child<const R: usize>(
    regions: &mut Pool<RegionTag, RegionNode<'_>, R>,
    container: RegionHandle,
    sub: RegionHandle,
) {
    let Ok(priority) = regions.get(sub).map(|n| n.priority) else {
        return;
    };
    let mut prev: Option<RegionHandle> = None;
    let mut cur = regions.get(container).ok().and_then(|c| c.first_child);
    while let Some(h) = cur {
        let Ok(node) = regions.get(h) else { break };
        if priority >= node.priority {
            break;
        }
        prev = Some(h);
        cur = node.next_sibling;
    }
    if let Ok(s) = regions.get_mut(sub) {
        s.next_sibling = cur;
        s.container = Some(container);
    }
    let link = match prev {
        Some(p) => regions.get_mut(p).map(|n| &mut n.next_sibling),
        None => regions.get_mut(container).map(|n| &mut n.first_child),
    };
    if let Ok(link) = link {
        *link = Some(sub);
    }
}

pub(super) fn unlink_child<const R: usize>(
    regions: &mut Pool<RegionTag, RegionNode<'_>, R>,
    container: RegionHandle,
    sub: RegionHandle,
) {
    let next = regions.get_mut(sub).ok().and_then(|s| {
        s.container = None;
        s.next_sibling.take()
    });
    let first = regions.get(container).ok().and_then(|c| c.first_child);
    if first == Some(sub) {
        if let Ok(c) = regions.get_mut(container) {
            c.first_child = next;
        }
        return;
    }
    let mut cur = first;
    while let Some(h) = cur {
        let sibling = regions.get(h).ok().and_then(|n| n.next_sibling);
        if sibling == Some(sub) {
            if let Ok(n) = regions.get_mut(h) {
                n.next_sibling = next;
            }
            return;
        }
        cur = sibling;
    }
}

/// Whether `to` can be reached from `from` through subregion and alias links.
pub(super) fn reaches<const R: usize>(
    regions: &Pool<RegionTag, RegionNode<'_>, R>,
    from: RegionHandle,
    to: RegionHandle,
    depth: usize,
) -> Result<bool, Error> {
    if from == to {
        return Ok(true);
    }
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep { limit: MAX_DEPTH });
    }
    let Ok(node) = regions.get(from) else {
        return Ok(false);
    };
    if let Kind::Alias { target, .. } = node.kind {
        return reaches(regions, target, to, depth + 1);
    }
    let mut child = node.first_child;
    while let Some(c) = child {
        if reaches(regions, c, to, depth + 1)? {
            return Ok(true);
        }
        child = regions.get(c).ok().and_then(|n| n.next_sibling);
    }
    Ok(false)
}
