//! How a block is entered and left: the prologue (the entry from Rust), the run loop's
//! boundary checks at every exit (the budget, and one test of the interrupt word for
//! interrupts, stops and writes behind the hart's back), the exit back to the block's own
//! start (`loop_back`),
//! direct exits through link slots (`direct_exit`, chosen by [`Exits::to`]), the register
//! map before each chain entry that warm links compare ([`WarmWord`]), and the block's
//! shared tail (the jump-cache lookups, the returns by kind, the epilogue). The calling
//! convention and the registers' roles are the parent module's docs.

use super::*;

/// The labels every exit of a block may jump to (emitted once per block by
/// [`shared_tail`]).
pub(super) struct Tail {
    /// A boundary check failed: return with that kind (`rax` = next `pc`).
    pub(super) budget: DynamicLabel,
    pub(super) interrupt: DynamicLabel,
    pub(super) dma: DynamicLabel,
    /// The word check of [`boundary_checks`] failed (`rax` = next `pc`): an interrupt or
    /// a stop when the word has a bit of `int_mask`, else a write behind the hart's back
    /// (DMA); returns with that kind. (An interrupt lowered in between is counted as DMA:
    /// the kind is only a statistic, and any return to the run loop is right.)
    pub(super) word: DynamicLabel,
    /// A check of [`boundary_checks`] for a room of [`BLOCK_INSNS`] failed (`rax` = next
    /// `pc`): finds which again (the budget, else [`Tail::word`]) and returns with that
    /// kind.
    pub(super) which: DynamicLabel,
    /// The jump-cache lookup that links the slot at `rdx` on a hit.
    pub(super) lookup_link: DynamicLabel,
    /// The jump-cache lookup alone (`jalr`).
    pub(super) lookup: DynamicLabel,
    /// Restores the callee-saved registers and returns `rax`, `rdx`.
    pub(super) epilogue: DynamicLabel,
}

/// Where failed boundary checks go, by kind: the budget, the interrupt word.
pub(super) type Fails = [DynamicLabel; 2];

/// The run loop's checks at a block boundary, in the registers the prologue loaded,
/// after `retired` more instructions (the leaving block's, counted into `r8` first),
/// for a next block that may run `room` instructions before its own checks
/// ([`BLOCK_INSNS`], or an unrolled loop's room, [`unrolled`]). Leaves through `fail`'s
/// labels when one fails.
pub(super) fn boundary_checks(ops: &mut Asm, retired: i32, room: i32, [budget, word]: Fails) {
    count_and_check(ops, retired, room, budget);
    word_check(ops, word);
}

/// `retired` instructions counted into `r8`, and the budget check of
/// [`boundary_checks`]: `r8` counts from minus the prologue's [`LIMIT`], so for a room
/// of [`BLOCK_INSNS`] the count's own `add` sets the flags the check takes (above 0:
/// too little budget left); for another room, `r8` against an immediate
/// ([`room_check`]).
fn count_and_check(ops: &mut Asm, retired: i32, room: i32, budget: DynamicLabel) {
    dynasm!(ops ; .arch x64 ; add r8, retired);
    if room == BLOCK_INSNS as i32 {
        dynasm!(ops ; .arch x64 ; jg =>budget);
    } else {
        room_check(ops, room, budget);
    }
}

/// The budget test for a next stretch of `room` instructions: `count + room > left`.
/// With `r8 = count - LIMIT` and [`LIMIT`] `= left - BLOCK_INSNS` (never saturated:
/// negative when less is left), that is `r8 > BLOCK_INSNS - room`, one compare with an
/// immediate.
pub(super) fn room_check(ops: &mut Asm, room: i32, budget: DynamicLabel) {
    dynasm!(ops
        ; .arch x64
        ; cmp r8, BLOCK_INSNS as i32 - room
        ; jg =>budget
    );
}

/// The word check of [`boundary_checks`]: `*pending & exit_mask`, the run loop's
/// interrupt check (`(pending | mip_sw) & int_mask`, with `mip_sw & int_mask` 0: the tier
/// declines the block otherwise) and its DMA count check in one, the memory setting a
/// bit of the word at every write behind the hart's back (`TierCtx::exit_mask`; the
/// ordering argument is in `fief_core::cpu::riscv::tier`'s docs). The word's address is
/// in `r11` and the mask in `r10d` (the prologue's): one instruction and its jump.
fn word_check(ops: &mut Asm, word: DynamicLabel) {
    dynasm!(ops
        ; .arch x64
        ; test DWORD [r11], r10d
        ; jnz =>word
    );
}

