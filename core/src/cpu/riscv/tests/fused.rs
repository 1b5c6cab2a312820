//! Fused pairs in decoded blocks (`block::fuse`): the block executor runs an operation and
//! the `addi` after it in one dispatch, with each instruction's retirement, budget and
//! precise-trap `pc` as if unfused.

use super::asm::*;
use super::{with_machine, MMIO_BASE, RAM_BASE};
use crate::cpu::riscv::{cause, csr::num, Exit, Hart, Xlen};

const fn mul(rd: u32, rs1: u32, rs2: u32) -> u32 {
    op(1, 0, rd, rs1, rs2)
}
const fn and(rd: u32, rs1: u32, rs2: u32) -> u32 {
    op(0, 7, rd, rs1, rs2)
}
const fn slli(rd: u32, rs1: u32, sh: i32) -> u32 {
    i(sh, rs1, 1, rd, 0x13)
}
const fn lbu(rd: u32, rs1: u32, off: i32) -> u32 {
    load(4, rd, rs1, off)
}
const fn branch(f3: u32, rs1: u32, rs2: u32, off: i32) -> u32 {
    b(off, rs2, rs1, f3)
}
const fn sb(rs2: u32, rs1: u32, off: i32) -> u32 {
    store(0, rs2, rs1, off)
}

/// A loop of one block holding every fused kind (`lw`, `lbu`, `addi`, `slli`, `mul`,
/// `add`, `and`, each followed by an `addi`), 15 instructions, run 20 times.
const LOOP: [u32; 18] = [
    li(3, 20),
    lw(6, 5, 0), // fused: lw + addi
    addi(6, 6, 1),
    lbu(7, 5, 1), // fused: lbu + addi (the base register)
    addi(5, 5, 4),
    addi(8, 8, 3), // fused: addi + addi
    addi(8, 8, 5),
    slli(9, 6, 2), // fused: slli + addi
    addi(9, 9, -1),
    mul(10, 9, 6), // fused: mul + addi
    addi(10, 10, 7),
    add(11, 11, 10), // fused: add + addi
    addi(11, 11, 1),
    and(12, 11, 9), // fused: and + addi (the loop counter)
    addi(1, 1, 1),
    bne(1, 3, -56),
    addi(4, 0, 7),
    EBREAK,
];

/// The loop's data: 20 words at RAM_BASE + 0x8000.
const DATA: [u32; 20] = {
    let mut d = [0; 20];
    let mut k = 0;
    while k < 20 {
        d[k] = 0x0101_0101u32.wrapping_mul(k as u32 + 3) ^ 0x5a00_a500;
        k += 1;
    }
    d
};

/// A loop over `BRANCH_DATA` with every kind of operation fused with a conditional branch
/// (`lw`+`bge`, `sw`+`bltu`, `andi`+`beq`, `srli`+`bne`, `xor`+`blt`, `add`+`bgeu`,
/// `sb`+`bne`, `addi`+`bne`), each branch skipping a counter's `addi` when taken, so that
/// the data takes each branch both ways.
const BRANCHES: [u32; 27] = [
    li(3, 12),
    lw(6, 5, 0),
    branch(5, 6, 0, 8), // bge x6, x0
    addi(11, 11, 1),
    sw(6, 5, 0x200),
    branch(6, 6, 12, 8), // bltu x6, x12
    addi(13, 13, 1),
    i(3, 6, 7, 7, 0x13), // andi x7, x6, 3
    beq(7, 0, 8),
    addi(14, 14, 1),
    i(3, 6, 5, 8, 0x13), // srli x8, x6, 3
    bne(8, 0, 8),
    addi(15, 15, 1),
    op(0, 4, 9, 9, 6),  // xor x9, x9, x6
    branch(4, 9, 0, 8), // blt x9, x0
    addi(16, 16, 1),
    add(10, 10, 6),
    branch(7, 10, 12, 8), // bgeu x10, x12
    addi(17, 17, 1),
    sb(6, 5, 0x300),
    bne(6, 0, 8),
    addi(18, 18, 1),
    addi(5, 5, 4),
    op(0, 4, 19, 19, 5), // xor x19, x19, x5
    addi(1, 1, 1),
    bne(1, 3, -96),
    EBREAK,
];

