//! The `virt64` board: QEMU `virt` for RV64 (`qemu-system-riscv64 -M virt`), one to
//! [`MAX_HARTS`] harts, at most [`RAM_MAX`] (16 GiB) of RAM from `0x8000_0000`; an
//! instance of the shared [`crate::virt`] description ([`SPEC`]), whose names it
//! re-exports.
//!
//! What differs from `virt32`: RV64 harts, `mmu-type = "riscv,sv48"` (QEMU 7.2's default),
//! the kernel after firmware at the next 2 MiB boundary ([`KERNEL_ALIGN`]), `ld` in the
//! boot ROM's reset vector and 64-bit `fw_dynamic_info` fields, and RAM past 4 GiB.

use core::ops::Deref;

use fief_core::cpu::riscv::Xlen;
use fief_core::fdt::FdtError;
use fief_core::memory::RamBlock;

use crate::layout::{Layout, MapEntry};
pub use crate::virt::{
    rewrite_chosen, BoardError, Boot, BootImages, Chosen, DtbSource, HartSet, Image, Owners,
    RunOutcome, Virt, VirtDevices, VirtDma, VirtDmaBus, VirtLeases, VirtMemory, VirtSpec, DMA_BASE,
    DMA_CHANNELS, DMA_DONE_IRQ, DMA_ERROR_IRQ, FLAT_RANGES, FW_DYNAMIC_INFO, HOTPLUG_IRQ_FIRST,
    HOTPLUG_IRQ_LINES, INITRD_MAX_OFFSET, IRQ_LINES, MAX_HARTS, MROM_BASE, MROM_SIZE, OWNERS,
    PLIC_CONTEXTS, PLIC_SOURCES, RAM_BASE, REGIONS, RTC_IRQ, RUN_DMA_CHUNKS, UART_CLOCK_HZ,
    UART_IRQ, VIRTIO_BASE, VIRTIO_IRQ, VIRTIO_SLOTS,
};

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

impl<'a> Virt64<'a> {
    /// Builds the board over `devices` with `ram` as main RAM and `harts` harts, without
    /// the boot ROM.
    pub fn build(
        devices: &'a VirtDevices<'a>,
        ram: RamBlock<'a>,
        harts: usize,
    ) -> Result<Virt64<'a>, BoardError> {
        Self::build_with_mrom(devices, ram, None, harts)
    }

    /// [`Virt64::build`] with `mrom` as the boot ROM (see [`Virt::build`]).
    pub fn build_with_mrom(
        devices: &'a VirtDevices<'a>,
        ram: RamBlock<'a>,
        mrom: Option<RamBlock<'a>>,
        harts: usize,
    ) -> Result<Virt64<'a>, BoardError> {
        Virt::build(&SPEC, devices, ram, mrom, harts).map(Virt64)
    }
}

impl<'a> Deref for Virt64<'a> {
    type Target = Virt<'a>;

    fn deref(&self) -> &Virt<'a> {
        &self.0
    }
}

/// Writes the `virt64` device tree for `ram_size` bytes of RAM and `harts` harts into
/// `buf`; returns its size.
pub fn write_dtb(ram_size: u64, harts: usize, buf: &mut [u8]) -> Result<usize, FdtError> {
    crate::virt::write_dtb(&SPEC, ram_size, harts, buf)
}

/// [`write_dtb`] with `/chosen`'s `bootargs` and initrd.
pub fn write_dtb_chosen(
    ram_size: u64,
    harts: usize,
    chosen: &Chosen<'_>,
    buf: &mut [u8],
) -> Result<usize, FdtError> {
    crate::virt::write_dtb_chosen(&SPEC, ram_size, harts, chosen, buf)
}
