//! Address translation: the page-table walk of Sv32, Sv39, Sv48 and Sv57 (with Svnapot and
//! Svpbmt), permission checks (`U`, `SUM`, `MXR`), A/D updates, PMP checks (`pmp`), and
//! TLB fills.
//!
//! One walk ([`Hart::walk`]) serves the hart and the debugger: the debugger's
//! ([`Hart::debug_translate`]) makes no PMP check and no A/D update. The scheme comes from
//! `satp.MODE` ([`Scheme`]); the walk follows the privileged spec's algorithm (section
//! 4.3.2) with the scheme's levels, index width and PTE size:
//!
//! * RV64 schemes: a virtual address whose bits above the scheme's width are not all equal
//!   to its top bit (not canonical) page-faults; so does a PTE with a reserved bit
//!   (60:54) set, a PBMT value of 3 or a nonzero PBMT while `menvcfg.PBMTE` is clear
//!   (Svpbmt: the attribute is accepted and otherwise ignored, Fief's memory being
//!   coherent), and an N bit (Svnapot) anywhere but in a level-0 leaf whose `ppn[3:0]` is
//!   `0b1000` (a 64 KiB page). QEMU 7.2 ignores bits 60:54 and PBMT = 3 once Svpbmt or
//!   Svnapot is on, and with Svpbmt on accepts PBMT whatever `menvcfg.PBMTE` says; Fief
//!   faults, as the spec says (`DEVIATIONS` in the tests crate's `randdiff`).
//!   The RV64 schemes exist with the cargo feature `rv64` (on by default): without it an
//!   RV64 hart has only Bare, and the walk's RV64 parts compile away.
//! * Every scheme: D, A and U (and N, PBMT) of a non-leaf PTE are reserved and fault, as in
//!   the spec and QEMU 7.2; a leaf above level 0 is a superpage whose PPN must be aligned
//!   to its size (else a page fault).
//!
//! PMP is checked when a TLB entry is filled: the entry gets a tag only for the access
//! kinds that both the PTE and the PMP decision for the whole physical page allow. A page
//! that the PMP entries split (the first matching entry covers only part of it) gets no
//! tag at all, so every access to it comes back here and is checked on its own bytes.
//!
//! A/D bits are set by the hart (the Svadu behaviour, which priv 1.12 allows): the PTE is
//! updated with a compare-and-swap of the PTE's width (32 bits for Sv32, 64 for the RV64
//! schemes) on the host memory when the page table is in RAM,
//! so another hart's concurrent PTE write is never lost; if the PTE changed under the
//! walk, the walk starts again. Page tables outside RAM are updated with a read-compare-
//! write through the bus, and a PTE that cannot be written (ROM) raises an access fault of
//! the original access type.
//!
//! M-mode accesses (after `MPRV`) and `satp.MODE = Bare` are not translated.
//!
//! The TLB holds 4 KiB pieces of translations: a superpage or NAPOT page fills one entry
//! per 4 KiB page touched, each recording the size of the mapping it came from, so that
//! `sfence.vma` by address drops every piece of it (`tlb`; without the `rv64` feature
//! every `sfence.vma` flushes the whole TLB).

use super::hart::Hart;
use super::host;
use super::pmp::{PmpPerms, PMP_EXEC, PMP_READ, PMP_WRITE};
#[cfg(not(target_os = "none"))]
use super::tlb::{RamWindow, WINDOW_SHIFTS};
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

/// Whether this build has the RV64 paging schemes (cargo feature `rv64`, on by default;
/// the Cortex-M co-simulation firmware, an RV32 machine close to its flash budget, leaves
/// it out). Without it an RV64 hart has only `satp.MODE = Bare`.
const RV64_PAGING: bool = cfg!(feature = "rv64");

