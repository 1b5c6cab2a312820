//! The DMA engine with its host worker threads, the monitor and hot-plug while the guest runs
//! (rules L4, L7, L8): the device test firmware through the runner, the monitor on a Unix
//! socket, the seed scenario (`docs/design.md` section 1) end to end with a guest driving the
//! engine, and a bounded stress run of harts, DMA workers and a hot-plug thread.

#![allow(clippy::unwrap_used)]

use std::io::{BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fief_boards::dma::{flags, state, ErrorCode, DEFAULT_CHUNK};
use fief_boards::finisher::Finish;
use fief_boards::virt32::{Image, Virt32, Virt32Devices, HOTPLUG_IRQ_FIRST, UART_IRQ};
use fief_core::cpu::riscv::Exit;
use fief_core::memory::{
    AccessSize, GuestAddress, MemTxAttrs, MemTxResult, Priority, RamBlock, RegionOffset, RegionSize,
};
use fief_host::dma_workers::DmaWorkers;
use fief_host::monitor::{Monitor, Unplug};

const PLAIN: MemTxAttrs = MemTxAttrs::UNSPECIFIED;
const MBOX: u64 = 0x8010_0000;
const DESC0: u64 = 0x8010_0100;
const DESC1: u64 = 0x8010_0200;

fn firmware(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("firmware")
        .join(name)
}

fn board(harts: usize, ram: usize) -> &'static Virt32<'static> {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; ram].into_boxed_slice()));
    Box::leak(Box::new(Virt32::build(devices, ram, harts).unwrap()))
}

fn workers(board: &'static Virt32<'static>) -> DmaWorkers {
    let w = DmaWorkers::spawn(2, move |c, n| board.dma_step(c, n)).unwrap();
    board.devices.dma.set_doorbell(w.doorbell());
    w
}

fn write32(board: &Virt32<'static>, addr: u64, v: u32) {
    assert!(board
        .space()
        .write(GuestAddress(addr), AccessSize::Word, v as u64, PLAIN)
        .is_ok());
}

fn read32(board: &Virt32<'static>, addr: u64) -> u32 {
    let (v, r) = board
        .space()
        .read(GuestAddress(addr), AccessSize::Word, PLAIN);
    assert!(r.is_ok());
    v as u32
}

/// Writes a 32-byte descriptor.
fn descriptor(board: &Virt32<'static>, at: u64, src: u64, dst: u64, len: u32, f: u32) {
    let mut d = [0u8; 32];
    d[0..8].copy_from_slice(&src.to_le_bytes());
    d[8..16].copy_from_slice(&dst.to_le_bytes());
    d[24..28].copy_from_slice(&len.to_le_bytes());
    d[28..32].copy_from_slice(&f.to_le_bytes());
    assert!(board.space().write_buf(GuestAddress(at), &d, PLAIN).is_ok());
}

/// Boots `dmarun.elf` with its mailbox and starts one thread per hart, each running until
/// the finisher is written or `deadline`.
fn boot_dmarun(
    board: &'static Virt32<'static>,
    desc: u64,
    rounds: u32,
    verify: bool,
    deadline: Instant,
    stop: &'static AtomicBool,
) -> Vec<JoinHandle<()>> {
    let elf = std::fs::read(firmware("dmarun.elf")).unwrap();
    let mut dtb = vec![0u8; 16 * 1024];
    let len = board.write_dtb(&mut dtb).unwrap();
    let boot = board
        .boot(None, Some(Image::Elf(&elf)), &dtb[..len])
        .unwrap();
    write32(board, MBOX, desc as u32);
    write32(board, MBOX + 4, rounds);
    write32(board, MBOX + 8, verify as u32);
    (0..board.harts)
        .map(|i| {
            let mut hart = board.hart(i, boot.entry, boot.dtb_addr).unwrap();
            std::thread::spawn(move || {
                let space = board.space();
                while board.finish().is_none()
                    && Instant::now() < deadline
                    && !stop.load(Ordering::SeqCst)
                {
                    let exit = hart.run(&space.section().unwrap(), 10_000);
                    if exit == Exit::Wfi {
                        std::thread::sleep(Duration::from_micros(50));
                    }
                }
                board.devices.harts.stop_all();
            })
        })
        .collect()
}

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 13) as u8)
        .collect()
}

