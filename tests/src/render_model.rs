//! The naive reference model of flat-view rendering, and the harness that applies one
//! operation sequence to a real [`Memory`](fief_core::memory::Memory) and to the model and
//! checks that they agree. Shared by the proptest (`tests/tests/render_model.rs`) and the
//! `topology` fuzz target (`fuzz/`).
//!
//! The model keeps the topology as a plain list of regions (kind, size, owner, container,
//! address, priority, enabled, insertion sequence) and answers "who answers at this address,
//! at which offset" by evaluating QEMU's rules directly and recursively:
//!
//! * in a container, the enabled children covering the address are tried in order (priority
//!   descending, then most recently added or moved first); the first that *resolves* the
//!   address wins (a container or alias with a hole there does not, so lower siblings show
//!   through); if none does, the container answers itself when it has callbacks;
//! * an alias resolves its target at `addr - alias_start + alias_offset`, relative to the
//!   target's own origin; a destroyed or disabled target resolves nothing;
//! * a disabled or destroyed region resolves nothing.
//!
//! Every operation's result (`Ok` or the exact refusal) must match what the model predicts,
//! and after each one the published view must match the model at every 16-byte unit of a
//! 0x400-byte root (first and last byte of each unit) and just past it.
//!
//! DMA leases (`render_model/dma.rs`) go through the same harness: map, read/write and unmap through a
//! small [`LeaseTable`](fief_core::memory::LeaseTable) against a model of the leases and of
//! every RAM region's bytes, with unplugs (region or owner destruction) that must wait for
//! the leases pinning their RAM.
#![allow(clippy::unwrap_used, missing_docs)]

use fief_core::memory::{
    AccessSize, Error, GuestAddress, MemTxAttrs, MemTxResult, MmioOps, Object, Priority,
    RegionHandle, RegionOffset, SpaceId,
};
use fief_core::owner::OwnerHandle;

use crate::{memory, ram, size, TestMemory};

/// `prop_assert_eq!` without proptest: an `Err(String)` when the two differ.
macro_rules! ensure_eq {
    ($a:expr, $b:expr, $($fmt:tt)+) => {{
        let (a, b) = (&$a, &$b);
        if a != b {
            return Err(format!("{:?} != {:?}: {}", a, b, format!($($fmt)+)));
        }
    }};
}

/// `prop_assert!` without proptest.
#[allow(unused_macros)]
macro_rules! ensure {
    ($c:expr, $($fmt:tt)+) => {{
        if !$c {
            return Err(format!($($fmt)+));
        }
    }};
}

mod dma;
pub use dma::TestLeases;

/// Addresses, sizes and offsets are multiples of this.
pub const UNIT: u64 = 0x10;
/// Size of the address space's root container.
pub const ROOT_SIZE: u64 = 0x400;
/// At most this many regions (the root included) are created per case.
pub const MAX_REGIONS: usize = 24;
/// At most this many owners (the root owner included).
pub const MAX_OWNERS: usize = 6;

/// MMIO callbacks shared by every MMIO region and container with callbacks; the renderer
/// only cares about the region, never the device.
struct Dev;

impl MmioOps for Dev {
    fn read(&self, _: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        (0, MemTxResult::OK)
    }
    fn write(&self, _: RegionOffset, _: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        MemTxResult::OK
    }
}

static DEV: Dev = Dev;

#[derive(Clone, Copy, Debug)]
pub enum NewKind {
    Ram,
    Mmio,
    Container { ops: bool },
    Reservation,
    Alias { target: Pick, offset: u64 },
}

/// Which region an operation is about: usually one that makes sense for it (a live
/// container to add into, an unmapped region to add, a mapped one to move...), sometimes
/// any region at all (so refusals and stale handles are exercised too).
#[derive(Clone, Copy, Debug)]
pub struct Pick {
    /// Index (modulo how many exist).
    pub raw: usize,
    /// Pick one that makes sense for the operation.
    pub sensible: bool,
}

