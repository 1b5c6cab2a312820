/* Several harts doing virtio-blk I/O while the monitor unplugs and plugs their disks (and
 * RAM): hart h drives the disk in slot 7 - h with its own queue, ROUNDS rounds of: write a
 * 4 KiB pattern (hart, round) to block round % 4, flush, read it back and compare every
 * byte. When its device disappears (DeviceID 0) while it waits, the hart counts a
 * reconnect, waits for the device to come back, sets it up again and redoes the round
 * (same data, same block). At the end each hart reads its four blocks back and checks
 * them against the last pattern it wrote there, prints "hart h: ok, R rounds,
 * G reconnects" and hart 0 passes through the finisher once all are done; any wrong
 * byte fails with code 0x10 + h. Built by build.sh (rv32imac, -O2, no libc). */
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

#define UART ((volatile u8 *)0x10000000)
#define FINISHER ((volatile u32 *)0x100000)
#define VIRTIO_BASE 0x10001000u
#define QSIZE 4
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

static void lock(void) {
  while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE)) {
  }
}
static void unlock(void) { __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE); }

static void putc_(char c) {
  while ((UART[5] & 0x20) == 0) {
  }
  UART[0] = (u8)c;
}
static void puts_(const char *s) {
  while (*s)
    putc_(*s++);
}
static void dec(u32 v) {
  char b[11];
  int i = 0;
  do {
    b[i++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (i)
    putc_(b[--i]);
}
static void fail(u32 code) {
  *FINISHER = code << 16 | 0x3333;
  for (;;) {
  }
}

static volatile u32 *reg(u32 slot, u32 off) { return (volatile u32 *)(VIRTIO_BASE + slot * 0x1000 + off); }
#define R(s, o) (*reg(s, o))
#define FENCE() __asm__ volatile("fence rw, rw" ::: "memory")

struct desc {
  u64 addr;
  u32 len;
  u16 flags;
  u16 next;
};
struct queue {
  struct desc desc[QSIZE];
  u16 avail_flags, avail_idx, avail_ring[QSIZE], used_event;
  u8 pad[4096 - QSIZE * 16 - 6 - 2 * QSIZE];
  u16 used_flags;
  volatile u16 used_idx;
  struct {
    u32 id, len;
  } used_ring[QSIZE];
} __attribute__((aligned(4096)));

struct hart {
  struct queue q;
  u8 hdr[16];
  u8 buf[4096];
  u8 back[4096];
  volatile u8 status;
  u16 last_used;
  u32 slot;
  u32 last_round[4];
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

void hart_main(u32 h) {
  if (h >= MAX_HARTS)
    for (;;) {
    }
  struct hart *t = &harts[h];
  t->slot = 7 - h;
  u32 reconnects = 0;
  setup(t);
  for (u32 r = 0; r < ROUNDS; r++) {
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
  dec(ROUNDS);
  puts_(" rounds, ");
  dec(reconnects);
  puts_(" reconnects\n");
  unlock();
  __atomic_fetch_add(&done_count, 1, __ATOMIC_SEQ_CST);
  if (h == 0) {
    u32 n = HARTS;
    while (done_count < n) {
    }
    *FINISHER = 0x5555;
  }
  for (;;) {
  }
}
