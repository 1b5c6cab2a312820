//! The software TLB.
//!
//! # TLB
//!
//! Direct-mapped (`Tlb::index`: page-number bits folded by XOR), [`TLB_SIZE`] entries per privilege level (U, S, M: the level that makes
//! the access, so `MPRV` and traps switch sets instead of flushing). An entry maps one
//! 4 KiB virtual page (its whole virtual address above the page offset is the tag, so
//! 64-bit addresses that differ only in high bits never alias) to a physical page and keeps one tag per access kind (read, write,
//! execute): a tag is set only when that access is allowed without a walk (permissions,
//! and the PTE's A — and D for writes — already set), so a hit needs no further check. A
//! hit on a RAM page also gives the host pointer of the page, so the access is a host atomic
//! with no bus call; MMIO pages keep a null host pointer and go through the bus with the
//! cached physical address.
//!
//! Host pointers are valid while the flat view they came from is pinned (rule L7). The TLB
//! records the identity of that view (`Tlb::view`: [`FlatView::id`], unique among all
//! renderings of all memories of the process, unlike a space's generation), and
//! [`Hart::run`](super::Hart::run) forgets every entry when a time slice starts under a
//! bus whose view has another identity or none ([`Bus::view_id`] 0): so pointers are only
//! dereferenced while the view they came from is pinned again, and a slice under the same
//! view (no commit changed the space in between: the usual case) keeps the entries and
//! their fast view instead of filling them again. On bare metal every slice forgets them
//! (no identities there). `satp` writes and changes of `mstatus.SUM/MXR` flush it too.
//!
//! [`FlatView::id`]: crate::memory::FlatView::id
//! [`Bus::view_id`]: crate::cpu::Bus::view_id
//!
//! Entries are not tagged with an ASID: every `satp` write flushes, so the TLB only holds
//! translations of the current `satp`. `sfence.vma` therefore flushes everything when it
//! names the current ASID or none, and nothing when it names another ASID (whose entries
//! went with the `satp` write). With an address, it drops only the entries for that
//! address: each entry records the size of the mapping it is a 4 KiB piece of (a
//! superpage or a Svnapot page), and every piece of a mapping that covers the address
//! goes, in every privilege set. Only the entry at the address's index can be a 4 KiB
//! page covering it, so the flush looks at that one and at the pieces of larger mappings,
//! which a bit per entry names (`Tlb::big`), instead of at every entry. Whether such a
//! flush ends the code epoch is the block cache's to say (`Hart::sfence_vma`): only when
//! a block checked in the epoch was fetched from the address's mapping.
//!
//! Beside the set of the data-access privilege, the TLB keeps a *fast view* of it for the
//! block executor's loads and stores (`FastEntry`, not on bare metal): tags only where
//! there is a host page, and the host page minus the page address, so that a hit is one
//! compare (page and alignment together) and one addition. Its slot is the page number
//! plus the page number's next bits, modulo its size (`Tlb::fast_index`). It is derived from the entries (filled
//! by `Tlb::store`, copied on a miss that the entry hits, emptied by every flush and
//! `sfence.vma`; when the data-access privilege changes, the view is saved for its set
//! and the new set's saved view put back, so a trap and its return find the view they
//! left). It is smaller than a set, so a copy may outlive its entry's eviction by
//! another page: a translation of the same tables with no flush since, as a larger TLB
//! would keep. (A slot per entry of the set, at the entry's index, measured no fewer
//! host instructions once the TLB outlives time slices, and more without that.) The
//! translating tier reads the fast view first and the entries behind a miss in it.
//!
//! A fast-view entry's write tag matches only while its host page holds no line of a
//! block checked in this code epoch (its bits of the code-page filter are clear:
//! `block`'s docs, "Pages that may hold code"): `FastEntry::of` leaves it off for such
//! a page, and `Tlb::retag_writes` takes it off (or gives it back) as the filter's
//! bits are set (or emptied with the epoch). So a store that hits the fast view needs no
//! code-line test: only stores through the entry itself make it.
//!
//! # Decoded code
//!
//! Decoded instructions are cached per basic block, checked against guest memory at the
//! first entry in each code epoch: see `block`.

use super::block::CodePages;
use super::trap::Priv;

/// log2 of the entries per privilege level: 1024 on hosts, 64 on bare-metal targets
/// (`target_os = "none"`, e.g. the co-simulation firmware, whose RAM is small). A guest
/// loop that touches more pages than a set holds, in turn, misses on every access and
/// walks each time: a Linux boot's `init` reads 4 MiB (1024 pages) in a page-sized
/// stride, 1 M walks of about 730 host instructions with 256 entries, none after the
/// first pass with 1024 (QEMU's TLB grows to fit such a loop).
#[cfg(all(not(target_os = "none"), not(miri)))]
pub const TLB_BITS: u32 = 10;
/// log2 of the entries per privilege level under Miri: 256, as before, so that a hart
/// takes Miri no longer to make (see `block::BLOCK_POOL`).
#[cfg(all(not(target_os = "none"), miri))]
pub const TLB_BITS: u32 = 8;
/// log2 of the entries per privilege level (see the host value).
#[cfg(target_os = "none")]
pub const TLB_BITS: u32 = 6;
/// Entries per privilege level.
pub const TLB_SIZE: usize = 1 << TLB_BITS;
/// Page size of the TLB (the base page of every scheme).
pub const PAGE_SIZE: u64 = 4096;
/// Offset bits within a page.
pub(super) const PAGE_MASK: u64 = PAGE_SIZE - 1;
/// A tag no page address equals (page addresses are 4 KiB aligned).
const INVALID: u64 = 1;

