//! The decoder and the hart: every 16- and 32-bit pattern of the input decodes without a
//! panic (RV32 and RV64), and the input run as code on a fresh hart (64 KiB of RAM at
//! `0x8000_0000`, nothing else mapped) executes a bounded number of instructions without a
//! host panic, whatever it does. A fixed M-mode trap handler at the RAM base steps `mepc`
//! over whatever trapped (2 or 4 bytes) and returns, so the whole input runs rather than
//! only what precedes its first illegal instruction.
#![no_main]

use std::sync::OnceLock;

use fief_core::cpu::riscv::{decode, decode_compressed, Hart, Xlen};
use fief_core::memory::{GuestAddress, MemTxAttrs, Priority, RegionOffset, RegionSize, SpaceId};
use fief_tests::TestMemory;
use libfuzzer_sys::fuzz_target;

const RAM_BASE: u64 = 0x8000_0000;
const RAM_SIZE: usize = 64 << 10;
/// Where the input goes (the handler is below it).
const CODE: u64 = RAM_BASE + 0x100;
const MTVEC: u16 = 0x305;

/// The trap handler: `mepc += (insn & 3 == 3) ? 4 : 2; mret` (t5, t6 scratch).
fn handler() -> Vec<u8> {
    [
        0x3410_2ff3u32, // csrr t6, mepc
        0x000f_df03,    // lhu t5, 0(t6)
        0x003f_7f13,    // andi t5, t5, 3
        0x002f_8f93,    // addi t6, t6, 2
        0xffdf_0f13,    // addi t5, t5, -3
        0x000f_1463,    // bnez t5, +8
        0x002f_8f93,    // addi t6, t6, 2
        0x341f_9073,    // csrw mepc, t6
        0x3020_0073,    // mret
    ]
    .iter()
    .flat_map(|w| w.to_le_bytes())
    .collect()
}

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
    let code = &code[..code.len().min(RAM_SIZE - 0x100)];
    let (memory, id) = world();
    let space = memory.space(*id).expect("view");
    let attrs = MemTxAttrs::UNSPECIFIED;
    let zeros = vec![0u8; RAM_SIZE];
    assert!(space
        .write_buf(GuestAddress(RAM_BASE), &zeros, attrs)
        .is_ok());
    assert!(space
        .write_buf(GuestAddress(RAM_BASE), &handler(), attrs)
        .is_ok());
    assert!(space.write_buf(GuestAddress(CODE), code, attrs).is_ok());
    let xlen = if mode & 1 == 0 {
        Xlen::Rv32
    } else {
        Xlen::Rv64
    };
    let mut hart = Hart::new(0, xlen, CODE);
    hart.set_csr(MTVEC, RAM_BASE).expect("mtvec");
    let section = space.section().expect("section");
    let _ = hart.run(&section, 2_000);
});
