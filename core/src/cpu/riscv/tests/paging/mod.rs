//! The RV64 paging schemes (Sv39, Sv48, Sv57) with page tables built in guest RAM: base
//! pages and superpages at every level, the faults of misaligned superpages, reserved bits,
//! bad N (Svnapot) and PBMT (Svpbmt) values and non-canonical addresses, `satp` WARL
//! rules, A/D updates, `MXR`/`SUM`/`MPRV`, `sfence.vma` by address and by ASID, the
//! debugger's walk, random page tables that must never panic the host, and random walks
//! checked against a model of the spec's algorithm written out in the test.

use std::format;
use std::vec;

use super::asm::*;
use super::{with_machine, Sec, MMIO_BASE, RAM_BASE, ROM_BASE};
use crate::cpu::riscv::csr::{mstatus, num};
use crate::cpu::riscv::{cause, Exit, Hart, Priv, Xlen};
use crate::memory::{AccessSize, GuestAddress, MemTxAttrs};

mod random;

/// Guest RAM: 4 MiB (so that two 2 MiB superpages are backed).
const RAM: usize = 0x40_0000;
/// The trap handler (an `ebreak`: the trap is read back from `last_trap`).
const HANDLER: u64 = RAM_BASE + 32 * 4;
/// Page tables are allocated from here up.
const TABLES: u64 = RAM_BASE + 0x1_0000;
/// Where the data pages are.
const DATA: u64 = RAM_BASE + 0x4_0000;

const V: u64 = 1;
const R: u64 = 2;
const W: u64 = 4;
const X: u64 = 8;
const U: u64 = 16;
const A: u64 = 64;
const D: u64 = 128;
const RWAD: u64 = V | R | W | A | D;
const N: u64 = 1 << 63;
const PBMT_NC: u64 = 1 << 61;
const PBMT_IO: u64 = 2 << 61;
const PBMT_RESERVED: u64 = 3 << 61;
const PBMTE: u64 = 1 << 62;

/// The RV64 schemes: `satp.MODE` and levels.
const SCHEMES: [(u64, u32); 3] = [(8, 3), (9, 4), (10, 5)];

fn ld(rd: u32, rs1: u32, off: i32) -> u32 {
    load(3, rd, rs1, off)
}

fn sd(rs2: u32, rs1: u32, off: i32) -> u32 {
    store(3, rs2, rs1, off)
}

/// `sfence.vma rs1, rs2`.
const fn sfence(rs1: u32, rs2: u32) -> u32 {
    SFENCE_VMA | (rs2 << 20) | (rs1 << 15)
}

fn peek64(sec: Sec<'_, '_, '_>, addr: u64) -> u64 {
    let (v, r) = sec.read(GuestAddress(addr), AccessSize::Double, MemTxAttrs::DEBUG);
    assert!(r.is_ok(), "peek {addr:#x}: {r}");
    v
}

fn poke64(sec: Sec<'_, '_, '_>, addr: u64, value: u64) {
    let r = sec.write(
        GuestAddress(addr),
        AccessSize::Double,
        value,
        MemTxAttrs::DEBUG,
    );
    assert!(r.is_ok(), "poke {addr:#x}: {r}");
}

/// Page tables of one RV64 scheme in guest RAM.
struct Tables {
    levels: u32,
    root: u64,
    next: u64,
}

impl Tables {
    fn new(levels: u32) -> Tables {
        Tables {
            levels,
            root: TABLES,
            next: TABLES + 0x1000,
        }
    }

    /// Maps `va` to `pa` with a leaf at `level` holding `flags` (and whatever bits of `pa`
    /// are above the page offset, unaligned or not), making the tables above it. Returns
    /// the leaf PTE's address.
    fn map(&mut self, sec: Sec<'_, '_, '_>, va: u64, pa: u64, level: u32, flags: u64) -> u64 {
        let mut table = self.root;
        for l in (level + 1..self.levels).rev() {
            let at = table + ((va >> (12 + 9 * l)) & 511) * 8;
            let pte = peek64(sec, at);
            table = if pte & V == 0 {
                let t = self.next;
                self.next += 0x1000;
                poke64(sec, at, ((t >> 12) << 10) | V);
                t
            } else {
                ((pte >> 10) & ((1 << 44) - 1)) << 12
            };
        }
        let at = table + ((va >> (12 + 9 * level)) & 511) * 8;
        poke64(sec, at, ((pa >> 12) << 10) | flags);
        at
    }

