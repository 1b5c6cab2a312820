//! Flat-view rendering: turns the region tree under an address space's root into a sorted
//! list of non-overlapping ranges, with QEMU's documented semantics.
//!
//! 1. A depth-first walk (QEMU's `render_memory_region`) emits *pieces*: each terminating
//!    region (RAM, ROM, ROM device, MMIO, reservation, a container's own callbacks) clipped
//!    to what its ancestors let through, in render order. Subregions are visited in their
//!    container's order (priority descending, most recently added first among equals), a
//!    container's own callbacks after its children, an alias by walking its target with the
//!    base shifted so that `target[offset]` lands at the alias's address. Disabled regions
//!    emit nothing and so hide nothing.
//! 2. A sweep over piece boundaries gives every elementary segment to the earliest-emitted
//!    piece covering it (a min-heap of render ranks). That is exactly QEMU's "fill the
//!    holes left by earlier pieces", in O(n log n) instead of O(n^2), so a commit of
//!    thousands of regions stays fast.
//! 3. Adjacent segments of the same region with contiguous offsets merge.
//!
//! All scratch space is a fixed-size [`Scratch`] kept beside the topology; nothing allocates.

use heapless::binary_heap::{BinaryHeap, Min};

use super::error::Error;
use super::flatview::{FlatRange, FlatView, Target};
use super::region::{Kind, RegionFlags, RegionHandle, RegionNode, RegionTag};
use crate::pool::Pool;

/// How deeply containers and aliases may nest.
pub const MAX_DEPTH: usize = 32;

#[derive(Clone, Copy)]
struct Piece<'a> {
    start: u128,
    end: u128,
    /// Address of the region's byte 0: `offset_in_region = addr - base`.
    base: i128,
    region: Option<RegionHandle>,
    readonly: bool,
    target: Target<'a>,
}

impl Piece<'_> {
    const EMPTY: Piece<'static> = Piece {
        start: 0,
        end: 0,
        base: 0,
        region: None,
        readonly: false,
        target: Target::Nothing,
    };
}

/// Working memory for rendering views of up to `F` ranges.
pub struct Scratch<'a, const F: usize> {
    pieces: [Piece<'a>; F],
    count: usize,
    starts: [u32; F],
    ends: [u32; F],
    ended: [bool; F],
    heap: BinaryHeap<u32, Min, F>,
}

impl<const F: usize> Scratch<'_, F> {
    /// Empty scratch space.
    pub const fn new() -> Self {
        Scratch {
            pieces: [Piece::EMPTY; F],
            count: 0,
            starts: [0; F],
            ends: [0; F],
            ended: [false; F],
            heap: BinaryHeap::new(),
        }
    }
}

impl<const F: usize> Default for Scratch<'_, F> {
    fn default() -> Self {
        Self::new()
    }
}

/// Renders the tree under `root` into `out` (ranges only; the caller sets the generation).
pub(crate) fn render<'a, const R: usize, const F: usize>(
    regions: &Pool<RegionTag, RegionNode<'a>, R>,
    root: RegionHandle,
    scratch: &mut Scratch<'a, F>,
    out: &mut FlatView<'a, F>,
) -> Result<(), Error> {
    scratch.count = 0;
    let whole = (0u128, 1u128 << 64);
    visit(regions, root, 0, whole, false, 0, scratch)?;
    sweep(scratch, out)
}

