//! A GPIO controller with the SiFive GPIO register map (`sifive,gpio0`, as in the FE310),
//! whose pins are embedded-hal 1.0 pins: on a co-simulation target the guest's pin changes
//! reach real pins, on the host a mock.
//!
//! # Registers (32-bit, one bit per pin, word accesses only)
//!
//! | offset | name         | what Fief does                                              |
//! |--------|--------------|-------------------------------------------------------------|
//! | `0x00` | `input_val`  | read: samples every pin whose `input_en` bit is set (`is_high`), in pin order; other bits read 0 |
//! | `0x04` | `input_en`   | read/write                                                  |
//! | `0x08` | `output_en`  | read/write; a pin turned on is driven to its output value    |
//! | `0x0c` | `output_val` | read/write; driven pins whose level changes are set (`set_high`/`set_low`) |
//! | `0x10` | `pue`        | stored (pull-ups are the back end's business)                |
//! | `0x14` | `ds`         | stored                                                      |
//! | `0x18` | `rise_ie`    | read/write                                                  |
//! | `0x1c` | `rise_ip`    | pending rising edges seen by sampling; write 1 to clear      |
//! | `0x20` | `fall_ie`    | read/write                                                  |
//! | `0x24` | `fall_ip`    | pending falling edges; write 1 to clear                      |
//! | `0x28` | `high_ie`    | read/write                                                  |
//! | `0x2c` | `high_ip`    | set while a sampled pin is high; write 1 to clear            |
//! | `0x30` | `low_ie`     | read/write                                                  |
//! | `0x34` | `low_ip`     | set while a sampled pin is low; write 1 to clear             |
//! | `0x38` | `iof_en`     | stored (no hardware functions behind the pins)               |
//! | `0x3c` | `iof_sel`    | stored                                                      |
//! | `0x40` | `out_xor`    | read/write; the driven level is `output_val ^ out_xor`       |
//!
//! The level driven on a pin is `output_val ^ out_xor`; a pin is only driven while its
//! `output_en` bit is set, and the back end hears about a pin only when its driven level
//! changes (or when it starts being driven), so a test can expect the exact pin changes a
//! guest made. Inputs are sampled when the guest reads `input_val` or when the embedding
//! calls [`Gpio::sample`] (from its main loop); sampling updates the `*_ip` bits, and the
//! one interrupt output is high while any `ip & ie` bit is set. A back-end error reads as a
//! low input and leaves an output's recorded level unchanged (so the next write retries).

use embedded_hal::digital::{InputPin, OutputPin};
use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in the memory map.
pub const GPIO_SIZE: u64 = 0x1000;

/// Register offsets.
pub mod reg {
    /// Sampled input levels.
    pub const INPUT_VAL: u64 = 0x00;
    /// Input enables.
    pub const INPUT_EN: u64 = 0x04;
    /// Output enables.
    pub const OUTPUT_EN: u64 = 0x08;
    /// Output values.
    pub const OUTPUT_VAL: u64 = 0x0c;
    /// Pull-up enables.
    pub const PUE: u64 = 0x10;
    /// Drive strengths.
    pub const DS: u64 = 0x14;
    /// Rising-edge interrupt enables.
    pub const RISE_IE: u64 = 0x18;
    /// Rising-edge interrupt pending.
    pub const RISE_IP: u64 = 0x1c;
    /// Falling-edge interrupt enables.
    pub const FALL_IE: u64 = 0x20;
    /// Falling-edge interrupt pending.
    pub const FALL_IP: u64 = 0x24;
    /// High-level interrupt enables.
    pub const HIGH_IE: u64 = 0x28;
    /// High-level interrupt pending.
    pub const HIGH_IP: u64 = 0x2c;
    /// Low-level interrupt enables.
    pub const LOW_IE: u64 = 0x30;
    /// Low-level interrupt pending.
    pub const LOW_IP: u64 = 0x34;
    /// Hardware I/O function enables.
    pub const IOF_EN: u64 = 0x38;
    /// Hardware I/O function selects.
    pub const IOF_SEL: u64 = 0x3c;
    /// Output inversion.
    pub const OUT_XOR: u64 = 0x40;
}

struct State<P, const N: usize> {
    pins: [Option<P>; N],
    regs: [u32; 17],
    /// Level each pin is driven to, as last told to its back end (bit set = high).
    driven: u32,
    /// Pins currently driven.
    driving: u32,
    /// Levels of the last sample, for edge detection.
    last_sample: u32,
    sampled: u32,
}

impl<P: OutputPin + InputPin, const N: usize> State<P, N> {
    fn reg(&self, offset: u64) -> u32 {
        self.regs[(offset / 4) as usize]
    }

    fn set_reg(&mut self, offset: u64, value: u32) {
        self.regs[(offset / 4) as usize] = value;
    }

    fn mask() -> u32 {
        if N >= 32 {
            u32::MAX
        } else {
            (1u32 << N) - 1
        }
    }

