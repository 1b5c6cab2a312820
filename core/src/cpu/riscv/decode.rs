//! The decoder: 32-bit words with [`decode`], compressed halfwords with
//! [`decode_compressed`] (expanded to the same [`Op`]s). Pure functions of the bits and the
//! XLEN: encodings that only exist on RV64 decode as [`Op::Illegal`] for [`Xlen::Rv32`].
//! The F and D encodings (`decode_fp`) decode only with the `fpu` feature; a reserved
//! static rounding mode (5, 6) decodes as illegal, a dynamic one is checked when the
//! instruction runs (`frm` may change).
//!
//! The bit-manipulation extensions (Zba, Zbb, Zbc, Zbs), Zicond and the cache-block
//! operations decode only with the `ext` feature. The bit-manipulation ones share major opcodes with the base
//! ISA and differ between RV32 and RV64 where the spec says so: the shift-immediate forms
//! (`rori`, `b*i`) take a 6-bit shift amount on RV64, `rev8` is `0x698` on RV32 and
//! `0x6b8` on RV64, `zext.h` is OP's `pack` slot on RV32 and OP-32's `packw` on RV64, and
//! the `.uw` and `W` forms exist only on RV64. `pause` (Zihintpause) is a `fence` with
//! predecessor W and no successor, and Zicbop's prefetches are `ori x0, rs1, imm` with
//! `imm[4:0]` 0, 1 or 3: both decode as what their encodings are (hints, no effect).
//!
//! Reserved fields that the spec says implementations must ignore (the `fence`/`fence.i`
//! `rd`, `rs1` and unused immediate bits) are ignored; HINT encodings (writes to `x0`) are
//! legal and do nothing.

use super::insn::{Insn, Op, DISCARD};
use super::Xlen;

#[inline]
fn rd_slot(r: u32) -> u8 {
    if r == 0 {
        DISCARD
    } else {
        r as u8
    }
}

#[inline]
fn mk(op: Op, rd: u32, rs1: u32, rs2: u32, imm: i32, len: u8) -> Insn {
    Insn {
        op,
        rd: rd_slot(rd),
        rs1: rs1 as u8,
        rs2: rs2 as u8,
        imm,
        len,
    }
}