fn wait_idle(board: &Virt32<'static>, channel: usize, deadline: Instant) -> u32 {
    loop {
        let status = board.devices.dma.status(channel);
        if status & 0xf != state::BUSY as u32 {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "DMA channel {channel} never stopped"
        );
        std::thread::sleep(Duration::from_micros(50));
    }
}

#[test]
fn dma_firmware_passes_through_the_runner_with_worker_threads() {
    let out = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args([
            "run",
            "--bios",
            "none",
            "--kernel",
            firmware("dma.elf").to_str().unwrap(),
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "dma ok\n");
}

#[test]
fn monitor_on_a_unix_socket_plugs_and_unplugs_while_the_guest_runs() {
    let dir = std::env::temp_dir().join(format!("fief-mon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sock = dir.join("mon.sock");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fief"))
        .args([
            "run",
            "--bios",
            "none",
            "--kernel",
            firmware("spin.elf").to_str().unwrap(),
            "--monitor",
            &format!("unix:{}", sock.display()),
        ])
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
        std::thread::sleep(Duration::from_millis(20));
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut out = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    // Reads until the next prompt; returns what came before it.
    let mut until_prompt = || {
        let mut text = Vec::new();
        let mut byte = [0u8; 1];
        while !text.ends_with(b"(fief) ") {
            reader.read_exact(&mut byte).unwrap();
            text.push(byte[0]);
        }
        String::from_utf8(text[..text.len() - 7].to_vec()).unwrap()
    };
    assert!(until_prompt().starts_with("Fief monitor"));
    let mut cmd = |line: &str| {
        writeln!(out, "{line}").unwrap();
        until_prompt()
    };
    let added = cmd("device_add ram,id=hot,addr=0x90000000,size=64K");
    assert_eq!(added, "device_add: 'hot' RAM at 0x90000000-0x9000ffff\n");
    assert!(cmd("info mtree").contains("0000000090000000-000000009000ffff (prio 0, ram): hot"));
    let qtree = cmd("info qtree");
    assert!(qtree.contains("dev: hot, realized\n    region: hot (ram, 0x10000 bytes, @0x90000000)"));
    assert!(cmd("device_add ram,id=hot2,addr=0x9000f000,size=8K")
        .starts_with("Error: device_add: 0x9000f000-0x90010fff overlaps 'hot'"));
    assert!(cmd("device_add ram,id=hot,addr=0xa0000000,size=4K").contains("exists already"));
    assert!(cmd("device_add uart,id=u9,addr=0x10300000").contains("NS16550A at 0x10300000"));
    assert!(cmd("device_add disk,id=d,addr=0x0").contains("unknown driver 'disk'"));
    assert!(cmd("device_add ram,id=x,addr=0x1,size=oops").contains("bad number 'oops'"));
    assert_eq!(cmd("device_del hot"), "device_del: 'hot' unplugged\n");
    assert!(cmd("device_del hot").contains("no device 'hot'"));
    assert!(cmd("device_del uart0").contains("not hot-pluggable"));
    assert!(!cmd("info mtree").contains(": hot"));
    assert!(cmd("bogus").contains("unknown command 'bogus'"));
    assert!(cmd("help").contains("device_del ID"));
    writeln!(out, "quit").unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The seed's scenario with a guest: container C (owned by device CO) holds RAM S (owned by
/// SO) at 0x2000_0000; the guest programs the engine to copy 8 MiB through C, the DMA
/// workers run it, and another thread unplugs SO through the monitor mid-transfer. The
/// transfer completes into S (still valid) or stops with an error status and the error
/// interrupt; S's own block holds exactly the bytes counted in `BYTES` and nothing after;
/// the RAM mapped where S was afterwards gets no byte of the transfer.
#[test]
fn seed_scenario_guest_dma_through_a_foreign_container_while_its_subregion_is_unplugged() {
    const LEN: usize = 8 << 20;
    const SRC: u64 = 0x8100_0000;
    const C_BASE: u64 = 0x2000_0000;
    let board = board(1, 64 << 20);
    let d = board.devices;
    let mut g = d.memory.lock();
    let machine = g.root_owner().unwrap();
    let co = g.create_owner(machine, "CO").unwrap();
    let so = g.create_owner(machine, "SO").unwrap();
    let c = g
        .create_container(co, "C", RegionSize::new(16 << 20).unwrap(), None)
        .unwrap();
    let s_block = RamBlock::new(Box::leak(vec![0u8; LEN].into_boxed_slice()));
    let s_ptr = s_block.as_ptr();
    let s = g.create_ram(so, "S", s_block).unwrap();
    g.add_subregion(c, RegionOffset(0), s, Priority(0)).unwrap();
    g.add_subregion(board.system, RegionOffset(C_BASE), c, Priority(0))
        .unwrap();
    drop(g);
    let source = pattern(LEN, 7);
    assert!(board
        .space()
        .write_buf(GuestAddress(SRC), &source, PLAIN)
        .is_ok());
    descriptor(
        board,
        DESC0,
        SRC,
        C_BASE,
        LEN as u32,
        flags::IRQ | flags::LAST,
    );
    let _workers = workers(board);
    let monitor: &'static Monitor = Box::leak(Box::new(Monitor::new(board, None, || {})));
    let deadline = Instant::now() + Duration::from_secs(60);
    let stop = &*Box::leak(Box::new(AtomicBool::new(false)));
    let harts = boot_dmarun(board, DESC0, 1, false, deadline, stop);

    // Another thread: SO goes once the engine is under way.
    let unplugger = std::thread::spawn(move || {
        while d.dma.bytes(0) < 1 << 20 && d.dma.status(0) & 0xf != state::DONE as u32 {
            assert!(Instant::now() < deadline);
            std::hint::spin_loop();
        }
        let unplug = monitor.device_del("SO", Duration::from_secs(30)).unwrap();
        assert_eq!(unplug, Unplug::Complete);
    });
    unplugger.join().unwrap();
    let status = wait_idle(board, 0, deadline);
    // Now new memory appears where S was, owned by someone else.
    let mut g = d.memory.lock();
    assert_eq!(
        g.subregions(c).unwrap().count(),
        0,
        "C lost S by the unplug"
    );
    let fresh = g
        .create_ram(
            machine,
            "fresh",
            RamBlock::new(Box::leak(vec![0xEE; LEN].into_boxed_slice())),
        )
        .unwrap();
    g.add_subregion(c, RegionOffset(0), fresh, Priority(0))
        .unwrap();
    assert!(g.unplug_complete(so));
    drop(g);
    for h in harts {
        h.join().unwrap();
    }
    assert_eq!(board.finish(), Some(Finish::Pass));

    let claim = read32(board, MBOX + 12);
    let seen = read32(board, MBOX + 16);
    let bytes = read32(board, MBOX + 20) as usize;
    assert_eq!(seen, status, "the guest saw the final status");
    let (state_, code) = (
        (status & 0xf) as u8,
        ErrorCode::from_u8((status >> 8) as u8),
    );
    eprintln!("seed scenario: status {status:#x}, {bytes} bytes moved");
    if state_ == state::DONE {
        assert_eq!(
            (claim, bytes),
            (12, LEN),
            "completed: done interrupt, every byte"
        );
    } else {
        assert_eq!(state_, state::ERROR, "status {status:#x}");
        assert!(
            matches!(code, ErrorCode::Revoked | ErrorCode::Unassigned),
            "{code:?}"
        );
        assert_eq!(claim, 13, "error interrupt");
        assert!(
            bytes < LEN && bytes.is_multiple_of(DEFAULT_CHUNK as usize),
            "{bytes}"
        );
    }
    let blocks = monitor.take_spare_ram();
    let back = blocks
        .into_iter()
        .find(|b| b.as_ptr() == s_ptr)
        .expect("S's block came back after the unplug completed");
    let s_bytes = back.into_slice();
    assert!(
        s_bytes[..bytes] == source[..bytes],
        "every counted byte in S"
    );
    assert!(
        s_bytes[bytes..].iter().all(|&b| b == 0),
        "nothing in S beyond the counted bytes"
    );
    let mut check = vec![0u8; LEN];
    assert!(board
        .space()
        .read_buf(GuestAddress(C_BASE), &mut check, PLAIN)
        .is_ok());
    assert!(
        check.iter().all(|&b| b == 0xEE),
        "the new region got no byte of the old transfer"
    );
    assert_eq!(d.leases.active(), 0);
}

/// A small deterministic generator (xorshift32).
struct Rng(u32);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0
    }
}

