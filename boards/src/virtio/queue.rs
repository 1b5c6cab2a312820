//! Split virtqueues (virtio 1.2, section 2.7): the driver's descriptor table and available
//! ring, the device's used ring, indirect descriptors (`VIRTIO_F_INDIRECT_DESC`) and event
//! index (`VIRTIO_F_EVENT_IDX`), all reached through [`GuestMem`] (leases).
//!
//! A chain is walked into a bounded [`Chain`] of segments before the device sees it, and
//! everything a guest can get wrong is a [`QueueError`], never a panic: a head or `next`
//! index past the table, more descriptors than the table holds (a loop: the walk is
//! bounded by the queue size, or the indirect table's), a nested or misaligned indirect
//! table, zero-length buffers, a readable buffer after a writable one, more than
//! [`MAX_SEGMENTS`] buffers, a chain whose total length overflows 32 bits, and guest
//! addresses that no lease reaches.

use core::fmt;

use fief_core::memory::DmaError;

use super::guest::GuestMem;

/// Most buffers one chain may have (the device's `seg_max` plus header and status).
pub const MAX_SEGMENTS: usize = 128;
/// The largest queue a driver may set up (QEMU's `VIRTQUEUE_MAX_SIZE`).
pub const QUEUE_MAX: u16 = 1024;

/// Descriptor flags.
pub mod desc_flags {
    /// The chain continues at `next`.
    pub const NEXT: u16 = 1;
    /// The device writes this buffer.
    pub const WRITE: u16 = 2;
    /// The buffer is a table of descriptors.
    pub const INDIRECT: u16 = 4;
}

/// `avail.flags`: the driver wants no interrupt.
pub const AVAIL_NO_INTERRUPT: u16 = 1;

/// What a guest got wrong in a queue (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueueError {
    /// The queue's size is not a power of two from 1 to [`QUEUE_MAX`].
    BadSize(u32),
    /// A descriptor index past its table.
    IndexOutOfRange {
        /// The index.
        index: u32,
        /// The table's length.
        table: u32,
    },
    /// The chain has more descriptors than its table: a loop.
    Loop {
        /// Descriptors walked.
        walked: u32,
    },
    /// An indirect table inside an indirect table, or one whose length is not a non-zero
    /// multiple of 16 bytes.
    BadIndirect {
        /// Its length.
        len: u32,
    },
    /// A buffer of zero bytes.
    ZeroLength,
    /// A device-readable buffer after a device-writable one.
    ReadAfterWrite,
    /// More than [`MAX_SEGMENTS`] buffers.
    TooManySegments,
    /// The chain's total length does not fit 32 bits.
    Oversized,
    /// The chain does not have what the device needs (a header, a status byte).
    Malformed(&'static str),
    /// A ring or descriptor address no lease reaches.
    Memory {
        /// The address.
        addr: u64,
        /// What the lease said.
        error: DmaError,
    },
    /// A notification for a queue the driver never set up (or that does not exist).
    NotSetUp(u32),
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::BadSize(n) => {
                write!(
                    f,
                    "queue size {n} is not a power of two from 1 to {QUEUE_MAX}"
                )
            }
            QueueError::IndexOutOfRange { index, table } => {
                write!(f, "descriptor index {index} is past its table of {table}")
            }
            QueueError::Loop { walked } => {
                write!(f, "descriptor chain loops (more than {walked} descriptors)")
            }
            QueueError::BadIndirect { len } => {
                write!(f, "bad indirect descriptor table ({len} bytes, or nested)")
            }
            QueueError::ZeroLength => f.write_str("zero-length buffer in a descriptor chain"),
            QueueError::ReadAfterWrite => {
                f.write_str("device-readable buffer after a device-writable one")
            }
            QueueError::TooManySegments => {
                write!(f, "descriptor chain longer than {MAX_SEGMENTS} buffers")
            }
            QueueError::Oversized => f.write_str("descriptor chain longer than 4 GiB"),
            QueueError::Malformed(what) => write!(f, "malformed request: {what}"),
            QueueError::Memory { addr, error } => {
                write!(f, "guest address {addr:#x} unreachable: {error}")
            }
            QueueError::NotSetUp(q) => write!(f, "notification for queue {q}, never set up"),
        }
    }
}

/// One buffer of a chain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Segment {
    /// Guest address.
    pub addr: u64,
    /// Bytes.
    pub len: u32,
    /// The device writes it.
    pub write: bool,
}

/// A walked descriptor chain: its head and buffers, readable ones first.
#[derive(Clone, Copy)]
pub struct Chain {
    /// The head's index (what the used ring gets back).
    pub head: u16,
    segments: [Segment; MAX_SEGMENTS],
    count: usize,
    /// Bytes the device may read.
    pub readable: u32,
    /// Bytes the device may write.
    pub writable: u32,
}

