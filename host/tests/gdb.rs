//! `fief run --gdb`: a GDB remote-protocol session against the runner, with a minimal
//! client written here (no gdb for RISC-V is needed): stop reason, registers, memory, a
//! software breakpoint, a single step, and the guest's exit; memory through the hart's
//! translation, hardware breakpoints and watchpoints, and that session also against
//! QEMU's gdb stub (`qemu-system-riscv32 -S -gdb`), whose replies must match.

#![allow(clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

mod gdb_client;

use gdb_client::Rsp;

/// What this file asks of the client beyond `gdb_client`.
impl Rsp {
    /// The `pc` from a `g` reply (x0..x31 then pc, 32-bit little-endian hex each).
    fn pc(&mut self) -> u32 {
        let regs = self.send("g");
        assert!(regs.len() >= 33 * 8, "{regs}");
        let pc = &regs[32 * 8..33 * 8];
        u32::from_le_bytes(
            (0..4)
                .map(|i| u8::from_str_radix(&pc[2 * i..2 * i + 2], 16).unwrap())
                .collect::<Vec<_>>()
                .try_into()
                .unwrap(),
        )
    }
}

/// Connects to the stub `child` announced on standard error.
fn attach(child: &mut Child, frozen: bool) -> Rsp {
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let rest = line
        .trim()
        .strip_prefix("fief: gdb server on ")
        .unwrap_or_else(|| panic!("{line}"));
    let addr = match rest.strip_suffix(", waiting for the debugger") {
        Some(addr) => {
            assert!(frozen, "{line}");
            addr
        }
        None => rest,
    };
    Rsp(TcpStream::connect(addr).unwrap())
}

