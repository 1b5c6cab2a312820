//! virtio-rng (virtio 1.2, section 5.4): one queue whose device-writable buffers the device
//! fills from an [`EntropySource`] (the host's `getrandom` on `fief`).

use super::guest::GuestMem;
use super::queue::Chain;
use super::{device_id, RequestError, VirtioDevice};

/// Where random bytes come from.
pub trait EntropySource: Sync {
    /// Fills `buf`; `false` if the source failed (the request then returns no bytes).
    fn fill(&self, buf: &mut [u8]) -> bool;
}

/// Bytes one request gets at most (as QEMU's default `max-bytes` per period is large,
/// this only bounds a single request's work).
pub const MAX_REQUEST: u32 = 64 << 10;

/// The entropy device (see the [module docs](self)).
pub struct VirtioRng<'a> {
    source: &'a dyn EntropySource,
}

impl<'a> VirtioRng<'a> {
    /// A device drawing from `source`.
    pub const fn new(source: &'a dyn EntropySource) -> VirtioRng<'a> {
        VirtioRng { source }
    }
}

impl VirtioDevice for VirtioRng<'_> {
    fn device_id(&self) -> u32 {
        device_id::RNG
    }

    fn features(&self) -> u64 {
        0
    }

    fn queues(&self) -> usize {
        1
    }

    fn read_config(&self, _: u64, buf: &mut [u8]) {
        buf.fill(0);
    }

    fn serve(&self, _: usize, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError> {
        let want = chain.writable.min(MAX_REQUEST);
        let mut buf = [0u8; 256];
        let mut done = 0u32;
        while done < want {
            let n = (want - done).min(buf.len() as u32) as usize;
            if !self.source.fill(&mut buf[..n]) {
                break;
            }
            chain
                .write(mem, done, &buf[..n])
                .map_err(RequestError::Memory)?;
            done += n as u32;
        }
        Ok(done)
    }
}
