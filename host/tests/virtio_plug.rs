//! Hot-plug of virtio devices through the monitor while the board runs: disks, consoles and
//! network cards plugged and unplugged (their models reused once an unplug completes), a
//! drive resized under its driver, and harts doing I/O while disks and RAM come and go.

#![allow(clippy::unwrap_used)]

mod disks;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use disks::{image, temp};
use fief_boards::dma::StepOutcome;
use fief_boards::virt32::{Virt32, Virt32Devices, VIRTIO_BASE};
use fief_boards::virtio::mmio::{reg, MAX_QUEUES};
use fief_boards::virtio::status;
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, RamBlock};
use fief_host::dma_workers::DmaWorkers;
use fief_host::monitor::{Monitor, Unplug};
use fief_host::virtio_host::DriveSpec;

fn board() -> &'static Virt32<'static> {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 1 << 20].into_boxed_slice()));
    Box::leak(Box::new(Virt32::build(devices, ram, 1).unwrap()))
}

/// A board whose DMA channels (work items 0-7) and virtio queues (from 8 on) `workers`
/// threads serve, each slot's doorbell ringing them.
fn board_with_workers(workers: usize) -> (&'static Virt32<'static>, DmaWorkers) {
    let board = board();
    let workers = DmaWorkers::spawn(workers, move |c, n| {
        if c < 8 {
            board.dma_step(c, n)
        } else {
            board.virtio_step((c - 8) / MAX_QUEUES, (c - 8) % MAX_QUEUES)
        }
    })
    .unwrap();
    for (n, s) in board.devices.virtio.iter().enumerate() {
        s.set_doorbell(workers.doorbell(), 8 + n * MAX_QUEUES);
    }
    (board, workers)
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

#[test]
fn monitor_plugs_and_unplugs_virtio_devices_while_the_board_runs() {
    let (board, workers) = board_with_workers(2);
    let monitor = Monitor::new(board, None, || {});
    let img = temp("hot.img");
    image(&img, 16, 3);
    monitor
        .virtio()
        .add_drive(
            DriveSpec::parse(&format!("file={},format=raw,if=none,id=hd0", img.display())).unwrap(),
        )
        .unwrap();
    let reply = monitor
        .execute("device_add virtio-blk-device,drive=hd0,id=disk")
        .text;
    assert!(
        reply.contains("slot 7 at 0x10008000, PLIC source 8"),
        "{reply}"
    );
    assert_eq!(device_id(board, 7), 2);
    // The drive is in use; another blk over it is refused.
    let reply = monitor
        .execute("device_add virtio-blk-device,drive=hd0,id=disk2")
        .text;
    assert!(reply.contains("drive 'hd0' is in use"), "{reply}");
    let reply = monitor.execute("device_add virtio-rng-device,id=rng").text;
    assert!(reply.contains("slot 6"), "{reply}");
    assert!(monitor
        .execute("info qtree")
        .text
        .contains("dev: disk, realized"));
    // Fill the other slots; the ninth device finds none free.
    for i in 0..6 {
        let r = monitor
            .execute(&format!("device_add virtio-rng-device,id=r{i}"))
            .text;
        assert!(r.contains(&format!("slot {}", 5 - i)), "{r}");
    }
    let r = monitor.execute("device_add virtio-rng-device,id=r9").text;
    assert!(r.contains("all 8 virtio-mmio slots are in use"), "{r}");
    // Unplug: the slot answers as an empty one, the drive is free again.
    assert_eq!(
        monitor.device_del("disk", Duration::from_secs(5)).unwrap(),
        Unplug::Complete
    );
    assert_eq!(device_id(board, 7), 0);
    let reply = monitor
        .execute("device_add virtio-blk-device,drive=hd0,id=disk")
        .text;
    assert!(reply.contains("slot 7"), "{reply}");
    assert_eq!(device_id(board, 7), 2);
    // The slots themselves are the board's, not hot-pluggable.
    assert!(monitor
        .execute("device_del virtio3")
        .text
        .contains("not hot-pluggable"));
    assert_eq!(board.virtio_step(7, 0), StepOutcome::Idle);
    drop(workers);
}

/// `virtio_stress.c`'s pattern.
fn stress_pattern(h: u32, r: u32, i: u32) -> u8 {
    (i.wrapping_mul(31) + h * 7 + r * 13 + (i >> 8)) as u8
}

/// Four harts doing virtio-blk I/O through Fief's driver (`firmware/virtio_stress.c`), each
/// on its own disk, while the monitor unplugs and plugs their disks and plugs and unplugs
/// RAM: the guest checks every byte it reads back (and its blocks at the end), redoing a
/// round whose device went away; afterwards every block of every disk file holds the last
/// pattern written there. The unplugs must have hit the harts mid-run (reconnects > 0).
#[test]
fn stress_harts_doing_io_while_disks_and_ram_are_unplugged_and_plugged() {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::os::unix::net::UnixStream;
    use std::time::Instant;
    const ROUNDS: u32 = 40;
    let sock = temp("stress.sock");
    let _ = std::fs::remove_file(&sock);
    let mut args: Vec<String> = ["run", "-bios", "none", "-smp", "4", "-m", "64M", "-kernel"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("firmware/virtio_stress.elf")
            .display()
            .to_string(),
    );
    args.push("--monitor".into());
    args.push(format!("unix:{}", sock.display()));
    let disks: Vec<PathBuf> = (0..4).map(|h| temp(&format!("stress{h}.img"))).collect();
    for (h, d) in disks.iter().enumerate() {
        image(d, 64, 77 + h as u32);
        args.push("-drive".into());
        args.push(format!("file={},format=raw,if=none,id=hd{h}", d.display()));
        args.push("-device".into());
        args.push(format!("virtio-blk-device,drive=hd{h},id=disk{h}"));
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let stream = loop {
        if let Ok(s) = UnixStream::connect(&sock) {
            break s;
        }
        assert!(Instant::now() < deadline, "no monitor socket");
        std::thread::sleep(Duration::from_millis(10));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut until_prompt = move || -> Option<String> {
        let mut text = Vec::new();
        while !text.ends_with(b"(fief) ") {
            let mut chunk = Vec::new();
            match reader.read_until(b' ', &mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(_) => text.extend_from_slice(&chunk),
            }
        }
        Some(String::from_utf8_lossy(&text).into_owned())
    };
    until_prompt().unwrap();
    let mut cmd = move |line: &str| -> Option<String> {
        writeln!(out, "{line}").ok()?;
        until_prompt()
    };
    let mut unplugs = 0;
    let mut ram_plugs = 0;
    'cycle: for round in 0.. {
        let k = round % 4;
        let Some(r) = cmd(&format!("device_del disk{k}")) else {
            break;
        };
        if r.contains("unplugged") || r.contains("completes when") {
            unplugs += 1;
        }
        // Plug it back (its slot frees once its requests in flight have ended).
        loop {
            let Some(r) = cmd(&format!(
                "device_add virtio-blk-device,drive=hd{k},id=disk{k}"
            )) else {
                break 'cycle;
            };
            if r.contains(&format!("in virtio-mmio slot {}", 7 - k)) {
                break;
            }
            if r.contains("in virtio-mmio slot") {
                // Its device_del was still pending (requests in flight on its own slot: the
                // slot frees only once they have ended on the used ring), so it went to
                // the highest free one (as QEMU picks): take it out again and retry until
                // its slot is free.
                if cmd(&format!("device_del disk{k}")).is_none() {
                    break 'cycle;
                }
                std::thread::sleep(Duration::from_millis(5));
                continue;
            }
            // The drive or the id is still held by the pending unplug. (Never "still
            // busy": a released slot takes no request of its old device any more.)
            assert!(r.contains("in use") || r.contains("exists already"), "{r}");
            std::thread::sleep(Duration::from_millis(5));
        }
        let Some(r) = cmd("device_add ram,id=hot,addr=0x90000000,size=1M") else {
            break;
        };
        if r.contains("RAM at") {
            ram_plugs += 1;
        }
        if cmd("device_del hot").is_none() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let status = child.wait().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let mut reconnects = 0;
    for h in 0..4 {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("hart {h}: ok, {ROUNDS} rounds, ")))
            .unwrap_or_else(|| panic!("hart {h} did not finish:\n{stdout}"));
        reconnects += line
            .split(", ")
            .nth(2)
            .and_then(|s| s.split(' ').next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap();
    }
    assert!(
        unplugs >= 4 && ram_plugs >= 4,
        "{unplugs} unplugs, {ram_plugs} RAM plugs"
    );
    assert!(reconnects > 0, "no unplug hit a hart mid-run:\n{stdout}");
    // Every byte on the host's side too.
    for (h, d) in disks.iter().enumerate() {
        let bytes = std::fs::read(d).unwrap();
        for k in 0..4u32 {
            let r = ROUNDS - 4 + k;
            let block = &bytes[(8 * 512 * k) as usize..][..4096];
            let want: Vec<u8> = (0..4096).map(|i| stress_pattern(h as u32, r, i)).collect();
            assert!(block == want.as_slice(), "disk {h} block {k}");
        }
    }
    eprintln!("{unplugs} disk unplugs, {ram_plugs} RAM plugs, {reconnects} reconnects");
}

fn reg32(board: &Virt32<'static>, slot: u64, off: u64) -> u32 {
    board
        .space()
        .read(
            GuestAddress(VIRTIO_BASE + 0x1000 * slot + off),
            AccessSize::Word,
            MemTxAttrs::UNSPECIFIED,
        )
        .0 as u32
}

fn set_reg32(board: &Virt32<'static>, slot: u64, off: u64, v: u32) {
    let r = board.space().write(
        GuestAddress(VIRTIO_BASE + 0x1000 * slot + off),
        AccessSize::Word,
        v as u64,
        MemTxAttrs::UNSPECIFIED,
    );
    assert_eq!(r, fief_core::memory::MemTxResult::OK);
}

/// The monitor's `block_resize`: the drive's file changes size, a plugged disk's
/// capacity follows, and once its driver is ready it is told (a configuration-change
/// interrupt; `ConfigGeneration` on the modern layout is in `boards/tests/virtio.rs`).
/// Read-only drives and bad sizes are one-line errors.
#[test]
fn block_resize_changes_the_capacity_and_tells_the_driver() {
    let board = board();
    let monitor = Monitor::new(board, None, || {});
    let img = temp("resize.img");
    image(&img, 16, 5);
    let ro = temp("resize-ro.img");
    image(&ro, 16, 6);
    for spec in [
        format!("file={},format=raw,if=none,id=hd0", img.display()),
        format!("file={},format=raw,if=none,id=ro,readonly=on", ro.display()),
    ] {
        monitor
            .virtio()
            .add_drive(DriveSpec::parse(&spec).unwrap())
            .unwrap();
    }
    // Not plugged: only the file changes.
    let r = monitor.execute("block_resize hd0 16K").text;
    assert!(
        r.contains("now 16384 bytes (32 sectors)") && !r.contains("told"),
        "{r}"
    );
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 16384);
    let r = monitor
        .execute("device_add virtio-blk-device,drive=hd0,id=disk")
        .text;
    assert!(r.contains("slot 7"), "{r}");
    assert_eq!(reg32(board, 7, 0x100), 32, "capacity in sectors");
    // The driver is ready (ACKNOWLEDGE | DRIVER | DRIVER_OK): it is told.
    set_reg32(board, 7, 0x70, 7);
    let r = monitor.execute("block_resize hd0 1M").text;
    assert!(r.contains("(2048 sectors); its driver was told"), "{r}");
    assert_eq!(reg32(board, 7, 0x100), 2048);
    assert_eq!(std::fs::metadata(&img).unwrap().len(), 1 << 20);
    assert_eq!(reg32(board, 7, 0x60) & 2, 2, "configuration change");
    assert!(board.devices.virtio[7].irq.level());
    set_reg32(board, 7, 0x64, 3);
    assert!(!board.devices.virtio[7].irq.level());
    // The bytes before the old end are kept; the new ones read as zeros.
    let bytes = std::fs::read(&img).unwrap();
    assert!(bytes[16384..].iter().all(|&b| b == 0));
    for (bad, says) in [
        ("block_resize ro 1M", "read-only"),
        ("block_resize nope 1M", "no drive 'nope'"),
        ("block_resize hd0 lots", "bad number"),
        ("block_resize hd0", "block_resize DRIVE SIZE"),
    ] {
        let r = monitor.execute(bad).text;
        assert!(r.starts_with("Error: ") && r.contains(says), "{bad}: {r}");
    }
    assert_eq!(std::fs::metadata(&ro).unwrap().len(), 16 * 512);
}

/// The console through the monitor: `device_add virtconsole,chardev=ID` plugs a console on
/// a command line's `-chardev` (one console per chardev), `device_add
/// virtio-serial-device` one with no port; `device_del` takes them out and frees the
/// chardev for the next.
#[test]
fn monitor_plugs_and_unplugs_consoles() {
    // The workers serve the consoles until the test ends.
    let (board, _workers) = board_with_workers(1);
    let monitor = Monitor::new(board, None, || {});
    let sock = temp("hot-con.sock");
    monitor
        .virtio()
        .add_chardev(
            "c0".to_string(),
            &fief_host::chardev::Chardev::Socket(sock.clone()),
        )
        .unwrap();
    let e = monitor
        .virtio()
        .add_chardev(
            "c0".to_string(),
            &fief_host::chardev::Chardev::File(temp("x")),
        )
        .unwrap_err();
    assert!(e.contains("exists already"), "{e}");
    let r = monitor
        .execute("device_add virtconsole,chardev=c0,id=con")
        .text;
    assert!(r.contains("'con' in virtio-mmio slot 7"), "{r}");
    assert_eq!(device_id(board, 7), 3);
    let r = monitor
        .execute("device_add virtconsole,chardev=c0,id=con2")
        .text;
    assert!(r.contains("chardev 'c0' is in use"), "{r}");
    let r = monitor.execute("device_add virtconsole,chardev=nope").text;
    assert!(r.contains("no chardev 'nope'"), "{r}");
    let r = monitor.execute("device_add virtconsole").text;
    assert!(r.contains("needs chardev=ID"), "{r}");
    let r = monitor
        .execute("device_add virtio-serial-device,id=bare")
        .text;
    assert!(r.contains("'bare' in virtio-mmio slot 6"), "{r}");
    assert_eq!(device_id(board, 6), 3);
    for id in ["con", "bare"] {
        assert_eq!(
            monitor.device_del(id, Duration::from_secs(5)).unwrap(),
            Unplug::Complete
        );
    }
    assert_eq!(device_id(board, 7), 0);
    let r = monitor
        .execute("device_add virtconsole,chardev=c0,id=again")
        .text;
    assert!(r.contains("slot 7"), "the chardev is free again: {r}");
    // Its socket still listens.
    assert!(std::os::unix::net::UnixStream::connect(&sock).is_ok());
}

/// A driver's work on virtio slot `slot` of `board`, legacy layout (the board's default):
/// its transmit queue (queue 1, eight entries) set up in RAM and one buffer sent.
struct TxDriver {
    board: &'static Virt32<'static>,
    slot: u64,
}

impl TxDriver {
    const TABLE: u64 = 0x8008_0000;
    const BUF: u64 = 0x8009_0000;

    fn poke(&self, addr: u64, bytes: &[u8]) {
        for (i, b) in bytes.iter().enumerate() {
            let r = self.board.space().write(
                GuestAddress(addr + i as u64),
                AccessSize::Byte,
                *b as u64,
                MemTxAttrs::UNSPECIFIED,
            );
            assert_eq!(r, fief_core::memory::MemTxResult::OK);
        }
    }

    fn peek16(&self, addr: u64) -> u16 {
        self.board
            .space()
            .read(
                GuestAddress(addr),
                AccessSize::Half,
                MemTxAttrs::UNSPECIFIED,
            )
            .0 as u16
    }

    /// What a driver probing the slot finds before it touches it: as on a new device, no
    /// status, no interrupt, queue 1 there and not set up (its PFN 0) (asserted); and the
    /// first `config` bytes of the configuration (returned).
    fn probe(&self, config: u64) -> Vec<u8> {
        let (b, s) = (self.board, self.slot);
        assert_eq!(reg32(b, s, reg::STATUS), 0, "slot {s}: status");
        assert_eq!(reg32(b, s, reg::INTERRUPT_STATUS), 0, "slot {s}: interrupt");
        set_reg32(b, s, reg::QUEUE_SEL, 1);
        assert_eq!(reg32(b, s, reg::QUEUE_PFN), 0, "slot {s}: queue 1 set up");
        assert_ne!(reg32(b, s, reg::QUEUE_NUM_MAX), 0, "slot {s}: queue 1");
        (0..config)
            .map(|i| {
                b.space()
                    .read(
                        GuestAddress(VIRTIO_BASE + 0x1000 * s + reg::CONFIG + i),
                        AccessSize::Byte,
                        MemTxAttrs::UNSPECIFIED,
                    )
                    .0 as u8
            })
            .collect()
    }

    /// Starts the device (no feature taken), sends `bytes` as one buffer on queue 1 and
    /// serves it; asserts it comes back on the used ring.
    fn send(&self, bytes: &[u8]) {
        let (b, s) = (self.board, self.slot);
        set_reg32(b, s, reg::STATUS, 0);
        set_reg32(b, s, reg::STATUS, status::ACKNOWLEDGE | status::DRIVER);
        set_reg32(b, s, reg::DRIVER_FEATURES, 0);
        set_reg32(b, s, reg::GUEST_PAGE_SIZE, 4096);
        set_reg32(b, s, reg::QUEUE_SEL, 1);
        set_reg32(b, s, reg::QUEUE_NUM, 8);
        set_reg32(b, s, reg::QUEUE_ALIGN, 4096);
        // A clean ring: no entry of an earlier round's.
        self.poke(Self::TABLE, &[0u8; 0x1010]);
        set_reg32(b, s, reg::QUEUE_PFN, (Self::TABLE >> 12) as u32);
        set_reg32(
            b,
            s,
            reg::STATUS,
            status::ACKNOWLEDGE | status::DRIVER | status::DRIVER_OK,
        );
        self.poke(Self::BUF, bytes);
        let mut desc = [0u8; 16];
        desc[..8].copy_from_slice(&Self::BUF.to_le_bytes());
        desc[8..12].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.poke(Self::TABLE, &desc);
        // The available ring after the eight descriptors: ring[0] = 0, then idx = 1.
        self.poke(Self::TABLE + 16 * 8 + 4, &[0, 0]);
        self.poke(Self::TABLE + 16 * 8 + 2, &[1, 0]);
        set_reg32(b, s, reg::QUEUE_NOTIFY, 1);
        assert_ne!(b.virtio_step(s as usize, 1), StepOutcome::Idle, "slot {s}");
        // The used ring starts on the next page: idx at +2.
        assert_eq!(self.peek16(Self::TABLE + 0x1000 + 2), 1, "slot {s}: used");
    }
}

/// Found with the `monitor` fuzz target (LeakSanitizer): each plug of a network card made a
/// new model, kept for the process, so plug/unplug cycles grew the host. A card's model is
/// reused once its device's unplug is complete: cycles over two netdevs with a new MAC each
/// make one model, and each plug of it looks to the driver as a new card does (its MAC, a
/// reset transport) and sends its frames on its own netdev's link.
#[test]
fn net_card_plug_unplug_cycles_reuse_one_model_that_looks_new() {
    let board = board();
    let monitor = Monitor::new(board, None, || {});
    let peers: Vec<std::net::UdpSocket> = (0..2)
        .map(|_| {
            let p = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            p.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            p
        })
        .collect();
    for (n, peer) in peers.iter().enumerate() {
        let spec = format!(
            "socket,id=n{n},udp={},localaddr=127.0.0.1:0",
            peer.local_addr().unwrap()
        );
        monitor
            .virtio()
            .add_netdev(fief_host::virtio_net::NetdevSpec::parse(&spec).unwrap())
            .unwrap();
    }
    let driver = TxDriver { board, slot: 7 };
    for round in 0..12u8 {
        let n = round as usize % 2;
        let r = monitor
            .execute(&format!(
                "device_add virtio-net-device,netdev=n{n},mac=52:54:00:ab:cd:{round:02x},id=nic"
            ))
            .text;
        assert!(r.contains("slot 7"), "round {round}: {r}");
        assert_eq!(device_id(board, 7), 1);
        assert_eq!(
            driver.probe(8),
            [0x52, 0x54, 0, 0xab, 0xcd, round, 1, 0],
            "round {round}: MAC and link up"
        );
        // A frame after the legacy header (10 bytes, no feature taken).
        let mut frame = vec![0u8; 10];
        frame.extend_from_slice(format!("frame of round {round}").as_bytes());
        driver.send(&frame);
        let mut got = [0u8; 64];
        let len = peers[n]
            .recv(&mut got)
            .unwrap_or_else(|e| panic!("round {round}: nothing on n{n}'s link: {e}"));
        assert_eq!(&got[..len], &frame[10..], "round {round}: on n{n}'s link");
        assert_eq!(
            monitor.device_del("nic", Duration::from_secs(10)).unwrap(),
            Unplug::Complete
        );
    }
    let made = monitor.virtio().models_made();
    assert_eq!(made.nets, 1, "card models made for 12 plugs");
    assert_eq!(monitor.virtio().models_spare().nets, 1);
    assert!(monitor
        .execute("info pools")
        .text
        .contains("virtio-net models made: 1\n"));
}

/// As for network cards, found with the `monitor` fuzz target: each console plug made a new
/// model (and a port-less one a new back end). Cycles of a console on one chardev, one with
/// no port and one on another chardev make one model; each plug of it looks new to the
/// driver and its output goes to its own chardev (none for the port-less one).
#[test]
fn console_plug_unplug_cycles_reuse_one_model_that_looks_new() {
    let board = board();
    let monitor = Monitor::new(board, None, || {});
    let files = [temp("reuse-c0.txt"), temp("reuse-c1.txt")];
    for (n, f) in files.iter().enumerate() {
        monitor
            .virtio()
            .add_chardev(
                format!("c{n}"),
                &fief_host::chardev::Chardev::File(f.clone()),
            )
            .unwrap();
    }
    let driver = TxDriver { board, slot: 7 };
    let mut want = [String::new(), String::new()];
    for round in 0..12 {
        let chardev = [Some(0), None, Some(1)][round % 3];
        let r = match chardev {
            Some(n) => monitor.execute(&format!("device_add virtconsole,chardev=c{n},id=con")),
            None => monitor.execute("device_add virtio-serial-device,id=con"),
        }
        .text;
        assert!(r.contains("slot 7"), "round {round}: {r}");
        assert_eq!(device_id(board, 7), 3);
        assert_eq!(
            driver.probe(12),
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0],
            "round {round}: one port"
        );
        let line = format!("line of round {round}\n");
        driver.send(line.as_bytes());
        if let Some(n) = chardev {
            want[n] += &line;
        }
        for n in 0..2 {
            assert_eq!(
                std::fs::read_to_string(&files[n]).unwrap(),
                want[n],
                "round {round}: c{n}"
            );
        }
        assert_eq!(
            monitor.device_del("con", Duration::from_secs(10)).unwrap(),
            Unplug::Complete
        );
    }
    assert_eq!(
        monitor.virtio().models_made().consoles,
        1,
        "console models made for 12 plugs"
    );
    assert!(monitor
        .execute("info pools")
        .text
        .contains("virtio console models made: 1\n"));
}
