//! The ALU, M-extension and RV64 word operations: their register forms for cached
//! registers, and the forms on the register file (32- and 64-bit), division included.

use super::*;

/// The register forms of the common ALU operations (and `mul`, the comparisons, shifts
/// by register, `lui`/`auipc` into a cached register), for an instruction that names a
/// cached register: in place (`op rd, src`) when `rd` is a cached `rs1`, else through
/// `rax`. Returns false (nothing emitted) for the other operations.
pub(super) fn alu_cached(ops: &mut Asm, c: &Cache, u: &BlockInsn, at: u64, rv32: bool) -> bool {
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
pub(super) fn alu32(ops: &mut Asm, op: Op, a: i32, b: i32, imm: i32, at: u64) {
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
pub(super) fn alu64(ops: &mut Asm, op: Op, a: i32, b: i32, imm: i32, at: u64) {
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
