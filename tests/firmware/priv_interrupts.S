/* Interrupts from a CLINT (QEMU virt layout): machine software interrupt through msip,
 * machine timer through mtimecmp/mtime (taken, and waking WFI with MIE clear), M-level
 * interrupts taken in S-mode regardless of mstatus.MIE, and a supervisor software
 * interrupt delegated to S through mideleg. */
#include "test.h"
  .option norvc

.macro ENTER mpp, label
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, (\mpp) << 11
  csrs mstatus, t0
  la t0, \label
  csrw mepc, t0
  mret
.endm

/* a0 = mip & bit */
.macro MIP_BIT bit
  csrr a0, mip
  andi a0, a0, 1 << \bit
.endm

/* Sets mtimecmp to mtime + delta (delta < 2^31). Clobbers t0-t3. */
.macro ARM_TIMER delta
  li t0, CLINT_MTIME
.Lrd\@:
  lw t2, 4(t0)
  lw t1, 0(t0)
  lw t3, 4(t0)
  bne t2, t3, .Lrd\@
  li t0, \delta
  add t0, t1, t0
  sltu t1, t0, t1          /* carry */
  add t2, t2, t1
  li t1, CLINT_MTIMECMP
  li t3, -1
  sw t3, 0(t1)             /* no spurious match while the halves change */
  sw t2, 4(t1)
  sw t0, 0(t1)
.endm

.macro DISARM_TIMER
  li t0, CLINT_MTIMECMP
  li t1, -1
  sw t1, 4(t0)
  sw t1, 0(t0)
.endm

TEST_BEGIN priv_interrupts
  la t0, irq_handler
  csrw mtvec, t0
  csrw mie, zero
  csrw mideleg, zero
  DISARM_TIMER

  /* machine software interrupt */
  li t0, CLINT_MSIP
  li t1, 1
  sw t1, 0(t0)
  lw a0, 0(t0)
  CHECK a0, 1, 1
  MIP_BIT 3
  CHECK a0, 1 << 3, 2
  li t0, 1 << 3
  csrs mie, t0
  CHECKM irq_count, 0, 3   /* mstatus.MIE is still clear */
  csrsi mstatus, MSTATUS_MIE
msi_after:
  nop
  csrci mstatus, MSTATUS_MIE
  CHECKM irq_count, 1, 4
  CHECKM irq_cause, INTERRUPT_BIT | 3, 5
  la t0, msi_after
  la t1, irq_epc
  REG_L t1, 0(t1)
  CHECKR t0, t1, 6
  MIP_BIT 3
  CHECK a0, 0, 7
  csrw mie, zero

  /* mtime advances */
  li t0, CLINT_MTIME
  lw s2, 0(t0)
  li s3, 1000000
1:
  lw a0, 0(t0)
  bne a0, s2, 2f
  addi s3, s3, -1
  bnez s3, 1b
  FAIL 8
2:
  /* mtimecmp at 0 makes MTIP pending at once; all ones clears it */
  li t0, CLINT_MTIMECMP
  sw zero, 0(t0)
  sw zero, 4(t0)
  MIP_BIT 7
  CHECK a0, 1 << 7, 9
  DISARM_TIMER
  MIP_BIT 7
  CHECK a0, 0, 10

  /* machine timer interrupt, waiting with WFI */
  ARM_TIMER 2000
  li t0, 1 << 7
  csrs mie, t0
  csrsi mstatus, MSTATUS_MIE
  li s3, 1000000
3:
  la t0, irq_count
  REG_L a0, 0(t0)
  li a1, 2
  beq a0, a1, 4f
  wfi
  addi s3, s3, -1
  bnez s3, 3b
  FAIL 11
4:
  csrci mstatus, MSTATUS_MIE
  CHECKM irq_cause, INTERRUPT_BIT | 7, 12
  MIP_BIT 7
  CHECK a0, 0, 13

  /* WFI wakes on a pending enabled interrupt even with mstatus.MIE clear; no trap */
  ARM_TIMER 1000
  li s3, 1000000
5:
  MIP_BIT 7
  bnez a0, 6f
  wfi
  addi s3, s3, -1
  bnez s3, 5b
  FAIL 14
