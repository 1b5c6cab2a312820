//! The console never stalls (issue 17, item 7): `host/firmware/thre.elf` prints 300 lines
//! through the UART's THR-empty interrupt, claimed and completed at the PLIC's S context as
//! Linux's 8250 driver does, under an M-mode timer forwarding that does OpenSBI's
//! `csrs`/`csrc mip, STIP` while the UART holds SEIP high. Each run has its standard input
//! on an open pipe on which nothing is written (the console thread blocked in `read`), as
//! when the stall was seen. A run that stalls in an interrupt storm fails the guest with
//! code 3 (or hits the timeout); every run must print every line and exit 0. (The same
//! image is diffed against QEMU in `qemu_diff.rs`.)
#![allow(clippy::unwrap_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs of the image (each takes a few tens of milliseconds).
const RUNS: usize = 32;

fn expected() -> String {
    let mut text = String::new();
    for n in 0..300 {
        text.push_str(&format!(
            "line {n:04}: the quick brown fox jumps over the lazy dog\n"
        ));
    }
    text.push_str("thre ok\n");
    text
}

/// One run with stdin on an open, idle pipe; (stdout, exit status, stderr).
fn run_with_idle_stdin(image: &Path) -> (String, Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "-M", "virt32", "--bios", "none", "--kernel"])
        .arg(image)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Held open, never written, until the run has ended.
    let stdin = child.stdin.take();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    drop(stdin);
    let mut err = String::new();
    let _ = child.stderr.take().unwrap().read_to_string(&mut err);
    (reader.join().unwrap(), status, err)
}

#[test]
fn thre_interrupt_console_with_idle_open_stdin_never_stalls() {
    let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/thre.elf");
    let want = expected();
    for run in 0..RUNS {
        let (out, status, err) = run_with_idle_stdin(&image);
        assert_eq!(
            status,
            Some(0),
            "run {run}: exit status (None: killed after 20 s); stderr: {err}; last output: {:?}",
            &out[out.len().saturating_sub(120)..]
        );
        assert!(out == want, "run {run}: output differs:\n{out}");
    }
}
