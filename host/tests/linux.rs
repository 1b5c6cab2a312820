//! A Linux guest: Debian's 6.12 kernel built for rv32 by `scripts/build-linux` (config
//! `tests/linux/common.config` + `rv32.config`, `/init` from `tests/linux/init.c`) boots on Fief with the
//! bundled SBI firmware (no `-bios`) to init's last line and powers off (exit 0), with one and
//! four harts; QEMU runs the same kernel with the same firmware (`-bios fief-sbi.elf`: QEMU
//! 7.2 as Debian ships it has no riscv32 OpenSBI) and init prints the same lines.
//!
//! `scripts/test-all` builds the kernel before nextest runs; here a missing kernel is a
//! failure that says how to build it, never a skip.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fief_tests::qemu::qemu_bios;

/// The command line: the 16550 console, SBI earlycon.
const APPEND: &str = "console=ttyS0 earlycon=sbi";
/// Wall time a boot may take (an unoptimised `fief` on a busy 2-core machine).
const TIMEOUT: Duration = Duration::from_secs(1800);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The kernel `scripts/build-linux` built for the current inputs.
fn kernel() -> PathBuf {
    let out = Command::new(repo().join("scripts/build-linux"))
        .arg("--path")
        .output()
        .expect("run scripts/build-linux --path");
    assert!(out.status.success(), "scripts/build-linux --path failed");
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(
        path.is_file(),
        "the Linux guest is not built ({} is missing): run scripts/build-linux (scripts/test-all \
         does, before the tests)",
        path.display()
    );
    path
}

/// Runs `fief` with `args`, stdin closed, killed after [`TIMEOUT`]; console and status.
fn fief(args: &[&str]) -> (String, Option<i32>, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let out = reader.join().unwrap_or_default();
            panic!(
                "fief {args:?} did not finish within {TIMEOUT:?}; console:\n{}",
                String::from_utf8_lossy(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap_or_default();
    (
        String::from_utf8_lossy(&out).into_owned(),
        status.code(),
        start.elapsed(),
    )
}

/// The lines `/init` printed (each starts with `init: `), wherever the kernel's own lines
/// fell between them.
fn init_lines(console: &str) -> Vec<String> {
    console
        .lines()
        .map(|l| l.trim_matches('\r'))
        .filter(|l| l.starts_with("init: "))
        .map(str::to_string)
        .collect()
}

/// Boots the kernel on Fief with `harts` harts and the bundled firmware; checks init passed
/// and the run ended with the power-off; returns init's lines.
fn boots_on_fief(harts: &str) -> Vec<String> {
    let image = kernel();
    let args = [
        "run",
        "-M",
        "virt32",
        "-m",
        "128M",
        "--smp",
        harts,
        "--no-reboot",
        "--kernel",
        image.to_str().unwrap(),
        "--append",
        APPEND,
    ];
    let (console, status, took) = fief(&args);
    let lines = init_lines(&console);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on Fief with {harts} hart(s); console:\n{console}"
    );
    assert!(
        lines.contains(&format!("init: cpuinfo: {harts} harts, mmu sv32")),
        "{console}"
    );
    assert_eq!(status, Some(0), "the power-off; console:\n{console}");
    assert!(console.contains("reboot: Power down"), "{console}");
    eprintln!("Linux on Fief, {harts} hart(s): firmware to power-off in {took:?}");
    lines
}

#[test]
fn linux_boots_to_init_and_powers_off_with_one_hart() {
    boots_on_fief("1");
}

#[test]
fn linux_boots_with_four_harts_and_init_prints_the_same_as_on_qemu() {
    let image = kernel();
    let firmware = repo().join("firmware/sbi/fief-sbi.elf");
    let start = Instant::now();
    let (q_console, q_status) = qemu_bios(
        &firmware,
        &["-m", "128M", "-smp", "4", "-no-reboot", "-append", APPEND],
        &image,
        TIMEOUT,
    );
    eprintln!(
        "Linux on QEMU, 4 harts: firmware to power-off in {:?}",
        start.elapsed()
    );
    let q_lines = init_lines(&q_console);
    assert_eq!(
        q_lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on QEMU; console:\n{q_console}"
    );
    assert_eq!(q_status, Some(0), "QEMU's power-off");
    let f_lines = boots_on_fief("4");
    assert_eq!(
        f_lines, q_lines,
        "init's lines differ between Fief (left) and QEMU (right)"
    );
}
