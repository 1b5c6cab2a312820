//! Tests that reach every `unsafe` block of fief-core, small enough to run under Miri:
//!
//! `cargo +nightly miri test -p fief-core --test miri_unsafe`
//!
//! * `ram.rs`: `RamBlock::new`/`from_raw_parts`/`into_slice`, `RamPtr::load`/`store` on both
//!   the aligned (atomic of the access size) and the unaligned (byte-wise) branch for 1, 2, 4
//!   and 8 bytes, `copy_to`/`copy_from` (buffer accesses), debug writes to ROM.
//! * `grace.rs`: `Published` driven directly (`pin`, `with`, `deref`, `free_copy`,
//!   `write_copy`, `read_current`, `publish`, `restamp_current`) and through `Memory` commits
//!   with read sections held across them.
//! * Two threads: one reading RAM through an address space while the other commits topology
//!   changes (and one test with two threads on a bare `Published`).
//!
//! Buffers are plain `Vec`s borrowed by the memory (nothing is leaked, so Miri's leak check
//! stays on).
#![cfg(not(loom))] // the memory module does not exist in the loom build
#![allow(clippy::unwrap_used)]

use std::ptr::NonNull;

use fief_core::grace::{ConstInit, Published};
use fief_core::memory::{
    AccessSize, GuestAddress, MemTxAttrs, MemTxResult, Memory, MmioOps, Priority, RamBlock,
    RegionOffset, RegionSize,
};

type Mem<'a> = Memory<'a, 16, 4, 1, 32>;

const SIZES: [AccessSize; 4] = [
    AccessSize::Byte,
    AccessSize::Half,
    AccessSize::Word,
    AccessSize::Double,
];

const PLAIN: MemTxAttrs = MemTxAttrs::UNSPECIFIED;

fn size(bytes: u64) -> RegionSize {
    RegionSize::new(bytes).unwrap()
}

/// Little-endian value of `n` bytes of `model` at `at`.
fn model_load(model: &[u8], at: usize, n: usize) -> u64 {
    model[at..at + n]
        .iter()
        .rev()
        .fold(0, |v, &b| (v << 8) | b as u64)
}

fn model_store(model: &mut [u8], at: usize, n: usize, value: u64) {
    for (i, b) in model[at..at + n].iter_mut().enumerate() {
        *b = (value >> (8 * i)) as u8;
    }
}

/// A device whose reads answer the offset and whose writes are counted.
struct Dev;

impl MmioOps for Dev {
    fn read(&self, offset: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        (offset.0, MemTxResult::OK)
    }
    fn write(&self, _: RegionOffset, _: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        MemTxResult::OK
    }
}

#[test]
fn ram_block_new_from_raw_parts_into_slice() {
    let mut buf = vec![1u8; 8];
    let block = RamBlock::new(&mut buf);
    assert_eq!(block.len(), 8);
    assert!(!block.is_empty());
    let slice = block.into_slice();
    slice[3] = 9;
    assert_eq!(buf, [1, 1, 1, 9, 1, 1, 1, 1]);

    let raw = Box::into_raw(vec![5u8; 16].into_boxed_slice());
    let ptr = NonNull::new(raw.cast::<u8>()).unwrap();
    // SAFETY: `raw` is a live allocation of 16 bytes that nothing else touches until it is
    // rebuilt into a box below, after the block is gone.
    let block: RamBlock<'_> = unsafe { RamBlock::from_raw_parts(ptr, 16) };
    assert_eq!(block.as_ptr(), ptr.as_ptr().cast_const());
    let slice = block.into_slice();
    slice[15] = 6;
    assert_eq!(slice.iter().map(|&b| b as u32).sum::<u32>(), 15 * 5 + 6);
    // SAFETY: `raw` came from `Box::into_raw` and the slice above is no longer used.
    drop(unsafe { Box::from_raw(raw) });

    let empty = RamBlock::new(&mut []);
    assert!(empty.is_empty());
}

