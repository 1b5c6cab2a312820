//! The `virt32` board: QEMU `virt` for RV32 (`qemu-system-riscv32 -M virt`), one to
//! [`MAX_HARTS`] harts, at most 2 GiB of RAM from `0x8000_0000`; an instance of the shared
//! [`crate::virt`] description ([`SPEC`]), whose names it re-exports.
//!
//! What differs from `virt64`: RV32 harts, `mmu-type = "riscv,sv32"`, the kernel after
//! firmware at the next 4 MiB boundary ([`KERNEL_ALIGN`]), `lw` in the boot ROM's reset
//! vector and 32-bit `fw_dynamic_info` fields.

use fief_core::cpu::riscv::Xlen;

use crate::layout::{Layout, MapEntry};

/// The most RAM the board takes (up to the end of the 32-bit space).
pub const RAM_MAX: u64 = 0x8000_0000;
/// The kernel start is the end of the firmware rounded up to this (QEMU, RV32).
pub const KERNEL_ALIGN: u64 = 4 << 20;
/// Where the kernel goes after small firmware (RAM base + 4 MiB).
pub const KERNEL_OFFSET: u64 = KERNEL_ALIGN;

const MAP: [MapEntry; crate::virt::MAP_LEN] = crate::virt::map(RAM_MAX);

/// The `virt32` layout.
pub const VIRT32: Layout = crate::virt::layout("virt32", &MAP);

/// What `virt32` is.
pub const SPEC: VirtSpec = VirtSpec {
    name: "virt32",
    xlen: Xlen::Rv32,
    layout: &VIRT32,
    kernel_align: KERNEL_ALIGN,
    mmu_type: "riscv,sv32",
};

const _: () = SPEC.assert_valid();

/// The board's memory (the old name of [`VirtMemory`]).
pub type Virt32Memory<'a> = VirtMemory<'a>;
/// The board's parts (the old name of [`VirtDevices`]).
pub type Virt32Devices<'a> = VirtDevices<'a>;
/// DMA leases of the board (the old name of [`VirtLeases`]).
pub type Virt32Leases = VirtLeases;
/// The board's DMA engine (the old name of [`VirtDma`]).
pub type Virt32Dma<'a> = VirtDma<'a>;
/// The bus the DMA engine masters (the old name of [`VirtDmaBus`]).
pub type Virt32DmaBus<'m, 'a> = VirtDmaBus<'m, 'a>;

/// A built `virt32` board: a [`Virt`] built from [`SPEC`], whose methods it has.
///
/// ```
/// use fief_boards::finisher::Finish;
/// use fief_boards::virt32::{Image, RunOutcome, Virt32, VirtDevices};
/// use fief_core::memory::RamBlock;
///
/// let devices: &'static VirtDevices<'static> = Box::leak(Box::new(VirtDevices::new()));
/// // 16 MiB of RAM: the device tree goes 2 MiB-aligned below its end, clear of the kernel.
/// let ram = RamBlock::new(Box::leak(vec![0u8; 16 << 20].into_boxed_slice()));
/// let board = Virt32::build(devices, ram, 1)?;
///
/// // A raw kernel that writes `7 << 16 | 0x3333` to the test finisher (fail, code 7):
/// // lui t0, 0x100; lui t1, 0x73; addi t1, t1, 0x333; sw t1, 0(t0); j .
/// let program: [u32; 5] = [0x0010_02b7, 0x0007_3337, 0x3333_0313, 0x0062_a023, 0x0000_006f];
/// let image: Vec<u8> = program.iter().flat_map(|i| i.to_le_bytes()).collect();
/// let mut dtb = [0u8; 8192];
/// let len = board.write_dtb(&mut dtb)?;
/// let boot = board.boot(None, Some(Image::Raw(&image)), &dtb[..len])?;
/// assert_eq!(boot.entry, 0x8000_0000);
///
/// let mut harts = [board.hart(0, boot.entry, boot.dtb_addr).expect("hart 0")];
/// assert_eq!(board.run(&mut harts, 1000, 100), RunOutcome::Finished(Finish::Fail(7)));
/// assert_eq!(harts[0].reg(11), boot.dtb_addr); // a1: the device tree
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Virt32<'a>(pub Virt<'a>);

crate::virt::virt_instance!(Virt32, "virt32");
