/* virtio-console input through Fief's driver (virtio_common.h): finds the console among
 * the eight virtio-mmio slots, sets up its receive (0) and transmit (1) queues and offers
 * a receive buffer (it says nothing first: a socket chardev drops output while no client
 * is connected, on QEMU as on Fief). It collects what arrives until a newline (offering the buffer again after each piece), prints the line on the UART as
 * "console got: ...", echoes it back on the console as "echo: ..." and passes. Run with
 * a socket chardev (host/tests/virtio.rs types into it on Fief and on QEMU). Built by
 * build.sh. */
#pragma GCC diagnostic ignored "-Wunused-function"
#define NQUEUES 2
#include "virtio_common.h"

static u8 rx[64] __attribute__((aligned(16)));
static char line[128];

/* Sends `n` bytes of `p` on the transmit queue and waits for them. */
static void send(u32 s, const char *p, u32 n) {
  for (u32 i = 0; i < n; i++)
    data[i] = (u8)p[i];
  queues[1].desc[0] = (struct desc){(u32)data, n, 0, 0};
  submit(s, 1, 1);
}

int main(void) {
  u32 s = 8;
  for (u32 n = 0; n < 8; n++)
    if (R(n, 8) == 3 && s == 8)
      s = n;
  if (s == 8)
    fail(1);
  version = R(s, 4);
  device_init(s, 0);
  queue_init(s, &queues[0], 0);
  queue_init(s, &queues[1], 1);
  driver_ok(s);
  queues[0].desc[0] = (struct desc){(u32)rx, sizeof rx, 2, 0};
  offer(s, 0, 0);
  u32 len = 0, spins = 0;
  for (;;) {
    struct queue *q = &queues[0];
    while (q->used_idx == last_used[0]) {
      (void)R(s, 0x60); /* an MMIO read while waiting, as submit() */
      if (++spins > 400000000)
        fail(2);
    }
    FENCE();
    u32 n = q->used_ring[last_used[0] % QSIZE].len;
    last_used[0]++;
    R(s, 0x64) = R(s, 0x60);
    u32 nl = 0;
    for (u32 i = 0; i < n && len < sizeof line - 1; i++) {
      line[len++] = (char)rx[i];
      nl |= rx[i] == '\n';
    }
    if (nl || len == sizeof line - 1)
      break;
    offer(s, 0, 0);
  }
  line[len] = 0;
  puts_("console got: ");
  puts_(line);
  send(s, "echo: ", 6);
  send(s, line, len);
  *FINISHER = 0x5555;
  for (;;) {
  }
}
