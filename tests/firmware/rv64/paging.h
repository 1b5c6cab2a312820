/* The body of priv_sv39/priv_sv48/priv_sv57 (each defines LEVELS: 3, 4 or 5, and MODE:
 * satp.MODE 8, 9 or 10): S-mode under an RV64 page table of LEVELS levels.
 *
 * Identity gigapages (leaves at level 2, below as many pointer tables as the mode has above
 * it) map the devices (0..1 GiB) and RAM (2..3 GiB, RWX, not U). VBASE, the lowest
 * negative canonical address (bit VA-1 set and sign-extended), is reached through a chain
 * of tables from root[256] down to a level-0 table of 4 KiB pages. Checked: satp keeps the
 * mode it was given and ignores a reserved one; hardware A and D updates; store, load and
 * fetch page faults with stval; SUM; execute-only pages and MXR; a 2 MiB megapage and a
 * misaligned one (page fault); a non-canonical address (page fault); reserved PTE bits
 * (page fault); sfence.vma by address; M-mode loads through MPRV. */
#include "test.h"
  .option norvc

#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_U 0x10
#define PTE_A 0x40
#define PTE_D 0x80
#define VBITS (12 + 9 * LEVELS)
#define VBASE (-(1 << (VBITS - 1)))
#define MSTATUS_MXR (1 << 19)
#define MEGA_PA 0x80200000

/* table[idx] = leaf at physical `pa` with `flags`. Clobbers t0, t1. */
.macro LEAF table, idx, pa, flags
  li t0, ((\pa) >> 2) | (\flags)
  la t1, \table + (\idx) * 8
  sd t0, 0(t1)
.endm

/* table[idx] = leaf at symbol `sym` with `flags`. Clobbers t0, t1. */
.macro LEAF_AT table, idx, sym, flags
  la t0, \sym
  srli t0, t0, 2
  ori t0, t0, \flags
  la t1, \table + (\idx) * 8
  sd t0, 0(t1)
.endm

/* table[idx] = pointer to table `next`. Clobbers t0, t1. */
.macro NEXT table, idx, next
  la t0, \next
  srli t0, t0, 2
  ori t0, t0, PTE_V
  la t1, \table + (\idx) * 8
  sd t0, 0(t1)
.endm

/* Fails unless the S handler saw exactly one trap with scause `cause`, stval = register
 * `tval`, sepc = address of `at`; then resets its count. */
.macro EXPECT_FAULT cause, tval, at, code
  CHECKM s_count, 1, \code
  CHECKM s_cause, \cause, \code + 1
  la t0, s_tval
  ld t0, 0(t0)
  CHECKR t0, \tval, \code + 2
  la t0, s_epc
  ld t0, 0(t0)
  la t1, \at
  CHECKR t0, t1, \code + 3
  la t0, s_count
  sd zero, 0(t0)
.endm

TEST_BEGIN TEST_NAME
  la t0, trap_record
  csrw mtvec, t0
  /* the identity gigapages, at level 2 */
#if LEVELS == 3
#define ID2 root
#elif LEVELS == 4
#define ID2 id2
  NEXT root, 0, id2
#else
#define ID2 id2
  NEXT root, 0, id3
  NEXT id3, 0, id2
#endif
  LEAF ID2, 0, 0x00000000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D
  LEAF ID2, 2, 0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D
  /* the chain to VBASE: root[256] -> ... -> v1 -> v0 */
#if LEVELS == 3
  NEXT root, 256, v1
#elif LEVELS == 4
  NEXT root, 256, v2
  NEXT v2, 0, v1
#else
  NEXT root, 256, v3
  NEXT v3, 0, v2
  NEXT v2, 0, v1
