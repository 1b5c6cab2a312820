//! Privileged behaviour: CSRs, traps and delegation, interrupts, Sv32, LR/SC and AMOs,
//! misaligned accesses.

use std::vec;

use super::asm::*;
use super::exec::run_prog;
use super::{peek, poke, with_machine, MMIO_BASE, RAM_BASE};
use crate::cpu::riscv::csr::{mstatus, num};
use crate::cpu::riscv::{cause, irq, Exit, Hart, HartIrqs, Priv, Xlen};

/// Handler at word 32 of RAM: x20 = mcause, x21 = mtval, x22 = mepc, then `ebreak`.
const HANDLER: u64 = RAM_BASE + 32 * 4;

/// Opens PMP entry 0 over all memory (NAPOT, RWX), as firmware does before it runs S or U
/// code: with no entry matching, S- and U-mode accesses fail (`pmp`).
fn open_pmp(h: &mut Hart<'_>) {
    h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
    h.set_csr(num::PMPCFG0, 0x1f).unwrap();
}

fn with_handler(prog: &[u32], f: impl FnOnce(&mut Hart<'static>, super::Sec<'_, '_, '_>)) {
    let mut image = vec![NOP; 40];
    image[..prog.len()].copy_from_slice(prog);
    image[32] = csrr(20, num::MCAUSE);
    image[33] = csrr(21, num::MTVAL);
    image[34] = csrr(22, num::MEPC);
    image[35] = EBREAK;
    with_machine(0x10000, &[(0, &image)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, HANDLER).unwrap();
        open_pmp(&mut h);
        f(&mut h, sec);
    });
}

fn run_to_break(h: &mut Hart<'_>, sec: super::Sec<'_, '_, '_>) {
    let exit = h.run(sec, 1000);
    assert!(
        matches!(exit, Exit::Breakpoint(_)),
        "{exit:?} at {:#x}",
        h.pc()
    );
}

#[test]
fn illegal_instructions_and_csrs_set_mtval_to_the_bits() {
    let cases: [(u32, Priv); 6] = [
        (0xffff_ffff, Priv::Machine),
        (csrr(1, 0x7c0), Priv::Machine),        // no such CSR
        (csrw(num::MHARTID, 1), Priv::Machine), // read-only
        (csrr(1, num::MSTATUS), Priv::Supervisor),
        (csrr(1, num::SSTATUS), Priv::User),
        (csrr(1, num::CYCLE), Priv::User), // mcounteren clear
    ];
    for (word, prv) in cases {
        with_handler(&[word], |h, sec| {
            h.set_privilege(prv);
            run_to_break(h, sec);
            assert_eq!(h.reg(20), cause::ILLEGAL, "{word:#x}");
            assert_eq!(h.reg(21), word as u64, "{word:#x}");
            assert_eq!(h.reg(22), RAM_BASE);
            // The trap recorded the previous privilege in MPP.
            assert_eq!((h.csr(num::MSTATUS).unwrap() >> 11) & 3, prv as u64);
        });
    }
    // A compressed illegal instruction: mtval holds its 16 bits.
    with_handler(&[0x0000_0000], |h, sec| {
        run_to_break(h, sec);
        assert_eq!((h.reg(20), h.reg(21)), (cause::ILLEGAL, 0));
    });
    // Privileged instructions below their level.
    for (word, prv) in [
        (MRET, Priv::Supervisor),
        (SRET, Priv::User),
        (WFI, Priv::User),
    ] {
        with_handler(&[word], |h, sec| {
            h.set_privilege(prv);
            run_to_break(h, sec);
            assert_eq!((h.reg(20), h.reg(21)), (cause::ILLEGAL, word as u64));
        });
    }
}

