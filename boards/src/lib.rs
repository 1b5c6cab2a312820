//! Fief's device models and board layouts, `#![no_std]`.
//!
//! Not built yet: the `virt32` board and its devices (UART, CLINT, PLIC, test finisher) come
//! with the board issue. Until then this crate only proves that it builds on top of
//! `fief-core` without `std`.
#![no_std]

pub use fief_core as core_crate;
