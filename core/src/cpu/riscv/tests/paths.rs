//! The block executor against the one-instruction path: `run_block` and `execute_fast`
//! implement the same ALU, M, branch, load and store operations twice (on purpose, for
//! speed: `hart.rs` says why), so random programs run once from RAM (decoded blocks) and
//! once from a device that serves the code over MMIO (no host page, so fetch, decode and
//! `execute_fast` one instruction at a time) must leave the same registers and memory.
//! The bit-manipulation and conditional-zero operations are among them: blocks run them
//! without ending. So are, on RV64, the word operations, `ld`/`lwu`/`sd`, 64-bit shifts
//! and the RV64C forms (`c.ld`, `c.sd`, `c.ldsp`, `c.sdsp`, `c.addiw`, `c.addw`, `c.subw`).

use std::vec;
use std::vec::Vec;

use super::asm::*;
use super::{machine, RAM_BASE};
use crate::cpu::riscv::{csr::num, Exit, Hart, Xlen};
use crate::memory::{AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset};

/// Where the MMIO copy of the code sits.
const CODE_BASE: u64 = 0x3000_0000;
/// The data area the loads and stores use (x31 points at it); a page boundary lies in its
/// middle, so misaligned accesses cross it too.
const DATA: u64 = RAM_BASE + 0x8000 - 256;
const DATA_LEN: usize = 512;

/// A device whose reads return the program (little-endian), for the one-instruction path.
struct CodeDevice(Vec<u8>);

