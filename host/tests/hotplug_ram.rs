//! Unplugged RAM goes back to the host (issue 16): `device_add ram` / `device_del` pairs of
//! different sizes, every page written so that it is resident, leave neither host mappings
//! nor resident memory behind once each unplug is complete.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use fief_boards::virt32::{Virt32, Virt32Devices};
use fief_core::memory::{GuestAddress, MemTxAttrs, RamBlock};
use fief_host::monitor::{Monitor, Unplug};

/// Resident memory of this process, in bytes (`/proc/self/statm`).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

#[test]
fn unplugged_ram_is_unmapped_and_no_longer_resident() {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 1 << 20].into_boxed_slice()));
    let board: &'static Virt32<'static> =
        Box::leak(Box::new(Virt32::build(devices, ram, 1).unwrap()));
    let monitor = Monitor::new(board, None, || {});
    let page = vec![0xa5u8; 1 << 20];
    let before = rss();
    let mut plugged = 0u64;
    for i in 0..12u64 {
        let size = (4 + i) << 20;
        let id = format!("ram{i}");
        monitor.device_add_ram(&id, 0x9000_0000, size).unwrap();
        assert_eq!(monitor.ram_mappings(), 1);
        for off in (0..size).step_by(1 << 20) {
            assert!(board
                .space()
                .write_buf(
                    GuestAddress(0x9000_0000 + off),
                    &page,
                    MemTxAttrs::UNSPECIFIED
                )
                .is_ok());
        }
        plugged += size;
        assert!(matches!(
            monitor.device_del(&id, Duration::from_secs(10)),
            Ok(Unplug::Complete)
        ));
        assert_eq!(monitor.ram_mappings(), 0, "round {i}: the mapping is gone");
    }
    let grown = rss().saturating_sub(before);
    assert!(
        grown < 16 << 20,
        "{} MiB plugged, written and unplugged; the process grew by {} MiB",
        plugged >> 20,
        grown >> 20
    );
}
