//! Regions on the writer side: creating each kind (RAM, ROM, ROM device, MMIO, container,
//! alias, reservation), destroying them (unlinking, revoking DMA pins, retiring the slot),
//! the queries on a region, and the iterator over a container's subregions.

use crate::memory::addr::{RegionOffset, RegionSize};
use crate::memory::error::{Error, Object, Rejected};
use crate::memory::name::name;
use crate::memory::ops::MmioOps;
use crate::memory::ram::RamBlock;
use crate::memory::region::{Kind, RegionHandle, RegionInfo, RegionNode};
use crate::owner::OwnerHandle;

use super::mapping::unlink_child;
use super::{stale_region, Memory, Topology, TopologyGuard, PENDING};

impl<'a, const R: usize, const O: usize, const S: usize, const F: usize>
    TopologyGuard<'_, 'a, R, O, S, F>
{
    // The node comes back whole on failure so that its RAM block is not lost (L1: a full
    // pool hands the value back); it travels one call up, so its size does not matter.
    #[allow(clippy::result_large_err)]
    fn insert_region(
        &mut self,
        owner: OwnerHandle,
        node: RegionNode<'a>,
    ) -> Result<RegionHandle, (Error, RegionNode<'a>)> {
        if let Err(e) = self.live_owner(owner) {
            return Err((e, node));
        }
        let topo = &mut *self.topology;
        let handle = match topo.regions.insert(node) {
            Ok(h) => h,
            Err(full) => {
                // Something may be waiting only for its grace period: try once more.
                let node = full.0;
                if self.reclaim() == 0 {
                    return Err((
                        Error::PoolFull {
                            what: Object::Region,
                        },
                        node,
                    ));
                }
                match self.topology.regions.insert(node) {
                    Ok(h) => h,
                    Err(full) => {
                        return Err((
                            Error::PoolFull {
                                what: Object::Region,
                            },
                            full.0,
                        ))
                    }
                }
            }
        };
        self.memory.pins[Memory::<R, O, S, F>::region_slot(handle)].set_live(handle.to_raw());
        let topo = &mut *self.topology;
        if let Ok(owner_node) = topo.owners.get_mut(owner) {
            let first = owner_node.first_region.replace(handle);
            if let Ok(region) = topo.regions.get_mut(handle) {
                region.next_owned = first;
            }
        }
        Ok(handle)
    }

    fn create_with_block(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        block: RamBlock<'a>,
        kind: impl FnOnce(RamBlock<'a>) -> Kind<'a>,
    ) -> Result<RegionHandle, Rejected<RamBlock<'a>>> {
        let Some(size) = RegionSize::new(block.len()) else {
            return Err(Rejected {
                error: Error::EmptyBlock,
                value: block,
            });
        };
        let node = RegionNode::new(name(label), owner, kind(block), size);
        self.insert_region(owner, node)
            .map_err(|(error, node)| match node.kind {
                Kind::Ram(block) | Kind::Rom(block) | Kind::RomDevice(block, _) => Rejected {
                    error,
                    value: block,
                },
                // `kind` only builds block-backed kinds; keep the error, the block is gone with
                // the node (cannot happen).
                _ => Rejected {
                    error,
                    value: RamBlock::new(&mut []),
                },
            })
    }

    /// A RAM region over `block`, owned by `owner`. On failure the block comes back.
    pub fn create_ram(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        block: RamBlock<'a>,
    ) -> Result<RegionHandle, Rejected<RamBlock<'a>>> {
        self.create_with_block(owner, label, block, Kind::Ram)
    }

    /// A ROM region over `block` (preload it before, or with debug writes).
    pub fn create_rom(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        block: RamBlock<'a>,
    ) -> Result<RegionHandle, Rejected<RamBlock<'a>>> {
        self.create_with_block(owner, label, block, Kind::Rom)
    }

    /// A ROM device: reads from `block` in ROMD mode (the initial mode), through `ops`
    /// otherwise; writes always through `ops`.
    pub fn create_rom_device(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        block: RamBlock<'a>,
        ops: &'a dyn MmioOps,
    ) -> Result<RegionHandle, Rejected<RamBlock<'a>>> {
        self.create_with_block(owner, label, block, |b| Kind::RomDevice(b, ops))
    }

    fn create_plain(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        size: RegionSize,
        kind: Kind<'a>,
    ) -> Result<RegionHandle, Error> {
        self.insert_region(owner, RegionNode::new(name(label), owner, kind, size))
            .map_err(|(e, _)| e)
    }

    /// An MMIO region of `size` bytes served by `ops`.
    pub fn create_mmio(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        size: RegionSize,
        ops: &'a dyn MmioOps,
    ) -> Result<RegionHandle, Error> {
        self.create_plain(owner, label, size, Kind::Mmio(ops))
    }

    /// A container of `size` bytes; with `ops`, the callbacks serve its holes.
    pub fn create_container(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        size: RegionSize,
        ops: Option<&'a dyn MmioOps>,
    ) -> Result<RegionHandle, Error> {
        self.create_plain(owner, label, size, Kind::Container(ops))
    }

    /// An alias of `size` bytes showing `target[offset, offset + size)`.
    pub fn create_alias(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        size: RegionSize,
        target: RegionHandle,
        offset: RegionOffset,
    ) -> Result<RegionHandle, Error> {
        self.topology.regions.get(target).map_err(stale_region)?;
        self.create_plain(owner, label, size, Kind::Alias { target, offset })
    }

    /// A reservation: claims `size` bytes for nobody; accesses are decode errors.
    pub fn create_reservation(
        &mut self,
        owner: OwnerHandle,
        label: &str,
        size: RegionSize,
    ) -> Result<RegionHandle, Error> {
        self.create_plain(owner, label, size, Kind::Reservation)
    }

    /// Destroys one region: unmaps it, releases its subregions (they stay alive, unmapped),
    /// and retires its slot (and RAM block) until the grace period after the commit.
    pub fn destroy_region(&mut self, region: RegionHandle) -> Result<(), Error> {
        self.topology.regions.get(region).map_err(stale_region)?;
        self.atomically(|g| {
            g.destroy_region_links(region);
            Ok(())
        })
    }

    pub(super) fn destroy_region_links(&mut self, region: RegionHandle) {
        let topo = &mut *self.topology;
        let Ok(node) = topo.regions.get(region) else {
            return;
        };
        let (container, owner, mut child) = (node.container, node.owner, node.first_child);
        if let Some(container) = container {
            unlink_child(&mut topo.regions, container, region);
        }
        while let Some(c) = child {
            let Ok(cn) = topo.regions.get_mut(c) else {
                break;
            };
            child = cn.next_sibling.take();
            cn.container = None;
        }
        // Unlink from the owner's list.
        let next_owned = topo.regions.get(region).ok().and_then(|n| n.next_owned);
        if let Ok(owner_node) = topo.owners.get_mut(owner) {
            if owner_node.first_region == Some(region) {
                owner_node.first_region = next_owned;
            } else {
                let mut link = owner_node.first_region;
                while let Some(h) = link {
                    let next = topo.regions.get(h).ok().and_then(|n| n.next_owned);
                    if next == Some(region) {
                        if let Ok(n) = topo.regions.get_mut(h) {
                            n.next_owned = next_owned;
                        }
                        break;
                    }
                    link = next;
                }
            }
        }
        self.memory.pins[Memory::<R, O, S, F>::region_slot(region)].revoke();
        let _ = topo.regions.retire(region, PENDING);
        topo.dirty = true;
    }

    /// A snapshot of a region's attributes.
    pub fn region_info(&self, region: RegionHandle) -> Result<RegionInfo, Error> {
        let n = self.topology.regions.get(region).map_err(stale_region)?;
        Ok(RegionInfo {
            name: n.name.clone(),
            kind: n.kind.public(),
            owner: n.owner,
            size: n.size,
            flags: n.flags,
            priority: n.priority,
            mapped: n.container.map(|c| (c, n.addr)),
        })
    }

    /// An alias's target and offset. [`Error::Stale`] if the alias is gone, or if its
    /// target was destroyed (until the alias is retargeted or removed).
    pub fn alias_target(&self, alias: RegionHandle) -> Result<(RegionHandle, RegionOffset), Error> {
        let n = self.topology.regions.get(alias).map_err(stale_region)?;
        let Kind::Alias { target, offset } = n.kind else {
            return Err(Error::NotAnAlias);
        };
        self.topology.regions.get(target).map_err(stale_region)?;
        Ok((target, offset))
    }

    /// A container's subregions in render order (highest priority, then most recent, first).
    pub fn subregions(
        &self,
        container: RegionHandle,
    ) -> Result<Subregions<'_, 'a, R, O, S, F>, Error> {
        let n = self.topology.regions.get(container).map_err(stale_region)?;
        Ok(Subregions {
            topology: &self.topology,
            next: n.first_child,
        })
    }

    /// Number of live regions.
    pub fn region_count(&self) -> usize {
        self.topology.regions.len()
    }
}

/// Iterator over a container's subregions.
pub struct Subregions<'g, 'a, const R: usize, const O: usize, const S: usize, const F: usize> {
    topology: &'g Topology<'a, R, O, S, F>,
    next: Option<RegionHandle>,
}

impl<const R: usize, const O: usize, const S: usize, const F: usize> Iterator
    for Subregions<'_, '_, R, O, S, F>
{
    type Item = RegionHandle;
    fn next(&mut self) -> Option<RegionHandle> {
        let h = self.next?;
        self.next = self
            .topology
            .regions
            .get(h)
            .ok()
            .and_then(|n| n.next_sibling);
        Some(h)
    }
}
