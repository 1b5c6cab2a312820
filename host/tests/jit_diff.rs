//! The translating tier against the interpreter: thousands of random blocks of the
//! instructions the tier translates (RV32I/RV64I ALU, M, RV64's word operations, `lui`,
//! `auipc`, loads and stores, conditional branches inside the block, and a final `jal`,
//! `jalr`, branch, CSR instruction, or none), some compressed, each run from the same
//! random register and memory state by the interpreter alone and with the tier ([`Jit`]);
//! registers, the final `pc`, `minstret`, the trap record and guest memory (the data
//! pages and the block's own slot) must be equal.
//!
//! The loads and stores cover the TLB fast path (a data area of two RAM pages through
//! `x30`), misses (the TLB starts empty in every run), misaligned addresses, MMIO (the
//! UART's scratch register through `x28`), access faults (random base registers, stores
//! near address 0) and stores into the running block's own code (`sw x29` over a later
//! instruction, which must end the block so that the new instruction runs).
//!
//! Each block sits in a 256-byte slot of guest RAM; the rest of the slot is `ebreak`s,
//! where every exit of the block (a taken branch, a jump, the fall-through) lands, and
//! the hart stops there (`set_debug_ebreak`); a trap goes to an `ebreak` at `mtvec`.
//!
//! `chained_loops_*`: a loop that loads and stores, chained block to block inside the
//! tier (a block that jumps to its own start: the translator's self-loop exit), against
//! the interpreter for budgets that end anywhere in it, and stopped by an interrupt raised from another thread while it runs chained.
//! `links_made_before_code_is_patched_*`: links made in one code epoch are not followed
//! in the next, after the loop they lead to was patched.
//! The tier's policy (hot blocks, giving back, the heat table) is tested in
//! `jit_policy.rs`, links between blocks in `jit_links.rs`.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::{csr, irq, Exit, Priv, TrapRecord, Xlen};
use fief_host::jit::{ExitKind, Jit, JitStats};
use fief_tests::machine::{Image, Machine, RAM_BASE, UART_BASE};
use fief_tests::rvenc::{self, op};
use fief_tests::tier::Tier;

