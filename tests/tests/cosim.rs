//! Co-simulation on a microcontroller: builds the firmware in `tests/cosim-m4` (fief-core and
//! fief-boards on a Cortex-M4, everything in statics, no heap) and runs it on QEMU's
//! `mps2-an386`: the RV32 guest's UART output must come out of the microcontroller's UART
//! and its finisher status must be QEMU's exit status. The firmware's defmt log (raw rzCOBS
//! frames written by semihosting to `fief-defmt.bin` in QEMU's working directory) is decoded
//! here against the ELF's `.defmt` symbols. A last test holds the firmware to the flash/RAM
//! budget of docs/cosim.md.
//!
//! Needs `qemu-system-arm` (Debian's package of that name; `scripts/test-all` installs it)
//! and the `thumbv7em-none-eabihf` rustup target: without them these tests fail, saying
//! what is missing; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Flash budget: `.vector_table + .text + .rodata + .data` (initial values), in bytes.
/// 80 KiB until December 2026; 84 KiB since the code-epoch work for the translating tier
/// (docs/cosim.md says what it costs and what would win it back).
const FLASH_BUDGET: u64 = 84 * 1024;
/// RAM budget: `.data + .bss` (the hart, the board and its pools, the guest's flash and
/// SRAM copies), in bytes. The stack comes on top.
const RAM_BUDGET: u64 = 96 * 1024;
/// Where the firmware's defmt logger writes its frames (semihosting `SYS_OPEN`), relative to
/// QEMU's working directory.
const DEFMT_FILE: &str = "fief-defmt.bin";

fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cosim-m4")
}

/// Cargo's home (`CARGO_HOME`, else `~/.cargo`), whose registry sources panic paths name.
fn cargo_home() -> Option<PathBuf> {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")))
}

/// Builds the firmware once per test process; returns the ELF's path.
fn firmware() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        let dir = crate_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // The firmware's own .cargo/config.toml sets its target, linker script and runner;
        // flags or a target dir inherited from the outer build would override them.
        // Panic locations keep source paths in flash: the checkout's and cargo's home are
        // remapped (appended to the config's rustflags), so that the size measured against
        // the budget is the same wherever the tree is cloned (CI clones to a longer path).
        let root = dir
            .parent()
            .and_then(Path::parent)
            .expect("tests/cosim-m4 in the tree");
        let mut remap = vec![format!("--remap-path-prefix={}=fief", root.display())];
        if let Some(home) = cargo_home() {
            remap.push(format!("--remap-path-prefix={}=cargo", home.display()));
        }
        let rustflags = format!(
            "target.thumbv7em-none-eabihf.rustflags=[{}]",
            remap
                .iter()
                .map(|f| format!("{f:?}"))
                .collect::<Vec<_>>()
                .join(",")
        );
        let status = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--target-dir",
                "target",
                "--features",
                "defmt",
                "--config",
                &rustflags,
            ])
            .current_dir(&dir)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("CARGO_BUILD_TARGET")
            .status()
            .expect("running cargo to build tests/cosim-m4");
        assert!(
            status.success(),
            "building the co-simulation firmware (tests/cosim-m4) failed; it needs the \
             thumbv7em-none-eabihf target: `rustup target add thumbv7em-none-eabihf`"
        );
        dir.join("target/thumbv7em-none-eabihf/release/fief-cosim-m4")
    })
}

struct QemuRun {
    status: Option<i32>,
    stdout: String,
    /// The firmware's defmt frames (`DEFMT_FILE`), empty if it wrote none.
    defmt: Vec<u8>,
}

/// Runs the firmware on QEMU in a fresh working directory of its own (where the firmware's
/// defmt log file lands).
fn run_on_qemu(elf: &Path) -> QemuRun {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let cwd = std::env::temp_dir().join(format!(
        "fief-cosim-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&cwd);
    std::fs::create_dir_all(&cwd).unwrap();
    let mut child = match Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-nographic", "-semihosting", "-kernel"])
        .arg(elf)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "qemu-system-arm is not installed: the co-simulation test needs it \
             (`apt-get install qemu-system-arm`, which scripts/test-all does)"
        ),
        Err(e) => panic!("starting qemu-system-arm: {e}"),
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).unwrap();
        out
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the co-simulation firmware did not finish within 120 s on QEMU");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = String::from_utf8_lossy(&reader.join().unwrap()).replace("\r\n", "\n");
    let defmt = std::fs::read(cwd.join(DEFMT_FILE)).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&cwd);
    QemuRun {
        status: status.code(),
        stdout,
        defmt,
    }
}

#[test]
fn cosim_m4_runs_the_guest_and_exits_with_its_status() {
    let run = run_on_qemu(firmware());
    assert_eq!(
        run.stdout, "hello from the RV32 guest on mcu32\n6 * 7 = 0x2a\n",
        "the guest's UART output, forwarded to the microcontroller's UART"
    );
    assert_eq!(
        run.status,
        Some(42),
        "the guest's finisher status (fail 42) as QEMU's exit status; output:\n{}",
        run.stdout
    );
}

