/* PLIC device test on virt32, with the UART in loopback as interrupt source 10 (its
 * received-data output stays high while a byte waits): pending bits, priority 0 never
 * interrupts, enables, the threshold masks priorities at or below it, claim takes the
 * source and drops MEIP, a second claim answers 0, complete re-pends a source whose input
 * is still high, the S-mode context drives SEIP, priorities are 3 bits. MEIP/SEIP are
 * read from mip with interrupts off. Prints "plic ok" and passes, or fails with the check
 * number. */
#include "common.h"
#define MEIP(reg) csrr reg, mip; srli reg, reg, 11; andi reg, reg, 1
#define SEIP(reg) csrr reg, mip; srli reg, reg, 9; andi reg, reg, 1
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    li s0, UART
    li s1, PLIC
    li t1, 0x10
    sb t1, UART_MCR(s0)              /* loopback */
    li t1, IER_RDA
    sb t1, UART_IER(s0)
    li t1, 'x'
    sb t1, UART_THR(s0)              /* source 10 goes high */
    TEST(1)
    li t0, PLIC_PENDING
    lw t1, 0(t0)
    CHECK(t1, 1 << UART_IRQ)
    TEST(2)                          /* enabled, priority 0: nothing */
    li t0, PLIC_ENABLE
    li t1, 1 << UART_IRQ
    sw t1, 0(t0)
    MEIP(t1)
    CHECK(t1, 0)
    TEST(3)                          /* priority 2: MEIP */
    li t1, 2
    sw t1, 4 * UART_IRQ(s1)
    MEIP(t1)
    CHECK(t1, 1)
    TEST(4)                          /* threshold 2 masks it, 1 does not */
    li t0, PLIC_CTX0
    li t1, 2
    sw t1, 0(t0)
    MEIP(t1)
    CHECK(t1, 0)
    lw t1, 4(t0)                     /* claim below the threshold: nothing */
    CHECK(t1, 0)
    li t1, 1
    sw t1, 0(t0)
    MEIP(t1)
    CHECK(t1, 1)
    TEST(5)                          /* disabled: nothing to claim */
    li t2, PLIC_ENABLE
    sw zero, 0(t2)
    lw t1, 4(t0)
    CHECK(t1, 0)
    MEIP(t1)
    CHECK(t1, 0)
    li t1, 1 << UART_IRQ
    sw t1, 0(t2)
    TEST(6)                          /* claim */
    lw t1, 4(t0)
    CHECK(t1, UART_IRQ)
    MEIP(t2)
    CHECK(t2, 0)
    li t2, PLIC_PENDING
    lw t2, 0(t2)
    CHECK(t2, 0)
    lw t2, 4(t0)
    CHECK(t2, 0)
    TEST(7)                          /* complete with the input still high: pending again */
    sw t1, 4(t0)
    sb zero, UART_IER(s0)            /* (QEMU's PLIC needs a new rising edge here) */
    li t2, IER_RDA
    sb t2, UART_IER(s0)
    MEIP(t2)
    CHECK(t2, 1)
    TEST(8)                          /* the S context (1) drives SEIP */
    SEIP(t2)
    CHECK(t2, 0)
    li t2, PLIC_ENABLE + 0x80
    li t3, 1 << UART_IRQ
    sw t3, 0(t2)
    sb zero, UART_IER(s0)            /* (QEMU's PLIC updates its outputs on an edge only) */
    li t3, IER_RDA
    sb t3, UART_IER(s0)
    SEIP(t2)
    CHECK(t2, 1)
    li t2, PLIC_CTX0 + 0x1000
    lw t3, 4(t2)
    CHECK(t3, UART_IRQ)
    MEIP(t3)
    CHECK(t3, 0)
    TEST(9)                          /* input low (byte read), complete: nothing pending */
    lbu t3, UART_RBR(s0)
    CHECK(t3, 'x')
    li t3, UART_IRQ
    sw t3, 4(t2)
    li t2, PLIC_PENDING
    lw t2, 0(t2)
    CHECK(t2, 0)
    MEIP(t2)
    CHECK(t2, 0)
    TEST(10)                         /* priorities are 3 bits; source 0 does not exist */
    li t1, 0xff
    sw t1, 4 * UART_IRQ(s1)
    lw t1, 4 * UART_IRQ(s1)
    CHECK(t1, 7)
    li t1, 5
    sw t1, 0(s1)
    lw t1, 0(s1)
    CHECK(t1, 0)
    sb zero, UART_MCR(s0)
    sb zero, UART_IER(s0)
    la a0, ok
    call puts
    PASS

FAIL_FN
PUTS_FN

    .section .rodata
ok: .asciz "plic ok\n"
