//! The committed guest images of `tests/firmware/` (RV32 beside their sources, RV64 in
//! `rv64/`) are what their sources build to: `build.sh` is run on a copy of the sources and
//! every image it writes (and the generated `fp_diff.S` sources) must equal the committed
//! one, byte for byte, with none missing or extra. Needs Debian's `gcc-riscv64-unknown-elf` (`scripts/test-all` installs it).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn firmware() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("firmware")
}

fn is_image(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("elf") | Some("bin")
    )
}

/// The images in `dir` and `dir/rv64`, as paths relative to `dir`.
fn images(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for sub in ["", "rv64"] {
        for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && is_image(&path) {
                out.insert(Path::new(sub).join(path.file_name().unwrap()));
            }
        }
    }
    out
}

/// Copies the sources (not the images, not `mcu32/`, which has its own build) of `from`
/// into `to`.
fn copy_sources(from: &Path, to: &Path) {
    for sub in ["", "common", "rv64"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && !is_image(&path) {
                let dest = to.join(sub).join(path.file_name().unwrap());
                std::fs::copy(&path, dest).unwrap();
            }
        }
    }
}

#[test]
fn committed_guest_images_match_their_source() {
    let src = firmware();
    let tmp = std::env::temp_dir().join(format!("fief-firmware-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_sources(&src, &tmp);
    let out = Command::new("sh")
        .arg(tmp.join("build.sh"))
        .output()
        .expect("run tests/firmware/build.sh");
    assert!(
        out.status.success(),
        "tests/firmware/build.sh failed (it needs gcc-riscv64-unknown-elf):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = images(&src);
    let built = images(&tmp);
    assert!(
        committed.iter().any(|p| p.starts_with("rv64")),
        "no RV64 images committed"
    );
    assert_eq!(
        built, committed,
        "build.sh writes other images than the committed ones"
    );
    // The generated F/D differential sources too.
    let generated = [PathBuf::from("fp_diff.S"), PathBuf::from("rv64/fp_diff.S")];
    let stale: Vec<String> = committed
        .iter()
        .chain(&generated)
        .filter(|p| std::fs::read(src.join(p)).unwrap() != std::fs::read(tmp.join(p)).unwrap())
        .map(|p| p.display().to_string())
        .collect();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        stale.is_empty(),
        "not what their sources build to (run tests/firmware/build.sh and commit): {stale:?}"
    );
}
