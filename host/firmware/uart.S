/* NS16550A device test on virt32: reset values, SCR, DLAB and the divisor latch, FIFO
 * control and IIR, loopback (TX comes back on RX, LSR.DR), the received-data interrupt
 * through the PLIC (claim returns source 10, IIR says "received data", complete), the
 * THR-empty interrupt and its clearing by an IIR read, overrun and the line-status
 * interrupt. Prints "uart ok" and passes, or fails with the number of the failed check. */
#include "common.h"
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    la t0, trap
    csrw mtvec, t0
    li s0, UART
    TEST(1)
    lbu t0, UART_LSR(s0)
    CHECK(t0, 0x60)
    TEST(2)
    lbu t0, UART_IIR(s0)
    CHECK(t0, 0x01)
    TEST(3)
    li t1, 0xa5
    sb t1, UART_SCR(s0)
    lbu t0, UART_SCR(s0)
    CHECK(t0, 0xa5)
    TEST(4)                          /* DLAB: offsets 0 and 1 are the divisor latch */
    li t1, 0x83
    sb t1, UART_LCR(s0)
    li t1, 0x12
    sb t1, 0(s0)
    li t1, 0x34
    sb t1, 1(s0)
    lbu t0, 0(s0)
    CHECK(t0, 0x12)
    lbu t0, 1(s0)
    CHECK(t0, 0x34)
    li t1, 0x03
    sb t1, UART_LCR(s0)
    lbu t0, UART_IER(s0)
    CHECK(t0, 0)
    TEST(5)                          /* FIFO on: IIR bits 7:6 */
    li t1, 0x07
    sb t1, UART_FCR(s0)
    lbu t0, UART_IIR(s0)
    CHECK(t0, 0xc1)
    TEST(6)                          /* loopback */
    li t1, 0x10
    sb t1, UART_MCR(s0)
    li t1, 'Z'
    sb t1, UART_THR(s0)
    lbu t0, UART_LSR(s0)
    CHECK(t0, 0x61)
    lbu t0, UART_RBR(s0)
    CHECK(t0, 'Z')
    lbu t0, UART_LSR(s0)
    CHECK(t0, 0x60)
    TEST(7)                          /* received-data interrupt through the PLIC */
    li t0, PLIC + 4 * UART_IRQ
    li t1, 1
    sw t1, 0(t0)
    li t0, PLIC_ENABLE
    li t1, 1 << UART_IRQ
    sw t1, 0(t0)
    li t1, IER_RDA
    sb t1, UART_IER(s0)
    li t0, 1 << 11
    csrw mie, t0
    csrsi mstatus, 8
    li t1, 'q'
    sb t1, UART_THR(s0)              /* comes back: interrupt */
    li t2, 1000
1:  la t0, got
    lw t0, 0(t0)
    bnez t0, 2f
    addi t2, t2, -1
    bnez t2, 1b
2:  CHECK(t0, 'q')
    TEST(8)                          /* handler saw IIR = data available */
    la t0, iir
    lw t0, 0(t0)
    CHECK(t0, 0xc4)
    TEST(9)                          /* THR empty: raised when enabled, cleared by IIR */
    csrci mstatus, 8
    li t1, 0x02
    sb t1, UART_IER(s0)
    csrr t0, mip
    srli t0, t0, 11
    andi t0, t0, 1
    CHECK(t0, 1)
    lbu t0, UART_IIR(s0)
    CHECK(t0, 0xc2)
    lbu t0, UART_IIR(s0)
    CHECK(t0, 0xc1)
    li t0, PLIC_CTX0 + 4             /* claim and complete the stale one */
    lw t1, 0(t0)
    CHECK(t1, UART_IRQ)
    sw t1, 0(t0)
    csrr t0, mip
    srli t0, t0, 11
    andi t0, t0, 1
    CHECK(t0, 0)
    TEST(10)                         /* overrun: 17 bytes into a 16-byte FIFO */
    li t1, 0x04
    sb t1, UART_IER(s0)
    li t2, 17
1:  sb t2, UART_THR(s0)
    addi t2, t2, -1
    bnez t2, 1b
    lbu t0, UART_IIR(s0)
    CHECK(t0, 0xc6)
    lbu t0, UART_LSR(s0)
    CHECK(t0, 0x63)
    lbu t0, UART_LSR(s0)
    CHECK(t0, 0x61)
    lbu t0, UART_IIR(s0)
    CHECK(t0, 0xc1)
    TEST(11)                         /* loopback off: output goes out again */
    sb zero, UART_IER(s0)
    li t1, 0x06
    sb t1, UART_FCR(s0)
    sb zero, UART_MCR(s0)
    la a0, ok
    call puts
    PASS

    .align 2
trap:
    csrr t0, mcause
    li t1, 0x8000000b
    bne t0, t1, fail
    li t0, PLIC_CTX0 + 4
    lw t1, 0(t0)                     /* claim */
    li t2, UART_IRQ
    bne t1, t2, fail
    lbu t2, UART_IIR(s0)
    la t3, iir
    sw t2, 0(t3)
    lbu t2, UART_RBR(s0)
    la t3, got
    sw t2, 0(t3)
    sw t1, 0(t0)                     /* complete */
    mret

FAIL_FN
PUTS_FN

    .section .rodata
ok: .asciz "uart ok\n"
    .section .bss
    .align 2
got: .word 0
iir: .word 0
