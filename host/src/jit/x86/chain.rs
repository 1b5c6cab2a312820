//! The jump cache and the link log that generated code reads and writes (its address in
//! the frame):
//! [`Chain`], its entries and its field offsets (see the parent's docs, "Chaining and
//! direct links").

/// Entries of the jump cache (a power of two).
pub const JUMP_CACHE: usize = 4096;

/// One jump-cache entry: the code of the block at `pc`, valid while `seq` is the tier's
/// current [`Chain::seq`].
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct JumpEntry {
    /// The guest `pc` (1: none; `pc`s are even).
    pub pc: u64,
    /// The sequence number it was made in (0: never).
    pub seq: u64,
    /// The host address of the block's chain entry.
    pub code: u64,
    _pad: u64,
}

impl JumpEntry {
    /// The entry for the block at `pc` whose chain entry is at host address `code`, made
    /// in sequence `seq`.
    pub fn new(pc: u64, seq: u64, code: u64) -> JumpEntry {
        JumpEntry {
            pc,
            seq,
            code,
            _pad: 0,
        }
    }
}

/// Entries of the link log ([`Chain::log`]): links made in one sequence beyond it are
/// not made (those exits keep looking their successor up in the jump cache).
pub const LINK_LOG: usize = 4096;

/// The jump cache that generated code reads (its address in the frame): direct-mapped by `(pc >> 1) %
/// JUMP_CACHE`. `seq` names the current code epoch *and* code-cache generation: it moves
/// on whenever either changes (see `Jit`), so one compare says the entry's block was
/// offered by the run loop in this epoch and its code is still in the cache.
///
/// It also carries the link slots' address (`links`, set by the tier before each call)
/// and the log of the slots that generated code linked in the current sequence
/// (`log[..log_len]`, each the host address of a slot), which the tier unlinks when the
/// sequence moves on (module docs of `super`).
#[repr(C)]
pub struct Chain {
    /// The current sequence number (never 0).
    pub seq: u64,
    /// The link slots (one `u64` host code address per direct exit; see `super`).
    pub links: *mut u64,
    /// How many entries of `log` are in use (at most [`LINK_LOG`]).
    pub log_len: u64,
    /// Loads and stores that missed their memo and looked their page up in the TLB
    /// (`mem`'s docs), counted by generated code over the tier's life.
    pub lookups: u64,
    /// Loads and stores that missed the TLB's fast view and looked up the TLB entry
    /// itself (`mem`'s docs), counted by generated code over the tier's life.
    pub fast_misses: u64,
    /// Host lines stores tested in the code-line filter (`mem`'s docs: only behind a
    /// fast-view miss), counted by generated code over the tier's life.
    pub line_checks: u64,
    /// Links made to a successor's warm entry (past the loads of its cached registers:
    /// the exit's host registers already hold them; see `super`'s docs), counted by
    /// generated code over the tier's life.
    pub warm_links: u64,
    /// The entries.
    pub entries: [JumpEntry; JUMP_CACHE],
    /// The slots linked in this sequence (their host addresses).
    pub log: [u64; LINK_LOG],
}

impl Chain {
    /// An empty jump cache, boxed (160 KiB).
    pub fn new() -> Box<Chain> {
        Box::new(Chain {
            seq: 1,
            links: std::ptr::null_mut(),
            log_len: 0,
            lookups: 0,
            fast_misses: 0,
            line_checks: 0,
            warm_links: 0,
            entries: [JumpEntry {
                pc: 1,
                ..JumpEntry::default()
            }; JUMP_CACHE],
            log: [0; LINK_LOG],
        })
    }

    /// The entry slot for `pc`.
    pub fn index(pc: u64) -> usize {
        (pc >> 1) as usize & (JUMP_CACHE - 1)
    }
}

/// Offset of the entries in [`Chain`].
pub(super) const CHAIN_ENTRIES: i32 = std::mem::offset_of!(Chain, entries) as i32;
pub(super) const CHAIN_SEQ: i32 = std::mem::offset_of!(Chain, seq) as i32;
pub(super) const CHAIN_LINKS: i32 = std::mem::offset_of!(Chain, links) as i32;
pub(super) const CHAIN_LOG_LEN: i32 = std::mem::offset_of!(Chain, log_len) as i32;
pub(super) const CHAIN_LOG: i32 = std::mem::offset_of!(Chain, log) as i32;
pub(super) const CHAIN_LOOKUPS: i32 = std::mem::offset_of!(Chain, lookups) as i32;
pub(super) const CHAIN_FAST_MISSES: i32 = std::mem::offset_of!(Chain, fast_misses) as i32;
pub(super) const CHAIN_LINE_CHECKS: i32 = std::mem::offset_of!(Chain, line_checks) as i32;
pub(super) const CHAIN_WARM: i32 = std::mem::offset_of!(Chain, warm_links) as i32;
