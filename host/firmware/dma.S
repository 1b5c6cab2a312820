/* DMA engine device test on virt32 (fief,dma-1.0 at 0x10200000, done on PLIC source 12,
 * error on 13): a mem-to-mem descriptor chain across chunk boundaries with the completion
 * interrupt claimed through the PLIC, status and byte count, every byte compared; an abort
 * of an endless chain (a descriptor whose next is itself); a source at an unmapped address
 * (error status, error address, error interrupt); a destination and a source in the
 * engine's own registers (the re-entrancy guard: access error); a descriptor that cannot be
 * fetched. The final "dma ok" line is printed by the engine itself (memory to the UART's
 * THR, a fixed destination). Fief only: QEMU's virt has no such device. */
#include "common.h"
#define DMA         0x10200000
#define DMA_ID      0x000
#define DMA_INTST   0x008
#define DMA_INTEN   0x00c
#define CH(c)       (0x100 + 0x40 * (c))
#define DESC        0x00
#define CONTROL     0x08
#define STATUS      0x0c
#define BYTES       0x10
#define ERRADDR     0x18
#define DONE_IRQ    12
#define ERR_IRQ     13
#define F_IRQ       1
#define F_LAST      2
#define F_DSTFIX    4
#define S_BUSY      1
#define S_DONE      2
#define S_ERROR     3
#define S_ABORTED   4
#define E_FETCH     1
#define E_UNASSIGNED 2
#define E_ACCESS    6
#define MEIP(reg) csrr reg, mip; srli reg, reg, 11; andi reg, reg, 1
/* Starts channel c at descriptor label d. */
#define START(c, d) la t1, d; sw t1, CH(c) + DESC(s0); li t1, 1; sw t1, CH(c) + CONTROL(s0)
/* Sleeps until MEIP (interrupts globally off, MEIE on: wfi wakes). */
#define WAIT_MEIP 1: MEIP(t1); bnez t1, 2f; wfi; j 1b; 2:
/* Spins until channel c is not busy; its STATUS in reg. */
#define WAIT_IDLE(c, reg) 1: lw reg, CH(c) + STATUS(s0); li t6, S_BUSY; beq reg, t6, 1b
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    li s0, DMA
    li s1, PLIC
    li s2, PLIC_CTX0
    TEST(1)                              /* identification */
    lw t1, DMA_ID(s0)
    CHECK(t1, 0x414d4446)
    lw t1, 4(s0)
    CHECK(t1, 4)
    li t1, 1                             /* PLIC: sources 12 and 13, priority 1, ctx 0 */
    sw t1, 4 * DONE_IRQ(s1)
    sw t1, 4 * ERR_IRQ(s1)
    li t0, PLIC_ENABLE
    li t1, (1 << DONE_IRQ) | (1 << ERR_IRQ)
    sw t1, 0(t0)
    sw zero, 0(s2)
    li t1, 1 << 11                       /* MEIE, with mstatus.MIE off */
    csrw mie, t1
    li t1, 0x000f000f
    sw t1, DMA_INTEN(s0)
    la t0, srcbuf                        /* srcbuf[i] = i * 7 + 3 */
    li t1, 0
    li t2, 8192
1:  slli t3, t1, 3
    sub t3, t3, t1
    addi t3, t3, 3
    add t4, t0, t1
    sb t3, 0(t4)
    addi t1, t1, 1
    bne t1, t2, 1b

    TEST(2)                              /* a chain of two, 5000 + 3192 bytes, IRQ at the end */
    START(0, chain0)
    WAIT_MEIP
    lw t1, 4(s2)                         /* claim */
    CHECK(t1, DONE_IRQ)
    TEST(3)
    lw t1, CH(0) + STATUS(s0)
    CHECK(t1, S_DONE)
    lw t1, CH(0) + BYTES(s0)
    CHECK(t1, 8192)
    lw t1, DMA_INTST(s0)
    CHECK(t1, 1)
    TEST(4)                              /* every byte */
    la t0, srcbuf
    la t2, dstbuf
    li t3, 8192
1:  lbu t4, 0(t0)
    lbu t5, 0(t2)
    bne t4, t5, fail
    addi t0, t0, 1
    addi t2, t2, 1
    addi t3, t3, -1
    bnez t3, 1b
    TEST(5)                              /* acknowledge: the line drops */
    li t1, 1
    sw t1, DMA_INTST(s0)
    li t1, DONE_IRQ
    sw t1, 4(s2)
    MEIP(t1)
    CHECK(t1, 0)

    TEST(6)                              /* abort an endless chain after 16 KiB */
    START(2, endless)
