//! The run loop: [`Hart::run`], [`Hart::step`] and [`Hart::run_with`], one time slice
//! each: the code-epoch checks at slice start, the fetch page, block lookup and checking,
//! offering checked blocks to a tier (`tier`) or running them in the block executor
//! (`block_exec`), single instructions through `Hart::execute_fast` or the general
//! `Hart::execute`, the batched retirement counters, and interrupts, stop requests and
//! exceptions taken between blocks (see the [`hart`](super::hart) module docs for the
//! loop's shape). [`Exit`] says why a run returned.

use crate::atomic::Ordering;

use super::bitmanip;
use super::block::BLOCK_POOL;
use super::block_exec::End;
use super::decode::decode_any;
use super::execute::alu;
use super::hart::Hart;
use super::host;
use super::insn::{Insn, Op};
use super::irqs::{ALWAYS_WRITTEN, CODE_WRITTEN, IRQ_BITS, STOP};
use super::tier::{BlockRef, BlockTier, Interp, TierCtx, TierEnd, TierWindow};
use super::tlb::PAGE_MASK;
use super::trap::{irq, Exception};
use super::trigger::DEBUGGER_HIT;
use super::word;
use super::Xlen;
use crate::cpu::Bus;

/// Why [`Hart::run`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The instruction budget is used up.
    BudgetExhausted,
    /// `wfi` with no enabled interrupt pending; `pc` is past the `wfi`. Run again once an
    /// interrupt is raised (or at once: `wfi` may return early).
    Wfi,
    /// `ebreak` at this `pc` while [`Hart::set_debug_ebreak`] is on; not executed.
    Breakpoint(u64),
    /// [`HartIrqs::request_stop`](super::HartIrqs::request_stop) was called.
    Stopped,
}

/// What [`Hart::execute_fast`] did.
enum Fast {
    /// Retired: the value for `rd` (the discard slot when there is none) and the next `pc`.
    Done(u64, u64),
    /// A taken conditional branch: the next `pc` (no register is written).
    Taken(u64),
    /// Raised an exception (not yet taken).
    Trap(Exception),
    /// Not a fast-path operation: run [`Hart::execute`].
    Slow,
}

/// A fetch-page tag no page address equals (page addresses are 4 KiB aligned).
const INVALID_PAGE: u64 = 1;

/// Whether two fetch contexts (`Hart::fetch_context`) differ in more than the privilege:
/// a TLB flush between them may have remapped the `pc`.
#[inline(always)]
fn remapped(a: u64, b: u64) -> bool {
    (a ^ b) >> 8 != 0
}

/// What names the view `bus` answers from, for a sole hart's code epoch across slices: on
/// hosts its identity ([`Bus::view_id`], unique among all views); on bare metal, which has
/// none, its generation ([`Bus::generation`], which every commit of one memory moves). A
/// bus with no view (0 either way) is taken as never mapping other memory.
#[inline(always)]
fn view_key<B: Bus + ?Sized>(bus: &B) -> u64 {
    #[cfg(not(target_os = "none"))]
    {
        bus.view_id()
    }
    #[cfg(target_os = "none")]
    {
        u64::from(bus.generation())
    }
}

impl<'i> Hart<'i> {
    /// Executes one instruction (or takes one pending interrupt first).
    pub fn step<B: Bus + ?Sized>(&mut self, bus: &B) -> Exit {
        self.run(bus, 1)
    }

    /// Runs up to `max_instructions` instructions (traps do not count).
    pub fn run<B: Bus + ?Sized>(&mut self, bus: &B, max_instructions: u64) -> Exit {
        self.run_with(bus, max_instructions, &mut Interp)
    }

