/* bench_matrix: integer matrix multiply (48 x 48, i-k-j order) plus a transpose and a
 * row/column fold; arithmetic-dense loops with long basic blocks. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 1500
#endif
#define N 48

static i32 a[N][N], b[N][N], c[N][N], t[N][N];

const char test_name[] = "bench_matrix";

void test_main(void) {
  u32 checksum = 0xabcdef;
  u32 iterations = ITERATIONS;
  for (int i = 0; i < N; i++)
    for (int j = 0; j < N; j++) {
      a[i][j] = (i32)(rng() & 0x3ff) - 0x200;
      b[i][j] = (i32)(rng() & 0x3ff) - 0x200;
    }
  for (u32 it = 0; it < iterations; it++) {
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        c[i][j] = 0;
    for (int i = 0; i < N; i++)
      for (int k = 0; k < N; k++) {
        i32 x = a[i][k];
        for (int j = 0; j < N; j++)
          c[i][j] += x * b[k][j];
      }
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        t[j][i] = c[i][j] >> 4;
    u32 sum = 0;
    for (int i = 0; i < N; i++)
      for (int j = 0; j < N; j++)
        sum = sum * 31 + (u32)t[i][j];
    checksum = rotl(checksum, 7) ^ sum;
    /* Feed the result back: the next product depends on this one. */
    a[it % N][(it * 7) % N] = (i32)(sum & 0x3ff) - 0x200;
    for (int j = 0; j < N; j++)
      b[j][it % N] = t[j][(it + 1) % N] & 0x3ff;
  }
  bench_report(iterations, checksum);
}
