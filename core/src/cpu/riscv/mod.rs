//! A RISC-V hart: RV32IMAFDC + Zicsr + Zifencei with M, S and U privilege (privileged spec
//! 1.12), traps and interrupts, Sv32, Sv39, Sv48 and Sv57 translation (Svnapot, Svpbmt)
//! with a software TLB, PMP, and a decoded basic-block cache. `no_std`, no allocation.
//! RV32 and RV64: the XLEN is a value in the hart ([`Xlen`]), registers are `u64` kept
//! truncated to XLEN.
//!
//! # What it owns
//!
//! * [`insn`], [`decode`](mod@decode): the decoded form and the decoder (32-bit and compressed).
//! * [`csr`]: CSR state, numbers, access rules; [`trap`]: causes, privilege, trap entry
//!   and `xret`.
//! * `mmu`: `satp` modes, the page-table walk (Sv32; Sv39/48/57 with the `rv64` feature),
//!   permissions, A/D updates, `sfence.vma`; `pmp`: physical memory protection
//!   (64 entries, OFF/TOR/NA4/NAPOT, locks), checked when a TLB entry is filled; [`tlb`]:
//!   the TLB; `block`: the decoded basic-block cache; `misaligned`: misaligned loads and
//!   stores; `trigger`: debug triggers (Sdtrig) and the debugger's hardware breakpoints
//!   and watchpoints.
//! * `word`: RV64's word operations (`addw`, `sraiw`, `divuw`, ...), one ALU for the three
//!   execution paths.
//! * [`hart`]: the architectural state and its accessors; `run`: the run loop; `block_exec`: the
//!   block executor; [`tier`]: the hook through which the host's translating tier runs
//!   decoded blocks ([`tier::BlockTier`], [`Hart::run_with`]); `irqs`: the interrupt and stop word ([`HartIrqs`]); `execute`: the
//!   general interpreter; `memops`: fetches, loads, stores, AMOs and LR/SC through the TLB.
//! * `bitmanip`: Zba, Zbb, Zbc, Zbs and Zicond (cargo feature `ext`), run inside blocks;
//!   [`cbo`]: the cache-block operations of Zicbom and Zicboz (feature `ext`) and their
//!   block sizes.
//! * [`fpu`]: the F and D extensions (cargo feature `fpu`): FP registers, `fcsr`, the FP
//!   instructions, in blocks and on the general path; [`softfloat`]: their IEEE 754
//!   arithmetic, bit-exact with QEMU.
//!
//! The hart reaches memory only through a [`Bus`](crate::cpu::Bus) — in a machine, a
//! [`ReadSection`](crate::memory::ReadSection) pinned for one time slice (rule L7); guest
//! mistakes become exceptions (rule L9), never host panics.
//!
//! # API
//!
//! ```text
//! let irqs = HartIrqs::new();                        // shared with devices (other threads)
//! let mut hart = Hart::with_irqs(0, Xlen::Rv32, 0x8000_0000, &irqs);   // or Hart::new(..)
//! let section = space.section()?;                    // pin the view for this slice
//! match hart.run(&section, 10_000) { Exit::BudgetExhausted | Exit::Wfi | .. => .. }
//! irqs.raise(irq::MEI); irqs.lower(irq::MEI); irqs.request_stop();
//! hart.reg(10); hart.set_reg(10, 1); hart.pc(); hart.set_pc(..);
//! hart.csr(csr::num::MCAUSE); hart.set_csr(csr::num::MTVEC, ..); hart.set_time(mtime);
//! hart.set_debug_ebreak(true);                       // ebreak -> Exit::Breakpoint(pc)
//! hart.step(&section);                               // run(.., 1)
//! ```
//!
//! # Design choices
//!
//! * **x0**: the decoder maps `rd = 0` to slot 32, which absorbs writes, so the executor
//!   never tests for x0. The file has 256 slots (33 used) so `u8` indices need no bounds
//!   check.
//! * **Misaligned loads and stores** succeed, as on QEMU (`misaligned`): inside a host
//!   page on the TLB fast path, otherwise checked page by page before anything is written.
//!   Misaligned LR and AMOs raise load and store/AMO address-misaligned exceptions
//!   (`mtval` = the address); a misaligned SC fails without a trap, as on QEMU 7.2.
//! * **Bus errors** become access faults with `mtval` = the virtual address; unmapped
//!   instruction fetches are instruction access faults.
//! * **LR/SC**: the reservation is `(physical address, size, value loaded)`. SC succeeds
//!   only if the reservation is for the same address and a compare-and-swap from the
//!   loaded value to the new one succeeds on the host memory, so a store by another hart
//!   or by DMA that changed the word makes SC fail, with no per-store bookkeeping on the
//!   fast store path (which writes host memory directly, so it could not bump a shared
//!   epoch or break other harts' reservations cheaply). As in QEMU, a store of the same
//!   value that was loaded (ABA) is not seen. SC always clears the reservation; so does
//!   every trap.
//! * **AMOs** on RAM are host atomics on the guest word (`AtomicU32::from_ptr` and
//!   `fetch_*`), so harts on different threads are correct; on MMIO they are a read and a
//!   write through the bus.
//! * **Interrupts**: devices set bits of [`HartIrqs`] (one `AtomicU32`); `mip` reads them
//!   OR-ed with the software-written SSIP/STIP/SEIP. Priority MEI > MSI > MTI > SEI > SSI >
//!   STI, M-mode ones first, delegation through `mideleg`.
//! * **Counters**: one cycle per instruction; `time` is set by the embedding
//!   ([`Hart::set_time`]); a CSR write to `mcycle`/`minstret` replaces that instruction's
//!   increment; `mcountinhibit`, `mcounteren`/`scounteren` and the PMU as QEMU 7.2's
//!   (see [`csr`]).
//! * **Debug triggers** (Sdtrig, `trigger`): two, as QEMU 7.2's; with none armed they cost
//!   nothing, since a page with a trigger loses its TLB tags and so takes the checked slow
//!   paths. A debugger's hardware breakpoints and watchpoints ([`Hart::add_hw_breakpoint`],
//!   [`Hart::add_watchpoint`]) share the matching and stop `run` with
//!   [`Exit::Breakpoint`].
//! * **TLB**: see [`tlb`].
//! * **Decoded blocks** (`block`): the run loop executes pre-decoded basic blocks of up to
//!   16 instructions, in one page, ending at the first jump or at the first instruction
//!   it leaves to the general executor (CSR and system instructions, fences, AMOs, LR/SC;
//!   RV64's `ld`/`lwu`/`sd` and word operations run in blocks with the `rv64` feature, the
//!   shared `word` ALU); a conditional branch leaves the block only when taken. A fixed pool (4096 blocks, 16384-slot index on
//!   hosts; 32 and 256 on bare metal), no heap. Inside a block there is no fetch, TLB or
//!   decode work per instruction: one 8-byte load of the decoded form and one `match`.
//! * **Self-modifying code**: a block is keyed by the virtual `pc` and checked against
//!   guest memory (the words it was decoded from, through the fetch page's host pointer)
//!   at its first entry in each *code epoch*; later entries compare a stamp. A new epoch
//!   starts when code may have changed or the `pc`'s translation may have: `fence.i`, a
//!   new privilege, `satp`, `sfence.vma` and PMP writes, MMIO accesses, page walks that
//!   set A/D bits, every store or AMO of this hart to a 64-byte host line that holds a
//!   checked block (a 1024-bit filter tested on each store), every write to guest memory
//!   the memory counts (DMA leases, debuggers, loaders: a count compared at each block
//!   entry), and every time slice unless the hart is its machine's only one. Other CSR
//!   instructions, AMOs and traps keep it. So this hart's own stores are seen by the next
//!   instruction (such a store also ends the running block), DMA's and a debugger's at the
//!   next block, and plain stores by other harts at the latest at this hart's next
//!   `fence.i` or time slice: what Zifencei requires, and more. Details in `block`.
//! * **Interrupts** are checked between blocks (one relaxed atomic load): before the first
//!   instruction of a `run`, after every jump, taken branch, trap, system instruction and MMIO
//!   access, and at the latest after 16 instructions, as QEMU checks at translation-block
//!   boundaries. A device interrupt raised by another thread may therefore be taken up to
//!   15 instructions later than with a check per instruction; one raised by this hart's own
//!   MMIO store or CSR write is taken before the next instruction, as before. `wfi` and
//!   stop requests are unchanged.
//!   The block executor makes the same check when it goes on into the next block itself
//!   (a loop's block, or with the interpreter alone the next block of the page).
//! * **Budget**: a block is cut to the remaining budget, so `run(n)` retires at most `n`
//!   instructions (exactly as before: traps use budget without retiring). `minstret` and
//!   `mcycle` are added in batches, exactly, since `mcountinhibit` only changes on the
//!   general path. Exceptions are precise: a trapping load or store in a block sets `mepc`
//!   to its own `pc` (from the block's offsets) and `mtval` as before, with the
//!   instructions before it retired.

mod bitmanip;
mod block;
mod block_exec;
pub mod cbo;
pub mod csr;
pub mod decode;
mod execute;
pub mod fpu;
pub mod hart;
mod host;
pub mod insn;
mod irqs;
pub mod isa;
mod memops;
mod misaligned;
mod mmu;
mod pmp;
mod run;
#[cfg(feature = "fpu")]
pub mod softfloat;
pub mod tier;
pub mod tlb;
pub mod trap;
mod trigger;
mod word;

#[cfg(test)]
#[allow(clippy::unwrap_used, missing_docs)]
mod tests;

pub use block::{BLOCK_INSNS, BLOCK_POOL};
pub use csr::CsrError;
pub use decode::{decode, decode_compressed};
pub use hart::{Exit, Hart, HartIrqs};
pub use insn::{Insn, Op};
pub use trap::{cause, irq, Exception, Priv, TrapRecord};
pub use trigger::{DebugHit, WatchKind, DEBUG_POINTS, TRIGGERS};

/// The width of the integer registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Xlen {
    /// 32-bit registers (RV32).
    Rv32,
    /// 64-bit registers (RV64).
    Rv64,
}