    fn satp(&self, mode: u64, asid: u64) -> u64 {
        (mode << 60) | (asid << 44) | (self.root >> 12)
    }
}

/// An RV64 hart in M-mode with the probe code at [`RAM_BASE`]: `ld x6, 0(x7)` at +0, `sd
/// x8, 0(x7)` at +8, each followed by `ebreak`, and the handler at [`HANDLER`].
fn with_rv64(f: impl FnOnce(&mut Hart<'static>, Sec<'_, '_, '_>)) {
    let mut image = vec![NOP; 40];
    image[0] = ld(6, 7, 0);
    image[1] = EBREAK;
    image[2] = sd(8, 7, 0);
    image[3] = EBREAK;
    image[32] = EBREAK;
    with_machine(RAM, &[(0, &image)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv64, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, HANDLER).unwrap();
        // PMP entry 0: NAPOT over everything, RWX (S and U need an entry).
        h.set_csr(num::PMPADDR0, (1 << 54) - 1).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        f(&mut h, sec);
    });
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Load,
    Store,
    Fetch,
}

/// Makes one `kind` access to `va` at `prv` (S or U) with `ms` (SUM, MXR) in `mstatus`:
/// loads and stores from M-mode code through `MPRV`, fetches by running at `va` (the page
/// must hold an `ebreak` there). `Ok` with the loaded value (0 for others) or `Err((cause,
/// tval))`.
fn probe(
    h: &mut Hart<'static>,
    sec: Sec<'_, '_, '_>,
    kind: Kind,
    prv: Priv,
    ms: u64,
    va: u64,
) -> Result<u64, (u64, u64)> {
    let before = h.last_trap().count;
    // A fresh translation: the tests change PTEs between probes with no `sfence.vma`, and
    // the TLB outlives a run (`slices`).
    h.flush_tlb();
    h.set_privilege(Priv::Machine);
    match kind {
        Kind::Fetch => {
            h.set_csr(num::MSTATUS, ms).unwrap();
            h.set_privilege(prv);
            h.set_pc(va);
        }
        _ => {
            let mpp = (prv as u64) << 11;
            h.set_csr(num::MSTATUS, ms | mstatus::MPRV | mpp).unwrap();
            h.set_reg(7, va);
            h.set_reg(8, 0x5a5a);
            h.set_pc(RAM_BASE + if kind == Kind::Load { 0 } else { 8 });
        }
    }
    h.set_reg(6, 0);
    let exit = h.run(sec, 100);
    assert!(matches!(exit, Exit::Breakpoint(_)), "{exit:?}");
    let t = h.last_trap();
    if t.count != before {
        assert_eq!(t.to, Priv::Machine);
        return Err((t.cause, t.tval));
    }
    if kind == Kind::Fetch {
        assert_eq!(h.pc(), va, "stopped at the fetched ebreak");
        assert_eq!(h.privilege(), prv);
    }
    Ok(h.reg(6))
}

fn load_s(h: &mut Hart<'static>, sec: Sec<'_, '_, '_>, va: u64) -> Result<u64, (u64, u64)> {
    probe(h, sec, Kind::Load, Priv::Supervisor, 0, va)
}

/// The virtual address that a leaf at `level` (index 3 at that level) maps onto `target`.
fn va_for(level: u32, target: u64) -> (u64, u64) {
    let span = 12 + 9 * level;
    let inside = (1u64 << span) - 1;
    ((3 << span) | (target & inside), target & !inside)
}

