//! The soak (issue 16): the heaviest mix `fief run` takes, for a chosen time, checked at the
//! end. Four harts run `firmware/soak.elf` (`virtio_stress.c` built with `-DSOAK`): each
//! does virtio-blk I/O on its own disk and moves every block it read back with its own DMA
//! channel, into a private buffer (compared byte by byte) and into RAM the monitor plugs and
//! unplugs. Meanwhile the monitor (on its Unix socket) unplugs and plugs the disks back and
//! plugs and unplugs RAM of various sizes, and a gdb client attaches (`?`, `g`, `m`, `c`,
//! ^C) and detaches (`D`) again and again; the process's RSS is sampled all along.
//!
//! At the end the host stops the guest (a word in sector 40 of every disk), waits for every
//! hart's final check, and then checks: every byte of every disk file (the four blocks each
//! hart wrote hold its last pattern, every other byte the seeded image), `info pools` back
//! at its state before the first plug (no lease, no bounce buffer, no region awaiting
//! reclaim, no hot-plug mapping, no pending unplug), the RSS after warm-up not growing by
//! more than [`RSS_BOUND`], the run ending with status 0 and no panic.
//!
//! `soak_short` runs it for `FIEF_SOAK_SECONDS` (default 40) seconds; `scripts/soak MINUTES`
//! runs the same test, release build, for as long as asked.

#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::FileExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

mod gdb_client;

use gdb_client::Rsp;

/// How much the RSS may grow from just after warm-up to the end.
const RSS_BOUND: u64 = 16 << 20;
/// Harts (and disks, and DMA channels).
const HARTS: usize = 4;
/// Sectors of each disk image.
const SECTORS: usize = 64;
/// The sector whose first word stops the guest.
const STOP_SECTOR: u64 = 40;
/// Sizes of the RAM the monitor plugs at 0x90000000 (the harts' DMA targets lie in its
/// first 64 KiB, so the smaller ones refuse some of them).
const RAM_SIZES: [&str; 7] = ["1M", "16K", "32M", "64K", "4M", "256K", "8M"];

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fief-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The seeded bytes of disk `h` (xorshift), the stop word zero.
fn seeded(h: usize) -> Vec<u8> {
    let mut x = (0x50a6 + h as u32) | 1;
    let mut bytes: Vec<u8> = (0..SECTORS * 512)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    bytes[STOP_SECTOR as usize * 512..][..4].fill(0);
    bytes
}

/// `virtio_stress.c`'s pattern.
fn pattern(h: u32, r: u32, i: u32) -> u8 {
    (i.wrapping_mul(31)
        .wrapping_add(h * 7)
        .wrapping_add(r.wrapping_mul(13))
        .wrapping_add(i >> 8)) as u8
}

/// The monitor on its Unix socket.
struct Monitor {
    out: UnixStream,
    reader: BufReader<UnixStream>,
}

impl Monitor {
    fn connect(path: &Path) -> Monitor {
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            if let Ok(s) = UnixStream::connect(path) {
                break s;
            }
            assert!(Instant::now() < deadline, "soak: no monitor socket");
            std::thread::sleep(Duration::from_millis(10));
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut m = Monitor {
            out: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        };
        m.until_prompt().expect("soak: the monitor's banner");
        m
    }

    fn until_prompt(&mut self) -> Option<String> {
        let mut text = Vec::new();
        while !text.ends_with(b"(fief) ") {
            let mut chunk = Vec::new();
            match self.reader.read_until(b' ', &mut chunk) {
                Ok(0) | Err(_) => return None,
                Ok(_) => text.extend_from_slice(&chunk),
            }
        }
        Some(String::from_utf8_lossy(&text).into_owned())
    }

    /// The reply to `line`, or None if the monitor went away.
    fn cmd(&mut self, line: &str) -> Option<String> {
        writeln!(self.out, "{line}").ok()?;
        self.until_prompt()
    }
}

