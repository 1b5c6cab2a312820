/* The console under Linux's pattern of interrupts (issue 17, item 7): an M-mode firmware
 * that forwards the machine timer to S-mode as OpenSBI does without Sstc (the M timer
 * handler masks MTIE and sets mip.STIP with csrs; the set_timer ecall clears mip.STIP with
 * csrc), and an S-mode kernel that prints LINES lines through a transmit ring drained by
 * the UART's THR-empty interrupt, claimed and completed at the PLIC's S context as Linux's
 * 8250 driver does (IIR, LSR, up to 16 bytes per THRE, THRI off when the ring is empty),
 * with received-data and line-status interrupts enabled (the input side open, idle).
 * Between lines the kernel keeps sstatus.SIE off for a while with THRI on, so the UART's
 * SEIP is high when M-mode timer interrupts arrive and their csrs/csrc of mip run.
 * A csrs/csrc of mip must not latch the PLIC's SEIP into the software-writable bit (the
 * privileged spec: the read-modify-write uses only the software bit); if it does, SEIP
 * stays high after the PLIC has nothing left, every claim answers 0, and the kernel
 * traps forever: after MAX_SPURIOUS claims of nothing in a row the guest fails with code 3.
 * Prints the lines and "thre ok", and passes. */
#include "common.h"
#define IER_THRI    2
#define IER_RLS     4
#define PLIC_ENABLE_S (PLIC_ENABLE + 0x80)
#define PLIC_CTX_S  (PLIC_CTX0 + 0x1000)
#define LINES       300
#define PERIOD      400                /* mtime ticks (10 MHz) between timer interrupts */
#define WINDOW      3000               /* spins with SIE off and THRE pending, per line */
#define RING        512                /* transmit ring bytes (a power of two) */
#define LINE_MAX    64
#define LOADSZ      16                 /* bytes per THRE interrupt (a 16550A's FIFO) */
#define MAX_SPURIOUS 1000
#define MIP_STIP    (1 << 5)
#define MIP_MTIP    (1 << 7)
#define MIP_SEIP    (1 << 9)

    .section .text.init
    .globl _start
_start:
    la sp, stack_top
    la t0, m_stack_top
    csrw mscratch, t0
    la t0, m_trap
    csrw mtvec, t0
    li t0, -1                          /* one PMP entry opens everything to S */
    csrw pmpaddr0, t0
    li t0, 0x1f
    csrw pmpcfg0, t0
    li t0, CLINT_MTIMECMP              /* timer disarmed until the first set_timer */
    li t1, -1
    sw t1, 4(t0)
    sw t1, 0(t0)
    li t0, 0x222                       /* SSIP, STIP, SEIP go to S */
    csrw mideleg, t0
    li t0, MIP_MTIP | MIP_STIP | MIP_SEIP
    csrw mie, t0
    li t0, 0x1800                      /* mret to S */
    csrc mstatus, t0
    li t0, 0x0800
    csrs mstatus, t0
    la t0, s_start
    csrw mepc, t0
    mret

/* ---- M-mode: the firmware's timer forwarding, as OpenSBI's ---- */
    .balign 4
m_trap:
    csrrw sp, mscratch, sp
    addi sp, sp, -16
    sw t0, 0(sp)
    sw t1, 4(sp)
    csrr t0, mcause
    bltz t0, m_irq
    li t1, 9                           /* ecall from S: set_timer(a1:a0) */
    bne t0, t1, m_bad
    li t0, CLINT_MTIMECMP
    li t1, -1
    sw t1, 4(t0)
    sw a0, 0(t0)
    sw a1, 4(t0)
    li t0, MIP_STIP
    csrc mip, t0                       /* the S timer interrupt is served */
    li t0, MIP_MTIP
    csrs mie, t0
    csrr t0, mepc
    addi t0, t0, 4
    csrw mepc, t0
    j m_ret
m_irq:
    slli t0, t0, 1
    srli t0, t0, 1
    li t1, 7
    bne t0, t1, m_bad
    li t0, MIP_MTIP
    csrc mie, t0                       /* mask the M timer ... */
    li t0, MIP_STIP
    csrs mip, t0                       /* ... and pass it on to S */
