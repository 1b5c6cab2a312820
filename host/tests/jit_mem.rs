//! The translating tier's loads and stores beside the random differential
//! (`jit_diff.rs`): a loop whose two data pages share a slot of the TLB's fast view
//! (`TierCtx::fast_tlb`) but not an entry of the TLB set stays in generated code (the
//! entry's lookup behind a fast-view miss), with the interpreter's result.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::tier::{TLB_ENTRIES, TLB_FAST_BITS, TLB_FAST_ENTRIES, TLB_INDEX_BITS};
use fief_core::cpu::riscv::{Exit, Xlen};
use fief_host::jit::{ExitKind, Jit};
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};

/// The two data pages: the same fast-view slot, different TLB entries (asserted).
const PAGE_A: u64 = RAM_BASE + 0x20_0000;
const PAGE_B: u64 = RAM_BASE + 0x24_1000;

/// The fast view's slot and the set's entry of `va` (as `TierCtx` documents them).
fn slots(va: u64) -> (u64, u64) {
    let vpn = va >> 12;
    (
        (vpn ^ vpn >> TLB_FAST_BITS) % TLB_FAST_ENTRIES as u64,
        (vpn ^ vpn >> TLB_INDEX_BITS) % TLB_ENTRIES as u64,
    )
}

/// `a1 += *A + *B; *A += 1`, forever (one block that jumps to its own start).
fn two_page_loop() -> Machine {
    let mut w = Vec::new();
    w.extend(rvenc::li(10, PAGE_A as u32));
    w.extend(rvenc::li(12, PAGE_B as u32));
    // loop (RAM_BASE + 16):
    w.push(rvenc::i(op::LOAD, 2, 5, 10, 0)); // lw t0, 0(a0)
    w.push(rvenc::i(op::LOAD, 2, 6, 12, 0)); // lw t1, 0(a2)
    w.push(rvenc::r(op::OP, 0, 0, 11, 11, 5)); // add a1, a1, t0
    w.push(rvenc::r(op::OP, 0, 0, 11, 11, 6)); // add a1, a1, t1
    w.push(rvenc::addi(5, 5, 1));
    w.push(rvenc::s(op::STORE, 2, 10, 5, 0)); // sw t0, 0(a0)
    w.push(rvenc::jal(0, -24));
    let code: Vec<u8> = w.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: vec![
            (RAM_BASE, code.clone(), code.len() as u64),
            (PAGE_A, 5u32.to_le_bytes().to_vec(), 4),
            (PAGE_B, 7u32.to_le_bytes().to_vec(), 4),
        ],
    };
    Machine::new(&image).unwrap()
}

#[test]
fn a_miss_in_the_fast_view_that_the_tlb_entry_hits_stays_in_generated_code() {
    let (fa, ea) = slots(PAGE_A);
    let (fb, eb) = slots(PAGE_B);
    assert_eq!(fa, fb, "the pages must share a fast-view slot");
    assert_ne!(ea, eb, "the pages must have entries of their own");
    let mut a = two_page_loop();
    let mut b = two_page_loop();
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let budget = 100_000;
    let xa = a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp);
    let xb = b.run_slice_with(budget, &mut jit);
    assert_eq!(xa.unwrap(), Exit::BudgetExhausted);
    assert_eq!(xb.unwrap(), Exit::BudgetExhausted);
    let st = jit.stats();
    assert_eq!(b.hart.reg(11), a.hart.reg(11), "{st:?}");
    assert_eq!(
        b.read_mem(PAGE_A, 4).unwrap(),
        a.read_mem(PAGE_A, 4).unwrap()
    );
    assert!(a.hart.reg(5) > 10_000, "the loop ran");
    // Each page missed the TLB once (a refill also fills the fast view, where the two
    // pages then evict each other); then the loop ran chained in generated code.
    assert!(st.exits[ExitKind::TlbMiss as usize] <= 4, "{st:?}");
    assert!(st.runs < 100, "{st:?}");
}
