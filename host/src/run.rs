//! `fief run`: builds a `virt32` board on the host and runs it.
//!
//! * Guest RAM is an anonymous mmap, leaked for the life of the process.
//! * One thread per hart. Each loop: pin a read section, set the hart's `time` from the
//!   CLINT, `run` one slice, drop the section, update the CLINT's timer outputs (so MTIP is
//!   raised at slice boundaries, never polled per instruction), then check the finisher and
//!   the stop flag. A hart in `wfi` sleeps until one of its enabled interrupts is pending,
//!   waking at the CLINT's next deadline (or every millisecond, to see interrupts other
//!   threads raise).
//! * The console on its own thread ([`crate::console`]); `Ctrl-A c` toggles it into the
//!   monitor ([`fief_host::monitor`]), which `--monitor unix:PATH` also serves on a socket.
//! * [`DMA_WORKERS`] DMA worker threads ([`fief_host::dma_workers`]) run the DMA engine's
//!   transfers beside the harts; the engine's `START` rings their doorbell.
//! * With `-s`/`--gdb`, hart 0 runs on a `gdb` thread instead, under the debugger's
//!   control between its commands ([`crate::gdb`]); `--trace insn` single-steps the harts.
//! * Exit status: the finisher's (pass 0, fail its code), 0 after `Ctrl-A x`, 1 when the
//!   instruction limit stops the run.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use fief_boards::clint::Clock;
use fief_boards::finisher::Finish;
use fief_boards::virt32::{Image, Virt32, Virt32Devices, MAX_HARTS, RAM_MAX};
use fief_core::cpu::riscv::{csr, decode, decode_compressed, Exit, Hart, Priv, Xlen};
use fief_core::cpu::Bus;
use fief_core::memory::{AccessSize, MemTxAttrs, RamBlock};

use fief_host::dma_workers::DmaWorkers;
use fief_host::monitor::{self, Monitor};

use crate::console::{self, RawMode, Serial};
use crate::gdb;

/// Instructions per time slice of a hart thread.
pub const SLICE: u64 = 10_000;
/// The bundled demo firmware (built from `host/firmware/demo.S`).
pub const DEMO_FIRMWARE: &[u8] = include_bytes!("../firmware/demo.elf");
/// DMA worker threads.
pub const DMA_WORKERS: usize = 2;
/// Room for the device tree.
const DTB_CAPACITY: usize = 64 * 1024;

/// What to trace on standard error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Trace {
    /// Where the images and the device tree went, and where the harts start.
    Boot,
    /// Every hart exit from a slice other than a used-up budget (wfi, stop, breakpoint).
    Exits,
    /// The finisher write and how the run ended.
    Finish,
    /// Every instruction retired (hart, `pc`, and, where the `pc` is untranslated RAM or
    /// ROM, the bits and the decoded operation) and every trap taken (cause, `xepc`,
    /// `xtval`, the handler). The harts then run one instruction at a time: slow.
    Insn,
}

/// Options shared by every command that builds a board.
#[derive(Clone, Debug, clap::Args)]
pub struct BoardArgs {
    /// The board.
    #[arg(short = 'M', long = "machine", default_value = "virt32")]
    pub machine: String,
    /// RAM size: a number with an optional K, M or G suffix (no suffix: MiB, as QEMU).
    #[arg(short = 'm', long = "memory", default_value = "128M")]
    pub memory: String,
    /// Harts.
    #[arg(long = "smp", default_value_t = 1)]
    pub smp: usize,
}

/// `fief run`'s options.
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub board: BoardArgs,
    /// The kernel: an ELF executable, or a raw binary named *.bin, *.img or *.raw.
    /// Without --kernel and --bios, the bundled demo firmware runs.
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// Firmware at the RAM base (the kernel then goes at RAM base + 4 MiB), or `none`
    /// (the default): the kernel is entered directly.
    #[arg(long, default_value = "none")]
    pub bios: String,
    /// Where the UART's output goes: stdio, null or file:PATH.
    #[arg(long, default_value = "stdio")]
    pub serial: String,
    /// Stop each hart after about this many instructions.
    #[arg(long = "max-insns")]
    pub max_insns: Option<u64>,
    /// What to trace on standard error (comma-separated).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub trace: Vec<Trace>,
    /// Accepted for QEMU compatibility (the console is always on standard I/O).
    #[arg(long)]
    pub nographic: bool,
    /// Also serve the monitor on a Unix socket: `unix:PATH` (the console's `Ctrl-A c`
    /// reaches it always).
    #[arg(long)]
    pub monitor: Option<String>,
    /// Serve hart 0 to gdb: `tcp::PORT` (QEMU's `-gdb`).
    #[arg(long)]
    pub gdb: Option<String>,
    /// Serve hart 0 to gdb on TCP port 1234 (QEMU's `-s`).
    #[arg(short = 's')]
    pub gdb_default: bool,
    /// With a gdb server: wait for the debugger's first continue before running (QEMU's
    /// `-S`).
    #[arg(short = 'S')]
    pub freeze: bool,
}

