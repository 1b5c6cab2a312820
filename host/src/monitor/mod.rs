//! The monitor: QEMU-style commands on a running `virt` board, from the console
//! (`Ctrl-A c` toggles between the guest's console and the `(fief) ` prompt) or from a Unix
//! socket (`--monitor unix:PATH`).
//!
//! | command | |
//! |---------|-|
//! | `help` | the commands |
//! | `info mtree` | region tree and flat view |
//! | `info qtree` | the owner tree: every device, its state and the regions it owns |
//! | `info pools` | occupancy of every bounded pool: owners, regions (and those awaiting reclaim), DMA leases and bounce buffers, IRQ lines, plugged PLIC sources, virtio slots; hot-plug RAM mappings, UART, virtio-net and virtio console models made and spare, pending unplugs |
//! | `device_add ram,id=NAME,addr=ADDR,size=SIZE` | plug RAM (a new owner and its RAM region) at a free address |
//! | `device_add uart,id=NAME,addr=ADDR[,irq=N]` | plug an NS16550A at a free address, its interrupt on PLIC source `N` (default: the first free one from 32) |
//! | `device_add virtio-blk-device,drive=DRIVE[,id=NAME]` | plug a virtio-blk over a `-drive` into the highest free virtio-mmio slot |
//! | `device_add virtio-rng-device[,id=NAME]` | plug a virtio-rng (the host's entropy) into the highest free slot |
//! | `device_add virtio-net-device,netdev=ID[,mac=MAC][,id=NAME]` | plug a virtio-net over a `-netdev` into the highest free slot (the model of a card whose unplug is complete is reused, powered on again: [`crate::virtio_plug`]) |
//! | `device_add virtconsole,chardev=ID[,id=NAME]` | plug a virtio console (QEMU's `virtio-serial-device` with its `virtconsole` port, as one device) on a command line's `-chardev` into the highest free slot (a console model whose unplug is complete is reused, as a card's) |
//! | `device_add virtio-serial-device[,id=NAME]` | plug a virtio console with no port (its output is dropped) |
//! | `device_del ID` | unplug a device: `destroy_owner` in one transaction (rule L4); completes when no reader and no DMA lease can reach its memory any more (a virtio device: once its requests in flight have ended, [`crate::virtio_plug`]) |
//! | `block_resize DRIVE SIZE` | resize a `-drive`'s file; a plugged disk over it gets the new capacity, `ConfigGeneration` moves on and a configuration-change interrupt is raised ([`crate::virtio_plug::VirtioPlugs::block_resize`]) |
//! | `quit` | stop the emulator |
//!
//! `device_del` waits up to [`UNPLUG_WAIT`] for the unplug to complete (an outstanding DMA
//! lease holds it, rule L8); if it is still pending then, the monitor says so and reports the
//! completion with the reply to a later command. Errors are one-line messages; nothing a
//! user types can make the monitor panic.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use fief_boards::uart::{SerialSink, Uart16550, UART_SIZE};
use fief_boards::virt::{
    Virt, DMA_DONE_IRQ, DMA_ERROR_IRQ, HOTPLUG_IRQ_FIRST, IRQ_LINES, PLIC_SOURCES, UART_IRQ,
};
use fief_core::memory::{Priority, RamBlock, RegionOffset, RegionSize, TopologyGuard};
use fief_core::owner::{Lifecycle, OwnerHandle};

use crate::hotplug_ram::HotplugRam;
use crate::virtio_host::DeviceSpec;
use crate::virtio_plug::VirtioPlugs;

mod info;
mod socket;

pub use socket::serve_unix;

/// How long `device_del` waits for an unplug to complete before reporting it pending.
pub const UNPLUG_WAIT: Duration = Duration::from_secs(2);
/// Largest RAM device `device_add` takes.
pub const MAX_HOTPLUG_RAM: u64 = 1 << 30;

