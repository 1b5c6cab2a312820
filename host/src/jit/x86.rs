//! The x86-64 translator: a decoded block ([`BlockRef`]) to host code, with dynasm-rs.
//!
//! **Calling convention.** Generated code is an `extern "sysv64" fn(regs: *mut u64, ctx:
//! *const TierCtx, chain: *mut Chain) -> Ret` ([`Ret`]). Inside it `rdi` holds the
//! hart's register file (256 `u64` slots), `rsi` the core's [`TierCtx`], `r11` the
//! tier's jump cache ([`Chain`], moved from `rdx` in the prologue), `rbp` the link slots
//! and `r8` the instructions retired since the call (zeroed in the prologue); `rbx` and
//! `r12`–`r15` hold guest registers within a block (below). The prologue saves the
//! callee-saved registers on the stack; every return goes through the block's epilogue,
//! which restores them. A block's code has two entries: the start (the prologue, for
//! calls from Rust) and [`Code::chain_entry`], just past it, where other blocks jump
//! with `rdi`, `rsi`, `r11`, `rbp` and `r8` set. The code returns the next guest `pc` in
//! `rax` and the instructions retired in `rdx` (bit 63 set for [`TierEnd::Single`], bits
//! 56–62 the [`ExitKind`]: why it returned, counted in the tier's stats; each exit path
//! sets its own, so the fast paths pay nothing for it). Besides the callee-saved
//! registers it restores it touches only `rax`, `rcx`, `rdx`, `r8`–`r11` and the flags,
//! the register file, guest RAM pages the TLB maps, the link slots and the [`Chain`]'s
//! link log, and cannot fault: every operation it translates is total (division by zero
//! and overflow are tested for and give what the M extension says), and a memory access
//! is only made through a TLB host page, aligned and inside it.
//!
//! **Guest registers in host registers** (`Cache`). Each block keeps up to five of the
//! guest registers it uses at least twice in `rbx`, `r12`–`r15`: loaded at its chain
//! entry, operated on there (the common ALU operations in place or through `rax`, load
//! results, store values, address bases, branch and `jalr` operands), and stored back to
//! the register file at every way out of the block (a direct or indirect exit before its
//! boundary checks, a return to the interpreter before an instruction), so the run loop,
//! the interpreter and the next block always find the register file up to date. An
//! instruction without a register form (the M extension but `mul`, RV64 word
//! operations) stores its cached sources first and reads the register file as before.
//!
//! **Translated**: RV32I/RV64I's register-register and register-immediate ALU operations,
//! `lui`, `auipc`, the M extension, RV64's word operations, loads and stores (RV64's `ld`,
//! `lwu`, `sd` too), conditional branches (a taken one leaves the block), and `jal`/`jalr`
//! (they end a block). RV32 values stay zero-extended in their `u64` slots (32-bit x86
//! operations do that by themselves), as the interpreter keeps them. A block with
//! anything else before its last instruction is not translated; anything else as its
//! last instruction is left to the interpreter's general path ([`TierEnd::Single`]).
//!
//! **Loads and stores** take the TLB fast path inline: `va = rs1 + imm` (32 bits on
//! RV32), aligned to the size, the data TLB entry's tag equal to `va & !0xfff` and its host
//! pointer not null; a store also needs its host line clear in the code-line filter.
//! Anything else (a miss, MMIO, misaligned, a fault, a store to code) leaves the block
//! *before* the instruction with [`TierEnd::Single`] at its `pc`: the interpreter's
//! general path executes it (refill, device access, the trap with its own `pc`), so traps
//! are precise by construction. Guest RAM is host atomics in the interpreter
//! (`host::load`/`store`); aligned x86 moves of the same width are the same accesses.
//!
//! **Chaining and direct links** (QEMU's `goto_tb`). At every exit to a next `pc` the
//! code first makes the run loop's checks at a block boundary: fewer than
//! [`BLOCK_INSNS`] instructions of budget left (`r8 + BLOCK_INSNS > ctx.left`), an
//! enabled interrupt pending or a stop request (`*ctx.pending & ctx.int_mask`; the tier
//! declines a block when `mip_sw & int_mask` is already set), DMA wrote guest RAM since
//! the epoch began (`*ctx.lease_writes != ctx.lease_seen`; the tier points a missing
//! count at a word that always differs); any of them returns with its [`ExitKind`].
//! Then:
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
    BlockInsn, BlockRef, TierCtx, TierEnd, CODE_LINES, TLB_ENTRIES, TLB_ENTRY_BYTES, TLB_HOST_R,
    TLB_HOST_W, TLB_INDEX_BITS, TLB_TAG_R, TLB_TAG_W,
};
use fief_core::cpu::riscv::{Op, BLOCK_INSNS};

use super::ExitKind;

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

/// Entries of the jump cache (a power of two).
pub const JUMP_CACHE: usize = 4096;

/// One jump-cache entry: the code of the block at `pc`, valid while `seq` is the tier's
/// current [`Chain::seq`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct JumpEntry {
    /// The guest `pc` (1: none; `pc`s are even).
    pub pc: u64,
    /// The sequence number it was made in (0: never).
    pub seq: u64,
    /// The host address of the block's chain entry.
    pub code: u64,
    _pad: u64,
}

impl JumpEntry {
    /// The entry for the block at `pc` whose chain entry is at host address `code`, made
    /// in sequence `seq`.
    pub fn new(pc: u64, seq: u64, code: u64) -> JumpEntry {
        JumpEntry {
            pc,
            seq,
            code,
            _pad: 0,
        }
    }
}

/// Entries of the link log ([`Chain::log`]): links made in one sequence beyond it are
/// not made (those exits keep looking their successor up in the jump cache).
pub const LINK_LOG: usize = 4096;

/// The jump cache that generated code reads (`r11`): direct-mapped by `(pc >> 1) %
/// JUMP_CACHE`. `seq` names the current code epoch *and* code-cache generation: it moves
/// on whenever either changes (see `Jit`), so one compare says the entry's block was
/// offered by the run loop in this epoch and its code is still in the cache.
///
/// It also carries the link slots' address (`links`, set by the tier before each call)
/// and the log of the slots that generated code linked in the current sequence
/// (`log[..log_len]`, each the host address of a slot), which the tier unlinks when the
/// sequence moves on (module docs of `super`).
#[repr(C)]
pub struct Chain {
    /// The current sequence number (never 0).
    pub seq: u64,
    /// The link slots (one `u64` host code address per direct exit; see `super`).
    pub links: *mut u64,
    /// How many entries of `log` are in use (at most [`LINK_LOG`]).
    pub log_len: u64,
    _pad: u64,
    /// The entries.
    pub entries: [JumpEntry; JUMP_CACHE],
    /// The slots linked in this sequence (their host addresses).
    pub log: [u64; LINK_LOG],
}

