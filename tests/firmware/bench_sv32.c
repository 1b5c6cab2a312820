/* bench_sv32: a kernel-like workload under Sv32 with many TLB misses. M-mode builds page
 * tables (the image identity-mapped by a 4 MiB megapage; an 8 MiB window at 0x40000000
 * mapped by two level-0 tables, 2048 4 KiB pages scattered over physical RAM at
 * 0x80400000..0x80c00000) and enters S-mode with satp set. S-mode sweeps the window with a
 * page-sized stride (every access on another page), flushes the TLB with sfence.vma each
 * sweep, and remaps two pages (swapping their PTEs, sfence.vma of each address) each
 * sweep, as a kernel moving pages would. The final ecall hands the checksum to M-mode. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 1200
#endif
#define PAGES 2048
#define WINDOW 0x40000000u
#define POOL 0x80400000u
#define PTE_V 1
#define PTE_R 2
#define PTE_W 4
#define PTE_X 8
#define PTE_A 64
#define PTE_D 128

static u32 root[1024] __attribute__((aligned(4096)));
static u32 leaf[2][1024] __attribute__((aligned(4096)));
static volatile u32 result;

static void __attribute__((interrupt("machine"), aligned(4))) handler(void) {
  u32 cause;
  __asm__ volatile("csrr %0, mcause" : "=r"(cause));
  if (cause == CAUSE_ECALL_S)
    bench_report(ITERATIONS, result);
  uart_puts("bench_sv32: unexpected cause 0x");
  uart_hex(cause);
  uart_putc('\n');
  volatile u32 *fin = (volatile u32 *)FINISHER_BASE;
  *fin = (1 << 16) | FINISHER_FAIL;
  for (;;) {
  }
}

static u32 *pte_of(u32 page) { return &leaf[page >> 10][page & 1023]; }

static void __attribute__((noreturn)) kernel_main(void) {
  u32 sum = 0x5eed;
  u32 iterations = ITERATIONS;
  /* Every word the sweeps touch starts at a known value (RAM is zero on both machines,
   * but do not rely on it). */
  for (u32 page = 0; page < PAGES; page++)
    for (u32 off = 0; off < 4096; off += 64)
      *(volatile u32 *)(WINDOW + page * 4096 + off) = page ^ off;
  for (u32 it = 0; it < iterations; it++) {
    for (u32 j = 0; j < PAGES; j++) {
      u32 page = (j * 409 + it * 3) & (PAGES - 1);
      u32 off = ((j + it) & 63) * 64;
      volatile u32 *p = (volatile u32 *)(WINDOW + page * 4096 + off);
      u32 v = *p;
      *p = v * 3 + j + it;
      sum = rotl(sum, 1) ^ v;
    }
    __asm__ volatile("sfence.vma" ::: "memory");
    u32 a = (it * 5) & (PAGES - 1), b = (it * 11 + 1) & (PAGES - 1);
    u32 t = *pte_of(a);
    *pte_of(a) = *pte_of(b);
    *pte_of(b) = t;
    __asm__ volatile("sfence.vma %0" ::"r"(WINDOW + a * 4096) : "memory");
    __asm__ volatile("sfence.vma %0" ::"r"(WINDOW + b * 4096) : "memory");
  }
  result = sum;
  __asm__ volatile("ecall");
  for (;;) {
  }
}

const char test_name[] = "bench_sv32";

void test_main(void) {
  /* The image's 4 MiB (code, data, stack, page tables): one identity megapage. */
  root[0x80000000u >> 22] = (0x80000000u >> 12) << 10 | PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D;
  for (u32 t = 0; t < 2; t++)
    root[(WINDOW >> 22) + t] = ((u32)leaf[t] >> 12) << 10 | PTE_V;
  for (u32 page = 0; page < PAGES; page++) {
    u32 phys = POOL + ((page * 1237) & (PAGES - 1)) * 4096;
    *pte_of(page) = (phys >> 12) << 10 | PTE_V | PTE_R | PTE_W | PTE_A | PTE_D;
  }
  __asm__ volatile("csrw mtvec, %0" ::"r"(handler));
  __asm__ volatile("csrw satp, %0" ::"r"(0x80000000u | (u32)root >> 12));
  __asm__ volatile("csrc mstatus, %0" ::"r"(MSTATUS_MPP));
  __asm__ volatile("csrs mstatus, %0" ::"r"(MSTATUS_MPP_S));
  __asm__ volatile("csrw mepc, %0" ::"r"(kernel_main));
  __asm__ volatile("mret");
  __builtin_unreachable();
}
