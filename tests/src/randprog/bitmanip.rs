//! The bit-manipulation items of [`Flavor::Bitmanip`](super::Flavor): Zba, Zbb, Zbc and Zbs
//! (RV32 encodings), on random and edge-case registers, and now and then the reserved
//! encoding next to a shift-amount form (shamt bit 5 set: an illegal instruction on RV32).

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
                it.ws(&e::li(r, gen::interesting(self.rng)));
            }
        }
        match self.rng.below(10) {
            0..=4 => {
                let (f7, f3) = self.rng.pick(RR);
                it.w(e::r(op::OP, f3, f7, rd, rs1, rs2));
            }
            5 => {
                // zext.h (RV32: funct7 0x04, rs2 = 0 under OP).
                it.w(e::r(op::OP, 4, 0x04, rd, rs1, 0));
            }
            6 | 7 => {
                let (f3, imm) = self.rng.pick(UNARY);
                it.w(e::i(op::OPIMM, f3, rd, rs1, imm));
            }
            _ => {
                let (f3, imm) = self.rng.pick(SHAMT);
                // shamt[5] set is reserved on RV32: both must raise an illegal instruction.
                let wide = if self.rng.one_in(12) { 0x20 } else { 0 };
                let shamt = self.rng.below(32) as i32 | wide;
                it.w(e::i(op::OPIMM, f3, rd, rs1, imm | shamt));
            }
        }
        self.push(it);
    }
}
