//! The DMA engine notices that the memory it was writing was unplugged and replaced by other
//! memory at the same guest address between two chunks, and stops with `Revoked` instead of
//! writing on into the newcomer (rule L8 of `docs/design.md`; the seed scenario's "never writes
//! into memory that another region got afterwards").
#![allow(clippy::unwrap_used)]

use fief_boards::dma::{DmaEngine, LeaseBus};
use fief_core::memory::{
    GuestAddress, LeaseTable, MemTxAttrs, Memory, Priority, RamBlock, RegionOffset, RegionSize,
};

type Mem = Memory<'static, 32, 8, 1, 64>;

fn block(len: usize, fill: u8) -> RamBlock<'static> {
    RamBlock::new(Box::leak(vec![fill; len].into_boxed_slice()))
}

#[test]
fn transfer_stops_when_its_destination_is_replaced_mid_way() {
    let mem: &'static Mem = Box::leak(Box::new(Mem::new()));
    let leases: &'static LeaseTable<8, 2, 64> = Box::leak(Box::new(LeaseTable::new()));
    let engine: &'static DmaEngine<'static, 4> =
        Box::leak(Box::new(DmaEngine::with_config(0x100, 0x100)));
    let mut g = mem.lock();
    let machine = g.root_owner().unwrap();
    let root = g
        .create_container(machine, "system", RegionSize::FULL, None)
        .unwrap();
    let src = g.create_ram(machine, "src", block(0x1000, 0)).unwrap();
    let so = g.create_owner(machine, "SO").unwrap();
    let s_block = block(0x1000, 0);
    let s_ptr = s_block.as_ptr();
    let s = g.create_ram(so, "S", s_block).unwrap();
    g.add_subregion(root, RegionOffset(0), src, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x10000), s, Priority(0))
        .unwrap();
    let space = g.create_address_space(root, "system").unwrap();
    drop(g);
    let bus_space = mem.space(space).unwrap();
    let pattern: Vec<u8> = (0..0x800u32).map(|i| (i * 13 + 5) as u8).collect();
    assert!(bus_space
        .write_buf(GuestAddress(0x100), &pattern, MemTxAttrs::DEBUG)
        .is_ok());
    // One descriptor at 0xf00: 0x800 bytes from 0x100 to 0x10000, LAST.
    let mut desc = [0u8; 32];
    desc[0..8].copy_from_slice(&0x100u64.to_le_bytes());
    desc[8..16].copy_from_slice(&0x10000u64.to_le_bytes());
    desc[24..28].copy_from_slice(&0x800u32.to_le_bytes());
    desc[28..32].copy_from_slice(&2u32.to_le_bytes());
    assert!(bus_space
        .write_buf(GuestAddress(0xf00), &desc, MemTxAttrs::DEBUG)
        .is_ok());

    let bus = LeaseBus {
        memory: mem,
        space,
        leases,
    };
    engine.start(0, 0xf00);
    // Descriptor fetch + two 0x100-byte chunks.
    engine.step(&bus, 0, 3);
    assert_eq!(engine.bytes(0), 0x200);
    assert_eq!(engine.status(0) & 0xf, 1, "still busy");

    // SO is unplugged and new memory is mapped at the same address.
    let mut g = mem.lock();
    g.destroy_owner(so).unwrap();
    assert!(g.unplug_complete(so), "no lease outstanding between chunks");
    let fresh = g.create_ram(machine, "fresh", block(0x1000, 0xEE)).unwrap();
    g.add_subregion(root, RegionOffset(0x10000), fresh, Priority(0))
        .unwrap();
    let old = g.take_released_ram().unwrap();
    drop(g);

    engine.step(&bus, 0, 100);
    let status = engine.status(0);
    assert_eq!(status & 0xf, 3, "error state, status {status:#x}");
    assert_eq!(
        (status >> 8) & 0xff,
        3,
        "error code Revoked, status {status:#x}"
    );
    assert_eq!(engine.bytes(0), 0x200, "nothing moved after the unplug");
    let mut now = vec![0u8; 0x1000];
    assert!(bus_space
        .read_buf(GuestAddress(0x10000), &mut now, MemTxAttrs::UNSPECIFIED)
        .is_ok());
    assert!(
        now.iter().all(|&b| b == 0xEE),
        "the newcomer got no byte of the old transfer"
    );
    assert_eq!(old.as_ptr(), s_ptr);
    let old = old.into_slice();
    assert_eq!(
        &old[..0x200],
        &pattern[..0x200],
        "the chunks before the unplug landed in S"
    );
    assert!(old[0x200..].iter().all(|&b| b == 0));
    assert_eq!(leases.active(), 0);
}
