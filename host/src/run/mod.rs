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

use std::path::{Path, PathBuf};
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
use fief_host::chardev::{parse_chardev, Chardev};
use fief_host::dma_workers::DmaWorkers;
use fief_host::monitor::{self, Monitor};
use fief_host::virtio_host::{DeviceSpec, DriveSpec};
use fief_host::virtio_net::NetdevSpec;

use crate::console::{self, RawMode, Serial};

mod harts;

use crate::gdb;
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
    /// The board, QEMU style: `virt32`, `virt64`, or `virt` (the default: `virt64` when the
    /// kernel, or else the -bios file, is an ELF64 or an RV64 Linux `Image`, as
    /// `qemu-system-riscv64 -M virt` would run it; otherwise `virt32`), with properties after
    /// commas (`virt64,dumpdtb=FILE`) or alone (`dumpdtb=FILE`); may be given again.
    #[arg(short = 'M', long = "machine", default_value = "virt", action = clap::ArgAction::Append)]
    pub machine: Vec<String>,
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
    /// The kernel: an ELF executable, a U-Boot uImage, a Linux `Image` (by its header's
    /// magic) or any other file as raw bytes. Without --kernel and a --bios file, the
    /// bundled demo firmware runs.
    #[arg(long)]
    pub kernel: Option<PathBuf>,
    /// An initial RAM disk, placed as QEMU places it and named in the device tree's
    /// `/chosen` (needs --kernel).
    #[arg(long)]
    pub initrd: Option<PathBuf>,
    /// The kernel command line: the device tree's `/chosen/bootargs` (needs --kernel).
    #[arg(long, allow_hyphen_values = true)]
    pub append: Option<String>,
    /// A device tree blob to give the guest instead of the board's own (its `/chosen`
    /// gets --append and --initrd, as on QEMU).
    #[arg(long)]
    pub dtb: Option<PathBuf>,
    /// On a guest's reset request, end the run (status 0) instead of resetting.
    #[arg(long = "no-reboot")]
    pub no_reboot: bool,
    /// Firmware at the RAM base (the kernel then goes at RAM base + 4 MiB on virt32, + 2 MiB
    /// on virt64): `default` (the bundled SBI firmware of the board's XLEN, which enters the
    /// kernel in S mode), a file, or `none` (the kernel is entered directly, in M mode).
    #[arg(long, default_value = "default")]
    pub bios: String,
    /// Where the UART's output goes: stdio, null or file:PATH.
    #[arg(long, default_value = "stdio")]
    pub serial: String,
    /// Stop each hart after about this many instructions. A hart waiting in wfi counts
    /// one instruction per 100 ns tick of mtime (the 10 MHz timebase) it waits, so a run
    /// whose harts wait forever ends too.
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
    /// A disk image for a virtio-blk: `file=PATH,format=raw,if=none,id=ID[,readonly=on]`
    /// (QEMU's `-drive`; may be repeated).
    #[arg(long = "drive", action = clap::ArgAction::Append)]
    pub drive: Vec<String>,
    /// A virtio device: `virtio-blk-device,drive=ID[,id=NAME]`,
    /// `virtio-rng-device[,id=NAME]` or `virtio-net-device,netdev=ID[,mac=MAC][,id=NAME]`
    /// (QEMU's `-device`; may be repeated). The first goes
    /// in the virtio-mmio slot with the highest address, as on QEMU.
    #[arg(long = "device", action = clap::ArgAction::Append)]
    pub device: Vec<String>,
    /// `virtio-mmio.force-legacy=false` selects the modern virtio-mmio layout (version 2);
    /// the default is the legacy one (version 1), as QEMU 7.2's.
    #[arg(long = "global", action = clap::ArgAction::Append)]
    pub global: Vec<String>,
    /// The execution tier (QEMU's `-accel`): `tcg[,tb-size=N][,hot-runs=N]` (the
    /// translating tier, the default where it exists: x86-64 Unix hosts; elsewhere the
    /// interpreter runs, with a message when asked for; `hot-runs`, Fief's own: a block is
    /// translated at its N-th run, default 16, 1 for at once) or `interp` (the core's
    /// interpreter alone). Without it, the environment variable `FIEF_ACCEL` (same values)
    /// chooses.
    #[arg(long)]
    pub accel: Option<String>,
    /// The translating tier's code cache per hart, in MiB (QEMU's `-tb-size`; default 32).
    #[arg(long = "tb-size")]
    pub tb_size: Option<usize>,
    /// A character device for a `virtconsole`: `file,id=ID,path=PATH` (QEMU's
    /// `-chardev`; the file backend only).
    #[arg(long = "chardev", action = clap::ArgAction::Append)]
    pub chardev: Vec<String>,
    /// A network back end for a virtio-net-device: `socket,id=ID,udp=HOST:PORT,
    /// localaddr=HOST:PORT` or `dgram,id=ID,local.type=inet,...,remote.type=inet,...`
    /// (QEMU's `-netdev`; UDP only).
    #[arg(long = "netdev", action = clap::ArgAction::Append)]
    pub netdev: Vec<String>,
}

