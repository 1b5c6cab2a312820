//! The translating tier's loads and stores beside the random differential
//! (`jit_diff.rs`): a loop whose two data pages share a slot of the TLB's fast view
//! (`TierCtx::fast_tlb`) but not an entry of the TLB set stays in generated code (the
//! entry's lookup behind a fast-view miss), with the interpreter's result; a store from
//! generated code into a code line whose code-line filter bit another code line shares
//! (the tag behind the bit then matches every line) leaves to the interpreter, which
//! starts a code epoch, so the patched code runs; a copy loop's loads and stores hit
//! their memos (`x86::mem`), a store's memo is not made for a guest line whose other
//! host line holds code, and two loads through one base register outside a loop share
//! a memo where two through different registers do not; a pointer chased on one page,
//! and a ring over 63 pages of distinct slots by the documented index, stay in the fast
//! view; behind a load's memo miss the fast view takes the memo compare's mask; a store
//! to a page whose fast-view entry got its write tag before a block on the page was
//! checked still leaves to the interpreter (the tag was taken off), and a store that
//! hits the fast view makes no code-line check.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::tier::{TLB_ENTRIES, TLB_FAST_BITS, TLB_FAST_ENTRIES, TLB_INDEX_BITS};
use fief_core::cpu::riscv::{Exit, Xlen};
use fief_host::jit::{ExitKind, Jit};
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};
use fief_tests::tier::run_both;

/// The two data pages: the same fast-view slot, different TLB entries (asserted).
const PAGE_A: u64 = RAM_BASE + 0x20_0000;
const PAGE_B: u64 = RAM_BASE + 0x27_f000;

/// The fast view's slot and the set's entry of `va` (as `TierCtx` documents them).
fn slots(va: u64) -> (u64, u64) {
    let vpn = va >> 12;
    (
        (vpn + (vpn >> TLB_FAST_BITS)) % TLB_FAST_ENTRIES as u64,
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
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let budget = 100_000;
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, budget),
        Exit::BudgetExhausted
    );
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

/// A list of one node at `PAGE_B` that points to itself, chased forever: `a0 =
/// *a0; t0 += 1` (the load's base register is its result, so it takes the fast view
/// inline, without a memo). Generated code finds the page in the fast view's slot the
/// TLB filled (fails with the slot's index computed otherwise: every load misses it and
/// looks up the TLB entry).
#[test]
fn a_chased_pointer_finds_its_page_in_the_fast_view() {
    let (a0, t0) = (10u32, 5u32);
    let machine = || {
        let mut w = Vec::new();
        w.extend(rvenc::li(a0, PAGE_B as u32));
        w.push(rvenc::i(op::LOAD, 2, a0, a0, 0)); // lw a0, 0(a0)
        w.push(rvenc::addi(t0, t0, 1));
        w.push(rvenc::jal(0, -8));
        let code: Vec<u8> = w.iter().flat_map(|w| w.to_le_bytes()).collect();
        let image = Image {
            xlen: Xlen::Rv32,
            entry: RAM_BASE,
            segments: vec![
                (RAM_BASE, code.clone(), code.len() as u64),
                (PAGE_B, (PAGE_B as u32).to_le_bytes().to_vec(), 4),
            ],
        };
        Machine::new(&image).unwrap()
    };
    let (mut a, mut b) = (machine(), machine());
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let budget = 100_000;
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, budget),
        Exit::BudgetExhausted
    );
    let st = jit.stats();
    assert_eq!(
        [
            b.hart.pc(),
            b.hart.reg(a0 as usize),
            b.hart.reg(t0 as usize)
        ],
        [
            a.hart.pc(),
            a.hart.reg(a0 as usize),
            a.hart.reg(t0 as usize)
        ],
        "{st:?}"
    );
    assert!(a.hart.reg(t0 as usize) > 10_000, "the loop ran");
    assert!(st.runs < 100, "{st:?}");
    assert!(st.fast_misses <= 4, "{st:?}");
}

