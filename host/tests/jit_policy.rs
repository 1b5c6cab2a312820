//! The translating tier's policy (which blocks it translates, and which it gives back),
//! split from `jit_diff.rs`: a block is translated only at its hot run
//! (`Jit::with_hot_runs`), a hot block whose runs in generated code mostly end inside it
//! is given back to the interpreter, one whose every run would is not translated at all,
//! and a translated block is judged though another `pc` of its heat-table set is counted
//! meanwhile (the table's second way); a hot block whose every successor was given back
//! is not translated either. Each against the interpreter's result.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::{csr, Exit, Xlen};
use fief_host::jit::Jit;
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};
use fief_tests::tier::run_both;

/// An `ebreak`, where the fixtures stop.
const EBREAK: u32 = 0x0010_0073;

/// A loop of two blocks run `k` times: `A` (`li t0, k; j B`), `B` (`addi t0, t0, -1; j
/// C`), `C` (`bne t0, x0, B`, then the `ebreak` at `RAM_BASE + 24` that stops the hart).
/// Neither loop block jumps to its own start, so the run loop offers each of them to the
/// tier once per iteration until they are translated and chained.
fn two_block_loop(k: u32) -> Machine {
    let mut w = Vec::new();
    w.extend(rvenc::li(5, k)); // 0: A
    w.push(rvenc::jal(0, 4)); // 8: j B
    w.push(rvenc::addi(5, 5, -1)); // 12: B
    w.push(rvenc::jal(0, 4)); // 16: j C
    w.push(rvenc::b(1, 5, 0, -8)); // 20: C: bne t0, x0, B
    w.push(EBREAK); // 24
    rv32_machine(&w)
}

#[test]
fn blocks_are_translated_only_at_their_hot_run() {
    let hot = 16;
    // Fewer runs than `hot`: the interpreter runs everything, nothing is translated.
    let mut m = two_block_loop(hot - 1);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(hot);
    let exit = m.run_slice_with(10_000, &mut jit).unwrap();
    let st = jit.stats();
    assert_eq!(exit, Exit::Breakpoint(RAM_BASE + 24), "{st:?}");
    assert_eq!(m.hart.reg(5), 0);
    assert_eq!((st.translated, st.runs), (0, 0), "{st:?}");
    assert_eq!(st.cold, 1 + 2 * (hot as u64 - 1), "{st:?}");

    // More: `B` and `C` are translated at their `hot`-th run and then run (chained) in
    // generated code; `A`, run once, never is. The result is the interpreter's.
    let k = 1000;
    let mut a = two_block_loop(k);
    let mut b = two_block_loop(k);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(hot);
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, 100_000),
        Exit::Breakpoint(RAM_BASE + 24)
    );
    let st = jit.stats();
    assert_eq!(b.hart.reg(5), 0);
    assert_eq!(
        b.hart.csr(csr::num::MINSTRET).unwrap(),
        a.hart.csr(csr::num::MINSTRET).unwrap()
    );
    assert_eq!(st.translated, 2, "{st:?}");
    assert_eq!(st.cold, 1 + 2 * (hot as u64 - 1), "{st:?}");
    assert!(st.runs >= 1 && st.runs < 10, "chained: {st:?}");

    // At the first run when asked (what the differential tests use): `A` too.
    let mut m = two_block_loop(hot - 1);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    m.run_slice_with(10_000, &mut jit).unwrap();
    let st = jit.stats();
    assert_eq!((st.translated, st.cold), (3, 0), "{st:?}");
}

/// A loop whose block `B` (`addi t2, t2, 3; addi t0, t0, -1`, with `branch` a `bne x0,
/// x0` that is never taken, `csrr t1, mscratch`) ends at a CSR instruction, which the tier
/// leaves to the interpreter, and `C` (`andn t4, t4, t4; bne t0, x0, B`), which the
/// translator declines (a bit-manipulation instruction before its last), jumps back to
/// it: so the run loop offers `B` at every iteration, and every run of `B` in generated
/// code returns inside `B`, at the CSR instruction. The `ebreak` at the returned address
/// stops the hart.
fn csr_loop(k: u32, branch: bool) -> (Machine, u64) {
    let mut w = Vec::new();
    w.extend(rvenc::li(5, k)); // 0: A
    w.push(rvenc::addi(7, 7, 3)); // 8: B
    w.push(rvenc::addi(5, 5, -1)); // 12
    if branch {
        w.push(rvenc::b(1, 0, 0, 8)); // bne x0, x0, +8: never taken
    }
    w.push(rvenc::csrr(6, csr::num::MSCRATCH));
    let c = 4 * w.len() as i32;
    w.push(rvenc::r(op::OP, 7, 0x20, 29, 29, 29)); // C: andn t4, t4, t4
    w.push(rvenc::b(1, 5, 0, 8 - (c + 4))); // bne t0, x0, B
    w.push(EBREAK);
    let end = RAM_BASE + 4 * (w.len() as u64 - 1);
    (rv32_machine(&w), end)
}