const BRANCH_DATA: [u32; 12] = [
    0,
    5,
    -7i32 as u32,
    8,
    0x7fff_fff0,
    u32::MAX,
    3,
    0x4000_0000,
    12,
    -8i32 as u32,
    1,
    0x3fff_ffff,
];

/// A hart on the heap: the budget tests keep four at once, about 1 MiB each on hosts.
fn hart() -> std::boxed::Box<Hart<'static>> {
    let mut h = std::boxed::Box::new(Hart::new(0, Xlen::Rv32, RAM_BASE));
    h.set_debug_ebreak(true);
    h.set_reg(5, RAM_BASE + 0x8000);
    h
}

#[test]
// Two fresh harts for each of 74 budgets: many minutes under Miri, which the smaller fused
// tests already take through the same block executor and host accesses.
#[cfg_attr(miri, ignore)]
fn fused_pairs_stop_exactly_at_the_budget() {
    // `run(n)` ends after exactly `n` instructions with the state of `n` single steps
    // (which never run a block, so never a fused pair) for every `n` that ends inside the
    // loop's block, at its rounds' ends and at the loop's end: a budget that ends between
    // a pair's halves runs the block one instruction at a time.
    with_machine(0x10000, &[(0, &LOOP), (0x8000, &DATA)], |sec, _| {
        let total = 1 + 15 * 20 + 1;
        for n in (1..=48u64).chain(total - 3..=total) {
            let mut once = hart();
            let mut steps = hart();
            assert_eq!(once.run(sec, n), Exit::BudgetExhausted, "n = {n}");
            for _ in 0..n {
                assert_eq!(steps.step(sec), Exit::BudgetExhausted, "n = {n}");
            }
            for r in 1..13 {
                assert_eq!(once.reg(r), steps.reg(r), "x{r} after {n}");
            }
            assert_eq!(once.pc(), steps.pc(), "pc after {n}");
            assert_eq!(once.csr(num::MINSTRET), Some(n));
            assert_eq!(steps.csr(num::MINSTRET), Some(n));
        }
        // The whole program in one run equals it step by step.
        let mut once = hart();
        let mut steps = hart();
        assert!(matches!(once.run(sec, 10_000), Exit::Breakpoint(_)));
        while !matches!(steps.step(sec), Exit::Breakpoint(_)) {}
        for r in 1..13 {
            assert_eq!(once.reg(r), steps.reg(r), "x{r} at the end");
        }
        assert_eq!((once.reg(1), once.reg(4)), (20, 7));
        assert_eq!(once.csr(num::MINSTRET), Some(total));
    });
}

