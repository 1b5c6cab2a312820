//! IEEE 754 binary32 and binary64 arithmetic in software, with RISC-V's choices: the five
//! rounding modes ([`Rm`]), the five accrued exception [`flags`], tininess detected
//! *after* rounding, and every NaN result the canonical NaN (no payload propagation). The
//! F and D extensions (`fpu`) compute everything here; values travel as raw bit patterns
//! (`u64`, the low 32 bits for a single) so that nothing depends on the host FPU.
//!
//! # Why hand-written
//!
//! The candidates were evaluated against the core's rules (`no_std` without `alloc`, builds
//! for riscv32imac/thumbv7em/thumbv6m bare metal, per-call rounding mode and flags so that
//! harts on several threads share nothing, bit-exact with Berkeley SoftFloat's RISC-V
//! specialisation, which QEMU's results match):
//!
//! * `rustc_apfloat` (LLVM's APFloat): needs `alloc` unconditionally, has no square root,
//!   and detects underflow before rounding (LLVM's rule), not after as RISC-V does.
//! * `softfloat-wrapper`/`softfloat-sys` (Berkeley SoftFloat in C): needs a C cross
//!   compiler for every target (none for the Cortex-M ones here), and keeps the rounding
//!   mode and flags in C globals, so two harts on two threads would race.
//! * `simple-soft-float`: a reference implementation on big integers (`alloc`), LGPL.
//! * `softfloat` (pure Rust, `const`): round-to-nearest only, no flags.
//!
//! None fits, so this module is the arithmetic, written from the IEEE 754 and RISC-V
//! specifications: every operation computes an exact (or exactly sticky-jammed) result in
//! a `u128` significand and rounds it once in `round_pack`. Speed is measured in
//! BENCHMARKS.md. The unit tests check round-to-nearest results against the host's IEEE
//! arithmetic on many random and special operands; the guest differential
//! (`tests/firmware/fp_diff*`) checks every mode and the flags against QEMU.

/// A rounding mode, as encoded in `frm` and an instruction's `rm` field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rm {
    /// Round to nearest, ties to even.
    Rne = 0,
    /// Round towards zero.
    Rtz = 1,
    /// Round down (towards −∞).
    Rdn = 2,
    /// Round up (towards +∞).
    Rup = 3,
    /// Round to nearest, ties to max magnitude.
    Rmm = 4,
}

impl Rm {
    /// The mode encoded as `v` (0..=4), `None` for the reserved encodings.
    pub fn from_bits(v: u64) -> Option<Rm> {
        Some(match v {
            0 => Rm::Rne,
            1 => Rm::Rtz,
            2 => Rm::Rdn,
            3 => Rm::Rup,
            4 => Rm::Rmm,
            _ => return None,
        })
    }
}

/// Exception flags, as in `fflags`.
pub mod flags {
    /// Inexact.
    pub const NX: u8 = 1;
    /// Underflow.
    pub const UF: u8 = 2;
    /// Overflow.
    pub const OF: u8 = 4;
    /// Divide by zero.
    pub const DZ: u8 = 8;
    /// Invalid operation.
    pub const NV: u8 = 16;
}
use flags::*;

/// A binary interchange format: binary32 ([`F32`]) or binary64 ([`F64`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fmt {
    /// Fraction bits (the significand's stored part).
    frac: u32,
    /// Exponent bits.
    exp: u32,
}

/// binary32.
pub const F32: Fmt = Fmt { frac: 23, exp: 8 };
/// binary64.
pub const F64: Fmt = Fmt { frac: 52, exp: 11 };

impl Fmt {
    #[inline]
    fn frac_mask(self) -> u64 {
        (1 << self.frac) - 1
    }
    #[inline]
    fn exp_max(self) -> u64 {
        (1 << self.exp) - 1
    }
    #[inline]
    fn bias(self) -> i32 {
        (1 << (self.exp - 1)) - 1
    }
    #[inline]
    fn sign_bit(self) -> u64 {
        1 << (self.frac + self.exp)
    }
    /// The canonical NaN.
    #[inline]
    pub fn nan(self) -> u64 {
        (self.exp_max() << self.frac) | (1 << (self.frac - 1))
    }
    #[inline]
    fn inf(self, sign: bool) -> u64 {
        self.sign(sign) | (self.exp_max() << self.frac)
    }
    #[inline]
    fn sign(self, sign: bool) -> u64 {
        if sign {
            self.sign_bit()
        } else {
            0
        }
    }
    #[inline]
    fn max_finite(self, sign: bool) -> u64 {
        self.sign(sign) | ((self.exp_max() - 1) << self.frac) | self.frac_mask()
    }
}

/// What a value is, with its parts for the finite nonzero ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Zero,
    /// value = sig × 2^exp (sig nonzero, hidden bit included).
    Finite {
        exp: i32,
        sig: u64,
    },
    Inf,
    QNaN,
    SNaN,
}

#[inline]
fn unpack(f: Fmt, x: u64) -> (bool, Class) {
    let sign = x & f.sign_bit() != 0;
    let e = (x >> f.frac) & f.exp_max();
    let m = x & f.frac_mask();
    let c = if e == f.exp_max() {
        if m == 0 {
            Class::Inf
        } else if m >> (f.frac - 1) != 0 {
            Class::QNaN
        } else {
            Class::SNaN
        }
    } else if e == 0 {
        if m == 0 {
            Class::Zero
        } else {
            Class::Finite {
                exp: 1 - f.bias() - f.frac as i32,
                sig: m,
            }
        }
    } else {
        Class::Finite {
            exp: e as i32 - f.bias() - f.frac as i32,
            sig: m | (1 << f.frac),
        }
    };
    (sign, c)
}

#[inline]
fn is_nan(c: Class) -> bool {
    matches!(c, Class::QNaN | Class::SNaN)
}

/// Whether `x` is a signalling NaN of format `f`.
pub fn is_snan(f: Fmt, x: u64) -> bool {
    unpack(f, x).1 == Class::SNaN
}

/// Shifts `sig` right by `shift` bits and rounds the result to an integer in mode `rm` for
/// a value of sign `sign`: the rounded integer and whether anything was discarded.
#[inline]
fn round_shift(sig: u128, shift: i32, rm: Rm, sign: bool) -> (u128, bool) {
    if shift <= 0 {
        return (sig << (-shift) as u32, false);
    }
    let s = shift as u32;
    let (trunc, round, sticky) = if s > 128 {
        (0, false, sig != 0)
    } else if s == 128 {
        (0, sig >> 127 != 0, sig << 1 != 0)
    } else {
        (
            sig >> s,
            (sig >> (s - 1)) & 1 != 0,
            sig & ((1u128 << (s - 1)) - 1) != 0,
        )
    };
    let inexact = round || sticky;
    let up = match rm {
        Rm::Rne => round && (sticky || trunc & 1 != 0),
        Rm::Rmm => round,
        Rm::Rtz => false,
        Rm::Rdn => inexact && sign,
        Rm::Rup => inexact && !sign,
    };
    (trunc + up as u128, inexact)
}

