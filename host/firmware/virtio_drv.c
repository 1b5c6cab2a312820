/* Fief's own bare-metal virtio driver (polling, no interrupts taken), run on Fief and on
 * QEMU with the same disk image: probes the eight virtio-mmio slots of QEMU virt, drives
 * the first virtio-blk (read the whole disk, write a pattern, flush, read it back, a read
 * past the end) and the first virtio-rng, printing what it sees and a checksum of every
 * read; passes through the finisher. Works with both register layouts: legacy (version 1,
 * QEMU 7.2's default) and modern (version 2, -global virtio-mmio.force-legacy=false).
 * Built by build.sh (rv32imac, -O2, no libc). */
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

static struct queue queues[3];
static u16 last_used[3];
static u32 version;

static u8 hdr[16] __attribute__((aligned(16)));
static u8 data[8192] __attribute__((aligned(16)));
static volatile u8 status_byte;

static void setup(u32 slot, struct queue *q, u32 features, u32 qsel) {
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
  R(slot, 0x30) = qsel;
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

/* Offers the chain at descriptor 0 and waits for it; returns the used length. */
static u32 submit(u32 slot, int qi, u32 qsel) {
  struct queue *q = &queues[qi];
  q->avail_ring[q->avail_idx % QSIZE] = 0;
  FENCE();
  q->avail_idx++;
  FENCE();
  R(slot, 0x50) = qsel;
  u32 spins = 0;
  while (q->used_idx == last_used[qi]) {
    if (++spins > 100000000)
      fail(20);
  }
  FENCE();
  u32 len = q->used_ring[last_used[qi] % QSIZE].len;
  last_used[qi]++;
  u32 isr = R(slot, 0x60);
  R(slot, 0x64) = isr;
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
  submit(slot, 0, 0);
  return status_byte;
}

int main(void) {
  u32 blk_slot = 8, rng_slot = 8, con_slot = 8;
  for (u32 s = 0; s < 8; s++) {
    if (R(s, 0) != 0x74726976)
      fail(1);
    version = R(s, 4);
    u32 id = R(s, 8);
    if (id) {
      puts_("slot ");
      dec(s);
      puts_(": version ");
      dec(version);
      puts_(" device ");
      dec(id);
      putc_('\n');
    }
    if (id == 2 && blk_slot == 8)
      blk_slot = s;
    if (id == 4 && rng_slot == 8)
      rng_slot = s;
    if (id == 3 && con_slot == 8)
      con_slot = s;
  }
  if (blk_slot < 8) {
    u32 s = blk_slot;
    version = R(s, 4);
    setup(s, &queues[0], 1u << 9 /* FLUSH */, 0);
    u32 sectors = R(s, 0x100);
    puts_("blk: ");
    dec(sectors);
    puts_(" sectors\n");
    u32 h = 2166136261u;
    for (u32 sec = 0; sec + 16 <= sectors; sec += 16) {
      u32 st = blk(s, 0, sec, 8192);
      if (st)
        fail(30);
      h = fnv(h, data, 8192);
    }
    puts_("blk: read checksum ");
    hex(h);
    putc_('\n');
    for (u32 i = 0; i < 4096; i++)
      data[i] = (u8)(i * 7 + 3);
    u32 st = blk(s, 1, 8, 4096);
    puts_("blk: write status ");
    dec(st);
    st = blk(s, 4, 0, 0);
    puts_(", flush status ");
    dec(st);
    for (u32 i = 0; i < 4096; i++)
      data[i] = 0;
    st = blk(s, 0, 8, 4096);
    puts_(", read back status ");
    dec(st);
    puts_(" checksum ");
    hex(fnv(2166136261u, data, 4096));
    putc_('\n');
    st = blk(s, 0, sectors - 1, 1024);
    puts_("blk: read past the end: status ");
    dec(st);
    putc_('\n');
  }
  if (rng_slot < 8) {
    u32 s = rng_slot;
    version = R(s, 4);
    setup(s, &queues[1], 0, 0);
    for (int i = 0; i < 64; i++)
      data[i] = 0;
    queues[1].desc[0] = (struct desc){(u32)data, 64, 2, 0};
    u32 len = submit(s, 1, 0);
    u32 nonzero = 0;
    for (int i = 0; i < 64; i++)
      nonzero += data[i] != 0;
    puts_("rng: ");
    dec(len);
    puts_(" bytes, ");
    puts_(nonzero > 32 ? "random" : "NOT random");
    putc_('\n');
  }
  if (con_slot < 8) {
    /* The console's transmit queue (1): a line to the host's side. */
    static const char line[] = "hello from Fief's virtio console driver\n";
    u32 s = con_slot;
    version = R(s, 4);
    setup(s, &queues[2], 0, 1);
    for (u32 i = 0; i < sizeof line - 1; i++)
      data[i] = (u8)line[i];
    queues[2].desc[0] = (struct desc){(u32)data, sizeof line - 1, 0, 0};
    u32 len = submit(s, 2, 1);
    puts_("console: sent, used length ");
    dec(len);
    putc_('\n');
  }
  puts_("virtio: done\n");
  *FINISHER = 0x5555;
  for (;;) {
  }
}
