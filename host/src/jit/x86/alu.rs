//! The ALU, M-extension and RV64 word operations: their register forms for cached
//! registers, and the forms on the register file (32- and 64-bit), division included.

use super::*;

/// `op dst, src` on host registers, 32-bit when `rv32` (which zero-extends into the
/// whole register, as RV32 values are kept) and 64-bit otherwise: one emitter for both
/// widths.
macro_rules! rr {
    ($ops:expr, $rv32:expr, $op:ident, $dst:expr, $src:expr) => {
        if $rv32 {
            dynasm!($ops ; .arch x64 ; $op Rd($dst), Rd($src))
        } else {
            dynasm!($ops ; .arch x64 ; $op Rq($dst), Rq($src))
        }
    };
}

/// `op dst, imm` on a host register at either width (see [`rr`]).
macro_rules! ri {
    ($ops:expr, $rv32:expr, $op:ident, $dst:expr, $imm:expr) => {
        if $rv32 {
            dynasm!($ops ; .arch x64 ; $op Rd($dst), $imm)
        } else {
            dynasm!($ops ; .arch x64 ; $op Rq($dst), $imm)
        }
    };
}

/// `op dst, cl` (a shift by register) at either width (see [`rr`]).
macro_rules! rcl {
    ($ops:expr, $rv32:expr, $op:ident, $dst:expr) => {
        if $rv32 {
            dynasm!($ops ; .arch x64 ; $op Rd($dst), cl)
        } else {
            dynasm!($ops ; .arch x64 ; $op Rq($dst), cl)
        }
    };
}

/// The register forms of the common ALU operations (and `mul`, the comparisons, shifts
/// by register, `lui`/`auipc` into a cached register), for an instruction that names a
/// cached register: in place (`op rd, src`) when `rd` is a cached `rs1`, else through
/// `rax`; one emitter for RV32 and RV64 (the width from `rv32`). Returns false (nothing
/// emitted) for the other operations.
pub(super) fn alu_cached(ops: &mut Asm, c: &Cache, u: &BlockInsn, at: u64, rv32: bool) -> bool {
    use Op::*;
    let imm = u.imm;
    let sh = (imm & if rv32 { 31 } else { 63 }) as i8;
    let w = rv32;
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
        match y {
            Some(y) => rr!(ops, w, cmp, x, y),
            None => ri!(ops, w, cmp, x, imm),
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
        let dst = dest(ops, c, u, rv32);
        match u.op {
            Sll => rcl!(ops, w, shl, dst),
            Srl => rcl!(ops, w, shr, dst),
            _ => rcl!(ops, w, sar, dst),
        }
        if dst == RAX {
            c.put(ops, u.rd, RAX);
        }
        return true;
    }
    if !imm_op && !reg_op {
        return false;
    }
    let dst = dest(ops, c, u, rv32);
    if imm_op {
        match u.op {
            Addi => ri!(ops, w, add, dst, imm),
            Andi => ri!(ops, w, and, dst, imm),
            Ori => ri!(ops, w, or, dst, imm),
            Xori => ri!(ops, w, xor, dst, imm),
            Slli => ri!(ops, w, shl, dst, sh),
            Srli => ri!(ops, w, shr, dst, sh),
            _ => ri!(ops, w, sar, dst, sh),
        }
    } else {
        // rs2 is read after rax took rs1 (rs2 may be rd: rd's register is only written
        // by the `put` below, or in place when rd is rs1, which then equals rs2's
        // value read here).
        let y = c.get(ops, u.rs2, RCX, rv32);
        match u.op {
            Add => rr!(ops, w, add, dst, y),
            Sub => rr!(ops, w, sub, dst, y),
            And => rr!(ops, w, and, dst, y),
            Or => rr!(ops, w, or, dst, y),
            Xor => rr!(ops, w, xor, dst, y),
            _ => rr!(ops, w, imul, dst, y),
        }
    }
    if dst == RAX {
        c.put(ops, u.rd, RAX);
    }
    true
}

/// What [`alu_move`] moves into `rd`.
enum MoveFrom {
    Reg(u8),
    Imm(i64),
}

/// `mv` and `li` (`add`, `or`, `xor` with `x0` as one source; `addi`, `ori`, `xori` of 0
/// or from `x0`) and `nop` (any of them into `x0`): a move of a register or a constant
/// into `rd`, with no load of `x0` and no operation. Returns false (nothing emitted) for
/// everything else.
pub(super) fn alu_move(ops: &mut Asm, c: &Cache, u: &BlockInsn, rv32: bool) -> bool {
    use Op::*;
    let from = match u.op {
        Add | Or | Xor if u.rs1 == 0 => MoveFrom::Reg(u.rs2),
        Add | Or | Xor if u.rs2 == 0 => MoveFrom::Reg(u.rs1),
        Addi | Ori | Xori if u.rs1 == 0 => MoveFrom::Imm(u.imm as i64),
        Addi | Ori | Xori if u.imm == 0 => MoveFrom::Reg(u.rs1),
        _ => return false,
    };
    let from = match from {
        MoveFrom::Reg(0) => MoveFrom::Imm(0),
        f => f,
    };
    if u.rd == X0_SINK {
        // A write to `x0`'s sink, which nothing reads.
        return true;
    }
    // RV32 keeps values zero-extended in their slots.
    let value = |v: i64| if rv32 { v as u32 as u64 } else { v as u64 };
    match (from, c.of(u.rd)) {
        (MoveFrom::Reg(r), Some(h)) => match c.of(r) {
            Some(s) if s == h => {}
            Some(s) => dynasm!(ops ; .arch x64 ; mov Rq(h), Rq(s)),
            None if rv32 => dynasm!(ops ; .arch x64 ; mov Rd(h), DWORD [rdi + slot(r)]),
            None => dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD [rdi + slot(r)]),
        },
        (MoveFrom::Reg(r), None) => {
            let x = c.get(ops, r, RAX, rv32);
            dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(u.rd)], Rq(x));
        }
        (MoveFrom::Imm(v), Some(h)) => {
            let v = value(v);
            if v == 0 {
                dynasm!(ops ; .arch x64 ; xor Rd(h), Rd(h));
            } else if v <= u32::MAX as u64 {
                dynasm!(ops ; .arch x64 ; mov Rd(h), v as u32 as i32);
            } else {
                dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD v as i64);
            }
        }
        (MoveFrom::Imm(v), None) => {
            let v = value(v);
            if v as i64 == v as i32 as i64 {
                // The sign-extended immediate is the value.
                dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(u.rd)], v as i32);
            } else {
                dynasm!(ops ; .arch x64 ; mov rax, QWORD v as i64 ; mov QWORD [rdi + slot(u.rd)], rax);
            }
        }
    }
    true
}

/// Where an operation on `rs1` computes: `rd`'s own register when `rd` is a cached
/// `rs1` (in place), else `rax` holding `rs1`.
fn dest(ops: &mut Asm, c: &Cache, u: &BlockInsn, rv32: bool) -> u8 {
    if let (Some(h), true) = (c.of(u.rd), u.rd == u.rs1) {
        return h;
    }
    let x = c.get(ops, u.rs1, RAX, rv32);
    if x != RAX {
        rr!(ops, rv32, mov, RAX, x);
    }
    RAX
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
