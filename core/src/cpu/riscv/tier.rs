//! The hook for a faster execution tier: [`BlockTier`], which the run loop asks to execute
//! a decoded block (`block`) before its own block executor does, and what it sees of the
//! block ([`BlockRef`]), of the hart ([`TierCtx`]) and returns ([`TierEnd`]).
//!
//! The run loop does everything around a block exactly as without a tier: the budget and
//! interrupt checks, the fetch page, the DMA write count and the code epoch, and checking
//! the block against guest memory. Only then does it offer the checked block to the tier,
//! with a [`TierCtx`]: the register file, the data TLB, the code-line filter, the
//! interrupt word and the remaining budget. The tier either runs the block's instructions
//! itself and says how it ended, or declines (`None`), and the interpreter runs the block
//! as always. [`Interp`], the tier of [`Hart::run`](super::Hart::run), always declines,
//! inlined, so the interpreter's loop compiles as before (the context is never built).
//!
//! **What a tier may do.** Change integer registers (ALU, branches, jumps) and load and
//! store guest RAM through the data TLB's host pointers, exactly as the block executor's
//! fast path does (aligned, a TLB hit with a host pointer; a store through the
//! entry not to a line of [`TierCtx::code_lines`], one through the fast view unchecked),
//! and load through the RAM window ([`TierCtx::window_lo`]:
//! aligned, inside it), which stands for TLB entries of every page it covers. Anything else — a TLB miss, MMIO, a misaligned access, a
//! store to a code line, CSRs, the FP state — it leaves to the interpreter by ending
//! *before* that instruction with [`TierEnd::Single`], so the general path executes it
//! (and takes its trap with its own `pc`, earlier instructions' effects kept).
//!
//! **Continuing into the next block** without returning (chaining) is allowed when the
//! tier checks, at the block boundary, what the run loop would: at least
//! [`BLOCK_INSNS`](super::BLOCK_INSNS) instructions of budget left, and nothing in the
//! interrupt word under the exit mask (`*pending & exit_mask`, [`TierCtx::exit_mask`]):
//! no pending enabled interrupt or stop request (with `mip_sw & int_mask` 0, which the
//! tier checks at the call), and no write to guest RAM behind the hart's back since the
//! run loop last read the DMA write count (the memory sets a bit of the word at each,
//! `crate::watch`) — and that the next block was offered by the run loop (so checked
//! against memory, on a fetch page without execute triggers) in the current code epoch
//! ([`TierCtx::epoch`]) and code space ([`TierCtx::space`]: the privilege). The context
//! stays valid for the whole call, and nothing that changes the epoch, the privilege or
//! the translation happens inside a tier.
//!
//! **Why one word is enough** (the written-bit's ordering). A writer (a DMA lease, a
//! section write) writes the bytes, adds one to the count (`Release`) and then sets the
//! bit in every watching hart's word (`fetch_or`, `Release`) before it returns, so
//! before it writes anything else a guest could read (a completion flag, a descriptor)
//! or raises an interrupt. The run loop clears the bit (`Acquire`) before it reads the
//! count and offers a block: a write whose bit it cleared is in the count it read, so
//! the block was checked in an epoch after it; a write whose bit came later leaves the
//! bit set. The tier's boundary check is a plain load of the word (x86-64: loads are
//! not reordered with older loads, and stores become visible in one order), so a guest
//! that read anything the writer wrote after the bit — a flag in RAM its code polls, a
//! value an interrupt handler reads — and then reaches a block boundary sees the bit
//! and returns before that block: code the guest learned of through RAM never runs
//! stale. A write the guest has no way to know of yet may be seen a few boundaries
//! later, as from a slower writer. The bit also makes a forward exit's check an
//! interrupt check; that costs nothing (one word, one load) and only takes interrupts
//! earlier.

use core::mem::offset_of;

use super::block::{self, Block, BLOCK_WORDS};
use super::insn::Op;
use super::tlb::{FastEntry, TlbEntry, TLB_BITS, TLB_SIZE};

/// How a block run by a tier ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TierEnd {
    /// `retired` instructions retired (all of the block, or up to a taken branch or a
    /// jump); continue at `pc`.
    Next {
        /// Instructions retired.
        retired: u64,
        /// The next `pc`.
        pc: u64,
    },
    /// `retired` instructions retired (all but the block's last); the last, at `pc`, is to
    /// run through the interpreter's general path.
    Single {
        /// Instructions retired.
        retired: u64,
        /// The `pc` of the block's last instruction.
        pc: u64,
    },
}

