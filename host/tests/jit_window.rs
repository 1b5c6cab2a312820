//! Loads through the RAM window (`TierCtx::window_lo`) against the interpreter: M-mode
//! loads take it past the TLB (a loop over more pages than the fast view holds makes no
//! TLB lookup), a locked PMP entry that denies M-mode reads keeps it off its page, and
//! loads made at S level through `mstatus.MPRV` are translated, never windowed.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::{csr, Exit, Xlen};
use fief_host::jit::{ExitKind, Jit, JitStats};
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};
use fief_tests::tier::run_both;

/// Where the fixtures' data pages start.
const DATA: u64 = RAM_BASE + 0x10_0000;

/// Pages [`stride_loop`] loads from: twice the fast view's entries.
const PAGES: u64 = 128;

/// A machine running `code` at `RAM_BASE` with `extra` segments, stopping at `ebreak`.
fn machine(code: &[u32], extra: Vec<(u64, Vec<u8>, u64)>) -> Machine {
    let mut m = Machine::new(&Image::rv32_code(code, extra)).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}

/// `t2 += *(DATA + 4096 k)` for each of [`PAGES`] pages (one block that jumps to its own
/// start, striding a page per run), then `ebreak` at `RAM_BASE + 40`; page `k` holds
/// `k * 3 + 1`.
fn stride_loop() -> Machine {
    let (a0, a1, t1, t2, t3) = (10, 11, 6, 7, 28);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, DATA as u32));
    w.extend(rvenc::li(a1, (DATA + PAGES * 4096) as u32));
    w.extend(rvenc::li(t3, 4096));
    w.push(rvenc::i(op::LOAD, 2, t1, a0, 0)); // lw t1, 0(a0)
    w.push(rvenc::r(op::OP, 0, 0, t2, t2, t1));
    w.push(rvenc::r(op::OP, 0, 0, a0, a0, t3));
    w.push(rvenc::b(1, a0, a1, -12));
    w.push(rvenc::EBREAK);
    let data = (0..PAGES)
        .map(|k| {
            (
                DATA + 4096 * k,
                ((k * 3 + 1) as u32).to_le_bytes().to_vec(),
                4,
            )
        })
        .collect();
    machine(&w, data)
}

/// Runs [`stride_loop`] under the interpreter and under `jit`: both end at the
/// `ebreak` with the same sum; the tier's stats.
fn stride(mut jit: Jit) -> JitStats {
    let (mut a, mut b) = (stride_loop(), stride_loop());
    let end = Exit::Breakpoint(RAM_BASE + 40);
    assert_eq!(run_both(&mut a, &mut b, &mut jit, 100_000), end);
    let st = jit.stats();
    let sum: u64 = (0..PAGES).map(|k| k * 3 + 1).sum();
    assert_eq!(a.hart.reg(7), sum);
    assert_eq!(b.hart.reg(7), sum, "{st:?}");
    st
}

/// M-mode loads through the RAM window make no TLB lookup: the loop over 128 pages
/// leaves generated code for no TLB miss and misses the fast view never (fails with
/// the window never taken: one miss per page, as without it).
#[test]
fn m_mode_loads_take_the_ram_window_past_the_tlb() {
    let with = stride(Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1));
    assert_eq!(with.exits[ExitKind::TlbMiss as usize], 0, "{with:?}");
    assert_eq!(with.fast_misses, 0, "{with:?}");
    assert!(with.runs < 10, "{with:?}");
    let without = stride(
        Jit::new(Xlen::Rv32, 4)
            .unwrap()
            .with_hot_runs(1)
            .with_ram_window(false),
    );
    assert!(
        without.exits[ExitKind::TlbMiss as usize] >= PAGES - 8,
        "{without:?}"
    );
}

/// A locked PMP entry (NAPOT, 4 KiB, no permission) over page `DATA`, written after the
/// first instructions ran (so a window over all RAM was made before), then `lw t1,
/// 0(a0)` from it in a loop of one block: an access fault at the load in both tiers, to
/// `mtvec`'s `ebreak` (fails with the window kept over the PMP write, or made without
/// asking PMP: the tier reads the page).
#[test]
fn a_locked_pmp_entry_keeps_the_ram_window_off_its_page() {
    let (a0, t0, t1, t2) = (10, 5, 6, 7);
    let trap = RAM_BASE + 0x800;
    let code = || {
        let mut w = Vec::new();
        // Some loads first, through the window made at the first fill.
        w.extend(rvenc::li(a0, (DATA + 0x2_0000) as u32));
        w.push(rvenc::i(op::LOAD, 2, t1, a0, 0));
        w.extend(rvenc::li(t0, trap as u32));
        w.push(rvenc::csrw(csr::num::MTVEC, t0));
        w.extend(rvenc::li(t0, ((DATA >> 2) | 0x1ff) as u32));
        w.push(rvenc::csrw(csr::num::PMPADDR0, t0));
        w.push(rvenc::addi(t0, 0, 0x98)); // L, NAPOT, no R/W/X
        w.push(rvenc::csrw(csr::num::PMPCFG0, t0));
        w.extend(rvenc::li(a0, DATA as u32));
        // loop: t2 += 1; lw t1, 0(a0); j loop
        w.push(rvenc::addi(t2, t2, 1));
        w.push(rvenc::i(op::LOAD, 2, t1, a0, 0));
        w.push(rvenc::jal(0, -8));
        let mut m = machine(
            &w,
            vec![
                (trap, rvenc::EBREAK.to_le_bytes().to_vec(), 4),
                (DATA, 77u32.to_le_bytes().to_vec(), 4),
            ],
        );
        m.hart.set_debug_ebreak(true);
        m
    };
    let (mut a, mut b) = (code(), code());
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let end = Exit::Breakpoint(trap);
    assert_eq!(run_both(&mut a, &mut b, &mut jit, 10_000), end);
    for m in [&a, &b] {
        assert_eq!(
            m.hart.csr(csr::num::MCAUSE).unwrap(),
            5,
            "a load access fault"
        );
        assert_eq!(m.hart.reg(t1 as usize), 0);
    }
    assert_eq!(
        b.hart.csr(csr::num::MEPC).unwrap(),
        a.hart.csr(csr::num::MEPC).unwrap()
    );
}

