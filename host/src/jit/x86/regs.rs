//! Guest registers in host registers within a block (see the parent's docs): which
//! registers a block caches, and loading, using and storing them back.

use super::*;

/// Host register numbers (dynasm's `Rq(n)`).
pub(super) const RAX: u8 = 0;
pub(super) const RCX: u8 = 1;
pub(super) const RDX: u8 = 2;
pub(super) const R9: u8 = 9;
pub(super) const R11: u8 = 11;

/// The host registers that hold guest registers within a block (callee-saved: the
/// prologue saves them): `rbx`, `r12`–`r15`.
pub(super) const CACHE_REGS: [u8; 5] = [3, 12, 13, 14, 15];

/// The index of host register `h` in [`CACHE_REGS`].
fn home_index(h: u8) -> usize {
    CACHE_REGS.iter().position(|&x| x == h).unwrap_or(0)
}

/// Which guest registers a block keeps in host registers ([`CACHE_REGS`]): those it
/// uses at least twice, most used first, a use past `k` conditional branches of the
/// block counting `1 / 2^k` (each may leave the block: a register used only past them
/// is loaded at the chain entry and stored back at exits the block mostly takes before
/// the uses; it is read and written in the register file where it is used instead). Each is loaded at the block's chain entry and,
/// when the block writes it, stored back at every exit (the direct and indirect exits
/// before their boundary checks, the returns to the interpreter before an instruction);
/// an instruction the cached forms do not cover reads its cached sources from memory
/// after storing them there.
pub(super) struct Cache {
    /// The host register of each guest register slot (0 for none: slot 0 is `x0`,
    /// never cached).
    pub(super) host: [u8; 33],
    /// (guest slot, host register) of every cached register.
    pub(super) all: Vec<(u8, u8)>,
    /// Those the block writes (stored back at its exits).
    pub(super) written: Vec<(u8, u8)>,
    /// For each guest register slot the block writes before it reads it (not loaded at
    /// the chain entry: the load would be dead), the index of the instruction that
    /// writes it first: before that it holds nothing of the guest's, so an exit before
    /// it neither stores it back nor names it in its map ([`Cache::write_back`],
    /// [`Cache::map`]).
    pub(super) born: [Option<usize>; 33],
    /// For each guest register slot a block that never jumps back to its own start
    /// writes, the index of the instruction that writes it first: an exit before that
    /// has nothing of it to store back ([`Cache::write_back`]). `None` for the others
    /// (and for every register of a block that jumps back to its start, where a write of
    /// an earlier run is still to be stored).
    pub(super) dirty: [Option<usize>; 33],
}

/// The weight of a use of a register before any conditional branch of its block
/// ([`Cache::choose`]).
const USE_WEIGHT: u32 = 1024;

/// Whether `op` is a conditional branch.
fn is_branch(op: Op) -> bool {
    matches!(
        op,
        Op::Beq | Op::Bne | Op::Blt | Op::Bge | Op::Bltu | Op::Bgeu
    )
}

/// Which of `rs1`, `rs2`, `rd` instruction `op` reads and writes.
pub(super) fn operands(op: Op) -> (bool, bool, bool) {
    use Op::*;
    match op {
        Lui | Auipc | Jal => (false, false, true),
        Beq | Bne | Blt | Bge | Bltu | Bgeu => (true, true, false),
        Sb | Sh | Sw | Sd => (true, true, false),
        Jalr | Lb | Lh | Lw | Lbu | Lhu | Lwu | Ld | Addi | Slti | Sltiu | Xori | Ori | Andi
        | Slli | Srli | Srai | Addiw | Slliw | Srliw | Sraiw => (true, false, true),
        _ => (true, true, true),
    }
}

impl Cache {
    /// The registers to cache in `block` (its translated instructions). With `fresh`
    /// (a block that never jumps back to its own start, so each instruction runs at most
    /// once between the chain entry and an exit), those it writes before reading are
    /// not loaded ([`Cache::born`]).
    pub(super) fn choose(block: BlockRef<'_>, rv32: bool, fresh: bool) -> Cache {
        let mut uses = [0u32; 33];
        let mut writes = [false; 33];
        // Registers read or written so far, and the first write of those written first.
        let mut seen = [false; 33];
        let mut first_write: [Option<usize>; 33] = [None; 33];
        let mut dirty: [Option<usize>; 33] = [None; 33];
        // The weight of a use: halved past each conditional branch.
        let mut weight = USE_WEIGHT;
        for i in 0..block.len() {
            let u = block.insn(i);
            if !translates(u.op, rv32) {
                break;
            }
            let (r1, r2, w) = operands(u.op);
            if r1 {
                uses[u.rs1 as usize & 31] += weight;
                seen[u.rs1 as usize & 31] = true;
            }
            if r2 {
                uses[u.rs2 as usize & 31] += weight;
                seen[u.rs2 as usize & 31] = true;
            }
            if w && (1..32).contains(&u.rd) {
                uses[u.rd as usize] += weight;
                writes[u.rd as usize] = true;
                dirty[u.rd as usize].get_or_insert(i);
                if !seen[u.rd as usize] {
                    seen[u.rd as usize] = true;
                    first_write[u.rd as usize] = Some(i);
                }
            }
            if is_branch(u.op) {
                weight = (weight / 2).max(1);
            }
        }
        let mut regs: Vec<u8> = (1..32u8)
            .filter(|&r| uses[r as usize] >= 2 * USE_WEIGHT)
            .collect();
        regs.sort_by_key(|&r| (std::cmp::Reverse(uses[r as usize]), r));
        regs.truncate(CACHE_REGS.len());
        // Each in its home register when free (so that blocks caching the same guest
        // registers mostly hold them in the same host registers: `Cache::map`), the
        // others in the free ones, in order.
        let mut at: [Option<u8>; CACHE_REGS.len()] = [None; CACHE_REGS.len()];
        let mut rest = Vec::new();
        for &r in &regs {
            let home = r as usize % CACHE_REGS.len();
            if at[home].is_none() {
                at[home] = Some(r);
            } else {
                rest.push(r);
            }
        }
        for r in rest {
            if let Some(free) = at.iter_mut().find(|a| a.is_none()) {
                *free = Some(r);
            }
        }
        let mut c = Cache {
            host: [0; 33],
            all: Vec::new(),
            written: Vec::new(),
            born: [None; 33],
            dirty: [None; 33],
        };
        for (a, &h) in at.iter().zip(CACHE_REGS.iter()) {
            let Some(r) = *a else { continue };
            c.host[r as usize] = h;
            c.all.push((r, h));
            if writes[r as usize] {
                c.written.push((r, h));
            }
            if fresh {
                c.born[r as usize] = first_write[r as usize];
                c.dirty[r as usize] = dirty[r as usize];
            }
        }
        c
    }

