/* The SBI firmware's calls as a kernel makes them, from S mode, with good and bad arguments
 * (run with two harts, 0 and 1; either may be the boot hart): probes, HSM start/status/stop
 * of the other hart, an IPI from it to the boot hart, remote fences, the timer, DBCN and legacy console output, rdtime from U mode with
 * scounteren.TM clear (emulated by the firmware), SRST's argument checks, then power-off. */
#include "sbi.h"

  .section .text.init
  .globl _start
_start:
  mv s0, a0                     /* hart ID */
  mv s1, a1                     /* device tree */
  xori s5, s0, 1                /* the other hart */
  la t0, other_id; sw s5, 0(t0)
  la sp, stack_top
  la t0, strap
  csrw stvec, t0
  sltiu t0, s0, 2
  SAYV "boot hart is 0 or 1: ", t0
  lw t0, 0(s1)
  SAYV "device tree magic: ", t0

  /* Base */
  li a0, 0; SBI EID_BASE, 0; SAYV "spec version: ", a1
  li a0, EID_TIME; SBI EID_BASE, 3; SAYV "probe TIME: ", a1
  li a0, EID_IPI;  SBI EID_BASE, 3; SAYV "probe IPI: ", a1
  li a0, EID_RFNC; SBI EID_BASE, 3; SAYV "probe RFNC: ", a1
  li a0, EID_HSM;  SBI EID_BASE, 3; SAYV "probe HSM: ", a1
  li a0, EID_SRST; SBI EID_BASE, 3; SAYV "probe SRST: ", a1
  li a0, EID_DBCN; SBI EID_BASE, 3; SAYV "probe DBCN: ", a1
  li a0, EID_PMU;  SBI EID_BASE, 3; SAYV "probe PMU: ", a1
  SBI EID_PMU, 0; SAYV "PMU num_counters error: ", a0
  li a0, 0; SBI 0x12345678, 0; SAYV "unknown extension error: ", a0

  /* HSM, bad arguments */
  li a0, 7; SBI EID_HSM, 2; SAYV "status of hart 7 error: ", a0
  mv a0, s0; SBI EID_HSM, 2; SAYV "status of the boot hart: ", a1
  mv a0, s5; SBI EID_HSM, 2; SAYV "status of the other hart: ", a1
  li a0, 7; la a1, secondary; li a2, 0; SBI EID_HSM, 0; SAYV "start hart 7 error: ", a0
  mv a0, s5; li a1, 0x80000000; li a2, 0; SBI EID_HSM, 0; SAYV "start the other hart in the firmware error: ", a0
  mv a0, s0; la a1, secondary; li a2, 0; SBI EID_HSM, 0; SAYV "start the boot hart error: ", a0

  /* IPI and fences, bad masks */
  li a0, 0x80; li a1, 0; SBI EID_IPI, 0; SAYV "IPI to hart 7 error: ", a0
  li a0, 1; li a1, 5; SBI EID_RFNC, 0; SAYV "fence.i on hart 5 error: ", a0
  li a0, 0; li a1, -1; SBI EID_RFNC, 0; SAYV "fence.i on all harts: ", a0
  li a0, 0; li a1, -1; li a2, 0; li a3, -1; SBI EID_RFNC, 1; SAYV "sfence.vma on all harts: ", a0

  /* DBCN, bad addresses */
  li a0, 4; li a1, 0x1000; li a2, 0; SBI EID_DBCN, 0; SAYV "DBCN write from 0x1000 error: ", a0
  li a0, 4; li a1, 0x80000000; li a2, 0; SBI EID_DBCN, 0; SAYV "DBCN write from the firmware error: ", a0
  li a0, 4; la a1, stack_top; li a2, 1; SBI EID_DBCN, 0; SAYV "DBCN write above 4 GiB error: ", a0
  li a0, 'D'; SBI EID_DBCN, 2; li a0, 10; SBI EID_DBCN, 2

  /* Waiting: wfi with sstatus.SIE clear wakes on a pending interrupt, which is then taken in
   * the window that sets SIE (setting SIE before wfi would lose a wake-up taken there). */
  /* HSM: start the other hart with an opaque value; it sends us an IPI and stops. */
  li t0, 2; csrw sie, t0        /* SSIE */
  la t0, boot_id; sw s0, 0(t0)
  mv a0, s5; la a1, secondary; li a2, 0x1234; SBI EID_HSM, 0; mv s6, a0
