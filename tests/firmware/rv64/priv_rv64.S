/* What the privileged architecture says only for XLEN 64: mstatus.UXL and SXL fixed at 2
 * (64-bit) whatever is written, sstatus showing UXL, misa.MXL = 2; access faults with full
 * 64-bit mtval/stval (loads, stores and fetches beyond 4 GiB and at unmapped addresses);
 * a fetch fault delegated to S (scause, stval, sepc); mcause/scause bit 63 for interrupts
 * delegated to S; mepc, mscratch and sscratch holding 64-bit values; the CLINT's mtimecmp
 * and mtime by doubleword accesses and a timer interrupt armed that way (mcause bit 63). */
#include "test.h"
  .option norvc

#define MSTATUS_UXL (3 << 32)
#define MSTATUS_SXL (3 << 34)

/* One trap recorded by trap_record with `cause` and mtval = the register `reg`. */
.macro EXPECT cause, reg, code
  CHECKM trap_count, 1, \code
  CHECKM trap_cause, \cause, \code + 1
  la t0, trap_tval
  ld t0, 0(t0)
  CHECKR t0, \reg, \code + 2
  la t0, trap_count
  sd zero, 0(t0)
.endm

TEST_BEGIN priv_rv64
  la t0, trap_record
  csrw mtvec, t0
  csrw mie, zero
  /* UXL and SXL read 2 and ignore writes */
  csrr a0, mstatus
  li t1, MSTATUS_UXL | MSTATUS_SXL
  and a1, a0, t1
  li t2, (2 << 32) | (2 << 34)
  CHECKR a1, t2, 1
  csrc mstatus, t1
  csrr a0, mstatus
  and a1, a0, t1
  CHECKR a1, t2, 2
  /* (not checked: a nonzero write to UXL, which QEMU 7.2 takes as written; the spec and
   * Fief keep 2 since only RV64 is supported; DEVIATIONS in tests/src/randdiff.rs) */
  csrr a0, sstatus
  and a1, a0, t1
  CHECK a1, 2 << 32, 4     /* sstatus shows UXL, not SXL */
  /* scratch registers and mepc hold 64 bits (mepc bit 0 is clear) */
  li a1, 0x0123456789abcdef
  csrw mscratch, a1
  csrr a0, mscratch
  CHECKR a0, a1, 5
  csrw sscratch, a1
  csrr a0, sscratch
  CHECKR a0, a1, 6
  li a1, 0xfedcba9876543210
  csrw mepc, a1
  csrr a0, mepc
  CHECKR a0, a1, 7
  csrr a0, misa
  srli a0, a0, 62
  CHECK a0, 2, 8

  /* the CLINT's 64-bit registers by doubleword accesses: mtimecmp holds a 64-bit write,
   * mtime reads whole and does not go backwards, and a timer armed by one sd fires (M
   * interrupt 7, mcause bit 63) */
  li s1, CLINT_MTIMECMP
  li t1, 0x123456789abcdef0
  sd t1, 0(s1)
  ld a0, 0(s1)
  CHECKR a0, t1, 9
  lwu a0, 4(s1)
  CHECK a0, 0x12345678, 0xa
  li s2, CLINT_MTIME
  ld a0, 0(s2)
  ld a1, 0(s2)
  bgeu a1, a0, 1f
  FAIL 0xb
1:
  la t0, timer_handler
  csrw mtvec, t0
  li t0, 1 << 7
  csrw mie, t0
  ld a0, 0(s2)
  addi a0, a0, 50
  sd a0, 0(s1)
  li a2, 0
  csrsi mstatus, MSTATUS_MIE
  li t1, 1000                /* wfi: QEMU's timer fires from its I/O thread, in host time */
2:
  bnez a2, 3f
  wfi
  addi t1, t1, -1
  bnez t1, 2b
