#!/bin/sh
# Rebuilds every Fief guest test image (ELF and raw binary) beside its source, reproducibly.
# Needs Debian's riscv64-unknown-elf toolchain (gcc-riscv64-unknown-elf, binutils-riscv64-unknown-elf).
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
OBJCOPY=${OBJCOPY:-riscv64-unknown-elf-objcopy}
ARCH="-march=rv32imac_zicsr_zifencei -mabi=ilp32"
# The extension images (isa_bitmanip, isa_zicond, isa_cbo, priv_sstc): the bit-manipulation,
# cache-block and pause instructions binutils 2.40 knows (Zicond it does not: .insn).
EXT_ARCH="-march=rv32imac_zicsr_zifencei_zba_zbb_zbc_zbs_zicbom_zicboz_zicbop_zihintpause -mabi=ilp32"
# The F/D images (fp_*): the same ABI (soft-float calling convention), F and D instructions.
FP_ARCH="-march=rv32imafdc_zicsr_zifencei -mabi=ilp32"
LDFLAGS="-nostdlib -nostartfiles -static -T common/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments"
# The RV64 images (rv64/): the same sources where they are XLEN-clean (test.h's REG_L/REG_S/
# XWORD), plus rv64/*.S for what only RV64 has. medany: the images live at 0x80000000, out
# of reach of the default medlow model's 32-bit signed absolute addresses.
ARCH64="-march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany"
FP_ARCH64="-march=rv64imafdc_zicsr_zifencei -mabi=lp64 -mcmodel=medany"
EXT_ARCH64="-march=rv64imac_zicsr_zifencei_zba_zbb_zbc_zbs_zicbom_zicboz_zicbop_zihintpause -mabi=lp64 -mcmodel=medany"
# The shared sources the RV64 build also assembles (#if __riscv_xlen where RV64 differs: h
# counter halves illegal, pmpcfg2, RV64-only encodings). The others test RV32-only
# behaviour (32-bit wrap-around, RV32C, Sv32); rv64/ has their RV64 counterparts.
SHARED64="illegal priv_csr priv_traps priv_interrupts priv_counters priv_pmp priv_sdtrig misaligned fp_state fp_loadstore isa_bitmanip isa_zicond isa_cbo priv_sstc"
# The F/D differential's source is generated (seeded, so the same every time).
python3 gen_fp_diff.py 13 > fp_diff.S
python3 gen_fp_diff.py --xlen 64 13 > rv64/fp_diff.S
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
# Named objects (not the compiler driver's random temporary names) keep the ELF symbol
# tables, and so the committed images, identical from one build to the next.
$CC $ARCH -Icommon -c -o "$obj/crt.o" common/crt.S
for src in *.S; do
  name=$(basename "$src" .S)
  arch=$ARCH
  case $name in
    fp_*) arch=$FP_ARCH ;;
    isa_bitmanip | isa_zicond | isa_cbo | priv_sstc) arch=$EXT_ARCH ;;
  esac
  $CC $arch -Icommon -c -o "$obj/$name.o" "$src"
  $CC $ARCH $LDFLAGS -o "$name.elf" "$obj/crt.o" "$obj/$name.o"
  $OBJCOPY -O binary "$name.elf" "$name.bin"
  echo "built $name"