/// Two harts (one driving 64 KiB DMA copies and checking every byte, one running a CPU
/// workload), two DMA workers, and a thread plugging RAM devices, copying into them on
/// another channel and unplugging them, often mid-transfer. After each round: the device's
/// block holds exactly the counted bytes, its address decodes to nothing, the pools are back
/// where they started. At the end: no lease, nothing awaiting reclaim. Bounded: 40 rounds or
/// 30 s, seed fixed.
#[test]
fn stress_harts_dma_workers_and_hotplug_keep_every_byte_and_return_pools() {
    const SRC0: u64 = 0x8100_0000;
    const DST0: u64 = 0x8200_0000;
    const SRC1: u64 = 0x8300_0000;
    const HOT: u64 = 0x9000_0000;
    const COPY: u32 = 64 << 10;
    let board = board(2, 64 << 20);
    let d = board.devices;
    let start = Instant::now();
    let deadline = start + Duration::from_secs(30);
    let guest_src = pattern(COPY as usize, 1);
    assert!(board
        .space()
        .write_buf(GuestAddress(SRC0), &guest_src, PLAIN)
        .is_ok());
    // The guest's chain: two descriptors, 40 KiB then 24 KiB (the firmware checks and
    // clears the first one's bytes every round).
    descriptor(board, DESC0, SRC0, DST0, 40 << 10, 0);
    let mut d0 = [0u8; 8];
    d0.copy_from_slice(&(DESC0 + 32).to_le_bytes());
    assert!(board
        .space()
        .write_buf(GuestAddress(DESC0 + 16), &d0, PLAIN)
        .is_ok());
    descriptor(
        board,
        DESC0 + 32,
        SRC0 + (40 << 10),
        DST0 + (40 << 10),
        24 << 10,
        flags::IRQ | flags::LAST,
    );
    let (regions0, owners0) = {
        let g = d.memory.lock();
        (g.region_count(), g.owner_count())
    };
    let _workers = workers(board);
    let monitor: &'static Monitor = Box::leak(Box::new(Monitor::new(board, None, || {})));
    monitor.keep_released_ram(true);
    let stop = &*Box::leak(Box::new(AtomicBool::new(false)));
    let harts = boot_dmarun(board, DESC0, 100_000, true, deadline, stop);

    let mut rng = Rng(0x5eed_1234);
    let mut rounds = 0;
    let mut revoked = 0;
    while rounds < 40 && Instant::now() + Duration::from_secs(2) < deadline {
        let size = (1 + rng.next() % 16) as usize * (64 << 10);
        let seed = rng.next();
        let id = format!("hot{rounds}");
        monitor.device_add_ram(&id, HOT, size as u64).unwrap();
        let data = pattern(size, seed);
        assert!(board
            .space()
            .write_buf(GuestAddress(SRC1), &data, PLAIN)
            .is_ok());
        descriptor(board, DESC1, SRC1, HOT, size as u32, flags::LAST);
        d.dma.start(1, DESC1);
        // Unplug right away, after some bytes, or after the end.
        match rng.next() % 3 {
            0 => {}
            1 => {
                let want = rng.next() % size as u32;
                while d.dma.bytes(1) < want && d.dma.status(1) & 0xf == state::BUSY as u32 {
                    std::hint::spin_loop();
                }
            }
            _ => {
                wait_idle(board, 1, deadline);
            }
        }
        assert_eq!(
            monitor.device_del(&id, Duration::from_secs(10)).unwrap(),
            Unplug::Complete
        );
        let status = wait_idle(board, 1, deadline);
        let bytes = d.dma.bytes(1) as usize;
        match (status & 0xf) as u8 {
            s if s == state::DONE => assert_eq!(bytes, size),
            s if s == state::ERROR => {
                revoked += 1;
                let code = ErrorCode::from_u8((status >> 8) as u8);
                assert!(
                    matches!(code, ErrorCode::Revoked | ErrorCode::Unassigned),
                    "{code:?}"
                );
            }
            s => panic!("unexpected state {s}"),
        }
        // The block: exactly the counted bytes, nothing after.
        let blocks = monitor.take_spare_ram();
        let block = blocks
            .into_iter()
            .find(|b| b.len() == size as u64)
            .expect("the device's block came back");
        let bytes_in = block.into_slice();
        assert!(
            bytes_in[..bytes] == data[..bytes],
            "round {rounds}: bytes lost or misplaced"
        );
        assert!(
            bytes_in[bytes..].iter().all(|&b| b == 0),
            "round {rounds}: bytes past the count"
        );
        // Nothing stale: the address decodes to nothing now.
        assert_eq!(
            board
                .space()
                .read(GuestAddress(HOT), AccessSize::Byte, PLAIN)
                .1,
            MemTxResult::DECODE_ERROR
        );
        let g = d.memory.lock();
        assert_eq!((g.region_count(), g.owner_count()), (regions0, owners0));
        assert_eq!(g.awaiting_reclaim(), 0);
        drop(g);
        assert!(
            board.finish().is_none(),
            "the guest failed: {:?}",
            board.finish()
        );
        rounds += 1;
    }
    stop.store(true, Ordering::SeqCst);
    let guest_rounds = read32(board, MBOX + 24);
    for h in harts {
        h.join().unwrap();
    }
    let finish = board.finish();
    assert!(
        finish.is_none() || finish == Some(Finish::Pass),
        "guest: {finish:?}"
    );
    wait_idle(board, 0, Instant::now() + Duration::from_secs(10));
    assert!(rounds >= 5, "only {rounds} rounds in the time bound");
    assert!(guest_rounds > 0, "the guest's DMA made no round");
    assert_eq!(d.leases.active(), 0, "every lease ended");
    let g = d.memory.lock();
    assert_eq!((g.region_count(), g.owner_count()), (regions0, owners0));
    assert_eq!(g.awaiting_reclaim(), 0);
    eprintln!(
        "stress: {rounds} hot-plug rounds ({revoked} stopped by the unplug), {guest_rounds} guest DMA rounds, {:?}",
        start.elapsed()
    );
}

