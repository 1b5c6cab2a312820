//! The random-program differential: batches of seeded random RV32 programs
//! (`fief_tests::randprog`: I, M, A, C, Zicsr, traps and returns, M/S/U switches, Sv32 and
//! `satp` switches, misaligned and faulting accesses) run on Fief's test machine and on
//! `qemu-system-riscv32 -M virt -bios none`; every program's trap lines, registers, CSRs and
//! memory checksums must agree (after the known QEMU deviations of
//! `fief_tests::randdiff::DEVIATIONS`); and batches of the `Bitmanip` and `Fp` generators,
//! the same programs with Zba/Zbb/Zbc/Zbs or F/D among them (FP registers and fcsr dumped);
//! and batches of the three generators at RV64 (`W` forms, doublewords, RV64C, the `.uw` and
//! `W` bitmanip forms, `fcvt.l[u]` and `fmv.x.d`, Sv39) on an RV64 hart and on
//! `qemu-system-riscv64`. `scripts/diff-random [--xlen 64] [--gen GEN] N [SEED]` runs many
//! more.
//!
//! QEMU is required (`scripts/test-all` installs it).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use fief_tests::randdiff::{compare, run_fief, run_fief_within, split};
use fief_tests::randprog::{
    batch, batch_of, batch_xlen, Batch, Flavor, Xlen, MAX_PROGRAMS, NON_CANONICAL_BIT, SLOT64,
    START_OFF64,
};

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

/// Fief's side of the differential has a wall-time limit: a run that does not return in
/// time (here: at once) fails the test naming the seed instead of hanging it.
#[test]
#[should_panic(expected = "seed 0xf1ef0000: Fief did not return from the batch")]
fn a_fief_run_that_does_not_return_in_time_fails() {
    let _ = run_fief_within(
        &batch(0xf1ef_0000, MAX_PROGRAMS, BODY),
        std::time::Duration::ZERO,
    );
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

/// Programs per RV64 batch in the test: an RV64 program takes Fief's debug build about
/// twice as long as an RV32 one (longer constants, a bigger dump), so half a batch keeps each
/// test as short as an RV32 batch (`diff-random --xlen 64` runs batches of 64).
const PROGRAMS64: usize = 32;

fn diff64(flavor: Flavor, seed: u64) {
    match compare(&batch64(flavor, seed)) {
        Ok(n) => assert_eq!(n, PROGRAMS64),
        Err(m) => panic!("{m}"),
    }
}

fn batch64(flavor: Flavor, seed: u64) -> Batch {
    batch_xlen(Xlen::Rv64, flavor, seed, PROGRAMS64, BODY, false)
}

/// A whole RV64 batch (64 programs), for the coverage checks, which run on Fief only.
fn full_batch64(flavor: Flavor, seed: u64) -> Batch {
    batch_xlen(Xlen::Rv64, flavor, seed, MAX_PROGRAMS, BODY, false)
}

/// A batch's trap lines as (mcause, mepc, mtval).
fn traps(out: &str) -> Vec<(u64, u64, u64)> {
    out.lines()
        .filter_map(|l| l.strip_prefix("T "))
        .map(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .map(|w| u64::from_str_radix(w, 16).unwrap())
                .collect();
            (f[0], f[1], f[2])
        })
        .collect()
}

/// The code parts of an RV64 batch's slots (the prologue, body and epilogue; not the random
/// data or the page tables).
fn code(b: &Batch) -> impl Iterator<Item = &[u8]> {
    b.image
        .chunks(SLOT64 as usize)
        .map(|slot| &slot[START_OFF64 as usize..0x8000])
}

/// Every halfword-aligned 32-bit window of an RV64 batch's code (where instructions may
/// start).
fn words(b: &Batch) -> Vec<u32> {
    code(b)
        .flat_map(|c| {
            (0..c.len() - 3)
                .step_by(2)
                .map(|k| u32::from_le_bytes(c[k..k + 4].try_into().unwrap()))
        })
        .collect()
}

