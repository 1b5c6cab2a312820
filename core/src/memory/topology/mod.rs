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
//!
//! This module owns the [`Memory`] value, the writer lock, transactions, publishing and
//! reclaiming, and address spaces; the operations on owners are in `owners`, creating,
//! destroying and querying regions in `regions`, and mapping them (subregions and
//! attribute changes) in `mapping`.

use crate::atomic::AtomicU32 as StdAtomicU32;
use crate::atomic::Ordering;
use crate::watch::WriteWatch;

use super::access::AddressSpace;
use super::error::{Error, Object};
use super::flatview::FlatView;
use super::name::{name, Name};
use super::ram::RamBlock;
use super::region::{Kind, RegionHandle, RegionNode, RegionTag};
use super::render::{render, Scratch};
use crate::grace::Published;
use crate::owner::{Lifecycle, OwnerHandle, OwnerKind, OwnerNode};
use crate::pin::PinSlot;
use crate::pool::{Pool, PoolError};

mod mapping;
mod owners;
mod regions;

pub use owners::{OwnedRegions, OwnerChildren};
pub use regions::Subregions;

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
    /// How many times a DMA lease wrote guest RAM (wrapping), and the harts told of each
    /// write at once: harts compare the count at every decoded-block entry to see code
    /// written by DMA (`cpu::riscv` `block` docs), and a hart's translated code sees the
    /// bit each write sets in its interrupt word ([`WriteWatch`]).
    lease_writes: WriteWatch,
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
            lease_writes: WriteWatch::new(),
        }
    }

    /// Records that a DMA lease wrote guest RAM (after the bytes are written: `Release`, so
    /// a reader that sees the new count also sees them), and tells the watching harts
    /// ([`WriteWatch::note_write`]).
    pub(crate) fn note_lease_write(&self) {
        self.lease_writes.note_write();
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
                    view.renew_id();
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

// A `Memory` must be shareable between harts, DMA workers and the monitor, and usable as a
// `static`: checked at compile time.
const _: () = {
    const fn assert_sync<T: Sync + Send>() {}
    assert_sync::<Memory<'static, 4, 4, 1, 4>>();
};
