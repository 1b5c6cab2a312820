//! Round-to-nearest results against the host's IEEE 754 arithmetic (exact on every host
//! Rust supports), on random operands weighted towards special values; and hand-checked
//! cases for the other modes, the flags and the RISC-V choices (canonical NaN, saturation).

use super::*;
use std::format;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

const SPECIAL64: &[u64] = &[
    0,
    1 << 63,
    0x7ff0_0000_0000_0000,
    0xfff0_0000_0000_0000,
    0x7ff8_0000_0000_0001,
    0x7ff0_0000_0000_0001,
    1,
    0x000f_ffff_ffff_ffff,
    0x0010_0000_0000_0000,
    0x7fef_ffff_ffff_ffff,
    0x3ff0_0000_0000_0000,
    0x3ff0_0000_0000_0001,
    0x4340_0000_0000_0000,
    0x41e0_0000_0000_0000,
];

/// Random operations compared with the host per width: fewer under Miri, which runs
/// this code (no `unsafe` in it) about a thousand times slower.
const HOST_CHECKS: usize = if cfg!(miri) { 300 } else { 200_000 };

fn operand64(r: &mut Rng) -> u64 {
    let x = r.next();
    match x % 8 {
        0 => SPECIAL64[(x >> 8) as usize % SPECIAL64.len()] ^ ((x >> 40) & 1) << 63,
        1 => x & 0x800f_ffff_ffff_ffff,                  // subnormal
        2 => (x & 0x800f_ffff_ffff_ffff) | 0x3ff0 << 48, // [1, 2)
        3 => (x & 0x83ff_ffff_ffff_ffff) | 0x3c00 << 52, // moderate exponents
        _ => x,
    }
}

fn operand32(r: &mut Rng) -> u64 {
    let x = r.next();
    let b = match x % 8 {
        0 => {
            [
                0,
                0x8000_0000,
                0x7f80_0000,
                0x7fc0_0001,
                0x7f80_0001,
                1,
                0x007f_ffff,
                0x0080_0000,
                0x7f7f_ffff,
                0x3f80_0000,
                0x4f00_0000,
            ][(x >> 8) as usize % 11]
                ^ (((x >> 40) as u32 & 1) << 31)
        }
        1 => (x as u32) & 0x807f_ffff,
        2 => ((x as u32) & 0x807f_ffff) | 0x3f80_0000,
        _ => x as u32,
    };
    b as u64
}

fn same64(ours: u64, host: f64) -> bool {
    if host.is_nan() {
        ours == F64.nan()
    } else {
        ours == host.to_bits()
    }
}

fn same32(ours: u64, host: f32) -> bool {
    if host.is_nan() {
        ours == F32.nan()
    } else {
        ours == host.to_bits() as u64
    }
}

#[test]
fn binary64_matches_the_host_in_round_to_nearest() {
    let mut r = Rng(0x1234_5678_9abc_def1);
    for _ in 0..HOST_CHECKS {
        let (a, b, c) = (operand64(&mut r), operand64(&mut r), operand64(&mut r));
        let (x, y, z) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
        let mut fl = 0;
        let ctx = |op: &str| format!("{op} {a:#x} {b:#x} {c:#x}");
        assert!(
            same64(add(F64, a, b, Rm::Rne, &mut fl), x + y),
            "{}",
            ctx("add")
        );
        assert!(
            same64(sub(F64, a, b, Rm::Rne, &mut fl), x - y),
            "{}",
            ctx("sub")
        );
        assert!(
            same64(mul(F64, a, b, Rm::Rne, &mut fl), x * y),
            "{}",
            ctx("mul")
        );
        assert!(
            same64(div(F64, a, b, Rm::Rne, &mut fl), x / y),
            "{}",
            ctx("div")
        );
        assert!(
            same64(sqrt(F64, a, Rm::Rne, &mut fl), x.sqrt()),
            "{}",
            ctx("sqrt")
        );
        assert!(
            same64(
                fma(F64, a, b, c, (false, false), Rm::Rne, &mut fl),
                x.mul_add(y, z)
            ),
            "{}",
            ctx("fma")
        );
        assert!(
            same64(
                fma(F64, a, b, c, (true, true), Rm::Rne, &mut fl),
                (-x).mul_add(y, -z)
            ),
            "{}",
            ctx("fnmadd")
        );
        assert!(
            same32(convert(F64, F32, a, Rm::Rne, &mut fl), x as f32),
            "{}",
            ctx("cvt.s.d")
        );
        assert_eq!(eq(F64, a, b, &mut fl), x == y, "{}", ctx("eq"));
        assert_eq!(lt(F64, a, b, false, &mut fl), x < y, "{}", ctx("lt"));
        assert_eq!(lt(F64, a, b, true, &mut fl), x <= y, "{}", ctx("le"));
        assert_eq!(
            from_int(F64, a, 64, true, Rm::Rne, &mut fl),
            (a as i64 as f64).to_bits()
        );
        assert_eq!(
            from_int(F64, a, 64, false, Rm::Rne, &mut fl),
            (a as f64).to_bits()
        );
        if !x.is_nan() {
            let t = x.trunc();
            let mut fl = 0;
            assert_eq!(
                to_int(F64, a, 64, true, Rm::Rtz, &mut fl),
                t as i64 as u64,
                "{}",
                ctx("cvt.l.d")
            );
            let exact = t == x && t >= i64::MIN as f64 && t < -(i64::MIN as f64);
            assert_eq!(fl == 0, exact, "{} {fl:#x}", ctx("cvt.l.d flags"));
        }
    }
}