// RV64 programs on an RV64 hart and qemu-system-riscv64: three batches of 32 of the base
// generator, two each of the bitmanip and F/D ones (224 programs).
#[test]
fn random64_programs_batch_0() {
    diff64(Flavor::Base, 0x64_f1ef_0000);
}

#[test]
fn random64_programs_batch_1() {
    diff64(Flavor::Base, 0x64_f1ef_0001);
}

#[test]
fn random64_programs_batch_2() {
    diff64(Flavor::Base, 0x64_f1ef_0002);
}

#[test]
fn random64_bitmanip_batch_0() {
    diff64(Flavor::Bitmanip, 0x64_0b17_0000);
}

#[test]
fn random64_bitmanip_batch_1() {
    diff64(Flavor::Bitmanip, 0x64_0b17_0001);
}

#[test]
fn random64_fp_batch_0() {
    diff64(Flavor::Fp, 0x64_00f9_0000);
}

#[test]
fn random64_fp_batch_1() {
    diff64(Flavor::Fp, 0x64_00f9_0001);
}

/// The RV64 generator covers what it is for: every program finishes with 64-bit dumps; a
/// batch raises every trap the RV32 one does, also page faults under Sv39 (non-canonical and
/// unmapped addresses), access faults above 4 GiB and software and timer interrupts in M
/// and in S/U; its image holds the RV64 forms (OP-32
/// and OP-IMM-32 ALU and M operations, `ld`/`sd`/`lwu`, `.d` AMOs and LR/SC, RV64C's
/// `c.ld`/`c.sd`/`c.ldsp`/`c.sdsp`/`c.addiw`/`c.addw`/`c.subw`, 6-bit shift amounts) and an
/// Sv39 `satp`, so that none silently drops out.
#[test]
fn rv64_generator_reaches_every_trap_and_form() {
    let b = full_batch64(Flavor::Base, 0x64_f1ef_0000);
    let (out, status) = run_fief(&b);
    assert_eq!(status, Some(0));
    assert_eq!(split(&out).len(), MAX_PROGRAMS);
    // The rarer faults are counted over a second batch too.
    let (out2, status2) = run_fief(&full_batch64(Flavor::Base, 0x64_f1ef_0001));
    assert_eq!(status2, Some(0));
    let both = format!("{out}{out2}");
    // 16 digits per register: R has x1..x26, C the dumped CSRs.
    for l in out.lines().filter(|l| l.starts_with("R ")) {
        assert!(l.split_whitespace().skip(1).all(|w| w.len() == 16), "{l}");
    }
    let t = traps(&both);
    for cause in [2, 3, 4, 5, 6, 7, 8, 9, 11, 13, 15] {
        assert!(t.iter().any(|x| x.0 == cause), "no trap with cause {cause}");
    }
    for (cause, what) in [(13, "load"), (15, "store/AMO")] {
        assert!(
            t.iter()
                .any(|x| x.0 == cause && x.2 == 0x40_0000_0000 + (x.2 & 0xff)),
            "no {what} page fault at a non-canonical address"
        );
        assert!(
            t.iter()
                .any(|x| x.0 == cause && x.2 & !0xff == 0xffff_ffff_c000_0000),
            "no {what} page fault in the top gigabyte"
        );
        assert!(
            t.iter()
                .any(|x| x.0 == cause && x.2 >> 32 == NON_CANONICAL_BIT >> 32),
            "no {what} page fault at a non-canonical alias of the data area"
        );
    }
    assert!(
        t.iter().any(|x| (x.0 == 5 || x.0 == 7) && x.2 >> 32 != 0),
        "no access fault above 4 GiB"
    );
    let w = words(&b);
    let has = |mask: u32, value: u32| w.iter().any(|x| x & mask == value);
    let halves: Vec<u16> = code(&b)
        .flat_map(|c| c.chunks(2).map(|h| u16::from_le_bytes([h[0], h[1]])))
        .collect();
    let has_c = |mask: u16, value: u16| halves.iter().any(|x| x & mask == value);
    // OP-32: addw subw sllw srlw sraw, mulw divw divuw remw remuw.
    for (f7, f3) in [
        (0, 0),
        (0x20, 0),
        (0, 1),
        (0, 5),
        (0x20, 5),
        (1, 0),
        (1, 4),
        (1, 5),
        (1, 6),
        (1, 7),
    ] {
        assert!(
            has(0xfe00_707f, f7 << 25 | f3 << 12 | 0x3b),
            "no OP-32 {f7:#x}/{f3}"
        );
    }
    // OP-IMM-32: addiw slliw srliw sraiw; the reserved slliw with shamt[5].
    for (mask, value) in [
        (0x707f, 0x1b),
        (0xfe00_707f, 1 << 12 | 0x1b),
        (0xfe00_707f, 5 << 12 | 0x1b),
        (0xfe00_707f, 0x20 << 25 | 5 << 12 | 0x1b),
        (0xfe00_707f, 0x01 << 25 | 1 << 12 | 0x1b),
    ] {
        assert!(has(mask, value), "no OP-IMM-32 {value:#x}");
    }
    // ld, lwu, sd; amo*.d, lr.d, sc.d; slli/srli/srai with shamt[5].
    assert!(has(0x707f, 3 << 12 | 0x03), "no ld");
    assert!(has(0x707f, 6 << 12 | 0x03), "no lwu");
    assert!(has(0x707f, 3 << 12 | 0x23), "no sd");
    for f5 in [
        0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c,
    ] {
        assert!(
            has(0xf800_707f, f5 << 27 | 3 << 12 | 0x2f),
            "no AMO {f5:#x}.d"
        );
    }
    for f3 in [1, 5] {
        assert!(
            has(0xfe00_707f, 0x01 << 25 | f3 << 12 | 0x13),
            "no 64-bit shift {f3} with shamt[5]"
        );
    }
    // RV64C: c.ld, c.sd, c.ldsp, c.sdsp, c.addiw, c.subw, c.addw, c.slli with shamt[5].
    for (mask, value, name) in [
        (0xe003, 0x6000, "c.ld"),
        (0xe003, 0xe000, "c.sd"),
        (0xe003, 0x6002, "c.ldsp"),
        (0xe003, 0xe002, "c.sdsp"),
        (0xe003, 0x2001, "c.addiw"),
        (0xfc63, 0x9c01, "c.subw"),
        (0xfc63, 0x9c21, "c.addw"),
        (0xf003, 0x1002, "c.slli shamt[5]"),
    ] {
        assert!(has_c(mask, value), "no {name}");
    }
    // Interrupts: software and timer, taken in M right after the `mie` write that enables
    // them and in S/U at the first instruction after an `mret`; a `wfi` with one pending.
    let word = |addr: u64| {
        let off = (addr - 0x8000_0000) as usize;
        u32::from_le_bytes(b.image[off..off + 4].try_into().unwrap())
    };
    let csrrs_mie = 0x3040_0073 | 2 << 12 | 29 << 15; // csrrs x0, mie, x29
    for cause in [3, 7] {
        let taken: Vec<u32> = traps(&out)
            .iter()
            .filter(|x| x.0 == 1 << 63 | cause)
            .map(|x| word(x.1 - 4))
            .collect();
        assert!(taken.contains(&csrrs_mie), "no interrupt {cause} in M");
        assert!(
            taken.contains(&0x3020_0073),
            "no interrupt {cause} after mret"
        );
        assert!(taken.iter().all(|&w| w == csrrs_mie || w == 0x3020_0073));
    }
    assert!(
        // (`w` steps by halfwords.)
        w.windows(3)
            .any(|p| p[0] == csrrs_mie && p[2] == 0x1050_0073),
        "no wfi with an interrupt pending"
    );
    let satp_c = out
        .lines()
        .filter(|l| l.starts_with("C "))
        .filter_map(|l| l.split_whitespace().nth(12))
        .any(|satp| satp.starts_with('8'));
    assert!(satp_c, "no program ends with an Sv39 satp");
    // Same seed, same image.
    assert_eq!(full_batch64(Flavor::Base, 0x64_f1ef_0000).image, b.image);
}

