//! The hart threads of `fief run`: one round of them per boot (`run_harts`), each hart's
//! loop of time slices (`hart_loop`: pin a read section, set `time`, run, update the CLINT,
//! check the finisher and the stop flag), waiting in `wfi` (`wait_for_interrupt`), the
//! `--trace insn` single-stepper, and hart 0 under a debugger on the gdb thread.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use fief_boards::finisher::Finish;
use fief_boards::virt::{Boot, Virt};
use fief_core::cpu::riscv::{csr, decode, decode_compressed, Exit, Hart, Priv, Xlen};
use fief_core::cpu::Bus;
use fief_core::memory::{AccessSize, MemTxAttrs};

use fief_host::jit::Jit;

use super::{Accel, RunArgs, Trace, SLICE};
use crate::gdb;
use crate::gdb_arch::{Riscv32Fd, Riscv64Fd, RvArch};
use fief_host::dma_workers::Activity;

/// What one round of hart threads runs with.
pub(super) struct RunHarts<'r> {
    pub(super) board: &'static Virt<'static>,
    pub(super) boot: &'r Boot,
    pub(super) args: &'r RunArgs,
    pub(super) quit: &'static AtomicBool,
    pub(super) limit_hit: &'r AtomicBool,
    pub(super) retired: &'r AtomicU64,
    pub(super) used: &'r [AtomicU64],
    pub(super) listener: Option<&'r TcpListener>,
    /// What the DMA workers signal after each step (a hart in `wfi` waits on it).
    pub(super) activity: &'static Activity,
    /// The execution tier.
    pub(super) accel: Accel,
    /// The first round (not after a reset).
    pub(super) first: bool,
}

/// Runs one hart thread per hart (hart 0 on the gdb thread with a debugger) until the
/// guest finishes, resets or the run is stopped.
pub(super) fn run_harts(r: RunHarts<'_>) {
    let RunHarts {
        board,
        boot,
        args,
        quit,
        limit_hit,
        retired,
        used,
        listener,
        activity,
        first,
        accel,
    } = r;
    let devices = board.devices;
    let trace = |t: Trace| args.trace.contains(&t);
    let harts: Vec<Hart<'static>> = (0..board.harts)
        .filter_map(|i| board.hart(i, boot.entry, boot.dtb_addr))
        .collect();
    std::thread::scope(|scope| {
        for hart in harts {
            let index = hart.hart_id() as usize;
            let stop_all = move || {
                quit.store(true, Ordering::Release);
                devices.harts.stop_all();
            };
            let (trace_exits, trace_insns) = (trace(Trace::Exits), trace(Trace::Insn));
            let max = args
                .max_insns
                .map(|m| m.saturating_sub(used[index].load(Ordering::Relaxed)));
            // `-S` holds the first start only: after a reset the guest runs on.
            let freeze = args.freeze && first;
            // With a debugger, this hart runs on the gdb thread: its end ends the run
            // (unless the guest asked for a reset). That thread gets a roomy stack: the
            // hart (its block cache is ~120 KiB) is moved into the stub's target, and debug
            // builds copy it a few times on the way.
            let gdb = if index == 0 { listener } else { None };
            let name = match gdb {
                Some(_) => "gdb".to_string(),
                None => format!("hart{index}"),
            };
            // The other harts get 8 MiB (address space: only what is touched is resident);
            // 2 MiB overflowed in a ThreadSanitizer build (scripts/tsan), unoptimized.
            let stack = if gdb.is_some() { 32 << 20 } else { 8 << 20 };
            let spawned = std::thread::Builder::new()
                .name(name.clone())
                .stack_size(stack)
                .spawn_scoped(scope, move || {
                    let (n, stop) = match gdb {
                        Some(listener) => {
                            let n = gdb_thread(board, hart, quit, listener, freeze);
                            (n, board.finish() != Some(Finish::Reset))
                        }
                        None => {
                            let (n, limit) = hart_loop(
                                board,
                                hart,
                                quit,
                                activity,
                                max,
                                accel,
                                (trace_exits, trace_insns),
                            );
                            if limit {
                                limit_hit.store(true, Ordering::Release);
                            }
                            (n, limit)
                        }
                    };
                    retired.fetch_add(n, Ordering::Relaxed);
                    used[index].fetch_add(n, Ordering::Relaxed);
                    if stop {
                        stop_all();
                    }
                });
            if let Err(e) = spawned {
                eprintln!("fief: cannot start the {name} thread: {e}");
                stop_all();
            }
        }
    });
}

