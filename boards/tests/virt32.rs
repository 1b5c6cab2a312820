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
    // The hart's four lines, the RTC's, the eight virtio slots' and the DMA engine's two
    // remain.
    assert_eq!(d.wiring.len(), 15);
}

#[test]
fn machine_reset_puts_every_device_back() {
    use fief_boards::dma::reg;
    use fief_boards::virt32::{DMA_BASE, DMA_ERROR_IRQ, RTC_IRQ};
    let b = board(1);
    let d = b.devices;
    let space = b.space();
    let w = |addr: u64, v: u64| {
        let r = space.write(
            GuestAddress(addr),
            AccessSize::Word,
            v,
            MemTxAttrs::UNSPECIFIED,
        );
        assert_eq!(r, MemTxResult::OK, "{addr:#x}");
    };
    let r = |addr: u64| {
        space
            .read(
                GuestAddress(addr),
                AccessSize::Word,
                MemTxAttrs::UNSPECIFIED,
            )
            .0
    };
    let ch0 = DMA_BASE + reg::CHANNEL_BASE;
    // The DMA engine: a chain at an unmapped address ends in an error interrupt.
    w(DMA_BASE + reg::INT_ENABLE, 0xffff_ffff);
    w(ch0 + reg::DESC, 0x10);
    w(ch0 + reg::CONTROL, 1);
    while b.dma_poll(4) != 0 {}
    assert_ne!(r(ch0 + reg::STATUS), 0);
    assert!(d.dma.error_irq.level() && d.plic.is_pending(DMA_ERROR_IRQ));
    // The RTC: an alarm in the past with its interrupt enabled.
    w(0x10_1010, 1);
    w(0x10_1008, 0);
    assert!(d.rtc.irq_level() && d.plic.is_pending(RTC_IRQ));
    // The CLINT: a timer and a software interrupt; the PLIC: a priority and an enable.
    w(0x200_4000, 0x1234);
    w(0x200_0000, 1);
    w(0xc00_0000 + 4 * RTC_IRQ as u64, 3);
    w(0xc00_2000, 1 << RTC_IRQ);
    assert!(d.harts.get(0).unwrap().pending() != 0);
    // The finisher: a reset request.
    w(0x10_0000, 0x7777);
    assert!(b.finish().is_some());

    b.reset();
    assert_eq!(b.finish(), None);
    assert_eq!(r(ch0 + reg::STATUS), 0);
    assert_eq!(r(DMA_BASE + reg::INT_STATUS), 0);
    assert_eq!(r(DMA_BASE + reg::INT_ENABLE), 0);
    assert!(!d.dma.error_irq.level() && !d.dma.done_irq.level());
    assert!(!d.rtc.irq_level());
    assert_eq!(r(0x10_1010), 0);
    assert_eq!(d.clint.mtimecmp(0), Some(u64::MAX));
    assert_eq!(r(0x200_0000), 0);
    assert_eq!(r(0xc00_0000 + 4 * RTC_IRQ as u64), 0);
    assert_eq!(r(0xc00_2000), 0);
    // Nothing is left pending at the hart but what the guest sets itself.
    assert_eq!(d.harts.get(0).unwrap().pending() & !(1 << 31), 0);
}

#[test]
fn the_deterministic_run_fires_the_rtc_alarm() {
    use fief_boards::rtc::WallClock;
    use fief_boards::virt32::{Image, RunOutcome, RTC_IRQ};
    use std::sync::atomic::{AtomicU64, Ordering};
    // A clock that moves 1 µs each time it is read, from 2025.
    struct Ticking(AtomicU64);
    impl WallClock for Ticking {
        fn now_ns(&self) -> u64 {
            self.0.fetch_add(1000, Ordering::Relaxed)
        }
    }
    let devices: &'static Virt32Devices<'static> = Box::leak(Box::new(Virt32Devices::new()));
    let ram = RamBlock::new(Box::leak(vec![0u8; 16 << 20].into_boxed_slice()));
    let b = Virt32::build(devices, ram, 1).unwrap();
    let clock: &'static Ticking = Box::leak(Box::new(Ticking(AtomicU64::new(1_735_689_600 << 30))));
    b.devices.rtc.set_clock(clock);
    let elf = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../host/firmware/rtc.elf"
    ))
    .unwrap();
    let mut dtb = [0u8; 8192];
    let len = b.write_dtb(&mut dtb).unwrap();
    let boot = b.boot(None, Some(Image::Elf(&elf)), &dtb[..len]).unwrap();
    let mut harts = vec![b.hart(0, boot.entry, boot.dtb_addr).unwrap()];
    let outcome = b.run(&mut harts, 50_000_000, 1_000);
    assert_eq!(
        outcome,
        RunOutcome::Finished(fief_boards::finisher::Finish::Pass),
        "a0 = {}",
        harts[0].reg(10)
    );
    // The guest's last check leaves an alarm interrupt pending.
    assert!(b.devices.plic.is_pending(RTC_IRQ));
}
