//! Fixed-capacity pools and generational handles (rules L1 and L2).
//!
//! A [`Pool`] owns `N` slots inline, so its storage is wherever the pool value lives: a
//! `static`, or a field of a machine value. Nothing here allocates and nothing panics on a
//! full pool or an old handle: [`PoolError::Full`] hands the value back, [`PoolError::Stale`]
//! reports a handle whose slot was freed since.
//!
//! # Handles
//!
//! A [`Handle`] is 32 bits: `generation << index_bits | index`, where `index_bits` is the
//! smallest width that numbers `N` slots. The rest are the generation, which starts at 1 (so
//! a raw handle is never zero and `Option<Handle<T>>` is 32 bits) and is bumped every time the
//! slot is freed. A slot whose generation would wrap is **retired**: it never goes back on the
//! free list, so an old handle can never alias a new object. With a pool of 4096 slots a slot
//! can be reused a million times; with 256 slots, sixteen million times. The free list is FIFO
//! so that churn spreads over every slot instead of wearing out one.
//!
//! Slots can also be freed in two steps ([`Pool::retire`] then [`Pool::reclaim`]): the
//! generation is bumped at once (every handle goes stale) but the slot is only reused once the
//! owner of the pool says no reader can still see it (rule L7, grace periods).

use core::fmt;
use core::marker::PhantomData;
use core::num::NonZeroU32;

/// A generational handle to an object of kind `T` in a [`Pool`].
///
/// Handles are `Copy` and compare by value; using one after its object was freed answers
/// [`PoolError::Stale`] instead of reaching whatever took the slot.
pub struct Handle<T> {
    raw: NonZeroU32,
    _kind: PhantomData<fn() -> T>,
}

impl<T> Handle<T> {
    /// The raw 32-bit encoding (`generation << index_bits | index`), for logs and atomics.
    pub const fn to_raw(self) -> u32 {
        self.raw.get()
    }

    /// Rebuilds a handle from [`Handle::to_raw`]. A made-up value is harmless: at worst the
    /// pool answers `Stale`.
    pub const fn from_raw(raw: NonZeroU32) -> Self {
        Handle {
            raw,
            _kind: PhantomData,
        }
    }
}

impl<T> Clone for Handle<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Handle<T> {}
impl<T> PartialEq for Handle<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}
impl<T> Eq for Handle<T> {}
impl<T> core::hash::Hash for Handle<T> {
    fn hash<H: core::hash::Hasher>(&self, state: &mut H) {
        self.raw.hash(state)
    }
}
impl<T> fmt::Debug for Handle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Handle({:#x})", self.raw.get())
    }
}

#[cfg(feature = "defmt")]
impl<T> defmt::Format for Handle<T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Handle({=u32:#x})", self.raw.get())
    }
}

/// Why a pool operation failed.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// Every slot is in use (or retired, or waiting for its grace period).
    Full,
    /// The handle's slot has been freed since the handle was made.
    Stale,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::Full => f.write_str("pool is full"),
            PoolError::Stale => f.write_str("stale handle: the object was destroyed"),
        }
    }
}

/// `Pool::insert` failed because the pool is full; the value comes back.
#[derive(Debug, PartialEq, Eq)]
pub struct Full<T>(pub T);

#[cfg(feature = "defmt")]
impl<T> defmt::Format for Full<T> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Full")
    }
}

const NONE: u32 = u32::MAX;

enum Entry<T> {
    /// Free; `next` links the FIFO free list.
    Vacant {
        next: u32,
    },
    Occupied(T),
    /// Freed but not reusable yet: handles are already stale, the value is kept until
    /// [`Pool::reclaim`] lets it go. `tag` is the caller's (an epoch).
    Retired {
        value: T,
        tag: u32,
    },
    /// The generation ran out; the slot is never used again.
    Exhausted,
}

struct Slot<T> {
    generation: u32,
    entry: Entry<T>,
}

/// A fixed-capacity pool of `N` objects of type `T` addressed by [`Handle<K>`]. `K` is a
/// marker naming the kind of object (so a region handle cannot open an owner pool).
pub struct Pool<K, T, const N: usize> {
    slots: [Slot<T>; N],
    _kind: PhantomData<fn() -> K>,
    /// Slots from here on have never been used (they are not on the free list).
    never_used: u32,
    free_head: u32,
    free_tail: u32,
    occupied: u32,
    retired: u32,
}

/// Number of bits needed to number `n` slots (at least 1).
const fn index_bits(n: usize) -> u32 {
    let mut bits = 1;
    while (1usize << bits) < n {
        bits += 1;
    }
    bits
}

