//! RV32/RV64 machine-code encoder for the random-program generator (`randprog`): the base
//! formats (R/I/S/B/U/J), the compressed formats it uses (with RV64C's doubleword and `W`
//! forms), the 64-bit `li` sequence, and named helpers for the instructions the generator's
//! fixed sequences need. Hand-written because it is a few dozen
//! bit-packing lines and keeps the differential free of an assembler at test time.

/// A register number `0..32`.
pub type Reg = u32;

/// Major opcodes.
pub mod op {
    /// `lui`.
    pub const LUI: u32 = 0x37;
    /// `auipc`.
    pub const AUIPC: u32 = 0x17;
    /// `jal`.
    pub const JAL: u32 = 0x6f;
    /// `jalr`.
    pub const JALR: u32 = 0x67;
    /// Conditional branches.
    pub const BRANCH: u32 = 0x63;
    /// Loads.
    pub const LOAD: u32 = 0x03;
    /// Stores.
    pub const STORE: u32 = 0x23;
    /// Register-immediate ALU.
    pub const OPIMM: u32 = 0x13;
    /// Register-register ALU (and M).
    pub const OP: u32 = 0x33;
    /// `ecall`, `ebreak`, `xret`, `wfi`, `sfence.vma`, Zicsr.
    pub const SYSTEM: u32 = 0x73;
    /// A extension.
    pub const AMO: u32 = 0x2f;
    /// RV64 register-immediate word ALU (`addiw`, `slliw`, ...).
    pub const OPIMM32: u32 = 0x1b;
    /// RV64 register-register word ALU (`addw`, `mulw`, ...).
    pub const OP32: u32 = 0x3b;
    /// `fence`, `fence.i`.
    pub const MISC_MEM: u32 = 0x0f;
}

/// R-type.
pub fn r(opcode: u32, f3: u32, f7: u32, rd: Reg, rs1: Reg, rs2: Reg) -> u32 {
    opcode | rd << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | f7 << 25
}

/// I-type (`imm` is sign-extended 12 bits; higher bits are dropped).
pub fn i(opcode: u32, f3: u32, rd: Reg, rs1: Reg, imm: i32) -> u32 {
    opcode | rd << 7 | f3 << 12 | rs1 << 15 | ((imm as u32) & 0xfff) << 20
}

/// S-type.
pub fn s(opcode: u32, f3: u32, rs1: Reg, rs2: Reg, imm: i32) -> u32 {
    let imm = imm as u32;
    opcode | (imm & 0x1f) << 7 | f3 << 12 | rs1 << 15 | rs2 << 20 | ((imm >> 5) & 0x7f) << 25
}

/// B-type (`off` even, within ±4 KiB).
pub fn b(f3: u32, rs1: Reg, rs2: Reg, off: i32) -> u32 {
    let o = off as u32;
    op::BRANCH
        | ((o >> 11) & 1) << 7
        | ((o >> 1) & 0xf) << 8
        | f3 << 12
        | rs1 << 15
        | rs2 << 20
        | ((o >> 5) & 0x3f) << 25
        | ((o >> 12) & 1) << 31
}

/// U-type (`imm20` is the upper 20 bits).
pub fn u(opcode: u32, rd: Reg, imm20: u32) -> u32 {
    opcode | rd << 7 | (imm20 & 0xf_ffff) << 12
}

/// `jal rd, off`.
pub fn jal(rd: Reg, off: i32) -> u32 {
    let o = off as u32;
    op::JAL
        | rd << 7
        | ((o >> 12) & 0xff) << 12
        | ((o >> 11) & 1) << 20
        | ((o >> 1) & 0x3ff) << 21
        | ((o >> 20) & 1) << 31
}

/// `jalr rd, off(rs1)`.
pub fn jalr(rd: Reg, rs1: Reg, off: i32) -> u32 {
    i(op::JALR, 0, rd, rs1, off)
}

/// `addi rd, rs1, imm`.
pub fn addi(rd: Reg, rs1: Reg, imm: i32) -> u32 {
    i(op::OPIMM, 0, rd, rs1, imm)
}

/// The `lui`+`addi` pair that loads `value` into `rd`.
pub fn li(rd: Reg, value: u32) -> [u32; 2] {
    let lo = ((value & 0xfff) as i32) << 20 >> 20;
    let hi = value.wrapping_sub(lo as u32) >> 12;
    [u(op::LUI, rd, hi), addi(rd, rd, lo)]
}

