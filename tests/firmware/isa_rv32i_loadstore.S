/* RV32I loads (sign and zero extension, offsets) and stores (byte lanes, little-endian). */
#include "test.h"
  .option norvc

TEST_BEGIN isa_rv32i_loadstore
  la t0, buf
  lb a0, 0(t0)
  CHECK a0, 0xffffffff, 1
  lbu a0, 0(t0)
  CHECK a0, 0xff, 2
  lb a0, 1(t0)
  CHECK a0, 0xfffffff0, 3
  lb a0, 2(t0)
  CHECK a0, 0xffffff81, 4
  lh a0, 0(t0)
  CHECK a0, 0xfffff0ff, 5
  lhu a0, 0(t0)
  CHECK a0, 0xf0ff, 6
  lh a0, 2(t0)
  CHECK a0, 0xffff8281, 7
  lhu a0, 2(t0)
  CHECK a0, 0x8281, 8
  lw a0, 0(t0)
  CHECK a0, 0x8281f0ff, 9
  lb a0, 4(t0)
  CHECK a0, 0xffffff80, 10
  lb a0, 5(t0)
  CHECK a0, 0x7e, 11
  lh a0, 6(t0)
  CHECK a0, 0x7f01, 12
  lbu a0, 7(t0)
  CHECK a0, 0x7f, 13
  la t1, buf + 8
  lw a0, -4(t1)
  CHECK a0, 0x7f017e80, 14
  lh a0, -8(t1)
  CHECK a0, 0xfffff0ff, 15

  /* stores */
  la t0, scratch
  sw zero, 0(t0)
  sw zero, 4(t0)
  li a1, 0x123456ab
  sb a1, 1(t0)
  lw a0, 0(t0)
  CHECK a0, 0x0000ab00, 16
  sh a1, 2(t0)
  lw a0, 0(t0)
  CHECK a0, 0x56abab00, 17
  sb a1, 0(t0)
  lw a0, 0(t0)
  CHECK a0, 0x56ababab, 18
  sw a1, 4(t0)
  lbu a0, 4(t0)
  CHECK a0, 0xab, 19
  lbu a0, 7(t0)
  CHECK a0, 0x12, 20
  lhu a0, 6(t0)
  CHECK a0, 0x1234, 21
  la t1, scratch + 16
  li a1, -2
  sw a1, -8(t1)
  lw a0, 8(t0)
  CHECK a0, 0xfffffffe, 22
  sh zero, -6(t1)
  lw a0, 8(t0)
  CHECK a0, 0x0000fffe, 23
  /* neighbours untouched */
  lw a0, 4(t0)
  CHECK a0, 0x123456ab, 24
  lw a0, 12(t0)
  CHECK a0, 0, 25
  /* load into x0 has no effect */
  lw zero, 4(t0)
  CHECK zero, 0, 26
  TEST_PASS

  .data
  .align 4
buf:
  .word 0x8281f0ff, 0x7f017e80
  .bss
  .align 4
scratch:
  .space 16
