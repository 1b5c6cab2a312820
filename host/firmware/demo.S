/* The fief runner's bundled demo for virt32: prints a banner, takes three CLINT timer
 * interrupts (100 ms apart, a "tick N" line each), echoes whatever arrives on the UART
 * (received-data interrupts through the PLIC, claim/complete), and passes through the
 * test finisher. Harts other than 0 park in wfi. */
#include "common.h"
#define INTERVAL 1000000   /* 100 ms at the 10 MHz timebase */
#define TICKS 3

    .section .text.init
    .globl _start
_start:
    csrr t0, mhartid
    bnez t0, park
    la sp, stack_top
    la t0, trap
    csrw mtvec, t0
    la a0, banner
    call puts
    /* UART: received-data interrupt on. The FIFO stays as it is: switching it on would
     * drop a byte that arrived before. */
    li t0, UART
    li t1, 1
    sb t1, UART_IER(t0)
    /* PLIC: the UART's source at priority 1, enabled for hart 0's M context. */
    li t0, PLIC + 4 * UART_IRQ
    li t1, 1
    sw t1, 0(t0)
    li t0, PLIC_ENABLE
    li t1, 1 << UART_IRQ
    sw t1, 0(t0)
    li t0, PLIC_CTX0
    sw zero, 0(t0)
    call arm_timer
    li t0, (1 << 7) | (1 << 11)     /* MTIE | MEIE */
    csrw mie, t0
    csrsi mstatus, 8                 /* MIE */
wait:
    wfi
    la t0, ticks
    lw t0, 0(t0)
    li t1, TICKS
    blt t0, t1, wait
    csrci mstatus, 8
    la a0, bye
    call puts
    PASS

park:
    wfi
    j park

/* mtimecmp = mtime + INTERVAL (64-bit on RV32: high word parked at all ones first). */
arm_timer:
    li t0, CLINT_MTIME
1:  lw t2, 4(t0)
    lw t1, 0(t0)
    lw a1, 4(t0)
    bne t2, a1, 1b
    li a1, INTERVAL
    add a1, t1, a1
    sltu t1, a1, t1
    add t2, t2, t1
    li t0, CLINT_MTIMECMP
    li t1, -1
    sw t1, 4(t0)
    sw a1, 0(t0)
    sw t2, 4(t0)
    ret

    .align 2
trap:
    addi sp, sp, -32
    sw ra, 0(sp)
    sw t0, 4(sp)
    sw t1, 8(sp)
    sw t2, 12(sp)
    sw a0, 16(sp)
    sw a1, 20(sp)
    sw s0, 24(sp)
    csrr t0, mcause
    bgez t0, exception
    andi t0, t0, 0xff
    li t1, 7
    beq t0, t1, timer
    li t1, 11
    beq t0, t1, external
    j exception
timer:
    la t0, ticks
    lw t1, 0(t0)
    addi t1, t1, 1
    sw t1, 0(t0)
    mv s0, t1
    la a0, tick_msg
    call puts
    addi a0, s0, '0'
    call putc
    li a0, '\n'
    call putc
    call arm_timer
    j done
external:
    li s0, PLIC_CTX0 + 4
    lw s0, 0(s0)                     /* claim */
    beqz s0, done
2:  li t0, UART
    lbu t1, UART_LSR(t0)
    andi t1, t1, 1
    beqz t1, 3f
    lbu a0, UART_RBR(t0)
    call putc                        /* echo */
    j 2b
3:  li t0, PLIC_CTX0 + 4
    sw s0, 0(t0)                     /* complete */
done:
    lw ra, 0(sp)
    lw t0, 4(sp)
    lw t1, 8(sp)
    lw t2, 12(sp)
    lw a0, 16(sp)
    lw a1, 20(sp)
    lw s0, 24(sp)
    addi sp, sp, 32
    mret
exception:
    csrr a0, mcause
    addi a0, a0, 100
    FAIL_A0

PUTS_FN
PUTC_FN

    .section .rodata
banner:   .asciz "Fief virt32 demo: hello from RV32 firmware (CLINT timer, PLIC, NS16550A)\n"
tick_msg: .asciz "tick "
bye:      .asciz "demo done: passing through the test finisher\n"

    .section .bss
    .align 2
ticks: .word 0