#[test]
fn csr_read_write_set_clear_and_warl() {
    run_prog(
        &[
            li(1, 0x5a),
            csrrw(2, num::MSCRATCH, 1), // x2 = 0
            csrrs(3, num::MSCRATCH, 1), // x3 = 0x5a
            csrrwi(4, num::MSCRATCH, 3),
            csr(7, 5, num::MSCRATCH, 1), // csrrci x5, mscratch, 1 -> x5 = 3, now 2
            csrr(6, num::MSCRATCH),
            li(7, -1),
            csrw(num::MEDELEG, 7),
            csrr(8, num::MEDELEG),
            csrw(num::MIE, 7),
            csrr(9, num::MIE),
            csrr(10, num::MISA),
            csrr(11, num::MHARTID),
            csrw(num::PMPCFG0, 1),
            csrr(12, num::PMPCFG0),
            csrr(13, num::MINSTRET),
            csrw(num::MSTATUS, 7),
            csrr(14, num::SSTATUS),
        ],
        |h, _| {
            assert_eq!((h.reg(2), h.reg(3), h.reg(4)), (0, 0x5a, 0x5a));
            assert_eq!((h.reg(5), h.reg(6)), (3, 2));
            assert_eq!(h.reg(8), 0xb3ff); // ecall from M cannot be delegated
            assert_eq!(h.reg(9), 0xaaa);
            let fd = if cfg!(feature = "fpu") { 0x28 } else { 0 };
            assert_eq!(h.reg(10), 0x4014_1105 | fd); // RV32 AC (D F) I M S U
            assert_eq!(h.reg(11), 0);
            assert_eq!(h.reg(12), 0x5a); // PMP config: read back as written
            assert_eq!(h.reg(13), 15); // instructions retired before it
            assert_eq!(
                h.reg(14),
                h.csr(num::MSTATUS).unwrap() & (mstatus::SSTATUS | mstatus::SD32)
            );
        },
    );
}

const fn csrrwi(rd: u32, n: u16, uimm: u32) -> u32 {
    csr(5, rd, n, uimm)
}

#[test]
fn ecall_from_user_is_delegated_to_supervisor_and_srets_back() {
    // M: delegate ECALL_U, stvec = S handler, drop to U at `user`.
    let user = 12u32;
    let s_handler = 20u32;
    let mut prog = vec![NOP; 32];
    prog[0] = li(1, 1 << 8);
    prog[1] = csrw(num::MEDELEG, 1);
    prog[2] = auipc(2, 0);
    prog[3] = addi(2, 2, (s_handler as i32 - 2) * 4);
    prog[4] = csrw(num::STVEC, 2);
    prog[5] = auipc(3, 0);
    prog[6] = addi(3, 3, (user as i32 - 5) * 4);
    prog[7] = csrw(num::MEPC, 3);
    prog[8] = MRET; // MPP = 0 (U) after reset
    prog[user as usize] = li(10, 7);
    prog[user as usize + 1] = ECALL;
    prog[user as usize + 2] = li(11, 9); // after sret
    prog[user as usize + 3] = EBREAK; // in U, with the debug flag: exit
    prog[s_handler as usize] = csrr(20, num::SCAUSE);
    prog[s_handler as usize + 1] = csrr(21, num::SEPC);
    prog[s_handler as usize + 2] = csrr(22, num::SSTATUS);
    prog[s_handler as usize + 3] = addi(21, 21, 4);
    prog[s_handler as usize + 4] = csrw(num::SEPC, 21);
    prog[s_handler as usize + 5] = SRET;
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        open_pmp(&mut h);
        run_to_break(&mut h, sec);
        assert_eq!(h.privilege(), Priv::User);
        assert_eq!(h.reg(20), cause::ECALL_U);
        assert_eq!(h.reg(21), RAM_BASE + (user as u64 + 1) * 4 + 4);
        assert_eq!(h.reg(22) & mstatus::SPP, 0); // came from U
        assert_eq!((h.reg(10), h.reg(11)), (7, 9));
        // ECALL from S (not delegated) goes to M.
        assert_eq!(h.csr(num::MCAUSE), Some(0));
    });
}

