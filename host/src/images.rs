//! Reading guest image files (`-kernel`, `-bios`, `-initrd`, `-dtb`) without reading more
//! than a load can use: sizes are checked from the file's metadata and headers BEFORE its
//! bytes are read, so a file larger than RAM (a 3 GiB sparse file) is refused at once, a
//! character device (`/dev/zero`) is refused outright, a pipe is read only up to what
//! fits, and an ELF file is read only up to the end of its last loadable segment (debug
//! sections behind it are never read). A file shorter than its headers say is refused as
//! truncated. Every refusal is one line naming the file. A gzip-compressed uImage kernel
//! is decompressed here (as QEMU does), up to what fits in RAM, and handed on as an
//! uncompressed one.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use fief_core::image::{Format, ImageError, UImage, HEADER_LEN};
use fief_core::loader::{Elf, ElfTarget};

/// How a file is taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// `-kernel`: ELF, uImage, Linux `Image` or raw, by its header.
    Kernel,
    /// `-bios`: ELF or raw (as QEMU).
    Firmware,
    /// `-initrd`, `-dtb`: raw bytes.
    Data,
}

/// A file read for loading.
#[derive(Clone, Debug)]
pub struct ImageFile {
    /// The bytes a load needs (a prefix of the file for an ELF file).
    pub bytes: Vec<u8>,
    /// What they are.
    pub format: Format,
}

/// Reads `path` as `what` (`"kernel"`, ...) for `role`, refusing anything that cannot fit
/// in `limit` bytes of memory and an ELF file not for `elf` (see the [module docs](self)).
pub fn read_image(
    path: &Path,
    what: &str,
    role: Role,
    limit: u64,
    elf: ElfTarget,
) -> Result<ImageFile, String> {
    let name = path.display();
    let fail = |msg: String| format!("{what} '{name}': {msg}");
    let io = |e: std::io::Error| fail(format!("cannot read it: {e}"));
    let mut file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let kind = meta.file_type();
    let too_large = |size: u64| {
        fail(format!(
            "{size} bytes ({} MiB) do not fit in {} MiB of RAM",
            size.div_ceil(1 << 20),
            limit >> 20
        ))
    };
    // The file's length when it can be known without reading it.
    let len = if kind.is_file() {
        Some(meta.len())
    } else if kind.is_block_device() {
        Some(file.seek(SeekFrom::End(0)).map_err(io)?)
    } else if kind.is_char_device() {
        return Err(fail("a character device is not an image file".into()));
    } else if kind.is_dir() {
        return Err(fail("a directory is not an image file".into()));
    } else {
        None // a pipe or socket: read up to what fits
    };
    if len.is_some() {
        file.seek(SeekFrom::Start(0)).map_err(io)?;
    }
    let mut bytes = Vec::new();
    read_up_to(&mut file, &mut bytes, HEADER_LEN as u64).map_err(io)?;
    let format = match role {
        Role::Kernel => match Format::detect(&bytes) {
            Err(ImageError::UImageCompression {
                found: IH_COMP_GZIP,
            }) => {
                return gunzip_uimage(file, bytes, len, limit).map_err(fail);
            }
            other => other.map_err(|e| fail(e.to_string()))?,
        },
        Role::Firmware if bytes.starts_with(b"\x7fELF") => Format::Elf,
        Role::Firmware | Role::Data => Format::Raw,
    };
    let Some(len) = len else {
        // Unknown length: at most one byte more than fits tells a file that does not.
        read_up_to(&mut file, &mut bytes, limit.saturating_add(1)).map_err(io)?;
        if bytes.len() as u64 > limit {
            return Err(fail(format!(
                "more than {} MiB: does not fit in RAM",
                limit >> 20
            )));
        }
        return Ok(ImageFile { bytes, format });
    };
    let needed = match format {
        Format::Elf => {
            let table_end = elf_table_end(&bytes).min(len);
            read_up_to(&mut file, &mut bytes, table_end).map_err(io)?;
            let elf = Elf::headers(&bytes, elf).map_err(|e| fail(e.to_string()))?;
            if let Some(s) = elf.segments().find(|s| s.mem_size > limit) {
                return Err(too_large(s.mem_size));
            }
            elf.file_len()
        }
        Format::UImage(u) => {
            if u.size as u64 > limit {
                return Err(too_large(u.size as u64));
            }
            HEADER_LEN as u64 + u.size as u64
        }
        Format::LinuxImage(l) => {
            let size = l.image_size.max(len);
            if size > limit {
                return Err(too_large(size));
            }
            len
        }
        Format::Raw => {
            if len > limit {
                return Err(too_large(len));
            }
            len
        }
    };
    if needed > len {
        return Err(fail(format!(
            "truncated: its {} header needs {needed} bytes, the file has {len}",
            format.name()
        )));
    }
    read_up_to(&mut file, &mut bytes, needed).map_err(io)?;
    if (bytes.len() as u64) < needed {
        return Err(fail(format!(
            "truncated: {} of {needed} bytes could be read",
            bytes.len()
        )));
    }
    Ok(ImageFile { bytes, format })
}

