//! Guest registers in host registers within a block (see the parent's docs): which
//! registers a block caches, and loading, using and storing them back.

use super::*;

/// Host register numbers (dynasm's `Rq(n)`).
pub(super) const RAX: u8 = 0;
pub(super) const RCX: u8 = 1;
pub(super) const RDX: u8 = 2;

/// The host registers that hold guest registers within a block (callee-saved: the
/// prologue saves them): `rbx`, `r12`–`r15`.
pub(super) const CACHE_REGS: [u8; 5] = [3, 12, 13, 14, 15];

/// Which guest registers a block keeps in host registers ([`CACHE_REGS`]): those it
/// uses at least twice, most used first. Each is loaded at the block's chain entry and,
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
}

/// Which of `rs1`, `rs2`, `rd` instruction `op` reads and writes.
fn operands(op: Op) -> (bool, bool, bool) {
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
    /// The registers to cache in `block` (its translated instructions).
    pub(super) fn choose(block: BlockRef<'_>, rv32: bool) -> Cache {
        let mut uses = [0u32; 33];
        let mut writes = [false; 33];
        for i in 0..block.len() {
            let u = block.insn(i);
            if !translates(u.op, rv32) {
                break;
            }
            let (r1, r2, w) = operands(u.op);
            if r1 {
                uses[u.rs1 as usize & 31] += 1;
            }
            if r2 {
                uses[u.rs2 as usize & 31] += 1;
            }
            if w && (1..32).contains(&u.rd) {
                uses[u.rd as usize] += 1;
                writes[u.rd as usize] = true;
            }
        }
        let mut regs: Vec<u8> = (1..32u8).filter(|&r| uses[r as usize] >= 2).collect();
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
        };
        for (a, &h) in at.iter().zip(CACHE_REGS.iter()) {
            let Some(r) = *a else { continue };
            c.host[r as usize] = h;
            c.all.push((r, h));
            if writes[r as usize] {
                c.written.push((r, h));
            }
        }
        c
    }

    /// Which guest register each host register of [`CACHE_REGS`] holds: field `j` (bits
    /// `5j` to `5j + 4`) the guest register in `CACHE_REGS[j]`, 0 for none; and the mask
    /// of the fields in use (`0x1f` in each). A block entered at its warm entry (past its
    /// loads, `translate`) from an exit whose map agrees with its own in every field it
    /// uses finds its cached registers already loaded.
    pub(super) fn map(&self) -> (u32, u32) {
        let mut map = 0;
        let mut used = 0;
        for &(r, h) in &self.all {
            let j = CACHE_REGS.iter().position(|&x| x == h).unwrap_or(0) as u32;
            map |= (r as u32 & 0x1f) << (5 * j);
            used |= 0x1f << (5 * j);
        }
        (map, used)
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

    /// Loads the cached registers (at the chain entry).
    pub(super) fn load(&self, ops: &mut Asm) {
        for &(r, h) in &self.all {
            dynasm!(ops ; .arch x64 ; mov Rq(h), QWORD [rdi + slot(r)]);
        }
    }

    /// Stores the written cached registers back to the register file.
    pub(super) fn write_back(&self, ops: &mut Asm) {
        for &(r, h) in &self.written {
            dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(r)], Rq(h));
        }
    }

    /// Stores cached register `r` to its slot (before a memory-form operation reads it).
    pub(super) fn spill(&self, ops: &mut Asm, r: u8) {
        if let Some(h) = self.of(r) {
            dynasm!(ops ; .arch x64 ; mov QWORD [rdi + slot(r)], Rq(h));
        }
    }

    /// The host register holding guest register `r`: its cache register, or `scratch`
    /// loaded from the register file.
    pub(super) fn get(&self, ops: &mut Asm, r: u8, scratch: u8, rv32: bool) -> u8 {
        if let Some(h) = self.of(r) {
            return h;
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