impl Machine {
    /// The monitor's reply to `line`; if it went away, fails with how fief ended.
    fn cmd(&mut self, line: &str) -> String {
        if let Some(reply) = self.mon.cmd(line) {
            return reply;
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                break format!("{status}");
            }
            if Instant::now() > deadline {
                break "still running".to_string();
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.out.extend(self.out_rx.try_iter());
        panic!(
            "soak: {}: the monitor went away at '{line}'; fief: {status}\nguest: {}\nstderr: {}",
            self.name,
            self.out.join("\n"),
            self.err_lines.lock().unwrap().join("\n")
        );
    }

    /// `info pools` as name → (used, capacity or 0).
    fn pools(&mut self) -> BTreeMap<String, (u64, u64)> {
        let text = self.cmd("info pools");
        let mut pools = BTreeMap::new();
        for line in text.lines() {
            let Some((name, value)) = line.split_once(": ") else {
                continue;
            };
            let (used, cap) = value.split_once('/').unwrap_or((value, "0"));
            if let (Ok(u), Ok(c)) = (used.trim().parse(), cap.trim().parse()) {
                pools.insert(name.trim_start_matches("(fief) ").to_string(), (u, c));
            }
        }
        assert!(pools.len() >= 10, "soak: info pools said: {text}");
        pools
    }
}

/// One debugger session: attach, look, run a while, interrupt, detach. Returns the bytes
/// read at the entry (the code, which never changes).
fn gdb_session(addr: &str, run_for: Duration) -> String {
    let mut gdb = Rsp::connect(addr, Duration::from_secs(60));
    let stop = gdb.send("?");
    assert!(
        stop.starts_with('S') || stop.starts_with('T'),
        "soak: gdb '?' answered {stop}"
    );
    let regs = gdb.send("g");
    assert!(
        regs.len() >= 33 * 8 && regs.bytes().all(|b| b.is_ascii_hexdigit()),
        "soak: gdb 'g' answered {regs}"
    );
    let code = gdb.send("m80000000,40");
    assert_eq!(code.len(), 0x80, "soak: gdb 'm' answered {code}");
    gdb.raw(b"$c#63");
    std::thread::sleep(run_for);
    gdb.raw(&[3]);
    let stop = gdb.reply();
    assert!(
        stop.starts_with('S') || stop.starts_with('T'),
        "soak: gdb ^C answered {stop}"
    );
    let ok = gdb.send("D");
    assert_eq!(ok, "OK", "soak: gdb 'D' answered {ok}");
    code
}

/// `VmRSS` of `pid` in bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb << 10)
}

/// What a soak did, for its report.
#[derive(Debug, Default)]
struct Counts {
    disk_unplugs: u64,
    disk_plugs: u64,
    ram_plugs: u64,
    ram_refused: u64,
    ram_unplugs: u64,
    ram_pending: u64,
}

