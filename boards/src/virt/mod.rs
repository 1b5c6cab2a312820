//! QEMU `virt`'s machine, one description for both XLENs: the memory map, the devices and
//! their wiring, the run loop, boot (module `boot`) and the device tree (module `dtb`) live
//! here once; [`crate::virt32`] and [`crate::virt64`] are its two instances, each a
//! [`VirtSpec`] (XLEN, most RAM, kernel alignment, MMU type) and a thin wrapper type.
//!
//! | base          | size         | device                                   | IRQ (PLIC source) |
//! |---------------|--------------|------------------------------------------|-------------------|
//! | `0x0000_1000` | `0xf000`     | boot ROM (`mrom`), when given             |                   |
//! | `0x0010_0000` | `0x1000`     | SiFive test finisher (`test`)             |                   |
//! | `0x0010_1000` | `0x1000`     | Goldfish RTC (`rtc`)                      | 11                |
//! | `0x0200_0000` | `0x1_0000`   | CLINT (`clint`)                           |                   |
//! | `0x0c00_0000` | `0x60_0000`  | PLIC (`plic`), 95 sources, 2 contexts/hart|                   |
//! | `0x1000_0000` | `0x100`      | NS16550A UART (`uart0`)                   | 10                |
//! | `0x1000_1000` + n × `0x1000` | `0x1000` | virtio-mmio slot n (`virtio0`..`virtio7`), n = 0..7 | 1 + n |
//! | `0x1020_0000` | `0x1000`     | Fief DMA engine (`dma0`), 4 channels      | 12 done, 13 error |
//! | `0x8000_0000` | set at build | RAM (`ram`), at most the spec's `ram_max` |                   |
//!
//! Each instance's layout is a `const` built by [`layout`] from [`map`], validated at
//! compile time; the memory's pool capacities ([`VirtMemory`]) come from [`POOLS`], which
//! both share. Everything the board is made of lives in one [`VirtDevices`] value (a
//! `static`, or leaked on the host) with no internal references until [`Virt::build`]
//! wires it: every device gets an owner and its MMIO region in the system container, the
//! UART's interrupt goes to PLIC source 10, virtio slot n's to source 1 + n, the DMA
//! engine's done and error interrupts to
//! sources 12 and 13 (free in QEMU `virt`: its RTC is 11, virtio 1–8, PCIe 32–35), the
//! CLINT's MSIP/MTIP and the PLIC's M/S context outputs go to each hart's `mip` bits, all
//! registered in the board's [`IrqWiring`].
//!
//! Booting follows QEMU 7.2's `virt` ([`Virt::boot_images`], module `boot`): without
//! firmware the kernel's entry is jumped to directly; with firmware, the firmware goes at
//! the RAM base (or its ELF addresses) and the kernel at the end of the firmware rounded up
//! to the spec's `kernel_align` (4 MiB for RV32, 2 MiB for RV64) or its ELF addresses; the
//! initrd above the kernel, the device tree near the top of RAM (below 3 GiB, 2 MiB
//! aligned); every hart starts at the entry with `a0` = its hart id and `a1` = the device
//! tree's address. A write of the reset value to the test device stops the harts; the
//! embedding then calls [`Virt::reset`] and boots again.

use fief_core::cpu::riscv::{irq, Hart, HartIrqs, Xlen};
use fief_core::fdt::FdtError;
use fief_core::image::ImageError;
use fief_core::irq::{IrqError, IrqWiring};
use fief_core::loader::LoadError;
use fief_core::memory::{
    AddressSpace, Error, LeaseTable, Memory, MmioOps, Priority, RamBlock, RegionHandle,
    RegionOffset, RegionSize, SpaceId,
};
use fief_core::owner::OwnerHandle;

use crate::clint::{Clint, CLINT_SIZE};
use crate::dma::{DmaEngine, LeaseBus, StepOutcome, DMA_SIZE};
use crate::finisher::{Finish, FinishSink, TestFinisher, FINISHER_SIZE};
use crate::layout::{DeviceKind, Layout};
use crate::plic::{Plic, PLIC_SIZE};
use crate::rtc::{GoldfishRtc, RTC_SIZE};
use crate::uart::{Uart16550, UART_SIZE};
use crate::virtio::mmio::VIRTIO_REQUESTER_ID;
use crate::virtio::{VirtioMmio, VIRTIO_MMIO_SIZE};

