//! Flat views: what an address space looks like after rendering (rule L6). A flat view is a
//! sorted array of non-overlapping [`FlatRange`]s, each saying which region answers for an
//! address range and how to reach it without touching the topology (the RAM pointer or the
//! callbacks are copied in), so readers never look at the region pool.

use super::addr::{GuestAddress, RegionOffset};
use super::ops::MmioOps;
use super::ram::RamPtr;
use super::region::{RegionHandle, RegionKind};
use crate::grace::ConstInit;

/// How an access reaches the region behind a flat range.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Nothing (only in unused array entries).
    Nothing,
    Ram(RamPtr),
    Rom(RamPtr),
    /// ROM device in ROMD mode: reads from memory, writes to callbacks.
    RomD(RamPtr, &'a dyn MmioOps),
    Mmio(&'a dyn MmioOps),
    Reservation,
}

impl PartialEq for Target<'_> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Target::Nothing, Target::Nothing) | (Target::Reservation, Target::Reservation) => true,
            (Target::Ram(a), Target::Ram(b)) | (Target::Rom(a), Target::Rom(b)) => a == b,
            (Target::RomD(a, x), Target::RomD(b, y)) => a == b && core::ptr::addr_eq(*x, *y),
            (Target::Mmio(x), Target::Mmio(y)) => core::ptr::addr_eq(*x, *y),
            _ => false,
        }
    }
}

/// One range of a flat view: `[start, last]` answered by `region` from `offset_in_region`.
#[derive(Clone, Copy, PartialEq)]
pub struct FlatRange<'a> {
    pub(crate) start: u64,
    pub(crate) last: u64,
    pub(crate) offset_in_region: u64,
    pub(crate) region: Option<RegionHandle>,
    pub(crate) readonly: bool,
    pub(crate) target: Target<'a>,
}

impl<'a> FlatRange<'a> {
    const EMPTY: FlatRange<'static> = FlatRange {
        start: 0,
        last: 0,
        offset_in_region: 0,
        region: None,
        readonly: false,
        target: Target::Nothing,
    };

    /// First address of the range.
    pub fn start(&self) -> GuestAddress {
        GuestAddress(self.start)
    }

    /// Last address of the range (inclusive: a range may end at 2^64 - 1).
    pub fn last(&self) -> GuestAddress {
        GuestAddress(self.last)
    }

    /// The terminating region that answers (for an alias, the aliased region).
    pub fn region(&self) -> RegionHandle {
        match self.region {
            Some(region) => region,
            None => unused_range(),
        }
    }

    /// Offset in the region of the range's first byte.
    pub fn offset_in_region(&self) -> RegionOffset {
        RegionOffset(self.offset_in_region)
    }

    /// True when writes are refused.
    pub fn readonly(&self) -> bool {
        self.readonly
    }

    /// What kind of region answers (RAM, ROM, ROM device, MMIO, container callbacks, or a
    /// reservation); a container serving its holes shows as `Mmio`.
    pub fn kind(&self) -> RegionKind {
        match self.target {
            Target::Ram(_) => RegionKind::Ram,
            Target::Rom(_) => RegionKind::Rom,
            Target::RomD(..) => RegionKind::RomDevice,
            Target::Mmio(_) | Target::Nothing => RegionKind::Mmio,
            Target::Reservation => RegionKind::Reservation,
        }
    }

    /// Number of bytes, minus one.
    pub(crate) fn span(&self) -> u64 {
        self.last - self.start
    }
}

#[cold]
fn unused_range() -> ! {
    // Every range in `FlatView::ranges()` comes from the renderer with a region; only array
    // slots past `len` hold EMPTY, and they are never handed out.
    panic!("flat range without a region")
}

/// A rendered address space: up to `F` ranges, sorted and non-overlapping.
pub struct FlatView<'a, const F: usize> {
    pub(crate) ranges: [FlatRange<'a>; F],
    pub(crate) len: usize,
    pub(crate) generation: u32,
    /// This rendering's identity ([`FlatView::id`]; 0 for none).
    #[cfg(not(target_os = "none"))]
    id: u64,
}

