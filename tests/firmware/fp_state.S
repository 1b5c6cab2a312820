/* F/D state: misa F and D; mstatus.FS Off makes FP instructions and the FP CSRs illegal;
 * a write to FP state makes FS Dirty and sets SD (bit 31), also as seen through sstatus;
 * fcsr/frm/fflags fields and masks; reserved rounding modes (dynamic frm 5..7, static 5
 * and 6) are illegal only for instructions with a rounding mode; flags accrue; NaN boxing
 * (fmv.w.x/flw box, an improperly boxed single reads as the canonical NaN except for
 * fmv.x.w and fsw, which move the low bits); f0 is a register like the others. */
#include "test.h"
  .option norvc
#define MSTATUS_FS 0x6000
#define FS_SD_MASK (INTERRUPT_BIT | 0x6000) /* SD is bit XLEN-1 */

.macro EXPECT_ILLEGAL code
  CHECKM trap_count, 1, \code
  CHECKM trap_cause, CAUSE_ILLEGAL, \code + 1
  la t0, trap_count
  REG_S zero, 0(t0)
.endm

.macro NO_TRAP code
  CHECKM trap_count, 0, \code
.endm

/* Fails with `code` unless mstatus' FS and SD bits are `val`. */
.macro CHECK_FS val, code
  csrr a1, mstatus
  li t0, FS_SD_MASK
  and a1, a1, t0
  CHECK a1, \val, \code
.endm

