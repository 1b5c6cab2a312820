//! Misaligned scalar loads and stores, done as QEMU 7.2 does them (its `cputlb.c`), so a
//! guest sees the same values and the same faults:
//!
//! * inside one page of host RAM (a TLB hit): one access, byte by byte on the host page
//!   (`Hart::load`/`Hart::store` and the block executor do it on their fast path);
//! * a **load** otherwise: the first page is translated with the guest's address (a fault
//!   there reports it), then the two naturally aligned accesses of the same size that
//!   cover the bytes are made (through the TLB, to RAM or MMIO, each one a size the device
//!   normally takes) and the bytes are put together. A fault of the second access reports
//!   its own address: for an access across a page boundary, the second page's first byte
//!   (the "portion of the access that caused the fault" of the privileged spec);
//! * a **store** otherwise: the first page is translated and permission- and PMP-checked
//!   with the guest's address, then the second page (if the store crosses into one) with
//!   that page's address, before any byte is written, so a store whose second page faults
//!   writes nothing. Then the bytes are stored one at a time, first to last; a device that
//!   refuses a byte access makes a store access fault at that byte's address, after the
//!   bytes before it were written (as QEMU).
//!
//! AMOs and LR/SC are not here: they raise their address-misaligned exceptions (load
//! address misaligned for LR, store/AMO for SC and AMOs, as QEMU 7.2).

use super::hart::Hart;
use super::host;
use super::mmu::Access;
use super::tlb::{PAGE_MASK, PAGE_SIZE};
use super::trap::Exception;
use super::trigger::Touch;
use crate::cpu::Bus;

impl Hart<'_> {
    /// A misaligned load of `size` bytes at `va` that is not a TLB hit inside one page.
    #[cold]
    #[inline(never)]
    pub(super) fn load_misaligned<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
    ) -> Result<u64, Exception> {
        let n = size as u64;
        let first = n.min(PAGE_SIZE - (va & PAGE_MASK));
        self.translate(bus, va, first, Access::Load)?;
        let lo_addr = va & !(n - 1);
        let hi_addr = lo_addr.wrapping_add(n) & self.xmask;
        // Both are aligned: `load` takes them on its aligned paths.
        let lo = self.load(bus, lo_addr, size)? as u128;
        let hi = self.load(bus, hi_addr, size)? as u128;
        let shift = 8 * (va - lo_addr) as u32;
        let v = ((lo | hi << (8 * size)) >> shift) as u64;
        Ok(if size == 8 {
            v
        } else {
            v & ((1 << (8 * size)) - 1)
        })
    }

    /// A misaligned store of the low `size` bytes of `value` at `va` that is not a TLB hit
    /// inside one page.
    #[cold]
    #[inline(never)]
    pub(super) fn store_misaligned<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u32,
        value: u64,
    ) -> Result<(), Exception> {
        let n = size as u64;
        let first = n.min(PAGE_SIZE - (va & PAGE_MASK));
        self.translate(bus, va, first, Access::Store)?;
        if first < n {
            let page2 = (va & !PAGE_MASK).wrapping_add(PAGE_SIZE) & self.xmask;
            self.translate(bus, page2, n - first, Access::Store)?;
        }
        if self.triggers.data_armed {
            self.data_trigger(va, n, Touch::Store)?;
        }
        for i in 0..n {
            let at = va.wrapping_add(i) & self.xmask;
            self.store(bus, at, 1, value >> (8 * i))?;
        }
        Ok(())
    }

    /// A misaligned store inside one writable host page at `p` (a TLB hit): whether it
    /// wrote a line that holds checked code, which ends the code epoch (`block`).
    #[inline(never)]
    pub(super) fn store_host_misaligned(&mut self, p: *mut u8, size: u32, value: u64) -> bool {
        // SAFETY: the caller found `p` in a live, writable TLB page with the `size` bytes
        // from it inside the page.
        unsafe { host::store_bytes(p, size, value) };
        let last = p.addr() + size as usize - 1;
        if self.blocks.is_code_line(p.addr()) || self.blocks.is_code_line(last) {
            self.blocks.code_changed();
            return true;
        }
        false
    }
}
