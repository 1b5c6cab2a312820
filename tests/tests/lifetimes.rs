//! The lifetime rules (`docs/design.md` section 2) through the public API: owners destroying
//! what they own (L3, L4), containment not being ownership (L5), transactions (L6), grace
//! periods (L7), stale handles (L2) and full pools (L1).
#![allow(clippy::unwrap_used)]

use fief_core::memory::{
    AccessSize, Error, GuestAddress, MemTxAttrs, MemTxResult, Object, Priority, RegionHandle,
    RegionOffset, SpaceId,
};
use fief_core::owner::Lifecycle;
use fief_tests::{ram, ranges, setup, size, TestMemory};

const PLAIN: MemTxAttrs = MemTxAttrs::UNSPECIFIED;
const STALE_REGION: Error = Error::Stale {
    what: Object::Region,
};
const STALE_OWNER: Error = Error::Stale {
    what: Object::Owner,
};
/// Region slots of a [`TestMemory`].
const REGIONS: usize = 128;
/// Owner slots of a [`TestMemory`].
const OWNERS: usize = 32;

fn read(mem: &TestMemory, space: SpaceId, addr: u64) -> (u64, MemTxResult) {
    mem.space(space)
        .unwrap()
        .read(GuestAddress(addr), AccessSize::Word, PLAIN)
}

/// Slot index of a region handle in a 128-slot pool (7 index bits).
fn slot(handle: RegionHandle) -> u32 {
    handle.to_raw() & (REGIONS as u32 - 1)
}

#[test]
fn destroyed_owner_region_in_foreign_container_vanishes_at_commit() {
    let (mem, root_owner, root, space) = setup();
    let mut g = mem.lock();
    let dev = g.create_owner(root_owner, "dev").unwrap();
    let bus = g
        .create_container(root_owner, "bus", size(0x10000), None)
        .unwrap();
    let regs = g.create_ram(dev, "regs", ram(0x1000, 0x5A)).unwrap();
    let other = g
        .create_ram(root_owner, "other", ram(0x1000, 0x11))
        .unwrap();
    g.begin();
    g.add_subregion(bus, RegionOffset(0x1000), regs, Priority(0))
        .unwrap();
    g.add_subregion(bus, RegionOffset(0x2000), other, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x10000), bus, Priority(0))
        .unwrap();
    g.commit().unwrap();
    assert_eq!(
        g.subregions(bus).unwrap().collect::<Vec<_>>(),
        vec![other, regs]
    );

    g.begin();
    g.destroy_owner(dev).unwrap();
    // Inside the transaction the published view still shows the region.
    assert_eq!(read(&mem, space, 0x11000), (0x5A5A_5A5A, MemTxResult::OK));
    assert_eq!(
        ranges(&mem, space),
        vec![(0x11000, 0x11fff, regs, 0), (0x12000, 0x12fff, other, 0)]
    );
    g.commit().unwrap();
    assert_eq!(ranges(&mem, space), vec![(0x12000, 0x12fff, other, 0)]);
    assert_eq!(read(&mem, space, 0x11000), (0, MemTxResult::DECODE_ERROR));
    assert_eq!(g.subregions(bus).unwrap().collect::<Vec<_>>(), vec![other]);
    assert_eq!(g.region_info(regs), Err(STALE_REGION));
    // The foreign container itself is untouched.
    assert_eq!(
        g.region_info(bus).unwrap().mapped,
        Some((root, RegionOffset(0x10000)))
    );
}

#[test]
fn destroyed_owner_container_releases_foreign_subregion_alive_and_unmapped() {
    let (mem, root_owner, root, space) = setup();
    let mut g = mem.lock();
    let dev = g.create_owner(root_owner, "bridge").unwrap();
    let window = g
        .create_container(dev, "window", size(0x4000), None)
        .unwrap();
    let foreign = g
        .create_ram(root_owner, "foreign", ram(0x1000, 0x77))
        .unwrap();
    g.begin();
    g.add_subregion(window, RegionOffset(0x1000), foreign, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x8000), window, Priority(0))
        .unwrap();
    g.commit().unwrap();
    assert_eq!(read(&mem, space, 0x9000), (0x7777_7777, MemTxResult::OK));

    g.destroy_owner(dev).unwrap();
    assert!(ranges(&mem, space).is_empty());
    assert_eq!(g.region_info(window), Err(STALE_REGION));
    let info = g.region_info(foreign).unwrap();
    assert_eq!(info.mapped, None);
    assert_eq!(info.owner, root_owner);
    // It can be mapped again elsewhere, and its contents are intact.
    g.add_subregion(root, RegionOffset(0x20000), foreign, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(ranges(&mem, space), vec![(0x20000, 0x20fff, foreign, 0)]);
    assert_eq!(read(&mem, space, 0x20000), (0x7777_7777, MemTxResult::OK));
}