fn fief(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn firmware(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(name)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn gdb_attaching_to_a_running_guest_stops_it_and_kill_ends_the_run() {
    // spin.elf loops forever: the debugger attaches while it runs.
    let mut child = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        &firmware("spin.elf"),
        "--serial",
        "null",
        "--gdb",
        "tcp::0",
    ]);
    let mut gdb = attach(&mut child, false);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let stop = gdb.send("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    let pc = gdb.pc();
    assert!((0x8000_0000..0x8001_0000).contains(&pc), "{pc:#x}");
    // A step from wherever it is moves on inside the loop.
    gdb.send("s");
    assert!((0x8000_0000..0x8001_0000).contains(&gdb.pc()));
    write!(gdb.0, "$k#6b").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn gdb_options_are_checked() {
    for (args, message) in [
        (&["-S"][..], "-S waits for a debugger"),
        (&["-s", "--smp", "2"][..], "serves one hart"),
        (&["--gdb", "udp::1"][..], "unknown gdb backend"),
    ] {
        let mut all = vec!["run", "--serial", "null"];
        all.extend_from_slice(args);
        let out = Command::new(env!("CARGO_BIN_EXE_fief"))
            .args(&all)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{args:?}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
}

#[test]
fn gdb_session_reads_registers_and_memory_breaks_steps_and_sees_the_exit() {
    let mut child = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        &firmware("uart.elf"),
        "--serial",
        "null",
        "--gdb",
        "tcp::0",
        "-S",
    ]);
    let mut gdb = attach(&mut child, true);

    // Frozen at the entry point.
    let stop = gdb.send("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    assert_eq!(gdb.pc(), 0x8000_0000);
    // The first instruction, auipc sp, 0x1 (0x00001117).
    assert_eq!(gdb.send("m80000000,4"), "17110000");
    // A breakpoint on `lui s0, 0x10000` (0x10000437) at 0x80000014; continue to it.
    assert_eq!(gdb.send("Z0,80000014,4"), "OK");
    let stop = gdb.send("c");
    assert!(
        stop.starts_with("T05") && stop.contains("swbreak"),
        "{stop}"
    );
    assert_eq!(gdb.pc(), 0x8000_0014);
    // Removed, the instruction is back; one step runs it.
    assert_eq!(gdb.send("z0,80000014,4"), "OK");
    assert_eq!(gdb.send("m80000014,4"), "37040010");
    let stop = gdb.send("s");
    assert!(stop.starts_with("S05") || stop.starts_with("T05"), "{stop}");
    assert_eq!(gdb.pc(), 0x8000_0018);
    // s0 (x8) now holds the UART base.
    let regs = gdb.send("g");
    assert_eq!(&regs[8 * 8..9 * 8], "00000010");
    // Unmapped memory is an error reply, not a crash.
    assert!(gdb.send("m00000010,4").starts_with('E'));
    // To the end: the finisher's pass is exit status 0.
    assert_eq!(gdb.send("c"), "W00");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn gdb_reads_and_writes_virtual_memory_and_stops_on_hardware_breakpoints_and_watchpoints() {
    // vmspin.elf runs in S-mode under Sv32: VA 0xc0000000 maps RAM at 0x80000000 and
    // nothing else is mapped. Its loop (VA 0xc0000080) increments the word at 0xc0000100.
    let mut child = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        &firmware("vmspin.elf"),
        "--serial",
        "null",
        "--gdb",
        "tcp::0",
    ]);
    let mut gdb = attach(&mut child, false);
    std::thread::sleep(std::time::Duration::from_millis(50));
    let stop = gdb.send("?");
    assert!(stop.starts_with('S') || stop.starts_with('T'), "{stop}");
    // A hardware breakpoint on the store (0xc0000090): stops before it, in S-mode with
    // the translation on (the stub may have stopped the guest before it got there).
    assert_eq!(gdb.send("Z1,c0000090,4"), "OK");
    let stop = gdb.send("c");
    assert!(
        stop.starts_with("T05") && stop.contains("hwbreak"),
        "{stop}"
    );
    assert_eq!(gdb.pc(), 0xc000_0090);
    assert_eq!(gdb.send("z1,c0000090,4"), "OK");
    // Memory goes through the hart's translation, as QEMU's stub: the first instruction
    // (li t0, -1) at its virtual address, and the physical address is not mapped.
    assert_eq!(gdb.send("mc0000000,4"), "9302f0ff");
    assert!(gdb.send("m80000000,4").starts_with('E'));
    assert!(gdb.send("md0000000,4").starts_with('E'));
    // A read across the end of the mapping is an error as a whole (QEMU's stub).
    assert!(gdb.send("mc03ffffe,4").starts_with('E'));
    assert_eq!(gdb.send("mc03ffffc,4"), "00000000");
    // Writes too: set the counter through its virtual address.
    assert_eq!(gdb.send("Mc0000100,4:00000001"), "OK");
    assert_eq!(gdb.send("mc0000100,4"), "00000001");
    // A write watchpoint on the counter: stops at the store, before it writes.
    let before = gdb.send("mc0000100,4");
    assert_eq!(gdb.send("Z2,c0000100,4"), "OK");
    let stop = gdb.send("c");
    assert!(
        stop.starts_with("T05") && stop.contains("watch:c0000100"),
        "{stop}"
    );
    assert_eq!(gdb.pc(), 0xc000_0090);
    assert_eq!(gdb.send("mc0000100,4"), before);
    assert_eq!(gdb.send("z2,c0000100,4"), "OK");
    // A read watchpoint: stops at the load (0xc0000088).
    assert_eq!(gdb.send("Z3,c0000102,1"), "OK");
    let stop = gdb.send("c");
    assert!(
        stop.starts_with("T05") && stop.contains("rwatch:c0000102"),
        "{stop}"
    );
    assert_eq!(gdb.pc(), 0xc000_0088);
    assert_eq!(gdb.send("z3,c0000102,1"), "OK");
    // An access watchpoint, then none: the guest runs on (stopped again with Ctrl-C).
    assert_eq!(gdb.send("Z4,c0000100,4"), "OK");
    let stop = gdb.send("c");
    assert!(stop.contains("awatch:c0000100"), "{stop}");
    assert_eq!(gdb.send("z4,c0000100,4"), "OK");
    write!(gdb.0, "$k#6b").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// The pc and the watchpoint part (`watch:ADDR`, `rwatch:..`, `awatch:..`) of a stop reply.
fn stop_summary(gdb: &mut Rsp, stop: &str) -> (u32, Option<String>) {
    assert!(stop.starts_with("T05"), "{stop}");
    let watch = stop
        .split(';')
        .find(|f| f.contains("watch:"))
        .map(|f| f.to_string());
    (gdb.pc(), watch)
}

/// One debugging session on vmspin.elf; the replies worth comparing between stubs.
fn vmspin_session(gdb: &mut Rsp) -> Vec<String> {
    let mut out = Vec::new();
    let c = |gdb: &mut Rsp, out: &mut Vec<String>| {
        let stop = gdb.send("c");
        out.push(format!("{:?}", stop_summary(gdb, &stop)));
    };
    assert_eq!(gdb.send("Z1,c0000090,4"), "OK");
    c(gdb, &mut out);
    assert_eq!(gdb.send("z1,c0000090,4"), "OK");
    // A software breakpoint at a virtual address (Fief writes its ebreak through the
    // translation); the instruction reads back unchanged once it is removed.
    assert_eq!(gdb.send("Z0,c0000088,4"), "OK");
    c(gdb, &mut out);
    assert_eq!(gdb.send("z0,c0000088,4"), "OK");
    out.push(gdb.send("mc0000088,4"));
    for m in [
        "mc0000000,8",
        "m80000000,4",
        "md0000000,4",
        "mc03ffffe,4",
        "mc03ffffc,4",
        "mc0000100,4",
    ] {
        let r = gdb.send(m);
        // Error numbers are the stubs' own; that it is an error is what counts.
        out.push(if r.starts_with('E') { "E".into() } else { r });
    }
    out.push(gdb.send("Mc03ffffe,4:01020304").chars().take(1).collect());
    for (z, addr) in [
        ("2", "c0000100,4"),
        ("3", "c0000102,1"),
        ("4", "c0000101,2"),
    ] {
        assert_eq!(gdb.send(&format!("Z{z},{addr}")), "OK");
        c(gdb, &mut out);
        out.push(gdb.send("mc0000100,4"));
        assert_eq!(gdb.send(&format!("z{z},{addr}")), "OK");
    }
    out
}

#[test]
fn gdb_memory_and_hardware_points_match_qemus_stub() {
    // The same session against `qemu-system-riscv32 -s -S` and `fief run -s -S`.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut qemu = Command::new("qemu-system-riscv32")
        .args([
            "-M",
            "virt",
            "-bios",
            "none",
            "-nographic",
            "-monitor",
            "none",
        ])
        .args([
            "-serial",
            "null",
            "-S",
            "-gdb",
            &format!("tcp:127.0.0.1:{port}"),
        ])
        .arg("-kernel")
        .arg(firmware("vmspin.elf"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .expect("qemu-system-riscv32 is needed (apt-get install qemu-system-misc)");
    let start = std::time::Instant::now();
    let stream = loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => break s,
            Err(e) if start.elapsed() > std::time::Duration::from_secs(10) => {
                let _ = qemu.kill();
                panic!("QEMU's gdb stub: {e}");
            }
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(20)),
        }
    };
    let mut gdb = Rsp(stream);
    gdb.send("?");
    let on_qemu = vmspin_session(&mut gdb);
    let _ = qemu.kill();
    let _ = qemu.wait();

    let mut child = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        &firmware("vmspin.elf"),
        "--serial",
        "null",
        "--gdb",
        "tcp::0",
        "-S",
    ]);
    let mut gdb = attach(&mut child, true);
    gdb.send("?");
    let on_fief = vmspin_session(&mut gdb);
    write!(gdb.0, "$k#6b").unwrap();
    child.wait().unwrap();
    assert_eq!(on_fief, on_qemu, "Fief (left) and QEMU (right) differ");
}

