//! The random-program differential: batches of seeded random RV32 programs
//! (`fief_tests::randprog`: I, M, A, C, Zicsr, traps and returns, M/S/U switches, Sv32 and
//! `satp` switches, misaligned and faulting accesses) run on Fief's test machine and on
//! `qemu-system-riscv32 -M virt -bios none`; every program's trap lines, registers, CSRs and
//! memory checksums must agree (after the known QEMU deviations of
//! `fief_tests::randdiff::DEVIATIONS`). `scripts/diff-random N` runs many more.
//!
//! QEMU is required (`scripts/test-all` installs it).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use fief_tests::randdiff::{compare, run_fief, split};
use fief_tests::randprog::{batch, MAX_PROGRAMS};

/// Random items per program body (as `diff-random`).
const BODY: usize = 300;

fn diff(seed: u64) {
    match compare(&batch(seed, MAX_PROGRAMS, BODY)) {
        Ok(n) => assert_eq!(n, MAX_PROGRAMS),
        Err(m) => panic!("{m}"),
    }
}

// Five batches of 64 programs: 320 programs, each on both machines.
#[test]
fn random_programs_batch_0() {
    diff(0xf1ef_0000);
}

#[test]
fn random_programs_batch_1() {
    diff(0xf1ef_0001);
}

#[test]
fn random_programs_batch_2() {
    diff(0xf1ef_0002);
}

#[test]
fn random_programs_batch_3() {
    diff(0xf1ef_0003);
}

#[test]
fn random_programs_batch_4() {
    diff(0xf1ef_0004);
}

/// The generator keeps covering what the differential is for: every program finishes, and a
/// batch raises every trap the generator aims at (illegal instruction, breakpoint, access
/// faults, misaligned LR and AMOs, ecall from U, S and M, load and store page
/// faults; never an instruction page fault: every fetch is mapped), so a generator change that
/// stopped reaching a mode or a fault would fail here rather than pass vacuously.
#[test]
fn generator_reaches_every_trap_and_mode() {
    let b = batch(0xf1ef_0000, MAX_PROGRAMS, BODY);
    let (out, status) = run_fief(&b);
    assert_eq!(status, Some(0));
    assert_eq!(split(&out).len(), MAX_PROGRAMS);
    let causes: BTreeSet<u32> = out
        .lines()
        .filter_map(|l| l.strip_prefix("T "))
        .filter_map(|l| u32::from_str_radix(&l[..8], 16).ok())
        .collect();
    for cause in [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15] {
        assert!(
            causes.contains(&cause),
            "no trap with cause {cause}: {causes:?}"
        );
    }
    // Same seed, same image.
    assert_eq!(batch(0xf1ef_0000, MAX_PROGRAMS, BODY).image, b.image);
}