/// Rounds the nonzero value `(-1)^sign × sig × 2^exp` to format `f` in mode `rm` (the
/// one rounding of every operation), accruing overflow, underflow (tiny after rounding,
/// and inexact) and inexact in `fl`.
pub(crate) fn round_pack(f: Fmt, sign: bool, exp: i32, sig: u128, rm: Rm, fl: &mut u8) -> u64 {
    debug_assert!(sig != 0);
    let p = f.frac as i32 + 1;
    let msb = 127 - sig.leading_zeros() as i32;
    // Exponent of the leading bit, and the smallest normal one.
    let e = exp + msb;
    let emin = 1 - f.bias();
    let drop_normal = msb - (p - 1);
    if e >= emin {
        let (m, inexact) = round_shift(sig, drop_normal, rm, sign);
        // m is in [2^(p-1), 2^p]; the carry of m = 2^p moves into the exponent field.
        let biased = (e - emin) as u64 + 1;
        let bits = if biased < f.exp_max() {
            ((biased - 1) << f.frac) + m as u64
        } else {
            u64::MAX
        };
        if bits >> f.frac >= f.exp_max() {
            *fl |= OF | NX;
            let to_inf = match rm {
                Rm::Rne | Rm::Rmm => true,
                Rm::Rtz => false,
                Rm::Rdn => sign,
                Rm::Rup => !sign,
            };
            return if to_inf {
                f.inf(sign)
            } else {
                f.max_finite(sign)
            };
        }
        if inexact {
            *fl |= NX;
        }
        return f.sign(sign) | bits;
    }
    // Below the normal range: fewer significand bits. Tiny after rounding unless
    // rounding to full precision with an unbounded exponent reaches 2^emin.
    let tiny = e < emin - 1 || round_shift(sig, drop_normal, rm, sign).0 >> p == 0;
    let (m, inexact) = round_shift(sig, drop_normal + (emin - e), rm, sign);
    if inexact {
        *fl |= NX;
        if tiny {
            *fl |= UF;
        }
    }
    // A subnormal's encoding is its significand; m = 2^(p-1) encodes 2^emin.
    f.sign(sign) | m as u64
}

/// An exact signed value `(-1)^sign × sig × 2^exp` (sig < 2^126).
#[derive(Clone, Copy)]
struct Exact {
    sign: bool,
    exp: i32,
    sig: u128,
}

/// Places `x`'s leading bit at bit 125 (room for a carry above it).
#[inline]
fn normalize125(x: Exact) -> Exact {
    let s = x.sig.leading_zeros() as i32 - 2;
    Exact {
        sign: x.sign,
        exp: x.exp - s,
        sig: x.sig << s as u32,
    }
}

/// The sum of two nonzero exact values, exact except for a sticky bit below every bit
/// that rounding looks at; `None` for an exact zero.
fn add_exact(a: Exact, b: Exact) -> Option<Exact> {
    let (mut a, mut b) = (normalize125(a), normalize125(b));
    if b.exp > a.exp {
        core::mem::swap(&mut a, &mut b);
    }
    let d = (a.exp - b.exp) as u32;
    let bs = if d == 0 {
        b.sig
    } else if d >= 127 {
        1
    } else {
        (b.sig >> d) | (b.sig & ((1u128 << d) - 1) != 0) as u128
    };
    if a.sign == b.sign {
        return Some(Exact {
            sign: a.sign,
            exp: a.exp,
            sig: a.sig + bs,
        });
    }
    let (sign, sig) = if a.sig >= bs {
        (a.sign, a.sig - bs)
    } else {
        (b.sign, bs - a.sig)
    };
    (sig != 0).then_some(Exact {
        sign,
        exp: a.exp,
        sig,
    })
}

/// The sign of an exact zero sum of operands of different signs.
#[inline]
fn zero_sum_sign(rm: Rm) -> bool {
    rm == Rm::Rdn
}

/// `a + b`.
pub fn add(f: Fmt, a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    let (sa, ca) = unpack(f, a);
    let (sb, cb) = unpack(f, b);
    if is_nan(ca) || is_nan(cb) {
        if ca == Class::SNaN || cb == Class::SNaN {
            *fl |= NV;
        }
        return f.nan();
    }
    match (ca, cb) {
        (Class::Inf, Class::Inf) if sa != sb => {
            *fl |= NV;
            f.nan()
        }
        (Class::Inf, _) => a,
        (_, Class::Inf) => b,
        (Class::Zero, Class::Zero) => f.sign(if sa == sb { sa } else { zero_sum_sign(rm) }),
        (Class::Zero, _) => b,
        (_, Class::Zero) => a,
        (Class::Finite { exp: ea, sig: ma }, Class::Finite { exp: eb, sig: mb }) => {
            let x = Exact {
                sign: sa,
                exp: ea,
                sig: ma as u128,
            };
            let y = Exact {
                sign: sb,
                exp: eb,
                sig: mb as u128,
            };
            match add_exact(x, y) {
                Some(r) => round_pack(f, r.sign, r.exp, r.sig, rm, fl),
                None => f.sign(zero_sum_sign(rm)),
            }
        }
        _ => unreachable!("NaNs handled above"),
    }
}

