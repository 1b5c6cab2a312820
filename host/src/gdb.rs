//! The GDB remote stub: `fief run -s` (TCP port 1234) or `--gdb tcp::PORT` serves hart 0
//! to a debugger (`target remote :1234` from `gdb-multiarch` or
//! `riscv64-unknown-elf-gdb`), over the `gdbstub` crate's protocol implementation.
//!
//! * With `-S` the hart waits for the debugger and then for its first `continue` or
//!   `stepi`, as QEMU's `-s -S`; without it the guest runs at once and a debugger that
//!   attaches later stops it.
//! * Registers: x0..x31 and `pc` in the `g` packet (XLEN bits each: [`GdbHart`]'s `A` is
//!   `gdb_arch`'s `Riscv32Fd` or `Riscv64Fd`, as the board's XLEN), the F/D registers (`f0..f31`,
//!   `fflags`, `frm`, `fcsr`) one at a time (`p`/`P`), as QEMU's stub (`gdb_arch`). Memory reads and writes go
//!   through the hart's current translation, as QEMU's gdbstub: with `satp` on, gdb's
//!   addresses are virtual, as the hart sees them at its privilege (`MPRV` included); a page
//!   that a load there could not reach makes the whole read or write an error reply
//!   (`Hart::debug_translate`, no side effects). Then they are debug accesses through the address space (ROM is writable, as
//!   QEMU's gdbstub does).
//! * Software breakpoints (`Z0`): the stub writes an `ebreak` (or `c.ebreak`, as gdb asks)
//!   over the instruction (at its translated address) and the hart, with
//!   `set_debug_ebreak`, stops there without executing it; removing one writes the
//!   instruction back. The decoded-block cache sees both writes (a new time slice checks
//!   every block again). An `ebreak` that is the guest's own, not a breakpoint, still
//!   traps in the guest.
//! * Hardware breakpoints (`Z1`) and watchpoints (`Z2` write, `Z3` read, `Z4` access): the
//!   hart's debugger points, matched by its trigger logic (`fief_core::cpu::riscv`'s
//!   `trigger`) on virtual addresses, invisible to the guest's own triggers, up to
//!   `DEBUG_POINTS` of them. The hart stops before the instruction (a watchpoint before its
//!   access) and the stub reports `hwbreak` or `watch`/`rwatch`/`awatch` with the
//!   watchpoint's address.
//! * Ctrl-C stops the guest between time slices. The finisher ends the session with the
//!   guest's exit status; a detaching debugger lets the guest run on.
//! * The connection goes through [`fief_host::gdb_conn`]: bad packets get a NAK or `E01` and
//!   the session goes on, a lost debugger is a detach, and a quit ends an idle session.
//! * One hart: with `--smp` above 1 the stub refuses to start.

use std::io;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use fief_boards::virt::Virt;
use fief_core::cpu::riscv::{DebugHit, Exit, Hart, WatchKind};
use fief_core::memory::{GuestAddress, MemTxAttrs};
use gdbstub::common::Signal;
use gdbstub::conn::ConnectionExt;
use gdbstub::stub::{run_blocking, DisconnectReason, GdbStub, SingleThreadStopReason};
use gdbstub::target::ext::base::single_register_access::{
    SingleRegisterAccess, SingleRegisterAccessOps,
};
use gdbstub::target::ext::base::singlethread::{
    SingleThreadBase, SingleThreadResume, SingleThreadResumeOps, SingleThreadSingleStep,
    SingleThreadSingleStepOps,
};
use gdbstub::target::ext::base::BaseOps;
use gdbstub::target::ext::breakpoints::{
    Breakpoints, BreakpointsOps, HwBreakpoint, HwBreakpointOps, HwWatchpoint, HwWatchpointOps,
    SwBreakpoint, SwBreakpointOps, WatchKind as GdbWatchKind,
};
use gdbstub::target::{Target, TargetError, TargetResult};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;

