//! The debugger's view of the hart's registers: gdbstub's RV32 or RV64 core registers (the
//! `g` packet: x0..x31 and `pc`, XLEN bits each, as QEMU's stub sends) plus the F/D
//! registers, which gdb reads
//! one at a time (`p`/`P`), as from QEMU: `f0..f31` as 64-bit registers 33..64 and
//! `fflags`/`frm`/`fcsr` as 66..68 (gdb's RISC-V numbering: 65 + the CSR number). The
//! target descriptions (`gdb_rv32fd.xml`, `gdb_rv64fd.xml`, ours) name them in gdb's
//! `org.gnu.gdb.riscv.cpu` and `org.gnu.gdb.riscv.fpu` features. gdbstub_arch's `Riscv32`
//! and `Riscv64` have no FP registers, hence these `Arch`es.

use std::num::NonZeroUsize;

use gdbstub::arch::{Arch, RegId};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;

/// RV32 with F and D, for gdbstub.
pub enum Riscv32Fd {}

impl Arch for Riscv32Fd {
    type Usize = u32;
    type Registers = RiscvCoreRegs<u32>;
    type BreakpointKind = usize;
    type RegId = XRegId<4>;

    fn target_description_xml() -> Option<&'static str> {
        Some(include_str!("gdb_rv32fd.xml"))
    }
}

/// RV64 with F and D, for gdbstub.
pub enum Riscv64Fd {}

impl Arch for Riscv64Fd {
    type Usize = u64;
    type Registers = RiscvCoreRegs<u64>;
    type BreakpointKind = usize;
    type RegId = XRegId<8>;

    fn target_description_xml() -> Option<&'static str> {
        Some(include_str!("gdb_rv64fd.xml"))
    }
}

/// What the stub needs of an XLEN's `Arch`.
pub trait RvArch:
    Arch<BreakpointKind = usize, Registers = RiscvCoreRegs<<Self as Arch>::Usize>>
{
    /// Bytes of an integer register.
    const XLEN_BYTES: usize;
    /// The register a register number names.
    fn reg(id: Self::RegId) -> FdRegId;
}

impl RvArch for Riscv32Fd {
    const XLEN_BYTES: usize = 4;
    fn reg(id: XRegId<4>) -> FdRegId {
        id.0
    }
}

impl RvArch for Riscv64Fd {
    const XLEN_BYTES: usize = 8;
    fn reg(id: XRegId<8>) -> FdRegId {
        id.0
    }
}

/// A register number of an XLEN of `W` bytes (its integer registers and `pc` are `W`
/// bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XRegId<const W: usize>(pub FdRegId);

impl<const W: usize> RegId for XRegId<W> {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let (reg, size) = FdRegId::from_number(id)?;
        let size = match reg {
            FdRegId::Gpr(_) | FdRegId::Pc => W,
            _ => size,
        };
        Some((XRegId(reg), NonZeroUsize::new(size)))
    }
}

/// A register gdb names by number in `p`/`P` packets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdRegId {
    /// x0..x31 (0..31).
    Gpr(u8),
    /// `pc` (32).
    Pc,
    /// f0..f31 (33..64), 64 bits.
    Fpr(u8),
    /// `fflags` (66), `frm` (67), `fcsr` (68): the CSR number.
    FpCsr(u16),
}

impl FdRegId {
    /// The register numbered `id` and its size in bytes (4 for x0..x31 and `pc`: the RV32
    /// size).
    fn from_number(id: usize) -> Option<(Self, usize)> {
        let (reg, size) = match id {
            0..=31 => (FdRegId::Gpr(id as u8), 4),
            32 => (FdRegId::Pc, 4),
            33..=64 => (FdRegId::Fpr((id - 33) as u8), 8),
            66..=68 => (FdRegId::FpCsr((id - 65) as u16), 4),
            _ => return None,
        };
        Some((reg, size))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_numbers_follow_gdb() {
        let id = |n| XRegId::<4>::from_raw_id(n).map(|(r, s)| (r.0, s.map(NonZeroUsize::get)));
        let id64 = |n| XRegId::<8>::from_raw_id(n).map(|(r, s)| (r.0, s.map(NonZeroUsize::get)));
        assert_eq!(id(10), Some((FdRegId::Gpr(10), Some(4))));
        assert_eq!(id(32), Some((FdRegId::Pc, Some(4))));
        assert_eq!(id64(10), Some((FdRegId::Gpr(10), Some(8))));
        assert_eq!(id64(32), Some((FdRegId::Pc, Some(8))));
        assert_eq!(id64(33), Some((FdRegId::Fpr(0), Some(8))));
        assert_eq!(id64(68), Some((FdRegId::FpCsr(3), Some(4))));
        let xml64 = Riscv64Fd::target_description_xml().unwrap_or("");
        assert!(xml64.contains(r#"<reg name="pc" bitsize="64" type="code_ptr" regnum="32"/>"#));
        assert!(xml64.contains(r#"<reg name="fcsr" bitsize="32" type="int" regnum="68""#));
        assert_eq!(id(33), Some((FdRegId::Fpr(0), Some(8))));
        assert_eq!(id(64), Some((FdRegId::Fpr(31), Some(8))));
        assert_eq!(id(65), None);
        assert_eq!(id(68), Some((FdRegId::FpCsr(3), Some(4))));
        assert_eq!(id(69), None);
        let xml = Riscv32Fd::target_description_xml().unwrap_or("");
        assert!(xml.contains(r#"<reg name="ft0" bitsize="64" type="riscv_double" regnum="33"/>"#));
        assert!(xml.contains(r#"<reg name="fcsr" bitsize="32" type="int" regnum="68""#));
    }
}
