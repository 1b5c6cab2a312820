/* Debug triggers (Sdtrig) as QEMU 7.2 has them: two triggers, tinfo = types 2 and 6,
 * what tdata1 keeps of a write, execute/load/store matches of type 2 (mcontrol) and
 * type 6 (mcontrol6) triggers in the privilege modes their bits select (the hart's
 * privilege, not MPRV's), sizes, AMOs and LR/SC, misaligned loads (checked as QEMU's two
 * aligned accesses), virtual addresses under Sv32 (Sv39 at RV64), and the breakpoint
 * exception: mcause 3, mtval 0, mepc at the instruction, which did nothing. Built for RV32
 * and RV64: the type field and what a tdata1 write keeps differ by XLEN. */
#include "test.h"
  .option norvc

#if __riscv_xlen == 64
/* tdata1's type field is its top 4 bits at either XLEN. */
#define T2 0x2000000000000000
#define T6 0x6000000000000000
#else
#define T2 0x20000000
#define T6 0x60000000
#endif
#define LOAD 0x1
#define STORE 0x2
#define EXEC 0x4
#define U 0x8
#define S 0x10
#define M 0x40

/* csr = val (clobbers t0) */
.macro W csr, val
  li t0, \val
  csrw \csr, t0
.endm

/* Fails with `code` unless `csr` reads `val`. */
.macro R csr, val, code
  csrr a0, \csr
  CHECK a0, \val, \code
.endm

/* Fails unless exactly one breakpoint trap at `label` happened (mtval 0); resets. */
.macro HIT label, code
  CHECKM trap_count, 1, \code
  CHECKM trap_cause, CAUSE_BREAKPOINT, \code + 1
  CHECKM trap_tval, 0, \code + 2
  la t0, \label
  la t1, trap_epc
  REG_L t1, 0(t1)
  CHECKR t0, t1, \code + 3
  la t0, trap_count
  REG_S zero, 0(t0)
.endm

.macro NOHIT code
  CHECKM trap_count, 0, \code
.endm

TEST_BEGIN priv_sdtrig
  la t0, trap_record
  csrw mtvec, t0
  /* reset values and what a write keeps */
  R tselect, 0, 1
  R tinfo, 0x44, 2
  R tdata1, T2, 3
  R tdata2, 0, 4
  R tdata3, 0, 5
  W tselect, 1
  R tselect, 1, 6
  R tdata1, T2, 7
  W tselect, 2
  R tselect, 1, 8
#if __riscv_xlen == 64
  W tselect, 0
  W tdata1, -1                  /* type 15: ignored */
  R tdata1, T2, 9
  W tdata1, 0x2fffffffffffffff
  R tdata1, 0x200000000000005f, 10   /* sizelo + sizehi = 15, timing, select: WARL 0 */
  W tdata1, 0x6fffffffffffffff
  R tdata1, 0x600000000180005f, 11
  W tdata1, 0x6000000000040044  /* 6-byte size: "any" */
  R tdata1, 0x6000000000000044, 12
  W tdata1, 0x6000000000050044  /* 8 bytes */
  R tdata1, 0x6000000000050044, 13
  W tdata1, 0x3fffffffffffffff  /* type 3: ignored */
  R tdata1, 0x6000000000050044, 14
  W tdata1, 0x0000000000000000  /* type 0: ignored */
  R tdata1, 0x6000000000050044, 15
  W tdata1, T2 | 0x00020000
  R tdata1, T2 | 0x00020000, 16
  W tdata2, -1
  R tdata2, -1, 17
#else
  W tselect, 0
  W tdata1, 0xffffffff          /* type 15: ignored */
  R tdata1, T2, 9
  W tdata1, 0x2fffffff
  R tdata1, 0x2003005f, 10
  W tdata1, 0x6fffffff
  R tdata1, 0x6180005f, 11
  W tdata1, 0x60040044          /* 6-byte size: "any" */
  R tdata1, 0x60000044, 12
  W tdata1, 0x60050044          /* 8 bytes */
  R tdata1, 0x60050044, 13
  W tdata1, 0x3fffffff          /* type 3: ignored */
  R tdata1, 0x60050044, 14
  W tdata1, 0x00000000          /* type 0: ignored */
  R tdata1, 0x60050044, 15
  W tdata1, T2 | 0x00020000
  R tdata1, T2 | 0x00020000, 16
  W tdata2, 0xffffffff
  R tdata2, 0xffffffff, 17
