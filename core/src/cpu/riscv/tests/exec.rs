//! Execution tests per instruction group, with hand-assembled programs in RAM.

use std::vec;
use std::vec::Vec;

use super::asm::*;
use super::{
    peek, poke, with_machine, with_shared_machine, Mem, Sec, MMIO_BASE, RAM_BASE, ROM_BASE,
};
use crate::cpu::riscv::{cause, csr::num, Exit, Hart, Priv, Xlen};
use crate::memory::{AccessSize, DmaDirection, GuestAddress, LeaseTable, MemTxAttrs, SpaceId};

/// Runs `prog` (at RAM_BASE, in a 64 KiB RAM) until its final `ebreak`; gives the hart to
/// `check` with the section still pinned.
pub fn run_prog(prog: &[u32], check: impl FnOnce(&mut Hart<'static>, Sec<'_, '_, '_>)) {
    let mut code: Vec<u32> = prog.to_vec();
    code.push(EBREAK);
    with_machine(0x10000, &[(0, &code)], |sec, _| {
        let mut hart = Hart::new(0, Xlen::Rv32, RAM_BASE);
        hart.set_debug_ebreak(true);
        let exit = hart.run(sec, 10_000);
        assert!(
            matches!(exit, Exit::Breakpoint(_)),
            "{exit:?} at {:#x}",
            hart.pc()
        );
        check(&mut hart, sec);
    });
}

#[test]
fn alu_immediates_and_registers() {
    run_prog(
        &[
            li(1, -5),
            li(2, 3),
            add(3, 1, 2),                 // -2
            sub(4, 2, 1),                 // 8
            op(0, 2, 5, 1, 2),            // slt -5 < 3 = 1
            op(0, 3, 6, 1, 2),            // sltu 0xfffffffb < 3 = 0
            op(0, 4, 7, 1, 2),            // xor
            op(0, 6, 8, 1, 2),            // or
            op(0, 7, 9, 1, 2),            // and
            op(0, 1, 10, 2, 2),           // sll 3 << 3 = 24
            op(0, 5, 11, 1, 2),           // srl
            op(0x20, 5, 12, 1, 2),        // sra
            i(31, 1, 5, 13, 0x13),        // srli x13, x1, 31 = 1
            i(0x400 | 1, 1, 5, 14, 0x13), // srai x14, x1, 1 = -3
            i(-1, 2, 3, 15, 0x13),        // sltiu x15, x2, -1 = 1
            lui(16, 0x8000_0000),
            auipc(17, 0x1000),
            addi(0, 1, 7), // write to x0 is discarded
        ],
        |h, _| {
            let r = |i| h.reg(i) as u32;
            assert_eq!(r(3), -2i32 as u32);
            assert_eq!(r(4), 8);
            assert_eq!((r(5), r(6)), (1, 0));
            assert_eq!(r(7), (-5i32 ^ 3) as u32);
            assert_eq!(r(8), (-5i32 | 3) as u32);
            assert_eq!(r(9), (-5i32 & 3) as u32);
            assert_eq!(r(10), 24);
            assert_eq!(r(11), 0xffff_fffb >> 3);
            assert_eq!(r(12), (-5i32 >> 3) as u32);
            assert_eq!(r(13), 1);
            assert_eq!(r(14), -3i32 as u32);
            assert_eq!(r(15), 1);
            assert_eq!(r(16), 0x8000_0000);
            assert_eq!(r(17), RAM_BASE as u32 + 16 * 4 + 0x1000);
            assert_eq!(h.reg(0), 0);
            // Registers stay truncated to 32 bits.
            assert_eq!(h.reg(1), 0xffff_fffb);
        },
    );
}

