//! Physical memory protection (privileged spec 1.12, section 3.7): the 64 entries of
//! `pmpcfg0..15` / `pmpaddr0..63`, address matching (OFF, TOR, NA4, NAPOT), the lock bit,
//! and the decision for an access.
//!
//! The CSRs keep what the guest wrote ([`Csrs`](super::csr::Csrs)); every write of a PMP
//! CSR decodes the active entries into a [`Pmp`] (a short list of byte ranges) and flushes
//! the TLB. The hart consults it only where it fills a TLB entry (and on accesses to a page
//! the entries split, which are never cached), so a TLB hit costs nothing more.
//!
//! The rules, as in the specification and QEMU:
//!
//! * The lowest-numbered entry that matches any byte of an access decides it; if it does
//!   not match every byte, the access fails.
//! * M-mode accesses pass an unlocked entry whatever its R/W/X; a locked (L) entry applies
//!   to M-mode too. S- and U-mode accesses get the entry's R/W/X.
//! * No entry matches: M-mode passes; S- and U-mode fail (every entry is implemented), so a
//!   guest that runs S or U code opens an entry first, as OpenSBI does.
//! * Writes to a locked entry's `pmpcfg` byte and `pmpaddr` are ignored, and so are writes
//!   to `pmpaddr[i]` when entry `i + 1` is a locked TOR entry (its lower bound).
//! * The grain is 4 bytes (NA4 is available); R/W/X are kept as written, including the
//!   reserved W-without-R (which then allows writes but not reads, as QEMU does).
//!
//! Page-table walks are checked as S-mode reads of the PTE (and writes, for A/D updates);
//! a failure is an access fault of the access that walked.

use super::trap::Priv;

/// Entries (`pmpaddr0..63`).
pub const PMP_ENTRIES: usize = 64;

const CFG_R: u8 = 1 << 0;
const CFG_W: u8 = 1 << 1;
const CFG_X: u8 = 1 << 2;
const CFG_A_SHIFT: u8 = 3;
const CFG_L: u8 = 1 << 7;
const A_TOR: u8 = 1;
const A_NA4: u8 = 2;
const A_NAPOT: u8 = 3;

/// What an access kind may do, as R/W/X bits (`CFG_R`, `CFG_W`, `CFG_X`).
pub(super) type PmpPerms = u8;
/// Every access kind.
pub(super) const PMP_ALL: PmpPerms = CFG_R | CFG_W | CFG_X;
/// Read, for [`Pmp::check`].
pub(super) const PMP_READ: PmpPerms = CFG_R;
/// Write, for [`Pmp::check`].
pub(super) const PMP_WRITE: PmpPerms = CFG_W;
/// Execute, for [`Pmp::check`].
pub(super) const PMP_EXEC: PmpPerms = CFG_X;

/// One active entry: the bytes `[lo, hi)` it matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rule {
    lo: u64,
    hi: u64,
    perms: PmpPerms,
    locked: bool,
}

/// The decoded PMP entries of a hart (see the module docs).
#[derive(Clone, Debug)]
pub(super) struct Pmp {
    /// The active entries, in priority order (lowest entry number first).
    rules: [Rule; PMP_ENTRIES],
    count: usize,
    /// Some active entry is locked (so M-mode is checked too).
    any_locked: bool,
}

impl Pmp {
    /// No active entry.
    pub(super) const fn new() -> Pmp {
        Pmp {
            rules: [Rule {
                lo: 0,
                hi: 0,
                perms: 0,
                locked: false,
            }; PMP_ENTRIES],
            count: 0,
            any_locked: false,
        }
    }

