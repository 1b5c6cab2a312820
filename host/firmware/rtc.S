/* The Goldfish RTC at 0x101000 (PLIC source 11), as QEMU virt has it: the time reads as
 * nanoseconds since 1970 and is after 2024 (so it comes from the host's clock); TIME_HIGH
 * is latched by the TIME_LOW read; an alarm 2 ms ahead is armed (ALARM_STATUS 1), fires
 * (ALARM_STATUS 0) and raises source 11 at the PLIC; CLEAR_INTERRUPT lowers it. Prints
 * "rtc ok" and passes, or fails with the number of the failed check. */
#include "common.h"
#define RTC 0x101000
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    li s0, RTC
    TEST(1)                          /* after 2024-01-01: high word >= 0x17a2b800 / 2^32 */
    lw t1, 0(s0)
    lw t2, 4(s0)
    li t3, 0x17a2b7f2                /* (1704067200 * 10^9) >> 32 */
    bltu t2, t3, fail
    TEST(2)                          /* time moves on (QEMU's in microsteps: poll) */
    li t3, 10000000
1:  addi t3, t3, -1
    beqz t3, fail
    lw t4, 0(s0)
    lw t5, 4(s0)
    bne t5, t2, 1f
    beq t4, t1, 1b
1:  TEST(3)                          /* IRQ_ENABLED reads back; reset value 0 */
    lw t0, 0x10(s0)
    CHECK(t0, 0)
    li t0, 1
    sw t0, 0x10(s0)
    lw t0, 0x10(s0)
    CHECK(t0, 1)
    TEST(4)                          /* PLIC: source 11 priority 1, enabled for context 0 */
    li t0, PLIC
    li t1, 1
    sw t1, 4*11(t0)
    li t0, PLIC_ENABLE
    li t1, 1 << 11
    sw t1, 0(t0)
    li t0, PLIC_PENDING
    lw t1, 0(t0)
    srli t1, t1, 11
    andi t1, t1, 1
    CHECK(t1, 0)
    TEST(5)                          /* arm an alarm 2 ms ahead */
    lw t1, 0(s0)
    lw t2, 4(s0)
    li t3, 2000000
    add t4, t1, t3
    sltu t5, t4, t1
    add t2, t2, t5
    sw t2, 0x0c(s0)
    sw t4, 0x08(s0)
    lw t0, 0x18(s0)
    CHECK(t0, 1)
    lw t0, 0x08(s0)
    bne t0, t4, fail
    TEST(6)                          /* it fires: ALARM_STATUS drops, source 11 pends */
    li t3, 100000000
2:  addi t3, t3, -1
    beqz t3, fail
    li t0, PLIC_PENDING
    lw t1, 0(t0)
    srli t1, t1, 11
    andi t1, t1, 1
    beqz t1, 2b
    lw t0, 0x18(s0)
    CHECK(t0, 0)
    TEST(7)                          /* claim 11, clear the interrupt, complete */
    li t0, PLIC_CTX0
    lw t1, 4(t0)
    CHECK(t1, 11)
    li t2, 1
    sw t2, 0x1c(s0)
    sw t1, 4(t0)
    li t0, PLIC_PENDING
    lw t1, 0(t0)
    srli t1, t1, 11
    andi t1, t1, 1
    CHECK(t1, 0)
    TEST(8)                          /* an alarm in the past fires at once */
    sw zero, 0x0c(s0)
    sw zero, 0x08(s0)
    lw t0, 0x18(s0)
    CHECK(t0, 0)
    li t0, PLIC_PENDING
    lw t1, 0(t0)
    srli t1, t1, 11
    andi t1, t1, 1
    CHECK(t1, 1)
    la a0, msg
    call puts
    PASS
FAIL_FN
PUTS_FN
    .section .rodata
msg: .asciz "rtc ok\n"
