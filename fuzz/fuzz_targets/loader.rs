//! The image loaders (`fief_core::loader`, `fief_core::image`) and the `-dtb` input: any
//! bytes as an ELF (RV32 and RV64 targets), a uImage / Linux `Image` / raw kernel (format
//! detection and the size check before reading), an initrd, or a user's device tree
//! (`rewrite_chosen`) either load or are refused with an error, never a panic; a loaded ELF's
//! last segment is in guest memory; a raw image loads exactly when it fits RAM; a device tree
//! that is taken comes out as a valid tree.
#![no_main]

use std::sync::OnceLock;

use fief_boards::virt32::{rewrite_chosen, Chosen};
use fief_core::fdt::FdtReader;
use fief_core::image::{ramdisk, Format};
use fief_core::loader::{load_elf, load_raw, Elf, ElfTarget};
use fief_core::memory::{GuestAddress, MemTxAttrs, Priority, RegionOffset, RegionSize, SpaceId};
use fief_tests::TestMemory;
use libfuzzer_sys::fuzz_target;

const RAM_BASE: u64 = 0x8000_0000;
const RAM_SIZE: usize = 1 << 20;

fn world() -> &'static (Box<TestMemory>, SpaceId) {
    static WORLD: OnceLock<(Box<TestMemory>, SpaceId)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let memory = fief_tests::memory();
        let space = {
            let mut g = memory.lock();
            let root = g.root_owner().expect("root");
            let system = g
                .create_container(root, "system", RegionSize::FULL, None)
                .expect("system");
            let ram = g
                .create_ram(root, "ram", fief_tests::ram(RAM_SIZE, 0))
                .map_err(|r| r.error)
                .expect("ram");
            g.begin();
            g.add_subregion(system, RegionOffset(RAM_BASE), ram, Priority(0))
                .expect("map");
            let space = g.create_address_space(system, "system").expect("space");
            g.commit().expect("commit");
            space
        };
        (memory, space)
    })
}

fuzz_target!(|data: &[u8]| {
    let (memory, id) = world();
    let space = memory.space(*id).expect("view");
    for target in [ElfTarget::RISCV32, ElfTarget::RISCV64] {
        if let Ok(elf) = Elf::parse(data, target) {
            let _ = (elf.entry(), elf.class(), elf.span(), elf.file_len());
            for s in elf.segments() {
                assert!(s.data.len() as u64 <= s.mem_size, "file bytes beyond memsz");
            }
            if load_elf(&space, data, target).is_ok() {
                // Segments may overlap (the last writer wins, its zero fill comes after its
                // own bytes): the last segment's file bytes must be in memory.
                if let Some(last) = elf.segments().last() {
                    let mut back = vec![0u8; last.data.len()];
                    let r =
                        space.read_buf(GuestAddress(last.addr), &mut back, MemTxAttrs::UNSPECIFIED);
                    assert!(r.is_ok(), "a loaded segment is not readable");
                    assert_eq!(
                        back, last.data,
                        "the last segment's bytes are not in memory"
                    );
                }
            }
        }
    }
    // Format detection from the first bytes, and the size the host would read.
    for target in [ElfTarget::RISCV32, ElfTarget::RISCV64] {
        if let Ok(format) = Format::detect(data) {
            let _ = format.name();
            // What a load would read (more than the file has is the caller's "truncated").
            for file_len in [data.len() as u64, u64::MAX, 0] {
                let _ = format.file_len(data, file_len, target);
            }
        }
    }
    if let Ok(initrd) = ramdisk(data) {
        assert!(initrd.len() <= data.len());
    }
    // A user's device tree: refused, or rewritten into a valid tree.
    let mut out = vec![0u8; data.len() + 4096];
    let chosen = Chosen {
        bootargs: Some("console=ttyS0"),
        initrd: Some((0x8800_0000, 0x1000)),
        rng_seed: None,
    };
    if let Ok(n) = rewrite_chosen(data, &chosen, &mut out) {
        assert!(
            FdtReader::validate(&out[..n]).is_ok(),
            "a rewritten tree is not valid"
        );
    }
    // A raw image at an address picked by the first bytes: in, across, or outside RAM.
    if data.len() >= 4 {
        let off = u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as u64;
        let addr = RAM_BASE
            .wrapping_add(off % (2 * RAM_SIZE as u64))
            .wrapping_sub(RAM_SIZE as u64 / 2);
        let image = &data[4..];
        // An empty image fits anywhere (nothing is written).
        let fits = image.is_empty()
            || addr >= RAM_BASE && addr + image.len() as u64 <= RAM_BASE + RAM_SIZE as u64;
        assert_eq!(
            load_raw(&space, image, addr).is_ok(),
            fits,
            "raw load at {addr:#x}"
        );
    }
});
