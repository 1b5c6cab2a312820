//! DMA leases and bounce buffers (rule L8).
//!
//! A device that transfers data maps a range of an address space with
//! [`LeaseTable::map`] and gets a [`LeaseHandle`], reads or writes through it, and ends it
//! with [`LeaseTable::unmap`]. A lease over RAM reaches the host memory directly and
//! **pins the RAM block it resolved to** — not the containers it went through: the device
//! that owns the block can be unplugged meanwhile; its region leaves the flat view at the
//! commit, but the block is not reclaimed (not reused) until the lease ends, and the unplug
//! reports completion ([`TopologyGuard::unplug_complete`](super::TopologyGuard::unplug_complete))
//! only then. From the unplug on, the lease answers [`DmaError::Revoked`]: it never reaches
//! memory that was given to somebody else.
//!
//! A lease over MMIO, a ROM device, or ROM/read-only memory for writing goes through a
//! bounce buffer from a bounded pool: read leases are filled at map time, write leases write
//! back the first `bytes_done` bytes at unmap. An empty pool answers [`DmaError::Busy`];
//! [`LeaseTable::bounce_epoch`] changes whenever a buffer is freed, so a caller knows when
//! to retry. Like QEMU's `address_space_map`, a lease may be shorter than asked: it stops at
//! the end of the flat range (a region boundary) or of the bounce buffer.
//!
//! Writes through a lease are visible to the harts at once: a hart's TLB holds host pointers
//! to the same memory, so data needs nothing more. For code, every write through a lease
//! into RAM ([`LeaseTable::write`], a [`LeaseTable::copy`] into RAM, the write-back at
//! [`LeaseTable::unmap`]) counts in the memory's lease-write count
//! ([`ReadSection::lease_writes`](super::ReadSection::lease_writes)), after the bytes; a
//! hart compares the count at every decoded-block entry and checks its blocks against
//! memory again when it moved, so code written by DMA runs from the next block on.
//!
//! Leases live in a fixed-size table with generational handles (rule L1, L2): a stale handle
//! answers [`DmaError::Stale`], a full table [`DmaError::TableFull`].

use crate::atomic::{AtomicU32, Ordering};
use core::fmt;

use super::addr::GuestAddress;
use super::flatview::Target;
use super::ram::RamPtr;
use super::region::RegionHandle;
use super::topology::{Memory, SpaceId};
use super::tx::{MemTxAttrs, MemTxResult};
use crate::pool::{Handle, Pool};

/// Which way a transfer moves data.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaDirection {
    /// The device reads guest memory (memory → device).
    ToDevice,
    /// The device writes guest memory (device → memory).
    FromDevice,
}

/// Why a DMA operation was refused.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DmaError {
    /// Every bounce buffer is in use; retry once [`LeaseTable::bounce_epoch`] changes.
    Busy,
    /// The lease table is full.
    TableFull,
    /// The lease handle was unmapped (or never existed).
    Stale,
    /// The region behind the lease was destroyed; the lease reaches nothing any more and
    /// should be unmapped.
    Revoked,
    /// Nothing is mapped at this address.
    Unassigned {
        /// The address.
        addr: GuestAddress,
    },
    /// An access through the lease past its mapped length.
    OutOfLease {
        /// Mapped length of the lease.
        len: u64,
    },
    /// The address space does not exist.
    NoSuchSpace,
    /// Filling or writing back a bounce buffer failed on the bus.
    Bus(MemTxResult),
    /// Zero-length mapping.
    Empty,
}

impl fmt::Display for DmaError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DmaError::Busy => f.write_str("every bounce buffer is in use; retry later"),
            DmaError::TableFull => f.write_str("the DMA lease table is full"),
            DmaError::Stale => f.write_str("stale DMA lease handle"),
            DmaError::Revoked => f.write_str("the memory behind the lease was unplugged"),
            DmaError::Unassigned { addr } => write!(f, "nothing is mapped at {addr}"),
            DmaError::OutOfLease { len } => write!(f, "access past the lease's {len} bytes"),
            DmaError::NoSuchSpace => f.write_str("no such address space"),
            DmaError::Bus(r) => write!(f, "bus error while bouncing: {r}"),
            DmaError::Empty => f.write_str("empty DMA mapping"),
        }
    }
}

