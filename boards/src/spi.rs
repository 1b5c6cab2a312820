//! An SPI controller with a subset of the SiFive SPI register map (`sifive,spi0`, as in the
//! FE310), whose peripheral is an embedded-hal 1.0 [`SpiDevice`] on chip select 0: on a
//! co-simulation target the guest's frames reach a real device, on the host a mock.
//!
//! # Registers (32-bit, word accesses only)
//!
//! | offset | name      | what Fief does                                                      |
//! |--------|-----------|---------------------------------------------------------------------|
//! | `0x00` | `sckdiv`  | stored (the clock is the back end's)                                |
//! | `0x04` | `sckmode` | stored (phase and polarity are the back end's)                      |
//! | `0x10` | `csid`    | chip select: 0 is the attached device; frames to others read `0xff` |
//! | `0x14` | `csdef`   | stored (CS polarity is the back end's); writing it releases a held CS |
//! | `0x18` | `csmode`  | 0 `AUTO`: one `SpiDevice` transaction per frame; 2 `HOLD`: frames are collected while CS is held and run as one transaction; 3 `OFF`: as `AUTO` |
//! | `0x28` | `delay0`  | stored                                                              |
//! | `0x2c` | `delay1`  | stored                                                              |
//! | `0x40` | `fmt`     | bits 1:0 `proto` (single only), 2 `endian` (1 = LSB first: bits are reversed so the back end, MSB first, puts them on the wire in order), 3 `dir` (1 = TX only: nothing enters the RX FIFO), 19:16 `len` (1 to 8 bits per frame; the unused high bits of a frame are 0) |
//! | `0x48` | `txdata`  | write: queue a frame; read: bit 31 `full`                           |
//! | `0x4c` | `rxdata`  | read: bit 31 `empty`, 7:0 the oldest received frame                 |
//! | `0x50` | `txmark`  | TX watermark                                                        |
//! | `0x54` | `rxmark`  | RX watermark                                                        |
//! | `0x60` | `fctrl`   | stored (no memory-mapped flash mode)                                |
//! | `0x64` | `ffmt`    | stored                                                              |
//! | `0x70` | `ie`      | 0 `txwm`, 1 `rxwm`                                                  |
//! | `0x74` | `ip`      | 0 `txwm` (TX FIFO has fewer than `txmark` frames), 1 `rxwm` (RX FIFO has more than `rxmark`); read only |
//!
//! # How frames become embedded-hal transactions
//!
//! [`SpiDevice`] asserts chip select around each `transaction` call, so CS follows it: in
//! `AUTO` mode every frame written to `txdata` is one transaction (`TransferInPlace` of one
//! byte) and its answer enters the RX FIFO at once. In `HOLD` mode frames wait in the TX
//! FIFO (8 deep, `txdata.full` when 8 wait) and run as one transaction — CS held over all of
//! them — when the guest releases CS (writes `csmode` other than `HOLD`, or `csid`, or
//! `csdef`), or when it reads `rxdata` with the RX FIFO empty (CS then toggles between the
//! two parts; a guest that wants one transaction writes its frames, releases CS, then reads
//! the answers). The RX FIFO is 8 frames deep; frames beyond it are dropped. A back-end
//! error makes the frames of that transaction read `0xff`.

use embedded_hal::spi::{Operation, SpiDevice};
use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in the memory map.
pub const SPI_SIZE: u64 = 0x1000;
/// Depth of the TX and RX FIFOs.
pub const SPI_FIFO: usize = 8;

/// Register offsets.
pub mod reg {
    /// Clock divider.
    pub const SCKDIV: u64 = 0x00;
    /// Clock mode.
    pub const SCKMODE: u64 = 0x04;
    /// Chip select id.
    pub const CSID: u64 = 0x10;
    /// Chip select default (inactive) levels.
    pub const CSDEF: u64 = 0x14;
    /// Chip select mode.
    pub const CSMODE: u64 = 0x18;
    /// Delay control 0.
    pub const DELAY0: u64 = 0x28;
    /// Delay control 1.
    pub const DELAY1: u64 = 0x2c;
    /// Frame format.
    pub const FMT: u64 = 0x40;
    /// Transmit data.
    pub const TXDATA: u64 = 0x48;
    /// Receive data.
    pub const RXDATA: u64 = 0x4c;
    /// Transmit watermark.
    pub const TXMARK: u64 = 0x50;
    /// Receive watermark.
    pub const RXMARK: u64 = 0x54;
    /// Flash interface control.
    pub const FCTRL: u64 = 0x60;
    /// Flash instruction format.
    pub const FFMT: u64 = 0x64;
    /// Interrupt enables.
    pub const IE: u64 = 0x70;
    /// Interrupt pending.
    pub const IP: u64 = 0x74;
}

/// `csmode` values.
pub mod csmode {
    /// CS asserted around each frame.
    pub const AUTO: u32 = 0;
    /// CS held asserted from the first frame until released.
    pub const HOLD: u32 = 2;
    /// No hardware CS control (treated as `AUTO`).
    pub const OFF: u32 = 3;
}

/// `txdata.full` / `rxdata.empty`.
pub const FIFO_FLAG: u32 = 1 << 31;

struct State<D> {
    device: Option<D>,
    sckdiv: u32,
    sckmode: u32,
    csid: u32,
    csdef: u32,
    csmode: u32,
    delay0: u32,
    delay1: u32,
    fmt: u32,
    txmark: u32,
    rxmark: u32,
    fctrl: u32,
    ffmt: u32,
    ie: u32,
    tx: heapless::Vec<u8, SPI_FIFO>,
    rx: heapless::Deque<u8, SPI_FIFO>,
}

