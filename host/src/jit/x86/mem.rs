//! Loads and stores: the TLB fast path inline, and where each leaves it (see the parent's
//! docs, "Loads and stores").

use super::*;

/// Where a load or store leaves the fast path, by why (each label sets its
/// [`ExitKind`] and returns [`TierEnd::Single`] before the instruction).
pub(super) struct MemExits {
    pub(super) misaligned: DynamicLabel,
    pub(super) tlb_miss: DynamicLabel,
    pub(super) no_host: DynamicLabel,
    pub(super) code_line: DynamicLabel,
}

/// What a load or store emits out of line ([`cold`]): the TLB entry's lookup behind a
/// miss in the fast view, and a store's tag check behind a set code-line filter bit,
/// each coming back to the access.
pub(super) struct Cold {
    /// The entry's lookup: where it starts and where the access goes on (with its host
    /// address in `rcx`).
    entry: DynamicLabel,
    entry_back: DynamicLabel,
    size: u32,
    load: bool,
    misaligned: DynamicLabel,
    tlb_miss: DynamicLabel,
    no_host: DynamicLabel,
    /// A store's tag check: (start, back).
    tag: Option<(DynamicLabel, DynamicLabel)>,
    code_line: DynamicLabel,
}

/// A load or store of `size` bytes at `rs1 + imm` through the TLB fast path: the fast
/// view ([`TierCtx::fast_tlb`]: the page and the alignment in one compare, the host
/// address by one addition), behind a miss there the entry itself (out of line);
/// anything else jumps to one of `why`'s labels (the interpreter runs the instruction).
/// Returns what the caller emits out of line ([`cold`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn mem_access(
    ops: &mut Asm,
    c: &Cache,
    op: Op,
    size: u32,
    load: bool,
    u: &BlockInsn,
    rv32: bool,
    why: &MemExits,
) -> Cold {
    let imm = u.imm;
    // va in rcx.
    let x = c.get(ops, u.rs1, RCX, rv32);
    match (x == RCX, rv32) {
        (true, true) => dynasm!(ops ; .arch x64 ; add ecx, imm),
        (true, false) => dynasm!(ops ; .arch x64 ; add rcx, imm),
        (false, true) => dynasm!(ops ; .arch x64 ; mov ecx, Rd(x) ; add ecx, imm),
        (false, false) => dynasm!(ops ; .arch x64 ; mov rcx, Rq(x) ; add rcx, imm),
    }
    let mut k = Cold {
        entry: ops.new_dynamic_label(),
        entry_back: ops.new_dynamic_label(),
        size,
        load,
        misaligned: why.misaligned,
        tlb_miss: why.tlb_miss,
        no_host: why.no_host,
        tag: None,
        code_line: why.code_line,
    };
    let (tag, base) = if load {
        (TLB_FAST_TAG_R as i32, TLB_FAST_BASE_R as i32)
    } else {
        (TLB_FAST_TAG_W as i32, TLB_FAST_BASE_W as i32)
    };
    debug_assert_eq!(TLB_FAST_BYTES, 32);
    // The fast entry: fast_tlb + ((vpn ^ vpn >> TLB_FAST_BITS) % TLB_FAST_ENTRIES) * 32,
    // computed on the address shifted by 12 - 5 (the low 32 bits hold every bit the
    // index takes).
    let fmask = ((TLB_FAST_ENTRIES - 1) << 5) as i32;
    dynasm!(ops
        ; .arch x64
        ; mov eax, ecx
        ; shr eax, 7
        ; mov edx, ecx
        ; shr edx, (7 + TLB_FAST_BITS) as i8
        ; xor eax, edx
        ; and eax, fmask
        ; add rax, QWORD [rsi + CTX_FAST_TLB]
        // The page and the alignment in one compare.
        ; mov rdx, rcx
        ; and rdx, !0xfff | (size as i32 - 1)
        ; cmp rdx, QWORD [rax + tag]
        ; jne =>k.entry
        ; add rcx, QWORD [rax + base]
        ; =>k.entry_back
    );
    // The host address is in rcx.
    if load {
        match (op, rv32) {
            (Op::Lb, true) => dynasm!(ops ; .arch x64 ; movsx eax, BYTE [rcx]),
            (Op::Lh, true) => dynasm!(ops ; .arch x64 ; movsx eax, WORD [rcx]),
            (Op::Lb, false) => dynasm!(ops ; .arch x64 ; movsx rax, BYTE [rcx]),
            (Op::Lh, false) => dynasm!(ops ; .arch x64 ; movsx rax, WORD [rcx]),
            (Op::Lw, false) => dynasm!(ops ; .arch x64 ; movsxd rax, DWORD [rcx]),
            (Op::Lw | Op::Lwu, _) => dynasm!(ops ; .arch x64 ; mov eax, DWORD [rcx]),
            (Op::Lbu, _) => dynasm!(ops ; .arch x64 ; movzx eax, BYTE [rcx]),
            (Op::Lhu, _) => dynasm!(ops ; .arch x64 ; movzx eax, WORD [rcx]),
            _ => dynasm!(ops ; .arch x64 ; mov rax, QWORD [rcx]),
        }
        c.put(ops, u.rd, RAX);
        return k;
    }
    // A store: its host line must not hold a block checked in this epoch: the filter
    // bit here, the tag behind a set bit out of line, which comes back.
    let (check, back) = (ops.new_dynamic_label(), ops.new_dynamic_label());
    k.tag = Some((check, back));
    dynasm!(ops
        ; .arch x64
        ; mov rdx, rcx
        ; shr rdx, 6
        ; and edx, (CODE_LINES - 1) as i32
        ; mov r9, rdx
        ; shr r9d, 6
        ; mov r10, QWORD [rsi + CTX_CODE_LINES]
        ; mov r9, QWORD [r10 + r9 * 8]
        ; bt r9, rdx
        ; jc =>check
        ; =>back
    );
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

/// An access's out-of-line code ([`Cold`]).
///
/// The entry's lookup (`rcx` the address): misaligned, or the data TLB entry's tag not
/// `va & !0xfff`, or no host page, each to its exit; else `rcx` = the host address and
/// back to the access.
///
/// A store's tag check (`rcx` the host address, `rdx` its line modulo [`CODE_LINES`],
/// `r9`/`r10` free): to the code-line exit when the tag behind the set bit is
/// [`CODE_TAG_ANY`] or this line's (`rcx / 64 / CODE_LINES`), as the interpreter's
/// `is_code_line`; else back to the store.
pub(super) fn cold(ops: &mut Asm, k: &Cold) {
    let (tag, host) = if k.load {
        (TLB_TAG_R as i32, TLB_HOST_R as i32)
    } else {
        (TLB_TAG_W as i32, TLB_HOST_W as i32)
    };
    debug_assert_eq!(TLB_ENTRY_BYTES, 48);
    dynasm!(ops ; .arch x64 ; =>k.entry);
    if k.size > 1 {
        dynasm!(ops ; .arch x64 ; test cl, (k.size - 1) as i8 ; jnz =>k.misaligned);
    }
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
        ; jne =>k.tlb_miss
        ; mov rax, QWORD [rax + host]
        ; test rax, rax
        ; jz =>k.no_host
        ; and ecx, 0xfff
        ; add rcx, rax
        ; jmp =>k.entry_back
    );
    if let Some((check, back)) = k.tag {
        let shift = (6 + CODE_LINES.trailing_zeros()) as i8;
        debug_assert_eq!(CODE_TAG_ANY as i32 as i64 as u64, CODE_TAG_ANY);
        dynasm!(ops
            ; .arch x64
            ; =>check
            ; mov r10, QWORD [rsi + CTX_CODE_TAGS]
            ; mov r10, QWORD [r10 + rdx * 8]
            ; cmp r10, CODE_TAG_ANY as i32
            ; je =>k.code_line
            ; mov r9, rcx
            ; shr r9, shift
            ; cmp r10, r9
            ; je =>k.code_line
            ; jmp =>back
        );
    }
}
