//! The writer side of the memory API: the [`Memory`] value (pools, address spaces, published
//! flat views) and the [`TopologyGuard`] through which every topology change goes.
//!
//! Changes are serialised by one writer lock. Between [`TopologyGuard::begin`] and the
//! outermost [`TopologyGuard::commit`] they are invisible to accessors (rule L6); an
//! operation called outside `begin`/`commit` is its own transaction. The outermost commit
//! renders every address space and publishes each new view atomically; what the commit
//! destroyed is retired and only reused after the grace period (rule L7). Owners are
//! destroyed depth first with everything they own (rule L4); a container only loses a
//! subregion through `remove_subregion` or an owner's destruction, both in a transaction
//! (rule L5).

use crate::atomic::AtomicU32 as StdAtomicU32;
use crate::atomic::Ordering;

use super::access::AddressSpace;
use super::addr::{Priority, RegionOffset, RegionSize};
use super::error::{Error, Object, Rejected};
use super::flatview::FlatView;
use super::name::{name, Name};
use super::ops::MmioOps;
use super::ram::RamBlock;
use super::region::{Kind, RegionFlags, RegionHandle, RegionInfo, RegionNode, RegionTag};
use super::render::{render, Scratch, MAX_DEPTH};
use crate::grace::Published;
use crate::owner::{Lifecycle, OwnerHandle, OwnerInfo, OwnerKind, OwnerNode};
use crate::pin::PinSlot;
use crate::pool::{Pool, PoolError};

/// Copies of each address space's flat view: the current one, one a slow reader may still
/// pin, and one for the writer to render into.
pub const VIEW_COPIES: usize = 3;

/// How long a commit waits for a reader to release a view copy before answering
/// [`Error::ViewsBusy`] (spin iterations).
const VIEW_WAIT_SPINS: u32 = 1 << 22;

/// Retired-slot tag of things destroyed in a transaction that has not published yet.
const PENDING: u32 = 0;

/// Names an address space of a [`Memory`]. Address spaces live as long as the memory.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SpaceId(u8);

impl SpaceId {
    /// Index of the space (0 for the first one created).
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

struct SpaceNode {
    root: RegionHandle,
    name: Name,
    generation: u32,
}

/// The topology: pools and links, behind the writer lock.
struct Topology<'a, const R: usize, const O: usize, const S: usize, const F: usize> {
    regions: Pool<RegionTag, RegionNode<'a>, R>,
    owners: Pool<OwnerKind, OwnerNode, O>,
    root_owner: Option<OwnerHandle>,
    spaces: [Option<SpaceNode>; S],
    depth: u32,
    dirty: bool,
    epoch: u32,
    released: heapless::Vec<RamBlock<'a>, R>,
    scratch: Scratch<'a, F>,
}

