//! Address translation: Sv32 page-table walks, permission checks (`U`, `SUM`, `MXR`), A/D
//! updates, PMP checks (`pmp`), and TLB fills.
//!
//! PMP is checked when a TLB entry is filled: the entry gets a tag only for the access
//! kinds that both the PTE and the PMP decision for the whole physical page allow. A page
//! that the PMP entries split (the first matching entry covers only part of it) gets no
//! tag at all, so every access to it comes back here and is checked on its own bytes.
//!
//! A/D bits are set by the hart (the Svadu behaviour, which priv 1.12 allows): the PTE is
//! updated with a 32-bit compare-and-swap on the host memory when the page table is in RAM,
//! so another hart's concurrent PTE write is never lost; if the PTE changed under the
//! walk, the walk starts again. Page tables outside RAM are updated with a read-compare-
//! write through the bus, and a PTE that cannot be written (ROM) raises an access fault of
//! the original access type.
//!
//! M-mode accesses (after `MPRV`) and `satp.MODE = Bare` are not translated. RV64 harts
//! only support Bare for now (Sv39 is the next step: `walk` is the only place to extend).

use super::hart::Hart;
use super::host;
use super::pmp::{PmpPerms, PMP_EXEC, PMP_READ, PMP_WRITE};
use super::tlb::{Tlb, TlbEntry, PAGE_MASK, PAGE_SIZE};
use super::trap::{cause, Exception, Priv};
use super::Xlen;
use crate::cpu::Bus;
use crate::memory::AccessSize;

/// The kind of access being translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Access {
    Load,
    Store,
    Fetch,
}

impl Access {
    fn page_fault(self) -> u64 {
        match self {
            Access::Load => cause::LOAD_PAGE,
            Access::Store => cause::STORE_PAGE,
            Access::Fetch => cause::INSN_PAGE,
        }
    }

    /// The PMP permission this access needs.
    fn pmp(self) -> PmpPerms {
        match self {
            Access::Load => PMP_READ,
            Access::Store => PMP_WRITE,
            Access::Fetch => PMP_EXEC,
        }
    }

    pub(super) fn access_fault(self) -> u64 {
        match self {
            Access::Load => cause::LOAD_ACCESS,
            Access::Store => cause::STORE_ACCESS,
            Access::Fetch => cause::INSN_ACCESS,
        }
    }
}

/// Which accesses a translation allows without another walk.
#[derive(Clone, Copy, Debug)]
struct Perms {
    r: bool,
    w: bool,
    x: bool,
}

impl Perms {
    const ALL: Perms = Perms {
        r: true,
        w: true,
        x: true,
    };

    fn allows(self, access: Access) -> bool {
        match access {
            Access::Load => self.r,
            Access::Store => self.w,
            Access::Fetch => self.x,
        }
    }
}

const PTE_V: u32 = 1 << 0;
const PTE_R: u32 = 1 << 1;
const PTE_W: u32 = 1 << 2;
const PTE_X: u32 = 1 << 3;
const PTE_U: u32 = 1 << 4;
const PTE_A: u32 = 1 << 6;
const PTE_D: u32 = 1 << 7;

