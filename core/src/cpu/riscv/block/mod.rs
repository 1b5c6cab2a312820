//! The decoded basic-block cache, and the hart's check of a block against guest memory at
//! its first entry in a code epoch (`Hart::block_valid`).
//!
//! A block is a run of up to [`BLOCK_INSNS`] instructions that starts at some `pc`, stays
//! inside one 4 KiB page, and ends after the first jump (`jal`, `jalr`) or the first
//! instruction the block executor does not run itself
//! (CSR and system instructions, fences, AMOs, LR/SC, illegal encodings; without the `rv64`
//! feature also RV64's `ld`, `lwu`, `sd` and word operations), which is kept as the block's last instruction and executed by the general
//! executor. Each block keeps its decoded instructions, their offsets from the start, and a
//! copy of the aligned 32-bit words of guest memory that hold them. A conditional branch
//! leaves the block when taken and goes on inside it when not (a superblock: a loop and
//! the code after it are one block), so an `if` without `else` costs no block entry.
//!
//! **Validation, once per code epoch.** The cache is keyed by the virtual `pc` only. A
//! block is checked against guest memory (its stored words compared with the words now
//! behind the current fetch page's host pointer, which the TLB gave for an execute access)
//! when it is first entered in a *code epoch*, and decoded again on any difference; the
//! block then carries the epoch's stamp, and later entries in the same epoch only compare
//! the stamp. The decoded form depends only on the raw bits and the block's `pc` (XLEN is
//! fixed per hart), so a checked block is right whatever physical page is behind the `pc`
//! now. The epoch ends (every stamp goes stale at once, in O(1)) when code may have
//! changed behind the hart's back or the `pc`'s translation may have changed:
//!
//! * a store of this hart, plain or atomic (AMO, a successful SC), that lands on a 64-byte
//!   host line holding a block checked in this
//!   epoch ([`BlockCache::is_code_line`]: a 4096-bit filter keyed by host address, so one
//!   load and a bit test per store, and behind a set bit the line's tag, so a data line 256
//!   KiB (or a multiple) away from checked code is told apart from it and keeps the epoch;
//!   1024 bits on bare metal and under Miri);
//!   two code lines on one bit make it match every line, a false hit that only costs a
//!   re-check). The store also ends the running block, so the next instruction sees the
//!   new code, as before. A store that hits the TLB's fast view makes no such test:
//!   a fast-view entry has a write tag only while its host page holds no such line (see
//!   "Pages that may hold code" below), so only stores through the TLB entry itself and
//!   the slow paths test the filter;
//! * every DMA write through a lease into guest RAM: the memory counts them
//!   ([`ReadSection::lease_writes`](crate::memory::ReadSection::lease_writes)) and the run
//!   loop compares the count at every block entry (one load), so code written by DMA runs
//!   from the next block on;
//! * every write to guest memory not made through this hart's host pointers that the
//!   memory counts ([`ReadSection::lease_writes`](crate::memory::ReadSection::lease_writes):
//!   debuggers, loaders and devices writing through a section), compared like DMA's;
//! * every time slice ([`Hart::run`](super::Hart::run)) unless the hart is the machine's
//!   only one ([`Hart::set_sole_hart`](super::Hart::set_sole_hart)): plain stores by other
//!   harts are seen at the latest at the next slice; and `fence.i`, which sees them at
//!   once. A sole hart's next slice keeps the epoch when the counted writes, the fetch
//!   context (privilege, TLB remaps: a debugger may change `satp`) and the view (a
//!   commit may map other memory over code) are what they were at the end of the last
//!   one, so a loop's blocks and a tier's chains outlive the slice;
//! * every change of what the `pc` may translate to, since a checked block keeps no host
//!   address: every TLB flush that may remap (`satp`, `sfence.vma`, PMP, `menvcfg`,
//!   triggers: `Tlb::remaps`), which the run loop tells by comparing the count after every
//!   slow event. Other CSR instructions, AMOs, LR/SC, traps and `mstatus.SUM/MXR` changes
//!   keep the epoch (a Linux kernel runs millions of them: each used to start one). An
//!   `sfence.vma` of one address ends it only when a block checked in this epoch was
//!   fetched through a mapping that covers the address: the cache keeps a filter of the
//!   virtual regions that such blocks were fetched from under translation (S or U with
//!   `satp.MODE` not Bare), each with the size of its mapping as the TLB recorded it
//!   (`BlockCache::mark_fetched`: a block fetched through a 4 MiB megapage names the whole
//!   megapage, so a flush of any page of it ends the epoch, as the TLB drops every piece
//!   of it), emptied when the epoch ends. The filter does not depend on the TLB still
//!   holding the block's entry: a flush of a code page whose entry a data access evicted
//!   still ends the epoch. A Linux boot makes about 66 k such flushes; 48 of them named
//!   a region of checked code;
//! * every page walk that sets a PTE's A or D bit (it writes guest memory; a walk that
//!   only reads page tables keeps the epoch);
//! * every misaligned store off the TLB fast path (it may be MMIO or code). An access to
//!   MMIO keeps the epoch, a load, a store, an AMO or an SC alike (and a misaligned load,
//!   made of two aligned ones): a device that writes guest memory because of it (a DMA
//!   engine whose status a guest polls, a read with side effects) writes through a lease
//!   or a section, which the memory counts (above), and the access ends the running
//!   block (the block executor leaves after an access off the fast path; generated code
//!   leaves before one and the general path runs it alone), so the count is compared
//!   before the next block (a trap-heavy guest that arms a timer at every interrupt
//!   used to check every block again each time; an rv32 Linux boot ended 1.36 k of its
//!   5.87 k epochs on MMIO loads).
//!
//! **Pages that may hold code.** Beside the line filter the cache keeps a filter of
//! host pages (`BlockCache::code_pages`, [`CodePages`]: bit `(host address / 4096) %
//! CODE_PAGES`, set for the pages of every line `mark_checked` sets, emptied with the
//! epoch), and the TLB's fast view (`tlb::FastEntry`) keeps this invariant: **a
//! fast-view entry's write tag matches only while its host page's bits are clear** (the
//! pages of its first and last bytes: [`CodePages::may_hold_code`]), so while the page
//! holds no line of a block checked in this epoch. It holds because (1) an entry is
//! filled with a write tag only when its page's bits are clear (`FastEntry::of`), (2) a
//! bit is set only by `mark_checked`, which says when it set one that was clear, and the
//! hart then takes the write tag off every fast-view entry (the selected view and the
//! saved ones) whose page now has a set bit (`Hart::mark_block_checked`,
//! `Tlb::retag_writes`: a pass over the views, skipped when no entry was given a write
//! tag on a page of that bit since they were last emptied, `Tlb::code_page_marked`), and
//! (3) bits are cleared only when the epoch ends (all at once), which the invariant
//! survives as it is; the first block checked in the next epoch gives every other entry
//! its write tag back (a pass, once an epoch). Pages whose bits coincide (16 MiB
//! apart on hosts) alias: a page with no code whose bit another page's code set only
//! sends its stores through the TLB entry, which tests the line filter. So a store that
//! hits the fast view, in the block executor or in generated code, writes no line of a
//! checked block and needs no filter test (as QEMU keeps pages with translated code out
//! of its TLB's write fast path, `TLB_NOTDIRTY`). (The line filter's own words, one per
//! page's 64 lines, alias every 256 KiB: in an rv32 Linux boot its kernel's code set
//! most of them each epoch, and about 30 M stores missed the fast view.)
//!
//! **Code spaces.** A privilege change (traps, interrupts, `mret`, `sret`) changes what
//! the `pc` translates to without ending the epoch: each privilege is its own *code
//! space*, and a block's stamp is the epoch and the space it was checked in
//! (`BlockCache::stamp`), so a block checked in U is checked again when it is entered in
//! M (at the same virtual `pc` M may see another page), and one checked in U before a
//! trap to M is still checked when `mret` comes back to U: nothing remapped U's pages
//! (that ends the epoch), and the code-line filter holds the lines of every space's
//! blocks checked in the epoch (it is emptied only when the epoch ends), so a store in
//! M to U's code ends the epoch of all spaces. A trap-heavy guest (an `ecall` round
//! trip, a timer interrupt) so finds its blocks, and a tier its chains, still checked.
//!
//! This is stronger than the ISA requires (Zifencei: a hart's fetches need see stores,
//! its own included, only after it executes `fence.i`), and what QEMU's precise
//! self-modifying-code detection gives for this hart's own stores and for DMA. For another
//! hart's plain stores it gives the ISA's guarantee (`fence.i` on this hart) and at worst
//! a time slice of delay without one.
//!
//! **Fused pairs.** The most frequent pairs of neighbours in the benchmark set
//! ([`Op::fused_with`]: an operation followed by an `addi` or by a conditional branch, some
//! ALU pairs, `lw`+`lw`, `sw`+`sw`, and a `beq` or `bne` followed by another branch, a
//! `sw`, an `addi` or a `lw`) are decoded into one fused micro-op with the second
//! instruction kept in the next slot, which the block executor runs in one dispatch
//! (`fuse`); retirement counts, the budget and precise traps are as for two
//! instructions, and a tier sees the two instructions ([`Op::unfused`]). One triple,
//! `addi`+`sb`+a conditional branch ([`Op::fused_with_two`]: a byte loop's pointer step,
//! store and test), is fused the same way with its other two instructions in the next two
//! slots, and so are two CRC steps' triples, `add`+`xor`+a conditional branch and
//! `srli`+`and`+`addi`, and `add`+`sw`+a conditional branch. The rules are one line each (`insn.rs`'s `fusion_rules!`).
//!
//! **Layout, no heap.** An index table of [`BLOCK_INDEX`] `u16`s, direct-mapped by
//! `pc >> 1`, points into a pool of [`BLOCK_POOL`] blocks that are reused round-robin,
//! passing over (at most `REUSE_PROBES`) blocks checked in one of the last
//! `REUSE_EPOCHS` code epochs, which are in use (a clock whose reference bit is the
//! block's stamp: no cost on the hot path); a block whose table slot was taken over, or
//! whose pool entry was reused, just fails the `pc` tag check and is decoded again. On
//! hosts the index spans 128 KiB of code with no conflicts (65536 slots of 2 bytes) and
//! the pool holds 4096 blocks (248 bytes each, about 1 MiB): a Linux kernel's hot code
//! needs that many. In an rv32 boot to power-off, 512 blocks and 4096 slots decoded
//! blocks 3.8 M times, 2048 and 4096 2.0 M times, 2048 and 16384 1.3 M times, 4096 and
//! 16384 0.5 M times (0.64 M before the TLB outlived time slices), 4096 and 65536 0.26 M
//! times, with the reuse rule 0.19 M times, and with the code-line filter of 4096 lines
//! (fewer epochs) 0.18 M times (38.9 k different blocks; `fief run
//! --trace exits`); 8192 blocks overflowed the runner's main thread's stack. The pool
//! is held by value like the rest of the hart, so a host keeps its harts in a `Box` or on
//! a thread with a roomy stack (the runner's hart threads; the test machine boxes its
//! hart; the workspace's tests run with 8 MiB stacks, `.cargo/config.toml`). On bare-metal
//! targets (`target_os = "none"`, e.g. the co-simulation firmware) both are much smaller.