#[test]
fn stale_handle_never_reaches_the_object_that_reused_its_slot() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let old = g.create_ram(owner, "old", ram(0x1000, 0x11)).unwrap();
    g.add_subregion(root, RegionOffset(0), old, Priority(0))
        .unwrap();
    g.destroy_region(old).unwrap();
    let mut reused = None;
    for i in 0..REGIONS {
        let h = g
            .create_reservation(owner, &format!("filler{i}"), size(0x1000))
            .unwrap();
        if slot(h) == slot(old) {
            reused = Some(h);
            break;
        }
    }
    let new = reused.expect("the destroyed slot is reused once fresh slots run out");
    assert_ne!(new, old);
    assert_eq!(g.region_info(old), Err(STALE_REGION));
    assert_eq!(g.set_enabled(old, false), Err(STALE_REGION));
    assert_eq!(g.set_address(old, RegionOffset(0x5000)), Err(STALE_REGION));
    assert_eq!(
        g.add_subregion(root, RegionOffset(0), old, Priority(0)),
        Err(STALE_REGION)
    );
    assert_eq!(g.remove_subregion(root, old), Err(STALE_REGION));
    assert_eq!(g.destroy_region(old), Err(STALE_REGION));
    // The new occupant is untouched.
    let info = g.region_info(new).unwrap();
    assert!(info.flags.contains(fief_core::memory::RegionFlags::ENABLED));
    assert_eq!(info.mapped, None);
    drop(g);
    assert!(ranges(&mem, space).is_empty());
}

#[test]
fn child_devices_are_destroyed_depth_first_with_their_regions() {
    let (mem, root_owner, root, space) = setup();
    let mut g = mem.lock();
    let base_owners = g.owner_count();
    let base_regions = g.region_count();
    let parent = g.create_owner(root_owner, "parent").unwrap();
    let child = g.create_owner(parent, "child").unwrap();
    let sibling = g.create_owner(parent, "sibling").unwrap();
    let grandchild = g.create_owner(child, "grandchild").unwrap();
    let owners = [parent, child, sibling, grandchild];
    let mut regions = Vec::new();
    g.begin();
    for (i, &o) in owners.iter().enumerate() {
        let r = g.create_ram(o, "ram", ram(0x1000, i as u8)).unwrap();
        g.add_subregion(root, RegionOffset(0x1000 * i as u64), r, Priority(0))
            .unwrap();
        regions.push(r);
    }
    // A grandchild container holding a region of the parent: released, then destroyed with
    // the parent.
    let gc_container = g
        .create_container(grandchild, "gc", size(0x1000), None)
        .unwrap();
    let parent_sub = g.create_ram(parent, "sub", ram(0x100, 0xEE)).unwrap();
    g.add_subregion(gc_container, RegionOffset(0), parent_sub, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x10000), gc_container, Priority(0))
        .unwrap();
    g.commit().unwrap();
    assert_eq!(ranges(&mem, space).len(), 5);
    assert_eq!(
        g.owner_children(parent).unwrap().collect::<Vec<_>>(),
        vec![sibling, child]
    );
    assert_eq!(g.owner_info(grandchild).unwrap().parent, Some(child));

    g.begin();
    g.destroy_owner(parent).unwrap();
    for &o in &owners {
        assert_eq!(g.owner_info(o).unwrap().state, Lifecycle::Unplugging);
    }
    assert_eq!(g.create_owner(child, "late"), Err(Error::OwnerUnplugging));
    g.commit().unwrap();
    for &o in &owners {
        assert_eq!(g.owner_info(o), Err(STALE_OWNER));
        assert!(g.owned_regions(o).is_err());
    }
    for &r in regions.iter().chain([&gc_container, &parent_sub]) {
        assert_eq!(g.region_info(r), Err(STALE_REGION));
    }
    assert_eq!(g.owner_count(), base_owners);
    assert_eq!(g.region_count(), base_regions);
    assert_eq!(g.owner_children(root_owner).unwrap().count(), 0);
    assert_eq!(g.awaiting_reclaim(), 0);
    drop(g);
    assert!(ranges(&mem, space).is_empty());
}