#[test]
#[cfg_attr(miri, ignore)] // spins until another thread raises the line
fn interrupt_raised_by_another_thread_is_taken_vectored() {
    // mtvec vectored at word 32: the MTI entry (word 32 + 7) records mcause and stops.
    let mut prog = vec![NOP; 48];
    prog[0] = li(1, 1 << irq::MTI);
    prog[1] = csrw(num::MIE, 1);
    prog[2] = csrrsi(0, num::MSTATUS, mstatus::MIE as u32);
    prog[3] = jal(0, 0); // spin
    prog[32 + irq::MTI as usize] = csrr(20, num::MCAUSE);
    prog[33 + irq::MTI as usize] = csrr(21, num::MEPC);
    prog[34 + irq::MTI as usize] = EBREAK;
    let irqs = HartIrqs::new();
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, &irqs);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, (RAM_BASE + 32 * 4) | 1).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| {
                std::thread::sleep(std::time::Duration::from_millis(20));
                irqs.raise(irq::MTI);
            });
            let mut slices = 0;
            loop {
                match h.run(sec, 1000) {
                    Exit::BudgetExhausted => slices += 1,
                    Exit::Breakpoint(_) => break,
                    other => panic!("{other:?}"),
                }
                assert!(slices < 10_000_000, "interrupt never taken");
            }
        });
        assert_eq!(h.reg(20), (1 << 31) | irq::MTI as u64);
        assert_eq!(h.reg(21), RAM_BASE + 12);
        let t = h.last_trap();
        assert!(t.is_interrupt(Xlen::Rv32));
        assert_eq!(
            (t.count, t.cause, t.epc),
            (1, (1 << 31) | irq::MTI as u64, RAM_BASE + 12)
        );
        assert_eq!(
            t.handler,
            RAM_BASE + (32 + irq::MTI as u64) * 4,
            "vectored entry"
        );
        assert_eq!(h.csr(num::MIP).unwrap() & (1 << irq::MTI), 1 << irq::MTI);
    });
}

const fn csrrsi(rd: u32, n: u16, uimm: u32) -> u32 {
    csr(6, rd, n, uimm)
}

#[test]
fn interrupt_priority_delegation_and_global_enables() {
    let irqs = HartIrqs::new();
    with_machine(0x10000, &[(0, &[NOP; 64])], |sec, _| {
        let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, &irqs);
        open_pmp(&mut h);
        h.set_csr(num::MTVEC, RAM_BASE + 0x80).unwrap();
        h.set_csr(num::STVEC, RAM_BASE + 0xc0).unwrap();
        h.set_csr(num::MIE, 0xaaa).unwrap();
        h.set_csr(num::MIDELEG, 1 << irq::STI).unwrap();
        // M-mode with MIE clear: nothing is taken.
        irqs.raise(irq::MTI);
        irqs.raise(irq::MEI);
        assert_eq!(h.run(sec, 1), Exit::BudgetExhausted);
        assert_eq!(h.pc(), RAM_BASE + 4);
        // MIE set: MEI before MTI.
        h.set_csr(num::MSTATUS, mstatus::MIE).unwrap();
        h.run(sec, 1);
        assert_eq!(h.csr(num::MCAUSE), Some((1 << 31) | irq::MEI as u64));
        assert_eq!(h.csr(num::MEPC), Some(RAM_BASE + 4));
        irqs.lower(irq::MEI);
        irqs.lower(irq::MTI);
        // A delegated STI is not taken in M-mode...
        h.set_csr(num::MSTATUS, mstatus::MIE).unwrap();
        irqs.raise(irq::STI);
        h.set_pc(RAM_BASE);
        h.run(sec, 1);
        assert_eq!(h.pc(), RAM_BASE + 4);
        // ...but is in S-mode with SIE set, and in U-mode regardless of SIE.
        h.set_privilege(Priv::Supervisor);
        h.set_csr(num::SSTATUS, mstatus::SIE).unwrap();
        h.run(sec, 1);
        assert_eq!(h.csr(num::SCAUSE), Some((1 << 31) | irq::STI as u64));
        assert_eq!(h.privilege(), Priv::Supervisor);
        assert_eq!(h.pc(), RAM_BASE + 0xc0 + 4);
        h.set_privilege(Priv::User);
        h.set_csr(num::SCAUSE, 0).unwrap();
        h.run(sec, 1);
        assert_eq!(h.csr(num::SCAUSE), Some((1 << 31) | irq::STI as u64));
        // Software-set SSIP (through mip) is delivered to M when not delegated.
        irqs.lower(irq::STI);
        h.set_privilege(Priv::Machine);
        h.set_csr(num::MSTATUS, mstatus::MIE).unwrap();
        h.set_csr(num::MIP, 1 << irq::SSI).unwrap();
        h.run(sec, 1);
        assert_eq!(h.csr(num::MCAUSE), Some((1 << 31) | irq::SSI as u64));
    });
}

