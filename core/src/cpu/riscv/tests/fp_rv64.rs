//! F and D on an RV64 hart (QEMU's RV32 `virt` cannot run these): the `.l`/`.lu`
//! conversions and their saturation, 32-bit results sign-extended into 64-bit registers,
//! `fmv.x.w` sign extension, `fmv.x.d`/`fmv.d.x`, the 32-bit integer source of `fcvt.s.w`
//! being the register's low half, `SD` at bit 63, `c.fld`/`c.fsd` (and `c.ld` where RV32 has
//! `c.flw`), and FS Dirty on a flag alone (where QEMU 7.2 differs). The arithmetic itself is
//! XLEN-independent and diffed against QEMU on RV32.

use super::asm::r;
use super::{poke, with_machine, RAM_BASE};
use crate::cpu::riscv::csr::{mstatus, num};
use crate::cpu::riscv::{Exit, Hart, Xlen};

const fn opfp(f7: u32, rs2: u32, rs1: u32, rm: u32, rd: u32) -> u32 {
    r(f7, rs2, rs1, rm, rd, 0x53)
}
const DYN: u32 = 7;
const NX: u64 = 1;
const NV: u64 = 16;

/// What a test looks at after the instruction (a `Hart` is too large to move around).
struct After {
    x: [u64; 32],
    f: [u64; 32],
    mstatus: u64,
    sstatus: u64,
}

impl After {
    fn reg(&self, i: usize) -> u64 {
        self.x[i]
    }
    fn freg(&self, i: usize) -> u64 {
        self.f[i]
    }
}

/// Runs one instruction on an RV64 hart with FS = Initial and `frm` after `setup`: the
/// registers after it, and `fflags`.
fn one(insn: u32, frm: u64, setup: impl FnOnce(&mut Hart<'static>)) -> (After, u64) {
    let mut out = None;
    with_machine(0x10000, &[(0, &[insn, super::asm::EBREAK])], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv64, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MSTATUS, 1 << 13).unwrap();
        h.set_csr(num::FRM, frm).unwrap();
        setup(&mut h);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)), "{insn:#x}");
        let fl = h.csr(num::FFLAGS).unwrap();
        let after = After {
            x: core::array::from_fn(|i| h.reg(i)),
            f: core::array::from_fn(|i| h.freg(i)),
            mstatus: h.csr(num::MSTATUS).unwrap(),
            sstatus: h.csr(num::SSTATUS).unwrap(),
        };
        out = Some((after, fl));
    });
    out.unwrap()
}

/// 2^63 and 2^64, exact (`powi`'s precision is unspecified, and Miri perturbs it).
const TWO_63: f64 = 9_223_372_036_854_775_808.0;
/// See [`TWO_63`].
const TWO_64: f64 = 18_446_744_073_709_551_616.0;

/// `fcvt.<int>.d x5, f1` of `value` in rounding mode `frm`: (x5, fflags).
fn to_int_d(rs2: u32, value: f64, frm: u64) -> (u64, u64) {
    let (h, fl) = one(opfp(0x61, rs2, 1, DYN, 5), frm, |h| {
        h.set_freg(1, value.to_bits())
    });
    (h.reg(5), fl)
}