TEST_BEGIN fp_state
  la t0, trap_record
  csrw mtvec, t0
  csrr a1, misa
  andi a1, a1, 0x28
  CHECKW a1, 0x28, 1

  /* FS = Off */
  li t0, MSTATUS_FS
  csrc mstatus, t0
  CHECK_FS 0, 2
  fadd.s ft0, ft1, ft2
  EXPECT_ILLEGAL 0x10
  csrr a1, fflags
  EXPECT_ILLEGAL 0x14
  csrr a1, fcsr
  EXPECT_ILLEGAL 0x18
  csrwi frm, 1
  EXPECT_ILLEGAL 0x1c
  la a2, data
  flw ft0, 0(a2)
  EXPECT_ILLEGAL 0x20
  fsd ft0, 0(a2)
  EXPECT_ILLEGAL 0x24
  fmv.x.w a1, ft0
  EXPECT_ILLEGAL 0x28
  CHECK_FS 0, 3

  /* Initial: an FP register write makes it Dirty with SD */
  li t0, 0x2000
  csrs mstatus, t0
  CHECK_FS 0x2000, 4
  fmv.w.x ft0, zero
  NO_TRAP 0x30
  CHECK_FS FS_SD_MASK, 5
  /* Clean: a CSR write makes it Dirty; sstatus shows FS and SD */
  li t0, 0x2000
  csrc mstatus, t0
  CHECK_FS 0x4000, 6
  csrw fflags, zero
  CHECK_FS FS_SD_MASK, 7
  csrr a1, sstatus
  li t0, FS_SD_MASK
  and a1, a1, t0
  CHECK a1, FS_SD_MASK, 8
  /* an FP load makes it Dirty too */
  li t0, 0x2000
  csrc mstatus, t0
  fld ft0, 0(a2)
  CHECK_FS FS_SD_MASK, 9

  /* fcsr fields */
  li t0, -1
  csrw fcsr, t0
  csrr a1, fcsr
  CHECKW a1, 0xff, 0x40
  csrr a1, frm
  CHECK a1, 7, 0x41
  csrr a1, fflags
  CHECKW a1, 0x1f, 0x42
  csrwi fflags, 0x3
  csrr a1, fcsr
  CHECKW a1, 0xe3, 0x43
  csrwi frm, 2
  csrr a1, fcsr
  CHECKW a1, 0x43, 0x44
  csrw fcsr, zero

  /* reserved dynamic rounding modes */
  la t0, trap_count
  REG_S zero, 0(t0)
  csrwi frm, 5
  fadd.s ft0, ft1, ft2
  EXPECT_ILLEGAL 0x50
  fsgnj.s ft0, ft1, ft2
  fmin.d ft0, ft1, ft2
  feq.s a1, ft1, ft2
  fadd.s ft0, ft1, ft2, rne
  NO_TRAP 0x54
  csrwi frm, 6
  fmadd.d ft0, ft1, ft2, ft3
  EXPECT_ILLEGAL 0x58
  csrwi frm, 7
  fcvt.s.w ft0, a0
  EXPECT_ILLEGAL 0x5c
  fcvt.w.d a1, ft0
  EXPECT_ILLEGAL 0x60
  csrwi frm, 4
  fsqrt.d ft0, ft1
  NO_TRAP 0x64
  csrwi frm, 0
  /* reserved static modes: fadd.s ft0, ft1, ft2 with rm = 5 and 6 */
  .4byte 0x0020d053
  EXPECT_ILLEGAL 0x68
  .4byte 0x0020e053
  EXPECT_ILLEGAL 0x6c

  /* flags accrue */
  csrw fflags, zero
  li a1, 0x3f800000
  fmv.w.x fa0, a1
  fmv.w.x fa1, zero
  fdiv.s fa2, fa0, fa1
  csrr a1, fflags
  CHECK a1, 8, 0x70
  li a1, 0x40400000
  fmv.w.x fa1, a1
  fdiv.s fa2, fa0, fa1
  csrr a1, fflags
  CHECK a1, 9, 0x71
  csrrw a1, fflags, zero
  CHECK a1, 9, 0x72

  /* NaN boxing */
  li a1, 0x3f800000
  fmv.w.x ft0, a1
  fsd ft0, 0(a2)
  lw a1, 4(a2)
  CHECKW a1, 0xffffffff, 0x80
  lw a1, 0(a2)
  CHECKW a1, 0x3f800000, 0x81
  sw zero, 4(a2)                   /* 0x00000000_3f800000: not a boxed single */
  fld ft1, 0(a2)
  fadd.s ft2, ft1, ft1
  fmv.x.w a1, ft2
  CHECKW a1, 0x7fc00000, 0x82
  csrr a1, fflags
  CHECK a1, 0, 0x83
  fmv.x.w a1, ft1
  CHECKW a1, 0x3f800000, 0x84
  fsw ft1, 8(a2)
  lw a1, 8(a2)
  CHECKW a1, 0x3f800000, 0x85
  fclass.s a1, ft1
  CHECKW a1, 0x200, 0x86
  fsgnjn.s ft3, ft1, ft1
  fmv.x.w a1, ft3
  CHECKW a1, 0xffc00000, 0x87
  fcvt.d.s ft3, ft1
  fsd ft3, 0(a2)
  lw a1, 4(a2)
  CHECKW a1, 0x7ff80000, 0x88
  lw a1, 0(a2)
  CHECK a1, 0, 0x89
  flw ft4, 8(a2)
  fsd ft4, 0(a2)
  lw a1, 4(a2)
  CHECKW a1, 0xffffffff, 0x8a
  fmax.s ft5, ft1, ft4             /* canonical NaN and 1.0: 1.0 */
  fmv.x.w a1, ft5
  CHECKW a1, 0x3f800000, 0x8b
  feq.s a1, ft1, ft1
  CHECK a1, 0, 0x8c

  /* f0 */
  li a1, 0x12345678
  fmv.w.x f0, a1
  fmv.x.w a3, f0
  CHECKW a3, 0x12345678, 0x90
  fsgnj.d f31, f0, f0
  fsd f31, 0(a2)
  lw a1, 4(a2)
  CHECKW a1, 0xffffffff, 0x91
  NO_TRAP 0x92
  TEST_PASS

  .data
  .align 3
data:
  .8byte 0x3ff0000000000000, 0
