//! The virtio-mmio transport and its devices as a hostile driver sees them, on a `virt32`
//! board: slot 0 a writable virtio-blk (modern layout), slot 1 a read-only virtio-blk
//! (legacy), slot 2 virtio-rng (modern), slot 3 virtio-console (legacy), slot 4 empty.
//! The input is a sequence of 8-byte operations: raw register reads and writes, a whole
//! driver initialisation (features, queue size, ring addresses) so that the fuzzer reaches
//! the queues quickly, descriptor and avail-ring writes with arbitrary lengths, flags and
//! `next` links (loops, out-of-RAM addresses, indirect tables), notifications, device
//! steps, and raw RAM writes.
//!
//! Invariants: no host panic; a register read that succeeds fits its size; no request is
//! left in flight once a step returns; the read-only disk is never changed and neither disk
//! changes size; and after `Virt32::reset` every slot is back to status 0, not broken, with
//! its magic, version and device ID unchanged.
#![no_main]

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, OnceLock};

use fief_boards::virt32::{Virt32, Virt32Devices};
use fief_boards::virtio::blk::{BackendError, BlockBackend, VirtioBlk};
use fief_boards::virtio::console::{ConsoleBackend, VirtioConsole};
use fief_boards::virtio::mmio::reg;
use fief_boards::virtio::rng::{EntropySource, VirtioRng};
use fief_boards::virtio::{status, Transport, VirtioDevice};
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, RamBlock};
use libfuzzer_sys::fuzz_target;

const SLOT_BASE: u64 = 0x1000_1000;
const SLOT_SIZE: u64 = 0x1000;
/// Slots the input addresses: the four devices and one empty slot.
const SLOTS: usize = 5;
const RAM: u64 = 0x8000_0000;
const RAM_SIZE: u64 = 1 << 20;
/// Where the data buffers go (the input picks one of 256 places of 256 bytes).
const BUFFERS: u64 = RAM + 0x8_0000;
/// Queue size the driver initialisation asks for (unless the input asks for another).
const NUM: u64 = 8;

/// A disk in memory.
struct MemDisk {
    bytes: Mutex<Vec<u8>>,
    read_only: bool,
}

impl MemDisk {
    fn new(sectors: usize, read_only: bool) -> MemDisk {
        MemDisk {
            bytes: Mutex::new((0..sectors * 512).map(|i| (i * 7 / 512) as u8).collect()),
            read_only,
        }
    }

    fn snapshot(&self) -> Vec<u8> {
        self.bytes.lock().expect("disk lock").clone()
    }
}

impl BlockBackend for MemDisk {
    fn capacity(&self) -> u64 {
        self.bytes.lock().expect("disk lock").len() as u64
    }
    fn read_only(&self) -> bool {
        self.read_only
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BackendError> {
        let b = self.bytes.lock().expect("disk lock");
        let o = usize::try_from(offset).map_err(|_| BackendError)?;
        let end = o.checked_add(buf.len()).ok_or(BackendError)?;
        buf.copy_from_slice(b.get(o..end).ok_or(BackendError)?);
        Ok(())
    }
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), BackendError> {
        // The device must refuse writes to a read-only disk before they get here.
        assert!(!self.read_only, "a write reached the read-only disk");
        let mut b = self.bytes.lock().expect("disk lock");
        let o = usize::try_from(offset).map_err(|_| BackendError)?;
        let end = o.checked_add(data.len()).ok_or(BackendError)?;
        b.get_mut(o..end).ok_or(BackendError)?.copy_from_slice(data);
        Ok(())
    }
    fn flush(&self) -> Result<(), BackendError> {
        Ok(())
    }
    fn zero(&self, offset: u64, len: u64) -> Result<(), BackendError> {
        assert!(!self.read_only, "a write-zeroes reached the read-only disk");
        let mut b = self.bytes.lock().expect("disk lock");
        let o = usize::try_from(offset).map_err(|_| BackendError)?;
        let n = usize::try_from(len).map_err(|_| BackendError)?;
        let end = o.checked_add(n).ok_or(BackendError)?;
        b.get_mut(o..end).ok_or(BackendError)?.fill(0);
        Ok(())
    }
}

/// Entropy that counts up.
struct Counter(AtomicU8);