impl Chain {
    fn new(head: u16) -> Chain {
        Chain {
            head,
            segments: [Segment::default(); MAX_SEGMENTS],
            count: 0,
            readable: 0,
            writable: 0,
        }
    }

    /// A chain of `readable` then `writable` bytes with no buffer behind them, for the
    /// devices' unit tests of what they decide from a chain's sizes alone.
    #[cfg(test)]
    pub(crate) fn sized(readable: u32, writable: u32) -> Chain {
        Chain {
            readable,
            writable,
            ..Chain::new(0)
        }
    }

    /// The buffers.
    pub fn segments(&self) -> &[Segment] {
        &self.segments[..self.count]
    }

    fn push(&mut self, s: Segment) -> Result<(), QueueError> {
        if s.len == 0 {
            return Err(QueueError::ZeroLength);
        }
        if !s.write && self.writable > 0 {
            return Err(QueueError::ReadAfterWrite);
        }
        if self.count == MAX_SEGMENTS {
            return Err(QueueError::TooManySegments);
        }
        let total = self.readable as u64 + self.writable as u64 + s.len as u64;
        if total > u32::MAX as u64 {
            return Err(QueueError::Oversized);
        }
        if s.write {
            self.writable += s.len;
        } else {
            self.readable += s.len;
        }
        self.segments[self.count] = s;
        self.count += 1;
        Ok(())
    }

    /// Reads readable bytes from offset `at` of the chain's readable part into `buf`.
    pub fn read(&self, mem: &GuestMem<'_>, at: u32, buf: &mut [u8]) -> Result<(), DmaError> {
        self.each(false, at, buf.len(), |addr, from, n| {
            mem.read(addr, &mut buf[from..from + n])
        })
    }

    /// Writes `data` at offset `at` of the chain's writable part.
    pub fn write(&self, mem: &GuestMem<'_>, at: u32, data: &[u8]) -> Result<(), DmaError> {
        self.each(true, at, data.len(), |addr, from, n| {
            mem.write(addr, &data[from..from + n])
        })
    }

    /// Calls `f(guest address, offset in the caller's buffer, bytes)` for the pieces of
    /// `[at, at + len)` of the readable (or writable) part.
    fn each(
        &self,
        write: bool,
        at: u32,
        len: usize,
        mut f: impl FnMut(u64, usize, usize) -> Result<(), DmaError>,
    ) -> Result<(), DmaError> {
        let mut skip = at as u64;
        let mut done = 0usize;
        for s in self.segments().iter().filter(|s| s.write == write) {
            if done == len {
                break;
            }
            if skip >= s.len as u64 {
                skip -= s.len as u64;
                continue;
            }
            let n = ((s.len as u64 - skip) as usize).min(len - done);
            f(s.addr + skip, done, n)?;
            done += n;
            skip = 0;
        }
        if done < len {
            return Err(DmaError::OutOfLease {
                len: if write { self.writable } else { self.readable } as u64,
            });
        }
        Ok(())
    }
}

/// One queue's driver-set configuration and device-side indices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Queue {
    /// `QueueNum`: the size the driver chose (0: not set up).
    pub num: u32,
    /// The queue is live (modern `QueueReady`, legacy: a non-zero `QueuePFN`).
    pub ready: bool,
    /// Descriptor table.
    pub desc: u64,
    /// Available ring.
    pub avail: u64,
    /// Used ring.
    pub used: u64,
    /// Legacy `QueueAlign`.
    pub align: u32,
    /// Legacy `QueuePFN`.
    pub pfn: u32,
    /// Next available-ring entry the device takes.
    pub last_avail: u16,
    /// Next used-ring index the device writes.
    pub used_idx: u16,
}

impl Queue {
    /// A queue before the driver touches it (legacy alignment 4096, as QEMU's default).
    pub const RESET: Queue = Queue {
        num: 0,
        ready: false,
        desc: 0,
        avail: 0,
        used: 0,
        align: 4096,
        pfn: 0,
        last_avail: 0,
        used_idx: 0,
    };

    /// Lays the rings out as the legacy interface does: the table at `addr`, the
    /// available ring after it, the used ring at the next `align` boundary.
    pub fn set_legacy_rings(&mut self, addr: u64) {
        let num = self.num as u64;
        self.desc = addr;
        self.avail = addr + 16 * num;
        let align = (self.align as u64).max(1);
        self.used = (self.avail + 6 + 2 * num).div_ceil(align) * align;
    }

    /// Checks the size before the queue is used.
    pub fn check(&self) -> Result<u16, QueueError> {
        if self.num == 0 || self.num > QUEUE_MAX as u32 || !self.num.is_power_of_two() {
            return Err(QueueError::BadSize(self.num));
        }
        Ok(self.num as u16)
    }