#[test]
fn branches_and_jumps() {
    run_prog(
        &[
            li(1, 1),
            li(2, 2),
            beq(1, 2, 8),  // not taken
            li(3, 1),      // executed
            bne(1, 2, 8),  // taken
            li(4, 1),      // skipped
            b(8, 1, 2, 4), // blt 2 < 1? no
            li(5, 1),      // executed
            b(8, 2, 1, 6), // bltu 1 < 2: taken
            li(6, 1),      // skipped
            jal(7, 8),     // x7 = pc + 4, skip one
            li(8, 1),      // skipped
            auipc(9, 0),
            jalr(10, 9, 12), // to auipc + 12, x10 = link
            li(11, 1),       // skipped
            li(12, 1),       // target
        ],
        |h, _| {
            assert_eq!((h.reg(3), h.reg(4), h.reg(5), h.reg(6)), (1, 0, 1, 0));
            assert_eq!(h.reg(7), RAM_BASE + 11 * 4);
            assert_eq!(h.reg(8), 0);
            assert_eq!(h.reg(10), RAM_BASE + 14 * 4);
            assert_eq!((h.reg(11), h.reg(12)), (0, 1));
        },
    );
}

#[test]
fn loads_and_stores() {
    let data = 0x8000;
    run_prog(
        &[
            lui(1, RAM_BASE as u32 + data),
            li(2, -2), // 0xfffffffe
            sw(2, 1, 0),
            store(0, 0, 1, 1), // sb x0 -> byte 1 = 0
            store(1, 2, 1, 4), // sh 0xfffe at +4
            lw(3, 1, 0),       // 0xffff00fe
            load(0, 4, 1, 0),  // lb 0xfe -> -2
            load(4, 5, 1, 0),  // lbu 0xfe
            load(1, 6, 1, 2),  // lh 0xffff -> -1
            load(5, 7, 1, 2),  // lhu 0xffff
            load(5, 8, 1, 4),  // lhu 0xfffe
        ],
        |h, sec| {
            assert_eq!(h.reg(3), 0xffff_00fe);
            assert_eq!(h.reg(4), 0xffff_fffe);
            assert_eq!(h.reg(5), 0xfe);
            assert_eq!(h.reg(6), 0xffff_ffff);
            assert_eq!(h.reg(7), 0xffff);
            assert_eq!(h.reg(8), 0xfffe);
            assert_eq!(peek(sec, RAM_BASE + data as u64), 0xffff_00fe);
        },
    );
}

#[test]
fn multiply_and_divide() {
    let m = |f3, rd| op(1, f3, rd, 1, 2);
    run_prog(
        &[
            lui(1, 0x8000_0000), // INT_MIN
            li(2, -1),
            m(0, 3),            // mul = INT_MIN
            m(1, 4),            // mulh(INT_MIN, -1) = 0
            m(2, 5),            // mulhsu(INT_MIN, 0xffffffff) = 0x80000000 (-2^31 * (2^32-1) >> 32)
            m(3, 6),            // mulhu
            m(4, 7),            // div overflow = INT_MIN
            m(6, 8),            // rem overflow = 0
            op(1, 4, 9, 1, 0),  // div by zero = -1
            op(1, 5, 10, 1, 0), // divu by zero = all ones
            op(1, 6, 11, 1, 0), // rem by zero = dividend
            op(1, 7, 12, 1, 0), // remu by zero = dividend
            li(13, 7),
            li(14, -2),
            op(1, 4, 15, 13, 14), // 7 / -2 = -3
            op(1, 6, 16, 13, 14), // 7 % -2 = 1
            op(1, 5, 17, 14, 13), // 0xfffffffe / 7
        ],
        |h, _| {
            assert_eq!(h.reg(3), 0x8000_0000);
            assert_eq!(h.reg(4), 0);
            assert_eq!(h.reg(5), 0x8000_0000);
            assert_eq!(h.reg(6), 0x7fff_ffff);
            assert_eq!(h.reg(7), 0x8000_0000);
            assert_eq!(h.reg(8), 0);
            assert_eq!(h.reg(9), 0xffff_ffff);
            assert_eq!(h.reg(10), 0xffff_ffff);
            assert_eq!(h.reg(11), 0x8000_0000);
            assert_eq!(h.reg(12), 0x8000_0000);
            assert_eq!(h.reg(15), -3i32 as u32 as u64);
            assert_eq!(h.reg(16), 1);
            assert_eq!(h.reg(17), 0xffff_fffe / 7);
        },
    );
}

