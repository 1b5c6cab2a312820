//! Rendering and access semantics of the memory API, one test per documented behaviour:
//! priorities, aliases, disabled regions, transactions, merging, bus errors, MMIO access
//! rules, ROM and ROM devices, `find`, read-only regions and cycle checks.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use fief_core::memory::{
    AccessRules, AccessSize, Endianness, Error, GuestAddress, MemTxAttrs, MemTxResult, MmioOps,
    Priority, RamBlock, RegionKind, RegionOffset, SizeRule, SpaceId,
};
use fief_tests::{leak, memory, ram, ranges, setup, size, Call, RecordingDevice, TestMemory};

const PLAIN: MemTxAttrs = MemTxAttrs::UNSPECIFIED;

fn read(mem: &TestMemory, space: SpaceId, addr: u64, size: AccessSize) -> (u64, MemTxResult) {
    mem.space(space)
        .unwrap()
        .read(GuestAddress(addr), size, PLAIN)
}

fn write(mem: &TestMemory, space: SpaceId, addr: u64, size: AccessSize, value: u64) -> MemTxResult {
    mem.space(space)
        .unwrap()
        .write(GuestAddress(addr), size, value, PLAIN)
}

/// A RAM block whose byte `i` is `i as u8 ^ tag`.
fn ram_seq(len: usize, tag: u8) -> RamBlock<'static> {
    let bytes: Vec<u8> = (0..len).map(|i| i as u8 ^ tag).collect();
    RamBlock::new(Box::leak(bytes.into_boxed_slice()))
}

fn rules(valid: SizeRule, implemented: SizeRule, endianness: Endianness) -> AccessRules {
    AccessRules {
        valid,
        implemented,
        endianness,
    }
}

#[test]
fn qemu_example_with_container_ops_serves_its_holes() {
    let mem = memory();
    let b_dev = leak(RecordingDevice::new(0xB0, AccessRules::DEFAULT));
    let c_dev = leak(RecordingDevice::new(0xC0, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let root = g.root_owner().unwrap();
    let a = g.create_container(root, "A", size(0x8000), None).unwrap();
    let b = g
        .create_container(root, "B", size(0x4000), Some(b_dev))
        .unwrap();
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
    assert_eq!(
        ranges(&mem, space),
        vec![
            (0x0000, 0x1fff, c, 0x0000),
            (0x2000, 0x2fff, d, 0x0000),
            (0x3000, 0x3fff, b, 0x1000),
            (0x4000, 0x4fff, e, 0x0000),
            (0x5000, 0x5fff, b, 0x3000),
        ]
    );
    // The holes reach B's callbacks at B's offsets; C is not called.
    let (v, r) = read(&mem, space, 0x3004, AccessSize::Byte);
    assert_eq!((v, r), (u64::from(0xB0 ^ 0x04u8), MemTxResult::OK));
    let (v, r) = read(&mem, space, 0x5008, AccessSize::Byte);
    assert_eq!((v, r), (u64::from(0xB0 ^ 0x08u8), MemTxResult::OK));
    assert_eq!(
        b_dev.calls(),
        vec![
            Call {
                write: false,
                offset: 0x1004,
                size: 1,
                value: u64::from(0xB0 ^ 0x04u8)
            },
            Call {
                write: false,
                offset: 0x3008,
                size: 1,
                value: u64::from(0xB0 ^ 0x08u8)
            },
        ]
    );
    assert!(c_dev.calls().is_empty());
    let (v, r) = read(&mem, space, 0x7000, AccessSize::Word);
    assert_eq!((v, r), (0, MemTxResult::DECODE_ERROR));
}

#[test]
fn equal_priority_last_added_wins() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let first = g.create_ram(owner, "first", ram(0x1000, 0x11)).unwrap();
    let second = g.create_ram(owner, "second", ram(0x1000, 0x22)).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), first, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), second, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(ranges(&mem, space), vec![(0x1000, 0x1fff, second, 0)]);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Byte),
        (0x22, MemTxResult::OK)
    );
}

