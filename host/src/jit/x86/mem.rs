//! Loads and stores: the TLB fast path inline, and where each leaves it (see the parent's
//! docs, "Loads and stores"), and the memos in front of it.
//!
//! **Memos.** Each call of generated code keeps, in its stack frame, [`MEMOS`] memos
//! for loads and as many for stores, chosen by the access's base register (`rs1 %
//! MEMOS`): a tag and the addend that makes a guest address a host address. A load's
//! memo names a page that the TLB (its fast view or its entry) maps for reading; a
//! store's a page that the fast view maps for writing, which therefore holds no line of
//! a block checked in this epoch (a fast write tag matches only such pages:
//! `TierCtx::fast_tlb`), so the memo is made with no code-line check. A store whose page
//! the fast view misses goes through the TLB entry and its code-line check, and makes
//! no memo (a line's memo, checked, took 1.5 % more host instructions over the set:
//! stores striding lines missed it). An access first compares its address, masked to
//! the memo's page and its own alignment, with the tag (one compare: a misaligned
//! address never matches) and on a match adds the addend: 5 host instructions instead
//! of the fast view's 10.
//! A miss looks the page up as before (counted in [`Chain::lookups`]) and writes the
//! memo. The prologue clears every memo (a tag no masked address equals), so no memo
//! outlives the call: the TLB, its fast view, the code-line filter and its tags change
//! only between calls (in the run loop and the interpreter), never under generated
//! code, so a memo is exactly as true as the lookup it remembers for the whole call.

use super::*;

/// Memos of each kind (loads, stores): a power of two.
pub(super) const MEMOS: usize = 16;

/// The stack frame below the saved registers: the load memos' tags, their addends, then
/// the store memos' tags and addends (`u64`s).
pub(super) const FRAME: i32 = 4 * 8 * MEMOS as i32;

/// The tag of a memo that matches no access (every masked address has bits 3 to 5
/// clear).
const NO_MEMO: i32 = -1;

/// The frame offsets of the tag and addend of the memo of an access of kind `load` with
/// base register `rs1`.
fn memo_slot(load: bool, rs1: u8) -> (i32, i32) {
    let kind = if load { 0 } else { 2 * 8 * MEMOS as i32 };
    let i = 8 * (rs1 as usize % MEMOS) as i32;
    (kind + i, kind + 8 * MEMOS as i32 + i)
}

/// Clears every memo (the prologue: `rsp` at the frame).
pub(super) fn clear_memos(ops: &mut Asm) {
    dynasm!(ops ; .arch x64 ; pcmpeqd xmm0, xmm0);
    for kind in [0, 2 * 8 * MEMOS as i32] {
        for k in 0..MEMOS as i32 / 2 {
            dynasm!(ops ; .arch x64 ; movdqu [rsp + kind + 16 * k], xmm0);
        }
    }
    debug_assert_eq!(NO_MEMO, -1);
}

/// Writes a load's memo at the frame offsets `(tag, addend)` ([`memo_slot`]): the page
/// in `rdx` (where the fast view's hit and the TLB entry's both leave the address's
/// page: the tag they matched) and the addend in `rax`.
fn write_load_memo(ops: &mut Asm, (tag, addend): (i32, i32)) {
    dynasm!(ops
        ; .arch x64
        ; mov QWORD [rsp + tag], rdx
        ; mov QWORD [rsp + addend], rax
    );
}

/// Where a load or store leaves the fast path, by why (each label sets its
/// [`ExitKind`] and returns [`TierEnd::Single`] before the instruction).
pub(super) struct MemExits {
    pub(super) misaligned: DynamicLabel,
    pub(super) tlb_miss: DynamicLabel,
    pub(super) no_host: DynamicLabel,
    pub(super) code_line: DynamicLabel,
}

/// The largest step of a loop's base register (`addi r, r, imm`) for which its accesses
/// use a memo ([`memo_sites`]).
const STEP: u32 = 256;

