//! Plugging virtio devices into `virt32`'s slots, from the command line (`-drive`,
//! `-netdev`, `-device`) and the monitor (`device_add virtio-blk-device,drive=ID,id=NAME`,
//! `device_add virtio-rng-device,id=NAME`, `device_add virtio-net-device,netdev=ID`,
//! `device_del NAME`), while the guest runs.
//!
//! A device takes the free slot with the highest address first, as QEMU's `virt` fills
//! them (the first `-device` lands at `0x1000_8000`). Each plugged device is an owner
//! named by its id (in `info qtree`); the drive it uses is busy until its unplug completes.
//! An unplug takes the device out of its slot at once (the slot answers as an empty one,
//! no new request is taken) and completes once no request is in flight any more, every
//! request taken before it having gone to the used ring, completed or with an I/O error,
//! and its owner's unplug is complete: then no lease of the device can reach guest memory.
//!
//! Device models live for the process (the slot's reference is `'static`), so none is
//! freed; each is reused instead. A disk's model is made once per drive and reused by later
//! plugs of that drive; one entropy model serves every virtio-rng; a network card's and a
//! console's model go, once their device's unplug is complete (the slot has let go of
//! them: nothing in flight, no request can be taken), to a spare list of their kind, and
//! the next plug of that kind takes a spare, powers it on again (bound to its netdev's
//! link and MAC, or to its chardev, with nothing kept from its previous life:
//! [`VirtioNet::power_on`], [`VirtioConsole::power_on`]; the slot's plug resets the queues,
//! features, status and interrupt) or makes one when none is spare. So plug/unplug cycles
//! allocate no more models than the most devices of a kind plugged at once
//! ([`VirtioPlugs::models_made`]). A console with no port writes to one shared sink that
//! drops its output. A netdev's link lives for the process and serves one card at a time,
//! as QEMU's. A card without `mac=` gets QEMU's default: `52:54:00:12:34:56` for the first,
//! then the next free last byte (`qemu_macaddr_default_if_unset`).

use std::sync::Mutex;

use fief_boards::virt::{Virt, VIRTIO_SLOTS};
use fief_boards::virtio::blk::VirtioBlk;
use fief_boards::virtio::console::{ConsoleBackend, VirtioConsole};
use fief_boards::virtio::net::VirtioNet;
use fief_boards::virtio::rng::VirtioRng;
use fief_boards::virtio::VirtioDevice;
use fief_core::owner::OwnerHandle;

use crate::chardev::{Chardev, SocketConsole};
use crate::virtio_host::{valid_id, DeviceSpec, DriveSpec, FileConsole, FileDisk, HostEntropy};
use crate::virtio_net::{NetdevSpec, UdpNet};

struct Netdev {
    id: String,
    link: &'static UdpNet,
    /// The card using it.
    user: Option<OwnerHandle>,
}

/// QEMU's default MAC prefix; the last byte is allocated from `0x56` up.
const MAC_PREFIX: [u8; 5] = [0x52, 0x54, 0x00, 0x12, 0x34];

struct Drive {
    spec: DriveSpec,
    disk: &'static FileDisk,
    model: &'static VirtioBlk<'static>,
    /// The device using it.
    user: Option<OwnerHandle>,
}

/// A `-chardev` (opened at start, as QEMU opens them) and the console using it.
struct ChardevEntry {
    id: String,
    backend: &'static dyn ConsoleBackend,
    /// A socket chardev's input side (kicks the console's receive queue).
    socket: Option<&'static SocketConsole>,
    /// The console using it.
    user: Option<OwnerHandle>,
}

struct Plugged {
    owner: OwnerHandle,
    slot: usize,
    drive: Option<String>,
    netdev: Option<String>,
    chardev: Option<String>,
    kind: &'static str,
    /// The model, if it is one of the pool's (given back once the unplug is complete).
    model: Option<Reusable>,
}

/// The virtio devices of one board (see the [module docs](self)).
pub struct VirtioPlugs {
    drives: Mutex<Vec<Drive>>,
    plugged: Mutex<Vec<Plugged>>,
    rng: &'static VirtioRng<'static>,
    netdevs: Mutex<Vec<Netdev>>,
    chardevs: Mutex<Vec<ChardevEntry>>,
    /// Last bytes of `52:54:00:12:34:xx` addresses taken (QEMU's `mac_table`).
    macs_used: Mutex<[bool; 256]>,
    /// Network cards and consoles not plugged, for the next plug of their kind.
    spare: Mutex<ModelPool>,
}

