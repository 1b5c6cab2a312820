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

/// A load or store of `size` bytes at `rs1 + imm` (slot displacements `a`, `b`, `d`)
/// through the TLB fast path; anything else jumps to one of `why`'s labels (the
/// interpreter runs the instruction).
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