/// How a load or store uses its memo (module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Memo {
    /// Not at all: the fast view inline.
    No,
    /// The fast view inline, then the memo written (a load that later loads of the
    /// block through the same base register hit).
    Make,
    /// Compared first; the fast path behind a miss, which writes it.
    Use,
}

/// How each of `block`'s loads and stores uses a memo: in a block that jumps to its own
/// start, those whose base register the block leaves alone or moves by small steps
/// ([`Memo::Use`]: its next run hits what this one made; a loop striding pages would
/// miss every time);
/// elsewhere the accesses of a group of at least two of one kind through one base
/// register with no write to it between them (the first makes the memo, unless an
/// earlier block of the call did, the others hit it). The others (a pointer chased
/// once, say) take the fast view alone, where a memo would mostly miss and cost more.
/// ([`Memo::Make`] for a group's first load measured worse: memos made by earlier
/// blocks of the call, the stack's above all, were hit less.) With the RAM window
/// (`window`: the block loads through it, `window_load`), a group of loads outside a
/// loop makes no memo but through `sp` (whose page a call's blocks share): the window
/// takes 7 instructions, a memo hit one fewer but a miss, where the base moved to
/// another page, a dozen more.
pub(super) fn memo_sites(block: BlockRef<'_>, rv32: bool, window: bool) -> Vec<Memo> {
    let n = block.len();
    let mut sites = vec![Memo::No; n];
    let looping = !jumps_to_start(block, rv32).is_empty();
    // In a loop, the base registers that stay or move by small steps (`addi r, r, imm`,
    // |imm| <= STEP) only: a memo made in one run is hit in the next.
    let mut steps = [true; 32];
    if looping {
        for i in 0..n {
            let u = block.insn(i);
            if !translates(u.op, rv32) {
                break;
            }
            if let Some(rd) = written(u.op, u.rd) {
                let small = u.op == Op::Addi && u.rs1 == u.rd && u.imm.unsigned_abs() <= STEP;
                steps[rd] &= small;
            }
        }
    }
    // The group of each kind (stores, loads) by each base register, while that
    // register is unwritten since: its first access (kept in two small arrays rather
    // than a list per group: this runs for every translated block, and a boot
    // translates thousands).
    let mut open: [[Option<usize>; 32]; 2] = [[None; 32]; 2];
    for i in 0..n {
        let u = block.insn(i);
        if !translates(u.op, rv32) {
            break;
        }
        if let Some((_, load)) = mem_kind(u.op) {
            let windowed = window && load && !looping && u.rs1 != 2;
            let g = &mut open[load as usize][u.rs1 as usize & 31];
            match *g {
                // A group of at least two: all of its accesses use the memo.
                Some(first) if !windowed => {
                    sites[first] = Memo::Use;
                    sites[i] = Memo::Use;
                }
                _ => *g = Some(i),
            }
            if looping && steps[u.rs1 as usize & 31] {
                sites[i] = Memo::Use;
            }
        }
        if let Some(rd) = written(u.op, u.rd) {
            for o in open.iter_mut() {
                o[rd] = None;
            }
        }
    }
    sites
}

/// The guest register instruction `op` writes, if any (not `x0`).
fn written(op: Op, rd: u8) -> Option<usize> {
    let stores_or_branches = matches!(
        op,
        Op::Sb
            | Op::Sh
            | Op::Sw
            | Op::Sd
            | Op::Beq
            | Op::Bne
            | Op::Blt
            | Op::Bge
            | Op::Bltu
            | Op::Bgeu
    );
    (!stores_or_branches && (1..32).contains(&rd)).then_some(rd as usize)
}

