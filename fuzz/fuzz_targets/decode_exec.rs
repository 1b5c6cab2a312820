//! The decoder and the hart: every 16- and 32-bit pattern of the input decodes without a
//! panic (RV32 and RV64), and the input run as code on a fresh hart (64 KiB of RAM at
//! `0x8000_0000`, nothing else mapped) executes a bounded number of instructions without a
//! host panic, whatever it does.
#![no_main]

use std::sync::OnceLock;

use fief_core::cpu::riscv::{decode, decode_compressed, Hart, Xlen};
use fief_core::memory::{GuestAddress, MemTxAttrs, Priority, RegionOffset, RegionSize, SpaceId};
use fief_tests::TestMemory;
use libfuzzer_sys::fuzz_target;

const RAM_BASE: u64 = 0x8000_0000;
const RAM_SIZE: usize = 64 << 10;

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
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        for w in data.windows(4).step_by(2) {
            let raw = u32::from_le_bytes([w[0], w[1], w[2], w[3]]);
            let _ = decode(raw, xlen);
            let _ = decode_compressed(raw as u16, xlen);
        }
    }
    let Some((&mode, code)) = data.split_first() else {
        return;
    };
    let code = &code[..code.len().min(RAM_SIZE)];
    let (memory, id) = world();
    let space = memory.space(*id).expect("view");
    let attrs = MemTxAttrs::UNSPECIFIED;
    let zeros = vec![0u8; RAM_SIZE];
    assert!(space
        .write_buf(GuestAddress(RAM_BASE), &zeros, attrs)
        .is_ok());
    assert!(space.write_buf(GuestAddress(RAM_BASE), code, attrs).is_ok());
    let xlen = if mode & 1 == 0 {
        Xlen::Rv32
    } else {
        Xlen::Rv64
    };
    let mut hart = Hart::new(0, xlen, RAM_BASE);
    let section = space.section().expect("section");
    let _ = hart.run(&section, 2_000);
});