1:  lw t1, CH(2) + BYTES(s0)
    li t2, 16384
    bltu t1, t2, 1b
    li t1, 2
    sw t1, CH(2) + CONTROL(s0)
    WAIT_IDLE(2, t1)
    CHECK(t1, S_ABORTED)
    lw t1, DMA_INTST(s0)                 /* no interrupt for an abort */
    CHECK(t1, 0)

    TEST(7)                              /* unmapped source: error + error interrupt */
    START(0, unmapped)
    WAIT_MEIP
    lw t1, 4(s2)
    CHECK(t1, ERR_IRQ)
    lw t1, CH(0) + STATUS(s0)
    CHECK(t1, S_ERROR | E_UNASSIGNED << 8)
    lw t1, CH(0) + ERRADDR(s0)
    CHECK(t1, 0x60000000)
    lw t1, CH(0) + BYTES(s0)
    CHECK(t1, 0)
    lw t1, DMA_INTST(s0)
    CHECK(t1, 1 << 16)
    li t1, 1 << 16
    sw t1, DMA_INTST(s0)
    li t1, ERR_IRQ
    sw t1, 4(s2)
    MEIP(t1)
    CHECK(t1, 0)

    TEST(8)                              /* destination = the engine's own registers */
    START(1, reentrant_dst)
    WAIT_MEIP
    lw t1, 4(s2)
    CHECK(t1, ERR_IRQ)
    lw t1, CH(1) + STATUS(s0)
    CHECK(t1, S_ERROR | E_ACCESS << 8)
    la t2, unmapped                      /* channel 0's DESC was not overwritten */
    lw t1, CH(0) + DESC(s0)
    bne t1, t2, fail
    li t1, 1 << 17
    sw t1, DMA_INTST(s0)
    li t1, ERR_IRQ
    sw t1, 4(s2)

    TEST(9)                              /* source = the engine's own registers */
    START(3, reentrant_src)
    WAIT_IDLE(3, t1)
    CHECK(t1, S_ERROR | E_ACCESS << 8)
    lw t1, DMA_INTST(s0)
    CHECK(t1, 1 << 19)
    li t1, 1 << 19
    sw t1, DMA_INTST(s0)
    li t1, ERR_IRQ
    lw t2, 4(s2)                         /* claim and complete the pending error */
    CHECK(t2, ERR_IRQ)
    sw t1, 4(s2)

    TEST(10)                             /* a descriptor that cannot be fetched */
    li t1, 0x60000000
    sw t1, CH(1) + DESC(s0)
    li t1, 1
    sw t1, CH(1) + CONTROL(s0)
    WAIT_IDLE(1, t1)
    CHECK(t1, S_ERROR | E_FETCH << 8)
    lw t1, CH(1) + ERRADDR(s0)
    CHECK(t1, 0x60000000)
    li t1, 1 << 17
    sw t1, DMA_INTST(s0)
    lw t2, 4(s2)
    CHECK(t2, ERR_IRQ)
    li t1, ERR_IRQ
    sw t1, 4(s2)
    MEIP(t1)
    CHECK(t1, 0)

    TEST(11)                             /* memory to device: the engine prints */
    START(0, print)
    WAIT_IDLE(0, t1)
    CHECK(t1, S_DONE)
    lw t1, CH(0) + BYTES(s0)
    CHECK(t1, 7)
    PASS

FAIL_FN

    .section .data
    .balign 8
chain0:      .word srcbuf, 0, dstbuf, 0, chain1, 0, 5000, 0
chain1:      .word srcbuf + 5000, 0, dstbuf + 5000, 0, 0, 0, 3192, F_IRQ | F_LAST
endless:     .word srcbuf, 0, dstbuf2, 0, endless, 0, 4096, 0
unmapped:    .word 0x60000000, 0, dstbuf2, 0, 0, 0, 64, F_IRQ | F_LAST
reentrant_dst: .word srcbuf, 0, DMA + CH(0) + DESC, 0, 0, 0, 4, F_LAST
reentrant_src: .word DMA, 0, dstbuf2, 0, 0, 0, 4, F_LAST
print:       .word ok, 0, UART + UART_THR, 0, 0, 0, 7, F_DSTFIX | F_LAST
ok:          .ascii "dma ok\n"

    .section .bss
    .balign 16
srcbuf:  .space 8192
dstbuf:  .space 8192
dstbuf2: .space 8192
