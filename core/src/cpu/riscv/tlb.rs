//! The software TLB.
//!
//! # TLB
//!
//! Direct-mapped, [`TLB_SIZE`] entries per privilege level (U, S, M: the level that makes
//! the access, so `MPRV` and traps switch sets instead of flushing). An entry maps one
//! 4 KiB virtual page to a physical page and keeps one tag per access kind (read, write,
//! execute): a tag is set only when that access is allowed without a walk (permissions,
//! and the PTE's A — and D for writes — already set), so a hit needs no further check. A
//! hit on a RAM page also gives the host pointer of the page, so the access is a host atomic
//! with no bus call; MMIO pages keep a null host pointer and go through the bus with the
//! cached physical address.
//!
//! Host pointers are valid only while the bus borrow they came from lasts (the pinned
//! flat view of rule L7). The TLB records the flat-view generation it was filled under,
//! and [`Hart::run`](super::Hart::run) flushes it when a time slice starts, so no pointer
//! survives into a slice with another (or the same) pinned view; `satp` writes,
//! `sfence.vma` and changes of `mstatus.SUM/MXR` flush it too. ASIDs are not used.
//!
//! # Decoded code
//!
//! Decoded instructions are cached per basic block, checked against guest memory at the
//! first entry in each code epoch: see `block`.

use super::trap::Priv;

/// Entries per privilege level.
pub const TLB_SIZE: usize = 64;
/// Page size of the TLB (Sv32 and Sv39 base pages).
pub const PAGE_SIZE: u64 = 4096;
/// Offset bits within a page.
pub(super) const PAGE_MASK: u64 = PAGE_SIZE - 1;
/// A tag no page address equals (page addresses are 4 KiB aligned).
const INVALID: u64 = 1;

/// One TLB entry (see the module docs).
#[derive(Clone, Copy)]
pub(super) struct TlbEntry {
    pub(super) tag_r: u64,
    pub(super) tag_w: u64,
    pub(super) tag_x: u64,
    pub(super) ppage: u64,
    /// Host address of the page for reads and fetches, or null (MMIO, unaligned host page).
    pub(super) host_r: *mut u8,
    /// Host address of the page for writes, or null (MMIO, ROM, read-only RAM).
    pub(super) host_w: *mut u8,
}

impl TlbEntry {
    pub(super) const EMPTY: TlbEntry = TlbEntry {
        tag_r: INVALID,
        tag_w: INVALID,
        tag_x: INVALID,
        ppage: 0,
        host_r: core::ptr::null_mut(),
        host_w: core::ptr::null_mut(),
    };
}

/// The TLB of one hart.
pub(super) struct Tlb {
    pub(super) sets: [[TlbEntry; TLB_SIZE]; 3],
    /// Flat-view generation of the bus the entries were filled from.
    pub(super) generation: u32,
}

// SAFETY: the host pointers are only dereferenced inside `Hart::run`, while the bus borrow
// that produced them is alive (the TLB is flushed when a slice starts), from the thread
// running the hart. Moving or sharing the TLB between slices moves dead pointers only.
unsafe impl Send for Tlb {}
// SAFETY: `&Tlb` gives no way to dereference the pointers.
unsafe impl Sync for Tlb {}

impl Tlb {
    pub(super) const fn new() -> Tlb {
        Tlb {
            sets: [[TlbEntry::EMPTY; TLB_SIZE]; 3],
            generation: 0,
        }
    }

    /// Forgets every entry.
    pub(super) fn flush(&mut self) {
        for set in &mut self.sets {
            set.fill(TlbEntry::EMPTY);
        }
    }

    /// The index of `va`'s entry in a set.
    #[inline]
    pub(super) fn index(va: u64) -> usize {
        ((va >> 12) as usize) & (TLB_SIZE - 1)
    }

    /// The entry that would hold `va` for accesses made at `prv`.
    #[inline]
    pub(super) fn entry(&self, prv: Priv, va: u64) -> &TlbEntry {
        &self.sets[prv.index()][Self::index(va)]
    }
}
