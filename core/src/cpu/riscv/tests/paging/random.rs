//! Random page tables and `satp` values (faults, never a host panic) and random walks checked
//! against a model of the privileged spec's algorithm written out here, on the fixtures of
//! [`super`].

use super::*;

#[test]
fn random_page_tables_and_satp_values_give_faults_never_a_panic() {
    // A small xorshift: the same cases every run.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    with_rv64(|h, sec| {
        // Miri runs a few rounds: enough to reach every path, not the whole sample.
        let rounds = if cfg!(miri) { 2 } else { 64 };
        for round in 0..rounds {
            // Fill the table area with PTE-like words that point back into it often.
            for k in 0..(4 * 512) {
                let r = next();
                let pa = TABLES + (r % 4) * 0x1000;
                let pte = match r >> 60 {
                    0..=5 => ((pa >> 12) << 10) | (r & 0x3ff),
                    6..=9 => ((DATA >> 12) << 10) | (r & 0x3ff) | (r & 0xffc0_0000_0000_0000),
                    _ => r,
                };
                poke64(sec, TABLES + 8 * k, pte);
            }
            let mode = [0, 8, 9, 10, 3, 15][(next() % 6) as usize];
            let _ = h.set_csr(num::SATP, (mode << 60) | (TABLES >> 12));
            if next() & 1 == 1 {
                h.set_csr(num::MENVCFG, PBMTE).unwrap();
            } else {
                h.set_csr(num::MENVCFG, 0).unwrap();
            }
            for _ in 0..16 {
                // Whatever ran before may have written anything: restore the probe code.
                for (k, w) in [ld(6, 7, 0), EBREAK, sd(8, 7, 0), EBREAK]
                    .iter()
                    .enumerate()
                {
                    super::super::poke(sec, RAM_BASE + 4 * k as u64, *w);
                }
                super::super::poke(sec, HANDLER, EBREAK);
                let va = next() >> (next() % 64);
                let kind = [Kind::Load, Kind::Store, Kind::Fetch][(next() % 3) as usize];
                let prv = if next() & 1 == 0 {
                    Priv::Supervisor
                } else {
                    Priv::User
                };
                let ms = next() & (mstatus::SUM | mstatus::MXR);
                let before = h.last_trap().count;
                h.set_privilege(Priv::Machine);
                match kind {
                    Kind::Fetch => {
                        h.set_csr(num::MSTATUS, ms).unwrap();
                        h.set_privilege(prv);
                        h.set_pc(va);
                    }
                    _ => {
                        let mpp = (prv as u64) << 11;
                        h.set_csr(num::MSTATUS, ms | mstatus::MPRV | mpp).unwrap();
                        h.set_reg(7, va);
                        h.set_pc(RAM_BASE + if kind == Kind::Load { 0 } else { 8 });
                    }
                }
                let _ = h.debug_translate(sec, va);
                // A fetch runs one instruction of whatever is there; a load or store is
                // done or faults. Either way a guest event, not a host panic.
                h.run(sec, if kind == Kind::Fetch { 1 } else { 4 });
                let t = h.last_trap();
                if t.count != before && kind != Kind::Fetch {
                    let faults = [
                        cause::LOAD_PAGE,
                        cause::STORE_PAGE,
                        cause::LOAD_ACCESS,
                        cause::STORE_ACCESS,
                    ];
                    assert!(faults.contains(&t.cause), "round {round}: {}", t.cause);
                    // The address, or for a misaligned one an aligned part of it.
                    assert!(t.tval.wrapping_sub(va & !7) <= 8, "round {round}");
                }
            }
        }
    });
}

/// What a load at `va` should do, by the privileged spec's walk (section 4.3.2, with
/// Svnapot and Svpbmt) written out again here, on its own, from the tables in `sec`: the
/// physical address, or the fault (`true` for a page fault, `false` for an access fault of
/// a PTE read).
fn model_load(
    sec: Sec<'_, '_, '_>,
    satp: u64,
    va: u64,
    user: bool,
    ms: u64,
    pbmte: bool,
) -> Result<u64, bool> {
    let levels = match satp >> 60 {
        8 => 3,
        9 => 4,
        10 => 5,
        _ => return Ok(va), // Bare
    };
    let va_bits = 12 + 9 * levels;
    let high = va >> (va_bits - 1);
    if high != 0 && high != (1 << (64 - (va_bits - 1))) - 1 {
        return Err(true);
    }
    let mut a = (satp & ((1 << 44) - 1)) << 12;
    let mut i = levels - 1;
    loop {
        let pte_addr = a + ((va >> (12 + 9 * i)) & 511) * 8;
        let (pte, r) = sec.read(
            GuestAddress(pte_addr),
            AccessSize::Double,
            MemTxAttrs::DEBUG,
        );
        if !r.is_ok() {
            return Err(false);
        }
        let (v, rr, ww, xx, u) = (pte & V, pte & R, pte & W, pte & X, pte & U);
        let pbmt = (pte >> 61) & 3;
        if v == 0 || (rr == 0 && ww != 0) || (pte >> 54) & 0x7f != 0 {
            return Err(true);
        }
        if pbmt == 3 || (pbmt != 0 && !pbmte) {
            return Err(true);
        }
        let ppn = (pte >> 10) & ((1 << 44) - 1);
        if rr == 0 && xx == 0 {
            if pte & (D | A | U | N) != 0 || pbmt != 0 || i == 0 {
                return Err(true);
            }
            a = ppn << 12;
            i -= 1;
            continue;
        }
        let sum = ms & mstatus::SUM != 0;
        let mxr = ms & mstatus::MXR != 0;
        if (user && u == 0) || (!user && u != 0 && !sum) {
            return Err(true);
        }
        if rr == 0 && !(mxr && xx != 0) {
            return Err(true);
        }
        if i > 0 && ppn & ((1 << (9 * i)) - 1) != 0 {
            return Err(true);
        }
        let low = if pte & N != 0 {
            if i != 0 || ppn & 0xf != 0b1000 {
                return Err(true);
            }
            4
        } else {
            9 * i
        };
        let vpn = va >> 12;
        let mask = (1u64 << low) - 1;
        return Ok((((ppn & !mask) | (vpn & mask)) << 12) | (va & 0xfff));
    }
}

