/* Sv32 in S-mode: megapage identity maps, a second-level table, hardware-set A and D bits,
 * load/store/fetch page faults delegated to S with stval, SUM, execute-only pages,
 * sfence.vma after a PTE change, and M-mode loads translated through MPRV. */
#include "test.h"
  .option norvc

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80
#define VBASE 0x40000000

/* root[vpn1] = megapage at physical `pa` with `flags`. Clobbers t0, t1. */
.macro MEGA vpn1, pa, flags
  li t0, ((\pa) >> 2) | (\flags)
  la t1, root + (\vpn1) * 4
  sw t0, 0(t1)
.endm

/* l2[idx] = 4 KiB page at symbol `sym` with `flags`. Clobbers t0, t1. */
.macro PAGE idx, sym, flags
  la t0, \sym
  srli t0, t0, 2
  ori t0, t0, \flags
  la t1, l2 + (\idx) * 4
  sw t0, 0(t1)
.endm

/* Fails unless the S handler saw exactly one trap with scause `cause`, stval `tval`,
 * sepc = address of `at`; then resets its count. */
.macro EXPECT_FAULT cause, tval, at, code
  CHECKM s_count, 1, \code
  CHECKM s_cause, \cause, \code + 1
  CHECKM s_tval, \tval, \code + 2
  la t0, s_epc
  lw t0, 0(t0)
  la t1, \at
  CHECKR t0, t1, \code + 3
  la t0, s_count
  sw zero, 0(t0)
.endm

TEST_BEGIN priv_sv32
  la t0, trap_record
  csrw mtvec, t0
  /* identity megapages: the finisher (0x0), the UART (0x10000000), 16 MiB of RAM */
  MEGA 0x000, 0x00000000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  MEGA 0x040, 0x10000000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  MEGA 0x200, 0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  MEGA 0x201, 0x80400000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  MEGA 0x202, 0x80800000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  MEGA 0x203, 0x80c00000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  /* VBASE (vpn1 0x100) through the second-level table */
  la t0, l2
  srli t0, t0, 2
  ori t0, t0, PTE_V
  la t1, root + 0x100 * 4
  sw t0, 0(t1)
  PAGE 0, page_rw, PTE_V | PTE_R | PTE_W                    /* A, D clear */
  PAGE 1, page_ro, PTE_V | PTE_R | PTE_A
  /* 2: invalid */
  PAGE 3, page_rw, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D    /* not executable */
  PAGE 4, page_u, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D
  PAGE 5, exec_page, PTE_V | PTE_X | PTE_A                  /* execute-only */
  /* page contents */
  la t0, page_rw
  li t1, 0x11223344
  sw t1, 0(t0)
  la t0, page_ro
  li t1, 0xabcdef01
  sw t1, 0(t0)
  la t0, page_u
  li t1, 0x05e5e5
  sw t1, 0(t0)

  li t0, (1 << CAUSE_FETCH_PAGE) | (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE)
  csrw medeleg, t0
  la t0, s_handler
  csrw stvec, t0
  la t0, root
  srli t0, t0, 12
  li t1, 0x80000000
  or s4, t0, t1
  csrw satp, s4
  sfence.vma
  csrr a0, satp
  CHECKR a0, s4, 1
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, s_main
  csrw mepc, t0
  la s10, back_in_m
  mret

s_main:
  li s1, VBASE
  /* a load sets A */
  lw a0, 0(s1)
  CHECK a0, 0x11223344, 2
  la t0, l2
  lw a0, 0(t0)
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A, 3
  /* a store sets D */
  li a1, 0x55667788
  sw a1, 4(s1)
  la t0, l2
  lw a0, 0(t0)
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A | PTE_D, 4
  la t0, page_rw
  lw a0, 4(t0)
  CHECK a0, 0x55667788, 5
  CHECKM s_count, 0, 6

  /* a store to a read-only page */
  li s2, VBASE + 0x1000
  lw a0, 0(s2)
  CHECK a0, 0xabcdef01, 7
f_store:
  sw a1, 8(s2)
  EXPECT_FAULT CAUSE_STORE_PAGE, VBASE + 0x1008, f_store, 0x10
  la t0, page_ro
  lw a0, 8(t0)
  CHECK a0, 0, 8

  /* a load from an invalid page */
  li s2, VBASE + 0x2000
f_load:
  lw a0, 0x10(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, VBASE + 0x2010, f_load, 0x14

  /* a fetch from a page without X */
  li s2, VBASE + 0x3000
  jalr ra, 0(s2)
  CHECKM s_count, 1, 0x18
  CHECKM s_cause, CAUSE_FETCH_PAGE, 0x19
  CHECKM s_tval, VBASE + 0x3000, 0x1a
  CHECKM s_epc, VBASE + 0x3000, 0x1b
  la t0, s_count
  sw zero, 0(t0)
  /* ... but its data is there */
  lw a0, 4(s2)
  CHECK a0, 0x55667788, 9

  /* a user page from S: faults without SUM, readable with SUM */
  li s2, VBASE + 0x4000
f_user:
  lw a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, VBASE + 0x4000, f_user, 0x1c
  li t0, MSTATUS_SUM
  csrs sstatus, t0
  lw a0, 0(s2)
  CHECK a0, 0x05e5e5, 10
  li t0, MSTATUS_SUM
  csrc sstatus, t0

  /* execute-only: fetch works, a load faults */
  li s2, VBASE + 0x5000
  li a0, 0
  jalr ra, 0(s2)
  CHECK a0, 0x5a, 11
f_xonly:
  lw a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, VBASE + 0x5000, f_xonly, 0x20

  /* change a PTE, sfence.vma, see the new mapping */
  li s2, VBASE + 0x2000
  PAGE 2, page_ro, PTE_V | PTE_R | PTE_A
  sfence.vma
  lw a0, 0(s2)
  CHECK a0, 0xabcdef01, 12
  CHECKM s_count, 0, 13
  ecall

back_in_m:
  CHECKM trap_cause, CAUSE_ECALL_S, 0x30
  /* M-mode loads through MPRV with MPP = S are translated */
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S | MSTATUS_MPRV
  csrs mstatus, t0
  li t0, VBASE
  lw a0, 0(t0)
  li t0, MSTATUS_MPRV
  csrc mstatus, t0
  CHECK a0, 0x11223344, 0x31
  csrw satp, zero
  sfence.vma
  TEST_PASS

/* S-mode handler: records scause/stval/sepc; resumes at ra after a fetch fault, past the
 * faulting instruction otherwise. */
  .align 2
s_handler:
  csrr t0, scause
  la t1, s_cause
  sw t0, 0(t1)
  csrr t2, stval
  sw t2, 4(t1)
  csrr t2, sepc
  sw t2, 8(t1)
  lw t2, 12(t1)
  addi t2, t2, 1
  sw t2, 12(t1)
  li t1, CAUSE_FETCH_PAGE
  beq t0, t1, 1f
  bltz t0, 2f
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
1:
  csrw sepc, ra
  sret
2:
  li a0, 0x7f
  j _fail

  .balign 4096
exec_page:
  li a0, 0x5a
  ret
  .balign 4096

  .bss
  .balign 4096
root:      .space 4096
l2:        .space 4096
page_rw:   .space 4096
page_ro:   .space 4096
page_u:    .space 4096
s_cause:   .word 0
s_tval:    .word 0
s_epc:     .word 0
s_count:   .word 0
