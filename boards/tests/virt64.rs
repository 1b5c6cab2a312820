//! The `virt64` board through its API: the boot protocol as QEMU 7.2 places things for
//! RV64 (kernel at RAM base + 2 MiB after firmware, the boot ROM's `ld` reset vector and
//! 64-bit `fw_dynamic_info`), RV64 harts that run it, the device tree's RV64 properties
//! and RAM past 4 GiB in it, and the limits.

#![allow(clippy::unwrap_used)]

use fief_boards::finisher::Finish;
use fief_boards::virt::{BoardError, BootImages, Image, RunOutcome, VirtDevices};
use fief_boards::virt32::Virt32;
use fief_boards::virt64::{Virt64, FW_DYNAMIC_INFO, MROM_BASE, MROM_SIZE, RAM_BASE, RAM_MAX};
use fief_core::cpu::riscv::Xlen;
use fief_core::memory::{GuestAddress, MemTxAttrs, RamBlock};

fn devices() -> &'static VirtDevices<'static> {
    Box::leak(Box::new(VirtDevices::new()))
}

fn ram(bytes: usize) -> RamBlock<'static> {
    RamBlock::new(Box::leak(vec![0u8; bytes].into_boxed_slice()))
}

fn mrom() -> RamBlock<'static> {
    ram(MROM_SIZE as usize)
}

fn words(program: &[u32]) -> Vec<u8> {
    program.iter().flat_map(|i| i.to_le_bytes()).collect()
}

/// `j .`
const SPIN: u32 = 0x0000_006f;

#[test]
fn the_kernel_goes_2_mib_above_small_firmware_as_qemu_places_it_for_rv64() {
    let fw = words(&[SPIN]);
    let kernel = words(&[SPIN]);
    let images = |dtb| BootImages {
        firmware: Some(Image::Raw(&fw)),
        kernel: Some(Image::Raw(&kernel)),
        initrd: Some(b"initrd"),
        ..dtb
    };
    let b64 = Virt64::build(devices(), ram(64 << 20), 1).unwrap();
    let boot = b64
        .boot_images(&images(BootImages::default()), &mut [0u8; 16384])
        .unwrap();
    assert_eq!(boot.entry, RAM_BASE);
    assert_eq!(boot.kernel_entry, Some(RAM_BASE + (2 << 20)));
    // The initrd at the kernel + min(RAM / 2, 128 MiB); the device tree 2 MiB aligned
    // below the end of RAM (QEMU 7.2's riscv_load_initrd and riscv_load_fdt).
    let k = RAM_BASE + (2 << 20);
    assert_eq!(boot.initrd, Some((k + (32 << 20), k + (32 << 20) + 6)));
    assert_eq!(boot.dtb_addr, RAM_BASE + (62 << 20));
    // The same images on virt32: 4 MiB.
    let b32 = Virt32::build(devices(), ram(64 << 20), 1).unwrap();
    let boot = b32
        .boot_images(&images(BootImages::default()), &mut [0u8; 16384])
        .unwrap();
    assert_eq!(boot.kernel_entry, Some(RAM_BASE + (4 << 20)));
}

/// The boot ROM as `qemu-system-riscv64 -M virt` writes it (`xp /24xw 0x1000` in its
/// monitor): `ld` loads, then the entry and the device tree's address as doublewords,
/// then `fw_dynamic_info` with six 64-bit fields.
#[test]
fn the_boot_rom_has_the_rv64_reset_vector_and_64_bit_fw_dynamic_info() {
    let b = Virt64::build_with_mrom(devices(), ram(64 << 20), Some(mrom()), 1).unwrap();
    let fw = words(&[SPIN]);
    let kernel = words(&[SPIN]);
    let boot = b
        .boot_images(
            &BootImages {
                firmware: Some(Image::Raw(&fw)),
                kernel: Some(Image::Raw(&kernel)),
                ..BootImages::default()
            },
            &mut [0u8; 16384],
        )
        .unwrap();
    let mut rom = [0u8; 88];
    assert!(b
        .space()
        .read_buf(GuestAddress(MROM_BASE), &mut rom, MemTxAttrs::DEBUG)
        .is_ok());
    let w = |i: usize| u32::from_le_bytes(rom[4 * i..4 * i + 4].try_into().unwrap());
    let d = |at: usize| u64::from_le_bytes(rom[at..at + 8].try_into().unwrap());
    assert_eq!(
        (0..6).map(w).collect::<Vec<_>>(),
        [
            0x0000_0297,
            0x0282_8613,
            0xf140_2573,
            0x0202_b583,
            0x0182_b283,
            0x0002_8067
        ]
    );
    assert_eq!((d(24), d(32)), (RAM_BASE, boot.dtb_addr));
    assert_eq!(FW_DYNAMIC_INFO, 0x1028);
    // magic "OSBI", version 2, next_addr, next_mode S, options, boot hart.
    assert_eq!(
        (0..6).map(|i| d(40 + 8 * i)).collect::<Vec<_>>(),
        [0x4942_534f, 2, RAM_BASE + (2 << 20), 1, 0, 0]
    );
}

