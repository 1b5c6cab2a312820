//! Guest memory as a virtio device reaches it: **only through DMA leases** (rule L8). Every
//! access maps a lease over the bytes it needs on the [`DmaBus`], copies, and unmaps it
//! before returning, so no device ever holds a raw pointer into guest memory and an
//! unplug during a request is the memory model's business: the lease answers
//! [`DmaError::Revoked`], or the address is [`DmaError::Unassigned`] once the memory is
//! gone, and the request fails cleanly.
//!
//! A lease can be shorter than asked (it ends at a region boundary or a bounce buffer's
//! end): accesses loop over as many leases as the range needs. Bounce buffers that are
//! all in use (`Busy`) are retried [`BUSY_RETRIES`] times, then the access fails.

use fief_core::memory::{DmaDirection, DmaError, GuestAddress, MemTxAttrs, MemTxFlags};

use crate::dma::DmaBus;

/// `Busy` answers after which an access gives up.
pub const BUSY_RETRIES: u32 = 1024;

/// Guest memory through leases on a [`DmaBus`], with the device's requester id.
#[derive(Clone, Copy)]
pub struct GuestMem<'b> {
    bus: &'b dyn DmaBus,
    attrs: MemTxAttrs,
}

impl<'b> GuestMem<'b> {
    /// Accesses through `bus` carrying `requester_id` (so a buffer pointing at the
    /// device's own registers gets an access error, rule L9).
    pub fn new(bus: &'b dyn DmaBus, requester_id: u16) -> GuestMem<'b> {
        GuestMem {
            bus,
            attrs: MemTxAttrs {
                flags: MemTxFlags::empty(),
                requester_id,
            },
        }
    }

    fn map(
        &self,
        addr: u64,
        len: u64,
        direction: DmaDirection,
    ) -> Result<fief_core::memory::Lease, DmaError> {
        let mut tries = 0;
        loop {
            match self.bus.map(GuestAddress(addr), len, direction, self.attrs) {
                Err(DmaError::Busy) if tries < BUSY_RETRIES => {
                    tries += 1;
                    core::hint::spin_loop();
                }
                other => return other,
            }
        }
    }

    /// Reads `buf.len()` bytes at `addr`.
    pub fn read(&self, addr: u64, buf: &mut [u8]) -> Result<(), DmaError> {
        let mut done = 0usize;
        while done < buf.len() {
            let at = addr.checked_add(done as u64).ok_or(DmaError::Unassigned {
                addr: GuestAddress(addr),
            })?;
            let want = (buf.len() - done) as u64;
            let lease = self.map(at, want, DmaDirection::ToDevice)?;
            let n = lease.len.min(want) as usize;
            let read = self.bus.read_lease(lease.handle, &mut buf[done..done + n]);
            let unmapped = self.bus.unmap(lease.handle, 0);
            read?;
            unmapped?;
            done += n;
        }
        Ok(())
    }

    /// Writes `data` at `addr`.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), DmaError> {
        let mut done = 0usize;
        while done < data.len() {
            let at = addr.checked_add(done as u64).ok_or(DmaError::Unassigned {
                addr: GuestAddress(addr),
            })?;
            let want = (data.len() - done) as u64;
            let lease = self.map(at, want, DmaDirection::FromDevice)?;
            let n = lease.len.min(want) as usize;
            let written = self.bus.write_lease(lease.handle, &data[done..done + n]);
            let unmapped = self
                .bus
                .unmap(lease.handle, if written.is_ok() { n as u64 } else { 0 });
            written?;
            unmapped?;
            done += n;
        }
        Ok(())
    }

    /// A little-endian `u16` at `addr`.
    pub fn read_u16(&self, addr: u64) -> Result<u16, DmaError> {
        let mut b = [0u8; 2];
        self.read(addr, &mut b)?;
        Ok(u16::from_le_bytes(b))
    }

    /// Writes a little-endian `u16` at `addr`.
    pub fn write_u16(&self, addr: u64, v: u16) -> Result<(), DmaError> {
        self.write(addr, &v.to_le_bytes())
    }
}
