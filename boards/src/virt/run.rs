//! The deterministic run loop of a `virt` board ([`Virt::run`]): every hart on the
//! calling thread, round robin, with virtual time.

use fief_core::cpu::riscv::{csr, Exit, Hart};

use super::{Virt, MAX_HARTS, RUN_DMA_CHUNKS};
use crate::finisher::Finish;

/// How a [`Virt::run`] ended.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunOutcome {
    /// The guest wrote the finisher.
    Finished(Finish),
    /// The instruction budget is used up.
    Budget,
    /// Every hart waits in `wfi` with no timer armed: nothing will ever happen.
    Idle,
    /// A hart hit `ebreak` in debug mode.
    Breakpoint {
        /// Which hart.
        hart: usize,
        /// Where.
        pc: u64,
    },
}

impl<'a> Virt<'a> {
    /// Runs `harts` deterministically on this thread, round robin in slices of `slice`
    /// instructions, for about `max_insns` instructions in all: with no clock connected,
    /// `mtime` advances by one tick per retired instruction (of hart 0's turn), and when
    /// every hart waits in `wfi`, time jumps to the next armed `mtimecmp`.
    pub fn run(&self, harts: &mut [Hart<'a>], max_insns: u64, slice: u64) -> RunOutcome {
        let clint = &self.devices.clint;
        let mut executed = 0u64;
        let mut waiting = [false; MAX_HARTS];
        let slice = slice.max(1);
        while executed < max_insns {
            if let Some(f) = self.finish() {
                return RunOutcome::Finished(f);
            }
            let mut ran = false;
            for (i, hart) in harts.iter_mut().enumerate().take(MAX_HARTS) {
                let mie = hart.csr(csr::num::MIE).unwrap_or(0) as u32;
                // A hart's own timer (Sstc's `stimecmp`) wakes it too.
                let own_timer = hart.timer_deadline().is_some_and(|d| clint.mtime() >= d);
                if waiting[i] && hart.irqs().pending() & mie == 0 && !own_timer {
                    continue;
                }
                waiting[i] = false;
                ran = true;
                let budget = slice.min(max_insns - executed);
                let before = hart.csr(csr::num::MINSTRET).unwrap_or(0);
                hart.set_time(clint.mtime());
                let exit = match self.space().section() {
                    Some(section) => hart.run(&section, budget),
                    None => return RunOutcome::Idle,
                };
                let retired = hart
                    .csr(csr::num::MINSTRET)
                    .unwrap_or(0)
                    .wrapping_sub(before)
                    & 0xffff_ffff;
                let retired = match exit {
                    Exit::BudgetExhausted => budget,
                    _ => retired.clamp(1, budget),
                };
                executed += retired;
                if i == 0 {
                    clint.advance(retired);
                }
                self.devices.rtc.update();
                self.dma_poll(RUN_DMA_CHUNKS);
                self.virtio_poll();
                match exit {
                    Exit::Wfi => waiting[i] = true,
                    Exit::Breakpoint(pc) => return RunOutcome::Breakpoint { hart: i, pc },
                    Exit::Stopped | Exit::BudgetExhausted => {}
                }
                if let Some(f) = self.finish() {
                    return RunOutcome::Finished(f);
                }
                if executed >= max_insns {
                    break;
                }
            }
            if !ran && (self.dma_poll(RUN_DMA_CHUNKS) != 0 || self.virtio_poll()) {
                // Everyone sleeps, but DMA is moving: its interrupts may wake them.
                continue;
            }
            if !ran && harts_woken_by_dma(harts, &waiting) {
                continue;
            }
            if !ran {
                // Everyone sleeps: jump to the next timer deadline, or give up.
                let now = clint.mtime();
                let next = harts
                    .iter()
                    .filter_map(|h| h.timer_deadline())
                    .filter(|&d| d > now)
                    .chain(clint.next_deadline())
                    .min();
                match next {
                    Some(deadline) => clint.advance(deadline - now),
                    None => return RunOutcome::Idle,
                }
            }
        }
        match self.finish() {
            Some(f) => RunOutcome::Finished(f),
            None => RunOutcome::Budget,
        }
    }
}

/// Whether a waiting hart has an enabled interrupt pending now (a DMA completion raised in
/// the last poll).
fn harts_woken_by_dma(harts: &[Hart<'_>], waiting: &[bool; MAX_HARTS]) -> bool {
    harts.iter().enumerate().take(MAX_HARTS).any(|(i, hart)| {
        let mie = hart.csr(csr::num::MIE).unwrap_or(0) as u32;
        waiting[i] && hart.irqs().pending() & mie != 0
    })
}
