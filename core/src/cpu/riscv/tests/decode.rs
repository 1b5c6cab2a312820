//! Decoder tests, and the differential test against `raki`.

use std::format;
use std::string::String;
use std::vec::Vec;

use raki::{
    AOpcode, BaseIOpcode, COpcode, Decode, Isa, MOpcode, OpcodeKind, PrivOpcode, ZicntrOpcode,
    ZicsrOpcode, ZifenceiOpcode,
};

use super::asm;
use crate::cpu::riscv::insn::DISCARD;
use crate::cpu::riscv::{decode, decode_compressed, Insn, Op, Xlen};

fn ins(op: Op, rd: u8, rs1: u8, rs2: u8, imm: i32, len: u8) -> Insn {
    Insn {
        op,
        rd: if rd == 0 { DISCARD } else { rd },
        rs1,
        rs2,
        imm,
        len,
    }
}

#[test]
fn decodes_known_words() {
    let x = Xlen::Rv32;
    assert_eq!(decode(0x00a0_0093, x), ins(Op::Addi, 1, 0, 0, 10, 4));
    assert_eq!(decode(asm::lui(5, 0xfffff000), x).imm, -4096);
    assert_eq!(decode(asm::jal(1, -8), x), ins(Op::Jal, 1, 0, 0, -8, 4));
    assert_eq!(
        decode(asm::beq(1, 2, -4096), x),
        ins(Op::Beq, 0, 1, 2, -4096, 4)
    );
    assert_eq!(decode(asm::sw(7, 2, -4), x), ins(Op::Sw, 0, 2, 7, -4, 4));
    assert_eq!(
        decode(asm::csrrw(3, 0x305, 4), x),
        ins(Op::Csrrw, 3, 4, 0, 0x305, 4)
    );
    // x0 destinations go to the discard slot.
    assert_eq!(decode(asm::addi(0, 1, 1), x).rd, DISCARD);
    assert_eq!(decode(asm::NOP, x).rd_arch(), 0);
    // RV64-only encodings are illegal on RV32.
    let ld = asm::load(3, 1, 2, 0);
    assert_eq!(decode(ld, Xlen::Rv32).op, Op::Illegal);
    assert_eq!(decode(ld, Xlen::Rv64).op, Op::Ld);
    assert_eq!(decode(0x0000_101b, Xlen::Rv32).op, Op::Illegal); // slliw
    assert_eq!(decode(0x0000_101b, Xlen::Rv64).op, Op::Slliw);
    // slli with shamt[5] set: RV64 only.
    let slli63 = asm::i(63, 1, 1, 1, 0x13);
    assert_eq!(decode(slli63, Xlen::Rv32).op, Op::Illegal);
    assert_eq!(decode(slli63, Xlen::Rv64), ins(Op::Slli, 1, 1, 0, 63, 4));
    assert_eq!(decode(0, x).op, Op::Illegal);
    assert_eq!(decode(0xffff_ffff, x).op, Op::Illegal);
    assert_eq!(decode(asm::WFI, x).op, Op::Wfi);
    assert_eq!(decode(asm::FENCE_I, x).op, Op::FenceI);
}

#[test]
fn decodes_compressed_words() {
    let x = Xlen::Rv32;
    assert_eq!(decode_compressed(0x4521, x), ins(Op::Addi, 10, 0, 0, 8, 2)); // c.li a0, 8
    assert_eq!(decode_compressed(0x6105, x), ins(Op::Addi, 2, 2, 0, 32, 2)); // c.addi16sp
    assert_eq!(decode_compressed(0x8082, x), ins(Op::Jalr, 0, 1, 0, 0, 2)); // c.jr ra (ret)
    assert_eq!(decode_compressed(0x9002, x), ins(Op::Ebreak, 0, 0, 0, 0, 2));
    assert_eq!(decode_compressed(0xc05c, x), ins(Op::Sw, 0, 8, 15, 4, 2)); // c.sw a5, 4(s0)
    assert_eq!(decode_compressed(0xb5e5, x), ins(Op::Jal, 0, 0, 0, -280, 2)); // c.j
    assert_eq!(decode_compressed(0x2001, x), ins(Op::Jal, 1, 0, 0, 0, 2)); // c.jal (RV32)
    assert_eq!(decode_compressed(0x2001, Xlen::Rv64).op, Op::Illegal); // c.addiw x0
    assert_eq!(decode_compressed(0x0000, x).op, Op::Illegal);
    assert_eq!(decode_compressed(0x4002, x).op, Op::Illegal); // c.lwsp x0
    assert_eq!(decode_compressed(0x8002, x).op, Op::Illegal); // c.jr x0
    assert_eq!(decode_compressed(0x6001, x).op, Op::Illegal); // c.lui x0, 0 (reserved)
    assert_eq!(decode_compressed(0x1082, x).op, Op::Illegal); // c.slli shamt[5] on RV32
    assert_eq!(decode_compressed(0x1082, Xlen::Rv64).op, Op::Slli);
    assert_eq!(decode_compressed(0x0001, x), ins(Op::Addi, 0, 0, 0, 0, 2)); // c.nop
}

