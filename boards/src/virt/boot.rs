//! Loading guest images onto a `virt` board as QEMU 7.2's `virt` does (`hw/riscv/boot.c`,
//! `hw/riscv/virt.c`), with its checks made before anything is written:
//!
//! * firmware (`-bios`): an ELF at its addresses, anything else raw at the RAM base;
//! * the kernel (`-kernel`), by what the file is ([`Image::detect`], never its name): an
//!   ELF at its addresses, a uImage at its load address, a Linux `Image` or raw bytes at
//!   the kernel start (the end of the firmware rounded up to the spec's `kernel_align`,
//!   4 MiB for RV32 and 2 MiB for RV64 as QEMU's `riscv_calc_kernel_start_addr`: the RAM
//!   base without firmware, RAM base + 4 or 2 MiB after a small one);
//! * the initrd at the kernel's entry + min(RAM / 2, 128 MiB), named in `/chosen`;
//! * the device tree (ours, or the user's with `/chosen` updated) 2 MiB-aligned below the
//!   end of RAM or 3 GiB (QEMU 7.2's `riscv_load_fdt`, for both XLENs).
//!
//! With the boot ROM mapped, each boot also writes there what QEMU's does: a reset vector
//! (`a0` = `mhartid`, `a1` = the device tree, `a2` = [`FW_DYNAMIC_INFO`], then a jump to
//! the entry; `lw` loads on RV32, `ld` on RV64) and OpenSBI's `fw_dynamic_info` (magic
//! `"OSBI"`, version 2, the kernel's entry as the next stage, S mode, boot hart 0; its
//! fields XLEN wide), so an OpenSBI `fw_dynamic` firmware boots as on QEMU. The harts themselves start at the entry with those registers set.
//!
//! Every piece must lie in RAM (or ROM) and no two images may overlap (QEMU: "Some ROM
//! regions are overlapping"); a Linux `Image` counts with its header's `image_size`, bss
//! included. Only then are the images written, so a refused boot writes nothing.

use fief_core::fdt::FdtReader;
use fief_core::image::{Format, ImageError};
use fief_core::loader::{self, Elf, ElfTarget, LoadError};

use fief_core::cpu::riscv::Xlen;

use super::dtb::{rewrite_chosen, write_dtb_chosen, Chosen};
use super::{BoardError, Virt, MROM_BASE, RAM_BASE};

/// Where OpenSBI's `fw_dynamic_info` is (in the boot ROM, behind the reset vector): `a2`.
pub const FW_DYNAMIC_INFO: u64 = MROM_BASE + 40;
/// `fw_dynamic_info`'s magic (`"OSBI"`).
const FW_DYNAMIC_MAGIC: u32 = 0x4942_534f;
/// `fw_dynamic_info`'s version.
const FW_DYNAMIC_VERSION: u32 = 2;
/// `fw_dynamic_info`'s `next_mode` for S mode.
const FW_DYNAMIC_NEXT_S: u32 = 1;

/// The reset vector: `auipc t0, 0; addi a2, t0, 40; csrr a0, mhartid;
/// lw/ld a1, 32(t0); lw/ld t0, 24(t0); jr t0`, then the entry and the device tree's
/// address at 24 and 32 (two words each), then `fw_dynamic_info` at 40. Words 3 and 4 are
/// the loads, [`RESET_LOADS_RV32`] or [`RESET_LOADS_RV64`].
const RESET_VECTOR: [u32; 6] = [
    0x0000_0297,
    0x0282_8613,
    0xf140_2573,
    0x0202_a583,
    0x0182_a283,
    0x0002_8067,
];
/// `lw a1, 32(t0); lw t0, 24(t0)`.
const RESET_LOADS_RV32: [u32; 2] = [0x0202_a583, 0x0182_a283];
/// `ld a1, 32(t0); ld t0, 24(t0)`.
const RESET_LOADS_RV64: [u32; 2] = [0x0202_b583, 0x0182_b283];
/// The initrd goes at most this far above the kernel's entry (QEMU).
pub const INITRD_MAX_OFFSET: u64 = 128 << 20;