impl Chain {
    /// An empty jump cache, boxed (160 KiB).
    pub fn new() -> Box<Chain> {
        Box::new(Chain {
            seq: 1,
            links: std::ptr::null_mut(),
            log_len: 0,
            _pad: 0,
            entries: [JumpEntry {
                pc: 1,
                ..JumpEntry::default()
            }; JUMP_CACHE],
            log: [0; LINK_LOG],
        })
    }

    /// The entry slot for `pc`.
    pub fn index(pc: u64) -> usize {
        (pc >> 1) as usize & (JUMP_CACHE - 1)
    }
}

/// Offset of the entries in [`Chain`].
const CHAIN_ENTRIES: i32 = std::mem::offset_of!(Chain, entries) as i32;
const CHAIN_SEQ: i32 = std::mem::offset_of!(Chain, seq) as i32;
const CHAIN_LINKS: i32 = std::mem::offset_of!(Chain, links) as i32;
const CHAIN_LOG_LEN: i32 = std::mem::offset_of!(Chain, log_len) as i32;
const CHAIN_LOG: i32 = std::mem::offset_of!(Chain, log) as i32;

/// Offsets of [`TierCtx`]'s fields from `rsi`.
const CTX_TLB: i32 = std::mem::offset_of!(TierCtx, tlb) as i32;
const CTX_CODE_LINES: i32 = std::mem::offset_of!(TierCtx, code_lines) as i32;
const CTX_PENDING: i32 = std::mem::offset_of!(TierCtx, pending) as i32;
const CTX_LEASE: i32 = std::mem::offset_of!(TierCtx, lease_writes) as i32;
const CTX_LEFT: i32 = std::mem::offset_of!(TierCtx, left) as i32;
const CTX_INT_MASK: i32 = std::mem::offset_of!(TierCtx, int_mask) as i32;
const CTX_LEASE_SEEN: i32 = std::mem::offset_of!(TierCtx, lease_seen) as i32;

type Asm = VecAssembler<X64Relocation>;

/// The displacement of register slot `r` from `rdi`.
fn slot(r: u8) -> i32 {
    8 * r as i32
}

/// Whether the translator handles `op` (anywhere in a block).
pub fn translates(op: Op, rv32: bool) -> bool {
    use Op::*;
    matches!(
        op,
        Lui | Auipc
            | Addi
            | Slti
            | Sltiu
            | Xori
            | Ori
            | Andi
            | Slli
            | Srli
            | Srai
            | Add
            | Sub
            | Sll
            | Slt
            | Sltu
            | Xor
            | Srl
            | Sra
            | Or
            | And
            | Mul
            | Mulh
            | Mulhsu
            | Mulhu
            | Div
            | Divu
            | Rem
            | Remu
            | Beq
            | Bne
            | Blt
            | Bge
            | Bltu
            | Bgeu
            | Jal
            | Jalr
            | Lb
            | Lh
            | Lw
            | Lbu
            | Lhu
            | Sb
            | Sh
            | Sw
    ) || (!rv32 && (op.is_word() || matches!(op, Ld | Lwu | Sd)))
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
}

/// The labels every exit of a block may jump to (emitted once per block by
/// [`shared_tail`]).
struct Tail {
    /// A boundary check failed: return with that kind (`rax` = next `pc`).
    budget: DynamicLabel,
    interrupt: DynamicLabel,
    dma: DynamicLabel,
    /// The jump-cache lookup that links the slot at `rdx` on a hit.
    lookup_link: DynamicLabel,
    /// The jump-cache lookup alone (`jalr`).
    lookup: DynamicLabel,
    /// Restores the callee-saved registers and returns `rax`, `rdx`.
    epilogue: DynamicLabel,
}

/// The run loop's checks at a block boundary, in the registers the prologue loaded:
/// `r8` instructions retired (already counting the leaving block's), `rax` the next
/// `pc`. Leaves through `t`'s labels when one fails.
fn boundary_checks(ops: &mut Asm, t: &Tail) {
    dynasm!(ops
        ; .arch x64
        // The budget: the next block may have BLOCK_INSNS instructions.
        ; lea rcx, [r8 + BLOCK_INSNS as i32]
        ; cmp rcx, QWORD [rsi + CTX_LEFT]
        ; ja =>t.budget
        // Interrupts, as the run loop: (pending | mip_sw) & int_mask, with mip_sw &
        // int_mask 0 (the tier declines the block otherwise).
        ; mov rcx, QWORD [rsi + CTX_PENDING]
        ; mov ecx, DWORD [rcx]
        ; test ecx, DWORD [rsi + CTX_INT_MASK]
        ; jnz =>t.interrupt
        // DMA wrote guest RAM since the epoch started (the tier points the count at a
        // word that differs when the bus gives none).
        ; mov rcx, QWORD [rsi + CTX_LEASE]
        ; mov ecx, DWORD [rcx]
        ; cmp ecx, DWORD [rsi + CTX_LEASE_SEEN]
        ; jne =>t.dma
    );
}

/// An exit back to the block's own start (`target`, a loop of one block) after
/// `retired` instructions: the boundary checks, then straight to `body` with the cached
/// registers still in place (the same code a link to itself would reach, and the block
/// is valid in this sequence: it is running). The registers are stored back only when a
/// check fails and the code returns.
fn self_exit(
    ops: &mut Asm,
    t: &Tail,
    c: &Cache,
    body: DynamicLabel,
    target: u64,
    retired: i32,
    rv32: bool,
) {
    if rv32 {
        dynasm!(ops ; .arch x64 ; mov eax, target as u32 as i32);
    } else {
        dynasm!(ops ; .arch x64 ; mov rax, QWORD target as i64);
    }
    dynasm!(ops ; .arch x64 ; add r8, retired);
    let fail = Tail {
        budget: ops.new_dynamic_label(),
        interrupt: ops.new_dynamic_label(),
        dma: ops.new_dynamic_label(),
        lookup_link: t.lookup_link,
        lookup: t.lookup,
        epilogue: t.epilogue,
    };
    boundary_checks(ops, &fail);
    dynasm!(ops ; .arch x64 ; jmp =>body);
    for (l, to) in [
        (fail.budget, t.budget),
        (fail.interrupt, t.interrupt),
        (fail.dma, t.dma),
    ] {
        dynasm!(ops ; .arch x64 ; =>l);
        c.write_back(ops);
        dynasm!(ops ; .arch x64 ; jmp =>to);
    }
}