    /// Decodes the entries from the CSR contents.
    pub(super) fn decode(cfg: &[u8; PMP_ENTRIES], addr: &[u64; PMP_ENTRIES]) -> Pmp {
        let mut pmp = Pmp::new();
        for i in 0..PMP_ENTRIES {
            let c = cfg[i];
            let (lo, hi) = match (c >> CFG_A_SHIFT) & 3 {
                A_TOR => (if i == 0 { 0 } else { addr[i - 1] << 2 }, addr[i] << 2),
                A_NA4 => (addr[i] << 2, (addr[i] << 2).saturating_add(4)),
                A_NAPOT => {
                    // NAPOT: `t` trailing ones give a 2^(t+3)-byte range.
                    let t = addr[i].trailing_ones();
                    let base = (addr[i] & !((1u64 << t.min(63)) - 1)) << 2;
                    let size = 1u64.checked_shl(t + 3).unwrap_or(0);
                    let hi = if size == 0 {
                        u64::MAX
                    } else {
                        base.saturating_add(size)
                    };
                    (base, hi)
                }
                _ => continue, // OFF
            };
            let locked = c & CFG_L != 0;
            pmp.rules[pmp.count] = Rule {
                lo,
                hi,
                perms: c & PMP_ALL,
                locked,
            };
            pmp.count += 1;
            pmp.any_locked |= locked;
        }
        pmp
    }

    /// What accesses at `prv` may do to all of `[lo, lo + len)`: `Some(perms)` when one
    /// decision covers every byte, `None` when the range is split (the first matching entry
    /// covers only part of it), in which case each access must be checked on its own.
    pub(super) fn decide(&self, lo: u64, len: u64, prv: Priv) -> Option<PmpPerms> {
        if prv == Priv::Machine && !self.any_locked {
            return Some(PMP_ALL);
        }
        let hi = lo.saturating_add(len);
        for r in &self.rules[..self.count] {
            if r.lo < hi && lo < r.hi {
                if !(r.lo <= lo && hi <= r.hi) {
                    return None;
                }
                return Some(if prv == Priv::Machine && !r.locked {
                    PMP_ALL
                } else {
                    r.perms
                });
            }
        }
        Some(if prv == Priv::Machine { PMP_ALL } else { 0 })
    }

    /// Whether one access of `len` bytes at `addr` doing `what` ([`PMP_READ`],
    /// [`PMP_WRITE`] or [`PMP_EXEC`]) passes at `prv`.
    pub(super) fn check(&self, addr: u64, len: u64, what: PmpPerms, prv: Priv) -> bool {
        self.decide(addr, len, prv)
            .is_some_and(|perms| perms & what == what)
    }
}

/// Whether a write to PMP CSR `csr` entry `i` (a `pmpaddr`) is ignored because of a lock.
pub(super) fn addr_locked(cfg: &[u8; PMP_ENTRIES], i: usize) -> bool {
    let tor_above = |j: usize| (cfg[j] >> CFG_A_SHIFT) & 3 == A_TOR;
    cfg[i] & CFG_L != 0 || (i + 1 < PMP_ENTRIES && cfg[i + 1] & CFG_L != 0 && tor_above(i + 1))
}

