/* Traps: ECALL from M, S and U, EBREAK, mepc/mcause/mtval/mstatus.MPP, mret semantics,
 * medeleg delegation of U-mode ECALL to S (scause/sepc/stval/sstatus.SPP, sret), and
 * vectored mtvec (exceptions at the base, interrupt n at base + 4n). */
#include "test.h"
  .option norvc

/* Fails unless the word at `sym` equals the address of `label`. */
.macro CHECK_ADDR sym, label, code
  la t0, \sym
  REG_L t0, 0(t0)
  la t1, \label
  CHECKR t0, t1, \code
.endm

/* Fails unless mstatus.MPP in the recorded trap_status equals `mpp`. */
.macro CHECK_MPP mpp, code
  la t0, trap_status
  REG_L t0, 0(t0)
  srli t0, t0, 11
  andi t0, t0, 3
  CHECK t0, \mpp, \code
.endm

/* Leaves M-mode for privilege `mpp` at `label` with mret. */
.macro ENTER mpp, label
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, (\mpp) << 11
  csrs mstatus, t0
  la t0, \label
  csrw mepc, t0
  mret
.endm

TEST_BEGIN priv_traps
  la t0, trap_record
  csrw mtvec, t0
  csrw mie, zero

  /* ECALL from M */
  la s10, 1f
m_ecall:
  ecall
  FAIL 1
1:
  CHECKM trap_cause, CAUSE_ECALL_M, 2
  CHECKM trap_tval, 0, 3
  CHECK_ADDR trap_epc, m_ecall, 4
  CHECK_MPP 3, 5

  /* EBREAK from M: the recording handler returns past it */
m_ebreak:
  ebreak
  CHECKM trap_cause, CAUSE_BREAKPOINT, 6
  CHECK_ADDR trap_epc, m_ebreak, 7

  /* ECALL from U, not delegated */
  la s10, 2f
  ENTER 0, u_ecall
u_ecall:
  ecall
  FAIL 8
2:
  CHECKM trap_cause, CAUSE_ECALL_U, 9
  CHECK_ADDR trap_epc, u_ecall, 10
  CHECK_MPP 0, 11

  /* ECALL from S, not delegated */
  la s10, 3f
  ENTER 1, s_ecall
s_ecall:
  ecall
  FAIL 12
3:
  CHECKM trap_cause, CAUSE_ECALL_S, 13
  CHECK_ADDR trap_epc, s_ecall, 14
  CHECK_MPP 1, 15

  /* mret: MIE <- MPIE, MPIE <- 1, MPP <- U (the least privileged mode) */
  csrci mstatus, MSTATUS_MIE
  li t0, MSTATUS_MPP | MSTATUS_MPIE
  csrs mstatus, t0
  la t0, 4f
  csrw mepc, t0
  mret
  FAIL 16
4:
  csrr a0, mstatus
  andi a1, a0, MSTATUS_MIE
  CHECK a1, MSTATUS_MIE, 17
  andi a1, a0, MSTATUS_MPIE
  CHECK a1, MSTATUS_MPIE, 18
  li t0, MSTATUS_MPP
  and a1, a0, t0
  CHECK a1, 0, 19
  csrci mstatus, MSTATUS_MIE

  /* delegation of U-mode ECALL to S */
  li t0, 1 << CAUSE_ECALL_U
  csrw medeleg, t0
  csrr a0, medeleg
  CHECK a0, 1 << CAUSE_ECALL_U, 20
  la t0, s_handler
  csrw stvec, t0
  la s10, 5f
  li a1, 0
  li a2, 0
  ENTER 0, u2_ecall
u2_ecall:
  ecall                    /* to s_handler, which sets a1 and returns with sret */
  CHECK a1, 0x22, 21
  li a2, 1
  ecall                    /* s_handler now leaves through an ECALL from S to M */
  FAIL 22
5:
  CHECKM trap_cause, CAUSE_ECALL_S, 23
  CHECK_MPP 1, 24
  CHECKM s_cause, CAUSE_ECALL_U, 25
  CHECK_ADDR s_epc, u2_ecall, 26
  CHECKM s_tval, 0, 27
  la t0, s_status
  REG_L t0, 0(t0)
  andi t0, t0, MSTATUS_SPP
  CHECK t0, 0, 28
  CHECKM s_count, 1, 29
  csrw medeleg, zero

  /* vectored mtvec */
  la t0, vtable
  ori t0, t0, 1
  csrw mtvec, t0
  csrr a0, mtvec
  CHECKR a0, t0, 30
  la s10, 6f
v_ecall:
  ecall                    /* exceptions go to the base */
  FAIL 31
6:
  CHECKM trap_cause, CAUSE_ECALL_M, 32
  CHECK_ADDR trap_epc, v_ecall, 33
  /* a supervisor software interrupt taken in M goes to base + 4 * 1 */
  csrw mideleg, zero
  li t0, 1 << 1
  csrs mie, t0
  csrs mip, t0
  csrr a0, mip
  andi a0, a0, 1 << 1
  CHECK a0, 1 << 1, 34
  CHECKM v_count, 0, 35
  csrsi mstatus, MSTATUS_MIE
v_after:
  nop
  csrci mstatus, MSTATUS_MIE
  CHECKM v_count, 1, 36
  CHECKM v_cause, INTERRUPT_BIT | 1, 37
  CHECK_ADDR v_epc, v_after, 38
  csrr a0, mip
  andi a0, a0, 1 << 1
  CHECK a0, 0, 39
  TEST_PASS

/* S-mode handler: records the first trap and returns past the ECALL with a1 = 0x22;
 * with a2 = 1 it ECALLs to M instead. */
  .align 2
s_handler:
  bnez a2, 1f
  csrr t0, scause
  la t1, s_cause
  REG_S t0, 0(t1)
  csrr t0, sepc
  REG_S t0, 1*REGBYTES(t1)
  csrr t0, stval
  REG_S t0, 2*REGBYTES(t1)
  csrr t0, sstatus
  REG_S t0, 3*REGBYTES(t1)
  REG_L t0, 4*REGBYTES(t1)
  addi t0, t0, 1
  REG_S t0, 4*REGBYTES(t1)
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  li a1, 0x22
  sret
1:
  ecall

  .align 8
vtable:
  j trap_record            /* 0: exceptions */
  j v_ssi                  /* 1: SSI */
  .rept 14
  j unexpected_trap
  .endr

v_ssi:
  csrr t0, mcause
  la t1, v_cause
  REG_S t0, 0(t1)
  csrr t0, mepc
  REG_S t0, 1*REGBYTES(t1)
  REG_L t0, 2*REGBYTES(t1)
  addi t0, t0, 1
  REG_S t0, 2*REGBYTES(t1)
  li t0, 1 << 1
  csrc mip, t0
  mret

  .bss
  .align 4
s_cause:  XWORD 0
s_epc:    XWORD 0
s_tval:   XWORD 0
s_status: XWORD 0
s_count:  XWORD 0
v_cause:  XWORD 0
v_epc:    XWORD 0
v_count:  XWORD 0
