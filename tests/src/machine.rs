//! A minimal RISC-V test machine for the guest images in `tests/firmware/`, laid out like
//! the parts of QEMU's `virt` board those images use:
//!
//! | address       | size     | device                                                 |
//! |---------------|----------|--------------------------------------------------------|
//! | `0x0010_0000` | `0x1000` | SiFive test finisher: `0x5555` pass, `code << 16 \| 0x3333` fail |
//! | `0x0200_0000` | `0x1_0000` | CLINT: `msip`, `mtimecmp` (`+0x4000`), `mtime` (`+0xbff8`) |
//! | `0x1000_0000` | `0x100`  | NS16550 UART, transmit only: THR writes are captured, LSR reads `0x60` |
//! | `0x8000_0000` | 16 MiB   | RAM                                                    |
//!
//! One hart starts in M-mode at the image's entry point: RV32 for an ELF32 image (or a raw
//! binary), RV64 for an ELF64 one. [`Machine::run`] runs it in
//! slices, pinning a fresh [`ReadSection`](fief_core::memory::ReadSection) for each (rule
//! L7), until the finisher is written or the instruction budget is used up.
//!
//! Time is virtual and deterministic: `mtime` advances by one tick per retired instruction
//! (at slice boundaries), and when the hart waits in `wfi` with the timer armed, `mtime`
//! jumps to `mtimecmp`.

use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use fief_core::cpu::riscv::tier::{BlockTier, Interp};
use fief_core::cpu::riscv::{csr, irq, Exit, Hart, HartIrqs, Xlen};
use fief_core::memory::{
    AccessRules, AccessSize, GuestAddress, MemTxAttrs, MemTxResult, MmioOps, Priority, RamBlock,
    RegionOffset, RegionSize, SizeRule, SpaceId,
};

use fief_host::jit::{Jit, JitStats};

use crate::tier::Tier;
use crate::{leak, TestMemory};

/// Where RAM starts.
pub const RAM_BASE: u64 = 0x8000_0000;
/// RAM size in bytes.
pub const RAM_SIZE: usize = 16 << 20;
/// The SiFive test finisher.
pub const FINISHER_BASE: u64 = 0x10_0000;
/// The CLINT.
pub const CLINT_BASE: u64 = 0x200_0000;
/// The UART.
pub const UART_BASE: u64 = 0x1000_0000;
/// Instructions per time slice of [`Machine::run`].
pub const SLICE: u64 = 10_000;

/// Why a machine could not be built or an image not loaded.
#[derive(Debug)]
pub enum MachineError {
    /// Reading the image file failed.
    Io(std::io::Error),
    /// The image is not a loadable ELF32/ELF64 little-endian RISC-V executable.
    BadElf(&'static str),
    /// A segment lies (partly) outside RAM.
    OutsideRam {
        /// Physical address of the segment.
        addr: u64,
        /// Its size in memory.
        len: u64,
    },
    /// Building the memory topology failed.
    Memory(fief_core::memory::Error),
    /// The address space has no view to pin.
    NoView,
    /// `FIEF_ACCEL` names no tier, or the translating tier could not be made.
    Tier(String),
}

impl fmt::Display for MachineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MachineError::Io(e) => write!(f, "cannot read the image: {e}"),
            MachineError::BadElf(why) => write!(f, "bad ELF image: {why}"),
            MachineError::OutsideRam { addr, len } => write!(
                f,
                "segment at {addr:#x} ({len:#x} bytes) is outside RAM \
                 ({RAM_BASE:#x}..{:#x})",
                RAM_BASE + RAM_SIZE as u64
            ),
            MachineError::Memory(e) => write!(f, "memory topology: {e}"),
            MachineError::NoView => write!(f, "the address space has no published view"),
            MachineError::Tier(e) => write!(f, "execution tier: {e}"),
        }
    }
}

impl std::error::Error for MachineError {}

impl From<fief_core::memory::Error> for MachineError {
    fn from(e: fief_core::memory::Error) -> MachineError {
        MachineError::Memory(e)
    }
}

