//! An NS16550A UART (QEMU's `serial`, register shift 0): THR/RBR, IER, IIR/FCR, LCR with
//! DLAB and the divisor latch, MCR (with loopback), LSR, MSR, SCR. Transmission is instant:
//! each THR write goes to the host's [`SerialSink`] at once, so THR is always empty. The
//! receive FIFO (16 bytes; 1 with the FIFO disabled) is fed by the host through
//! [`Uart16550::receive`], which refuses a byte when it is full so the host can hold input
//! back instead of losing it. One interrupt output, level-triggered, for the usual four
//! causes in 16550 priority order: line status (overrun), received data (at least one byte;
//! trigger levels are not modelled), THR empty, modem status.

use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Where transmitted bytes go (the host's console, a file, a test buffer).
pub trait SerialSink: Sync {
    /// One transmitted byte.
    fn write_byte(&self, byte: u8);
}

/// Size of the register window in the memory map.
pub const UART_SIZE: u64 = 0x100;
const FIFO: usize = 16;

const IER_RDA: u8 = 1;
const IER_THRE: u8 = 2;
const IER_RLS: u8 = 4;
const IER_MSI: u8 = 8;
const LSR_DR: u8 = 1;
const LSR_OE: u8 = 2;
const LSR_THRE: u8 = 0x20;
const LSR_TEMT: u8 = 0x40;
const LCR_DLAB: u8 = 0x80;
const MCR_LOOP: u8 = 0x10;

struct State {
    rx: heapless::Deque<u8, FIFO>,
    ier: u8,
    fcr: u8,
    lcr: u8,
    mcr: u8,
    scr: u8,
    dll: u8,
    dlm: u8,
    overrun: bool,
    thr_pending: bool,
    msr_delta: u8,
}

impl State {
    const fn new() -> State {
        State {
            rx: heapless::Deque::new(),
            ier: 0,
            fcr: 0,
            lcr: 0,
            mcr: 0,
            scr: 0,
            dll: 0x0c,
            dlm: 0,
            overrun: false,
            thr_pending: false,
            msr_delta: 0,
        }
    }

    fn depth(&self) -> usize {
        if self.fcr & 1 != 0 {
            FIFO
        } else {
            1
        }
    }

    fn lsr(&self) -> u8 {
        let dr = if self.rx.is_empty() { 0 } else { LSR_DR };
        let oe = if self.overrun { LSR_OE } else { 0 };
        dr | oe | LSR_THRE | LSR_TEMT
    }

    fn msr(&self) -> u8 {
        if self.mcr & MCR_LOOP != 0 {
            let m = self.mcr;
            // DTR -> DSR, RTS -> CTS, OUT1 -> RI, OUT2 -> DCD.
            ((m & 1) << 5) | ((m & 2) << 3) | ((m & 4) << 4) | ((m & 8) << 4) | self.msr_delta
        } else {
            // A console with no modem control: carrier, data set ready, clear to send.
            0xb0 | self.msr_delta
        }
    }

    /// The pending interrupt's IIR code (bits 3:0), or 1 for none.
    fn iid(&self) -> u8 {
        if self.ier & IER_RLS != 0 && self.overrun {
            0x06
        } else if self.ier & IER_RDA != 0 && !self.rx.is_empty() {
            0x04
        } else if self.ier & IER_THRE != 0 && self.thr_pending {
            0x02
        } else if self.ier & IER_MSI != 0 && self.msr_delta != 0 {
            0x00
        } else {
            0x01
        }
    }

    fn push(&mut self, byte: u8) -> bool {
        if self.rx.len() >= self.depth() {
            return false;
        }
        self.rx.push_back(byte).is_ok()
    }
}

/// The UART (see the [module docs](self)).
pub struct Uart16550<'a> {
    state: fief_core::lock::Mutex<State>,
    sink: fief_core::lock::Mutex<Option<&'a dyn SerialSink>>,
    /// The interrupt output (to a PLIC source).
    pub irq: IrqLine<'a>,
}

