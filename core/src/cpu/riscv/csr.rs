//! Control and status registers: their storage ([`Csrs`]), numbers, WARL masks, the
//! privilege rules of a CSR access, and what a write changes besides the register (the
//! cached interrupt mask, a TLB flush).
//!
//! Notes on the less obvious ones:
//!
//! * `pmpcfg0..15`/`pmpaddr0..63`: 64 PMP entries, enforced (see `pmp`); a write to one
//!   decodes the entries again and flushes the TLB; locked entries ignore writes.
//! * `cycle` counts retired instructions (one cycle per instruction); `time` is the value
//!   the embedding last gave to [`Hart::set_time`]. A guest write to `mcycle[h]` or
//!   `minstret[h]` replaces the writing instruction's own increment (the privileged spec;
//!   QEMU 7.2 counts it). `mcountinhibit` CY and IR stop them (bit 1 reads 0, the others
//!   are kept, as QEMU). As QEMU 7.2's default PMU: `mhpmcounter3..18` (and `h`) hold what
//!   is written and do not count, `mhpmevent3..31` hold what is written, counters 19..31
//!   are illegal. Below M, `mcounteren` (and `scounteren` for U) gate `cycle`, `time`,
//!   `instret` and `hpmcounterN` bit by bit: illegal instruction when a bit is clear.
//! * `mip.MEIP/MTIP/MSIP` (and the external part of `SEIP`) come from the shared
//!   [`HartIrqs`](super::HartIrqs) word; `SSIP/STIP/SEIP` also have a software-written part.
//! * `tselect`, `tdata1..3`, `tinfo`: the debug triggers, see `trigger`.
//! * `mtvec`/`stvec`: a write with a reserved mode (2 or 3) is ignored, as QEMU 7.2 does.
//! * `satp`: Bare and Sv32 on RV32; Bare, Sv39, Sv48 and Sv57 on RV64 (`mmu`). A write
//!   selecting another mode has no effect at all (as the spec requires and QEMU does).
//! * `menvcfg`: the [`envcfg`] fields, and PBMTE (Svpbmt, bit 62; on RV32 through
//!   `menvcfgh`), writable as in QEMU 7.2; a change flushes the TLB, whose entries were checked under the old
//!   PBMTE.
//! * Sstc (feature `ext`): `stimecmp` (`stimecmph` on RV32), `menvcfg.STCE` (bit 31 of
//!   `menvcfgh` on RV32). Below M, `stimecmp` needs `mcounteren.TM` and STCE (illegal
//!   instruction otherwise, as QEMU 7.2). With STCE set, STIP is `time >= stimecmp`,
//!   re-evaluated when `time` ([`Hart::set_time`]), `stimecmp` or `menvcfg` change, and
//!   `mip` writes leave it alone; with STCE clear it is the software bit. `stimecmp` resets
//!   to all ones. [`Hart::timer_deadline`] tells a waiting embedding when to wake the hart.
//! * `menvcfg`/`senvcfg`: FIOM, and with `ext` the cache-block enables CBIE, CBCFE, CBZE
//!   (`cbo`).

use super::hart::Hart;
use super::mmu::{SatpMode, MENVCFG_PBMTE};
use super::pmp;
use super::trap::Priv;
use super::Xlen;

