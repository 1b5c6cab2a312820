//! The monitor's front door (issue 16): `--monitor unix:PATH` replaces only a stale socket
//! and refuses anything else with a clear line; a line is read with a bound (4 KiB), an
//! over-long one answered with an error at once and discarded, on the socket and on the
//! console's `Ctrl-A c` prompt alike.

#![allow(clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn spin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/spin.elf")
}

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fief-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_with_monitor(sock: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "--bios", "none", "--serial", "null", "--kernel"])
        .arg(spin())
        .arg("--monitor")
        .arg(format!("unix:{}", sock.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finished(child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut child = child;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not end");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

fn connect(sock: &Path) -> UnixStream {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(s) = UnixStream::connect(sock) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            return s;
        }
        assert!(Instant::now() < deadline, "no monitor socket");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reads up to and including the next `(fief) ` prompt.
fn until_prompt(s: &mut UnixStream) -> String {
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while !text.ends_with(b"(fief) ") {
        s.read_exact(&mut byte).unwrap();
        text.push(byte[0]);
    }
    String::from_utf8(text).unwrap()
}

#[test]
fn monitor_path_holding_a_file_or_a_live_socket_is_refused_and_left_alone() {
    let d = dir("monfile");
    let file = d.join("precious.txt");
    std::fs::write(&file, "keep me").unwrap();
    let out = finished(run_with_monitor(&file));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("exists and is not a socket: refusing to replace it"),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");

    let live = d.join("live.sock");
    let _listener = UnixListener::bind(&live).unwrap();
    let out = finished(run_with_monitor(&live));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("is a socket in use"), "{err}");
    assert!(
        UnixStream::connect(&live).is_ok(),
        "the live socket is still there"
    );
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_stale_socket_is_replaced_and_over_long_lines_are_refused_at_once() {
    let d = dir("monstale");
    let sock = d.join("mon.sock");
    drop(UnixListener::bind(&sock).unwrap()); // a socket file nobody listens on
    assert!(sock.exists());
    let child = run_with_monitor(&sock);
    let mut s = connect(&sock);
    assert!(until_prompt(&mut s).starts_with("Fief monitor"));
    // 1 MiB and no newline: the error comes before any newline is sent.
    s.write_all(&vec![b'x'; 1 << 20]).unwrap();
    let reply = until_prompt(&mut s);
    assert_eq!(
        reply,
        "Error: line too long (over 4096 bytes): discarded\n(fief) "
    );
    // The rest of that line is skipped; the next line is a command again.
    s.write_all(b"yyyy\ninfo qtree\n").unwrap();
    assert!(until_prompt(&mut s).contains("dev: uart0"));
    s.write_all(b"quit\n").unwrap();
    let out = finished(child);
    assert_eq!(out.status.code(), Some(0));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn console_monitor_prompt_refuses_over_long_lines() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "--bios", "none", "--kernel"])
        .arg(spin())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"\x01c").unwrap();
    stdin.write_all(&vec![b'x'; 5000]).unwrap();
    stdin.write_all(b"\ninfo qtree\nquit\n").unwrap();
    let out = finished(child);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Error: line too long (over 4096 bytes): discarded\n(fief) "),
        "{}",
        &text[..text.len().min(300)]
    );
    assert!(
        !text.contains(&"x".repeat(4097)),
        "the echo stops at the bound"
    );
    assert!(text.contains("dev: uart0"), "the prompt goes on");
    assert_eq!(out.status.code(), Some(0));
}
