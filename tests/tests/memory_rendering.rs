//! Rendering semantics of the memory API, one test per documented behaviour: QEMU's
//! documented example, priorities, aliases, disabled regions, transactions, merging of
//! ranges and cycle checks.
#![allow(clippy::unwrap_used)]

use fief_core::memory::{
    AccessRules, AccessSize, Error, GuestAddress, MemTxResult, Priority, RamBlock, RegionOffset,
};
use fief_tests::plain::{read, write, PLAIN};
use fief_tests::{leak, memory, ram, ranges, setup, size, Call, RecordingDevice};

/// A RAM block whose byte `i` is `i as u8 ^ tag`.
fn ram_seq(len: usize, tag: u8) -> RamBlock<'static> {
    let bytes: Vec<u8> = (0..len).map(|i| i as u8 ^ tag).collect();
    RamBlock::new(Box::leak(bytes.into_boxed_slice()))
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
