/* Several harts doing virtio-blk I/O while the monitor unplugs and plugs their disks (and
 * RAM): hart h drives the disk in slot 7 - h with its own queue, ROUNDS rounds of: write a
 * 4 KiB pattern (hart, round) to block round % 4, flush, read it back and compare every
 * byte. When its device disappears (DeviceID 0) while it waits, the hart counts a
 * reconnect, waits for the device to come back, sets it up again and redoes the round
 * (same data, same block). At the end each hart reads its four blocks back and checks
 * them against the last pattern it wrote there, prints "hart h: ok, R rounds,
 * G reconnects" and hart 0 passes through the finisher once all are done; any wrong
 * byte fails with code 0x10 + h. Built by build.sh (rv32imac, -O2, no libc).
 *
 * Built with -DSOAK (soak.elf, host/tests/soak.rs and scripts/soak): the harts run until
 * the host writes a non-zero word at the start of sector 40 of their disk (read before
 * every round), and each round also moves the block it read back with DMA channel h
 * (fief,dma-1.0, polled) into a private buffer, compared byte by byte, and into RAM the
 * monitor plugs and unplugs at 0x90000000 (done, unassigned or revoked are all fine there:
 * the device may be gone). The harts that started (any number up to 4) then check their blocks as above and print "hart h: ok,
 * R rounds, G reconnects, D dma, P hot done, U hot refused"; hart 0 then prints "soak: all
 * harts done" and waits (the host checks the pools, then quits). Any other DMA status fails
 * with 0x50 + h, a wrong DMA byte with 0x60 + h. */
#define QSIZE 4
#pragma GCC diagnostic ignored "-Wunused-function"
#include "virtio_mmio.h"

#define MAX_HARTS 4
#ifndef ROUNDS
#define ROUNDS 200
#endif

__asm__(".section .text.init\n.globl _start\n_start:\n"
        " la sp, stacks\n addi t0, a0, 1\n slli t0, t0, 12\n add sp, sp, t0\n"
        " call hart_main\n1: j 1b\n");

u8 stacks[MAX_HARTS][4096] __attribute__((aligned(16)));
static volatile u32 print_lock;
static volatile u32 done_count;
#ifdef SOAK
static volatile u32 started_count; /* -smp 1 for the gdb stub, 4 otherwise */
#endif

static void lock(void) {
  while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}
static void unlock(void) { __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE); }

static void fail(u32 code) {
  *FINISHER = code << 16 | 0x3333;
  for (;;) {
  }
}

struct hart {
  struct queue q;
  u8 hdr[16];
  u8 buf[4096];
  u8 back[4096];
  volatile u8 status;
  u16 last_used;
  u32 slot;
  u32 last_round[4];
#ifdef SOAK
  u8 dmabuf[4096];
  u32 dmadesc[8] __attribute__((aligned(8)));
#endif
} __attribute__((aligned(4096)));

static struct hart harts[MAX_HARTS];

static u8 pattern(u32 h, u32 r, u32 i) { return (u8)(i * 31 + h * 7 + r * 13 + (i >> 8)); }

/* Waits for the device and sets it up (legacy layout). */
static void setup(struct hart *t) {
  u32 s = t->slot;
  while (R(s, 8) != 2) {
  }
  R(s, 0x70) = 0;
  R(s, 0x70) = 3;
  R(s, 0x24) = 0;
  R(s, 0x20) = 1u << 9; /* FLUSH */
  R(s, 0x30) = 0;
  R(s, 0x38) = QSIZE;
  R(s, 0x28) = 4096;
  R(s, 0x3c) = 4096;
  t->q.avail_idx = 0;
  t->q.used_idx = 0;
  t->last_used = 0;
  FENCE();
  R(s, 0x40) = (u32)&t->q >> 12;
  R(s, 0x70) = 7;
}

/* One request; returns its status, or -1 if the device went away meanwhile. */
static int request(struct hart *t, u32 type, u32 sector, u8 *data) {
  struct queue *q = &t->q;
  for (int i = 0; i < 16; i++)
    t->hdr[i] = 0;
  t->hdr[0] = (u8)type;
  t->hdr[8] = (u8)sector;
  q->desc[0] = (struct desc){(u32)t->hdr, 16, 1, 1};
  u16 st = 1;
  if (data) {
    q->desc[1] = (struct desc){(u32)data, 4096, (u16)(1 | (type == 0 ? 2 : 0)), 2};
    st = 2;
  }
  q->desc[st] = (struct desc){(u32)&t->status, 1, 2, 0};
  t->status = 0xff;
  q->avail_ring[q->avail_idx % QSIZE] = 0;
  FENCE();
  q->avail_idx++;
  FENCE();
  R(t->slot, 0x50) = 0;
  while (q->used_idx == t->last_used) {
    if (R(t->slot, 8) != 2 || (R(t->slot, 0x70) & 4) == 0)
      return -1;
  }
  FENCE();
  t->last_used++;
  R(t->slot, 0x64) = R(t->slot, 0x60);
  return t->status;
}

