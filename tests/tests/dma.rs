//! DMA leases, bounce buffers, the re-entrancy guard and unplug during DMA (rules L7–L9),
//! through the core API.
#![allow(clippy::unwrap_used)]

use std::sync::OnceLock;

use fief_core::memory::{
    AccessRules, AccessSize, DmaDirection, DmaError, GuestAddress, LeaseTable, MemTxAttrs,
    MemTxResult, MmioOps, Priority, RegionOffset, RegionSize, SpaceId,
};
use fief_tests::{leak, memory, ram, size, RecordingDevice, TestMemory};

const PLAIN: MemTxAttrs = MemTxAttrs::UNSPECIFIED;
type Table = LeaseTable<4, 2, 64>;

/// Root container as space 0, RAM "a" (0x1000 bytes of 0xAA) at 0x1000 and RAM "b" (0xBB)
/// right after it at 0x2000, MMIO recording device at 0x8000.
fn setup() -> (&'static TestMemory, SpaceId, &'static RecordingDevice) {
    let mem: &'static TestMemory = Box::leak(memory());
    let dev = leak(RecordingDevice::new(0x40, AccessRules::DEFAULT));
    let mut g = mem.lock();
    let root_owner = g.root_owner().unwrap();
    g.begin();
    let root = g
        .create_container(root_owner, "system", RegionSize::FULL, None)
        .unwrap();
    let a = g.create_ram(root_owner, "a", ram(0x1000, 0xAA)).unwrap();
    let b = g.create_ram(root_owner, "b", ram(0x1000, 0xBB)).unwrap();
    let m = g.create_mmio(root_owner, "dev", size(0x100), dev).unwrap();
    g.add_subregion(root, RegionOffset(0x1000), a, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x2000), b, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x8000), m, Priority(0))
        .unwrap();
    let space = g.create_address_space(root, "system").unwrap();
    g.commit().unwrap();
    drop(g);
    (mem, space, dev)
}

