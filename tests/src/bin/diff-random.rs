//! `diff-random [--tier] [--xlen 32|64] [--gen base|bitmanip|fp] [--full] [BATCHES] [FIRST_SEED]
//! [PROGRAMS_PER_BATCH]`: runs that many batches of random programs (`fief_tests::randprog`,
//! of the generator `--gen` names, `base` by default; RV32 programs on
//! `qemu-system-riscv32`, or with `--xlen 64` RV64 ones on `qemu-system-riscv64`) on Fief
//! and on QEMU and stops at the first
//! difference (exit status 1, the programs' outputs side by side; `--full` prints every
//! data word instead of checksums, to find the bytes that differ). `scripts/diff-random`
//! drives it. `--write SEED FILE` writes one batch's image instead (to debug it by hand).
//! `--tier` compares Fief's two execution tiers instead of Fief and QEMU: each batch runs
//! under the interpreter and under the translating tier (`fief_tests::tierdiff`).

use fief_tests::randdiff::compare_xlen;
use fief_tests::randprog::{self, Flavor, Xlen};
use fief_tests::tierdiff::compare_tiers;

/// Random items per program body.
const BODY: usize = 300;

/// Argument `k` as a number (hexadecimal with `0x`), or `default`.
fn arg(args: &[String], k: usize, default: u64) -> u64 {
    args.get(k)
        .map(|s| {
            let parsed = match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => s.parse(),
            };
            parsed.unwrap_or_else(|_| {
                eprintln!("diff-random: {s:?} is not a number");
                std::process::exit(2)
            })
        })
        .unwrap_or(default)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut flavor = Flavor::Base;
    let mut xlen = Xlen::Rv32;
    let mut tier = false;
    loop {
        match args.first().map(String::as_str) {
            Some("--tier") => {
                tier = true;
                args.remove(0);
                continue;
            }
            Some("--gen") => {
                let name = args.get(1).cloned().unwrap_or_default();
                flavor = Flavor::from_name(&name).unwrap_or_else(|| {
                    eprintln!("diff-random: --gen takes base, bitmanip or fp, not {name:?}");
                    std::process::exit(2)
                });
            }
            Some("--xlen") => {
                xlen = match args.get(1).map(String::as_str) {
                    Some("32") => Xlen::Rv32,
                    Some("64") => Xlen::Rv64,
                    other => {
                        eprintln!("diff-random: --xlen takes 32 or 64, not {other:?}");
                        std::process::exit(2)
                    }
                };
            }
            _ => break,
        }
        args.drain(..2.min(args.len()));
    }
    if args.first().map(String::as_str) == Some("--write") {
        let seed = arg(&args, 1, 0);
        let Some(file) = args.get(2) else {
            eprintln!("diff-random: --write SEED FILE");
            std::process::exit(2)
        };
        let b = randprog::batch_xlen(xlen, flavor, seed, randprog::MAX_PROGRAMS, BODY, false);
        if let Err(e) = std::fs::write(file, &b.image) {
            eprintln!("diff-random: cannot write {file}: {e}");
            std::process::exit(2)
        }
        return;
    }
    let full = args.first().map(String::as_str) == Some("--full");
    let args = if full { &args[1..] } else { &args[..] };
    let batches = arg(args, 0, 1);
    let first = arg(args, 1, 0x5eed_0000);
    let per = (arg(args, 2, 64) as usize).clamp(1, randprog::MAX_PROGRAMS);
    if tier {
        let (mut programs, mut runs, mut translated) = (0, 0, 0);
        for seed in first..first + batches {
            let b = randprog::batch_xlen(xlen, flavor, seed, per, BODY, full);
            match compare_tiers(&b) {
                Ok(stats) => {
                    programs += per;
                    runs += stats.runs;
                    translated += stats.translated;
                }
                Err(m) => {
                    println!("{m}");
                    println!("after {programs} programs agreed");
                    std::process::exit(1)
                }
            }
        }
        println!(
            "{programs} programs agreed under both tiers ({batches} batches from seed \
             {first:#x}; {translated} blocks translated, {runs} runs in translated code)"
        );
        return;
    }
    let mut programs = 0;
    for seed in first..first + batches {
        let result = compare_xlen(xlen, flavor, seed, per, BODY, full);
        match result {
            Ok(n) => programs += n,
            Err(m) => {
                println!("{m}");
                println!("after {programs} programs agreed");
                std::process::exit(1)
            }
        }
    }
    println!("{programs} programs agreed ({batches} batches from seed {first:#x})");
}