#[test]
fn hot_blocks_that_would_end_inside_themselves_are_not_translated() {
    // `B` without the branch: every run of it from the run loop would end at its CSR
    // instruction, so it is declined when hot instead of translated and given back.
    let (mut a, end) = csr_loop(1000, false);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(16);
    let e = a.run_slice_with(100_000, &mut jit);
    let st = jit.stats();
    assert_eq!(e.unwrap(), Exit::Breakpoint(end), "{st:?}");
    assert_eq!(a.hart.reg(7), 3000);
    assert_eq!((st.translated, st.runs, st.foreseen), (0, 0, 1), "{st:?}");
    assert!(st.offered < 100, "{st:?}");
}

#[test]
fn hot_blocks_whose_runs_are_short_go_back_to_the_interpreter() {
    let k = 1000;
    let (mut a, end) = csr_loop(k, true);
    let (mut b, _) = csr_loop(k, true);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(16);
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, 100_000),
        Exit::Breakpoint(end)
    );
    let st = jit.stats();
    for r in [5, 6, 7] {
        assert_eq!(b.hart.reg(r), a.hart.reg(r), "x{r} {st:?}");
    }
    assert_eq!(
        b.hart.csr(csr::num::MINSTRET).unwrap(),
        a.hart.csr(csr::num::MINSTRET).unwrap()
    );
    // `B` was translated, ran in generated code until judged, and was given back: far
    // fewer runs than the loop's iterations.
    assert!(st.translated >= 1, "{st:?}");
    assert!(st.demoted >= 1, "{st:?}");
    assert!(st.runs < 200, "{st:?}");
    // Then both loop blocks are declined for good (`C` by the translator, `B` given
    // back): the run loop stops offering them (`TierCtx::declined`), where it offered
    // both at every iteration before.
    assert!(st.offered < 300, "{st:?}");

    // With every block translated at once (`hot-runs=1`), nothing is given back.
    let (mut c, _) = csr_loop(k, true);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    c.run_slice_with(100_000, &mut jit).unwrap();
    let st = jit.stats();
    assert_eq!(c.hart.reg(7), a.hart.reg(7));
    assert_eq!(st.demoted, 0, "{st:?}");
    assert!(st.runs >= k as u64, "{st:?}");
}

/// `csr_loop`'s `B` (ending at a CSR instruction, so every run of it in generated code
/// ends inside it), and from its 21st iteration on a block `C` (`andn t4, t4, t4; jal
/// x0, B`, declined by the translator) at a `pc` whose heat-table set is `B`'s: so `C` is
/// counted in `B`'s set while `B`, translated at its 16th run, is being judged. Returns
/// the machine and the `ebreak`'s address.
fn colliding_loop(k: u32) -> (Machine, u64) {
    let b = RAM_BASE + 16;
    let c = (RAM_BASE + 0x1000..RAM_BASE + 0xf_0000)
        .step_by(4)
        .find(|&pc| Jit::heat_set(pc) == Jit::heat_set(b))
        .expect("a pc in B's heat set within a jal's reach");
    let mut w = Vec::new();
    w.extend(rvenc::li(5, k)); // 0: A
    w.extend(rvenc::li(9, k - 20)); // 8
    w.push(rvenc::addi(7, 7, 3)); // 16: B
    w.push(rvenc::addi(5, 5, -1)); // 20
    w.push(rvenc::b(1, 0, 0, 8)); // 24: bne x0, x0, +8: never taken
    w.push(rvenc::csrr(6, csr::num::MSCRATCH)); // 28
    w.push(rvenc::b(0, 5, 0, 16)); // 32: beq t0, x0, END
    w.push(rvenc::b(4, 5, 9, 8)); // 36: blt t0, s1, 44
    w.push(rvenc::jal(0, -24)); // 40: j B
    w.push(rvenc::jal(0, (c - (RAM_BASE + 44)) as i32)); // 44: j C
    w.push(EBREAK); // 48: END
    let far = [
        rvenc::r(op::OP, 7, 0x20, 29, 29, 29), // C: andn t4, t4, t4
        rvenc::jal(0, (b as i64 - (c as i64 + 4)) as i32), // j B
    ];
    let bytes = |ws: &[u32]| -> Vec<u8> { ws.iter().flat_map(|w| w.to_le_bytes()).collect() };
    let (near, far) = (bytes(&w), bytes(&far));
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: vec![
            (RAM_BASE, near.clone(), near.len() as u64),
            (c, far.clone(), far.len() as u64),
        ],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    (m, RAM_BASE + 48)
}