#[test]
fn pages_and_superpages_at_every_level_of_sv39_sv48_sv57() {
    for (mode, levels) in SCHEMES {
        for level in 0..levels {
            with_rv64(|h, sec| {
                let target = DATA + 0x1238;
                let (va, base) = va_for(level, target);
                let mut t = Tables::new(levels);
                let leaf = t.map(sec, va, base, level, V | R | W | X);
                poke64(sec, target, 0x1122_3344_5566_7788);
                poke64(sec, target & !0xfff, EBREAK as u64);
                h.set_csr(num::SATP, t.satp(mode, 0)).unwrap();
                let what = format!("mode {mode} level {level} va {va:#x}");
                assert_eq!(load_s(h, sec, va), Ok(0x1122_3344_5566_7788), "{what}");
                assert_eq!(peek64(sec, leaf) & (A | D), A, "{what}: A set by the load");
                let s = probe(h, sec, Kind::Store, Priv::Supervisor, 0, va);
                assert_eq!(s, Ok(0), "{what}");
                assert_eq!(peek64(sec, target), 0x5a5a, "{what}");
                assert_eq!(
                    peek64(sec, leaf) & (A | D),
                    A | D,
                    "{what}: D set by the store"
                );
                let f = probe(h, sec, Kind::Fetch, Priv::Supervisor, 0, va & !0xfff);
                assert_eq!(f, Ok(0), "{what}");
                // The last level of the walk stands for the whole mapping: a second 4 KiB
                // page inside a superpage translates through the same leaf.
                if level > 0 {
                    poke64(sec, target + 0x1000, 77);
                    assert_eq!(load_s(h, sec, va + 0x1000), Ok(77), "{what}");
                }
                // M-mode is not translated.
                assert_eq!(
                    probe(h, sec, Kind::Load, Priv::Machine, 0, target),
                    Ok(0x5a5a)
                );
            });
        }
    }
}

#[test]
fn misaligned_superpages_page_fault() {
    for (mode, levels) in SCHEMES {
        for level in 1..levels {
            with_rv64(|h, sec| {
                let (va, base) = va_for(level, DATA);
                let mut t = Tables::new(levels);
                // The PPN's lowest bit set: misaligned at every superpage level.
                t.map(sec, va, base + 0x1000, level, RWAD | X);
                h.set_csr(num::SATP, t.satp(mode, 0)).unwrap();
                let what = format!("mode {mode} level {level}");
                assert_eq!(load_s(h, sec, va), Err((cause::LOAD_PAGE, va)), "{what}");
                assert_eq!(
                    probe(h, sec, Kind::Store, Priv::Supervisor, 0, va),
                    Err((cause::STORE_PAGE, va)),
                    "{what}"
                );
                let page = va & !0xfff;
                assert_eq!(
                    probe(h, sec, Kind::Fetch, Priv::Supervisor, 0, page),
                    Err((cause::INSN_PAGE, page)),
                    "{what}"
                );
            });
        }
    }
}

#[test]
fn reserved_bits_bad_pbmt_and_bad_n_page_fault() {
    with_rv64(|h, sec| {
        let mut t = Tables::new(3);
        let va = 0x4000_0000u64;
        let leaf = t.map(sec, va, DATA, 0, RWAD);
        poke64(sec, DATA, 99);
        h.set_csr(num::SATP, t.satp(8, 0)).unwrap();
        let good = peek64(sec, leaf);
        let with = |h: &mut Hart<'static>, pte: u64| {
            poke64(sec, leaf, pte);
            load_s(h, sec, va)
        };
        let fault = Err((cause::LOAD_PAGE, va));
        assert_eq!(with(h, good), Ok(99));
        for bit in 54..=60 {
            assert_eq!(with(h, good | 1 << bit), fault, "reserved bit {bit}");
        }
        // PBMT with menvcfg.PBMTE clear: reserved.
        assert_eq!(with(h, good | PBMT_NC), fault);
        assert_eq!(with(h, good | PBMT_IO), fault);
        h.set_csr(num::MENVCFG, PBMTE).unwrap();
        assert_eq!(h.csr(num::MENVCFG).unwrap() & PBMTE, PBMTE);
        // Accepted (and without effect on coherent memory) once PBMTE is set.
        assert_eq!(with(h, good | PBMT_NC), Ok(99));
        assert_eq!(with(h, good | PBMT_IO), Ok(99));
        // Value 3 stays reserved.
        assert_eq!(with(h, good | PBMT_RESERVED), fault);
        // N on a 4 KiB leaf whose ppn[3:0] is not 0b1000.
        assert_eq!(with(h, good | N), fault);
        poke64(sec, leaf, good);
        // A non-leaf PTE with D, A, U, N or PBMT set.
        let l1 = TABLES + 0x1000 + ((va >> 21) & 511) * 8; // the second table made
        let inner = peek64(sec, l1);
        assert_eq!(inner & (R | W | X), 0, "the level-1 PTE is a pointer");
        for bit in [D, A, U, N, PBMT_NC] {
            poke64(sec, l1, inner | bit);
            assert_eq!(load_s(h, sec, va), fault, "non-leaf bit {bit:#x}");
        }
        poke64(sec, l1, inner);
        assert_eq!(load_s(h, sec, va), Ok(99));
        // N on a superpage (level 1), even with ppn[3:0] = 0b1000 (misaligned anyway) and
        // with an aligned PPN.
        let (sva, base) = va_for(1, DATA);
        let sleaf = t.map(sec, sva, base, 1, RWAD | N);
        assert_eq!(load_s(h, sec, sva), Err((cause::LOAD_PAGE, sva)));
        poke64(sec, sleaf, peek64(sec, sleaf) & !N);
        assert_eq!(load_s(h, sec, sva), Ok(99));
    });
}