#[test]
fn equal_priority_moved_region_wins_after_set_address() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let first = g.create_ram(owner, "first", ram(0x1000, 0x11)).unwrap();
    let second = g.create_ram(owner, "second", ram(0x1000, 0x22)).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), first, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1800), second, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![(0x1000, 0x17ff, first, 0), (0x1800, 0x27ff, second, 0)]
    );
    // Moving `first` (to the same place) makes it the most recent: it now wins the overlap.
    mem.lock().set_address(first, RegionOffset(0x1000)).unwrap();
    assert_eq!(
        ranges(&mem, space),
        vec![(0x1000, 0x1fff, first, 0), (0x2000, 0x27ff, second, 0x800)]
    );
    // And moving it onto `second` entirely hides `second`.
    mem.lock().set_address(first, RegionOffset(0x1800)).unwrap();
    assert_eq!(ranges(&mem, space), vec![(0x1800, 0x27ff, first, 0)]);
    assert_eq!(
        read(&mem, space, 0x2000, AccessSize::Byte),
        (0x11, MemTxResult::OK)
    );
}

#[test]
fn priority_is_local_to_its_container() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let low = g
        .create_container(owner, "low", size(0x2000), None)
        .unwrap();
    let inner = g.create_ram(owner, "inner", ram(0x2000, 0x11)).unwrap();
    let sibling = g.create_ram(owner, "sibling", ram(0x1000, 0x22)).unwrap();
    g.begin();
    g.add_subregion(low, RegionOffset(0), inner, Priority(100))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), low, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), sibling, Priority(1))
        .unwrap();
    g.commit().unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![(0, 0xfff, inner, 0), (0x1000, 0x1fff, sibling, 0)]
    );
}

#[test]
fn alias_shows_target_window_whatever_the_target_address() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let target = g.create_ram(owner, "target", ram_seq(0x4000, 0)).unwrap();
    let alias = g
        .create_alias(owner, "alias", size(0x2000), target, RegionOffset(0x1000))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x8000), alias, Priority(0))
        .unwrap();
    drop(g);
    // The target is not mapped anywhere: the alias still shows it.
    assert_eq!(ranges(&mem, space), vec![(0x8000, 0x9fff, target, 0x1000)]);
    // Map the target at some other address: the alias window does not move.
    mem.lock()
        .add_subregion(root, RegionOffset(0x20000), target, Priority(0))
        .unwrap();
    assert_eq!(
        ranges(&mem, space),
        vec![
            (0x8000, 0x9fff, target, 0x1000),
            (0x20000, 0x23fff, target, 0),
        ]
    );
    // Byte i of the target is i as u8: the alias's byte 0x10 is the target's 0x1010.
    assert_eq!(
        read(&mem, space, 0x8010, AccessSize::Byte),
        (0x10, MemTxResult::OK)
    );
    // Writes through the alias land in the target.
    assert_eq!(
        write(&mem, space, 0x8020, AccessSize::Byte, 0xAB),
        MemTxResult::OK
    );
    assert_eq!(
        read(&mem, space, 0x21020, AccessSize::Byte),
        (0xAB, MemTxResult::OK)
    );
}

#[test]
fn alias_of_disabled_target_renders_nothing() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let lower = g.create_ram(owner, "lower", ram(0x2000, 0x11)).unwrap();
    let target = g.create_ram(owner, "target", ram(0x2000, 0x22)).unwrap();
    let alias = g
        .create_alias(owner, "alias", size(0x1000), target, RegionOffset(0))
        .unwrap();
    g.begin();
    g.add_subregion(root, RegionOffset(0), lower, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), alias, Priority(1))
        .unwrap();
    g.commit().unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![(0, 0xfff, lower, 0), (0x1000, 0x1fff, target, 0)]
    );
    mem.lock().set_enabled(target, false).unwrap();
    assert_eq!(ranges(&mem, space), vec![(0, 0x1fff, lower, 0)]);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Byte),
        (0x11, MemTxResult::OK)
    );
}