#[test]
fn full_region_pool_is_an_error_and_leaves_everything_consistent() {
    let (mem, owner, root, space) = setup();
    let mut g = mem.lock();
    let sysram = g.create_ram(owner, "ram", ram(0x1000, 0x42)).unwrap();
    g.add_subregion(root, RegionOffset(0), sysram, Priority(0))
        .unwrap();
    let view_before = ranges(&mem, space);
    let generation = mem.space(space).unwrap().generation();
    let mut fillers = Vec::new();
    let err = loop {
        match g.create_reservation(owner, "filler", size(0x10)) {
            Ok(h) => fillers.push(h),
            Err(e) => break e,
        }
    };
    assert_eq!(
        err,
        Error::PoolFull {
            what: Object::Region
        }
    );
    assert_eq!(g.region_count(), REGIONS);
    assert_eq!(fillers.len(), REGIONS - 2);
    // Every kind of creation answers the same; RAM and ROM blocks come back.
    let block = ram(0x2000, 0);
    let ptr = block.as_ptr();
    let rejected = g.create_ram(owner, "more", block).unwrap_err();
    assert_eq!(
        rejected.error,
        Error::PoolFull {
            what: Object::Region
        }
    );
    assert_eq!(rejected.value.len(), 0x2000);
    assert_eq!(rejected.value.as_ptr(), ptr);
    let rejected = g.create_rom(owner, "rom", ram(0x300, 0)).unwrap_err();
    assert_eq!(rejected.value.len(), 0x300);
    assert_eq!(
        g.create_container(owner, "c", size(0x10), None),
        Err(Error::PoolFull {
            what: Object::Region
        })
    );
    assert_eq!(
        g.create_alias(owner, "a", size(0x10), sysram, RegionOffset(0)),
        Err(Error::PoolFull {
            what: Object::Region
        })
    );
    // Nothing changed.
    assert_eq!(g.region_count(), REGIONS);
    assert_eq!(ranges(&mem, space), view_before);
    assert_eq!(mem.space(space).unwrap().generation(), generation);
    assert_eq!(read(&mem, space, 0), (0x4242_4242, MemTxResult::OK));
    // Freeing one slot makes room again.
    g.destroy_region(fillers[0]).unwrap();
    let again = g.create_ram(owner, "again", rejected.value).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), again, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(read(&mem, space, 0x1000), (0, MemTxResult::OK));
}

#[test]
fn full_owner_pool_is_an_error() {
    let (mem, root_owner, _root, _space) = setup();
    let mut g = mem.lock();
    let mut owners = Vec::new();
    let err = loop {
        match g.create_owner(root_owner, "dev") {
            Ok(h) => owners.push(h),
            Err(e) => break e,
        }
    };
    assert_eq!(
        err,
        Error::PoolFull {
            what: Object::Owner
        }
    );
    assert_eq!(owners.len(), OWNERS - 1);
    assert_eq!(g.owner_count(), OWNERS);
    assert_eq!(g.owner_children(root_owner).unwrap().count(), OWNERS - 1);
    g.destroy_owner(owners[3]).unwrap();
    assert_eq!(g.owner_count(), OWNERS - 1);
    let fresh = g.create_owner(root_owner, "fresh").unwrap();
    assert_eq!(g.owner_info(fresh).unwrap().state, Lifecycle::Created);
    assert_eq!(g.owner_info(owners[3]), Err(STALE_OWNER));
}

#[test]
fn rejected_creation_gives_the_block_back() {
    let (mem, root_owner, _root, _space) = setup();
    let mut g = mem.lock();
    // Empty block.
    let rejected = g.create_ram(root_owner, "empty", ram(0, 0)).unwrap_err();
    assert_eq!(rejected.error, Error::EmptyBlock);
    assert_eq!(rejected.value.len(), 0);
    // Owner being unplugged.
    let dev = g.create_owner(root_owner, "dev").unwrap();
    g.begin();
    g.destroy_owner(dev).unwrap();
    let rejected = g.create_ram(dev, "late", ram(0x1000, 0)).unwrap_err();
    assert_eq!(rejected.error, Error::OwnerUnplugging);
    assert_eq!(rejected.value.len(), 0x1000);
    g.commit().unwrap();
    // Dead owner.
    let rejected = g.create_ram(dev, "later", ram(0x800, 0)).unwrap_err();
    assert_eq!(rejected.error, STALE_OWNER);
    assert_eq!(rejected.value.len(), 0x800);
}