impl RunArgs {
    /// `fief run` with every default: the bundled demo.
    pub fn demo() -> RunArgs {
        RunArgs {
            board: BoardArgs {
                machine: "virt32".into(),
                memory: "128M".into(),
                smp: 1,
            },
            kernel: None,
            bios: "none".into(),
            serial: "stdio".into(),
            max_insns: None,
            trace: Vec::new(),
            nographic: false,
            monitor: None,
            gdb: None,
            gdb_default: false,
            freeze: false,
        }
    }
}

/// Parses a QEMU-style size: `128M`, `1G`, `65536K`, `64` (MiB).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        Some((i, 'b' | 'B')) => (&t[..i], 0),
        _ => (t, 20),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("bad memory size '{text}' (use e.g. 128M or 1G)"))?;
    let bytes = n
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("memory size '{text}' is too large"))?;
    if bytes == 0 {
        return Err(format!("memory size '{text}' is zero"));
    }
    if bytes > RAM_MAX {
        return Err(format!(
            "memory size '{text}' is too large: virt32 takes at most {} MiB",
            RAM_MAX >> 20
        ));
    }
    Ok(bytes)
}

/// A built board and what backs it, all leaked for the life of the process.
pub struct Built {
    /// The board.
    pub board: Virt32<'static>,
    /// Its devices.
    pub devices: &'static Virt32Devices<'static>,
}

/// Checks the board options and builds the board.
pub fn build(args: &BoardArgs) -> Result<Built, String> {
    if args.machine != "virt32" {
        return Err(format!(
            "unknown machine '{}' (available: virt32)",
            args.machine
        ));
    }
    let size = parse_size(&args.memory)?;
    if args.smp == 0 || args.smp > MAX_HARTS {
        return Err(format!(
            "--smp {}: virt32 takes 1 to {MAX_HARTS} harts",
            args.smp
        ));
    }
    let len = usize::try_from(size).map_err(|_| "memory size too large for this host")?;
    let map = memmap2::MmapMut::map_anon(len)
        .map_err(|e| format!("cannot map {} MiB of guest RAM: {e}", size >> 20))?;
    let map: &'static mut memmap2::MmapMut = Box::leak(Box::new(map));
    let ptr = NonNull::new(map.as_mut_ptr()).ok_or("mmap returned a null pointer")?;
    // SAFETY: the mapping is `len` bytes, readable and writable, and leaked, so it lives for
    // `'static`; nothing else touches it through a Rust reference (the `MmapMut` is leaked
    // and never used again), only the board's RAM region does.
    let ram = unsafe { RamBlock::from_raw_parts(ptr, len) };
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let board = Virt32::build(devices, ram, args.smp).map_err(|e| e.to_string())?;
    Ok(Built { board, devices })
}

/// Reads a guest image: ELF by its magic, raw by its name.
fn read_image(path: &Path, what: &str) -> Result<(Vec<u8>, bool), String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read {what} '{}': {e}", path.display()))?;
    if bytes.starts_with(b"\x7fELF") {
        return Ok((bytes, true));
    }
    let raw = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "bin" | "img" | "raw"));
    if raw {
        Ok((bytes, false))
    } else {
        Err(format!(
            "{what} '{}' is not an ELF file (a raw binary needs a .bin, .img or .raw name)",
            path.display()
        ))
    }
}

fn image(bytes: &(Vec<u8>, bool)) -> Image<'_> {
    if bytes.1 {
        Image::Elf(&bytes.0)
    } else {
        Image::Raw(&bytes.0)
    }
}

/// The host's monotonic clock at the 10 MHz timebase.
struct HostClock(Instant);

impl Clock for HostClock {
    fn now(&self) -> u64 {
        (self.0.elapsed().as_nanos() / 100) as u64
    }
}

