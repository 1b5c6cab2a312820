#!/bin/sh
# Rebuilds the fief runner's firmware images (ELF) beside their sources, reproducibly.
# Needs Debian's riscv64-unknown-elf toolchain (gcc-riscv64-unknown-elf).
set -eu
cd "$(dirname "$0")"
CC=${CC:-riscv64-unknown-elf-gcc}
ARCH="-march=rv32imac_zicsr_zifencei -mabi=ilp32"
LDFLAGS="-nostdlib -nostartfiles -static -Wl,--build-id=none -Wl,--no-warn-rwx-segments"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
for src in *.S; do
  name=$(basename "$src" .S)
  $CC $ARCH -c -o "$obj/$name.o" "$src"
  # S-mode kernels (s_*.S) sit where a firmware enters the kernel.
  case $name in s_*) ld=link-s.ld ;; *) ld=link.ld ;; esac
  $CC $ARCH $LDFLAGS -T $ld -o "$name.elf" "$obj/$name.o"
  echo "built $name.elf"
done
# The Linux-Image-shaped guest also as the raw bytes a `-kernel Image` is.
riscv64-unknown-elf-objcopy -O binary image.elf image.bin
echo "built image.bin"
# Fief's bare-metal virtio driver (C).
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -c -o "$obj/virtio_drv.o" virtio_drv.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_drv.elf "$obj/virtio_drv.o"
echo "built virtio_drv.elf"
# Fief's bare-metal virtio-net driver (host/tests/virtio_net.rs: two instances on a UDP link).
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -c -o "$obj/virtio_net.o" virtio_net.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_net.elf "$obj/virtio_net.o"
echo "built virtio_net.elf"
# virtio-console input (host/tests/virtio.rs types into it through a socket chardev).
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -c -o "$obj/virtio_con.o" virtio_con.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_con.elf "$obj/virtio_con.o"
echo "built virtio_con.elf"
# Several harts doing virtio-blk I/O under hot-plug (host/tests/virtio.rs's stress test).
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -DHARTS=4 -DROUNDS=40 -c -o "$obj/virtio_stress.o" virtio_stress.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_stress.elf "$obj/virtio_stress.o"
echo "built virtio_stress.elf"
# The same under -DSOAK: runs until the host stops it, with DMA (host/tests/soak.rs, scripts/soak).
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -DHARTS=4 -DSOAK -c -o "$obj/soak.o" virtio_stress.c
$CC $ARCH $LDFLAGS -T link.ld -o soak.elf "$obj/soak.o"
echo "built soak.elf"
# The virtio-blk benchmark's driver (scripts/bench-virtio).
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -c -o "$obj/virtio_bench.o" virtio_bench.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_bench.elf "$obj/virtio_bench.o"
echo "built virtio_bench.elf"
# The same benchmark waiting for each completion with `wfi` on the PLIC interrupt.
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -DWAIT_WFI -c -o "$obj/virtio_bench_wfi.o" virtio_bench.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_bench_wfi.elf "$obj/virtio_bench_wfi.o"
echo "built virtio_bench_wfi.elf"
# Its small variant, diffed against QEMU (timings masked) in host/tests/virtio.rs.
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -DRANDOM=64 -c -o "$obj/virtio_bench_small.o" virtio_bench.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_bench_small.elf "$obj/virtio_bench_small.o"
echo "built virtio_bench_small.elf"
# And the small `wfi` variant (the interrupt path), diffed against QEMU the same way.
$CC $ARCH -O2 -ffreestanding -fno-builtin -nostdlib -Wall -Wextra -Werror -DWAIT_WFI -DRANDOM=64 -c -o "$obj/virtio_bench_wfi_small.o" virtio_bench.c
$CC $ARCH $LDFLAGS -T link.ld -o virtio_bench_wfi_small.elf "$obj/virtio_bench_wfi_small.o"
echo "built virtio_bench_wfi_small.elf"
# RV64 images for virt64 (rv64/*.S), with the same link script.
ARCH64="-march=rv64imac_zicsr_zifencei -mabi=lp64 -mcmodel=medany"
for src in rv64/*.S; do
  name=rv64/$(basename "$src" .S)
  $CC $ARCH64 -c -o "$obj/rv64.o" "$src"
  $CC $ARCH64 $LDFLAGS -T link.ld -o "$name.elf" "$obj/rv64.o"
  echo "built $name.elf"
done
