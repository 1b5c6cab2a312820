/* Zicbom and Zicboz (Fief only: QEMU 7.2 has neither, they came in QEMU 8.0; expected
 * behaviour from the CMO 1.0 specification, with the trap value the Sail model gives).
 *  - cbo.zero writes zeros to the 64-byte block holding rs1 and nothing around it;
 *  - the menvcfg/senvcfg enables: CBZE for cbo.zero, CBCFE for clean/flush, CBIE for inval;
 *    M mode ignores them, S needs menvcfg's, U needs menvcfg's and senvcfg's, else an
 *    illegal-instruction exception (mtval = the instruction);
 *  - clean/flush/inval are allowed where a load or a store would be, else a store access
 *    fault; cbo.zero needs store permission for the whole block (a block split by an NA4
 *    entry faults and writes nothing); the trap value is rs1 (not the block's base).
 * PMP entries: 0 NAPOT 4 KiB over ro_page (R), 1 NAPOT 4 KiB over none_page (nothing),
 * 2 NA4 on na4_page + 0x7c (nothing), 3 NAPOT over everything (RWX). */
#include "test.h"
  .option norvc

#define MENVCFG 0x30a
#define SENVCFG 0x10a
#define CBIE_FLUSH 0x10
#define CBCFE 0x40
#define CBZE 0x80

/* The instructions on register `r` (macros: a probe's instruction list drops the space
 * before "(r)"). */
.macro CZ r
  cbo.zero (\r)
.endm
.macro CC r
  cbo.clean (\r)
.endm
.macro CF r
  cbo.flush (\r)
.endm
.macro CI r
  cbo.inval (\r)
.endm

/* Runs `insns` in privilege `mpp` (0 U, 1 S, 3 M), then ECALLs back; fails with `code`
 * unless the first trap they took was `cause` (0: none). */
.macro PROBE mpp, cause, code, insns:vararg
  la t0, first_cause
  REG_S zero, 0(t0)
  REG_S zero, REGBYTES(t0)
  la s10, .Lback\@
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, (\mpp) << 11
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

/* Fails with `code` unless the first trap's mtval equals register `reg`. */
.macro TVAL reg, code
  la t0, first_tval
  REG_L t0, 0(t0)
  CHECKR t0, \reg, \code
.endm

/* Fills the 256 bytes at s0 with ones. */
.macro FILL
  li t0, -1
  mv t1, s0
  addi t2, s0, 256
.Lfill\@:
  sw t0, 0(t1)
  addi t1, t1, 4
  bne t1, t2, .Lfill\@
.endm

/* Fails with `code` unless the word at s0 + off equals `val`. */
.macro WORD off, val, code
  lw t0, \off(s0)
  CHECK t0, \val, \code
.endm