#[test]
// Two fresh harts for each of 74 budgets: many minutes under Miri, which the smaller fused
// tests already take through the same block executor and host accesses.
#[cfg_attr(miri, ignore)]
fn fused_branches_take_both_ways_and_stop_exactly_at_the_budget() {
    // As `fused_pairs_stop_exactly_at_the_budget`, for pairs whose second half is a
    // conditional branch: each of the six conditions, taken and not.
    with_machine(
        0x10000,
        &[(0, &BRANCHES), (0x8000, &BRANCH_DATA)],
        |sec, _| {
            let start = |h: &mut Hart<'static>| h.set_reg(12, 0x4000_0000);
            let mut steps = hart();
            start(&mut steps);
            let mut total = 0;
            while !matches!(steps.step(sec), Exit::Breakpoint(_)) {
                total += 1;
            }
            let mut once = hart();
            start(&mut once);
            assert!(matches!(once.run(sec, 10_000), Exit::Breakpoint(_)));
            for r in 1..20 {
                assert_eq!(once.reg(r), steps.reg(r), "x{r} at the end");
            }
            assert_eq!(once.csr(num::MINSTRET), Some(total));
            // Every counter moved, and none on every round: each branch went both ways.
            for r in [11, 13, 14, 15, 16, 17, 18] {
                assert!((1..12).contains(&once.reg(r)), "x{r} = {}", once.reg(r));
            }
            for n in (1..=70u64).chain(total - 3..=total) {
                let mut once = hart();
                let mut steps = hart();
                start(&mut once);
                start(&mut steps);
                assert_eq!(once.run(sec, n), Exit::BudgetExhausted, "n = {n}");
                for _ in 0..n {
                    assert_eq!(steps.step(sec), Exit::BudgetExhausted, "n = {n}");
                }
                for r in 1..20 {
                    assert_eq!(once.reg(r), steps.reg(r), "x{r} after {n}");
                }
                assert_eq!(once.pc(), steps.pc(), "pc after {n}");
                assert_eq!(once.csr(num::MINSTRET), Some(n));
            }
        },
    );
}

/// A loop over `BRANCH_DATA` with the pairs whose second half is neither an `addi` nor a
/// branch after the first (`andi`+`sub`, `slli`+`srai`) and `slli`+`bge`, taken and not.
const MORE_PAIRS: [u32; 16] = [
    li(3, 12),
    lw(6, 5, 0),
    i(1, 6, 7, 7, 0x13),     // andi x7, x6, 1: fused with the sub
    op(0x20, 0, 7, 0, 7),    // sub x7, x0, x7
    slli(8, 6, 16),          // fused with the srai
    i(0x410, 8, 5, 8, 0x13), // srai x8, x8, 16
    slli(9, 6, 1),           // fused with the bge
    branch(5, 9, 0, 8),      // bge x9, x0
    addi(11, 11, 1),
    add(12, 12, 7),
    op(0, 4, 13, 13, 8), // xor x13, x13, x8
    op(0, 4, 14, 14, 9), // xor x14, x14, x9
    addi(5, 5, 4),
    addi(1, 1, 1),
    bne(1, 3, -52),
    EBREAK,
];

/// A loop over `BRANCH_DATA` with `lw`+`lw`, `sw`+`sw`, `slli`+`xor`, `beq`+`blt` and
/// `beq`+`sw` (x6 and x7 are consecutive words: each is 0 once); two stored words read
/// back at the end.
const MEMORY_PAIRS: [u32; 18] = [
    li(3, 12),
    lw(6, 5, 0), // fused with the next lw
    lw(7, 5, 4),
    sw(6, 5, 0x200), // fused with the next sw
    sw(7, 5, 0x404),
    slli(8, 6, 3),      // fused with the xor
    op(0, 4, 9, 9, 8),  // xor x9, x9, x8
    beq(6, 0, 12),      // fused with the blt
    branch(4, 6, 0, 8), // blt x6, x0
    addi(11, 11, 1),
    beq(7, 0, 8), // fused with the sw
    sw(7, 5, 0x300),
    addi(5, 5, 4),
    addi(1, 1, 1),
    bne(1, 3, -52),
    lw(10, 5, 0x3fc), // what the last round but one stored: the second sw
    lw(15, 5, 0x2f8), // and the beq's sw
    EBREAK,
];

/// A loop over `BRANCH_DATA` with `beq`+`addi`, `bne`+`lw`, `bne`+`bltu`, `addi`+`mul`
/// and `addi`+`add`.
const BRANCH_PAIRS: [u32; 16] = [
    li(3, 12),
    lw(6, 5, 0),
    lw(7, 5, 4),
    beq(7, 0, 8), // fused with the addi
    addi(12, 12, 1),
    bne(6, 0, 8), // fused with the lw
    lw(13, 5, 0x10),
    bne(7, 0, 12),      // fused with the bltu
    branch(6, 6, 7, 8), // bltu x6, x7
    addi(14, 14, 1),
    addi(10, 6, 3), // fused with the mul
    mul(15, 10, 7),
    addi(9, 9, 5), // fused with the add
    add(9, 9, 15),
    addi(5, 5, 4),
    addi(1, 1, 1),
];