/// One operation; region and owner numbers are taken modulo how many exist when it runs
/// (destroyed ones included, so stale handles get exercised too).
#[derive(Clone, Debug)]
pub enum Op {
    Create {
        owner: usize,
        kind: NewKind,
        units: u64,
    },
    CreateOwner {
        parent: usize,
    },
    Add {
        container: Pick,
        sub: Pick,
        units: u64,
        priority: i32,
    },
    Remove {
        sub: Pick,
        /// Ask the wrong container (the root, or the region itself) when `sub` is mapped
        /// elsewhere.
        wrong: bool,
    },
    SetEnabled {
        region: Pick,
        enabled: bool,
    },
    SetAddress {
        region: Pick,
        units: u64,
    },
    SetPriority {
        region: Pick,
        priority: i32,
    },
    Retarget {
        alias: Pick,
        target: Pick,
        offset: u64,
    },
    DestroyRegion {
        region: Pick,
    },
    DestroyOwner {
        owner: usize,
    },
    /// Map a DMA lease of `len` bytes at `addr` of the root's address space, for the device
    /// to write (`write`) or to read.
    DmaMap {
        addr: u64,
        len: u64,
        write: bool,
    },
    /// Read or write `n` bytes at `offset` through lease number `lease` (modulo how many
    /// were made; unmapped ones included, so stale handles get exercised too).
    DmaAccess {
        lease: usize,
        offset: u64,
        n: u64,
        write: bool,
        seed: u8,
    },
    /// Unmap lease number `lease` (a bounced write lease writes back what was written).
    DmaUnmap {
        lease: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MKind {
    Ram,
    Mmio,
    Container { ops: bool },
    Reservation,
    Alias { target: usize, offset: u64 },
}

#[derive(Debug)]
struct MRegion {
    handle: RegionHandle,
    kind: MKind,
    size: u64,
    owner: usize,
    alive: bool,
    enabled: bool,
    container: Option<usize>,
    addr: u64,
    priority: i32,
    /// When it was last added or moved (higher = more recent).
    seq: u64,
    /// A RAM region's bytes (empty for the other kinds).
    data: Vec<u8>,
}

#[derive(Debug)]
struct MOwner {
    handle: OwnerHandle,
    parent: Option<usize>,
    alive: bool,
}

/// The reference model.
#[derive(Debug, Default)]
struct Model {
    regions: Vec<MRegion>,
    owners: Vec<MOwner>,
    seq: u64,
    leases: Vec<dma::MLease>,
}

const STALE_REGION: Error = Error::Stale {
    what: Object::Region,
};
const STALE_OWNER: Error = Error::Stale {
    what: Object::Owner,
};

impl Model {
    /// Resolves a [`Pick`]: a region for which `sensible` holds if there is one (and the
    /// pick asks for it), else any region.
    fn pick(&self, p: Pick, sensible: impl Fn(usize, &MRegion) -> bool) -> usize {
        if p.sensible {
            let fits: Vec<usize> = (0..self.regions.len())
                .filter(|&i| sensible(i, &self.regions[i]))
                .collect();
            if !fits.is_empty() {
                return fits[p.raw % fits.len()];
            }
        }
        p.raw % self.regions.len()
    }

    fn live(&self, r: usize) -> bool {
        self.regions[r].alive
    }

    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Mapped children of `c` in render order.
    fn children(&self, c: usize) -> Vec<usize> {
        let mut kids: Vec<usize> = (0..self.regions.len())
            .filter(|&i| self.regions[i].alive && self.regions[i].container == Some(c))
            .collect();
        kids.sort_by_key(|&i| {
            (
                std::cmp::Reverse(self.regions[i].priority),
                std::cmp::Reverse(self.regions[i].seq),
            )
        });
        kids
    }

    /// Who answers at `a` (relative to region `r`'s origin), and at which offset.
    fn resolve(&self, r: usize, a: u64) -> Option<(usize, u64)> {
        let node = &self.regions[r];
        if !node.alive || !node.enabled || a >= node.size {
            return None;
        }
        match node.kind {
            MKind::Alias { target, offset } => self.resolve(target, a + offset),
            MKind::Container { ops } => {
                for c in self.children(r) {
                    let child = &self.regions[c];
                    if child.enabled && child.addr <= a && a < child.addr + child.size {
                        if let Some(hit) = self.resolve(c, a - child.addr) {
                            return Some(hit);
                        }
                    }
                }
                ops.then_some((r, a))
            }
            MKind::Ram | MKind::Mmio | MKind::Reservation => Some((r, a)),
        }
    }

    /// Can `to` be reached from `from` through live subregion and alias links?
    fn reaches(&self, from: usize, to: usize) -> bool {
        if from == to {
            return true;
        }
        let node = &self.regions[from];
        if !node.alive {
            return false;
        }
        if let MKind::Alias { target, .. } = node.kind {
            return self.reaches(target, to);
        }
        self.children(from).into_iter().any(|c| self.reaches(c, to))
    }

    fn destroy_region(&mut self, r: usize) {
        self.regions[r].alive = false;
        self.regions[r].container = None;
        for node in &mut self.regions {
            if node.container == Some(r) {
                node.container = None;
            }
        }
    }

    /// Owners in `o`'s subtree (itself included).
    fn subtree(&self, o: usize) -> Vec<usize> {
        let mut out = vec![o];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(
                (0..self.owners.len())
                    .filter(|&c| self.owners[c].alive && self.owners[c].parent == Some(parent)),
            );
            i += 1;
        }
        out
    }
}

/// The real memory, the model, and the root region (index 0 in the model).
struct Harness {
    mem: Box<TestMemory>,
    model: Model,
    space: SpaceId,
    leases: Box<TestLeases>,
    /// The last check published the model's topology (not refused as too large).
    published: bool,
}

impl Harness {
    fn new() -> Harness {
        let mem = memory();
        let mut model = Model::default();
        let space = {
            let mut g = mem.lock();
            let root_owner = g.root_owner().unwrap();
            model.owners.push(MOwner {
                handle: root_owner,
                parent: None,
                alive: true,
            });
            // Two devices, one a child of the other, and a third one.
            let a = g.create_owner(root_owner, "a").unwrap();
            let b = g.create_owner(a, "b").unwrap();
            let c = g.create_owner(root_owner, "c").unwrap();
            for (handle, parent) in [(a, 0), (b, 1), (c, 0)] {
                model.owners.push(MOwner {
                    handle,
                    parent: Some(parent),
                    alive: true,
                });
            }
            let root = g
                .create_container(root_owner, "root", size(ROOT_SIZE), None)
                .unwrap();
            model.regions.push(MRegion {
                handle: root,
                kind: MKind::Container { ops: false },
                size: ROOT_SIZE,
                owner: 0,
                alive: true,
                enabled: true,
                container: None,
                addr: 0,
                priority: 0,
                seq: 0,
                data: Vec::new(),
            });
            g.create_address_space(root, "root").unwrap()
        };
        Harness {
            mem,
            model,
            space,
            leases: Box::default(),
            published: true,
        }
    }

