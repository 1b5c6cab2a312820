/* Sstc: stimecmp (and stimecmph on RV32), menvcfg.STCE (menvcfgh bit 31 on RV32), access
 * from S mode only with both mcounteren.TM and STCE (illegal otherwise; M always), STIP
 * following time >= stimecmp while STCE is set and then not writable through mip, and a
 * supervisor timer interrupt delegated to S, raised by stimecmp and taken out of WFI. */
#include "test.h"
  .option norvc

#define STIMECMP 0x14d
#define STIMECMPH 0x15d
#define MENVCFG 0x30a
#define MENVCFGH 0x31a
#define STIP 0x20
#define CAUSE_STI_S 5

/* Sets or clears menvcfg.STCE. */
.macro STCE on
#if __riscv_xlen == 64
  li t0, 1
  slli t0, t0, 63
  .if \on
  csrs MENVCFG, t0
  .else
  csrc MENVCFG, t0
  .endif
#else
  li t0, 0x80000000
  .if \on
  csrs MENVCFGH, t0
  .else
  csrc MENVCFGH, t0
  .endif
#endif
.endm

/* a0 = menvcfg.STCE (0 or 1). */
.macro READ_STCE
#if __riscv_xlen == 64
  csrr a0, MENVCFG
  srli a0, a0, 63
#else
  csrr a0, MENVCFGH
  srli a0, a0, 31
#endif
.endm

/* stimecmp := time + delta (delta < 2^31), or all ones for `off`. Clobbers t0-t3. */
.macro ARM delta
#if __riscv_xlen == 64
  csrr t0, time
  li t1, \delta
  add t0, t0, t1
  csrw STIMECMP, t0
#else
.Lrd\@:
  csrr t2, timeh
  csrr t1, time
  csrr t3, timeh
  bne t2, t3, .Lrd\@
  li t0, \delta
  add t0, t1, t0
  sltu t1, t0, t1
  add t2, t2, t1
  li t3, -1
  csrw STIMECMPH, t3       /* no spurious match while the halves change */
  csrw STIMECMP, t0
  csrw STIMECMPH, t2
#endif
.endm

.macro DISARM
  li t0, -1
  csrw STIMECMP, t0
#if __riscv_xlen == 32
  csrw STIMECMPH, t0
#endif
.endm

/* a0 = mip.STIP */
.macro READ_STIP
  csrr a0, mip
  andi a0, a0, STIP
.endm

/* Runs `insns` in S mode, then ECALLs back; fails with `code` unless the first trap
 * they took was `cause` (0: none). */
.macro PROBE_S cause, code, insns:vararg
  la t0, first_cause
  REG_S zero, 0(t0)
  la s10, .Lback\@
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, .Lrun\@
  csrw mepc, t0
  mret
.Lrun\@:
  \insns
  ecall
.Lback\@:
  CHECKM first_cause, \cause, \code
.endm

TEST_BEGIN priv_sstc
  la t0, m_trap
  csrw mtvec, t0
  csrw mie, zero
  csrw mideleg, zero
  csrw mcounteren, zero
  STCE 0
  READ_STCE
  CHECK a0, 0, 0x01

  /* M mode reaches stimecmp whatever STCE and TM say; it holds what is written. */
  li t1, 0x12345678
  csrw STIMECMP, t1
  csrr t2, STIMECMP
  CHECKR t1, t2, 0x02
#if __riscv_xlen == 32
  li t1, 0x0badcafe
  csrw STIMECMPH, t1
  csrr t2, STIMECMPH
  CHECKR t1, t2, 0x03
  csrr t2, STIMECMP
  li t1, 0x12345678
  CHECKR t1, t2, 0x04
#endif
  DISARM
  /* With STCE clear, STIP is the software bit. */
  li t0, STIP
  csrs mip, t0
  READ_STIP
  CHECK a0, STIP, 0x05
  csrc mip, t0
  READ_STIP
  CHECK a0, 0, 0x06

  /* S mode: illegal without STCE, and without TM. */
  li t0, 2
  csrw mcounteren, t0
  PROBE_S CAUSE_ILLEGAL, 0x08, csrr t1, STIMECMP
  STCE 1
  READ_STCE
  CHECK a0, 1, 0x09
  csrw mcounteren, zero
  PROBE_S CAUSE_ILLEGAL, 0x0a, csrr t1, STIMECMP
  PROBE_S CAUSE_ILLEGAL, 0x0b, csrw STIMECMP, zero
  li t0, 2
  csrw mcounteren, t0
  PROBE_S 0, 0x0c, csrr t1, STIMECMP
