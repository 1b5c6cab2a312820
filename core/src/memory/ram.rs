//! Guest RAM backing: [`RamBlock`], memory that the caller provides (a static buffer on bare
//! metal, an anonymous mmap on the host) and the region owns until the grace period after
//! its destruction, and the raw accessors the flat view uses to reach it.
//!
//! # Shared memory
//!
//! Guest RAM is shared by every hart and DMA worker, like in vm-memory: the emulator never
//! holds a Rust reference (`&[u8]`/`&mut [u8]`) into it while it is mapped, only a raw
//! pointer. Scalar accesses of 1, 2, 4 and 8 bytes that are naturally aligned are relaxed
//! atomic operations, so two harts racing on one word is defined behaviour and a hart sees
//! a whole word, never a torn one. Unaligned scalars go byte by byte, also atomically.
//! Buffer copies are plain `copy_nonoverlapping`, for speed.
//!
//! What remains is the guest's own races: a buffer copy (DMA, a debugger) racing a scalar
//! access to the same bytes, or two scalar accesses of different widths overlapping. On
//! hardware those give unspecified bytes; in Rust's memory model they are data races, which
//! is the same trade-off vm-memory and every emulator with shared guest RAM make. The
//! emulator never relies on the values so read (they only flow back into guest state), the
//! accesses are through raw pointers (no `&`/`&mut` to guest RAM exists), and Miri checks
//! the single-threaded paths. Making copies byte-wise atomic would close the gap at a large
//! cost on the DMA path; it is a deliberate choice, revisited with DMA leases.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU8, Ordering};

use super::addr::AccessSize;

/// A block of host memory that backs a RAM or ROM region.
///
/// The block is borrowed for `'a` (typically `'static`); once given to a region it is only
/// reached through the flat view. When the region is destroyed, the block comes back from
/// [`crate::memory::TopologyGuard::take_released_ram`] after the grace period, never before.
pub struct RamBlock<'a> {
    ptr: NonNull<u8>,
    len: u64,
    _memory: PhantomData<&'a mut [u8]>,
}

// SAFETY: a RamBlock is a unique borrow of its bytes (from `&'a mut [u8]`, or by the contract
// of `from_raw_parts`), so moving it between threads is like moving the `&mut [u8]`. Shared
// use goes through `RamPtr` under the rules of the module docs.
unsafe impl Send for RamBlock<'_> {}
// SAFETY: `&RamBlock` gives no access to the bytes at all, only the length.
unsafe impl Sync for RamBlock<'_> {}

impl core::fmt::Debug for RamBlock<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RamBlock({:p}, {:#x} bytes)", self.ptr, self.len)
    }
}

impl<'a> RamBlock<'a> {
    /// A block over a buffer the caller owns for `'a` (for example a `static mut` array
    /// handed out once, or a leaked allocation in tests).
    pub fn new(memory: &'a mut [u8]) -> RamBlock<'a> {
        RamBlock {
            ptr: NonNull::from(&mut *memory).cast(),
            len: memory.len() as u64,
            _memory: PhantomData,
        }
    }

    /// A block over raw memory, such as an anonymous mmap.
    ///
    /// # Safety
    ///
    /// `ptr` must be valid for reads and writes of `len` bytes for `'a`, and nothing else may
    /// access those bytes through a Rust reference while the block (or the region it backs)
    /// exists.
    pub unsafe fn from_raw_parts(ptr: NonNull<u8>, len: usize) -> RamBlock<'a> {
        RamBlock {
            ptr,
            len: len as u64,
            _memory: PhantomData,
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True for a zero-length block (which no region accepts).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Start of the block, for identifying it (not for dereferencing).
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr.as_ptr()
    }

    /// Gives the bytes back as a slice once the block is out of every flat view (for
    /// example after [`crate::memory::TopologyGuard::take_released_ram`]).
    pub fn into_slice(self) -> &'a mut [u8] {
        // SAFETY: the block is a unique borrow of `len` bytes valid for 'a (constructor
        // contracts); consuming `self` ends every other path to them, since the flat views
        // that held a `RamPtr` were retired before the block was released.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize) }
    }

    pub(crate) fn raw(&self) -> RamPtr {
        RamPtr {
            ptr: self.ptr,
            len: self.len,
        }
    }
}