/// A ring of 63 nodes, one in each 64-page region of RAM but the first, at the page
/// of the region whose fast-view slot by the documented index ([`slots`], as
/// `TierCtx::fast_tlb` says) is the node's number, chased forever: `a0 = *a0; t0 += 1`.
/// After the first lap every load hits the fast view. Fails when the TLB or generated
/// code computes the slot otherwise: with the XOR fold before round 12 (`vpn ^ vpn >>
/// 6`) in both, the 63 pages take 35 slots and evict each other on every lap; with the
/// page number alone, 51.
#[test]
fn a_ring_over_pages_of_distinct_fast_view_slots_stays_in_the_fast_view() {
    let n = TLB_FAST_ENTRIES as u64 - 1;
    let pages: Vec<u64> = (0..n)
        .map(|i| {
            let region = (RAM_BASE >> 18) + 1 + i * 11 % n;
            let low = i.wrapping_sub(region) % TLB_FAST_ENTRIES as u64;
            (region << 6 | low) << 12
        })
        .collect();
    for (i, &page) in pages.iter().enumerate() {
        assert_eq!(slots(page).0, i as u64, "{page:#x}");
    }
    let (a0, t0) = (10u32, 5u32);
    let machine = || {
        let mut w = Vec::new();
        w.extend(rvenc::li(a0, pages[0] as u32));
        w.push(rvenc::i(op::LOAD, 2, a0, a0, 0)); // lw a0, 0(a0)
        w.push(rvenc::addi(t0, t0, 1));
        w.push(rvenc::jal(0, -8));
        let code: Vec<u8> = w.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut segments = vec![(RAM_BASE, code.clone(), code.len() as u64)];
        for (i, &page) in pages.iter().enumerate() {
            let next = pages[(i + 1) % pages.len()] as u32;
            segments.push((page, next.to_le_bytes().to_vec(), 4));
        }
        let image = Image {
            xlen: Xlen::Rv32,
            entry: RAM_BASE,
            segments,
        };
        Machine::new(&image).unwrap()
    };
    let (mut a, mut b) = (machine(), machine());
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let budget = 100_000;
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, budget),
        Exit::BudgetExhausted
    );
    let st = jit.stats();
    assert_eq!(
        [b.hart.reg(a0 as usize), b.hart.reg(t0 as usize)],
        [a.hart.reg(a0 as usize), a.hart.reg(t0 as usize)],
        "{st:?}"
    );
    assert!(
        a.hart.reg(t0 as usize) > 100 * n,
        "the ring was chased many laps"
    );
    assert!(st.fast_misses <= n + 8, "{st:?}");
}

/// Pass 1 calls `FAR` and `T` (two code lines 64 KiB apart: one filter bit, so its tag
/// matches every line), then stores `addi t0, t0, 100` over `T`'s first instruction
/// from a translated block; pass 2 calls `T` again. `t0` ends at 1 + 100 when the
/// store left to the interpreter (a new code epoch), at 2 if `T`'s old code ran again.
fn shared_bit_patch() -> Machine {
    const T: u64 = RAM_BASE + 64;
    const FAR: u64 = RAM_BASE + 0x1_0040;
    let (t0, t1, t2, ra, a0, a2) = (5, 6, 7, 1, 10, 12);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, T as u32)); // 0
    w.extend(rvenc::li(a2, rvenc::addi(t0, t0, 100))); // 8
    w.push(rvenc::s(op::STORE, 2, a0, 0, 0x7c0)); // 16: the page's write entry, no code
    w.push(rvenc::addi(t2, 0, 0)); // 20
    w.push(rvenc::jal(ra, (FAR - RAM_BASE) as i32 - 24)); // 24 = P: call FAR
    w.push(rvenc::jal(ra, 64 - 28)); // 28: call T
    w.push(rvenc::b(1, t2, 0, 20)); // 32: bne t2, x0, END
    w.push(rvenc::s(op::STORE, 2, a0, a2, 0)); // 36: sw a2, 0(a0)
    w.push(rvenc::addi(t2, 0, 1)); // 40
    w.push(rvenc::jal(0, -20)); // 44: j P
    w.extend([EBREAK; 4]); // 48; 52 = END
    w.push(rvenc::addi(t0, t0, 1)); // 64 = T
    w.push(rvenc::jalr(0, ra, 0));
    let far = [rvenc::addi(t1, t1, 1), rvenc::jalr(0, ra, 0)];
    let bytes = |w: &[u32]| -> Vec<u8> { w.iter().flat_map(|w| w.to_le_bytes()).collect() };
    let (code, far) = (bytes(&w), bytes(&far));
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: vec![
            (RAM_BASE, code.clone(), code.len() as u64),
            (FAR, far.clone(), far.len() as u64),
        ],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}