/// `rax` = `target`, the next `pc` (only where the code leaves: the fast paths do not
/// need it).
pub(super) fn set_pc(ops: &mut Asm, target: u64, rv32: bool) {
    if rv32 {
        dynasm!(ops ; .arch x64 ; mov eax, target as u32 as i32);
    } else {
        dynasm!(ops ; .arch x64 ; mov rax, QWORD target as i64);
    }
}

/// An exit to the block's own start after `retired` instructions of it (`target` its
/// `pc`): the count in `r8`, the boundary checks for `room`, and a jump to `body` with
/// the cached registers still in place; they are stored back only on the paths where a
/// check fails and the code returns (with `rax` = `target`).
#[allow(clippy::too_many_arguments)]
pub(super) fn loop_back(
    ops: &mut Asm,
    t: &Tail,
    c: &Cache,
    target: u64,
    retired: i32,
    rv32: bool,
    (body, room): (DynamicLabel, i32),
) {
    let fail = [ops.new_dynamic_label(), ops.new_dynamic_label()];
    boundary_checks(ops, retired, room, fail);
    dynasm!(ops ; .arch x64 ; jmp =>body);
    for (l, to) in fail.into_iter().zip([t.budget, t.word]) {
        dynasm!(ops ; .arch x64 ; =>l);
        c.write_back(ops, usize::MAX);
        set_pc(ops, target, rv32);
        dynasm!(ops ; .arch x64 ; jmp =>to);
    }
}

/// A direct exit to the known `target` after `retired` instructions of the block: the
/// cached registers stored back, the count in `r8`, the boundary checks, and the jump
/// through link slot `slot`
/// (its unlinked code's offset is pushed to `unlinked`). `rax` is set to `target` only
/// behind the jump: where a check failed (one label for all, [`Tail::which`] tells
/// which) and in the unlinked code.
#[allow(clippy::too_many_arguments)]
pub(super) fn direct_exit(
    ops: &mut Asm,
    t: &Tail,
    c: &Cache,
    target: u64,
    retired: i32,
    slot: usize,
    rv32: bool,
    unlinked: &mut Vec<usize>,
) {
    let map = c.map(retired as usize);
    c.write_back(ops, retired as usize);
    let fail = ops.new_dynamic_label();
    boundary_checks(ops, retired, BLOCK_INSNS as i32, [fail; 2]);
    let disp = 8 * slot as i32;
    dynasm!(ops ; .arch x64 ; jmp QWORD [rbp + disp]);
    unlinked.push(ops.offset().0);
    set_pc(ops, target, rv32);
    dynasm!(ops
        ; .arch x64
        ; mov r10d, map as i32
        ; lea rdx, [rbp + disp]
        ; jmp =>t.lookup_link
        ; =>fail
    );
    set_pc(ops, target, rv32);
    dynasm!(ops ; .arch x64 ; jmp =>t.which);
}

/// Where a block's exits to known `pc`s go (the block's start `pc0`, its link slots from
/// `next_slot` with their unlinked code's offsets in `unlinked`): [`Exits::to`].
pub(super) struct Exits<'a> {
    pub(super) t: &'a Tail,
    pub(super) c: &'a Cache,
    pub(super) rv32: bool,
    pub(super) pc0: u64,
    pub(super) next_slot: usize,
    pub(super) unlinked: Vec<usize>,
}

impl Exits<'_> {
    /// An exit to `target` after `retired` instructions of the block: to the block's own
    /// start, the boundary checks for `home` (the body's label and room) and straight
    /// back ([`loop_back`]); elsewhere a direct exit through the next link
    /// slot ([`direct_exit`]).
    ///
    /// Every exit makes both checks, forward ones too: the budget ends the slice
    /// exactly, and the guest may learn of a DMA write through RAM (a flag the device
    /// writes after the data) and jump forward into the code that DMA wrote, which must
    /// not run stale; the interrupt word's one test covers that write and interrupts.
    pub(super) fn to(
        &mut self,
        ops: &mut Asm,
        target: u64,
        retired: i32,
        home: (DynamicLabel, i32),
    ) {
        if target == self.pc0 {
            loop_back(ops, self.t, self.c, target, retired, self.rv32, home);
            return;
        }
        direct_exit(
            ops,
            self.t,
            self.c,
            target,
            retired,
            self.next_slot,
            self.rv32,
            &mut self.unlinked,
        );
        self.next_slot += 1;
    }
}

