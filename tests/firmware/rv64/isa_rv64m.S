/* RV64M: 64-bit MUL/MULH/MULHSU/MULHU, DIV/DIVU/REM/REMU with division by zero and
 * overflow (INT64_MIN / -1), and the W forms MULW/DIVW/DIVUW/REMW/REMUW (operands' low 32
 * bits, 32-bit results sign-extended, their own zero and overflow cases). */
#include "test.h"
  .option norvc

/* a0 = op(a, b) must equal r. */
.macro RR op, a, b, r, code
  li a1, \a
  li a2, \b
  \op a0, a1, a2
  li t6, \r
  beq a0, t6, .Lok\@
  FAIL \code
.Lok\@:
.endm

TEST_BEGIN isa_rv64m
  RR mul, 0x123456789, 0x987654321, 0xd77d742cce1833a9, 1
  RR mul, 0xffffffffffffffff, 0xffffffffffffffff, 0x1, 2
  RR mul, 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000, 3
  RR mul, 0xffffffff, 0xffffffff, 0xfffffffe00000001, 4
  RR mulh, 0x8000000000000000, 0x8000000000000000, 0x4000000000000000, 5
  RR mulh, 0x8000000000000000, 0xffffffffffffffff, 0x0, 6
  RR mulh, 0x7fffffffffffffff, 0x7fffffffffffffff, 0x3fffffffffffffff, 7
  RR mulh, 0xffffffffffffffff, 0x1, 0xffffffffffffffff, 8
  RR mulh, 0x123456789abcdef0, 0xf0123456789abcdf, 0xfede05ff528828bd, 9
  RR mulhsu, 0xffffffffffffffff, 0xffffffffffffffff, 0xffffffffffffffff, 10
  RR mulhsu, 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000, 11
  RR mulhsu, 0x7fffffffffffffff, 0xffffffffffffffff, 0x7ffffffffffffffe, 12
  RR mulhsu, 0xfffffffffffffffe, 0x3, 0xffffffffffffffff, 13
  RR mulhu, 0xffffffffffffffff, 0xffffffffffffffff, 0xfffffffffffffffe, 14
  RR mulhu, 0x8000000000000000, 0x2, 0x1, 15
  RR mulhu, 0x123456789abcdef0, 0xfedcba9876543210, 0x121fa00ad77d7422, 16
  RR div, 0x8000000000000000, 0xffffffffffffffff, 0x8000000000000000, 17
  RR div, 0x1, 0x0, 0xffffffffffffffff, 18
  RR div, 0xfffffffffffffff9, 0x2, 0xfffffffffffffffd, 19
  RR div, 0x7, 0xfffffffffffffffe, 0xfffffffffffffffd, 20
  RR div, 0x8000000000000000, 0x1, 0x8000000000000000, 21
  RR div, 0x123456789abcdef0, 0x100000000, 0x12345678, 22
  RR divu, 0x1, 0x0, 0xffffffffffffffff, 23
  RR divu, 0xffffffffffffffff, 0x2, 0x7fffffffffffffff, 24
  RR divu, 0x8000000000000000, 0xffffffffffffffff, 0x0, 25
  RR divu, 0xfffffffffffffff9, 0x100000000, 0xffffffff, 26
  RR rem, 0x8000000000000000, 0xffffffffffffffff, 0x0, 27
  RR rem, 0xfffffffffffffff9, 0x0, 0xfffffffffffffff9, 28
  RR rem, 0xfffffffffffffff9, 0x2, 0xffffffffffffffff, 29
  RR rem, 0x7, 0xfffffffffffffffe, 0x1, 30
  RR rem, 0x8000000000000000, 0x3, 0xfffffffffffffffe, 31
  RR remu, 0xfffffffffffffff9, 0x0, 0xfffffffffffffff9, 32
  RR remu, 0xffffffffffffffff, 0xa, 0x5, 33
  RR remu, 0x123456789abcdef0, 0xffffffff, 0xacf13568, 34
  RR mulw, 0x10000, 0x10000, 0x0, 35
  RR mulw, 0x7fffffff, 0x2, 0xfffffffffffffffe, 36
  RR mulw, 0x1ffffffff, 0x100000003, 0xfffffffffffffffd, 37
  RR mulw, 0xffffffffffffffff, 0xffffffffffffffff, 0x1, 38
  RR mulw, 0x80000000, 0x1, 0xffffffff80000000, 39
  RR divw, 0x80000000, 0xffffffffffffffff, 0xffffffff80000000, 40
  RR divw, 0xffffffff80000000, 0xffffffffffffffff, 0xffffffff80000000, 41
  RR divw, 0x1, 0x0, 0xffffffffffffffff, 42
  RR divw, 0xfffffffffffffff9, 0x2, 0xfffffffffffffffd, 43
  RR divw, 0x1000000007, 0x2, 0x3, 44
  RR divw, 0x7fffffff, 0xffffffffffffffff, 0xffffffff80000001, 45
  RR divuw, 0x1, 0x0, 0xffffffffffffffff, 46
  RR divuw, 0xffffffff, 0x2, 0x7fffffff, 47
  RR divuw, 0x80000000, 0x1, 0xffffffff80000000, 48
  RR divuw, 0xffffffff00000007, 0x1000000002, 0x3, 49
  RR divuw, 0xfffffffe, 0xffffffff, 0x0, 50
  RR remw, 0x80000000, 0xffffffffffffffff, 0x0, 51
  RR remw, 0xfffffffffffffff9, 0x0, 0xfffffffffffffff9, 52
  RR remw, 0xffff0000fffffff9, 0x0, 0xfffffffffffffff9, 53
  RR remw, 0xfffffffffffffff9, 0x2, 0xffffffffffffffff, 54
  RR remw, 0x7, 0xfffffffffffffffe, 0x1, 55
  RR remw, 0x100000007, 0x100000004, 0x3, 56
  RR remuw, 0xfffffffffffffff9, 0x0, 0xfffffffffffffff9, 57
  RR remuw, 0x80000001, 0x0, 0xffffffff80000001, 58
  RR remuw, 0xffffffff, 0xa, 0x5, 59
  RR remuw, 0x1ffffffff, 0x100000000, 0xffffffffffffffff, 60
  /* rd = rs1 = rs2 */
  li a3, -3
  mul a3, a3, a3
  CHECK a3, 9, 0x100
  li a3, 0x80000000
  divw a3, a3, a3
  CHECK a3, 1, 0x101
  TEST_PASS