/// A loaded image: where the hart starts, at which XLEN, and the bytes to put in RAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// The hart's XLEN: the ELF class (`Rv32` for a raw binary).
    pub xlen: Xlen,
    /// Entry point.
    pub entry: u64,
    /// `(physical address, bytes, size in memory)` for every loadable segment; memory
    /// past the bytes is zero.
    pub segments: Vec<(u64, Vec<u8>, u64)>,
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, MachineError> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(MachineError::BadElf("truncated header"))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, MachineError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(MachineError::BadElf("truncated header"))
}

fn u64_at(b: &[u8], off: usize) -> Result<u64, MachineError> {
    b.get(off..off + 8)
        .map(|s| u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .ok_or(MachineError::BadElf("truncated header"))
}

/// Where the fields the loader reads sit in an ELF32 and an ELF64 header / program header.
struct ElfLayout {
    xlen: Xlen,
    header: usize,
    phentsize: usize,
    phoff: usize,
    phentsize_at: usize,
    phnum_at: usize,
    /// Program header: offset, physical address, file size, memory size.
    ph: [usize; 4],
}

const ELF32: ElfLayout = ElfLayout {
    xlen: Xlen::Rv32,
    header: 52,
    phentsize: 32,
    phoff: 28,
    phentsize_at: 42,
    phnum_at: 44,
    ph: [4, 12, 16, 20],
};

const ELF64: ElfLayout = ElfLayout {
    xlen: Xlen::Rv64,
    header: 64,
    phentsize: 56,
    phoff: 32,
    phentsize_at: 54,
    phnum_at: 56,
    ph: [8, 24, 32, 40],
};

impl ElfLayout {
    /// A word-sized field (32 bits in ELF32, 64 in ELF64).
    fn word(&self, b: &[u8], off: usize) -> Result<u64, MachineError> {
        match self.xlen {
            Xlen::Rv32 => u32_at(b, off).map(u64::from),
            Xlen::Rv64 => u64_at(b, off),
        }
    }

    fn usize_word(&self, b: &[u8], off: usize) -> Result<usize, MachineError> {
        usize::try_from(self.word(b, off)?).map_err(|_| MachineError::BadElf("offset too large"))
    }
}

impl Image {
    /// An RV32 image of `code` (instruction words) at [`RAM_BASE`], its entry, with the
    /// `extra` segments: the tests' hand-assembled programs.
    pub fn rv32_code(code: &[u32], extra: Vec<(u64, Vec<u8>, u64)>) -> Image {
        let code: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
        let mut segments = vec![(RAM_BASE, code.clone(), code.len() as u64)];
        segments.extend(extra);
        Image {
            xlen: Xlen::Rv32,
            entry: RAM_BASE,
            segments,
        }
    }

    /// Parses an ELF32 (RV32) or ELF64 (RV64) little-endian RISC-V executable: its XLEN,
    /// entry point and `PT_LOAD` segments (at their physical addresses). Never panics on
    /// bad input.
    pub fn parse_elf(bytes: &[u8]) -> Result<Image, MachineError> {
        const PT_LOAD: u32 = 1;
        const EM_RISCV: u16 = 243;
        if bytes.len() < 52 || &bytes[..4] != b"\x7fELF" {
            return Err(MachineError::BadElf("not an ELF file"));
        }
        let l = match bytes[4] {
            1 => &ELF32,
            2 => &ELF64,
            _ => return Err(MachineError::BadElf("neither ELFCLASS32 nor ELFCLASS64")),
        };
        if bytes.len() < l.header {
            return Err(MachineError::BadElf("truncated header"));
        }
        if bytes[5] != 1 {
            return Err(MachineError::BadElf("not little-endian"));
        }
        if u16_at(bytes, 16)? != 2 {
            return Err(MachineError::BadElf("not an executable (ET_EXEC)"));
        }
        if u16_at(bytes, 18)? != EM_RISCV {
            return Err(MachineError::BadElf("not a RISC-V file"));
        }
        let entry = l.word(bytes, 24)?;
        let phoff = l.usize_word(bytes, l.phoff)?;
        let phentsize = u16_at(bytes, l.phentsize_at)? as usize;
        let phnum = u16_at(bytes, l.phnum_at)? as usize;
        if phnum == 0 {
            return Err(MachineError::BadElf("no program headers"));
        }
        if phentsize < l.phentsize {
            return Err(MachineError::BadElf("program header entries too small"));
        }
        let mut segments = Vec::new();
        for i in 0..phnum {
            let ph = phentsize
                .checked_mul(i)
                .and_then(|o| o.checked_add(phoff))
                .ok_or(MachineError::BadElf("program header table out of range"))?;
            if ph
                .checked_add(l.phentsize)
                .is_none_or(|end| end > bytes.len())
            {
                return Err(MachineError::BadElf("program header table out of range"));
            }
            if u32_at(bytes, ph)? != PT_LOAD {
                continue;
            }
            let offset = l.usize_word(bytes, ph + l.ph[0])?;
            let paddr = l.word(bytes, ph + l.ph[1])?;
            let filesz = l.usize_word(bytes, ph + l.ph[2])?;
            let memsz = l.word(bytes, ph + l.ph[3])?;
            if filesz as u64 > memsz {
                return Err(MachineError::BadElf(
                    "segment file size exceeds memory size",
                ));
            }
            let data = offset
                .checked_add(filesz)
                .and_then(|end| bytes.get(offset..end))
                .ok_or(MachineError::BadElf("segment data out of range"))?;
            if memsz > 0 {
                segments.push((paddr, data.to_vec(), memsz));
            }
        }
        if segments.is_empty() {
            return Err(MachineError::BadElf("no PT_LOAD segment"));
        }
        Ok(Image {
            xlen: l.xlen,
            entry,
            segments,
        })
    }

    /// An ELF file (by its magic) or else a raw binary loaded at [`RAM_BASE`] and entered
    /// there.
    pub fn from_bytes(bytes: &[u8]) -> Result<Image, MachineError> {
        if bytes.starts_with(b"\x7fELF") {
            Image::parse_elf(bytes)
        } else {
            Ok(Image {
                xlen: Xlen::Rv32,
                entry: RAM_BASE,
                segments: vec![(RAM_BASE, bytes.to_vec(), bytes.len() as u64)],
            })
        }
    }
}

/// What the guest wrote to the finisher.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// `0x5555`.
    Pass,
    /// `code << 16 | 0x3333`.
    Fail(u32),
    /// `0x7777` (reset request).
    Reset,
}

