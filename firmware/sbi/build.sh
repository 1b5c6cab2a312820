#!/bin/sh
# Rebuilds the SBI firmware images fief-sbi.elf (rv32) and fief-sbi64.elf (rv64), embedded
# by fief-host as the default -bios of virt32 and virt64, and its S-mode test images tests/*.elf, reproducibly: the Rust toolchain is pinned by
# rust-toolchain.toml, the crates by Cargo.lock (--locked), the profile (opt-level s, LTO,
# one codegen unit, no debug info, stripped) by Cargo.toml, and the image holds no paths.
# The test images need Debian's riscv64-unknown-elf-gcc.
#
#   firmware/sbi/build.sh                    rebuild everything, in place
#   firmware/sbi/build.sh OUT.elf OUT64.elf  build the two firmware images there only (the
#                                            test that the committed images match their
#                                            source uses this)
set -eu
# The outer build (nextest, test-all) must not steer this one.
unset RUSTUP_TOOLCHAIN CARGO_TARGET_DIR CARGO_BUILD_TARGET RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
cd "$(dirname "$0")"
out=${1:-fief-sbi.elf}
out64=${2:-fief-sbi64.elf}
cargo build --release --locked --target-dir target --target riscv32imac-unknown-none-elf
cargo build --release --locked --target-dir target --target riscv64imac-unknown-none-elf
cp target/riscv32imac-unknown-none-elf/release/fief-sbi "$out"
cp target/riscv64imac-unknown-none-elf/release/fief-sbi "$out64"
[ $# -gt 0 ] && exit 0
echo "built fief-sbi.elf and fief-sbi64.elf"
CC=${CC:-riscv64-unknown-elf-gcc}
ARCH="-march=rv32imac_zicsr_zifencei -mabi=ilp32"
LDFLAGS="-nostdlib -nostartfiles -static -T tests/link.ld -Wl,--build-id=none -Wl,--no-warn-rwx-segments"
obj=$(mktemp -d)
trap 'rm -rf "$obj"' EXIT
for src in tests/*.S; do
  name=$(basename "$src" .S)
  $CC $ARCH -c -o "$obj/$name.o" "$src"
  $CC $ARCH $LDFLAGS -o "tests/$name.elf" "$obj/$name.o"
  echo "built tests/$name.elf"
done
