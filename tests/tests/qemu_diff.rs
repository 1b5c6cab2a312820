//! Differential runs: every guest image of `tests/firmware/` on QEMU
//! (`qemu-system-riscv32 -M virt -bios none`) and on Fief's test machine must print the
//! same console output and end with the same exit status.
//!
//! QEMU is required: if `qemu-system-riscv32` is missing these tests fail (install
//! `qemu-system-misc`; `scripts/test-all` does).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use fief_tests::machine::run_image;
use fief_tests::qemu::qemu;

const QEMU_TIMEOUT: Duration = Duration::from_secs(20);
const BUDGET: u64 = 20_000_000;

fn image(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(format!("{name}.elf"))
}

fn diff(name: &str) {
    let path = image(name);
    let (q_console, q_status) = qemu(&path, QEMU_TIMEOUT);
    let (f_exit, f_console) = run_image(&path, BUDGET).unwrap();
    // The finisher's code becomes QEMU's process exit status, which keeps 8 bits.
    let f_status = f_exit.map(|code| (code & 0xff) as i32);
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
    isa_rv32i_alu,
    isa_rv32i_branch_jump,
    isa_rv32i_loadstore,
    isa_rv32m,
    isa_rv32a,
    isa_rv32c,
    priv_csr,
    priv_traps,
    priv_interrupts,
    priv_sv32,
    priv_pmp,
    priv_counters,
    priv_sdtrig,
    misaligned,
    illegal,
    fp_state,
    fp_loadstore,
    // Zba, Zbb, Zbc, Zbs, pause, prefetch hints (QEMU 7.2's rv32 has them by default).
    // Zicond is not in QEMU 7.2: `isa_zicond` runs on Fief alone (`riscv_firmware.rs`).
    isa_bitmanip,
    // Sstc (on by default in QEMU 7.2): stimecmp/stimecmph, menvcfg.STCE, TM gating, STIP,
    // the supervisor timer interrupt in S and in M.
    priv_sstc,
    // The C workload of the hart benchmark (`tests/benches/hart.rs`) with 20 iterations
    // instead of 5000: its checksum line covers list, state-machine, matrix and CRC kernels.
    bench_mix_small,
    // The FP workload (`firmware/bench_fp.c`: n-body in double, a single-precision matrix,
    // conversions) with 20 iterations.
    bench_fp_small,
    // The benchmark set (`tests/benches/hart.rs`, BENCHMARKS.md) in small sizes: each prints
    // its checksum, so the full-size runs compute what QEMU computes.
    // Pointer chasing: a scattered linked list merge-sorted and searched.
    bench_list_small,
    // A bytecode interpreter and a tokenizer: switches compiled to jump tables.
    bench_switch_small,
    // Integer matrix multiply, transpose, fold.
    bench_matrix_small,
    // CRC-32 (bitwise, table), CRC-16, popcount/bit reversal/leading zeros.
    bench_crc_small,
    // Deep recursion (Fibonacci, Ackermann, a tree walk) and calls through a pointer table.
    bench_calls_small,
    // Word and byte copies and fills of many sizes and alignments.
    bench_mem_small,
    // U-mode ecall round trips to M-mode and CLINT timer interrupts, counted.
    bench_trap_small,
    // S-mode under Sv32: page-strided sweeps over 2048 pages, sfence.vma, PTE swaps.
    bench_sv32_small,
);

/// The generated F/D differential (`firmware/gen_fp_diff.py`): one line per record (result
/// and `fflags` of one operation on one operand set in one rounding mode), compared line by
/// line so that a difference names the record (`fp_diff.S` comments each with its
/// instruction).
#[test]
fn fp_diff() {
    let path = image("fp_diff");
    let (q_console, q_status) = qemu(&path, QEMU_TIMEOUT);
    let (f_exit, f_console) = run_image(&path, 50_000_000).unwrap();
    let f_status = f_exit.map(|code| (code & 0xff) as i32);
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
        "fp_diff: Fief and QEMU differ:\n{}",
        bad.join("\n")
    );
    assert_eq!(f.len(), q.len(), "fp_diff: line counts differ");
    assert!(q.len() > 5000, "fp_diff printed only {} lines", q.len());
    assert_eq!(
        (f_status, q_status),
        (Some(0), Some(0)),
        "{}",
        q.last().unwrap_or(&"")
    );
}
