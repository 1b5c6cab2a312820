//! Unit tests of the block cache: code epochs, their stamps and the code-line filter;
//! where blocks end; the fusion pass (pairs and triples) and the unfused view tiers get.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn code_epochs_stamp_blocks_and_track_their_host_lines() {
    let mem = [0x0010_8093u32; 1024]; // addi x1, x1, 1 everywhere
    let mut c = BlockCache::new();
    const W: usize = CODE_LINES * 64;
    let i = c.build(0x8000_0038, Xlen::Rv32, |w| mem[w]).unwrap();
    assert_eq!(c.blocks[i].nwords, 16);
    // Host bytes 0x1038..0x1078 span lines 0x40, 0x41 (0x1040..) and not 0x42, on host
    // page 1, whose code-page bit was clear (its fast write tags go:
    // `Tlb::retag_writes`).
    assert_eq!(c.mark_checked(i, 0x1038), Marked::First);
    assert!(c.code_pages().may_hold_code(0x1000));
    assert!(!c.code_pages().may_hold_code(0x2000));
    assert_eq!(
        c.mark_checked(i, 0x1038),
        Marked::Known,
        "the page's bit was set"
    );
    // Another page: its bit set, not the first of the epoch.
    assert_eq!(
        c.mark_checked(i, 0x5038),
        Marked::Page {
            lo: 0x5038,
            hi: 0x5077
        }
    );
    assert_eq!(c.blocks[i].checked, c.stamp);
    assert!(c.is_code_line(0x1000 + 0x3f));
    assert!(c.is_code_line(0x1040));
    assert!(c.is_code_line(0x1077));
    assert!(!c.is_code_line(0x1080));
    assert!(!c.is_code_line(0x0ffc));
    // The filter's bits wrap at `W` (256 KiB on hosts), its tags tell the lines apart: a
    // data line `W` away keeps the epoch.
    assert!(!c.is_code_line(W + 0x1040));
    assert!(!c.is_code_line(7 * W + 0x1077));
    // A second block on the same bits `W` away: both are code, and with two tags on
    // a bit every line on it counts as code (a false hit, never a miss).
    c.mark_checked(i, W + 0x1038);
    assert!(c.is_code_line(0x1040));
    assert!(c.is_code_line(W + 0x1040));
    assert!(c.is_code_line(5 * W + 0x1040));
    assert!(!c.is_code_line(5 * W + 0x1080));
    // The same line checked again keeps its exact tag.
    let j = c.build(0x8000_0100, Xlen::Rv32, |w| mem[w]).unwrap();
    c.mark_checked(j, 0x2000);
    c.mark_checked(j, 0x2000);
    assert!(c.is_code_line(0x2000));
    assert!(!c.is_code_line(3 * W + 0x2000));
    let e = c.epoch;
    c.code_changed();
    assert_ne!(c.blocks[i].checked, c.stamp);
    assert_eq!(c.epoch, e + 1);
    assert!(!c.is_code_line(0x1040));
    assert!(!c.code_pages().may_hold_code(0x1000));
    // A new epoch's first line on a bit sets its tag afresh (the old tag is stale).
    c.mark_checked(i, 5 * W + 0x1038);
    assert!(c.is_code_line(5 * W + 0x1040));
    assert!(!c.is_code_line(0x1040));
    assert!(!c.is_code_line(W + 0x1040));
    // Wrapping clears every stamp rather than letting an old one match again.
    c.mark_checked(i, 0x1038);
    c.epoch = EPOCH_LIMIT - 1;
    c.blocks[i].checked = 1 << 2;
    c.code_changed();
    assert_eq!((c.epoch, c.stamp, c.blocks[i].checked), (1, 1 << 2, 0));
}