/// `a - b`.
pub fn sub(f: Fmt, a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    add(f, a, b ^ f.sign_bit(), rm, fl)
}

/// `a × b`.
pub fn mul(f: Fmt, a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    let (sa, ca) = unpack(f, a);
    let (sb, cb) = unpack(f, b);
    let sign = sa != sb;
    if is_nan(ca) || is_nan(cb) {
        if ca == Class::SNaN || cb == Class::SNaN {
            *fl |= NV;
        }
        return f.nan();
    }
    match (ca, cb) {
        (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf) => {
            *fl |= NV;
            f.nan()
        }
        (Class::Inf, _) | (_, Class::Inf) => f.inf(sign),
        (Class::Zero, _) | (_, Class::Zero) => f.sign(sign),
        (Class::Finite { exp: ea, sig: ma }, Class::Finite { exp: eb, sig: mb }) => {
            round_pack(f, sign, ea + eb, ma as u128 * mb as u128, rm, fl)
        }
        _ => unreachable!("NaNs handled above"),
    }
}

/// `±(a × b) ± c` with one rounding: `neg = (negate the product, negate the addend)`
/// (FMADD: neither; FMSUB: the addend; FNMSUB: the product; FNMADD: both).
pub fn fma(f: Fmt, a: u64, b: u64, c: u64, neg: (bool, bool), rm: Rm, fl: &mut u8) -> u64 {
    let (sa, ca) = unpack(f, a);
    let (sb, cb) = unpack(f, b);
    let (sc, cc) = unpack(f, c);
    let (neg_prod, neg_c) = neg;
    let sc = sc != neg_c;
    let sp = (sa != sb) != neg_prod;
    if ca == Class::SNaN || cb == Class::SNaN || cc == Class::SNaN {
        *fl |= NV;
    }
    if is_nan(ca) || is_nan(cb) {
        return f.nan();
    }
    // ∞ × 0 is invalid even when the addend is a quiet NaN (the RISC-V spec).
    if matches!(
        (ca, cb),
        (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf)
    ) {
        *fl |= NV;
        return f.nan();
    }
    if is_nan(cc) {
        return f.nan();
    }
    if ca == Class::Inf || cb == Class::Inf {
        if cc == Class::Inf && sc != sp {
            *fl |= NV;
            return f.nan();
        }
        return f.inf(sp);
    }
    if cc == Class::Inf {
        return f.inf(sc);
    }
    let (ea, ma, eb, mb) = match (ca, cb) {
        (Class::Finite { exp: ea, sig: ma }, Class::Finite { exp: eb, sig: mb }) => {
            (ea, ma, eb, mb)
        }
        _ => {
            // A zero product.
            return match cc {
                Class::Zero => f.sign(if sp == sc { sp } else { zero_sum_sign(rm) }),
                _ => f.sign(sc) | (c & !f.sign_bit()),
            };
        }
    };
    let prod = Exact {
        sign: sp,
        exp: ea + eb,
        sig: ma as u128 * mb as u128,
    };
    let r = match cc {
        Class::Finite { exp, sig } => add_exact(
            prod,
            Exact {
                sign: sc,
                exp,
                sig: sig as u128,
            },
        ),
        _ => Some(prod),
    };
    match r {
        Some(r) => round_pack(f, r.sign, r.exp, r.sig, rm, fl),
        None => f.sign(zero_sum_sign(rm)),
    }
}

