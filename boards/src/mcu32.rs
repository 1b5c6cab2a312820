//! The `mcu32` board: a microcontroller-shaped RV32 machine (after the SiFive FE310) whose
//! GPIO, I2C and SPI controllers are bridged to embedded-hal 1.0 back ends, for
//! co-simulation: one hart, code in flash, data in SRAM.
//!
//! | base          | size         | device                                          |
//! |---------------|--------------|-------------------------------------------------|
//! | `0x0010_0000` | `0x1000`     | SiFive test finisher (`test`)                    |
//! | `0x0200_0000` | `0x1_0000`   | CLINT (`clint`), the timer                       |
//! | `0x1001_2000` | `0x1000`     | SiFive GPIO (`gpio0`), 32 pins ([`gpio`](crate::gpio)) |
//! | `0x1001_3000` | `0x100`      | NS16550A UART (`uart0`)                          |
//! | `0x1001_6000` | `0x1000`     | OpenCores I2C master (`i2c0`) ([`i2c`](crate::i2c)) |
//! | `0x1002_4000` | `0x1000`     | SiFive SPI (`spi0`) ([`spi`](crate::spi))         |
//! | `0x2000_0000` | set at build | flash (`flash`, ROM), at most 512 MiB; the hart starts here |
//! | `0x8000_0000` | set at build | SRAM (`sram`), at most 256 MiB                   |
//!
//! There is no PLIC: the CLINT's MSIP/MTIP go to the hart, the other devices' interrupt
//! lines are left for the embedding to wire (or poll). The layout is the `const`
//! [`MCU32`], validated at compile time by the same checks as every board
//! ([`Layout::assert_valid`]). [`Mcu32Devices`] is generic over the back ends — `P` the
//! GPIO pins, `I` the I2C bus, `S` the SPI device; use [`Unconnected`] for a controller
//! with nothing behind it — and `const`-constructible, so a co-simulation firmware keeps the
//! whole board in a `static`.

use core::fmt;

use embedded_hal::digital::{self, InputPin, OutputPin};
use embedded_hal::{i2c, spi};
use fief_core::cpu::riscv::{csr, irq, Exit, Hart, HartIrqs, Xlen};
use fief_core::irq::{IrqError, IrqWiring};
use fief_core::loader::{self, LoadError};
use fief_core::memory::{
    AddressSpace, Error, Memory, MmioOps, Priority, RamBlock, RegionHandle, RegionOffset,
    RegionSize, SpaceId,
};

use crate::clint::{Clint, CLINT_SIZE};
use crate::finisher::{Finish, FinishSink, TestFinisher, FINISHER_SIZE};
use crate::gpio::{Gpio, GPIO_SIZE};
use crate::i2c::{I2cController, I2C_SIZE};
use crate::layout::{DeviceKind, Layout, MapEntry, Pools};
use crate::spi::{SpiController, SPI_SIZE};
use crate::uart::{Uart16550, UART_SIZE};
use crate::virt32::RunOutcome;

/// GPIO pins.
pub const GPIO_PINS: usize = 32;
/// Where flash starts (and the hart with it).
pub const FLASH_BASE: u64 = 0x2000_0000;
/// The most flash the board takes.
pub const FLASH_MAX: u64 = 0x2000_0000;
/// Where SRAM starts.
pub const SRAM_BASE: u64 = 0x8000_0000;
/// The most SRAM the board takes.
pub const SRAM_MAX: u64 = 0x1000_0000;
/// GPIO base.
pub const GPIO_BASE: u64 = 0x1001_2000;
/// UART base.
pub const UART_BASE: u64 = 0x1001_3000;
/// I2C base.
pub const I2C_BASE: u64 = 0x1001_6000;
/// SPI base.
pub const SPI_BASE: u64 = 0x1002_4000;
/// Test finisher base.
pub const FINISHER_BASE: u64 = 0x10_0000;
/// CLINT base.
pub const CLINT_BASE: u64 = 0x200_0000;