use crate::gdb_arch::{FdRegId, RvArch};
use num_traits::{FromPrimitive, ToPrimitive};

use crate::run::{exit_status, SLICE};
use fief_host::gdb_conn::{note, Framed, Session};

/// The page size of the hart's translation.
const PAGE: u64 = 4096;

/// `ebreak` and `c.ebreak`, as little-endian bytes.
const EBREAK: [u8; 4] = 0x0010_0073u32.to_le_bytes();
const C_EBREAK: [u8; 2] = 0x9002u16.to_le_bytes();

/// Where the debugger connects: `tcp::PORT` (QEMU's spelling) or `tcp:HOST:PORT`.
pub fn listen(spec: &str) -> Result<TcpListener, String> {
    let addr = match spec.strip_prefix("tcp:") {
        Some(rest) if rest.starts_with(':') => format!("127.0.0.1{rest}"),
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => return Err(format!("unknown gdb backend '{spec}' (use tcp::PORT)")),
    };
    TcpListener::bind(&addr).map_err(|e| format!("cannot listen for gdb on {addr}: {e}"))
}

/// Hart 0 under a debugger (see the module docs), with the registers of XLEN `A`.
pub struct GdbHart<A> {
    board: &'static Virt<'static>,
    hart: Hart<'static>,
    quit: &'static AtomicBool,
    /// Inserted software breakpoints: virtual address, physical address and the bytes the
    /// `ebreak` replaced.
    breakpoints: Vec<(u64, u64, Vec<u8>)>,
    /// The debugger asked for one instruction (`stepi`) rather than `continue`.
    stepping: bool,
    /// The debugger's hardware points: address, length, and the watch kind (`None` for a
    /// breakpoint); taken out when it goes.
    hw_points: Vec<(u64, u64, Option<WatchKind>)>,
    arch: std::marker::PhantomData<A>,
}

/// Why the guest stopped by itself.
enum Stop {
    Breakpoint,
    HwBreakpoint,
    Watch(u64, WatchKind),
    Finished(u8),
    Quit,
}

/// `v` as the debugger's word (XLEN bits: the low ones).
fn word<A: RvArch>(v: u64) -> A::Usize {
    let v = if A::XLEN_BYTES == 4 {
        v & 0xffff_ffff
    } else {
        v
    };
    A::Usize::from_u64(v).unwrap_or_else(num_traits::Zero::zero)
}

/// The debugger's word `v` as an address or register value.
fn wide<A: RvArch>(v: A::Usize) -> u64 {
    v.to_u64().unwrap_or(0)
}

impl<A: RvArch> GdbHart<A> {
    /// Hart `hart` of `board`, to serve; `quit` is the emulator's stop flag.
    pub fn new(
        board: &'static Virt<'static>,
        hart: Hart<'static>,
        quit: &'static AtomicBool,
    ) -> Self {
        let mut hart = hart;
        hart.set_debug_ebreak(true);
        GdbHart {
            board,
            hart,
            quit,
            breakpoints: Vec::new(),
            stepping: false,
            hw_points: Vec::new(),
            arch: std::marker::PhantomData,
        }
    }

    /// Runs up to `budget` instructions; `Some` when the guest stopped by itself.
    fn run(&mut self, budget: u64) -> Option<Stop> {
        if self.quit.load(Ordering::Acquire) {
            return Some(Stop::Quit);
        }
        let clint = &self.board.devices.clint;
        self.hart.set_time(clint.mtime());
        let exit = match self.board.space().section() {
            Some(section) => self.hart.run(&section, budget),
            None => return Some(Stop::Quit),
        };
        clint.update();
        if let Some(finish) = self.board.finish() {
            return Some(Stop::Finished(exit_status(finish)));
        }
        if let Exit::Breakpoint(_) = exit {
            match self.hart.take_debug_hit() {
                Some(DebugHit::Breakpoint(_)) => return Some(Stop::HwBreakpoint),
                Some(DebugHit::Watch(addr, kind)) => return Some(Stop::Watch(addr, kind)),
                None => {}
            }
        }
        match exit {
            Exit::Breakpoint(pc) if self.breakpoints.iter().any(|b| b.0 == pc) => {
                Some(Stop::Breakpoint)
            }
            Exit::Breakpoint(_) => {
                // The guest's own ebreak: let it trap in the guest.
                self.hart.set_debug_ebreak(false);
                let r = self.run(1);
                self.hart.set_debug_ebreak(true);
                r
            }
            Exit::Wfi => {
                std::thread::sleep(Duration::from_micros(200));
                None
            }
            Exit::Stopped => Some(Stop::Quit),
            Exit::BudgetExhausted => None,
        }
    }

