//! Sv32 translation: page faults, A/D bits, `sfence.vma` and `satp` flushes, blocks
//! across a privilege change, and the cache-block operations under translation.

#[cfg(feature = "ext")]
use std::vec;

use super::super::asm::*;
use super::super::{peek, poke, RAM_BASE};
use super::{run_to_break, with_handler};
use crate::cpu::riscv::csr::{mstatus, num};
use crate::cpu::riscv::{cause, Exit, Hart, Priv};

const ROOT: u64 = RAM_BASE + 0x4000;
const L0: u64 = RAM_BASE + 0x5000;
const V: u32 = 1;
const R: u32 = 2;
const W: u32 = 4;
const X: u32 = 8;
const U: u32 = 16;
const A: u32 = 64;
const D: u32 = 128;

const fn pte(pa: u64, flags: u32) -> u32 {
    ((pa >> 12) << 10) as u32 | flags
}

fn pte_addr(va: u64) -> u64 {
    L0 + ((va >> 12) & 0x3ff) * 4
}

#[test]
fn sv32_translation_page_faults_and_ad_bits() {
    let code_va = 0x4000_0000u64;
    let prog = [
        lui(1, 0x4000_1000), // data page
        li(2, 0x77),
        sw(2, 1, 0),
        lw(3, 1, 0),
        lui(4, 0x4040_0000), // megapage over RAM
        lw(5, 4, 0),
        EBREAK,
        NOP,
        NOP,
        NOP,
        lw(6, 7, 0), // word 10: probes
        sw(0, 7, 0), // word 11
    ];
    with_handler(&prog, |h, sec| {
        poke(sec, ROOT + (0x100 * 4), pte(L0, V));
        poke(
            sec,
            ROOT + (0x101 * 4),
            pte(RAM_BASE, V | R | W | X | A | D),
        );
        poke(sec, pte_addr(0x4000_0000), pte(RAM_BASE, V | R | X));
        poke(
            sec,
            pte_addr(0x4000_1000),
            pte(RAM_BASE + 0x8000, V | R | W),
        );
        poke(sec, pte_addr(0x4000_2000), 0);
        poke(
            sec,
            pte_addr(0x4000_3000),
            pte(RAM_BASE + 0x9000, V | R | A),
        );
        poke(
            sec,
            pte_addr(0x4000_4000),
            pte(RAM_BASE + 0xa000, V | R | W | U | A | D),
        );
        poke(sec, RAM_BASE + 0xa000, 0xabcd);
        h.set_csr(num::SATP, (1 << 31) | (ROOT >> 12)).unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_pc(code_va);
        run_to_break(h, sec);
        assert_eq!(h.privilege(), Priv::Supervisor, "no trap expected");
        assert_eq!(h.reg(3), 0x77);
        assert_eq!(peek(sec, RAM_BASE + 0x8000), 0x77);
        assert_eq!(h.reg(5), prog[0] as u64);
        // A set on the code page, A and D on the data page.
        assert_eq!(peek(sec, pte_addr(0x4000_0000)) & (A | D), A);
        assert_eq!(peek(sec, pte_addr(0x4000_1000)) & (A | D), A | D);

        let probe = |h: &mut Hart<'static>, word: u64, va: u64| {
            h.set_privilege(Priv::Supervisor);
            h.set_reg(7, va);
            h.set_reg(20, 0);
            h.set_pc(code_va + word * 4);
            run_to_break(h, sec);
            (h.reg(20), h.reg(21))
        };
        // Invalid PTE, read-only page, U page from S without SUM.
        assert_eq!(probe(h, 10, 0x4000_2008), (cause::LOAD_PAGE, 0x4000_2008));
        assert_eq!(probe(h, 11, 0x4000_3000), (cause::STORE_PAGE, 0x4000_3000));
        assert_eq!(probe(h, 10, 0x4000_4000), (cause::LOAD_PAGE, 0x4000_4000));
        // With SUM the U page is readable from S.
        h.set_csr(num::SSTATUS, mstatus::SUM).unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_reg(7, 0x4000_4000);
        h.set_pc(code_va + 40);
        assert_eq!(h.run(sec, 1), Exit::BudgetExhausted);
        assert_eq!(h.reg(6), 0xabcd);
        // U cannot fetch from an S page.
        h.set_privilege(Priv::User);
        h.set_pc(code_va);
        h.set_reg(20, 0);
        run_to_break(h, sec);
        assert_eq!((h.reg(20), h.reg(21)), (cause::INSN_PAGE, code_va));
        // Remapping without sfence.vma is not seen...
        poke(
            sec,
            pte_addr(0x4000_4000),
            pte(RAM_BASE + 0x8000, V | R | W | U | A | D),
        );
        h.set_privilege(Priv::Supervisor);
        h.set_reg(7, 0x4000_4000);
        h.set_pc(code_va + 40);
        h.run(sec, 1);
        // ... in a later run either (the TLB outlives a run under the same view: `slices`),
        assert_eq!(h.reg(6), 0xabcd);
        // ... until a flush (as `sfence.vma`).
        h.flush_tlb();
        h.set_pc(code_va + 40);
        h.run(sec, 1);
        assert_eq!(h.reg(6), 0x77);
    });
}