/// Two compressed instructions packed in one word.
const fn c2(lo: u16, hi: u16) -> u32 {
    lo as u32 | (hi as u32) << 16
}

#[test]
fn compressed_instructions() {
    let li13 = li(13, 7);
    run_prog(
        &[
            auipc(1, 0),
            addi(1, 1, 20),          // ra = word 5
            c2(0x4521, 0x4589),      // c.li a0, 8 ; c.li a1, 2
            c2(0x952e, 0x8d0d),      // c.add a0, a1 ; c.sub a0, a1
            c2(0x0506, 0x8082),      // c.slli a0, 1 ; c.jr ra
            c2(0x862a, 0x167d),      // c.mv a2, a0 ; c.addi a2, -1
            c2(0x0001, li13 as u16), // c.nop ; li a3, 7 (at a 2-aligned pc)
            c2((li13 >> 16) as u16, 0x0001),
        ],
        |h, _| {
            assert_eq!(h.reg(10), 16);
            assert_eq!(h.reg(12), 15);
            assert_eq!(h.reg(13), 7);
            assert_eq!(h.pc(), RAM_BASE + 8 * 4);
        },
    );
}

#[test]
fn x0_hints_and_fence_do_nothing() {
    run_prog(
        &[
            li(0, 5),
            add(0, 0, 0),
            0x0000_000f | (0xff << 20), // fence iorw, iorw
            FENCE_I,
            c2(0x4015, 0x0001), // c.li x0, 5 (HINT) ; c.nop
        ],
        |h, _| assert_eq!(h.reg(0), 0),
    );
}

#[test]
fn mmio_accesses_go_through_the_bus() {
    run_prog(
        &[
            lui(1, MMIO_BASE as u32),
            li(2, 0x55),
            sw(2, 1, 4),
            lw(3, 1, 4),
            amo(0, 2, 4, 1, 2), // amoadd.w x4, x2, (x1) on MMIO
            lw(5, 1, 0),
        ],
        |h, _| {
            assert_eq!(h.reg(3), 0x55);
            assert_eq!(h.reg(4), 0);
            assert_eq!(h.reg(5), 0x55);
        },
    );
}

#[test]
fn bus_errors_are_access_faults() {
    // mtvec -> handler at word 16 which records mcause/mtval and stops.
    let mut prog = vec![NOP; 20];
    let handler = 16;
    prog[0] = auipc(10, 0);
    prog[1] = addi(10, 10, handler * 4);
    prog[2] = csrw(num::MTVEC, 10);
    prog[3] = lui(1, 0x4000_0000); // nothing mapped there
    prog[4] = lw(2, 1, 8);
    prog[handler as usize] = csrr(20, num::MCAUSE);
    prog[handler as usize + 1] = csrr(21, num::MTVAL);
    prog[handler as usize + 2] = csrr(22, num::MEPC);
    prog[handler as usize + 3] = EBREAK;
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.reg(20), cause::LOAD_ACCESS);
        assert_eq!(h.reg(21), 0x4000_0008);
        assert_eq!(h.reg(22), RAM_BASE + 16);
        // A store to ROM is a store access fault; a fetch from nowhere an instruction one.
        h.set_pc(RAM_BASE + 5 * 4);
        poke(sec, RAM_BASE + 20, lui(1, ROM_BASE as u32));
        poke(sec, RAM_BASE + 24, sw(0, 1, 0));
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!((h.reg(20), h.reg(21)), (cause::STORE_ACCESS, ROM_BASE));
        h.set_pc(0x4000_0000);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!((h.reg(20), h.reg(21)), (cause::INSN_ACCESS, 0x4000_0000));
    });
}