impl core::error::Error for DmaError {}

/// Handle-kind marker for leases.
#[derive(Debug)]
pub enum LeaseTag {}

/// A handle to a DMA lease.
pub type LeaseHandle = Handle<LeaseTag>;

/// What [`LeaseTable::map`] granted.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The lease.
    pub handle: LeaseHandle,
    /// Bytes mapped (possibly fewer than asked).
    pub len: u64,
    /// True if the lease goes through a bounce buffer rather than straight to RAM.
    pub bounced: bool,
    /// The RAM/ROM region a direct lease resolved to (`None` when bounced). An engine that
    /// moves through a long transfer chunk by chunk compares it with the previous chunk's
    /// region to notice that the memory it was writing was unplugged and something else
    /// now answers at the same address.
    pub region: Option<RegionHandle>,
}

#[derive(Clone, Copy)]
enum Backing {
    Ram {
        ram: RamPtr,
        offset: u64,
        region: RegionHandle,
    },
    Bounce {
        index: usize,
    },
}

#[derive(Clone, Copy)]
struct LeaseState {
    space: SpaceId,
    addr: GuestAddress,
    len: u64,
    direction: DmaDirection,
    attrs: MemTxAttrs,
    backing: Backing,
}

/// A table of up to `L` DMA leases and `B` bounce buffers of `BS` bytes each, for one
/// [`Memory`]. Heap-free; a `static` or a field.
///
/// ```
/// use fief_core::memory::*;
///
/// let memory: Memory<'static, 8, 4, 1, 16> = Memory::new();
/// let attrs = MemTxAttrs::UNSPECIFIED;
/// let mut g = memory.lock();
/// let root = g.root_owner()?;
/// let system = g.create_container(root, "system", RegionSize::FULL, None)?;
/// let dev = g.create_owner(root, "dev")?;
/// let block = RamBlock::new(Box::leak(vec![0u8; 4096].into_boxed_slice()));
/// let ram = g.create_ram(dev, "dev-ram", block).map_err(|r| r.error)?;
/// g.add_subregion(system, RegionOffset(0x1000), ram, Priority(0))?;
/// let space = g.create_address_space(system, "memory")?;
/// drop(g);
///
/// // 4 leases, 1 bounce buffer of 64 bytes.
/// let leases: LeaseTable<4, 1, 64> = LeaseTable::new();
/// let lease = leases.map(&memory, space, GuestAddress(0x1000), 16, DmaDirection::FromDevice, attrs)?;
/// assert!(!lease.bounced); // straight to the RAM, which the lease pins
/// leases.write(&memory, lease.handle, 0, b"dma!")?;
/// let bus = memory.space(space).expect("made above");
/// let word = u64::from(u32::from_le_bytes(*b"dma!"));
/// assert_eq!(bus.read(GuestAddress(0x1000), AccessSize::Word, attrs), (word, MemTxResult::OK));
///
/// // Unplug while the lease holds: unmapped at once, the lease answers `Revoked`, and the
/// // block is reclaimed only once the lease ends (L8).
/// memory.lock().destroy_owner(dev)?;
/// assert_eq!(leases.write(&memory, lease.handle, 0, b"late"), Err(DmaError::Revoked));
/// assert!(!memory.lock().unplug_complete(dev));
/// leases.unmap(&memory, lease.handle, 0)?;
/// assert!(memory.lock().unplug_complete(dev));
/// assert_eq!(leases.active(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct LeaseTable<const L: usize, const B: usize, const BS: usize> {
    leases: crate::lock::Mutex<Pool<LeaseTag, LeaseState, L>>,
    buffers: [crate::lock::Mutex<[u8; BS]>; B],
    /// Bit `i` set: bounce buffer `i` is in use.
    bounce_busy: AtomicU32,
    bounce_epoch: AtomicU32,
}

