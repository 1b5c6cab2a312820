/* mcu32 guest start-up and helpers: stack in SRAM, puts/puthex on the NS16550 UART,
 * pass/fail through the SiFive test finisher. */
#include "mcu32.h"

    .section .text.init
    .globl _start
_start:
    la sp, _stack_top
    call main
    j pass

    .text
/* puts(a0 = NUL-terminated string). Clobbers t0, t1. */
    .globl puts
puts:
    li t0, UART
1:  lbu t1, 0(a0)
    beqz t1, 2f
    sb t1, 0(t0)
    addi a0, a0, 1
    j 1b
2:  ret

/* puthex8(a0 = byte): two hex digits. Clobbers t0-t3. */
    .globl puthex8
puthex8:
    li t0, UART
    li t2, 2
1:  srli t1, a0, 4
    andi t1, t1, 0xf
    addi t1, t1, '0'
    li t3, '9'
    ble t1, t3, 2f
    addi t1, t1, 'a' - '0' - 10
2:  sb t1, 0(t0)
    slli a0, a0, 4
    addi t2, t2, -1
    bnez t2, 1b
    ret

    .globl pass
pass:
    li t0, FINISHER
    li t1, 0x5555
    sw t1, 0(t0)
1:  j 1b

/* fail(a0 = code) */
    .globl fail
fail:
    li t0, FINISHER
    slli a0, a0, 16
    li t1, 0x3333
    or a0, a0, t1
    sw a0, 0(t0)
1:  j 1b
