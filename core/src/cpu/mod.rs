//! CPUs: the [`Bus`] a CPU reaches memory through, and the [`riscv`] hart.
//!
//! A CPU runs inside one pinned [`ReadSection`](crate::memory::ReadSection) per time slice
//! (rule L7): the host pointers its TLB caches are valid for that slice only. Guest faults
//! (bad addresses, bus errors) become architectural exceptions, never host panics (L9).

pub mod bus;
pub mod riscv;

pub use bus::{Bus, HostPage};
