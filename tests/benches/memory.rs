//! Memory-API benchmarks. Every Fief measurement has a baseline measured in the same run, so
//! the interesting number is the ratio (see `BENCHMARKS.md` at the workspace root):
//!
//! * `lookup`: `FlatView::lookup` on a 64-region map vs a binary search (`partition_point`)
//!   over a plain sorted `Vec<(start, last, index)>` of the same ranges.
//! * `ram_read` / `ram_write`: 32-bit RAM accesses through `AddressSpace` (pin per access),
//!   through a `ReadSection` hopping between the 64 regions (full lookup every time) and
//!   through a `ReadSection` inside one region (last-range cache hits), vs a raw slice.
//! * `ram_buf`: 4 KiB `read_buf`/`write_buf` vs `copy_from_slice`.
//! * `commit`: one topology change (toggle one region's `enabled`) re-rendering a space of
//!   16, 256 or 4096 regions, vs sorting a `Vec<u64>` of as many elements.
//!
//! Addresses are pre-generated with a fixed-seed xorshift, so every run measures the same
//! access pattern.

#![allow(clippy::unwrap_used, missing_docs)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fief_core::memory::{
    AccessSize, GuestAddress, MemTxAttrs, MemTxResult, Memory, Priority, RamBlock, RegionHandle,
    RegionOffset, RegionSize, SpaceId,
};

/// Regions of the lookup and access benchmarks.
const REGIONS: usize = 64;
/// Bytes per RAM region (64 of them: 1 MiB in all, the same for the raw-slice baseline).
const REGION_BYTES: usize = 16 * 1024;
/// Where region 0 sits; region `i` is at `BASE + i * STRIDE`, leaving holes between regions.
const BASE: u64 = 0x8000_0000;
const STRIDE: u64 = 0x10_0000;
/// Accesses per benchmark iteration.
const BATCH: usize = 1024;
/// Buffer size of the `ram_buf` benchmarks, and buffers per iteration.
const BUF: usize = 4096;
const BUF_BATCH: usize = 64;

type SmallMemory = Memory<'static, 128, 8, 1, 256>;
type BigMemory = Memory<'static, 8192, 8, 1, 8192>;

const ATTRS: MemTxAttrs = MemTxAttrs::UNSPECIFIED;

/// Deterministic xorshift64.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// `count` RAM blocks of `bytes` bytes each, carved out of one leaked buffer.
fn leaked_blocks(count: usize, bytes: usize) -> impl Iterator<Item = RamBlock<'static>> {
    let buffer: &'static mut [u8] = Box::leak(vec![0u8; count * bytes].into_boxed_slice());
    buffer.chunks_mut(bytes).map(RamBlock::new)
}

/// Builds a memory on a thread with a large stack (`Memory::new()` is built by value, and
/// the 8192-region one is several MiB: too much for the main thread's stack in a debug
/// `cargo test --benches` run), and leaks it for `'static`.
fn leaked_memory<M: Send + Sync + 'static>(new: fn() -> M) -> &'static M {
    std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || &*Box::leak(Box::new(new())))
        .unwrap()
        .join()
        .unwrap()
}

/// A memory with `REGIONS` RAM regions of `REGION_BYTES` at `BASE + i * STRIDE` in one root
/// container, and its address space.
fn small_memory() -> (&'static SmallMemory, SpaceId) {
    let mem = leaked_memory(SmallMemory::new);
    let mut g = mem.lock();
    let owner = g.root_owner().unwrap();
    let root = g
        .create_container(owner, "root", RegionSize::FULL, None)
        .unwrap();
    g.begin();
    for (i, block) in leaked_blocks(REGIONS, REGION_BYTES).enumerate() {
        let ram = g.create_ram(owner, "ram", block).ok().unwrap();
        g.add_subregion(
            root,
            RegionOffset(BASE + i as u64 * STRIDE),
            ram,
            Priority(0),
        )
        .unwrap();
    }
    let space = g.create_address_space(root, "system").unwrap();
    g.commit().unwrap();
    drop(g);
    (mem, space)
}