6:
  CHECKM irq_count, 2, 15
  DISARM_TIMER
  csrw mie, zero

  /* an M-level interrupt is taken in S-mode even with mstatus.MIE clear */
  li t0, 1 << 3
  csrs mie, t0
  la s10, 7f
  ENTER 1, s_code
s_code:
  li t0, CLINT_MSIP
  li t1, 1
  sw t1, 0(t0)
  /* taken within a few instructions (QEMU raises it asynchronously) */
  li s3, 1000
1:
  la t0, irq_count
  REG_L a0, 0(t0)
  li a1, 3
  beq a0, a1, 2f
  addi s3, s3, -1
  bnez s3, 1b
  FAIL 16
2:
  CHECKM irq_cause, INTERRUPT_BIT | 3, 17
  la t0, irq_status
  REG_L t0, 0(t0)
  srli t0, t0, 11
  andi t0, t0, 3
  CHECK t0, 1, 18
  ecall
7:
  CHECKM trap_cause, CAUSE_ECALL_S, 19
  csrw mie, zero

  /* supervisor software interrupt delegated to S */
  li t0, 1 << 1
  csrw mideleg, t0
  csrr a0, mideleg
  andi a0, a0, 1 << 1
  CHECK a0, 1 << 1, 20
  csrs mie, t0
  la t0, s_irq_handler
  csrw stvec, t0
  li t0, MSTATUS_SIE
  csrc mstatus, t0
  la s10, 8f
  ENTER 1, s2_code
s2_code:
  li t0, 1 << 1
  csrs sip, t0
  csrr a0, sip
  andi a0, a0, 1 << 1
  CHECK a0, 1 << 1, 21
  CHECKM s_count, 0, 22
  csrsi sstatus, MSTATUS_SIE
s_ssi_after:
  nop
  csrci sstatus, MSTATUS_SIE
  CHECKM s_count, 1, 23
  CHECKM s_cause, INTERRUPT_BIT | 1, 24
  la t0, s_ssi_after
  la t1, s_epc
  REG_L t1, 0(t1)
  CHECKR t0, t1, 25
  csrr a0, sip
  andi a0, a0, 1 << 1
  CHECK a0, 0, 26
  ecall
8:
  CHECKM trap_cause, CAUSE_ECALL_S, 27
  CHECKM irq_count, 3, 28
  TEST_PASS

/* M-mode handler: exceptions go to trap_record; MSI clears msip, MTI disarms the timer. */
  .align 2
irq_handler:
  csrr t0, mcause
  bltz t0, 1f
  j trap_record
1:
  la t1, irq_cause
  REG_S t0, 0(t1)
  csrr t2, mepc
  REG_S t2, 1*REGBYTES(t1)
  REG_L t2, 2*REGBYTES(t1)
  addi t2, t2, 1
  REG_S t2, 2*REGBYTES(t1)
  csrr t2, mstatus
  REG_S t2, 3*REGBYTES(t1)
  andi t0, t0, 0x3f
  li t1, 3
  beq t0, t1, 2f
  li t1, 7
  beq t0, t1, 3f
  j unexpected_trap
2:
  li t0, CLINT_MSIP
  sw zero, 0(t0)
  mret
3:
  DISARM_TIMER
  mret

/* S-mode handler for the delegated SSI. */
  .align 2
s_irq_handler:
  csrr t0, scause
  bgez t0, 1f
  la t1, s_cause
  REG_S t0, 0(t1)
  csrr t0, sepc
  REG_S t0, 1*REGBYTES(t1)
  REG_L t0, 2*REGBYTES(t1)
  addi t0, t0, 1
  REG_S t0, 2*REGBYTES(t1)
  li t0, 1 << 1
  csrc sip, t0
  sret
1:
  li a0, 0x7f
  j _fail

  .bss
  .align 4
irq_cause: XWORD 0
irq_epc:   XWORD 0
irq_count: XWORD 0
irq_status: XWORD 0
s_cause:   XWORD 0
s_epc:     XWORD 0
s_count:   XWORD 0
