//! The random-program differential: batches of seeded random RV32 programs
//! (`fief_tests::randprog`: I, M, A, C, Zicsr, traps and returns, M/S/U switches, Sv32 and
//! `satp` switches, misaligned and faulting accesses) run on Fief's test machine and on
//! `qemu-system-riscv32 -M virt -bios none`; every program's trap lines, registers, CSRs and
//! memory checksums must agree (after the known QEMU deviations of
//! `fief_tests::randdiff::DEVIATIONS`); and batches of the `Bitmanip` and `Fp` generators,
//! the same programs with Zba/Zbb/Zbc/Zbs or F/D among them (FP registers and fcsr dumped). `scripts/diff-random N [SEED] [GEN]` runs many
//! more.
//!
//! QEMU is required (`scripts/test-all` installs it).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use fief_tests::randdiff::{compare, run_fief, split};
use fief_tests::randprog::{batch, batch_of, Flavor, MAX_PROGRAMS};

/// Random items per program body (as `diff-random`).
const BODY: usize = 300;

fn diff(seed: u64) {
    diff_of(Flavor::Base, seed);
}

fn diff_of(flavor: Flavor, seed: u64) {
    match compare(&batch_of(flavor, seed, MAX_PROGRAMS, BODY, false)) {
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

// Zba/Zbb/Zbc/Zbs in the random programs: two batches of 64 (about 1.5 s each).
#[test]
fn random_bitmanip_batch_0() {
    diff_of(Flavor::Bitmanip, 0xb17_0000);
}

#[test]
fn random_bitmanip_batch_1() {
    diff_of(Flavor::Bitmanip, 0xb17_0001);
}

/// The bit-manipulation generator emits every Zba/Zbb/Zbc/Zbs operation it lists (matched by
/// opcode and function fields at every halfword of a batch's image), and the reserved RV32
/// shift amount next to them traps as an illegal instruction, so none silently drops out.
#[test]
fn bitmanip_generator_reaches_every_operation() {
    let b = batch_of(Flavor::Bitmanip, 0xb17_0000, MAX_PROGRAMS, BODY, false);
    let words: Vec<u32> = (0..b.image.len() - 3)
        .step_by(2)
        .map(|k| u32::from_le_bytes(b.image[k..k + 4].try_into().unwrap()))
        .collect();
    // (mask, value): OP register forms, then OP-IMM unary forms, then shamt forms.
    let mut wanted: Vec<(u32, u32)> = [
        (0x10, 2),
        (0x10, 4),
        (0x10, 6),
        (0x20, 7),
        (0x20, 6),
        (0x20, 4),
        (0x05, 4),
        (0x05, 5),
        (0x05, 6),
        (0x05, 7),
        (0x30, 1),
        (0x30, 5),
        (0x05, 1),
        (0x05, 2),
        (0x05, 3),
        (0x24, 1),
        (0x24, 5),
        (0x34, 1),
        (0x14, 1),
    ]
    .iter()
    .map(|&(f7, f3)| (0xfe00_707f, f7 << 25 | f3 << 12 | 0x33))
    .collect();
    wanted.push((0xfff0_707f, 0x04 << 25 | 4 << 12 | 0x33)); // zext.h
    for (f3, imm) in [
        (1, 0x600),
        (1, 0x601),
        (1, 0x602),
        (1, 0x604),
        (1, 0x605),
        (5, 0x287),
        (5, 0x698),
    ] {
        wanted.push((0xfff0_707f, imm << 20 | f3 << 12 | 0x13));
    }
    for (f3, imm) in [(5, 0x600), (1, 0x480), (5, 0x480), (1, 0x680), (1, 0x280)] {
        wanted.push((0xfe00_707f, imm << 20 | f3 << 12 | 0x13));
    }
    for (mask, value) in wanted {
        assert!(
            words.iter().any(|w| w & mask == value),
            "no instruction matching {value:#010x} under {mask:#010x}"
        );
    }
    let (out, status) = run_fief(&b);
    assert_eq!(status, Some(0));
    assert_eq!(split(&out).len(), MAX_PROGRAMS);
    let illegal_shamt = out
        .lines()
        .filter_map(|l| l.strip_prefix("T 00000002 "))
        .any(|l| {
            let insn = u32::from_str_radix(&l[9..17], 16).unwrap_or(0);
            insn & 0x7f == 0x13 && insn & 0x0200_0000 != 0 && (insn >> 12) & 3 == 1
        });
    assert!(illegal_shamt, "no reserved RV32 shamt[5] encoding trapped");
}

// F and D in the random programs: two batches of 64.
#[test]
fn random_fp_batch_0() {
    diff_of(Flavor::Fp, 0xf9_0000);
}

#[test]
fn random_fp_batch_1() {
    diff_of(Flavor::Fp, 0xf9_0001);
}

/// The F/D generator's programs reach what they are for: every program dumps its FP
/// registers and fcsr (an `F` line of 65 words), FP instructions trap as illegal while
/// `mstatus.FS` is Off or with a reserved rounding mode (OP-FP, FMA and FP load/store
/// opcodes in `mtval`), and FP loads and stores fault on unmapped addresses.
#[test]
fn fp_generator_reaches_fp_state_and_traps() {
    let b = batch_of(Flavor::Fp, 0xf9_0000, MAX_PROGRAMS, BODY, false);
    let (out, status) = run_fief(&b);
    assert_eq!(status, Some(0));
    let f_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("F ")).collect();
    assert_eq!(f_lines.len(), MAX_PROGRAMS);
    assert!(f_lines.iter().all(|l| l.split_whitespace().count() == 66));
    let traps: Vec<(u32, u32)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("T "))
        .map(|l| {
            let f: Vec<u32> = l
                .split_whitespace()
                .map(|w| u32::from_str_radix(w, 16).unwrap())
                .collect();
            (f[0], f[2])
        })
        .collect();
    for opcode in [0x53, 0x43] {
        assert!(
            traps
                .iter()
                .any(|&(c, tval)| c == 2 && tval & 0x7f == opcode),
            "no illegal FP instruction with opcode {opcode:#x}"
        );
    }
    // A valid flw/fld/fsw/fsd is illegal only while FS is Off (by the FP items' own
    // switch or a random mstatus/sstatus write).
    for opcode in [0x07, 0x27] {
        assert!(
            traps.iter().any(|&(c, tval)| c == 2
                && tval & 0x7f == opcode
                && matches!(tval >> 12 & 7, 2 | 3)),
            "no FP load/store with opcode {opcode:#x} refused while mstatus.FS is Off"
        );
    }
    assert!(
        traps
            .iter()
            .any(|&(c, tval)| (c == 5 || c == 7) && tval >> 28 == 9),
        "no FP access fault"
    );
}