#[test]
fn decode_cache_sees_modified_code() {
    // A loop body rewritten between two runs, and by the program itself.
    let prog = [
        li(1, 1), // word 0: patched to li x1, 2 by the test
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
        assert_eq!(h.reg(1), 1);
        poke(sec, RAM_BASE, li(1, 2));
        h.set_pc(RAM_BASE);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
        assert_eq!(h.reg(1), 2);
    });
    // Self-modifying: store a new instruction over the next one, fence.i, run it.
    let target = 4;
    let new_insn = li(5, 42);
    run_prog(
        &[
            auipc(1, 0),
            lui(2, new_insn.wrapping_add(0x800) & 0xffff_f000),
            addi(2, 2, ((new_insn & 0xfff) as i32) << 20 >> 20),
            sw(2, 1, target * 4),
            li(5, 1), // overwritten before it runs
            FENCE_I,
        ],
        |h, _| assert_eq!(h.reg(5), 42),
    );
}

#[test]
fn own_store_to_an_already_checked_block_is_seen_without_fence_i() {
    // F (word 16) runs once and is stamped as checked; the program then patches F with a
    // store that takes the TLB fast path and calls F again, with no fence.i and nothing
    // else in between that would start a new code epoch: only the code-line filter on
    // stores can make the second call see the new instruction.
    let new_insn = li(10, 2);
    let mut prog = vec![NOP; 18];
    prog[0] = auipc(1, 0);
    prog[1] = sw(0, 1, 256); // warm the write TLB for this page (a miss is a new epoch)
    prog[2] = jal(5, (16 - 2) * 4); // F: x10 = 1
    prog[3] = addi(6, 10, 0);
    prog[4] = lui(2, new_insn.wrapping_add(0x800) & 0xffff_f000);
    prog[5] = addi(2, 2, ((new_insn & 0xfff) as i32) << 20 >> 20);
    prog[6] = sw(2, 1, 16 * 4); // F's first word, in another block
    prog[7] = jal(5, (16 - 7) * 4); // F again: x10 = 2
    prog[8] = EBREAK;
    prog[16] = li(10, 1);
    prog[17] = jalr(0, 5, 0);
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 8 * 4));
        assert_eq!(h.reg(6), 1, "the first call ran the old F");
        assert_eq!(h.reg(10), 2, "the second call ran the patched F");
    });
}

#[test]
fn own_store_through_a_fast_entry_filled_before_the_block_was_checked_is_seen() {
    // F lives on its own page (8 KiB on: its host page shares no code-line filter word
    // with the program's, aligned or not). A store fills that page's fast-view entry
    // with a write tag while the page holds no checked code; then F runs (checked: its
    // filter word goes from 0 to set, which must take the write tag off) and a store
    // that hits the fast view patches F: without the tag taken off, the store would make
    // no code-line test and the second call would run the old F (`block`'s docs, "Pages
    // that may hold code").
    const F: i32 = 0x2000;
    let new_insn = li(10, 2);
    let mut prog = vec![NOP; 12];
    prog[0] = auipc(1, 0);
    prog[1] = lui(3, F as u32);
    prog[2] = add(3, 3, 1); // x3 = F
    prog[3] = sw(0, 3, 256); // F's page in the fast view, with a write tag
    prog[4] = jalr(5, 3, 0); // F: x10 = 1 (F checked)
    prog[5] = addi(6, 10, 0);
    prog[6] = lui(2, new_insn.wrapping_add(0x800) & 0xffff_f000);
    prog[7] = addi(2, 2, ((new_insn & 0xfff) as i32) << 20 >> 20);
    prog[8] = sw(2, 3, 0); // F's first word, through the fast view
    prog[9] = jalr(5, 3, 0); // F again: x10 = 2
    prog[10] = EBREAK;
    let f = [li(10, 1), jalr(0, 5, 0)];
    with_machine(0x10000, &[(0, &prog), (F as u64, &f)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 10 * 4));
        assert_eq!(h.reg(6), 1, "the first call ran the old F");
        assert_eq!(h.reg(10), 2, "the second call ran the patched F");
    });
}

