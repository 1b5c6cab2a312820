//! Shared helpers for Fief's integration tests (`tests/tests/*.rs`): a memory type sized for
//! tests, RAM blocks over leaked buffers, and an MMIO device that records its callbacks.

use std::sync::Mutex;

use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, Memory, MmioOps, RamBlock, RegionOffset,
    RegionSize,
};

/// A memory sized for tests: 128 regions, 32 owners, 2 address spaces, 512 ranges per view.
pub type TestMemory = Memory<'static, 128, 32, 2, 512>;

/// A fresh test memory on the heap (it is a few hundred KiB).
pub fn memory() -> Box<TestMemory> {
    Box::new(TestMemory::new())
}

/// A RAM block of `len` bytes, every byte `fill`.
pub fn ram(len: usize, fill: u8) -> RamBlock<'static> {
    RamBlock::new(Box::leak(vec![fill; len].into_boxed_slice()))
}

/// `RegionSize::new(bytes)` for a non-zero literal.
pub fn size(bytes: u64) -> RegionSize {
    RegionSize::new(bytes).expect("test sizes are not zero")
}

/// Leaks a value for `'static` (test devices live as long as the test process).
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// One callback a [`RecordingDevice`] saw.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    /// Write (true) or read.
    pub write: bool,
    /// Offset in the region.
    pub offset: u64,
    /// Callback size in bytes.
    pub size: u32,
    /// Value written, or returned.
    pub value: u64,
}

/// An MMIO device with a 256-byte register file in little- or big-endian order, that
/// records every callback.
pub struct RecordingDevice {
    /// The access rules it reports.
    pub rules: AccessRules,
    /// Register bytes.
    pub bytes: Mutex<[u8; 256]>,
    /// Callbacks seen, in order.
    pub calls: Mutex<Vec<Call>>,
}

impl RecordingDevice {
    /// A device whose register byte `i` is `tag ^ i`.
    pub fn new(tag: u8, rules: AccessRules) -> RecordingDevice {
        let mut bytes = [0u8; 256];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = tag ^ i as u8;
        }
        RecordingDevice {
            rules,
            bytes: Mutex::new(bytes),
            calls: Mutex::new(Vec::new()),
        }
    }

    /// The callbacks seen so far.
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().expect("test lock").clone()
    }

    fn index(offset: RegionOffset, i: u32) -> usize {
        (offset.0 as usize + i as usize) % 256
    }
}

impl MmioOps for RecordingDevice {
    fn read(
        &self,
        offset: RegionOffset,
        size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> (u64, MemTxResult) {
        let bytes = self.bytes.lock().expect("test lock");
        let n = size.bytes();
        let mut value = 0u64;
        for i in 0..n {
            let b = bytes[Self::index(offset, i)] as u64;
            value |= match self.rules.endianness {
                fief_core::memory::Endianness::Little => b << (8 * i),
                fief_core::memory::Endianness::Big => b << (8 * (n - 1 - i)),
            };
        }
        self.calls.lock().expect("test lock").push(Call {
            write: false,
            offset: offset.0,
            size: n,
            value,
        });
        (value, MemTxResult::OK)
    }

    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        _attrs: MemTxAttrs,
    ) -> MemTxResult {
        let mut bytes = self.bytes.lock().expect("test lock");
        let n = size.bytes();
        for i in 0..n {
            let shift = match self.rules.endianness {
                fief_core::memory::Endianness::Little => 8 * i,
                fief_core::memory::Endianness::Big => 8 * (n - 1 - i),
            };
            bytes[Self::index(offset, i)] = (value >> shift) as u8;
        }
        self.calls.lock().expect("test lock").push(Call {
            write: true,
            offset: offset.0,
            size: n,
            value,
        });
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        self.rules
    }
}
pub mod images;
pub mod machine;
pub mod plain;
pub mod qemu;
pub mod randdiff;
pub mod randprog;
pub mod render_model;
pub mod rvenc;
pub mod tier;
pub mod tierdiff;

/// A fresh test memory with a full-size root container (owned by the root owner) as its
/// first address space: `(memory, root owner, root container, space)`.
pub fn setup() -> (
    Box<TestMemory>,
    fief_core::owner::OwnerHandle,
    fief_core::memory::RegionHandle,
    fief_core::memory::SpaceId,
) {
    let mem = memory();
    let (owner, root, space) = {
        let mut g = mem.lock();
        let owner = g.root_owner().expect("a fresh memory has its root owner");
        let root = g
            .create_container(owner, "system", RegionSize::FULL, None)
            .expect("a fresh memory has room for a container");
        let space = g
            .create_address_space(root, "system")
            .expect("a fresh memory has room for an address space");
        (owner, root, space)
    };
    (mem, owner, root, space)
}

/// The published view of `space` as `(start, last, region, offset_in_region)`.
pub fn ranges(
    mem: &TestMemory,
    space: fief_core::memory::SpaceId,
) -> Vec<(u64, u64, fief_core::memory::RegionHandle, u64)> {
    let section = mem
        .space(space)
        .and_then(|s| s.section())
        .expect("the space exists and has a published view");
    section
        .view()
        .ranges()
        .iter()
        .map(|r| (r.start().0, r.last().0, r.region(), r.offset_in_region().0))
        .collect()
}
