//! The x86-64 translator: a decoded block ([`BlockRef`]) to host code, with dynasm-rs.
//!
//! The generated code is a `extern "sysv64" fn(regs: *mut u64) -> Ret` ([`Ret`]): `rdi`
//! holds the hart's register file (256 `u64` slots), every guest register lives there
//! (loaded and stored per instruction), and the code returns the next guest `pc` in `rax`
//! and the instructions retired in `rdx` (bit 63 set for [`TierEnd::Single`]). It touches
//! only `rax`, `rcx`, `rdx` and the flags (all caller-saved) and the register file, has no
//! stack frame, and cannot fault: every operation it translates is total (division by
//! zero and overflow are tested for and give what the M extension says).
//!
//! Translated: RV32I/RV64I's register-register and register-immediate ALU operations,
//! `lui`, `auipc`, the M extension, RV64's word operations, conditional branches (a taken
//! one leaves the block), and `jal`/`jalr` (they end a block). RV32 values stay
//! zero-extended in their `u64` slots (32-bit x86 operations do that by themselves), as
//! the interpreter keeps them. A block with anything else before its last instruction is
//! not translated; anything else as its last instruction is left to the interpreter's
//! general path ([`TierEnd::Single`]).

use dynasmrt::x64::X64Relocation;
use dynasmrt::{dynasm, DynasmApi, DynasmLabelApi, VecAssembler};
use fief_core::cpu::riscv::tier::{BlockRef, TierEnd};
use fief_core::cpu::riscv::Op;

/// What generated code returns (`rax`, `rdx` in the System V ABI).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Ret {
    /// The next `pc` (or the last instruction's for [`TierEnd::Single`]).
    pub pc: u64,
    /// Instructions retired, with [`SINGLE`] set for [`TierEnd::Single`].
    pub retired: u64,
}

/// The flag in [`Ret::retired`] for [`TierEnd::Single`].
pub const SINGLE: u64 = 1 << 63;

impl Ret {
    /// As the run loop takes it.
    #[inline(always)]
    pub fn end(self) -> TierEnd {
        if self.retired & SINGLE != 0 {
            TierEnd::Single {
                retired: self.retired & !SINGLE,
                pc: self.pc,
            }
        } else {
            TierEnd::Next {
                retired: self.retired,
                pc: self.pc,
            }
        }
    }
}

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
    ) || (!rv32 && op.is_word())
}

/// Translates `block` (XLEN 32 when `rv32`): its machine code, or `None` when an
/// instruction before the last is not one [`translates`] takes.
pub fn translate(block: BlockRef<'_>, rv32: bool) -> Option<Vec<u8>> {
    let n = block.len();
    let m: u64 = if rv32 { 0xffff_ffff } else { u64::MAX };
    let pc0 = block.pc();
    let mut ops = Asm::new(0);
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
            dynasm!(ops
                ; .arch x64
                ; mov rax, QWORD at as i64
                ; mov rdx, QWORD (i as u64 | SINGLE) as i64
                ; ret
            );
            return ops.finalize().ok();
        }
        let imm = u.imm;
        let (a, b, d) = (slot(u.rs1), slot(u.rs2), slot(u.rd));
        let retired = i as i32 + 1;
        match u.op {
            Op::Jal => {
                let target = at.wrapping_add(imm as i64 as u64) & m;
                dynasm!(ops
                    ; .arch x64
                    ; mov rax, QWORD next as i64
                    ; mov QWORD [rdi + d], rax
                    ; mov rax, QWORD target as i64
                    ; mov edx, retired
                    ; ret
                );
                return ops.finalize().ok();
            }
            Op::Jalr => {
                // The target first: rd may be rs1.
                if rv32 {
                    dynasm!(ops
                        ; .arch x64
                        ; mov eax, DWORD [rdi + a]
                        ; add eax, imm
                        ; and eax, -2
                    );
                } else {
                    dynasm!(ops
                        ; .arch x64
                        ; mov rax, QWORD [rdi + a]
                        ; add rax, imm
                        ; and rax, -2
                    );
                }
                dynasm!(ops
                    ; .arch x64
                    ; mov rcx, QWORD next as i64
                    ; mov QWORD [rdi + d], rcx
                    ; mov edx, retired
                    ; ret
                );
                return ops.finalize().ok();
            }
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                let target = at.wrapping_add(imm as i64 as u64) & m;
                if rv32 {
                    dynasm!(ops ; .arch x64 ; mov eax, DWORD [rdi + a] ; cmp eax, DWORD [rdi + b]);
                } else {
                    dynasm!(ops ; .arch x64 ; mov rax, QWORD [rdi + a] ; cmp rax, QWORD [rdi + b]);
                }
                // Not taken: skip the exit.
                match u.op {
                    Op::Beq => dynasm!(ops ; .arch x64 ; jne >skip),
                    Op::Bne => dynasm!(ops ; .arch x64 ; je >skip),
                    Op::Blt => dynasm!(ops ; .arch x64 ; jge >skip),
                    Op::Bge => dynasm!(ops ; .arch x64 ; jl >skip),
                    Op::Bltu => dynasm!(ops ; .arch x64 ; jae >skip),
                    _ => dynasm!(ops ; .arch x64 ; jb >skip),
                }
                dynasm!(ops
                    ; .arch x64
                    ; mov rax, QWORD target as i64
                    ; mov edx, retired
                    ; ret
                    ; skip:
                );
                continue;
            }
            _ => {}
        }
        // A value in rax, stored to rd below.
        if rv32 {
            alu32(&mut ops, u.op, a, b, imm, at);
        } else {
            alu64(&mut ops, u.op, a, b, imm, at);
        }
        dynasm!(ops ; .arch x64 ; mov QWORD [rdi + d], rax);
    }
    // Fell through the whole block.
    let end = pc0.wrapping_add(block.byte_len() as u64) & m;
    dynasm!(ops
        ; .arch x64
        ; mov rax, QWORD end as i64
        ; mov edx, n as i32
        ; ret
    );
    ops.finalize().ok()
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