/// Bits of the filter of larger mappings' regions (`Tlb::big_regions`).
#[cfg(feature = "rv64")]
const BIG_REGION_BITS: usize = 256;

/// The bit of `Tlb::big_regions` for virtual address `va` in a mapping of `1 << span`
/// bytes: its region number with the span mixed in, hashed by a multiply.
#[cfg(feature = "rv64")]
#[inline]
fn big_region_bit(va: u64, span: u32) -> usize {
    let region = (va >> (span & 63)) ^ (span as u64) << 56;
    (region.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BIG_REGION_BITS.trailing_zeros())) as usize
}

/// One TLB entry (see the module docs); `#[repr(C)]`: a translating tier reads it at
/// fixed offsets (`tier`).
#[derive(Clone, Copy)]
#[repr(C)]
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

/// Whether the TLB keeps [`FastEntry`]s for the block executor's loads and stores: off on
/// bare metal, where RAM is tight (the firmware's hart uses [`TlbEntry`]s alone).
pub(super) const FAST: bool = cfg!(not(target_os = "none"));

/// [`FastEntry`]s kept when [`FAST`] (a power of two; none on bare metal). Fewer than a
/// set's entries: the hart lives on test threads' stacks, and a set's worth (8 KiB) took
/// them past their size in debug builds.
pub(super) const FAST_ENTRIES: usize = if FAST { 64 } else { 0 };
/// Words of `Tlb::fast_used` (a bit per fast entry).
const FAST_WORDS: usize = FAST_ENTRIES.div_ceil(64);
/// log2 of [`FAST_ENTRIES`] (1 when there is no view, so that the index's shifts stay
/// in range; the index is never used then).
pub(super) const FAST_BITS: u32 = if FAST {
    FAST_ENTRIES.trailing_zeros()
} else {
    1
};
/// The multiplier that makes a page's fast-view slot (`Tlb::fast_index`): the page
/// address (`va & !0xfff`, 32 bits) times it has `vpn << (32 - FAST_BITS)` plus `vpn <<
/// (32 - 2 * FAST_BITS)`, whose top [`FAST_BITS`] bits are `(vpn + (vpn >> FAST_BITS)) %
/// FAST_ENTRIES` (nothing carries into them from below: the second term's bits under
/// them are the first's zeros).
pub(super) const FAST_HASH: u32 = (1 << (20 - FAST_BITS)) | (1 << (20 - 2 * FAST_BITS));
/// The mask of a fast-view slot (0 when there is no view: the index is never used then).
const FAST_MASK: usize = FAST_ENTRIES.saturating_sub(1);

/// A [`FastEntry`] tag no access equals: the block executor compares a tag with the
/// address's page and its low three bits (the alignment), so [`INVALID`] (1) would match
/// a misaligned access to page 0; bits 3..12 are never compared.
const NO_FAST_TAG: u64 = PAGE_MASK & !7;

/// Set in a [`FastEntry`]'s write tag while its host page may hold code (its bits of
/// the code-page filter are set): no access equals a tag with it (bits 3..12 are
/// never compared), and clearing it gives the tag back ([`Tlb::retag_writes`]).
const CODE_PAGE: u64 = 8;

/// The block executor's view of a [`TlbEntry`] of the data-access privilege's set (kept
/// beside it by [`Tlb::store`], and copied from it on a miss: `Hart::load_in_set`): the
/// read and write tags only where the entry also has a host page, and each host page
/// minus the page's virtual address (wrapping), so that a hit is one compare (the tag
/// against the address with its alignment bits) and the host address one addition, with
/// no null check. It never allows more than its entry does, and never a write to a page
/// that may hold code (module docs).
#[derive(Clone, Copy)]
pub(super) struct FastEntry {
    /// The entry's `tag_r` when it has a `host_r`, else [`NO_FAST_TAG`].
    pub(super) tag_r: u64,
    /// The entry's `tag_w` when it has a `host_w`, else [`NO_FAST_TAG`]; with
    /// [`CODE_PAGE`] set while the host page may hold code (then it matches no store).
    pub(super) tag_w: u64,
    /// `host_r` minus the page address (wrapping): `base_r + va` is `va`'s host address.
    pub(super) base_r: *mut u8,
    /// `host_w` minus the page address (wrapping).
    pub(super) base_w: *mut u8,
}

impl FastEntry {
    const EMPTY: FastEntry = FastEntry {
        tag_r: NO_FAST_TAG,
        tag_w: NO_FAST_TAG,
        base_r: core::ptr::null_mut(),
        base_w: core::ptr::null_mut(),
    };