/// What a load or store emits out of line ([`cold`]).
pub(super) struct Cold {
    /// Where the access's out-of-line code starts (`rcx` the address) and where the
    /// access goes on (its host address in `rcx`).
    miss: DynamicLabel,
    back: DynamicLabel,
    size: u32,
    load: bool,
    /// With a memo: its frame offsets (tag, addend).
    memo: Option<(i32, i32)>,
    /// Without: where the TLB entry's addend goes on, in `rax` (the inline code makes
    /// a load's memo there, [`Memo::Make`]) or, `added`, already added to `rcx` (a
    /// store's code-line check made before).
    have: DynamicLabel,
    added: Option<DynamicLabel>,
    misaligned: DynamicLabel,
    tlb_miss: DynamicLabel,
    no_host: DynamicLabel,
    code_line: DynamicLabel,
    /// A load through the RAM window ([`window_load`]): where its fast-view path starts
    /// out of line (`rcx` the address), the operation, where the access goes on, and the
    /// host register the value goes to there.
    window: Option<(DynamicLabel, Op, DynamicLabel, u8)>,
    /// A load with a memo, translated with the RAM window: a memo miss takes the
    /// window's addend for the memo when the address is in it.
    window_memo: bool,
    rv32: bool,
}

/// Where a load takes its value from: the host address in `rcx`, or the RAM window's
/// host base in `r9` plus the offset in `rdx` scaled by the access size (the offset
/// was rotated right by the size's log2: [`window_load`]).
#[derive(Clone, Copy)]
enum LoadFrom {
    Rcx,
    Window,
}

/// Loads into host register `to` for `op` (sign- or zero-extended as RV32 keeps values,
/// or RV64) from `from`.
fn load_value(ops: &mut Asm, op: Op, rv32: bool, from: LoadFrom, to: u8) {
    macro_rules! each {
        ($($mem:tt)*) => {
            match (op, rv32) {
                (Op::Lb, true) => dynasm!(ops ; .arch x64 ; movsx Rd(to), BYTE $($mem)*),
                (Op::Lh, true) => dynasm!(ops ; .arch x64 ; movsx Rd(to), WORD $($mem)*),
                (Op::Lb, false) => dynasm!(ops ; .arch x64 ; movsx Rq(to), BYTE $($mem)*),
                (Op::Lh, false) => dynasm!(ops ; .arch x64 ; movsx Rq(to), WORD $($mem)*),
                (Op::Lw, false) => dynasm!(ops ; .arch x64 ; movsxd Rq(to), DWORD $($mem)*),
                (Op::Lw | Op::Lwu, _) => dynasm!(ops ; .arch x64 ; mov Rd(to), DWORD $($mem)*),
                (Op::Lbu, _) => dynasm!(ops ; .arch x64 ; movzx Rd(to), BYTE $($mem)*),
                (Op::Lhu, _) => dynasm!(ops ; .arch x64 ; movzx Rd(to), WORD $($mem)*),
                _ => dynasm!(ops ; .arch x64 ; mov Rq(to), QWORD $($mem)*),
            }
        };
    }
    match (from, mem_kind(op).map_or(8, |(size, _)| size)) {
        (LoadFrom::Rcx, _) => each!([rcx]),
        (LoadFrom::Window, 1) => each!([r9 + rdx]),
        (LoadFrom::Window, 2) => each!([r9 + rdx * 2]),
        (LoadFrom::Window, 4) => each!([r9 + rdx * 4]),
        (LoadFrom::Window, _) => each!([r9 + rdx * 8]),
    }
}

/// The RAM window's test ([`TierCtx::window_lo`]) of a load of `size` bytes at the
/// address in `rcx` (kept): its offset from the window's start into `rdx`, rotated right
/// by the size's log2 (a misaligned offset's low bits go to the top), compared with the
/// window's limit for the size (one compare for inside and aligned); on to `outside`
/// when it is not below.
fn window_test(ops: &mut Asm, size: u32, outside: DynamicLabel) {
    let k = size.trailing_zeros() as i32;
    dynasm!(ops
        ; .arch x64
        ; mov rdx, rcx
        ; sub rdx, QWORD [rsi + CTX_WINDOW_LO]
    );
    if k > 0 {
        dynasm!(ops ; .arch x64 ; ror rdx, k as i8);
    }
    dynasm!(ops
        ; .arch x64
        ; cmp rdx, QWORD [rsi + CTX_WINDOW_LIMITS + 8 * k]
        ; jae =>outside
    );
}

