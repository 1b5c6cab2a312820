//! Booting as QEMU's `virt` does, each diffed against `qemu-system-riscv32 -M virt`:
//! reset and power-off through the test device, the Goldfish RTC, kernels recognised by
//! their header (Linux `Image`, uImage) whatever their file's name, `/chosen` from
//! `-append` and `-initrd`, the user's `-dtb`, `-machine dumpdtb=FILE`, the device tree
//! node by node against QEMU 7.2's (checked in under `tests/data/qemu-7.2/`, with the
//! script that made it), and bad input refused with one line before anything is read
//! that cannot fit.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fief_tests::qemu::{qemu, qemu_bios, qemu_with, QEMU};

fn firmware(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(name)
}

/// Runs `fief ARGS` with no input; a run that has not ended within 30 s is killed and
/// fails the test (a guest that never stops, a reset loop that never ends).
fn fief(args: &[&str]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = |mut r: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = pipe(Box::new(child.stdout.take().unwrap()));
    let err = pipe(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fief {args:?} did not end within 30 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    (
        status.code().unwrap_or(-1),
        out.join().unwrap(),
        err.join().unwrap(),
    )
}

fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fief-boot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let path = temp_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Runs `image` on Fief and QEMU with `extra` options on both; the console output and
/// exit status must be the same. Returns the console output.
fn diff(image: &Path, extra: &[&str]) -> String {
    let (q_console, q_status) = qemu_with(extra, image, Duration::from_secs(30));
    let mut args = vec!["run", "-M", "virt", "-bios", "none"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-kernel", image.to_str().unwrap()]);
    let (code, f_console, stderr) = fief(&args);
    assert_eq!(
        (f_console.as_str(), Some(code)),
        (q_console.as_str(), q_status),
        "{}: Fief (left) and QEMU (right) differ; Fief's stderr: {stderr}",
        image.display()
    );
    q_console
}

#[test]
fn reset_and_power_off_match_qemu() {
    let image = firmware("reset.elf");
    let out = diff(&image, &[]);
    // Four boots: the count survives in RAM, the image's .data and the devices do not.
    assert_eq!(
        out,
        "boot 0: data 0 ier 0 prio 0\nboot 1: data 0 ier 0 prio 0\n\
         boot 2: data 0 ier 0 prio 0\nboot 3: data 0 ier 0 prio 0\npower off\n"
    );
    // -no-reboot: the first reset request ends the run, status 0.
    let out = diff(&image, &["-no-reboot"]);
    assert_eq!(out, "boot 0: data 0 ier 0 prio 0\n");
}

#[test]
fn sbi_system_reset_reboots_the_machine_as_on_qemu() {
    // An S-mode kernel under the default firmware (on QEMU: the same firmware as -bios)
    // reboots twice through SBI SRST, then shuts down.
    let image = firmware("s_srst.elf");
    let sbi = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware/sbi/fief-sbi.elf");
    let (q, q_status) = qemu_bios(&sbi, &[], &image, Duration::from_secs(30));
    let (code, out, stderr) = fief(&["run", "-M", "virt", "-kernel", image.to_str().unwrap()]);
    assert_eq!(
        (out.as_str(), Some(code)),
        (q.as_str(), q_status),
        "{stderr}"
    );
    assert_eq!(q_status, Some(0));
    for n in 0..3 {
        assert!(q.contains(&format!("srst boot {n}\n")), "{q}");
    }
}

#[test]
fn a_reset_under_a_frozen_debugger_start_runs_on() {
    // `-S` holds the first start for the debugger; after the guest's resets the machine
    // runs on without waiting for a debugger again.
    use std::io::{BufRead, BufReader, Read, Write};
    let image = firmware("reset.elf");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "-bios", "none", "--gdb", "tcp::0", "-S", "-kernel"])
        .arg(&image)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("fief: gdb server on ")
        .and_then(|l| l.strip_suffix(", waiting for the debugger"))
        .unwrap_or_else(|| panic!("{line}"))
        .to_string();
    let mut gdb = std::net::TcpStream::connect(addr).unwrap();
    gdb.write_all(b"$c#63").unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
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
            panic!("the run did not end after the guest's resets");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = reader.join().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(
        out.ends_with("boot 3: data 0 ier 0 prio 0\npower off\n"),
        "{out}"
    );
    drop(gdb);
}

