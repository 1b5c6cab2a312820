//! `fief_core::pool::Pool`: fixed capacity, generational handles, FIFO reuse, two-step
//! freeing and generation exhaustion (rules L1, L2).
#![allow(clippy::unwrap_used)]

use fief_core::pool::{Full, Pool, PoolError};

/// Handle-kind marker for these tests.
enum Thing {}

type Small = Pool<Thing, u32, 4>;

#[test]
fn insert_get_remove_round_trip() {
    let mut pool = Small::new();
    assert!(pool.is_empty());
    assert_eq!(pool.capacity(), 4);
    let a = pool.insert(10).unwrap();
    let b = pool.insert(20).unwrap();
    assert_ne!(a, b);
    assert_eq!(pool.len(), 2);
    assert_eq!(pool.get(a), Ok(&10));
    *pool.get_mut(b).unwrap() += 1;
    assert_eq!(pool.get(b), Ok(&21));
    assert!(pool.contains(a));
    assert_eq!(pool.remove(a), Ok(10));
    assert_eq!(pool.len(), 1);
    assert!(!pool.contains(a));
    assert_eq!(pool.get(a), Err(PoolError::Stale));
    assert_eq!(pool.get_mut(a), Err(PoolError::Stale));
    assert_eq!(pool.remove(a), Err(PoolError::Stale));
    let live: Vec<_> = pool.iter().map(|(h, v)| (h, *v)).collect();
    assert_eq!(live, vec![(b, 21)]);
}

#[test]
fn full_pool_hands_the_value_back() {
    let mut pool = Small::new();
    for i in 0..4 {
        pool.insert(i).unwrap();
    }
    assert_eq!(pool.insert(99), Err(Full(99)));
    assert_eq!(pool.len(), 4);
}

#[test]
fn stale_handle_after_slot_reuse_does_not_reach_the_new_value() {
    let mut pool = Pool::<Thing, u32, 1>::new();
    let old = pool.insert(1).unwrap();
    pool.remove(old).unwrap();
    let new = pool.insert(2).unwrap();
    assert_eq!(Pool::<Thing, u32, 1>::index_of(old), 0);
    assert_eq!(Pool::<Thing, u32, 1>::index_of(new), 0);
    assert_ne!(old, new);
    assert_eq!(pool.get(old), Err(PoolError::Stale));
    assert_eq!(pool.remove(old), Err(PoolError::Stale));
    assert_eq!(pool.get(new), Ok(&2));
}

#[test]
fn fresh_slots_first_then_freed_slots_in_fifo_order() {
    let mut pool = Small::new();
    let h: Vec<_> = (0..2).map(|i| pool.insert(i).unwrap()).collect();
    pool.remove(h[1]).unwrap();
    pool.remove(h[0]).unwrap();
    // Never-used slots 2 and 3 first.
    let order: Vec<_> = (0..4)
        .map(|i| Small::index_of(pool.insert(10 + i).unwrap()))
        .collect();
    // Then slot 1 (freed first), then slot 0.
    assert_eq!(order, vec![2, 3, 1, 0]);
    assert_eq!(pool.insert(0), Err(Full(0)));
}

#[test]
fn churn_spreads_over_every_freed_slot() {
    let mut pool = Small::new();
    let mut handles: Vec<_> = (0..4).map(|i| pool.insert(i).unwrap()).collect();
    for h in handles.drain(..) {
        pool.remove(h).unwrap();
    }
    // Insert/remove one object repeatedly: it visits slots 0, 1, 2, 3, 0, ...
    let order: Vec<_> = (0..8)
        .map(|i| {
            let h = pool.insert(i).unwrap();
            pool.remove(h).unwrap();
            Small::index_of(h)
        })
        .collect();
    assert_eq!(order, vec![0, 1, 2, 3, 0, 1, 2, 3]);
}

