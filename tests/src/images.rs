//! Whether a folder's committed guest images are what its sources build to: its `build.sh`
//! is run on a copy of the sources, and every image it writes (and any generated source
//! named) must equal the committed one, byte for byte, with none missing or extra. Used by
//! `tests/tests/firmware_images.rs` (`tests/firmware/`) and `host/tests/firmware_images.rs`
//! (`host/firmware/`). Needs Debian's `gcc-riscv64-unknown-elf` (`scripts/test-all` installs
//! it).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A folder of committed images and the build script that makes them.
#[derive(Clone, Copy, Debug)]
pub struct ImageFolder<'a> {
    /// The folder holding `build.sh`, its sources and the committed images.
    pub dir: &'a Path,
    /// Its subfolders (relative; `""` is the folder itself) whose files `build.sh` reads and
    /// whose images it writes.
    pub subdirs: &'a [&'a str],
    /// Sources (relative paths) that `build.sh` generates and that are committed too.
    pub generated: &'a [&'a str],
    /// The folder's name in failure messages (`tests/firmware`).
    pub name: &'a str,
}

fn is_image(p: &Path) -> bool {
    matches!(
        p.extension().and_then(|e| e.to_str()),
        Some("elf") | Some("bin")
    )
}

/// Reads directory `dir` or fails the test naming it.
fn entries(dir: &Path) -> Vec<PathBuf> {
    let read = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    read.map(|entry| {
        entry
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .path()
    })
    .filter(|p| p.is_file())
    .collect()
}

/// The images in `dir`'s `subdirs`, as paths relative to `dir`.
fn images(dir: &Path, subdirs: &[&str]) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for sub in subdirs {
        for path in entries(&dir.join(sub)) {
            if let (true, Some(name)) = (is_image(&path), path.file_name()) {
                out.insert(Path::new(sub).join(name));
            }
        }
    }
    out
}

/// Copies the sources (everything but the images) of `from`'s `subdirs` into `to`.
fn copy_sources(from: &Path, to: &Path, subdirs: &[&str]) {
    for sub in subdirs {
        let dest = to.join(sub);
        std::fs::create_dir_all(&dest)
            .unwrap_or_else(|e| panic!("creating {}: {e}", dest.display()));
        for path in entries(&from.join(sub)) {
            if let (false, Some(name)) = (is_image(&path), path.file_name()) {
                std::fs::copy(&path, dest.join(name))
                    .unwrap_or_else(|e| panic!("copying {}: {e}", path.display()));
            }
        }
    }
}

/// Runs `folder`'s `build.sh` on a copy of its sources and fails the test unless it writes
/// exactly the committed images, each (and each generated source) equal to the committed
/// one. Returns the committed images (relative paths) for further checks.
pub fn check_committed_images(folder: &ImageFolder<'_>) -> BTreeSet<PathBuf> {
    let name = folder.name;
    let tmp = std::env::temp_dir().join(format!(
        "fief-images-{}-{}",
        name.replace('/', "-"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    copy_sources(folder.dir, &tmp, folder.subdirs);
    let out = Command::new("sh")
        .arg(tmp.join("build.sh"))
        .output()
        .unwrap_or_else(|e| panic!("running {name}/build.sh: {e}"));
    assert!(
        out.status.success(),
        "{name}/build.sh failed (it needs gcc-riscv64-unknown-elf):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let committed = images(folder.dir, folder.subdirs);
    let built = images(&tmp, folder.subdirs);
    assert_eq!(
        built, committed,
        "{name}/build.sh writes other images than the committed ones"
    );
    let read = |p: &Path| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let generated = folder.generated.iter().map(PathBuf::from);
    let stale: Vec<String> = committed
        .iter()
        .cloned()
        .chain(generated)
        .filter(|p| read(&folder.dir.join(p)) != read(&tmp.join(p)))
        .map(|p| p.display().to_string())
        .collect();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        stale.is_empty(),
        "not what their sources build to (run {name}/build.sh and commit): {stale:?}"
    );
    committed
}
