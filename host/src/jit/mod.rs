//! The translating tier (`fief run -accel tcg`): decoded blocks of the core's interpreter
//! compiled to x86-64 code and run in its place, through the core's
//! [`BlockTier`](fief_core::cpu::riscv::tier::BlockTier) hook.
//!
//! What it owns:
//!
//! * `cache`: the code cache, the one place that holds generated machine code: a bounded
//!   anonymous mapping (`-tb-size` MiB), never writable and executable at once, flushed
//!   whole when full. Its bookkeeping is tested under Miri.
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
//! **The jump cache and epochs.** An entry is made when the run loop offers a checked
//! block, stamped with the tier's sequence number, which moves on whenever the offered
//! code epoch differs from the last one seen (a `u64`, so the core's `u32` epoch wrapping
//! round cannot make an old entry current again) or the code cache is flushed. So a
//! chained jump only reaches a block the run loop checked against memory, on a fetch page
//! without execute triggers, in the current epoch, with its code still in the cache.
//!
//! Calling generated code cannot run under Miri (it is host machine code); the test that
//! runs it is the differential one (`host/tests/jit_diff.rs`). The tier exists on
//! `x86_64` Unix hosts only ([`AVAILABLE`]); elsewhere `-accel tcg` falls back to the
//! interpreter with a message.

#[cfg(all(target_arch = "x86_64", unix))]
pub mod cache;
#[cfg(all(target_arch = "x86_64", unix))]
pub mod x86;

/// Whether this host has the translating tier.
pub const AVAILABLE: bool = cfg!(all(target_arch = "x86_64", unix));

/// The default `-tb-size` in MiB.
pub const DEFAULT_TB_SIZE_MIB: usize = 32;

#[cfg(all(target_arch = "x86_64", unix))]
pub use imp::Jit;
#[cfg(not(all(target_arch = "x86_64", unix)))]
pub use none::Jit;

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
    }

    impl BlockTier for Jit {
        fn run_block(&mut self, _: BlockRef<'_>, _: &mut TierCtx) -> Option<TierEnd> {
            match *self {}
        }
    }
}

/// Counters of the tier's work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Blocks translated (a block again after its code changed or the cache was flushed
    /// counts again).
    pub translated: u64,
    /// Block decodings the translator declined (left to the interpreter).
    pub declined: u64,
    /// Block runs in generated code.
    pub runs: u64,
    /// Block decodings that found the translation of an identical earlier decoding of the
    /// same `pc` still in the cache (a block evicted from the interpreter's pool and
    /// decoded again) and reused it.
    pub reused: u64,
    /// Nanoseconds spent translating and inserting blocks.
    pub compile_ns: u64,
    /// Bytes of generated code written.
    pub code_bytes: u64,
    /// Returns from generated code to the run loop, by why ([`ExitKind`] as the index).
    pub exits: [u64; ExitKind::COUNT],
    /// Code epochs the tier saw begin (each empties the jump cache).
    pub epochs: u64,
}

/// Why generated code returned to the run loop (the index into [`JitStats::exits`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitKind {
    /// The block's last instruction is not translated (a system, CSR, FP... instruction):
    /// the interpreter's general path runs it.
    Untranslated = 0,
    /// A load or store whose address is not aligned to its size.
    Misaligned = 1,
    /// A load or store whose page is not in the data TLB (tag differs).
    TlbMiss = 2,
    /// A load or store whose TLB entry has no host page (MMIO, or not yet writable).
    NoHost = 3,
    /// A store whose host line has its bit set in the code-line filter.
    CodeLine = 4,
    /// At a block boundary: fewer than a block's worth of budget left.
    Budget = 5,
    /// At a block boundary: an enabled interrupt pending (or a stop request).
    Interrupt = 6,
    /// At a block boundary: DMA wrote guest RAM since the code epoch began.
    Dma = 7,
    /// At a block boundary: the next `pc` is not in the jump cache.
    ChainMiss = 8,
    /// At a block boundary: the jump cache has the next `pc` from an earlier code epoch
    /// or code-cache generation.
    ChainStale = 9,
}