#[test]
fn hot_plugged_uart_interrupts_through_its_plic_source() {
    const PLIC_PENDING: u64 = 0x0c00_1000;
    let board = board(1, 1 << 20);
    let monitor = Monitor::new(board, None, || {});
    let pending =
        |source: u32| read32(board, PLIC_PENDING + 4 * (source as u64 / 32)) >> (source % 32) & 1;
    let (u1, s1) = monitor.device_add_uart("u1", 0x1030_0000, None).unwrap();
    let (_, s2) = monitor.device_add_uart("u2", 0x1030_1000, None).unwrap();
    assert_eq!((s1, s2), (HOTPLUG_IRQ_FIRST, HOTPLUG_IRQ_FIRST + 1));
    // Sources in use (a hot-plugged one, the board's UART) and non-sources are refused,
    // and nothing is plugged for them.
    for (irq, why) in [
        (s2, "in use"),
        (UART_IRQ, "in use"),
        (0, "not a PLIC source"),
        (96, "not a PLIC source"),
    ] {
        let err = monitor
            .device_add_uart("u3", 0x1030_2000, Some(irq))
            .unwrap_err();
        assert!(err.contains(why), "irq={irq}: {err}");
    }
    assert!(monitor
        .execute("info qtree")
        .text
        .lines()
        .all(|l| !l.contains("u3")));
    // Enabling u1's transmitter-empty interrupt (IER bit 1) raises its line: the PLIC
    // sees source s1, and only it.
    assert_eq!(pending(s1), 0);
    let ier = board
        .space()
        .write(GuestAddress(0x1030_0001), AccessSize::Byte, 2, PLAIN);
    assert!(ier.is_ok());
    assert_eq!((pending(s1), pending(s2)), (1, 0));
    // Unplugged, u1 gives its line and its source back.
    let lines = board.devices.wiring.len();
    assert_eq!(
        monitor.device_del("u1", Duration::from_secs(5)).unwrap(),
        Unplug::Complete
    );
    assert_eq!(board.devices.wiring.len(), lines - 1);
    let (u4, s4) = monitor
        .device_add_uart("u4", 0x1030_3000, Some(s1))
        .unwrap();
    assert_ne!(u4, u1);
    assert_eq!(s4, s1);
    // The monitor's command line says which source a UART got.
    let reply = monitor
        .execute("device_add uart,id=u5,addr=0x10304000")
        .text;
    assert_eq!(
        reply,
        format!(
            "device_add: 'u5' NS16550A at 0x10304000, PLIC source {}\n",
            HOTPLUG_IRQ_FIRST + 2
        )
    );
    let reply = monitor
        .execute("device_add ram,id=r,addr=0x90000000,size=4K,irq=40")
        .text;
    assert!(reply.contains("ram has no interrupt"), "{reply}");
}

