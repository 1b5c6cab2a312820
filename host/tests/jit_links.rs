//! Links between translated blocks against the interpreter: blocks linked to each other stop
//! exactly at the budget (the prologue's limit); warm entries (a link into a block that
//! caches the same guest registers in the same host registers skips their loads, and loads
//! those it lacks); registers a block writes before reading them are neither loaded at
//! entry nor stored or named by an exit taken before the write; `jalr` without an offset
//! and `jal`/`jalr` without a link register emit no needless work; forward exits make no
//! interrupt check, and a ring of blocks still takes an interrupt at its exit back and
//! sees a DMA write over its code. Split from `jit_diff.rs` (random blocks, chaining,
//! epochs and the tier's policy).
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use fief_core::cpu::riscv::{csr, irq, Exit, Hart, Xlen};
use fief_core::memory::{
    AccessSize, GuestAddress, MemTxAttrs, MemTxResult, MmioOps, Priority, RamBlock, RegionOffset,
    RegionSize, SpaceId,
};
use fief_host::jit::{ExitKind, Jit, JitStats};
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};
use fief_tests::TestMemory;

/// An `ebreak`, where the fixtures stop.
const EBREAK: u32 = 0x0010_0073;

/// Where [`ring_machine`]'s interrupts go: an `ebreak`.
const TRAP: u64 = RAM_BASE + 0x1000;

/// Two blocks that jump to each other (`A`: `t0 += 1; t1 += 2; j B`, `B`: `t2 += 3; t3
/// += t0; j A`): every exit is a direct one through a link slot, whose budget test is
/// one compare with the limit the prologue computes (`ctx.left - BLOCK_INSNS`, 0 when
/// less is left). Run for budgets around the block size, it stops where the interpreter
/// does (fails with the limit not saturating at 0: budgets below 16 overrun; and with
/// the limit not taking the next block's room off: budgets 17 and up overrun).
#[test]
fn blocks_linked_to_each_other_stop_exactly_at_the_budget() {
    let (t0, t1, t2, t3) = (5, 6, 7, 28);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let words = [
            rvenc::addi(t0, t0, 1),
            rvenc::addi(t1, t1, 2),
            rvenc::jal(0, 12),
            EBREAK,
            EBREAK,
            rvenc::addi(t2, t2, 3),
            rvenc::r(op::OP, 0, 0, t3, t3, t0), // add t3, t3, t0
            rvenc::jal(0, -28),
        ];
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let image = Image {
            xlen,
            entry: RAM_BASE,
            segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
        };
        for budget in [
            1, 2, 3, 5, 7, 15, 16, 17, 18, 19, 31, 33, 100, 1001, 12_345, 100_000,
        ] {
            let mut a = Machine::new(&image).unwrap();
            let mut b = Machine::new(&image).unwrap();
            let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
            let ea = a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp);
            let eb = b.run_slice_with(budget, &mut jit);
            assert_eq!(ea.unwrap(), Exit::BudgetExhausted);
            assert_eq!(eb.unwrap(), Exit::BudgetExhausted);
            let state = |m: &Machine| {
                (
                    m.hart.pc(),
                    [t0, t1, t2, t3].map(|r| m.hart.reg(r as usize)),
                    m.hart.csr(csr::num::MINSTRET).unwrap(),
                )
            };
            assert_eq!(state(&b), state(&a), "{xlen:?} budget {budget}");
            if budget == 100_000 {
                // Chained through the links, ending at their budget test.
                let st = jit.stats();
                assert!(st.runs < 1000, "{st:?}");
                assert!(st.links >= 2, "{st:?}");
                assert!(st.exits[ExitKind::Budget as usize] > 0, "{xlen:?} {st:?}");
            }
        }
    }
}

