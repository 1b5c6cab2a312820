//! The translating tier against the interpreter: thousands of random blocks of the
//! instructions the tier translates (RV32I/RV64I ALU, M, RV64's word operations, `lui`,
//! `auipc`, conditional branches inside the block, and a final `jal`, `jalr`, branch, CSR
//! instruction, or none), some compressed, some with a load inside (which the tier must
//! leave to the interpreter), each run from the same random register state by the
//! interpreter alone and with the tier ([`Jit`]); registers, the final `pc` and
//! `minstret` must be equal.
//!
//! Each block sits in a 256-byte slot of guest RAM; the rest of the slot is `ebreak`s,
//! where every exit of the block (a taken branch, a jump, the fall-through) lands, and
//! the hart stops there (`set_debug_ebreak`).
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::{csr, Xlen};
use fief_host::jit::Jit;
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc::{self, op};

/// Blocks per test (one slot each).
const SLOTS: usize = 3000;
/// Bytes per slot.
const SLOT: u64 = 256;
/// Where the `ebreak`s start in a slot (blocks are at most 16 four-byte instructions).
const PADS: u64 = 72;
const EBREAK: u32 = 0x0010_0073;
/// Each block is run again this many slots later.
const REVISIT: u64 = 20;

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn reg(&mut self) -> u32 {
        self.below(32) as u32
    }
    /// A destination: x1..x30 (x31 holds the slot's pad address for `jalr`).
    fn rd(&mut self) -> u32 {
        1 + self.below(30) as u32
    }
    /// A register value with the edge cases often.
    fn value(&mut self) -> u64 {
        const EDGES: [u64; 10] = [
            0,
            1,
            u64::MAX,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff,
            0x8000_0000_0000_0000,
            0x7fff_ffff_ffff_ffff,
            0xffff_ffff_8000_0000,
            31,
        ];
        match self.below(4) {
            0 => EDGES[self.below(EDGES.len() as u64) as usize],
            1 => self.below(64),
            _ => self.next(),
        }
    }
}

/// One random instruction of the translated ALU subset (4 or 2 bytes, little-endian).
fn alu(rng: &mut Rng, rv64: bool) -> Vec<u8> {
    let (rd, rs1, rs2) = (rng.rd(), rng.reg(), rng.reg());
    let imm = (rng.next() as i32) << 20 >> 20;
    let shmax = if rv64 { 64 } else { 32 };
    let word = match rng.below(if rv64 { 9 } else { 7 }) {
        0 | 1 => {
            // R-type: base and M.
            const R: [(u32, u32); 18] = [
                (0, 0),
                (0x20, 0),
                (0, 1),
                (0, 2),
                (0, 3),
                (0, 4),
                (0, 5),
                (0x20, 5),
                (0, 6),
                (0, 7),
                (1, 0),
                (1, 1),
                (1, 2),
                (1, 3),
                (1, 4),
                (1, 5),
                (1, 6),
                (1, 7),
            ];
            let (f7, f3) = R[rng.below(R.len() as u64) as usize];
            rvenc::r(op::OP, f3, f7, rd, rs1, rs2)
        }
        2 | 3 => {
            const I: [u32; 6] = [0, 2, 3, 4, 6, 7];
            rvenc::i(op::OPIMM, I[rng.below(6) as usize], rd, rs1, imm)
        }
        4 => {
            let sh = rng.below(shmax) as i32;
            match rng.below(3) {
                0 => rvenc::i(op::OPIMM, 1, rd, rs1, sh),
                1 => rvenc::i(op::OPIMM, 5, rd, rs1, sh),
                _ => rvenc::i(op::OPIMM, 5, rd, rs1, sh | 0x400),
            }
        }
        5 => rvenc::u(
            if rng.below(2) == 0 {
                op::LUI
            } else {
                op::AUIPC
            },
            rd,
            rng.next() as u32,
        ),
        6 => return compressed(rng),
        7 => {
            // RV64 OP-32: addw subw sllw srlw sraw mulw divw divuw remw remuw.
            const W: [(u32, u32); 10] = [
                (0, 0),
                (0x20, 0),
                (0, 1),
                (0, 5),
                (0x20, 5),
                (1, 0),
                (1, 4),
                (1, 5),
                (1, 6),
                (1, 7),
            ];
            let (f7, f3) = W[rng.below(W.len() as u64) as usize];
            rvenc::r(0x3b, f3, f7, rd, rs1, rs2)
        }
        _ => {
            // RV64 OP-IMM-32: addiw slliw srliw sraiw.
            let sh = rng.below(32) as i32;
            match rng.below(4) {
                0 => rvenc::i(0x1b, 0, rd, rs1, imm),
                1 => rvenc::i(0x1b, 1, rd, rs1, sh),
                2 => rvenc::i(0x1b, 5, rd, rs1, sh),
                _ => rvenc::i(0x1b, 5, rd, rs1, sh | 0x400),
            }
        }
    };
    word.to_le_bytes().to_vec()
}