impl ExitKind {
    /// How many kinds there are.
    pub const COUNT: usize = 10;
    /// Every kind, in index order.
    pub const ALL: [ExitKind; ExitKind::COUNT] = [
        ExitKind::Untranslated,
        ExitKind::Misaligned,
        ExitKind::TlbMiss,
        ExitKind::NoHost,
        ExitKind::CodeLine,
        ExitKind::Budget,
        ExitKind::Interrupt,
        ExitKind::Dma,
        ExitKind::ChainMiss,
        ExitKind::ChainStale,
    ];

    /// Its short name (as the stats line prints it).
    pub fn name(self) -> &'static str {
        match self {
            ExitKind::Untranslated => "untranslated",
            ExitKind::Misaligned => "misaligned",
            ExitKind::TlbMiss => "tlb-miss",
            ExitKind::NoHost => "no-host",
            ExitKind::CodeLine => "code-line",
            ExitKind::Budget => "budget",
            ExitKind::Interrupt => "interrupt",
            ExitKind::Dma => "dma",
            ExitKind::ChainMiss => "chain-miss",
            ExitKind::ChainStale => "chain-stale",
        }
    }
}

impl JitStats {
    /// The exit counters as `name count` pairs, largest first, zeros left out (for the
    /// `--trace` and bench lines).
    pub fn exits_line(&self) -> String {
        let mut v: Vec<(u64, &str)> = ExitKind::ALL
            .iter()
            .map(|&k| (self.exits[k as usize], k.name()))
            .filter(|&(n, _)| n != 0)
            .collect();
        v.sort_by_key(|&(n, _)| std::cmp::Reverse(n));
        let parts: Vec<String> = v.iter().map(|(n, k)| format!("{k} {n}")).collect();
        format!("exits: {}; epochs {}", parts.join(", "), self.epochs)
    }
}

#[cfg(all(target_arch = "x86_64", unix))]
mod imp {
    use std::collections::HashMap;
    use std::hash::BuildHasherDefault;
    use std::time::Instant;

    use fief_core::cpu::riscv::tier::{BlockRef, BlockTier, TierCtx, TierEnd, BLOCK_MAX_WORDS};
    use fief_core::cpu::riscv::{Xlen, BLOCK_POOL};

    use super::cache::{CacheError, CodeCache, CodeRef};
    use super::x86::{self, Chain, JumpEntry, Ret};
    use super::JitStats;

    /// What the tier knows of one block-pool slot.
    #[derive(Clone, Copy)]
    struct Slot {
        /// The serial of the block it was made from (0: nothing yet).
        serial: u64,
        /// Its code, or `None` when the translator declined the block.
        code: Option<CodeRef>,
        /// Offset of its chain entry from the start of its code.
        chain_entry: u32,
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

    /// The signature of generated code (see `x86`).
    type Entry = unsafe extern "sysv64" fn(*mut u64, *const TierCtx, *const Chain) -> Ret;

    /// The translating tier of one hart (see the module docs).
    pub struct Jit {
        cache: CodeCache,
        slots: Box<[Slot]>,
        /// Translations by `pc`, for blocks the interpreter decodes again unchanged.
        known: HashMap<u64, Known, BuildHasherDefault<PcHasher>>,
        chain: Box<Chain>,
        /// The code epoch of the last block offered.
        epoch: u32,
        /// The code cache generation `chain.seq` was last moved on for.
        generation: u64,
        rv32: bool,
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
                code: None,
                chain_entry: 0,
            };
            let cache = CodeCache::new(bytes).map_err(|e: CacheError| e.to_string())?;
            Ok(Jit {
                generation: cache.arena().generation(),
                cache,
                slots: vec![empty; BLOCK_POOL].into_boxed_slice(),
                known: HashMap::default(),
                chain: Chain::new(),
                epoch: 0,
                rv32: xlen == Xlen::Rv32,
                stats: JitStats::default(),
            })
        }