#[test]
fn boot_rom_reset_vector_and_fw_dynamic_info_match_qemu() {
    // Firmware sees a0/a1/a2 and OpenSBI's fw_dynamic_info as on QEMU, and the reset
    // vector at 0x1000 brings it back with them.
    let fw = firmware("fwdyn.elf");
    let kernel = firmware("image.bin");
    let (q, q_status) = qemu_bios(&fw, &[], &kernel, Duration::from_secs(30));
    let args = [
        "run",
        "-M",
        "virt",
        "-bios",
        fw.to_str().unwrap(),
        "-kernel",
        kernel.to_str().unwrap(),
    ];
    let (code, out, stderr) = fief(&args);
    assert_eq!(
        (out.as_str(), Some(code)),
        (q.as_str(), q_status),
        "{stderr}"
    );
    let info =
        "fw_dynamic_info: 0x4942534f 0x00000002 0x80400000 0x00000001 0x00000000 0x00000000\n";
    assert_eq!(q.matches(info).count(), 2, "{q}");
}

#[test]
fn goldfish_rtc_matches_qemu() {
    assert_eq!(diff(&firmware("rtc.elf"), &[]), "rtc ok\n");
}

/// `image.bin` (a Linux `Image`) with a U-Boot uImage header before it: load and entry
/// at the RAM base, compression `comp` (1: the data gzip-compressed).
fn uimage(comp: u8) -> Vec<u8> {
    use std::io::Write;
    let mut data = std::fs::read(firmware("image.bin")).unwrap();
    if comp == 1 {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(&data).unwrap();
        data = gz.finish().unwrap();
    }
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(&0x2705_1956u32.to_be_bytes());
    h[12..16].copy_from_slice(&(data.len() as u32).to_be_bytes());
    h[16..20].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    h[20..24].copy_from_slice(&0x8000_0000u32.to_be_bytes());
    h[28] = 5; // Linux
    h[29] = 26; // RISC-V
    h[30] = 2; // kernel
    h[31] = comp;
    h.extend_from_slice(&data);
    h
}

#[test]
fn kernels_load_by_their_header_not_their_name_as_on_qemu() {
    // A Linux `Image` under a name that says ELF: no file-name rule.
    let bytes = std::fs::read(firmware("image.bin")).unwrap();
    let linux = temp("vmlinux.elf", &bytes);
    assert_eq!(diff(&linux, &[]), "image ok, hart 0\n");
    // The same behind a uImage header, named like a raw image.
    let u = temp("kernel.img", &uimage(0));
    assert_eq!(diff(&u, &[]), "image ok, hart 0\n");
    // Gzip-compressed inside the uImage, as `mkimage -C gzip` makes it.
    let gz = temp("kernel.gz.uimg", &uimage(1));
    assert_eq!(diff(&gz, &[]), "image ok, hart 0\n");
}

/// One node's properties, by name (value as dtc prints it).
type Props = BTreeMap<String, String>;

/// A dtc-decompiled tree as `path -> properties`.
fn parse_dts(text: &str) -> BTreeMap<String, Props> {
    let mut tree = BTreeMap::new();
    let mut path: Vec<String> = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("/dts-v1/") || line.starts_with("/memreserve/") {
            continue;
        }
        if let Some(name) = line.strip_suffix(" {") {
            if name != "/" {
                path.push(name.to_string());
            }
            tree.insert(format!("/{}", path.join("/")), Props::new());
        } else if line == "};" {
            path.pop();
        } else {
            let prop = line.strip_suffix(';').unwrap_or(line);
            let (name, value) = prop.split_once(" = ").unwrap_or((prop, ""));
            let node = format!("/{}", path.join("/"));
            tree.entry(node)
                .or_default()
                .insert(name.to_string(), value.to_string());
        }
    }
    tree
}

fn dtc(dtb: &Path) -> String {
    let out = Command::new("dtc")
        .args(["-q", "-I", "dtb", "-O", "dts"])
        .arg(dtb)
        .output()
        .expect("dtc is needed (apt-get install device-tree-compiler; scripts/test-all does)");
    assert!(out.status.success(), "dtc failed on {}", dtb.display());
    String::from_utf8(out.stdout).unwrap()
}

