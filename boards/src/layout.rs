//! Compile-time board layouts: a `const` [`Layout`] (memory map, IRQ routing, pool
//! capacities) and its validation, run at compile time by
//! `const _: () = LAYOUT.assert_valid();` (`docs/design.md` section 7). A layout whose
//! entries overlap, that does not fit its pools, or that routes an IRQ to a source number out
//! of range fails the build with the message of the failed check.
//!
//! The same description sizes the board's `Memory` (its pool capacities are the const
//! generic arguments), drives construction and generates the device tree.

/// What sits at a memory map entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// Main RAM; its entry's size is the most the board accepts, the real size is chosen
    /// at construction.
    Ram,
    /// The SiFive test finisher.
    TestFinisher,
    /// The CLINT.
    Clint,
    /// The PLIC.
    Plic,
    /// An NS16550A UART.
    Uart,
    /// Flash: read-only memory whose entry size is the most the board accepts.
    Rom,
    /// A SiFive GPIO controller bridged to embedded-hal pins.
    Gpio,
    /// An OpenCores I2C master bridged to an embedded-hal I2C bus.
    I2c,
    /// A SiFive SPI controller bridged to an embedded-hal SPI device.
    Spi,
    /// The Fief DMA engine (`fief,dma-1.0`).
    Dma,
    /// The Goldfish RTC (`google,goldfish-rtc`).
    Rtc,
    /// A virtio-mmio transport slot (`virtio,mmio`).
    VirtioMmio,
}

/// One entry of a memory map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MapEntry {
    /// Region and owner name.
    pub name: &'static str,
    /// Guest physical base address.
    pub base: u64,
    /// Size in bytes (not zero).
    pub size: u64,
    /// What it is.
    pub kind: DeviceKind,
}

/// A device's interrupt output routed to an interrupt-controller source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IrqRoute {
    /// The device's map entry name.
    pub device: &'static str,
    /// The PLIC source number (1 to `irq_sources - 1`).
    pub source: u32,
}

/// Pool capacities of a board's memory and IRQ wiring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pools {
    /// Regions (every map entry plus the system container).
    pub regions: usize,
    /// Owners (every device plus the root owner).
    pub owners: usize,
    /// Ranges of a flat view.
    pub flat_ranges: usize,
    /// Registered IRQ lines.
    pub irq_lines: usize,
}