/// The process exit status for how the guest finished: pass and reset 0, a failure its
/// code (at most 255).
pub fn exit_status(finish: Finish) -> u8 {
    match finish {
        Finish::Fail(code) => code.min(255) as u8,
        Finish::Pass | Finish::Reset => 0,
    }
}

/// The gdb thread's body: `hart` under [`gdb_loop`]; returns the instructions it retired.
/// Out of line, so that the hart threads' frames do not carry the stub's target.
#[inline(never)]
fn gdb_thread(
    board: &'static Virt<'static>,
    hart: Hart<'static>,
    quit: &'static AtomicBool,
    listener: &TcpListener,
    freeze: bool,
) -> u64 {
    match board.spec.xlen {
        Xlen::Rv32 => gdb_session::<Riscv32Fd>(board, hart, quit, listener, freeze),
        Xlen::Rv64 => gdb_session::<Riscv64Fd>(board, hart, quit, listener, freeze),
    }
}

/// [`gdb_thread`] with the registers of XLEN `A`.
fn gdb_session<A: RvArch>(
    board: &'static Virt<'static>,
    hart: Hart<'static>,
    quit: &'static AtomicBool,
    listener: &TcpListener,
    freeze: bool,
) -> u64 {
    let mut target = gdb::GdbHart::<A>::new(board, hart, quit);
    if let Err(e) = gdb_loop(&mut target, listener, freeze, quit) {
        eprintln!("fief: {e}");
    }
    target.retired()
}

/// The gdb thread: runs hart 0 (waiting for the debugger first with `freeze`), serves
/// each debugger that connects, and lets the guest run on between them; returns when the
/// guest ends or the emulator stops.
fn gdb_loop<A: RvArch>(
    target: &mut gdb::GdbHart<A>,
    listener: &TcpListener,
    freeze: bool,
    quit: &AtomicBool,
) -> Result<(), String> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut next = None;
    if freeze {
        eprintln!("fief: gdb server on {addr}, waiting for the debugger");
        // Ctrl-A x and the monitor's `quit` end the wait.
        match fief_host::gdb_conn::accept(listener, quit)? {
            Some(conn) => next = Some(conn),
            None => return Ok(()),
        }
    } else {
        eprintln!("fief: gdb server on {addr}");
    }
    listener
        .set_nonblocking(true)
        .map_err(|e| format!("gdb: {e}"))?;
    loop {
        let conn = match next.take() {
            Some(conn) => conn,
            None => {
                let mut attached = None;
                let ended = target.run_until(|| match listener.accept() {
                    Ok((conn, _)) => {
                        attached = Some(conn);
                        true
                    }
                    Err(_) => false,
                });
                if ended.is_some() {
                    return Ok(());
                }
                match attached {
                    Some(conn) => conn,
                    None => continue,
                }
            }
        };
        if target.serve(conn)?.is_some() {
            return Ok(());
        }
    }
}