/// A load through the RAM window ([`window_test`], on to `outside` when it fails): the
/// value into host register `to` from the window's host base (`r9`) plus the offset
/// scaled back. `rdx`, `r9` clobbered.
fn window_load(ops: &mut Asm, op: Op, size: u32, rv32: bool, outside: DynamicLabel, to: u8) {
    window_test(ops, size, outside);
    dynasm!(ops ; .arch x64 ; mov r9, QWORD [rsi + CTX_WINDOW_HOST]);
    load_value(ops, op, rv32, LoadFrom::Window, to);
}

/// The RAM window's addend (its host base less its start) into `rax` and the address's
/// page into `rdx` (as a fast-view hit leaves them for [`write_load_memo`]) for a load
/// of `size` bytes at the address in `rcx` (kept) that [`window_test`] passes; else on
/// to `outside` (`rdx` clobbered).
fn window_addend(ops: &mut Asm, size: u32, outside: DynamicLabel) {
    window_test(ops, size, outside);
    dynasm!(ops
        ; .arch x64
        ; mov rax, QWORD [rsi + CTX_WINDOW_HOST]
        ; sub rax, QWORD [rsi + CTX_WINDOW_LO]
        ; mov rdx, rcx
        ; and rdx, !0xfff
    );
}

/// A load or store of `size` bytes at `rs1 + imm`. With `memo` [`Memo::Use`]: its memo inline (the page or line and the alignment in one compare,
/// the host address by one addition), the TLB's fast path behind a miss, out of line.
/// Without: the fast view inline (the page and the alignment in one compare, the host
/// address by one addition; a load's memo written after it with [`Memo::Make`]; no
/// code-line check for a store: [`TierCtx::fast_tlb`]), the TLB entry and a store's
/// code-line check out of line. Anything the fast path does not take jumps to one of
/// `why`'s labels (the interpreter runs the instruction). Returns what the caller emits
/// out of line ([`cold`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn mem_access(
    ops: &mut Asm,
    c: &Cache,
    op: Op,
    size: u32,
    load: bool,
    u: &BlockInsn,
    rv32: bool,
    memo: Memo,
    why: &MemExits,
    window: bool,
) -> Cold {
    let imm = u.imm;
    // va in rcx.
    let x = c.get(ops, u.rs1, RCX, rv32);
    match (x == RCX, rv32) {
        (true, _) if imm == 0 => {}
        (true, true) => dynasm!(ops ; .arch x64 ; add ecx, imm),
        (true, false) => dynasm!(ops ; .arch x64 ; add rcx, imm),
        (false, true) => dynasm!(ops ; .arch x64 ; lea ecx, [Rq(x) + imm]),
        (false, false) => dynasm!(ops ; .arch x64 ; lea rcx, [Rq(x) + imm]),
    }
    let mut k = Cold {
        miss: ops.new_dynamic_label(),
        back: ops.new_dynamic_label(),
        size,
        load,
        memo: (memo == Memo::Use).then(|| memo_slot(load, u.rs1)),
        have: ops.new_dynamic_label(),
        added: None,
        misaligned: why.misaligned,
        tlb_miss: why.tlb_miss,
        no_host: why.no_host,
        code_line: why.code_line,
        window: None,
        window_memo: load && window && memo == Memo::Use,
        rv32,
    };
    if load && window && memo != Memo::Use {
        // The RAM window inline; its fast view (no memo) out of line, behind it the TLB
        // entry as for any access without a memo (`cold`). (A load whose memo is
        // compared first keeps it: a hit takes one instruction fewer than the window,
        // and the window makes the memo on a miss.)
        let (outside, done) = (ops.new_dynamic_label(), ops.new_dynamic_label());
        let to = c.of(u.rd).unwrap_or(RAX);
        window_load(ops, op, size, rv32, outside, to);
        dynasm!(ops ; .arch x64 ; =>done);
        k.memo = None;
        k.window = Some((outside, op, done, to));
        k.added = Some(ops.new_dynamic_label());
        if to == RAX {
            c.put(ops, u.rd, RAX);
        }
        return k;
    }
    if let Some((tag, addend)) = k.memo {
        let unit = !0xfff;
        dynasm!(ops
            ; .arch x64
            ; mov rdx, rcx
            ; and rdx, unit | (size as i32 - 1)
            ; cmp rdx, QWORD [rsp + tag]
            ; jne =>k.miss
            ; add rcx, QWORD [rsp + addend]
            ; =>k.back
        );
    } else {
        if load && memo == Memo::Make {
            fast_view(ops, size, load, k.miss, false, false);
            dynasm!(ops ; .arch x64 ; =>k.have);
            write_load_memo(ops, memo_slot(load, u.rs1));
            dynasm!(ops ; .arch x64 ; add rcx, rax);
        } else {
            // The addend added straight from the fast view's slot.
            fast_view(ops, size, load, k.miss, true, false);
            let added = ops.new_dynamic_label();
            dynasm!(ops ; .arch x64 ; =>added);
            k.added = Some(added);
        }
        // A store that hits the fast view makes no code-line check: a fast write tag
        // matches only while its page holds no line of a checked block
        // (`TierCtx::fast_tlb`); the TLB entry's path behind a miss makes it.
        dynasm!(ops ; .arch x64 ; =>k.back);
    }
    // The host address is in rcx. A load whose destination is cached goes straight to
    // its host register (one instruction fewer than through rax).
    if load {
        let to = c.of(u.rd).unwrap_or(RAX);
        load_value(ops, op, rv32, LoadFrom::Rcx, to);
        if to == RAX {
            c.put(ops, u.rd, RAX);
        }
        return k;
    }
    let y = c.get(ops, u.rs2, RDX, false);
    if y != RDX {
        dynasm!(ops ; .arch x64 ; mov rdx, Rq(y));
    }
    match size {
        1 => dynasm!(ops ; .arch x64 ; mov BYTE [rcx], dl),
        2 => dynasm!(ops ; .arch x64 ; mov WORD [rcx], dx),
        4 => dynasm!(ops ; .arch x64 ; mov DWORD [rcx], edx),
        _ => dynasm!(ops ; .arch x64 ; mov QWORD [rcx], rdx),
    }
    k
}