/// Runs `prog` (at RAM_BASE) over `BRANCH_DATA` (at RAM_BASE + 0x8000, x5) to its
/// `ebreak` in one run and one step at a time, then for every budget up to `budgets` and
/// the last few: the registers x1 to x15, `pc` and `minstret` of each run must be those
/// of as many single steps (which never run a block, so never a fused pair). Returns the
/// final registers.
fn matches_single_steps(prog: &[u32], budgets: u64) -> [u64; 16] {
    let mut regs = [0; 16];
    with_machine(0x10000, &[(0, prog), (0x8000, &BRANCH_DATA)], |sec, _| {
        let mut steps = hart();
        let mut total = 0;
        while !matches!(steps.step(sec), Exit::Breakpoint(_)) {
            total += 1;
        }
        let mut once = hart();
        assert!(matches!(once.run(sec, 10_000), Exit::Breakpoint(_)));
        for (r, v) in regs.iter_mut().enumerate().skip(1) {
            assert_eq!(once.reg(r), steps.reg(r), "x{r} at the end");
            *v = once.reg(r);
        }
        assert_eq!(once.csr(num::MINSTRET), Some(total));
        for n in (1..=budgets).chain(total - 3..=total) {
            let mut once = hart();
            let mut steps = hart();
            assert_eq!(once.run(sec, n), Exit::BudgetExhausted, "n = {n}");
            for _ in 0..n {
                assert_eq!(steps.step(sec), Exit::BudgetExhausted, "n = {n}");
            }
            for r in 1..16 {
                assert_eq!(once.reg(r), steps.reg(r), "x{r} after {n}");
            }
            assert_eq!(once.pc(), steps.pc(), "pc after {n}");
            assert_eq!(once.csr(num::MINSTRET), Some(n));
        }
    });
    regs
}

#[test]
// Two fresh harts for each of about 60 budgets: slow under Miri (as the tests above).
#[cfg_attr(miri, ignore)]
fn more_fused_pairs_match_single_steps_at_every_budget() {
    // `andi`+`sub`, `slli`+`srai` and `slli`+`bge`: each pair's two results, the branch
    // taken and not.
    let r = matches_single_steps(&MORE_PAIRS, 60);
    assert!((1..12).contains(&r[11]), "x11 = {}", r[11]);
    assert_ne!((r[12], r[13]), (0, 0));
}

#[test]
#[cfg_attr(miri, ignore)]
fn fused_loads_stores_and_branch_first_pairs_match_single_steps() {
    // Both loads and both stores of each pair, and each branch-first pair taken and not
    // (the counters moved, but not on every round).
    let r = matches_single_steps(&MEMORY_PAIRS, 70);
    assert_ne!(r[9], 0);
    assert!((1..12).contains(&r[11]), "x11 = {}", r[11]);
    assert_eq!(
        (r[10], r[15]),
        (BRANCH_DATA[11] as u64, BRANCH_DATA[11] as u64)
    );
    let mut with_end = BRANCH_PAIRS.to_vec();
    with_end.extend([bne(1, 3, -60), EBREAK]);
    let r = matches_single_steps(&with_end, 70);
    assert!((1..12).contains(&r[12]), "x12 = {}", r[12]);
    assert!((1..12).contains(&r[14]), "x14 = {}", r[14]);
    assert_eq!(r[13], BRANCH_DATA[4] as u64);
    assert_ne!((r[9], r[15]), (0, 0));
}

