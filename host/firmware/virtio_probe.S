/* The eight virtio-mmio slots of QEMU virt (0x10001000 + n * 0x1000), all empty: for each,
 * prints "slot n: MAGIC VERSION DEVICEID VENDOR STATUS BYTE" in hex (the magic read a byte at
 * a time: 0 on QEMU, whose registers want 4-byte accesses), writes 0xffffffff to Status and
 * QueueSel (ignored with no device) and reads them back into the line. Diffed against QEMU;
 * exits 0. */
#include "common.h"
#define VIRTIO      0x10001000
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    li s0, VIRTIO
    li s1, 0
slot:
    la a0, m_slot
    call puts
    addi a0, s1, '0'
    call putc
    li a0, ':'
    call putc
    lw a0, 0x000(s0)                 /* MagicValue */
    call hex
    lw a0, 0x004(s0)                 /* Version */
    call hex
    lw a0, 0x008(s0)                 /* DeviceID */
    call hex
    lw a0, 0x00c(s0)                 /* VendorID */
    call hex
    li t0, -1
    sw t0, 0x070(s0)                 /* Status: ignored without a device */
    sw t0, 0x030(s0)                 /* QueueSel */
    lw a0, 0x070(s0)
    call hex
    lw a0, 0x034(s0)                 /* QueueNumMax */
    call hex
    lbu a0, 0x000(s0)                /* a byte of MagicValue */
    call hex
    li a0, '\n'
    call putc
    li t0, 0x1000
    add s0, s0, t0
    addi s1, s1, 1
    li t0, 8
    bltu s1, t0, slot
    PASS

/* Prints " " and a0 as 8 hex digits (clobbers t0-t4, a0). */
hex:
    mv t3, a0
    li a0, ' '
    mv t4, ra
    call putc
    li t1, 28
1:  srl a0, t3, t1
    andi a0, a0, 15
    li t0, 10
    blt a0, t0, 2f
    addi a0, a0, 'a' - 10 - '0'
2:  addi a0, a0, '0'
    call putc
    addi t1, t1, -4
    bgez t1, 1b
    mv ra, t4
    ret

PUTS_FN
PUTC_FN

    .section .rodata
m_slot: .asciz "slot "
