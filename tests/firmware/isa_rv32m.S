/* RV32M: multiplication (low and the three high forms), division and remainder including
 * division by zero and signed overflow. */
#include "test.h"
  .option norvc

.macro OP3 op, x, y, expect, code
  li a1, \x
  li a2, \y
  \op a0, a1, a2
  CHECK a0, \expect, \code
.endm

TEST_BEGIN isa_rv32m
  OP3 mul, 0x12345678, 0x9abcdef0, 0x242d2080, 1
  OP3 mulh, 0x12345678, 0x9abcdef0, 0xf8cc93d6, 2
  OP3 mulhsu, 0x12345678, 0x9abcdef0, 0x0b00ea4e, 3
  OP3 mulhu, 0x12345678, 0x9abcdef0, 0x0b00ea4e, 4
  OP3 mul, 0x80000000, 0x80000000, 0, 5
  OP3 mulh, 0x80000000, 0x80000000, 0x40000000, 6
  OP3 mulhsu, 0x80000000, 0x80000000, 0xc0000000, 7
  OP3 mulhu, 0x80000000, 0x80000000, 0x40000000, 8
  OP3 mulh, -1, -1, 0, 9
  OP3 mulhu, -1, -1, 0xfffffffe, 10
  OP3 mulhsu, -1, -1, 0xffffffff, 11
  OP3 mul, -7, 3, -21, 12

  OP3 div, -7, 2, -3, 13
  OP3 rem, -7, 2, -1, 14
  OP3 divu, -7, 2, 0x7ffffffc, 15
  OP3 remu, -7, 2, 1, 16
  OP3 div, 7, -2, -3, 17
  OP3 rem, 7, -2, 1, 18
  OP3 div, 100, 7, 14, 19
  OP3 rem, 100, 7, 2, 20
  /* division by zero */
  OP3 div, 1234, 0, 0xffffffff, 21
  OP3 divu, 1234, 0, 0xffffffff, 22
  OP3 rem, -1234, 0, -1234, 23
  OP3 remu, 1234, 0, 1234, 24
  /* signed overflow */
  OP3 div, 0x80000000, -1, 0x80000000, 25
  OP3 rem, 0x80000000, -1, 0, 26
  OP3 divu, 0x80000000, -1, 0, 27
  OP3 remu, 0x80000000, -1, 0x80000000, 28
  /* rd aliases a source */
  li a1, 6
  li a2, 7
  mul a1, a1, a2
  CHECK a1, 42, 29
  TEST_PASS