/// Every scalar size at offsets 0..8 of its own 16-byte slot (so both the aligned and the
/// unaligned branch of `RamPtr::load`/`store` are taken whatever the buffer's address), then
/// buffer copies over the same bytes, and the block comes back after its grace period.
///
/// No byte is reached by atomics of two different sizes: Rust allows that only when the
/// accesses cannot race, and Miri's weak-memory emulation does not model it at all (it stops
/// with an internal error, "partially overlapping store buffer"). Buffer copies are plain
/// accesses and may follow atomics of any size.
#[test]
fn scalar_and_buffer_accesses_over_ram() {
    const LEN: usize = 4 * 8 * 16;
    let mut backing = vec![0u8; LEN];
    let mut model = vec![0u8; LEN];
    let mem = Box::new(Mem::new());
    {
        let mut g = mem.lock();
        let root = g.root_owner().unwrap();
        let sys = g
            .create_container(root, "sys", RegionSize::FULL, None)
            .unwrap();
        let ram = g
            .create_ram(root, "ram", RamBlock::new(&mut backing))
            .map_err(|r| r.error)
            .unwrap();
        g.add_subregion(sys, RegionOffset(0x1000), ram, Priority(0))
            .unwrap();
        let space = g.create_address_space(sys, "sys").unwrap();
        drop(g);
        let space = mem.space(space).unwrap();
        let section = space.section().unwrap();
        let base = 0x1000u64;
        let mut counter = 0x0102_0304_0506_0708u64;
        for (si, s) in SIZES.into_iter().enumerate() {
            let n = s.bytes() as usize;
            for k in 0..8 {
                let at = (si * 8 + k) * 16 + k;
                let addr = GuestAddress(base + at as u64);
                for round in 0..2 {
                    counter = counter.rotate_left(9) ^ 0x9e37_79b9_7f4a_7c15;
                    // One round through a fresh section per access, one through a held one.
                    let r = if round == 0 {
                        space.write(addr, s, counter, PLAIN)
                    } else {
                        section.write(addr, s, counter, PLAIN)
                    };
                    assert!(r.is_ok());
                    model_store(&mut model, at, n, counter);
                    let (v, r) = if round == 0 {
                        space.read(addr, s, PLAIN)
                    } else {
                        section.read(addr, s, PLAIN)
                    };
                    assert!(r.is_ok());
                    assert_eq!(v, model_load(&model, at, n), "size {n} at {at}");
                }
            }
        }
        let mut out = vec![0xffu8; LEN];
        assert!(section
            .read_buf(GuestAddress(base), &mut out, PLAIN)
            .is_ok());
        assert_eq!(out, model);
        // Buffer copies: whole block, and straddling the end of the block (the tail is
        // unmapped: decode error, zeros).
        let data: Vec<u8> = (0..LEN).map(|i| (i as u8).wrapping_mul(7)).collect();
        assert!(section.write_buf(GuestAddress(base), &data, PLAIN).is_ok());
        model.copy_from_slice(&data);
        assert!(space.read_buf(GuestAddress(base), &mut out, PLAIN).is_ok());
        assert_eq!(out, model);
        let end = base + LEN as u64;
        let mut out = [0xffu8; 8];
        let r = space.read_buf(GuestAddress(end - 4), &mut out, PLAIN);
        assert_eq!(r, MemTxResult::DECODE_ERROR);
        assert_eq!(out[..4], model[LEN - 4..]);
        assert_eq!(out[4..], [0; 4]);
        // A scalar that crosses the end of the block goes through the split (buffer) path.
        let (v, r) = section.read(GuestAddress(end - 2), AccessSize::Word, PLAIN);
        assert_eq!(r, MemTxResult::DECODE_ERROR);
        assert_eq!(v, model_load(&model, LEN - 2, 2));
        let r = space.write(GuestAddress(end - 1), AccessSize::Half, 0xabcd, PLAIN);
        assert_eq!(r, MemTxResult::DECODE_ERROR);
        model[LEN - 1] = 0xcd;
        drop(section);

        // Destroy, wait out the grace period, get the bytes back.
        let mut g = mem.lock();
        g.destroy_region(ram).unwrap();
        g.reclaim();
        let block = g.take_released_ram().unwrap();
        drop(g);
        assert_eq!(block.into_slice()[..], model[..]);
    }
    drop(mem);
    assert_eq!(backing, model);
}

