/* Counters as QEMU 7.2 has them (what both agree on; QEMU's counter values follow host time,
 * so only whether they move is checked):
 *  - cycle and instret move; mcounteren, scounteren keep every bit; mcountinhibit keeps CY
 *    and IR;
 *  - the programmable counters of QEMU's default PMU: mhpmcounter3..18 (and the h halves)
 *    hold what is written (no event counts), hpmcounterN reads them, mhpmevent3..31 hold
 *    what is written; counter 19 and above do not exist (illegal even in M);
 *  - below M, mcounteren gates cycle/time/instret/hpmcounterN (and their h halves) for S
 *    and U, and scounteren for U as well: illegal instruction when a bit is clear.
 * Fief's unit tests check what QEMU 7.2 does differently (a write to minstret/mcycle
 * replaces the writing instruction's own increment; exact counts under mcountinhibit). */
#include "test.h"
  .option norvc

/* On RV64: the low 32 bits of `reg`, sign-extended (nothing on RV32). */
.macro LOW32 reg
#if __riscv_xlen == 64
  sext.w \reg, \reg
#endif
.endm

/* The h halves (cycleh, mhpmcounter3h, ...) exist only on RV32: on RV64 every access to
 * one is illegal, in every mode. */
#if __riscv_xlen == 64
#define H_TRAP(t) 1
#else
#define H_TRAP(t) t
#endif

/* `insn` (a CSR access) must trap with illegal instruction iff `trap` is 1. Clobbers t0. */
.macro TRY trap, code, insn:vararg
  la t0, trap_count
  REG_S zero, 0(t0)
  \insn
  CHECKM trap_count, \trap, \code
.endm

/* Runs the code at `label` in privilege `mpp` (MSTATUS_MPP value) with mcounteren = `m`,
 * scounteren = `s`; it ends with ecall, which comes back to M at the next instruction. */
.macro RUN_AT label, mpp, m, s
  li t0, \m
  csrw mcounteren, t0
  li t0, \s
  csrw scounteren, t0
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, \mpp
  csrs mstatus, t0
  la t0, \label
  csrw mepc, t0
  la s10, 1f
  mret
1:
  CHECKM trap_cause, CAUSE_ECALL_U + (\mpp >> 11), 0x7f0
.endm

TEST_BEGIN priv_counters
  la t0, trap_record
  csrw mtvec, t0
  /* the counters move */
  csrr a1, cycle
  csrr a2, cycle
  bne a1, a2, 1f
  FAIL 1
1:
  csrr a1, instret
  csrr a2, instret
  bne a1, a2, 1f
  FAIL 2
1:
  csrr a1, minstret
  csrr a2, minstret
  bne a1, a2, 1f
  FAIL 3
1:
  /* enable registers keep every bit (of 32: on RV64 only the low half is compared, the
   * registers being 32 bits wide by the spec, as in Fief, where QEMU 7.2 keeps 64; see
   * DEVIATIONS in tests/src/randdiff.rs) */
  li s1, -1
  csrw mcounteren, s1
  csrr a0, mcounteren
  LOW32 a0
  CHECKW a0, -1, 4
  csrw scounteren, s1
  csrr a0, scounteren
  LOW32 a0
  CHECKW a0, -1, 5
  li t0, 5
  csrw mcountinhibit, t0
  csrr a0, mcountinhibit
  CHECK a0, 5, 6
  csrw mcountinhibit, zero
  /* programmable counters and events */
  li s1, 0x12345
  csrw mhpmcounter3, s1
#if __riscv_xlen == 32
  csrw mhpmcounter3h, s1
#endif
  csrw mhpmcounter18, s1
  csrr a0, hpmcounter3
  CHECK a0, 0x12345, 7
#if __riscv_xlen == 32
  csrr a0, hpmcounter3h
  CHECK a0, 0x12345, 8
