//! The SBI the next stage calls: RustSBI's extension traits over the platform (Base through
//! `EnvInfo`, TIME, IPI, RFENCE, HSM, SRST, DBCN; PMU and the others are absent, so probing
//! answers 0 and calls answer NOT_SUPPORTED), and the legacy (v0.1) calls RustSBI 0.4 no
//! longer dispatches, hand-written here: set_timer, console putchar/getchar, shutdown.

use crate::csr::{self, irq};
use crate::hsm;
use crate::platform::{self, Finish, MACHINE, MAX_HARTS};
use rustsbi::{HartMask, Physical, RustSBI, SbiRet};
use sbi_spec::{legacy, srst};

/// The harts a hart mask names, as a bit mask; INVALID_PARAM if it names one that does not
/// exist (SBI 2.0, section 3.1).
fn harts_in(mask: HartMask) -> Result<usize, SbiRet> {
    let (bits, base) = mask.into_inner();
    if base == usize::MAX {
        return Ok(MACHINE.harts());
    }
    let mut out = 0;
    for i in 0..usize::BITS as usize {
        if bits & (1 << i) == 0 {
            continue;
        }
        let hart = base.checked_add(i).ok_or(SbiRet::invalid_param())?;
        if !MACHINE.has_hart(hart) {
            return Err(SbiRet::invalid_param());
        }
        out |= 1 << hart;
    }
    Ok(out)
}

fn this_hart() -> usize {
    csr::read!(mhartid)
}

/// Asks every started hart in `harts` for `work` and, for fences, waits until each is done.
fn broadcast(harts: usize, work: usize, wait: bool) {
    let me = this_hart();
    for h in 0..MAX_HARTS {
        if harts & (1 << h) != 0 && (h == me || hsm::is_started(h)) {
            hsm::request(h, work);
        }
    }
    if !wait {
        return;
    }
    for h in 0..MAX_HARTS {
        if harts & (1 << h) == 0 {
            continue;
        }
        while hsm::pending(h, work) && (h == me || hsm::is_started(h)) {
            // Serve fences asked of this hart meanwhile (two harts may fence each other).
            hsm::do_work(me);
            core::hint::spin_loop();
        }
    }
}

/// The console on the UART.
pub struct Console;

impl rustsbi::Console for Console {
    fn write(&self, bytes: Physical<&[u8]>) -> SbiRet {
        let (n, lo, hi) = (
            bytes.num_bytes(),
            bytes.phys_addr_lo(),
            bytes.phys_addr_hi(),
        );
        if hi != 0 || !MACHINE.is_guest_ram(lo, n) {
            return SbiRet::invalid_param();
        }
        for i in 0..n {
            // SAFETY: `lo..lo + n` is RAM of the next stage (checked above); M mode reads it
            // physically.
            platform::putc(unsafe { core::ptr::read_volatile((lo + i) as *const u8) });
        }
        SbiRet::success(n)
    }

    fn read(&self, bytes: Physical<&mut [u8]>) -> SbiRet {
        let (n, lo, hi) = (
            bytes.num_bytes(),
            bytes.phys_addr_lo(),
            bytes.phys_addr_hi(),
        );
        if hi != 0 || !MACHINE.is_guest_ram(lo, n) {
            return SbiRet::invalid_param();
        }
        let mut got = 0;
        while got < n {
            let Some(b) = platform::getc() else { break };
            // SAFETY: as in `write`.
            unsafe { core::ptr::write_volatile((lo + got) as *mut u8, b) };
            got += 1;
        }
        SbiRet::success(got)
    }

    fn write_byte(&self, byte: u8) -> SbiRet {
        platform::putc(byte);
        SbiRet::success(0)
    }
}

/// The timer: the CLINT's `mtimecmp`; its M-mode interrupt becomes the S-mode one.
pub struct Timer;

impl rustsbi::Timer for Timer {
    fn set_timer(&self, stime_value: u64) {
        if MACHINE.sstc() {
            // With Sstc, STIP follows `stimecmp` (M-mode writes to it are ignored), as
            // OpenSBI does it.
            set_stimecmp(stime_value);
            return;
        }
        platform::set_mtimecmp(this_hart(), stime_value);
        csr::clear!(mip, irq::STI);
        csr::set!(mie, irq::MTI);
    }
}

/// Writes `stimecmp` (Sstc) without a spurious early match on the way.
fn set_stimecmp(value: u64) {
    #[cfg(target_pointer_width = "32")]
    // SAFETY: stimecmp/stimecmph exist on harts with Sstc (the caller checked).
    unsafe {
        core::arch::asm!(
            "csrw 0x15d, {max}",
            "csrw 0x14d, {lo}",
            "csrw 0x15d, {hi}",
            max = in(reg) usize::MAX,
            lo = in(reg) value as usize,
            hi = in(reg) (value >> 32) as usize,
        )
    };
    #[cfg(target_pointer_width = "64")]
    // SAFETY: as above.
    unsafe {
        core::arch::asm!("csrw 0x14d, {0}", in(reg) value as usize)
    };
}

/// Supervisor IPIs through the CLINT's `msip`.
pub struct Ipi;

impl rustsbi::Ipi for Ipi {
    fn send_ipi(&self, hart_mask: HartMask) -> SbiRet {
        match harts_in(hart_mask) {
            Ok(harts) => {
                broadcast(harts, hsm::WORK_SSI, false);
                SbiRet::success(0)
            }
            Err(e) => e,
        }
    }
}