#[test]
fn gdb_reads_and_writes_the_fp_registers_one_at_a_time() {
    let mut child = fief(&[
        "run",
        "--bios",
        "none",
        "--kernel",
        &firmware("uart.elf"),
        "--serial",
        "null",
        "--gdb",
        "tcp::0",
        "-S",
    ]);
    let mut gdb = attach(&mut child, true);
    gdb.send("?");
    // The target description has gdb's FPU feature: f0..f31 as 64-bit registers 33..64.
    let xml = gdb.send("qXfer:features:read:target.xml:0,3fff");
    assert!(
        xml.contains(r#"<feature name="org.gnu.gdb.riscv.fpu">"#),
        "{xml}"
    );
    assert!(xml.contains(r#"<reg name="ft0" bitsize="64" type="riscv_double" regnum="33"/>"#));
    // `g` stays x0..x31 and pc, as from QEMU's stub; FP registers come through `p`/`P`.
    assert_eq!(gdb.send("g").len(), 33 * 8);
    assert_eq!(gdb.send("p21"), "0000000000000000");
    // f0 = the NaN-boxed single 1.0, f31 = the double 2.0 (little-endian bytes).
    assert_eq!(gdb.send("P21=0000803fffffffff"), "OK");
    assert_eq!(gdb.send("P40=0000000000000040"), "OK");
    assert_eq!(gdb.send("p21"), "0000803fffffffff");
    assert_eq!(gdb.send("p40"), "0000000000000040");
    // fflags (66), frm (67), fcsr (68).
    assert_eq!(gdb.send("P42=1f000000"), "OK");
    assert_eq!(gdb.send("P43=03000000"), "OK");
    assert_eq!(gdb.send("p44"), "7f000000");
    assert_eq!(gdb.send("p42"), "1f000000");
    // Register 65 is not one (gdb's numbering leaves a hole before fflags): no value.
    let hole = gdb.send("p41");
    assert!(hole.is_empty() || hole.starts_with('E'), "{hole}");
    // The guest runs on to its exit with the registers as written.
    assert!(gdb.send("s").starts_with(['S', 'T']));
    assert_eq!(gdb.send("p21"), "0000803fffffffff");
    assert_eq!(gdb.send("c"), "W00");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

/// On `virt64` the stub serves RV64 registers: a target description for `riscv:rv64` with
/// 64-bit x registers and `pc`, `g` with 33 doublewords, 64-bit `p`/`P` values and memory
/// at 64-bit addresses; stepping moves the 64-bit `pc`.
#[test]
fn gdb_serves_rv64_registers_on_virt64() {
    let mut child = fief(&[
        "run",
        "-M",
        "virt64",
        "-m",
        "6G",
        "--bios",
        "none",
        "--kernel",
        &firmware("rv64/highram.elf"),
        "--serial",
        "null",
        "--gdb",
        "tcp::0",
        "-S",
    ]);
    let mut gdb = attach(&mut child, true);
    gdb.send("?");
    let xml = gdb.send("qXfer:features:read:target.xml:0,3fff");
    assert!(
        xml.contains("<architecture>riscv:rv64</architecture>"),
        "{xml}"
    );
    assert!(xml.contains(r#"<reg name="a0" bitsize="64" type="int" regnum="10"/>"#));
    assert!(xml.contains(r#"<reg name="ft0" bitsize="64" type="riscv_double" regnum="33"/>"#));
    let g = gdb.send("g");
    assert_eq!(g.len(), 33 * 16, "{g}");
    // pc (register 32) = 0x8000_0000 as a little-endian doubleword; a1 = the device tree.
    assert_eq!(&g[32 * 16..], "0000008000000000");
    assert_eq!(gdb.send("p20"), "0000008000000000");
    assert_eq!(gdb.send("pb"), "0000e0bf00000000");
    // A 64-bit value in t3 (28) reads back whole.
    assert_eq!(gdb.send("P1c=efcdab8967452301"), "OK");
    assert_eq!(gdb.send("p1c"), "efcdab8967452301");
    // Memory at a 64-bit address past 4 GiB (RAM to 0x2_0000_0000 with -m 6G).
    assert_eq!(gdb.send("M1fffffff8,8:0102030405060708"), "OK");
    assert_eq!(gdb.send("m1fffffff8,8"), "0102030405060708");
    // A step moves the pc to the next instruction (`la sp, stack_top` is auipc + addi).
    assert!(gdb.send("s").starts_with(['S', 'T']));
    assert_eq!(gdb.send("p20"), "0400008000000000");
    assert_eq!(gdb.send("c"), "W00");
    assert_eq!(child.wait().unwrap().code(), Some(0));
}