/// Blocks per test (one slot each).
const SLOTS: usize = 3000;
/// Bytes per slot.
const SLOT: u64 = 256;
/// Where the `ebreak`s start in a slot (blocks are at most 16 four-byte instructions).
const PADS: u64 = 72;
const EBREAK: u32 = 0x0010_0073;
/// Each block is run again this many slots later.
const REVISIT: u64 = 20;
/// The data pages (`x30` points into them, 2 KiB from either end).
const DATA: u64 = RAM_BASE + 0x20_0000;
const DATA_LEN: usize = 8192;
/// The trap handler: an `ebreak`.
const TRAP: u64 = RAM_BASE + 0x30_0000;
/// The loop's counter (a host line apart from the loop's code in the code-line filter,
/// which wraps every 64 KiB).
const LOOP_DATA: u64 = RAM_BASE + 0x20_4800;
/// `xori x1, x1, 0x555`: what `sw x29` writes over code.
const PATCH: u32 = 0x5550_c093;

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
    /// A destination: x1..x27 (x28 holds the UART's scratch register address, x29
    /// [`PATCH`], x30 a data address, x31 the slot's pad address for `jalr`).
    fn rd(&mut self) -> u32 {
        1 + self.below(27) as u32
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

/// A random load or store at slot offset `at` (see the module docs for the kinds).
fn mem(rng: &mut Rng, rv64: bool, at: u64) -> u32 {
    // (f3, size) of the loads and stores.
    let loads: &[(u32, i32)] = if rv64 {
        &[(0, 1), (1, 2), (2, 4), (4, 1), (5, 2), (6, 4), (3, 8)]
    } else {
        &[(0, 1), (1, 2), (2, 4), (4, 1), (5, 2)]
    };
    let stores: &[(u32, i32)] = if rv64 {
        &[(0, 1), (1, 2), (2, 4), (3, 8)]
    } else {
        &[(0, 1), (1, 2), (2, 4)]
    };
    let pick = |rng: &mut Rng, l: &[(u32, i32)]| l[rng.below(l.len() as u64) as usize];
    let aligned = |rng: &mut Rng, size: i32| {
        let off = (rng.below(4096) as i32 - 2048) & !(size - 1);
        // One in eight misaligned.
        if size > 1 && rng.below(8) == 0 {
            off | 1
        } else {
            off
        }
    };
    match rng.below(16) {
        0..=4 => {
            let (f3, size) = pick(rng, loads);
            rvenc::i(op::LOAD, f3, rng.rd(), 30, aligned(rng, size))
        }
        5..=9 => {
            let (f3, size) = pick(rng, stores);
            rvenc::s(op::STORE, f3, 30, rng.reg(), aligned(rng, size))
        }
        // MMIO: the UART's scratch register.
        10 => rvenc::i(op::LOAD, 4, rng.rd(), 28, 0),
        11 => rvenc::s(op::STORE, 0, 28, rng.reg(), 0),
        // Access faults (or RAM, when the random base happens to point there).
        12 => {
            let (f3, _) = pick(rng, loads);
            rvenc::i(op::LOAD, f3, rng.rd(), rng.reg(), aligned(rng, 1))
        }
        13 => {
            let (f3, size) = pick(rng, stores);
            rvenc::s(op::STORE, f3, 0, rng.reg(), aligned(rng, size))
        }
        // Over a later word of this block (or its pads).
        _ => {
            let target = (at + 4).next_multiple_of(4) + 4 * rng.below(4);
            let target = target.min(PADS - 4);
            rvenc::s(op::STORE, 2, 31, 29, target as i32 - PADS as i32)
        }
    }
}

/// One random block's bytes (at most `PADS` long) for a slot.
fn block(rng: &mut Rng, rv64: bool) -> Vec<u8> {
    let mut code = Vec::new();
    let n = 1 + rng.below(14);
    for _ in 0..n {
        let pick = rng.below(16);
        let insn = if pick == 0 {
            branch(rng, code.len() as u64).to_le_bytes().to_vec()
        } else if pick < 5 {
            mem(rng, rv64, code.len() as u64).to_le_bytes().to_vec()
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

/// The outcome of one run: registers x0..x31, `pc`, instructions retired, the last trap
/// (with the count of traps taken in the run), the data pages and the slot.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Outcome {
    regs: [u64; 32],
    pc: u64,
    retired: u64,
    trap: TrapRecord,
    data: Vec<u8>,
    slot: Vec<u8>,
}

/// Runs the block at `pc` from `regs` and the memory `data`/`code` (restored first).
fn run(
    m: &mut Machine,
    jit: Option<&mut Jit>,
    regs: &[u64; 32],
    pc: u64,
    data: &[u8],
    code: &[u8],
) -> Outcome {
    m.write_mem(DATA, data).unwrap();
    m.write_mem(pc, code).unwrap();
    for (i, &v) in regs.iter().enumerate() {
        m.hart.set_reg(i, v);
    }
    m.hart.set_pc(pc);
    m.hart.set_csr(csr::num::MSCRATCH, 0x5a5a_1234).unwrap();
    m.hart.set_csr(csr::num::MSTATUS, 0).unwrap();
    let before = m.hart.csr(csr::num::MINSTRET).unwrap();
    let traps = m.hart.last_trap().count;
    let r = match jit {
        Some(j) => m.run_with(1000, j).unwrap(),
        None => m.run_on(Tier::Interp, 1000).unwrap(),
    };
    let mut out = [0; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = m.hart.reg(i);
    }
    let after = m.hart.csr(csr::num::MINSTRET).unwrap();
    let mut trap = m.hart.last_trap();
    trap.count = trap.count.wrapping_sub(traps);
    if trap.count == 0 {
        // No trap in this run: what is left is an earlier run's.
        trap = TrapRecord {
            count: 0,
            cause: 0,
            epc: 0,
            tval: 0,
            to: Priv::Machine,
            handler: 0,
        };
    }
    Outcome {
        regs: out,
        pc: r.pc,
        retired: after.wrapping_sub(before),
        trap,
        data: m.read_mem(DATA, DATA_LEN).unwrap(),
        slot: m.read_mem(pc, SLOT as usize).unwrap(),
    }
}

/// What kinds of ending the runs had, to check the test covers them.
#[derive(Debug, Default)]
struct Coverage {
    traps: u64,
    data_written: u64,
    code_written: u64,
    ended_home: u64,
}

/// Runs `SLOTS` random blocks under both tiers and compares; returns the tier.
fn differential(xlen: Xlen, seed: u64, jit: Jit) -> (Jit, Coverage) {
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
    let data: Vec<u8> = (0..DATA_LEN).map(|_| rng.next() as u8).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![
            (RAM_BASE, ram.clone(), ram.len() as u64),
            (TRAP, EBREAK.to_le_bytes().to_vec(), 4),
        ],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m.hart.set_csr(csr::num::MTVEC, TRAP).unwrap();
    let mut jit = jit;
    let mut cov = Coverage::default();
    let mut seen = Vec::with_capacity(SLOTS);
    for s in 0..SLOTS as u64 {
        let base = RAM_BASE + s * SLOT;
        let code = &ram[(s * SLOT) as usize..((s + 1) * SLOT) as usize];
        let mut regs = [0u64; 32];
        for r in regs.iter_mut().skip(1) {
            *r = rng.value();
        }
        regs[28] = UART_BASE + 7;
        regs[29] = PATCH as u64;
        regs[30] = DATA + 2048 + 8 * rng.below(512);
        regs[31] = base + PADS;
        let want = run(&mut m, None, &regs, base, &data, code);
        let got = run(&mut m, Some(&mut jit), &regs, base, &data, code);
        let mask = if rv64 { u64::MAX } else { 0xffff_ffff };
        let regs_masked: Vec<u64> = regs.iter().map(|v| v & mask).collect();
        if got != want {
            let diff: Vec<usize> = (0..DATA_LEN)
                .filter(|&i| got.data[i] != want.data[i])
                .collect();
            panic!(
                "{xlen:?} seed {seed:#x} slot {s}: block {:02x?} from registers \
                 {regs_masked:x?}: with the tier {:x?} {:x?} {:x?} (slot {:02x?}), the \
                 interpreter {:x?} {:x?} {:x?} (slot {:02x?}); data differs at {diff:x?}",
                &code[..PADS as usize],
                (got.pc, got.retired),
                got.regs,
                got.trap,
                &got.slot[..PADS as usize],
                (want.pc, want.retired),
                want.regs,
                want.trap,
                &want.slot[..PADS as usize],
            );
        }
        // Most runs end on one of the slot's `ebreak`s or the trap handler's (a random
        // store may also have sent one elsewhere: still compared).
        cov.ended_home += (want.pc == TRAP || (base..base + SLOT).contains(&want.pc)) as u64;
        cov.traps += (want.trap.count != 0) as u64;
        cov.data_written += (want.data != data) as u64;
        cov.code_written += (want.slot != code) as u64;
        seen.push((regs, want));
        // An earlier block again: its translation is reused, or made again when the pool
        // slot was decoded anew or the code cache flushed since.
        if s >= REVISIT {
            let r = s - REVISIT;
            let (regs, want) = &seen[r as usize];
            let code = &ram[(r * SLOT) as usize..((r + 1) * SLOT) as usize];
            let got = run(
                &mut m,
                Some(&mut jit),
                regs,
                base - REVISIT * SLOT,
                &data,
                code,
            );
            assert!(
                &got == want,
                "{xlen:?} seed {seed:#x} slot {r} again: with the tier {:x?} {:x?} {:x?}, \
                 the interpreter {:x?} {:x?} {:x?}, data equal: {}",
                (got.pc, got.retired),
                got.regs,
                got.trap,
                (want.pc, want.retired),
                want.regs,
                want.trap,
                got.data == want.data
            );
        }
    }
    (jit, cov)
}

/// Every return from generated code is counted once, under its kind, and the random blocks
/// reach each kind of slow path (so a kind set on the wrong exit path shows as a zero).
fn check_exits(st: &JitStats) {
    assert_eq!(st.exits.iter().sum::<u64>(), st.runs, "{st:?}");
    for k in [
        ExitKind::Untranslated,
        ExitKind::Misaligned,
        ExitKind::TlbMiss,
        ExitKind::NoHost,
        ExitKind::CodeLine,
        ExitKind::ChainMiss,
    ] {
        assert!(st.exits[k as usize] > 0, "no {} exit: {st:?}", k.name());
    }
    // Each run starts in a new code epoch.
    assert!(st.epochs > 0, "{st:?}");
}

#[test]
fn rv32_random_blocks_match_the_interpreter() {
    let (jit, cov) = differential(
        Xlen::Rv32,
        0x1234_5678_9abc_def1,
        Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1),
    );
    let st = jit.stats();
    // Most blocks are translated and run in generated code, and the runs cover traps,
    // data stores and stores into code.
    assert!(st.translated > SLOTS as u64 / 2, "{st:?}");
    assert!(st.runs >= st.translated, "{st:?}");
    check_exits(&st);
    assert!(
        cov.traps > 100 && cov.data_written > 500 && cov.code_written > 50,
        "{cov:?}"
    );
    assert!(cov.ended_home > SLOTS as u64 * 9 / 10, "{cov:?}");
}

#[test]
fn rv64_random_blocks_match_the_interpreter() {
    let (jit, cov) = differential(
        Xlen::Rv64,
        0x0fed_cba9_8765_4321,
        Jit::new(Xlen::Rv64, 4).unwrap().with_hot_runs(1),
    );
    let st = jit.stats();
    assert!(st.translated > SLOTS as u64 / 2, "{st:?}");
    check_exits(&st);
    assert!(
        cov.traps > 100 && cov.data_written > 500 && cov.code_written > 50,
        "{cov:?}"
    );
    assert!(cov.ended_home > SLOTS as u64 * 9 / 10, "{cov:?}");
}

#[test]
fn a_full_code_cache_is_flushed_whole_and_blocks_translated_again() {
    // 4 KiB holds about 10 blocks: the 3000 fill it many times over, and a block run
    // again 20 slots (about 45 translations) later finds its code overwritten.
    let (jit, _) = differential(
        Xlen::Rv32,
        0x5555_aaaa_1111_eeee,
        Jit::with_cache_bytes(Xlen::Rv32, 4096)
            .unwrap()
            .with_hot_runs(1),
    );
    eprintln!("{:?} flushes {}", jit.stats(), jit.flushes());
    assert!(
        jit.flushes() > 10,
        "{:?} flushes {}",
        jit.stats(),
        jit.flushes()
    );
}

/// A machine running: `mtvec` = an `ebreak`, `mie.MSIE` and `mstatus.MIE` set, then a
/// loop that increments the word at `DATA` and a running sum in `a1` (a load, ALU, a store
/// and a jump: one block that chains to itself).
fn loop_machine(xlen: Xlen) -> Machine {
    loop_machine_at(xlen, LOOP_DATA)
}

/// [`loop_machine`] with its counter at `data`.
fn loop_machine_at(xlen: Xlen, data: u64) -> Machine {
    let mut words = Vec::new();
    // RV64's `li` of an address above 2 GiB must not sign-extend it (`li64`).
    let li = |rd, value: u64| match xlen {
        Xlen::Rv32 => rvenc::li(rd, value as u32).to_vec(),
        Xlen::Rv64 => rvenc::li64(rd, value),
    };
    words.extend(li(10, data)); // a0 = data
    words.extend(li(6, TRAP));
    words.push(rvenc::csrw(csr::num::MTVEC, 6));
    words.push(rvenc::addi(6, 0, 8));
    words.push(rvenc::csrw(csr::num::MIE, 6));
    words.push(rvenc::csr(6, 0, 8, csr::num::MSTATUS)); // csrrsi x0, mstatus, 8
                                                        // loop:
    words.push(rvenc::i(op::LOAD, 2, 5, 10, 0)); // lw t0, 0(a0)
    words.push(rvenc::addi(5, 5, 1));
    words.push(rvenc::r(op::OP, 0, 0, 11, 11, 5)); // add a1, a1, t0
    words.push(rvenc::s(op::STORE, 2, 10, 5, 0)); // sw t0, 0(a0)
    words.push(rvenc::jal(0, -16));
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen,
        entry: RAM_BASE,
        segments: vec![
            (RAM_BASE, code.clone(), code.len() as u64),
            (TRAP, EBREAK.to_le_bytes().to_vec(), 4),
            (data, vec![0; 8], 8),
        ],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}

#[test]
fn chained_loops_stop_exactly_at_the_budget() {
    for xlen in [Xlen::Rv32, Xlen::Rv64] {
        for budget in [1, 7, 16, 17, 33, 100, 1001, 12_345, 100_000] {
            let mut a = loop_machine(xlen);
            let mut b = loop_machine(xlen);
            let mut jit = Jit::new(xlen, 4).unwrap().with_hot_runs(1);
            let ea = a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp);
            let eb = b.run_slice_with(budget, &mut jit);
            assert_eq!(ea.unwrap(), Exit::BudgetExhausted);
            assert_eq!(eb.unwrap(), Exit::BudgetExhausted);
            let state = |m: &Machine| {
                (
                    m.hart.pc(),
                    m.hart.reg(5),
                    m.hart.reg(11),
                    m.hart.csr(csr::num::MINSTRET).unwrap(),
                    m.read_mem(LOOP_DATA, 4).unwrap(),
                )
            };
            assert_eq!(state(&b), state(&a), "{xlen:?} budget {budget}");
            if budget == 100_000 {
                // Chained: far fewer calls into generated code than blocks run.
                let st = jit.stats();
                assert!(st.runs < 1000, "{st:?}");
                // It ends in the chain stub's budget test.
                assert!(st.exits[ExitKind::Budget as usize] > 0, "{xlen:?} {st:?}");
                // The loop ran in generated code: its data word counts the iterations.
                let data = b.read_mem(LOOP_DATA, 4).unwrap();
                let count = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
                assert!(count > 10_000, "{xlen:?}: {count} iterations");
            }
        }
    }
}

/// The loop's stores go to a host line 64 KiB past its code (guest RAM is one host
/// mapping), which has the code's bit in the code-line filter (it wraps every 64 KiB)
/// but another tag: generated code checks the tag behind a set bit, as the interpreter
/// does, and stores there without returning.
#[test]
fn stores_to_a_line_sharing_a_code_lines_filter_bit_stay_in_generated_code() {
    // The loop is the block at RAM_BASE + 32: its counter on the same offset of the
    // next 64 KiB.
    let data = RAM_BASE + 0x1_0000 + 32;
    let mut a = loop_machine_at(Xlen::Rv32, data);
    let mut b = loop_machine_at(Xlen::Rv32, data);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap();
    let budget = 100_000;
    let ea = a.run_slice_with(budget, &mut fief_core::cpu::riscv::tier::Interp);
    let eb = b.run_slice_with(budget, &mut jit);
    assert_eq!(ea.unwrap(), Exit::BudgetExhausted);
    assert_eq!(eb.unwrap(), Exit::BudgetExhausted);
    assert_eq!(b.read_mem(data, 4).unwrap(), a.read_mem(data, 4).unwrap());
    assert_eq!(b.hart.reg(11), a.hart.reg(11));
    let st = jit.stats();
    assert_eq!(st.exits[ExitKind::CodeLine as usize], 0, "{st:?}");
    assert!(st.runs < 1000, "{st:?}");
}

#[test]
fn chained_loops_take_an_interrupt_raised_while_they_run() {
    let mut m = loop_machine(Xlen::Rv32);
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let irqs = m.hart.irqs();
    let raiser = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(200));
        irqs.raise(irq::MSI);
    });
    // About ten seconds of the loop chained, if nothing stopped it.
    let exit = m.run_slice_with(4_000_000_000, &mut jit).unwrap();
    raiser.join().unwrap();
    assert_eq!(exit, Exit::Breakpoint(TRAP), "{:?}", jit.stats());
    // The chain stub's interrupt test returned.
    assert_eq!(
        jit.stats().exits[ExitKind::Interrupt as usize],
        1,
        "{:?}",
        jit.stats()
    );
    let t = m.hart.last_trap();
    assert_eq!(t.cause, 1 << 31 | irq::MSI as u64);
    // Taken between two blocks of the loop: at its first instruction.
    assert_eq!(t.epc, RAM_BASE + 4 * 8);
    assert!(m.hart.reg(5) > 1000, "the loop ran before the interrupt");
    // Taken while the loop ran chained, not once the budget ran out (at most 16 left).
    let retired = m.hart.csr(csr::num::MINSTRET).unwrap();
    assert!(
        retired < 3_000_000_000,
        "taken after {retired} instructions"
    );
}

