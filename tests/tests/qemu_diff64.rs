//! RV64 differential runs: every RV64 guest image of `tests/firmware/rv64/` on
//! `qemu-system-riscv64 -M virt -bios none` and on Fief's test machine (an RV64 hart, from
//! the image's ELF class) must print the same console output and end with the same exit
//! status, and pass.
//!
//! QEMU is required: if `qemu-system-riscv64` is missing these tests fail (install
//! `qemu-system-misc`; `scripts/test-all` does).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use fief_core::cpu::riscv::Xlen;
use fief_tests::machine::{run_image, Image};
use fief_tests::qemu::{binary, qemu_run, qemu_xlen};

const QEMU_TIMEOUT: Duration = Duration::from_secs(20);
const BUDGET: u64 = 20_000_000;

fn image(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("firmware/rv64")
        .join(format!("{name}.elf"))
}

/// Runs `name` on both with Fief's budget `budget`; QEMU's and Fief's console lines.
fn run_both(name: &str, budget: u64) -> ((String, Option<i32>), (String, Option<i32>)) {
    let path = image(name);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(
        Image::from_bytes(&bytes).unwrap().xlen,
        Xlen::Rv64,
        "{name} is not an RV64 image"
    );
    let q = qemu_xlen(Xlen::Rv64, &path, QEMU_TIMEOUT);
    let (f_exit, f_console) = run_image(&path, budget).unwrap();
    // The finisher's code becomes QEMU's process exit status, which keeps 8 bits.
    let f_status = f_exit.map(|code| (code & 0xff) as i32);
    (q, (f_console, f_status))
}

fn diff(name: &str) {
    let ((q_console, q_status), (f_console, f_status)) = run_both(name, BUDGET);
    assert_eq!(
        (f_console.as_str(), f_status),
        (q_console.as_str(), q_status),
        "{name}: Fief (left) and QEMU (right) differ"
    );
    // Both must actually pass: a diff of two identical failures proves nothing.
    assert_eq!(q_status, Some(0), "{name} fails on QEMU:\n{q_console}");
}

macro_rules! diff_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                diff(stringify!($name));
            }
        )*
    };
}

diff_tests!(
    // RV64-only sources (firmware/rv64/*.S).
    isa_rv64i,
    isa_rv64m,
    isa_rv64a,
    isa_rv64c,
    priv_rv64,
    // Sources shared with RV32 (firmware/*.S, built for RV64 by build.sh).
    illegal,
    priv_csr,
    priv_traps,
    priv_interrupts,
    priv_counters,
    priv_pmp,
    priv_sdtrig,
    misaligned,
    fp_state,
    fp_loadstore,
    fp_rv64,
    // Zba, Zbb, Zbc, Zbs with the RV64 .uw and W forms, pause, prefetch hints. Zicond is
    // not in QEMU 7.2: rv64/isa_zicond runs on Fief alone (`riscv_firmware.rs`).
    isa_bitmanip,
    priv_sstc,
    // The benchmark programs (`firmware/bench_*.c`, `tests/benches/hart.rs` with
    // `FIEF_BENCH_XLEN=64`) built for RV64, in small sizes: each prints its checksum, so the
    // full-size runs compute what QEMU computes. (No bench_sv32: Sv32 is RV32 only.)
    bench_mix_small,
    bench_fp_small,
    bench_list_small,
    bench_switch_small,
    bench_matrix_small,
    bench_crc_small,
    bench_calls_small,
    bench_mem_small,
    bench_trap_small,
);

// Sv39, Sv48 and Sv57 (`firmware/rv64/paging.h`, one source for the three modes).
diff_tests!(priv_sv39, priv_sv48, priv_sv57);

/// Svnapot and Svpbmt (`firmware/rv64/priv_svnapot.S`), which QEMU 7.2 has only when asked
/// for (`-cpu rv64,svnapot=on,svpbmt=on`); Fief's RV64 harts always have them.
#[test]
fn priv_svnapot() {
    let path = image("priv_svnapot");
    let (q_console, q_status) = qemu_run(
        binary(Xlen::Rv64),
        Path::new("none"),
        &["-cpu", "rv64,svnapot=on,svpbmt=on"],
        &path,
        QEMU_TIMEOUT,
    );
    let (f_exit, f_console) = run_image(&path, BUDGET).unwrap();
    let f_status = f_exit.map(|code| (code & 0xff) as i32);
    assert_eq!(
        (f_console.as_str(), f_status),
        (q_console.as_str(), q_status),
        "priv_svnapot: Fief (left) and QEMU (right) differ"
    );
    assert_eq!(
        q_status,
        Some(0),
        "priv_svnapot fails on QEMU:\n{q_console}"
    );
}

/// The generated RV64 F/D differential (`gen_fp_diff.py --xlen 64`): one line per record
/// (the 64-bit result and `fflags`), compared line by line so that a difference names the
/// record (`rv64/fp_diff.S` comments each with its instruction).
#[test]
fn fp_diff() {
    let ((q_console, q_status), (f_console, f_status)) = run_both("fp_diff", 80_000_000);
    let q: Vec<&str> = q_console.lines().collect();
    let f: Vec<&str> = f_console.lines().collect();
    let bad: Vec<String> = q
        .iter()
        .zip(&f)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .take(20)
        .map(|(n, (a, b))| format!("record {n}: QEMU {a}, Fief {b}"))
        .collect();
    assert!(
        bad.is_empty(),
        "fp_diff (RV64): Fief and QEMU differ:\n{}",
        bad.join("\n")
    );
    assert_eq!(f.len(), q.len(), "fp_diff (RV64): line counts differ");
    assert!(q.len() > 7000, "fp_diff printed only {} lines", q.len());
    assert_eq!(
        (f_status, q_status),
        (Some(0), Some(0)),
        "{}",
        q.last().unwrap_or(&"")
    );
}