/// `ebreak`.
const EBREAK: u32 = 0x0010_0073;

#[test]
fn a_store_to_code_behind_a_shared_filter_bit_leaves_generated_code() {
    let mut a = shared_bit_patch();
    let mut b = shared_bit_patch();
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let end = RAM_BASE + 52;
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, 10_000),
        Exit::Breakpoint(end)
    );
    assert_eq!(a.hart.reg(5), 101, "the interpreter");
    let st = jit.stats();
    assert_eq!(b.hart.reg(5), 101, "{st:?}");
    // The patching store was made in generated code up to its tag check.
    assert_eq!(st.exits[ExitKind::CodeLine as usize], 1, "{st:?}");
}

/// The copy loop's source and destination, and how many bytes it copies.
const SRC: u64 = RAM_BASE + 0x20_0000;
const DST: u64 = RAM_BASE + 0x21_0000;
const COPY: u64 = 2048;

/// `lbu t1, 0(a0); sb t1, 0(a1); a0 += 1; a1 += 1` while `a1 != a2`, then `ebreak` (at
/// `RAM_BASE + 52`): `n` bytes from `src` to `dst`, after a call of `call` (0: none)
/// and before another.
fn copy_loop(src: u64, dst: u64, n: u64, call: u64) -> Vec<u32> {
    let (a0, a1, a2, t1, ra) = (10, 11, 12, 6, 1);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, src as u32)); // 0
    w.extend(rvenc::li(a1, dst as u32)); // 8
    w.extend(rvenc::li(a2, (dst + n) as u32)); // 16
    if call != 0 {
        w.push(rvenc::jal(ra, (call - RAM_BASE) as i32 - 24)); // 24
    } else {
        w.push(rvenc::addi(0, 0, 0));
    }
    w.push(rvenc::i(op::LOAD, 4, t1, a0, 0)); // 28: lbu t1, 0(a0)
    w.push(rvenc::s(op::STORE, 0, a1, t1, 0)); // 32: sb t1, 0(a1)
    w.push(rvenc::addi(a0, a0, 1)); // 36
    w.push(rvenc::addi(a1, a1, 1)); // 40
    w.push(rvenc::b(1, a1, a2, -16)); // 44: bne a1, a2, 28
    if call != 0 {
        w.push(rvenc::jal(ra, (call - RAM_BASE) as i32 - 48)); // 48
    } else {
        w.push(rvenc::addi(0, 0, 0));
    }
    w.push(EBREAK); // 52
    w
}

/// A machine running `code` at `RAM_BASE` with `extra` segments.
fn machine(code: &[u32], extra: Vec<(u64, Vec<u8>, u64)>) -> Machine {
    let mut m = Machine::new(&Image::rv32_code(code, extra)).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}