/// A direct exit to the known `target` after `retired` instructions of the block,
/// through link slot `slot` (its unlinked code's offset is pushed to `unlinked`).
#[allow(clippy::too_many_arguments)]
fn direct_exit(
    ops: &mut Asm,
    t: &Tail,
    c: &Cache,
    target: u64,
    retired: i32,
    slot: usize,
    rv32: bool,
    unlinked: &mut Vec<usize>,
) {
    c.write_back(ops);
    let disp = 8 * slot as i32;
    if rv32 {
        dynasm!(ops ; .arch x64 ; mov eax, target as u32 as i32);
    } else {
        dynasm!(ops ; .arch x64 ; mov rax, QWORD target as i64);
    }
    dynasm!(ops ; .arch x64 ; add r8, retired);
    boundary_checks(ops, t);
    dynasm!(ops ; .arch x64 ; jmp QWORD [rbp + disp]);
    unlinked.push(ops.offset().0);
    dynasm!(ops
        ; .arch x64
        ; lea rdx, [rbp + disp]
        ; jmp =>t.lookup_link
    );
}

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

/// Most link slots [`translate`] may number (their displacements from `rbp` are 32-bit).
pub const MAX_LINKS: usize = 1 << 24;

/// Translates `block` (XLEN 32 when `rv32`), its direct exits through link slots
/// `slot_base..` (below [`MAX_LINKS`]): its machine code, or `None` when an instruction
/// before the last is not one [`translates`] takes.
pub fn translate(block: BlockRef<'_>, rv32: bool, slot_base: usize) -> Option<Code> {
    let n = block.len();
    let m: u64 = if rv32 { 0xffff_ffff } else { u64::MAX };
    let pc0 = block.pc();
    let mut ops = Asm::new(0);
    // Exits to the interpreter before instruction `i` at `pc`, emitted out of line, each
    // with the labels of its reasons.
    let mut singles: Vec<Single> = Vec::new();
    // Taken branches: their exits, out of line (label, target, retired).
    let mut taken: Vec<(DynamicLabel, u64, i32)> = Vec::new();
    let mut unlinked = Vec::new();
    let mut next_slot = slot_base;
    let t = Tail {
        budget: ops.new_dynamic_label(),
        interrupt: ops.new_dynamic_label(),
        dma: ops.new_dynamic_label(),
        lookup_link: ops.new_dynamic_label(),
        lookup: ops.new_dynamic_label(),
        epilogue: ops.new_dynamic_label(),
    };
    prologue(&mut ops);
    let chain_entry = ops.offset().0;
    let c = Cache::choose(block, rv32);
    c.load(&mut ops);
    // Where a jump back to the block's own start continues (registers still loaded).
    let body = ops.new_dynamic_label();
    dynasm!(ops ; .arch x64 ; =>body);
    let mut ended = false;
    for i in 0..n {
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
            singles.push((l, at, i, vec![(why, ExitKind::Untranslated)]));
            dynasm!(ops ; .arch x64 ; jmp =>why);
            ended = true;
            break;
        }
        let imm = u.imm;
        let (a, b) = (slot(u.rs1), slot(u.rs2));
        let retired = i as i32 + 1;
        if let Some((size, load)) = mem_kind(u.op) {
            let slow = ops.new_dynamic_label();
            let why = MemExits {
                misaligned: ops.new_dynamic_label(),
                tlb_miss: ops.new_dynamic_label(),
                no_host: ops.new_dynamic_label(),
                code_line: ops.new_dynamic_label(),
            };
            mem_access(&mut ops, &c, u.op, size, load, &u, rv32, &why);
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
            singles.push((slow, at, i, reasons));
            continue;
        }
        match u.op {
            Op::Jal => {
                let target = at.wrapping_add(imm as i64 as u64) & m;
                dynasm!(ops ; .arch x64 ; mov rax, QWORD next as i64);
                c.put(&mut ops, u.rd, RAX);
                if target == pc0 {
                    self_exit(&mut ops, &t, &c, body, target, retired, rv32);
                } else {
                    direct_exit(
                        &mut ops,
                        &t,
                        &c,
                        target,
                        retired,
                        next_slot,
                        rv32,
                        &mut unlinked,
                    );
                    next_slot += 1;
                }
                ended = true;
                break;
            }
            Op::Jalr => {
                // The target first: rd may be rs1.
                let x = c.get(&mut ops, u.rs1, RAX, rv32);
                if x != RAX {
                    dynasm!(ops ; .arch x64 ; mov rax, Rq(x));
                }
                if rv32 {
                    dynasm!(ops ; .arch x64 ; add eax, imm ; and eax, -2);
                } else {
                    dynasm!(ops ; .arch x64 ; add rax, imm ; and rax, -2);
                }
                dynasm!(ops ; .arch x64 ; mov rcx, QWORD next as i64);
                c.put(&mut ops, u.rd, RCX);
                c.write_back(&mut ops);
                dynasm!(ops ; .arch x64 ; add r8, retired);
                boundary_checks(&mut ops, &t);
                dynasm!(ops ; .arch x64 ; jmp =>t.lookup);
                ended = true;
                break;
            }
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                let target = at.wrapping_add(imm as i64 as u64) & m;
                let x = c.get(&mut ops, u.rs1, RAX, rv32);
                let y = c.get(&mut ops, u.rs2, RCX, rv32);
                if rv32 {
                    dynasm!(ops ; .arch x64 ; cmp Rd(x), Rd(y));
                } else {
                    dynasm!(ops ; .arch x64 ; cmp Rq(x), Rq(y));
                }
                // Taken: to the exit, out of line.
                let l = ops.new_dynamic_label();
                match u.op {
                    Op::Beq => dynasm!(ops ; .arch x64 ; je =>l),
                    Op::Bne => dynasm!(ops ; .arch x64 ; jne =>l),
                    Op::Blt => dynasm!(ops ; .arch x64 ; jl =>l),
                    Op::Bge => dynasm!(ops ; .arch x64 ; jge =>l),
                    Op::Bltu => dynasm!(ops ; .arch x64 ; jb =>l),
                    _ => dynasm!(ops ; .arch x64 ; jae =>l),
                }
                taken.push((l, target, retired));
                continue;
            }
            _ => {}
        }
        if c.any(&u) && alu_cached(&mut ops, &c, &u, at, rv32) {
            continue;
        }
        // The memory forms: the cached sources to memory first, the value in rax,
        // then to rd.
        c.spill(&mut ops, u.rs1);
        c.spill(&mut ops, u.rs2);
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
        direct_exit(
            &mut ops,
            &t,
            &c,
            end,
            n as i32,
            next_slot,
            rv32,
            &mut unlinked,
        );
        next_slot += 1;
    }
    for (l, target, retired) in taken {
        dynasm!(ops ; .arch x64 ; =>l);
        if target == pc0 {
            self_exit(&mut ops, &t, &c, body, target, retired, rv32);
            continue;
        }
        direct_exit(
            &mut ops,
            &t,
            &c,
            target,
            retired,
            next_slot,
            rv32,
            &mut unlinked,
        );
        next_slot += 1;
    }
    if next_slot > MAX_LINKS {
        return None;
    }
    shared_tail(&mut ops, &t);
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
        c.write_back(&mut ops);
        dynasm!(ops
            ; .arch x64
            ; mov rax, QWORD at as i64
            ; shl rdx, KIND_SHIFT as i8
            ; lea rdx, [rdx + r8 + i as i32]
            ; bts rdx, 63
            ; jmp =>t.epilogue
        );
    }
    Some(Code {
        bytes: ops.finalize().ok()?,
        chain_entry,
        unlinked,
    })
}

