//! The bus a DMA engine works on ([`DmaBus`]: leases plus plain accesses) and the one the
//! boards use, over a [`Memory`] and a [`LeaseTable`] ([`LeaseBus`]).

use fief_core::memory::{
    AccessSize, DmaDirection, DmaError, GuestAddress, Lease, LeaseHandle, LeaseTable, MemTxAttrs,
    MemTxResult, Memory, RegionHandle, SpaceId,
};

/// The bus a DMA engine works on: leases plus plain accesses.
pub trait DmaBus {
    /// [`LeaseTable::map`].
    fn map(
        &self,
        addr: GuestAddress,
        len: u64,
        direction: DmaDirection,
        attrs: MemTxAttrs,
    ) -> Result<Lease, DmaError>;
    /// [`LeaseTable::copy`] from offset 0 of `src` to offset 0 of `dst`.
    fn copy(&self, src: LeaseHandle, dst: LeaseHandle, n: usize) -> Result<(), DmaError>;
    /// [`LeaseTable::read`] at offset 0.
    fn read_lease(&self, lease: LeaseHandle, out: &mut [u8]) -> Result<(), DmaError>;
    /// [`LeaseTable::write`] at offset 0.
    fn write_lease(&self, lease: LeaseHandle, data: &[u8]) -> Result<(), DmaError>;
    /// [`LeaseTable::unmap`].
    fn unmap(&self, lease: LeaseHandle, bytes_done: u64) -> Result<(), DmaError>;
    /// [`Memory::region_is_live`].
    fn region_is_live(&self, region: RegionHandle) -> bool;
    /// A plain read (descriptor fetches).
    fn read_buf(&self, addr: GuestAddress, buf: &mut [u8], attrs: MemTxAttrs) -> MemTxResult;
    /// A single access read (FIFO sources).
    fn read(&self, addr: GuestAddress, size: AccessSize, attrs: MemTxAttrs) -> (u64, MemTxResult);
    /// A single access write (FIFO destinations).
    fn write(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        value: u64,
        attrs: MemTxAttrs,
    ) -> MemTxResult;
}

/// A [`DmaBus`] over one address space of a [`Memory`] and a [`LeaseTable`].
pub struct LeaseBus<
    'm,
    'a,
    const R: usize,
    const O: usize,
    const S: usize,
    const F: usize,
    const L: usize,
    const B: usize,
    const BS: usize,
> {
    /// The memory.
    pub memory: &'m Memory<'a, R, O, S, F>,
    /// The address space the engine masters.
    pub space: SpaceId,
    /// The leases.
    pub leases: &'m LeaseTable<L, B, BS>,
}

impl<
        const R: usize,
        const O: usize,
        const S: usize,
        const F: usize,
        const L: usize,
        const B: usize,
        const BS: usize,
    > DmaBus for LeaseBus<'_, '_, R, O, S, F, L, B, BS>
{
    fn map(
        &self,
        addr: GuestAddress,
        len: u64,
        direction: DmaDirection,
        attrs: MemTxAttrs,
    ) -> Result<Lease, DmaError> {
        self.leases
            .map(self.memory, self.space, addr, len, direction, attrs)
    }

    fn copy(&self, src: LeaseHandle, dst: LeaseHandle, n: usize) -> Result<(), DmaError> {
        self.leases.copy(self.memory, src, 0, dst, 0, n)
    }

    fn read_lease(&self, lease: LeaseHandle, out: &mut [u8]) -> Result<(), DmaError> {
        self.leases.read(self.memory, lease, 0, out)
    }

    fn write_lease(&self, lease: LeaseHandle, data: &[u8]) -> Result<(), DmaError> {
        self.leases.write(self.memory, lease, 0, data)
    }

    fn unmap(&self, lease: LeaseHandle, bytes_done: u64) -> Result<(), DmaError> {
        self.leases.unmap(self.memory, lease, bytes_done)
    }

    fn region_is_live(&self, region: RegionHandle) -> bool {
        self.memory.region_is_live(region)
    }

    fn read_buf(&self, addr: GuestAddress, buf: &mut [u8], attrs: MemTxAttrs) -> MemTxResult {
        match self.memory.space(self.space) {
            Some(s) => s.read_buf(addr, buf, attrs),
            None => MemTxResult::DECODE_ERROR,
        }
    }

    fn read(&self, addr: GuestAddress, size: AccessSize, attrs: MemTxAttrs) -> (u64, MemTxResult) {
        match self.memory.space(self.space) {
            Some(s) => s.read(addr, size, attrs),
            None => (0, MemTxResult::DECODE_ERROR),
        }
    }

    fn write(
        &self,
        addr: GuestAddress,
        size: AccessSize,
        value: u64,
        attrs: MemTxAttrs,
    ) -> MemTxResult {
        match self.memory.space(self.space) {
            Some(s) => s.write(addr, size, value, attrs),
            None => MemTxResult::DECODE_ERROR,
        }
    }
}
