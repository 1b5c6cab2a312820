//! `fief run`: builds a `virt32` or `virt64` board on the host and runs it.
//!
//! * Guest RAM is an anonymous mmap (lazily backed, without swap reservation: `-m 16G`
//!   costs only the pages the guest touches), leaked for the life of the process.
//! * One thread per hart. Each loop: pin a read section, set the hart's `time` from the
//!   CLINT, `run` one slice, drop the section, update the CLINT's timer outputs (so MTIP is
//!   raised at slice boundaries, never polled per instruction), then check the finisher and
//!   the stop flag. A hart in `wfi` sleeps until one of its enabled interrupts is pending,
//!   waking at the CLINT's next deadline (or every millisecond, to see interrupts other
//!   threads raise).
//! * The console on its own thread ([`crate::console`]); `Ctrl-A c` toggles it into the
//!   monitor ([`fief_host::monitor`]), which `--monitor unix:PATH` also serves on a socket.
//! * [`DMA_WORKERS`] DMA worker threads ([`fief_host::dma_workers`]) run the DMA engine's
//!   transfers and the virtio devices' requests beside the harts; the engine's `START` and
//!   a virtio `QueueNotify` ring their doorbell.
//! * With `-s`/`--gdb`, hart 0 runs on a `gdb` thread instead, under the debugger's
//!   control between its commands ([`crate::gdb`]); `--trace insn` single-steps the harts.
//! * Images are read with their sizes checked first ([`fief_host::images`]) and loaded
//!   as QEMU `virt` loads them ([`Virt::boot_images`]).
//! * Reset: when the guest writes the reset value to the test device, every hart thread
//!   ends, the board is reset ([`Virt::reset`]), the images are loaded again and new
//!   hart threads start (RAM outside the images keeps its contents, as on QEMU);
//!   `-no-reboot` ends the run instead.
//! * Exit status: the finisher's (pass 0, fail its code), 0 after `Ctrl-A x` or a reset
//!   with `-no-reboot`, 1 when the instruction limit stops the run.

use std::path::Path;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use fief_boards::clint::Clock;
use fief_boards::finisher::Finish;
use fief_boards::rtc::WallClock;
use fief_boards::virt::{
    Boot, BootImages, DtbSource, Image, Virt, VirtDevices, VirtSpec, MAX_HARTS, MROM_SIZE,
};
use fief_core::cpu::riscv::Xlen;
use fief_core::image::Format;
use fief_core::loader::ElfTarget;
use fief_core::memory::GuestAddress;
use fief_core::memory::{MemTxAttrs, RamBlock};
use fief_host::images::{read_image, ImageFile, Role};

use fief_boards::dma::StepOutcome;
use fief_boards::virt::VIRTIO_BASE;
use fief_boards::virtio::mmio::MAX_QUEUES;
use fief_boards::virtio::Transport;
use fief_host::dma_workers::DmaWorkers;
use fief_host::monitor::{self, Monitor};

use crate::console::{self, RawMode, Serial};

mod args;
mod harts;

use crate::gdb;
use args::VirtioArgs;
pub use args::{parse_size, Accel, BoardArgs, RunArgs, Trace};
pub use harts::exit_status;
use harts::{run_harts, RunHarts};

/// Instructions per time slice of a hart thread.
pub const SLICE: u64 = 10_000;
/// The bundled demo firmware (built from `host/firmware/demo.S`).
pub const DEMO_FIRMWARE: &[u8] = include_bytes!("../../firmware/demo.elf");
/// The bundled SBI firmware, `-bios default` on virt32 (built from `firmware/sbi`, see its
/// `build.sh`): with `-kernel`, it runs first in M mode and enters the kernel in S mode.
pub const SBI_FIRMWARE: &[u8] = include_bytes!("../../../firmware/sbi/fief-sbi.elf");
/// The same firmware built for RV64, `-bios default` on virt64 (it enters the kernel at
/// RAM base + 2 MiB, where virt64 puts it).
pub const SBI_FIRMWARE64: &[u8] = include_bytes!("../../../firmware/sbi/fief-sbi64.elf");
/// DMA worker threads.
pub const DMA_WORKERS: usize = 2;
/// Room for the device tree.
const DTB_CAPACITY: usize = 64 * 1024;

