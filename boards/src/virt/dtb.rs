//! The `virt` device tree, generated from a [`VirtSpec`]'s layout to carry what QEMU 7.2's
//! `virt` tree carries for the devices the board has (node names, properties, phandle numbering
//! and `/chosen`), and the user's tree (`-dtb`) with `/chosen` updated as QEMU does.
//!
//! Phandles as QEMU numbers them: the harts' from the last hart down (hart `h` of `n` is
//! `2(n-1-h)+1`, its interrupt controller the next), then the PLIC, then the test device.

use core::fmt::Write as _;

use fief_core::cpu::riscv::{cbo, irq, isa};
use fief_core::fdt::{FdtError, FdtReader, FdtToken, FdtWriter};

use super::{
    VirtSpec, DMA_CHANNELS, DMA_DONE_IRQ, DMA_ERROR_IRQ, MAX_HARTS, PLIC_SOURCES, UART_CLOCK_HZ,
};
use crate::clint::TIMEBASE_HZ;
use crate::finisher::{POWEROFF_VALUE, RESET_VALUE};
use crate::layout::DeviceKind;

/// What `/chosen` says besides `stdout-path`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Chosen<'b> {
    /// `bootargs` (`-append`).
    pub bootargs: Option<&'b str>,
    /// `linux,initrd-start` and `linux,initrd-end` (`-initrd`, where it was placed).
    pub initrd: Option<(u64, u64)>,
    /// `rng-seed`: random bytes for the kernel's early entropy (the board's own tree
    /// only; a user's tree keeps its own).
    pub rng_seed: Option<&'b [u8]>,
}

impl Chosen<'_> {
    fn write(&self, w: &mut FdtWriter<'_>) -> Result<(), FdtError> {
        if let Some((start, end)) = self.initrd {
            // One cell each, as QEMU 7.2 writes them: the initrd goes at most 128 MiB above
            // the kernel, below 4 GiB on either XLEN.
            w.prop_u32("linux,initrd-end", end as u32)?;
            w.prop_u32("linux,initrd-start", start as u32)?;
        }
        if let Some(args) = self.bootargs {
            w.prop_str("bootargs", args)?;
        }
        if let Some(seed) = self.rng_seed {
            w.prop("rng-seed", seed)?;
        }
        Ok(())
    }

    fn overrides(&self, name: &str) -> bool {
        match name {
            "bootargs" => self.bootargs.is_some(),
            "linux,initrd-start" | "linux,initrd-end" => self.initrd.is_some(),
            _ => false,
        }
    }
}

/// A node name `name@addr` (address in lowercase hex, no leading zeros).
fn node_name(name: &str, addr: u64) -> heapless::String<48> {
    let mut s = heapless::String::new();
    let _ = write!(s, "{name}@{addr:x}");
    s
}

/// Writes the device tree of the board `spec` describes for `ram_size` bytes of RAM and
/// `harts` harts into `buf`, generated from its layout; returns its size.
pub fn write_dtb(
    spec: &VirtSpec,
    ram_size: u64,
    harts: usize,
    buf: &mut [u8],
) -> Result<usize, FdtError> {
    write_dtb_chosen(spec, ram_size, harts, &Chosen::default(), buf)
}