/// ROM and ROM-device regions: plain writes refused, debug writes (scalar and buffer) go in.
#[test]
fn rom_debug_writes() {
    let mut rom_bytes = vec![0xaau8; 16];
    let mut romd_bytes = vec![0x55u8; 16];
    let dev = Dev;
    let mem = Box::new(Mem::new());
    let mut g = mem.lock();
    let root = g.root_owner().unwrap();
    let sys = g
        .create_container(root, "sys", RegionSize::FULL, None)
        .unwrap();
    let rom = g
        .create_rom(root, "rom", RamBlock::new(&mut rom_bytes))
        .map_err(|r| r.error)
        .unwrap();
    let romd = g
        .create_rom_device(root, "flash", RamBlock::new(&mut romd_bytes), &dev)
        .map_err(|r| r.error)
        .unwrap();
    g.begin();
    g.add_subregion(sys, RegionOffset(0), rom, Priority(0))
        .unwrap();
    g.add_subregion(sys, RegionOffset(0x100), romd, Priority(0))
        .unwrap();
    let id = g.create_address_space(sys, "sys").unwrap();
    g.commit().unwrap();
    drop(g);
    let space = mem.space(id).unwrap();
    let r = space.write(GuestAddress(0), AccessSize::Word, 0x1234_5678, PLAIN);
    assert_eq!(r, MemTxResult::DECODE_ERROR);
    assert_eq!(
        space.write_buf(GuestAddress(0), &[1, 2], PLAIN),
        MemTxResult::DECODE_ERROR
    );
    let debug = MemTxAttrs::DEBUG;
    assert!(space
        .write(GuestAddress(0), AccessSize::Word, 0x1234_5678, debug)
        .is_ok());
    assert!(space.write_buf(GuestAddress(5), &[1, 2, 3], debug).is_ok());
    assert!(space
        .write(
            GuestAddress(0x101),
            AccessSize::Double,
            0x0807_0605_0403_0201,
            debug
        )
        .is_ok());
    assert!(space.write_buf(GuestAddress(0x10c), &[9, 9], debug).is_ok());
    // Word 0 was written with a 4-byte atomic: read it back the same way, the rest as a
    // buffer (see `scalar_and_buffer_accesses_over_ram` on mixed sizes).
    assert_eq!(
        space.read(GuestAddress(0), AccessSize::Word, PLAIN),
        (0x1234_5678, MemTxResult::OK)
    );
    let mut out = [0u8; 4];
    assert!(space.read_buf(GuestAddress(4), &mut out, PLAIN).is_ok());
    assert_eq!(out, [0xaa, 1, 2, 3]);
    // ROMD mode: reads come from memory.
    let mut out = [0u8; 16];
    assert!(space.read_buf(GuestAddress(0x100), &mut out, PLAIN).is_ok());
    assert_eq!(
        out,
        [0x55, 1, 2, 3, 4, 5, 6, 7, 8, 0x55, 0x55, 0x55, 9, 9, 0x55, 0x55]
    );
    // Out of ROMD mode: reads go to the callbacks.
    mem.lock().set_romd(romd, false).unwrap();
    assert_eq!(
        space.read(GuestAddress(0x104), AccessSize::Word, PLAIN),
        (4, MemTxResult::OK)
    );
    drop(mem);
    assert_eq!(
        rom_bytes,
        [0x78, 0x56, 0x34, 0x12, 0xaa, 1, 2, 3, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]
    );
}