/// A built board and what backs it, all leaked for the life of the process.
pub struct Built {
    /// The board.
    pub board: Virt<'static>,
    /// Its devices.
    pub devices: &'static VirtDevices<'static>,
}

/// Checks the board options and builds the board.
pub fn build(args: &BoardArgs) -> Result<Built, String> {
    let spec = args.machine()?.spec;
    let size = parse_size(&args.memory, spec)?;
    if args.smp == 0 || args.smp > MAX_HARTS {
        return Err(format!(
            "--smp {}: {} takes 1 to {MAX_HARTS} harts",
            args.smp, spec.name
        ));
    }
    let len = usize::try_from(size).map_err(|_| "memory size too large for this host")?;
    // Lazily backed and not counted against swap: `-m 16G` takes only what the guest
    // touches, even where the kernel refuses to overcommit that much.
    let map = memmap2::MmapOptions::new()
        .len(len)
        .no_reserve_swap()
        .map_anon()
        .map_err(|e| format!("cannot map {} MiB of guest RAM: {e}", size >> 20))?;
    let map: &'static mut memmap2::MmapMut = Box::leak(Box::new(map));
    let ptr = NonNull::new(map.as_mut_ptr()).ok_or("mmap returned a null pointer")?;
    // SAFETY: the mapping is `len` bytes, readable and writable, and leaked, so it lives for
    // `'static`; nothing else touches it through a Rust reference (the `MmapMut` is leaked
    // and never used again), only the board's RAM region does.
    let ram = unsafe { RamBlock::from_raw_parts(ptr, len) };
    let devices: &'static VirtDevices<'static> = Box::leak(Box::new(VirtDevices::new()));
    // The boot ROM, as QEMU's `mrom` (reset vector and OpenSBI's fw_dynamic_info).
    let mrom = RamBlock::new(Box::leak(vec![0u8; MROM_SIZE as usize].into_boxed_slice()));
    let board = Virt::build(spec, devices, ram, Some(mrom), args.smp).map_err(|e| e.to_string())?;
    Ok(Built { board, devices })
}

/// The board's view of a file read for loading.
fn image(file: &ImageFile) -> Image<'_> {
    let b = &file.bytes;
    match file.format {
        Format::Elf => Image::Elf(b),
        Format::UImage(_) => Image::UImage(b),
        Format::LinuxImage(_) => Image::Linux(b),
        Format::Raw => Image::Raw(b),
    }
}

/// The image files of a run, read once (a reset loads them again).
struct Files {
    firmware: Option<ImageFile>,
    kernel: Option<ImageFile>,
    initrd: Option<ImageFile>,
    dtb: Option<ImageFile>,
}

impl Files {
    /// Reads every file `args` names for `board`, each refused at once if it cannot fit in
    /// `ram`; `dump_only`: the run only dumps the device tree (`dumpdtb=`), which needs no
    /// image, as on QEMU.
    fn read(args: &RunArgs, board: &VirtSpec, ram: u64, dump_only: bool) -> Result<Files, String> {
        if args.kernel.is_none() && (args.initrd.is_some() || args.append.is_some()) {
            return Err("-initrd and -append only work with -kernel".to_string());
        }
        // The bundled demo is an RV32 program; the SBI firmware comes in both XLENs.
        let bundled = board.xlen == Xlen::Rv32;
        let elf = match board.xlen {
            Xlen::Rv32 => ElfTarget::RISCV32,
            Xlen::Rv64 => ElfTarget::RISCV64,
        };
        let firmware = match args.bios.as_str() {
            "none" => None,
            // As QEMU: the bundled firmware runs a kernel; without one, the bundled demo runs.
            "default" if args.kernel.is_some() => Some(ImageFile {
                bytes: match board.xlen {
                    Xlen::Rv32 => SBI_FIRMWARE,
                    Xlen::Rv64 => SBI_FIRMWARE64,
                }
                .to_vec(),
                format: Format::Elf,
            }),
            "default" => None,
            path => Some(read_image(
                Path::new(path),
                "firmware",
                Role::Firmware,
                ram,
                elf,
            )?),
        };
        let kernel = match &args.kernel {
            Some(path) => Some(read_image(path, "kernel", Role::Kernel, ram, elf)?),
            // Nothing runs: a `j .` stands in so that the boot places the device tree.
            None if firmware.is_none() && !bundled && dump_only => Some(ImageFile {
                bytes: 0x0000_006fu32.to_le_bytes().to_vec(),
                format: Format::Raw,
            }),
            None if firmware.is_none() && !bundled => {
                return Err(format!(
                    "nothing to run on {}: give -kernel FILE or -bios FILE",
                    board.name
                ))
            }
            None if firmware.is_none() => Some(ImageFile {
                bytes: DEMO_FIRMWARE.to_vec(),
                format: Format::Elf,
            }),
            None => None,
        };
        let initrd = match &args.initrd {
            Some(path) => Some(read_image(path, "initrd", Role::Data, ram, elf)?),
            None => None,
        };
        let dtb = match &args.dtb {
            Some(path) => Some(read_image(path, "-dtb", Role::Data, ram, elf)?),
            None => None,
        };
        Ok(Files {
            firmware,
            kernel,
            initrd,
            dtb,
        })
    }

