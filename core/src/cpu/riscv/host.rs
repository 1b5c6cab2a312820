//! Loads, stores and atomics on guest RAM through a TLB host pointer.
//!
//! Guest RAM is shared with other harts and DMA (see `memory::ram`): every access here is an
//! atomic on a naturally aligned location. The TLB only caches host pages whose first byte
//! is 8-byte aligned, and the hart only comes to [`load`]/[`store`] for naturally aligned
//! guest addresses, so the host address is aligned too; misaligned guest accesses inside a
//! page use [`load_bytes`]/[`store_bytes`]. Values are little-endian in memory.

use crate::atomic::{AtomicI32, AtomicU16, AtomicU32, AtomicU8, Ordering};

/// The atomic read-modify-write operations of the A extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AmoOp {
    Swap,
    Add,
    Xor,
    And,
    Or,
    Min,
    Max,
    Minu,
    Maxu,
}

impl AmoOp {
    /// The value stored by `op` given the old memory value and the register operand, both
    /// at the access width (`bits` 32 or 64), returned truncated to that width.
    pub(super) fn apply(self, old: u64, operand: u64, bits: u32) -> u64 {
        let sx = |v: u64| ((v << (64 - bits)) as i64) >> (64 - bits);
        let r = match self {
            AmoOp::Swap => operand,
            AmoOp::Add => old.wrapping_add(operand),
            AmoOp::Xor => old ^ operand,
            AmoOp::And => old & operand,
            AmoOp::Or => old | operand,
            AmoOp::Min => sx(old).min(sx(operand)) as u64,
            AmoOp::Max => sx(old).max(sx(operand)) as u64,
            AmoOp::Minu => old.min(operand),
            AmoOp::Maxu => old.max(operand),
        };
        if bits == 64 {
            r
        } else {
            r & ((1 << bits) - 1)
        }
    }
}

/// Loads `size` (1, 2, 4 or 8) bytes at `p`, little-endian.
///
/// # Safety
///
/// `p` is valid for reads of `size` bytes for the duration of the call and aligned to
/// `size`; the memory is only accessed atomically or by raw copies by others.
#[inline]
pub(super) unsafe fn load(p: *mut u8, size: u32) -> u64 {
    // SAFETY: forwarded from the caller: valid and aligned for each atomic type.
    unsafe {
        match size {
            1 => AtomicU8::from_ptr(p).load(Ordering::Relaxed) as u64,
            2 => u16::from_le(AtomicU16::from_ptr(p.cast()).load(Ordering::Relaxed)) as u64,
            4 => u32::from_le(AtomicU32::from_ptr(p.cast()).load(Ordering::Relaxed)) as u64,
            _ => {
                let lo = u32::from_le(AtomicU32::from_ptr(p.cast()).load(Ordering::Relaxed));
                let hi = u32::from_le(AtomicU32::from_ptr(p.add(4).cast()).load(Ordering::Relaxed));
                lo as u64 | (hi as u64) << 32
            }
        }
    }
}

/// Stores the low `size` bytes of `value` at `p`, little-endian.
///
/// # Safety
///
/// As for [`load`], for writes.
#[inline]
pub(super) unsafe fn store(p: *mut u8, size: u32, value: u64) {
    // SAFETY: forwarded from the caller: valid and aligned for each atomic type.
    unsafe {
        match size {
            1 => AtomicU8::from_ptr(p).store(value as u8, Ordering::Relaxed),
            2 => AtomicU16::from_ptr(p.cast()).store((value as u16).to_le(), Ordering::Relaxed),
            4 => AtomicU32::from_ptr(p.cast()).store((value as u32).to_le(), Ordering::Relaxed),
            _ => {
                AtomicU32::from_ptr(p.cast()).store((value as u32).to_le(), Ordering::Relaxed);
                AtomicU32::from_ptr(p.add(4).cast())
                    .store(((value >> 32) as u32).to_le(), Ordering::Relaxed);
            }
        }
    }
}

/// Loads `size` (1 to 8) bytes at `p`, little-endian, one byte at a time: for misaligned
/// guest accesses, which need not be atomic (the unprivileged spec allows a misaligned
/// access to be split).
///
/// # Safety
///
/// `p` is valid for reads of `size` bytes for the duration of the call; the memory is only
/// accessed atomically or by raw copies by others.
#[inline]
pub(super) unsafe fn load_bytes(p: *mut u8, size: u32) -> u64 {
    let mut v = 0u64;
    for i in (0..size as usize).rev() {
        // SAFETY: `i < size`: inside the range the caller vouches for; a byte is always
        // aligned.
        let b = unsafe { AtomicU8::from_ptr(p.add(i)) }.load(Ordering::Relaxed);
        v = v << 8 | b as u64;
    }
    v
}