/// The `mcu32` layout.
pub const MCU32: Layout = Layout {
    name: "mcu32",
    map: &[
        MapEntry {
            name: "test",
            base: FINISHER_BASE,
            size: FINISHER_SIZE,
            kind: DeviceKind::TestFinisher,
        },
        MapEntry {
            name: "clint",
            base: CLINT_BASE,
            size: CLINT_SIZE,
            kind: DeviceKind::Clint,
        },
        MapEntry {
            name: "gpio0",
            base: GPIO_BASE,
            size: GPIO_SIZE,
            kind: DeviceKind::Gpio,
        },
        MapEntry {
            name: "uart0",
            base: UART_BASE,
            size: UART_SIZE,
            kind: DeviceKind::Uart,
        },
        MapEntry {
            name: "i2c0",
            base: I2C_BASE,
            size: I2C_SIZE,
            kind: DeviceKind::I2c,
        },
        MapEntry {
            name: "spi0",
            base: SPI_BASE,
            size: SPI_SIZE,
            kind: DeviceKind::Spi,
        },
        MapEntry {
            name: "flash",
            base: FLASH_BASE,
            size: FLASH_MAX,
            kind: DeviceKind::Rom,
        },
        MapEntry {
            name: "sram",
            base: SRAM_BASE,
            size: SRAM_MAX,
            kind: DeviceKind::Ram,
        },
    ],
    irqs: &[],
    irq_sources: 2,
    max_harts: 1,
    pools: Pools {
        regions: 10,
        owners: 8,
        flat_ranges: 10,
        irq_lines: 4,
    },
};

const _: () = MCU32.assert_valid();

/// Region pool capacity, from the layout.
pub const REGIONS: usize = MCU32.pools.regions;
/// Owner pool capacity, from the layout.
pub const OWNERS: usize = MCU32.pools.owners;
/// Flat-view capacity, from the layout.
pub const FLAT_RANGES: usize = MCU32.pools.flat_ranges;
/// IRQ line pool capacity, from the layout.
pub const IRQ_LINES: usize = MCU32.pools.irq_lines;

/// The board's memory, sized by the layout.
pub type Mcu32Memory<'a> = Memory<'a, REGIONS, OWNERS, 1, FLAT_RANGES>;

/// A back end for a controller with nothing behind it: an uninhabited type implementing
/// every bridged embedded-hal trait, so `Mcu32Devices<Unconnected, Unconnected,
/// Unconnected>` names a board whose GPIO, I2C and SPI lead nowhere (pins read low, every
/// I2C address NACKs, SPI frames read `0xff`) at no cost.
#[derive(Debug)]
pub enum Unconnected {}

impl digital::ErrorType for Unconnected {
    type Error = core::convert::Infallible;
}

impl OutputPin for Unconnected {
    fn set_low(&mut self) -> Result<(), Self::Error> {
        match *self {}
    }
    fn set_high(&mut self) -> Result<(), Self::Error> {
        match *self {}
    }
}

impl InputPin for Unconnected {
    fn is_high(&mut self) -> Result<bool, Self::Error> {
        match *self {}
    }
    fn is_low(&mut self) -> Result<bool, Self::Error> {
        match *self {}
    }
}

impl i2c::ErrorType for Unconnected {
    type Error = core::convert::Infallible;
}

impl i2c::I2c for Unconnected {
    fn transaction(&mut self, _: u8, _: &mut [i2c::Operation<'_>]) -> Result<(), Self::Error> {
        match *self {}
    }
}

impl spi::ErrorType for Unconnected {
    type Error = core::convert::Infallible;
}

impl spi::SpiDevice for Unconnected {
    fn transaction(&mut self, _: &mut [spi::Operation<'_, u8>]) -> Result<(), Self::Error> {
        match *self {}
    }
}

impl FinishSink for HartIrqs {
    fn finished(&self, _: Finish) {
        self.request_stop();
    }
}

/// Everything an `mcu32` board is made of (see the [module docs](self)).
pub struct Mcu32Devices<'a, P, I, S> {
    /// The hart's interrupt word.
    pub hart: HartIrqs,
    /// The UART.
    pub uart: Uart16550<'a>,
    /// The CLINT.
    pub clint: Clint<'a, 1>,
    /// The GPIO controller.
    pub gpio: Gpio<'a, P, GPIO_PINS>,
    /// The I2C master.
    pub i2c: I2cController<'a, I>,
    /// The SPI controller.
    pub spi: SpiController<'a, S>,
    /// The test finisher.
    pub finisher: TestFinisher<'a>,
    /// The IRQ wiring table.
    pub wiring: IrqWiring<'a, IRQ_LINES>,
    /// The memory.
    pub memory: Mcu32Memory<'a>,
}

impl<P, I, S> Default for Mcu32Devices<'_, P, I, S>
where
    P: OutputPin + InputPin + Send,
    I: i2c::I2c + Send,
    S: spi::SpiDevice + Send,
{
    fn default() -> Self {
        Self::new()
    }
}

impl<'a, P, I, S> Mcu32Devices<'a, P, I, S>
where
    P: OutputPin + InputPin + Send,
    I: i2c::I2c + Send,
    S: spi::SpiDevice + Send,
{
    /// Unwired devices after reset, no back ends attached. `const`, so it can be a
    /// `static` on bare metal.
    pub const fn new() -> Mcu32Devices<'a, P, I, S> {
        Mcu32Devices {
            hart: HartIrqs::new(),
            uart: Uart16550::new(),
            clint: Clint::new(),
            gpio: Gpio::new(),
            i2c: I2cController::new(),
            spi: SpiController::new(),
            finisher: TestFinisher::new(),
            wiring: IrqWiring::new(),
            memory: Memory::new(),
        }
    }
}