impl MmioOps for CodeDevice {
    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let at = offset.0 as usize;
        let n = size.bytes() as usize;
        let mut v = 0u64;
        for k in (0..n).rev() {
            v = v << 8 | *self.0.get(at + k).unwrap_or(&0) as u64;
        }
        (v, MemTxResult::OK)
    }
    fn write(&self, _: RegionOffset, _: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        MemTxResult::OK
    }
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One random instruction of the operations both paths run (no jumps, no `auipc`: their
/// results depend on where the code is). `rd` is x1..x30; x31 holds the data base.
fn random_insn(rng: &mut XorShift, rv64: bool) -> u32 {
    let rd = pick_rd(rng, rv64);
    let rs1 = rng.below(32) as u32;
    let rs2 = rng.below(32) as u32;
    let imm = (rng.next() as i32) >> 20; // -2048..2047
    match rng.below(10) {
        0 | 1 => {
            const ALU: [(u32, u32); 10] = [
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
            ];
            let (f7, f3) = ALU[rng.below(10) as usize];
            op(f7, f3, rd, rs1, rs2)
        }
        2 => op(1, rng.below(8) as u32, rd, rs1, rs2), // M
        3 => {
            let f3 = [0, 2, 3, 4, 6, 7][rng.below(6) as usize];
            i(imm, rs1, f3, rd, 0x13)
        }
        4 => {
            let sh = rng.below(32) as i32;
            match rng.below(3) {
                0 => i(sh, rs1, 1, rd, 0x13),
                1 => i(sh, rs1, 5, rd, 0x13),
                _ => i(0x400 | sh, rs1, 5, rd, 0x13),
            }
        }
        5 => lui(rd, (rng.next() as u32) & 0xffff_f000),
        6 => {
            // A forward branch over the next instruction, taken or not.
            let f3 = [0, 1, 4, 5, 6, 7][rng.below(6) as usize];
            b(8, rs2, rs1, f3)
        }
        7 | 8 if cfg!(feature = "ext") => {
            // Zba, Zbb, Zbc, Zbs, Zicond (RV32 encodings): run inside blocks by
            // `bitmanip::alu`, one at a time by `execute_fast`.
            const RR: [(u32, u32); 23] = [
                (0x10, 2),
                (0x10, 4),
                (0x10, 6),
                (0x20, 7),
                (0x20, 6),
                (0x20, 4),
                (0x05, 1),
                (0x05, 2),
                (0x05, 3),
                (0x05, 4),
                (0x05, 5),
                (0x05, 6),
                (0x05, 7),
                (0x30, 1),
                (0x30, 5),
                (0x24, 1),
                (0x24, 5),
                (0x34, 1),
                (0x14, 1),
                (0x07, 5),
                (0x07, 7),
                (0x04, 4), // zext.h (rs2 = 0 below)
                (0x04, 4),
            ];
            // clz, ctz, cpop, sext.b, sext.h; orc.b, rev8; rori, bclri, bseti, binvi, bexti.
            const UNARY: [(u32, u32); 7] = [
                (0x600, 1),
                (0x601, 1),
                (0x602, 1),
                (0x604, 1),
                (0x605, 1),
                (0x287, 5),
                (0x698, 5),
            ];
            const IMM: [(u32, u32); 5] = [(0x30, 5), (0x24, 1), (0x14, 1), (0x34, 1), (0x24, 5)];
            match rng.below(3) {
                0 => {
                    let (f7, f3) = RR[rng.below(RR.len() as u64) as usize];
                    let rs2 = if f7 == 0x04 { 0 } else { rs2 };
                    op(f7, f3, rd, rs1, rs2)
                }
                1 => {
                    let (imm, f3) = UNARY[rng.below(UNARY.len() as u64) as usize];
                    i(imm as i32, rs1, f3, rd, 0x13)
                }
                _ => {
                    let (f7, f3) = IMM[rng.below(IMM.len() as u64) as usize];
                    i((f7 << 5 | rng.below(32) as u32) as i32, rs1, f3, rd, 0x13)
                }
            }
        }
        _ => {
            // A load or store in the data area: aligned, or at any offset (half the time),
            // some across the page boundary in its middle.
            let (f3, size) = [(0, 1), (1, 2), (2, 4), (4, 1), (5, 2)][rng.below(5) as usize];
            let off = rng.below((DATA_LEN - 8) as u64) as i32;
            let off = if rng.below(2) == 0 {
                off & !(size - 1)
            } else {
                off
            };
            if rng.below(2) == 0 {
                i(off, 31, f3, rd, 0x03)
            } else {
                s(off, rs2, 31, f3.min(2), 0x23)
            }
        }
    }
}

/// A destination register: x1..x30, and on RV64 neither x2 nor x8, the bases of the
/// compressed stack and register-relative accesses.
fn pick_rd(rng: &mut XorShift, rv64: bool) -> u32 {
    loop {
        let rd = 1 + rng.below(30) as u32;
        if !rv64 || (rd != 2 && rd != 8) {
            return rd;
        }
    }
}

/// `c.ld rd', uimm(rs1')` (registers x8 + `rd`, x8 + `rs1`; `uimm` a multiple of 8 below
/// 256), and with `store` `c.sd`.
fn c_ld_sd(store: bool, rd: u32, rs1: u32, uimm: u32) -> u32 {
    let f3 = if store { 0b111 } else { 0b011 };
    f3 << 13 | ((uimm >> 3) & 7) << 10 | rs1 << 7 | ((uimm >> 6) & 3) << 5 | rd << 2
}

/// `c.ldsp rd, uimm(sp)` (`uimm` a multiple of 8 below 512).
fn c_ldsp(rd: u32, uimm: u32) -> u32 {
    0b011 << 13
        | ((uimm >> 5) & 1) << 12
        | rd << 7
        | ((uimm >> 3) & 3) << 5
        | ((uimm >> 6) & 7) << 2
        | 0b10
}

/// `c.sdsp rs2, uimm(sp)`.
fn c_sdsp(rs2: u32, uimm: u32) -> u32 {
    0b111 << 13 | ((uimm >> 3) & 7) << 10 | ((uimm >> 6) & 7) << 7 | rs2 << 2 | 0b10
}

/// One random RV64C instruction of those both paths run.
fn random_c64(rng: &mut XorShift) -> u32 {
    let rd = pick_rd(rng, true);
    let rdp = 1 + rng.below(7) as u32; // x9..x15
    let rsp = rng.below(8) as u32;
    match rng.below(6) {
        0 => c_ld_sd(false, rdp, 0, 8 * rng.below(32) as u32),
        1 => c_ld_sd(true, rsp, 0, 8 * rng.below(32) as u32),
        2 => c_ldsp(rd, 8 * rng.below(64) as u32),
        3 => c_sdsp(rng.below(32) as u32, 8 * rng.below(64) as u32),
        4 => {
            // c.addiw rd, imm (-32..31)
            let imm = rng.below(64) as u32;
            0b001 << 13 | (imm >> 5) << 12 | rd << 7 | (imm & 0x1f) << 2 | 0b01
        }
        _ => {
            // c.subw / c.addw rd', rs2'
            let add = rng.below(2) as u32;
            0b100 << 13 | 1 << 12 | 0b11 << 10 | rdp << 7 | add << 5 | rsp << 2 | 0b01
        }
    }
}

/// One random 32-bit word of RV64 code: an instruction of [`random_insn`]'s, a word
/// operation, a 64-bit shift, `ld`/`lwu`/`sd`, or two RV64C instructions.
fn random_insn64(rng: &mut XorShift) -> u32 {
    let rd = pick_rd(rng, true);
    let rs1 = rng.below(32) as u32;
    let rs2 = rng.below(32) as u32;
    let imm = (rng.next() as i32) >> 20;
    match rng.below(12) {
        0..=4 => random_insn(rng, true),
        5 | 6 => {
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
            let (f7, f3) = W[rng.below(10) as usize];
            r(f7, rs2, rs1, f3, rd, 0x3b)
        }
        7 => {
            let sh = rng.below(32) as i32;
            match rng.below(4) {
                0 => i(imm, rs1, 0, rd, 0x1b),
                1 => i(sh, rs1, 1, rd, 0x1b),
                2 => i(sh, rs1, 5, rd, 0x1b),
                _ => i(0x400 | sh, rs1, 5, rd, 0x1b),
            }
        }
        8 => {
            let sh = rng.below(64) as i32;
            match rng.below(3) {
                0 => i(sh, rs1, 1, rd, 0x13),
                1 => i(sh, rs1, 5, rd, 0x13),
                _ => i(0x400 | sh, rs1, 5, rd, 0x13),
            }
        }
        9 => {
            let off = rng.below((DATA_LEN - 8) as u64) as i32;
            let off = if rng.below(2) == 0 { off & !7 } else { off };
            match rng.below(3) {
                0 => i(off, 31, 3, rd, 0x03),
                1 => i(off, 31, 6, rd, 0x03),
                _ => s(off, rs2, 31, 3, 0x23),
            }
        }
        _ => random_c64(rng) | random_c64(rng) << 16,
    }
}

/// Runs `code` with `regs` and `data` from RAM or from the code device; gives the
/// registers, the `pc` relative to the code's start, and the data area after.
fn run(
    code: &[u32],
    regs: &[u64; 32],
    data: &[u8],
    from_mmio: bool,
    xlen: Xlen,
) -> (Vec<u64>, u64, Vec<u8>) {
    let mut ram = vec![0u8; 0x10000];
    for (k, w) in code.iter().enumerate() {
        ram[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    let d = (DATA - RAM_BASE) as usize;
    ram[d..d + DATA_LEN].copy_from_slice(data);
    let device = CodeDevice(code.iter().flat_map(|w| w.to_le_bytes()).collect());
    let (mem, id) = machine(&mut ram, None, &[(CODE_BASE, &device)]);
    let base = if from_mmio { CODE_BASE } else { RAM_BASE };
    let (out, pc) = {
        let space = mem.space(id).unwrap();
        let sec = space.section().unwrap();
        let mut h = Hart::new(0, xlen, base);
        h.set_debug_ebreak(true);
        for (k, &v) in regs.iter().enumerate() {
            h.set_reg(k, v);
        }
        h.set_reg(31, DATA);
        if xlen == Xlen::Rv64 {
            // The bases of c.ldsp/c.sdsp and c.ld/c.sd (`random_c64`).
            h.set_reg(2, DATA);
            h.set_reg(8, DATA + 128);
        }
        // A trap ends the program too, at the last ebreak.
        let last = base + 4 * (code.len() as u64 - 1);
        h.set_csr(num::MTVEC, last).unwrap();
        let exit = h.run(&sec, 10_000);
        assert!(
            matches!(exit, Exit::Breakpoint(_)),
            "{exit:?} (mmio {from_mmio}): mcause {:?} mepc {:?} mtval {:?}",
            h.csr(num::MCAUSE),
            h.csr(num::MEPC),
            h.csr(num::MTVAL)
        );
        let mut state: Vec<u64> = (0..32).map(|k| h.reg(k)).collect();
        let trapped = h.last_trap().count != 0;
        state.push(h.csr(num::MCAUSE).unwrap());
        state.push(if trapped {
            h.csr(num::MEPC).unwrap() - base
        } else {
            0
        });
        state.push(h.csr(num::MTVAL).unwrap());
        (state, h.pc() - base)
    };
    drop(mem);
    (out, pc, ram[d..d + DATA_LEN].to_vec())
}

#[test]
fn block_executor_and_one_instruction_path_agree_on_random_programs() {
    let mut rng = XorShift(0x5eed_1234_abcd_0001);
    // A few under Miri, where each machine takes seconds to build.
    let programs = if cfg!(miri) { 2 } else { 300 };
    for program in 0..programs {
        let mut code: Vec<u32> = (0..40).map(|_| random_insn(&mut rng, false)).collect();
        code.push(EBREAK);
        code.push(EBREAK); // a branch over the first ebreak lands on this one
        let mut regs = [0u64; 32];
        for r in regs.iter_mut().skip(1) {
            // Small values too, so that shifts, divisions and comparisons hit edge cases.
            *r = match rng.below(4) {
                0 => rng.below(8),
                1 => (rng.next() as i32 >> rng.below(32)) as u32 as u64,
                _ => rng.next() & 0xffff_ffff,
            };
        }
        let data: Vec<u8> = (0..DATA_LEN).map(|_| rng.next() as u8).collect();
        let blocks = run(&code, &regs, &data, false, Xlen::Rv32);
        let single = run(&code, &regs, &data, true, Xlen::Rv32);
        assert_eq!(blocks, single, "program {program}: {code:08x?}");
    }
}

#[test]
fn block_executor_and_one_instruction_path_agree_on_random_rv64_programs() {
    let mut rng = XorShift(0x5eed_6464_abcd_0002);
    let programs = if cfg!(miri) { 2 } else { 300 };
    let mut clean = 0;
    for program in 0..programs {
        let mut code: Vec<u32> = (0..40).map(|_| random_insn64(&mut rng)).collect();
        code.push(EBREAK);
        code.push(EBREAK);
        let mut regs = [0u64; 32];
        for r in regs.iter_mut().skip(1) {
            // Small values, sign-extended words and full doublewords: the word operations'
            // edge cases (overflow, division by zero and -1) and the 64-bit ones.
            *r = match rng.below(5) {
                0 => rng.below(8),
                1 => (rng.next() as i32 >> rng.below(32)) as i64 as u64,
                2 => [i32::MIN as i64 as u64, u64::MAX, 1 << 63][rng.below(3) as usize],
                _ => rng.next(),
            };
        }
        let data: Vec<u8> = (0..DATA_LEN).map(|_| rng.next() as u8).collect();
        let blocks = run(&code, &regs, &data, false, Xlen::Rv64);
        let single = run(&code, &regs, &data, true, Xlen::Rv64);
        assert_eq!(blocks, single, "program {program}: {code:08x?}");
        clean += (blocks.0[32] == 0) as u32; // mcause: no trap
    }
    // Most programs run to the end without a trap (an illegal encoding ends one early).
    assert!(
        clean > programs / 2,
        "{clean} of {programs} ran without a trap"
    );
}
