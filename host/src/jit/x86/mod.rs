//! The x86-64 translator: a decoded block ([`BlockRef`]) to host code, with dynasm-rs.
//!
//! **Calling convention.** Generated code is an `extern "sysv64" fn(regs: *mut u64, ctx:
//! *const TierCtx, chain: *mut Chain) -> Ret` ([`Ret`]). Inside it `rdi` holds the
//! hart's register file (256 `u64` slots), `rsi` the core's [`TierCtx`], `rbp` the
//! link slots, `r11` the address of the hart's interrupt word (`ctx.pending`) and `r10d`
//! the mask it is tested with (`ctx.exit_mask`), so each exit's check of interrupts and
//! of writes behind the hart's back is one `test` of the word (code that needs `r10` or
//! `r11` for something else loads them again before it goes on into a block), and `r8`
//! the instructions retired since the call less
//! the frame's budget limit (`LIMIT`, set in the prologue); the tier's jump cache
//! ([`Chain`], `rdx` at the call) is in the frame (`CHAIN_AT`); `rbx` and
//! `r12`–`r15` hold guest registers within a block (below). The prologue saves the
//! callee-saved registers on the stack; every return goes through the block's epilogue,
//! which restores them. A block's code has two entries: the start (the prologue, for
//! calls from Rust) and [`Code::chain_entry`], just past it, where other blocks jump
//! with `rdi`, `rsi`, `r11`, `rbp`, `r10` and `r8` set. The code returns the next guest `pc` in
//! `rax` and the instructions retired in `rdx` (bit 63 set for [`TierEnd::Single`], bits
//! 56–62 the [`ExitKind`]: why it returned, counted in the tier's stats; each exit path
//! sets its own, so the fast paths pay nothing for it). Besides the callee-saved
//! registers it restores it touches only `rax`, `rcx`, `rdx`, `r8`–`r11`, `xmm0` and the
//! flags, its stack frame (the memos of loads and stores, `mem`), the register file,
//! guest RAM pages the TLB maps, the link slots and the [`Chain`]'s link log and lookup
//! count, and cannot fault: every operation it translates is total (division by zero
//! and overflow are tested for and give what the M extension says), and a memory access
//! is only made through a TLB host page, aligned and inside it.
//!
//! **Guest registers in host registers** (`Cache`). Each block keeps up to five of the
//! guest registers it uses at least twice (a use past `k` of its conditional branches
//! counting `1 / 2^k`: a register used only behind branches it mostly leaves by is read
//! where it is used) in `rbx`, `r12`–`r15`: loaded at its chain
//! entry (but for a block that never jumps back to its own start, not those it writes
//! before reading: an exit before that write neither stores them back nor names them
//! in its register map), operated on there (the common ALU operations in place or
//! through `rax`, load results, store values, address bases, branch and `jalr`
//! operands), and stored back to
//! the register file at every way out of the block (a direct or indirect exit before its
//! boundary checks, a return to the interpreter before an instruction; in a block that
//! never jumps back to its own start, only those written before that way out), so the
//! run loop, the interpreter and the next block always find the register file up to
//! date. `x0` as an operand is never read from the register file: `mv`, `li` and `nop`
//! are moves (or nothing), a branch against `x0` tests the other register. An
//! instruction without a register form (the M extension but `mul`, RV64 word
//! operations) stores its cached sources first and reads the register file as before.
//! Each cached register goes in its *home* host register (`CACHE_REGS[r % 5]`) when
//! that is free, so blocks caching the same guest registers mostly hold them in the same
//! host registers. A block's **warm entries** are inside its loads (in the order of
//! the host registers): a direct exit links its slot past the loads of the host
//! registers where its block's register map (which guest register each host register
//! holds, `WarmWord`, stored in the 8 bytes before the successor's chain entry) agrees
//! with the successor's, up to the first one the successor uses where they differ (past
//! all of them when none does; the linking lookup compares them, once per link), so a
//! chain of such blocks loads its registers once
//! ([`JitStats::warm_links`](super::JitStats) counts these links).
//!
//! **Translated**: RV32I/RV64I's register-register and register-immediate ALU operations,
//! `lui`, `auipc`, the M extension, RV64's word operations, loads and stores (RV64's `ld`,
//! `lwu`, `sd` too), conditional branches (a taken one leaves the block), and `jal`/`jalr`
//! (they end a block). RV32 values stay zero-extended in their `u64` slots (32-bit x86
//! operations do that by themselves), as the interpreter keeps them. A block with
//! anything else before its last instruction is not translated; anything else as its
//! last instruction is left to the interpreter's general path ([`TierEnd::Single`]).
//!
//! **Loads at M level** (a block translated while the core gives a RAM window,
//! `TierCtx::window_lo`: data accesses at M level, no data trigger armed) go through the
//! window first, inline: `va` less the window's start, rotated right by the size's log2
//! (a misaligned offset's low bits land on top), one unsigned compare with the window's
//! limit for the size for inside and aligned, and the load from the window's host base
//! plus the offset scaled back (7 host instructions; the TLB's fast view below takes 14
//! without a memo). Outside it (or with no window now: the limits are 0), out of line,
//! the fast view and the TLB entry as below. Bare-metal M-mode code then makes no TLB
//! lookup for loads from RAM at all (`bench_list`'s pointer chasing).
//!
//! **Loads and stores** take the TLB fast path inline: `va = rs1 + imm` (32 bits on
//! RV32); in a loop or a group of accesses through one base register, first a memo of
//! an earlier lookup in this call (`mem`'s docs: the page,
//! and the alignment in one compare), behind a miss there or elsewhere the TLB's fast view (`TierCtx::fast_tlb`, as the interpreter's block executor
//! uses it: one compare for the page and the alignment, the host address by one
//! addition), and behind a miss there, out of line, the data TLB entry itself (aligned
//! to the size, its tag equal to `va & !0xfff` and its host pointer not null); a store
//! through that entry also needs its host line clear in the code-line filter, or the
//! tag behind its set bit naming another line (checked out of line). A store that hits
//! the fast view (or a memo made from such a hit) makes no such check: a fast write tag
//! matches only while its page holds no line of a checked block (`TierCtx::fast_tlb`).
//! Anything else (a miss, MMIO, misaligned, a fault, a store to code) leaves the block
//! *before* the instruction with [`TierEnd::Single`] at its `pc`: the interpreter's
//! general path executes it (refill, device access, the trap with its own `pc`), so traps
//! are precise by construction. Guest RAM is host atomics in the interpreter
//! (`host::load`/`store`); aligned x86 moves of the same width are the same accesses.
//!
//! **Chaining and direct links** (QEMU's `goto_tb`). At every exit to a next `pc` the
//! code first makes the run loop's checks at a block boundary: fewer than
//! [`BLOCK_INSNS`] instructions of budget left (`count + BLOCK_INSNS > ctx.left`: one
//! conditional jump on the flags of the exit's `add` to `r8`, which counts from minus
//! the limit the prologue keeps in the frame, `LIMIT`), and in one test of the
//! interrupt word (`*ctx.pending & ctx.exit_mask`) an enabled interrupt pending or a stop
//! request (the tier declines a block when `mip_sw & int_mask` is already set) or a
//! write to guest RAM behind the hart's back since the run loop read the DMA count (the
//! memory sets a bit of the word at each; the core's `tier` docs give the ordering
//! argument; a hart that could not watch the count gets a word with that bit always
//! set); either returns with its [`ExitKind`], on every exit, forward ones too.
//! The next `pc` is put in `rax` only behind these checks' failures and in the unlinked
//! code, where something reads it. Then:
//!
//! * an exit to a *known* `pc` (the fall-through, a taken branch, `jal`) jumps through
//!   its own **link slot**, `jmp [rbp + 8 * slot]`: a `u64` in the tier's slot array, an
//!   ordinary heap allocation that is never executable. An unlinked slot holds the
//!   address of the exit's own lookup code (just after the jump), which looks the `pc`
//!   up in the jump cache and, on an entry of the current sequence, writes the entry's
//!   code address into the slot (logging the slot's address in [`Chain::log`]) and
//!   jumps there; from then on the exit goes straight to its successor. No code is
//!   ever patched, so the cache's pages stay read-execute (W^X) and a link costs one
//!   store, not two `mprotect`s.
//! * an exit to the block's own start (a loop of one block) jumps straight back past the
//!   chain entry, the cached registers still in place (stored back only when a check
//!   fails and it returns): the block is running, so it is valid in this sequence.
//! * `jalr` looks its target up in the jump cache every time (no slot).
//!
//! A jump-cache entry is only made for a block the run loop offered in the current
//! sequence, and the tier undoes every logged link whenever the sequence moves on (the
//! argument is in `super`'s docs). With the log full (more than [`LINK_LOG`] links in
//! one sequence) exits stay unlinked and keep using the lookup. Otherwise everything
//! returns to the run loop.

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler};
use fief_core::cpu::riscv::tier::{
    BlockInsn, BlockRef, TierCtx, TierEnd, CODE_LINES, CODE_TAG_ANY, TLB_ENTRIES, TLB_ENTRY_BYTES,
    TLB_FAST_BASE_R, TLB_FAST_BASE_W, TLB_FAST_BITS, TLB_FAST_BYTES, TLB_FAST_ENTRIES,
    TLB_FAST_HASH, TLB_FAST_TAG_R, TLB_FAST_TAG_W, TLB_HOST_R, TLB_HOST_W, TLB_INDEX_BITS,
    TLB_TAG_R, TLB_TAG_W,
};
use fief_core::cpu::riscv::{Op, BLOCK_INSNS};