/// `P` (`t2 = 1000`) then the blocks `A` and `B` jumping to each other forever, `A`
/// being `t0 += 1; t1 += t0; j B` (it caches `t0` and `t1`) and `B` given by `b` then
/// `j A`, run for `budget` instructions under the interpreter and the tier (every block
/// translated at once): both machines' `t0` to `t2` and `t4`, `pc` and `minstret`
/// agree; the tier's stats.
fn two_linked_blocks(xlen: Xlen, b: &[u32], budget: u64) -> JitStats {
    let (t0, t1, t2, t4) = (5, 6, 7, 29);
    let mut words = vec![
        rvenc::addi(t2, 0, 1000),
        rvenc::addi(t0, t0, 1), // A
        rvenc::r(op::OP, 0, 0, t1, t1, t0),
        rvenc::jal(0, 8),
        EBREAK,
    ];
    words.extend_from_slice(b); // B
    words.push(rvenc::jal(0, -16 - 4 * b.len() as i32));
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut a = Machine::new(&image).unwrap();
    let mut m = Machine::new(&image).unwrap();
    let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
    assert_eq!(
        a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp)
            .unwrap(),
        Exit::BudgetExhausted
    );
    assert_eq!(
        m.run_slice_with(budget, &mut jit).unwrap(),
        Exit::BudgetExhausted
    );
    let state = |m: &Machine| {
        (
            m.hart.pc(),
            [t0, t1, t2, t4].map(|r| m.hart.reg(r as usize)),
            m.hart.csr(csr::num::MINSTRET).unwrap(),
        )
    };
    assert_eq!(state(&m), state(&a), "{xlen:?}");
    jit.stats()
}

/// `B` = `t1 += 3; t0 += t1` caches the same registers as `A` in the same host registers
/// (`x86::regs`: each in its home register), so each links to the other's warm entry,
/// past the loads of its cached registers (fails with every link made to the chain
/// entry: no warm links).
#[test]
fn linked_blocks_caching_the_same_registers_skip_their_loads() {
    let (t0, t1) = (5, 6);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let b = [rvenc::addi(t1, t1, 3), rvenc::r(op::OP, 0, 0, t0, t0, t1)];
        let st = two_linked_blocks(xlen, &b, 100_000);
        assert!(st.runs < 1000, "{st:?}");
        assert_eq!(st.warm_links, 2, "{xlen:?} {st:?}");
    }
}

/// `B` = `t2 += 3; t0 += t2` caches `t0` and `t2`, `A` `t0` and `t1`, each in its home
/// host register: neither holds all the other's registers, so each links to the entry
/// past the loads the two share (`t0`'s) and loads the rest (fails with the maps not
/// compared: `B` reads `t2` from a host register `A` never loaded; and with the entry
/// one load further on).
#[test]
fn linked_blocks_caching_other_registers_load_those_they_lack() {
    let (t0, t2) = (5, 7);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let b = [rvenc::addi(t2, t2, 3), rvenc::r(op::OP, 0, 0, t0, t0, t2)];
        let st = two_linked_blocks(xlen, &b, 100_000);
        assert!(st.runs < 1000, "{st:?}");
        assert_eq!(st.warm_links, 2, "{xlen:?} {st:?}");
    }
}

/// `B` = `t4 += 1; bne t0, t2, <j A>; t4 += t1; t4 += t1` uses `t1` twice, both past
/// its branch (which leaves the block almost every time): `t1` is not kept in a host
/// register (loaded at the chain entry for uses the block mostly leaves before) but read
/// where it is used, so `B`'s code is as large as with the two uses reading two other
/// registers, `t5` and `t6`, once each (fails with every use counting the same: `t1` is
/// cached, one load at the chain entry and two register-register additions).
#[test]
fn a_register_used_only_past_a_branch_is_read_where_it_is_used() {
    let (t0, t1, t2, t4, t5, t6) = (5, 6, 7, 29, 30, 31);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let b = |x: u32, y: u32| {
            [
                rvenc::addi(t4, t4, 1),
                rvenc::b(1, t0, t2, 12),
                rvenc::r(op::OP, 0, 0, t4, t4, x),
                rvenc::r(op::OP, 0, 0, t4, t4, y),
            ]
        };
        let twice = two_linked_blocks(xlen, &b(t1, t1), 100_000);
        let two = two_linked_blocks(xlen, &b(t5, t6), 100_000);
        assert!(twice.runs < 1000, "{twice:?}");
        assert_eq!(twice.translated, two.translated, "{xlen:?}");
        assert_eq!(
            twice.code_bytes, two.code_bytes,
            "{xlen:?}: {twice:?} {two:?}"
        );
    }
}

