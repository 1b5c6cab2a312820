//! The cache-block operations: Zicbom (`cbo.clean`, `cbo.flush`, `cbo.inval`) and Zicboz
//! (`cbo.zero`), as the CMO specification 1.0 says. Zicbop's prefetches are `ori` hints and
//! need nothing here.
//!
//! Fief's memory is coherent and has no caches, so clean, flush and invalidate change
//! nothing; they still check what the specification requires: the `menvcfg`/`senvcfg`
//! enables (CBIE for `cbo.inval`, CBCFE for clean and flush, CBZE for `cbo.zero`; a clear
//! enable makes the instruction illegal below M, resp. in U), and the address: the block
//! must be readable or writable, else a store page fault (translation) or a store access
//! fault (PMP, no memory). `cbo.zero` is a 64-byte store of zeros to the aligned block,
//! checked whole (translation and PMP for all 64 bytes) before a byte is written. The
//! trap value is the effective address (`rs1`), as in the Sail reference model.

use super::csr::envcfg;
use super::hart::Hart;
use super::insn::Op;
use super::mmu::Access;
use super::trap::{cause, Exception, Priv};
use crate::cpu::Bus;

/// The Zicbom cache-block size in bytes (QEMU's `cbom_blocksize` default): the device
/// tree's `riscv,cbom-block-size`.
pub const CBOM_BLOCK_SIZE: u32 = 64;
/// The Zicboz cache-block size in bytes, the block `cbo.zero` writes (QEMU's
/// `cboz_blocksize` default): the device tree's `riscv,cboz-block-size`.
pub const CBOZ_BLOCK_SIZE: u32 = 64;

impl Hart<'_> {
    /// Executes cache-block operation `op` (one of the `Op::Cbo*`) on the block holding
    /// `addr` (`rs1`); `raw` is the instruction word (for an illegal-instruction trap).
    pub(super) fn cbo<B: Bus + ?Sized>(
        &mut self,
        bus: &B,
        op: Op,
        addr: u64,
        raw: u32,
    ) -> Result<(), Exception> {
        let enable = match op {
            Op::CboZero => envcfg::CBZE,
            Op::CboInval => envcfg::CBIE,
            _ => envcfg::CBCFE,
        };
        if (self.prv < Priv::Machine && self.csr.menvcfg & enable == 0)
            || (self.prv == Priv::User && self.csr.senvcfg & enable == 0)
        {
            return Err(Exception::new(cause::ILLEGAL, raw as u64));
        }
        let with_tval = |e: Exception| Exception::new(e.cause, addr);
        if op == Op::CboZero {
            let size = CBOZ_BLOCK_SIZE as u64;
            let block = addr & !(size - 1) & self.xmask;
            self.translate(bus, block, size, Access::Store)
                .map_err(with_tval)?;
            for k in 0..size / 4 {
                self.store(bus, block + 4 * k, 4, 0).map_err(with_tval)?;
            }
            return Ok(());
        }
        // Clean, flush, invalidate: allowed where a load or a store would be.
        let size = CBOM_BLOCK_SIZE as u64;
        let block = addr & !(size - 1) & self.xmask;
        if self.translate(bus, block, size, Access::Load).is_ok() {
            return Ok(());
        }
        self.translate(bus, block, size, Access::Store)
            .map(|_| ())
            .map_err(with_tval)
    }
}
