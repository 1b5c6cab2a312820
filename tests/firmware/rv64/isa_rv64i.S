/* RV64I: 64-bit register-register and immediate arithmetic, shifts by up to 63, the W
 * instructions (32-bit results sign-extended), LUI/AUIPC sign extension, LD/SD/LWU and
 * sign extension of LW, branches comparing 64-bit values, JALR with a 64-bit target. */
#include "test.h"
  .option norvc            /* test the 32-bit encodings */

/* a0 = op(a, b) must equal r. */
.macro RR op, a, b, r, code
  li a1, \a
  li a2, \b
  \op a0, a1, a2
  li t6, \r
  beq a0, t6, .Lok\@
  FAIL \code
.Lok\@:
.endm

/* a0 = op(a, imm) must equal r. */
.macro RI op, a, imm, r, code
  li a1, \a
  \op a0, a1, \imm
  li t6, \r
  beq a0, t6, .Lok\@
  FAIL \code
.Lok\@:
.endm

TEST_BEGIN isa_rv64i
  /* register-register, 64-bit */
  RR add, 0x7fffffff, 0x1, 0x80000000, 1
  RR add, 0xffffffff, 0x1, 0x100000000, 2
  RR add, 0x7fffffffffffffff, 0x1, 0x8000000000000000, 3
  RR add, 0xffffffffffffffff, 0x1, 0x0, 4
  RR sub, 0x0, 0x1, 0xffffffffffffffff, 5
  RR sub, 0x8000000000000000, 0x1, 0x7fffffffffffffff, 6
  RR sub, 0x100000000, 0x1, 0xffffffff, 7
  RR sll, 0x1, 0x1f, 0x80000000, 8
  RR sll, 0x1, 0x20, 0x100000000, 9
  RR sll, 0x1, 0x3f, 0x8000000000000000, 10
  RR sll, 0x1, 0x40, 0x1, 11
  RR sll, 0x1, 0x41, 0x2, 12
  RR sll, 0x123456789abcdef0, 0x24, 0xabcdef0000000000, 13
  RR srl, 0xffffffffffffffff, 0x20, 0xffffffff, 14
  RR srl, 0xffffffffffffffff, 0x3f, 0x1, 15
  RR srl, 0x8000000000000000, 0x1, 0x4000000000000000, 16
  RR srl, 0x123456789abcdef0, 0x44, 0x123456789abcdef, 17
  RR sra, 0x8000000000000000, 0x20, 0xffffffff80000000, 18
  RR sra, 0x8000000000000000, 0x3f, 0xffffffffffffffff, 19
  RR sra, 0x7fffffffffffffff, 0x3e, 0x1, 20
  RR sra, 0xedcba98765432110, 0x4, 0xfedcba9876543211, 21
  RR slt, 0xffffffffffffffff, 0x1, 0x1, 22
  RR slt, 0x80000000, 0x7fffffff, 0x0, 23
  RR slt, 0x8000000000000000, 0x7fffffffffffffff, 0x1, 24
  RR slt, 0xffffffff, 0xffffffffffffffff, 0x0, 25
  RR sltu, 0xffffffffffffffff, 0x1, 0x0, 26
  RR sltu, 0xffffffff, 0x100000000, 0x1, 27
  RR sltu, 0x100000000, 0xffffffff, 0x0, 28
  RR xor, 0x123456789abcdef0, 0xffffffffffffffff, 0xedcba9876543210f, 29
  RR or, 0xff00000000000000, 0xff, 0xff000000000000ff, 30
  RR and, 0x123456789abcdef0, 0xffffffff00000000, 0x1234567800000000, 31
  /* the W forms: 32-bit results, sign-extended; only rs's low 32 bits count */
  RR addw, 0x7fffffff, 0x1, 0xffffffff80000000, 32
  RR addw, 0xffffffff, 0x1, 0x0, 33
  RR addw, 0x123456789, 0x100000000, 0x23456789, 34
  RR addw, 0x80000000, 0x80000000, 0x0, 35
  RR subw, 0x0, 0x1, 0xffffffffffffffff, 36
  RR subw, 0x100000000, 0x1, 0xffffffffffffffff, 37
  RR subw, 0x80000000, 0x1, 0x7fffffff, 38
  RR sllw, 0x1, 0x1f, 0xffffffff80000000, 39
  RR sllw, 0x1, 0x20, 0x1, 40
  RR sllw, 0x1, 0x3f, 0xffffffff80000000, 41
  RR sllw, 0xffffffff00000001, 0x4, 0x10, 42
  RR sllw, 0x3, 0x1e, 0xffffffffc0000000, 43
  RR srlw, 0xffffffffffffffff, 0x0, 0xffffffffffffffff, 44
  RR srlw, 0xffffffffffffffff, 0x1, 0x7fffffff, 45
  RR srlw, 0x80000000, 0x1f, 0x1, 46
  RR srlw, 0xffffffff80000000, 0x20, 0xffffffff80000000, 47
  RR srlw, 0x1234567887654321, 0x4, 0x8765432, 48
  RR sraw, 0x80000000, 0x0, 0xffffffff80000000, 49
  RR sraw, 0x80000000, 0x4, 0xfffffffff8000000, 50
  RR sraw, 0x7fffffff, 0x21, 0x3fffffff, 51
  RR sraw, 0xf0000000, 0x1c, 0xffffffffffffffff, 52
  RR sraw, 0xfffffffe7fffffff, 0x1, 0x3fffffff, 53
  /* immediates: 12-bit sign-extended to 64, shift amounts up to 63 */
  RI addi, 0x7fffffffffffffff, 1, 0x8000000000000000, 54
  RI addi, 0x0, -2048, 0xfffffffffffff800, 55
  RI addi, 0xffffffff, 1, 0x100000000, 56
  RI slti, 0xffffffffffffffff, 0, 0x1, 57
  RI slti, 0x80000000, -1, 0x0, 58
  RI sltiu, 0x0, -1, 0x1, 59
  RI sltiu, 0xfffffffffffff000, -1, 0x1, 60
  RI xori, 0x123456789abcdef0, -1, 0xedcba9876543210f, 61
  RI ori, 0x0, -2048, 0xfffffffffffff800, 62
  RI andi, 0xffffffffffffffff, 2047, 0x7ff, 63
  RI andi, 0x123456789abcdef0, -16, 0x123456789abcdef0, 64
  RI slli, 0x1, 63, 0x8000000000000000, 65
  RI slli, 0x123456789abcdef0, 32, 0x9abcdef000000000, 66
  RI slli, 0x1, 31, 0x80000000, 67
  RI srli, 0xffffffffffffffff, 32, 0xffffffff, 68
  RI srli, 0xffffffffffffffff, 63, 0x1, 69
  RI srli, 0x8000000000000000, 1, 0x4000000000000000, 70
  RI srai, 0x8000000000000000, 63, 0xffffffffffffffff, 71
  RI srai, 0x8000000000000000, 31, 0xffffffff00000000, 72
  RI srai, 0x4000000000000000, 62, 0x1, 73
  RI addiw, 0x7fffffff, 1, 0xffffffff80000000, 74
  RI addiw, 0xffffffff, 0, 0xffffffffffffffff, 75
  RI addiw, 0x123456789, -1, 0x23456788, 76
  RI addiw, 0x80000000, -1, 0x7fffffff, 77
  RI slliw, 0x1, 31, 0xffffffff80000000, 78
  RI slliw, 0xffffffff00000003, 30, 0xffffffffc0000000, 79
  RI slliw, 0x12345678, 4, 0x23456780, 80
  RI srliw, 0xffffffffffffffff, 0, 0xffffffffffffffff, 81
  RI srliw, 0xffffffffffffffff, 31, 0x1, 82
  RI srliw, 0x80000000, 1, 0x40000000, 83
  RI sraiw, 0x80000000, 31, 0xffffffffffffffff, 84
  RI sraiw, 0x80000000, 0, 0xffffffff80000000, 85
  RI sraiw, 0x7fffffff00000000, 4, 0x0, 86
  RI sraiw, 0x87654321, 8, 0xffffffffff876543, 87

  /* rd = rs1 for a W op, and x0 as a destination */
  li a1, 0xffffffff
  addiw a1, a1, 2
  CHECK a1, 1, 0x200
  addw zero, a1, a1
  CHECK zero, 0, 0x201

  /* LUI and AUIPC: the 32-bit result is sign-extended */
  lui a0, 0x80000
  CHECK a0, 0xffffffff80000000, 0x210
  lui a0, 0x7ffff
  CHECK a0, 0x7ffff000, 0x211