impl RunArgs {
    /// `fief run` with every default: the bundled demo.
    pub fn demo() -> RunArgs {
        RunArgs {
            board: BoardArgs {
                machine: vec!["virt32".into()],
                memory: "128M".into(),
                smp: 1,
            },
            kernel: None,
            initrd: None,
            append: None,
            dtb: None,
            no_reboot: false,
            bios: "default".into(),
            serial: "stdio".into(),
            max_insns: None,
            trace: Vec::new(),
            nographic: false,
            monitor: None,
            gdb: None,
            gdb_default: false,
            freeze: false,
            drive: Vec::new(),
            device: Vec::new(),
            global: Vec::new(),
            chardev: Vec::new(),
            netdev: Vec::new(),
            accel: None,
            tb_size: None,
        }
    }
}

/// Which tier runs guest code (`-accel`, `-tb-size`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Accel {
    /// The core's interpreter.
    Interp,
    /// The translating tier (`fief_host::jit`), with a code cache of this many MiB per hart
    /// and translating a block at this run (`Jit::with_hot_runs`).
    Tcg(usize, u32),
}

impl RunArgs {
    /// Parses `-accel NAME[,tb-size=N][,hot-runs=N]` and `-tb-size N` (as QEMU spells them); without
    /// `-accel`, the value of the environment variable [`ACCEL_ENV`], and without that
    /// `tcg` where the translating tier exists ([`fief_host::jit::AVAILABLE`]), else
    /// `interp`.
    pub fn accel(&self) -> Result<Accel, String> {
        let env = std::env::var(ACCEL_ENV).ok().filter(|v| !v.is_empty());
        self.accel_from(env.as_deref())
    }

    /// [`RunArgs::accel`] with `env` as the value of [`ACCEL_ENV`].
    fn accel_from(&self, env: Option<&str>) -> Result<Accel, String> {
        // Where the spelling came from, for the error messages.
        let (spec, from) = match (&self.accel, env) {
            (Some(a), _) => (a.as_str(), format!("-accel {a}")),
            (None, Some(e)) => (e, format!("{ACCEL_ENV}={e}")),
            (None, None) if fief_host::jit::AVAILABLE => ("tcg", "-accel tcg".to_string()),
            (None, None) => ("interp", "-accel interp".to_string()),
        };
        let mut parts = spec.split(',');
        let name = parts.next().unwrap_or_default();
        let mut tb_size = self.tb_size;
        let mut hot_runs = fief_host::jit::DEFAULT_HOT_RUNS;
        for part in parts {
            match part.split_once('=') {
                Some(("tb-size", v)) => {
                    let mib = v
                        .parse()
                        .map_err(|_| format!("{from}: tb-size={v} is not a number of MiB"))?;
                    tb_size = Some(mib);
                }
                Some(("hot-runs", v)) => {
                    hot_runs =
                        v.parse().ok().filter(|&n| n > 0).ok_or_else(|| {
                            format!("{from}: hot-runs={v} is not a count of runs")
                        })?;
                }
                _ => {
                    return Err(format!(
                        "{from}: unknown property '{part}' (Fief takes tb-size=N and hot-runs=N)"
                    ))
                }
            }
        }
        if tb_size == Some(0) {
            return Err("-tb-size 0: the code cache needs at least 1 MiB".to_string());
        }
        match name {
            "tcg" => Ok(Accel::Tcg(
                tb_size.unwrap_or(fief_host::jit::DEFAULT_TB_SIZE_MIB),
                hot_runs,
            )),
            "interp" => Ok(Accel::Interp),
            _ => Err(format!(
                "{from}: Fief has tcg (the translating tier) and interp (the interpreter)"
            )),
        }
    }
}