    /// Tells the back ends about every driven pin whose level changed.
    fn drive(&mut self) {
        let enabled = self.reg(reg::OUTPUT_EN) & Self::mask();
        let level = self.reg(reg::OUTPUT_VAL) ^ self.reg(reg::OUT_XOR);
        for (i, pin) in self.pins.iter_mut().enumerate() {
            let bit = 1u32 << i;
            if enabled & bit == 0 {
                self.driving &= !bit;
                continue;
            }
            let high = level & bit != 0;
            if self.driving & bit != 0 && (self.driven & bit != 0) == high {
                continue;
            }
            let Some(pin) = pin else { continue };
            let ok = if high {
                pin.set_high().is_ok()
            } else {
                pin.set_low().is_ok()
            };
            if ok {
                self.driving |= bit;
                if high {
                    self.driven |= bit;
                } else {
                    self.driven &= !bit;
                }
            }
        }
    }

    /// Samples the input-enabled pins and updates the pending bits.
    fn sample(&mut self) -> u32 {
        let enabled = self.reg(reg::INPUT_EN) & Self::mask();
        let mut value = 0;
        for (i, pin) in self.pins.iter_mut().enumerate() {
            let bit = 1u32 << i;
            if enabled & bit == 0 {
                continue;
            }
            if let Some(pin) = pin {
                if pin.is_high().unwrap_or(false) {
                    value |= bit;
                }
            }
        }
        let known = self.sampled & enabled;
        let rise = value & !self.last_sample & known;
        let fall = !value & self.last_sample & known;
        let high = value;
        let low = !value & enabled;
        self.set_reg(reg::RISE_IP, self.reg(reg::RISE_IP) | rise);
        self.set_reg(reg::FALL_IP, self.reg(reg::FALL_IP) | fall);
        self.set_reg(reg::HIGH_IP, self.reg(reg::HIGH_IP) | high);
        self.set_reg(reg::LOW_IP, self.reg(reg::LOW_IP) | low);
        self.last_sample = (self.last_sample & !enabled) | value;
        self.sampled |= enabled;
        value
    }

    fn pending(&self) -> bool {
        [
            (reg::RISE_IE, reg::RISE_IP),
            (reg::FALL_IE, reg::FALL_IP),
            (reg::HIGH_IE, reg::HIGH_IP),
            (reg::LOW_IE, reg::LOW_IP),
        ]
        .iter()
        .any(|&(ie, ip)| self.reg(ie) & self.reg(ip) != 0)
    }
}

/// The GPIO controller with `N` (at most 32) pins of type `P` (see the [module docs](self)).
/// `P` is a bidirectional embedded-hal pin (a HAL's flexible or open-drain pin, or
/// `embedded_hal_mock::eh1::digital::Mock`); a pin slot left empty reads low and drives
/// nothing.
pub struct Gpio<'a, P, const N: usize> {
    state: fief_core::lock::Mutex<State<P, N>>,
    /// The interrupt output.
    pub irq: IrqLine<'a>,
}

impl<P: OutputPin + InputPin, const N: usize> Default for Gpio<'_, P, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, P: OutputPin + InputPin, const N: usize> Gpio<'a, P, N> {
    const PINS_FIT: () = assert!(N <= 32, "gpio: at most 32 pins");

    /// A controller after reset (every register 0), with no pins attached.
    pub const fn new() -> Gpio<'a, P, N> {
        let () = Self::PINS_FIT;
        Gpio {
            state: fief_core::lock::Mutex::new(State {
                pins: [const { None }; N],
                regs: [0; 17],
                driven: 0,
                driving: 0,
                last_sample: 0,
                sampled: 0,
            }),
            irq: IrqLine::new(),
        }
    }

    /// Attaches `pin` as pin `index`, returning the pin it replaces; `Err(pin)` if
    /// `index >= N`.
    pub fn attach(&self, index: usize, pin: P) -> Result<Option<P>, P> {
        let mut s = self.state.lock();
        match s.pins.get_mut(index) {
            Some(slot) => {
                let old = slot.replace(pin);
                s.driving &= !(1 << index);
                s.drive();
                Ok(old)
            }
            None => Err(pin),
        }
    }

    /// Detaches pin `index`.
    pub fn detach(&self, index: usize) -> Option<P> {
        let mut s = self.state.lock();
        if index < N {
            s.driving &= !(1 << index);
        }
        s.pins.get_mut(index).and_then(Option::take)
    }

    /// Samples the inputs now (from the embedding's main loop, to see edges without the
    /// guest reading `input_val`); returns the sampled levels.
    pub fn sample(&self) -> u32 {
        let mut s = self.state.lock();
        let v = s.sample();
        self.irq.set(s.pending());
        v
    }
}

impl<P: OutputPin + InputPin + Send, const N: usize> MmioOps for Gpio<'_, P, N> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let mut s = self.state.lock();
        let value = match offset.0 {
            reg::INPUT_VAL => s.sample(),
            o @ reg::INPUT_EN..=reg::OUT_XOR => s.reg(o),
            _ => 0,
        };
        self.irq.set(s.pending());
        (value as u64 & size.value_mask(), MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let mut s = self.state.lock();
        let value = value as u32 & State::<P, N>::mask();
        match offset.0 {
            reg::RISE_IP | reg::FALL_IP | reg::HIGH_IP | reg::LOW_IP => {
                let ip = s.reg(offset.0) & !value;
                s.set_reg(offset.0, ip);
            }
            reg::OUTPUT_EN | reg::OUTPUT_VAL | reg::OUT_XOR => {
                s.set_reg(offset.0, value);
                s.drive();
            }
            o @ reg::INPUT_EN..=reg::IOF_SEL => s.set_reg(o, value),
            _ => {}
        }
        self.irq.set(s.pending());
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