#endif
  W tdata3, 0xffffffff
  R tdata3, 0, 18
  W tinfo, 0
  R tinfo, 0x44, 19
  W tdata1, T2
  NOHIT 20

  /* execute, in M */
  li a5, 0
  la t0, x_m
  csrw tdata2, t0
  W tdata1, T2 | M | EXEC
x_m:
  li a5, 1
  HIT x_m, 0x20
  CHECK a5, 0, 0x24             /* skipped by the handler: it did not run */
  /* M bit clear: no match in M */
  W tdata1, T2 | S | U | EXEC
  la t0, x_su
  csrw tdata2, t0
x_su:
  nop
  NOHIT 0x25
  /* type 6 */
  la t0, x_6
  csrw tdata2, t0
  W tdata1, T6 | M | EXEC
  nop
x_6:
  nop
  HIT x_6, 0x28
  /* the second of two compressed instructions */
  la t0, x_c
  csrw tdata2, t0
  W tdata1, T2 | M | EXEC
  .option rvc
  c.nop
x_c:
  c.nop
  .option norvc
  HIT x_c, 0x2c
  /* a load bit alone does not match executions, but loads from there */
  la s3, x_l
  csrw tdata2, s3
  W tdata1, T2 | M | LOAD
x_l:
  nop
  NOHIT 0x30
l_x:
  lw a0, 0(s3)
  HIT l_x, 0x31
  W tdata1, T2

  /* loads, "any" size (XLEN/8 bytes, as QEMU 7.2) at buf + 4 */
  la s2, buf
  addi s3, s2, 4
  csrw tdata2, s3
  W tdata1, T2 | M | LOAD
  li a0, 0x77
l_1:
  lw a0, 4(s2)
  HIT l_1, 0x40
  CHECK a0, 0x77, 0x44          /* rd not written */
  lw a0, 0(s2)
#if __riscv_xlen == 64
  li a0, 0x08                   /* buf + 8: inside the 8 bytes "any" covers at RV64 (QEMU) */
#else
  lb a0, 8(s2)
#endif
  sw a0, 4(s2)
  NOHIT 0x45
#if __riscv_xlen == 64
l_8:
  lb a0, 11(s2)                 /* the last of the 8 bytes */
  HIT l_8, 0x38
#endif
l_2:
  lb a0, 7(s2)
  HIT l_2, 0x48
l_3:
  lw a0, 2(s2)                  /* misaligned, 2..5 */
  HIT l_3, 0x4c
  /* stores, 1 byte at buf + 4 */
  W tdata1, T2 | M | STORE | 0x00010000
  li a1, 0x55
s_1:
  sb a1, 4(s2)
  HIT s_1, 0x50
  sb a1, 5(s2)
  sw a1, 0(s2)
  lw a0, 4(s2)
  NOHIT 0x54
s_2:
  sh a1, 3(s2)                  /* misaligned, 3..4 */
  HIT s_2, 0x58
  lw a0, 0(s2)
  CHECK a0, 0x00000055, 0x5c    /* neither store wrote */
  lw a0, 4(s2)
  CHECK a0, 0x00005508, 0x5d
  /* type 6, 2 bytes at buf + 4 */
  W tdata1, T6 | M | LOAD | 0x00020000
l_6:
  lb a0, 5(s2)
  HIT l_6, 0x60
  lb a0, 6(s2)
  NOHIT 0x64
  /* one byte at buf + 0: a misaligned word load from buf + 1 (bytes 1..4) is made as the
   * aligned loads of 0..3 and 4..7, so it matches (QEMU) */
  csrw tdata2, s2
  W tdata1, T2 | M | LOAD | 0x00010000
l_7:
  lw a0, 1(s2)
  HIT l_7, 0x68
  W tdata1, T2

  /* AMOs and LR/SC */
  csrw tdata2, s3
  W tdata1, T2 | M | LOAD
a_1:
  amoadd.w a0, a1, (s3)
  HIT a_1, 0x70
  W tdata1, T2 | M | STORE
  lr.w a0, (s3)
  NOHIT 0x74
a_2:
  sc.w a0, a1, (s3)
  HIT a_2, 0x78
  lw a0, 4(s2)
  CHECK a0, 0x00005508, 0x7c
  W tdata1, T2

  /* trigger 1 */
  W tselect, 1
  la t0, x_t1
  csrw tdata2, t0
  W tdata1, T2 | M | EXEC
  W tselect, 0
