//! A multi-channel DMA engine (`fief,dma-1.0`): memory to memory, memory to device and
//! device to memory, driven by descriptor chains in guest memory (rules L8, L9).
//!
//! The device owns its register window and two interrupt outputs ([`DmaEngine::done_irq`],
//! [`DmaEngine::error_irq`], level-triggered, to PLIC sources). It does **no work in its
//! MMIO callbacks**: a `START` write only marks the channel busy and rings the
//! [`DmaDoorbell`]. The work runs in [`DmaEngine::step`] / [`DmaEngine::poll`], called by
//! whoever drives the engine: the main loop on bare metal, DMA worker threads on the host,
//! [`Virt::run`](crate::virt::Virt::run) between hart slices. The bus the engine
//! reaches is a [`DmaBus`]; [`LeaseBus`] is one over a [`Memory`](fief_core::memory::Memory) and a [`LeaseTable`](fief_core::memory::LeaseTable).
//!
//! Transfers run in chunks of at most [`DmaEngine::chunk_size`] bytes, **each chunk under
//! its own pair of leases** (source and destination), mapped, copied and unmapped before the
//! next chunk: a device unplugged mid-transfer is never reached through an old mapping (the
//! lease answers `Revoked`, rule L8), and the unplug completes when the chunk in flight
//! ends. Progress (`BYTES`, `CURRENT`) is visible in the registers after every chunk. An
//! abort takes effect between chunks. A chunk that fails (`Revoked`, `Unassigned`, a bus or
//! access error, bounce buffers `Busy` for [`BUSY_RETRIES`] attempts in a row) stops the
//! channel with `STATUS = ERROR`, an error code, the failing address, and the error
//! interrupt.
//!
//! Every bus access of the engine (descriptor fetches, leases, FIFO accesses) carries its
//! own requester id ([`DmaEngine::requester_id`]): a descriptor that points at the engine's
//! own registers gets an access error from the bus's re-entrancy guard (rule L9) and the
//! channel stops with [`ErrorCode::Access`].
//!
//! # Registers (32-bit, little-endian, 4-byte aligned accesses only)
//!
//! | offset | name | |
//! |--------|------|-|
//! | `0x000` | `ID` | RO `0x414d_4446` ("FDMA") |
//! | `0x004` | `CHANNELS` | RO number of channels |
//! | `0x008` | `INT_STATUS` | W1C: bit `c` channel `c` done, bit `16 + c` channel `c` error |
//! | `0x00c` | `INT_ENABLE` | same bits; `done_irq` = any enabled done bit, `error_irq` = any enabled error bit |
//! | `0x100 + 0x40 c` | `DESC` | address of the first descriptor (low 32 bits) |
//! | `+ 0x04` | `DESC_HI` | high 32 bits |
//! | `+ 0x08` | `CONTROL` | write `1` start (ignored while busy), `2` abort; reads 0 |
//! | `+ 0x0c` | `STATUS` | bits 0–3 state (0 idle, 1 busy, 2 done, 3 error, 4 aborted), bits 8–15 error code |
//! | `+ 0x10` | `BYTES` | bytes transferred since the start (whole chain) |
//! | `+ 0x14` | `CURRENT` | address of the descriptor in progress (low 32 bits) |
//! | `+ 0x18` | `ERR_ADDR` | the address that failed (low 32 bits) |
//!
//! # Descriptors (32 bytes, 8-byte aligned, little-endian)
//!
//! | offset | field |
//! |--------|-------|
//! | 0 | source address (u64) |
//! | 8 | destination address (u64) |
//! | 16 | next descriptor (u64; 0 ends the chain) |
//! | 24 | length in bytes (u32) |
//! | 28 | flags (u32): [`flags::IRQ`], [`flags::LAST`], [`flags::DST_FIXED`], [`flags::SRC_FIXED`] |

use fief_core::atomic::{AtomicBool, AtomicU32, Ordering};

use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, DmaDirection, DmaError, GuestAddress, MemTxAttrs, MemTxFlags,
    MemTxResult, MmioOps, RegionHandle, RegionOffset, SizeRule,
};

