//! ROM, ROM devices (ROMD mode), read-only RAM and containers, and `find` (the section at
//! an address, through aliases, with its read-only flag), one test per documented
//! behaviour.
#![allow(clippy::unwrap_used)]

use fief_core::memory::{
    AccessRules, AccessSize, Error, GuestAddress, MemTxAttrs, MemTxResult, Priority, RegionKind,
    RegionOffset,
};
use fief_tests::plain::{read, write, PLAIN};
use fief_tests::{leak, ram, setup, size, Call, RecordingDevice};

#[test]
fn rom_refuses_writes_but_takes_debug_writes() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let rom = g.create_rom(owner, "rom", ram(0x1000, 0x5A)).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), rom, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Word, 0x1234_5678),
        MemTxResult::DECODE_ERROR
    );
    let reader = mem.space(space).unwrap();
    assert_eq!(
        reader.write_buf(GuestAddress(0x1000), &[1, 2, 3], PLAIN),
        MemTxResult::DECODE_ERROR
    );
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Word),
        (0x5A5A_5A5A, MemTxResult::OK)
    );
    assert_eq!(
        reader.write(
            GuestAddress(0x1000),
            AccessSize::Word,
            0x1234_5678,
            MemTxAttrs::DEBUG
        ),
        MemTxResult::OK
    );
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Word),
        (0x1234_5678, MemTxResult::OK)
    );
    assert_eq!(
        reader.write_buf(GuestAddress(0x1004), &[1, 2], MemTxAttrs::DEBUG),
        MemTxResult::OK
    );
    assert_eq!(
        read(&mem, space, 0x1004, AccessSize::Half),
        (0x0201, MemTxResult::OK)
    );
}

#[test]
fn rom_device_reads_memory_in_romd_mode_and_callbacks_otherwise() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(0x80, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let flash = g
        .create_rom_device(owner, "flash", ram(0x1000, 0xAB), dev)
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), flash, Priority(0))
        .unwrap();
    drop(g);
    let section = mem.space(space).unwrap().section().unwrap();
    assert_eq!(section.view().ranges()[0].kind(), RegionKind::RomDevice);
    drop(section);
    // ROMD mode (the initial mode): reads straight from the block.
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Word),
        (0xABAB_ABAB, MemTxResult::OK)
    );
    assert!(dev.calls().is_empty());
    // Writes go to the callbacks, and do not touch the block.
    assert_eq!(
        write(&mem, space, 0x1004, AccessSize::Word, 0x1122_3344),
        MemTxResult::OK
    );
    assert_eq!(
        dev.calls(),
        vec![Call {
            write: true,
            offset: 4,
            size: 4,
            value: 0x1122_3344
        }]
    );
    assert_eq!(
        read(&mem, space, 0x1004, AccessSize::Word),
        (0xABAB_ABAB, MemTxResult::OK)
    );
    assert_eq!(dev.calls().len(), 1);
    // Out of ROMD mode: reads go to the callbacks too.
    mem.lock().set_romd(flash, false).unwrap();
    let section = mem.space(space).unwrap().section().unwrap();
    assert_eq!(section.view().ranges()[0].kind(), RegionKind::Mmio);
    assert_eq!(section.view().ranges()[0].region(), flash);
    drop(section);
    assert_eq!(
        read(&mem, space, 0x1004, AccessSize::Word),
        (0x1122_3344, MemTxResult::OK)
    );
    assert_eq!(
        dev.calls()[1],
        Call {
            write: false,
            offset: 4,
            size: 4,
            value: 0x1122_3344
        }
    );
    // Back in ROMD mode: memory again.
    mem.lock().set_romd(flash, true).unwrap();
    assert_eq!(
        read(&mem, space, 0x1004, AccessSize::Word),
        (0xABAB_ABAB, MemTxResult::OK)
    );
    assert_eq!(dev.calls().len(), 2);
}

#[test]
fn set_romd_on_anything_but_a_rom_device_is_refused() {
    let (mem, owner, _root, _space) = setup();
    let mut g = mem.lock();
    let r = g.create_ram(owner, "ram", ram(0x1000, 0)).unwrap();
    assert_eq!(g.set_romd(r, false), Err(Error::NotARomDevice));
}