/// `P` (`t2 = 1000`), then three blocks in a ring, each translated at once:
/// `A` = `t3 = t0 & 1; t0 += 1; bne t3, x0, B; <first>; t1 += t2` three times; `j B`,
/// `B` = `t2 += t0; t1 += t2; j C`, `C` = `a2 += 1; a3 += a2; j A`, run for `budget`
/// instructions under the interpreter and the tier: both machines' registers, `pc` and
/// `minstret` agree; the tier's stats. With `first` = `t2 = 7`, `A` writes `t2` before
/// reading it; every other run of `A` leaves by its `bne` before that write. `t2`'s home
/// host register (`x86::regs`) is `a2`'s, which `C` caches and writes.
fn ring_writing_first(xlen: Xlen, first: u32, budget: u64) -> JitStats {
    let (t0, t1, t2, t3, a2, a3) = (5, 6, 7, 28, 12, 13);
    let words = [
        rvenc::addi(t2, 0, 1000),
        rvenc::i(op::OPIMM, 7, t3, t0, 1), // A
        rvenc::addi(t0, t0, 1),
        rvenc::b(1, t3, 0, 24),
        first,
        rvenc::r(op::OP, 0, 0, t1, t1, t2),
        rvenc::r(op::OP, 0, 0, t1, t1, t2),
        rvenc::r(op::OP, 0, 0, t1, t1, t2),
        rvenc::jal(0, 4),
        rvenc::r(op::OP, 0, 0, t2, t2, t0), // B
        rvenc::r(op::OP, 0, 0, t1, t1, t2),
        rvenc::jal(0, 4),
        rvenc::addi(a2, a2, 1), // C
        rvenc::r(op::OP, 0, 0, a3, a3, a2),
        rvenc::jal(0, -52),
    ];
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut a = Machine::new(&image).unwrap();
    let mut m = Machine::new(&image).unwrap();
    let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
    assert_eq!(
        a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp)
            .unwrap(),
        Exit::BudgetExhausted
    );
    assert_eq!(
        m.run_slice_with(budget, &mut jit).unwrap(),
        Exit::BudgetExhausted
    );
    let state = |m: &Machine| {
        (
            m.hart.pc(),
            [t0, t1, t2, t3, a2, a3].map(|r| m.hart.reg(r as usize)),
            m.hart.csr(csr::num::MINSTRET).unwrap(),
        )
    };
    assert_eq!(state(&m), state(&a), "{xlen:?} budget {budget}");
    jit.stats()
}

/// A block that writes a cached register before reading it does not load it at its
/// chain entry: `A` with `t2 = 0` (`ori t2, x0, 0`: one `xor` of a host register with
/// itself, 2 or 3 bytes) is smaller than with `t2 = t2` (`ori t2, t2, 0`: no code, but
/// a read, so a load of 7 bytes at the chain entry; fails with every cached register
/// loaded: larger by the `xor`). (With `t2 = 7` against `t2 += 7` the forms' own sizes
/// decided it once `li` became a move of an immediate.)
#[test]
fn a_register_written_before_it_is_read_is_not_loaded() {
    let t2 = 7;
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let fresh = ring_writing_first(xlen, rvenc::i(op::OPIMM, 6, t2, 0, 0), 100_000);
        let loaded = ring_writing_first(xlen, rvenc::i(op::OPIMM, 6, t2, t2, 0), 100_000);
        assert_eq!(fresh.translated, loaded.translated, "{xlen:?}");
        assert!(fresh.runs < 1000, "{fresh:?}");
        assert!(
            fresh.code_bytes < loaded.code_bytes,
            "{xlen:?}: {fresh:?} {loaded:?}"
        );
    }
}