#[test]
fn high_priority_alias_of_sparse_container_lets_ram_show_through() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let sysram = g.create_ram(owner, "ram", ram(0x4000, 0x11)).unwrap();
    let sparse = g
        .create_container(owner, "sparse", size(0x4000), None)
        .unwrap();
    let dev = g.create_ram(owner, "dev", ram(0x1000, 0x22)).unwrap();
    let alias = g
        .create_alias(owner, "window", size(0x4000), sparse, RegionOffset(0))
        .unwrap();
    g.begin();
    g.add_subregion(sparse, RegionOffset(0x1000), dev, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), sysram, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), alias, Priority(10))
        .unwrap();
    g.commit().unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![
            (0, 0xfff, sysram, 0),
            (0x1000, 0x1fff, dev, 0),
            (0x2000, 0x3fff, sysram, 0x2000),
        ]
    );
    mem.lock().remove_subregion(root, alias).unwrap();
    assert_eq!(ranges(&mem, space), vec![(0, 0x3fff, sysram, 0)]);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Byte),
        (0x11, MemTxResult::OK)
    );
}

#[test]
fn disabled_container_hides_its_subtree_and_lower_siblings_show() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let lower = g.create_ram(owner, "lower", ram(0x4000, 0x11)).unwrap();
    let outer = g
        .create_container(owner, "outer", size(0x4000), None)
        .unwrap();
    let inner = g
        .create_container(owner, "inner", size(0x2000), None)
        .unwrap();
    let a = g.create_ram(owner, "a", ram(0x1000, 0x22)).unwrap();
    let b = g.create_ram(owner, "b", ram(0x1000, 0x33)).unwrap();
    g.begin();
    g.add_subregion(inner, RegionOffset(0), b, Priority(0))
        .unwrap();
    g.add_subregion(outer, RegionOffset(0), a, Priority(0))
        .unwrap();
    g.add_subregion(outer, RegionOffset(0x2000), inner, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), lower, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), outer, Priority(1))
        .unwrap();
    g.commit().unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![
            (0, 0xfff, a, 0),
            (0x1000, 0x1fff, lower, 0x1000),
            (0x2000, 0x2fff, b, 0),
            (0x3000, 0x3fff, lower, 0x3000),
        ]
    );
    mem.lock().set_enabled(outer, false).unwrap();
    assert_eq!(ranges(&mem, space), vec![(0, 0x3fff, lower, 0)]);
    // Re-enabling brings the whole subtree back.
    mem.lock().set_enabled(outer, true).unwrap();
    assert_eq!(ranges(&mem, space).len(), 4);
}

#[test]
fn nested_transactions_publish_once_at_the_outer_commit() {
    let (mem, owner, root, space) = setup();
    let reader = mem.space(space).unwrap();
    let before = reader.generation();
    let mut g = mem.lock();
    let a = g.create_ram(owner, "a", ram(0x1000, 0x11)).unwrap();
    let b = g.create_ram(owner, "b", ram(0x1000, 0x22)).unwrap();
    g.begin();
    g.begin();
    g.add_subregion(root, RegionOffset(0), a, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), b, Priority(0))
        .unwrap();
    g.set_address(b, RegionOffset(0x2000)).unwrap();
    g.commit().unwrap();
    assert_eq!(g.depth(), 1);
    // Inner commit: nothing published.
    assert_eq!(reader.generation(), before);
    assert_eq!(
        reader.read(GuestAddress(0), AccessSize::Byte, PLAIN),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert!(ranges(&mem, space).is_empty());
    g.commit().unwrap();
    assert_eq!(g.depth(), 0);
    drop(g);
    assert_eq!(reader.generation(), before + 1);
    assert_eq!(
        ranges(&mem, space),
        vec![(0, 0xfff, a, 0), (0x2000, 0x2fff, b, 0)]
    );
    assert_eq!(mem.lock().commit(), Err(Error::NoTransaction));
}