// ----- the differential test ---------------------------------------------------------

/// What raki says about a word, in our vocabulary.
#[derive(Debug)]
enum Raki {
    /// Not an instruction.
    Illegal,
    /// An instruction of an extension this hart does not implement (Zicfiss).
    Unsupported,
    /// The operation and the operands raki reports (`None`: raki has no such field).
    Insn {
        op: Op,
        rd: Option<u8>,
        rs1: Option<u8>,
        rs2: Option<u8>,
        imm: Option<i32>,
    },
}

fn raki_view(raw: u32, compressed: bool, xlen: Xlen) -> Raki {
    let isa = match xlen {
        Xlen::Rv32 => Isa::Rv32,
        Xlen::Rv64 => Isa::Rv64,
    };
    let decoded = if compressed {
        (raw as u16).decode(isa)
    } else {
        raw.decode(isa)
    };
    let Ok(d) = decoded else {
        return Raki::Illegal;
    };
    let reg = |r: Option<usize>| r.map(|r| r as u8);
    let (mut rd, mut rs1, mut rs2, mut imm) = (reg(d.rd), reg(d.rs1), reg(d.rs2), d.imm);
    let op = match d.opc {
        OpcodeKind::BaseI(o) => {
            use BaseIOpcode as B;
            match o {
                B::LUI | B::AUIPC => {
                    imm = imm.map(|i| i << 12);
                    if o == B::LUI {
                        Op::Lui
                    } else {
                        Op::Auipc
                    }
                }
                B::JAL => Op::Jal,
                B::JALR => Op::Jalr,
                B::BEQ => Op::Beq,
                B::BNE => Op::Bne,
                B::BLT => Op::Blt,
                B::BGE => Op::Bge,
                B::BLTU => Op::Bltu,
                B::BGEU => Op::Bgeu,
                B::LB => Op::Lb,
                B::LH => Op::Lh,
                B::LW => Op::Lw,
                B::LBU => Op::Lbu,
                B::LHU => Op::Lhu,
                B::SB => Op::Sb,
                B::SH => Op::Sh,
                B::SW => Op::Sw,
                B::ADDI => Op::Addi,
                B::SLTI => Op::Slti,
                B::SLTIU => Op::Sltiu,
                B::XORI => Op::Xori,
                B::ORI => Op::Ori,
                B::ANDI => Op::Andi,
                B::SLLI => Op::Slli,
                B::SRLI => Op::Srli,
                B::SRAI => Op::Srai,
                B::ADD => Op::Add,
                B::SUB => Op::Sub,
                B::SLL => Op::Sll,
                B::SLT => Op::Slt,
                B::SLTU => Op::Sltu,
                B::XOR => Op::Xor,
                B::SRL => Op::Srl,
                B::SRA => Op::Sra,
                B::OR => Op::Or,
                B::AND => Op::And,
                B::ECALL => Op::Ecall,
                B::EBREAK => Op::Ebreak,
                B::LWU => Op::Lwu,
                B::LD => Op::Ld,
                B::SD => Op::Sd,
                B::ADDIW => Op::Addiw,
                B::SLLIW => Op::Slliw,
                B::SRLIW => Op::Srliw,
                B::SRAIW => Op::Sraiw,
                B::ADDW => Op::Addw,
                B::SUBW => Op::Subw,
                B::SLLW => Op::Sllw,
                B::SRLW => Op::Srlw,
                B::SRAW => Op::Sraw,
            }
        }
        OpcodeKind::M(o) => {
            use MOpcode as M;
            match o {
                M::MUL => Op::Mul,
                M::MULH => Op::Mulh,
                M::MULHSU => Op::Mulhsu,
                M::MULHU => Op::Mulhu,
                M::DIV => Op::Div,
                M::DIVU => Op::Divu,
                M::REM => Op::Rem,
                M::REMU => Op::Remu,
                M::MULW => Op::Mulw,
                M::DIVW => Op::Divw,
                M::DIVUW => Op::Divuw,
                M::REMW => Op::Remw,
                M::REMUW => Op::Remuw,
            }
        }
        OpcodeKind::A(o) => {
            use AOpcode as A;
            imm = None; // raki reports aq/rl there
            match o {
                A::LR_W => Op::LrW,
                A::SC_W => Op::ScW,
                A::AMOSWAP_W => Op::AmoswapW,
                A::AMOADD_W => Op::AmoaddW,
                A::AMOXOR_W => Op::AmoxorW,
                A::AMOAND_W => Op::AmoandW,
                A::AMOOR_W => Op::AmoorW,
                A::AMOMIN_W => Op::AmominW,
                A::AMOMAX_W => Op::AmomaxW,
                A::AMOMINU_W => Op::AmominuW,
                A::AMOMAXU_W => Op::AmomaxuW,
                A::LR_D => Op::LrD,
                A::SC_D => Op::ScD,
                A::AMOSWAP_D => Op::AmoswapD,
                A::AMOADD_D => Op::AmoaddD,
                A::AMOXOR_D => Op::AmoxorD,
                A::AMOAND_D => Op::AmoandD,
                A::AMOOR_D => Op::AmoorD,
                A::AMOMIN_D => Op::AmominD,
                A::AMOMAX_D => Op::AmomaxD,
                A::AMOMINU_D => Op::AmominuD,
                A::AMOMAXU_D => Op::AmomaxuD,
            }
        }
        OpcodeKind::Zifencei(ZifenceiOpcode::FENCE) => {
            // We keep fm/pred/succ as an unsigned 12-bit field; rd/rs1 are ignored.
            (rd, rs1) = (None, None);
            Op::Fence
        }
        OpcodeKind::Zicsr(o) => {
            use ZicsrOpcode as Z;
            // raki: rs2 = CSR number, imm = uimm for the *i forms.
            let csr = rs2.take().map(|_| (raw >> 20) as i32);
            if let Some(u) = imm {
                rs1 = Some(u as u8);
            }
            imm = csr;
            match o {
                Z::CSRRW => Op::Csrrw,
                Z::CSRRS => Op::Csrrs,
                Z::CSRRC => Op::Csrrc,
                Z::CSRRWI => Op::Csrrwi,
                Z::CSRRSI => Op::Csrrsi,
                Z::CSRRCI => Op::Csrrci,
            }
        }
        OpcodeKind::Zicntr(o) => {
            // rdcycle & co: `csrrs rd, counter, rs1` (raki drops rs1).
            let _: ZicntrOpcode = o;
            (rs1, rs2) = (None, None);
            imm = Some((raw >> 20) as i32);
            Op::Csrrs
        }
        OpcodeKind::Priv(o) => match o {
            PrivOpcode::SRET => Op::Sret,
            PrivOpcode::MRET => Op::Mret,
            PrivOpcode::WFI => Op::Wfi,
            PrivOpcode::SFENCE_VMA => {
                rd = None;
                Op::SfenceVma
            }
        },
        OpcodeKind::C(o) => {
            use COpcode as C;
            // Expand to the 32-bit operation with our operand conventions.
            let r = |v: Option<u8>| v;
            match o {
                C::ADDI4SPN => {
                    rs1 = Some(2);
                    Op::Addi
                }
                C::LW => Op::Lw,
                C::LD => Op::Ld,
                C::SW => Op::Sw,
                C::SD => Op::Sd,
                C::NOP => {
                    (rd, rs1) = (Some(0), Some(0));
                    Op::Addi
                }
                C::ADDI => Op::Addi,
                C::ADDIW => Op::Addiw,
                C::JAL => {
                    rd = Some(1);
                    Op::Jal
                }
                C::J => {
                    rd = Some(0);
                    Op::Jal
                }
                C::LI => {
                    rs1 = Some(0);
                    Op::Addi
                }
                C::ADDI16SP => Op::Addi,
                C::LUI => Op::Lui,
                C::SRLI => Op::Srli,
                C::SRAI => Op::Srai,
                C::ANDI => Op::Andi,
                C::SUB => Op::Sub,
                C::XOR => Op::Xor,
                C::OR => Op::Or,
                C::AND => Op::And,
                C::SUBW => Op::Subw,
                C::ADDW => Op::Addw,
                C::BEQZ => {
                    rs2 = Some(0);
                    Op::Beq
                }
                C::BNEZ => {
                    rs2 = Some(0);
                    Op::Bne
                }
                C::SLLI => {
                    rs1 = r(rd);
                    Op::Slli
                }
                C::LWSP | C::LDSP => {
                    rs1 = Some(2);
                    if o == C::LWSP {
                        Op::Lw
                    } else {
                        Op::Ld
                    }
                }
                C::SWSP | C::SDSP => {
                    rs1 = Some(2);
                    if o == C::SWSP {
                        Op::Sw
                    } else {
                        Op::Sd
                    }
                }
                C::JR => {
                    (rd, rs2, imm) = (Some(0), None, Some(0));
                    Op::Jalr
                }
                C::JALR => {
                    (rd, rs2, imm) = (Some(1), None, Some(0));
                    Op::Jalr
                }
                C::MV => {
                    rs1 = Some(0);
                    Op::Add
                }
                C::ADD => {
                    rs1 = r(rd);
                    Op::Add
                }
                C::EBREAK => Op::Ebreak,
            }
        }
        OpcodeKind::Zicboz(_) => {
            (rd, rs2, imm) = (Some(0), None, None);
            Op::CboZero
        }
        OpcodeKind::Zicfiss(_) => return Raki::Unsupported,
    };
    Raki::Insn {
        op,
        rd,
        rs1,
        rs2,
        imm,
    }
}

