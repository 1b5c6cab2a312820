//! The forms the translator emits for common instructions, against the interpreter: `x0`
//! as an operand is never read from the register file (`mv`, `li`, `nop`, branches
//! against zero), and a direct exit stores back only the registers its block wrote
//! before it; a load into a cached register goes straight to it. Each test compares the
//! size of two blocks' code that differ only where the form matters (the mechanism
//! removed, both are the same size, or for the load a measured bound apart) and checks
//! that both agree with the interpreter.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::{csr, Xlen};
use fief_host::jit::{Jit, JitStats};
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};

/// Runs `words` at `RAM_BASE` (a loop, each block translated at its first run) for
/// `budget` instructions under the interpreter and the tier, from registers `x1..x31` =
/// `init(r)`: both machines' registers, `pc` and `minstret` agree; the tier's stats.
fn run_both(xlen: Xlen, words: &[u32], budget: u64, init: impl Fn(usize) -> u64) -> JitStats {
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut a = Machine::new(&image).unwrap();
    let mut m = Machine::new(&image).unwrap();
    let mask = if xlen == Xlen::Rv32 {
        0xffff_ffff
    } else {
        u64::MAX
    };
    for r in 1..32 {
        a.hart.set_reg(r, init(r) & mask);
        m.hart.set_reg(r, init(r) & mask);
    }
    let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
    a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp)
        .unwrap();
    m.run_slice_with(budget, &mut jit).unwrap();
    let state = |m: &Machine| {
        (
            m.hart.pc(),
            (1..32).map(|r| m.hart.reg(r)).collect::<Vec<_>>(),
            m.hart.csr(csr::num::MINSTRET).unwrap(),
        )
    };
    assert_eq!(state(&m), state(&a), "{xlen:?} {words:x?}");
    let st = jit.stats();
    assert!(st.runs < 100, "{xlen:?} {st:?}");
    st
}

/// Registers start as small distinct values (`t4`, the loop's counter, at 0).
fn small(r: usize) -> u64 {
    if r == 29 {
        0
    } else {
        (r as u64) * 0x0101_0101 + 3
    }
}

/// A loop of one block using `zero[k]` where `x0` goes (`mv a0, a1` as `add a0, z, a1`,
/// `li a2, 5` as `addi a2, z, 5`, `beqz a3`, `bgtz a4`, `bltu z, a5`, then `nop`),
/// `t4` counting up to 1000. `a1`, `a3`, `a4`, `a5` and each `zero[k]` but `x0` are used
/// once each, so none of them is kept in a host register.
fn zero_loop(zero: [u32; 6]) -> Vec<u32> {
    let (a0, a1, a2, a3, a4, a5, s0, t4, t5) = (10, 11, 12, 13, 14, 15, 8, 29, 30);
    vec![
        rvenc::r(op::OP, 0, 0, a0, zero[0], a1), // mv a0, a1
        rvenc::addi(a2, zero[1], 5),             // li a2, 5
        rvenc::b(0, a3, zero[2], 28),            // beqz a3 (not taken)
        rvenc::b(4, zero[3], a4, 8),             // bgtz a4 (taken: over the next)
        rvenc::addi(s0, s0, 1),
        rvenc::b(6, zero[4], a5, 8), // bltu zero, a5 (taken)
        rvenc::addi(s0, s0, 1),
        rvenc::addi(0, zero[5], 0), // nop
        rvenc::addi(t4, t4, 1),
        rvenc::addi(t5, 0, 1000),
        rvenc::b(1, t4, t5, -40), // back to the start
        rvenc::EBREAK,
    ]
}

/// `x0` as an operand is never loaded from the register file: the loop of
/// [`zero_loop`] with `x0` takes less code than with six registers holding 0, each used
/// once (fails with `x0` read like any other register: the same size, a load with a
/// 32-bit displacement each); both agree with the interpreter.
#[test]
fn x0_as_an_operand_is_not_loaded() {
    let zeros = [31, 18, 19, 20, 21, 22];
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let init = |r| {
            if zeros.contains(&(r as u32)) {
                0
            } else {
                small(r)
            }
        };
        let x0 = run_both(xlen, &zero_loop([0; 6]), 5000, init);
        let regs = run_both(xlen, &zero_loop(zeros), 5000, init);
        assert_eq!(x0.translated, regs.translated, "{xlen:?}");
        assert!(
            x0.code_bytes < regs.code_bytes,
            "{xlen:?}: with x0 {} bytes, with registers {}",
            x0.code_bytes,
            regs.code_bytes
        );
    }
}

