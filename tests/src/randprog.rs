//! The seeded generator of random RV32 guest programs for the differential against QEMU
//! (`randdiff`, `tests/tests/random_diff.rs`, `scripts/diff-random`).
//!
//! A *batch* is one raw image for `0x8000_0000` holding up to [`MAX_PROGRAMS`] programs, one
//! per 64 KiB slot, run one after the other (one QEMU start serves them all). Each program:
//!
//! * resets the trap CSRs, `satp`, `mstatus`, PMP (entry 0: all of memory RWX, as S/U code
//!   needs) and prints `P <index>`; sets `x1..x26` to random values;
//! * runs a random body of RV32 I, M, A, C and Zicsr instructions, loads/stores/AMOs at
//!   aligned, misaligned, unmapped (`0x9000_0000`) and page-protected addresses, `ecall`,
//!   `ebreak`, illegal encodings, privileged instructions in the wrong mode, fences, switches
//!   M→S and M→U (by `mret`, with `satp` bare or one of two Sv32 roots), `satp` switches in
//!   S-mode, and forward branches and jumps (never over a state change, so every program ends);
//! * returns to M with `ecall` and prints `R` with `x1..x26`, `C` with the CSRs that must
//!   agree, and `M` with a checksum of each KiB of its 16 KiB data area; then jumps to the next
//!   program or writes pass to the SiFive test finisher (`0x10_0000`).
//!
//! Every trap goes to the M-mode handler, which prints `T mcause mepc mtval`, steps `mepc`
//! over the instruction (2 or 4 bytes, from its encoding), and returns; after an `ecall` it
//! returns to M-mode (that is how a program climbs back). `x27..x31` belong to the handler,
//! the printer and the fixed sequences; the body never reads them.
//!
//! Sv32 (`satp` roots A and B, identity-mapped code/data megapage, UART, finisher): A maps
//! RAM without U (for S-mode), B with U (for U-mode); both map an alias window at
//! [`ALIAS_VA`] of eight pages: RW, R-only, invalid, X-only (MXR), the other-privilege page
//! (U in A for SUM, not-U in B), RW again (aliasing page 0), W-only (reserved), invalid.
//!
//! What never appears, because the two machines may legitimately differ: counter values
//! (`cycle`, `time`, `instret` are only read where `mcounteren` = 0 makes them illegal),
//! interrupts (`mie` stays 0), `misa` (extensions differ), writes of WLRL fields with values
//! outside their legal set, `mstatus.MPRV/TVM/TW/TSR/FS`, A/D-bit updates (every PTE has A and
//! D set), and the reservation across traps.

use crate::rvenc::{self as e, op, Reg};

/// Bytes per program slot.
pub const SLOT: u32 = 0x1_0000;
/// Where the first slot (and the image) starts.
pub const IMAGE_BASE: u32 = 0x8000_0000;
/// Programs per batch at most: all slots share the identity 4 MiB megapage.
pub const MAX_PROGRAMS: usize = 64;
/// Virtual base of the alias window (Sv32 only).
pub const ALIAS_VA: u32 = 0x4000_0000;
/// An address no device answers on either machine (QEMU's RAM is 128 MiB, Fief's test
/// machine's 16 MiB): an access fault when bare, a page fault under Sv32.
pub const FAULT_ADDR: u32 = 0x9000_0000;
/// The UART's transmit register.
const UART: u32 = 0x1000_0000;
/// The SiFive test finisher.
const FINISHER: u32 = 0x10_0000;

const TABLE_OFF: u32 = 0x10;
const PRINT_OFF: u32 = 0x20;
const HANDLER_OFF: u32 = 0x100;
const START_OFF: u32 = 0x200;
const CODE_END: u32 = 0x8000;
const DATA_OFF: u32 = 0x8000;
const DATA_SIZE: u32 = 0x4000;
const PT_OFF: u32 = 0xc000;

/// The handler's and printer's registers (never in the body).
const LINK: Reg = 27;
const T0: Reg = 28;
const T1: Reg = 29;
const VAL: Reg = 30;
const T2: Reg = 31;
/// Body registers are `x1..=LAST_BODY`.
const LAST_BODY: Reg = 26;

mod csrn {
    pub const SSTATUS: u16 = 0x100;
    pub const STVEC: u16 = 0x105;
    pub const SCOUNTEREN: u16 = 0x106;
    pub const SSCRATCH: u16 = 0x140;
    pub const SEPC: u16 = 0x141;
    pub const SCAUSE: u16 = 0x142;
    pub const STVAL: u16 = 0x143;
    pub const SATP: u16 = 0x180;
    pub const MSTATUS: u16 = 0x300;
    pub const MEDELEG: u16 = 0x302;
    pub const MIDELEG: u16 = 0x303;
    pub const MIE: u16 = 0x304;
    pub const MTVEC: u16 = 0x305;
    pub const MCOUNTEREN: u16 = 0x306;
    pub const MSCRATCH: u16 = 0x340;
    pub const MEPC: u16 = 0x341;
    pub const MCAUSE: u16 = 0x342;
    pub const MTVAL: u16 = 0x343;
    pub const PMPCFG0: u16 = 0x3a0;
    pub const PMPADDR0: u16 = 0x3b0;
    pub const MHARTID: u16 = 0xf14;
}

