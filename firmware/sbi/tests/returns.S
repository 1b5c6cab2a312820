/* A next stage that returns to its caller: the firmware must say so and power off with a
 * failure code, not hang. */
  .section .text.init
  .globl _start
_start:
  ret