/// A guest image and what it is.
#[derive(Clone, Copy, Debug)]
pub enum Image<'b> {
    /// ELF: loaded at its physical addresses, entered at its entry point.
    Elf(&'b [u8]),
    /// U-Boot uImage (header included): loaded at its load address, entered at its entry.
    UImage(&'b [u8]),
    /// RISC-V Linux `Image`: loaded and entered at the kernel start.
    Linux(&'b [u8]),
    /// Raw binary: loaded at the board's default address for its role.
    Raw(&'b [u8]),
}

impl<'b> Image<'b> {
    /// What `bytes` hold, by their header ([`Format::detect`]).
    pub fn detect(bytes: &'b [u8]) -> Result<Image<'b>, ImageError> {
        Ok(match Format::detect(bytes)? {
            Format::Elf => Image::Elf(bytes),
            Format::UImage(_) => Image::UImage(bytes),
            Format::LinuxImage(_) => Image::Linux(bytes),
            Format::Raw => Image::Raw(bytes),
        })
    }

    fn bytes(self) -> &'b [u8] {
        match self {
            Image::Elf(b) | Image::UImage(b) | Image::Linux(b) | Image::Raw(b) => b,
        }
    }
}

/// The device tree a boot uses.
#[derive(Clone, Copy, Debug, Default)]
pub enum DtbSource<'b> {
    /// The board's own ([`super::write_dtb`]), with `/chosen` filled in.
    #[default]
    Generate,
    /// The user's (`-dtb`): checked, and copied with `/chosen` updated when there are
    /// boot arguments or an initrd.
    User(&'b [u8]),
}

/// What to boot.
#[derive(Clone, Copy, Debug, Default)]
pub struct BootImages<'b> {
    /// Firmware (`-bios`).
    pub firmware: Option<Image<'b>>,
    /// The kernel (`-kernel`).
    pub kernel: Option<Image<'b>>,
    /// The initial RAM disk (`-initrd`).
    pub initrd: Option<&'b [u8]>,
    /// The kernel command line (`-append`).
    pub bootargs: Option<&'b str>,
    /// Random bytes for `/chosen/rng-seed` of the board's own tree (QEMU gives 32 new ones
    /// at every boot, for the kernel's early entropy).
    pub rng_seed: Option<&'b [u8]>,
    /// The device tree.
    pub dtb: DtbSource<'b>,
}

/// Where a boot put things.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Boot {
    /// Where every hart starts.
    pub entry: u64,
    /// The device tree's address (in `a1`).
    pub dtb_addr: u64,
    /// The device tree's size.
    pub dtb_len: u64,
    /// The kernel's entry, when firmware runs first.
    pub kernel_entry: Option<u64>,
    /// Where the initrd is, `[start, end)`.
    pub initrd: Option<(u64, u64)>,
}

/// Bytes of the boot ROM's contents: the reset vector with the loads for `xlen`, `entry`
/// and `dtb_addr` at 24 and 32, then `fw_dynamic_info` with `next` as the next stage and
/// its six fields 4 bytes wide on RV32, 8 on RV64 (QEMU's `riscv_setup_rom_reset_vec` and
/// `riscv_rom_copy_firmware_info`).
fn boot_rom(xlen: Xlen, entry: u64, dtb_addr: u64, next: u64) -> [u8; 88] {
    let mut rom = [0u8; 88];
    let mut words = RESET_VECTOR;
    words[3..5].copy_from_slice(match xlen {
        Xlen::Rv32 => &RESET_LOADS_RV32,
        Xlen::Rv64 => &RESET_LOADS_RV64,
    });
    for (chunk, word) in rom.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    rom[24..32].copy_from_slice(&entry.to_le_bytes());
    // QEMU 7.2 passes the device tree's address as 32 bits (RAM's top is below 4 GiB at
    // the 3 GiB cap); so do we.
    rom[32..40].copy_from_slice(&(dtb_addr & 0xffff_ffff).to_le_bytes());
    let info = [
        u64::from(FW_DYNAMIC_MAGIC),
        u64::from(FW_DYNAMIC_VERSION),
        next,
        u64::from(FW_DYNAMIC_NEXT_S),
        0, // options
        0, // boot hart
    ];
    let width = match xlen {
        Xlen::Rv32 => 4,
        Xlen::Rv64 => 8,
    };
    for (chunk, field) in rom[40..].chunks_exact_mut(width).zip(info) {
        chunk.copy_from_slice(&field.to_le_bytes()[..width]);
    }
    rom
}

/// One contiguous piece of an image in guest memory.
#[derive(Clone, Copy, Debug)]
struct Piece<'b> {
    what: &'static str,
    addr: u64,
    data: &'b [u8],
    /// Bytes it occupies (at least `data.len()`; the rest is zeroed or, for a Linux
    /// `Image`'s bss, left alone).
    size: u64,
    zero_fill: bool,
}