    /// The fast view of `e`, its write tag off ([`CODE_PAGE`]) when its host page may
    /// hold code (`code`, `BlockCache::code_pages`).
    #[inline]
    pub(super) fn of(e: &TlbEntry, code: &CodePages) -> FastEntry {
        let mut f = FastEntry::EMPTY;
        if !e.host_r.is_null() && e.tag_r != INVALID {
            f.tag_r = e.tag_r;
            f.base_r = e.host_r.wrapping_sub(e.tag_r as usize);
        }
        if !e.host_w.is_null() && e.tag_w != INVALID {
            f.tag_w = e.tag_w;
            f.base_w = e.host_w.wrapping_sub(e.tag_w as usize);
            if code.may_hold_code(e.host_w.addr()) {
                f.tag_w |= CODE_PAGE;
            }
        }
        f
    }

    /// The host page of a write tag that matches (`None`: none, or one taken off).
    #[inline]
    fn write_page(&self) -> Option<usize> {
        (self.tag_w & PAGE_MASK == 0).then(|| self.base_w.wrapping_add(self.tag_w as usize).addr())
    }

    /// Turns the write tag on or off ([`CODE_PAGE`]) by whether the host page may hold
    /// code (`code`); the host page when it is on.
    #[inline]
    fn retag(&mut self, code: &CodePages) -> Option<usize> {
        if self.tag_w & PAGE_MASK & !CODE_PAGE != 0 {
            return None; // no write page
        }
        let page = self.tag_w & !PAGE_MASK;
        let host = self.base_w.wrapping_add(page as usize).addr();
        if code.may_hold_code(host) {
            self.tag_w = page | CODE_PAGE;
            None
        } else {
            self.tag_w = page;
            Some(host)
        }
    }
}

/// The smallest and the largest RAM window ([`RamWindow`]) looked for: 64 KiB to 1 GiB,
/// powers of two aligned to their size.
#[cfg(not(target_os = "none"))]
pub(super) const WINDOW_SHIFTS: core::ops::RangeInclusive<u32> = 16..=30;

/// A *RAM window* of the machine set (not on bare metal): one range of guest memory,
/// aligned to its power-of-two size, that M-level data accesses reach untranslated and
/// that one host RAM or ROM range backs whole ([`Bus::host_page`](crate::cpu::Bus::host_page)
/// of the range), every byte of it readable by M-level accesses (PMP decides the whole
/// range at once), with no data trigger armed: so an aligned load at M level whose
/// address is in it may read `host + (va - lo)` with no TLB lookup, as every TLB entry of
/// the machine set for a page of it would say. Made by a TLB fill of the machine set
/// (`Hart::fill`: the largest such range around the filled page), forgotten with the
/// entries ([`Tlb::forget`]: `satp`, PMP, trigger and `mstatus.SUM/MXR` changes, a slice
/// under another view), so its host pointer lives exactly as long as theirs. `sfence.vma`
/// leaves it: M-level accesses are never translated. Only the translating tier reads it
/// (`tier::TierCtx::window_host`), for loads.
#[cfg(not(target_os = "none"))]
#[derive(Clone, Copy, Debug)]
pub(super) struct RamWindow {
    /// The first guest address.
    pub(super) lo: u64,
    /// log2 of its size (0: no window).
    pub(super) shift: u32,
    /// The host address of `lo`.
    pub(super) host: *const u8,
}

#[cfg(not(target_os = "none"))]
impl RamWindow {
    /// No window.
    pub(super) const NONE: RamWindow = RamWindow {
        lo: 0,
        shift: 0,
        host: core::ptr::null(),
    };

    /// Whether guest address `a` is in the window.
    pub(super) fn covers(&self, a: u64) -> bool {
        self.shift != 0 && (a ^ self.lo) >> self.shift == 0
    }
}