/// The entry from Rust: saves the callee-saved registers and loads what the boundary
/// checks and links use (module docs).
fn prologue(ops: &mut Asm) {
    dynasm!(ops
        ; .arch x64
        ; push rbx
        ; push rbp
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; xor r8d, r8d
        ; mov r11, rdx
        ; mov rbp, QWORD [r11 + CHAIN_LINKS]
    );
}

/// The block's shared exits: the jump-cache lookups (`rax` = next `pc`), the returns
/// with a kind, and the epilogue.
fn shared_tail(ops: &mut Asm, t: &Tail) {
    let jmask = (JUMP_CACHE - 1) as i32;
    let miss = ops.new_dynamic_label();
    let stale = ops.new_dynamic_label();
    let out = ops.new_dynamic_label();
    let go = ops.new_dynamic_label();
    dynasm!(ops
        ; .arch x64
        // The jump cache: this pc, offered in this sequence; then the slot at rdx is
        // linked to it (logged, so the tier unlinks it when the sequence moves on),
        // unless the log is full.
        ; =>t.lookup_link
        ; mov rcx, rax
        ; shr rcx, 1
        ; and ecx, jmask
        ; shl ecx, 5
        ; add rcx, r11
        ; cmp rax, QWORD [rcx + CHAIN_ENTRIES]
        ; jne =>miss
        ; mov r9, QWORD [r11 + CHAIN_SEQ]
        ; cmp r9, QWORD [rcx + CHAIN_ENTRIES + 8]
        ; jne =>stale
        ; mov rcx, QWORD [rcx + CHAIN_ENTRIES + 16]
        ; mov r9, QWORD [r11 + CHAIN_LOG_LEN]
        ; cmp r9, LINK_LOG as i32
        ; jae =>go
        ; mov QWORD [rdx], rcx
        ; mov QWORD [r11 + r9 * 8 + CHAIN_LOG], rdx
        ; add r9, 1
        ; mov QWORD [r11 + CHAIN_LOG_LEN], r9
        ; =>go
        ; jmp rcx
        ; =>t.lookup
        ; mov rcx, rax
        ; shr rcx, 1
        ; and ecx, jmask
        ; shl ecx, 5
        ; add rcx, r11
        ; cmp rax, QWORD [rcx + CHAIN_ENTRIES]
        ; jne =>miss
        ; mov r9, QWORD [r11 + CHAIN_SEQ]
        ; cmp r9, QWORD [rcx + CHAIN_ENTRIES + 8]
        ; jne =>stale
        ; jmp QWORD [rcx + CHAIN_ENTRIES + 16]
        // Returns: the kind in edx, then the retired count below it.
        ; =>t.budget
        ; mov edx, ExitKind::Budget as i32
        ; jmp =>out
        ; =>t.interrupt
        ; mov edx, ExitKind::Interrupt as i32
        ; jmp =>out
        ; =>t.dma
        ; mov edx, ExitKind::Dma as i32
        ; jmp =>out
        ; =>stale
        ; mov edx, ExitKind::ChainStale as i32
        ; jmp =>out
        ; =>miss
        ; mov edx, ExitKind::ChainMiss as i32
        ; =>out
        ; shl rdx, KIND_SHIFT as i8
        ; add rdx, r8
        ; =>t.epilogue
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbp
        ; pop rbx
        ; ret
    );
}

/// Where a load or store leaves the fast path, by why (each label sets its
/// [`ExitKind`] and returns [`TierEnd::Single`] before the instruction).
struct MemExits {
    misaligned: DynamicLabel,
    tlb_miss: DynamicLabel,
    no_host: DynamicLabel,
    code_line: DynamicLabel,
}

