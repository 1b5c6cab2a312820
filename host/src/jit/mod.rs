//! The translating tier (`fief run -accel tcg`): decoded blocks of the core's interpreter
//! compiled to x86-64 code and run in its place, through the core's
//! [`BlockTier`](fief_core::cpu::riscv::tier::BlockTier) hook.
//!
//! What it owns:
//!
//! * `cache`: the code cache, the one place that holds generated machine code: a bounded
//!   mapping (`-tb-size` MiB; two views of one memory file on Linux), no mapping of it ever
//!   writable and executable at once, flushed
//!   whole when full. Its bookkeeping is tested under Miri.
//! * `heat`: the heat table, by `pc`: offers counted before a block is hot, and the
//!   judging window of a translated block's runs (the policy that reads it is
//!   [`Jit`]'s, below).
//! * `stats`: the tier's counters ([`JitStats`], [`ExitKind`]).
//! * `x86`: the translator (dynasm-rs): which instructions it takes and the code it
//!   emits.
//! * [`Jit`] (here): the tier itself: a table from the hart's block-pool slots to their
//!   translations, keyed by the block's serial (a new one at every decoding, so
//!   self-modifying code, DMA writes and code epochs are all handled by the interpreter's
//!   own checks before a block reaches the tier), the jump cache that chained blocks
//!   look their successors up in ([`x86::Chain`]), and the one call into generated code.
//!
//! Translated: integer ALU, M, branches, jumps, loads and stores with the TLB fast path
//! inline (see `x86`); a block with an FP, bit-manipulation or system instruction before
//! its last stays in the interpreter. Whatever leaves the fast path (a TLB miss, MMIO, a
//! misaligned access, a store to code, a fault) ends the block *before* that instruction,
//! and the interpreter's general path runs it, so traps are precise. Blocks continue into
//! their successors (chaining) only when the run loop's checks at a block boundary pass
//! (budget, interrupts, DMA, the code epoch); otherwise everything around a block is the
//! interpreter's.
//!
//! **Only hot blocks are translated** (as QEMU's tiers do): a block the run loop offers is
//! left to the interpreter (the tier declines it) until its `pc` has been offered
//! [`Jit::with_hot_runs`] times ([`DEFAULT_HOT_RUNS`]), counted in a small two-way
//! set-associative table by `pc` (so the count survives the hart decoding the block
//! again; a collision only starts a count over, and a new `pc` takes the way with fewer
//! runs, so a translated block keeps its judging state, below, against cold blocks of
//! its set). Most of a Linux boot's blocks run a few times: translating
//! each cost more than interpreting it. A block that is not translated never enters the
//! jump cache, so chained code reaching it returns to the run loop, as for a block the
//! translator declines.
//!
//! **Hot blocks that do not pay are given back**: a translated block whose runs from the
//! run loop mostly (3 in 4 of every 32) end inside it, reaching no successor, is declined
//! from then on (`Jit::judge`; by `pc`, in the same table): entering and leaving
//! generated code costs more than the interpreter spends on one block. (Counting runs of
//! fewer than 32 instructions as short instead gave back blocks that paid: the
//! benchmark set's `bench_mem` took 30 % more host instructions.) In a Linux boot
//! most translated blocks are such (a stale jump-cache entry after a privilege change, a
//! TLB miss, a store near code, an untranslated instruction), while a compute loop's runs
//! chain on for many blocks. Blocks linked to a given-back block still chain into its
//! code (it is still right: the jump cache and links keep their own rules). A hot block
//! whose every run from the run loop would end inside it (its last instruction is left
//! to the interpreter, and no conditional branch before it can leave) is declined for
//! good when it becomes hot instead of translated and given back later
//! (`JitStats::foreseen`; in a Linux boot about 770 of 6,600 that were given back). So
//! is a hot block whose every successor it can reach (its branches' and final `jal`'s
//! targets, its fall-through; not after a final `jalr`) was given back and has no
//! current jump-cache entry (`JitStats::dead_ends`): a given-back block is not offered
//! again, so once a new code epoch made its entry stale every run reaching it returns
//! to the run loop there, and the block before it would be judged short and given back
//! in turn (in the rv32 Linux boot, where epochs are frequent, about 2.4 k blocks: 300 k
//! of its 450 k chain exits went to given-back blocks).
//!
//! **The jump cache, direct links and epochs.** A jump-cache entry is made when the run
//! loop offers a checked block, stamped with the tier's sequence number, which moves on
//! whenever the offered code epoch differs from the last one seen (a `u64`, so the core's
//! `u32` epoch wrapping round cannot make an old entry current again) or the code cache
//! is flushed. So a chained jump only reaches a block the run loop checked against
//! memory, on a fetch page without execute triggers, in the current epoch, with its code
//! still in the cache.
//!
//! **One jump cache and one set of link slots per code space** (`TierCtx::space`: the
//! privilege). The core checks a block for one space (at the same virtual `pc` another
//! privilege may see other code) and keeps the epoch across privilege changes, so a
//! U-mode `ecall` to M and its `mret` back leave U's blocks checked. Generated code
//! running in space `s` reads only `s`'s jump cache and `s`'s link slots (`Chain::links`
//! is set per call; the slot numbers in the code are the same in every space), each
//! space has its own sequence and link log, and an entry or link is only made in the
//! space the block was offered in: so everything below holds per space, and a trap to
//! another space and back finds the space's entries and links still current. A new
//! epoch or a cache flush moves every space's sequence on.
//!
//! A *direct link* (an exit's slot pointed at its successor's code, `x86`) is made by
//! generated code only from a jump-cache entry of the current sequence (of its space),
//! and every link is undone (its slot given back its unlinked target, from the link log)
//! in the same step that moves the sequence on, before any generated code runs in the new one. So
//! at any time every linked slot leads to a block offered in the current sequence: the
//! same guarantee as the jump cache's, and the sequence check needs no code at the
//! exit. The two checks that cannot be folded into the sequence stay at every exit,
//! linked or not, because their state changes under running code: interrupts (other
//! threads, the timer) and writes behind the hart's back (device threads write guest
//! RAM at any time; the run loop would end the epoch at the next boundary, so the exit
//! leaves instead), both one test of the interrupt word, in which the memory sets a bit
//! at each such write (`fief_core::watch`). The budget is a compare with a register.
//! A cache flush numbers the
//! slots from 0 again; it moves the sequence on as well, and no live code names an old
//! slot. A link to a block whose pool slot was decoded again in the same epoch is still
//! right: within an epoch guest code is unchanged, so the old translation is still
//! that `pc`'s code (the jump cache relies on the same).
//!
//! Calling generated code cannot run under Miri (it is host machine code); the test that
//! runs it is the differential one (`host/tests/jit_diff.rs`). The tier exists on
//! `x86_64` Unix hosts only ([`AVAILABLE`]); elsewhere `-accel tcg` falls back to the
//! interpreter with a message.

