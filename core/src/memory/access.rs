//! The access side: reads and writes through an address space's published flat view (rules
//! L7 and L9).
//!
//! Every access runs inside a *read section*: the view it started with is pinned until it
//! ends, so a concurrent commit neither changes what it sees nor frees what it can reach.
//! [`AddressSpace`]'s methods open a section per call; a [`ReadSection`] keeps one open
//! across many accesses (a hart's time slice, a DMA burst) and caches the last range hit;
//! a [`CachedSection`] adds a direct-mapped cache of RAM pages on top (a software TLB).
//!
//! Bad accesses answer a [`MemTxResult`], never a panic: nothing mapped → decode error
//! (reads give 0); sizes or alignment outside the device's `valid` rules, or `accepts`
//! refusing → decode error without calling the device; a non-debug write to ROM or a
//! read-only range → decode error, contents unchanged.

use core::cell::Cell;

use super::addr::{AccessSize, GuestAddress, RegionOffset};
use super::flatview::{FlatRange, FlatView, Section, Target};
use super::ops::{Endianness, MmioOps};
use super::ram::RamPtr;
use super::topology::VIEW_COPIES;
use super::tx::{MemTxAttrs, MemTxResult};
use crate::atomic::AtomicU32;
use crate::grace::{Pinned, Published};
use crate::watch::WriteWatch;

/// A reader's handle on one address space. Cheap to copy; every method pins the current
/// view for the duration of one access.
#[derive(Clone, Copy)]
/// ```
/// use fief_core::memory::*;
///
/// let memory: Memory<'static, 8, 4, 1, 16> = Memory::new();
/// let mut g = memory.lock();
/// let root = g.root_owner()?;
/// let system = g.create_container(root, "system", RegionSize::FULL, None)?;
/// let block = RamBlock::new(Box::leak(vec![0u8; 4096].into_boxed_slice()));
/// let ram = g.create_ram(root, "ram", block).map_err(|r| r.error)?;
/// g.add_subregion(system, RegionOffset(0x8000_0000), ram, Priority(0))?;
/// let space = g.create_address_space(system, "memory")?;
/// drop(g);
///
/// let bus = memory.space(space).expect("made above");
/// let attrs = MemTxAttrs::UNSPECIFIED;
/// assert!(bus.write_buf(GuestAddress(0x8000_0000), b"fief", attrs).is_ok());
/// // Little-endian: the word's lowest byte is the first one.
/// let word = u64::from(u32::from_le_bytes(*b"fief"));
/// assert_eq!(bus.read(GuestAddress(0x8000_0000), AccessSize::Word, attrs), (word, MemTxResult::OK));
/// // A buffer that runs past the end of the RAM: its tail reaches nothing.
/// let mut buf = [0u8; 4];
/// assert_eq!(bus.read_buf(GuestAddress(0x8000_0ffe), &mut buf, attrs), MemTxResult::DECODE_ERROR);
/// // Which region answers at an address, and how much of it from there.
/// let found = bus.find(GuestAddress(0x8000_0010), 4).expect("mapped");
/// assert_eq!((found.region, found.offset_in_region, found.size), (ram, RegionOffset(0x10), 4));
/// # Ok::<(), Error>(())
/// ```
pub struct AddressSpace<'m, 'a, const F: usize> {
    views: &'m Published<FlatView<'a, F>, VIEW_COPIES>,
    /// The memory's count of DMA lease writes (see [`ReadSection::lease_writes`]).
    lease_writes: &'m WriteWatch,
}

impl<'m, 'a, const F: usize> AddressSpace<'m, 'a, F> {
    pub(crate) fn new(
        views: &'m Published<FlatView<'a, F>, VIEW_COPIES>,
        lease_writes: &'m WriteWatch,
    ) -> Self {
        AddressSpace {
            views,
            lease_writes,
        }
    }

    /// Opens a read section on the current view. `None` only before the first commit that
    /// created this space, which cannot be observed through a [`SpaceId`](super::SpaceId).
    pub fn section(&self) -> Option<ReadSection<'m, 'a, F>> {
        self.views.pin().map(|pin| ReadSection {
            pin,
            last: Cell::new(0),
            lease_writes: self.lease_writes,
        })
    }

