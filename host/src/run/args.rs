//! The command line of `fief run` (and of `fief dtb`'s board options): what it takes, as
//! QEMU spells it, and the checks made on it before anything is built — the machine and
//! its sizes, the tier (`-accel`), the images' widths, and the virtio devices' options.

use std::path::{Path, PathBuf};

use fief_boards::virt::VirtSpec;
use fief_core::cpu::riscv::Xlen;
use fief_host::chardev::{parse_chardev, Chardev};
use fief_host::virtio_host::{DeviceSpec, DriveSpec};
use fief_host::virtio_net::NetdevSpec;

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

/// The virtio part of the command line, checked before anything is built.
pub(super) struct VirtioArgs {
    pub(super) drives: Vec<DriveSpec>,
    pub(super) netdevs: Vec<NetdevSpec>,
    pub(super) chardevs: Vec<(String, Chardev)>,
    pub(super) devices: Vec<DeviceSpec>,
    pub(super) modern: bool,
}

impl VirtioArgs {
    pub(super) fn parse(args: &RunArgs) -> Result<VirtioArgs, String> {
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