    /// [`Hart::run`], offering every checked decoded block to `tier` first (see
    /// [`tier`](super::tier)); with [`Interp`] it is [`Hart::run`].
    ///
    /// With a tier that may run blocks, the hart's interrupt word watches the bus's write
    /// count for the slice ([`Bus::write_watch`]): every write behind the hart's back
    /// sets the written bit (`irqs::CODE_WRITTEN`) in it, which translated code tests
    /// with the interrupts (`TierCtx::exit_mask`). The watch begins before the slice's first reading of the
    /// count, so no write is missed (`crate::watch` docs). A word watches for one hart at
    /// a time (harts sharing one take turns; the others' tiers return at every block
    /// boundary), so no hart clears the bit another still has to see.
    #[inline]
    pub fn run_with<B: Bus + ?Sized, T: BlockTier + ?Sized>(
        &mut self,
        bus: &B,
        max_instructions: u64,
        tier: &mut T,
    ) -> Exit {
        if !T::DECLINES_ALL {
            let irqs = self.irqs;
            if let (Some(watch), Some(_claim)) = (bus.write_watch(), irqs.claim_watch()) {
                return watch.watching(&irqs.pending, CODE_WRITTEN, |watched| {
                    self.run_slice(bus, max_instructions, tier, watched)
                });
            }
        }
        self.run_slice(bus, max_instructions, tier, false)
    }

    /// One slice of [`Hart::run_with`]: the code-epoch checks at its start, then the run
    /// loop; `watched` when the interrupt word watches the bus's write count.
    #[inline(always)]
    fn run_slice<B: Bus + ?Sized, T: BlockTier + ?Sized>(
        &mut self,
        bus: &B,
        max_instructions: u64,
        tier: &mut T,
        watched: bool,
    ) -> Exit {
        // Host pointers from an earlier slice are valid under this borrow only when it pins
        // the same view (`Tlb::keep_for`); forgetting them changes no translation, so this
        // counts no remap.
        #[cfg(not(target_os = "none"))]
        self.tlb.keep_for(bus.view_id());
        #[cfg(target_os = "none")]
        self.tlb.forget();
        // Other harts may have written code since the last slice, and DMA, a debugger or
        // the host (counted), or a debugger may have changed the privilege or `satp`, or a
        // commit may have mapped other memory (over code, perhaps) since the last slice.
        // The count is read once: the run loop starts from the value compared here.
        let view = view_key(bus);
        let writes = bus.lease_writes();
        let written = writes != self.blocks.writes_seen;
        if written {
            // As at a block entry (`run_loop`): the new bytes are seen from here on.
            core::sync::atomic::fence(Ordering::Acquire);
        }
        if self.blocks.shared
            || written
            || remapped(self.fetch_context(), self.blocks.fetch_seen)
            || view != self.blocks.view_seen
        {
            self.blocks.code_changed();
        }
        self.blocks.writes_seen = writes;
        self.blocks.view_seen = view;
        // A debugger may have changed the privilege: its own code space.
        self.blocks.enter_space(self.prv.index());
        match self.xlen {
            Xlen::Rv32 => self.run_loop::<B, T, true>(bus, max_instructions, tier, watched),
            Xlen::Rv64 => self.run_loop::<B, T, false>(bus, max_instructions, tier, watched),
        }
    }

    /// The RAM window a tier may load through ([`TierCtx::window_lo`]): the TLB's
    /// (`tlb::RamWindow`) while data accesses are made at M level with no data trigger
    /// armed; none otherwise.
    #[inline]
    fn tier_window(&self) -> TierWindow {
        #[cfg(not(target_os = "none"))]
        {
            let w = &self.tlb.window;
            if self.data_prv == super::trap::Priv::Machine
                && !self.triggers.data_armed
                && w.shift != 0
            {
                let size = 1u64 << w.shift;
                return TierWindow {
                    lo: w.lo,
                    limits: [size, size >> 1, size >> 2, size >> 3],
                    host: w.host,
                };
            }
        }
        TierWindow::NONE
    }

    /// What the translation of a fetch address depends on besides guest memory: the
    /// privilege and [`Tlb::remaps`](super::tlb::Tlb::remaps) (`satp`, PMP, `menvcfg`,
    /// `sfence.vma`, triggers).
    #[inline(always)]
    fn fetch_context(&self) -> u64 {
        (self.tlb.remaps as u64) << 8 | self.prv as u64
    }

