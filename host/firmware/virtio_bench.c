/* The virtio-blk benchmark (scripts/bench-virtio): Fief's driver (virtio_common.h) doing
 * 4 KiB requests, one at a time, on the disk in slot 7: a sequential read of the whole
 * disk, a sequential write of it, then RANDOM random-sector reads and RANDOM random writes
 * (a fixed LCG), a flush after each write phase; with WAIT_WFI it waits for each
 * completion in `wfi` on the slot's interrupt instead of polling the used ring. Each
 * phase prints its time in microseconds (the CLINT's mtime, 10 MHz, on Fief and QEMU
 * alike) and a checksum of what it read, then the run passes. Built by build.sh. */
#include "virtio_common.h"

#ifndef RANDOM
#define RANDOM 2048
#endif
static u32 now_us(void) { return *(volatile u32 *)0x200bff8; } /* ticks of 100 ns */

static void phase(const char *name, u32 t0, u32 ops, u32 sum) {
  u32 us = (now_us() - t0) / 10;
  puts_(name);
  puts_(": ");
  dec(ops);
  puts_(" x 4 KiB in ");
  dec(us);
  puts_(" us, checksum ");
  hex(sum);
  putc_('\n');
}

int main(void) {
  u32 s = 7;
  if (R(s, 8) != 2)
    fail(1);
  version = R(s, 4);
  setup(s, &queues[0], 1u << 9, 0);
#ifdef WAIT_WFI
  irq_setup(s);
#endif
  u32 blocks = R(s, 0x100) / 8;
  u32 sum = 2166136261u, t0 = now_us();
  for (u32 b = 0; b < blocks; b++) {
    if (blk(s, 0, b * 8, 4096))
      fail(2);
    sum = fnv(sum, data, 64);
  }
  phase("seq read", t0, blocks, sum);
  t0 = now_us();
  for (u32 b = 0; b < blocks; b++) {
    data[0] = (u8)b;
    data[1] = (u8)(b >> 8);
    if (blk(s, 1, b * 8, 4096))
      fail(3);
  }
  if (blk(s, 4, 0, 0))
    fail(4);
  phase("seq write", t0, blocks, 0);
  u32 x = 12345;
  sum = 2166136261u;
  t0 = now_us();
  for (u32 i = 0; i < RANDOM; i++) {
    x = x * 1103515245u + 12345u;
    if (blk(s, 0, ((x >> 8) % blocks) * 8, 4096))
      fail(5);
    sum = fnv(sum, data, 64);
  }
  phase("random read", t0, RANDOM, sum);
  t0 = now_us();
  for (u32 i = 0; i < RANDOM; i++) {
    x = x * 1103515245u + 12345u;
    data[0] = (u8)i;
    if (blk(s, 1, ((x >> 8) % blocks) * 8, 4096))
      fail(6);
  }
  if (blk(s, 4, 0, 0))
    fail(7);
  phase("random write", t0, RANDOM, 0);
  *FINISHER = 0x5555;
  for (;;) {
  }
}
