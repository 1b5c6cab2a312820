//! The hart's memory side: instruction fetches, loads and stores (aligned on the TLB fast
//! path, misaligned ones in `misaligned`), AMOs and LR/SC, through the TLB and the
//! [`Bus`], with the trigger checks of `trigger` on their slow paths. Guest mistakes
//! become exceptions (rule L9).

use super::hart::{Hart, Reservation};
use super::host::{self, AmoOp};
use super::mmu::Access;
use super::tlb::{self, FastEntry, Tlb, PAGE_MASK};
use super::trap::{cause, Exception};
use super::trigger::Touch;
use crate::cpu::Bus;
use crate::memory::AccessSize;

impl Hart<'_> {
    /// A load for [`Hart::run_block`]: the value and whether it left the TLB fast path
    /// (MMIO or a miss), which ends the block. Only the FP loads use it (the block executor
    /// calls [`Hart::load_in_set`]), so it exists with the `fpu` feature.
    #[cfg(feature = "fpu")]
    #[inline(always)]
    pub(super) fn load_in_block<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
    ) -> Result<(u64, bool), Exception> {
        self.load_in_set(bus, Tlb::set_of(self.data_prv), va, size)
    }

    /// [`Hart::load_in_block`] with the TLB set of `data_prv` given ([`Tlb::set_of`]):
    /// the block executor computes it once per block (no instruction of a block changes
    /// `data_prv`), not once per access.
    #[inline(always)]
    pub(super) fn load_in_set<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        set: usize,
        va: u64,
        size: u32,
    ) -> Result<(u64, bool), Exception> {
        if tlb::FAST {
            // The page and the alignment in one compare (a misaligned `va` equals no tag,
            // and takes the entry's path below, out of line).
            let f = self.tlb.fast(va);
            if f.tag_r == va & (!PAGE_MASK | (size as u64 - 1)) {
                let p = f.base_r.wrapping_add(va as usize);
                // SAFETY: a fast tag matches only for a live, 8-aligned host page of the
                // entry (`Tlb::store`, tlb docs): `base_r + va` is inside it, aligned to
                // `size` with the access inside the page.
                let v = unsafe { host::load(p, size) };
                return Ok((v, false));
            }
            return self.load_in_set_cold(bus, set, va, size);
        }
        self.load_in_set_entry(bus, set, va, size)
    }

    /// The fast-view half of [`Hart::load_in_set`]: the value when the view holds `va`'s
    /// page for reads and `va` is aligned to `size`, else `None` (then
    /// [`Hart::load_in_set`]). Kept apart so that a hit's value stays in a register: through
    /// `load_in_set`'s result it went through the stack slot its out-of-line miss path
    /// returns in (two host instructions a load in the block executor).
    #[inline(always)]
    pub(super) fn load_fast(&self, va: u64, size: u32) -> Option<u64> {
        if !tlb::FAST {
            return None;
        }
        let f = self.tlb.fast(va);
        if f.tag_r != va & (!PAGE_MASK | (size as u64 - 1)) {
            return None;
        }
        let p = f.base_r.wrapping_add(va as usize);
        // SAFETY: as in `load_in_set`: a fast tag matches only for a live, 8-aligned host
        // page of the entry, `base_r + va` is inside it, aligned to `size` with the access
        // inside the page.
        Some(unsafe { host::load(p, size) })
    }

    /// [`Hart::load_in_set`] when its fast view missed: the entry's own path, which
    /// copies a hit on a host page into the fast view. (`set` is not used: with the fast
    /// view, the block executor need not keep it.)
    #[cold]
    #[inline(never)]
    fn load_in_set_cold<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        _set: usize,
        va: u64,
        size: u32,
    ) -> Result<(u64, bool), Exception> {
        let set = Tlb::set_of(self.data_prv);
        let f = FastEntry::of(self.tlb.entry_in(set, va), self.blocks.code_pages());
        if f.tag_r == va & !PAGE_MASK || f.tag_w == va & !PAGE_MASK {
            self.tlb.set_fast(set, va, f);
        }
        self.load_in_set_entry(bus, set, va, size)
    }

    /// [`Hart::load_in_set`] through the TLB entry: an aligned or misaligned access
    /// inside a host page, else the slow path.
    #[inline(always)]
    fn load_in_set_entry<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        set: usize,
        va: u64,
        size: u32,
    ) -> Result<(u64, bool), Exception> {
        let e = self.tlb.entry_in(set, va);
        if e.tag_r == va & !PAGE_MASK && !e.host_r.is_null() {
            let off = va & PAGE_MASK;
            if va & (size as u64 - 1) == 0 {
                // SAFETY: live 8-aligned TLB page (tlb docs); `va` is aligned to `size` and
                // the access does not leave the page.
                return Ok((
                    unsafe { host::load(e.host_r.add(off as usize), size) },
                    false,
                ));
            }
            if off + size as u64 <= PAGE_MASK + 1 {
                // SAFETY: live TLB page; the `size` bytes from `off` are inside it.
                return Ok((
                    unsafe { host::load_bytes(e.host_r.add(off as usize), size) },
                    false,
                ));
            }
        }
        self.load_slow(bus, va, size).map(|v| (v, true))
    }

    /// A store for [`Hart::run_block`]: whether it ends the block, because it may have
    /// written a block checked in this code epoch (which ends the epoch: `block`) or left
    /// the TLB fast path (MMIO, which may raise an interrupt, or a miss). Only the FP stores
    /// use it, as [`Hart::load_in_block`].
    #[cfg(feature = "fpu")]
    #[inline(always)]
    pub(super) fn store_in_block<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<bool, Exception> {
        self.store_in_set(bus, Tlb::set_of(self.data_prv), va, size, value)
    }

    /// [`Hart::store_in_block`] with the TLB set of `data_prv` given (as
    /// [`Hart::load_in_set`]).
    #[inline(always)]
    pub(super) fn store_in_set<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        set: usize,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<bool, Exception> {
        if tlb::FAST {
            // As in `load_in_set`.
            let f = self.tlb.fast(va);
            if f.tag_w == va & (!PAGE_MASK | (size as u64 - 1)) {
                let p = f.base_w.wrapping_add(va as usize);
                // SAFETY: a fast write tag matches only for a live, writable, 8-aligned
                // host page of the entry: `p` is inside it, aligned to `size` with the
                // access inside the page.
                unsafe { host::store(p, size, value) };
                // No code-line test: a fast write tag matches only while its page
                // holds no line of a block checked in this epoch (`block`'s docs, "Pages
                // that may hold code").
                return Ok(false);
            }
            return self.store_in_set_cold(bus, set, va, size, value);
        }
        self.store_in_set_entry(bus, set, va, size, value)
    }

    /// [`Hart::store_in_set`] when its fast view missed (as `load_in_set_cold`).
    #[cold]
    #[inline(never)]
    fn store_in_set_cold<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        _set: usize,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<bool, Exception> {
        let set = Tlb::set_of(self.data_prv);
        let f = FastEntry::of(self.tlb.entry_in(set, va), self.blocks.code_pages());
        if f.tag_r == va & !PAGE_MASK || f.tag_w == va & !PAGE_MASK {
            self.tlb.set_fast(set, va, f);
        }
        self.store_in_set_entry(bus, set, va, size, value)
    }

    /// [`Hart::store_in_set`] through the TLB entry.
    #[inline(always)]
    fn store_in_set_entry<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        set: usize,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<bool, Exception> {
        let e = self.tlb.entry_in(set, va);
        if e.tag_w == va & !PAGE_MASK && !e.host_w.is_null() {
            let off = va & PAGE_MASK;
            // SAFETY: live, writable, 8-aligned TLB page; `off` is inside it.
            let p = unsafe { e.host_w.add(off as usize) };
            if va & (size as u64 - 1) == 0 {
                // SAFETY: as above; an aligned access inside the page.
                unsafe { host::store(p, size, value) };
                if self.blocks.is_code_line(p.addr()) {
                    self.blocks.code_changed();
                    return Ok(true);
                }
                return Ok(false);
            }
            if off + size as u64 <= PAGE_MASK + 1 {
                return Ok(self.store_host_misaligned(p, size, value));
            }
        }
        self.store_slow(bus, va, size, value).map(|()| true)
    }

    /// Fetches the instruction bits at `pc` (a compressed one in the low half).
    #[inline]
    pub(super) fn fetch<B: Bus + ?Sized>(&mut self, bus: &B, pc: u64) -> Result<u32, Exception> {
        let e = self.tlb.entry(self.prv, pc);
        let off = (pc & PAGE_MASK) as usize;
        if e.tag_x == pc & !PAGE_MASK && !e.host_r.is_null() {
            let p = e.host_r;
            // SAFETY: a TLB host page is alive for this slice's bus borrow (tlb docs), 8-byte
            // aligned, and `off` is even and below the page size, so this is an aligned
            // half-word inside it.
            let lo = unsafe { host::load(p.add(off), 2) } as u32;
            if lo & 3 != 3 {
                return Ok(lo);
            }
            if off + 4 <= PAGE_MASK as usize + 1 {
                // SAFETY: as above, and `off + 2 + 2` is still inside the page.
                let hi = unsafe { host::load(p.add(off + 2), 2) } as u32;
                return Ok(lo | hi << 16);
            }
        }
        self.fetch_slow(bus, pc)
    }

    #[cold]
    pub(super) fn fetch_slow<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        pc: u64,
    ) -> Result<u32, Exception> {
        let lo = self.fetch16(bus, pc)?;
        if lo & 3 != 3 {
            return Ok(lo);
        }
        let hi = self.fetch16(bus, pc.wrapping_add(2) & self.xmask)?;
        Ok(lo | hi << 16)
    }

    pub(super) fn fetch16<B: Bus + ?Sized>(&mut self, bus: &B, va: u64) -> Result<u32, Exception> {
        let (pa, p) = self.translate(bus, va, 2, Access::Fetch)?;
        if !p.is_null() {
            // SAFETY: `translate` gives a host address inside a live, 8-aligned TLB page;
            // `va` is even, so this half-word is aligned and inside the page.
            return Ok(unsafe { host::load(p, 2) } as u32);
        }
        let (v, r) = bus.read(pa, AccessSize::Half, self.attrs);
        if r.is_ok() {
            Ok(v as u32)
        } else {
            Err(Exception::new(cause::INSN_ACCESS, va))
        }
    }

    /// Loads `size` bytes at virtual address `va` (zero-extended).
    #[inline]
    pub(super) fn load<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
    ) -> Result<u64, Exception> {
        let e = self.tlb.entry(self.data_prv, va);
        if e.tag_r == va & !PAGE_MASK && !e.host_r.is_null() {
            let off = va & PAGE_MASK;
            if va & (size as u64 - 1) == 0 {
                // SAFETY: live 8-aligned TLB page (tlb docs); `va` is aligned to `size` and
                // the access does not leave the page.
                return Ok(unsafe { host::load(e.host_r.add(off as usize), size) });
            }
            if off + size as u64 <= PAGE_MASK + 1 {
                // SAFETY: live TLB page; the `size` bytes from `off` are inside it.
                return Ok(unsafe { host::load_bytes(e.host_r.add(off as usize), size) });
            }
        }
        self.load_slow(bus, va, size)
    }

    #[cold]
    pub(super) fn load_slow<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
    ) -> Result<u64, Exception> {
        if va & (size as u64 - 1) != 0 {
            // Two aligned loads through `load` (RAM or MMIO, each keeping the epoch as
            // below), so it keeps the epoch too.
            return self.load_misaligned(bus, va, size);
        }
        // A TLB miss that maps RAM changes no code and no translation of the `pc` (a walk
        // that wrote a PTE starts a new code epoch itself: `mmu`), so it keeps the epoch.
        let (pa, p) = self.translate(bus, va, size as u64, Access::Load)?;
        if self.triggers.data_armed {
            self.data_trigger(va, size as u64, Touch::Load)?;
        }
        if !p.is_null() {
            // SAFETY: as in `load`.
            return Ok(unsafe { host::load(p, size) });
        }
        // MMIO: keeps the code epoch, as a store to MMIO does. A device that writes guest
        // memory (a DMA engine whose status this polls, or a read with side effects) does
        // it through a DMA lease or a section, which the memory counts, and the block ends
        // here (the block executor leaves after a load off the fast path; generated code
        // leaves before one, and the general path runs it alone), so the run loop's
        // comparison of that count before the next block sees it (`block`).
        let (v, r) = bus.read(pa, access_size(size), self.attrs);
        if r.is_ok() {
            Ok(v)
        } else {
            Err(Exception::new(cause::LOAD_ACCESS, va))
        }
    }

    /// Stores the low `size` bytes of `value` at virtual address `va`.
    #[inline]
    pub(super) fn store<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<(), Exception> {
        let e = self.tlb.entry(self.data_prv, va);
        if e.tag_w == va & !PAGE_MASK && !e.host_w.is_null() {
            let off = va & PAGE_MASK;
            // SAFETY: live, writable, 8-aligned TLB page; `off` is inside it.
            let p = unsafe { e.host_w.add(off as usize) };
            if va & (size as u64 - 1) == 0 {
                // SAFETY: as above; an aligned access inside the page.
                unsafe { host::store(p, size, value) };
                if self.blocks.is_code_line(p.addr()) {
                    self.blocks.code_changed();
                }
                return Ok(());
            }
            if off + size as u64 <= PAGE_MASK + 1 {
                self.store_host_misaligned(p, size, value);
                return Ok(());
            }
        }
        self.store_slow(bus, va, size, value)
    }

    #[cold]
    pub(super) fn store_slow<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<(), Exception> {
        if va & (size as u64 - 1) != 0 {
            // MMIO or a store to code: a new code epoch (`block`).
            self.blocks.code_changed();
            return self.store_misaligned(bus, va, size, value);
        }
        // A TLB miss that maps RAM keeps the epoch (as in `load_slow`); the store itself
        // is checked against the code-line filter as on the fast path.
        let (pa, p) = self.translate(bus, va, size as u64, Access::Store)?;
        if self.triggers.data_armed {
            self.data_trigger(va, size as u64, Touch::Store)?;
        }
        if !p.is_null() {
            // SAFETY: as in `store`.
            unsafe { host::store(p, size, value) };
            if self.blocks.is_code_line(p.addr()) {
                self.blocks.code_changed();
            }
            return Ok(());
        }
        // MMIO: keeps the code epoch. A device that writes guest memory because of this
        // store does it through a DMA lease or a section, which the memory counts, and the
        // block ends here (the block executor leaves after a store off the fast path), so
        // the run loop's comparison of that count before the next block sees it (`block`).
        if bus.write(pa, access_size(size), value, self.attrs).is_ok() {
            Ok(())
        } else {
            Err(Exception::new(cause::STORE_ACCESS, va))
        }
    }

    /// An AMO of `size` (4 or 8) bytes: returns the old value (zero-extended).
    pub(super) fn amo<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
        op: AmoOp,
        operand: u64,
    ) -> Result<u64, Exception> {
        if va & (size as u64 - 1) != 0 {
            return Err(Exception::new(cause::STORE_MISALIGNED, va));
        }
        let (pa, p) = self.translate(bus, va, size as u64, Access::Store)?;
        if self.triggers.data_armed {
            self.data_trigger(va, size as u64, Touch::Both)?;
        }
        if !p.is_null() {
            // SAFETY: live, writable, 8-aligned TLB page; `va` (hence `p`) is aligned to
            // `size` and the word is inside the page.
            let old = unsafe {
                if size == 4 {
                    host::amo32(p, op, operand as u32) as u64
                } else {
                    host::amo64(p, op, operand)
                }
            };
            // Checked like a plain store: it may have written code (`block`).
            if self.blocks.is_code_line(p.addr()) {
                self.blocks.code_changed();
            }
            return Ok(old);
        }
        // MMIO (or memory without a host page): read-modify-write through the bus; it
        // keeps the code epoch as an MMIO load and store do (`load_slow`): an AMO ends
        // its block, and what the device or the bus writes to memory is counted.
        let fault = Exception::new(cause::STORE_ACCESS, va);
        let (old, r) = bus.read(pa, access_size(size), self.attrs);
        if !r.is_ok() {
            return Err(fault);
        }
        let new = op.apply(old, operand, size * 8);
        if !bus.write(pa, access_size(size), new, self.attrs).is_ok() {
            return Err(fault);
        }
        Ok(old)
    }

    pub(super) fn load_reserved<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
    ) -> Result<u64, Exception> {
        if va & (size as u64 - 1) != 0 {
            return Err(Exception::new(cause::LOAD_MISALIGNED, va));
        }
        let (pa, _) = self.translate(bus, va, size as u64, Access::Load)?;
        let value = self.load(bus, va, size)?;
        self.reservation = Some(Reservation {
            addr: pa,
            size,
            value,
        });
        Ok(value)
    }

    /// SC: true if the store happened.
    pub(super) fn store_conditional<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<bool, Exception> {
        if va & (size as u64 - 1) != 0 {
            // No reservation is ever at a misaligned address: the SC fails, with no memory
            // access and no exception (as QEMU 7.2, which compares addresses first).
            self.reservation = None;
            return Ok(false);
        }
        let (pa, p) = self.translate(bus, va, size as u64, Access::Store)?;
        let Some(res) = self.reservation.take() else {
            return Ok(false);
        };
        if res.addr != pa || res.size != size {
            return Ok(false);
        }
        if self.triggers.data_armed {
            self.data_trigger(va, size as u64, Touch::Store)?;
        }
        if !p.is_null() {
            // SAFETY: live, writable, 8-aligned TLB page; aligned word inside it.
            let ok = unsafe {
                if size == 4 {
                    host::cas32(p, res.value as u32, value as u32).is_ok()
                } else {
                    host::cas64(p, res.value, value).is_ok()
                }
            };
            // Checked like a plain store: it may have written code (`block`).
            if ok && self.blocks.is_code_line(p.addr()) {
                self.blocks.code_changed();
            }
            return Ok(ok);
        }
        // MMIO: keeps the code epoch, as an AMO's read-modify-write does (`amo`).
        let fault = Exception::new(cause::STORE_ACCESS, va);
        let (cur, r) = bus.read(pa, access_size(size), self.attrs);
        if !r.is_ok() {
            return Err(fault);
        }
        if cur != res.value {
            return Ok(false);
        }
        if bus.write(pa, access_size(size), value, self.attrs).is_ok() {
            Ok(true)
        } else {
            Err(fault)
        }
    }
}

/// The [`AccessSize`] of a `size`-byte access.
pub(super) fn access_size(size: u32) -> AccessSize {
    match size {
        1 => AccessSize::Byte,
        2 => AccessSize::Half,
        4 => AccessSize::Word,
        _ => AccessSize::Double,
    }
}