impl EntropySource for Counter {
    fn fill(&self, buf: &mut [u8]) -> bool {
        for b in buf {
            *b = self.0.fetch_add(1, Ordering::Relaxed);
        }
        true
    }
}

/// A console that drops output and always has a little input.
struct Console;

impl ConsoleBackend for Console {
    fn write(&self, _data: &[u8]) {}
    fn has_input(&self) -> bool {
        true
    }
    fn read(&self, buf: &mut [u8]) -> usize {
        let n = buf.len().min(3);
        buf[..n].copy_from_slice(&b"abc"[..n]);
        n
    }
}

struct World {
    parts: &'static Virt32Devices<'static>,
    board: &'static Virt32<'static>,
    disk: &'static MemDisk,
    ro_disk: &'static MemDisk,
    ro_bytes: Vec<u8>,
    /// `(magic, version, device ID)` of each slot on the fresh board.
    ids: Vec<[u32; 3]>,
}

fn leak<T>(v: T) -> &'static T {
    Box::leak(Box::new(v))
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let parts: &'static Virt32Devices<'static> = leak(Virt32Devices::new());
        let disk = leak(MemDisk::new(64, false));
        let ro_disk = leak(MemDisk::new(16, true));
        let devices: [(&'static dyn VirtioDevice, Transport); 4] = [
            (leak(VirtioBlk::new(disk, "disk")), Transport::Modern),
            (leak(VirtioBlk::new(ro_disk, "ro")), Transport::Legacy),
            (
                leak(VirtioRng::new(leak(Counter(AtomicU8::new(0))))),
                Transport::Modern,
            ),
            (leak(VirtioConsole::new(leak(Console))), Transport::Legacy),
        ];
        for (slot, (device, transport)) in devices.into_iter().enumerate() {
            parts.virtio[slot].set_transport(transport);
            assert!(parts.virtio[slot].plug(device), "slot {slot} plugs");
        }
        let ram = RamBlock::new(Box::leak(vec![0u8; RAM_SIZE as usize].into_boxed_slice()));
        let board: &'static Virt32<'static> = leak(Virt32::build(parts, ram, 1).expect("board"));
        let ids = (0..SLOTS).map(|s| read_ids(board, s)).collect();
        World {
            parts,
            board,
            disk,
            ro_disk,
            ro_bytes: ro_disk.snapshot(),
            ids,
        }
    })
}

fn slot_addr(slot: usize, offset: u64) -> GuestAddress {
    GuestAddress(SLOT_BASE + slot as u64 * SLOT_SIZE + offset)
}

fn write32(board: &Virt32<'static>, addr: GuestAddress, value: u32) {
    let _ = board.space().write(
        addr,
        AccessSize::Word,
        value.into(),
        MemTxAttrs::UNSPECIFIED,
    );
}

fn read32(board: &Virt32<'static>, addr: GuestAddress) -> u32 {
    let (v, _) = board
        .space()
        .read(addr, AccessSize::Word, MemTxAttrs::UNSPECIFIED);
    v as u32
}

fn write_reg(board: &Virt32<'static>, slot: usize, r: u64, value: u32) {
    write32(board, slot_addr(slot, r), value);
}

fn read_ids(board: &Virt32<'static>, slot: usize) -> [u32; 3] {
    [reg::MAGIC, reg::VERSION, reg::DEVICE_ID].map(|r| read32(board, slot_addr(slot, r)))
}

/// Where queue `queue` of `slot` keeps its descriptor table, avail ring and used ring
/// (legacy: one block from `QueuePFN` with the used ring at the next 4 KiB boundary).
fn rings(slot: usize, queue: usize) -> (u64, u64, u64) {
    let desc = RAM + 0x1_0000 * (slot as u64 + 1) + 0x4000 * queue as u64;
    let avail = desc + 16 * NUM;
    let used = (avail + 6 + 2 * NUM + 0xfff) & !0xfff;
    (desc, avail, used)
}