mod boot;
mod dtb;
mod error;
mod instance;
mod map;
mod run;

pub use boot::{Boot, BootImages, DtbSource, Image, FW_DYNAMIC_INFO, INITRD_MAX_OFFSET};
pub use dtb::{rewrite_chosen, write_dtb, write_dtb_chosen, Chosen};
pub use error::BoardError;
pub(crate) use instance::virt_instance;
use map::virtio_entry;
pub use map::{layout, map, IRQS, MAP_LEN, POOLS};
pub use run::RunOutcome;

/// Most harts a `virt` board takes.
pub const MAX_HARTS: usize = 8;
/// PLIC sources, source 0 included (QEMU virt: 96, `riscv,ndev` = 95).
pub const PLIC_SOURCES: usize = 96;
/// PLIC contexts: M and S for each hart.
pub const PLIC_CONTEXTS: usize = 2 * MAX_HARTS;
/// The UART's PLIC source.
pub const UART_IRQ: u32 = 10;
/// The RTC's PLIC source (as QEMU `virt`).
pub const RTC_IRQ: u32 = 11;
/// The DMA engine's completion interrupt (PLIC source).
pub const DMA_DONE_IRQ: u32 = 12;
/// The DMA engine's error interrupt (PLIC source).
pub const DMA_ERROR_IRQ: u32 = 13;
/// Where the DMA engine's registers are: free in QEMU `virt`'s map (its fw_cfg is at
/// `0x1010_0000`, flash from `0x2000_0000`).
pub const DMA_BASE: u64 = 0x1020_0000;
/// DMA channels.
pub const DMA_CHANNELS: usize = 4;
/// Where the first virtio-mmio slot is (QEMU `virt`'s `VIRT_VIRTIO`).
pub const VIRTIO_BASE: u64 = 0x1000_1000;
/// virtio-mmio slots (QEMU `virt`'s `VIRTIO_COUNT`).
pub const VIRTIO_SLOTS: usize = 8;
/// The first virtio slot's PLIC source; slot n has `VIRTIO_IRQ + n` (QEMU `virt`: 1 to 8).
pub const VIRTIO_IRQ: u32 = 1;
/// Where RAM starts.
pub const RAM_BASE: u64 = 0x8000_0000;
/// The UART's input clock, as in QEMU's device tree.
pub const UART_CLOCK_HZ: u32 = 3_686_400;

/// Where the boot ROM is (QEMU `virt`'s `mrom`): the reset vector and OpenSBI's
/// `fw_dynamic_info`.
pub const MROM_BASE: u64 = 0x1000;
/// The boot ROM's size.
pub const MROM_SIZE: u64 = 0xf000;

/// What one `virt` instance is: the constants that differ between `virt32` and `virt64`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VirtSpec {
    /// Its name (`-M` value).
    pub name: &'static str,
    /// The harts' XLEN.
    pub xlen: Xlen,
    /// The layout (its RAM entry's size is the most RAM it takes).
    pub layout: &'static Layout,
    /// The kernel start is the end of the firmware rounded up to this (QEMU's
    /// `riscv_calc_kernel_start_addr`: 4 MiB for RV32, 2 MiB for RV64).
    pub kernel_align: u64,
    /// The harts' `mmu-type` in the device tree.
    pub mmu_type: &'static str,
}

impl VirtSpec {
    /// The most RAM the board takes.
    pub const fn ram_max(&self) -> u64 {
        match self.layout.find(DeviceKind::Ram) {
            Some(ram) => ram.size,
            None => 0,
        }
    }