/// The TLB of one hart.
pub(super) struct Tlb {
    pub(super) sets: [[TlbEntry; TLB_SIZE]; 3],
    /// The fast view of entries of set `fast_set` (when [`FAST`]), by
    /// [`Tlb::fast_index`]: the set of the data-access privilege (`Hart::recompute`
    /// selects it), so that the block executor finds it at a fixed place.
    fast: [FastEntry; FAST_ENTRIES],
    /// The set `fast` mirrors ([`Tlb::select_fast`]).
    fast_set: usize,
    /// Bit `i` is set when `fast[i]` may be other than empty: a privilege change or a
    /// flush clears only those (a trap-heavy guest switches sets twice per trap).
    fast_used: [u64; FAST_WORDS],
    /// The fast views of the sets not selected, as they were when another was selected
    /// (`Tlb::select_fast`), with their used bits: a trap and its return find the
    /// view they left. Every flush forgets them with the entries.
    saved: [[FastEntry; FAST_ENTRIES]; 3],
    saved_used: [[u64; FAST_WORDS]; 3],
    /// The host pages (bits as [`CodePages`]) fast-view entries were given write tags
    /// on since the views were last emptied (a superset of the pages of the write tags
    /// in them): a page marked in the code-page filter that none of them names needs no
    /// pass over the views ([`Tlb::code_page_marked`]).
    written: CodePages,
    /// For each entry, log2 of the size of the mapping it is a piece of (12 for a 4 KiB
    /// page): kept apart from the entries, which the hot paths read. Only with the `rv64`
    /// feature; without it `sfence.vma` always flushes everything.
    #[cfg(feature = "rv64")]
    spans: [[u8; TLB_SIZE]; 3],
    /// Bit `i` of set `s` is set when entry `i` of set `s` may be a piece of a mapping
    /// larger than 4 KiB (its span above 12): the entries [`Tlb::flush_va`] looks at
    /// besides the one at the address's index. Set by [`Tlb::store`], cleared by
    /// `flush_va` when the entry went or holds a 4 KiB page now (so a store of a 4 KiB
    /// page, the frequent one, does not write it).
    #[cfg(feature = "rv64")]
    big: [[u64; TLB_SIZE / 64]; 3],
    /// The regions (`va >> span`, with the span) of every mapping larger than 4 KiB
    /// stored since the entries were last forgotten, as bits of a filter
    /// ([`big_region_bit`]; a superset), and bit `span` of `big_spans` for each span among
    /// them: a flush of an address in none of them ([`Tlb::may_hold_big`]) looks at no
    /// piece of a larger mapping (a Linux kernel's flushes of user pages, while its
    /// linear map's megapage pieces fill the supervisor set).
    #[cfg(feature = "rv64")]
    big_regions: [u64; BIG_REGION_BITS / 64],
    #[cfg(feature = "rv64")]
    big_spans: u64,
    /// The identity ([`FlatView::id`](crate::memory::FlatView::id)) of the view the
    /// entries' host pointers came from (0: none, or not known); see [`Tlb::keep_for`].
    #[cfg(not(target_os = "none"))]
    view: u64,
    /// Moves on (wrapping) at every flush that may change what a virtual address
    /// translates to ([`Tlb::flush`]), and at a flush of one address ([`Tlb::flush_va`])
    /// when a block checked in this code epoch was fetched from its mapping
    /// ([`Tlb::remapped`], `Hart::sfence_vma`): with the privilege, what the run loop
    /// compares to tell whether the `pc`'s translation may have changed (`run`).
    pub(super) remaps: u32,
    /// The machine set's RAM window ([`RamWindow`]).
    #[cfg(not(target_os = "none"))]
    pub(super) window: RamWindow,
}

// SAFETY: the host pointers are only dereferenced inside `Hart::run`, from the thread
// running the hart, while a bus borrow pins the view they came from (the slice that filled
// them, or a later one whose view has the same identity: `Tlb::keep_for`). Between slices
// they are only kept, never dereferenced, so moving or sharing the TLB moves addresses only.
unsafe impl Send for Tlb {}
// SAFETY: `&Tlb` gives no way to dereference the pointers.
unsafe impl Sync for Tlb {}

impl Tlb {
    pub(super) const fn new() -> Tlb {
        Tlb {
            sets: [[TlbEntry::EMPTY; TLB_SIZE]; 3],
            fast: [FastEntry::EMPTY; FAST_ENTRIES],
            fast_set: 0,
            fast_used: [0; FAST_WORDS],
            saved: [[FastEntry::EMPTY; FAST_ENTRIES]; 3],
            saved_used: [[0; FAST_WORDS]; 3],
            written: CodePages::EMPTY,
            #[cfg(feature = "rv64")]
            spans: [[12; TLB_SIZE]; 3],
            #[cfg(feature = "rv64")]
            big: [[0; TLB_SIZE / 64]; 3],
            #[cfg(feature = "rv64")]
            big_regions: [0; BIG_REGION_BITS / 64],
            #[cfg(feature = "rv64")]
            big_spans: 0,
            #[cfg(not(target_os = "none"))]
            view: 0,
            remaps: 0,
            #[cfg(not(target_os = "none"))]
            window: RamWindow::NONE,
        }
    }

    /// Forgets every entry: translations may have changed (`satp`, `sfence.vma`, PMP,
    /// `menvcfg`, triggers).
    pub(super) fn flush(&mut self) {
        self.remapped();
        self.forget();
    }

    /// Called when a time slice starts under a bus whose view has identity `view`
    /// ([`Bus::view_id`](crate::cpu::Bus::view_id)): keeps the entries when their host
    /// pointers came from that same view (pinned again now, so they are alive), else
    /// forgets them all ([`Tlb::forget`]) and records `view`. 0 is no identity: always
    /// forgets. (Not on bare metal, where every slice forgets them.)
    #[cfg(not(target_os = "none"))]
    #[inline]
    pub(super) fn keep_for(&mut self, view: u64) {
        if view != 0 && view == self.view {
            return;
        }
        self.view = view;
        self.forget();
    }