/// A machine's memory: up to `R` regions, `O` owners, `S` address spaces, `F` ranges per
/// flat view. Every byte of it is inline, so a board puts it in a `static` or a field.
///
/// Readers ([`Memory::space`]) never take the writer lock; writers ([`Memory::lock`]) are
/// serialised by it.
///
/// ```
/// use fief_core::memory::*;
///
/// // 8 regions, 4 owners, 1 address space, 16 ranges per flat view, all inline.
/// static MEMORY: Memory<'static, 8, 4, 1, 16> = Memory::new();
///
/// let attrs = MemTxAttrs::UNSPECIFIED;
/// let mut g = MEMORY.lock();
/// let root = g.root_owner()?;
/// let system = g.create_container(root, "system", RegionSize::FULL, None)?;
/// let block = RamBlock::new(Box::leak(vec![0u8; 4096].into_boxed_slice()));
/// let ram = g.create_ram(root, "ram", block).map_err(|r| r.error)?;
/// g.add_subregion(system, RegionOffset(0x8000_0000), ram, Priority(0))?;
/// let space = g.create_address_space(system, "memory")?; // its own transaction: published
/// let bus = MEMORY.space(space).expect("made by this memory");
///
/// // Readers never take the writer lock: these accesses run while `g` holds it.
/// let at = GuestAddress(0x8000_0008);
/// assert_eq!(bus.write(at, AccessSize::Byte, 0x5a, attrs), MemTxResult::OK);
/// assert_eq!(bus.read(at, AccessSize::Byte, attrs), (0x5a, MemTxResult::OK));
/// drop(g);
/// # Ok::<(), Error>(())
/// ```
pub struct Memory<'a, const R: usize, const O: usize, const S: usize, const F: usize> {
    topology: crate::lock::Mutex<Topology<'a, R, O, S, F>>,
    views: [Published<FlatView<'a, F>, VIEW_COPIES>; S],
    space_count: StdAtomicU32,
    /// Per region slot: the raw handle of the live region in it (0 once destroyed), read
    /// without the lock by DMA leases to see revocation, and the DMA leases pinning the
    /// region's RAM block; a retired slot with pins is not reclaimed (rule L8). The protocol
    /// is [`PinSlot`]'s, model-checked with loom.
    pins: [PinSlot; R],
    /// How many times a DMA lease wrote guest RAM (wrapping): harts compare it at every
    /// decoded-block entry to see code written by DMA (`cpu::riscv` `block` docs).
    lease_writes: StdAtomicU32,
}

impl<'a, const R: usize, const O: usize, const S: usize, const F: usize> Memory<'a, R, O, S, F> {
    /// An empty memory: no regions, no address spaces, only the root owner (made on first
    /// lock). `const`, so it can be a `static`.
    pub const fn new() -> Self {
        assert!(S > 0 && S <= 255, "1 to 255 address spaces");
        Memory {
            topology: crate::lock::Mutex::new(Topology {
                regions: Pool::new(),
                owners: Pool::new(),
                root_owner: None,
                spaces: [const { None }; S],
                depth: 0,
                dirty: false,
                epoch: 1,
                released: heapless::Vec::new(),
                scratch: Scratch::new(),
            }),
            views: [const { Published::new() }; S],
            space_count: StdAtomicU32::new(0),
            pins: [const { PinSlot::new() }; R],
            lease_writes: StdAtomicU32::new(0),
        }
    }

    /// Records that a DMA lease wrote guest RAM (after the bytes are written: `Release`, so
    /// a reader that sees the new count also sees them).
    pub(crate) fn note_lease_write(&self) {
        self.lease_writes.fetch_add(1, Ordering::Release);
    }

    /// Takes the writer lock. Readers carry on against the published views meanwhile.
    pub fn lock(&self) -> TopologyGuard<'_, 'a, R, O, S, F> {
        let mut topology = self.topology.lock();
        if topology.root_owner.is_none() {
            // The owner pool is empty on first lock, so this insert cannot fail; if it ever
            // did, `root_owner()` would report PoolFull rather than panic.
            topology.root_owner = topology
                .owners
                .insert(OwnerNode::new(name("machine"), None))
                .ok();
        }
        TopologyGuard {
            memory: self,
            topology,
        }
    }

    /// The reader's handle on an address space, or `None` for an id this memory never made.
    pub fn space(&self, id: SpaceId) -> Option<AddressSpace<'_, 'a, F>> {
        if (id.0 as u32) < self.space_count.load(Ordering::Acquire) {
            Some(AddressSpace::new(
                &self.views[id.index()],
                &self.lease_writes,
            ))
        } else {
            None
        }
    }

    /// Slot index of a region handle (for the per-slot tables).
    pub(crate) fn region_slot(region: RegionHandle) -> usize {
        Pool::<RegionTag, RegionNode<'a>, R>::index_of(region)
    }

    /// Whether `region` is still alive (not destroyed), without the writer lock.
    pub(crate) fn region_live(&self, region: RegionHandle) -> bool {
        self.pins[Self::region_slot(region)].is_live(region.to_raw())
    }

    /// Whether `region` is alive (not destroyed), without taking the writer lock.
    pub fn region_is_live(&self, region: RegionHandle) -> bool {
        self.region_live(region)
    }

