/* Drives the mcu32 I2C master (OpenCores): a 3-byte write to device 0x50 (register 0x10,
 * then 0xab 0xcd), then a register read: write 0x10, repeated start, read 2 bytes (RXLEN).
 * Prints the bytes read. The host test expects exactly these two bus transactions. */
#include "mcu32.h"

    .text
/* cmd(a1 = CR value): issue a command, wait for TIP to clear, return SR in a0. */
cmd:
    sb a1, I2C_CR(s0)
1:  lbu a0, I2C_SR(s0)
    andi t0, a0, SR_TIP
    bnez t0, 1b
    ret

/* send(a2 = byte, a1 = CR value): TXR = byte, then cmd. */
send:
    sb a2, I2C_TXR(s0)
    j cmd

    .globl main
main:
    addi sp, sp, -16
    sw ra, 12(sp)
    li s0, I2C
    li t0, 0x3f
    sb t0, I2C_PRERLO(s0)
    sb zero, I2C_PRERHI(s0)
    li t0, CTR_EN
    sb t0, I2C_CTR(s0)

    /* Write transaction: 0x50 <- 10 ab cd. */
    li a2, 0xa0
    li a1, CR_STA | CR_WR
    call send
    andi t0, a0, SR_RXACK
    CHECK(t0, 0, 1)
    li a2, 0x10
    li a1, CR_WR
    call send
    li a2, 0xab
    li a1, CR_WR
    call send
    li a2, 0xcd
    li a1, CR_WR | CR_STO
    call send
    andi t0, a0, SR_RXACK | SR_AL
    CHECK(t0, 0, 2)

    /* Register read: 0x50 <- 10, repeated start, 2 bytes. */
    li t0, 2
    sb t0, I2C_RXLEN(s0)
    li a2, 0xa0
    li a1, CR_STA | CR_WR
    call send
    li a2, 0x10
    li a1, CR_WR
    call send
    li a2, 0xa1
    li a1, CR_STA | CR_WR
    call send
    li a1, CR_RD
    call cmd
    andi t0, a0, SR_RXACK | SR_AL
    CHECK(t0, 0, 3)
    lbu s1, I2C_RXR(s0)
    li a1, CR_RD | CR_ACK | CR_STO
    call cmd
    lbu s2, I2C_RXR(s0)

    la a0, msg_read
    call puts
    mv a0, s1
    call puthex8
    li a0, ' '
    li t0, UART
    sb a0, 0(t0)
    mv a0, s2
    call puthex8
    la a0, msg_nl
    call puts
    CHECK(s1, 0x12, 4)
    CHECK(s2, 0x34, 5)
    la a0, msg_ok
    call puts
    lw ra, 12(sp)
    addi sp, sp, 16
    ret

    .section .rodata
msg_read: .asciz "i2c: read "
msg_nl:   .asciz "\n"
msg_ok:   .asciz "i2c: ok\n"