/// On hosts the code-line filter's bits wrap at 256 KiB: code lines 64 KiB apart, which
/// shared bits with 1024 of them (every line on those bits then counted as code), keep
/// their exact tags, so a data line on the same bits keeps the epoch.
#[test]
#[cfg_attr(miri, ignore = "Miri runs a 1024-line filter (block::CODE_LINES)")]
fn code_lines_64_kib_apart_keep_exact_tags() {
    let mem = [0x0010_8093u32; 1024];
    let mut c = BlockCache::new();
    let i = c.build(0x8000_0038, Xlen::Rv32, |w| mem[w]).unwrap();
    c.mark_checked(i, 0x1038);
    c.mark_checked(i, 0x1_1038);
    assert!(c.is_code_line(0x1040) && c.is_code_line(0x1_1040));
    assert!(
        !c.is_code_line(0x2_1040),
        "a data line 64 KiB past the second"
    );
}

#[test]
fn blocks_end_at_control_transfers_and_page_ends() {
    // addi x1, x1, 1; c.addi x1, 1; jal x0, 0 ; then more code after the jump.
    let mut mem = [0u32; 1024];
    mem[0] = 0x0010_8093; // addi x1, x1, 1
    mem[1] = 0x006f_0085; // c.addi x1,1 ; low half of jal x0, 0 (0x0000006f)
    mem[2] = 0x0000_0000;
    let mut c = BlockCache::new();
    let i = c.build(0x8000_0000, Xlen::Rv32, |w| mem[w]).unwrap();
    let b = c.blocks[i];
    assert_eq!(b.count, 3);
    assert_eq!(&b.offs[..4], &[0, 4, 6, 10]);
    assert_eq!(b.insns[2].op, Op::Jal);
    // `jal x0, 0` at offset 6: its target kept as an offset from the block's start.
    assert_eq!(b.insns[2].imm, 6);
    assert_eq!(b.nwords, 3);
    assert_eq!(c.slot(0x8000_0000), i);
    // A conditional branch does not end a block: bne x1, x1, 0 then the jal.
    mem[8] = 0x0010_9063; // bne x1, x1, 0
    mem[9] = 0x0000_006f; // jal x0, 0
    let i = c.build(0x8000_0020, Xlen::Rv32, |w| mem[w]).unwrap();
    assert_eq!(c.blocks[i].count, 2);
    assert_eq!(c.blocks[i].insns[0].op, Op::Bne);
    assert_eq!(c.blocks[i].insns[1].op, Op::Jal);
    assert_eq!((c.blocks[i].insns[0].imm, c.blocks[i].insns[1].imm), (0, 4));
    // A 32-bit instruction in the last two bytes of the page: no block.
    mem[1023] = 0x0003_0001; // c.nop at 0xffc, then a 32-bit opcode half at 0xffe
    assert!(c.build(0x8000_0ffe, Xlen::Rv32, |w| mem[w]).is_none());
    let i = c.build(0x8000_0ffc, Xlen::Rv32, |w| mem[w]).unwrap();
    assert_eq!(c.blocks[i].count, 1);
    assert_eq!(c.blocks[i].nwords, 1);
    // The block at a `pc` is rebuilt in place.
    assert_eq!(c.build(0x8000_0ffc, Xlen::Rv32, |w| mem[w]), Some(i));
}

#[test]
fn the_pool_passes_over_blocks_run_lately_when_it_reuses_one() {
    let mem = [0x0000_006fu32; 1024]; // jal x0, 0 everywhere: one-instruction blocks
    let pc = |k: usize| 0x8000_0000 + 4 * k as u64;
    let mut c = BlockCache::new();
    for k in 0..BLOCK_POOL {
        assert_eq!(c.build(pc(k), Xlen::Rv32, |w| mem[w]), Some(k));
    }
    // Entry 1 last ran (was checked) longer ago than `REUSE_EPOCHS`, entry 0 runs now.
    c.mark_checked(1, 0x1000);
    for _ in 0..REUSE_EPOCHS {
        c.code_changed();
    }
    c.mark_checked(0, 0x1000);
    // The pool is full and its round-robin is back at entry 0, which is passed over.
    assert_eq!(c.build(pc(BLOCK_POOL), Xlen::Rv32, |w| mem[w]), Some(1));
    assert_eq!(c.slot(pc(0)), 0);
    assert_eq!(c.blocks[0].pc, pc(0));
    assert_eq!(c.slot(pc(BLOCK_POOL)), 1);
    // When every entry ran lately, the search ends after `REUSE_PROBES` of them.
    for k in 0..BLOCK_POOL {
        c.mark_checked(k, 0x1000);
    }
    let n = c.build(pc(BLOCK_POOL + 1), Xlen::Rv32, |w| mem[w]);
    assert_eq!(n, Some((2 + REUSE_PROBES) % BLOCK_POOL));
}