/// A paging scheme: the `satp.MODE` values other than Bare that the hart implements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Scheme {
    /// RV32, two levels of 4-byte PTEs.
    Sv32,
    /// RV64, three levels of 8-byte PTEs, 39-bit virtual addresses.
    Sv39,
    /// RV64, four levels, 48-bit virtual addresses.
    Sv48,
    /// RV64, five levels, 57-bit virtual addresses.
    Sv57,
}

/// What `satp.MODE` selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SatpMode {
    /// No translation.
    Bare,
    /// Translation through page tables.
    Paged(Scheme),
}

impl SatpMode {
    /// The mode a `satp` value selects for `xlen`, or `None` for a mode the hart does not
    /// implement (a write of such a value leaves `satp` unchanged, as the spec says and
    /// QEMU's `validate_vm` does).
    pub(super) fn of(xlen: Xlen, satp: u64) -> Option<SatpMode> {
        match xlen {
            Xlen::Rv32 => Some(if satp >> 31 & 1 == 1 {
                SatpMode::Paged(Scheme::Sv32)
            } else {
                SatpMode::Bare
            }),
            Xlen::Rv64 => match satp >> 60 {
                0 => Some(SatpMode::Bare),
                8 if RV64_PAGING => Some(SatpMode::Paged(Scheme::Sv39)),
                9 if RV64_PAGING => Some(SatpMode::Paged(Scheme::Sv48)),
                10 if RV64_PAGING => Some(SatpMode::Paged(Scheme::Sv57)),
                _ => None,
            },
        }
    }
}

impl Scheme {
    /// Page-table levels.
    fn levels(self) -> u32 {
        match self {
            Scheme::Sv32 => 2,
            Scheme::Sv39 => 3,
            Scheme::Sv48 => 4,
            Scheme::Sv57 => 5,
        }
    }

    /// Bits of virtual page number per level.
    fn index_bits(self) -> u32 {
        match self {
            Scheme::Sv32 => 10,
            _ => 9,
        }
    }

    /// Whether PTEs are 8 bytes (the RV64 schemes) rather than 4. A constant `false`
    /// without [`RV64_PAGING`], so that the RV64 parts of the walk compile away.
    fn wide(self) -> bool {
        RV64_PAGING && self != Scheme::Sv32
    }

    /// Width of a virtual address (RV64 schemes: the rest must be its sign extension).
    fn va_bits(self) -> u32 {
        12 + self.levels() * self.index_bits()
    }

    /// The root table's physical address from `satp`.
    fn root(self, satp: u64) -> u64 {
        let ppn = if self.wide() {
            satp & PPN_MASK
        } else {
            satp & 0x3f_ffff
        };
        ppn << 12
    }
}

/// The ASID field of a `satp` value.
#[cfg(feature = "rv64")]
pub(super) fn satp_asid(xlen: Xlen, satp: u64) -> u64 {
    match xlen {
        Xlen::Rv32 => (satp >> 22) & 0x1ff,
        Xlen::Rv64 => (satp >> 44) & 0xffff,
    }
}

const PTE_V: u64 = 1 << 0;
const PTE_R: u64 = 1 << 1;
const PTE_W: u64 = 1 << 2;
const PTE_X: u64 = 1 << 3;
const PTE_U: u64 = 1 << 4;
const PTE_A: u64 = 1 << 6;
const PTE_D: u64 = 1 << 7;
/// The 44-bit PPN of an RV64 PTE (and `satp`), after the shift.
const PPN_MASK: u64 = (1 << 44) - 1;
/// RV64 PTE bits 60:54, reserved: a PTE with one set page-faults.
const PTE_RESERVED: u64 = 0x7f << 54;
/// Svpbmt's page-based memory type, bits 62:61.
const PTE_PBMT: u64 = 3 << 61;
/// Svnapot's N bit.
const PTE_N: u64 = 1 << 63;
/// `menvcfg.PBMTE`: Svpbmt's PBMT field is in use.
pub(super) const MENVCFG_PBMTE: u64 = 1 << 62;