/// Stores the low `size` (1 to 8) bytes of `value` at `p`, little-endian, one byte at a
/// time, first byte first (as [`load_bytes`], for misaligned guest accesses).
///
/// # Safety
///
/// As for [`load_bytes`], for writes.
#[inline]
pub(super) unsafe fn store_bytes(p: *mut u8, size: u32, value: u64) {
    for i in 0..size as usize {
        // SAFETY: `i < size`: inside the range the caller vouches for.
        unsafe { AtomicU8::from_ptr(p.add(i)) }.store((value >> (8 * i)) as u8, Ordering::Relaxed);
    }
}

/// Compare-and-swap of the 32-bit word at `p`: `Ok(old)` if it held `current` and now holds
/// `new`, `Err(actual)` otherwise.
///
/// # Safety
///
/// `p` valid for reads and writes of 4 bytes and 4-byte aligned (as for [`load`]).
#[inline]
pub(super) unsafe fn cas32(p: *mut u8, current: u32, new: u32) -> Result<u32, u32> {
    // SAFETY: forwarded from the caller.
    let a = unsafe { AtomicU32::from_ptr(p.cast()) };
    a.compare_exchange(
        current.to_le(),
        new.to_le(),
        Ordering::SeqCst,
        Ordering::SeqCst,
    )
    .map(u32::from_le)
    .map_err(u32::from_le)
}

/// A 32-bit AMO at `p`; returns the old value.
///
/// # Safety
///
/// As for [`cas32`].
#[inline]
pub(super) unsafe fn amo32(p: *mut u8, op: AmoOp, operand: u32) -> u32 {
    // SAFETY: forwarded from the caller.
    let a = unsafe { AtomicU32::from_ptr(p.cast()) };
    let sc = Ordering::SeqCst;
    if cfg!(target_endian = "little") {
        // SAFETY: same location, same alignment, viewed as signed for min/max.
        let s = unsafe { AtomicI32::from_ptr(p.cast()) };
        match op {
            AmoOp::Swap => a.swap(operand, sc),
            AmoOp::Add => a.fetch_add(operand, sc),
            AmoOp::Xor => a.fetch_xor(operand, sc),
            AmoOp::And => a.fetch_and(operand, sc),
            AmoOp::Or => a.fetch_or(operand, sc),
            AmoOp::Min => s.fetch_min(operand as i32, sc) as u32,
            AmoOp::Max => s.fetch_max(operand as i32, sc) as u32,
            AmoOp::Minu => a.fetch_min(operand, sc),
            AmoOp::Maxu => a.fetch_max(operand, sc),
        }
    } else {
        let mut old = a.load(sc);
        loop {
            let new = (op.apply(u32::from_le(old) as u64, operand as u64, 32) as u32).to_le();
            match a.compare_exchange_weak(old, new, sc, sc) {
                Ok(_) => return u32::from_le(old),
                Err(seen) => old = seen,
            }
        }
    }
}

/// Compare-and-swap of the 64-bit word at `p` (`Ok(old)` on success).
///
/// # Safety
///
/// `p` valid for reads and writes of 8 bytes, 8-byte aligned.
#[cfg(target_has_atomic = "64")]
pub(super) unsafe fn cas64(p: *mut u8, current: u64, new: u64) -> Result<u64, u64> {
    // SAFETY: forwarded from the caller.
    let a = unsafe { core::sync::atomic::AtomicU64::from_ptr(p.cast()) };
    a.compare_exchange(
        current.to_le(),
        new.to_le(),
        Ordering::SeqCst,
        Ordering::SeqCst,
    )
    .map(u64::from_le)
    .map_err(u64::from_le)
}

/// Compare-and-swap of the 64-bit word at `p` on a host without 64-bit atomics: two 32-bit
/// halves, not atomic as a whole (only RV64 guests on 32-bit hosts use it).
///
/// # Safety
///
/// `p` valid for reads and writes of 8 bytes, 8-byte aligned.
#[cfg(not(target_has_atomic = "64"))]
pub(super) unsafe fn cas64(p: *mut u8, current: u64, new: u64) -> Result<u64, u64> {
    // SAFETY: forwarded from the caller.
    let old = unsafe { load(p, 8) };
    if old == current {
        // SAFETY: forwarded from the caller.
        unsafe { store(p, 8, new) };
        Ok(old)
    } else {
        Err(old)
    }
}

/// A 64-bit AMO at `p`, as a compare-and-swap loop; returns the old value.
///
/// # Safety
///
/// As for [`cas64`].
pub(super) unsafe fn amo64(p: *mut u8, op: AmoOp, operand: u64) -> u64 {
    // SAFETY: forwarded from the caller.
    let mut old = unsafe { load(p, 8) };
    loop {
        let new = op.apply(old, operand, 64);
        // SAFETY: forwarded from the caller.
        match unsafe { cas64(p, old, new) } {
            Ok(_) => return old,
            Err(seen) => old = seen,
        }
    }
}