    /// Reads `size` bytes at `addr` (little-endian value).
    pub fn read(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        match self.section() {
            Some(s) => s.read(addr, size, attrs),
            None => (0, MemTxResult::DECODE_ERROR),
        }
    }

    /// Writes the low `size` bytes of `value` at `addr`.
    pub fn write(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        value: u64,
        attrs: MemTxAttrs,
    ) -> MemTxResult {
        match self.section() {
            Some(s) => s.write(addr, size, value, attrs),
            None => MemTxResult::DECODE_ERROR,
        }
    }

    /// Reads `buf.len()` bytes from `addr`.
    pub fn read_buf(&self, addr: GuestAddress, buf: &mut [u8], attrs: MemTxAttrs) -> MemTxResult {
        match self.section() {
            Some(s) => s.read_buf(addr, buf, attrs),
            None => {
                buf.fill(0);
                MemTxResult::DECODE_ERROR
            }
        }
    }

    /// Writes `data` at `addr`.
    pub fn write_buf(&self, addr: GuestAddress, data: &[u8], attrs: MemTxAttrs) -> MemTxResult {
        match self.section() {
            Some(s) => s.write_buf(addr, data, attrs),
            None => MemTxResult::DECODE_ERROR,
        }
    }

    /// See [`FlatView::find`].
    pub fn find(&self, addr: GuestAddress, size: u64) -> Option<Section> {
        self.section()?.view().find(addr, size)
    }

    /// The current view's generation (0 before the first publish).
    pub fn generation(&self) -> u32 {
        self.section().map_or(0, |s| s.view().generation())
    }
}

/// A pinned view of an address space: accesses through it all see the same topology, and
/// nothing they can reach is reused until the section is dropped.
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
/// let block = RamBlock::new(Box::leak(vec![9u8; 4096].into_boxed_slice()));
/// let ram = g.create_ram(dev, "dev-ram", block).map_err(|r| r.error)?;
/// g.add_subregion(system, RegionOffset(0x1000), ram, Priority(0))?;
/// let space = g.create_address_space(system, "memory")?;
/// drop(g);
/// let bus = memory.space(space).expect("made above");
/// let at = GuestAddress(0x1000);
///
/// let section = bus.section().expect("published"); // pins the current view (L7)
/// memory.lock().destroy_owner(dev)?; // unplug: a new view without the RAM
/// // New accesses see the new view; the section still sees the one it started with, and the
/// // RAM block is not reclaimed while it is open.
/// assert_eq!(bus.read(at, AccessSize::Byte, attrs).1, MemTxResult::DECODE_ERROR);
/// assert_eq!(section.read(at, AccessSize::Byte, attrs), (9, MemTxResult::OK));
/// assert_eq!(section.cached::<4>().read(at, AccessSize::Byte, attrs), (9, MemTxResult::OK));
/// let mut g = memory.lock();
/// assert!(!g.unplug_complete(dev));
/// assert!(g.take_released_ram().is_none());
/// drop(section); // the grace period ends
/// assert!(g.unplug_complete(dev));
/// assert!(g.take_released_ram().is_some());
/// # Ok::<(), Error>(())
/// ```
pub struct ReadSection<'m, 'a, const F: usize> {
    pin: Pinned<'m, FlatView<'a, F>, VIEW_COPIES>,
    /// Index of the range the last access hit: a TLB of one entry.
    last: Cell<usize>,
    lease_writes: &'m WriteWatch,
}

