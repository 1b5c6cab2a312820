/* Shared definitions and macros of the Fief guest test programs.
 *
 * Conventions:
 *  - every test defines its entry with TEST_BEGIN <name>; crt.S jumps there in M-mode with
 *    sp set, .bss cleared, mtvec = unexpected_trap, PMP open for S/U;
 *  - every check branches to FAIL with a code distinct within the test (1..0x7ff);
 *    codes 0x800.. are reserved for crt.S (unexpected traps);
 *  - t6 and a0 are scratch for the CHECK macros: do not keep values in them across a check;
 *  - TEST_PASS prints "<name>: ok\n" and writes 0x5555 to the finisher;
 *    a failure prints "<name>: FAIL 0x<code>\n" and writes (code << 16) | 0x3333;
 *  - the same source builds for RV32 and RV64 (GCC's __riscv_xlen): REG_L/REG_S load and
 *    store an XLEN-wide word, REGBYTES is its size, XWORD reserves one; trap_record's
 *    records and the words CHECKM reads are XLEN wide.
 */
#ifndef FIEF_TEST_H
#define FIEF_TEST_H

#define FINISHER_BASE 0x100000
#define FINISHER_PASS 0x5555
#define FINISHER_FAIL 0x3333
#define UART_BASE 0x10000000
#define UART_LSR 5
#define UART_LSR_THRE 0x20

#define CLINT_MSIP 0x2000000
#define CLINT_MTIMECMP 0x2004000
#define CLINT_MTIME 0x200bff8

/* mcause values */
#define CAUSE_MISALIGNED_FETCH 0
#define CAUSE_ILLEGAL 2
#define CAUSE_BREAKPOINT 3
#define CAUSE_MISALIGNED_LOAD 4
#define CAUSE_LOAD_ACCESS 5
#define CAUSE_MISALIGNED_STORE 6
#define CAUSE_STORE_ACCESS 7
#define CAUSE_ECALL_U 8
#define CAUSE_ECALL_S 9
#define CAUSE_ECALL_M 11
#define CAUSE_FETCH_PAGE 12
#define CAUSE_LOAD_PAGE 13
#define CAUSE_STORE_PAGE 15

#if __riscv_xlen == 64
#define REG_L ld
#define REG_S sd
#define REGBYTES 8
#define XWORD .dword
/* mcause's interrupt bit: bit XLEN-1 */
#define INTERRUPT_BIT 0x8000000000000000
#else
#define REG_L lw
#define REG_S sw
#define REGBYTES 4
#define XWORD .word
#define INTERRUPT_BIT 0x80000000
#endif

/* mstatus bits */
#define MSTATUS_SIE 0x2
#define MSTATUS_MIE 0x8
#define MSTATUS_SPIE 0x20
#define MSTATUS_MPIE 0x80
#define MSTATUS_SPP 0x100
#define MSTATUS_MPP 0x1800
#define MSTATUS_MPP_S 0x0800
#define MSTATUS_MPRV 0x20000
#define MSTATUS_SUM 0x40000

#ifdef __ASSEMBLER__

/* Defines the test's name string and starts its entry point test_main. */
.macro TEST_BEGIN name
  .section .rodata
  .globl test_name
test_name:
  .asciz "\name"
  .text
  .globl test_main
  .align 2
test_main:
.endm

.macro TEST_PASS
  j _pass
.endm

.macro FAIL code
  li a0, \code
  j _fail
.endm

/* Fails with `code` unless register `reg` equals the constant `val`. */
.macro CHECK reg, val, code
  li t6, \val
  beq \reg, t6, .Lck\@
  FAIL \code
.Lck\@:
.endm

/* Fails with `code` unless register `reg` equals the 32-bit constant `val` sign-extended to
 * XLEN (what lw, fmv.x.w and the W instructions produce; the same as CHECK on RV32). */
.macro CHECKW reg, val, code
  li t6, ((((\val) & 0xffffffff) ^ 0x80000000) - 0x80000000)
  beq \reg, t6, .Lck\@
  FAIL \code
.Lck\@:
.endm

/* Fails with `code` unless registers `r1` and `r2` are equal. */
.macro CHECKR r1, r2, code
  beq \r1, \r2, .Lck\@
  FAIL \code
.Lck\@:
.endm

/* Fails with `code` unless the XLEN-wide word at symbol `sym` equals the constant `val`
 * (uses t5). */
.macro CHECKM sym, val, code
  la t5, \sym
  REG_L t5, 0(t5)
  CHECK t5, \val, \code
.endm

/* Prints the NUL-terminated string at symbol `sym` (clobbers a0, t0-t2, ra). */
.macro PUTS sym
  la a0, \sym
  call puts
.endm

#endif /* __ASSEMBLER__ */
#endif /* FIEF_TEST_H */
