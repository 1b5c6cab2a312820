//! The block executor: [`Hart::run_block`] runs one checked decoded block (`block`),
//! fused pairs included, on the TLB fast path for its loads and stores, and its chaining
//! tail goes on into the next block (a loop's own block again, or another block of the same
//! fetch page) when the run loop would run it next with nothing else to do first
//! ([`Hart::chained`]). [`End`] says how a block ended; the run loop (`run`) does the rest.

use crate::atomic::{AtomicU32, Ordering};

use super::bitmanip;
use super::block::{BLOCK_INSNS, BLOCK_POOL, FUSE};
use super::execute::alu;
use super::hart::Hart;
use super::insn::Op;
use super::tlb::{self, Tlb, PAGE_MASK};
use super::trap::Exception;
use super::word;
use crate::cpu::Bus;

/// How [`Hart::run_block`] ended.
pub(super) enum End {
    /// This many instructions retired (all of the block, or up to one that ends it
    /// early); continue at this `pc`.
    Next(u64, u64),
    /// This many instructions retired, then the one at this `pc` raised an exception (not
    /// yet taken).
    Trap(u64, u64, Exception),
    /// This many instructions retired; the one at this `pc` is not a block-executor
    /// operation: run it through the general path.
    Single(u64, u64),
}

impl End {
    /// This end with `done` more instructions retired before it (earlier rounds of a
    /// block that looped on itself: `Hart::run_block`).
    #[inline(always)]
    fn after(self, done: u64) -> End {
        match self {
            End::Next(k, pc) => End::Next(done + k, pc),
            End::Trap(k, pc, e) => End::Trap(done + k, pc, e),
            End::Single(k, pc) => End::Single(done + k, pc),
        }
    }
}

/// Whether `Hart::run_block` goes on into the next block itself (after the checks the run
/// loop makes between blocks) rather than returning to the run loop: off on bare metal,
/// where the firmware's flash is tight.
const CHAIN: bool = cfg!(not(target_os = "none"));

