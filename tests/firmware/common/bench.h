/* Shared helpers of the C benchmark programs (bench_*.c): no libc, one translation unit per
 * program. Each program defines ITERATIONS (overridden by build.sh for the _small variant),
 * computes a checksum and ends with bench_report(), which prints
 * "<name>: iterations <n> checksum 0x<hex>" and passes through the finisher. */
#ifndef FIEF_BENCH_H
#define FIEF_BENCH_H
#include "test.h"

typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;
typedef unsigned short u16;
typedef unsigned char u8;

#define NOINLINE __attribute__((noinline))

/* Writable data starts on a page of its own (this object's alignment aligns the whole .data
 * output section, and .bss follows it): QEMU's TCG sends every store to a page that holds
 * translated code through its self-modifying-code check, a slow path, so data sharing the
 * code's page would measure that instead of the workload. */
volatile u32 bench_data_page[1] __attribute__((aligned(4096))) = {1};

/* gcc may emit calls to these even with -fno-builtin (struct copies, zeroing). */
void *memset(void *dst, int c, unsigned long n) {
  u8 *d = dst;
  while (n--)
    *d++ = (u8)c;
  return dst;
}

void *memcpy(void *dst, const void *src, unsigned long n) {
  u8 *d = dst;
  const u8 *s = src;
  while (n--)
    *d++ = *s++;
  return dst;
}

static void uart_putc(char c) {
  volatile u8 *uart = (volatile u8 *)UART_BASE;
  while ((uart[UART_LSR] & UART_LSR_THRE) == 0) {
  }
  uart[0] = (u8)c;
}

static void uart_puts(const char *s) {
  while (*s)
    uart_putc(*s++);
}

static void uart_hex(u32 v) {
  for (int shift = 28; shift >= 0; shift -= 4)
    uart_putc("0123456789abcdef"[(v >> shift) & 15]);
}

static inline void uart_dec(u32 v) {
  char buf[11];
  int i = 0;
  do {
    buf[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i)
    uart_putc(buf[--i]);
}

/* A xorshift generator: every workload is deterministic. */
static u32 rng_state = 0x2545f491;

static inline u32 rng(void) {
  u32 x = rng_state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  rng_state = x;
  return x;
}

static inline u32 rotl(u32 x, int n) { return x << n | x >> (32 - n); }

extern const char test_name[];
void _pass(void) __attribute__((noreturn));
void test_main(void) __attribute__((noreturn));

static void __attribute__((noreturn)) bench_report(u32 iterations, u32 checksum) {
  uart_puts(test_name);
  uart_puts(": iterations ");
  uart_dec(iterations);
  uart_puts(" checksum 0x");
  uart_hex(checksum);
  uart_putc('\n');
  _pass();
}

#endif /* FIEF_BENCH_H */