/// A flat view's pointer into a RAM block. Valid while the view that holds it is pinned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RamPtr {
    ptr: NonNull<u8>,
    len: u64,
}

// SAFETY: RamPtr is only dereferenced under the module's sharing rules (atomics for scalars),
// from whichever thread pins the view holding it.
unsafe impl Send for RamPtr {}
// SAFETY: as above.
unsafe impl Sync for RamPtr {}

impl RamPtr {
    pub(crate) fn len(self) -> u64 {
        self.len
    }

    /// Loads `size` bytes at `offset`, little-endian.
    ///
    /// # Safety
    ///
    /// `offset + size <= len`, and the block is still alive (its view is pinned).
    #[inline]
    pub(crate) unsafe fn load(self, offset: u64, size: AccessSize) -> u64 {
        // SAFETY: in bounds by the caller's contract.
        let p = unsafe { self.ptr.as_ptr().add(offset as usize) };
        let n = size.bytes() as usize;
        if (p as usize) & (n - 1) == 0 {
            // SAFETY: `p` is aligned for the atomic type and in bounds; the memory is only
            // accessed through raw pointers and atomics while mapped (module docs).
            unsafe {
                match size {
                    AccessSize::Byte => AtomicU8::from_ptr(p).load(Ordering::Relaxed) as u64,
                    AccessSize::Half => {
                        u16::from_le(AtomicU16::from_ptr(p.cast()).load(Ordering::Relaxed)) as u64
                    }
                    AccessSize::Word => u32::from_le(atomic32(p).load(Ordering::Relaxed)) as u64,
                    AccessSize::Double => load64_aligned(p),
                }
            }
        } else {
            let mut value = 0u64;
            for i in 0..n {
                // SAFETY: byte `i < n` of an in-bounds access; AtomicU8 has no alignment need.
                let byte = unsafe { AtomicU8::from_ptr(p.add(i)).load(Ordering::Relaxed) };
                value |= (byte as u64) << (8 * i);
            }
            value
        }
    }

    /// Stores the low `size` bytes of `value` at `offset`, little-endian.
    ///
    /// # Safety
    ///
    /// As for [`RamPtr::load`].
    #[inline]
    pub(crate) unsafe fn store(self, offset: u64, size: AccessSize, value: u64) {
        // SAFETY: in bounds by the caller's contract.
        let p = unsafe { self.ptr.as_ptr().add(offset as usize) };
        let n = size.bytes() as usize;
        if (p as usize) & (n - 1) == 0 {
            // SAFETY: aligned and in bounds; shared-memory rules of the module docs.
            unsafe {
                match size {
                    AccessSize::Byte => AtomicU8::from_ptr(p).store(value as u8, Ordering::Relaxed),
                    AccessSize::Half => AtomicU16::from_ptr(p.cast())
                        .store((value as u16).to_le(), Ordering::Relaxed),
                    AccessSize::Word => {
                        atomic32(p).store((value as u32).to_le(), Ordering::Relaxed)
                    }
                    AccessSize::Double => store64_aligned(p, value),
                }
            }
        } else {
            for i in 0..n {
                // SAFETY: byte `i < n` of an in-bounds access.
                unsafe {
                    AtomicU8::from_ptr(p.add(i)).store((value >> (8 * i)) as u8, Ordering::Relaxed)
                };
            }
        }
    }

    /// Copies `out.len()` bytes from `offset` into `out`.
    ///
    /// # Safety
    ///
    /// `offset + out.len() <= len`, and the block is still alive.
    pub(crate) unsafe fn copy_to(self, offset: u64, out: &mut [u8]) {
        // SAFETY: source in bounds by contract; `out` is a distinct Rust buffer, so the
        // ranges cannot overlap. Racing copies see unspecified bytes (module docs).
        unsafe {
            core::ptr::copy_nonoverlapping(
                self.ptr.as_ptr().add(offset as usize),
                out.as_mut_ptr(),
                out.len(),
            )
        }
    }

