/* For the gdb stub's tests: runs in S-mode under Sv32 at virtual addresses, incrementing a
 * counter forever. One megapage maps VA 0xc0000000 to RAM at 0x80000000 (read, write,
 * execute); nothing else is mapped, so physical addresses are not reachable through the
 * translation. Fixed places: the loop at 0x80 (its store at 0x90), the counter at 0x100. */
    .option norvc
    .section .text.init
    .globl _start
_start:
    li t0, -1
    csrw pmpaddr0, t0
    li t0, 0x1f                 /* NAPOT, R, W, X: S may access memory */
    csrw pmpcfg0, t0
    lla t0, root
    li t1, (0x80000000 >> 2) | 0xcf   /* V R W X A D */
    li t2, 0x300 * 4            /* root[vpn1 of 0xc0000000] */
    add t2, t2, t0
    sw t1, 0(t2)
    srli t0, t0, 12
    li t1, 0x80000000
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x0800               /* MPP = S */
    csrs mstatus, t0
    li t0, 0xc0000080
    csrw mepc, t0
    mret

    .org 0x80
s_loop:
    lla t0, counter             /* pc-relative: a virtual address */
1:
    lw t1, 0(t0)
    addi t1, t1, 1
    sw t1, 0(t0)                /* at 0x90 */
    j 1b

    .org 0x100
counter:
    .word 0x5a5a0000

    .bss
    .balign 4096
root:
    .space 4096
