/* bench_list: pointer chasing. 4096 list nodes scattered over a 64 KiB array (a permuted
 * order, so consecutive nodes are far apart), merge-sorted by key (bottom-up, stable),
 * searched by key, and sorted back by sequence number. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 450
#endif
#define NODES 4096

struct node {
  struct node *next;
  i32 key;
  u32 seq;
  u32 pad;
};

static struct node pool[NODES];
static u32 perm[NODES];

static int before(const struct node *a, const struct node *b, int by_key) {
  if (by_key)
    return a->key < b->key || (a->key == b->key && a->seq <= b->seq);
  return a->seq <= b->seq;
}

static NOINLINE struct node *sort(struct node *head, int by_key) {
  for (int width = 1;; width *= 2) {
    struct node *p = head, *tail = 0;
    int merges = 0;
    head = 0;
    while (p) {
      merges++;
      struct node *q = p;
      int psize = 0;
      for (int i = 0; i < width && q; i++) {
        psize++;
        q = q->next;
      }
      int qsize = width;
      while (psize > 0 || (qsize > 0 && q)) {
        struct node *e;
        if (psize == 0) {
          e = q;
          q = q->next;
          qsize--;
        } else if (qsize == 0 || !q || before(p, q, by_key)) {
          e = p;
          p = p->next;
          psize--;
        } else {
          e = q;
          q = q->next;
          qsize--;
        }
        if (tail)
          tail->next = e;
        else
          head = e;
        tail = e;
      }
      p = q;
    }
    tail->next = 0;
    if (merges <= 1)
      return head;
  }
}

static NOINLINE u32 find(struct node *head, i32 key) {
  u32 steps = 0;
  while (head && head->key != key) {
    head = head->next;
    steps++;
  }
  return steps;
}

const char test_name[] = "bench_list";

void test_main(void) {
  u32 checksum = 0x9e3779b9;
  u32 iterations = ITERATIONS;
  for (u32 i = 0; i < NODES; i++)
    perm[i] = i;
  for (u32 i = NODES - 1; i > 0; i--) {
    u32 j = rng() % (i + 1), t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  for (u32 it = 0; it < iterations; it++) {
    struct node *head = 0;
    for (u32 i = 0; i < NODES; i++) {
      struct node *n = &pool[perm[i]];
      n->key = (i32)(rng() & 0xfff) - 0x800;
      n->seq = i;
      n->next = head;
      head = n;
    }
    head = sort(head, 1);
    i32 prev = -0x1000;
    for (struct node *n = head; n; n = n->next) {
      if (n->key < prev)
        checksum ^= 0xdead0000;
      prev = n->key;
      checksum = rotl(checksum, 3) + (u32)n->key + n->seq;
    }
    for (int k = 0; k < 16; k++)
      checksum += find(head, (i32)(rng() & 0xfff) - 0x800);
    head = sort(head, 0);
    checksum ^= head->seq + (u32)head->key;
  }
  bench_report(iterations, checksum);
}