#[test]
fn sfence_vma_and_satp_writes_flush_the_tlb() {
    // Within one slice: load through a mapping (a page whose TLB index differs from the
    // code's), change the PTE, load again (stale TLB
    // entry is still used), sfence.vma, load again (new mapping).
    let prog = [
        lw(3, 1, 0),
        sw(5, 6, 0), // rewrite the PTE (identity-mapped below)
        lw(4, 1, 0),
        SFENCE_VMA,
        lw(8, 1, 0),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        // Identity megapage for the code and the page tables (RAM_BASE region).
        poke(
            sec,
            ROOT + ((RAM_BASE >> 22) * 4),
            pte(RAM_BASE, V | R | W | X | A | D),
        );
        poke(sec, ROOT + (0x100 * 4), pte(L0, V));
        poke(
            sec,
            pte_addr(0x4000_7000),
            pte(RAM_BASE + 0x8000, V | R | A),
        );
        poke(sec, RAM_BASE + 0x8000, 1);
        poke(sec, RAM_BASE + 0x9000, 2);
        h.set_csr(num::SATP, (1 << 31) | (ROOT >> 12)).unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_reg(1, 0x4000_7000);
        h.set_reg(5, pte(RAM_BASE + 0x9000, V | R | A) as u64);
        h.set_reg(6, pte_addr(0x4000_7000));
        run_to_break(h, sec);
        assert_eq!(h.privilege(), Priv::Supervisor);
        assert_eq!((h.reg(3), h.reg(4), h.reg(8)), (1, 1, 2));
    });
}

#[test]
fn mprv_switches_the_block_executors_data_translation_within_a_slice() {
    // M-mode loads from 0x8000_8000 (physical: 1), then with MPRV and MPP = U through
    // Sv32 (mapped to 0x8000_9000: 2), then without MPRV again (1): all in one slice and
    // in decoded blocks, so the block executor's fast TLB view (`tlb::FastEntry`, one set:
    // the data-access privilege's) must follow each change.
    let prog = [
        lw(3, 1, 0),
        csr(2, 0, num::MSTATUS, 7), // csrs mstatus, x7: MPRV
        lw(4, 1, 0),
        csr(3, 0, num::MSTATUS, 7), // csrc mstatus, x7
        lw(8, 1, 0),
        csr(2, 0, num::MSTATUS, 7),
        lw(9, 1, 0),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        let va = RAM_BASE + 0x8000;
        poke(sec, ROOT + (va >> 22) * 4, pte(L0, V));
        poke(
            sec,
            pte_addr(va),
            pte(RAM_BASE + 0x9000, V | R | W | U | A | D),
        );
        poke(sec, RAM_BASE + 0x8000, 1);
        poke(sec, RAM_BASE + 0x9000, 2);
        h.set_csr(num::SATP, (1 << 31) | (ROOT >> 12)).unwrap();
        h.set_reg(1, va);
        h.set_reg(7, mstatus::MPRV);
        run_to_break(h, sec);
        assert_eq!(h.privilege(), Priv::Machine);
        assert_eq!((h.reg(3), h.reg(4), h.reg(8), h.reg(9)), (1, 2, 1, 2));
    });
}

#[test]
fn a_block_is_not_reused_across_a_privilege_change_that_remaps_its_pc() {
    // M-mode calls code A at 0x8000_3000 (physical), then mrets to S-mode at the same
    // virtual address, which Sv32 maps to code B at 0x8000_6000: all in one slice, so only
    // the new code epoch at mret keeps the hart from reusing A's decoded block.
    let code_va = RAM_BASE + 0x3000;
    let code_b = RAM_BASE + 0x6000;
    let prog = [
        jal(5, 0x3000), // A
        addi(11, 10, 0),
        MRET,
    ];
    with_handler(&prog, |h, sec| {
        poke(sec, code_va, li(10, 1));
        poke(sec, code_va + 4, jalr(0, 5, 0));
        poke(sec, code_b, li(10, 2));
        poke(sec, code_b + 4, EBREAK);
        poke(sec, ROOT + (code_va >> 22) * 4, pte(L0, V));
        poke(sec, pte_addr(code_va), pte(code_b, V | R | X | A));
        h.set_csr(num::SATP, (1 << 31) | (ROOT >> 12)).unwrap();
        h.set_csr(num::MSTATUS, 1 << 11).unwrap(); // MPP = S
        h.set_csr(num::MEPC, code_va).unwrap();
        run_to_break(h, sec);
        assert_eq!(h.reg(11), 1, "M-mode ran A");
        assert_eq!(h.privilege(), Priv::Supervisor);
        assert_eq!(h.reg(10), 2, "S-mode ran B at the same virtual address");
        assert_eq!(h.pc(), code_va + 4);
    });
}

