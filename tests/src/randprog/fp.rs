//! The floating-point items of [`Flavor::Fp`](super::Flavor): F and D (RV32, or RV64 with
//! `fcvt.l[u]`, `fcvt.*.l[u]`, `fmv.x.d` and `fmv.d.x`) arithmetic,
//! fused multiply-adds, conversions, moves, compares and classes with static and dynamic
//! rounding modes (and now and then a reserved one), loads and stores at every kind of
//! address, `fcsr`/`frm`/`fflags` reads and writes, and `mstatus.FS` switched Off and back to
//! Dirty (never Initial or Clean: when an implementation marks the state dirty is its own
//! choice, so only Off and Dirty are compared).

use super::gen::Gen;
use super::*;

const OP_FP: u32 = 0x53;
const LOAD_FP: u32 = 0x07;
const STORE_FP: u32 = 0x27;
const FS: u32 = 0x6000;
const FCSR: u16 = 0x003;
const FFLAGS: u16 = 0x001;
const FRM: u16 = 0x002;

/// Operations with a rounding mode in funct3: (funct5, rs2 field or `None` for a register).
const ROUNDED: &[(u32, Option<u32>)] = &[
    (0x00, None),    // fadd
    (0x01, None),    // fsub
    (0x02, None),    // fmul
    (0x03, None),    // fdiv
    (0x0b, Some(0)), // fsqrt
];