/// Size of the register window.
pub const DMA_SIZE: u64 = 0x1000;
/// The requester id the engine's bus accesses carry unless configured otherwise.
pub const DMA_REQUESTER_ID: u16 = 0x100;
/// Bytes per chunk (per lease pair) unless configured otherwise: large enough that the
/// per-chunk cost (two leases mapped and unmapped, about 0.25 µs on the host) is small
/// against the copy, small enough that an abort or an unplug waits at most one chunk
/// (about 6 µs on the host). A slow bare-metal target may want less ([`DmaEngine::with_config`]).
pub const DEFAULT_CHUNK: u32 = 64 << 10;
/// Bytes a descriptor takes.
pub const DESCRIPTOR_SIZE: usize = 32;
/// `ID` register value ("FDMA").
pub const DMA_ID: u32 = 0x414d_4446;
/// Consecutive `Busy` answers (no bounce buffer) after which a channel gives up.
pub const BUSY_RETRIES: u32 = 1024;
/// Most bytes one chunk moves through a fixed (FIFO) address, one byte access each.
const FIXED_CHUNK: usize = 64;

mod bus;
mod registers;

pub use bus::{DmaBus, LeaseBus};
pub use registers::{control, flags, reg, state, ErrorCode};

/// Told when a channel has work (a `START` or an `ABORT`): the host wakes a worker; bare
/// metal needs none (its main loop polls).
pub trait DmaDoorbell: Sync {
    /// Channel `channel` wants [`DmaEngine::step`].
    fn ring(&self, channel: usize);
}

/// A channel's registers and progress.
#[derive(Clone, Copy, Debug, Default)]
struct Work {
    state: u8,
    error: u8,
    /// `DESC` / `DESC_HI`.
    desc: u64,
    /// The descriptor in progress.
    current: u64,
    loaded: bool,
    src: u64,
    dst: u64,
    next: u64,
    len: u64,
    flags: u32,
    done_in_desc: u64,
    bytes: u32,
    error_addr: u64,
    busy_tries: u32,
    /// The descriptor just completed asks for the done interrupt.
    irq_due: bool,
    /// The regions the previous chunk of this descriptor read from and wrote to: a chunk
    /// that lands in another region while the previous one was destroyed means the memory
    /// was unplugged and something else was mapped at its address; the channel stops
    /// (`Revoked`) rather than write into it.
    last_regions: (Option<RegionHandle>, Option<RegionHandle>),
}

struct Channel {
    work: fief_core::lock::Mutex<Work>,
    /// `STATUS` and `BYTES`, mirrored from `work` on every change, so that a guest (or a
    /// host thread) polling them does not fight the stepper for the lock.
    status: AtomicU32,
    bytes: AtomicU32,
    /// A stepper owns the channel's progress.
    stepping: AtomicBool,
    abort: AtomicBool,
}

impl Channel {
    /// Publishes `STATUS` and `BYTES` of `w` (called with the work lock held).
    fn mirror(&self, w: &Work) {
        self.bytes.store(w.bytes, Ordering::SeqCst);
        self.status
            .store(w.state as u32 | (w.error as u32) << 8, Ordering::SeqCst);
    }
}

/// What a call to [`DmaEngine::step`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepOutcome {
    /// The channel is not busy: nothing to do.
    Idle,
    /// Chunks were moved and the channel is still busy: call again.
    Progress,
    /// The channel finished (done, error or aborted) in this call.
    Finished,
    /// Another stepper is working on the channel; it will finish the work.
    Contended,
    /// No bounce buffer was free: retry later (the channel stays busy).
    Blocked,
}

/// One step of work of a channel.
enum Unit {
    /// Progress was made (a descriptor fetched or a chunk moved).
    Moved,
    /// The channel stopped (state set).
    Stopped,
    /// Bounce buffers busy; nothing changed.
    Blocked,
}

/// The DMA engine (see the [module docs](self)), with `C` channels (at most 16).
pub struct DmaEngine<'a, const C: usize> {
    channels: [Channel; C],
    int_status: AtomicU32,
    int_enable: AtomicU32,
    /// Completion interrupt output.
    pub done_irq: IrqLine<'a>,
    /// Error interrupt output.
    pub error_irq: IrqLine<'a>,
    doorbell: fief_core::lock::Mutex<Option<&'a dyn DmaDoorbell>>,
    requester_id: u16,
    chunk: u32,
}

impl<const C: usize> Default for DmaEngine<'_, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const C: usize> DmaEngine<'a, C> {
    /// An idle engine with requester id [`DMA_REQUESTER_ID`] and [`DEFAULT_CHUNK`]-byte
    /// chunks. `const`.
    pub const fn new() -> Self {
        Self::with_config(DMA_REQUESTER_ID, DEFAULT_CHUNK)
    }