#[test]
fn binary32_matches_the_host_in_round_to_nearest() {
    let mut r = Rng(0x0fed_cba9_8765_4321);
    for _ in 0..HOST_CHECKS {
        let (a, b, c) = (operand32(&mut r), operand32(&mut r), operand32(&mut r));
        let (x, y, z) = (
            f32::from_bits(a as u32),
            f32::from_bits(b as u32),
            f32::from_bits(c as u32),
        );
        let mut fl = 0;
        let ctx = |op: &str| format!("{op} {a:#x} {b:#x} {c:#x}");
        assert!(
            same32(add(F32, a, b, Rm::Rne, &mut fl), x + y),
            "{}",
            ctx("add")
        );
        assert!(
            same32(sub(F32, a, b, Rm::Rne, &mut fl), x - y),
            "{}",
            ctx("sub")
        );
        assert!(
            same32(mul(F32, a, b, Rm::Rne, &mut fl), x * y),
            "{}",
            ctx("mul")
        );
        assert!(
            same32(div(F32, a, b, Rm::Rne, &mut fl), x / y),
            "{}",
            ctx("div")
        );
        assert!(
            same32(sqrt(F32, a, Rm::Rne, &mut fl), x.sqrt()),
            "{}",
            ctx("sqrt")
        );
        assert!(
            same32(
                fma(F32, a, b, c, (false, false), Rm::Rne, &mut fl),
                x.mul_add(y, z)
            ),
            "{}",
            ctx("fma")
        );
        assert!(
            same64(convert(F32, F64, a, Rm::Rne, &mut fl), x as f64),
            "{}",
            ctx("cvt.d.s")
        );
        assert_eq!(
            from_int(F32, a, 32, true, Rm::Rne, &mut fl),
            (a as u32 as i32 as f32).to_bits() as u64
        );
        assert_eq!(
            from_int(F32, a, 32, false, Rm::Rne, &mut fl),
            (a as u32 as f32).to_bits() as u64
        );
    }
}