    /// Loads the images onto `board`; returns where they went and the device tree.
    fn boot(
        &self,
        board: &Virt<'static>,
        bootargs: Option<&str>,
    ) -> Result<(Boot, Vec<u8>), String> {
        let dtb_room = DTB_CAPACITY
            + self.dtb.as_ref().map_or(0, |d| d.bytes.len())
            + bootargs.map_or(0, str::len);
        let mut dtb_buf = vec![0u8; dtb_room];
        // As QEMU: 32 new random bytes in `/chosen/rng-seed` at every boot (none if the
        // host cannot give them).
        let mut seed = [0u8; 32];
        let seeded = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
            .is_ok();
        let images = BootImages {
            firmware: self.firmware.as_ref().map(image),
            kernel: self.kernel.as_ref().map(image),
            initrd: self.initrd.as_ref().map(|f| f.bytes.as_slice()),
            bootargs,
            rng_seed: seeded.then_some(&seed[..]),
            dtb: match &self.dtb {
                Some(d) => DtbSource::User(&d.bytes),
                None => DtbSource::Generate,
            },
        };
        let boot = board
            .boot_images(&images, &mut dtb_buf)
            .map_err(|e| e.to_string())?;
        let mut dtb = vec![0u8; boot.dtb_len as usize];
        let read = board
            .space()
            .read_buf(GuestAddress(boot.dtb_addr), &mut dtb, MemTxAttrs::DEBUG);
        if !read.is_ok() {
            return Err(format!("reading the device tree back failed: {read}"));
        }
        Ok((boot, dtb))
    }
}

/// The host's wall clock, for the RTC.
struct HostWallClock;

