/* Fails through the test finisher with code 42 (for the runner's exit-status test). */
#include "common.h"
    .section .text.init
    .globl _start
_start:
    li a0, 42
    FAIL_A0
