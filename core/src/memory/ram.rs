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
//! Buffer copies (DMA leases, the bus's buffer reads and writes, a debugger) are relaxed
//! atomic too: whole machine words where the guest-RAM side is word aligned, bytes at the
//! edges. So a device writing a virtio ring's index while a hart polls it is defined
//! behaviour. (They were plain `copy_nonoverlapping` once: ThreadSanitizer, `scripts/tsan`,
//! reported exactly that race, a virtio used index written by a DMA worker while the
//! driver's hart read it. Word-sized relaxed moves cost next to nothing next to the I/O
//! behind a transfer.)
//!
//! What remains is the guest's own races: two accesses of different widths overlapping
//! (a word copy against a byte store, say). On hardware those give unspecified bytes; in
//! Rust's memory model mixed-size atomics are outside what the model defines, the same
//! trade-off vm-memory makes. The emulator never relies on the values so read (they only
//! flow back into guest state), the accesses are through raw pointers (no `&`/`&mut` to
//! guest RAM exists), and Miri checks the single-threaded paths.

use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU16, AtomicU8, AtomicUsize, Ordering};

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
        // SAFETY: source in bounds by contract; `out` is a distinct Rust buffer.
        unsafe { atomic_read(self.ptr.as_ptr().add(offset as usize), out) }
    }

    /// Copies `data` into the block at `offset`.
    ///
    /// # Safety
    ///
    /// `offset + data.len() <= len`, and the block is still alive.
    pub(crate) unsafe fn copy_from(self, offset: u64, data: &[u8]) {
        // SAFETY: as in `copy_to`, in the other direction.
        unsafe { atomic_write(self.ptr.as_ptr().add(offset as usize), data) }
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
        // SAFETY: both ranges in bounds by contract.
        let (s, d) = unsafe {
            (
                src.ptr.as_ptr().add(src_offset as usize),
                dst.ptr.as_ptr().add(dst_offset as usize),
            )
        };
        let (sa, da) = (s as usize, d as usize);
        let backward = da > sa && da < sa + n; // overlapping, the destination above
        if backward || !(sa ^ da).is_multiple_of(WORD) {
            // Byte by byte (from the end when the destination overlaps above the source):
            // mutually misaligned, or overlapping within one block; both rare.
            for k in 0..n {
                let i = if backward { n - 1 - k } else { k };
                // SAFETY: `i < n`: in bounds of both ranges; a byte is always aligned.
                unsafe {
                    AtomicU8::from_ptr(d.add(i)).store(
                        AtomicU8::from_ptr(s.add(i)).load(Ordering::Relaxed),
                        Ordering::Relaxed,
                    )
                };
            }
            return;
        }
        // Same alignment: bytes up to a word boundary, words, bytes. Forward is right for
        // an overlap with the destination below the source.
        let mut i = 0;
        while i < n && !(da + i).is_multiple_of(WORD) {
            // SAFETY: `i < n`, in bounds; bytes are aligned.
            unsafe {
                AtomicU8::from_ptr(d.add(i)).store(
                    AtomicU8::from_ptr(s.add(i)).load(Ordering::Relaxed),
                    Ordering::Relaxed,
                )
            };
            i += 1;
        }
        while i + WORD <= n {
            // SAFETY: `i + WORD <= n`, in bounds; both addresses word aligned (same
            // alignment, destination aligned by the loop above).
            unsafe {
                AtomicUsize::from_ptr(d.add(i).cast()).store(
                    AtomicUsize::from_ptr(s.add(i).cast()).load(Ordering::Relaxed),
                    Ordering::Relaxed,
                )
            };
            i += WORD;
        }
        while i < n {
            // SAFETY: `i < n`, in bounds; bytes are aligned.
            unsafe {
                AtomicU8::from_ptr(d.add(i)).store(
                    AtomicU8::from_ptr(s.add(i)).load(Ordering::Relaxed),
                    Ordering::Relaxed,
                )
            };
            i += 1;
        }
    }
}

/// The machine word the buffer copies move at once.
const WORD: usize = core::mem::size_of::<usize>();

