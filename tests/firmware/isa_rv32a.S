/* RV32A: LR/SC success and failure, every AMO (old value returned, memory updated). */
#include "test.h"
  .option norvc

/* amo op on word `cell` holding `init` with operand `val`: rd = init, memory = `after`. */
.macro AMO op, init, val, after, code
  la t0, cell
  li a1, \init
  sw a1, 0(t0)
  li a2, \val
  \op a0, a2, (t0)
  CHECK a0, \init, \code
  lw a0, 0(t0)
  CHECK a0, \after, \code + 0x100
.endm

TEST_BEGIN isa_rv32a
  la t0, cell
  li a1, 100
  sw a1, 0(t0)
  /* LR then SC to the same address succeeds */
  lr.w a0, (t0)
  CHECK a0, 100, 1
  li a2, 200
  sc.w a3, a2, (t0)
  CHECK a3, 0, 2
  lw a0, 0(t0)
  CHECK a0, 200, 3
  /* SC without a reservation (SC cleared it) fails and does not write */
  li a2, 300
  sc.w a3, a2, (t0)
  beqz a3, fail_4
  lw a0, 0(t0)
  CHECK a0, 200, 5
  /* SC to another address than the reserved one fails */
  lr.w a0, 0(t0)
  la t1, cell2
  sc.w a3, a2, (t1)
  beqz a3, fail_6
  lw a0, 0(t1)
  CHECK a0, 0, 7
  /* the failed SC cleared the reservation: SC to the reserved address fails now */
  sc.w a3, a2, (t0)
  beqz a3, fail_8
  lw a0, 0(t0)
  CHECK a0, 200, 9
  /* ordering bits assemble and work */
  lr.w.aq a0, (t0)
  addi a0, a0, 1
  sc.w.rl a3, a0, (t0)
  CHECK a3, 0, 10
  lw a0, 0(t0)
  CHECK a0, 201, 11
  /* an LR/SC increment loop */
  li a4, 0
1:
  lr.w a0, (t0)
  addi a0, a0, 10
  sc.w a3, a0, (t0)
  bnez a3, 1b
  addi a4, a4, 1
  li a5, 3
  bne a4, a5, 1b
  lw a0, 0(t0)
  CHECK a0, 231, 12

  AMO amoswap.w, 0x11111111, 0x22222222, 0x22222222, 0x20
  AMO amoadd.w, 0x7fffffff, 1, 0x80000000, 0x21
  AMO amoadd.w, 5, -7, -2, 0x22
  AMO amoxor.w, 0xff00ff00, 0x0ff00ff0, 0xf0f0f0f0, 0x23
  AMO amoand.w, 0xff00ff00, 0x0ff00ff0, 0x0f000f00, 0x24
  AMO amoor.w, 0xff00ff00, 0x0ff00ff0, 0xfff0fff0, 0x25
  AMO amomin.w, -5, 3, -5, 0x26
  AMO amomin.w, 7, -3, -3, 0x27
  AMO amomax.w, -5, 3, 3, 0x28
  AMO amomax.w, 7, -3, 7, 0x29
  AMO amominu.w, 0xfffffffb, 3, 3, 0x2a
  AMO amominu.w, 2, 0xfffffffd, 2, 0x2b
  AMO amomaxu.w, 0xfffffffb, 3, 0xfffffffb, 0x2c
  AMO amomaxu.w, 2, 0xfffffffd, 0xfffffffd, 0x2d
  AMO amoadd.w.aqrl, 40, 2, 42, 0x2e
  /* rd = x0 still updates memory */
  la t0, cell
  li a1, 1
  sw a1, 0(t0)
  li a2, 2
  amoadd.w zero, a2, (t0)
  lw a0, 0(t0)
  CHECK a0, 3, 0x30
  /* rd == rs2: the old value wins in rd */
  li a2, 10
  amoswap.w a2, a2, (t0)
  CHECK a2, 3, 0x31
  lw a0, 0(t0)
  CHECK a0, 10, 0x32
  TEST_PASS

fail_4: FAIL 4
fail_6: FAIL 6
fail_8: FAIL 8

  .bss
  .align 4
cell:  .word 0
cell2: .word 0