impl<K, T, const N: usize> Pool<K, T, N> {
    /// Bits of a handle that hold the slot index.
    pub const INDEX_BITS: u32 = {
        assert!(N > 0, "a pool needs at least one slot");
        assert!(
            N <= 1 << 20,
            "a pool holds at most 2^20 slots (12 generation bits remain)"
        );
        index_bits(N)
    };
    /// The largest generation a slot reaches before it is retired for good.
    pub const MAX_GENERATION: u32 = u32::MAX >> Self::INDEX_BITS;

    /// An empty pool. `const`, so a pool can be a `static`.
    pub const fn new() -> Self {
        // Force the compile-time checks of INDEX_BITS.
        let _ = Self::INDEX_BITS;
        Pool {
            slots: [const {
                Slot {
                    generation: 1,
                    entry: Entry::Vacant { next: NONE },
                }
            }; N],
            _kind: PhantomData,
            never_used: 0,
            free_head: NONE,
            free_tail: NONE,
            occupied: 0,
            retired: 0,
        }
    }

    /// Capacity in slots.
    pub const fn capacity(&self) -> usize {
        N
    }

    /// Objects currently live.
    pub fn len(&self) -> usize {
        self.occupied as usize
    }

    /// True when no object is live.
    pub fn is_empty(&self) -> bool {
        self.occupied == 0
    }

    /// Slots freed with [`Pool::retire`] and not reclaimed yet.
    pub fn retired_len(&self) -> usize {
        self.retired as usize
    }

    fn encode(index: u32, generation: u32) -> Handle<K> {
        let raw = (generation << Self::INDEX_BITS) | index;
        // Generations start at 1 and never exceed MAX_GENERATION, so `raw` is never 0.
        match NonZeroU32::new(raw) {
            Some(raw) => Handle::from_raw(raw),
            None => unreachable_generation(),
        }
    }

    fn decode(handle: Handle<K>) -> (usize, u32) {
        let raw = handle.raw.get();
        (
            (raw & ((1u32 << Self::INDEX_BITS) - 1)) as usize,
            raw >> Self::INDEX_BITS,
        )
    }

    /// The slot index behind a handle, whether or not it is still live (for tables kept
    /// beside a pool).
    pub fn index_of(handle: Handle<K>) -> usize {
        Self::decode(handle).0
    }

    /// Puts `value` in a free slot. A full pool hands the value back.
    pub fn insert(&mut self, value: T) -> Result<Handle<K>, Full<T>> {
        // Fresh slots first, then the oldest freed one: reuse is spread over every slot.
        let index = if (self.never_used as usize) < N {
            self.never_used += 1;
            self.never_used - 1
        } else if self.free_head != NONE {
            let index = self.free_head;
            let next = match self.slots[index as usize].entry {
                Entry::Vacant { next } => next,
                _ => NONE, // unreachable by construction; treated as end of list
            };
            self.free_head = next;
            if next == NONE {
                self.free_tail = NONE;
            }
            index
        } else {
            return Err(Full(value));
        };
        let slot = &mut self.slots[index as usize];
        slot.entry = Entry::Occupied(value);
        self.occupied += 1;
        Ok(Self::encode(index, slot.generation))
    }

    /// The object behind `handle`.
    pub fn get(&self, handle: Handle<K>) -> Result<&T, PoolError> {
        let (index, generation) = Self::decode(handle);
        match self.slots.get(index) {
            Some(Slot {
                generation: g,
                entry: Entry::Occupied(value),
            }) if *g == generation => Ok(value),
            _ => Err(PoolError::Stale),
        }
    }

    /// The object behind `handle`, mutably.
    pub fn get_mut(&mut self, handle: Handle<K>) -> Result<&mut T, PoolError> {
        let (index, generation) = Self::decode(handle);
        match self.slots.get_mut(index) {
            Some(Slot {
                generation: g,
                entry: Entry::Occupied(value),
            }) if *g == generation => Ok(value),
            _ => Err(PoolError::Stale),
        }
    }

    /// True while `handle` names a live object.
    pub fn contains(&self, handle: Handle<K>) -> bool {
        self.get(handle).is_ok()
    }

    /// Frees the slot at once and returns its object.
    pub fn remove(&mut self, handle: Handle<K>) -> Result<T, PoolError> {
        let value = self.take(handle)?;
        let (index, _) = Self::decode(handle);
        self.release_slot(index);
        Ok(value)
    }