/// The index spans 128 KiB of code on hosts: blocks 32 KiB apart (the span of the
/// earlier 16384 slots), as a kernel's hot functions often are, keep their own slots.
#[test]
#[cfg_attr(miri, ignore = "Miri runs a 4096-slot index (block::BLOCK_INDEX)")]
fn blocks_32_kib_apart_have_slots_of_their_own() {
    let mem = [0x0000_006fu32; 1024];
    let mut c = BlockCache::new();
    let a = c.build(0xc000_0100, Xlen::Rv32, |w| mem[w]).unwrap();
    let b = c.build(0xc000_8100, Xlen::Rv32, |w| mem[w]).unwrap();
    let d = c.build(0xc001_0100, Xlen::Rv32, |w| mem[w]).unwrap();
    assert_eq!(
        (
            c.slot(0xc000_0100),
            c.slot(0xc000_8100),
            c.slot(0xc001_0100)
        ),
        (a, b, d)
    );
}

/// Builds a block of `words` at the start of RAM and checks its instructions are `want`
/// (fused where `FUSE` is on, each unfused otherwise) and that each unfuses to what the
/// decoder makes of its word.
fn assert_fused(words: &[u32], want: &[Op]) {
    let mut mem = [0u32; 1024];
    mem[..words.len()].copy_from_slice(words);
    let mut c = BlockCache::new();
    let i = c.build(0x8000_0000, Xlen::Rv32, |w| mem[w]).unwrap();
    let b = &c.blocks[i];
    let ops: std::vec::Vec<Op> = b.insns[..b.count as usize].iter().map(|u| u.op).collect();
    let want: std::vec::Vec<Op> = want
        .iter()
        .map(|&o| if FUSE { o } else { o.unfused() })
        .collect();
    assert_eq!(ops, want);
    for (k, &w) in words.iter().enumerate() {
        assert_eq!(b.insns[k].op.unfused(), decode_any(w, Xlen::Rv32).op);
    }
}

#[test]
fn alu_pairs_are_fused() {
    // andi, sub | slli, srai | slli, bge | sub (no pair with `addi`) | addi, mul | addi,
    // add | jal.
    let words = [
        0x0013_7293, // andi x5, x6, 1
        0x4050_02b3, // sub x5, x0, x5
        0x0103_1393, // slli x7, x6, 16
        0x4103_d393, // srai x7, x7, 16
        0x0014_1413, // slli x8, x8, 1
        0x0004_5063, // bge x8, x0, 0
        0x4050_02b3, // sub x5, x0, x5
        0x0033_0513, // addi x10, x6, 3
        0x0275_07b3, // mul x15, x10, x7
        0x0054_8493, // addi x9, x9, 5
        0x00f4_84b3, // add x9, x9, x15
        0x0000_006f, // jal x0, 0
    ];
    assert_fused(
        &words,
        &[
            Op::AndiSub,
            Op::Sub,
            Op::SlliSrai,
            Op::Srai,
            Op::SlliBr,
            Op::Bge,
            Op::Sub,
            Op::AddiMul,
            Op::Mul,
            Op::AddiAdd,
            Op::Add,
            Op::Jal,
        ],
    );
}