use super::ExitKind;

mod alu;
mod chain;
mod exits;
mod loops;
mod mem;
mod regs;

use alu::{alu32, alu64, alu_cached, alu_move};
pub use chain::{Chain, JumpEntry, JUMP_CACHE, LINK_LOG};
use chain::{
    CHAIN_ENTRIES, CHAIN_FAST_MISSES, CHAIN_LINE_CHECKS, CHAIN_LINKS, CHAIN_LOG, CHAIN_LOG_LEN,
    CHAIN_LOOKUPS, CHAIN_SEQ, CHAIN_WARM,
};
use exits::{boundary_checks, prologue, room_check, set_pc, shared_tail, Exits, Tail, WarmWord};
use loops::{jumps_to_start, unrolled, BodyCopy};
use mem::{cold, mem_access, memo_sites, MemExits};
use regs::{Cache, R11, R9, RAX, RCX, RDX};

/// What generated code returns (`rax`, `rdx` in the System V ABI).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Ret {
    /// The next `pc` (or the `pc` of the instruction left to the interpreter for
    /// [`TierEnd::Single`]).
    pub pc: u64,
    /// Instructions retired, with [`SINGLE`] set for [`TierEnd::Single`].
    pub retired: u64,
}

/// The flag in [`Ret::retired`] for [`TierEnd::Single`].
pub const SINGLE: u64 = 1 << 63;

