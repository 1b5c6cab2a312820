//! virtio-net over a UDP link (`-netdev socket,udp=` / `-netdev dgram`): Fief's own
//! bare-metal driver (`firmware/virtio_net.c`) on both ends of a loopback link, as two
//! `fief run` instances and as Fief against `qemu-system-riscv32`, both register layouts.
//! QEMU against QEMU is the reference: each end's console output on Fief must equal what
//! QEMU prints in the same role, and each end must have received, byte for byte, what the
//! other sent (the driver checks every byte against the sender's pattern and prints
//! checksums of what it sent and received). Also the command line's errors and the monitor
//! plugging a card (the committed firmware images are checked by `firmware_images.rs`).
#![allow(clippy::unwrap_used)]

use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fief_boards::virt32::{Virt32, Virt32Devices, VIRTIO_BASE};
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, RamBlock};
use fief_host::monitor::{Monitor, Unplug};
use fief_host::virtio_net::NetdevSpec;

/// Wall-time bound of one end's run (the driver gives up after 30 s of silence).
const TIMEOUT: &str = "120";

fn driver() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/virtio_net.elf")
}

/// Two loopback ports free a moment ago (bound to port 0, then released).
fn ports() -> (u16, u16) {
    let a = UdpSocket::bind("127.0.0.1:0").unwrap();
    let b = UdpSocket::bind("127.0.0.1:0").unwrap();
    (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Emu {
    Fief,
    Qemu,
}

/// One end of the link: which emulator, its MAC's last byte, and the netdev spelling.
struct End {
    emu: Emu,
    mac: u8,
    dgram: bool,
}

fn netdev(end: &End, local: u16, remote: u16) -> String {
    if end.dgram {
        format!(
            "dgram,id=n0,remote.type=inet,remote.host=127.0.0.1,remote.port={remote},\
             local.type=inet,local.host=127.0.0.1,local.port={local}"
        )
    } else {
        format!("socket,id=n0,udp=127.0.0.1:{remote},localaddr=127.0.0.1:{local}")
    }
}

fn spawn(end: &End, modern: bool, local: u16, remote: u16) -> Child {
    let mut c = Command::new("timeout");
    c.arg(TIMEOUT);
    match end.emu {
        Emu::Fief => c.arg(env!("CARGO_BIN_EXE_fief")).arg("run"),
        Emu::Qemu => c
            .arg(fief_tests::qemu::QEMU)
            .args(["-monitor", "none", "-serial", "stdio"]),
    };
    c.args(["-M", "virt", "-bios", "none", "-nographic"])
        .arg("-netdev")
        .arg(netdev(end, local, remote))
        .arg("-device")
        .arg(format!(
            "virtio-net-device,netdev=n0,mac=52:54:00:12:34:{:02x}",
            end.mac
        ));
    if modern {
        c.args(["-global", "virtio-mmio.force-legacy=false"]);
    }
    c.arg("-kernel")
        .arg(driver())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot run {:?} ({e}); QEMU comes with `apt-get install qemu-system-misc`",
            end.emu
        )
    })
}

/// What one end printed and its exit status.
struct Ran {
    out: String,
    err: String,
    status: Option<i32>,
}

/// Runs `a` and `b` linked to each other; both must end on their own.
fn link(a: &End, b: &End, modern: bool) -> (Ran, Ran) {
    let (pa, pb) = ports();
    let ca = spawn(a, modern, pa, pb);
    let cb = spawn(b, modern, pb, pa);
    let wait = |c: Child| {
        let o = c.wait_with_output().unwrap();
        Ran {
            out: String::from_utf8_lossy(&o.stdout).into_owned(),
            err: String::from_utf8_lossy(&o.stderr).into_owned(),
            status: o.status.code(),
        }
    };
    (wait(ca), wait(cb))
}

/// The checksum after `what` ("sent" or "received") in the driver's output.
fn checksum(out: &str, what: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("net: {what} ")))
        .unwrap_or_else(|| panic!("no '{what}' line in:\n{out}"));
    let at = line.find("checksum ").unwrap() + 9;
    line[at..at + 8].to_string()
}