/// `A`'s `bne` leaves before `t2`'s first write, its host register still holding `C`'s
/// `a2`: that exit neither stores it back as `t2` nor names it in the map its link
/// compares, so `B` loads `t2` (fails with the register stored back there: `t2` gets
/// `a2`'s value; and with the exit's map naming it: `B` enters past `t2`'s load).
#[test]
fn an_exit_before_a_registers_first_write_neither_stores_nor_names_it() {
    let t2 = 7;
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        for budget in [100_000, 100_003, 100_007] {
            let st = ring_writing_first(xlen, rvenc::addi(t2, 0, 7), budget);
            assert!(st.runs < 1000, "{st:?}");
            assert!(st.warm_links >= 1, "{xlen:?} {st:?}");
        }
    }
}

/// `P` = `t0 = pc + 20; t1 = t0; a0 = t0 - 8; j A`, then the block `A` at `P + 20` =
/// `t2 += 1; t3 += t0; t2 ^= t0; jalr x0, rs1, imm` (back to `A` for `t0` or `t1`
/// with `imm` = 0, `a0` with 8), `t0` cached in `A`, `t1` and `a0` not; run for
/// 10 000 instructions under the interpreter and the tier (every block translated at
/// once): both agree; the size of the tier's code.
fn jalr_loop(xlen: Xlen, rs1: u32, imm: i32) -> u64 {
    let (t0, t1, t2, t3, a0) = (5, 6, 7, 28, 10);
    let words = [
        rvenc::u(op::AUIPC, t0, 0),
        rvenc::addi(t0, t0, 20),
        rvenc::addi(t1, t0, 0),
        rvenc::addi(a0, t0, -8),
        rvenc::jal(0, 4),
        rvenc::addi(t2, t2, 1), // A
        rvenc::r(op::OP, 0, 0, t3, t3, t0),
        rvenc::r(op::OP, 4, 0, t2, t2, t0),
        rvenc::jalr(0, rs1, imm),
    ];
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut a = Machine::new(&image).unwrap();
    let mut m = Machine::new(&image).unwrap();
    let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
    let budget = 10_000;
    a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp)
        .unwrap();
    m.run_slice_with(budget, &mut jit).unwrap();
    let state = |m: &Machine| {
        (
            m.hart.pc(),
            [t0, t1, t2, t3, a0].map(|r| m.hart.reg(r as usize)),
            m.hart.csr(csr::num::MINSTRET).unwrap(),
        )
    };
    assert_eq!(state(&m), state(&a), "{xlen:?} rs1 {rs1} imm {imm}");
    let st = jit.stats();
    assert!(st.runs < 100, "{st:?}");
    st.code_bytes
}

/// A `jalr` with `imm` = 0 (`ret`, `jr`) adds nothing to `rs1`: from the register file
/// its code is smaller than with `imm` = 8 (fails with an `add` of 0: the same size),
/// from a cached `rs1` no larger than from the register file (fails with an `add` of 0
/// there: larger by the `add`).
#[test]
fn a_jalr_without_an_offset_adds_none() {
    let (t0, t1, a0) = (5, 6, 10);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let eight = jalr_loop(xlen, a0, 8);
        let (cached, loaded) = (jalr_loop(xlen, t0, 0), jalr_loop(xlen, t1, 0));
        assert!(
            cached <= loaded,
            "{xlen:?}: cached {cached}, loaded {loaded}"
        );
        assert!(loaded < eight, "{xlen:?}: loaded {loaded}, imm 8 {eight}");
    }
}