impl Machine {
    /// Unplugs disk `k` and plugs it back into its own slot (retrying while its slot still
    /// has requests in flight).
    fn replug_disk(&mut self, k: usize) {
        let r = self.cmd(&format!("device_del disk{k}"));
        assert!(
            r.contains("unplugged") || r.contains("completes when"),
            "soak: device_del disk{k}: {r}"
        );
        self.counts.disk_unplugs += 1;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let r = self.cmd(&format!(
                "device_add virtio-blk-device,drive=hd{k},id=disk{k}"
            ));
            if r.contains(&format!("in virtio-mmio slot {}", 7 - k)) {
                self.counts.disk_plugs += 1;
                return;
            }
            if r.contains("in virtio-mmio slot") {
                // Its own slot still had requests in flight: it went to another one. Take it
                // out again and retry until its slot is free.
                let r = self.cmd(&format!("device_del disk{k}"));
                assert!(!r.contains("Error"), "soak: device_del disk{k}: {r}");
            } else {
                assert!(
                    r.contains("in use")
                        || r.contains("still busy")
                        || r.contains("exists already"),
                    "soak: device_add disk{k}: {r}"
                );
            }
            assert!(
                Instant::now() < deadline,
                "soak: disk{k} could not be plugged back in 60 s: {r}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Plugs RAM of the `i`th size at 0x90000000 (the harts' DMA target) and unplugs it.
    fn cycle_ram(&mut self, i: usize) {
        let size = RAM_SIZES[i % RAM_SIZES.len()];
        let r = self.cmd(&format!(
            "device_add ram,id=hot,addr=0x90000000,size={size}"
        ));
        if !r.contains("RAM at") {
            // A previous unplug of the same range may still wait for a DMA lease.
            assert!(
                r.contains("in use") || r.contains("overlaps") || r.contains("exists already"),
                "soak: device_add ram size={size}: {r}"
            );
            self.counts.ram_refused += 1;
            return;
        }
        self.counts.ram_plugs += 1;
        // A second device out of the harts' way, now and then.
        let extra = i.is_multiple_of(3);
        if extra {
            let r = self.cmd("device_add ram,id=hot2,addr=0xa0000000,size=2M");
            assert!(r.contains("RAM at"), "soak: device_add hot2: {r}");
            self.counts.ram_plugs += 1;
        }
        // Long enough for the harts to DMA into it.
        std::thread::sleep(Duration::from_millis(100));
        for id in ["hot", "hot2"].iter().take(if extra { 2 } else { 1 }) {
            let r = self.cmd(&format!("device_del {id}"));
            if r.contains("completes when") {
                self.counts.ram_pending += 1;
            } else {
                assert!(r.contains("unplugged"), "soak: device_del {id}: {r}");
            }
            self.counts.ram_unplugs += 1;
        }
    }
}

/// One `fief run` of the soak, with its monitor.
struct Machine {
    name: &'static str,
    harts: usize,
    child: Child,
    mon: Monitor,
    disks: Vec<PathBuf>,
    seed: usize,
    out_rx: mpsc::Receiver<String>,
    out: Vec<String>,
    err_lines: Arc<Mutex<Vec<String>>>,
    gdb_addr: Option<String>,
    /// `info pools` before the first plug.
    before: BTreeMap<String, (u64, u64)>,
    counts: Counts,
}

impl Machine {
    /// Starts `fief run` of `soak.elf` on `harts` harts, one disk each, with the monitor
    /// on a Unix socket, and with a gdb server if `gdb` (the stub serves one hart only).
    fn start(name: &'static str, harts: usize, seed: usize, gdb: bool) -> Machine {
        let sock = temp(&format!("{name}.sock"));
        let _ = std::fs::remove_file(&sock);
        let disks: Vec<PathBuf> = (0..harts)
            .map(|h| temp(&format!("{name}-disk{h}.img")))
            .collect();
        let mut args: Vec<String> = [
            "run",
            "-bios",
            "none",
            "-smp",
            &harts.to_string(),
            "-m",
            "64M",
            "-kernel",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("firmware/soak.elf")
                .display()
                .to_string(),
        );
        args.push("--monitor".into());
        args.push(format!("unix:{}", sock.display()));
        if gdb {
            args.push("--gdb".into());
            args.push("tcp::0".into());
        }
        for (h, d) in disks.iter().enumerate() {
            std::fs::write(d, seeded(seed + h)).unwrap();
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
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let gdb_addr = gdb.then(|| {
            let mut first = String::new();
            stderr.read_line(&mut first).unwrap();
            first
                .trim()
                .strip_prefix("fief: gdb server on ")
                .unwrap_or_else(|| panic!("soak: {name}: fief said {first}"))
                .to_string()
        });
        let err_lines = Arc::new(Mutex::new(Vec::<String>::new()));
        let err_keep = err_lines.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                err_keep.lock().unwrap().push(line);
            }
        });
        let (out_tx, out_rx) = mpsc::channel::<String>();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                let _ = out_tx.send(line);
            }
        });
        let mon = Monitor::connect(&sock);
        let mut m = Machine {
            name,
            harts,
            child,
            mon,
            disks,
            seed,
            out_rx,
            out: Vec::new(),
            err_lines,
            gdb_addr,
            before: BTreeMap::new(),
            counts: Counts::default(),
        };
        m.before = m.pools();
        m
    }

    /// One monitor cycle: a disk out and back in, RAM in and out, now and then a look at
    /// the pools (none may be full).
    fn cycle(&mut self, n: usize) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "soak: {}: fief ended early ({status}): {:?}\n{:?}",
                self.name,
                self.err_lines.lock(),
                self.out_rx.try_iter().collect::<Vec<_>>()
            );
        }
        self.replug_disk(n % self.harts);
        self.cycle_ram(n);
        if n % 16 == 15 {
            let p = self.pools();
            for (pool, (used, cap)) in &p {
                assert!(
                    *cap == 0 || used < cap,
                    "soak: {}: pool '{pool}' full: {p:?}",
                    self.name
                );
            }
        }
    }

    /// Stops the guest: the stop word in every disk.
    fn stop_guest(&self) {
        for d in &self.disks {
            let f = std::fs::OpenOptions::new().write(true).open(d).unwrap();
            f.write_all_at(&1u32.to_le_bytes(), STOP_SECTOR * 512)
                .unwrap();
        }
    }

    /// Waits for every hart's final check.
    fn wait_harts(&mut self) {
        let finish = Instant::now() + Duration::from_secs(120);
        loop {
            match self.out_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(line) => {
                    let done = line.starts_with("soak: all harts done");
                    self.out.push(line);
                    if done {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().unwrap();
                    panic!(
                        "soak: {}: the guest ended ({status}) before its final check:\n{}\n{:?}",
                        self.name,
                        self.out.join("\n"),
                        self.err_lines.lock()
                    );
                }
            }
            assert!(
                Instant::now() < finish,
                "soak: {}: the harts did not finish in 120 s:\n{}",
                self.name,
                self.out.join("\n")
            );
        }
    }

    /// `info pools` once idle: back at its state before the first plug, nothing in flight.
    fn check_pools(&mut self) -> BTreeMap<String, (u64, u64)> {
        const IDLE: [&str; 5] = [
            "DMA leases",
            "DMA bounce buffers",
            "regions awaiting reclaim",
            "hot-plug RAM mappings",
            "pending unplugs",
        ];
        let settle = Instant::now() + Duration::from_secs(10);
        let after = loop {
            let p = self.pools();
            if IDLE.iter().all(|k| p[*k].0 == 0) || Instant::now() > settle {
                break p;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        for (pool, (used, _)) in &after {
            let want = if IDLE.contains(&pool.as_str()) {
                0
            } else {
                self.before[pool].0
            };
            assert_eq!(
                *used, want,
                "soak: {}: pool '{pool}' holds {used} at the end (want {want}); before: {:?}, after: {after:?}",
                self.name, self.before
            );
        }
        after
    }

    /// Quits, then checks the exit, every hart's report and every byte of every disk.
    /// Returns the harts' totals (rounds, reconnects, DMA copies, hot done, hot refused) and
    /// the bytes the guest checked.
    fn finish(mut self) -> ([u64; 5], u64) {
        writeln!(self.mon.out, "quit").unwrap();
        let status = self.child.wait().unwrap();
        let errors = self.err_lines.lock().unwrap().join("\n");
        assert_eq!(
            status.code(),
            Some(0),
            "soak: {}: fief ended with {status}: {errors}",
            self.name
        );
        assert!(
            !errors.contains("panicked"),
            "soak: {}: {errors}",
            self.name
        );
        let mut guest_bytes = 0u64;
        let mut totals = [0u64; 5];
        for h in 0..self.harts {
            let prefix = format!("hart {h}: ok, ");
            let line = self
                .out
                .iter()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| {
                    panic!(
                        "soak: {}: hart {h} did not report:\n{}",
                        self.name,
                        self.out.join("\n")
                    )
                });
            let nums: Vec<u64> = line[prefix.len()..]
                .split(", ")
                .map(|f| f.split(' ').next().unwrap().parse().unwrap())
                .collect();
            assert_eq!(nums.len(), 5, "soak: {line}");
            for (t, n) in totals.iter_mut().zip(&nums) {
                *t += n;
            }
            let rounds = nums[0] as u32;
            // More than the four rounds before the first look at the stop word: the hart
            // worked all along.
            assert!(
                rounds > 4,
                "soak: {}: hart {h} did not get on: {line}",
                self.name
            );
            assert_eq!(nums[2], nums[0], "soak: a DMA copy per round: {line}");
            // Read back and DMA-compared every round, its four blocks at the end.
            guest_bytes += nums[0] * 2 * 4096 + 4 * 4096;
            let mut want = seeded(self.seed + h);
            want[STOP_SECTOR as usize * 512..][..4].copy_from_slice(&1u32.to_le_bytes());
            for k in 0..4u32 {
                // The last round that wrote block k.
                let r = (0..rounds).rev().find(|r| r % 4 == k).unwrap();
                for i in 0..4096u32 {
                    want[(k * 8 * 512 + i) as usize] = pattern(h as u32, r, i);
                }
            }
            let got = std::fs::read(&self.disks[h]).unwrap();
            assert_eq!(
                got.len(),
                want.len(),
                "soak: {}: disk {h}'s size",
                self.name
            );
            if let Some(i) = (0..got.len()).find(|&i| got[i] != want[i]) {
                panic!(
                    "soak: {}: disk {h} byte {i} is {:#x}, want {:#x}",
                    self.name, got[i], want[i]
                );
            }
        }
        (totals, guest_bytes)
    }
}