/// A model the plugs make and reuse (see the [module docs](self)). A plugged device is
/// `'static` (the transport, its DMA and a socket's reader may hold it), so it is never
/// freed: it is in its [`Plugged`] entry while plugged or unplugging, then in the spare
/// list of its kind. (A model made per plug and dropped from every list leaked, found by
/// the `monitor` fuzz target under LeakSanitizer; kept in a list for the process's life
/// instead, each plug/unplug cycle grew the host by one model.)
#[derive(Clone, Copy)]
enum Reusable {
    Net(&'static VirtioNet<'static>),
    Console(&'static VirtioConsole<'static>),
}

/// Spare models by kind and how many of each were made.
#[derive(Default)]
struct ModelPool {
    nets: Vec<&'static VirtioNet<'static>>,
    consoles: Vec<&'static VirtioConsole<'static>>,
    made: ModelsMade,
}

/// Models of each reusable kind made so far ([`VirtioPlugs::models_made`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ModelsMade {
    /// virtio-net cards.
    pub nets: usize,
    /// Consoles (with a port or without).
    pub consoles: usize,
}

/// The back end of a console plugged with no port (`device_add virtio-serial-device`):
/// its output is dropped and it has no input. It keeps nothing, so one serves them all.
struct NoPort;

impl ConsoleBackend for NoPort {
    fn write(&self, _data: &[u8]) {}
}

static NO_PORT: NoPort = NoPort;