done
# bench_mix.c, a C workload, in three sizes: the benchmark (tests/benches/hart.rs), a small one
# for the differential test, and an empty one (no iterations) that measures start-up cost.
CFLAGS="-O2 -ffreestanding -fno-builtin -Wall -Wextra -Werror -Icommon"
for variant in bench_mix: bench_mix_small:-DITERATIONS=20 bench_mix_empty:-DITERATIONS=0; do
  name=${variant%%:*}
  defs=${variant#*:}
  $CC $ARCH $CFLAGS $defs -c -o "$obj/$name.o" bench_mix.c
  $CC $ARCH $LDFLAGS -o "$name.elf" "$obj/crt.o" "$obj/$name.o"
  $OBJCOPY -O binary "$name.elf" "$name.bin"
  echo "built $name"
done
# bench_fp.c, the FP workload, in the same three sizes (-ffp-contract=fast: GCC fuses
# multiply-adds into FMADD/FMSUB; -fno-math-errno: sqrt is fsqrt.d).
FP_CFLAGS="$CFLAGS -ffp-contract=fast -fno-math-errno"
for variant in bench_fp: bench_fp_small:-DITERATIONS=20 bench_fp_empty:-DITERATIONS=0; do
  name=${variant%%:*}
  defs=${variant#*:}
  $CC $FP_ARCH $FP_CFLAGS $defs -c -o "$obj/$name.o" bench_fp.c
  $CC $FP_ARCH $LDFLAGS -o "$name.elf" "$obj/crt.o" "$obj/$name.o"
  $OBJCOPY -O binary "$name.elf" "$name.bin"
  echo "built $name"
done
# The benchmark set (tests/benches/hart.rs; BENCHMARKS.md, "the benchmark set"): one C
# program per kind of code, each full-size for the benchmark (about 1-2 s on QEMU) and small
# for the differential test (program:small-iterations).
for prog in list:2 switch:3 matrix:12 crc:6 calls:2 mem:1 trap:3000 sv32:12; do
  base=bench_${prog%%:*}
  for variant in "$base:" "${base}_small:-DITERATIONS=${prog#*:}"; do
    name=${variant%%:*}
    defs=${variant#*:}
    $CC $ARCH $CFLAGS $defs -c -o "$obj/$name.o" "$base.c"
    $CC $ARCH $LDFLAGS -o "$name.elf" "$obj/crt.o" "$obj/$name.o"
    $OBJCOPY -O binary "$name.elf" "$name.bin"
    echo "built $name"
  done
done

# RV64 (see ARCH64 above): rv64/NAME.elf/.bin from rv64/NAME.S or the shared NAME.S.
$CC $ARCH64 -Icommon -c -o "$obj/crt64.o" common/crt.S
build64() { # build64 NAME SOURCE
  arch=$ARCH64
  case $1 in
    fp_*) arch=$FP_ARCH64 ;;
    isa_bitmanip | isa_zicond | isa_cbo | priv_sstc) arch=$EXT_ARCH64 ;;
  esac
  $CC $arch -Icommon -c -o "$obj/$1.64.o" "$2"
  $CC $ARCH64 $LDFLAGS -o "rv64/$1.elf" "$obj/crt64.o" "$obj/$1.64.o"
  $OBJCOPY -O binary "rv64/$1.elf" "rv64/$1.bin"
  echo "built rv64/$1"
}
for name in $SHARED64; do
  build64 "$name" "$name.S"
done
for src in rv64/*.S; do
  build64 "$(basename "$src" .S)" "$src"
done
# The benchmarks for RV64 (rv64/bench_*): the same C sources, in the same sizes, except
# bench_sv32 (Sv32 is RV32 only).
for variant in bench_mix: bench_mix_small:-DITERATIONS=20 bench_mix_empty:-DITERATIONS=0; do
  name=${variant%%:*}
  $CC $ARCH64 $CFLAGS ${variant#*:} -c -o "$obj/$name.64.o" bench_mix.c
  $CC $ARCH64 $LDFLAGS -o "rv64/$name.elf" "$obj/crt64.o" "$obj/$name.64.o"
  $OBJCOPY -O binary "rv64/$name.elf" "rv64/$name.bin"
  echo "built rv64/$name"
done
for variant in bench_fp: bench_fp_small:-DITERATIONS=20 bench_fp_empty:-DITERATIONS=0; do
  name=${variant%%:*}
  $CC $FP_ARCH64 $FP_CFLAGS ${variant#*:} -c -o "$obj/$name.64.o" bench_fp.c
  $CC $FP_ARCH64 $LDFLAGS -o "rv64/$name.elf" "$obj/crt64.o" "$obj/$name.64.o"
  $OBJCOPY -O binary "rv64/$name.elf" "rv64/$name.bin"
  echo "built rv64/$name"
done
for prog in list:2 switch:3 matrix:12 crc:6 calls:2 mem:1 trap:3000; do
  base=bench_${prog%%:*}
  for variant in "$base:" "${base}_small:-DITERATIONS=${prog#*:}"; do
    name=${variant%%:*}
    $CC $ARCH64 $CFLAGS ${variant#*:} -c -o "$obj/$name.64.o" "$base.c"
    $CC $ARCH64 $LDFLAGS -o "rv64/$name.elf" "$obj/crt64.o" "$obj/$name.64.o"
    $OBJCOPY -O binary "rv64/$name.elf" "rv64/$name.bin"
    echo "built rv64/$name"
  done
done
