#!/usr/bin/env python3
"""Generates fp_diff.S: the F/D differential image (see README.md).

A seeded random table of records (operation and rounding mode, three 64-bit operands) is
run by a small interpreter loop that prints, per record, the 64-bit result (an FP register
as stored by fsd, or an integer register) and fflags. The same image runs on Fief and on
QEMU, and tests/tests/qemu_diff.rs compares the output line by line (line n = record n).

Operands are weighted towards the values where implementations go wrong: signed zeros,
infinities, quiet and signalling NaNs with payloads (and of both signs), subnormals, the
smallest normal and largest finite values, halfway cases for addition, products whose
rounding error an FMA must keep (c = -round(a*b)), values at and around the integer
limits for conversions, products and quotients just below the smallest normal (tininess
after rounding), improperly NaN-boxed singles. Rounding modes are static (each of
the five) or dynamic (frm = each of the five).

With --xlen 64 it generates the RV64 image (rv64/fp_diff.S): every operation above plus the
RV64-only ones (fcvt.l/lu to and from both formats, fmv.x.d/fmv.d.x), 32-bit integer sources
with random upper halves (which the W conversions must ignore), 64-bit integer operands
weighted to the 64-bit limits, and each result printed as one 64-bit word (an integer
result as the whole register, so that the sign extension of fcvt.w/wu, fmv.x.w, feq/flt/fle
and fclass is compared too).

Usage: gen_fp_diff.py [--xlen 64] [SEED] > fp_diff.S (build.sh runs it with the committed
seed).
"""

import math
import random
import struct
import sys

ARGS = sys.argv[1:]
XLEN = 32
if ARGS[:1] == ["--xlen"]:
    XLEN = int(ARGS[1])
    ARGS = ARGS[2:]
assert XLEN in (32, 64), "--xlen is 32 or 64"
SEED = int(ARGS[0]) if ARGS else 13
PER_OP = 140
RMS = ["rne", "rtz", "rdn", "rup", "rmm"]

# (mnemonic, format of FP operands, number of FP sources, result kind, has rm, int source)
# result kind: "f" an FP register, "x" an integer register.
OPS = []
for fmt in ("s", "d"):
    OPS += [
        (f"fadd.{fmt}", fmt, 2, "f", True, False),
        (f"fsub.{fmt}", fmt, 2, "f", True, False),
        (f"fmul.{fmt}", fmt, 2, "f", True, False),
        (f"fdiv.{fmt}", fmt, 2, "f", True, False),
        (f"fsqrt.{fmt}", fmt, 1, "f", True, False),
        (f"fmadd.{fmt}", fmt, 3, "f", True, False),
        (f"fmsub.{fmt}", fmt, 3, "f", True, False),
        (f"fnmsub.{fmt}", fmt, 3, "f", True, False),
        (f"fnmadd.{fmt}", fmt, 3, "f", True, False),
        (f"fsgnj.{fmt}", fmt, 2, "f", False, False),
        (f"fsgnjn.{fmt}", fmt, 2, "f", False, False),
        (f"fsgnjx.{fmt}", fmt, 2, "f", False, False),
        (f"fmin.{fmt}", fmt, 2, "f", False, False),
        (f"fmax.{fmt}", fmt, 2, "f", False, False),
        (f"feq.{fmt}", fmt, 2, "x", False, False),
        (f"flt.{fmt}", fmt, 2, "x", False, False),
        (f"fle.{fmt}", fmt, 2, "x", False, False),
        (f"fclass.{fmt}", fmt, 1, "x", False, False),
        (f"fcvt.w.{fmt}", fmt, 1, "x", True, False),
        (f"fcvt.wu.{fmt}", fmt, 1, "x", True, False),
        (f"fcvt.{fmt}.w", fmt, 0, "f", fmt == "s", True),
        (f"fcvt.{fmt}.wu", fmt, 0, "f", fmt == "s", True),
    ]
OPS += [
    ("fcvt.s.d", "d", 1, "f", True, False),
    ("fcvt.d.s", "s", 1, "f", False, False),
    ("fmv.x.w", "s", 1, "x", False, False),
    ("fmv.w.x", "s", 0, "f", False, True),
]
if XLEN == 64:
    # int source "l": a 64-bit integer operand
    for fmt in ("s", "d"):
        OPS += [
            (f"fcvt.l.{fmt}", fmt, 1, "x", True, False),
            (f"fcvt.lu.{fmt}", fmt, 1, "x", True, False),
            (f"fcvt.{fmt}.l", fmt, 0, "f", True, "l"),
            (f"fcvt.{fmt}.lu", fmt, 0, "f", True, "l"),
        ]
    OPS += [
        ("fmv.x.d", "d", 1, "x", False, False),
        ("fmv.d.x", "d", 0, "f", False, "l"),
    ]

