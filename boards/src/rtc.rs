//! The Goldfish RTC (`google,goldfish-rtc`), as QEMU's `hw/rtc/goldfish_rtc.c`: a 64-bit
//! nanosecond count of wall-clock time (Unix epoch) and one alarm with an interrupt.
//!
//! | offset | register | |
//! |--------|----------|---|
//! | `0x00` | `TIME_LOW` | read: the count's low half, latching the high half; write: sets it |
//! | `0x04` | `TIME_HIGH` | read: the latched high half; write: sets the count's high half |
//! | `0x08` | `ALARM_LOW` | the alarm's low half; a write arms the alarm (at once if past) |
//! | `0x0c` | `ALARM_HIGH` | the alarm's high half (write it first) |
//! | `0x10` | `IRQ_ENABLED` | bit 0: the interrupt is enabled |
//! | `0x14` | `CLEAR_ALARM` | write: disarms the alarm |
//! | `0x18` | `ALARM_STATUS` | read: 1 while the alarm is armed |
//! | `0x1c` | `CLEAR_INTERRUPT` | write: clears the pending interrupt |
//!
//! Only 32-bit accesses are valid. The line is `pending & enabled`. Time comes from a
//! [`WallClock`] the embedding connects (the host's clock); without one the count starts at
//! 0 and stands still. A guest's write to the time moves an offset, never the host clock.
//! An armed alarm fires when [`GoldfishRtc::update`] finds its time passed: the host calls
//! it at time-slice boundaries and while harts sleep, as for the CLINT's timer.

use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in the memory map (QEMU's device tree says `0x1000`; its
/// region is `0x24` bytes, the rest reads zero here).
pub const RTC_SIZE: u64 = 0x1000;

const TIME_LOW: u64 = 0x00;
const TIME_HIGH: u64 = 0x04;
const ALARM_LOW: u64 = 0x08;
const ALARM_HIGH: u64 = 0x0c;
const IRQ_ENABLED: u64 = 0x10;
const CLEAR_ALARM: u64 = 0x14;
const ALARM_STATUS: u64 = 0x18;
const CLEAR_INTERRUPT: u64 = 0x1c;

/// Wall-clock time for the RTC.
pub trait WallClock: Sync {
    /// Nanoseconds since the Unix epoch.
    fn now_ns(&self) -> u64;
}

#[derive(Clone, Copy)]
struct State {
    /// Added to the clock's time (guest writes to the time move it).
    offset: u64,
    alarm_next: u64,
    alarm_running: bool,
    irq_pending: bool,
    irq_enabled: bool,
    time_high: u32,
}

impl State {
    const RESET: State = State {
        offset: 0,
        alarm_next: 0,
        alarm_running: false,
        irq_pending: false,
        irq_enabled: false,
        time_high: 0,
    };
}

/// The RTC (see the [module docs](self)).
pub struct GoldfishRtc<'a> {
    state: fief_core::lock::Mutex<State>,
    clock: fief_core::lock::Mutex<Option<&'a dyn WallClock>>,
    /// The interrupt output (PLIC source 11 on `virt32`).
    pub irq: IrqLine<'a>,
}

impl Default for GoldfishRtc<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> GoldfishRtc<'a> {
    /// An RTC at time 0 with no clock, alarm disarmed, interrupt disabled.
    pub const fn new() -> GoldfishRtc<'a> {
        GoldfishRtc {
            state: fief_core::lock::Mutex::new(State::RESET),
            clock: fief_core::lock::Mutex::new(None),
            irq: IrqLine::new(),
        }
    }

    /// Takes the time from `clock` from now on.
    pub fn set_clock(&self, clock: &'a dyn WallClock) {
        *self.clock.lock() = Some(clock);
        self.state.lock().offset = 0;
    }

    fn count(&self, s: &State) -> u64 {
        let now = self.clock.lock().map_or(0, |c| c.now_ns());
        now.wrapping_add(s.offset)
    }

    /// The current count (nanoseconds since the epoch, as the guest sees it).
    pub fn time_ns(&self) -> u64 {
        let s = self.state.lock();
        self.count(&s)
    }

    /// Whether the interrupt output is raised.
    pub fn irq_level(&self) -> bool {
        let s = self.state.lock();
        s.irq_pending && s.irq_enabled
    }

    /// Fires the alarm if its time has come; see the [module docs](self).
    pub fn update(&self) {
        let mut s = self.state.lock();
        if s.alarm_running && self.count(&s) >= s.alarm_next {
            s.alarm_running = false;
            s.irq_pending = true;
            self.irq.set(s.irq_enabled);
        }
    }

    /// Machine reset (QEMU's `goldfish_rtc_reset`): alarm and interrupt state cleared, the
    /// time kept.
    pub fn reset(&self) {
        let mut s = self.state.lock();
        *s = State {
            offset: s.offset,
            ..State::RESET
        };
        self.irq.set(false);
    }

    fn set_alarm(&self, s: &mut State) {
        if s.alarm_next <= self.count(s) {
            s.alarm_running = false;
            s.irq_pending = true;
        } else {
            s.alarm_running = true;
        }
    }
}