/// Remote fences: every named hart runs `fence.i` or a full `sfence.vma` (flushing more
/// than the range asked is allowed) before the call returns.
pub struct Fence;

impl Fence {
    fn run(mask: HartMask, work: usize) -> SbiRet {
        match harts_in(mask) {
            Ok(harts) => {
                broadcast(harts, work, true);
                SbiRet::success(0)
            }
            Err(e) => e,
        }
    }
}

impl rustsbi::Fence for Fence {
    fn remote_fence_i(&self, hart_mask: HartMask) -> SbiRet {
        Self::run(hart_mask, hsm::WORK_FENCE_I)
    }

    fn remote_sfence_vma(&self, hart_mask: HartMask, _start: usize, _size: usize) -> SbiRet {
        Self::run(hart_mask, hsm::WORK_SFENCE_VMA)
    }

    fn remote_sfence_vma_asid(
        &self,
        hart_mask: HartMask,
        _start: usize,
        _size: usize,
        _asid: usize,
    ) -> SbiRet {
        Self::run(hart_mask, hsm::WORK_SFENCE_VMA)
    }
}

/// Hart state management (start, stop, status; no suspend).
pub struct Hsm;

impl rustsbi::Hsm for Hsm {
    fn hart_start(&self, hartid: usize, start_addr: usize, opaque: usize) -> SbiRet {
        match hsm::start(hartid, start_addr, opaque) {
            Ok(()) => SbiRet::success(0),
            Err(e) => e,
        }
    }

    fn hart_stop(&self) -> SbiRet {
        hsm::stop(this_hart())
    }

    fn hart_get_status(&self, hartid: usize) -> SbiRet {
        if !MACHINE.has_hart(hartid) {
            return SbiRet::invalid_param();
        }
        SbiRet::success(hsm::status(hartid))
    }
}

/// System reset through the SiFive test device.
pub struct Reset;

impl rustsbi::Reset for Reset {
    fn system_reset(&self, reset_type: u32, reset_reason: u32) -> SbiRet {
        let failure = match reset_reason {
            srst::RESET_REASON_NO_REASON => false,
            srst::RESET_REASON_SYSTEM_FAILURE => true,
            // SBI-implementation and vendor reasons.
            r if r >= 0xE000_0000 => false,
            _ => return SbiRet::invalid_param(),
        };
        let how = match reset_type {
            srst::RESET_TYPE_SHUTDOWN if failure => Finish::Fail(1),
            srst::RESET_TYPE_SHUTDOWN => Finish::Pass,
            srst::RESET_TYPE_COLD_REBOOT | srst::RESET_TYPE_WARM_REBOOT => Finish::Reset,
            t if t >= 0xF000_0000 => return SbiRet::not_supported(),
            _ => return SbiRet::invalid_param(),
        };
        platform::finish(how);
        SbiRet::failed()
    }
}

/// Base extension: the machine's ID registers.
pub struct Info;

impl rustsbi::EnvInfo for Info {
    fn mvendorid(&self) -> usize {
        csr::read!(mvendorid)
    }
    fn marchid(&self) -> usize {
        csr::read!(marchid)
    }
    fn mimpid(&self) -> usize {
        csr::read!(mimpid)
    }
}

/// The firmware's SBI: RustSBI's dispatcher over the extensions above.
#[derive(rustsbi::RustSBI)]
pub struct FiefSbi {
    console: Console,
    timer: Timer,
    ipi: Ipi,
    fence: Fence,
    hsm: Hsm,
    reset: Reset,
    info: Info,
}

/// The instance every hart calls.
pub static SBI: FiefSbi = FiefSbi {
    console: Console,
    timer: Timer,
    ipi: Ipi,
    fence: Fence,
    hsm: Hsm,
    reset: Reset,
    info: Info,
};

/// The result of an `ecall`: the new `a0` and, unless a legacy call, `a1`.
pub struct Answer {
    /// `a0`.
    pub a0: usize,
    /// `a1`, or `None` to leave it.
    pub a1: Option<usize>,
}

/// Handles an `ecall` from S mode: extension `a7`, function `a6`, arguments `a0..a5`.
pub fn ecall(eid: usize, fid: usize, args: [usize; 6]) -> Answer {
    let legacy = |a0: usize| Answer { a0, a1: None };
    match eid {
        legacy::LEGACY_SET_TIMER => {
            rustsbi::Timer::set_timer(&Timer, (args[1] as u64) << 32 | args[0] as u64);
            legacy(0)
        }
        legacy::LEGACY_CONSOLE_PUTCHAR => {
            platform::putc(args[0] as u8);
            legacy(0)
        }
        legacy::LEGACY_CONSOLE_GETCHAR => legacy(platform::getc().map_or(usize::MAX, usize::from)),
        legacy::LEGACY_SHUTDOWN => {
            platform::finish(Finish::Pass);
            legacy(SbiRet::failed().error)
        }
        // The other legacy calls (IPIs and fences through a mask in memory) are not offered;
        // Linux uses the IPI and RFENCE extensions.
        0x03..=0x07 => legacy(SbiRet::not_supported().error),
        _ => {
            let ret = SBI.handle_ecall(eid, fid, args);
            Answer {
                a0: ret.error,
                a1: Some(ret.value),
            }
        }
    }
}
