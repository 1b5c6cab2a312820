//! The general interpreter: every operation, for the instructions the block executor and
//! `Hart::execute_fast` leave to it (system instructions, CSRs, fences, AMOs, LR/SC,
//! RV64-only operations, cache-block operations through `cbo`, F and D through `fpu`)
//! and their traps; and the integer ALU operations (`alu`) the two fast executors
//! (`Hart::execute_fast`, `Hart::run_block`) share.

use super::csr::mstatus;
use super::hart::{Exit, Hart};
use super::host::AmoOp;
use super::insn::{Insn, Op, DISCARD};
use super::trap::{cause, Exception, Priv};
use super::word;
use super::{bitmanip, Xlen};
use crate::atomic::Ordering;
use crate::cpu::Bus;

impl Hart<'_> {
    /// Executes `insn` (decoded from `raw`) at `pc` (which is `self.pc`), any operation:
    /// `Ok(None)` when it retired, `Ok(Some(exit))` to leave the run loop, `Err` for an
    /// exception (not yet taken). The run loop comes here for what
    /// [`Hart::execute_fast`] does not handle.
    #[inline(never)]
    pub(super) fn execute<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        pc: u64,
        raw: u32,
        insn: Insn,
    ) -> Result<Option<Exit>, Exception> {
        let m = self.xmask;
        let a = self.regs[(insn.rs1 & 31) as usize];
        let b = self.regs[(insn.rs2 & 31) as usize];
        let imm = insn.imm as i64 as u64;
        let rd = (insn.rd & 63) as usize;
        let sh = (self.xbits - 1) as u64;
        let mut next = pc.wrapping_add(insn.len as u64) & m;
        let illegal = Exception::new(cause::ILLEGAL, raw as u64);
        let ea = a.wrapping_add(imm) & m;
        let value = match insn.op {
            Op::Lui => imm & m,
            Op::Auipc => pc.wrapping_add(imm) & m,
            Op::Jal => {
                let link = next;
                next = pc.wrapping_add(imm) & m;
                link
            }
            Op::Jalr => {
                let link = next;
                next = ea & !1;
                link
            }
            Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu => {
                let taken = match insn.op {
                    Op::Beq => a == b,
                    Op::Bne => a != b,
                    Op::Blt => self.sx(a) < self.sx(b),
                    Op::Bge => self.sx(a) >= self.sx(b),
                    Op::Bltu => a < b,
                    _ => a >= b,
                };
                if taken {
                    next = pc.wrapping_add(imm) & m;
                }
                0
            }
            Op::Lb => self.load(bus, ea, 1)? as i8 as i64 as u64 & m,
            Op::Lh => self.load(bus, ea, 2)? as i16 as i64 as u64 & m,
            Op::Lw => self.load(bus, ea, 4)? as i32 as i64 as u64 & m,
            Op::Ld => self.load(bus, ea, 8)?,
            Op::Lbu => self.load(bus, ea, 1)?,
            Op::Lhu => self.load(bus, ea, 2)?,
            Op::Lwu => self.load(bus, ea, 4)?,
            Op::Sb => {
                self.store(bus, ea, 1, b)?;
                0
            }
            Op::Sh => {
                self.store(bus, ea, 2, b)?;
                0
            }
            Op::Sw => {
                self.store(bus, ea, 4, b)?;
                0
            }
            Op::Sd => {
                self.store(bus, ea, 8, b)?;
                0
            }
            Op::Addi => ea,
            Op::Slti => (self.sx(a) < imm as i64) as u64,
            Op::Sltiu => (a < imm & m) as u64,
            Op::Xori => (a ^ imm) & m,
            Op::Ori => (a | imm) & m,
            Op::Andi => a & imm,
            Op::Slli => (a << (imm & sh)) & m,
            Op::Srli => a >> (imm & sh),
            Op::Srai => (self.sx(a) >> (imm & sh)) as u64 & m,
            Op::Add => a.wrapping_add(b) & m,
            Op::Sub => a.wrapping_sub(b) & m,
            Op::Sll => (a << (b & sh)) & m,
            Op::Slt => (self.sx(a) < self.sx(b)) as u64,
            Op::Sltu => (a < b) as u64,
            Op::Xor => a ^ b,
            Op::Srl => a >> (b & sh),
            Op::Sra => (self.sx(a) >> (b & sh)) as u64 & m,
            Op::Or => a | b,
            Op::And => a & b,
            Op::Mul => a.wrapping_mul(b) & m,
            Op::Mulh => ((self.sx(a) as i128 * self.sx(b) as i128) >> self.xbits) as u64 & m,
            Op::Mulhsu => ((self.sx(a) as i128 * b as i128) >> self.xbits) as u64 & m,
            Op::Mulhu => ((a as u128 * b as u128) >> self.xbits) as u64 & m,
            Op::Div => match self.sx(b) {
                0 => m,
                d => self.sx(a).wrapping_div(d) as u64 & m,
            },
            Op::Divu => a.checked_div(b).unwrap_or(m),
            Op::Rem => match self.sx(b) {
                0 => a,
                d => self.sx(a).wrapping_rem(d) as u64 & m,
            },
            Op::Remu => a.checked_rem(b).unwrap_or(a),
            Op::Addiw
            | Op::Slliw
            | Op::Srliw
            | Op::Sraiw
            | Op::Addw
            | Op::Subw
            | Op::Sllw
            | Op::Srlw
            | Op::Sraw
            | Op::Mulw
            | Op::Divw
            | Op::Divuw
            | Op::Remw
            | Op::Remuw => word::alu_out_of_line(insn.op, a, b, imm),
            Op::Fence => {
                core::sync::atomic::fence(Ordering::SeqCst);
                0
            }
            Op::FenceI => {
                // Code other harts wrote is fetched from now on: a new code epoch (`block`).
                self.blocks.code_changed();
                0
            }
            Op::Ecall => {
                return Err(Exception::new(cause::ECALL_U + self.prv as u64, 0));
            }
            Op::Ebreak => {
                if self.debug_ebreak {
                    return Ok(Some(Exit::Breakpoint(pc)));
                }
                return Err(Exception::new(cause::BREAKPOINT, pc));
            }
            Op::Mret => {
                if self.prv != Priv::Machine {
                    return Err(illegal);
                }
                self.mret();
                return Ok(None);
            }
            Op::Sret => {
                if self.prv == Priv::User
                    || (self.prv == Priv::Supervisor && self.csr.mstatus & mstatus::TSR != 0)
                {
                    return Err(illegal);
                }
                self.sret();
                return Ok(None);
            }
            Op::Wfi => {
                if self.prv == Priv::User
                    || (self.prv == Priv::Supervisor && self.csr.mstatus & mstatus::TW != 0)
                {
                    return Err(illegal);
                }
                self.pc = next;
                let pending = self.irqs.device_bits() | self.csr.mip_sw;
                if pending & self.csr.mie as u32 == 0 {
                    return Ok(Some(Exit::Wfi));
                }
                return Ok(None);
            }
            Op::SfenceVma => {
                if self.prv == Priv::User
                    || (self.prv == Priv::Supervisor && self.csr.mstatus & mstatus::TVM != 0)
                {
                    return Err(illegal);
                }
                let va = (insn.rs1 != 0).then_some(a);
                let asid = (insn.rs2 != 0).then_some(b);
                self.sfence_vma(va, asid);
                0
            }
            Op::Csrrw | Op::Csrrs | Op::Csrrc | Op::Csrrwi | Op::Csrrsi | Op::Csrrci => {
                let csr = (insn.imm as u32 & 0xfff) as u16;
                let (src, write) = match insn.op {
                    Op::Csrrw => (a, true),
                    Op::Csrrs | Op::Csrrc => (a, insn.rs1 != 0),
                    Op::Csrrwi => (insn.rs1 as u64, true),
                    _ => (insn.rs1 as u64, insn.rs1 != 0),
                };
                let is_write_only =
                    matches!(insn.op, Op::Csrrw | Op::Csrrwi) && rd == DISCARD as usize;
                let old = if is_write_only {
                    0
                } else {
                    self.csr_read(csr).map_err(|_| illegal)?
                };
                if write {
                    let new = match insn.op {
                        Op::Csrrw | Op::Csrrwi => src,
                        Op::Csrrs | Op::Csrrsi => self.csr_rmw_base(csr, old) | src,
                        _ => self.csr_rmw_base(csr, old) & !src,
                    };
                    self.csr_write(csr, new).map_err(|_| illegal)?;
                }
                old
            }
            Op::LrW => self.load_reserved(bus, a, 4)? as i32 as i64 as u64 & m,
            Op::LrD => self.load_reserved(bus, a, 8)?,
            Op::ScW => !self.store_conditional(bus, a, 4, b)? as u64,
            Op::ScD => !self.store_conditional(bus, a, 8, b)? as u64,
            Op::AmoswapW
            | Op::AmoaddW
            | Op::AmoxorW
            | Op::AmoandW
            | Op::AmoorW
            | Op::AmominW
            | Op::AmomaxW
            | Op::AmominuW
            | Op::AmomaxuW => {
                let op = amo_op(insn.op);
                self.amo(bus, a, 4, op, b & 0xffff_ffff)? as i32 as i64 as u64 & m
            }
            Op::AmoswapD
            | Op::AmoaddD
            | Op::AmoxorD
            | Op::AmoandD
            | Op::AmoorD
            | Op::AmominD
            | Op::AmomaxD
            | Op::AmominuD
            | Op::AmomaxuD => self.amo(bus, a, 8, amo_op(insn.op), b)?,
            Op::CboClean | Op::CboFlush | Op::CboInval | Op::CboZero if cfg!(feature = "ext") => {
                self.cbo(bus, insn.op, a, raw)?;
                0
            }
            Op::Illegal => return Err(illegal),
            _ if cfg!(feature = "ext") && insn.op.is_bitmanip() => match self.xlen {
                Xlen::Rv32 => bitmanip::alu::<true>(insn.op, a, b, imm),
                Xlen::Rv64 => bitmanip::alu::<false>(insn.op, a, b, imm),
            },
            // Without the `ext` feature (never decoded).
            _ if !insn.op.is_fp() => return Err(illegal),
            // F and D (`fpu`).
            _ => {
                self.execute_fp(bus, raw, insn)?;
                return Ok(None);
            }
        };
        self.regs[rd] = value;
        self.pc = next;
        Ok(None)
    }
}