    /// Forgets every entry when no address translates differently and no fetch is allowed
    /// or refused differently, so [`Tlb::remaps`] stays: a new time slice under another
    /// view ([`Tlb::keep_for`]; every slice on bare metal) or a change of data-access
    /// permissions alone (`mstatus.SUM/MXR`).
    pub(super) fn forget(&mut self) {
        for set in &mut self.sets {
            set.fill(TlbEntry::EMPTY);
        }
        #[cfg(feature = "rv64")]
        {
            self.big = [[0; TLB_SIZE / 64]; 3];
            self.big_regions = [0; BIG_REGION_BITS / 64];
            self.big_spans = 0;
        }
        self.clear_fast();
        #[cfg(not(target_os = "none"))]
        {
            self.window = RamWindow::NONE;
        }
    }

    /// Records that a flush may have changed what a virtual address of a checked block
    /// translates to ([`Tlb::remaps`]).
    #[inline]
    pub(super) fn remapped(&mut self) {
        self.remaps = self.remaps.wrapping_add(1);
    }

    /// Empties the fast view (the entries `fast_used` names) and forgets the saved views
    /// of the other sets.
    #[inline]
    fn clear_fast(&mut self) {
        self.saved_used = [[0; FAST_WORDS]; 3];
        self.empty_fast();
        if FAST {
            self.written = CodePages::EMPTY;
        }
    }

    /// Empties the fast view (the entries `fast_used` names).
    #[inline]
    fn empty_fast(&mut self) {
        for (w, used) in self.fast_used.iter_mut().enumerate() {
            let mut bits = core::mem::take(used);
            while bits != 0 {
                if let Some(f) = self.fast.get_mut(w * 64 + bits.trailing_zeros() as usize) {
                    *f = FastEntry::EMPTY;
                }
                bits &= bits - 1;
            }
        }
    }

    /// Forgets the entries that translate `va`: every entry whose mapping (of the size it
    /// recorded) covers `va`, in every privilege set: the entry at `va`'s index and the
    /// pieces of larger mappings (`big`). Leaves [`Tlb::remaps`] to the caller
    /// ([`Tlb::remapped`]).
    #[cfg(feature = "rv64")]
    pub(super) fn flush_va(&mut self, va: u64) {
        // The fast view is indexed otherwise: all of it goes.
        self.clear_fast();
        let at = Self::index(va);
        let big_too = self.may_hold_big(va);
        for ((set, spans), big) in self.sets.iter_mut().zip(&self.spans).zip(&mut self.big) {
            if let (Some(e), Some(&span)) = (set.get_mut(at), spans.get(at)) {
                if Self::covers(e, span, va) {
                    *e = TlbEntry::EMPTY;
                }
            }
            if !big_too {
                continue;
            }
            for (w, word) in big.iter_mut().enumerate() {
                let mut bits = *word;
                while bits != 0 {
                    let i = w * 64 + bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if let (Some(e), Some(&span)) = (set.get_mut(i), spans.get(i)) {
                        if span <= 12 || Self::covers(e, span, va) {
                            if span > 12 {
                                *e = TlbEntry::EMPTY;
                            }
                            *word &= !(1 << (i % 64));
                        }
                    }
                }
            }
        }
    }

    /// Whether a piece of a mapping larger than 4 KiB that covers `va` may be among the
    /// entries (exact unless regions share a bit of `big_regions`).
    #[cfg(feature = "rv64")]
    #[inline]
    pub(super) fn may_hold_big(&self, va: u64) -> bool {
        let mut spans = self.big_spans;
        while spans != 0 {
            let bit = big_region_bit(va, spans.trailing_zeros());
            if self.big_regions[bit / 64] & (1 << (bit % 64)) != 0 {
                return true;
            }
            spans &= spans - 1;
        }
        false
    }

    /// Whether entry `e`, a piece of a mapping of `1 << span` bytes, translates `va`.
    #[cfg(feature = "rv64")]
    #[inline]
    fn covers(e: &TlbEntry, span: u8, va: u64) -> bool {
        let tag = [e.tag_r, e.tag_w, e.tag_x]
            .into_iter()
            .find(|&t| t != INVALID);
        tag.is_some_and(|page| (page ^ va) >> span == 0)
    }

    /// log2 of the size of the mapping that `prv`'s entry for the execute page `page`
    /// is a piece of, or `None` when that entry holds another page now (evicted since).
    #[cfg(feature = "rv64")]
    #[inline]
    pub(super) fn fetch_span(&self, prv: Priv, page: u64) -> Option<u8> {
        let i = Self::index(page);
        let s = prv.index().min(2);
        (self.sets[s][i].tag_x == page).then_some(self.spans[s][i])
    }

    /// Keeps `e` as the entry for `va` at `prv`, a 4 KiB piece of a mapping of
    /// `1 << span` bytes (its fast view with no write tag when its host page may hold
    /// code, `code`: [`FastEntry::of`]).
    #[inline]
    pub(super) fn store(&mut self, prv: Priv, va: u64, e: TlbEntry, span: u8, code: &CodePages) {
        let i = Self::index(va);
        if FAST && prv.index() == self.fast_set {
            self.put_fast(va, FastEntry::of(&e, code));
        }
        self.sets[prv.index()][i] = e;
        #[cfg(feature = "rv64")]
        {
            self.spans[prv.index()][i] = span;
            if span > 12 {
                // Left set when a 4 KiB page takes the entry: `flush_va` clears it then.
                self.big[prv.index()][i / 64] |= 1 << (i % 64);
                let bit = big_region_bit(va, span as u32);
                self.big_regions[bit / 64] |= 1 << (bit % 64);
                self.big_spans |= 1 << (span & 63);
            }
        }
        #[cfg(not(feature = "rv64"))]
        let _ = span;
    }

