//! RV64's word operations (`addiw`, `slliw`, `srliw`, `sraiw`, `addw`, `subw`, `sllw`,
//! `srlw`, `sraw` and RV64M's `mulw`, `divw`, `divuw`, `remw`, `remuw`, and their
//! compressed forms, which decode to them): one ALU function for the block executor, the
//! one-instruction fast path and the general interpreter, so the three cannot drift.

use super::insn::Op;

/// Whether the block executor and the fast path run RV64's `ld`, `lwu`, `sd` and word
/// operations themselves (cargo feature `rv64`). Without it they end a block and go to the
/// general interpreter, as before: the Cortex-M co-simulation firmware, which runs RV32
/// guests only, has no flash for a second copy of them.
pub(super) const FAST: bool = cfg!(feature = "rv64");

/// The 32-bit result `v` sign-extended to 64 bits, as every word operation writes it.
#[inline(always)]
fn w(v: u64) -> u64 {
    v as u32 as i32 as i64 as u64
}

/// The result of word operation `op` ([`Op::is_word`]) on `a` (`rs1`), `b` (`rs2`) and
/// `imm`. Division by zero and overflow give what the M extension specifies (all ones, the
/// dividend), never a host panic.
#[inline(always)]
pub(super) fn alu(op: Op, a: u64, b: u64, imm: u64) -> u64 {
    match op {
        Op::Addiw => w(a.wrapping_add(imm)),
        Op::Slliw => w(((a as u32) << (imm & 31)) as u64),
        Op::Srliw => w(((a as u32) >> (imm & 31)) as u64),
        Op::Sraiw => w(((a as i32) >> (imm & 31)) as u32 as u64),
        Op::Addw => w(a.wrapping_add(b)),
        Op::Subw => w(a.wrapping_sub(b)),
        Op::Sllw => w(((a as u32) << (b & 31)) as u64),
        Op::Srlw => w(((a as u32) >> (b & 31)) as u64),
        Op::Sraw => w(((a as i32) >> (b & 31)) as u32 as u64),
        Op::Mulw => w((a as u32).wrapping_mul(b as u32) as u64),
        Op::Divw => match b as i32 {
            0 => u64::MAX,
            d => w((a as i32).wrapping_div(d) as u32 as u64),
        },
        Op::Divuw => match b as u32 {
            0 => u64::MAX,
            d => w(((a as u32) / d) as u64),
        },
        Op::Remw => match b as i32 {
            0 => w(a),
            d => w((a as i32).wrapping_rem(d) as u32 as u64),
        },
        Op::Remuw => match b as u32 {
            0 => w(a),
            d => w(((a as u32) % d) as u64),
        },
        // Not a word operation: `is_word` keeps callers from coming here.
        _ => 0,
    }
}

/// [`alu`] out of line, for the general interpreter, where a call costs nothing that
/// matters and an inlined copy costs the Cortex-M firmware's flash.
#[inline(never)]
pub(super) fn alu_out_of_line(op: Op, a: u64, b: u64, imm: u64) -> u64 {
    alu(op, a, b, imm)
}