use super::decode::decode_any;
use super::hart::Hart;
use super::host;
use super::insn::Op;
use super::tlb::PAGE_MASK;
use super::word;
use super::Xlen;

/// Most instructions in a block.
pub const BLOCK_INSNS: usize = 16;
/// Most 32-bit words a block covers: 16 instructions of 4 bytes starting 2 bytes into a word.
pub(super) const BLOCK_WORDS: usize = BLOCK_INSNS + 1;
/// Slots of the index table (a power of two).
#[cfg(all(not(target_os = "none"), not(miri)))]
pub const BLOCK_INDEX: usize = 65536;
/// Blocks in the pool.
#[cfg(all(not(target_os = "none"), not(miri)))]
pub const BLOCK_POOL: usize = 4096;
/// Slots of the index table under Miri, which checks the same code with the earlier, smaller
/// sizes: a hart of the hosts' size took Miri minutes to make, in each of hundreds of tests.
#[cfg(all(not(target_os = "none"), miri))]
pub const BLOCK_INDEX: usize = 4096;
/// Blocks in the pool under Miri (see `BLOCK_INDEX`).
#[cfg(all(not(target_os = "none"), miri))]
pub const BLOCK_POOL: usize = 512;
/// Slots of the index table (a power of two).
#[cfg(target_os = "none")]
pub const BLOCK_INDEX: usize = 256;
/// Blocks in the pool.
#[cfg(target_os = "none")]
pub const BLOCK_POOL: usize = 32;

