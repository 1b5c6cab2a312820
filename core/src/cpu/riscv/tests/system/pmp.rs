//! Physical memory protection: per-entry checks of S-mode, M-mode only under a lock, and
//! page-table walks checked as S-mode reads.

use super::super::asm::*;
use super::super::{peek, poke, RAM_BASE};
use super::{run_to_break, with_handler};
use crate::cpu::riscv::csr::num;
use crate::cpu::riscv::{cause, Hart, Priv};

#[test]
fn pmp_checks_s_mode_by_entry_and_m_mode_only_under_a_lock() {
    // 0: NAPOT 4 KiB at +0x8000, read-only; 1: NAPOT 4 KiB at +0x9000, no access;
    // 2: NA4 at +0xa000, RW; 3: NAPOT 32 KiB at RAM_BASE (code, tables), RWX.
    // Probes at words 0/2/4 run one load, store or jump at x7, then ebreak.
    let prog = [
        lw(6, 7, 0),
        EBREAK,
        sw(0, 7, 0),
        EBREAK,
        jalr(0, 7, 0),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        h.set_csr(num::PMPADDR0, ((RAM_BASE + 0x8000) >> 2) | 0x1ff)
            .unwrap();
        h.set_csr(num::PMPADDR0 + 1, ((RAM_BASE + 0x9000) >> 2) | 0x1ff)
            .unwrap();
        h.set_csr(num::PMPADDR0 + 2, (RAM_BASE + 0xa000) >> 2)
            .unwrap();
        h.set_csr(num::PMPADDR0 + 3, (RAM_BASE >> 2) | 0xfff)
            .unwrap();
        h.set_csr(num::PMPCFG0, 0x1f_13_18_19).unwrap();
        let probe = |h: &mut Hart<'static>, prv: Priv, word: u64, at: u64| {
            h.set_privilege(prv);
            h.set_reg(7, RAM_BASE + at);
            h.set_reg(20, 0);
            h.set_reg(21, 0);
            h.set_pc(RAM_BASE + word * 4);
            run_to_break(h, sec);
            match h.reg(20) {
                0 => None,
                c => Some((c, h.reg(21) - RAM_BASE)),
            }
        };
        let s = Priv::Supervisor;
        let (load, store, jump) = (0, 2, 4);
        assert_eq!(probe(h, s, load, 0x8000), None);
        assert_eq!(
            probe(h, s, store, 0x8004),
            Some((cause::STORE_ACCESS, 0x8004))
        );
        assert_eq!(
            probe(h, s, jump, 0x8000),
            Some((cause::INSN_ACCESS, 0x8000))
        );
        assert_eq!(
            probe(h, s, load, 0x9ffc),
            Some((cause::LOAD_ACCESS, 0x9ffc))
        );
        assert_eq!(
            probe(h, Priv::User, load, 0x9000),
            Some((cause::LOAD_ACCESS, 0x9000))
        );
        // The NA4 entry splits its page: each access is checked on its own bytes, every
        // time (nothing about that page is cached).
        poke(sec, RAM_BASE + 0xa000, 0xdead_beef);
        for _ in 0..2 {
            assert_eq!(probe(h, s, store, 0xa000), None);
            assert_eq!(probe(h, s, load, 0xa000), None);
            assert_eq!(
                probe(h, s, load, 0xa004),
                Some((cause::LOAD_ACCESS, 0xa004))
            );
        }
        assert_eq!(peek(sec, RAM_BASE + 0xa000), 0, "the store went in");
        // No entry matches: S fails, M passes.
        assert_eq!(
            probe(h, s, load, 0xb000),
            Some((cause::LOAD_ACCESS, 0xb000))
        );
        assert_eq!(probe(h, Priv::Machine, store, 0xb000), None);
        // M-mode ignores unlocked entries, obeys locked ones; a locked entry ignores writes.
        assert_eq!(probe(h, Priv::Machine, store, 0x9000), None);
        h.set_csr(num::PMPCFG0, 0x1f_13_98_19).unwrap();
        assert_eq!(
            probe(h, Priv::Machine, store, 0x9000),
            Some((cause::STORE_ACCESS, 0x9000))
        );
        h.set_csr(num::PMPCFG0, 0x1f_13_1f_1f).unwrap();
        h.set_csr(num::PMPADDR0 + 1, u32::MAX as u64).unwrap();
        assert_eq!(h.csr(num::PMPCFG0), Some(0x1f_13_98_1f));
        assert_eq!(
            h.csr(num::PMPADDR0 + 1),
            Some(((RAM_BASE + 0x9000) >> 2) | 0x1ff)
        );
        // Entry 0 was not locked: now RWX, and the change reached the TLB.
        assert_eq!(probe(h, s, store, 0x8004), None);
    });
}

#[test]
fn pmp_checks_page_table_walks_as_s_mode_reads() {
    // The root table sits in a region S-mode may not read: the walk for the first fetch
    // fails with an instruction access fault, not a page fault.
    with_handler(&[NOP, EBREAK], |h, sec| {
        h.set_csr(num::PMPADDR0, ((RAM_BASE + 0x9000) >> 2) | 0x1ff)
            .unwrap();
        h.set_csr(num::PMPADDR0 + 1, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f_18).unwrap();
        h.set_csr(num::SATP, (1 << 31) | ((RAM_BASE + 0x9000) >> 12))
            .unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_pc(0x4000_0000);
        run_to_break(h, sec);
        assert_eq!((h.reg(20), h.reg(21)), (cause::INSN_ACCESS, 0x4000_0000));
    });
}
