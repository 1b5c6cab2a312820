/* F/D loads and stores: flw/fsw/fld/fsd with positive and negative offsets (flw NaN-boxes,
 * fsw stores the low word as it is), the compressed forms c.flw/c.fsw/c.fld/c.fsd and the
 * stack forms c.flwsp/c.fswsp/c.fldsp/c.fsdsp (RV32; f0 as a c.fldsp destination),
 * misaligned FP loads and stores in RAM (they succeed, as integer ones do), and an FP load
 * that faults leaving its destination unchanged. */
#include "test.h"
  .option norvc

TEST_BEGIN fp_loadstore
  la t0, trap_record
  csrw mtvec, t0
  li t0, 0x2000
  csrs mstatus, t0
  la s0, buf

  /* flw boxes, fsw stores the low word */
  flw fa0, 0(s0)
  fsd fa0, 64(s0)
  lw a1, 64(s0)
  CHECKW a1, 0x40490fdb, 1
  lw a1, 68(s0)
  CHECKW a1, 0xffffffff, 2
  fsw fa0, 72(s0)
  lw a1, 72(s0)
  CHECKW a1, 0x40490fdb, 3
  lw a1, 76(s0)
  CHECK a1, 0, 4
  /* fld/fsd, negative offsets */
  addi s1, s0, 128
  fld fa1, -120(s1)
  fsd fa1, -48(s1)
  lw a1, 80(s0)
  CHECKW a1, 0x54442d18, 5
  lw a1, 84(s0)
  CHECKW a1, 0x400921fb, 6
  /* fsw of a double register stores its low word */
  fsw fa1, 88(s0)
  lw a1, 88(s0)
  CHECKW a1, 0x54442d18, 7

  /* compressed forms */
  .option rvc
#if __riscv_xlen == 32
  c.flw fa3, 0(s0)
  c.fsw fa3, 96(s0)
#else  /* RV64 has no compressed single-precision forms (c.ld/c.sd use those encodings) */
  flw fa3, 0(s0)
  fsw fa3, 96(s0)
#endif
  c.fld fa4, 8(s0)
  c.fsd fa4, 104(s0)
  addi sp, sp, -32
#if __riscv_xlen == 32
  c.fswsp fa3, 4(sp)
#else
  fsw fa3, 4(sp)
#endif
  c.fsdsp fa4, 8(sp)
#if __riscv_xlen == 32
  c.flwsp ft1, 4(sp)
#else
  flw ft1, 4(sp)
#endif
  c.fldsp f0, 8(sp)
  c.fsdsp ft1, 16(sp)
  c.fsdsp f0, 24(sp)
  .option norvc
  lw a1, 96(s0)
  CHECKW a1, 0x40490fdb, 0x10
  lw a1, 104(s0)
  CHECKW a1, 0x54442d18, 0x11
  lw a1, 108(s0)
  CHECKW a1, 0x400921fb, 0x12
  lw a1, 16(sp)
  CHECKW a1, 0x40490fdb, 0x13
  lw a1, 20(sp)
  CHECKW a1, 0xffffffff, 0x14
  lw a1, 24(sp)
  CHECKW a1, 0x54442d18, 0x15
  lw a1, 28(sp)
  CHECKW a1, 0x400921fb, 0x16
  addi sp, sp, 32

  /* misaligned */
  fld fa5, 8(s0)
  fsd fa5, 113(s0)
  flw fa6, 115(s0)
  fmv.x.w a1, fa6
  CHECKW a1, 0x21fb5444, 0x20
  lbu a1, 113(s0)
  CHECKW a1, 0x18, 0x21
  lbu a1, 120(s0)
  CHECKW a1, 0x40, 0x22
  fsw fa0, 122(s0)
  flw fa7, 122(s0)
  fmv.x.w a1, fa7
  CHECKW a1, 0x40490fdb, 0x23
  CHECKM trap_count, 0, 0x24

  /* a faulting FP load (nothing mapped at 0x0e000000) changes nothing */
  fmv.w.x fa2, zero
  li a2, 0x0e000000
  flw fa2, 0(a2)
  CHECKM trap_count, 1, 0x30
  CHECKM trap_cause, CAUSE_LOAD_ACCESS, 0x31
  CHECKM trap_tval, 0x0e000000, 0x32
  fmv.x.w a1, fa2
  CHECK a1, 0, 0x33
  TEST_PASS

  .data
  .align 3
buf:
  .word 0x40490fdb, 0          /* pi as a single */
  .8byte 0x400921fb54442d18    /* pi as a double */
  .fill 128, 1, 0
