//! What a guest image file is, decided from its first bytes as QEMU's `-kernel` decides it
//! (`hw/riscv/boot.c`, `hw/core/loader.c`), never from its name: an ELF executable, a
//! U-Boot uImage (64-byte big-endian header, magic `0x27051956`), a RISC-V Linux `Image`
//! (64-byte header with `"RISCV\0\0\0"` at 48 or `"RSC\x05"` at 56), or raw bytes.
//!
//! [`Format::detect`] needs only the file's first [`HEADER_LEN`] bytes (fewer for a
//! shorter file), so a host can decide how much of a file to read — and refuse one that
//! cannot fit — before reading it ([`Format::file_len`]).

use core::fmt;

use crate::loader::{Elf, ElfTarget, LoadError};

/// Bytes of a file's start that [`Format::detect`] looks at.
pub const HEADER_LEN: usize = 64;
/// The uImage header's magic (`ih_magic`).
pub const UIMAGE_MAGIC: u32 = 0x2705_1956;
/// uImage `ih_type` of a kernel.
const IH_TYPE_KERNEL: u8 = 2;
/// uImage `ih_type` of a RAM disk.
const IH_TYPE_RAMDISK: u8 = 3;
/// uImage `ih_comp` of an uncompressed image.
const IH_COMP_NONE: u8 = 0;

/// A U-Boot uImage's header (the fields a load uses).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UImage {
    /// Where the data goes (`ih_load`).
    pub load: u32,
    /// The entry point (`ih_ep`).
    pub entry: u32,
    /// Bytes of data after the header (`ih_size`).
    pub size: u32,
}

/// A RISC-V Linux `Image` header (the fields a load uses).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinuxImage {
    /// Bytes of memory the kernel occupies from its load address, bss included
    /// (`image_size`; 0 in old headers: then the file's size).
    pub image_size: u64,
}

/// What kind of image a file holds.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An ELF file (checked in full by [`Elf::parse`] when loaded).
    Elf,
    /// A U-Boot uImage of an uncompressed kernel.
    UImage(UImage),
    /// A RISC-V Linux `Image`.
    LinuxImage(LinuxImage),
    /// Anything else: loaded as raw bytes.
    Raw,
}