impl Gen<'_> {
    fn freg(&mut self) -> Reg {
        self.rng.below(32)
    }

    /// A rounding mode: the five static ones and dynamic, rarely a reserved 5 or 6.
    fn rm(&mut self) -> u32 {
        if self.rng.one_in(24) {
            self.rng.pick(&[5, 6])
        } else {
            self.rng.pick(&[0, 1, 2, 3, 4, 7, 7])
        }
    }

    /// One F/D item.
    pub(super) fn fp(&mut self) {
        let fmt = self.rng.below(2);
        let mut it = Item::default();
        let kinds = if self.rv64 { 23 } else { 21 };
        match self.rng.below(kinds) {
            0..=4 => {
                let (f5, rs2) = self.rng.pick(ROUNDED);
                let rs2 = rs2.unwrap_or_else(|| self.freg());
                let (rd, rs1, rm) = (self.freg(), self.freg(), self.rm());
                it.w(e::r(OP_FP, rm, f5 << 2 | fmt, rd, rs1, rs2));
            }
            5 | 6 => {
                // fmadd, fmsub, fnmsub, fnmadd.
                let opc = self.rng.pick(&[0x43, 0x47, 0x4b, 0x4f]);
                let (rd, rs1, rs2, rs3, rm) = (
                    self.freg(),
                    self.freg(),
                    self.freg(),
                    self.freg(),
                    self.rm(),
                );
                it.w(rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | opc);
            }
            7 | 8 => {
                // fsgnj/fsgnjn/fsgnjx, fmin/fmax.
                let (f5, f3) =
                    self.rng
                        .pick(&[(0x04, 0), (0x04, 1), (0x04, 2), (0x05, 0), (0x05, 1)]);
                let (rd, rs1, rs2) = (self.freg(), self.freg(), self.freg());
                it.w(e::r(OP_FP, f3, f5 << 2 | fmt, rd, rs1, rs2));
            }
            9 => {
                // fcvt.s.d / fcvt.d.s.
                let (rd, rs1, rm) = (self.freg(), self.freg(), self.rm());
                it.w(e::r(OP_FP, rm, 0x08 << 2 | fmt, rd, rs1, 1 - fmt));
            }
            10 | 11 => {
                // feq, flt, fle; fclass; fcvt.w[u].fmt (integer destination).
                let (rd, rs1, rs2) = (self.reg(), self.freg(), self.freg());
                match self.rng.below(3) {
                    0 => it.w(e::r(
                        OP_FP,
                        self.rng.pick(&[0, 1, 2]),
                        0x14 << 2 | fmt,
                        rd,
                        rs1,
                        rs2,
                    )),
                    1 => it.w(e::r(OP_FP, 1, 0x1c << 2 | fmt, rd, rs1, 0)),
                    _ => {
                        let rm = self.rm();
                        it.w(e::r(OP_FP, rm, 0x18 << 2 | fmt, rd, rs1, self.rng.below(2)))
                    }
                };
            }
            12 => {
                // fcvt.fmt.w[u] (integer source), with an edge-case source now and then.
                let (rd, rs1, rm) = (self.freg(), self.reg(), self.rm());
                if rs1 != 0 && self.rng.one_in(2) {
                    let v = self.interesting();
                    it.ws(&self.li(rs1, v));
                }
                it.w(e::r(OP_FP, rm, 0x1a << 2 | fmt, rd, rs1, self.rng.below(2)));
            }
            13 => {
                // fmv.x.w / fmv.w.x (single only on RV32).
                if self.rng.one_in(2) {
                    it.w(e::r(OP_FP, 0, 0x1c << 2, self.reg(), self.freg(), 0));
                } else {
                    it.w(e::r(OP_FP, 0, 0x1e << 2, self.freg(), self.reg(), 0));
                }
            }
            14..=16 => {
                // flw/fld/fsw/fsd at any kind of address.
                let store = self.rng.one_in(2);
                let width = if fmt == 1 { 8 } else { 4 };
                let addr = self.address(width, !store);
                let off = (self.rng.u32() as i32) >> 20;
                let base = 1 + self.rng.below(LAST_BODY);
                it.ws(&self.li(base, addr.wrapping_sub(off as i64 as u64)));
                let f3 = 2 + fmt;
                if store {
                    it.w(e::s(STORE_FP, f3, base, self.freg(), off));
                } else {
                    it.w(e::i(LOAD_FP, f3, self.freg(), base, off));
                }
            }
            17 | 18 => {
                // fcsr, frm, fflags: swap, set, clear, read (frm values 5..7 make a dynamic
                // rounding mode illegal until the next write).
                let c = self.rng.pick(&[FCSR, FRM, FFLAGS]);
                let (rd, rs1) = (self.reg(), self.reg());
                let f3 = self.rng.pick(&[1, 2, 3, 5, 6, 7]);
                let src = if f3 >= 5 { self.rng.below(32) } else { rs1 };
                it.w(e::csr(f3, rd, src, c));
            }
            21 => {
                // RV64: fcvt.l[u].fmt (integer destination) or fcvt.fmt.l[u] (integer
                // source, now and then an edge case).
                let rm = self.rm();
                let kind = 2 + self.rng.below(2);
                if self.rng.one_in(2) {
                    let (rd, rs1) = (self.reg(), self.freg());
                    it.w(e::r(OP_FP, rm, 0x18 << 2 | fmt, rd, rs1, kind));
                } else {
                    let (rd, rs1) = (self.freg(), self.reg());
                    if rs1 != 0 && self.rng.one_in(2) {
                        let v = self.interesting();
                        it.ws(&self.li(rs1, v));
                    }
                    it.w(e::r(OP_FP, rm, 0x1a << 2 | fmt, rd, rs1, kind));
                }
            }
            19 | 20 => {
                // mstatus.FS back to Dirty or, less often, Off (FP instructions become
                // illegal), in M. (A random mstatus/sstatus write of the `csr` items also
                // clears FS: its values never set the FS bits.)
                if self.mode == Mode::M {
                    it.ws(&self.li(T0, FS.into()));
                    let f3 = if self.rng.one_in(4) { 3 } else { 2 };
                    it.w(e::csr(f3, 0, T0, csrn::MSTATUS));
                }
            }
            _ => {
                // RV64: fmv.x.d / fmv.d.x.
                if self.rng.one_in(2) {
                    it.w(e::r(OP_FP, 0, 0x1c << 2 | 1, self.reg(), self.freg(), 0));
                } else {
                    it.w(e::r(OP_FP, 0, 0x1e << 2 | 1, self.freg(), self.reg(), 0));
                }
            }
        }
        self.push(it);
    }
}