    /// Runs freely until the guest stops by itself or `attach` says a debugger is here.
    pub fn run_until(&mut self, mut attach: impl FnMut() -> bool) -> Option<u8> {
        loop {
            if attach() {
                return None;
            }
            match self.run(SLICE) {
                Some(Stop::Finished(code)) => return Some(code),
                Some(Stop::Quit) => return Some(0),
                Some(Stop::Breakpoint | Stop::HwBreakpoint | Stop::Watch(..)) | None => {}
            }
        }
    }

    /// Serves one debugger on `conn` until it detaches, goes away or the guest ends;
    /// `Some(status)` when the run is over (the guest ended, the debugger killed it, or the
    /// emulator is quitting). Nothing the client sends ends the run: a packet `gdbstub`
    /// cannot parse is answered `E01` and the stub starts again on the same connection; a
    /// lost connection is a detach (the guest runs on and the next debugger is awaited),
    /// as with QEMU.
    pub fn serve(&mut self, conn: TcpStream) -> Result<Option<u8>, String> {
        let session = Session::new(conn, self.quit).map_err(|e| format!("gdb: {e}"))?;
        loop {
            let framed = session.framed().map_err(|e| format!("gdb: {e}"))?;
            let stub = GdbStub::new(framed);
            let error = match stub.run_blocking::<EventLoop<A>>(self) {
                Ok(DisconnectReason::TargetExited(code)) => return Ok(Some(code)),
                Ok(DisconnectReason::Kill) | Ok(DisconnectReason::TargetTerminated(_)) => {
                    return Ok(Some(0))
                }
                Ok(DisconnectReason::Disconnect) => {
                    self.detach();
                    return Ok(None);
                }
                Err(e) => e,
            };
            if self.quit.load(Ordering::Acquire) {
                return Ok(Some(0));
            }
            if error.is_target_error() {
                return Err(format!("gdb session: {error}"));
            }
            if error.is_connection_error() {
                note(&format!(
                    "the debugger went away ({error}); the guest runs on"
                ));
                self.detach();
                return Ok(None);
            }
            note(&format!("bad packet ({error}): answered E01"));
            if let Err(e) = session.reply("E01") {
                note(&format!("the debugger went away ({e}); the guest runs on"));
                self.detach();
                return Ok(None);
            }
        }
    }

    /// The debugger is gone: take its breakpoints and watchpoints out (nobody would report
    /// them now; a hardware one would stop the guest for good), as QEMU does.
    fn detach(&mut self) {
        for (_, pa, bytes) in std::mem::take(&mut self.breakpoints) {
            self.write(pa, &bytes);
        }
        for (addr, len, kind) in std::mem::take(&mut self.hw_points) {
            match kind {
                None => self.hart.remove_hw_breakpoint(addr),
                Some(kind) => self.hart.remove_watchpoint(addr, len, kind),
            };
        }
        self.stepping = false;
    }

    /// Instructions the hart retired (`minstret`).
    pub fn retired(&self) -> u64 {
        self.hart
            .csr(fief_core::cpu::riscv::csr::num::MINSTRET)
            .unwrap_or(0)
    }