    /// The index of `va`'s entry in a set: the page number's low [`TLB_BITS`] bits
    /// XOR the next ones. Direct-mapped by the low bits alone, two buffers a power of two
    /// of pages apart (4 MiB: two `mmap`s one after the other) share every entry, and a
    /// loop that copies one to the other missed on every access (a Linux `memcpy` of
    /// 4 MiB: 8 M walks); the XOR spreads them, as it does any power-of-two stride of
    /// at least [`TLB_SIZE`] pages.
    #[inline(always)]
    pub(super) fn index(va: u64) -> usize {
        let vpn = va >> 12;
        ((vpn ^ (vpn >> TLB_BITS)) as usize) & (TLB_SIZE - 1)
    }

    /// The entry that would hold `va` for accesses made at `prv`.
    #[inline]
    pub(super) fn entry(&self, prv: Priv, va: u64) -> &TlbEntry {
        &self.sets[prv.index()][Self::index(va)]
    }

    /// The set of privilege level `prv` ([`Priv::index`], clamped so that the compiler
    /// sees it in range): computed once per block by the block executor, which then looks
    /// entries up with [`Tlb::entry_in`].
    #[inline(always)]
    pub(super) fn set_of(prv: Priv) -> usize {
        prv.index().min(2)
    }

    /// The entry of set `set` (from [`Tlb::set_of`]) that would hold `va`.
    #[inline(always)]
    pub(super) fn entry_in(&self, set: usize, va: u64) -> &TlbEntry {
        &self.sets[set.min(2)][Self::index(va)]
    }

    /// The fast view's entries (for a tier: `tier::TierCtx::fast_tlb`).
    #[inline(always)]
    pub(super) fn fast_ptr(&self) -> *const FastEntry {
        self.fast.as_ptr()
    }

    /// The fast view of the entry of the selected set that would hold `va` (only when
    /// [`FAST`]).
    #[inline(always)]
    pub(super) fn fast(&self, va: u64) -> &FastEntry {
        &self.fast[Self::fast_index(va)]
    }

    /// The slot of `va` in the fast view: `(vpn + (vpn >> FAST_BITS)) % FAST_ENTRIES`,
    /// as the top bits of one multiplication ([`FAST_HASH`]). Like the XOR fold before it
    /// (`vpn ^ vpn >> FAST_BITS`) it keeps apart the pages of an aligned run of
    /// [`FAST_ENTRIES`] and pages [`FAST_ENTRIES`] or 1024 apart (a Linux boot's `init`
    /// copies between buffers 4 MiB apart), in two host instructions fewer in generated
    /// code (`imul`, `shr` of the page address it compares anyway, against `mov`, `shr`,
    /// `xor`, `shr`); the page number alone (QEMU's shape) put that copy's two pages on
    /// one slot (a boot's fast-view misses 23 M -> 430 M host instructions), a
    /// multiplicative hash of the whole page spread `bench_list`'s 16 pages over fewer
    /// slots (BENCHMARKS.md, round 12).
    #[inline(always)]
    fn fast_index(va: u64) -> usize {
        let page = va as u32 & !(PAGE_MASK as u32);
        (page.wrapping_mul(FAST_HASH) >> (32 - FAST_BITS)) as usize & FAST_MASK
    }

    /// Keeps `f` in `va`'s fast slot (of the selected set).
    #[inline]
    fn put_fast(&mut self, va: u64, f: FastEntry) {
        let i = Self::fast_index(va);
        if let Some(slot) = self.fast.get_mut(i) {
            *slot = f;
            self.fast_used[i / 64] |= 1 << (i % 64);
            if let Some(host) = f.write_page() {
                self.written.mark(host);
                self.written.mark(host.wrapping_add(PAGE_MASK as usize));
            }
        }
    }

    /// Keeps `f` as the fast view of `va`'s entry of set `set`, if that is the selected
    /// set.
    #[inline]
    pub(super) fn set_fast(&mut self, set: usize, va: u64, f: FastEntry) {
        if set == self.fast_set {
            self.put_fast(va, f);
        }
    }

    /// Gives every fast-view entry, of the selected view and the saved ones, a write tag
    /// exactly when its host page may hold no code (`code`, `BlockCache::code_pages`):
    /// called when bits were set (a block checked on a page whose bit was clear), so that no entry goes on allowing stores to a page
    /// that may now hold code (module docs), and so also at the first block checked in
    /// a new epoch, which gives back the write tags the last epoch's code took.
    pub(super) fn retag_writes(&mut self, code: &CodePages) {
        let views = core::iter::once((&mut self.fast, &self.fast_used))
            .chain(self.saved.iter_mut().zip(&self.saved_used));
        for (view, used) in views {
            for (w, &used) in used.iter().enumerate() {
                let mut bits = used;
                while bits != 0 {
                    if let Some(f) = view.get_mut(w * 64 + bits.trailing_zeros() as usize) {
                        if let Some(host) = f.retag(code) {
                            self.written.mark(host);
                            self.written.mark(host.wrapping_add(PAGE_MASK as usize));
                        }
                    }
                    bits &= bits - 1;
                }
            }
        }
    }

