//! Fief's device models and board layouts, `#![no_std]`, no allocation.
//!
//! * Devices, each an owner of its MMIO region with IRQ outputs as
//!   [`IrqLine`](fief_core::irq::IrqLine)s: [`uart`] (NS16550A), [`clint`], [`plic`],
//!   [`finisher`] (SiFive test finisher), [`rtc`] (Goldfish RTC), [`virtio`] (virtio-mmio
//!   transports and devices).
//! * Controllers bridged to embedded-hal 1.0 back ends (real pins and buses on a
//!   co-simulation target, mocks on the host): [`gpio`] (SiFive GPIO), [`i2c`] (OpenCores
//!   I2C master), [`spi`] (SiFive SPI).
//! * [`mcu32`]: a microcontroller-shaped board (flash, SRAM, UART, CLINT, GPIO, I2C, SPI).
//! * [`layout`]: compile-time board layouts and their validation.
//! * [`virt`]: QEMU `virt`'s machine once for both XLENs (map, construction, run loop, boot
//!   and device tree), with its two instances [`virt32`] (RV32) and [`virt64`] (RV64).
#![no_std]

pub mod clint;
pub mod dma;
pub mod finisher;
pub mod gpio;
pub mod i2c;
pub mod layout;
pub mod mcu32;
pub mod plic;
pub mod rtc;
pub mod spi;
pub mod uart;
pub mod virt;
pub mod virt32;
pub mod virt64;
pub mod virtio;

pub use fief_core as core_crate;
