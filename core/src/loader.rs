//! Loading guest images into an address space: ELF executables (`PT_LOAD` segments at their
//! physical addresses) and raw binaries at a load address. No allocation: the image is a
//! byte slice the caller holds, and every byte goes in through debug writes of the address
//! space (which may write ROM, rule L9 keeps guests from doing so).
//!
//! The ELF parser is our own and checked: every offset and size is range-checked against the
//! file, so a truncated or hostile file is a [`LoadError`], never a panic. Before anything is
//! written, every segment is checked to lie wholly in RAM or ROM of the address space's
//! current flat view ([`LoadError::OutsideMemory`]), so a failed load leaves memory as it was.

use core::fmt;

use crate::memory::{AddressSpace, GuestAddress, MemTxAttrs, MemTxResult, RegionKind};

/// The ELF `e_machine` of RISC-V.
pub const EM_RISCV: u16 = 243;

const PT_LOAD: u32 = 1;
const ET_EXEC: u16 = 2;

/// Word size of an ELF file (`EI_CLASS`).
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElfClass {
    /// `ELFCLASS32`.
    Elf32,
    /// `ELFCLASS64`.
    Elf64,
}

impl fmt::Display for ElfClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ElfClass::Elf32 => "ELF32",
            ElfClass::Elf64 => "ELF64",
        })
    }
}

/// What a loader expects of an ELF file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ElfTarget {
    /// The word size.
    pub class: ElfClass,
    /// `e_machine`.
    pub machine: u16,
}

impl ElfTarget {
    /// 32-bit little-endian RISC-V.
    pub const RISCV32: ElfTarget = ElfTarget {
        class: ElfClass::Elf32,
        machine: EM_RISCV,
    };
    /// 64-bit little-endian RISC-V.
    pub const RISCV64: ElfTarget = ElfTarget {
        class: ElfClass::Elf64,
        machine: EM_RISCV,
    };
}

/// Why an image could not be loaded.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadError {
    /// No ELF magic.
    NotElf,
    /// The file ends before a header, the program header table or a segment's data.
    Truncated {
        /// What was cut off.
        what: &'static str,
    },
    /// `EI_CLASS` is not the expected one.
    WrongClass {
        /// Expected class.
        expected: ElfClass,
        /// `EI_CLASS` byte found.
        found: u8,
    },
    /// Not little-endian.
    WrongEndian,
    /// Not an executable (`ET_EXEC`).
    NotExecutable {
        /// `e_type` found.
        found: u16,
    },
    /// `e_machine` is not the expected one.
    WrongMachine {
        /// Expected `e_machine`.
        expected: u16,
        /// `e_machine` found.
        found: u16,
    },
    /// A malformed program header (file size above memory size, address overflow, entry
    /// size too small).
    BadSegment {
        /// What is wrong.
        what: &'static str,
    },
    /// No `PT_LOAD` segment with bytes in memory.
    NoLoadableSegment,
    /// A segment (or a raw image) does not lie wholly in RAM or ROM.
    OutsideMemory {
        /// Its first address.
        addr: u64,
        /// Its size in memory.
        size: u64,
    },
    /// A debug write failed although the range was checked (the topology changed meanwhile).
    Bus {
        /// Where.
        addr: u64,
        /// What the bus answered.
        result: MemTxResult,
    },
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LoadError::NotElf => f.write_str("not an ELF file (no ELF magic)"),
            LoadError::Truncated { what } => write!(f, "truncated ELF file: {what} is cut off"),
            LoadError::WrongClass { expected, found } => {
                let found = match found {
                    1 => "ELF32",
                    2 => "ELF64",
                    _ => "an unknown class",
                };
                write!(f, "wrong ELF class: expected {expected}, found {found}")
            }
            LoadError::WrongEndian => f.write_str("not a little-endian ELF file"),
            LoadError::NotExecutable { found } => {
                write!(f, "not an executable ELF file (e_type {found}, expected 2)")
            }
            LoadError::WrongMachine { expected, found } => write!(
                f,
                "ELF file for another machine: e_machine {found}, expected {expected}{}",
                if expected == EM_RISCV {
                    " (RISC-V)"
                } else {
                    ""
                }
            ),
            LoadError::BadSegment { what } => write!(f, "bad ELF program header: {what}"),
            LoadError::NoLoadableSegment => f.write_str("the ELF file has no loadable segment"),
            LoadError::OutsideMemory { addr, size } => write!(
                f,
                "image does not fit in guest memory: {size:#x} bytes at {addr:#x} are not \
                 all RAM or ROM"
            ),
            LoadError::Bus { addr, result } => {
                write!(f, "writing the image at {addr:#x} failed: {result}")
            }
        }
    }
}

