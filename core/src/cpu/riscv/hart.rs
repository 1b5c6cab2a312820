//! The hart: architectural state and the interpreter loop.
//!
//! [`Hart::run`] executes up to a budget of instructions against one
//! [`Bus`](crate::cpu::Bus) (a pinned [`ReadSection`](crate::memory::ReadSection) for a
//! whole time slice, rule L7). Each iteration of the run loop makes one relaxed atomic
//! load of the shared [`HartIrqs`] word and compares it with a cached mask of the
//! interrupts that would be taken now (recomputed only when `mie`, `mideleg`, `mstatus` or
//! the privilege change); a stop request is a bit of the same word. Then it looks up the
//! decoded block at `pc` (`block`), checks it against guest memory if this is its first
//! entry in the code epoch (or decodes it), and runs it with `Hart::run_block`, XLEN a
//! constant. The block's last instruction when it is a system instruction or AMO, and code
//! the block path cannot run, go one at a time through fetch, decode and
//! `Hart::execute_fast`, else `Hart::execute` with the hart state written back (see
//! `run_loop` for what is kept in locals and when it is reloaded).
//!
//! This module owns the hart's architectural state ([`Hart`]'s fields), its construction
//! and the accessors embeddings and debuggers use; the run loop is in `run`, the block
//! executor in `block_exec`, the interrupt word [`HartIrqs`] in `irqs`.

use super::block::BlockCache;
use super::csr::{mstatus, CsrError, Csrs};
use super::fpu::FpState;
use super::irqs::{STOP, UNCONNECTED};
use super::pmp::Pmp;
use super::tlb::Tlb;
use super::trap::{Priv, TrapRecord};
use super::trigger::Triggers;
use super::Xlen;
use crate::memory::{MemTxAttrs, MemTxFlags};

pub use super::irqs::HartIrqs;
pub use super::run::Exit;

/// An LR reservation: the physical address, its size and the value LR loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Reservation {
    pub(super) addr: u64,
    pub(super) size: u32,
    pub(super) value: u64,
}

/// One RISC-V hart (see the [module docs](super)).
///
/// ```
/// use fief_core::cpu::riscv::{Exit, Hart, Xlen};
/// use fief_core::memory::*;
///
/// // Guest RAM at 0x8000_0000 holding `li a0, 42` and `ebreak`.
/// let ram: &'static mut [u8] = Box::leak(vec![0u8; 4096].into_boxed_slice());
/// ram[..8].copy_from_slice(&[0x13, 0x05, 0xa0, 0x02, 0x73, 0x00, 0x10, 0x00]);
/// let memory: Memory<'static, 4, 2, 1, 8> = Memory::new();
/// let mut g = memory.lock();
/// let root = g.root_owner()?;
/// let system = g.create_container(root, "system", RegionSize::FULL, None)?;
/// let ram = g.create_ram(root, "ram", RamBlock::new(ram)).map_err(|r| r.error)?;
/// g.add_subregion(system, RegionOffset(0x8000_0000), ram, Priority(0))?;
/// let space = g.create_address_space(system, "memory")?;
/// drop(g);
///
/// let mut hart = Hart::new(0, Xlen::Rv32, 0x8000_0000); // M-mode at the reset pc
/// hart.set_debug_ebreak(true); // `ebreak` stops the run instead of trapping
/// let section = memory.space(space).and_then(|s| s.section()).expect("published");
/// assert_eq!(hart.run(&section, 100), Exit::Breakpoint(0x8000_0004)); // one time slice
/// assert_eq!(hart.reg(10), 42);
/// assert_eq!(hart.pc(), 0x8000_0004);
/// # Ok::<(), Error>(())
/// ```
pub struct Hart<'i> {
    /// x0..x31, then the discard slot that absorbs writes to x0 ([`DISCARD`], 32), then
    /// unused slots up to 256, so that a `u8` index (the block executor's) or one masked
    /// with 63 needs no bounds check.
    pub(super) regs: [u64; 256],
    pub(super) pc: u64,
    pub(super) xlen: Xlen,
    /// All ones in the low XLEN bits: every register value is kept truncated to it.
    pub(super) xmask: u64,
    pub(super) xbits: u32,
    pub(super) prv: Priv,
    /// Privilege of loads and stores (`MPP` when `MPRV` is set).
    pub(super) data_prv: Priv,
    pub(super) csr: Csrs,
    pub(super) hart_id: u64,
    pub(super) irqs: &'i HartIrqs,
    /// Interrupt bits that would trap now, plus [`STOP`].
    pub(super) int_mask: u32,
    pub(super) reservation: Option<Reservation>,
    pub(super) tlb: Tlb,
    /// The decoded PMP entries (from `csr.pmpcfg`/`pmpaddr`).
    pub(super) pmp: Pmp,
    pub(super) last_trap: TrapRecord,
    pub(super) blocks: BlockCache,
    /// Debug triggers and the debugger's points (`trigger`).
    pub(super) triggers: Triggers,
    pub(super) debug_ebreak: bool,
    pub(super) attrs: MemTxAttrs,
    /// The F/D registers and `fcsr` (`fpu`), last: away from what the integer hot paths
    /// touch.
    pub(super) fp: FpState,
}