    /// An idle engine with its own requester id and chunk size (at least 1 byte).
    pub const fn with_config(requester_id: u16, chunk: u32) -> Self {
        assert!(C > 0 && C <= 16, "1 to 16 channels");
        DmaEngine {
            channels: [const {
                Channel {
                    work: fief_core::lock::Mutex::new(Work {
                        state: state::IDLE,
                        error: 0,
                        desc: 0,
                        current: 0,
                        loaded: false,
                        src: 0,
                        dst: 0,
                        next: 0,
                        len: 0,
                        flags: 0,
                        done_in_desc: 0,
                        bytes: 0,
                        error_addr: 0,
                        busy_tries: 0,
                        irq_due: false,
                        last_regions: (None, None),
                    }),
                    status: AtomicU32::new(0),
                    bytes: AtomicU32::new(0),
                    stepping: AtomicBool::new(false),
                    abort: AtomicBool::new(false),
                }
            }; C],
            int_status: AtomicU32::new(0),
            int_enable: AtomicU32::new(0),
            done_irq: IrqLine::new(),
            error_irq: IrqLine::new(),
            doorbell: fief_core::lock::Mutex::new(None),
            requester_id,
            chunk: if chunk == 0 { 1 } else { chunk },
        }
    }

    /// Where `START` and `ABORT` are announced.
    pub fn set_doorbell(&self, doorbell: &'a dyn DmaDoorbell) {
        *self.doorbell.lock() = Some(doorbell);
    }

    /// The requester id of the engine's bus accesses.
    pub fn requester_id(&self) -> u16 {
        self.requester_id
    }

    /// Bytes per chunk.
    pub fn chunk_size(&self) -> u32 {
        self.chunk
    }

    /// Number of channels.
    pub const fn channels(&self) -> usize {
        C
    }

    /// Bit `c` set: channel `c` is busy.
    pub fn busy_mask(&self) -> u32 {
        let mut mask = 0;
        for (c, ch) in self.channels.iter().enumerate() {
            if ch.status.load(Ordering::SeqCst) & 0xf == state::BUSY as u32 {
                mask |= 1 << c;
            }
        }
        mask
    }

    /// Channel `c`'s `STATUS` register.
    pub fn status(&self, c: usize) -> u32 {
        self.channels
            .get(c)
            .map_or(0, |ch| ch.status.load(Ordering::SeqCst))
    }

    /// Channel `c`'s `BYTES` register.
    pub fn bytes(&self, c: usize) -> u32 {
        self.channels
            .get(c)
            .map_or(0, |ch| ch.bytes.load(Ordering::SeqCst))
    }

    /// Programs and starts channel `c` as a guest would (`DESC`, then `CONTROL = START`).
    pub fn start(&self, c: usize, desc: u64) {
        if let Some(ch) = self.channels.get(c) {
            ch.work.lock().desc = desc;
        }
        self.control(c, control::START);
    }

    /// Machine reset: every channel back to idle with its registers zero, the interrupt
    /// status and enables cleared, both outputs lowered. A stepper still at work on a
    /// channel is waited for; abort the channels and let their steppers see it first
    /// (`Virt32::reset` does), or a transfer in progress is cut off mid-chunk.
    pub fn reset(&self) {
        for ch in &self.channels {
            while ch.stepping.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
            let mut w = ch.work.lock();
            *w = Work::default();
            ch.abort.store(false, Ordering::SeqCst);
            ch.mirror(&w);
        }
        self.int_status.store(0, Ordering::SeqCst);
        self.int_enable.store(0, Ordering::SeqCst);
        self.update_irqs();
    }

    /// Asks channel `c` to abort between chunks, as a guest would.
    pub fn abort(&self, c: usize) {
        self.control(c, control::ABORT);
    }

    fn attrs(&self) -> MemTxAttrs {
        MemTxAttrs {
            flags: MemTxFlags::empty(),
            requester_id: self.requester_id,
        }
    }

    fn ring(&self, c: usize) {
        let bell = *self.doorbell.lock();
        if let Some(bell) = bell {
            bell.ring(c);
        }
    }

    fn update_irqs(&self) {
        let pending =
            self.int_status.load(Ordering::SeqCst) & self.int_enable.load(Ordering::SeqCst);
        self.done_irq.set(pending & 0xffff != 0);
        self.error_irq.set(pending & 0xffff_0000 != 0);
    }