/// The lowest bit of the [`ExitKind`] field of [`Ret::retired`] (bits 56 to 62; the
/// count below it cannot reach 2^56: it is at most the run loop's budget per call).
pub const KIND_SHIFT: u32 = 56;

/// The retired count in [`Ret::retired`].
const RETIRED_MASK: u64 = (1 << KIND_SHIFT) - 1;

impl Ret {
    /// As the run loop takes it.
    #[inline(always)]
    pub fn end(self) -> TierEnd {
        if self.retired & SINGLE != 0 {
            TierEnd::Single {
                retired: self.retired & RETIRED_MASK,
                pc: self.pc,
            }
        } else {
            TierEnd::Next {
                retired: self.retired & RETIRED_MASK,
                pc: self.pc,
            }
        }
    }

    /// Why the code returned: an [`ExitKind`] as its index.
    #[inline(always)]
    pub fn kind(self) -> usize {
        ((self.retired >> KIND_SHIFT) as usize & 0x7f).min(ExitKind::COUNT - 1)
    }
}

/// Offsets of [`TierCtx`]'s fields from `rsi`.
const CTX_TLB: i32 = std::mem::offset_of!(TierCtx, tlb) as i32;
const CTX_FAST_TLB: i32 = std::mem::offset_of!(TierCtx, fast_tlb) as i32;
const CTX_WINDOW_LO: i32 = std::mem::offset_of!(TierCtx, window_lo) as i32;
const CTX_WINDOW_LIMITS: i32 = std::mem::offset_of!(TierCtx, window_limits) as i32;
const CTX_WINDOW_HOST: i32 = std::mem::offset_of!(TierCtx, window_host) as i32;
const CTX_CODE_LINES: i32 = std::mem::offset_of!(TierCtx, code_lines) as i32;
const CTX_CODE_TAGS: i32 = std::mem::offset_of!(TierCtx, code_tags) as i32;
const CTX_PENDING: i32 = std::mem::offset_of!(TierCtx, pending) as i32;
const CTX_LEFT: i32 = std::mem::offset_of!(TierCtx, left) as i32;
const CTX_INT_MASK: i32 = std::mem::offset_of!(TierCtx, int_mask) as i32;
const CTX_EXIT_MASK: i32 = std::mem::offset_of!(TierCtx, exit_mask) as i32;