fn visit<'a, const R: usize, const F: usize>(
    regions: &Pool<RegionTag, RegionNode<'a>, R>,
    handle: RegionHandle,
    base: i128,
    clip: (u128, u128),
    readonly: bool,
    depth: usize,
    scratch: &mut Scratch<'a, F>,
) -> Result<(), Error> {
    if depth >= MAX_DEPTH {
        return Err(Error::TooDeep { limit: MAX_DEPTH });
    }
    // A stale alias target renders nothing (rule L4).
    let Ok(node) = regions.get(handle) else {
        return Ok(());
    };
    if !node.flags.contains(RegionFlags::ENABLED) {
        return Ok(());
    }
    let at = base + node.addr.0 as i128;
    let lo = at.max(clip.0 as i128);
    let hi = (at + node.size.bytes() as i128).min(clip.1 as i128);
    if lo >= hi {
        return Ok(());
    }
    let clip = (lo as u128, hi as u128);
    let readonly = readonly || node.flags.contains(RegionFlags::READONLY);
    let target = match &node.kind {
        Kind::Alias { target, offset } => {
            let Ok(target_node) = regions.get(*target) else {
                return Ok(());
            };
            let base = at - target_node.addr.0 as i128 - offset.0 as i128;
            return visit(regions, *target, base, clip, readonly, depth + 1, scratch);
        }
        Kind::Container(ops) => {
            let mut child = node.first_child;
            while let Some(c) = child {
                visit(regions, c, at, clip, readonly, depth + 1, scratch)?;
                child = regions.get(c).ok().and_then(|n| n.next_sibling);
            }
            match ops {
                Some(ops) => Target::Mmio(*ops),
                None => return Ok(()),
            }
        }
        Kind::Ram(block) => Target::Ram(block.raw()),
        Kind::Rom(block) => Target::Rom(block.raw()),
        Kind::RomDevice(block, ops) => {
            if node.flags.contains(RegionFlags::ROMD) {
                Target::RomD(block.raw(), *ops)
            } else {
                Target::Mmio(*ops)
            }
        }
        Kind::Mmio(ops) => Target::Mmio(*ops),
        Kind::Reservation => Target::Reservation,
    };
    let readonly = readonly || matches!(target, Target::Rom(_));
    let Some(slot) = scratch.pieces.get_mut(scratch.count) else {
        return Err(Error::ViewFull { capacity: F });
    };
    *slot = Piece {
        start: clip.0,
        end: clip.1,
        base: at,
        region: Some(handle),
        readonly,
        target,
    };
    scratch.count += 1;
    Ok(())
}

fn sweep<'a, const F: usize>(
    scratch: &mut Scratch<'a, F>,
    out: &mut FlatView<'a, F>,
) -> Result<(), Error> {
    let Scratch {
        pieces,
        count,
        starts,
        ends,
        ended,
        heap,
    } = scratch;
    let n = *count;
    let pieces = &pieces[..n];
    let (starts, ends, ended) = (&mut starts[..n], &mut ends[..n], &mut ended[..n]);
    for i in 0..n {
        starts[i] = i as u32;
        ends[i] = i as u32;
        ended[i] = false;
    }
    starts.sort_unstable_by_key(|&i| pieces[i as usize].start);
    ends.sort_unstable_by_key(|&i| pieces[i as usize].end);
    let (starts, ends) = (&*starts, &*ends);
    heap.clear();
    out.len = 0;

    let (mut si, mut ei) = (0, 0);
    let next_event = |si: usize, ei: usize| -> Option<u128> {
        let s = starts.get(si).map(|&i| pieces[i as usize].start);
        let e = ends.get(ei).map(|&i| pieces[i as usize].end);
        match (s, e) {
            (Some(s), Some(e)) => Some(s.min(e)),
            (s, e) => s.or(e),
        }
    };
    while let Some(pos) = next_event(si, ei) {
        while ei < n && pieces[ends[ei] as usize].end == pos {
            ended[ends[ei] as usize] = true;
            ei += 1;
        }
        while si < n && pieces[starts[si] as usize].start == pos {
            // The heap holds at most the n <= F started pieces: push cannot fail.
            let _ = heap.push(starts[si]);
            si += 1;
        }
        while let Some(&top) = heap.peek() {
            if !ended[top as usize] {
                break;
            }
            heap.pop();
        }
        let (Some(&top), Some(next)) = (heap.peek(), next_event(si, ei)) else {
            continue;
        };
        let piece = &pieces[top as usize];
        let range = FlatRange {
            start: pos as u64,
            last: (next - 1) as u64,
            offset_in_region: (pos as i128 - piece.base) as u64,
            region: piece.region,
            readonly: piece.readonly,
            target: piece.target,
        };
        if let Some(prev) = out.len.checked_sub(1).map(|i| &mut out.ranges[i]) {
            let contiguous = prev.last.checked_add(1) == Some(range.start)
                && prev.region == range.region
                && prev.target == range.target
                && prev.readonly == range.readonly
                && prev
                    .offset_in_region
                    .wrapping_add(prev.span())
                    .wrapping_add(1)
                    == range.offset_in_region;
            if contiguous {
                prev.last = range.last;
                continue;
            }
        }
        let Some(slot) = out.ranges.get_mut(out.len) else {
            return Err(Error::ViewFull { capacity: F });
        };
        *slot = range;
        out.len += 1;
    }
    Ok(())
}