impl WallClock for HostWallClock {
    fn now_ns(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
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
    let resolved = args.resolve_virt()?;
    let args = resolved.as_ref().unwrap_or(args);
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
    let machine = args.board.machine()?;
    let accel = match args.accel()? {
        Accel::Tcg(..) if !fief_host::jit::AVAILABLE => {
            eprintln!(
                "fief: -accel tcg: the translating tier needs an x86-64 Unix host; running \
                 the interpreter"
            );
            Accel::Interp
        }
        accel => accel,
    };
    let virtio = VirtioArgs::parse(args)?;
    // Every file is read, its size checked against RAM, before the board is built.
    let ram = parse_size(&args.board.memory, machine.spec)?;
    let files = Files::read(args, machine.spec, ram, machine.dumpdtb.is_some())?;
    let listener = gdb_spec.as_deref().map(gdb::listen).transpose()?;
    let Built { board, devices } = build(&args.board)?;
    let board: &'static Virt<'static> = Box::leak(Box::new(board));
    let bootargs = args.append.as_deref();
    let (mut boot, dtb) = files.boot(board, bootargs)?;
    if let Some(path) = &machine.dumpdtb {
        std::fs::write(path, &dtb)
            .map_err(|e| format!("cannot write the device tree to '{}': {e}", path.display()))?;
        eprintln!("fief: device tree dumped to {}. Exiting.", path.display());
        return Ok(0);
    }
    let trace = |t: Trace| args.trace.contains(&t);
    let trace_boot = |boot: &Boot| {
        if trace(Trace::Boot) {
            eprintln!(
                "fief: trace: boot: entry {:#x}, device tree at {:#x} ({} bytes), kernel entry {}, initrd {}",
                boot.entry,
                boot.dtb_addr,
                boot.dtb_len,
                boot.kernel_entry
                    .map_or("-".to_string(), |k| format!("{k:#x}")),
                boot.initrd
                    .map_or("-".to_string(), |(s, e)| format!("{s:#x}-{e:#x}"))
            );
        }
    };
    trace_boot(&boot);
    if trace(Trace::Boot) {
        match accel {
            Accel::Interp => eprintln!("fief: trace: boot: accel interp (the interpreter)"),
            Accel::Tcg(mib, hot) => eprintln!(
                "fief: trace: boot: accel tcg (the translating tier), tb-size {mib} MiB per hart, \
                 blocks translated at run {hot}"
            ),
        }
    }

    let serial: &'static Serial = Box::leak(Box::new(Serial::open(&args.serial)?));
    devices.uart.set_sink(serial);
    let clock: &'static HostClock = Box::leak(Box::new(HostClock(Instant::now())));
    devices.clint.set_clock(clock);
    devices.rtc.set_clock(&HostWallClock);

    let quit: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
    let limit_hit = AtomicBool::new(false);
    let workers = DmaWorkers::spawn(DMA_WORKERS, move |c, n| worker_step(board, c, n))?;
    devices.dma.set_doorbell(workers.doorbell());
    for (n, slot) in devices.virtio.iter().enumerate() {
        slot.set_doorbell(workers.doorbell(), VIRTIO_CHANNEL_BASE + n * MAX_QUEUES);
        if virtio.modern {
            slot.set_transport(Transport::Modern);
        }
    }
    let monitor: &'static Monitor =
        Box::leak(Box::new(Monitor::new(board, Some(serial), move || {
            quit.store(true, Ordering::Release);
            devices.harts.stop_all();
        })));
    for drive in virtio.drives {
        monitor.virtio().add_drive(drive)?;
    }
    for netdev in virtio.netdevs {
        monitor.virtio().add_netdev(netdev)?;
    }
    for (id, chardev) in virtio.chardevs {
        monitor.virtio().add_chardev(id, &chardev)?;
    }
    for device in &virtio.devices {
        monitor.device_add_virtio("-device", device)?;
    }
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

    let retired = AtomicU64::new(0);
    // Instructions each hart retired so far, across resets (`--max-insns` counts them all).
    let used: Vec<AtomicU64> = (0..board.harts).map(|_| AtomicU64::new(0)).collect();
    let mut first = true;
    loop {
        run_harts(RunHarts {
            board,
            boot: &boot,
            args,
            quit,
            limit_hit: &limit_hit,
            retired: &retired,
            used: &used,
            listener: listener.as_ref(),
            activity: workers.activity(),
            first: std::mem::take(&mut first),
            accel,
        });
        let reset = board.finish() == Some(Finish::Reset);
        if !reset
            || args.no_reboot
            || quit.load(Ordering::Acquire)
            || limit_hit.load(Ordering::Acquire)
        {
            break;
        }
        if trace(Trace::Finish) {
            eprintln!("fief: trace: finish: reset requested, resetting the machine");
        }
        board.reset();
        boot = files.boot(board, bootargs)?.0;
        trace_boot(&boot);
    }
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

/// The first DMA worker channel of the virtio queues: slot n's queue q is channel
/// `VIRTIO_CHANNEL_BASE + n * MAX_QUEUES + q` (the DMA engine's are below).
pub const VIRTIO_CHANNEL_BASE: usize = 8;

/// A DMA worker's step: a DMA engine channel, or one request of a virtio queue (whose
/// faults, a guest's broken queue, are reported here with one line each).
fn worker_step(board: &'static Virt<'static>, channel: usize, chunks: usize) -> StepOutcome {
    if channel < VIRTIO_CHANNEL_BASE {
        return board.dma_step(channel, chunks);
    }
    let (slot, queue) = (
        (channel - VIRTIO_CHANNEL_BASE) / MAX_QUEUES,
        (channel - VIRTIO_CHANNEL_BASE) % MAX_QUEUES,
    );
    let outcome = board.virtio_step(slot, queue);
    if let Some(fault) = board.devices.virtio.get(slot).and_then(|s| s.take_error()) {
        eprintln!(
            "fief: virtio-mmio slot {slot} ({:#x}), queue {}: {}; the device waits for a reset",
            VIRTIO_BASE + 0x1000 * slot as u64,
            fault.queue,
            fault.error
        );
    }
    outcome
}
