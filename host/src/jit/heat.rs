//! The tier's heat table: by a block's `pc`, how many times the run loop offered it while
//! it was not translated (so that only hot blocks are translated), and once it is, how its
//! runs in generated code went (so that one whose runs mostly end inside it is given
//! back). `Jit::warm` and `Jit::judge` (`super`) own the policy; this file owns the
//! table: its sets, the choice of a way for a new `pc`, the saturating count and the
//! judging window.
//!
//! Two-way set-associative by a hash of `pc`, so that a translated block's judging state
//! survives another `pc` of its set being counted: a new `pc` takes the way with fewer
//! runs (a cold block's count goes before a translated or given-back block's state). A
//! collision only starts a count over; the table is keyed by `pc`, not by the hart's
//! decoding, so a count survives the hart decoding the block again.

/// `Heat::runs` of a block given back to the interpreter for good.
const GIVEN_BACK: u32 = u32::MAX;

/// Runs in generated code after which a hot block is judged ([`Heat::judge_run`]).
pub(super) const JUDGE_RUNS: u8 = 32;

/// log2 of the table's sets.
const SET_BITS: u32 = 14;

/// Entries per set: two, so that a translated block's judging state survives another
/// `pc` of its set being counted ([`HeatTable::entry`] takes the other way).
const WAYS: usize = 2;

/// One entry: how many times the run loop offered the block at `pc` while it was not
/// translated, and once it was, how its runs in generated code went. Eight bytes, so
/// that a set is 16 and the table 256 KiB: every offer of a block that is not
/// translated reads a set, and in a Linux boot, where the interpreter's own data fills
/// the host's caches, most of those reads missed them when entries held the whole `pc`
/// (16 bytes, 512 KiB).
#[derive(Clone, Copy, Default)]
pub(super) struct Heat {
    /// Which `pc` it counts, of those of its set ([`HeatTable::place`]).
    tag: u16,
    /// Runs in generated code in the current judging window.
    judged: u8,
    /// How many of those ended inside the block (no successor reached).
    short: u8,
    /// Offers before it was hot (saturating below [`GIVEN_BACK`]), or [`GIVEN_BACK`].
    runs: u32,
}

impl Heat {
    /// Whether its block was given back to the interpreter for good (or declined when
    /// hot without being translated).
    #[inline(always)]
    pub(super) fn given_back(&self) -> bool {
        self.runs == GIVEN_BACK
    }

    /// Gives its block back to the interpreter for good.
    #[inline(always)]
    pub(super) fn give_back(&mut self) {
        self.runs = GIVEN_BACK;
    }

    /// Counts one more offer of its block while it is not translated; returns the count
    /// so far (saturating).
    #[inline(always)]
    pub(super) fn count_offer(&mut self) -> u32 {
        self.runs = self.runs.saturating_add(1).min(GIVEN_BACK - 1);
        self.runs
    }

    /// Records one run of its translated block in generated code, `short` when it ended
    /// inside the block. Every [`JUDGE_RUNS`] runs the window closes: returns true (and
    /// marks it given back) when at least 3 in 4 of the window's runs were short.
    #[inline(always)]
    pub(super) fn judge_run(&mut self, short: bool) -> bool {
        self.judged += 1;
        self.short += short as u8;
        if self.judged < JUDGE_RUNS {
            return false;
        }
        let give_back = self.short as u32 * 4 >= self.judged as u32 * 3;
        if give_back {
            self.runs = GIVEN_BACK;
        }
        self.judged = 0;
        self.short = 0;
        give_back
    }
}

/// The heat table (module docs).
pub(super) struct HeatTable {
    sets: Box<[[Heat; WAYS]]>,
}

impl HeatTable {
    /// An empty table (every count at 0).
    pub(super) fn new() -> HeatTable {
        HeatTable {
            sets: vec![[Heat::default(); WAYS]; 1 << SET_BITS].into_boxed_slice(),
        }
    }