    /// Called when a block checked at host addresses `lo..=hi` set the code-page bit of
    /// their page (not the first of its epoch: [`BlockCache::mark_checked`]): the write
    /// tags of that page go ([`Tlb::retag_writes`]), unless no fast-view entry was given
    /// one on a page of its bit since the views were last emptied (`written`), the
    /// frequent case, which needs no pass over them.
    ///
    /// [`BlockCache::mark_checked`]: super::block::BlockCache::mark_checked
    #[inline]
    pub(super) fn code_page_marked(&mut self, lo: usize, hi: usize, code: &CodePages) {
        if self.written.has(lo) || self.written.has(hi) {
            self.retag_writes(code);
        }
    }

    /// Makes the fast view mirror set `set` ([`Tlb::set_of`] of the data-access
    /// privilege): when that changes, the view of the old set is saved (its used entries)
    /// and the one saved for `set` is put back. A saved view is still right when it comes
    /// back: every flush and `forget` forgets it, and an entry of an unselected set
    /// replaced meanwhile leaves a copy of a translation of the same tables, as the
    /// view's own slots may outlive their entries (module docs).
    #[inline]
    pub(super) fn select_fast(&mut self, set: usize) {
        if set != self.fast_set {
            self.swap_fast(set);
        }
    }

    /// [`Tlb::select_fast`]'s change of set, out of line.
    #[inline(never)]
    fn swap_fast(&mut self, set: usize) {
        let old = self.fast_set.min(2);
        let new = set.min(2);
        for w in 0..self.fast_used.len() {
            let mut bits = self.fast_used[w];
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                if let (Some(f), Some(s)) = (self.fast.get_mut(i), self.saved[old].get_mut(i)) {
                    *s = *f;
                    *f = FastEntry::EMPTY;
                }
                bits &= bits - 1;
            }
            self.saved_used[old][w] = self.fast_used[w];
            let mut bits = core::mem::take(&mut self.saved_used[new][w]);
            self.fast_used[w] = bits;
            while bits != 0 {
                let i = w * 64 + bits.trailing_zeros() as usize;
                if let (Some(f), Some(s)) = (self.fast.get_mut(i), self.saved[new].get(i)) {
                    *f = *s;
                }
                bits &= bits - 1;
            }
        }
        self.fast_set = set;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_a_power_of_two_apart_get_different_entries() {
        // Two buffers 2^k pages apart (TLB_SIZE <= 2^k < TLB_SIZE^2: 1 MiB to 256 MiB on
        // hosts), copied one into the other, must not evict each other's entry.
        for k in TLB_BITS..2 * TLB_BITS {
            for base in [0x8000_0000u64, 0x9120_5000, 0x3f_ffff_f000] {
                let other = base + (PAGE_SIZE << k);
                assert_ne!(
                    Tlb::index(base),
                    Tlb::index(other),
                    "{base:#x} + 2^{k} pages"
                );
            }
        }
        // Neighbouring pages still use neighbouring entries.
        assert_eq!(Tlb::index(0x8000_1000), Tlb::index(0x8000_0000) ^ 1);
    }

    /// A flush of an address that no larger mapping's piece covers skips the pieces
    /// (`may_hold_big`), and one inside such a mapping still drops every piece of it.
    #[cfg(feature = "rv64")]
    #[test]
    fn a_flush_outside_every_larger_mapping_skips_their_pieces() {
        let mut t = std::boxed::Box::new(Tlb::new());
        let entry = |va: u64| TlbEntry {
            tag_r: va,
            ppage: va,
            ..TlbEntry::EMPTY
        };
        // Two 4 KiB pieces of a 4 MiB megapage at 0xc000_0000, and a 4 KiB user page.
        for va in [0xc000_1000u64, 0xc03f_f000] {
            t.store(Priv::Supervisor, va, entry(va), 22, &CodePages::EMPTY);
        }
        t.store(Priv::User, 0x1_0000, entry(0x1_0000), 12, &CodePages::EMPTY);
        assert!(t.may_hold_big(0xc020_0000));
        assert!(
            !t.may_hold_big(0x1_0000),
            "a user page is in no megapage's region"
        );
        t.flush_va(0x1_0000);
        assert_ne!(t.entry(Priv::User, 0x1_0000).tag_r, 0x1_0000);
        assert_eq!(t.entry(Priv::Supervisor, 0xc03f_f000).tag_r, 0xc03f_f000);
        t.flush_va(0xc020_0000);
        for va in [0xc000_1000u64, 0xc03f_f000] {
            assert_ne!(
                t.entry(Priv::Supervisor, va).tag_r,
                va,
                "{va:#x} is a piece"
            );
        }
        t.forget();
        assert!(!t.may_hold_big(0xc020_0000));
    }