impl<'a, const F: usize> ReadSection<'_, 'a, F> {
    /// The pinned flat view.
    pub fn view(&self) -> &FlatView<'a, F> {
        &self.pin
    }

    /// The epoch the pinned view was published at.
    pub fn epoch(&self) -> u32 {
        self.pin.epoch()
    }

    /// How many times guest RAM (or ROM) of this memory was written other than through a
    /// CPU's own host pointers (wrapping): every write of a DMA lease
    /// ([`LeaseTable`](super::LeaseTable)) and every write to RAM or ROM through a
    /// section's [`write`](ReadSection::write) or [`write_buf`](ReadSection::write_buf)
    /// (debuggers, loaders, devices that write guest memory that way). A CPU's
    /// decoded-code cache compares it to see code written behind its back. A relaxed load,
    /// cheap enough for every block entry: a reader that sees a new count puts
    /// `fence(Acquire)` before it reads the memory, and then sees the bytes written before
    /// the count moved (they were counted with `Release`).
    #[inline]
    pub fn lease_writes(&self) -> u32 {
        self.lease_writes.writes()
    }

    /// Counts a write to RAM or ROM through this section ([`ReadSection::lease_writes`]),
    /// after the bytes are written, and tells the watching harts
    /// ([`WriteWatch::note_write`]).
    #[inline]
    fn note_ram_write(&self) {
        self.lease_writes.note_write();
    }

    /// The atomic behind [`ReadSection::lease_writes`] (the block executor reads it
    /// directly).
    pub fn lease_writes_counter(&self) -> &AtomicU32 {
        self.lease_writes.counter()
    }

    /// The count behind [`ReadSection::lease_writes`] with its watchers: a hart running
    /// translated code watches it for a time slice ([`WriteWatch::watching`]).
    pub fn write_watch(&self) -> &WriteWatch {
        self.lease_writes
    }

    /// The range that holds all of `[addr, addr + n)`, trying the last one hit first.
    #[inline]
    fn range_for(&self, addr: u64, n: u64) -> Option<&FlatRange<'a>> {
        let ranges = self.pin.ranges();
        if let Some(r) = ranges.get(self.last.get()) {
            if r.start <= addr
                && addr.wrapping_add(n - 1) <= r.last
                && addr <= addr.wrapping_add(n - 1)
            {
                return Some(r);
            }
        }
        let index = self.pin.lookup_index(addr)?;
        let r = &ranges[index];
        self.last.set(index);
        (addr.checked_add(n - 1)? <= r.last).then_some(r)
    }

    /// Reads `size` bytes at `addr` (little-endian value).
    #[inline]
    pub fn read(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        // Fast path, small enough to inline into the caller's loop: one range, memory-backed,
        // in bounds. Everything else (MMIO, holes, splits, errors) takes the general path.
        let n = size.bytes() as u64;
        if let Some(range) = self.range_for(addr.0, n) {
            if let Target::Ram(ram) | Target::Rom(ram) | Target::RomD(ram, _) = range.target {
                let offset = range.offset_in_region + (addr.0 - range.start);
                if offset.checked_add(n).is_some_and(|end| end <= ram.len()) {
                    // SAFETY: in bounds (checked just above); the block is alive because the
                    // view holding this pointer is pinned (rule L7).
                    return (unsafe { ram.load(offset, size) }, MemTxResult::OK);
                }
            }
        }
        self.read_general(addr, size, attrs)
    }

    /// [`ReadSection::read`] for every case, kept out of line.
    #[inline(never)]
    fn read_general(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        let n = size.bytes() as u64;
        let Some(range) = self.range_for(addr.0, n) else {
            return self.read_split(addr, size, attrs);
        };
        let offset = range.offset_in_region + (addr.0 - range.start);
        match range.target {
            // In-bounds memory reads took the fast path in `read`; what reaches here lies
            // outside its block, which only a renderer bug could produce: a bus error.
            Target::Ram(_) | Target::Rom(_) | Target::RomD(..) => (0, MemTxResult::ERROR),
            Target::Mmio(ops) => mmio_read(ops, RegionOffset(offset), size, attrs),
            Target::Reservation | Target::Nothing => (0, MemTxResult::DECODE_ERROR),
        }
    }

    /// Writes the low `size` bytes of `value` at `addr`.
    #[inline]
    pub fn write(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        value: u64,
        attrs: MemTxAttrs,
    ) -> MemTxResult {
        // Fast path: one writable RAM range, in bounds; the rest takes the general path.
        let n = size.bytes() as u64;
        if let Some(range) = self.range_for(addr.0, n) {
            if let Target::Ram(ram) = range.target {
                let offset = range.offset_in_region + (addr.0 - range.start);
                if !range.readonly && offset.checked_add(n).is_some_and(|end| end <= ram.len()) {
                    // SAFETY: in bounds (checked); the block is alive while the view is pinned.
                    unsafe { ram.store(offset, size, value) };
                    self.note_ram_write();
                    return MemTxResult::OK;
                }
            }
        }
        self.write_general(addr, size, value, attrs)
    }

    /// [`ReadSection::write`] for every case, kept out of line.
    #[inline(never)]
    fn write_general(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        value: u64,
        attrs: MemTxAttrs,
    ) -> MemTxResult {
        let n = size.bytes() as u64;
        let Some(range) = self.range_for(addr.0, n) else {
            let bytes = value.to_le_bytes();
            return self.write_buf(addr, &bytes[..n as usize], attrs);
        };
        let offset = range.offset_in_region + (addr.0 - range.start);
        let debug = attrs.is_debug();
        let direct = match range.target {
            Target::Ram(ram) if !range.readonly || debug => Some(ram),
            Target::Rom(ram) | Target::RomD(ram, _) if debug => Some(ram),
            Target::Ram(_) | Target::Rom(_) => return MemTxResult::DECODE_ERROR,
            Target::RomD(_, ops) | Target::Mmio(ops) => {
                if range.readonly && !debug {
                    return MemTxResult::DECODE_ERROR;
                }
                return mmio_write(ops, RegionOffset(offset), size, value, attrs);
            }
            Target::Reservation | Target::Nothing => return MemTxResult::DECODE_ERROR,
        };
        match direct {
            Some(ram) if offset.checked_add(n).is_some_and(|end| end <= ram.len()) => {
                // SAFETY: in bounds (checked); the block is alive while the view is pinned.
                unsafe { ram.store(offset, size, value) };
                self.note_ram_write();
                MemTxResult::OK
            }
            _ => MemTxResult::ERROR,
        }
    }

    /// A scalar read that crosses a range boundary (or the end of the space): byte-wise
    /// through the buffer path, results OR-ed.
    fn read_split(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        let mut bytes = [0u8; 8];
        let result = self.read_buf(addr, &mut bytes[..size.bytes() as usize], attrs);
        (u64::from_le_bytes(bytes), result)
    }

    /// Reads `buf.len()` bytes from `addr`. Unmapped bytes read as 0 and make the result a
    /// decode error; MMIO is read in the largest accesses its rules allow.
    pub fn read_buf(&self, addr: GuestAddress, buf: &mut [u8], attrs: MemTxAttrs) -> MemTxResult {
        self.walk(addr, buf.len(), |chunk_addr, range, at, len| {
            let out = &mut buf[at..at + len];
            let Some(range) = range else {
                out.fill(0);
                return MemTxResult::DECODE_ERROR;
            };
            let offset = range.offset_in_region + (chunk_addr - range.start);
            match range.target {
                Target::Ram(ram) | Target::Rom(ram) | Target::RomD(ram, _) => {
                    if offset
                        .checked_add(len as u64)
                        .is_some_and(|end| end <= ram.len())
                    {
                        // SAFETY: in bounds (checked); block alive while the view is pinned.
                        unsafe { ram.copy_to(offset, out) };
                        MemTxResult::OK
                    } else {
                        out.fill(0);
                        MemTxResult::ERROR
                    }
                }
                Target::Mmio(ops) => {
                    let mut result = MemTxResult::OK;
                    let mut done = 0;
                    while done < len {
                        let at_offset = offset + done as u64;
                        let size = mmio_chunk(ops, at_offset, len - done);
                        let (value, r) = mmio_read(ops, RegionOffset(at_offset), size, attrs);
                        let n = size.bytes() as usize;
                        out[done..done + n].copy_from_slice(&value.to_le_bytes()[..n]);
                        result |= r;
                        done += n;
                    }
                    result
                }
                Target::Reservation | Target::Nothing => {
                    out.fill(0);
                    MemTxResult::DECODE_ERROR
                }
            }
        })
    }

    /// Writes `data` at `addr`. Unmapped or read-only bytes are skipped and make the result
    /// a decode error; the rest is written.
    pub fn write_buf(&self, addr: GuestAddress, data: &[u8], attrs: MemTxAttrs) -> MemTxResult {
        let debug = attrs.is_debug();
        self.walk(addr, data.len(), |chunk_addr, range, at, len| {
            let input = &data[at..at + len];
            let Some(range) = range else {
                return MemTxResult::DECODE_ERROR;
            };
            let offset = range.offset_in_region + (chunk_addr - range.start);
            let ram = match range.target {
                Target::Ram(ram) if !range.readonly || debug => ram,
                Target::Rom(ram) | Target::RomD(ram, _) if debug => ram,
                Target::RomD(_, ops) | Target::Mmio(ops) if !range.readonly || debug => {
                    let mut result = MemTxResult::OK;
                    let mut done = 0;
                    while done < len {
                        let at_offset = offset + done as u64;
                        let size = mmio_chunk(ops, at_offset, len - done);
                        let n = size.bytes() as usize;
                        let mut bytes = [0u8; 8];
                        bytes[..n].copy_from_slice(&input[done..done + n]);
                        result |= mmio_write(
                            ops,
                            RegionOffset(at_offset),
                            size,
                            u64::from_le_bytes(bytes),
                            attrs,
                        );
                        done += n;
                    }
                    return result;
                }
                _ => return MemTxResult::DECODE_ERROR,
            };
            if offset
                .checked_add(len as u64)
                .is_some_and(|end| end <= ram.len())
            {
                // SAFETY: in bounds (checked); block alive while the view is pinned.
                unsafe { ram.copy_from(offset, input) };
                self.note_ram_write();
                MemTxResult::OK
            } else {
                MemTxResult::ERROR
            }
        })
    }

    /// Splits `[addr, addr + len)` at flat-range boundaries and calls `chunk(address, range
    /// or None for a hole, position in the buffer, length)`, OR-ing the results. Bytes past
    /// the end of the 64-bit space are a decode error.
    fn walk(
        &self,
        addr: GuestAddress,
        len: usize,
        mut chunk: impl FnMut(u64, Option<&FlatRange<'a>>, usize, usize) -> MemTxResult,
    ) -> MemTxResult {
        let view = self.view();
        let mut result = MemTxResult::OK;
        let mut done = 0usize;
        while done < len {
            let Some(cur) = addr.0.checked_add(done as u64) else {
                // Wrapped past 2^64: the rest addresses nothing.
                result |= chunk(0, None, done, len - done);
                break;
            };
            let remaining = (len - done) as u64;
            let (range, span) = match view.lookup_index(cur) {
                Some(i) => {
                    let r = &view.ranges()[i];
                    (Some(r), (r.last - cur).saturating_add(1).min(remaining))
                }
                None => {
                    let hole = match view.next_covered(cur) {
                        Some(next) => next - cur,
                        None => u64::MAX,
                    };
                    (None, hole.min(remaining))
                }
            };
            let span = span as usize;
            result |= chunk(cur, range, done, span);
            done += span;
        }
        result
    }
}