#[test]
fn napot_64k_pages_translate_every_4k_piece() {
    with_rv64(|h, sec| {
        let mut t = Tables::new(3);
        let va = 0x4001_0000u64; // 64 KiB aligned
        let base = RAM_BASE + 0x10_0000; // 64 KiB aligned
                                         // As an OS writes it: the same PTE in all 16 slots, ppn[3:0] = 0b1000.
        for k in 0..16 {
            t.map(sec, va + k * 0x1000, base + 0x8000, 0, RWAD | N);
        }
        for k in 0..16u64 {
            poke64(sec, base + k * 0x1000 + 8 * k, 1000 + k);
        }
        h.set_csr(num::SATP, t.satp(8, 0)).unwrap();
        for k in 0..16u64 {
            let at = va + k * 0x1000 + 8 * k;
            assert_eq!(load_s(h, sec, at), Ok(1000 + k), "piece {k}");
        }
        // ppn[3:0] = 0b0100 (a 32 KiB NAPOT size, not defined): page fault.
        let leaf = t.map(sec, va, base + 0x4000, 0, RWAD | N);
        assert_eq!(load_s(h, sec, va), Err((cause::LOAD_PAGE, va)));
        poke64(sec, leaf, peek64(sec, leaf) & !N);
        assert_eq!(load_s(h, sec, va), Ok(0));
    });
}

#[test]
fn non_canonical_addresses_page_fault_and_the_upper_half_translates() {
    for (mode, levels) in SCHEMES {
        with_rv64(|h, sec| {
            let va_bits = 12 + 9 * levels;
            let mut t = Tables::new(levels);
            // The top of the address space (index 511 at every level): canonical.
            let top = !0xfffu64;
            t.map(sec, top, DATA, 0, RWAD | X);
            let low = 0x4000_0000u64;
            t.map(sec, low, DATA, 0, RWAD | X);
            poke64(sec, DATA, EBREAK as u64);
            h.set_csr(num::SATP, t.satp(mode, 0)).unwrap();
            assert_eq!(load_s(h, sec, top), Ok(EBREAK as u64), "mode {mode}");
            assert_eq!(load_s(h, sec, low), Ok(EBREAK as u64), "mode {mode}");
            // Flip one bit above the VA width: not canonical, whatever the tables say.
            for bad in [low | 1 << va_bits, low | 1 << 63, top & !(1 << 63)] {
                let what = format!("mode {mode} va {bad:#x}");
                assert_eq!(load_s(h, sec, bad), Err((cause::LOAD_PAGE, bad)), "{what}");
                assert_eq!(
                    probe(h, sec, Kind::Store, Priv::Supervisor, 0, bad),
                    Err((cause::STORE_PAGE, bad)),
                    "{what}"
                );
                assert_eq!(
                    probe(h, sec, Kind::Fetch, Priv::Supervisor, 0, bad),
                    Err((cause::INSN_PAGE, bad)),
                    "{what}"
                );
            }
        });
    }
}