#ifdef SOAK
#define DMA_CH(c, o) (*(volatile u32 *)(0x10200000u + 0x100 + 0x40 * (c) + (o)))
#define HOT_RAM 0x90000000u

/* Copies 4096 bytes from src to dst with channel h; returns the final STATUS. */
static u32 dma_copy(struct hart *t, u32 h, u32 src, u32 dst) {
  u32 *d = t->dmadesc;
  d[0] = src;
  d[1] = 0;
  d[2] = dst;
  d[3] = 0;
  d[4] = 0;
  d[5] = 0;
  d[6] = 4096;
  d[7] = 2; /* LAST */
  FENCE();
  DMA_CH(h, 0) = (u32)d;
  DMA_CH(h, 4) = 0;
  DMA_CH(h, 8) = 1;
  u32 st;
  while (((st = DMA_CH(h, 0xc)) & 0xf) == 1) {
  }
  FENCE();
  return st;
}

/* The host's stop word (sector 40's first word), or -1 if the device went away. */
static int stop_word(struct hart *t) {
  if (request(t, 0, 40, t->back) < 0)
    return -1;
  return t->back[0] | t->back[1] | t->back[2] | t->back[3];
}
#endif

void hart_main(u32 h) {
  if (h >= MAX_HARTS)
    for (;;) {
    }
  struct hart *t = &harts[h];
  t->slot = 7 - h;
  u32 reconnects = 0;
#ifdef SOAK
  __atomic_fetch_add(&started_count, 1, __ATOMIC_SEQ_CST);
#endif
  setup(t);
#ifdef SOAK
  u32 dmas = 0, hot_done = 0, hot_refused = 0;
  u32 r;
  for (r = 0;; r++) {
    if (r >= 4) { /* every block written once before the host may stop the run */
      int w = stop_word(t);
      if (w < 0) {
        reconnects++;
        setup(t);
        r--;
        continue;
      }
      if (w)
        break;
    }
#else
  for (u32 r = 0; r < ROUNDS; r++) {
#endif
    for (u32 i = 0; i < 4096; i++)
      t->buf[i] = pattern(h, r, i);
    u32 sector = 8 * (r % 4);
    int a = request(t, 1, sector, t->buf);
    int b = a < 0 ? -1 : request(t, 4, 0, 0);
    int c = b < 0 ? -1 : request(t, 0, sector, t->back);
    if (a < 0 || b < 0 || c < 0) {
      reconnects++;
      setup(t);
      r--; /* the same round again: same data, same block */
      continue;
    }
    if (a || b || c)
      fail(0x20 + h);
    for (u32 i = 0; i < 4096; i++)
      if (t->back[i] != t->buf[i])
        fail(0x10 + h);
    t->last_round[r % 4] = r;
#ifdef SOAK
    u32 st = dma_copy(t, h, (u32)t->back, (u32)t->dmabuf);
    if ((st & 0xf) != 2)
      fail(0x50 + h);
    for (u32 i = 0; i < 4096; i++)
      if (t->dmabuf[i] != t->buf[i])
        fail(0x60 + h);
    dmas++;
    /* Into the hot-plugged RAM: done, or unassigned (2) / revoked (3) when it is gone. */
    st = dma_copy(t, h, (u32)t->back, HOT_RAM + h * 0x4000);
    if ((st & 0xf) == 2)
      hot_done++;
    else if ((st & 0xf) == 3 && ((st >> 8 & 0xff) == 2 || (st >> 8 & 0xff) == 3))
      hot_refused++;
    else
      fail(0x50 + h);
#endif
  }
  /* Every block holds the last pattern written there. */
  for (u32 k = 0; k < 4; k++) {
    int c;
    while ((c = request(t, 0, 8 * k, t->back)) < 0) {
      reconnects++;
      setup(t);
    }
    if (c)
      fail(0x30 + h);
    for (u32 i = 0; i < 4096; i++)
      if (t->back[i] != pattern(h, t->last_round[k], i))
        fail(0x40 + h);
  }
  lock();
  puts_("hart ");
  dec(h);
  puts_(": ok, ");
#ifdef SOAK
  dec(r);
#else
  dec(ROUNDS);
#endif
  puts_(" rounds, ");
  dec(reconnects);
#ifdef SOAK
  puts_(" reconnects, ");
  dec(dmas);
  puts_(" dma, ");
  dec(hot_done);
  puts_(" hot done, ");
  dec(hot_refused);
  puts_(" hot refused\n");
#else
  puts_(" reconnects\n");
#endif
  unlock();
  __atomic_fetch_add(&done_count, 1, __ATOMIC_SEQ_CST);
  if (h == 0) {
#ifdef SOAK
    u32 n = started_count;
#else
    u32 n = HARTS;
#endif
    while (done_count < n) {
    }
#ifdef SOAK
    lock();
    puts_("soak: all harts done\n");
    unlock();
    for (;;)
      __asm__ volatile("wfi");
#else
    *FINISHER = 0x5555;
#endif
  }
  for (;;) {
  }
}