    /// Writes `bytes` at physical address `addr` (a debug access).
    fn write(&self, addr: u64, bytes: &[u8]) -> bool {
        self.board
            .space()
            .write_buf(GuestAddress(addr), bytes, MemTxAttrs::DEBUG)
            .is_ok()
    }

    /// The physical address of virtual `va` as the hart sees it now.
    fn translate(&self, va: u64) -> Option<u64> {
        let section = self.board.space().section()?;
        self.hart.debug_translate(&section, va)
    }

    /// Splits `[va, va + len)` at page boundaries and calls `f(physical address, offset in
    /// the buffer, length)` for each part while it returns true; gives the bytes done.
    fn per_page(&self, va: u64, len: usize, mut f: impl FnMut(u64, usize, usize) -> bool) -> usize {
        let mut done = 0;
        while done < len {
            let at = wide::<A>(word::<A>(va.wrapping_add(done as u64)));
            let n = (PAGE - (at % PAGE)).min((len - done) as u64) as usize;
            let Some(pa) = self.translate(at) else {
                break;
            };
            if !f(pa, done, n) {
                break;
            }
            done += n;
        }
        done
    }
}

impl<A: RvArch> Target for GdbHart<A> {
    type Arch = A;
    type Error = String;

    #[inline(always)]
    fn base_ops(&mut self) -> BaseOps<'_, Self::Arch, Self::Error> {
        BaseOps::SingleThread(self)
    }

    #[inline(always)]
    fn support_breakpoints(&mut self) -> Option<BreakpointsOps<'_, Self>> {
        Some(self)
    }
}

impl<A: RvArch> SingleRegisterAccess<()> for GdbHart<A> {
    fn read_register(&mut self, _: (), reg: A::RegId, buf: &mut [u8]) -> TargetResult<usize, Self> {
        let (value, size) = match A::reg(reg) {
            FdRegId::Gpr(i) => (self.hart.reg(i as usize), A::XLEN_BYTES),
            FdRegId::Pc => (self.hart.pc(), A::XLEN_BYTES),
            FdRegId::Fpr(i) => (self.hart.freg(i as usize), 8),
            FdRegId::FpCsr(n) => (self.hart.csr(n).ok_or(TargetError::NonFatal)?, 4),
        };
        let out = buf.get_mut(..size).ok_or(TargetError::NonFatal)?;
        out.copy_from_slice(&value.to_le_bytes()[..size]);
        Ok(size)
    }

    fn write_register(&mut self, _: (), reg: A::RegId, val: &[u8]) -> TargetResult<(), Self> {
        let mut bytes = [0u8; 8];
        bytes
            .get_mut(..val.len())
            .ok_or(TargetError::NonFatal)?
            .copy_from_slice(val);
        let value = u64::from_le_bytes(bytes);
        match A::reg(reg) {
            FdRegId::Gpr(0) => {}
            FdRegId::Gpr(i) => self.hart.set_reg(i as usize, value),
            FdRegId::Pc => self.hart.set_pc(value),
            FdRegId::Fpr(i) => self.hart.set_freg(i as usize, value),
            FdRegId::FpCsr(n) => self
                .hart
                .set_csr(n, value)
                .map_err(|_| TargetError::NonFatal)?,
        }
        Ok(())
    }
}