/// Runs the soak for `seconds`; panics with the reason on any failure.
fn soak(seconds: u64) {
    let started = Instant::now();
    // The heavy machine (4 harts), and a one-hart machine for the debugger.
    let mut machines = [
        Machine::start("smp4", HARTS, 0, false),
        Machine::start("gdb", 1, HARTS, true),
    ];
    let pids: Vec<u32> = machines.iter().map(|m| m.child.id()).collect();

    // RSS every `every`; the warm-up is left out of the growth check.
    let every = Duration::from_secs(if seconds >= 600 { 10 } else { 1 });
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(vec![Vec::<(Duration, u64)>::new(); pids.len()]));
    let sampler = {
        let (stop, samples, pids) = (stop.clone(), samples.clone(), pids.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (i, pid) in pids.iter().enumerate() {
                    if let Some(r) = rss(*pid) {
                        samples.lock().unwrap()[i].push((started.elapsed(), r));
                    }
                }
                let until = Instant::now() + every;
                while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(50));
                }
            }
        })
    };
    // The debugger, attaching and detaching until told to stop.
    let attaches = Arc::new(AtomicU64::new(0));
    let debugger = {
        let stop_gdb = Arc::new(AtomicBool::new(false));
        let (stop, attaches) = (stop_gdb.clone(), attaches.clone());
        let addr = machines[1].gdb_addr.clone().unwrap();
        let thread = std::thread::spawn(move || {
            let mut code: Option<String> = None;
            let mut n = 0u64;
            while !stop.load(Ordering::SeqCst) {
                let got = gdb_session(&addr, Duration::from_millis(50 + 37 * (n % 7)));
                match &code {
                    None => code = Some(got),
                    Some(c) => assert_eq!(&got, c, "soak: the code at 0x80000000 changed"),
                }
                n += 1;
                attaches.store(n, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        (stop_gdb, thread)
    };

    let deadline = started + Duration::from_secs(seconds);
    let mut cycles = 0usize;
    while Instant::now() < deadline {
        for m in machines.iter_mut() {
            m.cycle(cycles);
        }
        cycles += 1;
        // Time for the harts to get work done between unplugs.
        std::thread::sleep(Duration::from_millis(150));
    }
    debugger.0.store(true, Ordering::SeqCst);
    debugger
        .1
        .join()
        .unwrap_or_else(|_| panic!("soak: the debugger failed (see above)"));
    let gdb_attaches = attaches.load(Ordering::SeqCst);

    for m in &machines {
        m.stop_guest();
    }
    let mut pools = Vec::new();
    let mut end_rss = Vec::new();
    for (m, pid) in machines.iter_mut().zip(&pids) {
        m.wait_harts();
        pools.push(m.check_pools());
        end_rss.push(rss(*pid).unwrap());
    }
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    let mut totals = [0u64; 5];
    let mut guest_bytes = 0;
    let mut counts = Vec::new();
    let mut host_bytes = 0u64;
    for m in machines {
        counts.push((m.name, format!("{:?}", m.counts)));
        host_bytes += (m.harts * SECTORS * 512) as u64;
        let c = &m.counts;
        assert!(
            c.disk_unplugs > 0 && c.ram_plugs > 0,
            "soak: {}: the mix did not run: {c:?}",
            m.name
        );
        let (t, b) = m.finish();
        for (a, b) in totals.iter_mut().zip(t) {
            *a += b;
        }
        guest_bytes += b;
    }

    // Host memory: no growth after warm-up.
    let samples = samples.lock().unwrap().clone();
    let warmup = Duration::from_secs((seconds / 5).clamp(10.min(seconds / 2), 300));
    let window = Duration::from_secs((seconds / 10).max(3));
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let elapsed = started.elapsed();
    eprintln!(
        "soak: {:.0} s, {cycles} monitor cycles per machine, {gdb_attaches} gdb attaches",
        elapsed.as_secs_f64()
    );
    for (name, c) in &counts {
        eprintln!("soak: {name}: {c}");
    }
    eprintln!(
        "soak: guest: {} rounds, {} reconnects, {} DMA copies, {} DMA into hot RAM done, {} refused",
        totals[0], totals[1], totals[2], totals[3], totals[4]
    );
    eprintln!(
        "soak: bytes checked: {guest_bytes} by the guests (virtio read-back, DMA copy, final \
         blocks), {host_bytes} in the disk files"
    );
    let mut growth = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        let base = s
            .iter()
            .filter(|(t, _)| *t >= warmup && *t < warmup + window)
            .map(|s| s.1)
            .max()
            .unwrap_or(end_rss[i]);
        let tail = s
            .iter()
            .filter(|(t, _)| *t + window >= elapsed)
            .map(|s| s.1)
            .chain([end_rss[i]])
            .max()
            .unwrap();
        let first = s.first().map(|s| s.1).unwrap_or(0);
        let peak = s.iter().map(|s| s.1).max().unwrap_or(0);
        eprintln!(
            "soak: {}: RSS first {:.1} MiB, after warm-up ({:?}) {:.1} MiB, last {:?} {:.1} MiB, \
             end {:.1} MiB, peak {:.1} MiB ({} samples every {every:?}; bound +{} MiB)",
            counts[i].0,
            mib(first),
            warmup,
            mib(base),
            window,
            mib(tail),
            mib(end_rss[i]),
            mib(peak),
            s.len(),
            RSS_BOUND >> 20
        );
        eprintln!(
            "soak: {}: pools at the end: {}",
            counts[i].0,
            pools[i]
                .iter()
                .map(|(k, (u, c))| if *c > 0 {
                    format!("{k} {u}/{c}")
                } else {
                    format!("{k} {u}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        growth.push((counts[i].0, base, tail));
    }
    assert!(gdb_attaches > 0, "soak: no gdb attach");
    assert!(totals[1] > 0, "soak: no unplug hit a hart mid-request");
    for (name, base, tail) in growth {
        assert!(
            tail <= base + RSS_BOUND,
            "soak: {name}: RSS grew from {:.1} MiB after warm-up to {:.1} MiB at the end (bound +{} MiB)",
            mib(base),
            mib(tail),
            RSS_BOUND >> 20
        );
    }
    let _ = std::fs::remove_dir_all(temp(""));
}

/// The soak for `FIEF_SOAK_SECONDS` (default 40 s): `scripts/soak` runs it for longer.
#[test]
fn soak_short() {
    let seconds = std::env::var("FIEF_SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    soak(seconds);
}
