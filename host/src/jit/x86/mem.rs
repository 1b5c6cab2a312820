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

/// A store's tag check behind a set code-line filter bit, emitted out of line
/// ([`tag_check`]): where it starts and where the store goes on.
pub(super) struct TagCheck {
    pub(super) check: DynamicLabel,
    pub(super) back: DynamicLabel,
    pub(super) code_line: DynamicLabel,
}

/// A load or store of `size` bytes at `rs1 + imm` (slot displacements `a`, `b`, `d`)
/// through the TLB fast path; anything else jumps to one of `why`'s labels (the
/// interpreter runs the instruction). A store returns its tag check, for the caller to
/// emit out of line.
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
) -> Option<TagCheck> {
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
        return None;
    }
    // A store: its host line must not hold a block checked in this epoch: the filter
    // bit here, the tag behind a set bit out of line (`tag_check`), which comes back.
    let t = TagCheck {
        check: ops.new_dynamic_label(),
        back: ops.new_dynamic_label(),
        code_line: why.code_line,
    };
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
        ; jc =>t.check
        ; =>t.back
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
    Some(t)
}

/// A store's tag check (out of line; `rax` the host address, `rdx` its line modulo
/// [`CODE_LINES`], `r9`/`r10` free): to `t.code_line` when the tag behind the set bit is
/// [`CODE_TAG_ANY`] or this line's (`rax / 64 / CODE_LINES`), as the interpreter's
/// `is_code_line`; else back to the store.
pub(super) fn tag_check(ops: &mut Asm, t: &TagCheck) {
    let shift = (6 + CODE_LINES.trailing_zeros()) as i8;
    dynasm!(ops
        ; .arch x64
        ; =>t.check
        ; mov r10, QWORD [rsi + CTX_CODE_TAGS]
        ; mov r10, QWORD [r10 + rdx * 8]
        ; cmp r10, CODE_TAG_ANY as i32
        ; je =>t.code_line
        ; mov r9, rax
        ; shr r9, shift
        ; cmp r10, r9
        ; je =>t.code_line
        ; jmp =>t.back
    );
}