/// A load or store of `size` bytes at `rs1 + imm` (slot displacements `a`, `b`, `d`)
/// through the TLB fast path; anything else jumps to one of `why`'s labels (the
/// interpreter runs the instruction).
#[allow(clippy::too_many_arguments)]
fn mem_access(
    ops: &mut Asm,
    c: &Cache,
    op: Op,
    size: u32,
    load: bool,
    u: &BlockInsn,
    rv32: bool,
    why: &MemExits,
) {
    let imm = u.imm;
    // va in rcx.
    let x = c.get(ops, u.rs1, RCX, rv32);
    match (x == RCX, rv32) {
        (true, true) => dynasm!(ops ; .arch x64 ; add ecx, imm),
        (true, false) => dynasm!(ops ; .arch x64 ; add rcx, imm),
        (false, true) => dynasm!(ops ; .arch x64 ; mov ecx, Rd(x) ; add ecx, imm),
        (false, false) => dynasm!(ops ; .arch x64 ; mov rcx, Rq(x) ; add rcx, imm),
    }
    if size > 1 {
        dynasm!(ops ; .arch x64 ; test cl, (size - 1) as i8 ; jnz =>why.misaligned);
    }
    let (tag, host) = if load {
        (TLB_TAG_R as i32, TLB_HOST_R as i32)
    } else {
        (TLB_TAG_W as i32, TLB_HOST_W as i32)
    };
    debug_assert_eq!(TLB_ENTRY_BYTES, 48);
    // The entry: tlb + ((vpn ^ vpn >> TLB_INDEX_BITS) % TLB_ENTRIES) * 48, into rax.
    dynasm!(ops
        ; .arch x64
        ; mov rax, rcx
        ; shr rax, 12
        ; mov rdx, rax
        ; shr rdx, TLB_INDEX_BITS as i8
        ; xor eax, edx
        ; and eax, (TLB_ENTRIES - 1) as i32
        ; lea eax, [rax + rax * 2]
        ; shl eax, 4
        ; add rax, QWORD [rsi + CTX_TLB]
        ; mov rdx, rcx
        ; and rdx, -4096
        ; cmp rdx, QWORD [rax + tag]
        ; jne =>why.tlb_miss
        ; mov rax, QWORD [rax + host]
        ; test rax, rax
        ; jz =>why.no_host
        ; and ecx, 0xfff
    );
    if load {
        match (op, rv32) {
            (Op::Lb, true) => dynasm!(ops ; .arch x64 ; movsx eax, BYTE [rax + rcx]),
            (Op::Lh, true) => dynasm!(ops ; .arch x64 ; movsx eax, WORD [rax + rcx]),
            (Op::Lb, false) => dynasm!(ops ; .arch x64 ; movsx rax, BYTE [rax + rcx]),
            (Op::Lh, false) => dynasm!(ops ; .arch x64 ; movsx rax, WORD [rax + rcx]),
            (Op::Lw, false) => dynasm!(ops ; .arch x64 ; movsxd rax, DWORD [rax + rcx]),
            (Op::Lw | Op::Lwu, _) => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rax + rcx]),
            (Op::Lbu, _) => dynasm!(ops ; .arch x64 ; movzx eax, BYTE [rax + rcx]),
            (Op::Lhu, _) => dynasm!(ops ; .arch x64 ; movzx eax, WORD [rax + rcx]),
            _ => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rax + rcx]),
        }
        c.put(ops, u.rd, RAX);
        return;
    }
    // A store: its host line must not hold a block checked in this epoch.
    dynasm!(ops
        ; .arch x64
        ; add rax, rcx
        ; mov rdx, rax
        ; shr rdx, 6
        ; and edx, (CODE_LINES - 1) as i32
        ; mov r9, rdx
        ; shr r9d, 6
        ; mov r10, QWORD [rsi + CTX_CODE_LINES]
        ; mov r9, QWORD [r10 + r9 * 8]
        ; bt r9, rdx
        ; jc =>why.code_line
    );
    let y = c.get(ops, u.rs2, RDX, false);
    if y != RDX {
        dynasm!(ops ; .arch x64 ; mov rdx, Rq(y));
    }
    match size {
        1 => dynasm!(ops ; .arch x64 ; mov BYTE [rax], dl),
        2 => dynasm!(ops ; .arch x64 ; mov WORD [rax], dx),
        4 => dynasm!(ops ; .arch x64 ; mov DWORD [rax], edx),
        _ => dynasm!(ops ; .arch x64 ; mov QWORD [rax], rdx),
    }
}

/// Host register numbers (dynasm's `Rq(n)`).
const RAX: u8 = 0;
const RCX: u8 = 1;
const RDX: u8 = 2;

/// The host registers that hold guest registers within a block (callee-saved: the
/// prologue saves them): `rbx`, `r12`–`r15`.
const CACHE_REGS: [u8; 5] = [3, 12, 13, 14, 15];

/// Which guest registers a block keeps in host registers ([`CACHE_REGS`]): those it
/// uses at least twice, most used first. Each is loaded at the block's chain entry and,
/// when the block writes it, stored back at every exit (the direct and indirect exits
/// before their boundary checks, the returns to the interpreter before an instruction);
/// an instruction the cached forms do not cover reads its cached sources from memory
/// after storing them there.
struct Cache {
    /// The host register of each guest register slot (0 for none: slot 0 is `x0`,
    /// never cached).
    host: [u8; 33],
    /// (guest slot, host register) of every cached register.
    all: Vec<(u8, u8)>,
    /// Those the block writes (stored back at its exits).
    written: Vec<(u8, u8)>,
}

/// Which of `rs1`, `rs2`, `rd` instruction `op` reads and writes.
fn operands(op: Op) -> (bool, bool, bool) {
    use Op::*;
    match op {
        Lui | Auipc | Jal => (false, false, true),
        Beq | Bne | Blt | Bge | Bltu | Bgeu => (true, true, false),
        Sb | Sh | Sw | Sd => (true, true, false),
        Jalr | Lb | Lh | Lw | Lbu | Lhu | Lwu | Ld | Addi | Slti | Sltiu | Xori | Ori | Andi
        | Slli | Srli | Srai | Addiw | Slliw | Srliw | Sraiw => (true, false, true),
        _ => (true, true, true),
    }
}

impl Cache {
    /// The registers to cache in `block` (its translated instructions).
    fn choose(block: BlockRef<'_>, rv32: bool) -> Cache {
        let mut uses = [0u32; 33];
        let mut writes = [false; 33];
        for i in 0..block.len() {
            let u = block.insn(i);
            if !translates(u.op, rv32) {
                break;
            }
            let (r1, r2, w) = operands(u.op);
            if r1 {
                uses[u.rs1 as usize & 31] += 1;
            }
            if r2 {
                uses[u.rs2 as usize & 31] += 1;
            }
            if w && (1..32).contains(&u.rd) {
                uses[u.rd as usize] += 1;
                writes[u.rd as usize] = true;
            }
        }
        let mut regs: Vec<u8> = (1..32u8).filter(|&r| uses[r as usize] >= 2).collect();
        regs.sort_by_key(|&r| (std::cmp::Reverse(uses[r as usize]), r));
        regs.truncate(CACHE_REGS.len());
        let mut c = Cache {
            host: [0; 33],
            all: Vec::new(),
            written: Vec::new(),
        };
        for (&r, &h) in regs.iter().zip(CACHE_REGS.iter()) {
            c.host[r as usize] = h;
            c.all.push((r, h));
            if writes[r as usize] {
                c.written.push((r, h));
            }
        }
        c
    }

    /// The host register of guest register slot `r`, if cached.
    fn of(&self, r: u8) -> Option<u8> {
        match self.host.get(r as usize) {
            Some(&h) if h != 0 => Some(h),
            _ => None,
        }
    }

    /// Whether instruction `u` names a cached register.
    fn any(&self, u: &BlockInsn) -> bool {
        self.of(u.rs1).is_some() || self.of(u.rs2).is_some() || self.of(u.rd).is_some()
    }

