//! When the code epoch ends and when it does not (`block`): atomics that write a checked
//! block are seen at once; a new privilege, a `satp` write or an `sfence.vma` makes the
//! same virtual `pc` run the code it now translates to; and CSR instructions, AMOs, LR/SC
//! and traps keep the epoch, so blocks are not checked against memory again after each of
//! them; a round trip to another privilege finds its blocks still checked (code spaces),
//! and sees a store that the other privilege made to them.

use std::vec;
use std::vec::Vec;

use std::boxed::Box;
use std::sync::OnceLock;

use super::asm::*;
use super::{machine, with_machine, Mem, MMIO_BASE, RAM_BASE};
use crate::cpu::riscv::csr::num;
use crate::cpu::riscv::{Exit, Hart, Priv, Xlen};
use crate::memory::{
    AccessSize, GuestAddress, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SpaceId,
};

/// `amoswap.w rd, rs2, (rs1)`.
const fn amoswap_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00001, 2, rd, rs1, rs2)
}

/// `amoadd.w rd, rs2, (rs1)`.
const fn amoadd_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00000, 2, rd, rs1, rs2)
}

/// A program that runs F (word 16: `x10 = 1`) once, so that F is checked in this epoch,
/// then patches F's first word with `li x10, 2` through `patch` (two words, with `x3` =
/// F's address and `x2` = the new instruction) and calls F again, with nothing in between
/// that would start a new code epoch.
fn patch_checked_block(patch: [u32; 2]) -> (u64, u64) {
    let new_insn = li(10, 2);
    let mut prog = vec![NOP; 18];
    prog[0] = auipc(1, 0);
    prog[1] = addi(3, 1, 16 * 4);
    prog[2] = sw(0, 1, 256); // warm the write TLB for this page (a miss is a new epoch)
    prog[3] = jal(5, (16 - 3) * 4); // F: x10 = 1
    prog[4] = addi(6, 10, 0);
    prog[5] = lui(2, new_insn.wrapping_add(0x800) & 0xffff_f000);
    prog[6] = addi(2, 2, ((new_insn & 0xfff) as i32) << 20 >> 20);
    prog[7] = patch[0];
    prog[8] = patch[1];
    prog[9] = jal(5, (16 - 9) * 4); // F again
    prog[10] = EBREAK;
    prog[16] = li(10, 1);
    prog[17] = jalr(0, 5, 0);
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 10 * 4));
        (h.reg(6), h.reg(10))
    })
}

#[test]
fn an_amo_to_an_already_checked_block_is_seen_without_fence_i() {
    let (first, second) = patch_checked_block([amoswap_w(0, 3, 2), NOP]);
    assert_eq!(first, 1, "the first call ran the old F");
    assert_eq!(second, 2, "the second call ran the F the AMO wrote");
}

#[test]
fn a_successful_sc_to_an_already_checked_block_is_seen_without_fence_i() {
    let (first, second) = patch_checked_block([lr_w(4, 3), sc_w(4, 3, 2)]);
    assert_eq!(first, 1, "the first call ran the old F");
    assert_eq!(second, 2, "the second call ran the F the SC wrote");
}

