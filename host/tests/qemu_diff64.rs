//! The RV64 guest images of `tests/firmware/rv64/` on the `virt64` board: each on
//! `qemu-system-riscv64 -M virt -bios none -nographic` and on `fief run -M virt64 --bios none`
//! must print byte-identical console output and end with the same exit status (0). The
//! same images run on the test machine's RV64 hart in `tests/tests/qemu_diff64.rs`; here
//! they run on the board, its devices, its boot path and its run loop.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fief_core::cpu::riscv::Xlen;
use fief_tests::qemu::qemu_xlen;

fn image(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/firmware/rv64")
        .join(format!("{name}.elf"))
}

fn fief(image: &Path) -> (String, Option<i32>) {
    // An image that loops instead of ending stops after 10^9 instructions (exit 1).
    let out = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "-M", "virt64", "--bios", "none"])
        .args(["--max-insns", "1000000000", "--kernel"])
        .arg(image)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        out.status.code(),
    )
}

fn diff(name: &str) {
    let path = image(name);
    let (q_console, q_status) = qemu_xlen(Xlen::Rv64, &path, Duration::from_secs(60));
    let (f_console, f_status) = fief(&path);
    assert_eq!(
        (f_console.as_str(), f_status),
        (q_console.as_str(), q_status),
        "{name}: Fief virt64 (left) and QEMU (right) differ"
    );
    assert_eq!(q_status, Some(0), "{name} on QEMU:\n{q_console}");
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
    isa_rv64i,
    isa_rv64m,
    isa_rv64a,
    isa_rv64c,
    priv_rv64,
    illegal,
    priv_csr,
    priv_traps,
    priv_interrupts,
    priv_counters,
    priv_pmp,
    priv_sdtrig,
    misaligned,
    priv_sv39,
    priv_sv48,
    priv_sv57,
    fp_state,
    fp_loadstore,
    fp_rv64,
    fp_diff,
    // The extension images built for RV64 (`tests/firmware/*.S` shared sources).
    isa_bitmanip,
    priv_sstc,
    // The benchmark programs, small.
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