impl core::error::Error for LoadError {}

/// One `PT_LOAD` segment of an [`Elf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment<'b> {
    /// Physical load address (`p_paddr`).
    pub addr: u64,
    /// The bytes from the file (`p_filesz` of them).
    pub data: &'b [u8],
    /// Size in memory (`p_memsz`); past `data` it is zero.
    pub mem_size: u64,
    /// Where its bytes start in the file (`p_offset`).
    pub offset: u64,
    /// How many bytes the file holds for it (`p_filesz`).
    pub file_size: u64,
}

/// A parsed, checked ELF executable borrowing its bytes.
#[derive(Clone, Copy, Debug)]
pub struct Elf<'b> {
    bytes: &'b [u8],
    class: ElfClass,
    entry: u64,
    phoff: usize,
    phentsize: usize,
    phnum: usize,
    /// Whether segment data was checked to be in `bytes` (false: [`Elf::headers`]).
    whole: bool,
}

fn read_u16(b: &[u8], off: usize, what: &'static str) -> Result<u16, LoadError> {
    match b.get(off..off.wrapping_add(2)) {
        Some(&[x, y]) => Ok(u16::from_le_bytes([x, y])),
        _ => Err(LoadError::Truncated { what }),
    }
}

fn read_u32(b: &[u8], off: usize, what: &'static str) -> Result<u32, LoadError> {
    match b.get(off..off.wrapping_add(4)) {
        Some(&[a, b2, c, d]) => Ok(u32::from_le_bytes([a, b2, c, d])),
        _ => Err(LoadError::Truncated { what }),
    }
}

fn read_u64(b: &[u8], off: usize, what: &'static str) -> Result<u64, LoadError> {
    let lo = read_u32(b, off, what)? as u64;
    let hi = read_u32(
        b,
        off.checked_add(4).ok_or(LoadError::Truncated { what })?,
        what,
    )? as u64;
    Ok(lo | hi << 32)
}

