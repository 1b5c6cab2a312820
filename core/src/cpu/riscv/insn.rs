//! The decoded form of one instruction: what [`decode`](mod@super::decode) produces and the
//! interpreter in [`hart`](super::hart) executes. 32-bit and compressed encodings decode to
//! the same [`Op`]s, so the executor knows nothing about C.

/// Register index that receives writes to `x0`: the register file has a slot past x31 and the
/// decoder maps `rd = 0` (and "no destination") to this one, so the executor writes
/// `regs[rd]` unconditionally and `x0` (slot 0) stays zero.
pub const DISCARD: u8 = 32;

/// One operation. A flat enum: RV32I, M, A, Zicsr, Zifencei, the privileged instructions,
/// the RV64-only operations (decoded only for [`Xlen::Rv64`](super::Xlen::Rv64)), F
/// and D, the bit-manipulation and conditional-zero operations, and the cache-block
/// operations. Zihintpause's `pause` is a [`Op::Fence`] and Zicbop's prefetches are
/// [`Op::Ori`]s to `x0`, as their encodings are.
#[allow(missing_docs)] // the names are the mnemonics
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Op {
    // RV32I
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Fence,
    Ecall,
    Ebreak,
    // Zifencei
    FenceI,
    // Privileged
    Sret,
    Mret,
    Wfi,
    SfenceVma,
    // Zicsr (imm = CSR number; for the *i forms rs1 holds the 5-bit immediate)
    Csrrw,
    Csrrs,
    Csrrc,
    Csrrwi,
    Csrrsi,
    Csrrci,
    // M
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    // Fused pairs: never produced by `decode`, only by `block`'s fusion pass in a decoded
    // block (see `block::fuse`), where the block executor runs the named operation and
    // then the `addi` in the block's next slot in one dispatch. [`Op::unfused`] gives the
    // first instruction's own operation back.
    LwAddi,
    LbuAddi,
    AddiAddi,
    MulAddi,
    SlliAddi,
    AddAddi,
    AndAddi,
    // The named operation, then the conditional branch in the next slot.
    AddiBr,
    AddBr,
    XorBr,
    SrliBr,
    AndiBr,
    LwBr,
    SwBr,
    SbBr,
    SlliBr,
    // The named operation, then the one after it (`andi` then `sub`: `-(x & 1)`, a mask
    // from a bit; `slli` then `srai`: a sign extension).
    AndiSub,
    SlliSrai,
    SlliXor,
    AddiMul,
    AddiAdd,
    LwLw,
    SwSw,
    // A conditional branch, then (when it is not taken) the one after it.
    BeqBr,
    BneBr,
    BeqSw,
    BeqAddi,
    BneLw,
    // Three instructions: the named two, then the conditional branch after them (a byte
    // store loop's pointer step, store and test).
    AddiSbBr,
    // (`mv`, an `add` from x0, then `xor` then the test: a CRC step.)
    AddXorBr,
    // Three instructions, none a branch (`srli`, `and`, `addi`: a bitwise CRC step).
    SrliAndAddi,
    // (A running sum stored, then tested: `bench_trap`'s loop.)
    AddSwBr,
    // A (aq/rl are not kept: every AMO is sequentially consistent)
    LrW,
    ScW,
    AmoswapW,
    AmoaddW,
    AmoxorW,
    AmoandW,
    AmoorW,
    AmominW,
    AmomaxW,
    AmominuW,
    AmomaxuW,
    // RV64I (kept contiguous from `Addiw` to `Remuw`: see `Op::is_word`)
    Ld,
    Lwu,
    Sd,
    Addiw,
    Slliw,
    Srliw,
    Sraiw,
    Addw,
    Subw,
    Sllw,
    Srlw,
    Sraw,
    // RV64M
    Mulw,
    Divw,
    Divuw,
    Remw,
    Remuw,
    // RV64A
    LrD,
    ScD,
    AmoswapD,
    AmoaddD,
    AmoxorD,
    AmoandD,
    AmoorD,
    AmominD,
    AmomaxD,
    AmominuD,
    AmomaxuD,
    // F and D (the `fpu` feature). `rd` is the raw FP register for the operations that
    // write an FP register, the usual slot for those that write an integer one; `imm` is
    // the offset for loads and stores, otherwise `rm | rs3 << 3`. Kept contiguous, from
    // `Flw` to `FcvtDS` (see `Op::is_fp`).
    Flw,
    Fsw,
    Fld,
    Fsd,
    FmaddS,
    FmsubS,
    FnmsubS,
    FnmaddS,
    FmaddD,
    FmsubD,
    FnmsubD,
    FnmaddD,
    FaddS,
    FsubS,
    FmulS,
    FdivS,
    FsqrtS,
    FsgnjS,
    FsgnjnS,
    FsgnjxS,
    FminS,
    FmaxS,
    FcvtWS,
    FcvtWuS,
    FcvtLS,
    FcvtLuS,
    FmvXW,
    FclassS,
    FeqS,
    FltS,
    FleS,
    FcvtSW,
    FcvtSWu,
    FcvtSL,
    FcvtSLu,
    FmvWX,
    FaddD,
    FsubD,
    FmulD,
    FdivD,
    FsqrtD,
    FsgnjD,
    FsgnjnD,
    FsgnjxD,
    FminD,
    FmaxD,
    FcvtWD,
    FcvtWuD,
    FcvtLD,
    FcvtLuD,
    FmvXD,
    FclassD,
    FeqD,
    FltD,
    FleD,
    FcvtDW,
    FcvtDWu,
    FcvtDL,
    FcvtDLu,
    FmvDX,
    FcvtSD,
    FcvtDS,
    // Zba, Zbb, Zbc, Zbs and Zicond (`bitmanip`): register-to-register ALU operations,
    // kept contiguous from `Sh1add` to `CzeroNez` (see `Op::is_bitmanip`). The immediate
    // forms take their shift amount or bit index in `imm`; the unary ones use only `rs1`.
    // The `W`/`Uw` forms are RV64 only.
    Sh1add,
    Sh2add,
    Sh3add,
    AddUw,
    Sh1addUw,
    Sh2addUw,
    Sh3addUw,
    SlliUw,
    Andn,
    Orn,
    Xnor,
    Clz,
    Ctz,
    Cpop,
    Clzw,
    Ctzw,
    Cpopw,
    Max,
    Maxu,
    Min,
    Minu,
    SextB,
    SextH,
    ZextH,
    Rol,
    Ror,
    Rori,
    Rolw,
    Rorw,
    Roriw,
    OrcB,
    Rev8,
    Clmul,
    Clmulh,
    Clmulr,
    Bclr,
    Bclri,
    Bext,
    Bexti,
    Binv,
    Binvi,
    Bset,
    Bseti,
    CzeroEqz,
    CzeroNez,
    // Zicbom and Zicboz: `rs1` holds the address (no offset).
    CboClean,
    CboFlush,
    CboInval,
    CboZero,
    /// Not a valid instruction for this hart: raises an illegal-instruction exception.
    Illegal,
}

