//! Trap causes, privilege levels and trap entry/return: where a trap goes (delegation via
//! `medeleg`/`mideleg`), what it saves (`xepc`, `xcause`, `xtval`, the `xPIE`/`xPP` stack)
//! and where it lands (direct or vectored `xtvec`).

use super::csr::mstatus;
use super::hart::Hart;
use super::Xlen;

/// Exception cause codes (`mcause` with the interrupt bit clear).
pub mod cause {
    /// Instruction address misaligned.
    pub const INSN_MISALIGNED: u64 = 0;
    /// Instruction access fault.
    pub const INSN_ACCESS: u64 = 1;
    /// Illegal instruction.
    pub const ILLEGAL: u64 = 2;
    /// Breakpoint.
    pub const BREAKPOINT: u64 = 3;
    /// Load address misaligned.
    pub const LOAD_MISALIGNED: u64 = 4;
    /// Load access fault.
    pub const LOAD_ACCESS: u64 = 5;
    /// Store/AMO address misaligned.
    pub const STORE_MISALIGNED: u64 = 6;
    /// Store/AMO access fault.
    pub const STORE_ACCESS: u64 = 7;
    /// Environment call from U-mode.
    pub const ECALL_U: u64 = 8;
    /// Environment call from S-mode.
    pub const ECALL_S: u64 = 9;
    /// Environment call from M-mode.
    pub const ECALL_M: u64 = 11;
    /// Instruction page fault.
    pub const INSN_PAGE: u64 = 12;
    /// Load page fault.
    pub const LOAD_PAGE: u64 = 13;
    /// Store/AMO page fault.
    pub const STORE_PAGE: u64 = 15;
}

/// Interrupt numbers: bit positions in `mip`/`mie` and the interrupt cause codes.
pub mod irq {
    /// Supervisor software interrupt.
    pub const SSI: u32 = 1;
    /// Machine software interrupt.
    pub const MSI: u32 = 3;
    /// Supervisor timer interrupt.
    pub const STI: u32 = 5;
    /// Machine timer interrupt.
    pub const MTI: u32 = 7;
    /// Supervisor external interrupt.
    pub const SEI: u32 = 9;
    /// Machine external interrupt.
    pub const MEI: u32 = 11;
    /// Taken first to last when several are pending and enabled.
    pub const PRIORITY: [u32; 6] = [MEI, MSI, MTI, SEI, SSI, STI];
}

/// A privilege level.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Priv {
    /// U-mode.
    User = 0,
    /// S-mode.
    Supervisor = 1,
    /// M-mode.
    Machine = 3,
}

impl Priv {
    /// The level encoded in an `xPP` field (2, reserved, reads as U).
    pub fn from_bits(bits: u64) -> Priv {
        match bits & 3 {
            3 => Priv::Machine,
            1 => Priv::Supervisor,
            _ => Priv::User,
        }
    }

    /// Index of this level's TLB set.
    #[inline]
    pub(super) fn index(self) -> usize {
        // 0, 1, 3 -> 0, 1, 2 without a table or a branch.
        let v = self as usize;
        v - (v >> 1)
    }
}

/// A synchronous exception: its cause code and the `xtval` value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    /// One of [`cause`].
    pub cause: u64,
    /// Faulting address or instruction bits (0 when the cause has none).
    pub tval: u64,
}

impl Exception {
    /// An exception with `cause` and `tval`.
    pub const fn new(cause: u64, tval: u64) -> Exception {
        Exception { cause, tval }
    }
}

/// The last trap a hart took, for traces and debuggers ([`Hart::last_trap`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrapRecord {
    /// Traps taken so far (wrapping); 0: none yet, and the other fields are zero.
    pub count: u64,
    /// The `xcause` value written (the interrupt bit set for interrupts).
    pub cause: u64,
    /// The `pc` the trap was taken at (`xepc`).
    pub epc: u64,
    /// The `xtval` value written.
    pub tval: u64,
    /// The privilege the trap went to.
    pub to: Priv,
    /// The handler's address: the `pc` after the trap.
    pub handler: u64,
}

impl TrapRecord {
    pub(super) const NONE: TrapRecord = TrapRecord {
        count: 0,
        cause: 0,
        epc: 0,
        tval: 0,
        to: Priv::Machine,
        handler: 0,
    };

