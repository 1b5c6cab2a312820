/* The mcu32 board's addresses (boards/src/mcu32.rs) and the helpers of crt.S. */
#define FINISHER   0x00100000
#define UART       0x10013000
#define GPIO       0x10012000
#define I2C        0x10016000
#define SPI        0x10024000

/* GPIO (SiFive) */
#define GPIO_INPUT_VAL  0x00
#define GPIO_INPUT_EN   0x04
#define GPIO_OUTPUT_EN  0x08
#define GPIO_OUTPUT_VAL 0x0c
#define GPIO_RISE_IP    0x1c
#define GPIO_FALL_IP    0x24
#define GPIO_OUT_XOR    0x40

/* I2C (OpenCores, register shift 2) */
#define I2C_PRERLO 0x00
#define I2C_PRERHI 0x04
#define I2C_CTR    0x08
#define I2C_TXR    0x0c
#define I2C_RXR    0x0c
#define I2C_CR     0x10
#define I2C_SR     0x10
#define I2C_RXLEN  0x14
#define CTR_EN   0x80
#define CR_STA   0x80
#define CR_STO   0x40
#define CR_RD    0x20
#define CR_WR    0x10
#define CR_ACK   0x08
#define SR_RXACK 0x80
#define SR_AL    0x20
#define SR_TIP   0x02

/* SPI (SiFive) */
#define SPI_CSMODE 0x18
#define SPI_FMT    0x40
#define SPI_TXDATA 0x48
#define SPI_RXDATA 0x4c

/* Fail with `code` (an immediate) if reg != expected (an immediate). Clobbers t6. */
#define CHECK(reg, expected, code) \
    li t6, expected; \
    beq reg, t6, 1f; \
    li a0, code; \
    j fail; \
1:
