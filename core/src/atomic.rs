//! The atomic types the core and the boards use, in one place so that targets without
//! compare-and-swap still build.
//!
//! On every target with CAS (x86-64, aarch64, `riscv32imac`, `thumbv7em`) these are
//! `core::sync::atomic`'s own types. On a target with atomic loads and stores but no CAS
//! (`thumbv6m-none-eabi`, the Cortex-M0/M0+), they are `portable_atomic`'s, whose
//! read-modify-write operations run inside a `critical-section`: the firmware that links the
//! core provides the critical-section implementation (on a single-core Cortex-M,
//! `cortex-m`'s `critical-section-single-core` feature). Plain loads and stores stay native
//! on both, so guest RAM accessed through `from_ptr` is shared correctly with the CAS path.
//! Nothing else in the core depends on the target.

#[cfg(target_has_atomic = "ptr")]
pub use core::sync::atomic::{
    AtomicBool, AtomicI32, AtomicU16, AtomicU32, AtomicU8, AtomicUsize, Ordering,
};

#[cfg(not(target_has_atomic = "ptr"))]
pub use portable_atomic::{
    AtomicBool, AtomicI32, AtomicU16, AtomicU32, AtomicU8, AtomicUsize, Ordering,
};