impl Hart<'_> {
    /// Translates `va` for an `access` of `size` bytes through the TLB, walking and filling
    /// on a miss. Gives the physical address and, for RAM, the host address of the byte
    /// (else null).
    #[inline]
    pub(super) fn translate<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u64,
        access: Access,
    ) -> Result<(u64, *mut u8), Exception> {
        let prv = if access == Access::Fetch {
            self.prv
        } else {
            self.data_prv
        };
        let page = va & !PAGE_MASK;
        let e = self.tlb.entry(prv, va);
        let tag = match access {
            Access::Load => e.tag_r,
            Access::Store => e.tag_w,
            Access::Fetch => e.tag_x,
        };
        let e = if tag == page {
            *e
        } else {
            self.fill(bus, va, size, access, prv)?
        };
        let host = match access {
            Access::Store => e.host_w,
            _ => e.host_r,
        };
        let off = va & PAGE_MASK;
        let host = if host.is_null() {
            host
        } else {
            // SAFETY: `off < PAGE_SIZE`, inside the host page (TlbEntry docs).
            unsafe { host.add(off as usize) }
        };
        Ok((e.ppage | off, host))
    }

    /// Walks for `va`, checks PMP for the `size`-byte access, fills the TLB entry (when the
    /// PMP decision covers the whole page) and returns it.
    #[cold]
    fn fill<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        size: u64,
        access: Access,
        prv: Priv,
    ) -> Result<TlbEntry, Exception> {
        let page = va & !PAGE_MASK;
        let (ppage, mut perms) = self.walk(bus, va, access, prv)?;
        let access_fault = Exception::new(access.access_fault(), va);
        let cacheable = match self.pmp.decide(ppage, PAGE_SIZE, prv) {
            Some(allowed) => {
                perms.r &= allowed & PMP_READ != 0;
                perms.w &= allowed & PMP_WRITE != 0;
                perms.x &= allowed & PMP_EXEC != 0;
                if !perms.allows(access) {
                    return Err(access_fault);
                }
                true
            }
            None => {
                let pa = ppage | (va & PAGE_MASK);
                if !self.pmp.check(pa, size, access.pmp(), prv) {
                    return Err(access_fault);
                }
                false
            }
        };
        let slot = &self.tlb.sets[prv.index()][Tlb::index(va)];
        let same =
            slot.ppage == ppage && (slot.tag_r == page || slot.tag_w == page || slot.tag_x == page);
        let mut e = if same { *slot } else { TlbEntry::EMPTY };
        e.ppage = ppage;
        if same {
            // Same page: keep the tags it already has, add this access's.
        } else if let Some(hp) = bus.host_page(ppage, PAGE_SIZE) {
            // Only 8-byte aligned host pages, so that aligned guest accesses are aligned
            // host atomics (see `host`).
            if hp.as_ptr() as usize & 7 == 0 {
                e.host_r = hp.as_ptr();
                if hp.writable() {
                    e.host_w = hp.as_ptr();
                }
            }
        }
        if !cacheable {
            // Checked for this access only: the entry is handed back, not kept.
            return Ok(e);
        }
        if self.triggers.exec_armed || self.triggers.data_armed {
            // Accesses to a page with a trigger take the paths that check them.
            let (data, exec) = self.page_untriggered(page);
            perms.r &= data;
            perms.w &= data;
            perms.x &= exec;
        }
        if perms.r {
            e.tag_r = page;
        }
        if perms.w {
            e.tag_w = page;
        }
        if perms.x {
            e.tag_x = page;
        }
        self.tlb.sets[prv.index()][Tlb::index(va)] = e;
        Ok(e)
    }

    /// Translates `va` for `access` at `prv` without the TLB: the physical page and what a
    /// TLB entry may allow.
    fn walk<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        va: u64,
        access: Access,
        prv: Priv,
    ) -> Result<(u64, Perms), Exception> {
        let satp = self.csr.satp;
        let sv32 = matches!(self.xlen, Xlen::Rv32) && satp >> 31 == 1;
        if prv == Priv::Machine || !sv32 {
            return Ok((va & !PAGE_MASK & self.xmask, Perms::ALL));
        }
        let page_fault = Exception::new(access.page_fault(), va);
        let access_fault = Exception::new(access.access_fault(), va);
        let ms = self.csr.mstatus;
        let sum = ms & super::csr::mstatus::SUM != 0;
        let mxr = ms & super::csr::mstatus::MXR != 0;
        'walk: loop {
            let mut table = (satp & 0x3f_ffff) << 12;
            let mut level = 1u32;
            loop {
                let vpn = (va >> (12 + 10 * level)) & 0x3ff;
                let pte_addr = table + vpn * 4;
                // The walk reads the PTE as S-mode for PMP.
                if !self.pmp.check(pte_addr, 4, PMP_READ, Priv::Supervisor) {
                    return Err(access_fault);
                }
                let (pte, r) = bus.read(pte_addr, AccessSize::Word, self.attrs);
                if !r.is_ok() {
                    return Err(access_fault);
                }
                let mut pte = pte as u32;
                if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) {
                    return Err(page_fault);
                }
                if pte & (PTE_R | PTE_X) == 0 {
                    if level == 0 {
                        return Err(page_fault);
                    }
                    level -= 1;
                    table = ((pte >> 10) as u64) << 12;
                    continue;
                }
                // A leaf.
                if level == 1 && (pte >> 10) & 0x3ff != 0 {
                    return Err(page_fault); // misaligned superpage
                }
                let mut perms = Perms {
                    r: pte & PTE_R != 0 || (mxr && pte & PTE_X != 0),
                    w: pte & PTE_W != 0,
                    x: pte & PTE_X != 0,
                };
                let user = pte & PTE_U != 0;
                match prv {
                    Priv::User if !user => return Err(page_fault),
                    Priv::Supervisor if user => {
                        perms.x = false;
                        if !sum {
                            perms.r = false;
                            perms.w = false;
                        }
                    }
                    _ => {}
                }
                if !perms.allows(access) {
                    return Err(page_fault);
                }
                let need = PTE_A | if access == Access::Store { PTE_D } else { 0 };
                if pte & need != need {
                    if !self.pmp.check(pte_addr, 4, PMP_WRITE, Priv::Supervisor) {
                        return Err(access_fault);
                    }
                    let new = pte | need;
                    match self.pte_cas(bus, pte_addr, pte, new) {
                        Ok(true) => pte = new,
                        Ok(false) => continue 'walk,
                        Err(()) => return Err(access_fault),
                    }
                }
                perms.w &= pte & PTE_D != 0;
                let ppn = (pte >> 10) as u64;
                let ppage = if level == 1 {
                    ((ppn >> 10) << 22) | (va & 0x003f_f000)
                } else {
                    ppn << 12
                };
                return Ok((ppage, perms));
            }
        }
    }

    /// The physical address of `va` for a debugger's read or write, as QEMU's gdbstub
    /// translates (`riscv_cpu_get_phys_page_debug`): a load at the data-access privilege
    /// (`MPRV` applies), with the current `satp`, `SUM` and `MXR`; `None` when that load
    /// would fault. No PMP check, no TLB change, no A/D update: the walk has no side
    /// effects.
    pub fn debug_translate<B: Bus + ?Sized>(&self, bus: &B, va: u64) -> Option<u64> {
        let va = va & self.xmask;
        let satp = self.csr.satp;
        let sv32 = matches!(self.xlen, Xlen::Rv32) && satp >> 31 == 1;
        let prv = self.data_prv;
        if prv == Priv::Machine || !sv32 {
            return Some(va);
        }
        let ms = self.csr.mstatus;
        let sum = ms & super::csr::mstatus::SUM != 0;
        let mxr = ms & super::csr::mstatus::MXR != 0;
        let mut table = (satp & 0x3f_ffff) << 12;
        let mut level = 1u32;
        loop {
            let vpn = (va >> (12 + 10 * level)) & 0x3ff;
            let (pte, r) = bus.read(table + vpn * 4, AccessSize::Word, self.attrs);
            if !r.is_ok() {
                return None;
            }
            let pte = pte as u32;
            if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) {
                return None;
            }
            if pte & (PTE_R | PTE_X) == 0 {
                if level == 0 {
                    return None;
                }
                level -= 1;
                table = ((pte >> 10) as u64) << 12;
                continue;
            }
            if level == 1 && (pte >> 10) & 0x3ff != 0 {
                return None;
            }
            let readable = pte & PTE_R != 0 || (mxr && pte & PTE_X != 0);
            let user = pte & PTE_U != 0;
            let allowed = match prv {
                Priv::User => user,
                _ => !user || sum,
            };
            if !readable || !allowed {
                return None;
            }
            let ppn = (pte >> 10) as u64;
            let ppage = if level == 1 {
                ((ppn >> 10) << 22) | (va & 0x003f_f000)
            } else {
                ppn << 12
            };
            return Some(ppage | (va & PAGE_MASK));
        }
    }

    /// Replaces the PTE at `addr` by `new` if it still holds `old`: `Ok(false)` if it
    /// changed, `Err` if it cannot be written.
    fn pte_cas<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        addr: u64,
        old: u32,
        new: u32,
    ) -> Result<bool, ()> {
        if let Some(hp) = bus.host_page(addr & !PAGE_MASK, PAGE_SIZE) {
            let p = hp.as_ptr();
            if hp.writable() && p as usize & 3 == 0 {
                // SAFETY: the page is alive for the bus borrow, `addr` is 4-aligned (PTEs
                // are) and so is the page's host address, so this is an aligned word
                // inside the page, written only atomically.
                let r = unsafe { host::cas32(p.add((addr & PAGE_MASK) as usize), old, new) };
                return Ok(r.is_ok());
            }
        }
        let (cur, r) = bus.read(addr, AccessSize::Word, self.attrs);
        if !r.is_ok() {
            return Err(());
        }
        if cur as u32 != old {
            return Ok(false);
        }
        if bus
            .write(addr, AccessSize::Word, new as u64, self.attrs)
            .is_ok()
        {
            Ok(true)
        } else {
            Err(())
        }
    }
}