impl Default for Uart16550<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> Uart16550<'a> {
    /// A UART after reset, with no sink (transmitted bytes are dropped) and its interrupt
    /// unconnected.
    pub const fn new() -> Uart16550<'a> {
        Uart16550 {
            state: fief_core::lock::Mutex::new(State::new()),
            sink: fief_core::lock::Mutex::new(None),
            irq: IrqLine::new(),
        }
    }

    /// Sends transmitted bytes to `sink` from now on.
    pub fn set_sink(&self, sink: &'a dyn SerialSink) {
        *self.sink.lock() = Some(sink);
    }

    /// Machine reset: registers and FIFO back to their reset values, interrupt lowered
    /// (the sink stays).
    pub fn reset(&self) {
        let mut s = self.state.lock();
        *s = State::new();
        self.update(&s);
    }

    /// Offers one received byte; `false` (byte not taken) while the receive FIFO is full.
    pub fn receive(&self, byte: u8) -> bool {
        let mut s = self.state.lock();
        let taken = s.push(byte);
        self.update(&s);
        taken
    }

    /// True if the receive FIFO has room for another byte.
    pub fn can_receive(&self) -> bool {
        let s = self.state.lock();
        s.rx.len() < s.depth()
    }

    fn update(&self, s: &State) {
        self.irq.set(s.iid() & 1 == 0);
    }

    fn transmit(&self, s: &mut State, byte: u8) {
        if s.mcr & MCR_LOOP != 0 {
            if !s.push(byte) {
                s.overrun = true;
            }
        } else if let Some(sink) = *self.sink.lock() {
            sink.write_byte(byte);
        }
    }
}

