//! virtio-blk (virtio 1.2, section 5.2): one request queue over a [`BlockBackend`] (a raw
//! image file on `fief`). Requests: read, write, flush, get-ID, discard and write-zeroes;
//! a read-only back end offers `VIRTIO_BLK_F_RO` and answers writes with an I/O error.
//! The capacity comes from the back end (whole 512-byte sectors).
//!
//! A request is a header (type, sector) the device reads, data, and a status byte the
//! device writes last, after the back end has finished (a flush has reached the host's
//! disk before the guest sees `OK`). A request the back end refuses, or that reaches past
//! the end of the disk, gets `IOERR`; an unknown type `UNSUPP`. When guest memory goes
//! away in the middle (an unplug), the request ends with `IOERR` if the status byte is
//! still reachable; data already handed to the back end is not taken back, but the guest
//! is never told a cut-off write succeeded.

use fief_core::memory::DmaError;

use super::guest::GuestMem;
use super::queue::{Chain, QueueError, MAX_SEGMENTS};
use super::{device_id, RequestError, VirtioDevice};

/// Bytes per sector.
pub const SECTOR: u64 = 512;

/// Feature bits.
pub mod feature {
    /// `seg_max` is valid.
    pub const SEG_MAX: u64 = 1 << 2;
    /// Read-only.
    pub const RO: u64 = 1 << 5;
    /// `blk_size` is valid.
    pub const BLK_SIZE: u64 = 1 << 6;
    /// Flush.
    pub const FLUSH: u64 = 1 << 9;
    /// Discard.
    pub const DISCARD: u64 = 1 << 13;
    /// Write zeroes.
    pub const WRITE_ZEROES: u64 = 1 << 14;
}

/// Request types.
pub mod req {
    /// Read.
    pub const IN: u32 = 0;
    /// Write.
    pub const OUT: u32 = 1;
    /// Flush.
    pub const FLUSH: u32 = 4;
    /// Device ID string.
    pub const GET_ID: u32 = 8;
    /// Discard.
    pub const DISCARD: u32 = 11;
    /// Write zeroes.
    pub const WRITE_ZEROES: u32 = 13;
}

/// Status values.
pub mod blk_status {
    /// Done.
    pub const OK: u8 = 0;
    /// Failed.
    pub const IOERR: u8 = 1;
    /// Not supported.
    pub const UNSUPP: u8 = 2;
}

/// Why the back end failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackendError;

/// A disk's storage.
pub trait BlockBackend: Sync {
    /// Size in bytes.
    fn capacity(&self) -> u64;
    /// Whether writes are refused.
    fn read_only(&self) -> bool;
    /// Reads `buf.len()` bytes at byte `offset`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BackendError>;
    /// Writes `data` at byte `offset`.
    fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), BackendError>;
    /// Makes every completed write durable.
    fn flush(&self) -> Result<(), BackendError>;
    /// Zeroes `len` bytes at `offset` (discard and write-zeroes).
    fn zero(&self, offset: u64, len: u64) -> Result<(), BackendError>;
}

/// Bytes the device moves per back-end call.
const CHUNK: usize = 4096;
/// Data segments a request may have (`seg_max`).
pub const SEG_MAX: u32 = MAX_SEGMENTS as u32 - 2;
/// Sectors one discard or write-zeroes segment may cover.
pub const MAX_ZERO_SECTORS: u32 = 1 << 22;

/// The block device (see the [module docs](self)).
pub struct VirtioBlk<'a> {
    backend: &'a dyn BlockBackend,
    id: [u8; 20],
}

