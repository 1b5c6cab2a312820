//! The SiFive test finisher (`sifive,test0`): a write of `0x5555` passes, `code << 16 |
//! 0x3333` fails with `code`, `0x7777` asks for a reset. The first such write is recorded
//! ([`TestFinisher::finish`]) and reported to a [`FinishSink`] (the board stops its harts).

use fief_core::atomic::{AtomicU32, Ordering};

use fief_core::memory::{
    AccessRules, AccessSize, MemTxAttrs, MemTxResult, MmioOps, RegionOffset, SizeRule,
};

/// Size of the register window in the memory map.
pub const FINISHER_SIZE: u64 = 0x1000;
/// The value that powers off with success (`syscon-poweroff`'s `value`).
pub const POWEROFF_VALUE: u32 = 0x5555;
/// The value that resets the machine (`syscon-reboot`'s `value`).
pub const RESET_VALUE: u32 = 0x7777;

/// What the guest asked for.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// `0x5555`.
    Pass,
    /// `code << 16 | 0x3333`.
    Fail(u16),
    /// `0x7777`.
    Reset,
}

impl Finish {
    /// The process exit status QEMU gives it: 0 for a pass or a reset, `code` for a fail.
    pub fn exit_code(self) -> u32 {
        match self {
            Finish::Pass | Finish::Reset => 0,
            Finish::Fail(code) => code as u32,
        }
    }

    fn encode(self) -> u32 {
        match self {
            Finish::Pass => 1,
            Finish::Reset => 2,
            Finish::Fail(code) => 3 | (code as u32) << 16,
        }
    }

    fn decode(v: u32) -> Option<Finish> {
        match v & 0xffff {
            1 => Some(Finish::Pass),
            2 => Some(Finish::Reset),
            3 => Some(Finish::Fail((v >> 16) as u16)),
            _ => None,
        }
    }
}

/// Told when the guest finishes.
pub trait FinishSink: Sync {
    /// The guest wrote `finish` (called once, for the first write).
    fn finished(&self, finish: Finish);
}

/// The finisher (see the [module docs](self)).
pub struct TestFinisher<'a> {
    status: AtomicU32,
    sink: fief_core::lock::Mutex<Option<&'a dyn FinishSink>>,
}

impl Default for TestFinisher<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> TestFinisher<'a> {
    /// A finisher that nothing has written yet.
    pub const fn new() -> TestFinisher<'a> {
        TestFinisher {
            status: AtomicU32::new(0),
            sink: fief_core::lock::Mutex::new(None),
        }
    }

    /// Reports the finish to `sink` from now on.
    pub fn set_sink(&self, sink: &'a dyn FinishSink) {
        *self.sink.lock() = Some(sink);
    }

    /// Forgets the finish (machine reset): the next write counts again.
    pub fn reset(&self) {
        self.status.store(0, Ordering::Release);
    }

    /// The first finish the guest wrote, if any.
    pub fn finish(&self) -> Option<Finish> {
        Finish::decode(self.status.load(Ordering::Acquire))
    }
}

impl MmioOps for TestFinisher<'_> {
    fn read(&self, _: RegionOffset, _: AccessSize, _: MemTxAttrs) -> (u64, MemTxResult) {
        (0, MemTxResult::OK)
    }

    fn write(&self, offset: RegionOffset, value: u64, _: AccessSize, _: MemTxAttrs) -> MemTxResult {
        if offset.0 != 0 {
            return MemTxResult::OK;
        }
        let value = value as u32;
        let finish = match value & 0xffff {
            0x5555 => Finish::Pass,
            0x3333 => Finish::Fail((value >> 16) as u16),
            0x7777 => Finish::Reset,
            _ => return MemTxResult::OK,
        };
        if self
            .status
            .compare_exchange(0, finish.encode(), Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            if let Some(sink) = *self.sink.lock() {
                sink.finished(finish);
            }
        }
        MemTxResult::OK
    }

    fn rules(&self) -> AccessRules {
        AccessRules {
            valid: SizeRule::aligned(2, 4),
            implemented: SizeRule::aligned(2, 4),
            ..AccessRules::DEFAULT
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_write_wins() {
        let f = TestFinisher::new();
        let w = |v: u64| {
            let _ = f.write(
                RegionOffset(0),
                v,
                AccessSize::Word,
                MemTxAttrs::UNSPECIFIED,
            );
        };
        w(0x1234);
        assert_eq!(f.finish(), None);
        w(0x002a_3333);
        w(0x5555);
        assert_eq!(f.finish(), Some(Finish::Fail(42)));
        assert_eq!(Finish::Fail(42).exit_code(), 42);
    }
}