/// The largest MMIO access, at most `remaining` bytes, that the device's `valid` rules allow
/// at `offset` (QEMU's `memory_access_size`).
fn mmio_chunk(ops: &dyn MmioOps, offset: u64, remaining: usize) -> AccessSize {
    let valid = ops.rules().valid;
    let mut max = (valid.max.clamp(1, 8) as usize).min(remaining);
    if !valid.unaligned && offset != 0 {
        max = max.min(1 << offset.trailing_zeros().min(3));
    }
    let bytes = match max {
        8.. => 8,
        4..=7 => 4,
        2..=3 => 2,
        _ => 1,
    };
    AccessSize::from_bytes(bytes).unwrap_or(AccessSize::Byte)
}

/// Checks `valid` and `accepts`; `false` means decode error, no callback.
fn mmio_valid(
    ops: &dyn MmioOps,
    offset: RegionOffset,
    size: AccessSize,
    is_write: bool,
    attrs: MemTxAttrs,
) -> bool {
    let valid = ops.rules().valid;
    let n = size.bytes() as u64;
    if !valid.unaligned && !offset.0.is_multiple_of(n) {
        return false;
    }
    let (min, max) = (valid.min.max(1) as u64, valid.max.max(1) as u64);
    if n < min || n > max {
        return false;
    }
    ops.accepts(offset, size, is_write, attrs)
}

