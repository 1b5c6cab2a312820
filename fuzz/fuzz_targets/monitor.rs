//! The monitor's command parser and commands (`fief_host::monitor::Monitor::execute`): any
//! lines of text on a `virt32` board never panic the host, and every reply is either empty
//! or one or more whole lines. The board and monitor live across inputs (devices an input
//! plugs stay for the next), as in a long monitor session.
#![no_main]

use std::sync::OnceLock;

use fief_boards::virt32::{Virt32, Virt32Devices};
use fief_core::memory::RamBlock;
use fief_host::monitor::Monitor;
use libfuzzer_sys::fuzz_target;

fn monitor() -> &'static Monitor {
    static MONITOR: OnceLock<&'static Monitor> = OnceLock::new();
    MONITOR.get_or_init(|| {
        let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
        let ram = RamBlock::new(Box::leak(vec![0u8; 1 << 20].into_boxed_slice()));
        let board: &'static Virt32<'static> =
            Box::leak(Box::new(Virt32::build(devices, ram, 1).expect("board")));
        Box::leak(Box::new(Monitor::new(board, None, || {})))
    })
}

fuzz_target!(|data: &[u8]| {
    let m = monitor();
    let text = String::from_utf8_lossy(data);
    for line in text.split('\n').take(32) {
        let reply = m.execute(line);
        assert!(
            reply.text.is_empty() || reply.text.ends_with('\n'),
            "reply to {line:?} is not whole lines: {:?}",
            reply.text
        );
    }
});