TEST_BEGIN isa_cbo
  la t0, cbo_trap
  csrw mtvec, t0
  csrw mie, zero
  la t0, ro_page
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr0, t0
  la t0, none_page
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr1, t0
  la t0, na4_page + 0x7c
  srli t0, t0, 2
  csrw pmpaddr2, t0
  li t0, -1
  csrw pmpaddr3, t0
  li t0, 0x1f101819         /* 3: NAPOT RWX, 2: NA4 -, 1: NAPOT -, 0: NAPOT R */
  csrw pmpcfg0, t0
  la s0, data
  la s1, ro_page
  la s2, none_page
  la s3, na4_page

  /* M mode, every enable clear: cbo.zero zeroes exactly the block holding rs1. */
  csrw MENVCFG, zero
  csrw SENVCFG, zero
  FILL
  addi a1, s0, 0x45
  CZ a1
  WORD 0x3c, -1, 0x01
  WORD 0x40, 0, 0x02
  WORD 0x5c, 0, 0x03
  WORD 0x7c, 0, 0x04
  WORD 0x80, -1, 0x05
  /* an aligned rs1, and the last byte of a block */
  addi a1, s0, 0xbf
  CZ a1
  WORD 0x80, 0, 0x06
  WORD 0xbc, 0, 0x07
  WORD 0xc0, -1, 0x08
  CC s0
  CF s0
  CI s0
  WORD 0xc0, -1, 0x09

  /* S mode with menvcfg's enables clear: each is illegal (mtval = the instruction). */
  FILL
  PROBE 1, CAUSE_ILLEGAL, 0x10, CZ s0
  li a2, 0x0044200f         /* cbo.zero (s0) */
  TVAL a2, 0x11
  WORD 0, -1, 0x12
  PROBE 1, CAUSE_ILLEGAL, 0x13, CC s0
  PROBE 1, CAUSE_ILLEGAL, 0x14, CF s0
  PROBE 1, CAUSE_ILLEGAL, 0x15, CI s0
  /* Each enable allows only its own instructions. */
  li t0, CBZE
  csrw MENVCFG, t0
  PROBE 1, 0, 0x18, CZ s0
  WORD 0, 0, 0x19
  PROBE 1, CAUSE_ILLEGAL, 0x1a, CC s0
  PROBE 1, CAUSE_ILLEGAL, 0x1b, CI s0
  li t0, CBCFE
  csrw MENVCFG, t0
  PROBE 1, 0, 0x1c, CC s0; CF s0
  PROBE 1, CAUSE_ILLEGAL, 0x1d, CZ s0
  PROBE 1, CAUSE_ILLEGAL, 0x1e, CI s0
  li t0, CBIE_FLUSH
  csrw MENVCFG, t0
  PROBE 1, 0, 0x1f, CI s0
  PROBE 1, CAUSE_ILLEGAL, 0x20, CF s0
  /* the fields hold what is written (CBIE's two bits too) */
  li t0, 0xf1
  csrw MENVCFG, t0
  csrr t1, MENVCFG
  CHECKR t0, t1, 0x21
  csrw SENVCFG, t0
  csrr t1, SENVCFG
  CHECKR t0, t1, 0x22
  csrw SENVCFG, zero

  /* U mode needs senvcfg's enables as well. */
  FILL
  PROBE 0, CAUSE_ILLEGAL, 0x28, CZ s0
  PROBE 0, CAUSE_ILLEGAL, 0x29, CC s0
  PROBE 0, CAUSE_ILLEGAL, 0x2a, CI s0
  li t0, CBZE | CBCFE | CBIE_FLUSH
  csrw SENVCFG, t0
  PROBE 0, 0, 0x2b, CZ s0; CC s0; CF s0; CI s0
  WORD 0, 0, 0x2c
  WORD 0x40, -1, 0x2d
  /* senvcfg alone is not enough */
  csrw MENVCFG, zero
  PROBE 0, CAUSE_ILLEGAL, 0x2e, CZ s0
  li t0, CBZE | CBCFE | CBIE_FLUSH
  csrw MENVCFG, t0

  /* PMP: the read-only page allows clean/flush/inval (a load would pass) but not
   * cbo.zero; the page with no access allows nothing. Store access faults, mtval = rs1. */
  addi a1, s1, 0x123
  PROBE 1, 0, 0x30, CC a1; CF a1; CI a1
  PROBE 1, CAUSE_STORE_ACCESS, 0x31, CZ a1
  TVAL a1, 0x32
  addi a1, s2, 0x7ff
  PROBE 1, CAUSE_STORE_ACCESS, 0x33, CC a1
  TVAL a1, 0x34
  PROBE 0, CAUSE_STORE_ACCESS, 0x35, CF a1
  TVAL a1, 0x36
  PROBE 1, CAUSE_STORE_ACCESS, 0x37, CI a1
  PROBE 1, CAUSE_STORE_ACCESS, 0x38, CZ a1
  TVAL a1, 0x39
  /* A block whose last word an NA4 entry refuses: cbo.zero faults and writes nothing;
   * the blocks around it are fine. */
  li t0, -1
  sw t0, 0x40(s3)
  sw t0, 0x78(s3)
  addi a1, s3, 0x48
  PROBE 1, CAUSE_STORE_ACCESS, 0x3a, CZ a1
  TVAL a1, 0x3b
  lw t0, 0x40(s3)
  CHECK t0, -1, 0x3c
  lw t0, 0x78(s3)
  CHECK t0, -1, 0x3d
  PROBE 1, CAUSE_STORE_ACCESS, 0x3e, CC a1
  addi a1, s3, 0x80
  PROBE 1, 0, 0x3f, CZ a1
  /* M mode is not subject to the unlocked entries. */
  addi a1, s2, 0x40
  PROBE 3, 0, 0x40, CZ a1; CC a1
  TEST_PASS

/* The first trap of a probe is recorded (ECALLs are not); ECALLs continue in M mode at
 * s10, other exceptions return past the 4-byte instruction. */
  .align 2
cbo_trap:
  csrr t0, mcause
  li t1, CAUSE_ECALL_U
  beq t0, t1, 2f
  li t1, CAUSE_ECALL_S
  beq t0, t1, 2f
  li t1, CAUSE_ECALL_M
  beq t0, t1, 2f
  la t1, first_cause
  REG_L t2, 0(t1)
  bnez t2, 1f
  REG_S t0, 0(t1)
  csrr t2, mtval
  REG_S t2, REGBYTES(t1)
1:
  csrr t0, mepc
  addi t0, t0, 4
  csrw mepc, t0
  mret
2:
  jr s10

  .bss
  .align 3
first_cause: .space REGBYTES
first_tval:  .space REGBYTES
  .align 8
data:      .space 256
  .align 12
ro_page:   .space 4096
none_page: .space 4096
na4_page:  .space 4096