#[test]
fn wfi_and_stop_requests_leave_run() {
    let irqs = HartIrqs::new();
    with_machine(0x10000, &[(0, &[WFI, WFI, NOP, NOP])], |sec, _| {
        let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, &irqs);
        assert_eq!(h.run(sec, 10), Exit::Wfi);
        assert_eq!(h.pc(), RAM_BASE + 4);
        // An enabled pending interrupt makes wfi a nop even with MIE clear.
        h.set_csr(num::MIE, 1 << irq::MSI).unwrap();
        irqs.raise(irq::MSI);
        assert_eq!(h.run(sec, 2), Exit::BudgetExhausted);
        assert_eq!(h.pc(), RAM_BASE + 12);
        irqs.request_stop();
        assert_eq!(h.run(sec, 10), Exit::Stopped);
        assert_eq!(h.pc(), RAM_BASE + 12);
        assert_eq!(h.run(sec, 1), Exit::BudgetExhausted);
    });
}

#[test]
fn misaligned_lr_and_amos_raise_misaligned_exceptions() {
    let cases = [
        (amo(0, 2, 2, 1, 2), cause::STORE_MISALIGNED),
        (lr_w(2, 1), cause::LOAD_MISALIGNED),
    ];
    for (word, want) in cases {
        with_handler(&[word], |h, sec| {
            let base = RAM_BASE + 0x8002;
            h.set_reg(1, base);
            run_to_break(h, sec);
            assert_eq!((h.reg(20), h.reg(21)), (want, base), "{word:#x}");
        });
    }
    // An SC there fails without a trap (no reservation can be misaligned), as on QEMU.
    with_handler(&[lr_w(3, 4), sc_w(2, 1, 2), EBREAK], |h, sec| {
        h.set_reg(1, RAM_BASE + 0x8002);
        h.set_reg(4, RAM_BASE + 0x8000);
        run_to_break(h, sec);
        assert_eq!(h.last_trap().count, 0);
        assert_eq!(h.reg(2), 1);
        assert_eq!(peek(sec, RAM_BASE + 0x8000), 0);
    });
}

/// Bytes 0..16 at RAM + 0x8000 and 0xf0.. at the end of the page before it.
fn misaligned_data(sec: super::Sec<'_, '_, '_>) {
    for k in 0..4u32 {
        let b = 4 * k;
        poke(
            sec,
            RAM_BASE + 0x8000 + b as u64,
            u32::from_le_bytes([b as u8, b as u8 + 1, b as u8 + 2, b as u8 + 3]),
        );
        let e = 0xf0 + 4 * k;
        poke(
            sec,
            RAM_BASE + 0x7ff0 + b as u64,
            u32::from_le_bytes([e as u8, e as u8 + 1, e as u8 + 2, e as u8 + 3]),
        );
    }
}

#[test]
fn misaligned_loads_and_stores_succeed_in_a_page_and_across_pages() {
    // x1 = RAM + 0x8000 (page start), x2 = x1 - 16: the end of the page before.
    let prog = [
        lui(1, (RAM_BASE + 0x8000) as u32),
        addi(2, 1, -16),
        lw(3, 1, 1),       // 0x04030201
        load(1, 4, 1, 3),  // lh: 0x0403
        load(5, 5, 1, 7),  // lhu: 0x0807
        lw(6, 2, 14),      // across the page boundary: fe ff 00 01
        load(1, 7, 2, 15), // lh across: ff 00 -> sign-extended 0x00ff
        li(8, 0x7a6),
        lui(9, 0x1122_3000),
        addi(9, 9, 0x344),
        sw(9, 1, 5),        // bytes 5..8 = 44 33 22 11
        store(1, 8, 1, 11), // bytes 11..12 = a6 07
        sw(9, 2, 13),       // across: fd fe ff | 00 = 44 33 22 | 11
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        misaligned_data(sec);
        run_to_break(h, sec);
        assert_eq!(h.last_trap().count, 0, "no trap");
        assert_eq!(h.reg(3), 0x0403_0201);
        assert_eq!(h.reg(4), 0x0403);
        assert_eq!(h.reg(5), 0x0807);
        assert_eq!(h.reg(6), 0x0100_fffe);
        assert_eq!(h.reg(7), 0x00ff);
        assert_eq!(peek(sec, RAM_BASE + 0x8004), 0x2233_4404);
        assert_eq!(peek(sec, RAM_BASE + 0x8008), 0xa60a_0911);
        assert_eq!(peek(sec, RAM_BASE + 0x800c), 0x0f0e_0d07);
        assert_eq!(peek(sec, RAM_BASE + 0x7ffc), 0x2233_44fc);
        assert_eq!(peek(sec, RAM_BASE + 0x8000), 0x0302_0111);
    });
}