#[cfg(all(target_arch = "x86_64", unix))]
pub mod cache;
#[cfg(all(target_arch = "x86_64", unix))]
mod heat;
mod stats;
#[cfg(all(target_arch = "x86_64", unix))]
pub mod x86;

/// Whether this host has the translating tier.
pub const AVAILABLE: bool = cfg!(all(target_arch = "x86_64", unix));

/// The default `-tb-size` in MiB.
pub const DEFAULT_TB_SIZE_MIB: usize = 32;

/// The default of [`Jit::with_hot_runs`]: a block is translated when the run loop offers
/// it for the this-many-th time (by its `pc`); before that the interpreter runs it.
pub const DEFAULT_HOT_RUNS: u32 = 16;

#[cfg(all(target_arch = "x86_64", unix))]
pub use imp::Jit;
#[cfg(not(all(target_arch = "x86_64", unix)))]
pub use none::Jit;
pub use stats::{ExitKind, JitStats};

/// Hosts without the tier: a `Jit` that cannot be made.
#[cfg(not(all(target_arch = "x86_64", unix)))]
mod none {
    use fief_core::cpu::riscv::tier::{BlockRef, BlockTier, TierCtx, TierEnd};
    use fief_core::cpu::riscv::Xlen;

    /// No translating tier on this host (none can be made).
    pub enum Jit {}