/// The callback size for an access of `n` bytes at `offset`: within `implemented`, and no
/// larger than the offset's alignment when the callbacks do not take unaligned accesses.
fn impl_size(ops: &dyn MmioOps, offset: u64, n: u32) -> u32 {
    let imp = ops.rules().implemented;
    let (min, max) = (imp.min.clamp(1, 8) as u32, imp.max.clamp(1, 8) as u32);
    let mut size = n.min(max).max(min);
    if !imp.unaligned && !offset.is_multiple_of(size as u64) {
        let align = 1u32 << offset.trailing_zeros().min(3);
        size = size.min(align).max(min);
    }
    size
}

/// Shift of the `i`-th byte's sub-access of `access` bytes within an `n`-byte value, in the
/// device's byte order (QEMU's `access_with_adjusted_size`). May be negative when the
/// callback is wider than the access.
fn sub_shift(endianness: Endianness, n: u32, access: u32, i: u32) -> i32 {
    match endianness {
        Endianness::Little => (i * 8) as i32,
        Endianness::Big => (n as i32 - access as i32 - i as i32) * 8,
    }
}

fn swap_to_bus(endianness: Endianness, value: u64, size: AccessSize) -> u64 {
    match endianness {
        Endianness::Little => value,
        Endianness::Big => value.swap_bytes() >> (64 - 8 * size.bytes()),
    }
}