#[test]
fn a_misaligned_store_whose_second_page_is_denied_writes_nothing() {
    // S-mode, bare: PMP entry 0 allows RAM up to 0x80008000 (TOR), nothing above; a word
    // store at 0x80007ffe faults on its second page and leaves the first unchanged.
    let prog = [
        lui(1, (RAM_BASE + 0x8000) as u32),
        lui(9, 0x1122_3000),
        sw(9, 1, -2),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        misaligned_data(sec);
        h.set_csr(num::PMPADDR0, (RAM_BASE + 0x8000) >> 2).unwrap();
        h.set_csr(num::PMPCFG0, 0x0f).unwrap(); // TOR, RWX
        h.set_csr(num::MEDELEG, 0).unwrap();
        h.set_privilege(Priv::Supervisor);
        run_to_break(h, sec);
        // The handler (M) stops at the first trap: the store.
        assert_eq!(
            (h.reg(20), h.reg(21)),
            (cause::STORE_ACCESS, RAM_BASE + 0x8000)
        );
        assert_eq!(h.reg(22), RAM_BASE + 8);
        assert_eq!(peek(sec, RAM_BASE + 0x7ffc), 0xfffe_fdfc, "nothing written");
    });
    // A load across into the denied page faults at that page's first byte too.
    let prog = [
        lui(1, (RAM_BASE + 0x8000) as u32),
        load(2, 3, 1, -3),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        h.set_csr(num::PMPADDR0, (RAM_BASE + 0x8000) >> 2).unwrap();
        h.set_csr(num::PMPCFG0, 0x0f).unwrap();
        h.set_privilege(Priv::Supervisor);
        run_to_break(h, sec);
        assert_eq!(
            (h.reg(20), h.reg(21)),
            (cause::LOAD_ACCESS, RAM_BASE + 0x8000)
        );
    });
}

#[test]
fn misaligned_mmio_loads_are_two_aligned_accesses_and_stores_are_bytes() {
    // The `Regs` device takes word accesses only (as QEMU's CLINT): a misaligned word load
    // reads the two aligned words around it; a misaligned store is split into bytes, which
    // the device refuses: a store access fault at the store's address.
    let prog = [lui(1, MMIO_BASE as u32), lw(2, 1, 2), sw(0, 1, 5), EBREAK];
    with_handler(&prog, |h, sec| {
        poke(sec, MMIO_BASE, 0x4433_2211);
        poke(sec, MMIO_BASE + 4, 0x8877_6655);
        run_to_break(h, sec);
        assert_eq!(h.reg(2), 0x6655_4433);
        assert_eq!((h.reg(20), h.reg(21)), (cause::STORE_ACCESS, MMIO_BASE + 5));
        assert_eq!(peek(sec, MMIO_BASE + 4), 0x8877_6655);
    });
}