/// The CSRs every program dumps at its end, in order (the `C` line).
pub const DUMP_CSRS: &[(&str, u16)] = &[
    ("mstatus", csrn::MSTATUS),
    ("mepc", csrn::MEPC),
    ("mcause", csrn::MCAUSE),
    ("mtval", csrn::MTVAL),
    ("mscratch", csrn::MSCRATCH),
    ("sstatus", csrn::SSTATUS),
    ("sepc", csrn::SEPC),
    ("scause", csrn::SCAUSE),
    ("stval", csrn::STVAL),
    ("sscratch", csrn::SSCRATCH),
    ("stvec", csrn::STVEC),
    ("satp", csrn::SATP),
    ("medeleg", csrn::MEDELEG),
    ("mideleg", csrn::MIDELEG),
    ("mie", csrn::MIE),
    ("mtvec", csrn::MTVEC),
    ("pmpcfg0", csrn::PMPCFG0),
    ("pmpaddr0", csrn::PMPADDR0),
    ("mhartid", csrn::MHARTID),
];

/// `mstatus` bits the body may write: SIE, MIE, SPIE, MPIE, SPP, SUM, MXR.
const MSTATUS_SAFE: u32 = 1 << 1 | 1 << 3 | 1 << 5 | 1 << 7 | 1 << 8 | 1 << 18 | 1 << 19;

/// SplitMix64: a tiny, fixed PRNG, so that a seed means the same programs forever (a crate's
/// generator may change its stream between versions).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// 32 random bits.
    pub fn u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (`n` > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.u32() as u64 * n as u64) >> 32) as u32
    }

    /// True with probability `1/n`.
    pub fn one_in(&mut self, n: u32) -> bool {
        self.below(n) == 0
    }

    /// One element of `items`.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u32) as usize]
    }
}

/// A generated batch: the raw image (for [`IMAGE_BASE`]) and how many programs it holds.
#[derive(Clone, Debug)]
pub struct Batch {
    /// The seed it was generated from.
    pub seed: u64,
    /// The raw image.
    pub image: Vec<u8>,
    /// Programs in it.
    pub programs: usize,
}

/// Generates the batch for `seed` with `programs` programs (1..=[`MAX_PROGRAMS`]) of about
/// `body` random items each.
pub fn batch(seed: u64, programs: usize, body: usize) -> Batch {
    batch_with(seed, programs, body, false)
}

