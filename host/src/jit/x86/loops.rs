//! Loops of one block (a block that jumps to its own start): how many copies of its body
//! the translator emits between boundary checks ([`unrolled`]), and what each copy is.

use super::*;

/// Most copies of an unrolled loop's body ([`unrolled`]).
const MAX_COPIES: usize = 4;

/// Most instructions an unrolled loop runs between its boundary checks ([`unrolled`]).
const MAX_ROOM: usize = 64;

/// How many copies of its body `block` runs between boundary checks, and how many
/// instructions that is at most (its *room*). A block all of whose instructions are
/// translated and that jumps to its own start from one place (a loop of one block) runs up to
/// [`MAX_COPIES`] copies in at most [`MAX_ROOM`] instructions: a jump to its start goes
/// straight on to the next copy, and only the last copy's makes the boundary checks,
/// with a budget test for the room (as for a longer block: interrupts and DMA are
/// tested once per room instead of per [`BLOCK_INSNS`]). Entered from Rust with less
/// budget than the room, it runs a lone copy emitted after the others, a loop of its own
/// whose jump back tests the budget for one copy (so a loop ending a time slice still
/// runs in one call, not one call per copy, which would have it given back); entered
/// from another
/// block (whose exit tested for `BLOCK_INSNS`) with a room above that, it tests the
/// budget for its room first. Every other block: one copy, `BLOCK_INSNS`.
pub(super) fn unrolled(block: BlockRef<'_>, rv32: bool) -> (usize, usize, usize) {
    let n = block.len();
    let one = (1, n, BLOCK_INSNS);
    let jumps = jumps_to_start(block, rv32);
    let [q] = jumps[..] else {
        return one;
    };
    if !(0..n).all(|i| translates(block.insn(i).op, rv32)) || n >= MAX_ROOM {
        return one;
    }
    // A copy but the last runs its instructions up to the jump to the start (so the
    // instructions retired before copy j are j * per).
    let per = q + 1;
    let copies = ((MAX_ROOM - n) / per + 1).min(MAX_COPIES);
    if copies < 2 {
        return one;
    }
    (copies, per, (copies - 1) * per + n)
}

/// The indices of `block`'s branches and `jal`s that go to its own start.
pub(super) fn jumps_to_start(block: BlockRef<'_>, rv32: bool) -> Vec<usize> {
    let m: u64 = if rv32 { 0xffff_ffff } else { u64::MAX };
    let pc0 = block.pc();
    (0..block.len())
        .filter(|&i| {
            let u = block.insn(i);
            let at = pc0.wrapping_add(u.offset as u64) & m;
            matches!(
                u.op,
                Op::Jal | Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
            ) && at.wrapping_add(u.imm as i64 as u64) & m == pc0
        })
        .collect()
}

/// One copy of a block's body ([`unrolled`]): where it starts, the block's instructions
/// run before it, where its jumps to the block's start go straight on (the next copy),
/// else where they go after the boundary checks and the room those test the budget for.
pub(super) type BodyCopy = (
    DynamicLabel,
    usize,
    Option<DynamicLabel>,
    (DynamicLabel, i32),
);