/// `mstatus` bits.
pub mod mstatus {
    /// S-mode interrupt enable.
    pub const SIE: u64 = 1 << 1;
    /// M-mode interrupt enable.
    pub const MIE: u64 = 1 << 3;
    /// SIE before the trap.
    pub const SPIE: u64 = 1 << 5;
    /// MIE before the trap.
    pub const MPIE: u64 = 1 << 7;
    /// Privilege before an S trap.
    pub const SPP: u64 = 1 << 8;
    /// Privilege before an M trap (2 bits).
    pub const MPP: u64 = 3 << 11;
    /// Loads and stores use `MPP`'s privilege.
    pub const MPRV: u64 = 1 << 17;
    /// S-mode may access U pages.
    pub const SUM: u64 = 1 << 18;
    /// Loads from executable pages.
    pub const MXR: u64 = 1 << 19;
    /// Trap virtual memory (`satp`, `sfence.vma` illegal in S).
    pub const TVM: u64 = 1 << 20;
    /// Timeout wait (`wfi` illegal below M).
    pub const TW: u64 = 1 << 21;
    /// Trap `sret` in S.
    pub const TSR: u64 = 1 << 22;
    /// FP state: Off (0), Initial, Clean, Dirty (3). Read-only zero without `fpu`.
    pub const FS: u64 = 3 << 13;
    /// The FP state bits that exist in this build.
    const FS_IF_FPU: u64 = if cfg!(feature = "fpu") { FS } else { 0 };
    /// Bits M-mode can write.
    pub const WRITABLE: u64 =
        SIE | MIE | SPIE | MPIE | SPP | MPP | MPRV | SUM | MXR | TVM | TW | TSR | FS_IF_FPU;
    /// Bits visible and writable through `sstatus`.
    pub const SSTATUS: u64 = SIE | SPIE | SPP | SUM | MXR | FS_IF_FPU;
    /// `SD` (some state dirty: `FS` is Dirty), read-only, for XLEN 32 and 64.
    pub const SD32: u64 = 1 << 31;
    /// `SD` on RV64.
    pub const SD64: u64 = 1 << 63;
}

/// `menvcfg`/`senvcfg` fields.
pub mod envcfg {
    /// Fence of I/O implies memory.
    pub const FIOM: u64 = 1;
    /// `cbo.inval` enable (2 bits: 0 illegal, 1 as flush, 3 invalidate; coherent memory
    /// makes 1 and 3 the same).
    pub const CBIE: u64 = 3 << 4;
    /// `cbo.clean`/`cbo.flush` enable.
    pub const CBCFE: u64 = 1 << 6;
    /// `cbo.zero` enable.
    pub const CBZE: u64 = 1 << 7;
    /// The fields both registers have (with the `ext` feature; FIOM only without).
    pub const COMMON: u64 = if cfg!(feature = "ext") {
        FIOM | CBIE | CBCFE | CBZE
    } else {
        FIOM
    };
    /// `menvcfg.STCE`: Sstc's `stimecmp` drives STIP and S mode may use it (bit 31 of
    /// `menvcfgh` on RV32).
    pub const STCE: u64 = 1 << 63;
    /// What `menvcfg` keeps.
    pub const MENVCFG: u64 = if cfg!(feature = "ext") {
        COMMON | STCE
    } else {
        COMMON
    };
}

/// CSR numbers.
#[allow(missing_docs)]
pub mod num {
    pub const FFLAGS: u16 = 0x001;
    pub const FRM: u16 = 0x002;
    pub const FCSR: u16 = 0x003;
    pub const SSTATUS: u16 = 0x100;
    pub const SIE: u16 = 0x104;
    pub const STVEC: u16 = 0x105;
    pub const SCOUNTEREN: u16 = 0x106;
    pub const SENVCFG: u16 = 0x10a;
    pub const SSCRATCH: u16 = 0x140;
    pub const SEPC: u16 = 0x141;
    pub const SCAUSE: u16 = 0x142;
    pub const STVAL: u16 = 0x143;
    pub const SIP: u16 = 0x144;
    pub const STIMECMP: u16 = 0x14d;
    pub const STIMECMPH: u16 = 0x15d;
    pub const SATP: u16 = 0x180;
    pub const MSTATUS: u16 = 0x300;
    pub const MISA: u16 = 0x301;
    pub const MEDELEG: u16 = 0x302;
    pub const MIDELEG: u16 = 0x303;
    pub const MIE: u16 = 0x304;
    pub const MTVEC: u16 = 0x305;
    pub const MCOUNTEREN: u16 = 0x306;
    pub const MENVCFG: u16 = 0x30a;
    pub const MSTATUSH: u16 = 0x310;
    pub const MENVCFGH: u16 = 0x31a;
    pub const MCOUNTINHIBIT: u16 = 0x320;
    pub const MSCRATCH: u16 = 0x340;
    pub const MEPC: u16 = 0x341;
    pub const MCAUSE: u16 = 0x342;
    pub const MTVAL: u16 = 0x343;
    pub const MIP: u16 = 0x344;
    pub const PMPCFG0: u16 = 0x3a0;
    pub const TSELECT: u16 = 0x7a0;
    pub const TDATA1: u16 = 0x7a1;
    pub const TDATA2: u16 = 0x7a2;
    pub const TDATA3: u16 = 0x7a3;
    pub const TINFO: u16 = 0x7a4;
    pub const PMPADDR0: u16 = 0x3b0;
    pub const MCYCLE: u16 = 0xb00;
    pub const MINSTRET: u16 = 0xb02;
    pub const MCYCLEH: u16 = 0xb80;
    pub const MINSTRETH: u16 = 0xb82;
    pub const CYCLE: u16 = 0xc00;
    pub const TIME: u16 = 0xc01;
    pub const INSTRET: u16 = 0xc02;
    pub const CYCLEH: u16 = 0xc80;
    pub const TIMEH: u16 = 0xc81;
    pub const INSTRETH: u16 = 0xc82;
    pub const MVENDORID: u16 = 0xf11;
    pub const MARCHID: u16 = 0xf12;
    pub const MIMPID: u16 = 0xf13;
    pub const MHARTID: u16 = 0xf14;
    pub const MCONFIGPTR: u16 = 0xf15;
}

