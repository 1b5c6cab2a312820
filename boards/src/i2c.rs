//! An I2C master with the OpenCores I2C register map (`opencores,i2c-ocores`, as in the
//! FU540/FE310-G002, register shift 2: one byte register every 4 bytes), whose bus is an
//! embedded-hal 1.0 [`I2c`]: on a co-simulation target a guest's transaction reaches a real
//! bus, on the host a mock.
//!
//! # Registers
//!
//! | offset | name        | access | bits                                                          |
//! |--------|-------------|--------|---------------------------------------------------------------|
//! | `0x00` | `PRERlo`    | r/w    | clock prescaler, low byte (stored; the bus clock is the back end's) |
//! | `0x04` | `PRERhi`    | r/w    | clock prescaler, high byte (stored)                           |
//! | `0x08` | `CTR`       | r/w    | 7 `EN` core enable, 6 `IEN` interrupt enable                  |
//! | `0x0c` | `TXR`/`RXR` | w / r  | byte to transmit (bit 0 = R/W̄ in an address byte) / byte received |
//! | `0x10` | `CR`/`SR`   | w / r  | command: 7 `STA`, 6 `STO`, 5 `RD`, 4 `WR`, 3 `ACK` (1 = NACK the byte read), 0 `IACK`; status: 7 `RxACK` (1 = no ACK), 6 `BUSY`, 5 `AL`, 1 `TIP`, 0 `IF` |
//! | `0x14` | `RXLEN`     | r/w    | Fief extension: bytes the next read phase reads (default 1; 0 counts as 1) |
//!
//! # How byte commands become embedded-hal transactions
//!
//! The OpenCores core works byte by byte; embedded-hal 1.0 runs a whole transaction
//! (`START, address, operations, STOP`) in one call. The bridge buffers and runs each
//! transaction at the last possible moment, so the real bus sees exactly one transaction per
//! guest transaction:
//!
//! * `STA|WR` with an address byte in `TXR` starts (or, after a write phase, continues with
//!   a repeated start) a transaction for that address; `WR` of data bytes appends them to a
//!   `Write` operation. These commands complete at once with `RxACK` = 0.
//! * The first `RD` of a read phase runs the transaction: the buffered writes (if any), then
//!   a `Read` of `RXLEN` bytes; that `RD` and the following ones of the phase return the
//!   bytes in turn (a `RD` past `RXLEN` reads `0xff` and sets `AL`). The read phase ends the
//!   bus transaction; a later `STA` starts a new one.
//! * `STO` runs a transaction that has buffered writes and no read (a plain write).
//!
//! The bridge calls the bus's `write`, `read` or `write_read` for those shapes (each is,
//! by the embedded-hal contract, `transaction` with the same operations), and
//! `transaction` with no operations for an address-only probe (`STA|WR` of a read address
//! followed by `STO`).
//!
//! Every command completes at once (`TIP` is never seen set) and sets `IF` (an interrupt
//! when `IEN`; `IACK` clears it). When the bus answers with an error, the command that ran
//! the transaction reports it: a NACK ([`ErrorKind::NoAcknowledge`]) sets `RxACK`, any other
//! error sets `AL`; `AL` stays set until the next `STA`. A guest checks `RxACK`/`AL` after
//! `STO` (writes) or after its first `RD` (reads). Commands with `EN` clear do nothing.

use embedded_hal::i2c::{Error as _, ErrorKind, I2c};
use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in the memory map.
pub const I2C_SIZE: u64 = 0x1000;
/// Most bytes one transaction writes, and most bytes one read phase reads.
pub const I2C_BUFFER: usize = 64;

/// Register offsets.
pub mod reg {
    /// Prescaler low byte.
    pub const PRERLO: u64 = 0x00;
    /// Prescaler high byte.
    pub const PRERHI: u64 = 0x04;
    /// Control.
    pub const CTR: u64 = 0x08;
    /// Transmit (write) / receive (read).
    pub const TXR_RXR: u64 = 0x0c;
    /// Command (write) / status (read).
    pub const CR_SR: u64 = 0x10;
    /// Fief extension: read-phase length.
    pub const RXLEN: u64 = 0x14;
}