/// One hart's thread (`accel` picks its tier; the flags are `--trace exits` and `--trace insn`);
/// returns (instructions retired, whether the limit stopped it).
fn hart_loop(
    board: &Virt<'static>,
    mut hart: Hart<'static>,
    quit: &AtomicBool,
    activity: &Activity,
    max: Option<u64>,
    accel: Accel,
    (trace, trace_insns): (bool, bool),
) -> (u64, bool) {
    let mut jit = match accel {
        Accel::Tcg(mib, hot) => match Jit::new(hart.xlen(), mib) {
            Ok(jit) => Some(jit.with_hot_runs(hot)),
            Err(e) => {
                eprintln!(
                    "fief: hart {}: -accel tcg: {e}; running the interpreter",
                    hart.hart_id()
                );
                None
            }
        },
        Accel::Interp => None,
    };
    let clint = &board.devices.clint;
    let space = board.space();
    let mut executed = 0u64;
    let limit = max.unwrap_or(u64::MAX);
    let report = |jit: &Option<Jit>, hart: &Hart<'static>| {
        if trace {
            eprintln!(
                "fief: trace: hart {} blocks: {} decoded; code epoch {}",
                hart.hart_id(),
                hart.blocks_decoded(),
                hart.code_epoch()
            );
        }
        if let (Some(jit), true) = (jit, trace) {
            let s = jit.stats();
            eprintln!(
                "fief: trace: hart {} tcg: {} blocks translated ({} bytes, {:.1} us each), \
                 {} declined, {} reused, {} runs in translated code; {}",
                hart.hart_id(),
                s.translated,
                s.code_bytes,
                s.compile_ns as f64 / 1e3 / (s.translated + s.declined).max(1) as f64,
                s.declined,
                s.reused,
                s.runs,
                s.exits_line()
            );
        }
    };
    loop {
        if quit.load(Ordering::Acquire) || board.finish().is_some() {
            report(&jit, &hart);
            return (executed, false);
        }
        if executed >= limit {
            report(&jit, &hart);
            return (executed, true);
        }
        let budget = SLICE.min(limit - executed);
        let before = hart.csr(csr::num::MINSTRET).unwrap_or(0);
        hart.set_time(clint.mtime());
        let exit = match space.section() {
            Some(section) if trace_insns => traced_run(&mut hart, &section, budget),
            Some(section) => match jit.as_mut() {
                Some(jit) => hart.run_with(&section, budget, jit),
                None => hart.run(&section, budget),
            },
            None => return (executed, false),
        };
        clint.update();
        board.devices.rtc.update();
        executed += match exit {
            Exit::BudgetExhausted => budget,
            _ => hart
                .csr(csr::num::MINSTRET)
                .unwrap_or(0)
                .wrapping_sub(before)
                .min(budget),
        };
        if trace && exit != Exit::BudgetExhausted {
            eprintln!(
                "fief: trace: hart {} exit {exit:?} at pc {:#x}",
                hart.hart_id(),
                hart.pc()
            );
        }
        match exit {
            Exit::Wfi => {
                executed += wait_for_interrupt(board, &hart, quit, activity, limit - executed)
            }
            Exit::Breakpoint(pc) => {
                eprintln!("fief: hart {} stopped at ebreak {pc:#x}", hart.hart_id());
                return (executed, false);
            }
            Exit::Stopped | Exit::BudgetExhausted => {}
        }
    }
}

/// `hart.run(bus, budget)` one instruction at a time, printing each retired instruction and
/// each trap on standard error (`--trace insn`). An instruction counts as retired when
/// `minstret` moved (so nothing shows while `mcountinhibit` stops it).
fn traced_run<B: Bus + ?Sized>(hart: &mut Hart<'static>, bus: &B, budget: u64) -> Exit {
    let id = hart.hart_id();
    let minstret = |h: &Hart<'static>| h.csr(csr::num::MINSTRET).unwrap_or(0);
    for _ in 0..budget {
        let (pc, retired, traps) = (hart.pc(), minstret(hart), hart.last_trap().count);
        // Whether the instruction's bits can be shown: read only untranslated RAM or ROM,
        // so that tracing never reads a device.
        let untranslated = hart.privilege() == Priv::Machine || satp_bare(hart);
        let exit = hart.run(bus, 1);
        let trap = hart.last_trap();
        let mut at = pc;
        if trap.count != traps {
            let kind = if trap.is_interrupt(hart.xlen()) {
                "interrupt"
            } else {
                "exception"
            };
            eprintln!(
                "fief: trace: hart {id}: {kind} cause {:#x} at {:#x}, tval {:#x} -> {:?} handler {:#x}",
                trap.cause, trap.epc, trap.tval, trap.to, trap.handler
            );
            // After an interrupt, the step ran the handler's first instruction.
            at = trap.handler;
        }
        if minstret(hart) != retired {
            // The handler's first instruction runs at the privilege the trap went to.
            let plain = if trap.count != traps {
                trap.to == Priv::Machine || satp_bare(hart)
            } else {
                untranslated
            };
            let shown = if plain {
                describe(bus, hart.xlen(), at)
            } else {
                None
            };
            eprintln!(
                "fief: trace: hart {id}: {at:#010x}: {}",
                shown.unwrap_or_else(|| "(bits not shown)".to_string())
            );
        }
        if exit != Exit::BudgetExhausted {
            return exit;
        }
    }
    Exit::BudgetExhausted
}

