//! What a CPU needs from the memory system: the [`Bus`] trait, and its implementation for a
//! pinned [`ReadSection`] of an address space.
//!
//! Scalar reads and writes go through the memory API (MMIO callbacks, ROM rules, bus errors
//! as [`MemTxResult`]). The fast path is [`Bus::host_page`]: the host memory behind one
//! guest page of RAM or ROM, which a hart's TLB caches so that a load or store that hits is
//! a compare and a host access. A [`HostPage`] borrows the bus, so it cannot outlive the
//! pinned view that keeps its memory alive (rule L7); only this crate can make one.

use core::marker::PhantomData;
use core::ptr::NonNull;

use crate::atomic::AtomicU32;
use crate::memory::{AccessSize, GuestAddress, MemTxAttrs, MemTxResult, ReadSection};
use crate::watch::WriteWatch;

/// Host memory backing one whole guest page, valid for the lifetime `'b` of the bus borrow
/// it came from.
#[derive(Clone, Copy, Debug)]
pub struct HostPage<'b> {
    ptr: NonNull<u8>,
    writable: bool,
    _bus: PhantomData<&'b ()>,
}

impl HostPage<'_> {
    /// The first byte of the page. Valid for reads (and writes when [`writable`]) of the
    /// page's bytes for as long as the bus borrow lasts; guest RAM is shared, so access it
    /// only with atomics or raw copies, never through a reference (see `memory::ram`).
    ///
    /// [`writable`]: HostPage::writable
    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr()
    }

    /// Writes may go to the host memory directly (RAM, not read-only). ROM and ROM devices
    /// are readable here but written through [`Bus::write`].
    pub fn writable(&self) -> bool {
        self.writable
    }
}

/// The memory interface of a CPU.
pub trait Bus {
    /// Reads `size` bytes at physical address `addr` (little-endian value).
    fn read(&self, addr: u64, size: AccessSize, attrs: MemTxAttrs) -> (u64, MemTxResult);

    /// Writes the low `size` bytes of `value` at physical address `addr`.
    fn write(&self, addr: u64, size: AccessSize, value: u64, attrs: MemTxAttrs) -> MemTxResult;

    /// The host memory behind the whole page `[page, page + len)` when one RAM or ROM
    /// range backs all of it; `None` sends every access to that page through
    /// [`Bus::read`]/[`Bus::write`] (MMIO, holes, pages split between ranges).
    fn host_page(&self, page: u64, len: u64) -> Option<HostPage<'_>> {
        let _ = (page, len);
        None
    }

    /// Generation of the flat view the bus answers from (0 when it has none).
    fn generation(&self) -> u32 {
        0
    }

    /// The identity of the flat view the bus answers from ([`FlatView::id`]), or 0 when
    /// it has none (the default): a CPU keeps host pointers from [`Bus::host_page`] across
    /// bus borrows only while this stays the same and is not 0 (not on bare metal).
    ///
    /// [`FlatView::id`]: crate::memory::FlatView::id
    #[cfg(not(target_os = "none"))]
    fn view_id(&self) -> u64 {
        0
    }

    /// A count that moves whenever guest RAM is written other than through the host
    /// pages the CPU was given: by DMA behind its back, and by [`Bus::write`] itself
    /// (see [`ReadSection::lease_writes`], which counts both); a CPU with a decoded-code
    /// cache checks its code again when it moved. A store the hart makes through
    /// [`Bus::write`] (MMIO, memory without a host page) keeps its code epoch and relies on
    /// this count to see code it wrote, so a bus whose `write` can reach memory that may
    /// hold code must count those writes. Only a bus that writes no such memory and that no
    /// DMA writes to may keep the default, 0.
    fn lease_writes(&self) -> u32 {
        0
    }

    /// The atomic that [`Bus::lease_writes`] reads, for code that reads the count itself
    /// (a translating tier); `None` (the default) when there is none, and then such code
    /// must go through [`Bus::lease_writes`].
    fn lease_writes_counter(&self) -> Option<&AtomicU32> {
        None
    }

    /// The count [`Bus::lease_writes`] reads together with the words told of each write
    /// at once ([`WriteWatch`]), for a hart whose translated code learns of writes
    /// through its interrupt word; `None` (the default) when there is none (then such
    /// code must return to the run loop at every block boundary).
    fn write_watch(&self) -> Option<&WriteWatch> {
        None
    }
}

impl<const F: usize> Bus for ReadSection<'_, '_, F> {
    #[inline]
    fn read(&self, addr: u64, size: AccessSize, attrs: MemTxAttrs) -> (u64, MemTxResult) {
        ReadSection::read(self, GuestAddress(addr), size, attrs)
    }

    #[inline]
    fn write(&self, addr: u64, size: AccessSize, value: u64, attrs: MemTxAttrs) -> MemTxResult {
        ReadSection::write(self, GuestAddress(addr), size, value, attrs)
    }

    fn host_page(&self, page: u64, len: u64) -> Option<HostPage<'_>> {
        let (ptr, writable) = self.ram_backing(page, len)?;
        Some(HostPage {
            ptr,
            writable,
            _bus: PhantomData,
        })
    }

    fn generation(&self) -> u32 {
        self.view().generation()
    }

    #[cfg(not(target_os = "none"))]
    #[inline]
    fn view_id(&self) -> u64 {
        self.view().id()
    }

    #[inline]
    fn lease_writes(&self) -> u32 {
        ReadSection::lease_writes(self)
    }

    fn lease_writes_counter(&self) -> Option<&AtomicU32> {
        Some(ReadSection::lease_writes_counter(self))
    }

    fn write_watch(&self) -> Option<&WriteWatch> {
        Some(ReadSection::write_watch(self))
    }
}