impl<A: RvArch> SingleThreadBase for GdbHart<A> {
    #[inline(always)]
    fn support_single_register_access(&mut self) -> Option<SingleRegisterAccessOps<'_, (), Self>> {
        Some(self)
    }

    fn read_registers(&mut self, regs: &mut RiscvCoreRegs<A::Usize>) -> TargetResult<(), Self> {
        for (i, x) in regs.x.iter_mut().enumerate() {
            *x = word::<A>(self.hart.reg(i));
        }
        regs.pc = word::<A>(self.hart.pc());
        Ok(())
    }

    fn write_registers(&mut self, regs: &RiscvCoreRegs<A::Usize>) -> TargetResult<(), Self> {
        for (i, &x) in regs.x.iter().enumerate().skip(1) {
            self.hart.set_reg(i, wide::<A>(x));
        }
        self.hart.set_pc(wide::<A>(regs.pc));
        Ok(())
    }

    fn read_addrs(&mut self, start: A::Usize, data: &mut [u8]) -> TargetResult<usize, Self> {
        let space = self.board.space();
        let len = data.len();
        let done = self.per_page(wide::<A>(start), len, |pa, at, n| {
            space
                .read_buf(GuestAddress(pa), &mut data[at..at + n], MemTxAttrs::DEBUG)
                .is_ok()
        });
        // As QEMU's stub: a read that reaches an unmapped page is an error as a whole.
        if done == len {
            Ok(done)
        } else {
            Err(TargetError::NonFatal)
        }
    }

    fn write_addrs(&mut self, start: A::Usize, data: &[u8]) -> TargetResult<(), Self> {
        let done = self.per_page(wide::<A>(start), data.len(), |pa, at, n| {
            self.write(pa, &data[at..at + n])
        });
        if done == data.len() {
            Ok(())
        } else {
            Err(TargetError::NonFatal)
        }
    }

    #[inline(always)]
    fn support_resume(&mut self) -> Option<SingleThreadResumeOps<'_, Self>> {
        Some(self)
    }
}

impl<A: RvArch> SingleThreadResume for GdbHart<A> {
    fn resume(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        if signal.is_some() {
            return Err("continuing with a signal is not supported".into());
        }
        self.stepping = false;
        Ok(())
    }

    #[inline(always)]
    fn support_single_step(&mut self) -> Option<SingleThreadSingleStepOps<'_, Self>> {
        Some(self)
    }
}

impl<A: RvArch> SingleThreadSingleStep for GdbHart<A> {
    fn step(&mut self, signal: Option<Signal>) -> Result<(), Self::Error> {
        if signal.is_some() {
            return Err("stepping with a signal is not supported".into());
        }
        self.stepping = true;
        Ok(())
    }
}

impl<A: RvArch> Breakpoints for GdbHart<A> {
    #[inline(always)]
    fn support_sw_breakpoint(&mut self) -> Option<SwBreakpointOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_hw_breakpoint(&mut self) -> Option<HwBreakpointOps<'_, Self>> {
        Some(self)
    }

    #[inline(always)]
    fn support_hw_watchpoint(&mut self) -> Option<HwWatchpointOps<'_, Self>> {
        Some(self)
    }
}

impl<A: RvArch> HwBreakpoint for GdbHart<A> {
    fn add_hw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        let addr = wide::<A>(addr);
        let added = self.hart.add_hw_breakpoint(addr);
        if added {
            self.hw_points.push((addr, 1, None));
        }
        Ok(added)
    }

    fn remove_hw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        let addr = wide::<A>(addr);
        let point = (addr, 1, None);
        self.hw_points.retain(|p| *p != point);
        Ok(self.hart.remove_hw_breakpoint(addr))
    }
}

fn watch_kind(kind: GdbWatchKind) -> WatchKind {
    match kind {
        GdbWatchKind::Write => WatchKind::Write,
        GdbWatchKind::Read => WatchKind::Read,
        GdbWatchKind::ReadWrite => WatchKind::Access,
    }
}

impl<A: RvArch> HwWatchpoint for GdbHart<A> {
    fn add_hw_watchpoint(
        &mut self,
        addr: A::Usize,
        len: A::Usize,
        kind: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let (addr, len) = (wide::<A>(addr), wide::<A>(len));
        let kind = watch_kind(kind);
        let added = self.hart.add_watchpoint(addr, len, kind);
        if added {
            self.hw_points.push((addr, len, Some(kind)));
        }
        Ok(added)
    }

