/* RV32I register-register and register-immediate arithmetic, logic, shifts, LUI, AUIPC. */
#include "test.h"
  .option norvc            /* test the 32-bit encodings */

TEST_BEGIN isa_rv32i_alu
  li a1, 0x7fffffff
  li a2, 1
  add a0, a1, a2
  CHECK a0, 0x80000000, 1
  li a1, -1
  add a0, a1, a2
  CHECK a0, 0, 2
  li a1, 0
  sub a0, a1, a2
  CHECK a0, 0xffffffff, 3
  li a1, 0x80000000
  sub a0, a1, a2
  CHECK a0, 0x7fffffff, 4

  li a1, 1
  li a2, 31
  sll a0, a1, a2
  CHECK a0, 0x80000000, 5
  li a2, 33                /* only the low five bits count */
  sll a0, a1, a2
  CHECK a0, 2, 6

  li a1, -1
  li a2, 1
  slt a0, a1, a2
  CHECK a0, 1, 7
  sltu a0, a1, a2
  CHECK a0, 0, 8
  slt a0, a2, a1
  CHECK a0, 0, 9
  sltu a0, a2, a1
  CHECK a0, 1, 10
  slt a0, a2, a2
  CHECK a0, 0, 11

  li a1, 0xff00ff00
  li a2, 0x0ff00ff0
  xor a0, a1, a2
  CHECK a0, 0xf0f0f0f0, 12
  or a0, a1, a2
  CHECK a0, 0xfff0fff0, 13
  and a0, a1, a2
  CHECK a0, 0x0f000f00, 14

  li a1, 0x80000000
  li a2, 31
  srl a0, a1, a2
  CHECK a0, 1, 15
  sra a0, a1, a2
  CHECK a0, 0xffffffff, 16
  li a2, 4
  sra a0, a1, a2
  CHECK a0, 0xf8000000, 17
  li a2, 36
  srl a0, a1, a2
  CHECK a0, 0x08000000, 18

  addi a0, zero, -2048
  CHECK a0, 0xfffff800, 19
  li a1, 1
  addi a0, a1, 2047
  CHECK a0, 2048, 20
  li a1, -5
  slti a0, a1, -4
  CHECK a0, 1, 21
  slti a0, a1, -5
  CHECK a0, 0, 22
  li a1, 5
  sltiu a0, a1, -1         /* immediate is sign-extended, then compared unsigned */
  CHECK a0, 1, 23
  li a1, 0
  sltiu a0, a1, 1
  CHECK a0, 1, 24
  li a1, 0x12345678
  xori a0, a1, -1
  CHECK a0, 0xedcba987, 25
  li a1, 0x100
  ori a0, a1, 0x0f0
  CHECK a0, 0x1f0, 26
  li a1, 0x12345678
  andi a0, a1, -16
  CHECK a0, 0x12345670, 27
  andi a0, a1, 0x7ff
  CHECK a0, 0x678, 28

  li a1, 1
  slli a0, a1, 31
  CHECK a0, 0x80000000, 29
  li a1, 0x80000000
  srli a0, a1, 31
  CHECK a0, 1, 30
  srai a0, a1, 31
  CHECK a0, 0xffffffff, 31
  li a1, 0x7ffffff0
  srai a0, a1, 4
  CHECK a0, 0x07ffffff, 32

  lui a0, 0xfffff
  CHECK a0, 0xfffff000, 33
  lui a0, 0x12345
  addi a0, a0, 0x678
  CHECK a0, 0x12345678, 34
  lui a0, 0x12346
  addi a0, a0, -0x788
  CHECK a0, 0x12345878, 35

1:
  auipc a0, 0
  la a1, 1b
  CHECKR a0, a1, 36
2:
  auipc a0, 0x1
  la a1, 2b
  li a2, 0x1000
  add a1, a1, a2
  CHECKR a0, a1, 37

  /* x0 stays zero */
  addi zero, zero, 5
  CHECK zero, 0, 38
  li a1, 7
  add zero, a1, a1
  mv a0, zero
  CHECK a0, 0, 39
  lui zero, 0x12345
  CHECK zero, 0, 40

  TEST_PASS