/// `a ÷ b`.
pub fn div(f: Fmt, a: u64, b: u64, rm: Rm, fl: &mut u8) -> u64 {
    let (sa, ca) = unpack(f, a);
    let (sb, cb) = unpack(f, b);
    let sign = sa != sb;
    if is_nan(ca) || is_nan(cb) {
        if ca == Class::SNaN || cb == Class::SNaN {
            *fl |= NV;
        }
        return f.nan();
    }
    match (ca, cb) {
        (Class::Inf, Class::Inf) | (Class::Zero, Class::Zero) => {
            *fl |= NV;
            f.nan()
        }
        (Class::Inf, _) => f.inf(sign),
        (_, Class::Inf) | (Class::Zero, _) => f.sign(sign),
        (_, Class::Zero) => {
            *fl |= DZ;
            f.inf(sign)
        }
        (Class::Finite { exp: ea, sig: ma }, Class::Finite { exp: eb, sig: mb }) => {
            // Both significands to 64 bits, then a 128/64 division: a quotient of 64 or
            // 65 bits, the remainder's being nonzero jammed into bit 0.
            let la = ma.leading_zeros();
            let lb = mb.leading_zeros();
            let na = (ma << la) as u128;
            let nb = (mb << lb) as u128;
            let q = (na << 64) / nb;
            let r = (na << 64) % nb;
            let exp = (ea - la as i32) - (eb - lb as i32) - 64;
            round_pack(f, sign, exp, q | (r != 0) as u128, rm, fl)
        }
        _ => unreachable!("NaNs handled above"),
    }
}

/// `√a`.
pub fn sqrt(f: Fmt, a: u64, rm: Rm, fl: &mut u8) -> u64 {
    let (sa, ca) = unpack(f, a);
    match ca {
        Class::SNaN => {
            *fl |= NV;
            f.nan()
        }
        Class::QNaN => f.nan(),
        Class::Zero => a,
        _ if sa => {
            *fl |= NV;
            f.nan()
        }
        Class::Inf => a,
        Class::Finite { exp, sig } => {
            let mut m = sig as u128;
            let mut e = exp;
            if e & 1 != 0 {
                m <<= 1;
                e -= 1;
            }
            // An even shift that leaves the leading bit at 125 or 126: a root of 63 or 64
            // bits, far more than the 53 + 2 rounding needs.
            let mut s = m.leading_zeros() as i32 - 1;
            s &= !1;
            m <<= s as u32;
            e -= s;
            let r = isqrt(m);
            let exact = r * r == m;
            let (sig, exp) = if exact {
                (r, e / 2)
            } else {
                ((r << 1) | 1, e / 2 - 1)
            };
            round_pack(f, false, exp, sig, rm, fl)
        }
    }
}

/// The integer square root (floor) of `n`.
#[inline]
fn isqrt(n: u128) -> u128 {
    n.isqrt()
}

/// Converts `a` from format `from` to format `to` (exact when widening).
pub fn convert(from: Fmt, to: Fmt, a: u64, rm: Rm, fl: &mut u8) -> u64 {
    let (s, c) = unpack(from, a);
    match c {
        Class::SNaN => {
            *fl |= NV;
            to.nan()
        }
        Class::QNaN => to.nan(),
        Class::Inf => to.inf(s),
        Class::Zero => to.sign(s),
        Class::Finite { exp, sig } => round_pack(to, s, exp, sig as u128, rm, fl),
    }
}

/// Converts `a` to an integer of `bits` (32 or 64), signed or not, rounding in `rm`: the
/// result's two's-complement bits (not sign-extended). Out of range and NaN saturate and
/// raise only invalid (NaN converts to the largest value), as RISC-V specifies.
pub fn to_int(f: Fmt, a: u64, bits: u32, signed: bool, rm: Rm, fl: &mut u8) -> u64 {
    let (s, c) = unpack(f, a);
    let umax: u128 = if bits == 64 {
        u64::MAX as u128
    } else {
        u32::MAX as u128
    };
    let (min, max) = if signed {
        ((umax >> 1) + 1, umax >> 1) // min's magnitude
    } else {
        (0, umax)
    };
    let wrap = |v: i128| (v as u128 & umax) as u64;
    let invalid = |fl: &mut u8, neg: bool| {
        *fl |= NV;
        if neg {
            wrap(-(min as i128))
        } else {
            max as u64
        }
    };
    let (exp, sig) = match c {
        Class::SNaN | Class::QNaN => return invalid(fl, false),
        Class::Inf => return invalid(fl, s),
        Class::Zero => return 0,
        Class::Finite { exp, sig } => (exp, sig),
    };
    if exp > 64 {
        return invalid(fl, s);
    }
    let (m, inexact) = round_shift(sig as u128, -exp, rm, s);
    if s {
        if m > min || (!signed && m != 0) {
            return invalid(fl, true);
        }
    } else if m > max {
        return invalid(fl, false);
    }
    if inexact {
        *fl |= NX;
    }
    if s {
        wrap(-(m as i128))
    } else {
        m as u64
    }
}