/// A `jal` whose `rd` is `x0` (a `j`) writes no link address (to the slot that absorbs
/// writes to `x0`, which nothing reads): its block's code is smaller than the same
/// block's with a link register (fails with the link address written: both the same
/// size, a store with a 32-bit displacement each); both agree with the interpreter.
#[test]
fn a_jump_without_a_link_register_writes_no_link_address() {
    let (t0, t5) = (5, 30);
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let code_bytes = |rd: u32| {
            let words = [rvenc::addi(t0, t0, 1), rvenc::jal(rd, -4)];
            let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            let image = Image {
                xlen,
                entry: RAM_BASE,
                segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
            };
            let mut a = Machine::new(&image).unwrap();
            let mut m = Machine::new(&image).unwrap();
            let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
            a.run_slice_with(1000, &mut fief_core::cpu::riscv::tier::Interp)
                .unwrap();
            m.run_slice_with(1000, &mut jit).unwrap();
            let state = |m: &Machine| {
                (
                    m.hart.pc(),
                    m.hart.reg(t0 as usize),
                    m.hart.reg(t5 as usize),
                )
            };
            assert_eq!(state(&m), state(&a), "{xlen:?} rd {rd}");
            // The same blocks translated for either `rd`.
            let st = jit.stats();
            assert!(st.translated >= 1, "{st:?}");
            (st.translated, st.code_bytes)
        };
        let (j, jal) = (code_bytes(0), code_bytes(t5));
        assert_eq!(j.0, jal.0, "{xlen:?}");
        assert!(j.1 < jal.1, "{xlen:?}: j {j:?}, jal t5 {jal:?}");
    }
}

/// `setup`, a `j` to `A`, then three blocks `A`, `B`, `C` (`t0 += 1`, `t1 += 1`, `t2 +=
/// 1`, each then a `j`) in a ring A -> B -> C -> A, each of 8 bytes, `at[k]` bytes past
/// the `j` and 4 (`k` 0 to 2 for `A` to `C`): the words.
fn ring(setup: &[u32], at: [u32; 3]) -> Vec<u32> {
    let (t0, t1, t2) = (5, 6, 7);
    let base = 4 * setup.len() as i32;
    let start = |k: usize| base + 4 + at[k] as i32;
    let mut words = setup.to_vec();
    words.push(rvenc::jal(0, start(0) - base));
    let end = base + 4 + 8 * 3;
    words.resize(end as usize / 4, EBREAK);
    for (k, r) in [t0, t1, t2].into_iter().enumerate() {
        let i = start(k) as usize / 4;
        words[i] = rvenc::addi(r, r, 1);
        words[i + 1] = rvenc::jal(0, start((k + 1) % 3) - start(k) - 4);
    }
    words
}

/// The ring of [`ring`] with `A`, `B`, `C` laid out in that order (its exits forward,
/// forward, back to `A`) or as `A`, `C`, `B` (forward to `C`, back to `B`, back to
/// `A`), run for 10 000 instructions under the interpreter and the tier (every block
/// translated at once): both agree; the tier's code size and blocks translated.
fn ring_code_bytes(xlen: Xlen, in_order: bool) -> (u64, u64) {
    let at = if in_order { [0, 8, 16] } else { [0, 16, 8] };
    let words = ring(&[], at);
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut a = Machine::new(&image).unwrap();
    let mut m = Machine::new(&image).unwrap();
    let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
    a.run_slice_with(10_000, &mut fief_core::cpu::riscv::tier::Interp)
        .unwrap();
    m.run_slice_with(10_000, &mut jit).unwrap();
    let state = |m: &Machine| {
        (
            m.hart.pc(),
            [5, 6, 7].map(|r| m.hart.reg(r)),
            m.hart.csr(csr::num::MINSTRET).unwrap(),
        )
    };
    assert_eq!(state(&m), state(&a), "{xlen:?} in order {in_order}");
    let st = jit.stats();
    assert!(st.runs < 100, "{st:?}");
    (st.code_bytes, st.translated)
}