    /// Loads the cached registers (at the chain entry).
    fn load(&self, ops: &mut Asm) {
        for &(r, h) in &self.all {
            dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD [rdi + slot(r)]);
        }
    }

    /// Stores the written cached registers back to the register file.
    fn write_back(&self, ops: &mut Asm) {
        for &(r, h) in &self.written {
            dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(r)], Rq(h));
        }
    }

    /// Stores cached register `r` to its slot (before a memory-form operation reads it).
    fn spill(&self, ops: &mut Asm, r: u8) {
        if let Some(h) = self.of(r) {
            dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(r)], Rq(h));
        }
    }

    /// The host register holding guest register `r`: its cache register, or `scratch`
    /// loaded from the register file.
    fn get(&self, ops: &mut Asm, r: u8, scratch: u8, rv32: bool) -> u8 {
        if let Some(h) = self.of(r) {
            return h;
        }
        if rv32 {
            dynasm!(ops ; .arch x64 ; mov Rd(scratch), DWORD [rdi + slot(r)]);
        } else {
            dynasm!(ops ; .arch x64 ; mov Rq(scratch), QWORD [rdi + slot(r)]);
        }
        scratch
    }

    /// Writes host register `from` to guest register slot `rd` (slot 32, `x0`'s sink,
    /// is never cached).
    fn put(&self, ops: &mut Asm, rd: u8, from: u8) {
        match self.of(rd) {
            Some(h) => {
                if h != from {
                    dynasm!(ops ; .arch x64 ; mov Rq(h), Rq(from));
                }
            }
            None => dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(rd)], Rq(from)),
        }
    }
}

/// The register forms of the common ALU operations (and `mul`, the comparisons, shifts
/// by register, `lui`/`auipc` into a cached register), for an instruction that names a
/// cached register: in place (`op rd, src`) when `rd` is a cached `rs1`, else through
/// `rax`. Returns false (nothing emitted) for the other operations.
fn alu_cached(ops: &mut Asm, c: &Cache, u: &BlockInsn, at: u64, rv32: bool) -> bool {
    use Op::*;
    let imm = u.imm;
    let sh = (imm & if rv32 { 31 } else { 63 }) as i8;
    let imm_op = matches!(u.op, Addi | Andi | Ori | Xori | Slli | Srli | Srai);
    let reg_op = matches!(u.op, Add | Sub | And | Or | Xor | Mul);
    if matches!(u.op, Lui | Auipc) {
        // A constant (`at` is the instruction's pc for `auipc`).
        let v = if u.op == Lui {
            imm as i64 as u64
        } else {
            at.wrapping_add(imm as i64 as u64)
        };
        match c.of(u.rd) {
            Some(h) if rv32 => dynasm!(ops ; .arch x64 ; mov Rd(h), v as u32 as i32),
            Some(h) => dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD v as i64),
            None => return false,
        }
        return true;
    }
    if matches!(u.op, Slt | Sltu | Slti | Sltiu) {
        // 0 or 1 into edx.
        let x = c.get(ops, u.rs1, RAX, rv32);
        let y = if matches!(u.op, Slt | Sltu) {
            Some(c.get(ops, u.rs2, RCX, rv32))
        } else {
            None
        };
        dynasm!(ops ; .arch x64 ; xor edx, edx);
        match (y, rv32) {
            (Some(y), true) => dynasm!(ops ; .arch x64 ; cmp Rd(x), Rd(y)),
            (Some(y), false) => dynasm!(ops ; .arch x64 ; cmp Rq(x), Rq(y)),
            (None, true) => dynasm!(ops ; .arch x64 ; cmp Rd(x), imm),
            (None, false) => dynasm!(ops ; .arch x64 ; cmp Rq(x), imm),
        }
        if matches!(u.op, Slt | Slti) {
            dynasm!(ops ; .arch x64 ; setl dl);
        } else {
            dynasm!(ops ; .arch x64 ; setb dl);
        }
        c.put(ops, u.rd, RDX);
        return true;
    }
    if matches!(u.op, Sll | Srl | Sra) {
        // The count in cl first, then rs1 shifted in place or in rax.
        let y = c.get(ops, u.rs2, RCX, rv32);
        if y != RCX {
            dynasm!(ops ; .arch x64 ; mov ecx, Rd(y));
        }
        let in_place = c.of(u.rd).is_some() && u.rd == u.rs1;
        let dst = if in_place {
            c.of(u.rd).unwrap_or(RAX)
        } else {
            let x = c.get(ops, u.rs1, RAX, rv32);
            if x != RAX {
                dynasm!(ops ; .arch x64 ; mov rax, Rq(x));
            }
            RAX
        };
        match (u.op, rv32) {
            (Sll, true) => dynasm!(ops ; .arch x64 ; shl Rd(dst), cl),
            (Srl, true) => dynasm!(ops ; .arch x64 ; shr Rd(dst), cl),
            (Sra, true) => dynasm!(ops ; .arch x64 ; sar Rd(dst), cl),
            (Sll, false) => dynasm!(ops ; .arch x64 ; shl Rq(dst), cl),
            (Srl, false) => dynasm!(ops ; .arch x64 ; shr Rq(dst), cl),
            _ => dynasm!(ops ; .arch x64 ; sar Rq(dst), cl),
        }
        if dst == RAX {
            c.put(ops, u.rd, RAX);
        }
        return true;
    }
    if !imm_op && !reg_op {
        return false;
    }
    // The destination: rd's own register when it is rs1's (in place), else rax.
    let in_place = c.of(u.rd).is_some() && u.rd == u.rs1;
    let dst = if in_place {
        c.of(u.rd).unwrap_or(RAX)
    } else {
        let x = c.get(ops, u.rs1, RAX, rv32);
        if x != RAX {
            if rv32 {
                dynasm!(ops ; .arch x64 ; mov eax, Rd(x));
            } else {
                dynasm!(ops ; .arch x64 ; mov rax, Rq(x));
            }
        }
        RAX
    };
    if imm_op {
        match (u.op, rv32) {
            (Addi, true) => dynasm!(ops ; .arch x64 ; add Rd(dst), imm),
            (Andi, true) => dynasm!(ops ; .arch x64 ; and Rd(dst), imm),
            (Ori, true) => dynasm!(ops ; .arch x64 ; or Rd(dst), imm),
            (Xori, true) => dynasm!(ops ; .arch x64 ; xor Rd(dst), imm),
            (Slli, true) => dynasm!(ops ; .arch x64 ; shl Rd(dst), sh),
            (Srli, true) => dynasm!(ops ; .arch x64 ; shr Rd(dst), sh),
            (Srai, true) => dynasm!(ops ; .arch x64 ; sar Rd(dst), sh),
            (Addi, false) => dynasm!(ops ; .arch x64 ; add Rq(dst), imm),
            (Andi, false) => dynasm!(ops ; .arch x64 ; and Rq(dst), imm),
            (Ori, false) => dynasm!(ops ; .arch x64 ; or Rq(dst), imm),
            (Xori, false) => dynasm!(ops ; .arch x64 ; xor Rq(dst), imm),
            (Slli, false) => dynasm!(ops ; .arch x64 ; shl Rq(dst), sh),
            (Srli, false) => dynasm!(ops ; .arch x64 ; shr Rq(dst), sh),
            _ => dynasm!(ops ; .arch x64 ; sar Rq(dst), sh),
        }
    } else {
        // rs2 is read after rax took rs1 (rs2 may be rd: rd's register is only written
        // by the `put` below, or in place when rd is rs1, which then equals rs2's
        // value read here).
        let y = c.get(ops, u.rs2, RCX, rv32);
        match (u.op, rv32) {
            (Add, true) => dynasm!(ops ; .arch x64 ; add Rd(dst), Rd(y)),
            (Sub, true) => dynasm!(ops ; .arch x64 ; sub Rd(dst), Rd(y)),
            (And, true) => dynasm!(ops ; .arch x64 ; and Rd(dst), Rd(y)),
            (Or, true) => dynasm!(ops ; .arch x64 ; or Rd(dst), Rd(y)),
            (Xor, true) => dynasm!(ops ; .arch x64 ; xor Rd(dst), Rd(y)),
            (Mul, true) => dynasm!(ops ; .arch x64 ; imul Rd(dst), Rd(y)),
            (Mul, false) => dynasm!(ops ; .arch x64 ; imul Rq(dst), Rq(y)),
            (Add, false) => dynasm!(ops ; .arch x64 ; add Rq(dst), Rq(y)),
            (Sub, false) => dynasm!(ops ; .arch x64 ; sub Rq(dst), Rq(y)),
            (And, false) => dynasm!(ops ; .arch x64 ; and Rq(dst), Rq(y)),
            (Or, false) => dynasm!(ops ; .arch x64 ; or Rq(dst), Rq(y)),
            _ => dynasm!(ops ; .arch x64 ; xor Rq(dst), Rq(y)),
        }
    }
    if dst == RAX {
        c.put(ops, u.rd, RAX);
    }
    true
}

