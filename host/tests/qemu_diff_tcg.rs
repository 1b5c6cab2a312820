//! The translating tier (`fief run -accel tcg`) on whole guest programs: a handful of the
//! RV32 and RV64 images that the interpreter's QEMU differentials run (ISA tests, traps
//! and interrupts, Sv32, the benchmark set's `_small` images) must print byte-identical
//! console output and end with the same exit status as on QEMU, with blocks actually run
//! in translated code (`--trace exits` reports the tier's counters). Also the option's
//! spellings and refusals.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fief_core::cpu::riscv::Xlen;
use fief_tests::qemu::qemu_xlen;

fn image(xlen: Xlen, name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/firmware");
    let dir = match xlen {
        Xlen::Rv32 => dir,
        Xlen::Rv64 => dir.join("rv64"),
    };
    dir.join(format!("{name}.elf"))
}

/// `fief run ACCEL...` with `FIEF_ACCEL` unset: console, exit status, standard error.
fn fief(xlen: Xlen, image: &Path, accel: &[&str]) -> (String, Option<i32>, String) {
    fief_env(xlen, image, accel, None)
}

/// [`fief`] with `FIEF_ACCEL` set to `env` (unset for `None`).
fn fief_env(
    xlen: Xlen,
    image: &Path,
    accel: &[&str],
    env: Option<&str>,
) -> (String, Option<i32>, String) {
    let board = match xlen {
        Xlen::Rv32 => "virt32",
        Xlen::Rv64 => "virt64",
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fief"));
    cmd.env_remove("FIEF_ACCEL");
    if let Some(v) = env {
        cmd.env("FIEF_ACCEL", v);
    }
    let out = cmd
        .args([
            "run",
            "-M",
            board,
            "--bios",
            "none",
            "--trace",
            "exits,boot",
        ])
        .args(accel)
        .args(["--max-insns", "2000000000", "--kernel"])
        .arg(image)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The number after `word` in the tier's trace line.
fn counter(stderr: &str, word: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains(" tcg: "))
        .unwrap_or_else(|| panic!("no tier counters in:\n{stderr}"));
    let at = line.find(word).unwrap();
    line[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap()
}

fn diff(xlen: Xlen, names: &[&str]) {
    for name in names {
        let path = image(xlen, name);
        let (q_console, q_status) = qemu_xlen(xlen, &path, Duration::from_secs(60));
        // Every block translated at its first run (short programs: most blocks run
        // only a few times).
        let (f_console, f_status, stderr) = fief(xlen, &path, &["-accel", "tcg,hot-runs=1"]);
        assert_eq!(
            (f_console.as_str(), f_status),
            (q_console.as_str(), q_status),
            "{name}: Fief -accel tcg (left) and QEMU (right) differ; stderr:\n{stderr}"
        );
        assert_eq!(q_status, Some(0), "{name} on QEMU:\n{q_console}");
        assert!(
            stderr.contains("accel tcg (the translating tier), tb-size 32 MiB"),
            "{stderr}"
        );
        assert!(
            counter(&stderr, "runs in translated code") > 0,
            "{name}: nothing ran in translated code:\n{stderr}"
        );
    }
}

#[test]
fn rv32_isa_and_privileged_images_match_qemu_under_tcg() {
    diff(
        Xlen::Rv32,
        &[
            "isa_rv32i_alu",
            "isa_rv32i_branch_jump",
            "isa_rv32m",
            "isa_rv32c",
            "priv_traps",
            "priv_interrupts",
            "priv_sv32",
            "priv_counters",
        ],
    );
}

#[test]
fn rv32_benchmark_set_small_images_match_qemu_under_tcg() {
    diff(
        Xlen::Rv32,
        &[
            "bench_mix_small",
            "bench_list_small",
            "bench_switch_small",
            "bench_matrix_small",
            "bench_crc_small",
            "bench_calls_small",
            "bench_mem_small",
            "bench_trap_small",
            "bench_sv32_small",
        ],
    );
}

#[test]
fn rv64_benchmark_set_small_images_match_qemu_under_tcg() {
    diff(
        Xlen::Rv64,
        &[
            "bench_mix_small",
            "bench_matrix_small",
            "bench_crc_small",
            "bench_calls_small",
            "bench_switch_small",
        ],
    );
}

#[test]
fn accel_spellings_and_refusals() {
    let path = image(Xlen::Rv32, "isa_rv32m");
    // QEMU's `-accel tcg,tb-size=N` and `-tb-size N`.
    for args in [
        &["-accel", "tcg,tb-size=4"][..],
        &["-accel", "tcg", "-tb-size", "4"],
    ] {
        let (_, status, stderr) = fief(Xlen::Rv32, &path, args);
        assert_eq!(status, Some(0), "{stderr}");
        assert!(
            stderr.contains("accel tcg (the translating tier), tb-size 4 MiB"),
            "{stderr}"
        );
    }
    // Fief's `hot-runs=N`: a block is translated at its N-th run. No block of this short
    // program runs 16 times (the default); with 1 every block is translated.
    let (_, status, stderr) = fief(Xlen::Rv32, &path, &["-accel", "tcg"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("blocks translated at run 16"), "{stderr}");
    assert_eq!(counter(&stderr, "blocks translated"), 0, "{stderr}");
    let (_, status, stderr) = fief(Xlen::Rv32, &path, &["-accel", "tcg,hot-runs=1"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("blocks translated at run 1"), "{stderr}");
    assert!(counter(&stderr, "blocks translated") > 0, "{stderr}");
    // The default is the translating tier where it exists (this test runs on x86-64 Unix
    // hosts only), with the default hot-run count; `-accel interp` translates nothing.
    let (_, status, stderr) = fief(Xlen::Rv32, &path, &[]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stderr.contains("accel tcg (the translating tier), tb-size 32 MiB per hart, blocks translated at run 16"),
        "{stderr}"
    );
    assert!(stderr.contains(" tcg: "), "{stderr}");
    let (_, status, stderr) = fief(Xlen::Rv32, &path, &["-accel", "interp"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("accel interp"), "{stderr}");
    assert!(!stderr.contains(" tcg: "), "{stderr}");
    for (args, msg) in [
        (&["-accel", "kvm"][..], "-accel kvm: Fief has tcg"),
        (
            &["-accel", "tcg,tb-size=x"],
            "tb-size=x is not a number of MiB",
        ),
        (
            &["-accel", "tcg,thread=multi"],
            "unknown property 'thread=multi'",
        ),
        (&["-accel", "tcg", "-tb-size", "0"], "-tb-size 0"),
        (
            &["-accel", "tcg,hot-runs=0"],
            "hot-runs=0 is not a count of runs",
        ),
    ] {
        let (_, status, stderr) = fief(Xlen::Rv32, &path, args);
        assert_eq!(status, Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains(msg) && stderr.lines().count() == 1,
            "{args:?}: {stderr}"
        );
    }
}

/// `FIEF_ACCEL` chooses the tier when `-accel` is not given (the test suite's second pass
/// runs every guest under `tcg` with it), `-accel` overrides it, and a bad value is refused
/// in one line naming the variable.
#[test]
fn fief_accel_environment_variable() {
    let path = image(Xlen::Rv32, "isa_rv32m");
    for env in ["tcg,hot-runs=1", "tcg,tb-size=4,hot-runs=1"] {
        let (_, status, stderr) = fief_env(Xlen::Rv32, &path, &[], Some(env));
        assert_eq!(status, Some(0), "{stderr}");
        assert!(
            stderr.contains("accel tcg (the translating tier)"),
            "{stderr}"
        );
        assert!(counter(&stderr, "runs in translated code") > 0, "{stderr}");
    }
    let (_, _, stderr) = fief_env(Xlen::Rv32, &path, &[], Some("tcg,tb-size=4"));
    assert!(stderr.contains("tb-size 4 MiB"), "{stderr}");
    let (_, status, stderr) = fief_env(Xlen::Rv32, &path, &["-accel", "interp"], Some("tcg"));
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stderr.contains("accel interp"), "{stderr}");
    assert!(!stderr.contains(" tcg: "), "{stderr}");
    // Empty is unset (the default, the translating tier).
    let (_, _, stderr) = fief_env(Xlen::Rv32, &path, &[], Some(""));
    assert!(stderr.contains("accel tcg"), "{stderr}");
    let (_, status, stderr) = fief_env(Xlen::Rv32, &path, &[], Some("interp"));
    assert_eq!(status, Some(0), "{stderr}");
    assert!(
        stderr.contains("accel interp") && !stderr.contains(" tcg: "),
        "{stderr}"
    );
    let (_, status, stderr) = fief_env(Xlen::Rv32, &path, &[], Some("kvm"));
    assert_eq!(status, Some(1), "{stderr}");
    assert!(
        stderr.contains("FIEF_ACCEL=kvm: Fief has tcg") && stderr.lines().count() == 1,
        "{stderr}"
    );
}