impl<const L: usize, const B: usize, const BS: usize> Default for LeaseTable<L, B, BS> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const L: usize, const B: usize, const BS: usize> LeaseTable<L, B, BS> {
    /// An empty table.
    pub const fn new() -> Self {
        assert!(B <= 32, "at most 32 bounce buffers");
        assert!(BS > 0, "bounce buffers need bytes");
        LeaseTable {
            leases: crate::lock::Mutex::new(Pool::new()),
            buffers: [const { crate::lock::Mutex::new([0; BS]) }; B],
            bounce_busy: AtomicU32::new(0),
            bounce_epoch: AtomicU32::new(0),
        }
    }

    /// Leases currently mapped.
    pub fn active(&self) -> usize {
        self.leases.lock().len()
    }

    /// How many leases the table holds at most.
    pub const CAPACITY: usize = L;

    /// How many bounce buffers the table has.
    pub const BOUNCE_BUFFERS: usize = B;

    /// Bounce buffers currently in use.
    pub fn bounce_in_use(&self) -> usize {
        self.bounce_busy.load(Ordering::SeqCst).count_ones() as usize
    }

    /// Changes every time a bounce buffer is freed: a caller that got [`DmaError::Busy`]
    /// retries once this differs from the value it read before mapping.
    pub fn bounce_epoch(&self) -> u32 {
        self.bounce_epoch.load(Ordering::SeqCst)
    }

    fn take_bounce(&self) -> Option<usize> {
        let mut busy = self.bounce_busy.load(Ordering::SeqCst);
        loop {
            let free = (!busy).trailing_zeros() as usize;
            if free >= B {
                return None;
            }
            match self.bounce_busy.compare_exchange(
                busy,
                busy | 1 << free,
                Ordering::SeqCst,
                Ordering::SeqCst,
            ) {
                Ok(_) => return Some(free),
                Err(now) => busy = now,
            }
        }
    }

    fn free_bounce(&self, index: usize) {
        self.bounce_busy.fetch_and(!(1 << index), Ordering::SeqCst);
        self.bounce_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Maps `[addr, addr + len)` of `space` for a transfer in `direction`. The lease may be
    /// shorter than `len` (see the module docs).
    pub fn map<'a, const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        memory: &Memory<'a, R, O, S, F>,
        space: SpaceId,
        addr: GuestAddress,
        len: u64,
        direction: DmaDirection,
        attrs: MemTxAttrs,
    ) -> Result<Lease, DmaError> {
        if len == 0 {
            return Err(DmaError::Empty);
        }
        let section = memory
            .space(space)
            .and_then(|s| s.section())
            .ok_or(DmaError::NoSuchSpace)?;
        let range = *section
            .view()
            .lookup(addr)
            .ok_or(DmaError::Unassigned { addr })?;
        let in_range = (range.last - addr.0).saturating_add(1).min(len);
        let offset = range.offset_in_region + (addr.0 - range.start);
        let writing = direction == DmaDirection::FromDevice;
        let direct = match range.target {
            Target::Ram(ram) if !(writing && range.readonly) => Some(ram),
            Target::Rom(ram) | Target::RomD(ram, _) if !writing => Some(ram),
            _ => None,
        };
        if let Some(ram) = direct {
            if offset
                .checked_add(in_range)
                .is_none_or(|end| end > ram.len())
            {
                return Err(DmaError::Bus(MemTxResult::ERROR));
            }
            let region = range.region();
            // Pinned while the section still holds the view that shows the region, so the
            // block cannot have been reclaimed yet; from here on the pin keeps it (L8).
            if !memory.pin_region(region) {
                return Err(DmaError::Revoked);
            }
            let state = LeaseState {
                space,
                addr,
                len: in_range,
                direction,
                attrs,
                backing: Backing::Ram {
                    ram,
                    offset,
                    region,
                },
            };
            return match self.leases.lock().insert(state) {
                Ok(handle) => Ok(Lease {
                    handle,
                    len: in_range,
                    bounced: false,
                    region: Some(region),
                }),
                Err(_) => {
                    memory.unpin_region(region);
                    Err(DmaError::TableFull)
                }
            };
        }
        let index = self.take_bounce().ok_or(DmaError::Busy)?;
        let bounced = in_range.min(BS as u64);
        if !writing {
            let mut buffer = self.buffers[index].lock();
            let r = section.read_buf(addr, &mut buffer[..bounced as usize], attrs);
            if !r.is_ok() {
                drop(buffer);
                self.free_bounce(index);
                return Err(DmaError::Bus(r));
            }
        }
        let state = LeaseState {
            space,
            addr,
            len: bounced,
            direction,
            attrs,
            backing: Backing::Bounce { index },
        };
        match self.leases.lock().insert(state) {
            Ok(handle) => Ok(Lease {
                handle,
                len: bounced,
                bounced: true,
                region: None,
            }),
            Err(_) => {
                self.free_bounce(index);
                Err(DmaError::TableFull)
            }
        }
    }