/// A byte-copy loop over `BRANCH_DATA` (each word's low byte to x7's bytes) with the
/// `addi`+`sb`+`bne` triple, its `bne` on the byte (taken when it is not 0, skipping a
/// counter), then two of the stored words read back.
const BYTE_LOOP: [u32; 13] = [
    li(3, 12),
    addi(7, 5, 0x200),
    lbu(6, 5, 0), // fused with the addi
    addi(5, 5, 4),
    addi(7, 7, 1), // fused with the sb and the bne: a triple
    sb(6, 7, -1),
    bne(6, 0, 8),
    addi(11, 11, 1),
    addi(1, 1, 1),
    bne(1, 3, -28), // to the lbu
    lw(12, 7, -12),
    lw(13, 7, -4),
    EBREAK,
];

#[test]
#[cfg_attr(miri, ignore)]
fn the_addi_sb_branch_triple_matches_single_steps() {
    // Each store, the branch taken and not (two bytes are 0), at every budget.
    let r = matches_single_steps(&BYTE_LOOP, 80);
    assert_eq!(r[11], 2);
    let bytes = |k: usize| {
        (0..4).fold(0u64, |w, j| {
            w | (BRANCH_DATA[k + j] as u8 as u64) << (8 * j)
        })
    };
    assert_eq!((r[12], r[13]), (bytes(0), bytes(8)));
}

#[test]
fn a_byte_loops_triple_stores_every_byte_and_takes_its_branch_both_ways() {
    // `BYTE_LOOP` in one run (under Miri too): the triple's store and branch halves.
    with_machine(
        0x10000,
        &[(0, &BYTE_LOOP), (0x8000, &BRANCH_DATA)],
        |sec, _| {
            let mut h = hart();
            assert!(matches!(h.run(sec, 1000), Exit::Breakpoint(_)));
            assert_eq!((h.reg(1), h.reg(11)), (12, 2));
            let bytes = |k: usize| {
                (0..4).fold(0u64, |w, j| {
                    w | (BRANCH_DATA[k + j] as u8 as u64) << (8 * j)
                })
            };
            assert_eq!((h.reg(12), h.reg(13)), (bytes(0), bytes(8)));
            assert_eq!(h.csr(num::MINSTRET), Some(2 + 12 * 7 + 2 + 2));
        },
    );
}

/// A CRC-like loop over `BRANCH_DATA` with the `srli`+`and`+`addi` and
/// `add`+`xor`+`bge` triples, the `bge` on the data word (taken when it is not negative,
/// skipping a counter).
const CRC_LOOP: [u32; 14] = [
    li(3, 12),
    li(13, 0x320),
    lw(6, 5, 0),
    i(1, 6, 5, 8, 0x13), // srli x8, x6, 1: fused with the and and the addi
    and(9, 8, 13),
    addi(14, 14, 1),
    add(10, 0, 9),        // mv x10, x9: fused with the xor and the bge
    op(0, 4, 11, 11, 10), // xor x11, x11, x10
    branch(5, 6, 0, 8),   // bge x6, x0
    addi(12, 12, 1),
    addi(5, 5, 4),
    addi(1, 1, 1),
    bne(1, 3, -40), // to the lw
    EBREAK,
];

#[test]
#[cfg_attr(miri, ignore)]
fn the_crc_triples_match_single_steps() {
    // Each triple's three results, the branch taken and not, at every budget.
    let r = matches_single_steps(&CRC_LOOP, 80);
    assert_eq!((r[12], r[14]), (3, 12));
    let mut x11 = 0u64;
    for &w in &BRANCH_DATA {
        x11 ^= (w as u64 >> 1) & 0x320;
    }
    assert_eq!(r[11], x11);
}

#[test]
fn the_crc_triples_run_in_a_block() {
    // `CRC_LOOP` in one run (under Miri too): each triple's halves.
    with_machine(
        0x10000,
        &[(0, &CRC_LOOP), (0x8000, &BRANCH_DATA)],
        |sec, _| {
            let mut h = hart();
            assert!(matches!(h.run(sec, 1000), Exit::Breakpoint(_)));
            assert_eq!((h.reg(1), h.reg(12), h.reg(14)), (12, 3, 12));
            let x11 = BRANCH_DATA
                .iter()
                .fold(0, |c, &w| c ^ (w as u64 >> 1) & 0x320);
            assert_eq!(h.reg(11), x11);
            assert_eq!(h.csr(num::MINSTRET), Some(2 + 12 * 10 + 3));
        },
    );
}