/// The re-entrancy guard (rule L9): is this the device's own access reaching its own
/// registers? Such an access would nest a callback inside itself (or deadlock on the
/// device's lock); it is refused unless the device opts out.
fn reentrant(ops: &dyn MmioOps, attrs: MemTxAttrs) -> bool {
    ops.requester_id()
        .is_some_and(|id| id == attrs.requester_id)
        && !ops.allows_reentrancy()
}

/// An MMIO read with QEMU's `valid`/`implemented` handling and byte order.
pub(crate) fn mmio_read(
    ops: &dyn MmioOps,
    offset: RegionOffset,
    size: AccessSize,
    attrs: MemTxAttrs,
) -> (u64, MemTxResult) {
    if reentrant(ops, attrs) {
        return (0, MemTxResult::ACCESS_ERROR);
    }
    if !mmio_valid(ops, offset, size, false, attrs) {
        return (0, MemTxResult::DECODE_ERROR);
    }
    let rules = ops.rules();
    let n = size.bytes();
    let access = impl_size(ops, offset.0, n);
    let access_size = AccessSize::from_bytes(access).unwrap_or(AccessSize::Byte);
    let mut value = 0u64;
    let mut result = MemTxResult::OK;
    let mut i = 0;
    while i < n {
        let (part, r) = ops.read(RegionOffset(offset.0 + i as u64), access_size, attrs);
        let part = part & access_size.value_mask();
        let shift = sub_shift(rules.endianness, n, access, i);
        value |= if shift >= 0 {
            part << shift
        } else {
            part >> -shift
        };
        result |= r;
        i += access;
    }
    (
        swap_to_bus(rules.endianness, value & size.value_mask(), size),
        result,
    )
}

