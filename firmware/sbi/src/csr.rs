//! Machine-mode CSR access: `read!`/`write!`/`set!`/`clear!` over `csrr`/`csrw`/`csrs`/`csrc`,
//! and the numbers and bits the firmware uses.
//!
//! Hand-written instead of the `riscv` crate: the firmware touches a dozen CSRs in a few
//! places, the crate's typed register API changes between releases (0.10 to 0.16 renamed and
//! made unsafe most of what is used here), and this keeps the image's dependency tree to the
//! RustSBI crates and `fdt`.

/// Reads a CSR by name (`read!(mcause)`).
macro_rules! read {
    ($csr:ident) => {{
        let v: usize;
        // SAFETY: reading a CSR has no memory effect; the firmware runs in M mode where every
        // CSR it names exists.
        unsafe { core::arch::asm!(concat!("csrr {0}, ", stringify!($csr)), out(reg) v) };
        v
    }};
}

/// Writes a CSR by name.
macro_rules! write {
    ($csr:ident, $v:expr) => {{
        let v: usize = $v;
        // SAFETY: M-mode CSR writes change only hart state the firmware owns (trap setup,
        // delegation, protection of the firmware itself, the state of the next stage).
        unsafe { core::arch::asm!(concat!("csrw ", stringify!($csr), ", {0}"), in(reg) v) };
    }};
}

/// Sets bits of a CSR.
macro_rules! set {
    ($csr:ident, $v:expr) => {{
        let v: usize = $v;
        // SAFETY: as for `write!`.
        unsafe { core::arch::asm!(concat!("csrs ", stringify!($csr), ", {0}"), in(reg) v) };
    }};
}

/// Clears bits of a CSR.
macro_rules! clear {
    ($csr:ident, $v:expr) => {{
        let v: usize = $v;
        // SAFETY: as for `write!`.
        unsafe { core::arch::asm!(concat!("csrc ", stringify!($csr), ", {0}"), in(reg) v) };
    }};
}

pub(crate) use {clear, read, set, write};

/// `mstatus` fields.
pub mod mstatus {
    /// S-mode interrupt enable.
    pub const SIE: usize = 1 << 1;
    /// Previous S-mode interrupt enable.
    pub const SPIE: usize = 1 << 5;
    /// Previous M-mode interrupt enable.
    pub const MPIE: usize = 1 << 7;
    /// Previous privilege for `sret` (1 = S).
    pub const SPP: usize = 1 << 8;
    /// Previous privilege for `mret` (two bits).
    pub const MPP_MASK: usize = 3 << 11;
    /// `MPP` = S.
    pub const MPP_S: usize = 1 << 11;
    /// `MPP` = M.
    pub const MPP_M: usize = 3 << 11;
    /// Loads and stores with the privilege and translation of `MPP`.
    pub const MPRV: usize = 1 << 17;
}

/// Interrupt bits of `mip`/`mie`/`mideleg`.
pub mod irq {
    /// Supervisor software interrupt.
    pub const SSI: usize = 1 << 1;
    /// Machine software interrupt.
    pub const MSI: usize = 1 << 3;
    /// Supervisor timer interrupt.
    pub const STI: usize = 1 << 5;
    /// Machine timer interrupt.
    pub const MTI: usize = 1 << 7;
    /// Supervisor external interrupt.
    pub const SEI: usize = 1 << 9;
}

/// Exception causes.
pub mod cause {
    /// Instruction address misaligned.
    pub const INSN_MISALIGNED: usize = 0;
    /// Illegal instruction.
    pub const ILLEGAL_INSN: usize = 2;
    /// Breakpoint.
    pub const BREAKPOINT: usize = 3;
    /// Load address misaligned.
    pub const LOAD_MISALIGNED: usize = 4;
    /// Store/AMO address misaligned.
    pub const STORE_MISALIGNED: usize = 6;
    /// Environment call from U mode.
    pub const USER_ECALL: usize = 8;
    /// Environment call from S mode.
    pub const SUPERVISOR_ECALL: usize = 9;
    /// Instruction page fault.
    pub const INSN_PAGE_FAULT: usize = 12;
    /// Load page fault.
    pub const LOAD_PAGE_FAULT: usize = 13;
    /// Store/AMO page fault.
    pub const STORE_PAGE_FAULT: usize = 15;
}
