/* The boot ROM as QEMU virt has it, seen from firmware (run as -bios, with a -kernel):
 * prints a0 (hart), a1 (device tree), a2 (OpenSBI's fw_dynamic_info) and the six words at
 * a2 (magic "OSBI", version 2, the kernel's entry, S mode, options, boot hart); then, on
 * the first pass, jumps to the reset vector at 0x1000, which must come back here with the
 * same registers; the second pass powers off. The pass count is in RAM no image covers. */
#include "common.h"
#define PASS_WORD 0x81000000
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    mv s0, a0
    mv s1, a1
    mv s2, a2
    bnez s0, park
    la a0, msg_regs
    call puts
    mv a0, s0
    call puthex
    mv a0, s1
    call puthex
    mv a0, s2
    call puthex
    li a0, '\n'
    call putc
    la a0, msg_info
    call puts
    li s3, 0
1:  slli t0, s3, 2
    add t0, t0, s2
    lw a0, 0(t0)
    call puthex
    addi s3, s3, 1
    li t0, 6
    blt s3, t0, 1b
    li a0, '\n'
    call putc
    li t0, PASS_WORD
    lw t1, 0(t0)
    bnez t1, done
    li t1, 1
    sw t1, 0(t0)
    li a0, 0                       /* the reset vector sets them again */
    li a1, 0
    li a2, 0
    li t0, 0x1000
    jr t0
done:
    PASS
park:
    wfi
    j park

/* Prints a0 as " 0x%08x" (clobbers t0-t4, a0). */
puthex:
    mv t3, a0
    mv t4, ra
    li a0, ' '
    call putc
    li a0, '0'
    call putc
    li a0, 'x'
    call putc
    li t1, 28
2:  srl a0, t3, t1
    andi a0, a0, 15
    li t0, 10
    blt a0, t0, 3f
    addi a0, a0, 'a' - 10 - '0'
3:  addi a0, a0, '0'
    call putc
    addi t1, t1, -4
    bgez t1, 2b
    mv ra, t4
    ret

PUTS_FN
PUTC_FN
    .section .rodata
msg_regs: .asciz "a0 a1 a2:"
msg_info: .asciz "fw_dynamic_info:"