impl core::fmt::Debug for Hart<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Hart")
            .field("hart_id", &self.hart_id)
            .field("pc", &format_args!("{:#x}", self.pc))
            .field("prv", &self.prv)
            .finish_non_exhaustive()
    }
}

impl Hart<'static> {
    /// A hart in M-mode at `reset_pc`, with no interrupt sources connected.
    pub fn new(hart_id: u64, xlen: Xlen, reset_pc: u64) -> Hart<'static> {
        Hart::with_irqs(hart_id, xlen, reset_pc, &UNCONNECTED)
    }
}

impl<'i> Hart<'i> {
    /// A hart in M-mode at `reset_pc` whose `mip` device bits and stop requests come from
    /// `irqs`.
    pub fn with_irqs(hart_id: u64, xlen: Xlen, reset_pc: u64, irqs: &'i HartIrqs) -> Hart<'i> {
        let (xmask, xbits) = match xlen {
            Xlen::Rv32 => (0xffff_ffff, 32),
            Xlen::Rv64 => (u64::MAX, 64),
        };
        let mut hart = Hart {
            regs: [0; 256],
            pc: reset_pc & xmask,
            xlen,
            xmask,
            xbits,
            prv: Priv::Machine,
            data_prv: Priv::Machine,
            csr: Csrs::new(),
            fp: FpState::new(),
            hart_id,
            irqs,
            int_mask: STOP,
            reservation: None,
            tlb: Tlb::new(),
            pmp: Pmp::new(),
            last_trap: TrapRecord::NONE,
            blocks: BlockCache::new(),
            triggers: Triggers::new(),
            debug_ebreak: false,
            attrs: MemTxAttrs {
                flags: MemTxFlags::empty(),
                requester_id: hart_id as u16,
            },
        };
        hart.reset_triggers();
        hart.recompute();
        hart
    }

    /// The hart's id (`mhartid`).
    pub fn hart_id(&self) -> u64 {
        self.hart_id
    }

    /// The hart's XLEN.
    pub fn xlen(&self) -> Xlen {
        self.xlen
    }

    /// The shared interrupt word.
    pub fn irqs(&self) -> &'i HartIrqs {
        self.irqs
    }

    /// Register `x{i}` (0 for `i` = 0 or out of range).
    pub fn reg(&self, i: usize) -> u64 {
        if i < 32 {
            self.regs[i]
        } else {
            0
        }
    }

    /// Sets `x{i}` (truncated to XLEN); writes to `x0` or out of range are ignored.
    pub fn set_reg(&mut self, i: usize, value: u64) {
        if (1..32).contains(&i) {
            self.regs[i] = value & self.xmask;
        }
    }

    /// The program counter.
    pub fn pc(&self) -> u64 {
        self.pc
    }

    /// Sets the program counter (bit 0 is cleared).
    pub fn set_pc(&mut self, pc: u64) {
        self.pc = pc & self.xmask & !1;
    }

    /// The current privilege level.
    pub fn privilege(&self) -> Priv {
        self.prv
    }

    /// Changes the privilege level (for debuggers and tests).
    pub fn set_privilege(&mut self, prv: Priv) {
        self.prv = prv;
        self.recompute();
    }

    /// Reads CSR `n` with no privilege check (`None` if it does not exist).
    pub fn csr(&self, n: u16) -> Option<u64> {
        self.csr_read_raw(n).ok()
    }

