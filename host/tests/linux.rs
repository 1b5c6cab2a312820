//! A Linux guest: Debian's 6.12 kernel built for rv32 by `scripts/build-linux` (config
//! `tests/linux/common.config` + `rv32.config`, `/init` from `tests/linux/init.c`) boots on Fief with the
//! bundled SBI firmware (no `-bios`) to init's last line and powers off (exit 0), with one and
//! four harts; QEMU runs the same kernel with the same firmware (`-bios fief-sbi.elf`: QEMU
//! 7.2 as Debian ships it has no riscv32 OpenSBI) and init prints the same lines.
//!
//! The rv64 kernel (`scripts/build-linux --rv64`) boots on `virt64` with Debian's OpenSBI, a
//! virtio-blk ext2 disk, virtio-rng and a virtio-net card on a UDP link to an echoing peer in
//! the test, against `qemu-system-riscv64 -M virt` with the same
//! command line.
//!
//! `scripts/test-all` builds the kernels before nextest runs; here a missing kernel is a
//! failure that says how to build it, never a skip.
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fief_tests::qemu::{qemu_bios, qemu_run, QEMU64};

/// The command line: the 16550 console, SBI earlycon, and only warnings and worse from
/// the kernel on the console (`loglevel=4`). Without that, the register dump the kernel
/// prints for init's deliberately unhandled SIGSEGV (`show_unhandled_signals`, at the
/// default level) can land in the middle of a line init wrote just before, which the
/// serial driver was still sending: a race of the guest's, on QEMU as on Fief, that split
/// "init: child caught SIGSEGV" once in a 4-hart boot.
const APPEND: &str = "console=ttyS0 earlycon=sbi loglevel=4";
/// Wall time a boot may take (an unoptimised `fief` on a busy 2-core machine).
const TIMEOUT: Duration = Duration::from_secs(1800);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The rv32 kernel `scripts/build-linux` built for the current inputs.
fn kernel() -> PathBuf {
    built_kernel(&[])
}

/// The kernel `scripts/build-linux ARGS` built for the current inputs.
fn built_kernel(args: &[&str]) -> PathBuf {
    let out = Command::new(repo().join("scripts/build-linux"))
        .args(args)
        .arg("--path")
        .output()
        .expect("run scripts/build-linux --path");
    assert!(out.status.success(), "scripts/build-linux --path failed");
    let path = PathBuf::from(String::from_utf8(out.stdout).unwrap().trim());
    assert!(
        path.is_file(),
        "the Linux guest is not built ({} is missing): run scripts/build-linux {} (scripts/test-all \
         does, before the tests)",
        path.display(),
        args.join(" ")
    );
    path
}

