/* F/D at XLEN 64, checked against the spec's values (fp_diff compares the same operations
 * with QEMU at random): fcvt.l/lu from S and D with saturation and the invalid flag, the W
 * conversions' 32-bit results sign-extended into 64-bit registers (also fcvt.wu), fmv.x.w
 * sign extension, fmv.x.d/fmv.d.x, conversions from 64-bit integers rounding (inexact),
 * the W conversions ignoring the source's upper half, NaN boxing at XLEN 64 (a double
 * written by fmv.d.x is an improperly boxed single unless its upper half is all ones). */
#include "test.h"
  .option norvc

/* Fails unless a0 == val and fflags == flags; clears fflags. */
.macro RES val, flags, code
  li t6, \val
  beq a0, t6, .Lv\@
  FAIL \code
.Lv\@:
  csrrw t6, fflags, zero
  li t5, \flags
  beq t5, t6, .Lf\@
  FAIL \code + 0x100
.Lf\@:
.endm

#define NV 0x10
#define NX 0x01

TEST_BEGIN fp_rv64
  li t0, 0x2000           /* mstatus.FS = Initial */
  csrs mstatus, t0
  csrw fcsr, zero

  /* fcvt.l.d / fcvt.lu.d: saturation, NaN, rounding */
  li t0, 0x7ff8000000000000  /* qNaN */
  fmv.d.x fa0, t0
  fcvt.l.d a0, fa0, rtz
  RES 0x7fffffffffffffff, NV, 1
  fcvt.lu.d a0, fa0, rtz
  RES 0xffffffffffffffff, NV, 2
  li t0, 0xfff0000000000000  /* -inf */
  fmv.d.x fa0, t0
  fcvt.l.d a0, fa0, rtz
  RES 0x8000000000000000, NV, 3
  fcvt.lu.d a0, fa0, rtz
  RES 0, NV, 4
  li t0, 0x43e0000000000000  /* 2^63 */
  fmv.d.x fa0, t0
  fcvt.l.d a0, fa0, rne
  RES 0x7fffffffffffffff, NV, 5
  fcvt.lu.d a0, fa0, rne
  RES 0x8000000000000000, 0, 6
  li t0, 0xbff0000000000000  /* -1.0 */
  fmv.d.x fa0, t0
  fcvt.lu.d a0, fa0, rne
  RES 0, NV, 7
  fcvt.l.d a0, fa0, rne
  RES -1, 0, 8
  li t0, 0xbfe0000000000000  /* -0.5: rounds to -0 = 0 up, -1 down; inexact */
  fmv.d.x fa0, t0
  fcvt.l.d a0, fa0, rup
  RES 0, NX, 9
  fcvt.l.d a0, fa0, rdn
  RES -1, NX, 10
  fcvt.lu.d a0, fa0, rup     /* -0.5 rounds to 0: in range, only inexact */
  RES 0, NX, 11
  /* fcvt.l.s / fcvt.lu.s */
  li t0, 0xffffffffdf000000  /* -2^63 as a boxed single */
  fmv.d.x fa1, t0
  fcvt.l.s a0, fa1, rtz
  RES 0x8000000000000000, 0, 12
  li t0, 0xffffffff5f800000  /* 2^64 */
  fmv.d.x fa1, t0
  fcvt.lu.s a0, fa1, rtz
  RES 0xffffffffffffffff, NV, 13
  li t0, 0x5f7fffff          /* 2^64 - 2^40 (upper half 0: improperly boxed = NaN) */
  fmv.d.x fa1, t0
  fcvt.lu.s a0, fa1, rtz
  RES 0xffffffffffffffff, NV, 14
  li t0, 0xffffffff5f7fffff  /* the same, boxed */
  fmv.d.x fa1, t0
  fcvt.lu.s a0, fa1, rtz
  RES 0xffffff0000000000, 0, 15

  /* the W conversions: 32-bit results sign-extended, also fcvt.wu */
  li t0, 0x41efffffffe00000  /* 4294967295.0 */
  fmv.d.x fa0, t0
  fcvt.wu.d a0, fa0, rtz
  RES 0xffffffffffffffff, 0, 0x10
  li t0, 0x41e0000000000000  /* 2^31 */
  fmv.d.x fa0, t0
  fcvt.wu.d a0, fa0, rtz
  RES 0xffffffff80000000, 0, 0x11
  fcvt.w.d a0, fa0, rtz
  RES 0x7fffffff, NV, 0x12
  li t0, 0xfff0000000000000
  fmv.d.x fa0, t0
  fcvt.w.d a0, fa0, rtz
  RES 0xffffffff80000000, NV, 0x13
  li t0, 0x7ff8000000000000
  fmv.d.x fa0, t0
  fcvt.wu.d a0, fa0, rtz     /* NaN: 2^32 - 1, sign-extended */
  RES 0xffffffffffffffff, NV, 0x14
  li t0, 0xffffffffc0000000  /* -2.0f */
  fmv.d.x fa1, t0
  fcvt.w.s a0, fa1, rtz
  RES -2, 0, 0x15

  /* from integers: the W forms read the low 32 bits only */
  li a1, 0x12345678fffffffe  /* low word -2 */
  fcvt.d.w fa0, a1
  fmv.x.d a0, fa0
  RES 0xc000000000000000, 0, 0x18
  fcvt.d.wu fa0, a1          /* 4294967294.0 */
  fmv.x.d a0, fa0
  RES 0x41efffffffc00000, 0, 0x19
  fcvt.s.w fa1, a1, rne
  fmv.x.d a0, fa1            /* -2.0f, NaN-boxed */
  RES 0xffffffffc0000000, 0, 0x1a
  /* 64-bit sources round */
  li a1, 0x20000000000001    /* 2^53 + 1: not a double */
  fcvt.d.l fa0, a1, rne
  fmv.x.d a0, fa0
  RES 0x4340000000000000, NX, 0x1b
  fcvt.d.l fa0, a1, rup
  fmv.x.d a0, fa0
  RES 0x4340000000000001, NX, 0x1c
  li a1, -1
  fcvt.s.lu fa1, a1, rne     /* 2^64 - 1 -> 2^64 */
  fmv.x.w a0, fa1
  RES 0x5f800000, NX, 0x1d
  fcvt.s.lu fa1, a1, rtz     /* -> largest single below 2^64 */
  fmv.x.w a0, fa1
  RES 0x5f7fffff, NX, 0x1e
  fcvt.s.l fa1, a1, rne      /* -1 */
  fmv.x.w a0, fa1
  RES 0xffffffffbf800000, 0, 0x1f
  li a1, 0x8000000000000000
  fcvt.d.l fa0, a1, rne
  fmv.x.d a0, fa0
  RES 0xc3e0000000000000, 0, 0x20

  /* fmv.x.w sign-extends bit 31; fmv.x.d and fmv.d.x move 64 bits */
  li t0, 0x0123456789abcdef
  fmv.d.x fa2, t0
  fmv.x.d a0, fa2
  RES 0x0123456789abcdef, 0, 0x28
  fmv.x.w a0, fa2            /* the low word, whatever the boxing */
  RES 0xffffffff89abcdef, 0, 0x29
  li t0, 0x3f800000
  fmv.w.x fa2, t0            /* boxes */
  fmv.x.d a0, fa2
  RES 0xffffffff3f800000, 0, 0x2a
  /* an improperly boxed single (fmv.d.x with upper half not all ones) reads as the
   * canonical NaN: fadd gives the canonical NaN, fclass says quiet NaN, no flag */
  li t0, 0x000000003f800000
  fmv.d.x fa2, t0
  fadd.s fa3, fa2, fa2
  fmv.x.w a0, fa3
  RES 0x7fc00000, 0, 0x2b
  fclass.s a0, fa2
  RES 0x200, 0, 0x2c
  li t0, 0xfffffffe3f800000  /* one bit short of boxed */
  fmv.d.x fa2, t0
  fcvt.d.s fa3, fa2
  fmv.x.d a0, fa3
  RES 0x7ff8000000000000, 0, 0x2d
  /* compares and fclass write 0/1 and class bits into 64-bit registers */
  li t0, -1
  mv a0, t0
  li t0, 0xffffffffbf800000  /* -1.0f */
  fmv.d.x fa2, t0
  flt.s a0, fa2, fa2
  RES 0, 0, 0x30
  fle.s a0, fa2, fa2
  RES 1, 0, 0x31
  TEST_PASS