#endif
  NEXT v1, 0, v0
  /* v1[1]: a 2 MiB megapage; v1[2]: a misaligned one (PPN[0] not zero) */
  LEAF v1, 1, MEGA_PA, PTE_V | PTE_R | PTE_A
  LEAF v1, 2, MEGA_PA + 0x1000, PTE_V | PTE_R | PTE_A
  /* v1[3]: a 4 KiB page's PTE with a reserved bit (54) set, as a level-0 table below */
  la t0, v0r
  srli t0, t0, 2
  ori t0, t0, PTE_V
  la t1, v1 + 3 * 8
  sd t0, 0(t1)
  la t0, page_rw
  srli t0, t0, 2
  ori t0, t0, PTE_V | PTE_R | PTE_A
  li t1, 1 << 54
  or t0, t0, t1
  la t1, v0r
  sd t0, 0(t1)
  LEAF_AT v0, 0, page_rw, PTE_V | PTE_R | PTE_W          /* A, D clear */
  LEAF_AT v0, 1, page_ro, PTE_V | PTE_R | PTE_A
  /* 2: invalid */
  LEAF_AT v0, 3, page_rw, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D  /* not executable */
  LEAF_AT v0, 4, page_u, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D
  LEAF_AT v0, 5, exec_page, PTE_V | PTE_X | PTE_A        /* execute-only */
  /* page contents */
  la t0, page_rw
  li t1, 0x1122334455667788
  sd t1, 0(t0)
  la t0, page_ro
  li t1, 0xabcdef01
  sd t1, 0(t0)
  la t0, page_u
  li t1, 0x05e5e5
  sd t1, 0(t0)
  li t0, MEGA_PA + 0x10
  li t1, 0x3e6a
  sd t1, 0(t0)

  li t0, (1 << CAUSE_FETCH_PAGE) | (1 << CAUSE_LOAD_PAGE) | (1 << CAUSE_STORE_PAGE)
  csrw medeleg, t0
  la t0, s_handler
  csrw stvec, t0
  la t0, root
  srli t0, t0, 12
  li t1, MODE << 60
  or s4, t0, t1
  csrw satp, s4
  sfence.vma
  csrr a0, satp
  CHECKR a0, s4, 1
  /* a reserved mode (5) leaves satp unchanged */
  li t0, 5 << 60
  or t0, t0, s4
  csrw satp, t0
  csrr a0, satp
  CHECKR a0, s4, 2
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S
  csrs mstatus, t0
  la t0, s_main
  csrw mepc, t0
  la s10, back_in_m
  mret

s_main:
  li s1, VBASE
  /* a load sets A */
  ld a0, 0(s1)
  li t0, 0x1122334455667788
  CHECKR a0, t0, 3
  la t0, v0
  ld a0, 0(t0)
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A, 4
  /* a store sets D */
  li a1, 0x55667788
  sw a1, 8(s1)
  la t0, v0
  ld a0, 0(t0)
  andi a0, a0, PTE_A | PTE_D
  CHECK a0, PTE_A | PTE_D, 5
  la t0, page_rw
  lwu a0, 8(t0)
  CHECK a0, 0x55667788, 6
  CHECKM s_count, 0, 7

  /* a store to a read-only page */
  li s2, VBASE + 0x1000
  ld a0, 0(s2)
  CHECK a0, 0xabcdef01, 8
f_store:
  sd a1, 8(s2)
  addi t2, s2, 8
  EXPECT_FAULT CAUSE_STORE_PAGE, t2, f_store, 0x10
  /* a load from an invalid page */
  li s2, VBASE + 0x2000
f_load:
  ld a0, 0x10(s2)
  addi t2, s2, 0x10
  EXPECT_FAULT CAUSE_LOAD_PAGE, t2, f_load, 0x14
  /* a fetch from a page without X */
  li s2, VBASE + 0x3000
  jalr ra, 0(s2)
  CHECKM s_count, 1, 0x18
  CHECKM s_cause, CAUSE_FETCH_PAGE, 0x19
  la t0, s_tval
  ld t0, 0(t0)
  CHECKR t0, s2, 0x1a
  la t0, s_count
  sd zero, 0(t0)
  /* a user page from S: faults without SUM, readable with SUM */
  li s2, VBASE + 0x4000