impl<'b> Elf<'b> {
    /// Parses and checks the ELF header of `bytes` against `target`, and every program
    /// header (so [`Elf::segments`] cannot fail later).
    pub fn parse(bytes: &'b [u8], target: ElfTarget) -> Result<Elf<'b>, LoadError> {
        Self::parse_inner(bytes, target, true)
    }

    /// Parses and checks the ELF header and the program headers of `head`, a prefix of a
    /// file, without needing the segments' data: for [`Elf::file_len`] and [`Elf::span`]
    /// before the rest of the file is read. [`Elf::segments`] of the result have empty
    /// data where it lies beyond `head`.
    pub fn headers(head: &'b [u8], target: ElfTarget) -> Result<Elf<'b>, LoadError> {
        Self::parse_inner(head, target, false)
    }

    /// The bytes of the file a load needs: up to the end of the program header table or of
    /// the last loadable segment's file bytes, whichever is further.
    pub fn file_len(&self) -> u64 {
        let table = (self.phoff + self.phentsize * self.phnum) as u64;
        (0..self.phnum)
            .filter_map(|i| self.segment(i).ok().flatten())
            .fold(table, |end, s| {
                end.max(s.offset.saturating_add(s.file_size))
            })
    }

    fn parse_inner(bytes: &'b [u8], target: ElfTarget, whole: bool) -> Result<Elf<'b>, LoadError> {
        if bytes.len() < 4 || bytes[..4] != *b"\x7fELF" {
            return Err(LoadError::NotElf);
        }
        let ident = bytes.get(..16).ok_or(LoadError::Truncated {
            what: "the ELF identification",
        })?;
        let expected_class = match target.class {
            ElfClass::Elf32 => 1,
            ElfClass::Elf64 => 2,
        };
        if ident[4] != expected_class {
            return Err(LoadError::WrongClass {
                expected: target.class,
                found: ident[4],
            });
        }
        if ident[5] != 1 {
            return Err(LoadError::WrongEndian);
        }
        let header = "the ELF header";
        let wide = target.class == ElfClass::Elf64;
        let header_len = if wide { 64 } else { 52 };
        if bytes.len() < header_len {
            return Err(LoadError::Truncated { what: header });
        }
        let e_type = read_u16(bytes, 16, header)?;
        let machine = read_u16(bytes, 18, header)?;
        if machine != target.machine {
            return Err(LoadError::WrongMachine {
                expected: target.machine,
                found: machine,
            });
        }
        if e_type != ET_EXEC {
            return Err(LoadError::NotExecutable { found: e_type });
        }
        let (entry, phoff, phentsize, phnum) = if wide {
            (
                read_u64(bytes, 24, header)?,
                read_u64(bytes, 32, header)?,
                read_u16(bytes, 54, header)?,
                read_u16(bytes, 56, header)?,
            )
        } else {
            (
                read_u32(bytes, 24, header)? as u64,
                read_u32(bytes, 28, header)? as u64,
                read_u16(bytes, 42, header)?,
                read_u16(bytes, 44, header)?,
            )
        };
        let min_entry = if wide { 56 } else { 32 };
        if phnum > 0 && (phentsize as usize) < min_entry {
            return Err(LoadError::BadSegment {
                what: "program header entries are too small",
            });
        }
        let table = "the program header table";
        let phoff = usize::try_from(phoff).map_err(|_| LoadError::Truncated { what: table })?;
        let end = (phentsize as usize)
            .checked_mul(phnum as usize)
            .and_then(|n| n.checked_add(phoff))
            .ok_or(LoadError::Truncated { what: table })?;
        if end > bytes.len() {
            return Err(LoadError::Truncated { what: table });
        }
        let elf = Elf {
            bytes,
            class: target.class,
            entry,
            phoff,
            phentsize: phentsize as usize,
            phnum: phnum as usize,
            whole,
        };
        let mut loadable = false;
        for i in 0..elf.phnum {
            if let Some(segment) = elf.segment(i)? {
                loadable |= segment.mem_size > 0;
            }
        }
        if !loadable {
            return Err(LoadError::NoLoadableSegment);
        }
        Ok(elf)
    }

    /// The entry point.
    pub fn entry(&self) -> u64 {
        self.entry
    }

    /// The file's class.
    pub fn class(&self) -> ElfClass {
        self.class
    }

    /// Program header `i` if it is `PT_LOAD`.
    fn segment(&self, i: usize) -> Result<Option<Segment<'b>>, LoadError> {
        let b = self.bytes;
        let what = "the program header table";
        let ph = self.phoff + i * self.phentsize;
        if read_u32(b, ph, what)? != PT_LOAD {
            return Ok(None);
        }
        let (offset, paddr, filesz, memsz) = if self.class == ElfClass::Elf64 {
            (
                read_u64(b, ph + 8, what)?,
                read_u64(b, ph + 24, what)?,
                read_u64(b, ph + 32, what)?,
                read_u64(b, ph + 40, what)?,
            )
        } else {
            (
                read_u32(b, ph + 4, what)? as u64,
                read_u32(b, ph + 12, what)? as u64,
                read_u32(b, ph + 16, what)? as u64,
                read_u32(b, ph + 20, what)? as u64,
            )
        };
        if filesz > memsz {
            return Err(LoadError::BadSegment {
                what: "file size above memory size",
            });
        }
        if memsz > 0 && paddr.checked_add(memsz - 1).is_none() {
            return Err(LoadError::BadSegment {
                what: "segment wraps around the address space",
            });
        }
        let data = usize::try_from(offset)
            .ok()
            .zip(usize::try_from(filesz).ok())
            .and_then(|(o, n)| b.get(o..o.checked_add(n)?));
        let data = match data {
            Some(data) => data,
            None if !self.whole && offset.checked_add(filesz).is_some() => &[],
            None => {
                return Err(LoadError::Truncated {
                    what: "a segment's data",
                })
            }
        };
        Ok(Some(Segment {
            addr: paddr,
            data,
            mem_size: memsz,
            offset,
            file_size: filesz,
        }))
    }

    /// The `PT_LOAD` segments with bytes in memory, in file order.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'b>> + '_ {
        (0..self.phnum).filter_map(|i| self.segment(i).ok().flatten().filter(|s| s.mem_size > 0))
    }

    /// Lowest and highest-plus-one addresses the segments cover.
    pub fn span(&self) -> (u64, u64) {
        self.segments().fold((u64::MAX, 0), |(lo, hi), s| {
            (lo.min(s.addr), hi.max(s.addr.saturating_add(s.mem_size)))
        })
    }
}

/// Checks that `[addr, addr + size)` lies wholly in RAM or ROM of `space`'s current view.
pub fn check_memory<const F: usize>(
    space: &AddressSpace<'_, '_, F>,
    addr: u64,
    size: u64,
) -> Result<(), LoadError> {
    let outside = LoadError::OutsideMemory { addr, size };
    if size == 0 {
        return Ok(());
    }
    let last = addr.checked_add(size - 1).ok_or(outside)?;
    let section = space.section().ok_or(outside)?;
    let mut at = addr;
    loop {
        let range = section.view().lookup(GuestAddress(at)).ok_or(outside)?;
        if !matches!(
            range.kind(),
            RegionKind::Ram | RegionKind::Rom | RegionKind::RomDevice
        ) {
            return Err(outside);
        }
        if range.last().0 >= last {
            return Ok(());
        }
        at = range.last().0 + 1;
    }
}

fn write<const F: usize>(
    space: &AddressSpace<'_, '_, F>,
    addr: u64,
    data: &[u8],
) -> Result<(), LoadError> {
    let result = space.write_buf(GuestAddress(addr), data, MemTxAttrs::DEBUG);
    if result.is_ok() {
        Ok(())
    } else {
        Err(LoadError::Bus { addr, result })
    }
}

/// Writes `data` and then `zeros` zero bytes at `addr` (unchecked: see [`check_memory`]).
pub fn fill<const F: usize>(
    space: &AddressSpace<'_, '_, F>,
    addr: u64,
    data: &[u8],
    zeros: u64,
) -> Result<(), LoadError> {
    write(space, addr, data)?;
    const ZERO: [u8; 256] = [0; 256];
    let mut at = addr + data.len() as u64;
    let mut left = zeros;
    while left > 0 {
        let n = left.min(ZERO.len() as u64);
        write(space, at, &ZERO[..n as usize])?;
        at += n;
        left -= n;
    }
    Ok(())
}

/// Loads an ELF executable into `space`: checks every segment against memory first, then
/// writes them (zero-filling past their file bytes). Returns the entry point.
pub fn load_elf<const F: usize>(
    space: &AddressSpace<'_, '_, F>,
    bytes: &[u8],
    target: ElfTarget,
) -> Result<u64, LoadError> {
    let elf = Elf::parse(bytes, target)?;
    for s in elf.segments() {
        check_memory(space, s.addr, s.mem_size)?;
    }
    for s in elf.segments() {
        fill(space, s.addr, s.data, s.mem_size - s.data.len() as u64)?;
    }
    Ok(elf.entry())
}

/// Loads a raw binary at `addr` (checked to lie wholly in RAM or ROM first).
pub fn load_raw<const F: usize>(
    space: &AddressSpace<'_, '_, F>,
    bytes: &[u8],
    addr: u64,
) -> Result<(), LoadError> {
    check_memory(space, addr, bytes.len() as u64)?;
    write(space, addr, bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::memory::{AccessSize, Memory, Priority, RamBlock, RegionOffset, RegionSize};

    /// A minimal ELF32 RISC-V executable: one PT_LOAD of `data` at `addr`, `memsz` bytes.
    fn elf32(addr: u32, data: &[u8], memsz: u32) -> [u8; 128] {
        let mut b = [0u8; 128];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&EM_RISCV.to_le_bytes());
        b[24..28].copy_from_slice(&(addr + 4).to_le_bytes());
        b[28..32].copy_from_slice(&52u32.to_le_bytes());
        b[42..44].copy_from_slice(&32u16.to_le_bytes());
        b[44..46].copy_from_slice(&1u16.to_le_bytes());
        let ph = 52;
        b[ph..ph + 4].copy_from_slice(&1u32.to_le_bytes());
        b[ph + 4..ph + 8].copy_from_slice(&96u32.to_le_bytes());
        b[ph + 12..ph + 16].copy_from_slice(&addr.to_le_bytes());
        b[ph + 16..ph + 20].copy_from_slice(&(data.len() as u32).to_le_bytes());
        b[ph + 20..ph + 24].copy_from_slice(&memsz.to_le_bytes());
        b[96..96 + data.len()].copy_from_slice(data);
        b
    }

    #[test]
    fn loads_segments_and_zero_fills() {
        let mut backing = [0xaau8; 64];
        let memory: Memory<'_, 4, 2, 1, 4> = Memory::new();
        let space = {
            let mut g = memory.lock();
            let root = g.root_owner().unwrap();
            let sys = g
                .create_container(root, "sys", RegionSize::FULL, None)
                .unwrap();
            let ram = g
                .create_ram(root, "ram", RamBlock::new(&mut backing))
                .unwrap();
            g.add_subregion(sys, RegionOffset(0x1000), ram, Priority(0))
                .unwrap();
            g.create_address_space(sys, "s").unwrap()
        };
        let space = memory.space(space).unwrap();
        let image = elf32(0x1000, &[1, 2, 3, 4], 8);
        assert_eq!(load_elf(&space, &image, ElfTarget::RISCV32), Ok(0x1004));
        let (v, _) = space.read(GuestAddress(0x1000), AccessSize::Double, MemTxAttrs::DEBUG);
        assert_eq!(v, 0x0000_0000_0403_0201);
        // Errors, one per kind; nothing is written on failure.
        let big = elf32(0x1000, &[9], 65);
        assert_eq!(
            load_elf(&space, &big, ElfTarget::RISCV32),
            Err(LoadError::OutsideMemory {
                addr: 0x1000,
                size: 65
            })
        );
        assert_eq!(
            space
                .read(GuestAddress(0x1000), AccessSize::Byte, MemTxAttrs::DEBUG)
                .0,
            1
        );
        assert_eq!(
            load_elf(&space, &image[..40], ElfTarget::RISCV32),
            Err(LoadError::Truncated {
                what: "the ELF header"
            })
        );
        assert!(matches!(
            load_elf(&space, &image[..90], ElfTarget::RISCV32),
            Err(LoadError::Truncated { .. })
        ));
        assert_eq!(
            load_elf(&space, b"garbage", ElfTarget::RISCV32),
            Err(LoadError::NotElf)
        );
        assert_eq!(
            load_elf(&space, &image, ElfTarget::RISCV64),
            Err(LoadError::WrongClass {
                expected: ElfClass::Elf64,
                found: 1
            })
        );
        let mut arm = image;
        arm[18..20].copy_from_slice(&40u16.to_le_bytes());
        assert_eq!(
            load_elf(&space, &arm, ElfTarget::RISCV32),
            Err(LoadError::WrongMachine {
                expected: EM_RISCV,
                found: 40
            })
        );
        assert_eq!(load_raw(&space, &[7; 64], 0x1000), Ok(()));
        assert!(load_raw(&space, &[7; 65], 0x1000).is_err());
        assert!(load_raw(&space, &[7; 1], 0xfff).is_err());
    }
}
