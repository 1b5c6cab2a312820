/* Never finishes (for the runner's --max-insns test). */
    .section .text.init
    .globl _start
_start:
    j _start