const HELP: &str = "\
help                                        list the commands
info mtree                                  show the memory tree and flat view
info qtree                                  show the devices (owners) and what they own
info pools                                  show how full each bounded pool is
device_add ram,id=NAME,addr=ADDR,size=SIZE  plug RAM at a free address (size: 64K, 1M, ...)
device_add uart,id=NAME,addr=ADDR[,irq=N]   plug an NS16550A UART at a free address, its
                                            interrupt on PLIC source N (default: first free from 32)
device_add virtio-blk-device,drive=DRIVE[,id=NAME]
                                            plug a virtio-blk over a -drive (highest free slot)
device_add virtio-rng-device[,id=NAME]      plug a virtio-rng (the host's entropy)
device_add virtio-net-device,netdev=ID[,mac=MAC][,id=NAME]
                                            plug a virtio-net over a -netdev
device_add virtconsole,chardev=ID[,id=NAME] plug a virtio console on a -chardev
device_add virtio-serial-device[,id=NAME]   plug a virtio console with no port (output dropped)
device_del ID                               unplug a device; completes after its DMA leases end
block_resize DRIVE SIZE                     resize a -drive's file (SIZE: bytes, 64K, 1M, ...);
                                            a plugged disk's driver is told (config change)
quit                                        stop the emulator
";

/// The reply to one command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// Text to show (ends with a newline unless empty).
    pub text: String,
    /// The user asked to quit.
    pub quit: bool,
}

impl Reply {
    fn text(text: impl Into<String>) -> Reply {
        Reply {
            text: text.into(),
            quit: false,
        }
    }
}

/// How a `device_del` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unplug {
    /// Complete: the memory is reclaimed.
    Complete,
    /// Unmapped, but a reader or DMA lease still holds its memory.
    Pending,
}

struct Pending {
    id: String,
    owner: OwnerHandle,
    since: Instant,
}

/// The monitor of one board (see the [module docs](self)).
pub struct Monitor {
    board: &'static Virt<'static>,
    serial: Option<&'static dyn SerialSink>,
    on_quit: Box<dyn Fn() + Send + Sync>,
    pending: Mutex<Vec<Pending>>,
    /// Hot-plugged RAM: mapped per device, unmapped once its unplug completes.
    ram: HotplugRam,
    /// PLIC sources given to plugged devices, and to whom (free again once the owner is
    /// gone).
    irq_sources: Mutex<Vec<(OwnerHandle, u32)>>,
    /// The UART models of `device_add uart`, reused once their device's unplug completes.
    uarts: Mutex<UartPool>,
    /// The virtio devices and drives.
    virtio: VirtioPlugs,
}

/// UART models for hot-plug. A model must outlive every reader of the views that showed
/// it, so it is never freed: it is leaked once and reused by a later plug once its device's
/// unplug is complete (no reader can reach it), which bounds the memory to the most UARTs
/// plugged at once. (Found by the `monitor` fuzz target: each plug leaked a new model, so
/// plug/unplug cycles grew the host without bound.)
#[derive(Default)]
struct UartPool {
    /// Models of plugged (or still unplugging) devices, with their owner.
    plugged: Vec<(OwnerHandle, &'static Uart16550<'static>)>,
    /// Models free for the next plug.
    spare: Vec<&'static Uart16550<'static>>,
    /// Models leaked so far.
    made: usize,
}

/// Parses `0x...`, decimal, or a size with a K/M/G suffix.
fn parse_number(text: &str, sizes: bool) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("bad number '{text}'");
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(&hex.replace('_', ""), 16).map_err(|_| bad());
    }
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) if sizes => (&t[..i], 10),
        Some((i, 'm' | 'M')) if sizes => (&t[..i], 20),
        Some((i, 'g' | 'G')) if sizes => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    n.checked_mul(1 << shift).ok_or_else(bad)
}

