//! The translating tier's code spaces (`fief_host::jit`): each privilege has its own jump
//! cache and link slots, so a U-mode `ecall` to M and its `mret` back find U's links
//! still made (`a_round_trip_*`), and a block offered in one privilege is never chained
//! to from another, where the same virtual `pc` may hold other code
//! (`the_same_pc_in_two_privileges_*`); an `sfence.vma` by address of a remapped code
//! page makes it run its new code, and one of a page no block came from keeps the code
//! epoch and so the jump cache (`an_sfence_vma_by_address_*`). Each against the
//! interpreter.
#![cfg(all(target_arch = "x86_64", unix))]
#![allow(clippy::unwrap_used)]

use fief_core::cpu::riscv::tier::Interp;
use fief_core::cpu::riscv::{csr, Exit, Priv, Xlen};
use fief_host::jit::{ExitKind, Jit, JitStats};
use fief_tests::machine::{Image, Machine, RAM_BASE};
use fief_tests::rvenc;

/// A machine with `segments` (address, words) in RAM, starting at `RAM_BASE` in
/// privilege `prv`, PMP open to every privilege, M's traps at `RAM_BASE + 0x100`.
fn machine(segments: &[(u64, Vec<u32>)], prv: Priv) -> Machine {
    let image = Image {
        xlen: Xlen::Rv32,
        entry: RAM_BASE,
        segments: segments
            .iter()
            .map(|(at, w)| {
                let bytes: Vec<u8> = w.iter().flat_map(|w| w.to_le_bytes()).collect();
                let len = bytes.len() as u64;
                (*at, bytes, len)
            })
            .collect(),
    };
    let mut m = Machine::new(&image).unwrap();
    m.hart.set_debug_ebreak(true);
    m.hart.set_csr(csr::num::MTVEC, RAM_BASE + 0x100).unwrap();
    // One PMP entry over everything (NAPOT, RWX).
    m.hart.set_csr(csr::num::PMPADDR0, u32::MAX as u64).unwrap();
    m.hart.set_csr(csr::num::PMPCFG0, 0x1f).unwrap();
    m.hart.set_privilege(prv);
    m
}

/// The M-mode handler (at `RAM_BASE + 0x100`) that steps over an `ecall` and returns.
fn step_over_ecall() -> Vec<u32> {
    vec![
        rvenc::csrr(7, csr::num::MEPC),
        rvenc::addi(7, 7, 4),
        rvenc::csrw(csr::num::MEPC, 7),
        rvenc::MRET,
    ]
}

#[test]
fn a_round_trip_to_another_privilege_keeps_the_links_of_the_one_it_returns_to() {
    // U: 1000 times `ecall` (to M, which returns with `mret`), then a block that counts
    // and branches back to the `ecall`'s block: that branch's link is made once, not
    // again after every round trip.
    let k = 1000;
    let mut u = rvenc::li(1, k).to_vec(); // 0
    u.push(rvenc::ECALL); // 8
    u.push(rvenc::addi(2, 2, 3)); // 12
    u.push(rvenc::addi(1, 1, -1)); // 16
    u.push(rvenc::b(1, 1, 0, -12)); // 20: bne x1, x0, 8
    u.push(rvenc::EBREAK); // 24
    let segments = [(RAM_BASE, u), (RAM_BASE + 0x100, step_over_ecall())];
    let run = |jit: Option<&mut Jit>| {
        let mut m = machine(&segments, Priv::User);
        m.hart.set_csr(csr::num::MSTATUS, 0).unwrap(); // MPP = U
        let exit = match jit {
            Some(jit) => m.run_slice_with(100_000, jit),
            None => m.run_slice_with(100_000, &mut Interp),
        };
        assert_eq!(exit.unwrap(), Exit::Breakpoint(RAM_BASE + 24));
        (m.hart.reg(1), m.hart.reg(2), m.hart.reg(7))
    };
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let got = run(Some(&mut jit));
    let st: JitStats = jit.stats();
    assert_eq!(got, run(None), "{st:?}");
    assert!(
        st.runs >= k as u64,
        "every iteration ran in generated code: {st:?}"
    );
    // 2000 privilege changes; U's link from the counting block to the `ecall`'s block is
    // made once and followed from then on (a new sequence at every privilege change
    // would leave at a stale jump-cache entry in every iteration instead).
    assert!(st.exits[ExitKind::ChainStale as usize] < 10, "{st:?}");
    assert!(
        (1..10).contains(&st.links),
        "links made again after round trips: {st:?}"
    );
}

#[test]
fn the_same_pc_in_two_privileges_is_not_chained_to_across_them() {
    // M (no translation) calls F at `RAM_BASE + 0x1000` (`li x10, 1; ret`) twice, then
    // `mret`s to S, where Sv32 maps `RAM_BASE`'s 4 MiB to `RAM_BASE + 4 MiB`: S's code
    // calls the same `pc`, which holds F' there (`li x10, 2; ret`). S's jump to it must
    // not find M's F in the jump cache.
    const F: u64 = RAM_BASE + 0x1000;
    const MEGA: u64 = 4 << 20;
    const ROOT: u64 = RAM_BASE + 0x80_0000;
    let call_f = |v: &mut Vec<u32>| {
        v.extend(rvenc::li(6, F as u32));
        v.push(rvenc::jalr(5, 6, 0));
    };
    let mut m_code = Vec::new();
    call_f(&mut m_code); // 0
    m_code.push(rvenc::addi(8, 10, 0)); // 12
    call_f(&mut m_code); // 16
    m_code.push(rvenc::addi(8, 10, 0)); // 28
    m_code.extend(rvenc::li(9, (RAM_BASE + 0x40) as u32)); // 32: S's entry (virtual)
    m_code.push(rvenc::csrw(csr::num::MEPC, 9)); // 40
    m_code.push(rvenc::MRET); // 44
                              // S's code at virtual RAM_BASE + 0x40, physical RAM_BASE + 4 MiB + 0x40.
    let mut s_code = Vec::new();
    call_f(&mut s_code); // 0x40
    s_code.push(rvenc::addi(11, 10, 0)); // 0x4c
    call_f(&mut s_code); // 0x50
    s_code.push(rvenc::EBREAK); // 0x5c
    let f = |n: u32| vec![rvenc::addi(10, 0, n as i32), rvenc::jalr(0, 5, 0)];
    // The root table: one megapage PTE (V R W X A D) for RAM_BASE's 4 MiB.
    let mut root = vec![0u32; 1024];
    root[(RAM_BASE >> 22) as usize] = (((RAM_BASE + MEGA) >> 12) << 10) as u32 | 0xcf;
    let segments = [
        (RAM_BASE, m_code),
        (RAM_BASE + MEGA + 0x40, s_code),
        (F, f(1)),
        (F + MEGA, f(2)),
        (ROOT, root),
    ];
    let run = |jit: Option<&mut Jit>| {
        let mut m = machine(&segments, Priv::Machine);
        m.hart.set_csr(csr::num::MSTATUS, 1 << 11).unwrap(); // MPP = S
        m.hart
            .set_csr(csr::num::SATP, 1 << 31 | (ROOT >> 12))
            .unwrap();
        let exit = match jit {
            Some(jit) => m.run_slice_with(10_000, jit),
            None => m.run_slice_with(10_000, &mut Interp),
        };
        assert_eq!(exit.unwrap(), Exit::Breakpoint(RAM_BASE + 0x5c));
        (m.hart.reg(8), m.hart.reg(10), m.hart.reg(11))
    };
    assert_eq!(run(None), (1, 2, 2), "the interpreter");
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let got = run(Some(&mut jit));
    let st = jit.stats();
    assert_eq!(got, (1, 2, 2), "{st:?}");
    assert!(st.runs >= 4, "{st:?}");
}

