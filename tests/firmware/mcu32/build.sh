#!/bin/sh
# Rebuilds the mcu32 guest images (ELF and raw binary for flash at 0x20000000) beside their
# sources, reproducibly. Needs Debian's riscv64-unknown-elf toolchain.
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
OBJCOPY=${OBJCOPY:-riscv64-unknown-elf-objcopy}
ARCH="-march=rv32imac_zicsr_zifencei -mabi=ilp32"
LDFLAGS="-nostdlib -nostartfiles -static -T link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
$CC $ARCH -c -o "$obj/crt.o" crt.S
for src in hal_*.S hello.S; do
  name=$(basename "$src" .S)
  $CC $ARCH -c -o "$obj/$name.o" "$src"
  $CC $ARCH $LDFLAGS -o "$name.elf" "$obj/crt.o" "$obj/$name.o"
  $OBJCOPY -O binary "$name.elf" "$name.bin"
  echo "built $name"
done