/// `CTR` bits.
pub mod ctr {
    /// Core enable.
    pub const EN: u8 = 0x80;
    /// Interrupt enable.
    pub const IEN: u8 = 0x40;
}

/// `CR` bits.
pub mod cr {
    /// Generate a (repeated) start.
    pub const STA: u8 = 0x80;
    /// Generate a stop.
    pub const STO: u8 = 0x40;
    /// Read a byte.
    pub const RD: u8 = 0x20;
    /// Write `TXR`.
    pub const WR: u8 = 0x10;
    /// When reading: 1 = answer NACK (the last byte).
    pub const ACK: u8 = 0x08;
    /// Clear the interrupt flag.
    pub const IACK: u8 = 0x01;
}

/// `SR` bits.
pub mod sr {
    /// No acknowledge received.
    pub const RXACK: u8 = 0x80;
    /// Bus busy (between start and stop).
    pub const BUSY: u8 = 0x40;
    /// Arbitration lost (Fief: any bus error that is not a NACK).
    pub const AL: u8 = 0x20;
    /// Transfer in progress.
    pub const TIP: u8 = 0x02;
    /// Interrupt flag.
    pub const IF: u8 = 0x01;
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No transaction.
    Idle,
    /// Address sent for writing: data bytes are buffered.
    Write,
    /// Address sent for reading; the read has not run yet.
    ReadPending,
    /// The read ran; `rx[rx_pos..rx_len]` are the bytes still to hand out.
    Reading,
}

struct State<B> {
    bus: Option<B>,
    prer: u16,
    ctr: u8,
    txr: u8,
    rxr: u8,
    sr: u8,
    rxlen: u8,
    phase: Phase,
    address: u8,
    tx: heapless::Vec<u8, I2C_BUFFER>,
    rx: [u8; I2C_BUFFER],
    rx_len: usize,
    rx_pos: usize,
}

impl<B: I2c> State<B> {
    fn report(&mut self, result: Result<(), B::Error>) {
        match result {
            Ok(()) => self.sr &= !sr::RXACK,
            Err(e) => match e.kind() {
                ErrorKind::NoAcknowledge(_) => self.sr |= sr::RXACK,
                _ => self.sr |= sr::AL,
            },
        }
    }

    /// Runs the buffered writes, then a read of `read` bytes (0: none).
    fn run(&mut self, read: usize) {
        let address = self.address;
        let Some(bus) = self.bus.as_mut() else {
            // Nothing on the bus: nobody acknowledges.
            self.sr |= sr::RXACK;
            self.tx.clear();
            return;
        };
        let write = !self.tx.is_empty();
        let rx = &mut self.rx[..read];
        // The trait's shorthands for the common shapes (a HAL may implement them more
        // directly); by the embedded-hal contract each is exactly `transaction` with the
        // same operations.
        let result = match (write, read > 0) {
            (true, true) => bus.write_read(address, &self.tx, rx),
            (true, false) => bus.write(address, &self.tx),
            (false, true) => bus.read(address, rx),
            (false, false) => bus.transaction(address, &mut []),
        };
        self.tx.clear();
        self.report(result);
    }