    /// Applies `op` to both sides and checks that they agree on the outcome (`Ok`, or the
    /// same refusal).
    fn apply(&mut self, op: &Op) -> Result<(), String> {
        if let Some(done) = self.apply_dma(op) {
            return done;
        }
        let m = &mut self.model;
        let nr = m.regions.len();
        let no = m.owners.len();
        let mut g = self.mem.lock();
        // `expected` is what the model predicts; `real` what the memory answered.
        let (expected, real): (Result<(), Error>, Result<(), Error>) = match *op {
            Op::Create { owner, kind, units } => {
                if nr >= MAX_REGIONS {
                    return Ok(());
                }
                let owner = owner % no;
                let bytes = units * UNIT;
                let oh = m.owners[owner].handle;
                let kind = match kind {
                    NewKind::Ram => MKind::Ram,
                    NewKind::Mmio => MKind::Mmio,
                    NewKind::Container { ops } => MKind::Container { ops },
                    NewKind::Reservation => MKind::Reservation,
                    NewKind::Alias { target, offset } => MKind::Alias {
                        target: m.pick(target, |_, n| n.alive),
                        offset,
                    },
                };
                let real = match kind {
                    MKind::Ram => g
                        .create_ram(oh, "ram", ram(bytes as usize, 0))
                        .map_err(|r| r.error),
                    MKind::Mmio => g.create_mmio(oh, "mmio", size(bytes), &DEV),
                    MKind::Container { ops } => g.create_container(
                        oh,
                        "container",
                        size(bytes),
                        ops.then_some(&DEV as &dyn MmioOps),
                    ),
                    MKind::Reservation => g.create_reservation(oh, "reserved", size(bytes)),
                    MKind::Alias { target, offset } => g.create_alias(
                        oh,
                        "alias",
                        size(bytes),
                        m.regions[target].handle,
                        RegionOffset(offset),
                    ),
                };
                let expected = match kind {
                    MKind::Alias { target, .. } if !m.live(target) => Err(STALE_REGION),
                    _ if !m.owners[owner].alive => Err(STALE_OWNER),
                    _ => Ok(()),
                };
                if let Ok(handle) = real {
                    m.regions.push(MRegion {
                        handle,
                        kind,
                        size: bytes,
                        owner,
                        alive: true,
                        enabled: true,
                        container: None,
                        addr: 0,
                        priority: 0,
                        seq: 0,
                        data: if kind == MKind::Ram {
                            vec![0; bytes as usize]
                        } else {
                            Vec::new()
                        },
                    });
                }
                (expected, real.map(|_| ()))
            }
            Op::CreateOwner { parent } => {
                if no >= MAX_OWNERS {
                    return Ok(());
                }
                let parent = parent % no;
                let real = g.create_owner(m.owners[parent].handle, "dev");
                let expected = if m.owners[parent].alive {
                    Ok(())
                } else {
                    Err(STALE_OWNER)
                };
                if let Ok(handle) = real {
                    m.owners.push(MOwner {
                        handle,
                        parent: Some(parent),
                        alive: true,
                    });
                }
                (expected, real.map(|_| ()))
            }
            Op::Add {
                container,
                sub,
                units,
                priority,
            } => {
                // Half the sensible picks add straight into the root, where it shows.
                let c = if container.sensible && container.raw % 2 == 0 {
                    0
                } else {
                    m.pick(container, |_, n| {
                        n.alive && matches!(n.kind, MKind::Container { .. })
                    })
                };
                let s = m.pick(sub, |i, n| i != 0 && n.alive && n.container.is_none());
                if sub.sensible && s == 0 {
                    // Nothing to add: a pointless WouldCycle.
                    return Ok(());
                }
                let real = g.add_subregion(
                    m.regions[c].handle,
                    RegionOffset(units * UNIT),
                    m.regions[s].handle,
                    Priority(priority),
                );
                let expected = if !m.live(c) {
                    Err(STALE_REGION)
                } else if !matches!(m.regions[c].kind, MKind::Container { .. }) {
                    Err(Error::NotAContainer)
                } else if !m.live(s) {
                    Err(STALE_REGION)
                } else if m.regions[s].container.is_some() {
                    Err(Error::AlreadyMapped)
                } else if m.reaches(s, c) {
                    Err(Error::WouldCycle)
                } else {
                    Ok(())
                };
                if expected.is_ok() {
                    let seq = m.next_seq();
                    let node = &mut m.regions[s];
                    node.container = Some(c);
                    node.addr = units * UNIT;
                    node.priority = priority;
                    node.seq = seq;
                }
                (expected, real)
            }
            Op::Remove { sub, wrong } => {
                let s = m.pick(sub, |_, n| n.alive && n.container.is_some());
                let c = match m.regions[s].container {
                    Some(c) if !wrong => c,
                    Some(c) if c != 0 => 0,
                    _ => s,
                };
                let real = g.remove_subregion(m.regions[c].handle, m.regions[s].handle);
                let expected = if !m.live(c) || !m.live(s) {
                    Err(STALE_REGION)
                } else if m.regions[s].container != Some(c) {
                    Err(Error::NotMapped)
                } else {
                    Ok(())
                };
                if expected.is_ok() {
                    m.regions[s].container = None;
                }
                (expected, real)
            }
            Op::SetEnabled { region, enabled } => {
                let r = m.pick(region, |_, n| n.alive && n.container.is_some());
                let real = g.set_enabled(m.regions[r].handle, enabled);
                let expected = if m.live(r) { Ok(()) } else { Err(STALE_REGION) };
                if expected.is_ok() {
                    m.regions[r].enabled = enabled;
                }
                (expected, real)
            }
            Op::SetAddress { region, units } => {
                let r = m.pick(region, |_, n| n.alive && n.container.is_some());
                let real = g.set_address(m.regions[r].handle, RegionOffset(units * UNIT));
                let expected = if m.live(r) { Ok(()) } else { Err(STALE_REGION) };
                if expected.is_ok() {
                    let seq = m.next_seq();
                    let node = &mut m.regions[r];
                    node.addr = units * UNIT;
                    if node.container.is_some() {
                        node.seq = seq;
                    }
                }
                (expected, real)
            }
            Op::SetPriority { region, priority } => {
                let r = m.pick(region, |_, n| n.alive && n.container.is_some());
                let real = g.set_priority(m.regions[r].handle, Priority(priority));
                let expected = if m.live(r) { Ok(()) } else { Err(STALE_REGION) };
                if expected.is_ok() {
                    let seq = m.next_seq();
                    let node = &mut m.regions[r];
                    node.priority = priority;
                    if node.container.is_some() {
                        node.seq = seq;
                    }
                }
                (expected, real)
            }
            Op::Retarget {
                alias,
                target,
                offset,
            } => {
                let x = m.pick(alias, |_, n| {
                    n.alive && matches!(n.kind, MKind::Alias { .. })
                });
                let t = m.pick(target, |_, n| n.alive);
                let real = g.set_alias_target(
                    m.regions[x].handle,
                    m.regions[t].handle,
                    RegionOffset(offset),
                );
                let expected = if !m.live(x) {
                    Err(STALE_REGION)
                } else if !matches!(m.regions[x].kind, MKind::Alias { .. }) {
                    Err(Error::NotAnAlias)
                } else if !m.live(t) {
                    Err(STALE_REGION)
                } else if m.reaches(t, x) {
                    Err(Error::WouldCycle)
                } else {
                    Ok(())
                };
                if expected.is_ok() {
                    m.regions[x].kind = MKind::Alias { target: t, offset };
                }
                (expected, real)
            }
            Op::DestroyRegion { region } => {
                // Never the root: an empty space is not an interesting case.
                let r = m.pick(region, |i, n| i != 0 && n.alive);
                if r == 0 {
                    return Ok(());
                }
                let real = g.destroy_region(m.regions[r].handle);
                let expected = if m.live(r) { Ok(()) } else { Err(STALE_REGION) };
                if expected.is_ok() {
                    m.destroy_region(r);
                }
                (expected, real)
            }
            Op::DestroyOwner { owner } => {
                let o = owner % no;
                let real = g.destroy_owner(m.owners[o].handle);
                let expected = if o == 0 {
                    Err(Error::RootOwner)
                } else if !m.owners[o].alive {
                    Err(STALE_OWNER)
                } else {
                    Ok(())
                };
                if expected.is_ok() {
                    for dead in m.subtree(o) {
                        m.owners[dead].alive = false;
                        for r in 0..m.regions.len() {
                            if m.regions[r].alive && m.regions[r].owner == dead {
                                m.destroy_region(r);
                            }
                        }
                    }
                }
                (expected, real)
            }
            Op::DmaMap { .. } | Op::DmaAccess { .. } | Op::DmaUnmap { .. } => {
                unreachable!("apply_dma took it")
            }
        };
        // A commit that could not publish (view too large) keeps the change staged: the
        // model has it too, and the comparison waits for a publish that succeeds.
        let real = match real {
            Err(Error::ViewFull { .. }) => Ok(()),
            other => other,
        };
        ensure_eq!(real, expected, "{:?}", op);
        Ok(())
    }