/// A direct exit forward (to a block starting above its own block's start) makes the
/// same boundary checks as one back (`x86::exits`, `Exits::to`: one test of the
/// interrupt word covers interrupts and writes behind the hart's back, which a guest
/// may learn of through RAM before it jumps forward): the same three blocks in a ring
/// laid out in ring order (two forward exits) take as much code as laid out so that
/// two exits go back (one forward exit); fails with forward exits checking less.
#[test]
fn forward_exits_make_the_same_checks_as_exits_back() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let (two, t2) = ring_code_bytes(xlen, true);
        let (one, t1) = ring_code_bytes(xlen, false);
        assert_eq!(t1, t2, "{xlen:?}");
        assert_eq!(
            two, one,
            "{xlen:?}: two forward {two} bytes, one forward {one}"
        );
    }
}

/// A machine running: `mtvec` = an `ebreak` at [`TRAP`], `mie.MSIE` and `mstatus.MIE`
/// set, then the ring of [`ring`] in ring order (`A` at `RAM_BASE + 24`, `B` 8 bytes
/// on, `C` 16): its only exit back is `C`'s to `A`.
fn ring_machine() -> Machine {
    let (t1, mie_msie) = (6, 8);
    let setup = [
        rvenc::u(op::LUI, t1, (TRAP as u32) >> 12),
        rvenc::csrw(csr::num::MTVEC, t1),
        rvenc::addi(t1, 0, mie_msie),
        rvenc::csrw(csr::num::MIE, t1),
        rvenc::csr(6, 0, 8, csr::num::MSTATUS), // csrrsi x0, mstatus, 8
    ];
    let words = ring(&setup, [0, 8, 16]);
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: vec![
            (RAM_BASE, code.clone(), code.len() as u64),
            (TRAP, EBREAK.to_le_bytes().to_vec(), 4),
        ],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}

/// A ring of linked blocks whose exits are all forward but one takes an interrupt
/// raised (by another thread) while it runs at its next exit's check, so at the first
/// instruction of one of its blocks (fails with no interrupt check on direct exits: the
/// ring runs on to the end of its budget). The ring is linked in a first slice, so the
/// second runs on the prologue's registers alone, no lookup loading them again (fails
/// with the prologue pointing `r11` at another word than the interrupt word, or not
/// loading the exit mask into `r10d`).
#[test]
fn a_ring_of_linked_blocks_takes_an_interrupt_at_its_next_exit() {
    ring_takes_an_interrupt(true);
}

/// [`a_ring_of_linked_blocks_takes_an_interrupt_at_its_next_exit`] with the ring linked
/// in the same call that takes the interrupt: the linking lookups use `r10` and `r11`
/// and load the exit mask and the interrupt word's address again before they jump on
/// (fails without the mask's reload: the linked ring tests the word with the last
/// lookup's scratch value).
#[test]
fn a_ring_linked_in_the_same_call_takes_an_interrupt_at_its_next_exit() {
    ring_takes_an_interrupt(false);
}