/// Runs a board; returns the process exit status.
pub fn run(args: &RunArgs) -> Result<u8, String> {
    let socket = match args.monitor.as_deref() {
        None | Some("stdio") | Some("none") => None,
        Some(spec) => match spec.strip_prefix("unix:") {
            Some(path) if !path.is_empty() => Some(path.to_string()),
            _ => return Err(format!("unknown monitor backend '{spec}' (use unix:PATH)")),
        },
    };
    let gdb_spec = match (&args.gdb, args.gdb_default) {
        (Some(spec), _) => Some(spec.clone()),
        (None, true) => Some("tcp::1234".to_string()),
        (None, false) => None,
    };
    if args.freeze && gdb_spec.is_none() {
        return Err("-S waits for a debugger: give -s or --gdb tcp::PORT too".to_string());
    }
    if gdb_spec.is_some() && args.board.smp != 1 {
        return Err("the gdb stub serves one hart: use --smp 1".to_string());
    }
    let mut listener = gdb_spec.as_deref().map(gdb::listen).transpose()?;
    let Built { board, devices } = build(&args.board)?;
    let board: &'static Virt32<'static> = Box::leak(Box::new(board));
    let bios = match args.bios.as_str() {
        "none" => None,
        path => Some(read_image(Path::new(path), "firmware")?),
    };
    let kernel = match &args.kernel {
        Some(path) => Some(read_image(path, "kernel")?),
        None if bios.is_none() => Some((DEMO_FIRMWARE.to_vec(), true)),
        None => None,
    };
    let mut dtb = vec![0u8; DTB_CAPACITY];
    let len = board.write_dtb(&mut dtb).map_err(|e| e.to_string())?;
    dtb.truncate(len);
    let boot = board
        .boot(bios.as_ref().map(image), kernel.as_ref().map(image), &dtb)
        .map_err(|e| e.to_string())?;
    let trace = |t: Trace| args.trace.contains(&t);
    if trace(Trace::Boot) {
        eprintln!(
            "fief: trace: boot: entry {:#x}, device tree at {:#x} ({len} bytes), kernel entry {}",
            boot.entry,
            boot.dtb_addr,
            boot.kernel_entry
                .map_or("-".to_string(), |k| format!("{k:#x}"))
        );
    }

    let serial: &'static Serial = Box::leak(Box::new(Serial::open(&args.serial)?));
    devices.uart.set_sink(serial);
    let clock: &'static HostClock = Box::leak(Box::new(HostClock(Instant::now())));
    devices.clint.set_clock(clock);

    let quit: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let limit_hit = AtomicBool::new(false);
    let workers = DmaWorkers::spawn(DMA_WORKERS, move |c, n| board.dma_step(c, n))?;
    devices.dma.set_doorbell(workers.doorbell());
    let monitor: &'static Monitor =
        Box::leak(Box::new(Monitor::new(board, Some(serial), move || {
            quit.store(true, Ordering::Release);
            devices.harts.stop_all();
        })));
    if let Some(path) = &socket {
        monitor::serve_unix(monitor, path)?;
    }
    let raw = if matches!(serial, Serial::Stdio) {
        let raw = RawMode::enter();
        console::spawn_stdin(&devices.uart, quit, Some(monitor), move || {
            devices.harts.stop_all()
        });
        raw
    } else {
        None
    };

    let harts: Vec<Hart<'static>> = (0..board.harts)
        .filter_map(|i| board.hart(i, boot.entry, boot.dtb_addr))
        .collect();
    let retired = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for hart in harts {
            let (quit, limit_hit, retired) = (quit, &limit_hit, &retired);
            let stop_all = move || {
                quit.store(true, Ordering::Release);
                devices.harts.stop_all();
            };
            let (trace_exits, trace_insns) = (trace(Trace::Exits), trace(Trace::Insn));
            let (max, freeze) = (args.max_insns, args.freeze);
            // With a debugger, this hart runs on the gdb thread: its end ends the run. That
            // thread gets a roomy stack: the hart (its block cache is ~120 KiB) is moved
            // into the stub's target, and debug builds copy it a few times on the way.
            let gdb = listener.take();
            let name = match gdb {
                Some(_) => "gdb".to_string(),
                None => format!("hart{}", hart.hart_id()),
            };
            let stack = if gdb.is_some() { 32 << 20 } else { 2 << 20 };
            let spawned = std::thread::Builder::new()
                .name(name.clone())
                .stack_size(stack)
                .spawn_scoped(scope, move || {
                    let (n, stop) = match gdb {
                        Some(listener) => (gdb_thread(board, hart, quit, &listener, freeze), true),
                        None => {
                            let (n, limit) =
                                hart_loop(board, hart, quit, max, trace_exits, trace_insns);
                            if limit {
                                limit_hit.store(true, Ordering::Release);
                            }
                            (n, limit)
                        }
                    };
                    retired.fetch_add(n, Ordering::Relaxed);
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
    drop(workers);
    drop(raw);
    if let Some(path) = &socket {
        let _ = std::fs::remove_file(path);
    }
    let finish = board.finish();
    if trace(Trace::Finish) {
        eprintln!(
            "fief: trace: finish: {finish:?} after {} instructions",
            retired.load(Ordering::Relaxed)
        );
    }
    Ok(match finish {
        Some(f @ Finish::Fail(code)) => {
            eprintln!("fief: the guest failed with code {code}");
            exit_status(f)
        }
        Some(f) => exit_status(f),
        None if limit_hit.load(Ordering::Acquire) => {
            eprintln!(
                "fief: instruction limit reached ({} per hart)",
                args.max_insns.unwrap_or(0)
            );
            1
        }
        None => 0,
    })
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
    board: &'static Virt32<'static>,
    hart: Hart<'static>,
    quit: &'static AtomicBool,
    listener: &TcpListener,
    freeze: bool,
) -> u64 {
    let mut target = gdb::GdbHart::new(board, hart, quit);
    if let Err(e) = gdb_loop(&mut target, listener, freeze) {
        eprintln!("fief: {e}");
    }
    target.retired()
}

/// The gdb thread: runs hart 0 (waiting for the debugger first with `freeze`), serves
/// each debugger that connects, and lets the guest run on between them; returns when the
/// guest ends or the emulator stops.
fn gdb_loop(target: &mut gdb::GdbHart, listener: &TcpListener, freeze: bool) -> Result<(), String> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.to_string());
    let mut next = None;
    if freeze {
        eprintln!("fief: gdb server on {addr}, waiting for the debugger");
        next = Some(listener.accept().map_err(|e| format!("gdb: {e}"))?.0);
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
        conn.set_nonblocking(false)
            .map_err(|e| format!("gdb: {e}"))?;
        let _ = conn.set_nodelay(true);
        if target.serve(conn)?.is_some() {
            return Ok(());
        }
    }
}

/// One hart's thread; returns (instructions retired, whether the limit stopped it).
fn hart_loop(
    board: &Virt32<'static>,
    mut hart: Hart<'static>,
    quit: &AtomicBool,
    max: Option<u64>,
    trace: bool,
    trace_insns: bool,
) -> (u64, bool) {
    let clint = &board.devices.clint;
    let space = board.space();
    let mut executed = 0u64;
    let limit = max.unwrap_or(u64::MAX);
    loop {
        if quit.load(Ordering::Acquire) || board.finish().is_some() {
            return (executed, false);
        }
        if executed >= limit {
            return (executed, true);
        }
        let budget = SLICE.min(limit - executed);
        let before = hart.csr(csr::num::MINSTRET).unwrap_or(0);
        hart.set_time(clint.mtime());
        let exit = match space.section() {
            Some(section) if trace_insns => traced_run(&mut hart, &section, budget),
            Some(section) => hart.run(&section, budget),
            None => return (executed, false),
        };
        clint.update();
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
            Exit::Wfi => wait_for_interrupt(board, &hart, quit),
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
        let untranslated =
            hart.privilege() == Priv::Machine || hart.csr(csr::num::SATP).unwrap_or(0) >> 31 == 0;
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
                trap.to == Priv::Machine || hart.csr(csr::num::SATP).unwrap_or(0) >> 31 == 0
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

/// Sleeps until one of the hart's enabled interrupts is pending (or a stop).
fn wait_for_interrupt(board: &Virt32<'static>, hart: &Hart<'static>, quit: &AtomicBool) {
    let clint = &board.devices.clint;
    let mie = hart.csr(csr::num::MIE).unwrap_or(0) as u32;
    loop {
        clint.update();
        if hart.irqs().pending() & mie != 0
            || quit.load(Ordering::Acquire)
            || board.finish().is_some()
        {
            return;
        }
        let mut nap = Duration::from_millis(1);
        if let Some(deadline) = clint.next_deadline() {
            let ticks = deadline.saturating_sub(clint.mtime());
            nap = nap.min(Duration::from_nanos(ticks.saturating_mul(100)));
        }
        std::thread::sleep(nap);
    }
}