impl Monitor {
    /// A monitor for `board`; plugged UARTs write to `serial`; `quit` calls `on_quit`.
    pub fn new(
        board: &'static Virt<'static>,
        serial: Option<&'static dyn SerialSink>,
        on_quit: impl Fn() + Send + Sync + 'static,
    ) -> Monitor {
        Monitor {
            board,
            serial,
            on_quit: Box::new(on_quit),
            pending: Mutex::new(Vec::new()),
            ram: HotplugRam::new(),
            irq_sources: Mutex::new(Vec::new()),
            uarts: Mutex::new(UartPool::default()),
            virtio: VirtioPlugs::new(),
        }
    }

    /// The virtio devices and drives (the command line's `-drive` and `-device` go here).
    pub fn virtio(&self) -> &VirtioPlugs {
        &self.virtio
    }

    /// Plugs the virtio device `spec` asks for (`option` names the command in errors).
    pub fn device_add_virtio(&self, option: &str, spec: &DeviceSpec) -> Result<String, String> {
        // A console is one device: a virtio-serial-device alone (no port: its output is
        // dropped) or a virtconsole on a command line's -chardev.
        let console;
        let spec = match spec {
            DeviceSpec::Serial { id } => {
                console = DeviceSpec::Console {
                    chardev: None,
                    id: id.clone(),
                };
                &console
            }
            DeviceSpec::Virtconsole { chardev, id } => {
                console = DeviceSpec::Console {
                    chardev: Some(chardev.clone()),
                    id: id.clone(),
                };
                &console
            }
            other => other,
        };
        let (id, slot) = self.virtio.plug(self.board, option, spec)?;
        Ok(format!(
            "device_add: '{id}' in virtio-mmio slot {slot} at {:#x}, PLIC source {}\n",
            fief_boards::virt::VIRTIO_BASE + 0x1000 * slot as u64,
            fief_boards::virt::VIRTIO_IRQ + slot as u32
        ))
    }

