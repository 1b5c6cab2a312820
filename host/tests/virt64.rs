//! The `fief` runner on `virt64`: an RV64 image with RAM past 4 GiB diffed against
//! `qemu-system-riscv64 -M virt`, `-m 16G` without touching 16 GiB of host memory,
//! `info mtree`, and one-line errors for what virt64 refuses.

#![allow(clippy::unwrap_used)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const QEMU64: &str = "qemu-system-riscv64";

fn firmware(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware/rv64")
        .join(name)
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

/// Console output and exit status of `qemu-system-riscv64 -M virt -nographic` with
/// `args`, killed after 30 s.
fn qemu64(args: &[&str]) -> (String, Option<i32>) {
    let mut child = Command::new(QEMU64)
        .args([
            "-M",
            "virt",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "stdio",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {QEMU64} ({e}): apt-get install qemu-system-misc"));
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{QEMU64} {args:?} did not finish");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = reader.join().unwrap();
    (String::from_utf8_lossy(&out).into_owned(), status.code())
}

/// The boot protocol's registers (hart id, the device tree at QEMU's address) and loads
/// and stores past 4 GiB, on QEMU and on Fief, byte for byte.
#[test]
fn ram_past_4_gib_matches_qemu_riscv64() {
    let image = firmware("highram.elf");
    let image = image.to_str().unwrap();
    let (q_out, q_status) = qemu64(&["-m", "6G", "-bios", "none", "-kernel", image]);
    let (f_status, f_out, f_err) = fief(&[
        "run", "-M", "virt64", "-m", "6G", "-bios", "none", "-kernel", image,
    ]);
    assert_eq!(
        (f_out.as_str(), Some(f_status)),
        (q_out.as_str(), q_status),
        "Fief (left) and QEMU (right) differ; Fief's stderr:\n{f_err}"
    );
    assert_eq!(q_status, Some(0), "{q_out}");
    assert!(
        q_out.ends_with("virt64: RAM past 4 GiB ok\n") && q_out.contains("00000000bfe00000"),
        "{q_out}"
    );
}

/// `-m 16G`: the guest's RAM is mapped lazily, so a run that touches a few pages (one of
/// them 4 GiB up) costs the host megabytes, not 16 GiB.
#[test]
fn sixteen_gib_of_guest_ram_cost_only_what_the_guest_touches() {
    let image = firmware("highram.elf");
    let (status, out, err) = fief(&[
        "run",
        "-M",
        "virt64",
        "-m",
        "16G",
        "-bios",
        "none",
        "-kernel",
        image.to_str().unwrap(),
    ]);
    assert_eq!(status, 0, "{out}{err}");
    assert!(out.ends_with("RAM past 4 GiB ok\n"), "{out}");
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a `rusage` into the pointer it is given, which points to
    // one; RUSAGE_CHILDREN covers the waited-for `fief` above (nextest runs each test in
    // a process of its own).
    let usage = unsafe {
        assert_eq!(
            libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()),
            0
        );
        usage.assume_init()
    };
    let max_rss_mib = usage.ru_maxrss / 1024;
    assert!(
        max_rss_mib < 256,
        "fief used {max_rss_mib} MiB of host memory"
    );
}

#[test]
fn info_mtree_shows_ram_past_4_gib() {
    let (code, out, err) = fief(&["info", "mtree", "-M", "virt64", "-m", "16G"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("0000000080000000-000000047fffffff (prio 0, ram): ram"),
        "{out}"
    );
    assert!(out.contains("0000000000001000-000000000000ffff (prio 0, rom): mrom"));
}

#[test]
fn virt64_refusals_are_one_line_errors() {
    let image = firmware("highram.elf");
    let image = image.to_str().unwrap();
    let one_line = |args: &[&str]| {
        let (code, out, err) = fief(args);
        assert_eq!((code, out.as_str()), (1, ""), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        err
    };
    let e = one_line(&[
        "run", "-M", "virt64", "-m", "17G", "-bios", "none", "-kernel", image,
    ]);
    assert_eq!(
        e,
        "fief: memory size '17G' is too large: virt64 takes at most 16384 MiB\n"
    );
    let e = one_line(&[
        "run", "-M", "virt64", "--smp", "9", "-bios", "none", "-kernel", image,
    ]);
    assert_eq!(e, "fief: --smp 9: virt64 takes 1 to 8 harts\n");
    let e = one_line(&["run", "-M", "virt64"]);
    assert_eq!(
        e,
        "fief: nothing to run on virt64: give -kernel FILE or -bios FILE\n"
    );
    // An RV32 image on virt64 and an RV64 one on virt32.
    let rv32 = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fail42.elf");
    let e = one_line(&[
        "run",
        "-M",
        "virt64",
        "-bios",
        "none",
        "-kernel",
        rv32.to_str().unwrap(),
    ]);
    assert!(e.contains("expected ELF64, found ELF32"), "{e}");
    let e = one_line(&["run", "-M", "virt32", "-bios", "none", "-kernel", image]);
    assert!(e.contains("expected ELF32, found ELF64"), "{e}");
    let e = one_line(&["run", "-M", "virt128"]);
    assert_eq!(
        e,
        "fief: unknown machine 'virt128' (available: virt32, virt64, and virt as an alias of \
         virt32)\n"
    );
}
