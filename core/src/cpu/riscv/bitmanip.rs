//! The bit-manipulation extensions Zba (address generation), Zbb (basic bit manipulation),
//! Zbc (carry-less multiplication) and Zbs (single-bit operations), and Zicond
//! (conditional zero): pure functions of the operands, shared by the block executor, the
//! one-instruction fast path and the general interpreter, so the three cannot disagree.
//!
//! Each is one register write and nothing else (no trap, no memory), so they run inside
//! decoded blocks. [`alu`] is out of line: the integer operations' match in the block
//! executor stays as it was, and the bit-manipulation ones cost one call.

use super::insn::Op;

/// The 64-bit carry-less product of the low `bits` bits of `a` and `b` (bits 0..2*bits-1).
fn clmul_wide(a: u64, b: u64, bits: u32) -> u128 {
    let mut r = 0u128;
    for i in 0..bits {
        if (b >> i) & 1 != 0 {
            r ^= (a as u128) << i;
        }
    }
    r
}

/// Sign-extends a 32-bit result to 64 bits (the RV64 `W` forms).
#[inline]
fn w(v: u32) -> u64 {
    v as i32 as i64 as u64
}

/// The result of bit-manipulation or conditional-zero operation `op`
/// ([`Op::is_bitmanip`]) with source values `a` (`rs1`) and `b` (`rs2`) and the
/// instruction's immediate `imm` (sign-extended), for XLEN 32 (`RV32`) or 64. Operands are
/// kept truncated to XLEN, and so is the result. Any other `op` gives 0 (the decoder never
/// produces one here).
#[inline(never)]
pub(super) fn alu<const RV32: bool>(op: Op, a: u64, b: u64, imm: u64) -> u64 {
    let m: u64 = if RV32 { 0xffff_ffff } else { u64::MAX };
    let sh: u64 = if RV32 { 31 } else { 63 };
    let bits: u32 = if RV32 { 32 } else { 64 };
    let sx = |v: u64| -> i64 {
        if RV32 {
            v as u32 as i32 as i64
        } else {
            v as i64
        }
    };
    let rotl = |v: u64, n: u64| -> u64 {
        if RV32 {
            (v as u32).rotate_left(n as u32 & 31) as u64
        } else {
            v.rotate_left(n as u32 & 63)
        }
    };
    let rotr = |v: u64, n: u64| -> u64 {
        if RV32 {
            (v as u32).rotate_right(n as u32 & 31) as u64
        } else {
            v.rotate_right(n as u32 & 63)
        }
    };
    let uw = a & 0xffff_ffff;
    match op {
        Op::Sh1add => (a << 1).wrapping_add(b) & m,
        Op::Sh2add => (a << 2).wrapping_add(b) & m,
        Op::Sh3add => (a << 3).wrapping_add(b) & m,
        Op::AddUw => uw.wrapping_add(b),
        Op::Sh1addUw => (uw << 1).wrapping_add(b),
        Op::Sh2addUw => (uw << 2).wrapping_add(b),
        Op::Sh3addUw => (uw << 3).wrapping_add(b),
        Op::SlliUw => uw << (imm & 63),
        Op::Andn => a & !b & m,
        Op::Orn => (a | !b) & m,
        Op::Xnor => !(a ^ b) & m,
        Op::Clz => {
            (if RV32 {
                (a as u32).leading_zeros()
            } else {
                a.leading_zeros()
            }) as u64
        }
        Op::Ctz => {
            (if RV32 {
                (a as u32).trailing_zeros()
            } else {
                a.trailing_zeros()
            }) as u64
        }
        Op::Cpop => (a & m).count_ones() as u64,
        Op::Clzw => (a as u32).leading_zeros() as u64,
        Op::Ctzw => (a as u32).trailing_zeros() as u64,
        Op::Cpopw => (a as u32).count_ones() as u64,
        Op::Max => sx(a).max(sx(b)) as u64 & m,
        Op::Maxu => a.max(b),
        Op::Min => sx(a).min(sx(b)) as u64 & m,
        Op::Minu => a.min(b),
        Op::SextB => a as i8 as i64 as u64 & m,
        Op::SextH => a as i16 as i64 as u64 & m,
        Op::ZextH => a & 0xffff,
        Op::Rol => rotl(a, b),
        Op::Ror => rotr(a, b),
        Op::Rori => rotr(a, imm),
        Op::Rolw => w((a as u32).rotate_left(b as u32 & 31)),
        Op::Rorw => w((a as u32).rotate_right(b as u32 & 31)),
        Op::Roriw => w((a as u32).rotate_right(imm as u32 & 31)),
        Op::OrcB => {
            let mut r = 0;
            for k in 0..bits / 8 {
                if (a >> (8 * k)) & 0xff != 0 {
                    r |= 0xff << (8 * k);
                }
            }
            r
        }
        Op::Rev8 => {
            if RV32 {
                (a as u32).swap_bytes() as u64
            } else {
                a.swap_bytes()
            }
        }
        Op::Clmul => clmul_wide(a, b, bits) as u64 & m,
        Op::Clmulh => (clmul_wide(a, b, bits) >> bits) as u64 & m,
        Op::Clmulr => (clmul_wide(a, b, bits) >> (bits - 1)) as u64 & m,
        Op::Bclr => a & !(1 << (b & sh)),
        Op::Bclri => a & !(1 << (imm & sh)),
        Op::Bext => (a >> (b & sh)) & 1,
        Op::Bexti => (a >> (imm & sh)) & 1,
        Op::Binv => a ^ (1 << (b & sh)),
        Op::Binvi => a ^ (1 << (imm & sh)),
        Op::Bset => a | (1 << (b & sh)),
        Op::Bseti => a | (1 << (imm & sh)),
        Op::CzeroEqz => {
            if b == 0 {
                0
            } else {
                a
            }
        }
        Op::CzeroNez => {
            if b != 0 {
                0
            } else {
                a
            }
        }
        _ => 0,
    }
}

