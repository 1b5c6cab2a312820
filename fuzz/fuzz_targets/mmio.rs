//! Every device model's MMIO surface on a `virt32` board (finisher, goldfish RTC, CLINT, PLIC,
//! UART, DMA engine, and the boot ROM and RAM around them): random sequences of reads and
//! writes of every size at any offset of each device's window. Invariants: no host panic; a
//! read that succeeds returns a value that fits its size; and after `Virt32::reset` every
//! probed register reads as on the freshly built board (reset really puts each device back).
#![no_main]

use std::sync::OnceLock;

use fief_boards::virt32::{Virt32, Virt32Devices, VIRT32};
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, RamBlock};
use libfuzzer_sys::fuzz_target;

/// The devices the input addresses (by index), with their windows.
fn devices() -> Vec<(u64, u64)> {
    VIRT32
        .map
        .iter()
        .filter(|e| e.name != "ram")
        .map(|e| (e.base, e.size))
        .chain([(0x8000_0000, 0x1_0000)]) // the first 64 KiB of RAM (DMA descriptors)
        .collect()
}

/// Registers read after a reset, compared with a fresh board: the first 256 bytes of every
/// device and the interesting places further in (PLIC enables and context 0, CLINT
/// `mtimecmp`). The RTC's time registers follow the host clock and are left out.
fn probe(board: &Virt32<'static>) -> Vec<(u64, u64, bool)> {
    let mut at: Vec<u64> = Vec::new();
    for e in VIRT32
        .map
        .iter()
        .filter(|e| e.name != "ram" && e.name != "mrom")
    {
        for off in (0..e.size.min(0x100)).step_by(4) {
            if e.name == "rtc" && off < 8 {
                continue;
            }
            at.push(e.base + off);
        }
    }
    let plic = 0xc00_0000u64;
    at.extend((0x1000..0x1010).step_by(4).map(|o| plic + o)); // pending
    at.extend((0x2000..0x2010).step_by(4).map(|o| plic + o)); // context 0 enables
    at.extend((0x2080..0x2090).step_by(4).map(|o| plic + o)); // context 1 enables
    at.push(plic + 0x20_0000); // context 0 threshold
    at.push(plic + 0x20_1000); // context 1 threshold
    at.extend((0x4000..0x4010).step_by(4).map(|o| 0x200_0000 + o)); // mtimecmp 0..1
    let space = board.space();
    at.into_iter()
        .map(|a| {
            let (v, r) = space.read(GuestAddress(a), AccessSize::Word, MemTxAttrs::UNSPECIFIED);
            (a, v, r.is_ok())
        })
        .collect()
}

struct World {
    board: &'static Virt32<'static>,
    fresh: Vec<(u64, u64, bool)>,
    devices: Vec<(u64, u64)>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let parts: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
        let ram = RamBlock::new(Box::leak(vec![0u8; 1 << 20].into_boxed_slice()));
        let board: &'static Virt32<'static> =
            Box::leak(Box::new(Virt32::build(parts, ram, 1).expect("board")));
        let fresh = probe(board);
        World {
            board,
            fresh,
            devices: devices(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let space = w.board.space();
    let attrs = MemTxAttrs::UNSPECIFIED;
    for op in data.chunks_exact(8) {
        let (base, size) = w.devices[op[0] as usize % w.devices.len()];
        let access = [
            AccessSize::Byte,
            AccessSize::Half,
            AccessSize::Word,
            AccessSize::Double,
        ][(op[1] & 3) as usize];
        let write = op[1] & 4 != 0;
        // Mostly inside the window, sometimes just past its end.
        let raw = u16::from_le_bytes([op[2], op[3]]) as u64;
        let off = if op[1] & 8 != 0 {
            raw % size
        } else {
            (raw << 4) % size.max(1) + (raw & 0xf)
        };
        let addr = GuestAddress(base + off);
        let value = u32::from_le_bytes([op[4], op[5], op[6], op[7]]) as u64
            | if op[1] & 16 != 0 {
                0xffff_ffff_0000_0000
            } else {
                0
            };
        if write {
            let _ = space.write(addr, access, value, attrs);
        } else {
            let (v, r) = space.read(addr, access, attrs);
            if r.is_ok() && access != AccessSize::Double {
                let bits = 8 * access as u32;
                assert_eq!(v >> bits, 0, "{access:?} read at {:#x} gave {v:#x}", addr.0);
            }
        }
        // Let the DMA engine move what the input started (bounded).
        let _ = w.board.dma_poll(1);
    }
    w.board.reset();
    let now = probe(w.board);
    for (fresh, now) in w.fresh.iter().zip(&now) {
        assert_eq!(
            fresh, now,
            "after reset, register {:#x} differs from a fresh board",
            fresh.0
        );
    }
});
