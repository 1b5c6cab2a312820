/* What Fief's single-hart bare-metal virtio drivers share (virtio_drv.c, virtio_bench.c,
 * virtio_con.c, virtio_net.c), over virtio_mmio.h: the entry point, hex output and `fail`,
 * one split virtqueue per `struct queue` (both register layouts: legacy, version 1, QEMU 7.2's default, and modern,
 * version 2), the device setup, offering a chain and waiting for it, and a virtio-blk
 * request. Each image includes it once; its definitions are `static` (an image that uses
 * only some turns off -Wunused-function before the #include).
 *
 * Options (define before including): NQUEUES (queues the image drives, default 1); QSIZE
 * (entries a queue, default 8); FAIL_PREFIX (what `fail` prints before ": FAIL", default
 * "virtio");
 * WAIT_WFI: wait for a completion in `wfi` on the slot's PLIC interrupt (hart 0's M-mode
 * context; the interrupt wakes `wfi` but takes no trap) instead of polling the used ring. */
#include "virtio_mmio.h"

#ifndef NQUEUES
#define NQUEUES 1
#endif
#ifndef FAIL_PREFIX
#define FAIL_PREFIX "virtio"
#endif

__asm__(".section .text.init\n.globl _start\n_start:\n la sp, stack_top\n call main\n1: j 1b\n");

/* v in `digits` hex digits. */
static void hexn(u32 v, int digits) {
  for (int s = 4 * (digits - 1); s >= 0; s -= 4)
    putc_("0123456789abcdef"[(v >> s) & 15]);
}
static void hex(u32 v) { hexn(v, 8); }
static void fail(u32 code) {
  puts_(FAIL_PREFIX ": FAIL ");
  dec(code);
  putc_('\n');
  *FINISHER = code << 16 | 0x3333;
  for (;;) {
  }
}

static struct queue queues[NQUEUES];
static u16 last_used[NQUEUES];
/* The register layout of the slot being set up or driven. */
static u32 version;

static u8 hdr[16] __attribute__((aligned(16)));
static u8 data[8192] __attribute__((aligned(16)));
static volatile u8 status_byte;

/* Resets the device in `slot` and accepts `features` (of the low 32 it offers; VERSION_1
 * too on the modern layout). */
static void device_init(u32 slot, u32 features) {
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
}

/* Sets up the device's queue `qsel` in `q`. */
static void queue_init(u32 slot, struct queue *q, u32 qsel) {
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
}

/* The driver is ready. */
static void driver_ok(u32 slot) { R(slot, 0x70) = version == 2 ? 15 : 7; }

/* A device with one queue, `qsel` in `q`: init, the queue, ready. */
static void setup(u32 slot, struct queue *q, u32 features, u32 qsel) {
  device_init(slot, features);
  queue_init(slot, q, qsel);
  driver_ok(slot);
}

/* Offers descriptor 0 of queues[qi] on queue `qsel` without waiting for it. */
static void offer(u32 slot, int qi, u32 qsel) {
  struct queue *q = &queues[qi];
  q->avail_ring[q->avail_idx % QSIZE] = 0;
  FENCE();
  q->avail_idx++;
  FENCE();
  R(slot, 0x50) = qsel;
}

#ifdef WAIT_WFI
/* The PLIC (QEMU virt's layout), context 0: hart 0's M mode. */
#define PLIC(off) (*(volatile u32 *)(0x0c000000u + (off)))
/* Enables the slot's source n + 1 and MEIE, with mstatus.MIE left clear. */
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

/* Offers the chain at descriptor 0 of queue `qsel` (its memory: queues[qi]) and waits for
 * it; returns the used length. */
static u32 submit(u32 slot, int qi, u32 qsel) {
  struct queue *q = &queues[qi];
  offer(slot, qi, qsel);
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

/* A blk request on queue 0 (queues[0]): type, sector, len bytes of `data` (0: none);
 * returns the status. */
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
  submit(slot, 0, 0);
  return status_byte;
}