/// The last identity a rendering was given ([`FlatView::id`]): one count for the whole
/// process, so that no two renderings of any memories share one. Not on bare metal, where a
/// CPU keeps no host pointers from one section to the next.
#[cfg(not(target_os = "none"))]
static VIEW_IDS: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(0);

impl<const F: usize> ConstInit for FlatView<'_, F> {
    const INIT: Self = FlatView {
        ranges: [FlatRange::EMPTY; F],
        len: 0,
        generation: 0,
        #[cfg(not(target_os = "none"))]
        id: 0,
    };
}

/// The part of a flat range that an address range hits: what [`find`](FlatView::find) answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Section {
    /// The terminating region.
    pub region: RegionHandle,
    /// Offset in the region of the section's first byte.
    pub offset_in_region: RegionOffset,
    /// Address of the section's first byte in the address space.
    pub address: GuestAddress,
    /// Bytes in the section.
    pub size: u64,
    /// Writes refused.
    pub readonly: bool,
}

impl<'a, const F: usize> FlatView<'a, F> {
    /// The ranges, sorted by address.
    pub fn ranges(&self) -> &[FlatRange<'a>] {
        &self.ranges[..self.len]
    }

    /// The view's generation: it changes with every publish in this address space, so a
    /// TLB entry tagged with it is invalid once the generation moves on.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// An identity of this rendering that no other rendering of any memory of this process
    /// has or will have (never 0 once rendered; 0 before, and always on bare metal).
    /// Unlike the [generation](FlatView::generation), which counts per address space and
    /// repeats across spaces and memories, two pins with the same identity pin the same
    /// view, with the same RAM behind the same host addresses: a CPU may keep host pointers
    /// it took from one section and use them in a later section whose view has the same
    /// identity (a hart's TLB across time slices), since that view keeps them alive (L7).
    pub fn id(&self) -> u64 {
        #[cfg(not(target_os = "none"))]
        return self.id;
        #[cfg(target_os = "none")]
        0
    }

    /// Gives this (new) rendering a new identity ([`FlatView::id`]).
    pub(crate) fn renew_id(&mut self) {
        // Only uniqueness matters: the identity reaches readers inside the view, which the
        // publication orders.
        #[cfg(not(target_os = "none"))]
        {
            self.id = VIEW_IDS.fetch_add(1, core::sync::atomic::Ordering::Relaxed) + 1;
        }
    }

    /// Index of the range holding `addr`.
    #[inline]
    pub(crate) fn lookup_index(&self, addr: u64) -> Option<usize> {
        let ranges = self.ranges();
        let after = ranges.partition_point(|r| r.start <= addr);
        let index = after.checked_sub(1)?;
        (ranges[index].last >= addr).then_some(index)
    }

    /// The range holding `addr`, if any.
    #[inline]
    pub fn lookup(&self, addr: GuestAddress) -> Option<&FlatRange<'a>> {
        self.lookup_index(addr.0).map(|i| &self.ranges[i])
    }

    /// The first byte at or after `addr` that some range covers.
    pub(crate) fn next_covered(&self, addr: u64) -> Option<u64> {
        let ranges = self.ranges();
        let after = ranges.partition_point(|r| r.last < addr);
        ranges.get(after).map(|r| r.start.max(addr))
    }

    /// The lowest-address part of `[addr, addr + size)` that one flat range covers, clipped
    /// to that range; `None` if nothing is mapped there (QEMU's `memory_region_find`).
    pub fn find(&self, addr: GuestAddress, size: u64) -> Option<Section> {
        if size == 0 {
            return None;
        }
        let last = addr.0.saturating_add(size - 1);
        let start = self.next_covered(addr.0)?;
        if start > last {
            return None;
        }
        let range = &self.ranges[self.lookup_index(start)?];
        let end = range.last.min(last);
        Some(Section {
            region: range.region(),
            offset_in_region: RegionOffset(range.offset_in_region + (start - range.start)),
            address: GuestAddress(start),
            size: end - start + 1,
            readonly: range.readonly,
        })
    }
}
