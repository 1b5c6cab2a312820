//! A tiny assembler for hand-written test programs.

pub const fn r(f7: u32, rs2: u32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
pub const fn i(imm: i32, rs1: u32, f3: u32, rd: u32, op: u32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
pub const fn s(imm: i32, rs2: u32, rs1: u32, f3: u32, op: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op
}
pub const fn b(imm: i32, rs2: u32, rs1: u32, f3: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 12) & 1) << 31)
        | (((imm >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((imm >> 1) & 0xf) << 8)
        | (((imm >> 11) & 1) << 7)
        | 0x63
}
pub const fn j(imm: i32, rd: u32) -> u32 {
    let imm = imm as u32;
    (((imm >> 20) & 1) << 31)
        | (((imm >> 1) & 0x3ff) << 21)
        | (((imm >> 11) & 1) << 20)
        | (((imm >> 12) & 0xff) << 12)
        | (rd << 7)
        | 0x6f
}

pub const fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i(imm, rs1, 0, rd, 0x13)
}
pub const fn li(rd: u32, imm: i32) -> u32 {
    addi(rd, 0, imm)
}
pub const fn lui(rd: u32, imm: u32) -> u32 {
    (imm & 0xffff_f000) | (rd << 7) | 0x37
}
pub const fn auipc(rd: u32, imm: u32) -> u32 {
    (imm & 0xffff_f000) | (rd << 7) | 0x17
}
pub const fn op(f7: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    r(f7, rs2, rs1, f3, rd, 0x33)
}
pub const fn add(rd: u32, rs1: u32, rs2: u32) -> u32 {
    op(0, 0, rd, rs1, rs2)
}
pub const fn sub(rd: u32, rs1: u32, rs2: u32) -> u32 {
    op(0x20, 0, rd, rs1, rs2)
}
pub const fn jal(rd: u32, off: i32) -> u32 {
    j(off, rd)
}
pub const fn jalr(rd: u32, rs1: u32, off: i32) -> u32 {
    i(off, rs1, 0, rd, 0x67)
}
pub const fn beq(rs1: u32, rs2: u32, off: i32) -> u32 {
    b(off, rs2, rs1, 0)
}
pub const fn bne(rs1: u32, rs2: u32, off: i32) -> u32 {
    b(off, rs2, rs1, 1)
}
pub const fn load(f3: u32, rd: u32, rs1: u32, off: i32) -> u32 {
    i(off, rs1, f3, rd, 0x03)
}
pub const fn lw(rd: u32, rs1: u32, off: i32) -> u32 {
    load(2, rd, rs1, off)
}
pub const fn store(f3: u32, rs2: u32, rs1: u32, off: i32) -> u32 {
    s(off, rs2, rs1, f3, 0x23)
}
pub const fn sw(rs2: u32, rs1: u32, off: i32) -> u32 {
    store(2, rs2, rs1, off)
}
pub const fn csr(f3: u32, rd: u32, csr: u16, rs1: u32) -> u32 {
    ((csr as u32) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x73
}
pub const fn csrrw(rd: u32, n: u16, rs1: u32) -> u32 {
    csr(1, rd, n, rs1)
}
pub const fn csrrs(rd: u32, n: u16, rs1: u32) -> u32 {
    csr(2, rd, n, rs1)
}
pub const fn csrr(rd: u32, n: u16) -> u32 {
    csrrs(rd, n, 0)
}
pub const fn csrw(n: u16, rs1: u32) -> u32 {
    csrrw(0, n, rs1)
}
pub const ECALL: u32 = 0x0000_0073;
pub const EBREAK: u32 = 0x0010_0073;
pub const MRET: u32 = 0x3020_0073;
pub const SRET: u32 = 0x1020_0073;
pub const WFI: u32 = 0x1050_0073;
pub const SFENCE_VMA: u32 = 0x1200_0073;
pub const FENCE_I: u32 = 0x0000_100f;
pub const NOP: u32 = 0x0000_0013;
pub const fn amo(f5: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    r(f5 << 2, rs2, rs1, f3, rd, 0x2f)
}
pub const fn lr_w(rd: u32, rs1: u32) -> u32 {
    amo(0b00010, 2, rd, rs1, 0)
}
pub const fn sc_w(rd: u32, rs1: u32, rs2: u32) -> u32 {
    amo(0b00011, 2, rd, rs1, rs2)
}
