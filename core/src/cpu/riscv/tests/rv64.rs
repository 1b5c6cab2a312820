//! The RV64 hart's privileged state: `mstatus`/`sstatus` at XLEN 64 (UXL, SXL, SD), PMP
//! CSRs (even `pmpcfg` only, 56-bit physical addresses), the CSRs RV64 does not have (the
//! `h` halves, `mstatush`, `menvcfgh`), 64-bit `mcause`/`mtval`/`stval`, delegation and
//! vectored interrupts, and `mtvec`/`stvec` reserved modes.

use std::vec;

use super::asm::*;
use super::{with_machine, RAM_BASE};
use crate::cpu::riscv::csr::{mstatus, num};
use crate::cpu::riscv::{cause, irq, Exit, Hart, HartIrqs, Xlen};

fn rv64() -> Hart<'static> {
    Hart::new(0, Xlen::Rv64, RAM_BASE)
}

#[test]
fn mstatus_has_uxl_and_sxl_fixed_at_64_and_sstatus_shows_uxl_only() {
    let mut h = rv64();
    h.set_csr(num::MSTATUS, 0).unwrap();
    let uxl = 2u64 << 32;
    let sxl = 2u64 << 34;
    assert_eq!(h.csr(num::MSTATUS).unwrap() & (0xf << 32), uxl | sxl);
    // Writes cannot change them.
    h.set_csr(num::MSTATUS, u64::MAX).unwrap();
    assert_eq!(h.csr(num::MSTATUS).unwrap() & (0xf << 32), uxl | sxl);
    h.set_csr(num::MSTATUS, 0).unwrap();
    assert_eq!(h.csr(num::MSTATUS).unwrap() & (0xf << 32), uxl | sxl);
    assert_eq!(h.csr(num::SSTATUS).unwrap() & (0xf << 32), uxl);
    if cfg!(feature = "fpu") {
        // SD is bit 63 on RV64, in both views, when FS is Dirty.
        h.set_csr(num::MSTATUS, mstatus::FS).unwrap();
        assert_eq!(h.csr(num::MSTATUS).unwrap() >> 63, 1);
        assert_eq!(h.csr(num::SSTATUS).unwrap() >> 63, 1);
        assert_eq!(h.csr(num::MSTATUS).unwrap() & mstatus::SD32, 0);
    }
    // misa: MXL = 2.
    assert_eq!(h.csr(num::MISA).unwrap() >> 62, 2);
}

#[test]
fn rv64_has_even_pmpcfg_only_and_56_bit_pmp_addresses() {
    let mut h = rv64();
    for n in 0..16u16 {
        let exists = h.csr(num::PMPCFG0 + n).is_some();
        assert_eq!(exists, n % 2 == 0, "pmpcfg{n}");
    }
    assert!(h.set_csr(num::PMPCFG0 + 1, 0).is_err());
    // pmpcfg0 holds entries 0..7, pmpcfg2 entries 8..15.
    h.set_csr(num::PMPCFG0, 0x0f0e_0d0c_0b0a_0908).unwrap();
    assert_eq!(h.csr(num::PMPCFG0), Some(0x0f0e_0d0c_0b0a_0908));
    h.set_csr(num::PMPCFG0 + 2, 0x18).unwrap();
    assert_eq!(h.csr(num::PMPCFG0 + 2), Some(0x18));
    // pmpaddr: bits 55:2 of a 56-bit physical address (54 bits).
    h.set_csr(num::PMPADDR0 + 1, u64::MAX).unwrap();
    assert_eq!(h.csr(num::PMPADDR0 + 1), Some((1 << 54) - 1));
    // The guest sees an illegal instruction for an odd pmpcfg.
    with_machine(
        0x1000,
        &[(0, &[csrr(1, num::PMPCFG0 + 3), EBREAK])],
        |sec, _| {
            let mut h = rv64();
            h.set_debug_ebreak(true);
            h.set_csr(num::MTVEC, RAM_BASE + 4).unwrap();
            assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
            assert_eq!(h.csr(num::MCAUSE), Some(cause::ILLEGAL));
        },
    );
}