type Asm = VecAssembler<X64Relocation>;

/// The register slot of `rd` = x0 (`TierCtx::regs`): it absorbs writes and nothing reads
/// it, so a `jal`'s or `jalr`'s link address is not written there (`j` and `ret`).
const X0_SINK: u8 = 32;

/// The displacement of register slot `r` from `rdi`.
fn slot(r: u8) -> i32 {
    8 * r as i32
}

/// Whether the translator handles `op` (anywhere in a block).
pub fn translates(op: Op, rv32: bool) -> bool {
    use Op::*;
    op.is_integer_compute()
        || matches!(op, Beq | Bne | Blt | Bge | Bltu | Bgeu | Jal | Jalr)
        || (!rv32 && (op.is_word() || matches!(op, Ld | Lwu | Sd)))
}

/// A translated block: its machine code, where its chain entry is, and its link slots.
pub struct Code {
    /// The bytes (position-independent).
    pub bytes: Vec<u8>,
    /// Offset of the entry other blocks jump to (past the prologue).
    pub chain_entry: usize,
    /// For each of its direct exits, in slot order (slot `slot_base + j` for entry `j`):
    /// the offset of the code an unlinked slot jumps to (the exit's jump-cache lookup).
    pub unlinked: Vec<usize>,
    /// Copies of its body run between boundary checks (more than 1: an unrolled loop).
    pub copies: usize,
}

/// The frame offset (above the memos) of the budget limit the prologue computes:
/// `ctx.left - BLOCK_INSNS`, negative when less budget is left (not saturated at 0, so
/// that a room of other than [`BLOCK_INSNS`] is tested against an immediate:
/// `exits::room_check`). An exit whose count (at least 1) is above it has too little
/// budget for a next block of [`BLOCK_INSNS`]. `r8` holds the count less the limit, so
/// that test is the sign of `r8` after the exit's `add`; the count returned is `r8` plus
/// the limit.
const LIMIT: i32 = mem::FRAME;

/// The frame offset of the [`Chain`]'s address (the prologue's `rdx`): the jump-cache
/// lookups and the counters on the memory accesses' slow paths load it from here.
const CHAIN_AT: i32 = mem::FRAME + 8;

