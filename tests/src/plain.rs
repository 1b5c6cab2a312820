//! One-call accesses to a [`TestMemory`]'s address spaces with
//! unspecified transaction attributes, shared by the memory semantics tests
//! (`memory_rendering.rs`, `memory_access.rs`, `memory_rom.rs`).

use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, MemTxResult, SpaceId};

use crate::TestMemory;

/// The attributes of every access these helpers make.
pub const PLAIN: MemTxAttrs = MemTxAttrs::UNSPECIFIED;

/// Reads `size` at `addr` of address space `space` with [`PLAIN`] attributes.
pub fn read(mem: &TestMemory, space: SpaceId, addr: u64, size: AccessSize) -> (u64, MemTxResult) {
    mem.space(space)
        .expect("an address space of this memory")
        .read(GuestAddress(addr), size, PLAIN)
}

/// Writes `value` (`size`) at `addr` of address space `space` with [`PLAIN`] attributes.
pub fn write(
    mem: &TestMemory,
    space: SpaceId,
    addr: u64,
    size: AccessSize,
    value: u64,
) -> MemTxResult {
    mem.space(space)
        .expect("an address space of this memory")
        .write(GuestAddress(addr), size, value, PLAIN)
}