/// A program whose block `P` (`addi t1, x0, 50; j L`) is linked to the loop `L` (`t0 +=
/// 1` fifty times, a branch linked to itself) in passes 0 and 1; pass 2 stores `addi t0,
/// t0, 100` over `L`'s first instruction (and runs `fence.i`); pass 3 runs `P` again in
/// the new code epoch. `t0` ends at 3 * 50 + 50 * 100 when the links of the old epoch
/// were dropped, at 4 * 50 if `P` still jumped into `L`'s old code.
fn patched_loop_machine() -> Machine {
    const L: u32 = RAM_BASE as u32 + 40;
    let (t0, t1, t2, t3, t4, a0, a2) = (5, 6, 7, 28, 29, 10, 12);
    let mut w = Vec::new();
    w.extend(rvenc::li(a0, L)); // 0
    w.extend(rvenc::li(a2, rvenc::addi(t0, t0, 100))); // 8
    w.push(rvenc::addi(t2, 0, 0)); // 16: pass = 0
    w.push(rvenc::addi(t4, 0, 2)); // 20: the pass that patches
    w.push(rvenc::addi(t1, 0, 50)); // 24 = P
    w.push(rvenc::jal(0, 12)); // 28: j L
    w.push(EBREAK); // 32
    w.push(EBREAK); // 36
    w.push(rvenc::addi(t0, t0, 1)); // 40 = L
    w.push(rvenc::addi(t1, t1, -1)); // 44
    w.push(rvenc::b(1, t1, 0, -8)); // 48: bne t1, x0, L
    w.push(rvenc::b(1, t2, t4, 12)); // 52: bne t2, t4, 64
    w.push(rvenc::s(op::STORE, 2, a0, a2, 0)); // 56: sw a2, 0(a0)
    w.push(rvenc::i(op::MISC_MEM, 1, 0, 0, 0)); // 60: fence.i
    w.push(rvenc::addi(t2, t2, 1)); // 64
    w.push(rvenc::addi(t3, 0, 4)); // 68
    w.push(rvenc::b(4, t2, t3, -48)); // 72: blt t2, t3, P
    w.push(EBREAK); // 76
    rv32_machine(&w)
}