/// The stack frame below the saved registers: the memos, the limit, the chain's address
/// and 8 bytes that keep `rsp` 16-byte aligned (24 bytes).
const STACK: i32 = mem::FRAME + 24;

/// The size and extension of a load or store.
fn mem_kind(op: Op) -> Option<(u32, bool)> {
    Some(match op {
        Op::Lb => (1, true),
        Op::Lh => (2, true),
        Op::Lw => (4, true),
        Op::Lbu => (1, true),
        Op::Lhu => (2, true),
        Op::Lwu => (4, true),
        Op::Ld => (8, true),
        Op::Sb => (1, false),
        Op::Sh => (2, false),
        Op::Sw => (4, false),
        Op::Sd => (8, false),
        _ => return None,
    })
}

/// An exit to the interpreter before instruction `i` (its label, `pc` and `i`) and the
/// labels that reach it, each with its reason.
type Single = (DynamicLabel, u64, usize, Vec<(DynamicLabel, ExitKind)>);

/// Code bytes [`translate`]'s assembler is made with room for (it grows past them as
/// needed; a Linux boot's blocks average about 2 KiB).
const ASM_BYTES: usize = 4096;
/// Dynamic labels [`translate`]'s assembler is made with room for.
const ASM_LABELS: usize = 64;
/// References to dynamic labels [`translate`]'s assembler is made with room for.
const ASM_REFS: usize = 128;

/// Most link slots [`translate`] may number (their displacements from `rbp` are 32-bit).
pub const MAX_LINKS: usize = 1 << 24;