/// [`batch`], printing every word of the data area instead of checksums with `full_dump`
/// (to find which bytes differ; `diff-random --full`).
pub fn batch_with(seed: u64, programs: usize, body: usize, full_dump: bool) -> Batch {
    assert!((1..=MAX_PROGRAMS).contains(&programs));
    let mut image = vec![0u8; programs * SLOT as usize];
    for k in 0..programs {
        let mut rng = Rng::new(seed ^ (k as u64).wrapping_mul(0xd1b5_4a32_d192_ed03));
        let slot = &mut image[k * SLOT as usize..(k + 1) * SLOT as usize];
        program(&mut rng, k as u32, k + 1 == programs, body, full_dump, slot);
    }
    Batch {
        seed,
        image,
        programs,
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    M,
    S,
    U,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Satp {
    Bare,
    A,
    B,
}

/// A branch or jump whose target is resolved after layout.
#[derive(Clone, Copy, Debug)]
enum Fix {
    B { f3: u32, rs1: Reg, rs2: Reg },
    Jal { rd: Reg },
    Cb { f3: u16, rs1: Reg },
    Cj { f3: u16 },
}

#[derive(Debug, Default)]
struct Item {
    code: Vec<u8>,
    /// (byte offset in `code`, the instruction, items to skip).
    fix: Option<(usize, Fix, usize)>,
    /// Changes privilege or translation: no branch may jump over it.
    stateful: bool,
}

impl Item {
    fn w(&mut self, word: u32) -> &mut Item {
        self.code.extend_from_slice(&word.to_le_bytes());
        self
    }
    fn ws(&mut self, words: &[u32]) -> &mut Item {
        for w in words {
            self.w(*w);
        }
        self
    }
    fn h(&mut self, half: u16) -> &mut Item {
        self.code.extend_from_slice(&half.to_le_bytes());
        self
    }
}

/// Straight-line code at a known address.
struct Asm {
    base: u32,
    code: Vec<u8>,
}

impl Asm {
    fn pc(&self) -> u32 {
        self.base + self.code.len() as u32
    }
    fn w(&mut self, word: u32) {
        self.code.extend_from_slice(&word.to_le_bytes());
    }
    fn ws(&mut self, words: &[u32]) {
        for w in words {
            self.w(*w);
        }
    }
    fn putc(&mut self, c: u8) {
        self.ws(&[e::u(op::LUI, T0, UART >> 12), e::addi(T1, 0, c as i32)]);
        self.w(e::s(op::STORE, 0, T0, T1, 0));
    }
    /// `jal x27, print` (prints `x30`).
    fn print(&mut self, slot: u32) {
        let off = (slot + PRINT_OFF) as i32 - self.pc() as i32;
        self.w(e::jal(LINK, off));
    }
}

fn program(rng: &mut Rng, index: u32, last: bool, body: usize, full_dump: bool, slot: &mut [u8]) {
    let base = IMAGE_BASE + index * SLOT;
    let mut put = |off: u32, bytes: &[u8]| {
        slot[off as usize..off as usize + bytes.len()].copy_from_slice(bytes);
    };
    // Entry: jump over the table, printer and handler.
    put(0, &e::jal(0, START_OFF as i32).to_le_bytes());
    put(TABLE_OFF, b"0123456789abcdef");

    // The printer: `x30` as 8 hex digits and a space, return through x27.
    let mut a = Asm {
        base: base + PRINT_OFF,
        code: Vec::new(),
    };
    a.w(e::u(op::LUI, T0, UART >> 12));
    let off = (base + TABLE_OFF) as i32 - a.pc() as i32;
    a.ws(&[e::u(op::AUIPC, T2, 0), e::addi(T2, T2, off)]);
    for sh in (0..8).rev() {
        a.ws(&[
            e::i(op::OPIMM, 5, T1, VAL, sh * 4),
            e::i(op::OPIMM, 7, T1, T1, 15),
            e::r(op::OP, 0, 0, T1, T1, T2),
            e::i(op::LOAD, 4, T1, T1, 0),
            e::s(op::STORE, 0, T0, T1, 0),
        ]);
    }
    a.ws(&[e::addi(T1, 0, b' ' as i32), e::s(op::STORE, 0, T0, T1, 0)]);
    a.w(e::jalr(0, LINK, 0));
    assert!(a.pc() <= base + HANDLER_OFF);
    put(PRINT_OFF, &a.code);

    // The M-mode trap handler.
    let mut a = Asm {
        base: base + HANDLER_OFF,
        code: Vec::new(),
    };
    a.putc(b'T');
    a.putc(b' ');
    for c in [csrn::MCAUSE, csrn::MEPC, csrn::MTVAL] {
        a.w(e::csrr(VAL, c));
        a.print(base);
    }
    a.putc(b'\n');
    // After a breakpoint, mtval := mepc: QEMU 7.2 leaves 0 there (randdiff::DEVIATIONS), and
    // the body may read mtval.
    a.ws(&[
        e::csrr(T1, csrn::MCAUSE),
        e::addi(T2, 0, 3),
        e::b(1, T1, T2, 12),
        e::csrr(VAL, csrn::MEPC),
        e::csrw(csrn::MTVAL, VAL),
    ]);
    // After an AMO (not LR) fault with a load cause (4, 5, 13), mcause := the store/AMO cause
    // (6, 7, 15): QEMU 7.2's deviation, again so that later reads agree. The trap line above
    // keeps the raw cause, so a Fief that reported a load cause would still differ.
    a.ws(&[
        e::csrr(VAL, csrn::MEPC),
        e::i(op::LOAD, 5, T1, VAL, 0),
        e::i(op::OPIMM, 7, T2, T1, 0x7f),
        e::addi(T2, T2, -0x2f),
        e::b(1, T2, 0, 56),
        e::i(op::LOAD, 5, T1, VAL, 2),
        e::i(op::OPIMM, 5, T1, T1, 11),
        e::addi(T2, 0, 2),
        e::b(0, T1, T2, 40),
        e::csrr(T1, csrn::MCAUSE),
        e::addi(T2, T1, -4),
        e::b(0, T2, 0, 20),
        e::addi(T2, T1, -5),
        e::b(0, T2, 0, 12),
        e::addi(T2, T1, -13),
        e::b(1, T2, 0, 12),
        e::addi(T1, T1, 2),
        e::csrw(csrn::MCAUSE, T1),
    ]);
    a.ws(&[
        e::csrr(VAL, csrn::MEPC),
        e::i(op::LOAD, 5, T1, VAL, 0), // lhu: the instruction's first half
        e::i(op::OPIMM, 7, T1, T1, 3),
        e::addi(VAL, VAL, 2),
        e::addi(T2, 0, 3),
        e::b(1, T1, T2, 8),
        e::addi(VAL, VAL, 2),
        e::csrw(csrn::MEPC, VAL),
        e::csrr(T1, csrn::MCAUSE),
    ]);
    // ecall from U (8), S (9) or M (11): return to M.
    for (k, cause) in [8, 9, 11].into_iter().enumerate() {
        let to_setm = 4 * (2 * (2 - k as i32) + 1) + 4;
        a.ws(&[e::addi(T2, 0, cause), e::b(0, T1, T2, to_setm)]);
    }
    a.w(e::MRET);
    a.ws(&e::li(T1, 0x1800));
    a.w(e::csr(2, 0, T1, csrn::MSTATUS));
    a.w(e::MRET);
    assert!(a.pc() <= base + START_OFF);
    put(HANDLER_OFF, &a.code);

    // Data: random bytes. Page tables: roots A and B, their alias tables.
    let data = base + DATA_OFF;
    let mut bytes = vec![0u8; DATA_SIZE as usize];
    for b in bytes.iter_mut() {
        *b = rng.u32() as u8;
    }
    put(DATA_OFF, &bytes);
    let pt = base + PT_OFF;
    let (root_a, root_b, l2_a, l2_b) = (pt, pt + 0x1000, pt + 0x2000, pt + 0x3000);
    const V: u32 = 1;
    const R: u32 = 2;
    const W: u32 = 4;
    const X: u32 = 8;
    const U: u32 = 16;
    const AD: u32 = 0xc0;
    let pte = |pa: u32, flags: u32| (pa >> 12) << 10 | flags;
    let ram_mega = IMAGE_BASE & !0x3f_ffff;
    for (root, l2, u) in [(root_a, l2_a, 0), (root_b, l2_b, U)] {
        let mut t = vec![0u32; 1024];
        t[(ram_mega >> 22) as usize] = pte(ram_mega, V | R | W | X | AD | u);
        t[(UART >> 22) as usize] = pte(UART & !0x3f_ffff, V | R | W | AD);
        t[(FINISHER >> 22) as usize] = pte(0, V | R | W | AD);
        t[(ALIAS_VA >> 22) as usize] = pte(l2, V);
        let mut l = vec![0u32; 1024];
        let other = if u == 0 { U } else { 0 };
        l[0] = pte(data, V | R | W | AD | u);
        l[1] = pte(data + 0x1000, V | R | AD | u);
        l[3] = pte(data + 0x2000, V | X | AD | u);
        l[4] = pte(data + 0x3000, V | R | W | AD | other);
        l[5] = pte(data, V | R | W | AD | u);
        l[6] = pte(data + 0x1000, V | W | AD | u);
        let le = |v: &[u32]| v.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        put(root - base, &le(&t[..]));
        put(l2 - base, &le(&l[..]));
    }

    // Prologue, body, epilogue.
    let mut a = Asm {
        base: base + START_OFF,
        code: Vec::new(),
    };
    a.ws(&e::li(T0, base + HANDLER_OFF));
    a.w(e::csrw(csrn::MTVEC, T0));
    a.ws(&e::li(T0, u32::MAX));
    a.w(e::csrw(csrn::PMPADDR0, T0));
    a.ws(&e::li(T0, 0x1f));
    a.w(e::csrw(csrn::PMPCFG0, T0));
    for c in [
        csrn::MSTATUS,
        csrn::SATP,
        csrn::MEDELEG,
        csrn::MIDELEG,
        csrn::MIE,
        csrn::MCOUNTEREN,
        csrn::SCOUNTEREN,
        csrn::STVEC,
    ] {
        a.w(e::csrw(c, 0));
    }
    for c in [csrn::MSCRATCH, csrn::SSCRATCH, csrn::MTVAL, csrn::STVAL] {
        a.ws(&e::li(T0, rng.u32()));
        a.w(e::csrw(c, T0));
    }
    for c in [csrn::MEPC, csrn::SEPC] {
        a.ws(&e::li(T0, rng.u32() & !1));
        a.w(e::csrw(c, T0));
    }
    for c in [csrn::MCAUSE, csrn::SCAUSE] {
        a.ws(&e::li(T0, rng.pick(&LEGAL_CAUSES)));
        a.w(e::csrw(c, T0));
    }
    a.w(e::SFENCE_VMA);
    a.putc(b'P');
    a.putc(b' ');
    a.ws(&e::li(VAL, index));
    a.print(base);
    a.putc(b'\n');
    for r in 1..=LAST_BODY {
        a.ws(&e::li(r, interesting(rng)));
    }

    let mut g = Gen {
        rng,
        base,
        data,
        roots: (root_a, root_b),
        mode: Mode::M,
        satp: Satp::Bare,
        items: Vec::new(),
    };
    for _ in 0..body {
        g.item();
    }
    let items = std::mem::take(&mut g.items);
    let body_start = a.pc();
    let mut offsets = Vec::with_capacity(items.len() + 1);
    let mut at = body_start;
    for it in &items {
        offsets.push(at);
        at += it.code.len() as u32;
    }
    offsets.push(at);
    let n = items.len();
    for (k, it) in items.iter().enumerate() {
        let mut code = it.code.clone();
        if let Some((off, fix, skip)) = it.fix {
            // Land at most `skip` items ahead, never past a state change.
            let mut target = k + 1;
            while target < n && target < k + 1 + skip && !items[target].stateful {
                target += 1;
            }
            let from = offsets[k] + off as u32;
            let rel = offsets[target] as i32 - from as i32;
            match fix {
                Fix::B { f3, rs1, rs2 } => {
                    code[off..off + 4].copy_from_slice(&e::b(f3, rs1, rs2, rel).to_le_bytes())
                }
                Fix::Jal { rd } => {
                    code[off..off + 4].copy_from_slice(&e::jal(rd, rel).to_le_bytes())
                }
                Fix::Cb { f3, rs1 } => {
                    assert!(rel < 256);
                    code[off..off + 2].copy_from_slice(&e::cb(f3, rs1, rel).to_le_bytes())
                }
                Fix::Cj { f3 } => code[off..off + 2].copy_from_slice(&e::cj(f3, rel).to_le_bytes()),
            }
        }
        a.code.extend_from_slice(&code);
    }

    // Back to M, then the dump.
    a.w(e::ECALL);
    a.putc(b'R');
    a.putc(b' ');
    for r in 1..=LAST_BODY {
        a.w(e::addi(VAL, r, 0));
        a.print(base);
    }
    a.putc(b'\n');
    a.putc(b'C');
    a.putc(b' ');
    for (_, c) in DUMP_CSRS {
        a.w(e::csrr(VAL, *c));
        a.print(base);
    }
    a.putc(b'\n');
    a.putc(b'M');
    a.putc(b' ');
    if full_dump {
        a.ws(&e::li(5, data));
        a.ws(&e::li(6, data + DATA_SIZE));
        a.w(e::i(op::LOAD, 2, VAL, 5, 0));
        a.print(base);
        a.w(e::addi(5, 5, 4));
        a.w(e::b(6, 5, 6, -12));
    } else {
        for kib in 0..DATA_SIZE / 1024 {
            let start = data + kib * 1024;
            a.ws(&e::li(5, start));
            a.ws(&e::li(6, start + 1024));
            a.w(e::addi(VAL, 0, 0));
            a.ws(&[
                e::i(op::LOAD, 2, 8, 5, 0),
                e::i(op::OPIMM, 1, 9, VAL, 5),
                e::i(op::OPIMM, 5, VAL, VAL, 27),
                e::r(op::OP, 6, 0, VAL, VAL, 9),
                e::r(op::OP, 4, 0, VAL, VAL, 8),
                e::addi(5, 5, 4),
                e::b(6, 5, 6, -24),
            ]);
            a.print(base);
        }
    }
    a.putc(b'\n');
    if last {
        a.ws(&e::li(T0, FINISHER));
        a.ws(&e::li(T1, 0x5555));
        a.w(e::s(op::STORE, 2, T0, T1, 0));
        a.w(e::jal(0, 0));
    } else {
        a.ws(&e::li(T0, base + SLOT));
        a.w(e::jalr(0, T0, 0));
    }
    assert!(
        a.pc() <= base + CODE_END,
        "program {index} too long: {:#x} bytes",
        a.pc() - base
    );
    put(START_OFF, &a.code);
}

/// `mcause`/`scause` values every implementation keeps (WLRL: only legal values are written).
const LEGAL_CAUSES: [u32; 7] = [2, 3, 5, 7, 8, 0x8000_0005, 0x8000_0009];

/// A register value likely to find edge cases.
fn interesting(rng: &mut Rng) -> u32 {
    match rng.below(8) {
        0 => rng.pick(&[0, 1, 2, u32::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff_8000, 31]),
        1 => rng.below(64),
        2 => rng.below(64).wrapping_neg(),
        _ => rng.u32(),
    }
}

struct Gen<'r> {
    rng: &'r mut Rng,
    base: u32,
    data: u32,
    roots: (u32, u32),
    mode: Mode,
    satp: Satp,
    items: Vec<Item>,
}

impl Gen<'_> {
    fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    fn reg(&mut self) -> Reg {
        if self.rng.one_in(16) {
            0
        } else {
            1 + self.rng.below(LAST_BODY)
        }
    }

    fn creg(&mut self) -> Reg {
        8 + self.rng.below(8)
    }

    fn paged(&self) -> bool {
        self.mode != Mode::M && self.satp != Satp::Bare
    }

    /// A data address for an access of `width` bytes: usually aligned in the data area; or
    /// misaligned, in the alias window (under Sv32), in the code (loads), or unmapped.
    fn address(&mut self, width: u32, load: bool) -> u32 {
        let mut addr = match self.rng.below(16) {
            0 => FAULT_ADDR + self.rng.below(0x100),
            1 | 2 if load => self.base + self.rng.below(CODE_END - 8),
            3..=6 if self.paged() => ALIAS_VA + self.rng.below(8) * 0x1000 + self.rng.below(0xff8),
            _ => self.data + self.rng.below(DATA_SIZE - 8),
        };
        if !self.rng.one_in(6) {
            addr &= !(width - 1);
        }
        addr
    }

    /// An address in the data area, usually aligned for `width`.
    fn data_address(&mut self, width: u32) -> u32 {
        let addr = self.data + self.rng.below(DATA_SIZE - 8);
        if self.rng.one_in(6) {
            addr
        } else {
            addr & !(width - 1)
        }
    }

    fn item(&mut self) {
        match self.rng.below(100) {
            0..=24 => self.alu(),
            25..=39 => self.load_store(),
            40..=46 => self.amo(),
            47..=54 => self.branch(),
            55..=66 => self.compressed(),
            67..=78 => self.csr(),
            79..=86 => self.trap(),
            87..=89 => self.fence(),
            _ => self.state_change(),
        }
    }

    fn alu(&mut self) {
        let (rd, rs1, rs2) = (self.reg(), self.reg(), self.reg());
        let mut it = Item::default();
        match self.rng.below(6) {
            0 | 1 => {
                let (f3, f7) = self.rng.pick(&[
                    (0, 0),
                    (0, 0x20),
                    (1, 0),
                    (2, 0),
                    (3, 0),
                    (4, 0),
                    (5, 0),
                    (5, 0x20),
                    (6, 0),
                    (7, 0),
                ]);
                it.w(e::r(op::OP, f3, f7, rd, rs1, rs2));
            }
            2 => {
                it.w(e::r(op::OP, self.rng.below(8), 1, rd, rs1, rs2));
            }
            3 | 4 => {
                let f3 = self.rng.below(8);
                let imm = match f3 {
                    1 => self.rng.below(32) as i32,
                    5 => (self.rng.below(32) | if self.rng.one_in(2) { 0x400 } else { 0 }) as i32,
                    _ => (self.rng.u32() as i32) >> 20,
                };
                it.w(e::i(op::OPIMM, f3, rd, rs1, imm));
            }
            _ => {
                let opc = if self.rng.one_in(2) {
                    op::LUI
                } else {
                    op::AUIPC
                };
                it.w(e::u(opc, rd, self.rng.u32()));
            }
        }
        self.push(it);
    }

    fn load_store(&mut self) {
        let store = self.rng.one_in(2);
        let f3 = if store {
            self.rng.below(3)
        } else {
            self.rng.pick(&[0, 1, 2, 4, 5])
        };
        let width = 1 << (f3 & 3);
        let addr = self.address(width, !store);
        let off = (self.rng.u32() as i32) >> 20;
        let base = 1 + self.rng.below(LAST_BODY);
        let mut it = Item::default();
        it.ws(&e::li(base, addr.wrapping_sub(off as u32)));
        if store {
            it.w(e::s(op::STORE, f3, base, self.reg(), off));
        } else {
            it.w(e::i(op::LOAD, f3, self.reg(), base, off));
        }
        self.push(it);
    }

    fn amo(&mut self) {
        let f5 = self.rng.pick(&[
            0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c,
        ]);
        // A failed SC to a page or address it could not write may fault or not (Spike and
        // QEMU do not, Fief does): SCs go to the data area, always writable.
        let addr = if f5 == 0x03 {
            self.data_address(4)
        } else {
            self.address(4, false)
        };
        let base = 1 + self.rng.below(LAST_BODY);
        let aqrl = self.rng.below(4);
        let mut it = Item::default();
        it.ws(&e::li(base, addr));
        let rs2 = if f5 == 0x02 { 0 } else { self.reg() };
        let rd = self.reg();
        it.w(e::r(op::AMO, 2, f5 << 2 | aqrl, rd, base, rs2));
        if f5 == 0x02 && self.rng.one_in(2) {
            // An SC to the reserved word when the LR read the data area (its base may have
            // been overwritten by the LR), else to another data word.
            let sc_addr = if (self.data..self.data + DATA_SIZE).contains(&addr) {
                addr
            } else {
                self.data_address(4)
            };
            it.ws(&e::li(base, sc_addr));
            let rd = self.reg();
            let rs2 = self.reg();
            it.w(e::r(op::AMO, 2, 0x03 << 2 | aqrl, rd, base, rs2));
        }
        self.push(it);
    }

    fn branch(&mut self) {
        let skip = self.rng.below(4) as usize;
        let mut it = Item::default();
        let fix = if self.rng.one_in(4) {
            Fix::Jal { rd: self.reg() }
        } else {
            Fix::B {
                f3: self.rng.pick(&[0, 1, 4, 5, 6, 7]),
                rs1: self.reg(),
                rs2: self.reg(),
            }
        };
        it.w(0);
        it.fix = Some((0, fix, skip));
        self.push(it);
    }

    fn compressed(&mut self) {
        let mut it = Item::default();
        let nz = 1 + self.rng.below(LAST_BODY);
        match self.rng.below(12) {
            0 => it.h(e::ci(0, self.reg(), (self.rng.u32() as i32) >> 26)),
            1 => it.h(e::ci(2, nz, (self.rng.u32() as i32) >> 26)),
            2 => {
                let rd = if nz == 2 { 3 } else { nz };
                it.h(e::clui(rd, 1 + self.rng.below(63)))
            }
            3 => it.h(e::cslli(nz, 1 + self.rng.below(31))),
            4 => {
                let kind = self.rng.below(3) as u16;
                let imm = if kind == 2 {
                    (self.rng.u32() as i32) >> 26
                } else {
                    1 + self.rng.below(31) as i32
                };
                it.h(e::cshift_andi(kind, self.creg(), imm))
            }
            5 => it.h(e::carith(
                self.rng.below(4) as u16,
                self.creg(),
                self.creg(),
            )),
            6 => {
                let rs2 = 1 + self.rng.below(LAST_BODY);
                it.h(e::cmv_add(self.rng.one_in(2), nz, rs2))
            }
            7 | 8 => {
                let base = self.creg();
                let off = self.rng.below(32) * 4;
                let mut addr = self.data + self.rng.below(DATA_SIZE - 256);
                if !self.rng.one_in(6) {
                    addr &= !3;
                }
                it.ws(&e::li(base, addr));
                let rd = self.creg();
                it.h(e::clsw(self.rng.one_in(2), rd, base, off))
            }
            9 => {
                let f3 = if self.rng.one_in(2) { 6 } else { 7 };
                it.h(0);
                it.fix = Some((
                    0,
                    Fix::Cb {
                        f3,
                        rs1: self.creg(),
                    },
                    self.rng.below(4) as usize,
                ));
                &mut it
            }
            10 => {
                let f3 = if self.rng.one_in(2) { 5 } else { 1 };
                it.h(0);
                it.fix = Some((0, Fix::Cj { f3 }, self.rng.below(4) as usize));
                &mut it
            }
            _ => it.h(0x0001), // c.nop
        };
        self.push(it);
    }

    fn csr(&mut self) {
        // (csr, how it may be written): 0 any value, 1 mstatus-safe bits, 2 sstatus-safe
        // bits, 3 legal causes only, 4 read only (a write is illegal), 5 never written,
        // 6 read only where illegal, 7 even values, 8 modes 0 and 1, 9 written (illegal),
        // never read.
        let (c, how) = self.rng.pick(&[
            (csrn::MSCRATCH, 0),
            (csrn::SSCRATCH, 0),
            (csrn::MEPC, 7),
            (csrn::SEPC, 7),
            (csrn::MTVAL, 0),
            (csrn::STVAL, 0),
            (csrn::STVEC, 8),
            (csrn::MSTATUS, 1),
            (csrn::SSTATUS, 2),
            (csrn::MCAUSE, 3),
            (csrn::SCAUSE, 3),
            (0xf11, 9), // mvendorid
            (0xf12, 9), // marchid
            (0xf13, 9), // mimpid
            (csrn::MHARTID, 4),
            (csrn::SATP, 5),
            (csrn::MEDELEG, 5),
            (csrn::MIDELEG, 5),
            (csrn::MIE, 5),
            (csrn::MTVEC, 5),
            (csrn::PMPCFG0, 5),
            (csrn::PMPADDR0, 5),
            (0x3b1, 5), // pmpaddr1
            (csrn::MCOUNTEREN, 5),
            (0x7c0, 0), // custom: absent on both
            (0x5c0, 0), // custom: absent on both
            (0x001, 0), // fflags: illegal while mstatus.FS is off
            (0x003, 0), // fcsr
            (0xc00, 6), // cycle: only where mcounteren makes it illegal
            (0xc01, 6), // time
            (0xc02, 6), // instret
            (0xc80, 6), // cycleh
        ]);
        if how == 6 && self.mode == Mode::M {
            return;
        }
        let rd = self.reg();
        let mut it = Item::default();
        let value = match how {
            1 => self.rng.u32() & MSTATUS_SAFE,
            2 => self.rng.u32() & MSTATUS_SAFE & !(1 << 3 | 1 << 7),
            3 => self.rng.pick(&LEGAL_CAUSES),
            // xepc[0] is always zero; QEMU 7.2 keeps it (randdiff::DEVIATIONS).
            7 => self.rng.u32() & !1,
            // stvec.MODE 2 and 3 are reserved (WARL: QEMU 7.2 and Fief keep the old value);
            // only modes 0 and 1 are written, so that the batches stay as they were.
            8 => self.rng.u32() & !2,
            _ => self.rng.u32(),
        };
        let write = match how {
            4 => self.rng.one_in(4),
            9 => true,
            5 | 6 => false,
            _ => !self.rng.one_in(4),
        };
        if !write {
            it.w(e::csrr(rd, c));
        } else if how == 3 {
            it.ws(&e::li(T0, value));
            it.w(e::csr(1, rd, T0, c));
        } else if how == 9 {
            // The implementation's IDs differ (QEMU's mimpid is its version): only a write,
            // which must trap.
            it.ws(&e::li(T0, value));
            it.w(e::csr(1, rd, T0, c));
        } else if self.rng.one_in(4) {
            // Immediate forms; for mstatus/sstatus only the SIE and MIE bits.
            let uimm = match how {
                1 => value & 0xa,
                2 => value & 0x2,
                7 => value & 0x1e,
                8 => value & 0x1d,
                _ => value & 0x1f,
            };
            it.w(e::csr(5 + self.rng.below(3), rd, uimm, c));
        } else {
            it.ws(&e::li(T0, value));
            it.w(e::csr(1 + self.rng.below(3), rd, T0, c));
        }
        self.push(it);
    }

    fn trap(&mut self) {
        let mut it = Item::default();
        let mut choices: Vec<u32> = vec![
            e::EBREAK,
            0xffff_ffff,
            0x0000_000b,          // custom-0
            0x0000_0053,          // fadd.s: illegal with mstatus.FS off
            0x7b20_0073,          // dret outside debug mode
            0x0000_0000,          // two illegal compressed halves
            0x3020_0073 | 1 << 7, // mret with rd != 0: reserved
        ];
        if self.mode != Mode::M {
            choices.push(e::MRET);
        }
        if self.mode == Mode::U {
            choices.push(e::SRET);
            choices.push(e::WFI);
        }
        it.w(self.rng.pick(&choices));
        self.push(it);
    }

    fn fence(&mut self) {
        let mut it = Item::default();
        it.w(self.rng.pick(&[e::FENCE, e::FENCE_I, e::SFENCE_VMA]));
        self.push(it);
    }

    fn satp_value(&self, s: Satp) -> u32 {
        match s {
            Satp::Bare => 0,
            Satp::A => 1 << 31 | self.roots.0 >> 12,
            Satp::B => 1 << 31 | self.roots.1 >> 12,
        }
    }

    fn state_change(&mut self) {
        let mut it = Item {
            stateful: true,
            ..Item::default()
        };
        match self.mode {
            Mode::M => {
                if self.rng.one_in(4) {
                    it.w(e::ECALL); // stays in M
                } else {
                    let (to, satp, mpp) = if self.rng.one_in(2) {
                        (Mode::S, self.rng.pick(&[Satp::Bare, Satp::A, Satp::A]), 1)
                    } else {
                        (Mode::U, self.rng.pick(&[Satp::Bare, Satp::B, Satp::B]), 0)
                    };
                    it.ws(&e::li(T0, self.satp_value(satp)));
                    it.w(e::csrw(csrn::SATP, T0));
                    it.w(e::SFENCE_VMA);
                    it.ws(&e::li(T0, 0x1800));
                    it.w(e::csr(3, 0, T0, csrn::MSTATUS));
                    it.ws(&e::li(T0, mpp << 11));
                    it.w(e::csr(2, 0, T0, csrn::MSTATUS));
                    it.ws(&[e::u(op::AUIPC, T0, 0), e::addi(T0, T0, 16)]);
                    it.w(e::csrw(csrn::MEPC, T0));
                    it.w(e::MRET);
                    self.mode = to;
                    self.satp = satp;
                }
            }
            Mode::S if self.rng.one_in(2) => {
                let satp = self.rng.pick(&[Satp::Bare, Satp::A]);
                it.ws(&e::li(T0, self.satp_value(satp)));
                it.w(e::csrw(csrn::SATP, T0));
                it.w(e::SFENCE_VMA);
                self.satp = satp;
            }
            _ => {
                it.w(e::ECALL);
                self.mode = Mode::M;
            }
        }
        self.push(it);
    }
}
