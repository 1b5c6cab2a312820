//! The tier's counters ([`JitStats`]: translations, runs, exits by [`ExitKind`], links, the
//! policy's decisions), as `fief run --trace exits` and the benchmarks print them.

/// Counters of the tier's work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JitStats {
    /// Blocks translated (a block again after its code changed or the cache was flushed
    /// counts again).
    pub translated: u64,
    /// Block decodings the translator declined (left to the interpreter).
    pub declined: u64,
    /// Blocks the run loop offered (calls of `run_block`): a block the tier declines for
    /// good is offered once per decoding ([`TierCtx::declined`](fief_core::cpu::riscv::tier::TierCtx::declined)).
    pub offered: u64,
    /// Block runs in generated code.
    pub runs: u64,
    /// Instructions retired in generated code.
    pub retired: u64,
    /// Hot blocks given back to the interpreter because their runs in generated code
    /// mostly ended inside them ([`Jit::with_hot_runs`](super::Jit::with_hot_runs)).
    pub demoted: u64,
    /// Hot blocks not translated because every run of theirs would end inside them (the
    /// interpreter runs their last instruction, and no branch before it leaves), so
    /// they would be given back.
    pub foreseen: u64,
    /// Hot blocks not translated because every successor they can reach (their branches'
    /// and final jump's targets, their fall-through) was given back to the interpreter,
    /// so that their runs would end at it and they would be given back too.
    pub dead_ends: u64,
    /// Block decodings that found the translation of an identical earlier decoding of the
    /// same `pc` still in the cache (a block evicted from the interpreter's pool and
    /// decoded again) and reused it.
    pub reused: u64,
    /// Offered blocks left to the interpreter because they had not run often enough yet
    /// to be translated ([`Jit::with_hot_runs`](super::Jit::with_hot_runs)).
    pub cold: u64,
    /// Nanoseconds spent translating and inserting blocks.
    pub compile_ns: u64,
    /// Bytes of generated code written.
    pub code_bytes: u64,
    /// Returns from generated code to the run loop, by why ([`ExitKind`] as the index).
    pub exits: [u64; ExitKind::COUNT],
    /// Code epochs the tier saw begin (each empties the jump cache).
    pub epochs: u64,
    /// Direct links made (a block's exit slot pointed at its successor's code; each is
    /// undone when the sequence moves on).
    pub links: u64,
    /// Loads and stores in generated code that missed their memo and looked their page
    /// up in the TLB (`x86::mem`).
    pub lookups: u64,
    /// Loads and stores in generated code that missed the TLB's fast view and looked
    /// their page up in the TLB entry itself (`x86::mem`).
    pub fast_misses: u64,
    /// Host lines that stores in generated code tested in the code-line filter: only
    /// behind a miss in the TLB's fast view, whose write tags match only pages with no
    /// checked code (`x86::mem`).
    pub line_checks: u64,
    /// Direct links made to the successor's warm entry, past the loads of its cached
    /// registers, because the exit's block holds them in the same host registers
    /// (`x86`'s docs, "Guest registers in host registers").
    pub warm_links: u64,
    /// Blocks translated as unrolled loops (`x86::translate`: a loop of one block runs
    /// several copies of its body between boundary checks).
    pub unrolled: u64,
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
    /// At a block boundary: guest RAM was written behind the hart's back (DMA, a
    /// section write) since the run loop last read the DMA write count.
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
        format!(
            "offered {}; exits: {}; epochs {}; links {} ({} warm); cold runs {}; retired {}; demoted {}; foreseen {}; dead ends {}; lookups {}; fast-view misses {}; line checks {}",
            self.offered,
            parts.join(", "),
            self.epochs,
            self.links,
            self.warm_links,
            self.cold,
            self.retired,
            self.demoted,
            self.foreseen,
            self.dead_ends,
            self.lookups,
            self.fast_misses,
            self.line_checks
        )
    }
}
