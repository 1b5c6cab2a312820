//! The RISC-V hart against QEMU on the same guest workload, in the same run (see
//! `BENCHMARKS.md` at the workspace root).
//!
//! `tests/firmware/bench_mix.elf` (a CoreMark-like C mix: linked list, state machine,
//! matrix multiply, CRCs; 5000 iterations) runs to the finisher:
//!
//! * on Fief's test machine (`fief_tests::machine`): `Machine::new` plus `Machine::run`,
//!   in this process; guest instructions come from the hart's `minstret`;
//! * on `qemu-system-riscv32 -M virt -bios none -nographic -kernel bench_mix.elf`, a
//!   spawned process.
//!
//! Both also run `bench_mix_empty.elf` (the same program with 0 iterations: start-up,
//! one line of output, the finisher), and the table shows raw times and times with that
//! start-up subtracted. Each measurement is the median of `FIEF_BENCH_RUNS` runs (default
//! 5). The Fief console line (the checksum) must equal QEMU's. `FIEF_BENCH_QEMU=0` skips
//! QEMU (for quick comparisons of Fief builds).
//!
//! `FIEF_BENCH_IMAGE=bench_fp` runs the FP workload (`bench_fp.c`: n-body in double, a
//! single-precision matrix, conversions; 5000 iterations) and `bench_fp_empty` instead.
//!
//! `FIEF_BENCH_SET=1` runs the benchmark set instead (BENCHMARKS.md, "the benchmark set"):
//! `bench_mix` and the eight programs of [`SET`], each on Fief and QEMU in every run
//! (interleaved program by program), with `bench_mix_empty` as the start-up of all of them
//! (they share `crt.S` and print one line), `FIEF_BENCH_RUNS` runs (default 3), and prints
//! a table with a ratio per program and in total. `FIEF_BENCH_SET=list,crc` picks programs;
//! `FIEF_BENCH_SMALL=1` runs their `_small` images (for a profiler).
//!
//! `FIEF_BENCH_ACCEL=tcg` runs Fief's side with the translating tier (`fief run -accel
//! tcg`), in either mode, and prints its counters after each Fief run.
//!
//! `FIEF_BENCH_XLEN=64` runs the RV64 builds of the same programs (`tests/firmware/rv64/`,
//! the same C sources; no `bench_sv32`, Sv32 being RV32 only) on an RV64 hart and against
//! `qemu-system-riscv64`, with the same options otherwise.
//!
//! A plain `harness = false` main, not criterion: one Fief run takes seconds, so
//! criterion's minimum of 10 samples per benchmark would take minutes for little gain.
//! Without `qemu-system-riscv32` it says so loudly and measures Fief only.
//!
//! ```text
//! cargo bench -p fief-tests --bench hart
//! ```

#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fief_core::cpu::riscv::{csr, Xlen};
use fief_tests::machine::{Image, Machine};
use fief_tests::qemu;
use fief_tests::tier::Tier;

/// `FIEF_BENCH_XLEN=64`: the RV64 images and `qemu-system-riscv64`.
fn xlen() -> Xlen {
    if std::env::var("FIEF_BENCH_XLEN").is_ok_and(|v| v == "64") {
        Xlen::Rv64
    } else {
        Xlen::Rv32
    }
}
/// `FIEF_BENCH_ACCEL=tcg`: Fief's side runs with the translating tier (`fief_host::jit`,
/// x86-64 Unix hosts; elsewhere the interpreter, with a message).
fn tcg() -> bool {
    let on = std::env::var("FIEF_BENCH_ACCEL").is_ok_and(|v| v == "tcg");
    if on && !fief_host::jit::AVAILABLE {
        eprintln!("FIEF_BENCH_ACCEL=tcg: no translating tier on this host; the interpreter runs");
    }
    on && fief_host::jit::AVAILABLE
}

/// Far more than `bench_mix` retires (about 1.1e9 instructions).
const BUDGET: u64 = 100_000_000_000;

fn image(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("firmware");
    let dir = match xlen() {
        Xlen::Rv32 => dir,
        Xlen::Rv64 => dir.join("rv64"),
    };
    dir.join(format!("{name}.elf"))
}

