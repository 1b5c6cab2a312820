/* Zba, Zbb, Zbc, Zbs, Zihintpause and Zicbop: every instruction (RV32 encodings; the RV64
 * build adds the .uw and W forms), edge operands (zero, all ones, the sign bit, shift
 * amounts past XLEN through the register forms), rd aliasing a source, and the hints
 * (pause, prefetch.i/r/w) changing nothing. Expected values are worked from the
 * specifications; X(rv32, rv64) picks the one for this XLEN. Zicond is not in QEMU 7.2:
 * see isa_zicond.S. */
#include "test.h"
  .option norvc

#if __riscv_xlen == 64
#define X(a, b) b
#else
#define X(a, b) a
#endif

.macro OP3 op, x, y, expect, code
  li a1, \x
  li a2, \y
  \op a0, a1, a2
  CHECK a0, \expect, \code
.endm

.macro OP2 op, x, expect, code
  li a1, \x
  \op a0, a1
  CHECK a0, \expect, \code
.endm

.macro OPI op, x, imm, expect, code
  li a1, \x
  \op a0, a1, \imm
  CHECK a0, \expect, \code
.endm

TEST_BEGIN isa_bitmanip
  /* Zba */
  OP3 sh1add, 5, 7, 17, 0x01
  OP3 sh2add, 5, 7, 27, 0x02
  OP3 sh3add, 5, 7, 47, 0x03
  OP3 sh1add, -1, 0, -2, 0x04
  OP3 sh3add, X(0x20000001, 0x2000000000000001), 1, 9, 0x05

  /* Zbb: logic with negation */
  OP3 andn, 0xff, 0x0f, 0xf0, 0x10
  OP3 orn, 0, -16, 15, 0x11
  OP3 xnor, 0x0f0f, 0x00ff, -0x0ff1, 0x12
  /* counts */
  OP2 clz, 0, X(32, 64), 0x13
  OP2 clz, 1, X(31, 63), 0x14
  OP2 clz, -1, 0, 0x15
  OP2 ctz, 0, X(32, 64), 0x16
  OP2 ctz, 0x80, 7, 0x17
  OP2 ctz, X(0x80000000, 0x8000000000000000), X(31, 63), 0x18
  OP2 cpop, -1, X(32, 64), 0x19
  OP2 cpop, 0x12345678, 13, 0x1a
  OP2 cpop, 0, 0, 0x1b
  /* min/max */
  OP3 max, -1, 1, 1, 0x20
  OP3 maxu, -1, 1, -1, 0x21
  OP3 min, -1, 1, -1, 0x22
  OP3 minu, -1, 1, 1, 0x23
  OP3 min, X(0x80000000, 0x8000000000000000), X(0x7fffffff, 0x7fffffffffffffff), X(0x80000000, 0x8000000000000000), 0x24
  /* extensions */
  OP2 sext.b, 0x80, -128, 0x28
  OP2 sext.b, 0x17f, 127, 0x29
  OP2 sext.h, 0x8000, -32768, 0x2a
  OP2 sext.h, 0x17fff, 32767, 0x2b
  OP2 zext.h, -1, 0xffff, 0x2c
  /* rotations: the register forms use the low log2(XLEN) bits of rs2 */
  OP3 rol, X(0x80000001, 0x8000000000000001), 1, 3, 0x30
  OP3 ror, 3, 1, X(0x80000001, 0x8000000000000001), 0x31
  OP3 rol, 1, X(33, 65), 2, 0x32
  OP3 ror, 1, 0, 1, 0x33
  OPI rori, 1, 1, X(0x80000000, 0x8000000000000000), 0x34
  OPI rori, 0x12345678, 16, X(0x56781234, 0x5678000000001234), 0x35
  /* byte operations */
  OP2 orc.b, 0x01002000, 0xff00ff00, 0x38
  OP2 orc.b, 0, 0, 0x39
  OP2 rev8, 0x12345678, X(0x78563412, 0x7856341200000000), 0x3a

  /* Zbc: carry-less multiplication */
  OP3 clmul, 3, 3, 5, 0x40
  OP3 clmul, 0x12345678, 0x9abcdef0, X(0x5cd25a80, 0x08860e945cd25a80), 0x41
  OP3 clmulh, X(0x80000000, 0x8000000000000000), X(0x80000000, 0x8000000000000000), X(0x40000000, 0x4000000000000000), 0x42
  OP3 clmulr, X(0x80000000, 0x8000000000000000), X(0x80000000, 0x8000000000000000), X(0x80000000, 0x8000000000000000), 0x43
  OP3 clmulh, -1, -1, X(0x55555555, 0x5555555555555555), 0x44
  OP3 clmulr, -1, -1, X(0xaaaaaaaa, 0xaaaaaaaaaaaaaaaa), 0x45
  OP3 clmul, -1, -1, X(0x55555555, 0x5555555555555555), 0x46

  /* Zbs: the register forms use the low log2(XLEN) bits of rs2 */
  OP3 bclr, 0xff, 3, 0xf7, 0x50
  OP3 bclr, 0xff, X(35, 67), 0xf7, 0x51
  OP3 bext, 0x10, 4, 1, 0x52
  OP3 bext, 0x10, 3, 0, 0x53
  OP3 binv, 0, X(31, 63), X(0x80000000, 0x8000000000000000), 0x54
  OP3 bset, 0, 5, 32, 0x55
  OPI bclri, -1, X(31, 63), X(0x7fffffff, 0x7fffffffffffffff), 0x56
  OPI bexti, X(0x80000000, 0x8000000000000000), X(31, 63), 1, 0x57
  OPI binvi, 1, 0, 0, 0x58
  OPI bseti, 0, 10, 1024, 0x59

  /* rd aliasing both sources */
  li a1, 6
  sh2add a1, a1, a1
  CHECK a1, 30, 0x60
  li a1, 0x0f
  andn a1, a1, a1
  CHECK a1, 0, 0x61
  /* rd = x0 is discarded */
  li a1, 5
  sh1add x0, a1, a1
  CHECK x0, 0, 0x62

