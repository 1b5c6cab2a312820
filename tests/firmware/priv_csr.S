/* Zicsr: the six CSR instructions, read-only and nonexistent CSRs (illegal instruction
 * with mtval = the instruction bits), M-mode CSRs from U-mode, misa, mhartid. */
#include "test.h"
  .option norvc

/* Expects exactly one illegal-instruction trap, at label `at`, with mtval = `bits`. */
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

TEST_BEGIN priv_csr
  la t0, trap_record
  csrw mtvec, t0
  csrr a0, mtvec
  CHECKR a0, t0, 1

  /* csrrw / csrrs / csrrc and their immediate forms on mscratch */
  li a1, 0x12345678
  csrw mscratch, a1
  li a2, 0xff
  csrrw a0, mscratch, a2
  CHECK a0, 0x12345678, 2
  li a2, 0xf00
  csrrs a0, mscratch, a2
  CHECK a0, 0xff, 3
  csrr a0, mscratch
  CHECK a0, 0xfff, 4
  li a2, 0x0f0
  csrrc a0, mscratch, a2
  CHECK a0, 0xfff, 5
  csrr a0, mscratch
  CHECK a0, 0xf0f, 6
  csrrwi a0, mscratch, 0x15
  CHECK a0, 0xf0f, 7
  csrrsi a0, mscratch, 0x0a
  CHECK a0, 0x15, 8
  csrrci a0, mscratch, 0x03
  CHECK a0, 0x1f, 9
  csrr a0, mscratch
  CHECK a0, 0x1c, 10
  /* rd = rs1: the old value goes to rd, the old rs1 is written */
  li a3, 0x55
  csrrw a3, mscratch, a3
  CHECK a3, 0x1c, 11
  csrr a0, mscratch
  CHECK a0, 0x55, 12
  /* csrrs with rs1 = x0 reads without writing */
  csrrs a0, mscratch, zero
  CHECK a0, 0x55, 13

  /* misa: MXL = 1 (RV32) or 2 (RV64) in the top two bits, and I, M, A, C, S, U present */
  csrr a0, misa
  srli a1, a0, __riscv_xlen - 2
  CHECK a1, __riscv_xlen / 32, 14
  li a2, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 2) | (1 << 18) | (1 << 20)
  and a1, a0, a2
  CHECKR a1, a2, 15
  /* mhartid is 0; reading read-only CSRs is fine */
  csrr a0, mhartid
  CHECK a0, 0, 16
  csrr a0, mvendorid
  csrr a0, marchid
  csrr a0, mimpid
  CHECKM trap_count, 0, 17

  /* writing a read-only CSR is illegal. (csrrs/csrrc with a register other than x0 that
   * holds zero is a write attempt too, but QEMU 7.2 lets it pass: not checked.) */
ro1:
  csrw mhartid, zero
  EXPECT_ILLEGAL ro1, 0xf1401073, 0x20
  li a1, 1
ro2:
  csrrs a0, mhartid, a1
  EXPECT_ILLEGAL ro2, 0xf145a573, 0x24
ro3:
  csrrwi a0, mvendorid, 1
  EXPECT_ILLEGAL ro3, 0xf110d573, 0x28
  /* a nonexistent CSR (custom M-mode range) */
ne1:
  csrr a0, 0x7c0
  EXPECT_ILLEGAL ne1, 0x7c002573, 0x2c

  /* M-mode CSRs from U-mode trap; U returns with ecall */
  la s10, back_from_u
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  la t0, u_code
  csrw mepc, t0
  mret
u_code:
  csrr a0, mscratch
  EXPECT_ILLEGAL u_code, 0x34002573, 0x34
u_ill2:
  csrw mstatus, zero
  EXPECT_ILLEGAL u_ill2, 0x30001073, 0x38
  ecall
back_from_u:
  CHECKM trap_count, 1, 0x30
  CHECKM trap_cause, CAUSE_ECALL_U, 0x31
  la t0, trap_status
  REG_L t0, 0(t0)
  li t1, MSTATUS_MPP
  and t0, t0, t1
  CHECK t0, 0, 0x32
  TEST_PASS
