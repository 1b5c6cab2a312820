//! The committed images of `host/firmware/` (the runner's test guests and Fief's virtio
//! drivers, RV32 beside their sources, RV64 in `rv64/`) are what their sources build to:
//! `build.sh` is run on a copy of the sources and every image it writes must equal the
//! committed one, byte for byte, with none missing or extra (`fief_tests::images`). Needs
//! Debian's `gcc-riscv64-unknown-elf` (`scripts/test-all` installs it).

use std::path::{Path, PathBuf};

use fief_tests::images::{check_committed_images, ImageFolder};

#[test]
fn committed_runner_images_match_their_source() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("firmware");
    let committed = check_committed_images(&ImageFolder {
        dir: &dir,
        subdirs: &["", "rv64"],
        generated: &[],
        name: "host/firmware",
    });
    assert!(
        committed.contains(Path::new("virtio_bench_wfi.elf")),
        "{committed:?}"
    );
}