/// Branches against `x0` take the right way for values at the edges (0, 1, -1, the
/// most negative): each of `beq`/`bne`/`blt`/`bge`/`bltu`/`bgeu` with `x0` first and
/// second counts in its own register how often it was taken.
#[test]
fn branches_against_x0_agree_with_the_interpreter() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        for value in [0u64, 1, u64::MAX, 1 << 31, 1 << 63, 0x7fff_ffff] {
            let (v, t4) = (31, 29);
            let mut words = vec![];
            // Counters x5.. (t0 ..): one per branch form.
            let mut counter = 5;
            for f3 in [0, 1, 4, 5, 6, 7] {
                for x0_first in [false, true] {
                    let (rs1, rs2) = if x0_first { (0, v) } else { (v, 0) };
                    words.push(rvenc::b(f3, rs1, rs2, 8));
                    words.push(rvenc::jal(0, 8));
                    words.push(rvenc::addi(counter, counter, 1));
                    counter += 1;
                }
            }
            words.push(rvenc::addi(t4, t4, 1));
            words.push(rvenc::b(0, 0, 0, -(4 * words.len() as i32)));
            run_both(
                xlen,
                &words,
                3001,
                |r| if r == v as usize { value } else { 0 },
            );
        }
    }
}

/// `A` = `a1 = t4 & 1; beq a1, a2, B; a0 += 1; a0 += 1; j C` (the two writes before
/// the `andi` with `writes_first`), `B` = `C` = `t4 += 1; j A`, `a2` = 0: `A`'s `beq`
/// leaves every other run. With the writes after the branch, its exit stores back `a1`
/// alone; before it, `a0` too. Returns the size of the tier's code.
fn writes_around_a_branch(xlen: Xlen, writes_first: bool) -> u64 {
    let (a0, a1, a2, t4) = (10, 11, 12, 29);
    let writes = [rvenc::addi(a0, a0, 1), rvenc::addi(a0, a0, 1)];
    let at = if writes_first { 3 } else { 1 };
    let branch = [
        rvenc::i(op::OPIMM, 7, a1, t4, 1), // a1 = t4 & 1
        rvenc::b(0, a1, a2, 4 * (5 - at)), // to B
    ];
    // A block of its own first (the first instruction a machine runs may start a block
    // of its own: so `A` is the same block in both).
    let mut words = vec![rvenc::jal(0, 4)];
    if writes_first {
        words.extend(writes.iter().chain(&branch));
    } else {
        words.extend(branch.iter().chain(&writes));
    }
    words.extend([
        rvenc::jal(0, 12),      // to C
        rvenc::addi(t4, t4, 1), // B
        rvenc::jal(0, -24),
        rvenc::addi(t4, t4, 1), // C
        rvenc::jal(0, -32),
    ]);
    run_both(xlen, &words, 5000, |r| {
        if r == a2 as usize {
            0
        } else {
            small(r)
        }
    })
    .code_bytes
}

/// A direct exit stores back only the registers written before it
/// ([`writes_around_a_branch`]).
#[test]
fn an_exit_stores_back_only_registers_written_before_it() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let after = writes_around_a_branch(xlen, false);
        let before = writes_around_a_branch(xlen, true);
        assert!(
            after < before,
            "{xlen:?}: writes after the branch {after} bytes, before it {before}"
        );
    }
}

/// A loop of two blocks: the first `k` loads `lw d, 0(a0)` (`d` one of `dests`, in
/// turn), then `s0 += s2` three times (so `s0` is kept in a host register; `t0` and `t1`,
/// written once, are not) and `t4 += 1`, left for the second, `j` back, until `t4` is
/// 1000 (two blocks: one copy of each load, no unrolled loop). Returns the size of the
/// tier's code.
fn loads_into(xlen: Xlen, dests: &[u32]) -> u64 {
    let (a0, s0, s2, t4, t5) = (10, 8, 18, 29, 30);
    // A block of its own first (as in `writes_around_a_branch`), then the loop.
    let mut words = vec![rvenc::jal(0, 4)];
    words.extend(dests.iter().map(|&d| rvenc::i(op::LOAD, 2, d, a0, 0)));
    words.extend([
        rvenc::r(op::OP, 0, 0, s0, s0, s2),
        rvenc::r(op::OP, 0, 0, s0, s0, s2),
        rvenc::r(op::OP, 0, 0, s0, s0, s2),
        rvenc::addi(t4, t4, 1),
        rvenc::addi(t5, 0, 1000),
        rvenc::b(0, t4, t5, 8), // beq: out
        rvenc::jal(0, -4 * (dests.len() as i32 + 6)),
        rvenc::EBREAK,
    ]);
    run_both(xlen, &words, 5000, |r| {
        if r == a0 as usize {
            RAM_BASE
        } else {
            small(r)
        }
    })
    .code_bytes
}

/// A load whose destination is kept in a host register loads straight into it, not
/// through `rax` and a move ([`loads_into`]): a second load into the cached `s0` adds
/// less code than a second load into `t1` by more than the move would (measured: 35
/// bytes less with the direct load, 20 through `rax` and a move; the tier's code holds
/// each load more than once).
#[test]
fn a_load_into_a_cached_register_goes_straight_to_it() {
    let (s0, t0, t1) = (8, 5, 6);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let cached = loads_into(xlen, &[s0, s0]) - loads_into(xlen, &[s0]);
        let other = loads_into(xlen, &[t0, t1]) - loads_into(xlen, &[t0]);
        assert!(
            other >= cached + 28,
            "{xlen:?}: a second load into the cached register {cached} bytes, into another {other}"
        );
    }
}
