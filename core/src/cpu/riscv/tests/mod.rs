//! Tests of the RISC-V hart: decoder (with a differential test against `raki`), execution
//! per instruction group, traps, interrupts, Sv32, LR/SC and AMOs, the block cache.

use std::boxed::Box;
use std::sync::Mutex;
use std::vec;

use crate::memory::{
    AccessRules, AccessSize, GuestAddress, MemTxAttrs, MemTxResult, Memory, MmioOps, Priority,
    RamBlock, ReadSection, RegionOffset, RegionSize, SpaceId,
};

mod asm;
mod decode;
mod epochs;
mod exec;
#[cfg(feature = "ext")]
mod ext_words;
#[cfg(feature = "fpu")]
mod fp_rv64;
#[cfg(feature = "fpu")]
mod fp_words;
mod fused;
#[cfg(feature = "rv64")]
mod paging;
mod paths;
mod rv64;
mod slices;
mod system;
mod written;

pub const RAM_BASE: u64 = 0x8000_0000;
pub const ROM_BASE: u64 = 0x2000_0000;
pub const MMIO_BASE: u64 = 0x1000_0000;
pub type Sec<'s, 'm, 'a> = &'s ReadSection<'m, 'a, 32>;
pub type Mem<'a> = Memory<'a, 16, 4, 1, 32>;

/// A 16-byte MMIO register file (word accesses only), recording nothing.
pub struct Regs(pub Mutex<[u32; 4]>);

impl MmioOps for Regs {
    fn read(&self, offset: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let r = self.0.lock().unwrap();
        (r[(offset.0 as usize / 4) % 4] as u64, MemTxResult::OK)
    }
    fn write(&self, offset: RegionOffset, v: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        self.0.lock().unwrap()[(offset.0 as usize / 4) % 4] = v as u32;
        MemTxResult::OK
    }
    fn rules(&self) -> AccessRules {
        let mut rules = AccessRules::DEFAULT;
        rules.valid.min = 4;
        rules.implemented.min = 4;
        rules
    }
}

fn put(buf: &mut [u8], words: &[(u64, &[u32])]) {
    for (off, ws) in words {
        for (k, w) in ws.iter().enumerate() {
            let at = *off as usize + 4 * k;
            buf[at..at + 4].copy_from_slice(&w.to_le_bytes());
        }
    }
}

/// Builds RAM (`ram_size` bytes at [`RAM_BASE`], with `image` words at the given offsets),
/// a 4 KiB ROM at [`ROM_BASE`] (all 0x13 bytes: never executed) and a [`Regs`] device at
/// [`MMIO_BASE`], pins a section and hands it to `f`.
pub fn with_machine<R>(
    ram_size: usize,
    image: &[(u64, &[u32])],
    f: impl FnOnce(Sec<'_, '_, '_>, &Regs) -> R,
) -> R {
    with_shared_machine(ram_size, image, |sec, dev, _, _| f(sec, dev))
}

/// [`with_machine`], also handing `f` the memory and the address space's id, which other
/// threads can use (a section is pinned by one thread).
pub fn with_shared_machine<R>(
    ram_size: usize,
    image: &[(u64, &[u32])],
    f: impl FnOnce(Sec<'_, '_, '_>, &Regs, &Mem<'_>, SpaceId) -> R,
) -> R {
    // 8-byte aligned guest RAM, whatever the allocator (Miri's) gives a `Vec<u8>`: the TLB
    // keeps host pointers of aligned pages only, so the hart's host-memory paths (and their
    // `unsafe` blocks: atomics, the PTE compare-and-swap) are always the ones tested.
    let mut buf = vec![0u8; ram_size + 8];
    let skew = buf.as_ptr().align_offset(8).min(8);
    let ram = &mut buf[skew..skew + ram_size];
    put(ram, image);
    let mut rom = vec![0u8; 4096];
    let dev = Regs(Mutex::new([0; 4]));
    let (mem, id) = machine(ram, Some(&mut rom), &[(MMIO_BASE, &dev)]);
    let space = mem.space(id).unwrap();
    let sec = space.section().unwrap();
    f(&sec, &dev, &mem, id)
}

/// A memory with `ram` at [`RAM_BASE`], `rom` (if any) at [`ROM_BASE`] and each device
/// (4 KiB) at its address, in one address space.
pub fn machine<'a>(
    ram: &'a mut [u8],
    rom: Option<&'a mut [u8]>,
    devices: &[(u64, &'a dyn MmioOps)],
) -> (Box<Mem<'a>>, SpaceId) {
    let mem: Box<Mem<'a>> = Box::default();
    let id = {
        let mut g = mem.lock();
        let root = g.root_owner().unwrap();
        let sys = g
            .create_container(root, "sys", RegionSize::FULL, None)
            .unwrap();
        let r = g.create_ram(root, "ram", RamBlock::new(ram)).ok().unwrap();
        g.begin();
        g.add_subregion(sys, RegionOffset(RAM_BASE), r, Priority(0))
            .unwrap();
        if let Some(rom) = rom {
            let o = g.create_rom(root, "rom", RamBlock::new(rom)).ok().unwrap();
            g.add_subregion(sys, RegionOffset(ROM_BASE), o, Priority(0))
                .unwrap();
        }
        for &(at, ops) in devices {
            let d = g
                .create_mmio(root, "dev", RegionSize::new(0x1000).unwrap(), ops)
                .unwrap();
            g.add_subregion(sys, RegionOffset(at), d, Priority(0))
                .unwrap();
        }
        let id = g.create_address_space(sys, "sys").unwrap();
        g.commit().unwrap();
        id
    };
    (mem, id)
}

/// Reads a word of guest memory.
pub fn peek(sec: Sec<'_, '_, '_>, addr: u64) -> u32 {
    let (v, r) = sec.read(GuestAddress(addr), AccessSize::Word, MemTxAttrs::DEBUG);
    assert!(r.is_ok(), "peek {addr:#x}: {r}");
    v as u32
}

/// Writes a word of guest memory.
pub fn poke(sec: Sec<'_, '_, '_>, addr: u64, value: u32) {
    let r = sec.write(
        GuestAddress(addr),
        AccessSize::Word,
        value as u64,
        MemTxAttrs::DEBUG,
    );
    assert!(r.is_ok(), "poke {addr:#x}: {r}");
}
