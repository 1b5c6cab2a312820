//! DMA benchmarks, each with its baseline in the same run (see `BENCHMARKS.md`):
//!
//! * `dma_copy/engine_workers/N`: a RAM-to-RAM copy of N bytes through the `virt32` DMA
//!   engine, started as a guest would (`DESC`, `CONTROL = START`) and run by the host's two
//!   DMA worker threads (a lease pair per 4 KiB chunk), timed until `STATUS` leaves busy.
//! * `dma_copy/engine_poll/N`: the same transfer driven on the calling thread with
//!   `dma_poll` (the bare-metal main loop's way): no thread wake-up in the measurement.
//! * `dma_copy/memcpy/N`: `copy_from_slice` of N bytes between two buffers, the baseline.
//! * `unplug/no_lease` and `unplug/lease_outstanding`: `destroy_owner` + commit of a 64 KiB
//!   RAM device until `unplug_complete`; with a lease, the lease ends (`unmap`) between the
//!   commit and completion, as when a DMA chunk in flight finishes.

#![allow(clippy::unwrap_used, missing_docs)]

use std::cell::RefCell;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fief_boards::dma::{flags, state};
use fief_boards::virt32::{Virt32, Virt32Devices};
use fief_core::memory::{DmaDirection, GuestAddress, MemTxAttrs, Priority, RamBlock, RegionOffset};
use fief_host::dma_workers::DmaWorkers;

const SRC: u64 = 0x8100_0000;
const DST: u64 = 0x8200_0000;
const DESC: u64 = 0x8010_0000;
const HOT: u64 = 0x9000_0000;
const SIZES: [usize; 4] = [4 << 10, 64 << 10, 1 << 20, 8 << 20];

fn board() -> &'static Virt32<'static> {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 64 << 20].into_boxed_slice()));
    Box::leak(Box::new(Virt32::build(devices, ram, 1).unwrap()))
}

fn descriptor(board: &Virt32<'static>, len: usize) {
    let mut d = [0u8; 32];
    d[0..8].copy_from_slice(&SRC.to_le_bytes());
    d[8..16].copy_from_slice(&DST.to_le_bytes());
    d[24..28].copy_from_slice(&(len as u32).to_le_bytes());
    d[28..32].copy_from_slice(&flags::LAST.to_le_bytes());
    assert!(board
        .space()
        .write_buf(GuestAddress(DESC), &d, MemTxAttrs::UNSPECIFIED)
        .is_ok());
}

fn busy(board: &Virt32<'static>) -> bool {
    board.devices.dma.status(0) & 0xf == state::BUSY as u32
}

fn dma_copy(c: &mut Criterion) {
    let threaded = board();
    let workers = DmaWorkers::spawn(2, move |ch, n| threaded.dma_step(ch, n)).unwrap();
    threaded.devices.dma.set_doorbell(workers.doorbell());
    let polled = board();
    let mut group = c.benchmark_group("dma_copy");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for len in SIZES {
        group.throughput(Throughput::Bytes(len as u64));
        descriptor(threaded, len);
        group.bench_function(format!("engine_workers/{len}"), |b| {
            b.iter(|| {
                threaded.devices.dma.start(0, DESC);
                while busy(threaded) {
                    std::hint::spin_loop();
                }
            })
        });
        assert_eq!(threaded.devices.dma.bytes(0) as usize, len);
        descriptor(polled, len);
        group.bench_function(format!("engine_poll/{len}"), |b| {
            b.iter(|| {
                polled.devices.dma.start(0, DESC);
                while polled.dma_poll(64) != 0 {}
            })
        });
        assert_eq!(polled.devices.dma.status(0), state::DONE as u32);
        let src = vec![0x5au8; len];
        let mut dst = vec![0u8; len];
        group.bench_function(format!("memcpy/{len}"), |b| {
            b.iter(|| dst.copy_from_slice(black_box(&src)))
        });
        black_box(&dst);
    }
    group.finish();
    drop(workers);
}

fn unplug(c: &mut Criterion) {
    let board = board();
    let memory = &board.devices.memory;
    let leases = &board.devices.leases;
    let spare: RefCell<Vec<RamBlock<'static>>> = RefCell::new(
        (0..4)
            .map(|_| RamBlock::new(Box::leak(vec![0u8; 64 << 10].into_boxed_slice())))
            .collect(),
    );
    let mut group = c.benchmark_group("unplug");
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for with_lease in [false, true] {
        let name = if with_lease {
            "lease_outstanding"
        } else {
            "no_lease"
        };
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let block = spare.borrow_mut().pop().unwrap();
                    let mut g = memory.lock();
                    let root = g.root_owner().unwrap();
                    let owner = g.create_owner(root, "hot").unwrap();
                    let region = g.create_ram(owner, "hot", block).unwrap();
                    g.add_subregion(board.system, RegionOffset(HOT), region, Priority(0))
                        .unwrap();
                    drop(g);
                    let lease = with_lease.then(|| {
                        leases
                            .map(
                                memory,
                                board.space,
                                GuestAddress(HOT),
                                4096,
                                DmaDirection::FromDevice,
                                MemTxAttrs::UNSPECIFIED,
                            )
                            .unwrap()
                    });
                    (owner, lease)
                },
                |(owner, lease)| {
                    let mut g = memory.lock();
                    g.begin();
                    g.destroy_owner(owner).unwrap();
                    g.commit().unwrap();
                    if let Some(lease) = lease {
                        assert!(!g.unplug_complete(owner), "the lease holds the unplug");
                        drop(g);
                        leases.unmap(memory, lease.handle, 0).unwrap();
                        g = memory.lock();
                    }
                    while !g.unplug_complete(owner) {
                        std::hint::spin_loop();
                    }
                    while let Some(block) = g.take_released_ram() {
                        spare.borrow_mut().push(block);
                    }
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, dma_copy, unplug);
criterion_main!(benches);
