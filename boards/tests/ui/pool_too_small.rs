use fief_boards::layout::{DeviceKind, Layout, MapEntry, Pools};

const CRAMPED: Layout = Layout {
    name: "cramped",
    map: &[
        MapEntry { name: "uart", base: 0x1000_0000, size: 0x100, kind: DeviceKind::Uart },
        MapEntry { name: "ram", base: 0x8000_0000, size: 0x1000, kind: DeviceKind::Ram },
    ],
    irqs: &[],
    irq_sources: 32,
    max_harts: 1,
    pools: Pools { regions: 2, owners: 4, flat_ranges: 4, irq_lines: 4 },
};

const _: () = CRAMPED.assert_valid();

fn main() {}