/// A random compressed ALU instruction (both XLENs).
fn compressed(rng: &mut Rng) -> Vec<u8> {
    let c = 8 + rng.below(8) as u32;
    let c2 = 8 + rng.below(8) as u32;
    let imm = (rng.below(64) as i32) << 26 >> 26;
    let h = match rng.below(6) {
        0 => rvenc::ci(0, rng.rd(), imm),
        1 => rvenc::ci(2, rng.rd(), imm),
        2 => rvenc::carith(rng.below(4) as u16, c, c2),
        3 => rvenc::cmv_add(rng.below(2) == 0, rng.rd(), 1 + rng.below(31) as u32),
        4 => rvenc::cslli(rng.rd(), 1 + rng.below(31) as u32),
        // c.srli, c.srai (shift amounts 1..31: bit 5 is reserved on RV32), c.andi.
        _ => match rng.below(3) as u16 {
            2 => rvenc::cshift_andi(2, c, imm),
            kind => rvenc::cshift_andi(kind, c, 1 + rng.below(31) as i32),
        },
    };
    h.to_le_bytes().to_vec()
}

/// A conditional branch at `at` (slot offset) to a random pad of the slot.
fn branch(rng: &mut Rng, at: u64) -> u32 {
    const F3: [u32; 6] = [0, 1, 4, 5, 6, 7];
    let target = PADS + 4 * rng.below((SLOT - PADS) / 4);
    rvenc::b(
        F3[rng.below(6) as usize],
        rng.reg(),
        rng.reg(),
        (target as i64 - at as i64) as i32,
    )
}

/// One random block's bytes (at most `PADS` long) for a slot.
fn block(rng: &mut Rng, rv64: bool) -> Vec<u8> {
    let mut code = Vec::new();
    let n = 1 + rng.below(14);
    for _ in 0..n {
        let pick = rng.below(16);
        let insn = if pick == 0 {
            branch(rng, code.len() as u64).to_le_bytes().to_vec()
        } else if pick == 1 && rng.below(4) == 0 {
            // A load: the tier must leave the block to the interpreter.
            rvenc::i(op::LOAD, 2, rng.rd(), 31, 0)
                .to_le_bytes()
                .to_vec()
        } else {
            alu(rng, rv64)
        };
        code.extend(insn);
    }
    let at = code.len() as u64;
    let last = match rng.below(6) {
        0 => None,
        1 => Some(rvenc::jal(
            rng.reg(),
            (PADS + 4 * rng.below((SLOT - PADS) / 4)) as i32 - at as i32,
        )),
        2 => Some(rvenc::jalr(
            rng.reg(),
            31,
            4 * rng.below((SLOT - PADS) / 4) as i32,
        )),
        3 => Some(branch(rng, at)),
        // csrrs rd, mscratch, rs1: the general path, after the translated part.
        4 => Some(rvenc::csr(2, rng.rd(), rng.reg(), csr::num::MSCRATCH)),
        _ => Some(rvenc::r(op::OP, 0, 0, rng.rd(), rng.reg(), rng.reg())),
    };
    if let Some(w) = last {
        code.extend(w.to_le_bytes());
    }
    assert!(code.len() as u64 <= PADS);
    code
}

/// The outcome of one run: registers x0..x31, `pc`, instructions retired.
fn run(m: &mut Machine, jit: Option<&mut Jit>, regs: &[u64; 32], pc: u64) -> ([u64; 32], u64, u64) {
    for (i, &v) in regs.iter().enumerate() {
        m.hart.set_reg(i, v);
    }
    m.hart.set_pc(pc);
    m.hart.set_csr(csr::num::MSCRATCH, 0x5a5a_1234).unwrap();
    let before = m.hart.csr(csr::num::MINSTRET).unwrap();
    let r = match jit {
        Some(j) => m.run_with(1000, j).unwrap(),
        None => m.run(1000).unwrap(),
    };
    let mut out = [0; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = m.hart.reg(i);
    }
    let after = m.hart.csr(csr::num::MINSTRET).unwrap();
    (out, r.pc, after.wrapping_sub(before))
}