#[test]
fn find_returns_the_lowest_mapped_section_clipped_to_one_range() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(0, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let a = g.create_ram(owner, "a", ram(0x1000, 0)).unwrap();
    let m = g.create_mmio(owner, "m", size(0x1000), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), a, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x2000), m, Priority(0))
        .unwrap();
    drop(g);
    let reader = mem.space(space).unwrap();
    let s = reader.find(GuestAddress(0), 0x4000).unwrap();
    assert_eq!(
        (s.region, s.offset_in_region, s.address, s.size, s.readonly),
        (a, RegionOffset(0), GuestAddress(0x1000), 0x1000, false)
    );
    let s = reader.find(GuestAddress(0x1800), 0x1000).unwrap();
    assert_eq!(
        (s.region, s.offset_in_region, s.address, s.size),
        (a, RegionOffset(0x800), GuestAddress(0x1800), 0x800)
    );
    let s = reader.find(GuestAddress(0x2010), 4).unwrap();
    assert_eq!(
        (s.region, s.offset_in_region, s.address, s.size),
        (m, RegionOffset(0x10), GuestAddress(0x2010), 4)
    );
}

#[test]
fn find_over_a_hole_is_none() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let a = g.create_ram(owner, "a", ram(0x1000, 0)).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), a, Priority(0))
        .unwrap();
    drop(g);
    let reader = mem.space(space).unwrap();
    assert_eq!(reader.find(GuestAddress(0), 0x1000), None);
    assert_eq!(reader.find(GuestAddress(0x2000), 0x1000), None);
    assert_eq!(reader.find(GuestAddress(0x1000), 0), None);
    assert!(reader.find(GuestAddress(0), 0x1001).is_some());
}

#[test]
fn find_through_an_alias_reports_the_target_and_its_offset() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let target = g.create_ram(owner, "target", ram(0x1000, 0)).unwrap();
    let alias = g
        .create_alias(owner, "alias", size(0x100), target, RegionOffset(0x300))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x5000), alias, Priority(0))
        .unwrap();
    drop(g);
    let s = mem
        .space(space)
        .unwrap()
        .find(GuestAddress(0x5010), 0x1000)
        .unwrap();
    assert_eq!(
        (s.region, s.offset_in_region, s.address, s.size),
        (target, RegionOffset(0x310), GuestAddress(0x5010), 0xf0)
    );
}

#[test]
fn find_reports_readonly_for_rom_and_readonly_ram() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let rom = g.create_rom(owner, "rom", ram(0x1000, 0)).unwrap();
    let rw = g.create_ram(owner, "rw", ram(0x1000, 0)).unwrap();
    let ro = g.create_ram(owner, "ro", ram(0x1000, 0)).unwrap();
    g.begin();
    g.add_subregion(root, RegionOffset(0), rom, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), rw, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x2000), ro, Priority(0))
        .unwrap();
    g.set_readonly(ro, true).unwrap();
    g.commit().unwrap();
    drop(g);
    let reader = mem.space(space).unwrap();
    assert!(reader.find(GuestAddress(0), 1).unwrap().readonly);
    assert!(!reader.find(GuestAddress(0x1000), 1).unwrap().readonly);
    assert!(reader.find(GuestAddress(0x2000), 1).unwrap().readonly);
    let section = reader.section().unwrap();
    let flags: Vec<_> = section
        .view()
        .ranges()
        .iter()
        .map(|r| (r.readonly(), r.kind()))
        .collect();
    assert_eq!(
        flags,
        vec![
            (true, RegionKind::Rom),
            (false, RegionKind::Ram),
            (true, RegionKind::Ram),
        ]
    );
}

#[test]
fn readonly_ram_refuses_writes() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let r = g.create_ram(owner, "ram", ram(0x1000, 0x77)).unwrap();
    g.add_subregion(root, RegionOffset(0), r, Priority(0))
        .unwrap();
    g.set_readonly(r, true).unwrap();
    drop(g);
    assert_eq!(
        write(&mem, space, 0x10, AccessSize::Word, 0),
        MemTxResult::DECODE_ERROR
    );
    assert_eq!(
        mem.space(space)
            .unwrap()
            .write_buf(GuestAddress(0x10), &[0; 8], PLAIN),
        MemTxResult::DECODE_ERROR
    );
    assert_eq!(
        read(&mem, space, 0x10, AccessSize::Double),
        (0x7777_7777_7777_7777, MemTxResult::OK)
    );
    mem.lock().set_readonly(r, false).unwrap();
    assert_eq!(
        write(&mem, space, 0x10, AccessSize::Word, 0),
        MemTxResult::OK
    );
    assert_eq!(
        read(&mem, space, 0x10, AccessSize::Word),
        (0, MemTxResult::OK)
    );
}

#[test]
fn readonly_container_makes_its_subtree_refuse_writes() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let c = g.create_container(owner, "c", size(0x2000), None).unwrap();
    let r = g.create_ram(owner, "ram", ram(0x1000, 0x77)).unwrap();
    g.begin();
    g.add_subregion(c, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), c, Priority(0))
        .unwrap();
    g.set_readonly(c, true).unwrap();
    g.commit().unwrap();
    drop(g);
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Byte, 0),
        MemTxResult::DECODE_ERROR
    );
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Byte),
        (0x77, MemTxResult::OK)
    );
}
