//! The F and D extensions: the FP register file and `fcsr` ([`FpState`]), and the
//! execution of every F/D instruction (`Hart::execute_fp`), with the arithmetic in
//! `softfloat`. Present with the `fpu` cargo feature (on by default; the Cortex-M
//! co-simulation firmware leaves it out): without it the decoder knows no FP encoding,
//! `misa` has no F or D, `mstatus.FS` is read-only zero and the FP CSRs do not exist.
//!
//! * **Registers** are 64 bits (D). A single is NaN-boxed when written (upper 32 bits all
//!   ones); a single operand whose upper half is not all ones reads as the canonical NaN.
//!   `fsw` and `fmv.x.w` move the low 32 bits as they are.
//! * **`mstatus.FS`**: Off makes every FP instruction and FP CSR access illegal; writing an
//!   FP register, accruing a flag or writing an FP CSR makes it Dirty (`SD` follows, see
//!   `csr`). The privileged spec says so for `fflags` too; QEMU 7.2 leaves FS alone when an
//!   instruction only accrues flags (an intended difference, tested in the unit tests).
//! * **Rounding**: the instruction's `rm`, or `frm` when it is 7; a reserved mode (5 or 6
//!   in `frm`) is an illegal instruction. The static reserved modes do not decode.
//! * In the block executor (`Hart::fp_in_block`), FP loads and stores take the block's
//!   TLB path and the rest goes through `execute_fp`; on the general path `execute`
//!   calls `execute_fp`. Illegal FP instructions are raised from the general path.

use super::block_exec::End;
use super::hart::Hart;
use super::insn::Insn;
#[cfg(feature = "fpu")]
use super::insn::Op;
#[cfg(feature = "fpu")]
use super::softfloat::{self as sf, Fmt, Rm, F32, F64};
use super::trap::{cause, Exception};
use crate::cpu::Bus;

/// FP registers: 32, or none without the `fpu` feature (the Cortex-M build keeps its RAM).
const FP_REGS: usize = if cfg!(feature = "fpu") { 32 } else { 0 };

/// The FP register file and the `fcsr` fields.
#[derive(Clone, Debug, Default)]
pub struct FpState {
    /// f0..f31, 64 bits each (singles NaN-boxed); empty without the `fpu` feature.
    pub(super) f: [u64; FP_REGS],
    /// Accrued exception flags (`fflags`, 5 bits).
    pub(super) fflags: u8,
    /// Dynamic rounding mode (`frm`, 3 bits; 5..7 are reserved but writable).
    pub(super) frm: u8,
}

impl FpState {
    /// All registers +0 (all-zero bits), flags clear, round to nearest.
    pub const fn new() -> FpState {
        FpState {
            f: [0; FP_REGS],
            fflags: 0,
            frm: 0,
        }
    }
}

/// The upper half of a NaN-boxed single.
#[cfg(feature = "fpu")]
const BOX: u64 = 0xffff_ffff_0000_0000;