/// uImage `ih_comp` of gzip.
const IH_COMP_GZIP: u8 = 1;

/// A gzip-compressed uImage kernel whose header is in `bytes`: its data read (at most
/// `limit` bytes of it), decompressed (at most `limit` bytes), and returned as an
/// uncompressed uImage.
fn gunzip_uimage(
    mut file: File,
    mut bytes: Vec<u8>,
    len: Option<u64>,
    limit: u64,
) -> Result<ImageFile, String> {
    let size = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as u64;
    if size > limit {
        return Err(format!(
            "its compressed data ({size} bytes) do not fit in {} MiB of RAM",
            limit >> 20
        ));
    }
    let needed = HEADER_LEN as u64 + size;
    if len.is_some_and(|len| needed > len) {
        return Err(format!(
            "truncated: its uImage header needs {needed} bytes, the file has {}",
            len.unwrap_or(0)
        ));
    }
    read_up_to(&mut file, &mut bytes, needed).map_err(|e| format!("cannot read it: {e}"))?;
    if (bytes.len() as u64) < needed {
        return Err(format!(
            "truncated: {} of {needed} bytes could be read",
            bytes.len()
        ));
    }
    let mut data = Vec::new();
    flate2::read::GzDecoder::new(&bytes[HEADER_LEN..])
        .take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("its gzip data do not decompress: {e}"))?;
    if data.len() as u64 > limit {
        return Err(format!(
            "decompressed, it is larger than {} MiB of RAM",
            limit >> 20
        ));
    }
    let mut image = bytes[..HEADER_LEN].to_vec();
    image[12..16].copy_from_slice(&(data.len() as u32).to_be_bytes());
    image[31] = 0; // now uncompressed
    image.extend_from_slice(&data);
    let word =
        |at: usize| u32::from_be_bytes([image[at], image[at + 1], image[at + 2], image[at + 3]]);
    let format = Format::UImage(UImage {
        load: word(16),
        entry: word(20),
        size: data.len() as u32,
    });
    Ok(ImageFile {
        bytes: image,
        format,
    })
}

/// Reads until `bytes` holds `want` bytes or the file ends.
fn read_up_to(file: &mut File, bytes: &mut Vec<u8>, want: u64) -> std::io::Result<()> {
    let have = bytes.len() as u64;
    if want > have {
        file.take(want - have).read_to_end(bytes)?;
    }
    Ok(())
}

/// Where an ELF file's program header table ends, from its header in `head` (0 if the
/// header is cut off: the parser then says so).
fn elf_table_end(head: &[u8]) -> u64 {
    let u16_at = |at: usize| {
        head.get(at..at + 2)
            .map_or(0, |b| u16::from_le_bytes([b[0], b[1]]) as u64)
    };
    let u32_at = |at: usize| {
        head.get(at..at + 4)
            .map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as u64)
    };
    let (phoff, entsize, num) = match head.get(4) {
        Some(2) => (u32_at(32) | u32_at(36) << 32, u16_at(54), u16_at(56)),
        _ => (u32_at(28), u16_at(42), u16_at(44)),
    };
    phoff.saturating_add(entsize * num).max(HEADER_LEN as u64)
}