#[test]
fn directed_rounding_flags_and_riscv_choices() {
    let one = 0x3f80_0000;
    let third = {
        let mut fl = 0;
        div(F32, one, 0x4040_0000, Rm::Rne, &mut fl)
    };
    // 1/3 in the four directed modes: down and towards zero agree, up is one ulp above.
    let mut fl = 0;
    assert_eq!(div(F32, one, 0x4040_0000, Rm::Rdn, &mut fl), 0x3eaa_aaaa);
    assert_eq!(div(F32, one, 0x4040_0000, Rm::Rtz, &mut fl), 0x3eaa_aaaa);
    assert_eq!(div(F32, one, 0x4040_0000, Rm::Rup, &mut fl), 0x3eaa_aaab);
    assert_eq!(third, 0x3eaa_aaab);
    assert_eq!(fl, NX);
    // Overflow: to ∞ or the largest finite value by mode and sign.
    let big = 0x7f7f_ffff;
    let mut fl = 0;
    assert_eq!(mul(F32, big, 0x4000_0000, Rm::Rtz, &mut fl), big);
    assert_eq!(fl, OF | NX);
    assert_eq!(
        mul(F32, big | 1 << 31, 0x4000_0000, Rm::Rup, &mut fl),
        big | 1 << 31
    );
    assert_eq!(
        mul(F32, big | 1 << 31, 0x4000_0000, Rm::Rdn, &mut fl),
        0xff80_0000
    );
    // Underflow is tininess after rounding: the largest subnormal-range product that
    // rounds to the smallest normal raises inexact only.
    let mut fl = 0;
    let r = mul(F32, 0x007f_ffff, 0x3f80_0001, Rm::Rup, &mut fl); // just below 2^-126 × (1 + ..)
    assert_eq!(r, 0x0080_0000);
    assert_eq!(fl, NX);
    let mut fl = 0;
    assert_eq!(mul(F32, 0x0000_0003, 0x3f00_0000, Rm::Rne, &mut fl), 2); // 1.5 ulp → 2 (even)
    assert_eq!(fl, NX | UF);
    // Exact zero sums: +0, or −0 rounding down.
    let mut fl = 0;
    assert_eq!(add(F32, one, one | 1 << 31, Rm::Rne, &mut fl), 0);
    assert_eq!(add(F32, one, one | 1 << 31, Rm::Rdn, &mut fl), 0x8000_0000);
    assert_eq!(fl, 0);
    // Division by zero; 0/0 and ∞ − ∞ invalid with the canonical NaN.
    assert_eq!(div(F32, one, 0, Rm::Rne, &mut fl), 0x7f80_0000);
    assert_eq!(fl, DZ);
    let mut fl = 0;
    assert_eq!(div(F32, 0, 0, Rm::Rne, &mut fl), 0x7fc0_0000);
    assert_eq!(fl, NV);
    // NaN payloads are not propagated; a quiet NaN operand raises nothing.
    let mut fl = 0;
    assert_eq!(
        add(F64, 0x7ff8_0000_0000_1234, 0, Rm::Rne, &mut fl),
        0x7ff8_0000_0000_0000
    );
    assert_eq!(fl, 0);
    // FMA: ∞ × 0 + qNaN is invalid.
    assert_eq!(
        fma(
            F32,
            0x7f80_0000,
            0,
            0x7fc0_0000,
            (false, false),
            Rm::Rne,
            &mut fl
        ),
        0x7fc0_0000
    );
    assert_eq!(fl, NV);
    // Conversions saturate; NaN gives the largest value; −0.3 → unsigned 0 is only inexact.
    let mut fl = 0;
    assert_eq!(
        to_int(F32, 0x7fc0_0000, 32, true, Rm::Rne, &mut fl),
        0x7fff_ffff
    );
    assert_eq!(
        to_int(F32, 0xff80_0000, 32, true, Rm::Rne, &mut fl),
        0x8000_0000
    );
    assert_eq!(
        to_int(F32, 0x7fc0_0000, 32, false, Rm::Rne, &mut fl),
        0xffff_ffff
    );
    assert_eq!(to_int(F32, 0xbf80_0000, 32, false, Rm::Rne, &mut fl), 0);
    assert_eq!(
        to_int(F64, 0x7ff8_0000_0000_0000, 64, false, Rm::Rne, &mut fl),
        u64::MAX
    );
    assert_eq!(fl, NV);
    let mut fl = 0;
    assert_eq!(to_int(F32, 0xbe99_999a, 32, false, Rm::Rtz, &mut fl), 0);
    assert_eq!(fl, NX);
    let mut fl = 0;
    assert_eq!(to_int(F32, 0x3fc0_0000, 32, true, Rm::Rmm, &mut fl), 2); // 1.5 → 2
    assert_eq!(
        to_int(F32, 0xbfc0_0000, 32, true, Rm::Rdn, &mut fl),
        (-2i32) as u32 as u64
    );
    assert_eq!(fl, NX);
    // min/max: −0 < +0, one NaN gives the other, a signalling NaN raises invalid.
    let mut fl = 0;
    assert_eq!(min_max(F32, 0, 0x8000_0000, false, &mut fl), 0x8000_0000);
    assert_eq!(min_max(F32, 0x8000_0000, 0, true, &mut fl), 0);
    assert_eq!(min_max(F32, 0x7fc0_0000, one, false, &mut fl), one);
    assert_eq!(fl, 0);
    assert_eq!(min_max(F32, 0x7f80_0001, one, true, &mut fl), one);
    assert_eq!(fl, NV);
    assert_eq!(
        min_max(F32, 0x7f80_0001, 0x7fc0_1234, true, &mut fl),
        0x7fc0_0000
    );
    // Classes.
    assert_eq!(classify(F32, 0xff80_0000), 1);
    assert_eq!(classify(F32, 0x8000_0001), 4);
    assert_eq!(classify(F32, 0x7f80_0001), 1 << 8);
    assert_eq!(classify(F64, 0x7ff8_0000_0000_0000), 1 << 9);
}
