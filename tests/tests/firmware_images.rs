//! The committed guest images of `tests/firmware/` (RV32 beside their sources, RV64 in
//! `rv64/`) are what their sources build to: `build.sh` is run on a copy of the sources and
//! every image it writes (and the generated `fp_diff.S` sources) must equal the committed
//! one, byte for byte, with none missing or extra (`fief_tests::images`). Needs Debian's
//! `gcc-riscv64-unknown-elf` (`scripts/test-all` installs it).

use std::path::PathBuf;

use fief_tests::images::{check_committed_images, ImageFolder};

#[test]
fn committed_guest_images_match_their_source() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("firmware");
    // Not `mcu32/`, which has its own build.
    let committed = check_committed_images(&ImageFolder {
        dir: &dir,
        subdirs: &["", "common", "rv64"],
        generated: &["fp_diff.S", "rv64/fp_diff.S"],
        name: "tests/firmware",
    });
    assert!(
        committed.iter().any(|p| p.starts_with("rv64")),
        "no RV64 images committed"
    );
}
