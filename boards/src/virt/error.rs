//! Why a `virt` board could not be built or booted ([`BoardError`]).

use core::fmt;

use super::*;

/// Why a board could not be built or booted.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardError {
    /// Hart count out of range.
    Harts {
        /// The board (`virt32`, `virt64`).
        board: &'static str,
        /// Asked for.
        requested: usize,
    },
    /// RAM size out of range.
    RamSize {
        /// The board.
        board: &'static str,
        /// Asked for.
        size: u64,
        /// The most it takes.
        max: u64,
    },
    /// Building the memory topology failed.
    Memory(Error),
    /// Wiring the interrupts failed.
    Irq(IrqError),
    /// Neither a kernel nor firmware to run.
    NothingToRun,
    /// Loading an image failed.
    Load {
        /// `"kernel"`, `"firmware"` or `"device tree"`.
        what: &'static str,
        /// Why.
        error: LoadError,
    },
    /// Writing the device tree failed.
    Fdt(FdtError),
    /// The user's device tree (`-dtb`) is not a good device tree blob.
    UserDtb(FdtError),
    /// An image's header is refused.
    Image {
        /// `"kernel"` or `"firmware"`.
        what: &'static str,
        /// Why.
        error: ImageError,
    },
    /// An image is larger than RAM.
    LargerThanRam {
        /// Which image.
        what: &'static str,
        /// Its size in memory.
        size: u64,
        /// RAM size.
        ram: u64,
    },
    /// An initrd without a kernel (QEMU: "-initrd only allowed with -kernel option").
    InitrdWithoutKernel,
    /// The initrd does not fit between its place and the end of RAM.
    InitrdTooLarge {
        /// Its size.
        size: u64,
        /// Bytes from its place to the end of RAM.
        room: u64,
        /// Its place.
        at: u64,
    },
    /// Two images overlap (QEMU: "Some ROM regions are overlapping").
    Overlap {
        /// The first image.
        first: &'static str,
        /// Its range, `[start, end)`.
        first_at: (u64, u64),
        /// The second image.
        second: &'static str,
        /// Its range.
        second_at: (u64, u64),
    },
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardError::Harts { board, requested } => {
                write!(f, "{board} takes 1 to {MAX_HARTS} harts, not {requested}")
            }
            BoardError::RamSize { board, size, max } => write!(
                f,
                "{board} takes 1 byte to {} MiB of RAM, not {size} bytes",
                max >> 20
            ),
            BoardError::Memory(e) => write!(f, "memory topology: {e}"),
            BoardError::Irq(e) => write!(f, "interrupt wiring: {e}"),
            BoardError::NothingToRun => f.write_str("no kernel and no firmware to run"),
            BoardError::Load { what, error } => write!(f, "{what}: {error}"),
            BoardError::Fdt(e) => write!(f, "device tree: {e}"),
            BoardError::UserDtb(e) => write!(f, "-dtb: {e}"),
            BoardError::Image { what, error } => write!(f, "{what}: {error}"),
            BoardError::LargerThanRam { what, size, ram } => write!(
                f,
                "{what} is larger than RAM: {size} bytes ({} MiB) do not fit in {} MiB",
                size.div_ceil(1 << 20),
                ram >> 20
            ),
            BoardError::InitrdWithoutKernel => f.write_str("-initrd only works with -kernel"),
            BoardError::InitrdTooLarge { size, room, at } => write!(
                f,
                "initrd does not fit: {size} bytes at {at:#x}, only {room} bytes of RAM \
                 left there (give more RAM with -m)"
            ),
            BoardError::Overlap {
                first,
                first_at,
                second,
                second_at,
            } => write!(
                f,
                "images overlap: {first} [{:#x}, {:#x}) and {second} [{:#x}, {:#x})",
                first_at.0, first_at.1, second_at.0, second_at.1
            ),
        }
    }
}

impl core::error::Error for BoardError {}

impl From<Error> for BoardError {
    fn from(e: Error) -> Self {
        BoardError::Memory(e)
    }
}

impl From<IrqError> for BoardError {
    fn from(e: IrqError) -> Self {
        BoardError::Irq(e)
    }
}