/// How a walk failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// A page fault of the access type.
    Page,
    /// An access fault of the access type (PMP, a bus error or an unwritable PTE).
    Access,
}

/// Who walks: the hart (PMP checks on the PTE accesses, A/D updates) or a debugger (no
/// PMP, no side effects, no A/D requirement).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Walker {
    Hart,
    Debug,
}

/// A translation found by [`Hart::walk`].
#[derive(Clone, Copy, Debug)]
struct Found {
    /// The physical 4 KiB page of the virtual address.
    ppage: u64,
    /// What the TLB may allow without another walk.
    perms: Perms,
    /// log2 of the size of the mapping the page belongs to (12 for a 4 KiB page, 16 for a
    /// NAPOT page, more for a superpage).
    span: u8,
    /// Whether the walk wrote a PTE (set its A or D bit), which may have been on a line
    /// of checked code.
    wrote_pte: bool,
}

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
        let found = match self.walk(bus, va, access, prv, Walker::Hart) {
            Ok(found) => found,
            Err(Fault::Page) => return Err(Exception::new(access.page_fault(), va)),
            Err(Fault::Access) => return Err(Exception::new(access.access_fault(), va)),
        };
        if found.wrote_pte {
            // The walk wrote guest memory, maybe on a line of code checked in this epoch: a
            // new code epoch (`block`). A walk that only read page tables keeps it (Linux
            // creates its PTEs with A and D set, so this is rare; every data TLB miss
            // under paging used to start an epoch).
            self.blocks.code_changed();
        }
        let (ppage, mut perms) = (found.ppage, found.perms);
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
        #[cfg(not(target_os = "none"))]
        if prv == Priv::Machine
            && perms.r
            && !e.host_r.is_null()
            && !self.triggers.data_armed
            && !self.tlb.window.covers(ppage)
        {
            self.find_window(bus, ppage);
        }
        self.tlb
            .store(prv, va, e, found.span, self.blocks.code_pages());
        Ok(e)
    }

    /// Makes the machine set's RAM window ([`RamWindow`](super::tlb::RamWindow)) the
    /// largest range around page `page` (of [`WINDOW_SHIFTS`] sizes) that one host range
    /// backs whole, 8-byte aligned, and that PMP lets M-level accesses read whole, when it
    /// is larger than the window kept. Called by a fill of the machine set for a readable
    /// RAM or ROM page outside the window, with no data trigger armed.
    #[cfg(not(target_os = "none"))]
    #[cold]
    fn find_window<B: Bus + ?Sized>(&mut self, bus: &B, page: u64) {
        // From the largest down: the first range that qualifies is the window (a RAM of
        // 128 MiB is found in four tries).
        let mut best = None;
        for shift in WINDOW_SHIFTS.rev() {
            let size = 1u64 << shift;
            let lo = page & !(size - 1);
            let Some(hp) = bus.host_page(lo, size) else {
                continue;
            };
            if hp.as_ptr() as usize & 7 != 0 {
                continue;
            }
            if let Some(allowed) = self.pmp.decide(lo, size, Priv::Machine) {
                if allowed & PMP_READ != 0 {
                    best = Some((lo, shift, hp.as_ptr()));
                    break;
                }
            }
        }
        if let Some((lo, shift, host)) = best {
            if shift > self.tlb.window.shift {
                self.tlb.window = RamWindow {
                    lo,
                    shift,
                    host: host.cast_const(),
                };
            }
        }
    }

    /// Translates `va` for `access` at `prv` without the TLB: the physical page, what a TLB
    /// entry may allow and the size of the mapping. The one page-table walk, for the hart
    /// and (`Walker::Debug`) for debuggers; see the module docs for the rules.
    fn walk<B: Bus + ?Sized>(
        &self,
        bus: &B,
        va: u64,
        access: Access,
        prv: Priv,
        walker: Walker,
    ) -> Result<Found, Fault> {
        let satp = self.csr.satp;
        let scheme = match SatpMode::of(self.xlen, satp) {
            Some(SatpMode::Paged(s)) if prv != Priv::Machine => s,
            // Bare (an unimplemented mode never reaches `satp`) or M-mode.
            _ => {
                return Ok(Found {
                    ppage: va & !PAGE_MASK & self.xmask,
                    perms: Perms::ALL,
                    span: 12,
                    wrote_pte: false,
                })
            }
        };
        let wide = scheme.wide();
        if wide {
            // Canonical: bits 63..va_bits-1 all equal.
            let top = (va as i64) >> (scheme.va_bits() - 1);
            if top != 0 && top != -1 {
                return Err(Fault::Page);
            }
        }
        let hart = walker == Walker::Hart;
        let (pte_size, pte_width) = if wide {
            (8, AccessSize::Double)
        } else {
            (4, AccessSize::Word)
        };
        let ms = self.csr.mstatus;
        let sum = ms & super::csr::mstatus::SUM != 0;
        let mxr = ms & super::csr::mstatus::MXR != 0;
        let pbmte = self.csr.menvcfg & MENVCFG_PBMTE != 0;
        let bits = scheme.index_bits();
        'walk: loop {
            let mut table = scheme.root(satp);
            let mut level = scheme.levels() - 1;
            loop {
                let shift = 12 + bits * level;
                let vpn = (va >> shift) & ((1 << bits) - 1);
                let pte_addr = table + vpn * pte_size;
                // The walk reads the PTE as S-mode for PMP.
                if hart
                    && !self
                        .pmp
                        .check(pte_addr, pte_size, PMP_READ, Priv::Supervisor)
                {
                    return Err(Fault::Access);
                }
                let (raw, r) = bus.read(pte_addr, pte_width, self.attrs);
                if !r.is_ok() {
                    return Err(Fault::Access);
                }
                let mut pte = if wide { raw } else { raw & 0xffff_ffff };
                let ppn = if wide {
                    (pte >> 10) & PPN_MASK
                } else {
                    pte >> 10
                };
                if pte & PTE_V == 0 || (pte & PTE_R == 0 && pte & PTE_W != 0) {
                    return Err(Fault::Page);
                }
                if pte & PTE_RESERVED != 0 {
                    return Err(Fault::Page);
                }
                let pbmt = pte & PTE_PBMT;
                if pbmt != 0 && (!pbmte || pbmt == PTE_PBMT) {
                    return Err(Fault::Page);
                }
                if pte & (PTE_R | PTE_X) == 0 {
                    // A pointer to the next level: D, A, U, N and PBMT are reserved here.
                    if pte & (PTE_D | PTE_A | PTE_U | PTE_N | PTE_PBMT) != 0 || level == 0 {
                        return Err(Fault::Page);
                    }
                    level -= 1;
                    table = ppn << 12;
                    continue;
                }
                // A leaf: a superpage above level 0, whose PPN is aligned to its size.
                let span_pages = bits * level;
                if ppn & ((1 << span_pages) - 1) != 0 {
                    return Err(Fault::Page);
                }
                let napot = pte & PTE_N != 0;
                // Svnapot: only 64 KiB pages (ppn[3:0] = 0b1000), only at level 0.
                if napot && (level != 0 || ppn & 0xf != 0b1000) {
                    return Err(Fault::Page);
                }
                let span_pages = if napot { 4 } else { span_pages };
                let mut perms = Perms {
                    r: pte & PTE_R != 0 || (mxr && pte & PTE_X != 0),
                    w: pte & PTE_W != 0,
                    x: pte & PTE_X != 0,
                };
                let user = pte & PTE_U != 0;
                match prv {
                    Priv::User if !user => return Err(Fault::Page),
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
                    return Err(Fault::Page);
                }
                let mut wrote_pte = false;
                if hart {
                    let need = PTE_A | if access == Access::Store { PTE_D } else { 0 };
                    if pte & need != need {
                        if !self
                            .pmp
                            .check(pte_addr, pte_size, PMP_WRITE, Priv::Supervisor)
                        {
                            return Err(Fault::Access);
                        }
                        let new = pte | need;
                        match self.pte_cas(bus, pte_addr, wide, pte, new) {
                            Ok(true) => {
                                pte = new;
                                wrote_pte = true;
                            }
                            Ok(false) => continue 'walk,
                            Err(()) => return Err(Fault::Access),
                        }
                    }
                    perms.w &= pte & PTE_D != 0;
                }
                // The PPN's low bits inside the mapping come from the virtual address.
                let inside = (1u64 << span_pages) - 1;
                let ppage = ((ppn & !inside) | ((va >> 12) & inside)) << 12;
                return Ok(Found {
                    ppage,
                    perms,
                    span: (12 + span_pages) as u8,
                    wrote_pte,
                });
            }
        }
    }

    /// `sfence.vma` with `rs1`'s address (`None` for `x0`) and `rs2`'s ASID (`None` for
    /// `x0`): see the `tlb` docs.
    pub(super) fn sfence_vma(&mut self, va: Option<u64>, asid: Option<u64>) {
        #[cfg(not(feature = "rv64"))]
        {
            // The lean build keeps no mapping sizes: every fence flushes everything.
            let _ = (va, asid);
            self.tlb.flush();
        }
        #[cfg(feature = "rv64")]
        {
            if let Some(asid) = asid {
                let bits = satp_asid(self.xlen, u64::MAX);
                if asid & bits != satp_asid(self.xlen, self.csr.satp) {
                    // Another address space: its entries went with the `satp` write.
                    return;
                }
            }
            match va {
                Some(va) => {
                    self.tlb.flush_va(va);
                    // Only a block fetched through the mapping of `va` may now translate
                    // otherwise: the others stay checked (the code epoch goes on).
                    if self.blocks.may_have_fetched(va) {
                        self.tlb.remapped();
                    }
                }
                None => self.tlb.flush(),
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
        let found = self
            .walk(bus, va, Access::Load, self.data_prv, Walker::Debug)
            .ok()?;
        Some(found.ppage | (va & PAGE_MASK))
    }

    /// Replaces the PTE at `addr` (8 bytes if `wide`, else 4) by `new` if it still holds
    /// `old`: `Ok(false)` if it changed, `Err` if it cannot be written.
    fn pte_cas<B: Bus + ?Sized>(
        &self,
        bus: &B,
        addr: u64,
        wide: bool,
        old: u64,
        new: u64,
    ) -> Result<bool, ()> {
        if let Some(hp) = bus.host_page(addr & !PAGE_MASK, PAGE_SIZE) {
            let p = hp.as_ptr();
            let align = if wide { 7 } else { 3 };
            if hp.writable() && p as usize & align == 0 {
                // SAFETY: the page is alive for the bus borrow; `addr` is aligned to the
                // PTE size (PTEs are: the table is page aligned and the index is scaled by
                // the size) and so is the page's host address, so this is an aligned word
                // (or doubleword) inside the page, written only atomically.
                let r = unsafe {
                    let at = p.add((addr & PAGE_MASK) as usize);
                    if wide {
                        host::cas64(at, old, new).is_ok()
                    } else {
                        host::cas32(at, old as u32, new as u32).is_ok()
                    }
                };
                return Ok(r);
            }
        }
        let width = if wide {
            AccessSize::Double
        } else {
            AccessSize::Word
        };
        let (cur, r) = bus.read(addr, width, self.attrs);
        if !r.is_ok() {
            return Err(());
        }
        let cur = if wide { cur } else { cur & 0xffff_ffff };
        if cur != old {
            return Ok(false);
        }
        if bus.write(addr, width, new, self.attrs).is_ok() {
            Ok(true)
        } else {
            Err(())
        }
    }
}