/// QEMU 7.2 `virt` nodes Fief does not have (yet), each said in docs/virt32.md.
const QEMU_ONLY_NODES: &[&str] = &[
    "/pmu",                  // the SBI PMU event map: no hpm counters
    "/fw-cfg@10100000",      // fw_cfg
    "/flash@20000000",       // pflash
    "/platform-bus@4000000", // dynamic sysbus devices
    "/soc/pci@30000000",     // PCIe
];

/// Fief nodes QEMU does not have.
const FIEF_ONLY_NODES: &[&str] = &["/soc/dma@10200000"]; // the Fief DMA engine

/// Properties that differ on purpose: (node prefix, property, why).
const PROPERTY_DIFFERENCES: &[(&str, &str, &str)] = &[
    (
        "/cpus/cpu@",
        "riscv,isa",
        "says what each hart implements (QEMU's: rv32imafdch_zicsr_..._sstc)",
    ),
    (
        "/cpus/cpu@",
        "riscv,cbom-block-size",
        "Zicbom's block size (64, QEMU 8's default): QEMU 7.2 has no Zicbom",
    ),
    (
        "/cpus/cpu@",
        "riscv,cboz-block-size",
        "Zicboz's block size (64, QEMU 8's default): QEMU 7.2 has no Zicboz",
    ),
    (
        "/cpus/cpu@",
        "#address-cells",
        "on the interrupt controller: dtc warns without it",
    ),
];

fn intended_difference(node: &str, prop: &str) -> bool {
    PROPERTY_DIFFERENCES
        .iter()
        .any(|(n, p, _)| node.starts_with(n) && *p == prop)
}

/// Compares Fief's tree with QEMU's node by node: every node of either must be in the
/// other or on its list above, and every property of a common node the same but for the
/// listed ones. Returns the differences found.
fn compare(fief: &BTreeMap<String, Props>, qemu: &BTreeMap<String, Props>) -> Vec<String> {
    let mut diffs = Vec::new();
    for (node, q_props) in qemu {
        let Some(f_props) = fief.get(node) else {
            if !QEMU_ONLY_NODES.iter().any(|n| node.starts_with(n)) {
                diffs.push(format!("missing node {node}"));
            }
            continue;
        };
        for (prop, value) in q_props {
            match f_props.get(prop) {
                Some(v) if v == value => {}
                // Random on both sides at every boot: the same number of cells.
                Some(v)
                    if prop == "rng-seed" && v.split(' ').count() == value.split(' ').count() => {}
                _ if intended_difference(node, prop) => {}
                Some(v) => diffs.push(format!("{node} {prop}: Fief {v}, QEMU {value}")),
                None => diffs.push(format!("{node}: missing {prop} = {value}")),
            }
        }
        for prop in f_props.keys() {
            if !q_props.contains_key(prop) && !intended_difference(node, prop) {
                diffs.push(format!("{node}: extra {prop}"));
            }
        }
    }
    for node in fief.keys() {
        if !qemu.contains_key(node) && !FIEF_ONLY_NODES.iter().any(|n| node.starts_with(n)) {
            diffs.push(format!("extra node {node}"));
        }
    }
    diffs
}

#[test]
fn device_tree_matches_qemu_node_by_node() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/qemu-7.2");
    let mut compared = 0;
    for (smp, mem) in [("1", "128M"), ("2", "256M"), ("4", "512M")] {
        let q = std::fs::read_to_string(data.join(format!("virt-smp{smp}-m{mem}.dts"))).unwrap();
        let out = temp_dir().join(format!("virt-{smp}.dtb"));
        // QEMU's spelling, option for option.
        let (code, _, stderr) = fief(&[
            "-M",
            "virt",
            "-machine",
            &format!("dumpdtb={}", out.display()),
            "-smp",
            smp,
            "-m",
            mem,
        ]);
        assert_eq!(code, 0, "{stderr}");
        let fief_tree = parse_dts(&dtc(&out));
        let qemu_tree = parse_dts(&q);
        assert!(qemu_tree.len() > 20 && fief_tree.len() > 10);
        let diffs = compare(&fief_tree, &qemu_tree);
        assert!(
            diffs.is_empty(),
            "-smp {smp} -m {mem}: Fief's tree differs from QEMU's:\n{}",
            diffs.join("\n")
        );
        compared += 1;
    }
    assert_eq!(compared, 3);
    // The comparison itself catches a difference.
    let mut q = parse_dts(&std::fs::read_to_string(data.join("virt-smp1-m128M.dts")).unwrap());
    let f = q.clone();
    q.get_mut("/soc/plic@c000000")
        .unwrap()
        .insert("riscv,ndev".into(), "<0x5f>".into());
    q.insert("/soc/serial@10000100".into(), Props::new());
    assert_eq!(compare(&f, &q).len(), 2);
}