/// A faster tier for decoded blocks (see the module docs).
pub trait BlockTier {
    /// Whether this tier declines every block (the interpreter alone, [`Interp`]): the
    /// interpreter's block executor may then go on from one block into the next itself,
    /// with the run loop's checks between them, instead of returning to offer each block
    /// to the tier.
    const DECLINES_ALL: bool = false;

    /// Runs the checked block `block` on the hart state in `ctx` (see [`TierCtx`]),
    /// retiring at most `ctx.left` instructions, or returns `None` to leave it to the
    /// interpreter (then nothing may have changed but [`TierCtx::declined`]).
    fn run_block(&mut self, block: BlockRef<'_>, ctx: &mut TierCtx) -> Option<TierEnd>;
}

/// The interpreter alone: declines every block.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interp;

impl BlockTier for Interp {
    const DECLINES_ALL: bool = true;

    #[inline(always)]
    fn run_block(&mut self, _: BlockRef<'_>, _: &mut TierCtx) -> Option<TierEnd> {
        None
    }
}

/// What a tier sees of the hart while it runs a block (the one boundary between the core
/// and generated code: plain data and raw pointers, `#[repr(C)]` so that generated code
/// reads its fields at fixed offsets, `core::mem::offset_of!`). The run loop fills it for
/// each call; every pointer is valid, and nothing else accesses what it points to except
/// other harts and DMA on guest RAM and the interrupt word, for the duration of
/// [`BlockTier::run_block`].
#[repr(C)]
#[derive(Debug)]
pub struct TierCtx {
    /// The integer register file, 256 `u64` slots: slots 0..=31 are x0..x31, x0 always 0;
    /// writes to x0 go to slot 32; RV32 values are kept zero-extended.
    pub regs: *mut u64,
    /// The data TLB of the current data-access privilege: [`TLB_SIZE`] entries of
    /// [`TLB_ENTRY_BYTES`], the entry for `va` at index `(vpn ^ (vpn >> TLB_INDEX_BITS))
    /// % TLB_SIZE` with `vpn = va >> 12`. A load
    /// may use the host page at [`TLB_HOST_R`] when the tag at [`TLB_TAG_R`] equals
    /// `va & !0xfff` and the pointer is not null, a store likewise with [`TLB_TAG_W`] and
    /// [`TLB_HOST_W`]; the host page is 8-byte aligned and 4 KiB long.
    pub tlb: *const u8,
    /// The data TLB's fast view of the same set: [`TLB_FAST_ENTRIES`] entries of
    /// [`TLB_FAST_BYTES`], the one for `va` at index `(vpn + (vpn >> TLB_FAST_BITS)) %
    /// TLB_FAST_ENTRIES` with `vpn = va >> 12`: the top [`TLB_FAST_BITS`] bits of the
    /// 32-bit product `(va & !0xfff) * TLB_FAST_HASH` (alignment bits below the page
    /// leave them as they are). A load of `size` bytes may use host address `base + va`
    /// (the pointer at [`TLB_FAST_BASE_R`], wrapping) when the tag at [`TLB_FAST_TAG_R`]
    /// equals `va & (!0xfff | (size - 1))` (the page and the alignment in one compare: a
    /// tag matches only where there is a host page), a store likewise with
    /// [`TLB_FAST_TAG_W`] and [`TLB_FAST_BASE_W`]. A miss here says nothing: [`TierCtx::tlb`] may still hit.
    /// A write tag matches only while the host page holds no line of a block checked in
    /// this code epoch (the core takes the write tags of a page off when a block on it
    /// is checked, which happens only between calls: `block`'s docs, "Pages that may
    /// hold code"), so a store that hits here needs no code-line check.
    pub fast_tlb: *const u8,
    /// The RAM window of loads at M level (none at other levels, with a data trigger
    /// armed, or on bare metal): a load of `2^k` bytes at `va` whose offset `va -
    /// window_lo` (wrapping), rotated right by `k` bits, is below `window_limits[k]`
    /// (the window's size over `2^k`; all four 0 when there is no window: nothing is
    /// below) — so aligned and inside — may read host address `window_host + (va -
    /// window_lo)`, as the data TLB would say for every page of it. A load outside it
    /// says nothing: the TLB's fast view and entries may still hit.
    pub window_lo: u64,
    /// See [`TierCtx::window_lo`].
    pub window_limits: [u64; 4],
    /// See [`TierCtx::window_lo`] (null when there is no window).
    pub window_host: *const u8,
    /// The code-line filter: [`CODE_LINES`] bits, bit `(host address / 64) % CODE_LINES`
    /// in `u64` words; a store through [`TierCtx::tlb`] whose host address has its bit
    /// set must be left to the interpreter (it may write a block checked in this code
    /// epoch), unless the line's tag says otherwise ([`TierCtx::code_tags`]). (A store
    /// that hits [`TierCtx::fast_tlb`] needs no check.)
    pub code_lines: *const u64,
    /// Behind each set bit of [`TierCtx::code_lines`]: [`CODE_LINES`] `u64` tags, the one
    /// for host address `a` at index `(a / 64) % CODE_LINES`. A store whose bit is set
    /// may still be made by a tier when that tag is neither [`CODE_TAG_ANY`] nor
    /// `a / 64 / CODE_LINES` (the bit was set by another line that shares it). A tag
    /// behind a clear bit is stale: read it only when the bit is set.
    pub code_tags: *const u64,
    /// The hart's interrupt and stop word (an atomic `u32`; read it with a plain load),
    /// in which the memory sets a bit at every write to guest RAM behind the hart's back
    /// during the call ([`TierCtx::exit_mask`]); when the hart could not watch the bus's
    /// writes, a word whose bit is always set instead (then no block boundary chains).
    pub pending: *const u32,
    /// Instructions the tier may still retire in this call.
    pub left: u64,
    /// The run loop's interrupt mask: an interrupt is taken when
    /// `(*pending | mip_sw) & int_mask != 0`.
    pub int_mask: u32,
    /// `int_mask` and the bit the memory sets at writes behind the hart's back: a block
    /// boundary may chain only while `*pending & exit_mask == 0` (module docs).
    pub exit_mask: u32,
    /// The software-written `mip` bits.
    pub mip_sw: u32,
    /// The current code epoch: it changes whenever code, the translation of `pc` or
    /// triggers may have changed, and at every time slice of a hart that is not its
    /// machine's only one (it wraps after 2^30 changes). It is the epoch of every code
    /// space ([`TierCtx::space`]) at once: a privilege change alone keeps it.
    pub epoch: u32,
    /// The current code space: the privilege's index (U 0, S 1, M 2). A block is checked
    /// for one space in one epoch: a block offered in space `s` of this epoch may be
    /// chained to from blocks running in space `s` while the epoch lasts, also after
    /// other spaces ran in between; never from another space's blocks.
    pub space: u32,
    /// Written by the tier, `false` when the call begins: set with a `None` from
    /// [`BlockTier::run_block`] when the tier will decline this decoding of the block
    /// whenever it is offered again (it cannot translate it, or its translation did not
    /// pay). The run loop then stops offering it: the interpreter's block executor runs
    /// it, and goes on into it from other blocks of its page, as with the interpreter
    /// alone. Generated code never reads it.
    pub declined: bool,
}

/// What the run loop puts in [`TierCtx::window_lo`] and the fields after it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TierWindow {
    pub(super) lo: u64,
    pub(super) limits: [u64; 4],
    pub(super) host: *const u8,
}