rng = random.Random(SEED)


def f2b(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def b2f(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def s2b(x):
    try:
        return struct.unpack("<I", struct.pack("<f", x))[0]
    except OverflowError:
        return 0x7F800000 | (0x80000000 if x < 0 else 0)


def s2f(b):
    return struct.unpack("<f", struct.pack("<I", b))[0]


SPECIAL_D = [
    0, 1 << 63, 0x7FF0000000000000, 0xFFF0000000000000, 0x7FF8000000000000,
    0x7FF8DEADBEEF0001, 0xFFF8000000000000, 0x7FF0000000000001, 0x7FF4000000000000,
    0xFFF0000000000BAD, 1, 0x000FFFFFFFFFFFFF, 0x0010000000000000, 0x7FEFFFFFFFFFFFFF,
    f2b(1.0), f2b(-1.0), f2b(0.5), f2b(-0.5), f2b(1.5), f2b(2.5), f2b(-2.5), f2b(3.0),
    f2b(2.0**31), f2b(2.0**31 - 1), f2b(2.0**31 - 0.5), f2b(-(2.0**31)),
    f2b(-(2.0**31) - 0.5), f2b(-(2.0**31) - 1), f2b(2.0**32), f2b(2.0**32 - 1),
    f2b(2.0**32 - 0.5), f2b(2.0**63), f2b(2.0**64), f2b(-(2.0**63)), f2b(0.49999999999999994),
    f2b(1e308), f2b(2.2250738585072014e-308 / 3),
]
SPECIAL_S = [
    0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7FC0BEEF, 0xFFC00000,
    0x7F800001, 0x7FA00000, 0xFF800BAD, 1, 0x007FFFFF, 0x00800000, 0x7F7FFFFF,
    s2b(1.0), s2b(-1.0), s2b(0.5), s2b(-0.5), s2b(1.5), s2b(2.5), s2b(-2.5), s2b(3.0),
    s2b(2.0**31), s2b(2.0**31 - 128), s2b(-(2.0**31)), s2b(-(2.0**31) - 256), s2b(2.0**32),
    s2b(2.0**32 - 256), s2b(2.0**24 + 2), s2b(16777215.0), s2b(0.49999997),
]


def rand_d(near=None):
    k = rng.randrange(10)
    if k < 3:
        return rng.choice(SPECIAL_D) ^ (rng.getrandbits(1) << 63 if rng.random() < 0.3 else 0)
    if k == 3:
        return rng.getrandbits(52) | (rng.getrandbits(1) << 63)  # subnormal
    if k == 4 and near is not None:
        e = (near >> 52) & 0x7FF
        e2 = max(0, min(0x7FE, e + rng.randrange(-3, 4)))
        return (rng.getrandbits(1) << 63) | (e2 << 52) | rng.getrandbits(52)
    if k == 5:
        e = rng.randrange(1023 - 70, 1023 + 70)
        return (rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52)
    if k == 6:  # near the ends of the exponent range
        e = rng.choice([1, 2, 3, 0x7FC, 0x7FD, 0x7FE])
        return (rng.getrandbits(1) << 63) | (e << 52) | rng.getrandbits(52)
    if k == 7:  # few significant bits: ties and exact results
        e = rng.randrange(1023 - 30, 1023 + 30)
        return (rng.getrandbits(1) << 63) | (e << 52) | (rng.getrandbits(4) << 48)
    return rng.getrandbits(64)


def rand_s(near=None):
    k = rng.randrange(10)
    if k < 3:
        return rng.choice(SPECIAL_S) ^ (rng.getrandbits(1) << 31 if rng.random() < 0.3 else 0)
    if k == 3:
        return rng.getrandbits(23) | (rng.getrandbits(1) << 31)
    if k == 4 and near is not None:
        e = (near >> 23) & 0xFF
        e2 = max(0, min(0xFE, e + rng.randrange(-3, 4)))
        return (rng.getrandbits(1) << 31) | (e2 << 23) | rng.getrandbits(23)
    if k == 5:
        e = rng.randrange(127 - 40, 127 + 40)
        return (rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23)
    if k == 6:
        e = rng.choice([1, 2, 3, 0xFC, 0xFD, 0xFE])
        return (rng.getrandbits(1) << 31) | (e << 23) | rng.getrandbits(23)
    if k == 7:
        e = rng.randrange(127 - 20, 127 + 20)
        return (rng.getrandbits(1) << 31) | (e << 23) | (rng.getrandbits(4) << 19)
    return rng.getrandbits(32)


def box(v):
    # Mostly properly NaN-boxed; sometimes not (reads as the canonical NaN).
    if rng.random() < 0.03:
        return v | (rng.getrandbits(32) << 32 if rng.random() < 0.5 else 0)
    return v | 0xFFFFFFFF00000000


def rand_int32():
    k = rng.randrange(6)
    if k == 0:
        return rng.choice([0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x01000001, 0x00FFFFFF,
                           0xFF000001, 0x80000001, 0x7FFFFFC0, 0x7FFFFFBF, 0xFFFFFF80])
    if k == 1:  # 25..32 significant bits: rounding to single
        n = rng.randrange(25, 33)
        return rng.getrandbits(n) | (1 << (n - 1))
    return rng.getrandbits(32)


def rand_int64():
    k = rng.randrange(6)
    if k == 0:
        return rng.choice([0, 1, (1 << 64) - 1, 1 << 63, (1 << 63) - 1, (1 << 63) + 1,
                           (1 << 53) + 1, (1 << 54) - 1, (1 << 64) - (1 << 10),
                           (1 << 63) - (1 << 10), (1 << 63) - 512, 0x8000000000000400,
                           0xFFFFFFFF, 0x100000000, 0xFFFFFFFF80000000])
    if k == 1:  # 25..64 significant bits: rounding to single and double
        n = rng.randrange(25, 65)
        return rng.getrandbits(n) | (1 << (n - 1))
    if k == 2:  # negative with few bits
        return ((1 << 64) - rng.getrandbits(rng.randrange(1, 64))) & ((1 << 64) - 1)
    return rng.getrandbits(64)


def operands(op):
    name, fmt, nsrc, _, _, int_src = op
    rand = rand_d if fmt == "d" else rand_s
    if int_src == "l":
        if name == "fmv.d.x":
            return rand_d(), 0, 0
        return rand_int64(), 0, 0
    if int_src:
        v = rand_int32()
        if XLEN == 64 and rng.random() < 0.5:
            v |= rng.getrandbits(32) << 32  # the W forms use the low 32 bits only
        return v, 0, 0
    a = rand()
    b = rand(near=a)
    c = rand(near=a)
    if fmt == "d" and nsrc >= 2 and rng.random() < 0.3 and name.startswith(("fadd", "fsub")):
        # b a half ulp (or just above/below) of a
        e = (a >> 52) & 0x7FF
        if 54 < e < 0x7FE:
            half = ((e - 53) << 52) | rng.choice([0, 1, 0xFFFFFFFFFFFFF])
            b = half | (rng.getrandbits(1) << 63)
    if fmt == "s" and nsrc >= 2 and rng.random() < 0.3 and name.startswith(("fadd", "fsub")):
        e = (a >> 23) & 0xFF
        if 25 < e < 0xFE:
            b = ((e - 24) << 23) | rng.choice([0, 1, 0x7FFFFF]) | (rng.getrandbits(1) << 31)
    if name.startswith(("fmul", "fdiv", "fmadd")) and rng.random() < 0.25:
        # results just below the smallest normal: tininess is detected after rounding
        # (RISC-V), so one that rounds up to 2^emin raises no underflow
        neg = rng.getrandbits(1)
        if fmt == "d":
            a = (0x000FFFFFFFFFFFFF - rng.randrange(4)) | (neg << 63)
            b = 0x3FF0000000000000 + rng.randrange(1, 9)
            if name.startswith("fdiv"):
                b = 0x3FEFFFFFFFFFFFFF - rng.randrange(8)
        else:
            a = (0x007FFFFF - rng.randrange(4)) | (neg << 31)
            b = 0x3F800000 + rng.randrange(1, 9)
            if name.startswith("fdiv"):
                b = 0x3F7FFFFF - rng.randrange(8)
        c = 0 if rng.random() < 0.5 else c
    if nsrc == 3 and rng.random() < 0.3:
        # c = -round(a*b): the FMA's exact result is the product's rounding error
        if fmt == "d":
            p = b2f(a) * b2f(b)
            if math.isfinite(p):
                c = f2b(-p)
        else:
            p = s2f(a) * s2f(b)
            if math.isfinite(p):
                c = s2b(-p)
    if name.startswith(("fcvt.l.", "fcvt.lu.")) and rng.random() < 0.4:
        base = rng.choice([2.0**63, -(2.0**63), 2.0**64, 2.0**53, 0.0, -1.0])
        ulp = rng.choice([0, 1, 2, 4]) * (base / 2.0**52 if base and fmt == "d" else 1)
        off = rng.choice([-1.5, -1, -0.5, 0, 0.5, 1, 1.5])
        x = base + off * ulp if ulp else base + off
        a = f2b(x) if fmt == "d" else s2b(x)
    if name.startswith("fcvt.w") and rng.random() < 0.4:
        # at and around the integer limits and halfway points
        base = rng.choice([2.0**31, -(2.0**31), 2.0**32, 0.0, 1.0, -1.0])
        off = rng.choice([-1.5, -1, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.5])
        x = base + off
        a = f2b(x) if fmt == "d" else s2b(x)
    if fmt == "s":
        a, b, c = box(a), box(b), box(c)
    return a, b, c


def main():
    handlers = []  # (label, asm lines)
    records = []
    for op in OPS:
        name, fmt, nsrc, kind, has_rm, int_src = op
        srcs = ["fa0", "fa1", "fa2"][:nsrc]
        if int_src:
            srcs = ["a0"]
        dst = "fa3" if kind == "f" else "a1"
        variants = ["dyn"] + RMS if has_rm else [None]
        base = len(handlers)
        for v in variants:
            args = ", ".join([dst] + srcs + ([v] if v else []))
            handlers.append((f"{name} {args}", "out_f" if kind == "f" else "out_x"))
        for _ in range(PER_OP):
            vi = rng.randrange(len(variants))
            frm = rng.randrange(5) if variants[vi] in (None, "dyn") else rng.randrange(8)
            if variants[vi] != "dyn" and rng.random() < 0.5:
                frm = rng.randrange(5)
            a, b, c = operands(op)
            records.append((base + vi, frm, a, b, c, f"{handlers[base + vi][0]}"))

    out = []
    w = out.append
    w("/* GENERATED by gen_fp_diff.py (seed %d): do not edit; run build.sh. */" % SEED)
    w("/* The F/D differential: one output line per record, `<result hi><lo> <fflags>`. */")
    w('#include "test.h"')
    w("  .option norvc")
    w("TEST_BEGIN fp_diff")
    if XLEN == 64:
        w("/* RV64: results printed as one 64-bit word; integer operands loaded whole. */")
    w("  li t0, 0x2000        /* mstatus.FS = Initial */")
    w("  csrs mstatus, t0")
    w("  la s0, records")
    w("  la s1, records_end")
    w("next:")
    w("  bgeu s0, s1, done")
    w("  lw t0, 4(s0)")
    w("  csrw frm, t0")
    w("  csrw fflags, zero")
    w("  fld fa0, 8(s0)")
    w("  fld fa1, 16(s0)")
    w("  fld fa2, 24(s0)")
    w("  lw a0, 8(s0)" if XLEN == 32 else "  ld a0, 8(s0)")
    w("  lw t0, 0(s0)")
    w("  slli t0, t0, 3")
    w("  la t1, handlers")
    w("  add t1, t1, t0")
    w("  jr t1")
    w("out_f:")
    w("  la t0, scratch")
    w("  fsd fa3, 0(t0)")
    if XLEN == 32:
        w("  lw s2, 0(t0)")
        w("  lw a0, 4(t0)")
        w("  j print")
        w("out_x:")
        w("  mv s2, a1")
        w("  li a0, 0")
        w("print:")
        w("  csrr s3, fflags")
        w("  call puthex")
        w("  mv a0, s2")
        w("  call puthex")
    else:
        w("  ld a1, 0(t0)")
        w("out_x:")
        w("  csrr s3, fflags")
        w("  mv a0, a1")
        w("  call puthex")
    w("  li a0, ' '")
    w("  call putc")
    w("  srli a0, s3, 4")
    w("  call putdigit")
    w("  andi a0, s3, 15")
    w("  call putdigit")
    w("  li a0, '\\n'")
    w("  call putc")
    w("  addi s0, s0, 32")
    w("  j next")
    w("done:")
    w("  TEST_PASS")
    w("")
    w("/* putdigit(a0 = 0..15), putc(a0): clobber t0, t1. */")
    w("putdigit:")
    w("  addi a0, a0, '0'")
    w("  li t0, '9'")
    w("  ble a0, t0, putc")
    w("  addi a0, a0, 'a' - '0' - 10")
    w("putc:")
    w("  li t0, UART_BASE")
    w("1:")
    w("  lbu t1, UART_LSR(t0)")
    w("  andi t1, t1, UART_LSR_THRE")
    w("  beqz t1, 1b")
    w("  sb a0, 0(t0)")
    w("  ret")
    w("")
    w("/* Two instructions per handler: the operation, then a jump to the output. */")
    w("  .align 3")
    w("handlers:")
    for i, (insn, tail) in enumerate(handlers):
        w(f"  {insn:40s} /* {i} */")
        w(f"  j {tail}")
    w("")
    w("  .data")
    w("  .align 3")
    w("scratch: .8byte 0")
    w("/* records: handler, frm, a, b, c (line n of the output is record n) */")
    w("records:")
    for n, (h, frm, a, b, c, what) in enumerate(records):
        w(f"  .word {h}, {frm}; .8byte {a:#018x}, {b:#018x}, {c:#018x} /* {n}: {what} */")
    w("records_end:")
    print("\n".join(out))


main()