    /// The banner a new monitor session shows.
    pub fn banner() -> &'static str {
        "Fief monitor - type 'help' for more information\n"
    }

    /// Runs one command line.
    pub fn execute(&self, line: &str) -> Reply {
        let mut reply = self.dispatch(line.trim());
        let done = self.poll_unplugs();
        if !done.is_empty() {
            let mut text = String::new();
            for (id, took) in done {
                let _ = writeln!(text, "unplug of '{id}' complete (after {took:?})");
            }
            reply.text = text + &reply.text;
        }
        reply
    }

    fn dispatch(&self, line: &str) -> Reply {
        let (cmd, rest) = match line.split_once(char::is_whitespace) {
            Some((c, r)) => (c, r.trim()),
            None => (line, ""),
        };
        let result = match cmd {
            "" => Ok(String::new()),
            "help" | "?" => Ok(HELP.to_string()),
            "quit" | "q" => {
                (self.on_quit)();
                return Reply {
                    text: String::new(),
                    quit: true,
                };
            }
            "info" => match rest {
                "mtree" => Ok(self.info_mtree()),
                "qtree" => Ok(self.info_qtree()),
                "pools" => Ok(self.info_pools()),
                "" => Err("info: what? (info mtree, info qtree, info pools)".to_string()),
                other => Err(format!(
                    "info: unknown item '{other}' (info mtree, info qtree, info pools)"
                )),
            },
            "device_add" => self.device_add_line(rest),
            "block_resize" => match rest.split_whitespace().collect::<Vec<_>>()[..] {
                [id, size] => parse_number(size, true)
                    .map_err(|e| format!("block_resize: {e} (bytes, or with K, M or G)"))
                    .and_then(|size| self.virtio.block_resize(self.board, id, size)),
                _ => Err("block_resize: say block_resize DRIVE SIZE".to_string()),
            },
            "device_del" => match rest {
                "" => Err("device_del: which device? (device_del ID)".to_string()),
                id => self.device_del(id, UNPLUG_WAIT).map(|u| match u {
                    Unplug::Complete => format!("device_del: '{id}' unplugged\n"),
                    Unplug::Pending => format!(
                        "device_del: '{id}' is unmapped; the unplug completes when its \
                         outstanding DMA leases end\n"
                    ),
                }),
            },
            other => Err(format!(
                "unknown command '{other}' (type 'help' for the list)"
            )),
        };
        match result {
            Ok(text) => Reply::text(text),
            Err(e) => Reply::text(format!("Error: {e}\n")),
        }
    }

    fn device_add_line(&self, args: &str) -> Result<String, String> {
        if args.starts_with("virtio-") || args.starts_with("virtconsole") {
            let spec = DeviceSpec::parse("device_add", args)?;
            return self.device_add_virtio("device_add", &spec);
        }
        let mut parts = args.split(',');
        let driver = parts.next().unwrap_or("").trim();
        let (mut id, mut addr, mut size, mut irq) = (None, None, None, None);
        for p in parts {
            let (k, v) = p
                .split_once('=')
                .ok_or_else(|| format!("device_add: '{p}' is not KEY=VALUE"))?;
            match k.trim() {
                "id" => id = Some(v.trim().to_string()),
                "addr" => addr = Some(parse_number(v, false)?),
                "size" => size = Some(parse_number(v, true)?),
                "irq" => irq = Some(parse_number(v, false)?),
                other => return Err(format!("device_add: unknown property '{other}'")),
            }
        }
        let id = id.ok_or("device_add: missing id=NAME")?;
        let addr = addr.ok_or("device_add: missing addr=ADDRESS")?;
        match driver {
            "ram" => {
                if irq.is_some() {
                    return Err("device_add: ram has no interrupt".to_string());
                }
                let size = size.ok_or("device_add: ram needs size=SIZE")?;
                self.device_add_ram(&id, addr, size)?;
                Ok(format!(
                    "device_add: '{id}' RAM at {addr:#x}-{:#x}\n",
                    addr + size - 1
                ))
            }
            "uart" => {
                if size.is_some() {
                    return Err("device_add: uart has a fixed size".to_string());
                }
                let irq = match irq {
                    Some(n) => Some(u32::try_from(n).map_err(|_| {
                        format!(
                            "device_add: irq={n} is not a PLIC source (1-{})",
                            PLIC_SOURCES - 1
                        )
                    })?),
                    None => None,
                };
                let (_, source) = self.device_add_uart(&id, addr, irq)?;
                Ok(format!(
                    "device_add: '{id}' NS16550A at {addr:#x}, PLIC source {source}\n"
                ))
            }
            "" => Err(
                "device_add: which driver? (ram, uart, virtio-blk-device, virtio-rng-device, \
                 virtio-net-device)"
                    .to_string(),
            ),
            other => Err(format!(
                "device_add: unknown driver '{other}' (available: ram, uart, \
                 virtio-blk-device, virtio-rng-device, virtio-net-device)"
            )),
        }
    }

    /// Checks `id` is new and `[addr, addr + size)` free in the system container.
    fn check_free<const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        g: &TopologyGuard<'_, '_, R, O, S, F>,
        id: &str,
        addr: u64,
        size: u64,
    ) -> Result<(), String> {
        if id.is_empty() || id.len() > 32 || id.contains(char::is_whitespace) {
            return Err(format!(
                "device_add: bad id '{id}' (1 to 32 characters, no spaces)"
            ));
        }
        if size == 0 {
            return Err("device_add: size is zero".to_string());
        }
        let end = addr
            .checked_add(size - 1)
            .filter(|&e| e <= u32::MAX as u64)
            .ok_or_else(|| {
                format!("device_add: {addr:#x} + {size:#x} runs past the 32-bit address space")
            })?;
        if self.find_owner(g, id).is_some() {
            return Err(format!("device_add: a device named '{id}' exists already"));
        }
        let subs = g
            .subregions(self.board.system)
            .map_err(|e| format!("device_add: {e}"))?;
        for r in subs {
            let Ok(info) = g.region_info(r) else { continue };
            let Some((_, RegionOffset(base))) = info.mapped else {
                continue;
            };
            let last = (base as u128 + info.size.bytes() - 1).min(u64::MAX as u128) as u64;
            if addr <= last && base <= end {
                return Err(format!(
                    "device_add: {addr:#x}-{end:#x} overlaps '{}' at {base:#x}-{last:#x}",
                    info.name
                ));
            }
        }
        Ok(())
    }

    fn find_owner<const R: usize, const O: usize, const S: usize, const F: usize>(
        &self,
        g: &TopologyGuard<'_, '_, R, O, S, F>,
        id: &str,
    ) -> Option<OwnerHandle> {
        let root = g.root_owner().ok()?;
        let mut stack = vec![root];
        while let Some(o) = stack.pop() {
            if o != root && g.owner_info(o).ok()?.name.as_str() == id {
                return Some(o);
            }
            if let Ok(children) = g.owner_children(o) {
                stack.extend(children);
            }
        }
        None
    }

    /// Plugs `size` bytes of RAM as device `id` at `addr`.
    pub fn device_add_ram(&self, id: &str, addr: u64, size: u64) -> Result<OwnerHandle, String> {
        if size > MAX_HOTPLUG_RAM {
            return Err(format!(
                "device_add: at most {} MiB of RAM per device",
                MAX_HOTPLUG_RAM >> 20
            ));
        }
        let mut g = self.board.devices.memory.lock();
        self.check_free(&g, id, addr, size)?;
        let block = self.ram_block(size)?;
        let root = g.root_owner().map_err(|e| e.to_string())?;
        g.begin();
        let result = (|| {
            let owner = g
                .create_owner(root, id)
                .map_err(|e| (e.to_string(), None))?;
            let region = match g.create_ram(owner, id, block) {
                Ok(r) => r,
                Err(rejected) => {
                    return Err((rejected.error.to_string(), Some((owner, rejected.value))))
                }
            };
            g.add_subregion(self.board.system, RegionOffset(addr), region, Priority(0))
                .map_err(|e| (e.to_string(), None))?;
            g.realize(owner).map_err(|e| (e.to_string(), None))?;
            Ok(owner)
        })();
        match result {
            Ok(owner) => {
                g.commit().map_err(|e| format!("device_add: {e}"))?;
                Ok(owner)
            }
            Err((e, back)) => {
                if let Some((owner, block)) = back {
                    let _ = g.destroy_owner(owner);
                    self.ram.release(block);
                }
                let _ = g.commit();
                Err(format!("device_add: {e}"))
            }
        }
    }

    fn ram_block(&self, size: u64) -> Result<RamBlock<'static>, String> {
        self.ram.alloc(size)
    }

    /// Plugs an NS16550A as device `id` at `addr`, its interrupt wired to PLIC source
    /// `irq` (or the first free one from [`HOTPLUG_IRQ_FIRST`]); returns the device and the
    /// source.
    pub fn device_add_uart(
        &self,
        id: &str,
        addr: u64,
        irq: Option<u32>,
    ) -> Result<(OwnerHandle, u32), String> {
        let mut g = self.board.devices.memory.lock();
        self.check_free(&g, id, addr, UART_SIZE)?;
        let mut sources = self
            .irq_sources
            .lock()
            .map_err(|_| "device_add: the monitor's interrupt table is poisoned".to_string())?;
        // Sources of devices that are gone are free again.
        sources.retain(|&(owner, _)| {
            g.owner_info(owner)
                .is_ok_and(|i| i.state != Lifecycle::Unplugging)
        });
        let taken = |s: u32| {
            [UART_IRQ, DMA_DONE_IRQ, DMA_ERROR_IRQ].contains(&s) || sources.iter().any(|e| e.1 == s)
        };
        let source = match irq {
            Some(s) if s == 0 || s as usize >= PLIC_SOURCES => {
                return Err(format!(
                    "device_add: irq={s} is not a PLIC source (1-{})",
                    PLIC_SOURCES - 1
                ))
            }
            Some(s) if taken(s) => return Err(format!("device_add: PLIC source {s} is in use")),
            Some(s) => s,
            None => (HOTPLUG_IRQ_FIRST..PLIC_SOURCES as u32)
                .find(|&s| !taken(s))
                .ok_or("device_add: no free PLIC source")?,
        };
        let wiring = &self.board.devices.wiring;
        if wiring.len() >= IRQ_LINES {
            return Err(format!(
                "device_add: no room for another interrupt line ({IRQ_LINES} in use)"
            ));
        }
        // The model must outlive every reader of the views that show it: a leaked one, reused
        // once its previous device's unplug is complete (see `UartPool`).
        let mut pool = self
            .uarts
            .lock()
            .map_err(|_| "device_add: the monitor's UART pool is poisoned".to_string())?;
        wiring.disconnect_dead(&g);
        let mut k = 0;
        while k < pool.plugged.len() {
            let owner = pool.plugged[k].0;
            if g.owner_info(owner).is_err() && g.unplug_complete(owner) {
                let (_, done) = pool.plugged.swap_remove(k);
                done.reset();
                pool.spare.push(done);
            } else {
                k += 1;
            }
        }
        let uart: &'static Uart16550<'static> = match pool.spare.pop() {
            Some(u) => u,
            None => {
                pool.made += 1;
                Box::leak(Box::new(Uart16550::new()))
            }
        };
        if let Some(serial) = self.serial {
            uart.set_sink(serial);
        }
        let root = g.root_owner().map_err(|e| e.to_string())?;
        g.begin();
        let mut made_owner = None;
        let result = (|| {
            let owner = g.create_owner(root, id)?;
            made_owner = Some(owner);
            let size = RegionSize::new(UART_SIZE).ok_or(fief_core::memory::Error::EmptyBlock)?;
            let region = match g.create_mmio(owner, id, size, uart) {
                Ok(r) => r,
                Err(e) => {
                    let _ = g.destroy_owner(owner);
                    return Err(e);
                }
            };
            if let Err(e) =
                g.add_subregion(self.board.system, RegionOffset(addr), region, Priority(0))
            {
                let _ = g.destroy_owner(owner);
                return Err(e);
            }
            g.realize(owner)?;
            Ok(owner)
        })();
        let committed = g.commit();
        // A plug that fails hands its model back: reused once the owner it was given to is
        // gone for good, at once if it never got one.
        let give_back = |pool: &mut UartPool| match made_owner {
            Some(owner) => pool.plugged.push((owner, uart)),
            None => pool.spare.push(uart),
        };
        let owner = match result.and_then(|owner| committed.map(|()| owner)) {
            Ok(owner) => owner,
            Err(e) => {
                give_back(&mut pool);
                return Err(format!("device_add: {e}"));
            }
        };
        // The wiring table had room (checked above) and the line is new, so this holds; if
        // it did not, the device is taken out again rather than left half plugged.
        if let Err(e) =
            wiring.connect_checked(&g, owner, &uart.irq, &self.board.devices.plic, source)
        {
            g.begin();
            let _ = g.destroy_owner(owner);
            let _ = g.commit();
            give_back(&mut pool);
            return Err(format!("device_add: interrupt wiring: {e}"));
        }
        sources.push((owner, source));
        pool.plugged.push((owner, uart));
        Ok((owner, source))
    }

    /// UART models allocated by `device_add uart` so far (each lives for the process; an
    /// unplugged one is reused once its unplug is complete).
    pub fn uarts_made(&self) -> usize {
        self.uarts.lock().map(|p| p.made).unwrap_or(0)
    }

    /// Unplugs device `id`, waiting up to `wait` for completion.
    pub fn device_del(&self, id: &str, wait: Duration) -> Result<Unplug, String> {
        let owner = self.device_del_start(id)?;
        let start = Instant::now();
        loop {
            if self.unplug_done(owner) {
                return Ok(Unplug::Complete);
            }
            if start.elapsed() >= wait {
                if let Ok(mut p) = self.pending.lock() {
                    p.push(Pending {
                        id: id.to_string(),
                        owner,
                        since: start,
                    });
                }
                return Ok(Unplug::Pending);
            }
            std::thread::sleep(Duration::from_micros(100));
        }
    }

    /// Destroys device `id` (and its children) in one transaction and disconnects its
    /// interrupt lines; returns its (now stale) handle, for [`Monitor::unplug_done`].
    pub fn device_del_start(&self, id: &str) -> Result<OwnerHandle, String> {
        let o = &self.board.owners;
        let mut g = self.board.devices.memory.lock();
        let owner = self
            .find_owner(&g, id)
            .ok_or_else(|| format!("device_del: no device '{id}' (see info qtree)"))?;
        if [o.finisher, o.clint, o.plic, o.uart, o.dma].contains(&owner)
            || o.virtio.contains(&owner)
        {
            return Err(format!("device_del: '{id}' is not hot-pluggable"));
        }
        if g.owner_info(owner).map(|i| i.state) == Ok(Lifecycle::Unplugging) {
            return Err(format!("device_del: '{id}' is being unplugged already"));
        }
        g.begin();
        let destroyed = g.destroy_owner(owner);
        let committed = g.commit();
        destroyed.map_err(|e| format!("device_del: {e}"))?;
        committed.map_err(|e| format!("device_del: {e}"))?;
        self.board.devices.wiring.disconnect_dead(&g);
        drop(g);
        self.virtio.unplug(self.board, owner);
        Ok(owner)
    }

    /// Whether the unplug of `owner` is complete; takes the blocks it released.
    pub fn unplug_done(&self, owner: OwnerHandle) -> bool {
        if self.virtio.drained(self.board, owner) == Some(false) {
            return false;
        }
        let mut g = self.board.devices.memory.lock();
        let done = g.unplug_complete(owner);
        while let Some(block) = g.take_released_ram() {
            self.ram.release(block);
        }
        done
    }

    /// Unplugs that completed since they were reported pending: (id, time it took).
    pub fn poll_unplugs(&self) -> Vec<(String, Duration)> {
        let Ok(mut p) = self.pending.lock() else {
            return Vec::new();
        };
        let mut done = Vec::new();
        let mut i = 0;
        while i < p.len() {
            if self.unplug_done(p[i].owner) {
                let e = p.swap_remove(i);
                done.push((e.id, e.since.elapsed()));
            } else {
                i += 1;
            }
        }
        done
    }

    /// Takes the RAM blocks of completed unplugs that were kept rather than given back to
    /// the host: blocks that were not the monitor's own, and all of them while
    /// [`Monitor::keep_released_ram`] is on (tests look at what was written into an
    /// unplugged device's memory).
    pub fn take_spare_ram(&self) -> Vec<RamBlock<'static>> {
        self.ram.take_kept()
    }

    /// Keeps the RAM of unplugged devices for [`Monitor::take_spare_ram`] instead of
    /// unmapping it (for tests).
    pub fn keep_released_ram(&self, on: bool) {
        self.ram.keep_released(on);
    }

    /// Host mappings behind hot-plugged RAM that are still alive.
    pub fn ram_mappings(&self) -> usize {
        self.ram.mappings()
    }

    /// Unplugs still pending.
    pub fn pending_unplugs(&self) -> usize {
        self.pending.lock().map(|p| p.len()).unwrap_or(0)
    }
}
