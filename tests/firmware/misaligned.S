/* Misaligned data accesses. Fief documents that it raises address-misaligned exceptions
 * (no emulation): load -> mcause 4, store/AMO -> mcause 6, mtval = the address, for
 * loads, stores, LR/SC and AMOs. This test accepts only that behaviour, so it is
 * Fief-only: QEMU performs misaligned plain loads and stores in hardware. */
#include "test.h"
  .option norvc

/* One access at `label` must trap with `cause` and mtval = buf + `off`. */
.macro EXPECT_MIS label, cause, off, code
  CHECKM trap_count, 1, \code
  CHECKM trap_cause, \cause, \code + 1
  la t0, buf + \off
  la t1, trap_tval
  lw t1, 0(t1)
  CHECKR t0, t1, \code + 2
  la t0, \label
  la t1, trap_epc
  lw t1, 0(t1)
  CHECKR t0, t1, \code + 3
  la t0, trap_count
  sw zero, 0(t0)
.endm

TEST_BEGIN misaligned
  la t0, trap_record
  csrw mtvec, t0
  la s1, buf
  /* aligned halfword and word accesses do not trap */
  lh a0, 2(s1)
  lw a0, 4(s1)
  sh a0, 4(s1)
  CHECKM trap_count, 0, 1

  li a0, 0x5a5a5a5a
l_w1:
  lw a0, 1(s1)
  EXPECT_MIS l_w1, CAUSE_MISALIGNED_LOAD, 1, 0x10
  CHECK a0, 0x5a5a5a5a, 2           /* rd is not written */
l_w2:
  lw a0, 2(s1)
  EXPECT_MIS l_w2, CAUSE_MISALIGNED_LOAD, 2, 0x14
l_h:
  lh a0, 1(s1)
  EXPECT_MIS l_h, CAUSE_MISALIGNED_LOAD, 1, 0x18
l_hu:
  lhu a0, 3(s1)
  EXPECT_MIS l_hu, CAUSE_MISALIGNED_LOAD, 3, 0x1c
  li a1, -1
s_w:
  sw a1, 2(s1)
  EXPECT_MIS s_w, CAUSE_MISALIGNED_STORE, 2, 0x20
s_h:
  sh a1, 5(s1)
  EXPECT_MIS s_h, CAUSE_MISALIGNED_STORE, 5, 0x24
  /* the faulting stores wrote nothing */
  lw a0, 0(s1)
  CHECK a0, 0x03020100, 3
  lw a0, 4(s1)
  CHECK a0, 0x07060504, 4
  /* LR, SC, AMO */
  addi s2, s1, 2
l_lr:
  lr.w a0, (s2)
  EXPECT_MIS l_lr, CAUSE_MISALIGNED_LOAD, 2, 0x28
s_sc:
  sc.w a0, a1, (s2)
  EXPECT_MIS s_sc, CAUSE_MISALIGNED_STORE, 2, 0x2c
s_amo:
  amoadd.w a0, a1, (s2)
  EXPECT_MIS s_amo, CAUSE_MISALIGNED_STORE, 2, 0x30
  lw a0, 0(s1)
  CHECK a0, 0x03020100, 5
  TEST_PASS

  .data
  .align 4
buf:
  .byte 0, 1, 2, 3, 4, 5, 6, 7
