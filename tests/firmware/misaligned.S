/* Misaligned data accesses, as QEMU 7.2 performs them:
 *  - plain loads and stores at any alignment succeed (RAM, inside a page and across a page
 *    boundary; a misaligned load from a device reads the two aligned words around it);
 *  - LR raises load address misaligned (mcause 4, mtval = the address); AMOs raise an
 *    address-misaligned exception and write nothing (its cause is not checked here: QEMU 7.2
 *    says 4, the spec and Fief 6); an SC there fails (no reservation can match), as QEMU;
 *  - under Sv32, an access across a page boundary translates both pages before it does
 *    anything: a store whose second page faults writes nothing. The fault reports the
 *    address of the part that faulted: the access's own address when the first page faults,
 *    the second page's first byte when the second one does (stval). */
#include "test.h"
  .option norvc

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_A 0x40
#define PTE_D 0x80
#define VBASE 0x40000000

/* One access at `label` must have trapped (M handler) with `cause` and mtval = buf + `off`. */
.macro EXPECT_MIS label, cause, off, code
  CHECKM trap_count, 1, \code
  CHECKM trap_cause, \cause, \code + 1
  la t0, buf + \off
  la t1, trap_tval
  REG_L t1, 0(t1)
  CHECKR t0, t1, \code + 2
  la t0, \label
  la t1, trap_epc
  REG_L t1, 0(t1)
  CHECKR t0, t1, \code + 3
  la t0, trap_count
  REG_S zero, 0(t0)
.endm

/* As EXPECT_MIS without the cause: for AMOs, where QEMU 7.2 raises load address
 * misaligned (4) and the spec (and Fief) store/AMO address misaligned (6). Fief's cause is
 * checked by its own unit tests. */
.macro EXPECT_MIS_ANY label, off, code
  CHECKM trap_count, 1, \code
  la t0, buf + \off
  la t1, trap_tval
  REG_L t1, 0(t1)
  CHECKR t0, t1, \code + 2
  la t0, \label
  la t1, trap_epc
  REG_L t1, 0(t1)
  CHECKR t0, t1, \code + 3
  la t0, trap_count
  REG_S zero, 0(t0)
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

TEST_BEGIN misaligned
  la t0, trap_record
  csrw mtvec, t0
  la s1, buf
  /* loads at every offset of a word (buf holds bytes 0, 1, 2, ...) */
  lh a0, 2(s1)
  CHECKW a0, 0x0302, 1
  lw a0, 1(s1)
  CHECKW a0, 0x04030201, 2
  lw a0, 2(s1)
  CHECKW a0, 0x05040302, 3
  lw a0, 3(s1)
  CHECKW a0, 0x06050403, 4
  lh a0, 1(s1)
  CHECKW a0, 0x0201, 5
  lhu a0, 7(s1)
  CHECKW a0, 0x0807, 6
  li t0, 0xf0f1
  sh t0, 8(s1)
  lh a0, 7(s1)
  CHECKW a0, 0xfffff107, 7       /* sign-extended */
  /* stores */
  li a1, 0xaabbccdd
  sw a1, 2(s1)
  lw a0, 0(s1)
  CHECKW a0, 0xccdd0100, 8
  lw a0, 4(s1)
  CHECKW a0, 0x0706aabb, 9
  li a1, 0x1234
  sh a1, 5(s1)
  lw a0, 4(s1)
  CHECKW a0, 0x071234bb, 10
  CHECKM trap_count, 0, 11

  /* across a page boundary in M-mode (no translation): cross holds 0xe0.. before the
   * boundary and 0x10.. after it */
  la s2, cross
  lw a0, -2(s2)
  CHECKW a0, 0x1110e3e2, 12
  lw a0, -1(s2)
  CHECKW a0, 0x121110e3, 13
  lhu a0, -1(s2)
  CHECKW a0, 0x10e3, 14
  li a1, 0x55667788
  sw a1, -3(s2)
  lw a0, -4(s2)
  CHECKW a0, 0x667788e0, 15
  lw a0, 0(s2)
  CHECKW a0, 0x13121155, 16
  CHECKM trap_count, 0, 17

  /* a device: the CLINT's mtimecmp, read at a misaligned address */
  li s3, CLINT_MTIMECMP
  li t0, 0x44332211
  sw t0, 0(s3)
  li t0, 0x88776655
  sw t0, 4(s3)
  lw a0, 2(s3)
  CHECKW a0, 0x66554433, 18
  lw a0, 1(s3)
  CHECKW a0, 0x55443322, 19
  CHECKM trap_count, 0, 20
  li t0, -1
  sw t0, 4(s3)
  sw t0, 0(s3)

  /* LR, SC, AMO keep their misaligned exceptions and write nothing */
  li a1, -1
  addi s2, s1, 2
