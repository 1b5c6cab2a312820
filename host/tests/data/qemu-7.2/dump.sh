#!/bin/sh
# Regenerates the decompiled device trees of QEMU's riscv32 `virt` machine that
# host/tests/boot.rs compares Fief's tree with, node by node. Made with Debian's QEMU 7.2
# (qemu-system-misc 1:7.2+dfsg-7+deb12u18+b3) and dtc; `/chosen/rng-seed` is random on every run.
set -eu
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for cfg in 1:128 2:256 4:512; do
  smp=${cfg%%:*}
  mem=${cfg##*:}
  qemu-system-riscv32 -M virt -bios none -nographic -smp "$smp" -m "${mem}M" \
    -machine dumpdtb="$tmp/virt.dtb" 2>/dev/null
  dtc -q -I dtb -O dts -o "virt-smp$smp-m${mem}M.dts" "$tmp/virt.dtb"
  echo "made virt-smp$smp-m${mem}M.dts"
done