#if __riscv_xlen == 32
  PROBE_S 0, 0x0d, csrr t1, STIMECMPH
#endif

  /* STCE set: STIP is time >= stimecmp, and mip writes leave it alone. */
  ARM 0x7fffffff
  READ_STIP
  CHECK a0, 0, 0x10
  li t0, STIP
  csrs mip, t0
  READ_STIP
  CHECK a0, 0, 0x11
  csrw STIMECMP, zero
#if __riscv_xlen == 32
  csrw STIMECMPH, zero
#endif
  READ_STIP
  CHECK a0, STIP, 0x12
  li t0, STIP
  csrc mip, t0
  READ_STIP
  CHECK a0, STIP, 0x13
  /* sip shows it once delegated */
  li t0, 1 << CAUSE_STI_S
  csrw mideleg, t0
  csrr a0, sip
  andi a0, a0, STIP
  CHECK a0, STIP, 0x14
  DISARM
  READ_STIP
  CHECK a0, 0, 0x15

  /* A supervisor timer interrupt delegated to S: S arms stimecmp itself and waits. */
  la t0, s_trap
  csrw stvec, t0
  li t0, STIP
  csrw mie, t0
  la t0, sti_count
  REG_S zero, 0(t0)
  PROBE_S 0, 0x20, call s_wait
  CHECKM sti_count, 1, 0x21
  CHECKM sti_cause, INTERRUPT_BIT | CAUSE_STI_S, 0x22
  READ_STIP
  CHECK a0, 0, 0x23

  /* Not delegated: taken in M from S (M-level interrupts of S's level are enabled below
   * M whatever mstatus.MIE says). */
  csrw mideleg, zero
  la t0, m_sti_count
  REG_S zero, 0(t0)
  ARM 2000
  PROBE_S 0, 0x28, call s_spin
  CHECKM m_sti_count, 1, 0x29
  csrw mie, zero

  /* STCE cleared (timer disarmed first): STIP is the software bit again. */
  DISARM
  STCE 0
  li t0, STIP
  csrs mip, t0
  READ_STIP
  CHECK a0, STIP, 0x30
  csrc mip, t0
  READ_STIP
  CHECK a0, 0, 0x31
  PROBE_S CAUSE_ILLEGAL, 0x32, csrr t1, STIMECMP
  TEST_PASS

/* S mode: enable the timer interrupt in sie, arm it 2000 ticks ahead, wait for it in wfi
 * with sstatus.SIE clear (wfi wakes on a pending interrupt enabled in sie whatever SIE
 * says), then take it by setting SIE. With SIE set before the wfi, an interrupt that
 * arrives first (the deadline passed while QEMU's vCPU thread was descheduled) would be
 * taken with sepc at the wfi, and the wfi after sret would wait forever. */
s_wait:
  li t0, STIP
  csrs sie, t0
  ARM 2000
1:
  wfi
  csrsi sstatus, MSTATUS_SIE
  csrci sstatus, MSTATUS_SIE
  la t0, sti_count
  REG_L t0, 0(t0)
  beqz t0, 1b
  ret

/* S mode: spin until the M handler counted the interrupt. */
s_spin:
1:
  la t0, m_sti_count
  REG_L t0, 0(t0)
  beqz t0, 1b
  ret

/* S handler: count the interrupt, record scause, disarm (which lowers STIP). */
  .align 2
s_trap:
  csrr t0, scause
  la t1, sti_cause
  REG_S t0, 0(t1)
  la t1, sti_count
  REG_L t0, 0(t1)
  addi t0, t0, 1
  REG_S t0, 0(t1)
  DISARM
  sret

/* M handler: ECALLs continue in M at s10; a supervisor timer interrupt is counted and
 * disarmed; other exceptions are recorded (the first) and skipped. */
  .align 2
m_trap:
  csrr t0, mcause
  li t1, CAUSE_ECALL_S
  beq t0, t1, 2f
  li t1, CAUSE_ECALL_M
  beq t0, t1, 2f
  bltz t0, 3f
  la t1, first_cause
  REG_L t2, 0(t1)
  bnez t2, 1f
  REG_S t0, 0(t1)
1:
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret
2:
  jr s10
3:
  la t1, m_sti_count
  REG_L t0, 0(t1)
  addi t0, t0, 1
  REG_S t0, 0(t1)
  DISARM
  mret

  .bss
  .align 3
first_cause: .space REGBYTES
sti_count:   .space REGBYTES
sti_cause:   .space REGBYTES
m_sti_count: .space REGBYTES