#[test]
fn a_tlb_entry_never_answers_for_an_address_differing_only_in_high_bits() {
    // One slice: the first load fills the TLB entry for `low`; the second address has the
    // same TLB index and page offset but a bit above the Sv39 width set.
    with_rv64(|h, sec| {
        let mut t = Tables::new(3);
        let low = 0x4000_0000u64;
        t.map(sec, low, DATA, 0, RWAD);
        t.map(sec, RAM_BASE, RAM_BASE, 2, RWAD | X); // the code, identity
        poke64(sec, DATA, 5);
        // The code at another TLB index than the data, so that its fetches leave the
        // data's entry in place.
        let code = RAM_BASE + 0x3000;
        let prog = [ld(3, 1, 0), ld(4, 2, 0), EBREAK];
        for (k, w) in prog.iter().enumerate() {
            super::poke(sec, code + 4 * k as u64, *w);
        }
        h.set_csr(num::SATP, t.satp(8, 0)).unwrap();
        h.set_reg(1, low);
        h.set_reg(2, low | 1 << 40);
        h.set_privilege(Priv::Supervisor);
        h.set_pc(code);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.reg(3), 5);
        let t = h.last_trap();
        assert_eq!((t.cause, t.tval), (cause::LOAD_PAGE, low | 1 << 40));
    });
}

#[test]
fn satp_keeps_every_field_of_a_supported_mode_and_ignores_reserved_modes() {
    with_rv64(|h, sec| {
        let _ = sec;
        for mode in [0u64, 8, 9, 10] {
            let v = (mode << 60) | (0xffff << 44) | 0xfff_ffff_ffff;
            h.set_csr(num::SATP, v).unwrap();
            assert_eq!(
                h.csr(num::SATP),
                Some(v),
                "mode {mode}: ASID 16 bits, PPN 44"
            );
        }
        let kept = (9 << 60) | (0x1234 << 44) | 0x8_0010;
        h.set_csr(num::SATP, kept).unwrap();
        for mode in (1..8).chain(11..16) {
            let v = (mode << 60) | 0x8_0020;
            // Not an error (a WARL field), and nothing changes.
            assert_eq!(h.set_csr(num::SATP, v), Ok(()));
            assert_eq!(h.csr(num::SATP), Some(kept), "mode {mode}");
        }
    });
    // Through a guest `csrw`: no trap, satp unchanged.
    with_rv64(|h, sec| {
        let kept = (8 << 60) | 0x8_0010;
        h.set_csr(num::SATP, kept).unwrap();
        super::poke(sec, RAM_BASE + 0x100, csrw(num::SATP, 1));
        super::poke(sec, RAM_BASE + 0x104, EBREAK);
        h.set_reg(1, (15 << 60) | 0x8_0020);
        h.set_pc(RAM_BASE + 0x100);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
        assert_eq!(h.last_trap().count, 0);
        assert_eq!(h.csr(num::SATP), Some(kept));
    });
}

#[test]
fn menvcfg_pbmte_is_writable_as_qemu_7_2() {
    with_rv64(|h, _| {
        h.set_csr(num::MENVCFG, u64::MAX).unwrap();
        assert_eq!(h.csr(num::MENVCFG).unwrap() & (PBMTE | 1), PBMTE | 1);
        h.set_csr(num::MENVCFG, 0).unwrap();
        assert_eq!(h.csr(num::MENVCFG).unwrap() & PBMTE, 0);
        assert_eq!(h.csr(num::MENVCFGH), None, "no menvcfgh on RV64");
    });
    let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
    h.set_csr(num::MENVCFGH, u32::MAX as u64).unwrap();
    assert_eq!(h.csr(num::MENVCFGH).unwrap() & (PBMTE >> 32), PBMTE >> 32);
    assert_eq!(h.csr(num::MENVCFG).unwrap() & 1, 0);
}