/// One section header of an ELF32.
struct Section {
    name: usize,
    kind: u32,
    flags: u32,
    offset: usize,
    size: usize,
    link: usize,
}

fn u16_at(elf: &[u8], o: usize) -> u16 {
    u16::from_le_bytes([elf[o], elf[o + 1]])
}

fn u32_at(elf: &[u8], o: usize) -> u32 {
    u32::from_le_bytes(elf[o..o + 4].try_into().unwrap())
}

fn sections(elf: &[u8]) -> Vec<Section> {
    assert_eq!(&elf[..6], b"\x7fELF\x01\x01", "a little-endian ELF32 file");
    let shoff = u32_at(elf, 0x20) as usize;
    let (shentsize, shnum) = (u16_at(elf, 0x2e) as usize, u16_at(elf, 0x30) as usize);
    (0..shnum)
        .map(|i| {
            let sh = shoff + i * shentsize;
            Section {
                name: u32_at(elf, sh) as usize,
                kind: u32_at(elf, sh + 4),
                flags: u32_at(elf, sh + 8),
                offset: u32_at(elf, sh + 16) as usize,
                size: u32_at(elf, sh + 20) as usize,
                link: u32_at(elf, sh + 24) as usize,
            }
        })
        .collect()
}

/// The NUL-terminated string at `at` of a string table.
fn c_str(elf: &[u8], table: &Section, at: usize) -> String {
    let bytes = &elf[table.offset + at..table.offset + table.size];
    let end = bytes.iter().position(|&b| b == 0).unwrap();
    String::from_utf8(bytes[..end].to_vec()).unwrap()
}

/// `.text`-like, `.data`-like and `.bss`-like bytes of an ELF32 (what `size` prints).
fn section_sizes(elf: &[u8]) -> (u64, u64, u64) {
    const ALLOC: u32 = 2;
    const WRITE: u32 = 1;
    const NOBITS: u32 = 8;
    let (mut text, mut data, mut bss) = (0, 0, 0);
    for s in sections(elf).iter().filter(|s| s.flags & ALLOC != 0) {
        let size = s.size as u64;
        if s.kind == NOBITS {
            bss += size;
        } else if s.flags & WRITE != 0 {
            data += size;
        } else {
            text += size;
        }
    }
    (text, data, bss)
}

/// A defmt interned string: its tag (`defmt_info`, `defmt_derived`, …), its crate's package
/// and its format string.
#[derive(Debug)]
struct Interned {
    tag: String,
    package: String,
    format: String,
}

/// The ELF's defmt table: the symbols of its `.defmt` section. A symbol's value is the
/// string's index (what a frame starts with); its name is a JSON object with the format
/// string, or, for `_defmt_encoding_ = rzcobs` and the like, `name = value`. Returns the
/// interned strings by index and the plain `name = value` symbols.
fn defmt_table(elf: &[u8]) -> (HashMap<u16, Interned>, Vec<String>) {
    const SYMTAB: u32 = 2;
    let sections = sections(elf);
    let shstrtab = &sections[u16_at(elf, 0x32) as usize];
    let defmt = sections
        .iter()
        .position(|s| c_str(elf, shstrtab, s.name) == ".defmt")
        .expect("the firmware has a .defmt section (built with its `defmt` feature)");
    let symtab = sections
        .iter()
        .find(|s| s.kind == SYMTAB)
        .expect("a symbol table");
    let strtab = &sections[symtab.link];
    let (mut interned, mut plain) = (HashMap::new(), Vec::new());
    for sym in (symtab.offset..symtab.offset + symtab.size).step_by(16) {
        if u16_at(elf, sym + 14) as usize != defmt {
            continue;
        }
        let name = c_str(elf, strtab, u32_at(elf, sym) as usize);
        if !name.starts_with('{') {
            plain.push(name);
            continue;
        }
        let json: serde_json::Value = serde_json::from_str(&name).unwrap();
        let field = |k: &str| json[k].as_str().unwrap().to_owned();
        let index = u16::try_from(u32_at(elf, sym + 4)).unwrap();
        let entry = Interned {
            tag: field("tag"),
            package: field("package"),
            format: field("data"),
        };
        assert!(
            interned.insert(index, entry).is_none(),
            "index {index} twice"
        );
    }
    (interned, plain)
}

