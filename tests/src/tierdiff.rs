//! The random programs of [`randprog`](crate::randprog) under the two execution tiers:
//! each batch runs on the test machine with the interpreter alone and with the host's
//! translating tier ([`fief_host::jit::Jit`]), and everything observable must agree: every
//! program's output (its trap records, registers, CSRs and data-area checksums, or every
//! data word with `full_dump`), the finisher's status, and at the end the whole integer
//! register file, `pc`, `minstret`, `mcycle`, the instructions retired and every byte of the
//! batch's RAM.
//!
//! No QEMU is involved, so batches are cheap: `tests/tests/random_tier.rs` runs a few
//! hundred programs of every generator at both XLENs, and `scripts/diff-random --tier`
//! (the `diff-random --tier` binary) runs thousands.

use std::fmt;

use fief_core::cpu::riscv::csr;
use fief_core::cpu::riscv::tier::Interp;
use fief_host::jit::{Jit, JitStats, DEFAULT_TB_SIZE_MIB};

use crate::machine::{Image, Machine, RunResult, RAM_BASE};
use crate::randdiff::{split, BUDGET_PER_PROGRAM};
use crate::randprog::Batch;

/// One thing that differs between the tiers.
#[derive(Clone, Debug)]
pub struct TierMismatch {
    /// The batch's seed.
    pub seed: u64,
    /// The program's index in the batch, or `None` for the state at the end of the batch.
    pub program: Option<usize>,
    /// The interpreter's output or state.
    pub interp: String,
    /// The translating tier's.
    pub tcg: String,
}

impl fmt::Display for TierMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.program {
            Some(k) => writeln!(
                f,
                "seed {:#x} program {k}: the interpreter and the translating tier differ",
                self.seed
            )?,
            None => writeln!(
                f,
                "seed {:#x}: the state at the end differs between the interpreter and the \
                 translating tier",
                self.seed
            )?,
        }
        let (il, tl): (Vec<&str>, Vec<&str>) =
            (self.interp.lines().collect(), self.tcg.lines().collect());
        for k in 0..il.len().max(tl.len()) {
            let (a, b) = (il.get(k).copied(), tl.get(k).copied());
            if a != b {
                writeln!(f, "  interp: {}", a.unwrap_or("<none>"))?;
                writeln!(f, "  tcg:    {}", b.unwrap_or("<none>"))?;
            } else {
                writeln!(f, "          {}", a.unwrap_or(""))?;
            }
        }
        Ok(())
    }
}

/// What a batch left behind on one tier.
struct Outcome {
    result: RunResult,
    /// x0..x31, `pc`, `minstret`, `mcycle`, one per line.
    state: String,
    /// The batch's RAM (every program's slot: code, data, page tables) at the end.
    memory: Vec<u8>,
}

fn run(batch: &Batch, jit: Option<&mut Jit>) -> Outcome {
    let image = Image {
        xlen: batch.xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, batch.image.clone(), batch.image.len() as u64)],
    };
    let mut m = Machine::new(&image).expect("the image fits the test machine");
    let budget = BUDGET_PER_PROGRAM * batch.programs as u64;
    let result = match jit {
        Some(j) => m.run_with(budget, j),
        None => m.run_with(budget, &mut Interp),
    }
    .expect("the machine runs");
    let mut state = String::new();
    for i in 0..32 {
        state.push_str(&format!("x{i} {:#x}\n", m.hart.reg(i)));
    }
    state.push_str(&format!("pc {:#x}\n", m.hart.pc()));
    for (name, n) in [
        ("minstret", csr::num::MINSTRET),
        ("mcycle", csr::num::MCYCLE),
    ] {
        state.push_str(&format!("{name} {:#x?}\n", m.hart.csr(n)));
    }
    state.push_str(&format!(
        "retired {} finisher {:?}\n",
        result.instructions, result.finish
    ));
    let memory = m
        .read_mem(RAM_BASE, batch.image.len())
        .expect("the machine's RAM reads");
    Outcome {
        result,
        state,
        memory,
    }
}

/// Runs `batch` under the interpreter and under a fresh translating tier and compares them
/// (see the [module docs](self)), twice: the tier loading through the RAM window as it
/// does in M-mode, then without it, through the TLB's fast view and memos as at S and U
/// level (`Jit::with_ram_window`), which the programs (all M-mode) would not reach
/// otherwise: the first tier's counters, or the first difference. Also a difference:
/// either side not finishing every program with a pass.
pub fn compare_tiers(batch: &Batch) -> Result<JitStats, Box<TierMismatch>> {
    let mut jit = Jit::new(batch.xlen, DEFAULT_TB_SIZE_MIB)
        .expect("the code cache is mapped")
        .with_hot_runs(1);
    compare_tiers_with(batch, &mut jit)?;
    let mut tlb_only = Jit::new(batch.xlen, DEFAULT_TB_SIZE_MIB)
        .expect("the code cache is mapped")
        .with_hot_runs(1)
        .with_ram_window(false);
    compare_tiers_with(batch, &mut tlb_only)?;
    Ok(jit.stats())
}

/// [`compare_tiers`] with a given translating tier (a small code cache, to see flushes).
pub fn compare_tiers_with(batch: &Batch, jit: &mut Jit) -> Result<(), Box<TierMismatch>> {
    let i = run(batch, None);
    let t = run(batch, Some(jit));
    let (ic, tc) = (
        String::from_utf8_lossy(&i.result.console).into_owned(),
        String::from_utf8_lossy(&t.result.console).into_owned(),
    );
    let (ip, tp) = (split(&ic), split(&tc));
    let mismatch = |program, interp: String, tcg: String| {
        Err(Box::new(TierMismatch {
            seed: batch.seed,
            program,
            interp,
            tcg,
        }))
    };
    for k in 0..ip.len().max(tp.len()) {
        let (a, b) = (ip.get(k), tp.get(k));
        if a != b {
            return mismatch(
                Some(k),
                a.cloned().unwrap_or_default(),
                b.cloned().unwrap_or_default(),
            );
        }
    }
    if i.state != t.state {
        return mismatch(None, i.state, t.state);
    }
    if let Some(at) = (0..i.memory.len())
        .step_by(8)
        .find(|&k| i.memory[k..k + 8] != t.memory[k..k + 8])
    {
        let word = |m: &[u8]| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&m[at..at + 8]);
            format!(
                "memory at {:#x}: {:#018x}\n",
                RAM_BASE + at as u64,
                u64::from_le_bytes(w)
            )
        };
        return mismatch(None, word(&i.memory), word(&t.memory));
    }
    if ip.len() != batch.programs || i.result.exit_code != Some(0) {
        return mismatch(
            Some(ip.len()),
            format!("{} programs, finisher {:?}\n", ip.len(), i.result.finish),
            format!("{} programs, finisher {:?}\n", tp.len(), t.result.finish),
        );
    }
    Ok(())
}