    /// The interpreter loop (see the module docs), with XLEN a constant.
    ///
    /// The loop keeps in locals what only a "slow" instruction (anything but the plain
    /// ALU, branch, jump, load and store operations), a trap or an interrupt can change:
    /// `pc`, the retirements not yet added to `minstret`/`mcycle` (so `mcountinhibit` is
    /// constant in between), the interrupt mask and the software `mip` bits, and the host
    /// page of the current fetch page. Before any of those events it writes the state back
    /// to the hart and after it reloads it; the fetch page is forgotten, since the
    /// privilege, `satp` or the TLB may have changed.
    ///
    /// Each iteration checks the budget and the interrupts, then runs one decoded block
    /// (`block`) of the fetch page, checked against guest memory once per code epoch, with
    /// [`Hart::run_block`]. So interrupts are taken between blocks: before the first
    /// instruction of `run`, after every jump or taken branch and every instruction that leaves
    /// the block path (system instructions, traps, MMIO accesses), and otherwise after at
    /// most [`BLOCK_INSNS`](super::block::BLOCK_INSNS) instructions (QEMU checks at translation-block boundaries too).
    /// The block executor itself goes on with the next block when the run loop would do
    /// nothing else before it (a loop's block again, and with the interpreter alone the
    /// next block of the same page: [`Hart::run_block`]), after the same interrupt, budget,
    /// DMA-count and code-epoch checks. A block longer than the remaining budget runs one
    /// instruction at a time, so `run(n)` never retires more than `n` instructions. The
    /// block's last instruction, when it is one the block executor
    /// does not run, and code the block path cannot run (a fetch page that is not host
    /// RAM, a 32-bit instruction across a page boundary, fetch faults) go one instruction
    /// at a time through the previous path: fetch, decode, [`Hart::execute_fast`], else
    /// [`Hart::execute`].
    #[inline(always)]
    fn run_loop<B: Bus + ?Sized, T: BlockTier + ?Sized, const RV32: bool>(
        &mut self,
        bus: &B,
        max: u64,
        tier: &mut T,
        watched: bool,
    ) -> Exit {
        let xlen = if RV32 { Xlen::Rv32 } else { Xlen::Rv64 };
        let irqs = self.irqs;
        let mut left = max;
        // `left` when `minstret`/`mcycle` were last brought up to date: every instruction
        // since then went through the fast paths and retired.
        let mut synced = max;
        let mut pc = self.pc;
        let mut int_mask = self.int_mask;
        let mut mip_sw = self.csr.mip_sw;
        // The fetch page: its virtual page address (or INVALID_PAGE) and host pointer.
        let mut page = INVALID_PAGE;
        let mut page_host: *mut u8 = core::ptr::null_mut();
        // The bus's DMA write count when the code epoch last started (`block`): as
        // `run_slice` read it.
        let mut lease_writes = self.blocks.writes_seen;
        // What a tier reads as the interrupt word (`tier`): the hart's own while it
        // watches the count, else one that ends every chain.
        let tier_pending: *const u32 = if watched {
            irqs.pending.as_ptr()
        } else {
            ALWAYS_WRITTEN.as_ptr()
        };
        // What the `pc`'s translation depends on besides memory: the privilege and the
        // TLB's remap count. A slow event that changes neither keeps the code epoch.
        let mut fetch_context = self.fetch_context();
        // Before a slow event: write the local state back to the hart.
        macro_rules! sync {
            () => {{
                self.pc = pc;
                self.retire(synced - left);
                synced = left;
            }};
        }
        // After it: reload what it may have changed.
        macro_rules! reload {
            () => {{
                pc = self.pc;
                page = INVALID_PAGE;
                // A `satp` write, PMP or `sfence.vma` may change what the `pc` translates
                // to, and a block checked in this epoch keeps no host address: a new code
                // epoch. Writes to code were seen where they happened (stores, AMOs, MMIO,
                // `fence.i`: `block`). A privilege change alone switches to that
                // privilege's code space, whose blocks checked in this epoch are still
                // right: no translation changed since (`block`).
                let now = self.fetch_context();
                if now != fetch_context {
                    if remapped(now, fetch_context) {
                        self.blocks.code_changed();
                    }
                    fetch_context = now;
                    self.blocks.enter_space(self.prv.index());
                }
                int_mask = self.int_mask;
                mip_sw = self.csr.mip_sw;
            }};
        }
        let exit = 'run: loop {
            if left == 0 {
                break Exit::BudgetExhausted;
            }
            let pending = irqs.pending.load(Ordering::Relaxed) | mip_sw;
            if pending & int_mask != 0 {
                sync!();
                let exit = self.take_interrupt(pending);
                reload!();
                match exit {
                    Some(exit) => break exit,
                    None => continue,
                }
            }
            if pc & !PAGE_MASK != page {
                let e = self.tlb.entry(self.prv, pc);
                if e.tag_x == pc & !PAGE_MASK && !e.host_r.is_null() {
                    page = e.tag_x;
                    page_host = e.host_r;
                }
            }
            if pc & !PAGE_MASK == page {
                if !T::DECLINES_ALL && pending & CODE_WRITTEN != 0 {
                    // A write behind our back told us (`crate::watch`): clear the bit
                    // *before* reading the count. A write whose bit this clears is in
                    // the count read below (the `Acquire` pairs with its `Release` bit);
                    // one after leaves the bit set for the tier's next boundary check.
                    irqs.pending.fetch_and(!CODE_WRITTEN, Ordering::Acquire);
                }
                let writes = bus.lease_writes();
                if writes != lease_writes {
                    // DMA wrote guest RAM: maybe code. The fence pairs with the writer's
                    // `Release` count, so the checks below read the new bytes.
                    core::sync::atomic::fence(Ordering::Acquire);
                    lease_writes = writes;
                    self.blocks.code_changed();
                }
                let mut idx = self.blocks.slot(pc);
                if !self.block_valid(idx, pc, page_host) {
                    let host_lo = page_host.addr() + (pc & PAGE_MASK & !3) as usize;
                    let built = self.blocks.build(pc, xlen, |i| {
                        // SAFETY: `page_host` is the host page of a TLB entry filled under
                        // this slice's bus borrow (alive for the whole call, tlb docs),
                        // 8-byte aligned; `build` asks only for words `i < 1024`: an aligned
                        // word inside the page.
                        unsafe { host::load(page_host.add(4 * (i & 1023)), 4) as u32 }
                    });
                    idx = match built {
                        Some(idx) => {
                            self.mark_block_checked(idx, pc, host_lo);
                            idx
                        }
                        None => usize::MAX,
                    };
                }
                if idx != usize::MAX {
                    // A block the tier declines for good is not offered again: no context
                    // is built for it.
                    let offered = if self.blocks.blocks[idx & (BLOCK_POOL - 1)].declined {
                        None
                    } else {
                        let block = BlockRef {
                            block: &self.blocks.blocks[idx & (BLOCK_POOL - 1)],
                            pool_index: idx & (BLOCK_POOL - 1),
                        };
                        // Everything the tier may read or write (`tier`); with `Interp` this
                        // is never built.
                        let window = self.tier_window();
                        let mut ctx = TierCtx {
                            regs: self.regs.as_mut_ptr(),
                            // No bounds check (`index` < 3): nothing here may survive
                            // when the tier (`Interp`) ignores the context.
                            tlb: self
                                .tlb
                                .sets
                                .as_ptr()
                                .wrapping_add(self.data_prv.index())
                                .cast(),
                            // The fast view follows the data-access privilege (`recompute`).
                            fast_tlb: self.tlb.fast_ptr().cast(),
                            window_lo: window.lo,
                            window_limits: window.limits,
                            window_host: window.host,
                            code_lines: self.blocks.code_lines_ptr(),
                            code_tags: self.blocks.code_tags_ptr(),
                            pending: tier_pending,
                            left,
                            int_mask,
                            exit_mask: int_mask | CODE_WRITTEN,
                            mip_sw,
                            epoch: self.blocks.epoch,
                            space: self.prv.index() as u32,
                            declined: false,
                        };
                        let r = tier.run_block(block, &mut ctx);
                        if ctx.declined {
                            self.blocks.blocks[idx & (BLOCK_POOL - 1)].declined = true;
                        }
                        r
                    };
                    let end = match offered {
                        None => self.run_block::<B, RV32>(
                            bus,
                            idx,
                            pc,
                            left,
                            lease_writes,
                            T::DECLINES_ALL,
                        ),
                        Some(TierEnd::Next { retired, pc }) => End::Next(retired, pc),
                        Some(TierEnd::Single { retired, pc }) => End::Single(retired, pc),
                    };
                    match end {
                        End::Next(k, next) => {
                            left -= k;
                            pc = next;
                            continue;
                        }
                        End::Trap(k, at, e) => {
                            left -= k;
                            pc = at;
                            sync!();
                            if let Some(exit) = self.raise(e) {
                                break 'run exit;
                            }
                            reload!();
                            // Not retired, but it used up budget.
                            left -= 1;
                            synced -= 1;
                            continue;
                        }
                        End::Single(k, at) => {
                            left -= k;
                            pc = at;
                            if left == 0 {
                                continue;
                            }
                        }
                    }
                }
            }
            // One instruction through the general path: pages with an execute trigger
            // always come here (`trigger`).
            if self.triggers.exec_armed {
                if let Some(e) = self.exec_trigger(pc) {
                    sync!();
                    if let Some(exit) = self.raise(e) {
                        break 'run exit;
                    }
                    reload!();
                    left -= 1;
                    synced -= 1;
                    continue;
                }
            }
            let off = (pc & PAGE_MASK) as usize;
            let mut raw = 0;
            let mut len = 0u64;
            if pc & !PAGE_MASK == page {
                // SAFETY: as above; `off` is even and below the page size: an aligned
                // half-word inside the page.
                let lo = unsafe { host::load(page_host.add(off), 2) } as u32;
                if lo & 3 != 3 {
                    raw = lo;
                    len = 2;
                } else if off + 4 <= PAGE_MASK as usize + 1 {
                    // SAFETY: as above, and `off + 2 + 2` is still inside the page.
                    let hi = unsafe { host::load(page_host.add(off + 2), 2) } as u32;
                    raw = lo | hi << 16;
                    len = 4;
                }
            }
            if len == 0 {
                match self.fetch(bus, pc) {
                    Ok(r) => {
                        raw = r;
                        len = if r & 3 == 3 { 4 } else { 2 };
                    }
                    Err(e) => {
                        sync!();
                        self.take_trap(e.cause, false, e.tval);
                        reload!();
                        // Not retired, but it used up budget.
                        left -= 1;
                        synced -= 1;
                        continue;
                    }
                }
            }
            let insn = decode_any(raw, xlen);
            match self.execute_fast::<B, RV32>(bus, pc, len, insn) {
                Fast::Done(value, next) => {
                    self.regs[(insn.rd & 63) as usize] = value;
                    pc = next;
                }
                Fast::Taken(target) => pc = target,
                fallback => {
                    sync!();
                    let result = match fallback {
                        Fast::Trap(e) => Err(e),
                        _ => self.execute(bus, pc, raw, insn),
                    };
                    let exit = match result {
                        Ok(None) => {
                            self.retire_written();
                            None
                        }
                        Ok(Some(exit)) => Some(exit),
                        Err(e) => self.raise(e),
                    };
                    reload!();
                    if let Some(exit) = exit {
                        break 'run exit;
                    }
                    left -= 1;
                    synced -= 1;
                    continue;
                }
            }
            // A load or store that left the TLB fast path may have been MMIO (which can
            // raise an interrupt) or have written code: the fetch page stays, the next
            // iteration checks interrupts and looks up the next block.
            left -= 1;
        };
        self.pc = pc;
        self.retire(synced - left);
        // What the next slice compares (`run_with`): the count as of this slice's last
        // check (older than the bus's if writes came since: then the next slice starts a
        // new epoch).
        self.blocks.writes_seen = lease_writes;
        self.blocks.fetch_seen = self.fetch_context();
        exit
    }

    /// Counts one instruction of the general path, which may have written `mcycle` or
    /// `minstret` (their high halves too): then, as the privileged spec says, the written
    /// value is what later reads see, without this instruction's own increment.
    #[inline]
    fn retire_written(&mut self) {
        let written = core::mem::take(&mut self.csr.counters_written);
        self.retire_inhibited(1, self.csr.mcountinhibit | written);
    }

    /// Counts `n` retired instructions in `minstret` and `mcycle` (one cycle each), as
    /// `mcountinhibit` allows.
    #[inline]
    fn retire(&mut self, n: u64) {
        self.retire_inhibited(n, self.csr.mcountinhibit);
    }

    /// [`Hart::retire`] with `inhibit` in `mcountinhibit`'s format.
    #[inline]
    fn retire_inhibited(&mut self, n: u64, inhibit: u32) {
        if inhibit & 4 == 0 {
            self.csr.minstret = self.csr.minstret.wrapping_add(n);
        }
        if inhibit & 1 == 0 {
            self.csr.mcycle = self.csr.mcycle.wrapping_add(n);
        }
    }

    /// The common instructions (`len` bytes long), which change nothing but one register,
    /// `pc` and memory:
    /// [`Fast::Done`] with the value for `rd` and the next `pc`, [`Fast::Trap`] for an
    /// exception, or [`Fast::Slow`] for [`Hart::execute`] to handle.
    #[inline(always)]
    fn execute_fast<B: Bus + ?Sized, const RV32: bool>(
        &mut self,
        bus: &B,
        pc: u64,
        len: u64,
        insn: Insn,
    ) -> Fast {
        let m: u64 = if RV32 { 0xffff_ffff } else { u64::MAX };
        let sx = |v: u64| -> i64 {
            if RV32 {
                v as u32 as i32 as i64
            } else {
                v as i64
            }
        };
        // Sources are x0..x31 (never the discard slot): the mask makes the index
        // check-free without changing it.
        let a = self.regs[(insn.rs1 & 31) as usize];
        let b = self.regs[(insn.rs2 & 31) as usize];
        let imm = insn.imm as i64 as u64;
        let next = pc.wrapping_add(len) & m;
        let target = pc.wrapping_add(imm) & m;
        let ea = a.wrapping_add(imm) & m;
        macro_rules! try_mem {
            ($e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Fast::Trap(e),
                }
            };
        }
        // A taken branch is its own variant (not a `pc` chosen by a conditional move), so
        // that the next `pc` depends on a predicted branch rather than on register values.
        macro_rules! branch {
            ($cond:expr) => {
                if $cond {
                    Fast::Taken(target)
                } else {
                    Fast::Done(0, next)
                }
            };
        }
        let value = match insn.op {
            Op::Lui => imm & m,
            Op::Auipc => target,
            Op::Jal => return Fast::Done(next, target),
            Op::Jalr => return Fast::Done(next, ea & !1),
            Op::Beq => return branch!(a == b),
            Op::Bne => return branch!(a != b),
            Op::Blt => return branch!(sx(a) < sx(b)),
            Op::Bge => return branch!(sx(a) >= sx(b)),
            Op::Bltu => return branch!(a < b),
            Op::Bgeu => return branch!(a >= b),
            Op::Lb => try_mem!(self.load(bus, ea, 1)) as i8 as i64 as u64 & m,
            Op::Lh => try_mem!(self.load(bus, ea, 2)) as i16 as i64 as u64 & m,
            Op::Lw => try_mem!(self.load(bus, ea, 4)) as i32 as i64 as u64 & m,
            Op::Lbu => try_mem!(self.load(bus, ea, 1)),
            Op::Lhu => try_mem!(self.load(bus, ea, 2)),
            Op::Ld if !RV32 && word::FAST => try_mem!(self.load(bus, ea, 8)),
            Op::Lwu if !RV32 && word::FAST => try_mem!(self.load(bus, ea, 4)),
            Op::Sb | Op::Sh | Op::Sw | Op::Sd => {
                let size = match insn.op {
                    Op::Sb => 1,
                    Op::Sh => 2,
                    Op::Sw => 4,
                    _ if RV32 || !word::FAST => return Fast::Slow,
                    _ => 8,
                };
                try_mem!(self.store(bus, ea, size, b));
                0
            }
            Op::Addi => ea,
            Op::Slti => alu::<RV32>(Op::Slti, a, b, imm),
            Op::Sltiu => alu::<RV32>(Op::Sltiu, a, b, imm),
            Op::Xori => alu::<RV32>(Op::Xori, a, b, imm),
            Op::Ori => alu::<RV32>(Op::Ori, a, b, imm),
            Op::Andi => alu::<RV32>(Op::Andi, a, b, imm),
            Op::Slli => alu::<RV32>(Op::Slli, a, b, imm),
            Op::Srli => alu::<RV32>(Op::Srli, a, b, imm),
            Op::Srai => alu::<RV32>(Op::Srai, a, b, imm),
            Op::Add => alu::<RV32>(Op::Add, a, b, imm),
            Op::Sub => alu::<RV32>(Op::Sub, a, b, imm),
            Op::Sll => alu::<RV32>(Op::Sll, a, b, imm),
            Op::Slt => alu::<RV32>(Op::Slt, a, b, imm),
            Op::Sltu => alu::<RV32>(Op::Sltu, a, b, imm),
            Op::Xor => alu::<RV32>(Op::Xor, a, b, imm),
            Op::Srl => alu::<RV32>(Op::Srl, a, b, imm),
            Op::Sra => alu::<RV32>(Op::Sra, a, b, imm),
            Op::Or => alu::<RV32>(Op::Or, a, b, imm),
            Op::And => alu::<RV32>(Op::And, a, b, imm),
            Op::Mul => alu::<RV32>(Op::Mul, a, b, imm),
            Op::Mulh => alu::<RV32>(Op::Mulh, a, b, imm),
            Op::Mulhsu => alu::<RV32>(Op::Mulhsu, a, b, imm),
            Op::Mulhu => alu::<RV32>(Op::Mulhu, a, b, imm),
            Op::Div => alu::<RV32>(Op::Div, a, b, imm),
            Op::Divu => alu::<RV32>(Op::Divu, a, b, imm),
            Op::Rem => alu::<RV32>(Op::Rem, a, b, imm),
            Op::Remu => alu::<RV32>(Op::Remu, a, b, imm),
            _ if cfg!(feature = "ext") && insn.op.is_bitmanip() => {
                bitmanip::alu::<RV32>(insn.op, a, b, imm)
            }
            _ if !RV32 && word::FAST && insn.op.is_word() => word::alu(insn.op, a, b, imm),
            _ => return Fast::Slow,
        };
        Fast::Done(value, next)
    }

    /// Takes exception `e` at `self.pc`, or, for a debugger point's hit, gives the exit
    /// that reports it (the instruction did not run).
    #[cold]
    fn raise(&mut self, e: Exception) -> Option<Exit> {
        if e.cause == DEBUGGER_HIT {
            return Some(Exit::Breakpoint(self.pc));
        }
        self.take_trap(e.cause, false, e.tval);
        None
    }

    /// Takes the highest-priority pending and enabled interrupt, or handles a stop.
    #[cold]
    fn take_interrupt(&mut self, pending: u32) -> Option<Exit> {
        if pending & STOP != 0 {
            self.irqs.pending.fetch_and(!STOP, Ordering::AcqRel);
            return Some(Exit::Stopped);
        }
        let ready = pending & self.int_mask & IRQ_BITS;
        // Interrupts for M-mode come before those delegated to S-mode.
        let for_m = ready & !(self.csr.mideleg as u32);
        let pick = if for_m != 0 { for_m } else { ready };
        for i in irq::PRIORITY {
            if pick & (1 << i) != 0 {
                self.take_trap(i as u64, true, 0);
                return None;
            }
        }
        None
    }
}