/// A driver's whole initialisation of `slot`'s `queue`: reset, ACKNOWLEDGE | DRIVER, the
/// features the device offers masked by `mask`, FEATURES_OK, the queue (size `num`), and
/// DRIVER_OK; or (`queue_only`) the queue alone, for a device's second queue. The
/// transport (legacy or modern) is the slot's; both register sets are written, as a
/// confused driver would.
fn initialise(
    board: &Virt32<'static>,
    slot: usize,
    queue: usize,
    num: u32,
    mask: u32,
    queue_only: bool,
) {
    let (desc, avail, used) = rings(slot, queue);
    if queue_only {
        set_up_queue(board, slot, queue, num, (desc, avail, used));
        return;
    }
    write_reg(board, slot, reg::STATUS, 0);
    write_reg(
        board,
        slot,
        reg::STATUS,
        status::ACKNOWLEDGE | status::DRIVER,
    );
    for sel in 0..2 {
        write_reg(board, slot, reg::DEVICE_FEATURES_SEL, sel);
        let offered = read32(board, slot_addr(slot, reg::DEVICE_FEATURES));
        write_reg(board, slot, reg::DRIVER_FEATURES_SEL, sel);
        let mask = if sel == 0 { mask } else { mask.rotate_left(16) };
        write_reg(board, slot, reg::DRIVER_FEATURES, offered & mask);
    }
    write_reg(
        board,
        slot,
        reg::STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK,
    );
    set_up_queue(board, slot, queue, num, (desc, avail, used));
    write_reg(
        board,
        slot,
        reg::STATUS,
        status::ACKNOWLEDGE | status::DRIVER | status::FEATURES_OK | status::DRIVER_OK,
    );
}

/// Queue `queue` of `slot` with `num` entries at `rings`, in both layouts' registers.
fn set_up_queue(
    board: &Virt32<'static>,
    slot: usize,
    queue: usize,
    num: u32,
    (desc, avail, used): (u64, u64, u64),
) {
    write_reg(board, slot, reg::GUEST_PAGE_SIZE, 0x1000);
    write_reg(board, slot, reg::QUEUE_SEL, queue as u32);
    write_reg(board, slot, reg::QUEUE_NUM, num);
    write_reg(board, slot, reg::QUEUE_ALIGN, 0x1000);
    write_reg(board, slot, reg::QUEUE_PFN, (desc >> 12) as u32);
    for (low, addr) in [
        (reg::QUEUE_DESC_LOW, desc),
        (reg::QUEUE_DRIVER_LOW, avail),
        (reg::QUEUE_DEVICE_LOW, used),
    ] {
        write_reg(board, slot, low, addr as u32);
        write_reg(board, slot, low + 4, (addr >> 32) as u32);
    }
    write_reg(board, slot, reg::QUEUE_READY, 1);
}

fn ram_write(board: &Virt32<'static>, addr: u64, bytes: &[u8]) {
    let _ = board
        .space()
        .write_buf(GuestAddress(addr), bytes, MemTxAttrs::UNSPECIFIED);
}

fn ram_read_u16(board: &Virt32<'static>, addr: u64) -> u16 {
    let (v, _) = board.space().read(
        GuestAddress(addr),
        AccessSize::Half,
        MemTxAttrs::UNSPECIFIED,
    );
    v as u16
}

