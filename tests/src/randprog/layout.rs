//! The program layout: one program's slot (its trap handler, printer, prologue that resets
//! the CSRs and Sv32 or Sv39 tables, the generated body placed and its branches resolved,
//! and the epilogue that dumps registers, CSRs and memory checksums), at RV32 or RV64.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn program(
    rng: &mut Rng,
    rv64: bool,
    flavor: Flavor,
    index: u32,
    last: bool,
    body: usize,
    full_dump: bool,
    slot: &mut [u8],
) {
    let slot_bytes = slot.len() as u32;
    let base = IMAGE_BASE + index * slot_bytes;
    let (handler_off, start_off) = if rv64 {
        (HANDLER_OFF64, START_OFF64)
    } else {
        (HANDLER_OFF, START_OFF)
    };
    let li = |rd: Reg, value: u64| li(rv64, rd, value);
    let mut put = |off: u32, bytes: &[u8]| {
        slot[off as usize..off as usize + bytes.len()].copy_from_slice(bytes);
    };
    // Entry: jump over the table, printer and handler.
    put(0, &e::jal(0, start_off as i32).to_le_bytes());
    put(TABLE_OFF, b"0123456789abcdef");

    // The printer: `x30` as 8 (RV64: 16) hex digits and a space, return through x27.
    let mut a = Asm {
        base: base + PRINT_OFF,
        code: Vec::new(),
    };
    a.w(e::u(op::LUI, T0, UART >> 12));
    let off = (base + TABLE_OFF) as i32 - a.pc() as i32;
    a.ws(&[e::u(op::AUIPC, T2, 0), e::addi(T2, T2, off)]);
    let digits = if rv64 { 16 } else { 8 };
    for sh in (0..digits).rev() {
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
    assert!(a.pc() <= base + handler_off);
    put(PRINT_OFF, &a.code);

    // The M-mode trap handler (the same instructions at RV64: `mcause`'s interrupt bit is
    // never set, the instruction lengths and causes are small numbers).
    let mut a = Asm {
        base: base + handler_off,
        code: Vec::new(),
    };
    a.putc(b'T');
    a.putc(b' ');
    for c in [csrn::MCAUSE, csrn::MEPC, csrn::MTVAL] {
        a.w(e::csrr(VAL, c));
        a.print(base);
    }
    a.putc(b'\n');
    if rv64 {
        // An interrupt (mcause < 0): clear msip, mtimecmp := all ones, mie := 0, and return to
        // the interrupted instruction.
        a.ws(&[
            e::csrr(T1, csrn::MCAUSE),
            e::b(5, T1, 0, 4 * 10),
            e::u(op::LUI, T0, CLINT >> 12),
            e::s(op::STORE, 2, T0, 0, 0),
            e::u(op::LUI, T0, MTIMECMP >> 12),
            e::addi(T1, 0, -1),
            e::s(op::STORE, 3, T0, T1, 0),
            e::addi(T1, 0, 0x88),
            e::csr(3, 0, T1, csrn::MIE),
            e::MRET,
        ]);
    }
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
    assert!(a.pc() <= base + start_off);
    put(handler_off, &a.code);

    // Data: random bytes. Page tables: roots A and B, their alias tables.
    let data = base + DATA_OFF;
    let mut bytes = vec![0u8; DATA_SIZE as usize];
    for b in bytes.iter_mut() {
        *b = rng.u32() as u8;
    }
    put(DATA_OFF, &bytes);
    let pt = base + PT_OFF;
    let (root_a, root_b, l2_a, l2_b) = (pt, pt + 0x1000, pt + 0x2000, pt + 0x3000);
    let (l1_a, l1_b) = (base + PT64_L1_OFF, base + PT64_L1_OFF + 0x1000);
    const V: u64 = 1;
    const R: u64 = 2;
    const W: u64 = 4;
    const X: u64 = 8;
    const U: u64 = 16;
    const AD: u64 = 0xc0;
    let pte = |pa: u32, flags: u64| (pa as u64 >> 12) << 10 | flags;
    let ram_mega = IMAGE_BASE & !0x3f_ffff;
    for (root, l1, l2, u) in [(root_a, l1_a, l2_a, 0), (root_b, l1_b, l2_b, U)] {
        // The alias window's leaf table (level 0 of Sv32 and of Sv39: the same entries).
        let mut l = vec![0u64; 1024];
        let other = if u == 0 { U } else { 0 };
        l[0] = pte(data, V | R | W | AD | u);
        l[1] = pte(data + 0x1000, V | R | AD | u);
        l[3] = pte(data + 0x2000, V | X | AD | u);
        l[4] = pte(data + 0x3000, V | R | W | AD | other);
        l[5] = pte(data, V | R | W | AD | u);
        l[6] = pte(data + 0x1000, V | W | AD | u);
        if rv64 {
            // Sv39: gigapages for the devices (0..1 GiB) and RAM (2..3 GiB), the alias
            // window (1 GiB) through a level-1 table.
            let le = |v: &[u64]| v.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
            let mut t = vec![0u64; 512];
            t[0] = pte(0, V | R | W | AD);
            t[(ALIAS_VA >> 30) as usize] = pte(l1, V);
            t[(IMAGE_BASE >> 30) as usize] = pte(IMAGE_BASE, V | R | W | X | AD | u);
            let mut mid = vec![0u64; 512];
            mid[0] = pte(l2, V);
            put(root - base, &le(&t[..]));
            put(l1 - base, &le(&mid[..]));
            put(l2 - base, &le(&l[..512]));
        } else {
            let le = |v: &[u64]| {
                v.iter()
                    .flat_map(|w| (*w as u32).to_le_bytes())
                    .collect::<Vec<u8>>()
            };
            let mut t = vec![0u64; 1024];
            t[(ram_mega >> 22) as usize] = pte(ram_mega, V | R | W | X | AD | u);
            t[(UART >> 22) as usize] = pte(UART & !0x3f_ffff, V | R | W | AD);
            t[(FINISHER >> 22) as usize] = pte(0, V | R | W | AD);
            t[(ALIAS_VA >> 22) as usize] = pte(l2, V);
            put(root - base, &le(&t[..]));
            put(l2 - base, &le(&l[..]));
        }
    }

    // Prologue, body, epilogue.
    let mut a = Asm {
        base: base + start_off,
        code: Vec::new(),
    };
    a.ws(&li(T0, (base + handler_off).into()));
    a.w(e::csrw(csrn::MTVEC, T0));
    // RV64: pmpaddr holds bits 55:2 (`randdiff::DEVIATIONS`, "RV64 pmpaddr bits 63:54").
    a.ws(&li(T0, if rv64 { (1 << 54) - 1 } else { u32::MAX.into() }));
    a.w(e::csrw(csrn::PMPADDR0, T0));
    a.ws(&li(T0, 0x1f));
    a.w(e::csrw(csrn::PMPCFG0, T0));
    if rv64 {
        // No interrupt pending: msip 0, mtimecmp all ones (QEMU's resets to 0).
        a.ws(&[
            e::u(op::LUI, T0, CLINT >> 12),
            e::s(op::STORE, 2, T0, 0, 0),
            e::u(op::LUI, T0, MTIMECMP >> 12),
            e::addi(T1, 0, -1),
            e::s(op::STORE, 3, T0, T1, 0),
        ]);
    }
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
    let wide = |rng: &mut Rng| {
        if rv64 {
            rng.next_u64()
        } else {
            rng.u32().into()
        }
    };
    for c in [csrn::MSCRATCH, csrn::SSCRATCH, csrn::MTVAL, csrn::STVAL] {
        a.ws(&li(T0, wide(rng)));
        a.w(e::csrw(c, T0));
    }
    for c in [csrn::MEPC, csrn::SEPC] {
        a.ws(&li(T0, wide(rng) & !1));
        a.w(e::csrw(c, T0));
    }
    for c in [csrn::MCAUSE, csrn::SCAUSE] {
        a.ws(&li(T0, gen::legal_cause(rng, rv64)));
        a.w(e::csrw(c, T0));
    }
    if flavor == Flavor::Fp {
        // FS Dirty, a random fcsr (frm 0..=4), f0..f31 from the random data area.
        a.ws(&li(T0, 0x6000));
        a.w(e::csr(2, 0, T0, csrn::MSTATUS));
        a.ws(&li(T0, (rng.below(5) << 5 | rng.below(32)).into()));
        a.w(e::csrw(0x003, T0));
        a.ws(&li(T0, data.into()));
        for f in 0..32 {
            a.w(e::i(0x07, 3, f, T0, f as i32 * 8));
        }
    }
    a.w(e::SFENCE_VMA);
    a.putc(b'P');
    a.putc(b' ');
    a.ws(&li(VAL, index.into()));
    a.print(base);
    a.putc(b'\n');
    for r in 1..=LAST_BODY {
        let value = if rv64 {
            gen::interesting64(rng)
        } else {
            gen::interesting(rng).into()
        };
        a.ws(&li(r, value));
    }

    let mut g = Gen {
        rng,
        rv64,
        base,
        data,
        roots: (root_a, root_b),
        mode: Mode::M,
        satp: Satp::Bare,
        items: Vec::new(),
        flavor,
        alias_lr_offsets: Vec::new(),
        tw: false,
        tsr: false,
        tvm: false,
        satp_known: true,
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
    // Words of XLEN bits: `lw` and 32-bit rotations, or `ld` and 64-bit ones.
    let (load_word, word, rot) = if rv64 { (3, 8, 59) } else { (2, 4, 27) };
    if full_dump {
        a.ws(&li(5, data.into()));
        a.ws(&li(6, (data + DATA_SIZE).into()));
        a.w(e::i(op::LOAD, load_word, VAL, 5, 0));
        a.print(base);
        a.w(e::addi(5, 5, word));
        a.w(e::b(6, 5, 6, -12));
    } else {
        for kib in 0..DATA_SIZE / 1024 {
            let start = data + kib * 1024;
            a.ws(&li(5, start.into()));
            a.ws(&li(6, (start + 1024).into()));
            a.w(e::addi(VAL, 0, 0));
            a.ws(&[
                e::i(op::LOAD, load_word, 8, 5, 0),
                e::i(op::OPIMM, 1, 9, VAL, 5),
                e::i(op::OPIMM, 5, VAL, VAL, rot),
                e::r(op::OP, 6, 0, VAL, VAL, 9),
                e::r(op::OP, 4, 0, VAL, VAL, 8),
                e::addi(5, 5, word),
                e::b(6, 5, 6, -24),
            ]);
            a.print(base);
        }
    }
    a.putc(b'\n');
    if flavor == Flavor::Fp {
        // FS back on (a program may end with it Off), then f0..f31 (high word, low word,
        // through the data area, already summed) and fcsr.
        a.ws(&li(T0, 0x6000));
        a.w(e::csr(2, 0, T0, csrn::MSTATUS));
        a.putc(b'F');
        a.putc(b' ');
        a.ws(&li(5, data.into()));
        for f in 0..32 {
            a.w(e::s(0x27, 3, 5, f, 0));
            if rv64 {
                // One 64-bit word per register.
                a.w(e::i(op::LOAD, 3, VAL, 5, 0));
                a.print(base);
            } else {
                a.w(e::i(op::LOAD, 2, VAL, 5, 4));
                a.print(base);
                a.w(e::i(op::LOAD, 2, VAL, 5, 0));
                a.print(base);
            }
        }
        a.w(e::csrr(VAL, 0x003));
        a.print(base);
        a.putc(b'\n');
    }
    if last {
        a.ws(&li(T0, FINISHER.into()));
        a.ws(&li(T1, 0x5555));
        a.w(e::s(op::STORE, 2, T0, T1, 0));
        a.w(e::jal(0, 0));
    } else {
        a.ws(&li(T0, (base + slot_bytes).into()));
        a.w(e::jalr(0, T0, 0));
    }
    assert!(
        a.pc() <= base + CODE_END,
        "program {index} too long: {:#x} bytes",
        a.pc() - base
    );
    put(start_off, &a.code);
}
