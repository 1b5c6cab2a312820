/* RV32C: every RV32 compressed integer instruction, written with its c. mnemonic so the
 * assembler must emit the 16-bit form, checked by its result; also 32-bit instructions at
 * 2-mod-4 addresses and one straddling a page boundary. */
#include "test.h"

TEST_BEGIN isa_rv32c
  c.li a0, 31
  CHECK a0, 31, 1
  c.li a0, -32
  CHECK a0, 0xffffffe0, 2
  c.lui a1, 0x1f
  CHECK a1, 0x1f000, 3
  c.lui a1, 0xfffe0
  CHECK a1, 0xfffe0000, 4
  c.li a1, 10
  c.addi a1, -11
  CHECK a1, 0xffffffff, 5
  c.addi a1, 31
  CHECK a1, 30, 6
  c.nop
  c.li a2, 1
  c.slli a2, 31
  CHECK a2, 0x80000000, 7
  c.li s0, -16
  c.srli s0, 2
  CHECK s0, 0x3ffffffc, 8
  c.li s0, -16
  c.srai s0, 2
  CHECK s0, 0xfffffffc, 9
  c.li s1, 0x1d
  c.andi s1, -4
  CHECK s1, 0x1c, 10
  c.li s1, 0x1f
  c.andi s1, 0x0a
  CHECK s1, 0x0a, 11
  c.li a3, 5
  c.mv a4, a3
  CHECK a4, 5, 12
  c.add a4, a3
  CHECK a4, 10, 13
  /* CA form: rd'/rs2' in x8..x15 */
  c.li a5, 12
  c.li a4, 5
  c.sub a5, a4
  CHECK a5, 7, 14
  c.li s0, 0x0c
  c.li s1, 0x0a
  c.xor s0, s1
  CHECK s0, 0x06, 15
  c.li s0, 0x0c
  c.or s0, s1
  CHECK s0, 0x0e, 16
  c.li s0, 0x0c
  c.and s0, s1
  CHECK s0, 0x08, 17

  /* stack-pointer forms */
  mv s1, sp
  c.addi16sp sp, -64
  addi a0, s1, -64
  CHECKR sp, a0, 18
  c.addi4spn a2, sp, 16
  addi a0, sp, 16
  CHECKR a2, a0, 19
  li a3, 0x13572468
  c.swsp a3, 8(sp)
  c.lwsp a4, 8(sp)
  CHECKR a4, a3, 20
  lw a0, 8(sp)
  CHECKR a0, a3, 21
  c.addi16sp sp, 64
  CHECKR sp, s1, 22

  /* register-based load/store */
  la s0, words
  c.lw a5, 4(s0)
  CHECK a5, 0xcafef00d, 23
  li a4, 0x0badbeef
  c.sw a4, 8(s0)
  lw a0, 8(s0)
  CHECK a0, 0x0badbeef, 24
  c.lw a3, 0(s0)
  CHECK a3, 0x01234567, 25

  /* control transfer */
  c.li a0, 0
  c.beqz a0, 1f
  FAIL 26
1:
  c.bnez a0, 2f
  c.j 3f
2:
  FAIL 27
3:
  c.li a0, 1
  c.bnez a0, 4f
  FAIL 28
4:
  c.beqz a0, 5f
  c.jal 6f
7:
  c.j 8f
5:
  FAIL 29
6:
  la a1, 7b
  CHECKR ra, a1, 30
  ret
8:
  la a1, 9f
  c.jalr a1
10:
  c.j 11f
9:
  la a2, 10b
  CHECKR ra, a2, 31
  c.jr ra
11:
  la a1, 12f
  c.jr a1
  FAIL 32
12:
  /* a 32-bit instruction at a 2-mod-4 address */
  .align 2
  c.li a0, 0
  addi a0, a0, 1000
  CHECK a0, 1000, 33
  /* a 32-bit instruction straddling a page boundary */
  c.li a0, 0
  j straddle
back:
  CHECK a0, 1234, 34
  TEST_PASS

  .balign 4096
  .skip 4094
straddle:
  addi a0, a0, 1234
  j back

  .data
  .align 4
words:
  .word 0x01234567, 0xcafef00d, 0
