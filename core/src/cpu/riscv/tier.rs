//! The hook for a faster execution tier: [`BlockTier`], which the run loop asks to execute
//! a decoded block (`block`) before its own block executor does, and what it sees of the
//! block ([`BlockRef`]) and returns ([`TierEnd`]).
//!
//! The run loop does everything around a block exactly as without a tier: the budget and
//! interrupt checks, the fetch page, the DMA write count and the code epoch, and checking
//! the block against guest memory. Only then does it offer the checked block to the tier,
//! with the register file and the remaining budget. The tier either runs the block's
//! instructions itself and says how it ended, or declines (`None`), and the interpreter
//! runs the block as always. [`Interp`], the tier of [`Hart::run`](super::Hart::run),
//! always declines, inlined, so the interpreter's loop compiles as before.
//!
//! A tier may only run blocks whose instructions change nothing but integer registers
//! and cannot trap (register ALU operations, branches, jumps): anything else (memory,
//! CSRs, counters, the FP state) it leaves to the interpreter by declining, or, for the
//! block's last instruction only, by ending with [`TierEnd::Single`].

use super::block::Block;
use super::insn::Op;

/// How a block run by a tier ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TierEnd {
    /// `retired` instructions retired (all of the block, or up to a taken branch or a
    /// jump); continue at `pc`.
    Next {
        /// Instructions retired.
        retired: u64,
        /// The next `pc`.
        pc: u64,
    },
    /// `retired` instructions retired (all but the block's last); the last, at `pc`, is to
    /// run through the interpreter's general path.
    Single {
        /// Instructions retired.
        retired: u64,
        /// The `pc` of the block's last instruction.
        pc: u64,
    },
}

/// A faster tier for decoded blocks (see the module docs).
pub trait BlockTier {
    /// Runs the checked block `block` on the integer register file `regs` (slots 0..=31
    /// are x0..x31, x0 always 0; writes to x0 go to slot 32; RV32 values are kept
    /// zero-extended), retiring at most `left` instructions, or returns `None` to leave it
    /// to the interpreter (then `regs` must be unchanged).
    fn run_block(
        &mut self,
        block: BlockRef<'_>,
        regs: &mut [u64; 256],
        left: u64,
    ) -> Option<TierEnd>;
}

/// The interpreter alone: declines every block.
#[derive(Clone, Copy, Debug, Default)]
pub struct Interp;

impl BlockTier for Interp {
    #[inline(always)]
    fn run_block(&mut self, _: BlockRef<'_>, _: &mut [u64; 256], _: u64) -> Option<TierEnd> {
        None
    }
}

/// One decoded instruction of a block, as a tier sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockInsn {
    /// The operation.
    pub op: Op,
    /// Destination register slot (32 for none or x0).
    pub rd: u8,
    /// First source register.
    pub rs1: u8,
    /// Second source register.
    pub rs2: u8,
    /// The sign-extended immediate (the shift amount for shifts).
    pub imm: i32,
    /// Byte offset of this instruction from the block's `pc`.
    pub offset: u8,
}

/// A checked decoded block (read-only).
#[derive(Clone, Copy)]
pub struct BlockRef<'a> {
    pub(super) block: &'a Block,
    pub(super) pool_index: usize,
}

impl<'a> BlockRef<'a> {
    /// The virtual `pc` of its first instruction.
    #[inline(always)]
    pub fn pc(&self) -> u64 {
        self.block.pc
    }

    /// Its slot in the hart's block pool (below [`BLOCK_POOL`](super::BLOCK_POOL)).
    #[inline(always)]
    pub fn pool_index(&self) -> usize {
        self.pool_index
    }

    /// A number that changes (never repeats, for one hart) whenever the pool slot is
    /// decoded again: a translation made from a block with this serial is valid exactly as
    /// long as the block in the slot has it.
    #[inline(always)]
    pub fn serial(&self) -> u64 {
        self.block.serial
    }

    /// How many instructions it has (1 to [`BLOCK_INSNS`](super::BLOCK_INSNS)).
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.block.count as usize
    }

    /// Whether it has no instructions (never, for a checked block).
    pub fn is_empty(&self) -> bool {
        self.block.count == 0
    }

    /// Instruction `i` (`i < len()`).
    pub fn insn(&self, i: usize) -> BlockInsn {
        let u = self.block.insns[i];
        BlockInsn {
            op: u.op,
            rd: u.rd,
            rs1: u.rs1,
            rs2: u.rs2,
            imm: u.imm,
            offset: self.block.offs[i],
        }
    }

    /// The block's length in bytes (the offset just past its last instruction).
    pub fn byte_len(&self) -> u8 {
        self.block.offs[self.len()]
    }
}
