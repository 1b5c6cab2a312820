/* Drives the mcu32 SPI controller (SiFive): one frame in AUTO chip-select mode (0x9f ->
 * 0xc2), four frames under one held chip select (03 00 10 00 -> ff ff aa 55), and one
 * LSB-first frame (0x01 goes on the wire as 0x80; 0x80 comes back as 0x01). The host test
 * expects exactly these three SpiDevice transactions. */
#include "mcu32.h"

    .text
    .globl main
main:
    addi sp, sp, -16
    sw ra, 12(sp)
    li s0, SPI

    /* AUTO: one frame, one transaction. */
    li t0, 0x9f
    sw t0, SPI_TXDATA(s0)
    lw t0, SPI_RXDATA(s0)
    CHECK(t0, 0xc2, 1)

    /* HOLD: four frames, one transaction when CS is released. */
    li t0, 2
    sw t0, SPI_CSMODE(s0)
    li t0, 0x03
    sw t0, SPI_TXDATA(s0)
    sw zero, SPI_TXDATA(s0)
    li t0, 0x10
    sw t0, SPI_TXDATA(s0)
    sw zero, SPI_TXDATA(s0)
    sw zero, SPI_CSMODE(s0)
    lw t0, SPI_RXDATA(s0)
    CHECK(t0, 0xff, 2)
    lw t0, SPI_RXDATA(s0)
    CHECK(t0, 0xff, 3)
    lw s1, SPI_RXDATA(s0)
    CHECK(s1, 0xaa, 4)
    lw s2, SPI_RXDATA(s0)
    CHECK(s2, 0x55, 5)
    lw t0, SPI_RXDATA(s0)
    srli t0, t0, 31                  /* empty */
    CHECK(t0, 1, 6)

    /* LSB first. */
    li t0, 0x00080004
    sw t0, SPI_FMT(s0)
    li t0, 0x01
    sw t0, SPI_TXDATA(s0)
    lw t0, SPI_RXDATA(s0)
    CHECK(t0, 0x01, 7)

    la a0, msg_read
    call puts
    mv a0, s1
    call puthex8
    mv a0, s2
    call puthex8
    la a0, msg_ok
    call puts
    lw ra, 12(sp)
    addi sp, sp, 16
    ret

    .section .rodata
msg_read: .asciz "spi: read "
msg_ok:   .asciz "\nspi: ok\n"
