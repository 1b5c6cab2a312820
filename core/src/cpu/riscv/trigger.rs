//! Debug triggers (Sdtrig) as QEMU 7.2 has them, and the debugger's hardware breakpoints
//! and watchpoints, which share their matching.
//!
//! # Guest triggers
//!
//! Two triggers (`tselect` 0 and 1; a larger value is ignored), M-mode CSRs `tselect`,
//! `tdata1`..`tdata3` and `tinfo`, read and written as on QEMU 7.2 (checked with a guest
//! image against it):
//!
//! * `tinfo` = `0x44`: types 2 (`mcontrol`) and 6 (`mcontrol6`). `tdata1` resets to type 2
//!   with nothing enabled. A `tdata1` write whose type is neither 2 nor 6 is ignored. A
//!   type-2 write keeps only `size` (`sizelo`, and `sizehi` on RV64, when the size is one of
//!   1, 2, 4, 8 bytes or "any"), the mode bits `M`, `S`, `U` and `load`, `store`, `execute`;
//!   `dmode`, `match`, `chain`, `action`, `timing`, `select`, `hit` and `maskmax` read 0
//!   (so the action is always a breakpoint exception). Type 6 also keeps `vs`/`vu`, and a
//!   4-bit `size` (6 bytes and the reserved encodings read as "any").
//! * `tdata2` holds the address; `tdata3` reads 0 and ignores writes; `tinfo` ignores writes.
//! * A trigger matches in the privilege modes its `U`/`S`/`M` bits select, judged by the
//!   hart's privilege (not `MPRV`'s, as QEMU). Execute: the `pc` of an instruction equals
//!   `tdata2`, checked before the instruction (and before its fetch). Load/store: an
//!   access's bytes overlap `tdata2 .. tdata2 + size` ("any" is XLEN/8 bytes), checked
//!   after translation and before anything is written; a misaligned load is checked as the
//!   two aligned accesses QEMU makes of it (`misaligned`). AMOs are loads and stores; an SC
//!   that fails its reservation check makes no access. A match raises a breakpoint
//!   exception (cause 3) with `mtval` 0 and `mepc` at the instruction, which does nothing.
//!
//! # The debugger's points
//!
//! Up to [`DEBUG_POINTS`] hardware breakpoints and watchpoints of a debugger (the gdb
//! stub's `Z1`..`Z4`), not visible to the guest: a match leaves [`Hart::run`] with
//! [`Exit::Breakpoint`](super::Exit::Breakpoint) at the instruction, which has not run
//! (a watchpoint stops before the access), and [`Hart::take_debug_hit`] says which.
//!
//! # Cost
//!
//! Nothing on the fast paths: while any point is armed, the TLB gives no read/write tag
//! to a page that a data point overlaps and no execute tag to a page with an execute
//! point (`mmu`), so accesses to those pages take the slow paths, where the checks are,
//! and their instructions run one at a time through the general path, which checks an
//! execute point before each one when one is armed. Every change flushes the TLB.

use super::hart::Hart;
use super::tlb::{PAGE_MASK, PAGE_SIZE};
use super::trap::{cause, Exception};
use super::Xlen;

/// Guest-visible triggers.
pub const TRIGGERS: usize = 2;
/// Debugger breakpoints and watchpoints.
pub const DEBUG_POINTS: usize = 8;

/// The exception cause that stands for a debugger hit inside the hart (never taken).
pub(super) const DEBUGGER_HIT: u64 = u64::MAX;

const LOAD: u64 = 1 << 0;
const STORE: u64 = 1 << 1;
const EXEC: u64 = 1 << 2;
const MODE_U: u64 = 1 << 3;
const MODE_S: u64 = 1 << 4;
const MODE_M: u64 = 1 << 6;
const KEEP: u64 = LOAD | STORE | EXEC | MODE_U | MODE_S | MODE_M;
const TYPE2_SIZELO: u64 = 3 << 16;
const TYPE2_SIZEHI: u64 = 3 << 21;
const TYPE6_SIZE: u64 = 0xf << 16;
const TYPE6_VS_VU: u64 = 3 << 23;
/// `tinfo`: types 2 and 6.
const TINFO: u64 = (1 << 2) | (1 << 6);