#[test]
fn random_walks_agree_with_a_model_of_the_spec() {
    // Page tables of random PTEs over four table pages (pointers among them, leaves into
    // RAM, random flags, N, PBMT and reserved bits now and then), random aligned loads at
    // S or U with random SUM, MXR and PBMTE: the hart's result must be the model's.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    let (mut ok, mut page, mut access) = (0, 0, 0);
    let rounds = if cfg!(miri) { 2 } else { 200 };
    with_rv64(|h, sec| {
        for _ in 0..rounds {
            for k in 0..(4 * 512) {
                let r = next();
                let flags = match r % 8 {
                    0 => 0,
                    1..=3 => V,
                    // Any flags now and then; mostly a readable leaf with random W, X, U,
                    // A and D.
                    4 => (r >> 8) & 0xff | V,
                    _ => V | R | (r >> 8) & (W | X | U | A | D),
                };
                let ppn = if r % 8 <= 3 {
                    // A table page; now and then a page where nothing answers (the walk's
                    // read of the next PTE fails: an access fault).
                    if (r >> 44) % 32 == 0 {
                        1
                    } else {
                        (TABLES >> 12) + (r >> 20) % 4
                    }
                } else {
                    // RAM pages; aligned for a 2 MiB or 1 GiB superpage now and then.
                    let p = (RAM_BASE >> 12) + (r >> 20) % 0x400;
                    match (r >> 40) % 8 {
                        0 => p & !0x1ff,
                        1 => RAM_BASE >> 12,
                        _ => p,
                    }
                };
                let extra = match (r >> 50) % 48 {
                    0 => N,
                    1 => PBMT_NC,
                    2 => PBMT_RESERVED,
                    3 => 1 << (54 + (r >> 56) % 7),
                    _ => 0,
                };
                poke64(sec, TABLES + 8 * k, (ppn << 10) | flags | extra);
            }
            let mode = [8, 9, 10][(next() % 3) as usize];
            let satp = (mode << 60) | (TABLES >> 12);
            h.set_csr(num::SATP, satp).unwrap();
            let pbmte = next() & 1 == 1;
            h.set_csr(num::MENVCFG, if pbmte { PBMTE } else { 0 })
                .unwrap();
            for _ in 0..32 {
                let r = next();
                // Mostly canonical addresses, some not.
                let va = if r % 8 == 0 {
                    next() & !7
                } else {
                    let shift = 64 - (12 + 9 * (mode as u32 - 5));
                    (((next() << shift) as i64) >> shift) as u64 & !7
                };
                let user = r & 16 != 0;
                let ms = (r >> 8) & (mstatus::SUM | mstatus::MXR);
                let prv = if user { Priv::User } else { Priv::Supervisor };
                let want = model_load(sec, satp, va, user, ms, pbmte);
                let got = probe(h, sec, Kind::Load, prv, ms, va);
                let what = format!("satp {satp:#x} va {va:#x} user {user} ms {ms:#x}");
                match want {
                    Err(true) => {
                        assert_eq!(got, Err((cause::LOAD_PAGE, va)), "{what}");
                        page += 1;
                    }
                    Err(false) => {
                        assert_eq!(got, Err((cause::LOAD_ACCESS, va)), "{what}");
                        access += 1;
                    }
                    Ok(pa) if (RAM_BASE..RAM_BASE + RAM as u64).contains(&pa) => {
                        assert_eq!(got, Ok(peek64(sec, pa)), "{what} pa {pa:#x}");
                        ok += 1;
                    }
                    // The ROM and the register device answer; elsewhere nothing does.
                    Ok(pa) if pa >> 12 == ROM_BASE >> 12 || pa >> 12 == MMIO_BASE >> 12 => {
                        assert!(got.is_ok(), "{what} pa {pa:#x}: {got:?}")
                    }
                    Ok(pa) => {
                        assert_eq!(got, Err((cause::LOAD_ACCESS, va)), "{what} pa {pa:#x}");
                        access += 1;
                    }
                }
            }
        }
    });
    // The sample reaches every outcome. (Under Miri, two rounds of 32 loads check the
    // hart's host-memory paths, not the model: too few to reach every outcome.)
    if !cfg!(miri) {
        assert!(
            ok > 50 && page > 50 && access > 10,
            "ok {ok}, page faults {page}, access faults {access}"
        );
    }
}
