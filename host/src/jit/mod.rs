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
//!   own checks before a block reaches the tier), and the one call into generated code.
//!
//! Only blocks that cannot trap are translated (ALU, M, branches, jumps; see `x86`), so
//! there is nothing to make precise: a block with a load, store, FP or bit-manipulation
//! instruction before its last stays in the interpreter. Everything around a block
//! (budget, interrupts, code epochs, privilege and `satp`, the general path) is the
//! interpreter's.
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
    use fief_core::cpu::riscv::tier::{BlockRef, BlockTier, TierEnd};
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
        fn run_block(&mut self, _: BlockRef<'_>, _: &mut [u64; 256], _: u64) -> Option<TierEnd> {
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
    /// Nanoseconds spent translating and inserting blocks.
    pub compile_ns: u64,
    /// Bytes of generated code written.
    pub code_bytes: u64,
}

#[cfg(all(target_arch = "x86_64", unix))]
mod imp {
    use std::time::Instant;

    use fief_core::cpu::riscv::tier::{BlockRef, BlockTier, TierEnd};
    use fief_core::cpu::riscv::{Xlen, BLOCK_POOL};

    use super::cache::{CacheError, CodeCache, CodeRef};
    use super::x86::{self, Ret};
    use super::JitStats;

    /// What the tier knows of one block-pool slot.
    #[derive(Clone, Copy)]
    struct Slot {
        /// The serial of the block it was made from (0: nothing yet).
        serial: u64,
        /// Its code, or `None` when the translator declined the block.
        code: Option<CodeRef>,
    }

    /// The signature of generated code (see `x86`).
    type Entry = unsafe extern "sysv64" fn(*mut u64) -> Ret;

    /// The translating tier of one hart (see the module docs).
    pub struct Jit {
        cache: CodeCache,
        slots: Box<[Slot]>,
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
            };
            Ok(Jit {
                cache: CodeCache::new(bytes).map_err(|e: CacheError| e.to_string())?,
                slots: vec![empty; BLOCK_POOL].into_boxed_slice(),
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

        /// Translates `block` into the cache and records it in its slot.
        #[cold]
        #[inline(never)]
        fn translate(&mut self, block: BlockRef<'_>) -> Option<CodeRef> {
            let start = Instant::now();
            let code = x86::translate(block, self.rv32).and_then(|bytes| {
                let r = self.cache.insert(&bytes);
                self.stats.code_bytes += bytes.len() as u64;
                r
            });
            match code {
                Some(_) => self.stats.translated += 1,
                None => self.stats.declined += 1,
            }
            self.stats.compile_ns += start.elapsed().as_nanos() as u64;
            self.slots[block.pool_index()] = Slot {
                serial: block.serial(),
                code,
            };
            code
        }
    }

    impl BlockTier for Jit {
        #[inline]
        fn run_block(
            &mut self,
            block: BlockRef<'_>,
            regs: &mut [u64; 256],
            left: u64,
        ) -> Option<TierEnd> {
            if block.len() as u64 > left {
                return None;
            }
            let slot = self.slots[block.pool_index()];
            let code = if slot.serial == block.serial() {
                match slot.code {
                    Some(r) if self.cache.arena().is_live(r) => r,
                    // Flushed since: translate again.
                    Some(_) => self.translate(block)?,
                    None => return None,
                }
            } else {
                self.translate(block)?
            };
            let at = self.cache.address(code)?;
            // SAFETY: `at` is the start of code that `x86::translate` made for exactly this
            // block (same pool slot and serial, so the same decoded instructions) and that
            // is still in the cache (live generation), which is mapped read-execute now. That
            // code follows `Entry`'s System V signature: it reads and writes only the 256
            // `u64` slots at its argument (displacements below 8 * 256) and `rax`, `rcx`,
            // `rdx` and the flags, uses no stack, cannot fault, and returns.
            let ret = unsafe {
                let f: Entry = std::mem::transmute::<*const u8, Entry>(at);
                f(regs.as_mut_ptr())
            };
            self.stats.runs += 1;
            Some(ret.end())
        }
    }
}