/// The environment variable that chooses the tier when `-accel` is not given (`interp` or
/// `tcg[,tb-size=N][,hot-runs=N]`): the test suite's second pass runs every guest under `tcg` with it.
pub const ACCEL_ENV: &str = "FIEF_ACCEL";

/// What `-M`/`-machine` said: the board and its properties.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineSpec {
    /// The board.
    pub spec: &'static VirtSpec,
    /// The name was `virt`: the images may choose `virt64` ([`RunArgs::resolve_virt`]).
    pub by_image: bool,
    /// `dumpdtb=FILE`: write the device tree there and exit.
    pub dumpdtb: Option<PathBuf>,
}

/// The boards `-M` takes, and their aliases.
const MACHINES: &[(&str, &VirtSpec)] = &[
    ("virt32", &fief_boards::virt32::SPEC),
    ("virt", &fief_boards::virt32::SPEC),
    ("virt64", &fief_boards::virt64::SPEC),
];

impl BoardArgs {
    /// Parses the `-M` values as QEMU's `-machine [type=]NAME[,PROP=VALUE...]`, each
    /// occurrence adding to the last; `virt` is `virt32` here, and `virt64` once
    /// [`RunArgs::resolve_virt`] has seen a 64-bit image.
    pub fn machine(&self) -> Result<MachineSpec, String> {
        let mut name: Option<&str> = None;
        let mut dumpdtb = None;
        for value in &self.machine {
            for (i, part) in value.split(',').enumerate() {
                match part.split_once('=') {
                    None if i == 0 => name = Some(part),
                    Some(("type", v)) => name = Some(v),
                    Some(("dumpdtb", file)) if !file.is_empty() => {
                        dumpdtb = Some(PathBuf::from(file));
                    }
                    _ => {
                        return Err(format!(
                            "-machine '{value}': unknown property '{part}' (Fief takes \
                             dumpdtb=FILE)"
                        ))
                    }
                }
            }
        }
        let name = name.unwrap_or("virt");
        match MACHINES.iter().find(|(n, _)| *n == name) {
            Some((_, spec)) => Ok(MachineSpec {
                spec,
                by_image: name == "virt",
                dumpdtb,
            }),
            None => Err(format!(
                "unknown machine '{name}' (available: virt32, virt64, and virt: virt64 for a \
                 64-bit image, else virt32)"
            )),
        }
    }
}

impl RunArgs {
    /// `-M virt` as QEMU's two binaries run the same command line: `virt64` when the kernel
    /// (or, without one, the `-bios` file) is 64-bit by its header, an ELF64 or a Linux
    /// `Image` whose `text_offset` is RV64's 2 MiB (RV32's is 4 MiB); `virt32` for 32-bit
    /// and for images that do not say (raw, uImage). Returns the arguments with the board
    /// named, or `None` when there is nothing to choose. A file that cannot be read is left
    /// for the loader to report.
    pub fn resolve_virt(&self) -> Result<Option<RunArgs>, String> {
        if !self.board.machine()?.by_image {
            return Ok(None);
        }
        let bios = match self.bios.as_str() {
            "default" | "none" => None,
            path => Some(Path::new(path)),
        };
        let Some(image) = self.kernel.as_deref().or(bios) else {
            return Ok(None);
        };
        if image_xlen(image) != Some(Xlen::Rv64) {
            return Ok(None);
        }
        let mut args = self.clone();
        args.board.machine.push("virt64".to_string());
        Ok(Some(args))
    }
}