#[cfg(all(test, feature = "ext"))]
mod tests {
    use super::*;

    const NEG: u64 = 0xffff_ffff_8000_0001;

    /// Values from the specifications' definitions (Zb* 1.0.0, Zicond 1.0), worked by
    /// hand.
    #[test]
    fn operations_match_the_specifications_examples() {
        let r32 = |op, a, b, imm| alu::<true>(op, a, b, imm);
        let r64 = |op, a, b, imm| alu::<false>(op, a, b, imm);
        assert_eq!(r32(Op::Sh3add, 0x8000_0001, 5, 0), 13);
        assert_eq!(r64(Op::AddUw, NEG, 1, 0), 0x8000_0002);
        assert_eq!(r64(Op::Sh2addUw, NEG, 0, 0), 0x2_0000_0004);
        assert_eq!(r64(Op::SlliUw, NEG, 0, 63), 1 << 63);
        assert_eq!(r32(Op::Andn, 0xff, 0x0f, 0), 0xf0);
        assert_eq!(r32(Op::Orn, 0, 0xffff_fff0, 0), 0xf);
        assert_eq!(r32(Op::Xnor, 0xffff_0000, 0xff00_ff00, 0), 0xff00_00ff);
        assert_eq!(r32(Op::Clz, 0, 0, 0), 32);
        assert_eq!(r64(Op::Clz, 0, 0, 0), 64);
        assert_eq!(r64(Op::Clz, 0x8000_0000, 0, 0), 32);
        assert_eq!(r32(Op::Ctz, 0x8000_0000, 0, 0), 31);
        assert_eq!(r32(Op::Ctz, 0, 0, 0), 32);
        assert_eq!(r64(Op::Ctzw, 1 << 40, 0, 0), 32);
        assert_eq!(r64(Op::Clzw, 1 << 40, 0, 0), 32);
        assert_eq!(r64(Op::Cpop, u64::MAX, 0, 0), 64);
        assert_eq!(r64(Op::Cpopw, u64::MAX, 0, 0), 32);
        assert_eq!(r32(Op::Max, 0xffff_ffff, 1, 0), 1);
        assert_eq!(r32(Op::Maxu, 0xffff_ffff, 1, 0), 0xffff_ffff);
        assert_eq!(r32(Op::Min, 0xffff_ffff, 1, 0), 0xffff_ffff);
        assert_eq!(r64(Op::Minu, u64::MAX, 1, 0), 1);
        assert_eq!(r32(Op::SextB, 0x80, 0, 0), 0xffff_ff80);
        assert_eq!(r64(Op::SextH, 0x8000, 0, 0), 0xffff_ffff_ffff_8000);
        assert_eq!(r32(Op::ZextH, 0xffff_8000, 0, 0), 0x8000);
        assert_eq!(r32(Op::Rol, 0x8000_0001, 33, 0), 3);
        assert_eq!(r64(Op::Rol, 0x8000_0001, 33, 0), 0x2_0000_0001);
        assert_eq!(r32(Op::Ror, 3, 1, 0), 0x8000_0001);
        assert_eq!(r64(Op::Rori, 1, 0, 63), 2);
        assert_eq!(r64(Op::Rolw, 0x8000_0000, 1, 0), 1);
        assert_eq!(r64(Op::Rorw, 1, 1, 0), 0xffff_ffff_8000_0000);
        assert_eq!(r64(Op::Roriw, 1, 0, 31), 2);
        assert_eq!(r32(Op::OrcB, 0x0100_2000, 0, 0), 0xff00_ff00);
        assert_eq!(r64(Op::OrcB, 1 << 56, 0, 0), 0xff00_0000_0000_0000);
        assert_eq!(r32(Op::Rev8, 0x1234_5678, 0, 0), 0x7856_3412);
        assert_eq!(
            r64(Op::Rev8, 0x0102_0304_0506_0708, 0, 0),
            0x0807_0605_0403_0201
        );
        // (x + 1)^2 = x^2 + 1 carry-less.
        assert_eq!(r32(Op::Clmul, 3, 3, 0), 5);
        assert_eq!(r32(Op::Clmulh, 0x8000_0000, 0x8000_0000, 0), 0x4000_0000);
        assert_eq!(r32(Op::Clmulr, 0x8000_0000, 0x8000_0000, 0), 0x8000_0000);
        assert_eq!(r64(Op::Clmulh, 1 << 63, 2, 0), 1);
        assert_eq!(r64(Op::Clmulr, 1 << 63, 2, 0), 2);
        assert_eq!(r32(Op::Bclr, 0xff, 32 + 3, 0), 0xf7);
        assert_eq!(r64(Op::Bclri, u64::MAX, 0, 63), u64::MAX >> 1);
        assert_eq!(r32(Op::Bext, 0x10, 4, 0), 1);
        assert_eq!(r32(Op::Bexti, 0x10, 0, 3), 0);
        assert_eq!(r32(Op::Binv, 0, 31, 0), 0x8000_0000);
        assert_eq!(r32(Op::Binvi, 1, 0, 0), 0);
        assert_eq!(r64(Op::Bset, 0, 63, 0), 1 << 63);
        assert_eq!(r32(Op::Bseti, 0, 0, 5), 32);
        assert_eq!(r32(Op::CzeroEqz, 7, 0, 0), 0);
        assert_eq!(r32(Op::CzeroEqz, 7, 9, 0), 7);
        assert_eq!(r32(Op::CzeroNez, 7, 0, 0), 7);
        assert_eq!(r32(Op::CzeroNez, 7, 9, 0), 0);
    }
}
