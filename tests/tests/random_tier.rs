//! The translating tier against the interpreter on the random-program generator
//! (`fief_tests::tierdiff`): a batch of every generator (base, bitmanip, fp) at RV32 and
//! RV64, 396 programs in all, each run in-process under both tiers; every program's trap
//! records, registers, CSRs and data checksums, and the final register file, `pc`,
//! `minstret` and `mcycle` must agree, with blocks actually run in translated code. One
//! batch runs with a code cache small enough to be flushed while it runs.
//! `scripts/diff-random --tier N` runs thousands more. Also: the test machine's
//! `Machine::run` takes its tier from `FIEF_ACCEL`, as the second test pass needs.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_host::jit::Jit;
use fief_tests::machine::{Image, Machine, MachineError};
use fief_tests::randprog::{batch_xlen, Flavor, Xlen, MAX_PROGRAMS};
use fief_tests::tierdiff::{compare_tiers, compare_tiers_with};

/// Random items per program body (as `diff-random`).
const BODY: usize = 300;

/// A batch of `flavor` at `xlen`, which must run blocks in translated code.
fn tiers(xlen: Xlen, flavor: Flavor, seed: u64) {
    let b = batch_xlen(xlen, flavor, seed, MAX_PROGRAMS, BODY, false);
    match compare_tiers(&b) {
        Ok(stats) => assert!(
            stats.runs > 0,
            "{xlen:?} {flavor:?}: nothing ran in translated code"
        ),
        Err(m) => panic!("{m}"),
    }
}

#[test]
fn rv32_base_programs_agree_under_both_tiers() {
    tiers(Xlen::Rv32, Flavor::Base, 0x7e1_0000);
}

#[test]
fn rv32_bitmanip_programs_agree_under_both_tiers() {
    tiers(Xlen::Rv32, Flavor::Bitmanip, 0x7e1_1000);
}

#[test]
fn rv32_fp_programs_agree_under_both_tiers() {
    tiers(Xlen::Rv32, Flavor::Fp, 0x7e1_2000);
}

#[test]
fn rv64_base_programs_agree_under_both_tiers() {
    tiers(Xlen::Rv64, Flavor::Base, 0x7e1_3000);
}

#[test]
fn rv64_bitmanip_programs_agree_under_both_tiers() {
    tiers(Xlen::Rv64, Flavor::Bitmanip, 0x7e1_4000);
}

#[test]
fn rv64_fp_programs_agree_under_both_tiers() {
    tiers(Xlen::Rv64, Flavor::Fp, 0x7e1_5000);
}

/// 12 programs with every data word dumped, and a code cache of 16 KiB: flushed whole
/// while the batch runs, and the translations made again must agree too.
#[test]
fn programs_agree_with_a_code_cache_flushed_while_they_run() {
    let b = batch_xlen(Xlen::Rv32, Flavor::Base, 0x7e1_6000, 12, BODY, true);
    let mut jit = Jit::with_cache_bytes(Xlen::Rv32, 16 << 10)
        .unwrap()
        .with_hot_runs(1);
    if let Err(m) = compare_tiers_with(&b, &mut jit) {
        panic!("{m}");
    }
    assert!(jit.stats().runs > 0);
    assert!(jit.flushes() > 0, "the 16 KiB cache was never flushed");
}

/// `Machine::run` (what the firmware tests and the in-process QEMU differentials call) runs
/// the translating tier when `FIEF_ACCEL` says `tcg`, the interpreter when it says
/// `interp` or is unset, and refuses another value. (nextest runs each test in its own
/// process, so setting the variable here touches no other test.)
#[test]
fn machine_run_takes_its_tier_from_fief_accel() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/firmware/isa_rv32m.elf");
    let image = Image::from_bytes(&std::fs::read(path).unwrap()).unwrap();
    let run = |accel: Option<&str>| {
        match accel {
            Some(v) => std::env::set_var("FIEF_ACCEL", v),
            None => std::env::remove_var("FIEF_ACCEL"),
        }
        Machine::new(&image).unwrap().run(10_000_000)
    };
    let r = run(Some("tcg")).unwrap();
    assert_eq!(
        r.exit_code,
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.console)
    );
    assert!(r.jit.is_some_and(|s| s.runs > 0), "{:?}", r.jit);
    for accel in [Some("interp"), None, Some("")] {
        let r = run(accel).unwrap();
        assert_eq!(r.exit_code, Some(0));
        assert_eq!(r.jit, None, "{accel:?}");
    }
    match run(Some("kvm")) {
        Err(MachineError::Tier(e)) => assert!(e.contains("FIEF_ACCEL='kvm'"), "{e}"),
        other => panic!("{other:?}"),
    }
}