    /// Checks the spec (its layout, and that it fits the shared pools); panics (a compile
    /// error in a `const`) with what is wrong.
    pub const fn assert_valid(&self) {
        self.layout.assert_valid();
        assert!(
            self.layout.pools.regions == POOLS.regions
                && self.layout.pools.owners == POOLS.owners
                && self.layout.pools.flat_ranges == POOLS.flat_ranges
                && self.layout.pools.irq_lines == POOLS.irq_lines,
            "virt: a spec's layout must use the shared pools"
        );
        assert!(
            self.layout.max_harts <= MAX_HARTS,
            "virt: more harts than the devices have room for"
        );
        assert!(
            self.kernel_align.is_power_of_two(),
            "virt: the kernel alignment must be a power of two"
        );
        assert!(self.ram_max() > 0, "virt: a spec needs RAM");
        // The virtio slots where the constants say (build's slot numbers depend on it).
        let mut n = 0;
        while n < VIRTIO_SLOTS {
            let e = virtio_entry(n);
            let Some(found) = self.layout.entry(e.name) else {
                panic!("virt: a virtio slot is missing")
            };
            assert!(
                found.base == e.base,
                "virt: a virtio slot is not where VIRTIO_BASE puts it"
            );
            assert!(
                matches!(self.layout.irq_of(e.name), Some(s) if s == VIRTIO_IRQ + n as u32),
                "virt: a virtio slot's interrupt is not VIRTIO_IRQ + n"
            );
            n += 1;
        }
    }
}

/// Interrupt lines left for devices plugged at run time (a UART's, through the PLIC).
pub const HOTPLUG_IRQ_LINES: usize = 8;
/// The PLIC sources from which hot-plugged devices get theirs when none is asked for
/// (below it: the map's devices and room for more; QEMU's `virt` uses 1-10 and 32-35 for
/// virtio, the UART, the RTC and PCIe, which this board does not have past the UART).
pub const HOTPLUG_IRQ_FIRST: u32 = 32;

/// Region pool capacity, from [`POOLS`].
pub const REGIONS: usize = POOLS.regions;
/// Owner pool capacity, from [`POOLS`].
pub const OWNERS: usize = POOLS.owners;
/// Flat-view capacity, from [`POOLS`].
pub const FLAT_RANGES: usize = POOLS.flat_ranges;
/// IRQ line pool capacity, from [`POOLS`].
pub const IRQ_LINES: usize = POOLS.irq_lines;

/// The board's memory, sized by the layout.
pub type VirtMemory<'a> = Memory<'a, REGIONS, OWNERS, 1, FLAT_RANGES>;

/// DMA leases of the board: 32 leases, 8 bounce buffers of 512 bytes.
pub type VirtLeases = LeaseTable<32, 8, 512>;

/// The board's DMA engine.
pub type VirtDma<'a> = DmaEngine<'a, DMA_CHANNELS>;

/// The bus the board's DMA engine masters.
pub type VirtDmaBus<'m, 'a> = LeaseBus<'m, 'a, REGIONS, OWNERS, 1, FLAT_RANGES, 32, 8, 512>;

/// Chunks each busy DMA channel moves between two hart slices of [`Virt::run`].
pub const RUN_DMA_CHUNKS: usize = 4;

/// Every hart's interrupt word; the finisher stops them all.
pub struct HartSet([HartIrqs; MAX_HARTS]);

impl HartSet {
    /// Hart `i`'s interrupt word.
    pub fn get(&self, i: usize) -> Option<&HartIrqs> {
        self.0.get(i)
    }

    /// Asks every hart to stop.
    pub fn stop_all(&self) {
        for h in &self.0 {
            h.request_stop();
        }
    }
}

impl FinishSink for HartSet {
    fn finished(&self, _: Finish) {
        self.stop_all();
    }
}

/// Everything a `virt` board is made of (see the [module docs](self)).
pub struct VirtDevices<'a> {
    /// The harts' interrupt words.
    pub harts: HartSet,
    /// The UART.
    pub uart: Uart16550<'a>,
    /// The CLINT.
    pub clint: Clint<'a, MAX_HARTS>,
    /// The PLIC.
    pub plic: Plic<'a, PLIC_SOURCES, PLIC_CONTEXTS>,
    /// The test finisher.
    pub finisher: TestFinisher<'a>,
    /// The RTC.
    pub rtc: GoldfishRtc<'a>,
    /// The DMA engine.
    pub dma: VirtDma<'a>,
    /// The virtio-mmio slots, `virtio0` to `virtio7`.
    pub virtio: [VirtioMmio<'a>; VIRTIO_SLOTS],
    /// The DMA leases and bounce buffers.
    pub leases: VirtLeases,
    /// The IRQ wiring table.
    pub wiring: IrqWiring<'a, IRQ_LINES>,
    /// The memory.
    pub memory: VirtMemory<'a>,
}

