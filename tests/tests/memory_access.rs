//! Access semantics of the memory API, one test per documented behaviour: bus errors and
//! holes, MMIO access rules (valid and implemented sizes, alignment, `accepts`), splitting
//! into smaller callbacks and device endianness.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicUsize, Ordering};

use fief_core::memory::{
    AccessRules, AccessSize, Endianness, GuestAddress, MemTxAttrs, MemTxResult, MmioOps, Priority,
    RegionOffset, SizeRule,
};
use fief_tests::plain::{read, write, PLAIN};
use fief_tests::{leak, ram, setup, size, Call, RecordingDevice};

fn rules(valid: SizeRule, implemented: SizeRule, endianness: Endianness) -> AccessRules {
    AccessRules {
        valid,
        implemented,
        endianness,
    }
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