/// What a debugger watchpoint watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WatchKind {
    /// Loads (gdb `rwatch`).
    Read,
    /// Stores (gdb `watch`).
    Write,
    /// Both (gdb `awatch`).
    Access,
}

impl WatchKind {
    fn bits(self) -> u64 {
        match self {
            WatchKind::Read => LOAD,
            WatchKind::Write => STORE,
            WatchKind::Access => LOAD | STORE,
        }
    }
}

/// What stopped the hart for the debugger (see [`Hart::take_debug_hit`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DebugHit {
    /// A hardware breakpoint at this address.
    Breakpoint(u64),
    /// A watchpoint: its address and kind.
    Watch(u64, WatchKind),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Point {
    addr: u64,
    len: u64,
    /// `EXEC`, or `LOAD`/`STORE` bits.
    bits: u64,
    kind: WatchKind,
}

/// The trigger state of a hart.
#[derive(Clone, Debug)]
pub(super) struct Triggers {
    select: usize,
    tdata1: [u64; TRIGGERS],
    tdata2: [u64; TRIGGERS],
    points: [Option<Point>; DEBUG_POINTS],
    /// Some guest trigger or debugger point matches executions.
    pub(super) exec_armed: bool,
    /// Some guest trigger or debugger point matches loads or stores.
    pub(super) data_armed: bool,
    hit: Option<DebugHit>,
}

/// An access being checked.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Touch {
    Load,
    Store,
    /// An AMO: a load and a store.
    Both,
}

impl Touch {
    fn bits(self) -> u64 {
        match self {
            Touch::Load => LOAD,
            Touch::Store => STORE,
            Touch::Both => LOAD | STORE,
        }
    }
}

impl Triggers {
    pub(super) const fn new() -> Triggers {
        Triggers {
            select: 0,
            tdata1: [0; TRIGGERS],
            tdata2: [0; TRIGGERS],
            points: [None; DEBUG_POINTS],
            exec_armed: false,
            data_armed: false,
            hit: None,
        }
    }
}

fn type_shift(xlen: Xlen) -> u32 {
    match xlen {
        Xlen::Rv32 => 28,
        Xlen::Rv64 => 60,
    }
}

/// The bytes a type-2/6 trigger with `tdata1` watches ("any" = XLEN/8).
fn watch_len(xlen: Xlen, tdata1: u64) -> u64 {
    let any = match xlen {
        Xlen::Rv32 => 4,
        Xlen::Rv64 => 8,
    };
    let size = if tdata1 >> type_shift(xlen) == 6 {
        (tdata1 >> 16) & 0xf
    } else if xlen == Xlen::Rv64 {
        ((tdata1 >> 16) & 3) | ((tdata1 >> 19) & 0xc)
    } else {
        (tdata1 >> 16) & 3
    };
    match size {
        1 => 1,
        2 => 2,
        3 => 4,
        5 => 8,
        _ => any,
    }
}

fn overlaps(a: u64, alen: u64, b: u64, blen: u64) -> bool {
    a <= b.wrapping_add(blen - 1) && b <= a.wrapping_add(alen - 1)
}

