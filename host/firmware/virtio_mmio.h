/* What all of Fief's bare-metal virtio drivers share (virtio_common.h and its images,
 * virtio_net.c, virtio_stress.c): the types, the UART and finisher of QEMU virt, console
 * output, a virtio-mmio slot's registers, a split virtqueue's memory (`struct queue`, QSIZE
 * entries: define QSIZE before including, default 8) and the FNV-1a checksum the images
 * print. Its functions are `static`: an image that uses only some turns off
 * -Wunused-function before the #include. */
typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;
typedef unsigned long long u64;

#define UART ((volatile u8 *)0x10000000)
#define FINISHER ((volatile u32 *)0x100000)
#define VIRTIO_BASE 0x10001000u
#ifndef QSIZE
#define QSIZE 8
#endif

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

/* FNV-1a over n bytes at p, from h. */
static u32 fnv(u32 h, const u8 *p, u32 n) {
  for (u32 i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}