/// One Fief run: wall time (machine set-up and run), instructions retired, console.
fn fief(path: &Path) -> (Duration, u64, String) {
    let bytes = std::fs::read(path).unwrap();
    let start = Instant::now();
    let image = Image::from_bytes(&bytes).unwrap();
    let mut machine = Machine::new(&image).unwrap();
    let result = match tcg() {
        #[cfg(all(target_arch = "x86_64", unix))]
        true => {
            let mut jit = fief_host::jit::Jit::new(image.xlen, 32).unwrap();
            let r = machine.run_with(BUDGET, &mut jit).unwrap();
            let s = jit.stats();
            eprintln!(
                "  tcg: {} blocks translated ({:.1} us each, {} bytes), {} declined, {} reused, \
                 {} runs; {}",
                s.translated,
                s.compile_ns as f64 / 1e3 / (s.translated + s.declined).max(1) as f64,
                s.code_bytes,
                s.declined,
                s.reused,
                s.runs,
                s.exits_line()
            );
            r
        }
        _ => machine.run_on(Tier::Interp, BUDGET).unwrap(),
    };
    let elapsed = start.elapsed();
    assert_eq!(
        result.exit_code,
        Some(0),
        "{} failed on Fief",
        path.display()
    );
    let instret = match image.xlen {
        Xlen::Rv64 => machine.hart.csr(csr::num::MINSTRET).unwrap(),
        Xlen::Rv32 => {
            let lo = machine.hart.csr(csr::num::MINSTRET).unwrap() & 0xffff_ffff;
            let hi = machine.hart.csr(csr::num::MINSTRETH).unwrap() & 0xffff_ffff;
            hi << 32 | lo
        }
    };
    let console = String::from_utf8_lossy(&result.console).into_owned();
    (elapsed, instret, console)
}

