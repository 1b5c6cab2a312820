//! The virtio-mmio transport of one slot (virtio 1.2, section 4.2.2, and the legacy layout
//! of 4.2.4): its registers at `0x000..0x100`, the device's configuration from `0x100`,
//! feature negotiation, device status and reset, the interrupt status, queue setup, and
//! serving requests ([`VirtioMmio::step`]). This file owns the slot (plug, unplug,
//! state, reset, steps); `registers.rs` its guest-visible register interface ([`reg`],
//! [`isr`], what each register does, the MMIO callbacks).
//!
//! A slot has a [`Transport`] version, fixed before the guest runs: `Legacy` (version 1,
//! QEMU 7.2's default for virtio-mmio: `GuestPageSize`, `QueuePFN`, `QueueAlign`) or
//! `Modern` (version 2, QEMU's `-global virtio-mmio.force-legacy=false`: 64-bit features,
//! split queue addresses, `QueueReady`, `ConfigGeneration`). As on QEMU, any access of 1,
//! 2 or 4 aligned bytes is taken; a register access (below `0x100`) that is not 4 bytes
//! reads 0 and is ignored; the configuration takes 1, 2 and 4 bytes.
//!
//! With no device in the slot it answers as QEMU's empty transport, whatever the access
//! size: `MagicValue`, `Version` and `VendorID` (a narrower read gets their low bytes),
//! everything else reads 0 (device ID 0: no driver claims it) and writes are ignored.
//!
//! A guest that breaks the queue protocol (see [`QueueError`]) makes the device *broken*,
//! as QEMU's `virtio_error`: no request is served until the driver resets it, the modern
//! transport sets `DEVICE_NEEDS_RESET` and raises a configuration-change interrupt, and
//! the error is kept for the embedding to report ([`VirtioMmio::take_error`]). Nothing
//! already completed is lost. A notification for a queue that was never set up is
//! ignored, as QEMU ignores it.
//!
//! Locks, in the order taken: the slot's `device` (who is plugged: the plug, the unplug,
//! an empty slot's quick answers), then its `state`; a model's own locks are taken under
//! `state` (`claim`, `ready`, `reset`, `negotiated`, its configuration), `serve` with no
//! lock of the slot held, the doorbell's with no other lock of the slot. Whatever uses
//! the device with the state (a step, a register or configuration access, a reset) takes
//! it from the state, under the state lock: a model read before that lock may have been
//! unplugged meanwhile, and be plugged in elsewhere by then (the host reuses models).

use fief_core::atomic::{AtomicU32, AtomicU8, Ordering};
use fief_core::irq::IrqLine;
use fief_core::lock::Mutex;

use super::guest::GuestMem;
use super::queue::{Queue, QueueError};
use super::{features, status, RequestError, VirtioDevice};
use crate::dma::{DmaBus, DmaDoorbell, StepOutcome};

mod registers;

pub use registers::{isr, reg};

/// Size of one slot's window in the memory map (QEMU's device tree says `0x1000`; its
/// region is `0x200` bytes: registers and 256 bytes of device configuration).
pub const VIRTIO_MMIO_SIZE: u64 = 0x1000;
/// Queues a device may have.
pub const MAX_QUEUES: usize = 4;
/// The first requester id of virtio slots' bus accesses (slot n: this + n).
pub const VIRTIO_REQUESTER_ID: u16 = 0x200;

/// Which register layout a slot speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Transport {
    /// Version 1: `GuestPageSize`, `QueuePFN`, `QueueAlign` (QEMU 7.2's default).
    Legacy = 1,
    /// Version 2: split queue addresses, `QueueReady`, 64-bit features.
    Modern = 2,
}

/// A device error the embedding has not reported yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceFault {
    /// The queue.
    pub queue: usize,
    /// What the guest did.
    pub error: QueueError,
}

