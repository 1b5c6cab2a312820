//! The code cache: one anonymous mapping of `-tb-size` MiB that holds translated blocks,
//! filled from the start and flushed whole when the next block does not fit (QEMU's
//! policy for its own `-tb-size`).
//!
//! **W^X.** No mapping of the cache is ever writable and executable at once. On Linux
//! the cache is one memory file (`memfd_create`) mapped twice, as QEMU's split-wx does:
//! a read-write view that insertions copy into and a read-execute view that code runs
//! from (the same host pages at two addresses; x86 keeps instruction fetches coherent
//! with stores through any alias), so an insertion is one copy and no system call.
//! Before, every insertion made the pages it wrote read-write (`mprotect`), copied and
//! made them read-execute again: two system calls per translated block, 18 k in an rv32
//! Linux boot (8 % of its system-call time under `strace`, 5 % of its tcg profile with
//! the kernel's mapping-split work). That is still the way where the memory file or its
//! executable view is refused (other hosts, a kernel forbidding executable memory
//! files): one anonymous mapping, read-execute at rest, only the pages a block lands on
//! made read-write for its copy (protecting the whole mapping instead cost 925 µs per
//! block once a 32 MiB cache had filled). In between no code of the cache runs (one
//! cache per hart thread).
//!
//! **Pages mapped ahead.** With two views, the pages under the code written are mapped
//! into both 256 KiB at a time (`madvise` `MADV_POPULATE_WRITE`, then
//! `MADV_POPULATE_READ`), two system calls where a page fault per page per view came
//! before: an rv32 Linux boot writes ~18 MB of code, ~9 k faults, more than the
//! interpreter's whole run takes.
//!
//! The bookkeeping ([`Arena`]: where the next block goes, when to flush, which
//! generation a block's [`CodeRef`] belongs to) is plain arithmetic with no `unsafe`,
//! tested under Miri; the mapping ([`CodeCache`]) is memmap2's, its protection changes
//! are one `unsafe` `mprotect` call (a system call, which Miri cannot run: its test runs
//! natively and reads the protections back from `/proc/self/maps`), and calling into it
//! is in [`super`].

use memmap2::{Mmap, MmapMut};

/// Where a block's code starts in the cache, and the cache generation it was written in
/// (it is gone once the generation moved on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeRef {
    /// Byte offset from the start of the mapping.
    pub offset: usize,
    /// The [`Arena::generation`] it was written in.
    pub generation: u64,
}

/// Alignment of each block's code (a host cache-line quarter: the start of a block is
/// a jump target).
const ALIGN: usize = 16;

/// The code cache's bookkeeping (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Arena {
    capacity: usize,
    used: usize,
    generation: u64,
    flushes: u64,
}

impl Arena {
    /// An empty arena of `capacity` bytes.
    pub fn new(capacity: usize) -> Arena {
        Arena {
            capacity,
            used: 0,
            generation: 1,
            flushes: 0,
        }
    }

    /// Space for `len` bytes: the offset, after flushing everything when they do not fit
    /// behind what is there; `None` when they do not fit even in an empty cache.
    pub fn reserve(&mut self, len: usize) -> Option<CodeRef> {
        if len > self.capacity {
            return None;
        }
        let start = self.used.next_multiple_of(ALIGN);
        let start = if start.checked_add(len)? > self.capacity {
            self.flush();
            0
        } else {
            start
        };
        self.used = start + len;
        Some(CodeRef {
            offset: start,
            generation: self.generation,
        })
    }

    /// Whether reserving `len` bytes would flush the cache first (false when they do
    /// not fit even in an empty one).
    pub fn would_flush(&self, len: usize) -> bool {
        len <= self.capacity && self.used.next_multiple_of(ALIGN) + len > self.capacity
    }

    /// Forgets every block: their [`CodeRef`]s are stale from now on.
    pub fn flush(&mut self) {
        self.used = 0;
        self.generation += 1;
        self.flushes += 1;
    }

    /// Whether `r` still names code in the cache.
    #[inline(always)]
    pub fn is_live(&self, r: CodeRef) -> bool {
        r.generation == self.generation
    }

    /// The current generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Bytes in use.
    pub fn used(&self) -> usize {
        self.used
    }

    /// How many times the cache was flushed whole.
    pub fn flushes(&self) -> u64 {
        self.flushes
    }
}

