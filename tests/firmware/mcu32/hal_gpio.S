/* Drives the mcu32 GPIO controller: pins 0 and 2 as outputs (with out_xor), pin 1 as an
 * input sampled twice (high, then low: a falling edge). The host test expects exactly:
 * pin 0 low, pin 2 low, pin 0 high, pin 2 high, pin 2 low; pin 1 read high then low. */
#include "mcu32.h"

    .text
    .globl main
main:
    addi sp, sp, -16
    sw ra, 12(sp)
    li s0, GPIO
    sw zero, GPIO_OUTPUT_VAL(s0)     /* not driven yet: nothing happens */
    li t0, 0b101
    sw t0, GPIO_OUTPUT_EN(s0)        /* pins 0 and 2 driven low */
    li t0, 0b001
    sw t0, GPIO_OUTPUT_VAL(s0)       /* pin 0 high */
    li t0, 0b100
    sw t0, GPIO_OUT_XOR(s0)          /* pin 2 inverted: high */
    li t0, 0b101
    sw t0, GPIO_OUTPUT_VAL(s0)       /* pin 0 stays high, pin 2 (1 ^ 1) low */
    lw t0, GPIO_OUTPUT_VAL(s0)
    CHECK(t0, 0b101, 1)

    li t0, 0b010
    sw t0, GPIO_INPUT_EN(s0)
    lw s1, GPIO_INPUT_VAL(s0)        /* pin 1 high */
    CHECK(s1, 0b010, 2)
    lw s1, GPIO_INPUT_VAL(s0)        /* pin 1 low */
    CHECK(s1, 0, 3)
    lw t0, GPIO_FALL_IP(s0)
    CHECK(t0, 0b010, 4)
    lw t0, GPIO_RISE_IP(s0)
    CHECK(t0, 0, 5)
    li t0, 0b010
    sw t0, GPIO_FALL_IP(s0)          /* write 1 to clear */
    lw t0, GPIO_FALL_IP(s0)
    CHECK(t0, 0, 6)

    la a0, msg_ok
    call puts
    lw ra, 12(sp)
    addi sp, sp, 16
    ret

    .section .rodata
msg_ok: .asciz "gpio: ok\n"
