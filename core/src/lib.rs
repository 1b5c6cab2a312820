//! Fief's core: a `no_std`, heap-free system-emulator core.
//!
//! * [`pool`]: fixed-capacity pools and generational handles (rules L1, L2).
//! * [`owner`]: devices as owners, their lifecycle and tree (rules L3, L4).
//! * [`memory`]: regions, transactions, flat views, address spaces, accesses (L3–L7, L9).
//! * [`cpu`]: the CPU bus interface and the RISC-V hart.
//! * [`grace`]: lock-free publication of flat views and grace periods (L6, L7).
//! * [`irq`]: interrupt lines and their wiring (L1, L4).
//! * [`lock`]: the one lock (the `spin` crate's mutex through `lock_api`) for the writer lock,
//!   DMA leases and device state: spinning on bare metal, yielding the thread under contention
//!   with the `std` feature (the host).
//! * [`atomic`]: the atomic types, native or through `portable-atomic` on targets
//!   without compare-and-swap (thumbv6m); logging goes through one internal macro module
//!   (`defmt`, `log` or nothing, by feature).
//! * [`loader`], [`fdt`]: ELF and raw image loading, device-tree writing, into
//!   caller-provided memory.
//!
//! The architecture, the lifetime rules the modules enforce (L1–L9), the module map and the
//! concurrency protocols are in the repository's `docs/design.md`.
#![no_std]

#[cfg(any(test, feature = "std"))]
extern crate std;

// First, so that its macros are visible in every module below.
#[macro_use]
mod macros;

pub mod atomic;

#[cfg(not(loom))]
pub mod cpu;
#[cfg(not(loom))]
pub mod fdt;
pub mod grace;
#[cfg(not(loom))]
pub mod image;
#[cfg(not(loom))]
pub mod irq;
#[cfg(not(loom))]
pub mod loader;
pub mod lock;
#[cfg(not(loom))]
pub mod memory;
#[cfg(not(loom))]
pub mod owner;
pub mod pin;
pub mod pool;
mod sync;
pub mod watch;

/// The README's memory-API example, compiled and run as a doc test (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
mod readme {}
