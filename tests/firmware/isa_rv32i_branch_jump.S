/* RV32I conditional branches (taken and not taken, forward and backward), JAL, JALR. */
#include "test.h"
  .option norvc

.macro TAKEN br, r1, r2, code
  \br \r1, \r2, .Lt\@
  FAIL \code
.Lt\@:
.endm

.macro NOT_TAKEN br, r1, r2, code
  \br \r1, \r2, .Lf\@
  j .Ln\@
.Lf\@:
  FAIL \code
.Ln\@:
.endm

TEST_BEGIN isa_rv32i_branch_jump
  li a1, -1
  li a2, 1
  li a3, 1
  TAKEN beq, a2, a3, 1
  NOT_TAKEN beq, a1, a2, 2
  TAKEN bne, a1, a2, 3
  NOT_TAKEN bne, a2, a3, 4
  TAKEN blt, a1, a2, 5
  NOT_TAKEN blt, a2, a1, 6
  NOT_TAKEN blt, a2, a3, 7
  TAKEN bge, a2, a1, 8
  TAKEN bge, a2, a3, 9
  NOT_TAKEN bge, a1, a2, 10
  TAKEN bltu, a2, a1, 11
  NOT_TAKEN bltu, a1, a2, 12
  NOT_TAKEN bltu, a2, a3, 13
  TAKEN bgeu, a1, a2, 14
  TAKEN bgeu, a2, a3, 15
  NOT_TAKEN bgeu, a2, a1, 16
  TAKEN beq, zero, zero, 17

  /* backward branch: a loop of 10 */
  li a1, 0
  li a2, 10
1:
  addi a1, a1, 1
  bne a1, a2, 1b
  CHECK a1, 10, 18

  /* JAL links pc + 4 */
  jal ra, 2f
3:
  FAIL 19
2:
  la a1, 3b
  CHECKR ra, a1, 20
  jal zero, 4f
  FAIL 21
4:
  /* JALR: target = (rs1 + imm) & ~1 */
  la t0, 5f + 1
  jalr ra, 0(t0)
6:
  FAIL 22
5:
  la a1, 6b
  CHECKR ra, a1, 23
  la t0, 7f - 8
  jalr ra, 8(t0)
  FAIL 24
7:
  la t0, 8f + 16
  jalr zero, -16(t0)
  FAIL 25
8:
  /* rd == rs1: the target uses the old rs1 */
  la t0, 9f
  jalr t0, 0(t0)
10:
  FAIL 26
9:
  la a1, 10b
  CHECKR t0, a1, 27
  /* call/ret through a subroutine */
  li a0, 0
  call add_five
  call add_five
  CHECK a0, 10, 28
  TEST_PASS

add_five:
  addi a0, a0, 5
  ret