/// Runs `fief` with `args`, stdin closed, killed after [`TIMEOUT`]; console and status.
fn fief(args: &[&str]) -> (String, Option<i32>, Duration) {
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            let out = reader.join().unwrap_or_default();
            panic!(
                "fief {args:?} did not finish within {TIMEOUT:?}; console:\n{}",
                String::from_utf8_lossy(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().unwrap_or_default();
    (
        String::from_utf8_lossy(&out).into_owned(),
        status.code(),
        start.elapsed(),
    )
}

/// The lines `/init` printed (each starts with `init: `), wherever the kernel's own lines
/// fell between them.
fn init_lines(console: &str) -> Vec<String> {
    console
        .lines()
        .map(|l| l.trim_matches('\r'))
        .filter(|l| l.starts_with("init: "))
        .map(str::to_string)
        .collect()
}

/// The hart count init read from `/proc/cpuinfo` (its `init: cpuinfo: N harts` line).
fn harts_seen(console: &str) -> Option<usize> {
    init_lines(console).iter().find_map(|l| {
        l.strip_prefix("init: cpuinfo: ")?
            .split(' ')
            .next()?
            .parse()
            .ok()
    })
}

/// QEMU's side of a comparison with `harts` harts: `boot` runs it once and `console` picks
/// its console out of what `boot` returns. On a busy machine QEMU's secondary harts can fail
/// to come online within the kernel's wait (their threads starved by the tests beside it:
/// seen once in CI, init then reports `1 harts` for `-smp 2`), which says nothing about Fief;
/// such a reference is run again, up to three runs in all. The reference must end with every
/// hart, and Fief's side is never run again.
fn qemu_reference<T>(harts: usize, mut boot: impl FnMut() -> T, console: impl Fn(&T) -> &str) -> T {
    let mut run = 1;
    loop {
        let reference = boot();
        let seen = harts_seen(console(&reference));
        if seen == Some(harts) || run == 3 {
            assert_eq!(
                seen,
                Some(harts),
                "QEMU's reference lost harts in {run} runs; console:\n{}",
                console(&reference)
            );
            return reference;
        }
        eprintln!("QEMU's reference reported {seen:?} of {harts} harts: running it again");
        run += 1;
    }
}

/// A reference that lost a hart is run again and the full one is kept; one that keeps losing
/// it fails after three runs (no kernel needed: the boots are stand-ins).
#[test]
fn a_qemu_reference_that_lost_a_hart_is_run_again() {
    let boots = [
        "init: cpuinfo: 1 harts, mmu sv39\n",
        "init: cpuinfo: 2 harts, mmu sv39\n",
    ];
    let mut runs = 0;
    let kept = qemu_reference(
        2,
        || {
            runs += 1;
            boots[runs - 1].to_string()
        },
        String::as_str,
    );
    assert_eq!((runs, harts_seen(&kept)), (2, Some(2)));
    let lost = std::panic::catch_unwind(|| {
        qemu_reference(2, || boots[0].to_string(), String::as_str);
    });
    assert!(
        lost.is_err(),
        "a reference that always lost a hart was kept"
    );
}

/// Boots the kernel on Fief with `harts` harts and the bundled firmware; checks init passed
/// and the run ended with the power-off; returns init's lines.
fn boots_on_fief(harts: &str) -> Vec<String> {
    let image = kernel();
    let args = [
        "run",
        "-M",
        "virt32",
        "-m",
        "128M",
        "--smp",
        harts,
        "--no-reboot",
        "--kernel",
        image.to_str().unwrap(),
        "--append",
        APPEND,
    ];
    let (console, status, took) = fief(&args);
    let lines = init_lines(&console);
    assert_eq!(
        lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on Fief with {harts} hart(s); console:\n{console}"
    );
    assert!(
        lines.contains(&format!("init: cpuinfo: {harts} harts, mmu sv32")),
        "{console}"
    );
    assert_eq!(status, Some(0), "the power-off; console:\n{console}");
    assert!(console.contains("reboot: Power down"), "{console}");
    eprintln!("Linux on Fief, {harts} hart(s): firmware to power-off in {took:?}");
    lines
}

#[test]
fn linux_boots_to_init_and_powers_off_with_one_hart() {
    boots_on_fief("1");
}

#[test]
fn linux_boots_with_four_harts_and_init_prints_the_same_as_on_qemu() {
    let image = kernel();
    let firmware = repo().join("firmware/sbi/fief-sbi.elf");
    let start = Instant::now();
    let (q_console, q_status) = qemu_reference(
        4,
        || {
            qemu_bios(
                &firmware,
                &["-m", "128M", "-smp", "4", "-no-reboot", "-append", APPEND],
                &image,
                TIMEOUT,
            )
        },
        |(console, _)| console,
    );
    eprintln!(
        "Linux on QEMU, 4 harts: firmware to power-off in {:?}",
        start.elapsed()
    );
    let q_lines = init_lines(&q_console);
    assert_eq!(
        q_lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on QEMU; console:\n{q_console}"
    );
    assert_eq!(q_status, Some(0), "QEMU's power-off");
    let f_lines = boots_on_fief("4");
    assert_eq!(
        f_lines, q_lines,
        "init's lines differ between Fief (left) and QEMU (right)"
    );
}

// ---- the rv64 guest on virt64 -------------------------------------------------------------

/// Debian's OpenSBI for the generic platform (package `opensbi`), the firmware of the rv64
/// guest on both machines.
const OPENSBI64: &str = "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin";

/// The rv64 kernel with no `-bios`, as a `qemu-system-riscv64 -M virt -kernel Image` user
/// runs it: Fief's bundled RV64 SBI firmware (`firmware/sbi/fief-sbi64.elf`) boots it on one
/// hart to init's last line and the power-off; QEMU runs the same kernel with the same
/// firmware (`-bios fief-sbi64.elf`), and init prints the same lines on both.
#[test]
fn linux64_boots_on_the_bundled_rv64_firmware_as_on_qemu() {
    let image = built_kernel(&["--rv64"]);
    let firmware = repo().join("firmware/sbi/fief-sbi64.elf");
    // init reads /dev/hwrng, which the rv64 kernel always has: give it virtio-rng.
    let common = [
        "-m",
        "256M",
        "-no-reboot",
        "-append",
        APPEND,
        "-device",
        "virtio-rng-device",
    ];
    let (q_console, q_status) = qemu_run(QEMU64, &firmware, &common, &image, TIMEOUT);
    let q_lines = init_lines(&q_console);
    assert_eq!(
        q_lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on QEMU; console:\n{q_console}"
    );
    assert_eq!(q_status, Some(0), "QEMU's power-off");
    let (console, status, took) = fief(&[
        "run",
        "-M",
        "virt64",
        "-m",
        "256M",
        "--no-reboot",
        "--kernel",
        image.to_str().unwrap(),
        "--append",
        APPEND,
        "-device",
        "virtio-rng-device",
    ]);
    eprintln!("rv64 Linux on Fief's bundled firmware, 1 hart: to power-off in {took:?}");
    assert!(
        console.contains("fief-sbi: RustSBI") && console.contains("starts at 0x80200000 in S mode"),
        "the bundled RV64 firmware did not start the kernel:\n{console}"
    );
    assert_eq!(status, Some(0), "the power-off; console:\n{console}");
    assert_eq!(
        init_lines(&console),
        q_lines,
        "init's lines differ between Fief (left) and QEMU (right)"
    );
}

/// The 64 KiB init writes to `/written.bin` on the disk (tests/linux/init.c, `check_disk`).
fn written_pattern() -> Vec<u8> {
    let mut s: u32 = 777;
    (0..65536)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 24) as u8
        })
        .collect()
}