    fn signal(&self, bit: u32) {
        self.int_status.fetch_or(1 << bit, Ordering::SeqCst);
        self.update_irqs();
    }

    fn control(&self, c: usize, value: u32) {
        let Some(ch) = self.channels.get(c) else {
            return;
        };
        if value & control::START != 0 {
            let mut w = ch.work.lock();
            if w.state == state::BUSY {
                return; // ignored while busy
            }
            ch.abort.store(false, Ordering::SeqCst);
            let desc = w.desc;
            *w = Work {
                state: state::BUSY,
                desc,
                current: desc,
                ..Work::default()
            };
            ch.mirror(&w);
            drop(w);
            self.ring(c);
        } else if value & control::ABORT != 0 && ch.work.lock().state == state::BUSY {
            ch.abort.store(true, Ordering::SeqCst);
            self.ring(c);
        }
    }

    /// Steps every channel once with up to `max_chunks` chunks each (the bare-metal main
    /// loop's call). Returns the mask of channels still busy.
    pub fn poll<B: DmaBus + ?Sized>(&self, bus: &B, max_chunks: usize) -> u32 {
        let mut busy = 0;
        for c in 0..C {
            if matches!(
                self.step(bus, c, max_chunks),
                StepOutcome::Progress | StepOutcome::Blocked | StepOutcome::Contended
            ) {
                busy |= 1 << c;
            }
        }
        busy
    }

    /// Runs channel `c` for up to `max_chunks` units of work (a chunk, or a descriptor
    /// fetch). Safe to call from several threads: one stepper works on a channel at a time.
    pub fn step<B: DmaBus + ?Sized>(&self, bus: &B, c: usize, max_chunks: usize) -> StepOutcome {
        let Some(ch) = self.channels.get(c) else {
            return StepOutcome::Idle;
        };
        let mut units = 0;
        let mut finished = false;
        loop {
            if ch.stepping.swap(true, Ordering::SeqCst) {
                return if units > 0 {
                    StepOutcome::Progress
                } else {
                    StepOutcome::Contended
                };
            }
            let mut blocked = false;
            while units < max_chunks.max(1) {
                let mut w = *ch.work.lock();
                if w.state != state::BUSY {
                    break;
                }
                let unit = if ch.abort.swap(false, Ordering::SeqCst) {
                    w.state = state::ABORTED;
                    Unit::Stopped
                } else {
                    self.advance(bus, &mut w)
                };
                let irq_due = core::mem::take(&mut w.irq_due);
                {
                    // The stepper owns everything but `desc` while the channel is busy.
                    let mut g = ch.work.lock();
                    *g = Work { desc: g.desc, ..w };
                    ch.mirror(&g);
                }
                // Interrupts only once the registers say why.
                if irq_due {
                    self.signal(c as u32);
                }
                match unit {
                    Unit::Moved => units += 1,
                    Unit::Stopped => {
                        finished = true;
                        if w.state == state::ERROR {
                            self.signal(16 + c as u32);
                        }
                        break;
                    }
                    Unit::Blocked => {
                        blocked = true;
                        break;
                    }
                }
            }
            ch.stepping.store(false, Ordering::SeqCst);
            // A START that came while this stepper was finishing found `stepping` set:
            // look again now that it is released.
            let busy = ch.work.lock().state == state::BUSY;
            if !busy {
                return if finished {
                    StepOutcome::Finished
                } else {
                    StepOutcome::Idle
                };
            }
            if blocked {
                return StepOutcome::Blocked;
            }
            if units >= max_chunks.max(1) {
                return StepOutcome::Progress;
            }
        }
    }

    fn fail(w: &mut Work, code: ErrorCode, addr: u64) -> Unit {
        w.state = state::ERROR;
        w.error = code as u8;
        w.error_addr = addr;
        Unit::Stopped
    }