/// A running sum of `BRANCH_DATA` stored word by word with the `add`+`sw`+`bge` triple,
/// the `bge` on the sum (not taken while it is negative, counting), then the last two
/// stored words read back.
const SUM_LOOP: [u32; 14] = [
    li(3, 12),
    addi(7, 5, 0x200),
    lw(6, 5, 0), // fused with the addi
    addi(5, 5, 4),
    add(9, 9, 6), // fused with the sw and the bge: a triple
    sw(9, 7, 0),
    branch(5, 9, 0, 8), // bge x9, x0
    addi(11, 11, 1),
    addi(7, 7, 4),
    addi(1, 1, 1),
    bne(1, 3, -32), // to the lw
    lw(12, 7, -4),
    lw(13, 7, -8),
    EBREAK,
];

/// `SUM_LOOP`'s sums: the last, the one before, and how many were negative.
fn sums() -> (u64, u64, u64) {
    let (mut sum, mut last, mut negative) = (0u32, 0u32, 0);
    for &w in &BRANCH_DATA {
        last = sum;
        sum = sum.wrapping_add(w);
        negative += u64::from((sum as i32) < 0);
    }
    (sum as u64, last as u64, negative)
}

#[test]
#[cfg_attr(miri, ignore)]
fn the_add_sw_branch_triple_matches_single_steps() {
    // Each store, the branch taken and not, at every budget.
    let r = matches_single_steps(&SUM_LOOP, 80);
    let (sum, last, negative) = sums();
    assert_eq!((r[12], r[13], r[11]), (sum, last, negative));
    assert!((1..12).contains(&negative));
}

#[test]
fn the_add_sw_branch_triple_runs_in_a_block() {
    // `SUM_LOOP` in one run (under Miri too).
    with_machine(
        0x10000,
        &[(0, &SUM_LOOP), (0x8000, &BRANCH_DATA)],
        |sec, _| {
            let mut h = hart();
            assert!(matches!(h.run(sec, 1000), Exit::Breakpoint(_)));
            let (sum, last, negative) = sums();
            assert_eq!((h.reg(12), h.reg(13), h.reg(11)), (sum, last, negative));
        },
    );
}

#[test]
fn a_jump_into_the_middle_of_a_fused_pair_runs_its_second_half_only() {
    // `lw x6; addi x7, x7, 1` is a fused pair in the first block; the `jal` goes back to
    // the `addi` (a block of its own), twice: x7 counts one per pass, 3 in all.
    let prog = [
        li(3, 3),
        lw(6, 5, 0), // fused with the next
        addi(7, 7, 1),
        addi(1, 1, 1),
        beq(1, 3, 8),
        jal(0, -12), // to the `addi x7`
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog), (0x8000, &DATA)], |sec, _| {
        let mut h = hart();
        assert!(matches!(h.run(sec, 1000), Exit::Breakpoint(_)));
        assert_eq!((h.reg(1), h.reg(7)), (3, 3));
        assert_eq!(h.reg(6), DATA[0] as u64);
        assert_eq!(h.csr(num::MINSTRET), Some(1 + 5 + 4 + 3));
    });
}