/// A decoded instruction.
///
/// * `rd` is [`DISCARD`] when the instruction writes no register or writes `x0`.
/// * `rs1`/`rs2` are 0 when unused (reading `x0` is harmless).
/// * `imm` is the sign-extended immediate; for CSR instructions the CSR number; for
///   shifts the shift amount; for `fence` the `fm/pred/succ` bits.
/// * `len` is 2 or 4, the size of the encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Insn {
    /// The operation.
    pub op: Op,
    /// Destination register slot (0..=32, never 0).
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// Immediate (see the type docs).
    pub imm: i32,
    /// Encoding length in bytes: 2 or 4.
    pub len: u8,
}

impl Op {
    /// Whether this is an F or D operation (executed by `fpu`).
    #[inline]
    pub fn is_fp(self) -> bool {
        (Op::Flw as u8..=Op::FcvtDS as u8).contains(&(self as u8))
    }

    /// Whether this is an RV32I/M operation that neither jumps nor branches nor leaves the
    /// integer registers and memory: `lui`, `auipc`, the loads and stores of up to a word,
    /// the register-immediate and register-register ALU operations and M's multiplies and
    /// divides. The block executor runs these inside a block (`block::is_straight`) and
    /// the translating tier translates them (`fief_host::jit::x86::translates`): the one
    /// list both start from.
    #[inline]
    pub fn is_integer_compute(self) -> bool {
        use Op::*;
        matches!(
            self,
            Lui | Auipc
                | Lb
                | Lh
                | Lw
                | Lbu
                | Lhu
                | Sb
                | Sh
                | Sw
                | Addi
                | Slti
                | Sltiu
                | Xori
                | Ori
                | Andi
                | Slli
                | Srli
                | Srai
                | Add
                | Sub
                | Sll
                | Slt
                | Sltu
                | Xor
                | Srl
                | Sra
                | Or
                | And
                | Mul
                | Mulh
                | Mulhsu
                | Mulhu
                | Div
                | Divu
                | Rem
                | Remu
        )
    }