/// Undoes defmt's rzCOBS (reverse, zero-compressing COBS) on one frame without its `0x00`
/// separator: the control bytes follow their data, so it is read from the end.
fn rzcobs_decode(frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut bytes = frame.iter().rev().copied();
    let byte = |bytes: &mut dyn Iterator<Item = u8>| bytes.next().expect("truncated frame");
    while let Some(control) = bytes.next() {
        match control {
            0 => panic!("0x00 inside an rzCOBS frame"),
            // Seven bytes, bit 6 first: a set bit is a zero, a clear one a byte of the stream.
            0x01..=0x7f => {
                for bit in (0..7).rev() {
                    let zero = control & (1 << bit) != 0;
                    out.push(if zero { 0 } else { byte(&mut bytes) });
                }
            }
            // `n + 7` bytes, then a zero (read backwards: the zero first).
            0x80..=0xfe => {
                out.push(0);
                for _ in 0..(control & 0x7f) + 7 {
                    out.push(byte(&mut bytes));
                }
            }
            0xff => {
                for _ in 0..134 {
                    out.push(byte(&mut bytes));
                }
            }
        }
    }
    out.reverse();
    out
}

/// Decodes the firmware's log: `LEVEL message` per frame. A frame is the interned string's
/// index (`u16`, little-endian; the firmware sets no timestamp) and its arguments; the
/// firmware's lines use `{=u32}` only (4 bytes, little-endian), and rzCOBS may leave zeros
/// after them.
fn decode_log(log: &[u8], table: &HashMap<u16, Interned>) -> Vec<String> {
    log.split(|&b| b == 0)
        .filter(|frame| !frame.is_empty())
        .map(|frame| {
            let raw = rzcobs_decode(frame);
            let index = u16::from_le_bytes([raw[0], raw[1]]);
            let entry = table
                .get(&index)
                .unwrap_or_else(|| panic!("frame {raw:02x?}"));
            let level = entry.tag.strip_prefix("defmt_").unwrap().to_uppercase();
            let mut args = &raw[2..];
            let mut message = String::new();
            let mut rest = entry.format.as_str();
            while let Some(at) = rest.find('{') {
                message.push_str(&rest[..at]);
                let end = at + rest[at..].find('}').unwrap() + 1;
                assert_eq!(&rest[at..end], "{=u32}", "in {:?}", entry.format);
                let (value, after) = args.split_at(4);
                message.push_str(&u32::from_le_bytes(value.try_into().unwrap()).to_string());
                args = after;
                rest = &rest[end..];
            }
            message.push_str(rest);
            assert!(args.iter().all(|&b| b == 0), "bytes left in {raw:02x?}");
            format!("{level} {message}")
        })
        .collect()
}

#[test]
fn cosim_m4_logs_through_defmt_on_its_own_channel() {
    let elf = std::fs::read(firmware()).unwrap();
    let (table, plain) = defmt_table(&elf);
    assert!(
        plain.iter().any(|s| s == "_defmt_encoding_ = rzcobs"),
        "the frames are rzCOBS-encoded (what decode_log reads); .defmt symbols: {plain:?}"
    );
    // The core's and the board's defmt features are on: the core's log line on this
    // firmware's path (a failed commit, `core/src/memory/topology.rs`) is interned as a
    // defmt warning, and the boards' error types derive `defmt::Format`. (The core's other
    // lines, owner destroy and IRQ disconnect, are on paths this firmware never links.)
    assert!(
        table.values().any(|s| s.package == "fief-core"
            && s.tag == "defmt_warn"
            && s.format == "memory: commit kept the old flat view: {}"),
        "fief-core's log lines go to defmt: {table:#?}"
    );
    assert!(
        table
            .values()
            .any(|s| s.package == "fief-boards" && s.tag == "defmt_derived"),
        "fief-boards derives defmt::Format: {table:#?}"
    );

    let run = run_on_qemu(firmware());
    assert_eq!(
        run.stdout, "hello from the RV32 guest on mcu32\n6 * 7 = 0x2a\n",
        "only the guest's console on the UART: the log has a channel of its own"
    );
    assert_eq!(run.status, Some(42));
    let guest =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/mcu32/hello.bin"))
            .unwrap()
            .len();
    assert_eq!(
        decode_log(&run.defmt, &table),
        [
            format!(
                "INFO cosim: board built; guest flash {} bytes, SRAM 4096 bytes",
                (guest + 3) & !3
            ),
            format!("INFO cosim: guest started ({guest} bytes)"),
            "INFO cosim: guest finished with status 42".to_owned(),
        ],
        "the firmware's defmt log ({} bytes in {DEFMT_FILE})",
        run.defmt.len()
    );
}

#[test]
fn cosim_m4_fits_its_flash_and_ram_budget() {
    let elf = std::fs::read(firmware()).unwrap();
    let (text, data, bss) = section_sizes(&elf);
    let (flash, ram) = (text + data, data + bss);
    println!("cosim-m4: text {text}, data {data}, bss {bss}; flash {flash}, RAM {ram} bytes");
    assert!(
        flash <= FLASH_BUDGET,
        "co-simulation firmware flash {flash} B is over its budget of {FLASH_BUDGET} B \
         (docs/cosim.md); text {text}, data {data}"
    );
    assert!(
        ram <= RAM_BUDGET,
        "co-simulation firmware RAM {ram} B is over its budget of {RAM_BUDGET} B \
         (docs/cosim.md); data {data}, bss {bss}"
    );
}