impl Hart<'_> {
    /// FP register `i` (its 64 bits; a single is NaN-boxed); 0 without the `fpu` feature.
    pub fn freg(&self, i: usize) -> u64 {
        self.fp.f.get(i & 31).copied().unwrap_or(0)
    }

    /// Sets FP register `i` (for debuggers and tests; `mstatus.FS` is not changed); no
    /// effect without the `fpu` feature.
    pub fn set_freg(&mut self, i: usize, value: u64) {
        if let Some(r) = self.fp.f.get_mut(i & 31) {
            *r = value;
        }
    }

    /// The block executor's F/D step (instruction `i` of block `idx`, whose first
    /// instruction is at `pc`; `ea` is `rs1 + imm`): `None` to go on with the block, or how
    /// the block ends. Loads and stores go through the block's TLB path, the others through
    /// `execute_fp`; what is illegal (FS Off, a reserved rounding mode) goes to the general
    /// path, which raises it with the instruction's bits.
    ///
    /// Out of line and cold: inlined into `run_block` it cost integer code about 16 % more
    /// host instructions (cachegrind, `bench_mix_small`).
    #[cold]
    #[inline(never)]
    pub(super) fn fp_block_step<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        idx: usize,
        i: usize,
        pc: u64,
        ea: u64,
        m: u64,
    ) -> Option<End> {
        let block = &self.blocks.blocks[idx];
        let u = block.insns[i];
        let at = pc.wrapping_add(block.offs[i] as u64) & m;
        let next = pc.wrapping_add(block.offs[i + 1] as u64) & m;
        let insn = Insn {
            op: u.op,
            rd: u.rd,
            rs1: u.rs1,
            rs2: u.rs2,
            imm: u.imm,
            len: block.offs[i + 1].wrapping_sub(block.offs[i]),
        };
        match self.fp_in_block(bus, insn, ea, at) {
            Ok(false) => None,
            Ok(true) => Some(End::Next(i as u64 + 1, next)),
            Err(e) if e.cause == cause::ILLEGAL => Some(End::Single(i as u64, at)),
            Err(e) => Some(End::Trap(i as u64, at, e)),
        }
    }

    /// Runs the F/D instruction `insn` at `pc` inside a block (`ea` is `rs1 + imm`):
    /// `Ok(true)` when a load or store left the TLB fast path (the block ends after it),
    /// an illegal-instruction exception (without the instruction's bits, which the block
    /// does not keep) for the general path to raise again, or another exception.
    #[cfg(feature = "fpu")]
    #[inline]
    pub(super) fn fp_in_block<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        insn: Insn,
        ea: u64,
        pc: u64,
    ) -> Result<bool, Exception> {
        use super::csr::mstatus;
        if self.csr.mstatus & mstatus::FS == 0 {
            return Err(Exception::new(cause::ILLEGAL, 0));
        }
        let rd = (insn.rd & 31) as usize;
        let rs2 = (insn.rs2 & 31) as usize;
        match insn.op {
            Op::Flw | Op::Fld => {
                let size = if insn.op == Op::Flw { 4 } else { 8 };
                let (v, slow) = self.load_in_block(bus, ea, size)?;
                self.fp.f[rd] = if size == 4 { BOX | v } else { v };
                self.csr.mstatus |= mstatus::FS;
                Ok(slow)
            }
            Op::Fsw => self.store_in_block(bus, ea, 4, self.fp.f[rs2] & 0xffff_ffff),
            Op::Fsd => self.store_in_block(bus, ea, 8, self.fp.f[rs2]),
            _ => {
                self.pc = pc;
                self.execute_fp(bus, 0, insn).map(|()| false)
            }
        }
    }

    /// Without the `fpu` feature no FP operation is decoded; this is never reached.
    #[cfg(not(feature = "fpu"))]
    #[inline]
    pub(super) fn fp_in_block<B: Bus + ?Sized>(
        &mut self,
        _bus: &B,
        _insn: Insn,
        _ea: u64,
        _pc: u64,
    ) -> Result<bool, Exception> {
        Err(Exception::new(cause::ILLEGAL, 0))
    }

    /// Executes the F/D instruction `insn` (from `raw`) at `self.pc`, moving `pc` past it.
    #[cfg(not(feature = "fpu"))]
    pub(super) fn execute_fp<B: Bus + ?Sized>(
        &mut self,
        _bus: &B,
        raw: u32,
        _insn: Insn,
    ) -> Result<(), Exception> {
        Err(Exception::new(cause::ILLEGAL, raw as u64))
    }

    /// Executes the F/D instruction `insn` (from `raw`) at `self.pc`, moving `pc` past it.
    #[cfg(feature = "fpu")]
    pub(super) fn execute_fp<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        raw: u32,
        insn: Insn,
    ) -> Result<(), Exception> {
        use super::csr::mstatus;
        let illegal = Exception::new(cause::ILLEGAL, raw as u64);
        if self.csr.mstatus & mstatus::FS == 0 {
            return Err(illegal);
        }
        let m = self.xmask;
        let x1 = self.regs[(insn.rs1 & 31) as usize];
        let rs1 = (insn.rs1 & 31) as usize;
        let rs2 = (insn.rs2 & 31) as usize;
        let rs3 = ((insn.imm as u32 >> 3) & 31) as usize;
        let rd = (insn.rd & 63) as usize;
        let ea = x1.wrapping_add(insn.imm as i64 as u64) & m;
        let s = |i: usize| unbox(self.fp.f[i]);
        let d = |i: usize| self.fp.f[i];
        let next = self.pc.wrapping_add(insn.len as u64) & m;
        // The rounding mode, for the operations that have one.
        let rm = || -> Result<Rm, Exception> {
            let field = (insn.imm & 7) as u64;
            let v = if field == 7 {
                self.fp.frm as u64
            } else {
                field
            };
            Rm::from_bits(v).ok_or(illegal)
        };
        let mut fl = 0u8;
        // What the instruction writes: an FP register (already boxed), an integer one, or
        // nothing (stores).
        enum Out {
            F(u64),
            X(u64),
            None,
        }
        let sx32 = |v: u64| v as u32 as i32 as i64 as u64 & m;
        let box32 = |v: u64| BOX | (v & 0xffff_ffff);
        let out = match insn.op {
            Op::Flw => Out::F(box32(self.load(bus, ea, 4)?)),
            Op::Fld => Out::F(self.load(bus, ea, 8)?),
            Op::Fsw => {
                self.store(bus, ea, 4, d(rs2) & 0xffff_ffff)?;
                Out::None
            }
            Op::Fsd => {
                self.store(bus, ea, 8, d(rs2))?;
                Out::None
            }
            Op::FmaddS | Op::FmsubS | Op::FnmsubS | Op::FnmaddS => {
                let neg = fma_signs(insn.op);
                let r = sf::fma(F32, s(rs1), s(rs2), s(rs3), neg, rm()?, &mut fl);
                Out::F(box32(r))
            }
            Op::FmaddD | Op::FmsubD | Op::FnmsubD | Op::FnmaddD => {
                let neg = fma_signs(insn.op);
                Out::F(sf::fma(F64, d(rs1), d(rs2), d(rs3), neg, rm()?, &mut fl))
            }
            Op::FaddS => Out::F(box32(sf::add(F32, s(rs1), s(rs2), rm()?, &mut fl))),
            Op::FsubS => Out::F(box32(sf::sub(F32, s(rs1), s(rs2), rm()?, &mut fl))),
            Op::FmulS => Out::F(box32(sf::mul(F32, s(rs1), s(rs2), rm()?, &mut fl))),
            Op::FdivS => Out::F(box32(sf::div(F32, s(rs1), s(rs2), rm()?, &mut fl))),
            Op::FsqrtS => Out::F(box32(sf::sqrt(F32, s(rs1), rm()?, &mut fl))),
            Op::FaddD => Out::F(sf::add(F64, d(rs1), d(rs2), rm()?, &mut fl)),
            Op::FsubD => Out::F(sf::sub(F64, d(rs1), d(rs2), rm()?, &mut fl)),
            Op::FmulD => Out::F(sf::mul(F64, d(rs1), d(rs2), rm()?, &mut fl)),
            Op::FdivD => Out::F(sf::div(F64, d(rs1), d(rs2), rm()?, &mut fl)),
            Op::FsqrtD => Out::F(sf::sqrt(F64, d(rs1), rm()?, &mut fl)),
            Op::FsgnjS | Op::FsgnjnS | Op::FsgnjxS => {
                let (a, b) = (s(rs1), s(rs2));
                Out::F(box32(sign_inject(insn.op, a, b, 1 << 31)))
            }
            Op::FsgnjD | Op::FsgnjnD | Op::FsgnjxD => {
                Out::F(sign_inject(insn.op, d(rs1), d(rs2), 1 << 63))
            }
            Op::FminS | Op::FmaxS => {
                let max = insn.op == Op::FmaxS;
                Out::F(box32(sf::min_max(F32, s(rs1), s(rs2), max, &mut fl)))
            }
            Op::FminD | Op::FmaxD => {
                let max = insn.op == Op::FmaxD;
                Out::F(sf::min_max(F64, d(rs1), d(rs2), max, &mut fl))
            }
            Op::FeqS => Out::X(sf::eq(F32, s(rs1), s(rs2), &mut fl) as u64),
            Op::FltS => Out::X(sf::lt(F32, s(rs1), s(rs2), false, &mut fl) as u64),
            Op::FleS => Out::X(sf::lt(F32, s(rs1), s(rs2), true, &mut fl) as u64),
            Op::FeqD => Out::X(sf::eq(F64, d(rs1), d(rs2), &mut fl) as u64),
            Op::FltD => Out::X(sf::lt(F64, d(rs1), d(rs2), false, &mut fl) as u64),
            Op::FleD => Out::X(sf::lt(F64, d(rs1), d(rs2), true, &mut fl) as u64),
            Op::FclassS => Out::X(sf::classify(F32, s(rs1))),
            Op::FclassD => Out::X(sf::classify(F64, d(rs1))),
            Op::FmvXW => Out::X(sx32(d(rs1))),
            Op::FmvXD => Out::X(d(rs1)),
            Op::FmvWX => Out::F(box32(x1)),
            Op::FmvDX => Out::F(x1),
            Op::FcvtWS | Op::FcvtWuS | Op::FcvtLS | Op::FcvtLuS => {
                Out::X(self.to_int(F32, s(rs1), insn.op, rm()?, &mut fl))
            }
            Op::FcvtWD | Op::FcvtWuD | Op::FcvtLD | Op::FcvtLuD => {
                Out::X(self.to_int(F64, d(rs1), insn.op, rm()?, &mut fl))
            }
            Op::FcvtSW | Op::FcvtSWu | Op::FcvtSL | Op::FcvtSLu => {
                let (bits, signed) = int_kind(insn.op);
                Out::F(box32(sf::from_int(F32, x1, bits, signed, rm()?, &mut fl)))
            }
            Op::FcvtDW | Op::FcvtDWu | Op::FcvtDL | Op::FcvtDLu => {
                let (bits, signed) = int_kind(insn.op);
                Out::F(sf::from_int(F64, x1, bits, signed, rm()?, &mut fl))
            }
            Op::FcvtSD => Out::F(box32(sf::convert(F64, F32, d(rs1), rm()?, &mut fl))),
            Op::FcvtDS => Out::F(sf::convert(F32, F64, s(rs1), rm()?, &mut fl)),
            _ => return Err(illegal),
        };
        match out {
            Out::F(v) => {
                self.fp.f[rd & 31] = v;
                self.csr.mstatus |= mstatus::FS;
            }
            Out::X(v) => self.regs[rd] = v,
            Out::None => {}
        }
        if fl != 0 {
            self.fp.fflags |= fl;
            self.csr.mstatus |= mstatus::FS;
        }
        self.pc = next;
        Ok(())
    }

    /// `fcvt.{w,wu,l,lu}.{s,d}`: the integer register's value (32-bit results
    /// sign-extended, the unsigned ones too, as the spec says).
    #[cfg(feature = "fpu")]
    fn to_int(&self, f: Fmt, a: u64, op: Op, rm: Rm, fl: &mut u8) -> u64 {
        let (bits, signed) = int_kind(op);
        let v = sf::to_int(f, a, bits, signed, rm, fl);
        if bits == 32 {
            v as u32 as i32 as i64 as u64 & self.xmask
        } else {
            v
        }
    }
}

