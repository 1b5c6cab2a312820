//! Transaction attributes and results: what an access carries besides its address, and how
//! it ended (QEMU's `MemTxAttrs` and `MemTxResult`).

use bitflags::bitflags;

bitflags! {
    /// How an access ended. Empty is success; results of the pieces of a split access are
    /// OR-ed together, so a buffer access that touched one unassigned byte reports
    /// `DECODE_ERROR` even if the rest went through.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    #[must_use = "a bus access can fail; the CPU turns a failure into an access fault"]
    pub struct MemTxResult: u8 {
        /// The device reported an error (a bus error).
        const ERROR = 1 << 0;
        /// Nothing answers at this address, the access size or alignment is not accepted,
        /// or a non-debug write hit ROM.
        const DECODE_ERROR = 1 << 1;
        /// The access was refused by an access check (permissions, re-entrancy).
        const ACCESS_ERROR = 1 << 2;
    }
}

impl MemTxResult {
    /// Success.
    pub const OK: MemTxResult = MemTxResult::empty();

    /// True when the access went through.
    pub const fn is_ok(self) -> bool {
        self.is_empty()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for MemTxResult {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "MemTxResult({=u8:#x})", self.bits())
    }
}

bitflags! {
    /// Flags carried by an access.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct MemTxFlags: u8 {
        /// A debugger's access: may write ROM, has no side effects a guest would see.
        const DEBUG = 1 << 0;
        /// A secure-world access (placeholder: nothing checks it yet).
        const SECURE = 1 << 1;
        /// An unprivileged access (placeholder: nothing checks it yet).
        const USER = 1 << 2;
    }
}

/// Attributes of one access: flags and who asked (a hart or a DMA requester).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct MemTxAttrs {
    /// Debug, secure, user.
    pub flags: MemTxFlags,
    /// The requester: a hart number or a bus master's id.
    pub requester_id: u16,
}

impl MemTxAttrs {
    /// A plain access by requester 0.
    pub const UNSPECIFIED: MemTxAttrs = MemTxAttrs {
        flags: MemTxFlags::empty(),
        requester_id: 0,
    };
    /// A debugger's access.
    pub const DEBUG: MemTxAttrs = MemTxAttrs {
        flags: MemTxFlags::DEBUG,
        requester_id: 0,
    };

    /// True for a debugger's access.
    pub const fn is_debug(self) -> bool {
        self.flags.contains(MemTxFlags::DEBUG)
    }
}

impl core::fmt::Display for MemTxResult {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_ok() {
            return f.write_str("ok");
        }
        let mut sep = "";
        for (flag, text) in [
            (MemTxResult::ERROR, "bus error"),
            (MemTxResult::DECODE_ERROR, "decode error"),
            (MemTxResult::ACCESS_ERROR, "access error"),
        ] {
            if self.contains(flag) {
                write!(f, "{sep}{text}")?;
                sep = " + ";
            }
        }
        Ok(())
    }
}