/// Executable memory for translated blocks (see the module docs).
pub struct CodeCache {
    /// The mapping code is written through (owned here: unmapped on drop). With `exec`,
    /// read-write for good (never executable); without, the one mapping: read-execute
    /// at rest, only the pages an insertion writes made read-write, and only for the copy.
    map: MmapMut,
    /// The read-execute view of the same memory file that code runs from (`None`: the
    /// host refused it, and `map` is both views in turn).
    exec: Option<Mmap>,
    /// Whether the mapping is usable (false for good once the host refused a protection
    /// change).
    usable: bool,
    /// Protection changes made so far (`protect`): none with two views.
    protections: u64,
    /// With two views: bytes from the start whose pages are mapped in both views already
    /// (`populate`), or `usize::MAX` once the host refused to map them ahead.
    populated: usize,
    arena: Arena,
}

/// Why the code cache could not be made or filled.
#[derive(Debug)]
pub enum CacheError {
    /// The size is zero.
    Empty,
    /// The host refused the mapping or a protection change.
    Host(std::io::Error),
}

impl std::fmt::Display for CacheError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CacheError::Empty => write!(f, "the code cache size is zero"),
            CacheError::Host(e) => write!(f, "the host refused executable memory: {e}"),
        }
    }
}

impl std::error::Error for CacheError {}