/// Read sections held across commits: the old view stays readable (including RAM of a
/// destroyed region) and is only reclaimed once the section ends; an unchanged commit
/// restamps the current view instead of publishing a new one.
#[test]
fn read_sections_across_commits() {
    let mut a_bytes = vec![0xa0u8; 16];
    let mut b_bytes = vec![0xb0u8; 16];
    let mem = Box::new(Mem::new());
    let mut g = mem.lock();
    let root = g.root_owner().unwrap();
    let sys = g
        .create_container(root, "sys", RegionSize::FULL, None)
        .unwrap();
    let a = g
        .create_ram(root, "a", RamBlock::new(&mut a_bytes))
        .map_err(|r| r.error)
        .unwrap();
    let b = g
        .create_ram(root, "b", RamBlock::new(&mut b_bytes))
        .map_err(|r| r.error)
        .unwrap();
    g.add_subregion(sys, RegionOffset(0), a, Priority(0))
        .unwrap();
    let id = g.create_address_space(sys, "sys").unwrap();
    drop(g);
    let space = mem.space(id).unwrap();
    let old = space.section().unwrap();
    let generation = old.view().generation();
    let epoch = old.epoch();

    // An unchanged commit: same view, restamped (generation unchanged).
    mem.lock().set_enabled(a, true).unwrap();
    assert_eq!(space.generation(), generation);
    assert!(space.section().unwrap().epoch() > epoch);

    // Map b over a; destroy a while `old` still sees it.
    let mut g = mem.lock();
    g.begin();
    g.add_subregion(sys, RegionOffset(8), b, Priority(1))
        .unwrap();
    g.destroy_region(a).unwrap();
    g.commit().unwrap();
    assert_eq!(g.awaiting_reclaim(), 1);
    assert!(g.take_released_ram().is_none());
    drop(g);
    assert_ne!(space.generation(), generation);
    let new = space.section().unwrap();
    assert_eq!(
        new.read(GuestAddress(0), AccessSize::Byte, PLAIN),
        (0, MemTxResult::DECODE_ERROR)
    );
    assert_eq!(
        new.read(GuestAddress(8), AccessSize::Byte, PLAIN),
        (0xb0, MemTxResult::OK)
    );
    // The old section still reads (and writes) a's memory.
    assert!(old
        .write(GuestAddress(12), AccessSize::Word, 0xdead_beef, PLAIN)
        .is_ok());
    assert_eq!(
        old.read(GuestAddress(12), AccessSize::Word, PLAIN),
        (0xdead_beef, MemTxResult::OK)
    );
    // Another commit while `old` and `new` are pinned: the third copy is free.
    mem.lock().set_address(b, RegionOffset(4)).unwrap();
    assert_eq!(mem.lock().awaiting_reclaim(), 1);
    drop(new);
    drop(old);
    let mut g = mem.lock();
    assert_eq!(g.reclaim(), 1);
    let block = g.take_released_ram().unwrap();
    assert_eq!(block.into_slice()[12..], [0xef, 0xbe, 0xad, 0xde]);
    drop(g);
    drop(mem);
    assert_eq!(a_bytes[0], 0xa0);
}

#[derive(Debug, PartialEq)]
struct Pair([u64; 2]);

impl ConstInit for Pair {
    const INIT: Self = Pair([0, 0]);
}

/// The grace API directly: every unsafe writer call and both reader paths.
#[test]
fn published_directly() {
    let p: Published<Pair, 3> = Published::new();
    assert!(p.pin().is_none());
    // SAFETY: one thread, so one writer.
    unsafe {
        assert!(p.read_current(|c| c.is_none()));
        p.restamp_current(1); // nothing current: no-op
        let j = p.free_copy().unwrap();
        p.write_copy(j, |v| v.0 = [1, 1]);
        p.publish(j, 1);
    }
    let pin = p.pin().unwrap();
    assert_eq!(pin.with(|v| v.0), [1, 1]);
    assert_eq!(*pin, Pair([1, 1]));
    assert_eq!(pin.epoch(), 1);
    assert!(!p.pinned_before(1));
    // SAFETY: one thread, so one writer; the copy it writes is not the pinned one.
    unsafe {
        let j = p.free_copy().unwrap();
        p.write_copy(j, |v| v.0 = [2, 2]);
        assert_eq!(p.read_current(|c| c.map(|c| c.0)), Some([1, 1]));
        p.publish(j, 2);
        p.restamp_current(3);
    }
    assert!(p.pinned_before(2));
    assert_eq!(p.readers(), 1);
    assert_eq!(*pin, Pair([1, 1]));
    drop(pin);
    assert!(!p.pinned_before(3));
    assert_eq!(p.pin().unwrap().epoch(), 3);
}

/// Two threads on a bare `Published`: a reader pins and checks pairs while the writer
/// publishes.
#[test]
fn published_two_threads() {
    let p: Published<Pair, 3> = Published::new();
    // SAFETY: no other thread yet.
    unsafe {
        let j = p.free_copy().unwrap();
        p.write_copy(j, |v| v.0 = [0, 0]);
        p.publish(j, 1);
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut last = 0;
            for _ in 0..20 {
                let pin = p.pin().unwrap();
                let [x, y] = pin.with(|v| v.0);
                assert_eq!(x, y);
                assert!(x >= last);
                last = x;
                assert_eq!(pin.0[0], x);
            }
        });
        for v in 1..=10u64 {
            // SAFETY: this thread is the only writer.
            unsafe {
                let j = loop {
                    match p.free_copy() {
                        Some(j) => break j,
                        None => std::thread::yield_now(),
                    }
                };
                p.write_copy(j, |c| c.0 = [v, v]);
                p.publish(j, v as u32 + 1);
            }
        }
    });
    assert_eq!(p.readers(), 0);
}