    /// Publishes anything staged and compares the view with the model. Returns false when
    /// the view could not be published (too many ranges).
    fn check(&self) -> Result<bool, String> {
        {
            let mut g = self.mem.lock();
            g.begin();
            match g.commit() {
                Ok(()) => {}
                Err(Error::ViewFull { .. }) => return Ok(false),
                Err(e) => return Err(format!("commit: {e}")),
            }
        }
        let section = self.mem.space(self.space).unwrap().section().unwrap();
        let view = section.view();
        let mut addrs: Vec<u64> = (0..ROOT_SIZE / UNIT)
            .flat_map(|u| [u * UNIT, u * UNIT + UNIT - 1])
            .collect();
        addrs.extend([ROOT_SIZE, ROOT_SIZE + UNIT - 1, u64::MAX]);
        for addr in addrs {
            let real = view.lookup(GuestAddress(addr)).map(|range| {
                (
                    range.region(),
                    range.offset_in_region().0 + (addr - range.start().0),
                )
            });
            // The root's own address counts too (it may have been mapped somewhere, or
            // moved, since a region's address is kept while it is unmapped).
            let root_addr = self.model.regions[0].addr;
            let expected = addr
                .checked_sub(root_addr)
                .and_then(|a| self.model.resolve(0, a))
                .map(|(r, offset)| (self.model.regions[r].handle, offset));
            ensure_eq!(real, expected, "at {:#x}\nmodel: {:#?}", addr, self.model);
        }
        Ok(true)
    }
}

/// Applies `ops` to a real memory and to the model, checking every result and the view
/// after each: the first disagreement, described.
///
/// Then it tears everything down through the same checks (every region but the root, then
/// every owner but the root, then every lease) and requires the pools back to what a fresh
/// memory holds: the root container and the root owner, nothing awaiting reclamation, every
/// RAM block handed back, no lease and no bounce buffer in use.
pub fn run(ops: &[Op]) -> Result<(), String> {
    let mut h = Harness::new();
    h.check_all()?;
    for op in ops {
        h.apply(op)?;
        h.check_all()?;
    }
    for r in 1..h.model.regions.len() {
        let region = Pick {
            raw: r,
            sensible: false,
        };
        h.apply(&Op::DestroyRegion { region })?;
        h.check_all()?;
    }
    for owner in 1..h.model.owners.len() {
        h.apply(&Op::DestroyOwner { owner })?;
        h.check_all()?;
    }
    // Every unplug so far waits for the leases that pin its RAM: each answers `Revoked`
    // now (or `Stale`, already unmapped); end them.
    for lease in 0..h.model.leases.len() {
        for write in [false, true] {
            h.apply(&Op::DmaAccess {
                lease,
                offset: 0,
                n: 0,
                write,
                seed: 0,
            })?;
        }
        h.apply(&Op::DmaUnmap { lease })?;
        h.check_all()?;
    }
    if (h.leases.active(), h.leases.bounce_in_use()) != (0, 0) {
        return Err(format!(
            "after teardown: {} leases, {} bounce buffers in use (want 0, 0)",
            h.leases.active(),
            h.leases.bounce_in_use()
        ));
    }
    let mut g = h.mem.lock();
    g.reclaim();
    while g.take_released_ram().is_some() {}
    g.reclaim();
    let left = (g.region_count(), g.owner_count(), g.awaiting_reclaim());
    if left != (1, 1, 0) {
        return Err(format!(
            "after teardown: {} regions, {} owners, {} awaiting reclaim (want 1, 1, 0)",
            left.0, left.1, left.2
        ));
    }
    Ok(())
}
