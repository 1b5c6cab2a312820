/* virt64 with RAM past 4 GiB (run with -m 6G, -bios none): prints the hart id and the
 * device tree's address the boot protocol passed (a0, a1, as 64-bit hex), writes a
 * doubleword at 4 GiB + 0x1000 past a scratch word and at the last doubleword of 6 GiB of
 * RAM, reads them back, and checks the scratch word 4 GiB below was not touched (no
 * truncation to 32 bits). Passes through the finisher; fails with the check's number. */
#include "../common.h"

.section .text.init
.globl _start
_start:
  la sp, stack_top
  mv s0, a0
  mv s1, a1
  la a0, hello
  call puts
  mv a0, s0
  call puthex
  la a0, dtb
  call puts
  mv a0, s1
  call puthex
  li a0, '\n'
  call putc

  TEST(1)
  la s2, scratch
  sd zero, 0(s2)
  li t3, 1
  slli t3, t3, 32
  add s3, s2, t3            /* scratch + 4 GiB */
  li s4, 0x0123456789abcdef
  sd s4, 0(s3)
  ld t4, 0(s3)
  bne t4, s4, fail
  TEST(2)
  ld t4, 0(s2)
  bnez t4, fail
  TEST(3)
  li s5, 0x1fffffff8        /* the last doubleword of 6 GiB from 0x80000000 */
  not s6, s4
  sd s6, 0(s5)
  ld t4, 0(s5)
  bne t4, s6, fail
  TEST(4)
  ld t4, 0(s3)
  bne t4, s4, fail
  la a0, ok
  call puts
  PASS

/* Prints a0 as 16 hex digits (clobbers t0-t3, a0-a2). */
puthex:
  mv a1, a0
  li a2, 60
  mv t3, ra
1:
  srl a0, a1, a2
  andi a0, a0, 15
  addi a0, a0, '0'
  li t1, '9'
  ble a0, t1, 2f
  addi a0, a0, 'a' - '9' - 1
2:
  call putc
  addi a2, a2, -4
  bgez a2, 1b
  mv ra, t3
  ret

PUTS_FN
PUTC_FN
FAIL_FN

.section .rodata
hello: .string "virt64: hart "
dtb: .string ", device tree at "
ok: .string "virt64: RAM past 4 GiB ok\n"

.data
.balign 8
scratch: .dword 0
