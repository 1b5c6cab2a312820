//! The CLINT (SiFive core-local interruptor, QEMU's `sifive,clint0` layout): per-hart
//! `msip` at `4 * hart`, per-hart `mtimecmp` at `0x4000 + 8 * hart`, and `mtime` at
//! `0xbff8`, for up to `H` harts. Each hart has two output lines, MSIP and MTIP.
//!
//! # Time
//!
//! `mtime` comes from a [`Clock`] the embedding connects (the host's monotonic clock at the
//! 10 MHz timebase) plus an offset that guest writes to `mtime` adjust; without a clock it is
//! a counter the embedding moves with [`Clint::advance`] (deterministic runs, bare metal).
//!
//! MTIP is **not polled per instruction**. It is recomputed — `mtime >= mtimecmp` — when the
//! guest writes `mtimecmp` or `mtime`, and whenever the embedding calls
//! [`Clint::update`]: the host calls it at every time-slice boundary of every hart thread and
//! from a hart thread sleeping in `wfi`, waking at [`Clint::next_deadline`]. So a timer
//! interrupt is raised at most one slice (or one sleep quantum) late, and costs nothing on
//! the instruction path: the hart only sees its `HartIrqs` bit.

use fief_core::irq::IrqLine;
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in the memory map.
pub const CLINT_SIZE: u64 = 0x1_0000;
/// The timebase: `mtime` ticks per second (QEMU virt's 10 MHz).
pub const TIMEBASE_HZ: u64 = 10_000_000;
const MTIMECMP: u64 = 0x4000;
const MTIME: u64 = 0xbff8;

/// The source of `mtime` ticks ([`TIMEBASE_HZ`] per second), monotonic.
pub trait Clock: Sync {
    /// Ticks since some fixed start.
    fn now(&self) -> u64;
}

struct State<const H: usize> {
    mtimecmp: [u64; H],
    /// Added to the clock (or the counter, without a clock).
    offset: u64,
}

/// The CLINT (see the [module docs](self)).
pub struct Clint<'a, const H: usize> {
    state: fief_core::lock::Mutex<State<H>>,
    msip: [fief_core::atomic::AtomicBool; H],
    clock: fief_core::lock::Mutex<Option<&'a dyn Clock>>,
    /// Per hart: the machine software interrupt output (to the hart's MSIP).
    pub msip_irq: [IrqLine<'a>; H],
    /// Per hart: the machine timer interrupt output (to the hart's MTIP).
    pub mtip_irq: [IrqLine<'a>; H],
}

impl<const H: usize> Default for Clint<'_, H> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const H: usize> Clint<'a, H> {
    /// A CLINT with every timer disarmed (`mtimecmp` all ones) and no clock.
    pub const fn new() -> Clint<'a, H> {
        Clint {
            state: fief_core::lock::Mutex::new(State {
                mtimecmp: [u64::MAX; H],
                offset: 0,
            }),
            msip: [const { fief_core::atomic::AtomicBool::new(false) }; H],
            clock: fief_core::lock::Mutex::new(None),
            msip_irq: [const { IrqLine::new() }; H],
            mtip_irq: [const { IrqLine::new() }; H],
        }
    }

    /// Takes `mtime` from `clock` from now on (keeping the current `mtime` value).
    pub fn set_clock(&self, clock: &'a dyn Clock) {
        let mut s = self.state.lock();
        let now = self.mtime_locked(&s);
        *self.clock.lock() = Some(clock);
        s.offset = now.wrapping_sub(clock.now());
    }

    fn raw(&self) -> u64 {
        match *self.clock.lock() {
            Some(clock) => clock.now(),
            None => 0,
        }
    }

    fn mtime_locked(&self, s: &State<H>) -> u64 {
        self.raw().wrapping_add(s.offset)
    }

    /// The current `mtime`.
    pub fn mtime(&self) -> u64 {
        let s = self.state.lock();
        self.mtime_locked(&s)
    }

    /// Moves `mtime` on by `ticks` (the clockless mode's time base; with a clock it adds
    /// an offset) and updates the timer outputs.
    pub fn advance(&self, ticks: u64) {
        let mut s = self.state.lock();
        s.offset = s.offset.wrapping_add(ticks);
        self.update_locked(&s);
    }

    /// Machine reset: every timer disarmed, no software interrupt, outputs lowered
    /// (`mtime` runs on).
    pub fn reset(&self) {
        let mut s = self.state.lock();
        s.mtimecmp = [u64::MAX; H];
        for (msip, line) in self.msip.iter().zip(&self.msip_irq) {
            msip.store(false, fief_core::atomic::Ordering::Release);
            line.lower();
        }
        self.update_locked(&s);
    }

    /// Hart `hart`'s `mtimecmp`.
    pub fn mtimecmp(&self, hart: usize) -> Option<u64> {
        self.state.lock().mtimecmp.get(hart).copied()
    }

    /// The earliest armed `mtimecmp` that is still in the future, if any: when to call
    /// [`Clint::update`] next.
    pub fn next_deadline(&self) -> Option<u64> {
        let s = self.state.lock();
        let now = self.mtime_locked(&s);
        s.mtimecmp
            .iter()
            .copied()
            .filter(|&c| c != u64::MAX && c > now)
            .min()
    }

    /// Recomputes every hart's MTIP from the current `mtime`.
    pub fn update(&self) {
        let s = self.state.lock();
        self.update_locked(&s);
    }

    fn update_locked(&self, s: &State<H>) {
        let now = self.mtime_locked(s);
        for (cmp, line) in s.mtimecmp.iter().zip(&self.mtip_irq) {
            line.set(now >= *cmp);
        }
    }

    /// The 64-bit register holding byte `offset` and the byte's index in it.
    fn reg64(offset: u64) -> Option<(Reg, u64)> {
        if (MTIMECMP..MTIMECMP + 8 * H as u64).contains(&offset) {
            let i = (offset - MTIMECMP) / 8;
            Some((Reg::Mtimecmp(i as usize), (offset - MTIMECMP) % 8))
        } else if (MTIME..MTIME + 8).contains(&offset) {
            Some((Reg::Mtime, offset - MTIME))
        } else {
            None
        }
    }
}