#[test]
fn rv64_has_no_high_half_csrs() {
    let h = rv64();
    let halves = [
        num::MSTATUSH,
        num::MENVCFGH,
        num::CYCLEH,
        num::TIMEH,
        num::INSTRETH,
        num::MCYCLEH,
        num::MINSTRETH,
        0xb83, // mhpmcounter3h
        0xc83, // hpmcounter3h
    ];
    for n in halves {
        assert_eq!(h.csr(n), None, "{n:#x}");
    }
    let mut h32 = Hart::new(0, Xlen::Rv32, RAM_BASE);
    for n in halves {
        assert!(h32.csr(n).is_some(), "{n:#x} on RV32");
    }
    // The 64-bit counters are whole on RV64.
    let mut h = rv64();
    h.set_csr(num::MCYCLE, 0x1234_5678_9abc_def0).unwrap();
    assert_eq!(h.csr(num::MCYCLE), Some(0x1234_5678_9abc_def0));
    h32.set_csr(num::MCYCLE, 0x1234_5678_9abc_def0).unwrap();
    assert_eq!(h32.csr(num::MCYCLE), Some(0x9abc_def0));
}

#[test]
fn rv64_interrupts_set_mcause_bit_63_and_take_the_vectored_entry() {
    let mut prog = vec![NOP; 48];
    prog[0] = li(1, 1 << irq::MTI);
    prog[1] = csrw(num::MIE, 1);
    prog[2] = csr(6, 0, num::MSTATUS, mstatus::MIE as u32); // csrrsi
    prog[3] = jal(0, 0);
    prog[32 + irq::MTI as usize] = EBREAK;
    let irqs = HartIrqs::new();
    with_machine(0x1000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::with_irqs(0, Xlen::Rv64, RAM_BASE, &irqs);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, (RAM_BASE + 32 * 4) | 1).unwrap();
        assert_eq!(h.run(sec, 10), Exit::BudgetExhausted);
        irqs.raise(irq::MTI);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
        assert_eq!(h.pc(), RAM_BASE + (32 + irq::MTI as u64) * 4);
        assert_eq!(h.csr(num::MCAUSE), Some(1 << 63 | irq::MTI as u64));
        assert_eq!(h.csr(num::MEPC), Some(RAM_BASE + 12));
    });
}

#[test]
#[cfg(feature = "rv64")] // Sv39
fn a_delegated_page_fault_gives_s_mode_the_whole_64_bit_address() {
    use crate::cpu::riscv::Priv;
    // S-mode, Sv39 with no mappings but the code's (identity gigapage at 2 GiB): a load
    // from a non-canonical address page-faults, delegated to S; stval holds all 64 bits.
    let root = RAM_BASE + 0x1000;
    let bad = 0xdead_beef_0000_0008u64;
    let prog = [load(3, 3, 1, 0), EBREAK];
    let mut image = vec![NOP; 32];
    image[..2].copy_from_slice(&prog);
    image[16] = EBREAK; // the S handler
    with_machine(0x4000, &[(0, &image)], |sec, _| {
        // Level-2 entry 2: a gigapage at 0x8000_0000, RWX, A, D.
        let pte = ((RAM_BASE >> 12) << 10) | 0xcf;
        super::poke(sec, root + 2 * 8, pte as u32);
        super::poke(sec, root + 2 * 8 + 4, (pte >> 32) as u32);
        let mut h = rv64();
        h.set_debug_ebreak(true);
        h.set_csr(num::PMPADDR0, (1 << 54) - 1).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::MEDELEG, 1 << cause::LOAD_PAGE).unwrap();
        h.set_csr(num::STVEC, RAM_BASE + 16 * 4).unwrap();
        h.set_csr(num::SATP, 8 << 60 | root >> 12).unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_reg(1, bad);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
        assert_eq!(h.privilege(), Priv::Supervisor);
        assert_eq!(h.csr(num::SCAUSE), Some(cause::LOAD_PAGE));
        assert_eq!(h.csr(num::STVAL), Some(bad));
        assert_eq!(h.csr(num::SEPC), Some(RAM_BASE));
        assert_eq!(h.csr(num::MCAUSE), Some(0), "M saw nothing");
    });
}

#[test]
fn xtvec_writes_with_a_reserved_mode_are_ignored_as_qemu() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        let mut h = Hart::new(0, xlen, RAM_BASE);
        for n in [num::MTVEC, num::STVEC] {
            h.set_csr(n, RAM_BASE | 1).unwrap();
            assert_eq!(h.csr(n), Some(RAM_BASE | 1));
            for mode in [2, 3] {
                h.set_csr(n, (RAM_BASE + 0x100) | mode).unwrap();
                assert_eq!(h.csr(n), Some(RAM_BASE | 1), "{n:#x} mode {mode}");
            }
            h.set_csr(n, RAM_BASE + 0x100).unwrap();
            assert_eq!(h.csr(n), Some(RAM_BASE + 0x100));
        }
    }
}