#[test]
fn lr_sc_and_amos() {
    let data = RAM_BASE + 0x8000;
    let a = |f5, rd| amo(f5, 2, rd, 1, 2);
    run_prog(
        &[
            lui(1, data as u32),
            li(2, 5),
            sw(2, 1, 0),
            li(2, -3),
            a(0b00000, 3), // amoadd: old 5, now 2
            a(0b00100, 4), // amoxor: old 2, now 2 ^ -3
            a(0b01100, 5), // amoand
            a(0b01000, 6), // amoor
            a(0b10000, 7), // amomin(-3 ^ .., -3)
            a(0b11100, 8), // amomaxu
            a(0b00001, 9), // amoswap: old, now -3
            lr_w(10, 1),   // -3
            li(2, 11),
            sc_w(11, 1, 2), // succeeds: 0
            sc_w(12, 1, 2), // no reservation: 1
            lw(13, 1, 0),   // 11
        ],
        |h, sec| {
            let r = |i| h.reg(i) as u32 as i32;
            assert_eq!(r(3), 5);
            assert_eq!(r(4), 2);
            assert_eq!(r(5), 2 ^ -3);
            let (x, y) = (2 ^ -3, -3);
            assert_eq!(r(6), x & y);
            assert_eq!(r(7), (x & y) | y);
            let after_min = r(7).min(-3);
            assert_eq!(r(8), after_min);
            let after_maxu = (after_min as u32).max(-3i32 as u32) as i32;
            assert_eq!(r(9), after_maxu);
            assert_eq!(r(10), -3);
            assert_eq!((r(11), r(12), r(13)), (0, 1, 11));
            assert_eq!(peek(sec, data), 11);
        },
    );
    // A store by someone else between LR and SC makes SC fail.
    let prog = [
        lui(1, data as u32),
        lr_w(10, 1),
        EBREAK,
        li(2, 1),
        sc_w(11, 1, 2),
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        run_to_break(&mut h, sec);
        poke(sec, data, 0x1234);
        h.set_pc(h.pc() + 4);
        run_to_break(&mut h, sec);
        assert_eq!(h.reg(11), 1);
        assert_eq!(peek(sec, data), 0x1234);
    });
}

// ----- Sv32 ------------------------------------------------------------------------

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
        // (each `run` starts with an empty TLB, so the new mapping is seen here.)
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

// ----- PMP -------------------------------------------------------------------------

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

#[test]
fn a_counter_write_replaces_the_writing_instructions_increment() {
    // The privileged spec: a CSR write to mcycle/minstret (or their high halves) sets the
    // value later reads see, without the writing instruction's own increment. QEMU 7.2
    // counts it, so this is checked here, not in the QEMU differential test.
    run_prog(
        &[
            li(1, 100),
            csrw(num::MINSTRET, 1),
            csrr(2, num::MINSTRET), // 100: the write did not count
            csrw(num::MCYCLE, 1),
            csrr(3, num::MCYCLE), // 100
            li(4, 5),
            csrw(num::MINSTRETH, 4),
            csrr(5, num::MINSTRET), // 100 + csrr, csrw, csrr, li; not the csrw of minstreth
            csrr(6, num::MINSTRETH),
            csrw(num::MCYCLEH, 4),
            csrr(7, num::MCYCLE), // 100 + 5 (csrr x3 .. csrr x6), not the csrw of mcycleh
            csrw(num::MSCRATCH, 4),
            csrr(8, num::MINSTRET), // another CSR's write counts as usual
        ],
        |h, _| {
            assert_eq!((h.reg(2), h.reg(3)), (100, 100));
            assert_eq!((h.reg(5), h.reg(6)), (104, 5));
            assert_eq!(h.reg(7), 105);
            assert_eq!(h.reg(8), 104 + 5);
        },
    );
}

#[test]
fn mcountinhibit_stops_each_counter_on_its_own() {
    run_prog(
        &[
            li(1, 4),
            csrw(num::MCOUNTINHIBIT, 1), // IR
            csrr(2, num::MINSTRET),
            NOP,
            NOP,
            csrr(3, num::MINSTRET),
            csrr(4, num::MCYCLE),
            NOP,
            csrr(5, num::MCYCLE),
            li(1, 1),
            csrw(num::MCOUNTINHIBIT, 1), // CY
            csrr(6, num::MCYCLE),
            NOP,
            csrr(7, num::MCYCLE),
            csrr(8, num::MINSTRET),
            NOP,
            csrr(9, num::MINSTRET),
            li(1, -1),
            csrw(num::MCOUNTINHIBIT, 1),
            csrr(10, num::MCOUNTINHIBIT),
        ],
        |h, _| {
            assert_eq!(h.reg(3), h.reg(2), "minstret inhibited");
            assert_eq!(h.reg(5), h.reg(4) + 2, "mcycle counts");
            assert_eq!(h.reg(7), h.reg(6), "mcycle inhibited");
            assert_eq!(h.reg(9), h.reg(8) + 2, "minstret counts");
            assert_eq!(h.reg(10), 0xffff_fffd, "bit 1 (time) reads 0");
        },
    );
}