1: la t0, ssi_seen; lw t0, 0(t0); bnez t0, 2f
  wfi; csrsi sstatus, 2; csrci sstatus, 2; j 1b
2: SAYV "start the other hart: ", s6
  SAY "the boot hart took the other hart's IPI"
3: mv a0, s5; SBI EID_HSM, 2; li t0, 1; bne a1, t0, 3b
  SAY "the other hart stopped"
  mv a0, s5; la a1, secondary; li a2, 0x5678; SBI EID_HSM, 0; mv s6, a0
4: mv a0, s5; SBI EID_HSM, 2; li t0, 1; bne a1, t0, 4b
  SAYV "start the other hart again: ", s6
  SAY "the other hart stopped again"

  /* TIME: a timer 10 ms ahead (the timebase is 10 MHz) interrupts us. */
  li t0, 0x20; csrw sie, t0     /* STIE */
  li t0, 0x200bff8
7: lw t2, 4(t0); lw s2, 0(t0); lw t1, 4(t0); bne t1, t2, 7b
  li t0, 100000; add a0, s2, t0; sltu t1, a0, s2; add a1, t2, t1
  SBI EID_TIME, 0; SAYV "set_timer: ", a0
5: la t0, sti_seen; lw t0, 0(t0); bnez t0, 6f
  wfi; csrsi sstatus, 2; csrci sstatus, 2; j 5b
  /* Not before the 10 ms, by the CLINT's mtime (Fief's time CSR is refreshed once per time
   * slice, so it can lag mtime). */
6: li t0, 0x200bff8; lw s3, 0(t0); sub s3, s3, s2; li t0, 100000; sltu s3, s3, t0
  SAYV "timer fired early: ", s3
  csrw sie, zero

  /* rdtime from U mode with scounteren.TM clear: the firmware emulates it. */
  csrw scounteren, zero
  la t0, user; csrw sepc, t0
  li t0, 0x100; csrc sstatus, t0   /* SPP = U */
  sret
after_user:
  SAYV "U-mode rdtime went forward: ", s4

  /* SRST, bad arguments, then power-off. */
  li a0, 5; li a1, 0; SBI EID_SRST, 0; SAYV "reset type 5 error: ", a0
  li a0, 0; li a1, 7; SBI EID_SRST, 0; SAYV "reset reason 7 error: ", a0
  SAY "powering off"
  li a0, 0; li a1, 0; SBI EID_SRST, 0
  SAYV "shutdown returned: ", a0
  li a0, 0; li a1, 1; SBI EID_SRST, 0
1: j 1b

user:
  rdtime a0
  rdtime a1
  ecall
1: j 1b

secondary:
  la sp, stack2_top
  mv s0, a0; mv s1, a1
  la t0, other_id; lw t0, 0(t0); xor t0, t0, s0; seqz t0, t0
  SAYV "the other hart runs with its hart ID in a0: ", t0
  SAYV "the other hart's opaque: ", s1
  li t0, 0x5678; beq s1, t0, 1f
  la t0, boot_id; lw t0, 0(t0); li a0, 1; sll a0, a0, t0; li a1, 0; SBI EID_IPI, 0
1: SBI EID_HSM, 1
  SAYV "hart_stop returned: ", a0
1: j 1b

/* S-mode traps: the IPI, the timer, the U-mode ecall. Anything else fails. */
  .p2align 2
strap:
  csrr t0, scause
  li t1, 0x80000001; beq t0, t1, 1f
  li t1, 0x80000005; beq t0, t1, 2f
  li t1, 8; beq t0, t1, 3f
  SAYV "unexpected S-mode trap, scause ", t0
  li a0, 0; li a1, 1; SBI EID_SRST, 0
1: li t0, 2; csrc sip, t0
  la t0, ssi_seen; li t1, 1; sw t1, 0(t0)
  sret
2: li a0, -1; li a1, -1; SBI EID_TIME, 0
  la t0, sti_seen; li t1, 1; sw t1, 0(t0)
  sret
3: sub s4, a1, a0; sltu s4, zero, a0   /* a0 != 0 */
  sltu t0, a1, a0; xori t0, t0, 1; and s4, s4, t0   /* and a1 >= a0 */
  li t0, 0x100; csrs sstatus, t0
  j after_user

PRINT_FNS

  .data
  .p2align 2
ssi_seen: .word 0
boot_id: .word 0
other_id: .word 0
sti_seen: .word 0