    /// Copies `data` into the block at `offset`.
    ///
    /// # Safety
    ///
    /// `offset + data.len() <= len`, and the block is still alive.
    pub(crate) unsafe fn copy_from(self, offset: u64, data: &[u8]) {
        // SAFETY: as in `copy_to`, in the other direction.
        unsafe {
            core::ptr::copy_nonoverlapping(
                data.as_ptr(),
                self.ptr.as_ptr().add(offset as usize),
                data.len(),
            )
        }
    }
}

impl RamPtr {
    /// Copies `n` bytes from `src` at `src_offset` to `dst` at `dst_offset`; the two ranges
    /// may overlap (a copy within one block).
    ///
    /// # Safety
    ///
    /// Both ranges in bounds of their blocks, and both blocks still alive.
    pub(crate) unsafe fn copy_between(
        src: RamPtr,
        src_offset: u64,
        dst: RamPtr,
        dst_offset: u64,
        n: usize,
    ) {
        // SAFETY: both ranges in bounds by contract; `copy` allows overlap. Racing copies see
        // unspecified bytes (module docs).
        unsafe {
            core::ptr::copy(
                src.ptr.as_ptr().add(src_offset as usize),
                dst.ptr.as_ptr().add(dst_offset as usize),
                n,
            )
        }
    }
}

/// # Safety
/// `p` aligned to 4 and valid.
#[inline]
unsafe fn atomic32<'x>(p: *mut u8) -> &'x core::sync::atomic::AtomicU32 {
    // SAFETY: forwarded from the caller.
    unsafe { core::sync::atomic::AtomicU32::from_ptr(p.cast()) }
}

#[cfg(target_has_atomic = "64")]
#[inline]
unsafe fn load64_aligned(p: *mut u8) -> u64 {
    // SAFETY: the caller checked 8-byte alignment and bounds.
    u64::from_le(
        unsafe { core::sync::atomic::AtomicU64::from_ptr(p.cast()) }.load(Ordering::Relaxed),
    )
}

#[cfg(target_has_atomic = "64")]
#[inline]
unsafe fn store64_aligned(p: *mut u8, value: u64) {
    // SAFETY: the caller checked 8-byte alignment and bounds.
    unsafe { core::sync::atomic::AtomicU64::from_ptr(p.cast()) }
        .store(value.to_le(), Ordering::Relaxed)
}

// Targets without 64-bit atomics (riscv32imac, thumbv7em): two 32-bit halves. A racing
// writer can be seen half done, as on a 32-bit bus.
#[cfg(not(target_has_atomic = "64"))]
#[inline]
unsafe fn load64_aligned(p: *mut u8) -> u64 {
    // SAFETY: 8-byte aligned and in bounds, so both 4-byte halves are too.
    unsafe {
        let lo = u32::from_le(atomic32(p).load(Ordering::Relaxed)) as u64;
        let hi = u32::from_le(atomic32(p.add(4)).load(Ordering::Relaxed)) as u64;
        lo | (hi << 32)
    }
}

#[cfg(not(target_has_atomic = "64"))]
#[inline]
unsafe fn store64_aligned(p: *mut u8, value: u64) {
    // SAFETY: 8-byte aligned and in bounds, so both 4-byte halves are too.
    unsafe {
        atomic32(p).store((value as u32).to_le(), Ordering::Relaxed);
        atomic32(p.add(4)).store(((value >> 32) as u32).to_le(), Ordering::Relaxed);
    }
}

impl RamPtr {
    /// The `len` bytes of the block from `offset`, as a block of their own (for a cache of
    /// pages); `None` unless they are all inside this block.
    pub(crate) fn sub(self, offset: u64, len: u64) -> Option<RamPtr> {
        if offset.checked_add(len)? <= self.len {
            Some(RamPtr {
                // SAFETY: `offset + len <= self.len`, so the result stays inside the block's
                // allocation.
                ptr: unsafe { self.ptr.add(offset as usize) },
                len,
            })
        } else {
            None
        }
    }

    /// Host address of byte `offset` of the block, for a CPU's TLB (valid while the view
    /// holding this pointer is pinned); `None` past the end.
    pub(crate) fn host_ptr(self, offset: u64) -> Option<NonNull<u8>> {
        if offset < self.len {
            // SAFETY: `offset < len`, so the result stays inside the block's allocation.
            Some(unsafe { self.ptr.add(offset as usize) })
        } else {
            None
        }
    }
}
