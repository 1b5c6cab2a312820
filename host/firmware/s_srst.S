/* SBI system reset from S mode, as a kernel's `reboot` and `poweroff` make it: entered by
 * the firmware (-bios) at 0x80400000, it prints "srst boot N" through the legacy SBI
 * console, N counted in a RAM word outside every image (kept across a reset, as on QEMU),
 * asks for a cold reboot (SRST type 1) twice, then a shutdown (type 0): exit status 0.
 * The firmware's SRST writes the test device's reset and power-off values. */
#define COUNTER 0x81000000
#define EID_SRST 0x53525354
    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    bnez a0, park                  /* hart 0 only */
    la a0, msg
    call puts
    li s0, COUNTER
    lw s1, 0(s0)
    addi a0, s1, '0'
    call putc
    li a0, '\n'
    call putc
    li t0, 2
    bge s1, t0, shutdown
    addi s1, s1, 1
    sw s1, 0(s0)
    li a0, 1                       /* cold reboot */
    li a1, 0
    li a6, 0
    li a7, EID_SRST
    ecall
    j fail
shutdown:
    li a0, 0                       /* shutdown */
    li a1, 0
    li a6, 0
    li a7, EID_SRST
    ecall
fail:
    la a0, msg_fail
    call puts
park:
    wfi
    j park

/* Prints the NUL-terminated string at a0 (legacy console putchar, EID 1). */
puts:
    mv t1, a0
1:  lbu a0, 0(t1)
    beqz a0, 2f
    li a7, 1
    ecall
    addi t1, t1, 1
    j 1b
2:  ret
putc:
    li a7, 1
    ecall
    ret

    .section .rodata
msg:      .asciz "srst boot "
msg_fail: .asciz "SRST returned\n"
