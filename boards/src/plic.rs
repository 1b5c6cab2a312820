//! The PLIC (RISC-V platform-level interrupt controller) in QEMU `virt`'s layout:
//!
//! | offset                        | register                                   |
//! |-------------------------------|--------------------------------------------|
//! | `0x000000 + 4 * source`       | priority (0 to 7; source 0 does not exist)  |
//! | `0x001000 + 4 * word`         | pending bits (read-only)                   |
//! | `0x002000 + 0x80 * context`   | enable bits of a context                    |
//! | `0x200000 + 0x1000 * context` | priority threshold of a context             |
//! | `0x200004 + 0x1000 * context` | claim (read) / complete (write)             |
//!
//! Context `2 * h` is hart `h`'s M-mode external interrupt, `2 * h + 1` its S-mode one
//! (their outputs go to MEIP and SEIP). `N` sources (source 0 included, so `N - 1` usable),
//! `C` contexts. Inputs are level-triggered ([`IrqSink`]): a high source becomes pending
//! unless it is claimed, and stays pending until claimed even if its input drops (the
//! gateway has forwarded the request, as in the PLIC specification and QEMU); a claim takes the highest-priority pending enabled source above the
//! context's threshold (lowest id on ties) and clears its pending bit; a completion
//! re-pends it if its input is still high. A context's output is high while some pending,
//! enabled source has a priority above its threshold.

use fief_core::irq::{IrqLine, IrqSink};
use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in QEMU virt's memory map.
pub const PLIC_SIZE: u64 = 0x60_0000;
/// Highest priority.
pub const MAX_PRIORITY: u32 = 7;
const PENDING: u64 = 0x1000;
const ENABLE: u64 = 0x2000;
const ENABLE_STRIDE: u64 = 0x80;
const CONTEXT: u64 = 0x20_0000;
const CONTEXT_STRIDE: u64 = 0x1000;

struct State<const N: usize, const C: usize> {
    priority: [u32; N],
    level: [bool; N],
    pending: [bool; N],
    claimed: [bool; N],
    enable: [[bool; N]; C],
    threshold: [u32; C],
}

impl<const N: usize, const C: usize> State<N, C> {
    /// The source a claim by `ctx` would take.
    fn best(&self, ctx: usize) -> Option<usize> {
        let mut best: Option<usize> = None;
        for src in 1..N {
            if self.pending[src]
                && self.enable[ctx][src]
                && self.priority[src] > self.threshold[ctx]
                && best.is_none_or(|b| self.priority[src] > self.priority[b])
            {
                best = Some(src);
            }
        }
        best
    }
}

/// The PLIC (see the [module docs](self)).
pub struct Plic<'a, const N: usize, const C: usize> {
    state: fief_core::lock::Mutex<State<N, C>>,
    /// Per context: the external interrupt output (context `2h` to hart `h`'s MEIP,
    /// `2h + 1` to its SEIP).
    pub outputs: [IrqLine<'a>; C],
}

impl<const N: usize, const C: usize> Default for Plic<'_, N, C> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, const N: usize, const C: usize> Plic<'a, N, C> {
    /// A PLIC after reset: all priorities 0, nothing enabled.
    pub const fn new() -> Plic<'a, N, C> {
        assert!(N >= 2 && N <= 1024 && C >= 1 && C <= 15872, "PLIC sizes");
        Plic {
            state: fief_core::lock::Mutex::new(State {
                priority: [0; N],
                level: [false; N],
                pending: [false; N],
                claimed: [false; N],
                enable: [[false; N]; C],
                threshold: [0; C],
            }),
            outputs: [const { IrqLine::new() }; C],
        }
    }

    fn update(&self, s: &State<N, C>) {
        for (ctx, line) in self.outputs.iter().enumerate() {
            line.set(s.best(ctx).is_some());
        }
    }

    /// Machine reset: priorities, enables, thresholds and claims cleared; the sources'
    /// input levels are kept (the devices lower theirs at their own reset).
    pub fn reset(&self) {
        let mut s = self.state.lock();
        s.priority = [0; N];
        s.pending = [false; N];
        s.claimed = [false; N];
        s.enable = [[false; N]; C];
        s.threshold = [0; C];
        self.update(&s);
    }

    /// Whether `source` is pending.
    pub fn is_pending(&self, source: u32) -> bool {
        let s = self.state.lock();
        s.pending.get(source as usize).copied().unwrap_or(false)
    }

    fn read32(&self, s: &mut State<N, C>, o: u64) -> u32 {
        let words = N.div_ceil(32) as u64;
        if o < 4 * N as u64 {
            return s.priority[(o / 4) as usize];
        }
        if (PENDING..PENDING + 4 * words).contains(&o) {
            return pack(&s.pending, ((o - PENDING) / 4) as usize);
        }
        if (ENABLE..ENABLE + ENABLE_STRIDE * C as u64).contains(&o) {
            let ctx = ((o - ENABLE) / ENABLE_STRIDE) as usize;
            let word = ((o - ENABLE) % ENABLE_STRIDE) / 4;
            return if word < words {
                pack(&s.enable[ctx], word as usize)
            } else {
                0
            };
        }
        if (CONTEXT..CONTEXT + CONTEXT_STRIDE * C as u64).contains(&o) {
            let ctx = ((o - CONTEXT) / CONTEXT_STRIDE) as usize;
            return match (o - CONTEXT) % CONTEXT_STRIDE {
                0 => s.threshold[ctx],
                4 => match s.best(ctx) {
                    Some(src) => {
                        s.pending[src] = false;
                        s.claimed[src] = true;
                        self.update(s);
                        src as u32
                    }
                    None => 0,
                },
                _ => 0,
            };
        }
        0
    }

    fn write32(&self, s: &mut State<N, C>, o: u64, v: u32) {
        let words = N.div_ceil(32) as u64;
        if o < 4 * N as u64 {
            if o >= 4 {
                s.priority[(o / 4) as usize] = v & MAX_PRIORITY;
            }
        } else if (ENABLE..ENABLE + ENABLE_STRIDE * C as u64).contains(&o) {
            let ctx = ((o - ENABLE) / ENABLE_STRIDE) as usize;
            let word = (((o - ENABLE) % ENABLE_STRIDE) / 4) as usize;
            if (word as u64) < words {
                for bit in 0..32 {
                    let src = word * 32 + bit;
                    if src > 0 && src < N {
                        s.enable[ctx][src] = v >> bit & 1 != 0;
                    }
                }
            }
        } else if (CONTEXT..CONTEXT + CONTEXT_STRIDE * C as u64).contains(&o) {
            let ctx = ((o - CONTEXT) / CONTEXT_STRIDE) as usize;
            match (o - CONTEXT) % CONTEXT_STRIDE {
                0 => s.threshold[ctx] = v & MAX_PRIORITY,
                4 => {
                    let src = v as usize;
                    if src > 0 && src < N && s.enable[ctx][src] && s.claimed[src] {
                        s.claimed[src] = false;
                        s.pending[src] = s.level[src];
                    }
                }
                _ => {}
            }
        }
        self.update(s);
    }
}