#[test]
fn links_made_before_code_is_patched_are_dropped_with_its_epoch() {
    let mut a = patched_loop_machine();
    let mut b = patched_loop_machine();
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let ea = a.run_slice_with(100_000, &mut fief_core::cpu::riscv::tier::Interp);
    let eb = b.run_slice_with(100_000, &mut jit);
    let end = RAM_BASE + 76;
    assert_eq!(ea.unwrap(), Exit::Breakpoint(end));
    assert_eq!(a.hart.reg(5), 3 * 50 + 50 * 100, "the interpreter");
    assert_eq!(eb.unwrap(), Exit::Breakpoint(end), "{:?}", jit.stats());
    assert_eq!(b.hart.reg(5), a.hart.reg(5), "{:?}", jit.stats());
    assert_eq!(
        b.hart.csr(csr::num::MINSTRET).unwrap(),
        a.hart.csr(csr::num::MINSTRET).unwrap()
    );
    // P's exit was linked (so the test covers dropping it), and the loop (a block
    // jumping to its own start) ran in generated code without returning per iteration.
    let st = jit.stats();
    assert!(st.links >= 1, "{st:?}");
    assert!(st.runs < 60, "{st:?}");
}

/// An RV32 test machine running `words` from `RAM_BASE`, stopped by `ebreak`.
fn rv32_machine(words: &[u32]) -> Machine {
    let code: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: vec![(RAM_BASE, code.clone(), code.len() as u64)],
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m
}
