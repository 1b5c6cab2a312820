//! CSR access (illegal instructions and CSRs, read/write/set/clear, WARL), traps and
//! their delegation, interrupts (priority, delegation, global enables, from another
//! thread), `wfi` and stop requests, and the `mip`/`sip` SEIP rule.

use std::vec;

use super::super::asm::*;
use super::super::exec::run_prog;
use super::super::{with_machine, RAM_BASE};
use super::{open_pmp, run_to_break, with_handler};
use crate::cpu::riscv::csr::{mstatus, num};
use crate::cpu::riscv::{cause, irq, Exit, Hart, HartIrqs, Priv, Xlen};

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
