//! The engine's guest-visible encoding: register offsets, `CONTROL` values, channel states,
//! descriptor flags and error codes (the tables in [`super`]'s documentation).

use fief_core::memory::{DmaError, MemTxResult};

/// Register offsets.
pub mod reg {
    /// Identification.
    pub const ID: u64 = 0x000;
    /// Channel count.
    pub const CHANNELS: u64 = 0x004;
    /// Interrupt status (write 1 to clear).
    pub const INT_STATUS: u64 = 0x008;
    /// Interrupt enable.
    pub const INT_ENABLE: u64 = 0x00c;
    /// First channel's registers.
    pub const CHANNEL_BASE: u64 = 0x100;
    /// Distance between channels' registers.
    pub const CHANNEL_STRIDE: u64 = 0x40;
    /// First descriptor address, low half (channel-relative).
    pub const DESC: u64 = 0x00;
    /// First descriptor address, high half.
    pub const DESC_HI: u64 = 0x04;
    /// Start / abort.
    pub const CONTROL: u64 = 0x08;
    /// State and error code.
    pub const STATUS: u64 = 0x0c;
    /// Bytes transferred.
    pub const BYTES: u64 = 0x10;
    /// Current descriptor.
    pub const CURRENT: u64 = 0x14;
    /// Failing address.
    pub const ERR_ADDR: u64 = 0x18;
}

/// `CONTROL` values.
pub mod control {
    /// Start the chain at `DESC`.
    pub const START: u32 = 1;
    /// Stop between chunks.
    pub const ABORT: u32 = 2;
}

/// Channel states (`STATUS` bits 0–3).
pub mod state {
    /// Never started.
    pub const IDLE: u8 = 0;
    /// Transferring.
    pub const BUSY: u8 = 1;
    /// The chain completed.
    pub const DONE: u8 = 2;
    /// Stopped by an error (code in `STATUS` bits 8–15).
    pub const ERROR: u8 = 3;
    /// Stopped by an abort.
    pub const ABORTED: u8 = 4;
}

/// Descriptor flags.
pub mod flags {
    /// Raise the done interrupt when this descriptor completes.
    pub const IRQ: u32 = 1 << 0;
    /// The chain ends here (whatever `next` says).
    pub const LAST: u32 = 1 << 1;
    /// The destination is a FIFO register: every byte goes to the same address.
    pub const DST_FIXED: u32 = 1 << 2;
    /// The source is a FIFO register: every byte comes from the same address.
    pub const SRC_FIXED: u32 = 1 << 3;
}

/// Why a channel stopped (`STATUS` bits 8–15).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorCode {
    /// No error.
    None = 0,
    /// A descriptor could not be read.
    DescriptorFetch = 1,
    /// Nothing is mapped at the source or destination.
    Unassigned = 2,
    /// The memory was unplugged during the transfer.
    Revoked = 3,
    /// No bounce buffer became free.
    Busy = 4,
    /// The device or bus answered an error.
    Bus = 5,
    /// The access was refused (re-entrancy: the engine's own registers).
    Access = 6,
    /// The lease table was full.
    TableFull = 7,
}

impl ErrorCode {
    /// The code for a register value.
    pub fn from_u8(v: u8) -> ErrorCode {
        match v {
            1 => ErrorCode::DescriptorFetch,
            2 => ErrorCode::Unassigned,
            3 => ErrorCode::Revoked,
            4 => ErrorCode::Busy,
            5 => ErrorCode::Bus,
            6 => ErrorCode::Access,
            7 => ErrorCode::TableFull,
            _ => ErrorCode::None,
        }
    }

    pub(super) fn of(e: DmaError) -> ErrorCode {
        match e {
            DmaError::Busy => ErrorCode::Busy,
            DmaError::TableFull => ErrorCode::TableFull,
            DmaError::Revoked => ErrorCode::Revoked,
            DmaError::Unassigned { .. } => ErrorCode::Unassigned,
            DmaError::Bus(r) => Self::of_result(r),
            DmaError::Stale | DmaError::OutOfLease { .. } | DmaError::NoSuchSpace => ErrorCode::Bus,
            DmaError::Empty => ErrorCode::Bus,
        }
    }

    fn of_result(r: MemTxResult) -> ErrorCode {
        if r.contains(MemTxResult::ACCESS_ERROR) {
            ErrorCode::Access
        } else if r.contains(MemTxResult::DECODE_ERROR) {
            ErrorCode::Unassigned
        } else {
            ErrorCode::Bus
        }
    }
}