/// Pool entries [`BlockCache::build`] passes over at most, looking for one to reuse
/// that was not run lately (checked in one of the last [`REUSE_EPOCHS`] code epochs):
/// none on bare metal, where the firmware's flash is tight (the pool is used round-robin).
const REUSE_PROBES: usize = if cfg!(target_os = "none") { 0 } else { 16 };
/// How many code epochs back a block counts as run lately ([`REUSE_PROBES`]): a boot
/// decoded 176-181 k blocks with 8, 183-185 k with 2, 240 k with 64 (nearly every block
/// then counts as run lately; 64 was best while a store on a filter bit shared by two code
/// lines still ended an epoch about every 25 k instructions: `CODE_LINES`).
const REUSE_EPOCHS: u32 = 8;

/// A tag no `pc` equals (instructions are 2-byte aligned).
const INVALID: u64 = 1;

/// One decoded instruction of a block (8 bytes): see [`Insn`](super::insn::Insn) for the
/// fields, except that a conditional branch's or `jal`'s `imm` is its target's offset from
/// the block's start ([`is_from_start`]); the length is implied by the next offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Micro {
    pub(super) op: Op,
    pub(super) rd: u8,
    pub(super) rs1: u8,
    pub(super) rs2: u8,
    pub(super) imm: i32,
}

/// The micro-op after a block's last instruction (`Block::insns[count]`), where the block
/// executor's loop ends: an [`Op::Illegal`] with `rd` 0, which the decoder never produces
/// (it gives `rd` 1..=32), so the loop needs no count check per instruction.
pub(super) const END: Micro = Micro {
    op: Op::Illegal,
    rd: 0,
    rs1: 0,
    rs2: 0,
    imm: 0,
};

/// One block (see the module docs).
#[derive(Clone, Copy)]
pub(super) struct Block {
    /// The virtual `pc` of the first instruction, or [`INVALID`].
    pub(super) pc: u64,
    /// Which decoding this is: a new number at every `BlockCache::build` (`tier`).
    pub(super) serial: u64,
    /// The code epoch and code space in which the words were last checked against memory
    /// (`BlockCache::stamp`; 0: never).
    pub(super) checked: u32,
    /// Instructions in the block (1..=[`BLOCK_INSNS`] when valid).
    pub(super) count: u8,
    /// Words in `words`.
    pub(super) nwords: u8,
    /// The tier declines this decoding for good ([`TierCtx::declined`](super::tier::TierCtx::declined)):
    /// it is no longer offered, and the block executor chains into it.
    pub(super) declined: bool,
    /// Offset of instruction `i` from `pc`; `offs[count]` is the block's length in bytes.
    pub(super) offs: [u8; BLOCK_INSNS + 1],
    /// The guest words from `pc & !3` that hold the block.
    pub(super) words: [u32; BLOCK_WORDS],
    /// The decoded instructions, then [`END`] at `insns[count]` (and after).
    pub(super) insns: [Micro; BLOCK_INSNS + 1],
}