/// Steps `slot`'s `queue` a few times and checks nothing is left half-served.
fn step(w: &World, slot: usize, queue: usize, times: usize) {
    for _ in 0..times {
        let _ = w.board.virtio_step(slot, queue);
    }
    for (s, v) in w.parts.virtio.iter().enumerate().take(SLOTS) {
        assert_eq!(v.in_flight(), 0, "slot {s}: a request left in flight");
    }
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let board = w.board;
    for op in data.chunks_exact(8) {
        let slot = (op[1] & 0xf) as usize % SLOTS;
        let queue = (op[1] >> 4) as usize % 2;
        let word = u32::from_le_bytes([op[4], op[5], op[6], op[7]]);
        match op[0] % 8 {
            // A raw register write, in the register block or the configuration.
            0 => {
                let offset = (op[2] as u64 * 4) % 0x100 + if op[3] & 1 != 0 { 0x100 } else { 0 };
                write_reg(board, slot, offset, word);
            }
            // A raw read of any size anywhere in the slot's first 512 bytes.
            1 => {
                let size = [
                    AccessSize::Byte,
                    AccessSize::Half,
                    AccessSize::Word,
                    AccessSize::Double,
                ][(op[3] & 3) as usize];
                let offset = u16::from_le_bytes([op[2], op[3] >> 2]) as u64 % 0x200;
                let (v, r) =
                    board
                        .space()
                        .read(slot_addr(slot, offset), size, MemTxAttrs::UNSPECIFIED);
                if r.is_ok() && size != AccessSize::Double {
                    assert_eq!(v >> (8 * size as u32), 0, "{size:?} read gave {v:#x}");
                }
            }
            // A whole driver initialisation, or a queue's alone; sometimes with a queue
            // size of the input's.
            2 => {
                let num = if op[3] & 1 != 0 {
                    u32::from(op[2])
                } else {
                    NUM as u32
                };
                initialise(board, slot, queue, num, word, op[3] & 2 != 0);
            }
            // A descriptor: buffer in the buffer area (or anywhere, or past RAM), any
            // length, flags and link.
            3 => {
                let (desc, _, _) = rings(slot, queue);
                let index = u64::from(op[2] % (NUM as u8 + 2));
                let addr = match op[3] >> 6 {
                    0 | 1 => BUFFERS + u64::from(op[3] & 0x3f) * 0x100,
                    2 => RAM + u64::from(word) % RAM_SIZE,
                    _ => u64::from(word) << 8,
                };
                let len = u32::from(u16::from_le_bytes([op[4], op[5]]))
                    << if op[3] & 0x20 != 0 { 8 } else { 0 };
                let flags = u16::from(op[6] & 7);
                let next = u16::from(op[7] % (NUM as u8 + 1));
                let mut d = [0u8; 16];
                d[..8].copy_from_slice(&addr.to_le_bytes());
                d[8..12].copy_from_slice(&len.to_le_bytes());
                d[12..14].copy_from_slice(&flags.to_le_bytes());
                d[14..].copy_from_slice(&next.to_le_bytes());
                ram_write(board, desc + 16 * index, &d);
            }
            // Offer a chain: the head in the avail ring, then the index moved on (by one,
            // or by the input's amount); `flags` and `used_event` from the input.
            4 => {
                let (_, avail, _) = rings(slot, queue);
                let idx = ram_read_u16(board, avail + 2);
                let head = u16::from(op[2] % (NUM as u8 + 1));
                ram_write(
                    board,
                    avail + 4 + 2 * u64::from(idx % NUM as u16),
                    &head.to_le_bytes(),
                );
                let by = if op[3] & 0x80 != 0 {
                    u16::from(op[3])
                } else {
                    1
                };
                ram_write(board, avail, &u16::from(op[4] & 1).to_le_bytes());
                ram_write(board, avail + 4 + 2 * NUM, &[op[5], op[6]]);
                ram_write(board, avail + 2, &idx.wrapping_add(by).to_le_bytes());
            }
            // Notify and step.
            5 => {
                write_reg(board, slot, reg::QUEUE_NOTIFY, queue as u32);
                step(w, slot, queue, usize::from(op[2] % 4) + 1);
            }
            // What the board's run loop does between slices.
            6 => {
                let _ = board.virtio_poll();
                step(w, slot, queue, 0);
            }
            // Raw RAM: the request headers and data in the buffer area, or anywhere.
            _ => {
                let at = if op[3] & 0x80 != 0 {
                    RAM + (u64::from(u16::from_le_bytes([op[2], op[3]])) * 16) % RAM_SIZE
                } else {
                    BUFFERS + u64::from(op[2]) * 0x100 + u64::from(op[3] & 0x7f) * 2
                };
                ram_write(board, at, &word.to_le_bytes());
            }
        }
    }
    assert_eq!(w.disk.capacity(), 64 * 512, "the disk changed size");
    assert_eq!(
        w.ro_disk.snapshot(),
        w.ro_bytes,
        "the read-only disk changed"
    );
    board.reset();
    for (slot, ids) in w.ids.iter().enumerate() {
        let v = &w.parts.virtio[slot];
        assert_eq!(v.status(), 0, "slot {slot}: status after a reset");
        assert!(!v.is_broken(), "slot {slot}: still broken after a reset");
        assert_eq!(
            &read_ids(board, slot),
            ids,
            "slot {slot}: identity after a reset"
        );
    }
});
