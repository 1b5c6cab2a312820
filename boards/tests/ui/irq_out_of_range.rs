use fief_boards::layout::{DeviceKind, IrqRoute, Layout, MapEntry, Pools};

const BAD_IRQ: Layout = Layout {
    name: "bad-irq",
    map: &[MapEntry { name: "uart", base: 0x1000_0000, size: 0x100, kind: DeviceKind::Uart }],
    irqs: &[IrqRoute { device: "uart", source: 96 }],
    irq_sources: 96,
    max_harts: 1,
    pools: Pools { regions: 4, owners: 4, flat_ranges: 4, irq_lines: 8 },
};

const _: () = BAD_IRQ.assert_valid();

fn main() {}