// The pool's memory is `BLOCK_POOL` times this (see the module docs).
const _: () = assert!(core::mem::size_of::<Block>() == 248);

impl Block {
    const EMPTY: Block = Block {
        pc: INVALID,
        serial: 0,
        checked: 0,
        count: 0,
        nwords: 0,
        declined: false,
        offs: [0; BLOCK_INSNS + 1],
        words: [0; BLOCK_WORDS],
        insns: [END; BLOCK_INSNS + 1],
    };
}

/// Whether the block executor runs `op` itself without ending the block (F and D
/// operations included: `Hart::fp_in_block`; so are the bit-manipulation and
/// conditional-zero ones, RV64's `W` and `.uw` forms among them: `bitmanip`; and RV64's
/// `ld`, `lwu`, `sd` and word operations: `word`).
pub(super) fn is_straight(op: Op) -> bool {
    use Op::*;
    (cfg!(feature = "fpu") && op.is_fp())
        || (cfg!(feature = "ext") && op.is_bitmanip())
        || (word::FAST && (op.is_word() || matches!(op, Ld | Lwu | Sd)))
        || op.is_integer_compute()
}

/// Whether `op` is a conditional branch (a block goes on past it when not taken).
pub(super) fn is_cond_branch(op: Op) -> bool {
    matches!(
        op,
        Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
    )
}

/// Whether `op`'s immediate is kept in a block as an offset from the block's start rather
/// than from the instruction (conditional branches and `jal`: [`Micro::imm`]), so that the
/// block executor finds a taken branch's target without the instruction's offset.
pub(super) fn is_from_start(op: Op) -> bool {
    is_cond_branch(op) || op == Op::Jal
}

/// Whether `BlockCache::build` fuses pairs ([`fuse`]): off on bare metal, where the
/// firmware's flash is tight.
pub(super) const FUSE: bool = cfg!(not(target_os = "none"));

/// Fuses pairs of a block's instructions (`insns`, without the `END` slot): an operation
/// that has a fused form with the next one ([`Op::fused_with`]: an `addi`, or a
/// conditional branch, after the first operations of the most frequent pairs in the
/// benchmark set) becomes that fused operation, and the second instruction stays in the
/// next slot, where the block executor reads its operands: the pair then costs one
/// dispatch instead of two. Both instructions still retire one by one (the executor
/// counts two), an exception in the first has its own `pc` with nothing of the second
/// done, and a first half that ends the block (an access off the TLB fast path, a store
/// to code) ends it before the second; a taken branch as the second half leaves the block
/// with both counted. A fused pair is never split by the budget: a block runs whole or
/// not at all (`Hart::run_block`). A jump into the middle of a pair starts another block
/// at the second instruction (blocks are keyed by their first `pc`), which runs it alone.
/// A tier sees the pair as its two instructions ([`Op::unfused`] in
/// `tier::BlockRef::insn`). A triple ([`Op::fused_with_two`]: an `addi`, an `sb` and a
/// conditional branch, a byte loop's step, store and test; `add`, `xor` and a branch;
/// `srli`, `and` and `addi`; `add`, `sw` and a branch) is fused the same way, its second and third instructions
/// kept in the next two slots, and is looked for first.
pub(super) fn fuse(insns: &mut [Micro]) {
    let mut k = 0;
    while k + 1 < insns.len() {
        // A triple first (its second and third halves stay in the next two slots).
        if k + 2 < insns.len() {
            if let Some(f) = insns[k].op.fused_with_two(insns[k + 1].op, insns[k + 2].op) {
                insns[k].op = f;
                k += 3;
                continue;
            }
        }
        match insns[k].op.fused_with(insns[k + 1].op) {
            Some(f) => {
                insns[k].op = f;
                // The second half is this pair's, not the start of another pair.
                k += 2;
            }
            None => k += 1,
        }
    }
}

/// 64-byte host lines tracked by the code-line filter (a power of two): 4096 on hosts
/// (its tags take 32 KiB). With 1024, a Linux kernel's code checked in one epoch (about
/// 1 500 lines) left about 40 % of the bits shared by two code lines (`ANY_LINE`), and a
/// store to any data line on such a bit ended the epoch: 3 361 of the 3 362 epochs a
/// plain store ended in an rv32 boot came through such a bit, and every block was checked
/// again after each.
#[cfg(all(not(target_os = "none"), not(miri)))]
pub(super) const CODE_LINES: usize = 4096;
/// 64-byte host lines tracked by the code-line filter on bare metal and under Miri (whose
/// harts are smaller: see `BLOCK_POOL`).
#[cfg(any(target_os = "none", miri))]
pub(super) const CODE_LINES: usize = 1024;

/// Host pages tracked by the code-page filter ([`CodePages`], a power of two): 4096 on
/// hosts (pages 16 MiB apart share a bit; 512 bytes, emptied with every epoch as the line
/// filter is), 64 on bare metal, which has no fast view and so keeps none.
pub(super) const CODE_PAGES: usize = if cfg!(target_os = "none") { 64 } else { 4096 };

/// The code-page filter (module docs, "Pages that may hold code"): bit `(host address /
/// 4096) % CODE_PAGES` is set for the host page of every line of a block checked in this
/// epoch (a superset: pages share bits).
#[derive(Clone, Copy)]
pub(super) struct CodePages([u64; CODE_PAGES / 64]);