#[test]
fn long_conversions_saturate_and_round() {
    // fcvt.l.d
    assert_eq!(to_int_d(2, -(TWO_63), 0), (i64::MIN as u64, 0));
    assert_eq!(to_int_d(2, TWO_63, 0), (i64::MAX as u64, NV));
    assert_eq!(to_int_d(2, f64::NEG_INFINITY, 0), (i64::MIN as u64, NV));
    assert_eq!(to_int_d(2, f64::NAN, 0), (i64::MAX as u64, NV));
    assert_eq!(to_int_d(2, -2.5, 0), (-2i64 as u64, NX)); // ties to even
    assert_eq!(to_int_d(2, -2.5, 4), (-3i64 as u64, NX)); // ties away
    assert_eq!(to_int_d(2, -2.5, 3), (-2i64 as u64, NX)); // up
    assert_eq!(to_int_d(2, 2251799813685249.5, 2), (2251799813685249, NX)); // down
                                                                            // fcvt.lu.d
    assert_eq!(to_int_d(3, TWO_64, 0), (u64::MAX, NV));
    assert_eq!(
        to_int_d(3, 18446744073709549568.0, 0),
        (18446744073709549568, 0)
    );
    assert_eq!(to_int_d(3, -1.0, 0), (0, NV));
    assert_eq!(to_int_d(3, -0.75, 1), (0, NX)); // rounds to 0: not invalid
    assert_eq!(to_int_d(3, f64::NAN, 0), (u64::MAX, NV));
    // fcvt.w.d and fcvt.wu.d sign-extend their 32-bit result
    assert_eq!(to_int_d(0, -5.0, 0), (-5i64 as u64, 0));
    assert_eq!(to_int_d(0, 3e9, 0), (i32::MAX as u64, NV));
    assert_eq!(
        to_int_d(1, 3e9, 0),
        (3_000_000_000u32 as i32 as i64 as u64, 0)
    );
    assert_eq!(to_int_d(1, 5e9, 0), (u64::MAX, NV));
    // fcvt.l.s
    let (h, fl) = one(opfp(0x60, 2, 1, 1, 5), 0, |h| {
        h.set_freg(1, 0xffff_ffff_0000_0000 | (-12345.9f32).to_bits() as u64)
    });
    assert_eq!((h.reg(5), fl), (-12345i64 as u64, NX));
}

#[test]
fn long_sources_round_to_the_format() {
    // fcvt.d.l x1 = i64::MIN + 1: inexact, to -2^63 in RNE
    let (h, fl) = one(opfp(0x69, 2, 1, DYN, 2), 0, |h| {
        h.set_reg(1, (i64::MIN + 1) as u64)
    });
    assert_eq!((h.freg(2), fl), ((-(TWO_63)).to_bits(), NX));
    // fcvt.d.lu of u64::MAX: 2^64 in RNE, the largest double below in RTZ
    let (h, fl) = one(opfp(0x69, 3, 1, DYN, 2), 0, |h| h.set_reg(1, u64::MAX));
    assert_eq!((h.freg(2), fl), (0x43f0_0000_0000_0000, NX));
    let (h, _) = one(opfp(0x69, 3, 1, DYN, 2), 1, |h| h.set_reg(1, u64::MAX));
    assert_eq!(h.freg(2), 0x43ef_ffff_ffff_ffff);
    // fcvt.s.lu of u64::MAX in RTZ: NaN-boxed 0x5f7fffff
    let (h, fl) = one(opfp(0x68, 3, 1, 1, 2), 0, |h| h.set_reg(1, u64::MAX));
    assert_eq!((h.freg(2), fl), (0xffff_ffff_5f7f_ffff, NX));
    // fcvt.s.w takes the low 32 bits of the register
    let (h, fl) = one(opfp(0x68, 0, 1, 0, 2), 0, |h| h.set_reg(1, 0x1_0000_0005));
    assert_eq!((h.freg(2), fl), (0xffff_ffff_40a0_0000, 0));
    // fcvt.s.l uses all 64
    let (h, _) = one(opfp(0x68, 2, 1, 0, 2), 0, |h| h.set_reg(1, 0x1_0000_0005));
    assert_eq!(
        h.freg(2),
        0xffff_ffff_0000_0000 | 4294967301f32.to_bits() as u64
    );
}