/// Both ends passed and each received exactly what the other sent.
fn check_exchange(tag: &str, a: &Ran, b: &Ran) {
    for (side, r) in [("A", a), ("B", b)] {
        assert_eq!(
            r.status,
            Some(0),
            "{tag}: end {side} failed:\n{}\n{}",
            r.out,
            r.err
        );
        assert!(r.err.is_empty(), "{tag}: end {side} stderr: {}", r.err);
        assert!(
            r.out.contains("received 16 frames") && r.out.contains("bad bytes 0"),
            "{tag}: end {side}:\n{}",
            r.out
        );
    }
    assert_eq!(
        checksum(&a.out, "received"),
        checksum(&b.out, "sent"),
        "{tag}: A got B's"
    );
    assert_eq!(
        checksum(&b.out, "received"),
        checksum(&a.out, "sent"),
        "{tag}: B got A's"
    );
}

fn ends(a: Emu, b: Emu, dgram: bool) -> (End, End) {
    (
        End {
            emu: a,
            mac: 0x01,
            dgram,
        },
        End {
            emu: b,
            mac: 0x02,
            dgram,
        },
    )
}

/// Two `fief run` instances exchange frames both ways, legacy layout over
/// `-netdev socket,udp=`, modern over `-netdev dgram`; each end prints what QEMU prints in
/// the same role (QEMU against QEMU, the reference).
#[test]
fn two_fief_instances_exchange_frames_as_two_qemus_do() {
    for (modern, dgram) in [(false, false), (true, true)] {
        let tag = format!("modern={modern} dgram={dgram}");
        let (qa, qb) = ends(Emu::Qemu, Emu::Qemu, dgram);
        let (ref_a, ref_b) = link(&qa, &qb, modern);
        check_exchange(&format!("QEMU-QEMU {tag}"), &ref_a, &ref_b);
        let header = if modern {
            "header 12 bytes"
        } else {
            "header 10 bytes"
        };
        assert!(ref_a.out.contains(header), "{}", ref_a.out);
        let (fa, fb) = ends(Emu::Fief, Emu::Fief, dgram);
        let (a, b) = link(&fa, &fb, modern);
        check_exchange(&format!("Fief-Fief {tag}"), &a, &b);
        assert_eq!(a.out, ref_a.out, "{tag}: end A differs from QEMU's");
        assert_eq!(b.out, ref_b.out, "{tag}: end B differs from QEMU's");
    }
}

/// Fief and QEMU on one link, Fief at either end: both directions work and Fief's end
/// prints what QEMU's end prints in that role.
#[test]
fn fief_and_qemu_share_a_link_both_ways() {
    for modern in [false, true] {
        let tag = format!("modern={modern}");
        let (qa, qb) = ends(Emu::Qemu, Emu::Qemu, false);
        let (ref_a, ref_b) = link(&qa, &qb, modern);
        check_exchange(&format!("QEMU-QEMU {tag}"), &ref_a, &ref_b);
        let (fa, qb) = ends(Emu::Fief, Emu::Qemu, false);
        let (a, b) = link(&fa, &qb, modern);
        check_exchange(&format!("Fief-QEMU {tag}"), &a, &b);
        assert_eq!(a.out, ref_a.out, "{tag}: Fief as A differs from QEMU as A");
        assert_eq!(b.out, ref_b.out, "{tag}: QEMU as B differs");
        let (qa, fb) = ends(Emu::Qemu, Emu::Fief, false);
        let (a, b) = link(&qa, &fb, modern);
        check_exchange(&format!("QEMU-Fief {tag}"), &a, &b);
        assert_eq!(b.out, ref_b.out, "{tag}: Fief as B differs from QEMU as B");
    }
}

