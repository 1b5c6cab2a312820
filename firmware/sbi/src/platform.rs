//! The machine the firmware runs on: the devices of the virt32 board (the same addresses as
//! QEMU's `virt`), and what the device tree told us (harts, RAM).
//!
//! The MMIO addresses are fixed rather than read from the device tree: they are the board's
//! compile-time layout (`boards/src/virt32.rs`, `docs/virt32.md`) and QEMU's `virt`.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The NS16550A UART's registers.
const UART: usize = 0x1000_0000;
/// CLINT: `msip` words, one per hart.
const CLINT_MSIP: usize = 0x0200_0000;
/// CLINT: `mtimecmp` double words, one per hart.
const CLINT_MTIMECMP: usize = 0x0200_4000;
/// CLINT: `mtime`.
const CLINT_MTIME: usize = 0x0200_bff8;
/// The SiFive test device (finisher).
const FINISHER: usize = 0x0010_0000;

/// Where the firmware's image, data and stacks live (hidden from the next stage).
pub const FW_BASE: usize = 0x8000_0000;
/// The size of the firmware's region (a power of two, for one NAPOT PMP entry).
pub const FW_SIZE: usize = 256 * 1024;
/// The most harts the firmware serves (one stack each).
pub const MAX_HARTS: usize = 8;
/// Bytes of M-mode stack per hart.
pub const STACK_SIZE: usize = 8192;
/// Where the next stage starts, from the RAM base: QEMU's placement of a kernel after
/// small firmware, the next 4 MiB boundary on rv32 and the next 2 MiB boundary on rv64.
pub const NEXT_STAGE_OFFSET: usize = if cfg!(target_pointer_width = "64") {
    2 << 20
} else {
    4 << 20
};

fn read32(addr: usize) -> u32 {
    // SAFETY: `addr` is one of the device registers above, which the board maps; M mode
    // reaches them without translation.
    unsafe { core::ptr::read_volatile(addr as *const u32) }
}

fn write32(addr: usize, v: u32) {
    // SAFETY: as for `read32`.
    unsafe { core::ptr::write_volatile(addr as *mut u32, v) }
}

fn read8(addr: usize) -> u8 {
    // SAFETY: as for `read32`.
    unsafe { core::ptr::read_volatile(addr as *const u8) }
}

fn write8(addr: usize, v: u8) {
    // SAFETY: as for `read32`.
    unsafe { core::ptr::write_volatile(addr as *mut u8, v) }
}

/// Writes one byte to the UART, waiting for room in the transmitter.
pub fn putc(byte: u8) {
    // LSR bit 5: transmit holding register empty.
    for _ in 0..1_000_000 {
        if read8(UART + 5) & 0x20 != 0 {
            break;
        }
    }
    write8(UART, byte);
}

/// Reads one byte from the UART if one is there.
pub fn getc() -> Option<u8> {
    // LSR bit 0: data ready.
    (read8(UART + 5) & 1 != 0).then(|| read8(UART))
}

/// The CLINT's `mtime`.
pub fn mtime() -> u64 {
    loop {
        let hi = read32(CLINT_MTIME + 4);
        let lo = read32(CLINT_MTIME);
        if read32(CLINT_MTIME + 4) == hi {
            return (hi as u64) << 32 | lo as u64;
        }
    }
}

/// Sets `hart`'s `mtimecmp` without a spurious early match on the way.
pub fn set_mtimecmp(hart: usize, value: u64) {
    let at = CLINT_MTIMECMP + 8 * hart;
    write32(at + 4, u32::MAX);
    write32(at, value as u32);
    write32(at + 4, (value >> 32) as u32);
}

/// Raises or clears `hart`'s machine software interrupt.
pub fn set_msip(hart: usize, on: bool) {
    write32(CLINT_MSIP + 4 * hart, on as u32);
}

/// How the machine should end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// Power off, success.
    Pass,
    /// Power off with a failure code (the emulator's exit status).
    Fail(u16),
    /// Reset.
    Reset,
}

/// Asks the finisher to end the machine. Returns if the board did not stop (no finisher).
pub fn finish(how: Finish) {
    let word = match how {
        Finish::Pass => 0x5555,
        Finish::Fail(code) => (code as u32) << 16 | 0x3333,
        Finish::Reset => 0x7777,
    };
    write32(FINISHER, word);
    // The store may take a moment to end the machine.
    for _ in 0..10_000 {
        core::hint::spin_loop();
    }
}

/// What the device tree said: the harts that exist and the RAM.
pub struct Machine {
    /// Bit `i` set: hart `i` exists (harts `0..MAX_HARTS`).
    harts: AtomicUsize,
    ram_start: AtomicUsize,
    ram_end: AtomicUsize,
    sstc: AtomicBool,
    envcfg: AtomicUsize,
}

/// The machine, filled in by the boot hart before any other hart reads it.
pub static MACHINE: Machine = Machine {
    harts: AtomicUsize::new(0),
    ram_start: AtomicUsize::new(0),
    ram_end: AtomicUsize::new(0),
    sstc: AtomicBool::new(false),
    envcfg: AtomicUsize::new(0),
};

impl Machine {
    /// Records what the device tree said.
    pub fn set(&self, harts: usize, ram_start: usize, ram_end: usize, sstc: bool, envcfg: usize) {
        self.sstc.store(sstc, Ordering::Release);
        self.envcfg.store(envcfg, Ordering::Release);
        self.harts.store(harts, Ordering::Release);
        self.ram_start.store(ram_start, Ordering::Release);
        self.ram_end.store(ram_end, Ordering::Release);
    }

    /// Whether the harts have Sstc (S mode programs its own timer through `stimecmp`).
    pub fn sstc(&self) -> bool {
        self.sstc.load(Ordering::Acquire)
    }

    /// The `menvcfg` bits that let S and U mode use the harts' cache-block operations and
    /// (RV64) Svpbmt (0 when the device tree lists none of them).
    pub fn envcfg(&self) -> usize {
        self.envcfg.load(Ordering::Acquire)
    }

    /// The mask of existing harts.
    pub fn harts(&self) -> usize {
        self.harts.load(Ordering::Acquire)
    }

    /// Whether `hart` exists.
    pub fn has_hart(&self, hart: usize) -> bool {
        hart < MAX_HARTS && self.harts() & (1 << hart) != 0
    }

    /// Whether `[addr, addr + len)` is RAM the next stage owns (not the firmware's).
    pub fn is_guest_ram(&self, addr: usize, len: usize) -> bool {
        let start = self.ram_start.load(Ordering::Acquire);
        let end = self.ram_end.load(Ordering::Acquire);
        let Some(last) = addr.checked_add(len) else {
            return false;
        };
        addr >= start && last <= end && addr >= FW_BASE + FW_SIZE
    }
}