    /// Whether this is one of RV64's word ALU operations, `Addiw` to `Remuw` (executed by
    /// `word`).
    #[inline]
    pub fn is_word(self) -> bool {
        (Op::Addiw as u8..=Op::Remuw as u8).contains(&(self as u8))
    }

    /// The operation of a fused pair's first instruction (see [`Op::LwAddi`]); any other
    /// operation unchanged.
    #[inline]
    pub fn unfused(self) -> Op {
        fused::unfused(self)
    }

    /// The fused triple (see [`Op::AddiSbBr`]) of this operation followed by `next` and
    /// `third`, if there is one (the rules: `fusion_rules!`).
    #[inline]
    pub fn fused_with_two(self, next: Op, third: Op) -> Option<Op> {
        fused::fused_with_two(self, next, third)
    }

    /// The fused pair (see [`Op::LwAddi`]) of this operation followed by `next`, if there
    /// is one (the rules: `fusion_rules!`).
    #[inline]
    pub fn fused_with(self, next: Op) -> Option<Op> {
        fused::fused_with(self, next)
    }

    /// Whether this is a Zba/Zbb/Zbc/Zbs or Zicond operation (executed by `bitmanip`).
    #[inline]
    pub fn is_bitmanip(self) -> bool {
        (Op::Sh1add as u8..=Op::CzeroNez as u8).contains(&(self as u8))
    }
}

/// Writes the fusion rules' two functions (`fused::fused_with`, `fused::unfused`) from
/// one line per rule, as plain `match`es (a table searched at every block build measured
/// +0.01 to +0.12 % host instructions on the benchmark set): `(first, second) => fused`
/// for a pair of two given operations, then `first => fused` for an operation fused with
/// any conditional branch after it, then `(first, second) => fused` for two operations
/// fused with any conditional branch after them (a triple: `fused::fused_with_two`).
macro_rules! fusion_rules {
    (
        pairs: [$(($first:ident, $second:ident) => $fused:ident,)*]
        branches: [$($bfirst:ident => $bfused:ident,)*]
        triples: [$(($tfirst:ident, $tsecond:ident) => $tfused:ident,)*]
        exact_triples: [$(($xfirst:ident, $xsecond:ident, $xthird:ident) => $xfused:ident,)*]
    ) => {
        mod fused {
            use super::Op::{self, *};

            #[inline]
            pub(super) fn fused_with(op: Op, next: Op) -> Option<Op> {
                Some(match (op, next) {
                    $(($first, $second) => $fused,)*
                    (_, Beq | Bne | Blt | Bge | Bltu | Bgeu) => match op {
                        $($bfirst => $bfused,)*
                        _ => return None,
                    },
                    _ => return None,
                })
            }

            #[inline]
            pub(super) fn fused_with_two(op: Op, next: Op, third: Op) -> Option<Op> {
                match (op, next, third) {
                    $(($xfirst, $xsecond, $xthird) => return Some($xfused),)*
                    _ => {}
                }
                if !matches!(third, Beq | Bne | Blt | Bge | Bltu | Bgeu) {
                    return None;
                }
                match (op, next) {
                    $(($tfirst, $tsecond) => Some($tfused),)*
                    _ => None,
                }
            }

            #[inline]
            pub(super) fn unfused(op: Op) -> Op {
                match op {
                    $($fused => $first,)*
                    $($bfused => $bfirst,)*
                    $($tfused => $tfirst,)*
                    $($xfused => $xfirst,)*
                    op => op,
                }
            }

            /// Every rule: first, second (`None`: any conditional branch), fused.
            #[cfg(test)]
            pub(super) const RULES: &[(Op, Option<Op>, Op)] = &[
                $(($first, Some($second), $fused),)*
                $(($bfirst, None, $bfused),)*
            ];

            /// Every triple: first, second, fused.
            #[cfg(test)]
            pub(super) const TRIPLES: &[(Op, Op, Op)] = &[$(($tfirst, $tsecond, $tfused),)*];

            /// Every triple of three given operations: first, second, third, fused.
            #[cfg(test)]
            pub(super) const EXACT_TRIPLES: &[(Op, Op, Op, Op)] =
                &[$(($xfirst, $xsecond, $xthird, $xfused),)*];
        }
    };
}

