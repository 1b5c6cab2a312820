/* The co-simulation guest (tests/cosim-m4): prints a greeting and a computed line on the
 * mcu32 UART, then exits through the test finisher with code 42, so the firmware's exit
 * status proves the whole path. */
#include "mcu32.h"

    .text
    .globl main
main:
    la a0, msg_hello
    call puts
    /* 6 * 7 with the M extension, printed in hex. */
    li t0, 6
    li t1, 7
    mul s1, t0, t1
    la a0, msg_answer
    call puts
    mv a0, s1
    call puthex8
    la a0, msg_nl
    call puts
    mv a0, s1
    j fail

    .section .rodata
msg_hello:  .asciz "hello from the RV32 guest on mcu32\n"
msg_answer: .asciz "6 * 7 = 0x"
msg_nl:     .asciz "\n"
