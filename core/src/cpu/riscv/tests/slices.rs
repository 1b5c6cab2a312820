//! The TLB across time slices (`tlb`, `Tlb::keep_for`): a slice whose section pins the
//! same view as the last one keeps the entries (and their host pointers); a slice under
//! another view forgets them, whether a commit changed the space in between or the view
//! is another memory's with the same generation.

use std::vec;

use super::asm::*;
use super::{machine, Mem, RAM_BASE};
use crate::cpu::riscv::{Exit, Hart, Priv, Xlen};
use crate::memory::{Priority, RamBlock, RegionOffset, SpaceId};

/// The data page the program loads from.
const DATA: u64 = RAM_BASE + 0x1000;

/// 8 KiB of 8-byte aligned guest RAM (the TLB keeps host pointers of aligned pages only)
/// out of `buf`: the program (`x10 = lw DATA; ebreak`) on the first page and `value` as
/// the first word of the second.
fn ram(buf: &mut [u8], value: u32) -> &mut [u8] {
    let skew = buf.as_ptr().align_offset(8).min(8);
    let ram = &mut buf[skew..skew + 0x2000];
    let prog = [auipc(3, 0x1000), lw(10, 3, 0), EBREAK];
    for (k, w) in prog.iter().enumerate() {
        ram[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    ram[0x1000..0x1004].copy_from_slice(&value.to_le_bytes());
    ram
}

/// One time slice of `h` under a new section of `mem`'s space `id`, from `RAM_BASE`: the
/// word it loaded from [`DATA`].
fn slice(h: &mut Hart<'_>, mem: &Mem<'_>, id: SpaceId) -> u64 {
    let space = mem.space(id).unwrap();
    let sec = space.section().unwrap();
    h.set_pc(RAM_BASE);
    assert_eq!(h.run(&sec, 100), Exit::Breakpoint(RAM_BASE + 8));
    h.reg(10)
}

fn hart() -> Hart<'static> {
    let mut h = Hart::new(0, Xlen::Rv32, RAM_BASE);
    h.set_debug_ebreak(true);
    h
}

#[test]
fn a_slice_under_the_same_view_keeps_the_tlb() {
    let mut buf = vec![0u8; 0x2008];
    let (mem, id) = machine(ram(&mut buf, 7), None, &[]);
    let mut h = hart();
    assert_eq!(slice(&mut h, &mem, id), 7);
    assert_eq!(h.tlb.entry(Priv::Machine, DATA).tag_r, DATA, "filled");
    // A new section of the same view: the entry and its host pointer stay.
    let space = mem.space(id).unwrap();
    let sec = space.section().unwrap();
    assert_eq!(h.run(&sec, 0), Exit::BudgetExhausted);
    let e = h.tlb.entry(Priv::Machine, DATA);
    assert_eq!(
        e.tag_r, DATA,
        "the entry was forgotten by a slice under the same view"
    );
    assert!(!e.host_r.is_null());
}

#[test]
fn a_commit_between_slices_forgets_the_tlb() {
    let mut buf = vec![0u8; 0x2008];
    // A second RAM page (outliving the memory), mapped over the data page later.
    let mut other = vec![0u8; 0x1008];
    let skew = other.as_ptr().align_offset(8).min(8);
    let page = &mut other[skew..skew + 0x1000];
    page[..4].copy_from_slice(&9u32.to_le_bytes());
    let (mem, id) = machine(ram(&mut buf, 7), None, &[]);
    let mut h = hart();
    assert_eq!(slice(&mut h, &mem, id), 7);
    {
        let mut g = mem.lock();
        let root = g.root_owner().unwrap();
        let (_, sys) = g.address_space(id).unwrap();
        let r = g
            .create_ram(root, "over", RamBlock::new(page))
            .ok()
            .unwrap();
        g.add_subregion(sys, RegionOffset(DATA), r, Priority(1))
            .unwrap();
    }
    // The hart's entry for DATA still points into the first RAM: a new view must drop it.
    assert_eq!(
        slice(&mut h, &mem, id),
        9,
        "a TLB entry from the old view survived into a slice under the new one"
    );
}

#[test]
fn another_memory_with_the_same_generation_forgets_the_tlb() {
    let (mut a, mut b) = (vec![0u8; 0x2008], vec![0u8; 0x2008]);
    let (mem_a, id_a) = machine(ram(&mut a, 7), None, &[]);
    let (mem_b, id_b) = machine(ram(&mut b, 9), None, &[]);
    let generation = |m: &Mem<'_>, id| m.space(id).unwrap().generation();
    assert_eq!(generation(&mem_a, id_a), generation(&mem_b, id_b));
    let mut h = hart();
    assert_eq!(slice(&mut h, &mem_a, id_a), 7);
    assert_eq!(
        slice(&mut h, &mem_b, id_b),
        9,
        "a TLB entry of one memory's view was used under another's"
    );
    assert_eq!(slice(&mut h, &mem_a, id_a), 7);
}

/// A sole hart keeps its code epoch across slices (`Hart::set_sole_hart`), but not across
/// a change of view: a commit that maps other RAM over the code page must have the next
/// slice run the new page's code, not the blocks decoded from the old one.
#[test]
fn a_commit_that_maps_other_code_ends_a_sole_harts_code_epoch() {
    let mut buf = vec![0u8; 0x2008];
    // A second RAM page holding other code (`x10 = 9; ebreak`), mapped over the code page
    // later; it outlives the memory.
    let mut other = vec![0u8; 0x1008];
    let skew = other.as_ptr().align_offset(8).min(8);
    let page = &mut other[skew..skew + 0x1000];
    for (k, w) in [li(10, 9), addi(0, 0, 0), EBREAK].iter().enumerate() {
        page[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    let (mem, id) = machine(ram(&mut buf, 7), None, &[]);
    let mut h = hart();
    h.set_sole_hart(true);
    assert_eq!(slice(&mut h, &mem, id), 7);
    assert_eq!(slice(&mut h, &mem, id), 7);
    {
        let mut g = mem.lock();
        let root = g.root_owner().unwrap();
        let (_, sys) = g.address_space(id).unwrap();
        let r = g
            .create_ram(root, "code", RamBlock::new(page))
            .ok()
            .unwrap();
        g.add_subregion(sys, RegionOffset(RAM_BASE), r, Priority(1))
            .unwrap();
    }
    assert_eq!(
        slice(&mut h, &mem, id),
        9,
        "a block decoded from the old view's code page ran under the new view"
    );
}