/// The XLEN an image's header states: an ELF's class (RISC-V machine), or a RISC-V Linux
/// `Image`'s `text_offset` (`arch/riscv/kernel/head.S`: 2 MiB on RV64, 4 MiB on RV32).
fn image_xlen(path: &Path) -> Option<Xlen> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let mut file = std::fs::File::open(path).ok()?;
    let mut len = 0;
    while len < head.len() {
        match file.read(&mut head[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
    }
    let head = &head[..len];
    if head.len() >= 20 && head[..4] == *b"\x7fELF" && head[18..20] == 243u16.to_le_bytes() {
        return match head[4] {
            1 => Some(Xlen::Rv32),
            2 => Some(Xlen::Rv64),
            _ => None,
        };
    }
    if head.len() >= 64 && head[0x38..0x3c] == *b"RSC\x05" {
        let text_offset = u64::from_le_bytes(head[8..16].try_into().ok()?);
        return match text_offset {
            0x20_0000 => Some(Xlen::Rv64),
            0x40_0000 => Some(Xlen::Rv32),
            _ => None,
        };
    }
    None
}

/// Parses a QEMU-style size for `board`'s RAM: `128M`, `1G`, `65536K`, `64` (MiB).
pub fn parse_size(text: &str, board: &VirtSpec) -> Result<u64, String> {
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
    if bytes > board.ram_max() {
        return Err(format!(
            "memory size '{text}' is too large: {} takes at most {} MiB",
            board.name,
            board.ram_max() >> 20
        ));
    }
    Ok(bytes)
}

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

/// The virtio part of the command line, checked before anything is built.
struct VirtioArgs {
    drives: Vec<DriveSpec>,
    netdevs: Vec<NetdevSpec>,
    chardevs: Vec<(String, Chardev)>,
    devices: Vec<DeviceSpec>,
    modern: bool,
}

impl VirtioArgs {
    fn parse(args: &RunArgs) -> Result<VirtioArgs, String> {
        let mut modern = false;
        for g in &args.global {
            modern = match g.as_str() {
                "virtio-mmio.force-legacy=false" | "virtio-mmio.force-legacy=off" => true,
                "virtio-mmio.force-legacy=true" | "virtio-mmio.force-legacy=on" => false,
                other => {
                    return Err(format!(
                    "-global {other}: not taken (Fief takes virtio-mmio.force-legacy=false|true)"
                ))
                }
            };
        }
        let drives = args
            .drive
            .iter()
            .map(|d| DriveSpec::parse(d))
            .collect::<Result<Vec<_>, _>>()?;
        let netdevs = args
            .netdev
            .iter()
            .map(|n| NetdevSpec::parse(n))
            .collect::<Result<Vec<_>, _>>()?;
        for spec in &args.device {
            if let DeviceSpec::Net { netdev, .. } = DeviceSpec::parse("-device", spec)? {
                if !netdevs.iter().any(|n| n.id == netdev) {
                    return Err(format!(
                        "-device virtio-net-device: no -netdev with id '{netdev}'"
                    ));
                }
            }
        }
        let chardevs = args
            .chardev
            .iter()
            .map(|c| parse_chardev(c))
            .collect::<Result<Vec<_>, _>>()?;
        let mut devices: Vec<DeviceSpec> = Vec::new();
        for d in &args.device {
            match DeviceSpec::parse("-device", d)? {
                DeviceSpec::Serial { id } => {
                    devices.push(DeviceSpec::Console { chardev: None, id })
                }
                DeviceSpec::Virtconsole { chardev, .. } => {
                    if !chardevs.iter().any(|(id, _)| *id == chardev) {
                        return Err(format!("-device virtconsole: no -chardev '{chardev}'"));
                    }
                    match devices.last_mut() {
                        Some(DeviceSpec::Console {
                            chardev: c @ None, ..
                        }) => *c = Some(chardev),
                        _ => {
                            return Err("-device virtconsole: put it after a \
                                        -device virtio-serial-device (one port each)"
                                .to_string())
                        }
                    }
                }
                spec => devices.push(spec),
            }
        }
        Ok(VirtioArgs {
            drives,
            netdevs,
            chardevs,
            devices,
            modern,
        })
    }
}