/// `virt64`'s tree against `qemu-system-riscv64 -M virt`'s, dumped on the spot, node by
/// node with the same lists of differences: RAM past 4 GiB in the memory node (two cells of
/// size), `mmu-type = "riscv,sv48"`, the harts' phandles and everything else as QEMU's.
#[test]
fn virt64_device_tree_matches_qemu_riscv64_node_by_node() {
    for (smp, mem) in [("1", "128M"), ("2", "8G"), ("8", "16G")] {
        let q_out = temp_dir().join(format!("q64-{smp}.dtb"));
        let status = Command::new("qemu-system-riscv64")
            .args(["-M", "virt", "-bios", "none", "-nographic", "-machine"])
            .arg(format!("dumpdtb={}", q_out.display()))
            .args(["-smp", smp, "-m", mem])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("qemu-system-riscv64 (apt-get install qemu-system-misc)");
        assert!(status.success());
        let qemu_tree = parse_dts(&dtc(&q_out));
        let f_out = temp_dir().join(format!("f64-{smp}.dtb"));
        let dump = format!("virt64,dumpdtb={}", f_out.display());
        let (code, _, stderr) = fief(&["-M", &dump, "-bios", "none", "-smp", smp, "-m", mem]);
        assert_eq!(code, 0, "{stderr}");
        let fief_tree = parse_dts(&dtc(&f_out));
        let diffs = compare(&fief_tree, &qemu_tree);
        assert!(
            diffs.is_empty(),
            "virt64 -smp {smp} -m {mem}: Fief's tree differs from QEMU's:\n{}",
            diffs.join("\n")
        );
        let cpu = &fief_tree["/cpus/cpu@0"];
        assert_eq!(cpu["mmu-type"], "\"riscv,sv48\"");
        assert!(
            cpu["riscv,isa"].starts_with("\"rv64"),
            "{}",
            cpu["riscv,isa"]
        );
    }
}