/// The ring of [`ring_machine`] runs until an interrupt raised by another thread is
/// taken at the next exit (linked in a first slice when `link_first`).
fn ring_takes_an_interrupt(link_first: bool) {
    let mut m = ring_machine();
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let linked = if link_first {
        m.run_slice_with(10_000, &mut jit).unwrap();
        let linked = jit.stats().links;
        assert!(linked >= 3, "{:?}", jit.stats());
        linked
    } else {
        0
    };
    let irqs = m.hart.irqs();
    let raiser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        irqs.raise(irq::MSI);
    });
    // About ten seconds of the ring chained, if nothing stopped it.
    let exit = m.run_slice_with(4_000_000_000, &mut jit).unwrap();
    raiser.join().unwrap();
    let st = jit.stats();
    assert_eq!(exit, Exit::Breakpoint(TRAP), "{st:?}");
    if link_first {
        assert_eq!(st.links, linked, "no link made in the second slice: {st:?}");
    } else {
        assert!(st.links >= 3, "{st:?}");
    }
    assert_eq!(st.exits[ExitKind::Interrupt as usize], 1, "{st:?}");
    let t = m.hart.last_trap();
    assert_eq!(t.cause, 1 << 31 | irq::MSI as u64);
    // The setup's five instructions and its `j`, then `A`, `B`, `C`.
    assert!(
        [24, 32, 40].map(|o| RAM_BASE + o).contains(&t.epc),
        "{:#x} {st:?}",
        t.epc
    );
    assert!(m.hart.reg(7) > 1000, "the ring ran before the interrupt");
    let retired = m.hart.csr(csr::num::MINSTRET).unwrap();
    assert!(
        retired < 3_000_000_000,
        "taken after {retired} instructions"
    );
}

/// A ring of linked blocks (`ring`, in ring order) runs while another thread writes an
/// `ebreak` over its first block `A` as a device's DMA would (a write counted in the
/// memory's DMA write count, which sets a bit in the hart's interrupt word): a block
/// exit's check of the word sees it and returns, the run loop checks the code again,
/// and the hart stops at the new `ebreak` (fails with the check reading another word
/// than the interrupt word, `r11` pointing elsewhere in the prologue and in the linking
/// lookup, or with the memory setting no bit: no exit returns for DMA).
/// A first slice links the ring.
#[test]
fn a_dma_write_to_a_running_ring_of_blocks_is_seen() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let words = ring(&[], [0, 8, 16]);
        let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
        let image = Image {
            xlen,
            entry: RAM_BASE,
            segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
        };
        let mut m = Machine::new(&image).unwrap();
        m.hart.set_debug_ebreak(true);
        let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
        let a = RAM_BASE + 4;
        m.run_slice_with(10_000, &mut jit).unwrap();
        assert!(jit.stats().links >= 3, "{xlen:?} {:?}", jit.stats());
        // About ten seconds of the ring chained, if nothing stopped it.
        let exit = m
            .run_slice_with_writer(4_000_000_000, &mut jit, |w| {
                std::thread::sleep(std::time::Duration::from_millis(200));
                w.write(a, &EBREAK.to_le_bytes()).unwrap();
            })
            .unwrap();
        let st = jit.stats();
        assert_eq!(exit, Exit::Breakpoint(a), "{xlen:?} {st:?}");
        assert!(st.exits[ExitKind::Dma as usize] >= 1, "{xlen:?} {st:?}");
        assert!(m.hart.reg(7) > 1000, "the ring ran before the write");
        let retired = m.hart.csr(csr::num::MINSTRET).unwrap();
        assert!(
            retired < 3_000_000_000,
            "{xlen:?}: seen after {retired} instructions"
        );
    }
}

