//! Misaligned loads and stores (in a page, across pages, denied second pages, MMIO, RV64
//! doublewords), misaligned LR and AMOs, and LR/SC and AMOs.

use super::super::asm::*;
use super::super::exec::run_prog;
use super::super::{peek, poke, with_machine, Sec, MMIO_BASE, RAM_BASE};
use super::{run_to_break, with_handler};
use crate::cpu::riscv::csr::num;
use crate::cpu::riscv::{cause, Hart, Priv, Xlen};

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
fn misaligned_data(sec: Sec<'_, '_, '_>) {
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