/// One thread reads RAM through the address space (scalars and buffers, fresh sections and
/// a held one) while the other moves the RAM, maps and unmaps an alias over it, writes RAM
/// with the same aligned accesses, and commits.
#[test]
fn reader_thread_while_writer_commits() {
    let mut bytes = vec![0x11u8; 32];
    let mem = Box::new(Mem::new());
    let (id, ram, sys, alias) = {
        let mut g = mem.lock();
        let root = g.root_owner().unwrap();
        let sys = g
            .create_container(root, "sys", RegionSize::FULL, None)
            .unwrap();
        let ram = g
            .create_ram(root, "ram", RamBlock::new(&mut bytes))
            .map_err(|r| r.error)
            .unwrap();
        let alias = g
            .create_alias(root, "alias", size(16), ram, RegionOffset(16))
            .unwrap();
        g.add_subregion(sys, RegionOffset(0x100), ram, Priority(0))
            .unwrap();
        let id = g.create_address_space(sys, "sys").unwrap();
        (id, ram, sys, alias)
    };
    let space = mem.space(id).unwrap();
    // Pinned before the writer starts: it always sees the RAM at 0x100.
    let held = space.section().unwrap();
    std::thread::scope(|s| {
        s.spawn(move || {
            for i in 0..12u64 {
                // Wherever the RAM is, it reads 0x11 or what the writer stored (the writer
                // only stores 0x11 bytes too, with 4-byte accesses at 4-byte offsets).
                for addr in [0x100, 0x200, 0x300] {
                    let (v, r) =
                        space.read(GuestAddress(addr + 4 * (i % 4)), AccessSize::Word, PLAIN);
                    assert!(r.is_ok() || v == 0);
                    if r.is_ok() {
                        assert_eq!(v, 0x1111_1111);
                    }
                }
                let (v, r) = held.read(GuestAddress(0x104), AccessSize::Word, PLAIN);
                assert_eq!((v, r), (0x1111_1111, MemTxResult::OK));
                let _ = space.find(GuestAddress(0x100), 0x300);
            }
        });
        for i in 0..6u64 {
            let mut g = mem.lock();
            g.begin();
            g.set_address(ram, RegionOffset(0x100 + 0x100 * (i % 2)))
                .unwrap();
            if i % 2 == 0 {
                g.add_subregion(sys, RegionOffset(0x300), alias, Priority(1))
                    .unwrap();
            } else {
                g.remove_subregion(sys, alias).unwrap();
            }
            g.commit().unwrap();
            drop(g);
            let base = 0x100 + 0x100 * (i % 2);
            let r = space.write(
                GuestAddress(base + 4 * (i % 4)),
                AccessSize::Word,
                0x1111_1111,
                PLAIN,
            );
            assert!(r.is_ok());
        }
    });
    let mut g = mem.lock();
    g.destroy_region(ram).unwrap();
    assert_eq!(g.take_released_ram().map(|b| b.len()), Some(32));
    drop(g);
    drop(mem);
    assert!(bytes.iter().all(|&b| b == 0x11));
}