#[test]
fn csr_instructions_atomics_and_same_privilege_traps_keep_the_code_epoch() {
    // 1000 iterations of a loop with a CSR write and read, an AMO, an LR/SC pair and an
    // M-mode ecall to an M-mode handler that returns with mret: thousands of slow events,
    // none of which changes code or the `pc`'s translation.
    let mut prog = vec![NOP; 32];
    prog[0] = li(1, 1000);
    prog[1] = auipc(3, 0);
    prog[2] = addi(3, 3, 0x400); // data
    prog[3] = csrw(num::MSCRATCH, 1);
    prog[4] = csrr(2, num::MSCRATCH);
    prog[5] = amoadd_w(0, 3, 1);
    prog[6] = lr_w(4, 3);
    prog[7] = sc_w(4, 3, 4);
    prog[8] = ECALL;
    prog[9] = addi(1, 1, -1);
    prog[10] = bne(1, 0, -7 * 4); // -> word 3
    prog[11] = EBREAK;
    // The handler (word 16): step over the ecall.
    prog[16] = csrr(7, num::MEPC);
    prog[17] = addi(7, 7, 4);
    prog[18] = csrw(num::MEPC, 7);
    prog[19] = MRET;
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, RAM_BASE + 16 * 4).unwrap();
        h.set_csr(num::MSTATUS, 3 << 11).unwrap(); // MPP = M: mret stays in M
        let before = h.blocks.epoch;
        assert_eq!(h.run(sec, 100_000), Exit::Breakpoint(RAM_BASE + 11 * 4));
        assert_eq!(h.reg(2), 1, "the loop ran to the end");
        let epochs = h.blocks.epoch.wrapping_sub(before);
        // One for the time slice; a few for blocks of the handler's page, checked once.
        assert!(epochs <= 4, "{epochs} code epochs for 9000 slow events");
    });
}

#[test]
fn stores_to_mmio_keep_the_code_epoch() {
    // 1000 stores to a device register in a loop: none writes code (a device that wrote
    // guest memory would be counted: `code_written_by_dma_is_seen_without_fence_i`), so
    // the loop's blocks stay checked.
    let prog = [
        lui(6, MMIO_BASE as u32),
        li(1, 1000),
        sw(1, 6, 0),
        addi(1, 1, -1),
        b(-8, 0, 1, 1), // bne x1, x0, the store
        lw(7, 6, 0),
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        let before = h.code_epoch();
        assert_eq!(h.run(sec, 10_000), Exit::Breakpoint(RAM_BASE + 6 * 4));
        assert_eq!(h.reg(7), 1, "the last store reached the device");
        // The slice's epoch only (a load from MMIO keeps it too).
        assert_eq!(h.code_epoch().wrapping_sub(before), 1);
    });
}

#[test]
fn loads_from_mmio_and_misaligned_loads_keep_the_code_epoch() {
    // 1000 loads from a device register and 1000 misaligned loads across a page
    // boundary of RAM (both off the fast path, each ending its block) in a loop: none
    // writes code (a device that wrote guest memory would be counted:
    // `a_device_s_write_to_code_made_by_an_mmio_load_is_seen_by_the_next_block`), so the
    // loop's blocks stay checked. Fails with the rule before round 11 (a new epoch at
    // every MMIO or misaligned load: 2001).
    let prog = [
        lui(6, MMIO_BASE as u32),
        lui(8, (RAM_BASE + 0x2000) as u32),
        li(1, 1000),
        lw(7, 6, 0),
        lw(9, 8, -2), // the last half-word of one page and the first of the next
        addi(1, 1, -1),
        b(-12, 0, 1, 1), // bne x1, x0, the first load
        EBREAK,
    ];
    with_machine(0x10000, &[(0, &prog)], |sec, dev| {
        dev.0.lock().unwrap()[0] = 7;
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        let before = h.blocks.epoch;
        assert_eq!(h.run(sec, 10_000), Exit::Breakpoint(RAM_BASE + 7 * 4));
        assert_eq!(h.reg(7), 7, "the loads reached the device");
        assert_eq!(h.blocks.epoch.wrapping_sub(before), 1);
    });
}

/// A device whose every read writes `li x10, 2` over word 16 of RAM (`F`'s first
/// instruction in [`code_written_by_an_mmio_load`]) through the memory (a section, which
/// counts it), as a read with side effects or a DMA engine whose status a guest polls.
struct WritesCodeOnRead(OnceLock<(&'static Mem<'static>, SpaceId)>);

impl MmioOps for WritesCodeOnRead {
    fn read(&self, _: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        let (mem, id) = self.0.get().unwrap();
        let r = mem.space(*id).unwrap().write(
            GuestAddress(RAM_BASE + 16 * 4),
            AccessSize::Word,
            li(10, 2) as u64,
            MemTxAttrs::UNSPECIFIED,
        );
        assert!(r.is_ok());
        (0, MemTxResult::OK)
    }
    fn write(&self, _: RegionOffset, _: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        MemTxResult::OK
    }
}