/// Why an `mcu32` board could not be built or loaded.
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mcu32Error {
    /// Flash size out of range (1 byte to 512 MiB).
    FlashSize {
        /// Asked for.
        size: u64,
    },
    /// SRAM size out of range (1 byte to 256 MiB).
    SramSize {
        /// Asked for.
        size: u64,
    },
    /// Building the memory topology failed.
    Memory(Error),
    /// Wiring the interrupts failed.
    Irq(IrqError),
    /// Loading the image failed.
    Load(LoadError),
}

impl fmt::Display for Mcu32Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mcu32Error::FlashSize { size } => {
                write!(
                    f,
                    "mcu32 takes 1 byte to 512 MiB of flash, not {size} bytes"
                )
            }
            Mcu32Error::SramSize { size } => {
                write!(f, "mcu32 takes 1 byte to 256 MiB of SRAM, not {size} bytes")
            }
            Mcu32Error::Memory(e) => write!(f, "building the memory map: {e}"),
            Mcu32Error::Irq(e) => write!(f, "wiring interrupts: {e}"),
            Mcu32Error::Load(e) => write!(f, "loading the flash image: {e}"),
        }
    }
}

impl core::error::Error for Mcu32Error {}

impl From<Error> for Mcu32Error {
    fn from(e: Error) -> Self {
        Mcu32Error::Memory(e)
    }
}

impl From<IrqError> for Mcu32Error {
    fn from(e: IrqError) -> Self {
        Mcu32Error::Irq(e)
    }
}

/// A built `mcu32` board (see the [module docs](self)).
pub struct Mcu32<'a, P, I, S> {
    /// The devices and memory.
    pub devices: &'a Mcu32Devices<'a, P, I, S>,
    /// The system address space.
    pub space: SpaceId,
    /// The system container.
    pub system: RegionHandle,
}