/// Bits `32 * word ..` of `bits`, packed.
fn pack(bits: &[bool], word: usize) -> u32 {
    let mut v = 0;
    for bit in 0..32 {
        if bits.get(word * 32 + bit).copied().unwrap_or(false) {
            v |= 1 << bit;
        }
    }
    v
}

impl<const N: usize, const C: usize> IrqSink for Plic<'_, N, C> {
    fn set_irq(&self, input: u32, level: bool) {
        let src = input as usize;
        if src == 0 || src >= N {
            return;
        }
        let mut s = self.state.lock();
        s.level[src] = level;
        // The gateway forwards a request while the input is high and the source is not
        // in service; the pending bit then stays until a claim, even if the input drops.
        if level && !s.claimed[src] {
            s.pending[src] = true;
            self.update(&s);
        }
    }
}

impl<const N: usize, const C: usize> MmioOps for Plic<'_, N, C> {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let mut s = self.state.lock();
        (
            self.read32(&mut s, offset.0) as u64 & size.value_mask(),
            MemTxResult::OK,
        )
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        let mut s = self.state.lock();
        self.write32(&mut s, offset.0, value as u32);
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
    use fief_core::cpu::riscv::{irq, HartIrqs};

    #[test]
    fn priority_threshold_enable_claim_complete() {
        let hart = HartIrqs::new();
        let p: Plic<'_, 64, 2> = Plic::new();
        p.outputs[0].connect(&hart, irq::MEI);
        p.outputs[1].connect(&hart, irq::SEI);
        let w = |o: u64, v: u64| {
            let _ = p.write(
                RegionOffset(o),
                v,
                AccessSize::Word,
                MemTxAttrs::UNSPECIFIED,
            );
        };
        let r = |o: u64| {
            p.read(RegionOffset(o), AccessSize::Word, MemTxAttrs::UNSPECIFIED)
                .0
        };
        p.set_irq(10, true);
        p.set_irq(33, true);
        assert_eq!(r(0x1000), 1 << 10);
        assert_eq!(r(0x1004), 1 << 1);
        assert_eq!(hart.pending(), 0, "priority 0 never interrupts");
        w(4 * 10, 1);
        w(4 * 33, 3);
        assert_eq!(hart.pending(), 0, "not enabled");
        w(0x2000, 1 << 10);
        w(0x2004, 1 << 1);
        assert_eq!(hart.pending(), 1 << irq::MEI);
        w(0x20_0000, 3);
        assert_eq!(hart.pending(), 0, "threshold masks both");
        w(0x20_0000, 1);
        assert_eq!(r(0x20_0004), 33);
        assert_eq!(hart.pending(), 0, "10 is at the threshold");
        w(0x20_0000, 0);
        assert_eq!(hart.pending(), 1 << irq::MEI);
        assert_eq!(r(0x20_0004), 10);
        assert_eq!(r(0x20_0004), 0, "nothing left to claim");
        assert_eq!(hart.pending(), 0);
        p.set_irq(10, false);
        w(0x20_0004, 10);
        w(0x20_0004, 33);
        assert_eq!(r(0x1000), 0, "10 went low while claimed");
        assert_eq!(r(0x1004), 1 << 1, "33 is still high: pending again");
        assert_eq!(hart.pending(), 1 << irq::MEI);
        // The S context sees it once enabled there.
        w(0x2080 + 4, 1 << 1);
        assert_eq!(hart.pending(), 1 << irq::MEI | 1 << irq::SEI);
        assert_eq!(r(0x20_1004), 33);
        assert_eq!(hart.pending(), 0);
    }
}