/// Calls `F` (`x10 = 1`), loads from a [`WritesCodeOnRead`] device (which writes `F`'s
/// first instruction, `x10 = 2`) and calls `F` again at once: `(x10 after the first call,
/// after the second)`. The machine is leaked (the device refers to its memory).
fn code_written_by_an_mmio_load() -> (u64, u64) {
    let mut prog = [NOP; 18];
    prog[0] = lui(6, MMIO_BASE as u32);
    prog[1] = jal(5, (16 - 1) * 4); // F: x10 = 1
    prog[2] = addi(11, 10, 0);
    prog[3] = lw(7, 6, 0); // the device writes F
    prog[4] = jal(5, (16 - 4) * 4); // F again, in the same block as the load
    prog[5] = EBREAK;
    prog[16] = li(10, 1);
    prog[17] = jalr(0, 5, 0);
    let ram = vec![0u8; 0x10000].leak();
    for (k, w) in prog.iter().enumerate() {
        ram[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    let dev: &'static WritesCodeOnRead = Box::leak(Box::new(WritesCodeOnRead(OnceLock::new())));
    let (mem, id) = machine(ram, None, &[(MMIO_BASE, dev)]);
    let mem: &'static Mem<'static> = Box::leak(mem);
    assert!(dev.0.set((mem, id)).is_ok());
    let space = mem.space(id).unwrap();
    let sec = space.section().unwrap();
    let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
    h.set_debug_ebreak(true);
    assert_eq!(h.run(&sec, 100), Exit::Breakpoint(RAM_BASE + 5 * 4));
    (h.reg(11), h.reg(10))
}

#[test]
#[cfg_attr(miri, ignore)] // leaks its machine
fn a_device_s_write_to_code_made_by_an_mmio_load_is_seen_by_the_next_block() {
    // The load keeps the code epoch; the memory counted the device's write, and the run
    // loop compares the count before the next block (fails with that comparison removed
    // from `Hart::run_with`: the second call runs the old `F`).
    assert_eq!(code_written_by_an_mmio_load(), (1, 2));
}

/// A U-mode hart at `RAM_BASE` running `prog`, with its M-mode trap handler at word 16
/// and PMP open to U; M's `mret` returns to U.
fn user_hart(prog: &[u32], run: impl FnOnce(&mut Hart<'_>, super::Sec<'_, '_, '_>)) {
    with_machine(0x10000, &[(0, prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, RAM_BASE + 16 * 4).unwrap();
        // One PMP entry over everything (NAPOT, RWX): U may fetch, load and store.
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::MSTATUS, 0).unwrap(); // MPP = U: mret returns to U
        h.set_privilege(Priv::User);
        run(&mut h, sec);
    });
}

/// The M-mode handler at word 16 that steps over the `ecall` and returns to U.
fn step_over_ecall(prog: &mut [u32], at: usize) {
    prog[at] = csrr(7, num::MEPC);
    prog[at + 1] = addi(7, 7, 4);
    prog[at + 2] = csrw(num::MEPC, 7);
    prog[at + 3] = MRET;
}

#[test]
fn a_round_trip_to_another_privilege_keeps_the_code_epoch() {
    // 1000 U-mode `ecall`s to an M-mode handler that returns with `mret`: 2000 privilege
    // changes, none of which changes code or U's translation, so U's blocks stay checked
    // (each privilege is its own code space, `block`).
    let mut prog = vec![NOP; 24];
    prog[0] = li(1, 1000);
    prog[1] = ECALL;
    prog[2] = addi(1, 1, -1);
    prog[3] = bne(1, 0, -2 * 4); // -> word 1
    prog[4] = EBREAK;
    step_over_ecall(&mut prog, 16);
    user_hart(&prog, |h, sec| {
        let before = h.blocks.epoch;
        assert_eq!(h.run(sec, 100_000), Exit::Breakpoint(RAM_BASE + 4 * 4));
        assert_eq!(h.reg(1), 0, "the loop ran to the end");
        let epochs = h.blocks.epoch.wrapping_sub(before);
        // One for the time slice; a few for the handler's and the loop's first stores
        // and TLB misses.
        assert!(
            epochs <= 4,
            "{epochs} code epochs for 2000 privilege changes"
        );
    });
}

#[test]
fn a_store_in_another_privilege_to_a_checked_block_is_seen_when_it_returns() {
    // U runs F (checked in U's code space), then an `ecall` to M, which stores a new first
    // instruction over F with a TLB hit (the first `ecall` warmed M's write entry with F's
    // old word) and returns; U calls F again and must run the new F: the code-line filter
    // keeps U's lines while M runs, so M's store ends the epoch of every space.
    let mut prog = vec![NOP; 44];
    let word = |insn: u32| {
        [
            lui(2, insn.wrapping_add(0x800) & 0xffff_f000),
            addi(2, 2, ((insn & 0xfff) as i32) << 20 >> 20),
        ]
    };
    [prog[0], prog[1]] = word(li(10, 1));
    prog[2] = ECALL; // M writes F's own word: warms M's write entry
    prog[3] = jal(5, (40 - 3) * 4); // F: x10 = 1
    prog[4] = addi(6, 10, 0);
    [prog[5], prog[6]] = word(li(10, 2));
    prog[7] = ECALL; // M patches F
    prog[8] = jal(5, (40 - 8) * 4); // F again
    prog[9] = EBREAK;
    prog[16] = auipc(3, 0);
    prog[17] = addi(3, 3, (40 - 16) * 4);
    prog[18] = sw(2, 3, 0);
    step_over_ecall(&mut prog, 19);
    prog[40] = li(10, 1);
    prog[41] = jalr(0, 5, 0);
    user_hart(&prog, |h, sec| {
        assert_eq!(h.run(sec, 1000), Exit::Breakpoint(RAM_BASE + 9 * 4));
        assert_eq!(h.reg(6), 1, "the first call ran the old F");
        assert_eq!(h.reg(10), 2, "the second call ran the F that M wrote");
    });
}

/// Sv32 page tables in RAM: two roots, each with one level-0 table that maps the 16
/// pages of RAM at their own addresses, except that table B maps page 8 (F's page) to
/// page 9. Returns the image words to place and the two `satp` values.
fn two_address_spaces() -> (Vec<(u64, Vec<u32>)>, [u64; 2]) {
    const V: u32 = 1;
    const RWXAD: u32 = 2 | 4 | 8 | 64 | 128;
    let pte = |pa: u64, flags: u32| ((pa >> 12) as u32) << 10 | flags;
    let mut out = Vec::new();
    let mut satps = [0; 2];
    for (k, (root, l0)) in [(0x2000, 0x4000), (0x3000, 0x5000)].into_iter().enumerate() {
        let mut r = vec![0u32; 1024];
        r[(RAM_BASE >> 22) as usize] = pte(RAM_BASE + l0, V);
        let mut t = vec![0u32; 1024];
        for (i, e) in t.iter_mut().enumerate().take(16) {
            *e = pte(RAM_BASE + 0x1000 * i as u64, V | RWXAD);
        }
        if k == 1 {
            t[8] = pte(RAM_BASE + 0x9000, V | RWXAD);
        }
        // `EVICTOR` (its TLB entry is page 8's): to page 10 when it is in these 4 MiB
        // (256-entry sets, as under Miri), else by the next 4 MiB, a megapage onto RAM,
        // to page 9.
        if let Some(e) = t.get_mut(EVICTOR as usize) {
            *e = pte(RAM_BASE + 0xa000, V | RWXAD);
        }
        r[(RAM_BASE >> 22) as usize + 1] = pte(RAM_BASE, V | RWXAD);
        out.push((root, r));
        out.push((l0, t));
        satps[k] = 1 << 31 | (RAM_BASE + root) >> 12;
    }
    (out, satps)
}

/// F at page 8 (`nop; li x10, 1; ret`) and its twin at page 9 (`li x10, 2`). The `nop`
/// goes one instruction at a time (its fetch fills the TLB), so the block that the
/// second call finds checked (or not) is the one at F + 4. Programs calling F start at
/// [`PROG`], whose blocks do not share F + 4's slot of the block index.
const PROG: u64 = 0x100;
fn f_and_its_twin() -> [(u64, Vec<u32>); 2] {
    [
        (0x8000, vec![NOP, li(10, 1), jalr(0, 5, 0)]),
        (0x9000, vec![NOP, li(10, 2), jalr(0, 5, 0)]),
    ]
}

/// Runs `prog` (at RAM_BASE, privilege `prv`, `satp` A or B as `space` says, MPP = S,
/// `x8`/`x9` from `regs`) with the two address spaces and F in place, to its `ebreak`;
/// returns `x7`, `x10`.
fn run_with_two_spaces(
    prog: &[u32],
    prv: Priv,
    space: usize,
    regs: impl Fn([u64; 2]) -> [u64; 2],
) -> (u64, u64) {
    let (tables, satps) = two_address_spaces();
    let code = f_and_its_twin();
    let mut image: Vec<(u64, &[u32])> = vec![(PROG, prog)];
    image.extend(tables.iter().map(|(at, w)| (*at, &w[..])));
    image.extend(code.iter().map(|(at, w)| (*at, &w[..])));
    let handler = [EBREAK];
    image.push((0x7000, &handler)); // any trap stops the run here
    with_machine(0x10000, &image, |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE + PROG);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, RAM_BASE + 0x7000).unwrap();
        // One PMP entry over everything (NAPOT, RWX): S may fetch.
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::SATP, satps[space]).unwrap();
        h.set_csr(num::MSTATUS, 1 << 11).unwrap(); // MPP = S
        h.set_privilege(prv);
        let [x8, x9] = regs(satps);
        h.set_reg(8, x8);
        h.set_reg(9, x9);
        let end = RAM_BASE + PROG + 4 * (prog.len() as u64 - 1);
        let exit = h.run(sec, 1000);
        let t = h.last_trap();
        assert_eq!(
            exit,
            Exit::Breakpoint(end),
            "trap {} at {:#x} ({:#x})",
            t.cause,
            t.epc,
            t.tval
        );
        (h.reg(7), h.reg(10))
    })
}