    /// Which guest register each host register of [`CACHE_REGS`] holds: field `j` (bits
    /// `6j` to `6j + 4`, bit `6j + 5` clear) the guest register in `CACHE_REGS[j]`, 0 for
    /// none. A block entered past the loads of its fields below `j` (`translate`'s warm
    /// entries) from an exit whose map agrees with its own in every field below `j` it
    /// uses finds those registers already loaded.
    /// At an exit after `done` instructions of the block (a direct exit's link compares
    /// it) only the registers that hold their guest value there are named
    /// ([`Cache::born`]); the block's warm word names them all (`done` = `usize::MAX`).
    pub(super) fn map(&self, done: usize) -> u32 {
        let mut map = 0;
        for &(r, h) in &self.all {
            if self.holds(r, done) {
                map |= (r as u32 & 0x1f) << (6 * home_index(h));
            }
        }
        map
    }

    /// Whether cached register `r` holds its guest value after `done` instructions of the
    /// block: loaded at the chain entry, or written by then ([`Cache::born`]).
    fn holds(&self, r: u8, done: usize) -> bool {
        self.born[r as usize].is_none_or(|k| k < done)
    }

    /// The host register of guest register slot `r`, if cached.
    pub(super) fn of(&self, r: u8) -> Option<u8> {
        match self.host.get(r as usize) {
            Some(&h) if h != 0 => Some(h),
            _ => None,
        }
    }

    /// Whether instruction `u` names a cached register.
    pub(super) fn any(&self, u: &BlockInsn) -> bool {
        self.of(u.rs1).is_some() || self.of(u.rs2).is_some() || self.of(u.rd).is_some()
    }

    /// Loads the cached registers (at the chain entry; not those written first,
    /// [`Cache::born`]), in the order of
    /// [`CACHE_REGS`]; returns, for each `j` up to 5, how many bytes into the loads the
    /// first load of a host register `CACHE_REGS[j..]` starts (the end of the loads for
    /// `j` = 5, or when there is none).
    pub(super) fn load(&self, ops: &mut Asm) -> [usize; CACHE_REGS.len() + 1] {
        let start = ops.offset().0;
        let mut skip = [0; CACHE_REGS.len() + 1];
        let mut j = 0;
        for &(r, h) in &self.all {
            while j <= home_index(h) {
                skip[j] = ops.offset().0 - start;
                j += 1;
            }
            if self.born[r as usize].is_none() {
                dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD [rdi + slot(r)]);
            }
        }
        for s in &mut skip[j..] {
            *s = ops.offset().0 - start;
        }
        skip
    }

    /// Stores the written cached registers back to the register file, at an exit after
    /// `done` instructions of the block: those written by then ([`Cache::dirty`]; every
    /// written one in a block that jumps back to its start), which also hold their guest
    /// value there ([`Cache::born`]). One not yet written holds what its chain entry
    /// loaded, or what a warm link brought, which the exit before stored (every exit
    /// leaves the register file up to date).
    pub(super) fn write_back(&self, ops: &mut Asm, done: usize) {
        for &(r, h) in &self.written {
            if self.holds(r, done) && self.dirty[r as usize].is_none_or(|k| k < done) {
                dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(r)], Rq(h));
            }
        }
    }

    /// Stores cached register `r` to its slot (before a memory-form operation reads it).
    pub(super) fn spill(&self, ops: &mut Asm, r: u8) {
        if let Some(h) = self.of(r) {
            dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(r)], Rq(h));
        }
    }

    /// The host register holding guest register `r`: its cache register, or `scratch`
    /// loaded from the register file (cleared for `x0`: no load).
    pub(super) fn get(&self, ops: &mut Asm, r: u8, scratch: u8, rv32: bool) -> u8 {
        if let Some(h) = self.of(r) {
            return h;
        }
        if r == 0 {
            dynasm!(ops ; .arch x64 ; xor Rd(scratch), Rd(scratch));
            return scratch;
        }
        if rv32 {
            dynasm!(ops ; .arch x64 ; mov Rd(scratch), DWORD [rdi + slot(r)]);
        } else {
            dynasm!(ops ; .arch x64 ; mov Rq(scratch), QWORD [rdi + slot(r)]);
        }
        scratch
    }

    /// Writes host register `from` to guest register slot `rd` (slot 32, `x0`'s sink,
    /// is never cached).
    pub(super) fn put(&self, ops: &mut Asm, rd: u8, from: u8) {
        match self.of(rd) {
            Some(h) => {
                if h != from {
                    dynasm!(ops ; .arch x64 ; mov Rq(h), Rq(from));
                }
            }
            None => dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(rd)], Rq(from)),
        }
    }
}