/// Programmable counters, `mhpmcounter3..=18` (QEMU 7.2's `pmu-num` default, 16): the
/// others (19..31) do not exist, and their CSRs are illegal at every privilege.
pub const HPM_COUNTERS: usize = 16;
/// `mhpmcounter3`, `mhpmcounter3h` and `hpmcounter3`, `hpmcounter3h`.
const MHPM: u16 = 0xb03;
const MHPMH: u16 = 0xb83;
const HPM: u16 = 0xc03;
const HPMH: u16 = 0xc83;
const HPM_LAST: u16 = HPM_COUNTERS as u16 - 1;

/// Exceptions that `medeleg` can delegate (not ECALL_M, not reserved causes).
const MEDELEG_MASK: u64 = 0xb3ff;
/// Interrupts that `mideleg` can delegate: the S-level ones.
const MIDELEG_MASK: u64 = 0x222;
/// Interrupts that exist (`mie` bits).
const MIE_MASK: u64 = 0xaaa;
/// `mip` bits with a software-written part.
pub(super) const MIP_SW_MASK: u32 = 0x222;
/// `mip.STIP`.
const STIP: u32 = 1 << 5;
/// Sstc is there (the `ext` feature).
const SSTC: bool = cfg!(feature = "ext");

/// The CSR state of a hart (everything but the counters' sources and `mip`'s device part).
#[derive(Clone, Debug)]
pub struct Csrs {
    pub(super) mstatus: u64,
    pub(super) medeleg: u64,
    pub(super) mideleg: u64,
    pub(super) mie: u64,
    pub(super) mip_sw: u32,
    pub(super) mtvec: u64,
    pub(super) stvec: u64,
    pub(super) mepc: u64,
    pub(super) sepc: u64,
    pub(super) mcause: u64,
    pub(super) scause: u64,
    pub(super) mtval: u64,
    pub(super) stval: u64,
    pub(super) mscratch: u64,
    pub(super) sscratch: u64,
    pub(super) satp: u64,
    pub(super) mcounteren: u32,
    pub(super) scounteren: u32,
    pub(super) menvcfg: u64,
    pub(super) senvcfg: u64,
    pub(super) mcountinhibit: u32,
    /// `mcountinhibit`-format bits of the counters (CY, IR) that the instruction being
    /// executed wrote: it does not count in them (see `Hart::retire_written`).
    pub(super) counters_written: u32,
    /// `mhpmcounter3..` (they do not count: no events are implemented, as QEMU 7.2
    /// without Sscofpmf), [`HPM_COUNTERS`] of them.
    pub(super) mhpmcounter: [u64; HPM_COUNTERS],
    /// `mhpmevent3..31`: stored, no event counts.
    pub(super) mhpmevent: [u64; 29],
    pub(super) mcycle: u64,
    pub(super) minstret: u64,
    pub(super) time: u64,
    /// Sstc's `stimecmp` (reset: all ones, no interrupt; the spec leaves it unspecified).
    pub(super) stimecmp: u64,
    pub(super) pmpcfg: [u8; 64],
    pub(super) pmpaddr: [u64; 64],
}