/// One memory file of `bytes` bytes mapped twice: read-write, and read-execute (module
/// docs). Fails where the host has no memory files or refuses to execute one.
#[cfg(target_os = "linux")]
fn two_views(bytes: usize) -> std::io::Result<(MmapMut, Mmap)> {
    use std::os::fd::{FromRawFd, OwnedFd};
    // SAFETY: a NUL-terminated name and valid flags; the call touches no Rust memory.
    let fd = unsafe { libc::memfd_create(c"fief-code".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `fd` was just returned by `memfd_create`, open and owned by nothing else.
    let file = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    file.set_len(bytes as u64)?;
    // SAFETY: the memory file is this cache's alone (no name in any file system, its
    // descriptor closed when this function returns, the mappings keeping it alive), so
    // nothing else can shrink it under the mappings or write it; both are `bytes` long,
    // its length.
    let map = unsafe { memmap2::MmapOptions::new().len(bytes).map_mut(&file)? };
    // SAFETY: as above.
    let exec = unsafe { memmap2::MmapOptions::new().len(bytes).map_exec(&file)? };
    Ok((map, exec))
}

/// Where the host has no memory files: one mapping (`CodeCache::one_view`).
#[cfg(not(target_os = "linux"))]
fn two_views(_: usize) -> std::io::Result<(MmapMut, Mmap)> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}

/// The host page size the protection changes are rounded to.
const HOST_PAGE: usize = 4096;

/// Bytes of the two views mapped ahead at a time (`CodeCache::populate`).
const POPULATE_CHUNK: usize = 256 << 10;

impl CodeCache {
    /// A cache of `bytes` bytes (nothing in it yet): two views of one memory file where
    /// the host allows it, else one anonymous mapping, read-execute.
    pub fn new(bytes: usize) -> Result<CodeCache, CacheError> {
        if bytes == 0 {
            return Err(CacheError::Empty);
        }
        if let Ok((map, exec)) = two_views(bytes) {
            return Ok(CodeCache {
                map,
                exec: Some(exec),
                usable: true,
                protections: 0,
                populated: 0,
                arena: Arena::new(bytes),
            });
        }
        CodeCache::one_view(bytes)
    }

    /// A cache of `bytes` bytes in one anonymous mapping, read-execute at rest, whose
    /// pages an insertion makes read-write for its copy (where the host refuses two
    /// views; tests use it directly).
    fn one_view(bytes: usize) -> Result<CodeCache, CacheError> {
        let map = MmapMut::map_anon(bytes).map_err(CacheError::Host)?;
        let mut c = CodeCache {
            map,
            exec: None,
            usable: true,
            protections: 0,
            populated: usize::MAX,
            arena: Arena::new(bytes),
        };
        c.protect(0, bytes, false).map_err(CacheError::Host)?;
        Ok(c)
    }

    /// Makes the pages holding bytes `lo..hi` of the mapping read-write (`writable`) or
    /// read-execute: never both.
    ///
    /// Why not memmap2's `make_mut`/`make_exec`: they change the whole mapping, two
    /// `mprotect`s over every page of the cache per inserted block, which measured 925 µs
    /// per block on a Linux boot once the 32 MiB cache had filled (a boot 8x slower than
    /// the interpreter); a few pages cost a few microseconds.
    fn protect(&mut self, lo: usize, hi: usize, writable: bool) -> std::io::Result<()> {
        let lo = lo - lo % HOST_PAGE;
        let hi = hi
            .next_multiple_of(HOST_PAGE)
            .min(self.map.len().next_multiple_of(HOST_PAGE));
        self.protections += 1;
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ | libc::PROT_EXEC
        };
        // SAFETY: `lo..hi` lies inside this cache's own anonymous mapping (the one-view
        // way; with two views nothing calls this) (`lo` rounded
        // down and `hi` up to host pages, at most the mapping's page-rounded length; the
        // mapping starts page-aligned), which nothing else refers to: changing its
        // protection cannot affect memory Rust owns. While pages are writable no code of
        // the cache runs (one cache per hart thread, and insertion happens outside
        // generated code), so nothing executes from a page being written.
        let r = unsafe {
            libc::mprotect(
                self.map.as_mut_ptr().add(lo).cast::<libc::c_void>(),
                hi - lo,
                prot,
            )
        };
        if r == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    }

    /// With two views: maps the pages up to `hi`, rounded up to [`POPULATE_CHUNK`], into
    /// both views ahead of use (`MADV_POPULATE_WRITE` on the read-write view, then
    /// `MADV_POPULATE_READ` on the read-execute one), so that a chunk costs two system
    /// calls instead of a page fault per page per view: a Linux boot writes ~18 MB of code,
    /// which took ~9 k page faults (twice the interpreter's whole run's). Where the host
    /// refuses (a kernel before 5.14), pages fault in as before and it is not tried again.
    #[cfg(target_os = "linux")]
    fn populate(&mut self, hi: usize) {
        let Some(exec) = &self.exec else {
            return;
        };
        let from = self.populated;
        let to = hi.next_multiple_of(POPULATE_CHUNK).min(self.map.len());
        if to <= from {
            return;
        }
        // SAFETY: `from..to` lies inside both views (each `map.len()` bytes, page-aligned
        // at their starts; `from` is 0 or an earlier `to`, a multiple of the chunk, or the
        // length); populating pages changes no byte and no protection, so it touches no
        // memory Rust reads or writes differently.
        let ok = unsafe {
            libc::madvise(
                self.map.as_mut_ptr().add(from).cast::<libc::c_void>(),
                to - from,
                libc::MADV_POPULATE_WRITE,
            ) == 0
                && libc::madvise(
                    exec.as_ptr().add(from).cast_mut().cast::<libc::c_void>(),
                    to - from,
                    libc::MADV_POPULATE_READ,
                ) == 0
        };
        self.populated = if ok { to } else { usize::MAX };
    }

    /// Elsewhere pages fault in as they are first written and run.
    #[cfg(not(target_os = "linux"))]
    fn populate(&mut self, _: usize) {
        self.populated = usize::MAX;
    }

    /// Copies `code` into the cache (flushing it whole first when full): where it went,
    /// or `None` when it is larger than the cache or the host refused a protection
    /// change (then the cache stays unusable and every later call returns `None`).
    pub fn insert(&mut self, code: &[u8]) -> Option<CodeRef> {
        if !self.usable {
            return None;
        }
        let at = self.arena.reserve(code.len())?;
        let (lo, hi) = (at.offset, at.offset + code.len());
        if self.exec.is_some() {
            if hi > self.populated {
                self.populate(hi);
            }
            // Written through the read-write view; the read-execute view sees it.
            self.map[lo..hi].copy_from_slice(code);
            return Some(at);
        }
        if self.protect(lo, hi, true).is_err() {
            self.usable = false;
            return None;
        }
        self.map[lo..hi].copy_from_slice(code);
        if self.protect(lo, hi, false).is_err() {
            self.usable = false;
            return None;
        }
        Some(at)
    }

    /// Where code runs from: the read-execute view (or the one mapping).
    #[inline(always)]
    fn exec_base(&self) -> *const u8 {
        match &self.exec {
            Some(x) => x.as_ptr(),
            None => self.map.as_ptr(),
        }
    }

    /// How many protection changes the cache made (none with two views).
    pub fn protection_changes(&self) -> u64 {
        self.protections
    }

    /// The host address of live code `r`, while the mapping is executable.
    #[inline(always)]
    pub fn address(&self, r: CodeRef) -> Option<*const u8> {
        if self.usable && self.arena.is_live(r) {
            Some(self.exec_base().wrapping_add(r.offset))
        } else {
            None
        }
    }

    /// Whether code made in `generation` may still run: the cache is usable and was not
    /// flushed since (what [`CodeCache::address`] checks, for an address resolved earlier).
    #[inline(always)]
    pub fn is_live(&self, generation: u64) -> bool {
        self.usable && self.arena.generation == generation
    }

    /// Whether inserting `len` bytes would flush the cache first ([`Arena::would_flush`]).
    pub fn would_flush(&self, len: usize) -> bool {
        self.arena.would_flush(len)
    }

    /// Forgets every block now ([`Arena::flush`]).
    pub fn flush(&mut self) {
        self.arena.flush();
    }

    /// The bookkeeping.
    pub fn arena(&self) -> &Arena {
        &self.arena
    }

    /// The start of the mapping code runs from (for tests that look at its protection).
    pub fn base(&self) -> Option<*const u8> {
        self.usable.then(|| self.exec_base())
    }

    /// The start of the mapping code is written through (for tests).
    #[cfg(test)]
    fn write_base(&self) -> *const u8 {
        self.map.as_ptr()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Runs under Miri (`cargo +nightly miri test -p fief-host --lib jit::cache::tests::arena`).
    #[test]
    fn arena_fills_aligned_then_flushes_whole() {
        let mut a = Arena::new(100);
        let r0 = a.reserve(10).unwrap();
        assert_eq!((r0.offset, r0.generation), (0, 1));
        let r1 = a.reserve(30).unwrap();
        assert_eq!(r1.offset, 16, "16-byte aligned");
        assert_eq!(a.used(), 46);
        assert!(a.is_live(r0) && a.is_live(r1));
        // 48 + 60 > 100: everything goes, and the new block starts at 0.
        let r2 = a.reserve(60).unwrap();
        assert_eq!((r2.offset, r2.generation), (0, 2));
        assert_eq!(a.flushes(), 1);
        assert!(!a.is_live(r0) && !a.is_live(r1) && a.is_live(r2));
        // Exactly full is not a flush.
        let r3 = a.reserve(36).unwrap();
        assert_eq!((r3.offset, a.used(), a.flushes()), (64, 100, 1));
        // Larger than the whole cache: refused, nothing flushed.
        assert_eq!(a.reserve(101), None);
        assert_eq!(a.flushes(), 1);
        assert!(a.is_live(r3));
        a.flush();
        assert!(!a.is_live(r3));
        assert_eq!((a.used(), a.generation()), (0, 3));
    }

    /// The protection of the mapping that holds `p`, from `/proc/self/maps` (Linux).
    #[cfg(all(target_os = "linux", not(miri)))]
    fn protection(p: *const u8) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        let a = p as usize;
        for line in maps.lines() {
            let mut f = line.split_whitespace();
            let range = f.next().unwrap();
            let perms = f.next().unwrap();
            let (lo, hi) = range.split_once('-').unwrap();
            let lo = usize::from_str_radix(lo, 16).unwrap();
            let hi = usize::from_str_radix(hi, 16).unwrap();
            if (lo..hi).contains(&a) {
                return perms[..3].to_string();
            }
        }
        panic!("{a:#x} is not mapped");
    }

    /// KiB of the mapping that holds `p` mapped in this process (its `Rss`, from
    /// `/proc/self/smaps`, Linux).
    #[cfg(all(target_os = "linux", not(miri)))]
    fn resident_kib(p: *const u8) -> usize {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let a = p as usize;
        let mut inside = false;
        for line in smaps.lines() {
            let first = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = first.split_once('-') {
                if let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                {
                    inside = (lo..hi).contains(&a);
                    continue;
                }
            }
            if inside {
                if let Some(kib) = line.strip_prefix("Rss:") {
                    return kib.trim().trim_end_matches("kB").trim().parse().unwrap();
                }
            }
        }
        panic!("{a:#x} is not mapped");
    }

    /// Two views: the pages under the code written are mapped into both a chunk at a
    /// time, ahead of use, rather than faulted in page by page (fails with `populate`
    /// doing nothing: nothing of the read-execute view is mapped before code runs).
    #[test]
    #[cfg(all(target_os = "linux", not(miri)))]
    fn both_views_are_mapped_a_chunk_ahead_of_the_code_written() {
        let mut c = CodeCache::new(4 * POPULATE_CHUNK).unwrap();
        let (run, write) = (c.base().unwrap(), c.write_base());
        assert_eq!(resident_kib(run), 0);
        c.insert(&[0x90; 100]).unwrap();
        if c.populated == usize::MAX {
            // A kernel before 5.14: pages fault in as they are used.
            return;
        }
        let chunk = POPULATE_CHUNK >> 10;
        assert_eq!((resident_kib(run), resident_kib(write)), (chunk, chunk));
        // A block reaching past the first chunk maps the second.
        c.insert(&[0xcc; POPULATE_CHUNK]).unwrap();
        assert_eq!(resident_kib(run), 2 * chunk);
        assert_eq!(resident_kib(write), 2 * chunk);
    }

    /// The one-mapping way (hosts that refuse two views): read-execute at rest.
    #[test]
    #[cfg(all(target_os = "linux", not(miri)))]
    fn the_mapping_is_never_writable_and_executable_at_rest() {
        let mut c = CodeCache::one_view(4096).unwrap();
        let base = c.base().unwrap();
        assert_eq!(protection(base), "r-x");
        let r = c.insert(&[0xc3; 100]).unwrap();
        assert_eq!(protection(base), "r-x");
        assert_eq!(c.address(r), Some(base));
        let at = c.address(r).unwrap();
        // SAFETY: byte 99 of the 100 just written at `at`, in the live read-execute mapping.
        let last = unsafe { *at.add(99) };
        assert_eq!(last, 0xc3);
        // Full: flushed whole, the old reference is dead.
        let r2 = c.insert(&[0x90; 4000]).unwrap();
        assert_eq!(r2.offset, 0);
        assert_eq!(c.address(r), None);
        assert_eq!(protection(base), "r-x");
        assert_eq!(c.insert(&[0; 4097]), None);
        assert_eq!(
            c.protection_changes(),
            5,
            "the first, then two per insertion"
        );
        assert!(CodeCache::new(0).is_err());
    }

    /// Two views of one memory file (Linux): code runs from a read-execute mapping and is
    /// written through a read-write one, neither ever both, and an insertion changes no
    /// protection (no system call).
    #[test]
    #[cfg(all(target_os = "linux", not(miri)))]
    fn insertions_write_through_a_second_view_and_change_no_protection() {
        let mut c = CodeCache::new(2 * 4096).unwrap();
        let base = c.base().unwrap();
        let write = c.write_base();
        assert_ne!(base, write, "two views");
        let first = c.insert(&[0x90; 4000]).unwrap();
        let across = c.insert(&[0xcc; 300]).unwrap();
        assert_eq!(c.protection_changes(), 0);
        for page in 0..2 {
            assert_eq!(protection(base.wrapping_add(page * 4096)), "r-x");
            assert_eq!(protection(write.wrapping_add(page * 4096)), "rw-");
        }
        let at = c.address(across).unwrap();
        assert_eq!(at, base.wrapping_add(4000));
        // SAFETY: bytes 0 and 299 of the 300 just written at `at`, in the live
        // read-execute view.
        let (lo, hi) = unsafe { (*at, *at.add(299)) };
        assert_eq!((lo, hi), (0xcc, 0xcc));
        // Full: flushed whole, written over through the same view.
        let again = c.insert(&[0xc3; 5000]).unwrap();
        assert_eq!(again.offset, 0);
        assert_eq!(c.address(first), None);
        // SAFETY: byte 4999 of the 5000 just written at the start of the live view.
        let last = unsafe { *c.address(again).unwrap().add(4999) };
        assert_eq!(last, 0xc3);
        assert_eq!(c.protection_changes(), 0);
    }

    /// One mapping: only the pages a block lands on change protection, and they are back
    /// to read-execute after the copy: a block across a page boundary, the pages around it.
    #[test]
    #[cfg(all(target_os = "linux", not(miri)))]
    fn an_insertion_across_pages_leaves_every_page_read_execute() {
        let mut c = CodeCache::one_view(3 * 4096).unwrap();
        let base = c.base().unwrap();
        let first = c.insert(&[0x90; 4000]).unwrap();
        let across = c.insert(&[0xcc; 300]).unwrap();
        assert_eq!(across.offset, 4000, "starts in page 0, ends in page 1");
        for page in 0..3 {
            assert_eq!(
                protection(base.wrapping_add(page * 4096)),
                "r-x",
                "page {page}"
            );
        }
        let at = c.address(across).unwrap();
        // SAFETY: bytes 0 and 299 of the 300 just written at `at`, in the live mapping.
        let (lo, hi) = unsafe { (*at, *at.add(299)) };
        assert_eq!((lo, hi), (0xcc, 0xcc));
        assert!(c.address(first).is_some());
    }
}