#[test]
fn a_satp_write_makes_the_same_pc_run_the_code_it_now_maps() {
    let prog = [
        lui(6, 0x8000_8000), // F's address
        jalr(5, 6, 0),
        addi(7, 10, 0),
        csrw(num::SATP, 8),
        jalr(5, 6, 0),
        EBREAK,
    ];
    let (first, second) = run_with_two_spaces(&prog, Priv::Supervisor, 0, |s| [s[1], 0]);
    assert_eq!((first, second), (1, 2));
}

#[test]
fn an_sfence_vma_after_a_pte_change_makes_the_same_pc_run_the_code_it_now_maps() {
    let prog = [
        sw(0, 9, 400), // warm the write TLB for the table (a walk is a new epoch)
        lui(6, 0x8000_8000),
        jalr(5, 6, 0),
        addi(7, 10, 0),
        sw(8, 9, 0), // table A's PTE of page 8 now maps page 9
        SFENCE_VMA,
        jalr(5, 6, 0),
        EBREAK,
    ];
    let pte = ((RAM_BASE + 0x9000) >> 12) << 10 | 0xcf;
    let (first, second) = run_with_two_spaces(&prog, Priv::Supervisor, 0, |_| {
        [pte, RAM_BASE + 0x4000 + 8 * 4]
    });
    assert_eq!((first, second), (1, 2));
}