    /// Pins `region`'s memory for a DMA lease; fails (pinning nothing) if it was destroyed.
    pub(crate) fn pin_region(&self, region: RegionHandle) -> bool {
        self.pins[Self::region_slot(region)].pin(region.to_raw())
    }

    /// Releases a pin taken by [`Memory::pin_region`].
    pub(crate) fn unpin_region(&self, region: RegionHandle) {
        self.pins[Self::region_slot(region)].unpin();
    }

    /// True if any reader pins a view published before `epoch` in any address space.
    fn pinned_before(&self, epoch: u32) -> bool {
        self.views.iter().any(|v| v.pinned_before(epoch))
    }
}

impl<const R: usize, const O: usize, const S: usize, const F: usize> Default
    for Memory<'_, R, O, S, F>
{
    fn default() -> Self {
        Self::new()
    }
}

/// The writer lock on a [`Memory`], and every topology operation.
///
/// ```
/// use fief_core::memory::*;
///
/// let memory: Memory<'static, 8, 4, 1, 16> = Memory::new();
/// let attrs = MemTxAttrs::UNSPECIFIED;
/// let mut g = memory.lock();
/// let root = g.root_owner()?;
/// let system = g.create_container(root, "system", RegionSize::FULL, None)?;
/// let space = g.create_address_space(system, "memory")?;
/// let bus = memory.space(space).expect("made above");
/// let at = GuestAddress(0x1000);
///
/// // A device owns its RAM; the mapping is invisible until the outermost commit (L6).
/// let dev = g.create_owner(root, "dev")?;
/// g.begin();
/// let block = RamBlock::new(Box::leak(vec![7u8; 4096].into_boxed_slice()));
/// let ram = g.create_ram(dev, "dev-ram", block).map_err(|r| r.error)?;
/// g.add_subregion(system, RegionOffset(0x1000), ram, Priority(0))?;
/// assert_eq!(bus.read(at, AccessSize::Byte, attrs).1, MemTxResult::DECODE_ERROR);
/// g.commit()?;
/// assert_eq!(bus.read(at, AccessSize::Byte, attrs), (7, MemTxResult::OK));
///
/// // Destroying the owner destroys what it owns (L4): the RAM is unmapped and, with no reader
/// // left in an older view, reclaimed; its handle is stale from then on (L2).
/// g.destroy_owner(dev)?;
/// assert_eq!(bus.read(at, AccessSize::Byte, attrs).1, MemTxResult::DECODE_ERROR);
/// assert!(g.unplug_complete(dev));
/// assert!(g.take_released_ram().is_some());
/// assert!(matches!(g.set_enabled(ram, true), Err(Error::Stale { .. })));
/// # Ok::<(), Error>(())
/// ```
pub struct TopologyGuard<'m, 'a, const R: usize, const O: usize, const S: usize, const F: usize> {
    memory: &'m Memory<'a, R, O, S, F>,
    topology: crate::lock::MutexGuard<'m, Topology<'a, R, O, S, F>>,
}

fn stale_region(_: PoolError) -> Error {
    Error::Stale {
        what: Object::Region,
    }
}

fn stale_owner(_: PoolError) -> Error {
    Error::Stale {
        what: Object::Owner,
    }
}