#[test]
fn ad_updates_keep_the_whole_64_bit_pte() {
    with_rv64(|h, sec| {
        h.set_csr(num::MENVCFG, PBMTE).unwrap();
        let mut t = Tables::new(3);
        let va = 0x4000_0000u64;
        // High bits that a 32-bit update would not see: PBMT = NC, and RSW.
        let leaf = t.map(sec, va, DATA, 0, V | R | W | PBMT_NC | 0x300);
        h.set_csr(num::SATP, t.satp(8, 0)).unwrap();
        let before = peek64(sec, leaf);
        assert_eq!(load_s(h, sec, va), Ok(0));
        assert_eq!(peek64(sec, leaf), before | A);
        assert_eq!(probe(h, sec, Kind::Store, Priv::Supervisor, 0, va), Ok(0));
        assert_eq!(peek64(sec, leaf), before | A | D);
        // The debugger's walk changes nothing and needs no A bit.
        let other = 0x4000_1000u64;
        let leaf2 = t.map(sec, other, DATA + 0x1000, 0, V | R);
        h.set_csr(num::MSTATUS, 0).unwrap();
        h.set_privilege(Priv::Supervisor);
        assert_eq!(h.debug_translate(sec, other + 8), Some(DATA + 0x1008));
        assert_eq!(peek64(sec, leaf2) & A, 0);
        assert_eq!(h.debug_translate(sec, other | 1 << 50), None);
        assert_eq!(h.debug_translate(sec, 0x4000_2000), None);
        h.set_privilege(Priv::Machine);
        assert_eq!(h.debug_translate(sec, other), Some(other));
    });
}

#[test]
fn mxr_sum_and_mprv_on_sv39() {
    with_rv64(|h, sec| {
        let mut t = Tables::new(3);
        let xo = 0x4000_0000u64; // execute-only, S
        let up = 0x4000_1000u64; // user RW
        t.map(sec, xo, DATA, 0, V | X | A);
        t.map(sec, up, DATA + 0x1000, 0, RWAD | X | U);
        poke64(sec, DATA, EBREAK as u64);
        poke64(sec, DATA + 0x1000, EBREAK as u64);
        h.set_csr(num::SATP, t.satp(8, 0)).unwrap();
        let s = Priv::Supervisor;
        let u = Priv::User;
        let mxr = mstatus::MXR;
        let sum = mstatus::SUM;
        let lp = |va| Err((cause::LOAD_PAGE, va));
        assert_eq!(probe(h, sec, Kind::Load, s, 0, xo), lp(xo));
        assert_eq!(probe(h, sec, Kind::Load, s, mxr, xo), Ok(EBREAK as u64));
        assert_eq!(probe(h, sec, Kind::Fetch, s, 0, xo), Ok(0));
        // U page from S: only with SUM, and never fetched.
        assert_eq!(probe(h, sec, Kind::Load, s, 0, up), lp(up));
        assert_eq!(probe(h, sec, Kind::Load, s, sum, up), Ok(EBREAK as u64));
        assert_eq!(
            probe(h, sec, Kind::Store, s, sum, up),
            Ok(0),
            "SUM allows stores"
        );
        assert_eq!(
            probe(h, sec, Kind::Fetch, s, sum, up),
            Err((cause::INSN_PAGE, up))
        );
        // MPRV with MPP = U: the U page is reachable, the S page is not.
        assert_eq!(probe(h, sec, Kind::Load, u, 0, up), Ok(0x5a5a));
        assert_eq!(probe(h, sec, Kind::Load, u, mxr, xo), lp(xo));
        poke64(sec, DATA + 0x1000, EBREAK as u64);
        assert_eq!(probe(h, sec, Kind::Fetch, u, 0, up), Ok(0));
    });
}

