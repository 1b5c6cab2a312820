//! Privileged behaviour, one module per feature: `traps` (CSRs, traps and delegation,
//! interrupts, `wfi`), `access` (misaligned accesses, LR/SC and AMOs), `sv32`
//! (translation, the TLB, cache-block operations), `pmp`, `counters` and `debug` (the
//! debugger's points). This module holds their shared trap-handler harness.

use std::vec;

mod access;
mod counters;
mod debug;
mod pmp;
mod sv32;
mod traps;

use super::asm::*;
use super::{with_machine, RAM_BASE};
use crate::cpu::riscv::csr::num;
use crate::cpu::riscv::{Exit, Hart, Xlen};

/// Handler at word 32 of RAM: x20 = mcause, x21 = mtval, x22 = mepc, then `ebreak`.
const HANDLER: u64 = RAM_BASE + 32 * 4;

/// Opens PMP entry 0 over all memory (NAPOT, RWX), as firmware does before it runs S or U
/// code: with no entry matching, S- and U-mode accesses fail (`pmp`).
pub(super) fn open_pmp(h: &mut Hart<'_>) {
    h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
    h.set_csr(num::PMPCFG0, 0x1f).unwrap();
}

pub(super) fn with_handler(
    prog: &[u32],
    f: impl FnOnce(&mut Hart<'static>, super::Sec<'_, '_, '_>),
) {
    let mut image = vec![NOP; 40];
    image[..prog.len()].copy_from_slice(prog);
    image[32] = csrr(20, num::MCAUSE);
    image[33] = csrr(21, num::MTVAL);
    image[34] = csrr(22, num::MEPC);
    image[35] = EBREAK;
    with_machine(0x10000, &[(0, &image)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, HANDLER).unwrap();
        open_pmp(&mut h);
        f(&mut h, sec);
    });
}

pub(super) fn run_to_break(h: &mut Hart<'_>, sec: super::Sec<'_, '_, '_>) {
    let exit = h.run(sec, 1000);
    assert!(
        matches!(exit, Exit::Breakpoint(_)),
        "{exit:?} at {:#x}",
        h.pc()
    );
}