l_lr:
  lr.w a0, (s2)
  EXPECT_MIS l_lr, CAUSE_MISALIGNED_LOAD, 2, 0x28
  /* an SC at a misaligned address cannot match a reservation: it fails (rd = 1) without
   * touching memory or trapping, as on QEMU */
  sc.w a0, a1, (s2)
  CHECK a0, 1, 0x2c
  CHECKM trap_count, 0, 0x2d
s_amo:
  amoadd.w a0, a1, (s2)
  EXPECT_MIS_ANY s_amo, 2, 0x30
  addi s2, s1, 1
s_amoswap:
  amoswap.w a0, a1, (s2)
  EXPECT_MIS_ANY s_amoswap, 1, 0x34
  lw a0, 0(s1)
  CHECKW a0, 0xccdd0100, 21
  lw a0, 4(s1)
  CHECKW a0, 0x071234bb, 22

#if __riscv_xlen == 64
  /* RV64: doublewords at misaligned offsets, lwu, across the page boundary, and the .d
   * forms of LR/SC/AMO (buf now holds 00 01 dd cc bb 34 12 07 f1 f0 0a ...; Sv39 is
   * diffed by the paging images) */
  ld a0, 0(s1)
  li t0, 0x071234bbccdd0100
  CHECKR a0, t0, 0x80
  ld a0, 3(s1)
  li t0, 0x0af0f1071234bbcc
  CHECKR a0, t0, 0x81
  lwu a0, 1(s1)
  CHECK a0, 0xbbccdd01, 0x82
  lw a0, 1(s1)
  CHECKW a0, 0xbbccdd01, 0x83
  li a1, 0x1122334455667788
  sd a1, 5(s1)
  ld a0, 5(s1)
  CHECKR a0, a1, 0x84
  lbu a0, 4(s1)
  CHECK a0, 0xbb, 0x85
  lbu a0, 13(s1)
  CHECK a0, 13, 0x86
  la s2, cross
  ld a0, -5(s2)
  li t0, 0x121155667788e000
  CHECKR a0, t0, 0x87
  sd a1, -7(s2)
  ld a0, -8(s2)
  li t0, 0x2233445566778800
  CHECKR a0, t0, 0x88
  lwu a0, -1(s2)
  CHECK a0, 0x12111122, 0x89
  CHECKM trap_count, 0, 0x8a
  addi s2, s1, 4
d_lr:
  lr.d a0, (s2)
  EXPECT_MIS d_lr, CAUSE_MISALIGNED_LOAD, 4, 0x90
  sc.d a0, a1, (s2)
  CHECK a0, 1, 0x94
d_amo:
  amoadd.d a0, a1, (s2)
  EXPECT_MIS_ANY d_amo, 4, 0x98
  addi s2, s1, 2
w_amo:
  amoor.w a0, a1, (s2)
  EXPECT_MIS_ANY w_amo, 2, 0x9c
  ld a0, 5(s1)
  li t0, 0x1122334455667788
  CHECKR a0, t0, 0xa0
  TEST_PASS

