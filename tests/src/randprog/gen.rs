//! The body generator: random I, M, A, C and Zicsr items (RV32, or RV64 with its `W`,
//! doubleword and RV64C forms), loads/stores/AMOs at every kind of address, branches, traps,
//! fences and privilege/`satp` changes.

use super::*;

/// `mcause`/`scause` values every implementation keeps (WLRL: only legal values are written).
pub(super) const LEGAL_CAUSES: [u32; 7] = [2, 3, 5, 7, 8, 0x8000_0005, 0x8000_0009];

/// A legal cause at XLEN 64 (`rv64`: the interrupt bit moved to 63) or 32.
pub(super) fn legal_cause(rng: &mut Rng, rv64: bool) -> u64 {
    let c = rng.pick(&LEGAL_CAUSES) as u64;
    if rv64 && c & 1 << 31 != 0 {
        c & 0x7fff_ffff | 1 << 63
    } else {
        c
    }
}

/// A 64-bit register value likely to find edge cases (of 32-bit words as of 64-bit ones).
pub(super) fn interesting64(rng: &mut Rng) -> u64 {
    match rng.below(10) {
        0 => rng.pick(&[
            0,
            1,
            u64::MAX,
            1 << 63,
            i64::MAX as u64,
            0x8000_0000,
            0x7fff_ffff,
            0xffff_ffff,
            0xffff_ffff_8000_0000,
            63,
            32,
        ]),
        1 => rng.below(64).into(),
        2 => u64::from(rng.below(64)).wrapping_neg(),
        3 => interesting(rng) as i32 as i64 as u64,
        4 => interesting(rng).into(),
        _ => rng.next_u64(),
    }
}

/// A register value likely to find edge cases.
pub(super) fn interesting(rng: &mut Rng) -> u32 {
    match rng.below(8) {
        0 => rng.pick(&[0, 1, 2, u32::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff_8000, 31]),
        1 => rng.below(64),
        2 => rng.below(64).wrapping_neg(),
        _ => rng.u32(),
    }
}

pub(super) struct Gen<'r> {
    pub(super) rng: &'r mut Rng,
    /// RV64 programs (else RV32).
    pub(super) rv64: bool,
    pub(super) base: u32,
    pub(super) data: u32,
    pub(super) roots: (u32, u32),
    pub(super) mode: Mode,
    pub(super) satp: Satp,
    pub(super) items: Vec<Item>,
    /// The instruction groups the body draws from.
    pub(super) flavor: Flavor,
    /// `mstatus.TW` and `TSR` are known to be set (RV64: `trap_controls`); TVM may be set.
    pub(super) tw: bool,
    pub(super) tvm: bool,
    /// `satp` holds `satp` (false after an S-mode write that TVM may have refused).
    pub(super) satp_known: bool,
    pub(super) tsr: bool,
    /// Page offsets (word-aligned) of the LRs made through the alias window: no SC goes to
    /// a data word at one of them (`randdiff::DEVIATIONS`, "LR/SC through two mappings").
    pub(super) alias_lr_offsets: Vec<u32>,
}