#[test]
fn memory_and_branch_first_pairs_are_fused() {
    // lw, lw | sw, sw | slli, xor | beq, bne | beq, sw | beq, addi | bne, lw | jal.
    let words = [
        0x0002_a303, // lw x6, 0(x5)
        0x0042_a383, // lw x7, 4(x5)
        0x0062_a423, // sw x6, 8(x5)
        0x0072_a623, // sw x7, 12(x5)
        0x0033_1413, // slli x8, x6, 3
        0x0084_c4b3, // xor x9, x9, x8
        0x0000_8063, // beq x1, x0, 0
        0x0000_9063, // bne x1, x0, 0
        0x0000_8063, // beq x1, x0, 0
        0x0062_a423, // sw x6, 8(x5)
        0x0000_8063, // beq x1, x0, 0
        0x0010_8093, // addi x1, x1, 1
        0x0000_9063, // bne x1, x0, 0
        0x0002_a303, // lw x6, 0(x5)
        0x0000_006f, // jal x0, 0
    ];
    assert_fused(
        &words,
        &[
            Op::LwLw,
            Op::Lw,
            Op::SwSw,
            Op::Sw,
            Op::SlliXor,
            Op::Xor,
            Op::BeqBr,
            Op::Bne,
            Op::BeqSw,
            Op::Sw,
            Op::BeqAddi,
            Op::Addi,
            Op::BneLw,
            Op::Lw,
            Op::Jal,
        ],
    );
}

#[test]
fn a_byte_store_loops_step_store_and_test_are_one_triple() {
    // addi, sb, bne | jal at the block's start, then addi, sb, addi (no branch: no
    // triple, and neither `addi`+`sb` nor `sb`+`addi` is a pair) | jal.
    let words = [
        0x0012_8293, // addi x5, x5, 1
        0xfe62_8fa3, // sb x6, -1(x5)
        0xfe72_9ce3, // bne x5, x7, -8
        0x0012_8293, // addi x5, x5, 1
        0xfe62_8fa3, // sb x6, -1(x5)
        0x0013_8393, // addi x7, x7, 1
        0x0000_006f, // jal x0, 0
    ];
    assert_fused(
        &words,
        &[
            Op::AddiSbBr,
            Op::Sb,
            Op::Bne,
            Op::Addi,
            Op::Sb,
            Op::Addi,
            Op::Jal,
        ],
    );
}

#[test]
fn crc_steps_are_fused_into_triples() {
    // srli, and, addi | add, xor, bge | then srli, and, add (no exact triple, no pair) |
    // xor, addi (no branch: no triple) | jal.
    let words = [
        0x0013_5413, // srli x8, x6, 1
        0x00d4_74b3, // and x9, x8, x13
        0x0017_0713, // addi x14, x14, 1
        0x0090_0533, // add x10, x0, x9
        0x00a5_c5b3, // xor x11, x11, x10
        0x0003_5463, // bge x6, x0, 8
        0x0013_5413, // srli x8, x6, 1
        0x00d4_74b3, // and x9, x8, x13
        0x0090_0533, // add x10, x0, x9
        0x00a5_c5b3, // xor x11, x11, x10
        0x0017_0713, // addi x14, x14, 1
        0x0000_006f, // jal x0, 0
    ];
    assert_fused(
        &words,
        &[
            Op::SrliAndAddi,
            Op::And,
            Op::Addi,
            Op::AddXorBr,
            Op::Xor,
            Op::Bge,
            Op::Srli,
            Op::And,
            Op::Add,
            Op::Xor,
            Op::Addi,
            Op::Jal,
        ],
    );
}

