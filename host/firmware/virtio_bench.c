/* The virtio-blk benchmark (scripts/bench-virtio): Fief's driver (the helpers of
 * virtio_drv.c) doing 4 KiB requests, one at a time, on the disk in slot 7: a sequential
 * read of the whole disk, a sequential write of it, then RANDOM random-sector reads and
 * RANDOM random writes (a fixed LCG), a flush after each write phase. Each phase prints
 * its time in microseconds (the CLINT's mtime, 10 MHz, on Fief and QEMU alike) and a
 * checksum of what it read, then the run passes. Built by build.sh. */
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

#define UART ((volatile u8 *)0x10000000)
#define FINISHER ((volatile u32 *)0x100000)
#define VIRTIO_BASE 0x10001000u
#define QSIZE 8

__asm__(".section .text.init\n.globl _start\n_start:\n la sp, stack_top\n call main\n1: j 1b\n");

static void putc_(char c) {
  while ((UART[5] & 0x20) == 0) {
  }
  UART[0] = (u8)c;
}
static void puts_(const char *s) {
  while (*s)
    putc_(*s++);
}
static void hex(u32 v) {
  for (int s = 28; s >= 0; s -= 4)
    putc_("0123456789abcdef"[(v >> s) & 15]);
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
  puts_("virtio: FAIL ");
  dec(code);
  putc_('\n');
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
/* One queue's memory, page aligned: descriptors, avail ring, then (legacy) the used ring
 * on the next page. */
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

static struct queue queues[2];
static u16 last_used[2];
static u32 version;

static u8 hdr[16] __attribute__((aligned(16)));
static u8 data[8192] __attribute__((aligned(16)));
static volatile u8 status_byte;

static void setup(u32 slot, struct queue *q, u32 features) {
  R(slot, 0x70) = 0;
  R(slot, 0x70) = 1;
  R(slot, 0x70) = 3;
  R(slot, 0x14) = 0;
  u32 offered = R(slot, 0x10);
  R(slot, 0x24) = 0;
  R(slot, 0x20) = offered & features;
  if (version == 2) {
    R(slot, 0x14) = 1;
    if ((R(slot, 0x10) & 1) == 0)
      fail(10); /* VERSION_1 */
    R(slot, 0x24) = 1;
    R(slot, 0x20) = 1;
    R(slot, 0x70) = 3 | 8;
    if ((R(slot, 0x70) & 8) == 0)
      fail(11);
  }
  R(slot, 0x30) = 0;
  if (R(slot, 0x34) < QSIZE)
    fail(12);
  R(slot, 0x38) = QSIZE;
  if (version == 1) {
    R(slot, 0x28) = 4096;
    R(slot, 0x3c) = 4096;
    R(slot, 0x40) = (u32)q >> 12;
  } else {
    R(slot, 0x80) = (u32)&q->desc;
    R(slot, 0x84) = 0;
    R(slot, 0x90) = (u32)&q->avail_flags;
    R(slot, 0x94) = 0;
    R(slot, 0xa0) = (u32)&q->used_flags;
    R(slot, 0xa4) = 0;
    R(slot, 0x44) = 1;
  }
  R(slot, 0x70) = version == 2 ? 15 : 7;
}

#ifdef WAIT_WFI
/* The PLIC (QEMU virt's layout), context 0: hart 0's M mode. The slot's source n + 1 is
 * enabled and MEIE set, with mstatus.MIE left clear: the interrupt wakes `wfi` but takes
 * no trap. */
#define PLIC(off) (*(volatile u32 *)(0x0c000000u + (off)))
static void irq_setup(u32 slot) {
  PLIC(4 * (slot + 1)) = 1;
  PLIC(0x2000) = 1u << (slot + 1);
  PLIC(0x200000) = 0;
  __asm__ volatile("csrs mie, %0" ::"r"(1u << 11));
}
/* Claims and completes a pending interrupt, the slot's ISR acknowledged first (so the
 * level-triggered source is low when it completes). */
static void irq_take(u32 slot) {
  u32 id = PLIC(0x200004);
  if (id) {
    R(slot, 0x64) = R(slot, 0x60);
    PLIC(0x200004) = id;
  }
}
#endif

/* Offers the chain at descriptor 0 and waits for it; returns the used length. */
static u32 submit(u32 slot, int qi) {
  struct queue *q = &queues[qi];
  q->avail_ring[q->avail_idx % QSIZE] = 0;
  FENCE();
  q->avail_idx++;
  FENCE();
  R(slot, 0x50) = 0;
  u32 spins = 0;
  while (q->used_idx == last_used[qi]) {
#ifdef WAIT_WFI
    /* Sleep until the slot's interrupt (as Linux's driver waits), then take it. */
    __asm__ volatile("wfi");
    irq_take(slot);
#else
    /* An MMIO read while waiting: QEMU's TCG vCPU then lets its I/O completions in. */
    (void)R(slot, 0x60);
#endif
    if (++spins > 100000000)
      fail(20);
  }
  FENCE();
  u32 len = q->used_ring[last_used[qi] % QSIZE].len;
  last_used[qi]++;
  u32 isr = R(slot, 0x60);
  R(slot, 0x64) = isr;
#ifdef WAIT_WFI
  irq_take(slot);
#endif
  return len;
}

static u32 fnv(u32 h, const u8 *p, u32 n) {
  for (u32 i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* A blk request: type, sector, len bytes of data (0: none); returns the status. */
static u32 blk(u32 slot, u32 type, u32 sector, u32 len) {
  struct queue *q = &queues[0];
  for (int i = 0; i < 16; i++)
    hdr[i] = 0;
  hdr[0] = (u8)type;
  hdr[8] = (u8)sector;
  hdr[9] = (u8)(sector >> 8);
  hdr[10] = (u8)(sector >> 16);
  q->desc[0] = (struct desc){(u32)hdr, 16, 1, 1};
  u16 next = 1;
  if (len) {
    q->desc[1] = (struct desc){(u32)data, len, (u16)(1 | (type == 0 ? 2 : 0)), 2};
    next = 2;
  } else {
    q->desc[0].next = 1;
  }
  q->desc[next] = (struct desc){(u32)&status_byte, 1, 2, 0};
  status_byte = 0xff;
  submit(slot, 0);
  return status_byte;
}


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
  setup(s, &queues[0], 1u << 9);
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