#[test]
fn own_store_that_misses_the_tlb_to_an_already_checked_block_is_seen_without_fence_i() {
    // As above, but the patching store misses the TLB (a load 256 KiB on, RAM on the same
    // TLB entry, evicted the code page) and goes through the slow path, which keeps the
    // code epoch for RAM (a refill changes no code) and so must test the code-line filter
    // itself.
    let new_insn = li(10, 2);
    let mut prog = vec![NOP; 18];
    prog[0] = auipc(1, 0);
    prog[1] = lui(3, 0x40000);
    prog[2] = add(3, 3, 1);
    prog[3] = lw(4, 3, 0); // a load miss: it keeps the epoch, and evicts the code page
    prog[4] = jal(5, (16 - 4) * 4); // F: x10 = 1
    prog[5] = addi(6, 10, 0);
    prog[6] = lui(2, new_insn.wrapping_add(0x800) & 0xffff_f000);
    prog[7] = addi(2, 2, ((new_insn & 0xfff) as i32) << 20 >> 20);
    prog[8] = sw(2, 1, 16 * 4); // F's first word: a TLB miss
    prog[9] = jal(5, (16 - 9) * 4); // F again: x10 = 2
    prog[10] = EBREAK;
    prog[16] = li(10, 1);
    prog[17] = jalr(0, 5, 0);
    with_machine(0x80000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 10 * 4));
        assert_eq!(h.reg(6), 1, "the first call ran the old F");
        assert_eq!(h.reg(10), 2, "the second call ran the patched F");
    });
}

/// The guest calls F (word 16: x10 = 1) until it returns 2, all in one time slice, with
/// `between` (at word 3) between calls; `patch` runs on another thread 20 ms in and must
/// make the guest see F changed to x10 = 2. Returns the exit and x10.
fn spin_until_patched(
    between: u32,
    patch: impl FnOnce(&Mem<'_>, SpaceId, u64, u32) + Send,
) -> (Exit, u64) {
    let mut prog = vec![NOP; 18];
    prog[0] = li(7, 2);
    prog[1] = jal(5, (16 - 1) * 4); // F
    prog[2] = beq(10, 7, 12); // -> word 5
    prog[3] = between;
    prog[4] = jal(0, -12); // -> word 1
    prog[5] = EBREAK;
    prog[16] = li(10, 1);
    prog[17] = jalr(0, 5, 0);
    with_shared_machine(0x10000, &[(0, &prog)], |sec, _, mem, id| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        let exit = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                patch(mem, id, RAM_BASE + 16 * 4, li(10, 2));
            });
            h.run(sec, 200_000_000)
        });
        (exit, h.reg(10))
    })
}

#[test]
#[cfg_attr(miri, ignore)] // spins until another thread writes the code
fn code_written_by_another_thread_is_seen_after_fence_i() {
    // A plain store from another thread (as another hart's would be): the ISA asks the
    // running hart for a fence.i before it must see the new code.
    let (exit, x10) = spin_until_patched(FENCE_I, |mem, id, addr, insn| {
        let r = mem.space(id).unwrap().write(
            GuestAddress(addr),
            AccessSize::Word,
            insn as u64,
            MemTxAttrs::DEBUG,
        );
        assert!(r.is_ok());
    });
    assert_eq!(exit, Exit::Breakpoint(RAM_BASE + 5 * 4));
    assert_eq!(x10, 2);
}

