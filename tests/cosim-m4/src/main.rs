//! Fief as firmware: a Cortex-M4 (QEMU `mps2-an386`) runs the `mcu32` board — the RISC-V
//! hart, the memory API, the UART, CLINT and finisher — over a small RV32 guest embedded in
//! the image (`tests/firmware/mcu32/hello.S`). Every pool, the board and the guest's flash
//! and SRAM are statics: there is no heap. The guest's UART output goes to the
//! microcontroller's UART (CMSDK APB UART0, QEMU's serial console), and the firmware exits
//! through semihosting with the guest's finisher status.
//!
//! With the `defmt` feature (on by default) the firmware and the core log through defmt: raw
//! frames go by semihosting to the host file `fief-defmt.bin` (see [`defmt_log`]), apart
//! from the guest's console.
#![no_std]
#![no_main]

use core::fmt::Write as _;
use core::mem::MaybeUninit;
use core::ptr::NonNull;

use cortex_m_rt::entry;
use fief_boards::mcu32::{Mcu32, Mcu32Devices, Unconnected};
use fief_boards::uart::SerialSink;
use fief_boards::virt32::RunOutcome;
use fief_core::cpu::riscv::Hart;
use fief_core::memory::RamBlock;

/// The guest image, programmed into the guest's flash at start.
const GUEST: &[u8] = include_bytes!("../../firmware/mcu32/hello.bin");
/// Guest flash: the image, rounded up to a word.
const FLASH_SIZE: usize = (GUEST.len() + 3) & !3;
/// Guest SRAM (the guest's stack).
const SRAM_SIZE: usize = 4096;
/// Instructions the guest may run before the firmware gives up.
const MAX_INSNS: u64 = 1_000_000;

/// The whole board: pools, devices, IRQ wiring, all `const`-built.
static BOARD: Mcu32Devices<'static, Unconnected, Unconnected, Unconnected> = Mcu32Devices::new();
// Guest memory. Only raw pointers to them are ever made (no `&mut`), handed to the core once.
static mut FLASH: [u8; FLASH_SIZE] = [0; FLASH_SIZE];
static mut SRAM: [u8; SRAM_SIZE] = [0; SRAM_SIZE];
/// The hart (registers, CSRs, TLB, decode cache): a static too, so that the RAM budget
/// counts it instead of hiding it on the stack.
static mut HART: MaybeUninit<Hart<'static>> = MaybeUninit::uninit();

/// The firmware's log lines: defmt with the `defmt` feature, nothing otherwise. Arguments
/// use explicit defmt types (`{=u32}`) so that the host decodes them without the ELF's DWARF.
macro_rules! log {
    ($level:ident, $($arg:tt)*) => {
        #[cfg(feature = "defmt")]
        defmt::$level!($($arg)*);
    };
}

#[cfg(feature = "defmt")]
mod defmt_log {
    //! A defmt global logger on a channel of its own: the rzCOBS-encoded frames are written
    //! through semihosting (`SYS_OPEN` "wb", `SYS_WRITE`) to the host file `fief-defmt.bin`,
    //! relative to QEMU's working directory; `tests/tests/cosim.rs` decodes them. Logging
    //! never stops the firmware: without the file, the frames are dropped.
    use core::cell::UnsafeCell;
    use core::sync::atomic::{AtomicBool, Ordering};

    use cortex_m_semihosting::{nr, syscall};

    /// The host file, NUL-terminated for `SYS_OPEN` (whose length excludes the NUL).
    const PATH: &[u8] = b"fief-defmt.bin\0";
    /// Bytes buffered before a `SYS_WRITE` (a trap to the host each); one per frame at most.
    const BUF: usize = 64;

    struct Sink {
        /// Semihosting handle: `NOT_OPENED` until the first write, -1 if opening failed.
        fd: isize,
        buf: [u8; BUF],
        len: usize,
        /// Interrupts were enabled at `acquire` (restored at `release`).
        restore_irq: bool,
    }

    const NOT_OPENED: isize = -2;

    impl Sink {
        fn push(&mut self, bytes: &[u8]) {
            for &b in bytes {
                if self.len == BUF {
                    self.flush();
                }
                self.buf[self.len] = b;
                self.len += 1;
            }
        }

        fn flush(&mut self) {
            if self.fd == NOT_OPENED {
                // SAFETY: a semihosting call with a valid NUL-terminated path.
                self.fd = unsafe {
                    syscall!(
                        OPEN,
                        PATH.as_ptr(),
                        nr::open::W_TRUNC_BINARY,
                        PATH.len() - 1
                    )
                } as isize;
            }
            if self.fd >= 0 && self.len > 0 {
                // SAFETY: a semihosting call with an open handle and `len` valid bytes. A
                // short write loses log bytes, nothing else.
                unsafe { syscall!(WRITE, self.fd, self.buf.as_ptr(), self.len) };
            }
            self.len = 0;
        }
    }

    /// Global logger state, touched only between `acquire` and `release`.
    struct Exclusive<T>(UnsafeCell<T>);
    // SAFETY: one core; `acquire` disables interrupts and `TAKEN` refuses re-entry, so one
    // frame at a time has access until `release`.
    unsafe impl<T> Sync for Exclusive<T> {}

    static TAKEN: AtomicBool = AtomicBool::new(false);
    static ENCODER: Exclusive<defmt::Encoder> = Exclusive(UnsafeCell::new(defmt::Encoder::new()));
    static SINK: Exclusive<Sink> = Exclusive(UnsafeCell::new(Sink {
        fd: NOT_OPENED,
        buf: [0; BUF],
        len: 0,
        restore_irq: false,
    }));