struct State<'a> {
    status: u32,
    isr: u32,
    device_features_sel: u32,
    driver_features_sel: u32,
    driver_features: u64,
    /// Modern layout: a driver feature bit the device did not offer was written (the
    /// bit itself is dropped); `FEATURES_OK` is then refused.
    unoffered: bool,
    page_shift: u32,
    queue_sel: u32,
    queues: [Queue; MAX_QUEUES],
    broken: bool,
    fault: Option<DeviceFault>,
    /// Changes at every reset: a request taken before it is not put on the new rings.
    epoch: u32,
    /// The device this state belongs to (set by the plug, cleared by the unplug, under
    /// this lock): every path that uses the device with the state takes it from here, so
    /// it never serves a device's queues, registers or configuration with the model of
    /// another one plugged before or after it.
    device: Option<&'a dyn VirtioDevice>,
    /// Queues (bit q: queue q) notified or kicked by the register write in progress: their
    /// doorbells are rung once the state lock is dropped.
    ring: u32,
}

impl<'a> State<'a> {
    const RESET: State<'a> = State {
        status: 0,
        isr: 0,
        device_features_sel: 0,
        driver_features_sel: 0,
        driver_features: 0,
        unoffered: false,
        page_shift: 0,
        queue_sel: 0,
        queues: [Queue::RESET; MAX_QUEUES],
        broken: false,
        fault: None,
        epoch: 0,
        device: None,
        ring: 0,
    };
}

/// One virtio-mmio slot (see the [module docs](self)).
pub struct VirtioMmio<'a> {
    version: AtomicU8,
    state: Mutex<State<'a>>,
    /// The device plugged, as `plug` and `unplug` see it, and an empty slot's quick
    /// answers (without the state lock). Nothing uses the device read here with the state:
    /// it may be replaced before the state lock is taken (see `State::device`).
    device: Mutex<Option<&'a dyn VirtioDevice>>,
    doorbell: Mutex<Option<(&'a dyn DmaDoorbell, usize)>>,
    /// Bit q: queue q was notified and may have work.
    pending: AtomicU32,
    /// Requests taken and not yet put on the used ring.
    in_flight: AtomicU32,
    /// `ConfigGeneration`: moves on at every configuration change the driver is told of
    /// ([`VirtioMmio::config_changed`]); a reset does not take it back (as QEMU's).
    generation: AtomicU32,
    /// `InterruptStatus`, mirrored from the state at every change (made under the state
    /// lock), so that a driver polling it does not take the lock a worker needs.
    isr: AtomicU32,
    requester_id: AtomicU32,
    /// The interrupt output (PLIC source 1 to 8 on `virt32`).
    pub irq: IrqLine<'a>,
}

