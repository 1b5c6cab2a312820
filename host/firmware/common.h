/* Shared definitions of the Fief virt32 firmware images (QEMU virt's RV32 map). */
#define UART        0x10000000
#define UART_RBR    0
#define UART_THR    0
#define UART_IER    1
#define UART_IIR    2
#define UART_FCR    2
#define UART_LCR    3
#define UART_MCR    4
#define UART_LSR    5
#define UART_MSR    6
#define UART_SCR    7
#define IER_RDA     1
#define CLINT       0x2000000
#define CLINT_MTIMECMP 0x2004000
#define CLINT_MTIME 0x200bff8
#define PLIC        0xc000000
#define PLIC_PENDING 0xc001000
#define PLIC_ENABLE 0xc002000
#define PLIC_CTX0   0xc200000
#define FINISHER    0x100000
#define UART_IRQ    10

/* Prints the NUL-terminated string at a0 (clobbers t0-t2, a0). */
#define PUTS_FN \
puts: li t0, UART; \
1: lbu t1, 0(a0); beqz t1, 2f; \
3: lbu t2, UART_LSR(t0); andi t2, t2, 0x20; beqz t2, 3b; \
   sb t1, UART_THR(t0); addi a0, a0, 1; j 1b; \
2: ret

/* Prints the byte in a0 (clobbers t0, t2). */
#define PUTC_FN \
putc: li t0, UART; \
1: lbu t2, UART_LSR(t0); andi t2, t2, 0x20; beqz t2, 1b; \
   sb a0, UART_THR(t0); ret

/* Finisher: pass, or fail with the code in a0. */
#define PASS li t0, FINISHER; li t1, 0x5555; sw t1, 0(t0); 1: j 1b
#define FAIL_A0 li t0, FINISHER; slli a0, a0, 16; li t1, 0x3333; or a0, a0, t1; sw a0, 0(t0); 1: j 1b

/* Device tests: TEST(n) names the check that follows; a failing CHECK reports n through
 * the finisher (exit code n). */
#define TEST(n) li s11, n
#define CHECK(reg, val) li t6, val; bne reg, t6, fail
#define FAIL_FN fail: mv a0, s11; FAIL_A0