/// The RV64 bit-manipulation generator emits the `.uw` and `W` forms and RV64's `rev8` and
/// `zext.h` encodings, and the reserved `roriw` shift amount traps.
#[test]
fn rv64_bitmanip_generator_reaches_every_operation() {
    let b = full_batch64(Flavor::Bitmanip, 0x64_0b17_0000);
    let w = words(&b);
    let has = |mask: u32, value: u32| w.iter().any(|x| x & mask == value);
    for (f7, f3, name) in [
        (0x04, 0, "add.uw"),
        (0x10, 2, "sh1add.uw"),
        (0x10, 4, "sh2add.uw"),
        (0x10, 6, "sh3add.uw"),
        (0x30, 1, "rolw"),
        (0x30, 5, "rorw"),
    ] {
        assert!(has(0xfe00_707f, f7 << 25 | f3 << 12 | 0x3b), "no {name}");
    }
    for (imm, name) in [(0x600, "clzw"), (0x601, "ctzw"), (0x602, "cpopw")] {
        assert!(has(0xfff0_707f, imm << 20 | 1 << 12 | 0x1b), "no {name}");
    }
    assert!(has(0xfc00_707f, 0x080 << 20 | 1 << 12 | 0x1b), "no slli.uw");
    assert!(has(0xfe00_707f, 0x600 << 20 | 5 << 12 | 0x1b), "no roriw");
    assert!(
        has(0xfff0_707f, 0x6b8 << 20 | 5 << 12 | 0x13),
        "no rev8 (RV64)"
    );
    assert!(
        has(0xfff0_707f, 0x04 << 25 | 4 << 12 | 0x3b),
        "no zext.h (RV64)"
    );
    let (out, status) = run_fief(&b);
    assert_eq!(status, Some(0));
    let illegal_roriw = traps(&out)
        .iter()
        .any(|&(c, _, tval)| c == 2 && tval & 0xfe00_707f == 0x31 << 25 | 5 << 12 | 0x1b);
    assert!(illegal_roriw, "no reserved roriw shift amount trapped");
}