enum Reg {
    Mtimecmp(usize),
    Mtime,
}

impl<const H: usize> MmioOps for Clint<'_, H> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let o = offset.0;
        let value = if o < 4 * H as u64 {
            self.msip[(o / 4) as usize].load(core::sync::atomic::Ordering::Acquire) as u64
        } else {
            let s = self.state.lock();
            match Self::reg64(o) {
                Some((Reg::Mtimecmp(i), byte)) => s.mtimecmp[i] >> (8 * byte),
                Some((Reg::Mtime, byte)) => self.mtime_locked(&s) >> (8 * byte),
                None => 0,
            }
        };
        (value & size.value_mask(), MemTxResult::OK)
    }

    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        _: MemTxAttrs,
    ) -> MemTxResult {
        let o = offset.0;
        if o < 4 * H as u64 {
            let hart = (o / 4) as usize;
            let on = value & 1 != 0;
            self.msip[hart].store(on, core::sync::atomic::Ordering::Release);
            self.msip_irq[hart].set(on);
            return MemTxResult::OK;
        }
        let mut s = self.state.lock();
        if let Some((reg, byte)) = Self::reg64(o) {
            let shift = 8 * byte;
            let mask = size.value_mask() << shift;
            let merge = |old: u64| (old & !mask) | ((value << shift) & mask);
            match reg {
                Reg::Mtimecmp(i) => s.mtimecmp[i] = merge(s.mtimecmp[i]),
                Reg::Mtime => {
                    let new = merge(self.mtime_locked(&s));
                    s.offset = new.wrapping_sub(self.raw());
                }
            }
            self.update_locked(&s);
        }
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(4, 8),
            implemented: SizeRule::aligned(4, 8),
            ..AccessRules::DEFAULT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fief_core::cpu::riscv::{irq, HartIrqs};

    #[test]
    fn timer_and_software_interrupts() {
        let harts = [HartIrqs::new(), HartIrqs::new()];
        let c: Clint<'_, 2> = Clint::new();
        for (i, h) in harts.iter().enumerate() {
            c.msip_irq[i].connect(h, irq::MSI);
            c.mtip_irq[i].connect(h, irq::MTI);
        }
        let w = |o: u64, v: u64| {
            let _ = c.write(
                RegionOffset(o),
                v,
                AccessSize::Word,
                MemTxAttrs::UNSPECIFIED,
            );
        };
        let r = |o: u64| {
            c.read(RegionOffset(o), AccessSize::Word, MemTxAttrs::UNSPECIFIED)
                .0
        };
        w(4, 1);
        assert_eq!((harts[0].pending(), harts[1].pending()), (0, 1 << irq::MSI));
        assert_eq!(r(4), 1);
        w(4, 0);
        // Hart 0's timer at 100 (low word then high word, as RV32 code does).
        w(0x4000, 100);
        w(0x4004, 0);
        assert_eq!(c.next_deadline(), Some(100));
        c.advance(99);
        assert_eq!(harts[0].pending(), 0);
        c.advance(1);
        assert_eq!(harts[0].pending(), 1 << irq::MTI);
        assert_eq!(c.next_deadline(), None);
        assert_eq!(r(0xbff8), 100);
        // Writing mtime back lowers MTIP at once.
        w(0xbff8, 0);
        assert_eq!(harts[0].pending(), 0);
        assert_eq!(harts[1].pending(), 0);
    }
}