/// A board layout (see the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
/// ```
/// use fief_boards::layout::{DeviceKind, IrqRoute, Layout, MapEntry, Pools};
///
/// const TINY: Layout = Layout {
///     name: "tiny",
///     map: &[
///         MapEntry { name: "uart0", base: 0x1000_0000, size: 0x100, kind: DeviceKind::Uart },
///         MapEntry { name: "ram", base: 0x8000_0000, size: 0x1000_0000, kind: DeviceKind::Ram },
///     ],
///     irqs: &[IrqRoute { device: "uart0", source: 10 }],
///     irq_sources: 32,
///     max_harts: 1,
///     pools: Pools { regions: 3, owners: 2, flat_ranges: 2, irq_lines: 5 },
/// };
/// // Checked when the code compiles: a bad layout makes this line a build error.
/// const _: () = TINY.assert_valid();
///
/// assert_eq!(TINY.entry("uart0").map(|e| e.base), Some(0x1000_0000));
/// assert_eq!(TINY.find(DeviceKind::Ram).map(|e| e.name), Some("ram"));
/// assert_eq!(TINY.irq_of("uart0"), Some(10));
/// assert_eq!((TINY.device_count(), TINY.irq_lines_needed()), (1, 5));
/// ```
///
/// Overlapping entries do not build:
///
/// ```compile_fail
/// use fief_boards::layout::{DeviceKind, Layout, MapEntry, Pools};
///
/// const BAD: Layout = Layout {
///     name: "bad",
///     map: &[
///         MapEntry { name: "ram", base: 0x8000_0000, size: 0x1000, kind: DeviceKind::Ram },
///         MapEntry { name: "uart0", base: 0x8000_0800, size: 0x100, kind: DeviceKind::Uart },
///     ],
///     irqs: &[],
///     irq_sources: 32,
///     max_harts: 1,
///     pools: Pools { regions: 3, owners: 2, flat_ranges: 2, irq_lines: 4 },
/// };
/// const _: () = BAD.assert_valid(); // error: layout: memory map entries overlap
/// ```
pub struct Layout {
    /// The board's name (`-M` value).
    pub name: &'static str,
    /// The memory map.
    pub map: &'static [MapEntry],
    /// The IRQ routing.
    pub irqs: &'static [IrqRoute],
    /// Interrupt-controller sources, source 0 (which does not exist) included.
    pub irq_sources: u32,
    /// Most harts the board takes.
    pub max_harts: usize,
    /// Pool capacities.
    pub pools: Pools,
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Layout {
    /// The first entry of `kind`.
    pub const fn find(&self, kind: DeviceKind) -> Option<&MapEntry> {
        let mut i = 0;
        while i < self.map.len() {
            if self.map[i].kind as u8 == kind as u8 {
                return Some(&self.map[i]);
            }
            i += 1;
        }
        None
    }

    /// The map entry named `name`.
    pub const fn entry(&self, name: &str) -> Option<&MapEntry> {
        let mut i = 0;
        while i < self.map.len() {
            if str_eq(self.map[i].name, name) {
                return Some(&self.map[i]);
            }
            i += 1;
        }
        None
    }

    /// The PLIC source of device `name`, if routed.
    pub const fn irq_of(&self, name: &str) -> Option<u32> {
        let mut i = 0;
        while i < self.irqs.len() {
            if str_eq(self.irqs[i].device, name) {
                return Some(self.irqs[i].source);
            }
            i += 1;
        }
        None
    }

    /// Devices (entries that are neither RAM nor ROM).
    pub const fn device_count(&self) -> usize {
        let mut n = 0;
        let mut i = 0;
        while i < self.map.len() {
            if !matches!(self.map[i].kind, DeviceKind::Ram | DeviceKind::Rom) {
                n += 1;
            }
            i += 1;
        }
        n
    }

    /// IRQ lines the board registers: one per route, plus MSIP, MTIP and the M and S
    /// external outputs of every hart.
    pub const fn irq_lines_needed(&self) -> usize {
        self.irqs.len() + 4 * self.max_harts
    }

    /// Checks the layout; panics (a compile error in a `const`) with what is wrong.
    pub const fn assert_valid(&self) {
        assert!(
            self.max_harts > 0,
            "layout: a board needs at least one hart"
        );
        let mut i = 0;
        while i < self.map.len() {
            let a = &self.map[i];
            assert!(a.size > 0, "layout: a memory map entry has size 0");
            assert!(
                a.base.checked_add(a.size - 1).is_some(),
                "layout: a memory map entry runs past the end of the address space"
            );
            let mut j = i + 1;
            while j < self.map.len() {
                let b = &self.map[j];
                assert!(
                    a.base + (a.size - 1) < b.base || b.base + (b.size - 1) < a.base,
                    "layout: memory map entries overlap"
                );
                assert!(
                    !str_eq(a.name, b.name),
                    "layout: two memory map entries have the same name"
                );
                j += 1;
            }
            i += 1;
        }
        assert!(
            self.map.len() < self.pools.regions,
            "layout: the memory map does not fit the region pool (entries + system container)"
        );
        assert!(
            self.device_count() < self.pools.owners,
            "layout: the devices do not fit the owner pool (devices + root owner)"
        );
        assert!(
            self.map.len() <= self.pools.flat_ranges,
            "layout: the memory map does not fit a flat view"
        );
        assert!(
            self.irq_lines_needed() <= self.pools.irq_lines,
            "layout: the IRQ lines do not fit the IRQ line pool"
        );
        assert!(
            self.irq_sources >= 2 && self.irq_sources <= 1024,
            "layout: interrupt sources must be 2 to 1024"
        );
        let mut k = 0;
        while k < self.irqs.len() {
            let r = &self.irqs[k];
            assert!(
                r.source >= 1 && r.source < self.irq_sources,
                "layout: IRQ number out of range"
            );
            assert!(
                self.entry(r.device).is_some(),
                "layout: an IRQ route names a device that is not in the memory map"
            );
            let mut m = k + 1;
            while m < self.irqs.len() {
                assert!(
                    self.irqs[m].source != r.source,
                    "layout: two devices share an IRQ number"
                );
                m += 1;
            }
            k += 1;
        }
    }
}