m_ret:
    lw t0, 0(sp)
    lw t1, 4(sp)
    addi sp, sp, 16
    csrrw sp, mscratch, sp
    mret
m_bad:
    li a0, 2
    FAIL_A0

/* ---- S-mode: the kernel ---- */
s_start:
    la t0, s_trap
    csrw stvec, t0
    li t0, PLIC + 4 * UART_IRQ         /* source 10: priority 1, enabled at context 1 */
    li t1, 1
    sw t1, 0(t0)
    li t0, PLIC_ENABLE_S
    li t1, 1 << UART_IRQ
    sw t1, 0(t0)
    li t0, PLIC_CTX_S
    sw zero, 0(t0)
    li s0, UART
    li t0, 7                           /* FIFO on and cleared */
    sb t0, UART_FCR(s0)
    li t0, IER_RDA | IER_RLS           /* the input side: open, idle */
    la t1, ier
    sw t0, 0(t1)
    sb t0, UART_IER(s0)
    call arm_timer
    li t0, MIP_SEIP | MIP_STIP
    csrs sie, t0
    csrsi sstatus, 2
    li s1, 0                           /* line number */
line:
    la t0, head                        /* wait for room for a line */
    lw t1, 0(t0)
    la t0, tail
    lw t2, 0(t0)
    sub t1, t1, t2
    li t2, RING - LINE_MAX
    bleu t1, t2, 1f
    wfi
    j line
1:  csrci sstatus, 2                   /* the ring is shared with the interrupt */
    la a0, prefix
    call put_str
    mv a0, s1                          /* four digits */
    li t3, 1000
2:  divu a1, a0, t3
    remu a0, a0, t3
    addi a1, a1, '0'
    mv t4, a0
    mv a0, a1
    call put_byte
    mv a0, t4
    li t5, 10
    divu t3, t3, t5
    bnez t3, 2b
    la a0, text
    call put_str
    call start_tx
    li t0, WINDOW                      /* THRE pending, SIE off: timer traps land here */
3:  addi t0, t0, -1
    bnez t0, 3b
    csrsi sstatus, 2
    addi s1, s1, 1
    li t0, LINES
    bltu s1, t0, line
drain:
    la t0, ier                         /* until the interrupt has sent everything */
    lw t0, 0(t0)
    andi t0, t0, IER_THRI
    beqz t0, 4f
    wfi
    j drain
4:  csrci sstatus, 2
    sb zero, UART_IER(s0)
    la a0, ok
    call puts
    PASS

/* Appends the NUL-terminated string at a0 to the ring (SIE off; clobbers t0-t2, a0). */
put_str:
    mv t6, ra
1:  lbu t0, 0(a0)
    beqz t0, 2f
    la t1, head
    lw t2, 0(t1)
    andi t0, t2, RING - 1
    la t1, ring
    add t1, t1, t0
    lbu t0, 0(a0)
    sb t0, 0(t1)
    addi t2, t2, 1
    la t1, head
    sw t2, 0(t1)
    addi a0, a0, 1
    j 1b
2:  mv ra, t6
    ret

/* Appends the byte in a0 (SIE off; clobbers t0-t2). */
put_byte:
    la t1, head
    lw t2, 0(t1)
    andi t0, t2, RING - 1
    la t1, ring
    add t1, t1, t0
    sb a0, 0(t1)
    addi t2, t2, 1
    la t1, head
    sw t2, 0(t1)
    ret

/* Linux's serial8250_set_THRI: IER gets THRI if it has not (clobbers t0, t1). */
start_tx:
    la t0, ier
    lw t1, 0(t0)
    andi t0, t1, IER_THRI
    bnez t0, 1f
    ori t1, t1, IER_THRI
    la t0, ier
    sw t1, 0(t0)
    sb t1, UART_IER(s0)
1:  ret

/* set_timer(mtime + PERIOD) through the firmware (clobbers t0-t2, a0, a1). */
arm_timer:
    li t0, CLINT_MTIME
1:  lw a1, 4(t0)
    lw a0, 0(t0)
    lw t1, 4(t0)
    bne a1, t1, 1b
    li t1, PERIOD
    add t2, a0, t1
    sltu t1, t2, a0
    add a1, a1, t1
    mv a0, t2
    ecall
    ret

    .balign 4