#[test]
fn a_fused_lw_lw_loads_its_second_word_from_the_fast_view() {
    // `lw x6, 0(x5); lw x7, 4(x5)` fused, three rounds over `DATA` (x5 advancing a word
    // each): the second load of each round hits the TLB's fast view the first filled, so
    // it takes `then_load`'s fast path (run under Miri, unlike the budget tests).
    let prog = [
        li(3, 3),
        lw(6, 5, 0), // fused with the next
        lw(7, 5, 4),
        addi(5, 5, 4),
        addi(1, 1, 1),
        bne(1, 3, -16), // to the first `lw`
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog), (0x8000, &DATA)], |sec, _| {
        let mut h = hart();
        assert!(matches!(h.run(sec, 1000), Exit::Breakpoint(_)));
        assert_eq!((h.reg(6), h.reg(7)), (DATA[2] as u64, DATA[3] as u64));
        assert_eq!(h.reg(5), RAM_BASE + 0x8000 + 12);
        assert_eq!(h.csr(num::MINSTRET), Some(1 + 3 * 5));
    });
}

#[test]
fn a_fault_in_a_fused_pairs_first_half_leaves_the_second_undone() {
    // `lw x6, 0(x5)` from unmapped memory, fused with `addi x7, x7, 1`: the access fault
    // has the `lw`'s `pc`, and neither the load nor the `addi` happened.
    let prog = [csrw(num::MTVEC, 4), lw(6, 5, 0), addi(7, 7, 1), EBREAK];
    let handler = [EBREAK];
    with_machine(0x10000, &[(0, &prog), (0x100, &handler)], |sec, _| {
        let mut h = hart();
        h.set_reg(4, RAM_BASE + 0x100);
        h.set_reg(5, 0x40);
        h.set_reg(6, 0x66);
        assert_eq!(h.run(sec, 1000), Exit::Breakpoint(RAM_BASE + 0x100));
        assert_eq!(h.csr(num::MEPC), Some(RAM_BASE + 4));
        assert_eq!(h.csr(num::MCAUSE), Some(cause::LOAD_ACCESS));
        assert_eq!((h.reg(6), h.reg(7)), (0x66, 0));
        assert_eq!(h.csr(num::MINSTRET), Some(1));
    });
}

#[test]
fn a_fused_pairs_first_half_off_the_fast_path_still_runs_the_second() {
    // `lw x6, 0(x5)` from the MMIO registers ends the block after it (the load left the
    // TLB fast path); the `addi` it was fused with runs next, once. (The first instruction
    // of a run goes through the general path, which fills the fetch page's TLB entry: the
    // pair is the start of the first block.)
    let prog = [li(9, 1), lw(6, 5, 0), addi(7, 7, 1), addi(8, 8, 1), EBREAK];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = hart();
        h.set_reg(5, MMIO_BASE);
        h.set_reg(6, 0x66);
        assert!(matches!(h.run(sec, 1000), Exit::Breakpoint(_)));
        assert_eq!((h.reg(6), h.reg(7), h.reg(8)), (0, 1, 1));
        assert_eq!(h.csr(num::MINSTRET), Some(4));
    });
}

#[test]
fn a_misaligned_access_to_page_zero_in_a_block_faults() {
    // `lh x6, 1(x0)` and `sh x6, 1(x0)` inside a block: nothing is mapped at page 0, so
    // each raises an access fault, though the address's page and alignment bits (1) are
    // what an empty main TLB entry's tag holds (the fast view's empty tag differs). The
    // code is on RAM's second page, so that page 0's TLB slot stays empty.
    for (word, want) in [
        (load(1, 6, 0, 1), cause::LOAD_ACCESS),
        (store(1, 6, 0, 1), cause::STORE_ACCESS),
    ] {
        let prog = [csrw(num::MTVEC, 4), li(9, 1), word, EBREAK];
        let handler = [EBREAK];
        with_machine(0x10000, &[(0x1000, &prog), (0x1100, &handler)], |sec, _| {
            let mut h = hart();
            h.set_pc(RAM_BASE + 0x1000);
            h.set_reg(4, RAM_BASE + 0x1100);
            assert_eq!(h.run(sec, 1000), Exit::Breakpoint(RAM_BASE + 0x1100));
            assert_eq!(h.csr(num::MCAUSE), Some(want));
            assert_eq!(h.csr(num::MEPC), Some(RAM_BASE + 0x1008));
        });
    }
}