/// The fast view's lookup ([`TierCtx::fast_tlb`]) of the address in `rcx` for an
/// access of `size` bytes: the slot's tag equal to the address's page and alignment
/// bits (one compare), its addend into `rax`, or with `add` added to `rcx` (the host
/// address; one instruction fewer); else on to `miss`. `rdx` holds the address's page
/// and alignment bits after it; with `masked` it holds them already (a load's memo
/// compare masks the same bits).
fn fast_view(ops: &mut Asm, size: u32, load: bool, miss: DynamicLabel, add: bool, masked: bool) {
    let (ftag, fbase) = if load {
        (TLB_FAST_TAG_R as i32, TLB_FAST_BASE_R as i32)
    } else {
        (TLB_FAST_TAG_W as i32, TLB_FAST_BASE_W as i32)
    };
    debug_assert_eq!(TLB_FAST_BYTES, 32);
    // The fast entry: fast_tlb + ((vpn + (vpn >> TLB_FAST_BITS)) % TLB_FAST_ENTRIES) * 32,
    // the index as the top bits of the page address (with the alignment bits, which
    // cannot reach them) times TLB_FAST_HASH, shifted to a multiple of 32.
    let fmask = ((TLB_FAST_ENTRIES - 1) << 5) as i32;
    let shift = (32 - TLB_FAST_BITS - 5) as i8;
    if !masked {
        dynasm!(ops
            ; .arch x64
            ; mov rdx, rcx
            ; and rdx, !0xfff | (size as i32 - 1)
        );
    }
    dynasm!(ops
        ; .arch x64
        ; imul eax, edx, TLB_FAST_HASH as i32
        ; shr eax, shift
        ; and eax, fmask
        ; add rax, QWORD [rsi + CTX_FAST_TLB]
        ; cmp rdx, QWORD [rax + ftag]
        ; jne =>miss
    );
    if add {
        dynasm!(ops ; .arch x64 ; add rcx, QWORD [rax + fbase]);
    } else {
        dynasm!(ops ; .arch x64 ; mov rax, QWORD [rax + fbase]);
    }
}