#else
  /* Sv32 in S-mode: VBASE + 0x0000 and + 0x1000 read-write, + 0x2000 read-only,
   * + 0x3000 invalid */
  MEGA 0x000, 0x00000000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  MEGA 0x040, 0x10000000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  MEGA 0x200, 0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  la t0, l2
  srli t0, t0, 2
  ori t0, t0, PTE_V
  la t1, root + 0x100 * 4
  sw t0, 0(t1)
  PAGE 0, page_a, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  PAGE 1, page_b, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  PAGE 2, page_c, PTE_V | PTE_R | PTE_A
  /* page contents: the last word of page_b, the first of page_c */
  la t0, page_c
  li t1, 0xb3b2b1b0
  sw t1, -4(t0)
  li t1, 0xc3c2c1c0
  sw t1, 0(t0)
  li t0, (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE)
  csrw medeleg, t0
  la t0, s_handler
  csrw stvec, t0
  la t0, root
  srli t0, t0, 12
  li t1, 0x80000000
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, s_main
  csrw mepc, t0
  la s10, back_in_m
  mret

s_main:
  li s1, VBASE + 0x1000
  /* across page_a -> page_b */
  li a1, 0x0d0c0b0a
  sw a1, -2(s1)
  lw a0, -3(s1)
  CHECKW a0, 0x0c0b0a00, 0x40
  lhu a0, -1(s1)
  CHECKW a0, 0x0c0b, 0x41
  /* across page_b -> page_c (read-only): loads work */
  li s2, VBASE + 0x2000
  lw a0, -2(s2)
  CHECKW a0, 0xc1c0b3b2, 0x42
  /* ... a store faults on the second page with its first byte, and writes nothing */
f_st2:
  sw a1, -3(s2)
  EXPECT_FAULT CAUSE_STORE_PAGE, VBASE + 0x2000, f_st2, 0x50
f_sh2:
  sh a1, -1(s2)
  EXPECT_FAULT CAUSE_STORE_PAGE, VBASE + 0x2000, f_sh2, 0x54
  lw a0, -4(s2)
  CHECKW a0, 0xb3b2b1b0, 0x43
  /* page_c -> invalid: a store faults on the first page with its own address */
  li s3, VBASE + 0x3000
f_st1:
  sw a1, -2(s3)
  EXPECT_FAULT CAUSE_STORE_PAGE, VBASE + 0x2ffe, f_st1, 0x58
  /* ... a load on the second page, with its first byte */
f_ld2:
  lw a0, -3(s3)
  EXPECT_FAULT CAUSE_LOAD_PAGE, VBASE + 0x3000, f_ld2, 0x5c
f_lh2:
  lh a0, -1(s3)
  EXPECT_FAULT CAUSE_LOAD_PAGE, VBASE + 0x3000, f_lh2, 0x60
  /* an access that starts in the invalid page faults with its own address */
  li s3, VBASE + 0x4000
f_ld1:
  lw a0, -2(s3)
  EXPECT_FAULT CAUSE_LOAD_PAGE, VBASE + 0x3ffe, f_ld1, 0x64
  ecall

back_in_m:
  CHECKM trap_cause, CAUSE_ECALL_S, 0x70
  csrw satp, zero
  sfence.vma
  TEST_PASS

/* S-mode handler: records scause/stval/sepc and resumes past the faulting instruction. */
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
  bltz t0, 1f
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
1:
  li a0, 0x7f
  j _fail

#endif

  .data
  .align 4
buf:
  .byte 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
  .balign 4096
  .space 4092
  .byte 0xe0, 0xe1, 0xe2, 0xe3
cross:
  .byte 0x10, 0x11, 0x12, 0x13

  .bss
  .balign 4096
root:      .space 4096
l2:        .space 4096
page_a:    .space 4096
page_b:    .space 4096
page_c:    .space 4096
s_cause:   XWORD 0
s_tval:    XWORD 0
s_epc:     XWORD 0
s_count:   XWORD 0
