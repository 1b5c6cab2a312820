//! Co-simulation on a microcontroller: builds the firmware in `tests/cosim-m4` (fief-core and
//! fief-boards on a Cortex-M4, everything in statics, no heap) and runs it on QEMU's
//! `mps2-an386`: the RV32 guest's UART output must come out of the microcontroller's UART
//! and its finisher status must be QEMU's exit status. A second test holds the firmware to
//! the flash/RAM budget of docs/cosim.md.
//!
//! Needs `qemu-system-arm` (Debian's package of that name; `scripts/test-all` installs it)
//! and the `thumbv7em-none-eabihf` rustup target: without them these tests fail, saying
//! what is missing; they never skip.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Flash budget: `.vector_table + .text + .rodata + .data` (initial values), in bytes.
const FLASH_BUDGET: u64 = 80 * 1024;
/// RAM budget: `.data + .bss` (the hart, the board and its pools, the guest's flash and
/// SRAM copies), in bytes. The stack comes on top.
const RAM_BUDGET: u64 = 96 * 1024;

fn crate_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cosim-m4")
}

/// Builds the firmware once per test process; returns the ELF's path.
fn firmware() -> &'static Path {
    static ELF: OnceLock<PathBuf> = OnceLock::new();
    ELF.get_or_init(|| {
        let dir = crate_dir();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        // The firmware's own .cargo/config.toml sets its target, linker script and runner;
        // flags or a target dir inherited from the outer build would override them.
        let status = Command::new(cargo)
            .args(["build", "--release", "--target-dir", "target"])
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
}

fn run_on_qemu(elf: &Path) -> QemuRun {
    let mut child = match Command::new("qemu-system-arm")
        .args(["-M", "mps2-an386", "-nographic", "-semihosting", "-kernel"])
        .arg(elf)
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
    QemuRun {
        status: status.code(),
        stdout,
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

/// `.text`-like, `.data`-like and `.bss`-like bytes of an ELF32 (what `size` prints).
fn section_sizes(elf: &[u8]) -> (u64, u64, u64) {
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(elf[o..o + 4].try_into().unwrap()) as u64;
    assert_eq!(&elf[..5], b"\x7fELF\x01", "an ELF32 file");
    let shoff = u32_at(0x20) as usize;
    let (shentsize, shnum) = (u16_at(0x2e), u16_at(0x30));
    let (mut text, mut data, mut bss) = (0, 0, 0);
    for i in 0..shnum {
        let sh = shoff + i * shentsize;
        let (kind, flags, size) = (u32_at(sh + 4), u32_at(sh + 8), u32_at(sh + 20));
        const ALLOC: u64 = 2;
        const WRITE: u64 = 1;
        const NOBITS: u64 = 8;
        if flags & ALLOC == 0 {
            continue;
        }
        if kind == NOBITS {
            bss += size;
        } else if flags & WRITE != 0 {
            data += size;
        } else {
            text += size;
        }
    }
    (text, data, bss)
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