#if __riscv_xlen == 64
  /* RV64 only: the .uw forms take the low 32 bits of rs1 zero-extended */
  OP3 add.uw, -1, 1, 0x100000000, 0x70
  OP3 sh1add.uw, -1, 0, 0x1fffffffe, 0x71
  OP3 sh2add.uw, 0x180000000, 4, 0x200000004, 0x72
  OP3 sh3add.uw, -1, 8, 0x800000000, 0x73
  OPI slli.uw, -1, 4, 0xffffffff0, 0x74
  OPI slli.uw, 0x80000001, 63, 0x8000000000000000, 0x75
  OP2 zext.w, -1, 0xffffffff, 0x76
  /* and the W forms count and rotate the low word, sign-extending the result */
  OP2 clzw, 0x100000000, 32, 0x78
  OP2 clzw, 0x80000000, 0, 0x79
  OP2 ctzw, 0x100000000, 32, 0x7a
  OP2 cpopw, -1, 32, 0x7b
  OP3 rolw, 0x40000000, 1, 0xffffffff80000000, 0x7c
  OP3 rorw, 1, 33, 0xffffffff80000000, 0x7d
  OPI roriw, 0x100000002, 1, 1, 0x7e
#endif

  /* Zihintpause and Zicbop: hints, no architectural effect (the prefetches are
   * ori x0, rs1, imm: they never fault, even at an unmapped address) */
  li a1, 0
  li a2, 0x7777
  pause
  prefetch.i 0(a1)
  prefetch.r 64(a1)
  prefetch.w -32(a1)
  CHECK a1, 0, 0x80
  CHECK a2, 0x7777, 0x81
  TEST_PASS