/// Encodings that the spec reserves (or that need an extension we do not implement) but
/// raki 1.3 accepts: raki does not check these fields.
fn raki_too_lax(raw: u32, compressed: bool, xlen: Xlen) -> bool {
    let rv32 = xlen == Xlen::Rv32;
    if compressed {
        let q = raw & 3;
        let f3 = (raw >> 13) & 7;
        let rd = (raw >> 7) & 31;
        let rs2 = (raw >> 2) & 31;
        let b12 = (raw >> 12) & 1;
        let ci0 = b12 == 0 && rs2 == 0;
        return match (q, f3) {
            (0, 0) => (raw >> 5) & 0xff == 0, // c.addi4spn, nzuimm = 0
            (1, 1) => !rv32 && rd == 0,       // c.addiw x0
            (1, 3) => ci0,                    // c.lui/c.addi16sp, imm 0
            (1, 4) => rv32 && (raw >> 11) & 1 == 0 && b12 == 1, // c.srli/srai shamt[5]
            (2, 0) => rv32 && b12 == 1,       // c.slli shamt[5]
            (2, 2) | (2, 3) => rd == 0,       // c.lwsp/ldsp x0
            (2, 4) => b12 == 0 && rd == 0 && rs2 == 0, // c.jr x0
            _ => false,
        };
    }
    let opcode = raw & 0x7f;
    let f3 = (raw >> 12) & 7;
    let rd = (raw >> 7) & 31;
    let rs1 = (raw >> 15) & 31;
    let rs2 = (raw >> 20) & 31;
    match opcode {
        0x67 => f3 != 0,                            // jalr with funct3 != 0
        0x73 if f3 == 0 => rd != 0 || rs1 != 0,     // ecall/ebreak/sfence fields
        0x2f => (raw >> 27) == 0b00010 && rs2 != 0, // lr with rs2 != 0
        // OP with a funct7 that no extension of ours defines for this funct3
        0x33 => !matches!((raw >> 25, f3), (0, _) | (1, _) | (0x20, 0) | (0x20, 5)),
        // RV64 word shifts and ops with a funct7 that is not defined for them
        0x1b => f3 == 1 && raw >> 25 != 0,
        0x3b => !matches!(
            (raw >> 25, f3),
            (0, 0 | 1 | 5) | (0x20, 0 | 5) | (1, 0 | 4 | 5 | 6 | 7)
        ),
        _ => false,
    }
}