/// M-mode code with `mstatus.MPRV` set and `MPP` = S, under Sv32 with the megapage at
/// `V` = `RAM_BASE + 4 MiB` mapped to `RAM_BASE + 8 MiB`: a loop of one block adding
/// `*V` to `t2` reads the mapped page (11 each time), not `V`'s own RAM (5), in both
/// tiers (fails with the window given to a tier while data accesses are made at S
/// level: the window covers `V`).
#[test]
fn loads_made_at_s_level_through_mprv_are_translated_not_windowed() {
    let (a0, t0, t2) = (10, 5, 7);
    let v = RAM_BASE + 0x40_0000;
    let p = RAM_BASE + 0x80_0000;
    let root = RAM_BASE + 0x1_0000;
    // A megapage leaf: V, R, W, A, D.
    let pte = ((p >> 12) << 10) as u32 | 0x1 | 0x2 | 0x4 | 0x40 | 0x80;
    let code = || {
        let mut w = Vec::new();
        // A first load at M level (through the window).
        w.extend(rvenc::li(a0, v as u32));
        w.push(rvenc::i(op::LOAD, 2, t2, a0, 0));
        // PMP: everything for S and U (no entry would deny them every access).
        w.push(rvenc::addi(t0, 0, -1));
        w.push(rvenc::csrw(csr::num::PMPADDR0, t0));
        w.push(rvenc::addi(t0, 0, 0x1f)); // NAPOT, R/W/X
        w.push(rvenc::csrw(csr::num::PMPCFG0, t0));
        w.extend(rvenc::li(t0, (1 << 31) | (root >> 12) as u32));
        w.push(rvenc::csrw(csr::num::SATP, t0));
        // mstatus: MPRV (bit 17), MPP = S (bits 11-12 = 01).
        w.extend(rvenc::li(t0, (1 << 17) | (1 << 11)));
        w.push(rvenc::csr(2, 0, t0, csr::num::MSTATUS)); // csrrs x0, mstatus, t0
                                                         // loop: t1 = *V; t2 += t1; j loop
        w.push(rvenc::i(op::LOAD, 2, 6, a0, 0));
        w.push(rvenc::r(op::OP, 0, 0, t2, t2, 6));
        w.push(rvenc::jal(0, -8));
        let vpn1 = v >> 22;
        machine(
            &w,
            vec![
                (root + 4 * vpn1, pte.to_le_bytes().to_vec(), 4),
                (v, 5u32.to_le_bytes().to_vec(), 4),
                (p, 11u32.to_le_bytes().to_vec(), 4),
            ],
        )
    };
    let (mut a, mut b) = (code(), code());
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let budget = 3001;
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, budget),
        Exit::BudgetExhausted
    );
    let loops = a.hart.reg(t2 as usize).wrapping_sub(5) / 11;
    assert!(loops > 500, "{}", a.hart.reg(t2 as usize));
    assert_eq!(a.hart.reg(t2 as usize), 5 + 11 * loops);
    assert_eq!(
        b.hart.reg(t2 as usize),
        a.hart.reg(t2 as usize),
        "{:?}",
        jit.stats()
    );
    assert!(jit.stats().runs < 100, "{:?}", jit.stats());
}

/// A ring of 8 nodes on 8 pages (`DATA + 4096 k`: the next node's address, then `k`),
/// chased by two blocks: `A` = `a1 = a0->k; a0 = a0->next; j B` (two loads through one
/// base register outside a loop, which share a memo of its page without the window),
/// `B` = `t0 += a1; j A`. With the RAM window both loads take it: no memo is looked up
/// (fails with the memos kept: a lookup each time the ring moves to another page).
#[test]
fn loads_outside_loops_take_the_ram_window_not_a_memo() {
    let (a0, a1, t0) = (10, 11, 5);
    let ring = || {
        let mut w = Vec::new();
        w.extend(rvenc::li(a0, DATA as u32));
        w.push(rvenc::i(op::LOAD, 2, a1, a0, 4)); // A: lw a1, 4(a0)
        w.push(rvenc::i(op::LOAD, 2, a0, a0, 0)); // lw a0, 0(a0)
        w.push(rvenc::jal(0, 4));
        w.push(rvenc::r(op::OP, 0, 0, t0, t0, a1)); // B
        w.push(rvenc::jal(0, -16));
        let nodes = (0..8u64)
            .map(|k| {
                let next = DATA + 4096 * ((k + 1) % 8);
                let mut bytes = (next as u32).to_le_bytes().to_vec();
                bytes.extend((k as u32).to_le_bytes());
                (DATA + 4096 * k, bytes, 8)
            })
            .collect();
        machine(&w, nodes)
    };
    let (mut a, mut b) = (ring(), ring());
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let budget = 10_001;
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, budget),
        Exit::BudgetExhausted
    );
    let st = jit.stats();
    for r in [a0, a1, t0] {
        assert_eq!(b.hart.reg(r as usize), a.hart.reg(r as usize), "{st:?}");
    }
    assert!(a.hart.reg(t0 as usize) > 1000, "the ring ran");
    assert!(st.runs < 100, "{st:?}");
    assert_eq!(st.lookups, 0, "{st:?}");
}
