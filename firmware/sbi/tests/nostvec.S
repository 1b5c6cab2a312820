/* A next stage that faults before it sets stvec: the firmware must say so and power off
 * with a failure code, not loop on a zero trap vector. */
  .section .text.init
  .globl _start
_start:
  unimp