/// Decodes a 32-bit instruction word (its low two bits must be `0b11`).
pub fn decode(raw: u32, xlen: Xlen) -> Insn {
    let rv64 = matches!(xlen, Xlen::Rv64);
    // The `ext` feature's extensions (Zb*, Zicond, Zicbom, Zicboz).
    let ext = cfg!(feature = "ext");
    let opcode = raw & 0x7f;
    let rd = (raw >> 7) & 31;
    let f3 = (raw >> 12) & 7;
    let rs1 = (raw >> 15) & 31;
    let rs2 = (raw >> 20) & 31;
    let f7 = raw >> 25;
    let i_imm = (raw as i32) >> 20;
    let s_imm = ((raw as i32) >> 25 << 5) | rd as i32;
    let b_imm = (((raw as i32) >> 31) << 12)
        | (((raw >> 7) & 1) << 11) as i32
        | (((raw >> 25) & 0x3f) << 5) as i32
        | (((raw >> 8) & 0xf) << 1) as i32;
    let u_imm = (raw & 0xffff_f000) as i32;
    let j_imm = (((raw as i32) >> 31) << 20)
        | (raw & 0x000f_f000) as i32
        | (((raw >> 20) & 1) << 11) as i32
        | (((raw >> 21) & 0x3ff) << 1) as i32;
    let ill = Insn::illegal(4);
    let r = |op| mk(op, rd, rs1, rs2, 0, 4);
    let i = |op| mk(op, rd, rs1, 0, i_imm, 4);
    match opcode {
        0x37 => mk(Op::Lui, rd, 0, 0, u_imm, 4),
        0x17 => mk(Op::Auipc, rd, 0, 0, u_imm, 4),
        0x6f => mk(Op::Jal, rd, 0, 0, j_imm, 4),
        0x67 if f3 == 0 => i(Op::Jalr),
        0x63 => {
            let op = match f3 {
                0 => Op::Beq,
                1 => Op::Bne,
                4 => Op::Blt,
                5 => Op::Bge,
                6 => Op::Bltu,
                7 => Op::Bgeu,
                _ => return ill,
            };
            mk(op, 0, rs1, rs2, b_imm, 4)
        }
        0x03 => {
            let op = match f3 {
                0 => Op::Lb,
                1 => Op::Lh,
                2 => Op::Lw,
                3 if rv64 => Op::Ld,
                4 => Op::Lbu,
                5 => Op::Lhu,
                6 if rv64 => Op::Lwu,
                _ => return ill,
            };
            i(op)
        }
        0x23 => {
            let op = match f3 {
                0 => Op::Sb,
                1 => Op::Sh,
                2 => Op::Sw,
                3 if rv64 => Op::Sd,
                _ => return ill,
            };
            mk(op, 0, rs1, rs2, s_imm, 4)
        }
        0x13 => {
            // A shift-immediate form whose funct7 (RV32) or funct6 (RV64, with shamt[5]
            // in bit 25) is `top`.
            let shamt_ok = |top: u32| {
                if rv64 {
                    (raw >> 26) == top >> 1
                } else {
                    f7 == top
                }
            };
            let shamt = (rs2 | if rv64 { (f7 & 1) << 5 } else { 0 }) as i32;
            let sh = |op| mk(op, rd, rs1, 0, shamt, 4);
            let unary = |op| mk(op, rd, rs1, 0, 0, 4);
            let imm12 = raw >> 20;
            match f3 {
                0 => i(Op::Addi),
                2 => i(Op::Slti),
                3 => i(Op::Sltiu),
                4 => i(Op::Xori),
                6 => i(Op::Ori),
                7 => i(Op::Andi),
                1 if shamt_ok(0) => sh(Op::Slli),
                1 if ext && shamt_ok(0x24) => sh(Op::Bclri),
                1 if ext && shamt_ok(0x14) => sh(Op::Bseti),
                1 if ext && shamt_ok(0x34) => sh(Op::Binvi),
                1 if ext => match imm12 {
                    0x600 => unary(Op::Clz),
                    0x601 => unary(Op::Ctz),
                    0x602 => unary(Op::Cpop),
                    0x604 => unary(Op::SextB),
                    0x605 => unary(Op::SextH),
                    _ => ill,
                },
                5 if shamt_ok(0) => sh(Op::Srli),
                5 if shamt_ok(0x20) => sh(Op::Srai),
                5 if ext && shamt_ok(0x30) => sh(Op::Rori),
                5 if ext && shamt_ok(0x24) => sh(Op::Bexti),
                5 if ext && imm12 == 0x287 => unary(Op::OrcB),
                5 if ext && imm12 == if rv64 { 0x6b8 } else { 0x698 } => unary(Op::Rev8),
                _ => ill,
            }
        }
        0x1b if rv64 => match (f3, f7) {
            (0, _) => i(Op::Addiw),
            (1, 0) => mk(Op::Slliw, rd, rs1, 0, rs2 as i32, 4),
            (1, 4 | 5) if ext => mk(Op::SlliUw, rd, rs1, 0, ((raw >> 20) & 63) as i32, 4),
            (1, 0x30) if ext => match rs2 {
                0 => mk(Op::Clzw, rd, rs1, 0, 0, 4),
                1 => mk(Op::Ctzw, rd, rs1, 0, 0, 4),
                2 => mk(Op::Cpopw, rd, rs1, 0, 0, 4),
                _ => ill,
            },
            (5, 0) => mk(Op::Srliw, rd, rs1, 0, rs2 as i32, 4),
            (5, 0x20) => mk(Op::Sraiw, rd, rs1, 0, rs2 as i32, 4),
            (5, 0x30) if ext => mk(Op::Roriw, rd, rs1, 0, rs2 as i32, 4),
            _ => ill,
        },
        0x33 => {
            let op = match (f7, f3) {
                (0, 0) => Op::Add,
                (0x20, 0) => Op::Sub,
                (0, 1) => Op::Sll,
                (0, 2) => Op::Slt,
                (0, 3) => Op::Sltu,
                (0, 4) => Op::Xor,
                (0, 5) => Op::Srl,
                (0x20, 5) => Op::Sra,
                (0, 6) => Op::Or,
                (0, 7) => Op::And,
                (1, 0) => Op::Mul,
                (1, 1) => Op::Mulh,
                (1, 2) => Op::Mulhsu,
                (1, 3) => Op::Mulhu,
                (1, 4) => Op::Div,
                (1, 5) => Op::Divu,
                (1, 6) => Op::Rem,
                (1, 7) => Op::Remu,
                _ if !ext => return ill,
                (0x10, 2) => Op::Sh1add,
                (0x10, 4) => Op::Sh2add,
                (0x10, 6) => Op::Sh3add,
                (0x20, 7) => Op::Andn,
                (0x20, 6) => Op::Orn,
                (0x20, 4) => Op::Xnor,
                (0x05, 1) => Op::Clmul,
                (0x05, 2) => Op::Clmulr,
                (0x05, 3) => Op::Clmulh,
                (0x05, 4) => Op::Min,
                (0x05, 5) => Op::Minu,
                (0x05, 6) => Op::Max,
                (0x05, 7) => Op::Maxu,
                (0x30, 1) => Op::Rol,
                (0x30, 5) => Op::Ror,
                (0x24, 1) => Op::Bclr,
                (0x24, 5) => Op::Bext,
                (0x34, 1) => Op::Binv,
                (0x14, 1) => Op::Bset,
                (0x07, 5) => Op::CzeroEqz,
                (0x07, 7) => Op::CzeroNez,
                // zext.h is `pack rd, rs1, x0` on RV32 (Zbkb's pack is not implemented).
                (0x04, 4) if !rv64 && rs2 == 0 => return mk(Op::ZextH, rd, rs1, 0, 0, 4),
                _ => return ill,
            };
            r(op)
        }
        0x3b if rv64 => {
            let op = match (f7, f3) {
                (0, 0) => Op::Addw,
                (0x20, 0) => Op::Subw,
                (0, 1) => Op::Sllw,
                (0, 5) => Op::Srlw,
                (0x20, 5) => Op::Sraw,
                (1, 0) => Op::Mulw,
                (1, 4) => Op::Divw,
                (1, 5) => Op::Divuw,
                (1, 6) => Op::Remw,
                (1, 7) => Op::Remuw,
                _ if !ext => return ill,
                (0x04, 0) => Op::AddUw,
                (0x10, 2) => Op::Sh1addUw,
                (0x10, 4) => Op::Sh2addUw,
                (0x10, 6) => Op::Sh3addUw,
                (0x30, 1) => Op::Rolw,
                (0x30, 5) => Op::Rorw,
                // zext.h is `packw rd, rs1, x0` on RV64.
                (0x04, 4) if rs2 == 0 => return mk(Op::ZextH, rd, rs1, 0, 0, 4),
                _ => return ill,
            };
            r(op)
        }
        0x0f => match f3 {
            0 => mk(Op::Fence, 0, 0, 0, (raw >> 20) as i32, 4),
            1 => mk(Op::FenceI, 0, 0, 0, 0, 4),
            // Zicbom and Zicboz: `cbo.* 0(rs1)`, rd must be 0.
            2 if ext && rd == 0 => {
                let op = match raw >> 20 {
                    0 => Op::CboInval,
                    1 => Op::CboClean,
                    2 => Op::CboFlush,
                    4 => Op::CboZero,
                    _ => return ill,
                };
                mk(op, 0, rs1, 0, 0, 4)
            }
            _ => ill,
        },
        0x73 => match f3 {
            0 => match raw {
                0x0000_0073 => mk(Op::Ecall, 0, 0, 0, 0, 4),
                0x0010_0073 => mk(Op::Ebreak, 0, 0, 0, 0, 4),
                0x1020_0073 => mk(Op::Sret, 0, 0, 0, 0, 4),
                0x3020_0073 => mk(Op::Mret, 0, 0, 0, 0, 4),
                0x1050_0073 => mk(Op::Wfi, 0, 0, 0, 0, 4),
                _ if f7 == 0x09 && rd == 0 => mk(Op::SfenceVma, 0, rs1, rs2, 0, 4),
                _ => ill,
            },
            4 => ill,
            _ => {
                let op = match f3 {
                    1 => Op::Csrrw,
                    2 => Op::Csrrs,
                    3 => Op::Csrrc,
                    5 => Op::Csrrwi,
                    6 => Op::Csrrsi,
                    _ => Op::Csrrci,
                };
                mk(op, rd, rs1, 0, (raw >> 20) as i32, 4)
            }
        },
        0x2f => {
            let d = match f3 {
                2 => false,
                3 if rv64 => true,
                _ => return ill,
            };
            let f5 = raw >> 27;
            let op = match (f5, d) {
                (0b00010, _) if rs2 != 0 => return ill,
                (0b00010, false) => Op::LrW,
                (0b00011, false) => Op::ScW,
                (0b00001, false) => Op::AmoswapW,
                (0b00000, false) => Op::AmoaddW,
                (0b00100, false) => Op::AmoxorW,
                (0b01100, false) => Op::AmoandW,
                (0b01000, false) => Op::AmoorW,
                (0b10000, false) => Op::AmominW,
                (0b10100, false) => Op::AmomaxW,
                (0b11000, false) => Op::AmominuW,
                (0b11100, false) => Op::AmomaxuW,
                (0b00010, true) => Op::LrD,
                (0b00011, true) => Op::ScD,
                (0b00001, true) => Op::AmoswapD,
                (0b00000, true) => Op::AmoaddD,
                (0b00100, true) => Op::AmoxorD,
                (0b01100, true) => Op::AmoandD,
                (0b01000, true) => Op::AmoorD,
                (0b10000, true) => Op::AmominD,
                (0b10100, true) => Op::AmomaxD,
                (0b11000, true) => Op::AmominuD,
                (0b11100, true) => Op::AmomaxuD,
                _ => return ill,
            };
            r(op)
        }
        0x07 | 0x27 | 0x43 | 0x47 | 0x4b | 0x4f | 0x53 if cfg!(feature = "fpu") => {
            decode_fp(raw, rv64)
        }
        _ => ill,
    }
}