/// The RV64 F/D generator emits `fcvt.l[u]`, `fcvt.*.l[u]`, `fmv.x.d` and `fmv.d.x`, and
/// every program dumps its 32 FP registers as 64-bit words and fcsr.
#[test]
fn rv64_fp_generator_reaches_the_rv64_forms() {
    let b = full_batch64(Flavor::Fp, 0x64_00f9_0000);
    let w = words(&b);
    let has = |mask: u32, value: u32| w.iter().any(|x| x & mask == value);
    for fmt in [0, 1] {
        for kind in [2, 3] {
            assert!(has(
                0xfff0_007f,
                (0x18 << 2 | fmt) << 25 | kind << 20 | 0x53
            ));
            assert!(has(
                0xfff0_007f,
                (0x1a << 2 | fmt) << 25 | kind << 20 | 0x53
            ));
        }
    }
    assert!(has(0xfff0_707f, (0x1c << 2 | 1) << 25 | 0x53), "no fmv.x.d");
    assert!(has(0xfff0_707f, (0x1e << 2 | 1) << 25 | 0x53), "no fmv.d.x");
    let (out, status) = run_fief(&b);
    assert_eq!(status, Some(0));
    let f_lines: Vec<&str> = out.lines().filter(|l| l.starts_with("F ")).collect();
    assert_eq!(f_lines.len(), MAX_PROGRAMS);
    assert!(f_lines.iter().all(|l| l.split_whitespace().count() == 34));
}

/// `scripts/diff-random` runs the binary outside cargo, where `.cargo/config.toml`'s
/// `RUST_MIN_STACK` is not set: the batch's machine thread must bring its own stack (with
/// Rust's 2 MiB default a hart's block pool overflowed it and the binary aborted).
#[test]
fn the_diff_random_binary_runs_a_batch_without_the_tests_stack_setting() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_diff-random"))
        .env_remove("RUST_MIN_STACK")
        .args(["1", "0xf1ef0100", "8"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "diff-random failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
