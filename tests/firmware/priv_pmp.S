/* PMP: NAPOT, NA4 and TOR-free priority order, R/W/X for S- and U-mode accesses (loads,
 * stores, fetches), access faults with mtval, a page split by an NA4 entry, M-mode passing
 * unlocked entries and obeying a locked one, and writes to a locked entry ignored.
 *
 * Entries: 0 NAPOT 4 KiB over ro_page (R), 1 NAPOT 4 KiB over none_page (nothing),
 * 2 NA4 on na4_page + 4 (nothing), 3 NAPOT over everything (RWX, for code and stack). */
#include "test.h"
  .option norvc

/* Runs the instruction(s) after it in privilege `mpp` (0 U, 1 S, 3 M), then ECALLs back;
 * fails with `code` unless the first trap they took was `cause` at mtval `sym + off`
 * (cause 0: no trap). */
.macro PROBE mpp, cause, sym, off, code, insns:vararg
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
  .if \cause
  la t0, first_tval
  REG_L t0, 0(t0)
  la t1, \sym + \off
  CHECKR t0, t1, (\code + 1)
  .endif
.endm

TEST_BEGIN priv_pmp
  la t0, pmp_trap
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
  la t0, na4_page + 4
  srli t0, t0, 2
  csrw pmpaddr2, t0
  li t0, -1
  csrw pmpaddr3, t0
  li t0, 0x1f101819         /* 3: NAPOT RWX, 2: NA4 -, 1: NAPOT -, 0: NAPOT R */
  csrw pmpcfg0, t0
  csrr t1, pmpcfg0
  CHECKR t0, t1, 1

  la s0, ro_page
  la s1, none_page
  la s2, na4_page

  /* S-mode: the read-only page reads, refuses stores and fetches. */
  PROBE 1, 0, ro_page, 0, 0x10, lw t1, 8(s0)
  PROBE 1, CAUSE_STORE_ACCESS, ro_page, 8, 0x12, sw t1, 8(s0)
  PROBE 1, 1, ro_page, 0, 0x14, jr s0
  /* No access at all, for S and U. */
  PROBE 1, CAUSE_LOAD_ACCESS, none_page, 0x10, 0x16, lw t1, 0x10(s1)
  PROBE 0, CAUSE_LOAD_ACCESS, none_page, 0x7fc, 0x18, lw t1, 0x7fc(s1)
  /* The NA4 entry splits its page: only its four bytes are refused, every time. */
  PROBE 1, 0, na4_page, 0, 0x20, sw s0, 0(s2)
  PROBE 1, CAUSE_LOAD_ACCESS, na4_page, 4, 0x22, lw t1, 4(s2)
  PROBE 1, CAUSE_STORE_ACCESS, na4_page, 4, 0x24, sw t1, 4(s2)
  PROBE 1, 0, na4_page, 8, 0x26, lw t1, 8(s2)
  PROBE 1, CAUSE_LOAD_ACCESS, na4_page, 4, 0x28, lw t1, 4(s2)
  lw t1, 0(s2)
#if __riscv_xlen == 64
  sext.w t2, s0
#else
  mv t2, s0
#endif
  CHECKR t1, t2, 0x2a

  /* M-mode passes the unlocked entry... */
  PROBE 3, 0, none_page, 0, 0x30, sw s0, 0(s1)
  /* ...and obeys it once locked, and a locked entry ignores writes. */
  li t0, 0x8000
  csrs pmpcfg0, t0
  PROBE 3, CAUSE_STORE_ACCESS, none_page, 4, 0x32, sw s0, 4(s1)
  li t0, 0x1f101f19
  csrw pmpcfg0, t0
  csrr t1, pmpcfg0
  li t0, 0x1f109819
  CHECKR t0, t1, 0x34
  li t0, -1
  csrw pmpaddr1, t0
  csrr t1, pmpaddr1
  la t0, none_page
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  CHECKR t0, t1, 0x35
  /* Entry 0 is not locked: opened up, the read-only page takes stores from S. */
  li t0, 0x1f10981f
  csrw pmpcfg0, t0
  csrr t1, pmpcfg0
  li t0, 0x1f10981f
  CHECKR t0, t1, 0x36
  PROBE 1, 0, ro_page, 0, 0x38, REG_S s0, 16(s0)
  REG_L t1, 16(s0)
  CHECKR t1, s0, 0x3a
#if __riscv_xlen == 64
  /* RV64: entries 8..15 live in pmpcfg2 (pmpcfg0 holds 0..7); pmpcfg1 and pmpcfg3 do
   * not exist. Entries 0 and 3 off (1 stays locked), so entries 8 (NAPOT R over ro_page)
   * and 9 (NAPOT RWX over everything) decide. */
  la t0, ro_page
  srli t0, t0, 2
  ori t0, t0, 0x1ff
  csrw pmpaddr8, t0
  li t0, -1
  csrw pmpaddr9, t0
  /* (not read back: bits 63:54 are zero by the spec, as in Fief, but QEMU 7.2 keeps
   * them; the DEVIATIONS list in tests/src/randdiff.rs) */
  li t0, 0x1f19
  csrw pmpcfg2, t0
  csrr t1, pmpcfg2
  CHECKR t0, t1, 0x40
  li t0, 0x00100000
  csrw pmpcfg0, t0
  csrr t1, pmpcfg0
  li t0, 0x00109800
  CHECKR t0, t1, 0x41
  PROBE 1, 0, ro_page, 0, 0x42, ld t1, 16(s0)
  PROBE 1, CAUSE_STORE_ACCESS, ro_page, 24, 0x44, sd t1, 24(s0)
  PROBE 0, CAUSE_STORE_ACCESS, ro_page, 0x100, 0x46, sw t1, 0x100(s0)
  /* the locked entry 1 still comes first */
  PROBE 1, CAUSE_STORE_ACCESS, none_page, 0x7f8, 0x48, sd t1, 0x7f8(s1)
  /* pmpcfg1 and pmpcfg3 are illegal instructions, even in M-mode */
  la t0, first_cause
  REG_S zero, 0(t0)
  csrr t1, pmpcfg1
  CHECKM first_cause, CAUSE_ILLEGAL, 0x4a
  CHECKM first_tval, 0x3a102373, 0x4b
  la t0, first_cause
  REG_S zero, 0(t0)
  csrw pmpcfg3, zero
  CHECKM first_cause, CAUSE_ILLEGAL, 0x4c
  /* the high entries of pmpcfg0 and pmpcfg2 (4..7, 12..15) hold what is written */
  li t0, 0x1b00000000000000   /* entry 7: NAPOT R W (no X) */
  csrs pmpcfg0, t0
  csrr t1, pmpcfg0
  li t2, 0x1b00000000109800
  CHECKR t1, t2, 0x4e
  csrw pmpcfg0, zero
  csrr t1, pmpcfg0
  li t2, 0x9800
  CHECKR t1, t2, 0x4f
  TEST_PASS
#else
  TEST_PASS
#endif

/* The first trap of a probe is recorded (ECALLs are not); ECALLs and fetch faults continue
 * in M-mode at s10, other exceptions return past the 4-byte instruction. */
  .align 2
pmp_trap:
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
  li t1, 1
  beq t0, t1, 2f
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
  .align 12
ro_page:   .space 4096
none_page: .space 4096
na4_page:  .space 4096