    fn remove_hw_watchpoint(
        &mut self,
        addr: A::Usize,
        len: A::Usize,
        kind: GdbWatchKind,
    ) -> TargetResult<bool, Self> {
        let (addr, len) = (wide::<A>(addr), wide::<A>(len));
        let kind = watch_kind(kind);
        if let Some(i) = self
            .hw_points
            .iter()
            .position(|p| *p == (addr, len, Some(kind)))
        {
            self.hw_points.swap_remove(i);
        }
        Ok(self.hart.remove_watchpoint(addr, len, kind))
    }
}

impl<A: RvArch> SwBreakpoint for GdbHart<A> {
    fn add_sw_breakpoint(&mut self, addr: A::Usize, kind: usize) -> TargetResult<bool, Self> {
        let addr = wide::<A>(addr);
        if self.breakpoints.iter().any(|b| b.0 == addr) {
            return Ok(true);
        }
        let insn: &[u8] = if kind == 2 { &C_EBREAK } else { &EBREAK };
        let mut saved = vec![0u8; insn.len()];
        let space = self.board.space();
        let Some(pa) = self.translate(addr) else {
            return Ok(false);
        };
        if !space
            .read_buf(GuestAddress(pa), &mut saved, MemTxAttrs::DEBUG)
            .is_ok()
            || !self.write(pa, insn)
        {
            return Ok(false);
        }
        self.breakpoints.push((addr, pa, saved));
        Ok(true)
    }

    fn remove_sw_breakpoint(&mut self, addr: A::Usize, _kind: usize) -> TargetResult<bool, Self> {
        let addr = wide::<A>(addr);
        let Some(i) = self.breakpoints.iter().position(|b| b.0 == addr) else {
            return Ok(false);
        };
        let (_, pa, saved) = self.breakpoints.swap_remove(i);
        Ok(self.write(pa, &saved))
    }
}

/// Runs the guest for the stub between the debugger's commands.
struct EventLoop<A>(std::marker::PhantomData<A>);

impl<A: RvArch> run_blocking::BlockingEventLoop for EventLoop<A> {
    type Target = GdbHart<A>;
    type Connection = Framed;
    type StopReason = SingleThreadStopReason<A::Usize>;

    fn wait_for_stop_reason(
        target: &mut Self::Target,
        conn: &mut Self::Connection,
    ) -> Result<
        run_blocking::Event<Self::StopReason>,
        run_blocking::WaitForStopReasonError<String, io::Error>,
    > {
        let stopped = |s: Stop| {
            run_blocking::Event::TargetStopped(match s {
                Stop::Breakpoint => SingleThreadStopReason::SwBreak(()),
                Stop::HwBreakpoint => SingleThreadStopReason::HwBreak(()),
                Stop::Watch(addr, kind) => SingleThreadStopReason::Watch {
                    tid: (),
                    kind: match kind {
                        WatchKind::Write => GdbWatchKind::Write,
                        WatchKind::Read => GdbWatchKind::Read,
                        WatchKind::Access => GdbWatchKind::ReadWrite,
                    },
                    addr: word::<A>(addr),
                },
                Stop::Finished(code) => SingleThreadStopReason::Exited(code),
                Stop::Quit => SingleThreadStopReason::Exited(0),
            })
        };
        if target.stepping {
            return Ok(match target.run(1) {
                Some(s) => stopped(s),
                None => run_blocking::Event::TargetStopped(SingleThreadStopReason::DoneStep),
            });
        }
        loop {
            if conn.peek().map(|b| b.is_some()).unwrap_or(true) {
                let byte = conn
                    .read()
                    .map_err(run_blocking::WaitForStopReasonError::Connection)?;
                return Ok(run_blocking::Event::IncomingData(byte));
            }
            if let Some(s) = target.run(SLICE) {
                return Ok(stopped(s));
            }
        }
    }

    fn on_interrupt(
        _target: &mut Self::Target,
    ) -> Result<Option<Self::StopReason>, <Self::Target as Target>::Error> {
        // The guest runs on this thread, so it is already stopped here.
        Ok(Some(SingleThreadStopReason::Signal(Signal::SIGINT)))
    }
}