/// Why an image's header is refused.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// A uImage that is not a kernel (`ih_type`).
    UImageType {
        /// `ih_type` found.
        found: u8,
    },
    /// A compressed uImage (`ih_comp`): the core takes only uncompressed ones (the host
    /// runner decompresses gzip first).
    UImageCompression {
        /// `ih_comp` found.
        found: u8,
    },
    /// The ELF headers are bad.
    Elf(LoadError),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::UImageType { found } => write!(
                f,
                "uImage of type {found} is not a kernel (ih_type 2); only kernel uImages load"
            ),
            ImageError::UImageCompression { found } => {
                let name = match found {
                    1 => "gzip",
                    2 => "bzip2",
                    3 => "lzma",
                    4 => "lzo",
                    5 => "lz4",
                    6 => "zstd",
                    _ => "unknown",
                };
                write!(
                    f,
                    "compressed uImage ({name}, ih_comp {found}) is not supported: give the \
                     kernel uncompressed or gzip-compressed"
                )
            }
            ImageError::Elf(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ImageError {}

fn be32(b: &[u8], at: usize) -> u32 {
    match b.get(at..at + 4) {
        Some(&[a, b1, c, d]) => u32::from_be_bytes([a, b1, c, d]),
        _ => 0,
    }
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    if let Some(bytes) = b.get(at..at + 8) {
        word.copy_from_slice(bytes);
    }
    u64::from_le_bytes(word)
}

/// The bytes of an initrd as QEMU loads one (`load_ramdisk`): the data of a U-Boot
/// uImage of type RAM disk without its header, anything else whole. A compressed RAM-disk
/// uImage is refused ([`ImageError::UImageCompression`]); one shorter than its header says
/// is loaded whole, as raw bytes.
pub fn ramdisk(bytes: &[u8]) -> Result<&[u8], ImageError> {
    if bytes.len() < HEADER_LEN || be32(bytes, 0) != UIMAGE_MAGIC || bytes[30] != IH_TYPE_RAMDISK {
        return Ok(bytes);
    }
    if bytes[31] != IH_COMP_NONE {
        return Err(ImageError::UImageCompression { found: bytes[31] });
    }
    let size = be32(bytes, 12) as usize;
    Ok(bytes.get(HEADER_LEN..HEADER_LEN + size).unwrap_or(bytes))
}

impl Format {
    /// The format of a file whose first bytes are `head` (up to [`HEADER_LEN`] of them;
    /// fewer only if the file is shorter).
    pub fn detect(head: &[u8]) -> Result<Format, ImageError> {
        if head.starts_with(b"\x7fELF") {
            return Ok(Format::Elf);
        }
        if head.len() >= HEADER_LEN && be32(head, 0) == UIMAGE_MAGIC {
            let (kind, comp) = (head[30], head[31]);
            if kind != IH_TYPE_KERNEL {
                return Err(ImageError::UImageType { found: kind });
            }
            if comp != IH_COMP_NONE {
                return Err(ImageError::UImageCompression { found: comp });
            }
            return Ok(Format::UImage(UImage {
                size: be32(head, 12),
                load: be32(head, 16),
                entry: be32(head, 20),
            }));
        }
        if head.len() >= HEADER_LEN
            && (&head[48..56] == b"RISCV\0\0\0" || &head[56..60] == b"RSC\x05")
        {
            return Ok(Format::LinuxImage(LinuxImage {
                image_size: le64(head, 16),
            }));
        }
        Ok(Format::Raw)
    }

    /// How many bytes of a file of this format a load reads, given `head`, the file's
    /// first bytes, and `file_len`, its length. For an ELF file `head` must hold the
    /// program header table (else [`LoadError::Truncated`]); the answer then ends at the
    /// last loadable segment's bytes (debug sections behind them are never read).
    pub fn file_len(
        self,
        head: &[u8],
        file_len: u64,
        target: ElfTarget,
    ) -> Result<u64, ImageError> {
        Ok(match self {
            Format::Elf => Elf::headers(head, target)
                .map_err(ImageError::Elf)?
                .file_len(),
            Format::UImage(u) => HEADER_LEN as u64 + u.size as u64,
            Format::LinuxImage(_) | Format::Raw => file_len,
        })
    }

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Elf => "ELF",
            Format::UImage(_) => "uImage",
            Format::LinuxImage(_) => "Linux Image",
            Format::Raw => "raw",
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_not_name() {
        assert_eq!(Format::detect(b"\x7fELF\x01"), Ok(Format::Elf));
        let mut u = [0u8; 64];
        u[..4].copy_from_slice(&UIMAGE_MAGIC.to_be_bytes());
        u[12..16].copy_from_slice(&100u32.to_be_bytes());
        u[16..20].copy_from_slice(&0x8020_0000u32.to_be_bytes());
        u[20..24].copy_from_slice(&0x8020_0010u32.to_be_bytes());
        u[30] = 2;
        let expected = UImage {
            load: 0x8020_0000,
            entry: 0x8020_0010,
            size: 100,
        };
        assert_eq!(Format::detect(&u), Ok(Format::UImage(expected)));
        assert_eq!(
            Format::UImage(expected).file_len(&u, 1000, ElfTarget::RISCV32),
            Ok(164)
        );
        u[31] = 1;
        assert_eq!(
            Format::detect(&u),
            Err(ImageError::UImageCompression { found: 1 })
        );
        u[30] = 3;
        assert_eq!(Format::detect(&u), Err(ImageError::UImageType { found: 3 }));
        let mut l = [0u8; 64];
        l[16..24].copy_from_slice(&0x40_0000u64.to_le_bytes());
        l[56..60].copy_from_slice(b"RSC\x05");
        assert_eq!(
            Format::detect(&l),
            Ok(Format::LinuxImage(LinuxImage {
                image_size: 0x40_0000
            }))
        );
        l[56..60].fill(0);
        assert_eq!(Format::detect(&l), Ok(Format::Raw));
        l[48..56].copy_from_slice(b"RISCV\0\0\0");
        assert!(matches!(Format::detect(&l), Ok(Format::LinuxImage(_))));
        assert_eq!(Format::detect(b"short"), Ok(Format::Raw));
        // A RAM-disk uImage loses its header; anything else stays whole.
        let mut rd = [7u8; 80];
        rd[..4].copy_from_slice(&UIMAGE_MAGIC.to_be_bytes());
        rd[12..16].copy_from_slice(&10u32.to_be_bytes());
        rd[30] = 3;
        rd[31] = 0;
        assert_eq!(ramdisk(&rd).unwrap().len(), 10);
        rd[31] = 1;
        assert!(ramdisk(&rd).is_err());
        assert_eq!(ramdisk(&l), Ok(&l[..]));
    }
}