1:
  auipc a0, 0
  la a1, 1b
  CHECKR a0, a1, 0x212
2:
  auipc a0, 0x80000       /* the offset is sign-extended: pc - 2 GiB */
  la a1, 2b
  li t0, 0x80000000
  sub a1, a1, t0
  CHECKR a0, a1, 0x213

  /* loads and stores */
  la s1, data
  ld a0, 0(s1)
  CHECK a0, 0x8877665544332211, 0x220
  lw a0, 4(s1)
  CHECK a0, 0xffffffff88776655, 0x221
  lwu a0, 4(s1)
  CHECK a0, 0x88776655, 0x222
  lw a0, 0(s1)
  CHECK a0, 0x44332211, 0x223
  lh a0, 6(s1)
  CHECK a0, 0xffffffffffff8877, 0x224
  lhu a0, 6(s1)
  CHECK a0, 0x8877, 0x225
  lb a0, 7(s1)
  CHECK a0, -0x78, 0x226
  ld a0, 8(s1)
  CHECK a0, -2, 0x227
  li a1, 0x0123456789abcdef
  sd a1, 16(s1)
  ld a0, 16(s1)
  CHECKR a0, a1, 0x228
  lwu a0, 20(s1)
  CHECK a0, 0x01234567, 0x229
  sw a1, 24(s1)            /* stores the low word only */
  ld a0, 24(s1)
  CHECK a0, 0x89abcdef, 0x22a
  sh a1, 32(s1)
  sb a1, 34(s1)
  ld a0, 32(s1)
  CHECK a0, 0xefcdef, 0x22b
  ld a0, -8(s1)            /* negative offset */
  CHECK a0, 0x0807060504030201, 0x22c

  /* branches compare all 64 bits */
  li a1, 0x100000000
  li a2, 0
  beq a1, a2, fail_b
  bne a1, a2, 3f
  j fail_b
3:
  li a1, 0xffffffff00000000
  li a2, 0x00000000ffffffff
  blt a2, a1, fail_b       /* a1 is negative */
  bltu a1, a2, fail_b
  bge a1, a2, fail_b
  bgeu a2, a1, fail_b
  blt a1, a2, 4f
  j fail_b
4:
  /* JALR to a 64-bit address built from parts; bit 0 cleared */
  la a1, 5f
  addi a1, a1, 1
  jalr ra, 0(a1)
  j fail_b
5:
  la a2, 5b - 4
  CHECKR ra, a2, 0x230
  TEST_PASS
fail_b:
  FAIL 0x240

  .data
  .align 3
  .8byte 0x0807060504030201
data:
  .8byte 0x8877665544332211
  .8byte 0xfffffffffffffffe
  .8byte 0, 0, 0
