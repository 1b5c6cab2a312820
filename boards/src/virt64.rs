//! The `virt64` board: QEMU `virt` for RV64 (`qemu-system-riscv64 -M virt`), one to
//! [`MAX_HARTS`] harts, at most [`RAM_MAX`] (16 GiB) of RAM from `0x8000_0000`; an
//! instance of the shared [`crate::virt`] description ([`SPEC`]), whose names it
//! re-exports.
//!
//! What differs from `virt32`: RV64 harts, `mmu-type = "riscv,sv48"` (QEMU 7.2's default),
//! the kernel after firmware at the next 2 MiB boundary ([`KERNEL_ALIGN`]), `ld` in the
//! boot ROM's reset vector and 64-bit `fw_dynamic_info` fields, and RAM past 4 GiB.

use fief_core::cpu::riscv::Xlen;

use crate::layout::{Layout, MapEntry};

/// The most RAM the board takes: 16 GiB.
pub const RAM_MAX: u64 = 16 << 30;
/// The kernel start is the end of the firmware rounded up to this (QEMU, RV64).
pub const KERNEL_ALIGN: u64 = 2 << 20;
/// Where the kernel goes after small firmware (RAM base + 2 MiB).
pub const KERNEL_OFFSET: u64 = KERNEL_ALIGN;

const MAP: [MapEntry; crate::virt::MAP_LEN] = crate::virt::map(RAM_MAX);

/// The `virt64` layout.
pub const VIRT64: Layout = crate::virt::layout("virt64", &MAP);

/// What `virt64` is.
pub const SPEC: VirtSpec = VirtSpec {
    name: "virt64",
    xlen: Xlen::Rv64,
    layout: &VIRT64,
    kernel_align: KERNEL_ALIGN,
    mmu_type: "riscv,sv48",
};

const _: () = SPEC.assert_valid();

/// A built `virt64` board: a [`Virt`] built from [`SPEC`], whose methods it has.
///
/// ```
/// use fief_boards::finisher::Finish;
/// use fief_boards::virt64::{Image, RunOutcome, Virt64, VirtDevices};
/// use fief_core::memory::RamBlock;
///
/// let devices: &'static VirtDevices<'static> = Box::leak(Box::new(VirtDevices::new()));
/// let ram = RamBlock::new(Box::leak(vec![0u8; 16 << 20].into_boxed_slice()));
/// let board = Virt64::build(devices, ram, 1)?;
///
/// // A raw kernel that writes `7 << 16 | 0x3333` to the test finisher (fail, code 7):
/// // lui t0, 0x100; lui t1, 0x73; addiw t1, t1, 0x333; sw t1, 0(t0); j .
/// let program: [u32; 5] = [0x0010_02b7, 0x0007_3337, 0x3333_031b, 0x0062_a023, 0x0000_006f];
/// let image: Vec<u8> = program.iter().flat_map(|i| i.to_le_bytes()).collect();
/// let mut dtb = [0u8; 8192];
/// let len = board.write_dtb(&mut dtb)?;
/// let boot = board.boot(None, Some(Image::Raw(&image)), &dtb[..len])?;
/// assert_eq!(boot.entry, 0x8000_0000);
///
/// let mut harts = [board.hart(0, boot.entry, boot.dtb_addr).expect("hart 0")];
/// assert_eq!(board.run(&mut harts, 1000, 100), RunOutcome::Finished(Finish::Fail(7)));
/// assert_eq!(harts[0].reg(11), boot.dtb_addr); // a1: the device tree
/// assert_eq!(harts[0].xlen(), fief_core::cpu::riscv::Xlen::Rv64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Virt64<'a>(pub Virt<'a>);

crate::virt::virt_instance!(Virt64, "virt64");