impl<D: SpiDevice> State<D> {
    fn frame_mask(&self) -> u8 {
        let len = ((self.fmt >> 16) & 0xf).clamp(1, 8);
        (0xffu16 >> (8 - len)) as u8
    }

    fn lsb_first(&self) -> bool {
        self.fmt & 4 != 0
    }

    fn tx_only(&self) -> bool {
        self.fmt & 8 != 0
    }

    /// Runs the queued frames as one transaction and queues the answers.
    fn flush(&mut self) {
        if self.tx.is_empty() {
            return;
        }
        let mut frames = [0u8; SPI_FIFO];
        let n = self.tx.len();
        let lsb = self.lsb_first();
        for (f, &t) in frames.iter_mut().zip(self.tx.iter()) {
            *f = if lsb { t.reverse_bits() } else { t };
        }
        self.tx.clear();
        let ok = match (self.csid, self.device.as_mut()) {
            (0, Some(device)) => device
                .transaction(&mut [Operation::TransferInPlace(&mut frames[..n])])
                .is_ok(),
            _ => false,
        };
        if self.tx_only() {
            return;
        }
        let mask = self.frame_mask();
        for &f in &frames[..n] {
            let f = if !ok {
                0xff
            } else if lsb {
                f.reverse_bits()
            } else {
                f
            };
            // A full RX FIFO drops the frame, as the hardware does.
            let _ = self.rx.push_back(f & mask);
        }
    }

    fn ip(&self) -> u32 {
        let txwm = (self.tx.len() as u32) < self.txmark;
        let rxwm = self.rx.len() as u32 > self.rxmark;
        txwm as u32 | (rxwm as u32) << 1
    }
}

/// The SPI controller with device `D` on chip select 0 (see the [module docs](self)).
pub struct SpiController<'a, D> {
    state: fief_core::lock::Mutex<State<D>>,
    /// The interrupt output (`ip & ie`).
    pub irq: IrqLine<'a>,
}

impl<D: SpiDevice> Default for SpiController<'_, D> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, D: SpiDevice> SpiController<'a, D> {
    /// A controller after reset (8-bit MSB-first frames, `AUTO` chip select), with no
    /// device attached (frames read `0xff`).
    pub const fn new() -> SpiController<'a, D> {
        SpiController {
            state: fief_core::lock::Mutex::new(State {
                device: None,
                sckdiv: 3,
                sckmode: 0,
                csid: 0,
                csdef: 1,
                csmode: csmode::AUTO,
                delay0: 0x0001_0001,
                delay1: 0x0000_0001,
                fmt: 0x0008_0000,
                txmark: 0,
                rxmark: 0,
                fctrl: 1,
                ffmt: 0x0003_0007,
                ie: 0,
                tx: heapless::Vec::new(),
                rx: heapless::Deque::new(),
            }),
            irq: IrqLine::new(),
        }
    }

    /// Attaches the device on chip select 0, returning the one it replaces.
    pub fn attach(&self, device: D) -> Option<D> {
        self.state.lock().device.replace(device)
    }

    /// Detaches the device.
    pub fn detach(&self) -> Option<D> {
        self.state.lock().device.take()
    }
}

impl<D: SpiDevice + Send> MmioOps for SpiController<'_, D> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let mut s = self.state.lock();
        let value = match offset.0 {
            reg::SCKDIV => s.sckdiv,
            reg::SCKMODE => s.sckmode,
            reg::CSID => s.csid,
            reg::CSDEF => s.csdef,
            reg::CSMODE => s.csmode,
            reg::DELAY0 => s.delay0,
            reg::DELAY1 => s.delay1,
            reg::FMT => s.fmt,
            reg::TXDATA => FIFO_FLAG * s.tx.is_full() as u32,
            reg::RXDATA => {
                if s.rx.is_empty() {
                    s.flush();
                }
                match s.rx.pop_front() {
                    Some(b) => b as u32,
                    None => FIFO_FLAG,
                }
            }
            reg::TXMARK => s.txmark,
            reg::RXMARK => s.rxmark,
            reg::FCTRL => s.fctrl,
            reg::FFMT => s.ffmt,
            reg::IE => s.ie,
            reg::IP => s.ip(),
            _ => 0,
        };
        self.irq.set(s.ip() & s.ie != 0);
        (value as u64 & size.value_mask(), MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let mut s = self.state.lock();
        let v = value as u32;
        match offset.0 {
            reg::SCKDIV => s.sckdiv = v & 0xfff,
            reg::SCKMODE => s.sckmode = v & 3,
            reg::CSID => {
                s.flush();
                s.csid = v;
            }
            reg::CSDEF => {
                s.flush();
                s.csdef = v;
            }
            reg::CSMODE => {
                s.csmode = v & 3;
                if s.csmode != csmode::HOLD {
                    s.flush();
                }
            }
            reg::DELAY0 => s.delay0 = v & 0x00ff_00ff,
            reg::DELAY1 => s.delay1 = v & 0x00ff_00ff,
            reg::FMT => s.fmt = v & 0x000f_000f,
            reg::TXDATA => {
                let mask = s.frame_mask();
                // A write while the FIFO is full is ignored, as the hardware does.
                if s.tx.push(v as u8 & mask).is_ok() && s.csmode != csmode::HOLD {
                    s.flush();
                }
            }
            reg::TXMARK => s.txmark = v & 0xf,
            reg::RXMARK => s.rxmark = v & 0xf,
            reg::FCTRL => s.fctrl = v & 1,
            reg::FFMT => s.ffmt = v,
            reg::IE => s.ie = v & 3,
            _ => {}
        }
        self.irq.set(s.ip() & s.ie != 0);
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(4, 4),
            implemented: SizeRule::aligned(4, 4),
            ..AccessRules::DEFAULT
        }
    }
}