    /// Frees the object in two steps: every handle to it is stale from now on, but the slot
    /// (and the value, which the caller may still need to hand back) stays out of use until
    /// [`Pool::reclaim`] is told its `tag` is safe.
    pub fn retire(&mut self, handle: Handle<K>, tag: u32) -> Result<(), PoolError> {
        let value = self.take(handle)?;
        let (index, _) = Self::decode(handle);
        self.slots[index].entry = Entry::Retired { value, tag };
        self.retired += 1;
        Ok(())
    }

    /// Changes the tag of every retired slot for which `retag` returns `Some`.
    pub fn retag_retired(&mut self, mut retag: impl FnMut(u32) -> Option<u32>) {
        if self.retired == 0 {
            return;
        }
        for slot in self.slots.iter_mut() {
            if let Entry::Retired { tag, .. } = &mut slot.entry {
                if let Some(new) = retag(*tag) {
                    *tag = new;
                }
            }
        }
    }

    /// Frees every retired slot whose tag `ready` accepts, handing each value to `sink`.
    /// Returns how many slots were freed.
    pub fn reclaim(&mut self, mut ready: impl FnMut(u32) -> bool, sink: impl FnMut(T)) -> usize {
        self.reclaim_where(|_, tag, _| ready(tag), sink)
    }

    /// Retired slots: `(slot index, tag, value)`.
    pub fn retired(&self) -> impl Iterator<Item = (usize, u32, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match &slot.entry {
                Entry::Retired { value, tag } => Some((index, *tag, value)),
                _ => None,
            })
    }

    /// [`Pool::reclaim`] with the slot index and the value in view: frees every retired slot
    /// for which `ready(index, tag, &value)` is true.
    pub fn reclaim_where(
        &mut self,
        mut ready: impl FnMut(usize, u32, &T) -> bool,
        mut sink: impl FnMut(T),
    ) -> usize {
        if self.retired == 0 {
            return 0;
        }
        let mut freed = 0;
        for index in 0..N {
            let is_ready = matches!(&self.slots[index].entry,
                Entry::Retired { tag, value } if ready(index, *tag, value));
            if !is_ready {
                continue;
            }
            let entry = core::mem::replace(&mut self.slots[index].entry, Entry::Exhausted);
            if let Entry::Retired { value, .. } = entry {
                sink(value);
            }
            self.retired -= 1;
            self.release_slot(index);
            freed += 1;
        }
        freed
    }

    /// Takes the value out of a live slot and bumps the slot's generation; the slot is left
    /// `Exhausted` for the caller to file.
    fn take(&mut self, handle: Handle<K>) -> Result<T, PoolError> {
        let (index, generation) = Self::decode(handle);
        let slot = self.slots.get_mut(index).ok_or(PoolError::Stale)?;
        if slot.generation != generation || !matches!(slot.entry, Entry::Occupied(_)) {
            return Err(PoolError::Stale);
        }
        let entry = core::mem::replace(&mut slot.entry, Entry::Exhausted);
        self.occupied -= 1;
        match entry {
            Entry::Occupied(value) => Ok(value),
            _ => Err(PoolError::Stale),
        }
    }

    /// Bumps the generation of a slot taken out of use and puts it on the free list, or
    /// retires it for good when the generation is spent.
    fn release_slot(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        if slot.generation >= Self::MAX_GENERATION {
            slot.entry = Entry::Exhausted;
            return;
        }
        slot.generation += 1;
        self.push_free(index);
    }

    fn push_free(&mut self, index: usize) {
        // Generations are bumped by `release_slot` only, so both paths (remove, and
        // retire + reclaim) bump exactly once. A retired slot's handles are already stale
        // because `take` marked the entry non-occupied.
        self.slots[index].entry = Entry::Vacant { next: NONE };
        if self.free_tail == NONE {
            self.free_head = index as u32;
        } else {
            let tail = self.free_tail as usize;
            self.slots[tail].entry = Entry::Vacant { next: index as u32 };
        }
        self.free_tail = index as u32;
    }

    /// Live objects with their handles, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Handle<K>, &T)> + '_ {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(index, slot)| match &slot.entry {
                Entry::Occupied(value) => {
                    Some((Self::encode(index as u32, slot.generation), value))
                }
                _ => None,
            })
    }

    /// Slots that will never be used again because their generation ran out.
    pub fn exhausted_len(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| matches!(s.entry, Entry::Exhausted))
            .count()
    }
}

impl<K, T, const N: usize> Default for Pool<K, T, N> {
    fn default() -> Self {
        Self::new()
    }
}

#[cold]
fn unreachable_generation() -> ! {
    // Generations are kept in 1..=MAX_GENERATION by `release_slot`; a zero raw handle cannot
    // be built. Reaching this is a bug in this module, not something a guest can cause.
    panic!("pool handle with generation 0")
}