impl CodePages {
    /// No page.
    pub(super) const EMPTY: CodePages = CodePages([0; CODE_PAGES / 64]);

    /// Whether the 4 KiB host page at `host` (8-byte aligned, not necessarily 4 KiB:
    /// the pages of its first and last bytes) may hold a line of a checked block.
    #[inline(always)]
    pub(super) fn may_hold_code(&self, host: usize) -> bool {
        self.has(host) || self.has(host.wrapping_add(PAGE_MASK as usize))
    }

    /// Whether the bit of host address `a`'s page is set.
    #[inline(always)]
    pub(super) fn has(&self, a: usize) -> bool {
        let p = (a >> 12) & (CODE_PAGES - 1);
        self.0[p / 64] & (1 << (p % 64)) != 0
    }

    /// Sets the bit of host address `a`'s page; whether it was clear.
    #[inline(always)]
    pub(super) fn mark(&mut self, a: usize) -> bool {
        let p = (a >> 12) & (CODE_PAGES - 1);
        let bit = 1 << (p % 64);
        let was = self.0[p / 64] & bit;
        self.0[p / 64] |= bit;
        was == 0
    }
}

/// What [`BlockCache::mark_checked`] did to the code-page filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(target_os = "none", allow(dead_code))]
pub(super) enum Marked {
    /// Nothing: the block's pages were marked already (always on bare metal).
    Known,
    /// It set the bit of a page, the first in this epoch: the fast view's write tags are
    /// to be given back where the last epoch's code took them, and taken off this page's.
    First,
    /// It set the bit of the page of host address `lo` or `hi` (the block's first and
    /// last bytes), not the first in this epoch.
    Page { lo: usize, hi: usize },
}

/// The code-page filter of bare metal, always empty (there is no fast view to keep).
#[cfg(target_os = "none")]
static NO_CODE_PAGES: CodePages = CodePages::EMPTY;

/// Code epochs wrap below this (a block's stamp keeps the code space in its two low bits).
pub(super) const EPOCH_LIMIT: u32 = 1 << 30;

/// The block cache of one hart (see the module docs).
pub(super) struct BlockCache {
    index: [u16; BLOCK_INDEX],
    pub(super) blocks: [Block; BLOCK_POOL],
    /// The pool entry the next new block takes.
    next: u16,
    /// The last serial given to a block (`Block::serial`).
    serial: u64,
    /// The current code epoch (never 0; below [`EPOCH_LIMIT`]). Every code space's epoch
    /// ends together: a privilege change only switches spaces (`stamp`).
    pub(super) epoch: u32,
    /// What a block checked now carries ([`Block::checked`]): the epoch and the current
    /// code space (the privilege's TLB set index, `Priv::index`), `epoch << 2 | space`.
    pub(super) stamp: u32,
    /// Bit `(host address / 64) % CODE_LINES` is set for the host lines of every block
    /// checked in this epoch (a superset: several lines share a bit).
    code_lines: [u64; CODE_LINES / 64],
    /// Behind each set bit of `code_lines`: the line (`host address / 64`) divided by
    /// `CODE_LINES` of the code line that set it, or [`ANY_LINE`] when lines of two
    /// different tags did. Written when a bit is set in this epoch, so never cleared (an
    /// entry behind a clear bit is stale and never read).
    code_tags: [u64; CODE_LINES],
    /// The host pages of the lines of `code_lines` (module docs, "Pages that may hold
    /// code"): a fast-view entry on one of them gets no write tag. Not on bare metal,
    /// which has no fast view.
    #[cfg(not(target_os = "none"))]
    code_pages: CodePages,
    /// Whether a bit of `code_pages` was set in this epoch.
    #[cfg(not(target_os = "none"))]
    code_pages_set: bool,
    /// Whether other harts may store to this hart's memory (the default): then every time
    /// slice starts a new code epoch (`Hart::set_sole_hart`).
    pub(super) shared: bool,
    /// At the end of the last time slice: the memory's count of writes made other than
    /// through this hart's host pointers (`Bus::lease_writes`), as the run loop last saw
    /// it, and the fetch context (privilege and TLB remaps, `Hart::fetch_context`).
    pub(super) writes_seen: u32,
    pub(super) fetch_seen: u64,
    /// The view the last time slice ran under (`run.rs`'s `view_key`): a sole hart's
    /// next slice under another view (a commit mapped other memory, perhaps over code)
    /// starts a new code epoch.
    pub(super) view_seen: u64,
    /// The translated regions blocks checked in this epoch were fetched from: for a
    /// block fetched at privilege S or U through a mapping of `1 << span` bytes, bit
    /// [`fetched_bit`]`(pc, span)` (a superset: regions share bits). Emptied with the
    /// epoch. An `sfence.vma` of one address that no bit names keeps the epoch
    /// (`Hart::sfence_vma`).
    #[cfg(feature = "rv64")]
    fetched: [u64; FETCHED_BITS / 64],
    /// Bit `span` is set when a block checked in this epoch was fetched through a
    /// mapping of `1 << span` bytes, bit 0 when through one of a size not known (its TLB
    /// entry was replaced between the fetch page's lookup and the check): then every
    /// flush of an address ends the epoch.
    #[cfg(feature = "rv64")]
    fetched_spans: u64,
}