    /// The set that holds `pc`'s entry and its tag there: the top bits of a Fibonacci
    /// hash of the halfword address, and the 16 below them (two `pc`s that share both
    /// share an entry: the table only steers the policy, so that costs at most a block
    /// translated early or late).
    #[inline(always)]
    fn place(pc: u64) -> (usize, u16) {
        let h = (pc >> 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        (
            (h >> (64 - SET_BITS)) as usize,
            (h >> (64 - SET_BITS - 16)) as u16,
        )
    }

    /// The set that holds `pc`'s entry.
    #[inline(always)]
    pub(super) fn set_of(pc: u64) -> usize {
        HeatTable::place(pc).0
    }

    /// `pc`'s entry, made when it has none: in the way of its set with the fewest runs,
    /// with everything at 0.
    #[inline(always)]
    pub(super) fn entry(&mut self, pc: u64) -> &mut Heat {
        let (set, tag) = HeatTable::place(pc);
        let set = &mut self.sets[set];
        let way = match set.iter().position(|e| e.tag == tag) {
            Some(w) => w,
            None => {
                let w = (0..WAYS).min_by_key(|&w| set[w].runs).unwrap_or(0);
                set[w] = Heat {
                    tag,
                    ..Heat::default()
                };
                w
            }
        };
        &mut set[way]
    }

    /// Whether the block at `pc` was given back to the interpreter (its entry says so).
    #[inline(always)]
    pub(super) fn given_back(&self, pc: u64) -> bool {
        let (set, tag) = HeatTable::place(pc);
        self.sets[set]
            .iter()
            .any(|e| e.tag == tag && e.given_back())
    }

    /// `pc`'s entry, if it has one.
    #[inline(always)]
    pub(super) fn get_mut(&mut self, pc: u64) -> Option<&mut Heat> {
        let (set, tag) = HeatTable::place(pc);
        self.sets[set].iter_mut().find(|e| e.tag == tag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two `pc`s of one set.
    fn colliding() -> (u64, u64) {
        let a = 0x8000_0000;
        let b = (a + 2..)
            .step_by(2)
            .find(|&pc| HeatTable::set_of(pc) == HeatTable::set_of(a))
            .unwrap_or(a);
        (a, b)
    }

    #[test]
    fn an_entry_is_eight_bytes() {
        // The table's footprint is what a boot's offers pay for (`Heat`'s docs).
        assert_eq!(std::mem::size_of::<Heat>(), 8);
        assert_eq!(std::mem::size_of::<[Heat; WAYS]>(), 16);
    }

    #[test]
    fn a_new_pc_takes_the_way_with_fewer_runs() {
        let (a, b) = colliding();
        assert_ne!(a, b);
        let mut t = HeatTable::new();
        for _ in 0..5 {
            t.entry(a).count_offer();
        }
        // `b` takes the empty way, then a third `pc` of the set takes `b`'s (1 run)
        // rather than `a`'s (5 runs).
        assert_eq!(t.entry(b).count_offer(), 1);
        let c = (b + 2..)
            .step_by(2)
            .find(|&pc| HeatTable::set_of(pc) == HeatTable::set_of(a))
            .unwrap_or(b);
        assert_eq!(t.entry(c).count_offer(), 1);
        assert!(t.get_mut(b).is_none());
        assert_eq!(t.entry(a).count_offer(), 6);
    }

    #[test]
    fn a_window_of_mostly_short_runs_gives_the_block_back() {
        let mut t = HeatTable::new();
        let e = t.entry(0x1000);
        // 3 in 4 short: given back at the window's end, not before.
        for i in 0..JUDGE_RUNS {
            assert!(!e.given_back());
            assert_eq!(e.judge_run(i % 4 != 0), i == JUDGE_RUNS - 1);
        }
        assert!(e.given_back());
        // Fewer short: kept, and the next window starts afresh.
        let e = t.entry(0x2000);
        for i in 0..2 * JUDGE_RUNS {
            assert!(!e.judge_run(i % 2 == 0));
        }
        assert!(!e.given_back());
    }
}