/// A device whose every read writes `addi x10, x0, 2` over word 16 of RAM (`F`'s first
/// instruction in [`a_device_s_write_to_code_made_by_an_mmio_load_is_seen_by_the_next_block`])
/// through the memory (a section, which counts it), as a read with side effects or a DMA
/// engine whose status a guest polls.
struct WritesCodeOnRead(OnceLock<(&'static TestMemory, SpaceId)>);

impl MmioOps for WritesCodeOnRead {
    fn read(&self, _: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let (mem, id) = self.0.get().unwrap();
        let r = mem.space(*id).unwrap().write(
            GuestAddress(RAM_BASE + 16 * 4),
            AccessSize::Word,
            rvenc::addi(10, 0, 2) as u64,
            MemTxAttrs::UNSPECIFIED,
        );
        assert!(r.is_ok());
        (0, MemTxResult::OK)
    }
    fn write(&self, _: RegionOffset, _: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        MemTxResult::OK
    }
}

/// A loop calls `F` (`x10 = 1`) 50 times, translated and linked; then a load from a
/// [`WritesCodeOnRead`] device (the tier leaves before it: `TlbMiss` or `NoHost`) writes `F`'s first
/// instruction and `F` is called again at once: the new `F` runs (`x10 = 2`). The load
/// keeps the code epoch; the memory counted the device's write, and the run loop
/// compares the count before the next block (fails with that comparison removed from
/// `Hart::run_with`: the old `F` runs, `x10 = 1`).
#[test]
fn a_device_s_write_to_code_made_by_an_mmio_load_is_seen_by_the_next_block() {
    const DEV: u64 = 0x1000_0000;
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let mut words = [rvenc::addi(0, 0, 0); 18];
        words[0] = rvenc::u(op::LUI, 6, (DEV >> 12) as u32);
        words[1] = rvenc::addi(12, 0, 50);
        words[2] = rvenc::jal(5, (16 - 2) * 4); // F
        words[3] = rvenc::r(op::OP, 0, 0, 11, 11, 10); // add x11, x11, x10
        words[4] = rvenc::addi(12, 12, -1);
        words[5] = rvenc::b(1, 12, 0, -12); // bne x12, x0, the call
        words[6] = rvenc::i(op::LOAD, 2, 7, 6, 0); // lw x7, 0(x6): the device writes F
        words[7] = rvenc::jal(5, (16 - 7) * 4); // F again
        words[8] = EBREAK;
        words[16] = rvenc::addi(10, 0, 1);
        words[17] = rvenc::jalr(0, 5, 0);
        let ram: &'static mut [u8] = Box::leak(vec![0u8; 0x1_0000].into_boxed_slice());
        for (k, w) in words.iter().enumerate() {
            ram[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
        }
        let dev = fief_tests::leak(WritesCodeOnRead(OnceLock::new()));
        let mem: &'static TestMemory = Box::leak(fief_tests::memory());
        let id = {
            let mut g = mem.lock();
            let root = g.root_owner().unwrap();
            let sys = g
                .create_container(root, "sys", RegionSize::FULL, None)
                .unwrap();
            let r = g.create_ram(root, "ram", RamBlock::new(ram)).ok().unwrap();
            let d = g
                .create_mmio(root, "dev", fief_tests::size(0x1000), dev)
                .unwrap();
            g.begin();
            g.add_subregion(sys, RegionOffset(RAM_BASE), r, Priority(0))
                .unwrap();
            g.add_subregion(sys, RegionOffset(DEV), d, Priority(0))
                .unwrap();
            let id = g.create_address_space(sys, "sys").unwrap();
            g.commit().unwrap();
            id
        };
        assert!(dev.0.set((mem, id)).is_ok());
        let space = mem.space(id).unwrap();
        let sec = space.section().unwrap();
        let mut hart = Box::new(Hart::new(0, xlen, RAM_BASE));
        hart.set_debug_ebreak(true);
        hart.set_sole_hart(true);
        let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
        let exit = hart.run_with(&sec, 100_000, &mut jit);
        let st = jit.stats();
        assert_eq!(exit, Exit::Breakpoint(RAM_BASE + 8 * 4), "{xlen:?} {st:?}");
        assert!(
            st.retired >= 200,
            "{xlen:?}: the loop ran translated {st:?}"
        );
        assert!(
            st.exits[ExitKind::TlbMiss as usize] + st.exits[ExitKind::NoHost as usize] >= 1,
            "{xlen:?}: the tier left before the load {st:?}"
        );
        assert_eq!(hart.reg(11), 50, "{xlen:?}");
        assert_eq!(hart.reg(10), 2, "{xlen:?}: the second call ran the new F");
    }
}