/// Bits of the filter of regions blocks were fetched from (`BlockCache::fetched`).
#[cfg(feature = "rv64")]
const FETCHED_BITS: usize = 1024;

/// The bit of `BlockCache::fetched` for virtual address `va` in a mapping of `1 << span`
/// bytes: its region number with the span mixed in (a 4 MiB region and the 4 KiB page of
/// the same number are different regions), hashed by a multiply (a fold by XOR put pages
/// `0x80000` and `0xc0100` on one bit).
#[cfg(feature = "rv64")]
#[inline]
fn fetched_bit(va: u64, span: u32) -> usize {
    let region = (va >> span) ^ (span as u64) << 56;
    (region.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - FETCHED_BITS.trailing_zeros())) as usize
}

/// A `code_tags` entry that matches every line (two code lines share its bit).
pub(super) const ANY_LINE: u64 = u64::MAX;

impl BlockCache {
    pub(super) const fn new() -> BlockCache {
        BlockCache {
            index: [0; BLOCK_INDEX],
            blocks: [Block::EMPTY; BLOCK_POOL],
            next: 0,
            serial: 0,
            epoch: 1,
            stamp: 1 << 2,
            code_lines: [0; CODE_LINES / 64],
            code_tags: [0; CODE_LINES],
            #[cfg(not(target_os = "none"))]
            code_pages: CodePages::EMPTY,
            #[cfg(not(target_os = "none"))]
            code_pages_set: false,
            shared: true,
            writes_seen: 0,
            fetch_seen: 0,
            view_seen: 0,
            #[cfg(feature = "rv64")]
            fetched: [0; FETCHED_BITS / 64],
            #[cfg(feature = "rv64")]
            fetched_spans: 0,
        }
    }

    /// Blocks decoded so far (the last serial given).
    pub(super) fn decoded(&self) -> u64 {
        self.serial
    }

    /// Ends the code epoch of every code space: every block is checked against memory
    /// again at its next entry.
    #[inline]
    pub(super) fn code_changed(&mut self) {
        self.epoch = self.epoch.wrapping_add(1) % EPOCH_LIMIT;
        if self.epoch == 0 {
            // After 2^30 epochs a stale stamp could match again: clear them all.
            for b in &mut self.blocks {
                b.checked = 0;
            }
            self.epoch = 1;
        }
        self.stamp = self.epoch << 2 | (self.stamp & 3);
        self.code_lines = [0; CODE_LINES / 64];
        #[cfg(not(target_os = "none"))]
        {
            self.code_pages = CodePages::EMPTY;
            self.code_pages_set = false;
        }
        #[cfg(feature = "rv64")]
        if self.fetched_spans != 0 {
            self.fetched_spans = 0;
            self.fetched = [0; FETCHED_BITS / 64];
        }
    }

    /// Records that a block checked in this epoch was fetched at `pc` through a mapping
    /// of `1 << span` bytes (`None`: of a size not known).
    #[cfg(feature = "rv64")]
    #[inline]
    pub(super) fn mark_fetched(&mut self, pc: u64, span: Option<u8>) {
        match span {
            Some(span) if (12..64).contains(&span) => {
                let bit = fetched_bit(pc, span as u32);
                self.fetched[bit / 64] |= 1 << (bit % 64);
                self.fetched_spans |= 1 << span;
            }
            _ => self.fetched_spans |= 1,
        }
    }

    /// Whether a block checked in this epoch may have been fetched through a mapping
    /// that covers `va` (exact unless regions share a bit of the filter).
    #[cfg(feature = "rv64")]
    pub(super) fn may_have_fetched(&self, va: u64) -> bool {
        if self.fetched_spans & 1 != 0 {
            return true;
        }
        let mut spans = self.fetched_spans;
        while spans != 0 {
            let bit = fetched_bit(va, spans.trailing_zeros());
            if self.fetched[bit / 64] & (1 << (bit % 64)) != 0 {
                return true;
            }
            spans &= spans - 1;
        }
        false
    }

    /// Makes `space` (a privilege's TLB set index, below 4) the current code space: its
    /// blocks checked in this epoch are valid again, the others' are not, and the
    /// code-line filter keeps every space's lines (a store to any of them ends the
    /// epoch of all), so a round trip to another privilege and back, with no code change
    /// and no remap between, finds its blocks still checked.
    #[inline(always)]
    pub(super) fn enter_space(&mut self, space: usize) {
        self.stamp = self.epoch << 2 | (space as u32 & 3);
    }

    /// Whether a store to host address `addr` may have written a block checked in this
    /// epoch: its filter bit is set and the line's tag matches (exact unless two code
    /// lines share the bit). A tier makes the same two tests (`TierCtx::code_lines`,
    /// `TierCtx::code_tags`).
    #[inline(always)]
    pub(super) fn is_code_line(&self, addr: usize) -> bool {
        let l = (addr >> 6) & (CODE_LINES - 1);
        self.code_lines[l >> 6] & (1 << (l & 63)) != 0 && self.tag_matches(addr)
    }

    /// The tag test behind a set filter bit (see `code_tags`).
    #[inline]
    fn tag_matches(&self, addr: usize) -> bool {
        let line = addr >> 6;
        let tag = self.code_tags[line & (CODE_LINES - 1)];
        tag == ANY_LINE || tag == (line / CODE_LINES) as u64
    }