3:
  csrci mstatus, MSTATUS_MIE
  csrw mie, zero
  la t0, trap_record
  csrw mtvec, t0
  li t0, INTERRUPT_BIT | 7
  CHECKR a2, t0, 0xc

  /* the UART takes doubleword accesses as QEMU's 16550 does: one register access each (a
   * store to THR sends its low byte, a load of RBR with nothing received reads 0) */
  la t0, trap_count
  sd zero, 0(t0)
  li s1, UART_BASE
  li t0, 0x4142434445464752  /* 'R' in the low byte */
  sd t0, 0(s1)
  li t0, '\n'
  sd t0, 0(s1)
  li a0, -1
  ld a0, 0(s1)
  CHECK a0, 0, 0xd
  CHECKM trap_count, 0, 0xe

  /* access faults above 4 GiB and below RAM: mtval holds the whole address */
  li s1, 0x100000000
  ld a0, 0(s1)
  EXPECT CAUSE_LOAD_ACCESS, s1, 0x10
  li s1, 0x123456789abcde00
  sd a0, 8(s1)
  addi s1, s1, 8
  EXPECT CAUSE_STORE_ACCESS, s1, 0x14
  li s1, 0x0e000000
  lwu a0, 4(s1)
  addi s1, s1, 4
  EXPECT CAUSE_LOAD_ACCESS, s1, 0x18
  li s1, 0x8000000000000000
  lb a0, 0(s1)
  EXPECT CAUSE_LOAD_ACCESS, s1, 0x1c
  /* fetch faults: trap_record continues at s10 */
  li s1, 0x0e000000
  la s10, 1f
  jr s1
1:
  EXPECT 1, s1, 0x20
  CHECKM trap_epc, 0x0e000000, 0x23
  li s1, 0x200000000
  la s10, 2f
  jalr s1
2:
  EXPECT 1, s1, 0x24

  /* a fetch fault from U delegated to S: scause 1, stval and sepc the address */
  li t0, 1 << 1
  csrw medeleg, t0
  la t0, s_handler
  csrw stvec, t0
  li s1, 0x300000000
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  csrw mepc, s1
  la s10, 3f
  mret
3:
  CHECKM trap_cause, CAUSE_ECALL_S, 0x30
  CHECKM s_cause, 1, 0x31
  la t0, s_tval
  ld t0, 0(t0)
  CHECKR t0, s1, 0x32
  la t0, s_epc
  ld t0, 0(t0)
  CHECKR t0, s1, 0x33
  la t0, s_status
  ld t0, 0(t0)
  andi t0, t0, MSTATUS_SPP
  CHECK t0, 0, 0x34
  csrw medeleg, zero
  la t0, trap_count
  sd zero, 0(t0)

  /* a supervisor timer interrupt (STIP set by M) delegated to S: scause has bit 63 */
  li t0, 1 << 5
  csrw mideleg, t0
  csrw mie, t0
  csrs mip, t0
  la t0, s_handler
  csrw stvec, t0
  la t0, s_wait
  li t1, MSTATUS_MPP
  csrc mstatus, t1
  li t1, MSTATUS_MPP_S
  csrs mstatus, t1
  csrw mepc, t0
  la s10, 4f
  mret
4:
  CHECKM trap_cause, CAUSE_ECALL_S, 0x40
  CHECKM s_cause, INTERRUPT_BIT | 5, 0x41
  la t0, s_cause
  ld t0, 0(t0)
  bltz t0, 5f              /* bit 63, not 31 */
  FAIL 0x42
5:
  li t0, 1 << 5
  csrc mip, t0
  csrw mideleg, zero
  csrw mie, zero
  TEST_PASS

/* M-mode timer handler: a2 = mcause, timer disarmed by one doubleword store. */
  .align 2
timer_handler:
  csrr a2, mcause
  li t0, -1
  li t2, CLINT_MTIMECMP
  sd t0, 0(t2)
  mret

/* S-mode: enables the pending STI (M set STIP) and waits for it. */
s_wait:
  li t0, 1 << 5
  csrs sie, t0
  li a2, 1
  csrsi sstatus, MSTATUS_SIE
  li t1, 100000
6:
  addi t1, t1, -1
  bnez t1, 6b
  ecall                    /* the interrupt did not come: s_cause stays 0 */

/* S-mode handler: records scause/stval/sepc/sstatus, masks S interrupts and ECALLs to M
 * (which clears STIP: it is read-only in S). */
  .align 2
s_handler:
  csrr t0, scause
  la t1, s_cause
  sd t0, 0(t1)
  csrr t0, stval
  sd t0, 8(t1)
  csrr t0, sepc
  sd t0, 16(t1)
  csrr t0, sstatus
  sd t0, 24(t1)
  csrci sstatus, MSTATUS_SIE
  ecall

  .bss
  .align 3
s_cause:  .dword 0
s_tval:   .dword 0
s_epc:    .dword 0
s_status: .dword 0
