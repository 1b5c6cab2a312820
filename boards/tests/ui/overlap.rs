use fief_boards::layout::{DeviceKind, Layout, MapEntry, Pools};

const OVERLAP: Layout = Layout {
    name: "overlap",
    map: &[
        MapEntry { name: "uart", base: 0x1000_0000, size: 0x100, kind: DeviceKind::Uart },
        MapEntry { name: "test", base: 0x1000_0080, size: 0x1000, kind: DeviceKind::TestFinisher },
    ],
    irqs: &[],
    irq_sources: 32,
    max_harts: 1,
    pools: Pools { regions: 4, owners: 4, flat_ranges: 4, irq_lines: 4 },
};

const _: () = OVERLAP.assert_valid();

fn main() {}