#endif
  csrr a0, mhpmcounter18
  CHECK a0, 0x12345, 9
  csrr a0, mhpmcounter4
  CHECK a0, 0, 10
  csrw mhpmevent3, s1
  csrr a0, mhpmevent3
  CHECK a0, 0x12345, 11
  csrr a0, mhpmevent31
  CHECK a0, 0, 12
  TRY 0, 0x10, csrr a0, hpmcounter18
  TRY H_TRAP(0), 0x11, csrr a0, mhpmcounter18h
  TRY 1, 0x12, csrr a0, hpmcounter19
  TRY 1, 0x13, csrr a0, mhpmcounter19
  TRY 1, 0x14, csrr a0, mhpmcounter19h
  TRY 1, 0x15, csrw mhpmcounter31, s1
  TRY 0, 0x16, csrr a0, time
  CHECKM trap_count, 0, 13

  /* S-mode: mcounteren alone decides */
  RUN_AT s_none, MSTATUS_MPP_S, 0, -1
  RUN_AT s_cy_ir, MSTATUS_MPP_S, 5, 0
  RUN_AT s_tm_hpm3, MSTATUS_MPP_S, 0x0000000a, 0
  RUN_AT s_all, MSTATUS_MPP_S, -1, 0
  /* U-mode: both */
  RUN_AT u_all, 0, -1, -1
  RUN_AT u_m_only, 0, -1, 0
  RUN_AT u_s_only, 0, 0, -1
  RUN_AT u_tm, 0, 0x2, 0x3
  TEST_PASS

s_none:
  TRY 1, 0x20, csrr a0, cycle
  TRY 1, 0x21, csrr a0, time
  TRY 1, 0x22, csrr a0, instret
  TRY 1, 0x23, csrr a0, cycleh
  TRY 1, 0x24, csrr a0, hpmcounter3
  ecall
s_cy_ir:
  TRY 0, 0x28, csrr a0, cycle
  TRY 1, 0x29, csrr a0, time
  TRY 0, 0x2a, csrr a0, instret
  TRY H_TRAP(0), 0x2b, csrr a0, cycleh
  TRY 1, 0x2c, csrr a0, timeh
  TRY H_TRAP(0), 0x2d, csrr a0, instreth
  TRY 1, 0x2e, csrr a0, hpmcounter3
  ecall
s_tm_hpm3:
  TRY 1, 0x30, csrr a0, cycle
  TRY 0, 0x31, csrr a0, time
  TRY H_TRAP(0), 0x32, csrr a0, timeh
  TRY 1, 0x33, csrr a0, instret
  TRY 0, 0x34, csrr a0, hpmcounter3
  TRY H_TRAP(0), 0x35, csrr a0, hpmcounter3h
  TRY 1, 0x36, csrr a0, hpmcounter4
  ecall
s_all:
  TRY 0, 0x38, csrr a0, cycle
  TRY 0, 0x39, csrr a0, time
  TRY 0, 0x3a, csrr a0, instret
  TRY 0, 0x3b, csrr a0, hpmcounter18
  TRY 1, 0x3c, csrr a0, hpmcounter19
  TRY 1, 0x3d, csrr a0, mcycle
  TRY 0, 0x3e, csrr a0, scounteren
  ecall
u_all:
  TRY 0, 0x40, csrr a0, cycle
  TRY 0, 0x41, csrr a0, time
  TRY 0, 0x42, csrr a0, instret
  TRY 0, 0x43, csrr a0, hpmcounter3
  TRY H_TRAP(0), 0x44, csrr a0, hpmcounter3h
  TRY 1, 0x45, csrr a0, hpmcounter19
  TRY 1, 0x46, csrr a0, scounteren
  ecall
u_m_only:
  TRY 1, 0x48, csrr a0, cycle
  TRY 1, 0x49, csrr a0, time
  TRY 1, 0x4a, csrr a0, instret
  TRY 1, 0x4b, csrr a0, hpmcounter3
  ecall
u_s_only:
  TRY 1, 0x50, csrr a0, cycle
  TRY 1, 0x51, csrr a0, time
  TRY 1, 0x52, csrr a0, instreth
  ecall
u_tm:
  TRY 1, 0x58, csrr a0, cycle
  TRY 0, 0x59, csrr a0, time
  TRY H_TRAP(0), 0x5a, csrr a0, timeh
  TRY 1, 0x5b, csrr a0, instret
  ecall