/// The SiFive test finisher: records the first recognised write and asks the hart to stop.
pub struct Finisher {
    irqs: &'static HartIrqs,
    state: Mutex<Option<Finish>>,
}

impl Finisher {
    /// A finisher that stops the hart behind `irqs`.
    pub fn new(irqs: &'static HartIrqs) -> Finisher {
        Finisher {
            irqs,
            state: Mutex::new(None),
        }
    }

    /// What the guest wrote, if anything.
    pub fn finish(&self) -> Option<Finish> {
        *self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MmioOps for Finisher {
    fn read(&self, _: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        (0, MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        if offset.0 != 0 {
            return MemTxResult::OK;
        }
        let value = value as u32;
        let finish = match value & 0xffff {
            0x5555 => Finish::Pass,
            0x3333 => Finish::Fail(value >> 16),
            0x7777 => Finish::Reset,
            _ => return MemTxResult::OK,
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.is_none() {
            *state = Some(finish);
        }
        self.irqs.request_stop();
        MemTxResult::OK
    }
}

/// A transmit-only NS16550: bytes written to THR are captured; LSR says "transmitter
/// empty"; every other register reads 0 and ignores writes.
#[derive(Default)]
pub struct Uart {
    out: Mutex<Vec<u8>>,
}

impl Uart {
    /// Everything transmitted so far.
    pub fn output(&self) -> Vec<u8> {
        self.out.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl MmioOps for Uart {
    /// Aligned accesses of 1 to 8 bytes, as QEMU's 16550 (`serial_mm_ops`).
    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(1, 8),
            implemented: SizeRule::aligned(1, 8),
            ..AccessRules::DEFAULT
        }
    }

    fn read(&self, offset: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        (if offset.0 == 5 { 0x60 } else { 0 }, MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        if offset.0 == 0 {
            self.out
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(value as u8);
        }
        MemTxResult::OK
    }
}

#[derive(Debug)]
struct ClintState {
    msip: bool,
    mtime: u64,
    mtimecmp: u64,
}

/// A one-hart CLINT: `msip` drives MSIP, `mtime >= mtimecmp` drives MTIP. `mtime` is
/// advanced by the machine ([`Clint::advance`]) and writable by the guest.
pub struct Clint {
    irqs: &'static HartIrqs,
    state: Mutex<ClintState>,
}

const MSIP: u64 = 0;
const MTIMECMP: u64 = 0x4000;
const MTIME: u64 = 0xbff8;

impl Clint {
    /// A CLINT driving the hart behind `irqs`, with the timer disarmed.
    pub fn new(irqs: &'static HartIrqs) -> Clint {
        Clint {
            irqs,
            state: Mutex::new(ClintState {
                msip: false,
                mtime: 0,
                mtimecmp: u64::MAX,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ClintState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, s: &ClintState) {
        self.irqs.set(irq::MSI, s.msip);
        self.irqs.set(irq::MTI, s.mtime >= s.mtimecmp);
    }

    /// The current `mtime`.
    pub fn mtime(&self) -> u64 {
        self.lock().mtime
    }

    /// Advances `mtime` by `ticks`.
    pub fn advance(&self, ticks: u64) {
        let mut s = self.lock();
        s.mtime = s.mtime.wrapping_add(ticks);
        self.update(&s);
    }

    /// For a hart idle in `wfi`: moves `mtime` forward to the first armed deadline, of
    /// `mtimecmp` or the hart's own (Sstc's `stimecmp`, [`Hart::timer_deadline`]).
    pub fn skip_to_deadline(&self, hart: Option<u64>) {
        let mut s = self.lock();
        let now = s.mtime;
        let next = [Some(s.mtimecmp).filter(|&c| c != u64::MAX), hart]
            .into_iter()
            .flatten()
            .filter(|&d| d > now)
            .min();
        if let Some(next) = next {
            s.mtime = next;
            self.update(&s);
        }
    }

    /// The 64-bit register holding byte `offset`, and the byte's index in it.
    fn register(s: &mut ClintState, offset: u64) -> Option<(&mut u64, u64)> {
        match offset {
            MTIMECMP..=0x4007 => Some((&mut s.mtimecmp, offset - MTIMECMP)),
            MTIME..=0xbfff => Some((&mut s.mtime, offset - MTIME)),
            _ => None,
        }
    }
}

fn size_mask(size: AccessSize) -> u64 {
    match size.bytes() {
        8 => u64::MAX,
        n => (1u64 << (8 * n)) - 1,
    }
}

impl MmioOps for Clint {
    /// Accesses of 1 to 8 bytes, aligned: an RV64 guest reads `mtime` and writes
    /// `mtimecmp` with one doubleword access (QEMU's CLINT takes 4 and 8).
    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(1, 8),
            implemented: SizeRule::aligned(1, 8),
            ..AccessRules::DEFAULT
        }
    }

    fn read(&self, offset: RegionOffset, size: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let mut s = self.lock();
        let value = match offset.0 {
            MSIP..=3 => (s.msip as u64) >> (8 * offset.0),
            o => match Clint::register(&mut s, o) {
                Some((reg, byte)) => *reg >> (8 * byte),
                None => 0,
            },
        };
        (value & size_mask(size), MemTxResult::OK)
    }

    fn write(
        &self,
        offset: RegionOffset,
        value: u64,
        size: AccessSize,
        _: MemTxAttrs,
    ) -> MemTxResult {
        let mut s = self.lock();
        match offset.0 {
            MSIP => s.msip = value & 1 != 0,
            o => {
                if let Some((reg, byte)) = Clint::register(&mut s, o) {
                    let shift = 8 * byte;
                    let mask = size_mask(size) << shift;
                    *reg = (*reg & !mask) | ((value << shift) & mask);
                }
            }
        }
        self.update(&s);
        MemTxResult::OK
    }
}

/// How a [`Machine::run`] ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunResult {
    /// `Some(0)` for a pass, `Some(code)` for a failure reported through the finisher,
    /// `None` if the budget ran out (or the guest asked for a reset).
    pub exit_code: Option<u32>,
    /// The finisher write, if any.
    pub finish: Option<Finish>,
    /// UART output.
    pub console: Vec<u8>,
    /// Instructions retired (approximately: counted per slice).
    pub instructions: u64,
    /// The hart's `pc` when the run ended.
    pub pc: u64,
    /// The translating tier's counters when it ran ([`Machine::run_on`] with
    /// [`Tier::Tcg`]).
    pub jit: Option<JitStats>,
}

/// The test machine (see the [module docs](self)).
pub struct Machine {
    memory: Box<TestMemory>,
    space: SpaceId,
    /// The hart.
    pub hart: Box<Hart<'static>>,
    /// The finisher.
    pub finisher: &'static Finisher,
    /// The UART.
    pub uart: &'static Uart,
    /// The CLINT.
    pub clint: &'static Clint,
}

impl fmt::Debug for Machine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Machine")
            .field("hart", &self.hart)
            .finish_non_exhaustive()
    }
}

impl Machine {
    /// A machine with `image` in RAM and the hart at its entry point.
    pub fn new(image: &Image) -> Result<Machine, MachineError> {
        let buffer: &'static mut [u8] = Box::leak(vec![0u8; RAM_SIZE].into_boxed_slice());
        for (addr, data, memsz) in &image.segments {
            let outside = MachineError::OutsideRam {
                addr: *addr,
                len: *memsz,
            };
            let start = addr.checked_sub(RAM_BASE).ok_or(outside)? as usize;
            let end = start.checked_add(*memsz as usize);
            if end.is_none_or(|end| end > RAM_SIZE) {
                return Err(MachineError::OutsideRam {
                    addr: *addr,
                    len: *memsz,
                });
            }
            buffer[start..start + data.len()].copy_from_slice(data);
        }
        let irqs = leak(HartIrqs::new());
        let finisher = leak(Finisher::new(irqs));
        let uart = leak(Uart::default());
        let clint = leak(Clint::new(irqs));

        let memory = crate::memory();
        let space = {
            let mut g = memory.lock();
            let root = g.root_owner()?;
            let system = g.create_container(root, "system", RegionSize::FULL, None)?;
            let ram = g
                .create_ram(root, "ram", RamBlock::new(buffer))
                .map_err(|r| r.error)?;
            let fin = g.create_mmio(root, "finisher", crate::size(0x1000), finisher)?;
            let clint_r = g.create_mmio(root, "clint", crate::size(0x1_0000), clint)?;
            let uart_r = g.create_mmio(root, "uart", crate::size(0x100), uart)?;
            g.begin();
            g.add_subregion(system, RegionOffset(RAM_BASE), ram, Priority(0))?;
            g.add_subregion(system, RegionOffset(FINISHER_BASE), fin, Priority(0))?;
            g.add_subregion(system, RegionOffset(CLINT_BASE), clint_r, Priority(0))?;
            g.add_subregion(system, RegionOffset(UART_BASE), uart_r, Priority(0))?;
            let space = g.create_address_space(system, "system")?;
            g.commit()?;
            space
        };
        // Boxed: a hart is a few hundred KiB (its TLB and decoded blocks), too much to
        // move around on a test thread's 2 MiB stack in an unoptimised build.
        let mut hart = Box::new(Hart::with_irqs(0, image.xlen, image.entry, irqs));
        // The machine's only hart: its code stays checked across time slices.
        hart.set_sole_hart(true);
        Ok(Machine {
            memory,
            space,
            hart,
            finisher,
            uart,
            clint,
        })
    }

    /// Runs until the finisher is written or about `max_insns` instructions have retired,
    /// under the tier that `FIEF_ACCEL` names ([`Tier::from_env`]: the interpreter by
    /// default, the translating tier for `tcg`).
    pub fn run(&mut self, max_insns: u64) -> Result<RunResult, MachineError> {
        let tier = Tier::from_env().map_err(MachineError::Tier)?;
        self.run_on(tier, max_insns)
    }

    /// [`Machine::run`] under `tier` (a fresh translating tier for [`Tier::Tcg`], whose
    /// counters the result carries; it translates every block at its first run, so that
    /// guest tests run as much generated code as they can: `Jit::with_hot_runs`).
    pub fn run_on(&mut self, tier: Tier, max_insns: u64) -> Result<RunResult, MachineError> {
        match tier {
            Tier::Tcg(mib) if fief_host::jit::AVAILABLE => {
                let mut jit = Jit::new(self.hart.xlen(), mib)
                    .map_err(MachineError::Tier)?
                    .with_hot_runs(1);
                let mut r = self.run_with(max_insns, &mut jit)?;
                r.jit = Some(jit.stats());
                Ok(r)
            }
            _ => self.run_with(max_insns, &mut Interp),
        }
    }

    /// [`Machine::run`] with `tier` offered every decoded block ([`Hart::run_with`]).
    pub fn run_with<T: BlockTier + ?Sized>(
        &mut self,
        max_insns: u64,
        tier: &mut T,
    ) -> Result<RunResult, MachineError> {
        let space = self.memory.space(self.space).ok_or(MachineError::NoView)?;
        let mut executed = 0u64;
        while executed < max_insns && self.finisher.finish().is_none() {
            let budget = SLICE.min(max_insns - executed);
            let before = self.minstret();
            self.hart.set_time(self.clint.mtime());
            let exit = {
                let section = space.section().ok_or(MachineError::NoView)?;
                self.hart.run_with(&section, budget, tier)
            };
            let retired = match exit {
                Exit::BudgetExhausted => budget,
                _ => (self.minstret().wrapping_sub(before) as u64).clamp(1, budget),
            };
            executed += retired;
            self.clint.advance(retired);
            match exit {
                Exit::Wfi => self.clint.skip_to_deadline(self.hart.timer_deadline()),
                Exit::Breakpoint(_) => break,
                Exit::BudgetExhausted | Exit::Stopped => {}
            }
        }
        let finish = self.finisher.finish();
        Ok(RunResult {
            exit_code: match finish {
                Some(Finish::Pass) => Some(0),
                Some(Finish::Fail(code)) => Some(code),
                Some(Finish::Reset) | None => None,
            },
            finish,
            console: self.uart.output(),
            instructions: executed,
            pc: self.hart.pc(),
            jit: None,
        })
    }

    /// One call of [`Hart::run_with`] for up to `budget` instructions, with no slicing,
    /// timer or finisher handling around it (tests of what happens inside one time slice).
    pub fn run_slice_with<T: BlockTier + ?Sized>(
        &mut self,
        budget: u64,
        tier: &mut T,
    ) -> Result<Exit, MachineError> {
        let space = self.memory.space(self.space).ok_or(MachineError::NoView)?;
        let section = space.section().ok_or(MachineError::NoView)?;
        Ok(self.hart.run_with(&section, budget, tier))
    }

    /// Reads `len` bytes of guest memory at `addr` (debug accesses, 8 bytes at a time
    /// where aligned; unmapped bytes read as 0).
    pub fn read_mem(&self, addr: u64, len: usize) -> Result<Vec<u8>, MachineError> {
        let space = self.memory.space(self.space).ok_or(MachineError::NoView)?;
        let section = space.section().ok_or(MachineError::NoView)?;
        let mut out = Vec::with_capacity(len);
        while out.len() < len {
            let a = addr + out.len() as u64;
            if a.is_multiple_of(8) && len - out.len() >= 8 {
                let v = section
                    .read(GuestAddress(a), AccessSize::Double, MemTxAttrs::DEBUG)
                    .0;
                out.extend(v.to_le_bytes());
            } else {
                out.push(
                    section
                        .read(GuestAddress(a), AccessSize::Byte, MemTxAttrs::DEBUG)
                        .0 as u8,
                );
            }
        }
        Ok(out)
    }

    /// [`Machine::run_slice_with`] while `writer` runs on another thread with a
    /// [`RamWriter`]: writes made behind the hart's back, as a device's DMA would (each
    /// counted in the memory's DMA write count, `ReadSection::lease_writes`, which a
    /// hart's code epoch and the translating tier's boundary checks watch).
    pub fn run_slice_with_writer<T, W>(
        &mut self,
        budget: u64,
        tier: &mut T,
        writer: W,
    ) -> Result<Exit, MachineError>
    where
        T: BlockTier + ?Sized,
        W: FnOnce(&RamWriter<'_>) + Send,
    {
        let w = RamWriter {
            memory: &self.memory,
            space: self.space,
        };
        let space = self.memory.space(self.space).ok_or(MachineError::NoView)?;
        let section = space.section().ok_or(MachineError::NoView)?;
        let hart = &mut self.hart;
        Ok(std::thread::scope(|s| {
            s.spawn(move || writer(&w));
            hart.run_with(&section, budget, tier)
        }))
    }

    /// Writes `bytes` to guest memory at `addr` (debug accesses, 8 bytes at a time where
    /// aligned).
    pub fn write_mem(&self, addr: u64, bytes: &[u8]) -> Result<(), MachineError> {
        RamWriter {
            memory: &self.memory,
            space: self.space,
        }
        .write(addr, bytes)
    }

    /// The low 32 bits of `minstret`.
    fn minstret(&self) -> u32 {
        self.hart.csr(csr::num::MINSTRET).unwrap_or(0) as u32
    }
}

/// Writes a [`Machine`]'s guest memory from another thread
/// ([`Machine::run_slice_with_writer`]).
#[derive(Clone, Copy)]
pub struct RamWriter<'m> {
    memory: &'m TestMemory,
    space: SpaceId,
}

impl RamWriter<'_> {
    /// Writes `bytes` to guest memory at `addr` (debug accesses, 8 bytes at a time where
    /// aligned).
    pub fn write(&self, addr: u64, bytes: &[u8]) -> Result<(), MachineError> {
        let space = self.memory.space(self.space).ok_or(MachineError::NoView)?;
        let section = space.section().ok_or(MachineError::NoView)?;
        let mut i = 0;
        while i < bytes.len() {
            let a = GuestAddress(addr + i as u64);
            if a.0.is_multiple_of(8) && bytes.len() - i >= 8 {
                let mut w = [0u8; 8];
                w.copy_from_slice(&bytes[i..i + 8]);
                let _ = section.write(
                    a,
                    AccessSize::Double,
                    u64::from_le_bytes(w),
                    MemTxAttrs::DEBUG,
                );
                i += 8;
            } else {
                let _ = section.write(a, AccessSize::Byte, bytes[i] as u64, MemTxAttrs::DEBUG);
                i += 1;
            }
        }
        Ok(())
    }
}

/// Loads the image at `path` (ELF, or a raw binary for [`RAM_BASE`]) into a fresh
/// [`Machine`] and runs it for at most about `max_insns` instructions: the finisher's exit
/// code (`Some(0)` = pass) and the console output.
pub fn run_image(
    path: impl AsRef<Path>,
    max_insns: u64,
) -> Result<(Option<u32>, String), MachineError> {
    let bytes = std::fs::read(path).map_err(MachineError::Io)?;
    let image = Image::from_bytes(&bytes)?;
    let result = Machine::new(&image)?.run(max_insns)?;
    Ok((
        result.exit_code,
        String::from_utf8_lossy(&result.console).into_owned(),
    ))
}