/// An access's out-of-line code ([`Cold`]), from `miss` (`rcx` the address; `rax`,
/// `rdx`, `r9` free).
///
/// With a memo (it missed): the fast view ([`fast_view`]), the memo written from a hit;
/// behind a miss there the TLB entry (below) and, for a store, the code-line check on
/// its host address (to the code-line exit), no memo; back to the access with the host
/// address in `rcx`.
///
/// Without (the fast view missed): the TLB entry, back to the inline code with the
/// addend in `rax` or, for a store, added to `rcx` and its code-line check made.
///
/// The TLB entry: misaligned, or the data TLB entry's tag not `va & !0xfff`, or no host
/// page, each to its exit; else the addend from its host pointer.
pub(super) fn cold(ops: &mut Asm, k: &Cold) {
    let (tag, host) = if k.load {
        (TLB_TAG_R as i32, TLB_HOST_R as i32)
    } else {
        (TLB_TAG_W as i32, TLB_HOST_W as i32)
    };
    if let (Some((outside, op, done, to)), Some(added)) = (k.window, k.added) {
        // A window load's fast view, out of line: the value into its register, back to
        // the access (the TLB entry below comes back to `added`).
        dynasm!(ops ; .arch x64 ; =>outside);
        fast_view(ops, k.size, k.load, k.miss, true, false);
        dynasm!(ops ; .arch x64 ; =>added);
        load_value(ops, op, k.rv32, LoadFrom::Rcx, to);
        dynasm!(ops ; .arch x64 ; jmp =>done);
    }
    let entry = ops.new_dynamic_label();
    let mut have = k.have;
    if let Some((mtag, maddend)) = k.memo {
        have = ops.new_dynamic_label();
        dynasm!(ops
            ; .arch x64
            ; =>k.miss
            ; mov r9, QWORD [rsp + CHAIN_AT]
            ; add QWORD [r9 + CHAIN_LOOKUPS], 1
        );
        if k.window_memo {
            // Inside the RAM window (and aligned), its addend, the same for every page
            // of it; else the fast view (the window's test clobbered rdx).
            let outside = ops.new_dynamic_label();
            window_addend(ops, k.size, outside);
            dynasm!(ops ; .arch x64 ; jmp =>have ; =>outside);
        }
        // A load's memo compare left rdx as the fast view masks it (unless the window's
        // test came between).
        fast_view(ops, k.size, k.load, entry, false, k.load && !k.window_memo);
        if k.load {
            // rax: the addend; rcx: the address (from the fast view, the window or the
            // entry).
            dynasm!(ops ; .arch x64 ; =>have);
            write_load_memo(ops, (mtag, maddend));
            dynasm!(ops
                ; .arch x64
                ; add rcx, rax
                ; jmp =>k.back
            );
        } else {
            // A fast-view hit: its page holds no line of a checked block
            // (`TierCtx::fast_tlb`), so the memo covers the page unchecked.
            dynasm!(ops
                ; .arch x64
                ; mov rdx, rcx
                ; and rdx, !0xfff
                ; mov QWORD [rsp + mtag], rdx
                ; mov QWORD [rsp + maddend], rax
                ; add rcx, rax
                ; jmp =>k.back
                ; =>have
                ; add rcx, rax
                ; mov rdx, rcx
            );
            line_check(ops, k.code_line);
            dynasm!(ops ; .arch x64 ; jmp =>k.back);
        }
    } else {
        dynasm!(ops ; .arch x64 ; =>k.miss ; jmp =>entry);
    }
    debug_assert_eq!(TLB_ENTRY_BYTES, 48);
    dynasm!(ops
        ; .arch x64
        ; =>entry
        ; mov rdx, QWORD [rsp + CHAIN_AT]
        ; add QWORD [rdx + CHAIN_FAST_MISSES], 1
    );
    if k.size > 1 {
        dynasm!(ops ; .arch x64 ; test cl, (k.size - 1) as i8 ; jnz =>k.misaligned);
    }
    // The entry: tlb + ((vpn ^ vpn >> TLB_INDEX_BITS) % TLB_ENTRIES) * 48, into rax; the
    // addend is its host page less the address's page.
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
        ; jne =>k.tlb_miss
        ; mov rax, QWORD [rax + host]
        ; test rax, rax
        ; jz =>k.no_host
        ; sub rax, rdx
    );
    match k.added {
        Some(added) => {
            dynasm!(ops ; .arch x64 ; add rcx, rax);
            if !k.load {
                // Through the entry, a store's host line must not hold a block checked
                // in this epoch.
                dynasm!(ops ; .arch x64 ; mov rdx, rcx);
                line_check(ops, k.code_line);
            }
            dynasm!(ops ; .arch x64 ; jmp =>added);
        }
        None => dynasm!(ops ; .arch x64 ; jmp =>have),
    }
}

