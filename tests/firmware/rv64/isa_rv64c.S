/* RV64C: the compressed instructions whose meaning changes at XLEN 64 or that exist only
 * there, written with their c. mnemonics so the assembler must emit the 16-bit forms:
 * C.LD/C.SD/C.LDSP/C.SDSP (doubleword, scaled 8-byte offsets), C.ADDIW/C.ADDW/C.SUBW
 * (sign-extended 32-bit results), C.LI/C.LUI sign extension to 64 bits, C.SLLI/C.SRLI/
 * C.SRAI with shift amounts 32..63, C.LW/C.LWSP sign extension, C.ADD/C.SUB on 64 bits. */
#include "test.h"

TEST_BEGIN isa_rv64c
  c.li a0, -32
  CHECK a0, -32, 1
  c.lui a1, 0xfffe0
  CHECK a1, 0xfffffffffffe0000, 2
  c.lui a1, 0x1f
  CHECK a1, 0x1f000, 3
  /* shifts by 32..63 */
  c.li a2, 1
  c.slli a2, 63
  CHECK a2, 0x8000000000000000, 4
  c.li a2, 3
  c.slli a2, 32
  CHECK a2, 0x300000000, 5
  c.li s0, -16
  c.srli s0, 34
  CHECK s0, 0x3fffffff, 6
  c.li s0, -16
  c.srai s0, 33
  CHECK s0, -1, 7
  li s0, 0x4000000000000000
  c.srai s0, 62
  CHECK s0, 1, 8
  /* C.ADDIW: 32-bit add, sign-extended; C.ADDIW rd, 0 is sext.w */
  li a3, 0x7fffffff
  c.addiw a3, 1
  CHECK a3, 0xffffffff80000000, 0x10
  li a3, 0x123456789
  c.addiw a3, 0
  CHECK a3, 0x23456789, 0x11
  li a3, 0xffffffff
  c.addiw a3, 1
  CHECK a3, 0, 0x12
  li a3, 0x100000000
  c.addiw a3, -1
  CHECK a3, -1, 0x13
  /* C.ADDW / C.SUBW */
  li s0, 0x7fffffff
  li s1, 0x100000001
  c.addw s0, s1
  CHECK s0, 0xffffffff80000000, 0x14
  li s0, 0x100000000
  li s1, 1
  c.subw s0, s1
  CHECK s0, -1, 0x15
  li s0, 0x80000000
  c.subw s0, s1
  CHECK s0, 0x7fffffff, 0x16
  /* C.ADD / C.SUB / C.AND / C.OR / C.XOR / C.MV on 64 bits */
  li a4, 0xffffffff
  li a5, 1
  c.add a4, a5
  CHECK a4, 0x100000000, 0x18
  li s0, 0
  li s1, 1
  c.sub s0, s1
  CHECK s0, -1, 0x19
  li s1, 0xf0f0f0f00f0f0f0f
  c.xor s0, s1
  CHECK s0, 0x0f0f0f0ff0f0f0f0, 0x1a
  c.or s0, s1
  CHECK s0, -1, 0x1b
  c.and s0, s1
  CHECK s0, 0xf0f0f0f00f0f0f0f, 0x1c
  c.mv a4, s0
  CHECK a4, 0xf0f0f0f00f0f0f0f, 0x1d
  c.andi s0, -16
  CHECK s0, 0xf0f0f0f00f0f0f00, 0x1e

  /* C.LD / C.SD: offsets are multiples of 8 up to 248 */
  la s0, data
  c.ld a0, 0(s0)
  CHECK a0, 0x8877665544332211, 0x20
  c.ld a1, 248(s0)
  CHECK a1, 0x0102030405060708, 0x21
  c.sd a0, 8(s0)
  ld a2, 8(s0)
  CHECKR a2, a0, 0x22
  c.lw a3, 4(s0)
  CHECK a3, 0xffffffff88776655, 0x23
  c.sw a3, 16(s0)
  ld a2, 16(s0)
  CHECK a2, 0x88776655, 0x24
  /* C.LDSP / C.SDSP: offsets up to 504 from sp */
  mv s1, sp
  la sp, data
  c.ldsp a4, 0(sp)
  CHECK a4, 0x8877665544332211, 0x28
  c.ldsp a5, 504(sp)
  CHECK a5, 0x1112131415161718, 0x29
  c.sdsp a4, 496(sp)
  ld a2, 496(sp)
  CHECKR a2, a4, 0x2a
  c.lwsp a2, 4(sp)
  CHECK a2, 0xffffffff88776655, 0x2b
  c.swsp a2, 24(sp)
  lwu a2, 24(sp)
  CHECK a2, 0x88776655, 0x2c
  c.ldsp ra, 0(sp)
  CHECK ra, 0x8877665544332211, 0x2d
  c.addi16sp sp, -496
  c.addi16sp sp, 496
  la a2, data
  CHECKR sp, a2, 0x2e
  c.addi4spn a2, sp, 1020
  la a3, data + 1020
  CHECKR a2, a3, 0x2f
  mv sp, s1

  /* C.J / C.JR / C.JALR with 64-bit addresses (C.JAL is C.ADDIW on RV64) */
  la a0, 1f
  c.jalr a0
  c.j fail_j
1:
  la a1, 1b - 2
  CHECKR ra, a1, 0x30
  la a0, 2f
  c.jr a0
  c.j fail_j
2:
  c.li a0, 0
  c.beqz a0, 3f
  c.j fail_j
3:
  li a0, 0x100000000       /* a nonzero doubleword with a zero low word */
  c.bnez a0, 4f
  c.j fail_j
4:
  TEST_PASS
fail_j:
  FAIL 0x3f

  .data
  .align 3
data:
  .8byte 0x8877665544332211
  .fill 30, 8, 0
  .8byte 0x0102030405060708     /* data + 248 */
  .fill 31, 8, 0
  .8byte 0x1112131415161718     /* data + 504 */
  .8byte 0
