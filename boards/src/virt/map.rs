//! `virt`'s shared description: the memory map ([`map`]), the interrupt routes ([`IRQS`]),
//! the pool capacities ([`POOLS`]) and the [`layout`] each instance is built from.

use super::*;
use crate::layout::{DeviceKind, IrqRoute, Layout, MapEntry, Pools};

/// Entries of the memory map.
pub const MAP_LEN: usize = 8 + VIRTIO_SLOTS;

/// The map entry of virtio slot `n`.
pub(super) const fn virtio_entry(n: usize) -> MapEntry {
    const NAMES: [&str; VIRTIO_SLOTS] = [
        "virtio0", "virtio1", "virtio2", "virtio3", "virtio4", "virtio5", "virtio6", "virtio7",
    ];
    MapEntry {
        name: NAMES[n],
        base: VIRTIO_BASE + n as u64 * VIRTIO_MMIO_SIZE,
        size: VIRTIO_MMIO_SIZE,
        kind: DeviceKind::VirtioMmio,
    }
}

/// QEMU `virt`'s memory map (the devices Fief has) with at most `ram_max` bytes of RAM.
pub const fn map(ram_max: u64) -> [MapEntry; MAP_LEN] {
    [
        MapEntry {
            name: "mrom",
            base: MROM_BASE,
            size: MROM_SIZE,
            kind: DeviceKind::Rom,
        },
        MapEntry {
            name: "test",
            base: 0x10_0000,
            size: FINISHER_SIZE,
            kind: DeviceKind::TestFinisher,
        },
        MapEntry {
            name: "rtc",
            base: 0x10_1000,
            size: RTC_SIZE,
            kind: DeviceKind::Rtc,
        },
        MapEntry {
            name: "clint",
            base: 0x200_0000,
            size: CLINT_SIZE,
            kind: DeviceKind::Clint,
        },
        MapEntry {
            name: "plic",
            base: 0xc00_0000,
            size: PLIC_SIZE,
            kind: DeviceKind::Plic,
        },
        MapEntry {
            name: "uart0",
            base: 0x1000_0000,
            size: UART_SIZE,
            kind: DeviceKind::Uart,
        },
        virtio_entry(0),
        virtio_entry(1),
        virtio_entry(2),
        virtio_entry(3),
        virtio_entry(4),
        virtio_entry(5),
        virtio_entry(6),
        virtio_entry(7),
        MapEntry {
            name: "dma0",
            base: DMA_BASE,
            size: DMA_SIZE,
            kind: DeviceKind::Dma,
        },
        MapEntry {
            name: "ram",
            base: RAM_BASE,
            size: ram_max,
            kind: DeviceKind::Ram,
        },
    ]
}

/// The interrupt routes of every `virt` board.
pub const IRQS: &[IrqRoute] = &[
    IrqRoute {
        device: "virtio0",
        source: 1,
    },
    IrqRoute {
        device: "virtio1",
        source: 2,
    },
    IrqRoute {
        device: "virtio2",
        source: 3,
    },
    IrqRoute {
        device: "virtio3",
        source: 4,
    },
    IrqRoute {
        device: "virtio4",
        source: 5,
    },
    IrqRoute {
        device: "virtio5",
        source: 6,
    },
    IrqRoute {
        device: "virtio6",
        source: 7,
    },
    IrqRoute {
        device: "virtio7",
        source: 8,
    },
    IrqRoute {
        device: "uart0",
        source: UART_IRQ,
    },
    IrqRoute {
        device: "rtc",
        source: RTC_IRQ,
    },
    IrqRoute {
        device: "dma0",
        source: DMA_DONE_IRQ,
    },
    IrqRoute {
        device: "dma0",
        source: DMA_ERROR_IRQ,
    },
];

/// The pool capacities every `virt` board shares (so that one [`VirtMemory`] type fits
/// both), with room beyond the map for devices plugged at run time (the monitor's
/// `device_add`).
pub const POOLS: Pools = Pools {
    regions: 32 + VIRTIO_SLOTS,
    owners: 24 + VIRTIO_SLOTS,
    flat_ranges: 48 + VIRTIO_SLOTS,
    irq_lines: 4 + VIRTIO_SLOTS + 4 * MAX_HARTS + HOTPLUG_IRQ_LINES,
};

/// A `virt` layout named `name` over `map` (one of [`map`]'s results).
pub const fn layout(name: &'static str, map: &'static [MapEntry]) -> Layout {
    Layout {
        name,
        map,
        irqs: IRQS,
        irq_sources: PLIC_SOURCES as u32,
        max_harts: MAX_HARTS,
        pools: POOLS,
    }
}
