/* A guest in the shape of a RISC-V Linux `Image`: the 64-byte header (code0 jumps over
 * it; magic "RISCV\0\0\0" at 48, magic2 "RSC\x05" at 56) and then code that prints
 * "image ok, hart H" and powers off. Loaded as raw bytes (build.sh makes image.bin) it is
 * recognised by its header, whatever the file's name. */
#include "common.h"
    .section .text.init
    .globl _start
_start:
    j start                          /* code0 */
    .balign 4
    .word 0                          /* code1 */
    .dword 0                         /* text_offset */
    .dword 0x10000                   /* image_size */
    .dword 0                         /* flags */
    .word 2                          /* version 0.2 */
    .word 0                          /* res1 */
    .dword 0                         /* res2 */
    .ascii "RISCV\0\0\0"             /* magic (deprecated) */
    .ascii "RSC\x05"                 /* magic2 */
    .word 0                          /* res3 */
start:
    la sp, stack_top
    mv s0, a0
    la a0, msg
    call puts
    addi a0, s0, '0'
    call putc
    li a0, '\n'
    call putc
    PASS
PUTS_FN
PUTC_FN
    .section .rodata
msg: .asciz "image ok, hart "