/// Converts the integer `v` (of `bits`, 32 or 64, signed or not; the low `bits` of `v` are
/// used) to format `f`.
pub fn from_int(f: Fmt, v: u64, bits: u32, signed: bool, rm: Rm, fl: &mut u8) -> u64 {
    let v = if bits == 32 { v & 0xffff_ffff } else { v };
    let (s, mag) = if signed {
        let x = if bits == 32 {
            v as u32 as i32 as i64
        } else {
            v as i64
        };
        (x < 0, x.unsigned_abs())
    } else {
        (false, v)
    };
    if mag == 0 {
        return 0;
    }
    round_pack(f, s, 0, mag as u128, rm, fl)
}

/// `a == b` (quiet: only a signalling NaN raises invalid).
pub fn eq(f: Fmt, a: u64, b: u64, fl: &mut u8) -> bool {
    let (_, ca) = unpack(f, a);
    let (_, cb) = unpack(f, b);
    if is_nan(ca) || is_nan(cb) {
        if ca == Class::SNaN || cb == Class::SNaN {
            *fl |= NV;
        }
        return false;
    }
    a == b || (ca == Class::Zero && cb == Class::Zero)
}

/// A key whose integer order is the numeric order of non-NaN values (−0 below +0).
#[inline]
fn order_key(f: Fmt, x: u64) -> i64 {
    let mag = (x & !f.sign_bit()) as i64;
    if x & f.sign_bit() != 0 {
        -mag - 1
    } else {
        mag
    }
}

/// `a < b` (`or_equal`: `a ≤ b`), signalling: any NaN raises invalid.
pub fn lt(f: Fmt, a: u64, b: u64, or_equal: bool, fl: &mut u8) -> bool {
    let (_, ca) = unpack(f, a);
    let (_, cb) = unpack(f, b);
    if is_nan(ca) || is_nan(cb) {
        *fl |= NV;
        return false;
    }
    if ca == Class::Zero && cb == Class::Zero {
        return or_equal;
    }
    let (ka, kb) = (order_key(f, a), order_key(f, b));
    if or_equal {
        ka <= kb
    } else {
        ka < kb
    }
}

/// IEEE 754-2019 minimumNumber (`max`: maximumNumber): a NaN operand yields the other one,
/// two NaNs the canonical NaN, a signalling NaN raises invalid, and −0 < +0.
pub fn min_max(f: Fmt, a: u64, b: u64, max: bool, fl: &mut u8) -> u64 {
    let (_, ca) = unpack(f, a);
    let (_, cb) = unpack(f, b);
    if ca == Class::SNaN || cb == Class::SNaN {
        *fl |= NV;
    }
    match (is_nan(ca), is_nan(cb)) {
        (true, true) => return f.nan(),
        (true, false) => return b,
        (false, true) => return a,
        _ => {}
    }
    let a_less = order_key(f, a) < order_key(f, b);
    if a_less != max {
        a
    } else {
        b
    }
}

/// `fclass`: one bit set of ten (−∞, −normal, −subnormal, −0, +0, +subnormal, +normal, +∞,
/// signalling NaN, quiet NaN).
pub fn classify(f: Fmt, a: u64) -> u64 {
    let (s, c) = unpack(f, a);
    let e = (a >> f.frac) & f.exp_max();
    let bit = match c {
        Class::Inf => {
            if s {
                0
            } else {
                7
            }
        }
        Class::Zero => {
            if s {
                3
            } else {
                4
            }
        }
        Class::Finite { .. } => match (s, e == 0) {
            (true, false) => 1,
            (true, true) => 2,
            (false, true) => 5,
            (false, false) => 6,
        },
        Class::SNaN => 8,
        Class::QNaN => 9,
    };
    1 << bit
}

#[cfg(test)]
mod tests;