        /// What it did so far.
        pub fn stats(&self) -> JitStats {
            self.stats
        }

        /// How many times the code cache was flushed whole.
        pub fn flushes(&self) -> u64 {
            self.cache.arena().flushes()
        }

        /// Translates `block` into the cache (or finds the translation of an identical
        /// earlier decoding of its `pc`) and records it in its slot.
        #[cold]
        #[inline(never)]
        fn translate(&mut self, block: BlockRef<'_>) -> Option<(CodeRef, u32)> {
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
                    let code = x86::translate(block, self.rv32).and_then(|c| {
                        let r = self.cache.insert(&c.bytes);
                        self.stats.code_bytes += c.bytes.len() as u64;
                        chain_entry = c.chain_entry as u32;
                        r
                    });
                    match code {
                        Some(_) => self.stats.translated += 1,
                        None => self.stats.declined += 1,
                    }
                    self.stats.compile_ns += start.elapsed().as_nanos() as u64;
                    if self.cache.arena().generation() != self.generation {
                        // Flushed: every jump-cache entry and known translation names
                        // dead code.
                        self.generation = self.cache.arena().generation();
                        self.chain.seq += 1;
                        self.known.clear();
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
            self.slots[block.pool_index()] = Slot {
                serial: block.serial(),
                code,
                chain_entry,
            };
            code.map(|c| (c, chain_entry))
        }
    }

    impl BlockTier for Jit {
        #[inline]
        fn run_block(&mut self, block: BlockRef<'_>, ctx: &mut TierCtx) -> Option<TierEnd> {
            if block.len() as u64 > ctx.left {
                return None;
            }
            if ctx.epoch != self.epoch {
                // A new code epoch: no block is known to be checked in it yet.
                self.epoch = ctx.epoch;
                self.chain.seq += 1;
                self.stats.epochs += 1;
            }
            let slot = self.slots[block.pool_index()];
            let (code, chain_entry) = if slot.serial == block.serial() {
                match slot.code {
                    Some(r) if self.cache.arena().is_live(r) => (r, slot.chain_entry),
                    // Flushed since: translate again.
                    Some(_) => self.translate(block)?,
                    None => return None,
                }
            } else {
                self.translate(block)?
            };
            let at = self.cache.address(code)?;
            // The run loop checked this block in this epoch: later blocks may chain to it.
            self.chain.entries[Chain::index(block.pc())] = JumpEntry::new(
                block.pc(),
                self.chain.seq,
                at.addr() as u64 + chain_entry as u64,
            );
            // SAFETY: `at` is the start of code that `x86::translate` made for exactly this
            // block (same pool slot and serial, so the same decoded instructions) and that
            // is still in the cache (live generation), which is mapped read-execute now;
            // the code follows `Entry`'s System V signature (`x86` docs). It reads and
            // writes the 256 register slots at `ctx.regs` (the hart's register file,
            // which nothing else touches during the call), reads `ctx` and `self.chain`
            // (alive and unchanged during the call), reads the data TLB and code-line
            // filter at `ctx`'s pointers and the atomics at `ctx.pending`/`lease_writes`
            // with plain loads (valid for the call: `TierCtx` docs), and accesses guest
            // RAM only through host pages of TLB hits, aligned and inside the page, as the
            // interpreter's atomics do. It jumps only to chain entries in the jump cache
            // stamped with the current `seq`, which are code of blocks offered in this
            // code epoch and still in this cache generation (module docs). It uses no
            // stack, touches only caller-saved registers, cannot fault, and returns.
            let ret = unsafe {
                let f: Entry = std::mem::transmute::<*const u8, Entry>(at);
                f(ctx.regs, ctx, &*self.chain)
            };
            self.stats.runs += 1;
            self.stats.exits[ret.kind()] += 1;
            Some(ret.end())
        }
    }
}
