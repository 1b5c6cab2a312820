//! Fief's SBI firmware (`fief-sbi`): the default `-bios` of `fief run`, on the RustSBI crates.
//!
//! Every hart enters at `_start` (the RAM base, M mode) with `a0` = its hart ID and `a1` = the
//! device tree. One hart wins a lottery and boots: it reads the tree (harts, RAM), takes the
//! firmware's region out of `/memory`, and enters the next stage, at RAM base + 4 MiB (on
//! RV64, 2 MiB), in S mode with `a0` = hart ID and `a1` = the tree. The others park until the next stage starts
//! them through HSM. Modules: [`platform`] (devices, what the tree said), [`dt`] (the tree),
//! [`sbi`] (the SBI extensions), [`hsm`] (hart states, parking, cross-hart work), [`trap`]
//! (M-mode traps), [`csr`].
#![no_std]
#![no_main]

mod csr;
mod dt;
mod hsm;
mod platform;
mod sbi;
mod trap;

use core::fmt::Write;
use core::sync::atomic::{AtomicBool, Ordering};
use csr::{cause, irq};
use platform::{Finish, FW_BASE, FW_SIZE, MACHINE, MAX_HARTS, NEXT_STAGE_OFFSET, STACK_SIZE};

core::arch::global_asm!(
    r#"
    .section .text.entry, "ax"
    .globl _start
_start:
    csrw mie, zero
    la t0, fief_trap_entry
    csrw mtvec, t0
    li t0, {max_harts}
    bgeu a0, t0, 2f
    la sp, __stack_top
    li t0, {stack_size}
    mul t0, t0, a0
    sub sp, sp, t0
    csrw mscratch, sp
    call {main}
2:  wfi
    j 2b
"#,
    max_harts = const MAX_HARTS,
    stack_size = const STACK_SIZE,
    main = sym fief_main,
);

/// Set by the hart that boots; the others park.
static LOTTERY: AtomicBool = AtomicBool::new(false);
/// Set once the boot hart has read the device tree and set the hart states.
static READY: AtomicBool = AtomicBool::new(false);

/// The UART, for the firmware's own lines.
struct Uart;

impl Write for Uart {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for b in s.bytes() {
            if b == b'\n' {
                platform::putc(b'\r');
            }
            platform::putc(b);
        }
        Ok(())
    }
}

