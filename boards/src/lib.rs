//! Fief's device models and board layouts, `#![no_std]`, no allocation.
//!
//! * Devices, each an owner of its MMIO region with IRQ outputs as
//!   [`IrqLine`](fief_core::irq::IrqLine)s: [`uart`] (NS16550A), [`clint`], [`plic`],
//!   [`finisher`] (SiFive test finisher).
//! * [`layout`]: compile-time board layouts and their validation.
//! * [`virt32`]: QEMU `virt`'s map for RV32, its construction, boot and device tree.
#![no_std]

pub mod clint;
pub mod finisher;
pub mod layout;
pub mod plic;
pub mod uart;
pub mod virt32;

pub use fief_core as core_crate;