impl Csrs {
    pub(super) const fn new() -> Csrs {
        Csrs {
            mstatus: 0,
            medeleg: 0,
            mideleg: 0,
            mie: 0,
            mip_sw: 0,
            mtvec: 0,
            stvec: 0,
            mepc: 0,
            sepc: 0,
            mcause: 0,
            scause: 0,
            mtval: 0,
            stval: 0,
            mscratch: 0,
            sscratch: 0,
            satp: 0,
            mcounteren: 0,
            scounteren: 0,
            menvcfg: 0,
            senvcfg: 0,
            mcountinhibit: 0,
            counters_written: 0,
            mhpmcounter: [0; HPM_COUNTERS],
            mhpmevent: [0; 29],
            mcycle: 0,
            minstret: 0,
            time: 0,
            stimecmp: u64::MAX,
            pmpcfg: [0; 64],
            pmpaddr: [0; 64],
        }
    }
}

/// Why a CSR access failed: always an illegal-instruction exception for the guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsrError;

fn set_low(old: u64, v: u64) -> u64 {
    (old & !0xffff_ffff) | (v & 0xffff_ffff)
}

fn set_high(old: u64, v: u64) -> u64 {
    (old & 0xffff_ffff) | (v << 32)
}

impl Hart<'_> {
    fn rv32(&self) -> bool {
        matches!(self.xlen, Xlen::Rv32)
    }

    /// Checks that the current privilege may access `csr` (read, or write as well).
    fn csr_check(&self, csr: u16, write: bool) -> Result<(), CsrError> {
        // The FP CSRs are illegal while `mstatus.FS` is Off.
        if cfg!(feature = "fpu")
            && (num::FFLAGS..=num::FCSR).contains(&csr)
            && self.csr.mstatus & mstatus::FS == 0
        {
            return Err(CsrError);
        }
        let min = (csr >> 8) & 3;
        if (self.prv as u16) < min || (write && (csr >> 10) == 3) {
            return Err(CsrError);
        }
        // Counters below M: mcounteren (and scounteren for U) gate them.
        if (0xc00..0xc20).contains(&csr) || (0xc80..0xca0).contains(&csr) {
            let bit = 1u32 << (csr & 31);
            if self.prv < Priv::Machine && self.csr.mcounteren & bit == 0 {
                return Err(CsrError);
            }
            if self.prv == Priv::User && self.csr.scounteren & bit == 0 {
                return Err(CsrError);
            }
        }
        // Sstc: below M, `stimecmp` needs both `mcounteren.TM` and `menvcfg.STCE`.
        if SSTC
            && (csr == num::STIMECMP || csr == num::STIMECMPH)
            && self.prv < Priv::Machine
            && (self.csr.mcounteren & 2 == 0 || self.csr.menvcfg & envcfg::STCE == 0)
        {
            return Err(CsrError);
        }
        if csr == num::SATP
            && self.prv == Priv::Supervisor
            && self.csr.mstatus & super::csr::mstatus::TVM != 0
        {
            return Err(CsrError);
        }
        Ok(())
    }

    fn mip(&self) -> u64 {
        ((self.irqs.device_bits() | self.csr.mip_sw) & 0xffff) as u64
    }

    fn sstatus_mask(&self) -> u64 {
        mstatus::SSTATUS
    }

    /// The value a CSRRS/CSRRC (and their immediate forms) sets or clears bits of, given
    /// what the instruction read: the read value, except that in `mip` and `sip` the
    /// software-writable bits (SSIP, STIP, SEIP) are the software-written ones alone. The
    /// privileged spec says so for SEIP: the read shows the OR of the software bit and the
    /// external controller's signal, but the read-modify-write uses only the software bit.
    /// Using the read value would copy a PLIC's momentary SEIP into the software bit,
    /// where nothing clears it (an interrupt storm with nothing to claim).
    pub(super) fn csr_rmw_base(&self, csr: u16, read: u64) -> u64 {
        let sw = (self.csr.mip_sw & MIP_SW_MASK) as u64;
        match csr {
            num::MIP => (read & !(MIP_SW_MASK as u64)) | sw,
            num::SIP => (read & !(MIP_SW_MASK as u64)) | (sw & self.csr.mideleg),
            _ => read,
        }
    }

    /// Reads `csr` as the current privilege would, without side effects on the guest.
    pub(super) fn csr_read(&self, csr: u16) -> Result<u64, CsrError> {
        self.csr_check(csr, false)?;
        self.csr_read_raw(csr)
    }

    /// Reads `csr` with no privilege check (for debuggers: [`Hart::csr`]).
    pub(super) fn csr_read_raw(&self, csr: u16) -> Result<u64, CsrError> {
        use num::*;
        let c = &self.csr;
        let rv32 = self.rv32();
        let sd = if cfg!(feature = "fpu") && c.mstatus & mstatus::FS == mstatus::FS {
            if rv32 {
                mstatus::SD32
            } else {
                mstatus::SD64
            }
        } else {
            0
        };
        let fpu = cfg!(feature = "fpu");
        let v = match csr {
            FFLAGS if fpu => self.fp.fflags as u64,
            FRM if fpu => self.fp.frm as u64,
            FCSR if fpu => (self.fp.frm as u64) << 5 | self.fp.fflags as u64,
            SSTATUS => (c.mstatus & self.sstatus_mask()) | sd | if rv32 { 0 } else { 2 << 32 },
            SIE => c.mie & c.mideleg,
            STVEC => c.stvec,
            SCOUNTEREN => c.scounteren as u64,
            SENVCFG => c.senvcfg,
            SSCRATCH => c.sscratch,
            SEPC => c.sepc,
            SCAUSE => c.scause,
            STVAL => c.stval,
            SIP => self.mip() & c.mideleg,
            STIMECMP if SSTC => c.stimecmp,
            STIMECMPH if SSTC && rv32 => c.stimecmp >> 32,
            SATP => c.satp,
            // RV64: UXL = SXL = 64 bits, read-only.
            MSTATUS => c.mstatus | sd | if rv32 { 0 } else { (2 << 32) | (2 << 34) },
            MSTATUSH if rv32 => 0,
            MISA => {
                let ext = super::isa::MISA_EXTENSIONS;
                if rv32 {
                    (1 << 30) | ext
                } else {
                    (2 << 62) | ext
                }
            }
            MEDELEG => c.medeleg,
            MIDELEG => c.mideleg,
            MIE => c.mie,
            MTVEC => c.mtvec,
            MCOUNTEREN => c.mcounteren as u64,
            MENVCFG => {
                if rv32 {
                    c.menvcfg & 0xffff_ffff
                } else {
                    c.menvcfg
                }
            }
            MENVCFGH if rv32 => c.menvcfg >> 32,
            MCOUNTINHIBIT => c.mcountinhibit as u64,
            0x323..=0x33f => c.mhpmevent[(csr - 0x323) as usize],
            MSCRATCH => c.mscratch,
            MEPC => c.mepc,
            MCAUSE => c.mcause,
            MTVAL => c.mtval,
            MIP => self.mip(),
            0x3a0..=0x3af => {
                let i = (csr - PMPCFG0) as usize;
                if !rv32 && i % 2 == 1 {
                    return Err(CsrError);
                }
                let n = if rv32 { 4 } else { 8 };
                (0..n).fold(0u64, |acc, k| acc | (c.pmpcfg[i * 4 + k] as u64) << (8 * k))
            }
            0x3b0..=0x3ef => c.pmpaddr[(csr - PMPADDR0) as usize],
            TSELECT => self.tselect(),
            TDATA1 => self.tdata1(),
            TDATA2 => self.tdata2(),
            TDATA3 => 0,
            TINFO => self.tinfo(),
            MCYCLE | CYCLE => c.mcycle,
            MINSTRET | INSTRET => c.minstret,
            TIME => c.time,
            MCYCLEH | CYCLEH if rv32 => c.mcycle >> 32,
            MINSTRETH | INSTRETH if rv32 => c.minstret >> 32,
            TIMEH if rv32 => c.time >> 32,
            _ if (MHPM..=MHPM + HPM_LAST).contains(&csr) => c.mhpmcounter[(csr - MHPM) as usize],
            _ if (HPM..=HPM + HPM_LAST).contains(&csr) => c.mhpmcounter[(csr - HPM) as usize],
            _ if rv32 && (MHPMH..=MHPMH + HPM_LAST).contains(&csr) => {
                c.mhpmcounter[(csr - MHPMH) as usize] >> 32
            }
            _ if rv32 && (HPMH..=HPMH + HPM_LAST).contains(&csr) => {
                c.mhpmcounter[(csr - HPMH) as usize] >> 32
            }
            MVENDORID | MARCHID | MIMPID | MCONFIGPTR => 0,
            MHARTID => self.hart_id,
            _ => return Err(CsrError),
        };
        Ok(v & self.xmask)
    }

    /// Writes `csr` as the current privilege would (after [`Hart::csr_read`]-style checks).
    pub(super) fn csr_write(&mut self, csr: u16, value: u64) -> Result<(), CsrError> {
        self.csr_check(csr, true)?;
        self.csr_write_raw(csr, value)?;
        // A guest write to a counter replaces this instruction's own increment.
        match csr {
            num::MCYCLE | num::MCYCLEH => self.csr.counters_written |= 1,
            num::MINSTRET | num::MINSTRETH => self.csr.counters_written |= 4,
            _ => {}
        }
        Ok(())
    }

    /// Writes `csr` with no privilege check, applying WARL rules and side effects.
    pub(super) fn csr_write_raw(&mut self, csr: u16, value: u64) -> Result<(), CsrError> {
        use num::*;
        // Nonexistent CSRs fail on write too: reuse the read's table.
        self.csr_read_raw(csr)?;
        let v = value & self.xmask;
        let rv32 = self.rv32();
        if cfg!(feature = "fpu") && (FFLAGS..=FCSR).contains(&csr) {
            match csr {
                FFLAGS => self.fp.fflags = (v & 0x1f) as u8,
                FRM => self.fp.frm = (v & 7) as u8,
                _ => {
                    self.fp.fflags = (v & 0x1f) as u8;
                    self.fp.frm = ((v >> 5) & 7) as u8;
                }
            }
            self.csr.mstatus |= mstatus::FS;
            return Ok(());
        }
        let c = &mut self.csr;
        match csr {
            SSTATUS => {
                let m = mstatus::SSTATUS;
                self.set_mstatus((self.csr.mstatus & !m) | (v & m));
            }
            SIE => c.mie = (c.mie & !c.mideleg) | (v & c.mideleg & MIE_MASK),
            // A reserved mode (2, 3) leaves the register unchanged, as QEMU 7.2.
            STVEC if v & 3 < 2 => c.stvec = v,
            STVEC => {}
            SCOUNTEREN => c.scounteren = v as u32,
            SENVCFG => c.senvcfg = v & envcfg::COMMON,
            SSCRATCH => c.sscratch = v,
            SEPC => c.sepc = v & !1,
            SCAUSE => c.scause = v,
            STVAL => c.stval = v,
            SIP => {
                let m = (MIP_SW_MASK as u64 & 0x2 & c.mideleg) as u32;
                c.mip_sw = (c.mip_sw & !m) | (v as u32 & m);
            }
            STIMECMP if SSTC => {
                c.stimecmp = if rv32 { set_low(c.stimecmp, v) } else { v };
                self.update_sstc();
            }
            STIMECMPH if SSTC => {
                c.stimecmp = set_high(c.stimecmp, v);
                self.update_sstc();
            }
            SATP => {
                // An unimplemented MODE leaves all of `satp` unchanged (QEMU's
                // `validate_vm`); otherwise every field is kept as written (the whole
                // ASID field is implemented: 9 bits on RV32, 16 on RV64).
                if SatpMode::of(self.xlen, v).is_some() {
                    c.satp = v;
                    self.flush_tlb();
                }
            }
            MSTATUS => {
                let m = mstatus::WRITABLE;
                let mut next = (self.csr.mstatus & !m) | (v & m);
                if (next >> 11) & 3 == 2 {
                    next = (next & !mstatus::MPP) | (self.csr.mstatus & mstatus::MPP);
                }
                self.set_mstatus(next);
            }
            MSTATUSH | MISA => {}
            0x323..=0x33f => c.mhpmevent[(csr - 0x323) as usize] = v,
            MEDELEG => c.medeleg = v & MEDELEG_MASK,
            MIDELEG => c.mideleg = v & MIDELEG_MASK,
            MIE => c.mie = v & MIE_MASK,
            MTVEC if v & 3 < 2 => c.mtvec = v,
            MTVEC => {}
            MCOUNTEREN => c.mcounteren = v as u32,
            MENVCFG => {
                c.menvcfg = if rv32 {
                    set_low(c.menvcfg, v & envcfg::MENVCFG)
                } else {
                    v & (envcfg::MENVCFG | MENVCFG_PBMTE)
                };
                self.flush_tlb();
                self.update_sstc();
            }
            MENVCFGH => {
                let keep = envcfg::MENVCFG | MENVCFG_PBMTE | 0xffff_ffff;
                c.menvcfg = set_high(c.menvcfg, v) & keep;
                self.flush_tlb();
                self.update_sstc();
            }
            MCOUNTINHIBIT => c.mcountinhibit = (v as u32) & !2,
            MSCRATCH => c.mscratch = v,
            MEPC => c.mepc = v & !1,
            MCAUSE => c.mcause = v,
            MTVAL => c.mtval = v,
            MIP => {
                // With Sstc on (STCE), STIP is `time >= stimecmp` and not writable.
                let m = if c.menvcfg & envcfg::STCE != 0 {
                    MIP_SW_MASK & !STIP
                } else {
                    MIP_SW_MASK
                };
                c.mip_sw = (c.mip_sw & !m) | (v as u32 & m);
            }
            0x3a0..=0x3af => {
                let i = (csr - PMPCFG0) as usize;
                let n = if rv32 { 4 } else { 8 };
                for k in 0..n {
                    if !pmp::cfg_locked(&c.pmpcfg, i * 4 + k) {
                        c.pmpcfg[i * 4 + k] = (v >> (8 * k)) as u8;
                    }
                }
                self.pmp_changed();
            }
            0x3b0..=0x3ef => {
                let i = (csr - PMPADDR0) as usize;
                if !pmp::addr_locked(&c.pmpcfg, i) {
                    c.pmpaddr[i] = if rv32 { v } else { v & ((1 << 54) - 1) };
                }
                self.pmp_changed();
            }
            TSELECT => self.set_tselect(v),
            TDATA1 => self.set_tdata1(v),
            TDATA2 => self.set_tdata2(v),
            TDATA3 | TINFO => {}
            MCYCLE => c.mcycle = if rv32 { set_low(c.mcycle, v) } else { v },
            MINSTRET => c.minstret = if rv32 { set_low(c.minstret, v) } else { v },
            MCYCLEH => c.mcycle = set_high(c.mcycle, v),
            MINSTRETH => c.minstret = set_high(c.minstret, v),
            _ if (MHPM..=MHPM + HPM_LAST).contains(&csr) => {
                let r = &mut c.mhpmcounter[(csr - MHPM) as usize];
                *r = if rv32 { set_low(*r, v) } else { v };
            }
            _ if (MHPMH..=MHPMH + HPM_LAST).contains(&csr) => {
                let r = &mut c.mhpmcounter[(csr - MHPMH) as usize];
                *r = set_high(*r, v);
            }
            _ => return Err(CsrError),
        }
        self.recompute();
        Ok(())
    }

    /// Sstc: with `menvcfg.STCE` set, STIP follows `time >= stimecmp` (unsigned); called
    /// when `time`, `stimecmp` or `menvcfg` change. With STCE clear, STIP is the software
    /// bit, left as it is.
    pub(super) fn update_sstc(&mut self) {
        let c = &mut self.csr;
        if SSTC && c.menvcfg & envcfg::STCE != 0 {
            if c.time >= c.stimecmp {
                c.mip_sw |= STIP;
            } else {
                c.mip_sw &= !STIP;
            }
        }
    }

    /// Decodes the PMP entries again after a PMP CSR write; the TLB's permissions came from
    /// the old ones.
    fn pmp_changed(&mut self) {
        self.pmp = pmp::Pmp::decode(&self.csr.pmpcfg, &self.csr.pmpaddr);
        self.flush_tlb();
    }

    fn set_mstatus(&mut self, next: u64) {
        let old = self.csr.mstatus;
        self.csr.mstatus = next;
        if (old ^ next) & (mstatus::SUM | mstatus::MXR) != 0 {
            // Data permissions only: the `pc`'s translation stays (`Tlb::remaps`).
            self.tlb.forget();
        }
    }
}
