//! The seeded generator of random RV32 and RV64 guest programs for the differential against
//! QEMU (`randdiff`, `tests/tests/random_diff.rs`, `scripts/diff-random`).
//!
//! A *batch* is one raw image for `0x8000_0000` holding up to [`MAX_PROGRAMS`] programs, one
//! per slot (64 KiB at RV32, 128 KiB at RV64: [`slot_size`]), run one after the other (one
//! QEMU start serves them all). Each program:
//!
//! * resets the trap CSRs, `satp`, `mstatus`, PMP (entry 0: all of memory RWX, as S/U code
//!   needs) and prints `P <index>`; sets `x1..x26` to random values;
//! * runs a random body (`gen`; with [`Flavor::Bitmanip`] also Zba/Zbb/Zbc/Zbs, `bitmanip`)
//!   of RV32 I, M, A, C and Zicsr instructions, loads/stores/AMOs at
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
//! At RV64 ([`batch_xlen`]) the same programs are built from the RV64 forms: registers,
//! CSRs and the printer are 64 bits wide, constants are loaded by `li` sequences
//! ([`e::li64`]), the body also draws the `W` instructions, `ld`/`sd`/`lwu`, 64-bit shifts,
//! RV64C (`c.ld`/`c.sd`/`c.ldsp`/`c.sdsp`/`c.addiw`/`c.addw`/`c.subw`; no `c.jal`), `.d`
//! AMOs and the RV64 forms of the bitmanip and F/D items, and faulting addresses above 4 GiB
//! (non-canonical for Sv39). Sv39 replaces Sv32 with the same two roots: gigapages for the
//! devices (not U) and for RAM (the code/data, `U` as in Sv32), and the same alias window
//! reached through a level-1 and a level-0 table.
//!
//! Sv32 (`satp` roots A and B, identity-mapped code/data megapage, UART, finisher): A maps
//! RAM without U (for S-mode), B with U (for U-mode); both map an alias window at
//! [`ALIAS_VA`] of eight pages: RW, R-only, invalid, X-only (MXR), the other-privilege page
//! (U in A for SUM, not-U in B), RW again (aliasing page 0), W-only (reserved), invalid.
//!
//! RV64 programs also take interrupts, at points both machines agree on: a machine software
//! (`msip` = 1) or timer (`mtimecmp` = 0, due at once) interrupt is made pending while `mie`
//! masks it, then enabled by a `mie` write in M-mode (taken right after it if `mstatus.MIE`
//! is set; else left pending, and a `wfi` then completes at once), or before an `mret` to S
//! or U (taken at the first instruction there). The handler prints it like a trap, clears
//! `msip`, `mtimecmp` and `mie` and returns to the interrupted instruction. Nothing is ever
//! made pending while it is enabled (QEMU takes an interrupt raised by a device write only at
//! the end of its translation block).
//!
//! What never appears, because the two machines may legitimately differ: counter values
//! (`cycle`, `time`, `instret` are only read where `mcounteren` = 0 makes them illegal),
//! interrupts at RV32 (`mie` stays 0), `misa` (extensions differ), writes of WLRL fields with values
//! outside their legal set, `mstatus.MPRV` (`randdiff::DEVIATIONS`), `mstatus.TVM/TW/TSR`
//! at RV32 (RV64 programs set and clear them in M; `sret`/`wfi` in S appear only while TSR/TW
//! are known set), `mstatus.FS` outside the `Fp` flavor, A/D-bit updates (every PTE has A and
//! D set), and the reservation across traps.

mod bitmanip;
mod fp;
mod gen;
mod layout;

use crate::rvenc::{self as e, op, Reg};
pub use fief_core::cpu::riscv::Xlen;
use gen::Gen;

/// Bytes per program slot at RV32.
pub const SLOT: u32 = 0x1_0000;
/// Bytes per program slot at RV64 (the Sv39 tables need two more pages).
pub const SLOT64: u32 = 0x2_0000;

/// The slot size of programs at `xlen`.
pub fn slot_size(xlen: Xlen) -> u32 {
    match xlen {
        Xlen::Rv32 => SLOT,
        Xlen::Rv64 => SLOT64,
    }
}
/// Where the first slot (and the image) starts.
pub const IMAGE_BASE: u32 = 0x8000_0000;
/// Programs per batch at most: at RV32 all slots share the identity 4 MiB megapage (at
/// RV64, 8 MiB of the test machine's 16 MiB of RAM).
pub const MAX_PROGRAMS: usize = 64;
/// Virtual base of the alias window (Sv32 only).
pub const ALIAS_VA: u32 = 0x4000_0000;
/// An address no device answers on either machine (QEMU's RAM is 128 MiB, Fief's test
/// machine's 16 MiB): an access fault when bare, a page fault under Sv32 (an access fault
/// under Sv39, whose RAM gigapage maps it).
pub const FAULT_ADDR: u32 = 0x9000_0000;
/// RV64's other faulting addresses: outside every Sv39 mapping (a page fault when paged,
/// an access fault when bare), non-canonical for Sv39 (bit 38 set, 63:39 clear), and the
/// top gigabyte (canonical, unmapped; above the 56-bit physical space when bare).
pub const FAULT_ADDRS64: [u64; 3] = [0xc000_0000, 0x40_0000_0000, 0xffff_ffff_c000_0000];
/// Set in an RV64 data address to make it non-canonical for Sv39 while its bits 38:0 still
/// walk to the data (so that a walk that skipped the canonical check would succeed).
pub const NON_CANONICAL_BIT: u64 = 1 << 39;
/// The UART's transmit register.
const UART: u32 = 0x1000_0000;
/// The CLINT's `msip` (hart 0) and, at `+0x4000`, `mtimecmp`.
const CLINT: u32 = 0x200_0000;
const MTIMECMP: u32 = CLINT + 0x4000;
/// The SiFive test finisher.
const FINISHER: u32 = 0x10_0000;

