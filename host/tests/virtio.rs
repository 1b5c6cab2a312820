//! virtio devices through `fief run` and the monitor: Fief's own bare-metal driver
//! (`firmware/virtio_drv.c`) against QEMU with copies of the same generated disk image
//! (console output, exit status and the disk afterwards), both register layouts, read-only
//! drives; the command line's errors; the console against QEMU. Hot-plug through the monitor
//! is in `virtio_plug.rs`.
#![allow(clippy::unwrap_used)]

mod disks;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use disks::{image, temp};
use fief_tests::qemu::qemu_with;

fn driver() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/virtio_drv.elf")
}

fn fief(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The driver on QEMU and on Fief, each with its own copy of one generated image, plus
/// `extra` options; both outputs must match and the disks must end the same.
fn diff(tag: &str, drive_opts: &str, extra: &[&str]) -> String {
    let original = temp(&format!("{tag}.img"));
    image(&original, 256, 0x5eed);
    let (q_img, f_img) = (temp(&format!("{tag}-q.img")), temp(&format!("{tag}-f.img")));
    std::fs::copy(&original, &q_img).unwrap();
    std::fs::copy(&original, &f_img).unwrap();
    let drive = |p: &Path| format!("file={},format=raw,if=none,id=hd0{drive_opts}", p.display());
    let (q_drive, f_drive) = (drive(&q_img), drive(&f_img));
    let mut q_args = vec!["-drive", &q_drive, "-device", "virtio-blk-device,drive=hd0"];
    q_args.extend_from_slice(&["-device", "virtio-rng-device"]);
    q_args.extend_from_slice(extra);
    let (q_out, q_status) = qemu_with(&q_args, &driver(), Duration::from_secs(30));
    let k = driver();
    let mut f_args = vec![
        "run",
        "-M",
        "virt",
        "-bios",
        "none",
        "-kernel",
        k.to_str().unwrap(),
    ];
    f_args.extend_from_slice(&q_args);
    f_args[8] = &f_drive;
    let (f_status, f_out, f_err) = fief(&f_args);
    assert_eq!(
        (f_out.as_str(), Some(f_status)),
        (q_out.as_str(), q_status),
        "{tag}: Fief (left) and QEMU (right) differ; Fief said {f_err}"
    );
    assert_eq!(q_status, Some(0), "{q_out}");
    assert!(q_out.contains("virtio: done"), "{q_out}");
    assert!(
        std::fs::read(&q_img).unwrap() == std::fs::read(&f_img).unwrap(),
        "{tag}: the disks differ after the run"
    );
    q_out
}

#[test]
fn driver_matches_qemu_on_the_legacy_layout() {
    let out = diff("legacy", "", &[]);
    assert!(out.contains("slot 7: version 1 device 2"), "{out}");
    assert!(
        out.contains("write status 0, flush status 0, read back status 0"),
        "{out}"
    );
    assert!(out.contains("read past the end: status 1"), "{out}");
    assert!(out.contains("rng: 64 bytes, random"), "{out}");
    // The write reached the file.
    let disk = std::fs::read(temp("legacy-f.img")).unwrap();
    let expected: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    assert_eq!(&disk[8 * 512..8 * 512 + 4096], &expected[..]);
}

#[test]
fn driver_matches_qemu_on_the_modern_layout() {
    let out = diff("modern", "", &["-global", "virtio-mmio.force-legacy=false"]);
    assert!(out.contains("slot 7: version 2 device 2"), "{out}");
}

#[test]
fn driver_matches_qemu_on_a_read_only_drive() {
    let out = diff("ro", ",readonly=on", &[]);
    assert!(out.contains("write status 1"), "{out}");
    let disk = std::fs::read(temp("ro-f.img")).unwrap();
    let original = std::fs::read(temp("ro.img")).unwrap();
    assert!(disk == original, "a read-only drive was written");
}

/// One line on stderr starting `fief: `, a failure status, no panic.
fn one_line_error(args: &[&str]) -> String {
    let (code, _, stderr) = fief(args);
    assert_ne!(code, 0, "{args:?}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("fief: "), "{stderr}");
    stderr
}

#[test]
fn bad_drives_and_devices_are_one_line_errors() {
    let k = driver();
    let k = k.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut a = vec!["run", "-bios", "none", "-kernel", k];
        a.extend_from_slice(extra);
        one_line_error(&a)
    };
    let missing = temp("missing.img");
    let e = run(&[
        "-drive",
        &format!("file={},format=raw,if=none,id=d", missing.display()),
    ]);
    assert!(e.contains("No such file"), "{e}");
    let ro = temp("readonly.img");
    image(&ro, 8, 1);
    let mut perm = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perm, 0o444);
    std::fs::set_permissions(&ro, perm).unwrap();
    let e = run(&[
        "-drive",
        &format!("file={},format=raw,if=none,id=d", ro.display()),
    ]);
    assert!(
        e.contains("read-only file") && e.contains("readonly=on"),
        "{e}"
    );
    let e = run(&[
        "-drive",
        &format!("file={},format=qcow2,if=none,id=d", ro.display()),
    ]);
    assert!(e.contains("raw images only"), "{e}");
    let e = run(&["-device", "virtio-gpu-device"]);
    assert!(e.contains("'virtio-gpu-device' is not taken"), "{e}");
    let e = run(&["-device", "virtio-blk-device,drive=nope"]);
    assert!(e.contains("no drive 'nope'"), "{e}");
    let e = run(&["-global", "virtio-mmio.foo=1"]);
    assert!(e.contains("not taken"), "{e}");
    let e = run(&["-device", "virtio-rng-device,serial=x"]);
    assert!(e.contains("property 'serial'"), "{e}");
    // A read-only file is fine for a read-only drive.
    let (code, out, err) = fief(&[
        "run",
        "-bios",
        "none",
        "-kernel",
        k,
        "-drive",
        &format!("file={},format=raw,if=none,id=d,readonly=on", ro.display()),
        "-device",
        "virtio-blk-device,drive=d",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("write status 1"), "{out}");
}

/// The benchmark's driver (`firmware/virtio_bench.c`, small variant: a 256 KiB disk, 64
/// random requests each way), polling the used ring, reads the same data as on QEMU, with
/// the timings masked, and leaves the same disk behind.
#[test]
fn bench_driver_matches_qemu_but_for_its_timings() {
    bench_matches_qemu("virtio_bench_small.elf");
}

/// The same with the driver waiting for each completion in `wfi` (the slot's interrupt
/// through the PLIC, claimed and completed, as Linux's driver waits).
#[test]
fn bench_driver_waiting_in_wfi_matches_qemu() {
    bench_matches_qemu("virtio_bench_wfi_small.elf");
}

fn bench_matches_qemu(name: &str) {
    let original = temp(&format!("{name}.img"));
    image(&original, 512, 0xbe7c);
    let (q_img, f_img) = (
        temp(&format!("{name}-q.img")),
        temp(&format!("{name}-f.img")),
    );
    std::fs::copy(&original, &q_img).unwrap();
    std::fs::copy(&original, &f_img).unwrap();
    let elf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(name);
    let drive = |p: &Path| format!("file={},format=raw,if=none,id=hd0", p.display());
    let q_drive = drive(&q_img);
    let (q_out, q_status) = qemu_with(
        &["-drive", &q_drive, "-device", "virtio-blk-device,drive=hd0"],
        &elf,
        Duration::from_secs(60),
    );
    let f_drive = drive(&f_img);
    let (f_status, f_out, f_err) = fief(&[
        "run",
        "-bios",
        "none",
        "-kernel",
        elf.to_str().unwrap(),
        "-drive",
        &f_drive,
        "-device",
        "virtio-blk-device,drive=hd0",
    ]);
    let mask = |s: &str| -> String {
        s.lines()
            .map(|l| match (l.find(" in "), l.find(" us")) {
                (Some(a), Some(b)) if a < b => format!("{}{}\n", &l[..a], &l[b + 3..]),
                _ => format!("{l}\n"),
            })
            .collect()
    };
    assert_eq!(
        (mask(&f_out), Some(f_status)),
        (mask(&q_out), q_status),
        "{f_err}"
    );
    assert_eq!(q_out.lines().count(), 4, "{q_out}");
    assert!(std::fs::read(&q_img).unwrap() == std::fs::read(&f_img).unwrap());
}

/// virtio-console as QEMU spells it (`-chardev file` + `-device virtio-serial-device
/// -device virtconsole`): the driver's line reaches the chardev's file on both, and the
/// console output and exit status match.
#[test]
fn console_matches_qemu() {
    let (q_con, f_con) = (temp("q.con"), temp("f.con"));
    let args = |p: &Path| {
        vec![
            "-chardev".to_string(),
            format!("file,id=c0,path={}", p.display()),
            "-device".into(),
            "virtio-serial-device".into(),
            "-device".into(),
            "virtconsole,chardev=c0".into(),
        ]
    };
    let q_args = args(&q_con);
    let q_refs: Vec<&str> = q_args.iter().map(String::as_str).collect();
    let (q_out, q_status) = qemu_with(&q_refs, &driver(), Duration::from_secs(30));
    let k = driver();
    let mut f_args = vec![
        "run",
        "-M",
        "virt",
        "-bios",
        "none",
        "-kernel",
        k.to_str().unwrap(),
    ];
    let f_extra = args(&f_con);
    f_args.extend(f_extra.iter().map(String::as_str));
    let (f_status, f_out, f_err) = fief(&f_args);
    assert_eq!(
        (f_out.as_str(), Some(f_status)),
        (q_out.as_str(), q_status),
        "{f_err}"
    );
    assert!(q_out.contains("slot 7: version 1 device 3"), "{q_out}");
    let line = "hello from Fief's virtio console driver\n";
    assert_eq!(std::fs::read_to_string(&q_con).unwrap(), line);
    assert_eq!(std::fs::read_to_string(&f_con).unwrap(), line);
    // A virtconsole needs its chardev and a virtio-serial-device before it.
    let k = k.to_str().unwrap();
    let refused: [(&[&str], &str); 5] = [
        (&["-device", "virtconsole,chardev=c9"], "no -chardev 'c9'"),
        (
            &[
                "-chardev",
                "file,id=c0,path=/tmp/x",
                "-device",
                "virtconsole,chardev=c0",
            ],
            "after a -device virtio-serial-device",
        ),
        (&["-chardev", "socket,id=s"], "Unix socket: path=PATH"),
        (&["-chardev", "stdio,id=s"], "not taken"),
        (
            &[
                "-chardev",
                "socket,id=s,path=/tmp/fief-never.sock,server=on,wait=on",
            ],
            "server=on,wait=off",
        ),
    ];
    for (extra, expected) in refused {
        let mut args = vec!["run", "-bios", "none", "-kernel", k];
        args.extend_from_slice(extra);
        let e = one_line_error(&args);
        assert!(e.contains(expected), "{extra:?}: {e}");
    }
}

/// Runs `cmd` (Fief or QEMU with a `-chardev socket` at `sock`), types `pieces` into the
/// socket (a pause between them) and reads the console's answer line: (UART output, the
/// answer, exit status).
fn type_into_console(
    mut cmd: Command,
    sock: &Path,
    pieces: &[&str],
) -> (String, String, Option<i32>) {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let mut stream = loop {
        match UnixStream::connect(sock) {
            Ok(s) => break s,
            Err(_) if start.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => {
                let _ = child.kill();
                panic!("cannot connect to {}: {e}", sock.display());
            }
        }
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    for (i, piece) in pieces.iter().enumerate() {
        if i > 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
        stream.write_all(piece.as_bytes()).unwrap();
    }
    let mut answer = Vec::new();
    let mut byte = [0u8; 1];
    while !answer.ends_with(b"\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        answer.push(byte[0]);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    (out, String::from_utf8_lossy(&answer).into_owned(), status)
}

/// virtio-console input: a client of QEMU's `-chardev socket,path=...,server=on,wait=off`
/// types a line (in two pieces) into the console of `firmware/virtio_con.c`, which prints
/// it on the UART and echoes it back through the console: the same on Fief as on QEMU.
#[test]
fn console_input_through_a_socket_chardev_matches_qemu() {
    let elf = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/virtio_con.elf");
    let args = |sock: &Path| {
        vec![
            "-chardev".to_string(),
            format!("socket,id=c0,path={},server=on,wait=off", sock.display()),
            "-device".into(),
            "virtio-serial-device".into(),
            "-device".into(),
            "virtconsole,chardev=c0".into(),
        ]
    };
    let pieces = ["typed into the ", "console\n"];
    let q_sock = temp("q-con.sock");
    let mut q = Command::new("qemu-system-riscv32");
    q.args([
        "-M",
        "virt",
        "-bios",
        "none",
        "-nographic",
        "-monitor",
        "none",
    ])
    .args(["-serial", "stdio", "-kernel"])
    .arg(&elf)
    .args(args(&q_sock));
    let qemu = type_into_console(q, &q_sock, &pieces);
    let f_sock = temp("f-con.sock");
    let mut f = Command::new(env!("CARGO_BIN_EXE_fief"));
    f.args(["run", "-bios", "none", "-kernel"])
        .arg(&elf)
        .args(args(&f_sock));
    let fief = type_into_console(f, &f_sock, &pieces);
    assert_eq!(fief, qemu);
    assert_eq!(
        qemu,
        (
            "console got: typed into the console\n".to_string(),
            "echo: typed into the console\n".to_string(),
            Some(0)
        )
    );
}