#[test]
fn counter_access_below_m_follows_mcounteren_and_scounteren() {
    // (privilege, mcounteren, scounteren, CSR, allowed)
    let cases = [
        (Priv::Supervisor, 0, 0, num::CYCLE, false),
        (Priv::Supervisor, 1, 0, num::CYCLE, true),
        (Priv::Supervisor, 1, 0, num::CYCLEH, true),
        (Priv::Supervisor, 5, 0, num::TIME, false),
        (Priv::Supervisor, 2, 0, num::TIMEH, true),
        (Priv::Supervisor, 4, 0, num::INSTRET, true),
        (Priv::Supervisor, 3, 0, num::INSTRET, false),
        (Priv::Supervisor, 8, 0, 0xc03, true),   // hpmcounter3
        (Priv::Supervisor, !0, 0, 0xc13, false), // hpmcounter19: does not exist
        (Priv::Machine, 0, 0, 0xc12, true),      // hpmcounter18
        (Priv::Machine, 0, 0, 0xb13, false),     // mhpmcounter19
        (Priv::User, 7, 0, num::CYCLE, false),
        (Priv::User, 0, 7, num::TIME, false),
        (Priv::User, 7, 2, num::TIME, true),
        (Priv::User, 7, 2, num::INSTRET, false),
        (Priv::User, !0, !0, 0xc83, true), // hpmcounter3h
    ];
    for (prv, m, s, n, allowed) in cases {
        with_handler(&[csrr(1, n), EBREAK], |h, sec| {
            h.set_csr(num::MCOUNTEREN, m).unwrap();
            h.set_csr(num::SCOUNTEREN, s).unwrap();
            h.set_reg(20, 99);
            h.set_privilege(prv);
            run_to_break(h, sec);
            let trapped = h.reg(20) == cause::ILLEGAL;
            assert_eq!(
                !trapped, allowed,
                "{prv:?} mcounteren {m:#x} scounteren {s:#x} csr {n:#x}"
            );
        });
    }
}

#[test]
fn hpm_counters_hold_what_is_written() {
    run_prog(
        &[
            li(1, 0x123),
            csrw(0xb03, 1), // mhpmcounter3
            csrw(0xb83, 1), // mhpmcounter3h
            NOP,
            csrr(2, 0xc03), // hpmcounter3: does not count
            csrr(3, 0xc83),
            csrw(0x323, 1), // mhpmevent3
            csrr(4, 0x323),
            csrr(5, 0x33f), // mhpmevent31 exists
        ],
        |h, _| {
            assert_eq!(
                (h.reg(2), h.reg(3), h.reg(4), h.reg(5)),
                (0x123, 0x123, 0x123, 0)
            );
        },
    );
}

