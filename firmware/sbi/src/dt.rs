//! The device tree handed over in `a1`: what the firmware reads from it (the harts, the RAM)
//! and the one change it makes before passing it on (the firmware's region leaves `/memory`).
//!
//! Read with the `fdt` crate. The change is written in place: `/memory`'s first `reg` entry
//! starts after the firmware's region instead of at the RAM base, so the next stage never
//! allocates the firmware's code, data or stacks (PMP entry 0 also denies them to S and U
//! mode). OpenSBI adds a `/reserved-memory` node instead, which needs room to grow the blob;
//! rewriting cells of the same size needs none and works wherever the loader put the blob.

use crate::platform::{FW_BASE, FW_SIZE, MAX_HARTS};
use fdt::Fdt;

/// What the device tree says, and why it could not be used.
pub struct Tree {
    /// Bit `i`: hart `i` exists.
    pub harts: usize,
    /// The RAM's first byte.
    pub ram_start: usize,
    /// One past the RAM's last byte (saturated at the top of the address space).
    pub ram_end: usize,
    /// The harts have Sstc (`stimecmp`), by the first hart's `riscv,isa`.
    pub sstc: bool,
    /// The `menvcfg` enables of what the harts have (Zicbom: CBIE invalidate and CBCFE;
    /// Zicboz: CBZE; Svpbmt on RV64: PBMTE), by the same `riscv,isa`, as OpenSBI sets them.
    pub envcfg: usize,
}

/// `menvcfg.CBIE` = 3 (`cbo.inval` invalidates) and `menvcfg.CBCFE`.
const ENVCFG_ZICBOM: usize = 3 << 4 | 1 << 6;
/// `menvcfg.CBZE`.
const ENVCFG_ZICBOZ: usize = 1 << 7;

/// Why the device tree could not be used.
#[derive(Clone, Copy, Debug)]
pub enum TreeError {
    /// No valid blob at the address.
    NotATree,
    /// No `/memory` node with a `reg`.
    NoMemory,
    /// `#address-cells`/`#size-cells` other than 1 or 2.
    BadCells,
    /// The RAM does not hold the firmware's region and the next stage.
    RamTooSmall,
}

impl core::fmt::Display for TreeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            TreeError::NotATree => "no valid device tree at the address in a1",
            TreeError::NoMemory => "the device tree has no /memory node with a reg property",
            TreeError::BadCells => "the device tree's #address-cells/#size-cells are not 1 or 2",
            TreeError::RamTooSmall => {
                "the RAM does not start at 0x80000000 with room for the firmware and a kernel"
            }
        })
    }
}

fn read_cells(bytes: &[u8], cells: usize) -> usize {
    let mut v: u64 = 0;
    for c in 0..cells {
        let w = u32::from_be_bytes([
            bytes[4 * c],
            bytes[4 * c + 1],
            bytes[4 * c + 2],
            bytes[4 * c + 3],
        ]);
        v = v << 32 | w as u64;
    }
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// Reads the tree at `addr` and takes the firmware's region out of its `/memory` node.
///
/// # Safety
/// `addr` must be readable and writable RAM that holds nothing the firmware uses.
pub unsafe fn read_and_patch(addr: usize) -> Result<Tree, TreeError> {
    if addr == 0 || !addr.is_multiple_of(4) {
        return Err(TreeError::NotATree);
    }
    let (harts, (sstc, envcfg), ac, sc, ram_start, ram_size, offset) = {
        // SAFETY: the caller guarantees `addr` is readable RAM; `from_ptr` checks the magic and
        // reads `totalsize` bytes.
        let fdt = unsafe { Fdt::from_ptr(addr as *const u8) }.map_err(|_| TreeError::NotATree)?;
        let mut harts = 0;
        for cpu in fdt.cpus() {
            if let Some(id) = cpu.property("reg").and_then(|p| p.as_usize()) {
                if id < MAX_HARTS {
                    harts |= 1 << id;
                }
            }
        }
        let isa = fdt
            .cpus()
            .next()
            .and_then(|cpu| cpu.property("riscv,isa"))
            .and_then(|p| p.as_str())
            .unwrap_or("");
        let has = |name: &str| isa.split('_').any(|ext| ext == name);
        let mut envcfg = 0;
        if has("zicbom") {
            envcfg |= ENVCFG_ZICBOM;
        }
        if has("zicboz") {
            envcfg |= ENVCFG_ZICBOZ;
        }
        // Svpbmt (RV64 only): without PBMTE a PTE's PBMT field is reserved and Linux's
        // ioremap pages (PBMT = IO) fault.
        #[cfg(target_pointer_width = "64")]
        if has("svpbmt") {
            envcfg |= 1 << 62;
        }
        let sstc = has("sstc");
        let cells = fdt.root().cell_sizes();
        let (ac, sc) = (cells.address_cells, cells.size_cells);
        if !(1..=2).contains(&ac) || !(1..=2).contains(&sc) {
            return Err(TreeError::BadCells);
        }
        let reg = fdt
            .find_node("/memory")
            .and_then(|n| n.property("reg"))
            .ok_or(TreeError::NoMemory)?;
        if reg.value.len() < 4 * (ac + sc) {
            return Err(TreeError::NoMemory);
        }
        let ram_start = read_cells(reg.value, ac);
        let ram_size = read_cells(&reg.value[4 * ac..], sc);
        (
            harts,
            (sstc, envcfg),
            ac,
            sc,
            ram_start,
            ram_size,
            reg.value.as_ptr() as usize - addr,
        )
    }; // no reference into the blob lives past here
    let ram_end = ram_start.saturating_add(ram_size);
    let fw_end = FW_BASE + FW_SIZE;
    if ram_start != FW_BASE || ram_end < FW_BASE + crate::platform::NEXT_STAGE_OFFSET + (1 << 20) {
        return Err(TreeError::RamTooSmall);
    }
    // Rewrite: start = end of the firmware's region, size shrunk to match.
    let mut new = [0u8; 16];
    let put = |out: &mut [u8], cells: usize, v: usize| {
        let v = v as u64;
        for c in 0..cells {
            let shift = 32 * (cells - 1 - c);
            out[4 * c..4 * c + 4].copy_from_slice(&((v >> shift) as u32).to_be_bytes());
        }
    };
    put(&mut new[..4 * ac], ac, fw_end);
    put(&mut new[4 * ac..4 * (ac + sc)], sc, ram_size - FW_SIZE);
    let dst = (addr + offset) as *mut u8;
    // SAFETY: `dst` is the `reg` property's value inside the blob (checked long enough
    // above), in RAM the caller gave us; no reference into the blob is used after this.
    unsafe { core::ptr::copy_nonoverlapping(new.as_ptr(), dst, 4 * (ac + sc)) };
    Ok(Tree {
        harts,
        ram_start,
        ram_end,
        sstc,
        envcfg,
    })
}