    fn command(&mut self, cmd: u8) {
        if cmd & cr::IACK != 0 {
            self.sr &= !sr::IF;
        }
        if self.ctr & ctr::EN == 0 || cmd & (cr::STA | cr::STO | cr::RD | cr::WR) == 0 {
            return;
        }
        if cmd & cr::STA != 0 {
            self.sr &= !sr::AL;
            if self.phase != Phase::Write {
                self.tx.clear();
            }
            self.sr |= sr::BUSY;
        }
        if cmd & cr::WR != 0 {
            if cmd & cr::STA != 0 {
                let address = self.txr >> 1;
                if self.phase == Phase::Write && address != self.address {
                    // A repeated start to another device: finish the first transaction.
                    self.run(0);
                }
                self.address = address;
                self.phase = if self.txr & 1 != 0 {
                    Phase::ReadPending
                } else {
                    Phase::Write
                };
                self.sr &= !sr::RXACK;
            } else if self.phase == Phase::Write {
                if self.tx.push(self.txr).is_err() {
                    self.sr |= sr::AL;
                } else {
                    self.sr &= !sr::RXACK;
                }
            } else {
                // Writing a data byte outside a write phase: nothing listens.
                self.sr |= sr::RXACK;
            }
        }
        if cmd & cr::RD != 0 {
            if self.phase == Phase::ReadPending {
                let len = (self.rxlen as usize).clamp(1, I2C_BUFFER);
                self.run(len);
                self.rx_len = if self.sr & (sr::RXACK | sr::AL) != 0 {
                    0
                } else {
                    len
                };
                self.rx_pos = 0;
                self.phase = Phase::Reading;
                if self.rx_len == 0 {
                    self.rxr = 0xff;
                }
            }
            if self.phase == Phase::Reading {
                if self.rx_pos < self.rx_len {
                    self.rxr = self.rx[self.rx_pos];
                    self.rx_pos += 1;
                } else if self.sr & (sr::RXACK | sr::AL) == 0 {
                    self.rxr = 0xff;
                    self.sr |= sr::AL;
                }
            } else {
                self.rxr = 0xff;
                self.sr |= sr::AL;
            }
        }
        if cmd & cr::STO != 0 {
            if self.phase == Phase::Write {
                self.run(0);
            } else if self.phase == Phase::ReadPending {
                // Address-only read probe: a read of nothing is a zero-length transaction.
                self.tx.clear();
                self.run(0);
            }
            self.phase = Phase::Idle;
            self.sr &= !sr::BUSY;
        }
        self.sr |= sr::IF;
    }
}

/// The I2C master over bus `B` (see the [module docs](self)).
pub struct I2cController<'a, B> {
    state: fief_core::lock::Mutex<State<B>>,
    /// The interrupt output (`IF && IEN`).
    pub irq: IrqLine<'a>,
}

impl<B: I2c> Default for I2cController<'_, B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, B: I2c> I2cController<'a, B> {
    /// A controller after reset (prescaler `0xffff`, disabled), with no bus attached (every
    /// address NACKs).
    pub const fn new() -> I2cController<'a, B> {
        I2cController {
            state: fief_core::lock::Mutex::new(State {
                bus: None,
                prer: 0xffff,
                ctr: 0,
                txr: 0,
                rxr: 0,
                sr: 0,
                rxlen: 1,
                phase: Phase::Idle,
                address: 0,
                tx: heapless::Vec::new(),
                rx: [0; I2C_BUFFER],
                rx_len: 0,
                rx_pos: 0,
            }),
            irq: IrqLine::new(),
        }
    }

    /// Attaches the bus, returning the one it replaces.
    pub fn attach(&self, bus: B) -> Option<B> {
        self.state.lock().bus.replace(bus)
    }

    /// Detaches the bus (to check a mock's expectations, or give the bus back).
    pub fn detach(&self) -> Option<B> {
        self.state.lock().bus.take()
    }
}

impl<B: I2c + Send> MmioOps for I2cController<'_, B> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let s = self.state.lock();
        let value = match offset.0 {
            reg::PRERLO => s.prer as u8,
            reg::PRERHI => (s.prer >> 8) as u8,
            reg::CTR => s.ctr,
            reg::TXR_RXR => s.rxr,
            reg::CR_SR => s.sr,
            reg::RXLEN => s.rxlen,
            _ => 0,
        };
        (value as u64 & size.value_mask(), MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let mut s = self.state.lock();
        let byte = value as u8;
        match offset.0 {
            reg::PRERLO => s.prer = (s.prer & 0xff00) | byte as u16,
            reg::PRERHI => s.prer = (s.prer & 0x00ff) | (byte as u16) << 8,
            reg::CTR => s.ctr = byte & (ctr::EN | ctr::IEN),
            reg::TXR_RXR => s.txr = byte,
            reg::CR_SR => s.command(byte),
            reg::RXLEN => s.rxlen = byte,
            _ => {}
        }
        self.irq.set(s.ctr & ctr::IEN != 0 && s.sr & sr::IF != 0);
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(1, 4),
            implemented: SizeRule::aligned(1, 4),
            ..AccessRules::DEFAULT
        }
    }
}