/// Runs `SLOTS` random blocks under both tiers and compares; returns the tier.
fn differential(xlen: Xlen, seed: u64, jit: Jit) -> Jit {
    let rv64 = xlen == Xlen::Rv64;
    let mut rng = Rng(seed);
    let mut ram = Vec::with_capacity(SLOTS * SLOT as usize);
    for _ in 0..SLOTS {
        let mut slot = block(&mut rng, rv64);
        if !slot.len().is_multiple_of(4) {
            slot.extend(0x0001u16.to_le_bytes()); // c.nop
        }
        while (slot.len() as u64) < SLOT {
            slot.extend(EBREAK.to_le_bytes());
        }
        ram.extend(slot);
    }
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, ram.clone(), ram.len() as u64)],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    let mut jit = jit;
    let mut seen = Vec::with_capacity(SLOTS);
    for s in 0..SLOTS as u64 {
        let base = RAM_BASE + s * SLOT;
        let mut regs = [0u64; 32];
        for r in regs.iter_mut().skip(1) {
            *r = rng.value();
        }
        regs[31] = base + PADS;
        let want = run(&mut m, None, &regs, base);
        let got = run(&mut m, Some(&mut jit), &regs, base);
        let mask = if rv64 { u64::MAX } else { 0xffff_ffff };
        let regs_masked: Vec<u64> = regs.iter().map(|v| v & mask).collect();
        assert_eq!(
            got,
            want,
            "{xlen:?} seed {seed:#x} slot {s}: block {:02x?} from registers {regs_masked:x?}: \
             (registers, pc, retired) with the tier differ from the interpreter's",
            &ram[(s * SLOT) as usize..(s * SLOT + PADS) as usize]
        );
        // The run ended on one of the slot's `ebreak`s, not somewhere else.
        let off = want.1.wrapping_sub(RAM_BASE) as usize;
        assert!(
            (base..base + SLOT).contains(&want.1) && ram[off..off + 4] == EBREAK.to_le_bytes(),
            "slot {s}: ended at {:#x} (mcause {:#x}): block {:02x?}",
            want.1,
            m.hart.csr(csr::num::MCAUSE).unwrap(),
            &ram[(s * SLOT) as usize..(s * SLOT + PADS) as usize]
        );
        seen.push((regs, want));
        // An earlier block again: its translation is reused, or made again when the pool
        // slot was decoded anew or the code cache flushed since.
        if s >= REVISIT {
            let (regs, want) = seen[(s - REVISIT) as usize];
            let got = run(&mut m, Some(&mut jit), &regs, base - REVISIT * SLOT);
            assert_eq!(
                got,
                want,
                "{xlen:?} seed {seed:#x} slot {} again",
                s - REVISIT
            );
        }
    }
    jit
}

#[test]
fn rv32_random_blocks_match_the_interpreter() {
    let jit = differential(
        Xlen::Rv32,
        0x1234_5678_9abc_def1,
        Jit::new(Xlen::Rv32, 4).unwrap(),
    );
    let st = jit.stats();
    // Most blocks are translated and run in generated code; the ones with a load are not.
    assert!(st.translated > SLOTS as u64 / 2, "{st:?}");
    assert!(st.declined > 10, "{st:?}");
    assert!(st.runs >= st.translated, "{st:?}");
}

#[test]
fn rv64_random_blocks_match_the_interpreter() {
    let jit = differential(
        Xlen::Rv64,
        0x0fed_cba9_8765_4321,
        Jit::new(Xlen::Rv64, 4).unwrap(),
    );
    let st = jit.stats();
    assert!(st.translated > SLOTS as u64 / 2, "{st:?}");
    assert!(st.declined > 10, "{st:?}");
}

#[test]
fn a_full_code_cache_is_flushed_whole_and_blocks_translated_again() {
    // 2 KiB holds about 20 blocks: the 3000 fill it many times over, and a block run
    // again 20 slots (about 45 translations) later finds its code overwritten.
    let jit = differential(
        Xlen::Rv32,
        0x5555_aaaa_1111_eeee,
        Jit::with_cache_bytes(Xlen::Rv32, 2048).unwrap(),
    );
    eprintln!("{:?} flushes {}", jit.stats(), jit.flushes());
    assert!(
        jit.flushes() > 10,
        "{:?} flushes {}",
        jit.stats(),
        jit.flushes()
    );
}