    /// Writes CSR `n` with no privilege check, with the same WARL rules and side effects
    /// as a guest write. Read-only and nonexistent CSRs answer `Err`.
    pub fn set_csr(&mut self, n: u16, value: u64) -> Result<(), CsrError> {
        self.csr_write_raw(n, value)
    }

    /// Sets the value the `time` CSR reads (the embedding's timer, e.g. CLINT `mtime`), and
    /// with Sstc on (`menvcfg.STCE`) raises or lowers STIP by comparing it with
    /// `stimecmp`.
    pub fn set_time(&mut self, time: u64) {
        self.csr.time = time;
        self.update_sstc();
    }

    /// The `time` at which this hart's own timer (Sstc's `stimecmp`) raises STIP, when it
    /// is armed and has not fired yet: an embedding whose harts wait in `wfi` wakes this
    /// one then (calling [`Hart::set_time`]), as it does for the CLINT's `mtimecmp`.
    pub fn timer_deadline(&self) -> Option<u64> {
        let c = &self.csr;
        let armed = cfg!(feature = "ext") && c.menvcfg & super::csr::envcfg::STCE != 0;
        (armed && c.mip_sw & (1 << super::trap::irq::STI) == 0).then_some(c.stimecmp)
    }

    /// With `on`, `ebreak` leaves [`Hart::run`] with [`Exit::Breakpoint`] instead of raising
    /// a breakpoint exception in the guest.
    pub fn set_debug_ebreak(&mut self, on: bool) {
        self.debug_ebreak = on;
    }

    /// Tells the hart whether it is its machine's only one (default: not). A sole hart's
    /// decoded blocks (and a tier's chains between them) stay checked from one time slice
    /// to the next unless something the memory counts wrote guest memory or the privilege
    /// or translation changed in between; otherwise every slice checks them against memory
    /// again, so that plain stores of other harts are seen within a slice even without
    /// `fence.i` (see `block`). Plain stores to its memory from anything the memory does
    /// not count (another hart, host code writing through raw pointers) then need a
    /// `fence.i` on this hart to be fetched.
    pub fn set_sole_hart(&mut self, sole: bool) {
        self.blocks.shared = !sole;
    }

    /// How many blocks this hart has decoded since it was made (a block decoded again,
    /// after its pool entry was reused or its code changed, counts again): with the
    /// instruction count, how well the block pool holds the guest's code
    /// (`fief run --trace exits`).
    pub fn blocks_decoded(&self) -> u64 {
        self.blocks.decoded()
    }

    /// The current code epoch's number (`block`'s module doc): it moves on by one each
    /// time an epoch ends (a store to checked code, `fence.i`, a remap...), wrapping below
    /// 2^30, so the difference of two readings counts the epochs between them
    /// (`fief run --trace exits` prints it at the end).
    pub fn code_epoch(&self) -> u32 {
        self.blocks.epoch
    }

    /// Forgets every TLB entry.
    pub fn flush_tlb(&mut self) {
        self.tlb.flush();
    }

    /// Recomputes what depends on the privilege, `mstatus`, `mie` and `mideleg`: the
    /// data-access privilege and the mask of interrupts that would be taken now.
    pub(super) fn recompute(&mut self) {
        let ms = self.csr.mstatus;
        self.data_prv = if ms & mstatus::MPRV != 0 {
            Priv::from_bits(ms >> 11)
        } else {
            self.prv
        };
        // The block executor's fast TLB view follows the data-access privilege.
        self.tlb.select_fast(Tlb::set_of(self.data_prv));
        let m_on = self.prv < Priv::Machine || ms & mstatus::MIE != 0;
        let s_on =
            self.prv < Priv::Supervisor || (self.prv == Priv::Supervisor && ms & mstatus::SIE != 0);
        let mie = self.csr.mie as u32;
        let deleg = self.csr.mideleg as u32;
        self.int_mask =
            STOP | if m_on { mie & !deleg } else { 0 } | if s_on { mie & deleg } else { 0 };
    }

    #[inline]
    pub(super) fn sx(&self, v: u64) -> i64 {
        match self.xlen {
            Xlen::Rv32 => v as u32 as i32 as i64,
            Xlen::Rv64 => v as i64,
        }
    }
}