/// `BATCH` random 4-byte-aligned accesses: guest addresses and the matching index in a raw
/// slice holding the regions back to back. `region` pins every access to one region.
fn accesses(seed: u64, region: Option<usize>) -> (Vec<u64>, Vec<usize>) {
    let mut rng = XorShift(seed);
    (0..BATCH)
        .map(|_| {
            let r = rng.next();
            let i = region.unwrap_or((r % REGIONS as u64) as usize);
            let off = ((r >> 16) as usize % (REGION_BYTES / 4)) * 4;
            (
                BASE + i as u64 * STRIDE + off as u64,
                i * REGION_BYTES + off,
            )
        })
        .unzip()
}

fn bench_lookup(c: &mut Criterion) {
    let (mem, id) = small_memory();
    let space = mem.space(id).unwrap();
    let section = space.section().unwrap();
    let view = section.view();
    assert_eq!(view.ranges().len(), REGIONS);
    let sorted: Vec<(u64, u64, usize)> = view
        .ranges()
        .iter()
        .enumerate()
        .map(|(i, r)| (r.start().0, r.last().0, i))
        .collect();
    let (addrs, _) = accesses(0x9E37_79B9_7F4A_7C15, None);

    let mut group = c.benchmark_group("lookup");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("fief_flatview_lookup", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for &a in black_box(&addrs) {
                if let Some(r) = view.lookup(GuestAddress(a)) {
                    acc = acc.wrapping_add(r.start().0);
                }
            }
            acc
        })
    });
    group.bench_function("baseline_sorted_vec", |b| {
        b.iter(|| {
            let mut acc = 0u64;
            for &a in black_box(&addrs) {
                let after = sorted.partition_point(|r| r.0 <= a);
                if let Some(r) = after.checked_sub(1).map(|i| &sorted[i]) {
                    if r.1 >= a {
                        acc = acc.wrapping_add(r.0);
                    }
                }
            }
            acc
        })
    });
    group.finish();
}

/// Sums the values `read` gives for `addrs` and ORs the results (what a CPU loop checks).
#[inline(always)]
fn sum_reads(
    addrs: &[u64],
    read: impl Fn(GuestAddress) -> (u64, MemTxResult),
) -> (u64, MemTxResult) {
    let mut acc = 0u64;
    let mut result = MemTxResult::OK;
    for &a in addrs {
        let (value, r) = read(GuestAddress(a));
        acc = acc.wrapping_add(value);
        result |= r;
    }
    (acc, result)
}