    /// The code-line filter's words (for a tier: `tier::TierCtx::code_lines`).
    #[inline(always)]
    pub(super) fn code_lines_ptr(&self) -> *const u64 {
        self.code_lines.as_ptr()
    }

    /// The tags behind the filter's bits (for a tier: `tier::TierCtx::code_tags`).
    #[inline(always)]
    pub(super) fn code_tags_ptr(&self) -> *const u64 {
        self.code_tags.as_ptr()
    }

    /// The code-page filter (module docs, "Pages that may hold code"; always empty on
    /// bare metal): a fast-view entry whose host page may hold code gets no write tag.
    #[inline(always)]
    pub(super) fn code_pages(&self) -> &CodePages {
        #[cfg(not(target_os = "none"))]
        return &self.code_pages;
        #[cfg(target_os = "none")]
        &NO_CODE_PAGES
    }

    /// Stamps block `idx`, whose words start at host address `host_lo`, as checked in this
    /// epoch. Returns whether this set a bit of the code-page filter that was clear
    /// ([`BlockCache::code_pages`]; never on bare metal): the caller then takes the write
    /// tags of its pages out of the fast view.
    #[inline]
    pub(super) fn mark_checked(&mut self, idx: usize, host_lo: usize) -> Marked {
        let b = &mut self.blocks[idx & (BLOCK_POOL - 1)];
        b.checked = self.stamp;
        let last = host_lo + (b.nwords as usize).max(1) * 4 - 1;
        // At most 68 bytes: two or three lines.
        let mut line = host_lo >> 6;
        while line <= last >> 6 {
            let l = line & (CODE_LINES - 1);
            let tag = (line / CODE_LINES) as u64;
            let bit = 1 << (l & 63);
            if self.code_lines[l >> 6] & bit == 0 {
                // The first code line on this bit in this epoch.
                self.code_lines[l >> 6] |= bit;
                self.code_tags[l] = tag;
            } else if self.code_tags[l] != tag {
                // A second one: the bit now stands for every line.
                self.code_tags[l] = ANY_LINE;
            }
            line += 1;
        }
        #[cfg(not(target_os = "none"))]
        return if !(self.code_pages.mark(host_lo) | self.code_pages.mark(last)) {
            Marked::Known
        } else if !core::mem::replace(&mut self.code_pages_set, true) {
            Marked::First
        } else {
            Marked::Page {
                lo: host_lo,
                hi: last,
            }
        };
        #[cfg(target_os = "none")]
        Marked::Known
    }

    /// Whether pool block `idx` was checked in one of the last [`REUSE_EPOCHS`] code
    /// epochs (in any code space): a block that runs is checked at its first entry in
    /// every epoch, so this tells a block in use from one that is not.
    #[inline]
    fn run_lately(&self, idx: usize) -> bool {
        let checked = self.blocks[idx & (BLOCK_POOL - 1)].checked;
        checked != 0 && self.epoch.wrapping_sub(checked >> 2) % EPOCH_LIMIT < REUSE_EPOCHS
    }

    /// The pool index of the block that would hold `pc` (its tag may not match).
    #[inline(always)]
    pub(super) fn slot(&self, pc: u64) -> usize {
        self.index[((pc >> 1) as usize) & (BLOCK_INDEX - 1)] as usize & (BLOCK_POOL - 1)
    }

    /// Decodes the block at `pc` into the pool and returns its index, or `None` when the
    /// first instruction does not fit in the page (a 32-bit instruction in the last two
    /// bytes). `word(i)` reads the `i`-th aligned guest word of the page (`i < 1024`).
    pub(super) fn build(
        &mut self,
        pc: u64,
        xlen: Xlen,
        word: impl Fn(usize) -> u32,
    ) -> Option<usize> {
        const PAGE: usize = 4096;
        let start = (pc & 0xfff) as usize;
        let wstart = start & !3;
        // Read the words first and decode from the copy, so that the words kept for
        // validation are exactly what was decoded even if memory changes meanwhile.
        let mut words = [0u32; BLOCK_WORDS];
        let avail = ((PAGE - wstart) / 4).min(BLOCK_WORDS);
        for (i, w) in words.iter_mut().enumerate().take(avail) {
            *w = word(wstart / 4 + i);
        }
        let end = wstart + avail * 4;
        let half = |at: usize| -> u32 {
            let rel = at - wstart;
            (words[rel / 4] >> (8 * (rel & 2))) & 0xffff
        };
        let mut blk = Block::EMPTY;
        let mut off = start;
        let mut count = 0;
        while count < BLOCK_INSNS && off + 2 <= end {
            let lo = half(off);
            let (raw, len) = if lo & 3 != 3 {
                (lo, 2)
            } else if off + 4 <= end {
                (lo | half(off + 2) << 16, 4)
            } else {
                break;
            };
            let insn = decode_any(raw, xlen);
            blk.offs[count] = (off - start) as u8;
            blk.insns[count] = Micro {
                op: insn.op,
                rd: insn.rd,
                rs1: insn.rs1,
                rs2: insn.rs2,
                // A branch's or `jal`'s offset is kept from the block's start.
                imm: if is_from_start(insn.op) {
                    insn.imm + (off - start) as i32
                } else {
                    insn.imm
                },
            };
            count += 1;
            off += len;
            if !is_straight(insn.op) && !is_cond_branch(insn.op) {
                break;
            }
        }
        if count == 0 {
            return None;
        }
        if FUSE {
            fuse(&mut blk.insns[..count]);
        }
        debug_assert_eq!(blk.insns[count], END);
        blk.offs[count] = (off - start) as u8;
        blk.pc = pc;
        self.serial += 1;
        blk.serial = self.serial;
        blk.count = count as u8;
        let nwords = (off - wstart).div_ceil(4);
        blk.nwords = nwords as u8;
        blk.words[..nwords].copy_from_slice(&words[..nwords]);
        // Rebuild in place when the slot already holds this `pc` (modified code), else take
        // the next pool entry.
        let s = ((pc >> 1) as usize) & (BLOCK_INDEX - 1);
        let cur = self.index[s] as usize & (BLOCK_POOL - 1);
        let at = if self.blocks[cur].pc == pc {
            cur
        } else {
            // Round-robin, but passing over (a few) blocks run lately: the pool is a
            // clock whose reference bit is the block's stamp.
            let mut n = self.next as usize & (BLOCK_POOL - 1);
            // No probes on bare metal (`REUSE_PROBES` is 0 there): plain round-robin.
            #[allow(clippy::reversed_empty_ranges)]
            for _ in 0..REUSE_PROBES {
                if !self.run_lately(n) {
                    break;
                }
                n = (n + 1) & (BLOCK_POOL - 1);
            }
            self.next = ((n + 1) & (BLOCK_POOL - 1)) as u16;
            self.index[s] = n as u16;
            n
        };
        self.blocks[at] = blk;
        Some(at)
    }
}

