/* bench_trap: a trap-heavy loop. The program drops to U-mode; U-mode code makes ecall round
 * trips to an M-mode handler (a small "system call" that updates shared state), and asks
 * the handler to arm the CLINT timer (mtimecmp = 0, already due), so that a machine timer
 * interrupt is taken right after the return to U-mode and the handler disarms it again.
 * Every timer interrupt and every ecall is counted; the counts and the state go into the
 * checksum, and the final ecall prints it from M-mode. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 1500000
#endif

enum { SYS_MIX, SYS_ARM_TIMER, SYS_EXIT };

static volatile u32 sys_op, sys_arg, sys_state, n_ecalls, n_timer;

static void mtimecmp_write(u32 hi, u32 lo) {
  volatile u32 *cmp = (volatile u32 *)CLINT_MTIMECMP;
  cmp[1] = 0xffffffffu; /* no spurious interrupt between the two halves */
  cmp[0] = lo;
  cmp[1] = hi;
}

static void __attribute__((interrupt("machine"), aligned(4))) handler(void) {
  unsigned long cause; /* XLEN wide: the interrupt bit is bit XLEN-1 */
  __asm__ volatile("csrr %0, mcause" : "=r"(cause));
  if (cause == (INTERRUPT_BIT | 7)) {
    mtimecmp_write(0xffffffffu, 0xffffffffu);
    n_timer++;
    sys_state = rotl(sys_state, 1) ^ n_timer;
    return;
  }
  if (cause != CAUSE_ECALL_U) {
    uart_puts("bench_trap: unexpected cause 0x");
    uart_hex((u32)cause);
    uart_putc('\n');
    volatile u32 *fin = (volatile u32 *)FINISHER_BASE;
    *fin = (1 << 16) | FINISHER_FAIL;
  }
  unsigned long epc;
  __asm__ volatile("csrr %0, mepc" : "=r"(epc));
  __asm__ volatile("csrw mepc, %0" ::"r"(epc + 4));
  n_ecalls++;
  switch (sys_op) {
  case SYS_MIX:
    sys_state = sys_state * 2654435761u + sys_arg;
    break;
  case SYS_ARM_TIMER:
    mtimecmp_write(0, 0);
    break;
  default:
    bench_report(sys_arg, sys_state ^ n_ecalls << 8 ^ n_timer << 20);
  }
}

static void ecall(u32 op, u32 arg) {
  sys_op = op;
  sys_arg = arg;
  __asm__ volatile("ecall" ::: "memory");
}

static void __attribute__((noreturn)) user_main(void) {
  u32 iterations = ITERATIONS;
  for (u32 i = 0; i < iterations; i++) {
    ecall(SYS_MIX, i);
    if ((i & 3) == 0)
      ecall(SYS_ARM_TIMER, 0); /* the timer interrupt follows the return to U */
  }
  ecall(SYS_EXIT, iterations);
  for (;;) {
  }
}

const char test_name[] = "bench_trap";

void test_main(void) {
  sys_state = 0x600dcafe;
  __asm__ volatile("csrw mtvec, %0" ::"r"(handler));
  /* mtimecmp's reset value is unspecified (QEMU's is 0, already due): disarm first. */
  mtimecmp_write(0xffffffffu, 0xffffffffu);
  __asm__ volatile("csrw mie, %0" ::"r"(1 << 7)); /* MTIE; taken in U whatever MIE */
  /* mstatus.MPP = U (0), then mret into user_main. */
  __asm__ volatile("csrc mstatus, %0" ::"r"(MSTATUS_MPP));
  __asm__ volatile("csrw mepc, %0" ::"r"(user_main));
  __asm__ volatile("mret");
  __builtin_unreachable();
}
