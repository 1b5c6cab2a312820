//! virtio-console (virtio 1.2, section 5.3), a single port: queue 0 (receive) gets input
//! from the [`ConsoleBackend`] when it has some, queue 1 (transmit) sends the driver's
//! bytes to it. `VIRTIO_CONSOLE_F_MULTIPORT` is not offered (no control queue): the
//! device is one console, as QEMU's `virtconsole` on port 0 of a `virtio-serial-device`
//! looks to a driver that does not take multiport.

use fief_core::lock::Mutex;

use super::guest::GuestMem;
use super::queue::Chain;
use super::{device_id, RequestError, VirtioDevice};

/// Where a console's bytes go and come from.
pub trait ConsoleBackend: Sync {
    /// Output from the guest.
    fn write(&self, data: &[u8]);
    /// Whether input is waiting.
    fn has_input(&self) -> bool {
        false
    }
    /// Takes waiting input into `buf`; returns how many bytes.
    fn read(&self, _buf: &mut [u8]) -> usize {
        0
    }
}

/// The console device (see the [module docs](self)).
pub struct VirtioConsole<'a> {
    /// Set by [`VirtioConsole::new`], changed only by [`VirtioConsole::power_on`].
    backend: Mutex<&'a dyn ConsoleBackend>,
}

impl<'a> VirtioConsole<'a> {
    /// A console over `backend`.
    pub const fn new(backend: &'a dyn ConsoleBackend) -> VirtioConsole<'a> {
        VirtioConsole {
            backend: Mutex::new(backend),
        }
    }

    /// Back to the state [`VirtioConsole::new`]`(backend)` makes, for a console reused by
    /// a new device (a hot-plug host keeps unplugged models for the next plug): its bytes
    /// go to and come from `backend`. The console keeps nothing else: its queues and
    /// interrupt are the transport's, reset when it is plugged. Only for a console no
    /// transport serves any more (its unplug is complete).
    pub fn power_on(&self, backend: &'a dyn ConsoleBackend) {
        *self.backend.lock() = backend;
    }

    fn backend(&self) -> &'a dyn ConsoleBackend {
        *self.backend.lock()
    }
}

impl VirtioDevice for VirtioConsole<'_> {
    fn device_id(&self) -> u32 {
        device_id::CONSOLE
    }

    fn features(&self) -> u64 {
        0
    }

    fn queues(&self) -> usize {
        2
    }

    fn read_config(&self, offset: u64, buf: &mut [u8]) {
        // cols, rows (0: unknown), max_nr_ports 1, emerg_wr.
        let mut config = [0u8; 12];
        config[4..8].copy_from_slice(&1u32.to_le_bytes());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = usize::try_from(offset)
                .ok()
                .and_then(|o| o.checked_add(i))
                .and_then(|at| config.get(at).copied())
                .unwrap_or(0);
        }
    }

    fn ready(&self, queue: usize) -> bool {
        queue != 0 || self.backend().has_input()
    }

    fn serve(&self, queue: usize, chain: &Chain, mem: &GuestMem<'_>) -> Result<u32, RequestError> {
        let mut buf = [0u8; 256];
        if queue == 0 {
            let n = self
                .backend()
                .read(&mut buf[..chain.writable.min(256) as usize]);
            chain
                .write(mem, 0, &buf[..n])
                .map_err(RequestError::Memory)?;
            return Ok(n as u32);
        }
        let mut done = 0u32;
        while done < chain.readable {
            let n = (chain.readable - done).min(buf.len() as u32) as usize;
            chain
                .read(mem, done, &mut buf[..n])
                .map_err(RequestError::Memory)?;
            self.backend().write(&buf[..n]);
            done += n as u32;
        }
        Ok(0)
    }
}
