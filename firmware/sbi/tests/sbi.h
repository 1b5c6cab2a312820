/* SBI extension IDs and output helpers for the firmware's S-mode test images. */
#define EID_BASE 0x10
#define EID_TIME 0x54494D45
#define EID_IPI  0x735049
#define EID_RFNC 0x52464E43
#define EID_HSM  0x48534D
#define EID_SRST 0x53525354
#define EID_DBCN 0x4442434E
#define EID_PMU  0x504D55

/* ecall to extension \eid, function \fid (arguments already in a0..a5). */
.macro SBI eid, fid
  li a7, \eid
  li a6, \fid
  ecall
.endm

/* Prints "\msg" and the value of \reg in hex, then a newline (clobbers s10, a0-a7, t0-t3, ra). */
.macro SAYV msg, reg
  mv s10, \reg
  la a0, 9f
  call puts
  mv a0, s10
  call puthex
  call nl
  .pushsection .rodata
9: .asciz "\msg"
  .popsection
.endm

/* Prints "\msg" and a newline. */
.macro SAY msg
  la a0, 9f
  call puts
  call nl
  .pushsection .rodata
9: .asciz "\msg"
  .popsection
.endm

/* puts (DBCN write), puthex and nl (legacy putchar). */
#define PRINT_FNS \
puts: mv t0, a0; \
1: lbu t1, 0(t0); beqz t1, 2f; addi t0, t0, 1; j 1b; \
2: mv t2, a0; sub a0, t0, t2; mv a1, t2; li a2, 0; li a7, EID_DBCN; li a6, 0; ecall; ret; \
puthex: mv t0, a0; li t1, 28; \
1: srl t2, t0, t1; andi t2, t2, 15; li t3, 10; blt t2, t3, 2f; addi t2, t2, 39; \
2: addi a0, t2, 48; li a7, 1; ecall; addi t1, t1, -4; bgez t1, 1b; ret; \
nl: li a0, 10; li a7, 1; ecall; ret
