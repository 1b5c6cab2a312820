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
/// The same command line as QEMU's: `-M virt` with an ELF64 kernel is `virt64`.
#[test]
fn ram_past_4_gib_matches_qemu_riscv64() {
    let image = firmware("highram.elf");
    let image = image.to_str().unwrap();
    let (q_out, q_status) = qemu64(&["-m", "6G", "-bios", "none", "-kernel", image]);
    let (f_status, f_out, f_err) = fief(&[
        "run", "-M", "virt", "-m", "6G", "-bios", "none", "-kernel", image,
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

/// `-M virt` (and no `-M`) picks the board by the image's header: an RV64 Linux `Image`
/// (`text_offset` 2 MiB) or an ELF64 gets `virt64`, an RV32 `Image` (4 MiB), an ELF32 or a
/// raw file `virt32`; `virt32`/`virt64` named outright are kept (and refuse the other
/// XLEN's ELF, as before).
#[test]
fn machine_virt_follows_the_image_xlen() {
    let dir = std::env::temp_dir().join(format!("fief-virt-xlen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // A Linux `Image` header (arch/riscv/kernel/head.S): `j .` as code, text_offset,
    // image size, the magic "RISCV\0\0\0" and magic2 "RSC\x05".
    let linux_image = |text_offset: u64| {
        let mut h = vec![0u8; 64];
        h[..4].copy_from_slice(&0x0000_006fu32.to_le_bytes());
        h[8..16].copy_from_slice(&text_offset.to_le_bytes());
        h[16..24].copy_from_slice(&64u64.to_le_bytes());
        h[48..56].copy_from_slice(b"RISCV\0\0\0");
        h[56..60].copy_from_slice(b"RSC\x05");
        h
    };
    let isa_of = |kernel: &Path, machine: &[&str]| {
        let dtb = dir.join("out.dtb");
        let _ = std::fs::remove_file(&dtb);
        let mut args = vec!["run"];
        args.extend_from_slice(machine);
        let dump = format!("dumpdtb={}", dtb.display());
        args.extend([
            "-M",
            &dump,
            "-bios",
            "none",
            "-kernel",
            kernel.to_str().unwrap(),
        ]);
        let (status, _, err) = fief(&args);
        assert_eq!(status, 0, "{args:?}: {err}");
        let tree = std::fs::read(&dtb).unwrap();
        if tree.windows(5).any(|w| w == b"rv64i") {
            "virt64"
        } else {
            assert!(
                tree.windows(5).any(|w| w == b"rv32i"),
                "{args:?}: no riscv,isa"
            );
            "virt32"
        }
    };
    let rv64_image = dir.join("rv64.Image");
    std::fs::write(&rv64_image, linux_image(0x20_0000)).unwrap();
    let rv32_image = dir.join("rv32.Image");
    std::fs::write(&rv32_image, linux_image(0x40_0000)).unwrap();
    let raw = dir.join("raw.bin");
    std::fs::write(&raw, 0x0000_006fu32.to_le_bytes()).unwrap();
    let elf64 = firmware("highram.elf");
    let elf32 = Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fail42.elf");
    for (kernel, machine, want) in [
        (&rv64_image, &["-M", "virt"][..], "virt64"),
        (&rv64_image, &[][..], "virt64"),
        (&rv32_image, &["-M", "virt"][..], "virt32"),
        (&raw, &["-M", "virt"][..], "virt32"),
        (&elf64, &["-M", "virt"][..], "virt64"),
        (&elf32, &["-M", "virt"][..], "virt32"),
        (&elf32, &[][..], "virt32"),
        (&rv64_image, &["-M", "virt32"][..], "virt32"),
        (&rv32_image, &["-M", "virt64"][..], "virt64"),
    ] {
        assert_eq!(isa_of(kernel, machine), want, "{kernel:?} with {machine:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
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
        "fief: unknown machine 'virt128' (available: virt32, virt64, and virt: virt64 for a \
         64-bit image, else virt32)\n"
    );
}