    /// The driver's available index.
    pub fn avail_idx(&self, mem: &GuestMem<'_>) -> Result<u16, QueueError> {
        mem.read_u16(self.avail + 2)
            .map_err(|error| QueueError::Memory {
                addr: self.avail + 2,
                error,
            })
    }

    /// Takes the next available head, if any; with event index, tells the driver
    /// (`avail_event`) to notify when it adds past what was taken.
    pub fn pop(&mut self, mem: &GuestMem<'_>, event_idx: bool) -> Result<Option<u16>, QueueError> {
        let num = self.check()?;
        let mut avail = self.avail_idx(mem)?;
        if avail == self.last_avail && event_idx {
            self.set_avail_event(mem)?;
            // The driver may have added one between the read and the event write.
            avail = self.avail_idx(mem)?;
        }
        if avail == self.last_avail {
            return Ok(None);
        }
        if avail.wrapping_sub(self.last_avail) > num {
            return Err(QueueError::Malformed(
                "available index moved past the queue size",
            ));
        }
        let at = self.avail + 4 + 2 * (self.last_avail % num) as u64;
        let head = mem
            .read_u16(at)
            .map_err(|error| QueueError::Memory { addr: at, error })?;
        self.last_avail = self.last_avail.wrapping_add(1);
        if event_idx {
            self.set_avail_event(mem)?;
        }
        Ok(Some(head))
    }

    fn set_avail_event(&self, mem: &GuestMem<'_>) -> Result<(), QueueError> {
        let at = self.used + 4 + 8 * self.num as u64;
        mem.write_u16(at, self.last_avail)
            .map_err(|error| QueueError::Memory { addr: at, error })
    }

    /// Walks the chain at `head` (see the [module docs](self)).
    pub fn walk(&self, mem: &GuestMem<'_>, head: u16) -> Result<Chain, QueueError> {
        let num = self.check()? as u32;
        let mut chain = Chain::new(head);
        let (mut table, mut table_len) = (self.desc, num);
        let mut index = head as u32;
        let mut walked = 0u32;
        let mut indirect = false;
        loop {
            if index >= table_len {
                return Err(QueueError::IndexOutOfRange {
                    index,
                    table: table_len,
                });
            }
            walked += 1;
            if walked > table_len {
                return Err(QueueError::Loop { walked: table_len });
            }
            let at = table + 16 * index as u64;
            let mut d = [0u8; 16];
            mem.read(at, &mut d)
                .map_err(|error| QueueError::Memory { addr: at, error })?;
            let addr = u64::from_le_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
            let len = u32::from_le_bytes([d[8], d[9], d[10], d[11]]);
            let flags = u16::from_le_bytes([d[12], d[13]]);
            let next = u16::from_le_bytes([d[14], d[15]]);
            if flags & desc_flags::INDIRECT != 0 {
                if indirect || len == 0 || !len.is_multiple_of(16) || flags & desc_flags::NEXT != 0
                {
                    return Err(QueueError::BadIndirect { len });
                }
                indirect = true;
                table = addr;
                table_len = len / 16;
                index = 0;
                walked = 0;
                continue;
            }
            chain.push(Segment {
                addr,
                len,
                write: flags & desc_flags::WRITE != 0,
            })?;
            if flags & desc_flags::NEXT == 0 {
                return Ok(chain);
            }
            index = next as u32;
        }
    }

    /// Puts `head` with `len` bytes written on the used ring; returns whether the driver
    /// wants an interrupt for it (its `used_event`, or `NO_INTERRUPT`).
    pub fn push(
        &mut self,
        mem: &GuestMem<'_>,
        head: u16,
        len: u32,
        event_idx: bool,
    ) -> Result<bool, QueueError> {
        let num = self.check()?;
        let slot = self.used + 4 + 8 * (self.used_idx % num) as u64;
        let mut elem = [0u8; 8];
        elem[..4].copy_from_slice(&(head as u32).to_le_bytes());
        elem[4..].copy_from_slice(&len.to_le_bytes());
        let mem_err = |addr| move |error| QueueError::Memory { addr, error };
        mem.write(slot, &elem).map_err(mem_err(slot))?;
        let old = self.used_idx;
        self.used_idx = old.wrapping_add(1);
        // The element before the index (the lease writes are in program order).
        mem.write_u16(self.used + 2, self.used_idx)
            .map_err(mem_err(self.used + 2))?;
        if event_idx {
            let at = self.avail + 4 + 2 * num as u64;
            let event = mem.read_u16(at).map_err(mem_err(at))?;
            // vring_need_event
            Ok(self.used_idx.wrapping_sub(event).wrapping_sub(1) < self.used_idx.wrapping_sub(old))
        } else {
            let flags = mem.read_u16(self.avail).map_err(mem_err(self.avail))?;
            Ok(flags & AVAIL_NO_INTERRUPT == 0)
        }
    }
}
