//! The gdb stub's front door (issue 16): nothing a debugger sends or fails to send ends the
//! run, and a quit never waits for a debugger. Bad checksums get a NAK, garbage between
//! packets is ignored, a malformed command gets `E01`, and the session goes on; a debugger
//! that goes away lets the guest run on and the next one is served; `Ctrl-A x` and the
//! monitor's `quit` end a run that waits for a debugger (`-S`) or has one attached.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

mod gdb_client;

use gdb_client::Rsp;

fn firmware(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(name)
}

/// Starts `fief run` on spin.elf (a guest that never ends) with a gdb server on a free
/// port; returns the child, the server's address, and the rest of its stderr as lines.
fn spin(extra: &[&str], stdin: Stdio) -> (Child, String, mpsc::Receiver<String>) {
    guest("spin.elf", extra, stdin)
}

/// Like [`spin`] with the image `name`.
fn guest(name: &str, extra: &[&str], stdin: Stdio) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "--bios", "none", "--kernel"])
        .arg(firmware(name))
        .args(["--gdb", "tcp::0"])
        .args(extra)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr: BufReader<ChildStderr> = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let rest = line
        .trim()
        .strip_prefix("fief: gdb server on ")
        .unwrap_or_else(|| panic!("{line}"));
    let addr = rest
        .strip_suffix(", waiting for the debugger")
        .unwrap_or(rest)
        .to_string();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, addr, rx)
}

/// The exit status once `child` ends (within 10 s, or the test fails).
fn exits(child: &mut Child) -> Option<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn still_running(child: &mut Child) -> bool {
    std::thread::sleep(Duration::from_millis(300));
    child.try_wait().unwrap().is_none()
}

#[test]
fn bad_packets_get_a_nak_or_an_error_and_the_session_goes_on() {
    let (mut child, addr, _stderr) = spin(&["-S"], Stdio::null());
    let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
    let stop = gdb.send("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    // A wrong checksum: NAK, and the packet is not acted on.
    gdb.raw(b"$?#00");
    assert_eq!(gdb.byte(), b'-');
    // A checksum that is not hex: NAK.
    gdb.raw(b"$g#zz");
    assert_eq!(gdb.byte(), b'-');
    // Garbage between packets is ignored.
    gdb.raw(b"hello\xff\x00");
    // A known command with arguments it cannot parse: an error reply.
    assert_eq!(gdb.send("mzz,qq"), "E01");
    // An over-long packet: NAK.
    let long = "m".repeat(5000);
    let sum = long.bytes().fold(0u8, |a, b| a.wrapping_add(b));
    gdb.raw(format!("${long}#{sum:02x}").as_bytes());
    assert_eq!(gdb.byte(), b'-');
    // The session goes on.
    let regs = gdb.send("g");
    assert_eq!(regs.len(), 33 * 8, "{regs}");
    assert!(still_running(&mut child));
    // No-ack mode survives a restart of the stub after a malformed command.
    assert_eq!(gdb.send("QStartNoAckMode"), "OK");
    assert_eq!(gdb.send("mzz,qq"), "E01");
    gdb.raw(b"$g#67");
    assert_eq!(gdb.packet().len(), 33 * 8);
    gdb.raw(b"$?#3f");
    let stop = gdb.packet();
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    gdb.raw(b"$k#6b");
    assert_eq!(exits(&mut child), Some(0));
}

#[test]
fn a_debugger_that_goes_away_lets_the_guest_run_and_the_next_one_is_served() {
    let (mut child, addr, stderr) = spin(&["-S"], Stdio::null());
    let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
    let stop = gdb.send("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    let pc1 = gdb.send("g")[32 * 8..].to_string();
    // Gone in the middle of a packet.
    gdb.raw(b"$m8000");
    drop(gdb);
    assert!(still_running(&mut child), "the run ended with the debugger");
    let line = stderr.recv_timeout(Duration::from_secs(10)).unwrap();
    assert!(line.contains("the debugger went away"), "{line}");
    // The guest ran on: the next debugger finds it elsewhere in its loop, or at least
    // stopped by the attach.
    let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
    let stop = gdb.send("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    let pc2 = gdb.send("g")[32 * 8..].to_string();
    assert_eq!(pc2.len(), pc1.len());
    // Gone while the guest runs.
    gdb.raw(b"$c#63");
    std::thread::sleep(Duration::from_millis(50));
    drop(gdb);
    assert!(still_running(&mut child));
    let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
    assert!(gdb.send("?").len() >= 3);
    gdb.raw(b"$k#6b");
    assert_eq!(exits(&mut child), Some(0));
}

#[test]
fn ctrl_a_x_ends_a_run_waiting_for_its_debugger() {
    let (mut child, _addr, _stderr) = spin(&["-S"], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    assert!(still_running(&mut child));
    stdin.write_all(b"\x01x").unwrap();
    assert_eq!(exits(&mut child), Some(0));
}

#[test]
fn ctrl_a_x_ends_a_run_with_an_idle_debugger_attached() {
    let (mut child, addr, _stderr) = spin(&["-S"], Stdio::piped());
    let mut stdin = child.stdin.take().unwrap();
    let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
    assert!(gdb.send("?").len() >= 3);
    stdin.write_all(b"\x01x").unwrap();
    assert_eq!(exits(&mut child), Some(0));
}

#[test]
fn monitor_quit_ends_a_run_waiting_for_or_attached_to_a_debugger() {
    for attached in [false, true] {
        let dir = std::env::temp_dir().join(format!("fief-gdbq-{}-{attached}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("mon.sock");
        let spec = format!("unix:{}", sock.display());
        let (mut child, addr, _stderr) = spin(&["-S", "--monitor", &spec], Stdio::null());
        let _gdb = attached.then(|| {
            let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
            assert!(gdb.send("?").len() >= 3);
            gdb
        });
        let mut mon = UnixStream::connect(&sock).unwrap();
        mon.write_all(b"quit\n").unwrap();
        assert_eq!(exits(&mut child), Some(0), "attached: {attached}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[test]
fn a_debugger_that_goes_away_takes_its_hardware_points_with_it() {
    // uart.elf runs to its end; a hardware breakpoint on its first instruction, left
    // behind by a debugger that went away, would stop it there for good.
    let (mut child, addr, _stderr) = guest("uart.elf", &["-S", "--serial", "null"], Stdio::null());
    let mut gdb = Rsp::connect(&addr, Duration::from_secs(20));
    assert!(gdb.send("?").len() >= 3);
    assert_eq!(gdb.send("Z1,80000000,4"), "OK");
    assert_eq!(gdb.send("Z2,80001000,4"), "OK");
    drop(gdb);
    assert_eq!(exits(&mut child), Some(0), "the guest ran to its end");
}