/// Harts started at the boot ROM (as the host runner starts them) run its reset vector at
/// XLEN 64 and reach the firmware with `a0` = hart id, `a1` = the device tree and `a2` =
/// `fw_dynamic_info`; an `lw` there would sign-extend the entry to `0xffff_ffff_8000_0000`.
#[test]
fn rv64_harts_run_the_reset_vector_into_the_firmware() {
    let b = Virt64::build_with_mrom(devices(), ram(64 << 20), Some(mrom()), 2).unwrap();
    let fw = words(&[SPIN]);
    let boot = b
        .boot_images(
            &BootImages {
                firmware: Some(Image::Raw(&fw)),
                ..BootImages::default()
            },
            &mut [0u8; 16384],
        )
        .unwrap();
    let mut harts: Vec<_> = (0..2).map(|i| b.hart(i, MROM_BASE, 0).unwrap()).collect();
    assert_eq!(harts[0].xlen(), Xlen::Rv64);
    assert_eq!(b.run(&mut harts, 200, 10), RunOutcome::Budget);
    for (i, h) in harts.iter().enumerate() {
        assert_eq!(h.pc(), RAM_BASE, "hart {i}");
        assert_eq!(
            (h.reg(10), h.reg(11), h.reg(12)),
            (i as u64, boot.dtb_addr, FW_DYNAMIC_INFO),
            "hart {i}"
        );
    }
}

/// A 64-bit ELF kernel runs (`-bios none -kernel image.elf`); a 32-bit one is refused.
#[test]
fn elf64_kernels_load_and_elf32_ones_are_refused() {
    let b = Virt64::build(devices(), ram(16 << 20), 1).unwrap();
    // lui t0, 0x100; lui t1, 0x73; addiw t1, t1, 0x333; sw t1, 0(t0); j .
    let code = words(&[0x0010_02b7, 0x0007_3337, 0x3333_031b, 0x0062_a023, SPIN]);
    let elf = elf(2, &code);
    let mut buf = [0u8; 16384];
    let kernel = |bytes| BootImages {
        kernel: Some(Image::Elf(bytes)),
        ..BootImages::default()
    };
    let boot = b.boot_images(&kernel(&elf), &mut buf).unwrap();
    assert_eq!(boot.entry, RAM_BASE + 0x100);
    let mut harts = [b.hart(0, boot.entry, boot.dtb_addr).unwrap()];
    assert_eq!(
        b.run(&mut harts, 1000, 100),
        RunOutcome::Finished(Finish::Fail(7))
    );
    let err = b.boot_images(&kernel(&self::elf(1, &code)), &mut buf);
    assert!(
        matches!(err, Err(BoardError::Load { what: "kernel", .. })),
        "{err:?}"
    );
}

/// A minimal little-endian RISC-V executable of class `class` (1: ELF32, 2: ELF64) with
/// `code` in one segment at RAM base + 0x100, entered there.
fn elf(class: u8, code: &[u8]) -> Vec<u8> {
    let at = RAM_BASE + 0x100;
    let wide = class == 2;
    let (ehsize, phsize) = if wide { (64, 56) } else { (52, 32) };
    let off = ehsize + phsize;
    let mut e = vec![0x7f, b'E', b'L', b'F', class, 1, 1, 0];
    e.resize(16, 0);
    let word = |e: &mut Vec<u8>, v: u64| {
        if wide {
            e.extend_from_slice(&v.to_le_bytes());
        } else {
            e.extend_from_slice(&(v as u32).to_le_bytes());
        }
    };
    e.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    e.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    e.extend_from_slice(&1u32.to_le_bytes());
    word(&mut e, at); // entry
    word(&mut e, ehsize as u64); // phoff
    word(&mut e, 0); // shoff
    e.extend_from_slice(&0u32.to_le_bytes()); // flags
    for v in [ehsize, phsize, 1, 0, 0, 0] {
        e.extend_from_slice(&(v as u16).to_le_bytes());
    }
    e.extend_from_slice(&1u32.to_le_bytes()); // PT_LOAD
    if wide {
        e.extend_from_slice(&5u32.to_le_bytes()); // R X
    }
    for v in [off as u64, at, at, code.len() as u64, code.len() as u64] {
        word(&mut e, v);
    }
    if !wide {
        e.extend_from_slice(&5u32.to_le_bytes());
    }
    word(&mut e, 4); // align
    assert_eq!(e.len(), off);
    e.extend_from_slice(code);
    e
}

#[test]
fn the_device_tree_says_rv64_and_describes_ram_past_4_gib() {
    let mut buf = [0u8; 8192];
    let len = fief_boards::virt64::write_dtb(RAM_MAX, 2, &mut buf).unwrap();
    let tree = fdt::Fdt::new(&buf[..len]).unwrap();
    let cpu = tree.find_node("/cpus/cpu@0").unwrap();
    let isa = cpu.property("riscv,isa").unwrap().as_str().unwrap();
    assert!(isa.starts_with("rv64ima"), "{isa}");
    assert_eq!(
        cpu.property("mmu-type").unwrap().as_str(),
        Some("riscv,sv48")
    );
    let mem = tree.find_node("/memory@80000000").unwrap();
    let reg = mem.property("reg").unwrap().value;
    // #address-cells = #size-cells = 2: 0x0 0x80000000, 0x4 0x0 (16 GiB).
    assert_eq!(reg, [0, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0]);
    let len = fief_boards::virt32::write_dtb(64 << 20, 1, &mut buf).unwrap();
    let tree = fdt::Fdt::new(&buf[..len]).unwrap();
    let cpu = tree.find_node("/cpus/cpu@0").unwrap();
    assert!(cpu
        .property("riscv,isa")
        .unwrap()
        .as_str()
        .unwrap()
        .starts_with("rv32"));
}

#[test]
fn virt64_refuses_bad_hart_counts_and_ram_with_its_name() {
    let err = Virt64::build(devices(), ram(4096), 9).err().unwrap();
    assert_eq!(err.to_string(), "virt64 takes 1 to 8 harts, not 9");
    let err = Virt64::build(devices(), ram(4096), 0).err().unwrap();
    assert_eq!(err.to_string(), "virt64 takes 1 to 8 harts, not 0");
    assert_eq!(RAM_MAX, 16 << 30);
}
