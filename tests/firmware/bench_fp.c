/* bench_fp: an FP-heavy workload (our own code) for the F/D speed comparison with QEMU
 * (tests/benches/hart.rs with FIEF_BENCH_IMAGE=bench_fp) and, built with fewer iterations
 * as bench_fp_small, for the differential test (tests/tests/qemu_diff.rs).
 *
 * Each iteration runs, on data derived from the running checksum:
 *  - an n-body step over 6 bodies in double precision (sqrt, divisions, FMAs from GCC's
 *    contraction), and the system's energy;
 *  - a 12 x 12 single-precision matrix multiply-accumulate;
 *  - conversions between float, double and 32-bit integers, fmin/fmax and comparisons.
 * It prints "bench_fp: iterations <n> checksum 0x<hex>" and passes through the finisher.
 * Built with -march=rv32imafdc -mabi=ilp32 (soft-float calling convention, hardware FP
 * instructions); test_main enables mstatus.FS before any FP instruction. */
#include "test.h"

#ifndef ITERATIONS
#define ITERATIONS 5000
#endif

typedef unsigned int u32;
typedef int i32;
typedef unsigned char u8;
typedef unsigned long long u64;

/* Writable data starts on a page of its own (this object's alignment aligns the whole .data
 * output section, and .bss follows it): QEMU's TCG sends every store to a page that holds
 * translated code through its self-modifying-code check, a slow path. */
volatile u32 bench_data_page[1] __attribute__((aligned(4096))) = {1};

void *memset(void *dst, int c, unsigned long n) {
  u8 *d = dst;
  while (n--)
    *d++ = (u8)c;
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

static void uart_dec(u32 v) {
  char buf[11];
  int i = 0;
  do {
    buf[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i)
    uart_putc(buf[--i]);
}

static u32 bits_f(float f) {
  union { float f; u32 u; } x = {.f = f};
  return x.u;
}

static u64 bits_d(double d) {
  union { double d; u64 u; } x = {.d = d};
  return x.u;
}

#define NB 6
struct body {
  double x, y, z, vx, vy, vz, m;
};
static struct body bodies[NB];

static void bodies_init(u32 seed) {
  for (int i = 0; i < NB; i++) {
    double k = (double)(i + 1) + (double)(seed & 0xff) / 1024.0;
    bodies[i].x = k * 1.25;
    bodies[i].y = -k * 0.5 + (double)i;
    bodies[i].z = k * 0.0625 - 1.0;
    bodies[i].vx = 0.01 * (double)(i - 2);
    bodies[i].vy = 0.02 / k;
    bodies[i].vz = -0.003 * k;
    bodies[i].m = i == 0 ? 39.47841760435743 : 0.0377 / k;
  }
}

static void nbody_advance(double dt, int steps) {
  for (int s = 0; s < steps; s++) {
    for (int i = 0; i < NB; i++) {
      struct body *a = &bodies[i];
      for (int j = i + 1; j < NB; j++) {
        struct body *b = &bodies[j];
        double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
        double d2 = dx * dx + dy * dy + dz * dz;
        double mag = dt / (d2 * __builtin_sqrt(d2));
        a->vx -= dx * b->m * mag;
        a->vy -= dy * b->m * mag;
        a->vz -= dz * b->m * mag;
        b->vx += dx * a->m * mag;
        b->vy += dy * a->m * mag;
        b->vz += dz * a->m * mag;
      }
    }
    for (int i = 0; i < NB; i++) {
      bodies[i].x += dt * bodies[i].vx;
      bodies[i].y += dt * bodies[i].vy;
      bodies[i].z += dt * bodies[i].vz;
    }
  }
}

static double nbody_energy(void) {
  double e = 0.0;
  for (int i = 0; i < NB; i++) {
    struct body *a = &bodies[i];
    e += 0.5 * a->m * (a->vx * a->vx + a->vy * a->vy + a->vz * a->vz);
    for (int j = i + 1; j < NB; j++) {
      struct body *b = &bodies[j];
      double dx = a->x - b->x, dy = a->y - b->y, dz = a->z - b->z;
      e -= a->m * b->m / __builtin_sqrt(dx * dx + dy * dy + dz * dz);
    }
  }
  return e;
}

#define N 12
static float ma[N][N], mb[N][N], mc[N][N];

static u32 matrix_kernel(u32 seed) {
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      ma[i][j] = (float)(i32)((seed >> (j & 15)) & 0xff) * 0.0078125f - 1.0f;
      mb[i][j] = (float)(i - j) / (float)(j + 3);
    }
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      float acc = mc[i][j] * 0.5f;
      for (int k = 0; k < N; k++)
        acc += ma[i][k] * mb[k][j];
      mc[i][j] = acc;
    }
  u32 h = 0;
  for (int i = 0; i < N; i++)
    h = (h << 3 | h >> 29) ^ bits_f(mc[i][(i * 5) % N]);
  return h;
}

static float fmin_s(float a, float b) {
  float r;
  __asm__("fmin.s %0, %1, %2" : "=f"(r) : "f"(a), "f"(b));
  return r;
}

static float fmax_s(float a, float b) {
  float r;
  __asm__("fmax.s %0, %1, %2" : "=f"(r) : "f"(a), "f"(b));
  return r;
}

static u32 convert_kernel(u32 seed) {
  u32 h = seed;
  float lo = 1e30f, hi = -1e30f;
  for (int i = 0; i < 32; i++) {
    double d = (double)(i32)(h ^ (u32)i * 0x9e3779b9u) / 3.0;
    float f = (float)d;
    lo = fmin_s(lo, f);
    hi = fmax_s(hi, f);
    i32 n = (i32)(f * 0.001f);
    u32 u = (u32)(d < 0 ? -d : d);
    h = (h << 7 | h >> 25) ^ (u32)n ^ u ^ (u32)(f < (float)i) ^ (u32)(d == (double)f);
  }
  return h ^ bits_f(lo) ^ bits_f(hi);
}

const char test_name[] = "bench_fp";

void _pass(void) __attribute__((noreturn));
void bench_main(void) __attribute__((noreturn));

/* mstatus.FS = Initial before any FP instruction, then the C entry. */
__asm__(".globl test_main\n"
        "test_main:\n"
        "  li t0, 0x2000\n"
        "  csrs mstatus, t0\n"
        "  j bench_main\n");

void bench_main(void) {
  u32 checksum = 0x12345678;
  u32 iterations = ITERATIONS; /* a variable: no "always false" warning for 0 */
  bodies_init(checksum);
  for (u32 it = 0; it < iterations; it++) {
    if ((it & 63) == 0)
      bodies_init(checksum);
    nbody_advance(0.001, 4);
    u64 e = bits_d(nbody_energy());
    checksum = (checksum << 5 | checksum >> 27) ^ (u32)e ^ (u32)(e >> 32);
    checksum = (checksum << 5 | checksum >> 27) ^ matrix_kernel(checksum);
    checksum = (checksum << 5 | checksum >> 27) ^ convert_kernel(checksum);
  }
  uart_puts("bench_fp: iterations ");
  uart_dec(iterations);
  uart_puts(" checksum 0x");
  uart_hex(checksum);
  uart_putc('\n');
  _pass();
}