#[test]
fn a_translated_block_is_judged_though_another_pc_of_its_heat_set_is_counted() {
    // Without a second way, `C`'s count takes `B`'s entry and its judging state with it:
    // `B` is never judged and runs in generated code at every iteration.
    let k = 1000;
    let (mut a, end) = colliding_loop(k);
    let (mut b, _) = colliding_loop(k);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(16);
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, 100_000),
        Exit::Breakpoint(end)
    );
    let st = jit.stats();
    for r in [5, 6, 7, 9] {
        assert_eq!(b.hart.reg(r), a.hart.reg(r), "x{r} {st:?}");
    }
    assert_eq!(a.hart.reg(7), 3 * k as u64);
    // `C` was counted (cold) and declined by the translator when hot; `B` was judged on
    // its 32 runs and given back, so it ran in generated code far fewer times than the
    // loop's iterations (with one way: at every one, about 1,000 runs).
    assert!(st.declined >= 1, "{st:?}");
    assert!(st.demoted >= 1, "{st:?}");
    assert!(st.runs < 200, "{st:?}");
}

/// Two phases over `csr_loop`'s block `B` (`addi t2, t2, 3; addi t0, t0, -1; bne x0,
/// x0` never taken; `csrr t1, mscratch`: translated, then given back, as every run of it
/// ends at its CSR instruction). Phase 1 runs `B` `k1` times; phase 2 runs `A` (`addi t3,
/// t3, 1; j B`, whose one successor is `B`) and `B` `k2` times. `D` and `E` (each with an
/// `andn`, which the translator declines, as it does the block after `E`'s `fence.i`) steer: back to `B` while `t0 > 0`, then to `A`
/// while `t4 >= 0`, then to the `ebreak`; with `fence`, `E` runs a `fence.i` (a new code
/// epoch: `B`'s jump-cache entry goes stale, and as a given-back block it is not offered
/// again to make a new one). Returns the machine and the `ebreak`'s address.
fn dead_end_loop(k1: u32, k2: u32, fence: bool) -> (Machine, u64) {
    let (t0, t1, t2, t3, t4, t5) = (5, 6, 7, 28, 29, 30);
    let andn = rvenc::r(op::OP, 7, 0x20, t5, t5, t5);
    let mut w = Vec::new();
    w.extend(rvenc::li(t0, k1)); // 0
    w.extend(rvenc::li(t4, k2)); // 8
    w.push(rvenc::jal(0, 12)); // 16: j B
    w.push(rvenc::addi(t3, t3, 1)); // 20: A
    w.push(rvenc::jal(0, 4)); // 24: j B
    w.push(rvenc::addi(t2, t2, 3)); // 28: B
    w.push(rvenc::addi(t0, t0, -1)); // 32
    w.push(rvenc::b(1, 0, 0, 8)); // 36: bne x0, x0, +8: never taken
    w.push(rvenc::csrr(t1, csr::num::MSCRATCH)); // 40
    w.push(andn); // 44: D
    w.push(rvenc::b(4, 0, t0, -20)); // 48: blt x0, t0, B
    w.push(andn); // 52: E
    w.push(if fence {
        rvenc::i(op::MISC_MEM, 1, 0, 0, 0) // 56: fence.i
    } else {
        andn
    });
    w.push(andn); // 60
    w.push(rvenc::addi(t4, t4, -1)); // 64
    w.push(rvenc::b(5, t4, 0, -48)); // 68: bge t4, x0, A
    w.push(EBREAK); // 72
    (rv32_machine(&w), RAM_BASE + 72)
}

#[test]
fn hot_blocks_whose_every_successor_was_given_back_are_not_translated() {
    let (k1, k2) = (100, 100);
    for fence in [true, false] {
        let (mut a, end) = dead_end_loop(k1, k2, fence);
        let (mut b, _) = dead_end_loop(k1, k2, fence);
        let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(16);
        assert_eq!(
            run_both(&mut a, &mut b, &mut jit, 100_000),
            Exit::Breakpoint(end)
        );
        let st = jit.stats();
        for r in [5, 6, 7, 28, 29] {
            assert_eq!(b.hart.reg(r), a.hart.reg(r), "x{r} {st:?}");
        }
        assert_eq!(a.hart.reg(28), k2 as u64);
        assert_eq!(
            b.hart.csr(csr::num::MINSTRET).unwrap(),
            a.hart.csr(csr::num::MINSTRET).unwrap()
        );
        // `B` was translated and given back in phase 1 (16 + 32 runs).
        assert_eq!(st.demoted, 1, "fence {fence}: {st:?}");
        if fence {
            // `A`, hot in phase 2, is not translated: its one successor was given back
            // and has no current jump-cache entry. (Translated, `A` would run 32 times
            // in generated code, every run ending at `B`'s stale entry, and be given
            // back in turn.)
            assert_eq!((st.dead_ends, st.translated), (1, 1), "{st:?}");
            assert!(st.runs <= 40, "{st:?}");
        } else {
            // In one code epoch `B`'s entry stays current: `A` is translated and chains
            // into `B`'s code at every run, so its runs are not short and it stays.
            assert_eq!((st.dead_ends, st.translated), (0, 2), "{st:?}");
            assert!(st.runs >= 100, "{st:?}");
        }
    }
}

/// An RV32 test machine running `words` from `RAM_BASE`, stopped by `ebreak`.
fn rv32_machine(words: &[u32]) -> Machine {
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}
