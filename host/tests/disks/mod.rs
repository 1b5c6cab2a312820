//! What the virtio tests share: a per-process scratch folder and seeded disk images.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// `name` in this test process's scratch folder (created on first use).
pub fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fief-virtio-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A disk image of `sectors` sectors of seeded bytes (xorshift).
pub fn image(path: &Path, sectors: usize, seed: u32) {
    let mut x = seed | 1;
    let bytes: Vec<u8> = (0..sectors * 512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    std::fs::write(path, bytes).unwrap();
}