#[test]
fn adjacent_ranges_of_one_region_with_contiguous_offsets_merge() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(0, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let sysram = g.create_ram(owner, "ram", ram(0x3000, 0x11)).unwrap();
    let hole = g.create_mmio(owner, "dev", size(0x1000), dev).unwrap();
    g.add_subregion(root, RegionOffset(0), sysram, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), hole, Priority(1))
        .unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![
            (0, 0xfff, sysram, 0),
            (0x1000, 0x1fff, hole, 0),
            (0x2000, 0x2fff, sysram, 0x2000),
        ]
    );
    mem.lock().set_enabled(hole, false).unwrap();
    assert_eq!(ranges(&mem, space), vec![(0, 0x2fff, sysram, 0)]);
}

#[test]
fn adjacent_ranges_with_discontiguous_offsets_do_not_merge() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let target = g.create_ram(owner, "target", ram(0x4000, 0x11)).unwrap();
    let a1 = g
        .create_alias(owner, "a1", size(0x1000), target, RegionOffset(0))
        .unwrap();
    let a2 = g
        .create_alias(owner, "a2", size(0x1000), target, RegionOffset(0x2000))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), a1, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), a2, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        ranges(&mem, space),
        vec![(0, 0xfff, target, 0), (0x1000, 0x1fff, target, 0x2000)]
    );
}

#[test]
fn unassigned_read_is_decode_error_reading_zero() {
    let (mem, _owner, _root, space) = setup();
    assert_eq!(
        read(&mem, space, 0x1234_0000, AccessSize::Double),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert_eq!(
        write(&mem, space, 0x1234_0000, AccessSize::Word, 1),
        MemTxResult::DECODE_ERROR
    );
}

#[test]
fn buffer_read_across_a_hole_zero_fills_it_and_reports_decode_error() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let a = g.create_ram(owner, "a", ram(0x1000, 0xAA)).unwrap();
    let b = g.create_ram(owner, "b", ram(0x1000, 0xBB)).unwrap();
    g.add_subregion(root, RegionOffset(0), a, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x2000), b, Priority(0))
        .unwrap();
    drop(g);
    let mut buf = [0x55u8; 0x1008];
    let r = mem
        .space(space)
        .unwrap()
        .read_buf(GuestAddress(0xffc), &mut buf, PLAIN);
    assert_eq!(r, MemTxResult::DECODE_ERROR);
    assert!(buf[..4].iter().all(|&x| x == 0xAA));
    assert!(buf[4..0x1004].iter().all(|&x| x == 0));
    assert!(buf[0x1004..].iter().all(|&x| x == 0xBB));
    // A scalar read straddling the edge of RAM does the same.
    assert_eq!(
        read(&mem, space, 0xffe, AccessSize::Word),
        (0xAAAA, MemTxResult::DECODE_ERROR)
    );
}

#[test]
fn access_larger_than_valid_max_is_decode_error_without_callback() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(0x40, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "dev", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Double),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Double, u64::MAX),
        MemTxResult::DECODE_ERROR
    );
    assert!(dev.calls().is_empty());
    assert_eq!(dev.bytes.lock().unwrap()[0], 0x40);
}

#[test]
fn access_smaller_than_valid_min_is_decode_error_without_callback() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(
        0x40,
        rules(
            SizeRule::aligned(4, 4),
            SizeRule::aligned(4, 4),
            Endianness::Little,
        ),
    ));
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "dev", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Byte),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert!(dev.calls().is_empty());
}