#[test]
fn moves_and_sd_on_rv64() {
    // fmv.x.w sign-extends the low word (even of an improperly boxed value)
    let (h, _) = one(opfp(0x70, 0, 1, 0, 5), 0, |h| {
        h.set_freg(1, 0x1234_5678_8000_0001)
    });
    assert_eq!(h.reg(5), 0xffff_ffff_8000_0001);
    // fmv.x.d, fmv.d.x
    let (h, _) = one(opfp(0x71, 0, 1, 0, 5), 0, |h| {
        h.set_freg(1, 0x8123_4567_89ab_cdef)
    });
    assert_eq!(h.reg(5), 0x8123_4567_89ab_cdef);
    let (h, _) = one(opfp(0x79, 0, 1, 0, 3), 0, |h| {
        h.set_reg(1, 0x7ff0_0000_0000_0001)
    });
    assert_eq!(h.freg(3), 0x7ff0_0000_0000_0001);
    // fmv.w.x boxes the low word
    let (h, _) = one(opfp(0x78, 0, 1, 0, 3), 0, |h| {
        h.set_reg(1, 0xdead_beef_3f80_0000)
    });
    assert_eq!(h.freg(3), 0xffff_ffff_3f80_0000);
    // the write made FS Dirty: SD is bit 63 in mstatus and sstatus
    let ms = h.mstatus;
    assert_eq!(ms & mstatus::FS, mstatus::FS);
    assert_eq!(ms >> 63, 1);
    assert_eq!(h.sstatus >> 63, 1);
    assert_eq!(ms & mstatus::SD32, 0);
}

#[test]
fn compressed_fp_loads_and_stores_on_rv64() {
    with_machine(0x10000, &[(0, &[])], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv64, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MSTATUS, 1 << 13).unwrap();
        // c.fld f14, 8(x8); c.fsd f14, 104(x8); c.ld x13, 0(x8) (c.flw's slot on RV32);
        // ebreak
        let code = [0x2418 | 0xb438 << 16, 0x6014 | 0x9002 << 16];
        for (k, w) in code.iter().enumerate() {
            poke(sec, RAM_BASE + 0x100 + 4 * k as u64, *w);
        }
        poke(sec, RAM_BASE + 0x8000, 0x1111_2222);
        poke(sec, RAM_BASE + 0x8004, 0x3333_4444);
        poke(sec, RAM_BASE + 0x8008, 0x5555_6666);
        poke(sec, RAM_BASE + 0x800c, 0x7777_8888);
        h.set_reg(8, RAM_BASE + 0x8000);
        h.set_pc(RAM_BASE + 0x100);
        assert!(matches!(h.run(sec, 10), Exit::Breakpoint(_)));
        assert_eq!(h.freg(14), 0x7777_8888_5555_6666);
        assert_eq!(super::peek(sec, RAM_BASE + 0x8068), 0x5555_6666);
        assert_eq!(super::peek(sec, RAM_BASE + 0x806c), 0x7777_8888);
        assert_eq!(h.reg(13), 0x3333_4444_1111_2222);
    });
}

/// The privileged spec: FS becomes Dirty when any FP state changes, `fflags` included, so
/// an instruction that only accrues a flag (here `feq.s` of a signalling NaN, invalid)
/// makes a Clean FS Dirty. QEMU 7.2 leaves it Clean (it marks FS Dirty only on FP register
/// writes), which is why this is a unit test and not part of the QEMU differential.
#[test]
fn a_flag_alone_makes_fs_dirty() {
    let feq_s = r(0x50, 1, 1, 2, 5, 0x53); // feq.s x5, f1, f1
    let (h, fl) = one(feq_s, 0, |h| {
        h.set_csr(num::MSTATUS, 2 << 13).unwrap(); // Clean
        h.set_freg(1, 0xffff_ffff_7f80_0001);
    });
    assert_eq!((h.reg(5), fl), (0, NV));
    assert_eq!(h.mstatus & mstatus::FS, mstatus::FS);
    // A quiet comparison that raises nothing leaves it Clean.
    let (h, fl) = one(feq_s, 0, |h| {
        h.set_csr(num::MSTATUS, 2 << 13).unwrap();
        h.set_freg(1, 0xffff_ffff_3f80_0000);
    });
    assert_eq!((h.reg(5), fl), (1, 0));
    assert_eq!(h.mstatus & mstatus::FS, 2 << 13);
}