#[test]
fn a_copy_loops_loads_and_stores_hit_their_memos() {
    let data: Vec<u8> = (0..COPY).map(|i| (i * 7 + 3) as u8).collect();
    let code = copy_loop(SRC, DST, COPY, 0);
    let seg = vec![(SRC, data.clone(), COPY)];
    let mut a = machine(&code, seg.clone());
    let mut b = machine(&code, seg);
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let end = Exit::Breakpoint(RAM_BASE + 52);
    assert_eq!(run_both(&mut a, &mut b, &mut jit, 100_000), end);
    let st = jit.stats();
    assert_eq!(a.read_mem(DST, COPY as usize).unwrap(), data);
    assert_eq!(b.read_mem(DST, COPY as usize).unwrap(), data, "{st:?}");
    assert!(
        st.retired > 4 * COPY,
        "the loop ran in generated code: {st:?}"
    );
    // 2048 loads from one page and 2048 stores to another: a lookup for each page (a
    // few more for the loop's first runs), not one per access, nor one per line of
    // the stores (32: a store's memo covers its page, made from a fast-view hit).
    assert!(st.lookups >= 1 && st.lookups <= 8, "{st:?}");
}

/// `T`: `addi t0, t0, 1; ret` in the last 8 bytes of the 64-byte guest line `LINE`.
const LINE: u64 = RAM_BASE + 0x1000;
const T: u64 = LINE + 56;

#[test]
fn a_stores_memo_is_not_made_for_a_guest_line_whose_other_host_line_holds_code() {
    // Pass 1 calls T (checked: its host line's filter bit is set); the copy loop then
    // writes LINE[0..60] from its first byte on, the last four bytes being `addi t0,
    // t0, 100` over T's first instruction; pass 2 calls T again: t0 = 1 + 100 when the
    // store reaching T's host line left to the interpreter (a new code epoch), 2 if
    // T's old code ran again. Where RAM's host addend is not a multiple of 64, LINE's
    // first byte and T lie on two host lines: a memo made at the first store for the
    // whole guest line would let the patching stores through unchecked.
    let mut data = vec![0u8; 56];
    data.extend(rvenc::addi(5, 5, 100).to_le_bytes());
    let code = copy_loop(SRC, LINE, 60, T);
    let t: Vec<u8> = [rvenc::addi(5, 5, 1), rvenc::jalr(0, 1, 0)]
        .iter()
        .flat_map(|w| w.to_le_bytes())
        .collect();
    let seg = vec![(SRC, data, 60), (T, t, 8)];
    let mut a = machine(&code, seg.clone());
    let mut b = machine(&code, seg);
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let end = Exit::Breakpoint(RAM_BASE + 52);
    assert_eq!(run_both(&mut a, &mut b, &mut jit, 10_000), end);
    assert_eq!(a.hart.reg(5), 101, "the interpreter");
    let st = jit.stats();
    assert_eq!(b.hart.reg(5), 101, "{st:?}");
    assert!(st.exits[ExitKind::CodeLine as usize] >= 1, "{st:?}");
}

/// The code bytes of `lw t0, 0(a0); lw t1, 4(rs1)` (with `a0` and `rs1` pointing at
/// `SRC`) translated on its first run, then `ebreak`, and `t1`'s value.
fn two_loads_code(rs1: u32) -> (u64, u64) {
    let mut w = Vec::new();
    w.extend(rvenc::li(10, SRC as u32));
    w.extend(rvenc::li(12, SRC as u32));
    w.push(rvenc::i(op::LOAD, 2, 5, 10, 0)); // lw t0, 0(a0)
    w.push(rvenc::i(op::LOAD, 2, 6, rs1, 4)); // lw t1, 4(rs1)
    w.push(rvenc::EBREAK);
    let data: Vec<u8> = (0..8u8).collect();
    let mut m = machine(&w, vec![(SRC, data, 8)]);
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    let end = m.run_slice_with(1000, &mut jit).unwrap();
    assert_eq!(end, Exit::Breakpoint(RAM_BASE + 24));
    (jit.stats().code_bytes, m.hart.reg(6))
}