#[test]
fn sfence_vma_by_address_drops_every_piece_of_a_superpage_and_by_asid_only_its_own() {
    with_rv64(|h, sec| {
        let mut t = Tables::new(3);
        t.map(sec, RAM_BASE, RAM_BASE, 2, RWAD | X); // code and tables, identity
        let a = 0x4000_5000u64;
        let pte_a = t.map(sec, a, DATA + 0x1_0000, 0, RWAD);
        let b = 0x4020_0000u64; // 2 MiB superpage over the first 2 MiB of RAM
        let pte_b = t.map(sec, b, RAM_BASE, 1, RWAD);
        let (b1, b2) = (b + 0x6000, b + 0x9000);
        // The stale reads below need `a`'s TLB entry to survive the other accesses.
        let slot = |va: u64| crate::cpu::riscv::tlb::Tlb::index(va);
        for other in [b1, b2, pte_a, pte_b, RAM_BASE] {
            assert_ne!(slot(a), slot(other), "{other:#x} shares a's TLB entry");
        }
        poke64(sec, DATA + 0x1_0000, 1);
        poke64(sec, DATA + 0x1_1000, 11);
        poke64(sec, RAM_BASE + 0x6000, 2);
        poke64(sec, RAM_BASE + 0x9000, 3);
        poke64(sec, RAM_BASE + 0x20_6000, 22);
        poke64(sec, RAM_BASE + 0x20_9000, 33);
        let prog = [
            ld(3, 1, 0),   // a: 1
            ld(4, 2, 0),   // b1: 2
            ld(14, 9, 0),  // b2: 3
            sd(5, 6, 0),   // a's PTE -> the page holding 11
            sd(10, 11, 0), // b's PTE -> the next 2 MiB
            ld(15, 1, 0),  // a: stale, 1
            sfence(2, 0),  // by b1's address
            ld(16, 1, 0),  // a: still stale, 1
            ld(17, 9, 0),  // b2: new, 33 (a piece of the same superpage)
            sfence(0, 12), // another ASID
            ld(18, 1, 0),  // a: stale, 1
            sfence(0, 13), // this ASID
            ld(19, 1, 0),  // a: new, 11
            EBREAK,
        ];
        for (k, w) in prog.iter().enumerate() {
            super::poke(sec, RAM_BASE + 0x100 + 4 * k as u64, *w);
        }
        h.set_csr(num::SATP, t.satp(8, 7)).unwrap();
        h.set_reg(1, a);
        h.set_reg(2, b1);
        h.set_reg(9, b2);
        h.set_reg(5, peek64(sec, pte_a) + (1 << 10));
        h.set_reg(6, pte_a);
        h.set_reg(10, peek64(sec, pte_b) + (0x200 << 10));
        h.set_reg(11, pte_b);
        h.set_reg(12, 8);
        h.set_reg(13, 7);
        h.set_privilege(Priv::Supervisor);
        h.set_pc(RAM_BASE + 0x100);
        assert!(matches!(h.run(sec, 100), Exit::Breakpoint(_)));
        assert_eq!(h.last_trap().count, 0);
        let r = |i| h.reg(i);
        assert_eq!((r(3), r(4), r(14)), (1, 2, 3));
        assert_eq!((r(15), r(16), r(17)), (1, 1, 33));
        assert_eq!((r(18), r(19)), (1, 11));
    });
}

#[test]
fn sv32_non_leaf_ptes_with_d_a_or_u_page_fault() {
    // As QEMU 7.2 (and the spec: they are reserved in a pointer).
    let mut image = vec![NOP; 40];
    image[0] = lw(6, 7, 0);
    image[1] = EBREAK;
    image[32] = EBREAK;
    with_machine(RAM, &[(0, &image)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, HANDLER).unwrap();
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        let va = 0x4000_0000u64;
        let root_pte = TABLES + (va >> 22) * 4;
        let l0 = TABLES + 0x1000;
        super::poke(sec, l0, (((DATA >> 12) << 10) | RWAD) as u32);
        super::poke(sec, DATA, 42);
        h.set_csr(num::SATP, (1 << 31) | (TABLES >> 12)).unwrap();
        for bits in [0, D, A, U] {
            super::poke(sec, root_pte, (((l0 >> 12) << 10) | V | bits) as u32);
            // As `sfence.vma` (the TLB outlives a run: `slices`).
            h.flush_tlb();
            let before = h.last_trap().count;
            h.set_privilege(Priv::Machine);
            h.set_csr(num::MSTATUS, mstatus::MPRV | (1 << 11)).unwrap();
            h.set_reg(7, va);
            h.set_pc(RAM_BASE);
            assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
            let t = h.last_trap();
            if bits == 0 {
                assert_eq!((t.count, h.reg(6)), (before, 42));
            } else {
                assert_eq!(
                    (t.count, t.cause, t.tval),
                    (before + 1, cause::LOAD_PAGE, va)
                );
            }
        }
    });
}