    /// Whether the trap was an interrupt.
    pub fn is_interrupt(&self, xlen: Xlen) -> bool {
        let bit = match xlen {
            Xlen::Rv32 => 31,
            Xlen::Rv64 => 63,
        };
        self.cause >> bit & 1 == 1
    }
}

impl Hart<'_> {
    /// The last trap taken (exception or interrupt), with a count of all traps: a trace
    /// that steps the hart compares the count to see whether a step trapped.
    pub fn last_trap(&self) -> TrapRecord {
        self.last_trap
    }

    /// Takes a trap: an exception (`interrupt == false`) or interrupt `cause`, at the
    /// current `pc` (which becomes `xepc`).
    pub(super) fn take_trap(&mut self, cause: u64, interrupt: bool, tval: u64) {
        let epc = self.pc;
        self.take_trap_inner(cause, interrupt, tval);
        // A trap goes to S (delegated) or M, never U.
        let (c, t) = if self.prv == Priv::Supervisor {
            (self.csr.scause, self.csr.stval)
        } else {
            (self.csr.mcause, self.csr.mtval)
        };
        self.last_trap = TrapRecord {
            count: self.last_trap.count.wrapping_add(1),
            cause: c,
            epc,
            tval: t,
            to: self.prv,
            handler: self.pc,
        };
    }

    fn take_trap_inner(&mut self, cause: u64, interrupt: bool, tval: u64) {
        let deleg = if interrupt {
            self.csr.mideleg
        } else {
            self.csr.medeleg
        };
        let to_s = self.prv <= Priv::Supervisor && cause < 64 && (deleg >> cause) & 1 == 1;
        let code = cause
            | if interrupt {
                1u64 << (self.xbits - 1)
            } else {
                0
            };
        let ms = self.csr.mstatus;
        let (tvec, prev) = (
            if to_s { self.csr.stvec } else { self.csr.mtvec },
            self.prv as u64,
        );
        if to_s {
            self.csr.scause = code;
            self.csr.sepc = self.pc;
            self.csr.stval = tval & self.xmask;
            let sie = (ms >> 1) & 1;
            self.csr.mstatus = (ms & !(mstatus::SPIE | mstatus::SIE | mstatus::SPP))
                | (sie << 5)
                | ((prev & 1) << 8);
            self.prv = Priv::Supervisor;
        } else {
            self.csr.mcause = code;
            self.csr.mepc = self.pc;
            self.csr.mtval = tval & self.xmask;
            let mie = (ms >> 3) & 1;
            self.csr.mstatus =
                (ms & !(mstatus::MPIE | mstatus::MIE | mstatus::MPP)) | (mie << 7) | (prev << 11);
            self.prv = Priv::Machine;
        }
        let base = tvec & !3;
        self.pc = if interrupt && tvec & 1 == 1 {
            base.wrapping_add(4 * cause)
        } else {
            base
        } & self.xmask;
        self.reservation = None;
        self.recompute();
    }

    /// `mret`: back to `MPP` with `MIE = MPIE`.
    pub(super) fn mret(&mut self) {
        let ms = self.csr.mstatus;
        let to = Priv::from_bits(ms >> 11);
        let mpie = (ms >> 7) & 1;
        let mut next = (ms & !(mstatus::MIE | mstatus::MPP)) | (mpie << 3) | mstatus::MPIE;
        if to != Priv::Machine {
            next &= !mstatus::MPRV;
        }
        self.csr.mstatus = next;
        self.prv = to;
        self.pc = self.csr.mepc & self.xmask;
        self.recompute();
    }

    /// `sret`: back to `SPP` with `SIE = SPIE`.
    pub(super) fn sret(&mut self) {
        let ms = self.csr.mstatus;
        let to = if ms & mstatus::SPP != 0 {
            Priv::Supervisor
        } else {
            Priv::User
        };
        let spie = (ms >> 5) & 1;
        self.csr.mstatus =
            (ms & !(mstatus::SIE | mstatus::SPP | mstatus::MPRV)) | (spie << 1) | mstatus::SPIE;
        self.prv = to;
        self.pc = self.csr.sepc & self.xmask;
        self.recompute();
    }
}