/// Zicbom/Zicboz under Sv32: `cbo.clean` needs a load's or a store's permission, `cbo.zero`
/// a store's, and both fault as stores (store page fault, `stval` = `rs1`); `cbo.zero`
/// sets A and D as a store does.
#[test]
#[cfg(feature = "ext")]
fn cache_block_operations_translate_and_fault_as_stores() {
    let cbo = |op: u32, rs1: u32| (op << 20) | (rs1 << 15) | (2 << 12) | 0x0f;
    let code_va = 0x4000_0000u64;
    let mut prog = vec![NOP; 14];
    prog[10] = cbo(1, 7); // cbo.clean (x7)
    prog[11] = EBREAK;
    prog[12] = cbo(4, 7); // cbo.zero (x7)
    prog[13] = EBREAK;
    with_handler(&prog, |h, sec| {
        poke(sec, ROOT + (0x100 * 4), pte(L0, V));
        poke(sec, pte_addr(0x4000_0000), pte(RAM_BASE, V | R | X | A));
        poke(
            sec,
            pte_addr(0x4000_1000),
            pte(RAM_BASE + 0x8000, V | R | W),
        );
        poke(sec, pte_addr(0x4000_2000), 0);
        poke(
            sec,
            pte_addr(0x4000_3000),
            pte(RAM_BASE + 0x9000, V | R | A),
        );
        poke(
            sec,
            pte_addr(0x4000_4000),
            pte(RAM_BASE + 0xa000, V | R | W | U | A | D),
        );
        for k in 0..64 {
            poke(sec, RAM_BASE + 0x8000 + 4 * k, 0xffff_ffff);
        }
        h.set_csr(num::SATP, (1 << 31) | (ROOT >> 12)).unwrap();
        // CBCFE and CBZE for S mode.
        h.set_csr(num::MENVCFG, 0xc0).unwrap();
        let probe = |h: &mut Hart<'static>, word: u64, va: u64| {
            h.set_privilege(Priv::Supervisor);
            h.set_reg(7, va);
            h.set_reg(20, 0);
            h.set_reg(21, 0);
            h.set_pc(code_va + word * 4);
            run_to_break(h, sec);
            (h.reg(20), h.reg(21))
        };
        // A writable page: both work; cbo.zero zeroes the block and sets A and D.
        assert_eq!(probe(h, 10, 0x4000_1044), (0, 0));
        assert_eq!(peek(sec, pte_addr(0x4000_1000)) & (A | D), A);
        assert_eq!(probe(h, 12, 0x4000_1044), (0, 0));
        assert_eq!(peek(sec, pte_addr(0x4000_1000)) & (A | D), A | D);
        assert_eq!(peek(sec, RAM_BASE + 0x803c), 0xffff_ffff);
        assert_eq!(peek(sec, RAM_BASE + 0x8040), 0);
        assert_eq!(peek(sec, RAM_BASE + 0x807c), 0);
        assert_eq!(peek(sec, RAM_BASE + 0x8000 + 0x80), 0xffff_ffff);
        // An invalid PTE: store page faults with stval = rs1.
        assert_eq!(probe(h, 10, 0x4000_2fff), (cause::STORE_PAGE, 0x4000_2fff));
        assert_eq!(probe(h, 12, 0x4000_2001), (cause::STORE_PAGE, 0x4000_2001));
        // A read-only page: clean is allowed (a load would be), zero is not.
        assert_eq!(probe(h, 10, 0x4000_3010), (0, 0));
        assert_eq!(probe(h, 12, 0x4000_3010), (cause::STORE_PAGE, 0x4000_3010));
        // A U page from S without SUM: neither.
        assert_eq!(probe(h, 10, 0x4000_4000), (cause::STORE_PAGE, 0x4000_4000));
        assert_eq!(probe(h, 12, 0x4000_4000), (cause::STORE_PAGE, 0x4000_4000));
    });
}