/// Whether `raw` is in an F/D major opcode (or a compressed FP load/store slot).
fn is_fp_encoding(raw: u32, compressed: bool, xlen: Xlen) -> bool {
    if compressed {
        let q = raw & 3;
        let f3 = (raw >> 13) & 7;
        let rv32 = xlen == Xlen::Rv32;
        return matches!((q, f3), (0, 1) | (0, 5) | (2, 1) | (2, 5))
            || (rv32 && matches!((q, f3), (0, 3) | (0, 7) | (2, 3) | (2, 7)));
    }
    matches!(raw & 0x7f, 0x07 | 0x27 | 0x43 | 0x47 | 0x4b | 0x4f | 0x53)
}

fn compare(raw: u32, compressed: bool, xlen: Xlen, out: &mut Vec<String>) {
    let ours = if compressed {
        decode_compressed(raw as u16, xlen)
    } else {
        decode(raw, xlen)
    };
    // raki 1.3 has no F or D: those encodings are checked against GNU as in
    // `decodes_fp_words` instead.
    if is_fp_encoding(raw, compressed, xlen) {
        return;
    }
    // Nor Zb*, Zicond or Zicbom: `ext_words_match_gnu_objdump` checks those (and raki
    // decodes some of their encodings as base shifts that ignore funct7 bits).
    if !compressed && is_new_op(ours.op) && ours.op != Op::CboZero {
        return;
    }
    let theirs = raki_view(raw, compressed, xlen);
    let legal = ours.op != Op::Illegal;
    let ok = match &theirs {
        Raki::Illegal => !legal || ours.op == Op::FenceI, // raki does not know fence.i
        Raki::Unsupported => !legal,
        Raki::Insn {
            op,
            rd,
            rs1,
            rs2,
            imm,
        } => {
            if !legal {
                raki_too_lax(raw, compressed, xlen)
            } else {
                let rd_slot = rd.map(|r| if r == 0 { DISCARD } else { r });
                // raki's c.ebreak ignores rs2: `c.add x0, rs2` is a HINT that we decode.
                let hint_add = compressed && *op == Op::Ebreak && ours.op == Op::Add;
                hint_add
                    || (*op == ours.op
                        && rd_slot.is_none_or(|r| r == ours.rd)
                        && rs1.is_none_or(|r| r == ours.rs1)
                        && rs2.is_none_or(|r| r == ours.rs2)
                        && imm.is_none_or(|i| i == ours.imm)
                        && ours.len == if compressed { 2 } else { 4 })
            }
        }
    };
    if !ok && out.len() < 12 {
        out.push(format!(
            "{xlen:?} {raw:#010x}: ours {ours:?}, raki {theirs:?}"
        ));
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn differential_every_compressed_word() {
    let mut bad = Vec::new();
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        for raw in 0..=0xffffu32 {
            if raw & 3 != 3 {
                compare(raw, true, xlen, &mut bad);
            }
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The major opcodes we (or raki) know, so that random words hit real instructions often.
const MAJOR: [u32; 14] = [
    0x37, 0x17, 0x6f, 0x67, 0x63, 0x03, 0x23, 0x13, 0x1b, 0x33, 0x3b, 0x0f, 0x73, 0x2f,
];

#[test]
#[cfg_attr(miri, ignore)]
fn differential_random_32bit_words() {
    let mut bad = Vec::new();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    for n in 0..200_000u32 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let mut raw = (x >> 16) as u32 | 3;
        if n % 4 != 0 {
            raw = (raw & !0x7f) | MAJOR[(x % MAJOR.len() as u64) as usize];
        }
        if n % 8 == 1 {
            // Plausible funct7 values for OP/OP-32/OP-IMM shifts.
            raw = (raw & 0x01ff_ffff) | [0u32, 0x20, 1][(x >> 40) as usize % 3] << 25;
        }
        for xlen in [Xlen::Rv32, Xlen::Rv64] {
            compare(raw, false, xlen, &mut bad);
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ----- F and D against GNU objdump --------------------------------------------------

/// The operation GNU's mnemonic names.
#[cfg(feature = "fpu")]
fn fp_op(m: &str) -> Option<Op> {
    use Op::*;
    let m = m.strip_prefix("c.").unwrap_or(m);
    Some(match m {
        "flw" | "flwsp" => Flw,
        "fld" | "fldsp" => Fld,
        "fsw" | "fswsp" => Fsw,
        "fsd" | "fsdsp" => Fsd,
        "fmadd.s" => FmaddS,
        "fmsub.s" => FmsubS,
        "fnmsub.s" => FnmsubS,
        "fnmadd.s" => FnmaddS,
        "fmadd.d" => FmaddD,
        "fmsub.d" => FmsubD,
        "fnmsub.d" => FnmsubD,
        "fnmadd.d" => FnmaddD,
        "fadd.s" => FaddS,
        "fsub.s" => FsubS,
        "fmul.s" => FmulS,
        "fdiv.s" => FdivS,
        "fsqrt.s" => FsqrtS,
        "fsgnj.s" => FsgnjS,
        "fsgnjn.s" => FsgnjnS,
        "fsgnjx.s" => FsgnjxS,
        "fmin.s" => FminS,
        "fmax.s" => FmaxS,
        "fcvt.w.s" => FcvtWS,
        "fcvt.wu.s" => FcvtWuS,
        "fcvt.l.s" => FcvtLS,
        "fcvt.lu.s" => FcvtLuS,
        "fmv.x.w" => FmvXW,
        "fclass.s" => FclassS,
        "feq.s" => FeqS,
        "flt.s" => FltS,
        "fle.s" => FleS,
        "fcvt.s.w" => FcvtSW,
        "fcvt.s.wu" => FcvtSWu,
        "fcvt.s.l" => FcvtSL,
        "fcvt.s.lu" => FcvtSLu,
        "fmv.w.x" => FmvWX,
        "fadd.d" => FaddD,
        "fsub.d" => FsubD,
        "fmul.d" => FmulD,
        "fdiv.d" => FdivD,
        "fsqrt.d" => FsqrtD,
        "fsgnj.d" => FsgnjD,
        "fsgnjn.d" => FsgnjnD,
        "fsgnjx.d" => FsgnjxD,
        "fmin.d" => FminD,
        "fmax.d" => FmaxD,
        "fcvt.w.d" => FcvtWD,
        "fcvt.wu.d" => FcvtWuD,
        "fcvt.l.d" => FcvtLD,
        "fcvt.lu.d" => FcvtLuD,
        "fmv.x.d" => FmvXD,
        "fclass.d" => FclassD,
        "feq.d" => FeqD,
        "flt.d" => FltD,
        "fle.d" => FleD,
        "fcvt.d.w" => FcvtDW,
        "fcvt.d.wu" => FcvtDWu,
        "fcvt.d.l" => FcvtDL,
        "fcvt.d.lu" => FcvtDLu,
        "fmv.d.x" => FmvDX,
        "fcvt.s.d" => FcvtSD,
        "fcvt.d.s" => FcvtDS,
        _ => return None,
    })
}

/// What objdump's line says the decoder must produce (`None`: illegal).
#[cfg(feature = "fpu")]
fn from_objdump(raw: u32, compressed: bool, text: &str) -> Option<Insn> {
    use Op::*;
    if text.starts_with('.') || text.contains("unknown") {
        return None;
    }
    // objdump appends `# <address>` to loads and stores based on x0.
    let text = text.split(" #").next().unwrap_or(text);
    let (mnemonic, args) = text.split_once(' ').unwrap_or((text, ""));
    let op = fp_op(mnemonic).unwrap_or_else(|| panic!("unexpected mnemonic in {text:?}"));
    let mut regs = Vec::new();
    let mut imm = None;
    let mut rm = None;
    for a in args.split(',') {
        let a = a.trim();
        if let Some((off, base)) = a.split_once('(') {
            imm = Some(off.parse::<i32>().unwrap());
            regs.push(base.trim_matches(&['x', ')'][..]).parse::<u8>().unwrap());
        } else if let Ok(r) = a[1..].parse::<u8>() {
            regs.push(r);
        } else {
            rm = Some(match a {
                "rne" => 0,
                "rtz" => 1,
                "rdn" => 2,
                "rup" => 3,
                "rmm" => 4,
                "dyn" => 7,
                _ => panic!("unexpected operand in {text:?}"),
            });
        }
    }
    let len = if compressed { 2 } else { 4 };
    let rm = rm.unwrap_or(((raw >> 12) & 7) as i32);
    let slot = |r: u8| if r == 0 { DISCARD } else { r };
    let ins = |op, rd, rs1, rs2, imm| Insn {
        op,
        rd,
        rs1,
        rs2,
        imm,
        len,
    };
    Some(match op {
        Flw | Fld => ins(op, regs[0], regs[1], 0, imm.unwrap()),
        Fsw | Fsd => ins(op, DISCARD, regs[1], regs[0], imm.unwrap()),
        FmaddS | FmsubS | FnmsubS | FnmaddS | FmaddD | FmsubD | FnmsubD | FnmaddD => {
            ins(op, regs[0], regs[1], regs[2], rm | (regs[3] as i32) << 3)
        }
        FaddS | FsubS | FmulS | FdivS | FaddD | FsubD | FmulD | FdivD => {
            ins(op, regs[0], regs[1], regs[2], rm)
        }
        FsgnjS | FsgnjnS | FsgnjxS | FminS | FmaxS | FsgnjD | FsgnjnD | FsgnjxD | FminD | FmaxD => {
            ins(op, regs[0], regs[1], regs[2], 0)
        }
        FeqS | FltS | FleS | FeqD | FltD | FleD => ins(op, slot(regs[0]), regs[1], regs[2], 0),
        FclassS | FclassD | FmvXW | FmvXD => ins(op, slot(regs[0]), regs[1], 0, 0),
        FmvWX | FmvDX => ins(op, regs[0], regs[1], 0, 0),
        FcvtWS | FcvtWuS | FcvtLS | FcvtLuS | FcvtWD | FcvtWuD | FcvtLD | FcvtLuD => {
            ins(op, slot(regs[0]), regs[1], 0, rm)
        }
        _ => ins(op, regs[0], regs[1], 0, rm), // fsqrt, fcvt to FP
    })
}

/// Every word of `fp_words` (GNU objdump's disassembly, generated by `gen_fp_words.py`)
/// decodes to what objdump says, or is illegal where objdump does not know it. One known
/// difference: binutils accepts the exact conversions `fcvt.d.w`, `fcvt.d.wu` and
/// `fcvt.d.s` only with `rm` = 0, while the spec gives them an `rm` field like any other
/// (QEMU accepts every valid mode there and raises illegal instruction for 5 and 6, as we
/// do).
#[test]
#[cfg(feature = "fpu")]
#[cfg_attr(miri, ignore)]
fn fp_words_match_gnu_objdump() {
    let mut bad = Vec::new();
    let mut known = 0;
    for &(raw, rv64, compressed, text) in super::fp_words::WORDS {
        let xlen = if rv64 { Xlen::Rv64 } else { Xlen::Rv32 };
        let ours = if compressed {
            decode_compressed(raw as u16, xlen)
        } else {
            decode(raw, xlen)
        };
        let want = from_objdump(raw, compressed, text);
        let rm = (raw >> 12) & 7;
        let exact_cvt = matches!(ours.op, Op::FcvtDW | Op::FcvtDWu | Op::FcvtDS);
        if want.is_none() && exact_cvt && rm != 0 && rm != 5 && rm != 6 {
            continue;
        }
        known += want.is_some() as usize;
        let ok = match want {
            None => ours.op == Op::Illegal,
            Some(w) => ours == w,
        };
        if !ok && bad.len() < 12 {
            bad.push(format!("{xlen:?} {raw:#010x} {text:?}: ours {ours:?}"));
        }
    }
    assert!(known > 2000, "only {known} legal words");
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

// ----- Zb*, Zicbo*, Zihintpause and Zicond against GNU objdump ----------------------

/// The operation an objdump mnemonic of the new extensions names (`None`: another one).
#[cfg(feature = "ext")]
fn ext_op(m: &str) -> Option<Op> {
    use Op::*;
    Some(match m {
        "sh1add" => Sh1add,
        "sh2add" => Sh2add,
        "sh3add" => Sh3add,
        "add.uw" => AddUw,
        "sh1add.uw" => Sh1addUw,
        "sh2add.uw" => Sh2addUw,
        "sh3add.uw" => Sh3addUw,
        "slli.uw" => SlliUw,
        "andn" => Andn,
        "orn" => Orn,
        "xnor" => Xnor,
        "clz" => Clz,
        "ctz" => Ctz,
        "cpop" => Cpop,
        "clzw" => Clzw,
        "ctzw" => Ctzw,
        "cpopw" => Cpopw,
        "max" => Max,
        "maxu" => Maxu,
        "min" => Min,
        "minu" => Minu,
        "sext.b" => SextB,
        "sext.h" => SextH,
        "zext.h" => ZextH,
        "rol" => Rol,
        "ror" => Ror,
        "rori" => Rori,
        "rolw" => Rolw,
        "rorw" => Rorw,
        "roriw" => Roriw,
        "orc.b" => OrcB,
        "rev8" => Rev8,
        "clmul" => Clmul,
        "clmulh" => Clmulh,
        "clmulr" => Clmulr,
        "bclr" => Bclr,
        "bclri" => Bclri,
        "bext" => Bext,
        "bexti" => Bexti,
        "binv" => Binv,
        "binvi" => Binvi,
        "bset" => Bset,
        "bseti" => Bseti,
        "cbo.clean" => CboClean,
        "cbo.flush" => CboFlush,
        "cbo.inval" => CboInval,
        "cbo.zero" => CboZero,
        _ => return None,
    })
}

fn is_new_op(op: Op) -> bool {
    op.is_bitmanip() || matches!(op, Op::CboClean | Op::CboFlush | Op::CboInval | Op::CboZero)
}

/// Checks one word against objdump's text (`None`: objdump does not know it); gives a
/// complaint on a mismatch.
#[cfg(feature = "ext")]
fn check_ext_word(raw: u32, xlen: Xlen, text: Option<&str>) -> Option<String> {
    let ours = decode(raw, xlen);
    let opcode = raw & 0x7f;
    let f3 = (raw >> 12) & 7;
    // fence and fence.i: binutils refuses nonzero reserved fields that the spec says to
    // ignore; the raki test covers them.
    if opcode == 0x0f && f3 < 2 {
        return None;
    }
    let (rd, rs1, rs2) = ((raw >> 7) & 31, (raw >> 15) & 31, (raw >> 20) & 31);
    let want: Option<Insn> = match text {
        None => {
            // binutils 2.40 has no Zicond: the encoding from the Zicond 1.0 spec.
            let f7 = raw >> 25;
            match (opcode, f7, f3) {
                (0x33, 7, 5) => Some(ins(Op::CzeroEqz, rd as u8, rs1 as u8, rs2 as u8, 0, 4)),
                (0x33, 7, 7) => Some(ins(Op::CzeroNez, rd as u8, rs1 as u8, rs2 as u8, 0, 4)),
                _ => None,
            }
        }
        Some(text) => {
            let (m, args) = text.split_once(' ').unwrap_or((text, ""));
            if m.starts_with("prefetch.") {
                // Zicbop: `ori x0, rs1, imm`, a hint.
                Some(Insn {
                    op: Op::Ori,
                    rd: DISCARD,
                    rs1: rs1 as u8,
                    rs2: 0,
                    imm: (raw as i32) >> 20,
                    len: 4,
                })
            } else if let Some(op) = ext_op(m) {
                let nums: Vec<i64> = args
                    .split([',', '(', ')'])
                    .filter(|a| !a.is_empty())
                    .map(|a| {
                        a.strip_prefix('x')
                            .map(|r| r.parse().unwrap())
                            .or_else(|| {
                                a.strip_prefix("0x")
                                    .map(|h| i64::from_str_radix(h, 16).unwrap())
                            })
                            .unwrap_or_else(|| a.parse().unwrap())
                    })
                    .collect();
                let n = |k: usize| nums[k] as u8;
                let imm_form = matches!(
                    op,
                    Op::Rori
                        | Op::Roriw
                        | Op::Bclri
                        | Op::Bexti
                        | Op::Binvi
                        | Op::Bseti
                        | Op::SlliUw
                );
                Some(match nums.len() {
                    1 => ins(op, 0, n(0), 0, 0, 4),    // cbo.* (rs1)
                    2 => ins(op, n(0), n(1), 0, 0, 4), // unary
                    // binutils accepts RV32 shift amounts of 32..63: reserved.
                    _ if imm_form && xlen == Xlen::Rv32 && nums[2] >= 32 => {
                        return (ours.op != Op::Illegal)
                            .then(|| format!("{xlen:?} {raw:#010x} {text:?}: ours {ours:?}"));
                    }
                    _ if imm_form => ins(op, n(0), n(1), 0, nums[2] as i32, 4),
                    _ => ins(op, n(0), n(1), n(2), 0, 4),
                })
            } else {
                // A base-ISA instruction: none of ours (raki checks the rest; binutils
                // accepts RV32 shift amounts with bit 5 set, which are reserved).
                let ok = !is_new_op(ours.op);
                return (!ok).then(|| format!("{xlen:?} {raw:#010x} {text:?}: ours {ours:?}"));
            }
        }
    };
    let ok = match want {
        None => ours.op == Op::Illegal,
        Some(w) => ours == w,
    };
    (!ok).then(|| format!("{xlen:?} {raw:#010x} {text:?}: ours {ours:?}, want {want:?}"))
}

/// Every word of `ext_words` (GNU objdump's disassembly, generated by
/// `gen_ext_words.py`) decodes to what objdump says, is illegal where objdump does not
/// know it, except Zicond (not in binutils 2.40), checked against its specification.
#[test]
#[cfg(feature = "ext")]
#[cfg_attr(miri, ignore)]
fn ext_words_match_gnu_objdump() {
    use super::ext_words::{UNKNOWN_RV32, UNKNOWN_RV64, WORDS};
    let mut bad = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for &(raw, rv64, text) in WORDS {
        let xlen = if rv64 { Xlen::Rv64 } else { Xlen::Rv32 };
        seen.insert(decode(raw, xlen).op as u8);
        bad.extend(check_ext_word(raw, xlen, Some(text)));
    }
    for (xlen, words) in [(Xlen::Rv32, UNKNOWN_RV32), (Xlen::Rv64, UNKNOWN_RV64)] {
        for &raw in words {
            seen.insert(decode(raw, xlen).op as u8);
            bad.extend(check_ext_word(raw, xlen, None));
        }
    }
    // Every new operation is among the words.
    for op in Op::Sh1add as u8..=Op::CboZero as u8 {
        assert!(seen.contains(&op), "operation {op} never decoded");
    }
    bad.truncate(12);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
