/* Reset and power-off through the test device (syscon-reboot / syscon-poweroff), as on
 * QEMU virt. Each boot prints "boot N: data D ier I prio P": N counts boots in a RAM word
 * that no image covers (RAM keeps its contents across a reset, as on QEMU); D is a word of
 * this image's .data that every boot increments (the image is loaded again at reset, so
 * it is 0 each time); I and P are the UART's IER and the PLIC priority of source 10,
 * which this boot sets and a reset must clear. Boots 0 to 2 write the reset value 0x7777;
 * boot 3 writes the power-off value 0x5555 (exit status 0). */
#include "common.h"
#define COUNTER 0x80800000
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    csrr t0, mhartid
    bnez t0, park
    la a0, msg_boot
    call puts
    li s0, COUNTER
    lw s1, 0(s0)                   /* boots so far */
    addi a0, s1, '0'
    call putc
    la a0, msg_data
    call puts
    la t0, data
    lw a0, 0(t0)
    addi t1, a0, 1
    sw t1, 0(t0)
    addi a0, a0, '0'
    call putc
    la a0, msg_ier
    call puts
    li t0, UART
    lbu a0, UART_IER(t0)
    addi a0, a0, '0'
    call putc
    la a0, msg_prio
    call puts
    li t0, PLIC
    lw a0, 4*UART_IRQ(t0)
    addi a0, a0, '0'
    call putc
    li a0, '\n'
    call putc
    /* Leave state behind that a reset must clear. */
    li t0, UART
    li t1, 2                       /* THR-empty interrupt enabled */
    sb t1, UART_IER(t0)
    li t0, PLIC
    li t1, 5
    sw t1, 4*UART_IRQ(t0)
    li t0, 3
    bge s1, t0, poweroff
    addi s1, s1, 1
    sw s1, 0(s0)
    li t0, FINISHER
    li t1, 0x7777
    sw t1, 0(t0)
1:  j 1b
poweroff:
    la a0, msg_off
    call puts
    PASS
park:
    wfi
    j park

PUTS_FN
PUTC_FN

    .section .rodata
msg_boot: .asciz "boot "
msg_data: .asciz ": data "
msg_ier:  .asciz " ier "
msg_prio: .asciz " prio "
msg_off:  .asciz "power off\n"
    .section .data
    .balign 4
data: .word 0