impl<'a> VirtioBlk<'a> {
    /// A disk over `backend`; `id` (up to 20 bytes) answers `GET_ID`.
    pub fn new(backend: &'a dyn BlockBackend, id: &str) -> VirtioBlk<'a> {
        let mut buf = [0u8; 20];
        let n = id.len().min(20);
        buf[..n].copy_from_slice(&id.as_bytes()[..n]);
        VirtioBlk { backend, id: buf }
    }

    fn sectors(&self) -> u64 {
        self.backend.capacity() / SECTOR
    }

    fn in_range(&self, sector: u64, bytes: u64) -> bool {
        sector
            .checked_mul(SECTOR)
            .and_then(|start| start.checked_add(bytes))
            .is_some_and(|end| end <= self.sectors() * SECTOR)
    }

    /// Serves the data part; `Ok(status, bytes written to the guest)`.
    fn data(
        &self,
        kind: u32,
        sector: u64,
        chain: &Chain,
        data_in: u32,
        mem: &GuestMem<'_>,
    ) -> Result<(u8, u32), DmaError> {
        let mut buf = [0u8; CHUNK];
        match kind {
            req::IN => {
                if !self.in_range(sector, data_in as u64) {
                    return Ok((blk_status::IOERR, 0));
                }
                let mut done = 0u32;
                while done < data_in {
                    let n = (data_in - done).min(CHUNK as u32) as usize;
                    if self
                        .backend
                        .read_at(sector * SECTOR + done as u64, &mut buf[..n])
                        .is_err()
                    {
                        return Ok((blk_status::IOERR, done));
                    }
                    chain.write(mem, done, &buf[..n])?;
                    done += n as u32;
                }
                Ok((blk_status::OK, done))
            }
            req::OUT => {
                let len = chain.readable - 16;
                if self.backend.read_only() || !self.in_range(sector, len as u64) {
                    return Ok((blk_status::IOERR, 0));
                }
                let mut done = 0u32;
                while done < len {
                    let n = (len - done).min(CHUNK as u32) as usize;
                    chain.read(mem, 16 + done, &mut buf[..n])?;
                    if self
                        .backend
                        .write_at(sector * SECTOR + done as u64, &buf[..n])
                        .is_err()
                    {
                        return Ok((blk_status::IOERR, 0));
                    }
                    done += n as u32;
                }
                Ok((blk_status::OK, 0))
            }
            req::FLUSH => Ok((
                match self.backend.flush() {
                    Ok(()) => blk_status::OK,
                    Err(_) => blk_status::IOERR,
                },
                0,
            )),
            req::GET_ID => {
                let n = data_in.min(20) as usize;
                chain.write(mem, 0, &self.id[..n])?;
                Ok((blk_status::OK, n as u32))
            }
            req::DISCARD | req::WRITE_ZEROES => {
                let len = chain.readable - 16;
                if self.backend.read_only() || !len.is_multiple_of(16) || len == 0 {
                    return Ok((blk_status::IOERR, 0));
                }
                for i in 0..len / 16 {
                    let mut seg = [0u8; 16];
                    chain.read(mem, 16 + 16 * i, &mut seg)?;
                    let start = u64::from_le_bytes(seg[..8].try_into().unwrap_or([0; 8]));
                    let count = u32::from_le_bytes(seg[8..12].try_into().unwrap_or([0; 4]));
                    if count > MAX_ZERO_SECTORS || !self.in_range(start, count as u64 * SECTOR) {
                        return Ok((blk_status::IOERR, 0));
                    }
                    if self
                        .backend
                        .zero(start * SECTOR, count as u64 * SECTOR)
                        .is_err()
                    {
                        return Ok((blk_status::IOERR, 0));
                    }
                }
                Ok((blk_status::OK, 0))
            }
            _ => Ok((blk_status::UNSUPP, 0)),
        }
    }
}

impl VirtioDevice for VirtioBlk<'_> {
    fn device_id(&self) -> u32 {
        device_id::BLOCK
    }

    fn features(&self) -> u64 {
        let mut f = feature::SEG_MAX | feature::BLK_SIZE | feature::FLUSH;
        if self.backend.read_only() {
            f |= feature::RO;
        } else {
            f |= feature::DISCARD | feature::WRITE_ZEROES;
        }
        f
    }

    fn queues(&self) -> usize {
        1
    }

    fn read_config(&self, offset: u64, buf: &mut [u8]) {
        // struct virtio_blk_config, the fields Fief fills.
        let mut config = [0u8; 60];
        config[0..8].copy_from_slice(&self.sectors().to_le_bytes());
        config[12..16].copy_from_slice(&SEG_MAX.to_le_bytes());
        config[20..24].copy_from_slice(&(SECTOR as u32).to_le_bytes());
        config[36..40].copy_from_slice(&MAX_ZERO_SECTORS.to_le_bytes()); // max_discard_sectors
        config[40..44].copy_from_slice(&1u32.to_le_bytes()); // max_discard_seg
        config[44..48].copy_from_slice(&1u32.to_le_bytes()); // discard_sector_alignment
        config[48..52].copy_from_slice(&MAX_ZERO_SECTORS.to_le_bytes()); // max_write_zeroes_sectors
        config[52..56].copy_from_slice(&1u32.to_le_bytes()); // max_write_zeroes_seg
        for (i, b) in buf.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|at| config.get(at).copied())
                .unwrap_or(0);
        }
    }

    fn serve(&self, _: usize, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError> {
        if chain.readable < 16 {
            return Err(
                QueueError::Malformed("virtio-blk request without its 16-byte header").into(),
            );
        }
        if chain.writable < 1 {
            return Err(QueueError::Malformed("virtio-blk request without a status byte").into());
        }
        let mut header = [0u8; 16];
        chain
            .read(mem, 0, &mut header)
            .map_err(RequestError::Memory)?;
        let kind = u32::from_le_bytes(header[..4].try_into().unwrap_or([0; 4]));
        let sector = u64::from_le_bytes(header[8..].try_into().unwrap_or([0; 8]));
        let data_in = chain.writable - 1;
        let (status, written) = match self.data(kind, sector, chain, data_in, mem) {
            Ok(r) => r,
            Err(e) => {
                // Memory gone mid-request: tell the guest if it can still hear it.
                let _ = chain.write(mem, data_in, &[blk_status::IOERR]);
                return Err(RequestError::Memory(e));
            }
        };
        chain
            .write(mem, data_in, &[status])
            .map_err(RequestError::Memory)?;
        Ok(written + 1)
    }
}
