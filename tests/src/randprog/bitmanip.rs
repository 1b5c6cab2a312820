//! The bit-manipulation items of [`Flavor::Bitmanip`](super::Flavor): Zba, Zbb, Zbc and Zbs
//! (RV32 encodings, or RV64's with the `.uw` and `W` forms), on random and edge-case
//! registers, and now and then the reserved encoding next to a shift-amount form (shamt
//! bit 5 set: an illegal instruction on RV32, and for `roriw` on RV64).

use super::gen::Gen;
use super::*;

/// Register-register forms: (funct7, funct3) under `OP`.
const RR: &[(u32, u32)] = &[
    (0x10, 2), // sh1add
    (0x10, 4), // sh2add
    (0x10, 6), // sh3add
    (0x20, 7), // andn
    (0x20, 6), // orn
    (0x20, 4), // xnor
    (0x05, 4), // min
    (0x05, 5), // minu
    (0x05, 6), // max
    (0x05, 7), // maxu
    (0x30, 1), // rol
    (0x30, 5), // ror
    (0x05, 1), // clmul
    (0x05, 2), // clmulr
    (0x05, 3), // clmulh
    (0x24, 1), // bclr
    (0x24, 5), // bext
    (0x34, 1), // binv
    (0x14, 1), // bset
];

/// Unary forms: (funct3, imm12) under `OP-IMM`.
const UNARY: &[(u32, i32)] = &[
    (1, 0x600), // clz
    (1, 0x601), // ctz
    (1, 0x602), // cpop
    (1, 0x604), // sext.b
    (1, 0x605), // sext.h
    (5, 0x287), // orc.b
    (5, 0x698), // rev8 (RV32)
];

/// RV64 register-register word forms: (funct7, funct3) under `OP-32`.
const RR_W: &[(u32, u32)] = &[
    (0x04, 0), // add.uw (zext.w with rs2 = x0)
    (0x10, 2), // sh1add.uw
    (0x10, 4), // sh2add.uw
    (0x10, 6), // sh3add.uw
    (0x30, 1), // rolw
    (0x30, 5), // rorw
];

/// RV64 unary word forms: imm12 under `OP-IMM-32`, funct3 1.
const UNARY_W: &[i32] = &[
    0x600, // clzw
    0x601, // ctzw
    0x602, // cpopw
];

/// Shift-amount forms: (funct3, imm12 without shamt) under `OP-IMM`.
const SHAMT: &[(u32, i32)] = &[
    (5, 0x600), // rori
    (1, 0x480), // bclri
    (5, 0x480), // bexti
    (1, 0x680), // binvi
    (1, 0x280), // bseti
];

impl Gen<'_> {
    /// One Zba/Zbb/Zbc/Zbs instruction; its sources are sometimes first loaded with an
    /// edge-case value.
    pub(super) fn bitmanip(&mut self) {
        let (rd, rs1, rs2) = (self.reg(), self.reg(), self.reg());
        let mut it = Item::default();
        for r in [rs1, rs2] {
            if r != 0 && self.rng.one_in(3) {
                let v = self.interesting();
                it.ws(&self.li(r, v));
            }
        }
        let kinds = if self.rv64 { 14 } else { 10 };
        match self.rng.below(kinds) {
            0..=4 => {
                let (f7, f3) = self.rng.pick(RR);
                it.w(e::r(op::OP, f3, f7, rd, rs1, rs2));
            }
            5 => {
                // zext.h: funct7 0x04, rs2 = 0 under OP (RV32) or OP-32 (RV64).
                let opc = if self.rv64 { op::OP32 } else { op::OP };
                it.w(e::r(opc, 4, 0x04, rd, rs1, 0));
            }
            6 | 7 => {
                let (f3, imm) = self.rng.pick(UNARY);
                // rev8 is 0x6b8 on RV64 (its RV32 encoding is reserved there: now and then).
                let imm = if self.rv64 && imm == 0x698 && !self.rng.one_in(8) {
                    0x6b8
                } else {
                    imm
                };
                it.w(e::i(op::OPIMM, f3, rd, rs1, imm));
            }
            8 | 9 => {
                let (f3, imm) = self.rng.pick(SHAMT);
                // shamt[5] set is reserved on RV32: both must raise an illegal instruction.
                // RV64 shifts take all 6 bits.
                let shamt = if self.rv64 {
                    self.rng.below(64) as i32
                } else {
                    let wide = if self.rng.one_in(12) { 0x20 } else { 0 };
                    self.rng.below(32) as i32 | wide
                };
                it.w(e::i(op::OPIMM, f3, rd, rs1, imm | shamt));
            }
            10 | 11 => {
                let (f7, f3) = self.rng.pick(RR_W);
                it.w(e::r(op::OP32, f3, f7, rd, rs1, rs2));
            }
            12 => {
                let imm = self.rng.pick(UNARY_W);
                if imm == 0x601 && rs1 != 0 {
                    // ctzw only of a value whose low word is not zero unless all of it is
                    // (`randdiff::DEVIATIONS`, "RV64 ctzw of a zero low word").
                    let v = loop {
                        let v = self.interesting();
                        if v as u32 != 0 || v == 0 {
                            break v;
                        }
                    };
                    it.ws(&self.li(rs1, v));
                }
                it.w(e::i(op::OPIMM32, 1, rd, rs1, imm));
            }
            _ => {
                if self.rng.one_in(2) {
                    // slli.uw: imm[11:6] = 0b000010, a 6-bit shamt.
                    it.w(e::i(
                        op::OPIMM32,
                        1,
                        rd,
                        rs1,
                        0x080 | self.rng.below(64) as i32,
                    ));
                } else {
                    // roriw: a 5-bit shamt (bit 5 set is reserved).
                    let wide = if self.rng.one_in(12) { 0x20 } else { 0 };
                    let shamt = self.rng.below(32) as i32 | wide;
                    it.w(e::i(op::OPIMM32, 5, rd, rs1, 0x600 | shamt));
                }
            }
        }
        self.push(it);
    }
}
