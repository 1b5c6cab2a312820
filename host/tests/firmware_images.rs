//! The committed images of `host/firmware/` (the runner's test guests and Fief's virtio
//! drivers, RV32 beside their sources, RV64 in `rv64/`) are what their sources build to:
//! `build.sh` is run on a copy of the sources and every image it writes must equal the
//! committed one, byte for byte, with none missing or extra. Needs Debian's
//! `gcc-riscv64-unknown-elf` (`scripts/test-all` installs it).
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

/// Copies the sources (everything but the images) of `from` and `from/rv64` into `to`.
fn copy_sources(from: &Path, to: &Path) {
    for sub in ["", "rv64"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for entry in std::fs::read_dir(from.join(sub)).unwrap() {
            let path = entry.unwrap().path();
            if path.is_file() && !is_image(&path) {
                std::fs::copy(&path, to.join(sub).join(path.file_name().unwrap())).unwrap();
            }
        }
    }
}

#[test]
fn committed_runner_images_match_their_source() {
    let src = firmware();
    let tmp = std::env::temp_dir().join(format!("fief-host-firmware-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_sources(&src, &tmp);
    let out = Command::new("sh")
        .arg(tmp.join("build.sh"))
        .output()
        .expect("run host/firmware/build.sh");
    assert!(
        out.status.success(),
        "host/firmware/build.sh failed (it needs gcc-riscv64-unknown-elf):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = images(&src);
    let built = images(&tmp);
    assert!(
        committed.contains(Path::new("virtio_bench_wfi.elf")),
        "{committed:?}"
    );
    assert_eq!(
        built, committed,
        "build.sh writes other images than the committed ones"
    );
    let stale: Vec<String> = committed
        .iter()
        .filter(|p| std::fs::read(src.join(p)).unwrap() != std::fs::read(tmp.join(p)).unwrap())
        .map(|p| p.display().to_string())
        .collect();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        stale.is_empty(),
        "not what their sources build to (run host/firmware/build.sh and commit): {stale:?}"
    );
}
