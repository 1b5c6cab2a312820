//! Running a guest image on `qemu-system-riscv32 -M virt -bios none` (RV32) or
//! `qemu-system-riscv64 -M virt -bios none` (RV64), for the differential tests. QEMU is
//! required: a missing QEMU is a test failure with an install hint, never a skip
//! (`scripts/test-all` installs `qemu-system-misc`).

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fief_core::cpu::riscv::Xlen;

/// The QEMU binary the RV32 differential tests use.
pub const QEMU: &str = "qemu-system-riscv32";
/// The QEMU binary the RV64 differential tests use.
pub const QEMU64: &str = "qemu-system-riscv64";

/// The QEMU binary for harts of `xlen`.
pub fn binary(xlen: Xlen) -> &'static str {
    match xlen {
        Xlen::Rv32 => QEMU,
        Xlen::Rv64 => QEMU64,
    }
}

/// [`qemu`] on the QEMU for `xlen` ([`binary`]): `qemu-system-riscv64` for RV64 images.
pub fn qemu_xlen(xlen: Xlen, image: &Path, timeout: Duration) -> (String, Option<i32>) {
    qemu_run(binary(xlen), Path::new("none"), &[], image, timeout)
}

/// Console output and exit status of `image` on QEMU's `virt` machine with no firmware, no
/// standard input, and at most `timeout` of wall time. Panics (fails the test) if QEMU is
/// missing, times out, or writes to stderr.
pub fn qemu(image: &Path, timeout: Duration) -> (String, Option<i32>) {
    qemu_with(&[], image, timeout)
}

/// [`qemu`] with `extra` options after the usual ones (`-no-reboot`, `-append ...`).
pub fn qemu_with(extra: &[&str], image: &Path, timeout: Duration) -> (String, Option<i32>) {
    qemu_bios(Path::new("none"), extra, image, timeout)
}

/// [`qemu_with`] with `bios` as QEMU's firmware instead of none (Fief's SBI firmware: QEMU
/// 7.2 as Debian ships it has no riscv32 OpenSBI of its own).
pub fn qemu_bios(
    bios: &Path,
    extra: &[&str],
    image: &Path,
    timeout: Duration,
) -> (String, Option<i32>) {
    qemu_run(QEMU, bios, extra, image, timeout)
}

/// Runs `image` on QEMU `binary` (`qemu-system-riscv32` or `qemu-system-riscv64`) with
/// `-M virt -bios BIOS`, the serial port on stdout and `extra` options: console output and
/// exit status. Panics (fails the test) if QEMU is missing, times out, or writes to stderr.
pub fn qemu_run(
    binary: &str,
    bios: &Path,
    extra: &[&str],
    image: &Path,
    timeout: Duration,
) -> (String, Option<i32>) {
    let mut child = match Command::new(binary)
        .args(["-M", "virt", "-bios"])
        .arg(bios)
        .args(["-nographic", "-monitor", "none"])
        .args(["-serial", "stdio"])
        .args(extra)
        .arg("-kernel")
        .arg(image)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run {binary} ({e}): the differential tests need it; install it with \
             `apt-get install qemu-system-misc` (scripts/test-all does)"
        ),
    };
    let Some(mut stdout) = child.stdout.take() else {
        panic!("no stdout pipe")
    };
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => panic!("waiting for {binary}: {e}"),
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{binary} did not finish {} within {timeout:?}",
                image.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = reader.join().unwrap_or_default();
    let mut err = String::new();
    if let Some(mut stderr) = child.stderr.take() {
        let _ = stderr.read_to_string(&mut err);
    }
    assert!(err.is_empty(), "{binary} wrote to stderr:\n{err}");
    (String::from_utf8_lossy(&out).into_owned(), status.code())
}