fn bench_ram(c: &mut Criterion) {
    let (mem, id) = small_memory();
    let space = mem.space(id).unwrap();
    let mut raw = vec![0u8; REGIONS * REGION_BYTES];
    // Same contents on both sides, so the reads sum to the same value.
    let mut rng = XorShift(7);
    raw.iter_mut().for_each(|b| *b = rng.next() as u8);
    for (i, chunk) in raw.chunks(REGION_BYTES).enumerate() {
        let addr = GuestAddress(BASE + i as u64 * STRIDE);
        assert!(space.write_buf(addr, chunk, ATTRS).is_ok());
    }
    let (hop, hop_idx) = accesses(0xDEAD_BEEF_CAFE_F00D, None);
    let (one, one_idx) = accesses(0x0123_4567_89AB_CDEF, Some(17));

    let raw_read = |raw: &[u8], idx: &[usize]| {
        let mut acc = 0u64;
        for &i in idx {
            acc = acc.wrapping_add(u32::from_le_bytes(raw[i..i + 4].try_into().unwrap()) as u64);
        }
        acc
    };

    let mut group = c.benchmark_group("ram_read");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("fief_address_space_hop", |b| {
        b.iter(|| sum_reads(black_box(&hop), |a| space.read(a, AccessSize::Word, ATTRS)))
    });
    group.bench_function("fief_section_hop", |b| {
        let section = space.section().unwrap();
        b.iter(|| {
            sum_reads(black_box(&hop), |a| {
                section.read(a, AccessSize::Word, ATTRS)
            })
        })
    });
    group.bench_function("fief_cached_section_hop", |b| {
        let section = space.section().unwrap();
        let mut cached = section.cached::<1024>();
        b.iter(|| {
            let mut acc = 0u64;
            let mut result = MemTxResult::OK;
            for &a in black_box(&hop) {
                let (value, r) = cached.read(GuestAddress(a), AccessSize::Word, ATTRS);
                acc = acc.wrapping_add(value);
                result |= r;
            }
            (acc, result)
        })
    });
    group.bench_function("baseline_slice_hop", |b| {
        b.iter(|| raw_read(black_box(&raw), black_box(&hop_idx)))
    });
    group.bench_function("fief_section_one_region", |b| {
        let section = space.section().unwrap();
        b.iter(|| {
            sum_reads(black_box(&one), |a| {
                section.read(a, AccessSize::Word, ATTRS)
            })
        })
    });
    group.bench_function("baseline_slice_one_region", |b| {
        b.iter(|| raw_read(black_box(&raw), black_box(&one_idx)))
    });
    group.finish();

    // The two sides hold the same bytes.
    let section = space.section().unwrap();
    let (fief_sum, result) = sum_reads(&hop, |a| section.read(a, AccessSize::Word, ATTRS));
    assert!(result.is_ok());
    assert_eq!(fief_sum, raw_read(&raw, &hop_idx));
    let mut cached = section.cached::<1024>();
    let (mut cached_sum, mut cached_result) = (0u64, MemTxResult::OK);
    for _ in 0..2 {
        // Twice: the first pass fills the cache, the second hits it.
        (cached_sum, cached_result) = (0, MemTxResult::OK);
        for &a in &hop {
            let (value, r) = cached.read(GuestAddress(a), AccessSize::Word, ATTRS);
            cached_sum = cached_sum.wrapping_add(value);
            cached_result |= r;
        }
    }
    assert!(cached_result.is_ok());
    assert_eq!(cached_sum, fief_sum);
    drop(section);

    let mut group = c.benchmark_group("ram_write");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("fief_address_space_hop", |b| {
        b.iter(|| {
            let mut result = MemTxResult::OK;
            for (n, &a) in black_box(&hop).iter().enumerate() {
                result |= space.write(GuestAddress(a), AccessSize::Word, n as u64, ATTRS);
            }
            result
        })
    });
    group.bench_function("fief_section_hop", |b| {
        let section = space.section().unwrap();
        b.iter(|| {
            let mut result = MemTxResult::OK;
            for (n, &a) in black_box(&hop).iter().enumerate() {
                result |= section.write(GuestAddress(a), AccessSize::Word, n as u64, ATTRS);
            }
            result
        })
    });
    group.bench_function("fief_cached_section_hop", |b| {
        let section = space.section().unwrap();
        let mut cached = section.cached::<1024>();
        b.iter(|| {
            let mut result = MemTxResult::OK;
            for (n, &a) in black_box(&hop).iter().enumerate() {
                result |= cached.write(GuestAddress(a), AccessSize::Word, n as u64, ATTRS);
            }
            result
        })
    });
    group.bench_function("baseline_slice_hop", |b| {
        b.iter(|| {
            let raw = black_box(&mut raw[..]);
            for (n, &i) in black_box(&hop_idx).iter().enumerate() {
                raw[i..i + 4].copy_from_slice(&(n as u32).to_le_bytes());
            }
        })
    });
    group.finish();

    // 4 KiB buffers at random 4 KiB-aligned places of random regions.
    let mut rng = XorShift(0x5151_5151_5151_5151);
    let (bufs, buf_idx): (Vec<u64>, Vec<usize>) = (0..BUF_BATCH)
        .map(|_| {
            let r = rng.next();
            let i = (r % REGIONS as u64) as usize;
            let off = ((r >> 16) as usize % (REGION_BYTES / BUF)) * BUF;
            (
                BASE + i as u64 * STRIDE + off as u64,
                i * REGION_BYTES + off,
            )
        })
        .unzip();
    let mut out = vec![0u8; BUF];
    let data = vec![0x5Au8; BUF];
    let mut group = c.benchmark_group("ram_buf_4k");
    group.throughput(Throughput::Bytes((BUF * BUF_BATCH) as u64));
    group.bench_function("fief_read_buf", |b| {
        b.iter(|| {
            let mut result = MemTxResult::OK;
            for &a in black_box(&bufs) {
                result |= space.read_buf(GuestAddress(a), &mut out, ATTRS);
                black_box(&out);
            }
            result
        })
    });
    group.bench_function("baseline_copy_from_slice_read", |b| {
        b.iter(|| {
            for &i in black_box(&buf_idx) {
                out.copy_from_slice(&black_box(&raw[..])[i..i + BUF]);
                black_box(&out);
            }
        })
    });
    group.bench_function("fief_write_buf", |b| {
        b.iter(|| {
            let mut result = MemTxResult::OK;
            for &a in black_box(&bufs) {
                result |= space.write_buf(GuestAddress(a), black_box(&data), ATTRS);
            }
            result
        })
    });
    group.bench_function("baseline_copy_from_slice_write", |b| {
        b.iter(|| {
            for &i in black_box(&buf_idx) {
                black_box(&mut raw[..])[i..i + BUF].copy_from_slice(black_box(&data));
            }
        })
    });
    group.finish();
}