/// The 8 bytes just before a block's chain entry (jumped over by its prologue): what an
/// exit needs to know to link to one of its warm entries. Bits 0 to 29: the block's
/// register map ([`Cache::map`]); bits `24 + 6j` to `29 + 6j` for `j` 1 to 5: how far
/// past the chain entry its loads of `CACHE_REGS[j..]` start (`j` = 5: past all its
/// loads). An exit whose map agrees with it in every field it uses below `j` (and
/// differs in field `j`) may enter there.
pub(super) struct WarmWord(pub(super) u64);

/// The fields of a register map ([`Cache::map`]): 0x1f in each, and the guard bit above
/// each.
pub(super) const MAP_LOWS: i32 = 0x1f7d_f7df;
pub(super) const MAP_GUARDS: i32 = 0x2082_0820;

impl WarmWord {
    /// The word of a block caching `c`, its loads starting at the offsets `skip` past its
    /// chain entry ([`Cache::load`]).
    pub(super) fn new(c: &Cache, skip: [usize; 6]) -> WarmWord {
        let mut w = c.map(usize::MAX) as u64;
        for (j, &s) in skip.iter().enumerate().skip(1) {
            // At most five loads of at most 7 bytes.
            assert!(s < 64, "{s} bytes of loads");
            w |= (s as u64) << (24 + 6 * j);
        }
        WarmWord(w)
    }
}

/// The entry from Rust: saves the callee-saved registers and loads what the boundary
/// checks and links use (module docs).
pub(super) fn prologue(ops: &mut Asm) {
    dynasm!(ops
        ; .arch x64
        ; push rbx
        ; push rbp
        ; push r12
        ; push r13
        ; push r14
        ; push r15
        ; sub rsp, STACK
    );
    mem::clear_memos(ops);
    dynasm!(ops
        ; .arch x64
        ; mov QWORD [rsp + CHAIN_AT], rdx
        ; mov rbp, QWORD [rdx + CHAIN_LINKS]
        ; mov r11, QWORD [rsi + CTX_PENDING]
        ; mov r10d, DWORD [rsi + CTX_EXIT_MASK]
        // The budget limit: left - BLOCK_INSNS (negative when less is left); the count
        // from minus the limit.
        ; mov r8, QWORD [rsi + CTX_LEFT]
        ; sub r8, BLOCK_INSNS as i32
        ; mov QWORD [rsp + LIMIT], r8
        ; neg r8
    );
}

/// The jump-cache probe for the next `pc` in `rax`: the [`Chain`]'s address (from the
/// frame) into `chain`, the entry at `chain + rcx + CHAIN_ENTRIES`, on to `miss` when
/// the entry is another `pc`'s and to `stale` when it was made in another sequence;
/// else on with `rcx` indexing the entry (`scratch` clobbered). The index `((pc >> 1) %
/// JUMP_CACHE) * 32` ([`Chain::index`]) is computed as `(pc & jmask) * 16`.
#[inline(always)]
fn probe(ops: &mut Asm, (chain, scratch): (u8, u8), miss: DynamicLabel, stale: DynamicLabel) {
    let jmask = ((JUMP_CACHE - 1) << 1) as i32;
    debug_assert_eq!(std::mem::size_of::<JumpEntry>(), 32);
    dynasm!(ops
        ; .arch x64
        ; mov Rq(chain), QWORD [rsp + CHAIN_AT]
        ; mov ecx, eax
        ; and ecx, jmask
        ; shl ecx, 4
        ; cmp rax, QWORD [Rq(chain) + rcx + CHAIN_ENTRIES]
        ; jne =>miss
        ; mov Rq(scratch), QWORD [Rq(chain) + CHAIN_SEQ]
        ; cmp Rq(scratch), QWORD [Rq(chain) + rcx + CHAIN_ENTRIES + 8]
        ; jne =>stale
    );
}

