/* CLINT device test on virt32: mtime advances; a machine timer interrupt arrives after
 * mtimecmp is armed (the hart waits in wfi), with mcause 0x80000007; writing mtimecmp far
 * ahead lowers MTIP; msip raises a machine software interrupt (mcause 0x80000003) and
 * clearing it lowers MSIP. Prints "clint ok" and passes, or fails with the check number. */
#include "common.h"
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    la t0, trap
    csrw mtvec, t0
    li s0, CLINT_MTIME
    TEST(1)                          /* mtime moves */
    lw t1, 0(s0)
    li t2, 1000
1:  addi t2, t2, -1
    bnez t2, 1b
    lw t0, 0(s0)
    beq t0, t1, fail
    TEST(2)                          /* MTIP follows mtimecmp, interrupts off */
    li t0, CLINT_MTIMECMP
    sw zero, 4(t0)
    sw zero, 0(t0)
    csrr t1, mip
    andi t1, t1, 0x80
    CHECK(t1, 0x80)
    li t1, -1
    sw t1, 4(t0)
    csrr t1, mip
    andi t1, t1, 0x80
    CHECK(t1, 0)
    TEST(3)                          /* a timer interrupt 2000 ticks ahead, in wfi */
    lw t1, 0(s0)
    lw t2, 4(s0)
    li t3, 2000
    add t3, t1, t3
    sltu t1, t3, t1
    add t2, t2, t1
    li t0, CLINT_MTIMECMP
    sw t3, 0(t0)
    sw t2, 4(t0)
    li t0, 0x80
    csrw mie, t0
    /* Wait with mstatus.MIE clear: wfi wakes on the pending MTIP (enabled in mie) whatever
     * MIE says, and the trap is taken only when MIE is set after it. With MIE set before
     * the wfi, an interrupt that arrives first (the deadline passed while QEMU's vCPU
     * thread was descheduled) would be taken with mepc at the wfi, and the wfi after mret
     * would wait for an interrupt that never comes. */
2:  wfi
    csrsi mstatus, 8
    csrci mstatus, 8
    la t0, timer_hits
    lw t0, 0(t0)
    beqz t0, 2b
    CHECK(t0, 1)
    TEST(4)                          /* the handler saw mtime >= mtimecmp */
    la t0, late
    lw t0, 0(t0)
    CHECK(t0, 1)
    TEST(5)                          /* software interrupt */
    li t0, 0x08
    csrw mie, t0
    csrsi mstatus, 8
    li t0, CLINT
    li t1, 1
    sw t1, 0(t0)
    li t2, 1000
3:  la t0, soft_hits
    lw t0, 0(t0)
    bnez t0, 4f
    addi t2, t2, -1
    bnez t2, 3b
4:  CHECK(t0, 1)
    li t0, CLINT
    lw t1, 0(t0)
    CHECK(t1, 0)
    csrci mstatus, 8
    la a0, ok
    call puts
    PASS

    .align 2
trap:
    csrr t0, mcause
    li t1, 0x80000007
    beq t0, t1, timer
    li t1, 0x80000003
    beq t0, t1, soft
    j fail
timer:
    la t0, timer_hits
    lw t1, 0(t0)
    addi t1, t1, 1
    sw t1, 0(t0)
    /* mtime >= mtimecmp? (high words equal in practice; compare low words) */
    lw t1, 0(s0)
    li t0, CLINT_MTIMECMP
    lw t2, 0(t0)
    sltu t1, t1, t2
    xori t1, t1, 1
    la t0, late
    sw t1, 0(t0)
    li t0, CLINT_MTIMECMP
    li t1, -1
    sw t1, 4(t0)
    mret
soft:
    la t0, soft_hits
    lw t1, 0(t0)
    addi t1, t1, 1
    sw t1, 0(t0)
    li t0, CLINT
    sw zero, 0(t0)
    mret

FAIL_FN
PUTS_FN

    .section .rodata
ok: .asciz "clint ok\n"
    .section .bss
    .align 2
timer_hits: .word 0
soft_hits: .word 0
late: .word 0