/// Found by the `monitor` fuzz target (LeakSanitizer): every `device_add uart` leaked a new
/// UART model, so plug/unplug cycles grew the host without bound. A model is reused once its
/// device's unplug is complete: many cycles allocate one model, and the reused UART still
/// works (its status and its interrupt) after each plug.
#[test]
fn uart_plug_unplug_cycles_reuse_one_model_instead_of_leaking_one_each() {
    const PLIC_PENDING: u64 = 0x0c00_1000;
    const BASE: u64 = 0x1030_0000;
    let board = board(1, 1 << 20);
    let monitor = Monitor::new(board, None, || {});
    let reg = |off: u64| {
        let (v, r) = board
            .space()
            .read(GuestAddress(BASE + off), AccessSize::Byte, PLAIN);
        assert!(r.is_ok());
        v
    };
    for round in 0..40 {
        let (_, source) = monitor.device_add_uart("u", BASE, None).unwrap();
        // A fresh device: transmitter empty, no interrupt enabled; THR-empty interrupt on.
        assert_eq!(reg(5) & 0x60, 0x60, "round {round}: LSR");
        assert_eq!(reg(1), 0, "round {round}: IER after reuse");
        let ier = board
            .space()
            .write(GuestAddress(BASE + 1), AccessSize::Byte, 0x02, PLAIN);
        assert!(ier.is_ok());
        let pending = read32(board, PLIC_PENDING + 4 * (source as u64 / 32)) >> (source % 32) & 1;
        assert_eq!(pending, 1, "round {round}: the reused UART's interrupt");
        assert_eq!(
            monitor.device_del("u", Duration::from_secs(10)).unwrap(),
            Unplug::Complete
        );
    }
    assert_eq!(
        monitor.uarts_made(),
        1,
        "UART models allocated for 40 plugs"
    );
}

/// Found by the `monitor` fuzz target (LeakSanitizer) after the reuse above: a plug refused
/// after its UART model was taken (here: the owner pool is full of plugged RAM) leaked the
/// model. A refused plug hands it back: ten refusals allocate one model at most.
#[test]
fn refused_uart_plugs_hand_their_model_back() {
    let board = board(1, 1 << 20);
    let monitor = Monitor::new(board, None, || {});
    let mut plugged = 0u64;
    while plugged < 256
        && monitor
            .device_add_ram(
                &format!("r{plugged}"),
                0x9000_0000 + plugged * 0x1000,
                0x1000,
            )
            .is_ok()
    {
        plugged += 1;
    }
    for k in 0..10 {
        let refused = monitor.device_add_uart(&format!("u{k}"), 0x1030_0000, None);
        assert!(
            refused.is_err(),
            "plug {k} with {plugged} RAM devices plugged"
        );
    }
    assert!(
        monitor.uarts_made() <= 1,
        "{} models for 10 refused plugs",
        monitor.uarts_made()
    );
}