#[test]
fn misaligned_access_is_decode_error_without_callback() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(0x40, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "dev", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        read(&mem, space, 0x1002, AccessSize::Word),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert_eq!(
        read(&mem, space, 0x1001, AccessSize::Half),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert_eq!(
        write(&mem, space, 0x1002, AccessSize::Word, 0),
        MemTxResult::DECODE_ERROR
    );
    assert!(dev.calls().is_empty());
    // The aligned access goes through.
    assert_eq!(
        read(&mem, space, 0x1004, AccessSize::Word),
        (0x4746_4544, MemTxResult::OK)
    );
    assert_eq!(dev.calls().len(), 1);
}

/// Refuses writes, and any access at or past offset 0x10; counts its callbacks.
struct Picky {
    callbacks: AtomicUsize,
}

impl MmioOps for Picky {
    fn read(
        &self,
        _offset: RegionOffset,
        _size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        self.callbacks.fetch_add(1, Ordering::SeqCst);
        (0x1234, MemTxResult::OK)
    }

    fn write(
        &self,
        _offset: RegionOffset,
        _value: u64,
        _size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> MemTxResult {
        self.callbacks.fetch_add(1, Ordering::SeqCst);
        MemTxResult::OK
    }

    fn accepts(
        &self,
        offset: RegionOffset,
        _size: AccessSize,
        is_write: bool,
        _attrs: MemTxAttrs,
    ) -> bool {
        !is_write && offset.0 < 0x10
    }
}

#[test]
fn accepts_refusal_is_decode_error_without_callback() {
    let (mem, owner, root, space) = setup();
    let dev = leak(Picky {
        callbacks: AtomicUsize::new(0),
    });
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "picky", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Half),
        (0x1234, MemTxResult::OK)
    );
    assert_eq!(dev.callbacks.load(Ordering::SeqCst), 1);
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Half, 1),
        MemTxResult::DECODE_ERROR
    );
    assert_eq!(
        read(&mem, space, 0x1010, AccessSize::Half),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert_eq!(dev.callbacks.load(Ordering::SeqCst), 1);
}

#[test]
fn implemented_max_one_splits_accesses_into_byte_callbacks_little_endian() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(
        0x40,
        rules(
            SizeRule::aligned(1, 4),
            SizeRule::aligned(1, 1),
            Endianness::Little,
        ),
    ));
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "dev", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Word),
        (0x4342_4140, MemTxResult::OK)
    );
    let reads: Vec<_> = (0..4u64)
        .map(|i| Call {
            write: false,
            offset: i,
            size: 1,
            value: 0x40 ^ i,
        })
        .collect();
    assert_eq!(dev.calls(), reads);
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Word, 0xDDCC_BBAA),
        MemTxResult::OK
    );
    let writes: Vec<_> = [0xAAu64, 0xBB, 0xCC, 0xDD]
        .iter()
        .enumerate()
        .map(|(i, &value)| Call {
            write: true,
            offset: i as u64,
            size: 1,
            value,
        })
        .collect();
    assert_eq!(dev.calls()[4..], writes[..]);
    assert_eq!(dev.bytes.lock().unwrap()[..4], [0xAA, 0xBB, 0xCC, 0xDD]);
}

#[test]
fn big_endian_device_bytes_appear_in_address_order_on_the_bus() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(
        0,
        rules(SizeRule::DEFAULT, SizeRule::DEFAULT, Endianness::Big),
    ));
    dev.bytes.lock().unwrap()[..4].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "be", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    // The device's 2-byte register value is 0x1122 (big-endian); the little-endian bus sees
    // byte 0 (0x11) at the lower address.
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Half),
        (0x2211, MemTxResult::OK)
    );
    assert_eq!(
        dev.calls(),
        vec![Call {
            write: false,
            offset: 0,
            size: 2,
            value: 0x1122
        }]
    );
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Word),
        (0x4433_2211, MemTxResult::OK)
    );
    // A write puts the bus's low byte at the lowest address of the device.
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Half, 0xBBAA),
        MemTxResult::OK
    );
    assert_eq!(dev.calls()[2].value, 0xAABB);
    assert_eq!(dev.bytes.lock().unwrap()[..2], [0xAA, 0xBB]);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Half),
        (0xBBAA, MemTxResult::OK)
    );
}