/// Pieces a boot can have: ELF segments of firmware and kernel, initrd, device tree.
const MAX_PIECES: usize = 40;

type Pieces<'b> = heapless::Vec<Piece<'b>, MAX_PIECES>;

fn push<'b>(pieces: &mut Pieces<'b>, piece: Piece<'b>) -> Result<(), BoardError> {
    pieces.push(piece).map_err(|_| BoardError::Load {
        what: piece.what,
        error: LoadError::BadSegment {
            what: "too many loadable segments",
        },
    })
}

/// Adds `image`'s pieces (raw ones at `raw_at`) and returns its entry point and end.
fn place<'b>(
    pieces: &mut Pieces<'b>,
    image: Image<'b>,
    raw_at: u64,
    what: &'static str,
    firmware: bool,
    xlen: Xlen,
) -> Result<(u64, u64), BoardError> {
    let load = |error| BoardError::Load { what, error };
    let raw = |pieces: &mut Pieces<'b>, data: &'b [u8], size: u64| {
        push(
            pieces,
            Piece {
                what,
                addr: raw_at,
                data,
                size,
                zero_fill: false,
            },
        )?;
        Ok((raw_at, raw_at.saturating_add(size)))
    };
    match image {
        Image::Elf(bytes) => {
            let target = match xlen {
                Xlen::Rv32 => ElfTarget::RISCV32,
                Xlen::Rv64 => ElfTarget::RISCV64,
            };
            let elf = Elf::parse(bytes, target).map_err(load)?;
            for s in elf.segments() {
                push(
                    pieces,
                    Piece {
                        what,
                        addr: s.addr,
                        data: s.data,
                        size: s.mem_size,
                        zero_fill: true,
                    },
                )?;
            }
            Ok((elf.entry(), elf.span().1))
        }
        // QEMU loads firmware as an ELF or raw bytes, nothing else.
        _ if firmware => raw(pieces, image.bytes(), image.bytes().len() as u64),
        Image::UImage(bytes) => {
            let header = match Format::detect(bytes) {
                Ok(Format::UImage(u)) => u,
                Ok(_) => return raw(pieces, bytes, bytes.len() as u64),
                Err(error) => return Err(BoardError::Image { what, error }),
            };
            let data =
                bytes
                    .get(64..64 + header.size as usize)
                    .ok_or(load(LoadError::Truncated {
                        what: "the uImage data",
                    }))?;
            let addr = header.load as u64;
            push(
                pieces,
                Piece {
                    what,
                    addr,
                    data,
                    size: data.len() as u64,
                    zero_fill: false,
                },
            )?;
            Ok((header.entry as u64, addr + data.len() as u64))
        }
        Image::Linux(bytes) => {
            let size = match Format::detect(bytes) {
                Ok(Format::LinuxImage(l)) => l.image_size.max(bytes.len() as u64),
                _ => bytes.len() as u64,
            };
            raw(pieces, bytes, size)
        }
        Image::Raw(bytes) => raw(pieces, bytes, bytes.len() as u64),
    }
}