impl MmioOps for Uart16550<'_> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let mut s = self.state.lock();
        let dlab = s.lcr & LCR_DLAB != 0;
        let value = match offset.0 {
            0 if dlab => s.dll,
            0 => s.rx.pop_front().unwrap_or(0),
            1 if dlab => s.dlm,
            1 => s.ier,
            2 => {
                let iid = s.iid();
                if iid == 0x02 {
                    s.thr_pending = false;
                }
                iid | if s.fcr & 1 != 0 { 0xc0 } else { 0 }
            }
            3 => s.lcr,
            4 => s.mcr,
            5 => {
                let lsr = s.lsr();
                s.overrun = false;
                lsr
            }
            6 => {
                let msr = s.msr();
                s.msr_delta = 0;
                msr
            }
            7 => s.scr,
            _ => 0,
        };
        self.update(&s);
        (value as u64 & size.value_mask(), MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let mut s = self.state.lock();
        let byte = value as u8;
        let dlab = s.lcr & LCR_DLAB != 0;
        match offset.0 {
            0 if dlab => s.dll = byte,
            0 => {
                s.thr_pending = false;
                self.transmit(&mut s, byte);
                // Sent at once: THR is empty again.
                s.thr_pending = true;
            }
            1 if dlab => s.dlm = byte,
            1 => {
                let was = s.ier;
                s.ier = byte & 0x0f;
                if s.ier & IER_THRE != 0 && was & IER_THRE == 0 {
                    s.thr_pending = true;
                }
            }
            2 => {
                if byte & 2 != 0 {
                    s.rx.clear();
                    s.overrun = false;
                }
                let toggled = (byte ^ s.fcr) & 1 != 0;
                if toggled {
                    s.rx.clear();
                }
                // Clearing the transmit FIFO (asked, or implied by toggling the FIFOs)
                // leaves THR empty: THRE is pending again, as on QEMU.
                if byte & 4 != 0 || toggled {
                    s.thr_pending = true;
                }
                s.fcr = byte & 0xc9;
            }
            3 => s.lcr = byte,
            4 => {
                let before = s.msr() & 0xf0;
                s.mcr = byte & 0x1f;
                let after = s.msr() & 0xf0;
                if s.mcr & MCR_LOOP != 0 {
                    let changed = before ^ after;
                    // Delta bits: DCTS, DDSR, TERI (RI falling), DDCD.
                    s.msr_delta |= ((changed & 0x30) >> 4)
                        | (if before & 0x40 != 0 && after & 0x40 == 0 {
                            4
                        } else {
                            0
                        })
                        | ((changed & 0x80) >> 4);
                }
            }
            7 => s.scr = byte,
            _ => {}
        }
        self.update(&s);
        MemTxResult::OK
    }

    /// Aligned accesses of 1 to 8 bytes, each one register access (a byte), as QEMU 7.2's
    /// `serial_mm_ops` (`valid`/`impl` up to 8): an RV64 `ld`/`sd` at a register is not a
    /// fault there.
    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(1, 8),
            implemented: SizeRule::aligned(1, 8),
            ..AccessRules::DEFAULT
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use fief_core::cpu::riscv::{irq, HartIrqs};

    fn rd(u: &Uart16550<'_>, off: u64) -> u8 {
        u.read(RegionOffset(off), AccessSize::Byte, MemTxAttrs::UNSPECIFIED)
            .0 as u8
    }
    fn wr(u: &Uart16550<'_>, off: u64, v: u8) {
        let _ = u.write(
            RegionOffset(off),
            v as u64,
            AccessSize::Byte,
            MemTxAttrs::UNSPECIFIED,
        );
    }

    #[test]
    fn registers_fifo_and_interrupts() {
        let hart = HartIrqs::new();
        let u = Uart16550::new();
        u.irq.connect(&hart, irq::MEI);
        assert_eq!(rd(&u, 5), 0x60);
        assert_eq!(rd(&u, 2), 0x01);
        wr(&u, 2, 0x07); // FIFO on, cleared
        assert_eq!(rd(&u, 2), 0xc1);
        for b in 0..16 {
            assert!(u.receive(b));
        }
        assert!(!u.receive(99), "full FIFO refuses");
        assert_eq!(rd(&u, 5), 0x61);
        assert_eq!(hart.pending(), 0, "RDA not enabled");
        wr(&u, 1, IER_RDA);
        assert_eq!(hart.pending(), 1 << irq::MEI);
        assert_eq!(rd(&u, 2), 0xc4);
        for b in 0..16 {
            assert_eq!(rd(&u, 0), b);
        }
        assert_eq!(hart.pending(), 0);
        // THRE: raised when enabled, cleared by reading IIR.
        wr(&u, 1, IER_RDA | IER_THRE);
        assert_eq!(rd(&u, 2), 0xc2);
        assert_eq!(rd(&u, 2), 0xc1);
        // Clearing the transmit FIFO empties THR: THRE pending again (QEMU's serial.c).
        wr(&u, 2, 0x05);
        assert_eq!(rd(&u, 2), 0xc2);
        assert_eq!(rd(&u, 2), 0xc1);
        // DLAB.
        wr(&u, 3, 0x83);
        wr(&u, 0, 0x01);
        wr(&u, 1, 0x00);
        assert_eq!((rd(&u, 0), rd(&u, 1)), (1, 0));
        wr(&u, 3, 0x03);
        assert_eq!(rd(&u, 1), IER_RDA | IER_THRE);
        wr(&u, 7, 0x5a);
        assert_eq!(rd(&u, 7), 0x5a);
        // Loopback: TX comes back; overrun when the FIFO overflows.
        wr(&u, 1, IER_RLS);
        wr(&u, 4, MCR_LOOP | 0x0b);
        assert_eq!(rd(&u, 6) & 0xf0, 0xb0);
        for b in 0..17 {
            wr(&u, 0, b);
        }
        assert_eq!(hart.pending(), 1 << irq::MEI);
        assert_eq!(rd(&u, 2), 0xc6);
        assert_eq!(rd(&u, 5), 0x63);
        assert_eq!(rd(&u, 5), 0x61);
        assert_eq!(hart.pending(), 0);
    }
}