impl Default for VirtDevices<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl<'a> VirtDevices<'a> {
    /// Unwired devices after reset. `const`, so it can be a `static` on bare metal.
    pub const fn new() -> VirtDevices<'a> {
        VirtDevices {
            harts: HartSet([const { HartIrqs::new() }; MAX_HARTS]),
            uart: Uart16550::new(),
            clint: Clint::new(),
            plic: Plic::new(),
            finisher: TestFinisher::new(),
            rtc: GoldfishRtc::new(),
            dma: DmaEngine::new(),
            virtio: [const { VirtioMmio::new() }; VIRTIO_SLOTS],
            leases: LeaseTable::new(),
            wiring: IrqWiring::new(),
            memory: Memory::new(),
        }
    }
}

/// The owners of the board's devices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Owners {
    /// The test finisher.
    pub finisher: OwnerHandle,
    /// The CLINT.
    pub clint: OwnerHandle,
    /// The PLIC.
    pub plic: OwnerHandle,
    /// The UART.
    pub uart: OwnerHandle,
    /// The DMA engine.
    pub dma: OwnerHandle,
    /// The RTC.
    pub rtc: OwnerHandle,
    /// The virtio-mmio slots.
    pub virtio: [OwnerHandle; VIRTIO_SLOTS],
}

/// A built `virt` board of either XLEN (see the [module docs](self)); build one through
/// [`crate::virt32::Virt32`] or [`crate::virt64::Virt64`], or with [`Virt::build`] and a
/// spec.
pub struct Virt<'a> {
    /// What instance it is.
    pub spec: &'static VirtSpec,
    /// The devices and memory.
    pub devices: &'a VirtDevices<'a>,
    /// The system address space.
    pub space: SpaceId,
    /// The system container.
    pub system: RegionHandle,
    /// The devices' owners.
    pub owners: Owners,
    /// Harts.
    pub harts: usize,
    /// RAM size in bytes.
    pub ram_size: u64,
    /// Whether the boot ROM is mapped (`mrom` given to [`Virt::build`]).
    pub mrom: bool,
}

