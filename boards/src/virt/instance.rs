//! What every instance of the shared description has in common, written once: the
//! re-exports of the description's names, the board type's constructors over its own
//! `SPEC`, its `Deref` to [`Virt`](super::Virt), and the device-tree writers. `virt32` and
//! `virt64` each keep only what differs (their `SPEC`, RAM ceiling, kernel alignment and the
//! board type with its example) and call [`virt_instance!`](crate::virt::virt_instance).

/// Expands, in an instance's module, to the shared items for the board type `$board`
/// (a `pub struct $board<'a>(pub Virt<'a>)` the module declares) built from the module's
/// `SPEC`; `$name` is the board's name for the docs.
macro_rules! virt_instance {
    ($board:ident, $name:literal) => {
        pub use $crate::virt::{
            rewrite_chosen, BoardError, Boot, BootImages, Chosen, DtbSource, HartSet, Image,
            Owners, RunOutcome, Virt, VirtDevices, VirtDma, VirtDmaBus, VirtLeases, VirtMemory,
            VirtSpec, DMA_BASE, DMA_CHANNELS, DMA_DONE_IRQ, DMA_ERROR_IRQ, FLAT_RANGES,
            FW_DYNAMIC_INFO, HOTPLUG_IRQ_FIRST, HOTPLUG_IRQ_LINES, INITRD_MAX_OFFSET, IRQ_LINES,
            MAX_HARTS, MROM_BASE, MROM_SIZE, OWNERS, PLIC_CONTEXTS, PLIC_SOURCES, RAM_BASE,
            REGIONS, RTC_IRQ, RUN_DMA_CHUNKS, UART_CLOCK_HZ, UART_IRQ, VIRTIO_BASE, VIRTIO_IRQ,
            VIRTIO_SLOTS,
        };

        impl<'a> $board<'a> {
            /// Builds the board over `devices` with `ram` as main RAM and `harts` harts,
            /// without the boot ROM.
            pub fn build(
                devices: &'a VirtDevices<'a>,
                ram: ::fief_core::memory::RamBlock<'a>,
                harts: usize,
            ) -> Result<$board<'a>, BoardError> {
                Self::build_with_mrom(devices, ram, None, harts)
            }

            #[doc = concat!("[`", stringify!($board), "::build`] with `mrom` as the boot ROM")]
            /// (see [`Virt::build`]).
            pub fn build_with_mrom(
                devices: &'a VirtDevices<'a>,
                ram: ::fief_core::memory::RamBlock<'a>,
                mrom: Option<::fief_core::memory::RamBlock<'a>>,
                harts: usize,
            ) -> Result<$board<'a>, BoardError> {
                Virt::build(&SPEC, devices, ram, mrom, harts).map($board)
            }
        }

        impl<'a> ::core::ops::Deref for $board<'a> {
            type Target = Virt<'a>;

            fn deref(&self) -> &Virt<'a> {
                &self.0
            }
        }

        #[doc = concat!("Writes the `", $name, "` device tree for `ram_size` bytes of RAM")]
        /// and `harts` harts into `buf`; returns its size.
        pub fn write_dtb(
            ram_size: u64,
            harts: usize,
            buf: &mut [u8],
        ) -> Result<usize, ::fief_core::fdt::FdtError> {
            $crate::virt::write_dtb(&SPEC, ram_size, harts, buf)
        }

        /// [`write_dtb`] with `/chosen`'s `bootargs` and initrd.
        pub fn write_dtb_chosen(
            ram_size: u64,
            harts: usize,
            chosen: &Chosen<'_>,
            buf: &mut [u8],
        ) -> Result<usize, ::fief_core::fdt::FdtError> {
            $crate::virt::write_dtb_chosen(&SPEC, ram_size, harts, chosen, buf)
        }
    };
}

pub(crate) use virt_instance;