/// A memory with `n` 64-byte RAM regions at 4 KiB steps in one root container, its address
/// space published; returns the space and the region to toggle (the middle one).
fn commit_memory(n: usize) -> (&'static BigMemory, SpaceId, RegionHandle) {
    let mem = leaked_memory(BigMemory::new);
    let mut g = mem.lock();
    let owner = g.root_owner().unwrap();
    let root = g
        .create_container(owner, "root", RegionSize::FULL, None)
        .unwrap();
    g.begin();
    let mut toggled = None;
    for (i, block) in leaked_blocks(n, 64).enumerate() {
        let ram = g.create_ram(owner, "ram", block).ok().unwrap();
        g.add_subregion(root, RegionOffset(i as u64 * 0x1000), ram, Priority(0))
            .unwrap();
        if i == n / 2 {
            toggled = Some(ram);
        }
    }
    let space = g.create_address_space(root, "system").unwrap();
    g.commit().unwrap();
    drop(g);
    (mem, space, toggled.unwrap())
}

fn bench_commit(c: &mut Criterion) {
    let mut group = c.benchmark_group("commit");
    for n in [16usize, 256, 4096] {
        let (mem, space, toggled) = commit_memory(n);
        group.bench_function(format!("fief_toggle_one_of_{n}"), |b| {
            let mut g = mem.lock();
            let mut enabled = true;
            b.iter(|| {
                enabled = !enabled;
                g.begin();
                g.set_enabled(toggled, enabled).unwrap();
                g.commit().unwrap();
            });
            // Leave the region enabled and check the view tracked the toggles.
            g.set_enabled(toggled, true).unwrap();
            drop(g);
            let space = mem.space(space).unwrap();
            assert_eq!(space.section().unwrap().view().ranges().len(), n);
        });
        let mut rng = XorShift(0xABCD_EF01 ^ n as u64);
        let values: Vec<u64> = (0..n).map(|_| rng.next()).collect();
        group.bench_function(format!("baseline_sort_vec_u64_{n}"), |b| {
            b.iter_batched_ref(
                || values.clone(),
                |v| v.sort_unstable(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_lookup, bench_ram, bench_commit);
criterion_main!(benches);