impl TierWindow {
    /// No window: every limit 0.
    pub(super) const NONE: TierWindow = TierWindow {
        lo: 0,
        limits: [0; 4],
        host: core::ptr::null(),
    };
}

/// Bytes per data TLB entry in [`TierCtx::tlb`].
pub const TLB_ENTRY_BYTES: usize = core::mem::size_of::<TlbEntry>();
/// Entries in [`TierCtx::tlb`].
pub const TLB_ENTRIES: usize = TLB_SIZE;
/// log2 of [`TLB_ENTRIES`]: how far the page number is shifted before it is XORed into the
/// index ([`TierCtx::tlb`]).
pub const TLB_INDEX_BITS: u32 = TLB_BITS;
/// Offset of an entry's read tag.
pub const TLB_TAG_R: usize = offset_of!(TlbEntry, tag_r);
/// Offset of an entry's write tag.
pub const TLB_TAG_W: usize = offset_of!(TlbEntry, tag_w);
/// Offset of an entry's host page for reads (a pointer, null for none).
pub const TLB_HOST_R: usize = offset_of!(TlbEntry, host_r);
/// Offset of an entry's host page for writes (a pointer, null for none).
pub const TLB_HOST_W: usize = offset_of!(TlbEntry, host_w);
/// Entries of [`TierCtx::fast_tlb`] (a power of two; 0 on bare metal, where there is no
/// fast view).
pub const TLB_FAST_ENTRIES: usize = super::tlb::FAST_ENTRIES;
/// log2 of [`TLB_FAST_ENTRIES`] (see [`TierCtx::fast_tlb`]).
pub const TLB_FAST_BITS: u32 = super::tlb::FAST_BITS;
/// The multiplier of the fast view's index (see [`TierCtx::fast_tlb`]).
pub const TLB_FAST_HASH: u32 = super::tlb::FAST_HASH;
/// Bytes per entry of [`TierCtx::fast_tlb`].
pub const TLB_FAST_BYTES: usize = core::mem::size_of::<FastEntry>();
/// Offset of a fast entry's read tag.
pub const TLB_FAST_TAG_R: usize = offset_of!(FastEntry, tag_r);
/// Offset of a fast entry's write tag.
pub const TLB_FAST_TAG_W: usize = offset_of!(FastEntry, tag_w);
/// Offset of a fast entry's read base (host page minus page address).
pub const TLB_FAST_BASE_R: usize = offset_of!(FastEntry, base_r);
/// Offset of a fast entry's write base.
pub const TLB_FAST_BASE_W: usize = offset_of!(FastEntry, base_w);
/// Bits of [`TierCtx::code_lines`] (a power of two).
pub const CODE_LINES: usize = super::block::CODE_LINES;
/// A tag of [`TierCtx::code_tags`] that matches every line (two code lines share its
/// bit).
pub const CODE_TAG_ANY: u64 = super::block::ANY_LINE;

