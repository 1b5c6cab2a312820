/* The I2C error path: a write to 0x42 and a read from 0x43 that the bus NACKs. The guest
 * reads RxACK after STO (the write) and after its first RD (the read), prints what it saw
 * and exits with code (1 if the write was NACKed) | (2 if the read was). */
#include "mcu32.h"

    .text
cmd:
    sb a1, I2C_CR(s0)
1:  lbu a0, I2C_SR(s0)
    andi t0, a0, SR_TIP
    bnez t0, 1b
    ret

send:
    sb a2, I2C_TXR(s0)
    j cmd

    .globl main
main:
    li s0, I2C
    li s1, 0                         /* what was NACKed */
    li t0, CTR_EN
    sb t0, I2C_CTR(s0)

    /* Write 0x42 <- 01 */
    li a2, 0x84
    li a1, CR_STA | CR_WR
    call send
    li a2, 0x01
    li a1, CR_WR | CR_STO
    call send
    andi t0, a0, SR_RXACK
    beqz t0, 1f
    ori s1, s1, 1
    la a0, msg_wnack
    call puts
1:
    /* Read 1 byte from 0x43 */
    li t0, 1
    sb t0, I2C_RXLEN(s0)
    li a2, 0x87
    li a1, CR_STA | CR_WR
    call send
    li a1, CR_RD | CR_ACK | CR_STO
    call cmd
    andi t0, a0, SR_RXACK
    beqz t0, 2f
    ori s1, s1, 2
    la a0, msg_rnack
    call puts
2:
    beqz s1, 3f
    mv a0, s1
    j fail
3:  j pass

    .section .rodata
msg_wnack: .asciz "i2c: write to 0x42 NACKed\n"
msg_rnack: .asciz "i2c: read from 0x43 NACKed\n"