/// The code-line check of the host address in `rdx`, which is `rcx` (`rax`, `rdx`, `r9`
/// clobbered), counted in [`Chain::line_checks`]: on to `code` when its line may hold a block checked in this epoch, else
/// on past it ([`line_filter`], [`line_tag`]).
fn line_check(ops: &mut Asm, code: DynamicLabel) {
    let (set, clear) = (ops.new_dynamic_label(), ops.new_dynamic_label());
    dynasm!(ops
        ; .arch x64
        ; mov r9, QWORD [rsp + CHAIN_AT]
        ; add QWORD [r9 + CHAIN_LINE_CHECKS], 1
    );
    line_filter(ops, set);
    dynasm!(ops ; .arch x64 ; jmp =>clear ; =>set);
    line_tag(ops, code);
    dynasm!(ops ; .arch x64 ; =>clear);
}

/// The code-line filter bit of the host address in `rdx`: on to `set` when it is set,
/// with the line modulo [`CODE_LINES`] in `rdx` (`rax`, `r9` clobbered).
fn line_filter(ops: &mut Asm, set: DynamicLabel) {
    dynasm!(ops
        ; .arch x64
        ; shr rdx, 6
        ; and edx, (CODE_LINES - 1) as i32
        ; mov r9, rdx
        ; shr r9d, 6
        ; mov rax, QWORD [rsi + CTX_CODE_LINES]
        ; mov rax, QWORD [rax + r9 * 8]
        ; bt rax, rdx
        ; jc =>set
    );
}

/// Behind a set filter bit ([`line_filter`]'s `rdx`) of the host address in `rcx`: on to
/// `code` when the tag behind it is [`CODE_TAG_ANY`] or this line's (`host / 64 /
/// CODE_LINES`), as the interpreter's `is_code_line`, else on past it (`rax`, `r9`
/// clobbered).
fn line_tag(ops: &mut Asm, code: DynamicLabel) {
    let shift = (6 + CODE_LINES.trailing_zeros()) as i8;
    debug_assert_eq!(CODE_TAG_ANY as i32 as i64 as u64, CODE_TAG_ANY);
    dynasm!(ops
        ; .arch x64
        ; mov r9, rcx
        ; shr r9, shift
        ; mov rax, QWORD [rsi + CTX_CODE_TAGS]
        ; mov rax, QWORD [rax + rdx * 8]
        ; cmp rax, CODE_TAG_ANY as i32
        ; je =>code
        ; cmp rax, r9
        ; je =>code
    );
}