x_t1:
  nop
  HIT x_t1, 0x80
  W tselect, 1
  W tdata1, T2
  W tselect, 0

  /* MPRV does not change the privilege a trigger sees: S-only load trigger, M with
   * MPRV and MPP = S */
  csrw tdata2, s3
  W tdata1, T2 | S | LOAD
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S | MSTATUS_MPRV
  csrs mstatus, t0
  lw a0, 4(s2)
  li t0, MSTATUS_MPRV
  csrc mstatus, t0
  NOHIT 0x84

  /* S and U: trigger 0 executes at s_x with S, trigger 1 loads buf + 4 with U only */
  la t0, s_x
  csrw tdata2, t0
  W tdata1, T2 | S | EXEC
  W tselect, 1
  csrw tdata2, s3
  W tdata1, T2 | U | LOAD
  W tselect, 0
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, s_code
  csrw mepc, t0
  la s10, back_s
  mret
s_code:
  nop
s_x:
  nop
  lw a0, 4(s2)                  /* U only: no match in S */
  ecall
back_s:
  CHECKM trap_count, 2, 0x90    /* the breakpoint at s_x, then ecall */
  CHECKM trap_cause, CAUSE_ECALL_S, 0x91
  la t0, trap_count
  REG_S zero, 0(t0)
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  la t0, u_code
  csrw mepc, t0
  la s10, back_u
  mret
u_code:
  j s_x                         /* S only: no match in U; its load matches (U) */
back_u:
  CHECKM trap_count, 2, 0x94
  CHECKM trap_cause, CAUSE_ECALL_U, 0x95
  W tdata1, T2
  W tselect, 1
  W tdata1, T2
  W tselect, 0

  /* Paging: triggers match virtual addresses. VA 0x40000000 is a second (read/write)
   * mapping of RAM; RAM, the UART and the finisher are also mapped at their own
   * addresses. A load trigger on buf + 4 through the second mapping does not match a
   * load of the same bytes at their own address. */
#if __riscv_xlen == 64
  /* Sv39: 1 GiB pages, root entries 0 (VA 0: the UART and the finisher), 1 (VA
   * 0x40000000: the second mapping of RAM) and 2 (RAM at its own address). */
  la t0, root
  li t1, (0x00000000 >> 2) | 0xc7      /* V R W A D */
  sd t1, 0 * 8(t0)
  li t1, (0x80000000 >> 2) | 0xc7
  sd t1, 1 * 8(t0)
  li t1, (0x80000000 >> 2) | 0xcf      /* V R W X A D */
  sd t1, 2 * 8(t0)
  srli t0, t0, 12
  li t1, 0x8000000000000000            /* MODE = 8, Sv39 */
  or t0, t0, t1
  csrw satp, t0
#else
  la t0, root
  li t1, (0x00000000 >> 2) | 0xc7      /* V R W A D */
  sw t1, 0x000 * 4(t0)
  li t1, (0x10000000 >> 2) | 0xc7
  sw t1, 0x040 * 4(t0)
  li t1, (0x80000000 >> 2) | 0xcf      /* V R W X A D */
  li t2, 0x200 * 4
  add t2, t2, t0
  sw t1, 0(t2)
  li t1, (0x80000000 >> 2) | 0xc7
  li t2, 0x100 * 4
  add t2, t2, t0
  sw t1, 0(t2)
  srli t0, t0, 12
  li t1, 0x80000000
  or t0, t0, t1
  csrw satp, t0
#endif
  sfence.vma
  la t0, trap_count
  REG_S zero, 0(t0)
  li t0, 0x40000000
  sub s4, s3, t0                /* buf + 4 through the second mapping */
  csrw tdata2, s4
  W tdata1, T2 | S | LOAD
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, sv_code
  csrw mepc, t0
  la s10, back_sv
  mret
sv_code:
  lw a0, 0(s3)                  /* its own address: no match */
  NOHIT 0xa0
sv_l:
  lw a0, 0(s4)
  HIT sv_l, 0xa4
  ecall
back_sv:
  CHECKM trap_cause, CAUSE_ECALL_S, 0xa8
  csrw satp, zero
  sfence.vma
  W tdata1, T2
  TEST_PASS

  .bss
  .balign 4096
root:
  .space 4096

  .data
  .align 4
buf:
  .word 0x03020100, 0x07060504, 0x0b0a0908, 0x0f0e0d0c