const TABLE_OFF: u32 = 0x10;
const PRINT_OFF: u32 = 0x20;
/// The handler and the prologue at RV32.
const HANDLER_OFF: u32 = 0x100;
const START_OFF: u32 = 0x200;
/// The handler at RV64 (after a printer of 16 digits).
const HANDLER_OFF64: u32 = 0x200;
/// Where an RV64 program's prologue (then its body) starts in its slot: after a handler
/// that also returns from interrupts.
pub const START_OFF64: u32 = 0x400;
const CODE_END: u32 = 0x8000;
const DATA_OFF: u32 = 0x8000;
const DATA_SIZE: u32 = 0x4000;
const PT_OFF: u32 = 0xc000;
/// The Sv39 level-1 tables (A, B) at RV64.
const PT64_L1_OFF: u32 = 0x1_0000;

/// The handler's and printer's registers (never in the body).
const LINK: Reg = 27;
const T0: Reg = 28;
const T1: Reg = 29;
const VAL: Reg = 30;
const T2: Reg = 31;
/// Body registers are `x1..=LAST_BODY`.
const LAST_BODY: Reg = 26;

/// Interrupt numbers (bits of `mie`/`mip`, `mcause` codes).
mod irq {
    /// Machine software interrupt.
    pub const MSI: u32 = 3;
    /// Machine timer interrupt.
    pub const MTI: u32 = 7;
}

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
    /// The harts' XLEN it is built for.
    pub xlen: Xlen,
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
    batch_of(Flavor::Base, seed, programs, body, full_dump)
}

/// Which instruction groups a batch's program bodies draw from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// RV32 I, M, A, C and Zicsr with traps, privilege changes and Sv32 (the original
    /// generator; its seeds keep their programs).
    Base,
    /// `Base` with a quarter of the items from Zba, Zbb, Zbc and Zbs (register and immediate
    /// forms, and the reserved shift-amount encodings next to them).
    Bitmanip,
    /// `Base` with a third of the items from F and D (`mstatus.FS` Dirty from the start),
    /// and the FP registers and `fcsr` in the dump (an `F` line).
    Fp,
}

impl Flavor {
    /// The flavor named `name` (`base`, `bitmanip`, `fp`), as `diff-random --gen` takes it.
    pub fn from_name(name: &str) -> Option<Flavor> {
        match name {
            "base" => Some(Flavor::Base),
            "bitmanip" => Some(Flavor::Bitmanip),
            "fp" => Some(Flavor::Fp),
            _ => None,
        }
    }
}

/// [`batch_with`] for the generator `flavor` (RV32).
pub fn batch_of(flavor: Flavor, seed: u64, programs: usize, body: usize, full_dump: bool) -> Batch {
    batch_xlen(Xlen::Rv32, flavor, seed, programs, body, full_dump)
}

/// [`batch_of`] for harts of `xlen`: the RV64 batches are of RV64 programs (see the
/// [module docs](self)); the RV32 ones are [`batch_of`]'s.
pub fn batch_xlen(
    xlen: Xlen,
    flavor: Flavor,
    seed: u64,
    programs: usize,
    body: usize,
    full_dump: bool,
) -> Batch {
    assert!((1..=MAX_PROGRAMS).contains(&programs));
    let size = slot_size(xlen) as usize;
    let mut image = vec![0u8; programs * size];
    for k in 0..programs {
        let mut rng = Rng::new(seed ^ (k as u64).wrapping_mul(0xd1b5_4a32_d192_ed03));
        let slot = &mut image[k * size..(k + 1) * size];
        layout::program(
            &mut rng,
            xlen == Xlen::Rv64,
            flavor,
            k as u32,
            k + 1 == programs,
            body,
            full_dump,
            slot,
        );
    }
    Batch {
        seed,
        xlen,
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

/// The sequence that loads `value` into `rd`: `lui`+`addi` of its low 32 bits at RV32,
/// [`e::li64`] at RV64.
fn li(rv64: bool, rd: Reg, value: u64) -> Vec<u32> {
    if rv64 {
        e::li64(rd, value)
    } else {
        e::li(rd, value as u32).to_vec()
    }
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
