/* RV64A: LR.D/SC.D success and failure, every AMO in its .D form, and the .W forms at
 * XLEN 64 (the old value sign-extended into rd, only the word in memory changes, the
 * operand's low 32 bits used, signed/unsigned min/max on 32 bits). */
#include "test.h"
  .option norvc

/* amo.d on doubleword `cell` holding `init`, operand `val`: rd = `rd`, memory = `after`. */
.macro AMOD op, init, val, rd, after, code
  la t0, cell
  li a1, \init
  sd a1, 0(t0)
  li a2, \val
  \op a0, a2, (t0)
  CHECK a0, \rd, \code
  ld a0, 0(t0)
  CHECK a0, \after, \code + 0x100
.endm

/* amo.w on the low word of `cell` (the high word holding a guard): rd = `rd` (the old word
 * sign-extended), the word = `after`, the guard unchanged. */
.macro AMOW op, init, val, rd, after, code
  la t0, cell
  li a1, \init
  sw a1, 0(t0)
  li a1, 0x5a5a5a5a
  sw a1, 4(t0)
  li a2, \val
  \op a0, a2, (t0)
  CHECK a0, \rd, \code
  lwu a0, 0(t0)
  CHECK a0, \after, \code + 0x100
  lwu a0, 4(t0)
  CHECK a0, 0x5a5a5a5a, \code + 0x200
.endm

TEST_BEGIN isa_rv64a
  la t0, cell
  li a1, 0x1122334455667788
  sd a1, 0(t0)
  /* LR.D then SC.D succeeds and stores all 64 bits */
  lr.d a0, (t0)
  CHECKR a0, a1, 0x300
  li a2, 0x8000000000000001
  sc.d a3, a2, (t0)
  CHECK a3, 0, 0x301
  ld a0, 0(t0)
  CHECKR a0, a2, 0x302
  /* SC.D without a reservation fails and does not write */
  sc.d a3, a1, (t0)
  beqz a3, fail_sc
  ld a0, 0(t0)
  CHECKR a0, a2, 0x303
  /* LR.W sign-extends; SC.W writes only the word */
  lr.w a0, (t0)
  CHECK a0, 1, 0x304
  addi t1, t0, 4
  lr.w a0, (t1)
  CHECK a0, 0xffffffff80000000, 0x305
  li a2, -2
  sc.w a3, a2, (t0)        /* the reservation is on cell + 4, not cell: fails */
  beqz a3, fail_sc
  lr.w a0, (t1)
  sc.w a3, a2, (t1)
  CHECK a3, 0, 0x306
  ld a0, 0(t0)
  CHECK a0, 0xfffffffe00000001, 0x307
  /* ordering bits */
  lr.d.aqrl a0, (t0)
  addi a0, a0, 1
  sc.d.aqrl a3, a0, (t0)
  CHECK a3, 0, 0x308
  ld a0, 0(t0)
  CHECK a0, 0xfffffffe00000002, 0x309
  AMOD amoswap.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0x7ffffffffffffffe, 1
  AMOD amoswap.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0x3, 2
  AMOD amoswap.d, 0xffffffff, 0x1, 0xffffffff, 0x1, 3
  AMOW amoswap.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0x7ffffffe, 4
  AMOW amoswap.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0x3, 5
  AMOW amoswap.w, 0x7fffffff, 0x1, 0x7fffffff, 0x1, 6
  AMOD amoadd.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0xffffffffffffffff, 7
  AMOD amoadd.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0xfffffffffffffffe, 8
  AMOD amoadd.d, 0xffffffff, 0x1, 0xffffffff, 0x100000000, 9
  AMOW amoadd.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0xffffffff, 10
  AMOW amoadd.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0xfffffffe, 11
  AMOW amoadd.w, 0x7fffffff, 0x1, 0x7fffffff, 0x80000000, 12
  AMOD amoxor.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0xffffffffffffffff, 13
  AMOD amoxor.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0xfffffffffffffff8, 14
  AMOD amoxor.d, 0xffffffff, 0x1, 0xffffffff, 0xfffffffe, 15
  AMOW amoxor.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0xffffffff, 16
  AMOW amoxor.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0xfffffff8, 17
  AMOW amoxor.w, 0x7fffffff, 0x1, 0x7fffffff, 0x7ffffffe, 18
  AMOD amoand.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0x0, 19
  AMOD amoand.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0x3, 20
  AMOD amoand.d, 0xffffffff, 0x1, 0xffffffff, 0x1, 21
  AMOW amoand.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0x0, 22
  AMOW amoand.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0x3, 23
  AMOW amoand.w, 0x7fffffff, 0x1, 0x7fffffff, 0x1, 24
  AMOD amoor.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0xffffffffffffffff, 25
  AMOD amoor.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0xfffffffffffffffb, 26
  AMOD amoor.d, 0xffffffff, 0x1, 0xffffffff, 0xffffffff, 27
  AMOW amoor.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0xffffffff, 28
  AMOW amoor.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0xfffffffb, 29
  AMOW amoor.w, 0x7fffffff, 0x1, 0x7fffffff, 0x7fffffff, 30
  AMOD amomin.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0x8000000000000001, 31
  AMOD amomin.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0xfffffffffffffffb, 32
  AMOD amomin.d, 0xffffffff, 0x1, 0xffffffff, 0x1, 33
  AMOW amomin.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0x80000001, 34
  AMOW amomin.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0xfffffffb, 35
  AMOW amomin.w, 0x7fffffff, 0x1, 0x7fffffff, 0x1, 36
  AMOD amomax.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0x7ffffffffffffffe, 37
  AMOD amomax.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0x3, 38
  AMOD amomax.d, 0xffffffff, 0x1, 0xffffffff, 0xffffffff, 39
  AMOW amomax.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0x7ffffffe, 40
  AMOW amomax.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0x3, 41
  AMOW amomax.w, 0x7fffffff, 0x1, 0x7fffffff, 0x7fffffff, 42
  AMOD amominu.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0x7ffffffffffffffe, 43
  AMOD amominu.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0x3, 44
  AMOD amominu.d, 0xffffffff, 0x1, 0xffffffff, 0x1, 45
  AMOW amominu.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0x7ffffffe, 46
  AMOW amominu.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0x3, 47
  AMOW amominu.w, 0x7fffffff, 0x1, 0x7fffffff, 0x1, 48
  AMOD amomaxu.d, 0x8000000000000001, 0x7ffffffffffffffe, 0x8000000000000001, 0x8000000000000001, 49
  AMOD amomaxu.d, 0xfffffffffffffffb, 0x3, 0xfffffffffffffffb, 0xfffffffffffffffb, 50
  AMOD amomaxu.d, 0xffffffff, 0x1, 0xffffffff, 0xffffffff, 51
  AMOW amomaxu.w, 0x80000001, 0x7ffffffe, 0xffffffff80000001, 0x80000001, 52
  AMOW amomaxu.w, 0xfffffffb, 0x100000003, 0xfffffffffffffffb, 0xfffffffb, 53
  AMOW amomaxu.w, 0x7fffffff, 0x1, 0x7fffffff, 0x7fffffff, 54
  TEST_PASS
fail_sc:
  FAIL 0x30f

  .data
  .align 3
cell:
  .8byte 0
