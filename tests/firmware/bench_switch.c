/* bench_switch: a bytecode interpreter, a dense switch that gcc compiles to a jump table
 * (an indirect jump per bytecode), running a generated program of 16 opcodes over a small
 * register file and stack; then a tokenizer state machine over generated text. */
#include "bench.h"

#ifndef ITERATIONS
#define ITERATIONS 4000
#endif
#define CODE_LEN 512
#define TEXT_LEN 4096

enum op { ADD, SUB, XOR, AND, OR, SHL, SHR, MUL, LDI, MOV, PUSH, POP, INC, DEC, ROT, NEG, OPS };

static u8 code[CODE_LEN][3];
static u8 text[TEXT_LEN];

static NOINLINE u32 interpret(u32 seed) {
  u32 r[8] = {seed, 1, 2, 3, 4, 5, 6, 7};
  u32 stack[16];
  u32 sp = 0;
  for (int pc = 0; pc < CODE_LEN; pc++) {
    u32 a = code[pc][1] & 7, b = code[pc][2] & 7;
    switch (code[pc][0]) {
    case ADD: r[a] += r[b]; break;
    case SUB: r[a] -= r[b]; break;
    case XOR: r[a] ^= r[b]; break;
    case AND: r[a] &= r[b] | 0x10101; break;
    case OR: r[a] |= r[b] & 0xf0f0f; break;
    case SHL: r[a] <<= r[b] & 7; break;
    case SHR: r[a] >>= r[b] & 7; break;
    case MUL: r[a] *= r[b] | 1; break;
    case LDI: r[a] = code[pc][2] * 0x01010101u; break;
    case MOV: r[a] = r[b]; break;
    case PUSH: stack[sp++ & 15] = r[a]; break;
    case POP: r[a] = stack[--sp & 15]; break;
    case INC: r[a]++; break;
    case DEC: r[a]--; break;
    case ROT: r[a] = rotl(r[a], (int)(b + 1)); break;
    case NEG: r[a] = -r[a]; break;
    }
  }
  return r[0] ^ r[1] ^ r[2] ^ r[3] ^ r[4] ^ r[5] ^ r[6] ^ r[7];
}

enum state { S_START, S_SIGN, S_INT, S_DOT, S_FRAC, S_EXP, S_EXP_SIGN, S_EXP_INT, S_IDENT, S_BAD, S_COUNT };

static NOINLINE u32 tokenize(void) {
  u32 finals[S_COUNT] = {0};
  enum state s = S_START;
  u32 value = 0;
  for (int i = 0; i < TEXT_LEN; i++) {
    u8 c = text[i];
    int digit = c >= '0' && c <= '9', alpha = c >= 'a' && c <= 'z';
    if (c == ' ' || c == ',') {
      finals[s]++;
      s = S_START;
      continue;
    }
    switch (s) {
    case S_START: s = digit ? S_INT : (c == '+' || c == '-') ? S_SIGN : c == '.' ? S_DOT : alpha ? S_IDENT : S_BAD; break;
    case S_SIGN: s = digit ? S_INT : c == '.' ? S_DOT : S_BAD; break;
    case S_INT: s = digit ? S_INT : c == '.' ? S_FRAC : c == 'e' ? S_EXP : S_BAD; break;
    case S_DOT: s = digit ? S_FRAC : S_BAD; break;
    case S_FRAC: s = digit ? S_FRAC : c == 'e' ? S_EXP : S_BAD; break;
    case S_EXP: s = digit ? S_EXP_INT : (c == '+' || c == '-') ? S_EXP_SIGN : S_BAD; break;
    case S_EXP_SIGN:
    case S_EXP_INT: s = digit ? S_EXP_INT : S_BAD; break;
    case S_IDENT: s = (alpha || digit) ? S_IDENT : S_BAD; break;
    default: s = S_BAD; break;
    }
    if (digit)
      value = value * 10 + (c - '0');
  }
  finals[s]++;
  u32 sum = value;
  for (int i = 0; i < S_COUNT; i++)
    sum = sum * 17 + finals[i];
  return sum;
}

const char test_name[] = "bench_switch";

void test_main(void) {
  static const char alphabet[] = "0123456789+-.e abcxyz,";
  u32 checksum = 0x1234567;
  u32 iterations = ITERATIONS;
  for (u32 it = 0; it < iterations; it++) {
    rng_state = checksum | 1;
    for (int i = 0; i < CODE_LEN; i++) {
      u32 x = rng();
      code[i][0] = (u8)(x % OPS);
      code[i][1] = (u8)(x >> 8);
      code[i][2] = (u8)(x >> 16);
    }
    for (int i = 0; i < TEXT_LEN; i++)
      text[i] = (u8)alphabet[rng() % (sizeof alphabet - 1)];
    for (u32 k = 0; k < 8; k++)
      checksum = rotl(checksum, 5) ^ interpret(checksum + k);
    checksum = rotl(checksum, 5) ^ tokenize();
  }
  bench_report(iterations, checksum);
}