/// `-machine dumpdtb=FILE` of QEMU for `args`, decompiled.
fn qemu_dtb(args: &[&str], out: &Path) -> BTreeMap<String, Props> {
    let status = Command::new(QEMU)
        .args(["-M", "virt", "-bios", "none", "-nographic", "-machine"])
        .arg(format!("dumpdtb={}", out.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {QEMU}: {e}"));
    assert!(status.success());
    parse_dts(&dtc(out))
}

fn fief_dtb(args: &[&str], out: &Path) -> BTreeMap<String, Props> {
    let dump = format!("virt,dumpdtb={}", out.display());
    let mut all = vec!["-M", dump.as_str(), "-bios", "none"];
    all.extend_from_slice(args);
    let (code, _, stderr) = fief(&all);
    assert_eq!(code, 0, "{stderr}");
    parse_dts(&dtc(out))
}

#[test]
fn chosen_carries_append_and_initrd_as_on_qemu() {
    let kernel = firmware("image.bin");
    let raw = temp("initrd.cpio", &[0x5a; 150_000]);
    // The same behind a U-Boot RAM-disk header, which QEMU strips (initrd-end tells).
    let mut rd = vec![0u8; 64];
    rd[..4].copy_from_slice(&0x2705_1956u32.to_be_bytes());
    rd[12..16].copy_from_slice(&100_000u32.to_be_bytes());
    rd[29] = 26; // RISC-V
    rd[30] = 3; // RAM disk
    rd.extend_from_slice(&[0x5a; 100_000]);
    let uimage = temp("initrd.uimg", &rd);
    for (mem, initrd) in [("64M", &raw), ("512M", &raw), ("256M", &uimage)] {
        let args = [
            "-m",
            mem,
            "-kernel",
            kernel.to_str().unwrap(),
            "-append",
            "console=ttyS0 earlycon=sbi root=/dev/ram rw",
            "-initrd",
            initrd.to_str().unwrap(),
        ];
        let q = qemu_dtb(&args, &temp_dir().join("q-chosen.dtb"));
        let f = fief_dtb(&args, &temp_dir().join("f-chosen.dtb"));
        let (mut q_chosen, mut f_chosen) = (q["/chosen"].clone(), f["/chosen"].clone());
        for chosen in [&mut q_chosen, &mut f_chosen] {
            assert!(chosen.remove("rng-seed").is_some(), "-m {mem}: no rng-seed");
        }
        assert_eq!(f_chosen, q_chosen, "-m {mem}");
        assert!(q_chosen.contains_key("linux,initrd-start"));
        assert!(q_chosen["bootargs"].contains("root=/dev/ram"));
        assert!(compare(&f, &q).is_empty(), "{:?}", compare(&f, &q));
    }
    // Without -kernel, -append and -initrd are refused (QEMU: "only allowed with -kernel").
    let (code, _, stderr) = fief(&["run", "-append", "x"]);
    assert_ne!(code, 0);
    assert_eq!(stderr, "fief: -initrd and -append only work with -kernel\n");
}

#[test]
fn user_dtb_replaces_ours_with_chosen_updated_as_on_qemu() {
    let dir = temp_dir();
    let user = dir.join("user.dtb");
    // The user's tree: QEMU's own, with two harts' worth of cpus.
    qemu_dtb(&["-smp", "2"], &user);
    let kernel = firmware("image.bin");
    let args = [
        "-dtb",
        user.to_str().unwrap(),
        "-kernel",
        kernel.to_str().unwrap(),
        "-append",
        "quiet",
    ];
    let mut q = qemu_dtb(&args, &dir.join("q-user.dtb"));
    let mut f = fief_dtb(&args, &dir.join("f-user.dtb"));
    // Everything as QEMU gives it, its virtio nodes included; QEMU fills every
    // `rng-seed` with new random bytes at reset, Fief keeps the user's.
    for tree in [&mut q, &mut f] {
        assert!(tree
            .get_mut("/chosen")
            .unwrap()
            .remove("rng-seed")
            .is_some());
    }
    assert_eq!(f, q);
    assert_eq!(f["/chosen"]["bootargs"], "\"quiet\"");
    assert!(f.contains_key("/cpus/cpu@1"));
    // Without -append the user's tree goes to the guest unchanged.
    let f = fief_dtb(&["-dtb", user.to_str().unwrap()], &dir.join("f-plain.dtb"));
    // (QEMU's dump is padded past its totalsize; the tree itself is what counts.)
    let user_bytes = std::fs::read(&user).unwrap();
    let total = u32::from_be_bytes(user_bytes[4..8].try_into().unwrap()) as usize;
    assert!(std::fs::read(dir.join("f-plain.dtb")).unwrap() == user_bytes[..total]);
    assert!(f.contains_key("/soc/virtio_mmio@10001000"));
}

/// A bad-input run: non-zero exit, exactly one line on stderr starting `fief: `, no
/// panic; returns the line.
fn one_line_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = fief(args);
    assert_ne!(code, 0, "{args:?}: {stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("fief: "), "{stderr}");
    stderr
}

#[test]
fn bad_images_are_refused_with_one_line() {
    let dir = temp_dir();
    let s = |p: &Path| p.to_str().unwrap().to_string();
    // Unreadable.
    let e = one_line_error(&["run", "-bios", "none", "-kernel", &s(&dir)]);
    assert!(e.contains("a directory is not an image file"), "{e}");
    // A character device is refused at once, never read.
    let start = Instant::now();
    let e = one_line_error(&["run", "-bios", "none", "-kernel", "/dev/zero"]);
    assert!(e.contains("'/dev/zero': a character device"), "{e}");
    assert!(start.elapsed() < Duration::from_secs(5));
    // A 3 GiB sparse file is refused from its size, before a byte is read.
    let sparse = dir.join("sparse.img");
    std::fs::File::create(&sparse)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let start = Instant::now();
    let e = one_line_error(&["run", "-bios", "none", "-kernel", &s(&sparse)]);
    let took = start.elapsed();
    assert!(
        e.contains("3221225472 bytes (3072 MiB) do not fit in 128 MiB of RAM"),
        "{e}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // A raw kernel one byte larger than RAM.
    let raw = temp("big.bin", &vec![0x13; (1 << 20) + 1]);
    let e = one_line_error(&["run", "-m", "1M", "-bios", "none", "-kernel", &s(&raw)]);
    assert!(e.contains("do not fit in 1 MiB of RAM"), "{e}");
    // A Linux `Image` is as large as its header's image_size says (bss included),
    // however short the file.
    let mut linux = std::fs::read(firmware("image.bin")).unwrap();
    linux[16..24].copy_from_slice(&(200u64 << 20).to_le_bytes());
    let linux = temp("Image", &linux);
    let e = one_line_error(&["run", "-kernel", &s(&linux)]);
    assert!(e.contains("209715200 bytes (200 MiB) do not fit"), "{e}");
    // Truncated: an ELF whose last segment is cut, a uImage shorter than its header says.
    let elf = std::fs::read(firmware("reset.elf")).unwrap();
    let cut = temp("cut.elf", &elf[..200]);
    let e = one_line_error(&["run", "-bios", "none", "-kernel", &s(&cut)]);
    assert!(
        e.contains("truncated: its ELF header needs") && e.contains("the file has 200"),
        "{e}"
    );
    let u = uimage(0);
    let cut = temp("cut.uimg", &u[..u.len() - 1]);
    let e = one_line_error(&["run", "-bios", "none", "-kernel", &s(&cut)]);
    assert!(e.contains("truncated: its uImage header needs"), "{e}");
    let bz = temp("bz.uimg", &uimage(2));
    let e = one_line_error(&["run", "-bios", "none", "-kernel", &s(&bz)]);
    assert!(e.contains("compressed uImage (bzip2"), "{e}");
    let mut broken = uimage(1);
    let n = broken.len();
    broken[n - 40..].fill(0xa5);
    let gz = temp("gz.uimg", &broken);
    let e = one_line_error(&["run", "-bios", "none", "-kernel", &s(&gz)]);
    assert!(e.contains("its gzip data do not decompress"), "{e}");
    // An initrd that does not fit: at 8 MiB in 16 MiB of RAM, 9 MiB.
    let initrd = temp("big.cpio", &vec![0; 9 << 20]);
    let image = firmware("image.bin");
    let e = one_line_error(&[
        "run",
        "-m",
        "16M",
        "-bios",
        "none",
        "-kernel",
        &s(&image),
        "-initrd",
        &s(&initrd),
    ]);
    assert!(
        e.contains("initrd does not fit: 9437184 bytes at 0x80800000, only 8388608 bytes"),
        "{e}"
    );
    // A -dtb that is not a device tree.
    let not_dtb = temp("not.dtb", b"/dts-v1/; / { };");
    let e = one_line_error(&[
        "run",
        "-dtb",
        &s(&not_dtb),
        "-bios",
        "none",
        "-kernel",
        &s(&image),
    ]);
    assert!(e.contains("-dtb: not a device tree blob"), "{e}");
    // Overlapping images: firmware and kernel at the same addresses; a kernel as large
    // as RAM over the device tree (QEMU: "Some ROM regions are overlapping").
    let reset = firmware("reset.elf");
    let e = one_line_error(&["run", "-bios", &s(&reset), "-kernel", &s(&reset)]);
    assert!(
        e.contains("images overlap: firmware [0x80000000,") && e.contains("and kernel"),
        "{e}"
    );
    let whole = temp("whole.bin", &vec![0x13; 1 << 20]);
    let e = one_line_error(&["run", "-m", "1M", "-bios", "none", "-kernel", &s(&whole)]);
    assert!(
        e.contains("images overlap: kernel [0x80000000, 0x80100000) and device tree"),
        "{e}"
    );
    // QEMU's machine syntax: an unknown property.
    let e = one_line_error(&["run", "-machine", "virt,acpi=off"]);
    assert!(e.contains("unknown property 'acpi=off'"), "{e}");
}

#[test]
fn machine_virt_and_qemu_spellings_run_the_same_guest() {
    let image = firmware("reset.elf");
    let (q, _) = qemu(&image, Duration::from_secs(30));
    for machine in ["virt", "virt32", "type=virt", "virt,dumpdtb="] {
        let args = [
            "-M",
            machine,
            "-bios",
            "none",
            "-kernel",
            image.to_str().unwrap(),
        ];
        let (code, out, stderr) = fief(&args);
        if machine.ends_with('=') {
            assert_ne!(code, 0, "an empty dumpdtb is refused");
            continue;
        }
        assert_eq!(
            (code, out.as_str()),
            (0, q.as_str()),
            "-M {machine}: {stderr}"
        );
    }
    // QEMU's own command line, option for option (as tests/src/qemu.rs runs it).
    let args = [
        "-M",
        "virt",
        "-bios",
        "none",
        "-nographic",
        "-monitor",
        "none",
        "-serial",
        "stdio",
        "-kernel",
        image.to_str().unwrap(),
    ];
    let (code, out, stderr) = fief(&args);
    assert_eq!((code, out.as_str()), (0, q.as_str()), "{stderr}");
}

/// The `system` container's children in an `info mtree` listing: (first, last, kind, name).
fn mtree_children(text: &str) -> Vec<(String, String, String, String)> {
    text.lines()
        .skip_while(|l| *l != "address-space: memory")
        .skip(2)
        .take_while(|l| !l.is_empty())
        .filter(|l| l.starts_with("    ") && !l.starts_with("      "))
        .map(|l| {
            let (range, rest) = l.trim().split_once(' ').unwrap();
            let (first, last) = range.split_once('-').unwrap();
            let (kind, name) = rest.split_once("): ").unwrap();
            (first.into(), last.into(), kind.into(), name.into())
        })
        .collect()
}

#[test]
fn info_mtree_diffs_with_qemus() {
    use std::io::Write;
    let mut child = Command::new(QEMU)
        .args(["-M", "virt", "-bios", "none", "-nographic", "-m", "64M"])
        .args(["-monitor", "stdio", "-serial", "none", "-S"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {QEMU}: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"info mtree\nquit\n")
        .unwrap();
    let q = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).into_owned();
    let (code, f, stderr) = fief(&["info", "mtree", "-M", "virt", "-m", "64M"]);
    assert_eq!(code, 0, "{stderr}");
    // Fief's regions by QEMU's names (the CLINT is one region on Fief, QEMU's ACLINT
    // two: its first is compared), and whether the ends agree.
    let names = [
        ("mrom", "riscv_virt_board.mrom", true),
        ("test", "riscv.sifive.test", true),
        ("rtc", "goldfish_rtc", false), // QEMU maps 0x24 bytes, the tree says 0x1000
        ("clint", "riscv.aclint.swi", false), // swi + mtimer on QEMU
        ("plic", "riscv.sifive.plic", true),
        ("uart0", "serial", false), // QEMU maps 8 bytes, the tree says 0x100
        // The eight virtio-mmio slots: QEMU maps 0x200 bytes of each, the tree says 0x1000.
        ("virtio0", "virtio-mmio", false),
        ("virtio1", "virtio-mmio", false),
        ("virtio2", "virtio-mmio", false),
        ("virtio3", "virtio-mmio", false),
        ("virtio4", "virtio-mmio", false),
        ("virtio5", "virtio-mmio", false),
        ("virtio6", "virtio-mmio", false),
        ("virtio7", "virtio-mmio", false),
        ("ram", "riscv_virt_board.ram", true),
    ];
    let qemu = mtree_children(&q);
    let fief = mtree_children(&f);
    assert!(qemu.len() > 20, "{q}");
    let mut matched = Vec::new();
    for (first, last, kind, name) in &fief {
        if name == "dma0" {
            continue; // Fief's own DMA engine
        }
        let (_, q_name, same_end) = names
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name}: not in QEMU's map"));
        // By name and start (QEMU's eight virtio-mmio regions share a name).
        let q_line = qemu
            .iter()
            .find(|(f, _, _, n)| n == q_name && (*q_name != "virtio-mmio" || f == first))
            .unwrap_or_else(|| panic!("{q_name} not in\n{q}"));
        assert_eq!((first, kind), (&q_line.0, &q_line.2), "{name}");
        if *same_end {
            assert_eq!(last, &q_line.1, "{name}");
        }
        matched.push(*q_name);
    }
    // The same order as QEMU's (by address, then priority).
    let q_order: Vec<&str> = qemu
        .iter()
        .map(|(_, _, _, n)| n.as_str())
        .filter(|n| matched.contains(n))
        .collect();
    assert_eq!(matched, q_order);
    assert_eq!(matched.len(), names.len());
}