    /// One unit of work on a busy channel's progress `w`.
    fn advance<B: DmaBus + ?Sized>(&self, bus: &B, w: &mut Work) -> Unit {
        let attrs = self.attrs();
        if !w.loaded {
            let mut d = [0u8; DESCRIPTOR_SIZE];
            let r = bus.read_buf(GuestAddress(w.current), &mut d, attrs);
            if !r.is_ok() {
                return Self::fail(w, ErrorCode::DescriptorFetch, w.current);
            }
            let u64_at = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&d[i..i + 8]);
                u64::from_le_bytes(b)
            };
            let u32_at = |i: usize| {
                let mut b = [0u8; 4];
                b.copy_from_slice(&d[i..i + 4]);
                u32::from_le_bytes(b)
            };
            w.src = u64_at(0);
            w.dst = u64_at(8);
            w.next = u64_at(16);
            w.len = u32_at(24) as u64;
            w.flags = u32_at(28);
            w.done_in_desc = 0;
            w.loaded = true;
            w.last_regions = (None, None);
            return Unit::Moved;
        }
        if w.done_in_desc >= w.len {
            w.irq_due = w.flags & flags::IRQ != 0;
            if w.flags & flags::LAST != 0 || w.next == 0 {
                w.state = state::DONE;
                return Unit::Stopped;
            }
            w.current = w.next;
            w.loaded = false;
            return Unit::Moved;
        }
        let left = w.len - w.done_in_desc;
        let src = if w.flags & flags::SRC_FIXED != 0 {
            w.src
        } else {
            w.src.wrapping_add(w.done_in_desc)
        };
        let dst = if w.flags & flags::DST_FIXED != 0 {
            w.dst
        } else {
            w.dst.wrapping_add(w.done_in_desc)
        };
        let moved = if w.flags & (flags::SRC_FIXED | flags::DST_FIXED) != 0 {
            self.fifo_chunk(bus, w, src, dst, left)
        } else {
            self.lease_chunk(
                bus,
                src,
                dst,
                left.min(self.chunk as u64),
                &mut w.last_regions,
            )
        };
        match moved {
            Ok(n) => {
                w.busy_tries = 0;
                w.done_in_desc += n;
                w.bytes = w.bytes.wrapping_add(n as u32);
                Unit::Moved
            }
            Err((DmaError::Busy, _)) if w.busy_tries < BUSY_RETRIES => {
                w.busy_tries += 1;
                Unit::Blocked
            }
            Err((e, addr)) => {
                let addr = match e {
                    DmaError::Unassigned { addr } => addr.0,
                    _ => addr,
                };
                Self::fail(w, ErrorCode::of(e), addr)
            }
        }
    }

    /// One chunk between two leases; returns the bytes moved, or the error and the address
    /// it concerns.
    fn lease_chunk<B: DmaBus + ?Sized>(
        &self,
        bus: &B,
        src: u64,
        dst: u64,
        len: u64,
        last_regions: &mut (Option<RegionHandle>, Option<RegionHandle>),
    ) -> Result<u64, (DmaError, u64)> {
        let attrs = self.attrs();
        let from = bus
            .map(GuestAddress(src), len, DmaDirection::ToDevice, attrs)
            .map_err(|e| (e, src))?;
        let to = match bus.map(GuestAddress(dst), from.len, DmaDirection::FromDevice, attrs) {
            Ok(to) => to,
            Err(e) => {
                let _ = bus.unmap(from.handle, 0);
                return Err((e, dst));
            }
        };
        // Crossing into another region is normal (adjacent RAM banks) unless the region the
        // previous chunk used is gone: then the transfer's memory was unplugged mid-way.
        let replaced = |last: Option<RegionHandle>, now: Option<RegionHandle>| {
            last.is_some_and(|last| now != Some(last) && !bus.region_is_live(last))
        };
        let (last_src, last_dst) = *last_regions;
        if replaced(last_src, from.region) || replaced(last_dst, to.region) {
            let _ = bus.unmap(from.handle, 0);
            let _ = bus.unmap(to.handle, 0);
            let addr = if replaced(last_dst, to.region) {
                dst
            } else {
                src
            };
            return Err((DmaError::Revoked, addr));
        }
        *last_regions = (from.region, to.region);
        let n = from.len.min(to.len);
        let copied = bus.copy(from.handle, to.handle, n as usize);
        let src_end = bus.unmap(from.handle, 0);
        let done = if copied.is_ok() { n } else { 0 };
        let dst_end = bus.unmap(to.handle, done);
        copied.map_err(|e| (e, dst))?;
        src_end.map_err(|e| (e, src))?;
        dst_end.map_err(|e| (e, dst))?;
        Ok(n)
    }

    /// One chunk with a fixed (FIFO) side: the other side is leased, the FIFO takes one
    /// byte access per byte.
    fn fifo_chunk<B: DmaBus + ?Sized>(
        &self,
        bus: &B,
        w: &Work,
        src: u64,
        dst: u64,
        left: u64,
    ) -> Result<u64, (DmaError, u64)> {
        let attrs = self.attrs();
        let mut buf = [0u8; FIXED_CHUNK];
        let n = left.min(FIXED_CHUNK as u64) as usize;
        let src_fixed = w.flags & flags::SRC_FIXED != 0;
        let dst_fixed = w.flags & flags::DST_FIXED != 0;
        // Gather.
        let n = if src_fixed {
            for b in buf[..n].iter_mut() {
                let (v, r) = bus.read(GuestAddress(src), AccessSize::Byte, attrs);
                if !r.is_ok() {
                    return Err((DmaError::Bus(r), src));
                }
                *b = v as u8;
            }
            n
        } else {
            let from = bus
                .map(GuestAddress(src), n as u64, DmaDirection::ToDevice, attrs)
                .map_err(|e| (e, src))?;
            let m = from.len as usize;
            let r = bus.read_lease(from.handle, &mut buf[..m]);
            let end = bus.unmap(from.handle, 0);
            r.map_err(|e| (e, src))?;
            end.map_err(|e| (e, src))?;
            m
        };
        // Scatter.
        if dst_fixed {
            for &b in &buf[..n] {
                let r = bus.write(GuestAddress(dst), AccessSize::Byte, b as u64, attrs);
                if !r.is_ok() {
                    return Err((DmaError::Bus(r), dst));
                }
            }
            Ok(n as u64)
        } else {
            let to = bus
                .map(GuestAddress(dst), n as u64, DmaDirection::FromDevice, attrs)
                .map_err(|e| (e, dst))?;
            let m = to.len as usize;
            let r = bus.write_lease(to.handle, &buf[..m]);
            let done = if r.is_ok() { m as u64 } else { 0 };
            let end = bus.unmap(to.handle, done);
            r.map_err(|e| (e, dst))?;
            end.map_err(|e| (e, dst))?;
            // Bytes read from the FIFO beyond `m` are lost, as on hardware with a short
            // destination; `m < n` only at the end of a region.
            Ok(m as u64)
        }
    }

    fn channel_read(&self, c: usize, off: u64) -> u32 {
        let w = *self.channels[c].work.lock();
        match off {
            reg::DESC => w.desc as u32,
            reg::DESC_HI => (w.desc >> 32) as u32,
            reg::STATUS => self.channels[c].status.load(Ordering::SeqCst),
            reg::BYTES => self.channels[c].bytes.load(Ordering::SeqCst),
            reg::CURRENT => w.current as u32,
            reg::ERR_ADDR => w.error_addr as u32,
            _ => 0,
        }
    }

    fn channel_write(&self, c: usize, off: u64, v: u32) {
        match off {
            reg::DESC | reg::DESC_HI => {
                let mut w = self.channels[c].work.lock();
                w.desc = if off == reg::DESC {
                    (w.desc & !0xffff_ffff) | v as u64
                } else {
                    (w.desc & 0xffff_ffff) | (v as u64) << 32
                };
            }
            reg::CONTROL => self.control(c, v),
            _ => {}
        }
    }

    fn channel_of(offset: u64) -> Option<(usize, u64)> {
        let rel = offset.checked_sub(reg::CHANNEL_BASE)?;
        let c = (rel / reg::CHANNEL_STRIDE) as usize;
        (c < C).then_some((c, rel % reg::CHANNEL_STRIDE))
    }
}

impl<const C: usize> MmioOps for DmaEngine<'_, C> {
    fn read(&self, offset: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let v = match offset.0 {
            reg::ID => DMA_ID,
            reg::CHANNELS => C as u32,
            reg::INT_STATUS => self.int_status.load(Ordering::SeqCst),
            reg::INT_ENABLE => self.int_enable.load(Ordering::SeqCst),
            o => match Self::channel_of(o) {
                Some((c, off)) => self.channel_read(c, off),
                None => 0,
            },
        };
        (v as u64, MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let v = value as u32;
        match offset.0 {
            reg::INT_STATUS => {
                self.int_status.fetch_and(!v, Ordering::SeqCst);
                self.update_irqs();
            }
            reg::INT_ENABLE => {
                self.int_enable.store(v, Ordering::SeqCst);
                self.update_irqs();
            }
            o => {
                if let Some((c, off)) = Self::channel_of(o) {
                    self.channel_write(c, off, v);
                }
            }
        }
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(4, 4),
            implemented: SizeRule::aligned(4, 4),
            ..AccessRules::DEFAULT
        }
    }

    fn requester_id(&self) -> Option<u16> {
        Some(self.requester_id)
    }
}