#[test]
fn two_loads_through_one_base_register_share_a_memo_and_through_two_do_not() {
    // `x86::mem::memo_sites`: two loads through `a0` with no write to it between them
    // are a group (the memo's code at both); through `a0` and `a2`, each takes the
    // fast view alone. Same instructions otherwise.
    let (group, t1) = two_loads_code(10);
    let (apart, t1_apart) = two_loads_code(12);
    assert_eq!((t1, t1_apart), (0x0706_0504, 0x0706_0504));
    assert!(
        group > apart + 16,
        "the group's memo code: {group} bytes against {apart}"
    );
}

/// A loop of one block: loads `lw d, 0(b)` for each `(d, b)` of `loads` (`a0` and `a1`
/// both the address of a data word), `t4 += 1` up to 1000. Returns the size of the
/// tier's code.
fn loads_through(loads: &[(u32, u32)]) -> u64 {
    let (a0, a1, t4, t5) = (10u32, 11u32, 29u32, 30u32);
    // A block of its own first, then the loop.
    let mut w = vec![rvenc::jal(0, 4)];
    w.extend(loads.iter().map(|&(d, b)| rvenc::i(op::LOAD, 2, d, b, 0)));
    w.extend([rvenc::addi(t4, t4, 1), rvenc::addi(t5, 0, 1000)]);
    w.push(rvenc::b(1, t4, t5, -4 * (loads.len() as i32 + 2)));
    w.push(rvenc::EBREAK);
    let mut m = machine(&w, vec![(PAGE_A, 5u32.to_le_bytes().to_vec(), 4)]);
    m.hart.set_reg(a0 as usize, PAGE_A);
    m.hart.set_reg(a1 as usize, PAGE_A);
    let mut jit = Jit::new(Xlen::Rv32, 4)
        .unwrap()
        .with_hot_runs(1)
        .with_ram_window(false);
    m.run_slice_with(20_000, &mut jit).unwrap();
    let st = jit.stats();
    assert_eq!(m.hart.reg(t4 as usize), 1000, "{st:?}");
    st.code_bytes
}

/// Behind a load's memo miss the fast view takes the page and alignment bits the memo's
/// compare masked (`x86::mem::cold`), not masking them again: a third load through the
/// memo's base register (`a0`, a loop's: its memo compared first, the fast view behind a
/// miss) adds less code beside a load through a base of its own (`a1`: the fast view
/// inline) than it would with the mask made again (measured: 124 bytes more with the
/// mask reused, 144 with it made again, the loop's copies each holding the load; the
/// test asks for at most 134).
#[test]
fn a_loads_memo_miss_reuses_the_memo_compares_mask() {
    let (a0, a1, t0, t1, t2) = (10, 11, 5, 6, 7);
    let memo =
        loads_through(&[(t0, a0), (t1, a0), (t2, a0)]) - loads_through(&[(t0, a0), (t1, a0)]);
    let own = loads_through(&[(t0, a0), (t1, a0), (t2, a1)]) - loads_through(&[(t0, a0), (t1, a0)]);
    assert!(
        memo <= own + 134,
        "through the memo's base {memo} bytes, its own {own}"
    );
}

/// `F`: `addi t0, t0, 1; ret`, on a page of its own 8 KiB past the program's (so its
/// host page shares no code-page filter bit with the program's, aligned or not).
const F: u64 = RAM_BASE + 0x2000;