impl<'a> Virt<'a> {
    /// Builds the board `spec` describes over `devices` with `ram` as main RAM, `mrom`
    /// ([`MROM_SIZE`] bytes at most, if any) as the boot ROM at [`MROM_BASE`] and `harts`
    /// harts. With the boot ROM, as QEMU `virt` has it, each boot writes a reset vector
    /// there and OpenSBI's `fw_dynamic_info`, whose address every hart gets in `a2`.
    pub fn build(
        spec: &'static VirtSpec,
        devices: &'a VirtDevices<'a>,
        ram: RamBlock<'a>,
        mrom: Option<RamBlock<'a>>,
        harts: usize,
    ) -> Result<Virt<'a>, BoardError> {
        let has_mrom = mrom.is_some();
        if mrom
            .as_ref()
            .is_some_and(|m| m.is_empty() || m.len() > MROM_SIZE)
        {
            return Err(BoardError::Memory(Error::EmptyBlock));
        }
        if harts == 0 || harts > MAX_HARTS {
            return Err(BoardError::Harts {
                board: spec.name,
                requested: harts,
            });
        }
        let ram_size = ram.len();
        if ram_size == 0 || ram_size > spec.ram_max() {
            return Err(BoardError::RamSize {
                board: spec.name,
                size: ram_size,
                max: spec.ram_max(),
            });
        }
        let d = devices;
        let mut g = d.memory.lock();
        g.begin();
        let result = (|| {
            let root = g.root_owner()?;
            let system = g.create_container(root, "system", RegionSize::FULL, None)?;
            let mut ram = Some(ram);
            let mut mrom = mrom;
            let mut owners = [root; 6];
            let mut virtio = [root; VIRTIO_SLOTS];
            for entry in spec.layout.map {
                let region = match entry.kind {
                    DeviceKind::Ram => {
                        let Some(block) = ram.take() else { continue };
                        g.create_ram(root, entry.name, block).map_err(|r| r.error)?
                    }
                    DeviceKind::Rom => {
                        let Some(block) = mrom.take() else { continue };
                        g.create_rom(root, entry.name, block).map_err(|r| r.error)?
                    }
                    DeviceKind::VirtioMmio => {
                        let n = ((entry.base - VIRTIO_BASE) / VIRTIO_MMIO_SIZE) as usize;
                        let owner = g.create_owner(root, entry.name)?;
                        virtio[n] = owner;
                        let size = RegionSize::new(entry.size).ok_or(Error::EmptyBlock)?;
                        g.create_mmio(owner, entry.name, size, &d.virtio[n])?
                    }
                    kind => {
                        let (ops, slot): (&'a dyn MmioOps, usize) = match kind {
                            DeviceKind::TestFinisher => (&d.finisher, 0),
                            DeviceKind::Clint => (&d.clint, 1),
                            DeviceKind::Plic => (&d.plic, 2),
                            DeviceKind::Dma => (&d.dma, 4),
                            DeviceKind::Rtc => (&d.rtc, 5),
                            _ => (&d.uart, 3),
                        };
                        let owner = g.create_owner(root, entry.name)?;
                        owners[slot] = owner;
                        let size = RegionSize::new(entry.size).ok_or(Error::EmptyBlock)?;
                        g.create_mmio(owner, entry.name, size, ops)?
                    }
                };
                g.add_subregion(system, RegionOffset(entry.base), region, Priority(0))?;
            }
            let space = g.create_address_space(system, "memory")?;
            let [finisher, clint, plic, uart, dma, rtc] = owners;
            let w = &d.wiring;
            if let Some(source) = spec.layout.irq_of("uart0") {
                w.connect_checked(&g, uart, &d.uart.irq, &d.plic, source)?;
            }
            w.connect_checked(&g, rtc, &d.rtc.irq, &d.plic, RTC_IRQ)?;
            for (n, slot) in d.virtio.iter().enumerate() {
                slot.set_requester_id(VIRTIO_REQUESTER_ID + n as u16);
                w.connect_checked(&g, virtio[n], &slot.irq, &d.plic, VIRTIO_IRQ + n as u32)?;
            }
            w.connect_checked(&g, dma, &d.dma.done_irq, &d.plic, DMA_DONE_IRQ)?;
            w.connect_checked(&g, dma, &d.dma.error_irq, &d.plic, DMA_ERROR_IRQ)?;
            for h in 0..harts {
                let hart = &d.harts.0[h];
                w.connect_checked(&g, clint, &d.clint.msip_irq[h], hart, irq::MSI)?;
                w.connect_checked(&g, clint, &d.clint.mtip_irq[h], hart, irq::MTI)?;
                w.connect_checked(&g, plic, &d.plic.outputs[2 * h], hart, irq::MEI)?;
                w.connect_checked(&g, plic, &d.plic.outputs[2 * h + 1], hart, irq::SEI)?;
            }
            d.finisher.set_sink(&d.harts);
            for owner in [finisher, clint, plic, uart, dma, rtc]
                .iter()
                .chain(&virtio)
            {
                g.realize(*owner)?;
            }
            Ok::<_, BoardError>(Virt {
                spec,
                devices,
                space,
                system,
                owners: Owners {
                    finisher,
                    clint,
                    plic,
                    uart,
                    dma,
                    rtc,
                    virtio,
                },
                harts,
                ram_size,
                mrom: has_mrom,
            })
        })();
        g.commit()?;
        result
    }

    /// The system address space.
    pub fn space(&self) -> AddressSpace<'a, 'a, FLAT_RANGES> {
        // The id was made by `build` on this memory, so the space exists.
        match self.devices.memory.space(self.space) {
            Some(space) => space,
            None => unreachable!("virt: the system address space exists once built"),
        }
    }

    /// The bus the DMA engine masters: the system address space and the board's leases.
    pub fn dma_bus(&self) -> VirtDmaBus<'a, 'a> {
        LeaseBus {
            memory: &self.devices.memory,
            space: self.space,
            leases: &self.devices.leases,
        }
    }

    /// Runs DMA channel `channel` for up to `max_chunks` chunks (see
    /// [`DmaEngine::step`]); DMA worker threads call this.
    pub fn dma_step(&self, channel: usize, max_chunks: usize) -> StepOutcome {
        self.devices.dma.step(&self.dma_bus(), channel, max_chunks)
    }

    /// Steps every DMA channel (the bare-metal main loop's call); returns the busy mask.
    pub fn dma_poll(&self, max_chunks: usize) -> u32 {
        self.devices.dma.poll(&self.dma_bus(), max_chunks)
    }

    /// Serves at most one request of virtio slot `slot`'s queue `queue` (see
    /// [`VirtioMmio::step`]); DMA worker threads call this.
    pub fn virtio_step(&self, slot: usize, queue: usize) -> StepOutcome {
        match self.devices.virtio.get(slot) {
            Some(v) => v.step(&self.dma_bus(), queue),
            None => StepOutcome::Idle,
        }
    }

    /// Serves one request of every notified virtio queue; whether any was served.
    pub fn virtio_poll(&self) -> bool {
        let bus = self.dma_bus();
        let mut any = false;
        for v in &self.devices.virtio {
            if v.pending() != 0 {
                any |= v.poll(&bus);
            }
        }
        any
    }

    /// Hart `i` at `pc`, in M-mode, with `a0` = `i` and `a1` = `dtb_addr`.
    pub fn hart(&self, i: usize, pc: u64, dtb_addr: u64) -> Option<Hart<'a>> {
        if i >= self.harts {
            return None;
        }
        let irqs = self.devices.harts.get(i)?;
        let mut hart = Hart::with_irqs(i as u64, self.spec.xlen, pc, irqs);
        // With one hart, nothing stores to its memory behind the memory's back: its
        // decoded code may stay checked across time slices.
        hart.set_sole_hart(self.harts == 1);
        hart.set_reg(10, i as u64);
        hart.set_reg(11, dtb_addr);
        if self.mrom {
            hart.set_reg(12, boot::FW_DYNAMIC_INFO);
        }
        Some(hart)
    }

    /// What the guest wrote to the finisher, if anything.
    pub fn finish(&self) -> Option<Finish> {
        self.devices.finisher.finish()
    }

    /// The device tree for this board, into `buf`; returns its size.
    pub fn write_dtb(&self, buf: &mut [u8]) -> Result<usize, FdtError> {
        dtb::write_dtb(self.spec, self.ram_size, self.harts, buf)
    }

    /// Where the device tree of `len` bytes goes (QEMU's rule: 2 MiB aligned below the end
    /// of RAM or 3 GiB, whichever is lower).
    pub fn dtb_addr(&self, len: u64) -> u64 {
        let end = (RAM_BASE + self.ram_size).min(3 << 30);
        let addr = end.saturating_sub(len) & !((2 << 20) - 1);
        if addr >= RAM_BASE {
            addr
        } else {
            end.saturating_sub(len) & !15
        }
    }

    /// Loads `firmware` and/or `kernel` and the finished device tree `dtb` (written as
    /// given, after a check) as QEMU `virt` does; see [`Virt::boot_images`].
    pub fn boot(
        &self,
        firmware: Option<Image<'_>>,
        kernel: Option<Image<'_>>,
        dtb: &[u8],
    ) -> Result<Boot, BoardError> {
        let images = BootImages {
            firmware,
            kernel,
            dtb: DtbSource::User(dtb),
            ..BootImages::default()
        };
        self.boot_images(&images, &mut [])
    }

    /// Resets the machine as QEMU's system reset does: every device back to its reset
    /// state, interrupt lines lowered, the finisher cleared. RAM is kept; the embedding
    /// loads the images again ([`Virt::boot_images`]) and starts new harts. Call it
    /// with no hart running.
    pub fn reset(&self) {
        let d = self.devices;
        d.uart.reset();
        d.clint.reset();
        d.plic.reset();
        d.rtc.reset();
        // Transfers in flight stop between chunks: abort them and step the channels here
        // until they have (worker threads may be stepping them too), then clear them.
        for c in 0..DMA_CHANNELS {
            d.dma.abort(c);
        }
        for _ in 0..10_000 {
            if self.dma_poll(1) == 0 && d.dma.busy_mask() == 0 {
                break;
            }
        }
        d.dma.reset();
        for v in &d.virtio {
            v.reset();
        }
        d.finisher.reset();
    }
}