/// A single operand read from a 64-bit register: the low half if the value is properly
/// NaN-boxed, the canonical NaN otherwise.
#[cfg(feature = "fpu")]
#[inline]
fn unbox(v: u64) -> u64 {
    if v & BOX == BOX {
        v & 0xffff_ffff
    } else {
        F32.nan()
    }
}

/// `(negate product, negate addend)` of an FMA operation.
#[cfg(feature = "fpu")]
fn fma_signs(op: Op) -> (bool, bool) {
    match op {
        Op::FmaddS | Op::FmaddD => (false, false),
        Op::FmsubS | Op::FmsubD => (false, true),
        Op::FnmsubS | Op::FnmsubD => (true, false),
        _ => (true, true),
    }
}

/// `fsgnj`/`fsgnjn`/`fsgnjx`: `a` with a sign from `b` (`sign` is the sign bit's mask).
#[cfg(feature = "fpu")]
fn sign_inject(op: Op, a: u64, b: u64, sign: u64) -> u64 {
    let s = match op {
        Op::FsgnjS | Op::FsgnjD => b & sign,
        Op::FsgnjnS | Op::FsgnjnD => !b & sign,
        _ => (a ^ b) & sign,
    };
    (a & !sign) | s
}

/// The integer width and signedness of a conversion.
#[cfg(feature = "fpu")]
fn int_kind(op: Op) -> (u32, bool) {
    match op {
        Op::FcvtWS | Op::FcvtWD | Op::FcvtSW | Op::FcvtDW => (32, true),
        Op::FcvtWuS | Op::FcvtWuD | Op::FcvtSWu | Op::FcvtDWu => (32, false),
        Op::FcvtLS | Op::FcvtLD | Op::FcvtSL | Op::FcvtDL => (64, true),
        _ => (64, false),
    }
}