s_trap:
    addi sp, sp, -64
    sw ra, 0(sp)
    sw t0, 4(sp)
    sw t1, 8(sp)
    sw t2, 12(sp)
    sw t3, 16(sp)
    sw t4, 20(sp)
    sw t5, 24(sp)
    sw t6, 28(sp)
    sw a0, 32(sp)
    sw a1, 36(sp)
    sw a2, 40(sp)
    csrr t0, scause
    bgez t0, s_bad
    slli t0, t0, 1
    srli t0, t0, 1
    li t1, 5
    beq t0, t1, s_timer
    li t1, 9
    bne t0, t1, s_bad
    li t0, PLIC_CTX_S                  /* plic_handle_irq */
    lw a2, 4(t0)
    bnez a2, claimed
    la t0, spurious                    /* a claim of nothing */
    lw t1, 0(t0)
    addi t1, t1, 1
    sw t1, 0(t0)
    li t2, MAX_SPURIOUS
    bltu t1, t2, s_ret
    la a0, storm
    call puts
    li a0, 3
    FAIL_A0
claimed:
    la t0, spurious
    sw zero, 0(t0)
    li t0, UART_IRQ
    bne a2, t0, s_bad
2:  lbu t0, UART_IIR(s0)               /* serial8250_interrupt: until IIR says none */
    andi t0, t0, 1
    bnez t0, 5f
    lbu t1, UART_LSR(s0)
3:  andi t0, t1, 1                     /* received bytes (none come): read and drop */
    beqz t0, 4f
    lbu t0, UART_RBR(s0)
    lbu t1, UART_LSR(s0)
    j 3b
4:  lbu t0, UART_MSR(s0)
    andi t0, t1, 0x20                  /* THRE with THRI on: serial8250_tx_chars */
    beqz t0, 2b
    la t0, ier
    lw t0, 0(t0)
    andi t0, t0, IER_THRI
    beqz t0, 2b
    call tx_chars
    j 2b
5:  li t0, PLIC_CTX_S                  /* complete */
    sw a2, 4(t0)
    j s_ret
s_timer:
    call arm_timer
s_ret:
    lw ra, 0(sp)
    lw t0, 4(sp)
    lw t1, 8(sp)
    lw t2, 12(sp)
    lw t3, 16(sp)
    lw t4, 20(sp)
    lw t5, 24(sp)
    lw t6, 28(sp)
    lw a0, 32(sp)
    lw a1, 36(sp)
    lw a2, 40(sp)
    addi sp, sp, 64
    sret
s_bad:
    li a0, 4
    FAIL_A0

/* Up to LOADSZ bytes from the ring to THR; THRI off once the ring is empty. */
tx_chars:
    li t3, LOADSZ
1:  la t0, tail
    lw t1, 0(t0)
    la t0, head
    lw t2, 0(t0)
    beq t1, t2, 2f
    andi t0, t1, RING - 1
    la t2, ring
    add t2, t2, t0
    lbu t0, 0(t2)
    sb t0, UART_THR(s0)
    addi t1, t1, 1
    la t0, tail
    sw t1, 0(t0)
    addi t3, t3, -1
    bnez t3, 1b
    la t0, tail                        /* the ring may have emptied on the last byte */
    lw t1, 0(t0)
    la t0, head
    lw t2, 0(t0)
    bne t1, t2, 3f
2:  la t0, ier                         /* __stop_tx */
    lw t1, 0(t0)
    andi t1, t1, ~IER_THRI
    sw t1, 0(t0)
    sb t1, UART_IER(s0)
3:  ret

PUTS_FN

    .section .rodata
prefix: .asciz "line "
text:   .asciz ": the quick brown fox jumps over the lazy dog\n"
ok:     .asciz "thre ok\n"
storm:  .asciz "\nthre: interrupt storm (SEIP high, nothing to claim)\n"

    .section .data
    .balign 4
head:     .word 0
tail:     .word 0
ier:      .word 0
spurious: .word 0

    .section .bss
    .balign 16
ring:     .space RING
          .space 1024
m_stack_top:
