/* bench_mem: memcpy/memset-heavy code: word-wise copies and fills when source and
 * destination are aligned alike, byte-wise otherwise, over blocks of many sizes and offsets
 * in a 64 KiB arena (the shape of a kernel's buffer handling), and a compare. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 150
#endif
#define ARENA 65536

static u8 arena[ARENA] __attribute__((aligned(16)));

static NOINLINE void copy(u8 *d, const u8 *s, u32 n) {
  if ((((unsigned long)d ^ (unsigned long)s) & 3) == 0) {
    while (n && ((unsigned long)d & 3)) {
      *d++ = *s++;
      n--;
    }
    u32 *dw = (u32 *)d;
    const u32 *sw = (const u32 *)s;
    for (; n >= 16; n -= 16) {
      u32 a = sw[0], b = sw[1], c = sw[2], e = sw[3];
      dw[0] = a;
      dw[1] = b;
      dw[2] = c;
      dw[3] = e;
      dw += 4;
      sw += 4;
    }
    for (; n >= 4; n -= 4)
      *dw++ = *sw++;
    d = (u8 *)dw;
    s = (const u8 *)sw;
  }
  while (n--)
    *d++ = *s++;
}

static NOINLINE void fill(u8 *d, u8 c, u32 n) {
  while (n && ((unsigned long)d & 3)) {
    *d++ = c;
    n--;
  }
  u32 w = c * 0x01010101u;
  u32 *dw = (u32 *)d;
  for (; n >= 4; n -= 4)
    *dw++ = w;
  d = (u8 *)dw;
  while (n--)
    *d++ = c;
}

static NOINLINE u32 compare(const u8 *a, const u8 *b, u32 n) {
  u32 diff = 0;
  for (u32 i = 0; i < n; i++)
    diff += a[i] != b[i];
  return diff;
}

const char test_name[] = "bench_mem";

void test_main(void) {
  u32 checksum = 0x31415926;
  u32 iterations = ITERATIONS;
  for (u32 i = 0; i < ARENA; i++)
    arena[i] = (u8)rng();
  for (u32 it = 0; it < iterations; it++) {
    for (u32 k = 0; k < 2000; k++) {
      u32 r = rng();
      u32 n = (r & 0xfff) + 1;
      u32 s = (r >> 12) % (ARENA - n), d = rng() % (ARENA - n);
      if (k & 1) {
        d &= ~3u;
        s &= ~3u; /* half the copies aligned alike: the word path */
      }
      if ((k & 7) == 5)
        fill(arena + d, (u8)r, n);
      else
        copy(arena + d, arena + s, n);
      checksum = rotl(checksum, 1) ^ arena[d] ^ ((u32)arena[d + n - 1] << 8);
    }
    checksum += compare(arena, arena + ARENA / 2, ARENA / 2);
  }
  bench_report(iterations, checksum);
}