fn fief(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new("timeout")
        .arg("30")
        .arg(env!("CARGO_BIN_EXE_fief"))
        .args([
            "run",
            "-M",
            "virt",
            "-bios",
            "none",
            "-nographic",
            "-kernel",
        ])
        .arg(driver())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_net_command_lines_get_one_clear_line() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let in_use = format!("socket,id=n0,udp=127.0.0.1:9,localaddr=127.0.0.1:{port}");
    let cases: [(&[&str], &str); 8] = [
        (
            &["-device", "virtio-net-device,netdev=n0"],
            "no -netdev with id 'n0'",
        ),
        (&["-device", "virtio-net-device"], "needs netdev=ID"),
        (
            &[
                "-netdev",
                "user,id=n0",
                "-device",
                "virtio-net-device,netdev=n0",
            ],
            "-netdev user: not taken",
        ),
        (
            &["-netdev", "tap,id=n0,ifname=t0"],
            "-netdev tap: not taken",
        ),
        (
            &["-netdev", "socket,id=n0,listen=:5555"],
            "socket,listen=: not taken",
        ),
        (
            &["-netdev", &in_use, "-device", "virtio-net-device,netdev=n0"],
            "Address already in use",
        ),
        (
            &[
                "-netdev",
                "socket,id=n0,udp=127.0.0.1:9,localaddr=127.0.0.1:0",
                "-device",
                "virtio-net-device,netdev=n0,mac=52:54",
            ],
            "mac=52:54",
        ),
        (
            &[
                "-netdev",
                "dgram,id=n0,local.type=unix,local.path=/tmp/x",
                "-device",
                "virtio-net-device,netdev=n0",
            ],
            "'local.path=/tmp/x' is not taken",
        ),
    ];
    for (args, says) in cases {
        let (status, out, err) = fief(args);
        assert_eq!(status, Some(1), "{args:?}: {out}{err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(
            err.starts_with("fief: ") && err.contains(says),
            "{args:?}: {err}"
        );
        assert!(out.is_empty(), "{args:?}: the guest never ran: {out}");
    }
    drop(taken);
}

fn device_id(board: &Virt32<'static>, slot: u64) -> u64 {
    board
        .space()
        .read(
            GuestAddress(VIRTIO_BASE + 0x1000 * slot + 8),
            AccessSize::Word,
            MemTxAttrs::UNSPECIFIED,
        )
        .0
}

fn config(board: &Virt32<'static>, slot: u64, off: u64) -> u8 {
    board
        .space()
        .read(
            GuestAddress(VIRTIO_BASE + 0x1000 * slot + 0x100 + off),
            AccessSize::Byte,
            MemTxAttrs::UNSPECIFIED,
        )
        .0 as u8
}

/// The monitor plugs a card over a netdev (QEMU's default MAC, then the next), refuses a
/// second card on the same netdev, unplugs it and plugs it again.
#[test]
fn monitor_plugs_and_unplugs_a_net_card() {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 1 << 20].into_boxed_slice()));
    let board: &'static Virt32<'static> =
        Box::leak(Box::new(Virt32::build(devices, ram, 1).unwrap()));
    let monitor = Monitor::new(board, None, || {});
    for id in ["n0", "n1"] {
        monitor
            .virtio()
            .add_netdev(
                NetdevSpec::parse(&format!(
                    "socket,id={id},udp=127.0.0.1:9,localaddr=127.0.0.1:0"
                ))
                .unwrap(),
            )
            .unwrap();
    }
    let r = monitor
        .execute("device_add virtio-net-device,netdev=n0,id=nic0")
        .text;
    assert!(r.contains("slot 7"), "{r}");
    assert_eq!(device_id(board, 7), 1);
    let mac: Vec<u8> = (0..6).map(|i| config(board, 7, i)).collect();
    assert_eq!(
        mac,
        [0x52, 0x54, 0, 0x12, 0x34, 0x56],
        "QEMU's first default"
    );
    assert_eq!(config(board, 7, 6), 1, "link up");
    let r = monitor
        .execute("device_add virtio-net-device,netdev=n0,id=nic9")
        .text;
    assert!(r.contains("netdev 'n0' is in use"), "{r}");
    let r = monitor
        .execute("device_add virtio-net-device,netdev=n1,id=nic1")
        .text;
    assert!(r.contains("slot 6"), "{r}");
    assert_eq!(config(board, 6, 5), 0x57, "QEMU's next default");
    let r = monitor
        .execute("device_add virtio-net-device,netdev=nx")
        .text;
    assert!(r.contains("no netdev 'nx'"), "{r}");
    assert_eq!(
        monitor.device_del("nic0", Duration::from_secs(5)).unwrap(),
        Unplug::Complete
    );
    assert_eq!(device_id(board, 7), 0);
    let r = monitor
        .execute("device_add virtio-net-device,netdev=n0,mac=52:54:00:ab:cd:ef,id=nic0")
        .text;
    assert!(r.contains("slot 7"), "{r}");
    assert_eq!(config(board, 7, 5), 0xef);
}
