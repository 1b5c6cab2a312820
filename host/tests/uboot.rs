//! Debian's U-Boot (`u-boot-qemu`) on `virt64`, as on `qemu-system-riscv64 -M virt`: in M
//! mode as the firmware (`-bios u-boot.bin`), and in S mode under Debian's OpenSBI
//! (`-bios fw_dynamic.bin -kernel u-boot.bin`, which finds U-Boot at RAM base + 2 MiB
//! through `fw_dynamic_info`). Each run stops autoboot with a key at U-Boot's countdown,
//! types `version` and an `echo` at the `=>` prompt, and must answer as QEMU answers; the
//! banner lines that do not depend on the hart's ISA or on timing must match too.
//! `scripts/test-all` installs `u-boot-qemu` and `opensbi`.

#![allow(clippy::unwrap_used)]

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

const UBOOT_M: &str = "/usr/lib/u-boot/qemu-riscv64/u-boot.bin";
const UBOOT_S: &str = "/usr/lib/u-boot/qemu-riscv64_smode/u-boot.bin";
const OPENSBI: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/// A debug build boots U-Boot to its prompt in a few seconds (QEMU in one); room for a
/// busy machine.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A guest's console: its output as it arrives, and its input.
struct Console {
    child: Child,
    input: ChildStdin,
    output: Receiver<Vec<u8>>,
    seen: String,
}

impl Console {
    fn spawn(mut command: Command) -> Console {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let mut stdout = child.stdout.take().unwrap();
        let (tx, output) = channel();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        let input = child.stdin.take().unwrap();
        Console {
            child,
            input,
            output,
            seen: String::new(),
        }
    }

    /// Waits until the output after byte `from` holds `text`; returns where it ends.
    fn wait_for(&mut self, from: usize, text: &str) -> usize {
        let start = Instant::now();
        loop {
            if let Some(at) = self.seen.get(from..).and_then(|s| s.find(text)) {
                return from + at + text.len();
            }
            let left = TIMEOUT.saturating_sub(start.elapsed());
            match self.output.recv_timeout(left.min(Duration::from_secs(1))) {
                Ok(bytes) => self.seen.push_str(&String::from_utf8_lossy(&bytes)),
                Err(_) if start.elapsed() < TIMEOUT => {}
                Err(_) => panic!(
                    "no {text:?} within {TIMEOUT:?}; the console said:\n{}",
                    self.seen
                ),
            }
        }
    }

    fn send(&mut self, text: &str) {
        self.input.write_all(text.as_bytes()).unwrap();
        self.input.flush().unwrap();
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a U-Boot session printed: the console up to the first prompt (the banners), and
/// what the two commands answered (from the echo of `version` to the prompt after the
/// `echo`).
struct Session {
    console: String,
    answers: String,
}

/// Boots to U-Boot's prompt under `command`, stops autoboot, types two commands.
fn session(command: Command) -> Session {
    let mut c = Console::spawn(command);
    let at = c.wait_for(0, "Hit any key to stop autoboot");
    c.send(" ");
    let at = c.wait_for(at, "=> ");
    let banners = c.seen[..at].to_string();
    c.send("version\r");
    let asked = c.wait_for(at, "version");
    let at = c.wait_for(asked, "=> ");
    c.send("echo fief says $board_name on $arch\r");
    let end = c.wait_for(at, "on riscv\r\n=> ");
    Session {
        answers: c.seen[asked - "version".len()..end].to_string(),
        console: banners,
    }
}

fn fief(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_fief"));
    c.args(["run", "-M", "virt64", "-m", "256M"]).args(args);
    c
}

fn qemu(args: &[&str]) -> Command {
    let mut c = Command::new("qemu-system-riscv64");
    c.args(["-M", "virt", "-m", "256M", "-nographic", "-monitor", "none"])
        .args(["-serial", "stdio"])
        .args(args);
    c
}

/// The console's lines that start with one of `prefixes`, in order.
fn lines<'s>(console: &'s str, prefixes: &[&str]) -> Vec<&'s str> {
    console
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
        .collect()
}

fn need(path: &str) {
    assert!(
        Path::new(path).exists(),
        "{path} is missing: apt-get install u-boot-qemu opensbi (scripts/test-all does)"
    );
}

/// U-Boot's banner lines that say what the board is, not what the hart or QEMU's extra
/// devices (flash, PCIe) are or how long things took.
const UBOOT_LINES: &[&str] = &["U-Boot 20", "Model:", "DRAM:", "In:", "Out:", "Err:"];

fn compare(fief: &Session, qemu: &Session, prefixes: &[&str]) {
    assert_eq!(
        fief.answers, qemu.answers,
        "U-Boot's answers: Fief (left) and QEMU (right) differ"
    );
    assert!(
        fief.answers.contains("U-Boot 2023.01") && fief.answers.contains("fief says qemu-riscv"),
        "{}",
        fief.answers
    );
    let (f, q) = (
        lines(&fief.console, prefixes),
        lines(&qemu.console, prefixes),
    );
    assert_eq!(f, q, "banner lines: Fief (left) and QEMU (right) differ");
    assert_eq!(q.len(), prefixes.len(), "{}", qemu.console);
}

#[test]
fn m_mode_uboot_answers_at_its_prompt_as_on_qemu() {
    need(UBOOT_M);
    let f = session(fief(&["-bios", UBOOT_M]));
    let q = session(qemu(&["-bios", UBOOT_M]));
    compare(&f, &q, UBOOT_LINES);
}

#[test]
fn opensbi_then_s_mode_uboot_answers_at_its_prompt_as_on_qemu() {
    need(OPENSBI);
    need(UBOOT_S);
    let args = ["-bios", OPENSBI, "-kernel", UBOOT_S];
    let f = session(fief(&args));
    let q = session(qemu(&args));
    // OpenSBI's account of the platform and of the next stage: U-Boot at RAM base + 2 MiB
    // (from fw_dynamic_info), the device tree where QEMU puts it, S mode.
    let mut prefixes = vec![
        "OpenSBI v",
        "Platform Name",
        "Platform HART Count",
        "Platform Console Device",
        "Platform Reboot Device",
        "Platform Shutdown Device",
        "Firmware Base",
        "Domain0 Next Address",
        "Domain0 Next Arg1",
        "Domain0 Next Mode",
        "Boot HART ID",
    ];
    prefixes.extend_from_slice(UBOOT_LINES);
    compare(&f, &q, &prefixes);
    assert!(
        f.console
            .contains("Domain0 Next Address      : 0x0000000080200000"),
        "{}",
        f.console
    );
}
