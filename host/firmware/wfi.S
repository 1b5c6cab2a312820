/* Waits in wfi forever with every interrupt disabled (for the runner's --max-insns test:
 * waiting counts toward the limit). */
    .section .text.init
    .globl _start
_start:
    csrw mie, zero
1:  wfi
    j 1b