#[test]
fn an_sfence_vma_by_address_makes_a_remapped_page_run_its_new_code_and_keeps_the_others_links() {
    // S-mode, Sv32: a megapage maps the program (identity), a level-0 table maps F's
    // virtual page 0xc000_8000 to F (`li x10, 1; ret`). Loop 1 calls F 100 times, each
    // iteration also flushing page 0xc040_0000 (data, never fetched: the code epoch and
    // the links stay); then F's PTE is pointed at F's twin (`li x10, 2; ret`), F's page
    // is flushed by its address, and loop 2 calls F 100 times: it must run the twin.
    const F: u64 = RAM_BASE + 0x1000;
    const ROOT: u64 = RAM_BASE + 0x3000;
    const L0: u64 = RAM_BASE + 0x4000;
    const VF: u32 = 0xc000_8000;
    const DATA: u32 = 0xc040_0000;
    let add = |rd, rs1, rs2| rvenc::r(0x33, 0, 0, rd, rs1, rs2);
    let sw = |rs2, rs1, off| rvenc::s(0x23, 2, rs1, rs2, off);
    let sfence_at = |rs1: u32| rvenc::SFENCE_VMA | rs1 << 15;
    let mut p = Vec::new();
    p.extend(rvenc::li(6, VF));
    p.extend(rvenc::li(13, DATA));
    p.extend(rvenc::li(1, 100)); // 16
    p.push(rvenc::jalr(5, 6, 0)); // 24: loop 1
    p.push(add(11, 11, 10));
    p.push(sfence_at(13));
    p.push(rvenc::addi(1, 1, -1));
    p.push(rvenc::b(1, 1, 0, -16)); // bne x1, x0, loop 1
    p.push(sw(8, 9, 0)); // F's PTE -> the twin
    p.push(sfence_at(6));
    p.extend(rvenc::li(1, 100));
    p.push(rvenc::jalr(5, 6, 0)); // loop 2
    p.push(add(12, 12, 10));
    p.push(rvenc::addi(1, 1, -1));
    p.push(rvenc::b(1, 1, 0, -12));
    p.push(rvenc::EBREAK);
    let end = RAM_BASE + 4 * (p.len() as u64 - 1);
    let f = |n: i32| vec![rvenc::addi(10, 0, n), rvenc::jalr(0, 5, 0)];
    let leaf = |pa: u64| ((pa >> 12) << 10) as u32 | 0xcf; // V R W X A D
    let mut root = vec![0u32; 1024];
    root[(RAM_BASE >> 22) as usize] = leaf(RAM_BASE);
    root[(VF >> 22) as usize] = ((L0 >> 12) << 10) as u32 | 1; // a pointer to L0
    root[(DATA >> 22) as usize] = leaf(RAM_BASE + (4 << 20));
    let mut l0 = vec![0u32; 1024];
    l0[((VF >> 12) & 1023) as usize] = leaf(F);
    let segments = [
        (RAM_BASE, p),
        (RAM_BASE + 0x100, vec![rvenc::EBREAK]), // any trap to M stops here
        (F, f(1)),
        (F + 0x1000, f(2)),
        (ROOT, root),
        (L0, l0),
    ];
    let run = |jit: Option<&mut Jit>| {
        let mut m = machine(&segments, Priv::Supervisor);
        m.hart
            .set_csr(csr::num::SATP, 1 << 31 | (ROOT >> 12))
            .unwrap();
        m.hart.set_reg(8, leaf(F + 0x1000) as u64);
        m.hart.set_reg(9, L0 + 4 * ((VF as u64 >> 12) & 1023));
        let exit = match jit {
            Some(jit) => m.run_slice_with(100_000, jit),
            None => m.run_slice_with(100_000, &mut Interp),
        };
        assert_eq!(exit.unwrap(), Exit::Breakpoint(end));
        (m.hart.reg(11), m.hart.reg(12))
    };
    assert_eq!(run(None), (100, 200), "the interpreter");
    let mut jit = Jit::new(Xlen::Rv32, 4).unwrap().with_hot_runs(1);
    let got = run(Some(&mut jit));
    let st = jit.stats();
    assert_eq!(got, (100, 200), "{st:?}");
    assert!(st.runs >= 100, "{st:?}");
    // Loop 1's 100 flushes of the data page keep the code epoch: its jump-cache entries
    // stay (a new epoch at each would leave at a stale entry in every iteration).
    assert!(st.exits[ExitKind::ChainStale as usize] < 10, "{st:?}");
}
