//! The translating tier's unrolled loops (`x86::translate`: a loop of one block runs
//! several copies of its body between boundary checks) against the interpreter: a loop
//! whose jump to its start ends the block, and one whose jump to its start is in the
//! middle of a longer block (so a copy but the last runs fewer instructions than the
//! block), run in time slices of many sizes: after every slice both tiers stand at the
//! same `pc` with the same registers and `minstret` (the budget is met exactly, however
//! the copies and the slice end meet).
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::tier::Interp;
use fief_core::cpu::riscv::{csr, Exit, Xlen};
use fief_host::jit::Jit;
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc;

/// `A` (at 8): `t0 += 1; t1 += 2; t2 += 3` while `t0 != a0` (2000 times); then `B` (at
/// 32): `t3 += 1` while `t3 != a1`, then `t4 += 5; a1 += 3000` and through `C` back to
/// `B`, forever.
fn loops(xlen: Xlen) -> Machine {
    let (t0, t1, t2, t3, t4, a0, a1) = (5, 6, 7, 28, 29, 10, 11);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, 2000)); // 0
    w.push(rvenc::addi(t0, t0, 1)); // 8 = A
    w.push(rvenc::addi(t1, t1, 2)); // 12
    w.push(rvenc::addi(t2, t2, 3)); // 16
    w.push(rvenc::b(1, t0, a0, -12)); // 20: bne t0, a0, A
    w.extend(rvenc::li(a1, 3000)); // 24
    w.push(rvenc::addi(t3, t3, 1)); // 32 = B
    w.push(rvenc::b(1, t3, a1, -4)); // 36: bne t3, a1, B
    w.push(rvenc::addi(t4, t4, 5)); // 40
    w.push(rvenc::addi(a1, a1, 1500)); // 44
    w.push(rvenc::addi(a1, a1, 1500)); // 48
    w.push(rvenc::jal(0, 4)); // 52: j C
    w.push(rvenc::jal(0, -24)); // 56 = C: j B
    machine_of(xlen, &w)
}

/// A test machine of `xlen` running `words` from `RAM_BASE`.
fn machine_of(xlen: Xlen, words: &[u32]) -> Machine {
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    Machine::new(&image).unwrap()
}

#[test]
fn unrolled_loops_stop_exactly_at_every_budget() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let mut a = loops(xlen);
        let mut b = loops(xlen);
        let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
        let budgets = [1, 7, 16, 17, 33, 100, 1001, 5, 12_345, 2, 64, 65, 3000];
        let state = |m: &Machine| {
            (
                m.hart.pc(),
                [5, 6, 7, 28, 29, 10, 11].map(|r| m.hart.reg(r)),
                m.hart.csr(csr::num::MINSTRET).unwrap(),
            )
        };
        for k in 0..120 {
            let budget = budgets[k % budgets.len()];
            let ea = a.run_slice_with(budget, &mut Interp).unwrap();
            let eb = b.run_slice_with(budget, &mut jit).unwrap();
            assert_eq!(ea, Exit::BudgetExhausted);
            assert_eq!(eb, Exit::BudgetExhausted);
            assert_eq!(state(&b), state(&a), "{xlen:?} slice {k} of {budget}");
        }
        let st = jit.stats();
        assert!(a.hart.reg(29) > 50, "B's outer loop ran: {:?}", state(&a));
        // Both loops were unrolled, and ran in generated code.
        assert!(st.unrolled >= 2, "{xlen:?} {st:?}");
        assert!(st.retired > 100_000, "{xlen:?} {st:?}");
    }
}

/// `t0 += 1; t1 += 2; t2 += 3`, forever (one block, its `jal` back at its end).
fn endless(xlen: Xlen) -> Machine {
    let w = [
        rvenc::addi(5, 5, 1),
        rvenc::addi(6, 6, 2),
        rvenc::addi(7, 7, 3),
        rvenc::jal(0, -12),
    ];
    machine_of(xlen, &w)
}

#[test]
fn an_unrolled_loop_ending_slices_is_not_given_back() {
    // Slices of 111 instructions: each ends with less budget than the loop's room (16), where
    // the run loop calls the loop again; it runs its lone copy for as long as the
    // budget lasts (one call), not one copy per call (runs that end inside the block,
    // which would have it given back to the interpreter).
    let mut a = endless(Xlen::Rv32);
    let mut b = endless(Xlen::Rv32);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap();
    for _ in 0..400 {
        assert_eq!(
            a.run_slice_with(111, &mut Interp).unwrap(),
            Exit::BudgetExhausted
        );
        assert_eq!(
            b.run_slice_with(111, &mut jit).unwrap(),
            Exit::BudgetExhausted
        );
    }
    let st = jit.stats();
    assert_eq!(b.hart.pc(), a.hart.pc(), "{st:?}");
    assert_eq!(b.hart.reg(7), a.hart.reg(7), "{st:?}");
    assert_eq!(st.unrolled, 1, "{st:?}");
    assert_eq!(st.demoted, 0, "{st:?}");
    assert!(st.retired > 35_000, "{st:?}");
}