fn amo_op(op: Op) -> AmoOp {
    match op {
        Op::AmoswapW | Op::AmoswapD => AmoOp::Swap,
        Op::AmoaddW | Op::AmoaddD => AmoOp::Add,
        Op::AmoxorW | Op::AmoxorD => AmoOp::Xor,
        Op::AmoandW | Op::AmoandD => AmoOp::And,
        Op::AmoorW | Op::AmoorD => AmoOp::Or,
        Op::AmominW | Op::AmominD => AmoOp::Min,
        Op::AmomaxW | Op::AmomaxD => AmoOp::Max,
        Op::AmominuW | Op::AmominuD => AmoOp::Minu,
        _ => AmoOp::Maxu,
    }
}

/// The value of integer ALU operation `op` (`slti` to `srai`, `add` to `and`, and M's
/// `mul` to `remu`) of `rs1`'s value `a`, `rs2`'s `b` and the immediate `imm`, for the
/// two fast executors (`Hart::execute_fast`, `Hart::run_block`), where each arm of their
/// dispatch calls it with its own constant `op`, so that the inner `match` folds away.
#[inline(always)]
pub(super) fn alu<const RV32: bool>(op: Op, a: u64, b: u64, imm: u64) -> u64 {
    let m: u64 = if RV32 { 0xffff_ffff } else { u64::MAX };
    let sh: u64 = if RV32 { 31 } else { 63 };
    let bits: u32 = if RV32 { 32 } else { 64 };
    let sx = |v: u64| -> i64 {
        if RV32 {
            v as u32 as i32 as i64
        } else {
            v as i64
        }
    };
    match op {
        Op::Slti => (sx(a) < imm as i64) as u64,
        Op::Sltiu => (a < imm & m) as u64,
        Op::Xori => (a ^ imm) & m,
        Op::Ori => (a | imm) & m,
        Op::Andi => a & imm,
        Op::Slli => (a << (imm & sh)) & m,
        Op::Srli => a >> (imm & sh),
        Op::Srai => (sx(a) >> (imm & sh)) as u64 & m,
        Op::Add => a.wrapping_add(b) & m,
        Op::Sub => a.wrapping_sub(b) & m,
        Op::Sll => (a << (b & sh)) & m,
        Op::Slt => (sx(a) < sx(b)) as u64,
        Op::Sltu => (a < b) as u64,
        Op::Xor => a ^ b,
        Op::Srl => a >> (b & sh),
        Op::Sra => (sx(a) >> (b & sh)) as u64 & m,
        Op::Or => a | b,
        Op::And => a & b,
        Op::Mul => a.wrapping_mul(b) & m,
        Op::Mulh => ((sx(a) as i128 * sx(b) as i128) >> bits) as u64 & m,
        Op::Mulhsu => ((sx(a) as i128 * b as i128) >> bits) as u64 & m,
        Op::Mulhu => ((a as u128 * b as u128) >> bits) as u64 & m,
        Op::Div => match sx(b) {
            0 => m,
            d => sx(a).wrapping_div(d) as u64 & m,
        },
        Op::Divu => a.checked_div(b).unwrap_or(m),
        Op::Rem => match sx(b) {
            0 => a,
            d => sx(a).wrapping_rem(d) as u64 & m,
        },
        Op::Remu => a.checked_rem(b).unwrap_or(a),
        _ => {
            debug_assert!(false, "{op:?} is not an ALU operation");
            0
        }
    }
}