impl<'i> Hart<'i> {
    /// Runs pool block `idx`, which starts at `pc` (checked), for at most `left`
    /// instructions: see [`End`]. `lease_writes` is the run loop's DMA write count.
    ///
    /// A taken branch back to the block's own start (a loop that fits in one block), and,
    /// when `chain` (no other tier is to be offered blocks) or into a block the tier
    /// declines for good (`Block::declined`), any jump, taken branch or end
    /// of the block that leads to another block of the same page, goes on with that block
    /// here when the run loop would run it next without more ado ([`Hart::chained`]).
    /// Otherwise, and for every other exit, the run loop takes over as before.
    #[inline(always)]
    pub(super) fn run_block<B: Bus + ?Sized, const RV32: bool>(
        &mut self,
        bus: &B,
        idx: usize,
        mut pc: u64,
        left: u64,
        lease_writes: u32,
        chain: bool,
    ) -> End {
        let mut idx = idx & (BLOCK_POOL - 1);
        let m: u64 = if RV32 { 0xffff_ffff } else { u64::MAX };
        let sh: u64 = if RV32 { 31 } else { 63 };
        let sx = |v: u64| -> i64 {
            if RV32 {
                v as u32 as i32 as i64
            } else {
                v as i64
            }
        };
        // The running block's instruction count (for the budget check of a loop).
        let mut count = self.blocks.blocks[idx].count;
        if count as u64 > left {
            // The budget ends inside the block: the rest goes one instruction at a time
            // through the general path (at most `BLOCK_INSNS - 1` instructions per run).
            return End::Single(0, pc);
        }
        // What `bus.lease_writes()` reads, looked up once for every chaining below.
        let lease = bus.lease_writes_counter();
        // `data_prv` does not change inside a block: its TLB set is looked up once (only
        // without the fast TLB view, which is always that set's: `tlb::FAST`).
        let dset = if tlb::FAST {
            0
        } else {
            Tlb::set_of(self.data_prv)
        };
        // Instructions retired in the blocks run before this one (`go!` below).
        let mut done: u64 = 0;
        // One round per block: the block stays the same inside the inner loop.
        'block: loop {
            let mut i = 0;
            let (target, retired): (u64, u64) = loop {
                // The loop ends at the block's `END` micro-op (the `Op::Illegal` arm), so there
                // is no count check per instruction.
                debug_assert!(i <= self.blocks.blocks[idx].count as usize);
                // SAFETY: `i <= count <= BLOCK_INSNS` for the block's `count`, inside `insns`
                // (`BLOCK_INSNS + 1` entries): `i` starts at 0 in every block (the first and
                // each chained one), every arm either leaves the loop, restarts it at 0 or goes
                // on to `i + 1` after a decoded instruction (`i < count`) or to `i + 2` after a
                // fused pair (`second_op`: `i + 1 < count`), and `insns[count]` is
                // `block::END`, whose arm leaves or restarts (`BlockCache::build` makes at most
                // `BLOCK_INSNS` instructions and writes nothing else into `insns`).
                let u = unsafe { *self.blocks.blocks[idx].insns.get_unchecked(i) };
                // `u8` indices into the 256-slot file: no mask and no bounds check (masking
                // them measured about 8 % slower on `bench_mix`).
                let a = self.regs[u.rs1 as usize];
                // `rs2`'s value and the effective address, read where an arm uses them
                // (most arms do not need `rs2`; only loads, stores, `addi` and `jalr` the address).
                macro_rules! b {
                    () => {
                        self.regs[u.rs2 as usize]
                    };
                }
                let rd = u.rd as usize;
                let imm = u.imm as i64 as u64;
                macro_rules! ea {
                    () => {
                        a.wrapping_add(imm) & m
                    };
                }
                // The instruction's `pc` and the next one (only where needed).
                macro_rules! at {
                    () => {
                        pc.wrapping_add(self.blocks.blocks[idx].offs[i.min(BLOCK_INSNS)] as u64) & m
                    };
                }
                macro_rules! next {
                    () => {
                        pc.wrapping_add(
                            self.blocks.blocks[idx].offs[(i + 1).min(BLOCK_INSNS)] as u64,
                        ) & m
                    };
                }
                macro_rules! continue_block {
                    () => {{
                        i += 1;
                        continue;
                    }};
                }
                // The fast view's hit first (`load_fast`), then the whole path.
                macro_rules! load {
                    ($size:expr, $ext:expr) => {
                        match self.load_fast(ea!(), $size) {
                            Some(v) => $ext(v),
                            None => match self.load_in_set(bus, dset, ea!(), $size) {
                                Ok((v, false)) => $ext(v),
                                Ok((v, true)) => {
                                    self.regs[rd] = $ext(v);
                                    return End::Next(done + i as u64 + 1, next!());
                                }
                                Err(e) => return End::Trap(done + i as u64, at!(), e),
                            },
                        }
                    };
                }
                macro_rules! store {
                    ($size:expr) => {
                        store_then!($size, continue_block!())
                    };
                }
                macro_rules! store_then {
                    ($size:expr, $then:expr) => {
                        match self.store_in_set(bus, dset, ea!(), $size, b!()) {
                            Ok(false) => $then,
                            Ok(true) => return End::Next(done + i as u64 + 1, next!()),
                            Err(e) => return End::Trap(done + i as u64, at!(), e),
                        }
                    };
                }
                // The block ends with `retired` instructions retired in all: go on at `target`
                // (the shared tail after this loop).
                macro_rules! go {
                    ($target:expr, $retired:expr) => {
                        break ($target, $retired)
                    };
                }
                // A fused pair's second half (`block::fuse`): after the first instruction's
                // `value`, the instruction in the next slot, its value `$second` of its
                // `rs1` and `rs2` values and immediate (named `$x`, `$y`, `$k`); both
                // retire, one dispatch.
                macro_rules! then_op {
                    ($value:expr, |$x:ident, $y:ident, $k:ident| $second:expr) => {{
                        self.regs[rd] = $value;
                        second_op!(|$x, $y, $k| $second)
                    }};
                }
                // The same after a first half that writes no register (a branch not taken).
                macro_rules! second_op {
                    (|$x:ident, $y:ident, $k:ident| $second:expr) => {{
                        debug_assert!(i + 1 < self.blocks.blocks[idx].count as usize);
                        // SAFETY: a fused operation is never a block's last instruction
                        // (`block::fuse` fuses only with a next slot below `count`, and a
                        // triple only with the two next), so `i + 1 < count <= BLOCK_INSNS`:
                        // inside `insns` (and for a triple's third half, read after its
                        // second as `i + 1` again, the same).
                        let n = unsafe { *self.blocks.blocks[idx].insns.get_unchecked(i + 1) };
                        let $x = self.regs[n.rs1 as usize];
                        let $y = self.regs[n.rs2 as usize];
                        let $k = n.imm as i64 as u64;
                        self.regs[n.rd as usize] = $second;
                        i += 2;
                        continue;
                    }};
                }
                // A second half that loads or stores: the next slot's access, with its own
                // `pc` for a trap and its own retirement when it leaves the fast path.
                macro_rules! then_load {
                    ($size:expr, $ext:expr) => {{
                        debug_assert!(i + 1 < self.blocks.blocks[idx].count as usize);
                        i += 1;
                        // SAFETY: as in `second_op`: now `i < count <= BLOCK_INSNS`.
                        let n = unsafe { *self.blocks.blocks[idx].insns.get_unchecked(i) };
                        let ea = self.regs[n.rs1 as usize].wrapping_add(n.imm as i64 as u64) & m;
                        // The fast view's hit first, as in `load!`.
                        if let Some(v) = self.load_fast(ea, $size) {
                            self.regs[n.rd as usize] = $ext(v);
                            continue_block!()
                        }
                        match self.load_in_set(bus, dset, ea, $size) {
                            Ok((v, false)) => {
                                self.regs[n.rd as usize] = $ext(v);
                                continue_block!()
                            }
                            Ok((v, true)) => {
                                self.regs[n.rd as usize] = $ext(v);
                                return End::Next(done + i as u64 + 1, next!());
                            }
                            Err(e) => return End::Trap(done + i as u64, at!(), e),
                        }
                    }};
                }
                macro_rules! then_store {
                    ($size:expr) => {
                        then_store_then!($size, continue_block!())
                    };
                }
                // The same, then `$then` (a triple's third half) when it stays on the fast
                // path.
                macro_rules! then_store_then {
                    ($size:expr, $then:expr) => {{
                        debug_assert!(i + 1 < self.blocks.blocks[idx].count as usize);
                        i += 1;
                        // SAFETY: as in `second_op`: now `i < count <= BLOCK_INSNS`.
                        let n = unsafe { *self.blocks.blocks[idx].insns.get_unchecked(i) };
                        let ea = self.regs[n.rs1 as usize].wrapping_add(n.imm as i64 as u64) & m;
                        let v = self.regs[n.rs2 as usize];
                        match self.store_in_set(bus, dset, ea, $size, v) {
                            Ok(false) => $then,
                            Ok(true) => return End::Next(done + i as u64 + 1, next!()),
                            Err(e) => return End::Trap(done + i as u64, at!(), e),
                        }
                    }};
                }
                // The same as `second_op`, then `$then` (a triple's third half).
                macro_rules! then_op_then {
                    (|$x:ident, $y:ident, $k:ident| $second:expr, $then:expr) => {{
                        debug_assert!(i + 1 < self.blocks.blocks[idx].count as usize);
                        i += 1;
                        // SAFETY: as in `second_op`: now `i < count <= BLOCK_INSNS`.
                        let n = unsafe { *self.blocks.blocks[idx].insns.get_unchecked(i) };
                        let $x = self.regs[n.rs1 as usize];
                        let $y = self.regs[n.rs2 as usize];
                        let $k = n.imm as i64 as u64;
                        self.regs[n.rd as usize] = $second;
                        $then
                    }};
                }
                // The most frequent second half: an `addi`.
                macro_rules! then_addi {
                    ($value:expr) => {
                        then_op!($value, |x, _y, k| x.wrapping_add(k) & m)
                    };
                }
                // A fused pair's second half when it is a conditional branch (`block::fuse`):
                // its condition without a second dispatch (`Beq` to `Bgeu` are consecutive:
                // equal, less than, less than unsigned, each then negated).
                macro_rules! then_branch {
                    () => {{
                        debug_assert!(i + 1 < self.blocks.blocks[idx].count as usize);
                        i += 1;
                        // SAFETY: as in `second_op`: now `i < count <= BLOCK_INSNS`.
                        let n = unsafe { *self.blocks.blocks[idx].insns.get_unchecked(i) };
                        let (a, b) = (self.regs[n.rs1 as usize], self.regs[n.rs2 as usize]);
                        // `bne` and `beq` (most second halves) tested first, each on its own.
                        let taken = if n.op == Op::Bne {
                            a != b
                        } else if n.op == Op::Beq {
                            a == b
                        } else {
                            let k = (n.op as u8).wrapping_sub(Op::Blt as u8);
                            debug_assert!(k < 4, "{:?} is not a conditional branch", n.op);
                            let c = if k < 2 { sx(a) < sx(b) } else { a < b };
                            c != (k & 1 != 0)
                        };
                        if taken {
                            go!(
                                pc.wrapping_add(n.imm as i64 as u64) & m,
                                done + i as u64 + 1
                            )
                        }
                        continue_block!()
                    }};
                }
                // A fused pair whose first half is a conditional branch: taken, it leaves
                // the block with one instruction retired; not, the second half `$then`.
                macro_rules! branch_then {
                    ($cond:expr, $then:expr) => {
                        if $cond {
                            go!(pc.wrapping_add(imm) & m, done + i as u64 + 1)
                        } else {
                            $then
                        }
                    };
                }
                macro_rules! branch {
                    ($cond:expr) => {
                        if $cond {
                            go!(pc.wrapping_add(imm) & m, done + i as u64 + 1)
                        } else {
                            continue_block!()
                        }
                    };
                }
                // The ALU operations share `execute::alu` with `execute_fast`, each arm
                // calling it with its own constant `op` (so nothing is dispatched twice: one
                // arm for all of them, dispatching again inside, measured about 20 % slower on
                // `bench_mix`).
                let value = match u.op {
                    Op::Lui => imm & m,
                    Op::Auipc => at!().wrapping_add(imm) & m,
                    Op::Lb => load!(1, |v: u64| v as i8 as i64 as u64 & m),
                    Op::Lh => load!(2, |v: u64| v as i16 as i64 as u64 & m),
                    Op::Lw => load!(4, |v: u64| v as i32 as i64 as u64 & m),
                    Op::Lbu => load!(1, |v: u64| v),
                    Op::Lhu => load!(2, |v: u64| v),
                    Op::Sb => store!(1),
                    Op::Sh => store!(2),
                    Op::Sw => store!(4),
                    Op::Ld if !RV32 && word::FAST => load!(8, |v: u64| v),
                    Op::Lwu if !RV32 && word::FAST => load!(4, |v: u64| v),
                    Op::Sd if !RV32 && word::FAST => store!(8),
                    Op::Addi => ea!(),
                    Op::Slti => alu::<RV32>(Op::Slti, a, 0, imm),
                    Op::Sltiu => alu::<RV32>(Op::Sltiu, a, 0, imm),
                    Op::Xori => alu::<RV32>(Op::Xori, a, 0, imm),
                    Op::Ori => alu::<RV32>(Op::Ori, a, 0, imm),
                    Op::Andi => alu::<RV32>(Op::Andi, a, 0, imm),
                    Op::Slli => alu::<RV32>(Op::Slli, a, 0, imm),
                    Op::Srli => alu::<RV32>(Op::Srli, a, 0, imm),
                    Op::Srai => alu::<RV32>(Op::Srai, a, 0, imm),
                    Op::Add => alu::<RV32>(Op::Add, a, b!(), imm),
                    Op::Sub => alu::<RV32>(Op::Sub, a, b!(), imm),
                    Op::Sll => alu::<RV32>(Op::Sll, a, b!(), imm),
                    Op::Slt => alu::<RV32>(Op::Slt, a, b!(), imm),
                    Op::Sltu => alu::<RV32>(Op::Sltu, a, b!(), imm),
                    Op::Xor => alu::<RV32>(Op::Xor, a, b!(), imm),
                    Op::Srl => alu::<RV32>(Op::Srl, a, b!(), imm),
                    Op::Sra => alu::<RV32>(Op::Sra, a, b!(), imm),
                    Op::Or => alu::<RV32>(Op::Or, a, b!(), imm),
                    Op::And => alu::<RV32>(Op::And, a, b!(), imm),
                    Op::Mul => alu::<RV32>(Op::Mul, a, b!(), imm),
                    Op::Mulh => alu::<RV32>(Op::Mulh, a, b!(), imm),
                    Op::Mulhsu => alu::<RV32>(Op::Mulhsu, a, b!(), imm),
                    Op::Mulhu => alu::<RV32>(Op::Mulhu, a, b!(), imm),
                    Op::Div => alu::<RV32>(Op::Div, a, b!(), imm),
                    Op::Divu => alu::<RV32>(Op::Divu, a, b!(), imm),
                    Op::Rem => alu::<RV32>(Op::Rem, a, b!(), imm),
                    Op::Remu => alu::<RV32>(Op::Remu, a, b!(), imm),
                    Op::LwAddi if FUSE => then_addi!(load!(4, |v: u64| v as i32 as i64 as u64 & m)),
                    Op::LbuAddi if FUSE => then_addi!(load!(1, |v: u64| v)),
                    Op::AddiAddi if FUSE => then_addi!(ea!()),
                    Op::MulAddi if FUSE => then_addi!(a.wrapping_mul(b!()) & m),
                    Op::SlliAddi if FUSE => then_addi!((a << (imm & sh)) & m),
                    Op::AddAddi if FUSE => then_addi!(a.wrapping_add(b!()) & m),
                    Op::AndAddi if FUSE => then_addi!(a & b!()),
                    Op::AddiBr if FUSE => {
                        self.regs[rd] = ea!();
                        then_branch!()
                    }
                    Op::AddBr if FUSE => {
                        self.regs[rd] = a.wrapping_add(b!()) & m;
                        then_branch!()
                    }
                    Op::XorBr if FUSE => {
                        self.regs[rd] = a ^ b!();
                        then_branch!()
                    }
                    Op::SrliBr if FUSE => {
                        self.regs[rd] = a >> (imm & sh);
                        then_branch!()
                    }
                    Op::AndiBr if FUSE => {
                        self.regs[rd] = a & imm;
                        then_branch!()
                    }
                    Op::LwBr if FUSE => {
                        self.regs[rd] = load!(4, |v: u64| v as i32 as i64 as u64 & m);
                        then_branch!()
                    }
                    Op::SwBr if FUSE => store_then!(4, then_branch!()),
                    Op::SbBr if FUSE => store_then!(1, then_branch!()),
                    Op::SlliBr if FUSE => {
                        self.regs[rd] = (a << (imm & sh)) & m;
                        then_branch!()
                    }
                    Op::AndiSub if FUSE => then_op!(a & imm, |x, y, _k| x.wrapping_sub(y) & m),
                    Op::SlliSrai if FUSE => then_op!((a << (imm & sh)) & m, |x, _y, k| {
                        (sx(x) >> (k & sh)) as u64 & m
                    }),
                    Op::SlliXor if FUSE => then_op!((a << (imm & sh)) & m, |x, y, _k| x ^ y),
                    Op::AddiMul if FUSE => then_op!(ea!(), |x, y, _k| x.wrapping_mul(y) & m),
                    Op::AddiAdd if FUSE => then_op!(ea!(), |x, y, _k| x.wrapping_add(y) & m),
                    Op::LwLw if FUSE => {
                        self.regs[rd] = load!(4, |v: u64| v as i32 as i64 as u64 & m);
                        then_load!(4, |v: u64| v as i32 as i64 as u64 & m)
                    }
                    Op::SwSw if FUSE => store_then!(4, then_store!(4)),
                    Op::SrliAndAddi if FUSE => {
                        self.regs[rd] = a >> (imm & sh);
                        then_op_then!(
                            |x, y, _k| x & y,
                            second_op!(|x, _y, k| x.wrapping_add(k) & m)
                        )
                    }
                    Op::AddSwBr if FUSE => {
                        self.regs[rd] = a.wrapping_add(b!()) & m;
                        then_store_then!(4, then_branch!())
                    }
                    Op::AddXorBr if FUSE => {
                        self.regs[rd] = a.wrapping_add(b!()) & m;
                        then_op_then!(|x, y, _k| x ^ y, then_branch!())
                    }
                    Op::AddiSbBr if FUSE => {
                        self.regs[rd] = ea!();
                        then_store_then!(1, then_branch!())
                    }
                    Op::BeqBr if FUSE => branch_then!(a == b!(), then_branch!()),
                    Op::BneBr if FUSE => branch_then!(a != b!(), then_branch!()),
                    Op::BeqSw if FUSE => branch_then!(a == b!(), then_store!(4)),
                    Op::BeqAddi if FUSE => {
                        branch_then!(a == b!(), second_op!(|x, _y, k| x.wrapping_add(k) & m))
                    }
                    Op::BneLw if FUSE => {
                        branch_then!(
                            a != b!(),
                            then_load!(4, |v: u64| v as i32 as i64 as u64 & m)
                        )
                    }
                    Op::Jal => {
                        self.regs[rd] = next!();
                        go!(pc.wrapping_add(imm) & m, done + i as u64 + 1)
                    }
                    Op::Jalr => {
                        // The target is computed before the link is written (rd may be rs1).
                        self.regs[rd] = next!();
                        go!(ea!() & !1, done + i as u64 + 1)
                    }
                    Op::Beq => branch!(a == b!()),
                    Op::Bne => branch!(a != b!()),
                    Op::Blt => branch!(sx(a) < sx(b!())),
                    Op::Bge => branch!(sx(a) >= sx(b!())),
                    Op::Bltu => branch!(a < b!()),
                    Op::Bgeu => branch!(a >= b!()),
                    _ if !RV32 && word::FAST && u.op.is_word() => word::alu(u.op, a, b!(), imm),
                    // Zb* and Zicond, out of line (`bitmanip`).
                    _ if cfg!(feature = "ext") && u.op.is_bitmanip() => {
                        bitmanip::alu::<RV32>(u.op, a, b!(), imm)
                    }
                    // F and D, out of line (`fp_block_step`).
                    _ if cfg!(feature = "fpu") && u.op.is_fp() => {
                        match self.fp_block_step(bus, idx, i, pc, ea!(), m) {
                            None => continue_block!(),
                            Some(end) => return end.after(done),
                        }
                    }
                    // Past the last instruction (`block::END`: `rd` 0, which no decoded
                    // instruction has): the block ran to its end.
                    Op::Illegal if u.rd == 0 => go!(at!(), done + i as u64),
                    // Only as a block's last instruction.
                    _ => return End::Single(done + i as u64, at!()),
                };
                self.regs[rd] = value;
                i += 1;
            };
            // One tail for every jump, taken branch and block end: go on here (the same
            // block again for a loop, or another block of the page when `chain`), or in the
            // run loop.
            if target == pc {
                // The same block: checked in this epoch when it was entered, and nothing in
                // it since ended the epoch (a store to code, an access off the TLB fast path
                // leave this function at once), so its stamp is not compared again.
                if self.chained(bus, lease, idx, count, left - retired, lease_writes, false) {
                    done = retired;
                    continue 'block;
                }
            } else if CHAIN && (target ^ pc) & !PAGE_MASK == 0 {
                // With a tier, only into a block it declines for good (`TierCtx::declined`):
                // any other is offered to it by the run loop.
                let n = self.blocks.slot(target);
                let next = &self.blocks.blocks[n];
                if next.pc == target
                    && (chain || next.declined)
                    && self.chained(
                        bus,
                        lease,
                        n,
                        next.count,
                        left - retired,
                        lease_writes,
                        true,
                    )
                {
                    count = next.count;
                    done = retired;
                    idx = n;
                    pc = target;
                    continue 'block;
                }
            }
            return End::Next(retired, target);
        }
    }

    /// Whether block `idx` (its `pc` the next one) runs next inside [`Hart::run_block`]
    /// with `left` instructions of budget left, rather than through the run loop: it is
    /// what the run loop would do next with nothing else to do first. The caller checked
    /// that the block is the one at the next `pc` and that it is the same fetch page (the
    /// block's own start, a loop, or, with `chain`, a block of the same page); here: the
    /// block is checked in this code epoch, the budget holds all of it, no interrupt or
    /// stop is pending and enabled, and the DMA write count is still the run loop's. The
    /// code-epoch stamp is compared only when `check_epoch` (not for the block that is
    /// running, which was checked when entered). `count` is the block's instruction count.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn chained<B: Bus + ?Sized>(
        &self,
        bus: &B,
        lease: Option<&AtomicU32>,
        idx: usize,
        count: u8,
        left: u64,
        lease_writes: u32,
        check_epoch: bool,
    ) -> bool {
        let pending = self.irqs.pending.load(Ordering::Relaxed) | self.csr.mip_sw;
        // The bus's count read through its atomic when it has one (`lease`, from
        // `bus.lease_writes_counter()`): one load fewer than through the bus.
        let writes = match lease {
            Some(c) => c.load(Ordering::Relaxed),
            None => bus.lease_writes(),
        };
        CHAIN
            && (!check_epoch
                || self.blocks.blocks[idx & (BLOCK_POOL - 1)].checked == self.blocks.stamp)
            && count as u64 <= left
            && pending & self.int_mask == 0
            && writes == lease_writes
    }
}