impl Hart<'_> {
    /// The type-2/6 trigger `i` when it is one that can match (a mode and an access bit).
    fn guest_trigger(&self, i: usize) -> Option<u64> {
        let t = &self.triggers;
        let ty = t.tdata1[i] >> type_shift(self.xlen);
        let ctrl = t.tdata1[i];
        let on = (ty == 2 || ty == 6)
            && ctrl & (MODE_U | MODE_S | MODE_M) != 0
            && ctrl & (LOAD | STORE | EXEC) != 0;
        on.then_some(ctrl)
    }

    fn mode_matches(&self, ctrl: u64) -> bool {
        (ctrl >> 3) & (1 << self.prv as u64) != 0
    }

    pub(super) fn tselect(&self) -> u64 {
        self.triggers.select as u64
    }

    pub(super) fn tdata1(&self) -> u64 {
        self.triggers.tdata1[self.triggers.select]
    }

    pub(super) fn tdata2(&self) -> u64 {
        self.triggers.tdata2[self.triggers.select]
    }

    pub(super) fn tinfo(&self) -> u64 {
        TINFO
    }

    pub(super) fn set_tselect(&mut self, v: u64) {
        if v < TRIGGERS as u64 {
            self.triggers.select = v as usize;
        }
    }

    /// A `tdata1` write, as QEMU 7.2 validates it (module docs).
    pub(super) fn set_tdata1(&mut self, v: u64) {
        let shift = type_shift(self.xlen);
        let ty = (v >> shift) & 0xf;
        let mut new = ty << shift | v & KEEP;
        match ty {
            2 => {
                let mut size = TYPE2_SIZELO;
                if self.xlen == Xlen::Rv64 {
                    size |= TYPE2_SIZEHI;
                }
                // All 2-bit RV32 sizes are valid; of RV64's 4-bit ones, 4 and 6.. are not.
                let code = if self.xlen == Xlen::Rv64 {
                    ((v >> 16) & 3) | ((v >> 19) & 0xc)
                } else {
                    (v >> 16) & 3
                };
                if matches!(code, 0..=3 | 5) {
                    new |= v & size;
                }
            }
            6 => {
                if matches!((v >> 16) & 0xf, 0..=3 | 5) {
                    new |= v & TYPE6_SIZE;
                }
                new |= v & TYPE6_VS_VU;
            }
            _ => return,
        }
        self.triggers.tdata1[self.triggers.select] = new;
        self.triggers_changed();
    }

    pub(super) fn set_tdata2(&mut self, v: u64) {
        self.triggers.tdata2[self.triggers.select] = v;
        self.triggers_changed();
    }

    /// Recomputes the armed flags after a change, and drops the TLB, whose tags do not
    /// know about the new points.
    fn triggers_changed(&mut self) {
        let mut exec = false;
        let mut data = false;
        for i in 0..TRIGGERS {
            if let Some(ctrl) = self.guest_trigger(i) {
                exec |= ctrl & EXEC != 0;
                data |= ctrl & (LOAD | STORE) != 0;
            }
        }
        for p in self.triggers.points.iter().flatten() {
            exec |= p.bits & EXEC != 0;
            data |= p.bits & (LOAD | STORE) != 0;
        }
        self.triggers.exec_armed = exec;
        self.triggers.data_armed = data;
        self.flush_tlb();
        self.blocks.code_changed();
    }

    /// Whether the TLB may tag page `page` (virtual) for data accesses, and for fetches.
    pub(super) fn page_untriggered(&self, page: u64) -> (bool, bool) {
        let mut data = true;
        let mut exec = true;
        let page = page & !PAGE_MASK;
        for i in 0..TRIGGERS {
            if let Some(ctrl) = self.guest_trigger(i) {
                let addr = self.triggers.tdata2[i];
                if ctrl & EXEC != 0 && addr & !PAGE_MASK == page {
                    exec = false;
                }
                let len = watch_len(self.xlen, ctrl);
                if ctrl & (LOAD | STORE) != 0 && overlaps(addr, len, page, PAGE_SIZE) {
                    data = false;
                }
            }
        }
        for p in self.triggers.points.iter().flatten() {
            if p.bits & EXEC != 0 && p.addr & !PAGE_MASK == page {
                exec = false;
            }
            if p.bits & (LOAD | STORE) != 0 && overlaps(p.addr, p.len, page, PAGE_SIZE) {
                data = false;
            }
        }
        (data, exec)
    }

    /// Checks the execute points for the instruction at `pc` (called only while one is
    /// armed): the exception to raise (a debugger hit is [`DEBUGGER_HIT`]).
    #[cold]
    pub(super) fn exec_trigger(&mut self, pc: u64) -> Option<Exception> {
        for p in self.triggers.points.iter().flatten() {
            if p.bits & EXEC != 0 && p.addr == pc {
                self.triggers.hit = Some(DebugHit::Breakpoint(pc));
                return Some(Exception::new(DEBUGGER_HIT, pc));
            }
        }
        for i in 0..TRIGGERS {
            if let Some(ctrl) = self.guest_trigger(i) {
                if ctrl & EXEC != 0 && self.triggers.tdata2[i] == pc && self.mode_matches(ctrl) {
                    return Some(Exception::new(cause::BREAKPOINT, 0));
                }
            }
        }
        None
    }

    /// Checks the data points for an access of `len` bytes at `va` (called only while one
    /// is armed, after translation and before the access).
    #[cold]
    pub(super) fn data_trigger(
        &mut self,
        va: u64,
        len: u64,
        touch: Touch,
    ) -> Result<(), Exception> {
        let bits = touch.bits();
        for p in self.triggers.points.iter().flatten() {
            if p.bits & bits != 0 && overlaps(p.addr, p.len, va, len) {
                self.triggers.hit = Some(DebugHit::Watch(p.addr, p.kind));
                return Err(Exception::new(DEBUGGER_HIT, va));
            }
        }
        for i in 0..TRIGGERS {
            if let Some(ctrl) = self.guest_trigger(i) {
                let addr = self.triggers.tdata2[i];
                if ctrl & bits != 0
                    && self.mode_matches(ctrl)
                    && overlaps(addr, watch_len(self.xlen, ctrl), va, len)
                {
                    return Err(Exception::new(cause::BREAKPOINT, 0));
                }
            }
        }
        Ok(())
    }

    /// Resets the guest triggers (as QEMU: type 2, nothing enabled, `tselect` 0).
    pub(super) fn reset_triggers(&mut self) {
        let t = 2u64 << type_shift(self.xlen);
        self.triggers.tdata1 = [t; TRIGGERS];
        self.triggers.tdata2 = [0; TRIGGERS];
        self.triggers.select = 0;
    }

    /// Adds a debugger hardware breakpoint at `addr`; false when all
    /// [`DEBUG_POINTS`] are in use.
    pub fn add_hw_breakpoint(&mut self, addr: u64) -> bool {
        self.add_point(Point {
            addr,
            len: 1,
            bits: EXEC,
            kind: WatchKind::Read,
        })
    }

    /// Removes the debugger hardware breakpoint at `addr`; false if there is none.
    pub fn remove_hw_breakpoint(&mut self, addr: u64) -> bool {
        self.remove_point(|p| p.bits == EXEC && p.addr == addr)
    }

    /// Adds a debugger watchpoint over `len` bytes (at least 1) at `addr`; false when all
    /// [`DEBUG_POINTS`] are in use.
    pub fn add_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> bool {
        self.add_point(Point {
            addr,
            len: len.max(1),
            bits: kind.bits(),
            kind,
        })
    }

    /// Removes a debugger watchpoint added with the same arguments; false if there is none.
    pub fn remove_watchpoint(&mut self, addr: u64, len: u64, kind: WatchKind) -> bool {
        let len = len.max(1);
        self.remove_point(|p| p.bits == kind.bits() && p.addr == addr && p.len == len)
    }

    /// What made [`Hart::run`] stop with [`Exit::Breakpoint`](super::Exit::Breakpoint)
    /// when it was a debugger point (`None` for an `ebreak`), once.
    pub fn take_debug_hit(&mut self) -> Option<DebugHit> {
        self.triggers.hit.take()
    }

    fn add_point(&mut self, p: Point) -> bool {
        let Some(slot) = self.triggers.points.iter_mut().find(|s| s.is_none()) else {
            return false;
        };
        *slot = Some(p);
        self.triggers_changed();
        true
    }

    fn remove_point(&mut self, f: impl Fn(&Point) -> bool) -> bool {
        let Some(slot) = self
            .triggers
            .points
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(&f))
        else {
            return false;
        };
        *slot = None;
        self.triggers_changed();
        true
    }
}
