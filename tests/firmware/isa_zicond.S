/* Zicond (czero.eqz, czero.nez), Fief only: QEMU 7.2 does not have Zicond (it came in
 * QEMU 8.1), so this image is not diffed against QEMU; tests/tests/zicond.rs runs it on
 * Fief alone. Expected values from the Zicond 1.0 specification: czero.eqz rd, rs1, rs2
 * writes 0 if rs2 == 0, else rs1; czero.nez writes 0 if rs2 != 0, else rs1. binutils 2.40
 * does not know the mnemonics: they are written with .insn r. */
#include "test.h"
  .option norvc

/* czero.eqz rd, rs1, rs2 = OP, funct3 5, funct7 7; czero.nez: funct3 7. */
.macro CZERO_EQZ rd, rs1, rs2
  .insn r 0x33, 5, 7, \rd, \rs1, \rs2
.endm
.macro CZERO_NEZ rd, rs1, rs2
  .insn r 0x33, 7, 7, \rd, \rs1, \rs2
.endm

TEST_BEGIN isa_zicond
  li a1, 0x1234
  li a2, 0
  li a3, -1
  CZERO_EQZ a0, a1, a2
  CHECK a0, 0, 1
  CZERO_EQZ a0, a1, a3
  CHECK a0, 0x1234, 2
  CZERO_NEZ a0, a1, a2
  CHECK a0, 0x1234, 3
  CZERO_NEZ a0, a1, a3
  CHECK a0, 0, 4
  /* any nonzero bit of rs2 counts, the top one too */
  li a3, 1
  slli a3, a3, __riscv_xlen - 1
  CZERO_EQZ a0, a1, a3
  CHECK a0, 0x1234, 5
  CZERO_NEZ a0, a1, a3
  CHECK a0, 0, 6
  /* rs2 = x0: eqz always zero, nez always rs1 */
  CZERO_EQZ a0, a1, x0
  CHECK a0, 0, 7
  CZERO_NEZ a0, a1, x0
  CHECK a0, 0x1234, 8
  /* rd aliasing: the select idiom (a1 if a2 != 0 else a4) */
  li a2, 9
  li a4, 0x55
  CZERO_EQZ a5, a1, a2
  CZERO_NEZ a4, a4, a2
  or a0, a5, a4
  CHECK a0, 0x1234, 9
  li a2, 0
  li a4, 0x55
  CZERO_EQZ a5, a1, a2
  CZERO_NEZ a4, a4, a2
  or a0, a5, a4
  CHECK a0, 0x55, 10
  TEST_PASS