#[test]
fn lease_is_shorter_at_a_region_boundary() {
    let (mem, space, _) = setup();
    let table = Table::new();
    let lease = table
        .map(
            mem,
            space,
            GuestAddress(0x1f00),
            0x800,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    assert_eq!(lease.len, 0x100, "stops at the end of region a");
    assert!(!lease.bounced);
    let mut buf = [0u8; 0x100];
    table.read(mem, lease.handle, 0, &mut buf).unwrap();
    assert!(buf.iter().all(|&b| b == 0xAA));
    assert_eq!(
        table.read(mem, lease.handle, 0xff, &mut [0u8; 2]),
        Err(DmaError::OutOfLease { len: 0x100 })
    );
    table.unmap(mem, lease.handle, 0x100).unwrap();
}

#[test]
fn ram_lease_writes_reach_guest_memory_directly() {
    let (mem, space, _) = setup();
    let table = Table::new();
    let lease = table
        .map(
            mem,
            space,
            GuestAddress(0x2010),
            16,
            DmaDirection::FromDevice,
            PLAIN,
        )
        .unwrap();
    table.write(mem, lease.handle, 4, &[1, 2, 3, 4]).unwrap();
    // Visible before unmap: the lease is the guest's memory, not a copy.
    let bus = mem.space(space).unwrap();
    let (v, r) = bus.read(GuestAddress(0x2014), AccessSize::Word, PLAIN);
    assert_eq!((v, r), (0x0403_0201, MemTxResult::OK));
    table.unmap(mem, lease.handle, 16).unwrap();
}

#[test]
fn bounce_buffer_for_mmio_writes_back_only_bytes_done() {
    let (mem, space, dev) = setup();
    let table = Table::new();
    let lease = table
        .map(
            mem,
            space,
            GuestAddress(0x8000),
            16,
            DmaDirection::FromDevice,
            PLAIN,
        )
        .unwrap();
    assert!(lease.bounced);
    assert_eq!(lease.len, 16);
    table.write(mem, lease.handle, 0, &[0x11; 16]).unwrap();
    assert!(
        dev.calls().is_empty(),
        "nothing reaches the device before unmap"
    );
    table.unmap(mem, lease.handle, 6).unwrap();
    let calls = dev.calls();
    let written: u32 = calls.iter().filter(|c| c.write).map(|c| c.size).sum();
    assert_eq!(written, 6, "only bytes_done are written back: {calls:?}");
    assert!(calls.iter().all(|c| c.write && c.offset < 6));
    let bytes = dev.bytes.lock().unwrap();
    assert_eq!(&bytes[..6], &[0x11; 6]);
    assert_eq!(bytes[6], 0x40 ^ 6, "byte 6 untouched");
}

#[test]
fn bounce_read_lease_is_prefilled_from_the_device() {
    let (mem, space, dev) = setup();
    let table = Table::new();
    let lease = table
        .map(
            mem,
            space,
            GuestAddress(0x8010),
            8,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    assert!(lease.bounced);
    let mut buf = [0u8; 8];
    table.read(mem, lease.handle, 0, &mut buf).unwrap();
    let expected: Vec<u8> = (0x10..0x18).map(|i| 0x40 ^ i as u8).collect();
    assert_eq!(&buf[..], &expected[..]);
    assert!(dev.calls().iter().all(|c| !c.write));
    table.unmap(mem, lease.handle, 0).unwrap();
}

#[test]
fn busy_when_bounce_buffers_run_out_then_retry_succeeds() {
    let (mem, space, _) = setup();
    let table = Table::new(); // two bounce buffers
    let first = table
        .map(
            mem,
            space,
            GuestAddress(0x8000),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    let second = table
        .map(
            mem,
            space,
            GuestAddress(0x8004),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    let epoch = table.bounce_epoch();
    assert_eq!(
        table.map(
            mem,
            space,
            GuestAddress(0x8008),
            4,
            DmaDirection::ToDevice,
            PLAIN
        ),
        Err(DmaError::Busy)
    );
    // RAM leases need no bounce buffer.
    let ram = table
        .map(
            mem,
            space,
            GuestAddress(0x1000),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    table.unmap(mem, first.handle, 0).unwrap();
    assert_ne!(table.bounce_epoch(), epoch, "the retry signal moved");
    let third = table
        .map(
            mem,
            space,
            GuestAddress(0x8008),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    for lease in [second, third, ram] {
        table.unmap(mem, lease.handle, 0).unwrap();
    }
}

#[test]
fn stale_lease_handle_is_refused() {
    let (mem, space, _) = setup();
    let table = Table::new();
    let lease = table
        .map(
            mem,
            space,
            GuestAddress(0x1000),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    table.unmap(mem, lease.handle, 4).unwrap();
    assert_eq!(
        table.read(mem, lease.handle, 0, &mut [0u8; 4]),
        Err(DmaError::Stale)
    );
    assert_eq!(table.unmap(mem, lease.handle, 4), Err(DmaError::Stale));
    // The slot is reused; the old handle still reaches nothing.
    let again = table
        .map(
            mem,
            space,
            GuestAddress(0x1000),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    assert_ne!(again.handle, lease.handle);
    assert_eq!(
        table.write(mem, lease.handle, 0, &[0; 4]),
        Err(DmaError::Stale)
    );
}

#[test]
fn lease_table_full_is_an_error_and_pins_nothing() {
    let (mem, space, _) = setup();
    let table = LeaseTable::<2, 1, 16>::new();
    let a = table
        .map(
            mem,
            space,
            GuestAddress(0x1000),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    let b = table
        .map(
            mem,
            space,
            GuestAddress(0x1004),
            4,
            DmaDirection::ToDevice,
            PLAIN,
        )
        .unwrap();
    assert_eq!(
        table.map(
            mem,
            space,
            GuestAddress(0x2000),
            4,
            DmaDirection::ToDevice,
            PLAIN
        ),
        Err(DmaError::TableFull)
    );
    assert_eq!(
        table.map(
            mem,
            space,
            GuestAddress(0x8000),
            4,
            DmaDirection::ToDevice,
            PLAIN
        ),
        Err(DmaError::TableFull),
        "a refused bounced map gives its buffer back"
    );
    table.unmap(mem, a.handle, 0).unwrap();
    table.unmap(mem, b.handle, 0).unwrap();
    assert_eq!(table.active(), 0);
    // Region b was never pinned by the refused map: destroying it completes at once.
    let mut g = mem.lock();
    let root = g.root_owner().unwrap();
    let dev = g.create_owner(root, "late").unwrap();
    let late = g.create_ram(dev, "late", ram(0x100, 0)).unwrap();
    let (_, sysroot) = g.address_space(space).unwrap();
    g.add_subregion(sysroot, RegionOffset(0x9000), late, Priority(0))
        .unwrap();
    g.destroy_owner(dev).unwrap();
    assert!(g.unplug_complete(dev));
}

#[test]
fn unplug_while_leased_waits_for_unmap_and_memory_is_not_reused_before() {
    let (mem, space, _) = setup();
    let table = Table::new();
    let mut g = mem.lock();
    let root_owner = g.root_owner().unwrap();
    let (_, root) = g.address_space(space).unwrap();
    let dev = g.create_owner(root_owner, "hot").unwrap();
    let block = ram(0x100, 0x5A);
    let block_ptr = block.as_ptr();
    let hot = g.create_ram(dev, "hot", block).unwrap();
    g.add_subregion(root, RegionOffset(0x4000), hot, Priority(0))
        .unwrap();
    drop(g);

    let lease = table
        .map(
            mem,
            space,
            GuestAddress(0x4000),
            0x100,
            DmaDirection::FromDevice,
            PLAIN,
        )
        .unwrap();
    let mut g = mem.lock();
    g.destroy_owner(dev).unwrap();
    // Gone from the view at the commit...
    drop(g);
    let bus = mem.space(space).unwrap();
    assert_eq!(
        bus.read(GuestAddress(0x4000), AccessSize::Byte, PLAIN).1,
        MemTxResult::DECODE_ERROR
    );
    // ...but not complete, and the block not handed back, while the lease lives.
    let mut g = mem.lock();
    assert!(!g.unplug_complete(dev));
    assert!(g.take_released_ram().is_none());
    assert_eq!(g.awaiting_reclaim(), 1);
    drop(g);
    // The lease answers Revoked: it never writes memory that may be reused.
    assert_eq!(
        table.write(mem, lease.handle, 0, &[0xFF; 4]),
        Err(DmaError::Revoked)
    );
    table.unmap(mem, lease.handle, 0).unwrap();
    let mut g = mem.lock();
    assert!(g.unplug_complete(dev), "complete once the lease ended");
    let back = g
        .take_released_ram()
        .expect("block released after the lease");
    assert_eq!(back.as_ptr(), block_ptr);
    assert!(
        back.into_slice().iter().all(|&b| b == 0x5A),
        "no byte was written after revocation"
    );
}

#[test]
fn map_of_a_destroyed_but_still_visible_region_is_revoked() {
    let (mem, space, _) = setup();
    let table = Table::new();
    let bus = mem.space(space).unwrap();
    let section = bus.section().unwrap(); // an old reader keeps the old view published
    let mut g = mem.lock();
    let root_owner = g.root_owner().unwrap();
    let (_, root) = g.address_space(space).unwrap();
    let victim = g
        .subregions(root)
        .unwrap()
        .find(|&r| g.region_info(r).unwrap().name == "a")
        .unwrap();
    let _ = root_owner;
    g.destroy_region(victim).unwrap();
    drop(g);
    // The old section still reads it (L7)...
    assert_eq!(
        section.read(GuestAddress(0x1000), AccessSize::Byte, PLAIN),
        (0xAA, MemTxResult::OK)
    );
    // ...but a new lease resolves through the current view: nothing there.
    assert_eq!(
        table.map(
            mem,
            space,
            GuestAddress(0x1000),
            4,
            DmaDirection::ToDevice,
            PLAIN
        ),
        Err(DmaError::Unassigned {
            addr: GuestAddress(0x1000)
        })
    );
}

/// A device with one register; a write to offset 0 makes it write `value` to `target`
/// with its own requester id (a DMA "kick" or a nested access from its handler).
struct Kicker {
    id: u16,
    opt_out: bool,
    memory: OnceLock<(&'static TestMemory, SpaceId)>,
    target: u64,
    last_result: std::sync::Mutex<Option<MemTxResult>>,
    reg: std::sync::atomic::AtomicU64,
}

impl MmioOps for Kicker {
    fn read(&self, _: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        (
            self.reg.load(std::sync::atomic::Ordering::SeqCst),
            MemTxResult::OK,
        )
    }

    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        _: MemTxAttrs,
    ) -> MemTxResult {
        if offset.0 == 0 {
            let (mem, space) = *self.memory.get().unwrap();
            let attrs = MemTxAttrs {
                requester_id: self.id,
                ..MemTxAttrs::UNSPECIFIED
            };
            let r =
                mem.space(space)
                    .unwrap()
                    .write(GuestAddress(self.target), size, value + 1, attrs);
            *self.last_result.lock().unwrap() = Some(r);
        } else {
            self.reg.store(value, std::sync::atomic::Ordering::SeqCst);
        }
        MemTxResult::OK
    }

    fn requester_id(&self) -> Option<u16> {
        Some(self.id)
    }

    fn allows_reentrancy(&self) -> bool {
        self.opt_out
    }
}

fn kicker_machine(
    opt_out: bool,
    target: u64,
) -> (
    &'static TestMemory,
    SpaceId,
    &'static Kicker,
    &'static RecordingDevice,
) {
    let (mem, space, other) = setup();
    let kicker = leak(Kicker {
        id: 0x101,
        opt_out,
        memory: OnceLock::new(),
        target,
        last_result: std::sync::Mutex::new(None),
        reg: std::sync::atomic::AtomicU64::new(0),
    });
    let _ = kicker.memory.set((mem, space));
    let mut g = mem.lock();
    let owner = g.root_owner().unwrap();
    let (_, root) = g.address_space(space).unwrap();
    let regs = g.create_mmio(owner, "kicker", size(0x10), kicker).unwrap();
    g.add_subregion(root, RegionOffset(0x9000), regs, Priority(0))
        .unwrap();
    drop(g);
    (mem, space, kicker, other)
}

#[test]
fn reentrant_mmio_gets_an_access_error() {
    let (mem, space, kicker, _) = kicker_machine(false, 0x9008);
    let bus = mem.space(space).unwrap();
    assert!(bus
        .write(GuestAddress(0x9000), AccessSize::Word, 41, PLAIN)
        .is_ok());
    assert_eq!(
        *kicker.last_result.lock().unwrap(),
        Some(MemTxResult::ACCESS_ERROR)
    );
    assert_eq!(
        kicker.reg.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no nested callback ran"
    );
}

#[test]
fn reentrancy_opt_out_allows_the_nested_access() {
    let (mem, space, kicker, _) = kicker_machine(true, 0x9008);
    let bus = mem.space(space).unwrap();
    assert!(bus
        .write(GuestAddress(0x9000), AccessSize::Word, 41, PLAIN)
        .is_ok());
    assert_eq!(*kicker.last_result.lock().unwrap(), Some(MemTxResult::OK));
    assert_eq!(kicker.reg.load(std::sync::atomic::Ordering::SeqCst), 42);
}

#[test]
fn nested_access_to_another_device_is_unaffected() {
    let (mem, space, kicker, other) = kicker_machine(false, 0x8000);
    let bus = mem.space(space).unwrap();
    assert!(bus
        .write(GuestAddress(0x9000), AccessSize::Byte, 0x41, PLAIN)
        .is_ok());
    assert_eq!(*kicker.last_result.lock().unwrap(), Some(MemTxResult::OK));
    assert_eq!(other.bytes.lock().unwrap()[0], 0x42);
}

/// The seed's scenario (`docs/design.md` section 1): container C, owned by device CO, holds
/// subregion S (RAM) owned by device SO; a DMA engine copies through C chunk by chunk, a lease
/// per chunk; SO is unplugged mid-transfer. The transfer stops with a clean error, every byte
/// written before the unplug is in S's own block, nothing lands in the memory mapped at the
/// same address afterwards, and C loses S only through the commit.
#[test]
fn seed_scenario_unplug_of_subregion_owner_during_dma_through_a_foreign_container() {
    let (mem, space, _) = setup();
    let table = Table::new();
    let mut g = mem.lock();
    let machine = g.root_owner().unwrap();
    let (_, root) = g.address_space(space).unwrap();
    let co = g.create_owner(machine, "CO").unwrap();
    let so = g.create_owner(machine, "SO").unwrap();
    let c = g.create_container(co, "C", size(0x10000), None).unwrap();
    let s_block = ram(0x1000, 0);
    let s_ptr = s_block.as_ptr();
    let s = g.create_ram(so, "S", s_block).unwrap();
    g.add_subregion(c, RegionOffset(0x1000), s, Priority(0))
        .unwrap();
    g.add_subregion(root, RegionOffset(0x10_0000), c, Priority(0))
        .unwrap();
    drop(g);

    let source: Vec<u8> = (0..0x1000u32).map(|i| (i * 7 + 3) as u8).collect();
    let dst = 0x10_1000u64;
    let chunk = 0x100u64;
    let mut copied = 0u64;
    let mut stopped = None;
    // The engine: one lease per chunk; any error stops the transfer (status + interrupt on a
    // real device).
    while copied < source.len() as u64 {
        let lease = match table.map(
            mem,
            space,
            GuestAddress(dst + copied),
            chunk,
            DmaDirection::FromDevice,
            PLAIN,
        ) {
            Ok(lease) => lease,
            Err(e) => {
                stopped = Some(e);
                break;
            }
        };
        if copied == 0x800 {
            // Mid-transfer, with this chunk's lease in flight: SO is unplugged.
            let mut g = mem.lock();
            assert_eq!(g.subregions(c).unwrap().collect::<Vec<_>>(), vec![s]);
            g.begin();
            g.destroy_owner(so).unwrap();
            // Inside the transaction the guest still sees S, and C still holds it.
            assert!(mem
                .space(space)
                .unwrap()
                .read(GuestAddress(dst), AccessSize::Byte, PLAIN)
                .1
                .is_ok());
            g.commit().unwrap();
            assert_eq!(
                g.subregions(c).unwrap().count(),
                0,
                "C lost S through the commit"
            );
            assert!(
                !g.unplug_complete(so),
                "the in-flight lease holds the unplug"
            );
        }
        let result = table.write(
            mem,
            lease.handle,
            0,
            &source[copied as usize..(copied + chunk) as usize],
        );
        table
            .unmap(mem, lease.handle, if result.is_ok() { chunk } else { 0 })
            .unwrap();
        if let Err(e) = result {
            stopped = Some(e);
            break;
        }
        copied += chunk;
    }
    // New memory appears where S was, owned by someone else.
    let mut g = mem.lock();
    let fresh = g.create_ram(machine, "fresh", ram(0x1000, 0xEE)).unwrap();
    g.add_subregion(c, RegionOffset(0x1000), fresh, Priority(0))
        .unwrap();
    drop(g);
    assert_eq!(stopped, Some(DmaError::Revoked));
    assert_eq!(copied, 0x800);
    let mut g = mem.lock();
    assert!(g.unplug_complete(so));
    let back = g.take_released_ram().unwrap();
    assert_eq!(back.as_ptr(), s_ptr);
    let bytes = back.into_slice();
    assert_eq!(
        &bytes[..0x800],
        &source[..0x800],
        "every byte before the unplug in S"
    );
    assert!(
        bytes[0x800..].iter().all(|&b| b == 0),
        "nothing written into S after the unplug"
    );
    drop(g);
    let mut check = vec![0u8; 0x1000];
    assert!(mem
        .space(space)
        .unwrap()
        .read_buf(GuestAddress(dst), &mut check, PLAIN)
        .is_ok());
    assert!(
        check.iter().all(|&b| b == 0xEE),
        "the new region got no byte of the old transfer"
    );
}