/// The page (from `RAM_BASE`) whose TLB entry is F's page's (page 8): `Tlb::index` folds
/// the page number's bits above `TLB_BITS` onto the low ones, so page `1 << TLB_BITS`
/// plus 9 lands on 8's entry (past the first 4 MiB with 1024 entries, mapped by a
/// megapage in `two_address_spaces`; inside them with 256, under Miri).
const EVICTOR: u64 = (1 << crate::cpu::riscv::tlb::TLB_BITS) + 9;

/// `sfence.vma rs1, x0`: a flush of the address in `rs1`.
const fn sfence_vma_at(rs1: u32) -> u32 {
    SFENCE_VMA | rs1 << 15
}

/// F's page (VA `RAM_BASE + 0x8000`) remapped to page 9 and flushed by F's address: the
/// second call runs the new code. With `evict`, a load from page [`EVICTOR`], whose TLB entry
/// is F's, replaces F's entry first, so the flush finds no entry of F's page: the block
/// cache's record of where checked blocks were fetched from is what ends the epoch.
fn sfence_by_address_after_a_pte_change(evict: bool) -> (u64, u64) {
    let at = |page: u64| crate::cpu::riscv::tlb::Tlb::index(RAM_BASE + 0x1000 * page);
    assert_eq!(at(EVICTOR), at(8), "page EVICTOR shares F's TLB entry");
    let (load_page, load) = match evict {
        true => (lui(12, (RAM_BASE + 0x1000 * EVICTOR) as u32), lw(13, 12, 0)),
        false => (NOP, NOP),
    };
    let prog = [
        sw(0, 9, 400),
        lui(6, 0x8000_8000), // F's address
        jalr(5, 6, 0),
        addi(7, 10, 0),
        load_page,
        load,
        sw(8, 9, 0), // table A's PTE of page 8 now maps page 9
        sfence_vma_at(6),
        jalr(5, 6, 0),
        EBREAK,
    ];
    let pte = ((RAM_BASE + 0x9000) >> 12) << 10 | 0xcf;
    run_with_two_spaces(&prog, Priv::Supervisor, 0, |_| {
        [pte, RAM_BASE + 0x4000 + 8 * 4]
    })
}

#[test]
fn an_sfence_vma_of_the_code_page_after_a_pte_change_makes_the_same_pc_run_the_code_it_now_maps() {
    assert_eq!(sfence_by_address_after_a_pte_change(false), (1, 2));
    assert_eq!(
        sfence_by_address_after_a_pte_change(true),
        (1, 2),
        "F's TLB entry evicted before the flush"
    );
}

#[test]
fn an_sfence_vma_of_another_page_of_the_code_s_superpage_makes_the_same_pc_run_the_code_it_now_maps(
) {
    // S-mode, Sv32: a megapage maps VA 0xc000_0000 to RAM_BASE (F at + 0x8000: x10 = 1);
    // the program points that PTE at RAM_BASE + 4 MiB (F's twin: x10 = 2) and flushes
    // another page of the megapage, not F's: the flush still covers F's mapping.
    const ROOT: u64 = 0x2000;
    const MEGA: u64 = 4 << 20;
    let mut root = vec![0u32; 1024];
    let leaf = |pa: u64| ((pa >> 12) << 10) as u32 | 0xcf; // V R W X A D
    root[(RAM_BASE >> 22) as usize] = leaf(RAM_BASE); // the program and the tables
    root[0x300] = leaf(RAM_BASE);
    let prog = [
        lui(6, 0xc000_8000), // F's address
        jalr(5, 6, 0),
        addi(7, 10, 0),
        sw(8, 9, 0),          // the megapage now maps RAM_BASE + 4 MiB
        lui(12, 0xc010_0000), // another page of the megapage
        sfence_vma_at(12),
        jalr(5, 6, 0),
        EBREAK,
    ];
    let [f, twin] = f_and_its_twin();
    let handler = [EBREAK];
    let image: Vec<(u64, &[u32])> = vec![
        (PROG, &prog),
        (ROOT, &root),
        (0x8000, &f.1),
        (MEGA + 0x8000, &twin.1),
        (0x7000, &handler),
    ];
    with_machine((MEGA + 0x10000) as usize, &image, |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE + PROG);
        h.set_debug_ebreak(true);
        h.set_csr(num::MTVEC, RAM_BASE + 0x7000).unwrap();
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::SATP, 1 << 31 | (RAM_BASE + ROOT) >> 12)
            .unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_reg(8, leaf(RAM_BASE + MEGA) as u64);
        h.set_reg(9, RAM_BASE + ROOT + 0x300 * 4);
        let end = RAM_BASE + PROG + 4 * (prog.len() as u64 - 1);
        assert_eq!(h.run(sec, 1000), Exit::Breakpoint(end));
        assert_eq!((h.reg(7), h.reg(10)), (1, 2));
    });
}