    #[defmt::global_logger]
    struct Logger;

    // SAFETY: `acquire`/`release` bracket every frame exclusively (see `Exclusive`).
    unsafe impl defmt::Logger for Logger {
        fn acquire() {
            let enabled = cortex_m::register::primask::read().is_active();
            cortex_m::interrupt::disable();
            if TAKEN.swap(true, Ordering::Acquire) {
                panic!("defmt logger taken reentrantly");
            }
            // SAFETY: exclusive from here to `release` (see `Exclusive`).
            let (encoder, sink) = unsafe { (&mut *ENCODER.0.get(), &mut *SINK.0.get()) };
            sink.restore_irq = enabled;
            encoder.start_frame(|b| sink.push(b));
        }

        unsafe fn flush() {
            // SAFETY: called between `acquire` and `release`.
            unsafe { (*SINK.0.get()).flush() };
        }

        unsafe fn release() {
            // SAFETY: called after `acquire`, which made the state ours.
            let (encoder, sink) = unsafe { (&mut *ENCODER.0.get(), &mut *SINK.0.get()) };
            encoder.end_frame(|b| sink.push(b));
            sink.flush();
            let restore = sink.restore_irq;
            TAKEN.store(false, Ordering::Release);
            if restore {
                // SAFETY: interrupts were enabled when `acquire` disabled them.
                unsafe { cortex_m::interrupt::enable() };
            }
        }

        unsafe fn write(bytes: &[u8]) {
            // SAFETY: called between `acquire` and `release`.
            let (encoder, sink) = unsafe { (&mut *ENCODER.0.get(), &mut *SINK.0.get()) };
            encoder.write(bytes, |b| sink.push(b));
        }
    }
}

/// CMSDK APB UART0 of the MPS2 boards.
struct Uart0;

impl Uart0 {
    const BASE: usize = 0x4000_4000;
    const DATA: *mut u32 = Self::BASE as *mut u32;
    const STATE: *mut u32 = (Self::BASE + 4) as *mut u32;
    const CTRL: *mut u32 = (Self::BASE + 8) as *mut u32;
    const BAUDDIV: *mut u32 = (Self::BASE + 0x10) as *mut u32;

    fn init() {
        // SAFETY: the UART's documented registers; nothing else drives this UART.
        unsafe {
            Self::BAUDDIV.write_volatile(16);
            Self::CTRL.write_volatile(1); // TX enable
        }
    }

    fn put(byte: u8) {
        // SAFETY: as in `init`.
        unsafe {
            while Self::STATE.read_volatile() & 1 != 0 {} // TX buffer full
            Self::DATA.write_volatile(byte as u32);
        }
    }
}

impl SerialSink for Uart0 {
    fn write_byte(&self, byte: u8) {
        Uart0::put(byte);
    }
}

impl core::fmt::Write for Uart0 {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        s.bytes().for_each(Uart0::put);
        Ok(())
    }
}

static CONSOLE: Uart0 = Uart0;

/// Semihosting `SYS_EXIT_EXTENDED` (`ADP_Stopped_ApplicationExit` with a status code), so
/// QEMU exits with the guest's status rather than just 0 or 1.
fn exit(code: u32) -> ! {
    let block = [0x20026usize, code as usize];
    loop {
        // SAFETY: a semihosting call with a valid parameter block; QEMU ends here.
        unsafe {
            cortex_m_semihosting::syscall1(0x20, block.as_ptr() as usize);
        }
    }
}

#[entry]
fn main() -> ! {
    Uart0::init();
    let mut out = Uart0;
    // SAFETY: `main` runs once; these are the only pointers ever made to the two statics,
    // and the board owns them from here on (raw pointers, no references).
    let (flash, sram) = unsafe {
        (
            RamBlock::from_raw_parts(NonNull::new_unchecked((&raw mut FLASH).cast()), FLASH_SIZE),
            RamBlock::from_raw_parts(NonNull::new_unchecked((&raw mut SRAM).cast()), SRAM_SIZE),
        )
    };
    BOARD.uart.set_sink(&CONSOLE);
    let board = match Mcu32::build(&BOARD, flash, sram) {
        Ok(board) => board,
        Err(e) => {
            log!(error, "cosim: building the board failed: {}", e);
            let _ = writeln!(out, "cosim: building the board failed: {e}");
            exit(250)
        }
    };
    log!(
        info,
        "cosim: board built; guest flash {=u32} bytes, SRAM {=u32} bytes",
        FLASH_SIZE as u32,
        SRAM_SIZE as u32
    );
    if let Err(e) = board.load_flash(GUEST, 0) {
        log!(error, "cosim: loading the guest failed: {}", e);
        let _ = writeln!(out, "cosim: loading the guest failed: {e}");
        exit(251)
    }
    let slot = &raw mut HART;
    // SAFETY: `main` runs once; this is the only reference ever made to `HART`.
    let hart = unsafe { (*slot).write(board.hart()) };
    log!(
        info,
        "cosim: guest started ({=u32} bytes)",
        GUEST.len() as u32
    );
    let code = match board.run(hart, MAX_INSNS, 10_000) {
        RunOutcome::Finished(finish) => {
            log!(
                info,
                "cosim: guest finished with status {=u32}",
                finish.exit_code()
            );
            finish.exit_code()
        }
        other => {
            log!(error, "cosim: the guest did not finish: {}", other);
            let _ = writeln!(out, "cosim: the guest did not finish: {other:?}");
            252
        }
    };
    exit(code)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let _ = writeln!(Uart0, "cosim: panic: {info}");
    exit(253)
}