/// Whether `satp.MODE` is Bare (bit 31 on RV32, bits 63:60 on RV64).
fn satp_bare(hart: &Hart<'static>) -> bool {
    let satp = hart.csr(csr::num::SATP).unwrap_or(0);
    match hart.xlen() {
        Xlen::Rv32 => satp >> 31 == 0,
        Xlen::Rv64 => satp >> 60 == 0,
    }
}

/// The instruction at physical `pc` as `bits  op rd rs1 rs2 imm`, if RAM or ROM holds it.
fn describe<B: Bus + ?Sized>(bus: &B, xlen: Xlen, pc: u64) -> Option<String> {
    let half = |a: u64| -> Option<u32> {
        bus.host_page(a & !0xfff, 0x1000)?;
        let (v, r) = bus.read(a, AccessSize::Half, MemTxAttrs::DEBUG);
        r.is_ok().then_some(v as u32)
    };
    let lo = half(pc)?;
    let (bits, insn) = if lo & 3 == 3 {
        let raw = lo | half(pc + 2)? << 16;
        (format!("{raw:08x}"), decode(raw, xlen))
    } else {
        (format!("{lo:04x}    "), decode_compressed(lo as u16, xlen))
    };
    Some(format!(
        "{bits}  {:?} rd=x{} rs1=x{} rs2=x{} imm={:#x}",
        insn.op,
        insn.rd_arch(),
        insn.rs1,
        insn.rs2,
        insn.imm
    ))
}

/// Sleeps until one of the hart's enabled interrupts is pending (or a stop), or until it
/// has waited `most` ticks of `mtime`; returns the ticks it waited (at most `most`), which
/// `--max-insns` counts as instructions (so a hart that waits forever still ends).
///
/// Each nap ends at the next timer deadline, after 1 ms (interrupts from the console and
/// the monitor are seen then), or as soon as a DMA worker finishes a step (`activity`): a
/// virtio completion's interrupt wakes the hart at once.
fn wait_for_interrupt(
    board: &Virt<'static>,
    hart: &Hart<'static>,
    quit: &AtomicBool,
    activity: &Activity,
    most: u64,
) -> u64 {
    let clint = &board.devices.clint;
    let mie = hart.csr(csr::num::MIE).unwrap_or(0) as u32;
    let start = clint.mtime();
    loop {
        let seen = activity.generation();
        clint.update();
        board.devices.rtc.update();
        let waited = clint.mtime().saturating_sub(start);
        // The hart's own timer (Sstc's `stimecmp`) fired: run it so that it sees STIP.
        let own_timer = hart.timer_deadline().is_some_and(|d| clint.mtime() >= d);
        if hart.irqs().pending() & mie != 0
            || own_timer
            || quit.load(Ordering::Acquire)
            || board.finish().is_some()
            || waited >= most
        {
            return waited.min(most);
        }
        let mut nap =
            Duration::from_millis(1).min(Duration::from_nanos((most - waited).saturating_mul(100)));
        for deadline in [clint.next_deadline(), hart.timer_deadline()]
            .into_iter()
            .flatten()
        {
            let ticks = deadline.saturating_sub(clint.mtime());
            nap = nap.min(Duration::from_nanos(ticks.saturating_mul(100)));
        }
        activity.wait(seen, nap);
    }
}