/// Reads `out.len()` bytes of guest RAM at `src` into `out` with relaxed atomic loads:
/// whole words where `src` is word aligned, bytes at the edges.
///
/// # Safety
///
/// `src` valid for reads of `out.len()` bytes; the memory only accessed atomically by
/// others (module docs).
unsafe fn atomic_read(src: *mut u8, out: &mut [u8]) {
    let n = out.len();
    let mut i = 0;
    while i < n && !(src as usize + i).is_multiple_of(WORD) {
        // SAFETY: `i < n`, in bounds; bytes are aligned.
        out[i] = unsafe { AtomicU8::from_ptr(src.add(i)) }.load(Ordering::Relaxed);
        i += 1;
    }
    while i + WORD <= n {
        // SAFETY: `i + WORD <= n`, in bounds, and word aligned by the loop above.
        let w = unsafe { AtomicUsize::from_ptr(src.add(i).cast()) }.load(Ordering::Relaxed);
        out[i..i + WORD].copy_from_slice(&w.to_ne_bytes());
        i += WORD;
    }
    while i < n {
        // SAFETY: `i < n`, in bounds; bytes are aligned.
        out[i] = unsafe { AtomicU8::from_ptr(src.add(i)) }.load(Ordering::Relaxed);
        i += 1;
    }
}

/// Writes `data` into guest RAM at `dst` with relaxed atomic stores, as [`atomic_read`].
///
/// # Safety
///
/// `dst` valid for writes of `data.len()` bytes; the memory only accessed atomically by
/// others (module docs).
unsafe fn atomic_write(dst: *mut u8, data: &[u8]) {
    let n = data.len();
    let mut i = 0;
    while i < n && !(dst as usize + i).is_multiple_of(WORD) {
        // SAFETY: `i < n`, in bounds; bytes are aligned.
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(data[i], Ordering::Relaxed);
        i += 1;
    }
    while i + WORD <= n {
        let mut w = [0u8; WORD];
        w.copy_from_slice(&data[i..i + WORD]);
        // SAFETY: `i + WORD <= n`, in bounds, and word aligned by the loop above.
        unsafe { AtomicUsize::from_ptr(dst.add(i).cast()) }
            .store(usize::from_ne_bytes(w), Ordering::Relaxed);
        i += WORD;
    }
    while i < n {
        // SAFETY: `i < n`, in bounds; bytes are aligned.
        unsafe { AtomicU8::from_ptr(dst.add(i)) }.store(data[i], Ordering::Relaxed);
        i += 1;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The buffer copies against plain slice copies: every alignment of both sides, every
    /// length around a few words, overlapping both ways within one block.
    #[test]
    fn atomic_copies_move_the_same_bytes_as_plain_copies() {
        let fill = |b: &mut [u8]| {
            for (i, x) in b.iter_mut().enumerate() {
                *x = (i * 37 + 11) as u8;
            }
        };
        let mut a = [0u8; 96];
        let mut b = [0u8; 96];
        fill(&mut a);
        let block_a = RamBlock::new(&mut a);
        let block_b = RamBlock::new(&mut b);
        let (ra, rb) = (block_a.raw(), block_b.raw());
        let lens = if cfg!(miri) { 0..=17 } else { 0..=40 };
        for so in 0..WORD as u64 + 1 {
            for len in lens.clone() {
                let mut plain = [0u8; 96];
                fill(&mut plain);
                let mut want = [0u8; 40];
                // SAFETY: in bounds of the 96-byte blocks.
                unsafe {
                    ra.copy_from(0, &plain);
                    ra.copy_to(so, &mut want[..len]);
                }
                assert_eq!(&want[..len], &plain[so as usize..][..len]);
                for dof in 0..WORD as u64 + 1 {
                    // SAFETY: in bounds.
                    unsafe { rb.copy_from(dof, &want[..len]) };
                    let mut got = [0u8; 40];
                    // SAFETY: in bounds.
                    unsafe { rb.copy_to(dof, &mut got[..len]) };
                    assert_eq!(got[..len], want[..len], "src {so} dst {dof} len {len}");
                    // Within one block, overlapping either way, as `copy_within`.
                    // SAFETY: in bounds.
                    unsafe { ra.copy_from(0, &plain) };
                    let mut model = [0u8; 96];
                    // SAFETY: in bounds.
                    unsafe { ra.copy_to(0, &mut model) };
                    let (from, to) = (so as usize + 8, dof as usize + 4 + (len % 3) * 8);
                    model.copy_within(from..from + len, to);
                    // SAFETY: both ranges inside the 96-byte block.
                    unsafe { RamPtr::copy_between(ra, from as u64, ra, to as u64, len) };
                    let mut real = [0u8; 96];
                    // SAFETY: in bounds.
                    unsafe { ra.copy_to(0, &mut real) };
                    assert_eq!(real, model, "within: {from} -> {to}, {len}");
                }
            }
        }
    }
}