/// `dma.rs`: a RAM lease's direct `copy_to`/`copy_from`, its pin across a destroy (the block
/// must stay valid while the lease lives), and a bounced lease.
#[test]
fn dma_lease_copies_and_pin_across_unplug() {
    use fief_core::memory::{DmaDirection, DmaError, LeaseTable};
    let dev = Dev;
    let mut backing = vec![0x11u8; 64];
    let mem: Box<Mem<'_>> = Box::new(Mem::new());
    let table = LeaseTable::<2, 1, 8>::new();
    let mut g = mem.lock();
    let owner = g.root_owner().unwrap();
    let device = g.create_owner(owner, "dev").unwrap();
    let root = g
        .create_container(owner, "root", size(0x1000), None)
        .unwrap();
    let ram = g
        .create_ram(device, "ram", RamBlock::new(&mut backing))
        .unwrap();
    let mmio = g.create_mmio(owner, "mmio", size(0x10), &dev).unwrap();
    g.add_subregion(root, RegionOffset(0x100), ram, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x200), mmio, Priority(0))
        .unwrap();
    let space = g.create_address_space(root, "s").unwrap();
    drop(g);

    let lease = table
        .map(
            &*mem,
            space,
            GuestAddress(0x104),
            16,
            DmaDirection::FromDevice,
            PLAIN,
        )
        .unwrap();
    table.write(&*mem, lease.handle, 0, &[1, 2, 3, 4]).unwrap();
    let mut out = [0u8; 6];
    table.read(&*mem, lease.handle, 0, &mut out).unwrap();
    assert_eq!(out, [1, 2, 3, 4, 0x11, 0x11]);
    let mut g = mem.lock();
    g.destroy_owner(device).unwrap();
    assert!(!g.unplug_complete(device));
    drop(g);
    assert_eq!(
        table.read(&*mem, lease.handle, 0, &mut out),
        Err(DmaError::Revoked)
    );
    table.unmap(&*mem, lease.handle, 0).unwrap();
    let mut g = mem.lock();
    assert!(g.unplug_complete(device));
    let block = g.take_released_ram().unwrap();
    assert_eq!(&block.into_slice()[4..8], &[1, 2, 3, 4]);
    drop(g);

    let bounced = table
        .map(
            &*mem,
            space,
            GuestAddress(0x200),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    assert!(bounced.bounced);
    let mut four = [0u8; 4];
    table.read(&*mem, bounced.handle, 0, &mut four).unwrap();
    table.unmap(&*mem, bounced.handle, 4).unwrap();
}

/// `dma.rs` `LeaseTable::copy` and `ram.rs` `RamPtr::copy_between`: RAM to RAM (overlapping
/// ranges of one block), RAM to a bounce buffer, a bounce buffer to RAM.
#[test]
fn dma_lease_to_lease_copies() {
    use fief_core::memory::{DmaDirection, LeaseTable};
    let dev = Dev;
    let mut backing: Vec<u8> = (0..64).collect();
    let mem: Box<Mem<'_>> = Box::new(Mem::new());
    let table = LeaseTable::<4, 2, 8>::new();
    let mut g = mem.lock();
    let owner = g.root_owner().unwrap();
    let root = g
        .create_container(owner, "root", size(0x1000), None)
        .unwrap();
    let ram = g
        .create_ram(owner, "ram", RamBlock::new(&mut backing))
        .unwrap();
    let mmio = g.create_mmio(owner, "mmio", size(0x10), &dev).unwrap();
    g.add_subregion(root, RegionOffset(0x100), ram, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x200), mmio, Priority(0))
        .unwrap();
    let space = g.create_address_space(root, "s").unwrap();
    drop(g);
    let map = |addr: u64, len: u64, dir: DmaDirection| {
        table
            .map(&*mem, space, GuestAddress(addr), len, dir, PLAIN)
            .unwrap()
    };
    // Overlapping: bytes 0..16 onto 4..20 of the same block (memmove semantics).
    let src = map(0x100, 16, DmaDirection::ToDevice);
    let dst = map(0x104, 16, DmaDirection::FromDevice);
    table.copy(&*mem, src.handle, 0, dst.handle, 0, 16).unwrap();
    table.unmap(&*mem, src.handle, 0).unwrap();
    table.unmap(&*mem, dst.handle, 16).unwrap();
    let mut out = [0u8; 20];
    table
        .map(
            &*mem,
            space,
            GuestAddress(0x100),
            20,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .map(|l| {
            table.read(&*mem, l.handle, 0, &mut out).unwrap();
            table.unmap(&*mem, l.handle, 0).unwrap();
        })
        .unwrap();
    assert_eq!(&out[4..20], &(0..16).collect::<Vec<u8>>()[..]);
    // RAM to a bounce buffer and back.
    let ram_src = map(0x120, 8, DmaDirection::ToDevice);
    let bounce = map(0x200, 8, DmaDirection::FromDevice);
    assert!(bounce.bounced);
    table
        .copy(&*mem, ram_src.handle, 0, bounce.handle, 0, 8)
        .unwrap();
    let bounce_src = map(0x200, 8, DmaDirection::ToDevice);
    let ram_dst = map(0x130, 8, DmaDirection::FromDevice);
    table
        .copy(&*mem, bounce_src.handle, 0, ram_dst.handle, 0, 8)
        .unwrap();
    for l in [ram_src, bounce, bounce_src, ram_dst] {
        let _ = table.unmap(&*mem, l.handle, 8);
    }
    assert_eq!(table.active(), 0);
}