/// Prints `fief-sbi: <message>` and powers the machine off with failure code 3.
pub fn fatal(message: core::fmt::Arguments) -> ! {
    let _ = writeln!(Uart, "fief-sbi: {message}; powering off");
    platform::finish(Finish::Fail(3));
    loop {
        // SAFETY: waiting for an interrupt has no memory effect.
        unsafe { core::arch::asm!("wfi") };
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    fatal(format_args!(
        "hart {}: firmware panic: {}",
        csr::read!(mhartid),
        info.message()
    ))
}

/// Per-hart M-mode setup, the same on every hart (as OpenSBI's): PMP, delegation, counters.
fn init_hart() {
    // PMP: entry 0 denies the firmware's region to S and U mode (not locked, so M mode keeps
    // it); entry 1 opens everything else (S and U code needs an open entry).
    csr::write!(pmpaddr0, (FW_BASE >> 2) | ((FW_SIZE >> 3) - 1));
    csr::write!(pmpaddr1, usize::MAX);
    csr::write!(pmpcfg0, (0x18) | (0x1f << 8));
    // Exceptions S mode handles itself (OpenSBI's set), plus misaligned loads and stores,
    // which Fief's hart raises and Linux emulates in S mode (OpenSBI emulates them in M).
    csr::write!(
        medeleg,
        1 << cause::INSN_MISALIGNED
            | 1 << cause::BREAKPOINT
            | 1 << cause::LOAD_MISALIGNED
            | 1 << cause::STORE_MISALIGNED
            | 1 << cause::USER_ECALL
            | 1 << cause::INSN_PAGE_FAULT
            | 1 << cause::LOAD_PAGE_FAULT
            | 1 << cause::STORE_PAGE_FAULT
    );
    csr::write!(mideleg, irq::SSI | irq::STI | irq::SEI);
    // cycle, time and instret readable in S mode.
    csr::write!(mcounteren, 7);
    csr::write!(mie, irq::MSI);
}

extern "C" fn fief_main(hart: usize, dtb: usize) -> ! {
    init_hart();
    if LOTTERY.swap(true, Ordering::AcqRel) {
        while !READY.load(Ordering::Acquire) {
            core::hint::spin_loop();
        }
        hsm::park(hart);
    }
    // SAFETY: a1 is the device tree the loader placed in RAM for the next stage.
    let tree = match unsafe { dt::read_and_patch(dtb) } {
        Ok(t) => t,
        Err(e) => fatal(format_args!("hart {hart}: {e} (a1 = {dtb:#x})")),
    };
    MACHINE.set(
        tree.harts | 1 << hart,
        tree.ram_start,
        tree.ram_end,
        tree.sstc,
        tree.envcfg,
    );
    hsm::init(hart);
    READY.store(true, Ordering::Release);
    let next = tree.ram_start + NEXT_STAGE_OFFSET;
    let _ = writeln!(
        Uart,
        "fief-sbi: RustSBI {}, {} hart(s); the next stage starts at {next:#x} in S mode",
        rustsbi::VERSION,
        tree.harts.count_ones()
    );
    enter_next_stage(hart, dtb, next)
}

/// The address the next stage's `ra` holds: returning there lands in the firmware's region,
/// which PMP denies to S mode, and the trap handler reports it.
const RETURN_TRAP: usize = FW_BASE;

/// Enters S mode at `addr` with `a0` = `hart`, `a1` = `arg`, paging off, this hart's M stack
/// fresh for the next trap.
pub fn enter_next_stage(hart: usize, arg: usize, addr: usize) -> ! {
    let stack_top = {
        extern "C" {
            static __stack_top: u8;
        }
        // Only the symbol's address is taken.
        core::ptr::addr_of!(__stack_top) as usize - hart * STACK_SIZE
    };
    csr::write!(mscratch, stack_top);
    if MACHINE.sstc() {
        // Sstc: S mode may use `stimecmp` (menvcfg.STCE, bit 63: bit 31 of menvcfgh on
        // rv32), as OpenSBI allows when the hart has it (QEMU 7.2's virt harts do, and
        // Fief's; without it the SBI TIME extension drives mtimecmp).
        #[cfg(target_pointer_width = "32")]
        // SAFETY: menvcfgh exists on harts with Sstc (privileged spec 1.12).
        unsafe {
            core::arch::asm!("csrs 0x31a, {0}", in(reg) 1usize << 31)
        };
        #[cfg(target_pointer_width = "64")]
        // SAFETY: menvcfg exists on harts with Sstc.
        unsafe {
            core::arch::asm!("csrs 0x30a, {0}", in(reg) 1usize << 63)
        };
    }
    let envcfg = MACHINE.envcfg();
    if envcfg != 0 {
        // Zicbom/Zicboz: S and U mode may use cbo.* (menvcfg.CBIE/CBCFE/CBZE, in the low
        // word on rv32 too); Svpbmt: PBMTE (RV64); as OpenSBI enables them when the hart
        // has them.
        // SAFETY: menvcfg exists on harts that list these extensions (privileged spec 1.12).
        unsafe { core::arch::asm!("csrs 0x30a, {0}", in(reg) envcfg) };
    }
    csr::write!(satp, 0);
    csr::write!(stvec, 0);
    csr::write!(sie, 0);
    csr::write!(mepc, addr);
    let status = csr::read!(mstatus);
    csr::write!(
        mstatus,
        (status
            & !(csr::mstatus::MPP_MASK
                | csr::mstatus::MPIE
                | csr::mstatus::SIE
                | csr::mstatus::SPIE))
            | csr::mstatus::MPP_S
    );
    // SAFETY: leaves M mode for good on this path; the next stage owns the registers.
    unsafe {
        core::arch::asm!(
            "mret",
            in("a0") hart,
            in("a1") arg,
            in("ra") RETURN_TRAP,
            options(noreturn)
        )
    }
}