impl Virt<'_> {
    /// Loads `images` as QEMU `virt` does (the rules are in `virt/boot.rs`'s module docs);
    /// our device tree is written into `dtb_buf` first (as is the user's when `/chosen`
    /// changes).
    pub fn boot_images(
        &self,
        images: &BootImages<'_>,
        dtb_buf: &mut [u8],
    ) -> Result<Boot, BoardError> {
        let ram_end = RAM_BASE + self.ram_size;
        let xlen = self.spec.xlen;
        let mut pieces = Pieces::new();
        let (fw_entry, fw_end) = match images.firmware {
            Some(fw) => {
                let (entry, end) = place(&mut pieces, fw, RAM_BASE, "firmware", true, xlen)?;
                (Some(entry), end)
            }
            None => (None, RAM_BASE),
        };
        let kernel_start = fw_end.next_multiple_of(self.spec.kernel_align);
        let kernel_entry = match images.kernel {
            Some(k) => Some(place(&mut pieces, k, kernel_start, "kernel", false, xlen)?.0),
            None => None,
        };
        let entry = match (fw_entry, kernel_entry) {
            (Some(fw), _) => fw,
            (None, Some(k)) => k,
            (None, None) => return Err(BoardError::NothingToRun),
        };
        let initrd = match (images.initrd, kernel_entry) {
            (Some(_), None) => return Err(BoardError::InitrdWithoutKernel),
            (Some(file), Some(k)) => {
                let bytes = fief_core::image::ramdisk(file).map_err(|error| BoardError::Image {
                    what: "initrd",
                    error,
                })?;
                let start = k.saturating_add((self.ram_size / 2).min(INITRD_MAX_OFFSET));
                let size = bytes.len() as u64;
                if start >= ram_end || size > ram_end - start {
                    return Err(BoardError::InitrdTooLarge {
                        size,
                        room: ram_end.saturating_sub(start),
                        at: start,
                    });
                }
                push(
                    &mut pieces,
                    Piece {
                        what: "initrd",
                        addr: start,
                        data: bytes,
                        size,
                        zero_fill: false,
                    },
                )?;
                Some((start, start + size))
            }
            (None, _) => None,
        };
        let chosen = Chosen {
            bootargs: images.bootargs,
            initrd,
            rng_seed: None,
        };
        let generated = Chosen {
            rng_seed: images.rng_seed,
            ..chosen
        };
        let dtb: &[u8] = match images.dtb {
            DtbSource::Generate => {
                let len =
                    write_dtb_chosen(self.spec, self.ram_size, self.harts, &generated, dtb_buf)
                        .map_err(BoardError::Fdt)?;
                &dtb_buf[..len]
            }
            DtbSource::User(user) if chosen == Chosen::default() => {
                let len = FdtReader::validate(user).map_err(BoardError::UserDtb)?;
                &user[..len]
            }
            DtbSource::User(user) => {
                let len = rewrite_chosen(user, &chosen, dtb_buf).map_err(BoardError::UserDtb)?;
                &dtb_buf[..len]
            }
        };
        let dtb_addr = self.dtb_addr(dtb.len() as u64);
        push(
            &mut pieces,
            Piece {
                what: "device tree",
                addr: dtb_addr,
                data: dtb,
                size: dtb.len() as u64,
                zero_fill: false,
            },
        )?;
        self.check(&pieces)?;
        let space = self.space();
        for p in &pieces {
            let error = |error| BoardError::Load {
                what: p.what,
                error,
            };
            if p.zero_fill {
                loader::fill(&space, p.addr, p.data, p.size - p.data.len() as u64)
                    .map_err(error)?;
            } else {
                loader::load_raw(&space, p.data, p.addr).map_err(error)?;
            }
        }
        if self.mrom {
            let bytes = boot_rom(xlen, entry, dtb_addr, kernel_entry.unwrap_or(0));
            loader::load_raw(&space, &bytes, MROM_BASE).map_err(|error| BoardError::Load {
                what: "boot ROM",
                error,
            })?;
        }
        Ok(Boot {
            entry,
            dtb_addr,
            dtb_len: dtb.len() as u64,
            kernel_entry: fw_entry.and(kernel_entry),
            initrd,
        })
    }

    /// Every piece in RAM or ROM, none larger than RAM, no two images overlapping.
    fn check(&self, pieces: &Pieces<'_>) -> Result<(), BoardError> {
        let space = self.space();
        for p in pieces {
            if p.size > self.ram_size {
                return Err(BoardError::LargerThanRam {
                    what: p.what,
                    size: p.size,
                    ram: self.ram_size,
                });
            }
            loader::check_memory(&space, p.addr, p.size).map_err(|error| BoardError::Load {
                what: p.what,
                error,
            })?;
        }
        for (i, a) in pieces.iter().enumerate() {
            for b in &pieces[i + 1..] {
                let overlap = a.size > 0
                    && b.size > 0
                    && a.addr < b.addr.saturating_add(b.size)
                    && b.addr < a.addr.saturating_add(a.size);
                if overlap && a.what != b.what {
                    return Err(BoardError::Overlap {
                        first: a.what,
                        first_at: (a.addr, a.addr + a.size),
                        second: b.what,
                        second_at: (b.addr, b.addr + b.size),
                    });
                }
            }
        }
        Ok(())
    }
}