/// The RV64 sequence (1 to 8 instructions: `lui`/`addi`/`addiw`, then `slli`/`addi` pairs)
/// that loads `value` into `rd`, as assemblers expand `li`: the upper part is built
/// recursively, its trailing zeros folded into the shift.
pub fn li64(rd: Reg, value: u64) -> Vec<u32> {
    let mut out = Vec::with_capacity(8);
    li64_into(rd, value as i64, &mut out);
    out
}

fn li64_into(rd: Reg, v: i64, out: &mut Vec<u32>) {
    let lo = (v << 52) >> 52;
    if v == (v as i32) as i64 {
        let hi = (v.wrapping_sub(lo) >> 12) as u32 & 0xf_ffff;
        if hi == 0 {
            out.push(addi(rd, 0, lo as i32));
        } else {
            out.push(u(op::LUI, rd, hi));
            if lo != 0 {
                out.push(i(op::OPIMM32, 0, rd, rd, lo as i32));
            }
        }
        return;
    }
    let hi = v.wrapping_sub(lo) >> 12;
    let tz = hi.trailing_zeros().min(63 - 12);
    li64_into(rd, hi >> tz, out);
    out.push(i(op::OPIMM, 1, rd, rd, (12 + tz) as i32));
    if lo != 0 {
        out.push(addi(rd, rd, lo as i32));
    }
}

/// A Zicsr instruction: `f3` 1..3 (`csrrw/s/c`) or 5..7 (immediate forms, `rs1` the uimm).
pub fn csr(f3: u32, rd: Reg, rs1: Reg, csr: u16) -> u32 {
    op::SYSTEM | rd << 7 | f3 << 12 | rs1 << 15 | (csr as u32) << 20
}

/// `csrrw x0, csr, rs`.
pub fn csrw(csr_num: u16, rs: Reg) -> u32 {
    csr(1, 0, rs, csr_num)
}

/// `csrrs rd, csr, x0`.
pub fn csrr(rd: Reg, csr_num: u16) -> u32 {
    csr(2, rd, 0, csr_num)
}

/// `ecall`.
pub const ECALL: u32 = 0x0000_0073;
/// `ebreak`.
pub const EBREAK: u32 = 0x0010_0073;
/// `mret`.
pub const MRET: u32 = 0x3020_0073;
/// `sret`.
pub const SRET: u32 = 0x1020_0073;
/// `wfi`.
pub const WFI: u32 = 0x1050_0073;
/// `sfence.vma x0, x0`.
pub const SFENCE_VMA: u32 = 0x1200_0073;
/// `fence iorw, iorw`.
pub const FENCE: u32 = 0x0ff0_000f;
/// `fence.i`.
pub const FENCE_I: u32 = 0x0000_100f;

/// A compressed register (`x8..x15`) as its 3-bit field.
pub fn creg(r: Reg) -> u16 {
    debug_assert!((8..16).contains(&r));
    (r - 8) as u16
}

/// `c.beqz`/`c.bnez` (`f3` 6 or 7) `rs1', off` (even, within ±256 bytes).
pub fn cb(f3: u16, rs1: Reg, off: i32) -> u16 {
    let o = off as u32 as u16;
    1 | f3 << 13
        | creg(rs1) << 7
        | ((o >> 8) & 1) << 12
        | ((o >> 3) & 3) << 10
        | ((o >> 6) & 3) << 5
        | ((o >> 1) & 3) << 3
        | ((o >> 5) & 1) << 2
}

/// `c.j` (`f3` 5) or `c.jal` (`f3` 1) `off` (even, within ±2 KiB).
pub fn cj(f3: u16, off: i32) -> u16 {
    let o = off as u32 as u16;
    1 | f3 << 13
        | ((o >> 11) & 1) << 12
        | ((o >> 4) & 1) << 11
        | ((o >> 8) & 3) << 9
        | ((o >> 10) & 1) << 8
        | ((o >> 6) & 1) << 7
        | ((o >> 7) & 1) << 6
        | ((o >> 1) & 7) << 3
        | ((o >> 5) & 1) << 2
}

/// `c.addi`/`c.li` (`f3` 0 or 2) `rd, imm` (6-bit signed).
pub fn ci(f3: u16, rd: Reg, imm: i32) -> u16 {
    let o = imm as u32 as u16;
    1 | f3 << 13 | ((o >> 5) & 1) << 12 | (rd as u16) << 7 | (o & 0x1f) << 2
}

/// `c.lui rd, nzimm[17:12]` (`imm6` the 6-bit field, non-zero; `rd` not 0 or 2).
pub fn clui(rd: Reg, imm6: u32) -> u16 {
    let o = imm6 as u16;
    1 | 3 << 13 | ((o >> 5) & 1) << 12 | (rd as u16) << 7 | (o & 0x1f) << 2
}

