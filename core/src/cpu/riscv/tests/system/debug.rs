//! The debugger's hardware breakpoints and watchpoints stopping the hart before the
//! instruction.

use super::super::asm::*;
use super::super::{peek, RAM_BASE};
use super::with_handler;
use crate::cpu::riscv::Exit;

#[test]
fn debugger_points_stop_the_hart_before_the_instruction() {
    use crate::cpu::riscv::{DebugHit, WatchKind, DEBUG_POINTS};
    let data = RAM_BASE + 0x8000;
    let prog = [
        lui(1, data as u32),
        li(2, 7),
        sw(2, 1, 0), // +8: watched (write)
        lw(3, 1, 4), // +12: watched (read)
        li(4, 1),    // +16: hardware breakpoint
        li(5, 1),
        EBREAK,
    ];
    with_handler(&prog, |h, sec| {
        assert!(h.add_watchpoint(data, 4, WatchKind::Write));
        assert!(h.add_watchpoint(data + 6, 2, WatchKind::Read));
        assert!(h.add_hw_breakpoint(RAM_BASE + 16));
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 8));
        assert_eq!(
            h.take_debug_hit(),
            Some(DebugHit::Watch(data, WatchKind::Write))
        );
        assert_eq!(peek(sec, data), 0, "stopped before the store");
        assert!(h.remove_watchpoint(data, 4, WatchKind::Write));
        // A word load at +4 (bytes 4..7) overlaps the read watch at 6..7.
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 12));
        assert_eq!(
            h.take_debug_hit(),
            Some(DebugHit::Watch(data + 6, WatchKind::Read))
        );
        assert_eq!(peek(sec, data), 7);
        assert!(h.remove_watchpoint(data + 6, 2, WatchKind::Read));
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 16));
        assert_eq!(
            h.take_debug_hit(),
            Some(DebugHit::Breakpoint(RAM_BASE + 16))
        );
        assert_eq!(h.reg(4), 0, "not executed");
        assert!(h.remove_hw_breakpoint(RAM_BASE + 16));
        assert!(!h.remove_hw_breakpoint(RAM_BASE + 16));
        assert_eq!(h.run(sec, 100), Exit::Breakpoint(RAM_BASE + 24)); // the ebreak
        assert_eq!(h.take_debug_hit(), None);
        assert_eq!((h.reg(4), h.reg(5)), (1, 1));
        assert_eq!(h.last_trap().count, 0, "the guest saw no trap");
        for k in 0..DEBUG_POINTS as u64 {
            assert!(h.add_hw_breakpoint(0x1000 + 4 * k));
        }
        assert!(!h.add_hw_breakpoint(0x2000), "full");
    });
}