impl Hart<'_> {
    /// Whether pool block `idx` is the block at `pc` and, checked in this code epoch or
    /// now, its words match guest memory in the fetch page at `page_host`.
    #[inline(always)]
    pub(super) fn block_valid(&mut self, idx: usize, pc: u64, page_host: *mut u8) -> bool {
        let b = &self.blocks.blocks[idx & (BLOCK_POOL - 1)];
        if b.pc != pc {
            return false;
        }
        if b.checked == self.blocks.stamp {
            return true;
        }
        self.block_check(idx, pc, page_host)
    }

    /// The first entry of block `idx` (at `pc`) in this code epoch: compares its words
    /// with guest memory in the fetch page at `page_host`, and stamps it when they match.
    #[inline(never)]
    fn block_check(&mut self, idx: usize, pc: u64, page_host: *mut u8) -> bool {
        let b = &self.blocks.blocks[idx & (BLOCK_POOL - 1)];
        let w0 = (pc & PAGE_MASK & !3) as usize;
        let n = (b.nwords as usize).min(BLOCK_WORDS);
        // All words are read and the differences accumulated: one branch at the end rather
        // than one per word.
        let mut diff = 0;
        for (k, &w) in b.words[..n].iter().enumerate() {
            // SAFETY: `page_host` is a live, 8-aligned host page (see `run_loop`); a block
            // at `pc` was built from words `w0 / 4 .. w0 / 4 + nwords`, all inside the page
            // (`BlockCache::build`), so this is an aligned word inside it.
            let cur = unsafe { host::load(page_host.add(w0 + 4 * k), 4) } as u32;
            diff |= cur ^ w;
        }
        if diff != 0 {
            return false;
        }
        self.mark_block_checked(idx, pc, page_host.addr() + w0);
        true
    }

    /// Whether fetches are translated now: neither in M nor under `satp.MODE = Bare`,
    /// where no `sfence.vma` can change what an address fetches.
    #[cfg(feature = "rv64")]
    #[inline]
    fn fetch_translated(&self) -> bool {
        let mode = match self.xlen {
            Xlen::Rv32 => self.csr.satp >> 31,
            Xlen::Rv64 => self.csr.satp >> 60,
        };
        mode != 0 && self.prv != super::trap::Priv::Machine
    }

    /// Stamps block `idx` (at `pc`, its words from host address `host_lo`) as checked in
    /// this epoch ([`BlockCache::mark_checked`]), takes the write tags of the pages whose
    /// code-page bits it set out of the TLB's fast view (module docs, "Pages that may hold
    /// code": [`Tlb::code_page_marked`](super::tlb::Tlb::code_page_marked); for the
    /// epoch's first, [`Tlb::retag_writes`](super::tlb::Tlb::retag_writes), which also
    /// gives the other pages theirs back after the last epoch's code took them) and, when its fetch was translated
    /// ([`Hart::fetch_translated`]), records the mapping it was fetched through ([`BlockCache::mark_fetched`]).
    #[inline]
    pub(super) fn mark_block_checked(&mut self, idx: usize, pc: u64, host_lo: usize) {
        match self.blocks.mark_checked(idx, host_lo) {
            Marked::Known => {}
            Marked::First => self.tlb.retag_writes(self.blocks.code_pages()),
            Marked::Page { lo, hi } => self.tlb.code_page_marked(lo, hi, self.blocks.code_pages()),
        }
        #[cfg(feature = "rv64")]
        if self.fetch_translated() {
            let span = self.tlb.fetch_span(self.prv, pc & !PAGE_MASK);
            self.blocks.mark_fetched(pc, span);
        }
        #[cfg(not(feature = "rv64"))]
        let _ = pc;
    }
}

#[cfg(test)]
mod tests;
