//! The counters: a CSR write replacing the instruction's increment, `mcountinhibit`,
//! `mcounteren`/`scounteren` below M, and the HPM counters.

use super::super::asm::*;
use super::super::exec::run_prog;
use super::{run_to_break, with_handler};
use crate::cpu::riscv::csr::num;
use crate::cpu::riscv::{cause, Priv};

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
