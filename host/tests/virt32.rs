//! The `fief` runner on `virt32`: the bundled demo, the device-test firmware (through the
//! runner and deterministically through the board API), the device tree, `info mtree`,
//! exit statuses, and one-line errors for bad input.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fief_boards::finisher::Finish;
use fief_boards::virt32::{Image, RunOutcome, Virt32, Virt32Devices};
use fief_core::memory::RamBlock;

fn firmware(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(name)
}

fn fief_with_input(args: &[&str], input: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fief(args: &[&str]) -> (i32, String, String) {
    fief_with_input(args, b"")
}

fn temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fief-virt32-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn default_runs_the_bundled_demo_and_passes() {
    let (code, stdout, stderr) = fief(&[]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.starts_with("Fief virt32 demo: hello"), "{stdout}");
    assert!(
        stdout.contains("tick 1\ntick 2\ntick 3\ndemo done"),
        "{stdout}"
    );
}

#[test]
fn demo_echoes_standard_input() {
    let (code, stdout, stderr) = fief_with_input(&[], b"echo me\n");
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("echo me"), "{stdout}");
}

#[test]
fn demo_runs_on_four_harts_with_qemu_spellings() {
    let demo = firmware("demo.elf");
    let (code, stdout, stderr) = fief(&[
        "-machine",
        "virt32",
        "-smp",
        "4",
        "-bios",
        "none",
        "-kernel",
        demo.to_str().unwrap(),
        "-nographic",
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("tick 3"), "{stdout}");
}

#[test]
fn device_firmware_passes_through_the_runner() {
    for name in ["uart", "clint", "plic"] {
        let path = firmware(&format!("{name}.elf"));
        let (code, stdout, stderr) =
            fief(&["run", "--bios", "none", "--kernel", path.to_str().unwrap()]);
        assert_eq!(code, 0, "{name}: stdout {stdout} stderr {stderr}");
        assert_eq!(stdout, format!("{name} ok\n"));
    }
}

/// Runs a firmware image deterministically through the board API.
fn run_on_board(name: &str) -> (RunOutcome, String) {
    struct Capture(std::sync::Mutex<Vec<u8>>);
    impl fief_boards::uart::SerialSink for Capture {
        fn write_byte(&self, byte: u8) {
            self.0.lock().unwrap().push(byte);
        }
    }
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 16 << 20].into_boxed_slice()));
    let board = Virt32::build(devices, ram, 1).unwrap();
    let capture: &'static Capture = Box::leak(Box::new(Capture(Default::default())));
    devices.uart.set_sink(capture);
    let bytes = std::fs::read(firmware(&format!("{name}.elf"))).unwrap();
    let mut dtb = vec![0u8; 16 * 1024];
    let len = board.write_dtb(&mut dtb).unwrap();
    let boot = board
        .boot(None, Some(Image::Elf(&bytes)), &dtb[..len])
        .unwrap();
    let mut harts = vec![board.hart(0, boot.entry, boot.dtb_addr).unwrap()];
    assert_eq!(harts[0].reg(11), boot.dtb_addr);
    let outcome = board.run(&mut harts, 10_000_000, 1_000);
    let out = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    (outcome, out)
}

#[test]
fn uart_registers_and_interrupts_through_plic_claim_complete() {
    assert_eq!(
        run_on_board("uart"),
        (RunOutcome::Finished(Finish::Pass), "uart ok\n".into())
    );
}

#[test]
fn clint_timer_and_software_interrupts() {
    assert_eq!(
        run_on_board("clint"),
        (RunOutcome::Finished(Finish::Pass), "clint ok\n".into())
    );
}

#[test]
fn plic_priority_threshold_enable_and_contexts() {
    assert_eq!(
        run_on_board("plic"),
        (RunOutcome::Finished(Finish::Pass), "plic ok\n".into())
    );
}

#[test]
fn dma_engine_chain_abort_errors_and_reentrancy_on_the_board_api() {
    assert_eq!(
        run_on_board("dma"),
        (RunOutcome::Finished(Finish::Pass), "dma ok\n".into())
    );
}

#[test]
fn demo_is_deterministic_on_the_board_api() {
    let (outcome, out) = run_on_board("demo");
    assert_eq!(outcome, RunOutcome::Finished(Finish::Pass));
    assert!(out.ends_with("tick 1\ntick 2\ntick 3\ndemo done: passing through the test finisher\n"));
}

#[test]
fn exit_status_is_the_finisher_code() {
    let path = firmware("fail42.elf");
    let (code, _, stderr) = fief(&["run", "--bios", "none", "--kernel", path.to_str().unwrap()]);
    assert_eq!(code, 42);
    assert_eq!(stderr, "fief: the guest failed with code 42\n");
}

#[test]
fn instruction_limit_stops_the_run() {
    let path = firmware("spin.elf");
    let (code, _, stderr) = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        path.to_str().unwrap(),
        "--max-insns",
        "100000",
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "fief: instruction limit reached (100000 per hart)\n"
    );
}