/// One QEMU run (`None` if QEMU cannot be started): wall time of the process, console.
fn qemu(path: &Path) -> Option<(Duration, String)> {
    let qemu = qemu::binary(xlen());
    let start = Instant::now();
    let out = Command::new(qemu)
        .args(["-M", "virt", "-bios", "none", "-nographic"])
        .args(["-monitor", "none", "-serial", "stdio", "-kernel"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{} failed on {qemu}: {:?}",
        path.display(),
        out.status
    );
    Some((elapsed, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn secs(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        format!("{:.1} ms", d.as_secs_f64() * 1e3)
    } else {
        format!("{:.3} s", d.as_secs_f64())
    }
}

fn runs(default: usize) -> usize {
    std::env::var("FIEF_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// Whether QEMU is to be measured (and is there; says loudly when it is missing).
fn have_qemu() -> bool {
    let qemu = qemu::binary(xlen());
    let skip_qemu = std::env::var("FIEF_BENCH_QEMU").is_ok_and(|v| v == "0");
    let have_qemu = !skip_qemu
        && Command::new(qemu)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !have_qemu && !skip_qemu {
        eprintln!();
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!("!!! {qemu} NOT FOUND: measuring Fief only, no comparison.");
        eprintln!("!!! Install it with `apt-get install qemu-system-misc`.");
        eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        eprintln!();
    }
    have_qemu
}

fn main() {
    match std::env::var("FIEF_BENCH_SET") {
        Ok(pick) if !pick.is_empty() && pick != "0" => set(&pick),
        _ => single(),
    }
}

/// The benchmark set (`tests/firmware/bench_*.c`, besides `bench_mix` and `bench_fp`): one
/// program per kind of code, each sized to take QEMU about 1-2 s.
const SET: [(&str, &str); 8] = [
    (
        "bench_list",
        "pointer chasing: scattered list, merge sort, search",
    ),
    (
        "bench_switch",
        "bytecode interpreter and tokenizer (jump tables)",
    ),
    ("bench_matrix", "integer matrix multiply 48 x 48"),
    ("bench_crc", "CRC-32/CRC-16, bit twiddling"),
    ("bench_calls", "deep recursion, many small calls"),
    ("bench_mem", "memcpy/memset of many sizes and alignments"),
    (
        "bench_trap",
        "U->M ecall round trips, CLINT timer interrupts",
    ),
    ("bench_sv32", "S-mode under Sv32, page-strided, sfence.vma"),
];

/// Per program: raw Fief and QEMU times of every run.
struct Series {
    name: &'static str,
    what: &'static str,
    fief: Vec<Duration>,
    qemu: Vec<Duration>,
    instret: u64,
}

fn set(pick: &str) {
    let runs = runs(3);
    let have_qemu = have_qemu();
    let empty = image("bench_mix_empty");
    // FIEF_BENCH_SMALL=1: the `_small` images (a few iterations), e.g. to run the bench
    // binary under `valgrind --tool=callgrind`.
    let suffix = if std::env::var("FIEF_BENCH_SMALL").is_ok_and(|v| v == "1") {
        "_small"
    } else {
        ""
    };
    let mut series: Vec<Series> = std::iter::once(("bench_mix", "the CoreMark-like mix"))
        .chain(SET)
        // Sv32 is RV32 only.
        .filter(|(name, _)| xlen() == Xlen::Rv32 || *name != "bench_sv32")
        .filter(|(name, _)| {
            pick == "1"
                || pick
                    .split(',')
                    .any(|p| name.trim_start_matches("bench_") == p)
        })
        .map(|(name, what)| Series {
            name,
            what,
            fief: vec![],
            qemu: vec![],
            instret: 0,
        })
        .collect();
    let (mut f_empty, mut q_empty) = (vec![], vec![]);
    for run in 0..runs {
        f_empty.push(fief(&empty).0);
        if have_qemu {
            q_empty.push(qemu(&empty).unwrap().0);
        }
        for s in &mut series {
            // Interleaved, so that a change in the machine's load hits both sides alike.
            let path = image(&format!("{}{suffix}", s.name));
            let (t, n, console) = fief(&path);
            s.fief.push(t);
            s.instret = n;
            if have_qemu {
                let (t, q_console) = qemu(&path).unwrap();
                assert_eq!(console, q_console, "{}: Fief and QEMU differ", s.name);
                s.qemu.push(t);
            }
            eprintln!(
                "run {}/{runs} {}: Fief {:.3} s{}",
                run + 1,
                s.name,
                t.as_secs_f64(),
                s.qemu
                    .last()
                    .map(|q| format!(", QEMU {:.3} s", q.as_secs_f64()))
                    .unwrap_or_default()
            );
        }
    }
    let fe = median(f_empty.clone());
    let qe = if have_qemu {
        median(q_empty.clone())
    } else {
        Duration::ZERO
    };
    println!();
    println!(
        "median of {runs} runs; net = raw - bench_mix_empty (start-up: Fief {}, QEMU {}); \
         ratio = Fief net / QEMU net; per-run = median of each run's own ratio",
        secs(fe),
        secs(qe)
    );
    println!();
    println!("| program | kind | guest instructions | Fief net | Fief MIPS | QEMU net | ratio | per-run |");
    println!("|---|---|---|---|---|---|---|---|");
    let net = |v: &[Duration], e: &[Duration], i: usize| v[i].saturating_sub(e[i]).as_secs_f64();
    let (mut f_total, mut q_total) = (0.0, 0.0);
    let mut run_totals = vec![(0.0, 0.0); runs];
    for s in &series {
        let f = median(s.fief.clone()).saturating_sub(fe).as_secs_f64();
        f_total += f;
        let mips = s.instret as f64 / f / 1e6;
        if !have_qemu {
            println!(
                "| {} | {} | {} | {f:.3} s | {mips:.0} | - | - | - |",
                s.name, s.what, s.instret
            );
            continue;
        }
        let q = median(s.qemu.clone()).saturating_sub(qe).as_secs_f64();
        q_total += q;
        let mut per_run: Vec<f64> = (0..runs)
            .map(|i| {
                let (fr, qr) = (net(&s.fief, &f_empty, i), net(&s.qemu, &q_empty, i));
                run_totals[i].0 += fr;
                run_totals[i].1 += qr;
                fr / qr
            })
            .collect();
        per_run.sort_by(f64::total_cmp);
        println!(
            "| {} | {} | {} | {f:.3} s | {mips:.0} | {q:.3} s | **{:.2}** | {:.2} |",
            s.name,
            s.what,
            s.instret,
            f / q,
            per_run[runs / 2]
        );
    }
    if have_qemu {
        let mut per_run: Vec<f64> = run_totals.iter().map(|(f, q)| f / q).collect();
        per_run.sort_by(f64::total_cmp);
        println!(
            "| total | | | {f_total:.3} s | | {q_total:.3} s | **{:.2}** | {:.2} |",
            f_total / q_total,
            per_run[runs / 2]
        );
    }
}

/// One image (`FIEF_BENCH_IMAGE`, default `bench_mix`) with its own `_empty` start-up image.
fn single() {
    let runs = runs(5);
    // FIEF_BENCH_IMAGE=bench_fp: the FP workload instead (`bench_fp.c`).
    let name = std::env::var("FIEF_BENCH_IMAGE").unwrap_or_else(|_| "bench_mix".into());
    let (work, empty) = (image(&name), image(&format!("{name}_empty")));
    let have_qemu = have_qemu();

    let (mut f_work, mut f_empty, mut q_work, mut q_empty) = (vec![], vec![], vec![], vec![]);
    let mut instret = 0;
    let mut console = String::new();
    for run in 0..runs {
        // Interleaved, so that a change in the machine's load hits both sides alike.
        let (t, n, c) = fief(&work);
        f_work.push(t);
        instret = n;
        console = c;
        f_empty.push(fief(&empty).0);
        if have_qemu {
            let (t, q_console) = qemu(&work).unwrap();
            assert_eq!(
                console, q_console,
                "Fief and QEMU print different checksums"
            );
            q_work.push(t);
            q_empty.push(qemu(&empty).unwrap().0);
        }
        eprintln!(
            "run {}/{runs} done: Fief {:.3} s{}",
            run + 1,
            f_work.last().unwrap().as_secs_f64(),
            q_work
                .last()
                .map(|q: &Duration| format!(", QEMU {:.3} s", q.as_secs_f64()))
                .unwrap_or_default()
        );
    }

    let (f_runs, f_empty_runs) = (f_work.clone(), f_empty.clone());
    let (q_runs, q_empty_runs) = (q_work.clone(), q_empty.clone());
    let (fw, fe) = (median(f_work), median(f_empty));
    let f_net = fw.saturating_sub(fe);
    println!();
    println!("{}", console.lines().next().unwrap_or(""));
    println!(
        "guest instructions (minstret): {instret}; median of {runs} runs; \
         net = raw - {name}_empty (start-up)"
    );
    println!(
        "Fief: {:.1} MIPS (net)",
        instret as f64 / f_net.as_secs_f64() / 1e6
    );
    println!();
    println!("| workload | Fief | QEMU | ratio Fief/QEMU |");
    println!("|---|---|---|---|");
    if have_qemu {
        let (qw, qe) = (median(q_work), median(q_empty));
        let q_net = qw.saturating_sub(qe);
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "| {name}, raw | {} | {} | {:.2} |",
            secs(fw),
            secs(qw),
            ratio(fw, qw)
        );
        println!(
            "| {name}_empty (start-up) | {} | {} | |",
            secs(fe),
            secs(qe)
        );
        println!(
            "| {name}, net | {} | {} | **{:.2}** |",
            secs(f_net),
            secs(q_net),
            ratio(f_net, q_net)
        );
        println!(
            "QEMU: {:.1} MIPS (net)",
            instret as f64 / q_net.as_secs_f64() / 1e6
        );
        // Each run's Fief and QEMU measurements are seconds apart, so their ratio is the
        // least affected by the shared machine's load changing during the benchmark.
        let mut pair_ratios: Vec<f64> = (0..runs)
            .map(|i| {
                let f = f_runs[i].saturating_sub(f_empty_runs[i]).as_secs_f64();
                let q = q_runs[i].saturating_sub(q_empty_runs[i]).as_secs_f64();
                f / q
            })
            .collect();
        pair_ratios.sort_by(f64::total_cmp);
        println!(
            "per-run net ratios: {}; median {:.2}",
            pair_ratios
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            pair_ratios[runs / 2]
        );
    } else {
        println!("| {name}, raw | {} | - | - |", secs(fw));
        println!("| {name}, net | {} | - | - |", secs(f_net));
    }
}