/// Whether `pmpcfg` byte `i` is locked (writes to it are ignored).
pub(super) fn cfg_locked(cfg: &[u8; PMP_ENTRIES], i: usize) -> bool {
    cfg[i] & CFG_L != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pmp(entries: &[(usize, u8, u64)]) -> Pmp {
        let (mut cfg, mut addr) = ([0u8; PMP_ENTRIES], [0u64; PMP_ENTRIES]);
        for &(i, c, a) in entries {
            cfg[i] = c;
            addr[i] = a;
        }
        Pmp::decode(&cfg, &addr)
    }

    const NAPOT: u8 = A_NAPOT << CFG_A_SHIFT;
    const TOR: u8 = A_TOR << CFG_A_SHIFT;
    const NA4: u8 = A_NA4 << CFG_A_SHIFT;

    #[test]
    fn matching_modes_priority_and_defaults() {
        // 0: NAPOT 4 KiB at 0x8000_1000, read-only; 1: NAPOT 16 KiB at 0x8000_0000, RWX;
        // 2: NA4 at 0x1000_0000, RW, locked; 3 (OFF) and 4: TOR [0x9000_0000, 0x9000_2000)
        // execute-only.
        let p = pmp(&[
            (0, NAPOT | CFG_R, (0x8000_1000 >> 2) | 0x1ff),
            (1, NAPOT | PMP_ALL, (0x8000_0000 >> 2) | 0x7ff),
            (2, NA4 | CFG_R | CFG_W | CFG_L, 0x1000_0000 >> 2),
            (3, 0, 0x9000_0000 >> 2),
            (4, TOR | CFG_X, 0x9000_2000 >> 2),
        ]);
        let s = Priv::Supervisor;
        // The lower-numbered entry decides where both match.
        assert_eq!(p.decide(0x8000_1000, 4096, s), Some(CFG_R));
        assert!(!p.check(0x8000_1ffc, 4, PMP_WRITE, s));
        assert!(p.check(0x8000_1ffc, 4, PMP_READ, s));
        assert_eq!(p.decide(0x8000_2000, 4096, s), Some(PMP_ALL));
        assert_eq!(p.decide(0x8000_0000, 4096, Priv::User), Some(PMP_ALL));
        assert_eq!(
            p.decide(0x8000_4000, 4, Priv::User),
            Some(0),
            "past entry 1"
        );
        // TOR takes the previous entry's address as its lower bound.
        assert_eq!(p.decide(0x9000_1000, 4096, Priv::User), Some(CFG_X));
        assert_eq!(p.decide(0x8fff_fffc, 4, Priv::User), Some(0));
        // A page the first matching entry covers only in part: decided per access.
        assert_eq!(p.decide(0x1000_0000, 4096, s), None);
        assert!(p.check(0x1000_0000, 4, PMP_WRITE, s));
        assert!(!p.check(0x1000_0004, 4, PMP_READ, s), "no entry: S fails");
        assert!(
            !p.check(0x0fff_fffe, 4, PMP_READ, s),
            "straddles entry 2: fails"
        );
        // No entry: M passes, S and U fail.
        assert_eq!(p.decide(0x2000_0000, 4096, Priv::Machine), Some(PMP_ALL));
        assert_eq!(p.decide(0x2000_0000, 4096, s), Some(0));
        // M-mode obeys the locked entry only.
        assert!(!p.check(0x1000_0000, 4, PMP_EXEC, Priv::Machine));
        assert!(p.check(0x8000_1000, 4, PMP_WRITE, Priv::Machine));
    }

    #[test]
    fn napot_over_everything_and_no_entries() {
        let all = pmp(&[(0, NAPOT | PMP_ALL, u32::MAX as u64)]);
        assert_eq!(all.decide(0, 4096, Priv::User), Some(PMP_ALL));
        assert_eq!(all.decide(0x3_ffff_f000, 4096, Priv::User), Some(PMP_ALL));
        let rv64_all = pmp(&[(0, NAPOT | PMP_ALL, (1 << 54) - 1)]);
        assert_eq!(rv64_all.decide(1 << 50, 4096, Priv::User), Some(PMP_ALL));
        let none = Pmp::new();
        assert_eq!(none.decide(0x8000_0000, 4096, Priv::Machine), Some(PMP_ALL));
        assert_eq!(none.decide(0x8000_0000, 4096, Priv::Supervisor), Some(0));
        // An empty TOR range (bound below the previous one) matches nothing.
        let empty = pmp(&[(0, 0, 0x2000), (1, TOR | PMP_ALL, 0x1000)]);
        assert_eq!(empty.decide(0x4000, 4, Priv::User), Some(0));
    }

    #[test]
    fn locks() {
        let mut cfg = [0u8; PMP_ENTRIES];
        cfg[3] = CFG_L | NAPOT;
        cfg[5] = CFG_L | TOR;
        assert!(cfg_locked(&cfg, 3) && addr_locked(&cfg, 3));
        assert!(addr_locked(&cfg, 4), "bound of the locked TOR entry 5");
        assert!(!cfg_locked(&cfg, 4));
        assert!(!addr_locked(&cfg, 2) && !addr_locked(&cfg, 6));
    }
}