/// Builds the layout of `cached_section_matches_the_section`: two pages of RAM at 0x1000,
/// 64 bytes of RAM at 0x4010 (smaller than a page), a ROM page at 0x6000, a device at
/// 0x8000 and nothing else.
fn cache_layout<'a>(
    mem: &Mem<'a>,
    ram: &'a mut [u8],
    small: &'a mut [u8],
    rom: &'a mut [u8],
    dev: &'a Dev,
) -> fief_core::memory::SpaceId {
    let mut g = mem.lock();
    let root = g.root_owner().unwrap();
    let sys = g
        .create_container(root, "sys", RegionSize::FULL, None)
        .unwrap();
    let r = g
        .create_ram(root, "ram", RamBlock::new(ram))
        .map_err(|r| r.error)
        .unwrap();
    let s = g
        .create_ram(root, "small", RamBlock::new(small))
        .map_err(|r| r.error)
        .unwrap();
    let o = g
        .create_rom(root, "rom", RamBlock::new(rom))
        .map_err(|r| r.error)
        .unwrap();
    let d = g.create_mmio(root, "dev", size(0x100), dev).unwrap();
    g.begin();
    for (at, region) in [(0x1000, r), (0x4010, s), (0x6000, o), (0x8000, d)] {
        g.add_subregion(sys, RegionOffset(at), region, Priority(0))
            .unwrap();
    }
    let id = g.create_address_space(sys, "sys").unwrap();
    g.commit().unwrap();
    id
}

/// `CachedSection` against `ReadSection`: the same accesses on two identical machines give
/// the same values, results and memory contents (RAM pages, page-crossing and
/// block-crossing accesses, a sub-page RAM region, ROM, MMIO, holes), and its hit path
/// (`RamPtr::load`/`store` on a cached page) runs under Miri.
#[test]
fn cached_section_matches_the_section() {
    let (mut ram_a, mut ram_b) = (vec![0u8; 0x2000], vec![0u8; 0x2000]);
    let (mut small_a, mut small_b) = (vec![0u8; 64], vec![0u8; 64]);
    let (mut rom_a, mut rom_b) = (vec![0x5au8; 0x1000], vec![0x5au8; 0x1000]);
    let (dev_a, dev_b) = (Dev, Dev);
    let (mem_a, mem_b) = (Box::new(Mem::new()), Box::new(Mem::new()));
    let id_a = cache_layout(&mem_a, &mut ram_a, &mut small_a, &mut rom_a, &dev_a);
    let id_b = cache_layout(&mem_b, &mut ram_b, &mut small_b, &mut rom_b, &dev_b);
    {
        let (space_a, space_b) = (mem_a.space(id_a).unwrap(), mem_b.space(id_b).unwrap());
        let section_a = space_a.section().unwrap();
        let section_b = space_b.section().unwrap();
        // Four entries: pages 0x1, 0x5 and 0x9 share one, so entries are also replaced.
        let mut cached = section_a.cached::<4>();
        let addrs = [
            0x1000, 0x1008, 0x1ffc, 0x1ffe, 0x2000, 0x2ff8, 0x2ffe, 0x3000, 0x4010, 0x4048, 0x404e,
            0x6000, 0x6ff8, 0x8000, 0x8010, 0x9000, 0x1010, 0x5000,
        ];
        let mut value = 0x1122_3344_5566_7788u64;
        for round in 0..3 {
            for (k, &a) in addrs.iter().enumerate() {
                let s = SIZES[(k + round) % 4];
                let addr = GuestAddress(a);
                value = value.rotate_left(13) ^ 0x9e37_79b9_7f4a_7c15;
                if (k + round) % 3 != 0 {
                    assert_eq!(
                        cached.write(addr, s, value, PLAIN),
                        section_b.write(addr, s, value, PLAIN),
                        "write {s:?} at {a:#x}"
                    );
                }
                assert_eq!(
                    cached.read(addr, s, PLAIN),
                    section_b.read(addr, s, PLAIN),
                    "read {s:?} at {a:#x}"
                );
            }
        }
        assert_eq!(cached.section().epoch(), section_a.epoch());
    }
    drop((mem_a, mem_b));
    assert_eq!(ram_a, ram_b);
    assert_eq!(small_a, small_b);
    assert_eq!(rom_a, rom_b);
    assert!(ram_a.iter().any(|&b| b != 0), "the RAM writes landed");
}