#[test]
#[cfg_attr(miri, ignore)] // spins until another thread writes the code
fn code_written_by_dma_is_seen_without_fence_i() {
    // A DMA lease write from another thread: the memory's lease-write count makes the
    // spinning hart check its blocks again, with no fence.i in the loop.
    let (exit, x10) = spin_until_patched(NOP, |mem, id, addr, insn| {
        let table: LeaseTable<4, 1, 16> = LeaseTable::new();
        let lease = table
            .map(
                mem,
                id,
                GuestAddress(addr),
                4,
                DmaDirection::FromDevice,
                MemTxAttrs::UNSPECIFIED,
            )
            .unwrap();
        table
            .write(mem, lease.handle, 0, &insn.to_le_bytes())
            .unwrap();
        table.unmap(mem, lease.handle, 4).unwrap();
    });
    assert_eq!(exit, Exit::Breakpoint(RAM_BASE + 5 * 4));
    assert_eq!(x10, 2);
}

#[test]
fn ebreak_traps_to_the_guest_without_the_debug_flag() {
    let prog = [EBREAK, NOP];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_csr(num::MTVEC, RAM_BASE + 4).unwrap();
        assert_eq!(h.run(sec, 1), Exit::BudgetExhausted);
        assert_eq!(h.csr(num::MCAUSE), Some(cause::BREAKPOINT));
        assert_eq!(h.csr(num::MTVAL), Some(RAM_BASE));
        assert_eq!(h.csr(num::MEPC), Some(RAM_BASE));
        assert_eq!(h.pc(), RAM_BASE + 4);
        let t = h.last_trap();
        assert_eq!(
            (t.count, t.cause, t.epc, t.tval, t.to, t.handler),
            (
                1,
                cause::BREAKPOINT,
                RAM_BASE,
                RAM_BASE,
                Priv::Machine,
                RAM_BASE + 4
            )
        );
        assert!(!t.is_interrupt(Xlen::Rv32));
    });
}

#[test]
fn harts_can_move_to_other_threads() {
    fn send<T: Send>() {}
    send::<Hart<'static>>();
    send::<crate::cpu::riscv::HartIrqs>();
}

#[test]
fn rv64_word_ops_and_doubleword_memory() {
    let prog = [
        lui(1, RAM_BASE as u32 + 0x8000), // sign-extends on RV64: fix up below
        li(2, -1),
        i(32, 2, 5, 2, 0x13), // srli x2, x2, 32 (RV64 shamt) = 0xffffffff
        add(1, 1, 0),
        addi(3, 0, 1),
        i(63, 3, 1, 3, 0x13),   // slli x3, x3, 63
        i(1, 2, 0, 4, 0x1b),    // addiw x4, x2, 1 = 0
        r(0, 2, 2, 0, 5, 0x3b), // addw x5, x2, x2 = -2 (sign-extended)
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv64, RAM_BASE);
        h.set_debug_ebreak(true);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.reg(1), 0xffff_ffff_8000_8000);
        assert_eq!(h.reg(2), 0xffff_ffff);
        assert_eq!(h.reg(3), 1 << 63);
        assert_eq!(h.reg(4), 0);
        assert_eq!(h.reg(5), -2i64 as u64);
        assert_eq!(h.csr(num::MISA).unwrap() >> 62, 2);
        // sd/ld through RAM.
        let prog = [
            store(3, 3, 6, 0), // sd x3, 0(x6)
            load(3, 7, 6, 0),  // ld x7, 0(x6)
            load(6, 8, 6, 4),  // lwu x8, 4(x6)
            EBREAK,
        ];
        for (k, w) in prog.iter().enumerate() {
            poke(sec, RAM_BASE + 0x100 + 4 * k as u64, *w);
        }
        h.set_reg(6, RAM_BASE + 0x8000);
        h.set_pc(RAM_BASE + 0x100);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.reg(7), 1 << 63);
        assert_eq!(h.reg(8), 0x8000_0000);
    });
}