/// [`write_dtb`] with `/chosen`'s `bootargs` and initrd.
pub fn write_dtb_chosen(
    spec: &VirtSpec,
    ram_size: u64,
    harts: usize,
    chosen: &Chosen<'_>,
    buf: &mut [u8],
) -> Result<usize, FdtError> {
    let layout = spec.layout;
    let harts = harts.clamp(1, MAX_HARTS);
    let cpu_phandle = |h: usize| 2 * (harts - 1 - h) as u32 + 1;
    let intc_phandle = |h: usize| cpu_phandle(h) + 1;
    let plic_phandle = 2 * harts as u32 + 1;
    let test_phandle = plic_phandle + 1;
    let mut w = FdtWriter::new(buf)?;
    w.begin_node("")?;
    w.prop_u32("#address-cells", 2)?;
    w.prop_u32("#size-cells", 2)?;
    w.prop_str("compatible", "riscv-virtio")?;
    w.prop_str("model", "riscv-virtio,qemu")?;

    w.begin_node("chosen")?;
    chosen.write(&mut w)?;
    if let Some(uart) = layout.find(DeviceKind::Uart) {
        let mut path: heapless::String<48> = heapless::String::new();
        let _ = write!(path, "/soc/{}", node_name("serial", uart.base));
        w.prop_str("stdout-path", &path)?;
    }
    w.end_node()?;

    if layout.find(DeviceKind::TestFinisher).is_some() {
        for (node, compatible, value) in [
            ("poweroff", "syscon-poweroff", POWEROFF_VALUE),
            ("reboot", "syscon-reboot", RESET_VALUE),
        ] {
            w.begin_node(node)?;
            w.prop_u32("value", value)?;
            w.prop_u32("offset", 0)?;
            w.prop_u32("regmap", test_phandle)?;
            w.prop_str("compatible", compatible)?;
            w.end_node()?;
        }
    }

    if let Some(ram) = layout.find(DeviceKind::Ram) {
        w.begin_node(&node_name("memory", ram.base))?;
        w.prop_str("device_type", "memory")?;
        w.prop_u64s("reg", &[ram.base, ram_size.min(ram.size)])?;
        w.end_node()?;
    }

    let mut isa_string: heapless::String<128> = heapless::String::new();
    isa::write_isa(spec.xlen, &mut isa_string).map_err(|_| FdtError::BufferTooSmall)?;
    w.begin_node("cpus")?;
    w.prop_u32("#address-cells", 1)?;
    w.prop_u32("#size-cells", 0)?;
    w.prop_u32("timebase-frequency", TIMEBASE_HZ as u32)?;
    for h in 0..harts {
        w.begin_node(&node_name("cpu", h as u64))?;
        w.prop_u32("phandle", cpu_phandle(h))?;
        w.prop_str("device_type", "cpu")?;
        w.prop_u32("reg", h as u32)?;
        w.prop_str("status", "okay")?;
        w.prop_str("compatible", "riscv")?;
        w.prop_str("riscv,isa", &isa_string)?;
        // Zicbom/Zicboz: the block sizes the hart's `cbo.*` use (QEMU 8's properties; 7.2
        // has neither extension).
        if isa::Z_EXTENSIONS.contains(&"zicbom") {
            w.prop_u32("riscv,cbom-block-size", cbo::CBOM_BLOCK_SIZE)?;
        }
        if isa::Z_EXTENSIONS.contains(&"zicboz") {
            w.prop_u32("riscv,cboz-block-size", cbo::CBOZ_BLOCK_SIZE)?;
        }
        w.prop_str("mmu-type", spec.mmu_type)?;
        w.begin_node("interrupt-controller")?;
        // Not in QEMU 7.2's tree; dtc warns without it (an interrupt provider).
        w.prop_u32("#address-cells", 0)?;
        w.prop_u32("#interrupt-cells", 1)?;
        w.prop_empty("interrupt-controller")?;
        w.prop_str("compatible", "riscv,cpu-intc")?;
        w.prop_u32("phandle", intc_phandle(h))?;
        w.end_node()?;
        w.end_node()?;
    }
    w.begin_node("cpu-map")?;
    w.begin_node("cluster0")?;
    for h in 0..harts {
        let mut core: heapless::String<16> = heapless::String::new();
        let _ = write!(core, "core{h}");
        w.begin_node(&core)?;
        w.prop_u32("cpu", cpu_phandle(h))?;
        w.end_node()?;
    }
    w.end_node()?;
    w.end_node()?;
    w.end_node()?;

    w.begin_node("soc")?;
    w.prop_u32("#address-cells", 2)?;
    w.prop_u32("#size-cells", 2)?;
    w.prop_str("compatible", "simple-bus")?;
    w.prop_empty("ranges")?;
    let mut cells = [0u32; 4 * MAX_HARTS];
    for entry in layout.map {
        match entry.kind {
            DeviceKind::Ram => continue,
            // Not on virt.
            DeviceKind::Rom | DeviceKind::Gpio | DeviceKind::I2c | DeviceKind::Spi => continue,
            DeviceKind::TestFinisher => {
                w.begin_node(&node_name("test", entry.base))?;
                w.prop_u32("phandle", test_phandle)?;
                w.prop_strs("compatible", &["sifive,test1", "sifive,test0", "syscon"])?;
            }
            DeviceKind::Clint => {
                w.begin_node(&node_name("clint", entry.base))?;
                w.prop_strs("compatible", &["sifive,clint0", "riscv,clint0"])?;
                for h in 0..harts {
                    cells[4 * h..4 * h + 4].copy_from_slice(&[
                        intc_phandle(h),
                        irq::MSI,
                        intc_phandle(h),
                        irq::MTI,
                    ]);
                }
                w.prop_cells("interrupts-extended", &cells[..4 * harts])?;
            }
            DeviceKind::Plic => {
                w.begin_node(&node_name("plic", entry.base))?;
                w.prop_u32("phandle", plic_phandle)?;
                // QEMU 7.2 says 96 here (its PLIC has sources 0 to 95, as this one).
                w.prop_u32("riscv,ndev", PLIC_SOURCES as u32)?;
                w.prop_u32("#interrupt-cells", 1)?;
                w.prop_u32("#address-cells", 0)?;
                w.prop_strs("compatible", &["sifive,plic-1.0.0", "riscv,plic0"])?;
                w.prop_empty("interrupt-controller")?;
                for h in 0..harts {
                    cells[4 * h..4 * h + 4].copy_from_slice(&[
                        intc_phandle(h),
                        irq::MEI,
                        intc_phandle(h),
                        irq::SEI,
                    ]);
                }
                w.prop_cells("interrupts-extended", &cells[..4 * harts])?;
            }
            DeviceKind::Dma => {
                w.begin_node(&node_name("dma", entry.base))?;
                w.prop_str("compatible", "fief,dma-1.0")?;
                w.prop_u32("dma-channels", DMA_CHANNELS as u32)?;
                w.prop_u32("#dma-cells", 1)?;
                w.prop_cells("interrupts", &[DMA_DONE_IRQ, DMA_ERROR_IRQ])?;
                w.prop_strs("interrupt-names", &["done", "error"])?;
                w.prop_u32("interrupt-parent", plic_phandle)?;
            }
            DeviceKind::Uart => {
                w.begin_node(&node_name("serial", entry.base))?;
                w.prop_str("compatible", "ns16550a")?;
                w.prop_u32("clock-frequency", UART_CLOCK_HZ)?;
                if let Some(source) = layout.irq_of(entry.name) {
                    w.prop_u32("interrupts", source)?;
                    w.prop_u32("interrupt-parent", plic_phandle)?;
                }
            }
            DeviceKind::VirtioMmio => {
                // QEMU's order of properties.
                w.begin_node(&node_name("virtio_mmio", entry.base))?;
                if let Some(source) = layout.irq_of(entry.name) {
                    w.prop_u32("interrupts", source)?;
                    w.prop_u32("interrupt-parent", plic_phandle)?;
                }
                w.prop_u64s("reg", &[entry.base, entry.size])?;
                w.prop_str("compatible", "virtio,mmio")?;
                w.end_node()?;
                continue;
            }
            DeviceKind::Rtc => {
                w.begin_node(&node_name("rtc", entry.base))?;
                w.prop_str("compatible", "google,goldfish-rtc")?;
                if let Some(source) = layout.irq_of(entry.name) {
                    w.prop_u32("interrupts", source)?;
                    w.prop_u32("interrupt-parent", plic_phandle)?;
                }
            }
        }
        w.prop_u64s("reg", &[entry.base, entry.size])?;
        w.end_node()?;
    }
    w.end_node()?;
    w.end_node()?;
    w.finish()
}