#[test]
fn reader_section_outlives_commit_and_delays_slot_and_block_reuse() {
    let (mem, owner, root, space) = setup();
    let block = ram(0x1000, 0x5A);
    let ptr = block.as_ptr();
    let reader = mem.space(space).unwrap();
    let mut g = mem.lock();
    let victim = g.create_ram(owner, "victim", block).unwrap();
    g.add_subregion(root, RegionOffset(0x4000), victim, Priority(0))
        .unwrap();
    let section = reader.section().unwrap();
    g.destroy_region(victim).unwrap();
    assert_eq!(g.region_info(victim), Err(STALE_REGION));
    assert_eq!(g.awaiting_reclaim(), 1);
    // A new reader sees the new view; the old section still reads the old RAM.
    assert_eq!(read(&mem, space, 0x4000), (0, MemTxResult::DECODE_ERROR));
    assert_eq!(
        section.read(GuestAddress(0x4000), AccessSize::Word, PLAIN),
        (0x5A5A_5A5A, MemTxResult::OK)
    );
    assert_eq!(
        section.write(GuestAddress(0x4004), AccessSize::Byte, 0x01, PLAIN),
        MemTxResult::OK
    );
    // The retired slot is not reused while the section lives, even with the pool full.
    let mut fillers = Vec::new();
    let err = loop {
        match g.create_reservation(owner, "filler", size(0x10)) {
            Ok(h) => fillers.push(h),
            Err(e) => break e,
        }
    };
    assert_eq!(
        err,
        Error::PoolFull {
            what: Object::Region
        }
    );
    assert_eq!(g.region_count(), REGIONS - 1);
    assert_eq!(g.reclaim(), 0);
    assert_eq!(g.awaiting_reclaim(), 1);
    assert!(g.take_released_ram().is_none());
    assert_eq!(
        section.read(GuestAddress(0x4004), AccessSize::Byte, PLAIN),
        (0x01, MemTxResult::OK)
    );
    drop(section);
    assert_eq!(g.reclaim(), 1);
    assert_eq!(g.awaiting_reclaim(), 0);
    let back = g.take_released_ram().unwrap();
    assert_eq!(back.as_ptr(), ptr);
    assert_eq!(back.len(), 0x1000);
    assert!(g.take_released_ram().is_none());
    let bytes = back.into_slice();
    assert_eq!(bytes[..5], [0x5A, 0x5A, 0x5A, 0x5A, 0x01]);
    // The slot is free again.
    let h = g.create_reservation(owner, "last", size(0x10)).unwrap();
    assert_ne!(h, victim);
    assert_eq!(slot(h), slot(victim));
}

#[test]
fn next_create_reclaims_a_slot_whose_grace_period_ended() {
    let (mem, owner, root, space) = setup();
    let block = ram(0x1000, 0x5A);
    let ptr = block.as_ptr();
    let reader = mem.space(space).unwrap();
    let mut g = mem.lock();
    let victim = g.create_ram(owner, "victim", block).unwrap();
    g.add_subregion(root, RegionOffset(0), victim, Priority(0))
        .unwrap();
    let section = reader.section().unwrap();
    g.destroy_region(victim).unwrap();
    while g.create_reservation(owner, "filler", size(0x10)).is_ok() {}
    assert_eq!(g.awaiting_reclaim(), 1);
    drop(section);
    // No explicit reclaim: the create that finds the pool full reclaims.
    let h = g.create_reservation(owner, "last", size(0x10)).unwrap();
    assert_eq!(slot(h), slot(victim));
    assert_eq!(g.awaiting_reclaim(), 0);
    assert_eq!(g.take_released_ram().unwrap().as_ptr(), ptr);
}