impl MmioOps for GoldfishRtc<'_> {
    fn read(&self, offset: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let mut s = self.state.lock();
        let v = match offset.0 {
            TIME_LOW => {
                let count = self.count(&s);
                s.time_high = (count >> 32) as u32;
                count & 0xffff_ffff
            }
            TIME_HIGH => s.time_high as u64,
            ALARM_LOW => s.alarm_next & 0xffff_ffff,
            ALARM_HIGH => s.alarm_next >> 32,
            IRQ_ENABLED => s.irq_enabled as u64,
            ALARM_STATUS => s.alarm_running as u64,
            _ => 0,
        };
        (v, MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let mut s = self.state.lock();
        let value = value & 0xffff_ffff;
        match offset.0 {
            TIME_LOW | TIME_HIGH => {
                let current = self.count(&s);
                let new = if offset.0 == TIME_LOW {
                    current & !0xffff_ffff | value
                } else {
                    current & 0xffff_ffff | value << 32
                };
                s.offset = s.offset.wrapping_add(new.wrapping_sub(current));
            }
            ALARM_LOW => {
                s.alarm_next = s.alarm_next & !0xffff_ffff | value;
                self.set_alarm(&mut s);
            }
            ALARM_HIGH => s.alarm_next = s.alarm_next & 0xffff_ffff | value << 32,
            IRQ_ENABLED => s.irq_enabled = value & 1 != 0,
            CLEAR_ALARM => s.alarm_running = false,
            CLEAR_INTERRUPT => s.irq_pending = false,
            _ => {}
        }
        self.irq.set(s.irq_pending && s.irq_enabled);
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

#[cfg(test)]
mod tests {
    use super::*;
    use core::sync::atomic::{AtomicU64, Ordering};

    struct Fake(AtomicU64);
    impl WallClock for Fake {
        fn now_ns(&self) -> u64 {
            self.0.load(Ordering::Relaxed)
        }
    }

    fn rd(r: &GoldfishRtc<'_>, off: u64) -> u64 {
        r.read(RegionOffset(off), AccessSize::Word, MemTxAttrs::UNSPECIFIED)
            .0
    }

    fn wr(r: &GoldfishRtc<'_>, off: u64, v: u64) {
        let _ = r.write(
            RegionOffset(off),
            v,
            AccessSize::Word,
            MemTxAttrs::UNSPECIFIED,
        );
    }

    #[test]
    fn time_latch_set_alarm_and_interrupt() {
        let clock = Fake(AtomicU64::new(0x1_2345_6789));
        let rtc = GoldfishRtc::new();
        rtc.set_clock(&clock);
        // Reading TIME_LOW latches TIME_HIGH.
        assert_eq!(rd(&rtc, TIME_LOW), 0x2345_6789);
        clock.0.store(0x2_0000_0000, Ordering::Relaxed);
        assert_eq!(rd(&rtc, TIME_HIGH), 1);
        assert_eq!(rd(&rtc, TIME_LOW), 0);
        assert_eq!(rd(&rtc, TIME_HIGH), 2);
        // Setting the time moves an offset: the clock keeps running under it.
        wr(&rtc, TIME_HIGH, 5);
        clock.0.store(0x2_0000_0010, Ordering::Relaxed);
        assert_eq!(rtc.time_ns(), 0x5_0000_0010);
        // An alarm in the future arms; it fires at update once passed.
        wr(&rtc, IRQ_ENABLED, 1);
        wr(&rtc, ALARM_HIGH, 5);
        wr(&rtc, ALARM_LOW, 0x100);
        assert_eq!(rd(&rtc, ALARM_STATUS), 1);
        assert_eq!(rd(&rtc, ALARM_LOW), 0x100);
        rtc.update();
        assert!(!rtc.irq_level());
        clock.0.store(0x2_0000_0100, Ordering::Relaxed);
        rtc.update();
        assert!(rtc.irq_level());
        assert_eq!(rd(&rtc, ALARM_STATUS), 0);
        wr(&rtc, IRQ_ENABLED, 0);
        assert!(!rtc.irq_level());
        wr(&rtc, IRQ_ENABLED, 1);
        assert!(rtc.irq_level());
        wr(&rtc, CLEAR_INTERRUPT, 1);
        assert!(!rtc.irq_level());
        // An alarm in the past fires at once; CLEAR_ALARM disarms.
        wr(&rtc, ALARM_LOW, 0);
        assert!(rtc.irq_level());
        wr(&rtc, CLEAR_INTERRUPT, 1);
        wr(&rtc, ALARM_HIGH, 9);
        wr(&rtc, ALARM_LOW, 0);
        assert_eq!(rd(&rtc, ALARM_STATUS), 1);
        wr(&rtc, CLEAR_ALARM, 1);
        assert_eq!(rd(&rtc, ALARM_STATUS), 0);
        rtc.reset();
        assert_eq!(rd(&rtc, IRQ_ENABLED), 0);
        assert_eq!(rtc.time_ns(), 0x5_0000_0100);
    }
}
