/* Fief's own bare-metal virtio driver (polling, no interrupts taken), run on Fief and on
 * QEMU with the same disk image: probes the eight virtio-mmio slots of QEMU virt, drives
 * the first virtio-blk (read the whole disk, write a pattern, flush, read it back, a read
 * past the end) and the first virtio-rng, printing what it sees and a checksum of every
 * read; passes through the finisher. Works with both register layouts: legacy (version 1,
 * QEMU 7.2's default) and modern (version 2, -global virtio-mmio.force-legacy=false).
 * The driver's helpers are in virtio_common.h. Built by build.sh (rv32imac, -O2, no
 * libc). */
#define NQUEUES 3
#include "virtio_common.h"

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