/// RV32's ALU operation `op` into `rax` (zero-extended), sources at `a`, `b`.
fn alu32(ops: &mut Asm, op: Op, a: i32, b: i32, imm: i32, at: u64) {
    let sh = (imm & 31) as i8;
    match op {
        Op::Lui => dynasm!(ops ; .arch x64 ; mov eax, imm),
        Op::Auipc => {
            let v = (at as u32).wrapping_add(imm as u32) as i32;
            dynasm!(ops ; .arch x64 ; mov eax, v)
        }
        Op::Addi => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; add eax, imm),
        Op::Xori => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; xor eax, imm),
        Op::Ori => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; or eax, imm),
        Op::Andi => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; and eax, imm),
        Op::Slti => dynasm!(ops ; .arch x64
            ; xor edx, edx ; cmp DWORD [rdi + a], imm ; setl dl ; mov eax, edx),
        Op::Sltiu => dynasm!(ops ; .arch x64
            ; xor edx, edx ; cmp DWORD [rdi + a], imm ; setb dl ; mov eax, edx),
        Op::Slli => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; shl eax, sh),
        Op::Srli => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; shr eax, sh),
        Op::Srai => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; sar eax, sh),
        Op::Add => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; add eax, DWORD [rdi + b]),
        Op::Sub => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; sub eax, DWORD [rdi + b]),
        Op::Xor => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; xor eax, DWORD [rdi + b]),
        Op::Or => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; or eax, DWORD [rdi + b]),
        Op::And => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; and eax, DWORD [rdi + b]),
        Op::Sll => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; shl eax, cl),
        Op::Srl => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; shr eax, cl),
        Op::Sra => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; sar eax, cl),
        Op::Slt => dynasm!(ops ; .arch x64
            ; xor edx, edx ; mov eax, DWORD [rdi + a] ; cmp eax, DWORD [rdi + b] ; setl dl
            ; mov eax, edx),
        Op::Sltu => dynasm!(ops ; .arch x64
            ; xor edx, edx ; mov eax, DWORD [rdi + a] ; cmp eax, DWORD [rdi + b] ; setb dl
            ; mov eax, edx),
        Op::Mul => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; imul eax, DWORD [rdi + b]),
        Op::Mulh => dynasm!(ops ; .arch x64
            ; movsxd rax, DWORD [rdi + a] ; movsxd rcx, DWORD [rdi + b] ; imul rax, rcx
            ; shr rax, 32),
        Op::Mulhsu => dynasm!(ops ; .arch x64
            ; movsxd rax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; imul rax, rcx
            ; shr rax, 32),
        Op::Mulhu => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; imul rax, rcx
            ; shr rax, 32),
        Op::Div | Op::Divu | Op::Rem | Op::Remu => div32(ops, op, a, b, false),
        _ => unreachable!("not translated: {op:?}"),
    }
}