#[test]
fn an_add_its_store_and_a_branch_are_one_triple() {
    // add, sw, bne | add, sw, addi (no branch: no triple, and neither `add`+`sw` nor
    // `sw`+`addi` is a pair) | jal.
    let words = [
        0x0062_82b3, // add x5, x5, x6
        0x0072_a023, // sw x7, 0(x5)
        0xfe82_9ce3, // bne x5, x8, -8
        0x0062_82b3, // add x5, x5, x6
        0x0072_a023, // sw x7, 0(x5)
        0x0014_0413, // addi x8, x8, 1
        0x0000_006f, // jal x0, 0
    ];
    assert_fused(
        &words,
        &[
            Op::AddSwBr,
            Op::Sw,
            Op::Bne,
            Op::Add,
            Op::Sw,
            Op::Addi,
            Op::Jal,
        ],
    );
}

#[test]
fn pairs_are_fused_and_tiers_see_them_unfused() {
    // lw, addi | addi, addi | mul, addi | addi (a pair's second half starts no pair,
    // and `addi` with `lui` is none) | lui | addi (`addi` with `xor` is none) | xor, bne
    // | jal.
    let mut mem = [0u32; 1024];
    let words = [
        0x0002_a303, // lw x6, 0(x5)
        0x0013_0313, // addi x6, x6, 1
        0x0034_0413, // addi x8, x8, 3
        0x0054_0413, // addi x8, x8, 5
        0x0263_0533, // mul x10, x6, x6
        0x0015_0513, // addi x10, x10, 1
        0x0015_0513, // addi x10, x10, 1
        0x1234_54b7, // lui x9, 0x12345
        0x6784_8493, // addi x9, x9, 0x678
        0x0020_c0b3, // xor x1, x1, x2
        0x0000_9063, // bne x1, x0, 0
        0x0000_006f, // jal x0, 0
    ];
    mem[..words.len()].copy_from_slice(&words);
    let mut c = BlockCache::new();
    let i = c.build(0x8000_0000, Xlen::Rv32, |w| mem[w]).unwrap();
    let b = &c.blocks[i];
    let ops: std::vec::Vec<Op> = b.insns[..b.count as usize].iter().map(|u| u.op).collect();
    let want = [
        Op::LwAddi,
        Op::Addi,
        Op::AddiAddi,
        Op::Addi,
        Op::MulAddi,
        Op::Addi,
        Op::Addi,
        Op::Lui,
        Op::Addi,
        Op::XorBr,
        Op::Bne,
        Op::Jal,
    ];
    assert_eq!(ops, want.map(|o| if FUSE { o } else { o.unfused() }));
    // A tier is given the decoded instructions themselves.
    let r = super::super::tier::BlockRef {
        block: b,
        pool_index: i,
    };
    for (k, &w) in words.iter().enumerate() {
        let d = decode_any(w, Xlen::Rv32);
        let t = r.insn(k);
        assert_eq!(
            (t.op, t.rd, t.rs1, t.rs2, t.imm),
            (d.op, d.rd, d.rs1, d.rs2, d.imm)
        );
    }
}

#[test]
#[cfg(feature = "ext")]
fn bit_manipulation_runs_inside_blocks() {
    // sh1add, clz, czero.eqz, rori, add.uw (RV64), then jal: one block of six.
    let mut mem = [0u32; 1024];
    mem[0] = 0x20c5_a533; // sh1add a0, a1, a2
    mem[1] = 0x6005_1513; // clz a0, a0
    mem[2] = 0x0ea5_d533; // czero.eqz a0, a1, a0
    mem[3] = 0x6035_d513; // rori a0, a1, 3
    mem[4] = 0x08c5_853b; // add.uw a0, a1, a2
    mem[5] = 0x0000_006f; // jal x0, 0
    let mut c = BlockCache::new();
    let i = c.build(0x8000_0000, Xlen::Rv64, |w| mem[w]).unwrap();
    let ops: std::vec::Vec<Op> = c.blocks[i].insns[..c.blocks[i].count as usize]
        .iter()
        .map(|u| u.op)
        .collect();
    assert_eq!(
        ops,
        [
            Op::Sh1add,
            Op::Clz,
            Op::CzeroEqz,
            Op::Rori,
            Op::AddUw,
            Op::Jal
        ]
    );
}
