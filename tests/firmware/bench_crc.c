/* bench_crc: CRC-32 bitwise and table-driven, CRC-16/CCITT, and bit twiddling (population
 * count, bit reversal, leading zeros by hand: the M/C-only ISA has no Zbb) over a buffer. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 2300
#endif
#define LEN 4096

static u8 buf[LEN];
static u32 table[256];

static NOINLINE u32 crc32_bitwise(const u8 *p, int n) {
  u32 crc = 0xffffffffu;
  for (int i = 0; i < n; i++) {
    crc ^= p[i];
    for (int k = 0; k < 8; k++)
      crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

static NOINLINE u32 crc32_table(const u8 *p, int n) {
  u32 crc = 0xffffffffu;
  for (int i = 0; i < n; i++)
    crc = table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
  return ~crc;
}

static NOINLINE u16 crc16(const u8 *p, int n) {
  u16 crc = 0xffff;
  for (int i = 0; i < n; i++) {
    crc ^= (u16)(p[i] << 8);
    for (int k = 0; k < 8; k++)
      crc = (crc & 0x8000) ? (u16)((crc << 1) ^ 0x1021) : (u16)(crc << 1);
  }
  return crc;
}

static u32 popcount(u32 x) {
  x = x - ((x >> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
  x = (x + (x >> 4)) & 0x0f0f0f0f;
  return (x * 0x01010101) >> 24;
}

static u32 reverse(u32 x) {
  x = (x >> 1 & 0x55555555) | (x & 0x55555555) << 1;
  x = (x >> 2 & 0x33333333) | (x & 0x33333333) << 2;
  x = (x >> 4 & 0x0f0f0f0f) | (x & 0x0f0f0f0f) << 4;
  x = (x >> 8 & 0x00ff00ff) | (x & 0x00ff00ff) << 8;
  return x >> 16 | x << 16;
}

static u32 clz(u32 x) {
  u32 n = 0;
  if (!x)
    return 32;
  while (!(x & 0x80000000u)) {
    x <<= 1;
    n++;
  }
  return n;
}

static NOINLINE u32 twiddle(const u32 *w, int n) {
  u32 acc = 0;
  for (int i = 0; i < n; i++) {
    u32 x = w[i];
    acc += popcount(x) + clz(x >> (x & 15));
    acc ^= reverse(x + acc);
  }
  return acc;
}

const char test_name[] = "bench_crc";

void test_main(void) {
  u32 checksum = 0x55aa55aa;
  u32 iterations = ITERATIONS;
  for (u32 i = 0; i < 256; i++) {
    u32 c = i;
    for (int k = 0; k < 8; k++)
      c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    table[i] = c;
  }
  for (u32 it = 0; it < iterations; it++) {
    rng_state = checksum | 1;
    for (int i = 0; i < LEN; i += 4) {
      u32 r = rng();
      buf[i] = (u8)r;
      buf[i + 1] = (u8)(r >> 8);
      buf[i + 2] = (u8)(r >> 16);
      buf[i + 3] = (u8)(r >> 24);
    }
    u32 x = crc32_bitwise(buf, LEN), y = crc32_table(buf, LEN);
    if (x != y)
      checksum ^= 0xbad0c0de;
    checksum = rotl(checksum, 5) ^ x ^ ((u32)crc16(buf, LEN) << 9);
    checksum = rotl(checksum, 5) ^ twiddle((const u32 *)buf, LEN / 4);
  }
  bench_report(iterations, checksum);
}
