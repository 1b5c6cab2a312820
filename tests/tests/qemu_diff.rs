//! Differential runs: every guest image of `tests/firmware/` on QEMU
//! (`qemu-system-riscv32 -M virt -bios none`) and on Fief's test machine must print the
//! same console output and end with the same exit status.
//!
//! `misaligned` is not here: it checks Fief's documented behaviour (misaligned loads and
//! stores raise address-misaligned exceptions), while QEMU performs misaligned plain loads
//! and stores, so that image is Fief-only (see `riscv_firmware.rs`).
//!
//! QEMU is required: if `qemu-system-riscv32` is missing these tests fail (install
//! `qemu-system-misc`; `scripts/test-all` does).
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fief_tests::machine::run_image;

const QEMU: &str = "qemu-system-riscv32";
const QEMU_TIMEOUT: Duration = Duration::from_secs(20);
const BUDGET: u64 = 20_000_000;

fn image(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(format!("{name}.elf"))
}

/// Console output and exit status of `image` on QEMU.
fn qemu(image: &PathBuf) -> (String, Option<i32>) {
    let mut child = match Command::new(QEMU)
        .args([
            "-M",
            "virt",
            "-bios",
            "none",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args(["-serial", "stdio", "-kernel"])
        .arg(image)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!(
            "cannot run {QEMU} ({e}): the differential tests need it; install it with \
             `apt-get install qemu-system-misc` (scripts/test-all does)"
        ),
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.read_to_end(&mut out).unwrap();
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > QEMU_TIMEOUT {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!(
                "{QEMU} did not finish {} within {QEMU_TIMEOUT:?}",
                image.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = reader.join().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(err.is_empty(), "{QEMU} wrote to stderr:\n{err}");
    (String::from_utf8_lossy(&out).into_owned(), status.code())
}

fn diff(name: &str) {
    let path = image(name);
    let (q_console, q_status) = qemu(&path);
    let (f_exit, f_console) = run_image(&path, BUDGET).unwrap();
    // The finisher's code becomes QEMU's process exit status, which keeps 8 bits.
    let f_status = f_exit.map(|code| (code & 0xff) as i32);
    assert_eq!(
        (f_console.as_str(), f_status),
        (q_console.as_str(), q_status),
        "{name}: Fief (left) and QEMU (right) differ"
    );
    // Both must actually pass: a diff of two identical failures proves nothing.
    assert_eq!(q_status, Some(0), "{name} fails on QEMU:\n{q_console}");
}

macro_rules! diff_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                diff(stringify!($name));
            }
        )*
    };
}

diff_tests!(
    isa_rv32i_alu,
    isa_rv32i_branch_jump,
    isa_rv32i_loadstore,
    isa_rv32m,
    isa_rv32a,
    isa_rv32c,
    priv_csr,
    priv_traps,
    priv_interrupts,
    priv_sv32,
    illegal,
    // The C workload of the hart benchmark (`tests/benches/hart.rs`) with 20 iterations
    // instead of 5000: its checksum line covers list, state-machine, matrix and CRC kernels.
    bench_mix_small,
);