impl<'a, P, I, S> Mcu32<'a, P, I, S>
where
    P: OutputPin + InputPin + Send,
    I: i2c::I2c + Send,
    S: spi::SpiDevice + Send,
{
    /// Builds the board over `devices` with `flash` (read-only to the guest: fill it
    /// first, or with [`Mcu32::load_flash`]) and `sram`.
    pub fn build(
        devices: &'a Mcu32Devices<'a, P, I, S>,
        flash: RamBlock<'a>,
        sram: RamBlock<'a>,
    ) -> Result<Mcu32<'a, P, I, S>, Mcu32Error> {
        if flash.is_empty() || flash.len() > FLASH_MAX {
            return Err(Mcu32Error::FlashSize { size: flash.len() });
        }
        if sram.is_empty() || sram.len() > SRAM_MAX {
            return Err(Mcu32Error::SramSize { size: sram.len() });
        }
        let d = devices;
        let mut g = d.memory.lock();
        g.begin();
        let result = (|| {
            let root = g.root_owner()?;
            let system = g.create_container(root, "system", RegionSize::FULL, None)?;
            let (mut flash, mut sram) = (Some(flash), Some(sram));
            let mut clint_owner = root;
            let mut owners = [root; 6];
            let mut count = 0;
            for entry in MCU32.map {
                let region = match entry.kind {
                    DeviceKind::Rom => {
                        let Some(block) = flash.take() else { continue };
                        g.create_rom(root, entry.name, block).map_err(|r| r.error)?
                    }
                    DeviceKind::Ram => {
                        let Some(block) = sram.take() else { continue };
                        g.create_ram(root, entry.name, block).map_err(|r| r.error)?
                    }
                    kind => {
                        let ops: &'a dyn MmioOps = match kind {
                            DeviceKind::TestFinisher => &d.finisher,
                            DeviceKind::Clint => &d.clint,
                            DeviceKind::Gpio => &d.gpio,
                            DeviceKind::I2c => &d.i2c,
                            DeviceKind::Spi => &d.spi,
                            _ => &d.uart,
                        };
                        let owner = g.create_owner(root, entry.name)?;
                        if kind == DeviceKind::Clint {
                            clint_owner = owner;
                        }
                        if let Some(slot) = owners.get_mut(count) {
                            *slot = owner;
                            count += 1;
                        }
                        let size = RegionSize::new(entry.size).ok_or(Error::EmptyBlock)?;
                        g.create_mmio(owner, entry.name, size, ops)?
                    }
                };
                g.add_subregion(system, RegionOffset(entry.base), region, Priority(0))?;
            }
            let space = g.create_address_space(system, "memory")?;
            let w = &d.wiring;
            w.connect_checked(&g, clint_owner, &d.clint.msip_irq[0], &d.hart, irq::MSI)?;
            w.connect_checked(&g, clint_owner, &d.clint.mtip_irq[0], &d.hart, irq::MTI)?;
            d.finisher.set_sink(&d.hart);
            for &owner in &owners[..count] {
                g.realize(owner)?;
            }
            Ok::<_, Mcu32Error>(Mcu32 {
                devices,
                space,
                system,
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
            None => unreachable!("mcu32: the system address space exists once built"),
        }
    }

    /// Programs `image` into flash at `offset` (a debug write: the guest cannot write
    /// flash).
    pub fn load_flash(&self, image: &[u8], offset: u64) -> Result<(), Mcu32Error> {
        loader::load_raw(&self.space(), image, FLASH_BASE + offset).map_err(Mcu32Error::Load)
    }

    /// The hart, in M-mode at the start of flash.
    pub fn hart(&self) -> Hart<'a> {
        Hart::with_irqs(0, Xlen::Rv32, FLASH_BASE, &self.devices.hart)
    }

    /// What the guest wrote to the finisher, if anything.
    pub fn finish(&self) -> Option<Finish> {
        self.devices.finisher.finish()
    }

    /// Runs `hart` for about `max_insns` instructions in slices of `slice`: `mtime`
    /// advances by one tick per retired instruction, and when the hart waits in `wfi` time
    /// jumps to the next armed `mtimecmp` (deterministic, as [`Virt::run`](crate::virt::Virt::run)).
    pub fn run(&self, hart: &mut Hart<'a>, max_insns: u64, slice: u64) -> RunOutcome {
        let clint = &self.devices.clint;
        let slice = slice.max(1);
        let mut executed = 0u64;
        while executed < max_insns {
            if let Some(f) = self.finish() {
                return RunOutcome::Finished(f);
            }
            let budget = slice.min(max_insns - executed);
            let before = hart.csr(csr::num::MINSTRET).unwrap_or(0);
            hart.set_time(clint.mtime());
            let exit = match self.space().section() {
                Some(section) => hart.run(&section, budget),
                None => return RunOutcome::Idle,
            };
            let retired = match exit {
                Exit::BudgetExhausted => budget,
                _ => (hart
                    .csr(csr::num::MINSTRET)
                    .unwrap_or(0)
                    .wrapping_sub(before)
                    & 0xffff_ffff)
                    .clamp(1, budget),
            };
            executed += retired;
            clint.advance(retired);
            match exit {
                Exit::Breakpoint(pc) => return RunOutcome::Breakpoint { hart: 0, pc },
                Exit::Wfi => {
                    let mie = hart.csr(csr::num::MIE).unwrap_or(0) as u32;
                    if hart.irqs().pending() & mie == 0 {
                        match clint.next_deadline() {
                            Some(deadline) => clint.advance(deadline.saturating_sub(clint.mtime())),
                            None if self.finish().is_none() => return RunOutcome::Idle,
                            None => {}
                        }
                    }
                }
                Exit::Stopped | Exit::BudgetExhausted => {}
            }
        }
        match self.finish() {
            Some(f) => RunOutcome::Finished(f),
            None => RunOutcome::Budget,
        }
    }
}