/// The model `VirtioPlugs::plug` plugs: one that exists already (a drive's disk, the rng),
/// or what a card or a console is bound to, once the plug's checks have passed.
enum Model {
    Ready(&'static dyn VirtioDevice),
    Net(&'static UdpNet, [u8; 6]),
    Console(&'static dyn ConsoleBackend),
}

impl Default for VirtioPlugs {
    fn default() -> Self {
        Self::new()
    }
}

impl VirtioPlugs {
    /// No drives, nothing plugged.
    pub fn new() -> VirtioPlugs {
        VirtioPlugs {
            drives: Mutex::new(Vec::new()),
            plugged: Mutex::new(Vec::new()),
            rng: Box::leak(Box::new(VirtioRng::new(&HostEntropy))),
            netdevs: Mutex::new(Vec::new()),
            chardevs: Mutex::new(Vec::new()),
            macs_used: Mutex::new([false; 256]),
            spare: Mutex::new(ModelPool::default()),
        }
    }

    /// Binds the netdev's socket (a port in use is a clear error) and keeps it for
    /// `-device virtio-net-device,netdev=ID`.
    pub fn add_netdev(&self, spec: NetdevSpec) -> Result<(), String> {
        let mut netdevs = self.netdevs.lock().map_err(|_| "netdev table poisoned")?;
        if netdevs.iter().any(|n| n.id == spec.id) {
            return Err(format!(
                "-netdev: a netdev with id '{}' exists already",
                spec.id
            ));
        }
        let link = UdpNet::open(&spec)?;
        netdevs.push(Netdev {
            id: spec.id,
            link,
            user: None,
        });
        Ok(())
    }

    /// Opens a `-chardev` (a file is created or truncated, a socket listens) and keeps it
    /// for a console (`virtconsole,chardev=ID`).
    pub fn add_chardev(&self, id: String, chardev: &Chardev) -> Result<(), String> {
        let mut chardevs = self.chardevs.lock().map_err(|_| "chardev table poisoned")?;
        if chardevs.iter().any(|c| c.id == id) {
            return Err(format!("-chardev: a chardev with id '{id}' exists already"));
        }
        let (backend, socket): (&'static dyn ConsoleBackend, _) = match chardev {
            Chardev::Socket(path) => {
                let socket = SocketConsole::open(path)?;
                (socket, Some(socket))
            }
            Chardev::File(path) => (Box::leak(Box::new(FileConsole::open(Some(path))?)), None),
        };
        chardevs.push(ChardevEntry {
            id,
            backend,
            socket,
            user: None,
        });
        Ok(())
    }

    /// The card's MAC: the one asked for (marked taken if it has QEMU's prefix), or the
    /// first free default, as QEMU's `qemu_macaddr_default_if_unset`.
    fn mac(&self, asked: Option<[u8; 6]>) -> [u8; 6] {
        let Ok(mut used) = self.macs_used.lock() else {
            return asked.unwrap_or([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        };
        if let Some(mac) = asked {
            if mac[..5] == MAC_PREFIX {
                used[mac[5] as usize] = true;
            }
            return mac;
        }
        let last = (0x56..0x100)
            .chain(0..0x56)
            .find(|&b| !used[b])
            .unwrap_or(0x56);
        used[last] = true;
        let mut mac = [0u8; 6];
        mac[..5].copy_from_slice(&MAC_PREFIX);
        mac[5] = last as u8;
        mac
    }

    /// The monitor's `block_resize ID SIZE`: the drive's file becomes `size` bytes long
    /// and, if a disk over it is plugged, its driver is told (the capacity in its
    /// configuration changes, `ConfigGeneration` moves on, a configuration-change
    /// interrupt). Returns the reply line.
    pub fn block_resize(
        &self,
        board: &Virt<'static>,
        id: &str,
        size: u64,
    ) -> Result<String, String> {
        let drives = self.drives.lock().map_err(|_| "drive table poisoned")?;
        let d = drives
            .iter()
            .find(|d| d.spec.id == id)
            .ok_or_else(|| format!("block_resize: no drive '{id}'"))?;
        d.disk
            .resize(size)
            .map_err(|e| format!("block_resize: drive '{id}': {e}"))?;
        let plugged = self.plugged.lock().map_err(|_| "device table poisoned")?;
        let told = plugged
            .iter()
            .find(|p| p.drive.as_deref() == Some(id))
            .is_some_and(|p| board.devices.virtio[p.slot].config_changed());
        Ok(format!(
            "block_resize: drive '{id}' is now {size} bytes ({} sectors){}\n",
            size / 512,
            if told { "; its driver was told" } else { "" }
        ))
    }

    /// Opens the drive's file (a missing file, or a read-only one for a writable drive,
    /// is a clear error) and keeps it for `-device ...,drive=ID`.
    pub fn add_drive(&self, spec: DriveSpec) -> Result<(), String> {
        let mut drives = self.drives.lock().map_err(|_| "drive table poisoned")?;
        if drives.iter().any(|d| d.spec.id == spec.id) {
            return Err(format!(
                "-drive: a drive with id '{}' exists already",
                spec.id
            ));
        }
        let disk: &'static FileDisk =
            Box::leak(Box::new(FileDisk::open(&spec.file, spec.read_only)?));
        let model = Box::leak(Box::new(VirtioBlk::new(disk, &spec.id)));
        drives.push(Drive {
            spec,
            disk,
            model,
            user: None,
        });
        Ok(())
    }

    /// Plugs the device `spec` asks for into the highest free slot; returns its id and
    /// slot.
    pub fn plug(
        &self,
        board: &Virt<'static>,
        option: &str,
        spec: &DeviceSpec,
    ) -> Result<(String, usize), String> {
        let mut drives = self.drives.lock().map_err(|_| "drive table poisoned")?;
        let mut plugged = self.plugged.lock().map_err(|_| "device table poisoned")?;
        let mut netdevs = self.netdevs.lock().map_err(|_| "netdev table poisoned")?;
        let slots = &board.devices.virtio;
        let slot = (0..VIRTIO_SLOTS)
            .rev()
            .find(|&n| {
                !slots[n].is_plugged()
                    && slots[n].in_flight() == 0
                    && !plugged.iter().any(|p| p.slot == n)
            })
            .ok_or_else(|| format!("{option}: all {VIRTIO_SLOTS} virtio-mmio slots are in use"))?;
        let mut link = None;
        let mut chardevs = self.chardevs.lock().map_err(|_| "chardev table poisoned")?;
        let mut console_link: Option<(Option<&'static SocketConsole>, String)> = None;
        // A card's or a console's model is taken from the spares (or made) only once the
        // checks below have passed, so a refused plug takes nothing (found by the `monitor`
        // fuzz target: a refused `device_add virtio-serial-device` leaked its console each
        // time).
        let (model, kind, drive) = match spec {
            DeviceSpec::Blk { drive, .. } => {
                let d = drives
                    .iter_mut()
                    .find(|d| &d.spec.id == drive)
                    .ok_or_else(|| {
                        format!("{option}: no drive '{drive}' (give -drive ...,id={drive})")
                    })?;
                if d.user.is_some() {
                    return Err(format!(
                        "{option}: drive '{drive}' is in use by another device"
                    ));
                }
                (
                    Model::Ready(d.model),
                    "virtio-blk-device",
                    Some(drive.clone()),
                )
            }
            DeviceSpec::Rng { .. } => (Model::Ready(self.rng), "virtio-rng-device", None),
            DeviceSpec::Net { netdev, mac, .. } => {
                let n = netdevs.iter().find(|n| &n.id == netdev).ok_or_else(|| {
                    format!("{option}: no netdev '{netdev}' (give -netdev ...,id={netdev})")
                })?;
                if n.user.is_some() {
                    return Err(format!(
                        "{option}: netdev '{netdev}' is in use by another device"
                    ));
                }
                link = Some((n.link, netdev.clone()));
                (
                    Model::Net(n.link, self.mac(*mac)),
                    "virtio-net-device",
                    None,
                )
            }
            DeviceSpec::Console { chardev, .. } => {
                let backend: &'static dyn ConsoleBackend = match chardev {
                    Some(name) => {
                        let c = chardevs.iter().find(|c| &c.id == name).ok_or_else(|| {
                            format!("{option}: no chardev '{name}' (give -chardev ...,id={name})")
                        })?;
                        if c.user.is_some() {
                            return Err(format!(
                                "{option}: chardev '{name}' is in use by another console"
                            ));
                        }
                        console_link = Some((c.socket, name.clone()));
                        c.backend
                    }
                    // No port: the console's output is dropped.
                    None => &NO_PORT,
                };
                (Model::Console(backend), "virtio-serial-device", None)
            }
            DeviceSpec::Serial { .. } | DeviceSpec::Virtconsole { .. } => {
                return Err(format!(
                    "{option}: a console is plugged as one device (resolved by the caller)"
                ))
            }
        };
        let id = match spec.id() {
            Some(id) => id.to_string(),
            None => format!("virtio{slot}-{}", kind.trim_end_matches("-device")),
        };
        if !valid_id(&id) {
            return Err(format!("{option}: bad id '{id}'"));
        }
        let owner = {
            let mut g = board.devices.memory.lock();
            let root = g.root_owner().map_err(|e| format!("{option}: {e}"))?;
            if Self::named(&g, &id) {
                return Err(format!("{option}: a device named '{id}' exists already"));
            }
            g.begin();
            let made = g
                .create_owner(root, &id)
                .and_then(|o| g.realize(o).map(|_| o));
            let committed = g.commit();
            let owner = made.map_err(|e| format!("{option}: {e}"))?;
            committed.map_err(|e| format!("{option}: {e}"))?;
            owner
        };
        let mut pool = self.spare.lock().map_err(|_| "model pool poisoned")?;
        let (device, model): (&'static dyn VirtioDevice, _) = match model {
            Model::Ready(device) => (device, None),
            Model::Net(link, mac) => {
                let card = match pool.nets.pop() {
                    Some(card) => {
                        card.power_on(link, mac);
                        card
                    }
                    None => {
                        pool.made.nets += 1;
                        Box::leak(Box::new(VirtioNet::new(link, mac)))
                    }
                };
                (card, Some(Reusable::Net(card)))
            }
            Model::Console(backend) => {
                let console = match pool.consoles.pop() {
                    Some(console) => {
                        console.power_on(backend);
                        console
                    }
                    None => {
                        pool.made.consoles += 1;
                        Box::leak(Box::new(VirtioConsole::new(backend)))
                    }
                };
                (console, Some(Reusable::Console(console)))
            }
        };
        if !slots[slot].plug(device) {
            // Roll the owner back and the model to the spares: nothing was plugged.
            if let Some(model) = model {
                pool.give_back(model);
            }
            drop(pool);
            let mut g = board.devices.memory.lock();
            g.begin();
            let _ = g.destroy_owner(owner);
            let _ = g.commit();
            return Err(format!(
                "{option}: virtio-mmio slot {slot} is still busy ({} requests in flight); try again",
                slots[slot].in_flight()
            ));
        }
        if let Some(name) = &drive {
            if let Some(d) = drives.iter_mut().find(|d| &d.spec.id == name) {
                d.user = Some(owner);
            }
        }
        let chardev = console_link.map(|(socket, name)| {
            if let Some(c) = chardevs.iter_mut().find(|c| c.id == name) {
                c.user = Some(owner);
            }
            if let Some(socket) = socket {
                socket.attach(Some(&slots[slot]));
            }
            name
        });
        let netdev = link.map(|(link, name)| {
            if let Some(n) = netdevs.iter_mut().find(|n| n.id == name) {
                n.user = Some(owner);
            }
            link.attach(Some(&slots[slot]));
            name
        });
        plugged.push(Plugged {
            owner,
            slot,
            drive,
            netdev,
            chardev,
            kind,
            model,
        });
        Ok((id, slot))
    }

    fn named<const R: usize, const O: usize, const S: usize, const F: usize>(
        g: &fief_core::memory::TopologyGuard<'_, '_, R, O, S, F>,
        id: &str,
    ) -> bool {
        let Ok(root) = g.root_owner() else {
            return false;
        };
        let mut stack = vec![root];
        while let Some(o) = stack.pop() {
            if o != root && g.owner_info(o).is_ok_and(|i| i.name.as_str() == id) {
                return true;
            }
            if let Ok(children) = g.owner_children(o) {
                stack.extend(children);
            }
        }
        false
    }

    /// Whether `owner` is a plugged virtio device; if so takes it out of its slot (the
    /// owner itself is destroyed by the caller).
    pub fn unplug(&self, board: &Virt<'static>, owner: OwnerHandle) -> bool {
        let Ok(plugged) = self.plugged.lock() else {
            return false;
        };
        match plugged.iter().find(|p| p.owner == owner) {
            Some(p) => {
                board.devices.virtio[p.slot].unplug();
                if let (Some(name), Ok(netdevs)) = (&p.netdev, self.netdevs.lock()) {
                    if let Some(n) = netdevs.iter().find(|n| &n.id == name) {
                        n.link.attach(None);
                    }
                }
                if let (Some(name), Ok(chardevs)) = (&p.chardev, self.chardevs.lock()) {
                    if let Some(socket) = chardevs
                        .iter()
                        .find(|c| &c.id == name)
                        .and_then(|c| c.socket)
                    {
                        socket.attach(None);
                    }
                }
                true
            }
            None => false,
        }
    }

    /// For an unplugging virtio device `owner`: whether its requests have all ended
    /// (`None` if `owner` is not one). When they have, the slot and the drive are freed.
    pub fn drained(&self, board: &Virt<'static>, owner: OwnerHandle) -> Option<bool> {
        let mut plugged = self.plugged.lock().ok()?;
        let i = plugged.iter().position(|p| p.owner == owner)?;
        let slot = &board.devices.virtio[plugged[i].slot];
        if slot.is_plugged() {
            return Some(false); // not unplugged yet
        }
        if !slot.release() {
            return Some(false);
        }
        let p = plugged.swap_remove(i);
        // The slot has let go of the model: the next plug of its kind may take it.
        if let (Some(model), Ok(mut pool)) = (p.model, self.spare.lock()) {
            pool.give_back(model);
        }
        if let (Some(name), Ok(mut drives)) = (p.drive, self.drives.lock()) {
            if let Some(d) = drives.iter_mut().find(|d| d.spec.id == name) {
                d.user = None;
            }
        }
        if let (Some(name), Ok(mut netdevs)) = (p.netdev, self.netdevs.lock()) {
            if let Some(n) = netdevs.iter_mut().find(|n| n.id == name) {
                n.user = None;
            }
        }
        if let (Some(name), Ok(mut chardevs)) = (p.chardev, self.chardevs.lock()) {
            if let Some(c) = chardevs.iter_mut().find(|c| c.id == name) {
                c.user = None;
            }
        }
        Some(true)
    }

    /// Network card and console models made so far: each plug takes a spare one when
    /// there is one (see the [module docs](self)).
    pub fn models_made(&self) -> ModelsMade {
        self.spare.lock().map(|p| p.made).unwrap_or_default()
    }

    /// Network card and console models spare now.
    pub fn models_spare(&self) -> ModelsMade {
        self.spare
            .lock()
            .map(|p| ModelsMade {
                nets: p.nets.len(),
                consoles: p.consoles.len(),
            })
            .unwrap_or_default()
    }

    /// `(slot, kind)` of every plugged device.
    pub fn list(&self) -> Vec<(usize, &'static str)> {
        self.plugged
            .lock()
            .map(|p| p.iter().map(|p| (p.slot, p.kind)).collect())
            .unwrap_or_default()
    }
}

impl ModelPool {
    /// `model`, which no slot holds any more, is spare.
    fn give_back(&mut self, model: Reusable) {
        match model {
            Reusable::Net(card) => self.nets.push(card),
            Reusable::Console(console) => self.consoles.push(console),
        }
    }
}