/// Decodes a word of the F/D major opcodes (LOAD-FP, STORE-FP, the four FMAs, OP-FP).
fn decode_fp(raw: u32, rv64: bool) -> Insn {
    use Op::*;
    let opcode = raw & 0x7f;
    let rd = (raw >> 7) & 31;
    let f3 = (raw >> 12) & 7;
    let rs1 = (raw >> 15) & 31;
    let rs2 = (raw >> 20) & 31;
    let f5 = raw >> 27;
    let fmt = (raw >> 25) & 3;
    let ill = Insn::illegal(4);
    // An FP destination keeps register 0 (f0 is a register); an integer one maps x0 to
    // the discard slot.
    let fd = |op, imm| Insn {
        op,
        rd: rd as u8,
        rs1: rs1 as u8,
        rs2: rs2 as u8,
        imm,
        len: 4,
    };
    // One FP source (and no rs2 operand: the field selects the operation).
    let fd1 = |op, imm| Insn {
        rs2: 0,
        ..fd(op, imm)
    };
    let xd = |op| mk(op, rd, rs1, rs2, 0, 4);
    let rm_ok = f3 != 5 && f3 != 6;
    let d = match fmt {
        0 => false,
        1 => true,
        _ if opcode == 0x07 || opcode == 0x27 => false, // width is funct3 there
        _ => return ill,
    };
    let pick = |s, dd| if d { dd } else { s };
    match opcode {
        0x07 => match f3 {
            2 => fd1(Flw, (raw as i32) >> 20),
            3 => fd1(Fld, (raw as i32) >> 20),
            _ => ill,
        },
        0x27 => {
            let op = match f3 {
                2 => Fsw,
                3 => Fsd,
                _ => return ill,
            };
            mk(op, 0, rs1, rs2, ((raw as i32) >> 25 << 5) | rd as i32, 4)
        }
        0x43 | 0x47 | 0x4b | 0x4f if rm_ok => {
            let op = match opcode {
                0x43 => pick(FmaddS, FmaddD),
                0x47 => pick(FmsubS, FmsubD),
                0x4b => pick(FnmsubS, FnmsubD),
                _ => pick(FnmaddS, FnmaddD),
            };
            fd(op, (f3 | (raw >> 27) << 3) as i32)
        }
        0x53 => {
            let rm = f3 as i32;
            match f5 {
                0x00 if rm_ok => fd(pick(FaddS, FaddD), rm),
                0x01 if rm_ok => fd(pick(FsubS, FsubD), rm),
                0x02 if rm_ok => fd(pick(FmulS, FmulD), rm),
                0x03 if rm_ok => fd(pick(FdivS, FdivD), rm),
                0x0b if rm_ok && rs2 == 0 => fd1(pick(FsqrtS, FsqrtD), rm),
                0x04 => match f3 {
                    0 => fd(pick(FsgnjS, FsgnjD), 0),
                    1 => fd(pick(FsgnjnS, FsgnjnD), 0),
                    2 => fd(pick(FsgnjxS, FsgnjxD), 0),
                    _ => ill,
                },
                0x05 => match f3 {
                    0 => fd(pick(FminS, FminD), 0),
                    1 => fd(pick(FmaxS, FmaxD), 0),
                    _ => ill,
                },
                0x08 if rm_ok => match (d, rs2) {
                    (false, 1) => fd1(FcvtSD, rm),
                    (true, 0) => fd1(FcvtDS, rm),
                    _ => ill,
                },
                0x14 => match f3 {
                    0 => xd(pick(FleS, FleD)),
                    1 => xd(pick(FltS, FltD)),
                    2 => xd(pick(FeqS, FeqD)),
                    _ => ill,
                },
                0x18 if rm_ok => {
                    let op = match rs2 {
                        0 => pick(FcvtWS, FcvtWD),
                        1 => pick(FcvtWuS, FcvtWuD),
                        2 if rv64 => pick(FcvtLS, FcvtLD),
                        3 if rv64 => pick(FcvtLuS, FcvtLuD),
                        _ => return ill,
                    };
                    mk(op, rd, rs1, 0, rm, 4)
                }
                0x1a if rm_ok => {
                    let op = match rs2 {
                        0 => pick(FcvtSW, FcvtDW),
                        1 => pick(FcvtSWu, FcvtDWu),
                        2 if rv64 => pick(FcvtSL, FcvtDL),
                        3 if rv64 => pick(FcvtSLu, FcvtDLu),
                        _ => return ill,
                    };
                    fd1(op, rm)
                }
                0x1c if rs2 == 0 => match (f3, d) {
                    (0, false) => xd(FmvXW),
                    (0, true) if rv64 => xd(FmvXD),
                    (1, _) => xd(pick(FclassS, FclassD)),
                    _ => ill,
                },
                0x1e if rs2 == 0 && f3 == 0 => match d {
                    false => fd1(FmvWX, 0),
                    true if rv64 => fd1(FmvDX, 0),
                    true => ill,
                },
                _ => ill,
            }
        }
        _ => ill,
    }
}