    /// A loop over 4 MiB in a page-sized stride (a Linux boot's `init` reads its buffer
    /// so) keeps every page's entry: the second pass walks no page again.
    #[cfg(not(target_os = "none"))]
    #[test]
    #[cfg_attr(miri, ignore = "Miri runs 256-entry sets (TLB_BITS)")]
    fn a_page_strided_pass_over_4_mib_keeps_every_entry() {
        let mut t = std::boxed::Box::new(Tlb::new());
        let base = 0x8c2b_4000u64;
        let entry = |va: u64| TlbEntry {
            tag_r: va,
            ppage: va,
            ..TlbEntry::EMPTY
        };
        for p in 0..1024 {
            let va = base + p * PAGE_SIZE;
            t.store(Priv::User, va, entry(va), 12, &CodePages::EMPTY);
        }
        let kept = (0..1024)
            .filter(|p| t.entry(Priv::User, base + p * PAGE_SIZE).tag_r == base + p * PAGE_SIZE)
            .count();
        assert_eq!(kept, 1024);
    }

    /// An entry mapping page `va` to itself, read and write, on host page `host`.
    #[cfg(not(target_os = "none"))]
    fn ram_entry(va: u64, host: *mut u8) -> TlbEntry {
        TlbEntry {
            tag_r: va,
            tag_w: va,
            tag_x: INVALID,
            ppage: va,
            host_r: host,
            host_w: host,
        }
    }

    #[cfg(not(target_os = "none"))]
    #[test]
    fn a_round_trip_to_another_set_finds_its_fast_view_and_a_flush_empties_it() {
        let mut page = [0u64; 512];
        let host = page.as_mut_ptr().cast::<u8>();
        let entry = |va: u64| ram_entry(va, host);
        let mut t = std::boxed::Box::new(Tlb::new());
        let (u, m) = (0x1000_0000, 0x8000_3000);
        t.select_fast(Tlb::set_of(Priv::User));
        t.store(Priv::User, u, entry(u), 12, &CodePages::EMPTY);
        t.store(Priv::Machine, m, entry(m), 12, &CodePages::EMPTY);
        assert_eq!(t.fast(u).tag_r, u);
        // A trap to M and back: M's entry is not in the view until M is selected...
        t.select_fast(Tlb::set_of(Priv::Machine));
        assert_ne!(t.fast(u).tag_r, u, "U's page is not in M's view");
        t.store(Priv::Machine, m, entry(m), 12, &CodePages::EMPTY);
        assert_eq!(t.fast(m).tag_r, m);
        // ...and U finds its view as it left it.
        t.select_fast(Tlb::set_of(Priv::User));
        assert_eq!(t.fast(u).tag_r, u, "U's view kept across the round trip");
        assert_ne!(t.fast(m).tag_r, m, "M's page is not in U's view");
        assert_eq!(t.fast(u).base_r.wrapping_add(u as usize), host);
        // A flush while M is selected forgets U's saved view too.
        t.select_fast(Tlb::set_of(Priv::Machine));
        t.flush();
        t.select_fast(Tlb::set_of(Priv::User));
        assert_ne!(t.fast(u).tag_r, u, "U's saved view forgotten by the flush");
    }

    /// A fast entry gets no write tag while its host page may hold code (`block`'s docs,
    /// "Pages that may hold code"); `retag_writes` takes it off when the page's bit is
    /// set later, in the selected view and in a saved one, and gives it back when the
    /// bits are clear again (a new epoch), reads untouched throughout.
    #[cfg(not(target_os = "none"))]
    #[test]
    fn fast_write_tags_match_only_pages_that_hold_no_code() {
        let mut page = [0u64; 512];
        let host = page.as_mut_ptr().cast::<u8>();
        let mut code = CodePages::EMPTY;
        code.mark(host.addr() + 64);
        let none = CodePages::EMPTY;
        let entry = |va: u64| ram_entry(va, host);
        let (u, m) = (0x1000_0000, 0x8000_3000);
        let mut t = std::boxed::Box::new(Tlb::new());
        t.select_fast(Tlb::set_of(Priv::User));
        t.store(Priv::User, u, entry(u), 12, &code);
        assert_eq!(t.fast(u).tag_r, u);
        assert_ne!(t.fast(u).tag_w, u, "filled while its page may hold code");
        t.retag_writes(&none);
        assert_eq!(t.fast(u).tag_w, u, "given back: no page holds code");
        assert_eq!(t.fast(u).base_w.wrapping_add(u as usize), host);
        // U's view saved while M runs; the page's bit set meanwhile.
        t.select_fast(Tlb::set_of(Priv::Machine));
        t.store(Priv::Machine, m, entry(m), 12, &none);
        assert_eq!(t.fast(m).tag_w, m);
        t.retag_writes(&code);
        assert_ne!(t.fast(m).tag_w, m, "the selected view's entry");
        assert_eq!(t.fast(m).tag_r, m);
        t.select_fast(Tlb::set_of(Priv::User));
        assert_ne!(t.fast(u).tag_w, u, "the saved view's entry");
        assert_eq!(t.fast(u).tag_r, u);
    }
}