/// A fresh 4 MiB ext2 disk image in `dir` holding `/hello.txt`, made by `mke2fs -d`.
fn make_disk(dir: &Path, name: &str) -> PathBuf {
    let root = dir.join(format!("{name}-root"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(root.join("hello.txt"), "hello from the host\n").unwrap();
    let disk = dir.join(format!("{name}.img"));
    let status = Command::new("mke2fs")
        .args(["-q", "-F", "-t", "ext2", "-d"])
        .arg(&root)
        .arg(&disk)
        .arg("4M")
        .stdout(Stdio::null())
        .status()
        .expect("run mke2fs (package e2fsprogs)");
    assert!(status.success(), "mke2fs failed");
    disk
}

/// A file's contents inside an ext2 image, read by `debugfs` (no mount, no privileges).
fn read_from_disk(disk: &Path, file: &str) -> Vec<u8> {
    let out = Command::new("debugfs")
        .arg("-R")
        .arg(format!("cat {file}"))
        .arg(disk)
        .stderr(Stdio::null())
        .output()
        .expect("run debugfs (package e2fsprogs)");
    assert!(out.status.success(), "debugfs cat {file} failed");
    out.stdout
}

/// The virtio devices of the rv64 run: the disk as a writable virtio-blk drive, virtio-rng,
/// and a virtio-net card on a UDP link to `peer` (QEMU's default MAC on both).
fn virtio_args(disk: &Path, peer: &EchoPeer) -> Vec<String> {
    vec![
        "-drive".into(),
        format!("file={},format=raw,if=none,id=d0", disk.display()),
        "-device".into(),
        "virtio-blk-device,drive=d0".into(),
        "-device".into(),
        "virtio-rng-device".into(),
        "-netdev".into(),
        format!(
            "socket,id=n0,udp=127.0.0.1:{},localaddr=127.0.0.1:{}",
            peer.port, peer.guest_port
        ),
        "-device".into(),
        "virtio-net-device,netdev=n0".into(),
    ]
}

/// The host's end of the guest's link: answers ARP for 10.0.2.2 and echoes UDP datagrams
/// to 10.0.2.2:7 with every payload byte xor 0x5a (what init's `check_net` expects).
struct EchoPeer {
    /// The peer's UDP port (the guest's `udp=`).
    port: u16,
    /// The port the guest's netdev binds (`localaddr=`; free a moment ago).
    guest_port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<u32>>,
}

const PEER_MAC: [u8; 6] = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];
const PEER_IP: [u8; 4] = [10, 0, 2, 2];

/// The reply to one frame from the guest, if it wants one.
fn echo_reply(f: &[u8]) -> Option<Vec<u8>> {
    if f.len() < 42 {
        return None;
    }
    let mut r = Vec::new();
    r.extend_from_slice(&f[6..12]);
    r.extend_from_slice(&PEER_MAC);
    match (f[12], f[13]) {
        // ARP request for 10.0.2.2.
        (0x08, 0x06) if f[20..22] == [0, 1] && f[38..42] == PEER_IP => {
            r.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]);
            r.extend_from_slice(&PEER_MAC);
            r.extend_from_slice(&PEER_IP);
            r.extend_from_slice(&f[22..32]); // the asker's MAC and IP
            Some(r)
        }
        // IPv4 UDP to 10.0.2.2:7.
        (0x08, 0x00) => {
            let ihl = usize::from(f[14] & 15) * 4;
            let udp = 14 + ihl;
            if f[23] != 17
                || f[30..34] != PEER_IP
                || f.len() < udp + 8
                || f[udp + 2..udp + 4] != [0, 7]
            {
                return None;
            }
            let len = usize::from(u16::from_be_bytes([f[udp + 4], f[udp + 5]]));
            let payload = f.get(udp + 8..udp + len)?;
            r.extend_from_slice(&[0x08, 0x00]);
            let total = (20 + 8 + payload.len()) as u16;
            let mut ip = vec![0x45, 0];
            ip.extend_from_slice(&total.to_be_bytes());
            ip.extend_from_slice(&[0, 0, 0, 0, 64, 17, 0, 0]);
            ip.extend_from_slice(&PEER_IP);
            ip.extend_from_slice(&f[26..30]);
            let sum: u32 = ip
                .chunks(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            let sum = (sum & 0xffff) + (sum >> 16);
            let sum = !((sum & 0xffff) + (sum >> 16)) as u16;
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            r.extend_from_slice(&ip);
            r.extend_from_slice(&[0, 7]);
            r.extend_from_slice(&f[udp..udp + 2]);
            r.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            r.extend_from_slice(&[0, 0]); // no UDP checksum (allowed over IPv4)
            r.extend(payload.iter().map(|b| b ^ 0x5a));
            Some(r)
        }
        _ => None,
    }
}