#[test]
fn alias_to_destroyed_owner_region_renders_nothing_until_retargeted() {
    let (mem, root_owner, root, space) = setup();
    let mut g = mem.lock();
    let dev = g.create_owner(root_owner, "dev").unwrap();
    let target = g.create_ram(dev, "target", ram(0x1000, 0x33)).unwrap();
    let spare = g
        .create_ram(root_owner, "spare", ram(0x1000, 0x44))
        .unwrap();
    let alias = g
        .create_alias(
            root_owner,
            "alias",
            size(0x800),
            target,
            RegionOffset(0x100),
        )
        .unwrap();
    g.add_subregion(root, RegionOffset(0x1000), alias, Priority(0))
        .unwrap();
    assert_eq!(ranges(&mem, space), vec![(0x1000, 0x17ff, target, 0x100)]);
    g.destroy_owner(dev).unwrap();
    assert!(ranges(&mem, space).is_empty());
    assert_eq!(read(&mem, space, 0x1000), (0, MemTxResult::DECODE_ERROR));
    assert_eq!(g.alias_target(alias), Err(STALE_REGION));
    // The alias itself is alive and still mapped.
    assert_eq!(
        g.region_info(alias).unwrap().mapped,
        Some((root, RegionOffset(0x1000)))
    );
    g.set_alias_target(alias, spare, RegionOffset(0x200))
        .unwrap();
    assert_eq!(g.alias_target(alias), Ok((spare, RegionOffset(0x200))));
    drop(g);
    assert_eq!(ranges(&mem, space), vec![(0x1000, 0x17ff, spare, 0x200)]);
    assert_eq!(read(&mem, space, 0x1000), (0x4444_4444, MemTxResult::OK));
}

#[test]
fn owner_lifecycle_created_realized_unplugging_stale() {
    let (mem, root_owner, _root, _space) = setup();
    let mut g = mem.lock();
    let dev = g.create_owner(root_owner, "dev").unwrap();
    let info = g.owner_info(dev).unwrap();
    assert_eq!(info.state, Lifecycle::Created);
    assert_eq!(info.parent, Some(root_owner));
    g.realize(dev).unwrap();
    assert_eq!(g.owner_info(dev).unwrap().state, Lifecycle::Realized);
    g.begin();
    g.destroy_owner(dev).unwrap();
    assert_eq!(g.owner_info(dev).unwrap().state, Lifecycle::Unplugging);
    assert_eq!(g.destroy_owner(dev), Err(Error::OwnerUnplugging));
    assert_eq!(g.realize(dev), Err(Error::OwnerUnplugging));
    g.commit().unwrap();
    assert_eq!(g.owner_info(dev), Err(STALE_OWNER));
    assert_eq!(g.destroy_owner(dev), Err(STALE_OWNER));
    assert_eq!(g.owner_count(), 1);
}

#[test]
fn root_owner_cannot_be_destroyed() {
    let (mem, root_owner, root, _space) = setup();
    let mut g = mem.lock();
    assert_eq!(g.destroy_owner(root_owner), Err(Error::RootOwner));
    assert_eq!(g.owner_info(root_owner).unwrap().parent, None);
    assert!(g.region_info(root).is_ok());
}

#[test]
fn released_ram_blocks_are_never_lost_when_nobody_takes_them() {
    let (mem, owner, root, _space) = setup();
    let mut g = mem.lock();
    let mut given = Vec::new();
    let mut back = Vec::new();
    for i in 0..3 * REGIONS {
        let block = ram(0x100, i as u8);
        given.push(block.as_ptr());
        let region = match g.create_ram(owner, "churn", block) {
            Ok(region) => region,
            Err(rejected) => {
                // Slots wait for their blocks to be taken: take them, and the slots return.
                assert_eq!(
                    rejected.error,
                    Error::PoolFull {
                        what: Object::Region
                    }
                );
                while let Some(b) = g.take_released_ram() {
                    back.push(b.as_ptr());
                }
                assert!(g.reclaim() > 0);
                g.create_ram(owner, "churn", rejected.value).unwrap()
            }
        };
        g.add_subregion(root, RegionOffset(0), region, Priority(0))
            .unwrap();
        g.destroy_region(region).unwrap();
    }
    loop {
        while let Some(b) = g.take_released_ram() {
            back.push(b.as_ptr());
        }
        if g.reclaim() == 0 {
            break;
        }
    }
    assert_eq!(g.awaiting_reclaim(), 0);
    given.sort_unstable();
    back.sort_unstable();
    assert_eq!(back.len(), given.len());
    assert_eq!(back, given);
}