/// RV64's ALU operation `op` into `rax`, sources at `a`, `b`.
fn alu64(ops: &mut Asm, op: Op, a: i32, b: i32, imm: i32, at: u64) {
    let sh = (imm & 63) as i8;
    let shw = (imm & 31) as i8;
    match op {
        Op::Lui => dynasm!(ops ; .arch x64 ; mov rax, QWORD imm as i64),
        Op::Auipc => {
            let v = at.wrapping_add(imm as i64 as u64) as i64;
            dynasm!(ops ; .arch x64 ; mov rax, QWORD v)
        }
        Op::Addi => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; add rax, imm),
        Op::Xori => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; xor rax, imm),
        Op::Ori => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; or rax, imm),
        Op::Andi => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; and rax, imm),
        Op::Slti => dynasm!(ops ; .arch x64
            ; xor edx, edx ; cmp QWORD [rdi + a], imm ; setl dl ; mov eax, edx),
        Op::Sltiu => dynasm!(ops ; .arch x64
            ; xor edx, edx ; cmp QWORD [rdi + a], imm ; setb dl ; mov eax, edx),
        Op::Slli => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; shl rax, sh),
        Op::Srli => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; shr rax, sh),
        Op::Srai => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; sar rax, sh),
        Op::Add => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; add rax, QWORD [rdi + b]),
        Op::Sub => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; sub rax, QWORD [rdi + b]),
        Op::Xor => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; xor rax, QWORD [rdi + b]),
        Op::Or => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; or rax, QWORD [rdi + b]),
        Op::And => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; and rax, QWORD [rdi + b]),
        Op::Sll => dynasm!(ops ; .arch x64
            ; mov rax, QWORD [rdi + a] ; mov rcx, QWORD [rdi + b] ; shl rax, cl),
        Op::Srl => dynasm!(ops ; .arch x64
            ; mov rax, QWORD [rdi + a] ; mov rcx, QWORD [rdi + b] ; shr rax, cl),
        Op::Sra => dynasm!(ops ; .arch x64
            ; mov rax, QWORD [rdi + a] ; mov rcx, QWORD [rdi + b] ; sar rax, cl),
        Op::Slt => dynasm!(ops ; .arch x64
            ; xor edx, edx ; mov rax, QWORD [rdi + a] ; cmp rax, QWORD [rdi + b] ; setl dl
            ; mov eax, edx),
        Op::Sltu => dynasm!(ops ; .arch x64
            ; xor edx, edx ; mov rax, QWORD [rdi + a] ; cmp rax, QWORD [rdi + b] ; setb dl
            ; mov eax, edx),
        Op::Mul => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; imul rax, QWORD [rdi + b]),
        Op::Mulh => dynasm!(ops ; .arch x64
            ; mov rax, QWORD [rdi + a] ; imul QWORD [rdi + b] ; mov rax, rdx),
        Op::Mulhu => dynasm!(ops ; .arch x64
            ; mov rax, QWORD [rdi + a] ; mul QWORD [rdi + b] ; mov rax, rdx),
        // Signed times unsigned: the unsigned high half, less b when a is negative.
        Op::Mulhsu => dynasm!(ops ; .arch x64
            ; mov rax, QWORD [rdi + a] ; mov rcx, QWORD [rdi + b] ; mul rcx
            ; mov rax, QWORD [rdi + a] ; sar rax, 63 ; and rax, rcx ; sub rdx, rax
            ; mov rax, rdx),
        Op::Div | Op::Divu | Op::Rem | Op::Remu => div64(ops, op, a, b),
        Op::Addiw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; add eax, imm ; movsxd rax, eax),
        Op::Slliw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; shl eax, shw ; movsxd rax, eax),
        Op::Srliw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; shr eax, shw ; movsxd rax, eax),
        Op::Sraiw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; sar eax, shw ; movsxd rax, eax),
        Op::Addw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; add eax, DWORD [rdi + b] ; movsxd rax, eax),
        Op::Subw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; sub eax, DWORD [rdi + b] ; movsxd rax, eax),
        Op::Sllw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; shl eax, cl ; movsxd rax, eax),
        Op::Srlw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; shr eax, cl ; movsxd rax, eax),
        Op::Sraw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; mov ecx, DWORD [rdi + b] ; sar eax, cl ; movsxd rax, eax),
        Op::Mulw => dynasm!(ops ; .arch x64
            ; mov eax, DWORD [rdi + a] ; imul eax, DWORD [rdi + b] ; movsxd rax, eax),
        Op::Divw => div32(ops, Op::Div, a, b, true),
        Op::Divuw => div32(ops, Op::Divu, a, b, true),
        Op::Remw => div32(ops, Op::Rem, a, b, true),
        Op::Remuw => div32(ops, Op::Remu, a, b, true),
        _ => unreachable!("not translated: {op:?}"),
    }
}

/// A 32-bit `div`, `divu`, `rem` or `remu` into `eax`, then sign-extended into `rax`
/// when `sext` (RV64's word forms) or zero-extended (RV32). Division by zero gives all
/// ones (quotients) or the dividend (remainders); `x / -1` is a negation, so the
/// overflowing `MIN / -1` never reaches `idiv`, which would fault.
fn div32(ops: &mut Asm, op: Op, a: i32, b: i32, sext: bool) {
    match op {
        Op::Div => dynasm!(ops ; .arch x64
            ; mov ecx, DWORD [rdi + b] ; mov eax, -1 ; test ecx, ecx ; jz >done
            ; mov eax, DWORD [rdi + a] ; cmp ecx, -1 ; jne >divide
            ; neg eax ; jmp >done
            ; divide: ; cdq ; idiv ecx
            ; done:),
        Op::Rem => dynasm!(ops ; .arch x64
            ; mov ecx, DWORD [rdi + b] ; mov eax, DWORD [rdi + a] ; test ecx, ecx ; jz >done
            ; cmp ecx, -1 ; jne >divide
            ; xor eax, eax ; jmp >done
            ; divide: ; cdq ; idiv ecx ; mov eax, edx
            ; done:),
        Op::Divu => dynasm!(ops ; .arch x64
            ; mov ecx, DWORD [rdi + b] ; mov eax, -1 ; test ecx, ecx ; jz >done
            ; mov eax, DWORD [rdi + a] ; xor edx, edx ; div ecx
            ; done:),
        _ => dynasm!(ops ; .arch x64
            ; mov ecx, DWORD [rdi + b] ; mov eax, DWORD [rdi + a] ; test ecx, ecx ; jz >done
            ; xor edx, edx ; div ecx ; mov eax, edx
            ; done:),
    }
    if sext {
        dynasm!(ops ; .arch x64 ; movsxd rax, eax);
    } else {
        // Writing eax zero-extended rax already; `mov eax, eax` for the paths that
        // only read it.
        dynasm!(ops ; .arch x64 ; mov eax, eax);
    }
}

/// RV64's `div`, `divu`, `rem`, `remu` into `rax` (see [`div32`]).
fn div64(ops: &mut Asm, op: Op, a: i32, b: i32) {
    match op {
        Op::Div => dynasm!(ops ; .arch x64
            ; mov rcx, QWORD [rdi + b] ; mov rax, -1 ; test rcx, rcx ; jz >done
            ; mov rax, QWORD [rdi + a] ; cmp rcx, -1 ; jne >divide
            ; neg rax ; jmp >done
            ; divide: ; cqo ; idiv rcx
            ; done:),
        Op::Rem => dynasm!(ops ; .arch x64
            ; mov rcx, QWORD [rdi + b] ; mov rax, QWORD [rdi + a] ; test rcx, rcx ; jz >done
            ; cmp rcx, -1 ; jne >divide
            ; xor eax, eax ; jmp >done
            ; divide: ; cqo ; idiv rcx ; mov rax, rdx
            ; done:),
        Op::Divu => dynasm!(ops ; .arch x64
            ; mov rcx, QWORD [rdi + b] ; mov rax, -1 ; test rcx, rcx ; jz >done
            ; mov rax, QWORD [rdi + a] ; xor edx, edx ; div rcx
            ; done:),
        _ => dynasm!(ops ; .arch x64
            ; mov rcx, QWORD [rdi + b] ; mov rax, QWORD [rdi + a] ; test rcx, rcx ; jz >done
            ; xor edx, edx ; div rcx ; mov rax, rdx
            ; done:),
    }
}