// The fused pairs (see `Op::LwAddi`), one line each.
fusion_rules! {
    pairs: [
        (Lw, Addi) => LwAddi,
        (Lbu, Addi) => LbuAddi,
        (Addi, Addi) => AddiAddi,
        (Slli, Addi) => SlliAddi,
        (Mul, Addi) => MulAddi,
        (Add, Addi) => AddAddi,
        (And, Addi) => AndAddi,
        (Andi, Sub) => AndiSub,
        (Slli, Srai) => SlliSrai,
        (Slli, Xor) => SlliXor,
        (Addi, Mul) => AddiMul,
        (Addi, Add) => AddiAdd,
        (Lw, Lw) => LwLw,
        (Sw, Sw) => SwSw,
        (Beq, Sw) => BeqSw,
        (Beq, Addi) => BeqAddi,
        (Bne, Lw) => BneLw,
    ]
    branches: [
        Addi => AddiBr,
        Add => AddBr,
        Xor => XorBr,
        Srli => SrliBr,
        Andi => AndiBr,
        Lw => LwBr,
        Sw => SwBr,
        Sb => SbBr,
        Slli => SlliBr,
        Beq => BeqBr,
        Bne => BneBr,
    ]
    triples: [
        (Addi, Sb) => AddiSbBr,
        (Add, Xor) => AddXorBr,
        (Add, Sw) => AddSwBr,
    ]
    exact_triples: [
        (Srli, And, Addi) => SrliAndAddi,
    ]
}

impl Insn {
    /// An illegal instruction of `len` bytes.
    pub const fn illegal(len: u8) -> Insn {
        Insn {
            op: Op::Illegal,
            rd: DISCARD,
            rs1: 0,
            rs2: 0,
            imm: 0,
            len,
        }
    }

    /// The architectural destination register (0 when the write is discarded).
    pub fn rd_arch(&self) -> u8 {
        if self.rd == DISCARD {
            0
        } else {
            self.rd
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fused_operation_has_one_rule_and_is_unfused_by_it() {
        let rules = fused::RULES.iter().copied();
        let mut seen = [false; 256];
        for (first, second, fused) in rules {
            assert!((Op::LwAddi as u8..=Op::AddSwBr as u8).contains(&(fused as u8)));
            assert!(!seen[fused as usize], "{fused:?} has two rules");
            seen[fused as usize] = true;
            assert_eq!(fused.unfused(), first);
            let second = second.unwrap_or(Op::Bgeu);
            assert_eq!(first.fused_with(second), Some(fused));
        }
        for &(first, second, fused) in fused::TRIPLES {
            assert!(!seen[fused as usize], "{fused:?} has two rules");
            seen[fused as usize] = true;
            assert_eq!(fused.unfused(), first);
            assert_eq!(first.fused_with_two(second, Op::Bne), Some(fused));
            assert_eq!(first.fused_with_two(second, Op::Addi), None);
        }
        // Every fused operation has its rule.
        for &(first, second, third, fused) in fused::EXACT_TRIPLES {
            assert!(!seen[fused as usize], "{fused:?} has two rules");
            seen[fused as usize] = true;
            assert_eq!(fused.unfused(), first);
            assert_eq!(first.fused_with_two(second, third), Some(fused));
            assert_eq!(first.fused_with_two(second, Op::Lui), None);
        }
        let fused = Op::AddSwBr as usize - Op::LwAddi as usize + 1;
        assert_eq!(seen.iter().filter(|&&s| s).count(), fused);
        // Not fused: a branch after an operation with no rule, and the rules' seconds
        // after other firsts.
        assert_eq!(Op::Sub.fused_with(Op::Beq), None);
        assert_eq!(Op::Lbu.fused_with(Op::Lw), None);
        assert_eq!(Op::Sw.unfused(), Op::Sw);
    }
}