#[test]
fn retired_slot_is_stale_at_once_and_reused_only_after_reclaim() {
    let mut pool = Pool::<Thing, u32, 2>::new();
    let a = pool.insert(1).unwrap();
    let _b = pool.insert(2).unwrap();
    pool.retire(a, 7).unwrap();
    assert_eq!(pool.get(a), Err(PoolError::Stale));
    assert_eq!(pool.retire(a, 7), Err(PoolError::Stale));
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.retired_len(), 1);
    assert_eq!(pool.insert(3), Err(Full(3)));
    // Not ready: nothing freed, the value stays.
    let mut sunk = Vec::new();
    assert_eq!(pool.reclaim(|tag| tag != 7, |v| sunk.push(v)), 0);
    assert!(sunk.is_empty());
    pool.retag_retired(|tag| (tag == 7).then_some(8));
    assert_eq!(pool.reclaim(|tag| tag == 8, |v| sunk.push(v)), 1);
    assert_eq!(sunk, vec![1]);
    assert_eq!(pool.retired_len(), 0);
    let c = pool.insert(4).unwrap();
    assert_eq!(Pool::<Thing, u32, 2>::index_of(c), 0);
    assert_ne!(c, a);
    assert_eq!(pool.get(a), Err(PoolError::Stale));
}

/// 2^19 + 1 slots need 20 index bits, leaving 12 generation bits: a small
/// `MAX_GENERATION`.
const BIG: usize = (1 << 19) + 1;
type Big = Pool<Thing, (), BIG>;

#[test]
fn spent_generation_retires_the_slot_for_good() {
    assert_eq!(Big::INDEX_BITS, 20);
    assert_eq!(Big::MAX_GENERATION, 4095);
    // The pool is a few MiB: build it on a thread with room for the temporary.
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let mut pool = Box::new(Big::new());
            let handles: Vec<_> = (0..BIG).map(|_| pool.insert(()).unwrap()).collect();
            // Churn slot 0 only: every other slot stays occupied.
            let first = handles[0];
            let mut h = first;
            let mut seen = vec![first];
            for _ in 1..Big::MAX_GENERATION {
                pool.remove(h).unwrap();
                h = pool.insert(()).unwrap();
                assert_eq!(Big::index_of(h), 0);
                seen.push(h);
            }
            // Generations 1..=MAX_GENERATION were all used, each a distinct handle.
            assert_eq!(seen.len(), Big::MAX_GENERATION as usize);
            assert_eq!(h.to_raw() >> Big::INDEX_BITS, Big::MAX_GENERATION);
            let mut raws: Vec<_> = seen.iter().map(|h| h.to_raw()).collect();
            raws.sort_unstable();
            raws.dedup();
            assert_eq!(raws.len(), seen.len());
            // Freeing the last generation retires the slot: it never comes back.
            pool.remove(h).unwrap();
            assert_eq!(pool.exhausted_len(), 1);
            assert_eq!(pool.insert(()), Err(Full(())));
            for old in [first, h] {
                assert_eq!(pool.get(old), Err(PoolError::Stale));
            }
            // Other slots keep working.
            pool.remove(handles[1]).unwrap();
            let again = pool.insert(()).unwrap();
            assert_eq!(Big::index_of(again), 1);
            assert_eq!(pool.len(), BIG - 1);
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn spent_generation_retires_a_slot_freed_through_reclaim_too() {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(|| {
            let mut pool = Box::new(Big::new());
            let handles: Vec<_> = (0..BIG).map(|_| pool.insert(()).unwrap()).collect();
            let mut h = handles[0];
            // Spend the generations with plain removes (a reclaim scans every slot), then
            // free the last one in two steps.
            for _ in 1..Big::MAX_GENERATION {
                pool.remove(h).unwrap();
                h = pool.insert(()).unwrap();
            }
            assert_eq!(h.to_raw() >> Big::INDEX_BITS, Big::MAX_GENERATION);
            pool.retire(h, 1).unwrap();
            assert_eq!(pool.reclaim(|_| true, |()| {}), 1);
            assert_eq!(pool.retired_len(), 0);
            assert_eq!(pool.exhausted_len(), 1);
            assert_eq!(pool.insert(()), Err(Full(())));
            assert_eq!(pool.get(h), Err(PoolError::Stale));
        })
        .unwrap()
        .join()
        .unwrap();
}