/// `c.slli rd, shamt` (`shamt` 1..32; 1..64 on RV64).
pub fn cslli(rd: Reg, shamt: u32) -> u16 {
    2 | ((shamt as u16 >> 5) & 1) << 12 | (rd as u16) << 7 | (shamt as u16 & 0x1f) << 2
}

/// `c.srli`/`c.srai`/`c.andi` (`kind` 0/1/2) `rd', imm`.
pub fn cshift_andi(kind: u16, rd: Reg, imm: i32) -> u16 {
    let o = imm as u32 as u16;
    1 | 4 << 13 | ((o >> 5) & 1) << 12 | kind << 10 | creg(rd) << 7 | (o & 0x1f) << 2
}

/// `c.sub`/`c.xor`/`c.or`/`c.and` (`kind` 0..3) `rd', rs2'`.
pub fn carith(kind: u16, rd: Reg, rs2: Reg) -> u16 {
    1 | 4 << 13 | 3 << 10 | creg(rd) << 7 | kind << 5 | creg(rs2) << 2
}

/// `c.mv rd, rs2` (`add` false) or `c.add rd, rs2` (`add` true); both non-zero.
pub fn cmv_add(add: bool, rd: Reg, rs2: Reg) -> u16 {
    2 | 4 << 13 | (add as u16) << 12 | (rd as u16) << 7 | (rs2 as u16) << 2
}

/// `c.lw`/`c.sw` (`store`) `rd', off(rs1')` (`off` a multiple of 4 in 0..128).
pub fn clsw(store: bool, rd: Reg, rs1: Reg, off: u32) -> u16 {
    let o = off as u16;
    let f3: u16 = if store { 6 } else { 2 };
    f3 << 13
        | ((o >> 3) & 7) << 10
        | creg(rs1) << 7
        | ((o >> 2) & 1) << 6
        | ((o >> 6) & 1) << 5
        | creg(rd) << 2
}

/// RV64C `c.subw`/`c.addw` (`kind` 0 or 1) `rd', rs2'`.
pub fn carithw(kind: u16, rd: Reg, rs2: Reg) -> u16 {
    1 | 4 << 13 | 1 << 12 | 3 << 10 | creg(rd) << 7 | kind << 5 | creg(rs2) << 2
}

/// RV64C `c.ld`/`c.sd` (`store`) `rd', off(rs1')` (`off` a multiple of 8 in 0..256).
pub fn clsd(store: bool, rd: Reg, rs1: Reg, off: u32) -> u16 {
    let o = off as u16;
    let f3: u16 = if store { 7 } else { 3 };
    f3 << 13 | ((o >> 3) & 7) << 10 | creg(rs1) << 7 | ((o >> 6) & 3) << 5 | creg(rd) << 2
}

/// `c.lwsp rd, off(sp)` (`off` a multiple of 4 in 0..256, `rd` not 0) or, with `double`,
/// RV64C `c.ldsp` (`off` a multiple of 8 in 0..512).
pub fn clsp(double: bool, rd: Reg, off: u32) -> u16 {
    let o = off as u16;
    let low = if double {
        ((o >> 3) & 3) << 5 | ((o >> 6) & 7) << 2
    } else {
        ((o >> 2) & 7) << 4 | ((o >> 6) & 3) << 2
    };
    let f3: u16 = if double { 3 } else { 2 };
    2 | f3 << 13 | ((o >> 5) & 1) << 12 | (rd as u16) << 7 | low
}

/// `c.swsp rs2, off(sp)` or, with `double`, RV64C `c.sdsp` (offsets as [`clsp`]).
pub fn cssp(double: bool, rs2: Reg, off: u32) -> u16 {
    let o = off as u16;
    let (f3, imm): (u16, u16) = if double {
        (7, ((o >> 3) & 7) << 3 | ((o >> 6) & 7))
    } else {
        (6, ((o >> 2) & 0xf) << 2 | ((o >> 6) & 3))
    };
    2 | f3 << 13 | imm << 7 | (rs2 as u16) << 2
}

#[cfg(test)]
mod tests {
    use super::*;

