//! Differential runs of the board firmware: each image of `host/firmware/` on
//! `qemu-system-riscv32 -M virt -bios none -nographic` and on `fief run -M virt32` must print
//! byte-identical console output and end with the same exit status. (`dma` and `dmarun` use
//! Fief's DMA engine, which QEMU's `virt` does not have, and `spin` and `wfi` never end; they are
//! tested in `virt32.rs` and `dma.rs`.)
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fief_tests::qemu::qemu;

fn image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(format!("{name}.elf"))
}

fn fief(image: &Path) -> (String, Option<i32>) {
    let out = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "-M", "virt32", "--bios", "none", "--kernel"])
        .arg(image)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

fn diff(name: &str, expected_status: i32) {
    let path = image(name);
    let (q_console, q_status) = qemu(&path, Duration::from_secs(30));
    let (f_console, f_status) = fief(&path);
    assert_eq!(
        (f_console.as_str(), f_status),
        (q_console.as_str(), q_status),
        "{name}: Fief (left) and QEMU (right) differ"
    );
    assert_eq!(
        q_status,
        Some(expected_status),
        "{name} on QEMU:\n{q_console}"
    );
    if expected_status == 0 {
        assert!(!q_console.is_empty(), "{name} printed nothing");
    }
}

#[test]
fn demo_matches_qemu() {
    diff("demo", 0);
}

#[test]
fn uart_matches_qemu() {
    diff("uart", 0);
}

#[test]
fn clint_matches_qemu() {
    diff("clint", 0);
}

#[test]
fn plic_matches_qemu() {
    diff("plic", 0);
}

/// THRE-interrupt transmission through the PLIC under OpenSBI-style timer forwarding
/// (issue 17, item 7; many runs with an idle stdin are in `console.rs`).
#[test]
fn thre_matches_qemu() {
    diff("thre", 0);
}

/// The eight empty virtio-mmio slots as a driver probes them (U-Boot and Linux do).
#[test]
fn virtio_probe_matches_qemu() {
    diff("virtio_probe", 0);
}

#[test]
fn fail42_matches_qemu() {
    diff("fail42", 42);
}