f_user:
  ld a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, s2, f_user, 0x1c
  li t0, MSTATUS_SUM
  csrs sstatus, t0
  ld a0, 0(s2)
  CHECK a0, 0x05e5e5, 9
  li t0, MSTATUS_SUM
  csrc sstatus, t0
  /* execute-only: fetch works, a load faults, and works with MXR */
  li s2, VBASE + 0x5000
  li a0, 0
  jalr ra, 0(s2)
  CHECK a0, 0x5a, 10
f_xonly:
  lw a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, s2, f_xonly, 0x20
  li t0, MSTATUS_MXR
  csrs sstatus, t0
  lw a0, 0(s2)
  li t0, MSTATUS_MXR
  csrc sstatus, t0
  la t1, exec_page
  lw t1, 0(t1)
  CHECKR a0, t1, 11
  CHECKM s_count, 0, 12

  /* the megapage, and the misaligned one */
  li s2, VBASE + (1 << 21) + 0x10
  ld a0, 0(s2)
  CHECK a0, 0x3e6a, 13
  li s2, VBASE + (2 << 21) + 0x10
f_mis:
  ld a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, s2, f_mis, 0x24
  /* a PTE with a reserved bit */
  li s2, VBASE + (3 << 21) + 0x18
f_rsv:
  ld a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, s2, f_rsv, 0x28
  /* a non-canonical address: bit VA-1 set, the bits above it clear */
  li s2, (1 << (VBITS - 1)) + 0x20
f_canon:
  ld a0, 0(s2)
  EXPECT_FAULT CAUSE_LOAD_PAGE, s2, f_canon, 0x2c
  li s2, (-1 << VBITS) + 0x28    /* bits above set, bit VA-1 clear */
f_canon2:
  sd a0, 0(s2)
  EXPECT_FAULT CAUSE_STORE_PAGE, s2, f_canon2, 0x30

  /* change a PTE, sfence.vma by address, see the new mapping */
  li s2, VBASE + 0x2000
  LEAF_AT v0, 2, page_ro, PTE_V | PTE_R | PTE_A
  sfence.vma s2, zero
  ld a0, 0(s2)
  CHECK a0, 0xabcdef01, 14
  CHECKM s_count, 0, 15
  ecall

back_in_m:
  CHECKM trap_cause, CAUSE_ECALL_S, 0x40
  /* M-mode loads through MPRV with MPP = S are translated */
  li t0, MSTATUS_MPP
  csrc mstatus, t0
  li t0, MSTATUS_MPP_S | MSTATUS_MPRV
  csrs mstatus, t0
  li t0, VBASE
  ld a0, 0(t0)
  li t0, MSTATUS_MPRV
  csrc mstatus, t0
  li t0, 0x1122334455667788
  CHECKR a0, t0, 0x41
  csrw satp, zero
  sfence.vma
  TEST_PASS

/* S-mode handler: records scause/stval/sepc; resumes at ra after a fetch fault, past the
 * faulting instruction otherwise. */
  .align 2
s_handler:
  csrr t0, scause
  la t1, s_cause
  sd t0, 0(t1)
  csrr t2, stval
  sd t2, 8(t1)
  csrr t2, sepc
  sd t2, 16(t1)
  ld t2, 24(t1)
  addi t2, t2, 1
  sd t2, 24(t1)
  li t1, CAUSE_FETCH_PAGE
  beq t0, t1, 1f
  bltz t0, 2f
  csrr t0, sepc
  addi t0, t0, 4
  csrw sepc, t0
  sret
1:
  csrw sepc, ra
  sret
2:
  li a0, 0x7f
  j _fail

  .balign 4096
exec_page:
  li a0, 0x5a
  ret
  .balign 4096

  .bss
  .balign 4096
root:      .space 4096
id3:       .space 4096
id2:       .space 4096
v3:        .space 4096
v2:        .space 4096
v1:        .space 4096
v0:        .space 4096
v0r:       .space 4096
page_rw:   .space 4096
page_ro:   .space 4096
page_u:    .space 4096
  .align 3
s_cause:   .dword 0
s_tval:    .dword 0
s_epc:     .dword 0
s_count:   .dword 0