/// An MMIO write with QEMU's `valid`/`implemented` handling and byte order.
pub(crate) fn mmio_write(
    ops: &dyn MmioOps,
    offset: RegionOffset,
    size: AccessSize,
    value: u64,
    attrs: MemTxAttrs,
) -> MemTxResult {
    if reentrant(ops, attrs) {
        return MemTxResult::ACCESS_ERROR;
    }
    if !mmio_valid(ops, offset, size, true, attrs) {
        return MemTxResult::DECODE_ERROR;
    }
    let rules = ops.rules();
    let n = size.bytes();
    let value = swap_to_bus(rules.endianness, value & size.value_mask(), size);
    let access = impl_size(ops, offset.0, n);
    let access_size = AccessSize::from_bytes(access).unwrap_or(AccessSize::Byte);
    let mut result = MemTxResult::OK;
    let mut i = 0;
    while i < n {
        let shift = sub_shift(rules.endianness, n, access, i);
        let part = if shift >= 0 {
            value >> shift
        } else {
            value << -shift
        } & access_size.value_mask();
        result |= ops.write(RegionOffset(offset.0 + i as u64), part, access_size, attrs);
        i += access;
    }
    result
}

impl<const F: usize> ReadSection<'_, '_, F> {
    /// The host memory behind all of `[addr, addr + len)` when one RAM, ROM or ROM-device
    /// range backs it, and whether writes may go there directly (RAM not read-only): a
    /// CPU's TLB fill. The pointer is valid while this section is pinned (rule L7).
    pub(crate) fn ram_backing(
        &self,
        addr: u64,
        len: u64,
    ) -> Option<(core::ptr::NonNull<u8>, bool)> {
        if len == 0 {
            return None;
        }
        let range = self.range_for(addr, len)?;
        let offset = range.offset_in_region + (addr - range.start);
        let (ram, writable) = match range.target {
            Target::Ram(ram) => (ram, !range.readonly),
            Target::Rom(ram) | Target::RomD(ram, _) => (ram, false),
            _ => return None,
        };
        if offset.checked_add(len)? > ram.len() {
            return None;
        }
        Some((ram.host_ptr(offset)?, writable))
    }
}

/// Bytes of one [`CachedSection`] page.
pub const CACHED_PAGE: u64 = 4096;

/// One page of a [`CachedSection`]: the page number and the host memory behind it.
#[derive(Clone, Copy)]
struct CachedPage {
    /// `addr / CACHED_PAGE` of the page, or `u64::MAX` when the entry is empty (no page
    /// number reaches it).
    page: u64,
    /// The page's [`CACHED_PAGE`] bytes in the RAM block that backs all of it.
    ram: Option<RamPtr>,
    /// Plain writes may go to the block (RAM that is not read-only).
    writable: bool,
}

impl CachedPage {
    const EMPTY: CachedPage = CachedPage {
        page: u64::MAX,
        ram: None,
        writable: false,
    };
}

/// A [`ReadSection`] with a cache of `N` RAM pages (`N` a power of two, at least 2; two
/// ways per set, the most recently filled first): a software TLB for device models and DMA
/// loops that hop between regions.
///
/// An access whose 4 KiB page is cached, and that stays inside it, is a tag compare and a
/// host load or store; everything else goes through the section (its last-range cache,
/// then the flat view's lookup) and fills the cache when one memory range backs the whole
/// page. Pages of MMIO, of ranges smaller than a page and of holes are never cached, so
/// they behave exactly as through the section. The cache borrows the section, so its
/// pointers cannot outlive the pinned view (rule L7); a new section starts a new cache.
///
/// ```text
/// let section = space.section()?;
/// let mut cached = section.cached::<1024>();
/// let (v, r) = cached.read(addr, AccessSize::Word, attrs);
/// ```
pub struct CachedSection<'s, 'm, 'a, const F: usize, const N: usize> {
    section: &'s ReadSection<'m, 'a, F>,
    pages: [CachedPage; N],
}

impl<'m, 'a, const F: usize> ReadSection<'m, 'a, F> {
    /// This section with an (empty) cache of `N` RAM pages: see [`CachedSection`].
    pub fn cached<const N: usize>(&self) -> CachedSection<'_, 'm, 'a, F, N> {
        const {
            assert!(
                N.is_power_of_two() && N >= 2,
                "the page cache size must be a power of two, at least 2"
            )
        };
        CachedSection {
            section: self,
            pages: [CachedPage::EMPTY; N],
        }
    }
}

