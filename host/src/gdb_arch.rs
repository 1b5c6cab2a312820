//! The debugger's view of the hart's registers: gdbstub's RV32 core registers (the `g`
//! packet: x0..x31 and `pc`, as QEMU's stub sends) plus the F/D registers, which gdb reads
//! one at a time (`p`/`P`), as from QEMU: `f0..f31` as 64-bit registers 33..64 and
//! `fflags`/`frm`/`fcsr` as 66..68 (gdb's RISC-V numbering: 65 + the CSR number). The
//! target description (`gdb_rv32fd.xml`, ours) names them in gdb's `org.gnu.gdb.riscv.cpu`
//! and `org.gnu.gdb.riscv.fpu` features. gdbstub_arch's `Riscv32` has no FP registers,
//! hence this `Arch`.

use std::num::NonZeroUsize;

use gdbstub::arch::{Arch, RegId};
use gdbstub_arch::riscv::reg::RiscvCoreRegs;

/// RV32 with F and D, for gdbstub.
pub enum Riscv32Fd {}

impl Arch for Riscv32Fd {
    type Usize = u32;
    type Registers = RiscvCoreRegs<u32>;
    type BreakpointKind = usize;
    type RegId = FdRegId;

    fn target_description_xml() -> Option<&'static str> {
        Some(include_str!("gdb_rv32fd.xml"))
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

impl RegId for FdRegId {
    fn from_raw_id(id: usize) -> Option<(Self, Option<NonZeroUsize>)> {
        let (reg, size) = match id {
            0..=31 => (FdRegId::Gpr(id as u8), 4),
            32 => (FdRegId::Pc, 4),
            33..=64 => (FdRegId::Fpr((id - 33) as u8), 8),
            66..=68 => (FdRegId::FpCsr((id - 65) as u16), 4),
            _ => return None,
        };
        Some((reg, NonZeroUsize::new(size)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_numbers_follow_gdb() {
        let id = |n| FdRegId::from_raw_id(n).map(|(r, s)| (r, s.map(NonZeroUsize::get)));
        assert_eq!(id(10), Some((FdRegId::Gpr(10), Some(4))));
        assert_eq!(id(32), Some((FdRegId::Pc, Some(4))));
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