#[test]
fn an_sfence_vma_of_a_page_no_checked_block_came_from_keeps_the_code_epoch() {
    // F is called, page 10 (data, never fetched) is flushed, F is called again: F's block
    // stays checked (the slice's epoch is the only one), and runs as before.
    let prog = [
        lui(6, 0x8000_8000), // F's address
        jalr(5, 6, 0),
        addi(7, 10, 0),
        lw(13, 12, 0),
        sfence_vma_at(12),
        jalr(5, 6, 0),
        EBREAK,
    ];
    let (tables, satps) = two_address_spaces();
    let code = f_and_its_twin();
    let mut image: Vec<(u64, &[u32])> = vec![(PROG, &prog)];
    image.extend(tables.iter().map(|(at, w)| (*at, &w[..])));
    image.extend(code.iter().map(|(at, w)| (*at, &w[..])));
    with_machine(0x10000, &image, |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE + PROG);
        h.set_debug_ebreak(true);
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::SATP, satps[0]).unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_reg(12, RAM_BASE + 0xa000);
        let before = h.blocks.epoch;
        let end = RAM_BASE + PROG + 4 * (prog.len() as u64 - 1);
        assert_eq!(h.run(sec, 1000), Exit::Breakpoint(end));
        assert_eq!((h.reg(7), h.reg(10)), (1, 1));
        assert_eq!(
            h.blocks.epoch.wrapping_sub(before),
            1,
            "the slice's epoch only"
        );
    });
}

#[test]
fn a_privilege_change_makes_the_same_pc_run_the_code_it_now_maps() {
    // F runs in M (no translation: page 8), then mret to S, where `satp` (B, written
    // before the run: M's fetches ignore it) maps F's address to page 9. The `csrw mepc`
    // between keeps the epoch; the mret must not.
    let prog = [
        lui(6, 0x8000_8000),
        jalr(5, 6, 0),
        addi(7, 10, 0),
        auipc(9, 0),
        addi(9, 9, 16), // -> the jalr after the mret
        csrw(num::MEPC, 9),
        MRET,
        jalr(5, 6, 0),
        EBREAK,
    ];
    let (first, second) = run_with_two_spaces(&prog, Priv::Machine, 1, |_| [0, 0]);
    assert_eq!((first, second), (1, 2));
}

