//! The guest test images of `tests/firmware/` on Fief's test machine: each must print its
//! `<name>: ok` line and pass through the finisher.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use fief_tests::machine::run_image;

/// Enough for every image (they retire well under a million instructions).
const BUDGET: u64 = 20_000_000;

fn image(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(format!("{name}.elf"))
}

fn check(name: &str) {
    let (exit, console) = run_image(image(name), BUDGET).unwrap();
    assert_eq!(
        (exit, console.as_str()),
        (Some(0), format!("{name}: ok\n").as_str()),
        "{name} on Fief: exit code {exit:?} (None = budget exhausted), console:\n{console}"
    );
}

macro_rules! firmware_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(stringify!($name));
            }
        )*
    };
}

firmware_tests!(
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
    isa_bitmanip,
    priv_sstc,
    // Zicond: Fief only (QEMU 7.2 has no Zicond, so `qemu_diff` cannot run it); the
    // image's expected values come from the Zicond 1.0 specification.
    isa_zicond,
    // Zicbom and Zicboz: Fief only too (QEMU 7.2 has neither: its `cbo.*` are illegal
    // instructions); expected behaviour from the CMO 1.0 specification.
    isa_cbo,
);

/// The RV64 builds of the Fief-only images (QEMU 7.2 has no Zicond, Zicbom or Zicboz).
#[test]
fn fief_only_images_rv64() {
    for name in ["isa_zicond", "isa_cbo"] {
        let (exit, console) = run_image(image(&format!("rv64/{name}")), BUDGET).unwrap();
        assert_eq!(
            (exit, console.as_str()),
            (Some(0), format!("{name}: ok\n").as_str()),
            "rv64/{name}"
        );
    }
}

#[test]
fn raw_binary_images_run_too() {
    let bin = image("isa_rv32m").with_extension("bin");
    let (exit, console) = run_image(bin, BUDGET).unwrap();
    assert_eq!((exit, console.as_str()), (Some(0), "isa_rv32m: ok\n"));
}

#[test]
fn bad_images_are_errors_not_panics() {
    use fief_tests::machine::{Image, MachineError};
    let elf = std::fs::read(image("isa_rv32m")).unwrap();
    for len in [0, 3, 4, 20, 51, 52, 60, 100] {
        let mut bytes = elf[..len.min(elf.len())].to_vec();
        if bytes.len() < 4 {
            bytes = b"\x7fELF".to_vec();
        }
        assert!(
            matches!(Image::parse_elf(&bytes), Err(MachineError::BadElf(_))),
            "truncated to {len}"
        );
    }
    let mut rv64 = elf.clone();
    rv64[4] = 2;
    assert!(Image::parse_elf(&rv64).is_err());
    let mut other_machine = elf.clone();
    other_machine[18] = 62;
    assert!(Image::parse_elf(&other_machine).is_err());
    let mut bad_phoff = elf.clone();
    bad_phoff[28..32].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(Image::parse_elf(&bad_phoff).is_err());
    let img = Image::parse_elf(&elf).unwrap();
    assert_eq!(img.entry, 0x8000_0000);
    let outside = Image {
        xlen: fief_core::cpu::riscv::Xlen::Rv32,
        entry: 0,
        segments: vec![(0x1000, vec![1, 2, 3], 3)],
    };
    assert!(matches!(
        fief_tests::machine::Machine::new(&outside),
        Err(MachineError::OutsideRam { .. })
    ));
    assert!(matches!(
        run_image("/nonexistent/image.elf", 10),
        Err(MachineError::Io(_))
    ));
}