impl<'a, const R: usize, const O: usize, const S: usize, const F: usize>
    TopologyGuard<'_, 'a, R, O, S, F>
{
    // ----- transactions -------------------------------------------------------------

    /// Opens a (possibly nested) transaction.
    pub fn begin(&mut self) {
        self.topology.depth += 1;
    }

    /// Closes a transaction; the outermost commit renders and publishes every address space
    /// whose view changed. On [`Error::ViewFull`] or [`Error::ViewsBusy`] the changes stay
    /// in the topology, the old views stay published, and the next commit tries again.
    pub fn commit(&mut self) -> Result<(), Error> {
        if self.topology.depth == 0 {
            return Err(Error::NoTransaction);
        }
        self.topology.depth -= 1;
        if self.topology.depth == 0 {
            let published = self.publish();
            if let Err(e) = published {
                fief_warn!("memory: commit kept the old flat view: {}", e);
            }
            published
        } else {
            Ok(())
        }
    }

    /// Transaction nesting depth (0 outside any transaction).
    pub fn depth(&self) -> u32 {
        self.topology.depth
    }

    /// Runs `f` as one transaction.
    fn atomically<T>(&mut self, f: impl FnOnce(&mut Self) -> Result<T, Error>) -> Result<T, Error> {
        self.begin();
        let out = f(self);
        let committed = self.commit();
        let out = out?;
        committed.map(|()| out)
    }

    fn publish(&mut self) -> Result<(), Error> {
        let memory = self.memory;
        let topo = &mut *self.topology;
        if !topo.dirty {
            return Ok(());
        }
        topo.epoch = topo.epoch.wrapping_add(1);
        if topo.epoch == PENDING {
            topo.epoch = 1;
        }
        let epoch = topo.epoch;
        for (index, space) in topo.spaces.iter_mut().enumerate() {
            let Some(space) = space else { continue };
            let views = &memory.views[index];
            let mut copy = None;
            for _ in 0..VIEW_WAIT_SPINS {
                // SAFETY: the writer lock (held through `self.topology`) serialises writers.
                copy = unsafe { views.free_copy() };
                if copy.is_some() {
                    break;
                }
                core::hint::spin_loop();
            }
            let Some(copy) = copy else {
                return Err(Error::ViewsBusy);
            };
            let generation = space.generation.wrapping_add(1);
            let (regions, scratch) = (&topo.regions, &mut topo.scratch);
            // SAFETY: single writer (lock held); `copy` came from `free_copy` just now.
            let unchanged = unsafe {
                views.write_copy(copy, |view| {
                    render(regions, space.root, scratch, view)?;
                    view.generation = generation;
                    Ok::<bool, Error>(views.read_current(|current| {
                        current.is_some_and(|c| c.ranges() == view.ranges())
                    }))
                })
            }?;
            if unchanged {
                // SAFETY: single writer.
                unsafe { views.restamp_current(epoch) };
            } else {
                // SAFETY: single writer; the copy was filled above.
                unsafe { views.publish(copy, epoch) };
                space.generation = generation;
            }
        }
        // Every view is now free of what this transaction destroyed: start its grace period.
        topo.regions
            .retag_retired(|tag| (tag == PENDING).then_some(epoch));
        let dead: heapless::Vec<OwnerHandle, O> = topo
            .owners
            .iter()
            .filter(|(_, o)| o.state == Lifecycle::Unplugging)
            .map(|(h, _)| h)
            .collect();
        for owner in dead {
            let _ = topo.owners.remove(owner);
        }
        topo.dirty = false;
        self.reclaim();
        Ok(())
    }

    /// Frees every destroyed region whose grace period is over: no reader still pins a view
    /// that could reach it. Their RAM blocks become available from
    /// [`TopologyGuard::take_released_ram`]. Returns how many regions were freed.
    pub fn reclaim(&mut self) -> usize {
        let memory = self.memory;
        let topo = &mut *self.topology;
        let released = &mut topo.released;
        // `released` fills up if nobody takes the blocks: then slots wait (still retired)
        // rather than lose a block. `ready` and `sink` run in turn for each slot.
        let room = core::cell::Cell::new(released.capacity() - released.len());
        // A DMA lease pins its region's block: the slot waits for the lease to end (L8).
        topo.regions.reclaim_where(
            |slot, tag, _| {
                room.get() > 0
                    && tag != PENDING
                    && !memory.pins[slot].pinned()
                    && !memory.pinned_before(tag)
            },
            |node| {
                if let Kind::Ram(block) | Kind::Rom(block) | Kind::RomDevice(block, _) = node.kind {
                    room.set(room.get() - 1);
                    let _ = released.push(block);
                }
            },
        )
    }

    /// Whether the unplug of `owner` (destroyed with [`TopologyGuard::destroy_owner`]; its
    /// handle is stale now) is complete: the commit has published and every region it owned
    /// has been reclaimed — no reader section and no DMA lease can reach its memory any more.
    /// Runs [`TopologyGuard::reclaim`] first.
    pub fn unplug_complete(&mut self, owner: OwnerHandle) -> bool {
        self.reclaim();
        let topo = &*self.topology;
        if topo.owners.contains(owner) {
            return false; // still live, or unplugging in an open transaction
        }
        !topo
            .regions
            .retired()
            .any(|(_, _, node)| node.owner == owner)
    }

    /// A RAM block whose region was destroyed and whose grace period is over, if any. At
    /// most `R` blocks wait to be taken; while `R` wait, destroyed regions keep their slots.
    pub fn take_released_ram(&mut self) -> Option<RamBlock<'a>> {
        self.topology.released.pop()
    }

    /// Destroyed regions still waiting for their grace period.
    pub fn awaiting_reclaim(&self) -> usize {
        self.topology.regions.retired_len()
    }

    // ----- address spaces -----------------------------------------------------------

    /// Makes an address space rooted at `root` (usually a container of the whole 64-bit
    /// space). Its first view is published with the enclosing transaction.
    pub fn create_address_space(
        &mut self,
        root: RegionHandle,
        label: &str,
    ) -> Result<SpaceId, Error> {
        self.topology.regions.get(root).map_err(stale_region)?;
        let Some(index) = self.topology.spaces.iter().position(Option::is_none) else {
            return Err(Error::PoolFull {
                what: Object::AddressSpace,
            });
        };
        self.atomically(|g| {
            g.topology.spaces[index] = Some(SpaceNode {
                root,
                name: name(label),
                generation: 0,
            });
            g.topology.dirty = true;
            Ok(())
        })?;
        let count = self.topology.spaces.iter().filter(|s| s.is_some()).count() as u32;
        self.memory.space_count.store(count, Ordering::Release);
        Ok(SpaceId(index as u8))
    }

    /// An address space's name and root region.
    pub fn address_space(&self, id: SpaceId) -> Result<(Name, RegionHandle), Error> {
        match self.topology.spaces.get(id.index()) {
            Some(Some(space)) => Ok((space.name.clone(), space.root)),
            _ => Err(Error::Stale {
                what: Object::AddressSpace,
            }),
        }
    }

    // ----- owners -------------------------------------------------------------------

    /// The machine's root owner, which owns free-floating regions.
    pub fn root_owner(&self) -> Result<OwnerHandle, Error> {
        self.topology.root_owner.ok_or(Error::PoolFull {
            what: Object::Owner,
        })
    }

    fn live_owner(&self, owner: OwnerHandle) -> Result<&OwnerNode, Error> {
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

    // ----- creating and destroying regions -----------------------------------------

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

    fn destroy_region_links(&mut self, region: RegionHandle) {
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

    // ----- mapping --------------------------------------------------------------------

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

    // ----- queries --------------------------------------------------------------------

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

impl<const R: usize, const O: usize, const S: usize, const F: usize> Drop
    for TopologyGuard<'_, '_, R, O, S, F>
{
    fn drop(&mut self) {
        // An unclosed transaction is committed rather than lost. A failure leaves the changes
        // staged for the next commit (see `commit`).
        if self.topology.depth > 0 {
            self.topology.depth = 0;
            let _ = self.publish();
        }
    }
}

/// Inserts `sub` in `container`'s child list before the first sibling whose priority is
/// not higher, so that among equals the newest comes first (QEMU's order).
fn link_child<const R: usize>(
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

fn unlink_child<const R: usize>(
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
fn reaches<const R: usize>(
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

// A `Memory` must be shareable between harts, DMA workers and the monitor, and usable as a
// `static`: checked at compile time.
const _: () = {
    const fn assert_sync<T: Sync + Send>() {}
    assert_sync::<Memory<'static, 4, 4, 1, 4>>();
};