impl Default for VirtioMmio<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> VirtioMmio<'a> {
    /// An empty legacy slot.
    pub const fn new() -> VirtioMmio<'a> {
        VirtioMmio {
            version: AtomicU8::new(Transport::Legacy as u8),
            state: Mutex::new(State::RESET),
            device: Mutex::new(None),
            doorbell: Mutex::new(None),
            pending: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
            generation: AtomicU32::new(0),
            isr: AtomicU32::new(0),
            requester_id: AtomicU32::new(VIRTIO_REQUESTER_ID as u32),
            irq: IrqLine::new(),
        }
    }

    /// Selects the register layout (before the guest runs).
    pub fn set_transport(&self, transport: Transport) {
        self.version.store(transport as u8, Ordering::SeqCst);
    }

    /// The register layout.
    pub fn transport(&self) -> Transport {
        match self.version.load(Ordering::SeqCst) {
            2 => Transport::Modern,
            _ => Transport::Legacy,
        }
    }

    fn legacy(&self) -> bool {
        self.transport() == Transport::Legacy
    }

    /// The requester id of this slot's bus accesses.
    pub fn set_requester_id(&self, id: u16) {
        self.requester_id.store(id as u32, Ordering::SeqCst);
    }

    /// Rings `doorbell` with `base + queue` when a queue is notified.
    pub fn set_doorbell(&self, doorbell: &'a dyn DmaDoorbell, base: usize) {
        *self.doorbell.lock() = Some((doorbell, base));
    }

    /// Plugs `device` into the empty slot (its state reset); `false` if the slot is taken
    /// or requests of the previous device are still in flight.
    pub fn plug(&self, device: &'a dyn VirtioDevice) -> bool {
        let mut d = self.device.lock();
        if d.is_some() || self.in_flight() != 0 {
            return false;
        }
        self.reset_state(&mut self.state.lock(), Some(device));
        *d = Some(device);
        true
    }

    /// Takes the device out: from now on the slot answers as an empty one and no new
    /// request is taken. Requests already taken end on their own and still go on the used
    /// ring (completed, or with an I/O error status): [`VirtioMmio::in_flight`] says when
    /// none is left; then [`VirtioMmio::release`] clears the slot.
    ///
    /// A worker takes the device and its request under the state lock: the unplug takes
    /// the device out of the state under that lock, so a step that gets the lock after it
    /// takes nothing, and a request taken before is counted in flight before the unplug
    /// returns (without this, a request could start after the slot was released).
    pub fn unplug(&self) -> Option<&'a dyn VirtioDevice> {
        let device = self.device.lock().take();
        self.state.lock().device = None;
        self.pending.store(0, Ordering::SeqCst);
        device
    }

    /// After an unplug, once nothing is in flight: the driver state goes and the
    /// interrupt is lowered. `false` (nothing done) while requests are in flight.
    pub fn release(&self) -> bool {
        if self.is_plugged() {
            return false;
        }
        // Under the state lock, where requests are taken: once the unplug has taken the
        // device out of the state none is, so a count of 0 here stays 0.
        let mut s = self.state.lock();
        if self.in_flight() != 0 {
            return false;
        }
        self.reset_state(&mut s, None);
        true
    }

    /// Whether a device is plugged.
    pub fn is_plugged(&self) -> bool {
        self.device.lock().is_some()
    }

    /// Requests taken and not finished.
    pub fn in_flight(&self) -> u32 {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The first device error not yet reported, taken.
    pub fn take_error(&self) -> Option<DeviceFault> {
        self.state.lock().fault.take()
    }

    /// Whether the device is broken (waits for a reset).
    pub fn is_broken(&self) -> bool {
        self.state.lock().broken
    }

    /// Device status as the driver set it.
    pub fn status(&self) -> u32 {
        self.state.lock().status
    }

    /// Machine reset: the device's driver state goes (the device stays plugged).
    pub fn reset(&self) {
        self.reset_after(|| {})
    }

    /// For tests: [`VirtioMmio::reset`], with `pause` run where the run loop may be
    /// preempted before it takes the state lock (a test unplugs and plugs devices there).
    #[doc(hidden)]
    pub fn reset_after(&self, pause: impl FnOnce()) {
        pause();
        // The device from the state, under its lock: the model plugged now (read before
        // the lock, a model unplugged meanwhile would be reset, and put back in the state).
        let mut s = self.state.lock();
        let device = s.device;
        self.reset_state(&mut s, device);
    }

    /// The driver's reset (a `Status` or legacy `QueuePFN` write of 0): the device and its
    /// queues go back to their reset state, but the transport's own registers stay, as in
    /// QEMU 7.2 (`virtio_reset` leaves the proxy's `guest_page_shift` and feature selectors):
    /// Linux writes `GuestPageSize` once at probe, before the reset that starts the driver.
    fn driver_reset(&self, s: &mut State<'a>, device: &'a dyn VirtioDevice) {
        let (page_shift, device_sel, driver_sel) =
            (s.page_shift, s.device_features_sel, s.driver_features_sel);
        self.reset_state(s, Some(device));
        s.page_shift = page_shift;
        s.device_features_sel = device_sel;
        s.driver_features_sel = driver_sel;
    }

    fn reset_state(&self, s: &mut State<'a>, device: Option<&'a dyn VirtioDevice>) {
        let epoch = s.epoch.wrapping_add(1);
        *s = State::RESET;
        s.epoch = epoch;
        s.device = device;
        self.pending.store(0, Ordering::SeqCst);
        self.isr.store(0, Ordering::SeqCst);
        if let Some(d) = device {
            d.reset();
        }
        self.irq.set(false);
    }

    fn host_features(&self, device: &dyn VirtioDevice) -> u64 {
        let mut f = device.features() | features::INDIRECT_DESC | features::EVENT_IDX;
        if self.legacy() {
            f |= features::NOTIFY_ON_EMPTY | features::ANY_LAYOUT;
        } else {
            f |= features::VERSION_1;
        }
        f
    }

    fn update_irq(&self, s: &State<'_>) {
        self.isr.store(s.isr, Ordering::SeqCst);
        self.irq.set(s.isr != 0);
    }

    /// Marks the device broken with `error` on `queue` (QEMU's `virtio_error`).
    fn fail(&self, s: &mut State<'_>, queue: usize, error: QueueError) {
        if !s.broken {
            s.broken = true;
            s.fault.get_or_insert(DeviceFault { queue, error });
            if !self.legacy() {
                s.status |= status::DEVICE_NEEDS_RESET;
                s.isr |= isr::CONFIG_CHANGE;
                self.update_irq(s);
            }
        }
    }

    /// Queues with notifications not yet served (bit q: queue q).
    pub fn pending(&self) -> u32 {
        self.pending.load(Ordering::SeqCst)
    }

    /// Serves at most one request of `queue` through `bus`: takes it from the available
    /// ring, has the device serve it, puts it on the used ring and raises the interrupt if
    /// the driver wants one. `Progress` when more may be waiting (the doorbell is rung
    /// again, so another worker can take the next request meanwhile), `Finished` after
    /// the last one, `Idle` when there was nothing to do.
    pub fn step(&self, bus: &dyn DmaBus, queue: usize) -> StepOutcome {
        self.step_after(bus, queue, || {})
    }

    /// For tests: [`VirtioMmio::step`], with `pause` run where a worker may be preempted
    /// before it takes the state lock (a test unplugs and plugs devices there).
    #[doc(hidden)]
    pub fn step_after(&self, bus: &dyn DmaBus, queue: usize, pause: impl FnOnce()) -> StepOutcome {
        if queue >= MAX_QUEUES {
            return StepOutcome::Idle;
        }
        let mem = GuestMem::new(bus, self.requester_id.load(Ordering::SeqCst) as u16);
        pause();
        // Take the device and one request under the lock: the device is the one the
        // queue belongs to (read before the lock, it could be a model unplugged meanwhile
        // and plugged elsewhere, serving another device's queue).
        let (device, chain, q, epoch, event_idx) = {
            let mut s = self.state.lock();
            self.pending.fetch_and(!(1 << queue), Ordering::SeqCst);
            let Some(device) = s.device else {
                return StepOutcome::Idle;
            };
            let q = s.queues[queue];
            if s.broken
                || s.status & status::DRIVER_OK == 0
                || !q.ready
                || queue >= device.queues()
                || !device.ready(queue)
            {
                return StepOutcome::Idle;
            }
            let event_idx = s.driver_features & features::EVENT_IDX != 0;
            let mut q = q;
            let head = match q.pop(&mem, event_idx) {
                Ok(Some(head)) => head,
                Ok(None) => {
                    s.queues[queue] = q;
                    return StepOutcome::Idle;
                }
                Err(e) => {
                    self.fail(&mut s, queue, e);
                    return StepOutcome::Finished;
                }
            };
            let chain = match q.walk(&mem, head) {
                Ok(chain) => chain,
                Err(e) => {
                    s.queues[queue] = q;
                    self.fail(&mut s, queue, e);
                    return StepOutcome::Finished;
                }
            };
            if !device.claim(queue, &chain) {
                // Not now: the head stays on the available ring (`q` is not stored).
                return StepOutcome::Idle;
            }
            s.queues[queue] = q;
            self.in_flight.fetch_add(1, Ordering::SeqCst);
            (device, chain, q, s.epoch, event_idx)
        };
        // More waiting? Let another worker take it while this one serves.
        let more = q.avail_idx(&mem).is_ok_and(|a| a != q.last_avail);
        if more {
            self.pending.fetch_or(1 << queue, Ordering::SeqCst);
            self.ring(queue);
        }
        let served = device.serve(queue, &chain, &mem);
        let mut s = self.state.lock();
        let outcome = match served {
            Err(RequestError::Queue(e)) => {
                if s.epoch == epoch {
                    self.fail(&mut s, queue, e);
                }
                StepOutcome::Finished
            }
            // The device wrote what it could (an I/O error status); the chain goes back.
            Ok(_) | Err(RequestError::Memory(_)) if s.epoch == epoch => {
                let len = served.unwrap_or(0);
                let mut q = s.queues[queue];
                match q.push(&mem, chain.head, len, event_idx) {
                    Ok(notify) => {
                        s.queues[queue] = q;
                        if notify {
                            s.isr |= isr::USED_BUFFER;
                            self.update_irq(&s);
                        }
                    }
                    Err(e) => self.fail(&mut s, queue, e),
                }
                if more {
                    StepOutcome::Progress
                } else {
                    StepOutcome::Finished
                }
            }
            // Reset meanwhile: the request is dropped with the old rings. (Not replugged:
            // neither a plug nor a release happens while a request is in flight.)
            _ => StepOutcome::Finished,
        };
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        outcome
    }

    /// Steps every pending queue once (the bare-metal loop's and [`Virt32::run`]'s call);
    /// returns whether any request was served.
    ///
    /// [`Virt32::run`]: crate::virt::Virt::run
    pub fn poll(&self, bus: &dyn DmaBus) -> bool {
        let mut any = false;
        for q in 0..MAX_QUEUES {
            if self.pending() & 1 << q != 0 {
                any |= self.step(bus, q) != StepOutcome::Idle;
            }
        }
        any
    }

    /// Marks `queue` pending and rings the doorbell, as a notification would: a back end
    /// calls it when input arrives for a queue whose buffers wait
    /// ([`VirtioDevice::ready`]).
    pub fn kick(&self, queue: usize) {
        if queue >= MAX_QUEUES {
            return;
        }
        self.pending.fetch_or(1 << queue, Ordering::SeqCst);
        self.ring(queue);
    }

    /// The device's configuration changed (a disk's capacity after a resize): once the
    /// driver is ready (`DRIVER_OK`), `ConfigGeneration` moves on and a
    /// configuration-change interrupt is raised, as QEMU's `virtio_notify_config` does
    /// (it sets both `InterruptStatus` bits); before that, nothing (the driver reads the
    /// configuration when it starts). Returns whether the driver was told.
    pub fn config_changed(&self) -> bool {
        let mut s = self.state.lock();
        if s.device.is_none() || s.status & status::DRIVER_OK == 0 {
            return false;
        }
        self.generation.fetch_add(1, Ordering::SeqCst);
        s.isr |= isr::USED_BUFFER | isr::CONFIG_CHANGE;
        self.update_irq(&s);
        true
    }

    /// Rings the doorbell for `queue`, with no lock of the slot held: the ring may wake a
    /// worker that preempts this thread at once (the OS favours a woken thread), and that
    /// worker's first act is to take the slot's locks.
    fn ring(&self, queue: usize) {
        let doorbell = *self.doorbell.lock();
        if let Some((bell, base)) = doorbell {
            bell.ring(base + queue);
        }
    }
}