    // Expected words from GNU as (riscv64-unknown-elf-as -march=rv32imac).
    #[test]
    fn encodings_match_the_assembler() {
        assert_eq!(addi(5, 6, -1), 0xfff3_0293); // addi t0, t1, -1
        assert_eq!(jal(1, 6), 0x0060_00ef); // jal ra, .+6
        assert_eq!(b(1, 10, 11, 8), 0x00b5_1463); // bne a0, a1, .+8
        assert_eq!(b(0, 0, 0, -4), 0xfe00_0ee3); // beq x0, x0, .-4
        assert_eq!(s(op::STORE, 2, 10, 11, -4), 0xfeb5_2e23); // sw a1, -4(a0)
        assert_eq!(li(5, 0x8000_0800), [0x8000_12b7, 0x8002_8293]);
        assert_eq!(csrr(10, 0x341), 0x3410_2573); // csrr a0, mepc
        assert_eq!(cb(6, 8, 6), 0xc019); // c.beqz s0, .+6
        assert_eq!(cj(5, 10), 0xa029); // c.j .+10
        assert_eq!(cj(1, -2), 0x3ffd); // c.jal .-2
        assert_eq!(cj(5, -2), 0xbffd); // c.j .-2
        assert_eq!(ci(0, 10, -3), 0x1575); // c.addi a0, -3
        assert_eq!(clui(10, 0x3f), 0x757d); // c.lui a0, 0xfffff
        assert_eq!(cslli(10, 3), 0x050e); // c.slli a0, 3
        assert_eq!(cshift_andi(2, 9, -2), 0x98f9); // c.andi s1, -2
        assert_eq!(carith(0, 8, 9), 0x8c05); // c.sub s0, s1
        assert_eq!(cmv_add(true, 10, 11), 0x952e); // c.add a0, a1
        assert_eq!(clsw(false, 10, 8, 68), 0x4068); // c.lw a0, 68(s0)
        assert_eq!(clsw(true, 10, 8, 4), 0xc048); // c.sw a0, 4(s0)
    }

    // Expected words from GNU as (riscv64-unknown-elf-as -march=rv64imac).
    #[test]
    fn rv64_encodings_match_the_assembler() {
        assert_eq!(cslli(10, 63), 0x157e); // c.slli a0, 63
        assert_eq!(cshift_andi(0, 9, 33), 0x9085); // c.srli s1, 33
        assert_eq!(ci(1, 10, -5), 0x356d); // c.addiw a0, -5
        assert_eq!(carithw(0, 8, 9), 0x9c05); // c.subw s0, s1
        assert_eq!(carithw(1, 10, 15), 0x9d3d); // c.addw a0, a5
        assert_eq!(clsd(false, 10, 8, 248), 0x7c68); // c.ld a0, 248(s0)
        assert_eq!(clsd(true, 9, 15, 72), 0xe7a4); // c.sd s1, 72(a5)
        assert_eq!(clsp(true, 10, 504), 0x757e); // c.ldsp a0, 504(sp)
        assert_eq!(clsp(false, 5, 252), 0x52fe); // c.lwsp t0, 252(sp)
        assert_eq!(cssp(true, 10, 504), 0xffaa); // c.sdsp a0, 504(sp)
        assert_eq!(cssp(false, 5, 252), 0xdf96); // c.swsp t0, 252(sp)
    }

    /// Runs an `li64` sequence (`lui`, `addi`, `addiw`, `slli` only) on a 64-bit register.
    fn eval(seq: &[u32]) -> u64 {
        let mut x = 0u64;
        for &w in seq {
            let imm = ((w as i32) >> 20) as i64 as u64;
            x = match (w & 0x7f, (w >> 12) & 7) {
                (op::LUI, _) => ((w & 0xffff_f000) as i32) as i64 as u64,
                (op::OPIMM, 0) if (w >> 15) & 31 == 0 => imm,
                (op::OPIMM, 0) => x.wrapping_add(imm),
                (op::OPIMM, 1) => x << (imm & 63),
                (op::OPIMM32, 0) => (x.wrapping_add(imm) as i32) as i64 as u64,
                _ => panic!("unexpected instruction {w:#010x}"),
            };
        }
        x
    }

    #[test]
    fn li64_loads_every_kind_of_value() {
        let mut values = vec![
            0,
            1,
            u64::MAX,
            0x7ff,
            0x800,
            0x7fff_ffff,
            0x8000_0000,
            0xffff_ffff,
            0x8000_0800,
            0x1_0000_0000,
            i64::MAX as u64,
            i64::MIN as u64,
            0x8000_0000_0000_0800,
            0xffff_ffff_8000_0000,
            0x0000_0040_0000_0000,
        ];
        let mut rng = crate::randprog::Rng::new(7);
        values.extend((0..20_000).map(|_| rng.next_u64()));
        values.extend((0..2_000).map(|_| rng.next_u64() >> rng.below(64)));
        for v in values {
            let seq = li64(5, v);
            assert!(seq.len() <= 8, "{v:#x}: {} instructions", seq.len());
            assert_eq!(eval(&seq), v, "{v:#x}: {seq:x?}");
        }
        assert_eq!(li64(5, 0x8000_0000).len(), 2);
        assert_eq!(li64(5, 42), [addi(5, 0, 42)]);
    }
}