/// Stores `sw x0, 0x100(a0)` to `F`'s page while it holds no checked code (the fast
/// view's entry gets a write tag), calls `F` (checked: its page's code-page bit is set), then
/// stores `addi t0, t0, 100` over `F`'s first instruction from a translated block and
/// calls `F` again. `t0` ends at 1 + 100 when the patching store left to the
/// interpreter (a new code epoch), at 2 if `F`'s old code ran again.
fn fast_entry_patch() -> Machine {
    let (t0, t2, ra, a0, a2) = (5, 7, 1, 10, 12);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, F as u32)); // 0
    w.extend(rvenc::li(a2, rvenc::addi(t0, t0, 100))); // 8
    w.push(rvenc::s(op::STORE, 2, a0, 0, 0x100)); // 16: F's page, a write tag
    w.push(rvenc::addi(t2, 0, 0)); // 20
    w.push(rvenc::jalr(ra, a0, 0)); // 24 = P: call F
    w.push(rvenc::b(1, t2, 0, 16)); // 28: bne t2, x0, END
    w.push(rvenc::s(op::STORE, 2, a0, a2, 0)); // 32: sw a2, 0(a0)
    w.push(rvenc::addi(t2, 0, 1)); // 36
    w.push(rvenc::jal(0, -16)); // 40: j P
    w.push(EBREAK); // 44 = END
    let f = [rvenc::addi(t0, t0, 1), rvenc::jalr(0, ra, 0)];
    let f: Vec<u8> = f.iter().flat_map(|w| w.to_le_bytes()).collect();
    machine(&w, vec![(F, f, 8)])
}

#[test]
fn a_store_through_a_fast_entry_filled_before_its_page_held_code_leaves_generated_code() {
    // The fast view's write tag for F's page is taken off when F is checked (`block`'s
    // docs, "Pages that may hold code"): the patching store, which makes no code-line
    // check after a fast-view hit, misses there and checks through the TLB entry.
    let mut a = fast_entry_patch();
    let mut b = fast_entry_patch();
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let end = Exit::Breakpoint(RAM_BASE + 44);
    assert_eq!(run_both(&mut a, &mut b, &mut jit, 10_000), end);
    assert_eq!(a.hart.reg(5), 101, "the interpreter");
    let st = jit.stats();
    assert_eq!(b.hart.reg(5), 101, "{st:?}");
    assert_eq!(st.exits[ExitKind::CodeLine as usize], 1, "{st:?}");
}

#[test]
fn a_store_that_hits_the_fast_view_makes_no_code_line_check() {
    // A loop of stores to a page with no code (`sw t0, 0(a0)` with `a0` stepping over
    // 4 KiB, so that the store has no memo made once and hit after): each hits the fast
    // view and makes no code-line check (`JitStats::line_checks`), which only a store
    // through the TLB entry makes; with a check after every hit it counted one a store.
    // (`DATA` is on a page of its own, far from the code's.)
    const DATA: u64 = RAM_BASE + 0x20_8000;
    let (t0, a0, a1) = (5, 10, 11);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, DATA as u32)); // 0
    w.extend(rvenc::li(a1, (DATA + 4096) as u32)); // 8
    w.push(rvenc::s(op::STORE, 2, a0, t0, 0)); // 16: sw t0, 0(a0)
    w.push(rvenc::i(op::LOAD, 2, t0, a0, 0)); // 20: lw t0, 0(a0): a0 read again
    w.push(rvenc::r(op::OP, 0, 0, a0, a0, a1)); // 24: add a0, a0, a1 (not a small step)
    w.push(rvenc::r(op::OP, 0, 0x20, a0, a0, a1)); // 28: sub a0, a0, a1
    w.push(rvenc::addi(t0, t0, 1)); // 32
    w.push(rvenc::b(1, t0, 0, -20)); // 36: bne t0, x0, 16
    let mut a = machine(&w, vec![(DATA, vec![0; 4], 4)]);
    let mut b = machine(&w, vec![(DATA, vec![0; 4], 4)]);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    assert_eq!(
        run_both(&mut a, &mut b, &mut jit, 10_000),
        Exit::BudgetExhausted
    );
    let st = jit.stats();
    assert_eq!(b.read_mem(DATA, 4).unwrap(), a.read_mem(DATA, 4).unwrap());
    assert_eq!(b.hart.reg(t0 as usize), a.hart.reg(t0 as usize), "{st:?}");
    assert!(st.retired > 5_000, "the loop ran in generated code: {st:?}");
    assert!(st.line_checks <= 4, "{st:?}");
}