/// Copies the user's device tree `user` into `buf` with `/chosen` updated as QEMU's
/// `virt` does with `-dtb` (its `bootargs` and initrd properties replaced or added, the
/// node added if missing); returns the new size. `user` is checked in full first.
pub fn rewrite_chosen(user: &[u8], chosen: &Chosen<'_>, buf: &mut [u8]) -> Result<usize, FdtError> {
    FdtReader::validate(user)?;
    let reader = FdtReader::new(user)?;
    let mut w = FdtWriter::new(buf)?;
    for r in reader.reservations() {
        let (addr, size) = r?;
        w.reserve(addr, size)?;
    }
    let mut depth = 0usize;
    let mut in_chosen = false;
    let mut saw_chosen = false;
    for token in reader {
        match token? {
            FdtToken::BeginNode(name) => {
                depth += 1;
                if depth == 2 && name == "chosen" {
                    in_chosen = true;
                    saw_chosen = true;
                }
                w.begin_node(name)?;
            }
            FdtToken::Prop { name, value } => {
                if !(in_chosen && depth == 2 && chosen.overrides(name)) {
                    w.prop(name, value)?;
                }
            }
            FdtToken::EndNode => {
                if in_chosen && depth == 2 {
                    chosen.write(&mut w)?;
                    in_chosen = false;
                }
                if depth == 1 && !saw_chosen && *chosen != Chosen::default() {
                    w.begin_node("chosen")?;
                    chosen.write(&mut w)?;
                    w.end_node()?;
                }
                depth = depth.saturating_sub(1);
                w.end_node()?;
            }
        }
    }
    w.finish()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A user's `-dtb` is hostile input: every truncation and every single-byte change of
    /// a good blob is refused or copied, never a panic, and whatever is copied reads back
    /// as a good blob with the new `/chosen`.
    #[test]
    fn rewriting_a_broken_user_tree_never_panics() {
        let mut good = [0u8; 4096];
        let len = write_dtb(&crate::virt32::SPEC, 64 << 20, 2, &mut good).unwrap();
        let chosen = Chosen {
            bootargs: Some("console=ttyS0"),
            initrd: Some((0x8400_0000, 0x8400_1000)),
            rng_seed: None,
        };
        let mut out = [0u8; 8192];
        let n = rewrite_chosen(&good[..len], &chosen, &mut out).unwrap();
        let bootargs = FdtReader::new(&out[..n])
            .unwrap()
            .filter_map(Result::ok)
            .find_map(|t| match t {
                FdtToken::Prop {
                    name: "bootargs",
                    value,
                } => Some(value),
                _ => None,
            });
        assert_eq!(bootargs, Some(&b"console=ttyS0\0"[..]));
        let (mut refused, mut copied) = (0, 0);
        for cut in 0..len {
            assert!(rewrite_chosen(&good[..cut], &chosen, &mut out).is_err());
        }
        for i in 0..len {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut bad = good;
                bad[i] ^= flip;
                match rewrite_chosen(&bad[..len], &chosen, &mut out) {
                    Ok(n) => {
                        copied += 1;
                        assert!(FdtReader::validate(&out[..n]).is_ok());
                    }
                    Err(_) => refused += 1,
                }
            }
        }
        assert!(
            refused > 0 && copied > 0,
            "{refused} refused, {copied} copied"
        );
    }

    #[test]
    fn a_user_tree_without_chosen_gets_one() {
        let mut tree = [0u8; 256];
        let mut w = FdtWriter::new(&mut tree).unwrap();
        w.begin_node("").unwrap();
        w.prop_u32("#address-cells", 2).unwrap();
        w.begin_node("cpus").unwrap();
        w.end_node().unwrap();
        w.end_node().unwrap();
        let len = w.finish().unwrap();
        let chosen = Chosen {
            bootargs: Some("quiet"),
            ..Chosen::default()
        };
        let mut out = [0u8; 512];
        let n = rewrite_chosen(&tree[..len], &chosen, &mut out).unwrap();
        let tokens: heapless::Vec<FdtToken<'_>, 16> = FdtReader::new(&out[..n])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(
            &tokens[3..],
            [
                FdtToken::EndNode,
                FdtToken::BeginNode("chosen"),
                FdtToken::Prop {
                    name: "bootargs",
                    value: b"quiet\0"
                },
                FdtToken::EndNode,
                FdtToken::EndNode,
            ]
        );
    }
}
