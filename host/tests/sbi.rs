//! Fief's SBI firmware (`firmware/sbi`, embedded as the default `-bios`): the committed
//! image is what its source builds to, its S-mode test image (`firmware/sbi/tests/`) makes
//! every call a kernel makes, with good and bad arguments, with the same output on Fief and
//! on QEMU (where the same firmware is given with `-bios`), and a next stage that returns
//! into the firmware gets a message and a failure exit, not a hang.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fief_tests::qemu::qemu_bios;

fn sbi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/sbi")
}

fn firmware() -> PathBuf {
    sbi_dir().join("fief-sbi.elf")
}

fn test_image(name: &str) -> PathBuf {
    sbi_dir().join("tests").join(format!("{name}.elf"))
}

/// Runs `kernel` on Fief with `bios` (`None`: the default, the bundled firmware); console
/// output and exit status.
fn fief(kernel: &Path, smp: &str, bios: Option<&Path>) -> (String, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fief"));
    // A firmware that loops instead of ending the run stops after 10^8 instructions (exit 1).
    cmd.args([
        "run",
        "-M",
        "virt32",
        "--smp",
        smp,
        "--max-insns",
        "100000000",
    ]);
    if let Some(bios) = bios {
        cmd.arg("--bios").arg(bios);
    }
    let out = cmd
        .arg("--kernel")
        .arg(kernel)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

#[test]
fn committed_firmware_matches_its_source() {
    let dir = std::env::temp_dir();
    let out = dir.join(format!("fief-sbi-{}.elf", std::process::id()));
    let out64 = dir.join(format!("fief-sbi64-{}.elf", std::process::id()));
    let status = Command::new(sbi_dir().join("build.sh"))
        .arg(&out)
        .arg(&out64)
        .status()
        .expect("run firmware/sbi/build.sh");
    assert!(status.success(), "firmware/sbi/build.sh failed");
    for (fresh, committed) in [(out, "fief-sbi.elf"), (out64, "fief-sbi64.elf")] {
        let bytes = std::fs::read(&fresh).unwrap();
        let _ = std::fs::remove_file(&fresh);
        assert!(
            bytes == std::fs::read(sbi_dir().join(committed)).unwrap(),
            "firmware/sbi/{committed} is not what its source builds to: run \
             firmware/sbi/build.sh and commit the image"
        );
    }
}

#[test]
fn sbi_calls_match_qemu() {
    let image = test_image("sbi_calls");
    let (q_console, q_status) =
        qemu_bios(&firmware(), &["-smp", "2"], &image, Duration::from_secs(30));
    // No --bios: the bundled firmware is the default.
    let (f_console, f_status) = fief(&image, "2", None);
    assert_eq!(
        (f_console.as_str(), f_status),
        (q_console.as_str(), q_status),
        "Fief (left) and QEMU (right) differ"
    );
    assert_eq!(q_status, Some(0), "on QEMU:\n{q_console}");
    // What the calls must answer (SBI 2.0), not only the same on both.
    for line in [
        "spec version: 02000000",
        "probe HSM: 00000001",
        "probe SRST: 00000001",
        "probe DBCN: 00000001",
        "probe PMU: 00000000",
        "PMU num_counters error: fffffffe",
        "status of hart 7 error: fffffffd",
        "start hart 7 error: fffffffd",
        "start the other hart in the firmware error: fffffffb",
        "start the boot hart error: fffffffa",
        "IPI to hart 7 error: fffffffd",
        "fence.i on hart 5 error: fffffffd",
        "DBCN write from 0x1000 error: fffffffd",
        "DBCN write from the firmware error: fffffffd",
        "the other hart runs with its hart ID in a0: 00000001",
        "the other hart's opaque: 00005678",
        "the boot hart took the other hart's IPI",
        "the other hart stopped again",
        "timer fired early: 00000000",
        "U-mode rdtime went forward: 00000001",
        "reset type 5 error: fffffffd",
        "reset reason 7 error: fffffffd",
        "powering off",
    ] {
        assert!(
            f_console.contains(line),
            "no line {line:?} in:\n{f_console}"
        );
    }
}

#[test]
fn a_next_stage_that_returns_gets_a_message_and_a_failure_exit() {
    let (console, status) = fief(&test_image("returns"), "1", Some(&firmware()));
    assert_eq!(status, Some(3), "{console}");
    assert!(
        // mcause 1: PMP entry 0 denies the firmware's region to S mode (instruction access
        // fault at the return address).
        console.contains(
            "fief-sbi: hart 0: the next stage returned or jumped into the firmware (pc 0x80000000, \
             ra 0x80000000, mcause 1); powering off"
        ),
        "{console}"
    );
    let (q_console, q_status) = qemu_bios(
        &firmware(),
        &[],
        &test_image("returns"),
        Duration::from_secs(30),
    );
    assert_eq!((console.as_str(), status), (q_console.as_str(), q_status));
}

#[test]
fn a_next_stage_that_faults_before_setting_stvec_gets_a_message_and_a_failure_exit() {
    let (console, status) = fief(&test_image("nostvec"), "1", None);
    assert_eq!(status, Some(3), "{console}");
    assert!(
        console.contains(
            "fief-sbi: hart 0: exception 2 (mtval 0x0) at pc 0x80400000 before the next stage \
             set stvec; powering off"
        ),
        "{console}"
    );
    let (q_console, q_status) = qemu_bios(
        &firmware(),
        &[],
        &test_image("nostvec"),
        Duration::from_secs(30),
    );
    assert_eq!((console.as_str(), status), (q_console.as_str(), q_status));
}

#[test]
fn srst_reboot_resets_and_the_firmware_boots_again() {
    let image = test_image("reboot");
    let (console, status) = fief(&image, "2", None);
    assert_eq!(status, Some(0), "{console}");
    assert!(
        console.contains("first boot: asking for a cold reboot")
            && console.contains("second boot: powering off")
            && console.matches("fief-sbi: RustSBI").count() == 2,
        "{console}"
    );
    let (q_console, q_status) =
        qemu_bios(&firmware(), &["-smp", "2"], &image, Duration::from_secs(30));
    assert_eq!((console.as_str(), status), (q_console.as_str(), q_status));
}

#[test]
fn a_bios_that_cannot_be_loaded_gets_one_line() {
    let dir = std::env::temp_dir().join(format!("fief-sbi-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let elf = std::fs::read(firmware()).unwrap();
    let cut = dir.join("cut.elf");
    std::fs::write(&cut, &elf[..100]).unwrap();
    for (bios, says) in [
        (dir.as_path(), "a directory is not an image file"),
        (cut.as_path(), "truncated"),
        (Path::new("/nonexistent/fw.elf"), "cannot read it"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_fief"))
            .args(["run", "--bios"])
            .arg(bios)
            .arg("--kernel")
            .arg(test_image("returns"))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.starts_with("fief: firmware '") && stderr.contains(says),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