#[test]
fn a_walk_starts_a_code_epoch_only_when_it_sets_a_pte_bit() {
    // In S-mode with Sv32: a load through a PTE with A already set (page 10), then one
    // through a PTE without A (page 11), which the walk sets. Only the second walk writes
    // guest memory (maybe code), so the run sees two epochs: the slice's and that one.
    let (mut tables, satps) = two_address_spaces();
    tables[1].1[11] = (((RAM_BASE + 0xb000) >> 12) as u32) << 10 | 0xf; // V R W X, no A
    let prog = [lw(1, 9, 0), lw(1, 8, 0), EBREAK];
    let mut image: Vec<(u64, &[u32])> = vec![(0, &prog)];
    image.extend(tables.iter().map(|(at, w)| (*at, &w[..])));
    with_machine(0x10000, &image, |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_debug_ebreak(true);
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::SATP, satps[0]).unwrap();
        h.set_privilege(Priv::Supervisor);
        h.set_reg(9, RAM_BASE + 0xa000);
        h.set_reg(8, RAM_BASE + 0xb000);
        let before = h.blocks.epoch;
        assert_eq!(h.run(sec, 10), Exit::Breakpoint(RAM_BASE + 8));
        assert_eq!(
            super::peek(sec, RAM_BASE + 0x4000 + 11 * 4) & 0x40,
            0x40,
            "the walk set A"
        );
        assert_eq!(h.blocks.epoch.wrapping_sub(before), 2);
    });
}

/// A loop that calls F (word 16: `x10 = 1`) and counts in `x11`, forever.
fn call_f_forever() -> Vec<u32> {
    let mut prog = vec![NOP; 18];
    prog[0] = jal(5, 16 * 4); // F
    prog[1] = addi(11, 11, 1);
    prog[2] = jal(0, -8); // -> word 0
    prog[16] = li(10, 1);
    prog[17] = jalr(0, 5, 0);
    prog
}

#[test]
fn a_sole_hart_keeps_the_code_epoch_across_time_slices_and_a_shared_one_does_not() {
    let prog = call_f_forever();
    for sole in [true, false] {
        with_machine(0x10000, &[(0, &prog)], |sec, _| {
            let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
            h.set_sole_hart(sole);
            assert_eq!(h.run(sec, 1000), Exit::BudgetExhausted);
            let before = h.blocks.epoch;
            for _ in 0..10 {
                assert_eq!(h.run(sec, 1000), Exit::BudgetExhausted);
            }
            let epochs = h.blocks.epoch.wrapping_sub(before);
            assert_eq!(epochs, if sole { 0 } else { 10 }, "sole {sole}");
        });
    }
}

#[test]
fn a_sole_hart_sees_code_a_debugger_wrote_between_time_slices() {
    let prog = call_f_forever();
    with_machine(0x10000, &[(0, &prog)], |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
        h.set_sole_hart(true);
        assert_eq!(h.run(sec, 1000), Exit::BudgetExhausted);
        assert_eq!(h.reg(10), 1);
        // A debugger's write goes through the section, which counts it.
        super::poke(sec, RAM_BASE + 16 * 4, li(10, 2));
        assert_eq!(h.run(sec, 1000), Exit::BudgetExhausted);
        assert_eq!(h.reg(10), 2, "the patched F ran");
    });
}

#[test]
fn a_sole_hart_sees_a_satp_a_debugger_changed_between_time_slices() {
    // F's address maps to page 8 under `satp` A and to page 9 under B.
    let prog = [lui(6, 0x8000_8000), jalr(5, 6, 0), EBREAK];
    let (tables, satps) = two_address_spaces();
    let code = f_and_its_twin();
    let mut image: Vec<(u64, &[u32])> = vec![(PROG, &prog)];
    image.extend(tables.iter().map(|(at, w)| (*at, &w[..])));
    image.extend(code.iter().map(|(at, w)| (*at, &w[..])));
    with_machine(0x10000, &image, |sec, _| {
        let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE + PROG);
        h.set_sole_hart(true);
        h.set_debug_ebreak(true);
        h.set_csr(num::PMPADDR0, u32::MAX as u64).unwrap();
        h.set_csr(num::PMPCFG0, 0x1f).unwrap();
        h.set_csr(num::SATP, satps[0]).unwrap();
        h.set_privilege(Priv::Supervisor);
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + PROG + 8));
        assert_eq!(h.reg(10), 1);
        h.set_csr(num::SATP, satps[1]).unwrap();
        h.set_pc(RAM_BASE + PROG);
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + PROG + 8));
        assert_eq!(h.reg(10), 2, "F's address now runs page 9");
    });
}