/// Translates `block` (XLEN 32 when `rv32`), its direct exits through link slots
/// `slot_base..` (below [`MAX_LINKS`]): its machine code, or `None` when an instruction
/// before the last is not one [`translates`] takes.
pub fn translate(block: BlockRef<'_>, rv32: bool, slot_base: usize, window: bool) -> Option<Code> {
    let n = block.len();
    let m: u64 = if rv32 { 0xffff_ffff } else { u64::MAX };
    let pc0 = block.pc();
    // Sized for a typical block up front: a Linux boot's blocks average about 2 KiB of
    // code, which a buffer grown from empty reaches through a dozen reallocations and
    // copies, as the label and reference tables do through theirs.
    let mut ops = Asm::new_with_capacity(0, ASM_BYTES, 0, 0, ASM_LABELS, 0, ASM_REFS);
    // Exits to the interpreter before instruction `i` at `pc`, emitted out of line, each
    // with the labels of its reasons.
    let mut singles: Vec<Single> = Vec::new();
    // Taken branches: their exits, out of line (label, target, retired).
    let mut taken: Vec<(DynamicLabel, u64, i32, (DynamicLabel, i32))> = Vec::new();
    // Loads' and stores' code out of line.
    let mut colds = Vec::new();
    let t = Tail {
        budget: ops.new_dynamic_label(),
        interrupt: ops.new_dynamic_label(),
        dma: ops.new_dynamic_label(),
        word: ops.new_dynamic_label(),
        which: ops.new_dynamic_label(),
        lookup_link: ops.new_dynamic_label(),
        lookup: ops.new_dynamic_label(),
        epilogue: ops.new_dynamic_label(),
    };
    prologue(&mut ops);
    // A loop of one block runs `copies` times its body between boundary checks
    // (`unrolled`); called from Rust with less budget than that, its last copy alone.
    let (copies, per, room) = unrolled(block, rv32);
    let short = ops.new_dynamic_label();
    if copies > 1 {
        dynasm!(ops
            ; .arch x64
            ; cmp QWORD [rsi + CTX_LEFT], room as i32
            ; jb =>short
        );
    }
    // Registers written before they are read are not loaded at the chain entry, unless
    // the block jumps back to its start with its registers in place (`loop_back`).
    let end = pc0.wrapping_add(block.byte_len() as u64) & m;
    let fresh = jumps_to_start(block, rv32).is_empty() && end != pc0;
    let c = Cache::choose(block, rv32, fresh);
    // The warm word just before the chain entry (`WarmWord`), filled in at the end.
    let entry = ops.new_dynamic_label();
    dynasm!(ops ; .arch x64 ; jmp =>entry);
    let warm_at = ops.offset().0;
    ops.extend([0u8; 8]);
    dynasm!(ops ; .arch x64 ; =>entry);
    let chain_entry = ops.offset().0;
    // The warm entries: an exit whose host registers hold some of this block's cached
    // registers comes in past their loads (`shared_tail`'s linking lookup).
    let warm = WarmWord::new(&c, c.load(&mut ops));
    // Where the chain entry's budget test for an unrolled loop fails (`rax` set there).
    let entry_budget = ops.new_dynamic_label();
    if room > BLOCK_INSNS {
        // More than the budget the exit leading here tested for.
        room_check(&mut ops, room as i32, entry_budget);
    }
    let room = room as i32;
    let mut exits = Exits {
        t: &t,
        c: &c,
        rv32,
        pc0,
        next_slot: slot_base,
        unlinked: Vec::new(),
    };
    let memos = memo_sites(block, rv32, window);
    // Where each copy starts; a jump back to the block's own start goes on (registers
    // still loaded) at the next copy, from the last after the boundary checks at the
    // first (`body`).
    let starts: Vec<DynamicLabel> = (0..copies).map(|_| ops.new_dynamic_label()).collect();
    let body = starts[0];
    // The copy a call from Rust with less budget than the room runs (after the others):
    // a loop of one copy, its jump back testing the budget for one copy.
    let lone = ops.new_dynamic_label();
    let mut plan: Vec<BodyCopy> = starts
        .iter()
        .enumerate()
        .map(|(j, &start)| (start, j * per, starts.get(j + 1).copied(), (body, room)))
        .collect();
    if copies > 1 {
        plan.push((lone, 0, None, (lone, n as i32)));
    }
    for (start, off, again, home) in plan {
        // `off`: instructions of the block run before this copy; `again`: where its
        // jumps to the block's start go straight on; else, after the boundary checks for
        // the room, `home`.
        dynasm!(ops ; .arch x64 ; =>start);
        let mut ended = false;
        for (i, &memo) in memos.iter().enumerate() {
            let u = block.insn(i);
            let at = pc0.wrapping_add(u.offset as u64) & m;
            let next = if i + 1 < n {
                pc0.wrapping_add(block.insn(i + 1).offset as u64) & m
            } else {
                pc0.wrapping_add(block.byte_len() as u64) & m
            };
            if !translates(u.op, rv32) {
                if i + 1 < n {
                    return None;
                }
                // The last instruction: the interpreter's general path runs it.
                let l = ops.new_dynamic_label();
                let why = ops.new_dynamic_label();
                singles.push((l, at, off + i, vec![(why, ExitKind::Untranslated)]));
                dynasm!(ops ; .arch x64 ; jmp =>why);
                ended = true;
                break;
            }
            let imm = u.imm;
            let (a, b) = (slot(u.rs1), slot(u.rs2));
            let retired = (off + i) as i32 + 1;
            if let Some((size, load)) = mem_kind(u.op) {
                let slow = ops.new_dynamic_label();
                let why = MemExits {
                    misaligned: ops.new_dynamic_label(),
                    tlb_miss: ops.new_dynamic_label(),
                    no_host: ops.new_dynamic_label(),
                    code_line: ops.new_dynamic_label(),
                };
                colds.push(mem_access(
                    &mut ops, &c, u.op, size, load, &u, rv32, memo, &why, window,
                ));
                let mut reasons = vec![
                    (why.tlb_miss, ExitKind::TlbMiss),
                    (why.no_host, ExitKind::NoHost),
                ];
                if size > 1 {
                    reasons.push((why.misaligned, ExitKind::Misaligned));
                }
                if !load {
                    reasons.push((why.code_line, ExitKind::CodeLine));
                }
                singles.push((slow, at, off + i, reasons));
                continue;
            }
            match u.op {
                Op::Jal => {
                    let target = at.wrapping_add(imm as i64 as u64) & m;
                    if u.rd != X0_SINK {
                        dynasm!(ops ; .arch x64 ; mov rax, QWORD next as i64);
                        c.put(&mut ops, u.rd, RAX);
                    }
                    match again {
                        Some(next) if target == pc0 => dynasm!(ops ; .arch x64 ; jmp =>next),
                        _ => exits.to(&mut ops, target, retired, home),
                    }
                    ended = true;
                    break;
                }
                Op::Jalr => {
                    // The target first (rd may be rs1): rs1 + imm (no `add` for `imm` =
                    // 0: `ret`, `jr`), bit 0 cleared.
                    let x = c.get(&mut ops, u.rs1, RAX, rv32);
                    match (x == RAX, rv32) {
                        (true, _) => {}
                        (false, true) => dynasm!(ops ; .arch x64 ; mov eax, Rd(x)),
                        (false, false) => dynasm!(ops ; .arch x64 ; mov rax, Rq(x)),
                    }
                    match (imm, rv32) {
                        (0, _) => {}
                        (_, true) => dynasm!(ops ; .arch x64 ; add eax, imm),
                        (_, false) => dynasm!(ops ; .arch x64 ; add rax, imm),
                    }
                    if rv32 {
                        dynasm!(ops ; .arch x64 ; and eax, -2);
                    } else {
                        dynasm!(ops ; .arch x64 ; and rax, -2);
                    }
                    if u.rd != X0_SINK {
                        dynasm!(ops ; .arch x64 ; mov rcx, QWORD next as i64);
                        c.put(&mut ops, u.rd, RCX);
                    }
                    c.write_back(&mut ops, retired as usize);
                    boundary_checks(&mut ops, retired, BLOCK_INSNS as i32, [t.budget, t.word]);
                    dynasm!(ops ; .arch x64 ; jmp =>t.lookup);
                    ended = true;
                    break;
                }
                Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                    let target = at.wrapping_add(imm as i64 as u64) & m;
                    // Against `x0` (`beqz`, `bgtz`, ...): the other register tested
                    // against itself (the flags of a compare with 0), the condition
                    // turned round when `x0` is the first operand.
                    let (x, y, swapped) = match (u.rs1, u.rs2) {
                        (r, 0) | (0, r) if r != 0 => {
                            (c.get(&mut ops, r, RAX, rv32), None, u.rs1 == 0)
                        }
                        _ => (
                            c.get(&mut ops, u.rs1, RAX, rv32),
                            Some(c.get(&mut ops, u.rs2, RCX, rv32)),
                            false,
                        ),
                    };
                    match (y, rv32) {
                        (None, true) => dynasm!(ops ; .arch x64 ; test Rd(x), Rd(x)),
                        (None, false) => dynasm!(ops ; .arch x64 ; test Rq(x), Rq(x)),
                        (Some(y), true) => dynasm!(ops ; .arch x64 ; cmp Rd(x), Rd(y)),
                        (Some(y), false) => dynasm!(ops ; .arch x64 ; cmp Rq(x), Rq(y)),
                    }
                    // Taken: to the exit, out of line, or on to the next copy.
                    let l = match again {
                        Some(next) if target == pc0 => next,
                        _ => {
                            let l = ops.new_dynamic_label();
                            taken.push((l, target, retired, home));
                            l
                        }
                    };
                    match (u.op, swapped) {
                        (Op::Beq, _) => dynasm!(ops ; .arch x64 ; je =>l),
                        (Op::Bne, _) => dynasm!(ops ; .arch x64 ; jne =>l),
                        (Op::Blt, false) => dynasm!(ops ; .arch x64 ; jl =>l),
                        (Op::Bge, false) => dynasm!(ops ; .arch x64 ; jge =>l),
                        (Op::Bltu, false) => dynasm!(ops ; .arch x64 ; jb =>l),
                        (_, false) => dynasm!(ops ; .arch x64 ; jae =>l),
                        // 0 < y, 0 >= y, and unsigned.
                        (Op::Blt, true) => dynasm!(ops ; .arch x64 ; jg =>l),
                        (Op::Bge, true) => dynasm!(ops ; .arch x64 ; jle =>l),
                        (Op::Bltu, true) => dynasm!(ops ; .arch x64 ; ja =>l),
                        (_, true) => dynasm!(ops ; .arch x64 ; jbe =>l),
                    }
                    continue;
                }
                _ => {}
            }
            if alu_move(&mut ops, &c, &u, rv32) {
                continue;
            }
            if c.any(&u) && alu_cached(&mut ops, &c, &u, at, rv32) {
                continue;
            }
            // The memory forms: the cached sources to memory first, the value in rax,
            // then to rd.
            // (Only those it reads: a register written first holds nothing before.)
            let (r1, r2, _) = regs::operands(u.op);
            if r1 {
                c.spill(&mut ops, u.rs1);
            }
            if r2 {
                c.spill(&mut ops, u.rs2);
            }
            if rv32 {
                alu32(&mut ops, u.op, a, b, imm, at);
            } else {
                alu64(&mut ops, u.op, a, b, imm, at);
            }
            c.put(&mut ops, u.rd, RAX);
        }
        if !ended {
            // Fell through the whole block.
            let end = pc0.wrapping_add(block.byte_len() as u64) & m;
            exits.to(&mut ops, end, (off + n) as i32, home);
        }
    }
    for (l, target, retired, home) in taken {
        dynasm!(ops ; .arch x64 ; =>l);
        exits.to(&mut ops, target, retired, home);
    }
    let Exits {
        next_slot,
        unlinked,
        ..
    } = exits;
    if next_slot > MAX_LINKS {
        return None;
    }
    shared_tail(&mut ops, &t);
    for k in &colds {
        cold(&mut ops, k);
    }
    if room > BLOCK_INSNS as i32 {
        dynasm!(ops ; .arch x64 ; =>entry_budget);
        set_pc(&mut ops, pc0, rv32);
        dynasm!(ops ; .arch x64 ; jmp =>t.budget);
    }
    if copies > 1 {
        // Too little budget for the copies, from Rust: the lone copy, as long as the
        // budget lasts (the run loop offers a block only with budget for its
        // instructions).
        dynasm!(ops ; .arch x64 ; =>short);
        c.load(&mut ops);
        dynasm!(ops ; .arch x64 ; jmp =>lone);
    }
    for (l, at, i, reasons) in singles {
        // Each reason puts its kind in edx and comes to the shared exit.
        for (why, kind) in reasons {
            dynasm!(ops
                ; .arch x64
                ; =>why
                ; mov edx, kind as i32
                ; jmp =>l
            );
        }
        dynasm!(ops ; .arch x64 ; =>l);
        c.write_back(&mut ops, i);
        dynasm!(ops
            ; .arch x64
            ; mov rax, QWORD at as i64
            ; shl rdx, KIND_SHIFT as i8
            ; lea rdx, [rdx + r8 + i as i32]
            ; add rdx, QWORD [rsp + LIMIT]
            ; bts rdx, 63
            ; jmp =>t.epilogue
        );
    }
    let mut bytes = ops.finalize().ok()?;
    bytes[warm_at..warm_at + 8].copy_from_slice(&warm.0.to_le_bytes());
    Some(Code {
        bytes,
        chain_entry,
        unlinked,
        copies,
    })
}
