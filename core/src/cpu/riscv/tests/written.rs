//! The interrupt word's written bit (`irqs::CODE_WRITTEN`): a hart running with a tier
//! watches the memory's write count through its interrupt word for the slice, and the
//! tier sees a write behind the hart's back in the word it tests at block boundaries
//! (`TierCtx::exit_mask`); the run loop clears the bit and starts a code epoch.

use std::vec::Vec;

use super::asm::*;
use super::{poke, with_machine, RAM_BASE};
use crate::cpu::riscv::irqs::CODE_WRITTEN;
use crate::cpu::riscv::tier::{BlockRef, BlockTier, TierCtx, TierEnd};
use crate::cpu::riscv::{Exit, Hart, HartIrqs, Xlen};
use crate::sync::Ordering;

/// What a [`Probe`] saw at one offer: the word under the exit mask, whether the word is
/// the hart's own, the code epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Seen {
    word: u32,
    own: bool,
    epoch: u32,
}

/// A tier that declines every block (the interpreter runs them) and records what it
/// sees; at offer `write_at` it first calls `write` (a write behind the hart's back).
struct Probe<'w> {
    irqs: *const u32,
    write_at: usize,
    write: &'w dyn Fn(),
    seen: Vec<Seen>,
}

impl BlockTier for Probe<'_> {
    fn run_block(&mut self, _: BlockRef<'_>, ctx: &mut TierCtx) -> Option<TierEnd> {
        if self.seen.len() == self.write_at {
            (self.write)();
        }
        // SAFETY: `ctx.pending` is valid for the call (`TierCtx` docs); an atomic word.
        let word =
            unsafe { (*ctx.pending.cast::<crate::atomic::AtomicU32>()).load(Ordering::Relaxed) };
        self.seen.push(Seen {
            word: word & ctx.exit_mask,
            own: ctx.pending == self.irqs,
            epoch: ctx.epoch,
        });
        None
    }
}

/// A loop over three blocks (`x10` counts), forever.
fn three_blocks() -> [u32; 6] {
    [
        addi(10, 10, 1),
        jal(0, 8),
        EBREAK,
        addi(11, 11, 1),
        jal(0, 4),
        jal(0, -20),
    ]
}

/// Runs [`three_blocks`] for `budget` instructions with a [`Probe`] that writes a data
/// word of RAM at offer `write_at`, through the section (counted), as DMA would.
fn probe_a_write(irqs: &HartIrqs, write_at: usize, budget: u64) -> Vec<Seen> {
    let prog = three_blocks();
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, irqs);
        h.set_sole_hart(true);
        let write = || poke(sec, RAM_BASE + 0x8000, 7);
        let mut probe = Probe {
            irqs: irqs.pending.as_ptr(),
            write_at,
            write: &write,
            seen: Vec::new(),
        };
        assert_eq!(h.run_with(sec, budget, &mut probe), Exit::BudgetExhausted);
        // The watch ended with the slice: a write now sets nothing.
        poke(sec, RAM_BASE + 0x8000, 8);
        assert_eq!(irqs.pending.load(Ordering::Relaxed) & CODE_WRITTEN, 0);
        probe.seen
    })
}

/// A write behind the back of a hart running with a tier sets the written bit in the
/// word the tier tests (its own interrupt word) before the write returns; the run loop
/// clears it before it offers the next block, in a new code epoch (fails with the
/// memory not setting the bit, `WriteWatch::note_write`, or the run loop not watching:
/// the tier sees no bit; and with the run loop not clearing it: every later offer sees
/// it).
#[test]
fn a_write_behind_the_hart_s_back_sets_the_word_the_tier_tests() {
    let irqs = HartIrqs::new();
    let seen = probe_a_write(&irqs, 5, 40);
    assert!(seen.len() > 8, "{seen:?}");
    assert!(seen.iter().all(|s| s.own), "{seen:?}");
    assert_eq!(seen[4].word, 0, "{seen:?}");
    assert_eq!(seen[5].word, CODE_WRITTEN, "{seen:?}");
    assert_eq!(seen[6].word, 0, "cleared: {seen:?}");
    assert!(seen[7..].iter().all(|s| s.word == 0), "{seen:?}");
    assert_eq!(seen[5].epoch, seen[4].epoch, "{seen:?}");
    assert_ne!(seen[6].epoch, seen[5].epoch, "a new code epoch: {seen:?}");
}

/// Two harts sharing one interrupt word do not both watch through it (one could clear
/// the bit the other has to see): while one watches, the other's tier gets a word with
/// the bit always set (fails with `HartIrqs::claim_watch` letting both watch: the
/// second tier sees the hart's own word with no bit).
#[test]
fn a_word_another_hart_watches_through_ends_every_chain() {
    let irqs = HartIrqs::new();
    let _other = irqs.claim_watch().expect("nobody watches yet");
    let seen = probe_a_write(&irqs, usize::MAX, 20);
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|s| !s.own && s.word == CODE_WRITTEN),
        "{seen:?}"
    );
}

/// With every watch slot of the memory taken, a hart's tier gets a word with the
/// written bit always set: no block boundary chains (fails with the run loop handing
/// out its own word unwatched).
#[test]
fn a_hart_that_cannot_watch_the_count_ends_every_chain() {
    let prog = three_blocks();
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let words: Vec<crate::atomic::AtomicU32> = (0..crate::watch::WATCH_SLOTS)
            .map(|_| crate::atomic::AtomicU32::new(0))
            .collect();
        fn nest(
            w: &crate::watch::WriteWatch,
            words: &[crate::atomic::AtomicU32],
            f: &mut dyn FnMut(),
        ) {
            match words.split_first() {
                Some((first, rest)) => w.watching(first, 1, |on| {
                    assert!(on);
                    nest(w, rest, f)
                }),
                None => f(),
            }
        }
        let irqs = HartIrqs::new();
        let mut seen = Vec::new();
        nest(sec.write_watch(), &words, &mut || {
            let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, &irqs);
            let never = || {};
            let mut probe = Probe {
                irqs: irqs.pending.as_ptr(),
                write_at: usize::MAX,
                write: &never,
                seen: Vec::new(),
            };
            assert_eq!(h.run_with(sec, 20, &mut probe), Exit::BudgetExhausted);
            seen = probe.seen;
        });
        assert!(!seen.is_empty());
        assert!(
            seen.iter().all(|s| !s.own && s.word == CODE_WRITTEN),
            "{seen:?}"
        );
    });
}