/// One decoded instruction of a block, as a tier sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInsn {
    /// The operation.
    pub op: Op,
    /// Destination register slot (32 for none or x0).
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// The sign-extended immediate (the shift amount for shifts).
    pub imm: i32,
    /// Byte offset of this instruction from the block's `pc`.
    pub offset: u8,
}

/// A checked decoded block (read-only).
#[derive(Clone, Copy)]
pub struct BlockRef<'a> {
    pub(super) block: &'a Block,
    pub(super) pool_index: usize,
}

impl<'a> BlockRef<'a> {
    /// The virtual `pc` of its first instruction.
    #[inline(always)]
    pub fn pc(&self) -> u64 {
        self.block.pc
    }

    /// Its slot in the hart's block pool (below [`BLOCK_POOL`](super::BLOCK_POOL)).
    #[inline(always)]
    pub fn pool_index(&self) -> usize {
        self.pool_index
    }

    /// A number that changes (never repeats, for one hart) whenever the pool slot is
    /// decoded again: a translation made from a block with this serial is valid exactly as
    /// long as the block in the slot has it.
    #[inline(always)]
    pub fn serial(&self) -> u64 {
        self.block.serial
    }

    /// How many instructions it has (1 to [`BLOCK_INSNS`](super::BLOCK_INSNS)).
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.block.count as usize
    }

    /// Whether it has no instructions (never, for a checked block).
    pub fn is_empty(&self) -> bool {
        self.block.count == 0
    }

    /// Instruction `i` (`i < len()`).
    pub fn insn(&self, i: usize) -> BlockInsn {
        let u = self.block.insns[i];
        let op = u.op.unfused();
        BlockInsn {
            // A fused pair is its two instructions here (`block::fuse`).
            op,
            rd: u.rd,
            rs1: u.rs1,
            rs2: u.rs2,
            // Back from the block's start to the instruction (`block::is_from_start`).
            imm: if block::is_from_start(op) {
                u.imm - self.block.offs[i] as i32
            } else {
                u.imm
            },
            offset: self.block.offs[i],
        }
    }

    /// The block's length in bytes (the offset just past its last instruction).
    pub fn byte_len(&self) -> u8 {
        self.block.offs[self.len()]
    }

    /// The aligned guest words it was decoded from (at most [`BLOCK_MAX_WORDS`], from
    /// `pc & !3`): with the `pc` (and the hart's XLEN) they determine every instruction,
    /// so a tier may recognise a block decoded again by them.
    #[inline(always)]
    pub fn words(&self) -> &'a [u32] {
        &self.block.words[..(self.block.nwords as usize).min(BLOCK_WORDS)]
    }
}

/// Most words [`BlockRef::words`] holds.
pub const BLOCK_MAX_WORDS: usize = BLOCK_WORDS;