impl<'m, 'a, const F: usize, const N: usize> CachedSection<'_, 'm, 'a, F, N> {
    /// The section the cache reads through.
    pub fn section(&self) -> &ReadSection<'m, 'a, F> {
        self.section
    }

    /// The first entry of page number `page`'s set (the set's two ways are this entry and
    /// the next). Fibonacci hashing (the top bits of the page number times 2^64 / φ), so
    /// that regions at power-of-two strides (devices 1 MiB apart) spread over all the sets
    /// instead of sharing a few.
    #[inline(always)]
    fn set(page: u64) -> usize {
        let sets = N / 2;
        let hash = page.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> ((64 - sets.trailing_zeros()) & 63);
        2 * (hash as usize & (sets - 1))
    }

    /// The cached host memory of `addr`'s page, and whether it is writable, if the page is
    /// cached and `[addr, addr + n)` stays inside it.
    #[inline(always)]
    fn hit(&self, addr: u64, n: u64) -> Option<(RamPtr, bool)> {
        let page = addr / CACHED_PAGE;
        if addr % CACHED_PAGE + n > CACHED_PAGE {
            return None;
        }
        let set = Self::set(page);
        let e = &self.pages[set];
        let e = if e.page == page {
            e
        } else {
            let e = &self.pages[(set + 1) & (N - 1)];
            if e.page != page {
                return None;
            }
            e
        };
        e.ram.map(|ram| (ram, e.writable))
    }

    /// Reads `size` bytes at `addr` (little-endian value), as [`ReadSection::read`].
    #[inline]
    pub fn read(
        &mut self,
        addr: GuestAddress,
        size: AccessSize,
        attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        if let Some((ram, _)) = self.hit(addr.0, size.bytes() as u64) {
            // SAFETY: `ram` is the page's `CACHED_PAGE` bytes (`RamPtr::sub` checked them
            // against the block when the entry was filled) and the access stays inside the
            // page (`hit`), so it is in bounds; the block is alive because the section this
            // cache borrows keeps its view pinned (rule L7).
            return (
                unsafe { ram.load(addr.0 % CACHED_PAGE, size) },
                MemTxResult::OK,
            );
        }
        self.fill(addr.0);
        self.section.read(addr, size, attrs)
    }

    /// Writes the low `size` bytes of `value` at `addr`, as [`ReadSection::write`].
    #[inline]
    pub fn write(
        &mut self,
        addr: GuestAddress,
        size: AccessSize,
        value: u64,
        attrs: MemTxAttrs,
    ) -> MemTxResult {
        if let Some((ram, true)) = self.hit(addr.0, size.bytes() as u64) {
            // SAFETY: as in `read`; writable means plain RAM that is not read-only, which
            // `ReadSection::write` would store to directly too.
            unsafe { ram.store(addr.0 % CACHED_PAGE, size, value) };
            return MemTxResult::OK;
        }
        self.fill(addr.0);
        self.section.write(addr, size, value, attrs)
    }

    /// Caches `addr`'s page if one RAM, ROM or ROM-device range backs all of it (in the
    /// first way of its set; the entry there moves to the second).
    #[inline(never)]
    fn fill(&mut self, addr: u64) {
        let page = addr / CACHED_PAGE;
        let start = page * CACHED_PAGE;
        let Some(range) = self.section.range_for(start, CACHED_PAGE) else {
            return;
        };
        let (ram, writable) = match range.target {
            Target::Ram(ram) => (ram, !range.readonly),
            Target::Rom(ram) | Target::RomD(ram, _) => (ram, false),
            _ => return,
        };
        let offset = range.offset_in_region + (start - range.start);
        let set = Self::set(page);
        if self.pages[set].page == page {
            return;
        }
        if let Some(ram) = ram.sub(offset, CACHED_PAGE) {
            self.pages[(set + 1) & (N - 1)] = self.pages[set];
            self.pages[set] = CachedPage {
                page,
                ram: Some(ram),
                writable,
            };
        }
    }
}
