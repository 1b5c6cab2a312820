//! Hart state management: each hart's HSM state, the parking loop of stopped harts, and the
//! per-hart mailbox of work another hart asked for (a supervisor IPI, remote fences).

use crate::csr::{self, irq};
use crate::platform::{self, MACHINE, MAX_HARTS};
use core::sync::atomic::{AtomicUsize, Ordering};
use sbi_spec::hsm::hart_state;

/// A state private to `hart_start` while it writes the start address: reads as
/// START_PENDING, but the parked hart does not act on it yet.
const STARTING: usize = 0x100;

struct HartSlot {
    state: AtomicUsize,
    start_addr: AtomicUsize,
    opaque: AtomicUsize,
    /// Work asked of this hart (the `WORK_*` bits).
    work: AtomicUsize,
}

#[allow(clippy::declare_interior_mutable_const)]
const SLOT: HartSlot = HartSlot {
    state: AtomicUsize::new(hart_state::STOPPED),
    start_addr: AtomicUsize::new(0),
    opaque: AtomicUsize::new(0),
    work: AtomicUsize::new(0),
};

static HARTS: [HartSlot; MAX_HARTS] = [SLOT; MAX_HARTS];

/// Raise the supervisor software interrupt.
pub const WORK_SSI: usize = 1;
/// Execute `fence.i`.
pub const WORK_FENCE_I: usize = 2;
/// Execute `sfence.vma` (all addresses, all address spaces).
pub const WORK_SFENCE_VMA: usize = 4;

/// Marks the boot hart started, every other hart of the machine stopped.
pub fn init(boot_hart: usize) {
    for (h, slot) in HARTS.iter().enumerate() {
        let s = if h == boot_hart {
            hart_state::STARTED
        } else {
            hart_state::STOPPED
        };
        slot.state.store(s, Ordering::Release);
    }
}

/// The HSM state of `hart` (callers check that it exists).
pub fn status(hart: usize) -> usize {
    match HARTS[hart].state.load(Ordering::Acquire) {
        STARTING => hart_state::START_PENDING,
        s => s,
    }
}

/// `hart_start`: hands `hart` an S-mode entry point and wakes it.
pub fn start(hart: usize, addr: usize, opaque: usize) -> Result<(), sbi_spec::binary::SbiRet> {
    use sbi_spec::binary::SbiRet;
    if !MACHINE.has_hart(hart) {
        return Err(SbiRet::invalid_param());
    }
    if !MACHINE.is_guest_ram(addr, 4) {
        return Err(SbiRet::invalid_address());
    }
    let slot = &HARTS[hart];
    if slot
        .state
        .compare_exchange(
            hart_state::STOPPED,
            STARTING,
            Ordering::AcqRel,
            Ordering::Acquire,
        )
        .is_err()
    {
        return Err(SbiRet::already_available());
    }
    slot.start_addr.store(addr, Ordering::Relaxed);
    slot.opaque.store(opaque, Ordering::Relaxed);
    slot.state
        .store(hart_state::START_PENDING, Ordering::Release);
    platform::set_msip(hart, true);
    Ok(())
}

/// Asks `hart` for `work` and interrupts it.
pub fn request(hart: usize, work: usize) {
    HARTS[hart].work.fetch_or(work, Ordering::AcqRel);
    platform::set_msip(hart, true);
}

/// Whether `hart` still has any of `work` to do.
pub fn pending(hart: usize, work: usize) -> bool {
    HARTS[hart].work.load(Ordering::Acquire) & work != 0
}

/// Whether `hart` runs the next stage (fences for stopped harts are not waited for).
pub fn is_started(hart: usize) -> bool {
    HARTS[hart].state.load(Ordering::Acquire) == hart_state::STARTED
}

/// Does the work other harts asked of this one (on a machine software interrupt, and while
/// this hart waits for others' fences, so that two harts fencing each other cannot
/// deadlock).
pub fn do_work(hart: usize) {
    platform::set_msip(hart, false);
    let work = HARTS[hart].work.load(Ordering::Acquire);
    if work == 0 {
        return;
    }
    if work & WORK_SSI != 0 {
        csr::set!(mip, irq::SSI);
    }
    if work & WORK_FENCE_I != 0 {
        // SAFETY: an instruction fence has no operands.
        unsafe { core::arch::asm!("fence.i") };
    }
    if work & WORK_SFENCE_VMA != 0 {
        // SAFETY: flushing this hart's address-translation caches.
        unsafe { core::arch::asm!("sfence.vma") };
    }
    HARTS[hart].work.fetch_and(!work, Ordering::AcqRel);
}

/// `hart_stop`: this hart leaves the next stage and parks.
pub fn stop(hart: usize) -> ! {
    HARTS[hart]
        .state
        .store(hart_state::STOPPED, Ordering::Release);
    park(hart)
}

/// Parks this hart until a `hart_start` names it, then enters the next stage. Does not write
/// the state itself: at boot a `hart_start` may already have named it.
pub fn park(hart: usize) -> ! {
    let slot = &HARTS[hart];
    csr::clear!(mie, irq::MTI);
    csr::set!(mie, irq::MSI);
    loop {
        if slot.state.load(Ordering::Acquire) == hart_state::START_PENDING {
            let addr = slot.start_addr.load(Ordering::Relaxed);
            let opaque = slot.opaque.load(Ordering::Relaxed);
            slot.work.store(0, Ordering::Release);
            platform::set_msip(hart, false);
            slot.state.store(hart_state::STARTED, Ordering::Release);
            crate::enter_next_stage(hart, opaque, addr);
        }
        // M-mode interrupts are off (mstatus.MIE = 0): wfi wakes on the pending MSIP
        // without taking a trap.
        // SAFETY: waiting for an interrupt has no memory effect.
        unsafe { core::arch::asm!("wfi") };
        platform::set_msip(hart, false);
    }
}