/// Issue 16: harts that wait in wfi forever still end a run with --max-insns (waiting
/// counts one instruction per 100 ns tick): 2 M ticks are 0.2 s.
#[test]
fn instruction_limit_stops_a_run_waiting_in_wfi_forever() {
    let path = firmware("wfi.elf");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(["run", "--bios", "none", "--kernel"])
        .arg(&path)
        .args(["--max-insns", "2000000"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the run waiting in wfi did not end");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "fief: instruction limit reached (2000000 per hart)\n"
    );
}

#[test]
fn serial_to_a_file_and_firmware_with_a_raw_kernel() {
    let out = std::env::temp_dir().join(format!("fief-serial-{}.txt", std::process::id()));
    let uart = firmware("uart.elf");
    let spec = format!("file:{}", out.display());
    let (code, stdout, stderr) =
        fief(&["run", "--bios", uart.to_str().unwrap(), "--serial", &spec]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "uart ok\n");
    // A raw kernel goes at RAM base + 4 MiB when firmware runs first; the firmware
    // here never jumps to it, so the run is the firmware's.
    let raw = temp("kernel.bin", &[0x6f, 0, 0, 0]);
    let (code, _, stderr) = fief(&[
        "run",
        "--bios",
        uart.to_str().unwrap(),
        "--kernel",
        raw.to_str().unwrap(),
        "--serial",
        "null",
        "--trace",
        "boot",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("kernel entry 0x80400000"), "{stderr}");
}

#[test]
fn info_mtree_shows_the_virt32_map() {
    let (code, stdout, _) = fief(&["info", "mtree", "-M", "virt32", "-m", "64M"]);
    assert_eq!(code, 0);
    // QEMU's order: by address (then the higher priority first).
    let tree = "address-space: memory
  0000000000000000-ffffffffffffffff (prio 0, i/o): system
    0000000000001000-000000000000ffff (prio 0, rom): mrom
    0000000000100000-0000000000100fff (prio 0, i/o): test
    0000000000101000-0000000000101fff (prio 0, i/o): rtc
    0000000002000000-000000000200ffff (prio 0, i/o): clint
    000000000c000000-000000000c5fffff (prio 0, i/o): plic
    0000000010000000-00000000100000ff (prio 0, i/o): uart0
    0000000010001000-0000000010001fff (prio 0, i/o): virtio0
    0000000010002000-0000000010002fff (prio 0, i/o): virtio1
    0000000010003000-0000000010003fff (prio 0, i/o): virtio2
    0000000010004000-0000000010004fff (prio 0, i/o): virtio3
    0000000010005000-0000000010005fff (prio 0, i/o): virtio4
    0000000010006000-0000000010006fff (prio 0, i/o): virtio5
    0000000010007000-0000000010007fff (prio 0, i/o): virtio6
    0000000010008000-0000000010008fff (prio 0, i/o): virtio7
    0000000010200000-0000000010200fff (prio 0, i/o): dma0
    0000000080000000-0000000083ffffff (prio 0, ram): ram
";
    assert!(stdout.starts_with(tree), "{stdout}");
    let line = " Root memory region: system
  0000000000001000-000000000000ffff (prio 0, rom): mrom
  0000000000100000-0000000000100fff (prio 0, i/o): test
";
    assert!(stdout.contains(line), "{line} not in\n{stdout}");
}

#[test]
fn dtb_parses_with_the_fdt_crate_and_dtc() {
    let out = std::env::temp_dir().join(format!("fief-{}.dtb", std::process::id()));
    let (code, _, stderr) = fief(&[
        "dtb",
        "-M",
        "virt32",
        "--smp",
        "2",
        "-m",
        "256M",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let bytes = std::fs::read(&out).unwrap();
    let tree = fdt::Fdt::new(&bytes).unwrap();
    assert_eq!(tree.root().compatible().first(), "riscv-virtio");
    assert_eq!(tree.cpus().count(), 2);
    let region = tree.memory().regions().next().unwrap();
    assert_eq!(region.starting_address as usize, 0x8000_0000);
    assert_eq!(region.size, Some(256 << 20));
    let uart = tree.find_node("/soc/serial@10000000").unwrap();
    assert_eq!(uart.compatible().unwrap().first(), "ns16550a");
    assert_eq!(tree.chosen().stdout().unwrap().name, "serial@10000000");
    if Command::new("dtc").arg("--version").output().is_ok() {
        let dts = Command::new("dtc")
            .args(["-I", "dtb", "-O", "dts"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(dts.status.success());
        let dts = String::from_utf8(dts.stdout).unwrap();
        for node in [
            "cpu@1 {",
            "riscv,isa = \"rv32imafdc_zicbom_zicbop_zicboz_zicntr_zicond_zicsr_zifencei_zihintpause_zihpm_zba_zbb_zbc_zbs_sdtrig_sstc\";",
            "riscv,cbom-block-size = <0x40>;",
            "riscv,cboz-block-size = <0x40>;",
            "timebase-frequency = <0x989680>;",
            "memory@80000000 {",
            "clint@2000000 {",
            "plic@c000000 {",
            "interrupts-extended = <0x04 0x0b 0x04 0x09 0x02 0x0b 0x02 0x09>;",
            "serial@10000000 {",
            "interrupts = <0x0a>;",
            "test@100000 {",
            "compatible = \"sifive,test1\\0sifive,test0\\0syscon\";",
            "stdout-path = \"/soc/serial@10000000\";",
        ] {
            assert!(dts.contains(node), "{node} not in\n{dts}");
        }
    } else {
        eprintln!("dtc not installed: decompile check skipped");
    }
}

/// A bad-input run: non-zero exit, exactly one line on stderr starting `fief: `, no panic.
fn one_line_error(args: &[&str]) -> String {
    let (code, stdout, stderr) = fief(args);
    assert_ne!(code, 0, "{args:?}: {stdout}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
    assert!(stderr.starts_with("fief: "), "{stderr}");
    stderr
}

#[test]
fn bad_input_is_a_one_line_error() {
    let demo = std::fs::read(firmware("demo.elf")).unwrap();
    let missing = one_line_error(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        "/nonexistent/kernel.elf",
    ]);
    assert!(
        missing.contains("kernel '/nonexistent/kernel.elf': cannot read it"),
        "{missing}"
    );

    let truncated = temp("truncated.elf", &demo[..40]);
    let e = one_line_error(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        truncated.to_str().unwrap(),
    ]);
    assert!(e.contains("truncated ELF file"), "{e}");

    let mut arm = demo.clone();
    arm[18..20].copy_from_slice(&40u16.to_le_bytes());
    let arm = temp("arm.elf", &arm);
    let e = one_line_error(&["run", "--bios", "none", "--kernel", arm.to_str().unwrap()]);
    assert!(
        e.contains("ELF file for another machine: e_machine 40"),
        "{e}"
    );

    let mut wide = demo.clone();
    wide[4] = 2;
    let wide = temp("wide.elf", &wide);
    // On virt32 named outright (`-M virt` would take the ELF64 header for an RV64 image).
    let e = one_line_error(&[
        "run",
        "-M",
        "virt32",
        "--bios",
        "none",
        "--kernel",
        wide.to_str().unwrap(),
    ]);
    assert!(e.contains("wrong ELF class"), "{e}");

    // The first PT_LOAD's p_memsz (ELF32: at + 20) made 64 MiB, with 16 MiB of RAM.
    let mut big = demo.clone();
    let phoff = u32::from_le_bytes(big[28..32].try_into().unwrap()) as usize;
    let ph = (0..8)
        .map(|i| phoff + 32 * i)
        .find(|&ph| big[ph..ph + 4] == [1, 0, 0, 0])
        .unwrap();
    big[ph + 20..ph + 24].copy_from_slice(&(64u32 << 20).to_le_bytes());
    let big = temp("big.elf", &big);
    let e = one_line_error(&[
        "run",
        "-m",
        "16M",
        "--bios",
        "none",
        "--kernel",
        big.to_str().unwrap(),
    ]);
    assert!(e.contains("do not fit in 16 MiB of RAM"), "{e}");

    let e = one_line_error(&["run", "-M", "pc", "--bios", "none", "--kernel", "x.elf"]);
    assert_eq!(
        e,
        "fief: unknown machine 'pc' (available: virt32, virt64, and virt: virt64 for a \
         64-bit image, else virt32)\n"
    );
    let e = one_line_error(&["run", "-m", "0"]);
    assert_eq!(e, "fief: memory size '0' is zero\n");
    let e = one_line_error(&["run", "-m", "lots"]);
    assert!(e.contains("bad memory size 'lots'"), "{e}");
    let e = one_line_error(&["run", "--smp", "9"]);
    assert!(e.contains("1 to 8 harts"), "{e}");
    let e = one_line_error(&["run", "--serial", "tcp:1234"]);
    assert!(e.contains("unknown serial backend"), "{e}");
}

#[test]
fn trace_insn_lists_every_retired_instruction_and_each_trap() {
    let uart = firmware("uart.elf");
    let (code, _, stderr) = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        uart.to_str().unwrap(),
        "--serial",
        "null",
        "--trace",
        "insn,finish",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    // The first instruction of uart.S, `la sp, stack_top`: auipc sp, ...
    assert!(
        lines[0].starts_with("fief: trace: hart 0: 0x80000000: 00001117  Auipc rd=x2 rs1=x0"),
        "{}",
        lines[0]
    );
    // One line per retired instruction: as many as the run retired.
    let insns = lines
        .iter()
        .filter(|l| l.starts_with("fief: trace: hart 0: 0x"))
        .count();
    let finish = lines.last().unwrap();
    assert_eq!(
        *finish,
        format!("fief: trace: finish: Some(Pass) after {insns} instructions")
    );
    // The PLIC's machine external interrupt, then the handler's first instruction.
    let at = lines
        .iter()
        .position(|l| l.contains("interrupt cause 0x8000000b at 0x"))
        .expect("an interrupt line");
    let handler = lines[at].rsplit(' ').next().unwrap();
    assert!(
        lines[at + 1].starts_with(&format!("fief: trace: hart 0: {handler}: ")),
        "{}\n{}",
        lines[at],
        lines[at + 1]
    );
    assert!(insns > 100, "{insns}");
}