    impl Jit {
        /// Always an error: the tier needs an x86-64 Unix host.
        pub fn new(_: Xlen, _: usize) -> Result<Jit, String> {
            Err("the translating tier needs an x86-64 Unix host".to_string())
        }

        /// What it did (never called: no `Jit` exists).
        pub fn stats(&self) -> super::JitStats {
            match *self {}
        }

        /// The tier translating blocks at their `n`-th run (never called: no `Jit`
        /// exists).
        pub fn with_hot_runs(self, _: u32) -> Jit {
            match self {}
        }

        /// The tier with or without loads through the RAM window (never called: no
        /// `Jit` exists).
        pub fn with_ram_window(self, _: bool) -> Jit {
            match self {}
        }
    }

    impl BlockTier for Jit {
        fn run_block(&mut self, _: BlockRef<'_>, _: &mut TierCtx) -> Option<TierEnd> {
            match *self {}
        }
    }
}

#[cfg(all(target_arch = "x86_64", unix))]
mod imp {
    use std::collections::HashMap;
    use std::hash::BuildHasherDefault;
    use std::time::Instant;

    use fief_core::cpu::riscv::tier::{BlockRef, BlockTier, TierCtx, TierEnd, BLOCK_MAX_WORDS};
    use fief_core::cpu::riscv::{Op, Xlen, BLOCK_POOL};

    use super::cache::{CacheError, CodeCache, CodeRef};
    use super::heat::HeatTable;
    use super::x86::{self, Chain, JumpEntry, Ret, MAX_LINKS};
    use super::JitStats;

    /// What the tier knows of one block-pool slot: 32 bytes, so that a run's look-up
    /// touches one host cache line (`Jit::run_block`), and its code already resolved to
    /// the address it runs from.
    #[derive(Clone, Copy)]
    #[repr(align(32))]
    struct Slot {
        /// The serial of the block it was made from (0: nothing yet).
        serial: u64,
        /// The start of its code in the execute view, or `None` when the translator
        /// declined the block (or it is cold). Valid while `generation` is live
        /// (`CodeCache::is_live`).
        entry: Option<Entry>,
        /// The code cache generation `entry` was made in.
        generation: u64,
        /// Offset of its chain entry from the start of its code.
        chain_entry: u32,
        /// Whether `code` is `None` because the block was not hot yet (rather than
        /// declined by the translator): each run counts on (`Jit::warm`).
        cold: bool,
    }

    // A run's slot look-up is one host cache line (`Slot`'s docs).
    const _: () = assert!(std::mem::size_of::<Slot>() == 32);

    impl Slot {
        /// Declined for good for the decoding `serial`: the translator declined it, or its
        /// translation was given back (`Jit::judge`).
        fn declined(serial: u64) -> Slot {
            Slot {
                serial,
                entry: None,
                generation: 0,
                chain_entry: 0,
                cold: false,
            }
        }
    }