#[test]
fn a_block_looping_on_itself_stops_at_the_budget() {
    // `li x3, 50`, then a loop that is one block (its `bne` goes back to its own start, so
    // the block executor runs it again itself, as it goes on from the first block into the
    // loop's): `run(n)` stops after exactly `n` instructions, with the same state as `n`
    // single steps, for every `n` across the loop's rounds and its end.
    let prog = [
        li(3, 50),
        addi(1, 1, 1),
        addi(2, 2, 3),
        bne(1, 3, -8),
        addi(4, 0, 7),
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        for n in (1..40u64).chain(148..=152) {
            let mut once = Hart::new(0, Xlen::Rv32, RAM_BASE);
            let mut steps = Hart::new(0, Xlen::Rv32, RAM_BASE);
            assert_eq!(once.run(sec, n), Exit::BudgetExhausted, "n = {n}");
            for _ in 0..n {
                assert_eq!(steps.step(sec), Exit::BudgetExhausted, "n = {n}");
            }
            for r in 1..5 {
                assert_eq!(once.reg(r), steps.reg(r), "x{r} after {n}");
            }
            assert_eq!(once.pc(), steps.pc(), "pc after {n}");
            assert_eq!(once.csr(num::MINSTRET), Some(n));
            assert_eq!(steps.csr(num::MINSTRET), Some(n));
        }
    });
}

#[test]
#[cfg_attr(
    miri,
    ignore = "spins until another thread's stop request: too slow in Miri"
)]
fn a_block_looping_on_itself_sees_a_stop_request() {
    // `addi x1, x1, 1; bne x1, x0, -4`: one block that loops on itself for 2^32 rounds.
    // A stop requested by another thread while it runs ends the run at once (the check
    // between the loop's rounds), long before the budget or the loop's end.
    let prog = [addi(1, 1, 1), bne(1, 0, -4)];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let irqs = crate::cpu::riscv::HartIrqs::new();
        let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, &irqs);
        let exit = std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                irqs.request_stop();
            });
            h.run(sec, u64::MAX)
        });
        assert_eq!(exit, Exit::Stopped);
        assert!(
            h.reg(1) > 0 && h.reg(1) < 0xffff_ffff,
            "x1 = {:#x}",
            h.reg(1)
        );
    });
}

#[test]
fn blocks_are_cut_to_the_budget() {
    // One straight-line block of 8 `addi`s: `run(n)` retires exactly `n` of them and stops
    // at the next one, for every `n`, and a run continues where the last one stopped.
    let prog = [addi(1, 1, 1); 8];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        for n in 1..8u64 {
            let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
            assert_eq!(h.run(sec, n), Exit::BudgetExhausted);
            assert_eq!(h.reg(1), n);
            assert_eq!(h.pc(), RAM_BASE + 4 * n);
            assert_eq!(h.csr(num::MINSTRET), Some(n));
            assert_eq!(h.step(sec), Exit::BudgetExhausted);
            assert_eq!(h.reg(1), n + 1);
            assert_eq!(h.csr(num::MINSTRET), Some(n + 1));
        }
    });
}

/// The block pool holds a loop of 1000 blocks (more than the 512 it held before, fewer
/// than a kernel's hot code needs): each is decoded once, not again at every pass
/// (`BLOCK_POOL`; the index spans the loop's 8000 bytes without conflicts).
#[test]
#[cfg_attr(miri, ignore = "Miri runs a 512-block pool (block::BLOCK_POOL)")]
fn a_loop_of_a_thousand_blocks_is_decoded_once() {
    const BLOCKS: i32 = 1000;
    let mut prog = vec![li(2, 3)];
    for _ in 0..BLOCKS {
        // One block each: the `jal` to the next word ends it.
        prog.push(addi(1, 1, 1));
        prog.push(jal(0, 4));
    }
    prog.push(addi(2, 2, -1));
    // Out of a branch's reach: a `jal` back while x2 is not 0.
    prog.push(beq(2, 0, 8));
    prog.push(jal(0, -(BLOCKS * 8 + 8)));
    run_prog(&prog, |h, _| {
        assert_eq!(h.reg(1), 3 * BLOCKS as u64);
        let decoded = h.blocks_decoded();
        assert!(
            decoded < BLOCKS as u64 + 10,
            "{decoded} decodings for {BLOCKS} blocks run 3 times"
        );
    });
}
