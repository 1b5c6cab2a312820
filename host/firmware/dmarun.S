/* DMA driver firmware for host-driven tests (Fief only). Hart 0 runs `rounds` DMA
 * transfers of the descriptor chain whose address the host put in the mailbox at
 * 0x80100000, each started on channel 0 and waited for through the PLIC (done: source 12,
 * error: 13); it records the claimed source, STATUS and BYTES of each round in the mailbox,
 * and with `verify` set it requires STATUS = done, compares the first descriptor's source
 * and destination byte by byte, and clears the destination for the next round. Other
 * harts run a CPU workload (fill and check a private page) until the finisher stops them.
 * Mailbox: +0 descriptor, +4 rounds, +8 verify, +12 last claim, +16 last STATUS,
 * +20 last BYTES, +24 rounds done. */
#include "common.h"
#define DMA         0x10200000
#define MBOX        0x80100000
#define WORK        0x80200000
#define MEIP(reg) csrr reg, mip; srli reg, reg, 11; andi reg, reg, 1
    .section .text.init
    .globl _start
_start:
    csrr a0, mhartid
    bnez a0, worker
    li s0, DMA
    li s1, PLIC
    li s2, PLIC_CTX0
    li s3, MBOX
    li t1, 1
    sw t1, 4 * 12(s1)
    sw t1, 4 * 13(s1)
    li t0, PLIC_ENABLE
    li t1, (1 << 12) | (1 << 13)
    sw t1, 0(t0)
    sw zero, 0(s2)
    li t1, 1 << 11
    csrw mie, t1
    li t1, 0x00010001                    /* channel 0's interrupts only */
    sw t1, 12(s0)
    lw s4, 4(s3)                         /* rounds */
round:
    beqz s4, done
    lw t1, 0(s3)
    sw t1, 0x100(s0)                     /* DESC */
    li t1, 1
    sw t1, 0x108(s0)                     /* START */
1:  MEIP(t1)
    bnez t1, 2f
    wfi
    j 1b
2:  lw t2, 4(s2)                         /* claim */
    sw t2, 12(s3)
    lw t3, 0x10c(s0)
    sw t3, 16(s3)
    lw t4, 0x110(s0)
    sw t4, 20(s3)
    li t1, -1
    sw t1, 8(s0)                         /* clear every interrupt status bit */
    sw t2, 4(s2)                         /* complete */
    lw t1, 8(s3)
    beqz t1, next
    TEST(1)
    CHECK(t3, 2)
    TEST(2)
    lw t0, 0(s3)                         /* first descriptor: src, dst, len */
    lw a1, 0(t0)
    lw a2, 8(t0)
    lw a3, 24(t0)
    mv a4, a2
    mv a5, a3
3:  beqz a3, 4f
    lbu t5, 0(a1)
    lbu t6, 0(a2)
    bne t5, t6, fail
    sb zero, 0(a2)
    addi a1, a1, 1
    addi a2, a2, 1
    addi a3, a3, -1
    j 3b
4:
next:
    lw t1, 24(s3)
    addi t1, t1, 1
    sw t1, 24(s3)
    addi s4, s4, -1
    j round
done:
    PASS

worker:                                  /* hart a0 > 0: fill and check a private page */
    li s0, WORK
    slli t0, a0, 12
    add s0, s0, t0
    slli s1, a0, 24
    li s2, 0
5:  li t1, 0
6:  slli t2, t1, 2
    add t2, s0, t2
    add t3, s1, s2
    add t3, t3, t1
    sw t3, 0(t2)
    addi t1, t1, 1
    li t4, 1024
    bne t1, t4, 6b
    li t1, 0
7:  slli t2, t1, 2
    add t2, s0, t2
    lw t5, 0(t2)
    add t3, s1, s2
    add t3, t3, t1
    bne t5, t3, wfail
    addi t1, t1, 1
    li t4, 1024
    bne t1, t4, 7b
    addi s2, s2, 1
    j 5b
wfail:
    addi a0, a0, 100
    FAIL_A0

FAIL_FN