    /// Whether every run of `block` from the run loop would end inside it or at a block
    /// already given back to the interpreter, so that `Jit::judge` would give it back
    /// too: a run ends inside it when its last instruction is left to the interpreter
    /// (a load or store may only end it earlier), and at a successor when `dead` says so
    /// (given back, with no current jump-cache entry: a given-back block is never
    /// offered again, so its entry, once stale, stays so). Each successor it can reach is
    /// known: the targets of its conditional branches and of a final `jal`, and the
    /// fall-through after a final instruction that is translated and not a jump; a final
    /// `jalr` (any target) counts as a live successor. Returns `None` when some
    /// successor is live, else `Some(true)` when it has none at all (`JitStats::foreseen`)
    /// and `Some(false)` when every one is given back (`JitStats::dead_ends`).
    fn dead_end(block: &BlockRef<'_>, rv32: bool, dead: impl Fn(u64) -> bool) -> Option<bool> {
        let n = block.len();
        if n == 0 {
            return None;
        }
        let mask = if rv32 { 0xffff_ffff } else { u64::MAX };
        let target = |i: usize, imm: i32| {
            (block.pc() as i64 + block.insn(i).offset as i64 + imm as i64) as u64 & mask
        };
        let fall_through = (block.pc() + block.byte_len() as u64) & mask;
        let mut successors = 0;
        for i in 0..n {
            let insn = block.insn(i);
            let last = i == n - 1;
            let (to, falls) = match insn.op {
                Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                    (Some(target(i, insn.imm)), last)
                }
                Op::Jal if last => (Some(target(i, insn.imm)), false),
                Op::Jalr if last => return None,
                op if last => (None, x86::translates(op, rv32)),
                _ => (None, false),
            };
            for pc in to.into_iter().chain(falls.then_some(fall_through)) {
                if !dead(pc) {
                    return None;
                }
                successors += 1;
            }
        }
        Some(successors == 0)
    }

    /// A translation by content: the guest words its block was decoded from (with the
    /// `pc`, its key, they determine every decoded instruction: `BlockRef::words`), kept
    /// inline so that recognising a block decoded again is one probe and one compare
    /// with no allocation (a Linux boot decodes blocks again millions of times: the hart's
    /// pool holds 512).
    struct Known {
        words: [u32; BLOCK_MAX_WORDS],
        nwords: u8,
        code: Option<CodeRef>,
        chain_entry: u32,
    }

    impl Known {
        fn matches(&self, block: &BlockRef<'_>) -> bool {
            let w = block.words();
            self.nwords as usize == w.len() && &self.words[..w.len()] == w
        }
    }

    /// The hasher of `Jit::known`'s `pc` keys: one multiply (Fibonacci hashing). Written
    /// here rather than taken from a crate because it is eight lines on the tier's hot
    /// path and std's SipHash costs several times as much for one `u64`.
    #[derive(Default)]
    struct PcHasher(u64);

    impl std::hash::Hasher for PcHasher {
        fn finish(&self) -> u64 {
            self.0
        }
        fn write(&mut self, bytes: &[u8]) {
            for &b in bytes {
                self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            }
        }
        fn write_u64(&mut self, pc: u64) {
            self.0 = (self.0 ^ pc).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }

    /// Most entries of `Jit::known` before it is cleared (it is cleared at every code
    /// cache flush too).
    const KNOWN_MAX: usize = 1 << 16;

    /// Code spaces the tier keeps apart (`TierCtx::space`: U, S, M).
    const SPACES: usize = 3;

    /// The tier's chaining state for one code space: generated code running in this space
    /// reads only this jump cache and these link slots, so a link made in one space never
    /// leads code running in another to a block not offered there (module docs).
    struct Space {
        chain: Box<Chain>,
        /// The link slots (`x86`): slot `i` holds the host address its exit jumps to,
        /// `unlinked[i]` when not linked. Written by generated code (linking, through
        /// `chain.links`) and by the tier (unlinking, at a new sequence). Its capacity
        /// is fixed when it is made and never exceeded (`set_slot`), so the slots never
        /// move; it grows as slots are handed out, so only slots in use are written.
        links: Vec<u64>,
    }

    /// Sets slot `i` of `v` (at most one past its end: slots are handed out in order, and
    /// after a flush numbered from 0 again) to `target`, without growing past its
    /// capacity (the caller checked `i` against it).
    fn set_slot(v: &mut Vec<u64>, i: usize, target: u64) {
        debug_assert!(i <= v.len() && i < v.capacity());
        if let Some(s) = v.get_mut(i) {
            *s = target;
        } else if v.len() < v.capacity() {
            v.push(target);
        }
    }

    impl Space {
        fn new(n_links: usize) -> Space {
            Space {
                chain: Chain::new(),
                links: Vec::with_capacity(n_links),
            }
        }

        /// Moves its sequence on: every jump-cache entry is stale and every link made in
        /// the old sequence is undone (the slots in the log get their unlinked target
        /// back). Returns how many links were undone.
        fn next_seq(&mut self, unlinked: &[u64]) -> u64 {
            self.chain.seq += 1;
            let n = (self.chain.log_len as usize).min(x86::LINK_LOG);
            let base = self.links.as_ptr().addr();
            for &a in &self.chain.log[..n] {
                let i = (a as usize).wrapping_sub(base) / 8;
                if let (Some(l), Some(&u)) = (self.links.get_mut(i), unlinked.get(i)) {
                    *l = u;
                }
            }
            self.chain.log_len = 0;
            n as u64
        }
    }

    /// The signature of generated code (see `x86`).
    type Entry = unsafe extern "sysv64" fn(*mut u64, *const TierCtx, *mut Chain) -> Ret;

    /// The translating tier of one hart (see the module docs).
    pub struct Jit {
        cache: CodeCache,
        slots: Box<[Slot]>,
        /// Run counts of blocks not translated yet and the judging state of translated
        /// ones, by `pc`.
        heat: HeatTable,
        /// The run at which a block is translated (1: at its first).
        hot_runs: u32,
        /// Translations by `pc`, for blocks the interpreter decodes again unchanged.
        known: HashMap<u64, Known, BuildHasherDefault<PcHasher>>,
        /// Each code space's jump cache and link slots (`TierCtx::space`: the privilege),
        /// so that a trap and its return find the chains of the space they come back to.
        spaces: [Space; SPACES],
        /// Each slot's unlinked target (its exit's jump-cache lookup); grows as the
        /// spaces' `links` do, within the same capacity.
        unlinked: Vec<u64>,
        /// Slots handed out in this code-cache generation.
        links_used: usize,
        /// The code epoch of the last block offered.
        epoch: u32,
        /// The code cache generation `chain.seq` was last moved on for.
        generation: u64,
        rv32: bool,
        /// Whether the block offered now may load through a RAM window
        /// (`TierCtx::window_lo`): a block translated then loads through it first
        /// (`x86`'s docs).
        window_now: bool,
        /// [`Jit::with_ram_window`].
        ram_window: bool,
        stats: JitStats,
    }

    impl Jit {
        /// A tier for a hart of `xlen` with a code cache of `tb_size_mib` MiB.
        pub fn new(xlen: Xlen, tb_size_mib: usize) -> Result<Jit, String> {
            Jit::with_cache_bytes(xlen, tb_size_mib.saturating_mul(1 << 20))
        }

        /// A tier with a code cache of `bytes` bytes (tests use a small one to see it
        /// flushed).
        pub fn with_cache_bytes(xlen: Xlen, bytes: usize) -> Result<Jit, String> {
            let empty = Slot {
                serial: 0,
                entry: None,
                generation: 0,
                chain_entry: 0,
                cold: false,
            };
            let slots = vec![empty; BLOCK_POOL].into_boxed_slice();
            let cache = CodeCache::new(bytes).map_err(|e: CacheError| e.to_string())?;
            // Every direct exit is more than 32 bytes of code, so the cache runs out of
            // space before its slots do (not zeroed: the slot arrays grow as slots are
            // handed out, `set_slot`, so only what is used is written).
            let n_links = (bytes / 32).clamp(64, MAX_LINKS);
            Ok(Jit {
                spaces: std::array::from_fn(|_| Space::new(n_links)),
                unlinked: Vec::with_capacity(n_links),
                links_used: 0,
                generation: cache.arena().generation(),
                cache,
                slots,
                heat: HeatTable::new(),
                hot_runs: super::DEFAULT_HOT_RUNS,
                known: HashMap::default(),
                epoch: 0,
                rv32: xlen == Xlen::Rv32,
                window_now: false,
                ram_window: true,
                stats: JitStats::default(),
            })
        }

        /// The tier translating a block only at its `n`-th run (by `pc`; 0 and 1: at its
        /// first), the interpreter running it before; with more than 1, hot blocks whose
        /// runs end inside them are given back to the interpreter (module docs).
        /// Differential tests use 1, so that every block they run is translated and run
        /// in generated code.
        pub fn with_hot_runs(mut self, n: u32) -> Jit {
            self.hot_runs = n.max(1);
            self
        }

        /// The tier translating loads to go through the RAM window first where the core
        /// gives one (`on`, the default: `x86`'s docs, "Loads and stores"), or never:
        /// through the TLB's fast view and memos alone, as at S and U level (tests of
        /// those paths in M-mode code).
        pub fn with_ram_window(mut self, on: bool) -> Jit {
            self.ram_window = on;
            self
        }

        /// The set of `Jit`'s heat table that counts and judges the block at `pc`: blocks
        /// of one set share its two entries (tests place colliding blocks with
        /// it).
        pub fn heat_set(pc: u64) -> usize {
            HeatTable::set_of(pc)
        }

        /// What it did so far.
        pub fn stats(&self) -> JitStats {
            let mut st = self.stats;
            st.links += self.spaces.iter().map(|s| s.chain.log_len).sum::<u64>();
            st.lookups = self.spaces.iter().map(|s| s.chain.lookups).sum::<u64>();
            st.fast_misses = self.spaces.iter().map(|s| s.chain.fast_misses).sum::<u64>();
            st.line_checks = self.spaces.iter().map(|s| s.chain.line_checks).sum::<u64>();
            st.warm_links = self.spaces.iter().map(|s| s.chain.warm_links).sum::<u64>();
            st
        }

        /// Moves every space's sequence on (`Space::next_seq`), so no generated code
        /// reaches a block not offered in the new one.
        fn next_seq(&mut self) {
            for sp in &mut self.spaces {
                self.stats.links += sp.next_seq(&self.unlinked);
            }
        }

        /// After a code-cache flush: nothing of the old generation may be reached.
        fn flushed(&mut self) {
            self.generation = self.cache.arena().generation();
            self.next_seq();
            self.links_used = 0;
            self.known.clear();
        }

        /// How many times the code cache was flushed whole.
        pub fn flushes(&self) -> u64 {
            self.cache.arena().flushes()
        }

        /// A block with no translation yet (a new decoding, or one not hot before): counts
        /// its run and translates it (`translate`) once it is hot, else records it cold
        /// in its slot and declines it.
        #[inline(never)]
        fn warm(&mut self, block: BlockRef<'_>, space: usize) -> Option<(Entry, u32)> {
            if self.hot_runs > 1 {
                let e = self.heat.entry(block.pc());
                if e.given_back() {
                    self.slots[block.pool_index()] = Slot::declined(block.serial());
                    return None;
                }
                let runs = e.count_offer();
                if runs >= self.hot_runs {
                    let (heat, chain) = (&self.heat, &self.spaces[space].chain);
                    let dead = |pc: u64| {
                        let e = &chain.entries[Chain::index(pc)];
                        heat.given_back(pc) && !(e.pc == pc && e.seq == chain.seq)
                    };
                    if let Some(inside) = dead_end(&block, self.rv32, dead) {
                        // Every run from the run loop would end inside it or at a block
                        // given back: it would be given back after its judging window
                        // (`judge`), so it is not translated.
                        self.heat.entry(block.pc()).give_back();
                        if inside {
                            self.stats.foreseen += 1;
                        } else {
                            self.stats.dead_ends += 1;
                        }
                        self.slots[block.pool_index()] = Slot::declined(block.serial());
                        return None;
                    }
                }
                if runs < self.hot_runs {
                    self.slots[block.pool_index()] = Slot {
                        serial: block.serial(),
                        entry: None,
                        generation: 0,
                        chain_entry: 0,
                        cold: true,
                    };
                    self.stats.cold += 1;
                    return None;
                }
            }
            self.translate(block)
        }

        /// After a run of hot `block` in generated code that retired `retired`
        /// instructions: every `heat::JUDGE_RUNS` runs, a block whose runs mostly (3 in 4)
        /// ended inside it (retired no more than its own instructions) is given back to
        /// the interpreter for good (its `pc`, while its heat entry lasts): entering
        /// generated code from the run loop costs more than the interpreter spends on one
        /// block (a Linux boot's blocks mostly leave at a stale jump-cache entry, a TLB
        /// miss, a store near code or an untranslated instruction). Blocks linked to it
        /// still chain into its code.
        #[inline(always)]
        fn judge(&mut self, block: &BlockRef<'_>, retired: u64) {
            if self.hot_runs <= 1 {
                return;
            }
            let Some(e) = self.heat.get_mut(block.pc()) else {
                return;
            };
            if e.given_back() {
                return;
            }
            if e.judge_run(retired <= block.len() as u64) {
                self.stats.demoted += 1;
                self.slots[block.pool_index()] = Slot::declined(block.serial());
            }
        }

        /// Translates `block` into the cache (or finds the translation of an identical
        /// earlier decoding of its `pc`) and records it in its slot.
        #[cold]
        #[inline(never)]
        fn translate(&mut self, block: BlockRef<'_>) -> Option<(Entry, u32)> {
            let (code, chain_entry) = match self.known.get(&block.pc()) {
                Some(k)
                    if k.matches(&block)
                        && k.code.is_none_or(|c| self.cache.arena().is_live(c)) =>
                {
                    self.stats.reused += 1;
                    (k.code, k.chain_entry)
                }
                _ => {
                    let start = Instant::now();
                    let mut chain_entry = 0;
                    let mut made =
                        x86::translate(block, self.rv32, self.links_used, self.window_now);
                    if let Some(c) = &made {
                        if self.cache.would_flush(c.bytes.len())
                            || self.links_used + c.unlinked.len() > self.unlinked.capacity()
                        {
                            // Flush first: the slots are numbered from 0 again.
                            self.cache.flush();
                            self.flushed();
                            made = x86::translate(block, self.rv32, 0, self.window_now);
                        }
                    }
                    let code = made.and_then(|c| {
                        let base = self.links_used;
                        let r = self.cache.insert(&c.bytes)?;
                        let at = self.cache.address(r)?.addr() as u64;
                        for (j, &off) in c.unlinked.iter().enumerate() {
                            let target = at + off as u64;
                            for sp in &mut self.spaces {
                                set_slot(&mut sp.links, base + j, target);
                            }
                            set_slot(&mut self.unlinked, base + j, target);
                        }
                        self.links_used += c.unlinked.len();
                        self.stats.code_bytes += c.bytes.len() as u64;
                        chain_entry = c.chain_entry as u32;
                        self.stats.unrolled += (c.copies > 1) as u64;
                        Some(r)
                    });
                    match code {
                        Some(_) => self.stats.translated += 1,
                        None => self.stats.declined += 1,
                    }
                    self.stats.compile_ns += start.elapsed().as_nanos() as u64;
                    if self.cache.arena().generation() != self.generation {
                        // Flushed (cannot happen after `would_flush` said no; kept as
                        // the rule): every jump-cache entry and known translation names
                        // dead code.
                        self.flushed();
                    }
                    if self.known.len() >= KNOWN_MAX {
                        self.known.clear();
                    }
                    let mut words = [0; BLOCK_MAX_WORDS];
                    words[..block.words().len()].copy_from_slice(block.words());
                    self.known.insert(
                        block.pc(),
                        Known {
                            words,
                            nwords: block.words().len() as u8,
                            code,
                            chain_entry,
                        },
                    );
                    (code, chain_entry)
                }
            };
            let generation = self.cache.arena().generation();
            let entry = code.and_then(|c| self.cache.address(c)).map(|at| {
                // SAFETY: only makes the pointer (`at` is not null: an address inside
                // the mapping); it is called only while `generation` is live (`run_block`).
                unsafe { std::mem::transmute::<*const u8, Entry>(at) }
            });
            self.slots[block.pool_index()] = Slot {
                serial: block.serial(),
                entry,
                generation,
                chain_entry,
                cold: false,
            };
            entry.map(|f| (f, chain_entry))
        }
    }

    impl BlockTier for Jit {
        #[inline]
        fn run_block(&mut self, block: BlockRef<'_>, ctx: &mut TierCtx) -> Option<TierEnd> {
            self.stats.offered += 1;
            if block.len() as u64 > ctx.left || ctx.mip_sw & ctx.int_mask != 0 {
                // Too little budget, or an interrupt the run loop takes first (it never
                // offers a block then; generated code tests the interrupt word alone).
                return None;
            }
            if ctx.epoch != self.epoch {
                // A new code epoch: no block is known to be checked in it yet.
                self.epoch = ctx.epoch;
                self.next_seq();
                self.stats.epochs += 1;
            }
            let space = (ctx.space as usize).min(SPACES - 1);
            self.window_now = self.ram_window && ctx.window_limits[0] != 0;
            let slot = self.slots[block.pool_index()];
            let found = if slot.serial == block.serial() {
                match slot.entry {
                    Some(f) if self.cache.is_live(slot.generation) => Some((f, slot.chain_entry)),
                    // Flushed since: translate again.
                    Some(_) => self.translate(block),
                    None if slot.cold => self.warm(block, space),
                    None => None,
                }
            } else {
                self.warm(block, space)
            };
            let Some((entry, chain_entry)) = found else {
                // Declined for good when its slot says so: not cold, no code (the
                // translator declined it, or it was given back, `judge`). The run loop
                // then stops offering this decoding (`TierCtx::declined`).
                let s = &self.slots[block.pool_index()];
                ctx.declined = s.serial == block.serial() && s.entry.is_none() && !s.cold;
                return None;
            };
            // The run loop checked this block in this epoch and space: later blocks of
            // the space may chain to it.
            let sp = &mut self.spaces[space];
            let chain = &mut *sp.chain;
            chain.entries[Chain::index(block.pc())] = JumpEntry::new(
                block.pc(),
                chain.seq,
                entry as usize as u64 + chain_entry as u64,
            );
            // The slots' address, derived afresh for this call (the tier writes them
            // between calls).
            chain.links = sp.links.as_mut_ptr();
            // SAFETY: `entry` is the start of code that `x86::translate` made for exactly this
            // block (same pool slot and serial, so the same decoded instructions) and that
            // is still in the cache (live generation), which is mapped read-execute now;
            // the code follows `Entry`'s System V signature (`x86` docs). It reads and
            // writes the 256 register slots at `ctx.regs` (the hart's register file,
            // which nothing else touches during the call), reads `ctx` (alive and
            // unchanged during the call) and `sp.chain` (borrowed mutably for the call:
            // it writes only the link log and `lookups`), reads the data TLB and code-line filter at
            // `ctx`'s pointers and the atomic at `ctx.pending` with plain
            // loads (valid for the call: `TierCtx` docs), and accesses guest RAM only
            // through host pages of TLB hits (or memos of them made in this call), aligned and inside the page, as the
            // interpreter's atomics do. It reads and writes the link slots only at
            // indices its blocks were given (below `links_used`, inside `sp.links`,
            // which nothing else touches during the call). It jumps only to chain entries
            // in this space's jump cache stamped with its current `seq` and to this
            // space's linked slots, made from such entries in this sequence (all others
            // were undone by `next_seq`), so to code of blocks offered in this code epoch
            // and space and still in this cache generation (module docs). It pushes the six callee-saved registers it uses
            // on the stack and pops them before it returns, cannot fault, and returns.
            let ret = unsafe { entry(ctx.regs, ctx, chain) };
            self.stats.runs += 1;
            self.stats.exits[ret.kind()] += 1;
            let end = ret.end();
            let (TierEnd::Next { retired, .. } | TierEnd::Single { retired, .. }) = end;
            self.stats.retired += retired;
            self.judge(&block, retired);
            Some(end)
        }
    }
}
