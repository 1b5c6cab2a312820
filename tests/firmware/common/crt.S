/* Start-up code and shared routines of the Fief guest test programs (see test.h). */
#include "test.h"

  .section .text.init
  .globl _start
_start:
  la sp, _stack_top
  la t0, unexpected_trap
  csrw mtvec, t0
  /* Open PMP entry 0 over the whole address space so that S and U may access memory
   * (QEMU checks PMP; with no entry set, S/U accesses fault). */
  li t0, -1
  csrw pmpaddr0, t0
  li t0, 0x1f             /* A = NAPOT, R, W, X */
  csrw pmpcfg0, t0
  la t0, __bss_start
  la t1, __bss_end
1:
  bgeu t0, t1, 2f
  sw zero, 0(t0)
  addi t0, t0, 4
  j 1b
2:
  j test_main

  .text
/* puts(a0 = NUL-terminated string): polls LSR.THRE before each byte. Clobbers a0, t0-t2. */
  .globl puts
puts:
  li t0, UART_BASE
1:
  lbu t1, 0(a0)
  beqz t1, 3f
2:
  lbu t2, UART_LSR(t0)
  andi t2, t2, UART_LSR_THRE
  beqz t2, 2b
  sb t1, 0(t0)
  addi a0, a0, 1
  j 1b
3:
  ret

/* puthex(a0): XLEN/4 hex digits (eight on RV32, sixteen on RV64). Clobbers t0-t3. */
  .globl puthex
puthex:
  li t0, UART_BASE
  li t3, __riscv_xlen - 4
1:
  srl t1, a0, t3
  andi t1, t1, 15
  addi t1, t1, '0'
  li t2, '9'
  ble t1, t2, 2f
  addi t1, t1, 'a' - '0' - 10
2:
  lbu t2, UART_LSR(t0)
  andi t2, t2, UART_LSR_THRE
  beqz t2, 2b
  sb t1, 0(t0)
  addi t3, t3, -4
  bgez t3, 1b
  ret

  .globl _pass
_pass:
  PUTS test_name
  PUTS str_ok
  li t0, FINISHER_BASE
  li t1, FINISHER_PASS
  sw t1, 0(t0)
1:
  j 1b

/* _fail(a0 = code): prints "<name>: FAIL 0x<code>" and reports the code to the finisher. */
  .globl _fail
_fail:
  mv s11, a0
  PUTS test_name
  PUTS str_fail
  mv a0, s11
  call puthex
  PUTS str_nl
  slli t0, s11, 16
  li t1, FINISHER_FAIL
  or t0, t0, t1
  li t1, FINISHER_BASE
  sw t0, 0(t1)
1:
  j 1b

/* The default M-mode trap handler: any trap is a failure with code
 * 0x800 | cause (exceptions) or 0xc00 | cause (interrupts). */
  .align 2
  .globl unexpected_trap
unexpected_trap:
  PUTS str_trap
  csrr a0, mcause
  call puthex
  PUTS str_mepc
  csrr a0, mepc
  call puthex
  PUTS str_mtval
  csrr a0, mtval
  call puthex
  PUTS str_nl
  csrr t0, mcause
  andi a0, t0, 0x3f
  li t1, 0x800
  or a0, a0, t1
  bgez t0, 1f
  ori a0, a0, 0x400
1:
  j _fail

/* A recording M-mode trap handler for tests to install in mtvec (direct mode). It stores
 * mcause, mtval, mepc and mstatus (XLEN-wide words) in trap_cause/trap_tval/trap_epc/
 * trap_status and counts
 * traps in trap_count. ECALLs and instruction-fetch faults continue in M-mode at the
 * address in s10; other exceptions return past the faulting instruction. Interrupts are
 * unexpected here. Clobbers t0-t2. */
  .align 2
  .globl trap_record
trap_record:
  csrr t0, mcause
  la t1, trap_cause
  REG_S t0, 0(t1)
  csrr t2, mtval
  REG_S t2, REGBYTES(t1)
  csrr t2, mepc
  REG_S t2, 2*REGBYTES(t1)
  csrr t2, mstatus
  REG_S t2, 3*REGBYTES(t1)
  REG_L t2, 4*REGBYTES(t1)
  addi t2, t2, 1
  REG_S t2, 4*REGBYTES(t1)
  bltz t0, unexpected_trap
  li t1, CAUSE_ECALL_U
  beq t0, t1, 2f
  li t1, CAUSE_ECALL_S
  beq t0, t1, 2f
  li t1, CAUSE_ECALL_M
  beq t0, t1, 2f
  li t1, 2
  bltu t0, t1, 2f         /* fetch misaligned / fetch access */
  li t1, CAUSE_FETCH_PAGE
  beq t0, t1, 2f
  csrr t0, mepc
  lhu t1, 0(t0)
  andi t1, t1, 3
  li t2, 3
  addi t0, t0, 2
  bne t1, t2, 1f
  addi t0, t0, 2
1:
  csrw mepc, t0
  mret
2:
  jr s10

  .section .rodata
str_ok:    .asciz ": ok\n"
str_fail:  .asciz ": FAIL 0x"
str_nl:    .asciz "\n"
str_trap:  .asciz "unexpected trap: mcause=0x"
str_mepc:  .asciz " mepc=0x"
str_mtval: .asciz " mtval=0x"

  .bss
  .align 4
  .globl trap_cause, trap_tval, trap_epc, trap_status, trap_count
trap_cause:  XWORD 0
trap_tval:   XWORD 0
trap_epc:    XWORD 0
trap_status: XWORD 0
trap_count:  XWORD 0