#[test]
fn big_endian_device_split_into_byte_callbacks_assembles_bus_value() {
    let (mem, owner, root, space) = setup();
    let dev = leak(RecordingDevice::new(
        0,
        rules(
            SizeRule::aligned(1, 4),
            SizeRule::aligned(1, 1),
            Endianness::Big,
        ),
    ));
    dev.bytes.lock().unwrap()[..4].copy_from_slice(&[0x11, 0x22, 0x33, 0x44]);
    let mut g = mem.lock();
    let r = g.create_mmio(owner, "be", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), r, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(
        read(&mem, space, 0x1000, AccessSize::Word),
        (0x4433_2211, MemTxResult::OK)
    );
    let offsets: Vec<_> = dev.calls().iter().map(|c| (c.offset, c.value)).collect();
    assert_eq!(offsets, vec![(0, 0x11), (1, 0x22), (2, 0x33), (3, 0x44)]);
    assert_eq!(
        write(&mem, space, 0x1000, AccessSize::Word, 0xDDCC_BBAA),
        MemTxResult::OK
    );
    let writes: Vec<_> = dev.calls()[4..]
        .iter()
        .map(|c| (c.write, c.offset, c.value))
        .collect();
    assert_eq!(
        writes,
        vec![
            (true, 0, 0xAA),
            (true, 1, 0xBB),
            (true, 2, 0xCC),
            (true, 3, 0xDD)
        ]
    );
}

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

#[test]
fn adding_a_container_into_itself_or_a_descendant_would_cycle() {
    let (mem, owner, root, _space) = setup();
    let mut g = mem.lock();
    let outer = g
        .create_container(owner, "outer", size(0x4000), None)
        .unwrap();
    let middle = g
        .create_container(owner, "middle", size(0x2000), None)
        .unwrap();
    let inner = g
        .create_container(owner, "inner", size(0x1000), None)
        .unwrap();
    g.add_subregion(outer, RegionOffset(0), middle, Priority(0))
        .unwrap();
    g.add_subregion(middle, RegionOffset(0), inner, Priority(0))
        .unwrap();
    assert_eq!(
        g.add_subregion(outer, RegionOffset(0), outer, Priority(0)),
        Err(Error::WouldCycle)
    );
    assert_eq!(
        g.add_subregion(inner, RegionOffset(0), outer, Priority(0)),
        Err(Error::WouldCycle)
    );
    assert_eq!(
        g.add_subregion(middle, RegionOffset(0), outer, Priority(0)),
        Err(Error::WouldCycle)
    );
    // An alias of a container cannot go inside that container's subtree either.
    let alias = g
        .create_alias(owner, "alias", size(0x1000), outer, RegionOffset(0))
        .unwrap();
    assert_eq!(
        g.add_subregion(inner, RegionOffset(0), alias, Priority(0)),
        Err(Error::WouldCycle)
    );
    // Nothing changed: outer is still unmapped and mappable.
    assert_eq!(g.region_info(outer).unwrap().mapped, None);
    g.add_subregion(root, RegionOffset(0), outer, Priority(0))
        .unwrap();
}

#[test]
fn alias_retarget_creating_a_cycle_is_refused() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let c = g.create_container(owner, "c", size(0x2000), None).unwrap();
    let target = g.create_ram(owner, "target", ram(0x1000, 0x12)).unwrap();
    let alias = g
        .create_alias(owner, "alias", size(0x1000), target, RegionOffset(0))
        .unwrap();
    let outer_alias = g
        .create_alias(owner, "outer", size(0x1000), alias, RegionOffset(0))
        .unwrap();
    g.begin();
    g.add_subregion(c, RegionOffset(0), alias, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0), c, Priority(0))
        .unwrap();
    g.commit().unwrap();
    assert_eq!(
        g.set_alias_target(alias, c, RegionOffset(0)),
        Err(Error::WouldCycle)
    );
    assert_eq!(
        g.set_alias_target(alias, alias, RegionOffset(0)),
        Err(Error::WouldCycle)
    );
    assert_eq!(
        g.set_alias_target(alias, outer_alias, RegionOffset(0)),
        Err(Error::WouldCycle)
    );
    assert_eq!(g.alias_target(alias), Ok((target, RegionOffset(0))));
    assert_eq!(
        g.set_alias_target(c, target, RegionOffset(0)),
        Err(Error::NotAnAlias)
    );
    drop(g);
    assert_eq!(ranges(&mem, space), vec![(0, 0xfff, target, 0)]);
}