#[inline]
fn bit(raw: u32, from: u32, to: u32) -> u32 {
    ((raw >> from) & 1) << to
}

/// Decodes a compressed (16-bit) instruction, whose low two bits are not `0b11`, into the
/// operation it expands to.
pub fn decode_compressed(raw: u16, xlen: Xlen) -> Insn {
    let rv64 = matches!(xlen, Xlen::Rv64);
    let raw = raw as u32;
    let ill = Insn::illegal(2);
    let f3 = raw >> 13;
    let rd = (raw >> 7) & 31; // also rs1 in CI/CR forms
    let rs2 = (raw >> 2) & 31;
    let rdp = ((raw >> 2) & 7) + 8; // rd' / rs2'
    let rs1p = ((raw >> 7) & 7) + 8; // rs1' / rd'
                                     // CI-form signed 6-bit immediate: imm[5] = bit 12, imm[4:0] = bits 6:2.
    let ci_imm = ((((raw >> 12) & 1) << 5 | ((raw >> 2) & 31)) as i32) << 26 >> 26;
    let c = |op, rd, rs1, rs2, imm| mk(op, rd, rs1, rs2, imm, 2);
    // FP loads keep f0 as a destination.
    let fp = |op, rd: u32, rs1: u32, rs2: u32, imm| Insn {
        op,
        rd: rd as u8,
        rs1: rs1 as u8,
        rs2: rs2 as u8,
        imm,
        len: 2,
    };
    let fpu = cfg!(feature = "fpu");
    match (raw & 3, f3) {
        (0, 0) => {
            let imm = bit(raw, 12, 5)
                | bit(raw, 11, 4)
                | (((raw >> 7) & 0xf) << 6)
                | bit(raw, 6, 2)
                | bit(raw, 5, 3);
            if imm == 0 {
                return ill;
            }
            c(Op::Addi, rdp, 2, 0, imm as i32)
        }
        (0, 2) => {
            let imm = (((raw >> 10) & 7) << 3) | bit(raw, 6, 2) | bit(raw, 5, 6);
            c(Op::Lw, rdp, rs1p, 0, imm as i32)
        }
        (0, 3) if rv64 => {
            let imm = (((raw >> 10) & 7) << 3) | (((raw >> 5) & 3) << 6);
            c(Op::Ld, rdp, rs1p, 0, imm as i32)
        }
        (0, 1) if fpu => {
            let imm = (((raw >> 10) & 7) << 3) | (((raw >> 5) & 3) << 6);
            fp(Op::Fld, rdp, rs1p, 0, imm as i32)
        }
        (0, 3) if fpu && !rv64 => {
            let imm = (((raw >> 10) & 7) << 3) | bit(raw, 6, 2) | bit(raw, 5, 6);
            fp(Op::Flw, rdp, rs1p, 0, imm as i32)
        }
        (0, 5) if fpu => {
            let imm = (((raw >> 10) & 7) << 3) | (((raw >> 5) & 3) << 6);
            c(Op::Fsd, 0, rs1p, rdp, imm as i32)
        }
        (0, 7) if fpu && !rv64 => {
            let imm = (((raw >> 10) & 7) << 3) | bit(raw, 6, 2) | bit(raw, 5, 6);
            c(Op::Fsw, 0, rs1p, rdp, imm as i32)
        }
        (0, 6) => {
            let imm = (((raw >> 10) & 7) << 3) | bit(raw, 6, 2) | bit(raw, 5, 6);
            c(Op::Sw, 0, rs1p, rdp, imm as i32)
        }
        (0, 7) if rv64 => {
            let imm = (((raw >> 10) & 7) << 3) | (((raw >> 5) & 3) << 6);
            c(Op::Sd, 0, rs1p, rdp, imm as i32)
        }
        (1, 0) => c(Op::Addi, rd, rd, 0, ci_imm),
        (1, 1) if !rv64 => c(Op::Jal, 1, 0, 0, cj_imm(raw)),
        (1, 1) => {
            if rd == 0 {
                return ill;
            }
            c(Op::Addiw, rd, rd, 0, ci_imm)
        }
        (1, 2) => c(Op::Addi, rd, 0, 0, ci_imm),
        (1, 3) if rd == 2 => {
            let imm = bit(raw, 12, 9)
                | bit(raw, 6, 4)
                | bit(raw, 5, 6)
                | (((raw >> 3) & 3) << 7)
                | bit(raw, 2, 5);
            let imm = (imm as i32) << 22 >> 22;
            if imm == 0 {
                return ill;
            }
            c(Op::Addi, 2, 2, 0, imm)
        }
        (1, 3) => {
            if ci_imm == 0 {
                return ill;
            }
            c(Op::Lui, rd, 0, 0, ci_imm << 12)
        }
        (1, 4) => {
            let shamt = bit(raw, 12, 5) | rs2;
            match (raw >> 10) & 3 {
                0 | 1 if !rv64 && shamt >= 32 => ill,
                0 => c(Op::Srli, rs1p, rs1p, 0, shamt as i32),
                1 => c(Op::Srai, rs1p, rs1p, 0, shamt as i32),
                2 => c(Op::Andi, rs1p, rs1p, 0, ci_imm),
                _ => {
                    let op = match ((raw >> 12) & 1, (raw >> 5) & 3) {
                        (0, 0) => Op::Sub,
                        (0, 1) => Op::Xor,
                        (0, 2) => Op::Or,
                        (0, 3) => Op::And,
                        (1, 0) if rv64 => Op::Subw,
                        (1, 1) if rv64 => Op::Addw,
                        _ => return ill,
                    };
                    c(op, rs1p, rs1p, rdp, 0)
                }
            }
        }
        (1, 5) => c(Op::Jal, 0, 0, 0, cj_imm(raw)),
        (1, 6) | (1, 7) => {
            let imm = bit(raw, 12, 8)
                | (((raw >> 10) & 3) << 3)
                | (((raw >> 5) & 3) << 6)
                | (((raw >> 3) & 3) << 1)
                | bit(raw, 2, 5);
            let imm = (imm as i32) << 23 >> 23;
            let op = if f3 == 6 { Op::Beq } else { Op::Bne };
            c(op, 0, rs1p, 0, imm)
        }
        (2, 0) => {
            let shamt = bit(raw, 12, 5) | rs2;
            if !rv64 && shamt >= 32 {
                return ill;
            }
            c(Op::Slli, rd, rd, 0, shamt as i32)
        }
        (2, 1) if fpu => {
            let imm = bit(raw, 12, 5) | (((raw >> 5) & 3) << 3) | (((raw >> 2) & 7) << 6);
            fp(Op::Fld, rd, 2, 0, imm as i32)
        }
        (2, 3) if fpu && !rv64 => {
            let imm = bit(raw, 12, 5) | (((raw >> 4) & 7) << 2) | (((raw >> 2) & 3) << 6);
            fp(Op::Flw, rd, 2, 0, imm as i32)
        }
        (2, 5) if fpu => {
            let imm = (((raw >> 10) & 7) << 3) | (((raw >> 7) & 7) << 6);
            c(Op::Fsd, 0, 2, rs2, imm as i32)
        }
        (2, 7) if fpu && !rv64 => {
            let imm = (((raw >> 9) & 0xf) << 2) | (((raw >> 7) & 3) << 6);
            c(Op::Fsw, 0, 2, rs2, imm as i32)
        }
        (2, 2) => {
            if rd == 0 {
                return ill;
            }
            let imm = bit(raw, 12, 5) | (((raw >> 4) & 7) << 2) | (((raw >> 2) & 3) << 6);
            c(Op::Lw, rd, 2, 0, imm as i32)
        }
        (2, 3) if rv64 => {
            if rd == 0 {
                return ill;
            }
            let imm = bit(raw, 12, 5) | (((raw >> 5) & 3) << 3) | (((raw >> 2) & 7) << 6);
            c(Op::Ld, rd, 2, 0, imm as i32)
        }
        (2, 4) => match ((raw >> 12) & 1, rd, rs2) {
            (0, 0, 0) => ill,
            (0, _, 0) => c(Op::Jalr, 0, rd, 0, 0),
            (0, _, _) => c(Op::Add, rd, 0, rs2, 0),
            (_, 0, 0) => c(Op::Ebreak, 0, 0, 0, 0),
            (_, _, 0) => c(Op::Jalr, 1, rd, 0, 0),
            _ => c(Op::Add, rd, rd, rs2, 0),
        },
        (2, 6) => {
            let imm = (((raw >> 9) & 0xf) << 2) | (((raw >> 7) & 3) << 6);
            c(Op::Sw, 0, 2, rs2, imm as i32)
        }
        (2, 7) if rv64 => {
            let imm = (((raw >> 10) & 7) << 3) | (((raw >> 7) & 7) << 6);
            c(Op::Sd, 0, 2, rs2, imm as i32)
        }
        _ => ill,
    }
}

/// The CJ-form jump offset: `[11|4|9:8|10|6|7|3:1|5]` in bits 12:2.
fn cj_imm(raw: u32) -> i32 {
    let imm = bit(raw, 12, 11)
        | bit(raw, 11, 4)
        | (((raw >> 9) & 3) << 8)
        | bit(raw, 8, 10)
        | bit(raw, 7, 6)
        | bit(raw, 6, 7)
        | (((raw >> 3) & 7) << 1)
        | bit(raw, 2, 5);
    (imm as i32) << 20 >> 20
}

/// Decodes whatever `raw` holds: a compressed instruction in its low half when its low two
/// bits are not `0b11`, otherwise a 32-bit one.
pub fn decode_any(raw: u32, xlen: Xlen) -> Insn {
    if raw & 3 == 3 {
        decode(raw, xlen)
    } else {
        decode_compressed(raw as u16, xlen)
    }
}
