/* Illegal instructions: mcause 2, mepc = the instruction, mtval = its bits (16 bits for a
 * compressed one), execution resumes after it. */
#include "test.h"
  .option norvc

.macro EXPECT_ILLEGAL at, bits, code
  CHECKM trap_count, 1, \code
  CHECKM trap_cause, CAUSE_ILLEGAL, \code + 1
  CHECKM trap_tval, \bits, \code + 2
  la t0, \at
  la t1, trap_epc
  REG_L t1, 0(t1)
  CHECKR t0, t1, \code + 3
  la t0, trap_count
  REG_S zero, 0(t0)
.endm

TEST_BEGIN illegal
  la t0, trap_record
  csrw mtvec, t0
  li a0, 0x1234
i_unimp:
  unimp                            /* csrrw x0, cycle, x0: writes a read-only CSR */
  EXPECT_ILLEGAL i_unimp, 0xc0001073, 0x10
#if __riscv_xlen == 32
i_slli:
  .4byte 0x02051513                /* slli a0, a0, 32: shamt[5] is reserved on RV32 */
  EXPECT_ILLEGAL i_slli, 0x02051513, 0x14
  CHECK a0, 0x1234, 1              /* rd untouched */
i_ld:
  .4byte 0x00053503                /* ld a0, 0(a0): RV64 only */
  EXPECT_ILLEGAL i_ld, 0x00053503, 0x18
i_sd:
  .4byte 0x00a53023                /* sd a0, 0(a0): RV64 only */
  EXPECT_ILLEGAL i_sd, 0x00a53023, 0x1c
#else
i_slliw:
  .4byte 0x0205151b                /* slliw a0, a0, 32: shamt[5] is reserved for the W shifts */
  EXPECT_ILLEGAL i_slliw, 0x0205151b, 0x14
  CHECK a0, 0x1234, 1              /* rd untouched */
i_sraiw:
  .4byte 0x4205551b                /* sraiw a0, a0, 32: likewise */
  EXPECT_ILLEGAL i_sraiw, 0x4205551b, 0x18
i_opw:
  .4byte 0x04b5053b                /* OP-32 with funct7 = 0000010 */
  EXPECT_ILLEGAL i_opw, 0x04b5053b, 0x1c
i_c_addiw:
  .option push
  .option rvc
  .2byte 0x2001                    /* c.addiw x0, 0: reserved (c.jal on RV32) */
  .2byte 0x0001                    /* c.nop */
  .option pop
  EXPECT_ILLEGAL i_c_addiw, 0x2001, 0x1a
#endif
i_load7:
  .4byte 0x00057503                /* LOAD with funct3 = 7 */
  EXPECT_ILLEGAL i_load7, 0x00057503, 0x20
i_op:
  .4byte 0x04b50533                /* OP with funct7 = 0000010 */
  EXPECT_ILLEGAL i_op, 0x04b50533, 0x24
i_branch:
  .4byte 0x00b52063                /* BRANCH with funct3 = 2 */
  EXPECT_ILLEGAL i_branch, 0x00b52063, 0x28
i_jalr:
  .4byte 0x00051567                /* JALR with funct3 = 1 */
  EXPECT_ILLEGAL i_jalr, 0x00051567, 0x2c
i_zero32:
  .4byte 0x00000000                /* all zeros (a 16-bit illegal parcel) */
  /* the handler skips 2 bytes for a 16-bit parcel; the other half is another one */
  CHECKM trap_count, 2, 0x30
  CHECKM trap_cause, CAUSE_ILLEGAL, 0x31
  la t0, trap_count
  REG_S zero, 0(t0)
  .option rvc
  .align 2
i_c_addi4spn:
  .2byte 0x0004                    /* c.addi4spn with a zero immediate: reserved */
  .2byte 0x0001                    /* c.nop */
  .option norvc
  EXPECT_ILLEGAL i_c_addi4spn, 0x0004, 0x34
  /* privileged instructions from U-mode */
  la s10, back
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  la t0, u_code
  csrw mepc, t0
  mret
u_code:
u_mret:
  mret
  EXPECT_ILLEGAL u_mret, 0x30200073, 0x38
u_sret:
  sret
  EXPECT_ILLEGAL u_sret, 0x10200073, 0x3c
u_sfence:
  sfence.vma
  EXPECT_ILLEGAL u_sfence, 0x12000073, 0x40
  ecall
back:
  CHECKM trap_cause, CAUSE_ECALL_U, 2
  TEST_PASS
