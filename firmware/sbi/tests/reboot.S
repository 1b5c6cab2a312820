/* SRST reboot: the first boot asks for a cold reboot; the machine resets, the firmware runs
 * again (its lottery and hart states start afresh) and the second boot powers off. RAM
 * outside the images keeps its contents across the reset (QEMU and Fief), which tells the
 * boots apart. */
#include "sbi.h"
#define MARK 0x80800000

  .section .text.init
  .globl _start
_start:
  la sp, stack_top
  li s0, MARK
  lw t0, 0(s0)
  li t1, 0x5eb007
  beq t0, t1, second
  sw t1, 0(s0)
  SAY "first boot: asking for a cold reboot"
  li a0, 1; li a1, 0; SBI EID_SRST, 0
  SAYV "reboot returned: ", a0
  li a0, 0; li a1, 1; SBI EID_SRST, 0
1: j 1b
second:
  sw zero, 0(s0)
  SAY "second boot: powering off"
  li a0, 0; li a1, 0; SBI EID_SRST, 0
1: j 1b

PRINT_FNS
