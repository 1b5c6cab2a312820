//! The program layout: one program's slot (its trap handler, printer, prologue that resets
//! the CSRs and Sv32 tables, the generated body placed and its branches resolved, and the
//! epilogue that dumps registers, CSRs and memory checksums).

use super::*;

pub(super) fn program(
    rng: &mut Rng,
    flavor: Flavor,
    index: u32,
    last: bool,
    body: usize,
    full_dump: bool,
    slot: &mut [u8],
) {
    let base = IMAGE_BASE + index * SLOT;
    let mut put = |off: u32, bytes: &[u8]| {
        slot[off as usize..off as usize + bytes.len()].copy_from_slice(bytes);
    };
    // Entry: jump over the table, printer and handler.
    put(0, &e::jal(0, START_OFF as i32).to_le_bytes());
    put(TABLE_OFF, b"0123456789abcdef");

    // The printer: `x30` as 8 hex digits and a space, return through x27.
    let mut a = Asm {
        base: base + PRINT_OFF,
        code: Vec::new(),
    };
    a.w(e::u(op::LUI, T0, UART >> 12));
    let off = (base + TABLE_OFF) as i32 - a.pc() as i32;
    a.ws(&[e::u(op::AUIPC, T2, 0), e::addi(T2, T2, off)]);
    for sh in (0..8).rev() {
        a.ws(&[
            e::i(op::OPIMM, 5, T1, VAL, sh * 4),
            e::i(op::OPIMM, 7, T1, T1, 15),
            e::r(op::OP, 0, 0, T1, T1, T2),
            e::i(op::LOAD, 4, T1, T1, 0),
            e::s(op::STORE, 0, T0, T1, 0),
        ]);
    }
    a.ws(&[e::addi(T1, 0, b' ' as i32), e::s(op::STORE, 0, T0, T1, 0)]);
    a.w(e::jalr(0, LINK, 0));
    assert!(a.pc() <= base + HANDLER_OFF);
    put(PRINT_OFF, &a.code);

    // The M-mode trap handler.
    let mut a = Asm {
        base: base + HANDLER_OFF,
        code: Vec::new(),
    };
    a.putc(b'T');
    a.putc(b' ');
    for c in [csrn::MCAUSE, csrn::MEPC, csrn::MTVAL] {
        a.w(e::csrr(VAL, c));
        a.print(base);
    }
    a.putc(b'\n');
    // After a breakpoint, mtval := mepc: QEMU 7.2 leaves 0 there (randdiff::DEVIATIONS), and
    // the body may read mtval.
    a.ws(&[
        e::csrr(T1, csrn::MCAUSE),
        e::addi(T2, 0, 3),
        e::b(1, T1, T2, 12),
        e::csrr(VAL, csrn::MEPC),
        e::csrw(csrn::MTVAL, VAL),
    ]);
    // After an AMO (not LR) fault with a load cause (4, 5, 13), mcause := the store/AMO cause
    // (6, 7, 15): QEMU 7.2's deviation, again so that later reads agree. The trap line above
    // keeps the raw cause, so a Fief that reported a load cause would still differ.
    a.ws(&[
        e::csrr(VAL, csrn::MEPC),
        e::i(op::LOAD, 5, T1, VAL, 0),
        e::i(op::OPIMM, 7, T2, T1, 0x7f),
        e::addi(T2, T2, -0x2f),
        e::b(1, T2, 0, 56),
        e::i(op::LOAD, 5, T1, VAL, 2),
        e::i(op::OPIMM, 5, T1, T1, 11),
        e::addi(T2, 0, 2),
        e::b(0, T1, T2, 40),
        e::csrr(T1, csrn::MCAUSE),
        e::addi(T2, T1, -4),
        e::b(0, T2, 0, 20),
        e::addi(T2, T1, -5),
        e::b(0, T2, 0, 12),
        e::addi(T2, T1, -13),
        e::b(1, T2, 0, 12),
        e::addi(T1, T1, 2),
        e::csrw(csrn::MCAUSE, T1),
    ]);
    a.ws(&[
        e::csrr(VAL, csrn::MEPC),
        e::i(op::LOAD, 5, T1, VAL, 0), // lhu: the instruction's first half
        e::i(op::OPIMM, 7, T1, T1, 3),
        e::addi(VAL, VAL, 2),
        e::addi(T2, 0, 3),
        e::b(1, T1, T2, 8),
        e::addi(VAL, VAL, 2),
        e::csrw(csrn::MEPC, VAL),
        e::csrr(T1, csrn::MCAUSE),
    ]);
    // ecall from U (8), S (9) or M (11): return to M.
    for (k, cause) in [8, 9, 11].into_iter().enumerate() {
        let to_setm = 4 * (2 * (2 - k as i32) + 1) + 4;
        a.ws(&[e::addi(T2, 0, cause), e::b(0, T1, T2, to_setm)]);
    }
    a.w(e::MRET);
    a.ws(&e::li(T1, 0x1800));
    a.w(e::csr(2, 0, T1, csrn::MSTATUS));
    a.w(e::MRET);
    assert!(a.pc() <= base + START_OFF);
    put(HANDLER_OFF, &a.code);

    // Data: random bytes. Page tables: roots A and B, their alias tables.
    let data = base + DATA_OFF;
    let mut bytes = vec![0u8; DATA_SIZE as usize];
    for b in bytes.iter_mut() {
        *b = rng.u32() as u8;
    }
    put(DATA_OFF, &bytes);
    let pt = base + PT_OFF;
    let (root_a, root_b, l2_a, l2_b) = (pt, pt + 0x1000, pt + 0x2000, pt + 0x3000);
    const V: u32 = 1;
    const R: u32 = 2;
    const W: u32 = 4;
    const X: u32 = 8;
    const U: u32 = 16;
    const AD: u32 = 0xc0;
    let pte = |pa: u32, flags: u32| (pa >> 12) << 10 | flags;
    let ram_mega = IMAGE_BASE & !0x3f_ffff;
    for (root, l2, u) in [(root_a, l2_a, 0), (root_b, l2_b, U)] {
        let mut t = vec![0u32; 1024];
        t[(ram_mega >> 22) as usize] = pte(ram_mega, V | R | W | X | AD | u);
        t[(UART >> 22) as usize] = pte(UART & !0x3f_ffff, V | R | W | AD);
        t[(FINISHER >> 22) as usize] = pte(0, V | R | W | AD);
        t[(ALIAS_VA >> 22) as usize] = pte(l2, V);
        let mut l = vec![0u32; 1024];
        let other = if u == 0 { U } else { 0 };
        l[0] = pte(data, V | R | W | AD | u);
        l[1] = pte(data + 0x1000, V | R | AD | u);
        l[3] = pte(data + 0x2000, V | X | AD | u);
        l[4] = pte(data + 0x3000, V | R | W | AD | other);
        l[5] = pte(data, V | R | W | AD | u);
        l[6] = pte(data + 0x1000, V | W | AD | u);
        let le = |v: &[u32]| v.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
        put(root - base, &le(&t[..]));
        put(l2 - base, &le(&l[..]));
    }

    // Prologue, body, epilogue.
    let mut a = Asm {
        base: base + START_OFF,
        code: Vec::new(),
    };
    a.ws(&e::li(T0, base + HANDLER_OFF));
    a.w(e::csrw(csrn::MTVEC, T0));
    a.ws(&e::li(T0, u32::MAX));
    a.w(e::csrw(csrn::PMPADDR0, T0));
    a.ws(&e::li(T0, 0x1f));
    a.w(e::csrw(csrn::PMPCFG0, T0));
    for c in [
        csrn::MSTATUS,
        csrn::SATP,
        csrn::MEDELEG,
        csrn::MIDELEG,
        csrn::MIE,
        csrn::MCOUNTEREN,
        csrn::SCOUNTEREN,
        csrn::STVEC,
    ] {
        a.w(e::csrw(c, 0));
    }
    for c in [csrn::MSCRATCH, csrn::SSCRATCH, csrn::MTVAL, csrn::STVAL] {
        a.ws(&e::li(T0, rng.u32()));
        a.w(e::csrw(c, T0));
    }
    for c in [csrn::MEPC, csrn::SEPC] {
        a.ws(&e::li(T0, rng.u32() & !1));
        a.w(e::csrw(c, T0));
    }
    for c in [csrn::MCAUSE, csrn::SCAUSE] {
        a.ws(&e::li(T0, rng.pick(&gen::LEGAL_CAUSES)));
        a.w(e::csrw(c, T0));
    }
    if flavor == Flavor::Fp {
        // FS Dirty, a random fcsr (frm 0..=4), f0..f31 from the random data area.
        a.ws(&e::li(T0, 0x6000));
        a.w(e::csr(2, 0, T0, csrn::MSTATUS));
        a.ws(&e::li(T0, rng.below(5) << 5 | rng.below(32)));
        a.w(e::csrw(0x003, T0));
        a.ws(&e::li(T0, data));
        for f in 0..32 {
            a.w(e::i(0x07, 3, f, T0, f as i32 * 8));
        }
    }
    a.w(e::SFENCE_VMA);
    a.putc(b'P');
    a.putc(b' ');
    a.ws(&e::li(VAL, index));
    a.print(base);
    a.putc(b'\n');
    for r in 1..=LAST_BODY {
        a.ws(&e::li(r, gen::interesting(rng)));
    }

    let mut g = Gen {
        rng,
        base,
        data,
        roots: (root_a, root_b),
        mode: Mode::M,
        satp: Satp::Bare,
        items: Vec::new(),
        flavor,
        alias_lr_offsets: Vec::new(),
    };
    for _ in 0..body {
        g.item();
    }
    let items = std::mem::take(&mut g.items);
    let body_start = a.pc();
    let mut offsets = Vec::with_capacity(items.len() + 1);
    let mut at = body_start;
    for it in &items {
        offsets.push(at);
        at += it.code.len() as u32;
    }
    offsets.push(at);
    let n = items.len();
    for (k, it) in items.iter().enumerate() {
        let mut code = it.code.clone();
        if let Some((off, fix, skip)) = it.fix {
            // Land at most `skip` items ahead, never past a state change.
            let mut target = k + 1;
            while target < n && target < k + 1 + skip && !items[target].stateful {
                target += 1;
            }
            let from = offsets[k] + off as u32;
            let rel = offsets[target] as i32 - from as i32;
            match fix {
                Fix::B { f3, rs1, rs2 } => {
                    code[off..off + 4].copy_from_slice(&e::b(f3, rs1, rs2, rel).to_le_bytes())
                }
                Fix::Jal { rd } => {
                    code[off..off + 4].copy_from_slice(&e::jal(rd, rel).to_le_bytes())
                }
                Fix::Cb { f3, rs1 } => {
                    assert!(rel < 256);
                    code[off..off + 2].copy_from_slice(&e::cb(f3, rs1, rel).to_le_bytes())
                }
                Fix::Cj { f3 } => code[off..off + 2].copy_from_slice(&e::cj(f3, rel).to_le_bytes()),
            }
        }
        a.code.extend_from_slice(&code);
    }

    // Back to M, then the dump.
    a.w(e::ECALL);
    a.putc(b'R');
    a.putc(b' ');
    for r in 1..=LAST_BODY {
        a.w(e::addi(VAL, r, 0));
        a.print(base);
    }
    a.putc(b'\n');
    a.putc(b'C');
    a.putc(b' ');
    for (_, c) in DUMP_CSRS {
        a.w(e::csrr(VAL, *c));
        a.print(base);
    }
    a.putc(b'\n');
    a.putc(b'M');
    a.putc(b' ');
    if full_dump {
        a.ws(&e::li(5, data));
        a.ws(&e::li(6, data + DATA_SIZE));
        a.w(e::i(op::LOAD, 2, VAL, 5, 0));
        a.print(base);
        a.w(e::addi(5, 5, 4));
        a.w(e::b(6, 5, 6, -12));
    } else {
        for kib in 0..DATA_SIZE / 1024 {
            let start = data + kib * 1024;
            a.ws(&e::li(5, start));
            a.ws(&e::li(6, start + 1024));
            a.w(e::addi(VAL, 0, 0));
            a.ws(&[
                e::i(op::LOAD, 2, 8, 5, 0),
                e::i(op::OPIMM, 1, 9, VAL, 5),
                e::i(op::OPIMM, 5, VAL, VAL, 27),
                e::r(op::OP, 6, 0, VAL, VAL, 9),
                e::r(op::OP, 4, 0, VAL, VAL, 8),
                e::addi(5, 5, 4),
                e::b(6, 5, 6, -24),
            ]);
            a.print(base);
        }
    }
    a.putc(b'\n');
    if flavor == Flavor::Fp {
        // FS back on (a program may end with it Off), then f0..f31 (high word, low word,
        // through the data area, already summed) and fcsr.
        a.ws(&e::li(T0, 0x6000));
        a.w(e::csr(2, 0, T0, csrn::MSTATUS));
        a.putc(b'F');
        a.putc(b' ');
        a.ws(&e::li(5, data));
        for f in 0..32 {
            a.w(e::s(0x27, 3, 5, f, 0));
            a.w(e::i(op::LOAD, 2, VAL, 5, 4));
            a.print(base);
            a.w(e::i(op::LOAD, 2, VAL, 5, 0));
            a.print(base);
        }
        a.w(e::csrr(VAL, 0x003));
        a.print(base);
        a.putc(b'\n');
    }
    if last {
        a.ws(&e::li(T0, FINISHER));
        a.ws(&e::li(T1, 0x5555));
        a.w(e::s(op::STORE, 2, T0, T1, 0));
        a.w(e::jal(0, 0));
    } else {
        a.ws(&e::li(T0, base + SLOT));
        a.w(e::jalr(0, T0, 0));
    }
    assert!(
        a.pc() <= base + CODE_END,
        "program {index} too long: {:#x} bytes",
        a.pc() - base
    );
    put(START_OFF, &a.code);
}