impl Gen<'_> {
    /// The sequence loading `value` into `rd` at this XLEN.
    pub(super) fn li(&self, rd: Reg, value: u64) -> Vec<u32> {
        li(self.rv64, rd, value)
    }

    /// A random register value of XLEN bits.
    pub(super) fn wide(&mut self) -> u64 {
        if self.rv64 {
            self.rng.next_u64()
        } else {
            self.rng.u32().into()
        }
    }

    /// An edge-case register value of XLEN bits.
    pub(super) fn interesting(&mut self) -> u64 {
        if self.rv64 {
            interesting64(self.rng)
        } else {
            interesting(self.rng).into()
        }
    }

    pub(super) fn push(&mut self, item: Item) {
        self.items.push(item);
    }

    pub(super) fn reg(&mut self) -> Reg {
        if self.rng.one_in(16) {
            0
        } else {
            1 + self.rng.below(LAST_BODY)
        }
    }

    fn creg(&mut self) -> Reg {
        8 + self.rng.below(8)
    }

    /// Whether S/U accesses are translated: only alias-window addresses depend on it (bare,
    /// they would reach QEMU's PCIe window, absent on the test machine).
    fn paged(&self) -> bool {
        self.mode != Mode::M && self.satp != Satp::Bare && self.satp_known
    }

    /// A data address for an access of `width` bytes: usually aligned in the data area; or
    /// misaligned, in the alias window (under Sv32), in the code (loads), or unmapped.
    pub(super) fn address(&mut self, width: u32, load: bool) -> u64 {
        let mut addr: u64 = match self.rng.below(16) {
            0 if self.rv64 && self.rng.one_in(2) => match self.rng.below(4) {
                // The data area with bit 39 set: not canonical for Sv39, though its low bits
                // walk to the RAM gigapage (an access fault when bare).
                3 => NON_CANONICAL_BIT | u64::from(self.data + self.rng.below(DATA_SIZE - 8)),
                k => FAULT_ADDRS64[k as usize] + u64::from(self.rng.below(0x100)),
            },
            0 => (FAULT_ADDR + self.rng.below(0x100)).into(),
            1 | 2 if load => (self.base + self.rng.below(CODE_END - 8)).into(),
            3..=6 if self.paged() => {
                (ALIAS_VA + self.rng.below(8) * 0x1000 + self.rng.below(0xff8)).into()
            }
            _ => (self.data + self.rng.below(DATA_SIZE - 8)).into(),
        };
        if !self.rng.one_in(6) {
            addr &= !u64::from(width - 1);
        }
        addr
    }

    /// An address in the data area, usually aligned for `width`.
    fn data_address(&mut self, width: u32) -> u32 {
        let addr = self.data + self.rng.below(DATA_SIZE - 8);
        if self.rng.one_in(6) {
            addr
        } else {
            addr & !(width - 1)
        }
    }

    pub(super) fn item(&mut self) {
        if self.rv64 && self.mode == Mode::M && self.rng.one_in(40) {
            return self.interrupt();
        }
        if self.rv64 && self.mode == Mode::M && self.rng.one_in(40) {
            return self.trap_controls();
        }
        if self.flavor == Flavor::Bitmanip && self.rng.one_in(4) {
            return self.bitmanip();
        }
        if self.flavor == Flavor::Fp && self.rng.one_in(3) {
            return self.fp();
        }
        match self.rng.below(100) {
            0..=24 => self.alu(),
            25..=39 => self.load_store(),
            40..=46 => self.amo(),
            47..=54 => self.branch(),
            55..=66 => self.compressed(),
            67..=78 => self.csr(),
            79..=86 => self.trap(),
            87..=89 => self.fence(),
            _ => self.state_change(),
        }
    }

    fn alu(&mut self) {
        let (rd, rs1, rs2) = (self.reg(), self.reg(), self.reg());
        let mut it = Item::default();
        let kinds = if self.rv64 { 8 } else { 6 };
        match self.rng.below(kinds) {
            0 | 1 => {
                let (f3, f7) = self.rng.pick(&[
                    (0, 0),
                    (0, 0x20),
                    (1, 0),
                    (2, 0),
                    (3, 0),
                    (4, 0),
                    (5, 0),
                    (5, 0x20),
                    (6, 0),
                    (7, 0),
                ]);
                it.w(e::r(op::OP, f3, f7, rd, rs1, rs2));
            }
            2 => {
                it.w(e::r(op::OP, self.rng.below(8), 1, rd, rs1, rs2));
            }
            3 | 4 => {
                let f3 = self.rng.below(8);
                let shamts = if self.rv64 { 64 } else { 32 };
                let imm = match f3 {
                    1 => self.rng.below(shamts) as i32,
                    5 => {
                        (self.rng.below(shamts) | if self.rng.one_in(2) { 0x400 } else { 0 }) as i32
                    }
                    _ => (self.rng.u32() as i32) >> 20,
                };
                it.w(e::i(op::OPIMM, f3, rd, rs1, imm));
            }
            6 => {
                // RV64 OP-32: addw, subw, sllw, srlw, sraw; mulw, divw, divuw, remw, remuw.
                let (f3, f7) = self.rng.pick(&[
                    (0, 0),
                    (0, 0x20),
                    (1, 0),
                    (5, 0),
                    (5, 0x20),
                    (0, 1),
                    (4, 1),
                    (5, 1),
                    (6, 1),
                    (7, 1),
                ]);
                if rs1 != 0 && self.rng.one_in(4) {
                    let v = self.interesting();
                    it.ws(&self.li(rs1, v));
                }
                it.w(e::r(op::OP32, f3, f7, rd, rs1, rs2));
            }
            7 => {
                // RV64 OP-IMM-32: addiw, slliw, srliw, sraiw (now and then with shamt[5] set:
                // reserved, an illegal instruction).
                let f3 = self.rng.pick(&[0, 0, 1, 5]);
                let imm = match f3 {
                    0 => (self.rng.u32() as i32) >> 20,
                    _ => {
                        let wide = if self.rng.one_in(12) { 0x20 } else { 0 };
                        let sra = if f3 == 5 && self.rng.one_in(2) {
                            0x400
                        } else {
                            0
                        };
                        (self.rng.below(32) | wide | sra) as i32
                    }
                };
                it.w(e::i(op::OPIMM32, f3, rd, rs1, imm));
            }
            _ => {
                let opc = if self.rng.one_in(2) {
                    op::LUI
                } else {
                    op::AUIPC
                };
                it.w(e::u(opc, rd, self.rng.u32()));
            }
        }
        self.push(it);
    }

    fn load_store(&mut self) {
        let store = self.rng.one_in(2);
        let f3 = match (store, self.rv64) {
            (true, false) => self.rng.below(3),
            (false, false) => self.rng.pick(&[0, 1, 2, 4, 5]),
            // RV64: sd; ld and lwu.
            (true, true) => self.rng.below(4),
            (false, true) => self.rng.pick(&[0, 1, 2, 3, 4, 5, 6]),
        };
        let width = 1 << (f3 & 3);
        let addr = self.address(width, !store);
        let off = (self.rng.u32() as i32) >> 20;
        let base = 1 + self.rng.below(LAST_BODY);
        let mut it = Item::default();
        it.ws(&self.li(base, addr.wrapping_sub(off as i64 as u64)));
        if store {
            it.w(e::s(op::STORE, f3, base, self.reg(), off));
        } else {
            it.w(e::i(op::LOAD, f3, self.reg(), base, off));
        }
        self.push(it);
    }

    fn amo(&mut self) {
        let f5 = self.rng.pick(&[
            0x00, 0x01, 0x02, 0x03, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c,
        ]);
        // RV64: `.w` or `.d` (an SC after an LR has the LR's width: whether an SC.D can
        // succeed on an LR.W's reservation is the implementation's choice).
        let f3 = if self.rv64 && self.rng.one_in(2) {
            3
        } else {
            2
        };
        let width = if f3 == 3 { 8 } else { 4 };
        // A failed SC to a page or address it could not write may fault or not (Spike and
        // QEMU do not, Fief does): SCs go to the data area, always writable.
        let addr = if f5 == 0x03 {
            self.sc_address(width)
        } else {
            self.address(width, false)
        };
        if f5 == 0x02 && (u64::from(ALIAS_VA)..u64::from(ALIAS_VA) + 0x8000).contains(&addr) {
            let granule = self.sc_granule();
            self.alias_lr_offsets.push(addr as u32 & granule);
        }
        let base = 1 + self.rng.below(LAST_BODY);
        let aqrl = self.rng.below(4);
        let mut it = Item::default();
        it.ws(&self.li(base, addr));
        let rs2 = if f5 == 0x02 { 0 } else { self.reg() };
        let rd = self.reg();
        it.w(e::r(op::AMO, f3, f5 << 2 | aqrl, rd, base, rs2));
        if f5 == 0x02 && self.rng.one_in(2) {
            // An SC to the reserved word when the LR read the data area (its base may have
            // been overwritten by the LR), else to another data word.
            let data = u64::from(self.data);
            let sc_addr = if (data..data + u64::from(DATA_SIZE)).contains(&addr) {
                addr
            } else {
                self.sc_address(width)
            };
            it.ws(&self.li(base, sc_addr));
            let rd = self.reg();
            let rs2 = self.reg();
            it.w(e::r(op::AMO, f3, 0x03 << 2 | aqrl, rd, base, rs2));
        }
        self.push(it);
    }

    /// The page-offset mask under which an SC's address must differ from the alias
    /// window's LRs: a word at RV32, a doubleword at RV64 (which has both widths).
    fn sc_granule(&self) -> u32 {
        if self.rv64 {
            0xff8
        } else {
            0xffc
        }
    }

    /// An SC's address: in the data area (always writable), never at the page offset of an
    /// LR made through the alias window (the same bytes by another virtual address, where
    /// QEMU 7.2 fails the SC and Fief, comparing physical addresses, lets it succeed).
    fn sc_address(&mut self, width: u32) -> u64 {
        let granule = self.sc_granule();
        loop {
            let addr = self.data_address(width);
            if !self.alias_lr_offsets.contains(&(addr & granule)) {
                return addr.into();
            }
        }
    }

    fn branch(&mut self) {
        let skip = self.rng.below(4) as usize;
        let mut it = Item::default();
        let fix = if self.rng.one_in(4) {
            Fix::Jal { rd: self.reg() }
        } else {
            Fix::B {
                f3: self.rng.pick(&[0, 1, 4, 5, 6, 7]),
                rs1: self.reg(),
                rs2: self.reg(),
            }
        };
        it.w(0);
        it.fix = Some((0, fix, skip));
        self.push(it);
    }

    fn compressed(&mut self) {
        let mut it = Item::default();
        let nz = 1 + self.rng.below(LAST_BODY);
        let kinds = if self.rv64 { 16 } else { 12 };
        // Shift amounts 1..32 at RV32, 1..64 at RV64.
        let shamts = if self.rv64 { 63 } else { 31 };
        match self.rng.below(kinds) {
            0 => it.h(e::ci(0, self.reg(), (self.rng.u32() as i32) >> 26)),
            1 => it.h(e::ci(2, nz, (self.rng.u32() as i32) >> 26)),
            2 => {
                let rd = if nz == 2 { 3 } else { nz };
                it.h(e::clui(rd, 1 + self.rng.below(63)))
            }
            3 => it.h(e::cslli(nz, 1 + self.rng.below(shamts))),
            4 => {
                let kind = self.rng.below(3) as u16;
                let imm = if kind == 2 {
                    (self.rng.u32() as i32) >> 26
                } else {
                    1 + self.rng.below(shamts) as i32
                };
                it.h(e::cshift_andi(kind, self.creg(), imm))
            }
            5 => it.h(e::carith(
                self.rng.below(4) as u16,
                self.creg(),
                self.creg(),
            )),
            6 => {
                let rs2 = 1 + self.rng.below(LAST_BODY);
                it.h(e::cmv_add(self.rng.one_in(2), nz, rs2))
            }
            7 | 8 => {
                let base = self.creg();
                let off = self.rng.below(32) * 4;
                let mut addr = self.data + self.rng.below(DATA_SIZE - 256);
                if !self.rng.one_in(6) {
                    addr &= !3;
                }
                it.ws(&self.li(base, addr.into()));
                let rd = self.creg();
                it.h(e::clsw(self.rng.one_in(2), rd, base, off))
            }
            9 => {
                let f3 = if self.rng.one_in(2) { 6 } else { 7 };
                it.h(0);
                it.fix = Some((
                    0,
                    Fix::Cb {
                        f3,
                        rs1: self.creg(),
                    },
                    self.rng.below(4) as usize,
                ));
                &mut it
            }
            10 => {
                // c.j or (RV32 only: its encoding is c.addiw on RV64) c.jal.
                let f3 = if self.rng.one_in(2) || self.rv64 {
                    5
                } else {
                    1
                };
                it.h(0);
                it.fix = Some((0, Fix::Cj { f3 }, self.rng.below(4) as usize));
                &mut it
            }
            12 => it.h(e::ci(1, nz, (self.rng.u32() as i32) >> 26)), // c.addiw
            13 => it.h(e::carithw(
                self.rng.below(2) as u16,
                self.creg(),
                self.creg(),
            )),
            14 => {
                // c.ld / c.sd.
                let base = self.creg();
                let off = self.rng.below(32) * 8;
                let addr = self.data + self.rng.below(DATA_SIZE - 512);
                let addr = if self.rng.one_in(6) { addr } else { addr & !7 };
                it.ws(&self.li(base, addr.into()));
                let rd = self.creg();
                it.h(e::clsd(self.rng.one_in(2), rd, base, off))
            }
            15 => {
                // c.ldsp / c.sdsp / c.lwsp / c.swsp (sp = x2, a body register, set here).
                let double = !self.rng.one_in(3);
                let (unit, mask) = if double { (8, !7) } else { (4, !3) };
                let off = self.rng.below(64) * unit;
                let addr = self.data + self.rng.below(DATA_SIZE - 512);
                let addr = if self.rng.one_in(6) {
                    addr
                } else {
                    addr & mask
                };
                it.ws(&self.li(2, addr.into()));
                if self.rng.one_in(2) {
                    it.h(e::cssp(double, self.reg(), off))
                } else {
                    it.h(e::clsp(double, nz, off))
                }
            }
            _ => it.h(0x0001), // c.nop
        };
        self.push(it);
    }

    fn csr(&mut self) {
        // (csr, how it may be written): 0 any value, 1 mstatus-safe bits, 2 sstatus-safe
        // bits, 3 legal causes only, 4 read only (a write is illegal), 5 never written,
        // 6 read only where illegal, 7 even values, 8 modes 0 and 1, 9 written (illegal),
        // never read.
        let (c, how) = self.rng.pick(&[
            (csrn::MSCRATCH, 0),
            (csrn::SSCRATCH, 0),
            (csrn::MEPC, 7),
            (csrn::SEPC, 7),
            (csrn::MTVAL, 0),
            (csrn::STVAL, 0),
            (csrn::STVEC, 8),
            (csrn::MSTATUS, 1),
            (csrn::SSTATUS, 2),
            (csrn::MCAUSE, 3),
            (csrn::SCAUSE, 3),
            (0xf11, 9), // mvendorid
            (0xf12, 9), // marchid
            (0xf13, 9), // mimpid
            (csrn::MHARTID, 4),
            (csrn::SATP, 5),
            (csrn::MEDELEG, 5),
            (csrn::MIDELEG, 5),
            (csrn::MIE, 5),
            (csrn::MTVEC, 5),
            (csrn::PMPCFG0, 5),
            (csrn::PMPADDR0, 5),
            (0x3b1, 5), // pmpaddr1
            (csrn::MCOUNTEREN, 5),
            (0x7c0, 0), // custom: absent on both
            (0x5c0, 0), // custom: absent on both
            (0x001, 0), // fflags: illegal while mstatus.FS is off
            (0x003, 0), // fcsr
            (0xc00, 6), // cycle: only where mcounteren makes it illegal
            (0xc01, 6), // time
            (0xc02, 6), // instret
            (0xc80, 6), // cycleh
        ]);
        if how == 6 && self.mode == Mode::M {
            return;
        }
        let rd = self.reg();
        let mut it = Item::default();
        let value: u64 = match how {
            1 => (self.rng.u32() & MSTATUS_SAFE).into(),
            2 => (self.rng.u32() & MSTATUS_SAFE & !(1 << 3 | 1 << 7)).into(),
            3 => legal_cause(self.rng, self.rv64),
            // xepc[0] is always zero; QEMU 7.2 keeps it (randdiff::DEVIATIONS).
            7 => self.wide() & !1,
            // stvec.MODE 2 and 3 are reserved (WARL: QEMU 7.2 and Fief keep the old value);
            // only modes 0 and 1 are written, so that the batches stay as they were.
            8 => self.wide() & !2,
            _ => self.wide(),
        };
        let write = match how {
            4 => self.rng.one_in(4),
            9 => true,
            5 | 6 => false,
            _ => !self.rng.one_in(4),
        };
        if !write {
            it.w(e::csrr(rd, c));
        } else if how == 3 {
            it.ws(&self.li(T0, value));
            it.w(e::csr(1, rd, T0, c));
        } else if how == 9 {
            // The implementation's IDs differ (QEMU's mimpid is its version): only a write,
            // which must trap.
            it.ws(&self.li(T0, value));
            it.w(e::csr(1, rd, T0, c));
        } else if self.rng.one_in(4) {
            // Immediate forms; for mstatus/sstatus only the SIE and MIE bits.
            let uimm = match how {
                1 => value & 0xa,
                2 => value & 0x2,
                7 => value & 0x1e,
                8 => value & 0x1d,
                _ => value & 0x1f,
            };
            let f3 = 5 + self.rng.below(3);
            it.w(e::csr(f3, rd, uimm as u32, c));
            self.forget_trap_controls(c, f3);
        } else {
            it.ws(&self.li(T0, value));
            let f3 = 1 + self.rng.below(3);
            it.w(e::csr(f3, rd, T0, c));
            self.forget_trap_controls(c, f3);
        }
        self.push(it);
    }

    /// A `csrrw[i]` of `mstatus` clears TW and TSR (its values never set them).
    fn forget_trap_controls(&mut self, c: u16, f3: u32) {
        if c == csrn::MSTATUS && (f3 == 1 || f3 == 5) {
            self.tw = false;
            self.tsr = false;
            // TVM stays "maybe set": the write may have been skipped or have trapped.
        }
    }

    /// RV64, in M-mode: sets or clears some of `mstatus.TVM`, `TW` and `TSR`, so that S-mode
    /// `satp` accesses and `sfence.vma`, and `wfi` and `sret` in S-mode (generated only while
    /// TW or TSR is known set, as they would wait or return otherwise) trap as illegal.
    fn trap_controls(&mut self) {
        // Stateful: a branch that skipped it would leave TW/TSR as they were.
        let mut it = Item {
            stateful: true,
            ..Item::default()
        };
        let bits = (1 + self.rng.below(7)) as u64;
        // Bit 20 TVM, 21 TW, 22 TSR.
        let (tw, tsr) = (bits & 2 != 0, bits & 4 != 0);
        let set = !self.rng.one_in(3);
        it.ws(&self.li(T0, bits << 20));
        it.w(e::csr(if set { 2 } else { 3 }, 0, T0, csrn::MSTATUS));
        if bits & 1 != 0 {
            self.tvm = set;
        }
        if tw {
            self.tw = set;
        }
        if tsr {
            self.tsr = set;
        }
        self.push(it);
    }

    /// Makes a software or timer interrupt pending while `mie` masks it (an `msip` or
    /// `mtimecmp` write).
    fn raise_masked(&mut self, it: &mut Item) -> u32 {
        if self.rng.one_in(2) {
            it.ws(&[
                e::u(op::LUI, T0, CLINT >> 12),
                e::addi(T1, 0, 1),
                e::s(op::STORE, 2, T0, T1, 0),
            ]);
            irq::MSI
        } else {
            it.ws(&[
                e::u(op::LUI, T0, MTIMECMP >> 12),
                e::s(op::STORE, 3, T0, 0, 0),
            ]);
            irq::MTI
        }
    }

    /// RV64, in M-mode: an interrupt made pending while masked, then enabled in `mie` with
    /// `mstatus.MIE` set (taken right after the `mie` write) or clear (left pending; now and
    /// then a `wfi`, which must complete at once), then masked and cleared again.
    fn interrupt(&mut self) {
        let mut it = Item::default();
        let taken = self.rng.one_in(2);
        // csrrsi/csrrci mstatus, MIE.
        it.w(e::csr(if taken { 6 } else { 7 }, 0, 8, csrn::MSTATUS));
        let bit = self.raise_masked(&mut it);
        it.w(e::addi(T1, 0, 1 << bit));
        it.w(e::csr(2, 0, T1, csrn::MIE));
        if !taken && self.rng.one_in(2) {
            it.w(e::WFI);
        }
        it.ws(&[
            e::addi(T1, 0, 0x88),
            e::csr(3, 0, T1, csrn::MIE),
            e::u(op::LUI, T0, CLINT >> 12),
            e::s(op::STORE, 2, T0, 0, 0),
            e::u(op::LUI, T0, MTIMECMP >> 12),
            e::addi(T1, 0, -1),
            e::s(op::STORE, 3, T0, T1, 0),
        ]);
        self.push(it);
    }

    fn trap(&mut self) {
        let mut it = Item::default();
        let mut choices: Vec<u32> = vec![
            e::EBREAK,
            0xffff_ffff,
            0x0000_000b,          // custom-0
            0x0000_0053,          // fadd.s: illegal with mstatus.FS off
            0x7b20_0073,          // dret outside debug mode
            0x0000_0000,          // two illegal compressed halves
            0x3020_0073 | 1 << 7, // mret with rd != 0: reserved
        ];
        if self.mode != Mode::M {
            choices.push(e::MRET);
        }
        if self.mode == Mode::U {
            choices.push(e::SRET);
            choices.push(e::WFI);
        }
        // In S, only while TSR / TW make them illegal (RV64).
        if self.mode == Mode::S && self.tsr {
            choices.push(e::SRET);
        }
        if self.mode == Mode::S && self.tw {
            choices.push(e::WFI);
        }
        it.w(self.rng.pick(&choices));
        self.push(it);
    }

    fn fence(&mut self) {
        let mut it = Item::default();
        it.w(self.rng.pick(&[e::FENCE, e::FENCE_I, e::SFENCE_VMA]));
        self.push(it);
    }

    /// `satp` for `s`: Sv32 (MODE bit 31) or Sv39 (MODE 8 in bits 63:60), ASID 0.
    fn satp_value(&self, s: Satp) -> u64 {
        let mode = if self.rv64 { 8 << 60 } else { 1 << 31 };
        match s {
            Satp::Bare => 0,
            Satp::A => mode | u64::from(self.roots.0 >> 12),
            Satp::B => mode | u64::from(self.roots.1 >> 12),
        }
    }

    fn state_change(&mut self) {
        let mut it = Item {
            stateful: true,
            ..Item::default()
        };
        match self.mode {
            Mode::M => {
                if self.rng.one_in(4) {
                    it.w(e::ECALL); // stays in M
                } else {
                    let (to, satp, mpp) = if self.rng.one_in(2) {
                        (Mode::S, self.rng.pick(&[Satp::Bare, Satp::A, Satp::A]), 1)
                    } else {
                        (Mode::U, self.rng.pick(&[Satp::Bare, Satp::B, Satp::B]), 0)
                    };
                    if self.rv64 && self.rng.one_in(4) {
                        // An interrupt pending and enabled in mie, masked in M by
                        // mstatus.MIE = 0: taken at the first instruction in S or U.
                        it.w(e::csr(7, 0, 8, csrn::MSTATUS));
                        let bit = self.raise_masked(&mut it);
                        it.w(e::addi(T1, 0, 1 << bit));
                        it.w(e::csr(2, 0, T1, csrn::MIE));
                    }
                    it.ws(&self.li(T0, self.satp_value(satp)));
                    it.w(e::csrw(csrn::SATP, T0));
                    it.w(e::SFENCE_VMA);
                    self.satp_known = true;
                    it.ws(&self.li(T0, 0x1800));
                    it.w(e::csr(3, 0, T0, csrn::MSTATUS));
                    it.ws(&self.li(T0, mpp << 11));
                    it.w(e::csr(2, 0, T0, csrn::MSTATUS));
                    it.ws(&[e::u(op::AUIPC, T0, 0), e::addi(T0, T0, 16)]);
                    it.w(e::csrw(csrn::MEPC, T0));
                    it.w(e::MRET);
                    self.mode = to;
                    self.satp = satp;
                }
            }
            Mode::S if self.rng.one_in(2) => {
                let satp = self.rng.pick(&[Satp::Bare, Satp::A]);
                it.ws(&self.li(T0, self.satp_value(satp)));
                it.w(e::csrw(csrn::SATP, T0));
                it.w(e::SFENCE_VMA);
                // Under TVM (maybe set) the write traps and satp keeps its value.
                self.satp_known &= !self.tvm || satp == self.satp;
                self.satp = satp;
            }
            _ => {
                it.w(e::ECALL);
                self.mode = Mode::M;
            }
        }
        self.push(it);
    }
}
