//! The `virt32` board through its API: construction from the layout, the device tree
//! (parsed with the `fdt` crate), and rule L4 for IRQ lines: unplugging the UART unmaps
//! it and disconnects its interrupt.

#![allow(clippy::unwrap_used)]

use fief_boards::virt32::{Virt32, Virt32Devices, UART_IRQ};
use fief_core::irq::IrqSink;
use fief_core::memory::{AccessSize, GuestAddress, MemTxAttrs, MemTxResult, RamBlock};

fn board(harts: usize) -> Virt32<'static> {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 1 << 20].into_boxed_slice()));
    Virt32::build(devices, ram, harts).unwrap()
}

#[test]
fn device_tree_describes_the_layout() {
    let b = board(3);
    let mut buf = [0u8; 8192];
    let len = b.write_dtb(&mut buf).unwrap();
    let tree = fdt::Fdt::new(&buf[..len]).unwrap();
    assert_eq!(tree.cpus().count(), 3);
    assert_eq!(tree.cpus().next().unwrap().timebase_frequency(), 10_000_000);
    let plic = tree.find_node("/soc/plic@c000000").unwrap();
    let ext = plic.property("interrupts-extended").unwrap().value;
    assert_eq!(ext.len(), 3 * 4 * 4, "M and S contexts of 3 harts");
    for path in ["/soc/clint@2000000", "/soc/test@100000", "/memory@80000000"] {
        assert!(tree.find_node(path).is_some(), "{path}");
    }
    let reg = tree
        .find_node("/soc/serial@10000000")
        .unwrap()
        .reg()
        .unwrap()
        .next()
        .unwrap();
    assert_eq!(
        (reg.starting_address as usize, reg.size),
        (0x1000_0000, Some(0x100))
    );
    assert!(matches!(
        b.write_dtb(&mut buf[..100]),
        Err(fief_core::fdt::FdtError::BufferTooSmall)
    ));
}

#[test]
fn board_rejects_bad_hart_counts_and_ram() {
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 4096].into_boxed_slice()));
    assert!(Virt32::build(devices, ram, 0).is_err());
}

#[test]
fn unplugging_the_uart_disconnects_its_interrupt() {
    let b = board(1);
    let d = b.devices;
    let space = b.space();
    // Loopback, received-data interrupt on: the UART drives source 10.
    let w = |off: u64, v: u64| {
        space.write(
            GuestAddress(0x1000_0000 + off),
            AccessSize::Byte,
            v,
            MemTxAttrs::UNSPECIFIED,
        )
    };
    assert_eq!(w(4, 0x10), MemTxResult::OK);
    assert_eq!(w(1, 1), MemTxResult::OK);
    assert_eq!(w(0, b'x' as u64), MemTxResult::OK);
    assert!(d.uart.irq.level() && d.uart.irq.is_connected());
    assert!(d.plic.is_pending(UART_IRQ));
    {
        let mut g = d.memory.lock();
        g.begin();
        g.destroy_owner(b.owners.uart).unwrap();
        assert_eq!(d.wiring.disconnect_dead(&g), 1);
        g.commit().unwrap();
    }
    assert!(!d.uart.irq.is_connected());
    assert_eq!(w(0, b'y' as u64), MemTxResult::DECODE_ERROR);
    // The PLIC source stays quiet once claimed: nothing drives it any more.
    d.plic.set_irq(UART_IRQ, false);
    // The hart's four lines, the RTC's and the DMA engine's two remain.
    assert_eq!(d.wiring.len(), 7);
}
