//! The software TLB and the decoded-instruction cache.
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
//! # Decode cache
//!
//! [`DecodeCache`] is a direct-mapped array indexed by `pc >> 1`, each entry holding the
//! raw instruction bits and the decoded [`Insn`]. A fetch always reads the raw bits
//! (through the TLB host pointer on a hit) and compares them with the cached ones; a
//! mismatch re-decodes. The `pc` is not part of the tag: the decoded form depends on the
//! raw bits only (the XLEN is fixed for a hart, and immediates stay `pc`-relative), so an
//! entry left by another `pc` with the same bits is just as right. That keeps an entry at 16
//! bytes and the check at one comparison. Every entry starts as raw `0`, whose decoding
//! (an illegal compressed instruction) is the initial [`Insn`]. Code modified by any hart, by DMA or by the debugger is therefore
//! seen at once, and `fence.i` needs no invalidation protocol: the cache only saves the
//! decode, never the fetch.

use super::decode::decode_any;
use super::insn::Insn;
use super::trap::Priv;
use super::Xlen;

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

/// Entries in the decode cache (16 bytes each: 64 KiB, for 8 KiB of compressed code).
pub const DECODE_CACHE_SIZE: usize = 4096;

#[derive(Clone, Copy)]
struct DecodeEntry {
    raw: u32,
    insn: Insn,
}

/// The decoded-instruction cache (see the module docs).
pub(super) struct DecodeCache {
    entries: [DecodeEntry; DECODE_CACHE_SIZE],
}

impl DecodeCache {
    pub(super) const fn new() -> DecodeCache {
        DecodeCache {
            // `decode_any(0, _)` is `Insn::illegal(2)` (tested).
            entries: [DecodeEntry {
                raw: 0,
                insn: Insn::illegal(2),
            }; DECODE_CACHE_SIZE],
        }
    }

    /// The decoded form of `raw` fetched at `pc`: cached when the bits match.
    #[inline]
    pub(super) fn lookup(&mut self, pc: u64, raw: u32, xlen: Xlen) -> Insn {
        let e = &mut self.entries[((pc >> 1) as usize) & (DECODE_CACHE_SIZE - 1)];
        if e.raw == raw {
            return e.insn;
        }
        let insn = decode_any(raw, xlen);
        *e = DecodeEntry { raw, insn };
        insn
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_cache_initial_entries_are_the_decoding_of_zero() {
        for xlen in [Xlen::Rv32, Xlen::Rv64] {
            assert_eq!(decode_any(0, xlen), Insn::illegal(2));
            let mut cache = DecodeCache::new();
            assert_eq!(cache.lookup(0x8000_0000, 0, xlen), Insn::illegal(2));
        }
    }
}
