/* bench_calls: deep recursion and many small calls: naive Fibonacci, Ackermann(2, n),
 * a recursive binary-tree walk over an implicit tree, and chains of tiny non-inlined
 * functions through a function-pointer table (calls, returns, stack traffic). */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 240
#endif

static NOINLINE u32 fib(u32 n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static NOINLINE u32 ack(u32 m, u32 n) {
  if (m == 0)
    return n + 1;
  if (n == 0)
    return ack(m - 1, 1);
  return ack(m - 1, ack(m, n - 1));
}

/* The sum of a hash over an implicit complete binary tree of the given depth. */
static NOINLINE u32 tree(u32 node, u32 depth) {
  if (depth == 0)
    return node * 2654435761u;
  return tree(node * 2, depth - 1) ^ rotl(tree(node * 2 + 1, depth - 1), 1);
}

static NOINLINE u32 f_add(u32 x, u32 y) { return x + y; }
static NOINLINE u32 f_xor(u32 x, u32 y) { return x ^ (y << 1); }
static NOINLINE u32 f_rot(u32 x, u32 y) { return rotl(x, (int)(y & 31)) + 1; }
static NOINLINE u32 f_mul(u32 x, u32 y) { return x * (y | 1); }

static u32 (*const ops[4])(u32, u32) = {f_add, f_xor, f_rot, f_mul};

static NOINLINE u32 chain(u32 x, u32 n) {
  for (u32 i = 0; i < n; i++)
    x = ops[(x ^ i) & 3](x, i);
  return x;
}

const char test_name[] = "bench_calls";

void test_main(void) {
  u32 checksum = 0x7f4a7c15;
  u32 iterations = ITERATIONS;
  for (u32 it = 0; it < iterations; it++) {
    checksum = rotl(checksum, 3) ^ fib(20 + (it & 1));
    checksum = rotl(checksum, 3) ^ ack(2, 200 + (it & 7));
    checksum = rotl(checksum, 3) ^ tree(it, 14);
    checksum = rotl(checksum, 3) ^ chain(checksum, 20000);
  }
  bench_report(iterations, checksum);
}