#[test]
fn debugger_points_stop_the_hart_before_the_instruction() {
    use crate::cpu::riscv::{DebugHit, WatchKind, DEBUG_POINTS};
    let data = RAM_BASE + 0x8000;
    let prog = [
        lui(1, data as u32),
        li(2, 7),
        sw(2, 1, 0), // +8: watched (write)
        lw(3, 1, 4), // +12: watched (read)
        li(4, 1),    // +16: hardware breakpoint
        li(5, 1),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        assert!(h.add_watchpoint(data, 4, WatchKind::Write));
        assert!(h.add_watchpoint(data + 6, 2, WatchKind::Read));
        assert!(h.add_hw_breakpoint(RAM_BASE + 16));
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 8));
        assert_eq!(
            h.take_debug_hit(),
            Some(DebugHit::Watch(data, WatchKind::Write))
        );
        assert_eq!(peek(sec, data), 0, "stopped before the store");
        assert!(h.remove_watchpoint(data, 4, WatchKind::Write));
        // A word load at +4 (bytes 4..7) overlaps the read watch at 6..7.
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 12));
        assert_eq!(
            h.take_debug_hit(),
            Some(DebugHit::Watch(data + 6, WatchKind::Read))
        );
        assert_eq!(peek(sec, data), 7);
        assert!(h.remove_watchpoint(data + 6, 2, WatchKind::Read));
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 16));
        assert_eq!(
            h.take_debug_hit(),
            Some(DebugHit::Breakpoint(RAM_BASE + 16))
        );
        assert_eq!(h.reg(4), 0, "not executed");
        assert!(h.remove_hw_breakpoint(RAM_BASE + 16));
        assert!(!h.remove_hw_breakpoint(RAM_BASE + 16));
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 24)); // the ebreak
        assert_eq!(h.take_debug_hit(), None);
        assert_eq!((h.reg(4), h.reg(5)), (1, 1));
        assert_eq!(h.last_trap().count, 0, "the guest saw no trap");
        for k in 0..DEBUG_POINTS as u64 {
            assert!(h.add_hw_breakpoint(0x1000 + 4 * k));
        }
        assert!(!h.add_hw_breakpoint(0x2000), "full");
    });
}

/// Issue 17, item 7 (a console that stalled under Linux + OpenSBI): OpenSBI's timer
/// forwarding does `csrs mip, STIP` and `csrc mip, STIP` while the PLIC may be holding SEIP
/// high. The read-modify-write must use the software-written SEIP only, or the external
/// signal is copied into the software bit and SEIP never drops (a storm with nothing to
/// claim).
#[test]
fn csrrs_csrrc_of_mip_and_sip_never_latch_the_external_seip() {
    let irqs = HartIrqs::new();
    let prog = [
        li(5, 1 << irq::STI),
        csrrs(0, num::MIP, 5),  // csrs mip, STIP (the M timer handler)
        csr(3, 0, num::MIP, 5), // csrc mip, STIP (the set_timer ecall)
        csr(6, 0, num::SIP, 2), // csrrsi sip, SSIP
        csr(7, 0, num::SIP, 2), // csrrci sip, SSIP
        csrr(6, num::MIP),
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::with_irqs(0, Xlen::Rv32, RAM_BASE, &irqs);
        h.set_debug_ebreak(true);
        h.set_csr(num::MIDELEG, 0x222).unwrap();
        irqs.raise(irq::SEI);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.reg(6), 1 << irq::SEI, "the read still shows the signal");
        irqs.lower(irq::SEI);
        assert_eq!(h.csr(num::MIP), Some(0), "SEIP follows the PLIC again");
        // A software-written SEIP is kept by the same read-modify-writes.
        h.set_csr(num::MIP, 1 << irq::SEI).unwrap();
        h.set_pc(RAM_BASE);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.csr(num::MIP), Some(1 << irq::SEI));
    });
}

#[test]
fn rv64_misaligned_doublewords_in_a_page_and_across_pages() {
    // x1 = RAM + 0x8000 (set directly: lui sign-extends on RV64).
    let prog = [
        load(3, 2, 1, 3),  // ld at +3: bytes 3..10
        load(3, 3, 1, -4), // ld across the page boundary: bytes -4..3
        store(3, 2, 1, 9), // sd at +9
        load(6, 4, 1, 13), // lwu at +13: bytes 13..16
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        misaligned_data(sec);
        let mut h = Hart::new(0, Xlen::Rv64, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_reg(1, RAM_BASE + 0x8000);
        run_to_break(&mut h, sec);
        assert_eq!(h.last_trap().count, 0);
        assert_eq!(h.reg(2), 0x0a09_0807_0605_0403);
        assert_eq!(h.reg(3), 0x0302_0100_fffe_fdfc);
        // bytes 9..16 = 03 04 05 06 07 08 09 0a; 13..16 = 07 08 09 0a
        assert_eq!(h.reg(4), 0x0a09_0807);
        assert_eq!(peek(sec, RAM_BASE + 0x8008), 0x0504_0308);
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