impl EchoPeer {
    fn start() -> EchoPeer {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let guest_port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut echoed = 0;
            let mut buf = vec![0u8; 65536];
            while !stopping.load(Ordering::SeqCst) {
                if let Ok((n, from)) = sock.recv_from(&mut buf) {
                    if let Some(reply) = echo_reply(&buf[..n]) {
                        echoed += u32::from(reply[12..14] == [0x08, 0x00]);
                        let _ = sock.send_to(&reply, from);
                    }
                }
            }
            echoed
        });
        EchoPeer {
            port,
            guest_port,
            stop,
            thread: Some(thread),
        }
    }

    /// Stops the peer; how many datagrams it echoed.
    fn finish(mut self) -> u32 {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().map_or(0, |t| t.join().unwrap())
    }
}

/// The rv64 kernel (`scripts/build-linux --rv64`: FPU, ISA extensions, virtio drivers) on
/// `virt64` with two harts, Debian's OpenSBI, a virtio-blk ext2 disk and virtio-rng: init's
/// checks pass (FP context switching between two processes, the file written, synced and read
/// back), its lines are the ones QEMU's `virt` prints with the same command line, and the file
/// init wrote is on each disk image afterwards, byte for byte.
#[test]
fn linux64_on_virt64_with_a_virtio_disk_prints_the_same_as_on_qemu() {
    let image = built_kernel(&["--rv64"]);
    let dir = std::env::temp_dir().join(format!("fief-linux64-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let (q_console, q_status, q_echoed, q_disk) = qemu_reference(
        2,
        || {
            let q_disk = make_disk(&dir, "qemu");
            let q_peer = EchoPeer::start();
            let q_virtio = virtio_args(&q_disk, &q_peer);
            let mut q_extra = vec!["-m", "256M", "-smp", "2", "-no-reboot", "-append", APPEND];
            q_extra.extend(q_virtio.iter().map(String::as_str));
            let start = Instant::now();
            let (console, status) =
                qemu_run(QEMU64, Path::new(OPENSBI64), &q_extra, &image, TIMEOUT);
            eprintln!(
                "rv64 Linux on QEMU, 2 harts: firmware to power-off in {:?}",
                start.elapsed()
            );
            (console, status, q_peer.finish(), q_disk)
        },
        |(console, ..)| console,
    );
    let q_lines = init_lines(&q_console);
    assert_eq!(
        q_lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on QEMU; console:\n{q_console}"
    );
    assert_eq!(q_status, Some(0), "QEMU's power-off");
    assert!(q_echoed > 0, "QEMU's guest sent no datagram to echo");

    let f_disk = make_disk(&dir, "fief");
    let f_peer = EchoPeer::start();
    let f_virtio = virtio_args(&f_disk, &f_peer);
    let mut args = vec![
        "run",
        "-M",
        "virt64",
        "-m",
        "256M",
        "--smp",
        "2",
        "--no-reboot",
        "-bios",
        OPENSBI64,
        "--kernel",
        image.to_str().unwrap(),
        "--append",
        APPEND,
    ];
    args.extend(f_virtio.iter().map(String::as_str));
    let (console, status, took) = fief(&args);
    eprintln!("rv64 Linux on Fief, 2 harts: firmware to power-off in {took:?}");
    let f_lines = init_lines(&console);
    assert_eq!(
        f_lines.last().map(String::as_str),
        Some("init: all checks passed"),
        "init did not pass on Fief; console:\n{console}"
    );
    assert_eq!(status, Some(0), "the power-off; console:\n{console}");
    assert!(f_peer.finish() > 0, "Fief's guest sent no datagram to echo");
    for want in [
        "init: fp: 2 processes kept their FP registers and fflags across 2000 switches",
        "init: disk: wrote, synced and read back 64 KiB, checksum a2a2f115",
        "init: rng: 64 bytes from /dev/hwrng",
        "init: net: eth0 52:54:00:12:34:56, 10.0.2.15 to 10.0.2.2: 64 bytes echoed",
    ] {
        assert!(
            f_lines.iter().any(|l| l == want),
            "no '{want}' on Fief:\n{console}"
        );
    }
    assert_eq!(
        f_lines, q_lines,
        "init's lines differ between Fief (left) and QEMU (right)"
    );

    let pattern = written_pattern();
    assert!(
        read_from_disk(&f_disk, "/written.bin") == pattern,
        "/written.bin on Fief's disk is not what init wrote"
    );
    assert!(
        read_from_disk(&q_disk, "/written.bin") == pattern,
        "/written.bin on QEMU's disk is not what init wrote"
    );
    assert_eq!(
        read_from_disk(&f_disk, "/hello.txt"),
        b"hello from the host\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