/// The block's shared exits: the jump-cache lookups (`rax` = next `pc`, [`probe`]), the
/// returns with a kind, and the epilogue.
pub(super) fn shared_tail(ops: &mut Asm, t: &Tail) {
    let miss = ops.new_dynamic_label();
    let stale = ops.new_dynamic_label();
    let out = ops.new_dynamic_label();
    let go = ops.new_dynamic_label();
    let all_warm = ops.new_dynamic_label();
    let warm_found = ops.new_dynamic_label();
    let entry_found = ops.new_dynamic_label();
    dynasm!(ops
        ; .arch x64
        // The jump cache: this pc, offered in this sequence; then the slot at rdx is
        // linked to it (logged, so the tier unlinks it when the sequence moves on),
        // unless the log is full.
        // (r11 holds the chain here and the interrupt word's address again at `go`.)
        ; =>t.lookup_link
    );
    probe(ops, (R11, R9), miss, stale);
    dynasm!(ops
        ; .arch x64
        ; mov rax, QWORD [r11 + rcx + CHAIN_ENTRIES + 16]
        // The successor's warm word (`WarmWord`, just before its chain entry): its
        // entry past the loads of the fields it uses below the first where the exit's
        // map (r10d) differs, past all of them when none does.
        ; mov r9, QWORD [rax - 8]
        ; mov ecx, r9d
        ; and ecx, 0x3fff_ffff
        ; xor r10d, ecx
        // The fields the successor uses: 0x1f in each nonzero one.
        ; add ecx, MAP_LOWS
        ; and ecx, MAP_GUARDS
        ; shr ecx, 5
        ; imul ecx, ecx, 31
        ; and r10d, ecx
        ; jz =>all_warm
        // The first field that differs: its lowest bit / 6 (bits below 30).
        ; bsf ecx, r10d
        ; imul ecx, ecx, 43
        ; shr ecx, 8
        ; jz =>entry_found
        ; lea ecx, [rcx + rcx * 2]
        ; lea ecx, [rcx * 2 + 24]
        ; shr r9, cl
        ; jmp =>warm_found
        ; =>all_warm
        ; shr r9, 54
        ; =>warm_found
        ; and r9d, 63
        ; add rax, r9
        ; add QWORD [r11 + CHAIN_WARM], 1
        ; =>entry_found
        ; mov rcx, rax
        ; mov r9, QWORD [r11 + CHAIN_LOG_LEN]
        ; cmp r9, LINK_LOG as i32
        ; jae =>go
        ; mov QWORD [rdx], rcx
        ; mov QWORD [r11 + r9 * 8 + CHAIN_LOG], rdx
        ; add r9, 1
        ; mov QWORD [r11 + CHAIN_LOG_LEN], r9
        ; =>go
        // r10 held the exit's map, r11 the chain: the exit mask and the interrupt word's
        // address again.
        ; mov r10d, DWORD [rsi + CTX_EXIT_MASK]
        ; mov r11, QWORD [rsi + CTX_PENDING]
        ; jmp rcx
        ; =>t.lookup
    );
    probe(ops, (R9, RDX), miss, stale);
    dynasm!(ops
        ; .arch x64
        ; jmp QWORD [r9 + rcx + CHAIN_ENTRIES + 16]
        // Returns: the kind in edx, then the retired count below it.
        ; =>t.budget
        ; mov edx, ExitKind::Budget as i32
        ; jmp =>out
        ; =>t.interrupt
        ; mov edx, ExitKind::Interrupt as i32
        ; jmp =>out
        ; =>t.dma
        ; mov edx, ExitKind::Dma as i32
        ; jmp =>out
        ; =>t.which
        ; test r8, r8
        ; jg =>t.budget
        ; =>t.word
        ; mov ecx, DWORD [r11]
        ; test ecx, DWORD [rsi + CTX_INT_MASK]
        ; jnz =>t.interrupt
        ; jmp =>t.dma
        ; =>stale
        ; mov edx, ExitKind::ChainStale as i32
        ; jmp =>out
        ; =>miss
        ; mov edx, ExitKind::ChainMiss as i32
        ; =>out
        ; shl rdx, KIND_SHIFT as i8
        ; add rdx, r8
        ; add rdx, QWORD [rsp + LIMIT]
        ; =>t.epilogue
        ; add rsp, STACK
        ; pop r15
        ; pop r14
        ; pop r13
        ; pop r12
        ; pop rbp
        ; pop rbx
        ; ret
    );
}
