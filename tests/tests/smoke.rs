//! QEMU's documented rendering example, end to end through the public API.
#![allow(clippy::unwrap_used)]

use fief_core::memory::{
    AccessRules, GuestAddress, MemTxAttrs, Priority, RegionOffset, RegionSize,
};
use fief_tests::{leak, memory, ram, size, RecordingDevice};

#[test]
fn qemu_documented_example_renders_c_d_c_e_c() {
    let mem = memory();
    let c_dev = leak(RecordingDevice::new(0xC0, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let root = g.root_owner().unwrap();
    let a = g.create_container(root, "A", size(0x8000), None).unwrap();
    let b = g.create_container(root, "B", size(0x4000), None).unwrap();
    let c = g.create_mmio(root, "C", size(0x6000), c_dev).unwrap();
    let d = g.create_ram(root, "D", ram(0x1000, 0xDD)).unwrap();
    let e = g.create_ram(root, "E", ram(0x1000, 0xEE)).unwrap();
    g.begin();
    g.add_subregion(a, RegionOffset(0), c, Priority(1)).unwrap();
    g.add_subregion(a, RegionOffset(0x2000), b, Priority(2))
        .unwrap();
    g.add_subregion(b, RegionOffset(0), d, Priority(0)).unwrap();
    g.add_subregion(b, RegionOffset(0x2000), e, Priority(0))
        .unwrap();
    let space = g.create_address_space(a, "A").unwrap();
    g.commit().unwrap();
    drop(g);
    let space = mem.space(space).unwrap();
    let section = space.section().unwrap();
    let ranges: Vec<_> = section
        .view()
        .ranges()
        .iter()
        .map(|r| (r.start().0, r.last().0, r.region(), r.offset_in_region().0))
        .collect();
    assert_eq!(
        ranges,
        vec![
            (0x0000, 0x1fff, c, 0x0000),
            (0x2000, 0x2fff, d, 0x0000),
            (0x3000, 0x3fff, c, 0x3000),
            (0x4000, 0x4fff, e, 0x0000),
            (0x5000, 0x5fff, c, 0x5000),
        ]
    );
    let (v, r) = section.read(
        GuestAddress(0x2004),
        fief_core::memory::AccessSize::Word,
        MemTxAttrs::UNSPECIFIED,
    );
    assert!(r.is_ok());
    assert_eq!(v, 0xDDDD_DDDD);
    let (v, r) = section.read(
        GuestAddress(0x7000),
        fief_core::memory::AccessSize::Word,
        MemTxAttrs::UNSPECIFIED,
    );
    assert_eq!((v, r), (0, fief_core::memory::MemTxResult::DECODE_ERROR));
    let _ = RegionSize::FULL;
}