    fn checked<'a, const R: usize, const O: usize, const S: usize, const F: usize>(
        memory: &Memory<'a, R, O, S, F>,
        state: &LeaseState,
        offset: u64,
        n: usize,
    ) -> Result<(), DmaError> {
        if let Backing::Ram { region, .. } = state.backing {
            if !memory.region_live(region) {
                return Err(DmaError::Revoked);
            }
        }
        match offset.checked_add(n as u64) {
            Some(end) if end <= state.len => Ok(()),
            _ => Err(DmaError::OutOfLease { len: state.len }),
        }
    }

    /// Reads `out.len()` bytes at `offset` into the lease.
    pub fn read<'a, const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        memory: &Memory<'a, R, O, S, F>,
        lease: LeaseHandle,
        offset: u64,
        out: &mut [u8],
    ) -> Result<(), DmaError> {
        let leases = self.leases.lock();
        let state = leases.get(lease).map_err(|_| DmaError::Stale)?;
        Self::checked(memory, state, offset, out.len())?;
        match state.backing {
            Backing::Ram {
                ram, offset: base, ..
            } => {
                // SAFETY: `base + offset + out.len() <= base + state.len <= ram.len()` (checked
                // at map time and just above); the block is pinned by this lease, which the
                // held table lock keeps from being unmapped meanwhile (L8).
                unsafe { ram.copy_to(base + offset, out) };
            }
            Backing::Bounce { index } => {
                let start = offset as usize;
                out.copy_from_slice(&self.buffers[index].lock()[start..start + out.len()]);
            }
        }
        Ok(())
    }

    /// Writes `data` at `offset` into the lease.
    pub fn write<'a, const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        memory: &Memory<'a, R, O, S, F>,
        lease: LeaseHandle,
        offset: u64,
        data: &[u8],
    ) -> Result<(), DmaError> {
        let leases = self.leases.lock();
        let state = leases.get(lease).map_err(|_| DmaError::Stale)?;
        Self::checked(memory, state, offset, data.len())?;
        match state.backing {
            Backing::Ram {
                ram, offset: base, ..
            } => {
                // SAFETY: as in `read`: in bounds, and pinned while the table lock is held.
                unsafe { ram.copy_from(base + offset, data) };
                memory.note_lease_write();
            }
            Backing::Bounce { index } => {
                let start = offset as usize;
                self.buffers[index].lock()[start..start + data.len()].copy_from_slice(data);
            }
        }
        Ok(())
    }

    /// Copies `n` bytes from lease `src` at `src_offset` to lease `dst` at `dst_offset`
    /// (a DMA engine's chunk: no intermediate buffer between two RAM leases). Checks both
    /// leases as [`LeaseTable::read`] and [`LeaseTable::write`] do.
    #[allow(clippy::too_many_arguments)]
    pub fn copy<'a, const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        memory: &Memory<'a, R, O, S, F>,
        src: LeaseHandle,
        src_offset: u64,
        dst: LeaseHandle,
        dst_offset: u64,
        n: usize,
    ) -> Result<(), DmaError> {
        let leases = self.leases.lock();
        let from = leases.get(src).map_err(|_| DmaError::Stale)?;
        let to = leases.get(dst).map_err(|_| DmaError::Stale)?;
        Self::checked(memory, from, src_offset, n)?;
        Self::checked(memory, to, dst_offset, n)?;
        let (s, d) = (src_offset as usize, dst_offset as usize);
        match (from.backing, to.backing) {
            (
                Backing::Ram {
                    ram: sram,
                    offset: sbase,
                    ..
                },
                Backing::Ram {
                    ram: dram,
                    offset: dbase,
                    ..
                },
            ) => {
                // SAFETY: both ranges in bounds (checked at map time and just above); both
                // blocks are pinned by their leases, which the held table lock keeps mapped.
                unsafe {
                    RamPtr::copy_between(sram, sbase + src_offset, dram, dbase + dst_offset, n)
                };
                memory.note_lease_write();
            }
            (Backing::Ram { ram, offset, .. }, Backing::Bounce { index }) => {
                let mut buffer = self.buffers[index].lock();
                // SAFETY: as in `read`.
                unsafe { ram.copy_to(offset + src_offset, &mut buffer[d..d + n]) };
            }
            (Backing::Bounce { index }, Backing::Ram { ram, offset, .. }) => {
                let buffer = self.buffers[index].lock();
                // SAFETY: as in `write`.
                unsafe { ram.copy_from(offset + dst_offset, &buffer[s..s + n]) };
                memory.note_lease_write();
            }
            (Backing::Bounce { index: i }, Backing::Bounce { index: j }) if i == j => {
                self.buffers[i].lock().copy_within(s..s + n, d);
            }
            (Backing::Bounce { index: i }, Backing::Bounce { index: j }) => {
                // Two live leases never share a buffer, and every buffer lock is taken under
                // the table lock, so locking both cannot deadlock.
                let from = self.buffers[i].lock();
                let mut to = self.buffers[j].lock();
                to[d..d + n].copy_from_slice(&from[s..s + n]);
            }
        }
        Ok(())
    }

    /// Ends a lease. For a bounced write lease the first `bytes_done` bytes are written back
    /// to the address space now (the result of that write comes back as `Bus` if it failed;
    /// the lease ends either way). A RAM lease releases its pin, which may let an unplug
    /// complete.
    pub fn unmap<'a, const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        memory: &Memory<'a, R, O, S, F>,
        lease: LeaseHandle,
        bytes_done: u64,
    ) -> Result<(), DmaError> {
        let state = self
            .leases
            .lock()
            .remove(lease)
            .map_err(|_| DmaError::Stale)?;
        match state.backing {
            Backing::Ram { region, .. } => {
                memory.unpin_region(region);
                Ok(())
            }
            Backing::Bounce { index } => {
                let mut result = MemTxResult::OK;
                if state.direction == DmaDirection::FromDevice {
                    let done = bytes_done.min(state.len) as usize;
                    let buffer = self.buffers[index].lock();
                    result = match memory.space(state.space) {
                        Some(space) => space.write_buf(state.addr, &buffer[..done], state.attrs),
                        None => MemTxResult::DECODE_ERROR,
                    };
                    memory.note_lease_write();
                }
                self.free_bounce(index);
                if result.is_ok() {
                    Ok(())
                } else {
                    Err(DmaError::Bus(result))
                }
            }
        }
    }
}
